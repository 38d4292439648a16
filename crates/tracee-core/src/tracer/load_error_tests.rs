//! What [`load_error`](super::load_error) makes of a verifier rejection and of a missing
//! capability: the verdict without a word about privileges, and a capability without a
//! kernel-feature probe (which would fail for the same reason and blame the kernel).

use tracee_bpf_obj::module::{missing_capabilities, Capability, Errno, ModuleBuilder, ModuleError};

use super::load_error;

/// bpf/test/verifier_reject.bpf.o: `tbo_bad` uses a map value without its NULL check.
static REJECT_OBJ: &[u8] = include_bytes!("../../../../bpf/test/verifier_reject.bpf.o");

#[test]
fn a_verifier_rejection_names_the_program_and_the_verdict_not_privileges() {
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
    let t = load_error(REJECT_OBJ, e);
    assert!(
        t.is_verifier_rejection() && !t.is_missing_capability(),
        "{t:?}"
    );
    let text = t.to_string();
    assert_eq!(
        text.lines().next(),
        Some(
            "loading the tracer's BPF object: loading BPF object verifier_reject: the kernel's \
             verifier rejected program tbo_bad: R0 invalid mem access 'map_value_or_null'"
        ),
        "{text}"
    );
    assert!(text.lines().count() <= 3, "{text}");
    for word in ["permission", "Permission", "CAP_", "root", "EACCES"] {
        assert!(!text.contains(word), "{word:?} in {text}");
    }
}

#[test]
fn a_missing_capability_is_not_blamed_on_the_kernel() {
    let e = ModuleError::MissingCapability {
        object: "tracee".into(),
        refused: "to create map events".into(),
        missing: vec![Capability::Bpf, Capability::Perfmon],
        user_namespace: false,
        errno: Errno(libc::EPERM),
        libbpf_log: Vec::new(),
    };
    let t = load_error(REJECT_OBJ, e);
    assert!(
        matches!(&t, crate::TracerError::Module { .. }),
        "not KernelLacks: {t}"
    );
    assert!(t.is_missing_capability() && !t.is_verifier_rejection());
    assert!(
        t.to_string().contains("lacks CAP_BPF and CAP_PERFMON"),
        "{t}"
    );
}
