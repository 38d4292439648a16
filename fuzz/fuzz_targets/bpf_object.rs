//! Fuzzes the BPF object reader: ELF parsing, program/map discovery, `.BTF`, `.BTF.ext` and
//! CO-RE spec resolution. Any panic, hang or unbounded allocation is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracee_bpf_obj::elf::BpfObject;

fuzz_target!(|data: &[u8]| {
    if let Ok(obj) = BpfObject::from_bytes(data) {
        for p in obj.programs() {
            let _ = obj.program_instructions(p);
            let _ = (p.def.tracepoint(), p.def.kprobe(), p.def.uprobe());
        }
        for r in obj.core_relos() {
            let _ = (r.spec.to_string(), r.spec.field_names());
        }
        let _ = format!("{:?}", obj.maps());
    }
});
