//! Tracee's classic signatures (TRC-1 … TRC-7), on this crate's syscall and lifecycle events.
//!
//! Each file is one signature. Where Tracee triggers on an LSM hook or an internal event this
//! crate does not emit, the signature uses the syscall that carries the same evidence and its
//! doc says so.

mod anti_debugging;
mod code_injection;
mod dynamic_code_loading;
mod fileless_execution;
mod kernel_module_loading;
mod ld_preload;
mod stdio_over_socket;

pub use anti_debugging::AntiDebugging;
pub use code_injection::CodeInjection;
pub use dynamic_code_loading::DynamicCodeLoading;
pub use fileless_execution::FilelessExecution;
pub use kernel_module_loading::KernelModuleLoading;
pub use ld_preload::LdPreload;
pub use stdio_over_socket::StdioOverSocket;

use super::Signature;
use crate::decode::Event;

/// Every built-in signature, TRC-1 to TRC-7.
pub fn all() -> Vec<Box<dyn Signature>> {
    vec![
        Box::new(StdioOverSocket::default()),
        Box::new(AntiDebugging),
        Box::new(CodeInjection),
        Box::new(DynamicCodeLoading),
        Box::new(FilelessExecution),
        Box::new(KernelModuleLoading),
        Box::new(LdPreload),
    ]
}

fn int_arg(event: &Event, name: &str) -> Option<i64> {
    event.arg(name)?.as_i64()
}

fn str_arg<'e>(event: &'e Event, name: &str) -> Option<&'e str> {
    event.arg(name)?.as_str()
}

/// `O_WRONLY | O_RDWR`: an open that may write.
const O_ACCMODE_WRITE: i64 = 0o1 | 0o2;
