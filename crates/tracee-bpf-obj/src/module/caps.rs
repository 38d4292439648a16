//! The capabilities the kernel checks before it creates BPF maps or loads programs, and which
//! of them the calling thread lacks. A load refused with EPERM is blamed on a capability only
//! if one of these checks would fail, so an EPERM for another reason (lockdown, an LSM) keeps
//! its own explanation.

use std::fmt;

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// A capability loading BPF needs (each is also granted by `CAP_SYS_ADMIN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// `CAP_BPF` (Linux 5.8): creating maps, loading BTF and programs.
    Bpf,
    /// `CAP_PERFMON` (Linux 5.8): additionally, loading tracing programs (kprobe,
    /// tracepoint, raw_tp, perf_event, fentry/tp_btf, lsm).
    Perfmon,
}

impl Capability {
    fn bit(self) -> u32 {
        match self {
            Capability::Bpf => CAP_BPF,
            Capability::Perfmon => CAP_PERFMON,
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Capability::Bpf => "CAP_BPF",
            Capability::Perfmon => "CAP_PERFMON",
        })
    }
}

/// The capabilities of `needed` the calling thread lacks: not in its effective set (neither
/// the capability nor `CAP_SYS_ADMIN`), or held only in a user namespace other than the
/// initial one, where the kernel does not count them for BPF. Empty if the set cannot be
/// read (nothing to blame).
pub fn missing_capabilities(needed: &[Capability]) -> Vec<Capability> {
    let Some(effective) = effective_set() else {
        return Vec::new();
    };
    let has = |bit: u32| effective & (1u64 << bit) != 0;
    let counted = !in_user_namespace();
    let mut out: Vec<Capability> = needed
        .iter()
        .copied()
        .filter(|c| !(counted && (has(c.bit()) || has(CAP_SYS_ADMIN))))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether the calling process is in a user namespace other than the initial one, where
/// capabilities do not let it load BPF (without a BPF token).
pub fn in_user_namespace() -> bool {
    // PROC_USER_INIT_INO: the initial user namespace's fixed inode number.
    const INIT_USER_NS: &str = "user:[4026531837]";
    std::fs::read_link("/proc/self/ns/user")
        .map(|l| l.as_os_str() != INIT_USER_NS)
        .unwrap_or(false)
}

/// The calling thread's effective capability set: capabilities are per thread, and the
/// kernel checks the thread that calls bpf().
fn effective_set() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/thread-self/status")
        .or_else(|_| std::fs::read_to_string("/proc/self/status"))
        .ok()?;
    parse_cap_eff(&status)
}

fn parse_cap_eff(status: &str) -> Option<u64> {
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))?
        .trim();
    u64::from_str_radix(hex, 16).ok()
}

/// The capabilities loading a program of this libbpf program type needs (the kernel's
/// `is_perfmon_prog_type`).
pub(crate) fn needed_for_program(prog_type: u32) -> &'static [Capability] {
    use libbpf_sys as s;
    const TRACING: &[Capability] = &[Capability::Bpf, Capability::Perfmon];
    match prog_type {
        s::BPF_PROG_TYPE_KPROBE
        | s::BPF_PROG_TYPE_TRACEPOINT
        | s::BPF_PROG_TYPE_PERF_EVENT
        | s::BPF_PROG_TYPE_RAW_TRACEPOINT
        | s::BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE
        | s::BPF_PROG_TYPE_TRACING
        | s::BPF_PROG_TYPE_LSM
        | s::BPF_PROG_TYPE_STRUCT_OPS
        | s::BPF_PROG_TYPE_EXT => TRACING,
        _ => &[Capability::Bpf],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_effective_set() {
        let status = "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n";
        assert_eq!(parse_cap_eff(status), Some(0x1ff_ffff_ffff));
        assert_eq!(parse_cap_eff("Name:\tx\n"), None);
        assert!(
            effective_set().is_some(),
            "/proc/thread-self/status has CapEff"
        );
    }

    #[test]
    fn tracing_programs_need_perfmon() {
        assert_eq!(
            needed_for_program(libbpf_sys::BPF_PROG_TYPE_RAW_TRACEPOINT),
            &[Capability::Bpf, Capability::Perfmon]
        );
        assert_eq!(
            needed_for_program(libbpf_sys::BPF_PROG_TYPE_SOCKET_FILTER),
            &[Capability::Bpf]
        );
        assert_eq!(Capability::Perfmon.to_string(), "CAP_PERFMON");
    }
}
