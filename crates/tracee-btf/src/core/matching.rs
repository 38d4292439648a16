//! Compatibility and matching rules between a local and a target type (libbpf's
//! `relo_core.c`): field compatibility, type compatibility for type-based relocations,
//! `type_matches`, member lookup through anonymous members, and spec matching.
//!
//! Every walk is bounded: by libbpf's depth limits and by a work budget, so cyclic or
//! adversarial BTF ends with an error instead of an endless or exponential walk.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use hashbrown::HashMap;

use super::spec::{is_flex_arr, mul_bits, Accessor, CoreSpec};
use super::CORE_SPEC_MAX_LEN;
use super::{
    essential_name, is_any_enum, is_composite, kind_core_compat, record_u32, skip_mods, MAX_LEVEL,
};
use crate::{Btf, Kind, Type, TypeId};

/// Steps one relocation may spend comparing types before giving up.
const BUDGET: u32 = 1 << 22;

/// A local/target BTF pair and the work budget of the comparison in progress.
pub struct Matcher<'l, 't> {
    /// The object's BTF.
    pub local: &'l Btf,
    /// The kernel's BTF.
    pub targ: &'t Btf,
    /// The target's pointer size.
    pub(crate) targ_ptr: u32,
    budget: Cell<u32>,
    /// Member-name indexes of large target composites, built when one is searched again
    /// (`None`: searched once).
    members: RefCell<HashMap<TypeId, Option<Rc<MemberIndex<'t>>>>>,
}

/// Composites with fewer members are scanned; larger ones (`task_struct` has hundreds, and
/// most relocations walk it) get a name index.
const MEMBER_INDEX_MIN: u16 = 24;

/// The members of one target composite by name: the first member of each name, and the
/// anonymous members (searched recursively, in order, before a later named match).
struct MemberIndex<'t> {
    first: HashMap<&'t [u8], u32>,
    anon: Vec<u32>,
}

type R<T> = Result<T, String>;

fn berr(e: crate::BtfError) -> String {
    e.to_string()
}

impl<'l, 't> Matcher<'l, 't> {
    /// A matcher with a fresh budget.
    pub fn new(local: &'l Btf, targ: &'t Btf) -> Matcher<'l, 't> {
        Matcher {
            local,
            targ,
            targ_ptr: super::ptr_size_scan(targ),
            budget: Cell::new(BUDGET),
            members: RefCell::new(HashMap::new()),
        }
    }

    /// Restores the full budget (call once per relocation).
    pub fn reset_budget(&self) {
        self.budget.set(BUDGET);
    }

    fn step(&self) -> R<()> {
        let b = self.budget.get();
        if b == 0 {
            return Err(
                "type comparison exceeds its work budget (cyclic or adversarial BTF?)".into(),
            );
        }
        self.budget.set(b - 1);
        Ok(())
    }

    /// Field compatibility (`bpf_core_fields_are_compat`): composites always match each
    /// other; pointers and floats match; enums and forward declarations if their essential
    /// names agree or one is anonymous; integers unless one is a legacy bitfield-like INT
    /// with a bit offset; arrays by element type.
    pub fn fields_are_compat(&self, local_id: TypeId, targ_id: TypeId) -> R<bool> {
        let (mut lid, mut tid) = (local_id, targ_id);
        for _ in 0..MAX_LEVEL {
            self.step()?;
            let (l_id, lt) = skip_mods(self.local, lid).map_err(berr)?;
            let (t_id, tt) = skip_mods(self.targ, tid).map_err(berr)?;
            let (lk, tk) = (lt.kind(), tt.kind());
            if is_composite(lk) && is_composite(tk) {
                return Ok(true);
            }
            if !kind_core_compat(lk, tk) {
                return Ok(false);
            }
            match (lt, tt) {
                (Type::Ptr(_), _) | (Type::Float(_), _) => return Ok(true),
                (Type::Fwd(_) | Type::Enum(_) | Type::Enum64(_), _) => {
                    let (ln, tn) = (essential_name(lt.name()), essential_name(tt.name()));
                    return Ok(ln.is_empty() || tn.is_empty() || ln == tn);
                }
                (Type::Int(li), Type::Int(ti)) => {
                    return Ok(li.bit_offset() == 0 && ti.bit_offset() == 0)
                }
                (Type::Array(la), Type::Array(ta)) => {
                    lid = la.elem_type();
                    tid = ta.elem_type();
                    let _ = (l_id, t_id);
                }
                _ => return Ok(false),
            }
        }
        Err(format!(
            "array nesting deeper than {MAX_LEVEL} comparing [{local_id}] and [{targ_id}]"
        ))
    }

