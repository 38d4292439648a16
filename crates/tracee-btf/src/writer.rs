//! [`BtfBuilder`]: writes BTF, from scratch or by re-encoding types read from another [`Btf`].
//!
//! Strings are deduplicated. A builder started with [`BtfBuilder::from_btf`] begins with the
//! source's string table unchanged and re-encodes every type field by field, so writing back an
//! unmodified kernel BTF reproduces it byte for byte; BTFGen then adds types from other BTFs
//! with [`BtfBuilder::add_type`].

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use crate::error::BtfError;
use crate::header::{Endian, KindLayout, HEADER_LEN_LAYOUT, HEADER_LEN_V1, MAGIC};
use crate::types::{Member, Type};
use crate::{Btf, IntEncoding, Kind, TypeId, VarSecinfo};

/// A deduplicating string section.
struct StringTable {
    bytes: Vec<u8>,
    /// Offsets (into `bytes`) of every distinct string, keyed by the string's hash.
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl StringTable {
    /// A table starting with `seed`; a base BTF's table always starts with the empty string,
    /// a split BTF's may be empty (its offset 0 is the base's empty string).
    fn new(seed: &[u8], split: bool) -> StringTable {
        let mut t = StringTable {
            bytes: Vec::with_capacity(seed.len().max(1)),
            index: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
        };
        if seed.is_empty() {
            if !split {
                t.bytes.push(0);
                t.remember(0);
            }
            return t;
        }
        t.bytes.extend_from_slice(seed);
        let mut off = 0;
        while off < seed.len() {
            let len = seed[off..]
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(seed.len() - off);
            t.remember(off as u32);
            off += len + 1;
        }
        t
    }

    fn at(bytes: &[u8], off: u32) -> &[u8] {
        let rest = &bytes[off as usize..];
        &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())]
    }

    /// Indexes the string at `off` unless an equal one is already known (first one wins).
    fn remember(&mut self, off: u32) {
        let s = Self::at(&self.bytes, off);
        let hash = self.hasher.hash_one(s);
        let bytes = &self.bytes;
        if self
            .index
            .find(hash, |&o| Self::at(bytes, o) == s)
            .is_none()
        {
            let hasher = &self.hasher;
            self.index
                .insert_unique(hash, off, |&o| hasher.hash_one(Self::at(bytes, o)));
        }
    }

    fn intern(&mut self, s: &str) -> Result<u32, BtfError> {
        if s.as_bytes().contains(&0) {
            return Err(BtfError::Encode {
                reason: format!("string {s:?} contains NUL"),
            });
        }
        let hash = self.hasher.hash_one(s.as_bytes());
        let bytes = &self.bytes;
        if let Some(&off) = self
            .index
            .find(hash, |&o| Self::at(bytes, o) == s.as_bytes())
        {
            return Ok(off);
        }
        let off = u32::try_from(self.bytes.len()).map_err(|_| BtfError::Encode {
            reason: "string section exceeds 4 GiB".into(),
        })?;
        self.bytes.extend_from_slice(s.as_bytes());
        self.bytes.push(0);
        let hasher = &self.hasher;
        let bytes = &self.bytes;
        self.index
            .insert_unique(hash, off, |&o| hasher.hash_one(Self::at(bytes, o)));
        Ok(off)
    }
}

/// A struct or union member to add with [`BtfBuilder::add_struct`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberSpec<'s> {
    /// Name, `""` for anonymous members.
    pub name: &'s str,
    /// Member type.
    pub type_id: TypeId,
    /// Offset from the start of the struct, in bits.
    pub bit_offset: u32,
    /// Bitfield width, 0 for a plain member (needs a `kind_flag` struct, set automatically).
    pub bitfield_size: u32,
}

