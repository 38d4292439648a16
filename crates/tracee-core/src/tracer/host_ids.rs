//! What the kernel calls the tracer: its host tgid and the initial pid namespace.
//!
//! The program compares host numbers (`bpf_get_current_pid_tgid`, the namespace a task's pid
//! lives in). A tracer in its own pid namespace (a container without hostPID) gets other
//! numbers from `getpid()` and `/proc/self/ns/pid`: excluding "its" pid would exclude some
//! host process and let the tracer feed on itself, and its namespace would be taken for the
//! host's (`container` inverted). So it asks the kernel: the program `tracee_self`, run with
//! `BPF_PROG_TEST_RUN`, executes in the calling task (raw_tp test runs do, without
//! `BPF_F_TEST_RUN_ON_CPU`; kernel ≥ 5.10).

use tracee_bpf_obj::module::Module;

/// The program answering (see `tracee_self` in `bpf/tracee.bpf.c`).
pub(crate) const PROGRAM: &str = "tracee_self";

/// The initial pid namespace's inode number: `PROC_PID_INIT_INO` of the kernel's
/// `include/linux/proc_ns.h`, fixed since Linux 3.8. The fallback when the kernel cannot be
/// asked.
pub(crate) const PROC_PID_INIT_INO: u32 = 0xEFFF_FFFC;

/// The tracer's numbers as the kernel sees them, and where they came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HostIds {
    /// The tracer's tgid in the initial pid namespace; 0 if unknown (nothing excluded).
    pub(crate) tgid: u32,
    /// The initial pid namespace's inode number.
    pub(crate) init_pid_ns: u32,
    /// The level of the tracer's pid namespace (0: the initial one), if the kernel told.
    pub(crate) level: Option<u32>,
    /// Whether both came from the kernel (else: fallbacks, see [`host_ids`]).
    pub(crate) from_kernel: bool,
}

/// The inode number of the pid namespace a `/proc/.../ns/pid` link names.
fn ns_inode(link: &str) -> Option<u32> {
    let l = std::fs::read_link(link).ok()?;
    let s = l.to_str()?;
    s.strip_prefix("pid:[")?.strip_suffix(']')?.parse().ok()
}

/// Asks the kernel (`tracee_self`); if it cannot run (old kernel, program refused), falls
/// back to `getpid()` when this process is in the initial pid namespace, else to no
/// exclusion (0), with a warning: a wrong pid would hide another process.
pub(crate) fn host_ids(module: &Module) -> HostIds {
    let ask = |what: u64| {
        module
            .test_run(PROGRAM, Some(&what.to_le_bytes()))
            .map_err(|e| e.to_string())
    };
    match (ask(0), ask(1)) {
        (Ok(tgid), Ok(init_pid_ns)) if tgid != 0 && init_pid_ns != 0 => {
            let level = ask(2).ok();
            if tgid != std::process::id() {
                log::info!(
                    "the tracer is pid {} in its pid namespace, {tgid} on the host: excluding {tgid}",
                    std::process::id()
                );
            }
            HostIds {
                tgid,
                init_pid_ns,
                level,
                from_kernel: true,
            }
        }
        (a, b) => {
            let why = match (a, b) {
                (Err(e), _) | (_, Err(e)) => e,
                _ => "it answered 0".to_string(),
            };
            let in_init = ns_inode("/proc/self/ns/pid") == Some(PROC_PID_INIT_INO);
            let tgid = if in_init {
                std::process::id()
            } else {
                log::warn!(
                    "the tracer runs in a pid namespace and the kernel cannot tell its host pid \
                     ({PROGRAM}: {why}): its own syscalls are not excluded"
                );
                0
            };
            log::debug!("host ids from fallbacks ({PROGRAM}: {why})");
            HostIds {
                tgid,
                init_pid_ns: PROC_PID_INIT_INO,
                level: None,
                from_kernel: false,
            }
        }
    }
}

/// How many pids `/proc/self/status` gives this process (`NSpid`: one per namespace from
/// that of the `/proc` mount down to the process's own).
fn nspid_count() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("NSpid:"))?;
    Some(line.split_whitespace().count().checked_sub(1)? as u32)
}

/// Whether `/proc` is the initial pid namespace's, so its pids are host pids: it lists this
/// process's pid in every namespace from its own level up to 0 (`NSpid` has level + 1
/// numbers). Without the level from the kernel: whether this process is in the initial
/// namespace (a `/proc` that shows it is then the initial namespace's). False for a `/proc`
/// mounted in a pid namespace, or unreadable. (Not `/proc/1/ns/pid`: reading it needs
/// ptrace access to pid 1, which a sandbox may deny even to root.)
pub(crate) fn proc_is_host(ids: &HostIds) -> bool {
    match (ids.level, nspid_count()) {
        (Some(level), Some(n)) => n == level + 1,
        _ => ns_inode("/proc/self/ns/pid") == Some(ids.init_pid_ns),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::config::Lifecycle;
    use tracee_bpf_obj::module::ModuleBuilder;

    /// The kernel's answers: the level-0 pid namespace of this task is PROC_PID_INIT_INO,
    /// and, where this test runs in it, the tgid is getpid()'s. (tests/e2e_pidns.rs runs a
    /// tracer inside a pid namespace.)
    #[test]
    fn kernel_answers_match_this_process() {
        let required = std::env::var("TRACEE_REQUIRE_BPF").is_ok_and(|v| v == "1");
        let mut mb =
            ModuleBuilder::from_bytes(super::super::TRACEE_BPF_OBJECT).object_name("tracee");
        for hook in Lifecycle::ALL {
            mb = mb.optional_program(hook.program());
        }
        let module = match mb.load() {
            Ok(m) => m,
            Err(e) if !required => {
                eprintln!("SKIP kernel_answers_match_this_process: cannot load BPF: {e}");
                return;
            }
            Err(e) => panic!("loading the tracer object: {e}"),
        };
        let ids = host_ids(&module);
        assert!(ids.from_kernel, "{ids:?}");
        assert_eq!(ids.init_pid_ns, PROC_PID_INIT_INO);
        if ns_inode("/proc/self/ns/pid") == Some(ids.init_pid_ns) {
            assert_eq!(ids.tgid, std::process::id());
            assert_eq!(ids.level, Some(0));
            assert!(
                proc_is_host(&ids),
                "this /proc shows this process: the host's"
            );
        } else {
            assert_ne!(
                ids.tgid,
                std::process::id(),
                "in a pid namespace the host pid differs"
            );
        }
    }
}
