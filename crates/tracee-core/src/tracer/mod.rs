//! The [`Tracer`]: BTF → BPF module → event selection → ring buffer → decoder, in one builder.
//!
//! ```no_run
//! use std::time::Duration;
//! use tracee_core::tracer::Tracer;
//! # fn main() -> Result<(), tracee_core::TracerError> {
//! let tracer = Tracer::builder().events(["execve", "sched_process_exec"]).build()?;
//! println!("BTF from {}:\n{}", tracer.btf_source(), tracer.btf_report());
//! while let Some(ev) = tracer.next_timeout(Duration::from_secs(1)) {
//!     println!("{} pid={} {:?}", ev.event_name, ev.header.pid, ev.arg("pathname"));
//! }
//! tracer.stop();
//! println!("{:?}", tracer.stats());
//! # Ok(()) }
//! ```
//!
//! Allocation-free consumption: [`TracerBuilder::build_with_callback`] hands each event to a
//! callback as an [`EventRef`] borrowing the ring buffer's memory.

mod builder;
mod host_ids;
mod policies;
pub mod requirements;
mod selection;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};
use tracee_bpf_obj::module::buffers::{BufferReader, Drops};
use tracee_bpf_obj::module::{Module, ProgramInfo};
use tracee_btf::resolver::{ResolveReport, ResolvedBtf, Source};

use crate::decode::{Event, EventRef};
use crate::events::{Catalog, EventId};

pub use builder::{SyscallHooks, TracerBuilder};
pub use policies::FilterStats;

/// The compiled tracer program for this target (`bpf/tracee.bpf.c` in this crate, built by
/// `scripts/build-bpf.sh`): `bpf/tracee.bpf.arm64.o` on aarch64, `bpf/tracee.bpf.o` (x86_64)
/// elsewhere. The two differ in how they read syscall arguments from `pt_regs`.
#[cfg(target_arch = "aarch64")]
pub static TRACEE_BPF_OBJECT: &[u8] = include_bytes!("../../bpf/tracee.bpf.arm64.o");
/// The compiled tracer program for this target (`bpf/tracee.bpf.c` in this crate, built by
/// `scripts/build-bpf.sh`): `bpf/tracee.bpf.arm64.o` on aarch64, `bpf/tracee.bpf.o` (x86_64)
/// elsewhere. The two differ in how they read syscall arguments from `pt_regs`.
#[cfg(not(target_arch = "aarch64"))]
pub static TRACEE_BPF_OBJECT: &[u8] = include_bytes!("../../bpf/tracee.bpf.o");

/// How one of the program's hooks was attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The BPF program.
    pub program: String,
    /// The kernel hook (tracepoint name).
    pub target: String,
    /// `raw_tp` or `tp_btf`.
    pub kind: &'static str,
    /// Why the preferred attach kind was not used, for fallbacks.
    pub fallback_reason: Option<String>,
}

/// Counters of a running or stopped tracer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TracerStats {
    /// Events the reader handed to the channel or callback.
    pub received: u64,
    /// Events lost, by where (kernel ring full, channel full).
    pub drops: Drops,
    /// Records that did not decode (counted, logged at debug, skipped).
    pub decode_errors: u64,
}

