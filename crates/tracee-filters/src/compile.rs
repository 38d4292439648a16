//! Compiling a [`PolicySet`] into the contents of the program's filter maps
//! ([`maps`](crate::maps)), plus the remainder userspace evaluates after decoding.

use std::collections::BTreeMap;

use crate::ast::Pattern;
use crate::catalog::{ArgKind, EventCatalog};
use crate::context::EventContext;
use crate::maps::*;
use crate::model::{DataCond, Environment, NumCond, PatternCond, Rule, SetCond};
use crate::policy::PolicySet;
use crate::text::fnv1a64;

/// Everything the program's filter maps hold for one policies version, and the filters
/// left for userspace. Each field is one map's entries (see [`maps`](crate::maps)).
/// `Default`: version 0, no policies, no entries (the scope's defaults match everything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompiledFilters {
    /// `tr_f_active`: the version these entries carry.
    pub active: ActiveCfg,
    /// Number of policies (bits `0..policies`).
    pub policies: usize,
    /// `tr_f_scope[version]`.
    pub scope: ScopeCfg,
    /// `tr_f_events`.
    pub events: BTreeMap<EventKey, EventVal>,
    /// `tr_f_num`.
    pub num: BTreeMap<NumKey, EqVal>,
    /// `tr_f_str`.
    pub strs: BTreeMap<StrKey, EqVal>,
    /// `tr_f_tree`.
    pub tree: BTreeMap<TreeKey, EqVal>,
    /// `tr_f_args`.
    pub args: BTreeMap<ArgKey, ArgVal>,
    /// `tr_f_exact`.
    pub exact: BTreeMap<DataKey, EqVal>,
    /// `tr_f_prefix`.
    pub prefix: BTreeMap<LpmKey, EqVal>,
    /// `tr_f_suffix`.
    pub suffix: BTreeMap<LpmKey, EqVal>,
    /// Per event: the policies (bit index) with filters the kernel does not decide, and
    /// those filters (data filters on integers, string arrays or long patterns, return
    /// values, per-event scopes).
    pub userspace: BTreeMap<u32, Vec<(usize, Rule)>>,
}

fn str_key(version: u32, kind: u32, s: &str) -> Option<StrKey> {
    // The kernel's strings are at most 15 bytes and NUL-free: longer values never match.
    if s.len() >= STR_KEY || s.as_bytes().contains(&0) {
        return None;
    }
    let mut value = [0u8; STR_KEY];
    value[..s.len()].copy_from_slice(s.as_bytes());
    Some(StrKey {
        version,
        kind,
        value,
    })
}

fn add_eq<K: Ord>(map: &mut BTreeMap<K, EqVal>, key: K, bit: u64, equals: bool) {
    let e = map.entry(key).or_default();
    e.used |= bit;
    if equals {
        e.equals |= bit;
    }
}

/// Entries for one kind of the numeric map.
fn num_entries(
    out: &mut CompiledFilters,
    kind: u32,
    bit: u64,
    cond: &NumCond,
    map: impl Fn(i128) -> Option<u64>,
) {
    let v = out.active.version;
    for (set, equals) in [(&cond.ne, false), (&cond.eq, true)] {
        for &x in set {
            if let Some(value) = map(x) {
                add_eq(
                    &mut out.num,
                    NumKey {
                        version: v,
                        kind,
                        value,
                    },
                    bit,
                    equals,
                );
            }
        }
    }
    if cond.eq.is_empty() || cond.range.is_some() {
        out.scope.match_if_missing[kind as usize] |= bit;
    }
}

fn text_entries(out: &mut CompiledFilters, kind: u32, bit: u64, cond: &SetCond<String>) {
    let v = out.active.version;
    for (set, equals) in [(&cond.ne, false), (&cond.eq, true)] {
        for s in set {
            if kind == KIND_EXE {
                let key = NumKey {
                    version: v,
                    kind,
                    value: fnv1a64(s.as_bytes()),
                };
                add_eq(&mut out.num, key, bit, equals);
            } else if let Some(key) = str_key(v, kind, s) {
                add_eq(&mut out.strs, key, bit, equals);
            }
        }
    }
    if cond.eq.is_empty() {
        out.scope.match_if_missing[kind as usize] |= bit;
    }
}

