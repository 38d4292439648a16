//! Shared helpers of the privileged end-to-end tests: the privilege gate and event waiting.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use tracee_bpf_obj::module::{missing_capabilities, Capability};
use tracee_core::decode::Event;
use tracee_core::tracer::{Tracer, TracerBuilder};

/// Whether a missing privilege must fail the test instead of skipping it.
pub fn required() -> bool {
    std::env::var("TRACEE_REQUIRE_BPF").is_ok_and(|v| v == "1")
}

/// Whether a test that loads BPF must skip: this process lacks CAP_BPF/CAP_PERFMON (or holds
/// them only in a user namespace) and TRACEE_REQUIRE_BPF is not 1 (then it panics).
pub fn skip_without_capabilities(test: &str) -> bool {
    let missing = missing_capabilities(&[Capability::Bpf, Capability::Perfmon]);
    if missing.is_empty() {
        return false;
    }
    let missing: Vec<String> = missing.iter().map(ToString::to_string).collect();
    let missing = missing.join(" and ");
    assert!(
        !required(),
        "{test}: this process lacks {missing} and TRACEE_REQUIRE_BPF=1"
    );
    eprintln!(
        "SKIP {test}: this process lacks {missing} (set TRACEE_REQUIRE_BPF=1 to fail instead)"
    );
    true
}

/// Build the tracer, or `None` (test skipped, with a message) when this process lacks a
/// capability loading BPF needs and TRACEE_REQUIRE_BPF is not 1. Any other failure, a
/// verifier rejection above all, fails the test.
pub fn tracer_or_skip(test: &str, builder: TracerBuilder) -> Option<Tracer> {
    if skip_without_capabilities(test) {
        return None;
    }
    match builder.build() {
        Ok(t) => Some(t),
        // E.g. capabilities that do not count (a user namespace the check above missed).
        Err(e) if !required() && e.is_missing_capability() => {
            eprintln!("SKIP {test}: cannot load BPF here: {e}");
            None
        }
        Err(e) => panic!("{test}: building the tracer failed: {e}"),
    }
}

/// Runs `cmd` to its end and returns its pid; panics if it cannot start or does not succeed.
pub fn run_ok(cmd: &mut std::process::Command) -> u32 {
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.get_program()));
    let pid = child.id();
    let status = child.wait().expect("wait");
    assert!(
        status.success(),
        "{:?} exited with {status}",
        cmd.get_program()
    );
    pid
}

/// `d` times TRACEE_TEST_TIMEOUT_SCALE (default 1): scripts/kernel-matrix runs these tests in
/// emulated guests, several times slower than the host, and sets it there.
pub fn scaled(d: Duration) -> Duration {
    let scale = std::env::var("TRACEE_TEST_TIMEOUT_SCALE")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(1);
    d * scale.max(1)
}

/// Collect events until `done` says the wanted ones are in, or `timeout` passes (scaled, see
/// [`scaled`]).
pub fn collect_until(
    tracer: &Tracer,
    timeout: Duration,
    mut keep: impl FnMut(&Event) -> bool,
    mut done: impl FnMut(&[Event]) -> bool,
) -> Vec<Event> {
    let deadline = Instant::now() + scaled(timeout);
    let mut out = Vec::new();
    while Instant::now() < deadline {
        if let Some(ev) = tracer.next_timeout(Duration::from_millis(50)) {
            if keep(&ev) {
                out.push(ev);
                if done(&out) {
                    break;
                }
            }
        }
    }
    out
}
