//! Typed attach: one method per attach kind. A refusal names the program, the attach kind,
//! the target, the errno and the likely cause (e.g. "kernel has no CONFIG_KPROBES").

use std::fmt;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use super::builder::cstring;
use super::error::{AttachStage, Errno, ModuleError, Result, ENOTSUPP};
use super::libbpf_log;
use super::module::{LinkId, Module, OwnedLink};

/// The ways this crate attaches programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttachKind {
    /// `SEC("tracepoint/CATEGORY/NAME")`: a tracefs event.
    Tracepoint,
    /// `SEC("raw_tp/NAME")`: a raw tracepoint (untyped `u64` arguments).
    RawTracepoint,
    /// `SEC("tp_btf/NAME")`: a BTF-typed raw tracepoint.
    TpBtf,
    /// `SEC("uprobe")`: entry of a user-space function.
    Uprobe,
    /// `SEC("uretprobe")`: return of a user-space function.
    Uretprobe,
    /// `SEC("perf_event")`: a perf event (sampling, software events).
    PerfEvent,
    /// `SEC("kprobe/FUNC")`: entry of a kernel function.
    Kprobe,
    /// `SEC("kretprobe/FUNC")`: return of a kernel function.
    Kretprobe,
    /// `SEC("fentry/FUNC")`: BPF trampoline at kernel function entry.
    Fentry,
    /// `SEC("fexit/FUNC")`: BPF trampoline at kernel function return.
    Fexit,
    /// `SEC("lsm/HOOK")`: a BPF LSM hook.
    Lsm,
}

impl AttachKind {
    /// The kind an ELF section name implies (libbpf's section conventions; a leading `?`
    /// is ignored). `None` for sections this crate does not attach (iter, xdp, ...).
    pub fn from_section(section: &str) -> Option<AttachKind> {
        let s = section.strip_prefix('?').unwrap_or(section);
        let head = s.split('/').next().unwrap_or(s);
        Some(match head {
            "tracepoint" | "tp" => AttachKind::Tracepoint,
            "raw_tp" | "raw_tracepoint" | "raw_tp.w" | "raw_tracepoint.w" => {
                AttachKind::RawTracepoint
            }
            "tp_btf" => AttachKind::TpBtf,
            "uprobe" | "uprobe.s" => AttachKind::Uprobe,
            "uretprobe" | "uretprobe.s" => AttachKind::Uretprobe,
            "perf_event" => AttachKind::PerfEvent,
            "kprobe" => AttachKind::Kprobe,
            "kretprobe" => AttachKind::Kretprobe,
            "fentry" | "fentry.s" => AttachKind::Fentry,
            "fexit" | "fexit.s" => AttachKind::Fexit,
            "lsm" | "lsm.s" => AttachKind::Lsm,
            _ => return None,
        })
    }

    /// Whether a program of libbpf type `prog_type` (and expected attach type) can be
    /// attached this way.
    fn accepts(self, prog_type: u32, attach_type: u32) -> bool {
        use libbpf_sys as s;
        match self {
            AttachKind::Tracepoint => prog_type == s::BPF_PROG_TYPE_TRACEPOINT,
            AttachKind::RawTracepoint => {
                prog_type == s::BPF_PROG_TYPE_RAW_TRACEPOINT
                    || prog_type == s::BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE
            }
            AttachKind::TpBtf => {
                prog_type == s::BPF_PROG_TYPE_TRACING && attach_type == s::BPF_TRACE_RAW_TP
            }
            AttachKind::Uprobe
            | AttachKind::Uretprobe
            | AttachKind::Kprobe
            | AttachKind::Kretprobe => prog_type == s::BPF_PROG_TYPE_KPROBE,
            AttachKind::PerfEvent => prog_type == s::BPF_PROG_TYPE_PERF_EVENT,
            AttachKind::Fentry => {
                prog_type == s::BPF_PROG_TYPE_TRACING && attach_type == s::BPF_TRACE_FENTRY
            }
            AttachKind::Fexit => {
                prog_type == s::BPF_PROG_TYPE_TRACING && attach_type == s::BPF_TRACE_FEXIT
            }
            AttachKind::Lsm => prog_type == s::BPF_PROG_TYPE_LSM,
        }
    }
}

