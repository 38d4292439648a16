//! Errors of the BTF reader and writer.

use std::path::PathBuf;

use crate::{Kind, TypeId};

/// Everything that can go wrong reading, indexing or writing BTF.
///
/// Offsets are byte offsets from the start of the BTF blob (the header's first byte), so they
/// can be checked with `xxd` against the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BtfError {
    /// Reading a file failed.
    #[error("reading BTF file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The data is shorter than the structure being read.
    #[error(
        "truncated BTF: {what} needs {needed} bytes at offset {offset}, only {available} present"
    )]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// How many bytes it needs.
        needed: usize,
        /// How many bytes there are from `offset` on.
        available: usize,
    },
    /// The first two bytes are not the BTF magic in either byte order.
    #[error("not BTF: magic {magic:#06x} at offset 0 (expected 0xeb9f)")]
    BadMagic {
        /// The two bytes read as a little-endian u16.
        magic: u16,
    },
    /// An unsupported BTF version.
    #[error("unsupported BTF version {version} at offset 2 (expected 1)")]
    BadVersion {
        /// The version byte.
        version: u8,
    },
    /// A header field is out of range or inconsistent.
    #[error("bad BTF header: {reason}")]
    BadHeader {
        /// What is wrong.
        reason: String,
    },
    /// A section lies (partly) outside the data or overlaps another one.
    #[error("BTF {section} section [{start}, {end}) is outside the data ({len} bytes) or overlaps another section")]
    BadSection {
        /// `"type"`, `"string"` or `"layout"`.
        section: &'static str,
        /// First byte, from the start of the blob.
        start: u64,
        /// One past the last byte.
        end: u64,
        /// Length of the whole blob.
        len: usize,
    },
    /// The string section does not start or end with a NUL byte, or is not UTF-8.
    #[error("bad BTF string section at offset {offset}: {reason}")]
    BadStrings {
        /// Offset of the problem.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A string offset points past the string section.
    #[error("string offset {name_off} of type {id} (record at offset {offset}) is past the string section ({str_len} bytes)")]
    StringOutOfRange {
        /// The type whose record holds the offset.
        id: TypeId,
        /// Byte offset of the field holding the string offset.
        offset: usize,
        /// The string offset.
        name_off: u32,
        /// Total string bytes addressable (base and split).
        str_len: u32,
    },
    /// A string offset asked for directly is out of range.
    #[error("string offset {name_off} is past the string section ({str_len} bytes)")]
    NoSuchString {
        /// The string offset.
        name_off: u32,
        /// Total string bytes addressable.
        str_len: u32,
    },
    /// A type record refers to a type id that does not exist.
    #[error("type {id} ({kind}, record at offset {offset}) refers to type {target}, but the last type id is {last_id}")]
    TypeRefOutOfRange {
        /// The referring type.
        id: TypeId,
        /// Its kind.
        kind: Kind,
        /// Byte offset of the field holding the reference.
        offset: usize,
        /// The id referred to.
        target: TypeId,
        /// The highest valid id.
        last_id: TypeId,
    },
    /// A type record runs past the end of the type section (often an absurd `vlen`).
    #[error("type {id} ({kind}, vlen {vlen}) at offset {offset} needs {needed} bytes but the type section ends at offset {section_end}")]
    RecordOverflow {
        /// The type.
        id: TypeId,
        /// Its kind.
        kind: Kind,
        /// Its vlen.
        vlen: u16,
        /// Where its record starts.
        offset: usize,
        /// Its record size.
        needed: usize,
        /// Where the type section ends.
        section_end: usize,
    },
    /// A kind this library does not know, and the BTF has no layout section describing it.
    #[error("type {id} at offset {offset} has unknown kind {raw_kind} and the BTF has no layout entry for it")]
    UnknownKind {
        /// The type.
        id: TypeId,
        /// Where its record starts.
        offset: usize,
        /// The raw kind number.
        raw_kind: u8,
    },
    /// Too many types for a 32-bit id space (or for the base they are split from).
    #[error("too many types: {count} (ids must stay below {max})")]
    TooManyTypes {
        /// How many were found.
        count: u64,
        /// The limit.
        max: u64,
    },
    /// A type id asked for does not exist.
    #[error("no type with id {id} (last id is {last_id})")]
    NoSuchType {
        /// The id.
        id: TypeId,
        /// The highest valid id.
        last_id: TypeId,
    },
    /// Resolving a chain of typedefs, modifiers or arrays did not end (a cycle, or too deep).
    #[error("type chain starting at type {id} does not end after {depth} steps (cycle?)")]
    Cycle {
        /// Where the walk started.
        id: TypeId,
        /// How many steps were taken.
        depth: u32,
    },
    /// The type has no size (function, void, forward declaration, ...).
    #[error("type {id} ({kind}) has no size")]
    NoSize {
        /// The type.
        id: TypeId,
        /// Its kind.
        kind: Kind,
    },
    /// A size computation overflowed.
    #[error("size of type {id} overflows")]
    SizeOverflow {
        /// The type.
        id: TypeId,
    },
    /// The type is not of the kind the operation needs.
    #[error("type {id} is {actual}, expected {expected}")]
    WrongKind {
        /// The type.
        id: TypeId,
        /// Its kind.
        actual: Kind,
        /// What the operation needs.
        expected: &'static str,
    },
    /// A compressed input (`.btf.tar.xz`, `.btf.gz`) was refused or could not be read.
    #[error(transparent)]
    Archive(#[from] crate::archive::ArchiveError),
    /// The writer was asked for something BTF cannot encode.
    #[error("cannot encode BTF: {reason}")]
    Encode {
        /// What cannot be encoded.
        reason: String,
    },
}

impl BtfError {
    pub(crate) fn truncated(what: &'static str, offset: usize, needed: usize, len: usize) -> Self {
        BtfError::Truncated {
            what,
            offset,
            needed,
            available: len.saturating_sub(offset),
        }
    }
}