/// Writes BTF.
///
/// ```
/// use tracee_btf::{Btf, BtfBuilder, IntEncoding, Kind, Type};
/// use tracee_btf::writer::MemberSpec;
///
/// let mut b = BtfBuilder::new();
/// let int = b.add_int("int", 4, IntEncoding::SIGNED, 32)?;
/// let s = b.add_struct("point", 8, &[
///     MemberSpec { name: "x", type_id: int, bit_offset: 0, bitfield_size: 0 },
///     MemberSpec { name: "y", type_id: int, bit_offset: 32, bitfield_size: 0 },
/// ])?;
/// let btf = Btf::from_vec(b.finish()?)?;
/// assert_eq!(btf.member_offset_bits(s, "y")?, Some(32));
/// # Ok::<(), tracee_btf::BtfError>(())
/// ```
pub struct BtfBuilder {
    types: Vec<u8>,
    count: u32,
    strings: StringTable,
    endian: Endian,
    first_id: TypeId,
    str_base: u32,
    layout: bool,
}

impl Default for BtfBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BtfBuilder {
    /// An empty little-endian BTF.
    pub fn new() -> BtfBuilder {
        BtfBuilder {
            types: Vec::new(),
            count: 0,
            strings: StringTable::new(&[], false),
            endian: Endian::Little,
            first_id: 1,
            str_base: 0,
            layout: false,
        }
    }

    /// An empty split BTF on top of `base`: ids start after the base's last id, string offsets
    /// after the base's strings.
    pub fn new_split(base: &Btf) -> BtfBuilder {
        BtfBuilder {
            types: Vec::new(),
            count: 0,
            strings: StringTable::new(&[], true),
            endian: base.endian(),
            first_id: base.last_id() + 1,
            str_base: base.str_total(),
            layout: false,
        }
    }

    /// A builder holding all of `btf`'s own types, in its byte order and with its string table.
    /// Finishing it unchanged reproduces `btf`'s bytes when its header has no padding.
    pub fn from_btf(btf: &Btf) -> Result<BtfBuilder, BtfError> {
        let mut b = BtfBuilder {
            types: Vec::with_capacity(btf.header().type_len as usize),
            count: 0,
            strings: StringTable::new(btf.raw_strings(), btf.base().is_some()),
            endian: btf.endian(),
            first_id: btf.first_id(),
            str_base: btf.base().map_or(0, |base| base.str_total()),
            layout: !btf.kind_layouts().is_empty(),
        };
        for t in btf.types() {
            b.add_type(&t, Ok)?;
        }
        Ok(b)
    }

    /// Whether to write the kind layout section (a 32-byte header), so readers older than a
    /// future kind can still step over it.
    pub fn with_layout(mut self, on: bool) -> BtfBuilder {
        self.layout = on;
        self
    }

    /// Whether to write big-endian BTF (for a big-endian target such as s390x). Only for an
    /// empty builder: types already added stay in the byte order they were written in.
    pub fn with_big_endian(mut self, big: bool) -> BtfBuilder {
        debug_assert!(
            self.types.is_empty(),
            "byte order changed after adding types"
        );
        self.endian = if big { Endian::Big } else { Endian::Little };
        self
    }

    /// Number of types added so far.
    pub fn type_count(&self) -> u32 {
        self.count
    }

    /// The id the next added type will get.
    pub fn next_id(&self) -> TypeId {
        self.first_id + self.count
    }

    /// Adds (or finds) a string, returning its offset.
    pub fn add_string(&mut self, s: &str) -> Result<u32, BtfError> {
        if s.is_empty() && self.str_base > 0 {
            return Ok(0);
        }
        Ok(self.str_base + self.strings.intern(s)?)
    }

    fn u32(&mut self, v: u32) {
        let b = match self.endian {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        };
        self.types.extend_from_slice(&b);
    }

    fn prefix(
        &mut self,
        name: &str,
        kind: Kind,
        vlen: usize,
        kflag: bool,
        size_type: u32,
    ) -> Result<TypeId, BtfError> {
        let vlen = u16::try_from(vlen).map_err(|_| BtfError::Encode {
            reason: format!("{kind} '{name}' has {vlen} elements, BTF allows 65535"),
        })?;
        let name_off = self.add_string(name)?;
        let info = (u32::from(kflag) << 31) | (u32::from(kind.raw()) << 24) | u32::from(vlen);
        self.prefix_raw(name_off, info, size_type)
    }

