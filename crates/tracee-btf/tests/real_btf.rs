//! tracee-btf against real kernels' BTF: this machine's vmlinux and the btfhub samples, each
//! checked against `bpftool btf dump file`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{bpftool_dump, bpftool_member_bits, raw_btf, testdata_files};
use tracee_btf::{Btf, BtfBuilder, Kind, Type, SYSFS_VMLINUX};

/// Checks one BTF against bpftool's dump of the same bytes: type count, kinds, every type's
/// kind and name, `task_struct` and its `pid` member, and the byte-identical round trip.
fn check_against_bpftool(label: &str, raw: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vmlinux.btf");
    std::fs::write(&file, raw).unwrap();
    let dump = bpftool_dump(&file, None);
    let btf = Btf::from_file(&file).unwrap_or_else(|e| panic!("{label}: {e}"));

    assert_eq!(
        u64::from(btf.type_count()),
        dump.types,
        "{label}: type count"
    );
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    for t in btf.types() {
        *kinds.entry(t.kind().name().to_string()).or_default() += 1;
        let (kind, name) = &dump.headers[&t.id()];
        assert_eq!(
            (t.kind().name(), t.name()),
            (kind.as_str(), name.as_str()),
            "{label}: type {}",
            t.id()
        );
    }
    assert_eq!(kinds, dump.kinds, "{label}: counts per kind");

    let ts = btf
        .find_by_name_kind("task_struct", Kind::Struct)
        .unwrap_or_else(|| panic!("{label}: no task_struct"));
    let first_in_dump = dump
        .headers
        .iter()
        .find(|(_, (k, n))| k == "STRUCT" && n == "task_struct")
        .map(|(id, _)| *id);
    assert_eq!(Some(ts), first_in_dump, "{label}: task_struct id");
    let pid = btf.member_offset_bits(ts, "pid").unwrap();
    assert!(pid.is_some(), "{label}: task_struct.pid");
    assert_eq!(
        pid,
        bpftool_member_bits(&dump, ts, "pid"),
        "{label}: task_struct.pid offset"
    );
    match btf.type_by_id(ts).unwrap() {
        Type::Struct(s) => assert!(s.members().any(|m| m.name == "pid")),
        other => panic!("{label}: task_struct is {other:?}"),
    }

    // Every name bpftool shows is found by the index, and a made-up one is not.
    for (id, (_, name)) in dump.headers.iter().step_by(97) {
        if !name.is_empty() {
            assert!(
                btf.find_by_name(name).any(|i| i == *id),
                "{label}: find_by_name({name})"
            );
        }
    }
    assert_eq!(btf.find_by_name("no_such_type_in_any_kernel").next(), None);

    let written = BtfBuilder::from_btf(&btf).unwrap().finish().unwrap();
    assert!(written == raw, "{label}: parse→write is not byte-identical");
    btf.validate()
        .unwrap_or_else(|e| panic!("{label}: validate: {e}"));
}

#[test]
fn this_machines_vmlinux_matches_bpftool() {
    let path = Path::new(SYSFS_VMLINUX);
    if !path.exists() {
        assert!(
            std::env::var_os("TRACEE_REQUIRE_BPF").is_none(),
            "{SYSFS_VMLINUX} is missing"
        );
        eprintln!("skipped: {SYSFS_VMLINUX} does not exist on this machine");
        return;
    }
    let raw = std::fs::read(path).unwrap();
    check_against_bpftool("vmlinux", &raw);
    // The sysfs path itself (memory-mapped where the kernel allows it) reads the same.
    let btf = Btf::from_sysfs().unwrap();
    assert_eq!(btf.raw_bytes(), &raw[..]);
}

#[test]
fn btfhub_samples_match_bpftool() {
    for archive in testdata_files() {
        let label = archive.display().to_string();
        let raw = raw_btf(&archive);
        check_against_bpftool(&label, &raw);
        // Opening the archive directly gives the same BTF.
        let direct = Btf::from_file(&archive).unwrap();
        assert_eq!(
            direct.raw_bytes(),
            &raw[..],
            "{label}: from_file on the archive"
        );
    }
}

#[test]
fn gzip_files_open_directly() {
    use std::io::Write;
    let archive = &testdata_files()[0];
    let raw = raw_btf(archive);
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("kernel.btf.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&raw).unwrap();
    enc.finish().unwrap();
    let btf = Btf::from_file(&gz).unwrap();
    assert_eq!(btf.raw_bytes(), &raw[..]);
}

#[test]
fn split_btf_continues_its_base_and_bpftool_reads_it() {
    let archive = &testdata_files()[0];
    let raw = raw_btf(archive);
    let dir = tempfile::tempdir().unwrap();
    let base_file = dir.path().join("base.btf");
    std::fs::write(&base_file, &raw).unwrap();
    let base = std::sync::Arc::new(Btf::from_vec(raw).unwrap());
    let ts = base.find_by_name_kind("task_struct", Kind::Struct).unwrap();
    let int = base.find_by_name_kind("int", Kind::Int).unwrap();

    // A module-like split BTF: new types referring to base types, base strings reused.
    let mut b = BtfBuilder::new_split(&base);
    let ptr = b.add_ptr(ts).unwrap();
    let s = b
        .add_struct(
            "tracee_module_ctx",
            16,
            &[
                tracee_btf::writer::MemberSpec {
                    name: "task",
                    type_id: ptr,
                    bit_offset: 0,
                    bitfield_size: 0,
                },
                tracee_btf::writer::MemberSpec {
                    name: "pid",
                    type_id: int,
                    bit_offset: 64,
                    bitfield_size: 0,
                },
            ],
        )
        .unwrap();
    let split_bytes = b.finish().unwrap();
    let split_file = dir.path().join("module.btf");
    std::fs::write(&split_file, &split_bytes).unwrap();

    let split = Btf::from_vec_split(split_bytes.clone(), base.clone()).unwrap();
    assert_eq!(split.first_id(), base.last_id() + 1);
    assert_eq!(split.type_count(), 2);
    assert_eq!(s, base.last_id() + 2);
    assert_eq!(
        split.find_by_name_kind("tracee_module_ctx", Kind::Struct),
        Some(s)
    );
    // Base names are found through the split BTF too, and its types resolve into the base.
    assert_eq!(
        split.find_by_name_kind("task_struct", Kind::Struct),
        Some(ts)
    );
    assert_eq!(split.member_offset_bits(s, "pid").unwrap(), Some(64));
    let Type::Struct(st) = split.type_by_id(s).unwrap() else {
        panic!()
    };
    let task = st.members().next().unwrap();
    let Type::Ptr(p) = split.type_by_id(task.type_id).unwrap() else {
        panic!()
    };
    assert_eq!(split.type_by_id(p.type_id()).unwrap().name(), "task_struct");
    split.validate().unwrap();

    let dump = bpftool_dump(&split_file, Some(&base_file));
    assert_eq!(
        dump.headers.get(&s),
        Some(&("STRUCT".to_string(), "tracee_module_ctx".to_string()))
    );
    assert_eq!(bpftool_member_bits(&dump, s, "pid"), Some(64));

    // Round trip of the split BTF itself.
    assert_eq!(
        BtfBuilder::from_btf(&split).unwrap().finish().unwrap(),
        split_bytes
    );
}
