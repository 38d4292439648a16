//! Throughput under an openat storm (run as root; `harness = false`):
//!
//! ```text
//! sudo cargo bench --bench throughput [-- --iterations 1000000 --rounds 5 --no-bpftrace]
//! ```
//!
//! Each phase is a child process doing `iterations` × open+close of one file:
//!
//! - `untraced`;
//! - `tracee-rs`: traced by us (event `openat` with its pathname read at syscall exit, counted
//!   in a callback that checks pid and path);
//! - `scoped` (paired only): `tracee-rs` selected by a policy with `--scope comm=tr-storm`,
//!   which the storm matches: every event goes through the kernel's filters, as in any run of
//!   the `tracee` example or of Tracee itself;
//! - `filtered`: traced by us with `--events openat --scope comm=<a comm nothing has>`: the
//!   kernel must drop every event before any output (issue 7: ≤ 1.05×), and its counters
//!   must show 0 emitted;
//! - `hooks`: traced by us with only `acct` selected, which the storm never calls: the cost
//!   of having the sys_enter/sys_exit hooks attached at all (every syscall runs both
//!   programs, which return after one lookup each) — the floor under the two phases above;
//! - `floor-exit` and `floor-pair`: empty programs (`bpf/bench/floor.bpf.c`) on
//!   `tp_btf/sys_exit` alone (the hook tracee-rs attaches by default) and on the
//!   `raw_tp/sys_enter` + `raw_tp/sys_exit` pair (Tracee's hooks): what attaching to the
//!   syscall tracepoints costs before a program does anything — no tracer on those hooks can
//!   go under it;
//! - `floor-evt` (paired only): the least a tracer of "openat with its path" can do on
//!   `tp_btf/sys_exit`: per openat, one fixed-size ring-buffer record with the pid and the
//!   path read straight into it; no header, filters or wakeups (the reader polls every
//!   10 ms). The floor under `tracee-rs` for any event format;
//! - `floor-bat` (paired only): the same records gathered per CPU and sent to the ring 8 KiB
//!   at a time: what spreading the ring's cost over ~100 events would save;
//! - `bpftrace`: `bpftrace -e` printing pid and pathname of every openat;
//! - with `--compare-object FILE` (another build of `tracee.bpf.o`, e.g. `git show
//!   REV:crates/tracee-core/bpf/tracee.bpf.o > old.o`): `other` and `other-filt`, the
//!   tracee-rs and filtered phases with that object, interleaved with the rest (an A/B
//!   comparison that the machine's drifts cannot skew).
//!
//! The phases are interleaved over `rounds` rounds (the order rotates each round) and each
//! tracer is loaded only during its own phase, so slow drifts of a shared VM hit every phase
//! alike. A round's slowdown is the phase's CPU time (user + system of the storm, which
//! includes the BPF programs run in its syscalls) over the same round's untraced CPU time;
//! the report gives the median and the range over rounds, wall time too. Each storm also
//! times its batches of `--batch` (20,000) iterations: a shared VM's steal and other load
//! only ever add time, so the low quantiles of a phase's batches (pooled over rounds), over
//! the same quantiles of the untraced batches, estimate the slowdown with the noise left
//! out; the report gives the 10th and 25th percentiles.
//!
//! Then the **paired** measurement, the one that holds on a noisy VM: one storm child per
//! configuration (tracee-rs, filtered, hooks, the three floors) runs `2 × iterations / batch`
//! batches, and the parent attaches the configuration's programs before every other batch and
//! detaches them after it (`Tracer::pause`/`resume`, or the floor module's links). Each
//! traced batch is compared with the mean of its two untraced neighbours, a few tens of
//! milliseconds apart in the same process: the VM's drifts cancel. The report gives the
//! median of those ratios with the interquartile range; tracee-rs must receive exactly one
//! event per traced open (none of the untraced batches').
//!
//! Then one profiling storm per tracer configuration with `kernel.bpf_stats_enabled=1`
//! (restored afterwards; it adds two clock reads per program run, so it is kept out of the
//! timed rounds) prints each BPF program's runs and ns/run: the in-kernel cost without the
//! VM's noise. Goal (issue 6): ≤ 1.2× with no event lost; results go to docs/performance.md.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracee_bpf_obj::module::buffers::{BufferReader, WakeupPolicy};
use tracee_core::events::Catalog;
use tracee_core::filters::{policy_from_flags, PolicySet};
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

/// CPU ns per open+close of each batch of a storm.
type Batches = Vec<f64>;

