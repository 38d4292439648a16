//! [`TracerBuilder`]: what to trace and how.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracee_bpf_obj::module::buffers::{BufferReader, WakeupPolicy};
use tracee_bpf_obj::module::{Module, ModuleBuilder, ModuleError, UpdateFlags};
use tracee_btf::bundle::Bundle;
use tracee_btf::resolver::{BtfResolver, ResolveError, Source};

use super::host_ids;
use super::policies::{self, ActivePolicies};
use super::selection::Selection;
use super::{Attachment, Tracer, TRACEE_BPF_OBJECT};
use crate::decode::EventRef;
use crate::events::{Catalog, EventId};
use crate::wire::config::{
    Lifecycle, TracerCfg, CFG_EXIT_READS_REGS, EV_CAPTURE_AT_ENTRY, EV_EMIT_AT_ENTRY,
};
use crate::TracerError;

/// Callback of [`TracerBuilder::build_with_callback`].
type Callback = Box<dyn FnMut(&EventRef<'_>) + Send>;

enum Sink {
    Channel(usize),
    Callback(Callback),
}

/// Configures a [`Tracer`]; from [`Tracer::builder`].
///
/// Defaults: the built-in catalog; `BtfResolver::new()` (`$TRACEE_BTF_FILE`, then sysfs),
/// then the [embedded bundle](crate::embedded_btf) with feature `embedded-btf`; a 16 MiB ring buffer drained every 10 ms without per-event wakeups; a channel of 65,536
/// events; the tracer's own process excluded in the kernel; matched-policies bitmap 1.
pub struct TracerBuilder {
    catalog: Option<Catalog>,
    selectors: Vec<String>,
    resolver: Option<BtfResolver>,
    bundle: Option<Bundle>,
    embedded_btf: bool,
    object: Option<Arc<[u8]>>,
    ring_bytes: u32,
    wakeup: WakeupPolicy,
    channel_capacity: usize,
    exclude_self: bool,
    policies: u64,
    policy_set: Option<tracee_filters::PolicySet>,
    syscall_hooks: SyscallHooks,
    raw_tracepoints_only: bool,
}

/// Which programs hook syscalls; see [`TracerBuilder::syscall_hooks`].
///
/// Every syscall of the machine runs the attached syscall programs, selected or not, so
/// their number is the tracer's floor cost (docs/performance.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SyscallHooks {
    /// `tp_btf/sys_exit` alone, taking the syscall's arguments from the registers at exit;
    /// `raw_tp/sys_enter` as well only while an event that must be read at entry is
    /// selected (`execve`/`execveat`, whose memory is gone after the exec; `exit`/`exit_group`,
    /// which never return; `rt_sigreturn`, whose registers at exit are the interrupted
    /// code's). The other events' timestamps are then taken at exit.
    /// Where `tp_btf/sys_exit` cannot attach: [`SyscallHooks::EntryAndExit`].
    #[default]
    Auto,
    /// `raw_tp/sys_enter` saves every selected syscall and `raw_tp/sys_exit` emits it
    /// (Tracee's hooks): timestamps at entry, two programs per syscall.
    EntryAndExit,
}

impl std::fmt::Debug for TracerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracerBuilder")
            .field("selectors", &self.selectors)
            .field("ring_bytes", &self.ring_bytes)
            .field("wakeup", &self.wakeup)
            .field("channel_capacity", &self.channel_capacity)
            .field("exclude_self", &self.exclude_self)
            .field("syscall_hooks", &self.syscall_hooks)
            .field("raw_tracepoints_only", &self.raw_tracepoints_only)
            .finish()
    }
}

impl Default for TracerBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TracerBuilder {
    /// See the type's defaults.
    pub fn new() -> TracerBuilder {
        TracerBuilder {
            catalog: None,
            selectors: Vec::new(),
            resolver: None,
            bundle: None,
            embedded_btf: true,
            object: None,
            ring_bytes: 16 << 20,
            wakeup: WakeupPolicy::Interval(Duration::from_millis(10)),
            channel_capacity: 65_536,
            exclude_self: true,
            policies: 1,
            policy_set: None,
            syscall_hooks: SyscallHooks::Auto,
            raw_tracepoints_only: false,
        }
    }

