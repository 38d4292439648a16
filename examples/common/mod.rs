//! Pieces the tracer examples share (included with `#[path]`; not an example itself).

/// The tracer's error with what was being done; the privilege hint only where the kernel
/// refused for a missing capability (a verifier rejection, a missing BTF or an old kernel
/// has its own explanation, and root would not help). Flattened into one message: the
/// error's text already includes its causes, so anyhow's "Caused by" chain would print them
/// twice.
pub fn starting_error(e: tracee_core::TracerError) -> anyhow::Error {
    let hint = if e.is_missing_capability() {
        " (loading BPF needs root, or CAP_BPF + CAP_PERFMON)"
    } else {
        ""
    };
    anyhow::anyhow!("starting the tracer{hint}: {e}")
}