/// Whether the kernel can decide `cond` (every prefix/suffix fits an LPM key).
fn kernel_decidable(cond: &PatternCond) -> bool {
    cond.eq.iter().chain(&cond.ne).all(|p| match p {
        Pattern::Exact(_) => true,
        Pattern::Prefix(s) | Pattern::Suffix(s) => s.len() <= LPM_DATA,
    })
}

/// Folds LPM entries: each holds the OR of every stored pattern that is a prefix of it, so
/// the longest match alone gives every pattern that matches.
fn fold_lpm(own: BTreeMap<(u32, u32, Vec<u8>), EqVal>, version: u32) -> BTreeMap<LpmKey, EqVal> {
    let mut out = BTreeMap::new();
    for ((event, arg, bytes), _) in own.iter() {
        let mut acc = EqVal::default();
        for n in 0..=bytes.len() {
            if let Some(e) = own.get(&(*event, *arg, bytes[..n].to_vec())) {
                acc = acc.or(*e);
            }
        }
        out.insert(LpmKey::new(version, *event, *arg, bytes), acc);
    }
    out
}

/// Compiles `set` for the maps of policies version `version`.
///
/// `env` gives the host's pid namespace (`container`) and the time before which processes
/// are old (`pid=new`).
pub fn compile(
    set: &PolicySet,
    cat: &dyn EventCatalog,
    env: &Environment,
    version: u32,
) -> CompiledFilters {
    let mut out = CompiledFilters {
        active: ActiveCfg { version, pad: 0 },
        policies: set.len(),
        ..CompiledFilters::default()
    };
    out.scope.host_pid_ns = env.host_pid_ns;
    out.scope.start_time = env.start_time;
    // Bits of policies that do not exist match "missing": harmless, the event map masks them.
    out.scope.match_if_missing = [!0u64; KINDS];
    for (p, pol) in set.policies().iter().enumerate() {
        let bit = 1u64 << p;
        let s = &pol.scope;
        let u32_key = |x: i128| u64::try_from(x).ok();
        for (kind, cond) in [
            (KIND_UID, &s.uid),
            (KIND_PID, &s.pid),
            (KIND_MNTNS, &s.mntns),
            (KIND_PIDNS, &s.pidns),
        ] {
            if cond.is_used() {
                out.scope.used_kinds |= 1 << kind;
                out.scope.match_if_missing[kind as usize] &= !bit;
                num_entries(&mut out, kind, bit, cond, u32_key);
            }
            if let (Some((lo, hi)), true) = (cond.range, (kind as usize) < RANGE_KINDS) {
                out.scope.range_policies[kind as usize] |= bit;
                // uid and pid are 32-bit: clamping to [0, 2^32] keeps every verdict and lets
                // the program compare without overflow (filters.bpf.h, tr_f_in_range).
                const TOP: i128 = 1 << 32;
                let r = if lo > hi || hi < 0 {
                    RangeVal { min: 1, max: 0 }
                } else {
                    RangeVal {
                        min: lo.clamp(0, TOP) as u64,
                        max: hi.clamp(0, TOP) as u64,
                    }
                };
                out.scope.ranges[kind as usize][p] = r;
            }
        }
        for (kind, cond) in [(KIND_EXE, &s.exe), (KIND_COMM, &s.comm), (KIND_UTS, &s.uts)] {
            if cond.is_used() {
                out.scope.used_kinds |= 1 << kind;
                out.scope.match_if_missing[kind as usize] &= !bit;
                text_entries(&mut out, kind, bit, cond);
            }
        }
        if s.tree.is_used() {
            out.scope.used_kinds |= 1 << KIND_TREE;
            for (set, equals) in [(&s.tree.ne, false), (&s.tree.eq, true)] {
                for &pid in set {
                    add_eq(&mut out.tree, TreeKey { version, pid }, bit, equals);
                }
            }
            if !s.tree.eq.is_empty() {
                out.scope.match_if_missing[KIND_TREE as usize] &= !bit;
            }
        }
        match s.container {
            Some(true) => out.scope.container_true |= bit,
            Some(false) => out.scope.container_false |= bit,
            None => {}
        }
        match s.new_pid {
            Some(true) => out.scope.new_true |= bit,
            Some(false) => out.scope.new_false |= bit,
            None => {}
        }
        if s.follow {
            out.scope.follow |= bit;
        }
        for &event in pol.rules.keys() {
            out.events
                .entry(EventKey { version, event })
                .or_default()
                .policies |= bit;
        }
    }

    // String data filters: per (event, argument), all policies' patterns go to the kernel
    // when they all fit; otherwise all of them stay in userspace.
    let mut groups: BTreeMap<(u32, usize), Vec<(usize, &PatternCond)>> = BTreeMap::new();
    for (p, pol) in set.policies().iter().enumerate() {
        for (&event, rule) in &pol.rules {
            for (&arg, cond) in &rule.data {
                if let DataCond::Str(c) = cond {
                    groups.entry((event, arg)).or_default().push((p, c));
                }
            }
        }
    }
    let mut in_kernel: Vec<(u32, usize)> = Vec::new();
    let mut prefix_own = BTreeMap::new();
    let mut suffix_own = BTreeMap::new();
    for ((event, arg), conds) in &groups {
        let args = cat.args(*event);
        let kind = args.get(*arg).map(|a| a.kind);
        // The program finds arguments by walking the event; it stops at the first string
        // array (whose size it only knows by walking every element).
        let after_array = args[..(*arg).min(args.len())]
            .iter()
            .any(|a| a.kind == ArgKind::StrArray);
        if kind != Some(ArgKind::Str)
            || *arg >= 32
            || after_array
            || !conds.iter().all(|(_, c)| kernel_decidable(c))
        {
            continue;
        }
        in_kernel.push((*event, *arg));
        let a32 = *arg as u32;
        let mut missing = !0u64;
        for (p, c) in conds {
            let bit = 1u64 << p;
            if !c.eq.is_empty() {
                missing &= !bit;
            }
            for (set, equals) in [(&c.ne, false), (&c.eq, true)] {
                for pat in set {
                    match pat {
                        Pattern::Exact(s) => add_eq(
                            &mut out.exact,
                            DataKey {
                                version,
                                event: *event,
                                arg: a32,
                                pad: 0,
                                hash: fnv1a64(s.as_bytes()),
                            },
                            bit,
                            equals,
                        ),
                        Pattern::Prefix(s) => add_eq(
                            &mut prefix_own,
                            (*event, a32, s.as_bytes().to_vec()),
                            bit,
                            equals,
                        ),
                        Pattern::Suffix(s) => {
                            let rev: Vec<u8> = s.bytes().rev().collect();
                            add_eq(&mut suffix_own, (*event, a32, rev), bit, equals)
                        }
                    }
                }
            }
        }
        out.args.insert(
            ArgKey {
                version,
                event: *event,
                arg: a32,
            },
            ArgVal {
                match_if_missing: missing,
            },
        );
        if let Some(ev) = out.events.get_mut(&EventKey {
            version,
            event: *event,
        }) {
            ev.str_args |= 1 << arg;
        }
    }
    out.prefix = fold_lpm(prefix_own, version);
    out.suffix = fold_lpm(suffix_own, version);

    // The remainder: everything the kernel does not decide.
    for (p, pol) in set.policies().iter().enumerate() {
        for (&event, rule) in &pol.rules {
            let rest = Rule {
                data: rule
                    .data
                    .iter()
                    .filter(|(a, _)| !in_kernel.contains(&(event, **a)))
                    .map(|(a, c)| (*a, c.clone()))
                    .collect(),
                retval: rule.retval.clone(),
                scope: rule.scope.clone(),
            };
            if rest != Rule::default() {
                out.userspace.entry(event).or_default().push((p, rest));
                if let Some(ev) = out.events.get_mut(&EventKey { version, event }) {
                    ev.flags |= EV_USERSPACE;
                }
            }
        }
    }
    log::debug!(
        "compiled {} policies (version {version}): {} events, {} numeric, {} string, {} tree, {} exact, {} prefix, {} suffix entries; userspace filters on {} events",
        out.policies, out.events.len(), out.num.len(), out.strs.len(), out.tree.len(),
        out.exact.len(), out.prefix.len(), out.suffix.len(), out.userspace.len()
    );
    out
}

