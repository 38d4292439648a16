//! Why bytes are not an event.

/// Bytes that do not match the wire format (`docs/wire-format.md`). Carries where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes end before a field does.
    #[error(
        "event truncated: {what} at offset {offset} needs {need} bytes, only {available} left"
    )]
    Truncated {
        /// The field.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// Bytes it needs.
        need: usize,
        /// Bytes there are from `offset`.
        available: usize,
    },
    /// Byte 0 is not a version this decoder reads.
    #[error("unsupported wire version {version} (this decoder reads {supported})")]
    UnsupportedVersion {
        /// The version found.
        version: u8,
        /// The version supported.
        supported: u8,
    },
    /// More arguments than the format allows.
    #[error("header says {argnum} arguments, at most {max} are allowed")]
    TooManyArgs {
        /// The count found.
        argnum: u8,
        /// The limit.
        max: usize,
    },
    /// An argument's class byte is unknown.
    #[error("argument {arg} at offset {offset}: unknown wire class {class}")]
    UnknownClass {
        /// The argument's position.
        arg: usize,
        /// Offset of its head.
        offset: usize,
        /// The class byte.
        class: u8,
    },
    /// Bytes left after the last argument (beyond up to 7 bytes of zero padding).
    #[error("{extra} unexpected bytes after the last argument, at offset {offset}")]
    TrailingBytes {
        /// Where they start.
        offset: usize,
        /// How many.
        extra: usize,
    },
    /// An event larger than the format's offsets can address.
    #[error("event of {len} bytes is larger than the {max}-byte maximum")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The maximum.
        max: usize,
    },
}