    /// Use `catalog` (e.g. the built-in one plus registered events) for selection and names.
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// Add event selectors: names (`openat`), globs (`open*`) or sets (`tag=fs`), as
    /// [`Catalog::select`] reads them.
    pub fn events<I, S>(mut self, selectors: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.selectors.extend(selectors.into_iter().map(Into::into));
        self
    }

    /// How to find the kernel's BTF (sources on or off, a download mirror, a btfhub
    /// directory, ...). Without a bundle source of its own, the resolver still gets the
    /// embedded bundle (unless [`TracerBuilder::embedded_btf`] is false) or the one from
    /// [`TracerBuilder::btf_bundle`]; see [`TracerBuilder::effective_btf_resolver`].
    pub fn btf_resolver(mut self, resolver: BtfResolver) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// Look kernels without sysfs BTF up in `bundle` (e.g. one minimized for
    /// [`TRACEE_BPF_OBJECT`] by `cargo run --example btf -- mincore-archive`, read with
    /// `Bundle::open` or `Bundle::from_static`). It takes the embedded bundle's place, after
    /// `$TRACEE_BTF_FILE` and sysfs, and replaces any bundle or btfhub directory of the
    /// resolver given to [`TracerBuilder::btf_resolver`].
    ///
    /// ```no_run
    /// use tracee_btf::bundle::Bundle;
    /// use tracee_core::tracer::Tracer;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let tracer = Tracer::builder()
    ///     .events(["execve"])
    ///     .btf_bundle(Bundle::open("/usr/share/my-agent/tracee.btfbundle")?)
    ///     .build()?;
    /// println!("BTF from {}:\n{}", tracer.btf_source(), tracer.btf_report());
    /// # Ok(()) }
    /// ```
    pub fn btf_bundle(mut self, bundle: Bundle) -> Self {
        self.bundle = Some(bundle);
        self
    }

    /// Whether the [embedded bundle](crate::embedded_btf) fills the resolver's bundle slot
    /// when nothing else does (default true; no effect without feature `embedded-btf`).
    pub fn embedded_btf(mut self, use_it: bool) -> Self {
        self.embedded_btf = use_it;
        self
    }

    /// The resolver [`TracerBuilder::build`] runs: the one given (or `BtfResolver::new()`)
    /// with its bundle slot filled by [`TracerBuilder::btf_bundle`], else by its own
    /// bundle or btfhub directory, else by the embedded bundle. Errors only if the embedded
    /// bundle cannot be parsed (a build problem).
    pub fn effective_btf_resolver(&self) -> Result<BtfResolver, TracerError> {
        with_bundle(
            self.resolver.clone(),
            self.bundle.clone(),
            self.embedded_btf,
        )
    }

    /// Use another build of the tracer program (same maps and programs).
    pub fn object_bytes(mut self, bytes: impl Into<Arc<[u8]>>) -> Self {
        self.object = Some(bytes.into());
        self
    }

    /// Ring buffer size in bytes (a power of two, multiple of the page size).
    pub fn ring_buffer_size(mut self, bytes: u32) -> Self {
        self.ring_bytes = bytes;
        self
    }

    /// How the program wakes the reader (see [`WakeupPolicy`]).
    pub fn wakeup(mut self, policy: WakeupPolicy) -> Self {
        self.wakeup = policy;
        self
    }

    /// Capacity of the event channel; a full channel counts drops instead of blocking.
    pub fn channel_capacity(mut self, events: usize) -> Self {
        self.channel_capacity = events;
        self
    }

    /// Whether the kernel skips this process's own syscalls (default true: a tracer that
    /// sees its own reads of the ring buffer feeds on itself). The process is named by its
    /// host tgid, asked from the kernel, so this holds in a pid namespace too.
    pub fn exclude_self(mut self, exclude: bool) -> Self {
        self.exclude_self = exclude;
        self
    }

    /// The matched-policies bitmap put in every event's header (default 1).
    pub fn matched_policies(mut self, bitmap: u64) -> Self {
        self.policies = bitmap;
        self
    }

