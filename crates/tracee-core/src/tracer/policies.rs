//! Policies in the tracer: installing compiled filters into the program's maps (versioned,
//! see `tracee_filters::maps`), seeding the process map from `/proc`, reading the kernel's
//! filter counters, and the userspace remainder judged after decoding.

use std::collections::HashMap;
use std::sync::Arc;

use tracee_bpf_obj::module::{Module, UpdateFlags};
use tracee_filters::maps::{
    next_version, version_tag, ActiveCfg, ProcEntry, FIRST_VERSION, KIND_EXE, KIND_TREE,
    PROC_HAS_EXE,
};
use tracee_filters::{ArgValue, CompiledFilters, Environment, EventContext, PolicySet};

use super::host_ids::HostIds;
use crate::decode::{Event, OwnedValue};
use crate::events::{Catalog, EventId};
use crate::TracerError;

/// Versions whose userspace remainder is kept, the active one included: as many as
/// [`version_tag`] tells apart (see `tracee_filters::maps::next_version`).
const REMAINDERS_KEPT: usize = 254;

/// The tracer's policies: the set, its compiled map contents and the session facts.
#[derive(Debug, Clone)]
pub(crate) struct ActivePolicies {
    pub(crate) set: Arc<PolicySet>,
    pub(crate) compiled: Arc<CompiledFilters>,
    pub(crate) env: Environment,
    /// The versions before, newest first: the userspace remainder of events they judged
    /// that are still in flight (ring buffer, channel) when a newer version becomes active.
    /// The first is the version just before, whose kernel entries stay until the next
    /// change (a program that read it just before the switch still finds them); older ones
    /// keep only their remainder (their map contents are dropped). At most
    /// `REMAINDERS_KEPT - 1`.
    pub(crate) earlier: Vec<Earlier>,
}

/// A version before the active one: its policies (what its events' bits mean) and compiled
/// filters.
#[derive(Debug, Clone)]
pub(crate) struct Earlier {
    pub(crate) set: Arc<PolicySet>,
    pub(crate) compiled: Arc<CompiledFilters>,
}

/// What the kernel's filters did (sums over CPUs of `tr_f_stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FilterStats {
    /// Events the kernel's filters judged (final decisions).
    pub judged: u64,
    /// ... of which the kernel dropped.
    pub filtered_in_kernel: u64,
    /// ... of which the kernel emitted.
    pub emitted: u64,
    /// Judgements (at syscall entry or final) that reused the task's cached scope verdict
    /// instead of looking the scope up again (see docs/architecture.md).
    pub scope_cache_hits: u64,
}

/// The initial pid namespace (`init_pid_ns`, the kernel's answer, see
/// [`host_ids`](super::host_ids); not this process's, which a containerized tracer would
/// take for the host's) and the time now, in the clock of `task_struct::start_time`
/// (CLOCK_MONOTONIC ns).
pub(crate) fn environment(init_pid_ns: u32) -> Environment {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    let start_time = if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) } == 0 {
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    } else {
        0
    };
    Environment {
        host_pid_ns: init_pid_ns,
        start_time,
    }
}

fn update<K: bytemuck::Pod, V: bytemuck::Pod>(
    module: &Module,
    name: &str,
    entries: impl IntoIterator<Item = (K, V)>,
) -> Result<usize, TracerError> {
    let map = module
        .map(name)
        .map_err(TracerError::module(format!("finding map {name}")))?;
    let mut n = 0;
    for (k, v) in entries {
        map.update(&k, &v, UpdateFlags::empty())
            .map_err(TracerError::module(format!("writing {name}")))?;
        n += 1;
    }
    Ok(n)
}

/// Parent pid and executable of every process in `/proc`.
fn processes() -> HashMap<u32, (u32, Option<String>)> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        // "pid (comm) S ppid ...": comm may hold spaces and parentheses; ppid follows the last ')'.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let ppid = stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
            .ok()
            .map(|p| p.to_string_lossy().into_owned());
        out.insert(pid, (ppid, exe));
    }
    out
}

