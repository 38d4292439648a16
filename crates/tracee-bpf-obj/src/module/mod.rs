//! A libbpf-backed `Module` with libbpfgo's `NewModuleArgs` semantics: build, load (with the
//! verifier log on failure), typed attach with explained refusals, typed maps, feature
//! probes, and ring/perf buffer readers with one drop account.
//!
//! ```no_run
//! use tracee_bpf_obj::module::{ModuleBuilder, buffers::BufferReader};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut module = ModuleBuilder::from_path("probe.bpf.o").load()?;
//! module.attach_raw_tracepoint("trace_sys_enter", "sys_enter")?;
//! let (reader, events) = BufferReader::ring_buffer(&module, "events")?.start_channel(4096)?;
//! for event in events.iter().take(10) {
//!     println!("{} bytes", event.len());
//! }
//! reader.stop();
//! println!("drops: {:?}", reader.drops());
//! # Ok(()) }
//! ```

mod attach;
pub mod buffers;
mod builder;
mod caps;
mod error;
mod libbpf_log;
mod maps;
#[allow(clippy::module_inception)]
mod module;
mod probe;

pub use attach::{AttachKind, PerfEventConfig, UprobeTarget};
pub use builder::{ModuleBuilder, OpenModule, ProgramSpec};
pub use caps::{in_user_namespace, missing_capabilities, Capability};
pub use error::{AttachStage, Errno, ModuleError, Result, ENOTSUPP, VERIFIER_LOG_DIR_ENV};
pub use libbpf_log::add_noise_filter;
pub use libbpf_rs::ProgramType;
pub use maps::{possible_cpus, MapRef, MapType, OwnedMap, Pod, UpdateFlags};
pub use module::{LinkId, Module, ProgramInfo, SkippedProgram};
pub use probe::{probe_attach, probe_helper, probe_map_type, probe_program_type, Support};
