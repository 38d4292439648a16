//! Tracee-style eBPF runtime security tracing: event definitions, the CO-RE BPF program,
//! the wire format and its decoder, outputs and the [`Tracer`](tracer::Tracer).
//!
//! ```no_run
//! use tracee_core::tracer::Tracer;
//! # fn main() -> Result<(), tracee_core::TracerError> {
//! let tracer = Tracer::builder().events(["execve", "openat"]).build()?;
//! for event in tracer.events().take(10) {
//!     println!("{} {} {:?}", event.header.pid, event.event_name, event.args);
//! }
//! tracer.stop();
//! # Ok(()) }
//! ```

pub mod decode;
pub mod embedded_btf;
mod error;
pub mod events;
mod filter_catalog;
/// The filter language (`--scope`, `--events`, policy files); [`events::Catalog`] implements
/// its `EventCatalog`, and [`tracer::TracerBuilder::policies`] installs a `PolicySet`.
pub use tracee_filters as filters;
pub mod output;
pub mod signatures;
pub mod tracer;
pub mod wire;

pub use error::TracerError;
