//! Tracee's filter language — `--scope`, `--events` and YAML policy files — parsed into a
//! typed AST, resolved against an [`EventCatalog`] into [`Policy`]s (up to
//! [`MAX_POLICIES`]), and compiled into the exact contents of the tracer program's BPF maps
//! ([`CompiledFilters`], layouts in [`maps`]).
//!
//! Two evaluators give every event the bitmap of policies that match it:
//! [`PolicySet::evaluate`] judges from the policies directly (userspace semantics), and
//! [`CompiledFilters::kernel_match`] + [`CompiledFilters::userspace_match`] judge as the
//! BPF program does, from the compiled map contents alone, followed by the filters the
//! kernel leaves to userspace. Property tests hold them equal. `docs/filters.md` lists where
//! each filter is applied.
//!
//! ```
//! use tracee_filters::*;
//! let cat = StaticCatalog::new([
//!     StaticEvent::new(257, "openat").arg("dirfd", ArgKind::Signed).arg("pathname", ArgKind::Str).with_retval(),
//! ]);
//! let policy = policy_from_flags(&cat, "cli", &["comm=cat"], &["openat.data.pathname=/etc/*"])?;
//! let set = PolicySet::from_policies([policy])?;
//! let env = Environment::default();
//! let compiled = compile(&set, &cat, &env, 1);
//!
//! let ctx = EventContext { event: 257, comm: "cat",
//!     args: vec![(1, ArgValue::Str("/etc/passwd"))], ..Default::default() };
//! let kernel = compiled.kernel_match(&compiled.kernel_event(&ctx));
//! assert_eq!(compiled.userspace_match(&env, &ctx, kernel), 1);
//! assert_eq!(set.evaluate(&env, &ctx), 1);
//! # Ok::<(), FilterError>(())
//! ```

pub mod ast;
mod catalog;
mod compile;
mod context;
mod error;
pub mod maps;
mod model;
mod parse;
mod policy;
mod text;

pub use catalog::{ArgInfo, ArgKind, EventCatalog, StaticCatalog, StaticEvent};
pub use compile::{compile, CompiledFilters, KernelEvent};
pub use context::{ArgValue, EventContext};
pub use error::{FilterError, Origin, PolicyOrigin, Span};
pub use model::{
    evaluate, DataCond, Environment, NumCond, PatternCond, Policy, Rule, Scope, SetCond,
};
pub use parse::{parse_events, parse_rule_filter, parse_scope, pattern, SCOPE_FIELDS};
pub use policy::{
    apply_event_filter, apply_scope, policies_from_path, policies_from_yaml, policy_from_flags,
    resolve_selector, PolicySet, DEFAULT_SET,
};
pub use text::{fnv1a64, glob_match, nearest};

/// Most policies active at once: one bit each in the matched-policies bitmap.
pub const MAX_POLICIES: usize = 64;
