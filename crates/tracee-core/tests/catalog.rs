//! The event catalog's API: lookups, selectors, sets, registration, listings.

use std::sync::Arc;

use tracee_core::events::{
    glob_match, list_json, list_table, nearest, Arch, ArgDef, ArgType, Catalog, CatalogError,
    CustomDecodeError, CustomDecoder, EventDefinition, EventId, EventKind, SyscallNumbers,
    MAX_ARGS, SCHED_PROCESS_EXEC, SCHED_PROCESS_EXIT, SCHED_PROCESS_FORK,
};

fn cat() -> &'static Catalog {
    Catalog::builtin_ref()
}

fn names<'a>(defs: impl IntoIterator<Item = &'a EventDefinition>) -> Vec<&'a str> {
    defs.into_iter().map(|d| d.name()).collect()
}

#[test]
fn lookup_by_name_id_and_syscall_number() {
    let openat = cat().by_name("openat").expect("openat");
    assert_eq!(openat.id(), EventId(257));
    assert_eq!(openat.kind(), EventKind::Syscall);
    assert_eq!(openat.syscall_nr(Arch::X86_64), Some(257));
    assert_eq!(openat.syscall_nr(Arch::Arm64), Some(56));
    assert_eq!(cat().get(EventId(257)).map(|d| d.name()), Some("openat"));
    assert_eq!(
        cat().by_syscall(Arch::X86_64, 59).map(|d| d.name()),
        Some("execve")
    );
    assert_eq!(
        cat().by_syscall(Arch::Arm64, 221).map(|d| d.name()),
        Some("execve")
    );
    // arm64 has no open(2): its number 2 on x86_64 only.
    let open = cat().by_name("open").expect("open");
    assert_eq!(
        open.syscall(),
        SyscallNumbers {
            x86_64: Some(2),
            arm64: None
        }
    );
    assert_eq!(
        cat().by_syscall(Arch::Arm64, 2).map(|d| d.name()),
        Some("io_submit")
    );
    assert!(cat().by_name("no_such_event").is_none());
    assert!(cat().get(EventId(9_999)).is_none());
    assert_eq!(
        cat()
            .by_native_syscall(libc::SYS_openat as u32)
            .map(|d| d.name()),
        Some("openat")
    );
}

/// The catalog's numbers for the running architecture are the kernel's: a syscall made with
/// the catalog's number does what the libc function does.
#[test]
fn native_numbers_reach_the_right_syscalls() {
    let nr = |name: &str| -> libc::c_long {
        let def = cat().by_name(name).unwrap_or_else(|| panic!("{name}"));
        let arch = Arch::native().expect("catalog covers this architecture");
        def.syscall_nr(arch)
            .unwrap_or_else(|| panic!("{name} on {arch}")) as libc::c_long
    };
    // SAFETY: argument-less syscalls that only read the caller's ids.
    unsafe {
        assert_eq!(
            libc::syscall(nr("getpid")),
            libc::c_long::from(libc::getpid())
        );
        assert_eq!(
            libc::syscall(nr("getppid")),
            libc::c_long::from(libc::getppid())
        );
        assert_eq!(
            libc::syscall(nr("gettid")),
            libc::c_long::from(libc::gettid())
        );
        assert_eq!(
            libc::syscall(nr("getuid")),
            libc::c_long::from(libc::getuid())
        );
        assert_eq!(
            libc::syscall(nr("geteuid")),
            libc::c_long::from(libc::geteuid())
        );
        assert_eq!(
            libc::syscall(nr("getgid")),
            libc::c_long::from(libc::getgid())
        );
        assert_eq!(
            libc::syscall(nr("getegid")),
            libc::c_long::from(libc::getegid())
        );
        assert_eq!(
            libc::syscall(nr("getsid"), 0),
            libc::c_long::from(libc::getsid(0))
        );
        assert_eq!(
            libc::syscall(nr("getpgid"), 0),
            libc::c_long::from(libc::getpgid(0))
        );
    }
    // An unknown syscall number is ENOSYS; the catalog's numbers avoid it for these.
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec we own.
    let r = unsafe {
        libc::syscall(
            nr("clock_gettime"),
            libc::CLOCK_MONOTONIC,
            &mut ts as *mut libc::timespec,
        )
    };
    assert_eq!(r, 0);
    assert!(ts.tv_sec > 0 || ts.tv_nsec > 0);
}

