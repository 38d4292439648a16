//! The error type of the `module` half of the crate.

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::attach::AttachKind;
use super::caps::Capability;

/// The environment variable naming a directory where a rejected program's full verifier log
/// is saved (see [`ModuleBuilder::verifier_log_dir`](super::ModuleBuilder::verifier_log_dir)).
pub const VERIFIER_LOG_DIR_ENV: &str = "TRACEE_BPF_LOG";

/// An errno with its symbolic name, printed like `EPERM (1): Operation not permitted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    /// The symbolic name (`"EPERM"`), or `"E?"` for numbers this crate has no name for.
    pub fn name(self) -> &'static str {
        match self.0 {
            libc::EPERM => "EPERM",
            libc::ENOENT => "ENOENT",
            libc::ESRCH => "ESRCH",
            libc::EINTR => "EINTR",
            libc::EIO => "EIO",
            libc::E2BIG => "E2BIG",
            libc::EBADF => "EBADF",
            libc::EAGAIN => "EAGAIN",
            libc::ENOMEM => "ENOMEM",
            libc::EACCES => "EACCES",
            libc::EFAULT => "EFAULT",
            libc::EBUSY => "EBUSY",
            libc::EEXIST => "EEXIST",
            libc::ENODEV => "ENODEV",
            libc::EINVAL => "EINVAL",
            libc::ENOSPC => "ENOSPC",
            libc::ENOSYS => "ENOSYS",
            libc::ELOOP => "ELOOP",
            libc::EOPNOTSUPP => "EOPNOTSUPP",
            ENOTSUPP => "ENOTSUPP",
            libc::ESTALE => "ESTALE",
            _ => "E?",
        }
    }
}

/// Linux-internal ENOTSUPP (524): BPF returns it for missing JIT or trampoline support.
pub const ENOTSUPP: i32 = 524;

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = if self.0 == ENOTSUPP {
            "Operation not supported by the kernel (ENOTSUPP)".to_string()
        } else {
            io::Error::from_raw_os_error(self.0).to_string()
        };
        write!(f, "{} ({}): {}", self.name(), self.0, text)
    }
}

/// Where in the program's life an attach failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttachStage {
    /// The kernel refused to load the program (it was marked optional, so the rest of the
    /// object loaded without it).
    Load,
    /// The program is loaded; the kernel refused the attachment.
    Attach,
}

