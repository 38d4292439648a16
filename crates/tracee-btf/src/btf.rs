//! [`Btf`]: one BTF blob, its id→offset index, and the operations over whole types.

use std::ffi::CStr;
use std::fmt;
use std::fs::File;
use std::ops::Deref;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use crate::error::BtfError;
use crate::header::{Endian, Header, KindLayout};
use crate::index::{self, IndexInput};
use crate::name_index::{NameChain, NameIndex};
use crate::types::{Raw, Type};
use crate::{archive, Kind, TypeId};

/// Where the running kernel exposes its BTF.
pub const SYSFS_VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// How deep typedef/modifier/array chains may go before they count as a cycle (libbpf's limit).
pub(crate) const MAX_RESOLVE_DEPTH: u32 = 32;

/// The bytes a [`Btf`] reads from; never copied after opening.
enum Bytes {
    Owned(Vec<u8>),
    Mapped(memmap2::Mmap),
    Static(&'static [u8]),
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) => v,
            Bytes::Mapped(m) => m,
            Bytes::Static(s) => s,
        }
    }
}

/// A parsed BTF blob: kernel (`vmlinux`), module (split on top of a base) or object BTF.
///
/// Opening checks the header and every record once and builds an id→offset index; it does not
/// copy the type or string sections. [`Btf::type_by_id`] then decodes a record into a [`Type`]
/// view on demand. `Btf` is `Send + Sync`; share it with [`Arc`].
///
/// ```
/// use tracee_btf::{BtfBuilder, Btf, Kind};
///
/// let mut b = BtfBuilder::new();
/// let int = b.add_int("int", 4, tracee_btf::IntEncoding::SIGNED, 32)?;
/// b.add_typedef("pid_t", int)?;
/// let btf = Btf::from_vec(b.finish()?)?;
/// assert_eq!(btf.type_count(), 2);
/// assert_eq!(btf.find_by_name_kind("pid_t", Kind::Typedef), Some(2));
/// assert_eq!(btf.size_of(2)?, 4);
/// # Ok::<(), tracee_btf::BtfError>(())
/// ```
pub struct Btf {
    bytes: Bytes,
    header: Header,
    endian: Endian,
    types: (usize, usize),
    strings: (usize, usize),
    layout: Vec<KindLayout>,
    /// Absolute offset of each of this BTF's own records; index is `id - first_id`.
    offsets: Vec<u32>,
    /// Raw kind of each of this BTF's own records, indexed like `offsets`.
    kinds: Vec<u8>,
    first_id: TypeId,
    /// String offsets below this belong to the base.
    str_base: u32,
    base: Option<Arc<Btf>>,
    names: OnceLock<NameIndex>,
    ptr_size: OnceLock<u32>,
}

impl fmt::Debug for Btf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Btf")
            .field("first_id", &self.first_id)
            .field("types", &self.offsets.len())
            .field("bytes", &self.bytes.len())
            .field("big_endian", &(self.endian == Endian::Big))
            .field("split", &self.base.is_some())
            .finish()
    }
}

impl Btf {
    /// Parses BTF held in a vector, taking ownership without copying.
    pub fn from_vec(data: Vec<u8>) -> Result<Btf, BtfError> {
        Self::open(Bytes::Owned(data), None)
    }

    /// Parses BTF from an untrusted source and runs [`Btf::validate`] on it, so that every
    /// string offset and type id inside it is known to be good.
    pub fn from_vec_validated(data: Vec<u8>) -> Result<Btf, BtfError> {
        let btf = Self::from_vec(data)?;
        btf.validate()?;
        Ok(btf)
    }

    /// Parses BTF in static memory, such as an embedded blob, without copying.
    pub fn from_static(data: &'static [u8]) -> Result<Btf, BtfError> {
        Self::open(Bytes::Static(data), None)
    }

    /// Parses a copy of `data`.
    pub fn from_slice(data: &[u8]) -> Result<Btf, BtfError> {
        Self::from_vec(data.to_vec())
    }

