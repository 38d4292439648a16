//! Untrusted archives through the BTF archive reader and the bundle reader: any input must
//! give Ok or a typed error, never a panic, a hang or an allocation past the limits.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tracee_btf::archive::{decompress_btf, ArchiveLimits};
use tracee_btf::bundle::Bundle;

fuzz_target!(|data: &[u8]| {
    let limits = ArchiveLimits {
        max_decompressed: 16 << 20,
    };
    if let Ok(raw) = decompress_btf(data, &limits, Path::new("fuzz")) {
        let _ = tracee_btf::Btf::from_vec(raw);
    }
    if let Ok(bundle) = Bundle::from_vec(data.to_vec()) {
        for entry in bundle.entries() {
            let _ = bundle.extract(entry, &limits);
        }
    }
});