    /// Trace what `set` selects (up to 64 policies from `--scope`/`--events` flags or policy
    /// files, see `tracee_filters`): each event carries the bitmap of the policies that
    /// matched it. Filters run in the kernel where they can (docs/filters.md), the rest after
    /// decoding ([`Tracer::events`] and [`Tracer::next_timeout`] only deliver matching events).
    /// Events selected only by [`TracerBuilder::events`] match no policy and are dropped.
    pub fn policies(mut self, set: tracee_filters::PolicySet) -> Self {
        self.policy_set = Some(set);
        self
    }

    /// Which programs hook syscalls (default [`SyscallHooks::Auto`]: one program per
    /// syscall where the selection allows). [`Tracer::attachments`] tells what was attached.
    ///
    /// ```no_run
    /// use tracee_core::tracer::{SyscallHooks, Tracer};
    /// # fn main() -> Result<(), tracee_core::TracerError> {
    /// // Entry timestamps for every syscall event, at the cost of a second program.
    /// let tracer = Tracer::builder()
    ///     .events(["openat"])
    ///     .syscall_hooks(SyscallHooks::EntryAndExit)
    ///     .build()?;
    /// for a in tracer.attachments() {
    ///     println!("{} on {} ({})", a.program, a.target, a.kind);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn syscall_hooks(mut self, hooks: SyscallHooks) -> Self {
        self.syscall_hooks = hooks;
        self
    }

    /// Hook raw tracepoints only (`raw_tp`), as where BTF-typed ones (`tp_btf`) cannot
    /// attach: the syscall pair of [`SyscallHooks::EntryAndExit`] and the `raw_tp` copies of
    /// the lifecycle and `task_rename` programs, which are otherwise only fallbacks. The
    /// `tp_btf` programs are not even loaded. Off by default; lets an agent check, on any
    /// kernel, the events it would get where the fallbacks are taken.
    ///
    /// ```no_run
    /// use tracee_core::tracer::Tracer;
    /// # fn main() -> Result<(), tracee_core::TracerError> {
    /// let tracer = Tracer::builder()
    ///     .events(["execve", "sched_process_exec"])
    ///     .raw_tracepoints_only(true)
    ///     .build()?;
    /// assert!(tracer.attachments().iter().all(|a| a.kind == "raw_tp"));
    /// # Ok(()) }
    /// ```
    pub fn raw_tracepoints_only(mut self, on: bool) -> Self {
        self.raw_tracepoints_only = on;
        self
    }

    /// Build and start; events arrive through [`Tracer::events`] and friends.
    pub fn build(self) -> Result<Tracer, TracerError> {
        let cap = self.channel_capacity;
        self.start(Sink::Channel(cap))
    }

    /// Build and start, calling `callback` on the reader thread with each event borrowed
    /// from the ring buffer: no copy, no allocation. Undecodable records are counted in
    /// [`TracerStats::decode_errors`](super::TracerStats) and skipped.
    pub fn build_with_callback(
        self,
        callback: impl FnMut(&EventRef<'_>) + Send + 'static,
    ) -> Result<Tracer, TracerError> {
        self.start(Sink::Callback(Box::new(callback)))
    }

    fn start(self, sink: Sink) -> Result<Tracer, TracerError> {
        let catalog = Arc::new(self.catalog.unwrap_or_else(Catalog::builtin));
        let mut selectors = self.selectors.clone();
        if let Some(set) = &self.policy_set {
            for id in set.events() {
                if let Some(d) = catalog.get(EventId(id)) {
                    selectors.push(d.name().to_string());
                }
            }
        }
        let sel = Selection::resolve(&catalog, &selectors, self.policies)?;
        // Moved, not cloned: a bundle read at run time owns its (possibly large) bytes.
        let resolver = with_bundle(self.resolver, self.bundle, self.embedded_btf)?;
        let btf = resolver.resolve().map_err(TracerError::Btf)?;
        log::info!(
            "BTF from {} ({})\n{}",
            btf.source(),
            btf.path().display(),
            btf.report()
        );
        let object = self.object.unwrap_or_else(|| Arc::from(TRACEE_BPF_OBJECT));
        let mut mb = ModuleBuilder::from_bytes(object.clone())
            .object_name("tracee")
            .map_max_entries("events", self.ring_bytes);
        if btf.source() != Source::Sysfs {
            mb = mb.btf_custom_path(btf.path());
        }
        let raw_only = self.raw_tracepoints_only;
        // tp_btf programs: optional (each has a raw_tp fallback), or not loaded at all.
        let tp_btf = |mb: ModuleBuilder, program: &str| {
            if raw_only {
                mb.autoload(program, false)
            } else {
                mb.optional_program(program)
            }
        };
        for hook in Lifecycle::ALL {
            mb = tp_btf(mb, hook.program());
        }
        // Optional programs another build of the program (`object_bytes`) may predate.
        let parsed = tracee_bpf_obj::elf::BpfObject::from_bytes(&object).ok();
        let has = |name: &str| parsed.as_ref().is_some_and(|o| o.program(name).is_some());
        // tp_btf again; the raw_tp pair is the fallback.
        let object_has_exit_regs = has(SYS_EXIT_REGS);
        if object_has_exit_regs {
            mb = tp_btf(mb, SYS_EXIT_REGS);
        }
        if has(PREV_COMM_PROGRAM) {
            mb = tp_btf(mb, PREV_COMM_PROGRAM);
        }
        // Without it, host_ids falls back (see there).
        if has(host_ids::PROGRAM) {
            mb = mb.optional_program(host_ids::PROGRAM);
        }
        let mut module = mb.load().map_err(|e| load_error(&object, e))?;
        let ids = host_ids::host_ids(&module);
        configure(&module, &sel, self.exclude_self.then_some(ids.tgid))?;
        let active = match self.policy_set {
            Some(set) => {
                let env = policies::environment(ids.init_pid_ns);
                let version = tracee_filters::maps::FIRST_VERSION;
                let compiled = tracee_filters::compile(&set, catalog.as_ref(), &env, version);
                policies::install(&module, &compiled, None, &ids)?;
                Some(Arc::new(ActivePolicies::first(set, compiled, env)))
            }
            None => None,
        };

        let decode_errors = Arc::new(AtomicU64::new(0));
        let rb = BufferReader::ring_buffer(&module, "events")
            .map_err(TracerError::module("opening the event ring buffer"))?
            .wakeup(self.wakeup);
        let (reader, rx) = match sink {
            Sink::Channel(cap) => {
                let (reader, rx) = rb
                    .start_channel(cap)
                    .map_err(TracerError::module("starting the ring buffer reader"))?;
                (reader, Some(rx))
            }
            Sink::Callback(mut f) => {
                let errors = decode_errors.clone();
                let reader = rb
                    .start_callback(move |bytes| match EventRef::parse(bytes) {
                        Ok(ev) => f(&ev),
                        Err(e) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            log::debug!("undecodable event of {} bytes: {e}", bytes.len());
                        }
                    })
                    .map_err(TracerError::module("starting the ring buffer reader"))?;
                (reader, None)
            }
        };
        // The filters' process map follows forks, execs and exits even when their events are
        // not selected.
        let hooks = match self.syscall_hooks {
            SyscallHooks::Auto if !object_has_exit_regs || raw_only => SyscallHooks::EntryAndExit,
            h => h,
        };
        let mut attachments = attach(&mut module, &sel, active.is_some(), hooks, raw_only)?;
        attachments.extend(attach_prev_comm(&mut module, &sel, raw_only));
        Ok(Tracer {
            reader,
            rx,
            module: Mutex::new(Some(module)),
            catalog,
            btf,
            attachments,
            selected: sel.ids,
            decode_errors,
            policies: std::sync::RwLock::new(active),
            filtered_in_userspace: Arc::new(AtomicU64::new(0)),
            stopped: std::sync::atomic::AtomicBool::new(false),
            host_ids: ids,
        })
    }
}

