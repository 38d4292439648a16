//! Built-in signatures and the engine on hand-made events: each signature fires on the
//! evidence it documents and stays quiet on near misses. (tests/e2e_signatures.rs triggers
//! them with real syscalls.)

use std::net::{Ipv4Addr, SocketAddrV4};

use tracee_core::decode::{Arg, Event, OwnedValue, Sockaddr};
use tracee_core::events::Catalog;
use tracee_core::signatures::{builtin, Finding, SignatureEngine, SignatureError};
use tracee_core::wire::header::Header;

fn ev(name: &str, pid: u32, retval: i64, args: &[(&str, OwnedValue)]) -> Event {
    Event {
        event_id: 0,
        event_name: name.to_owned(),
        header: Header {
            pid,
            tid: pid,
            retval,
            comm: "test".into(),
            ..Header::default()
        },
        args: args
            .iter()
            .map(|(n, v)| Arg {
                name: (*n).to_owned(),
                ty: None,
                value: v.clone(),
            })
            .collect(),
    }
}

fn int(v: i64) -> OwnedValue {
    OwnedValue::Int(v)
}
fn s(v: &str) -> OwnedValue {
    OwnedValue::Str(v.to_owned())
}
fn strs(v: &[&str]) -> OwnedValue {
    OwnedValue::StrArray(v.iter().map(|s| (*s).to_owned()).collect())
}
fn inet(ip: [u8; 4], port: u16) -> OwnedValue {
    OwnedValue::Sockaddr(Sockaddr::Inet {
        addr: SocketAddrV4::new(Ipv4Addr::from(ip), port),
    })
}

fn engine() -> SignatureEngine {
    SignatureEngine::new(builtin::all()).expect("built-in signatures are consistent")
}

/// The ids of the findings `events`, fed in order to a fresh engine, produce.
fn fired(events: &[Event]) -> Vec<(String, Finding)> {
    let mut e = engine();
    events
        .iter()
        .flat_map(|ev| e.process(ev))
        .map(|f| (f.signature.id.to_owned(), f))
        .collect()
}

fn ids(events: &[Event]) -> Vec<String> {
    fired(events).into_iter().map(|(id, _)| id).collect()
}

const O_RDONLY: i64 = 0;
const O_WRONLY: i64 = 1;
const O_RDWR: i64 = 2;

