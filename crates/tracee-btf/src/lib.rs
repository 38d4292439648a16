//! BPF Type Format (BTF) for tracee-rs: a zero-copy, lazily decoded reader, a writer, the
//! resolution of the right BTF for the running kernel, and native BTFGen.
//!
//! [`Btf`] opens raw BTF from bytes, a file (memory-mapped) or `/sys/kernel/btf/vmlinux`, and
//! btfhub-archive files (`.btf.tar.xz`, `.btf.gz`) directly. Opening builds one id→offset index
//! and checks every record once; types are then decoded on demand into [`Type`] views that
//! borrow the underlying bytes. Name lookups go through a hash index built on first use.
//!
//! ```no_run
//! use tracee_btf::{Btf, Kind, Type};
//!
//! let btf = Btf::from_sysfs()?;
//! let id = btf.find_by_name_kind("task_struct", Kind::Struct).expect("task_struct");
//! if let Type::Struct(s) = btf.type_by_id(id)? {
//!     let pid = s.members().find(|m| m.name == "pid").expect("pid member");
//!     println!("task_struct is {} bytes, pid at bit {}", s.size(), pid.bit_offset);
//! }
//! # Ok::<(), tracee_btf::BtfError>(())
//! ```

mod btf;
mod error;
mod header;
mod index;
mod kind;
mod name_index;
mod types;
pub mod writer;

pub mod archive;
pub mod bundle;
pub mod core;
#[cfg(feature = "download")]
pub mod download;
pub mod host;
pub mod kconfig;
pub mod resolver;

pub use btf::{Btf, NameMatches, SYSFS_VMLINUX};
pub use error::BtfError;
pub use header::{Header, KindLayout};
pub use kind::Kind;
pub use resolver::{BtfResolver, ResolveReport, ResolvedBtf, Source};
pub use types::{
    Array, Composite, Datasec, DeclTag, Enum, EnumValue, Float, Func, FuncProto, Fwd, Int,
    IntEncoding, Member, Param, RefType, Type, UnknownType, Var, VarSecinfo,
};
pub use writer::BtfBuilder;

/// A BTF type id. Id 0 is `void`; in split BTF, ids continue after the base's last id.
pub type TypeId = u32;
