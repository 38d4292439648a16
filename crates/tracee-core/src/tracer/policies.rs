//! Policies in the tracer: installing compiled filters into the program's maps (versioned,
//! see `tracee_filters::maps`), seeding the process map from `/proc`, reading the kernel's
//! filter counters, and the userspace remainder judged after decoding.

use std::collections::HashMap;

use tracee_bpf_obj::module::{Module, UpdateFlags};
use tracee_filters::maps::{ActiveCfg, ProcEntry, KIND_EXE, KIND_TREE, PROC_HAS_EXE};
use tracee_filters::{ArgValue, CompiledFilters, Environment, EventContext, PolicySet};

use crate::decode::{Event, OwnedValue};
use crate::events::{Catalog, EventId};
use crate::TracerError;

/// The tracer's policies: the set, its compiled map contents and the session facts.
#[derive(Debug, Clone)]
pub(crate) struct ActivePolicies {
    pub(crate) set: PolicySet,
    pub(crate) compiled: CompiledFilters,
    pub(crate) env: Environment,
    /// The version before, whose entries stay until the next change (a program that read
    /// the old version just before the switch still finds them).
    pub(crate) previous: Option<Box<CompiledFilters>>,
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

/// The host pid namespace (the tracer's) and the time now, in the clock of
/// `task_struct::start_time` (CLOCK_MONOTONIC ns).
pub(crate) fn environment() -> Environment {
    let host_pid_ns = std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .and_then(|l| {
            let s = l.to_string_lossy().into_owned();
            s.strip_prefix("pid:[")?.strip_suffix(']')?.parse().ok()
        })
        .unwrap_or(0);
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
        host_pid_ns,
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
    let env = current.map_or_else(environment, |c| c.env);
    let version = current.map_or(1, |c| c.compiled.active.version.wrapping_add(1).max(1));
    let compiled = tracee_filters::compile(&set, catalog, &env, version);
    install(module, &compiled, current.map(|c| &c.compiled))?;
    if let Some(old) = current.and_then(|c| c.previous.as_deref()) {
        remove(module, old);
    }
    Ok(ActivePolicies {
        set,
        compiled,
        env,
        previous: current.map(|c| Box::new(c.compiled.clone())),
    })
}

/// Writes every map entry of `c`'s version, seeds the process map's slot of that version
/// (keeping the active version's slot), then makes the version active (last, so the program
/// never sees a partial version).
pub(crate) fn install(
    module: &Module,
    c: &CompiledFilters,
    active: Option<&CompiledFilters>,
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
    if needs_proc {
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
    /// Applies the userspace remainder to a decoded event: `false` if no policy is left
    /// (drop it), else the header's bitmap is narrowed to the policies that still match.
    pub(crate) fn judge(&self, catalog: &Catalog, ev: &mut Event) -> bool {
        if !self.compiled.needs_userspace(ev.event_id) {
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
        let bits = self
            .compiled
            .userspace_match(&self.env, &ctx, h.matched_policies);
        ev.header.matched_policies = bits;
        bits != 0
    }
}
