//! Event definitions: the catalog of syscalls and other events the tracer can emit.
//!
//! Every event has a [`EventDefinition`]: an id, a name, Tracee's sets (`default`, `syscalls`,
//! `fs`, `fs_file_ops`, `proc`, `proc_life`, `net`, `net_sock`, ...), named and typed
//! arguments ([`ArgDef`], [`ArgType`]), a return value for syscalls, and syscall numbers per
//! architecture. The [`Catalog`] holds the built-in events and is open: an embedding tool
//! [registers](Catalog::register) its own, optionally with a [`CustomDecoder`].
//!
//! # Event ids
//!
//! Ids are stable and the same on every architecture:
//!
//! | ids            | events                                                             |
//! |----------------|--------------------------------------------------------------------|
//! | 0 ..= 499      | syscalls that exist on x86_64: id = x86_64 syscall number          |
//! | 500 ..= 999    | syscalls only arm64 has: id = 500 + arm64 number (none as of 6.18) |
//! | 1000 ..= 9999  | other built-in events: 1000 `sched_process_exec`, 1001 `sched_process_fork`, 1002 `sched_process_exit` |
//! | 10000 ..       | events registered by embedding tools ([`EventId::FIRST_CUSTOM`])   |
//!
//! On arm64, a raw syscall number is translated to its event with
//! [`Catalog::by_syscall`]; `openat` is event 257 on both architectures though arm64 numbers
//! it 56.
//!
//! # Where the syscall table comes from
//!
//! `scripts/gen-syscalls.py` writes `generated/syscalls.rs` from the uapi headers (numbers:
//! x86_64 `asm/unistd_64.h`, arm64's asm-generic table), the kernel's tracefs formats (argument
//! count, order and C types of the raw ABI) and the man pages (argument names users know). A
//! handful of facts none of those carry are in override tables in the script, marked as such.
//! Argument order is the x86_64 kernel's; on arm64, `clone` takes `tls` before `child_tid`.

mod arg;
mod catalog;
mod custom_decoder;
mod definition;
mod error;
mod generated;
mod lifecycle;
mod listing;
mod pattern;

pub use arg::{ArgDef, ArgType};
pub use catalog::{Catalog, MAX_ARGS};
pub use custom_decoder::{CustomDecodeError, CustomDecoder};
pub use definition::{Arch, EventDefinition, EventId, EventKind, SyscallNumbers};
pub use error::CatalogError;
pub use lifecycle::{SCHED_PROCESS_EXEC, SCHED_PROCESS_EXIT, SCHED_PROCESS_FORK};
pub use listing::{list_json, list_table};
pub use pattern::{glob_match, is_glob, nearest, Selector};
