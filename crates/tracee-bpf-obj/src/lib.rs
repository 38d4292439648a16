//! BPF ELF objects and the libbpf-backed `Module`.
//!
//! * [`elf`]: pure-Rust reading of BPF objects (programs, maps, `.BTF`, `.BTF.ext`, CO-RE
//!   relocations) with the `object` crate.
//! * [`module`]: a builder with libbpfgo's `NewModuleArgs` semantics on top of libbpf-rs:
//!   load, attach, maps, ring and perf buffers.
//! * [`relocate`]: CO-RE relocation of an object against a target BTF, and BTFGen over an object.

pub mod elf;
pub mod module;
pub mod relocate;
