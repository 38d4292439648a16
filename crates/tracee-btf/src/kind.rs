//! The kind of a BTF type, as stored in bits 24-28 of `btf_type.info`.

use std::fmt;

/// The kind of a BTF type.
///
/// [`Kind::name`] gives the spelling `bpftool btf dump` uses, so reports line up with its output.
///
/// ```
/// use tracee_btf::Kind;
/// assert_eq!(Kind::from_raw(13), Kind::FuncProto);
/// assert_eq!(Kind::FuncProto.name(), "FUNC_PROTO");
/// assert_eq!(Kind::from_raw(25), Kind::Unknown(25));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// Type id 0, `void`.
    Void,
    /// `BTF_KIND_INT`.
    Int,
    /// `BTF_KIND_PTR`.
    Ptr,
    /// `BTF_KIND_ARRAY`.
    Array,
    /// `BTF_KIND_STRUCT`.
    Struct,
    /// `BTF_KIND_UNION`.
    Union,
    /// `BTF_KIND_ENUM` (32-bit values).
    Enum,
    /// `BTF_KIND_FWD`.
    Fwd,
    /// `BTF_KIND_TYPEDEF`.
    Typedef,
    /// `BTF_KIND_VOLATILE`.
    Volatile,
    /// `BTF_KIND_CONST`.
    Const,
    /// `BTF_KIND_RESTRICT`.
    Restrict,
    /// `BTF_KIND_FUNC`.
    Func,
    /// `BTF_KIND_FUNC_PROTO`.
    FuncProto,
    /// `BTF_KIND_VAR`.
    Var,
    /// `BTF_KIND_DATASEC`.
    Datasec,
    /// `BTF_KIND_FLOAT`.
    Float,
    /// `BTF_KIND_DECL_TAG`.
    DeclTag,
    /// `BTF_KIND_TYPE_TAG`.
    TypeTag,
    /// `BTF_KIND_ENUM64`.
    Enum64,
    /// A kind newer than this library, skipped using the BTF's layout section.
    Unknown(u8),
}

/// Every kind this library decodes, in numeric order (`Kind::ALL[k - 1]` has raw value `k`).
const KNOWN: [Kind; 19] = [
    Kind::Int,
    Kind::Ptr,
    Kind::Array,
    Kind::Struct,
    Kind::Union,
    Kind::Enum,
    Kind::Fwd,
    Kind::Typedef,
    Kind::Volatile,
    Kind::Const,
    Kind::Restrict,
    Kind::Func,
    Kind::FuncProto,
    Kind::Var,
    Kind::Datasec,
    Kind::Float,
    Kind::DeclTag,
    Kind::TypeTag,
    Kind::Enum64,
];

impl Kind {
    /// The 19 kinds defined by the kernel's `linux/btf.h`, in numeric order.
    pub const ALL: [Kind; 19] = KNOWN;

    /// The highest raw kind this library decodes.
    pub const MAX_KNOWN: u8 = 19;

    /// Maps a raw kind number (0-31) to a [`Kind`].
    pub fn from_raw(raw: u8) -> Kind {
        match raw {
            0 => Kind::Void,
            1..=19 => KNOWN[usize::from(raw) - 1],
            other => Kind::Unknown(other),
        }
    }

    /// The raw kind number.
    pub fn raw(self) -> u8 {
        match self {
            Kind::Void => 0,
            Kind::Unknown(raw) => raw,
            known => KNOWN
                .iter()
                .position(|k| *k == known)
                .map_or(0, |i| i as u8 + 1),
        }
    }

    /// The name `bpftool btf dump` prints for this kind (`"STRUCT"`, `"FUNC_PROTO"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Void => "UNKN",
            Kind::Int => "INT",
            Kind::Ptr => "PTR",
            Kind::Array => "ARRAY",
            Kind::Struct => "STRUCT",
            Kind::Union => "UNION",
            Kind::Enum => "ENUM",
            Kind::Fwd => "FWD",
            Kind::Typedef => "TYPEDEF",
            Kind::Volatile => "VOLATILE",
            Kind::Const => "CONST",
            Kind::Restrict => "RESTRICT",
            Kind::Func => "FUNC",
            Kind::FuncProto => "FUNC_PROTO",
            Kind::Var => "VAR",
            Kind::Datasec => "DATASEC",
            Kind::Float => "FLOAT",
            Kind::DeclTag => "DECL_TAG",
            Kind::TypeTag => "TYPE_TAG",
            Kind::Enum64 => "ENUM64",
            Kind::Unknown(_) => "UNKN",
        }
    }

    /// Whether `btf_type.size_type` holds a size (as opposed to a type id or nothing).
    pub(crate) fn has_size(self) -> bool {
        matches!(
            self,
            Kind::Int
                | Kind::Enum
                | Kind::Struct
                | Kind::Union
                | Kind::Datasec
                | Kind::Enum64
                | Kind::Float
        )
    }

    /// Whether `btf_type.size_type` holds a type id.
    pub(crate) fn has_type_ref(self) -> bool {
        matches!(
            self,
            Kind::Ptr
                | Kind::Typedef
                | Kind::Volatile
                | Kind::Const
                | Kind::Restrict
                | Kind::Func
                | Kind::FuncProto
                | Kind::Var
                | Kind::DeclTag
                | Kind::TypeTag
        )
    }

    /// Bytes that follow the 12-byte `btf_type` once, and bytes per `vlen` element.
    pub(crate) fn record_layout(self) -> Option<(usize, usize)> {
        Some(match self {
            Kind::Int | Kind::Var | Kind::DeclTag => (4, 0),
            Kind::Array => (12, 0),
            Kind::Struct | Kind::Union | Kind::Datasec | Kind::Enum64 => (0, 12),
            Kind::Enum | Kind::FuncProto => (0, 8),
            Kind::Ptr
            | Kind::Fwd
            | Kind::Typedef
            | Kind::Volatile
            | Kind::Const
            | Kind::Restrict
            | Kind::Func
            | Kind::Float
            | Kind::TypeTag => (0, 0),
            Kind::Void | Kind::Unknown(_) => return None,
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Unknown(raw) => write!(f, "UNKN({raw})"),
            k => f.write_str(k.name()),
        }
    }
}
