//! Native BTFGen: the smallest BTF that resolves a set of CO-RE relocations exactly as the
//! full target BTF does (`bpftool gen min_core_btf`).
//!
//! What is kept, per relocation that matched in the target:
//! * field kinds: the root type and, along the access path, only the accessed members (other
//!   members are dropped, struct sizes stay) with the types needed to compare and size them;
//!   pointer members keep their pointee only if something else keeps it (else `void *`);
//! * TYPE_EXISTS / TYPE_SIZE / TYPE_ID_TARGET: the root type, following pointers, with
//!   structs and unions as empty shells of the right size;
//! * TYPE_MATCHES: the full type (all members, recursively, shells behind pointers);
//! * enum kinds: the whole enum.
//!
//! Unlike bpftool, forward declarations and type tags on the way are kept rather than
//! refused, split BTF works (the output is standalone), and each local type is mapped to
//! one target candidate — the first that survives every relocation of that type — so
//! kernels with hundreds of duplicate copies of a struct still yield one copy.

use hashbrown::{HashMap, HashSet};

use super::relocate::{RelocResult, Relocator};
use super::spec::CoreSpec;
use super::{essential_name, CoreError, CoreRelo, CoreReloKind};
use crate::writer::MemberSpec;
use crate::{Btf, BtfBuilder, BtfError, Type, TypeId};

/// Counts describing one minimization.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MinimizeStats {
    /// Relocations given.
    pub relocations: usize,
    /// Relocations that matched a target type (and were recorded).
    pub matched: usize,
    /// Relocations whose target is absent (field/type/enumerator does not exist).
    pub unmatched: usize,
    /// Types in the output.
    pub types: u32,
    /// Types in the input target (base included).
    pub target_types: u32,
}

/// The result of [`min_core_btf`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Minimized {
    /// The minimized BTF, raw (write it to a file for libbpf's `btf_custom_path`).
    pub btf: Vec<u8>,
    /// The relocation results against the full target, in input order.
    pub results: Vec<Result<RelocResult, CoreError>>,
    /// Counts.
    pub stats: MinimizeStats,
}

/// Errors of [`min_core_btf`] itself (relocation errors are reported per relocation).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MinimizeError {
    /// The target BTF is malformed where a kept type needs it.
    #[error("target BTF type {id}: {source}")]
    Target {
        /// The type being kept.
        id: TypeId,
        /// The underlying error.
        #[source]
        source: BtfError,
    },
    /// Writing the minimized BTF failed.
    #[error("writing minimized BTF: {0}")]
    Write(#[source] BtfError),
}

/// Which parts of a kept type are needed.
#[derive(Default)]
struct Keep {
    /// For composites: all members.
    all_members: bool,
    /// For composites: indices of the members needed.
    members: Vec<u32>,
}

struct Marker<'t> {
    btf: &'t Btf,
    kept: HashMap<TypeId, Keep>,
    /// (id, follow_pointers) pairs already walked by `mark_type`.
    walked: HashSet<(TypeId, bool)>,
    /// (id, behind_ptr) pairs already walked by `mark_match`.
    matched: HashSet<(TypeId, bool)>,
}

const MAX_DEPTH: u32 = 64;

