//! Opens arbitrary bytes as BTF and, when that succeeds, exercises every view, validation,
//! lookups and the writer. Nothing may panic or loop forever.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracee_btf::{Btf, BtfBuilder, Type};

fuzz_target!(|data: &[u8]| {
    let Ok(btf) = Btf::from_slice(data) else {
        return;
    };
    let _ = btf.validate();
    for t in btf.types() {
        let id = t.id();
        let _ = (t.name(), t.size(), t.ref_type(), btf.size_of(id));
        let _ = btf.skip_mods_and_typedefs(id);
        match t {
            Type::Struct(s) | Type::Union(s) => {
                for m in s.members() {
                    let _ = btf.find_by_name(m.name).count();
                }
                let _ = btf.member_offset_bits(id, "x");
            }
            Type::Enum(e) | Type::Enum64(e) => e.values().for_each(|v| drop(v.value)),
            Type::FuncProto(p) => p.params().for_each(|p| drop(p.type_id)),
            Type::Datasec(d) => d.vars().for_each(|v| drop(v.size)),
            _ => {}
        }
    }
    if let Ok(b) = BtfBuilder::from_btf(&btf) {
        if let Ok(out) = b.finish() {
            let _ = Btf::from_vec(out);
        }
    }
});
