//! Overload: a BPF program run N times into a one-page ring buffer, read by a reader that
//! polls slowly into a small channel drained by a slow consumer. Every attempt the BPF side
//! counts is either received or counted as a drop, exactly.

mod module_common;

use std::collections::BTreeSet;
use std::time::Duration;

use module_common::*;
use tracee_bpf_obj::module::buffers::{BufferReader, WakeupPolicy};

const RUNS: u64 = 20_000;

#[test]
fn drops_are_counted_exactly() {
    if skip_without_bpf("drops_are_counted_exactly") {
        return;
    }
    let m = load_test_module();
    let (reader, rx) = BufferReader::ring_buffer(&m, "rb_small")
        .unwrap()
        // The producer never wakes the reader; the reader drains every 2 ms, and a 4 KiB
        // ring holds ~36 events: the kernel side overflows between drains.
        .wakeup(WakeupPolicy::Interval(Duration::from_millis(2)))
        .start_channel(16)
        .unwrap();
    // A slow consumer: the 16-slot channel overflows too.
    let consumer = std::thread::spawn(move || {
        let mut seqs = Vec::new();
        for bytes in rx.iter() {
            let ev = TestEvent::parse(&bytes);
            assert_eq!(ev.kind, EV_OVERLOAD);
            seqs.push(ev.seq);
            if seqs.len() % 8 == 0 {
                std::thread::sleep(Duration::from_micros(500));
            }
        }
        seqs
    });
    for i in 0..RUNS {
        assert_eq!(m.test_run("tbo_overload", None).unwrap(), 0, "run {i}");
        if i % 64 == 0 {
            // Let the reader interleave with the producer on small machines.
            std::thread::yield_now();
        }
    }
    reader.stop(); // drains what is left, then closes the channel
    let seqs = consumer.join().unwrap();
    let drops = reader.drops();
    let attempts = counter(&m, C_OVERLOAD_ATTEMPTS);
    let received = seqs.len() as u64;
    eprintln!("attempts {attempts}, received {received}, drops {drops:?}");

    assert_eq!(attempts, RUNS, "the BPF side counted every run");
    assert_eq!(
        received,
        reader.received(),
        "the reader's count matches what the consumer got"
    );
    assert_eq!(drops.perf_lost, 0);
    assert_eq!(
        received + drops.kernel + drops.channel_overflow,
        attempts,
        "{drops:?}"
    );
    assert!(
        drops.kernel > 0,
        "the ring never overflowed; the test did not overload it"
    );
    assert!(drops.channel_overflow > 0, "the channel never overflowed");
    // Received events are distinct attempts, in order.
    let unique: BTreeSet<u64> = seqs.iter().copied().collect();
    assert_eq!(unique.len(), seqs.len());
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    assert!(seqs.iter().all(|&s| s < RUNS));
}

#[test]
fn perf_lost_samples_are_counted_exactly() {
    if skip_without_bpf("perf_lost_samples_are_counted_exactly") {
        return;
    }
    let m = load_test_module();
    let (reader, rx) = BufferReader::perf_buffer(&m, "perf_events")
        .unwrap()
        .pages(1)
        .poll_interval(Duration::from_millis(2))
        .start_channel(16)
        .unwrap();
    let consumer = std::thread::spawn(move || {
        let mut seqs = Vec::new();
        for bytes in rx.iter() {
            seqs.push(TestEvent::parse(&bytes).seq);
            if seqs.len() % 8 == 0 {
                std::thread::sleep(Duration::from_micros(500));
            }
        }
        seqs
    });
    // All runs on CPU 0, so one perf buffer takes them all.
    for i in 0..RUNS {
        assert_eq!(
            m.test_run_on_cpu("tbo_overload_pb", None, 0).unwrap(),
            0,
            "run {i}"
        );
        if i % 64 == 0 {
            std::thread::yield_now();
        }
    }
    // The kernel reports lost samples in a record written before the next sample that fits:
    // let the reader empty the buffer, then emit one more so the last losses are reported.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(m.test_run_on_cpu("tbo_overload_pb", None, 0).unwrap(), 0);
    std::thread::sleep(Duration::from_millis(50));
    reader.stop();
    let seqs = consumer.join().unwrap();
    let drops = reader.drops();
    let attempts = counter(&m, C_OVERLOAD_PERF_ATTEMPTS);
    let received = seqs.len() as u64;
    eprintln!("perf: attempts {attempts}, received {received}, drops {drops:?}");
    assert_eq!(attempts, RUNS + 1);
    assert_eq!(received, reader.received());
    assert_eq!(
        received + drops.perf_lost + drops.channel_overflow,
        attempts,
        "{drops:?}"
    );
    assert!(drops.perf_lost > 0, "the perf buffer never overflowed");
    assert_eq!(seqs.last().copied(), Some(RUNS), "the flush sample arrived");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
}
