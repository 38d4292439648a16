//! Privileged end-to-end test of the raw tracepoint programs, which are otherwise only taken
//! where tp_btf cannot attach (`TracerBuilder::raw_tracepoints_only`): a known shell's fork,
//! its child's execve, sched_process_exec (with prev_comm from the raw task_rename hook) and
//! openat, and both exits, carry the same exact values as through the tp_btf programs.

mod e2e_common;

use std::process::{Command, Stdio};
use std::time::Duration;

use e2e_common::{collect_until, tracer_or_skip};
use tracee_core::decode::Event;
use tracee_core::tracer::Tracer;

fn int(ev: &Event, name: &str) -> i64 {
    ev.arg(name)
        .and_then(|v| v.as_i64())
        .unwrap_or_else(|| panic!("{} has no integer {name}: {ev:?}", ev.event_name))
}

fn str_arg<'e>(ev: &'e Event, name: &str) -> Option<&'e str> {
    ev.arg(name).and_then(|v| v.as_str())
}

#[test]
fn e2e_raw_tracepoints_only_deliver_exact_lifecycle_and_syscall_events() {
    let Some(tracer) = tracer_or_skip(
        "e2e_raw_tracepoints_only_deliver_exact_lifecycle_and_syscall_events",
        Tracer::builder()
            .events([
                "execve",
                "openat",
                "sched_process_exec",
                "sched_process_fork",
                "sched_process_exit",
            ])
            .raw_tracepoints_only(true),
    ) else {
        return;
    };
    let kinds: Vec<(String, &str)> = tracer
        .attachments()
        .iter()
        .map(|a| (a.program.clone(), a.kind))
        .collect();
    assert!(
        kinds.iter().all(|(_, k)| *k == "raw_tp"),
        "only raw tracepoints: {kinds:?}"
    );
    for program in [
        "tracee_sys_enter",
        "tracee_sys_exit",
        "tracee_task_rename_raw",
    ] {
        assert!(
            kinds.iter().any(|(p, _)| p == program),
            "{program} attached: {kinds:?}"
        );
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("raw-tp-unique-target");
    std::fs::write(&target, "x").expect("write the target");
    let target = target.to_str().expect("utf-8 path").to_string();
    let mut sh = Command::new("/bin/sh")
        .args([
            "-c",
            &format!("/bin/cat {target} >/dev/null; /bin/echo hi there >/dev/null; exit 3"),
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn /bin/sh");
    let sh_pid = sh.id();
    assert_eq!(sh.wait().expect("wait").code(), Some(3));

    let echo_exec = |e: &Event| {
        e.event_name == "sched_process_exec" && str_arg(e, "cmdpath") == Some("/bin/echo")
    };
    let events = collect_until(
        &tracer,
        Duration::from_secs(10),
        |e| e.header.pid == sh_pid || e.header.ppid == sh_pid,
        |evs| {
            evs.iter().any(echo_exec)
                && evs
                    .iter()
                    .any(|e| e.event_name == "openat" && str_arg(e, "pathname") == Some(&target))
                && evs
                    .iter()
                    .any(|e| e.event_name == "sched_process_exit" && e.header.pid == sh_pid)
        },
    );
    let stats = tracer.stats();
    tracer.stop();

    let exec = events.iter().find(|e| echo_exec(e)).unwrap_or_else(|| {
        panic!("no exec of /bin/echo under sh {sh_pid}: {events:#?}; {stats:?}")
    });
    let echo_pid = exec.header.pid;
    assert_eq!(exec.header.ppid, sh_pid, "{exec:?}");
    let echo_real = std::fs::canonicalize("/bin/echo").expect("canonicalize /bin/echo");
    assert_eq!(str_arg(exec, "pathname"), echo_real.to_str(), "{exec:?}");
    assert_eq!(
        exec.arg("argv").and_then(|v| v.as_str_array()),
        Some(&["/bin/echo".to_string(), "hi".into(), "there".into()][..]),
        "{exec:?}"
    );
    assert_eq!(
        str_arg(exec, "prev_comm"),
        Some("sh"),
        "the raw task_rename hook kept the comm before the exec: {exec:?}"
    );
    assert_eq!(exec.header.comm, "echo", "{exec:?}");

    let execve = events
        .iter()
        .find(|e| e.event_name == "execve" && e.header.pid == echo_pid)
        .unwrap_or_else(|| panic!("no execve by pid {echo_pid}: {events:#?}"));
    assert_eq!(str_arg(execve, "pathname"), Some("/bin/echo"), "{execve:?}");
    assert_eq!(execve.header.retval, 0, "{execve:?}");

    let fork = events
        .iter()
        .find(|e| {
            e.event_name == "sched_process_fork" && int(e, "child_pid") == i64::from(echo_pid)
        })
        .unwrap_or_else(|| panic!("no fork of pid {echo_pid}: {events:#?}"));
    assert_eq!(fork.header.pid, sh_pid, "{fork:?}");
    assert_eq!(int(fork, "parent_pid"), i64::from(sh_pid), "{fork:?}");

    let open = events
        .iter()
        .find(|e| e.event_name == "openat" && str_arg(e, "pathname") == Some(&target))
        .unwrap_or_else(|| panic!("no openat of {target}: {events:#?}"));
    assert_eq!(
        open.header.ppid, sh_pid,
        "opened by cat, the shell's child: {open:?}"
    );
    assert!(open.header.retval >= 0, "the open succeeded: {open:?}");
    assert_eq!(
        int(open, "flags") & 0o3,
        i64::from(libc::O_RDONLY),
        "{open:?}"
    );

    let exit_of = |pid: u32| {
        events
            .iter()
            .find(|e| e.event_name == "sched_process_exit" && e.header.pid == pid)
            .unwrap_or_else(|| panic!("no sched_process_exit of pid {pid}: {events:#?}"))
    };
    assert_eq!(int(exit_of(sh_pid), "exit_code"), 3);
    assert_eq!(int(exit_of(echo_pid), "exit_code"), 0);
}
