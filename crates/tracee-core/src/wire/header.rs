//! The 128-byte context header: field offsets and an owned copy.
//!
//! Every multi-byte field is little-endian (the byte order of every architecture the program
//! is built for). Offsets are from the start of the event; `tests/layout_matches_btf.rs` checks
//! each against `struct tr_header` in the compiled objects' BTF.

use serde::{Deserialize, Serialize};

/// `u8` format version ([`WIRE_VERSION`](super::WIRE_VERSION)).
pub const VERSION: usize = 0;
/// `u8` [`HeaderFlags`](super::HeaderFlags).
pub const FLAGS: usize = 1;
/// `u8` number of arguments that follow the header.
pub const ARGNUM: usize = 2;
/// `u8` low byte of the policies version the kernel's filters judged the event with
/// (`tracee_filters::maps::version_tag`); 0: no policies were installed.
pub const POLICIES_VERSION: usize = 3;
/// `u32` event id.
pub const EVENT_ID: usize = 4;
/// `u64` time of the event (syscalls: of the entry) in ns since boot (`bpf_ktime_get_ns`).
pub const TIMESTAMP: usize = 8;
/// `u64` the thread's start time, ns since boot (`task->start_time`).
pub const START_TIME: usize = 16;
/// `u64` cgroup v2 id of the task.
pub const CGROUP_ID: usize = 24;
/// `u64` bitmap of the policies that selected the event.
pub const POLICIES: usize = 32;
/// `i64` the syscall's return value (0 for other events).
pub const RETVAL: usize = 40;
/// `u32` process id (tgid) in the initial pid namespace.
pub const PID: usize = 48;
/// `u32` thread id in the initial pid namespace.
pub const TID: usize = 52;
/// `u32` parent's process id in the initial pid namespace.
pub const PPID: usize = 56;
/// `u32` process id in the task's pid namespace.
pub const NS_PID: usize = 60;
/// `u32` thread id in the task's pid namespace.
pub const NS_TID: usize = 64;
/// `u32` parent's process id in the parent's pid namespace.
pub const NS_PPID: usize = 68;
/// `u32` real uid.
pub const UID: usize = 72;
/// `u32` real gid.
pub const GID: usize = 76;
/// `u32` mount namespace inode number.
pub const MNT_NS: usize = 80;
/// `u32` pid namespace inode number.
pub const PID_NS: usize = 84;
/// `i32` syscall number, -1 for non-syscall events.
pub const SYSCALL: usize = 88;
/// `u32` CPU the event was emitted on.
pub const CPU: usize = 92;
/// `[u8; 16]` the task's comm, NUL-padded.
pub const COMM: usize = 96;
/// `[u8; 16]` the UTS namespace's nodename (truncated to 15 bytes), NUL-padded.
pub const UTS_NAME: usize = 112;

/// An owned copy of the context header, as in [`Event`](crate::decode::Event).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Header {
    /// Event time, ns since boot.
    pub timestamp: u64,
    /// The thread's start time, ns since boot.
    pub task_start_time: u64,
    /// cgroup v2 id.
    pub cgroup_id: u64,
    /// Bitmap of the policies that selected the event.
    pub matched_policies: u64,
    /// Return value (syscalls).
    pub retval: i64,
    /// Host process id.
    pub pid: u32,
    /// Host thread id.
    pub tid: u32,
    /// Host parent process id.
    pub ppid: u32,
    /// Process id in its pid namespace.
    pub ns_pid: u32,
    /// Thread id in its pid namespace.
    pub ns_tid: u32,
    /// Parent process id in its pid namespace.
    pub ns_ppid: u32,
    /// Real uid.
    pub uid: u32,
    /// Real gid.
    pub gid: u32,
    /// Mount namespace id.
    pub mnt_ns: u32,
    /// Pid namespace id.
    pub pid_ns: u32,
    /// Syscall number, `None` for non-syscall events.
    pub syscall: Option<i32>,
    /// CPU.
    pub cpu: u32,
    /// Task comm (lossy UTF-8).
    pub comm: String,
    /// UTS nodename (lossy UTF-8).
    pub uts_name: String,
    /// Header flags (bits of [`HeaderFlags`](super::HeaderFlags)).
    pub flags: u8,
    /// Which policies version judged the event and numbers `matched_policies`' bits: the low
    /// byte of the version (`tracee_filters::maps::version_tag`), 0 without policies.
    #[serde(default)]
    pub policies_version: u8,
}