/// A running tracer. Events arrive through [`Tracer::events`] / [`Tracer::next_timeout`]
/// (or the callback given to [`TracerBuilder::build_with_callback`]). Stops on drop.
pub struct Tracer {
    // Field order is drop order: the reader stops before the module detaches.
    reader: BufferReader,
    rx: Option<Receiver<Vec<u8>>>,
    module: Mutex<Option<Module>>,
    catalog: Arc<Catalog>,
    btf: ResolvedBtf,
    attachments: Vec<Attachment>,
    selected: Vec<EventId>,
    decode_errors: Arc<AtomicU64>,
    policies: std::sync::RwLock<Option<Arc<policies::ActivePolicies>>>,
    filtered_in_userspace: Arc<AtomicU64>,
    stopped: std::sync::atomic::AtomicBool,
    /// What the kernel calls the tracer, asked once at build (set_policies needs it again).
    host_ids: host_ids::HostIds,
}

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracer")
            .field("btf_source", &self.btf.source())
            .field("selected", &self.selected)
            .field("attachments", &self.attachments)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Tracer {
    /// A builder with the built-in catalog, `BtfResolver::new()` (plus the embedded BTF bundle
    /// with feature `embedded-btf`) and no events selected.
    pub fn builder() -> TracerBuilder {
        TracerBuilder::new()
    }

    /// The BTF source that won (env file, sysfs, bundle, download).
    pub fn btf_source(&self) -> Source {
        self.btf.source()
    }

    /// The path of the BTF libbpf relocated the program against.
    pub fn btf_path(&self) -> &Path {
        self.btf.path()
    }

    /// Every BTF source consulted, and why those before the winner were skipped.
    pub fn btf_report(&self) -> &ResolveReport {
        self.btf.report()
    }

    /// How each hook was attached (with fallbacks and their reasons).
    pub fn attachments(&self) -> &[Attachment] {
        &self.attachments
    }

    /// The tracer's BPF programs (loaded or not) with their kernel ids: what `bpftool prog
    /// show id N` or `BPF_OBJ_GET_INFO_BY_FD` needs to report a program's run count and
    /// run time (with `kernel.bpf_stats_enabled=1`). Empty once the tracer is dropped.
    pub fn programs(&self) -> Vec<ProgramInfo> {
        let module = self.module.lock().unwrap_or_else(|e| e.into_inner());
        module.as_ref().map(Module::programs).unwrap_or_default()
    }

    /// The selected events.
    pub fn selected(&self) -> &[EventId] {
        &self.selected
    }

    /// The catalog names come from.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    fn decode(&self, bytes: &[u8]) -> Option<Event> {
        match EventRef::parse(bytes) {
            Ok(ev) => {
                let mut ev = Event::from_ref(&ev, self.catalog.get(ev.event_id()));
                let active = self
                    .policies
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                if let Some(p) = active {
                    if !p.judge(&self.catalog, &mut ev) {
                        self.filtered_in_userspace.fetch_add(1, Ordering::Relaxed);
                        return None;
                    }
                }
                Some(ev)
            }
            Err(e) => {
                self.decode_errors.fetch_add(1, Ordering::Relaxed);
                log::debug!("undecodable event of {} bytes: {e}", bytes.len());
                None
            }
        }
    }

    /// The next event, waiting up to `timeout`; `None` on timeout or once stopped and
    /// drained (and always in callback mode).
    pub fn next_timeout(&self, timeout: Duration) -> Option<Event> {
        let rx = self.rx.as_ref()?;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(bytes) => {
                    if let Some(ev) = self.decode(&bytes) {
                        return Some(ev);
                    }
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    return None
                }
            }
        }
    }

    /// Decoded events until the tracer is stopped and drained (blocking between events).
    pub fn events(&self) -> Events<'_> {
        Events { tracer: self }
    }

    /// The raw records (wire format), for callers that decode with [`EventRef::parse`]
    /// themselves; `None` in callback mode. Do not mix with [`Tracer::events`].
    pub fn raw_events(&self) -> Option<&Receiver<Vec<u8>>> {
        self.rx.as_ref()
    }

    /// Counters now.
    pub fn stats(&self) -> TracerStats {
        TracerStats {
            received: self.reader.received(),
            drops: self.reader.drops(),
            decode_errors: self.decode_errors.load(Ordering::Relaxed),
        }
    }

    /// The active policies ([`TracerBuilder::policies`] or [`Tracer::set_policies`]).
    ///
    /// An event's `matched_policies` bits are numbered by the policies that judged it, which
    /// are not the active ones if it was emitted before a [`Tracer::set_policies`]: see
    /// [`Tracer::policies_of`].
    pub fn policies(&self) -> Option<tracee_filters::PolicySet> {
        let active = self.policies.read().unwrap_or_else(|e| e.into_inner());
        active.as_ref().map(|p| (*p.set).clone())
    }

    /// The policies that judged events whose header says `policies_version` (bit `i` of
    /// their `matched_policies` is policy `i` of this set): the active ones or one of the
    /// 253 before. `None` for 0 (emitted before any policy was installed) or a version no
    /// longer kept.
    ///
    /// ```no_run
    /// # fn f(tracer: &tracee_core::tracer::Tracer, ev: &tracee_core::decode::Event) {
    /// if let Some(set) = tracer.policies_of(ev.header.policies_version) {
    ///     for (i, p) in set.policies().iter().enumerate() {
    ///         if ev.header.matched_policies & (1 << i) != 0 {
    ///             println!("{} matched {}", ev.event_name, p.name);
    ///         }
    ///     }
    /// }
    /// # }
    /// ```
    pub fn policies_of(&self, policies_version: u8) -> Option<tracee_filters::PolicySet> {
        let active = self.policies.read().unwrap_or_else(|e| e.into_inner());
        let (set, _) = active.as_ref()?.version(policies_version)?;
        Some(set.clone())
    }

    /// Replaces the policies while tracing, atomically: the new version's map entries are
    /// written in full before the program switches to it, so no event is judged by half-old,
    /// half-new filters (see `tracee_filters::maps`). The new policies may only select events
    /// the tracer was built with.
    pub fn set_policies(&self, set: tracee_filters::PolicySet) -> Result<(), crate::TracerError> {
        let mut active = self.policies.write().unwrap_or_else(|e| e.into_inner());
        let module = self.module.lock().unwrap_or_else(|e| e.into_inner());
        let module = module.as_ref().ok_or(crate::TracerError::NoEvents)?;
        let next = policies::replace(
            module,
            &self.catalog,
            &self.selected,
            active.as_deref(),
            set,
            &self.host_ids,
        )?;
        *active = Some(Arc::new(next));
        Ok(())
    }

    /// What the filters did: the kernel's counters (events judged, dropped, emitted) and the
    /// events the userspace remainder dropped after decoding. `None` without policies.
    pub fn filter_stats(&self) -> Option<(FilterStats, u64)> {
        self.policies
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()?;
        let module = self.module.lock().unwrap_or_else(|e| e.into_inner());
        let kernel = module.as_ref().map(policies::stats).unwrap_or_default();
        Some((kernel, self.filtered_in_userspace.load(Ordering::Relaxed)))
    }

    /// Pause: detach every program, so no event is produced and the traced workload pays
    /// nothing (not even the hooks) until [`Tracer::resume`]. Programs, maps, policies and
    /// the reader stay: events already in the ring buffer are still delivered. Idempotent.
    ///
    /// ```no_run
    /// use tracee_core::tracer::Tracer;
    /// # fn main() -> Result<(), tracee_core::TracerError> {
    /// let tracer = Tracer::builder().events(["openat"]).build()?;
    /// tracer.pause();
    /// // ... a window the agent does not trace ...
    /// tracer.resume()?;
    /// # Ok(()) }
    /// ```
    pub fn pause(&self) {
        let mut module = self.module.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = module.as_mut() {
            m.detach_all();
        }
    }

    /// Resume after [`Tracer::pause`]: attach again what the build attached
    /// ([`Tracer::attachments`]), in the same order (the exit program before the entry
    /// program). A no-op while attached; [`TracerError::Stopped`](crate::TracerError) after
    /// [`Tracer::stop`]. If one attach fails, the others are detached again and the error
    /// names it.
    pub fn resume(&self) -> Result<(), crate::TracerError> {
        let mut module = self.module.lock().unwrap_or_else(|e| e.into_inner());
        if self.stopped.load(Ordering::SeqCst) {
            return Err(crate::TracerError::Stopped);
        }
        let m = module.as_mut().ok_or(crate::TracerError::Stopped)?;
        if !m.links().is_empty() {
            return Ok(());
        }
        for a in &self.attachments {
            let r = match a.kind {
                "tp_btf" => m.attach_tp_btf(&a.program),
                _ => m.attach_raw_tracepoint(&a.program, &a.target),
            };
            if let Err(e) = r {
                m.detach_all();
                return Err(crate::TracerError::module(format!(
                    "re-attaching {} to {}",
                    a.program, a.target
                ))(e));
            }
        }
        Ok(())
    }

    /// Stop: detach every program (no new events), then drain what the ring buffer holds
    /// into the channel or callback and stop the reader. Idempotent, callable from any
    /// thread (e.g. a Ctrl-C handler); [`Tracer::events`] ends once the channel is empty.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let mut module = self.module.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = module.as_mut() {
            m.detach_all();
        }
        drop(module);
        self.reader.stop();
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Iterator of decoded events; see [`Tracer::events`].
#[derive(Debug)]
pub struct Events<'t> {
    tracer: &'t Tracer,
}

impl Iterator for Events<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        let rx = self.tracer.rx.as_ref()?;
        loop {
            let bytes = rx.recv().ok()?;
            if let Some(ev) = self.tracer.decode(&bytes) {
                return Some(ev);
            }
        }
    }
}
