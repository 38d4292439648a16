//! Decoders an embedding tool supplies for its own events.

use super::EventDefinition;

/// Decodes the argument bytes of a custom event whose layout the generic decoder does not
/// know (its BPF program writes something other than the catalog's argument types).
///
/// Registered with [`Catalog::register_with_decoder`](super::Catalog::register_with_decoder);
/// the decoder calls it with the bytes that follow the event's context header. It gets
/// untrusted kernel output: return an error, never panic.
pub trait CustomDecoder: Send + Sync {
    /// Decodes `args` of an event defined by `def` into a JSON value (usually an object of
    /// argument name to value).
    fn decode(
        &self,
        def: &EventDefinition,
        args: &[u8],
    ) -> Result<serde_json::Value, CustomDecodeError>;
}

/// A custom decoder's complaint about bytes it was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{event}: at byte {offset}: {message}")]
pub struct CustomDecodeError {
    /// The event being decoded.
    pub event: String,
    /// Offset into the argument bytes where decoding failed.
    pub offset: usize,
    /// What was wrong.
    pub message: String,
}
