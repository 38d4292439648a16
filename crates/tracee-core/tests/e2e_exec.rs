//! Privileged end-to-end test: a known child's execve and sched_process_exec events carry
//! the exact pathname, argv, pid, ppid, uid and retval.

mod e2e_common;

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