#[test]
fn arguments_are_named_and_typed() {
    let execve = cat().by_name("execve").expect("execve");
    assert_eq!(
        execve.signature(),
        "const char* pathname, const char*const* argv, const char*const* envp"
    );
    let types: Vec<ArgType> = execve.args().iter().map(|a| a.ty).collect();
    assert_eq!(types, [ArgType::Str, ArgType::StrArray, ArgType::StrArray]);
    assert_eq!(execve.ret(), Some(&ArgDef::RETVAL));

    let openat = cat().by_name("openat").expect("openat");
    assert_eq!(
        openat.signature(),
        "int dirfd, const char* pathname, int flags, mode_t mode"
    );
    assert_eq!(
        openat.arg("pathname").map(|(i, a)| (i, a.ty)),
        Some((1, ArgType::Str))
    );
    assert_eq!(
        openat.arg("flags").map(|(i, a)| (i, a.ty)),
        Some((2, ArgType::S32))
    );
    assert_eq!(openat.arg("mode").map(|(_, a)| a.ty), Some(ArgType::U32));

    let connect = cat().by_name("connect").expect("connect");
    assert_eq!(names_of_args(connect), ["sockfd", "addr", "addrlen"]);
    assert_eq!(connect.args()[1].ty, ArgType::Sockaddr);

    let pipe2 = cat().by_name("pipe2").expect("pipe2");
    assert_eq!(pipe2.args()[0].ty, ArgType::IntArray2);

    let write = cat().by_name("write").expect("write");
    assert_eq!(write.args()[1].ty, ArgType::Bytes { len_arg: 2 });
    assert_eq!(write.args()[2].name, "count");

    // The kernel declares mount's strings `char *`; they are inputs, read as strings.
    let mount = cat().by_name("mount").expect("mount");
    assert_eq!(
        names_of_args(mount)[..3],
        ["source", "target", "filesystemtype"]
    );
    assert!(mount.args()[..3].iter().all(|a| a.ty == ArgType::Str));
    assert!(cat().by_name("fork").expect("fork").args().is_empty());
}

fn names_of_args(d: &EventDefinition) -> Vec<&str> {
    d.args().iter().map(|a| a.name.as_ref()).collect()
}

#[test]
fn lifecycle_events() {
    let exec = cat().get(SCHED_PROCESS_EXEC).expect("exec");
    assert_eq!(exec.name(), "sched_process_exec");
    assert_eq!(exec.kind(), EventKind::Lifecycle);
    assert!(exec.in_set("default") && exec.in_set("proc"));
    assert_eq!(
        exec.arg("cmdpath").map(|(i, a)| (i, a.ty)),
        Some((0, ArgType::Str))
    );
    assert_eq!(exec.arg("pathname").map(|(_, a)| a.ty), Some(ArgType::Str));
    assert_eq!(
        exec.arg("interpreter_pathname").map(|(_, a)| a.ty),
        Some(ArgType::Str)
    );
    assert_eq!(exec.arg("argv").map(|(_, a)| a.ty), Some(ArgType::StrArray));
    assert_eq!(exec.arg("inode").map(|(_, a)| a.ty), Some(ArgType::U64));
    assert!(exec.ret().is_none());
    assert_eq!(exec.syscall(), SyscallNumbers::default());

    let fork = cat().get(SCHED_PROCESS_FORK).expect("fork");
    assert_eq!(fork.name(), "sched_process_fork");
    for a in [
        "parent_tid",
        "parent_pid",
        "child_tid",
        "child_pid",
        "start_time",
    ] {
        assert!(fork.arg(a).is_some(), "{a}");
    }
    let exit = cat().get(SCHED_PROCESS_EXIT).expect("exit");
    assert_eq!(exit.name(), "sched_process_exit");
    assert_eq!(exit.arg("exit_code").map(|(_, a)| a.ty), Some(ArgType::S32));
    assert_eq!(
        exit.arg("process_group_exit").map(|(_, a)| a.ty),
        Some(ArgType::Bool)
    );
    assert!(cat()
        .in_set("proc_life")
        .any(|d| d.id() == SCHED_PROCESS_EXIT));
}