/// Errors of [`ModuleBuilder`](super::ModuleBuilder), [`Module`](super::Module), maps and
/// event buffers. Every variant names the object, program, map or path it is about.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModuleError {
    /// A file the builder was given could not be read.
    #[error("cannot read {what} {path}: {source}")]
    ReadFile {
        /// "BPF object", "kconfig file", ...
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A name or path contains a NUL byte and cannot be passed to libbpf.
    #[error("{what} {value:?} contains a NUL byte")]
    InvalidString {
        /// What the string is ("object name", "program name", ...).
        what: &'static str,
        /// The string (lossy).
        value: String,
    },
    /// libbpf could not open (parse) the object.
    #[error("libbpf cannot open BPF object {object}: {errno}{}", fmt_log(.libbpf_log))]
    Open {
        /// Object name or path.
        object: String,
        /// The errno libbpf returned.
        errno: Errno,
        /// libbpf's messages while opening.
        libbpf_log: Vec<String>,
    },
    /// Loading the object into the kernel failed.
    #[error("loading BPF object {object} failed{}: {errno}{}{}",
        .program.as_ref().map(|p| format!(" at program {p}")).unwrap_or_default(),
        fmt_cause(.cause), fmt_verifier(.verifier_log))]
    Load {
        /// Object name.
        object: String,
        /// The program libbpf was loading when it failed, if it was a program.
        program: Option<String>,
        /// The errno.
        errno: Errno,
        /// A likely cause, if the errno and program kind suggest one.
        cause: Option<String>,
        /// The kernel verifier's log for the failing program (empty if the failure came
        /// before the verifier, e.g. a CO-RE relocation; then see `libbpf_log`).
        verifier_log: String,
        /// libbpf's messages during the load.
        libbpf_log: Vec<String>,
    },
    /// The kernel's verifier rejected a program: the program is at fault (or too complex for
    /// this kernel), not the process's privileges. The message shows the verifier's verdict;
    /// the full log is in `verifier_log` and, when a log directory was set, in `log_file`.
    #[error("loading BPF object {object}: the kernel's verifier rejected program {program}: {verdict}\n{}",
        fmt_full_log(.verifier_log, .log_file.as_deref(), .object, .program))]
    VerifierRejected {
        /// Object name.
        object: String,
        /// The rejected program.
        program: String,
        /// The verifier's verdict: the last line of its log that is not a statistic, e.g.
        /// `combined stack size of 5 calls is 528. Too large` or `R1 invalid mem access 'scalar'`.
        verdict: String,
        /// The errno of the load (usually EACCES; E2BIG, EINVAL for some verdicts).
        errno: Errno,
        /// The full verifier log.
        verifier_log: String,
        /// Where the full log was saved ([`VERIFIER_LOG_DIR_ENV`] or
        /// [`ModuleBuilder::verifier_log_dir`](super::ModuleBuilder::verifier_log_dir)).
        log_file: Option<PathBuf>,
    },
    /// The kernel refused to create a map or load a program (EPERM) because the calling
    /// thread lacks a capability loading BPF needs.
    #[error("loading BPF object {object}: the kernel refused {refused} ({}): this process lacks {}{}; \
        run it as root or grant it CAP_BPF + CAP_PERFMON",
        .errno.name(), list_caps(.missing), fmt_userns(*.user_namespace))]
    MissingCapability {
        /// Object name.
        object: String,
        /// What was refused: `to load program NAME`, `to create map NAME`, ...
        refused: String,
        /// The capabilities the object needs that the thread does not have (all it needs,
        /// not only the one the first refused call checked).
        missing: Vec<Capability>,
        /// The process is in a user namespace other than the initial one, where the kernel
        /// does not count capabilities for BPF.
        user_namespace: bool,
        /// The errno (EPERM).
        errno: Errno,
        /// libbpf's messages during the load.
        libbpf_log: Vec<String>,
    },
    /// The object has no program of that name.
    #[error("BPF object {object} has no program named {program:?} (it has: {})", .available.join(", "))]
    ProgramNotFound {
        /// Object name.
        object: String,
        /// The name asked for.
        program: String,
        /// The programs it does have.
        available: Vec<String>,
    },
    /// The object has no map of that name.
    #[error("BPF object {object} has no map named {map:?} (it has: {})", .available.join(", "))]
    MapNotFound {
        /// Object name.
        object: String,
        /// The name asked for.
        map: String,
        /// The maps it does have.
        available: Vec<String>,
    },
    /// The program's type does not fit the attach kind asked for.
    #[error("program {program} is a {prog_type} program and cannot be attached as {kind}")]
    WrongProgramType {
        /// Program name.
        program: String,
        /// Its BPF program type (libbpf's name).
        prog_type: String,
        /// The attach kind asked for.
        kind: AttachKind,
    },
    /// The kernel refused to attach (or, at [`AttachStage::Load`], to load) a program.
    #[error("cannot attach program {program} as {kind} to {target:?} ({stage:?} stage): {errno}; likely cause: {cause}{}", fmt_verifier(.verifier_log))]
    Attach {
        /// Program name.
        program: String,
        /// The attach kind.
        kind: AttachKind,
        /// The attach target (function, tracepoint, binary:symbol, ...).
        target: String,
        /// Whether the load or the attachment failed.
        stage: AttachStage,
        /// The errno.
        errno: Errno,
        /// The likely cause, in words.
        cause: String,
        /// The verifier log if the load failed.
        verifier_log: String,
    },
    /// A typed map access used a key or value type whose size does not match the map.
    #[error("map {map}: {what} size is {map_size} bytes but the Rust type has {type_size}")]
    SizeMismatch {
        /// Map name.
        map: String,
        /// "key" or "value".
        what: &'static str,
        /// The size the map declares.
        map_size: usize,
        /// `size_of` the Rust type.
        type_size: usize,
    },
    /// A map operation failed.
    #[error("map {map}: {op} failed: {errno}")]
    MapOp {
        /// Map name.
        map: String,
        /// The operation ("lookup", "update_batch", ...).
        op: &'static str,
        /// The errno.
        errno: Errno,
    },
    /// The map has the wrong type for the operation (e.g. a per-CPU lookup on a plain hash).
    #[error("map {map}: {op} needs {expected}, the map is {actual}")]
    WrongMapType {
        /// Map name.
        map: String,
        /// The operation.
        op: &'static str,
        /// What the operation needs.
        expected: &'static str,
        /// The map's type.
        actual: String,
    },
    /// Pinning or unpinning failed.
    #[error("cannot {op} {path}: {errno}")]
    Pin {
        /// "pin" or "unpin".
        op: &'static str,
        /// The bpffs path.
        path: PathBuf,
        /// The errno.
        errno: Errno,
    },
    /// Setting up or running an event buffer reader failed.
    #[error("event buffer on map {map}: {what}: {errno}")]
    Buffer {
        /// The ring-buffer or perf-event-array map.
        map: String,
        /// The step that failed.
        what: String,
        /// The errno.
        errno: Errno,
    },
    /// A program run with `BPF_PROG_TEST_RUN` failed.
    #[error("test run of program {program} failed: {errno}")]
    TestRun {
        /// Program name.
        program: String,
        /// The errno.
        errno: Errno,
    },
    /// An operation needed a system resource that failed (perf_event_open, epoll, ...).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        source: io::Error,
    },
}

