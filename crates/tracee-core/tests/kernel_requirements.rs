//! The kernel-requirements probe: which helpers and map types the tracer's object needs, and
//! the typed error a kernel lacking one of them gets instead of a bare verifier log.

mod e2e_common;

use tracee_bpf_obj::elf::BpfObject;
use tracee_bpf_obj::module::{probe_helper, ProgramType, Support};
use tracee_core::tracer::requirements::{helper_name, helpers_called, missing_kernel_features};
use tracee_core::tracer::{Tracer, TRACEE_BPF_OBJECT};
use tracee_core::TracerError;

#[test]
fn every_helper_of_the_object_is_named() {
    let obj = BpfObject::from_bytes(TRACEE_BPF_OBJECT).expect("the embedded object parses");
    let helpers = helpers_called(&obj, TRACEE_BPF_OBJECT);
    let unnamed: Vec<u32> = helpers
        .iter()
        .copied()
        .filter(|&h| helper_name(h).is_none())
        .collect();
    assert!(
        unnamed.is_empty(),
        "helpers {unnamed:?} are called by the program but missing from requirements::HELPERS"
    );
    let named = |n: &str| helpers.iter().any(|&id| helper_name(id) == Some(n));
    assert!(
        named("bpf_ringbuf_output") || named("bpf_ringbuf_reserve"),
        "no ring buffer helper among {helpers:?}"
    );
    for h in ["bpf_get_current_pid_tgid", "bpf_probe_read_user_str"] {
        assert!(named(h), "{h} not found among {helpers:?}");
    }
}

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn this_kernel_has_everything_and_probes_can_say_no() {
    if !root() && !e2e_common::required() {
        eprintln!("SKIP: probing needs root/CAP_BPF");
        return;
    }
    let missing = missing_kernel_features(TRACEE_BPF_OBJECT).expect("object parses");
    assert!(
        missing.is_empty(),
        "this kernel runs the tracer, yet: {missing:?}"
    );
    assert!(
        matches!(
            probe_helper(ProgramType::RawTracepoint, 0x7fff_0000),
            Support::Unsupported { .. }
        ),
        "a helper number no kernel has must probe unsupported"
    );
}

#[test]
fn a_missing_helper_is_named_in_a_typed_error() {
    if !root() && !e2e_common::required() {
        eprintln!("SKIP: loading needs root/CAP_BPF");
        return;
    }
    // Turn the first `call bpf_ktime_get_ns` into a call of a helper no kernel has.
    let call_ktime = [0x85, 0, 0, 0, 5, 0, 0, 0];
    let mut patched = TRACEE_BPF_OBJECT.to_vec();
    let at = patched
        .windows(8)
        .position(|w| w == call_ktime)
        .expect("the program calls bpf_ktime_get_ns");
    patched[at + 4..at + 8].copy_from_slice(&0x7fff_0000u32.to_le_bytes());

    let err = match Tracer::builder()
        .events(["execve"])
        .object_bytes(patched)
        .build()
    {
        Ok(_) => panic!("an object calling helper #{} loaded", 0x7fff_0000u32),
        Err(e) => e,
    };
    match &err {
        TracerError::KernelLacks { missing, .. } => {
            assert_eq!(missing.len(), 1, "{missing:?}");
            assert!(
                missing[0].what.contains(&format!("#{}", 0x7fff_0000u32)),
                "{missing:?}"
            );
        }
        other => panic!("expected KernelLacks, got {other}"),
    }
    assert!(
        err.to_string()
            .starts_with("this kernel cannot run the tracer's program; missing: helper #"),
        "{err}"
    );
}
