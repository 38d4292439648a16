//! Native BTFGen (`tracee_btf::core::min_core_btf`) against `bpftool gen min_core_btf`, in
//! one run, on the same object and the same inputs: this machine's vmlinux BTF and every
//! btfhub sample under `testdata/btfhub` (decompressed to raw files first, since
//! bpftool cannot read `.btf.tar.xz`).
//!
//! Both sides do the whole job: open the target BTF file, read the object, minimize, write
//! the output file. Ours reads the object with `CoreObject` (only `.BTF` and the CO-RE records
//! of `.BTF.ext`, what `btf mincore` uses), as bpftool reads only what it needs too. Before
//! timing, each input is checked, outside the timed loop: our output is no larger than
//! bpftool's, and relocating the object against either output gives the results of
//! relocating it against the full BTF.
//!
//! ```text
//! cargo bench --bench btfgen
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion};
use tracee_bpf_obj::elf::CoreObject;
use tracee_btf::core::{min_core_btf, relocate_all, CoreReloKind};
use tracee_btf::{Btf, SYSFS_VMLINUX};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn object() -> PathBuf {
    let tracee = repo().join("crates/tracee-core/bpf/tracee.bpf.o");
    if std::env::var_os("BTFGEN_OBJECT").is_some() {
        return PathBuf::from(std::env::var_os("BTFGEN_OBJECT").unwrap_or_default());
    }
    if tracee.exists() {
        return tracee;
    }
    repo().join("bpf/test/module_test.bpf.o")
}

/// (name, raw BTF file) for vmlinux and each btfhub sample.
fn inputs(tmp: &Path) -> Vec<(String, PathBuf)> {
    let mut out = vec![("vmlinux".to_string(), PathBuf::from(SYSFS_VMLINUX))];
    let hub = repo().join("testdata/btfhub");
    let mut files = Vec::new();
    let mut stack = vec![hub.clone()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            panic!("btfhub samples not found at {}", hub.display())
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".btf.tar.xz") {
                files.push(p);
            }
        }
    }
    files.sort();
    for f in files {
        let name = f
            .file_name()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".btf.tar.xz")
            .to_string();
        let raw = tmp.join(format!("{name}.btf"));
        let btf = Btf::from_file(&f).expect("sample parses");
        std::fs::write(&raw, btf.raw_bytes()).unwrap();
        out.push((name, raw));
    }
    out
}

fn ours(target: &Path, obj: &Path, out: &Path) -> usize {
    let btf = Btf::from_file(target).expect("target");
    let obj = CoreObject::from_path(obj).expect("object");
    let min = min_core_btf(&btf, obj.btf().expect(".BTF"), obj.relos()).expect("minimize");
    std::fs::write(out, &min.btf).unwrap();
    min.btf.len()
}

fn bpftool(target: &Path, obj: &Path, out: &Path) {
    let st = Command::new("bpftool")
        .args(["gen", "min_core_btf"])
        .arg(target)
        .arg(out)
        .arg(obj)
        .output()
        .expect("bpftool");
    assert!(
        st.status.success(),
        "bpftool: {}",
        String::from_utf8_lossy(&st.stderr)
    );
}

/// Relocation outcomes comparable across BTFs (TYPE_ID_TARGET by name, not id).
fn outcomes(obj: &CoreObject, target: &Btf) -> Vec<String> {
    let relos = obj.relos();
    let rep = relocate_all(obj.btf().unwrap(), target, relos);
    relos
        .iter()
        .zip(rep.results)
        .map(|(r, res)| match res {
            Err(e) => format!("error {e}"),
            Ok(x) if x.poison => "poison".into(),
            Ok(x) if r.kind == CoreReloKind::TypeIdTarget && x.new_val != 0 => {
                let t = target.type_by_id(x.new_val as u32).unwrap();
                format!("{} {}", t.kind(), t.name())
            }
            Ok(x) => x.new_val.to_string(),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let tmp = std::env::temp_dir().join(format!("tracee-btfgen-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let objp = object();
    let obj = CoreObject::from_path(&objp).expect("object");
    eprintln!(
        "object {} ({} CO-RE relocations)",
        objp.display(),
        obj.relos().len()
    );
    eprintln!(
        "{:<48} {:>10} {:>10} {:>10}",
        "input", "input B", "bpftool B", "ours B"
    );
    for (name, raw) in inputs(&tmp) {
        let (o_ours, o_tool) = (
            tmp.join(format!("{name}.ours")),
            tmp.join(format!("{name}.bpftool")),
        );
        let n = ours(&raw, &objp, &o_ours);
        bpftool(&raw, &objp, &o_tool);
        let tool_len = std::fs::metadata(&o_tool).unwrap().len() as usize;
        let full = Btf::from_file(&raw).unwrap();
        eprintln!(
            "{name:<48} {:>10} {tool_len:>10} {n:>10}",
            full.raw_bytes().len()
        );
        assert!(n <= tool_len, "{name}: ours {n} B > bpftool {tool_len} B");
        let want = outcomes(&obj, &full);
        assert_eq!(
            outcomes(&obj, &Btf::from_file(&o_ours).unwrap()),
            want,
            "{name}: ours"
        );
        assert_eq!(
            outcomes(&obj, &Btf::from_file(&o_tool).unwrap()),
            want,
            "{name}: bpftool"
        );

        let mut g = c.benchmark_group(format!("btfgen/{name}"));
        g.sample_size(10);
        g.bench_function("tracee-btf", |b| b.iter(|| ours(&raw, &objp, &o_ours)));
        g.bench_function("bpftool", |b| b.iter(|| bpftool(&raw, &objp, &o_tool)));
        g.finish();
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

criterion_group!(benches, bench);
criterion_main!(benches);
