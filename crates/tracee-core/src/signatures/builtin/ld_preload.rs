//! TRC-7: hooking a process's library calls through the dynamic loader.

use super::{int_arg, str_arg, O_ACCMODE_WRITE};
use crate::decode::Event;
use crate::signatures::{Finding, Severity, Signature, SignatureMetadata};

/// Tracee also flags `LD_LIBRARY_PATH`; ordinary launchers set it (cargo does for every test
/// and `cargo run`), so here it is not evidence of hooking.
const VARS: [&str; 1] = ["LD_PRELOAD"];
const PRELOAD_FILE: &str = "/etc/ld.so.preload";

static META: SignatureMetadata = SignatureMetadata::new(
    "TRC-7",
    "0.1.0",
    "LD_PRELOAD",
    "Usage of LD_PRELOAD to allow hooks on process",
    Severity::Medium,
    "persistence",
);

/// An `execve`/`execveat` whose environment sets `LD_PRELOAD`, or an open
/// of `/etc/ld.so.preload` for writing.
#[derive(Debug, Default)]
pub struct LdPreload;

impl Signature for LdPreload {
    fn metadata(&self) -> &SignatureMetadata {
        &META
    }

    fn events(&self) -> &[&'static str] {
        &["execve", "execveat", "open", "openat"]
    }

    fn on_event(&mut self, event: &Event) -> Option<Finding> {
        match event.event_name.as_str() {
            "execve" | "execveat" => {
                let envp = event.arg("envp")?.as_str_array()?;
                let (var, value) = envp.iter().find_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    VARS.contains(&k).then_some((k, v))
                })?;
                Some(Finding::new(&META, event).with(var, value))
            }
            "open" | "openat" => {
                let path = str_arg(event, "pathname")?;
                let flags = int_arg(event, "flags")?;
                (path == PRELOAD_FILE && flags & O_ACCMODE_WRITE != 0)
                    .then(|| Finding::new(&META, event).with("file path", path))
            }
            _ => None,
        }
    }
}
