//! Tables written by `scripts/gen-syscalls.py`; never edited by hand.
//!
//! Static tables hold plain `&'static` data ([`RawEvent`]); the catalog turns each row into an
//! [`EventDefinition`] once, borrowing every string.

use std::borrow::Cow;

use crate::events::{ArgDef, ArgType, EventDefinition, EventId, EventKind, SyscallNumbers};

// The generator's layout is the reviewed one; rustfmt would only churn it.
#[rustfmt::skip]
mod syscalls;

pub(crate) use syscalls::SYSCALLS;

/// One row of a static event table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawEvent {
    pub id: u32,
    pub name: &'static str,
    pub kind: EventKind,
    pub sets: &'static [&'static str],
    /// (name, wire type, C type)
    pub args: &'static [(&'static str, ArgType, &'static str)],
    /// (name, wire type, C type) of the return value
    pub ret: Option<(&'static str, ArgType, &'static str)>,
    pub x86_64: Option<u32>,
    pub arm64: Option<u32>,
}

/// A syscall row: every syscall returns a `long`.
pub(crate) const fn sys(
    id: u32,
    name: &'static str,
    sets: &'static [&'static str],
    args: &'static [(&'static str, ArgType, &'static str)],
    x86_64: Option<u32>,
    arm64: Option<u32>,
) -> RawEvent {
    RawEvent {
        id,
        name,
        kind: EventKind::Syscall,
        sets,
        args,
        ret: Some(("retval", ArgType::S64, "long")),
        x86_64,
        arm64,
    }
}

impl RawEvent {
    /// The definition this row describes.
    pub(crate) fn definition(&self) -> EventDefinition {
        EventDefinition {
            id: EventId(self.id),
            name: Cow::Borrowed(self.name),
            kind: self.kind,
            sets: Cow::Owned(self.sets.iter().map(|s| Cow::Borrowed(*s)).collect()),
            args: Cow::Owned(
                self.args
                    .iter()
                    .map(|&(name, ty, c_type)| ArgDef {
                        name: Cow::Borrowed(name),
                        ty,
                        c_type: Cow::Borrowed(c_type),
                    })
                    .collect(),
            ),
            ret: self.ret.map(|(name, ty, c_type)| ArgDef {
                name: Cow::Borrowed(name),
                ty,
                c_type: Cow::Borrowed(c_type),
            }),
            syscall: SyscallNumbers {
                x86_64: self.x86_64,
                arm64: self.arm64,
            },
        }
    }
}
