//! Why a set of signatures cannot run.

/// Errors of [`SignatureEngine`](super::SignatureEngine).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// Two signatures share one id.
    #[error("two signatures have the id {id:?}")]
    DuplicateId {
        /// The id.
        id: String,
    },
    /// A signature asks for no event, so it could never fire.
    #[error("signature {id} asks for no event")]
    NoEvents {
        /// The signature's id.
        id: String,
    },
    /// A signature asks for an event the catalog does not define.
    #[error("signature {id} asks for unknown event {event:?}{}", suggestion.as_ref().map(|s| format!(", did you mean {s:?}?")).unwrap_or_default())]
    UnknownEvent {
        /// The signature's id.
        id: String,
        /// The event name it asked for.
        event: String,
        /// The nearest known event name, if one is close.
        suggestion: Option<String>,
    },
}