/// `n` × open+close of `path`; exits the (child) process if an open fails.
fn open_close(path: &str, n: u64) {
    for _ in 0..n {
        match File::open(path) {
            Ok(f) => drop(f),
            Err(e) => {
                eprintln!("storm: open {path}: {e}");
                std::process::exit(1);
            }
        }
    }
}

/// Child mode: wait for a line on stdin, run the storm, print wall and CPU nanoseconds,
/// then the CPU nanoseconds per open+close of each batch of `batch` iterations.
fn storm(n: u64, batch: u64, path: &str) {
    // A name of its own, for `perf report --comm tr-storm`.
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, c"tr-storm".as_ptr()) };
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    let batch = batch.clamp(1, n.max(1));
    let mut batches = Vec::with_capacity((n / batch + 1) as usize);
    let c = cpu_ns();
    let t = Instant::now();
    let mut done = 0;
    while done < n {
        let k = batch.min(n - done);
        let b = cpu_ns();
        open_close(path, k);
        batches.push((cpu_ns() - b) as f64 / k as f64);
        done += k;
    }
    let wall = t.elapsed().as_nanos();
    let batches: Vec<String> = batches.iter().map(|b| format!("{b:.1}")).collect();
    println!("{wall} {} {}", cpu_ns() - c, batches.join(" "));
}

/// Child mode of the paired measurement: for every byte read on stdin, one batch of `batch`
/// open+close; prints its CPU ns per open+close on a line of its own. Ends at EOF.
fn storm_paired(batch: u64, path: &str) {
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, c"tr-storm".as_ptr()) };
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    let mut go = [0u8; 1];
    while stdin.read_exact(&mut go).is_ok() {
        let c = cpu_ns();
        open_close(path, batch);
        let ns = (cpu_ns() - c) as f64 / batch as f64;
        writeln!(stdout, "{ns:.1}").expect("report a batch");
        stdout.flush().expect("flush");
    }
}

/// Programs the paired measurement attaches and detaches between batches.
// One value per configuration, built once and never moved in the timed loop.
#[allow(clippy::large_enum_variant)]
enum Hooked {
    Tracer(Box<Tracer>),
    Floor {
        module: tracee_bpf_obj::module::Module,
        kind: Floor,
        /// `Floor::Event`: drains `floor_events`, counting the records.
        reader: Option<BufferReader>,
    },
}

/// The programs of `bpf/bench/floor.bpf.c` a floor configuration attaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Floor {
    /// `floor_exit`: an empty tp_btf/sys_exit program.
    Exit,
    /// `floor_enter` + `floor_exit_raw`: the empty raw_tp pair.
    Pair,
    /// `floor_event`: one bare record (pid, path) per openat.
    Event,
    /// `floor_batch`: the same records, sent to the ring 8 KiB at a time.
    Batch,
}

impl Hooked {
    fn floor(kind: Floor) -> Hooked {
        let module = tracee_bpf_obj::module::ModuleBuilder::from_bytes(FLOOR_OBJECT)
            .object_name("floor")
            .load()
            .expect("load bpf/bench/floor.bpf.o");
        let reader = matches!(kind, Floor::Event | Floor::Batch).then(|| {
            BufferReader::ring_buffer(&module, "floor_events")
                .expect("floor_events ring buffer")
                .wakeup(WakeupPolicy::Interval(Duration::from_millis(10)))
                .no_drops_map()
                .start_callback(|_| {})
                .expect("start the floor_events reader")
        });
        Hooked::Floor {
            module,
            kind,
            reader,
        }
    }

    fn set(&mut self, on: bool) {
        match self {
            Hooked::Tracer(t) if on => t.resume().expect("resume the tracer"),
            Hooked::Tracer(t) => t.pause(),
            Hooked::Floor { module, .. } if !on => module.detach_all(),
            Hooked::Floor { module, kind, .. } => match kind {
                Floor::Pair => {
                    module
                        .attach_raw_tracepoint("floor_exit_raw", "sys_exit")
                        .expect("attach floor_exit_raw");
                    module
                        .attach_raw_tracepoint("floor_enter", "sys_enter")
                        .expect("attach floor_enter");
                }
                Floor::Exit => {
                    module
                        .attach_tp_btf("floor_exit")
                        .expect("attach floor_exit");
                }
                Floor::Event => {
                    module
                        .attach_tp_btf("floor_event")
                        .expect("attach floor_event");
                }
                Floor::Batch => {
                    module
                        .attach_tp_btf("floor_batch")
                        .expect("attach floor_batch");
                }
            },
        }
    }

    /// Records the `floor_events` reader received once the ring is drained (else 0).
    fn floor_records(&self) -> u64 {
        match self {
            Hooked::Floor {
                reader: Some(r), ..
            } => {
                std::thread::sleep(Duration::from_millis(50));
                r.received()
            }
            _ => 0,
        }
    }
}

