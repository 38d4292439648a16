//! Candidate lookup: the target types a local type may relocate to.
//!
//! libbpf scans every target type for each local type (one linear pass per type, which is
//! what makes BTFGen slow on large BTFs). Here the target's name index answers the exact
//! essential name, and names that carry a flavor suffix themselves (rare in kernel BTF) are
//! found through a small side table built once per target from its string section.

use hashbrown::{DefaultHashBuilder, HashMap};

use super::{essential_bytes, essential_name, is_any_enum, kind_core_compat, record_u32};
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
        let mut prefixes = PrefixFilter::new();
        for ess in wanted.keys() {
            prefixes.add_essential(ess);
        }
        let mut chain = Vec::new();
        let mut cur = Some(self.target);
        while let Some(b) = cur {
            chain.push(b);
            cur = b.base().map(|a| &**a);
        }
        // Two passes: gathering the positions of wanted kinds first (from the index's kind
        // bytes, without touching other records) leaves the second pass with independent
        // loads of records and names, which the CPU overlaps instead of waiting for each.
        let mut named: Vec<u32> = Vec::new();
        for b in chain.into_iter().rev() {
            let data = b.data();
            let endian = b.endian();
            let first = b.first_id();
            let offsets = b.own_offsets();
            named.clear();
            named.resize(offsets.len() + 1, 0);
            let mut n = 0;
            for (pos, &k) in b.own_kinds().iter().enumerate() {
                named[n] = pos as u32;
                n += usize::from(kinds[usize::from(k & 31)]);
            }
            for &pos in &named[..n] {
                let off = offsets[pos as usize] as usize;
                let name_off = field(data, off, endian);
                if name_off == 0 || !prefixes.may_match(b.name_prefix(name_off)) {
                    continue;
                }
                let name = b.name_bytes(name_off);
                let Some(locals) = wanted.get(essential_bytes(name)) else {
                    continue;
                };
                let tkind = Kind::from_raw(b.own_kinds()[pos as usize]);
                for &(lid, lkind) in locals {
                    if kind_core_compat(tkind, lkind) {
                        if let Some(l) = self.lists.get_mut(&lid) {
                            l.push(first + pos);
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

/// A bitmap over the first four bytes of the names a candidate scan looks for, so that most
/// target names are rejected without measuring, hashing or comparing them.
struct PrefixFilter {
    bits: Box<[u64; 1024]>,
}

impl PrefixFilter {
    fn new() -> PrefixFilter {
        PrefixFilter {
            bits: Box::new([0; 1024]),
        }
    }

    fn slot(prefix: [u8; 4]) -> usize {
        (u32::from_le_bytes(prefix).wrapping_mul(0x9e37_79b1) >> 16) as usize
    }

    fn set(&mut self, prefix: [u8; 4]) {
        let s = Self::slot(prefix);
        self.bits[s / 64] |= 1 << (s % 64);
    }

    /// Admits the prefixes of `ess` itself and of any flavor of it (`ess___x`): for names
    /// shorter than four bytes the prefix continues with NULs or with the separator.
    fn add_essential(&mut self, ess: &[u8]) {
        let mut nul = [0u8; 4];
        let mut sep = [b'_'; 4];
        let n = ess.len().min(4);
        nul[..n].copy_from_slice(&ess[..n]);
        sep[..n].copy_from_slice(&ess[..n]);
        self.set(nul);
        self.set(sep);
    }

    fn may_match(&self, prefix: [u8; 4]) -> bool {
        let s = Self::slot(prefix);
        self.bits[s / 64] & (1 << (s % 64)) != 0
    }
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
    /// Seeded once per instance: equal shapes hash equally within it.
    hasher: DefaultHashBuilder,
}

impl<'t> Shapes<'t> {
    pub(crate) fn new(btf: &'t Btf) -> Shapes<'t> {
        Shapes {
            btf,
            memo: HashMap::new(),
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// A hash of `id`'s by-value closure (pointees ignored). Names are hashed by string
    /// offset: equal offsets are equal names, and equal names at different offsets only cost
    /// a missed merge.
    pub(crate) fn of(&mut self, id: TypeId) -> u64 {
        self.hash(id, 0)
    }

    fn hash(&mut self, id: TypeId, depth: u32) -> u64 {
        use std::hash::{BuildHasher, Hasher};
        if let Some(&h) = self.memo.get(&id) {
            return h;
        }
        // 64 bits with a per-run random seed make collisions moot.
        let mut h2 = self.hasher.build_hasher();
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
        h2.write_u32(t.name_off());
        let rec = t.record_bytes();
        let big = btf.is_big_endian();
        let word = |off: usize| record_u32(rec, off, big);
        match t {
            Type::Ptr(_) => {}
            Type::Struct(c) | Type::Union(c) => {
                h2.write_u32(c.size());
                for i in 0..usize::from(c.vlen()) {
                    let base = 12 + 12 * i;
                    h2.write_u32(word(base));
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
            // Size, then enumerators: name offsets and values.
            Type::Enum(_) | Type::Enum64(_) => h2.write(&rec[8.min(rec.len())..]),
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
