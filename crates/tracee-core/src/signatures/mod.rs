//! Signatures: detections over the event stream, like Tracee's `TRC-*` signatures.
//!
//! A [`Signature`] names the events it needs ([`Signature::events`]) and looks at each of them
//! ([`Signature::on_event`]), keeping whatever state it needs between events; a [`Finding`] is
//! what it reports. [`SignatureEngine`] routes each decoded event to the signatures that asked
//! for it and collects their findings. [`builtin::all`] is Tracee's classic set (TRC-1 … TRC-7)
//! written against this crate's events.
//!
//! ```no_run
//! use tracee_core::signatures::{builtin, SignatureEngine};
//! use tracee_core::tracer::Tracer;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut engine = SignatureEngine::new(builtin::all())?;
//! // The tracer emits exactly the events the signatures consume.
//! let tracer = Tracer::builder().events(engine.events()).build()?;
//! engine.validate(tracer.catalog())?;
//! for event in tracer.events() {
//!     for finding in engine.process(&event) {
//!         println!("{finding}");
//!     }
//! }
//! # Ok(()) }
//! ```

pub mod builtin;
mod engine;
mod error;
mod finding;

pub use engine::SignatureEngine;
pub use error::SignatureError;
pub use finding::{Finding, Severity, SignatureMetadata};

use crate::decode::Event;

/// One detection rule over decoded events.
///
/// Implementations keep their own state (`&mut self`): the engine calls them from one thread,
/// in the order events arrive.
///
/// ```
/// use tracee_core::decode::Event;
/// use tracee_core::signatures::{Finding, Severity, Signature, SignatureMetadata};
///
/// /// Any `unshare` call: a process leaving its namespaces.
/// struct Unshare;
///
/// static META: SignatureMetadata = SignatureMetadata::new(
///     "MY-1",
///     "1.0.0",
///     "Namespace escape attempt",
///     "A process called unshare",
///     Severity::Low,
///     "privilege-escalation",
/// );
///
/// impl Signature for Unshare {
///     fn metadata(&self) -> &SignatureMetadata {
///         &META
///     }
///     fn events(&self) -> &[&'static str] {
///         &["unshare"]
///     }
///     fn on_event(&mut self, event: &Event) -> Option<Finding> {
///         Some(Finding::new(&META, event))
///     }
/// }
/// ```
pub trait Signature: Send {
    /// Who this signature is (id, name, severity, …); copied into each finding.
    fn metadata(&self) -> &SignatureMetadata;

    /// Names of the events this signature looks at (catalog names such as `"openat"`).
    fn events(&self) -> &[&'static str];

    /// Looks at one event of a kind listed in [`Signature::events`]; a finding if it matches.
    fn on_event(&mut self, event: &Event) -> Option<Finding>;
}