fn delete<K: bytemuck::Pod>(module: &Module, name: &str, keys: impl IntoIterator<Item = K>) {
    let Ok(map) = module.map(name) else { return };
    for k in keys {
        if let Err(e) = map.delete(&k) {
            log::debug!("deleting an old {name} entry: {e}");
        }
    }
}

/// Deletes every entry of `old`'s version (not the process map: its slots are per parity).
fn remove(module: &Module, old: &CompiledFilters) {
    delete(module, "tr_f_scope", [old.active.version]);
    delete(module, "tr_f_events", old.events.keys().copied());
    delete(module, "tr_f_num", old.num.keys().copied());
    delete(module, "tr_f_str", old.strs.keys().copied());
    delete(module, "tr_f_tree", old.tree.keys().copied());
    delete(module, "tr_f_args", old.args.keys().copied());
    delete(module, "tr_f_exact", old.exact.keys().copied());
    delete(module, "tr_f_prefix", old.prefix.keys().copied());
    delete(module, "tr_f_suffix", old.suffix.keys().copied());
}

/// Compiles `set` as the version after `current`'s, installs it, and drops the version
/// before `current`.
pub(crate) fn replace(
    module: &Module,
    catalog: &Catalog,
    selected: &[EventId],
    current: Option<&ActivePolicies>,
    set: PolicySet,
    ids: &HostIds,
) -> Result<ActivePolicies, TracerError> {
    for id in set.events() {
        if !selected.contains(&EventId(id)) {
            return Err(TracerError::Unsupported {
                event: catalog
                    .get(EventId(id))
                    .map_or_else(|| id.to_string(), |d| d.name().to_string()),
                reason: "not selected when the tracer was built; set_policies can only narrow or re-filter its events".into(),
            });
        }
    }
    let env = current.map_or_else(|| environment(ids.init_pid_ns), |c| c.env);
    let version = current.map_or(FIRST_VERSION, |c| next_version(c.compiled.active.version));
    let compiled = tracee_filters::compile(&set, catalog, &env, version);
    install(module, &compiled, current.map(|c| &*c.compiled), ids)?;
    if let Some(old) = current.and_then(|c| c.earlier.first()) {
        remove(module, &old.compiled);
    }
    Ok(match current {
        Some(c) => c.succeeded_by(set, compiled),
        None => ActivePolicies::first(set, compiled, env),
    })
}

