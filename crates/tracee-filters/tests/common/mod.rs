//! The catalog the tests compile against.

use tracee_filters::{ArgKind, StaticCatalog, StaticEvent};

pub const OPENAT: u32 = 257;
pub const EXECVE: u32 = 59;
pub const CLOSE: u32 = 3;
pub const SCHED_EXEC: u32 = 1000;

pub fn catalog() -> StaticCatalog {
    StaticCatalog::new([
        StaticEvent::new(OPENAT, "openat")
            .sets(["default", "syscalls", "fs", "fs_file_ops"])
            .arg("dirfd", ArgKind::Signed)
            .arg("pathname", ArgKind::Str)
            .arg("flags", ArgKind::Signed)
            .arg("mode", ArgKind::Unsigned)
            .with_retval(),
        StaticEvent::new(2, "open")
            .sets(["syscalls", "fs", "fs_file_ops"])
            .arg("pathname", ArgKind::Str)
            .with_retval(),
        StaticEvent::new(437, "openat2")
            .sets(["syscalls", "fs"])
            .with_retval(),
        StaticEvent::new(EXECVE, "execve")
            .sets(["default", "syscalls", "proc", "proc_life"])
            .arg("pathname", ArgKind::Str)
            .arg("argv", ArgKind::StrArray)
            .arg("envp", ArgKind::StrArray)
            .with_retval(),
        StaticEvent::new(CLOSE, "close")
            .sets(["syscalls", "fs"])
            .arg("fd", ArgKind::Signed)
            .with_retval(),
        StaticEvent::new(41, "socket")
            .sets(["syscalls", "net", "net_sock"])
            .arg("domain", ArgKind::Signed)
            .with_retval(),
        StaticEvent::new(SCHED_EXEC, "sched_process_exec")
            .sets(["default", "proc", "proc_life"])
            .arg("cmdpath", ArgKind::Str)
            .arg("argv", ArgKind::StrArray)
            .arg("dev", ArgKind::Other),
    ])
}
