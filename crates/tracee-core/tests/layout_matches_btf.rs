//! Every hand-written Rust twin of a C struct the kernel and userspace share (map keys and
//! values, the event header) has, member by member, the offset and size of the C definition
//! as compiled into the committed objects' `.BTF`; and the `#define`d constants the Rust side
//! mirrors have the C values. `bpf/layout.bpf.h` puts all of them into the BTF (the
//! constants as `enum tr_layout_const`, `LAYOUT_<name> = <name>`).
//!
//! Coverage is checked both ways, so a twin cannot silently fall out of the check: a Rust
//! field not listed in [`twins`] fails to compile (the listing destructures the struct
//! without `..`), a C member or `LAYOUT_` constant without a Rust counterpart fails the test,
//! and so do unequal struct sizes (padding). Reads files only.

use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::path::Path;

use tracee_bpf_obj::elf::BpfObject;
use tracee_bpf_obj::module::buffers::RbCfg;
use tracee_btf::{Btf, Kind, Type};
use tracee_core::filters::maps;
use tracee_core::wire::config::{self, ArgCfg, EventCfg, Lifecycle, LifecycleCfg, TracerCfg};
use tracee_core::wire::{self, header, HeaderFlags, WireClass};

const OBJECTS: [&str; 2] = ["bpf/tracee.bpf.o", "bpf/tracee.bpf.arm64.o"];

/// One Rust field (or header offset constant) standing for a C member.
struct Field {
    c: &'static str,
    rust: &'static str,
    offset: usize,
    size: usize,
}

/// A Rust twin of C struct `c`.
struct Twin {
    c: &'static str,
    rust: &'static str,
    size: usize,
    fields: Vec<Field>,
}

fn field_size<T, F>(_: fn(&T) -> &F) -> usize {
    size_of::<F>()
}

/// `twin!("c_struct" = RustType { field, rust_field as "c_member", ... })`.
macro_rules! twin {
    ($c:literal = $ty:ident { $($f:ident $(as $cm:literal)?),* $(,)? }) => {{
        // No `..`: a field added to the twin and not listed here is a compile error.
        #[allow(dead_code)]
        fn exhaustive(v: $ty) {
            let $ty { $($f: _),* } = v;
        }
        Twin {
            c: $c,
            rust: stringify!($ty),
            size: size_of::<$ty>(),
            fields: vec![$(Field {
                c: twin!(@c $f $(, $cm)?),
                rust: stringify!($f),
                offset: offset_of!($ty, $f),
                size: field_size(|v: &$ty| &v.$f),
            }),*],
        }
    }};
    (@c $f:ident) => { stringify!($f) };
    (@c $f:ident, $cm:literal) => { $cm };
}

fn twins() -> Vec<Twin> {
    use maps::{
        ActiveCfg, ArgKey, ArgVal, DataKey, EqVal, EventKey, EventVal, LpmKey, NumKey, ProcEntry,
        ProcSlot, RangeVal, ScopeCfg, StrKey, TreeKey,
    };
    vec![
        header_twin(),
        // wire.bpf.h
        twin!("tr_arg_cfg" = ArgCfg { class, type_code as "type", index, len_arg }),
        twin!(
            "tr_event_cfg" = EventCfg {
                policies,
                event_id,
                flags,
                args
            }
        ),
        twin!("tr_life_cfg" = LifecycleCfg { policies, event_id, flags, index, type_code as "type" }),
        twin!("tr_config" = TracerCfg { tracer_tgid, flags }),
        // filters.bpf.h
        twin!("tr_f_active" = ActiveCfg { version, pad }),
        twin!("tr_f_eq" = EqVal { equals, used }),
        twin!("tr_f_range" = RangeVal { min, max }),
        twin!(
            "tr_f_scope_cfg" = ScopeCfg {
                match_if_missing,
                range_policies,
                container_true,
                container_false,
                new_true,
                new_false,
                follow,
                start_time,
                host_pid_ns,
                used_kinds,
                ranges,
            }
        ),
        twin!("tr_f_event_key" = EventKey { version, event }),
        twin!(
            "tr_f_event_val" = EventVal {
                policies,
                str_args,
                flags
            }
        ),
        twin!(
            "tr_f_num_key" = NumKey {
                version,
                kind,
                value
            }
        ),
        twin!(
            "tr_f_str_key" = StrKey {
                version,
                kind,
                value
            }
        ),
        twin!("tr_f_tree_key" = TreeKey { version, pid }),
        twin!(
            "tr_f_arg_key" = ArgKey {
                version,
                event,
                arg
            }
        ),
        twin!("tr_f_arg_val" = ArgVal { match_if_missing }),
        twin!(
            "tr_f_data_key" = DataKey {
                version,
                event,
                arg,
                pad,
                hash
            }
        ),
        twin!(
            "tr_f_lpm_key" = LpmKey {
                prefixlen,
                version,
                event,
                arg,
                data
            }
        ),
        twin!(
            "tr_f_proc_slot" = ProcSlot {
                tree_equals,
                tree_used,
                followed
            }
        ),
        twin!(
            "tr_f_proc" = ProcEntry {
                exe_hash,
                flags,
                pad,
                slots
            }
        ),
        // tracee/buffers.h
        twin!("tracee_rb_cfg" = RbCfg { mode, threshold }),
    ]
}

