//! Workspace-level package of tracee-rs: it owns the examples under `examples/` and the
//! benches under `benches/`. This library holds what they share.

/// Sets up `env_logger` for an example: `RUST_LOG` wins; otherwise `debug` turns on debug
/// output of the tracee crates and everything else stays at warnings.
pub fn init_logging(debug: bool) {
    let default = if debug {
        "warn,tracee_btf=debug,tracee_bpf_obj=debug,tracee_filters=debug,tracee_core=debug"
    } else {
        "warn,tracee_btf=info,tracee_bpf_obj=info,tracee_filters=info,tracee_core=info"
    };
    let env = env_logger::Env::default().default_filter_or(default);
    // A second call (tests running examples in one process) keeps the first logger.
    let _ = env_logger::Builder::from_env(env)
        .format_timestamp(None)
        .try_init();
}

/// The README's code, compiled as doctests so it cannot drift from the API.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
