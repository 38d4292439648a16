//! Privileged end-to-end tests of sched_process_exec's interpreter_*, interp,
//! invoked_from_kernel and prev_comm: exact values against what the test set up, stat(2)
//! and the binaries' own ELF program headers.

mod e2e_common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e_common::{collect_until, run_ok, tracer_or_skip};
use tracee_core::decode::Event;
use tracee_core::events::Catalog;
use tracee_core::filters::{policy_from_flags, PolicySet};
use tracee_core::tracer::Tracer;

/// The PT_INTERP path of a 64-bit little-endian ELF file, `None` without one (static).
fn elf_interp(path: &Path) -> Option<PathBuf> {
    let elf = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(
        elf.starts_with(b"\x7fELF\x02\x01"),
        "{} is not a 64-bit LE ELF",
        path.display()
    );
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let u64_at = |o: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&elf[o..o + 8]);
        u64::from_le_bytes(b) as usize
    };
    let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    (0..phnum).find_map(|i| {
        let ph = phoff + i * phentsize;
        // PT_INTERP = 3: p_offset at +8, p_filesz at +32, NUL included.
        (u32::from_le_bytes([elf[ph], elf[ph + 1], elf[ph + 2], elf[ph + 3]]) == 3).then(|| {
            let (off, len) = (u64_at(ph + 8), u64_at(ph + 32));
            let s = &elf[off..off + len];
            let s = s.strip_suffix(b"\0").unwrap_or(s);
            PathBuf::from(std::str::from_utf8(s).expect("utf-8 PT_INTERP"))
        })
    })
}

fn str_arg<'a>(ev: &'a Event, name: &str) -> Option<&'a str> {
    ev.arg(name).and_then(|v| v.as_str())
}

fn int(ev: &Event, name: &str) -> i64 {
    ev.arg(name)
        .and_then(|v| v.as_i64())
        .unwrap_or_else(|| panic!("{} has no integer {name}: {ev:?}", ev.event_name))
}

/// The kernel's dev_t encoding (MKDEV: major << 20 | minor), which Tracee reports.
fn kernel_dev(st_dev: u64) -> i64 {
    i64::from((libc::major(st_dev) << 20) | libc::minor(st_dev))
}

fn on_overlayfs(path: &Path) -> bool {
    const OVERLAYFS_SUPER_MAGIC: i64 = 0x794c_7630;
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL");
    // SAFETY: a NUL-terminated path and a statfs buffer to fill.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    (unsafe { libc::statfs(c.as_ptr(), &mut st) } == 0) && st.f_type as i64 == OVERLAYFS_SUPER_MAGIC
}

/// Asserts `ev`'s interpreter_* are the real path, device, inode and ctime of `interp`.
fn assert_interpreter(ev: &Event, interp: &Path) {
    let real = std::fs::canonicalize(interp).expect("canonicalize the interpreter");
    let meta = std::fs::metadata(&real).expect("stat the interpreter");
    let reported = str_arg(ev, "interpreter_pathname");
    // On overlayfs (a container's root, or a kernel-matrix guest's /usr) the interpreter is
    // mapped from the underlying file, so the kernel sees that file's device, not the overlay's
    // that stat() reports, and its path is the one its dentry had in the lower layer (which
    // need not be the overlay's canonical one: `/lib/...` beside a `/lib -> usr/lib` symlink).
    // The path must still name this file; the inode number is the same.
    if on_overlayfs(&real) {
        let named = reported.and_then(|p| std::fs::metadata(p).ok());
        assert_eq!(
            named.map(|m| m.ino()),
            Some(meta.ino()),
            "the ELF interpreter's path {reported:?} does not name {}: {ev:?}",
            real.display()
        );
    } else {
        assert_eq!(
            reported,
            real.to_str(),
            "the ELF interpreter's real path: {ev:?}"
        );
        assert_eq!(int(ev, "interpreter_dev"), kernel_dev(meta.dev()), "{ev:?}");
    }
    assert_eq!(int(ev, "interpreter_inode") as u64, meta.ino(), "{ev:?}");
    assert_eq!(
        int(ev, "interpreter_ctime"),
        meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
        "{ev:?}"
    );
}

/// Runs `cmd` and returns its pid and its sched_process_exec events (one per exec).
fn run(tracer: &Tracer, mut cmd: Command, execs: usize) -> (u32, Vec<Event>) {
    let pid = run_ok(cmd.stdin(Stdio::null()).stdout(Stdio::null()));
    let events = collect_until(
        tracer,
        Duration::from_secs(10),
        |e| e.header.pid == pid && e.event_name == "sched_process_exec",
        |evs| evs.len() == execs,
    );
    let stats = tracer.stats();
    assert_eq!(
        events.len(),
        execs,
        "{execs} sched_process_exec of pid {pid}: {events:#?}; {stats:?}"
    );
    (pid, events)
}

