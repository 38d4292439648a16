//! Map definitions read from the fixtures, checked against the C source and against
//! libbpf's own parse of the same object (`bpftool -d gen skeleton` log).

mod elf_common;

use std::collections::BTreeMap;

use elf_common::{fixture, libbpf_open_log};
use tracee_bpf_obj::elf::{
    BpfObject, ExternKind, MapOrigin, MapType, Pinning, BPF_F_MMAPABLE, BPF_F_RDONLY_PROG,
};

#[test]
fn btf_defined_maps_match_the_source() {
    let obj = BpfObject::from_path(fixture("progs_maps.bpf.o")).expect("parse");
    let m = |n: &str| obj.map(n).unwrap_or_else(|| panic!("map {n}"));
    // (name, type, key, value, max_entries, flags) as declared in progs_maps.bpf.c
    let want = [
        ("pid_hash", MapType::HASH, 4, 8, 10240, 1),
        ("config_array", MapType::ARRAY, 4, 24, 16, 0),
        ("drop_counter", MapType::PERCPU_ARRAY, 4, 8, 1, 0),
        ("events", MapType::RINGBUF, 0, 0, 256 * 1024, 0),
        ("perf_events", MapType::PERF_EVENT_ARRAY, 4, 4, 0, 0),
        ("inner_a", MapType::ARRAY, 4, 4, 4, 0),
        ("inner_b", MapType::ARRAY, 4, 4, 4, 0),
        ("outer_hash", MapType::HASH_OF_MAPS, 4, 4, 8, 0),
    ];
    for (name, ty, key, value, max, flags) in want {
        let d = m(name);
        assert_eq!(
            (
                d.map_type,
                d.key_size,
                d.value_size,
                d.max_entries,
                d.map_flags,
                d.origin,
                d.section.as_str()
            ),
            (ty, key, value, max, flags, MapOrigin::BtfDefined, ".maps"),
            "map {name}"
        );
    }
    assert_eq!(m("config_array").pinning, Pinning::ByName);
    assert_eq!(m("pid_hash").pinning, Pinning::None);

    // `__type(value, struct event)` keeps the BTF id of struct event.
    let btf = obj.btf().expect(".BTF");
    let value = m("config_array").value_type_id.expect("value type");
    assert_eq!(btf.type_by_id(value).expect("type").name(), "event");

    // map-in-map: inner template and the two statically initialised slots.
    let outer = m("outer_hash");
    let inner = outer.inner.as_deref().expect("inner map");
    assert_eq!(
        (inner.name.as_str(), inner.map_type, inner.max_entries),
        ("outer_hash.inner", MapType::ARRAY, 4)
    );
    assert_eq!(inner.origin, MapOrigin::Inner);
    // prog array: value is a 4-byte prog fd, slot 1 holds tail_target.
    let jmp = m("jmp_table");
    assert_eq!(
        (jmp.map_type, jmp.key_size, jmp.value_size, jmp.max_entries),
        (MapType::PROG_ARRAY, 4, 4, 4)
    );
    assert_eq!(jmp.init_slots.len(), 1);
    assert_eq!(
        (jmp.init_slots[0].index, jmp.init_slots[0].target.as_str()),
        (1, "tail_target")
    );
    assert!(jmp.inner.is_none());

    let slots: Vec<(u32, &str)> = outer
        .init_slots
        .iter()
        .map(|s| (s.index, s.target.as_str()))
        .collect();
    assert_eq!(slots, [(0, "inner_a"), (3, "inner_b")]);

    // Global data: .rodata is read-only for programs, all are mmapable one-element arrays.
    let rodata = m(".rodata");
    assert_eq!(
        (rodata.origin, rodata.map_type, rodata.value_size),
        (MapOrigin::GlobalData, MapType::ARRAY, 4)
    );
    assert_eq!(rodata.map_flags, BPF_F_MMAPABLE | BPF_F_RDONLY_PROG);
    assert_eq!(m(".data").map_flags, BPF_F_MMAPABLE);
    assert_eq!(m(".bss").value_size, 16); // zeroed + out_kconfig
    let rodata_sec = rodata.value_type_id.expect("rodata DATASEC");
    assert_eq!(btf.type_by_id(rodata_sec).expect("type").name(), ".rodata");
}

