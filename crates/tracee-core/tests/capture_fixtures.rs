//! Re-captures the decoder fixtures and the fuzz corpus from the real tracer:
//!
//! ```text
//! sudo cargo test -p tracee-core --test capture_fixtures -- --ignored
//! ```
//!
//! Writes `tests/fixtures/{openat,execve,sched_process_exec,sched_process_fork,
//! sched_process_exit}.bin` (one raw ring-buffer record each) and every record of the spawned
//! children into `fuzz/corpus/event_decode/`. The children run with a fixed environment
//! (ten variables) so the fixtures hold nothing of this machine's environment.

mod e2e_common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use e2e_common::tracer_or_skip;
use tracee_core::decode::EventRef;
use tracee_core::tracer::Tracer;

const ENV: [(&str, &str); 10] = [
    ("HOME", "/home/fixture"),
    ("PATH", "/usr/local/bin:/usr/bin:/bin"),
    ("LANG", "C.UTF-8"),
    ("TERM", "xterm-256color"),
    ("USER", "fixture"),
    ("SHELL", "/bin/sh"),
    ("PWD", "/home/fixture/work"),
    ("LOGNAME", "fixture"),
    ("TZ", "UTC"),
    ("EDITOR", "vi"),
];

pub const OPENAT_PATH: &str = "/tmp/tracee-fixture-openat.txt";

#[test]
#[ignore = "privileged; rewrites the committed fixtures"]
fn capture_fixtures() {
    let Some(tracer) = tracer_or_skip(
        "capture_fixtures",
        Tracer::builder().events([
            "openat",
            "execve",
            "sched_process_exec",
            "sched_process_fork",
            "sched_process_exit",
        ]),
    ) else {
        return;
    };
    std::fs::write(OPENAT_PATH, "fixture\n").expect("write the openat target");
    let mut pids = Vec::new();
    let mut c = Command::new("/bin/cat");
    c.arg(OPENAT_PATH)
        .env_clear()
        .envs(ENV)
        .current_dir("/")
        .stdout(std::process::Stdio::null());
    pids.push(c.spawn().expect("spawn cat"));
    let mut c = Command::new("/bin/true");
    c.args(["--fixture", "one", "two"])
        .env_clear()
        .envs(ENV)
        .current_dir("/");
    pids.push(c.spawn().expect("spawn true"));
    let mut c = Command::new("/bin/sh");
    c.args(["-c", "/bin/true from-sh; exit 3"])
        .env_clear()
        .envs(ENV)
        .current_dir("/");
    pids.push(c.spawn().expect("spawn sh"));
    let ids: Vec<u32> = pids.iter().map(|c| c.id()).collect();
    for mut c in pids {
        let _ = c.wait();
    }
    let rx = tracer.raw_events().expect("channel mode");
    let mut recs: Vec<Vec<u8>> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(b) = rx.recv_timeout(Duration::from_millis(100)) {
            let ev = EventRef::parse(&b).expect("the tracer's own records decode");
            if ids.contains(&ev.pid()) || ids.contains(&ev.ppid()) {
                recs.push(b);
            }
        }
    }
    tracer.stop();
    let cat = tracer.catalog().clone();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let fixtures = root.join("tests/fixtures");
    let corpus = root.join("../../fuzz/corpus/event_decode");
    let mut chosen: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for (i, b) in recs.iter().enumerate() {
        let ev = EventRef::parse(b).expect("decodes");
        let def = cat.get(ev.event_id()).expect("known event");
        let name = def.name();
        std::fs::write(corpus.join(format!("{name}-{i:03}.bin")), b).expect("write corpus");
        let want = match name {
            "openat" => ev
                .arg_named(def, "pathname")
                .and_then(|a| a.as_str())
                .is_some_and(|p| p == OPENAT_PATH),
            "execve" | "sched_process_exec" => ev
                .arg_named(def, "argv")
                .and_then(|a| a.as_str_array())
                .is_some_and(|a| a.iter().any(|s| s == b"--fixture")),
            "sched_process_exit" => ev.comm() == "sh",
            _ => true,
        };
        if want {
            chosen.entry(name).or_insert_with(|| b.clone());
        }
    }
    for (name, b) in &chosen {
        std::fs::write(fixtures.join(format!("{name}.bin")), b).expect("write fixture");
        eprintln!("fixture {name}: {} bytes", b.len());
    }
    for n in [
        "openat",
        "execve",
        "sched_process_exec",
        "sched_process_fork",
        "sched_process_exit",
    ] {
        assert!(
            chosen.contains_key(n),
            "no {n} captured among {} records",
            recs.len()
        );
    }
}
