//! Privileged end-to-end tests: an openat of a unique temporary path arrives with that path,
//! its flags, mode and a file descriptor as return value, whichever syscall hooks carry it;
//! the header's pid-namespace numbers are those of the opener's namespace, event after event
//! (the program caches them per task).

mod e2e_common;

use std::process::Command;
use std::time::Duration;

use e2e_common::{collect_until, run_ok, tracer_or_skip};
use tracee_core::tracer::{SyscallHooks, Tracer};

#[test]
fn e2e_openat_unique_path_arrives_with_flags() {
    let Some(tracer) = tracer_or_skip(
        "e2e_openat_unique_path_arrives_with_flags",
        Tracer::builder().events(["openat"]),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!(
        "tracee-e2e-{}-{:x}",
        std::process::id(),
        rand_u64()
    ));
    let path_s = path.to_str().expect("utf-8 temp path").to_string();
    // The shell opens the redirection target with O_WRONLY|O_CREAT|O_TRUNC, mode 0666.
    let pid = run_ok(Command::new("/bin/sh").args(["-c", &format!("echo x > '{path_s}'")]));
    assert!(path.exists());

    let events = collect_until(
        &tracer,
        Duration::from_secs(10),
        |e| e.header.pid == pid && e.arg("pathname").and_then(|v| v.as_str()) == Some(&path_s),
        |evs| !evs.is_empty(),
    );
    let stats = tracer.stats();
    tracer.stop();
    let ev = events
        .first()
        .unwrap_or_else(|| panic!("no openat of {path_s} by pid {pid}; {stats:?}"));
    assert_eq!(ev.event_name, "openat");
    assert_eq!(ev.header.syscall, Some(libc::SYS_openat as i32));
    let flags = ev.arg("flags").and_then(|v| v.as_i64()).expect("flags");
    assert_eq!(
        flags & !(libc::O_LARGEFILE as i64),
        i64::from(libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC),
        "flags {flags:#o}"
    );
    assert_eq!(
        ev.arg("dirfd").and_then(|v| v.as_i64()),
        Some(i64::from(libc::AT_FDCWD))
    );
    assert_eq!(ev.arg("mode").and_then(|v| v.as_i64()), Some(0o666));
    assert!(
        ev.header.retval >= 0,
        "a file descriptor: {}",
        ev.header.retval
    );
    // In the host pid namespace the namespace numbers are the host ones.
    assert_eq!(
        (ev.header.ns_pid, ev.header.ns_tid, ev.header.ns_ppid),
        (ev.header.pid, ev.header.tid, ev.header.ppid)
    );
}

/// The syscall programs a tracer attached, as (program, kind), sorted.
fn syscall_hooks(tracer: &Tracer) -> Vec<(String, &'static str)> {
    let mut v: Vec<_> = tracer
        .attachments()
        .iter()
        .filter(|a| a.target.starts_with("sys_"))
        .map(|a| (a.program.clone(), a.kind))
        .collect();
    v.sort();
    v
}

fn hooks(list: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
    list.iter().map(|(p, k)| (p.to_string(), *k)).collect()
}

/// `sh -c SCRIPT`; returns its pid once it has exited successfully.
fn run_sh(script: &str) -> u32 {
    run_ok(Command::new("/bin/sh").args(["-c", script]))
}

