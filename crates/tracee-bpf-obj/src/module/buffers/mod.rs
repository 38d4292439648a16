//! Event buffers: ring-buffer and perf-buffer readers that run on their own thread and
//! deliver into a bounded crossbeam channel or a callback, with one [`Drops`] account.
//!
//! * Ring buffers follow a [`WakeupPolicy`]: the BPF producer can skip wakeups and the
//!   reader drains on an interval or when a fill threshold wakes it.
//! * [`BufferReader::stop`] (also run on drop) may be called from any thread, including the
//!   callback itself; it never deadlocks, and before it returns (off the callback thread)
//!   the reader has drained every event committed before the call.
//! * Perf samples arrive with the kernel's padding: up to 7 zero bytes after the data the
//!   program emitted (the sample size is rounded up to 8 bytes with the size header).

mod delivery;
mod drops;
mod reader;
mod source;
mod wakeup;

pub use drops::Drops;
pub use reader::{BufferReader, BufferReaderBuilder};
#[doc(hidden)]
pub use wakeup::RbCfg;
pub use wakeup::WakeupPolicy;

/// Name of the per-CPU drops-counter map that `bpf/include/tracee/buffers.h` defines.
pub const DROPS_MAP: &str = "tracee_drops";
/// Name of the wakeup-policy map that `bpf/include/tracee/buffers.h` defines.
pub const RB_CONFIG_MAP: &str = "tracee_rb_cfg";
