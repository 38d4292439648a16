//! Computing relocation values: the 13 kinds, candidate iteration with pruning, and the
//! ambiguity checks of libbpf's `bpf_core_calc_relo_insn`.

use hashbrown::HashMap;

use super::candidates::{CandidateCache, Shapes};
use super::matching::{is_signed_field, Matcher};
use super::spec::{member_bits, CoreSpec};
use super::{CoreError, CoreRelo, CoreReloKind};
use crate::{Btf, Type, TypeId};

/// The outcome of one relocation: the value the compiler put in the instruction
/// (`orig_val`, computed from the local BTF) and the value for the target (`new_val`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RelocResult {
    /// Value computed against the local BTF (what the instruction should hold).
    pub orig_val: u64,
    /// Value for the target.
    pub new_val: u64,
    /// No candidate matched and the kind has no "absent" value: libbpf poisons the
    /// instruction (the verifier rejects it if it is reachable).
    pub poison: bool,
    /// Whether libbpf would check the instruction holds `orig_val` before patching.
    pub validate: bool,
    /// Memory access size in the local BTF (field offset relocations of loads/stores).
    pub orig_sz: u32,
    /// Memory access size in the target.
    pub new_sz: u32,
    /// The load/store size change is unsafe (neither pointers nor unsigned integers).
    pub fail_memsz_adjust: bool,
    /// Root of the first matching target type, if any.
    pub target_type_id: Option<TypeId>,
    /// The low-level access path in the target (`"0:12:3"`), if a candidate matched.
    pub target_access: Option<String>,
    /// Number of matching candidates (all agreed).
    pub matched: u32,
}

/// The results of [`relocate_all`], one per input relocation, in input order.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RelocationReport {
    /// Per relocation: the result or why it could not be computed.
    pub results: Vec<Result<RelocResult, CoreError>>,
}

impl RelocationReport {
    /// Number of relocations resolved (including poisoned and "absent" ones).
    pub fn ok_count(&self) -> usize {
        self.results.iter().filter(|r| r.is_ok()).count()
    }
}

enum Calc {
    Val {
        val: u64,
        sz: u32,
        type_id: TypeId,
        validate: bool,
    },
    Poison,
}

/// Resolves relocations of one local BTF against one target, caching candidates per local
/// type (and pruning them as libbpf does).
pub struct Relocator<'l, 't> {
    matcher: Matcher<'l, 't>,
    cache: CandidateCache<'t>,
    shapes: Shapes<'t>,
    local_ptr: u32,
}

impl<'l, 't> Relocator<'l, 't> {
    /// A relocator from `local` (the object's BTF) to `target` (the kernel's).
    pub fn new(local: &'l Btf, target: &'t Btf) -> Relocator<'l, 't> {
        Relocator {
            matcher: Matcher::new(local, target),
            cache: CandidateCache::new(target),
            shapes: Shapes::new(target),
            local_ptr: local.ptr_size(),
        }
    }

    /// Looks up the candidates of every relocation's root type in one pass over the target
    /// (see [`CandidateCache::prefetch`]); optional, [`Relocator::relocate`] looks up what is
    /// missing.
    pub fn prefetch(&mut self, relos: &[CoreRelo]) {
        let ids = relos
            .iter()
            .filter(|r| r.kind != CoreReloKind::TypeIdLocal)
            .map(|r| r.local_type_id);
        self.cache.prefetch(self.matcher.local, ids);
    }

    /// The current (pruned) candidate list of a local root type, if it was looked up.
    pub fn candidates(&mut self, local_id: TypeId) -> &[TypeId] {
        self.cache.get(self.matcher.local, local_id)
    }

    /// The matcher of this pair (for re-matching specs).
    pub fn matcher(&self) -> &Matcher<'l, 't> {
        &self.matcher
    }

    /// Resolves one relocation.
    pub fn relocate(&mut self, relo: &CoreRelo) -> Result<RelocResult, CoreError> {
        self.relocate_spec(relo).map(|(res, _)| res)
    }

