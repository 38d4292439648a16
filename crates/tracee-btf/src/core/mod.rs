//! CO-RE (compile once, run everywhere) relocation and native BTFGen.
//!
//! A BPF object records, for each instruction that touches a kernel type, a CO-RE relocation:
//! a root type in the object's own ("local") BTF, an access string such as `"0:1:2"` and a
//! kind. This module resolves those records against a target (kernel) BTF the way libbpf's
//! `relo_core.c` does, and builds the minimal BTF a set of relocations needs (`bpftool gen
//! min_core_btf`, faster and on more inputs).
//!
//! * [`spec`]: access strings parsed into typed accessor chains ([`CoreSpec`]).
//! * [`candidates`]: target types whose essential name (flavor suffix `___x` stripped) and kind
//!   match a local type, cached per local type.
//! * [`matching`]: field, type and enum compatibility, and `type_matches`.
//! * [`relocate`]: the value of each of the 13 relocation kinds, with ambiguity checks
//!   ([`Relocator`], [`relocate_all`]).
//! * [`minimize`]: BTFGen, [`min_core_btf()`].
//! * [`dump_c`]: a C header from BTF, like `bpftool btf dump file X format c`.
//!
//! ```
//! use tracee_btf::{Btf, BtfBuilder, IntEncoding, writer::MemberSpec};
//! use tracee_btf::core::{CoreRelo, CoreReloKind, relocate_all};
//!
//! // The object's view of `struct task` (one member) and the kernel's (two members).
//! let mut b = BtfBuilder::new();
//! let int = b.add_int("int", 4, IntEncoding::SIGNED, 32)?;
//! b.add_struct("task", 4, &[MemberSpec { name: "pid", type_id: int, bit_offset: 0, bitfield_size: 0 }])?;
//! let local = Btf::from_vec(b.finish()?)?;
//! let mut b = BtfBuilder::new();
//! let int = b.add_int("int", 4, IntEncoding::SIGNED, 32)?;
//! b.add_struct("task", 8, &[
//!     MemberSpec { name: "state", type_id: int, bit_offset: 0, bitfield_size: 0 },
//!     MemberSpec { name: "pid", type_id: int, bit_offset: 32, bitfield_size: 0 },
//! ])?;
//! let target = Btf::from_vec(b.finish()?)?;
//!
//! let relos = [CoreRelo::new(0, 2, "0:0", CoreReloKind::FieldByteOffset)];
//! let report = relocate_all(&local, &target, &relos);
//! let res = report.results[0].as_ref().expect("relocated");
//! assert_eq!((res.orig_val, res.new_val), (0, 4));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use crate::{Btf, Kind, Type, TypeId};

pub mod candidates;
pub mod dump_c;
pub mod matching;
pub mod minimize;
pub mod relocate;
pub mod spec;

pub use candidates::CandidateCache;

pub use minimize::{min_core_btf, BtfGen, MinimizeError, MinimizeStats, Minimized};
pub use relocate::{relocate_all, RelocResult, RelocationReport, Relocator};
pub use spec::{Accessor, CoreSpec};

/// Maximum number of accessors in an access string (libbpf's `BPF_CORE_SPEC_MAX_LEN`).
pub const CORE_SPEC_MAX_LEN: usize = 64;

/// How deep type comparisons recurse (libbpf's limit for `types_are_compat` and
/// `types_match`).
pub(crate) const MAX_LEVEL: u32 = 32;

/// The kind of a CO-RE relocation (`enum bpf_core_relo_kind`), with libbpf's numbering.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CoreReloKind {
    /// Field byte offset (`bpf_core_field_offset`, every `BPF_CORE_READ` step).
    FieldByteOffset = 0,
    /// Field size in bytes (`bpf_core_field_size`).
    FieldByteSize = 1,
    /// Field existence (`bpf_core_field_exists`).
    FieldExists = 2,
    /// Field signedness (`BPF_CORE_READ_BITFIELD`).
    FieldSigned = 3,
    /// Bitfield left shift for a u64 read.
    FieldLshiftU64 = 4,
    /// Bitfield right shift for a u64 read.
    FieldRshiftU64 = 5,
    /// Local BTF type id (`bpf_core_type_id_local`).
    TypeIdLocal = 6,
    /// Target BTF type id (`bpf_core_type_id_kernel`).
    TypeIdTarget = 7,
    /// Type existence (`bpf_core_type_exists`).
    TypeExists = 8,
    /// Type size (`bpf_core_type_size`).
    TypeSize = 9,
    /// Enumerator existence (`bpf_core_enum_value_exists`).
    EnumvalExists = 10,
    /// Enumerator value (`bpf_core_enum_value`).
    EnumvalValue = 11,
    /// Type layout match (`bpf_core_type_matches`).
    TypeMatches = 12,
}