#[test]
fn e2e_each_syscall_hook_mode_attaches_its_programs_and_delivers_the_openat() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (mode, events, want) in [
        (
            SyscallHooks::Auto,
            &["openat"][..],
            hooks(&[("tracee_sys_exit_regs", "tp_btf")]),
        ),
        // An event read at entry (execve) brings the entry program, for it alone.
        (
            SyscallHooks::Auto,
            &["openat", "execve"][..],
            hooks(&[
                ("tracee_sys_enter", "raw_tp"),
                ("tracee_sys_exit_regs", "tp_btf"),
            ]),
        ),
        (
            SyscallHooks::EntryAndExit,
            &["openat"][..],
            hooks(&[
                ("tracee_sys_enter", "raw_tp"),
                ("tracee_sys_exit", "raw_tp"),
            ]),
        ),
    ] {
        let test = format!("e2e_each_syscall_hook_mode ({mode:?}, {events:?})");
        let Some(tracer) = tracer_or_skip(
            &test,
            Tracer::builder()
                .events(events.iter().copied())
                .syscall_hooks(mode),
        ) else {
            return;
        };
        assert_eq!(syscall_hooks(&tracer), want, "{test}");
        let path = dir.path().join(format!("hooks-{:x}", rand_u64()));
        let path_s = path.to_str().expect("utf-8 temp path").to_string();
        // sh opens the redirection (O_WRONLY|O_CREAT|O_TRUNC, 0666), then execs cat, which
        // opens it again read-only.
        let pid = run_sh(&format!(
            "echo x > '{path_s}'; exec /bin/cat '{path_s}' >/dev/null"
        ));
        let want_exec = events.contains(&"execve");
        let evs = collect_until(
            &tracer,
            Duration::from_secs(10),
            |e| {
                e.header.pid == pid
                    && (e.arg("pathname").and_then(|v| v.as_str()) == Some(&path_s)
                        || e.event_name == "execve")
            },
            |evs| {
                evs.iter().filter(|e| e.event_name == "openat").count() == 2
                    && (!want_exec || evs.iter().any(is_cat_exec))
            },
        );
        tracer.stop();
        let opens: Vec<_> = evs.iter().filter(|e| e.event_name == "openat").collect();
        assert_eq!(opens.len(), 2, "{test}: both opens of {path_s}: {evs:#?}");
        let flags: Vec<i64> = opens
            .iter()
            .map(|e| {
                e.arg("flags").and_then(|v| v.as_i64()).expect("flags")
                    & !(libc::O_LARGEFILE as i64)
            })
            .collect();
        assert_eq!(
            flags,
            [
                i64::from(libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC),
                i64::from(libc::O_RDONLY)
            ],
            "{test}"
        );
        assert_eq!(opens[0].arg("mode").and_then(|v| v.as_i64()), Some(0o666));
        for e in &opens {
            assert!(e.header.retval >= 0, "{test}: a file descriptor: {e:?}");
            assert_eq!(e.header.syscall, Some(libc::SYS_openat as i32));
        }
        assert!(
            opens[0].header.timestamp < opens[1].header.timestamp,
            "{test}: in order"
        );
        if want_exec {
            // The first execve is the spawn of sh itself.
            let exec = evs
                .iter()
                .find(|e| is_cat_exec(e))
                .unwrap_or_else(|| panic!("{test}: no execve of cat: {evs:#?}"));
            assert_eq!(
                exec.arg("argv")
                    .and_then(|v| v.as_str_array())
                    .map(|a| a.to_vec()),
                Some(vec!["/bin/cat".to_string(), path_s.clone()]),
                "{test}"
            );
            assert_eq!(exec.header.retval, 0, "{test}");
        }
    }
}

#[test]
fn e2e_openat_carries_comm_and_the_uts_namespace_nodename() {
    let Some(tracer) = tracer_or_skip(
        "e2e_openat_carries_comm_and_the_uts_namespace_nodename",
        Tracer::builder().events(["openat"]),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!("uts-{:x}", rand_u64()));
    std::fs::write(&path, "x").expect("write");
    let path_s = path.to_str().expect("utf-8 temp path").to_string();
    // A nodename longer than the header's 15 bytes (+ NUL), set in a UTS namespace of its own.
    let node = format!("tr-uts-{:016x}", rand_u64());
    let script =
        format!("echo {node} > /proc/sys/kernel/hostname && exec /bin/cat '{path_s}' >/dev/null");
    match Command::new("unshare")
        .args(["--uts", "/bin/sh", "-c", &script])
        .status()
    {
        Ok(s) => assert!(s.success(), "unshare --uts: {s}"),
        Err(e) => {
            eprintln!(
                "SKIP e2e_openat_carries_comm_and_the_uts_namespace_nodename: no unshare ({e})"
            );
            return;
        }
    }
    let evs = collect_until(
        &tracer,
        Duration::from_secs(10),
        |e| e.arg("pathname").and_then(|v| v.as_str()) == Some(&path_s),
        |evs| !evs.is_empty(),
    );
    tracer.stop();
    let ev = evs
        .first()
        .unwrap_or_else(|| panic!("no openat of {path_s}"));
    assert_eq!(ev.header.comm, "cat");
    assert_eq!(
        ev.header.uts_name,
        node[..15],
        "the first 15 bytes of {node}"
    );
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    assert_ne!(host.trim(), node, "set in its own namespace only");
}