#[test]
fn legacy_maps_section() {
    let obj = BpfObject::from_path(fixture("legacy_maps.bpf.o")).expect("parse");
    let got: Vec<_> = obj
        .maps()
        .iter()
        .map(|m| {
            (
                m.name.as_str(),
                m.origin,
                m.map_type,
                m.key_size,
                m.value_size,
                m.max_entries,
                m.map_flags,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "legacy_hash",
                MapOrigin::Legacy,
                MapType::HASH,
                4,
                8,
                128,
                1
            ),
            (
                "legacy_array",
                MapOrigin::Legacy,
                MapType::ARRAY,
                4,
                64,
                2,
                0
            ),
        ]
    );
}

/// Every attribute libbpf reports finding ("map 'x': found max_entries = 8.") equals ours.
#[test]
fn maps_match_libbpf() {
    let Some(log) = libbpf_open_log("progs_maps.bpf.o") else {
        return;
    };
    let obj = BpfObject::from_path(fixture("progs_maps.bpf.o")).expect("parse");
    let mut all = Vec::new();
    for m in obj.maps() {
        all.push(m);
        if let Some(inner) = &m.inner {
            all.push(inner);
        }
    }
    let mut checked = 0;
    let mut seen = BTreeMap::new();
    for line in log.lines() {
        let Some(rest) = line.strip_prefix("libbpf: map '") else {
            continue;
        };
        let Some((name, rest)) = rest.split_once("': found ") else {
            continue;
        };
        let Some((attr, value)) = rest.trim_end_matches('.').split_once(" = ") else {
            continue;
        };
        let m = all
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("libbpf found map {name}, we did not"));
        let num = |s: &str| -> u64 {
            match s.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).expect("hex"),
                None => s.parse().expect("number"),
            }
        };
        match attr {
            "type" => assert_eq!(u64::from(m.map_type.0), num(value), "{name} type"),
            "max_entries" => assert_eq!(u64::from(m.max_entries), num(value), "{name} max_entries"),
            "map_flags" => assert_eq!(u64::from(m.map_flags), num(value), "{name} map_flags"),
            "key_size" => assert_eq!(u64::from(m.key_size), num(value), "{name} key_size"),
            "value_size" => assert_eq!(u64::from(m.value_size), num(value), "{name} value_size"),
            "pinning" => assert_eq!(
                m.pinning == Pinning::ByName,
                num(value) == 1,
                "{name} pinning"
            ),
            // "key [8], sz = 4": the type id, then the size
            other if other.starts_with("key [") || other.starts_with("value [") => {
                let id: u32 = other
                    .split('[')
                    .nth(1)
                    .and_then(|s| s.split(']').next())
                    .expect("id")
                    .parse()
                    .expect("id");
                let (tid, size) = if other.starts_with("key") {
                    (m.key_type_id, m.key_size)
                } else {
                    (m.value_type_id, m.value_size)
                };
                assert_eq!(tid, Some(id), "{name} {other}");
                assert_eq!(u64::from(size), num(value), "{name} {other} size");
            }
            _ => continue,
        }
        *seen.entry(name.to_string()).or_insert(0) += 1;
        checked += 1;
    }
    assert!(
        checked >= 30,
        "only {checked} libbpf map facts compared: {seen:?}"
    );
    // libbpf's ".maps relo #0: map 'outer_hash' slot [0] points to map 'inner_a'"
    let mut slots = 0;
    for line in log
        .lines()
        .filter(|l| l.contains(".maps relo #") && l.contains(" slot ["))
    {
        let map = line
            .split("map '")
            .nth(1)
            .and_then(|s| s.split('\'').next())
            .expect("map");
        let slot: u32 = line
            .split("slot [")
            .nth(1)
            .and_then(|s| s.split(']').next())
            .expect("slot")
            .parse()
            .expect("n");
        // "... points to map 'inner_a'" or "... points to prog 'tail_target'"
        let target = line.rsplit('\'').nth(1).expect("target");
        let m = obj.map(map).expect("map");
        assert!(
            m.init_slots
                .iter()
                .any(|s| s.index == slot && s.target == target),
            "{line}"
        );
        slots += 1;
    }
    assert_eq!(
        slots, 3,
        "libbpf reports two outer_hash slots and one jmp_table slot"
    );
    // Global data: "map 'progs_ma.rodata' (global data): at sec_idx 37, offset 0, flags 480."
    let mut globals = 0;
    for line in log.lines().filter(|l| l.contains("(global data)")) {
        globals += 1;
        let name = line
            .split("map '")
            .nth(1)
            .and_then(|s| s.split('\'').next())
            .expect("name");
        let section = &name[name.find('.').expect("dot")..];
        let flags = line
            .rsplit("flags ")
            .next()
            .expect("flags")
            .trim_end_matches('.');
        let m = obj
            .map(section)
            .unwrap_or_else(|| panic!("global data map {section}"));
        assert_eq!(
            m.map_flags,
            u32::from_str_radix(flags, 16).expect("hex flags"),
            "{section}"
        );
    }
    assert_eq!(globals, 4, ".rodata, .data, .bss and .kconfig");
}