/// `struct tr_header`'s twin is the offset constants of `wire::header` (sizes as their docs
/// say); `header_consts_are_all_listed` keeps this list complete.
fn header_twin() -> Twin {
    let f = |c, rust, offset, size| Field {
        c,
        rust,
        offset,
        size,
    };
    Twin {
        c: "tr_header",
        rust: "wire::header",
        size: wire::HEADER_SIZE,
        fields: vec![
            f("version", "VERSION", header::VERSION, 1),
            f("flags", "FLAGS", header::FLAGS, 1),
            f("argnum", "ARGNUM", header::ARGNUM, 1),
            f(
                "policies_version",
                "POLICIES_VERSION",
                header::POLICIES_VERSION,
                1,
            ),
            f("event_id", "EVENT_ID", header::EVENT_ID, 4),
            f("ts", "TIMESTAMP", header::TIMESTAMP, 8),
            f("start_time", "START_TIME", header::START_TIME, 8),
            f("cgroup_id", "CGROUP_ID", header::CGROUP_ID, 8),
            f("policies", "POLICIES", header::POLICIES, 8),
            f("retval", "RETVAL", header::RETVAL, 8),
            f("pid", "PID", header::PID, 4),
            f("tid", "TID", header::TID, 4),
            f("ppid", "PPID", header::PPID, 4),
            f("ns_pid", "NS_PID", header::NS_PID, 4),
            f("ns_tid", "NS_TID", header::NS_TID, 4),
            f("ns_ppid", "NS_PPID", header::NS_PPID, 4),
            f("uid", "UID", header::UID, 4),
            f("gid", "GID", header::GID, 4),
            f("mnt_ns", "MNT_NS", header::MNT_NS, 4),
            f("pid_ns", "PID_NS", header::PID_NS, 4),
            f("syscall", "SYSCALL", header::SYSCALL, 4),
            f("cpu", "CPU", header::CPU, 4),
            f("comm", "COMM", header::COMM, 16),
            f("uts_name", "UTS_NAME", header::UTS_NAME, 16),
        ],
    }
}

/// The exec slot (index in `Lifecycle::Exec.slots()`) that fills argument `name`.
fn exec_slot(name: &str) -> i64 {
    Lifecycle::Exec
        .slots()
        .iter()
        .position(|(names, _)| names.contains(&name))
        .unwrap_or_else(|| panic!("no exec slot for {name}")) as i64
}