impl CoreReloKind {
    /// All 13 kinds in numeric order.
    pub const ALL: [CoreReloKind; 13] = [
        CoreReloKind::FieldByteOffset,
        CoreReloKind::FieldByteSize,
        CoreReloKind::FieldExists,
        CoreReloKind::FieldSigned,
        CoreReloKind::FieldLshiftU64,
        CoreReloKind::FieldRshiftU64,
        CoreReloKind::TypeIdLocal,
        CoreReloKind::TypeIdTarget,
        CoreReloKind::TypeExists,
        CoreReloKind::TypeSize,
        CoreReloKind::EnumvalExists,
        CoreReloKind::EnumvalValue,
        CoreReloKind::TypeMatches,
    ];

    /// The kind with this number as stored in `.BTF.ext`, if any.
    pub fn from_raw(raw: u32) -> Option<CoreReloKind> {
        Self::ALL.get(raw as usize).copied()
    }

    /// The kind's number as stored in `.BTF.ext`.
    pub fn raw(self) -> u32 {
        self as u32
    }

    /// libbpf's short name, as in its debug log (`byte_off`, `enumval_value`, ...).
    pub fn libbpf_name(self) -> &'static str {
        use CoreReloKind::*;
        match self {
            FieldByteOffset => "byte_off",
            FieldByteSize => "byte_sz",
            FieldExists => "field_exists",
            FieldSigned => "signed",
            FieldLshiftU64 => "lshift_u64",
            FieldRshiftU64 => "rshift_u64",
            TypeIdLocal => "local_type_id",
            TypeIdTarget => "target_type_id",
            TypeExists => "type_exists",
            TypeSize => "type_size",
            EnumvalExists => "enumval_exists",
            EnumvalValue => "enumval_value",
            TypeMatches => "type_matches",
        }
    }

    /// The constant's name without its `BPF_CORE_` prefix (`FIELD_BYTE_OFFSET`,
    /// `TYPE_MATCHES`, ...), as in `enum bpf_core_relo_kind`.
    pub fn const_name(self) -> &'static str {
        use CoreReloKind::*;
        match self {
            FieldByteOffset => "FIELD_BYTE_OFFSET",
            FieldByteSize => "FIELD_BYTE_SIZE",
            FieldExists => "FIELD_EXISTS",
            FieldSigned => "FIELD_SIGNED",
            FieldLshiftU64 => "FIELD_LSHIFT_U64",
            FieldRshiftU64 => "FIELD_RSHIFT_U64",
            TypeIdLocal => "TYPE_ID_LOCAL",
            TypeIdTarget => "TYPE_ID_TARGET",
            TypeExists => "TYPE_EXISTS",
            TypeSize => "TYPE_SIZE",
            EnumvalExists => "ENUMVAL_EXISTS",
            EnumvalValue => "ENUMVAL_VALUE",
            TypeMatches => "TYPE_MATCHES",
        }
    }

    /// Field-based kinds: the access string walks members and array elements.
    pub fn is_field_based(self) -> bool {
        (self as u32) <= 5
    }

    /// Type-based kinds: the access string is `"0"`.
    pub fn is_type_based(self) -> bool {
        matches!(
            self,
            CoreReloKind::TypeIdLocal
                | CoreReloKind::TypeIdTarget
                | CoreReloKind::TypeExists
                | CoreReloKind::TypeSize
                | CoreReloKind::TypeMatches
        )
    }

    /// Enumerator-based kinds: the access string is the enumerator's index.
    pub fn is_enumval_based(self) -> bool {
        matches!(
            self,
            CoreReloKind::EnumvalExists | CoreReloKind::EnumvalValue
        )
    }
}

/// libbpf's short name ([`CoreReloKind::libbpf_name`]), as its log prints it.
impl fmt::Display for CoreReloKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.libbpf_name())
    }
}

