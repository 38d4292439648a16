//! CO-RE relocations of all 13 kinds, checked against the access paths written in
//! tests/fixtures/core_relos.bpf.c and against libbpf's rendering of the same records.

mod elf_common;

use elf_common::{fixture, libbpf_core_specs};
use tracee_bpf_obj::elf::{BpfObject, CoreReloKind as K};

/// (function, kind, access path) per relocation, in the order clang emits them, read off
/// core_relos.bpf.c.
const EXPECTED: &[(&str, K, &str)] = &[
    (
        "field_offsets",
        K::FieldByteOffset,
        "struct task_struct.pid",
    ),
    (
        "field_offsets",
        K::FieldByteOffset,
        "struct task_struct.real_parent",
    ),
    (
        "field_offsets",
        K::FieldByteOffset,
        "struct task_struct.tgid",
    ),
    (
        "field_offsets",
        K::FieldByteOffset,
        "struct task_struct.comm[3]",
    ),
    (
        "nested_and_anon",
        K::FieldByteOffset,
        "struct file.f_path.dentry",
    ),
    (
        "nested_and_anon",
        K::FieldByteOffset,
        "struct dentry.d_name.len",
    ),
    (
        "field_size_exists",
        K::FieldByteSize,
        "struct task_struct.comm",
    ),
    ("field_size_exists", K::FieldExists, "struct task_struct.mm"),
    (
        "bitfields",
        K::FieldByteOffset,
        "struct task_struct.in_execve",
    ),
    (
        "bitfields",
        K::FieldByteSize,
        "struct task_struct.in_execve",
    ),
    (
        "bitfields",
        K::FieldLshiftU64,
        "struct task_struct.in_execve",
    ),
    (
        "bitfields",
        K::FieldSigned,
        "struct task_struct.exit_signal_bits",
    ),
    (
        "bitfields",
        K::FieldRshiftU64,
        "struct task_struct.exit_signal_bits",
    ),
    (
        "bitfields",
        K::FieldRshiftU64,
        "struct task_struct.in_execve",
    ),
    ("types", K::TypeIdLocal, "struct task_struct"),
    ("types", K::TypeIdTarget, "struct mm_struct"),
    ("types", K::TypeExists, "struct dentry"),
    ("types", K::TypeSize, "struct file"),
    ("types", K::TypeMatches, "struct path"),
    ("enums", K::EnumvalExists, "enum pid_type::PIDTYPE_TGID"),
    ("enums", K::EnumvalValue, "enum pid_type::PIDTYPE_SID"),
];

#[test]
fn all_13_kinds_with_source_access_paths() {
    let obj = BpfObject::from_path(fixture("core_relos.bpf.o")).expect("parse");
    let got: Vec<(&str, K, String)> = obj
        .core_relos()
        .iter()
        .map(|r| {
            (
                r.function.as_deref().unwrap_or("?"),
                r.kind(),
                r.spec.access_path(),
            )
        })
        .collect();
    let want: Vec<(&str, K, String)> = EXPECTED
        .iter()
        .map(|(f, k, p)| (*f, *k, p.to_string()))
        .collect();
    assert_eq!(got, want);
    for kind in K::ALL {
        assert!(
            obj.core_relos_of(kind).next().is_some(),
            "no {kind} relocation"
        );
    }
}

