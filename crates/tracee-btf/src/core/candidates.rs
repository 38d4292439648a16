//! Candidate lookup: the target types a local type may relocate to.
//!
//! libbpf scans every target type for each local type (one linear pass per type, which is
//! what makes BTFGen slow on large BTFs). Here the target's name index answers the exact
//! essential name, and names that carry a flavor suffix themselves (rare in kernel BTF) are
//! found through a small side table built once per target from its string section.

use hashbrown::HashMap;

use super::{essential_name, kind_core_compat};
use crate::{Btf, TypeId};

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
