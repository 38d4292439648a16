//! Candidate lookup: the target types a local type may relocate to.
//!
//! libbpf scans every target type for each local type (one linear pass per type, which is
//! what makes BTFGen slow on large BTFs). Here the target's name index answers the exact
//! essential name, and names that carry a flavor suffix themselves (rare in kernel BTF) are
//! found through a small side table built once per target from its string section.

use hashbrown::HashMap;

use super::{essential_name, is_any_enum, kind_core_compat};
use crate::index::field;
use crate::{Btf, Kind, Type, TypeId};

/// Candidate lists per local root type, pruned as relocations are resolved: like libbpf's
/// `cand_cache`, a candidate that fails to match one relocation of a type is not considered
/// for the later relocations of that type.
pub struct CandidateCache<'t> {
    target: &'t Btf,
    /// Essential name → flavored names present in the target's strings.
    flavored: Option<HashMap<&'t str, Vec<&'t str>>>,
    lists: HashMap<TypeId, Vec<TypeId>>,
}

impl<'t> CandidateCache<'t> {
    /// An empty cache for `target`.
    pub fn new(target: &'t Btf) -> CandidateCache<'t> {
        CandidateCache {
            target,
            flavored: None,
            lists: HashMap::new(),
        }
    }

    /// The target BTF.
    pub fn target(&self) -> &'t Btf {
        self.target
    }

    /// Finds the candidates of all `local_ids` in one pass over the target's types.
    ///
    /// Cheaper than one name-index lookup per type when the target's name index has not been
    /// built yet (it hashes every name of the target): only types of a wanted kind have their
    /// name looked at. Flavored target names are handled in the same pass.
    pub fn prefetch(&mut self, local: &Btf, local_ids: impl IntoIterator<Item = TypeId>) {
        // Essential name → local types wanting it (with their kinds).
        let mut wanted: HashMap<&[u8], Vec<(TypeId, Kind)>> = HashMap::new();
        let mut kinds = [false; 32];
        for id in local_ids {
            if self.lists.contains_key(&id) {
                continue;
            }
            let Ok(t) = local.type_by_id(id) else {
                continue;
            };
            let ess = essential_name(t.name());
            self.lists.insert(id, Vec::new());
            if ess.is_empty() {
                continue;
            }
            let k = t.kind();
            let e = wanted.entry(ess.as_bytes()).or_default();
            if !e.iter().any(|&(i, _)| i == id) {
                e.push((id, k));
            }
            kinds[usize::from(k.raw() & 31)] = true;
            if is_any_enum(k) {
                kinds[usize::from(Kind::Enum.raw())] = true;
                kinds[usize::from(Kind::Enum64.raw())] = true;
            }
        }
        if wanted.is_empty() {
            return;
        }
        let mut chain = Vec::new();
        let mut cur = Some(self.target);
        while let Some(b) = cur {
            chain.push(b);
            cur = b.base().map(|a| &**a);
        }
        for b in chain.into_iter().rev() {
            let data = b.data();
            let endian = b.endian();
            let first = b.first_id();
            for (pos, &off) in b.own_offsets().iter().enumerate() {
                let info = field(data, off as usize + 4, endian);
                let raw_kind = ((info >> 24) & 0x1f) as usize;
                if !kinds[raw_kind] {
                    continue;
                }
                let name_off = field(data, off as usize, endian);
                if name_off == 0 {
                    continue;
                }
                let name = b.name_bytes(name_off);
                let Some(locals) = wanted.get(essential_bytes(name)) else {
                    continue;
                };
                let tkind = Kind::from_raw(raw_kind as u8);
                for &(lid, lkind) in locals {
                    if kind_core_compat(tkind, lkind) {
                        if let Some(l) = self.lists.get_mut(&lid) {
                            l.push(first + pos as u32);
                        }
                    }
                }
            }
        }
    }

    /// The current candidate list of `local_id` (found on first use), in ascending id order.
    pub fn get(&mut self, local: &Btf, local_id: TypeId) -> &mut Vec<TypeId> {
        if !self.lists.contains_key(&local_id) {
            let found = self.find(local, local_id);
            self.lists.insert(local_id, found);
        }
        self.lists.entry(local_id).or_default()
    }

    /// All target types whose kind is compatible with `local_id`'s (ENUM and ENUM64 mix) and
    /// whose essential name equals its essential name. Empty for anonymous local types.
    pub fn find(&mut self, local: &Btf, local_id: TypeId) -> Vec<TypeId> {
        let Ok(lt) = local.type_by_id(local_id) else {
            return Vec::new();
        };
        let ess = essential_name(lt.name());
        if ess.is_empty() {
            return Vec::new();
        }
        let lkind = lt.kind();
        let target = self.target;
        let mut out: Vec<TypeId> = Vec::new();
        let push_named = |name: &str, out: &mut Vec<TypeId>| {
            for id in target.find_by_name(name) {
                if let Ok(t) = target.type_by_id(id) {
                    if kind_core_compat(t.kind(), lkind) {
                        out.push(id);
                    }
                }
            }
        };
        push_named(ess, &mut out);
        let flavored = self.flavored.get_or_insert_with(|| flavored_names(target));
        if let Some(names) = flavored.get(ess) {
            for n in names {
                push_named(n, &mut out);
            }
            out.sort_unstable();
            out.dedup();
        }
        out
    }
}

