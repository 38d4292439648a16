//! Feature probes: can this kernel load a program type, create a map type, and make an
//! attach kind work? Callers use them to choose a fallback before loading (Tracee's
//! dependency fallbacks: fentry → kprobe → tracepoint).

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;

use libbpf_rs::{MapType, ProgramType};

use super::attach::{likely_attach_cause, tracefs_file, AttachKind, KPROBE_PMU, UPROBE_PMU};
use super::error::Errno;

/// The answer of a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    /// It works here.
    Supported,
    /// It does not; `reason` says why (errno and likely cause where there is one).
    Unsupported {
        /// Why.
        reason: String,
    },
}

impl Support {
    /// `true` for [`Support::Supported`].
    pub fn is_supported(&self) -> bool {
        matches!(self, Support::Supported)
    }
}

fn unsupported(reason: impl Into<String>) -> Support {
    Support::Unsupported {
        reason: reason.into(),
    }
}

/// Can a program of this type be loaded (libbpf's `libbpf_probe_bpf_prog_type`)?
pub fn probe_program_type(ty: ProgramType) -> Support {
    // SAFETY: no preconditions.
    match unsafe { libbpf_sys::libbpf_probe_bpf_prog_type(ty as u32, std::ptr::null()) } {
        1 => Support::Supported,
        0 => unsupported(format!(
            "the kernel refused a minimal {ty:?} program (type not supported, or no CAP_BPF/CAP_PERFMON)"
        )),
        e => unsupported(format!("probe of {ty:?} failed: {}", Errno(-e))),
    }
}

/// Can a map of this type be created (libbpf's `libbpf_probe_bpf_map_type`)?
pub fn probe_map_type(ty: MapType) -> Support {
    // SAFETY: no preconditions.
    match unsafe { libbpf_sys::libbpf_probe_bpf_map_type(u32::from(ty), std::ptr::null()) } {
        1 => Support::Supported,
        0 => unsupported(format!(
            "the kernel refused to create a {ty:?} map (type not supported, or no CAP_BPF)"
        )),
        e => unsupported(format!("probe of {ty:?} failed: {}", Errno(-e))),
    }
}

/// Can a program of type `ty` call BPF helper number `helper` (`BPF_FUNC_*`) here
/// (libbpf's `libbpf_probe_bpf_helper`)? Helpers returning BTF-typed pointers
/// (`bpf_get_current_task_btf`, ...) also need in-kernel BTF, so they probe unsupported on a
/// kernel without it.
pub fn probe_helper(ty: ProgramType, helper: u32) -> Support {
    // SAFETY: no preconditions; libbpf loads and closes a tiny program.
    match unsafe {
        libbpf_sys::libbpf_probe_bpf_helper(ty as u32, helper, std::ptr::null())
    } {
        1 => Support::Supported,
        0 => unsupported(format!(
            "the kernel refused helper #{helper} in a {ty:?} program (helper unknown here, or not allowed for the type)"
        )),
        e => unsupported(format!("probe of helper #{helper} failed: {}", Errno(-e))),
    }
}