#[test]
fn e2e_exec_fields_interpreter_interp_prev_comm_and_kernel_flag() {
    let Some(tracer) = tracer_or_skip(
        "e2e_exec_fields_interpreter_interp_prev_comm_and_kernel_flag",
        Tracer::builder().events(["sched_process_exec"]),
    ) else {
        return;
    };
    let rename = tracer
        .attachments()
        .iter()
        .any(|a| a.target == "task_rename");
    assert!(rename, "task_rename attached: {:?}", tracer.attachments());

    // A dynamic binary exec'd after a prctl(PR_SET_NAME): its interpreter is the PT_INTERP
    // of the file (ld.so), prev_comm the name set just before.
    let true_bin = std::fs::canonicalize("/bin/true").expect("canonicalize /bin/true");
    let ld_so = elf_interp(&true_bin).expect("/bin/true is dynamically linked");
    #[cfg(target_arch = "x86_64")]
    const PRCTL: u32 = 157;
    #[cfg(target_arch = "aarch64")]
    const PRCTL: u32 = 167;
    let comm = format!("trprev{}", std::process::id() % 1_000_000);
    let mut perl = Command::new("perl");
    perl.args([
        "-e",
        &format!(
            "my $n = '{comm}'; syscall({PRCTL}, 15, $n) == 0 or die \"prctl: $!\"; \
             exec('/bin/true', 'tracee-rs-exec-fields') or die \"exec: $!\";"
        ),
    ]);
    let (pid, evs) = run(&tracer, perl, 2);
    let exec = evs
        .iter()
        .find(|e| str_arg(e, "cmdpath") == Some("/bin/true"))
        .unwrap_or_else(|| panic!("no exec of /bin/true by pid {pid}: {evs:#?}"));
    assert_eq!(str_arg(exec, "pathname"), true_bin.to_str(), "{exec:?}");
    assert_eq!(
        str_arg(exec, "prev_comm"),
        Some(comm.as_str()),
        "prev_comm is the comm set before the exec: {exec:?}"
    );
    assert_eq!(exec.header.comm, "true", "the comm after the exec");
    assert_interpreter(exec, &ld_so);
    assert_eq!(
        exec.arg("invoked_from_kernel").and_then(|v| v.as_i64()),
        Some(0),
        "a normal exec: {exec:?}"
    );
    // bprm->interp starts as the filename; only binfmt_script/misc change it (Tracee reports
    // it as is).
    assert_eq!(
        str_arg(exec, "interp"),
        Some("/bin/true"),
        "not a script: interp is the filename: {exec:?}"
    );

    // A `#!/bin/sh` script: interp is the #! line's path, pathname the interpreter's file,
    // interpreter_* sh's own ld.so, prev_comm the comm of the thread that spawned it.
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("fields.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").expect("write the script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let sh_real = std::fs::canonicalize("/bin/sh").expect("canonicalize /bin/sh");
    let sh_ld = elf_interp(&sh_real).expect("/bin/sh is dynamically linked");
    let my_comm = std::fs::read_to_string("/proc/thread-self/comm").expect("read my comm");
    let (pid, evs) = run(&tracer, Command::new(&script), 1);
    let exec = &evs[0];
    assert_eq!(str_arg(exec, "cmdpath"), script.to_str(), "{exec:?}");
    assert_eq!(str_arg(exec, "interp"), Some("/bin/sh"), "{exec:?}");
    assert_eq!(str_arg(exec, "pathname"), sh_real.to_str(), "{exec:?}");
    assert_interpreter(exec, &sh_ld);
    assert_eq!(
        str_arg(exec, "prev_comm"),
        Some(my_comm.trim_end_matches('\n')),
        "the spawned child had this thread's comm until its exec (pid {pid}): {exec:?}"
    );
    assert_eq!(int(exec, "invoked_from_kernel"), 0);

    // A static binary has no ELF interpreter: no interpreter_* arguments (as Tracee).
    let static_bin = ["/sbin/ldconfig", "/usr/sbin/ldconfig"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists() && elf_interp(p).is_none());
    match static_bin {
        Some(bin) => {
            let mut c = Command::new(bin);
            c.arg("--version");
            let (pid, evs) = run(&tracer, c, 1);
            let exec = &evs[0];
            assert_eq!(
                str_arg(exec, "cmdpath"),
                bin.to_str(),
                "pid {pid}: {exec:?}"
            );
            for name in [
                "interpreter_pathname",
                "interpreter_dev",
                "interpreter_inode",
                "interpreter_ctime",
            ] {
                assert!(exec.arg(name).is_none(), "static: no {name}: {exec:?}");
            }
        }
        None => eprintln!("SKIP the static-binary case: no statically linked ldconfig here"),
    }

    // ld.so run directly is the file executed and has no interpreter of its own.
    let (_, evs) = run(
        &tracer,
        {
            let mut c = Command::new(&ld_so);
            c.arg("--version");
            c
        },
        1,
    );
    assert!(
        evs[0].arg("interpreter_pathname").is_none(),
        "ld.so exec'd directly has no interpreter: {:?}",
        evs[0]
    );
    tracer.stop();
}

#[test]
fn e2e_exec_scope_uses_the_exec_events_own_path_walk() {
    // With sched_process_exec selected, the filters take the executable's path from the exec
    // event's pathname walk (one walk per exec, not two): the exec= scope must still match
    // the exec itself and what the process does after it.
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("cat-link");
    std::os::unix::fs::symlink("/bin/cat", &link).expect("symlink to /bin/cat");
    let real = std::fs::canonicalize(&link).expect("canonicalize the link");
    let file = dir.path().join(format!("exe-walk-{}", std::process::id()));
    std::fs::write(&file, "x").expect("write the file");
    let (real_s, file_s) = (real.to_str().expect("utf-8"), file.to_str().expect("utf-8"));
    let cat = Catalog::builtin();
    let scope = format!("exec={real_s}");
    let policy = policy_from_flags(
        &cat,
        "exe",
        &[scope.as_str()],
        &["openat", "sched_process_exec"],
    )
    .expect("valid policy");
    let set = PolicySet::from_policies([policy]).expect("policy set");
    let Some(tracer) = tracer_or_skip(
        "e2e_exec_scope_uses_the_exec_events_own_path_walk",
        Tracer::builder().policies(set),
    ) else {
        return;
    };
    let pid = run_ok(
        Command::new(&link)
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let is_open = |e: &Event| {
        e.event_name == "openat" && e.arg("pathname").and_then(|v| v.as_str()) == Some(file_s)
    };
    let events = collect_until(
        &tracer,
        Duration::from_secs(10),
        |e| e.header.pid == pid,
        |evs| evs.iter().any(is_open) && evs.iter().any(|e| e.event_name == "sched_process_exec"),
    );
    tracer.stop();
    let exec = events
        .iter()
        .find(|e| e.event_name == "sched_process_exec")
        .unwrap_or_else(|| panic!("no sched_process_exec of pid {pid}: {events:#?}"));
    assert_eq!(str_arg(exec, "pathname"), Some(real_s), "{exec:?}");
    assert_eq!(exec.header.matched_policies, 1, "{exec:?}");
    let open = events
        .iter()
        .find(|e| is_open(e))
        .unwrap_or_else(|| panic!("no openat of {file_s} by pid {pid}: {events:#?}"));
    assert_eq!(open.header.matched_policies, 1, "{open:?}");
}

/// Restores `/proc/sys/kernel/core_pattern` when dropped.
struct CorePattern(String);

impl Drop for CorePattern {
    fn drop(&mut self) {
        if let Err(e) = std::fs::write("/proc/sys/kernel/core_pattern", &self.0) {
            eprintln!("could not restore core_pattern {:?}: {e}", self.0);
        }
    }
}

/// The kernel execs a piped core_pattern's handler from a kernel thread (a usermode helper,
/// parented to kthreadd): its sched_process_exec has invoked_from_kernel set, as Tracee's.
#[test]
fn e2e_exec_by_the_kernel_is_invoked_from_kernel() {
    let test = "e2e_exec_by_the_kernel_is_invoked_from_kernel";
    let Some(tracer) = tracer_or_skip(test, Tracer::builder().events(["sched_process_exec"]))
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let handler = dir.path().join("core-handler");
    // Reads the dump so the crashing child is not left waiting on a full pipe.
    std::fs::write(&handler, "#!/bin/sh\ncat >/dev/null\n").expect("write the handler");
    std::fs::set_permissions(&handler, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let handler_real = std::fs::canonicalize(&handler).expect("canonicalize the handler");
    let old = std::fs::read_to_string("/proc/sys/kernel/core_pattern").expect("read core_pattern");
    let pattern = format!("|{} %p", handler_real.display());
    if let Err(e) = std::fs::write("/proc/sys/kernel/core_pattern", &pattern) {
        // Not a BPF capability: a read-only /proc/sys (a container) skips even in CI.
        println!("{test}: skipped, cannot set core_pattern ({e})");
        return;
    }
    let restore = CorePattern(old.trim_end().to_string());
    let status = Command::new("/bin/sh")
        .args(["-c", "kill -SEGV $$"])
        .status()
        .expect("run the crashing shell");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGSEGV)
    );
    let by_kernel = |e: &Event| {
        e.event_name == "sched_process_exec"
            && str_arg(e, "cmdpath").map(Path::new) == Some(handler_real.as_path())
    };
    let events = collect_until(&tracer, Duration::from_secs(10), by_kernel, |evs| {
        !evs.is_empty()
    });
    drop(restore);
    tracer.stop();
    let exec = events
        .first()
        .unwrap_or_else(|| panic!("no exec of the core handler {}", handler_real.display()));
    assert_eq!(
        exec.arg("invoked_from_kernel").and_then(|v| v.as_i64()),
        Some(1),
        "the kernel ran the handler: {exec:?}"
    );
    let parent_stat = std::fs::read_to_string(format!("/proc/{}/stat", exec.header.ppid))
        .unwrap_or_else(|e| panic!("the handler's parent {}: {e}", exec.header.ppid));
    // PF_KTHREAD (0x00200000) in the flags field, the 9th, after the parenthesised comm.
    let flags: u64 = parent_stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(6))
        .and_then(|f| f.parse().ok())
        .expect("flags in /proc/PID/stat");
    assert_ne!(
        flags & 0x0020_0000,
        0,
        "the parent is a kernel thread: {parent_stat}"
    );
}