#[test]
fn each_signature_fires_on_its_evidence_only() {
    let cases: Vec<(&str, Vec<Event>, Vec<&str>)> = vec![
        (
            "ptrace TRACEME",
            vec![ev("ptrace", 1, 0, &[("request", int(0)), ("pid", int(0))])],
            vec!["TRC-2"],
        ),
        (
            "ptrace ATTACH",
            vec![ev("ptrace", 1, 0, &[("request", int(16)), ("pid", int(9))])],
            vec![],
        ),
        (
            "ptrace POKETEXT",
            vec![ev("ptrace", 1, 0, &[("request", int(4)), ("pid", int(9))])],
            vec!["TRC-3"],
        ),
        (
            "ptrace POKEDATA",
            vec![ev("ptrace", 1, 0, &[("request", int(5)), ("pid", int(9))])],
            vec!["TRC-3"],
        ),
        (
            "open /proc/9/mem rw",
            vec![ev(
                "openat",
                1,
                3,
                &[("pathname", s("/proc/9/mem")), ("flags", int(O_RDWR))],
            )],
            vec!["TRC-3"],
        ),
        (
            "open /proc/self/mem wo",
            vec![ev(
                "open",
                1,
                3,
                &[
                    ("pathname", s("/proc/self/mem")),
                    ("flags", int(O_WRONLY | 0o2000000)),
                ],
            )],
            vec!["TRC-3"],
        ),
        (
            "open /proc/9/mem ro",
            vec![ev(
                "openat",
                1,
                3,
                &[("pathname", s("/proc/9/mem")), ("flags", int(O_RDONLY))],
            )],
            vec![],
        ),
        (
            "open /proc/9/maps rw",
            vec![ev(
                "openat",
                1,
                3,
                &[("pathname", s("/proc/9/maps")), ("flags", int(O_RDWR))],
            )],
            vec![],
        ),
        (
            "process_vm_writev other",
            vec![ev("process_vm_writev", 1, 8, &[("pid", int(9))])],
            vec!["TRC-3"],
        ),
        (
            "process_vm_writev self",
            vec![ev("process_vm_writev", 1, 8, &[("pid", int(1))])],
            vec![],
        ),
        (
            "mprotect rwx",
            vec![ev("mprotect", 1, 0, &[("prot", OwnedValue::UInt(7))])],
            vec!["TRC-4"],
        ),
        (
            "mmap wx",
            vec![ev(
                "mmap",
                1,
                0x7f00_0000_0000,
                &[("prot", OwnedValue::UInt(6))],
            )],
            vec!["TRC-4"],
        ),
        (
            "mprotect rx",
            vec![ev("mprotect", 1, 0, &[("prot", OwnedValue::UInt(5))])],
            vec![],
        ),
        (
            "mprotect wx refused",
            vec![ev("mprotect", 1, -13, &[("prot", OwnedValue::UInt(6))])],
            vec![],
        ),
        (
            "exec memfd",
            vec![ev(
                "sched_process_exec",
                1,
                0,
                &[("pathname", s("/memfd:payload (deleted)"))],
            )],
            vec!["TRC-5"],
        ),
        (
            "exec memfd bare",
            vec![ev(
                "sched_process_exec",
                1,
                0,
                &[("pathname", s("memfd:x"))],
            )],
            vec!["TRC-5"],
        ),
        (
            "exec /dev/shm",
            vec![ev(
                "sched_process_exec",
                1,
                0,
                &[("pathname", s("/dev/shm/x"))],
            )],
            vec!["TRC-5"],
        ),
        (
            "exec /usr/bin",
            vec![ev(
                "sched_process_exec",
                1,
                0,
                &[("pathname", s("/usr/bin/memfd:x"))],
            )],
            vec![],
        ),
        (
            "finit_module",
            vec![ev(
                "finit_module",
                1,
                -8,
                &[("fd", int(3)), ("param_values", s(""))],
            )],
            vec!["TRC-6"],
        ),
        (
            "init_module",
            vec![ev("init_module", 1, -1, &[("param_values", s("debug=1"))])],
            vec!["TRC-6"],
        ),
        (
            "execve LD_PRELOAD",
            vec![ev(
                "execve",
                1,
                0,
                &[("envp", strs(&["PATH=/bin", "LD_PRELOAD=/tmp/x.so"]))],
            )],
            vec!["TRC-7"],
        ),
        (
            "execveat LD_PRELOAD",
            vec![ev(
                "execveat",
                1,
                0,
                &[("envp", strs(&["LD_PRELOAD=/tmp/x.so"]))],
            )],
            vec!["TRC-7"],
        ),
        (
            "execve LD_LIBRARY_PATH (set by ordinary launchers)",
            vec![ev(
                "execve",
                1,
                0,
                &[("envp", strs(&["LD_LIBRARY_PATH=/tmp"]))],
            )],
            vec![],
        ),
        (
            "execve LD_PRELOADX",
            vec![ev(
                "execve",
                1,
                0,
                &[("envp", strs(&["LD_PRELOADX=1", "X=LD_PRELOAD=1"]))],
            )],
            vec![],
        ),
        (
            "open ld.so.preload w",
            vec![ev(
                "openat",
                1,
                3,
                &[
                    ("pathname", s("/etc/ld.so.preload")),
                    ("flags", int(O_WRONLY | 0o100)),
                ],
            )],
            vec!["TRC-7"],
        ),
        (
            "open ld.so.preload r",
            vec![ev(
                "openat",
                1,
                3,
                &[
                    ("pathname", s("/etc/ld.so.preload")),
                    ("flags", int(O_RDONLY)),
                ],
            )],
            vec![],
        ),
        (
            "connect then dup2 onto stdout",
            vec![
                ev(
                    "connect",
                    7,
                    0,
                    &[("sockfd", int(3)), ("addr", inet([10, 0, 0, 1], 4444))],
                ),
                ev("dup2", 7, 1, &[("oldfd", int(3)), ("newfd", int(1))]),
            ],
            vec!["TRC-1"],
        ),
        (
            "non-blocking connect then dup3 onto stdin",
            vec![
                ev(
                    "connect",
                    7,
                    -115,
                    &[("sockfd", int(5)), ("addr", inet([10, 0, 0, 1], 4444))],
                ),
                ev(
                    "dup3",
                    7,
                    0,
                    &[("oldfd", int(5)), ("newfd", int(0)), ("flags", int(0))],
                ),
            ],
            vec!["TRC-1"],
        ),
        (
            "dup of a dup of the socket",
            vec![
                ev(
                    "connect",
                    7,
                    0,
                    &[("sockfd", int(3)), ("addr", inet([10, 0, 0, 1], 4444))],
                ),
                ev("dup2", 7, 10, &[("oldfd", int(3)), ("newfd", int(10))]),
                ev("dup2", 7, 2, &[("oldfd", int(10)), ("newfd", int(2))]),
            ],
            vec!["TRC-1"],
        ),
        (
            "another process's socket",
            vec![
                ev(
                    "connect",
                    7,
                    0,
                    &[("sockfd", int(3)), ("addr", inet([10, 0, 0, 1], 4444))],
                ),
                ev("dup2", 8, 1, &[("oldfd", int(3)), ("newfd", int(1))]),
            ],
            vec![],
        ),
        (
            "failed connect",
            vec![
                ev(
                    "connect",
                    7,
                    -111,
                    &[("sockfd", int(3)), ("addr", inet([10, 0, 0, 1], 4444))],
                ),
                ev("dup2", 7, 1, &[("oldfd", int(3)), ("newfd", int(1))]),
            ],
            vec![],
        ),
        (
            "unix socket",
            vec![
                ev(
                    "connect",
                    7,
                    0,
                    &[
                        ("sockfd", int(3)),
                        (
                            "addr",
                            OwnedValue::Sockaddr(Sockaddr::Unix {
                                path: "/run/x".into(),
                            }),
                        ),
                    ],
                ),
                ev("dup2", 7, 1, &[("oldfd", int(3)), ("newfd", int(1))]),
            ],
            vec![],
        ),
        (
            "socket fd overwritten before the dup",
            vec![
                ev(
                    "connect",
                    7,
                    0,
                    &[("sockfd", int(3)), ("addr", inet([10, 0, 0, 1], 4444))],
                ),
                ev("dup2", 7, 3, &[("oldfd", int(4)), ("newfd", int(3))]),
                ev("dup2", 7, 1, &[("oldfd", int(3)), ("newfd", int(1))]),
            ],
            vec![],
        ),
        (
            "process exited, pid reused",
            vec![
                ev(
                    "connect",
                    7,
                    0,
                    &[("sockfd", int(3)), ("addr", inet([10, 0, 0, 1], 4444))],
                ),
                ev("sched_process_exit", 7, 0, &[]),
                ev("dup2", 7, 1, &[("oldfd", int(3)), ("newfd", int(1))]),
            ],
            vec![],
        ),
    ];
    for (what, events, want) in cases {
        assert_eq!(ids(&events), want, "{what}");
    }
}

