//! Privileged end-to-end tests of pid namespaces: a tracer running in its own pid namespace
//! (as in a container without hostPID) excludes itself and judges `container` against the
//! initial namespace; a tracer on the host tells children in a new pid namespace apart.
//!
//! The in-namespace tracer is this test binary re-run under `unshare --pid --fork
//! --mount-proc` (its ignored test `pidns_helper`, told what to do through the environment).

mod e2e_common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e_common::{collect_until, required, tracer_or_skip};
use tracee_core::decode::Event;
use tracee_core::events::Catalog;
use tracee_core::tracer::Tracer;
use tracee_filters::{policy_from_flags, PolicySet};

/// The initial pid namespace's inode number (`PROC_PID_INIT_INO`).
const INIT_PID_NS: u32 = 0xEFFF_FFFC;
const MODE: &str = "TRACEE_PIDNS_HELPER";
const TAG: &str = "TRACEE_PIDNS_TAG";
const DIR: &str = "TRACEE_PIDNS_DIR";

fn unique(prefix: &str) -> String {
    let mut b = [0u8; 4];
    // SAFETY: writing 4 bytes into a local buffer.
    unsafe { libc::getrandom(b.as_mut_ptr().cast(), 4, 0) };
    format!("{prefix}{:08x}", u32::from_le_bytes(b))
}

fn path(e: &Event) -> Option<&str> {
    e.arg("pathname").and_then(|v| v.as_str())
}

fn own_pid_ns() -> u32 {
    std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .and_then(|l| {
            let s = l.to_str()?.to_owned();
            s.strip_prefix("pid:[")?.strip_suffix(']')?.parse().ok()
        })
        .expect("reading /proc/self/ns/pid")
}

/// `cat` under the name `comm` (a symlink in `dir`): its process comm is `comm`.
fn named_cat(dir: &Path, comm: &str) -> PathBuf {
    let link = dir.join(comm);
    match std::os::unix::fs::symlink("/bin/cat", &link) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => panic!("symlink: {e}"),
        _ => link,
    }
}

/// Policy 0: `container` + comm; policy 1: `not-container` + comm; both openat.
fn container_policies(comm: &str) -> PolicySet {
    let cat = Catalog::builtin();
    let p = |name: &str, scope: &str| {
        policy_from_flags(
            &cat,
            name,
            &[scope.to_string(), format!("comm={comm}")],
            &["openat"],
        )
        .expect("valid policy")
    };
    PolicySet::from_policies([p("in", "container"), p("out", "not-container")]).expect("policy set")
}

/// Whether this test can run: root and `unshare`; otherwise skip (or fail when required).
fn can_run(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let unshare = Command::new("unshare")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if root && unshare {
        return true;
    }
    assert!(
        !required(),
        "{test}: needs root and unshare (root: {root}, unshare: {unshare})"
    );
    eprintln!("SKIP {test}: needs root and util-linux unshare");
    false
}