impl<'t> Marker<'t> {
    fn t(&self, id: TypeId) -> Result<Type<'t>, MinimizeError> {
        self.btf
            .type_by_id(id)
            .map_err(|source| MinimizeError::Target { id, source })
    }

    fn keep(&mut self, id: TypeId) -> &mut Keep {
        self.kept.entry(id).or_default()
    }

    /// Keeps `id` and what it needs to be compared and sized; composites as shells.
    fn mark_type(
        &mut self,
        id: TypeId,
        follow_ptrs: bool,
        depth: u32,
    ) -> Result<(), MinimizeError> {
        if id == 0 || depth > MAX_DEPTH || !self.walked.insert((id, follow_ptrs)) {
            return Ok(());
        }
        let t = self.t(id)?;
        self.keep(id);
        match t {
            Type::Ptr(r) if follow_ptrs => self.mark_type(r.type_id(), follow_ptrs, depth + 1)?,
            Type::Typedef(r)
            | Type::Const(r)
            | Type::Volatile(r)
            | Type::Restrict(r)
            | Type::TypeTag(r) => self.mark_type(r.type_id(), follow_ptrs, depth + 1)?,
            Type::Array(a) => {
                self.mark_type(a.elem_type(), follow_ptrs, depth + 1)?;
                self.mark_type(a.index_type(), follow_ptrs, depth + 1)?;
            }
            Type::FuncProto(p) => {
                self.mark_type(p.return_type(), follow_ptrs, depth + 1)?;
                for prm in p.params() {
                    self.mark_type(prm.type_id, follow_ptrs, depth + 1)?;
                }
            }
            Type::Func(_) | Type::Var(_) | Type::DeclTag(_) => {
                if let Some(r) = t.ref_type() {
                    self.mark_type(r, follow_ptrs, depth + 1)?;
                }
            }
            Type::Datasec(d) => {
                for v in d.vars() {
                    self.mark_type(v.type_id, follow_ptrs, depth + 1)?;
                }
            }
            // INT, FLOAT, ENUM, ENUM64, FWD, and composites (members only on demand).
            _ => {}
        }
        Ok(())
    }

    /// Keeps `id` fully, as TYPE_MATCHES compares it: all members of composites not behind a
    /// pointer, recursively; only the shell behind pointers.
    fn mark_match(
        &mut self,
        id: TypeId,
        behind_ptr: bool,
        depth: u32,
    ) -> Result<(), MinimizeError> {
        if id == 0 || depth > MAX_DEPTH || !self.matched.insert((id, behind_ptr)) {
            return Ok(());
        }
        let t = self.t(id)?;
        self.keep(id);
        match t {
            Type::Struct(c) | Type::Union(c) if !behind_ptr => {
                self.keep(id).all_members = true;
                for m in c.members() {
                    self.mark_match(m.type_id, false, depth + 1)?;
                }
            }
            Type::Typedef(r)
            | Type::Const(r)
            | Type::Volatile(r)
            | Type::Restrict(r)
            | Type::TypeTag(r) => self.mark_match(r.type_id(), behind_ptr, depth + 1)?,
            Type::Ptr(r) => self.mark_match(r.type_id(), true, depth + 1)?,
            Type::Array(a) => {
                self.mark_match(a.elem_type(), false, depth + 1)?;
                self.mark_match(a.index_type(), false, depth + 1)?;
            }
            Type::FuncProto(p) => {
                self.mark_match(p.return_type(), false, depth + 1)?;
                for prm in p.params() {
                    self.mark_match(prm.type_id, false, depth + 1)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Keeps the members along a field access path in the target.
    fn mark_field(&mut self, spec: &CoreSpec<'_>) -> Result<(), MinimizeError> {
        let mut id = spec.root_type_id;
        self.mark_type(id, false, 0)?;
        for &idx in spec.raw.iter().skip(1) {
            id = self
                .btf
                .skip_mods_and_typedefs(id)
                .map_err(|source| MinimizeError::Target { id, source })?;
            match self.t(id)? {
                Type::Struct(c) | Type::Union(c) => {
                    let Some(m) = c.member(idx as usize) else {
                        return Ok(());
                    };
                    let k = self.keep(id);
                    if !k.members.contains(&idx) {
                        k.members.push(idx);
                    }
                    self.mark_type(m.type_id, false, 0)?;
                    id = m.type_id;
                }
                Type::Array(a) => id = a.elem_type(),
                _ => return Ok(()),
            }
        }
        Ok(())
    }
}

/// Minimizes `target` to what the relocations `relos` of the object whose BTF is `local`
/// need, and resolves them against the full target on the way.
///
/// Relocations that fail (malformed access strings, ambiguous candidates) are reported in
/// [`Minimized::results`] and contribute nothing; relocating against the returned BTF gives
/// the same results as against `target` for every relocation that succeeded (type ids of
/// TYPE_ID_TARGET aside: they are ids in the new BTF). For several objects, use [`BtfGen`].
///
/// ```no_run
/// # fn f(kernel: &tracee_btf::Btf, obj_btf: &tracee_btf::Btf, relos: &[tracee_btf::core::CoreRelo])
/// # -> Result<(), Box<dyn std::error::Error>> {
/// let min = tracee_btf::core::min_core_btf(kernel, obj_btf, relos)?;
/// std::fs::write("min.btf", &min.btf)?;
/// # Ok(()) }
/// ```
pub fn min_core_btf(
    target: &Btf,
    local: &Btf,
    relos: &[CoreRelo],
) -> Result<Minimized, MinimizeError> {
    let mut gen = BtfGen::new(target);
    let results = gen.add_object(local, relos)?;
    let stats = MinimizeStats {
        types: gen.kept_types() as u32,
        ..gen.stats().clone()
    };
    let btf = gen.finish()?;
    Ok(Minimized {
        btf,
        results,
        stats,
    })
}

/// Minimizes one target BTF for any number of objects (`bpftool gen min_core_btf` with
/// several objects): the kept types are the union of what each object needs.
pub struct BtfGen<'t> {
    marker: Marker<'t>,
    stats: MinimizeStats,
    /// Names of local types whose TYPE_MATCHES found no match in the full target. Whatever
    /// else keeps a target type of that name must keep it whole, or pruning (a pointer member
    /// turned `void *`, a member dropped) could make it match in the output.
    unmatched_names: HashSet<String>,
}

impl<'t> BtfGen<'t> {
    /// Starts minimizing `target`.
    pub fn new(target: &'t Btf) -> BtfGen<'t> {
        BtfGen {
            marker: Marker {
                btf: target,
                kept: HashMap::new(),
                walked: HashSet::new(),
                matched: HashSet::new(),
            },
            stats: MinimizeStats {
                target_types: target.last_id(),
                ..MinimizeStats::default()
            },
            unmatched_names: HashSet::new(),
        }
    }

    /// Counts so far (`types` is only filled in by [`min_core_btf`]; see [`BtfGen::kept_types`]).
    pub fn stats(&self) -> &MinimizeStats {
        &self.stats
    }

    /// Number of target types kept so far.
    pub fn kept_types(&self) -> usize {
        self.marker.kept.len()
    }

    /// Resolves the relocations of one object (whose BTF is `local`) against the target and
    /// keeps what they need. Returns the per-relocation results against the full target.
    pub fn add_object(
        &mut self,
        local: &Btf,
        relos: &[CoreRelo],
    ) -> Result<Vec<Result<RelocResult, CoreError>>, MinimizeError> {
        let target = self.marker.btf;
        let mut relocator = Relocator::new(local, target);
        relocator.prefetch(relos);
        let mut results = Vec::with_capacity(relos.len());
        let mut tspecs = Vec::with_capacity(relos.len());
        for r in relos {
            let (res, spec) = match relocator.relocate_spec(r) {
                Ok((res, spec)) => (Ok(res), spec),
                Err(e) => (Err(e), None),
            };
            results.push(res);
            tspecs.push(spec);
        }
        self.stats.relocations += relos.len();
        for ((relo, res), first) in relos.iter().zip(&results).zip(tspecs) {
            let Ok(res) = res else { continue };
            if relo.kind == CoreReloKind::TypeIdLocal {
                continue;
            }
            if res.target_type_id.is_none() {
                self.stats.unmatched += 1;
                if relo.kind == CoreReloKind::TypeMatches {
                    if let Ok(t) = local.type_by_id(relo.local_type_id) {
                        // Candidates are matched by the name without its `___flavor`.
                        let base = essential_name(t.name());
                        if !base.is_empty() {
                            self.unmatched_names.insert(base.to_owned());
                        }
                    }
                }
                continue;
            }
            self.stats.matched += 1;
            // The candidate every relocation of this local type agrees on.
            let Some(&canon) = relocator.candidates(relo.local_type_id).first() else {
                continue;
            };
            // The first match found while relocating, unless pruning by later relocations
            // of the same type dropped it: then match the survivor again.
            let tspec = match first {
                Some(spec) if spec.root_type_id == canon => spec,
                _ => {
                    let Ok(lspec) = CoreSpec::parse(local, relo) else {
                        continue;
                    };
                    relocator.matcher().reset_budget();
                    let Ok(Some(tspec)) = relocator.matcher().spec_match(&lspec, canon) else {
                        continue;
                    };
                    tspec
                }
            };
            let m = &mut self.marker;
            match relo.kind {
                k if k.is_field_based() => m.mark_field(&tspec)?,
                CoreReloKind::TypeMatches => m.mark_match(tspec.root_type_id, false, 0)?,
                k if k.is_type_based() => m.mark_type(tspec.root_type_id, true, 0)?,
                _ => m.mark_type(tspec.root_type_id, false, 0)?,
            }
        }
        Ok(results)
    }

    /// Whether `id` is a kept composite named in `unmatched_names` with a kept pointer
    /// member whose pointee is not kept.
    fn prunes_a_pointer(&self, id: TypeId) -> bool {
        let m = &self.marker;
        let (Ok(t), Some(keep)) = (m.btf.type_by_id(id), m.kept.get(&id)) else {
            return false;
        };
        let c = match &t {
            Type::Struct(c) | Type::Union(c) if self.unmatched_names.contains(t.name()) => c,
            _ => return false,
        };
        c.members().enumerate().any(|(i, mem)| {
            (keep.all_members || keep.members.contains(&(i as u32)))
                && matches!(m.btf.type_by_id(mem.type_id), Ok(Type::Ptr(r))
                    if r.type_id() != 0 && !m.kept.contains_key(&r.type_id()))
        })
    }

    /// Writes the minimized BTF.
    pub fn finish(mut self) -> Result<Vec<u8>, MinimizeError> {
        self.keep_non_matches_whole()?;
        emit(self.marker.btf, &self.marker.kept)
    }

    /// Keeps whole every kept target composite named like a local type that failed
    /// TYPE_MATCHES (see `unmatched_names`) when pruning could make it match: when one of its
    /// kept members is a pointer whose pointee is not kept (the output would say `void *`).
    /// Dropped members cannot create a match (every local member must be found), so types
    /// without such pointers stay pruned. Repeats until nothing new is kept.
    fn keep_non_matches_whole(&mut self) -> Result<(), MinimizeError> {
        if self.unmatched_names.is_empty() {
            return Ok(());
        }
        let mut done: HashSet<TypeId> = HashSet::new();
        loop {
            let todo: Vec<TypeId> = self
                .marker
                .kept
                .keys()
                .copied()
                .filter(|id| !done.contains(id))
                .collect();
            if todo.is_empty() {
                return Ok(());
            }
            for id in todo {
                done.insert(id);
                if self.prunes_a_pointer(id) {
                    self.marker.mark_match(id, false, 0)?;
                }
            }
        }
    }
}

/// Writes the kept types in their original order, renumbered; pointers to types not kept
/// become `void *`.
fn emit(target: &Btf, kept: &HashMap<TypeId, Keep>) -> Result<Vec<u8>, MinimizeError> {
    let mut ids: Vec<TypeId> = kept.keys().copied().collect();
    ids.sort_unstable();
    let new_id: HashMap<TypeId, TypeId> = ids
        .iter()
        .enumerate()
        .map(|(i, &id)| (id, i as TypeId + 1))
        .collect();
    let remap =
        |id: TypeId| -> Result<TypeId, BtfError> { Ok(new_id.get(&id).copied().unwrap_or(0)) };
    let mut b = BtfBuilder::new().with_big_endian(target.is_big_endian());
    for &id in &ids {
        let t = target
            .type_by_id(id)
            .map_err(|source| MinimizeError::Target { id, source })?;
        let res = match t {
            Type::Struct(c) | Type::Union(c) => {
                let keep = &kept[&id];
                let mut members = Vec::new();
                for (i, m) in c.members().enumerate() {
                    if !keep.all_members && !keep.members.contains(&(i as u32)) {
                        continue;
                    }
                    let (bit_offset, bitfield_size) = if c.kind_flag() {
                        (m.raw_offset & 0x00ff_ffff, m.raw_offset >> 24)
                    } else {
                        (m.raw_offset, 0)
                    };
                    members.push(MemberSpec {
                        name: m.name,
                        type_id: new_id.get(&m.type_id).copied().unwrap_or(0),
                        bit_offset,
                        bitfield_size,
                    });
                }
                if c.is_union() {
                    b.add_union(t.name(), c.size(), &members)
                } else {
                    b.add_struct(t.name(), c.size(), &members)
                }
            }
            _ => b.add_type(&t, remap),
        };
        res.map_err(MinimizeError::Write)?;
    }
    b.finish().map_err(MinimizeError::Write)
}
