//! Fuzzes the `.BTF.ext` parser on its own, in both byte orders.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracee_bpf_obj::elf::BtfExt;

fuzz_target!(|data: &[u8]| {
    for big_endian in [false, true] {
        if let Ok(ext) = BtfExt::parse(data, big_endian) {
            let n: usize = ext.core_relos().iter().map(|g| g.records.len()).sum();
            let m: usize = ext.line_info().iter().map(|g| g.records.len()).sum();
            // Records are bounded by the input: each takes at least 8 bytes.
            assert!((n + m) * 8 <= data.len());
        }
    }
});
