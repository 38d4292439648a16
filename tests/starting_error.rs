//! The examples' `starting_error`: the privilege hint for a missing capability only, and a
//! verifier rejection told as one ("the kernel's verifier rejected program X: VERDICT").

#[path = "../examples/common/mod.rs"]
mod common;

use tracee_bpf_obj::module::{missing_capabilities, Capability, Errno, ModuleBuilder, ModuleError};
use tracee_core::TracerError;

static REJECT_OBJ: &[u8] = include_bytes!("../bpf/test/verifier_reject.bpf.o");

const HINT: &str = "loading BPF needs root, or CAP_BPF + CAP_PERFMON";

fn loading(source: ModuleError) -> TracerError {
    TracerError::Module {
        what: "loading the tracer's BPF object".into(),
        source: Box::new(source),
    }
}

#[test]
fn a_verifier_rejection_gets_no_privilege_hint() {
    let missing = missing_capabilities(&[Capability::Bpf, Capability::Perfmon]);
    if !missing.is_empty() {
        let required = std::env::var("TRACEE_REQUIRE_BPF").is_ok_and(|v| v == "1");
        assert!(!required, "lacks {missing:?} and TRACEE_REQUIRE_BPF=1");
        eprintln!("SKIP: lacks {missing:?} (root or CAP_BPF + CAP_PERFMON)");
        return;
    }
    let e = ModuleBuilder::from_bytes(REJECT_OBJ)
        .object_name("verifier_reject")
        .load()
        .unwrap_err();
    let text = common::starting_error(loading(e)).to_string();
    assert!(
        text.starts_with(
            "starting the tracer: loading the tracer's BPF object: loading BPF object \
             verifier_reject: the kernel's verifier rejected program tbo_bad: \
             R0 invalid mem access 'map_value_or_null'\n"
        ),
        "{text}"
    );
    assert!(!text.contains(HINT) && !text.contains("CAP_"), "{text}");
}

#[test]
fn a_missing_capability_gets_the_privilege_hint() {
    let e = ModuleError::MissingCapability {
        object: "tracee".into(),
        refused: "to create map events".into(),
        missing: vec![Capability::Bpf],
        user_namespace: false,
        errno: Errno(libc::EPERM),
        libbpf_log: Vec::new(),
    };
    let text = common::starting_error(loading(e)).to_string();
    assert!(
        text.starts_with(&format!("starting the tracer ({HINT}): ")),
        "{text}"
    );
    assert!(text.contains("lacks CAP_BPF"), "{text}");
}
