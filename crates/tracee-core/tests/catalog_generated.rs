//! The generated syscall table: fresh against its inputs where this machine has them, and
//! internally consistent everywhere.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;

use tracee_core::events::{Arch, ArgType, Catalog, EventDefinition, EventId, EventKind};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const GENERATED: &str = include_str!("../src/events/generated/syscalls.rs");

fn syscalls() -> Vec<&'static EventDefinition> {
    Catalog::builtin_ref()
        .iter()
        .filter(|d| d.kind() == EventKind::Syscall)
        .collect()
}

/// Re-runs `scripts/gen-syscalls.py --check`: fails when the committed table is not what the
/// script produces from this machine's headers, tracefs and man pages. Skips (saying why) when
/// an input is missing or differs from the ones the table was generated from.
#[test]
fn generated_table_is_fresh() {
    let script = repo().join("scripts/gen-syscalls.py");
    let out = match Command::new("python3").arg(&script).arg("--check").output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("SKIP: cannot run python3 {}: {e}", script.display());
            return;
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match out.status.code() {
        Some(0) => assert!(text.contains("up to date"), "{text}"),
        Some(2) => eprintln!("SKIP: generator input missing on this machine: {text}"),
        Some(3) => eprintln!("SKIP: {text}"),
        _ => panic!("gen-syscalls --check failed ({:?}): {text}", out.status),
    }
}

/// Every row of the generated file became a catalog entry (none was dropped by a clash).
#[test]
fn every_generated_row_is_in_the_catalog() {
    let rows = GENERATED.lines().filter(|l| *l == "    sys(").count();
    assert!(rows > 370, "only {rows} rows");
    assert_eq!(syscalls().len(), rows);
    let mut fresh = Catalog::empty();
    for d in Catalog::builtin_ref().iter() {
        fresh
            .register(d.clone())
            .expect("built-in definitions pass registration checks");
    }
    assert_eq!(fresh.len(), Catalog::builtin_ref().len());
}

#[test]
fn ids_follow_the_documented_scheme() {
    let mut arm64_nrs = HashSet::new();
    for d in syscalls() {
        let s = d.syscall();
        match (s.x86_64, s.arm64) {
            (Some(x), _) => assert_eq!(d.id(), EventId(x), "{}", d.name()),
            (None, Some(a)) => assert_eq!(d.id(), EventId(500 + a), "{}", d.name()),
            (None, None) => panic!("{} has no number on any architecture", d.name()),
        }
        assert!(d.id().0 < 1000, "{}", d.name());
        if let Some(a) = s.arm64 {
            assert!(arm64_nrs.insert(a), "arm64 number {a} twice");
        }
    }
    let x86 = syscalls()
        .iter()
        .filter(|d| d.syscall().x86_64.is_some())
        .count();
    let arm = arm64_nrs.len();
    // Linux 6.18: ~380 on x86_64, ~320 on arm64 (no legacy open/stat/fork...).
    assert!(x86 >= 370, "{x86} x86_64 syscalls");
    assert!((290..x86).contains(&arm), "{arm} arm64 syscalls");
    for legacy in ["open", "stat", "fork", "pipe", "dup2", "select", "alarm"] {
        let d = Catalog::builtin_ref().by_name(legacy).expect(legacy);
        assert_eq!(d.syscall_nr(Arch::Arm64), None, "{legacy}");
    }
}

#[test]
fn rows_are_well_formed() {
    let mut names = HashSet::new();
    for d in syscalls() {
        assert!(names.insert(d.name()), "duplicate {}", d.name());
        assert!(d.in_set("syscalls"), "{}", d.name());
        assert!(
            d.args().len() <= 6,
            "{} has {} args",
            d.name(),
            d.args().len()
        );
        assert_eq!(d.ret().map(|r| r.ty), Some(ArgType::S64), "{}", d.name());
        for a in d.args() {
            assert!(
                !a.c_type.contains(" *"),
                "{}: unnormalized {}",
                d.name(),
                a.c_type
            );
            assert!(!a.c_type.contains("__user"), "{}: {}", d.name(), a.c_type);
            match a.ty {
                ArgType::Str | ArgType::StrArray => {
                    assert!(
                        a.c_type.starts_with("const char*"),
                        "{}.{}",
                        d.name(),
                        a.name
                    )
                }
                ArgType::Sockaddr => assert_eq!(a.c_type, "struct sockaddr*"),
                _ => {}
            }
        }
    }
}

/// The x86_64 numbers agree with the `libc` crate's constants.
#[cfg(target_arch = "x86_64")]
#[test]
fn x86_64_numbers_match_libc() {
    // Names and constants paired explicitly: a macro cannot build `SYS_name` on stable.
    let pairs: &[(&str, libc::c_long)] = &[
        ("read", libc::SYS_read),
        ("write", libc::SYS_write),
        ("open", libc::SYS_open),
        ("close", libc::SYS_close),
        ("stat", libc::SYS_stat),
        ("fstat", libc::SYS_fstat),
        ("mmap", libc::SYS_mmap),
        ("rt_sigaction", libc::SYS_rt_sigaction),
        ("ioctl", libc::SYS_ioctl),
        ("pread64", libc::SYS_pread64),
        ("pipe", libc::SYS_pipe),
        ("select", libc::SYS_select),
        ("socket", libc::SYS_socket),
        ("connect", libc::SYS_connect),
        ("accept", libc::SYS_accept),
        ("sendto", libc::SYS_sendto),
        ("clone", libc::SYS_clone),
        ("fork", libc::SYS_fork),
        ("vfork", libc::SYS_vfork),
        ("execve", libc::SYS_execve),
        ("exit", libc::SYS_exit),
        ("kill", libc::SYS_kill),
        ("uname", libc::SYS_uname),
        ("ptrace", libc::SYS_ptrace),
        ("setuid", libc::SYS_setuid),
        ("mount", libc::SYS_mount),
        ("umount2", libc::SYS_umount2),
        ("init_module", libc::SYS_init_module),
        ("delete_module", libc::SYS_delete_module),
        ("get_thread_area", libc::SYS_get_thread_area),
        ("exit_group", libc::SYS_exit_group),
        ("openat", libc::SYS_openat),
        ("newfstatat", libc::SYS_newfstatat),
        ("unlinkat", libc::SYS_unlinkat),
        ("pselect6", libc::SYS_pselect6),
        ("memfd_create", libc::SYS_memfd_create),
        ("bpf", libc::SYS_bpf),
        ("execveat", libc::SYS_execveat),
        ("statx", libc::SYS_statx),
        ("io_uring_setup", libc::SYS_io_uring_setup),
        ("pidfd_open", libc::SYS_pidfd_open),
        ("clone3", libc::SYS_clone3),
        ("close_range", libc::SYS_close_range),
        ("openat2", libc::SYS_openat2),
        ("faccessat2", libc::SYS_faccessat2),
        ("epoll_pwait2", libc::SYS_epoll_pwait2),
        ("landlock_restrict_self", libc::SYS_landlock_restrict_self),
        ("memfd_secret", libc::SYS_memfd_secret),
        ("futex_waitv", libc::SYS_futex_waitv),
        ("set_mempolicy_home_node", libc::SYS_set_mempolicy_home_node),
        ("fchmodat2", libc::SYS_fchmodat2),
        ("mseal", libc::SYS_mseal),
    ];
    for &(name, nr) in pairs {
        let d = Catalog::builtin_ref().by_name(name).expect(name);
        assert_eq!(
            d.syscall_nr(Arch::X86_64).map(libc::c_long::from),
            Some(nr),
            "{name}"
        );
    }
}