/// A failed load on a kernel that lacks the object's map types or helpers is reported as
/// such; any other failure as the module's error (verifier log included).
fn load_error(object: &[u8], e: ModuleError) -> TracerError {
    // Without the capability every probe fails too: the kernel is not the one to blame.
    if e.is_missing_capability() {
        return TracerError::module("loading the tracer's BPF object")(e);
    }
    match super::requirements::missing_kernel_features(object) {
        Ok(missing) if !missing.is_empty() => TracerError::KernelLacks {
            missing,
            source: Box::new(e),
        },
        _ => TracerError::module("loading the tracer's BPF object")(e),
    }
}

/// See [`TracerBuilder::effective_btf_resolver`].
fn with_bundle(
    resolver: Option<BtfResolver>,
    bundle: Option<Bundle>,
    embedded: bool,
) -> Result<BtfResolver, TracerError> {
    let resolver = resolver.unwrap_or_default();
    if let Some(b) = bundle {
        return Ok(resolver.bundle(b));
    }
    if resolver.bundle_source().is_some() || !embedded {
        return Ok(resolver);
    }
    match crate::embedded_btf::bundle() {
        Ok(Some(b)) => Ok(resolver.bundle(b)),
        Ok(None) => Ok(resolver),
        Err(e) => Err(TracerError::Btf(ResolveError::Bundle(e))),
    }
}

