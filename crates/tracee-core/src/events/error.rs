//! Errors of catalog registration and lookup.

use super::{Arch, EventId};

/// Why a definition could not be registered or a selector not resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// Another event already has this id.
    #[error("event id {id} of '{name}' is already used by '{existing}'")]
    IdInUse {
        /// The contested id.
        id: EventId,
        /// Name of the definition being registered.
        name: String,
        /// Name of the event holding the id.
        existing: String,
    },
    /// Another event already has this name.
    #[error("event name '{name}' (id {id}) is already used by event id {existing}")]
    NameInUse {
        /// The contested name.
        name: String,
        /// Id of the definition being registered.
        id: EventId,
        /// Id of the event holding the name.
        existing: EventId,
    },
    /// Another event already is this syscall on this architecture.
    #[error("syscall {nr} on {arch} of '{name}' is already event '{existing}'")]
    SyscallInUse {
        /// The architecture.
        arch: Arch,
        /// The contested syscall number.
        nr: u32,
        /// Name of the definition being registered.
        name: String,
        /// Name of the event that is that syscall.
        existing: String,
    },
    /// The name cannot be selected unambiguously.
    #[error("invalid event name '{name}': {reason}")]
    InvalidName {
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An argument list the program or decoder could not honour.
    #[error("event '{event}', argument '{arg}': {reason}")]
    InvalidArg {
        /// The event.
        event: String,
        /// The argument (its name, or its index when the name is the problem).
        arg: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No event has this name.
    #[error("unknown event '{name}'{}", did_you_mean(suggestion))]
    UnknownEvent {
        /// The name asked for.
        name: String,
        /// The nearest known name, if any is close.
        suggestion: Option<String>,
    },
    /// No event is in this set.
    #[error("unknown set '{set}'{}", did_you_mean(suggestion))]
    UnknownSet {
        /// The set asked for.
        set: String,
        /// The nearest known set, if any is close.
        suggestion: Option<String>,
    },
    /// A glob matched no event.
    #[error("pattern '{pattern}' matches no event")]
    NoMatch {
        /// The glob.
        pattern: String,
    },
}

fn did_you_mean(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(", did you mean '{s}'?"),
        None => String::new(),
    }
}
