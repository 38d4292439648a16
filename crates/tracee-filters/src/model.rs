//! The resolved filter model — what a policy means — and its direct (userspace) semantics.
//!
//! Every filter kind uses Tracee's equality semantics: values under `=` are OR'ed, values
//! under `!=` are AND'ed, and within one policy `=` wins over `!=`:
//!
//! * the value matches an `=` value → match;
//! * else it matches a `!=` value → no match;
//! * else → match only if the policy has no `=` value for this filter (for numbers: or the
//!   value is within the policy's range, when it has one).
//!
//! Different filters of one policy are AND'ed. A value that is missing (an unknown
//! executable, an argument the event lacks) matches no value.

use std::collections::{BTreeMap, BTreeSet};

use crate::ast::{Op, Pattern};
use crate::context::{ArgValue, EventContext};
use crate::MAX_POLICIES;

/// A numeric condition: equal values, unequal values and an inclusive range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NumCond {
    /// Values under `=`.
    pub eq: BTreeSet<i128>,
    /// Values under `!=`.
    pub ne: BTreeSet<i128>,
    /// `< > <= >=` bounds folded into one inclusive interval (empty if `lo > hi`).
    pub range: Option<(i128, i128)>,
}

impl NumCond {
    /// Whether the policy filters on this at all.
    pub fn is_used(&self) -> bool {
        !self.eq.is_empty() || !self.ne.is_empty() || self.range.is_some()
    }

    /// Adds `op value`.
    pub fn add(&mut self, op: Op, v: i128) {
        let (lo, hi) = match op {
            Op::Eq => {
                self.eq.insert(v);
                return;
            }
            Op::Ne => {
                self.ne.insert(v);
                return;
            }
            Op::Lt => (i128::MIN, v - 1),
            Op::Le => (i128::MIN, v),
            Op::Gt => (v + 1, i128::MAX),
            Op::Ge => (v, i128::MAX),
        };
        self.range = Some(match self.range {
            None => (lo, hi),
            Some((a, b)) => (a.max(lo), b.min(hi)),
        });
    }

    /// Whether the range admits `v` (true without a range).
    pub fn in_range(&self, v: i128) -> bool {
        self.range.is_none_or(|(lo, hi)| lo <= v && v <= hi)
    }

    /// The semantics (see the module docs).
    pub fn matches(&self, v: Option<i128>) -> bool {
        let Some(v) = v else {
            return self.eq.is_empty() && self.range.is_none();
        };
        if self.eq.contains(&v) {
            return true;
        }
        if self.ne.contains(&v) {
            return false;
        }
        match self.range {
            Some(_) => self.in_range(v),
            None => self.eq.is_empty(),
        }
    }
}

/// A condition over values that each match a set of keys (strings against patterns, a
/// process against the trees it is in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCond<K> {
    /// Keys under `=`.
    pub eq: BTreeSet<K>,
    /// Keys under `!=`.
    pub ne: BTreeSet<K>,
}

impl<K> Default for SetCond<K> {
    fn default() -> Self {
        SetCond {
            eq: BTreeSet::new(),
            ne: BTreeSet::new(),
        }
    }
}

impl<K: Ord> SetCond<K> {
    /// Whether the policy filters on this at all.
    pub fn is_used(&self) -> bool {
        !self.eq.is_empty() || !self.ne.is_empty()
    }

    /// Adds `op key` (`op` is `=` or `!=`).
    pub fn add(&mut self, op: Op, key: K) {
        if op == Op::Ne {
            self.ne.insert(key);
        } else {
            self.eq.insert(key);
        }
    }

    /// The semantics, given which keys the value matches.
    pub fn matches_by(&self, hit: impl Fn(&K) -> bool) -> bool {
        if self.eq.iter().any(&hit) {
            return true;
        }
        if self.ne.iter().any(&hit) {
            return false;
        }
        self.eq.is_empty()
    }
}

/// String patterns over an argument (exact, prefix, suffix).
pub type PatternCond = SetCond<Pattern>;

impl PatternCond {
    /// Whether the strings `values` (one for a string, the elements of an array, none when
    /// missing) satisfy the condition: a pattern hits if it matches any of them.
    pub fn matches_strs(&self, values: &[&str]) -> bool {
        self.matches_by(|p| values.iter().any(|v| p.matches(v)))
    }
}