/// What a paired measurement found: per traced batch, its CPU ns per open+close over the mean
/// of its untraced neighbours'.
struct Paired {
    ratios: Vec<f64>,
    extra_ns: Vec<f64>,
    traced_opens: u64,
}

/// Runs `batches` batches (an odd count: untraced first and last) in one child, `hooked`
/// attached for the odd-numbered ones; `ready(pid)` runs before the first batch.
fn paired(
    batches: usize,
    batch: u64,
    path: &str,
    hooked: &mut Hooked,
    ready: impl FnOnce(u32),
) -> Paired {
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args(["--storm-paired", &batch.to_string(), path])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the paired storm child");
    ready(child.id());
    let mut to = child.stdin.take().expect("stdin");
    let mut from = BufReader::new(child.stdout.take().expect("stdout"));
    hooked.set(false);
    let mut ns = Vec::with_capacity(batches);
    for i in 0..batches {
        let traced = i % 2 == 1;
        hooked.set(traced);
        to.write_all(b"g").expect("start a batch");
        to.flush().expect("flush");
        let mut line = String::new();
        from.read_line(&mut line).expect("read a batch");
        ns.push(line.trim().parse::<f64>().expect("batch ns"));
        if traced {
            hooked.set(false);
        }
    }
    drop(to);
    let status = child.wait().expect("wait");
    assert!(status.success(), "paired storm child failed: {status}");
    let mut out = Paired {
        ratios: Vec::new(),
        extra_ns: Vec::new(),
        traced_opens: 0,
    };
    for i in (1..batches.saturating_sub(1)).step_by(2) {
        let base = (ns[i - 1] + ns[i + 1]) / 2.0;
        out.ratios.push(ns[i] / base);
        out.extra_ns.push(ns[i] - base);
        out.traced_opens += batch;
    }
    out
}

/// [`paired`] with our tracer (built-in program, or `object`) counting the storm's events;
/// returns the measurement, the events received and the events lost.
fn paired_ours(
    batches: usize,
    batch: u64,
    path: &str,
    object: Option<&Arc<[u8]>>,
    scoped: bool,
) -> (Paired, u64, u64) {
    let target = Arc::new(AtomicU32::new(0));
    let seen = Arc::new(AtomicU64::new(0));
    let tracer = our_tracer_with(
        target.clone(),
        seen.clone(),
        path.as_bytes().to_vec(),
        object,
        scoped,
    );
    let mut h = Hooked::Tracer(Box::new(tracer));
    let p = paired(batches, batch, path, &mut h, |pid| {
        target.store(pid, Ordering::Relaxed)
    });
    drain(&seen);
    let Hooked::Tracer(t) = h else {
        unreachable!("built as a tracer")
    };
    t.stop();
    (p, seen.load(Ordering::Relaxed), t.stats().drops.total())
}

/// Iterations per timed batch of a storm (`--batch`).
static BATCH: AtomicU64 = AtomicU64::new(20_000);

/// Run one storm child; `ready(pid)` runs after spawn and before the storm starts.
fn run_storm(n: u64, path: &str, ready: impl FnOnce(u32)) -> Times {
    run_storm_batches(n, path, ready).0
}

/// [`run_storm`], with the storm's batch times.
fn run_storm_batches(n: u64, path: &str, ready: impl FnOnce(u32)) -> (Times, Batches) {
    let exe = std::env::current_exe().expect("current_exe");
    let batch = BATCH.load(Ordering::Relaxed).to_string();
    let mut child = Command::new(exe)
        .args(["--storm", &n.to_string(), &batch, path])
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
        .map(|v| v.parse::<f64>().expect("storm prints nanoseconds"));
    let times = Times {
        wall: Duration::from_nanos(it.next().expect("wall time") as u64),
        cpu: Duration::from_nanos(it.next().expect("cpu time") as u64),
    };
    (times, it.collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Untraced,
    Ours,
    Filtered,
    Hooks,
    FloorExit,
    FloorPair,
    Bpftrace,
    Other,
    OtherFiltered,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Untraced => "untraced",
            Phase::Ours => "tracee-rs",
            Phase::Filtered => "filtered",
            Phase::Hooks => "hooks",
            Phase::FloorExit => "floor-exit",
            Phase::FloorPair => "floor-pair",
            Phase::Other => "other",
            Phase::OtherFiltered => "other-filt",
            Phase::Bpftrace => "bpftrace",
        }
    }
}

