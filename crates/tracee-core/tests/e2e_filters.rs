//! Privileged end-to-end tests of policies: scope, data and multi-policy filters decided in
//! the kernel (its counters prove what it dropped), and `follow`.

mod e2e_common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use e2e_common::{collect_until, tracer_or_skip};
use tracee_core::decode::Event;
use tracee_core::events::Catalog;
use tracee_core::tracer::Tracer;
use tracee_filters::{policy_from_flags, PolicySet};

fn unique(prefix: &str) -> String {
    let mut b = [0u8; 4];
    // SAFETY: writing 4 bytes into a local buffer.
    unsafe { libc::getrandom(b.as_mut_ptr().cast(), 4, 0) };
    format!("{prefix}{:08x}", u32::from_le_bytes(b))
}

/// A symlink to `target` called `name` in `dir`: exec'ing it gives the process comm `name`.
fn named(dir: &Path, name: &str, target: &str) -> PathBuf {
    let p = dir.join(name);
    std::os::unix::fs::symlink(target, &p).expect("symlink");
    p
}

fn set(policies: &[(&str, &[&str], &[&str])]) -> PolicySet {
    let cat = Catalog::builtin();
    PolicySet::from_policies(policies.iter().map(|(name, scope, events)| {
        policy_from_flags(&cat, name, scope, events).expect("valid policy")
    }))
    .expect("policy set")
}

fn run(cmd: &mut Command) -> u32 {
    let mut child = cmd.spawn().expect("spawn");
    let pid = child.id();
    child.wait().expect("wait");
    pid
}

fn path_of(e: &Event) -> Option<&str> {
    e.arg("pathname").and_then(|v| v.as_str())
}

#[test]
fn e2e_scope_comm_delivers_only_that_process() {
    let comm = unique("h7c");
    let set = set(&[("p", &[&format!("comm={comm}")], &["openat"])]);
    let Some(tracer) = tracer_or_skip("e2e_scope_comm", Tracer::builder().policies(set)) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let cat = named(dir.path(), &comm, "/bin/cat");
    let ours = run(Command::new(&cat)
        .arg("/etc/hostname")
        .stdout(std::process::Stdio::null()));
    // Not in scope: the same opens by a process with another comm.
    run(Command::new("/bin/cat")
        .arg("/etc/hostname")
        .stdout(std::process::Stdio::null()));
    let events = collect_until(
        &tracer,
        Duration::from_secs(5),
        |_| true,
        |evs| evs.iter().any(|e| path_of(e) == Some("/etc/hostname")),
    );
    // Whatever else arrives in a moment must be ours too.
    let more = collect_until(&tracer, Duration::from_millis(500), |_| true, |_| false);
    tracer.stop();
    let (kernel, userspace) = tracer.filter_stats().expect("policies are active");
    assert!(
        events
            .iter()
            .any(|e| e.header.pid == ours && path_of(e) == Some("/etc/hostname")),
        "the {comm} process's open of /etc/hostname did not arrive: {events:?}"
    );
    for e in events.iter().chain(&more) {
        assert_eq!(
            e.header.comm, comm,
            "an event of another process arrived: {e:?}"
        );
        assert_eq!(e.header.matched_policies, 1);
    }
    assert!(
        kernel.filtered_in_kernel > 0,
        "the other cat's opens: {kernel:?}"
    );
    assert_eq!(userspace, 0, "comm is decided in the kernel");
}

#[test]
fn e2e_scope_uid_not_root() {
    let set = set(&[("p", &["uid!=0"], &["openat"])]);
    let Some(tracer) = tracer_or_skip("e2e_scope_uid_not_root", Tracer::builder().policies(set))
    else {
        return;
    };
    // Root first: its opens are in the ring before the nobody ones we wait for, so waiting for
    // those also waits for any root event that slipped through.
    let root = run(Command::new("/bin/cat")
        .arg("/etc/hostname")
        .stdout(std::process::Stdio::null()));
    let nobody = run(Command::new("/bin/cat")
        .arg("/etc/hostname")
        .stdout(std::process::Stdio::null())
        .uid(65534)
        .gid(65534));
    let mut events = collect_until(
        &tracer,
        Duration::from_secs(5),
        |_| true,
        |evs| {
            evs.iter()
                .any(|e| e.header.pid == nobody && path_of(e) == Some("/etc/hostname"))
        },
    );
    events.extend(collect_until(
        &tracer,
        Duration::from_millis(300),
        |_| true,
        |_| false,
    ));
    tracer.stop();
    assert!(
        events
            .iter()
            .any(|e| e.header.pid == nobody && e.header.uid == 65534 && e.header.gid == 65534),
        "the open of uid/gid 65534 did not arrive with those ids"
    );
    assert!(
        events
            .iter()
            .all(|e| e.header.uid != 0 && e.header.pid != root),
        "a root event arrived: {:?}",
        events
            .iter()
            .find(|e| e.header.uid == 0 || e.header.pid == root)
    );
}

