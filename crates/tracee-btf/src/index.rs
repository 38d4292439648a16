//! The one pass over the type section that opening does: it records where each type's record
//! starts and checks that every record, string offset and type reference is in range, so the
//! lazily decoded views never read outside the data.

use crate::error::BtfError;
use crate::header::{read_u32, Endian, KindLayout};
use crate::{Kind, TypeId};

/// Where the pass finds its inputs.
pub(crate) struct IndexInput<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) endian: Endian,
    /// Absolute byte range of the type section.
    pub(crate) types: (usize, usize),
    /// Layout entries by raw kind, empty when the BTF has no layout section.
    pub(crate) layout: &'a [KindLayout],
    /// Id of the first type in this BTF (1, or the base's last id + 1).
    pub(crate) first_id: TypeId,
    /// Total string bytes addressable from this BTF (the base's plus its own).
    pub(crate) str_total: u32,
}

/// Returns the absolute offset of every type record, in id order.
pub(crate) fn build(input: &IndexInput<'_>) -> Result<Records, BtfError> {
    match input.endian {
        Endian::Little => build_with::<true>(input),
        Endian::Big => build_with::<false>(input),
    }
}

/// What the walk over the records keeps: each record's absolute offset and raw kind (the kind
/// lets scans for types of some kinds skip the others without touching their records).
pub(crate) struct Records {
    pub(crate) offsets: Vec<u32>,
    pub(crate) kinds: Vec<u8>,
}

/// What the walk reports about each string offset and type reference it passes.
///
/// The walk runs once with [`Maxima`], which only keeps running maxima so the loop stays
/// branch-light, and only when a maximum is out of range a second time with [`Exact`] to name
/// the first offending record.
trait Refs {
    fn name(&mut self, id: TypeId, pos: usize, name_off: u32) -> Result<(), BtfError>;
    fn target(&mut self, id: TypeId, kind: u8, pos: usize, target: TypeId) -> Result<(), BtfError>;
}

#[derive(Default)]
struct Maxima {
    name: u32,
    target: TypeId,
}

impl Maxima {
    fn out_of_range(&self, str_total: u32, last_id: TypeId) -> bool {
        (self.name != 0 && self.name >= str_total) || self.target > last_id
    }
}

impl Refs for Maxima {
    #[inline(always)]
    fn name(&mut self, _: TypeId, _: usize, name_off: u32) -> Result<(), BtfError> {
        self.name = self.name.max(name_off);
        Ok(())
    }

    #[inline(always)]
    fn target(&mut self, _: TypeId, _: u8, _: usize, target: TypeId) -> Result<(), BtfError> {
        self.target = self.target.max(target);
        Ok(())
    }
}

struct Exact {
    str_total: u32,
    last_id: TypeId,
}

impl Exact {
    fn new(input: &IndexInput<'_>, last_id: TypeId) -> Exact {
        Exact {
            str_total: input.str_total,
            last_id,
        }
    }
}

impl Refs for Exact {
    fn name(&mut self, id: TypeId, pos: usize, name_off: u32) -> Result<(), BtfError> {
        if name_off != 0 && name_off >= self.str_total {
            return Err(BtfError::StringOutOfRange {
                id,
                offset: pos,
                name_off,
                str_len: self.str_total,
            });
        }
        Ok(())
    }

    fn target(&mut self, id: TypeId, kind: u8, pos: usize, target: TypeId) -> Result<(), BtfError> {
        if target > self.last_id {
            return Err(BtfError::TypeRefOutOfRange {
                id,
                kind: Kind::from_raw(kind),
                offset: pos,
                target,
                last_id: self.last_id,
            });
        }
        Ok(())
    }
}

/// How the walk treats one raw kind.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Invalid,
    /// Only the prefix's own name.
    Plain,
    /// `size_type` is a type id.
    Ref,
    Array,
    /// Elements are `{name_off, type, ...}`: struct/union members.
    Members,
    /// `size_type` is the return type, elements are `{name_off, type}`.
    Params,
    /// Elements start with a name: enumerators.
    Named,
    /// Elements start with a type id: datasec variables.
    Typed,
}

#[derive(Clone, Copy)]
struct KindInfo {
    class: Class,
    info_sz: usize,
    elem_sz: usize,
}

