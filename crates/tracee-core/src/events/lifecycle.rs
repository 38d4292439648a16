//! Process lifecycle events, from the scheduler's `sched_process_*` tracepoints. Arguments
//! follow Tracee's definitions of the same events, in the same order.

use super::generated::RawEvent;
use super::{ArgType, EventId, EventKind};

const fn lifecycle(
    id: EventId,
    name: &'static str,
    sets: &'static [&'static str],
    args: &'static [(&'static str, ArgType, &'static str)],
) -> RawEvent {
    RawEvent {
        id: id.0,
        name,
        kind: EventKind::Lifecycle,
        sets,
        args,
        ret: None,
        x86_64: None,
        arm64: None,
    }
}

/// Id of `sched_process_exec`.
pub const SCHED_PROCESS_EXEC: EventId = EventId(1000);
/// Id of `sched_process_fork`.
pub const SCHED_PROCESS_FORK: EventId = EventId(1001);
/// Id of `sched_process_exit`.
pub const SCHED_PROCESS_EXIT: EventId = EventId(1002);

const STR: &str = "const char*";
const STRS: &str = "const char**";

// sched_process_exec: the tracer's program fills every argument (see
// `wire::config::Lifecycle::slots`). dev, inode, ctime and inode_mode are of the exec'd file
// (bprm->file: for a script, its interpreter's); pathname, stdin_path, pwd and
// interpreter_pathname are walked from dentries and mounts as Tracee's get_path_str does (a
// memfd is "memfd:NAME"). interpreter_* is the ELF interpreter mapped at the new auxv's
// AT_BASE (Tracee learns it from a kprobe on load_elf_phdrs), absent for a static binary or
// when it is the file executed; invoked_from_kernel: the parent is a kernel thread (Tracee's
// rule); prev_comm comes from the task_rename the exec does (absent if that hook could not
// attach). env is filled when the definition has it (Tracee: only with its exec-env option).
pub(crate) static LIFECYCLE: &[RawEvent] = &[
    lifecycle(
        SCHED_PROCESS_EXEC,
        "sched_process_exec",
        &["default", "proc", "proc_life"],
        &[
            // The path the exec was asked for, then the file actually executed.
            ("cmdpath", ArgType::Str, STR),
            ("pathname", ArgType::Str, STR),
            ("dev", ArgType::U32, "dev_t"),
            ("inode", ArgType::U64, "unsigned long"),
            ("ctime", ArgType::U64, "u64"),
            ("inode_mode", ArgType::U16, "umode_t"),
            // The ELF interpreter (dynamic loader), empty for static binaries.
            ("interpreter_pathname", ArgType::Str, STR),
            ("interpreter_dev", ArgType::U32, "dev_t"),
            ("interpreter_inode", ArgType::U64, "unsigned long"),
            ("interpreter_ctime", ArgType::U64, "u64"),
            ("argv", ArgType::StrArray, STRS),
            // The `#!` interpreter of a script (bprm->interp).
            ("interp", ArgType::Str, STR),
            ("stdin_type", ArgType::U16, "umode_t"),
            ("stdin_path", ArgType::Str, STR),
            ("invoked_from_kernel", ArgType::Bool, "bool"),
            ("prev_comm", ArgType::Str, STR),
            ("env", ArgType::StrArray, STRS),
            ("pwd", ArgType::Str, STR),
        ],
    ),
    lifecycle(
        SCHED_PROCESS_FORK,
        "sched_process_fork",
        &["proc", "proc_life"],
        &[
            ("parent_tid", ArgType::S32, "pid_t"),
            ("parent_ns_tid", ArgType::S32, "pid_t"),
            ("parent_pid", ArgType::S32, "pid_t"),
            ("parent_ns_pid", ArgType::S32, "pid_t"),
            ("parent_start_time", ArgType::U64, "u64"),
            ("child_tid", ArgType::S32, "pid_t"),
            ("child_ns_tid", ArgType::S32, "pid_t"),
            ("child_pid", ArgType::S32, "pid_t"),
            ("child_ns_pid", ArgType::S32, "pid_t"),
            ("start_time", ArgType::U64, "u64"),
        ],
    ),
    lifecycle(
        SCHED_PROCESS_EXIT,
        "sched_process_exit",
        &["proc", "proc_life"],
        &[
            ("exit_code", ArgType::S32, "int"),
            ("signal_code", ArgType::S32, "int"),
            // True when the whole thread group has exited, not just this thread.
            ("process_group_exit", ArgType::Bool, "bool"),
        ],
    ),
];