/// Writes every map entry of `c`'s version, seeds the process map's slot of that version
/// (keeping the active version's slot), then makes the version active (last, so the program
/// never sees a partial version). `ids`: what the kernel calls the tracer (asked once, at
/// build).
pub(crate) fn install(
    module: &Module,
    c: &CompiledFilters,
    active: Option<&CompiledFilters>,
    ids: &HostIds,
) -> Result<(), TracerError> {
    let v = c.active.version;
    update(module, "tr_f_scope", [(v, c.scope)])?;
    let mut n = update(
        module,
        "tr_f_events",
        c.events.iter().map(|(k, v)| (*k, *v)),
    )?;
    n += update(module, "tr_f_num", c.num.iter().map(|(k, v)| (*k, *v)))?;
    n += update(module, "tr_f_str", c.strs.iter().map(|(k, v)| (*k, *v)))?;
    n += update(module, "tr_f_tree", c.tree.iter().map(|(k, v)| (*k, *v)))?;
    n += update(module, "tr_f_args", c.args.iter().map(|(k, v)| (*k, *v)))?;
    n += update(module, "tr_f_exact", c.exact.iter().map(|(k, v)| (*k, *v)))?;
    n += update(
        module,
        "tr_f_prefix",
        c.prefix.iter().map(|(k, v)| (*k, *v)),
    )?;
    n += update(
        module,
        "tr_f_suffix",
        c.suffix.iter().map(|(k, v)| (*k, *v)),
    )?;
    let needs_proc = active.is_some()
        || !c.tree.is_empty()
        || c.num.keys().any(|k| k.kind == KIND_EXE)
        || c.scope.match_if_missing[KIND_EXE as usize] != !0
        || c.scope.match_if_missing[KIND_TREE as usize] != !0;
    // /proc of a pid namespace shows that namespace's pids, not the host pids the program
    // keys processes by: seeding from it would give its entries to other host processes.
    if needs_proc && !super::host_ids::proc_is_host(ids) {
        log::warn!(
            "/proc is not the initial pid namespace's (a tracer in a container without \
             hostPID): processes started before the tracer are not seeded, so tree= and \
             exe= filters do not see them"
        );
    } else if needs_proc {
        let procs = processes();
        let proc_map = module
            .map("tr_f_proc")
            .map_err(TracerError::module("finding map tr_f_proc"))?;
        let slot = (v & 1) as usize;
        let mut seeded = Vec::with_capacity(procs.len());
        for (&pid, (_, exe)) in &procs {
            let mut ancestors = vec![pid];
            let mut cur = pid;
            while let Some(&(ppid, _)) = procs.get(&cur) {
                if ppid == 0 || ancestors.contains(&ppid) || ancestors.len() > 4096 {
                    break;
                }
                ancestors.push(ppid);
                cur = ppid;
            }
            let fresh = c.proc_entry(&ancestors, exe.as_deref(), 0);
            // Keep the other (active) version's slot and the exec-time executable.
            let entry = match proc_map.lookup::<u32, ProcEntry>(&pid) {
                Ok(Some(mut old)) => {
                    old.slots[slot].tree_equals = fresh.slots[slot].tree_equals;
                    old.slots[slot].tree_used = fresh.slots[slot].tree_used;
                    // Bits of the same-parity older version mean other policies.
                    old.slots[slot].followed = 0;
                    if old.flags & PROC_HAS_EXE == 0 {
                        old.exe_hash = fresh.exe_hash;
                        old.flags |= fresh.flags;
                    }
                    old
                }
                _ => fresh,
            };
            seeded.push((pid, entry));
        }
        n += update(module, "tr_f_proc", seeded)?;
    }
    update(
        module,
        "tr_f_active",
        [(0u32, ActiveCfg { version: v, pad: 0 })],
    )?;
    log::info!(
        "policies version {v} active: {} policies, {n} map entries{}",
        c.policies,
        if needs_proc {
            ", process map seeded from /proc"
        } else {
            ""
        }
    );
    Ok(())
}

/// Sums of the kernel's filter counters.
pub(crate) fn stats(module: &Module) -> FilterStats {
    let Ok(map) = module.map("tr_f_stats") else {
        return FilterStats::default();
    };
    let get = |k: u32| map.lookup_percpu_sum(&k).unwrap_or(0);
    FilterStats {
        judged: get(0),
        filtered_in_kernel: get(1),
        emitted: get(2),
        scope_cache_hits: get(3),
    }
}

fn value(v: &OwnedValue) -> Option<ArgValue<'_>> {
    Some(match v {
        OwnedValue::Int(i) => ArgValue::Int((*i).into()),
        OwnedValue::UInt(u) => ArgValue::Int((*u).into()),
        OwnedValue::Bool(b) => ArgValue::Int(i128::from(*b)),
        OwnedValue::Str(s) => ArgValue::Str(s),
        OwnedValue::StrArray(a) => ArgValue::Strs(a.iter().map(String::as_str).collect()),
        _ => return None,
    })
}

impl ActivePolicies {
    /// The first policies of a tracer (nothing earlier).
    pub(crate) fn first(set: PolicySet, compiled: CompiledFilters, env: Environment) -> Self {
        ActivePolicies {
            set: Arc::new(set),
            compiled: Arc::new(compiled),
            env,
            earlier: Vec::new(),
        }
    }

