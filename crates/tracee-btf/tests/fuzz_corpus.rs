//! Replays the cargo-fuzz corpora of the BTF parser on stable Rust, so every CI run covers the
//! inputs the fuzzer found interesting. Nothing may panic.

use std::path::Path;

use tracee_btf::{Btf, BtfBuilder, Type};

fn corpus(name: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(name);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            (p.display().to_string(), std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "empty corpus {}", dir.display());
    out
}

#[test]
fn btf_parse_corpus() {
    let mut opened = 0;
    for (name, data) in corpus("btf_parse") {
        let Ok(btf) = Btf::from_slice(&data) else {
            continue;
        };
        opened += 1;
        let _ = btf.validate();
        for t in btf.types() {
            let _ = (
                t.name(),
                btf.size_of(t.id()),
                btf.skip_mods_and_typedefs(t.id()),
            );
            if let Type::Struct(s) | Type::Union(s) = t {
                let _ = s.members().count();
                let _ = btf.member_offset_bits(t.id(), "x");
            }
        }
        let rewritten = BtfBuilder::from_btf(&btf).and_then(|b| b.finish());
        assert!(
            rewritten.is_ok(),
            "{name}: an opened BTF could not be rewritten"
        );
    }
    assert!(opened > 0, "no corpus entry is valid BTF");
}
