//! The typed syntax tree of `--scope`, `--events` and policy filter strings, before names are
//! resolved against a catalog. Every node keeps the [`Span`] of its text.

use std::fmt;

use crate::error::Span;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `>=`
    Ge,
}

impl Op {
    /// The operator's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Ge => ">=",
        }
    }

    /// Whether it is `=` or `!=`.
    pub const fn is_equality(self) -> bool {
        matches!(self, Op::Eq | Op::Ne)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A node and the text it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    /// The node.
    pub node: T,
    /// Its text.
    pub span: Span,
}

/// A numeric scope field (compared as integers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum NumField {
    /// Real user id.
    Uid,
    /// Host process id (tgid).
    Pid,
    /// Mount namespace id.
    MntNs,
    /// Pid namespace id.
    PidNs,
}

impl NumField {
    /// Name as written.
    pub const fn name(self) -> &'static str {
        match self {
            NumField::Uid => "uid",
            NumField::Pid => "pid",
            NumField::MntNs => "mntns",
            NumField::PidNs => "pidns",
        }
    }

    /// Whether `< > <= >=` are allowed (ranges).
    pub const fn has_ranges(self) -> bool {
        matches!(self, NumField::Uid | NumField::Pid)
    }
}

/// A string scope field (exact matches with `=`/`!=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TextField {
    /// The task's comm (at most 15 bytes).
    Comm,
    /// The UTS namespace's nodename (the program captures 15 bytes).
    Uts,
    /// The process's executable path (`executable=`, `exec=`, `bin=`).
    Executable,
}

impl TextField {
    /// Name as written.
    pub const fn name(self) -> &'static str {
        match self {
            TextField::Comm => "comm",
            TextField::Uts => "uts",
            TextField::Executable => "executable",
        }
    }
}

/// One scope filter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScopeFilter {
    /// `global`: no restriction.
    Global,
    /// `follow`: also match descendants of processes the scope matched.
    Follow,
    /// `container` (true) / `not-container` (false).
    Container(bool),
    /// `pid=new` (true) / `pid!=new` (false): processes started after the filters were loaded.
    NewPid(bool),
    /// `uid>=1000`, `pid=1,2`, `mntns=4026531840`.
    Num {
        /// Field.
        field: NumField,
        /// Operator.
        op: Op,
        /// Values (OR under `=`, AND under `!=`; one value for ranges).
        values: Vec<u64>,
    },
    /// `comm=bash,zsh`, `uts!=host`, `exec=/usr/bin/ls`.
    Text {
        /// Field.
        field: TextField,
        /// `=` or `!=`.
        op: Op,
        /// Values.
        values: Vec<String>,
    },
    /// `tree=PID,...` / `tree!=PID`: the process or a descendant of one of the given pids.
    Tree {
        /// `=` or `!=`.
        op: Op,
        /// Root pids.
        pids: Vec<u32>,
    },
}

/// An event selector.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Selector {
    /// An exact name.
    Name(String),
    /// A glob (`open*`).
    Glob(String),
    /// A set: `tag=fs`, `set=fs`.
    Set(String),
}

/// A string pattern of a data filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pattern {
    /// The whole string.
    Exact(String),
    /// `x*`: starts with.
    Prefix(String),
    /// `*x`: ends with.
    Suffix(String),
}

impl Pattern {
    /// `x*` prefix, `*x` suffix, anything else exact (a lone `*` is the empty prefix).
    pub fn parse(s: &str) -> Pattern {
        if let Some(p) = s.strip_suffix('*') {
            Pattern::Prefix(p.to_string())
        } else if let Some(p) = s.strip_prefix('*') {
            Pattern::Suffix(p.to_string())
        } else {
            Pattern::Exact(s.to_string())
        }
    }

    /// Whether `v` matches.
    pub fn matches(&self, v: &str) -> bool {
        match self {
            Pattern::Exact(p) => v == p,
            Pattern::Prefix(p) => v.starts_with(p.as_str()),
            Pattern::Suffix(p) => v.ends_with(p.as_str()),
        }
    }
}

/// A filter on one event, from `--events EVENT.KIND...` or a policy rule's `filters`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // parsed once, never stored in bulk
pub enum EventFilter {
    /// `data.ARG OP values` (`args.ARG` is accepted too); values typed at resolution.
    Data {
        /// The argument's name.
        arg: Spanned<String>,
        /// Operator.
        op: Op,
        /// Where the operator is.
        op_at: Span,
        /// Raw values.
        values: Vec<Spanned<String>>,
    },
    /// `retval OP values`.
    Retval {
        /// Operator.
        op: Op,
        /// Values.
        values: Vec<i64>,
    },
    /// A scope filter that applies to this event only.
    Scope(ScopeFilter),
}

/// One item of an `--events` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // parsed once, never stored in bulk
pub enum EventItem {
    /// Select events.
    Select(Selector),
    /// `-SELECTOR`: remove events.
    Exclude(Selector),
    /// `EVENT.data.ARG=...`, `EVENT.retval<0`, `EVENT.scope.comm=ls`: a filter (it also
    /// selects the event).
    Filter {
        /// The event's name.
        event: Spanned<String>,
        /// The filter.
        filter: EventFilter,
    },
}
