//! The wire format between the BPF program (`crates/tracee-core/bpf/wire.bpf.h`) and the decoder,
//! specified byte by byte in `docs/wire-format.md`.
//!
//! An event is a 128-byte [context header](header) followed by `argnum` arguments, each a
//! 3-byte head (definition index, [`ArgType`](crate::events::ArgType) wire code,
//! [`WireClass`]) and a payload whose layout the class alone determines. The class makes the
//! format self-describing: a decoder can walk every event without the catalog; the type code
//! says how to interpret the bytes (signedness, sockaddr, ...).
//!
//! [`config`] holds the layouts of the maps userspace fills to tell the program which events
//! to emit and how to read their arguments; [`encode`] writes events in this format from
//! userspace (tests, replay, embedders emitting their own events).

pub mod config;
pub mod encode;
pub mod header;

use std::fmt;

/// The format version in byte 0 of every event.
pub const WIRE_VERSION: u8 = 1;
/// Size of the context header.
pub const HEADER_SIZE: usize = 128;
/// Size of an argument's head (index, type code, class).
pub const ARG_HEAD_SIZE: usize = 3;
/// Most arguments one event can carry on the wire.
pub const MAX_ARGS: usize = 32;
/// Most bytes of one string the program captures (including the NUL it drops).
pub const MAX_STR: usize = 4096;
/// Most elements of one string array the program captures.
pub const MAX_STR_ARRAY: usize = 128;
/// Most bytes of one buffer argument the program captures.
pub const MAX_BYTES: usize = 4096;
/// Largest event the program emits (its per-CPU buffer).
pub const MAX_EVENT: usize = 16384;

bitflags::bitflags! {
    /// Header byte 1.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct HeaderFlags: u8 {
        /// Some argument did not fit the event buffer: trailing arguments are missing or a
        /// string array was cut short.
        const TRUNCATED = 1;
        /// The arguments were read at syscall entry (execve, execveat, exit, exit_group,
        /// rt_sigreturn).
        const ARGS_AT_ENTRY = 2;
        /// Emitted at entry of a syscall that does not return a result (exit, exit_group;
        /// rt_sigreturn, which resumes the interrupted code): the return value is 0.
        const NO_RETURN = 4;
    }
}

/// How an argument's payload is laid out (byte 2 of its head).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WireClass {
    /// 8 bytes, little-endian.
    Int8,
    /// 4 bytes, little-endian.
    Int4,
    /// 2 bytes, little-endian.
    Int2,
    /// 1 byte.
    Int1,
    /// Two little-endian 32-bit integers (8 bytes).
    IntPair,
    /// `u32` length, then that many bytes (no NUL).
    Str,
    /// `u16` count, `u8` truncated flag, `u8` zero, then `count` × [`WireClass::Str`].
    StrArray,
    /// `u32` length, then that many bytes.
    Bytes,
}

impl WireClass {
    /// The class with this code, `None` for an unknown one.
    pub const fn from_code(code: u8) -> Option<WireClass> {
        Some(match code {
            1 => WireClass::Int8,
            2 => WireClass::Str,
            3 => WireClass::StrArray,
            4 => WireClass::Bytes,
            6 => WireClass::Int4,
            7 => WireClass::Int2,
            8 => WireClass::Int1,
            9 => WireClass::IntPair,
            _ => return None,
        })
    }

    /// This class's code on the wire (and in the program's config map).
    pub const fn code(self) -> u8 {
        match self {
            WireClass::Int8 => 1,
            WireClass::Str => 2,
            WireClass::StrArray => 3,
            WireClass::Bytes => 4,
            WireClass::Int4 => 6,
            WireClass::Int2 => 7,
            WireClass::Int1 => 8,
            WireClass::IntPair => 9,
        }
    }

    /// Payload size of the fixed-size classes.
    pub const fn fixed_size(self) -> Option<usize> {
        match self {
            WireClass::Int8 | WireClass::IntPair => Some(8),
            WireClass::Int4 => Some(4),
            WireClass::Int2 => Some(2),
            WireClass::Int1 => Some(1),
            WireClass::Str | WireClass::StrArray | WireClass::Bytes => None,
        }
    }
}

impl fmt::Display for WireClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
