//! Replays the `btf_relocate` fuzz corpus on stable Rust (nothing may panic or hang), and
//! regenerates its seeds with `TRACEE_WRITE_SEEDS=1`: real object/kernel pairs, truncated and
//! bit-flipped variants, and cyclic types the parser accepts.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tracee_btf::core::fuzz_relocate;
use tracee_btf::writer::MemberSpec;
use tracee_btf::{BtfBuilder, IntEncoding};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/btf_relocate")
}

fn pack(local: &[u8], target: &[u8]) -> Vec<u8> {
    let mut v = (local.len() as u16).to_le_bytes().to_vec();
    v.extend_from_slice(local);
    v.extend_from_slice(target);
    v
}

fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    // struct task { int pid; struct task *parent; } and a kernel-like variant.
    let mut l = BtfBuilder::new();
    let int = l.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
    let ptr = l.add_ptr(3).unwrap();
    let ms = |o: u32| {
        [
            MemberSpec {
                name: "pid",
                type_id: int,
                bit_offset: o,
                bitfield_size: 0,
            },
            MemberSpec {
                name: "parent",
                type_id: ptr,
                bit_offset: 64,
                bitfield_size: 0,
            },
        ]
    };
    l.add_struct("task", 16, &ms(0)).unwrap();
    l.add_enum("state", 4, false, &[("RUNNING", 0), ("DEAD", 16)])
        .unwrap();
    let local = l.finish().unwrap();
    let mut t = BtfBuilder::new();
    let int = t.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
    let _ = int;
    let ptr = t.add_ptr(3).unwrap();
    let _ = ptr;
    t.add_struct("task", 32, &ms(96)).unwrap();
    t.add_enum("state", 8, false, &[("DEAD", 1 << 40), ("RUNNING", 3)])
        .unwrap();
    t.add_struct("task___v2", 16, &ms(32)).unwrap();
    let target = t.finish().unwrap();
    out.push(("pair".to_string(), pack(&local, &target)));
    // Cyclic types: an array of itself, a typedef loop, a struct containing itself.
    let mut c = BtfBuilder::new();
    c.add_array(1, 1, 4).unwrap();
    c.add_typedef("loop_a", 3).unwrap();
    c.add_typedef("loop_b", 2).unwrap();
    c.add_struct(
        "task",
        8,
        &[
            MemberSpec {
                name: "pid",
                type_id: 4,
                bit_offset: 0,
                bitfield_size: 0,
            },
            MemberSpec {
                name: "",
                type_id: 4,
                bit_offset: 0,
                bitfield_size: 0,
            },
        ],
    )
    .unwrap();
    let cyc = c.finish().unwrap();
    out.push(("cyclic-target".to_string(), pack(&local, &cyc)));
    out.push(("cyclic-both".to_string(), pack(&cyc, &cyc)));
    // Truncations and bit flips of the real pair.
    let base = pack(&local, &target);
    for cut in [3usize, 40, base.len() / 2, base.len() - 1] {
        out.push((format!("cut{cut}"), base[..cut.min(base.len())].to_vec()));
    }
    for (i, pos) in [30usize, 60, 100, 140, 180].into_iter().enumerate() {
        let mut v = base.clone();
        if pos < v.len() {
            v[pos] ^= 0x5a;
        }
        out.push((format!("flip{i}"), v));
    }
    out
}

#[test]
fn btf_relocate_corpus() {
    let dir = corpus_dir();
    if std::env::var("TRACEE_WRITE_SEEDS").as_deref() == Ok("1") {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, data) in seeds() {
            std::fs::write(dir.join(format!("seed-{name}")), data).unwrap();
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "corpus {} has {} files",
        dir.display(),
        files.len()
    );
    for f in files {
        let data = std::fs::read(&f).unwrap();
        let start = Instant::now();
        fuzz_relocate(&data);
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{} took {:?}",
            f.display(),
            start.elapsed()
        );
    }
    // The in-memory seeds too (the same as the committed ones unless they were edited).
    for (name, data) in seeds() {
        let start = Instant::now();
        fuzz_relocate(&data);
        assert!(start.elapsed() < Duration::from_secs(20), "{name}");
    }
}
