//! Privileged end-to-end test: an execve made by a thread that is not its process's leader.
//! The kernel's de_thread gives the exec'ing thread the leader's tid before execve returns,
//! so whatever the program saved at sys_enter under the old tid must still be found at
//! sys_exit: the event arrives, with the thread's argv and the leader's tid.
//!
//! The exec'ing process is this test binary run again (a fork in a multithreaded test binary
//! is unsafe), with an env var that makes `thread_exec_child` exec from a second thread.

mod e2e_common;

use std::ffi::CString;
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e_common::{collect_until, run_ok, tracer_or_skip};
use tracee_core::decode::Event;
use tracee_core::tracer::Tracer;

const CHILD_ENV: &str = "TRACEE_RS_THREAD_EXEC_ARG";

/// Not a test of its own: the body of the re-run child. Without the env var it does nothing.
#[test]
fn thread_exec_child() {
    let Ok(arg) = std::env::var(CHILD_ENV) else {
        return;
    };
    let t = std::thread::spawn(move || {
        let path = CString::new("/bin/echo").expect("no NUL");
        let arg = CString::new(arg).expect("no NUL");
        let argv = [path.as_ptr(), arg.as_ptr(), std::ptr::null()];
        // SAFETY: NUL-terminated strings and a NULL-terminated argv that outlive the call.
        unsafe { libc::execv(path.as_ptr(), argv.as_ptr()) };
        panic!("execv /bin/echo: {}", std::io::Error::last_os_error());
    });
    // Only returns if the exec failed; on success the whole process became /bin/echo.
    let _ = t.join();
    std::process::exit(1);
}

fn argv(e: &Event) -> Vec<String> {
    e.arg("argv")
        .and_then(|v| v.as_str_array())
        .map(|a| a.to_vec())
        .unwrap_or_default()
}

#[test]
fn e2e_execve_from_a_non_leader_thread_is_emitted() {
    let Some(tracer) = tracer_or_skip(
        "e2e_execve_from_a_non_leader_thread_is_emitted",
        Tracer::builder().events(["execve", "sched_process_exec"]),
    ) else {
        return;
    };
    let unique = format!("tracee-rs-thread-exec-{}", std::process::id());
    let exe = std::env::current_exe().expect("the test binary's path");
    let pid = run_ok(
        Command::new(&exe)
            .args([
                "--exact",
                "thread_exec_child",
                "--test-threads=1",
                "--nocapture",
            ])
            .env(CHILD_ENV, &unique)
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );

    let want = vec!["/bin/echo".to_string(), unique.clone()];
    let events = collect_until(
        &tracer,
        Duration::from_secs(10),
        |e| e.header.pid == pid && argv(e) == want,
        |evs| {
            ["execve", "sched_process_exec"]
                .iter()
                .all(|n| evs.iter().any(|e| e.event_name == *n))
        },
    );
    let stats = tracer.stats();
    tracer.stop();

    let execve = events
        .iter()
        .find(|e| e.event_name == "execve")
        .unwrap_or_else(|| {
            panic!("no execve by a thread of pid {pid} with argv {want:?}: {events:#?}; {stats:?}")
        });
    assert_eq!(execve.header.retval, 0, "{execve:?}");
    assert_eq!(
        execve.header.tid, pid,
        "after de_thread the exec'ing thread has the leader's tid: {execve:?}"
    );
    assert_eq!(
        execve.arg("pathname").and_then(|v| v.as_str()),
        Some("/bin/echo")
    );
    let exec = events
        .iter()
        .find(|e| e.event_name == "sched_process_exec")
        .unwrap_or_else(|| panic!("no sched_process_exec of pid {pid}: {events:#?}"));
    assert_eq!(exec.header.tid, pid);
}