    /// [`Relocator::relocate`], also returning the target spec of the first matching
    /// candidate (what BTFGen keeps).
    pub(crate) fn relocate_spec(
        &mut self,
        relo: &CoreRelo,
    ) -> Result<(RelocResult, Option<CoreSpec<'t>>), CoreError> {
        self.matcher.reset_budget();
        let local = self.matcher.local;
        let targ = self.matcher.targ;
        let insn_off = relo.insn_off;
        let lt = local
            .type_by_id(relo.local_type_id)
            .map_err(|e| CoreError::BadBtf {
                insn_off,
                which: "local",
                reason: e.to_string(),
            })?;
        let local_spec = CoreSpec::parse(local, relo).map_err(|reason| CoreError::BadSpec {
            insn_off,
            type_id: relo.local_type_id,
            access: relo.access.clone(),
            reason,
        })?;
        if relo.kind == CoreReloKind::TypeIdLocal {
            let res = RelocResult {
                orig_val: u64::from(relo.local_type_id),
                new_val: u64::from(relo.local_type_id),
                poison: false,
                validate: false,
                orig_sz: 0,
                new_sz: 0,
                fail_memsz_adjust: false,
                target_type_id: None,
                target_access: None,
                matched: 0,
            };
            return Ok((res, None));
        }
        if lt.name().is_empty() {
            return Err(CoreError::AnonymousType {
                insn_off,
                type_id: relo.local_type_id,
                kind: relo.kind,
            });
        }
        let tb = |reason: String| CoreError::BadBtf {
            insn_off,
            which: "target",
            reason,
        };
        let cands: Vec<TypeId> = self.cache.get(local, relo.local_type_id).clone();
        let mut kept: Vec<TypeId> = Vec::with_capacity(cands.len());
        let mut best: Option<(RelocResult, CoreSpec<'t>)> = None;
        // Field relocations resolve equally on candidates of equal shape: match one per shape.
        let by_shape = relo.kind.is_field_based() && cands.len() > 1;
        let mut shapes_seen: HashMap<u64, bool> = HashMap::new();
        for &cand in &cands {
            let shape = by_shape.then(|| self.shapes.of(cand));
            if let Some(matched) = shape.and_then(|h| shapes_seen.get(&h)) {
                if *matched {
                    kept.push(cand);
                }
                continue;
            }
            let found = self.matcher.spec_match(&local_spec, cand).map_err(tb)?;
            if let Some(h) = shape {
                shapes_seen.insert(h, found.is_some());
            }
            let Some(cspec) = found else {
                continue;
            };
            let res = calc_relo(
                (local, self.local_ptr),
                (targ, self.matcher.targ_ptr),
                relo,
                &local_spec,
                Some(&cspec),
            )?;
            match &best {
                None => best = Some((res, cspec)),
                Some((first, fspec)) => {
                    if relo.kind.is_field_based() && cspec.bit_offset != fspec.bit_offset {
                        return Err(CoreError::OffsetAmbiguity {
                            insn_off,
                            spec: local_spec.describe(local),
                            first: fspec.root_type_id,
                            first_bits: fspec.bit_offset,
                            other: cand,
                            other_bits: cspec.bit_offset,
                        });
                    }
                    if res.poison != first.poison || res.new_val != first.new_val {
                        return Err(CoreError::ValueAmbiguity {
                            insn_off,
                            spec: local_spec.describe(local),
                            first: fspec.root_type_id,
                            first_val: (!first.poison).then_some(first.new_val),
                            other: cand,
                            other_val: (!res.poison).then_some(res.new_val),
                        });
                    }
                }
            }
            kept.push(cand);
        }
        match best {
            Some((mut res, spec)) => {
                res.matched = kept.len() as u32;
                res.target_type_id = Some(spec.root_type_id);
                res.target_access = Some(raw_string(&spec.raw, relo.kind));
                *self.cache.get(local, relo.local_type_id) = kept;
                Ok((res, Some(spec)))
            }
            None => calc_relo(
                (local, self.local_ptr),
                (targ, self.matcher.targ_ptr),
                relo,
                &local_spec,
                None,
            )
            .map(|res| (res, None)),
        }
    }
}

fn raw_string(raw: &[u32], kind: CoreReloKind) -> String {
    if kind.is_type_based() {
        return "0".into();
    }
    raw.iter().map(u32::to_string).collect::<Vec<_>>().join(":")
}

/// Resolves every relocation of `relos` (in order, sharing one candidate cache).
pub fn relocate_all(local: &Btf, target: &Btf, relos: &[CoreRelo]) -> RelocationReport {
    let mut r = Relocator::new(local, target);
    r.prefetch(relos);
    RelocationReport {
        results: relos.iter().map(|relo| r.relocate(relo)).collect(),
    }
}

fn calc_relo(
    (local, lptr): (&Btf, u32),
    (targ, tptr): (&Btf, u32),
    relo: &CoreRelo,
    lspec: &CoreSpec<'_>,
    tspec: Option<&CoreSpec<'_>>,
) -> Result<RelocResult, CoreError> {
    let mut res = RelocResult {
        orig_val: 0,
        new_val: 0,
        poison: false,
        validate: true,
        orig_sz: 0,
        new_sz: 0,
        fail_memsz_adjust: false,
        target_type_id: None,
        target_access: None,
        matched: 0,
    };
    let kind = relo.kind;
    let (orig, new) = if kind.is_field_based() {
        let o = calc_field(local, lptr, relo, Some(lspec), false)?;
        let n = calc_field(targ, tptr, relo, tspec, targ.is_big_endian())?;
        (o, n)
    } else if kind.is_type_based() {
        (
            calc_type(local, lptr, relo, Some(lspec))?,
            calc_type(targ, tptr, relo, tspec)?,
        )
    } else {
        (
            calc_enum(local, relo, Some(lspec))?,
            calc_enum(targ, relo, tspec)?,
        )
    };
    match orig {
        Calc::Val {
            val,
            sz,
            type_id,
            validate,
        } => {
            res.orig_val = val;
            res.orig_sz = sz;
            res.validate = validate;
            if let Calc::Val {
                val: nv,
                sz: nsz,
                type_id: nt,
                ..
            } = new
            {
                res.new_val = nv;
                res.new_sz = nsz;
                if kind.is_field_based() && sz != nsz {
                    let ot = local.type_by_id(type_id).ok();
                    let tt = targ.type_by_id(nt).ok();
                    let safe = match (ot, tt) {
                        (Some(Type::Ptr(_)), Some(Type::Ptr(_))) => true,
                        (Some(Type::Int(a)), Some(Type::Int(b))) => {
                            a.encoding() != crate::IntEncoding::SIGNED
                                && b.encoding() != crate::IntEncoding::SIGNED
                        }
                        _ => false,
                    };
                    res.fail_memsz_adjust = !safe;
                }
            } else {
                res.poison = true;
            }
        }
        // The local side always has a spec; only the target side can be absent.
        Calc::Poison => res.poison = true,
    }
    Ok(res)
}

fn unsat(relo: &CoreRelo, reason: impl Into<String>) -> CoreError {
    CoreError::Unsatisfiable {
        insn_off: relo.insn_off,
        reason: reason.into(),
    }
}

fn calc_field(
    btf: &Btf,
    ptr: u32,
    relo: &CoreRelo,
    spec: Option<&CoreSpec<'_>>,
    big_endian: bool,
) -> Result<Calc, CoreError> {
    let kind = relo.kind;
    if kind == CoreReloKind::FieldExists {
        return Ok(Calc::Val {
            val: u64::from(spec.is_some()),
            sz: 0,
            type_id: 0,
            validate: true,
        });
    }
    let Some(spec) = spec else {
        return Ok(Calc::Poison);
    };
    let bad = |e: crate::BtfError| unsat(relo, e.to_string());
    let acc = spec
        .accessors
        .last()
        .ok_or_else(|| unsat(relo, "field spec without accessors"))?;
    if acc.name.is_none() {
        // An array element (or the root itself).
        let val;
        let mut sz = 0;
        let mut type_id = 0;
        match kind {
            CoreReloKind::FieldByteOffset => {
                val = spec.bit_offset / 8;
                let elem = innermost_elem(btf, acc.type_id).map_err(bad)?;
                sz = super::size_of(btf, elem, ptr).map_err(bad)? as u32;
                type_id = acc.type_id;
            }
            CoreReloKind::FieldByteSize => {
                val = super::size_of(btf, acc.type_id, ptr).map_err(bad)?
            }
            _ => {
                return Err(unsat(
                    relo,
                    format!("<{kind}> cannot be applied to an array element"),
                ))
            }
        }
        return Ok(Calc::Val {
            val,
            sz,
            type_id,
            validate: true,
        });
    }
    let (_, bit_sz_raw, mtype, _) = member_bits(btf, acc.type_id, acc.idx)
        .ok_or_else(|| unsat(relo, "accessor names a missing member"))?;
    let field_type_id = btf.skip_mods_and_typedefs(mtype).map_err(bad)?;
    let mt = btf.type_by_id(field_type_id).map_err(bad)?;
    let bit_off: u64 = spec.bit_offset;
    if bit_off > u64::from(u32::MAX) {
        return Err(unsat(relo, "bit offset beyond 32 bits"));
    }
    let bitfield = bit_sz_raw > 0;
    let (byte_off, byte_sz, bit_sz): (u64, u64, u64) = if bitfield {
        let mut byte_sz = u64::from(mt.size().unwrap_or(0));
        if byte_sz == 0 {
            return Err(unsat(
                relo,
                format!("bitfield of sizeless type [{field_type_id}]"),
            ));
        }
        let bit_sz = u64::from(bit_sz_raw);
        let mut byte_off = bit_off / 8 / byte_sz * byte_sz;
        while bit_off + bit_sz - byte_off * 8 > byte_sz * 8 {
            if byte_sz >= 8 {
                return Err(unsat(relo, "bitfield cannot be read with one 64-bit load"));
            }
            byte_sz *= 2;
            byte_off = bit_off / 8 / byte_sz * byte_sz;
        }
        (byte_off, byte_sz, bit_sz)
    } else {
        let sz = super::size_of(btf, field_type_id, ptr).map_err(bad)?;
        (bit_off / 8, sz, sz * 8)
    };
    let mut validate = !bitfield;
    let mut sz = 0;
    let mut type_id = 0;
    let val = match kind {
        CoreReloKind::FieldByteOffset => {
            if !bitfield {
                let elem = innermost_elem(btf, field_type_id).map_err(bad)?;
                sz = super::size_of(btf, elem, ptr).map_err(bad)? as u32;
                type_id = field_type_id;
            }
            byte_off
        }
        CoreReloKind::FieldByteSize => byte_sz,
        CoreReloKind::FieldSigned => {
            validate = true;
            u64::from(is_signed_field(&mt))
        }
        CoreReloKind::FieldLshiftU64 => {
            if big_endian {
                (8u64.wrapping_sub(byte_sz))
                    .wrapping_mul(8)
                    .wrapping_add(bit_off - byte_off * 8)
            } else {
                64u64.wrapping_sub(bit_off + bit_sz - byte_off * 8)
            }
        }
        CoreReloKind::FieldRshiftU64 => {
            validate = true;
            64u64.wrapping_sub(bit_sz)
        }
        _ => return Err(unsat(relo, format!("<{kind}> is not a field relocation"))),
    };
    Ok(Calc::Val {
        val,
        sz,
        type_id,
        validate,
    })
}

/// For arrays (of arrays...), the element type whose size a load uses.
fn innermost_elem(btf: &Btf, id: TypeId) -> Result<TypeId, crate::BtfError> {
    let mut cur = btf.skip_mods_and_typedefs(id)?;
    for _ in 0..crate::btf::MAX_RESOLVE_DEPTH {
        match btf.type_by_id(cur)? {
            Type::Array(a) => cur = btf.skip_mods_and_typedefs(a.elem_type())?,
            _ => return Ok(cur),
        }
    }
    Err(crate::BtfError::Cycle {
        id,
        depth: crate::btf::MAX_RESOLVE_DEPTH,
    })
}

fn calc_type(
    btf: &Btf,
    ptr: u32,
    relo: &CoreRelo,
    spec: Option<&CoreSpec<'_>>,
) -> Result<Calc, CoreError> {
    let Some(spec) = spec else {
        return Ok(Calc::Val {
            val: 0,
            sz: 0,
            type_id: 0,
            validate: true,
        });
    };
    let val = match relo.kind {
        CoreReloKind::TypeIdTarget => {
            return Ok(Calc::Val {
                val: u64::from(spec.root_type_id),
                sz: 0,
                type_id: 0,
                validate: false,
            })
        }
        CoreReloKind::TypeExists | CoreReloKind::TypeMatches => 1,
        CoreReloKind::TypeSize => {
            super::size_of(btf, spec.root_type_id, ptr).map_err(|e| unsat(relo, e.to_string()))?
        }
        // TYPE_ID_LOCAL never reaches here.
        k => return Err(unsat(relo, format!("<{k}> is not a type relocation"))),
    };
    Ok(Calc::Val {
        val,
        sz: 0,
        type_id: 0,
        validate: true,
    })
}

fn calc_enum(btf: &Btf, relo: &CoreRelo, spec: Option<&CoreSpec<'_>>) -> Result<Calc, CoreError> {
    let val = match relo.kind {
        CoreReloKind::EnumvalExists => u64::from(spec.is_some()),
        CoreReloKind::EnumvalValue => {
            let Some(spec) = spec else {
                return Ok(Calc::Poison);
            };
            let acc = spec
                .accessors
                .first()
                .ok_or_else(|| unsat(relo, "enum spec without accessor"))?;
            match btf.type_by_id(acc.type_id) {
                Ok(Type::Enum(e)) => {
                    let v = e
                        .values()
                        .nth(acc.idx as usize)
                        .ok_or_else(|| unsat(relo, "enumerator out of range"))?;
                    // libbpf reads 32-bit enumerators as __s32 and widens with sign extension.
                    i64::from(v.value as u32 as i32) as u64
                }
                Ok(Type::Enum64(e)) => {
                    let v = e
                        .values()
                        .nth(acc.idx as usize)
                        .ok_or_else(|| unsat(relo, "enumerator out of range"))?;
                    v.value as u64
                }
                _ => return Err(unsat(relo, "enum spec on a non-enum")),
            }
        }
        k => return Err(unsat(relo, format!("<{k}> is not an enum relocation"))),
    };
    Ok(Calc::Val {
        val,
        sz: 0,
        type_id: 0,
        validate: true,
    })
}