fn kind_table(layout: &[KindLayout]) -> [KindInfo; 32] {
    let mut table = [KindInfo {
        class: Class::Invalid,
        info_sz: 0,
        elem_sz: 0,
    }; 32];
    for (raw, slot) in table.iter_mut().enumerate().skip(1) {
        let kind = Kind::from_raw(raw as u8);
        *slot = match kind.record_layout() {
            Some((info_sz, elem_sz)) => KindInfo {
                class: match kind {
                    Kind::Array => Class::Array,
                    Kind::Struct | Kind::Union => Class::Members,
                    Kind::FuncProto => Class::Params,
                    Kind::Enum | Kind::Enum64 => Class::Named,
                    Kind::Datasec => Class::Typed,
                    k if k.has_type_ref() => Class::Ref,
                    _ => Class::Plain,
                },
                info_sz,
                elem_sz,
            },
            None => match layout.get(raw) {
                Some(l) => KindInfo {
                    class: Class::Plain,
                    info_sz: usize::from(l.info_sz),
                    elem_sz: usize::from(l.elem_sz),
                },
                None => continue,
            },
        };
    }
    table
}

// Monomorphised per byte order so the hot loops have no endianness branch.
fn build_with<const LE: bool>(input: &IndexInput<'_>) -> Result<Records, BtfError> {
    let table = kind_table(input.layout);
    let mut maxima = Maxima::default();
    let records = record_offsets::<LE>(input, &table, &mut maxima)?;
    let last_id = (input.first_id + records.offsets.len() as u32).wrapping_sub(1);
    if maxima.out_of_range(input.str_total, last_id) {
        check_refs::<LE, _>(
            input,
            &table,
            &records.offsets,
            &mut Exact::new(input, last_id),
        )?;
    }
    Ok(records)
}

/// Checks the string offsets and type references inside records (members, parameters,
/// enumerators, array and section entries), which opening leaves to [`crate::Btf::validate`]:
/// views stay in bounds without it, and it would double the cost of opening.
pub(crate) fn check_all_refs(input: &IndexInput<'_>, offsets: &[u32]) -> Result<(), BtfError> {
    let table = kind_table(input.layout);
    let last_id = (input.first_id + offsets.len() as u32).wrapping_sub(1);
    let mut maxima = Maxima::default();
    match input.endian {
        Endian::Little => check_refs::<true, _>(input, &table, offsets, &mut maxima)?,
        Endian::Big => check_refs::<false, _>(input, &table, offsets, &mut maxima)?,
    }
    if maxima.out_of_range(input.str_total, last_id) {
        let mut exact = Exact::new(input, last_id);
        match input.endian {
            Endian::Little => check_refs::<true, _>(input, &table, offsets, &mut exact)?,
            Endian::Big => check_refs::<false, _>(input, &table, offsets, &mut exact)?,
        }
    }
    Ok(())
}

#[inline(always)]
fn rd<const LE: bool>(b: &[u8]) -> u32 {
    let b = [b[0], b[1], b[2], b[3]];
    if LE {
        u32::from_le_bytes(b)
    } else {
        u32::from_be_bytes(b)
    }
}

/// Steps from record to record, returning each one's absolute offset.
fn record_offsets<const LE: bool>(
    input: &IndexInput<'_>,
    table: &[KindInfo; 32],
    prefix: &mut Maxima,
) -> Result<Records, BtfError> {
    let (start, end) = input.types;
    let sec = &input.data[start..end];
    // Kernel BTF averages about 25 bytes a record; reserving close to the real count avoids
    // regrowing a vector of a hundred thousand entries.
    let mut offsets: Vec<u32> = Vec::with_capacity(sec.len() / 24 + 16);
    let mut kinds: Vec<u8> = Vec::with_capacity(offsets.capacity());
    let ref_kinds: u32 = table
        .iter()
        .enumerate()
        .filter(|(_, k)| k.class == Class::Ref)
        .fold(0, |mask, (raw, _)| mask | 1 << raw);
    let mut sizes = [(usize::MAX / 2, 0usize); 32];
    for (slot, k) in sizes.iter_mut().zip(table) {
        if k.class != Class::Invalid {
            *slot = (k.info_sz, k.elem_sz);
        }
    }
    let mut off = 0usize;
    while off < sec.len() {
        let rest = &sec[off..];
        let pos = start + off;
        let id = input.first_id.wrapping_add(offsets.len() as u32);
        if rest.len() < 12 {
            return Err(BtfError::truncated("btf_type", pos, 12, end));
        }
        let info = rd::<LE>(&rest[4..8]);
        let raw_kind = ((info >> 24) & 0x1f) as u8;
        let vlen = (info & 0xffff) as usize;
        prefix.name = prefix.name.max(rd::<LE>(&rest[0..4]));
        // Branch-free for the same reason as the length below.
        let is_ref = (ref_kinds >> raw_kind) & 1;
        prefix.target = prefix.target.max(rd::<LE>(&rest[8..12]) * is_ref);
        // A table instead of a match: kinds arrive in no predictable order, and a mispredicted
        // branch costs more than the lookup. Invalid kinds have a length no record can have.
        let rec_len = 12 + sizes[usize::from(raw_kind)].0 + vlen * sizes[usize::from(raw_kind)].1;
        if rec_len > rest.len() {
            if table[usize::from(raw_kind)].class == Class::Invalid {
                return Err(BtfError::UnknownKind {
                    id,
                    offset: pos,
                    raw_kind,
                });
            }
            return Err(BtfError::RecordOverflow {
                id,
                kind: Kind::from_raw(raw_kind),
                vlen: vlen as u16,
                offset: pos,
                needed: rec_len,
                section_end: end,
            });
        }
        offsets.push(pos as u32);
        kinds.push(raw_kind);
        off += rec_len;
    }
    let max = u64::from(u32::MAX) - u64::from(input.first_id);
    if offsets.len() as u64 > max {
        return Err(BtfError::TooManyTypes {
            count: offsets.len() as u64,
            max,
        });
    }
    Ok(Records { offsets, kinds })
}

