//! Access specs: a relocation's access string parsed against a BTF into a typed accessor
//! chain (libbpf's `bpf_core_parse_spec`), and the same structure for the target side.

use std::fmt::Write as _;

use super::{skip_mods, CoreRelo, CoreReloKind, CORE_SPEC_MAX_LEN};
use crate::{Btf, Type, TypeId};

/// One high-level step of an access path: a named member, an array element (or the root's
/// implicit element), or an enumerator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accessor<'a> {
    /// The struct/union holding the member, the array element type, or the enum.
    pub type_id: TypeId,
    /// Member, element or enumerator index.
    pub idx: u32,
    /// Member or enumerator name; `None` for array elements.
    pub name: Option<&'a str>,
}

/// A relocation's access path resolved in one BTF (libbpf's `struct bpf_core_spec`).
///
/// `raw` has one entry per access-string number (anonymous members included); `accessors`
/// only the named members, array indices and enumerators that matching compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreSpec<'a> {
    /// Root type id (as given, typedefs not skipped).
    pub root_type_id: TypeId,
    /// Relocation kind.
    pub kind: CoreReloKind,
    /// The low-level indices.
    pub raw: Vec<u32>,
    /// The high-level accessors.
    pub accessors: Vec<Accessor<'a>>,
    /// Bit offset of the accessed field from the start of the root (field kinds).
    pub bit_offset: u64,
}

/// A member's bit offset and bitfield width: the offset word's low 24 bits and high 8 bits in
/// the `kind_flag` encoding; in the legacy encoding the width and extra offset come from the
/// member's INT type.
pub(crate) fn member_bits(btf: &Btf, comp_id: TypeId, idx: u32) -> Option<(u64, u32, TypeId, u32)> {
    match btf.type_by_id(comp_id).ok()? {
        Type::Struct(c) | Type::Union(c) => {
            let m = c.member(idx as usize)?;
            Some((
                u64::from(m.bit_offset),
                m.bitfield_size,
                m.type_id,
                m.name_off,
            ))
        }
        _ => None,
    }
}

