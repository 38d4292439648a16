//! Malformed objects and `.BTF.ext` sections give typed errors naming what and where, and
//! never panic: targeted corruptions of real fixtures, every truncation, random mutations,
//! and a replay of the fuzz corpora.

mod elf_common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use elf_common::{fixture, fixture_bytes};
use tracee_bpf_obj::elf::{BpfObject, BtfExt, ObjectError};

const FIXTURES: [&str; 4] = [
    "progs_maps.bpf.o",
    "core_relos.bpf.o",
    "legacy_maps.bpf.o",
    "core_relos.bpfeb.o",
];

fn rd32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}
fn wr32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// The little-endian CO-RE fixture with the file offsets of its `.BTF.ext` tables.
struct Ext {
    bytes: Vec<u8>,
    /// file offset of the .BTF.ext section
    sec: usize,
    /// file offsets of the func_info, line_info and core_relo tables (at their rec_size word)
    func: usize,
    line: usize,
    core: usize,
}

fn ext_fixture() -> Ext {
    let bytes = fixture_bytes("core_relos.bpf.o");
    let obj = BpfObject::from_bytes(&bytes).expect("parse");
    let s = obj
        .sections()
        .iter()
        .find(|s| s.name == ".BTF.ext")
        .expect(".BTF.ext");
    let sec = s.file_offset as usize;
    let h = *obj.btf_ext().expect("ext").header();
    let base = sec + h.hdr_len as usize;
    Ext {
        sec,
        func: base + h.func_info_off as usize,
        line: base + h.line_info_off as usize,
        core: base + h.core_relo_off as usize,
        bytes,
    }
}

fn parse_err(bytes: &[u8]) -> ObjectError {
    BpfObject::from_bytes(bytes).expect_err("corruption must be rejected")
}

