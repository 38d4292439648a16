//! The CO-RE relocator, BTFGen and the C dumper on arbitrary BTF pairs
//! (`[split: u16 LE][local BTF][target BTF]`): cyclic, truncated or lying BTF must give
//! errors, never a panic or an endless loop.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tracee_btf::core::fuzz_relocate(data);
});