/// A policy's scope: which processes it applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// `uid`.
    pub uid: NumCond,
    /// `pid` (host tgid).
    pub pid: NumCond,
    /// `mntns`.
    pub mntns: NumCond,
    /// `pidns`.
    pub pidns: NumCond,
    /// `comm`.
    pub comm: SetCond<String>,
    /// `uts`.
    pub uts: SetCond<String>,
    /// `executable`.
    pub exe: SetCond<String>,
    /// `tree`: root pids.
    pub tree: SetCond<u32>,
    /// `container` (Some(true)) / `not-container` (Some(false)).
    pub container: Option<bool>,
    /// `pid=new` (Some(true)) / `pid!=new` (Some(false)).
    pub new_pid: Option<bool>,
    /// `follow`.
    pub follow: bool,
}

/// Facts about the tracing session the scope needs: which pid namespace is the host's
/// (`container`), and when the filters were loaded (`pid=new`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Environment {
    /// The initial pid namespace's id: a process elsewhere is in a container.
    pub host_pid_ns: u32,
    /// Processes whose start time is later than this (ns since boot) are new.
    pub start_time: u64,
}

impl Scope {
    /// Whether the scope (without `follow`) matches the event's process.
    pub fn matches(&self, env: &Environment, ctx: &EventContext<'_>) -> bool {
        self.uid.matches(Some(ctx.uid.into()))
            && self.pid.matches(Some(ctx.pid.into()))
            && self.mntns.matches(Some(ctx.mnt_ns.into()))
            && self.pidns.matches(Some(ctx.pid_ns.into()))
            && self.comm.matches_by(|c| c == ctx.comm)
            && self.uts.matches_by(|u| u == ctx.uts)
            && self.exe.matches_by(|e| Some(e.as_str()) == ctx.exe)
            && self.tree.matches_by(|root| ctx.ancestors.contains(root))
            && self
                .container
                .is_none_or(|want| want == (ctx.pid_ns != env.host_pid_ns))
            && self
                .new_pid
                .is_none_or(|want| want == (ctx.task_start_time > env.start_time))
    }
}

/// A filter on one argument of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataCond {
    /// String (or string array) patterns.
    Str(PatternCond),
    /// Integer comparisons.
    Int(NumCond),
}

impl DataCond {
    /// Whether argument value `v` (None: missing) satisfies the condition.
    pub fn matches(&self, v: Option<&ArgValue<'_>>) -> bool {
        match (self, v) {
            (DataCond::Str(c), Some(ArgValue::Str(s))) => c.matches_strs(&[s]),
            (DataCond::Str(c), Some(ArgValue::Strs(a))) => c.matches_strs(a),
            (DataCond::Int(c), Some(ArgValue::Int(i))) => c.matches(Some(*i)),
            (DataCond::Str(c), _) => c.matches_strs(&[]),
            (DataCond::Int(c), _) => c.matches(None),
        }
    }
}

/// What a policy asks of one event beyond selecting it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rule {
    /// Per argument index.
    pub data: BTreeMap<usize, DataCond>,
    /// On the return value.
    pub retval: Option<NumCond>,
    /// Scope filters for this event only (AND'ed with the policy's scope).
    pub scope: Option<Scope>,
}

impl Rule {
    /// Whether the event's own filters (data, return value, per-event scope) pass.
    pub fn matches(&self, env: &Environment, ctx: &EventContext<'_>) -> bool {
        self.data.iter().all(|(&i, c)| c.matches(ctx.arg(i)))
            && self
                .retval
                .as_ref()
                .is_none_or(|c| c.matches(ctx.retval.map(i128::from)))
            && self.scope.as_ref().is_none_or(|s| s.matches(env, ctx))
    }
}

/// One policy: a name, a scope and the events it selects with their rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Unique name.
    pub name: String,
    /// Which processes.
    pub scope: Scope,
    /// Selected events by id, each with its rule.
    pub rules: BTreeMap<u32, Rule>,
}

impl Policy {
    /// Whether the policy matches the event (`followed`: whether `follow` applies because an
    /// ancestor matched this policy's scope).
    pub fn matches(&self, env: &Environment, ctx: &EventContext<'_>, followed: bool) -> bool {
        let Some(rule) = self.rules.get(&ctx.event) else {
            return false;
        };
        let in_scope = self.scope.matches(env, ctx) || (self.scope.follow && followed);
        in_scope && rule.matches(env, ctx)
    }
}

/// The userspace evaluator: the bitmap of policies (bit `i` = `policies[i]`) that match
/// `ctx`, judged directly from the model. Bits beyond [`MAX_POLICIES`] are never set.
pub fn evaluate(policies: &[Policy], env: &Environment, ctx: &EventContext<'_>) -> u64 {
    let mut bits = 0u64;
    for (i, p) in policies.iter().enumerate().take(MAX_POLICIES) {
        if p.matches(env, ctx, ctx.followed & (1 << i) != 0) {
            bits |= 1 << i;
        }
    }
    bits
}
