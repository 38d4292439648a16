//! The tracer ships one object per architecture (`bpf/tracee.bpf.o` for x86_64,
//! `bpf/tracee.bpf.arm64.o` for arm64): `pt_regs` differs between them, so each object must
//! relocate its register reads against its own architecture's kernels and not the other's.

use std::path::{Path, PathBuf};

use tracee_bpf_obj::elf::BpfObject;
use tracee_bpf_obj::relocate::relocate;
use tracee_btf::Btf;
use tracee_core::tracer::TRACEE_BPF_OBJECT;

fn crate_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn sample(rel: &str) -> Btf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/btfhub")
        .join(rel);
    Btf::from_file(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Access paths of `pt_regs` relocations of `object` that `target` cannot satisfy.
fn unresolved_regs(object: &str, target: &Btf) -> Vec<String> {
    let obj = BpfObject::from_path(crate_file(object)).expect("committed object parses");
    let report = relocate(&obj, target).expect("relocates");
    let regs: Vec<_> = report
        .entries
        .iter()
        .filter(|e| e.access_path.contains("pt_regs"))
        .collect();
    assert!(
        !regs.is_empty(),
        "{object} reads no pt_regs member: test is moot"
    );
    report
        .unresolved()
        .chain(report.errors())
        .filter(|e| e.access_path.contains("pt_regs"))
        .map(|e| e.access_path.clone())
        .collect()
}

#[test]
fn each_object_reads_registers_of_its_own_arch() {
    let x86 =
        sample("bclinux/21.10U3/x86_64/4.19.90-2107.6.0.0248.35.oe1.bclinux.x86_64.btf.tar.xz");
    let arm64 = sample("android/12/arm64/a12-5.10-2022-06-arm64.btf.tar.xz");

    assert_eq!(
        unresolved_regs("bpf/tracee.bpf.o", &x86),
        Vec::<String>::new()
    );
    assert_eq!(
        unresolved_regs("bpf/tracee.bpf.arm64.o", &arm64),
        Vec::<String>::new()
    );
    // Crossed, the register reads do not resolve: the objects are not interchangeable.
    assert!(!unresolved_regs("bpf/tracee.bpf.o", &arm64).is_empty());
    assert!(!unresolved_regs("bpf/tracee.bpf.arm64.o", &x86).is_empty());
}

#[test]
fn the_embedded_object_is_this_targets() {
    let want = if cfg!(target_arch = "aarch64") {
        "bpf/tracee.bpf.arm64.o"
    } else {
        "bpf/tracee.bpf.o"
    };
    let bytes = std::fs::read(crate_file(want)).expect("committed object");
    assert!(
        bytes == TRACEE_BPF_OBJECT,
        "TRACEE_BPF_OBJECT is not {want}"
    );
}
