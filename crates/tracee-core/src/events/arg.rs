//! Argument types as the BPF program writes them and the decoder reads them.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// How one event argument is captured in the kernel and laid out on the wire.
///
/// A small closed set: C types (`mode_t`, `pid_t`, `dev_t`, ...) map onto these by size and
/// signedness; [`ArgDef::c_type`] keeps the C spelling for display. The BPF program learns each
/// event's argument types from a map userspace fills with [`ArgType::wire_code`] and
/// [`ArgType::wire_param`], so these codes are stable: never renumber, only append.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ArgType {
    /// Signed 32-bit integer (`int`, `pid_t`, `clockid_t`, enums).
    S32,
    /// Unsigned 32-bit integer (`unsigned int`, `uid_t`, `mode_t`, `dev_t`).
    U32,
    /// Signed 64-bit integer (`long`, `off_t`, `loff_t`, `ssize_t`).
    S64,
    /// Unsigned 64-bit integer (`unsigned long`, `size_t`, `u64`).
    U64,
    /// Unsigned 16-bit integer (an inode's `umode_t`, a stdin file type).
    U16,
    /// Unsigned 8-bit integer.
    U8,
    /// A boolean, one byte, 0 or 1.
    Bool,
    /// An address, not dereferenced (64 bits).
    Pointer,
    /// A NUL-terminated string read from user or kernel memory.
    Str,
    /// A NULL-terminated array of strings (`argv`, `envp`).
    StrArray,
    /// A buffer whose length is the value of argument number `len_arg` (0-based) of the same
    /// event, capped by the program's buffer limit.
    Bytes {
        /// Index of the argument holding the buffer's length.
        len_arg: u8,
    },
    /// A `struct sockaddr` (family-dependent size, read at syscall exit).
    Sockaddr,
    /// Two `int`s (`pipe`'s `pipefd`, `socketpair`'s `sv`), read at syscall exit.
    IntArray2,
}

impl ArgType {
    /// Every type, in wire-code order (`Bytes` with `len_arg` 0).
    pub const ALL: [ArgType; 13] = [
        ArgType::S32,
        ArgType::U32,
        ArgType::S64,
        ArgType::U64,
        ArgType::U16,
        ArgType::U8,
        ArgType::Bool,
        ArgType::Pointer,
        ArgType::Str,
        ArgType::StrArray,
        ArgType::Bytes { len_arg: 0 },
        ArgType::Sockaddr,
        ArgType::IntArray2,
    ];

    /// The stable one-byte code of this type in the program's argument-type map. 0 means "no
    /// argument" and is never returned.
    pub const fn wire_code(self) -> u8 {
        match self {
            ArgType::S32 => 1,
            ArgType::U32 => 2,
            ArgType::S64 => 3,
            ArgType::U64 => 4,
            ArgType::U16 => 5,
            ArgType::U8 => 6,
            ArgType::Bool => 7,
            ArgType::Pointer => 8,
            ArgType::Str => 9,
            ArgType::StrArray => 10,
            ArgType::Bytes { .. } => 11,
            ArgType::Sockaddr => 12,
            ArgType::IntArray2 => 13,
        }
    }

    /// The type's parameter byte next to its code: `len_arg` for [`ArgType::Bytes`], else 0.
    pub const fn wire_param(self) -> u8 {
        match self {
            ArgType::Bytes { len_arg } => len_arg,
            _ => 0,
        }
    }

    /// The type with this code and parameter, or `None` for an unknown code (including 0).
    ///
    /// ```
    /// use tracee_core::events::ArgType;
    /// let t = ArgType::Bytes { len_arg: 2 };
    /// assert_eq!(ArgType::from_wire(t.wire_code(), t.wire_param()), Some(t));
    /// ```
    pub const fn from_wire(code: u8, param: u8) -> Option<ArgType> {
        Some(match code {
            1 => ArgType::S32,
            2 => ArgType::U32,
            3 => ArgType::S64,
            4 => ArgType::U64,
            5 => ArgType::U16,
            6 => ArgType::U8,
            7 => ArgType::Bool,
            8 => ArgType::Pointer,
            9 => ArgType::Str,
            10 => ArgType::StrArray,
            11 => ArgType::Bytes { len_arg: param },
            12 => ArgType::Sockaddr,
            13 => ArgType::IntArray2,
            _ => return None,
        })
    }

    /// Size in bytes of a fixed-size value of this type; `None` for variable-length ones.
    pub const fn fixed_size(self) -> Option<usize> {
        match self {
            ArgType::S32 | ArgType::U32 => Some(4),
            ArgType::S64 | ArgType::U64 | ArgType::Pointer => Some(8),
            ArgType::U16 => Some(2),
            ArgType::U8 | ArgType::Bool => Some(1),
            ArgType::IntArray2 => Some(8),
            ArgType::Str | ArgType::StrArray | ArgType::Bytes { .. } | ArgType::Sockaddr => None,
        }
    }

    /// Whether values are integers that numeric filters (`<`, `>=`) can compare.
    pub const fn is_integer(self) -> bool {
        matches!(
            self,
            ArgType::S32
                | ArgType::U32
                | ArgType::S64
                | ArgType::U64
                | ArgType::U16
                | ArgType::U8
                | ArgType::Pointer
        )
    }

    /// Whether values are text that string filters (exact, prefix, suffix) can match.
    pub const fn is_string(self) -> bool {
        matches!(self, ArgType::Str | ArgType::StrArray)
    }

    /// Short lowercase name (`s32`, `str`, `bytes`, ...), as in the JSON listing.
    pub const fn name(self) -> &'static str {
        match self {
            ArgType::S32 => "s32",
            ArgType::U32 => "u32",
            ArgType::S64 => "s64",
            ArgType::U64 => "u64",
            ArgType::U16 => "u16",
            ArgType::U8 => "u8",
            ArgType::Bool => "bool",
            ArgType::Pointer => "pointer",
            ArgType::Str => "str",
            ArgType::StrArray => "str_array",
            ArgType::Bytes { .. } => "bytes",
            ArgType::Sockaddr => "sockaddr",
            ArgType::IntArray2 => "int_array2",
        }
    }
}

impl fmt::Display for ArgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgType::Bytes { len_arg } => write!(f, "bytes(len=arg{len_arg})"),
            other => f.write_str(other.name()),
        }
    }
}

/// One named, typed argument of an event.
///
/// ```
/// use tracee_core::events::{ArgDef, ArgType};
/// let a = ArgDef::new("pathname", ArgType::Str, "const char*");
/// assert_eq!(a.to_string(), "const char* pathname");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ArgDef {
    /// Name as users write it in filters (`openat.data.pathname`).
    pub name: Cow<'static, str>,
    /// How it is captured and encoded.
    #[serde(rename = "wire_type")]
    pub ty: ArgType,
    /// The C spelling of its type, for display (`const char*`, `mode_t`).
    #[serde(rename = "type")]
    pub c_type: Cow<'static, str>,
}

impl ArgDef {
    /// The return value of every syscall.
    pub const RETVAL: ArgDef = ArgDef {
        name: Cow::Borrowed("retval"),
        ty: ArgType::S64,
        c_type: Cow::Borrowed("long"),
    };

    /// An argument with owned or static strings.
    pub fn new(
        name: impl Into<Cow<'static, str>>,
        ty: ArgType,
        c_type: impl Into<Cow<'static, str>>,
    ) -> ArgDef {
        ArgDef {
            name: name.into(),
            ty,
            c_type: c_type.into(),
        }
    }
}

impl fmt::Display for ArgDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.c_type, self.name)
    }
}
