//! Shared by the relocate_* tests: inputs (fixtures, btfhub samples, this machine's vmlinux),
//! conversion of the object's records, and libbpf as an oracle (its debug log of CO-RE
//! relocation while loading an object, optionally with a custom target BTF).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracee_bpf_obj::elf::BpfObject;
use tracee_btf::core::{CoreRelo, CoreReloKind, RelocResult};
use tracee_btf::{Btf, Kind};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// `<repo>/testdata/btfhub`, or a panic saying where it was looked for.
pub fn btfhub_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/btfhub");
    assert!(
        dir.is_dir(),
        "btfhub samples not found at {}",
        dir.display()
    );
    dir
}

/// Every `*.btf.tar.xz` under the btfhub samples, sorted.
pub fn btfhub_files() -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).expect("read testdata dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.to_string_lossy().ends_with(".btf.tar.xz") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&btfhub_dir(), &mut out);
    out.sort();
    assert!(
        !out.is_empty(),
        "no .btf.tar.xz under {}",
        btfhub_dir().display()
    );
    out
}

/// The objects with CO-RE relocations: h2's all-kinds fixture and the module test object.
pub fn objects() -> Vec<PathBuf> {
    let mut v = vec![
        fixture("core_relos.bpf.o"),
        repo_file("bpf/test/module_test.bpf.o"),
    ];
    let tracee = repo_file("crates/tracee-core/bpf/tracee.bpf.o");
    if tracee.exists() {
        v.push(tracee);
    }
    v
}

pub fn core_relos(obj: &BpfObject) -> Vec<CoreRelo> {
    obj.core_relos().iter().map(|r| r.to_core()).collect()
}

/// A relocation outcome that can be compared across target BTFs: type ids of
/// TYPE_ID_TARGET are replaced by the target type's kind and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Value(u64),
    TargetType(Kind, String),
    Poisoned,
    Error,
}

pub fn outcome(
    kind: CoreReloKind,
    target: &Btf,
    r: &Result<RelocResult, tracee_btf::core::CoreError>,
) -> Outcome {
    match r {
        Err(_) => Outcome::Error,
        Ok(r) if r.poison => Outcome::Poisoned,
        Ok(r) if kind == CoreReloKind::TypeIdTarget && r.new_val != 0 => {
            let t = target
                .type_by_id(r.new_val as u32)
                .expect("target id exists");
            Outcome::TargetType(t.kind(), t.name().to_string())
        }
        Ok(r) => Outcome::Value(r.new_val),
    }
}

/// Serializes tests that use libbpf's global print callback.
pub static LIBBPF: Mutex<()> = Mutex::new(());

static LOG: Mutex<String> = Mutex::new(String::new());

fn capture(_level: libbpf_rs::PrintLevel, msg: String) {
    if let Ok(mut l) = LOG.lock() {
        l.push_str(&msg);
    }
}

/// What libbpf did with one relocation, from its debug log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LibbpfOutcome {
    /// Instruction patched to this value.
    Patched(u64),
    /// Instruction poisoned (no matching target).
    Poisoned,
    /// libbpf refused the relocation (ambiguity, bad spec) and stopped relocating.
    Failed,
}

/// Opens and loads `obj` with libbpf (optionally with `custom_btf` as target), capturing its
/// debug log, and returns per program the outcome of each relocation (`relo #N`), plus the
/// load error if any. Relocation happens before programs are verified, so the outcomes are
/// there even when the load fails later.
pub fn libbpf_relocations(
    obj: &Path,
    custom_btf: Option<&Path>,
) -> (
    std::collections::BTreeMap<(String, u32), LibbpfOutcome>,
    Option<String>,
    String,
) {
    LOG.lock().unwrap().clear();
    libbpf_rs::set_print(Some((libbpf_rs::PrintLevel::Debug, capture)));
    let mut b = libbpf_rs::ObjectBuilder::default();
    if let Some(p) = custom_btf {
        b.btf_custom_path(p).expect("custom path");
    }
    let open = b.open_file(obj).expect("libbpf opens the object");
    let err = match open.load() {
        Ok(_loaded) => None,
        Err(e) => Some(e.to_string()),
    };
    libbpf_rs::set_print(None);
    let log = std::mem::take(&mut *LOG.lock().unwrap());
    let mut out = std::collections::BTreeMap::new();
    for line in log.lines() {
        // prog 'NAME': relo #N: patched insn #I (KIND) imm A -> B
        // prog 'NAME': relo #N: substituting insn #I w/ invalid insn
        let Some(rest) = line.strip_prefix("libbpf: prog '") else {
            continue;
        };
        let Some((prog, rest)) = rest.split_once("': relo #") else {
            continue;
        };
        let Some((idx, rest)) = rest.split_once(": ") else {
            continue;
        };
        let Ok(idx) = idx.parse::<u32>() else {
            continue;
        };
        if rest.starts_with("patched insn") {
            if rest.contains("mem_sz") {
                continue;
            }
            let Some(val) = rest
                .rsplit("-> ")
                .next()
                .and_then(|v| v.trim().parse::<u64>().ok())
            else {
                continue;
            };
            out.insert((prog.to_string(), idx), LibbpfOutcome::Patched(val));
        } else if rest.starts_with("failed to relocate") {
            out.insert((prog.to_string(), idx), LibbpfOutcome::Failed);
        } else if rest.starts_with("substituting insn") {
            out.insert((prog.to_string(), idx), LibbpfOutcome::Poisoned);
        }
    }
    (out, err, log)
}