/// What the BPF program sees of an event when it judges it: header fields, the process
/// map's entry, and the captured string arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelEvent<'a> {
    /// Event id.
    pub event: u32,
    /// Host tgid.
    pub pid: u32,
    /// Real uid.
    pub uid: u32,
    /// Mount namespace id.
    pub mnt_ns: u32,
    /// Pid namespace id.
    pub pid_ns: u32,
    /// `bpf_get_current_comm`.
    pub comm: [u8; 16],
    /// The UTS nodename, 15 bytes and a NUL.
    pub uts: [u8; 16],
    /// The task's start time.
    pub start_time: u64,
    /// The process's `tr_f_proc` entry, if it has one.
    pub proc: Option<ProcEntry>,
    /// Captured string arguments by index (bytes, without the NUL).
    pub str_args: Vec<(usize, &'a [u8])>,
}

fn kstr(s: &str) -> [u8; 16] {
    let mut b = [0u8; 16];
    let n = s.len().min(15);
    b[..n].copy_from_slice(&s.as_bytes()[..n]);
    b
}

impl CompiledFilters {
    /// The `tr_f_proc` entry the program holds for a process with these ancestors (itself
    /// first), executable and followed policies — what seeding from `/proc` and the fork
    /// handler's inheritance (`child = parent | tree_roots[child]`) compute.
    pub fn proc_entry(&self, ancestors: &[u32], exe: Option<&str>, followed: u64) -> ProcEntry {
        let v = self.active.version;
        let mut slot = ProcSlot {
            followed,
            ..ProcSlot::default()
        };
        for &a in ancestors.iter().rev() {
            if let Some(e) = self.tree.get(&TreeKey { version: v, pid: a }) {
                slot.tree_equals |= e.equals;
                slot.tree_used |= e.used;
            }
        }
        let mut entry = ProcEntry::default();
        if let Some(exe) = exe {
            entry.exe_hash = fnv1a64(exe.as_bytes());
            entry.flags |= PROC_HAS_EXE;
        }
        entry.slots[(v & 1) as usize] = slot;
        entry
    }

