//! `.BTF.ext` func_info and line_info, checked against the ELF symbol table and the C
//! source text of the fixtures.

mod elf_common;

use std::collections::BTreeSet;

use elf_common::{fixture, fixture_bytes};
use tracee_bpf_obj::elf::{BpfObject, BtfExt};

/// Each function symbol (program or subprogram) has exactly one func_info record at its
/// first instruction, naming a BTF FUNC of the same name.
#[test]
fn func_info_matches_symbols() {
    for name in ["progs_maps.bpf.o", "core_relos.bpf.o", "legacy_maps.bpf.o"] {
        let obj = BpfObject::from_path(fixture(name)).expect("parse");
        let from_symbols: BTreeSet<(String, u32, String)> = obj
            .functions()
            .iter()
            .map(|f| {
                (
                    obj.sections()[f.section_index].name.clone(),
                    f.offset as u32,
                    f.name.clone(),
                )
            })
            .collect();
        let from_ext: BTreeSet<(String, u32, String)> = obj
            .func_infos()
            .iter()
            .map(|f| (f.section.clone(), f.insn_off, f.name.clone()))
            .collect();
        assert_eq!(
            from_ext.len(),
            obj.func_infos().len(),
            "{name}: duplicate func_info"
        );
        assert_eq!(from_ext, from_symbols, "{name}");
    }
}

/// Every line_info record quotes its source line verbatim.
#[test]
fn line_info_quotes_the_source() {
    for name in ["progs_maps.bpf.o", "core_relos.bpf.o"] {
        let obj = BpfObject::from_path(fixture(name)).expect("parse");
        assert!(
            obj.line_infos().len() > 20,
            "{name}: too few line_info records"
        );
        for li in obj.line_infos() {
            if li.line == 0 {
                // Compiler-generated code has no source line.
                assert_eq!(li.source, "", "{li:?}");
                continue;
            }
            let file = li.file.trim_start_matches("./");
            let text =
                std::fs::read_to_string(fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            let line = text
                .lines()
                .nth(li.line as usize - 1)
                .unwrap_or_else(|| panic!("{file}:{}", li.line));
            assert_eq!(li.source, line, "{name} {}+{}", li.section, li.insn_off);
            // The column lies within the line (0 = whole line).
            assert!(li.column as usize <= line.len() + 1, "{li:?}");
        }
        // Line records of a section are sorted by instruction, as the kernel requires.
        for w in obj.line_infos().windows(2) {
            if w[0].section == w[1].section {
                assert!(w[0].insn_off <= w[1].insn_off, "{w:?}");
            }
        }
    }
}

#[test]
fn raw_tables_agree_with_resolved_records() {
    let obj = BpfObject::from_path(fixture("core_relos.bpf.o")).expect("parse");
    let ext = obj.btf_ext().expect(".BTF.ext");
    let h = ext.header();
    assert_eq!((h.magic, h.version, h.flags, h.hdr_len), (0xeb9f, 1, 0, 32));
    let count = |n: usize| n;
    assert_eq!(
        count(ext.func_info().iter().map(|g| g.records.len()).sum()),
        obj.func_infos().len()
    );
    assert_eq!(
        count(ext.line_info().iter().map(|g| g.records.len()).sum()),
        obj.line_infos().len()
    );
    assert_eq!(
        count(ext.core_relos().iter().map(|g| g.records.len()).sum()),
        21
    );
    // The section sizes from the header fit the ELF section exactly.
    let sec = obj
        .sections()
        .iter()
        .find(|s| s.name == ".BTF.ext")
        .expect("section");
    let end = [
        h.func_info_off + h.func_info_len,
        h.line_info_off + h.line_info_len,
        h.core_relo_off + h.core_relo_len,
    ]
    .into_iter()
    .max()
    .expect("max");
    assert_eq!(u64::from(h.hdr_len + end), sec.size);

    // Parsing the section bytes directly gives the same tables.
    let bytes = fixture_bytes("core_relos.bpf.o");
    let raw = &bytes[sec.file_offset as usize..(sec.file_offset + sec.size) as usize];
    assert_eq!(&BtfExt::parse(raw, false).expect("parse"), ext);
    // ... and the wrong byte order is refused with a hint, not misread.
    let err = BtfExt::parse(raw, true).expect_err("wrong endianness");
    assert!(err.to_string().contains("byte order"), "{err}");
}
