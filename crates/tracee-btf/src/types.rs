//! Typed views of BTF records. Each view borrows its [`Btf`] and decodes fields when asked.

use std::fmt;

use bitflags::bitflags;

use crate::index::field;
use crate::{Btf, Kind, TypeId};

/// The common `struct btf_type` prefix of a record, read once when the view is made.
#[derive(Clone, Copy)]
pub(crate) struct Raw<'a> {
    btf: &'a Btf,
    id: TypeId,
    /// Absolute offset of the record.
    off: usize,
    name_off: u32,
    info: u32,
    size_type: u32,
}

impl<'a> Raw<'a> {
    /// Reads the record at `off`, which the index pass has checked.
    pub(crate) fn read(btf: &'a Btf, id: TypeId, off: usize) -> Raw<'a> {
        let (data, e) = (btf.data(), btf.endian());
        Raw {
            btf,
            id,
            off,
            name_off: field(data, off, e),
            info: field(data, off + 4, e),
            size_type: field(data, off + 8, e),
        }
    }

    fn kind(&self) -> Kind {
        Kind::from_raw(((self.info >> 24) & 0x1f) as u8)
    }

    fn vlen(&self) -> u16 {
        (self.info & 0xffff) as u16
    }

    fn kind_flag(&self) -> bool {
        self.info >> 31 == 1
    }

    /// The u32 at `rel` bytes into the record body (after the 12-byte prefix).
    fn body(&self, rel: usize) -> u32 {
        field(self.btf.data(), self.off + 12 + rel, self.btf.endian())
    }

    fn name(&self) -> &'a str {
        self.btf.name_at(self.name_off)
    }
}

impl fmt::Debug for Raw<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {} '{}'", self.id, self.kind(), self.name())
    }
}

macro_rules! view {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name<'a> {
            raw: Raw<'a>,
        }

        impl<'a> $name<'a> {
            /// The type's id.
            pub fn id(&self) -> TypeId {
                self.raw.id
            }

            /// The type's name (`""` when anonymous).
            pub fn name(&self) -> &'a str {
                self.raw.name()
            }
        }

        impl fmt::Debug for $name<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.raw.fmt(f)
            }
        }
    };
}

view!(
    /// A type that only refers to another: pointer, typedef, `const`, `volatile`, `restrict`
    /// or type tag.
    RefType
);
view!(
    /// An integer type.
    Int
);
view!(
    /// An array type.
    Array
);
view!(
    /// A struct or union.
    Composite
);
view!(
    /// An enum, 32-bit (`ENUM`) or 64-bit (`ENUM64`).
    Enum
);
view!(
    /// A forward declaration of a struct or union.
    Fwd
);
view!(
    /// A function (its signature is a [`FuncProto`]).
    Func
);
view!(
    /// A function signature.
    FuncProto
);
view!(
    /// A variable.
    Var
);
view!(
    /// A data section (`.data`, `.bss`, `.maps`, ...) and the variables in it.
    Datasec
);
view!(
    /// A floating point type.
    Float
);
view!(
    /// A declaration tag (`__attribute__((btf_decl_tag("...")))`).
    DeclTag
);
view!(
    /// A record of a kind newer than this library, skipped by its layout entry.
    UnknownType
);

