//! CO-RE relocation semantics on hand-built BTF pairs, where the expected value follows from
//! the layout written in the test: flavors, both bitfield encodings, flexible arrays,
//! anonymous members, ENUM/ENUM64, type_matches, candidate pruning, ambiguity, and
//! minimization of split BTF and of BTF with FWD and TYPE_TAG.

use std::sync::Arc;

use tracee_btf::core::{min_core_btf, relocate_all, CoreError, CoreRelo, CoreReloKind as K};
use tracee_btf::writer::MemberSpec;
use tracee_btf::{Btf, BtfBuilder, IntEncoding, Kind};

fn m(name: &str, type_id: u32, bit_offset: u32, bitfield_size: u32) -> MemberSpec<'_> {
    MemberSpec {
        name,
        type_id,
        bit_offset,
        bitfield_size,
    }
}

fn build(f: impl FnOnce(&mut BtfBuilder) -> Result<(), tracee_btf::BtfError>) -> Btf {
    let mut b = BtfBuilder::new();
    f(&mut b).unwrap();
    Btf::from_vec(b.finish().unwrap()).unwrap()
}

fn val(local: &Btf, target: &Btf, relo: CoreRelo) -> u64 {
    let r = relocate_all(local, target, std::slice::from_ref(&relo));
    let res = r.results[0]
        .as_ref()
        .unwrap_or_else(|e| panic!("{relo:?}: {e}"));
    assert!(!res.poison, "{relo:?} poisoned");
    res.new_val
}

fn id(btf: &Btf, name: &str, kind: Kind) -> u32 {
    btf.find_by_name_kind(name, kind)
        .unwrap_or_else(|| panic!("{name}"))
}

/// Local: `struct task___old { int pid; }` (flavored). Target: `struct task { long state; int pid; }`.
#[test]
fn flavored_local_type_matches_the_plain_target() {
    let local = build(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED, 32)?;
        b.add_struct("task___old", 4, &[m("pid", int, 0, 0)])?;
        Ok(())
    });
    let target = build(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED, 32)?;
        let long = b.add_int("long int", 8, IntEncoding::SIGNED, 64)?;
        b.add_struct("task", 16, &[m("state", long, 0, 0), m("pid", int, 64, 0)])?;
        Ok(())
    });
    let t = id(&local, "task___old", Kind::Struct);
    assert_eq!(
        val(
            &local,
            &target,
            CoreRelo::new(0, t, "0:0", K::FieldByteOffset)
        ),
        8
    );
    assert_eq!(
        val(
            &local,
            &target,
            CoreRelo::new(0, t, "0:0", K::FieldByteSize)
        ),
        4
    );
    assert_eq!(
        val(&local, &target, CoreRelo::new(0, t, "0", K::TypeSize)),
        16
    );
    assert_eq!(
        val(&local, &target, CoreRelo::new(0, t, "0", K::TypeExists)),
        1
    );
}

/// A 5-bit signed bitfield at bit 35 of a 4-byte-unit struct, in both encodings.
#[test]
fn bitfields_in_both_encodings() {
    let local = build(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED, 32)?;
        b.add_struct("bits", 8, &[m("b", int, 0, 5)])?;
        Ok(())
    });
    // kind_flag encoding: width in the member's offset word.
    let kflag = build(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED, 32)?;
        let uint = b.add_int("unsigned int", 4, IntEncoding::empty(), 32)?;
        b.add_struct("bits", 8, &[m("a", uint, 0, 3), m("b", int, 35, 5)])?;
        Ok(())
    });
    // Legacy encoding: plain member offset, width in a dedicated INT's nr_bits.
    let legacy = build(|b| {
        let int5 = b.add_int("int", 4, IntEncoding::SIGNED, 5)?;
        let uint3 = b.add_int("unsigned int", 4, IntEncoding::empty(), 3)?;
        b.add_struct("bits", 8, &[m("a", uint3, 0, 0), m("b", int5, 35, 0)])?;
        Ok(())
    });
    let s = id(&local, "bits", Kind::Struct);
    for (what, target) in [("kind_flag", &kflag), ("legacy", &legacy)] {
        let v = |access: &str, k| val(&local, target, CoreRelo::new(0, s, access, k));
        // 4-byte load at byte 4 holds bits 32..64; the field is bits 35..40.
        assert_eq!(v("0:0", K::FieldByteOffset), 4, "{what}");
        assert_eq!(v("0:0", K::FieldByteSize), 4, "{what}");
        assert_eq!(v("0:0", K::FieldSigned), 1, "{what}");
        assert_eq!(v("0:0", K::FieldLshiftU64), 64 - (35 + 5 - 32), "{what}");
        assert_eq!(v("0:0", K::FieldRshiftU64), 64 - 5, "{what}");
        assert_eq!(v("0:0", K::FieldExists), 1, "{what}");
    }
}