#[test]
fn globs() {
    assert!(glob_match("open*", "open"));
    assert!(glob_match("open*", "openat2"));
    assert!(glob_match("*at", "openat"));
    assert!(glob_match("*stat*", "newfstatat"));
    assert!(glob_match("op?nat", "openat"));
    assert!(glob_match("*", ""));
    assert!(!glob_match("open", "openat"));
    assert!(!glob_match("*at", "openat2"));
    assert!(!glob_match("?", ""));
    // Many stars against a long non-matching name: must stay linear.
    let name = "a".repeat(10_000);
    let pattern = format!("{}b", "*a".repeat(200));
    assert!(!glob_match(&pattern, &name));

    let open = names(cat().matching("open*"));
    for n in [
        "open",
        "openat",
        "openat2",
        "open_by_handle_at",
        "open_tree",
    ] {
        assert!(open.contains(&n), "{n} in {open:?}");
    }
    assert!(open.iter().all(|n| n.starts_with("open")));
}

#[test]
fn selectors() {
    let fs = names(cat().select("tag=fs").expect("fs"));
    assert!(fs.contains(&"openat") && fs.contains(&"read") && fs.contains(&"mount"));
    assert!(!fs.contains(&"execve"));
    assert_eq!(fs, names(cat().select("set=fs").expect("set=")));
    let ops = names(cat().select("tag=fs_file_ops").expect("fs_file_ops"));
    assert!(ops.contains(&"openat") && !ops.contains(&"read"));
    let net = names(cat().select("tag=net").expect("net"));
    assert!(net.contains(&"connect") && net.contains(&"sendto"));
    let default = names(cat().select("tag=default").expect("default"));
    assert!(default.contains(&"sched_process_exec") && default.contains(&"ptrace"));
    assert!(!default.contains(&"read"));
    let syscalls = cat().select("tag=syscalls").expect("syscalls");
    assert!(syscalls.iter().all(|d| d.kind() == EventKind::Syscall));
    assert_eq!(
        syscalls.len(),
        cat()
            .iter()
            .filter(|d| d.kind() == EventKind::Syscall)
            .count()
    );
    for set in [
        "default",
        "syscalls",
        "fs",
        "fs_read_write",
        "proc",
        "proc_life",
        "proc_mem",
        "net",
        "net_sock",
        "ipc",
        "signals",
        "time",
        "system",
    ] {
        assert!(cat().sets().contains(set), "{set}");
    }
    assert_eq!(names(cat().select("execve").expect("name")), ["execve"]);
    assert_eq!(
        names(cat().select(" execve ").expect("trimmed")),
        ["execve"]
    );

    assert_eq!(
        cat().select("opnat").unwrap_err(),
        CatalogError::UnknownEvent {
            name: "opnat".into(),
            suggestion: Some("openat".into())
        }
    );
    assert_eq!(
        cat().select("opnat").unwrap_err().to_string(),
        "unknown event 'opnat', did you mean 'openat'?"
    );
    assert!(matches!(
        cat().select("tag=fss"),
        Err(CatalogError::UnknownSet { suggestion: Some(s), .. }) if s == "fs"
    ));
    assert!(matches!(
        cat().select("qqqqqqqqqq"),
        Err(CatalogError::UnknownEvent {
            suggestion: None,
            ..
        })
    ));
    assert!(matches!(
        cat().select("zzz*"),
        Err(CatalogError::NoMatch { .. })
    ));
    assert_eq!(cat().suggest_event("execv"), Some("execve"));
    assert_eq!(nearest("x", ["a", "b"]), Some("a"));
    assert_eq!(nearest("", Vec::<&str>::new()), None);
}

struct Upper;

impl CustomDecoder for Upper {
    fn decode(
        &self,
        def: &EventDefinition,
        args: &[u8],
    ) -> Result<serde_json::Value, CustomDecodeError> {
        let s = std::str::from_utf8(args).map_err(|e| CustomDecodeError {
            event: def.name().to_string(),
            offset: e.valid_up_to(),
            message: "not UTF-8".into(),
        })?;
        Ok(serde_json::json!({ "text": s.to_uppercase() }))
    }
}