/// One decoded BTF type.
///
/// ```
/// # use tracee_btf::{BtfBuilder, Btf, IntEncoding, Type};
/// # let mut b = BtfBuilder::new();
/// # let int = b.add_int("int", 4, IntEncoding::SIGNED, 32)?;
/// # let btf = Btf::from_vec(b.finish()?)?;
/// match btf.type_by_id(1)? {
///     Type::Int(i) => assert_eq!((i.name(), i.size(), i.bits()), ("int", 4, 32)),
///     other => panic!("unexpected {other:?}"),
/// }
/// # Ok::<(), tracee_btf::BtfError>(())
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Type<'a> {
    /// Type id 0.
    Void,
    /// `INT`.
    Int(Int<'a>),
    /// `PTR`.
    Ptr(RefType<'a>),
    /// `ARRAY`.
    Array(Array<'a>),
    /// `STRUCT`.
    Struct(Composite<'a>),
    /// `UNION`.
    Union(Composite<'a>),
    /// `ENUM`.
    Enum(Enum<'a>),
    /// `FWD`.
    Fwd(Fwd<'a>),
    /// `TYPEDEF`.
    Typedef(RefType<'a>),
    /// `VOLATILE`.
    Volatile(RefType<'a>),
    /// `CONST`.
    Const(RefType<'a>),
    /// `RESTRICT`.
    Restrict(RefType<'a>),
    /// `FUNC`.
    Func(Func<'a>),
    /// `FUNC_PROTO`.
    FuncProto(FuncProto<'a>),
    /// `VAR`.
    Var(Var<'a>),
    /// `DATASEC`.
    Datasec(Datasec<'a>),
    /// `FLOAT`.
    Float(Float<'a>),
    /// `DECL_TAG`.
    DeclTag(DeclTag<'a>),
    /// `TYPE_TAG`.
    TypeTag(RefType<'a>),
    /// `ENUM64`.
    Enum64(Enum<'a>),
    /// A kind this library does not know.
    Unknown(UnknownType<'a>),
}

impl<'a> Type<'a> {
    pub(crate) fn decode(raw: Raw<'a>) -> Type<'a> {
        match raw.kind() {
            Kind::Void => Type::Void,
            Kind::Int => Type::Int(Int { raw }),
            Kind::Ptr => Type::Ptr(RefType { raw }),
            Kind::Array => Type::Array(Array { raw }),
            Kind::Struct => Type::Struct(Composite { raw }),
            Kind::Union => Type::Union(Composite { raw }),
            Kind::Enum => Type::Enum(Enum { raw }),
            Kind::Fwd => Type::Fwd(Fwd { raw }),
            Kind::Typedef => Type::Typedef(RefType { raw }),
            Kind::Volatile => Type::Volatile(RefType { raw }),
            Kind::Const => Type::Const(RefType { raw }),
            Kind::Restrict => Type::Restrict(RefType { raw }),
            Kind::Func => Type::Func(Func { raw }),
            Kind::FuncProto => Type::FuncProto(FuncProto { raw }),
            Kind::Var => Type::Var(Var { raw }),
            Kind::Datasec => Type::Datasec(Datasec { raw }),
            Kind::Float => Type::Float(Float { raw }),
            Kind::DeclTag => Type::DeclTag(DeclTag { raw }),
            Kind::TypeTag => Type::TypeTag(RefType { raw }),
            Kind::Enum64 => Type::Enum64(Enum { raw }),
            Kind::Unknown(_) => Type::Unknown(UnknownType { raw }),
        }
    }

    fn raw(&self) -> Option<&Raw<'a>> {
        Some(match self {
            Type::Void => return None,
            Type::Int(v) => &v.raw,
            Type::Ptr(v)
            | Type::Typedef(v)
            | Type::Volatile(v)
            | Type::Const(v)
            | Type::Restrict(v)
            | Type::TypeTag(v) => &v.raw,
            Type::Array(v) => &v.raw,
            Type::Struct(v) | Type::Union(v) => &v.raw,
            Type::Enum(v) | Type::Enum64(v) => &v.raw,
            Type::Fwd(v) => &v.raw,
            Type::Func(v) => &v.raw,
            Type::FuncProto(v) => &v.raw,
            Type::Var(v) => &v.raw,
            Type::Datasec(v) => &v.raw,
            Type::Float(v) => &v.raw,
            Type::DeclTag(v) => &v.raw,
            Type::Unknown(v) => &v.raw,
        })
    }

    /// The type's id (0 for void).
    pub fn id(&self) -> TypeId {
        self.raw().map_or(0, |r| r.id)
    }

    /// The type's kind.
    pub fn kind(&self) -> Kind {
        self.raw().map_or(Kind::Void, Raw::kind)
    }

    /// The type's name (`""` for anonymous types and void).
    pub fn name(&self) -> &'a str {
        self.raw().map_or("", Raw::name)
    }

    /// Offset of the name in the string section (0 when anonymous).
    pub fn name_off(&self) -> u32 {
        self.raw().map_or(0, |r| r.name_off)
    }

    /// The record's `vlen`: members, values, parameters or variables.
    pub fn vlen(&self) -> u16 {
        self.raw().map_or(0, Raw::vlen)
    }

    /// The record's `kind_flag` bit.
    pub fn kind_flag(&self) -> bool {
        self.raw().is_some_and(Raw::kind_flag)
    }

    /// The raw `info` word (`kind_flag << 31 | kind << 24 | vlen`).
    pub fn info(&self) -> u32 {
        self.raw().map_or(0, |r| r.info)
    }

    /// The size field of kinds that have one (INT, ENUM, ENUM64, STRUCT, UNION, DATASEC, FLOAT).
    pub fn size(&self) -> Option<u32> {
        let raw = self.raw()?;
        raw.kind().has_size().then_some(raw.size_type)
    }

    /// The referenced type of kinds that have one (PTR, TYPEDEF, modifiers, FUNC,
    /// FUNC_PROTO's return type, VAR, DECL_TAG, TYPE_TAG).
    pub fn ref_type(&self) -> Option<TypeId> {
        let raw = self.raw()?;
        raw.kind().has_type_ref().then_some(raw.size_type)
    }

    /// The raw `size_type` word of the record.
    pub fn size_type(&self) -> u32 {
        self.raw().map_or(0, |r| r.size_type)
    }

    /// The record's bytes, prefix included.
    pub fn record_bytes(&self) -> &'a [u8] {
        let Some(raw) = self.raw() else {
            return &[];
        };
        let btf = raw.btf;
        let pos = (raw.id - btf.first_id()) as usize;
        let offsets = btf.own_offsets();
        let end = offsets.get(pos + 1).map_or(
            btf.header().hdr_len as usize
                + (btf.header().type_off + btf.header().type_len) as usize,
            |&o| o as usize,
        );
        &btf.data()[raw.off..end]
    }
}

impl RefType<'_> {
    /// The type referred to.
    pub fn type_id(&self) -> TypeId {
        self.raw.size_type
    }
}

bitflags! {
    /// `BTF_INT_ENCODING` bits of an [`Int`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct IntEncoding: u8 {
        /// Signed.
        const SIGNED = 1 << 0;
        /// A `char` (for pretty printing).
        const CHAR = 1 << 1;
        /// A `bool`.
        const BOOL = 1 << 2;
    }
}

impl Int<'_> {
    /// Size in bytes.
    pub fn size(&self) -> u32 {
        self.raw.size_type
    }

    /// Encoding bits.
    pub fn encoding(&self) -> IntEncoding {
        IntEncoding::from_bits_retain(((self.raw.body(0) >> 24) & 0x0f) as u8)
    }

    /// Bit offset of the value within its storage (legacy bitfield encoding).
    pub fn bit_offset(&self) -> u32 {
        (self.raw.body(0) >> 16) & 0xff
    }

    /// Number of value bits.
    pub fn bits(&self) -> u32 {
        self.raw.body(0) & 0xff
    }

    /// The raw data word following the record prefix.
    pub fn data(&self) -> u32 {
        self.raw.body(0)
    }
}

impl Array<'_> {
    /// Element type.
    pub fn elem_type(&self) -> TypeId {
        self.raw.body(0)
    }

    /// Index type.
    pub fn index_type(&self) -> TypeId {
        self.raw.body(4)
    }

    /// Number of elements.
    pub fn nelems(&self) -> u32 {
        self.raw.body(8)
    }
}

/// One member of a struct or union.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member<'a> {
    /// Name (`""` for anonymous members).
    pub name: &'a str,
    /// Offset of the name in the string section.
    pub name_off: u32,
    /// Member type.
    pub type_id: TypeId,
    /// Offset from the start of the struct, in bits.
    pub bit_offset: u32,
    /// Width of a bitfield in bits, 0 for a plain member. Read from the member's offset word
    /// when the struct has `kind_flag`; otherwise from the member's underlying integer type
    /// (the legacy encoding), whose own bit offset is then added to `bit_offset`.
    pub bitfield_size: u32,
    /// The member's raw offset word as stored.
    pub raw_offset: u32,
}

impl<'a> Composite<'a> {
    /// Size in bytes.
    pub fn size(&self) -> u32 {
        self.raw.size_type
    }

    /// Whether this is a union.
    pub fn is_union(&self) -> bool {
        self.raw.kind() == Kind::Union
    }

    /// Number of members.
    pub fn vlen(&self) -> u16 {
        self.raw.vlen()
    }

    /// Whether member offsets use the bitfield encoding (`kind_flag`).
    pub fn kind_flag(&self) -> bool {
        self.raw.kind_flag()
    }

    /// Member `i`, if there is one.
    pub fn member(&self, i: usize) -> Option<Member<'a>> {
        (i < usize::from(self.raw.vlen())).then(|| self.decode_member(i))
    }

    /// The members in declaration order.
    pub fn members(&self) -> Members<'a> {
        Members {
            comp: *self,
            i: 0,
            n: usize::from(self.raw.vlen()),
        }
    }

    fn decode_member(&self, i: usize) -> Member<'a> {
        let rel = i * 12;
        let name_off = self.raw.body(rel);
        let type_id = self.raw.body(rel + 4);
        let raw_offset = self.raw.body(rel + 8);
        let btf = self.raw.btf;
        let (bit_offset, bitfield_size) = if self.raw.kind_flag() {
            (raw_offset & 0x00ff_ffff, raw_offset >> 24)
        } else {
            legacy_bitfield(btf, type_id, raw_offset)
        };
        Member {
            name: btf.name_at(name_off),
            name_off,
            type_id,
            bit_offset,
            bitfield_size,
            raw_offset,
        }
    }
}

/// In the legacy encoding a bitfield's width is the `bits` of its underlying INT.
fn legacy_bitfield(btf: &Btf, type_id: TypeId, offset: u32) -> (u32, u32) {
    let Ok(id) = btf.skip_mods_and_typedefs(type_id) else {
        return (offset, 0);
    };
    match btf.type_by_id(id) {
        Ok(Type::Int(int))
            if u64::from(int.bits()) != u64::from(int.size()) * 8 || int.bit_offset() != 0 =>
        {
            (offset.saturating_add(int.bit_offset()), int.bits())
        }
        _ => (offset, 0),
    }
}

/// Iterator over a struct's or union's members.
#[derive(Clone)]
pub struct Members<'a> {
    comp: Composite<'a>,
    i: usize,
    n: usize,
}

impl<'a> Iterator for Members<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        if self.i >= self.n {
            return None;
        }
        let m = self.comp.decode_member(self.i);
        self.i += 1;
        Some(m)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.n - self.i;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Members<'_> {}

/// One enumerator of an [`Enum`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnumValue<'a> {
    /// Name.
    pub name: &'a str,
    /// Offset of the name in the string section.
    pub name_off: u32,
    /// Value, sign-extended when the enum is signed (reinterpret with `as u64` otherwise).
    pub value: i64,
}

impl<'a> Enum<'a> {
    /// Size in bytes.
    pub fn size(&self) -> u32 {
        self.raw.size_type
    }

    /// Whether the values are signed (`kind_flag`).
    pub fn is_signed(&self) -> bool {
        self.raw.kind_flag()
    }

    /// Whether this is an `ENUM64`.
    pub fn is_64(&self) -> bool {
        self.raw.kind() == Kind::Enum64
    }

    /// Number of enumerators.
    pub fn vlen(&self) -> u16 {
        self.raw.vlen()
    }

    /// The enumerators in order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = EnumValue<'a>> + Clone + 'a {
        let this = *self;
        (0..usize::from(self.raw.vlen())).map(move |i| this.value_at(i))
    }

    fn value_at(&self, i: usize) -> EnumValue<'a> {
        let (stride, is64) = if self.is_64() { (12, true) } else { (8, false) };
        let rel = i * stride;
        let name_off = self.raw.body(rel);
        let lo = self.raw.body(rel + 4);
        let value = if is64 {
            let hi = self.raw.body(rel + 8);
            ((u64::from(hi) << 32) | u64::from(lo)) as i64
        } else if self.is_signed() {
            i64::from(lo as i32)
        } else {
            i64::from(lo)
        };
        EnumValue {
            name: self.raw.btf.name_at(name_off),
            name_off,
            value,
        }
    }
}

impl Fwd<'_> {
    /// Whether this declares a union (`kind_flag`) rather than a struct.
    pub fn is_union(&self) -> bool {
        self.raw.kind_flag()
    }
}

impl Func<'_> {
    /// The [`FuncProto`] type.
    pub fn proto_type(&self) -> TypeId {
        self.raw.size_type
    }

    /// Linkage: 0 static, 1 global, 2 extern.
    pub fn linkage(&self) -> u16 {
        self.raw.vlen()
    }
}

/// One parameter of a [`FuncProto`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// Name (`""` when unnamed).
    pub name: &'a str,
    /// Offset of the name in the string section.
    pub name_off: u32,
    /// Parameter type (0 with an empty name marks `...`).
    pub type_id: TypeId,
}

impl<'a> FuncProto<'a> {
    /// Return type (0 for void).
    pub fn return_type(&self) -> TypeId {
        self.raw.size_type
    }

    /// The parameters in order.
    pub fn params(&self) -> impl ExactSizeIterator<Item = Param<'a>> + Clone + 'a {
        let raw = self.raw;
        (0..usize::from(raw.vlen())).map(move |i| {
            let name_off = raw.body(i * 8);
            Param {
                name: raw.btf.name_at(name_off),
                name_off,
                type_id: raw.body(i * 8 + 4),
            }
        })
    }
}

impl Var<'_> {
    /// The variable's type.
    pub fn type_id(&self) -> TypeId {
        self.raw.size_type
    }

    /// Linkage: 0 static, 1 global, 2 extern.
    pub fn linkage(&self) -> u32 {
        self.raw.body(0)
    }
}