#[test]
fn not_an_elf_or_not_bpf() {
    assert!(matches!(parse_err(b""), ObjectError::Elf { .. }));
    assert!(matches!(
        parse_err(b"\x7fELF garbage"),
        ObjectError::Elf { .. }
    ));
    let mut b = fixture_bytes("progs_maps.bpf.o");
    b[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    assert!(matches!(parse_err(&b), ObjectError::NotBpf { machine: 62 }));
    let missing = BpfObject::from_path("/nonexistent/x.bpf.o").expect_err("missing file");
    assert!(
        matches!(missing, ObjectError::Io { ref path, .. } if path == &PathBuf::from("/nonexistent/x.bpf.o"))
    );
}

#[test]
fn bad_section_offset_names_the_section() {
    let mut b = fixture_bytes("core_relos.bpf.o");
    let obj = BpfObject::from_bytes(&b).expect("parse");
    let idx = obj
        .sections()
        .iter()
        .position(|s| s.name == ".BTF.ext")
        .expect("section");
    let shoff = u64::from_le_bytes(b[0x28..0x30].try_into().expect("8")) as usize;
    let sh = shoff + idx * 64;
    b[sh + 24..sh + 32].copy_from_slice(&(1u64 << 40).to_le_bytes()); // sh_offset far past EOF
    match parse_err(&b) {
        ObjectError::Section { section, .. } => assert_eq!(section, ".BTF.ext"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn oversized_symbol_names_the_symbol() {
    let mut b = fixture_bytes("core_relos.bpf.o");
    let obj = BpfObject::from_bytes(&b).expect("parse");
    let symtab = obj
        .sections()
        .iter()
        .find(|s| s.name == ".symtab")
        .expect("symtab");
    let text_idx = obj.programs()[0].section_index as u16;
    // Elf64_Sym: name u32, info u8, other u8, shndx u16, value u64, size u64
    let mut patched = false;
    for i in 0..(symtab.size as usize / 24) {
        let e = symtab.file_offset as usize + i * 24;
        let st_type = b[e + 4] & 0xf;
        let shndx = u16::from_le_bytes([b[e + 6], b[e + 7]]);
        if st_type == 2 && shndx == text_idx {
            b[e + 16..e + 24].copy_from_slice(&0xffff_ffff_fff0u64.to_le_bytes());
            patched = true;
            break;
        }
    }
    assert!(patched);
    match parse_err(&b) {
        ObjectError::Symbol {
            symbol, section, ..
        } => {
            assert_eq!(symbol, obj.programs()[0].name);
            assert_eq!(section, obj.programs()[0].section);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn corrupt_btf_is_a_btf_error() {
    let mut b = fixture_bytes("core_relos.bpf.o");
    let obj = BpfObject::from_bytes(&b).expect("parse");
    let s = obj
        .sections()
        .iter()
        .find(|s| s.name == ".BTF")
        .expect(".BTF");
    b[s.file_offset as usize] ^= 0xff; // magic
    assert!(matches!(parse_err(&b), ObjectError::Btf { .. }));
}

#[test]
fn btf_ext_header_errors() {
    let e = ext_fixture();
    let cases: Vec<(usize, u32, &str)> = vec![
        (e.sec + 4, 0x1000_0000, "hdr_len"),  // hdr_len past the section
        (e.sec + 4, 16, "below the minimum"), // hdr_len too short
        (e.sec + 8, 2, "aligned"),            // func_info_off misaligned
        (e.sec + 12, 0x7fff_ffff, "past the section end"), // func_info_len too long
    ];
    for (off, v, needle) in cases {
        let mut b = e.bytes.clone();
        wr32(&mut b, off, v);
        match parse_err(&b) {
            err @ ObjectError::BtfExt { .. } => {
                assert!(err.to_string().contains(needle), "{needle}: {err}")
            }
            other => panic!("{needle}: unexpected {other:?}"),
        }
    }
    let mut b = e.bytes.clone();
    b[e.sec] = 0; // magic
    assert!(matches!(
        parse_err(&b),
        ObjectError::BtfExt { offset: 0, .. }
    ));
    let mut b = e.bytes.clone();
    b[e.sec + 2] = 2; // version
    assert!(matches!(
        parse_err(&b),
        ObjectError::BtfExt { offset: 2, .. }
    ));
}

#[test]
fn record_sizes_below_minimum_or_unaligned() {
    let e = ext_fixture();
    for (table, size, what) in [
        (e.func, 4, "func_info"),
        (e.line, 12, "line_info"),
        (e.core, 8, "core_relo"),
        (e.core, 18, "core_relo"),
    ] {
        let mut b = e.bytes.clone();
        wr32(&mut b, table, size);
        let err = parse_err(&b);
        match &err {
            ObjectError::BtfExt { offset, reason } => {
                assert_eq!(*offset, table - e.sec, "{what}");
                assert!(
                    reason.contains(what) && reason.contains("record size"),
                    "{err}"
                );
            }
            other => panic!("{what}: unexpected {other:?}"),
        }
    }
    // Larger record sizes (a newer format) are accepted if the data holds them: a size of 20
    // for core_relo misreads the table and must fail cleanly, not panic.
    let mut b = e.bytes.clone();
    wr32(&mut b, e.core, 20);
    assert!(BpfObject::from_bytes(&b).is_err());
}

#[test]
fn record_counts() {
    let e = ext_fixture();
    for (table, what) in [
        (e.func, "func_info"),
        (e.line, "line_info"),
        (e.core, "core_relo"),
    ] {
        for (count, needle) in [(0u32, "0 records"), (u32::MAX, "exceed")] {
            let mut b = e.bytes.clone();
            wr32(&mut b, table + 8, count); // first group: rec_size, sec_name_off, num_info
            let err = parse_err(&b);
            assert!(matches!(err, ObjectError::BtfExt { .. }), "{what}: {err:?}");
            assert!(err.to_string().contains(needle), "{what}: {err}");
        }
    }
}

#[test]
fn string_offsets_out_of_range() {
    let e = ext_fixture();
    // (file offset of the field, expected `what`)
    let cases = [
        (e.func + 4, "sec_name_off"),
        (e.line + 4, "sec_name_off"),
        (e.core + 4, "sec_name_off"),
        (e.line + 12 + 4, "file_name_off"),
        (e.line + 12 + 8, "line_off"),
        (e.core + 12 + 8, "access_str_off"),
    ];
    for (off, what_expected) in cases {
        let mut b = e.bytes.clone();
        wr32(&mut b, off, 0x7fff_fff0);
        match parse_err(&b) {
            ObjectError::BadStringOffset { what, str_off, .. } => {
                assert_eq!((what, str_off), (what_expected, 0x7fff_fff0));
            }
            other => panic!("{what_expected}: unexpected {other:?}"),
        }
    }
}

#[test]
fn bad_core_relo_records() {
    let e = ext_fixture();
    let first = e.core + 12; // rec_size, sec_name_off, num_info, then record 0
                             // unknown kind
    let mut b = e.bytes.clone();
    wr32(&mut b, first + 12, 13);
    let err = parse_err(&b);
    assert!(
        matches!(&err, ObjectError::CoreRelo { reason, section, .. } if reason.contains("unknown relocation kind 13") && section == "raw_tp/sys_enter"),
        "{err:?}"
    );
    // root type out of range
    let mut b = e.bytes.clone();
    wr32(&mut b, first + 4, 0x00ff_ffff);
    assert!(matches!(
        parse_err(&b),
        ObjectError::CoreRelo {
            type_id: 0x00ff_ffff,
            ..
        }
    ));
    // a field access string ("0:6") on a type-based relocation
    let mut b = e.bytes.clone();
    wr32(&mut b, first + 12, 8); // TYPE_EXISTS
    let err = parse_err(&b);
    assert!(
        err.to_string().contains("needs access string \"0\""),
        "{err}"
    );
    // an enum relocation rooted at a struct
    let mut b = e.bytes.clone();
    wr32(&mut b, first + 12, 10); // ENUMVAL_EXISTS on task_struct
    assert!(parse_err(&b).to_string().contains("enum relocation"));
    // the member index past vlen: point record 0 (task_struct, "0:6") at the mm_struct root
    let obj = BpfObject::from_bytes(&e.bytes).expect("parse");
    let mm = obj
        .btf()
        .expect("btf")
        .find_by_name_kind("mm_struct", tracee_btf::Kind::Struct)
        .expect("mm");
    let mut b = e.bytes.clone();
    wr32(&mut b, first + 4, mm);
    let err = parse_err(&b);
    assert!(
        err.to_string().contains("member index 6 >= vlen 2"),
        "{err}"
    );
}

fn no_panic(label: &str, bytes: &[u8]) {
    let r = catch_unwind(AssertUnwindSafe(|| {
        let _ = BpfObject::from_bytes(bytes);
        let _ = BtfExt::parse(bytes, false);
        let _ = BtfExt::parse(bytes, true);
    }));
    assert!(r.is_ok(), "panic on {label}");
}

#[test]
fn every_truncation_fails_cleanly() {
    for name in FIXTURES {
        let b = fixture_bytes(name);
        for len in 0..b.len() {
            let r = catch_unwind(AssertUnwindSafe(|| {
                BpfObject::from_bytes(&b[..len]).is_ok()
            }));
            assert!(r.is_ok(), "panic on {name} truncated to {len}");
        }
        // And every truncation of the .BTF.ext section itself.
        let obj = BpfObject::from_bytes(&b).expect("parse");
        let s = obj
            .sections()
            .iter()
            .find(|s| s.name == ".BTF.ext")
            .expect("ext");
        let ext = &b[s.file_offset as usize..(s.file_offset + s.size) as usize];
        for len in 0..ext.len() {
            let r = catch_unwind(AssertUnwindSafe(|| {
                BtfExt::parse(&ext[..len], obj.is_big_endian()).is_ok()
            }));
            assert!(
                matches!(r, Ok(false)),
                "{name}: .BTF.ext truncated to {len}: {r:?}"
            );
        }
    }
}

/// Deterministic random mutations (xorshift): byte flips, and 32-bit fields set to edge values
/// inside the .BTF.ext and .BTF sections where they matter most.
#[test]
fn random_mutations_never_panic() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for name in FIXTURES {
        let orig = fixture_bytes(name);
        let obj = BpfObject::from_bytes(&orig).expect("parse");
        let hot: Vec<(usize, usize)> = obj
            .sections()
            .iter()
            .filter(|s| s.name.starts_with(".BTF") || s.name == ".maps" || s.name == ".symtab")
            .map(|s| (s.file_offset as usize, s.size as usize))
            .collect();
        for i in 0..1500 {
            let mut b = orig.clone();
            let (start, len) = if i % 3 == 0 {
                (0, b.len())
            } else {
                hot[(next() as usize) % hot.len()]
            };
            for _ in 0..1 + next() % 4 {
                let pos = start + (next() as usize) % len.max(1);
                if pos + 4 <= b.len() && next() % 2 == 0 {
                    let v = [
                        0,
                        1,
                        0xffff_ffff,
                        0x8000_0000,
                        rd32(&b, pos).wrapping_add(4),
                    ][(next() % 5) as usize];
                    wr32(&mut b, pos, v);
                } else if pos < b.len() {
                    b[pos] ^= 1 << (next() % 8);
                }
            }
            no_panic(&format!("{name} mutation #{i}"), &b);
        }
    }
}

/// Replays the fuzz corpora so stable CI exercises them.
#[test]
fn fuzz_corpus_replays() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let mut n = 0;
    for target in ["bpf_object", "btf_ext"] {
        let dir = root.join(target);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("entry").path();
            let bytes = std::fs::read(&path).expect("read");
            no_panic(&path.display().to_string(), &bytes);
            n += 1;
        }
    }
    assert!(n >= 8, "expected seed corpora, found {n} files");
}

#[test]
fn fixtures_still_parse() {
    // Guard for the tests above: the unmodified fixtures are valid.
    for name in FIXTURES {
        BpfObject::from_path(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
