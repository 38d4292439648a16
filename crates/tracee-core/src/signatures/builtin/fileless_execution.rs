//! TRC-5: a program executed from memory, with no file on disk behind it.

use super::str_arg;
use crate::decode::Event;
use crate::signatures::{Finding, Severity, Signature, SignatureMetadata};

static META: SignatureMetadata = SignatureMetadata::new(
    "TRC-5",
    "0.1.0",
    "Fileless Execution",
    "Executing a process from memory, without a file in the disk",
    Severity::High,
    "defense-evasion",
);

/// `sched_process_exec` of a file living in memory: a memfd (`memfd_create`, path
/// `memfd:NAME` — shown as `/memfd:NAME (deleted)` by path walks) or a tmpfs meant for shared
/// memory (`/dev/shm`, `/run/shm`), as Tracee checks.
#[derive(Debug, Default)]
pub struct FilelessExecution;

fn in_memory(path: &str) -> bool {
    ["memfd:", "/memfd:", "/dev/shm/", "/run/shm/"]
        .iter()
        .any(|p| path.starts_with(p))
}

impl Signature for FilelessExecution {
    fn metadata(&self) -> &SignatureMetadata {
        &META
    }

    fn events(&self) -> &[&'static str] {
        &["sched_process_exec"]
    }

    fn on_event(&mut self, event: &Event) -> Option<Finding> {
        let path = str_arg(event, "pathname")?;
        in_memory(path).then(|| Finding::new(&META, event).with("pathname", path))
    }
}
