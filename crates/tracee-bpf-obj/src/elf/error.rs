//! Errors of the object reader: each names the section, offset, symbol or map involved.

use std::path::PathBuf;

/// An error reading a BPF ELF object or its `.BTF.ext`.
///
/// Every variant says where the problem is (section name, byte offset, symbol or map name) so
/// a user can find it with `llvm-readelf` or `bpftool btf dump`.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The object file could not be read.
    #[error("reading BPF object {path}: {source}")]
    Io {
        /// The file that was being read.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The ELF structure itself is invalid (header, section table, symbol table, string tables).
    #[error("invalid ELF: {what}")]
    Elf {
        /// What the ELF parser rejected.
        what: String,
    },
    /// The ELF file is valid but not a BPF object.
    #[error("not a BPF object: e_machine is {machine}, expected 247 (EM_BPF)")]
    NotBpf {
        /// The `e_machine` field found.
        machine: u16,
    },
    /// A section's contents are invalid.
    #[error("section {section}: {reason}")]
    Section {
        /// Name of the section (or `#index` when its name is unreadable).
        section: String,
        /// What is wrong.
        reason: String,
    },
    /// A symbol is invalid (bad section index, offset or size out of its section).
    #[error("symbol {symbol:?} in section {section}: {reason}")]
    Symbol {
        /// Symbol name.
        symbol: String,
        /// Section the symbol claims to live in.
        section: String,
        /// What is wrong.
        reason: String,
    },
    /// The `.BTF` section could not be parsed.
    #[error("section .BTF: {source}")]
    Btf {
        /// The tracee-btf error.
        #[source]
        source: tracee_btf::BtfError,
    },
    /// The `.BTF.ext` section is malformed.
    #[error(".BTF.ext at byte {offset}: {reason}")]
    BtfExt {
        /// Byte offset inside the `.BTF.ext` section.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// A string offset points outside the `.BTF` string section.
    #[error(
        ".BTF.ext at byte {offset}: {what} string offset {str_off} is not a valid .BTF string"
    )]
    BadStringOffset {
        /// Byte offset of the record inside `.BTF.ext`.
        offset: usize,
        /// Which field held the offset (`sec_name_off`, `access_str_off`, ...).
        what: &'static str,
        /// The offending string offset.
        str_off: u32,
    },
    /// A CO-RE relocation record cannot be resolved against the object's own BTF.
    #[error("CO-RE relocation in section {section} at insn byte {insn_off} (type [{type_id}], access \"{access}\"): {reason}")]
    CoreRelo {
        /// Program section the relocation belongs to.
        section: String,
        /// Byte offset of the relocated instruction inside that section.
        insn_off: u32,
        /// Root type id of the relocation.
        type_id: u32,
        /// Raw access string.
        access: String,
        /// What is wrong.
        reason: String,
    },
    /// A BTF-defined map in `.maps` (or a legacy `maps` entry) is malformed.
    #[error("map {map:?}: {reason}")]
    Map {
        /// Map (variable) name.
        map: String,
        /// What is wrong.
        reason: String,
    },
}

impl ObjectError {
    pub(crate) fn elf(e: object::read::Error) -> Self {
        ObjectError::Elf {
            what: e.to_string(),
        }
    }

    pub(crate) fn section(section: impl Into<String>, reason: impl Into<String>) -> Self {
        ObjectError::Section {
            section: section.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn map(map: impl Into<String>, reason: impl Into<String>) -> Self {
        ObjectError::Map {
            map: map.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn ext(offset: usize, reason: impl Into<String>) -> Self {
        ObjectError::BtfExt {
            offset,
            reason: reason.into(),
        }
    }
}
