//! TRC-3: writing into another process's memory.

use super::{int_arg, str_arg, O_ACCMODE_WRITE};
use crate::decode::Event;
use crate::signatures::{Finding, Severity, Signature, SignatureMetadata};

const PTRACE_POKETEXT: i64 = 4;
const PTRACE_POKEDATA: i64 = 5;

static META: SignatureMetadata = SignatureMetadata::new(
    "TRC-3",
    "0.1.0",
    "Code injection",
    "Possible code injection into another process",
    Severity::High,
    "defense-evasion",
);

/// `ptrace(PTRACE_POKETEXT/POKEDATA)`, an open of `/proc/<pid|self>/mem` for writing, or
/// `process_vm_writev` into another process. (Tracee sees the open through
/// `security_file_open`; the `openat` syscall carries the same path and flags.)
#[derive(Debug, Default)]
pub struct CodeInjection;

/// `/proc/<digits>/mem`, `/proc/self/mem`, `/proc/<digits>/task/<digits>/mem`.
fn is_proc_mem(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/proc/") else {
        return false;
    };
    let mut parts = rest.split('/');
    let pid_like = |p: Option<&str>| {
        p.is_some_and(|p| p == "self" || (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
    };
    if !pid_like(parts.next()) {
        return false;
    }
    match parts.next() {
        Some("mem") => parts.next().is_none(),
        Some("task") => {
            pid_like(parts.next()) && parts.next() == Some("mem") && parts.next().is_none()
        }
        _ => false,
    }
}

impl Signature for CodeInjection {
    fn metadata(&self) -> &SignatureMetadata {
        &META
    }

    fn events(&self) -> &[&'static str] {
        &["ptrace", "open", "openat", "process_vm_writev"]
    }

    fn on_event(&mut self, event: &Event) -> Option<Finding> {
        match event.event_name.as_str() {
            "ptrace" => {
                let request = int_arg(event, "request")?;
                let name = match request {
                    PTRACE_POKETEXT => "PTRACE_POKETEXT",
                    PTRACE_POKEDATA => "PTRACE_POKEDATA",
                    _ => return None,
                };
                let target = int_arg(event, "pid")?;
                Some(
                    Finding::new(&META, event)
                        .with("ptrace request", name)
                        .with("target pid", target),
                )
            }
            "open" | "openat" => {
                let path = str_arg(event, "pathname")?;
                let flags = int_arg(event, "flags")?;
                (flags & O_ACCMODE_WRITE != 0 && is_proc_mem(path))
                    .then(|| Finding::new(&META, event).with("file path", path))
            }
            "process_vm_writev" => {
                let target = int_arg(event, "pid")?;
                (target != i64::from(event.header.pid)).then(|| {
                    Finding::new(&META, event)
                        .with("syscall", "process_vm_writev")
                        .with("target pid", target)
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_proc_mem;

    #[test]
    fn proc_mem_paths() {
        for p in ["/proc/1/mem", "/proc/self/mem", "/proc/42/task/43/mem"] {
            assert!(is_proc_mem(p), "{p}");
        }
        for p in [
            "/proc/1/maps",
            "/proc//mem",
            "/proc/x/mem",
            "/proc/1/mem/x",
            "/tmp/proc/1/mem",
            "/proc/1/task/mem",
        ] {
            assert!(!is_proc_mem(p), "{p}");
        }
    }
}
