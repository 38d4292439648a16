//! libbpf's log routed to the `log` crate (target `"libbpf"`), with a noise filter, and a
//! per-thread capture so an error can carry the libbpf messages of the call that failed.
//!
//! libbpf has one process-wide print callback; the first [`ModuleBuilder`](super::ModuleBuilder)
//! use installs ours through `libbpf_rs::set_print`. Code that calls `set_print` itself
//! replaces it (and loses the verifier logs in errors).

use std::cell::RefCell;
use std::sync::{Once, RwLock};

use libbpf_rs::PrintLevel;

/// Substrings of libbpf messages that are expected and harmless in normal operation; they
/// are logged at `trace` instead of their libbpf level.
const DEFAULT_NOISE: &[&str] = &[
    // Kernel feature probing and legacy kprobe fallbacks.
    "Exclusivity flag on",
    // Sections libbpf does not know (e.g. .rodata.str from strings).
    "skipping unrecognized data section",
    // pr_perm_msg: misleading on memcg-accounted kernels (5.11+), where memlock is irrelevant.
    "try raising 'ulimit -l'",
];

static INSTALL: Once = Once::new();
static EXTRA_NOISE: RwLock<Vec<String>> = RwLock::new(Vec::new());

thread_local! {
    static CAPTURE: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// Demote libbpf messages containing `substring` to `trace` level (in addition to the
/// built-in list of known noise).
pub fn add_noise_filter(substring: impl Into<String>) {
    if let Ok(mut extra) = EXTRA_NOISE.write() {
        extra.push(substring.into());
    }
}

pub(crate) fn install() {
    INSTALL.call_once(|| {
        libbpf_rs::set_print(Some((PrintLevel::Debug, on_message)));
    });
}

fn is_noise(msg: &str) -> bool {
    DEFAULT_NOISE.iter().any(|n| msg.contains(n))
        || EXTRA_NOISE
            .read()
            .map(|extra| extra.iter().any(|n| msg.contains(n.as_str())))
            .unwrap_or(false)
}

fn on_message(level: PrintLevel, msg: String) {
    let msg = msg.trim_end();
    let capturing = CAPTURE.with(|c| {
        let mut c = c.borrow_mut();
        match c.as_mut() {
            Some(lines) if level != PrintLevel::Debug => {
                lines.push(msg.to_string());
                true
            }
            Some(_) => true,
            None => false,
        }
    });
    if is_noise(msg) {
        log::trace!(target: "libbpf", "{msg}");
        return;
    }
    match level {
        // A captured warning travels in the returned error; don't print it twice.
        PrintLevel::Warn if capturing => log::debug!(target: "libbpf", "{msg}"),
        PrintLevel::Warn => log::warn!(target: "libbpf", "{msg}"),
        PrintLevel::Info => log::info!(target: "libbpf", "{msg}"),
        PrintLevel::Debug => log::debug!(target: "libbpf", "{msg}"),
    }
}

/// Run `f`, collecting the warning and info messages libbpf prints on this thread meanwhile.
pub(crate) fn capture<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
    install();
    let previous = CAPTURE.with(|c| c.borrow_mut().replace(Vec::new()));
    let out = f();
    let lines = CAPTURE.with(|c| {
        let mut c = c.borrow_mut();
        let lines = c.take().unwrap_or_default();
        *c = previous;
        lines
    });
    (out, lines)
}

/// What libbpf was doing when the load failed, from its last message naming a program or a
/// map it could not create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failing {
    Program(String),
    Map(String),
    /// libbpf's trivial program, loaded before anything of the object to see if BPF works.
    Probe,
}

pub(crate) fn failing(lines: &[String]) -> Option<Failing> {
    lines.iter().rev().find_map(|line| {
        if line.contains("Couldn't load trivial BPF program") {
            return Some(Failing::Probe);
        }
        if let Some(name) = quoted_after(line, "map '") {
            if line.contains("': failed to create") {
                return Some(Failing::Map(name));
            }
        }
        quoted_after(line, "prog '").map(Failing::Program)
    })
}

fn quoted_after(line: &str, prefix: &str) -> Option<String> {
    let start = line.find(prefix)? + prefix.len();
    let len = line[start..].find('\'')?;
    Some(line[start..start + len].to_string())
}

/// The verifier log libbpf printed for `program`, without the BEGIN/END markers.
pub(crate) fn verifier_log(lines: &[String], program: &str) -> String {
    const BEGIN: &str = "-- BEGIN PROG LOAD LOG --";
    const END: &str = "-- END PROG LOAD LOG --";
    let prefix = format!("prog '{program}': {BEGIN}");
    lines
        .iter()
        .rev()
        .find_map(|line| {
            let start = line.find(&prefix)? + prefix.len();
            let body = &line[start..];
            let body = body
                .strip_suffix(END)
                .or_else(|| body.find(END).map(|e| &body[..e]));
            Some(
                body.unwrap_or(&line[start..])
                    .trim_matches('\n')
                    .to_string(),
            )
        })
        .unwrap_or_default()
}

/// The captured lines without the (long) verifier log blocks, for error messages.
pub(crate) fn without_verifier_logs(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .filter(|l| !l.contains("-- BEGIN PROG LOAD LOG --"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_failing_program_and_its_log() {
        let lines = vec![
            "libbpf: prog 'good': loaded".to_string(),
            "libbpf: prog 'bad': BPF program load failed: Permission denied".to_string(),
            "libbpf: prog 'bad': -- BEGIN PROG LOAD LOG --\n0: (b7) r1 = 0\nR0 invalid mem access 'map_value_or_null'\n-- END PROG LOAD LOG --".to_string(),
            "libbpf: prog 'bad': failed to load: -13".to_string(),
            "libbpf: failed to load object 'x'".to_string(),
        ];
        assert_eq!(
            verifier_log(&lines, "bad"),
            "0: (b7) r1 = 0\nR0 invalid mem access 'map_value_or_null'"
        );
        assert_eq!(verifier_log(&lines, "good"), "");
        assert_eq!(failing(&lines), Some(Failing::Program("bad".into())));
        let map_refused = vec![
            "libbpf: Error loading .BTF into kernel: -EPERM. BTF is optional, ignoring.".into(),
            "libbpf: map 'values': failed to create: -EPERM".into(),
            "libbpf: failed to load object 'x'".into(),
        ];
        assert_eq!(failing(&map_refused), Some(Failing::Map("values".into())));
        assert_eq!(without_verifier_logs(lines).len(), 4);
    }

    #[test]
    fn noise_is_recognised() {
        assert!(is_noise(
            "libbpf: Kernel error message: Exclusivity flag on"
        ));
        assert!(!is_noise("libbpf: prog 'x': failed to load"));
        add_noise_filter("custom noise marker");
        assert!(is_noise("libbpf: custom noise marker here"));
    }
}