impl<'a> CoreSpec<'a> {
    /// An empty spec rooted at `root` (what matching fills in on the target side).
    pub(crate) fn empty(root: TypeId, kind: CoreReloKind) -> CoreSpec<'a> {
        CoreSpec {
            root_type_id: root,
            kind,
            raw: Vec::new(),
            accessors: Vec::new(),
            bit_offset: 0,
        }
    }

    /// Parses `relo.access` against `btf` (the local BTF), with libbpf's rules: type-based
    /// kinds need exactly `"0"`; enum kinds one index below the enum's `vlen`; field kinds
    /// walk struct/union members (index < vlen) and array elements (index < nelems unless
    /// the array is a flexible last member).
    pub fn parse(btf: &'a Btf, relo: &CoreRelo) -> Result<CoreSpec<'a>, String> {
        Self::parse_access(btf, relo.local_type_id, &relo.access, relo.kind)
    }

    /// [`CoreSpec::parse`] from the parts of a record: root type, access string and kind.
    pub fn parse_access(
        btf: &'a Btf,
        root: TypeId,
        access: &str,
        kind: CoreReloKind,
    ) -> Result<CoreSpec<'a>, String> {
        if access.is_empty() || access.starts_with(':') {
            return Err("empty access string".into());
        }
        let mut spec = CoreSpec::empty(root, kind);
        btf.type_by_id(root).map_err(|e| e.to_string())?;
        if kind.is_type_based() {
            if access != "0" {
                return Err(format!(
                    "type-based relocation needs access string \"0\", got {access:?}"
                ));
            }
            spec.raw.push(0);
            return Ok(spec);
        }
        for part in access.split(':') {
            if spec.raw.len() == CORE_SPEC_MAX_LEN {
                return Err(format!("more than {CORE_SPEC_MAX_LEN} accessors"));
            }
            let n: u32 = part
                .parse()
                .map_err(|_| format!("component {part:?} is not a non-negative number"))?;
            // libbpf reads indices as int: larger values are negative and always out of range.
            if n > i32::MAX as u32 {
                return Err(format!("index {n} out of range"));
            }
            spec.raw.push(n);
        }
        let (mut id, t) = skip_mods(btf, root).map_err(|e| e.to_string())?;
        let first = spec.raw[0];
        if kind.is_enumval_based() {
            let e = match t {
                Type::Enum(e) | Type::Enum64(e) => e,
                other => {
                    return Err(format!(
                        "enum relocation on [{id}] of kind {}",
                        other.kind()
                    ))
                }
            };
            if spec.raw.len() > 1 {
                return Err("enum relocation with more than one index".into());
            }
            let v = e
                .values()
                .nth(first as usize)
                .ok_or_else(|| format!("enumerator index {first} >= vlen {}", e.vlen()))?;
            spec.accessors.push(Accessor {
                type_id: id,
                idx: first,
                name: Some(v.name),
            });
            return Ok(spec);
        }
        let sz = btf.size_of(id).map_err(|e| e.to_string())?;
        spec.bit_offset = mul_bits(first, sz)?;
        spec.accessors.push(Accessor {
            type_id: id,
            idx: first,
            name: None,
        });
        for pos in 1..spec.raw.len() {
            let idx = spec.raw[pos];
            let (cur, t) = skip_mods(btf, id).map_err(|e| e.to_string())?;
            match t {
                Type::Struct(c) | Type::Union(c) => {
                    let m = c.member(idx as usize).ok_or_else(|| {
                        format!("member index {idx} >= vlen {} of [{cur}]", c.vlen())
                    })?;
                    spec.bit_offset = spec
                        .bit_offset
                        .checked_add(u64::from(m.bit_offset))
                        .ok_or("bit offset overflows")?;
                    if m.name_off != 0 {
                        if m.name.is_empty() {
                            return Err(format!("member {idx} of [{cur}] has an unreadable name"));
                        }
                        spec.accessors.push(Accessor {
                            type_id: cur,
                            idx,
                            name: Some(m.name),
                        });
                    }
                    id = m.type_id;
                }
                Type::Array(a) => {
                    let (elem, _) = skip_mods(btf, a.elem_type()).map_err(|e| e.to_string())?;
                    let flex = is_flex_arr(btf, spec.accessors.last(), a.nelems());
                    if !flex && idx >= a.nelems() {
                        return Err(format!(
                            "array index {idx} >= nelems {} of [{cur}]",
                            a.nelems()
                        ));
                    }
                    spec.accessors.push(Accessor {
                        type_id: elem,
                        idx,
                        name: None,
                    });
                    let esz = btf.size_of(elem).map_err(|e| e.to_string())?;
                    spec.bit_offset = spec
                        .bit_offset
                        .checked_add(mul_bits(idx, esz)?)
                        .ok_or("bit offset overflows")?;
                    id = elem;
                }
                other => {
                    return Err(format!(
                        "index {pos} reaches [{cur}] of kind {}, not a struct, union or array",
                        other.kind()
                    ))
                }
            }
        }
        Ok(spec)
    }

    /// libbpf's debug rendering, e.g. `[5] struct task_struct.comm[3] (0:10:3 @ offset 1234)`.
    pub fn describe(&self, btf: &Btf) -> String {
        let mut s = String::new();
        let root = btf.type_by_id(self.root_type_id).ok();
        let (kind, name) = root.map_or(("?".to_string(), ""), |t| {
            (t.kind().name().to_ascii_lowercase(), t.name())
        });
        let _ = write!(
            s,
            "[{}] {} {}",
            self.root_type_id,
            kind,
            if name.is_empty() { "<anon>" } else { name }
        );
        if self.kind.is_type_based() {
            return s;
        }
        if self.kind.is_enumval_based() {
            if let Some(n) = self.accessors.first().and_then(|a| a.name) {
                let _ = write!(s, "::{n}");
            }
            return s;
        }
        for (i, a) in self.accessors.iter().enumerate() {
            match a.name {
                Some(n) => {
                    let _ = write!(s, ".{n}");
                }
                None if i > 0 || a.idx > 0 => {
                    let _ = write!(s, "[{}]", a.idx);
                }
                None => {}
            }
        }
        let raw: Vec<String> = self.raw.iter().map(u32::to_string).collect();
        let _ = write!(s, " ({} @ offset {}", raw.join(":"), self.bit_offset / 8);
        if self.bit_offset % 8 != 0 {
            let _ = write!(s, ".{}", self.bit_offset % 8);
        }
        s.push(')');
        s
    }
}

/// A flexible array: no elements, and the last member of the struct holding it.
pub(crate) fn is_flex_arr(btf: &Btf, acc: Option<&Accessor<'_>>, nelems: u32) -> bool {
    let Some(acc) = acc else { return false };
    if acc.name.is_none() || nelems > 0 {
        return false;
    }
    match btf.type_by_id(acc.type_id) {
        Ok(t) => u32::from(t.vlen()) == acc.idx + 1,
        Err(_) => false,
    }
}

pub(crate) fn mul_bits(idx: u32, size: u64) -> Result<u64, String> {
    u64::from(idx)
        .checked_mul(size)
        .and_then(|b| b.checked_mul(8))
        .ok_or_else(|| "bit offset overflows".to_string())
}