    /// The policies after these: `compiled` (of `set`, version `next_version` of this one)
    /// becomes active and this version the first earlier one. The one that was first drops
    /// its map contents (deleted from the kernel by now) and keeps its remainder.
    pub(crate) fn succeeded_by(&self, set: PolicySet, compiled: CompiledFilters) -> Self {
        let mut earlier = Vec::with_capacity((self.earlier.len() + 1).min(REMAINDERS_KEPT));
        earlier.push(Earlier {
            set: self.set.clone(),
            compiled: self.compiled.clone(),
        });
        for (i, e) in self.earlier.iter().take(REMAINDERS_KEPT - 2).enumerate() {
            let old = &e.compiled;
            let compiled = if i == 0 {
                Arc::new(CompiledFilters {
                    active: old.active,
                    policies: old.policies,
                    userspace: old.userspace.clone(),
                    ..CompiledFilters::default()
                })
            } else {
                old.clone()
            };
            earlier.push(Earlier {
                set: e.set.clone(),
                compiled,
            });
        }
        ActivePolicies {
            set: Arc::new(set),
            compiled: Arc::new(compiled),
            env: self.env,
            earlier,
        }
    }

    /// The policies and compiled filters of the version whose [`version_tag`] is `tag`, if
    /// still kept.
    pub(crate) fn version(&self, tag: u8) -> Option<(&PolicySet, &CompiledFilters)> {
        std::iter::once((&self.set, &self.compiled))
            .chain(self.earlier.iter().map(|e| (&e.set, &e.compiled)))
            .find(|(_, c)| version_tag(c.active.version) == tag)
            .map(|(s, c)| (&**s, &**c))
    }

