//! TRC-2: a process asks to be traced by its parent, which keeps any other debugger out.

use super::int_arg;
use crate::decode::Event;
use crate::signatures::{Finding, Severity, Signature, SignatureMetadata};

const PTRACE_TRACEME: i64 = 0;

static META: SignatureMetadata = SignatureMetadata::new(
    "TRC-2",
    "0.1.0",
    "Anti-Debugging",
    "Process uses anti-debugging technique to block debugger",
    Severity::Low,
    "defense-evasion",
);

/// `ptrace(PTRACE_TRACEME)`.
#[derive(Debug, Default)]
pub struct AntiDebugging;

impl Signature for AntiDebugging {
    fn metadata(&self) -> &SignatureMetadata {
        &META
    }

    fn events(&self) -> &[&'static str] {
        &["ptrace"]
    }

    fn on_event(&mut self, event: &Event) -> Option<Finding> {
        (int_arg(event, "request")? == PTRACE_TRACEME)
            .then(|| Finding::new(&META, event).with("ptrace request", "PTRACE_TRACEME"))
    }
}