/// Every string of the target (and its base) that has a flavor suffix, by essential name.
fn flavored_names(btf: &Btf) -> HashMap<&str, Vec<&str>> {
    let mut map: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut cur = Some(btf);
    while let Some(b) = cur {
        let strs = b.raw_strings();
        // Only strings holding "___" can have a flavor; find those windows directly.
        let mut i = 0;
        while i + 3 <= strs.len() {
            if strs[i] == b'_' && strs[i + 1] == b'_' && strs[i + 2] == b'_' {
                let start = strs[..i].iter().rposition(|&c| c == 0).map_or(0, |p| p + 1);
                let end = strs[i..]
                    .iter()
                    .position(|&c| c == 0)
                    .map_or(strs.len(), |p| i + p);
                if let Ok(s) = std::str::from_utf8(&strs[start..end]) {
                    let ess = essential_name(s);
                    if ess.len() != s.len() {
                        let v = map.entry(ess).or_default();
                        if !v.contains(&s) {
                            v.push(s);
                        }
                    }
                }
                i = end + 1;
                continue;
            }
            i += 1;
        }
        cur = b.base().map(|a| &**a);
    }
    map
}

/// [`essential_name`] on raw bytes.
fn essential_bytes(b: &[u8]) -> &[u8] {
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

/// Equivalence classes of target types for field relocations.
///
/// A field relocation's walk through a candidate only reads the candidate's records and those
/// of the types it embeds by value (members, array elements, typedefs and modifiers); it
/// never looks behind a pointer. Two candidates whose by-value closures are equal therefore
/// resolve every field relocation identically. Badly deduplicated kernels (476 copies of
/// `task_struct` in CentOS 8's BTF) then cost one match per distinct shape instead of one
/// per copy.
pub(crate) struct Shapes<'t> {
    btf: &'t Btf,
    memo: HashMap<TypeId, u64>,
}

impl<'t> Shapes<'t> {
    pub(crate) fn new(btf: &'t Btf) -> Shapes<'t> {
        Shapes {
            btf,
            memo: HashMap::new(),
        }
    }

    /// A hash of `id`'s by-value closure (names by content, pointees ignored).
    pub(crate) fn of(&mut self, id: TypeId) -> u64 {
        self.hash(id, 0)
    }

    fn hash(&mut self, id: TypeId, depth: u32) -> u64 {
        use std::hash::Hasher;
        if let Some(&h) = self.memo.get(&id) {
            return h;
        }
        // SipHash with fixed keys: equal shapes hash equally, 64 bits make collisions moot.
        let mut h2 = std::collections::hash_map::DefaultHasher::new();
        let btf = self.btf;
        let Ok(t) = btf.type_by_id(id) else {
            h2.write_u32(id);
            h2.write_u8(0xff);
            return h2.finish();
        };
        if depth > 64 {
            // Deeper than any real type (or cyclic): unique, never merged.
            h2.write_u8(0xfe);
            h2.write_u32(id);
            return h2.finish();
        }
        h2.write_u32(t.info());
        h2.write(btf.name_bytes(t.name_off()));
        h2.write_u8(0);
        let rec = t.record_bytes();
        let big = btf.is_big_endian();
        let word = |off: usize| -> u32 {
            let b: [u8; 4] = rec
                .get(off..off + 4)
                .and_then(|s| s.try_into().ok())
                .unwrap_or([0; 4]);
            if big {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        match t {
            Type::Ptr(_) => {}
            Type::Struct(c) | Type::Union(c) => {
                h2.write_u32(c.size());
                for i in 0..usize::from(c.vlen()) {
                    let base = 12 + 12 * i;
                    h2.write(btf.name_bytes(word(base)));
                    h2.write_u8(0);
                    h2.write_u32(word(base + 8));
                    let sub = self.hash(word(base + 4), depth + 1);
                    h2.write_u64(sub);
                }
            }
            Type::Array(a) => {
                h2.write_u32(a.nelems());
                let e = self.hash(a.elem_type(), depth + 1);
                h2.write_u64(e);
            }
            Type::Enum(e) | Type::Enum64(e) => {
                h2.write_u32(e.size());
                for v in e.values() {
                    h2.write(v.name.as_bytes());
                    h2.write_u8(0);
                    h2.write_i64(v.value);
                }
            }
            Type::FuncProto(_)
            | Type::Func(_)
            | Type::Var(_)
            | Type::Datasec(_)
            | Type::DeclTag(_) => {
                // Never embedded by value in a field walk: keep them distinct.
                h2.write_u32(id);
            }
            _ => {
                // INT/FLOAT (size and data word), FWD, typedefs and modifiers (their target).
                h2.write(&rec[8.min(rec.len())..]);
                if let Some(r) = t.ref_type() {
                    let s = self.hash(r, depth + 1);
                    h2.write_u64(s);
                }
            }
        }
        let v = h2.finish();
        self.memo.insert(id, v);
        v
    }
}