#[test]
fn externs_match_the_source_and_libbpf() {
    let obj = BpfObject::from_path(fixture("progs_maps.bpf.o")).expect("parse");
    type Row<'a> = (&'a str, ExternKind, bool, Option<u32>, Option<u32>);
    let got: Vec<Row> = obj
        .externs()
        .iter()
        .map(|e| {
            (
                e.name.as_str(),
                e.kind,
                e.weak,
                e.kconfig_offset,
                e.kconfig_size,
            )
        })
        .collect();
    // Declared in progs_maps.bpf.c; kconfig layout: 8-byte CONFIG_HZ first (alignment desc),
    // then the 4-byte version, then 1-aligned bool (size 1) and char[16] (size 16).
    assert_eq!(
        got,
        [
            ("CONFIG_HZ", ExternKind::Kconfig, true, Some(0), Some(8)),
            (
                "LINUX_KERNEL_VERSION",
                ExternKind::Kconfig,
                false,
                Some(8),
                Some(4)
            ),
            (
                "CONFIG_BPF_SYSCALL",
                ExternKind::Kconfig,
                true,
                Some(12),
                Some(1)
            ),
            (
                "CONFIG_DEFAULT_HOSTNAME",
                ExternKind::Kconfig,
                true,
                Some(13),
                Some(16)
            ),
            ("bpf_prog_active", ExternKind::Ksym, false, None, None),
            ("bpf_task_acquire", ExternKind::Ksym, true, None, None),
        ]
    );
    let kconfig = obj.map(".kconfig").expect(".kconfig map");
    assert_eq!(
        (kconfig.value_size, kconfig.map_flags),
        (29, BPF_F_MMAPABLE | BPF_F_RDONLY_PROG)
    );

    // libbpf: "extern (kcfg) #0: symbol 74, off 0, name CONFIG_HZ", "extern (ksym) #4: symbol 75, name bpf_prog_active"
    let Some(log) = libbpf_open_log("progs_maps.bpf.o") else {
        return;
    };
    let mut libbpf = Vec::new();
    for line in log.lines() {
        let Some(rest) = line.strip_prefix("libbpf: extern (") else {
            continue;
        };
        let kind = if rest.starts_with("kcfg") {
            ExternKind::Kconfig
        } else {
            ExternKind::Ksym
        };
        let name = rest.rsplit("name ").next().expect("name").to_string();
        let off = rest
            .split("off ")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .map(|s| s.parse::<u32>().expect("off"));
        libbpf.push((name, kind, off));
    }
    let mut ours: Vec<(String, ExternKind, Option<u32>)> = obj
        .externs()
        .iter()
        .map(|e| (e.name.clone(), e.kind, e.kconfig_offset))
        .collect();
    libbpf.sort();
    ours.sort();
    assert_eq!(ours, libbpf);
}

#[test]
fn object_without_btf() {
    // legacy_maps.nobtf.o is built without -g: no .BTF, no .BTF.ext.
    let obj = BpfObject::from_path(fixture("legacy_maps.nobtf.o")).expect("parse");
    assert!(obj.btf().is_none() && obj.btf_ext().is_none());
    assert!(obj.core_relos().is_empty() && obj.func_infos().is_empty() && obj.externs().is_empty());
    let names: Vec<&str> = obj.maps().iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["legacy_hash", "legacy_array"]);
    assert_eq!(obj.programs().len(), 1);
    assert_eq!(obj.programs()[0].name, "legacy_prog");
}