/// What one phase of one round measured.
#[derive(Debug, Clone)]
struct Sample {
    times: Times,
    /// CPU ns per open+close of each batch.
    batches: Batches,
    /// Tracer build + start time (ours), attach wait (bpftrace).
    startup: Duration,
    /// Events of the storm's pid with its path received (ours, bpftrace's lines).
    got: u64,
    /// Ours: kernel + channel drops. Filtered: kernel-emitted events (must be 0).
    lost: u64,
    /// Filtered: events the kernel's filters judged and dropped.
    filtered: u64,
    /// Filtered: judgements from the task's cached scope verdict.
    cached: u64,
}

/// A comm no process has, for the filtered phase.
fn nomatch_comm() -> String {
    format!("nomatch{:08x}", std::process::id())
}

/// `--events openat --scope comm=tr-storm`: the storm's opens, judged by the filters (what a
/// Tracee-style CLI run always has: a policy).
fn storm_set() -> PolicySet {
    let cat = Catalog::builtin();
    let p = policy_from_flags(&cat, "bench", &["comm=tr-storm".to_string()], &["openat"])
        .expect("valid policy");
    PolicySet::from_policies([p]).expect("policy set")
}

fn filtered_set() -> PolicySet {
    let cat = Catalog::builtin();
    let scope = [format!("comm={}", nomatch_comm())];
    let p = policy_from_flags(&cat, "bench", &scope, &["openat"]).expect("valid policy");
    PolicySet::from_policies([p]).expect("policy set")
}

/// BPF run-time statistics of one program (`struct bpf_prog_info`).
#[derive(Debug, Clone, Copy, Default)]
struct ProgStats {
    run_cnt: u64,
    run_time_ns: u64,
}

fn prog_stats(id: u32) -> Option<ProgStats> {
    // SAFETY: plain syscalls on an id; the fd is closed below.
    let fd = unsafe { libbpf_sys::bpf_prog_get_fd_by_id(id) };
    if fd < 0 {
        return None;
    }
    let mut info = libbpf_sys::bpf_prog_info::default();
    let mut len = std::mem::size_of::<libbpf_sys::bpf_prog_info>() as u32;
    // SAFETY: `info` is a writable bpf_prog_info of `len` bytes.
    let r = unsafe { libbpf_sys::bpf_prog_get_info_by_fd(fd, &mut info, &mut len) };
    // SAFETY: fd is ours.
    unsafe { libc::close(fd) };
    (r == 0).then_some(ProgStats {
        run_cnt: info.run_cnt,
        run_time_ns: info.run_time_ns,
    })
}

fn snapshot(tracer: &Tracer) -> Vec<(String, u32, ProgStats)> {
    tracer
        .programs()
        .into_iter()
        .filter_map(|p| Some((p.name, p.id?, prog_stats(p.id?)?)))
        .collect()
}

const STATS_SYSCTL: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// Runs `reps` storms traced by `tracer` with BPF run-time statistics on; prints per program
/// its runs and the lowest ns/run of the storms (the least disturbed by other load).
fn profile(label: &str, n: u64, path: &str, tracer: &Tracer, target: Option<&AtomicU32>) {
    const REPS: usize = 3;
    let mut best: Vec<(String, u64, f64)> = Vec::new();
    let mut storm_ns = f64::MAX;
    for _ in 0..REPS {
        let before = snapshot(tracer);
        let t = run_storm(n, path, |pid| {
            if let Some(t) = target {
                t.store(pid, Ordering::Relaxed)
            }
        });
        let after = snapshot(tracer);
        storm_ns = storm_ns.min(t.cpu.as_nanos() as f64 / n as f64);
        for (name, id, a) in &after {
            let Some((_, _, b)) = before.iter().find(|(_, i, _)| i == id) else {
                continue;
            };
            let runs = a.run_cnt - b.run_cnt;
            if runs == 0 {
                continue;
            }
            let ns = (a.run_time_ns - b.run_time_ns) as f64 / runs as f64;
            match best.iter_mut().find(|(n, _, _)| n == name) {
                Some(e) => {
                    e.1 = e.1.max(runs);
                    e.2 = e.2.min(ns);
                }
                None => best.push((name.clone(), runs, ns)),
            }
        }
    }
    println!("  {label}: best of {REPS} storms {storm_ns:.0} ns cpu per open+close");
    for (name, runs, ns) in best {
        println!("    {name:<24} {runs:>10} runs  {ns:>7.1} ns/run");
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// The `q` quantile (nearest rank) of `v`; NaN if empty.
fn quantile(v: &[f64], q: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n => v[((n - 1) as f64 * q).round() as usize],
    }
}

fn range(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)))
}