    /// Type compatibility for TYPE_EXISTS/TYPE_SIZE/TYPE_ID_TARGET
    /// (`bpf_core_types_are_compat`): kinds agree after typedefs and modifiers; composites,
    /// enums and forward declarations are compatible by kind alone (the caller matched
    /// names); pointers and arrays by target type; function prototypes by parameters and
    /// return type.
    pub fn types_are_compat(&self, local_id: TypeId, targ_id: TypeId) -> R<bool> {
        self.types_are_compat_level(local_id, targ_id, MAX_LEVEL as i32)
    }

    fn types_are_compat_level(&self, local_id: TypeId, targ_id: TypeId, level: i32) -> R<bool> {
        let lk = self.local.type_by_id(local_id).map_err(berr)?.kind();
        let tk = self.targ.type_by_id(targ_id).map_err(berr)?.kind();
        if !kind_core_compat(lk, tk) {
            return Ok(false);
        }
        let (mut lid, mut tid) = (local_id, targ_id);
        for _ in 0..MAX_LEVEL {
            self.step()?;
            let (_, lt) = skip_mods(self.local, lid).map_err(berr)?;
            let (_, tt) = skip_mods(self.targ, tid).map_err(berr)?;
            if !kind_core_compat(lt.kind(), tt.kind()) {
                return Ok(false);
            }
            match (lt, tt) {
                (Type::Void, _)
                | (Type::Struct(_), _)
                | (Type::Union(_), _)
                | (Type::Enum(_), _)
                | (Type::Enum64(_), _)
                | (Type::Fwd(_), _) => return Ok(true),
                (Type::Int(li), Type::Int(ti)) => {
                    return Ok(li.bit_offset() == 0 && ti.bit_offset() == 0)
                }
                (Type::Ptr(lp), Type::Ptr(tp)) => {
                    lid = lp.type_id();
                    tid = tp.type_id();
                }
                (Type::Array(la), Type::Array(ta)) => {
                    lid = la.elem_type();
                    tid = ta.elem_type();
                }
                (Type::FuncProto(lf), Type::FuncProto(tf)) => {
                    if lf.params().len() != tf.params().len() {
                        return Ok(false);
                    }
                    for (lp, tp) in lf.params().zip(tf.params()) {
                        if level <= 0 {
                            return Err("function prototypes nest too deeply".into());
                        }
                        let l = self
                            .local
                            .skip_mods_and_typedefs(lp.type_id)
                            .map_err(berr)?;
                        let t = self.targ.skip_mods_and_typedefs(tp.type_id).map_err(berr)?;
                        if !self.types_are_compat_level(l, t, level - 1)? {
                            return Ok(false);
                        }
                    }
                    lid = self
                        .local
                        .skip_mods_and_typedefs(lf.return_type())
                        .map_err(berr)?;
                    tid = self
                        .targ
                        .skip_mods_and_typedefs(tf.return_type())
                        .map_err(berr)?;
                }
                _ => return Ok(false),
            }
        }
        Err(format!(
            "type chain deeper than {MAX_LEVEL} comparing [{local_id}] and [{targ_id}]"
        ))
    }

    /// `bpf_core_types_match`: the stricter layout match of TYPE_MATCHES (see libbpf's
    /// documentation of `bpf_core_type_matches`).
    pub fn types_match(&self, local_id: TypeId, targ_id: TypeId) -> R<bool> {
        self.types_match_level(local_id, targ_id, false, MAX_LEVEL as i32)
    }

    fn names_match(ln: &str, tn: &str) -> bool {
        if tn.is_empty() {
            return ln.is_empty();
        }
        essential_name(ln) == essential_name(tn)
    }