#[test]
fn e2e_pathname_prefix_is_filtered_in_the_kernel() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tag = unique("h7p");
    let prefix = format!("{}/{tag}-", dir.path().display());
    let set = set(&[("p", &[], &[&format!("openat.data.pathname={prefix}*")])]);
    let Some(tracer) = tracer_or_skip("e2e_pathname_prefix", Tracer::builder().policies(set))
    else {
        return;
    };
    let want: Vec<String> = ["a", "b"].iter().map(|s| format!("{prefix}{s}")).collect();
    let other = [
        format!("{}/other-{tag}", dir.path().display()),
        "/etc/hostname".to_string(),
    ];
    for p in want.iter().chain(&other[..1]) {
        std::fs::write(p, "x").expect("write");
    }
    let pid = run(Command::new("/bin/cat")
        .args(want.iter().chain(&other))
        .stdout(std::process::Stdio::null()));
    let events = collect_until(
        &tracer,
        Duration::from_secs(5),
        |e| e.header.pid == pid,
        |evs| evs.len() >= want.len(),
    );
    let _ = collect_until(&tracer, Duration::from_millis(300), |_| true, |_| false);
    tracer.stop();
    let stats = tracer.stats();
    let (kernel, userspace) = tracer.filter_stats().expect("policies are active");
    let got: Vec<&str> = events.iter().filter_map(path_of).collect();
    assert_eq!(got, want.iter().map(String::as_str).collect::<Vec<_>>());
    // Everything the kernel emitted was received, and no event was dropped after decoding:
    // the non-matching opens (cat's libraries, `other`) never left the kernel.
    assert_eq!(
        kernel.emitted,
        stats.received + stats.drops.kernel,
        "{kernel:?} {stats:?}"
    );
    assert_eq!(userspace, 0);
    assert!(
        kernel.filtered_in_kernel >= other.len() as u64,
        "{kernel:?}: the kernel dropped cat's other opens"
    );
    assert_eq!(kernel.judged, kernel.emitted + kernel.filtered_in_kernel);
}

#[test]
fn e2e_two_policies_mark_their_own_events() {
    let (c1, c2) = (unique("h7a"), unique("h7b"));
    let dir = tempfile::tempdir().expect("tempdir");
    let shared = dir.path().join(unique("shared-"));
    std::fs::write(&shared, "x").expect("write");
    let shared_s = shared.to_str().expect("utf-8").to_string();
    let set = set(&[
        ("one", &[&format!("comm={c1}")], &["openat"]),
        ("two", &[&format!("comm={c2}")], &["openat"]),
        ("file", &[], &[&format!("openat.data.pathname={shared_s}")]),
    ]);
    let Some(tracer) = tracer_or_skip("e2e_two_policies", Tracer::builder().policies(set)) else {
        return;
    };
    let p1 = run(Command::new(named(dir.path(), &c1, "/bin/cat"))
        .args(["/etc/hostname", &shared_s])
        .stdout(std::process::Stdio::null()));
    let p2 = run(Command::new(named(dir.path(), &c2, "/bin/cat"))
        .args(["/etc/hostname", &shared_s])
        .stdout(std::process::Stdio::null()));
    let events = collect_until(
        &tracer,
        Duration::from_secs(5),
        |e| e.header.pid == p1 || e.header.pid == p2,
        |evs| {
            evs.iter()
                .filter(|e| path_of(e) == Some(shared_s.as_str()))
                .count()
                >= 2
        },
    );
    tracer.stop();
    let bits = |pid: u32, path: &str| {
        events
            .iter()
            .find(|e| e.header.pid == pid && path_of(e) == Some(path))
            .map(|e| e.header.matched_policies)
    };
    assert_eq!(bits(p1, "/etc/hostname"), Some(0b001));
    assert_eq!(bits(p2, "/etc/hostname"), Some(0b010));
    assert_eq!(bits(p1, &shared_s), Some(0b101));
    assert_eq!(bits(p2, &shared_s), Some(0b110));
}

