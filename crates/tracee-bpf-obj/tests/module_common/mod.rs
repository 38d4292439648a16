//! Shared helpers of the privileged Module tests.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use tracee_bpf_obj::module::{
    missing_capabilities, Capability, Module, ModuleBuilder, UpdateFlags,
};

/// The committed test object (scripts/build-bpf.sh builds it from bpf/test/module_test.bpf.c).
pub static TEST_OBJ: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../bpf/test/module_test.bpf.o"
));
/// A program the verifier rejects (bpf/test/verifier_reject.bpf.c).
pub static REJECT_OBJ: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../bpf/test/verifier_reject.bpf.o"
));
/// The verifier's verdict on REJECT_OBJ's `tbo_bad` (a map value used without its NULL check).
pub const REJECT_VERDICT: &str = "R0 invalid mem access 'map_value_or_null'";

pub const EV_SYS_ENTER: u32 = 1;
pub const EV_EXEC: u32 = 2;
pub const EV_OVERLOAD: u32 = 3;

pub const C_TP_HITS: u32 = 0;
pub const C_TP_ARG0: u32 = 1;
pub const C_UPROBE_HITS: u32 = 2;
pub const C_UPROBE_ARG: u32 = 3;
pub const C_URETPROBE_RET: u32 = 4;
pub const C_PERF_EVENT_HITS: u32 = 5;
pub const C_KPROBE_HITS: u32 = 6;
pub const C_FENTRY_HITS: u32 = 7;
pub const C_OVERLOAD_ATTEMPTS: u32 = 9;
pub const C_INNER_VALUE: u32 = 10;
pub const C_OVERLOAD_PERF_ATTEMPTS: u32 = 11;
pub const C_KCONFIG_HZ: u32 = 12;

/// `struct test_event` of module_test.bpf.c.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct TestEvent {
    pub kind: u32,
    pub pid: u32,
    pub tid: u32,
    pub ppid: u32,
    pub syscall: i64,
    pub arg0: u64,
    pub seq: u64,
    pub filename: [u8; 64],
}

impl TestEvent {
    /// Decode (perf samples carry trailing padding, so only a minimum length is required).
    pub fn parse(bytes: &[u8]) -> TestEvent {
        let n = std::mem::size_of::<TestEvent>();
        assert!(
            bytes.len() >= n,
            "event of {} bytes, expected at least {n}",
            bytes.len()
        );
        assert!(
            bytes.len() < n + 8,
            "event of {} bytes, expected at most {} (padding)",
            bytes.len(),
            n + 7
        );
        bytemuck::pod_read_unaligned(&bytes[..n])
    }

    pub fn filename(&self) -> String {
        let end = self
            .filename
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.filename.len());
        String::from_utf8_lossy(&self.filename[..end]).into_owned()
    }
}

/// `struct test_cfg` of module_test.bpf.c.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct TestCfg {
    pub target_tid: u32,
    pub parent_tgid: u32,
    pub syscall_nr: i64,
}

/// True if the test must skip: this process lacks CAP_BPF/CAP_PERFMON and TRACEE_REQUIRE_BPF
/// is not 1. Only a missing capability skips: with the capabilities, a refusal (a verifier
/// rejection above all) is a failure.
pub fn skip_without_bpf(test: &str) -> bool {
    let missing = missing_capabilities(&[Capability::Bpf, Capability::Perfmon]);
    if missing.is_empty() {
        return false;
    }
    let missing: Vec<String> = missing.iter().map(ToString::to_string).collect();
    let missing = missing.join(" and ");
    if std::env::var("TRACEE_REQUIRE_BPF").as_deref() == Ok("1") {
        panic!("{test}: this process lacks {missing} and TRACEE_REQUIRE_BPF=1");
    }
    eprintln!("SKIP {test}: this process lacks {missing}; needs root or CAP_BPF+CAP_PERFMON");
    true
}

pub fn gettid() -> u32 {
    // SAFETY: no preconditions.
    unsafe { libc::syscall(libc::SYS_gettid) as u32 }
}

/// Load the test object.
pub fn load_test_module() -> Module {
    ModuleBuilder::from_bytes(TEST_OBJ)
        .object_name("module_test")
        .load()
        .expect("load test object")
}

/// Point the test object's filters at this thread, this process's children and `close`.
pub fn target_this_thread(m: &Module) {
    let cfg = TestCfg {
        target_tid: gettid(),
        parent_tgid: std::process::id(),
        syscall_nr: libc::SYS_close,
    };
    m.map("test_cfg")
        .unwrap()
        .update(&0u32, &cfg, UpdateFlags::empty())
        .unwrap();
}

/// close() an fd that is certainly not open: a syscall with a recognisable argument.
pub fn close_marker(fd: i32) {
    // SAFETY: closing an fd number we never opened; returns EBADF.
    let r = unsafe { libc::close(fd) };
    assert_eq!(r, -1, "fd {fd} was unexpectedly open");
}

pub fn counter(m: &Module, idx: u32) -> u64 {
    m.map("counters")
        .unwrap()
        .lookup::<u32, u64>(&idx)
        .unwrap()
        .unwrap_or(0)
}

/// Collect events from `rx` until `done` says so or `timeout` passes.
pub fn collect_until(
    rx: &Receiver<Vec<u8>>,
    timeout: Duration,
    mut done: impl FnMut(&[TestEvent]) -> bool,
) -> Vec<TestEvent> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while !done(&out) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        if let Ok(bytes) = rx.recv_timeout(left) {
            out.push(TestEvent::parse(&bytes));
        }
    }
    out
}

/// Open fds of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}