    fn prefix_raw(&mut self, name_off: u32, info: u32, size_type: u32) -> Result<TypeId, BtfError> {
        let id = self.next_id();
        if id == u32::MAX {
            return Err(BtfError::Encode {
                reason: "type id space exhausted".into(),
            });
        }
        self.u32(name_off);
        self.u32(info);
        self.u32(size_type);
        self.count += 1;
        Ok(id)
    }

    /// Adds an `INT`.
    pub fn add_int(
        &mut self,
        name: &str,
        size: u32,
        encoding: IntEncoding,
        bits: u32,
    ) -> Result<TypeId, BtfError> {
        if bits > 128 || bits > size * 8 {
            return Err(BtfError::Encode {
                reason: format!("INT '{name}' of {size} bytes cannot hold {bits} bits"),
            });
        }
        let id = self.prefix(name, Kind::Int, 0, false, size)?;
        self.u32((u32::from(encoding.bits()) << 24) | bits);
        Ok(id)
    }

    fn add_ref(&mut self, kind: Kind, name: &str, target: TypeId) -> Result<TypeId, BtfError> {
        self.prefix(name, kind, 0, false, target)
    }

    /// Adds a `PTR` to `target`.
    pub fn add_ptr(&mut self, target: TypeId) -> Result<TypeId, BtfError> {
        self.add_ref(Kind::Ptr, "", target)
    }

    /// Adds a `TYPEDEF`.
    pub fn add_typedef(&mut self, name: &str, target: TypeId) -> Result<TypeId, BtfError> {
        self.add_ref(Kind::Typedef, name, target)
    }

    /// Adds a `CONST`.
    pub fn add_const(&mut self, target: TypeId) -> Result<TypeId, BtfError> {
        self.add_ref(Kind::Const, "", target)
    }

    /// Adds a `VOLATILE`.
    pub fn add_volatile(&mut self, target: TypeId) -> Result<TypeId, BtfError> {
        self.add_ref(Kind::Volatile, "", target)
    }

    /// Adds a `RESTRICT`.
    pub fn add_restrict(&mut self, target: TypeId) -> Result<TypeId, BtfError> {
        self.add_ref(Kind::Restrict, "", target)
    }

    /// Adds a `TYPE_TAG`.
    pub fn add_type_tag(&mut self, tag: &str, target: TypeId) -> Result<TypeId, BtfError> {
        self.add_ref(Kind::TypeTag, tag, target)
    }

    /// Adds an `ARRAY`.
    pub fn add_array(
        &mut self,
        elem: TypeId,
        index: TypeId,
        nelems: u32,
    ) -> Result<TypeId, BtfError> {
        let id = self.prefix("", Kind::Array, 0, false, 0)?;
        self.u32(elem);
        self.u32(index);
        self.u32(nelems);
        Ok(id)
    }