/// `exclude`: the tracer's host tgid, to skip in the kernel.
fn configure(module: &Module, sel: &Selection, exclude: Option<u32>) -> Result<(), TracerError> {
    let cfg = TracerCfg {
        tracer_tgid: exclude.unwrap_or(0),
        flags: 0,
    };
    let map = |name: &str| {
        module
            .map(name)
            .map_err(TracerError::module(format!("finding map {name}")))
    };
    map("tr_config")?
        .update(&0u32, &cfg, UpdateFlags::empty())
        .map_err(TracerError::module("writing tr_config"))?;
    let syscalls = map("tr_syscalls")?;
    for (nr, cfg) in &sel.syscalls {
        syscalls
            .update(nr, cfg, UpdateFlags::empty())
            .map_err(TracerError::module(format!("selecting syscall {nr}")))?;
    }
    let lifecycle = map("tr_lifecycle")?;
    for (key, (hook, cfg)) in &sel.lifecycle {
        lifecycle
            .update(&u32::from(*key), cfg, UpdateFlags::empty())
            .map_err(TracerError::module(format!(
                "selecting {}",
                hook.event_name()
            )))?;
    }
    Ok(())
}

/// Why a tp_btf program was not attached under [`TracerBuilder::raw_tracepoints_only`].
const RAW_ONLY: &str = "not tried (TracerBuilder::raw_tracepoints_only)";

/// The exit program of [`SyscallHooks::Auto`] (`tp_btf/sys_exit`).
const SYS_EXIT_REGS: &str = "tracee_sys_exit_regs";

fn attach(
    module: &mut Module,
    sel: &Selection,
    all_lifecycle: bool,
    hooks: SyscallHooks,
    raw_only: bool,
) -> Result<Vec<Attachment>, TracerError> {
    let mut out = Vec::new();
    if !sel.syscalls.is_empty() {
        out.extend(attach_syscalls(module, sel, hooks)?);
    }
    let lifecycle: Vec<Lifecycle> = if all_lifecycle {
        Lifecycle::ALL.to_vec()
    } else {
        sel.lifecycle.values().map(|(h, _)| *h).collect()
    };
    for hook in &lifecycle {
        let a = attach_btf_or_raw(
            module,
            hook.program(),
            hook.raw_program(),
            hook.tracepoint(),
            raw_only,
        )
        .map_err(|(why, e)| {
            TracerError::module(format!("attaching {} (tp_btf: {why})", hook.raw_program()))(*e)
        })?;
        out.push(a);
    }
    Ok(out)
}

/// Attaches `program` to `tracepoint` as tp_btf, or its raw_tp copy `raw` where tp_btf
/// cannot attach (or is not tried: `raw_only`). Err: why tp_btf was not used, and the raw_tp
/// error.
fn attach_btf_or_raw(
    module: &mut Module,
    program: &str,
    raw: &str,
    tracepoint: &str,
    raw_only: bool,
) -> Result<Attachment, (String, Box<ModuleError>)> {
    let why = if raw_only {
        RAW_ONLY.to_string()
    } else {
        match module.attach_tp_btf(program) {
            Ok(_) => {
                return Ok(Attachment {
                    program: program.to_string(),
                    target: tracepoint.to_string(),
                    kind: "tp_btf",
                    fallback_reason: None,
                })
            }
            Err(e) => {
                log::warn!("tp_btf {tracepoint} unavailable ({e}); falling back to raw_tp");
                e.to_string()
            }
        }
    };
    match module.attach_raw_tracepoint(raw, tracepoint) {
        Ok(_) => Ok(Attachment {
            program: raw.to_string(),
            target: tracepoint.to_string(),
            kind: "raw_tp",
            fallback_reason: Some(why),
        }),
        Err(e) => Err((why, Box::new(e))),
    }
}