    fn types_match_level(
        &self,
        local_id: TypeId,
        targ_id: TypeId,
        mut behind_ptr: bool,
        level: i32,
    ) -> R<bool> {
        if level <= 0 {
            return Err("type_matches recursion too deep".into());
        }
        let (mut lid, mut tid) = (local_id, targ_id);
        for _ in 0..MAX_LEVEL {
            self.step()?;
            let (_, lt) = skip_mods(self.local, lid).map_err(berr)?;
            let (_, tt) = skip_mods(self.targ, tid).map_err(berr)?;
            if !Self::names_match(lt.name(), tt.name()) {
                return Ok(false);
            }
            let (lk, tk) = (lt.kind(), tt.kind());
            match lt {
                Type::Void => return Ok(tk == Kind::Void),
                Type::Fwd(lf) => {
                    let local_union = lf.is_union();
                    return Ok(match tt {
                        Type::Fwd(tf) => local_union == tf.is_union(),
                        Type::Struct(_) if behind_ptr => !local_union,
                        Type::Union(_) if behind_ptr => local_union,
                        _ => false,
                    });
                }
                Type::Enum(le) | Type::Enum64(le) => {
                    let te = match tt {
                        Type::Enum(e) | Type::Enum64(e) => e,
                        _ => return Ok(false),
                    };
                    if le.size() != te.size() || le.vlen() > te.vlen() {
                        return Ok(false);
                    }
                    for lv in le.values() {
                        let mut found = false;
                        for tv in te.values() {
                            self.step()?;
                            if Self::names_match(lv.name, tv.name) {
                                found = true;
                                break;
                            }
                        }
                        if !found {
                            return Ok(false);
                        }
                    }
                    return Ok(true);
                }
                Type::Struct(lc) | Type::Union(lc) => {
                    if behind_ptr {
                        if lk == tk {
                            return Ok(true);
                        }
                        return Ok(match tt {
                            Type::Fwd(tf) => tf.is_union() == (lk == Kind::Union),
                            _ => false,
                        });
                    }
                    if lk != tk {
                        return Ok(false);
                    }
                    let tc = match tt {
                        Type::Struct(c) | Type::Union(c) => c,
                        _ => return Ok(false),
                    };
                    if lc.vlen() > tc.vlen() {
                        return Ok(false);
                    }
                    for lm in lc.members() {
                        let mut matched = false;
                        for tm in tc.members() {
                            self.step()?;
                            if !Self::names_match(lm.name, tm.name) {
                                continue;
                            }
                            if self.types_match_level(
                                lm.type_id,
                                tm.type_id,
                                behind_ptr,
                                level - 1,
                            )? {
                                matched = true;
                                break;
                            }
                        }
                        if !matched {
                            return Ok(false);
                        }
                    }
                    return Ok(true);
                }
                Type::Int(li) => {
                    return Ok(match tt {
                        Type::Int(ti) => {
                            li.size() == ti.size()
                                && li.encoding().contains(crate::IntEncoding::SIGNED)
                                    == ti.encoding().contains(crate::IntEncoding::SIGNED)
                        }
                        _ => false,
                    })
                }
                Type::Ptr(lp) => {
                    let Type::Ptr(tp) = tt else { return Ok(false) };
                    behind_ptr = true;
                    lid = lp.type_id();
                    tid = tp.type_id();
                }
                Type::Array(la) => {
                    let Type::Array(ta) = tt else {
                        return Ok(false);
                    };
                    if la.nelems() != ta.nelems() {
                        return Ok(false);
                    }
                    lid = la.elem_type();
                    tid = ta.elem_type();
                }
                Type::FuncProto(lf) => {
                    let Type::FuncProto(tf) = tt else {
                        return Ok(false);
                    };
                    if lf.params().len() != tf.params().len() {
                        return Ok(false);
                    }
                    for (lp, tp) in lf.params().zip(tf.params()) {
                        if !self.types_match_level(lp.type_id, tp.type_id, behind_ptr, level - 1)? {
                            return Ok(false);
                        }
                    }
                    lid = lf.return_type();
                    tid = tf.return_type();
                }
                _ => return Ok(false),
            }
        }
        Err(format!(
            "type chain deeper than {MAX_LEVEL} matching [{local_id}] and [{targ_id}]"
        ))
    }

