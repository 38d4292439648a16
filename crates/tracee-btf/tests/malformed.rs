//! Malformed BTF: each defect gives its typed error, naming where it is; nothing panics.

use tracee_btf::writer::MemberSpec;
use tracee_btf::{Btf, BtfBuilder, BtfError, IntEncoding, Kind, Type};

/// A small valid BTF: int, pointer, struct, enum, typedef chain, function.
fn sample() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap(); // 1
    let ptr = b.add_ptr(int).unwrap(); // 2
    b.add_struct(
        "s",
        16,
        &[
            MemberSpec {
                name: "a",
                type_id: int,
                bit_offset: 0,
                bitfield_size: 0,
            },
            MemberSpec {
                name: "p",
                type_id: ptr,
                bit_offset: 64,
                bitfield_size: 0,
            },
        ],
    )
    .unwrap(); // 3
    b.add_enum("e", 4, false, &[("A", 1), ("B", 2)]).unwrap(); // 4
    let td = b.add_typedef("t", int).unwrap(); // 5
    let proto = b.add_func_proto(int, &[("x", td)]).unwrap(); // 6
    b.add_func("f", proto, 1).unwrap(); // 7
    b.finish().unwrap()
}

fn put32(data: &mut [u8], off: usize, v: u32) {
    data[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn get32(data: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(data[off..off + 4].try_into().unwrap())
}

/// Offset of type `id`'s record in `sample()`.
fn record(data: &[u8], id: u32) -> usize {
    let btf = Btf::from_slice(data).unwrap();
    let t = btf.type_by_id(id).unwrap();
    let rec = t.record_bytes().as_ptr() as usize;
    rec - btf.raw_bytes().as_ptr() as usize
}

#[test]
fn sample_is_valid() {
    let btf = Btf::from_vec(sample()).unwrap();
    btf.validate().unwrap();
    assert_eq!(btf.type_count(), 7);
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let data = sample();
    for len in 0..data.len() {
        assert!(
            Btf::from_slice(&data[..len]).is_err(),
            "prefix of {len} bytes accepted"
        );
    }
}

#[test]
fn every_single_byte_corruption_is_handled() {
    // Flip each byte of the sample in turn: opening and walking every view must not panic.
    let data = sample();
    for i in 0..data.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut d = data.clone();
            d[i] ^= flip;
            if let Ok(btf) = Btf::from_vec(d) {
                let _ = btf.validate();
                for t in btf.types() {
                    let _ = (
                        t.name(),
                        btf.size_of(t.id()),
                        btf.skip_mods_and_typedefs(t.id()),
                    );
                    if let Type::Struct(s) = t {
                        assert!(s.members().all(|m| m.name.len() < 1 << 20));
                    }
                }
            }
        }
    }
}

/// A named corruption of the sample and the error it must produce.
type Case = (
    &'static str,
    Box<dyn Fn(&mut Vec<u8>)>,
    fn(&BtfError) -> bool,
);

