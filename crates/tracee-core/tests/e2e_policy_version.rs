//! Privileged end-to-end test of the policies version an event carries: an event the kernel
//! judged under version N and still in flight when `set_policies` installs N+1 gets N's
//! userspace remainder (and N's bit numbering), syscall and lifecycle events alike.

mod e2e_common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e_common::{collect_until, tracer_or_skip};
use tracee_core::decode::Event;
use tracee_core::events::Catalog;
use tracee_core::tracer::Tracer;
use tracee_filters::maps::{next_version, version_tag, FIRST_VERSION};
use tracee_filters::{policy_from_flags, PolicySet};

fn unique(prefix: &str) -> String {
    let mut b = [0u8; 4];
    // SAFETY: writing 4 bytes into a local buffer.
    unsafe { libc::getrandom(b.as_mut_ptr().cast(), 4, 0) };
    format!("{prefix}{:08x}", u32::from_le_bytes(b))
}

/// One policy for processes named `comm`: openat and sched_process_exit, each with a filter
/// only userspace decides (return value, integer data).
fn set(name: &str, comm: &str, retval: &str, exit_code: &str) -> PolicySet {
    let cat = Catalog::builtin();
    let p = policy_from_flags(
        &cat,
        name,
        &[format!("comm={comm}")],
        &[
            "openat".to_string(),
            format!("openat.retval{retval}"),
            "sched_process_exit".to_string(),
            format!("sched_process_exit.data.exit_code{exit_code}"),
        ],
    )
    .expect("valid policy");
    PolicySet::from_policies([p]).expect("policy set")
}

/// Runs `cat` under the name `comm` on `args` and waits: once it is reaped, every event of
/// it (its opens at sys_exit, its sched_process_exit) is in the ring buffer.
fn run_cat(dir: &Path, comm: &str, args: &[&str]) -> u32 {
    let link = dir.join(comm);
    if !link.exists() {
        std::os::unix::fs::symlink("/bin/cat", &link).expect("symlink");
    }
    let mut child = Command::new(&link)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    child.wait().expect("wait");
    pid
}

fn path(e: &Event) -> Option<&str> {
    e.arg("pathname").and_then(|v| v.as_str())
}

fn is_exit(e: &Event) -> bool {
    e.event_name == "sched_process_exit"
}

#[test]
fn e2e_event_in_flight_across_a_switch_keeps_its_version() {
    let comm = unique("h7v");
    let missing = format!("/nonexistent-{comm}/x");
    // Version 1: failed opens, exit code 1. Version 2: successful opens, exit code 0.
    let Some(tracer) = tracer_or_skip(
        "e2e_event_in_flight_across_a_switch_keeps_its_version",
        Tracer::builder().policies(set("v1", &comm, "<0", "=1")),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    // Under version 1, nothing consumed yet: a failed open (-ENOENT), successful opens (the
    // loader's libraries) and exit code 1 are all in flight when version 2 becomes active.
    let a = run_cat(dir.path(), &comm, &[&missing]);
    tracer
        .set_policies(set("v2", &comm, ">=0", "=0"))
        .expect("switch to version 2");
    // Under version 2: opens /etc/hostname, exits 0.
    let b = run_cat(dir.path(), &comm, &["/etc/hostname"]);
    let evs = collect_until(
        &tracer,
        Duration::from_secs(10),
        |e| e.header.pid == a || e.header.pid == b,
        |evs| evs.iter().any(|e| e.header.pid == b && is_exit(e)),
    );
    tracer.stop();
    let of = |pid: u32| evs.iter().filter(move |e| e.header.pid == pid);
    let (v1, v2) = (FIRST_VERSION, next_version(FIRST_VERSION));

    // A: judged by version 1 in the kernel and in userspace.
    assert!(
        of(a).all(|e| e.header.policies_version == version_tag(v1)),
        "{evs:#?}"
    );
    assert!(
        of(a).any(|e| path(e) == Some(missing.as_str()) && e.header.retval < 0),
        "A's failed open passes version 1's `retval<0` after the switch: {evs:#?}"
    );
    assert!(
        of(a).all(|e| is_exit(e) || e.header.retval < 0),
        "A's successful opens fail version 1's remainder: {evs:#?}"
    );
    assert!(
        of(a).any(|e| is_exit(e) && e.arg("exit_code").and_then(|v| v.as_i64()) == Some(1)),
        "A's exit (code 1) passes version 1's `exit_code=1`: {evs:#?}"
    );
    // B: version 2.
    assert!(
        of(b).all(|e| e.header.policies_version == version_tag(v2)),
        "{evs:#?}"
    );
    assert!(
        of(b).any(|e| path(e) == Some("/etc/hostname") && e.header.retval >= 0),
        "B's open passes version 2: {evs:#?}"
    );
    assert!(
        of(b).all(|e| is_exit(e) || e.header.retval >= 0),
        "B's failed opens (if any) fail version 2: {evs:#?}"
    );
    assert!(
        of(b).any(|e| is_exit(e) && e.arg("exit_code").and_then(|v| v.as_i64()) == Some(0)),
        "B's exit (code 0) passes version 2: {evs:#?}"
    );
    assert!(
        evs.iter().all(|e| e.header.matched_policies == 1),
        "{evs:#?}"
    );
    // What bit 0 means for each: the policies of the version that judged it.
    let name = |tag: u8| {
        tracer
            .policies_of(tag)
            .map(|s| s.policies()[0].name.clone())
    };
    assert_eq!(name(version_tag(v1)).as_deref(), Some("v1"));
    assert_eq!(name(version_tag(v2)).as_deref(), Some("v2"));
    assert_eq!(name(0), None);
}