#[test]
fn e2e_openat_carries_the_cgroup_v2_id_of_the_opener() {
    use std::os::unix::fs::MetadataExt;

    let Some(tracer) = tracer_or_skip(
        "e2e_openat_carries_the_cgroup_v2_id_of_the_opener",
        Tracer::builder().events(["openat"]),
    ) else {
        return;
    };
    // The default hierarchy, mounted here for the test (this machine may only mount v1).
    let mnt = tempfile::tempdir().expect("tempdir");
    let m = mnt.path().to_str().expect("utf-8").to_string();
    let mounted = Command::new("mount")
        .args(["-t", "cgroup2", "none", &m])
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        assert!(!e2e_common::required(), "cannot mount cgroup2 on {m}");
        eprintln!("SKIP e2e_openat_carries_the_cgroup_v2_id_of_the_opener: cannot mount cgroup2");
        return;
    }
    let cg = mnt.path().join(format!("tracee-e2e-{:x}", rand_u64()));
    std::fs::create_dir(&cg).expect("create a cgroup");
    let want = std::fs::metadata(&cg).expect("stat the cgroup").ino();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!("cg-{:x}", rand_u64()));
    std::fs::write(&path, "x").expect("write");
    let path_s = path.to_str().expect("utf-8 temp path").to_string();
    let procs = cg.join("cgroup.procs");
    let pid = run_sh(&format!(
        "echo $$ > '{}' && exec /bin/cat '{path_s}' >/dev/null",
        procs.display()
    ));
    let evs = collect_until(
        &tracer,
        Duration::from_secs(10),
        |e| e.header.pid == pid && e.arg("pathname").and_then(|v| v.as_str()) == Some(&path_s),
        |evs| !evs.is_empty(),
    );
    tracer.stop();
    let _ = std::fs::remove_dir(&cg);
    let _ = Command::new("umount").arg(&m).status();
    let ev = evs
        .first()
        .unwrap_or_else(|| panic!("no openat of {path_s}"));
    assert_eq!(
        ev.header.cgroup_id, want,
        "the cgroup directory's inode number"
    );
}