/// Can programs of `kind` be loaded and attached here? Checks the kernel interfaces the kind
/// needs and, for trampoline-based kinds (fentry/fexit/lsm/tp_btf), loads a two-instruction
/// program against a real kernel function (and, for fentry/fexit, attaches and detaches it).
pub fn probe_attach(kind: AttachKind) -> Support {
    match kind {
        AttachKind::Kprobe | AttachKind::Kretprobe => {
            if Path::new(KPROBE_PMU).exists() || tracefs_file("kprobe_events").is_some() {
                probe_program_type(ProgramType::Kprobe)
            } else {
                unsupported(likely_attach_cause(kind, Errno(libc::ENOENT), ""))
            }
        }
        AttachKind::Uprobe | AttachKind::Uretprobe => {
            if Path::new(UPROBE_PMU).exists() || tracefs_file("uprobe_events").is_some() {
                probe_program_type(ProgramType::Kprobe)
            } else {
                unsupported("kernel has no CONFIG_UPROBES")
            }
        }
        AttachKind::Tracepoint => {
            if tracefs_file("events").is_none() {
                unsupported("tracefs is not mounted (mount -t tracefs tracefs /sys/kernel/tracing)")
            } else {
                probe_program_type(ProgramType::Tracepoint)
            }
        }
        AttachKind::RawTracepoint => probe_program_type(ProgramType::RawTracepoint),
        AttachKind::PerfEvent => probe_program_type(ProgramType::PerfEvent),
        AttachKind::TpBtf => {
            probe_trampoline(kind, "sched_switch", libbpf_sys::BPF_TRACE_RAW_TP, false)
        }
        AttachKind::Fentry => {
            probe_trampoline(kind, "do_unlinkat", libbpf_sys::BPF_TRACE_FENTRY, true)
        }
        AttachKind::Fexit => {
            probe_trampoline(kind, "do_unlinkat", libbpf_sys::BPF_TRACE_FEXIT, true)
        }
        AttachKind::Lsm => {
            // libbpf looks LSM hooks up with their "bpf_lsm_" prefix added, as it does
            // "btf_trace_" for tp_btf: the name here is the hook's.
            probe_trampoline(kind, "file_open", libbpf_sys::BPF_LSM_MAC, false)
        }
    }
}

fn probe_trampoline(kind: AttachKind, func: &str, attach_type: u32, attach: bool) -> Support {
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        return unsupported("no kernel BTF at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)");
    }
    let Ok(name) = std::ffi::CString::new(func) else {
        return unsupported("invalid probe target");
    };
    // SAFETY: valid C string; reads sysfs BTF.
    let btf_id = unsafe { libbpf_sys::libbpf_find_vmlinux_btf_id(name.as_ptr(), attach_type) };
    if btf_id < 0 {
        return unsupported(format!(
            "{func} not found in kernel BTF: {}",
            Errno(-btf_id)
        ));
    }
    let prog_type = match kind {
        AttachKind::Lsm => libbpf_sys::BPF_PROG_TYPE_LSM,
        _ => libbpf_sys::BPF_PROG_TYPE_TRACING,
    };
    // r0 = 0; exit — encoded as raw 8-byte instructions.
    let insns: [u64; 2] = [0x0000_0000_0000_00b7, 0x0000_0000_0000_0095];
    let opts = libbpf_sys::bpf_prog_load_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_prog_load_opts>() as libbpf_sys::size_t,
        expected_attach_type: attach_type,
        attach_btf_id: btf_id as u32,
        ..Default::default()
    };
    let mut opts = opts;
    // SAFETY: two valid instructions; GPL license string; opts sized.
    let fd = unsafe {
        libbpf_sys::bpf_prog_load(
            prog_type,
            c"tbo_probe".as_ptr(),
            c"GPL".as_ptr(),
            insns.as_ptr().cast(),
            2,
            &mut opts,
        )
    };
    if fd < 0 {
        let e = Errno(-fd);
        return unsupported(format!(
            "loading a {kind} program failed: {e}; {}",
            likely_attach_cause(kind, e, func)
        ));
    }
    // SAFETY: a new fd we own.
    let prog = unsafe { OwnedFd::from_raw_fd(fd) };
    if attach {
        use std::os::fd::AsRawFd;
        // SAFETY: valid program fd; the link fd is closed right away.
        let link = unsafe {
            libbpf_sys::bpf_link_create(prog.as_raw_fd(), 0, attach_type, std::ptr::null())
        };
        if link < 0 {
            let e = Errno(-link);
            return unsupported(format!(
                "attaching a {kind} program failed: {e}; {}",
                likely_attach_cause(kind, e, func)
            ));
        }
        // SAFETY: a new fd we own; dropping it detaches.
        drop(unsafe { OwnedFd::from_raw_fd(link) });
    }
    drop(prog);
    Support::Supported
}