    /// Opens a BTF file: raw BTF is memory-mapped, a btfhub `.btf.tar.xz` or a `.btf.gz` is
    /// decompressed (with the limits of [`archive::ArchiveLimits::default`]).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Btf, BtfError> {
        Self::open(Self::read_file(path.as_ref())?, None)
    }

    /// Opens the running kernel's BTF at [`SYSFS_VMLINUX`].
    pub fn from_sysfs() -> Result<Btf, BtfError> {
        Self::from_file(SYSFS_VMLINUX)
    }

    /// Parses split BTF (a kernel module's, say) whose ids and strings continue `base`'s.
    pub fn from_vec_split(data: Vec<u8>, base: Arc<Btf>) -> Result<Btf, BtfError> {
        Self::open(Bytes::Owned(data), Some(base))
    }

    /// Opens a split BTF file, such as `/sys/kernel/btf/<module>`, on top of `base`.
    pub fn from_file_split(path: impl AsRef<Path>, base: Arc<Btf>) -> Result<Btf, BtfError> {
        Self::open(Self::read_file(path.as_ref())?, Some(base))
    }

    fn read_file(path: &Path) -> Result<Bytes, BtfError> {
        let io = |source| BtfError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        // SAFETY: the map is read-only and private to this Btf. A file truncated underneath us
        // would fault; sysfs and archive files are not rewritten in place. A private mapping
        // because sysfs refuses shared ones of vmlinux (kernels from 6.16 map it at all),
        // which saves copying it.
        let bytes = match unsafe { memmap2::MmapOptions::new().map_copy_read_only(&file) } {
            Ok(map) if !map.is_empty() => Bytes::Mapped(map),
            // sysfs files on older kernels cannot be mapped, and report no size.
            _ => {
                let mut v = Vec::new();
                std::io::Read::read_to_end(&mut &file, &mut v).map_err(io)?;
                Bytes::Owned(v)
            }
        };
        if archive::is_compressed(&bytes) {
            let raw = archive::decompress_btf(&bytes, &archive::ArchiveLimits::default(), path)?;
            return Ok(Bytes::Owned(raw));
        }
        Ok(bytes)
    }

    fn open(bytes: Bytes, base: Option<Arc<Btf>>) -> Result<Btf, BtfError> {
        if bytes.len() > u32::MAX as usize {
            return Err(BtfError::BadHeader {
                reason: format!("{} bytes is larger than BTF can address", bytes.len()),
            });
        }
        let (header, endian, sections) = Header::parse(&bytes)?;
        if let Some(b) = &base {
            if b.endian != endian {
                return Err(BtfError::BadHeader {
                    reason: "split BTF and its base differ in byte order".into(),
                });
            }
        }
        check_strings(&bytes, sections.strings, base.is_some())?;
        let layout = index::parse_layout(&bytes, endian, sections.layout)?;
        let (first_id, str_base) = match &base {
            Some(b) => (b.last_id() + 1, b.str_total()),
            None => (1, 0),
        };
        let str_len = (sections.strings.1 - sections.strings.0) as u32;
        let str_total = str_base.checked_add(str_len).ok_or(BtfError::BadHeader {
            reason: "string sections of base and split BTF exceed 4 GiB".into(),
        })?;
        let index::Records { offsets, kinds } = index::build(&IndexInput {
            data: &bytes,
            endian,
            types: sections.types,
            layout: &layout,
            first_id,
            str_total,
        })?;
        Ok(Btf {
            bytes,
            header,
            endian,
            types: sections.types,
            strings: sections.strings,
            layout,
            offsets,
            kinds,
            first_id,
            str_base,
            base,
            names: OnceLock::new(),
            ptr_size: OnceLock::new(),
        })
    }

    /// Checks what opening does not: the string offsets and type ids inside records
    /// (members, parameters, enumerators, array and section entries), that chains of
    /// typedefs, modifiers and arrays end, and that each kind refers to what it must
    /// (a `FUNC` to a `FUNC_PROTO`, a `DECL_TAG` to an existing member or parameter).
    ///
    /// Opening already guarantees that views never read outside the data; without this
    /// check a bad name offset reads as `""` and a bad type id fails when it is looked up.
    /// Run it on BTF that did not come from the running kernel.
    pub fn validate(&self) -> Result<(), BtfError> {
        let input = IndexInput {
            data: &self.bytes,
            endian: self.endian,
            types: self.types,
            layout: &self.layout,
            first_id: self.first_id,
            str_total: self.str_total(),
        };
        index::check_all_refs(&input, &self.offsets)?;
        for t in self.types() {
            let id = t.id();
            match t {
                Type::Typedef(_)
                | Type::Const(_)
                | Type::Volatile(_)
                | Type::Restrict(_)
                | Type::TypeTag(_)
                | Type::Array(_)
                | Type::Var(_) => {
                    self.chain_end(id)?;
                }
                Type::Func(f) => {
                    let proto = self.type_by_id(f.proto_type())?;
                    if proto.kind() != Kind::FuncProto {
                        return Err(BtfError::WrongKind {
                            id: proto.id(),
                            actual: proto.kind(),
                            expected: "FUNC_PROTO (referenced by a FUNC)",
                        });
                    }
                }
                Type::DeclTag(d) => {
                    let target = self.type_by_id(d.type_id())?;
                    let idx = d.component_idx();
                    if idx < -1 || (idx >= 0 && idx >= i32::from(target.vlen())) {
                        return Err(BtfError::WrongKind {
                            id,
                            actual: Kind::DeclTag,
                            expected:
                                "a DECL_TAG whose component index names a member or parameter",
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Follows typedefs, modifiers, arrays and variables from `id` to a type that is none of
    /// them, failing on a cycle.
    fn chain_end(&self, id: TypeId) -> Result<TypeId, BtfError> {
        let mut cur = id;
        for _ in 0..MAX_RESOLVE_DEPTH {
            cur = match self.type_by_id(cur)? {
                Type::Typedef(r)
                | Type::Const(r)
                | Type::Volatile(r)
                | Type::Restrict(r)
                | Type::TypeTag(r) => r.type_id(),
                Type::Array(a) => a.elem_type(),
                Type::Var(v) => v.type_id(),
                _ => return Ok(cur),
            };
        }
        Err(BtfError::Cycle {
            id,
            depth: MAX_RESOLVE_DEPTH,
        })
    }

    /// The base this split BTF continues, if any.
    pub fn base(&self) -> Option<&Arc<Btf>> {
        self.base.as_ref()
    }

    /// Number of types in this BTF, not counting `void` nor a base's types: the number of
    /// `[id]` lines `bpftool btf dump file` prints.
    pub fn type_count(&self) -> u32 {
        self.offsets.len() as u32
    }

    /// Id of this BTF's first type: 1, or the base's last id + 1.
    pub fn first_id(&self) -> TypeId {
        self.first_id
    }

    /// The highest valid type id, base included (0 for BTF without types).
    pub fn last_id(&self) -> TypeId {
        self.first_id + self.offsets.len() as u32 - 1
    }

    /// The decoded header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The kind layout section, indexed by raw kind (empty when the BTF has none).
    pub fn kind_layouts(&self) -> &[KindLayout] {
        &self.layout
    }

    /// Whether the BTF is big-endian (it describes a big-endian machine).
    pub fn is_big_endian(&self) -> bool {
        self.endian == Endian::Big
    }

    /// The whole blob: header, types and strings as they were read.
    pub fn raw_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The raw string section of this BTF (the base's is separate).
    pub fn raw_strings(&self) -> &[u8] {
        &self.bytes[self.strings.0..self.strings.1]
    }

    /// The type with id `id`; id 0 is [`Type::Void`], ids below [`Btf::first_id`] come from
    /// the base.
    pub fn type_by_id(&self, id: TypeId) -> Result<Type<'_>, BtfError> {
        if id == 0 {
            return Ok(Type::Void);
        }
        if id < self.first_id {
            if let Some(base) = &self.base {
                return base.type_by_id(id);
            }
        }
        match self.offsets.get((id - self.first_id) as usize) {
            Some(&off) => Ok(Type::decode(Raw::read(self, id, off as usize))),
            None => Err(BtfError::NoSuchType {
                id,
                last_id: self.last_id(),
            }),
        }
    }

    /// This BTF's own types in id order (not the base's, not `void`).
    pub fn types(&self) -> impl ExactSizeIterator<Item = Type<'_>> + '_ {
        let first = self.first_id;
        self.offsets
            .iter()
            .enumerate()
            .map(move |(i, &off)| Type::decode(Raw::read(self, first + i as u32, off as usize)))
    }

    /// The string at `offset` in the string section (the base's for low offsets in split BTF).
    pub fn str_at(&self, offset: u32) -> Result<&str, BtfError> {
        if offset < self.str_base {
            if let Some(base) = &self.base {
                return base.str_at(offset);
            }
        }
        let local = (offset - self.str_base) as usize;
        let strs = self.raw_strings();
        let bytes = strs.get(local..).ok_or(BtfError::NoSuchString {
            name_off: offset,
            str_len: self.str_total(),
        })?;
        let c = CStr::from_bytes_until_nul(bytes).map_err(|_| BtfError::BadStrings {
            offset: self.strings.0 + local,
            reason: "string is not NUL-terminated",
        })?;
        c.to_str().map_err(|_| BtfError::BadStrings {
            offset: self.strings.0 + local,
            reason: "string does not start at a UTF-8 character boundary",
        })
    }

    /// The name at `offset`, or `""` when it is not valid UTF-8. Offsets were range-checked
    /// when the BTF was opened and the section was checked to be UTF-8, so only an offset
    /// into the middle of a multi-byte character yields `""`.
    pub(crate) fn name_at(&self, offset: u32) -> &str {
        self.str_at(offset).unwrap_or("")
    }

    /// The raw bytes of the string at `offset`, without UTF-8 checks (for hashing).
    pub(crate) fn name_bytes(&self, offset: u32) -> &[u8] {
        if offset < self.str_base {
            if let Some(base) = &self.base {
                return base.name_bytes(offset);
            }
        }
        let strs = self.raw_strings();
        let rest = strs.get((offset - self.str_base) as usize..).unwrap_or(&[]);
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        &rest[..end]
    }

    /// Whether the name at `offset` is exactly `name`, without measuring it first (most
    /// names differ in their first byte).
    #[inline]
    pub(crate) fn name_eq(&self, offset: u32, name: &[u8]) -> bool {
        if offset < self.str_base {
            if let Some(base) = &self.base {
                return base.name_eq(offset, name);
            }
        }
        let start = (offset - self.str_base) as usize;
        match self.raw_strings().get(start..) {
            Some(rest) => rest.starts_with(name) && rest.get(name.len()).is_none_or(|&c| c == 0),
            None => name.is_empty(),
        }
    }

    /// The first four bytes of the name at `offset`, NUL-padded after its end (or all NULs
    /// when the offset is out of range): a cheap key to rule names out before reading them.
    #[inline]
    pub(crate) fn name_prefix(&self, offset: u32) -> [u8; 4] {
        if offset < self.str_base {
            if let Some(base) = &self.base {
                return base.name_prefix(offset);
            }
        }
        let strs = self.raw_strings();
        let start = (offset - self.str_base) as usize;
        let mut out = [0u8; 4];
        match strs.get(start..start.saturating_add(4)) {
            Some(b) => {
                let w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                // Lowest zero byte: its high bit is the lowest set bit of `z`.
                let z = w.wrapping_sub(0x0101_0101) & !w & 0x8080_8080;
                let keep = if z == 0 {
                    u32::MAX
                } else {
                    (1u32 << z.trailing_zeros()).wrapping_sub(1) >> 7
                };
                out = (w & keep).to_le_bytes();
            }
            None => {
                for (o, &c) in out.iter_mut().zip(strs.get(start..).unwrap_or(&[])) {
                    if c == 0 {
                        break;
                    }
                    *o = c;
                }
            }
        }
        out
    }

    /// Total string bytes addressable, base included.
    pub(crate) fn str_total(&self) -> u32 {
        self.str_base + (self.strings.1 - self.strings.0) as u32
    }

    pub(crate) fn data(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn endian(&self) -> Endian {
        self.endian
    }

    /// Ids of the types named `name`, in ascending id order, the base's first.
    ///
    /// The first call builds a hash index over all names; later calls cost one hash and a
    /// string comparison per candidate.
    pub fn find_by_name(&self, name: &str) -> NameMatches<'_> {
        NameMatches {
            base: self.base.as_deref().map(|b| Box::new(b.find_by_name(name))),
            own: self.names().lookup(self, name.as_bytes()),
        }
    }

    /// The first type named `name` of kind `kind`.
    pub fn find_by_name_kind(&self, name: &str, kind: Kind) -> Option<TypeId> {
        self.find_by_name(name).find(|&id| {
            self.type_by_id(id)
                .map(|t| t.kind() == kind)
                .unwrap_or(false)
        })
    }

    fn names(&self) -> &NameIndex {
        self.names.get_or_init(|| NameIndex::build(self))
    }

    pub(crate) fn own_offsets(&self) -> &[u32] {
        &self.offsets
    }

    /// Raw kinds of this BTF's own records, indexed like [`Btf::own_offsets`].
    pub(crate) fn own_kinds(&self) -> &[u8] {
        &self.kinds
    }

    /// Follows typedefs, `const`/`volatile`/`restrict` and type tags to the underlying type.
    pub fn skip_mods_and_typedefs(&self, id: TypeId) -> Result<TypeId, BtfError> {
        let mut cur = id;
        for _ in 0..MAX_RESOLVE_DEPTH {
            let t = self.type_by_id(cur)?;
            match t {
                Type::Typedef(r)
                | Type::Const(r)
                | Type::Volatile(r)
                | Type::Restrict(r)
                | Type::TypeTag(r) => cur = r.type_id(),
                _ => return Ok(cur),
            }
        }
        Err(BtfError::Cycle {
            id,
            depth: MAX_RESOLVE_DEPTH,
        })
    }

    /// Size in bytes of a type, as `sizeof` would give it.
    pub fn size_of(&self, id: TypeId) -> Result<u64, BtfError> {
        self.size_of_with(id, || self.ptr_size())
    }

    /// [`Btf::size_of`] with the pointer size supplied by the caller (a relocator knows it
    /// already); `ptr_size` is only called when the walk reaches a pointer.
    pub(crate) fn size_of_with(
        &self,
        id: TypeId,
        ptr_size: impl FnOnce() -> u32,
    ) -> Result<u64, BtfError> {
        let mut cur = id;
        let mut mult: u64 = 1;
        for _ in 0..MAX_RESOLVE_DEPTH {
            let t = self.type_by_id(cur)?;
            let next = match t {
                Type::Typedef(r)
                | Type::Const(r)
                | Type::Volatile(r)
                | Type::Restrict(r)
                | Type::TypeTag(r) => r.type_id(),
                Type::Var(v) => v.type_id(),
                Type::Ptr(_) => {
                    return mult
                        .checked_mul(u64::from(ptr_size()))
                        .ok_or(BtfError::SizeOverflow { id })
                }
                Type::Array(a) => {
                    mult = mult
                        .checked_mul(u64::from(a.nelems()))
                        .ok_or(BtfError::SizeOverflow { id })?;
                    a.elem_type()
                }
                other => match other.size() {
                    Some(size) => {
                        return mult
                            .checked_mul(u64::from(size))
                            .ok_or(BtfError::SizeOverflow { id })
                    }
                    None => {
                        return Err(BtfError::NoSize {
                            id: cur,
                            kind: other.kind(),
                        })
                    }
                },
            };
            cur = next;
        }
        Err(BtfError::Cycle {
            id,
            depth: MAX_RESOLVE_DEPTH,
        })
    }

    /// Pointer size of the described machine, from the size of `long` (8 when unknown).
    pub fn ptr_size(&self) -> u32 {
        if let Some(base) = &self.base {
            return base.ptr_size();
        }
        *self.ptr_size.get_or_init(|| {
            ["long int", "long unsigned int", "long", "unsigned long"]
                .iter()
                .find_map(|n| {
                    let id = self.find_by_name_kind(n, Kind::Int)?;
                    self.type_by_id(id).ok()?.size()
                })
                .filter(|s| *s == 4 || *s == 8)
                .unwrap_or(8)
        })
    }

    /// Bit offset of member `member` in the struct or union `id` (after typedefs and
    /// modifiers), looking inside anonymous struct and union members as C does.
    /// `Ok(None)` when there is no such member.
    pub fn member_offset_bits(&self, id: TypeId, member: &str) -> Result<Option<u64>, BtfError> {
        self.member_offset_inner(id, member, 0)
    }

    fn member_offset_inner(
        &self,
        id: TypeId,
        member: &str,
        depth: u32,
    ) -> Result<Option<u64>, BtfError> {
        if depth >= MAX_RESOLVE_DEPTH {
            return Err(BtfError::Cycle { id, depth });
        }
        let resolved = self.skip_mods_and_typedefs(id)?;
        let comp = match self.type_by_id(resolved)? {
            Type::Struct(c) | Type::Union(c) => c,
            other => {
                return Err(BtfError::WrongKind {
                    id: resolved,
                    actual: other.kind(),
                    expected: "STRUCT or UNION",
                })
            }
        };
        for m in comp.members() {
            if m.name == member {
                return Ok(Some(u64::from(m.bit_offset)));
            }
            if m.name.is_empty() {
                let inner = self.skip_mods_and_typedefs(m.type_id)?;
                if matches!(self.type_by_id(inner)?, Type::Struct(_) | Type::Union(_)) {
                    if let Some(off) = self.member_offset_inner(inner, member, depth + 1)? {
                        return Ok(Some(u64::from(m.bit_offset) + off));
                    }
                }
            }
        }
        Ok(None)
    }
}

/// Checks what every string lookup relies on: the section starts with the empty string (except
/// in split BTF), ends with NUL, and is UTF-8 as a whole.
fn check_strings(data: &[u8], (start, end): (usize, usize), split: bool) -> Result<(), BtfError> {
    let strs = &data[start..end];
    if strs.is_empty() {
        if split {
            return Ok(());
        }
        return Err(BtfError::BadStrings {
            offset: start,
            reason: "string section is empty (it must hold at least the empty string)",
        });
    }
    if !split && strs[0] != 0 {
        return Err(BtfError::BadStrings {
            offset: start,
            reason: "string section does not start with the empty string",
        });
    }
    if strs[strs.len() - 1] != 0 {
        return Err(BtfError::BadStrings {
            offset: end - 1,
            reason: "string section does not end with NUL",
        });
    }
    if let Err(e) = std::str::from_utf8(strs) {
        return Err(BtfError::BadStrings {
            offset: start + e.valid_up_to(),
            reason: "string section is not UTF-8",
        });
    }
    Ok(())
}

/// Iterator over the ids [`Btf::find_by_name`] finds.
pub struct NameMatches<'a> {
    base: Option<Box<NameMatches<'a>>>,
    own: NameChain<'a>,
}

impl Iterator for NameMatches<'_> {
    type Item = TypeId;

    fn next(&mut self) -> Option<TypeId> {
        if let Some(base) = &mut self.base {
            if let Some(id) = base.next() {
                return Some(id);
            }
            self.base = None;
        }
        self.own.next()
    }
}