impl ModuleError {
    /// Whether the kernel's verifier rejected a program ([`ModuleError::VerifierRejected`]).
    pub fn is_verifier_rejection(&self) -> bool {
        matches!(self, ModuleError::VerifierRejected { .. })
    }

    /// Whether the process lacks a capability loading BPF needs
    /// ([`ModuleError::MissingCapability`]): the one failure that says nothing about the
    /// object or the kernel.
    pub fn is_missing_capability(&self) -> bool {
        matches!(self, ModuleError::MissingCapability { .. })
    }

    /// The capabilities the process lacks, if that is why the load failed.
    pub fn missing_capabilities(&self) -> Option<&[Capability]> {
        match self {
            ModuleError::MissingCapability { missing, .. } => Some(missing),
            _ => None,
        }
    }

    /// The verifier's verdict on a rejected program, e.g. `R1 invalid mem access 'scalar'`.
    pub fn verifier_verdict(&self) -> Option<&str> {
        match self {
            ModuleError::VerifierRejected { verdict, .. } => Some(verdict),
            _ => None,
        }
    }

    /// The program the error is about, when it is about one.
    pub fn program(&self) -> Option<&str> {
        match self {
            ModuleError::VerifierRejected { program, .. }
            | ModuleError::ProgramNotFound { program, .. }
            | ModuleError::WrongProgramType { program, .. }
            | ModuleError::Attach { program, .. }
            | ModuleError::TestRun { program, .. } => Some(program),
            ModuleError::Load { program, .. } => program.as_deref(),
            _ => None,
        }
    }

    /// The full verifier log carried by the error, if the verifier ran and said something.
    pub fn verifier_log(&self) -> Option<&str> {
        match self {
            ModuleError::VerifierRejected { verifier_log, .. }
            | ModuleError::Load { verifier_log, .. }
            | ModuleError::Attach { verifier_log, .. }
                if !verifier_log.is_empty() =>
            {
                Some(verifier_log)
            }
            _ => None,
        }
    }
}

/// The verifier's verdict in `log`: its last line that is not one of the statistics the
/// verifier appends (`processed N insns ...`, `verification time ...`, `stack depth ...`).
pub(crate) fn verdict_of(log: &str) -> Option<String> {
    const STATS: &[&str] = &["processed ", "verification time ", "stack depth "];
    log.lines()
        .map(str::trim)
        .rev()
        .find(|l| !l.is_empty() && !STATS.iter().any(|s| l.starts_with(s)))
        .map(str::to_string)
}

/// Where the full verifier log is, or how to get it, in one line.
fn fmt_full_log(log: &str, file: Option<&std::path::Path>, object: &str, program: &str) -> String {
    let lines = log.lines().count();
    match file {
        Some(f) => format!("full verifier log ({lines} lines): {}", f.display()),
        None => format!(
            "full verifier log ({lines} lines): set {VERIFIER_LOG_DIR_ENV}=DIR to save it as \
             DIR/{}, or read ModuleError::verifier_log()",
            verifier_log_file_name(object, program)
        ),
    }
}

/// The file name a rejected program's verifier log is saved under.
pub(crate) fn verifier_log_file_name(object: &str, program: &str) -> String {
    format!("{object}.{program}.verifier.log")
}

fn list_caps(caps: &[Capability]) -> String {
    caps.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" and ")
}

fn fmt_userns(user_namespace: bool) -> &'static str {
    if user_namespace {
        " in the initial user namespace (capabilities held in a user namespace do not count)"
    } else {
        " (or CAP_SYS_ADMIN)"
    }
}

fn fmt_log(log: &[String]) -> String {
    if log.is_empty() {
        String::new()
    } else {
        format!("\nlibbpf:\n  {}", log.join("\n  "))
    }
}