/// Waits until `seen` stops growing (the reader polls every 10 ms).
fn drain(seen: &AtomicU64) {
    let mut last = u64::MAX;
    while seen.load(Ordering::Relaxed) != last {
        last = seen.load(Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A tracer selecting openat with path, counting the events of `target` with `want` path.
/// The tracer builder, with `object` instead of the built-in program if given.
fn builder(object: Option<&Arc<[u8]>>) -> tracee_core::tracer::TracerBuilder {
    match object {
        Some(o) => Tracer::builder().object_bytes(o.clone()),
        None => Tracer::builder(),
    }
}

fn our_tracer(
    target: Arc<AtomicU32>,
    seen: Arc<AtomicU64>,
    want: Vec<u8>,
    object: Option<&Arc<[u8]>>,
) -> Tracer {
    our_tracer_with(target, seen, want, object, false)
}

/// [`our_tracer`]; `scoped`: selected by a policy whose scope the storm matches
/// ([`storm_set`]) instead of by `events` alone, so the kernel's filters judge every event.
fn our_tracer_with(
    target: Arc<AtomicU32>,
    seen: Arc<AtomicU64>,
    want: Vec<u8>,
    object: Option<&Arc<[u8]>>,
    scoped: bool,
) -> Tracer {
    let b = builder(object);
    let b = if scoped {
        b.policies(storm_set())
    } else {
        b.events(["openat"])
    };
    b.build_with_callback(move |ev| {
        if ev.pid() == target.load(Ordering::Relaxed)
            && ev.arg(1).and_then(|a| a.as_bytes()) == Some(&want[..])
        {
            seen.fetch_add(1, Ordering::Relaxed);
        }
    })
    .expect("start the tracer")
}

fn phase_ours(n: u64, path: &str, object: Option<&Arc<[u8]>>) -> Sample {
    let target = Arc::new(AtomicU32::new(0));
    let seen = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let tracer = our_tracer(
        target.clone(),
        seen.clone(),
        path.as_bytes().to_vec(),
        object,
    );
    let startup = t0.elapsed();
    let (times, batches) = run_storm_batches(n, path, |pid| target.store(pid, Ordering::Relaxed));
    drain(&seen);
    tracer.stop();
    let stats = tracer.stats();
    Sample {
        times,
        batches,
        startup,
        got: seen.load(Ordering::Relaxed),
        lost: stats.drops.total(),
        filtered: 0,
        cached: 0,
    }
}

/// Our tracer with [`filtered_set`]: every storm event dropped in the kernel.
fn filtered_tracer(object: Option<&Arc<[u8]>>) -> Tracer {
    builder(object)
        .policies(filtered_set())
        .build_with_callback(|_| {})
        .expect("start the filtered tracer")
}

/// Our tracer with only `acct` selected, which the storm never calls: the hooks alone.
fn hooks_tracer() -> Tracer {
    Tracer::builder()
        .events(["acct"])
        .build_with_callback(|_| {})
        .expect("start the hooks-only tracer")
}

fn phase_filtered(n: u64, path: &str, object: Option<&Arc<[u8]>>) -> Sample {
    let t0 = Instant::now();
    let tracer = filtered_tracer(object);
    let startup = t0.elapsed();
    let (times, batches) = run_storm_batches(n, path, |_| {});
    std::thread::sleep(Duration::from_millis(50));
    tracer.stop();
    let (kernel, _) = tracer.filter_stats().expect("policies are active");
    Sample {
        times,
        batches,
        startup,
        got: tracer.stats().received,
        lost: kernel.emitted,
        filtered: kernel.filtered_in_kernel,
        cached: kernel.scope_cache_hits,
    }
}

fn phase_hooks(n: u64, path: &str) -> Sample {
    let t0 = Instant::now();
    let tracer = hooks_tracer();
    let startup = t0.elapsed();
    let (times, batches) = run_storm_batches(n, path, |_| {});
    tracer.stop();
    Sample {
        times,
        batches,
        startup,
        got: tracer.stats().received,
        lost: 0,
        filtered: 0,
        cached: 0,
    }
}

/// Empty syscall hooks (`bpf/bench/floor.bpf.c`, built by scripts/build-bpf.sh).
const FLOOR_OBJECT: &[u8] = include_bytes!("../bpf/bench/floor.bpf.o");

/// A storm with the empty programs of `FLOOR_OBJECT` attached: `tp_btf/sys_exit` alone, or
/// the raw_tp pair.
fn phase_floor(n: u64, path: &str, pair: bool) -> Sample {
    let t0 = Instant::now();
    let mut h = Hooked::floor(if pair { Floor::Pair } else { Floor::Exit });
    h.set(true);
    let startup = t0.elapsed();
    let (times, batches) = run_storm_batches(n, path, |_| {});
    drop(h);
    Sample {
        times,
        batches,
        startup,
        got: 0,
        lost: 0,
        filtered: 0,
        cached: 0,
    }
}

fn phase_bpftrace(n: u64, path: &str, dir: &std::path::Path) -> Option<Sample> {
    let out_path = dir.join("bpftrace.out");
    let prog =
        "tracepoint:syscalls:sys_enter_openat { printf(\"%d %s\\n\", pid, str(args->filename)); }";
    let t0 = Instant::now();
    let mut bt = match Command::new("bpftrace")
        .args(["-e", prog])
        .stdout(File::create(&out_path).expect("bpftrace output file"))
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(bt) => bt,
        Err(e) => {
            println!("bpftrace: not run ({e}); install it with `apt-get install bpftrace`");
            return None;
        }
    };
    // Wait until it has attached.
    loop {
        let s = std::fs::read_to_string(&out_path).unwrap_or_default();
        if s.contains("Attaching") || t0.elapsed() > Duration::from_secs(30) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let startup = t0.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    let pid = Arc::new(AtomicU32::new(0));
    let p2 = pid.clone();
    let (times, batches) = run_storm_batches(n, path, move |p| p2.store(p, Ordering::Relaxed));
    std::thread::sleep(Duration::from_secs(1));
    let _ = Command::new("kill")
        .args(["-INT", &bt.id().to_string()])
        .status();
    let _ = bt.wait();
    let mut err = String::new();
    if let Some(mut e) = bt.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let prefix = format!("{} {}", pid.load(Ordering::Relaxed), path);
    let lines = BufReader::new(File::open(&out_path).expect("bpftrace output"))
        .lines()
        .map_while(Result::ok)
        .filter(|l| *l == prefix)
        .count() as u64;
    for l in err.lines().filter(|l| l.contains("Lost")) {
        println!("  bpftrace: {l}");
    }
    Some(Sample {
        times,
        batches,
        startup,
        got: lines,
        lost: n.saturating_sub(lines),
        filtered: 0,
        cached: 0,
    })
}

fn arg_u64(args: &[String], flag: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--storm") {
        let n = args[i + 1].parse().expect("iterations");
        let batch = args[i + 2].parse().expect("batch");
        storm(n, batch, &args[i + 3]);
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--storm-paired") {
        let batch = args[i + 1].parse().expect("batch");
        storm_paired(batch, &args[i + 2]);
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return; // `cargo bench -- --list`
    }
    let n = arg_u64(&args, "--iterations", 1_000_000);
    // 0: only the paired measurement and the statistics.
    let rounds = arg_u64(&args, "--rounds", 5) as usize;
    BATCH.store(arg_u64(&args, "--batch", 20_000).max(1), Ordering::Relaxed);
    let with_bpftrace = !args.iter().any(|a| a == "--no-bpftrace");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("throughput: skipped, needs root (BPF)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("tracee-storm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("target.txt");
    std::fs::write(&path, "storm\n").expect("storm target");
    let path = path.to_str().expect("utf-8").to_string();

    println!(
        "throughput: {n} open+close per storm, {rounds} rounds, load average {}",
        loadavg()
    );
    // Warm the page cache and the binary.
    run_storm(n / 10, &path, |_| {});
    let other: Option<Arc<[u8]>> = args
        .iter()
        .position(|a| a == "--compare-object")
        .and_then(|i| args.get(i + 1))
        .map(|f| Arc::from(std::fs::read(f).expect("read the --compare-object file")));
    if rounds > 0 {
        let mut phases = vec![
            Phase::Untraced,
            Phase::Ours,
            Phase::Filtered,
            Phase::Hooks,
            Phase::FloorExit,
            Phase::FloorPair,
        ];
        if with_bpftrace {
            phases.push(Phase::Bpftrace);
        }
        if other.is_some() {
            phases.extend([Phase::Other, Phase::OtherFiltered]);
        }
        let mut samples: Vec<Vec<(Phase, Sample)>> = Vec::new();
        for round in 0..rounds {
            let mut got = Vec::new();
            for k in 0..phases.len() {
                let phase = phases[(k + round) % phases.len()];
                let s = match phase {
                    Phase::Untraced => Some({
                        let (times, batches) = run_storm_batches(n, &path, |_| {});
                        Sample {
                            times,
                            batches,
                            startup: Duration::ZERO,
                            got: 0,
                            lost: 0,
                            filtered: 0,
                            cached: 0,
                        }
                    }),
                    Phase::Ours => Some(phase_ours(n, &path, None)),
                    Phase::Filtered => Some(phase_filtered(n, &path, None)),
                    Phase::Other => Some(phase_ours(n, &path, other.as_ref())),
                    Phase::OtherFiltered => Some(phase_filtered(n, &path, other.as_ref())),
                    Phase::Hooks => Some(phase_hooks(n, &path)),
                    Phase::FloorExit => Some(phase_floor(n, &path, false)),
                    Phase::FloorPair => Some(phase_floor(n, &path, true)),
                    Phase::Bpftrace => phase_bpftrace(n, &path, &dir),
                };
                if let Some(s) = s {
                    println!(
                    "  round {round} {:<9} cpu {:>6.3} s  wall {:>6.3} s  events {:>8}  lost/emitted {}",
                    phase.name(),
                    s.times.cpu.as_secs_f64(),
                    s.times.wall.as_secs_f64(),
                    s.got,
                    s.lost
                );
                    got.push((phase, s));
                } else if phase == Phase::Bpftrace {
                    phases.retain(|p| *p != Phase::Bpftrace);
                }
            }
            samples.push(got);
        }

        let base = |r: &Vec<(Phase, Sample)>| {
            r.iter()
                .find(|(p, _)| *p == Phase::Untraced)
                .map(|(_, s)| s.times)
                .expect("untraced phase")
        };
        let untraced: Vec<f64> = samples.iter().map(|r| base(r).cpu.as_secs_f64()).collect();
        let (lo, hi) = range(&untraced);
        println!(
            "\nuntraced   cpu median {:.3} s ({:.0} ns per open+close), range {lo:.3}–{hi:.3} s",
            median(untraced.clone()),
            median(untraced.clone()) * 1e9 / n as f64
        );
        let pooled = |phase: Phase| -> Vec<f64> {
            samples
                .iter()
                .flat_map(|r| r.iter().filter(|(p, _)| *p == phase))
                .flat_map(|(_, s)| s.batches.iter().copied())
                .collect()
        };
        let base_batches = pooled(Phase::Untraced);
        let (b10, b25) = (quantile(&base_batches, 0.10), quantile(&base_batches, 0.25));
        println!(
        "untraced   batches of {}: p10 {b10:.0} ns, p25 {b25:.0} ns per open+close ({} batches)",
        BATCH.load(Ordering::Relaxed),
        base_batches.len()
    );
        for phase in phases.iter().copied().filter(|p| *p != Phase::Untraced) {
            let mut cpu = Vec::new();
            let mut wall = Vec::new();
            let mut extra_ns = Vec::new();
            let mut startup = Vec::new();
            let (mut got, mut lost, mut filtered) = (Vec::new(), Vec::new(), Vec::new());
            let mut cached = Vec::new();
            for r in &samples {
                let b = base(r);
                if let Some((_, s)) = r.iter().find(|(p, _)| *p == phase) {
                    cpu.push(s.times.cpu.as_secs_f64() / b.cpu.as_secs_f64());
                    wall.push(s.times.wall.as_secs_f64() / b.wall.as_secs_f64());
                    extra_ns
                        .push((s.times.cpu.as_secs_f64() - b.cpu.as_secs_f64()) * 1e9 / n as f64);
                    startup.push(s.startup.as_secs_f64() * 1e3);
                    got.push(s.got);
                    lost.push(s.lost);
                    filtered.push(s.filtered);
                    cached.push(s.cached);
                }
            }
            let ((clo, chi), (wlo, whi)) = (range(&cpu), range(&wall));
            print!(
            "{:<10} slowdown cpu median {:.2}x (range {clo:.2}–{chi:.2}), wall median {:.2}x (range {wlo:.2}–{whi:.2}); +{:.0} ns cpu per open+close; start-up median {:.0} ms",
            phase.name(),
            median(cpu.clone()),
            median(wall.clone()),
            median(extra_ns),
            median(startup),
        );
            let pb = pooled(phase);
            let (p10, p25) = (quantile(&pb, 0.10), quantile(&pb, 0.25));
            print!(
            "; batches p10 {p10:.0} ns ({:.3}x, +{:.0} ns), p25 {p25:.0} ns ({:.3}x, +{:.0} ns)",
            p10 / b10,
            p10 - b10,
            p25 / b25,
            p25 - b25
        );
            match phase {
            Phase::Ours | Phase::Other => println!(
                "; events per round {got:?} of {n}, lost (kernel + channel) {lost:?}"
            ),
            Phase::Filtered | Phase::OtherFiltered => println!(
                "; kernel emitted {lost:?}, kernel filtered {filtered:?} (from the cached scope verdict {cached:?}), received {got:?}"
            ),
            Phase::Hooks => println!("; events {got:?}"),
            Phase::FloorExit | Phase::FloorPair => println!(),
            _ => println!("; lines with the path {got:?} of {n}"),
        }
        }
    }

    // Paired: the same child, programs attached for every other batch.
    let batch = BATCH.load(Ordering::Relaxed);
    let batches = (2 * (n / batch) as usize) | 1;
    println!(
        "\npaired: one child per configuration, {batches} batches of {batch} open+close, hooks attached for every other one ({} traced opens):",
        batches / 2 * batch as usize
    );
    let report = |label: &str, p: &Paired, extra: String| {
        let (q1, q3) = (quantile(&p.ratios, 0.25), quantile(&p.ratios, 0.75));
        println!(
            "  {label:<10} slowdown median {:.3}x (interquartile {q1:.3}–{q3:.3}, {} pairs), +{:.0} ns per open+close{extra}",
            median(p.ratios.clone()),
            p.ratios.len(),
            median(p.extra_ns.clone()),
        );
    };
    let mut ours = vec![("tracee-rs", None, false), ("scoped", None, true)];
    if let Some(o) = other.as_ref() {
        ours.extend([("other", Some(o), false), ("other-scop", Some(o), true)]);
    }
    for (label, object, scoped) in ours {
        let (p, events, lost) = paired_ours(batches, batch, &path, object, scoped);
        report(
            label,
            &p,
            format!(
                "; events {events} for {} traced opens, lost {lost}",
                p.traced_opens
            ),
        );
    }
    {
        let t = filtered_tracer(None);
        let mut h = Hooked::Tracer(Box::new(t));
        let p = paired(batches, batch, &path, &mut h, |_| {});
        let Hooked::Tracer(t) = &h else {
            unreachable!()
        };
        std::thread::sleep(Duration::from_millis(50));
        t.stop();
        let (kernel, _) = t.filter_stats().expect("policies are active");
        report(
            "filtered",
            &p,
            format!(
                "; kernel emitted {}, filtered {}",
                kernel.emitted, kernel.filtered_in_kernel
            ),
        );
    }
    {
        let t = hooks_tracer();
        let mut h = Hooked::Tracer(Box::new(t));
        let p = paired(batches, batch, &path, &mut h, |_| {});
        report("hooks", &p, String::new());
    }
    for (label, kind) in [
        ("floor-exit", Floor::Exit),
        ("floor-pair", Floor::Pair),
        ("floor-evt", Floor::Event),
        ("floor-bat", Floor::Batch),
    ] {
        let mut h = Hooked::floor(kind);
        let p = paired(batches, batch, &path, &mut h, |_| {});
        let extra = match kind {
            Floor::Event | Floor::Batch => format!(
                "; ring records {} for {} traced opens",
                h.floor_records(),
                p.traced_opens
            ),
            _ => String::new(),
        };
        report(label, &p, extra);
    }

    // Per-program in-kernel cost, without the VM's scheduling noise.
    let old = std::fs::read_to_string(STATS_SYSCTL).unwrap_or_else(|_| "0".into());
    if std::fs::write(STATS_SYSCTL, "1").is_ok() {
        println!("\nBPF run-time statistics (kernel.bpf_stats_enabled=1), one storm each:");
        {
            let target = Arc::new(AtomicU32::new(0));
            let seen = Arc::new(AtomicU64::new(0));
            let tracer = our_tracer(target.clone(), seen.clone(), path.as_bytes().to_vec(), None);
            profile("tracee-rs", n, &path, &tracer, Some(&target));
            drain(&seen);
            tracer.stop();
        }
        {
            let tracer = filtered_tracer(None);
            profile("filtered", n, &path, &tracer, None);
            tracer.stop();
        }
        if let Some(o) = other.as_ref() {
            let target = Arc::new(AtomicU32::new(0));
            let seen = Arc::new(AtomicU64::new(0));
            let tracer = our_tracer(
                target.clone(),
                seen.clone(),
                path.as_bytes().to_vec(),
                Some(o),
            );
            profile("other", n, &path, &tracer, Some(&target));
            drain(&seen);
            tracer.stop();
        }
        {
            let tracer = hooks_tracer();
            profile("hooks", n, &path, &tracer, None);
            tracer.stop();
        }
        let _ = std::fs::write(STATS_SYSCTL, old.trim());
    } else {
        println!("\nBPF run-time statistics: cannot write {STATS_SYSCTL}");
    }
    println!("load average at the end {}", loadavg());
    let _ = std::fs::remove_dir_all(&dir);
}
