//! Pure-Rust reading of BPF ELF objects: programs with their attach kind (libbpf's section
//! rules), maps (BTF-defined, legacy, global data), license, `.BTF` as a tracee-btf [`Btf`],
//! and `.BTF.ext` (func_info, line_info, CO-RE relocations resolved to type and member names).
//!
//! Untrusted objects never panic: every problem is an [`ObjectError`] naming the section,
//! offset, symbol or map.
//!
//! [`Btf`]: tracee_btf::Btf

mod btf_ext;
mod core_object;
mod core_relo;
mod error;
mod externs;
mod maps;
mod object;
mod program;
mod stack;

pub use self::btf_ext::{
    BtfExt, BtfExtHeader, CoreReloRecord, ExtSection, FuncInfoRecord, LineInfoRecord, BTF_EXT_MAGIC,
};
pub use self::core_object::CoreObject;
pub use self::core_relo::{Accessor, CoreRelo, CoreReloKind, CoreSpec, CORE_SPEC_MAX_LEN};
pub use self::error::ObjectError;
pub use self::externs::{Extern, ExternKind};
pub use self::maps::{
    InitSlot, MapDef, MapOrigin, MapType, Pinning, BPF_F_MMAPABLE, BPF_F_RDONLY_PROG,
};
pub use self::object::{BpfObject, FuncInfo, LineInfo, SectionInfo};
pub use self::program::{
    AttachKind, AttachType, Function, ProgType, Program, SectionDef, UprobeTarget,
};
pub use self::stack::{
    CallKind, ChainLink, StackAnalysis, StackCall, StackChain, StackError, StackFrame,
    StackRounding, StackViolation, MAX_BPF_STACK, MAX_CALL_FRAMES, TAIL_CALL_STACK_LIMIT,
};
