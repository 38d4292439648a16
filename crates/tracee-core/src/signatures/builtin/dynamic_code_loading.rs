//! TRC-4: memory that is writable and executable at once, where injected code runs.

use super::int_arg;
use crate::decode::Event;
use crate::signatures::{Finding, Severity, Signature, SignatureMetadata};

const PROT_WRITE: i64 = 0x2;
const PROT_EXEC: i64 = 0x4;

static META: SignatureMetadata = SignatureMetadata::new(
    "TRC-4",
    "0.1.0",
    "Dynamic Code Loading",
    "Writing to executable allocated memory region",
    Severity::High,
    "defense-evasion",
);

/// A successful `mmap` or `mprotect` asking for `PROT_WRITE | PROT_EXEC`. (Tracee's version
/// triggers on its internal `mem_prot_alert` event, raised in the `security_file_mprotect` LSM
/// hook; the syscall's `prot` argument is the same request, seen from the caller's side.)
#[derive(Debug, Default)]
pub struct DynamicCodeLoading;

impl Signature for DynamicCodeLoading {
    fn metadata(&self) -> &SignatureMetadata {
        &META
    }

    fn events(&self) -> &[&'static str] {
        &["mmap", "mprotect"]
    }

    fn on_event(&mut self, event: &Event) -> Option<Finding> {
        // A refused request changed nothing (mmap's error values are negative too).
        if event.header.retval < 0 && event.header.retval > -4096 {
            return None;
        }
        let prot = int_arg(event, "prot")?;
        (prot & (PROT_WRITE | PROT_EXEC) == PROT_WRITE | PROT_EXEC).then(|| {
            Finding::new(&META, event)
                .with("syscall", &event.event_name)
                .with("prot", format_args!("{prot:#x}"))
        })
    }
}