#[test]
fn e2e_pause_detaches_and_resume_attaches_again() {
    for mode in [SyscallHooks::Auto, SyscallHooks::EntryAndExit] {
        let test = format!("e2e_pause_detaches_and_resume_attaches_again ({mode:?})");
        let Some(tracer) = tracer_or_skip(
            &test,
            Tracer::builder()
                .events(["openat", "execve"])
                .syscall_hooks(mode),
        ) else {
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let paused = dir
            .path()
            .join("paused")
            .to_str()
            .expect("utf-8")
            .to_string();
        let resumed = dir
            .path()
            .join("resumed")
            .to_str()
            .expect("utf-8")
            .to_string();
        tracer.pause();
        tracer.pause();
        let p1 = run_sh(&format!("echo x > '{paused}'"));
        tracer.resume().expect("resume");
        tracer.resume().expect("resume while attached is a no-op");
        let p2 = run_sh(&format!("echo x > '{resumed}'"));
        let evs = collect_until(
            &tracer,
            Duration::from_secs(10),
            |e| e.header.pid == p1 || e.header.pid == p2,
            |evs| {
                evs.iter()
                    .any(|e| e.arg("pathname").and_then(|v| v.as_str()) == Some(&resumed))
            },
        );
        // Whatever was in flight is in by now.
        std::thread::sleep(Duration::from_millis(200));
        let late: Vec<_> = std::iter::from_fn(|| tracer.next_timeout(Duration::from_millis(50)))
            .filter(|e| e.header.pid == p1)
            .collect();
        tracer.stop();
        assert!(
            evs.iter().chain(&late).all(|e| e.header.pid != p1),
            "{test}: an event of the paused window: {evs:#?} {late:#?}"
        );
        let got = evs
            .iter()
            .find(|e| e.arg("pathname").and_then(|v| v.as_str()) == Some(&resumed))
            .unwrap_or_else(|| panic!("{test}: no openat of {resumed} after resume"));
        assert_eq!(got.event_name, "openat");
        assert!(got.header.retval >= 0, "{test}: {got:?}");
        assert!(
            matches!(tracer.resume(), Err(tracee_core::TracerError::Stopped)),
            "{test}: no resume after stop"
        );
    }
}

fn is_cat_exec(e: &tracee_core::decode::Event) -> bool {
    e.event_name == "execve"
        && e.arg("argv")
            .and_then(|v| v.as_str_array())
            .is_some_and(|a| a.first().map(String::as_str) == Some("/bin/cat"))
}

fn pid_ns_of(pid: &str) -> u32 {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/pid")).expect("read /proc/PID/ns/pid");
    let s = link.to_string_lossy().into_owned();
    s.trim_start_matches("pid:[")
        .trim_end_matches(']')
        .parse()
        .expect("pid:[N]")
}

#[test]
fn e2e_openat_in_a_new_pid_namespace_carries_its_numbers() {
    let Some(tracer) = tracer_or_skip(
        "e2e_openat_in_a_new_pid_namespace_carries_its_numbers",
        Tracer::builder().events(["openat"]),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!("tracee-ns-{:x}", rand_u64()));
    std::fs::write(&path, "x").expect("write");
    let path_s = path.to_str().expect("utf-8 temp path").to_string();
    // sh is pid 1 of a new pid namespace; it opens the file twice itself (the second event
    // comes from the per-task cache), then a child (pid 2) opens it once more.
    let script =
        format!("read a < '{path_s}'; read a < '{path_s}'; /bin/cat '{path_s}' >/dev/null");
    let status = Command::new("unshare")
        .args(["--pid", "--fork", "/bin/sh", "-c", &script])
        .status();
    match status {
        Ok(s) => assert!(s.success(), "unshare --pid --fork: {s}"),
        Err(e) => {
            eprintln!(
                "SKIP e2e_openat_in_a_new_pid_namespace_carries_its_numbers: no unshare ({e})"
            );
            return;
        }
    }
    let events = collect_until(
        &tracer,
        Duration::from_secs(10),
        |e| e.arg("pathname").and_then(|v| v.as_str()) == Some(&path_s),
        |evs| evs.len() >= 3,
    );
    tracer.stop();
    assert_eq!(events.len(), 3, "three opens of {path_s}: {events:#?}");
    let ours = pid_ns_of("self");
    let (sh1, sh2, cat) = (&events[0].header, &events[1].header, &events[2].header);
    for h in [sh1, sh2, cat] {
        assert_ne!(h.pid_ns, ours, "opened in another pid namespace: {h:?}");
        assert_eq!(h.ns_tid, h.ns_pid, "single-threaded: {h:?}");
    }
    // As Tracee: ns_ppid is the parent's pid in the parent's own namespace (unshare's, here
    // the host's).
    assert_eq!(
        (sh1.ns_pid, sh1.ns_ppid),
        (1, sh1.ppid),
        "sh is pid 1, its parent outside: {sh1:?}"
    );
    assert_eq!(
        (sh2.pid, sh2.ns_pid, sh2.ns_ppid, sh2.pid_ns),
        (sh1.pid, 1, sh1.ppid, sh1.pid_ns),
        "the same task's second event"
    );
    assert_eq!(cat.ppid, sh1.pid, "cat is sh's child");
    assert_eq!(
        (cat.ns_pid, cat.ns_ppid, cat.pid_ns),
        (2, 1, sh1.pid_ns),
        "{cat:?}"
    );
}

fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    // SAFETY: writing 8 bytes into a local buffer.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), 8, 0) };
    if n != 8 {
        return std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
    }
    u64::from_le_bytes(b)
}
