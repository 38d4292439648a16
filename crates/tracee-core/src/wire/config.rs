//! The layouts of the program's configuration maps, and how an
//! [`EventDefinition`] becomes an entry.
//!
//! * `tr_syscalls` (ARRAY indexed by syscall number): [`EventCfg`] — selected or not, the
//!   matched-policies bitmap, and per argument register how to read it.
//! * `tr_lifecycle` (ARRAY indexed by [`Lifecycle`]): [`LifecycleCfg`] — which of the
//!   program's fixed lifecycle slots the definition has, at which index, with which type.
//! * `tr_config` (ARRAY, one entry): [`TracerCfg`] — the tracer's own tgid, skipped in the
//!   kernel.
//!
//! `tests/layout_matches_btf.rs` checks these structs and constants against the compiled
//! objects' BTF, member by member: list a new field there.

use crate::events::{ArgType, EventDefinition};

use super::WireClass;

/// Config-only class: a `struct sockaddr`, emitted as [`WireClass::Bytes`].
pub const CLASS_SOCKADDR: u8 = 5;
/// Flag on a Bytes class: the length is also bounded by a non-negative return value.
pub const LEN_RETVAL: u8 = 0x10;
/// [`EventCfg::flags`]: read the arguments at syscall entry, emit at exit.
pub const EV_CAPTURE_AT_ENTRY: u32 = 1;
/// [`EventCfg::flags`]: emit at syscall entry (the syscall never returns).
pub const EV_EMIT_AT_ENTRY: u32 = 2;
/// [`LifecycleCfg::index`] of a slot the definition does not have.
pub const LIFE_SKIP: u8 = 0xff;
/// Syscall argument registers.
pub const SYSCALL_ARGS: usize = 6;
/// Entries of the `tr_syscalls` map (syscall numbers at or above are never traced).
pub const MAX_SYSCALL_NR: u32 = 1024;

/// Syscalls whose arguments must be read at entry: a successful exec replaces the address
/// space their pointers point into.
pub const CAPTURE_AT_ENTRY: &[&str] = &["execve", "execveat"];
/// Syscalls emitted at entry: exit/exit_group never return to a sys_exit, and rt_sigreturn
/// returns into the restored context, whose registers (syscall number and arguments
/// included) are the interrupted code's.
pub const EMIT_AT_ENTRY: &[&str] = &["exit", "exit_group", "rt_sigreturn"];

/// How the program reads one syscall argument register.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ArgCfg {
    /// [`WireClass`] code (or [`CLASS_SOCKADDR`]), possibly `| LEN_RETVAL`; 0 = skip.
    pub class: u8,
    /// The [`ArgType`] wire code, copied into the event.
    pub type_code: u8,
    /// The argument's index in the definition, copied into the event.
    pub index: u8,
    /// Bytes: the register holding the length.
    pub len_arg: u8,
}

/// One `tr_syscalls` entry (40 bytes, `struct tr_event_cfg`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct EventCfg {
    /// Matched-policies bitmap put in the header; 0 = not selected.
    pub policies: u64,
    /// Event id put in the header.
    pub event_id: u32,
    /// `EV_*` flags.
    pub flags: u32,
    /// Per argument register.
    pub args: [ArgCfg; SYSCALL_ARGS],
}

/// The program's lifecycle hooks, the key of `tr_lifecycle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Lifecycle {
    /// `sched_process_exec`.
    Exec = 0,
    /// `sched_process_fork`.
    Fork = 1,
    /// `sched_process_exit`.
    Exit = 2,
}

impl Lifecycle {
    /// All hooks.
    pub const ALL: [Lifecycle; 3] = [Lifecycle::Exec, Lifecycle::Fork, Lifecycle::Exit];

