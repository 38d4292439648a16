//! Privileged end-to-end tests: a known child's execve and sched_process_exec events carry
//! the exact pathname, argv, pid, ppid, uid and retval; lifecycle events carry the syscall
//! that caused them, and exec events the file's identity, a script's interpreter and stdin.

mod e2e_common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e_common::{collect_until, run_ok, tracer_or_skip};
use tracee_core::decode::Event;
use tracee_core::events::Catalog;
use tracee_core::filters::{policy_from_flags, PolicySet};
use tracee_core::tracer::Tracer;
use tracee_core::wire::HeaderFlags;

fn strs(ev: &Event, name: &str) -> Vec<String> {
    ev.arg(name)
        .and_then(|v| v.as_str_array())
        .unwrap_or_else(|| panic!("{} has no string array {name}: {ev:?}", ev.event_name))
        .to_vec()
}

#[test]
fn e2e_exec_child_events_carry_exact_values() {
    let Some(tracer) = tracer_or_skip(
        "e2e_exec_child_events_carry_exact_values",
        Tracer::builder().events(["execve", "sched_process_exec"]),
    ) else {
        return;
    };
    let pid = run_ok(
        Command::new("/bin/sh")
            .args(["-c", "exec /bin/echo hi there"])
            .stdout(Stdio::null()),
    );

    // execve's pathname is the path asked for; sched_process_exec's cmdpath is that path and
    // its pathname the file executed (/bin may be a symlink to /usr/bin).
    let is_echo = |e: &Event| {
        let key = if e.event_name == "execve" {
            "pathname"
        } else {
            "cmdpath"
        };
        e.header.pid == pid && (e.arg(key).and_then(|v| v.as_str()) == Some("/bin/echo"))
    };
    let echo_real = std::fs::canonicalize("/bin/echo").expect("canonicalize /bin/echo");
    let events = collect_until(
        &tracer,
        Duration::from_secs(10),
        |e| e.header.pid == pid,
        |evs| {
            evs.iter().any(|e| e.event_name == "execve" && is_echo(e))
                && evs
                    .iter()
                    .any(|e| e.event_name == "sched_process_exec" && is_echo(e))
        },
    );
    let stats = tracer.stats();
    tracer.stop();

    let me = std::process::id();
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let argv = vec!["/bin/echo".to_string(), "hi".into(), "there".into()];

    let execve = events
        .iter()
        .find(|e| e.event_name == "execve" && is_echo(e))
        .unwrap_or_else(|| {
            panic!("no execve of /bin/echo by pid {pid}; got {events:#?}; {stats:?}")
        });
    assert_eq!(execve.header.pid, pid);
    assert_eq!(execve.header.tid, pid);
    assert_eq!(
        execve.header.ppid, me,
        "the child's parent is this test process"
    );
    assert_eq!(execve.header.uid, uid);
    assert_eq!(execve.header.retval, 0);
    assert_eq!(execve.header.syscall, Some(libc::SYS_execve as i32));
    assert_eq!(strs(execve, "argv"), argv);
    assert!(execve.arg("envp").is_some(), "envp captured: {execve:?}");

    let exec = events
        .iter()
        .find(|e| e.event_name == "sched_process_exec" && is_echo(e))
        .unwrap_or_else(|| {
            panic!("no sched_process_exec of /bin/echo by pid {pid}; got {events:#?}")
        });
    assert_eq!(exec.header.pid, pid);
    assert_eq!(exec.header.ppid, me);
    assert_eq!(exec.header.uid, uid);
    assert_eq!(exec.header.retval, 0);
    assert_eq!(exec.header.comm, "echo");
    assert_eq!(
        exec.header.syscall,
        Some(libc::SYS_execve as i32),
        "sched_process_exec happens in execve"
    );
    assert_eq!(strs(exec, "argv"), argv);
    assert_eq!(
        exec.arg("cmdpath").and_then(|v| v.as_str()),
        Some("/bin/echo")
    );
    assert_eq!(
        exec.arg("pathname").and_then(|v| v.as_str()),
        echo_real.to_str(),
        "pathname is the real path of the file executed"
    );
    // The sh that ran before the exec was traced too: its own execve by the same pid.
    assert!(
        events.iter().any(|e| e.event_name == "execve"
            && e.arg("pathname").and_then(|v| v.as_str()) == Some("/bin/sh")),
        "the /bin/sh exec of the spawned child: {events:#?}"
    );
}