/// The syscall programs for `hooks`. Exit before entry: an entry saved while no exit program
/// runs would be emitted later with another syscall's return value.
fn attach_syscalls(
    module: &mut Module,
    sel: &Selection,
    hooks: SyscallHooks,
) -> Result<Vec<Attachment>, TracerError> {
    let entry = |module: &mut Module| -> Result<Attachment, TracerError> {
        module
            .attach_raw_tracepoint("tracee_sys_enter", "sys_enter")
            .map_err(TracerError::module("attaching tracee_sys_enter"))?;
        Ok(Attachment {
            program: "tracee_sys_enter".into(),
            target: "sys_enter".into(),
            kind: "raw_tp",
            fallback_reason: None,
        })
    };
    let mut fallback_reason = None;
    if hooks == SyscallHooks::Auto {
        match module.attach_tp_btf(SYS_EXIT_REGS) {
            Ok(_) => {
                let mut out = vec![Attachment {
                    program: SYS_EXIT_REGS.into(),
                    target: "sys_exit".into(),
                    kind: "tp_btf",
                    fallback_reason: None,
                }];
                let needs_entry = sel
                    .syscalls
                    .values()
                    .any(|c| c.flags & (EV_CAPTURE_AT_ENTRY | EV_EMIT_AT_ENTRY) != 0);
                if needs_entry {
                    // Tell the entry program to leave the other events to the exit one.
                    let map = module
                        .map("tr_config")
                        .map_err(TracerError::module("finding map tr_config"))?;
                    let mut cfg: TracerCfg = map
                        .lookup(&0u32)
                        .map_err(TracerError::module("reading tr_config"))?
                        .unwrap_or_default();
                    cfg.flags |= CFG_EXIT_READS_REGS;
                    map.update(&0u32, &cfg, UpdateFlags::empty())
                        .map_err(TracerError::module("writing tr_config"))?;
                    out.push(entry(module)?);
                }
                return Ok(out);
            }
            Err(e) => {
                log::warn!("tp_btf sys_exit unavailable ({e}); hooking sys_enter and sys_exit");
                fallback_reason = Some(e.to_string());
            }
        }
    }
    module
        .attach_raw_tracepoint("tracee_sys_exit", "sys_exit")
        .map_err(TracerError::module("attaching tracee_sys_exit"))?;
    Ok(vec![
        Attachment {
            program: "tracee_sys_exit".into(),
            target: "sys_exit".into(),
            kind: "raw_tp",
            fallback_reason,
        },
        entry(module)?,
    ])
}

/// The tp_btf program that keeps a task's comm before a rename, for sched_process_exec's
/// `prev_comm`; `tracee_task_rename_raw` is its raw_tp fallback.
const PREV_COMM_PROGRAM: &str = "tracee_task_rename";

/// Attaches the task_rename program when sched_process_exec is selected (it records only
/// while the exec event has a `prev_comm` slot, and renames happen at exec and prctl, never
/// per syscall). Not fatal: without it `prev_comm` is absent from the events.
fn attach_prev_comm(module: &mut Module, sel: &Selection, raw_only: bool) -> Option<Attachment> {
    if !sel
        .lifecycle
        .values()
        .any(|(hook, _)| *hook == Lifecycle::Exec)
    {
        return None;
    }
    let tp = "task_rename";
    match attach_btf_or_raw(
        module,
        PREV_COMM_PROGRAM,
        "tracee_task_rename_raw",
        tp,
        raw_only,
    ) {
        Ok(a) => Some(a),
        Err((why, e)) => {
            log::warn!(
                "task_rename unavailable (tp_btf: {why}; raw_tp: {e}); \
                 sched_process_exec has no prev_comm"
            );
            None
        }
    }
}

#[cfg(test)]
#[path = "load_error_tests.rs"]
mod load_error_tests;
