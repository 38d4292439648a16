//! The decoder on real events captured from the tracer (tests/fixtures, fuzz corpus), on
//! every truncation and single-byte corruption of them, and against the encoder.

use std::path::PathBuf;

use tracee_core::decode::{ArgValue, DecodeError, Event, EventRef};
use tracee_core::events::{ArgType, Catalog};
use tracee_core::wire::encode::EventEncoder;
use tracee_core::wire::HeaderFlags;

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{name}.bin"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn decode(bytes: &[u8]) -> Event {
    let ev = EventRef::parse(bytes).expect("fixture decodes");
    Event::from_ref(&ev, Catalog::builtin_ref().get(ev.event_id()))
}

/// The children's environment, in the order `Command` passes it (sorted by name).
const ENV: [&str; 10] = [
    "EDITOR=vi",
    "HOME=/home/fixture",
    "LANG=C.UTF-8",
    "LOGNAME=fixture",
    "PATH=/usr/local/bin:/usr/bin:/bin",
    "PWD=/home/fixture/work",
    "SHELL=/bin/sh",
    "TERM=xterm-256color",
    "TZ=UTC",
    "USER=fixture",
];

#[test]
fn openat_fixture_has_the_captured_values() {
    let b = fixture("openat");
    let r = EventRef::parse(&b).unwrap();
    assert_eq!(r.event_id().0, 257);
    assert_eq!(r.syscall(), Some(257));
    assert_eq!(r.comm(), "cat");
    assert!(r.retval() >= 0);
    assert_eq!(r.arg_count(), 4);
    assert_eq!(
        r.arg(1).unwrap().as_str(),
        Some("/tmp/tracee-fixture-openat.txt")
    );
    assert_eq!(r.arg(0).unwrap().value(), ArgValue::Int(-100));
    let ev = decode(&b);
    assert_eq!(ev.event_name, "openat");
    assert_eq!(
        ev.arg("flags").and_then(|v| v.as_i64()),
        Some(0),
        "O_RDONLY"
    );
    assert_eq!(ev.header.syscall, Some(257));
}

#[test]
fn execve_fixture_has_argv_and_ten_env_strings() {
    let b = fixture("execve");
    let r = EventRef::parse(&b).unwrap();
    assert!(r.flags().contains(HeaderFlags::ARGS_AT_ENTRY));
    assert_eq!(r.retval(), 0);
    let argv: Vec<&[u8]> = r.arg(1).unwrap().as_str_array().unwrap().iter().collect();
    assert_eq!(argv, [&b"/bin/true"[..], b"--fixture", b"one", b"two"]);
    let ev = decode(&b);
    assert_eq!(
        ev.arg("pathname").and_then(|v| v.as_str()),
        Some("/bin/true")
    );
    assert_eq!(ev.arg("envp").and_then(|v| v.as_str_array()).unwrap(), ENV);
    assert_eq!(ev.header.comm, "true", "emitted at exit, after the exec");
}