/// One CO-RE relocation record, independent of the object format: what a relocator needs.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CoreRelo {
    /// Byte offset of the relocated instruction in its section (only for reporting).
    pub insn_off: u32,
    /// Root type in the local (object) BTF.
    pub local_type_id: TypeId,
    /// The access string, e.g. `"0:1:2"`.
    pub access: String,
    /// Relocation kind.
    pub kind: CoreReloKind,
}

impl CoreRelo {
    /// A relocation record.
    pub fn new(
        insn_off: u32,
        local_type_id: TypeId,
        access: impl Into<String>,
        kind: CoreReloKind,
    ) -> CoreRelo {
        CoreRelo {
            insn_off,
            local_type_id,
            access: access.into(),
            kind,
        }
    }
}

/// Why a relocation could not be computed (the instruction cannot be patched).
///
/// A relocation whose field, type or enumerator is simply absent in the target is not an
/// error: it yields a [`RelocResult`] with `poison` set (or 0 for existence checks).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// The access string is malformed or does not fit the local type.
    #[error("relocation at insn offset {insn_off}: bad access string {access:?} on local type {type_id}: {reason}")]
    BadSpec {
        /// Instruction byte offset.
        insn_off: u32,
        /// Local root type.
        type_id: TypeId,
        /// The access string.
        access: String,
        /// What is wrong.
        reason: String,
    },
    /// A type the relocation refers to is missing or malformed (in the named BTF).
    #[error("relocation at insn offset {insn_off}: {which} BTF: {reason}")]
    BadBtf {
        /// Instruction byte offset.
        insn_off: u32,
        /// `"local"` or `"target"`.
        which: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Candidate search is impossible for anonymous local types (libbpf refuses them too).
    #[error("relocation at insn offset {insn_off}: <{kind}> on anonymous local type {type_id}: candidates are found by name")]
    AnonymousType {
        /// Instruction byte offset.
        insn_off: u32,
        /// Local root type.
        type_id: TypeId,
        /// Relocation kind.
        kind: CoreReloKind,
    },
    /// Matching candidates resolve to different field offsets.
    #[error("relocation at insn offset {insn_off} ({spec}): field offset ambiguity: candidate [{first}] gives bit {first_bits}, candidate [{other}] bit {other_bits}")]
    OffsetAmbiguity {
        /// Instruction byte offset.
        insn_off: u32,
        /// The local spec, libbpf-style.
        spec: String,
        /// First matching target type.
        first: TypeId,
        /// Its bit offset.
        first_bits: u64,
        /// The disagreeing target type.
        other: TypeId,
        /// Its bit offset.
        other_bits: u64,
    },
    /// Matching candidates give different relocated values.
    #[error("relocation at insn offset {insn_off} ({spec}): relocation decision ambiguity: candidate [{first}] gives {first_val:?}, candidate [{other}] gives {other_val:?} (None: poisoned)")]
    ValueAmbiguity {
        /// Instruction byte offset.
        insn_off: u32,
        /// The local spec, libbpf-style.
        spec: String,
        /// First matching target type.
        first: TypeId,
        /// Its value (`None`: the instruction would be poisoned).
        first_val: Option<u64>,
        /// The disagreeing target type.
        other: TypeId,
        /// Its value.
        other_val: Option<u64>,
    },
    /// The relocation cannot be expressed (a bitfield wider than a u64 read, a shift on an
    /// array element, a recursion limit).
    #[error("relocation at insn offset {insn_off}: {reason}")]
    Unsatisfiable {
        /// Instruction byte offset.
        insn_off: u32,
        /// Why.
        reason: String,
    },
}

/// Length of `name` without its flavor suffix: `task_struct___old` → 11. A flavor separator
/// is `___` between a non-underscore and a non-underscore, the last one counts (libbpf's
/// `bpf_core_essential_name_len`).
///
/// ```
/// use tracee_btf::core::essential_name;
/// assert_eq!(essential_name("task_struct___v5_10"), "task_struct");
/// assert_eq!(essential_name("a___b___c"), "a___b");
/// assert_eq!(essential_name("____x"), "____x");
/// ```
pub fn essential_name(name: &str) -> &str {
    // The cut is just before an ASCII `_`, so always on a char boundary.
    &name[..essential_bytes(name.as_bytes()).len()]
}