#[test]
fn e2e_follow_catches_children() {
    let comm = unique("h7f");
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join(unique("child-"));
    std::fs::write(&target, "x").expect("write");
    let target_s = target.to_str().expect("utf-8").to_string();
    let scope = format!("comm={comm}");
    let set = set(&[
        ("follow", &[&scope, "follow"], &["openat"]),
        ("no-follow", &[&scope], &["openat"]),
    ]);
    let Some(tracer) = tracer_or_skip("e2e_follow", Tracer::builder().policies(set)) else {
        return;
    };
    // The shell (comm = the unique name) forks cat (comm "cat"), which opens the target.
    let sh = run(Command::new(named(dir.path(), &comm, "/bin/sh"))
        .args(["-c", &format!("/bin/cat '{target_s}' >/dev/null; true")]));
    let events = collect_until(
        &tracer,
        Duration::from_secs(5),
        |e| path_of(e) == Some(target_s.as_str()),
        |evs| !evs.is_empty(),
    );
    tracer.stop();
    let ev = events
        .first()
        .expect("the child's open arrived through follow");
    assert_eq!(ev.header.comm, "cat");
    assert_eq!(ev.header.ppid, sh);
    assert_eq!(
        ev.header.matched_policies, 0b01,
        "only the follow policy matches the child"
    );
}

#[test]
fn e2e_set_policies_switches_atomically() {
    let (c1, c2) = (unique("h7x"), unique("h7y"));
    let dir = tempfile::tempdir().expect("tempdir");
    let first = set(&[("first", &[&format!("comm={c1}")], &["openat"])]);
    let Some(tracer) = tracer_or_skip("e2e_set_policies", Tracer::builder().policies(first)) else {
        return;
    };
    let (b1, b2) = (
        named(dir.path(), &c1, "/bin/cat"),
        named(dir.path(), &c2, "/bin/cat"),
    );
    let cat = |b: &Path| {
        run(Command::new(b)
            .arg("/etc/hostname")
            .stdout(std::process::Stdio::null()))
    };
    let done = |pid: u32| {
        move |evs: &[Event]| {
            evs.iter()
                .any(|e| e.header.pid == pid && path_of(e) == Some("/etc/hostname"))
        }
    };
    let p1 = cat(&b1);
    let before = collect_until(&tracer, Duration::from_secs(5), |_| true, done(p1));
    assert!(
        before.iter().all(|e| e.header.comm == c1),
        "before the switch: {before:?}"
    );
    assert!(done(p1)(&before));

    // The new version: two policies, the second being the old one.
    tracer
        .set_policies(set(&[
            ("second", &[&format!("comm={c2}")], &["openat"]),
            ("first", &[&format!("comm={c1}")], &["openat"]),
        ]))
        .expect("switch");
    let (q1, q2) = (cat(&b1), cat(&b2));
    let after = collect_until(
        &tracer,
        Duration::from_secs(5),
        |e| e.header.pid == q1 || e.header.pid == q2,
        |evs| done(q1)(evs) && done(q2)(evs),
    );
    let bits = |pid: u32| {
        after
            .iter()
            .find(|e| e.header.pid == pid && path_of(e) == Some("/etc/hostname"))
            .map(|e| e.header.matched_policies)
    };
    assert_eq!(bits(q1), Some(0b10), "c1 is policy 1 now");
    assert_eq!(bits(q2), Some(0b01), "c2 is policy 0 now");

    // A policy that selects an event the tracer was not built with is refused.
    let err = tracer
        .set_policies(set(&[("x", &[], &["close"])]))
        .expect_err("close was not selected");
    assert!(err.to_string().contains("close"), "{err}");
    // A third version removes the first's entries and still judges correctly.
    tracer
        .set_policies(set(&[("only", &[&format!("comm={c2}")], &["openat"])]))
        .expect("switch again");
    let (r1, r2) = (cat(&b1), cat(&b2));
    let last = collect_until(&tracer, Duration::from_secs(5), |_| true, done(r2));
    let _ = r1;
    tracer.stop();
    assert!(done(r2)(&last));
    assert!(
        last.iter().all(|e| e.header.comm == c2),
        "c1's events are out of scope now"
    );
}