    /// The event name this hook produces.
    pub const fn event_name(self) -> &'static str {
        match self {
            Lifecycle::Exec => "sched_process_exec",
            Lifecycle::Fork => "sched_process_fork",
            Lifecycle::Exit => "sched_process_exit",
        }
    }

    /// The hook for an event name.
    pub fn from_event_name(name: &str) -> Option<Lifecycle> {
        Self::ALL.into_iter().find(|l| l.event_name() == name)
    }

    /// The program's slots for this hook, in slot order: each the argument names it may
    /// have in a definition (first match wins) and its wire class.
    pub const fn slots(self) -> &'static [(&'static [&'static str], WireClass)] {
        const I: WireClass = WireClass::Int8;
        match self {
            Lifecycle::Exec => &[
                (&["cmdpath", "filename"], WireClass::Str),
                (&["pathname"], WireClass::Str),
                (&["interp", "interpreter"], WireClass::Str),
                (&["argv"], WireClass::StrArray),
                (&["env", "envp"], WireClass::StrArray),
                (&["dev"], I),
                (&["inode"], I),
                (&["inode_mode"], I),
                (&["ctime"], I),
                (&["stdin_type"], I),
                (&["stdin_path"], WireClass::Str),
                (&["pwd"], WireClass::Str),
                (&["interpreter_pathname"], WireClass::Str),
                (&["interpreter_dev"], I),
                (&["interpreter_inode"], I),
                (&["interpreter_ctime"], I),
                (&["invoked_from_kernel"], I),
                (&["prev_comm"], WireClass::Str),
            ],
            Lifecycle::Fork => &[
                (&["parent_tid"], I),
                (&["parent_ns_tid"], I),
                (&["parent_pid"], I),
                (&["parent_ns_pid"], I),
                (&["parent_start_time"], I),
                (&["child_tid"], I),
                (&["child_ns_tid"], I),
                (&["child_pid"], I),
                (&["child_ns_pid"], I),
                (&["start_time", "child_start_time"], I),
            ],
            Lifecycle::Exit => &[
                (&["exit_code"], I),
                (&["signal_code", "signal"], I),
                (&["process_group_exit"], I),
            ],
        }
    }

    /// The tp_btf program of this hook.
    pub const fn program(self) -> &'static str {
        match self {
            Lifecycle::Exec => "tracee_sched_exec",
            Lifecycle::Fork => "tracee_sched_fork",
            Lifecycle::Exit => "tracee_sched_exit",
        }
    }

    /// The raw_tp fallback program of this hook.
    pub const fn raw_program(self) -> &'static str {
        match self {
            Lifecycle::Exec => "tracee_sched_exec_raw",
            Lifecycle::Fork => "tracee_sched_fork_raw",
            Lifecycle::Exit => "tracee_sched_exit_raw",
        }
    }

    /// The kernel tracepoint.
    pub const fn tracepoint(self) -> &'static str {
        self.event_name()
    }
}

/// Slots of a [`LifecycleCfg`] (`TR_LIFE_SLOTS`).
pub const LIFE_SLOTS: usize = 32;

/// One `tr_lifecycle` entry (80 bytes, `struct tr_life_cfg`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LifecycleCfg {
    /// Matched-policies bitmap; 0 = not selected.
    pub policies: u64,
    /// Event id.
    pub event_id: u32,
    /// Reserved, 0.
    pub flags: u32,
    /// Per slot: the argument's index in the definition, or [`LIFE_SKIP`].
    pub index: [u8; LIFE_SLOTS],
    /// Per slot: the argument's [`ArgType`] wire code.
    pub type_code: [u8; LIFE_SLOTS],
}

/// The `tr_config` entry (`struct tr_config`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct TracerCfg {
    /// Events of this process (its tgid in the initial pid namespace, which the tracer asks
    /// the kernel for) are not emitted (0: none excluded... except the idle task).
    pub tracer_tgid: u32,
    /// `CFG_*` flags.
    pub flags: u32,
}

/// [`TracerCfg::flags`]: the exit program reading the registers (`tracee_sys_exit_regs`) is
/// attached, so `tracee_sys_enter` saves only the events flagged [`EV_CAPTURE_AT_ENTRY`] or
/// [`EV_EMIT_AT_ENTRY`].
pub const CFG_EXIT_READS_REGS: u32 = 1;

/// Why a definition cannot be configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A syscall definition with more arguments than registers.
    #[error("event {event}: {count} arguments, but syscalls have at most {SYSCALL_ARGS}")]
    TooManyArgs {
        /// The event.
        event: String,
        /// Its argument count.
        count: usize,
    },
    /// A Bytes argument whose length argument does not exist.
    #[error("event {event}: argument {arg} takes its length from argument {len_arg}, which does not exist")]
    BadLenArg {
        /// The event.
        event: String,
        /// The argument.
        arg: String,
        /// The length index.
        len_arg: u8,
    },
}