fn int(ev: &Event, name: &str) -> i64 {
    ev.arg(name)
        .and_then(|v| v.as_i64())
        .unwrap_or_else(|| panic!("{} has no integer {name}: {ev:?}", ev.event_name))
}

#[test]
fn e2e_lifecycle_events_carry_their_syscall_and_exec_file_facts() {
    let Some(tracer) = tracer_or_skip(
        "e2e_lifecycle_events_carry_their_syscall_and_exec_file_facts",
        Tracer::builder().events([
            "sched_process_exec",
            "sched_process_fork",
            "sched_process_exit",
        ]),
    ) else {
        return;
    };
    // A script: exec'd through its `#!` interpreter; it forks once (the /bin/true child) and
    // exits with a known code.
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("life.sh");
    std::fs::write(&script, "#!/bin/sh\n/bin/true\nexit 3\n").expect("write the script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // After binfmt_script, the exec'd file (bprm->file, whose dev/inode/ctime Tracee reports)
    // is the interpreter's.
    let meta = std::fs::metadata("/bin/sh").expect("stat /bin/sh");
    let script_s = script.to_str().expect("utf-8").to_string();
    let sh_real = std::fs::canonicalize("/bin/sh").expect("canonicalize /bin/sh");
    let dir_real = std::fs::canonicalize(dir.path()).expect("canonicalize the tempdir");

    let mut child = Command::new(&script)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn the script");
    let pid = child.id();
    assert_eq!(child.wait().expect("wait").code(), Some(3));

    let events = collect_until(
        &tracer,
        Duration::from_secs(10),
        |e| {
            e.header.pid == pid
                || e.arg("parent_pid").and_then(|v| v.as_i64()) == Some(i64::from(pid))
        },
        |evs| {
            [
                "sched_process_exec",
                "sched_process_fork",
                "sched_process_exit",
            ]
            .iter()
            .all(|n| {
                evs.iter()
                    .any(|e| e.event_name == *n && e.header.pid == pid)
            })
        },
    );
    tracer.stop();

    let exec = events
        .iter()
        .find(|e| e.event_name == "sched_process_exec" && e.header.pid == pid)
        .unwrap_or_else(|| panic!("no sched_process_exec of pid {pid}: {events:#?}"));
    assert_eq!(exec.header.syscall, Some(libc::SYS_execve as i32));
    assert_eq!(
        exec.arg("cmdpath").and_then(|v| v.as_str()),
        Some(script_s.as_str())
    );
    assert_eq!(
        exec.arg("pathname").and_then(|v| v.as_str()),
        sh_real.to_str(),
        "pathname is the file executed, the script's interpreter (as Tracee's): {exec:?}"
    );
    assert_eq!(
        exec.arg("stdin_path").and_then(|v| v.as_str()),
        Some("/dev/null"),
        "stdin is /dev/null: {exec:?}"
    );
    assert_eq!(
        exec.arg("pwd").and_then(|v| v.as_str()),
        dir_real.to_str(),
        "the child runs in the tempdir: {exec:?}"
    );
    assert_eq!(
        exec.arg("interp").and_then(|v| v.as_str()),
        Some("/bin/sh"),
        "a script's interp is its #! interpreter: {exec:?}"
    );
    assert_eq!(int(exec, "inode") as u64, meta.ino(), "inode of /bin/sh");
    assert_eq!(
        int(exec, "inode_mode") as u32 & 0o170000,
        libc::S_IFREG,
        "a regular file"
    );
    assert_eq!(
        int(exec, "ctime"),
        meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
        "/bin/sh's change time in ns"
    );
    assert_eq!(
        int(exec, "stdin_type") as u32,
        libc::S_IFCHR,
        "stdin is /dev/null, a character device"
    );

    let fork = events
        .iter()
        .find(|e| e.event_name == "sched_process_fork" && e.header.pid == pid)
        .unwrap_or_else(|| panic!("no sched_process_fork by pid {pid}: {events:#?}"));
    let forks = [
        libc::SYS_clone,
        libc::SYS_clone3,
        libc::SYS_fork,
        libc::SYS_vfork,
    ];
    assert!(
        fork.header
            .syscall
            .is_some_and(|s| forks.contains(&i64::from(s))),
        "sched_process_fork happens in clone/clone3/fork/vfork: {fork:?}"
    );
    assert_eq!(int(fork, "parent_pid"), i64::from(pid));

    let exit = events
        .iter()
        .find(|e| e.event_name == "sched_process_exit" && e.header.pid == pid)
        .unwrap_or_else(|| panic!("no sched_process_exit of pid {pid}: {events:#?}"));
    assert_eq!(int(exit, "exit_code"), 3);
    assert!(
        exit.header
            .syscall
            .is_some_and(|s| [libc::SYS_exit, libc::SYS_exit_group].contains(&i64::from(s))),
        "sched_process_exit happens in exit/exit_group: {exit:?}"
    );
}

/// Runs `path ARG` and returns its pid and its sched_process_exec event.
fn exec_event(tracer: &Tracer, path: &std::path::Path, arg: &str) -> (u32, Option<Event>) {
    let pid = run_ok(
        Command::new(path)
            .arg(arg)
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let events = collect_until(
        tracer,
        Duration::from_secs(10),
        |e| e.header.pid == pid && e.event_name == "sched_process_exec",
        |evs| !evs.is_empty(),
    );
    (pid, events.into_iter().next())
}

#[test]
fn e2e_exec_pathname_is_the_real_path_of_the_executed_file() {
    let Some(tracer) = tracer_or_skip(
        "e2e_exec_pathname_is_the_real_path_of_the_executed_file",
        Tracer::builder().events(["sched_process_exec"]),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");

    // Through a symlink: cmdpath is the link, pathname the file it resolves to.
    let link = dir.path().join("echo-link");
    std::os::unix::fs::symlink("/bin/echo", &link).expect("symlink to /bin/echo");
    let (pid, exec) = exec_event(&tracer, &link, "tracee-rs-symlink-exec");
    let exec = exec.unwrap_or_else(|| panic!("no sched_process_exec of pid {pid}"));
    assert_eq!(
        exec.arg("cmdpath").and_then(|v| v.as_str()),
        link.to_str(),
        "cmdpath is the path asked for: {exec:?}"
    );
    let real = std::fs::canonicalize(&link).expect("canonicalize the link");
    assert_eq!(
        exec.arg("pathname").and_then(|v| v.as_str()),
        real.to_str(),
        "pathname is the link's target: {exec:?}"
    );
    assert_eq!(strs(&exec, "argv")[1], "tracee-rs-symlink-exec");

    // From a memfd: no path in any filesystem, the memfd's name (Tracee's semantics; the
    // kernel's d_path would say "/memfd:NAME (deleted)").
    #[cfg(target_arch = "x86_64")]
    const MEMFD_CREATE: u32 = 319;
    #[cfg(target_arch = "aarch64")]
    const MEMFD_CREATE: u32 = 279;
    let script = format!(
        "my $name = 'tracee-rs-memfd-exec'; my $fd = syscall({MEMFD_CREATE}, $name, 0); \
         $fd >= 0 or die \"memfd: $!\"; open(my $in, '<:raw', '/bin/true') or die; local $/; \
         my $elf = <$in>; open(my $out, '>&=', $fd) or die; binmode $out; \
         syswrite($out, $elf) == length($elf) or die; exec(\"/proc/self/fd/$fd\") or die \"exec: $!\";"
    );
    let pid = run_ok(
        Command::new("perl")
            .args(["-e", &script])
            .stdin(Stdio::null()),
    );
    let events = collect_until(
        &tracer,
        Duration::from_secs(10),
        |e| e.header.pid == pid && e.event_name == "sched_process_exec",
        |evs| evs.len() == 2,
    );
    let exec = events
        .iter()
        .find(|e| {
            e.arg("cmdpath")
                .and_then(|v| v.as_str())
                .is_some_and(|p| p.starts_with("/proc/self/fd/"))
        })
        .unwrap_or_else(|| panic!("no exec of the memfd by pid {pid}: {events:#?}"));
    assert_eq!(
        exec.arg("pathname").and_then(|v| v.as_str()),
        Some("memfd:tracee-rs-memfd-exec"),
        "{exec:?}"
    );

    // Deeper than the walk goes (64 components): the last components behind "...".
    let mut deep = std::fs::canonicalize(dir.path()).expect("canonicalize the tempdir");
    for i in 0..70 {
        deep.push(format!("d{i}"));
    }
    std::fs::create_dir_all(&deep).expect("create the deep directories");
    let prog = deep.join("true-copy");
    std::fs::copy("/bin/true", &prog).expect("copy /bin/true");
    let (pid, exec) = exec_event(&tracer, &prog, "x");
    let exec = exec.unwrap_or_else(|| panic!("no sched_process_exec of pid {pid}"));
    let path = exec
        .arg("pathname")
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("no pathname: {exec:?}"));
    let tail: Vec<String> = (7..70)
        .map(|i| format!("d{i}"))
        .chain(["true-copy".to_string()])
        .collect();
    assert_eq!(
        path,
        format!(".../{}", tail.join("/")),
        "the 64 components nearest the file behind the truncation mark"
    );
    assert!(
        HeaderFlags::from_bits_truncate(exec.header.flags).contains(HeaderFlags::TRUNCATED),
        "the header says truncated: {exec:?}"
    );
}

#[test]
fn e2e_exec_scope_matches_the_real_path_of_the_executable() {
    // Tracee's executable filter: the path of the file executed, symlinks resolved (as
    // /proc/PID/exe, which seeds the processes started before the tracer).
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("cat-link");
    std::os::unix::fs::symlink("/bin/cat", &link).expect("symlink to /bin/cat");
    let real = std::fs::canonicalize(&link).expect("canonicalize the link");
    let file = dir.path().join(format!("exe-scope-{}", std::process::id()));
    std::fs::write(&file, "x").expect("write the file");
    let (real_s, link_s, file_s) = (
        real.to_str().expect("utf-8"),
        link.to_str().expect("utf-8"),
        file.to_str().expect("utf-8"),
    );
    let cat = Catalog::builtin();
    let policy = |name: &str, scope: String| {
        policy_from_flags(&cat, name, &[scope.as_str()], &["openat"]).expect("valid policy")
    };
    let set = PolicySet::from_policies([
        policy("real", format!("exec={real_s}")),
        policy("link", format!("exec={link_s}")),
    ])
    .expect("policy set");
    let Some(tracer) = tracer_or_skip(
        "e2e_exec_scope_matches_the_real_path_of_the_executable",
        Tracer::builder().policies(set),
    ) else {
        return;
    };
    let pid = run_ok(
        Command::new(&link)
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let is_open = |e: &Event| {
        e.header.pid == pid && e.arg("pathname").and_then(|v| v.as_str()) == Some(file_s)
    };
    let events = collect_until(
        &tracer,
        Duration::from_secs(10),
        |e| e.header.pid == pid,
        |evs| evs.iter().any(is_open),
    );
    tracer.stop();
    let open = events
        .iter()
        .find(|e| is_open(e))
        .unwrap_or_else(|| panic!("no openat of {file_s} by pid {pid}: {events:#?}"));
    assert_eq!(
        open.header.matched_policies, 0b01,
        "exec={real_s} matches, exec={link_s} does not: {open:?}"
    );
}