#[test]
fn findings_carry_evidence_and_the_trigger() {
    let events = [
        ev(
            "connect",
            7,
            0,
            &[("sockfd", int(3)), ("addr", inet([10, 0, 0, 1], 4444))],
        ),
        ev("dup2", 7, 1, &[("oldfd", int(3)), ("newfd", int(1))]),
    ];
    let (_, f) = fired(&events).pop().expect("a finding");
    assert_eq!(
        f.data.get("remote").map(String::as_str),
        Some("10.0.0.1:4444")
    );
    assert_eq!(f.data.get("fd").map(String::as_str), Some("1"));
    assert_eq!(f.event.event_name, "dup2");
    let text = f.to_string();
    assert!(
        text.starts_with("*** Detection ***\nSignature ID: TRC-1\n"),
        "{text}"
    );
    let json = serde_json::to_value(&f).expect("serializes");
    assert_eq!(json["signature"]["id"], "TRC-1");
    assert_eq!(json["signature"]["severity"], "high");
    assert_eq!(json["data"]["remote"], "10.0.0.1:4444");
    assert_eq!(json["event"]["event_name"], "dup2");
}

#[test]
fn engine_asks_for_the_union_of_events_and_checks_them() {
    let e = engine();
    let events = e.events();
    for name in [
        "connect",
        "dup2",
        "ptrace",
        "openat",
        "mprotect",
        "sched_process_exec",
        "finit_module",
        "execve",
    ] {
        assert!(events.contains(&name), "{name} missing from {events:?}");
    }
    let mut sorted = events.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, events, "sorted, no duplicates");
    e.validate(&Catalog::default())
        .expect("every built-in event is in the catalog");
    let ids: Vec<&str> = e.signatures().map(|m| m.id).collect();
    assert_eq!(
        ids,
        ["TRC-1", "TRC-2", "TRC-3", "TRC-4", "TRC-5", "TRC-6", "TRC-7"]
    );
}

#[test]
fn engine_refuses_bad_signature_sets() {
    let mut twice = builtin::all();
    twice.push(Box::new(builtin::AntiDebugging));
    match SignatureEngine::new(twice) {
        Err(SignatureError::DuplicateId { id }) => assert_eq!(id, "TRC-2"),
        other => panic!("duplicate id accepted: {:?}", other.err()),
    }

    struct Typo;
    impl tracee_core::signatures::Signature for Typo {
        fn metadata(&self) -> &tracee_core::signatures::SignatureMetadata {
            static M: tracee_core::signatures::SignatureMetadata =
                tracee_core::signatures::SignatureMetadata::new(
                    "T-1",
                    "1",
                    "typo",
                    "asks for a misspelt event",
                    tracee_core::signatures::Severity::Info,
                    "",
                );
            &M
        }
        fn events(&self) -> &[&'static str] {
            &["opnat"]
        }
        fn on_event(&mut self, _: &Event) -> Option<Finding> {
            None
        }
    }
    let e = SignatureEngine::new(vec![Box::new(Typo)]).expect("no duplicate");
    let err = e.validate(&Catalog::default()).expect_err("unknown event");
    assert_eq!(
        err.to_string(),
        "signature T-1 asks for unknown event \"opnat\", did you mean \"openat\"?"
    );
}

#[test]
fn counts_follow_findings() {
    let mut e = engine();
    let trace_me = ev("ptrace", 1, 0, &[("request", int(0)), ("pid", int(0))]);
    e.process(&trace_me);
    e.process(&trace_me);
    e.process(&ev("close", 1, 0, &[]));
    let counts: Vec<(&str, u64)> = e.counts().collect();
    assert!(counts.contains(&("TRC-2", 2)), "{counts:?}");
    assert!(counts.contains(&("TRC-3", 0)), "{counts:?}");
}
