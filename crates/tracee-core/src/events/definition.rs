//! One event's definition: id, name, sets, arguments, return value, syscall numbers.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::ArgDef;

/// An event's stable, architecture-independent id (see the [module docs](crate::events) for
/// the ranges). The same id names the same event on every machine, in the wire format and in
/// the program's maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(pub u32);

impl EventId {
    /// First id of the process lifecycle events.
    pub const FIRST_LIFECYCLE: EventId = EventId(1000);
    /// First id for events registered by embedding tools; ids below are reserved for
    /// built-in events.
    pub const FIRST_CUSTOM: EventId = EventId(10_000);
    /// Offset of syscalls that exist on arm64 but not on x86_64: id = 500 + arm64 number.
    pub const ARM64_ONLY_BASE: u32 = 500;
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where an event comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// A system call, traced at entry and emitted at exit with its return value.
    Syscall,
    /// A process lifecycle event from the scheduler's tracepoints (exec, fork, exit).
    Lifecycle,
    /// An event registered by an embedding tool, produced by its own program.
    Custom,
}

/// CPU architectures with syscall tables in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Arch {
    /// x86-64 (64-bit ABI; not x32 or ia32).
    X86_64,
    /// AArch64.
    Arm64,
}

impl Arch {
    /// The architecture this code was compiled for, if the catalog has its syscall table.
    pub const fn native() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Arm64)
        } else {
            None
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        })
    }
}

/// A syscall's number on each architecture; `None` where the architecture lacks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct SyscallNumbers {
    /// Number on x86_64.
    pub x86_64: Option<u32>,
    /// Number on arm64.
    pub arm64: Option<u32>,
}

impl SyscallNumbers {
    /// The number on `arch`.
    pub const fn get(&self, arch: Arch) -> Option<u32> {
        match arch {
            Arch::X86_64 => self.x86_64,
            Arch::Arm64 => self.arm64,
        }
    }
}

/// The definition of one event.
///
/// Built-in definitions live in static tables; an embedding tool builds its own with
/// [`EventDefinition::custom`] and registers it with
/// [`Catalog::register`](super::Catalog::register).
///
/// ```
/// use tracee_core::events::{ArgDef, ArgType, EventDefinition, EventId};
/// let def = EventDefinition::custom(EventId(10_001), "my_probe")
///     .with_sets(["my_tool"])
///     .with_arg(ArgDef::new("path", ArgType::Str, "const char*"));
/// assert_eq!(def.args()[0].name, "path");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDefinition {
    pub(crate) id: EventId,
    pub(crate) name: Cow<'static, str>,
    pub(crate) kind: EventKind,
    pub(crate) sets: Cow<'static, [Cow<'static, str>]>,
    pub(crate) args: Cow<'static, [ArgDef]>,
    pub(crate) ret: Option<ArgDef>,
    #[serde(default)]
    pub(crate) syscall: SyscallNumbers,
}

impl EventDefinition {
    /// A definition of an embedding tool's own event, of kind [`EventKind::Custom`], with no
    /// sets, arguments or return value yet.
    pub fn custom(id: EventId, name: impl Into<Cow<'static, str>>) -> EventDefinition {
        EventDefinition {
            id,
            name: name.into(),
            kind: EventKind::Custom,
            sets: Cow::Borrowed(&[]),
            args: Cow::Borrowed(&[]),
            ret: None,
            syscall: SyscallNumbers::default(),
        }
    }

    /// Replaces the kind.
    pub fn with_kind(mut self, kind: EventKind) -> EventDefinition {
        self.kind = kind;
        self
    }

    /// Replaces the sets (tags) the event belongs to.
    pub fn with_sets<S: Into<Cow<'static, str>>>(
        mut self,
        sets: impl IntoIterator<Item = S>,
    ) -> EventDefinition {
        self.sets = Cow::Owned(sets.into_iter().map(Into::into).collect());
        self
    }

    /// Appends an argument.
    pub fn with_arg(mut self, arg: ArgDef) -> EventDefinition {
        self.args.to_mut().push(arg);
        self
    }

    /// Sets the return value.
    pub fn with_ret(mut self, ret: ArgDef) -> EventDefinition {
        self.ret = Some(ret);
        self
    }

    /// Sets the syscall numbers (for an event that is a syscall the catalog lacks).
    pub fn with_syscall(mut self, numbers: SyscallNumbers) -> EventDefinition {
        self.syscall = numbers;
        self
    }

    /// The event's id.
    pub fn id(&self) -> EventId {
        self.id
    }

    /// The event's name (`openat`, `sched_process_exec`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the event comes from.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// The sets (Tracee's tags: `default`, `syscalls`, `fs`, `fs_file_ops`, ...) it belongs to.
    pub fn sets(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.sets.iter().map(|s| s.as_ref())
    }

    /// Whether the event is in `set`.
    pub fn in_set(&self, set: &str) -> bool {
        self.sets.iter().any(|s| s == set)
    }

    /// The arguments, in wire order.
    pub fn args(&self) -> &[ArgDef] {
        &self.args
    }

    /// The argument called `name` and its index.
    pub fn arg(&self, name: &str) -> Option<(usize, &ArgDef)> {
        self.args.iter().enumerate().find(|(_, a)| a.name == name)
    }

    /// The return value, for syscalls.
    pub fn ret(&self) -> Option<&ArgDef> {
        self.ret.as_ref()
    }

    /// The syscall numbers (all `None` for non-syscall events).
    pub fn syscall(&self) -> SyscallNumbers {
        self.syscall
    }

    /// The syscall number on `arch`.
    pub fn syscall_nr(&self, arch: Arch) -> Option<u32> {
        self.syscall.get(arch)
    }

    /// The arguments joined as C declarations: `int dirfd, const char* pathname, ...`.
    pub fn signature(&self) -> String {
        let mut out = String::new();
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&a.to_string());
        }
        out
    }
}
