//! Programs, sections and license read from the fixture objects, checked against the C
//! sources (tests/fixtures/*.bpf.c) and against libbpf / llvm-readelf.

mod elf_common;

use elf_common::{fixture, libbpf_open_log, run_tool};
use tracee_bpf_obj::elf::{AttachKind, AttachType, BpfObject, ProgType};

/// (program, section, attach kind) exactly as written in progs_maps.bpf.c.
const PROGS_MAPS: &[(&str, &str, AttachKind)] = &[
    (
        "tp_openat",
        "tracepoint/syscalls/sys_enter_openat",
        AttachKind::Tracepoint,
    ),
    (
        "tp_exec",
        "tp/sched/sched_process_exec",
        AttachKind::Tracepoint,
    ),
    (
        "raw_sys_enter",
        "raw_tp/sys_enter",
        AttachKind::RawTracepoint,
    ),
    (
        "raw_sched_switch",
        "raw_tracepoint/sched_switch",
        AttachKind::RawTracepoint,
    ),
    (
        "raw_sys_exit_a",
        "raw_tp/sys_exit",
        AttachKind::RawTracepoint,
    ),
    (
        "raw_sys_exit_b",
        "raw_tp/sys_exit",
        AttachKind::RawTracepoint,
    ),
    ("btf_fork", "tp_btf/sched_process_fork", AttachKind::TpBtf),
    ("kp_openat2", "kprobe/do_sys_openat2", AttachKind::Kprobe),
    (
        "krp_openat2",
        "kretprobe/do_sys_openat2",
        AttachKind::Kretprobe,
    ),
    ("ksys_execve", "ksyscall/execve", AttachKind::Ksyscall),
    ("up_malloc", "uprobe/libc.so.6:malloc", AttachKind::Uprobe),
    ("urp_any", "uretprobe", AttachKind::Uretprobe),
    ("upm", "uprobe.multi", AttachKind::UprobeMulti),
    ("fe_unlinkat", "fentry/do_unlinkat", AttachKind::Fentry),
    ("fx_unlinkat", "fexit/do_unlinkat", AttachKind::Fexit),
    (
        "fmr_file_open",
        "fmod_ret/security_file_open",
        AttachKind::FmodRet,
    ),
    ("lsm_file_open", "lsm/file_open", AttachKind::Lsm),
    ("lsm_s_bprm", "lsm.s/bprm_check_security", AttachKind::Lsm),
    ("on_perf", "perf_event", AttachKind::PerfEvent),
    ("it_task", "iter/task", AttachKind::Iter),
    ("sock_filter", "socket", AttachKind::Socket),
    ("xdp_pass", "xdp", AttachKind::Xdp),
    ("tc_ingress", "tc", AttachKind::Tc),
    ("cg_skb_in", "cgroup_skb/ingress", AttachKind::Cgroup),
    ("cg_connect4", "cgroup/connect4", AttachKind::Cgroup),
    ("sys_prog", "syscall", AttachKind::Syscall),
    (
        "optional_exit",
        "?tp_btf/sched_process_exit",
        AttachKind::TpBtf,
    ),
    ("tail_target", "raw_tp/sys_enter", AttachKind::RawTracepoint),
    (
        "unknown_section",
        "perf_event_output_user",
        AttachKind::Unknown,
    ),
];

#[test]
fn programs_match_the_source() {
    let obj = BpfObject::from_path(fixture("progs_maps.bpf.o")).expect("parse");
    assert_eq!(obj.name(), "progs_maps");
    assert_eq!(obj.license(), Some("Dual BSD/GPL"));
    let got: Vec<(&str, &str, AttachKind)> = obj
        .programs()
        .iter()
        .map(|p| (p.name.as_str(), p.section.as_str(), p.attach_kind()))
        .collect();
    let mut want = PROGS_MAPS.to_vec();
    let mut got_sorted = got.clone();
    want.sort();
    got_sorted.sort();
    assert_eq!(got_sorted, want);

    // The static helper `record` lives in .text: a subprogram, not a program.
    assert!(obj.program("record").is_none());
    let record = obj
        .functions()
        .iter()
        .find(|f| f.name == "record")
        .expect("record in functions()");
    assert_eq!(obj.sections()[record.section_index].name, ".text");

    // Section-table facts libbpf attaches to the kinds.
    let p = |n: &str| obj.program(n).unwrap_or_else(|| panic!("program {n}"));
    assert_eq!(p("btf_fork").def.prog_type, ProgType::TRACING);
    assert_eq!(
        p("btf_fork").def.expected_attach_type,
        Some(AttachType::TRACE_RAW_TP)
    );
    assert!(p("btf_fork").def.attach_btf);
    assert!(p("lsm_s_bprm").def.sleepable && !p("lsm_file_open").def.sleepable);
    assert_eq!(
        p("tp_openat").def.tracepoint(),
        Some(("syscalls", "sys_enter_openat"))
    );
    assert_eq!(p("kp_openat2").def.kprobe(), Some(("do_sys_openat2", 0)));
    let up = p("up_malloc").def.uprobe().expect("uprobe target");
    assert_eq!((up.binary, up.func, up.offset), ("libc.so.6", "malloc", 0));
    assert_eq!(
        p("cg_connect4").def.expected_attach_type,
        Some(AttachType::CGROUP_INET4_CONNECT)
    );
    assert_eq!(p("unknown_section").def.prog_type, ProgType::UNSPEC);
    // '?' in front of the section name: known kind, autoload off.
    assert!(!p("optional_exit").def.autoload && p("btf_fork").def.autoload);
    assert_eq!(
        p("optional_exit").def.target.as_deref(),
        Some("sched_process_exit")
    );
}

