//! Privileged: `Tracer::stop` ends the event iterator, and dropping tracers gives back every
//! file descriptor (links, programs, maps, ring buffer, epoll, eventfd).

mod e2e_common;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e_common::tracer_or_skip;
use tracee_core::tracer::Tracer;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn e2e_stop_ends_iteration_and_frees_every_fd() {
    let before = open_fds();
    for round in 0..2 {
        let Some(tracer) = tracer_or_skip(
            "e2e_stop_ends_iteration_and_frees_every_fd",
            Tracer::builder().events(["openat", "sched_process_exec", "sched_process_exit"]),
        ) else {
            return;
        };
        let tracer = Arc::new(tracer);
        // Something to read while stopping.
        let _ = Command::new("/bin/true").status();
        let t = tracer.clone();
        let consumer = std::thread::spawn(move || t.events().count());
        std::thread::sleep(Duration::from_millis(200));
        let t0 = Instant::now();
        tracer.stop();
        let n = consumer.join().expect("consumer thread");
        assert!(
            t0.elapsed() < e2e_common::scaled(Duration::from_secs(5)),
            "stop took {:?}",
            t0.elapsed()
        );
        assert!(
            n > 0,
            "round {round}: events before the stop were delivered"
        );
        assert!(tracer.next_timeout(Duration::from_millis(50)).is_none());
        let stats = tracer.stats();
        assert_eq!(stats.decode_errors, 0);
        tracer.stop(); // idempotent
        drop(tracer);
    }
    assert_eq!(open_fds(), before, "every fd of the tracers is closed");
}