/// The C `#define`s the Rust side mirrors (name without the `LAYOUT_` prefix) and the Rust
/// value.
fn consts() -> Vec<(&'static str, i64)> {
    let class = |c: WireClass| i64::from(c.code());
    vec![
        // wire.bpf.h
        ("TR_WIRE_VERSION", i64::from(wire::WIRE_VERSION)),
        ("TR_MAX_SYSCALLS", i64::from(config::MAX_SYSCALL_NR)),
        ("TR_MAX_ARGS", config::SYSCALL_ARGS as i64),
        ("TR_LIFE_SLOTS", config::LIFE_SLOTS as i64),
        ("TR_BUF_SIZE", wire::MAX_EVENT as i64),
        ("TR_STR_MAX", wire::MAX_STR as i64),
        ("TR_BYTES_MAX", wire::MAX_BYTES as i64),
        ("TR_ARR_MAX", wire::MAX_STR_ARRAY as i64),
        // 0 = skip: what an unset ArgCfg holds.
        ("TR_CLASS_NONE", i64::from(ArgCfg::default().class)),
        ("TR_CLASS_U64", class(WireClass::Int8)),
        ("TR_CLASS_STR", class(WireClass::Str)),
        ("TR_CLASS_STR_ARR", class(WireClass::StrArray)),
        ("TR_CLASS_BYTES", class(WireClass::Bytes)),
        ("TR_CLASS_SOCKADDR", i64::from(config::CLASS_SOCKADDR)),
        ("TR_CLASS_INT4", class(WireClass::Int4)),
        ("TR_CLASS_INT2", class(WireClass::Int2)),
        ("TR_CLASS_INT1", class(WireClass::Int1)),
        ("TR_CLASS_INT_PAIR", class(WireClass::IntPair)),
        ("TR_LEN_RETVAL", i64::from(config::LEN_RETVAL)),
        (
            "TR_EV_CAPTURE_AT_ENTRY",
            i64::from(config::EV_CAPTURE_AT_ENTRY),
        ),
        ("TR_EV_EMIT_AT_ENTRY", i64::from(config::EV_EMIT_AT_ENTRY)),
        ("TR_HDR_TRUNCATED", i64::from(HeaderFlags::TRUNCATED.bits())),
        (
            "TR_HDR_ARGS_AT_ENTRY",
            i64::from(HeaderFlags::ARGS_AT_ENTRY.bits()),
        ),
        ("TR_HDR_NO_RETURN", i64::from(HeaderFlags::NO_RETURN.bits())),
        ("TR_LIFE_EXEC", Lifecycle::Exec as i64),
        ("TR_LIFE_FORK", Lifecycle::Fork as i64),
        ("TR_LIFE_EXIT", Lifecycle::Exit as i64),
        ("TR_LIFE_SKIP", i64::from(config::LIFE_SKIP)),
        (
            "TR_CFG_EXIT_READS_REGS",
            i64::from(config::CFG_EXIT_READS_REGS),
        ),
        // lifecycle.bpf.h
        ("TR_EXEC_ITP_PATH", exec_slot("interpreter_pathname")),
        ("TR_EXEC_ITP_DEV", exec_slot("interpreter_dev")),
        ("TR_EXEC_ITP_INODE", exec_slot("interpreter_inode")),
        ("TR_EXEC_ITP_CTIME", exec_slot("interpreter_ctime")),
        ("TR_EXEC_FROM_KERNEL", exec_slot("invoked_from_kernel")),
        ("TR_EXEC_PREV_COMM", exec_slot("prev_comm")),
        // filters.bpf.h
        ("TR_F_KINDS", maps::KINDS as i64),
        ("TR_F_RANGE_KINDS", maps::RANGE_KINDS as i64),
        ("TR_F_UID", i64::from(maps::KIND_UID)),
        ("TR_F_PID", i64::from(maps::KIND_PID)),
        ("TR_F_MNTNS", i64::from(maps::KIND_MNTNS)),
        ("TR_F_PIDNS", i64::from(maps::KIND_PIDNS)),
        ("TR_F_EXE", i64::from(maps::KIND_EXE)),
        ("TR_F_COMM", i64::from(maps::KIND_COMM)),
        ("TR_F_UTS", i64::from(maps::KIND_UTS)),
        ("TR_F_TREE", i64::from(maps::KIND_TREE)),
        ("TR_F_STR", maps::STR_KEY as i64),
        ("TR_F_LPM", maps::LPM_DATA as i64),
        ("TR_F_LPM_HEADER_BITS", i64::from(maps::LPM_HEADER_BITS)),
        ("TR_F_PROC_HAS_EXE", i64::from(maps::PROC_HAS_EXE)),
        // tracee/buffers.h
        ("TRACEE_RB_WAKEUP_EVERY", i64::from(RbCfg::WAKEUP_EVERY)),
        ("TRACEE_RB_WAKEUP_NONE", i64::from(RbCfg::WAKEUP_NONE)),
        (
            "TRACEE_RB_WAKEUP_THRESHOLD",
            i64::from(RbCfg::WAKEUP_THRESHOLD),
        ),
    ]
}

fn object_btf(rel: &str) -> Btf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let obj = BpfObject::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let btf = obj
        .btf()
        .unwrap_or_else(|| panic!("{rel}: no .BTF section"));
    // Own the bytes: the object goes out of scope.
    Btf::from_vec(btf.raw_bytes().to_vec()).expect("the object's BTF re-parses")
}

