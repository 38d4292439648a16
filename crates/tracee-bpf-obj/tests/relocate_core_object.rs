//! `CoreObject`, the reader BTFGen uses, against the full `BpfObject` reader: the same `.BTF`
//! and the same CO-RE records from every committed object, and clean errors (no panic) on
//! damaged copies.

mod relocate_common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use relocate_common::*;
use tracee_bpf_obj::elf::{BpfObject, CoreObject, ObjectError};

#[test]
fn same_records_as_the_full_reader() {
    for path in objects() {
        let full = BpfObject::from_path(&path).expect("full reader");
        let core = CoreObject::from_path(&path).expect("core reader");
        assert_eq!(
            core.relos(),
            core_relos(&full).as_slice(),
            "{}",
            path.display()
        );
        assert_eq!(
            core.btf().map(|b| b.raw_bytes()),
            full.btf().map(|b| b.raw_bytes()),
            "{}",
            path.display()
        );
        assert!(
            !core.relos().is_empty(),
            "{} has relocations",
            path.display()
        );
    }
}

#[test]
fn object_without_btf_ext_has_no_relocations() {
    let path = fixture("legacy_maps.bpf.o");
    let full = BpfObject::from_path(&path).expect("full reader");
    let core = CoreObject::from_path(&path).expect("core reader");
    assert!(core.relos().is_empty());
    assert_eq!(core.btf().is_some(), full.btf().is_some());
}

#[test]
fn unknown_kind_names_its_section() {
    let bytes = std::fs::read(fixture("core_relos.bpf.o")).expect("fixture");
    let obj = BpfObject::from_bytes(&bytes).expect("parse");
    let ext = obj.btf_ext().expect(".BTF.ext");
    let sec = obj
        .sections()
        .iter()
        .find(|s| s.name == ".BTF.ext")
        .expect("section");
    let first = ext.core_relos()[0].records[0].ext_offset;
    let mut b = bytes.clone();
    let at = sec.file_offset as usize + first + 12;
    b[at..at + 4].copy_from_slice(&13u32.to_le_bytes());
    match CoreObject::from_bytes(&b) {
        Err(ObjectError::CoreRelo {
            reason, section, ..
        }) => {
            assert!(reason.contains("unknown relocation kind 13"), "{reason}");
            assert_eq!(section, "raw_tp/sys_enter");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn damaged_objects_fail_cleanly() {
    let bytes = std::fs::read(fixture("core_relos.bpf.o")).expect("fixture");
    let mut cases = Vec::new();
    for len in (0..bytes.len()).step_by(97) {
        cases.push(bytes[..len].to_vec());
    }
    for at in (0..bytes.len()).step_by(13) {
        for v in [0x00, 0xff, 0x80] {
            let mut b = bytes.clone();
            b[at] = v;
            cases.push(b);
        }
    }
    for (i, b) in cases.iter().enumerate() {
        let r = catch_unwind(AssertUnwindSafe(|| {
            let _ = CoreObject::from_bytes(b);
        }));
        assert!(r.is_ok(), "case {i} panicked");
    }
}