#[test]
fn registration() {
    let mut c = Catalog::builtin();
    let before = c.len();
    let def = EventDefinition::custom(EventId::FIRST_CUSTOM, "my_probe")
        .with_sets(["my_tool", "fs"])
        .with_arg(ArgDef::new("path", ArgType::Str, "const char*"))
        .with_arg(ArgDef::new(String::from("len"), ArgType::U32, "u32"))
        .with_arg(ArgDef::new("data", ArgType::Bytes { len_arg: 1 }, "u8*"));
    assert_eq!(
        c.register_with_decoder(def, Arc::new(Upper)),
        Ok(EventId(10_000))
    );
    assert_eq!(c.len(), before + 1);
    let mine = c.by_name("my_probe").expect("registered");
    assert_eq!(mine.kind(), EventKind::Custom);
    assert!(names(c.select("tag=my_tool").expect("new set")).contains(&"my_probe"));
    assert!(names(c.select("tag=fs").expect("fs")).contains(&"my_probe"));
    let decoded = c
        .decoder(EventId(10_000))
        .expect("decoder")
        .decode(mine, b"hi")
        .expect("decode");
    assert_eq!(decoded["text"], "HI");
    let err = c
        .decoder(EventId(10_000))
        .expect("decoder")
        .decode(mine, b"ok\xff")
        .unwrap_err();
    assert_eq!(err.offset, 2);
    assert!(c.decoder(EventId(257)).is_none());
    // The shared built-in catalog is untouched.
    assert!(cat().by_name("my_probe").is_none());

    let clash = |c: &mut Catalog, d| c.register(d).unwrap_err();
    assert_eq!(
        clash(&mut c, EventDefinition::custom(EventId(257), "other")),
        CatalogError::IdInUse {
            id: EventId(257),
            name: "other".into(),
            existing: "openat".into()
        }
    );
    assert_eq!(
        clash(&mut c, EventDefinition::custom(EventId(10_001), "execve")),
        CatalogError::NameInUse {
            name: "execve".into(),
            id: EventId(10_001),
            existing: EventId(59)
        }
    );
    let numbered =
        EventDefinition::custom(EventId(10_002), "my_syscall").with_syscall(SyscallNumbers {
            x86_64: None,
            arm64: Some(56),
        });
    assert_eq!(
        clash(&mut c, numbered),
        CatalogError::SyscallInUse {
            arch: Arch::Arm64,
            nr: 56,
            name: "my_syscall".into(),
            existing: "openat".into()
        }
    );
    for bad in ["", "open*", "a,b", "-x", "tag=x", "a.data", "white space"] {
        assert!(
            matches!(
                clash(&mut c, EventDefinition::custom(EventId(10_003), bad)),
                CatalogError::InvalidName { .. }
            ),
            "{bad:?}"
        );
    }
    let bytes_to = |len_arg| {
        EventDefinition::custom(EventId(10_004), "bytes_event")
            .with_arg(ArgDef::new("buf", ArgType::Bytes { len_arg }, "u8*"))
            .with_arg(ArgDef::new("name", ArgType::Str, "const char*"))
    };
    for len_arg in [0, 1, 2, 255] {
        assert!(
            matches!(
                clash(&mut c, bytes_to(len_arg)),
                CatalogError::InvalidArg { .. }
            ),
            "{len_arg}"
        );
    }
    let dup = EventDefinition::custom(EventId(10_005), "dup_args")
        .with_arg(ArgDef::new("a", ArgType::U8, "u8"))
        .with_arg(ArgDef::new("a", ArgType::U8, "u8"));
    assert!(matches!(
        clash(&mut c, dup),
        CatalogError::InvalidArg { .. }
    ));
    let mut many = EventDefinition::custom(EventId(10_006), "many_args");
    for i in 0..=MAX_ARGS {
        many = many.with_arg(ArgDef::new(format!("a{i}"), ArgType::U8, "u8"));
    }
    assert!(matches!(
        clash(&mut c, many),
        CatalogError::InvalidArg { .. }
    ));
    let bad_set = EventDefinition::custom(EventId(10_007), "bad_set").with_sets(["a,b"]);
    assert!(matches!(
        clash(&mut c, bad_set),
        CatalogError::InvalidArg { .. }
    ));
    // Failed registrations leave nothing behind.
    assert_eq!(c.len(), before + 1);
    assert!(c.get(EventId(10_002)).is_none() && c.by_name("many_args").is_none());
}

