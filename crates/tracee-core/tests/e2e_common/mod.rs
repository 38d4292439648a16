//! Shared helpers of the privileged end-to-end tests: the privilege gate and event waiting.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use tracee_core::decode::Event;
use tracee_core::tracer::{Tracer, TracerBuilder};
use tracee_core::TracerError;

/// Whether a missing privilege must fail the test instead of skipping it.
pub fn required() -> bool {
    std::env::var("TRACEE_REQUIRE_BPF").is_ok_and(|v| v == "1")
}

/// Build the tracer, or `None` (test skipped, with a message) when this process may not
/// load BPF programs and TRACEE_REQUIRE_BPF is not 1.
pub fn tracer_or_skip(test: &str, builder: TracerBuilder) -> Option<Tracer> {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root && !required() {
        eprintln!("SKIP {test}: needs root/CAP_BPF (set TRACEE_REQUIRE_BPF=1 to fail instead)");
        return None;
    }
    match builder.build() {
        Ok(t) => Some(t),
        Err(e) if !required() && is_permission(&e) => {
            eprintln!("SKIP {test}: cannot load BPF here: {e}");
            None
        }
        Err(e) => panic!("{test}: building the tracer failed: {e}"),
    }
}

fn is_permission(e: &TracerError) -> bool {
    let s = e.to_string();
    s.contains("EPERM") || s.contains("EACCES") || s.contains("Operation not permitted")
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