#[test]
fn spec_details_from_the_source_layout() {
    let obj = BpfObject::from_path(fixture("core_relos.bpf.o")).expect("parse");
    let btf = obj.btf().expect(".BTF");
    let find = |path: &str, kind: K| {
        obj.core_relos()
            .iter()
            .find(|r| r.kind() == kind && r.spec.access_path() == path)
            .unwrap_or_else(|| panic!("{kind} {path}"))
    };
    // comm is member 10 of mini task_struct (4 bitfields share one word): "0:10:3", byte 40 + 3.
    let comm3 = find("struct task_struct.comm[3]", K::FieldByteOffset);
    assert_eq!(comm3.access, "0:10:3");
    assert_eq!(comm3.spec.raw, [0, 10, 3]);
    assert_eq!(comm3.spec.bit_offset, 43 * 8);
    assert_eq!(comm3.spec.field_names(), ["comm"]);
    // Cross-check the bit offset with the BTF member offset API.
    let ts = btf
        .find_by_name_kind("task_struct", tracee_btf::Kind::Struct)
        .expect("task_struct");
    assert_eq!(comm3.spec.root_type_id, ts);
    assert_eq!(
        btf.member_offset_bits(ts, "comm").expect("btf"),
        Some(40 * 8)
    );

    // Anonymous union/struct members are walked (raw has 5 indices) but not named.
    let len = find("struct dentry.d_name.len", K::FieldByteOffset);
    assert_eq!(len.spec.raw, [0, 2, 0, 0, 1]);
    assert_eq!(len.spec.field_names(), ["d_name", "len"]);
    assert_eq!(len.spec.bit_offset, 20 * 8);

    // Bitfield: in_execve is bit 2 of the word at byte 8.
    let bf = find("struct task_struct.in_execve", K::FieldLshiftU64);
    assert_eq!(bf.spec.bit_offset, 8 * 8 + 2);
    assert_eq!(
        bf.spec.to_string(),
        format!("<lshift_u64> [{ts}] struct task_struct.in_execve (0:4 @ offset 8.2)")
    );

    // Enumerators carry their local value.
    let sid = find("enum pid_type::PIDTYPE_SID", K::EnumvalValue);
    assert_eq!(sid.spec.enum_value, Some(3));
    assert_eq!(sid.access, "3");

    // Type-based kinds: access "0", root resolved by id.
    let tm = find("struct path", K::TypeMatches);
    assert_eq!(tm.access, "0");
    assert_eq!(btf.type_by_id(tm.type_id()).expect("type").name(), "path");
    assert_eq!(tm.section, "tracepoint/syscalls/sys_enter_execve");
}

/// Our rendering of every spec is byte-identical to libbpf's, record for record.
#[test]
fn specs_match_libbpf() {
    let Some(libbpf) = libbpf_core_specs("core_relos.bpf.o") else {
        return;
    };
    let obj = BpfObject::from_path(fixture("core_relos.bpf.o")).expect("parse");
    let ours: Vec<(String, String)> = obj
        .core_relos()
        .iter()
        .map(|r| (r.section.clone(), r.spec.to_string()))
        .collect();
    assert_eq!(ours, libbpf);
    assert_eq!(ours.len(), 21);
}

#[test]
fn big_endian_object_decodes_identically() {
    let le = BpfObject::from_path(fixture("core_relos.bpf.o")).expect("parse le");
    let be = BpfObject::from_path(fixture("core_relos.bpfeb.o")).expect("parse be");
    assert!(be.btf().expect("btf").is_big_endian());
    let specs = |o: &BpfObject| -> Vec<String> {
        o.core_relos()
            .iter()
            .map(|r| r.spec.access_path())
            .collect()
    };
    assert_eq!(specs(&le), specs(&be));
    assert_eq!(le.func_infos(), be.func_infos());
}

#[test]
fn kind_numbers_and_names_follow_libbpf() {
    let names: Vec<(u32, &str, &str)> = K::ALL
        .iter()
        .map(|k| (k.raw(), k.const_name(), k.libbpf_name()))
        .collect();
    assert_eq!(
        names,
        [
            (0, "FIELD_BYTE_OFFSET", "byte_off"),
            (1, "FIELD_BYTE_SIZE", "byte_sz"),
            (2, "FIELD_EXISTS", "field_exists"),
            (3, "FIELD_SIGNED", "signed"),
            (4, "FIELD_LSHIFT_U64", "lshift_u64"),
            (5, "FIELD_RSHIFT_U64", "rshift_u64"),
            (6, "TYPE_ID_LOCAL", "local_type_id"),
            (7, "TYPE_ID_TARGET", "target_type_id"),
            (8, "TYPE_EXISTS", "type_exists"),
            (9, "TYPE_SIZE", "type_size"),
            (10, "ENUMVAL_EXISTS", "enumval_exists"),
            (11, "ENUMVAL_VALUE", "enumval_value"),
            (12, "TYPE_MATCHES", "type_matches"),
        ]
    );
    for k in K::ALL {
        assert_eq!(K::from_raw(k.raw()), Some(k));
    }
    assert_eq!(K::from_raw(13), None);
}