#[test]
fn header_defects() {
    let data = sample();
    let cases: Vec<Case> = vec![
        ("bad magic", Box::new(|d| d[0] = 0), |e| {
            matches!(e, BtfError::BadMagic { .. })
        }),
        ("bad version", Box::new(|d| d[2] = 2), |e| {
            matches!(e, BtfError::BadVersion { version: 2 })
        }),
        ("hdr_len < 24", Box::new(|d| put32(d, 4, 20)), |e| {
            matches!(e, BtfError::BadHeader { .. })
        }),
        (
            "hdr_len past end",
            Box::new(|d| put32(d, 4, 1 << 20)),
            |e| matches!(e, BtfError::Truncated { .. }),
        ),
        (
            "type section past end",
            Box::new(|d| put32(d, 12, 1 << 20)),
            |e| {
                matches!(
                    e,
                    BtfError::BadSection {
                        section: "type",
                        ..
                    }
                )
            },
        ),
        (
            "string section past end",
            Box::new(|d| {
                let l = get32(d, 20);
                put32(d, 20, l + 1)
            }),
            |e| {
                matches!(
                    e,
                    BtfError::BadSection {
                        section: "string",
                        ..
                    }
                )
            },
        ),
        ("sections overlap", Box::new(|d| put32(d, 16, 0)), |e| {
            matches!(e, BtfError::BadSection { .. })
        }),
        (
            "unaligned type section",
            Box::new(|d| put32(d, 8, 2)),
            |e| matches!(e, BtfError::BadHeader { .. } | BtfError::BadSection { .. }),
        ),
    ];
    for (what, corrupt, expected) in cases {
        let mut d = data.clone();
        corrupt(&mut d);
        let err = Btf::from_vec(d).expect_err(what);
        assert!(expected(&err), "{what}: got {err:?}");
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn string_section_defects() {
    let mut d = sample();
    let last = d.len() - 1;
    d[last] = b'x';
    assert!(
        matches!(Btf::from_vec(d).unwrap_err(), BtfError::BadStrings { offset, .. } if offset == last)
    );

    let mut d = sample();
    let str_start = 24 + get32(&d, 16) as usize;
    d[str_start] = b'x';
    assert!(
        matches!(Btf::from_vec(d).unwrap_err(), BtfError::BadStrings { offset, .. } if offset == str_start)
    );

    let mut d = sample();
    let str_start = 24 + get32(&d, 16) as usize;
    d[str_start + 1] = 0xff; // not UTF-8
    assert!(matches!(
        Btf::from_vec(d).unwrap_err(),
        BtfError::BadStrings { .. }
    ));
}

#[test]
fn string_offset_out_of_range_names_the_type_and_offset() {
    let mut d = sample();
    let rec = record(&d, 1);
    put32(&mut d, rec, 1 << 20);
    match Btf::from_vec(d).unwrap_err() {
        BtfError::StringOutOfRange {
            id,
            offset,
            name_off,
            ..
        } => {
            assert_eq!((id, offset, name_off), (1, rec, 1 << 20));
        }
        other => panic!("got {other:?}"),
    }
    // A member name out of range is found by validate().
    let mut d = sample();
    let rec = record(&d, 3);
    put32(&mut d, rec + 12, 1 << 20);
    let btf = Btf::from_vec(d).unwrap();
    match btf.validate().unwrap_err() {
        BtfError::StringOutOfRange { id, offset, .. } => assert_eq!((id, offset), (3, rec + 12)),
        other => panic!("got {other:?}"),
    }
}

#[test]
fn type_id_out_of_range_names_the_referrer() {
    let mut d = sample();
    let rec = record(&d, 2); // PTR
    put32(&mut d, rec + 8, 99);
    match Btf::from_vec(d).unwrap_err() {
        BtfError::TypeRefOutOfRange {
            id,
            kind,
            target,
            last_id,
            offset,
        } => {
            assert_eq!(
                (id, kind, target, last_id, offset),
                (2, Kind::Ptr, 99, 7, rec + 8)
            );
        }
        other => panic!("got {other:?}"),
    }
    let mut d = sample();
    let rec = record(&d, 3); // struct member type
    put32(&mut d, rec + 16, 1000);
    let btf = Btf::from_vec(d).unwrap();
    assert!(matches!(
        btf.validate().unwrap_err(),
        BtfError::TypeRefOutOfRange {
            id: 3,
            target: 1000,
            ..
        }
    ));
    assert!(matches!(
        btf.type_by_id(1000).unwrap_err(),
        BtfError::NoSuchType {
            id: 1000,
            last_id: 7
        }
    ));
}

#[test]
fn absurd_vlen_overflows_the_section() {
    let mut d = sample();
    let rec = record(&d, 3);
    let info = get32(&d, rec + 4);
    put32(&mut d, rec + 4, (info & !0xffff) | 0xffff);
    match Btf::from_vec(d).unwrap_err() {
        BtfError::RecordOverflow {
            id,
            kind,
            vlen,
            offset,
            ..
        } => {
            assert_eq!((id, kind, vlen, offset), (3, Kind::Struct, 0xffff, rec));
        }
        other => panic!("got {other:?}"),
    }
}

#[test]
fn typedef_cycle_is_reported() {
    let mut d = sample();
    let rec = record(&d, 5); // typedef t -> int; make it point at itself
    put32(&mut d, rec + 8, 5);
    let btf = Btf::from_vec(d).unwrap();
    assert!(matches!(
        btf.validate().unwrap_err(),
        BtfError::Cycle { id: 5, .. }
    ));
    assert!(matches!(
        btf.size_of(5).unwrap_err(),
        BtfError::Cycle { .. }
    ));
    assert!(matches!(
        btf.skip_mods_and_typedefs(5).unwrap_err(),
        BtfError::Cycle { .. }
    ));
}

#[test]
fn func_must_point_at_a_func_proto() {
    let mut d = sample();
    let rec = record(&d, 7);
    put32(&mut d, rec + 8, 1);
    let btf = Btf::from_vec(d).unwrap();
    assert!(matches!(
        btf.validate().unwrap_err(),
        BtfError::WrongKind { id: 1, .. }
    ));
}

/// A BTF with the layout section and one record of kind 25, which this library does not know.
fn with_unknown_kind(layout: bool) -> Vec<u8> {
    let mut b = BtfBuilder::new().with_layout(layout);
    b.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
    let mut d = b.finish().unwrap();
    let hdr_len = get32(&d, 4) as usize;
    let type_len = get32(&d, 12) as usize;
    // Insert a kind-25 record with vlen 2 and 4 bytes per element after the INT.
    let mut rec = Vec::new();
    rec.extend_from_slice(&0u32.to_le_bytes());
    rec.extend_from_slice(&((25u32 << 24) | 2).to_le_bytes());
    rec.extend_from_slice(&0u32.to_le_bytes());
    rec.extend_from_slice(&[0xaa; 4 + 2 * 4]);
    let at = hdr_len + type_len;
    d.splice(at..at, rec.iter().copied());
    let grow = rec.len() as u32;
    let str_off = get32(&d, 16);
    put32(&mut d, 12, type_len as u32 + grow);
    put32(&mut d, 16, str_off + grow);
    if layout {
        let layout_off = get32(&d, 24);
        put32(&mut d, 24, layout_off + grow);
        // The builder describes kinds 0..=19; add entries up to kind 25, which takes 4 bytes
        // once and 4 per element.
        d.extend_from_slice(&[0u8; 5 * 4]);
        d.extend_from_slice(&[4, 4, 0, 0]);
        put32(&mut d, 28, 26 * 4);
    }
    d
}

#[test]
fn unknown_kind_is_skipped_with_a_layout_section_only() {
    let btf = Btf::from_vec(with_unknown_kind(true)).unwrap();
    assert_eq!(btf.header().hdr_len, 32);
    assert_eq!(btf.type_count(), 2);
    match btf.type_by_id(2).unwrap() {
        Type::Unknown(u) => assert_eq!(u.raw_kind(), 25),
        other => panic!("got {other:?}"),
    }
    assert_eq!(btf.type_by_id(2).unwrap().kind(), Kind::Unknown(25));

    let err = Btf::from_vec(with_unknown_kind(false)).unwrap_err();
    assert!(
        matches!(
            err,
            BtfError::UnknownKind {
                id: 2,
                raw_kind: 25,
                offset: 40
            }
        ),
        "{err:?}"
    );
}

#[test]
fn layout_header_is_accepted_and_written() {
    let mut b = BtfBuilder::new().with_layout(true);
    b.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
    let d = b.finish().unwrap();
    let btf = Btf::from_slice(&d).unwrap();
    assert_eq!(btf.header().hdr_len, 32);
    assert_eq!(btf.kind_layouts().len(), 20);
    assert_eq!(BtfBuilder::from_btf(&btf).unwrap().finish().unwrap(), d);

    // A header cut between 24 and 32 bytes, or with unknown non-zero bytes, is refused.
    let mut bad = d.clone();
    put32(&mut bad, 4, 28);
    assert!(matches!(
        Btf::from_vec(bad).unwrap_err(),
        BtfError::BadHeader { .. }
    ));
}

#[test]
fn layout_entry_contradicting_a_known_kind_is_refused() {
    let mut b = BtfBuilder::new().with_layout(true);
    b.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
    let mut d = b.finish().unwrap();
    let layout = 32 + get32(&d, 24) as usize;
    d[layout + 4] = 8; // INT's info_sz
    assert!(matches!(
        Btf::from_vec(d).unwrap_err(),
        BtfError::BadHeader { .. }
    ));
}

#[test]
fn big_endian_btf_reads_the_same() {
    let build = |big: bool| {
        let mut b = BtfBuilder::new().with_big_endian(big);
        let int = b.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
        b.add_struct(
            "s",
            8,
            &[
                MemberSpec {
                    name: "a",
                    type_id: int,
                    bit_offset: 0,
                    bitfield_size: 0,
                },
                MemberSpec {
                    name: "b",
                    type_id: int,
                    bit_offset: 35,
                    bitfield_size: 3,
                },
            ],
        )
        .unwrap();
        b.add_enum("e64", 8, true, &[("NEG", -5), ("BIG", 1 << 40)])
            .unwrap();
        b.finish().unwrap()
    };
    let (le, be) = (build(false), build(true));
    assert_eq!(&be[..2], &[0xeb, 0x9f]);
    let (l, b) = (Btf::from_slice(&le).unwrap(), Btf::from_slice(&be).unwrap());
    assert!(b.is_big_endian() && !l.is_big_endian());
    for (x, y) in l.types().zip(b.types()) {
        assert_eq!(
            (x.kind(), x.name(), x.size(), x.vlen()),
            (y.kind(), y.name(), y.size(), y.vlen())
        );
    }
    let Type::Struct(s) = b.type_by_id(2).unwrap() else {
        panic!()
    };
    let m: Vec<_> = s
        .members()
        .map(|m| (m.name, m.bit_offset, m.bitfield_size))
        .collect();
    assert_eq!(m, [("a", 0, 0), ("b", 35, 3)]);
    let Type::Enum64(e) = b.type_by_id(3).unwrap() else {
        panic!()
    };
    let v: Vec<_> = e.values().map(|v| (v.name, v.value)).collect();
    assert_eq!(v, [("NEG", -5), ("BIG", 1 << 40)]);
    assert_eq!(BtfBuilder::from_btf(&b).unwrap().finish().unwrap(), be);
}

#[test]
fn legacy_bitfields_are_normalised() {
    // Without kind_flag, a bitfield's width lives in its INT type (pahole's old encoding).
    let mut b = BtfBuilder::new();
    let int = b.add_int("int", 4, IntEncoding::SIGNED, 32).unwrap();
    let int3 = b.add_int("int", 4, IntEncoding::SIGNED, 3).unwrap();
    b.add_struct(
        "old",
        4,
        &[
            MemberSpec {
                name: "a",
                type_id: int3,
                bit_offset: 0,
                bitfield_size: 0,
            },
            MemberSpec {
                name: "b",
                type_id: int,
                bit_offset: 32,
                bitfield_size: 0,
            },
        ],
    )
    .unwrap();
    let btf = Btf::from_vec(b.finish().unwrap()).unwrap();
    let Type::Struct(s) = btf.type_by_id(3).unwrap() else {
        panic!()
    };
    assert!(!s.kind_flag());
    let m: Vec<_> = s.members().map(|m| (m.name, m.bitfield_size)).collect();
    assert_eq!(m, [("a", 3), ("b", 0)]);
}
