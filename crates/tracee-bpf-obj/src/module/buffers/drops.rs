//! The one drop account of an event stream.

use std::sync::atomic::{AtomicU64, Ordering};

/// Events lost between the BPF program and the consumer, by where they were lost.
/// `received + drops.total()` equals the events the BPF side tried to emit (when the
/// program counts its failed reserves in the drops map, see `bpf/include/tracee/buffers.h`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops {
    /// Ring-buffer reserve/output failures counted by the BPF side (the per-CPU
    /// `tracee_drops` map, summed over CPUs).
    pub kernel: u64,
    /// Samples the kernel reported lost on a perf buffer (buffer full).
    pub perf_lost: u64,
    /// Events the reader had but could not hand over because the bounded channel was full.
    pub channel_overflow: u64,
}

impl Drops {
    /// All drops together.
    pub fn total(&self) -> u64 {
        self.kernel + self.perf_lost + self.channel_overflow
    }
}

/// Counters the reader thread updates and any thread reads.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) received: AtomicU64,
    pub(crate) perf_lost: AtomicU64,
    pub(crate) overflow: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
