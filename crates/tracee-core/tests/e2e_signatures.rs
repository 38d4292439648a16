//! Privileged end-to-end test: the built-in signatures fire on real syscalls made by children
//! this test spawns (perl, present on every Debian system as perl-base, makes the raw
//! syscalls), and stay quiet on a benign child.

mod e2e_common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e_common::tracer_or_skip;
use tracee_core::signatures::{builtin, SignatureEngine};
use tracee_core::tracer::Tracer;

#[cfg(target_arch = "x86_64")]
mod nr {
    pub const MMAP: u32 = 9;
    pub const PTRACE: u32 = 101;
    pub const FINIT_MODULE: u32 = 313;
    pub const MEMFD_CREATE: u32 = 319;
}
#[cfg(target_arch = "aarch64")]
mod nr {
    pub const MMAP: u32 = 222;
    pub const PTRACE: u32 = 117;
    pub const FINIT_MODULE: u32 = 273;
    pub const MEMFD_CREATE: u32 = 279;
}

/// Runs `perl -e SCRIPT` to completion; its pid. (perl's `syscall` may write into string
/// arguments, so they are passed as variables, not literals.)
fn perl(script: &str) -> u32 {
    run(Command::new("perl").args(["-e", script]))
}

fn run(cmd: &mut Command) -> u32 {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let pid = child.id();
    let out = child.wait_with_output().expect("wait for child");
    assert!(
        out.status.success(),
        "child {cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    pid
}

#[test]
fn e2e_builtin_signatures_fire_on_real_syscalls() {
    let mut engine = SignatureEngine::new(builtin::all()).expect("built-ins are consistent");
    let Some(tracer) = tracer_or_skip(
        "e2e_builtin_signatures_fire_on_real_syscalls",
        Tracer::builder().events(engine.events()),
    ) else {
        return;
    };
    engine.validate(tracer.catalog()).expect("events known");

    // pid → the signature id its child must trigger.
    let mut want: BTreeMap<u32, &str> = BTreeMap::new();

    let listener = TcpListener::bind("127.0.0.1:0").expect("listen on loopback");
    let port = listener.local_addr().expect("local addr").port();
    want.insert(
        perl(&format!(
            "use IO::Socket::INET; use POSIX; \
             my $s = IO::Socket::INET->new('127.0.0.1:{port}') or die \"connect: $!\"; \
             POSIX::dup2(fileno($s), 1) or die \"dup2: $!\"; print \"owned\\n\";"
        )),
        "TRC-1",
    );
    want.insert(
        perl(&format!(
            "syscall({}, 0, 0, 0, 0) == 0 or die \"ptrace: $!\"",
            nr::PTRACE
        )),
        "TRC-2",
    );
    want.insert(
        perl("open(my $m, '+<', '/proc/self/mem') or die \"open: $!\""),
        "TRC-3",
    );
    // PROT_READ|PROT_WRITE|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS.
    want.insert(
        perl(&format!(
            "syscall({}, 0, 4096, 7, 0x22, -1, 0) > 0 or die \"mmap: $!\"",
            nr::MMAP
        )),
        "TRC-4",
    );
    // Copy /bin/true into a memfd and execute it from there.
    want.insert(
        perl(&format!(
            "my $name = 'tracee-rs-trc5'; my $fd = syscall({}, $name, 0); $fd >= 0 or die \"memfd: $!\"; \
             open(my $in, '<:raw', '/bin/true') or die; local $/; my $elf = <$in>; \
             open(my $out, '>&=', $fd) or die; binmode $out; syswrite($out, $elf) == length($elf) or die; \
             exec(\"/proc/self/fd/$fd\") or die \"exec: $!\";",
            nr::MEMFD_CREATE
        )),
        "TRC-5",
    );
    // /dev/null is no module: the kernel refuses it, the attempt is what counts.
    want.insert(
        perl(&format!(
            "open(my $f, '<', '/dev/null') or die; my $params = ''; syscall({}, fileno($f), $params, 0); exit 0",
            nr::FINIT_MODULE
        )),
        "TRC-6",
    );
    want.insert(
        run(Command::new("/bin/true").env("LD_PRELOAD", "/nonexistent/tracee-rs-trc7.so")),
        "TRC-7",
    );
    let benign = run(&mut Command::new("/bin/true"));
    drop(listener);

    let ours: BTreeSet<u32> = want.keys().copied().chain([benign]).collect();
    let mut got: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
    // What our children executed, for the failure message.
    let mut execs: Vec<(u32, String)> = Vec::new();
    let deadline = Instant::now() + e2e_common::scaled(Duration::from_secs(20));
    let all_in = |got: &BTreeMap<u32, BTreeSet<String>>| {
        want.iter()
            .all(|(pid, id)| got.get(pid).is_some_and(|ids| ids.contains(*id)))
    };
    while Instant::now() < deadline && !all_in(&got) {
        let Some(ev) = tracer.next_timeout(Duration::from_millis(50)) else {
            continue;
        };
        if !ours.contains(&ev.header.pid) {
            continue;
        }
        if ev.event_name == "sched_process_exec" {
            let path = ev.arg("pathname").and_then(|v| v.as_str()).unwrap_or("?");
            execs.push((ev.header.pid, path.to_owned()));
        }
        for f in engine.process(&ev) {
            got.entry(f.event.header.pid)
                .or_default()
                .insert(f.signature.id.to_owned());
        }
    }
    // Give stragglers for the benign child a moment to show up before judging it.
    let settle = Instant::now() + Duration::from_millis(300);
    while Instant::now() < settle {
        if let Some(ev) = tracer.next_timeout(Duration::from_millis(50)) {
            if ev.header.pid == benign {
                for f in engine.process(&ev) {
                    got.entry(benign)
                        .or_default()
                        .insert(f.signature.id.to_owned());
                }
            }
        }
    }
    let stats = tracer.stats();
    tracer.stop();

    for (pid, id) in &want {
        assert!(
            got.get(pid).is_some_and(|ids| ids.contains(*id)),
            "{id} did not fire for its child (pid {pid}); findings per pid: {got:?}; \
             execs: {execs:?}; tracer stats: {stats:?}"
        );
    }
    assert!(
        !got.contains_key(&benign),
        "benign /bin/true (pid {benign}) triggered {:?}",
        got[&benign]
    );
}
