//! Shutdown: 200 load/attach/poll/stop cycles leave no program of ours in the kernel and
//! no fd open. Its own test binary, so no other test opens fds in this process meanwhile.

mod module_common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use module_common::*;
use tracee_bpf_obj::module::buffers::{BufferReader, WakeupPolicy};

const CYCLES: usize = 200;

/// One cycle: load, attach raw_tp + tp_btf, start both readers, see one event, stop, close.
/// Returns the kernel ids of the programs it loaded.
fn cycle(i: usize) -> Vec<u32> {
    let mut m = load_test_module();
    target_this_thread(&m);
    m.attach_raw_tracepoint("tbo_sys_enter", "sys_enter")
        .unwrap();
    m.attach_tp_btf("tbo_exec").unwrap();
    let ids: Vec<u32> = m.programs().iter().filter_map(|p| p.id).collect();
    let (rb, rb_rx) = BufferReader::ring_buffer(&m, "events")
        .unwrap()
        .wakeup(WakeupPolicy::Interval(Duration::from_millis(5)))
        .start_channel(64)
        .unwrap();
    let (pb, pb_rx) = BufferReader::perf_buffer(&m, "perf_events")
        .unwrap()
        .pages(1)
        .start_channel(64)
        .unwrap();
    let marker = 5_000_000 + i as u64;
    close_marker(marker as i32);
    for rx in [&rb_rx, &pb_rx] {
        let evs = collect_until(rx, Duration::from_secs(5), |e| {
            e.iter().any(|e| e.arg0 == marker)
        });
        assert!(
            evs.iter().any(|e| e.arg0 == marker),
            "cycle {i}: marker event missing"
        );
    }
    // Alternate the order of stop and close: readers may outlive the module.
    if i % 2 == 0 {
        rb.stop();
        pb.stop();
        m.close();
    } else {
        drop(m);
        drop(rb);
        drop(pb);
    }
    ids
}

fn our_programs_in_bpftool() -> Vec<String> {
    let out = Command::new("bpftool")
        .args(["-j", "prog", "list"])
        .output()
        .expect("bpftool");
    assert!(
        out.status.success(),
        "bpftool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let progs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bpftool JSON");
    let me = u64::from(std::process::id());
    progs
        .as_array()
        .expect("array")
        .iter()
        .filter(|p| p["name"].as_str().is_some_and(|n| n.starts_with("tbo_")))
        .filter(|p| {
            // With pid info (bpftool built with skeletons) match our pid; without, any tbo_ counts.
            p["pids"]
                .as_array()
                .is_none_or(|pids| pids.iter().any(|x| x["pid"].as_u64() == Some(me)))
        })
        .map(|p| format!("{} id {}", p["name"], p["id"]))
        .collect()
}

#[test]
fn two_hundred_cycles_leave_no_programs_and_no_fds() {
    if skip_without_bpf("two_hundred_cycles_leave_no_programs_and_no_fds") {
        return;
    }
    // Warm-up: one-time allocations (thread-locals, libbpf's feature cache, the log hook).
    cycle(CYCLES);
    let fds_before = fd_count();
    let mut ids = BTreeSet::new();
    for i in 0..CYCLES {
        ids.extend(cycle(i));
    }
    let fds_after = fd_count();
    assert_eq!(fds_after, fds_before, "fds leaked over {CYCLES} cycles");
    assert!(
        ids.len() >= CYCLES * 3,
        "expected fresh program ids per cycle, got {}",
        ids.len()
    );
    // None of the program ids we loaded still exists. The kernel frees a program after an
    // RCU grace period once its last fd and link are gone, so allow it a moment.
    let still_loaded = |ids: &BTreeSet<u32>| -> Vec<u32> {
        ids.iter()
            .copied()
            .filter(|id| {
                // SAFETY: plain syscall wrapper.
                let fd = unsafe { libbpf_sys::bpf_prog_get_fd_by_id(*id) };
                if fd >= 0 {
                    // SAFETY: closing the fd we just got.
                    unsafe { libc::close(fd) };
                }
                fd >= 0
            })
            .collect()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut left_ids = still_loaded(&ids);
    let waited = std::time::Instant::now();
    let initially = left_ids.len();
    while !left_ids.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        left_ids = still_loaded(&ids);
    }
    assert!(
        left_ids.is_empty(),
        "program ids still loaded 10 s after close: {left_ids:?}"
    );
    eprintln!(
        "{} programs over {CYCLES} cycles; {initially} still freeing right after close, all gone after {:?}; fds {fds_before} -> {fds_after}",
        ids.len(),
        waited.elapsed()
    );
    let left = our_programs_in_bpftool();
    assert!(left.is_empty(), "programs of ours still loaded: {left:?}");
}
