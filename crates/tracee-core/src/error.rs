//! Errors of building and running a [`Tracer`](crate::tracer::Tracer).

use tracee_bpf_obj::module::ModuleError;
use tracee_btf::resolver::ResolveError;

use crate::events::CatalogError;
use crate::wire::config::ConfigError;

/// Why a tracer could not be built or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TracerError {
    /// No BTF for the running kernel (the report lists every source and why it failed).
    #[error("finding BTF for the running kernel: {0}")]
    Btf(#[source] ResolveError),
    /// An event selector names nothing in the catalog.
    #[error("selecting events: {0}")]
    Catalog(#[source] CatalogError),
    /// No event was selected.
    #[error("no events selected: call TracerBuilder::events")]
    NoEvents,
    /// A selected event cannot be produced by the tracer's program.
    #[error("event {event}: {reason}")]
    Unsupported {
        /// The event.
        event: String,
        /// Why.
        reason: String,
    },
    /// A definition cannot be turned into the program's configuration.
    #[error("configuring the program: {0}")]
    Config(#[source] ConfigError),
    /// The kernel lacks features the program needs (probed after the load failed); the
    /// module's error is the load failure itself.
    #[error("this kernel cannot run the tracer's program; missing: {}", list(.missing))]
    KernelLacks {
        /// Each missing map type or helper, with the Linux release that added it.
        missing: Vec<crate::tracer::requirements::MissingFeature>,
        /// The load failure.
        #[source]
        source: Box<ModuleError>,
    },
    /// The tracer was stopped ([`Tracer::stop`](crate::tracer::Tracer::stop)): it cannot
    /// resume.
    #[error("the tracer is stopped")]
    Stopped,
    /// Loading, configuring or attaching the BPF program failed.
    #[error("{what}: {source}")]
    Module {
        /// What the tracer was doing.
        what: String,
        /// The module's error (names the program, errno, cause and verifier log); boxed, as
        /// it carries logs and would make every `Result` of the crate large.
        #[source]
        source: Box<ModuleError>,
    },
}

fn list(missing: &[crate::tracer::requirements::MissingFeature]) -> String {
    missing
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl TracerError {
    /// The BPF module's error behind this one, if loading, configuring or attaching the
    /// program failed.
    pub fn module_error(&self) -> Option<&ModuleError> {
        match self {
            TracerError::Module { source, .. } | TracerError::KernelLacks { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }

    /// Whether the kernel's verifier rejected one of the tracer's programs (a fault of the
    /// program on this kernel, never of privileges; see
    /// [`ModuleError::VerifierRejected`]).
    pub fn is_verifier_rejection(&self) -> bool {
        matches!(self, TracerError::Module { source, .. } if source.is_verifier_rejection())
    }

    /// Whether the process lacks a capability loading BPF needs (root, or CAP_BPF +
    /// CAP_PERFMON; see [`ModuleError::MissingCapability`]).
    pub fn is_missing_capability(&self) -> bool {
        self.module_error()
            .is_some_and(ModuleError::is_missing_capability)
    }

    pub(crate) fn module(what: impl Into<String>) -> impl FnOnce(ModuleError) -> TracerError {
        let what = what.into();
        move |source| TracerError::Module {
            what,
            source: Box::new(source),
        }
    }
}