/// This binary's `pidns_helper` in a new pid namespace with its own /proc, mode `mode`.
fn helper(mode: &str, tag: &str, dir: &Path) -> Command {
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc"])
        .arg(exe)
        .args([
            "pidns_helper",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(MODE, mode)
        .env(TAG, tag)
        .env(DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Reads the child's stderr on a thread: a helper that fails writes more than a pipe holds
/// while the caller is still reading its stdout.
fn drain_stderr(child: &mut std::process::Child) -> std::thread::JoinHandle<String> {
    let mut e = child.stderr.take().expect("piped stderr");
    std::thread::spawn(move || {
        let mut err = String::new();
        let _ = e.read_to_string(&mut err);
        err
    })
}

/// The helper's output; panics with it unless it succeeded. `None`: it skipped.
fn finish(
    test: &str,
    mut child: std::process::Child,
    err: std::thread::JoinHandle<String>,
    mut out: String,
) -> Option<String> {
    if let Some(mut o) = child.stdout.take() {
        o.read_to_string(&mut out).expect("helper stdout");
    }
    let err = err.join().unwrap_or_default();
    let status = child.wait().expect("wait for the helper");
    assert!(
        status.success(),
        "{test}: the tracer in the pid namespace failed ({status}):\n{out}\n{err}"
    );
    if out.contains("HELPER-SKIP") {
        assert!(!required(), "{test}: helper skipped:\n{out}\n{err}");
        eprintln!("SKIP {test}: the helper could not load BPF:\n{out}");
        return None;
    }
    assert!(
        out.contains("HELPER-OK"),
        "{test}: no verdict:\n{out}\n{err}"
    );
    Some(out)
}

#[test]
fn e2e_pidns_tracer_excludes_itself_and_sees_its_child() {
    let test = "e2e_pidns_tracer_excludes_itself_and_sees_its_child";
    if !can_run(test) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = helper("self", &unique("h7s"), dir.path())
        .spawn()
        .expect("spawning unshare");
    let err = drain_stderr(&mut child);
    if let Some(out) = finish(test, child, err, String::new()) {
        eprintln!("{out}");
    }
}

#[test]
fn e2e_pidns_tracer_judges_container_against_the_initial_namespace() {
    let test = "e2e_pidns_tracer_judges_container_against_the_initial_namespace";
    if !can_run(test) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let comm = unique("h7n");
    let cat = named_cat(dir.path(), &comm);
    let mut child = helper("container", &comm, dir.path())
        .spawn()
        .expect("spawning unshare");
    let err = drain_stderr(&mut child);
    // Wait until its tracer runs, then start a process on the host with the same name.
    let mut out = String::new();
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout"));
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).expect("helper stdout") == 0 {
            break;
        }
        out.push_str(&line);
        // (after libtest's "test pidns_helper ... " on the same line)
        if line.contains("HELPER-READY") {
            let status = Command::new(&cat)
                .arg("/etc/hostname")
                .stdout(Stdio::null())
                .status()
                .expect("host child");
            assert!(status.success());
        }
    }
    lines.read_to_string(&mut out).expect("helper stdout");
    if let Some(out) = finish(test, child, err, out) {
        eprintln!("{out}");
    }
}

#[test]
fn e2e_container_scope_tells_pid_namespaces_apart() {
    let test = "e2e_container_scope_tells_pid_namespaces_apart";
    if !can_run(test) {
        return;
    }
    let comm = unique("h7c");
    let Some(tracer) = tracer_or_skip(test, Tracer::builder().policies(container_policies(&comm)))
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let cat = named_cat(dir.path(), &comm);
    // In a new pid namespace (pid 1 there), then a plain child.
    let status = Command::new("unshare")
        .args(["--pid", "--fork"])
        .arg(&cat)
        .arg("/etc/hostname")
        .stdout(Stdio::null())
        .status()
        .expect("unshare");
    assert!(status.success());
    let mut plain = Command::new(&cat)
        .arg("/etc/hostname")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let plain_pid = plain.id();
    plain.wait().expect("wait");
    let hostname = |e: &Event| path(e) == Some("/etc/hostname");
    let evs = collect_until(
        &tracer,
        Duration::from_secs(10),
        |e| e.header.comm == comm,
        |evs| evs.iter().any(|e| e.header.pid == plain_pid && hostname(e)),
    );
    tracer.stop();
    let inner = evs
        .iter()
        .find(|e| e.header.pid_ns != INIT_PID_NS && hostname(e))
        .unwrap_or_else(|| panic!("the namespaced child's open: {evs:#?}"));
    assert_eq!(inner.header.ns_pid, 1, "{inner:#?}");
    assert_eq!(inner.header.matched_policies, 0b01, "container: {inner:#?}");
    let outer = evs
        .iter()
        .find(|e| e.header.pid == plain_pid && hostname(e))
        .unwrap_or_else(|| panic!("the plain child's open: {evs:#?}"));
    assert_eq!(outer.header.pid_ns, INIT_PID_NS);
    assert_eq!(
        outer.header.matched_policies, 0b10,
        "not-container: {outer:#?}"
    );
    assert!(
        evs.iter()
            .all(|e| e.header.matched_policies.count_ones() == 1),
        "container and not-container never both match: {evs:#?}"
    );
}

/// `pid=` and `tree=` take host pids (Tracee's rule), for processes in a pid namespace too:
/// a shell that is pid 1 of a new namespace is named by its host pid.
#[test]
fn e2e_pid_and_tree_filters_take_host_pids() {
    let test = "e2e_pid_and_tree_filters_take_host_pids";
    if !can_run(test) {
        return;
    }
    let tag = unique("/tmp/h7p");
    // Waits for a line, opens `tag` itself (a redirection), then forks cat on it.
    let script = format!("read x; exec 3<{tag}; cat {tag}; exit 0");
    std::fs::write(&tag, "x\n").expect("write the file to open");
    let mut unshare = Command::new("unshare")
        .args(["--pid", "--fork", "/bin/sh", "-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("unshare");
    // The shell: unshare's child (its host pid, as this /proc shows it).
    let children = format!("/proc/{0}/task/{0}/children", unshare.id());
    let deadline = std::time::Instant::now() + e2e_common::scaled(Duration::from_secs(5));
    let sh = loop {
        let pid = std::fs::read_to_string(&children)
            .ok()
            .and_then(|c| c.split_whitespace().next()?.parse::<u32>().ok());
        if let Some(pid) = pid {
            break pid;
        }
        assert!(std::time::Instant::now() < deadline, "no child of unshare");
        std::thread::sleep(Duration::from_millis(10));
    };
    let cat = Catalog::builtin();
    let policy = |name: &str, scope: String| {
        policy_from_flags(&cat, name, &[scope], &["openat"]).expect("valid policy")
    };
    let set = PolicySet::from_policies([
        policy("pid", format!("pid={sh}")),
        policy("tree", format!("tree={sh}")),
    ])
    .expect("policy set");
    let Some(tracer) = tracer_or_skip(test, Tracer::builder().policies(set)) else {
        let _ = unshare.kill();
        let _ = unshare.wait();
        let _ = std::fs::remove_file(&tag);
        return;
    };
    {
        use std::io::Write;
        let mut stdin = unshare.stdin.take().expect("piped stdin");
        stdin.write_all(b"go\n").expect("release the shell");
    }
    assert!(unshare.wait().expect("wait").success());
    let ours = |e: &Event| path(e) == Some(tag.as_str());
    let evs = collect_until(
        &tracer,
        Duration::from_secs(10),
        |e| ours(e),
        |evs| evs.iter().filter(|e| ours(e)).count() >= 2,
    );
    tracer.stop();
    let _ = std::fs::remove_file(&tag);
    let shell = evs
        .iter()
        .find(|e| e.header.pid == sh)
        .unwrap_or_else(|| panic!("the shell's own open: {evs:#?}"));
    assert_eq!(shell.header.ns_pid, 1, "pid 1 of its namespace: {shell:#?}");
    assert_eq!(
        shell.header.matched_policies, 0b11,
        "pid= and tree=: {shell:#?}"
    );
    let child = evs
        .iter()
        .find(|e| e.header.pid != sh)
        .unwrap_or_else(|| panic!("cat's open: {evs:#?}"));
    assert_eq!(child.header.ppid, sh, "{child:#?}");
    assert_eq!(child.header.ns_ppid, 1, "{child:#?}");
    assert_eq!(
        child.header.matched_policies, 0b10,
        "tree= only: {child:#?}"
    );
}

/// Run by the tests above inside a new pid namespace; prints HELPER-OK when its checks
/// pass, HELPER-SKIP when it cannot load BPF.
#[test]
#[ignore = "helper: run by this file's tests inside a pid namespace"]
fn pidns_helper() {
    let mode = std::env::var(MODE).expect("run by e2e_pidns tests");
    let tag = std::env::var(TAG).expect("tag");
    let dir = PathBuf::from(std::env::var(DIR).expect("dir"));
    assert_ne!(
        own_pid_ns(),
        INIT_PID_NS,
        "the helper runs in a new pid namespace"
    );
    match mode.as_str() {
        "self" => helper_self(&tag),
        "container" => helper_container(&tag, &dir),
        m => panic!("unknown helper mode {m}"),
    }
}

fn built(builder: tracee_core::tracer::TracerBuilder) -> Option<Tracer> {
    match builder.build() {
        Ok(t) => Some(t),
        Err(e) if !required() && e.is_missing_capability() => {
            println!("HELPER-SKIP {e}");
            None
        }
        Err(e) => panic!("building the tracer in the pid namespace: {e}"),
    }
}

/// No policies: everything's openat. Its own opens must not arrive; its child's must.
fn helper_self(tag: &str) {
    let Some(tracer) = built(Tracer::builder().events(["openat"])) else {
        return;
    };
    let prefix = format!("/tmp/{tag}");
    let own = format!("{prefix}-self");
    let theirs = format!("{prefix}-child");
    let _ = std::fs::File::open(&own); // fails (ENOENT): the openat happens all the same
    let mut child = Command::new("/bin/cat")
        .arg(&theirs)
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let child_ns_pid = child.id();
    child.wait().expect("wait");
    let _ = std::fs::File::open(&own);
    let comm = std::fs::read_to_string("/proc/self/comm").expect("comm");
    let comm = comm.trim_end();
    let evs = collect_until(
        &tracer,
        Duration::from_secs(10),
        |e| path(e).is_some_and(|p| p.starts_with(&prefix)) || e.header.comm == comm,
        |evs| evs.iter().any(|e| path(e) == Some(theirs.as_str())),
    );
    tracer.stop();
    let ev = evs
        .iter()
        .find(|e| path(e) == Some(theirs.as_str()))
        .unwrap_or_else(|| panic!("the child's open did not arrive: {evs:#?}"));
    assert_eq!(
        ev.header.ns_pid, child_ns_pid,
        "ns pid as the tracer sees it"
    );
    assert_ne!(ev.header.pid, child_ns_pid, "host pid differs: {ev:#?}");
    assert_ne!(ev.header.pid_ns, INIT_PID_NS);
    // The child's parent is the tracer: its host tgid is the header's ppid.
    let tracer_host_pid = ev.header.ppid;
    assert_ne!(tracer_host_pid, std::process::id());
    let mine: Vec<_> = evs
        .iter()
        .filter(|e| e.header.pid == tracer_host_pid || path(e) == Some(own.as_str()))
        .collect();
    assert!(mine.is_empty(), "the tracer traced itself: {mine:#?}");
    println!(
        "HELPER-OK tracer pid {} here, {tracer_host_pid} on the host; child {child_ns_pid} here, {} on the host",
        std::process::id(),
        ev.header.pid
    );
}

/// `container` / `not-container`: its own child is in a container (this namespace), a
/// process the test starts on the host is not.
fn helper_container(comm: &str, dir: &Path) {
    let Some(tracer) = built(Tracer::builder().policies(container_policies(comm))) else {
        return;
    };
    println!("HELPER-READY");
    let cat = named_cat(dir, comm);
    let mut child = Command::new(&cat)
        .arg("/etc/hostname")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let child_ns_pid = child.id();
    child.wait().expect("wait");
    let here = own_pid_ns();
    let hostname = |e: &Event| path(e) == Some("/etc/hostname");
    let evs = collect_until(
        &tracer,
        Duration::from_secs(10),
        |e| e.header.comm == comm,
        |evs| {
            evs.iter().any(|e| e.header.pid_ns == here && hostname(e))
                && evs
                    .iter()
                    .any(|e| e.header.pid_ns == INIT_PID_NS && hostname(e))
        },
    );
    tracer.stop();
    let inner = evs
        .iter()
        .find(|e| e.header.pid_ns == here && hostname(e))
        .unwrap_or_else(|| panic!("its child's open: {evs:#?}"));
    assert_eq!(inner.header.ns_pid, child_ns_pid);
    assert_eq!(inner.header.matched_policies, 0b01, "container: {inner:#?}");
    let host = evs
        .iter()
        .find(|e| e.header.pid_ns == INIT_PID_NS && hostname(e))
        .unwrap_or_else(|| panic!("the host process's open: {evs:#?}"));
    assert_eq!(
        host.header.matched_policies, 0b10,
        "not-container: {host:#?}"
    );
    println!("HELPER-OK");
}
