//! Privileged end-to-end tests: a known child's execve and sched_process_exec events carry
//! the exact pathname, argv, pid, ppid, uid and retval; lifecycle events carry the syscall
//! that caused them, and exec events the file's identity, a script's interpreter and stdin.

mod e2e_common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e_common::{collect_until, tracer_or_skip};
use tracee_core::decode::Event;
use tracee_core::tracer::Tracer;

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
    let mut child = Command::new("/bin/sh")
        .args(["-c", "exec /bin/echo hi there"])
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn /bin/sh");
    let pid = child.id();
    assert!(child.wait().expect("wait").success());

    let is_echo = |e: &Event| {
        e.header.pid == pid && (e.arg("pathname").and_then(|v| v.as_str()) == Some("/bin/echo"))
    };
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

    let mut child = Command::new(&script)
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
        exec.arg("pathname").and_then(|v| v.as_str()),
        Some(script_s.as_str())
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
