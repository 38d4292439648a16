//! Throughput under an openat storm (run as root; `harness = false`):
//!
//! ```text
//! sudo cargo bench --bench throughput [-- --iterations 1000000]
//! ```
//!
//! One run, three phases, each a child process doing `iterations` × open+close of one file:
//! untraced; traced by tracee-rs (event `openat` with its pathname, counted in a callback that
//! checks the path); traced by `bpftrace -e` printing pid and pathname of every openat. Prints
//! each phase's time, the slowdowns, and our received/dropped counts. Goal: ≤ 1.2× with no
//! event lost. Results are recorded in docs/performance.md (`## Throughput`).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracee_core::tracer::Tracer;

fn cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid clock id and out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// One storm's duration: wall clock, and CPU time (user + system, which includes the BPF
/// programs run in its syscalls) — the latter unaffected by waiting for a busy core.
#[derive(Debug, Clone, Copy)]
struct Times {
    wall: Duration,
    cpu: Duration,
}

/// Child mode: wait for a line on stdin, run the storm, print wall and CPU nanoseconds.
fn storm(n: u64, path: &str) {
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    let c = cpu_ns();
    let t = Instant::now();
    for _ in 0..n {
        match File::open(path) {
            Ok(f) => drop(f),
            Err(e) => {
                eprintln!("storm: open {path}: {e}");
                std::process::exit(1);
            }
        }
    }
    let wall = t.elapsed().as_nanos();
    println!("{wall} {}", cpu_ns() - c);
}

/// Run one storm child; `ready(pid)` runs after spawn and before the storm starts.
fn run_storm(n: u64, path: &str, ready: impl FnOnce(u32)) -> Times {
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args(["--storm", &n.to_string(), path])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the storm child");
    ready(child.id());
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"go\n")
        .expect("start the storm");
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read the storm's result");
    let status = child.wait().expect("wait");
    assert!(status.success(), "storm child failed: {status}");
    let mut it = out
        .split_whitespace()
        .map(|v| v.parse::<u64>().expect("storm prints nanoseconds"));
    Times {
        wall: Duration::from_nanos(it.next().expect("wall time")),
        cpu: Duration::from_nanos(it.next().expect("cpu time")),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--storm") {
        let n = args[i + 1].parse().expect("iterations");
        storm(n, &args[i + 2]);
        return;
    }
    let n: u64 = args
        .iter()
        .position(|a| a == "--iterations")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    if args.iter().any(|a| a == "--list") {
        return; // `cargo bench -- --list`
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("throughput: skipped, needs root (BPF)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("tracee-storm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("target.txt");
    std::fs::write(&path, "storm\n").expect("storm target");
    let path_s = path.to_str().expect("utf-8").to_string();

    // Warm the page cache and the binary.
    run_storm(n / 10, &path_s, |_| {});
    let base = run_storm(n, &path_s, |_| {});
    println!(
        "untraced:  wall {:>7.3} s  cpu {:>7.3} s  ({:.0} ns cpu per open+close)",
        base.wall.as_secs_f64(),
        base.cpu.as_secs_f64(),
        base.cpu.as_nanos() as f64 / n as f64
    );

    // tracee-rs
    let target = Arc::new(AtomicU32::new(0));
    let seen = Arc::new(AtomicU64::new(0));
    let (t2, s2, want) = (target.clone(), seen.clone(), path_s.clone().into_bytes());
    let tracer = Tracer::builder()
        .events(["openat"])
        .build_with_callback(move |ev| {
            if ev.pid() == t2.load(Ordering::Relaxed)
                && ev.arg(1).and_then(|a| a.as_bytes()) == Some(&want[..])
            {
                s2.fetch_add(1, Ordering::Relaxed);
            }
        })
        .expect("start the tracer");
    let ours = run_storm(n, &path_s, |pid| target.store(pid, Ordering::Relaxed));
    // Let the reader drain (it polls every 10 ms).
    let mut last = u64::MAX;
    while seen.load(Ordering::Relaxed) != last {
        last = seen.load(Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(200));
    }
    tracer.stop();
    let stats = tracer.stats();
    let got = seen.load(Ordering::Relaxed);
    println!(
        "tracee-rs: wall {:>7.3} s  cpu {:>7.3} s  slowdown wall {:.2}x cpu {:.2}x  events {got}/{n}  drops {} (kernel {}, channel {})  all openat received {}",
        ours.wall.as_secs_f64(),
        ours.cpu.as_secs_f64(),
        ours.wall.as_secs_f64() / base.wall.as_secs_f64(),
        ours.cpu.as_secs_f64() / base.cpu.as_secs_f64(),
        stats.drops.total(),
        stats.drops.kernel,
        stats.drops.channel_overflow,
        stats.received
    );
    drop(tracer);

    // bpftrace
    let out_path = dir.join("bpftrace.out");
    let prog =
        "tracepoint:syscalls:sys_enter_openat { printf(\"%d %s\\n\", pid, str(args->filename)); }";
    match Command::new("bpftrace")
        .args(["-e", prog])
        .stdout(File::create(&out_path).expect("bpftrace output file"))
        .stderr(Stdio::piped())
        .spawn()
    {
        Err(e) => println!("bpftrace:  not run ({e}); install it with `apt-get install bpftrace`"),
        Ok(mut bt) => {
            // Wait until it has attached.
            let t0 = Instant::now();
            loop {
                let s = std::fs::read_to_string(&out_path).unwrap_or_default();
                if s.contains("Attaching") || t0.elapsed() > Duration::from_secs(30) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            std::thread::sleep(Duration::from_millis(500));
            let pid = Arc::new(AtomicU32::new(0));
            let p2 = pid.clone();
            let theirs = run_storm(n, &path_s, move |p| p2.store(p, Ordering::Relaxed));
            std::thread::sleep(Duration::from_secs(1));
            let _ = Command::new("kill")
                .args(["-INT", &bt.id().to_string()])
                .status();
            let _ = bt.wait();
            let mut err = String::new();
            if let Some(mut e) = bt.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            let prefix = format!("{} {}", pid.load(Ordering::Relaxed), path_s);
            let lines = BufReader::new(File::open(&out_path).expect("bpftrace output"))
                .lines()
                .map_while(Result::ok)
                .filter(|l| *l == prefix)
                .count();
            let lost: Vec<&str> = err.lines().filter(|l| l.contains("Lost")).collect();
            println!(
                "bpftrace:  wall {:>7.3} s  cpu {:>7.3} s  slowdown wall {:.2}x cpu {:.2}x  lines with the path {lines}/{n}  {}",
                theirs.wall.as_secs_f64(),
                theirs.cpu.as_secs_f64(),
                theirs.wall.as_secs_f64() / base.wall.as_secs_f64(),
                theirs.cpu.as_secs_f64() / base.cpu.as_secs_f64(),
                if lost.is_empty() {
                    "no loss reported".to_string()
                } else {
                    lost.join("; ")
                }
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