/// Registering out of id order keeps iteration sorted and every lookup pointing at the right
/// definition.
#[test]
fn registration_out_of_order() {
    let mut c = Catalog::builtin();
    for (id, name) in [
        (20_000, "late"),
        (10_500, "middle"),
        (1_500, "dense_high"),
        (600, "dense_low"),
        (499, "below_lifecycle"),
        (2_047, "dense_last"),
        (2_048, "sparse_first"),
    ] {
        c.register(EventDefinition::custom(EventId(id), name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let ids: Vec<u32> = c.iter().map(|d| d.id().0).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "not sorted");
    for d in c.iter() {
        assert_eq!(c.get(d.id()), Some(d));
        assert_eq!(c.by_name(d.name()).map(|x| x.id()), Some(d.id()));
    }
    assert_eq!(c.get(EventId(600)).map(|d| d.name()), Some("dense_low"));
    assert_eq!(c.get(EventId(20_000)).map(|d| d.name()), Some("late"));
    assert_eq!(
        c.get(SCHED_PROCESS_EXIT).map(|d| d.name()),
        Some("sched_process_exit")
    );
    assert_eq!(
        c.by_syscall(Arch::X86_64, 257).map(|d| d.name()),
        Some("openat")
    );
    assert!(c.get(EventId(601)).is_none() && c.get(EventId(u32::MAX)).is_none());
}

#[test]
fn arg_type_wire_codes_round_trip() {
    let mut seen = std::collections::HashSet::new();
    for t in ArgType::ALL {
        assert_ne!(t.wire_code(), 0, "{t}");
        assert!(
            seen.insert(t.wire_code()),
            "duplicate code {}",
            t.wire_code()
        );
        assert_eq!(ArgType::from_wire(t.wire_code(), t.wire_param()), Some(t));
    }
    let b = ArgType::Bytes { len_arg: 5 };
    assert_eq!((b.wire_code(), b.wire_param()), (11, 5));
    assert_eq!(ArgType::from_wire(0, 0), None);
    for code in 14..=255u8 {
        assert_eq!(ArgType::from_wire(code, 0), None);
    }
    // Pinned: the BPF program and committed fixtures rely on these values.
    assert_eq!(ArgType::S32.wire_code(), 1);
    assert_eq!(ArgType::Str.wire_code(), 9);
    assert_eq!(ArgType::IntArray2.wire_code(), 13);
}

#[test]
fn list_table_matches_tracee_list() {
    let defs = cat().select("execve").expect("execve");
    assert_eq!(
        list_table(defs),
        "EVENT   SETS                     ARGUMENTS\n\
         execve  syscalls,proc,proc_life  const char* pathname, const char*const* argv, const char*const* envp\n"
    );
    let table = list_table(cat().select("open*").expect("open*"));
    let openat_line = table
        .lines()
        .find(|l| l.starts_with("openat "))
        .expect("openat row");
    let cols: Vec<&str> = openat_line
        .split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(
        cols,
        [
            "openat",
            "syscalls,fs,fs_file_ops",
            "int dirfd, const char* pathname, int flags, mode_t mode"
        ]
    );
    // An event without arguments has no trailing blanks.
    let fork = list_table(cat().select("fork").expect("fork"));
    assert!(fork.lines().all(|l| l == l.trim_end()));
}

#[test]
fn list_json_round_trips() {
    let doc = list_json(cat().select("openat").expect("openat")).expect("json");
    let v: serde_json::Value = serde_json::from_str(&doc).expect("valid JSON");
    let ev = &v["events"][0];
    assert_eq!(ev["id"], 257);
    assert_eq!(ev["name"], "openat");
    assert_eq!(ev["kind"], "syscall");
    assert_eq!(
        ev["sets"],
        serde_json::json!(["syscalls", "fs", "fs_file_ops"])
    );
    assert_eq!(ev["args"][1]["name"], "pathname");
    assert_eq!(ev["args"][1]["type"], "const char*");
    assert_eq!(ev["args"][1]["wire_type"], "str");
    assert_eq!(ev["syscall"]["arm64"], 56);
    let back: EventDefinition = serde_json::from_value(ev.clone()).expect("deserialize");
    assert_eq!(&back, cat().by_name("openat").expect("openat"));

    let all: serde_json::Value =
        serde_json::from_str(&list_json(cat().iter()).expect("json")).expect("valid");
    assert_eq!(all["events"].as_array().map(Vec::len), Some(cat().len()));
}