/// The class the program reads a type with.
pub fn class_of(ty: ArgType) -> u8 {
    match ty {
        ArgType::S32 | ArgType::U32 => WireClass::Int4.code(),
        ArgType::S64 | ArgType::U64 | ArgType::Pointer => WireClass::Int8.code(),
        ArgType::U16 => WireClass::Int2.code(),
        ArgType::U8 | ArgType::Bool => WireClass::Int1.code(),
        ArgType::Str => WireClass::Str.code(),
        ArgType::StrArray => WireClass::StrArray.code(),
        ArgType::Bytes { .. } => WireClass::Bytes.code(),
        ArgType::Sockaddr => CLASS_SOCKADDR,
        ArgType::IntArray2 => WireClass::IntPair.code(),
        // A type added to the catalog later: carry the raw register.
        #[allow(unreachable_patterns)]
        _ => WireClass::Int8.code(),
    }
}

/// Whether a syscall's non-negative return value is the number of bytes its buffer holds
/// (read/write-like calls), so a Bytes argument is cut to it.
fn ret_is_length(name: &str) -> bool {
    ["read", "write", "recv", "send", "readlink", "getrandom"]
        .iter()
        .any(|k| name.contains(k))
}

impl EventCfg {
    /// The entry that selects syscall event `def` under `policies`.
    pub fn for_syscall(def: &EventDefinition, policies: u64) -> Result<EventCfg, ConfigError> {
        let args = def.args();
        if args.len() > SYSCALL_ARGS {
            return Err(ConfigError::TooManyArgs {
                event: def.name().to_string(),
                count: args.len(),
            });
        }
        let mut cfg = EventCfg {
            policies,
            event_id: def.id().0,
            flags: 0,
            args: [ArgCfg::default(); SYSCALL_ARGS],
        };
        if CAPTURE_AT_ENTRY.contains(&def.name()) {
            cfg.flags |= EV_CAPTURE_AT_ENTRY;
        }
        if EMIT_AT_ENTRY.contains(&def.name()) {
            cfg.flags |= EV_EMIT_AT_ENTRY;
        }
        for (i, a) in args.iter().enumerate() {
            let mut class = class_of(a.ty);
            let mut len_arg = 0;
            if let ArgType::Bytes { len_arg: l } = a.ty {
                if usize::from(l) >= args.len() {
                    return Err(ConfigError::BadLenArg {
                        event: def.name().to_string(),
                        arg: a.name.to_string(),
                        len_arg: l,
                    });
                }
                len_arg = l;
                if ret_is_length(def.name()) {
                    class |= LEN_RETVAL;
                }
            }
            cfg.args[i] = ArgCfg {
                class,
                type_code: a.ty.wire_code(),
                index: i as u8,
                len_arg,
            };
        }
        Ok(cfg)
    }
}

impl LifecycleCfg {
    /// The entry that selects lifecycle event `def` (produced by `hook`) under `policies`.
    /// Definition arguments the program has no slot for are never filled; slots the
    /// definition lacks are skipped.
    pub fn for_event(hook: Lifecycle, def: &EventDefinition, policies: u64) -> LifecycleCfg {
        let mut cfg = LifecycleCfg {
            policies,
            event_id: def.id().0,
            flags: 0,
            index: [LIFE_SKIP; LIFE_SLOTS],
            type_code: [0; LIFE_SLOTS],
        };
        for (slot, (names, _)) in hook.slots().iter().enumerate() {
            if let Some((i, a)) = names.iter().find_map(|n| def.arg(n)) {
                if i < usize::from(LIFE_SKIP) {
                    cfg.index[slot] = i as u8;
                    cfg.type_code[slot] = a.ty.wire_code();
                }
            } else {
                log::debug!(
                    "{}: no argument named {:?}; the program's slot {slot} is not emitted",
                    def.name(),
                    names
                );
            }
        }
        cfg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_the_c_structs() {
        assert_eq!(std::mem::size_of::<EventCfg>(), 40);
        assert_eq!(std::mem::size_of::<LifecycleCfg>(), 80);
        for hook in Lifecycle::ALL {
            assert!(
                hook.slots().len() <= LIFE_SLOTS,
                "{hook:?} has too many slots"
            );
        }
        assert_eq!(std::mem::size_of::<TracerCfg>(), 8);
    }
}