/// `struct buf { int len; char data[]; }`: indices past a flexible array's zero length are
/// valid, on both sides.
#[test]
fn flexible_array_member() {
    let mk = |hdr_bits: u32| {
        build(move |b| {
            let int = b.add_int("int", 4, IntEncoding::SIGNED, 32)?;
            let ch = b.add_int("char", 1, IntEncoding::CHAR, 8)?;
            let arr = b.add_array(ch, int, 0)?;
            b.add_struct(
                "buf",
                hdr_bits / 8,
                &[m("len", int, 0, 0), m("data", arr, hdr_bits, 0)],
            )?;
            Ok(())
        })
    };
    let (local, target) = (mk(32), mk(64));
    let s = id(&local, "buf", Kind::Struct);
    assert_eq!(
        val(
            &local,
            &target,
            CoreRelo::new(0, s, "0:1:5", K::FieldByteOffset)
        ),
        8 + 5
    );
    // A zero-length array that is not the last member is not flexible.
    let not_last = build(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED, 32)?;
        let ch = b.add_int("char", 1, IntEncoding::CHAR, 8)?;
        let arr = b.add_array(ch, int, 0)?;
        b.add_struct("buf", 8, &[m("data", arr, 0, 0), m("len", int, 32, 0)])?;
        Ok(())
    });
    let s2 = id(&not_last, "buf", Kind::Struct);
    let r = relocate_all(
        &not_last,
        &target,
        &[CoreRelo::new(0, s2, "0:0:5", K::FieldByteOffset)],
    );
    assert!(
        matches!(r.results[0], Err(CoreError::BadSpec { .. })),
        "{:?}",
        r.results[0]
    );
}

/// The target moved `len` into an anonymous union inside an anonymous struct.
#[test]
fn members_found_through_anonymous_members() {
    let local = build(|b| {
        let uint = b.add_int("unsigned int", 4, IntEncoding::empty(), 32)?;
        b.add_struct("qstr", 8, &[m("hash", uint, 0, 0), m("len", uint, 32, 0)])?;
        Ok(())
    });
    let target = build(|b| {
        let uint = b.add_int("unsigned int", 4, IntEncoding::empty(), 32)?;
        let ull = b.add_int("long long unsigned int", 8, IntEncoding::empty(), 64)?;
        let inner = b.add_struct("", 8, &[m("hash", uint, 0, 0), m("len", uint, 32, 0)])?;
        let un = b.add_union("", 8, &[m("", inner, 0, 0), m("hash_len", ull, 0, 0)])?;
        b.add_struct("qstr", 24, &[m("name_ptr", ull, 0, 0), m("", un, 64, 0)])?;
        Ok(())
    });
    let s = id(&local, "qstr", Kind::Struct);
    let r = relocate_all(
        &local,
        &target,
        &[CoreRelo::new(0, s, "0:1", K::FieldByteOffset)],
    );
    let res = r.results[0].as_ref().unwrap();
    assert_eq!(res.new_val, 8 + 4);
    // The target path goes through both anonymous members: qstr[0] -> member 1 -> 0 -> 1.
    assert_eq!(res.target_access.as_deref(), Some("0:1:0:1"));
}

/// A 4-byte local enum against an 8-byte ENUM64 target, and a missing enumerator.
#[test]
fn enum_and_enum64_are_compatible() {
    let local = build(|b| {
        b.add_enum("mode", 4, false, &[("M_A", 1), ("M_BIG", 2), ("M_GONE", 3)])?;
        Ok(())
    });
    let target = build(|b| {
        b.add_enum("mode", 8, false, &[("M_BIG", 0x1_0000_0000), ("M_A", 7)])?;
        Ok(())
    });
    let e = id(&local, "mode", Kind::Enum);
    assert_eq!(
        val(&local, &target, CoreRelo::new(0, e, "1", K::EnumvalValue)),
        0x1_0000_0000
    );
    assert_eq!(
        val(&local, &target, CoreRelo::new(0, e, "0", K::EnumvalValue)),
        7
    );
    assert_eq!(
        val(&local, &target, CoreRelo::new(0, e, "2", K::EnumvalExists)),
        0
    );
    let r = relocate_all(
        &local,
        &target,
        &[CoreRelo::new(0, e, "2", K::EnumvalValue)],
    );
    assert!(r.results[0].as_ref().unwrap().poison);
}