    /// Adds a `STRUCT`; bitfield members switch it to the `kind_flag` encoding.
    pub fn add_struct(
        &mut self,
        name: &str,
        size: u32,
        members: &[MemberSpec<'_>],
    ) -> Result<TypeId, BtfError> {
        self.add_composite(Kind::Struct, name, size, members)
    }

    /// Adds a `UNION`.
    pub fn add_union(
        &mut self,
        name: &str,
        size: u32,
        members: &[MemberSpec<'_>],
    ) -> Result<TypeId, BtfError> {
        self.add_composite(Kind::Union, name, size, members)
    }

    fn add_composite(
        &mut self,
        kind: Kind,
        name: &str,
        size: u32,
        members: &[MemberSpec<'_>],
    ) -> Result<TypeId, BtfError> {
        let kflag = members.iter().any(|m| m.bitfield_size > 0);
        let mut words = Vec::with_capacity(members.len());
        for m in members {
            let off = if kflag {
                if m.bitfield_size > 255 || m.bit_offset > 0x00ff_ffff {
                    return Err(BtfError::Encode {
                        reason: format!(
                            "member '{}' of '{name}': bitfield {} bits at bit {} does not fit",
                            m.name, m.bitfield_size, m.bit_offset
                        ),
                    });
                }
                (m.bitfield_size << 24) | m.bit_offset
            } else {
                m.bit_offset
            };
            words.push((self.add_string(m.name)?, m.type_id, off));
        }
        let id = self.prefix(name, kind, members.len(), kflag, size)?;
        for (n, t, o) in words {
            self.u32(n);
            self.u32(t);
            self.u32(o);
        }
        Ok(id)
    }

    /// Adds an `ENUM` (`size` ≤ 4) or, for 8-byte enums, an `ENUM64`.
    pub fn add_enum(
        &mut self,
        name: &str,
        size: u32,
        signed: bool,
        values: &[(&str, i64)],
    ) -> Result<TypeId, BtfError> {
        let is64 = size == 8;
        let mut names = Vec::with_capacity(values.len());
        for (n, _) in values {
            names.push(self.add_string(n)?);
        }
        let kind = if is64 { Kind::Enum64 } else { Kind::Enum };
        let id = self.prefix(name, kind, values.len(), signed, size)?;
        for (n, (_, v)) in names.into_iter().zip(values) {
            self.u32(n);
            self.u32(*v as u32);
            if is64 {
                self.u32((*v as u64 >> 32) as u32);
            }
        }
        Ok(id)
    }

    /// Adds a `FWD` declaration of a struct or union.
    pub fn add_fwd(&mut self, name: &str, is_union: bool) -> Result<TypeId, BtfError> {
        self.prefix(name, Kind::Fwd, 0, is_union, 0)
    }

    /// Adds a `FUNC` with signature `proto` and linkage (0 static, 1 global, 2 extern).
    pub fn add_func(
        &mut self,
        name: &str,
        proto: TypeId,
        linkage: u16,
    ) -> Result<TypeId, BtfError> {
        self.prefix(name, Kind::Func, usize::from(linkage), false, proto)
    }

    /// Adds a `FUNC_PROTO`.
    pub fn add_func_proto(
        &mut self,
        ret: TypeId,
        params: &[(&str, TypeId)],
    ) -> Result<TypeId, BtfError> {
        let mut names = Vec::with_capacity(params.len());
        for (n, _) in params {
            names.push(self.add_string(n)?);
        }
        let id = self.prefix("", Kind::FuncProto, params.len(), false, ret)?;
        for (n, (_, t)) in names.into_iter().zip(params) {
            self.u32(n);
            self.u32(*t);
        }
        Ok(id)
    }

    /// Adds a `VAR`.
    pub fn add_var(
        &mut self,
        name: &str,
        type_id: TypeId,
        linkage: u32,
    ) -> Result<TypeId, BtfError> {
        let id = self.prefix(name, Kind::Var, 0, false, type_id)?;
        self.u32(linkage);
        Ok(id)
    }

    /// Adds a `DATASEC`.
    pub fn add_datasec(
        &mut self,
        name: &str,
        size: u32,
        vars: &[VarSecinfo],
    ) -> Result<TypeId, BtfError> {
        let id = self.prefix(name, Kind::Datasec, vars.len(), false, size)?;
        for v in vars {
            self.u32(v.type_id);
            self.u32(v.offset);
            self.u32(v.size);
        }
        Ok(id)
    }

    /// Adds a `FLOAT`.
    pub fn add_float(&mut self, name: &str, size: u32) -> Result<TypeId, BtfError> {
        self.prefix(name, Kind::Float, 0, false, size)
    }

    /// Adds a `DECL_TAG` on `type_id` (`component_idx` -1 for the type itself).
    pub fn add_decl_tag(
        &mut self,
        tag: &str,
        type_id: TypeId,
        component_idx: i32,
        attr: bool,
    ) -> Result<TypeId, BtfError> {
        let id = self.prefix(tag, Kind::DeclTag, 0, attr, type_id)?;
        self.u32(component_idx as u32);
        Ok(id)
    }

    /// Re-encodes `t` (from any BTF) as a new type, mapping each type id it refers to through
    /// `remap`, and re-interning its strings. Returns the new id.
    ///
    /// Types of kinds this library does not know are copied verbatim, which is only correct
    /// when they refer to no other type.
    pub fn add_type(
        &mut self,
        t: &Type<'_>,
        mut remap: impl FnMut(TypeId) -> Result<TypeId, BtfError>,
    ) -> Result<TypeId, BtfError> {
        let name_off = self.add_string(t.name())?;
        let info = t.info();
        let size_type = match t.ref_type() {
            Some(r) => remap(r)?,
            None => t.size_type(),
        };
        let mut body: Vec<u32> = Vec::new();
        match t {
            Type::Void => {
                return Err(BtfError::Encode {
                    reason: "void (type 0) cannot be added".into(),
                })
            }
            Type::Int(i) => body.push(i.data()),
            Type::Array(a) => {
                body.extend([remap(a.elem_type())?, remap(a.index_type())?, a.nelems()]);
            }
            Type::Struct(c) | Type::Union(c) => {
                for Member {
                    name,
                    type_id,
                    raw_offset,
                    ..
                } in c.members()
                {
                    body.extend([self.add_string(name)?, remap(type_id)?, raw_offset]);
                }
            }
            Type::Enum(e) | Type::Enum64(e) => {
                for v in e.values() {
                    body.push(self.add_string(v.name)?);
                    body.push(v.value as u32);
                    if e.is_64() {
                        body.push((v.value as u64 >> 32) as u32);
                    }
                }
            }
            Type::FuncProto(p) => {
                for prm in p.params() {
                    body.extend([self.add_string(prm.name)?, remap(prm.type_id)?]);
                }
            }
            Type::Var(v) => body.push(v.linkage()),
            Type::Datasec(d) => {
                for v in d.vars() {
                    body.extend([remap(v.type_id)?, v.offset, v.size]);
                }
            }
            Type::DeclTag(d) => body.push(d.component_idx() as u32),
            Type::Unknown(_) => {
                let id = self.prefix_raw(name_off, info, size_type)?;
                self.types.extend_from_slice(&t.record_bytes()[12..]);
                return Ok(id);
            }
            _ => {}
        }
        let id = self.prefix_raw(name_off, info, size_type)?;
        for w in body {
            self.u32(w);
        }
        Ok(id)
    }

    /// Writes the BTF blob: header, types, strings (and the layout section when enabled).
    pub fn finish(self) -> Result<Vec<u8>, BtfError> {
        let too_big = || BtfError::Encode {
            reason: "BTF exceeds 4 GiB".into(),
        };
        let hdr_len = if self.layout {
            HEADER_LEN_LAYOUT
        } else {
            HEADER_LEN_V1
        };
        let type_len = u32::try_from(self.types.len()).map_err(|_| too_big())?;
        let str_len = u32::try_from(self.strings.bytes.len()).map_err(|_| too_big())?;
        let layout: Vec<KindLayout> = if self.layout {
            std::iter::once(KindLayout::default())
                .chain(Kind::ALL.iter().map(|k| {
                    let (info, elem) = k.record_layout().unwrap_or((0, 0));
                    KindLayout {
                        info_sz: info as u8,
                        elem_sz: elem as u8,
                        flags: 0,
                    }
                }))
                .collect()
        } else {
            Vec::new()
        };
        let layout_len = (layout.len() * 4) as u32;
        let mut out = Vec::with_capacity(
            hdr_len as usize + self.types.len() + self.strings.bytes.len() + layout.len() * 4,
        );
        let e = self.endian;
        let put32 = |out: &mut Vec<u8>, v: u32| {
            out.extend_from_slice(&match e {
                Endian::Little => v.to_le_bytes(),
                Endian::Big => v.to_be_bytes(),
            })
        };
        out.extend_from_slice(&match e {
            Endian::Little => MAGIC.to_le_bytes(),
            Endian::Big => MAGIC.to_be_bytes(),
        });
        out.push(1);
        out.push(0);
        put32(&mut out, hdr_len);
        put32(&mut out, 0);
        put32(&mut out, type_len);
        put32(&mut out, type_len);
        put32(&mut out, str_len);
        if self.layout {
            let layout_off = type_len.checked_add(str_len).ok_or_else(too_big)?;
            put32(&mut out, layout_off);
            put32(&mut out, layout_len);
        }
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings.bytes);
        for l in &layout {
            out.push(l.info_sz);
            out.push(l.elem_sz);
            out.extend_from_slice(&match e {
                Endian::Little => l.flags.to_le_bytes(),
                Endian::Big => l.flags.to_be_bytes(),
            });
        }
        Ok(out)
    }
}
