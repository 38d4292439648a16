//! Ring-buffer wakeup policy: the BPF producer may skip the reader's wakeup per event
//! (`BPF_RB_NO_WAKEUP`), which makes heavy event streams much cheaper for the traced
//! workload; the reader then polls on an interval.

use std::time::Duration;

/// How the BPF producer wakes the reader and how often the reader polls anyway.
///
/// The producer side reads the policy from the `tracee_rb_cfg` map (see
/// `bpf/include/tracee/buffers.h`), which the reader writes when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WakeupPolicy {
    /// The kernel wakes the reader for every event (lowest latency, costliest for the
    /// traced workload).
    #[default]
    EveryEvent,
    /// The producer never wakes the reader; the reader drains every `interval`. The ring
    /// must hold `interval` worth of events.
    Interval(Duration),
    /// The producer wakes the reader once `bytes` are waiting; the reader also drains
    /// every `max_latency`, so a trickle of events is not held back.
    Threshold {
        /// Bytes waiting in the ring that trigger a wakeup.
        bytes: u32,
        /// Longest time an event waits when the threshold is not reached.
        max_latency: Duration,
    },
}

/// The C side's `struct tracee_rb_cfg`. Public but hidden only so that
/// `crates/tracee-core/tests/layout_matches_btf.rs` can check it against the object's BTF.
#[doc(hidden)]
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct RbCfg {
    /// `WAKEUP_*`.
    pub mode: u32,
    /// `WAKEUP_THRESHOLD`: bytes waiting that wake the reader.
    pub threshold: u32,
}

impl RbCfg {
    /// `TRACEE_RB_WAKEUP_EVERY`.
    pub const WAKEUP_EVERY: u32 = 0;
    /// `TRACEE_RB_WAKEUP_NONE`.
    pub const WAKEUP_NONE: u32 = 1;
    /// `TRACEE_RB_WAKEUP_THRESHOLD`.
    pub const WAKEUP_THRESHOLD: u32 = 2;
}

impl WakeupPolicy {
    pub(crate) fn config(self) -> RbCfg {
        match self {
            WakeupPolicy::EveryEvent => RbCfg {
                mode: RbCfg::WAKEUP_EVERY,
                threshold: 0,
            },
            WakeupPolicy::Interval(_) => RbCfg {
                mode: RbCfg::WAKEUP_NONE,
                threshold: 0,
            },
            WakeupPolicy::Threshold { bytes, .. } => RbCfg {
                mode: RbCfg::WAKEUP_THRESHOLD,
                threshold: bytes,
            },
        }
    }

    /// How long the reader waits for a wakeup before draining anyway.
    pub(crate) fn poll_timeout(self) -> Duration {
        match self {
            // Only a backstop: the kernel wakes us.
            WakeupPolicy::EveryEvent => Duration::from_millis(500),
            WakeupPolicy::Interval(d) => d,
            WakeupPolicy::Threshold { max_latency, .. } => max_latency,
        }
        .max(Duration::from_millis(1))
    }
}