    /// Finds the target member matching the local named accessor `local_acc` in composite
    /// `targ_id`, searching anonymous members recursively, extending `spec`. Returns the
    /// member's type on a compatible match.
    fn match_member(
        &self,
        local_acc: &Accessor<'_>,
        targ_id: TypeId,
        spec: &mut CoreSpec<'t>,
    ) -> R<Option<TypeId>> {
        self.step()?;
        let (targ_id, tt) = skip_mods(self.targ, targ_id).map_err(berr)?;
        let tc = match tt {
            Type::Struct(c) | Type::Union(c) => c,
            _ => return Ok(None),
        };
        let local_member = match self.local.type_by_id(local_acc.type_id).map_err(berr)? {
            Type::Struct(c) | Type::Union(c) => c
                .member(local_acc.idx as usize)
                .ok_or_else(|| format!("local member {} missing", local_acc.idx))?,
            _ => {
                return Err(format!(
                    "local accessor type [{}] is not a composite",
                    local_acc.type_id
                ))
            }
        };
        // Member records are read raw: decoding every member (names as UTF-8, legacy
        // bitfield widths) of every duplicate candidate is what makes large BTFs slow.
        let rec = tt.record_bytes();
        let big = self.targ.is_big_endian();
        let word = |off: usize| record_u32(rec, off, big);
        let want = local_member.name.as_bytes();
        let kflag = tc.kind_flag();
        if let Some(index) = self.member_index(targ_id, tc.vlen(), &word) {
            let named = index.first.get(want).copied();
            for &i in index
                .anon
                .iter()
                .take_while(|&&a| named.is_none_or(|n| a < n))
            {
                self.step()?;
                if let Some(found) =
                    self.match_anon_member(local_acc, spec, i as usize, kflag, &word)?
                {
                    return Ok(Some(found));
                }
            }
            return match named {
                Some(i) => self.match_named_member(local_member.type_id, targ_id, tc, i, spec),
                None => Ok(None),
            };
        }
        for i in 0..usize::from(tc.vlen()) {
            self.step()?;
            room_for_one_more(spec)?;
            let name_off = word(12 + 12 * i);
            if name_off == 0 || self.targ.name_eq(name_off, b"") {
                if let Some(found) = self.match_anon_member(local_acc, spec, i, kflag, &word)? {
                    return Ok(Some(found));
                }
            } else if self.targ.name_eq(name_off, want) {
                return self.match_named_member(local_member.type_id, targ_id, tc, i as u32, spec);
            }
        }
        Ok(None)
    }

    /// Searches anonymous member `i` (whose record words `word` reads) for the local
    /// accessor, extending `spec` on a match.
    fn match_anon_member(
        &self,
        local_acc: &Accessor<'_>,
        spec: &mut CoreSpec<'t>,
        i: usize,
        kflag: bool,
        word: &dyn Fn(usize) -> u32,
    ) -> R<Option<TypeId>> {
        room_for_one_more(spec)?;
        let base = 12 + 12 * i;
        let raw_off = word(base + 8);
        let bit = u64::from(if kflag {
            raw_off & 0x00ff_ffff
        } else {
            raw_off
        });
        spec.bit_offset += bit;
        spec.raw.push(i as u32);
        if let Some(found) = self.match_member(local_acc, word(base + 4), spec)? {
            return Ok(Some(found));
        }
        spec.bit_offset -= bit;
        spec.raw.pop();
        Ok(None)
    }

    /// The member `i` of `tc` has the local member's name: it matches if the field types are
    /// compatible; either way the search of this composite ends there, as in libbpf.
    fn match_named_member(
        &self,
        local_type: TypeId,
        targ_id: TypeId,
        tc: crate::types::Composite<'t>,
        i: u32,
        spec: &mut CoreSpec<'t>,
    ) -> R<Option<TypeId>> {
        room_for_one_more(spec)?;
        let m = tc
            .member(i as usize)
            .ok_or_else(|| format!("target member {i} of [{targ_id}] missing"))?;
        let bit = u64::from(m.bit_offset);
        spec.bit_offset += bit;
        spec.raw.push(i);
        spec.accessors.push(Accessor {
            type_id: targ_id,
            idx: i,
            name: Some(m.name),
        });
        if self.fields_are_compat(local_type, m.type_id)? {
            return Ok(Some(m.type_id));
        }
        spec.accessors.pop();
        spec.bit_offset -= bit;
        spec.raw.pop();
        Ok(None)
    }

