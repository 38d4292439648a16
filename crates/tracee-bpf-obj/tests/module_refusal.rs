//! A load refused for a missing capability is told apart from a verifier rejection: the
//! verifier-rejected test object, loaded by this test binary re-executed with capabilities
//! dropped, fails with `MissingCapability`, never `VerifierRejected`. Privileged: skips
//! without BPF unless TRACEE_REQUIRE_BPF=1.

mod module_common;

use std::process::Command;

use module_common::*;
use tracee_bpf_obj::module::{Capability, ModuleBuilder, ModuleError};

/// Set in the re-executed child: which capabilities to keep ("none" or "bpf").
const KEEP: &str = "TRACEE_TEST_KEEP_CAPS";

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_VERSION_3: u32 = 0x2008_0522;

/// Drop `caps` from this thread's effective and permitted sets (capabilities are per thread,
/// and the kernel checks the thread that calls bpf(); the child runs only one test).
fn drop_caps(caps: &[u32]) {
    let mut hdr = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and two data structs, as _LINUX_CAPABILITY_VERSION_3 wants.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut hdr, data.as_mut_ptr()) };
    assert_eq!(r, 0, "capget: {}", std::io::Error::last_os_error());
    for &c in caps {
        let (word, bit) = ((c / 32) as usize, 1u32 << (c % 32));
        data[word].effective &= !bit;
        data[word].permitted &= !bit;
    }
    // SAFETY: as above.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr, data.as_ptr()) };
    assert_eq!(r, 0, "capset: {}", std::io::Error::last_os_error());
}

/// Re-run `child` of this binary with `keep`; panics with its output if it fails.
fn run_child(child: &str, keep: &str) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([child, "--exact", "--include-ignored", "--nocapture"])
        .env(KEEP, keep)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{child} failed:\n{text}");
    assert!(text.contains("1 passed"), "{child} did not run:\n{text}");
    eprintln!("{text}");
}

#[test]
fn without_cap_bpf_the_load_is_a_missing_capability() {
    if skip_without_bpf(module_path!()) {
        return;
    }
    run_child("child_load_without_caps", "none");
}

#[test]
fn with_cap_bpf_but_without_cap_perfmon_a_tracing_program_is_refused() {
    if skip_without_bpf(module_path!()) {
        return;
    }
    run_child("child_load_without_caps", "bpf");
}

#[test]
#[ignore = "helper: run by this file's tests with capabilities dropped"]
fn child_load_without_caps() {
    let keep = std::env::var(KEEP).expect("run by this file's tests");
    let (drop, missing, refused): (&[u32], &[Capability], Option<&str>) = match keep.as_str() {
        "none" => (
            &[CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN],
            &[Capability::Bpf, Capability::Perfmon],
            None,
        ),
        // Maps and BTF load with CAP_BPF; the first raw_tp program needs CAP_PERFMON.
        "bpf" => (
            &[CAP_PERFMON, CAP_SYS_ADMIN],
            &[Capability::Perfmon],
            Some("to load program tbo_good"),
        ),
        k => panic!("unknown {KEEP}={k}"),
    };
    drop_caps(drop);
    let e = ModuleBuilder::from_bytes(REJECT_OBJ)
        .object_name("verifier_reject")
        .load()
        .unwrap_err();
    let text = e.to_string();
    eprintln!("{text}");
    assert!(
        e.is_missing_capability() && !e.is_verifier_rejection(),
        "{e:?}"
    );
    assert_eq!(e.missing_capabilities(), Some(missing), "{text}");
    match &e {
        ModuleError::MissingCapability {
            object,
            refused: r,
            errno,
            user_namespace,
            ..
        } => {
            assert_eq!(object, "verifier_reject");
            assert_eq!(errno.0, libc::EPERM);
            assert!(!user_namespace);
            if let Some(refused) = refused {
                assert_eq!(r, refused);
            }
        }
        other => panic!("expected MissingCapability, got {other}"),
    }
    for cap in missing {
        assert!(text.contains(&cap.to_string()), "{text}");
    }
    assert!(!text.contains("verifier rejected"), "{text}");
}
