//! `core::dump_c` against clang: the header generated from a real kernel BTF compiles for the
//! BPF target, and every struct and union in it has the size and member offsets BTF says
//! (checked by clang itself with `_Static_assert`s over `sizeof` and `offsetof`).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use tracee_btf::core::dump_c::dump_c;
use tracee_btf::{Btf, Type};

fn clang() -> Option<&'static str> {
    let ok = Command::new("clang-16")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIP: clang-16 not installed");
    }
    ok.then_some("clang-16")
}

/// Asserts for every uniquely named struct/union: sizeof and offsetof of its named
/// non-bitfield members.
fn layout_asserts(btf: &Btf) -> (String, usize) {
    // struct, union and enum tags share one C namespace; repeated names get `___N` suffixes
    // in the header, so only unique names are checked.
    let mut names_seen: HashSet<&str> = HashSet::new();
    let mut dup: HashSet<&str> = HashSet::new();
    for t in btf.types() {
        if let Type::Struct(_) | Type::Union(_) | Type::Enum(_) | Type::Enum64(_) = t {
            if !t.name().is_empty() && !names_seen.insert(t.name()) {
                dup.insert(t.name());
            }
        }
    }
    let mut s = String::from("#include \"vmlinux.h\"\n");
    let mut n = 0;
    for t in btf.types() {
        let (c, kw) = match t {
            Type::Struct(c) => (c, "struct"),
            Type::Union(c) => (c, "union"),
            _ => continue,
        };
        if t.name().is_empty() || dup.contains(t.name()) {
            continue;
        }
        let name = t.name();
        let _ = writeln!(
            s,
            "_Static_assert(sizeof({kw} {name}) == {}, \"size of {kw} {name}\");",
            c.size()
        );
        n += 1;
        for m in c.members() {
            if m.name.is_empty() || m.bitfield_size != 0 {
                continue;
            }
            let _ = writeln!(
                s,
                "_Static_assert(__builtin_offsetof({kw} {name}, {}) == {}, \"{kw} {name}.{}\");",
                m.name,
                m.bit_offset / 8,
                m.name
            );
            n += 1;
        }
    }
    (s, n)
}

fn compile_and_check(btf: &Btf, what: &str) {
    let Some(cc) = clang() else { return };
    let dir = tempfile::tempdir().unwrap();
    let header = dump_c(btf, None).unwrap_or_else(|e| panic!("{what}: {e}"));
    std::fs::write(dir.path().join("vmlinux.h"), &header).unwrap();
    let (asserts, n) = layout_asserts(btf);
    std::fs::write(dir.path().join("layout.c"), asserts).unwrap();
    let out = Command::new(cc)
        .args([
            "-target",
            "bpf",
            "-fsyntax-only",
            "-ferror-limit=20",
            "-Wno-duplicate-decl-specifier",
        ])
        .arg(dir.path().join("layout.c"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{what}: clang rejects the header or a layout ({n} assertions):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(n > 1000, "{what}: only {n} layout assertions");
    eprintln!(
        "{what}: header of {} bytes compiles, {n} layout assertions hold",
        header.len()
    );
}

#[test]
fn this_machines_vmlinux_header_compiles_with_exact_layouts() {
    if !Path::new(tracee_btf::SYSFS_VMLINUX).exists() {
        eprintln!("SKIP: no {}", tracee_btf::SYSFS_VMLINUX);
        return;
    }
    let btf = Btf::from_sysfs().unwrap();
    compile_and_check(&btf, "sysfs vmlinux");
}

#[test]
fn btfhub_sample_headers_compile_with_exact_layouts() {
    let hub = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/btfhub");
    assert!(
        hub.is_dir(),
        "btfhub samples not found at {}",
        hub.display()
    );
    let mut files = Vec::new();
    let mut stack = vec![hub];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".btf.tar.xz") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(!files.is_empty());
    for f in files {
        let btf = Btf::from_file(&f).unwrap();
        compile_and_check(&btf, &f.display().to_string());
    }
}

#[test]
fn type_filter_keeps_what_the_roots_need() {
    let Some(cc) = clang() else { return };
    if !Path::new(tracee_btf::SYSFS_VMLINUX).exists() {
        return;
    }
    let btf = Btf::from_sysfs().unwrap();
    let root = btf
        .find_by_name_kind("task_struct", tracee_btf::Kind::Struct)
        .unwrap();
    let header = dump_c(&btf, Some(&[root])).unwrap();
    let full = dump_c(&btf, None).unwrap();
    assert!(
        header.len() < full.len(),
        "filtered {} vs full {}",
        header.len(),
        full.len()
    );
    assert!(header.contains("struct task_struct {"));
    assert!(
        !header.contains("struct bpf_prog_aux {"),
        "a type task_struct only points to is defined"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("vmlinux.h"), &header).unwrap();
    std::fs::write(
        dir.path().join("t.c"),
        "#include \"vmlinux.h\"\nint f(struct task_struct *t) { return t->pid + sizeof(*t); }\n",
    )
    .unwrap();
    let out = Command::new(cc)
        .args(["-target", "bpf", "-O2", "-c", "-o"])
        .arg(dir.path().join("t.o"))
        .arg(dir.path().join("t.c"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
