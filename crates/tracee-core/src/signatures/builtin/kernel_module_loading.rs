//! TRC-6: an attempt to load a kernel module, i.e. to run code in the kernel.

use super::{int_arg, str_arg};
use crate::decode::Event;
use crate::signatures::{Finding, Severity, Signature, SignatureMetadata};

static META: SignatureMetadata = SignatureMetadata::new(
    "TRC-6",
    "0.1.0",
    "kernel module loading",
    "Attempt to load a kernel module detection",
    Severity::Medium,
    "persistence",
);

/// Any `init_module` or `finit_module` call, successful or not: the attempt is the signal.
#[derive(Debug, Default)]
pub struct KernelModuleLoading;

impl Signature for KernelModuleLoading {
    fn metadata(&self) -> &SignatureMetadata {
        &META
    }

    fn events(&self) -> &[&'static str] {
        &["init_module", "finit_module"]
    }

    fn on_event(&mut self, event: &Event) -> Option<Finding> {
        let mut f = Finding::new(&META, event)
            .with("syscall", &event.event_name)
            .with("retval", event.header.retval);
        if let Some(fd) = int_arg(event, "fd") {
            f = f.with("fd", fd);
        }
        if let Some(params) = str_arg(event, "param_values").filter(|p| !p.is_empty()) {
            f = f.with("param_values", params);
        }
        Some(f)
    }
}