    /// The event as the program would capture it.
    pub fn kernel_event<'a>(&self, ctx: &EventContext<'a>) -> KernelEvent<'a> {
        KernelEvent {
            event: ctx.event,
            pid: ctx.pid,
            uid: ctx.uid,
            mnt_ns: ctx.mnt_ns,
            pid_ns: ctx.pid_ns,
            comm: kstr(ctx.comm),
            uts: kstr(ctx.uts),
            start_time: ctx.task_start_time,
            proc: Some(self.proc_entry(ctx.ancestors, ctx.exe, ctx.followed)),
            str_args: ctx
                .args
                .iter()
                .filter_map(|(i, a)| match a {
                    crate::context::ArgValue::Str(s) => Some((*i, s.as_bytes())),
                    _ => None,
                })
                .collect(),
        }
    }

    fn eq_result(e: Option<&EqVal>, missing: u64, in_range: u64) -> u64 {
        let e = e.copied().unwrap_or_default();
        e.equals | (!e.used & missing & in_range)
    }

    /// The scope's verdict for every policy (before `follow`), as the program computes it
    /// from the maps alone.
    pub fn kernel_scope(&self, k: &KernelEvent<'_>) -> u64 {
        let v = self.active.version;
        let c = &self.scope;
        let in_range = |kind: usize, x: u64| {
            let mut bits = !0u64;
            let mut rp = c.range_policies[kind];
            while rp != 0 {
                let p = rp.trailing_zeros() as usize;
                rp &= rp - 1;
                let r = c.ranges[kind][p];
                if x < r.min || x > r.max {
                    bits &= !(1 << p);
                }
            }
            bits
        };
        // As the program does: a kind no policy uses is not looked up at all.
        let used = |kind: u32| c.used_kinds & (1 << kind) != 0;
        let num = |kind: u32, x: u64| {
            if !used(kind) {
                return !0;
            }
            let r = if (kind as usize) < RANGE_KINDS {
                in_range(kind as usize, x)
            } else {
                !0
            };
            Self::eq_result(
                self.num.get(&NumKey {
                    version: v,
                    kind,
                    value: x,
                }),
                c.match_if_missing[kind as usize],
                r,
            )
        };
        let text = |kind: u32, s: [u8; 16]| {
            if !used(kind) {
                return !0;
            }
            Self::eq_result(
                self.strs.get(&StrKey {
                    version: v,
                    kind,
                    value: s,
                }),
                c.match_if_missing[kind as usize],
                !0,
            )
        };
        let mut res = num(KIND_UID, k.uid.into())
            & num(KIND_PID, k.pid.into())
            & num(KIND_MNTNS, k.mnt_ns.into())
            & num(KIND_PIDNS, k.pid_ns.into())
            & text(KIND_COMM, k.comm)
            & text(KIND_UTS, k.uts);
        let proc = k.proc.unwrap_or_default();
        let exe_missing = c.match_if_missing[KIND_EXE as usize];
        res &= if !used(KIND_EXE) {
            !0
        } else if proc.flags & PROC_HAS_EXE != 0 {
            Self::eq_result(
                self.num.get(&NumKey {
                    version: v,
                    kind: KIND_EXE,
                    value: proc.exe_hash,
                }),
                exe_missing,
                !0,
            )
        } else {
            exe_missing
        };
        let slot = proc.slots[(v & 1) as usize];
        if used(KIND_TREE) {
            res &= slot.tree_equals | (!slot.tree_used & c.match_if_missing[KIND_TREE as usize]);
        }
        let container = k.pid_ns != c.host_pid_ns;
        res &= if container {
            !c.container_false
        } else {
            !c.container_true
        };
        let new = k.start_time > c.start_time;
        res &= if new { !c.new_false } else { !c.new_true };
        res
    }

    /// The kernel-semantics evaluator: the matched-policies bitmap the program emits for
    /// `k` (0: dropped in the kernel), judged purely from these map contents.
    pub fn kernel_match(&self, k: &KernelEvent<'_>) -> u64 {
        let v = self.active.version;
        let Some(ev) = self.events.get(&EventKey {
            version: v,
            event: k.event,
        }) else {
            return 0;
        };
        if ev.policies == 0 {
            return 0;
        }
        let slot = k.proc.unwrap_or_default().slots[(v & 1) as usize];
        let scope = self.kernel_scope(k) | (slot.followed & self.scope.follow);
        let mut res = ev.policies & scope;
        let mut bits = ev.str_args;
        while bits != 0 && res != 0 {
            let arg = bits.trailing_zeros();
            bits &= bits - 1;
            let missing = self
                .args
                .get(&ArgKey {
                    version: v,
                    event: k.event,
                    arg,
                })
                .map_or(!0, |a| a.match_if_missing);
            let r = match k.str_args.iter().find(|(i, _)| *i == arg as usize) {
                None => missing,
                Some((_, s)) => {
                    let mut e = self
                        .exact
                        .get(&DataKey {
                            version: v,
                            event: k.event,
                            arg,
                            pad: 0,
                            hash: fnv1a64(s),
                        })
                        .copied()
                        .unwrap_or_default();
                    let n = s.len().min(LPM_DATA);
                    if let Some(p) = lpm_lookup(&self.prefix, v, k.event, arg, &s[..n]) {
                        e = e.or(p);
                    }
                    let rev: Vec<u8> = s.iter().rev().take(LPM_DATA).copied().collect();
                    if let Some(p) = lpm_lookup(&self.suffix, v, k.event, arg, &rev) {
                        e = e.or(p);
                    }
                    e.equals | (!e.used & missing)
                }
            };
            res &= r;
        }
        res
    }

    /// The userspace remainder: clears the bits of `kernel_bits` whose policies' remaining
    /// filters for this event reject `ctx`.
    pub fn userspace_match(
        &self,
        env: &Environment,
        ctx: &EventContext<'_>,
        kernel_bits: u64,
    ) -> u64 {
        let mut bits = kernel_bits;
        if let Some(rest) = self.userspace.get(&ctx.event) {
            for (p, rule) in rest {
                if bits & (1 << p) != 0 && !rule.matches(env, ctx) {
                    bits &= !(1 << p);
                }
            }
        }
        bits
    }

    /// Whether any policy has filters for `event` that userspace evaluates.
    pub fn needs_userspace(&self, event: u32) -> bool {
        self.userspace.contains_key(&event)
    }
}

/// Longest-prefix match as `BPF_MAP_TYPE_LPM_TRIE` does it (byte granularity).
fn lpm_lookup(
    map: &BTreeMap<LpmKey, EqVal>,
    version: u32,
    event: u32,
    arg: u32,
    data: &[u8],
) -> Option<EqVal> {
    (0..=data.len().min(LPM_DATA)).rev().find_map(|n| {
        map.get(&LpmKey::new(version, event, arg, &data[..n]))
            .copied()
    })
}