#[test]
fn every_program_ends_with_exit() {
    for name in [
        "progs_maps.bpf.o",
        "core_relos.bpf.o",
        "legacy_maps.bpf.o",
        "core_relos.bpfeb.o",
    ] {
        let obj = BpfObject::from_path(fixture(name)).expect("parse");
        assert!(!obj.programs().is_empty(), "{name}: no programs");
        for p in obj.programs() {
            let insns = obj.program_instructions(p).expect("instructions in file");
            assert_eq!(insns.len(), p.insn_count * 8);
            // BPF_JMP | BPF_EXIT = 0x95 is the opcode byte of the last instruction.
            assert_eq!(
                insns[insns.len() - 8],
                0x95,
                "{name}: {} does not end with exit",
                p.name
            );
        }
    }
}

#[test]
fn programs_match_libbpf() {
    for name in ["progs_maps.bpf.o", "core_relos.bpf.o"] {
        let Some(log) = libbpf_open_log(name) else {
            return;
        };
        // libbpf: sec 'raw_tp/sys_enter': found program 'raw_sys_enter' at insn offset 0 (0 bytes), code size 7 insns (56 bytes)
        let mut libbpf: Vec<(String, String, usize, usize)> = Vec::new();
        for line in log.lines() {
            let Some(rest) = line.strip_prefix("libbpf: sec '") else {
                continue;
            };
            let Some((sec, rest)) = rest.split_once("': found program '") else {
                continue;
            };
            let (prog, rest) = rest.split_once("' at insn offset ").expect("offset");
            let (off, rest) = rest.split_once(' ').expect("offset number");
            let size = rest
                .split("code size ")
                .nth(1)
                .and_then(|s| s.split(' ').next())
                .expect("size");
            if sec == ".text" {
                continue; // subprograms
            }
            libbpf.push((
                sec.into(),
                prog.into(),
                off.parse().expect("off"),
                size.parse().expect("size"),
            ));
        }
        let obj = BpfObject::from_path(fixture(name)).expect("parse");
        let mut ours: Vec<(String, String, usize, usize)> = obj
            .programs()
            .iter()
            .map(|p| {
                (
                    p.section.clone(),
                    p.name.clone(),
                    (p.offset / 8) as usize,
                    p.insn_count,
                )
            })
            .collect();
        libbpf.sort();
        ours.sort();
        assert_eq!(ours, libbpf, "{name}: programs differ from libbpf's");
    }
}

#[test]
fn sections_match_llvm_readelf() {
    let path = fixture("progs_maps.bpf.o");
    let Some((out, _)) = run_tool(
        "llvm-readelf-16",
        &["-S", "-W", path.to_str().expect("utf-8 path")],
    ) else {
        return;
    };
    // "  [ 3] raw_tp/sys_enter  PROGBITS  0000000000000000 000120 000038 00  AX  0   0  8"
    let mut readelf: Vec<(usize, String, u64)> = Vec::new();
    for line in out.lines() {
        let Some(rest) = line.trim_start().strip_prefix('[') else {
            continue;
        };
        let Some((idx, rest)) = rest.split_once(']') else {
            continue;
        };
        let Ok(idx) = idx.trim().parse::<usize>() else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if idx == 0 {
            readelf.push((0, String::new(), 0));
            continue;
        }
        let size = u64::from_str_radix(fields[4], 16).expect("hex size");
        readelf.push((idx, fields[0].to_string(), size));
    }
    let obj = BpfObject::from_path(&path).expect("parse");
    let ours: Vec<(usize, String, u64)> = obj
        .sections()
        .iter()
        .map(|s| (s.index, s.name.clone(), s.size))
        .collect();
    assert_eq!(ours, readelf);
}

#[test]
fn legacy_version_and_bytes_entry_points() {
    let bytes = elf_common::fixture_bytes("legacy_maps.bpf.o");
    let obj = BpfObject::from_bytes(&bytes).expect("parse");
    assert_eq!(obj.kernel_version(), Some(0x060c00));
    assert_eq!(obj.license(), Some("GPL"));
    assert_eq!(obj.name(), "");
    assert_eq!(obj.bytes(), &bytes[..]);
    // An unaligned copy parses the same (the reader realigns internally).
    let mut shifted = vec![0u8; bytes.len() + 1];
    shifted[1..].copy_from_slice(&bytes);
    let again = BpfObject::from_bytes(&shifted[1..]).expect("parse unaligned");
    assert_eq!(again.programs(), obj.programs());
    let named = BpfObject::from_vec(bytes, "legacy").expect("parse");
    assert_eq!(named.name(), "legacy");
}

#[test]
fn big_endian_object_has_the_same_programs() {
    let le = BpfObject::from_path(fixture("core_relos.bpf.o")).expect("parse le");
    let be = BpfObject::from_path(fixture("core_relos.bpfeb.o")).expect("parse be");
    assert!(!le.is_big_endian() && be.is_big_endian());
    assert_eq!(le.programs(), be.programs());
}
