//! Pieces the tracer examples share (included with `#[path]`; not an example itself).

/// The tracer's error with what was being done; the privilege hint only where loading or
/// attaching failed (a missing BTF or an old kernel has its own explanation). Flattened into
/// one message: the error's text already includes its causes, so anyhow's "Caused by" chain
/// would print them twice.
pub fn starting_error(e: tracee_core::TracerError) -> anyhow::Error {
    let hint = match e {
        tracee_core::TracerError::Module { .. } => {
            " (loading BPF needs root, or CAP_BPF + CAP_PERFMON)"
        }
        _ => "",
    };
    anyhow::anyhow!("starting the tracer{hint}: {e}")
}