fn fmt_cause(cause: &Option<String>) -> String {
    cause
        .as_ref()
        .map(|c| format!("; likely cause: {c}"))
        .unwrap_or_default()
}

/// The verifier log for a message: its tail, where the verifier says what it refused (the
/// full log stays in the error's field).
fn fmt_verifier(log: &str) -> String {
    const TAIL: usize = 40;
    if log.is_empty() {
        return String::new();
    }
    let lines: Vec<&str> = log.lines().collect();
    if lines.len() <= TAIL {
        return format!("\nverifier log:\n{log}");
    }
    format!(
        "\nverifier log (last {TAIL} of {} lines):\n{}",
        lines.len(),
        lines[lines.len() - TAIL..].join("\n")
    )
}

/// The errno of the last failed libc/libbpf call on this thread.
pub(crate) fn last_errno() -> Errno {
    Errno(io::Error::last_os_error().raw_os_error().unwrap_or(0))
}

/// libbpf's 1.x convention: a negative return value is `-errno`.
pub(crate) fn errno_of(ret: i64) -> Errno {
    Errno(i32::try_from(-ret).unwrap_or(libc::EINVAL))
}

/// Result with [`ModuleError`].
pub type Result<T, E = ModuleError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_verifier_logs_show_their_tail() {
        let log: Vec<String> = (0..100).map(|i| format!("insn {i}")).collect();
        let shown = fmt_verifier(&log.join("\n"));
        assert!(shown.contains("last 40 of 100 lines"));
        assert!(
            shown.contains("insn 99") && shown.contains("insn 60") && !shown.contains("insn 59\n")
        );
        assert_eq!(fmt_verifier(""), "");
        assert!(fmt_verifier("a\nb").ends_with("a\nb"));
    }

    #[test]
    fn the_verdict_is_the_last_line_before_the_statistics() {
        let log = "0: R1=ctx() R10=fp0\n5: (79) r0 = *(u64 *)(r0 +0)\n\
                   R0 invalid mem access 'map_value_or_null'\n\
                   processed 6 insns (limit 1000000) max_states_per_insn 0 total_states 0\n";
        assert_eq!(
            verdict_of(log).as_deref(),
            Some("R0 invalid mem access 'map_value_or_null'")
        );
        let log = "Func#13 ('tr_f_judge') is safe for any args that match its prototype\n\
                   combined stack size of 5 calls is 528. Too large\n\
                   verification time 120 usec\nstack depth 8+0\n\
                   processed 45983 insns (limit 1000000)\n\n";
        assert_eq!(
            verdict_of(log).as_deref(),
            Some("combined stack size of 5 calls is 528. Too large")
        );
        assert_eq!(verdict_of("processed 1 insns\n"), None);
    }

    #[test]
    fn a_rejection_shows_its_verdict_and_where_the_log_is() {
        let e = ModuleError::VerifierRejected {
            object: "obj".into(),
            program: "prog".into(),
            verdict: "R1 invalid mem access 'scalar'".into(),
            errno: Errno(libc::EACCES),
            verifier_log: "a\nR1 invalid mem access 'scalar'".into(),
            log_file: None,
        };
        assert_eq!(
            e.to_string(),
            "loading BPF object obj: the kernel's verifier rejected program prog: \
             R1 invalid mem access 'scalar'\nfull verifier log (2 lines): set TRACEE_BPF_LOG=DIR \
             to save it as DIR/obj.prog.verifier.log, or read ModuleError::verifier_log()"
        );
        assert!(e.is_verifier_rejection() && !e.is_missing_capability());
        assert_eq!(e.program(), Some("prog"));
        let e = ModuleError::MissingCapability {
            object: "obj".into(),
            refused: "to create map events".into(),
            missing: vec![Capability::Bpf, Capability::Perfmon],
            user_namespace: false,
            errno: Errno(libc::EPERM),
            libbpf_log: Vec::new(),
        };
        assert_eq!(
            e.to_string(),
            "loading BPF object obj: the kernel refused to create map events (EPERM): this \
             process lacks CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN); run it as root or grant \
             it CAP_BPF + CAP_PERFMON"
        );
        assert!(e.is_missing_capability() && !e.is_verifier_rejection());
    }

    #[test]
    fn errno_display_names_the_errno() {
        assert_eq!(Errno(libc::EPERM).name(), "EPERM");
        assert!(Errno(ENOTSUPP).to_string().starts_with("ENOTSUPP (524)"));
        assert!(Errno(libc::ENOENT).to_string().starts_with("ENOENT (2): "));
    }
}