/// Reports every string offset and type reference of every record to `refs`.
fn check_refs<const LE: bool, R: Refs>(
    input: &IndexInput<'_>,
    table: &[KindInfo; 32],
    offsets: &[u32],
    refs: &mut R,
) -> Result<(), BtfError> {
    let data = input.data;
    for (i, &pos) in offsets.iter().enumerate() {
        let pos = pos as usize;
        let id = input.first_id + i as u32;
        let end = offsets.get(i + 1).map_or(input.types.1, |&o| o as usize);
        let rec = &data[pos..end];
        let info = rd::<LE>(&rec[4..8]);
        let raw_kind = ((info >> 24) & 0x1f) as u8;
        let size_type = rd::<LE>(&rec[8..12]);
        let body = &rec[12..];
        refs.name(id, pos, rd::<LE>(&rec[0..4]))?;
        match table[usize::from(raw_kind)].class {
            Class::Ref => refs.target(id, raw_kind, pos + 8, size_type)?,
            Class::Array => {
                refs.target(id, raw_kind, pos + 12, rd::<LE>(&body[0..4]))?;
                refs.target(id, raw_kind, pos + 16, rd::<LE>(&body[4..8]))?;
            }
            Class::Members => {
                for (j, m) in body.chunks_exact(12).enumerate() {
                    refs.name(id, pos + 12 + j * 12, rd::<LE>(&m[0..4]))?;
                    refs.target(id, raw_kind, pos + 16 + j * 12, rd::<LE>(&m[4..8]))?;
                }
            }
            Class::Params => {
                refs.target(id, raw_kind, pos + 8, size_type)?;
                for (j, m) in body.chunks_exact(8).enumerate() {
                    refs.name(id, pos + 12 + j * 8, rd::<LE>(&m[0..4]))?;
                    refs.target(id, raw_kind, pos + 16 + j * 8, rd::<LE>(&m[4..8]))?;
                }
            }
            Class::Named => {
                let stride = table[usize::from(raw_kind)].elem_sz;
                for (j, m) in body.chunks_exact(stride).enumerate() {
                    refs.name(id, pos + 12 + j * stride, rd::<LE>(&m[0..4]))?;
                }
            }
            Class::Typed => {
                for (j, m) in body.chunks_exact(12).enumerate() {
                    refs.target(id, raw_kind, pos + 12 + j * 12, rd::<LE>(&m[0..4]))?;
                }
            }
            Class::Plain | Class::Invalid => {}
        }
    }
    Ok(())
}

/// Decodes the layout section into entries indexed by raw kind, checking that the entries for
/// the kinds this library knows agree with how it reads them.
pub(crate) fn parse_layout(
    data: &[u8],
    endian: Endian,
    range: Option<(usize, usize)>,
) -> Result<Vec<KindLayout>, BtfError> {
    let Some((start, end)) = range else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity((end - start) / 4);
    for (i, off) in (start..end).step_by(4).enumerate() {
        let entry = KindLayout {
            info_sz: data[off],
            elem_sz: data[off + 1],
            flags: endian.u16([data[off + 2], data[off + 3]]),
        };
        if let Some((info, elem)) = Kind::from_raw(i.min(31) as u8).record_layout() {
            if i <= 31 && (usize::from(entry.info_sz), usize::from(entry.elem_sz)) != (info, elem) {
                return Err(BtfError::BadHeader {
                    reason: format!(
                        "layout entry at offset {off} describes kind {} as {}+{}*vlen bytes, expected {info}+{elem}*vlen",
                        Kind::from_raw(i as u8),
                        entry.info_sz,
                        entry.elem_sz
                    ),
                });
            }
        }
        out.push(entry);
    }
    Ok(out)
}

/// Reads a u32 of a record that the index pass has already bounds-checked.
#[inline(always)]
pub(crate) fn field(data: &[u8], off: usize, endian: Endian) -> u32 {
    read_u32(data, off, endian)
}
