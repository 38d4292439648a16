//! Decoding events of the wire format (`docs/wire-format.md`).
//!
//! [`EventRef`] is a zero-copy view: [`EventRef::parse`] checks the whole event once (header,
//! every argument's bounds, every string array element) and afterwards every accessor is a
//! slice or a load — no allocation, no failure. [`Event`] is the owned form, with names from
//! the event's definition, for channels, JSON and storage.
//!
//! ```
//! use tracee_core::decode::{ArgValue, EventRef};
//! use tracee_core::wire::encode::EventEncoder;
//! use tracee_core::events::ArgType;
//!
//! let mut enc = EventEncoder::new(257);
//! enc.header_mut().pid = 42;
//! enc.str_arg(1, ArgType::Str, b"/etc/passwd");
//! let bytes = enc.finish();
//!
//! let ev = EventRef::parse(&bytes)?;
//! assert_eq!(ev.pid(), 42);
//! assert_eq!(ev.arg(0).unwrap().as_str(), Some("/etc/passwd"));
//! # Ok::<(), tracee_core::decode::DecodeError>(())
//! ```

mod error;
mod event_ref;
mod owned;
mod sockaddr;
mod value;

pub use error::DecodeError;
pub use event_ref::{ArgRef, Args, EventRef, MAX_RECORD};
pub use owned::{Arg, Event, OwnedValue};
pub use sockaddr::Sockaddr;
pub use value::{ArgValue, StrArrayIter, StrArrayRef};