    /// Applies the userspace remainder to a decoded event: `false` if no policy is left
    /// (drop it), else the header's bitmap is narrowed to the policies that still match.
    ///
    /// The remainder is that of the version the kernel judged the event with (the header's
    /// `policies_version`), not necessarily the active one: an event still in flight when
    /// [`Tracer::set_policies`](super::Tracer::set_policies) switched is judged, and its bits
    /// numbered, entirely by the version it started with. Tag 0: judged before any policy
    /// was installed (no filters), kept as is. A tag of no kept version (more than 253
    /// switches behind) cannot be judged: dropped.
    pub(crate) fn judge(&self, catalog: &Catalog, ev: &mut Event) -> bool {
        let tag = ev.header.policies_version;
        if tag == 0 {
            return true;
        }
        let Some((_, compiled)) = self.version(tag) else {
            log::debug!(
                "event {} judged by a policies version no longer kept (tag {tag}): dropped",
                ev.event_id
            );
            return false;
        };
        if !compiled.needs_userspace(ev.event_id) {
            return true;
        }
        let def = catalog.get(EventId(ev.event_id));
        let h = &ev.header;
        let ctx = EventContext {
            event: ev.event_id,
            pid: h.pid,
            uid: h.uid,
            mnt_ns: h.mnt_ns,
            pid_ns: h.pid_ns,
            comm: &h.comm,
            uts: &h.uts_name,
            task_start_time: h.task_start_time,
            exe: None,
            ancestors: &[],
            followed: 0,
            retval: h.syscall.map(|_| h.retval),
            args: ev
                .args
                .iter()
                .filter_map(|a| {
                    let i = def?.arg(&a.name)?.0;
                    Some((i, value(&a.value)?))
                })
                .collect(),
        };
        let bits = compiled.userspace_match(&self.env, &ctx, h.matched_policies);
        ev.header.matched_policies = bits;
        bits != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::EventRef;
    use crate::wire::encode::EventEncoder;
    use tracee_filters::policy_from_flags;

    const ENV: Environment = Environment {
        host_pid_ns: super::super::host_ids::PROC_PID_INIT_INO,
        start_time: 0,
    };

    /// One policy selecting openat with a return-value filter (decided in userspace).
    fn compiled(cat: &Catalog, retval: &str, version: u32) -> (PolicySet, CompiledFilters) {
        let p = policy_from_flags(
            cat,
            "p",
            &[""; 0],
            &["openat", &format!("openat.retval{retval}")],
        )
        .expect("policy");
        let set = PolicySet::from_policies([p]).expect("set");
        let c = tracee_filters::compile(&set, cat, &ENV, version);
        assert!(
            c.needs_userspace(openat(cat)),
            "retval filters are userspace's"
        );
        (set, c)
    }

    fn openat(cat: &Catalog) -> u32 {
        cat.by_name("openat").expect("openat").id().0
    }

    /// An openat as the kernel emits it: judged by the version tagged `tag`, matched policy 0.
    fn event(cat: &Catalog, tag: u8, retval: i64) -> Event {
        let mut enc = EventEncoder::new(openat(cat));
        let h = enc.header_mut();
        h.retval = retval;
        h.matched_policies = 1;
        h.syscall = Some(257);
        h.policies_version = tag;
        let bytes = enc.finish();
        let r = EventRef::parse(&bytes).expect("valid event");
        assert_eq!(r.policies_version(), tag, "the decoder exposes the tag");
        Event::from_ref(&r, cat.get(r.event_id()))
    }

    fn kept(p: &ActivePolicies, cat: &Catalog, tag: u8, retval: i64) -> bool {
        let mut ev = event(cat, tag, retval);
        p.judge(cat, &mut ev)
    }

    #[test]
    fn in_flight_event_is_judged_by_the_version_that_emitted_it() {
        let cat = Catalog::builtin();
        let v1 = FIRST_VERSION;
        let v2 = next_version(v1);
        let (s1, c1) = compiled(&cat, "<0", v1);
        let one = ActivePolicies::first(s1, c1, ENV);
        assert!(kept(&one, &cat, version_tag(v1), -2));
        assert!(!kept(&one, &cat, version_tag(v1), 3));

        // Switch to v2 (retval >= 0): an event judged under v1 and decoded now keeps v1's
        // remainder; one judged under v2 gets v2's.
        let (s2, c2) = compiled(&cat, ">=0", v2);
        let two = one.succeeded_by(s2, c2);
        assert!(
            kept(&two, &cat, version_tag(v1), -2),
            "v1 event, v1 remainder"
        );
        assert!(
            !kept(&two, &cat, version_tag(v1), 3),
            "v1 event, v1 remainder"
        );
        assert!(
            !kept(&two, &cat, version_tag(v2), -2),
            "v2 event, v2 remainder"
        );
        assert!(
            kept(&two, &cat, version_tag(v2), 3),
            "v2 event, v2 remainder"
        );
        // Before any policy (version 0): no filters judged it, kept as is.
        assert!(kept(&two, &cat, 0, 3));
        // A tag no kept version has cannot be judged.
        assert!(!kept(&two, &cat, version_tag(next_version(v2)), 3));
    }

    #[test]
    fn remainders_of_the_last_254_versions_are_kept_slim() {
        let cat = Catalog::builtin();
        let mut v = FIRST_VERSION;
        let (s, c) = compiled(&cat, "<0", v);
        let mut p = ActivePolicies::first(s, c, ENV);
        let mut tags = vec![version_tag(v)];
        for i in 0..300 {
            v = next_version(v);
            // Alternate the filter so each version's remainder is told apart.
            let (s, c) = compiled(&cat, if i % 2 == 0 { ">=0" } else { "<0" }, v);
            p = p.succeeded_by(s, c);
            tags.push(version_tag(v));
        }
        assert_eq!(p.earlier.len(), REMAINDERS_KEPT - 1);
        assert!(
            !p.earlier[0].compiled.events.is_empty(),
            "the previous version keeps its entries"
        );
        assert!(p.earlier[1..]
            .iter()
            .all(|e| e.compiled.events.is_empty() && !e.compiled.userspace.is_empty()));
        // The newest 254 versions each judge with their own filter (odd i: "<0").
        for (back, tag) in tags.iter().rev().take(REMAINDERS_KEPT).enumerate() {
            let i = 300 - back; // position in `tags`; tags[0] was "<0", tags[k] ">=0" for odd k
            let negative_ok = i % 2 == 0;
            assert_eq!(kept(&p, &cat, *tag, -1), negative_ok, "version {back} back");
            assert_eq!(kept(&p, &cat, *tag, 1), !negative_ok, "version {back} back");
        }
    }
}