/// [`essential_name`] on raw bytes (the candidate scan reads names without UTF-8 checks).
pub(crate) fn essential_bytes(b: &[u8]) -> &[u8] {
    let n = b.len();
    if n >= 5 {
        for i in (0..=n - 5).rev() {
            if b[i] != b'_'
                && b[i + 1] == b'_'
                && b[i + 2] == b'_'
                && b[i + 3] == b'_'
                && b[i + 4] != b'_'
            {
                return &b[..i + 1];
            }
        }
    }
    b
}

/// The u32 at byte `off` of a raw type record, in the BTF's byte order (`big`); 0 past the
/// record's end. Hot matching loops read member records this way instead of decoding them.
#[inline]
pub(crate) fn record_u32(rec: &[u8], off: usize, big: bool) -> u32 {
    let b: [u8; 4] = rec
        .get(off..off + 4)
        .and_then(|s| s.try_into().ok())
        .unwrap_or([0; 4]);
    if big {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

/// libbpf's `btf_kind_core_compat`: same kind, or both enums (ENUM and ENUM64 mix).
pub(crate) fn kind_core_compat(a: Kind, b: Kind) -> bool {
    a == b || (is_any_enum(a) && is_any_enum(b))
}

pub(crate) fn is_any_enum(k: Kind) -> bool {
    matches!(k, Kind::Enum | Kind::Enum64)
}

pub(crate) fn is_composite(k: Kind) -> bool {
    matches!(k, Kind::Struct | Kind::Union)
}

/// Follows typedefs and modifiers, returning the id and type reached.
pub(crate) fn skip_mods(btf: &Btf, id: TypeId) -> Result<(TypeId, Type<'_>), crate::BtfError> {
    let id = btf.skip_mods_and_typedefs(id)?;
    Ok((id, btf.type_by_id(id)?))
}

/// Pointer size of the machine `btf` describes: the size of the first `long` INT, found by a
/// linear scan that stops there (kernel BTF lists it among the first types), 8 when absent.
/// Unlike [`Btf::ptr_size`] it does not build the name index.
pub(crate) fn ptr_size_scan(btf: &Btf) -> u32 {
    let mut chain = vec![btf];
    while let Some(b) = chain.last().and_then(|b| b.base()) {
        chain.push(b);
    }
    for b in chain.into_iter().rev() {
        for t in b.types() {
            if let Type::Int(i) = t {
                if matches!(
                    t.name(),
                    "long int" | "long unsigned int" | "long" | "unsigned long"
                ) && (i.size() == 4 || i.size() == 8)
                {
                    return i.size();
                }
            }
        }
    }
    8
}

/// `sizeof` of a type with a known pointer size (see [`Btf::size_of`]).
pub(crate) fn size_of(btf: &Btf, id: TypeId, ptr_size: u32) -> Result<u64, crate::BtfError> {
    btf.size_of_with(id, || ptr_size)
}

/// Runs the relocator, the minimizer and the C dumper on a BTF pair packed into `data`
/// (`[split: u16 LE][local BTF][target BTF]`) — the body of the `btf_relocate` fuzz target,
/// shared with the test that replays its corpus. Malformed input must only produce errors.
#[doc(hidden)]
pub fn fuzz_relocate(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let rest = &data[2..];
    let split = usize::from(u16::from_le_bytes([data[0], data[1]])).min(rest.len());
    let (a, b) = rest.split_at(split);
    let (Ok(local), Ok(target)) = (Btf::from_slice(a), Btf::from_slice(b)) else {
        return;
    };
    const ACCESSES: [&str; 5] = ["0", "0:0", "0:1", "0:0:0", "1"];
    let mut relos = Vec::new();
    for id in 1..=local.last_id().min(24) {
        for kind in CoreReloKind::ALL {
            for a in ACCESSES {
                relos.push(CoreRelo::new(relos.len() as u32 * 8, id, a, kind));
            }
        }
    }
    let _ = relocate_all(&local, &target, &relos);
    if let Ok(min) = min_core_btf(&target, &local, &relos) {
        if let Ok(m) = Btf::from_vec(min.btf) {
            let _ = relocate_all(&local, &m, &relos);
        }
    }
    let _ = dump_c::dump_c(&target, None);
}