/// Mismatches between `twin` and the C struct of the same name in `btf`.
fn check_twin(obj: &str, btf: &Btf, twin: &Twin, errors: &mut Vec<String>) {
    let ctx = format!("{obj}: struct {} vs {}", twin.c, twin.rust);
    let Some(id) = btf.find_by_name_kind(twin.c, Kind::Struct) else {
        errors.push(format!(
            "{ctx}: struct {} is not in the BTF (anchor it in bpf/layout.bpf.h)",
            twin.c
        ));
        return;
    };
    let Ok(Type::Struct(s)) = btf.type_by_id(id) else {
        unreachable!("find_by_name_kind returned a struct id");
    };
    if s.size() as usize != twin.size {
        errors.push(format!(
            "{ctx}: C size {} != Rust size {}",
            s.size(),
            twin.size
        ));
    }
    let mut rust: BTreeMap<&str, &Field> = twin.fields.iter().map(|f| (f.c, f)).collect();
    for m in s.members() {
        let c_size = btf.size_of(m.type_id).expect("member size") as usize;
        let c_off = m.bit_offset as usize / 8;
        if m.bitfield_size != 0 || m.bit_offset % 8 != 0 {
            errors.push(format!("{ctx}: {}.{} is a bitfield", twin.c, m.name));
            continue;
        }
        let Some(f) = rust.remove(m.name) else {
            errors.push(format!(
                "{ctx}: C member {}.{} (offset {c_off}, size {c_size}) has no Rust field",
                twin.c, m.name
            ));
            continue;
        };
        if (c_off, c_size) != (f.offset, f.size) {
            errors.push(format!(
                "{ctx}: {}.{} is at offset {c_off} size {c_size} in C, but {}::{} is at offset {} size {} in Rust",
                twin.c, m.name, twin.rust, f.rust, f.offset, f.size
            ));
        }
    }
    for f in rust.values() {
        errors.push(format!(
            "{ctx}: Rust {}::{} (offset {}, size {}) names C member {:?}, which {} lacks",
            twin.rust, f.rust, f.offset, f.size, f.c, twin.c
        ));
    }
}

fn check_consts(obj: &str, btf: &Btf, errors: &mut Vec<String>) {
    let Some(id) = btf.find_by_name_kind("tr_layout_const", Kind::Enum) else {
        errors.push(format!(
            "{obj}: enum tr_layout_const is not in the BTF (bpf/layout.bpf.h)"
        ));
        return;
    };
    let Ok(Type::Enum(e)) = btf.type_by_id(id) else {
        unreachable!("find_by_name_kind returned an enum id");
    };
    let mut rust: BTreeMap<&str, i64> = consts().into_iter().collect();
    for v in e.values() {
        let name = v.name.strip_prefix("LAYOUT_").unwrap_or(v.name);
        match rust.remove(name) {
            None => errors.push(format!(
                "{obj}: C constant {name} = {} has no Rust counterpart in consts()",
                v.value
            )),
            Some(r) if r != v.value => errors.push(format!(
                "{obj}: constant {name} is {} in C but {r} in Rust",
                v.value
            )),
            Some(_) => {}
        }
    }
    for name in rust.keys() {
        errors.push(format!(
            "{obj}: consts() lists {name}, which enum tr_layout_const lacks"
        ));
    }
}

#[test]
fn rust_twins_match_the_objects_btf() {
    let twins = twins();
    let mut errors = Vec::new();
    for obj in OBJECTS {
        let btf = object_btf(obj);
        for twin in &twins {
            check_twin(obj, &btf, twin, &mut errors);
        }
        check_consts(obj, &btf, &mut errors);
    }
    assert!(
        errors.is_empty(),
        "Rust twins drifted from the C layout:\n  {}",
        errors.join("\n  ")
    );
}

/// `wire::header` has one `pub const NAME: usize` per header field, all in [`header_twin`].
#[test]
fn header_consts_are_all_listed() {
    let src = include_str!("../src/wire/header.rs");
    let consts: Vec<&str> = src
        .lines()
        .filter_map(|l| l.strip_prefix("pub const "))
        .filter_map(|l| l.strip_suffix(';'))
        .filter_map(|l| l.split_once(": usize").map(|(n, _)| n))
        .collect();
    let listed: Vec<&str> = header_twin().fields.iter().map(|f| f.rust).collect();
    assert_eq!(
        consts, listed,
        "src/wire/header.rs's offset constants and header_twin() differ"
    );
}
