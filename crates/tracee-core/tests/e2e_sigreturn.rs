//! Privileged end-to-end test: rt_sigreturn, whose registers at exit are the interrupted
//! code's, is emitted at entry (flag NO_RETURN) under the default hooks, which then attach the
//! entry program for it.

mod e2e_common;

use std::process::Command;
use std::time::Duration;

use e2e_common::{collect_until, run_ok, tracer_or_skip};
use tracee_core::tracer::Tracer;
use tracee_core::wire::HeaderFlags;

#[test]
fn e2e_rt_sigreturn_after_a_signal_handler_is_emitted_at_entry() {
    let Some(tracer) = tracer_or_skip(
        "e2e_rt_sigreturn_after_a_signal_handler_is_emitted_at_entry",
        Tracer::builder().events(["rt_sigreturn"]),
    ) else {
        return;
    };
    assert!(
        tracer
            .attachments()
            .iter()
            .any(|a| a.program == "tracee_sys_enter"),
        "an entry event brings the entry program: {:?}",
        tracer.attachments()
    );
    // Three handled signals: three returns from a handler.
    let pid = run_ok(Command::new("perl").args([
        "-e",
        "$SIG{USR1} = sub {}; kill 'USR1', $$ for 1..3; exit 0",
    ]));
    let evs = collect_until(
        &tracer,
        Duration::from_secs(10),
        |e| e.header.pid == pid,
        |evs| evs.len() >= 3,
    );
    tracer.stop();
    assert_eq!(evs.len(), 3, "three rt_sigreturn of pid {pid}: {evs:#?}");
    for e in &evs {
        assert_eq!(e.event_name, "rt_sigreturn");
        assert_eq!(e.header.syscall, Some(libc::SYS_rt_sigreturn as i32));
        assert!(
            e.flags()
                .contains(HeaderFlags::NO_RETURN | HeaderFlags::ARGS_AT_ENTRY),
            "{e:?}"
        );
    }
}