/// type_matches: extra target members are fine; a pointer to a FWD matches a pointer to a
/// struct of that name; an int of another size does not match.
#[test]
fn type_matches_rules() {
    let local = build(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED, 32)?;
        let foo = b.add_struct("foo", 4, &[m("x", int, 0, 0)])?;
        let p = b.add_ptr(foo)?;
        b.add_struct("obj", 16, &[m("a", int, 0, 0), m("p", p, 64, 0)])?;
        Ok(())
    });
    let good = build(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED, 32)?;
        let fwd = b.add_fwd("foo", false)?;
        let p = b.add_ptr(fwd)?;
        b.add_struct(
            "obj",
            24,
            &[m("extra", int, 0, 0), m("a", int, 32, 0), m("p", p, 64, 0)],
        )?;
        Ok(())
    });
    let bad = build(|b| {
        let short = b.add_int("int", 2, IntEncoding::SIGNED, 16)?;
        let fwd = b.add_fwd("foo", false)?;
        let p = b.add_ptr(fwd)?;
        b.add_struct("obj", 16, &[m("a", short, 0, 0), m("p", p, 64, 0)])?;
        Ok(())
    });
    let o = id(&local, "obj", Kind::Struct);
    assert_eq!(
        val(&local, &good, CoreRelo::new(0, o, "0", K::TypeMatches)),
        1
    );
    assert_eq!(
        val(&local, &bad, CoreRelo::new(0, o, "0", K::TypeMatches)),
        0
    );
    // Existence is only about kinds: both targets have a struct obj.
    assert_eq!(
        val(&local, &bad, CoreRelo::new(0, o, "0", K::TypeExists)),
        1
    );
}

/// Two target copies of `struct task`: disagreeing offsets are an ambiguity error, unless an
/// earlier relocation of the same local type pruned the disagreeing copy (libbpf's cache).
#[test]
fn ambiguity_and_candidate_pruning() {
    let local = build(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED, 32)?;
        b.add_struct(
            "task",
            8,
            &[m("pid", int, 0, 0), m("only_in_first", int, 32, 0)],
        )?;
        Ok(())
    });
    let target = build(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED, 32)?;
        b.add_struct(
            "task",
            16,
            &[m("only_in_first", int, 0, 0), m("pid", int, 64, 0)],
        )?;
        b.add_struct("task", 16, &[m("pid", int, 96, 0)])?;
        Ok(())
    });
    let t = id(&local, "task", Kind::Struct);
    let pid = CoreRelo::new(8, t, "0:0", K::FieldByteOffset);
    let r = relocate_all(&local, &target, std::slice::from_ref(&pid));
    assert!(
        matches!(
            r.results[0],
            Err(CoreError::OffsetAmbiguity {
                first_bits: 64,
                other_bits: 96,
                ..
            })
        ),
        "{:?}",
        r.results[0]
    );

    let first = CoreRelo::new(0, t, "0:1", K::FieldByteOffset);
    let r = relocate_all(&local, &target, &[first, pid]);
    assert_eq!(r.results[0].as_ref().unwrap().new_val, 0);
    let res = r.results[1].as_ref().unwrap();
    assert_eq!((res.new_val, res.matched), (8, 1));

    // TYPE_ID_TARGET on two copies is ambiguous as in libbpf; TYPE_SIZE agrees.
    let r = relocate_all(
        &local,
        &target,
        &[
            CoreRelo::new(0, t, "0", K::TypeSize),
            CoreRelo::new(0, t, "0", K::TypeIdTarget),
        ],
    );
    assert_eq!(r.results[0].as_ref().unwrap().new_val, 16);
    assert!(matches!(
        r.results[1],
        Err(CoreError::ValueAmbiguity { .. })
    ));
}