/// One variable of a [`Datasec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarSecinfo {
    /// The `VAR` (or `FUNC` for extern functions) type.
    pub type_id: TypeId,
    /// Offset within the section.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
}

impl<'a> Datasec<'a> {
    /// Size of the section in bytes.
    pub fn size(&self) -> u32 {
        self.raw.size_type
    }

    /// The variables in the section.
    pub fn vars(&self) -> impl ExactSizeIterator<Item = VarSecinfo> + Clone + 'a {
        let raw = self.raw;
        (0..usize::from(raw.vlen())).map(move |i| VarSecinfo {
            type_id: raw.body(i * 12),
            offset: raw.body(i * 12 + 4),
            size: raw.body(i * 12 + 8),
        })
    }
}

impl Float<'_> {
    /// Size in bytes.
    pub fn size(&self) -> u32 {
        self.raw.size_type
    }
}

impl DeclTag<'_> {
    /// The tagged type.
    pub fn type_id(&self) -> TypeId {
        self.raw.size_type
    }

    /// The tagged member or parameter, or -1 for the type itself.
    pub fn component_idx(&self) -> i32 {
        self.raw.body(0) as i32
    }

    /// Whether this is an attribute tag (`kind_flag`), printed as `__attribute__((...))`.
    pub fn is_attr(&self) -> bool {
        self.raw.kind_flag()
    }
}

impl UnknownType<'_> {
    /// The raw kind number.
    pub fn raw_kind(&self) -> u8 {
        ((self.raw.info >> 24) & 0x1f) as u8
    }
}