impl fmt::Display for AttachKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AttachKind::Tracepoint => "tracepoint",
            AttachKind::RawTracepoint => "raw_tp",
            AttachKind::TpBtf => "tp_btf",
            AttachKind::Uprobe => "uprobe",
            AttachKind::Uretprobe => "uretprobe",
            AttachKind::PerfEvent => "perf_event",
            AttachKind::Kprobe => "kprobe",
            AttachKind::Kretprobe => "kretprobe",
            AttachKind::Fentry => "fentry",
            AttachKind::Fexit => "fexit",
            AttachKind::Lsm => "lsm",
        })
    }
}

pub(crate) const KPROBE_PMU: &str = "/sys/bus/event_source/devices/kprobe";
pub(crate) const UPROBE_PMU: &str = "/sys/bus/event_source/devices/uprobe";
const TRACEFS_DIRS: &[&str] = &["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

pub(crate) fn tracefs_file(name: &str) -> Option<PathBuf> {
    TRACEFS_DIRS
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

const TRAMPOLINE: &str = "no BPF trampoline support in this kernel (needs a BPF JIT with \
    trampolines and CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS), or lockdown forbids it; \
    fall back to a kprobe or tracepoint";

/// Why the kernel probably refused `kind` with `errno`.
pub(crate) fn likely_attach_cause(kind: AttachKind, errno: Errno, target: &str) -> String {
    let e = errno.0;
    let perm = e == libc::EPERM || e == libc::EACCES;
    match kind {
        AttachKind::Kprobe | AttachKind::Kretprobe => {
            if !Path::new(KPROBE_PMU).exists() && tracefs_file("kprobe_events").is_none() {
                "kernel has no CONFIG_KPROBES (no kprobe PMU in /sys/bus/event_source/devices \
                 and no kprobe_events in tracefs)"
                    .to_string()
            } else if e == libc::ENOENT || e == libc::EINVAL {
                format!("kernel function {target:?} does not exist or is not traceable (see available_filter_functions)")
            } else if perm {
                "missing CAP_PERFMON/CAP_SYS_ADMIN, or kernel lockdown".to_string()
            } else {
                "see the libbpf log".to_string()
            }
        }
        AttachKind::Fentry | AttachKind::Fexit => {
            if perm || e == ENOTSUPP || e == libc::EOPNOTSUPP {
                TRAMPOLINE.to_string()
            } else if e == libc::ESRCH || e == libc::ENOENT {
                format!("function {target:?} not found in kernel BTF")
            } else {
                "see the libbpf log".to_string()
            }
        }
        AttachKind::Lsm => {
            let active = std::fs::read_to_string("/sys/kernel/security/lsm")
                .map(|l| l.split(',').any(|m| m.trim() == "bpf"))
                .unwrap_or(false);
            if !active {
                "BPF LSM is not active: needs CONFIG_BPF_LSM and \"bpf\" in the lsm= boot \
                 parameter (see /sys/kernel/security/lsm)"
                    .to_string()
            } else if perm || e == ENOTSUPP || e == libc::EOPNOTSUPP {
                TRAMPOLINE.to_string()
            } else {
                format!("LSM hook {target:?} not found (see the libbpf log)")
            }
        }
        AttachKind::TpBtf => {
            if e == libc::ESRCH || e == libc::ENOENT {
                format!(
                    "tracepoint {target:?} not found in kernel BTF (needs CONFIG_DEBUG_INFO_BTF)"
                )
            } else if perm {
                "missing CAP_BPF/CAP_PERFMON (or CAP_SYS_ADMIN)".to_string()
            } else {
                "see the libbpf log".to_string()
            }
        }
        AttachKind::Tracepoint => {
            if e == libc::ENOENT {
                if tracefs_file("events").is_none() {
                    "tracefs is not mounted (mount -t tracefs tracefs /sys/kernel/tracing)"
                        .to_string()
                } else {
                    format!("no tracepoint {target:?} in tracefs events (syscall tracepoints need CONFIG_FTRACE_SYSCALLS)")
                }
            } else if perm {
                "missing CAP_PERFMON/CAP_SYS_ADMIN, or perf_event_paranoid".to_string()
            } else {
                "see the libbpf log".to_string()
            }
        }
        AttachKind::RawTracepoint => {
            if e == libc::ENOENT {
                format!("no raw tracepoint {target:?} in this kernel")
            } else if perm {
                "missing CAP_BPF/CAP_PERFMON (or CAP_SYS_ADMIN)".to_string()
            } else {
                "see the libbpf log".to_string()
            }
        }
        AttachKind::Uprobe | AttachKind::Uretprobe => {
            if !Path::new(UPROBE_PMU).exists() && tracefs_file("uprobe_events").is_none() {
                "kernel has no CONFIG_UPROBES".to_string()
            } else if e == libc::ENOENT || e == libc::ESRCH {
                format!("binary or symbol {target:?} not found")
            } else if e == libc::EINVAL {
                format!("{target:?} is not a function in an executable segment")
            } else if perm {
                "missing CAP_PERFMON/CAP_SYS_ADMIN".to_string()
            } else {
                "see the libbpf log".to_string()
            }
        }
        AttachKind::PerfEvent => {
            if e == libc::ENOENT || e == libc::EOPNOTSUPP || e == libc::ENODEV {
                "this perf event type/config is not supported here (no such PMU or counter)"
                    .to_string()
            } else if perm {
                "missing CAP_PERFMON, or kernel.perf_event_paranoid forbids it".to_string()
            } else {
                "see the libbpf log".to_string()
            }
        }
    }
}

/// Why the kernel probably refused to load a program of `kind` with `errno`.
pub(crate) fn likely_load_cause(
    kind: Option<AttachKind>,
    errno: Errno,
    verifier_log: &str,
) -> Option<String> {
    let e = errno.0;
    // libbpf turns an unresolvable CO-RE access into an instruction the verifier refuses.
    if let Some(line) = verifier_log
        .lines()
        .find(|l| l.contains("failed to resolve CO-RE relocation"))
    {
        return Some(format!(
            "CO-RE relocation failed, the kernel BTF lacks a type or member the program reads \
             (check btf_custom_path): {}",
            line.trim()
        ));
    }
    match kind {
        Some(k @ (AttachKind::Fentry | AttachKind::Fexit | AttachKind::Lsm))
            if e == libc::EPERM || e == ENOTSUPP || e == libc::EOPNOTSUPP =>
        {
            Some(likely_attach_cause(k, errno, ""))
        }
        _ if e == libc::EACCES => {
            Some("the verifier rejected the program (see its log)".to_string())
        }
        _ if e == libc::EPERM => {
            Some("missing CAP_BPF (or CAP_SYS_ADMIN), or lockdown".to_string())
        }
        _ if e == libc::E2BIG => {
            Some("program too large or too complex for the verifier".to_string())
        }
        _ if e == libc::ESRCH || e == libc::ENOENT => Some(
            "a type, member or function the program needs is missing from the kernel BTF \
             (CO-RE relocation failed: check btf_custom_path)"
                .to_string(),
        ),
        _ if e == libc::EINVAL => Some(
            "the kernel does not support something the program uses \
             (program type, helper or map type; see the libbpf log)"
                .to_string(),
        ),
        _ => None,
    }
}

/// Where a uprobe goes: a binary (or shared library) and a symbol or offset in it.
#[derive(Debug, Clone)]
pub struct UprobeTarget {
    /// The binary or shared library (libbpf also resolves a library name via ld.so.cache).
    pub binary: PathBuf,
    /// Function name; `None` means `offset` is a file offset.
    pub symbol: Option<String>,
    /// Offset inside the function (or in the file if `symbol` is `None`).
    pub offset: usize,
    /// Only this process (`None`: every process mapping the binary).
    pub pid: Option<i32>,
}

impl UprobeTarget {
    /// The entry of `symbol` in `binary`, for every process.
    pub fn symbol(binary: impl Into<PathBuf>, symbol: impl Into<String>) -> Self {
        Self {
            binary: binary.into(),
            symbol: Some(symbol.into()),
            offset: 0,
            pid: None,
        }
    }

    /// Restrict to one process.
    pub fn pid(mut self, pid: i32) -> Self {
        self.pid = Some(pid);
        self
    }

    fn describe(&self) -> String {
        match &self.symbol {
            Some(s) if self.offset == 0 => format!("{}:{s}", self.binary.display()),
            Some(s) => format!("{}:{s}+{:#x}", self.binary.display(), self.offset),
            None => format!("{}:{:#x}", self.binary.display(), self.offset),
        }
    }
}

/// A perf event to open and attach a `perf_event` program to.
#[derive(Debug, Clone, Copy)]
pub struct PerfEventConfig {
    /// `perf_event_attr.type` (`PERF_TYPE_SOFTWARE` = 1, `PERF_TYPE_HARDWARE` = 0, ...).
    pub event_type: u32,
    /// `perf_event_attr.config` (e.g. `PERF_COUNT_SW_CPU_CLOCK` = 0).
    pub config: u64,
    /// Samples per second (frequency mode); 0 means use `sample_period`.
    pub sample_freq: u64,
    /// Events per sample when `sample_freq` is 0.
    pub sample_period: u64,
    /// Process to monitor (-1: all).
    pub pid: i32,
    /// CPU to monitor (-1: any; `pid` -1 needs a CPU).
    pub cpu: i32,
}

impl PerfEventConfig {
    /// The software CPU clock on `cpu` for every process, at `freq` samples per second.
    pub fn cpu_clock(cpu: i32, freq: u64) -> Self {
        Self {
            event_type: 1,
            config: 0,
            sample_freq: freq,
            sample_period: 0,
            pid: -1,
            cpu,
        }
    }

    /// The software CPU clock of process/thread `pid` on any CPU, at `freq` Hz.
    pub fn cpu_clock_of(pid: i32, freq: u64) -> Self {
        Self {
            event_type: 1,
            config: 0,
            sample_freq: freq,
            sample_period: 0,
            pid,
            cpu: -1,
        }
    }

    fn open(&self) -> std::io::Result<OwnedFd> {
        let mut attr = libbpf_sys::perf_event_attr {
            type_: self.event_type,
            size: std::mem::size_of::<libbpf_sys::perf_event_attr>() as u32,
            config: self.config,
            ..Default::default()
        };
        if self.sample_freq > 0 {
            attr.__bindgen_anon_1.sample_freq = self.sample_freq;
            attr.set_freq(1);
        } else {
            attr.__bindgen_anon_1.sample_period = self.sample_period.max(1);
        }
        // SAFETY: perf_event_open with a valid attr; returns a new fd or -1.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_perf_event_open,
                &attr as *const libbpf_sys::perf_event_attr,
                self.pid,
                self.cpu,
                -1i32,
                libc::c_ulong::from(PERF_FLAG_FD_CLOEXEC),
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: a new fd we own.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
    }
}

const PERF_FLAG_FD_CLOEXEC: u32 = 8;

impl Module {
    /// Attach `program` the way its section says (libbpf's auto-attach), e.g. for
    /// `tp_btf/...`, `raw_tp/...`, `kprobe/...`, `tracepoint/.../...` sections with a target.
    pub fn attach(&mut self, program: &str) -> Result<LinkId> {
        let p = self.find_prog(program)?;
        // SAFETY: valid program.
        let section = unsafe { super::builder::prog_name_section(p).1 };
        let kind =
            AttachKind::from_section(&section).ok_or_else(|| ModuleError::WrongProgramType {
                program: program.to_string(),
                prog_type: section.clone(),
                kind: AttachKind::RawTracepoint,
            })?;
        let target = section
            .split_once('/')
            .map(|(_, t)| t.to_string())
            .unwrap_or_default();
        self.attach_with(program, kind, target, |p| unsafe {
            libbpf_sys::bpf_program__attach(p)
        })
    }

    /// Attach a `tracepoint` program to tracefs event `category/name`.
    pub fn attach_tracepoint(
        &mut self,
        program: &str,
        category: &str,
        name: &str,
    ) -> Result<LinkId> {
        let cat = cstring("tracepoint category", category)?;
        let n = cstring("tracepoint name", name)?;
        self.attach_with(
            program,
            AttachKind::Tracepoint,
            format!("{category}/{name}"),
            |p| unsafe { libbpf_sys::bpf_program__attach_tracepoint(p, cat.as_ptr(), n.as_ptr()) },
        )
    }

    /// Attach a `raw_tp` program to raw tracepoint `name` (e.g. `sys_enter`).
    pub fn attach_raw_tracepoint(&mut self, program: &str, name: &str) -> Result<LinkId> {
        let n = cstring("raw tracepoint name", name)?;
        self.attach_with(
            program,
            AttachKind::RawTracepoint,
            name.to_string(),
            |p| unsafe { libbpf_sys::bpf_program__attach_raw_tracepoint(p, n.as_ptr()) },
        )
    }

    /// Attach a `tp_btf` program to the tracepoint named in its section.
    pub fn attach_tp_btf(&mut self, program: &str) -> Result<LinkId> {
        self.attach_trace_kind(program, AttachKind::TpBtf)
    }

    /// Attach an `fentry` program to the function named in its section.
    pub fn attach_fentry(&mut self, program: &str) -> Result<LinkId> {
        self.attach_trace_kind(program, AttachKind::Fentry)
    }

    /// Attach an `fexit` program to the function named in its section.
    pub fn attach_fexit(&mut self, program: &str) -> Result<LinkId> {
        self.attach_trace_kind(program, AttachKind::Fexit)
    }

    /// Attach an `lsm` program to the hook named in its section.
    pub fn attach_lsm(&mut self, program: &str) -> Result<LinkId> {
        self.attach_trace_kind(program, AttachKind::Lsm)
    }

    fn attach_trace_kind(&mut self, program: &str, kind: AttachKind) -> Result<LinkId> {
        let target = self.section_target(program);
        self.attach_with(program, kind, target, |p| unsafe {
            if kind == AttachKind::Lsm {
                libbpf_sys::bpf_program__attach_lsm(p)
            } else {
                libbpf_sys::bpf_program__attach_trace(p)
            }
        })
    }

    fn section_target(&self, program: &str) -> String {
        self.find_prog(program)
            .map(|p| unsafe { super::builder::prog_name_section(p).1 })
            .ok()
            .and_then(|s| s.split_once('/').map(|(_, t)| t.to_string()))
            .unwrap_or_default()
    }

    /// Attach a `kprobe` (or, with `retprobe`, a kretprobe) program to kernel function `func`.
    pub fn attach_kprobe(&mut self, program: &str, func: &str, retprobe: bool) -> Result<LinkId> {
        let f = cstring("kernel function name", func)?;
        let kind = if retprobe {
            AttachKind::Kretprobe
        } else {
            AttachKind::Kprobe
        };
        self.attach_with(program, kind, func.to_string(), |p| unsafe {
            libbpf_sys::bpf_program__attach_kprobe(p, retprobe, f.as_ptr())
        })
    }

    /// Attach a `uprobe` (or, with `retprobe`, a uretprobe) program.
    pub fn attach_uprobe(
        &mut self,
        program: &str,
        target: &UprobeTarget,
        retprobe: bool,
    ) -> Result<LinkId> {
        use std::os::unix::ffi::OsStrExt;
        let binary =
            std::ffi::CString::new(target.binary.as_os_str().as_bytes()).map_err(|_| {
                ModuleError::InvalidString {
                    what: "uprobe binary",
                    value: target.binary.display().to_string(),
                }
            })?;
        let func = target
            .symbol
            .as_deref()
            .map(|s| cstring("uprobe symbol", s))
            .transpose()?;
        let opts = libbpf_sys::bpf_uprobe_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_uprobe_opts>() as libbpf_sys::size_t,
            retprobe,
            func_name: func.as_ref().map_or(std::ptr::null(), |f| f.as_ptr()),
            ..Default::default()
        };
        let kind = if retprobe {
            AttachKind::Uretprobe
        } else {
            AttachKind::Uprobe
        };
        let pid = target.pid.unwrap_or(-1);
        let offset = target.offset as libbpf_sys::size_t;
        self.attach_with(program, kind, target.describe(), |p| unsafe {
            libbpf_sys::bpf_program__attach_uprobe_opts(p, pid, binary.as_ptr(), offset, &opts)
        })
    }

    /// Open the perf event `config` and attach a `perf_event` program to it. The link owns
    /// the perf event fd: detaching closes it.
    pub fn attach_perf_event(&mut self, program: &str, config: &PerfEventConfig) -> Result<LinkId> {
        let target = format!(
            "type {} config {} pid {} cpu {}",
            config.event_type, config.config, config.pid, config.cpu
        );
        // Check the program before opening anything.
        self.check_kind(program, AttachKind::PerfEvent, &target)?;
        let pfd = config.open().map_err(|e| ModuleError::Attach {
            program: program.to_string(),
            kind: AttachKind::PerfEvent,
            target: target.clone(),
            stage: AttachStage::Attach,
            errno: Errno(e.raw_os_error().unwrap_or(0)),
            cause: likely_attach_cause(
                AttachKind::PerfEvent,
                Errno(e.raw_os_error().unwrap_or(0)),
                &target,
            ),
            verifier_log: String::new(),
        })?;
        let raw = pfd.as_raw_fd();
        let id = self.attach_with(program, AttachKind::PerfEvent, target, |p| unsafe {
            libbpf_sys::bpf_program__attach_perf_event(p, raw)
        })?;
        // On success libbpf's link owns and closes the perf fd.
        std::mem::forget(pfd);
        Ok(id)
    }

    fn check_kind(
        &self,
        program: &str,
        kind: AttachKind,
        target: &str,
    ) -> Result<*mut libbpf_sys::bpf_program> {
        let p = self.find_prog(program)?;
        if let Some(skipped) = self.skipped.get(program) {
            return Err(ModuleError::Attach {
                program: program.to_string(),
                kind,
                target: target.to_string(),
                stage: AttachStage::Load,
                errno: skipped.errno,
                cause: skipped.cause.clone(),
                verifier_log: skipped.verifier_log.clone(),
            });
        }
        // SAFETY: valid program.
        let (ty, at, fd) = unsafe {
            (
                libbpf_sys::bpf_program__type(p),
                libbpf_sys::bpf_program__expected_attach_type(p),
                libbpf_sys::bpf_program__fd(p),
            )
        };
        if !kind.accepts(ty, at) {
            return Err(ModuleError::WrongProgramType {
                program: program.to_string(),
                prog_type: prog_type_name(ty),
                kind,
            });
        }
        if fd < 0 {
            return Err(self.not_loaded(program));
        }
        Ok(p)
    }

    fn attach_with(
        &mut self,
        program: &str,
        kind: AttachKind,
        target: String,
        f: impl FnOnce(*mut libbpf_sys::bpf_program) -> *mut libbpf_sys::bpf_link,
    ) -> Result<LinkId> {
        let p = self.check_kind(program, kind, &target)?;
        let (link, lines) = libbpf_log::capture(|| f(p));
        // SAFETY: libbpf_get_error accepts any pointer an attach function returned.
        let err = unsafe { libbpf_sys::libbpf_get_error(link as *const _) };
        match NonNull::new(link) {
            Some(link) if err == 0 => {
                log::debug!("attached {program} as {kind} to {target}");
                // SAFETY: a fresh link from libbpf, now owned by us.
                Ok(self
                    .push_link(unsafe { OwnedLink::new(link, program.to_string(), kind, target) }))
            }
            _ => {
                let errno = Errno(if err == 0 {
                    libc::EINVAL
                } else {
                    (-err) as i32
                });
                for l in &lines {
                    log::debug!(target: "libbpf", "{l}");
                }
                Err(ModuleError::Attach {
                    program: program.to_string(),
                    kind,
                    cause: likely_attach_cause(kind, errno, &target),
                    target,
                    stage: AttachStage::Attach,
                    errno,
                    verifier_log: String::new(),
                })
            }
        }
    }
}

fn prog_type_name(ty: u32) -> String {
    // SAFETY: libbpf returns a static string or NULL.
    let s = unsafe { libbpf_sys::libbpf_bpf_prog_type_str(ty) };
    let name = unsafe { super::builder::cstr_lossy(s) };
    if name.is_empty() {
        format!("type {ty}")
    } else {
        name
    }
}