    /// The name index of target composite `id` with `vlen` members, if it is large and was
    /// searched before (a composite searched once is cheaper to scan).
    fn member_index(
        &self,
        id: TypeId,
        vlen: u16,
        word: &dyn Fn(usize) -> u32,
    ) -> Option<Rc<MemberIndex<'t>>> {
        if vlen < MEMBER_INDEX_MIN {
            return None;
        }
        match self.members.borrow_mut().entry(id) {
            hashbrown::hash_map::Entry::Occupied(e) => {
                if let Some(ix) = e.get() {
                    return Some(Rc::clone(ix));
                }
            }
            hashbrown::hash_map::Entry::Vacant(e) => {
                e.insert(None);
                return None;
            }
        }
        let mut ix = MemberIndex {
            first: HashMap::with_capacity(usize::from(vlen)),
            anon: Vec::new(),
        };
        for i in 0..u32::from(vlen) {
            let name = match word(12 + 12 * i as usize) {
                0 => &[][..],
                off => self.targ.name_bytes(off),
            };
            if name.is_empty() {
                ix.anon.push(i);
            } else {
                ix.first.entry(name).or_insert(i);
            }
        }
        let ix = Rc::new(ix);
        self.members.borrow_mut().insert(id, Some(Rc::clone(&ix)));
        Some(ix)
    }

    /// Matches the local spec against candidate `targ_id` (`bpf_core_spec_match`), returning
    /// the target spec when the candidate matches.
    pub fn spec_match(&self, local: &CoreSpec<'_>, targ_id: TypeId) -> R<Option<CoreSpec<'t>>> {
        let mut ts = CoreSpec::empty(targ_id, local.kind);
        let kind = local.kind;
        if kind.is_type_based() {
            let ok = if kind == super::CoreReloKind::TypeMatches {
                self.types_match(local.root_type_id, targ_id)?
            } else {
                self.types_are_compat(local.root_type_id, targ_id)?
            };
            return Ok(ok.then_some(ts));
        }
        let Some(first) = local.accessors.first() else {
            return Err("local spec has no accessors".into());
        };
        if kind.is_enumval_based() {
            let (tid, tt) = skip_mods(self.targ, targ_id).map_err(berr)?;
            let te = match tt {
                Type::Enum(e) | Type::Enum64(e) => e,
                _ => return Ok(None),
            };
            let lname = essential_name(first.name.unwrap_or(""));
            for (i, v) in te.values().enumerate() {
                self.step()?;
                if essential_name(v.name) == lname {
                    ts.accessors.push(Accessor {
                        type_id: tid,
                        idx: i as u32,
                        name: Some(v.name),
                    });
                    ts.raw.push(i as u32);
                    return Ok(Some(ts));
                }
            }
            return Ok(None);
        }
        let mut tid = targ_id;
        for (i, lacc) in local.accessors.iter().enumerate() {
            let (cur, tt) = skip_mods(self.targ, tid).map_err(berr)?;
            tid = cur;
            if lacc.name.is_some() {
                match self.match_member(lacc, tid, &mut ts)? {
                    Some(next) => tid = next,
                    None => return Ok(None),
                }
                continue;
            }
            if i > 0 {
                let Type::Array(a) = tt else { return Ok(None) };
                let flex = is_flex_arr(self.targ, ts.accessors.last(), a.nelems());
                if !flex && lacc.idx >= a.nelems() {
                    return Ok(None);
                }
                tid = self
                    .targ
                    .skip_mods_and_typedefs(a.elem_type())
                    .map_err(berr)?;
            }
            room_for_one_more(&ts)?;
            ts.accessors.push(Accessor {
                type_id: tid,
                idx: lacc.idx,
                name: None,
            });
            ts.raw.push(lacc.idx);
            let sz = super::size_of(self.targ, tid, self.targ_ptr).map_err(berr)?;
            ts.bit_offset = ts
                .bit_offset
                .checked_add(mul_bits(lacc.idx, sz)?)
                .ok_or("bit offset overflows")?;
        }
        Ok(Some(ts))
    }
}

/// Fails when a target access path cannot take another step (libbpf's spec length limit;
/// it also bounds the search through nested anonymous members).
fn room_for_one_more(spec: &CoreSpec<'_>) -> R<()> {
    if spec.raw.len() == CORE_SPEC_MAX_LEN {
        return Err(format!(
            "target access path longer than {CORE_SPEC_MAX_LEN}"
        ));
    }
    Ok(())
}

/// Whether `k` is an integer-like kind whose signedness FIELD_SIGNED reports.
pub(crate) fn is_signed_field(t: &Type<'_>) -> bool {
    match t {
        Type::Enum(e) | Type::Enum64(e) => e.is_signed(),
        Type::Int(i) => i.encoding().contains(crate::IntEncoding::SIGNED),
        _ => false,
    }
}

#[allow(dead_code)]
pub(crate) fn any_enum(t: &Type<'_>) -> bool {
    is_any_enum(t.kind())
}