#[test]
fn lifecycle_fixtures_have_the_captured_values() {
    let exec = decode(&fixture("sched_process_exec"));
    assert_eq!(exec.event_name, "sched_process_exec");
    assert_eq!(
        exec.arg("cmdpath").and_then(|v| v.as_str()),
        Some("/bin/true")
    );
    // The executed file's real path: captured on a merged-/usr system, where /bin is a
    // symlink to usr/bin.
    assert_eq!(
        exec.arg("pathname").and_then(|v| v.as_str()),
        Some("/usr/bin/true")
    );
    for walked in ["pwd", "stdin_path"] {
        let p = exec.arg(walked).and_then(|v| v.as_str()).unwrap_or("");
        assert!(p.starts_with('/'), "{walked} is an absolute path: {p:?}");
    }
    assert_eq!(
        exec.arg("argv").and_then(|v| v.as_str_array()).unwrap(),
        ["/bin/true", "--fixture", "one", "two"]
    );
    assert_eq!(exec.arg("env").and_then(|v| v.as_str_array()).unwrap(), ENV);
    assert!(exec.arg("inode").and_then(|v| v.as_i64()).unwrap() > 0);
    assert!(exec.arg("ctime").and_then(|v| v.as_i64()).unwrap() > 0);
    assert!(
        exec.arg("stdin_type").is_some(),
        "stdin_type captured: {exec:?}"
    );
    // The ELF interpreter mapped by the exec (captured on Debian 12 x86_64), the comm the
    // spawned child had until its exec (the capturing test thread's, cut to 15 bytes), a
    // normal exec's interp (the filename) and flag.
    assert_eq!(
        exec.arg("interpreter_pathname").and_then(|v| v.as_str()),
        Some("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    );
    for n in ["interpreter_dev", "interpreter_inode", "interpreter_ctime"] {
        assert!(
            exec.arg(n).and_then(|v| v.as_i64()).unwrap() > 0,
            "{n}: {exec:?}"
        );
    }
    assert_ne!(
        exec.arg("interpreter_inode").and_then(|v| v.as_i64()),
        exec.arg("inode").and_then(|v| v.as_i64()),
        "the interpreter is another file"
    );
    assert_eq!(
        exec.arg("prev_comm").and_then(|v| v.as_str()),
        Some("capture_fixture")
    );
    assert_eq!(
        exec.arg("interp").and_then(|v| v.as_str()),
        Some("/bin/true")
    );
    assert_eq!(
        exec.arg("invoked_from_kernel"),
        Some(&tracee_core::decode::OwnedValue::Bool(false)),
        "{exec:?}"
    );
    assert_eq!(exec.args.len(), 18, "every argument of the definition");
    // Lifecycle events carry the syscall the task was in.
    assert_eq!(exec.header.syscall, Some(libc::SYS_execve as i32));

    let fork = decode(&fixture("sched_process_fork"));
    assert_eq!(
        fork.arg("parent_pid").and_then(|v| v.as_i64()),
        Some(i64::from(fork.header.pid))
    );
    let child = fork.arg("child_pid").and_then(|v| v.as_i64()).unwrap();
    assert!(child > 0 && child != i64::from(fork.header.pid));
    assert!(fork.arg("start_time").and_then(|v| v.as_i64()).unwrap() > 0);
    let forks = [
        libc::SYS_clone,
        libc::SYS_clone3,
        libc::SYS_fork,
        libc::SYS_vfork,
    ];
    assert!(
        fork.header
            .syscall
            .is_some_and(|s| forks.contains(&i64::from(s))),
        "{:?}",
        fork.header.syscall
    );

    let exit = decode(&fixture("sched_process_exit"));
    assert_eq!(exit.header.comm, "sh");
    assert_eq!(
        exit.arg("exit_code").and_then(|v| v.as_i64()),
        Some(3),
        "sh ran `exit 3`"
    );
    assert_eq!(exit.arg("signal_code").and_then(|v| v.as_i64()), Some(0));
    assert_eq!(exit.header.syscall, Some(libc::SYS_exit_group as i32));
    assert_eq!(
        exit.arg("process_group_exit").and_then(|v| v.as_i64()),
        Some(1)
    );
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/event_decode");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
    }
    out.sort();
    assert!(out.len() >= 10, "corpus has {} files", out.len());
    out
}

/// Everything a consumer might touch; must not panic on any input.
fn exercise(b: &[u8]) -> Result<(), DecodeError> {
    let ev = EventRef::parse(b)?;
    let _ = Event::from_ref(&ev, Catalog::builtin_ref().get(ev.event_id()));
    for a in ev.args() {
        let _ = (
            a.as_i64(),
            a.as_u64(),
            a.as_str(),
            a.as_bytes(),
            a.value().to_string(),
        );
        if let Some(arr) = a.as_str_array() {
            assert!(arr.iter().count() <= arr.len());
        }
    }
    Ok(())
}

#[test]
fn corpus_replays_without_errors() {
    for (name, b) in corpus() {
        exercise(&b).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn every_truncation_is_a_typed_error() {
    for (name, b) in corpus() {
        for len in 0..b.len() {
            match exercise(&b[..len]) {
                Err(DecodeError::Truncated {
                    offset,
                    need,
                    available,
                    ..
                }) => {
                    assert!(offset + need > len, "{name}[..{len}]: {offset}+{need}");
                    assert!(available < need);
                }
                other => panic!("{name} cut to {len} bytes: {other:?}"),
            }
        }
    }
}

#[test]
fn every_single_byte_corruption_decodes_or_errs_without_panic() {
    for (_, b) in corpus().into_iter().take(6) {
        for i in 0..b.len() {
            for v in [0u8, 1, 0x7f, 0x80, 0xff, b[i] ^ 0x10] {
                let mut m = b.clone();
                m[i] = v;
                let _ = exercise(&m);
            }
        }
    }
}

#[test]
fn specific_malformations_name_the_problem() {
    let mut b = fixture("openat");
    b[0] = 9;
    assert!(matches!(
        EventRef::parse(&b),
        Err(DecodeError::UnsupportedVersion { version: 9, .. })
    ));
    let mut b = fixture("openat");
    b[2] = 200;
    assert!(matches!(
        EventRef::parse(&b),
        Err(DecodeError::TooManyArgs { argnum: 200, .. })
    ));
    let mut b = fixture("openat");
    b[128 + 2] = 77;
    assert!(matches!(
        EventRef::parse(&b),
        Err(DecodeError::UnknownClass {
            arg: 0,
            offset: 128,
            class: 77
        })
    ));
    let mut b = fixture("openat");
    b.extend_from_slice(&[0; 8]);
    assert!(matches!(
        EventRef::parse(&b),
        Err(DecodeError::TrailingBytes { extra: 8, .. })
    ));
    let mut b = fixture("openat");
    b.extend_from_slice(&[0; 7]);
    assert!(
        EventRef::parse(&b).is_ok(),
        "perf-style zero padding is accepted"
    );
    // A string length that points past the end.
    let mut b = fixture("openat");
    let at = 128 + 3 + 4 + 3; // dirfd (head + 4), pathname head
    b[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        EventRef::parse(&b),
        Err(DecodeError::Truncated { what: "string", .. })
    ));
}

#[test]
fn encoder_reproduces_the_captured_openat_bytes() {
    let b = fixture("openat");
    let r = EventRef::parse(&b).unwrap();
    let ev = decode(&b);
    let mut enc = EventEncoder::new(r.event_id().0);
    *enc.header_mut() = ev.header.clone();
    enc.int_arg(0, ArgType::S32, r.arg(0).unwrap().as_u64().unwrap())
        .str_arg(1, ArgType::Str, r.arg(1).unwrap().as_bytes().unwrap())
        .int_arg(2, ArgType::S32, r.arg(2).unwrap().as_u64().unwrap())
        .int_arg(3, ArgType::U32, r.arg(3).unwrap().as_u64().unwrap());
    let mut again = enc.finish();
    // comm/uts are NUL-padded in the kernel's copy as in ours; reserved byte is 0 in both.
    assert_eq!(again.len(), b.len());
    again[96..128].copy_from_slice(&b[96..128]);
    assert_eq!(again, b, "the encoder writes the program's layout");
}

#[test]
fn json_output_of_a_fixture_is_one_object_per_line() {
    let ev = decode(&fixture("execve"));
    let mut out = Vec::new();
    tracee_core::output::JsonPrinter
        .write_event(&mut out, &ev)
        .unwrap();
    let s = String::from_utf8(out).unwrap();
    assert!(s.ends_with('\n') && s.matches('\n').count() == 1);
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    assert_eq!(v["event_name"], "execve");
    assert_eq!(v["args"][0]["name"], "pathname");
    assert_eq!(v["args"][0]["value"], "/bin/true");
    assert_eq!(v["args"][2]["value"].as_array().unwrap().len(), 10);
    let back: Event = serde_json::from_str(&s).unwrap();
    assert_eq!(back.header, ev.header);
}

#[test]
fn table_row_has_tracee_columns() {
    let ev = decode(&fixture("execve"));
    let p = tracee_core::output::TablePrinter::new();
    let mut out = Vec::new();
    p.write_header(&mut out).unwrap();
    p.write_event(&mut out, &ev).unwrap();
    let s = String::from_utf8(out).unwrap();
    let mut lines = s.lines();
    let head: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        head,
        ["TIME", "UID", "COMM", "PID", "TID", "RET", "EVENT", "ARGS"]
    );
    let row = lines.next().unwrap();
    assert!(row.contains(" true "), "{row}");
    assert!(row.contains("execve"), "{row}");
    assert!(row.contains("argv: [/bin/true --fixture one two]"), "{row}");
}