/// Absent fields: offsets poison the instruction, existence gives 0, TYPE_ID_LOCAL needs no
/// target.
#[test]
fn absent_targets() {
    let local = build(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED, 32)?;
        b.add_struct("task", 4, &[m("gone", int, 0, 0)])?;
        b.add_struct("nowhere", 4, &[m("x", int, 0, 0)])?;
        Ok(())
    });
    let target = build(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED, 32)?;
        b.add_struct("task", 4, &[m("pid", int, 0, 0)])?;
        Ok(())
    });
    let t = id(&local, "task", Kind::Struct);
    let n = id(&local, "nowhere", Kind::Struct);
    let relos = [
        CoreRelo::new(0, t, "0:0", K::FieldByteOffset),
        CoreRelo::new(0, t, "0:0", K::FieldExists),
        CoreRelo::new(0, n, "0", K::TypeExists),
        CoreRelo::new(0, n, "0", K::TypeIdLocal),
    ];
    let r = relocate_all(&local, &target, &relos);
    assert!(r.results[0].as_ref().unwrap().poison);
    assert_eq!(r.results[1].as_ref().unwrap().new_val, 0);
    assert_eq!(r.results[2].as_ref().unwrap().new_val, 0);
    assert_eq!(r.results[3].as_ref().unwrap().new_val, u64::from(n));
}

/// Split target BTF (a module on top of vmlinux), with FWD and TYPE_TAG on the way: the
/// minimized BTF is standalone, keeps them, and relocates like the full pair.
#[test]
fn minimize_split_btf_with_fwd_and_type_tag() {
    let base = Arc::new(build(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED, 32)?;
        b.add_struct("unrelated", 4, &[m("u", int, 0, 0)])?;
        Ok(())
    }));
    let mut sb = BtfBuilder::new_split(&base);
    let fwd = sb.add_fwd("opaque", false).unwrap();
    let tagged = sb.add_type_tag("user", fwd).unwrap();
    let p = sb.add_ptr(tagged).unwrap();
    let handle = sb.add_typedef("handle_t", p).unwrap();
    let dev = sb
        .add_struct(
            "dev",
            24,
            &[
                m("id", 1, 32, 0),
                m("h", handle, 64, 0),
                m("pad", 1, 128, 0),
            ],
        )
        .unwrap();
    let _ = dev;
    let split = Btf::from_vec_split(sb.finish().unwrap(), base.clone()).unwrap();

    let local = build(|b| {
        let int = b.add_int("int", 4, IntEncoding::SIGNED, 32)?;
        // Declared only, as in the program's source.
        let op = b.add_fwd("opaque", false)?;
        let p = b.add_ptr(op)?;
        let h = b.add_typedef("handle_t", p)?;
        b.add_struct("dev", 16, &[m("id", int, 0, 0), m("h", h, 64, 0)])?;
        Ok(())
    });
    let d = id(&local, "dev", Kind::Struct);
    let h = id(&local, "handle_t", Kind::Typedef);
    let relos = [
        CoreRelo::new(0, d, "0:0", K::FieldByteOffset),
        CoreRelo::new(8, d, "0:1", K::FieldByteOffset),
        CoreRelo::new(16, h, "0", K::TypeExists),
        CoreRelo::new(24, d, "0", K::TypeSize),
    ];
    let full = relocate_all(&local, &split, &relos);
    let vals: Vec<u64> = full
        .results
        .iter()
        .map(|r| r.as_ref().unwrap().new_val)
        .collect();
    assert_eq!(vals, [4, 8, 1, 24]);

    let min = min_core_btf(&split, &local, &relos).unwrap();
    let mb = Btf::from_vec(min.btf).unwrap();
    mb.validate().unwrap();
    let again = relocate_all(&local, &mb, &relos);
    let vals2: Vec<u64> = again
        .results
        .iter()
        .map(|r| r.as_ref().unwrap().new_val)
        .collect();
    assert_eq!(vals2, vals);
    let kinds: Vec<Kind> = mb.types().map(|t| t.kind()).collect();
    assert!(
        kinds.contains(&Kind::Fwd) && kinds.contains(&Kind::TypeTag),
        "{kinds:?}"
    );
    // Only the accessed members of dev are kept; its size stays.
    let dev_min = mb.find_by_name_kind("dev", Kind::Struct).unwrap();
    match mb.type_by_id(dev_min).unwrap() {
        tracee_btf::Type::Struct(c) => {
            let names: Vec<&str> = c.members().map(|m| m.name).collect();
            assert_eq!((names, c.size()), (vec!["id", "h"], 24));
        }
        other => panic!("{other:?}"),
    }
    assert!(mb.find_by_name("unrelated").next().is_none());
}
