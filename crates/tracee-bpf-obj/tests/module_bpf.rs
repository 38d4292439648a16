//! Privileged tests of `tracee_bpf_obj::module` against the running kernel: load, attach,
//! events through both buffer kinds, maps, custom BTF, verifier logs and typed refusals.
//! They skip without BPF unless TRACEE_REQUIRE_BPF=1.

mod module_common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use module_common::*;
use tracee_bpf_obj::module::buffers::{BufferReader, WakeupPolicy};
use tracee_bpf_obj::module::{
    possible_cpus, probe_attach, AttachKind, AttachStage, MapRef, MapType, ModuleBuilder,
    ModuleError, OwnedMap, PerfEventConfig, UpdateFlags, UprobeTarget, VERIFIER_LOG_DIR_ENV,
};

macro_rules! require_bpf {
    () => {
        if skip_without_bpf(module_path!()) {
            return;
        }
    };
}

#[test]
fn raw_tp_and_tp_btf_events_arrive_through_ring_and_perf_buffers() {
    require_bpf!();
    let mut m = load_test_module();
    target_this_thread(&m);
    m.attach_raw_tracepoint("tbo_sys_enter", "sys_enter")
        .unwrap();
    m.attach_tp_btf("tbo_exec").unwrap();
    assert_eq!(m.links().len(), 2);
    let (rb, rb_rx) = BufferReader::ring_buffer(&m, "events")
        .unwrap()
        .wakeup(WakeupPolicy::Threshold {
            bytes: 1,
            max_latency: Duration::from_millis(50),
        })
        .start_channel(1024)
        .unwrap();
    let (pb, pb_rx) = BufferReader::perf_buffer(&m, "perf_events")
        .unwrap()
        .start_channel(1024)
        .unwrap();

    let markers: Vec<u64> = (0..5).map(|i| 1_000_000 + i).collect();
    for &fd in &markers {
        close_marker(fd as i32);
    }
    let mut child = Command::new("/bin/true").spawn().unwrap();
    let child_pid = child.id();
    assert!(child.wait().unwrap().success());

    let me = std::process::id();
    let tid = gettid();
    for (name, rx) in [("ring buffer", &rb_rx), ("perf buffer", &pb_rx)] {
        let want = |evs: &[TestEvent]| {
            let closes = evs
                .iter()
                .filter(|e| e.kind == EV_SYS_ENTER && markers.contains(&e.arg0))
                .count();
            let execs = evs
                .iter()
                .filter(|e| e.kind == EV_EXEC && e.pid == child_pid)
                .count();
            closes == markers.len() && execs == 1
        };
        let evs = collect_until(rx, Duration::from_secs(10), want);
        let got: Vec<u64> = evs
            .iter()
            .filter(|e| e.kind == EV_SYS_ENTER && markers.contains(&e.arg0))
            .map(|e| e.arg0)
            .collect();
        assert_eq!(got, markers, "{name}: close() markers in order, each once");
        for e in evs.iter().filter(|e| e.kind == EV_SYS_ENTER) {
            assert_eq!(
                (e.pid, e.tid, e.syscall),
                (me, tid, libc::SYS_close),
                "{name}: {e:?}"
            );
        }
        let exec: Vec<&TestEvent> = evs
            .iter()
            .filter(|e| e.kind == EV_EXEC && e.pid == child_pid)
            .collect();
        assert_eq!(exec.len(), 1, "{name}: one exec event of the child");
        assert_eq!(exec[0].ppid, me, "{name}: exec parent");
        assert_eq!(exec[0].filename(), "/bin/true", "{name}: exec filename");
    }
    rb.stop();
    pb.stop();
    assert!(!rb.is_running() && !pb.is_running());
    assert_eq!(rb.drops().total(), 0, "{:?}", rb.drops());
    assert_eq!(pb.drops().total(), 0, "{:?}", pb.drops());
    assert!(rb.received() >= 6 && pb.received() >= 6);
    // Stopped readers closed their channels.
    while rb_rx.try_recv().is_ok() {}
    assert!(rb_rx
        .recv_timeout(Duration::from_millis(10))
        .unwrap_err()
        .is_disconnected());
}

#[test]
fn callback_delivery_and_stop_from_inside_the_callback() {
    require_bpf!();
    let mut m = load_test_module();
    target_this_thread(&m);
    m.attach_raw_tracepoint("tbo_sys_enter", "sys_enter")
        .unwrap();
    let (tx, rx) = crossbeam_channel::unbounded();
    let reader = std::sync::Arc::new(std::sync::Mutex::new(None::<std::sync::Arc<BufferReader>>));
    let slot = reader.clone();
    let r = std::sync::Arc::new(
        BufferReader::ring_buffer(&m, "events")
            .unwrap()
            .start_callback(move |bytes| {
                let ev = TestEvent::parse(bytes);
                tx.send(ev.arg0).unwrap();
                if ev.arg0 == 2_000_002 {
                    // stop() from the reader thread itself must not deadlock.
                    if let Some(r) = slot.lock().unwrap().as_ref() {
                        r.stop();
                    }
                }
            })
            .unwrap(),
    );
    *reader.lock().unwrap() = Some(r.clone());
    for fd in 2_000_000..2_000_003 {
        close_marker(fd);
    }
    let got: Vec<u64> = (0..3)
        .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap())
        .collect();
    assert_eq!(got, vec![2_000_000, 2_000_001, 2_000_002]);
    // The reader thread ends by itself after the callback's stop().
    for _ in 0..200 {
        if !r.is_running() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!r.is_running());
    *reader.lock().unwrap() = None;
    r.stop();
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
struct KvValue {
    a: u64,
    b: u32,
    c: u32,
}

#[test]
fn map_round_trips_typed_batch_percpu() {
    require_bpf!();
    let m = load_test_module();

    // Hash: update/lookup/delete/iterate.
    let h = m.map("hash_map").unwrap();
    assert_eq!(
        (h.map_type(), h.key_size(), h.value_size()),
        (MapType::Hash, 4, 16)
    );
    let v = KvValue {
        a: u64::MAX - 1,
        b: 7,
        c: 9,
    };
    h.update(&42u32, &v, UpdateFlags::NOEXIST).unwrap();
    assert_eq!(h.lookup::<u32, KvValue>(&42).unwrap(), Some(v));
    let dup = h.update(&42u32, &v, UpdateFlags::NOEXIST).unwrap_err();
    assert!(
        matches!(dup, ModuleError::MapOp { errno, .. } if errno.0 == libc::EEXIST),
        "{dup}"
    );
    assert_eq!(h.lookup::<u32, KvValue>(&43).unwrap(), None);
    assert!(h.delete(&42u32).unwrap());
    assert!(!h.delete(&42u32).unwrap());

    // Batch: 300 entries in, all out in chunks of 64, 100 deleted.
    let keys: Vec<u32> = (0..300).collect();
    let vals: Vec<KvValue> = keys
        .iter()
        .map(|&k| KvValue {
            a: u64::from(k) * 3,
            b: k,
            c: !k,
        })
        .collect();
    h.update_batch(&keys, &vals, UpdateFlags::empty()).unwrap();
    let mut all = h.lookup_batch::<u32, KvValue>(64).unwrap();
    all.sort_by_key(|(k, _)| *k);
    assert_eq!(all.len(), 300);
    assert!(all.iter().all(|(k, v)| *v
        == KvValue {
            a: u64::from(*k) * 3,
            b: *k,
            c: !*k
        }));
    assert_eq!(h.delete_batch(&keys[..100]).unwrap(), 100);
    let mut left = h.keys::<u32>().unwrap();
    left.sort();
    assert_eq!(left, (100..300).collect::<Vec<_>>());
    assert_eq!(h.entries::<u32, KvValue>().unwrap().len(), 200);

    // Size mismatches are refused before any syscall.
    let e = h.lookup::<u64, KvValue>(&1).unwrap_err();
    assert!(
        matches!(
            e,
            ModuleError::SizeMismatch {
                what: "key",
                map_size: 4,
                type_size: 8,
                ..
            }
        ),
        "{e}"
    );
    let e = h.lookup::<u32, u64>(&1).unwrap_err();
    assert!(
        matches!(e, ModuleError::SizeMismatch { what: "value", .. }),
        "{e}"
    );

    // Array + LRU.
    let a = m.map("array_map").unwrap();
    a.update(&5u32, &0xdead_beefu64, UpdateFlags::empty())
        .unwrap();
    assert_eq!(a.lookup::<u32, u64>(&5).unwrap(), Some(0xdead_beef));
    assert_eq!(a.lookup_batch::<u32, u64>(0).unwrap().len(), 64);
    let lru = m.map("lru_hash").unwrap();
    lru.update(&(1u64 << 40), &1u64, UpdateFlags::empty())
        .unwrap();
    assert_eq!(lru.lookup::<u64, u64>(&(1 << 40)).unwrap(), Some(1));

    // Per-CPU: one value per possible CPU, struct values padded to 8 bytes by the kernel.
    let ncpu = possible_cpus().unwrap();
    let pc = m.map("percpu_hash").unwrap();
    let per: Vec<u64> = (0..ncpu as u64).map(|c| 100 + c).collect();
    pc.update_percpu(&1u32, &per, UpdateFlags::empty()).unwrap();
    assert_eq!(pc.lookup_percpu::<u32, u64>(&1).unwrap(), Some(per.clone()));
    assert_eq!(
        pc.lookup_percpu_sum(&1u32).unwrap(),
        per.iter().sum::<u64>()
    );
    let e = pc.lookup::<u32, u64>(&1).unwrap_err();
    assert!(matches!(e, ModuleError::WrongMapType { .. }), "{e}");
    let pa = m.map("percpu_array").unwrap();
    let structs: Vec<KvValue> = (0..ncpu as u32)
        .map(|c| KvValue {
            a: 1 << c,
            b: c,
            c: c * 2,
        })
        .collect();
    pa.update_percpu(&3u32, &structs, UpdateFlags::empty())
        .unwrap();
    assert_eq!(pa.lookup_percpu::<u32, KvValue>(&3).unwrap(), Some(structs));
    let e = pa
        .update_percpu(
            &3u32,
            &[KvValue { a: 0, b: 0, c: 0 }; 0],
            UpdateFlags::empty(),
        )
        .unwrap_err();
    assert!(matches!(e, ModuleError::MapOp { .. }), "{e}");
}

#[test]
fn map_of_maps_inner_replacement_is_seen_by_bpf() {
    require_bpf!();
    let m = load_test_module();
    let outer = m.map("outer_map").unwrap();
    let default_id = m.map("inner_default").unwrap().id().unwrap();
    assert_eq!(outer.inner_map_id(&0u32).unwrap(), Some(default_id));
    m.map("inner_default")
        .unwrap()
        .update(&0u32, &111u64, UpdateFlags::empty())
        .unwrap();
    assert_eq!(m.test_run("tbo_read_inner", None).unwrap(), 0);
    assert_eq!(counter(&m, C_INNER_VALUE), 111);

    let replacement = OwnedMap::create(MapType::Array, "tbo_inner2", 4, 8, 1).unwrap();
    replacement
        .as_map()
        .update(&0u32, &222u64, UpdateFlags::empty())
        .unwrap();
    outer.set_inner_map(&0u32, &replacement).unwrap();
    assert_eq!(
        outer.inner_map_id(&0u32).unwrap(),
        Some(replacement.as_map().id().unwrap())
    );
    assert_eq!(m.test_run("tbo_read_inner", None).unwrap(), 0);
    assert_eq!(
        counter(&m, C_INNER_VALUE),
        222,
        "the program reads the new inner map"
    );

    // Empty slot: the program sees no inner map.
    assert!(outer.delete(&0u32).unwrap());
    assert_eq!(m.test_run("tbo_read_inner", None).unwrap(), 1);
    let e = m
        .map("array_map")
        .unwrap()
        .set_inner_map(&0u32, &replacement)
        .unwrap_err();
    assert!(matches!(e, ModuleError::WrongMapType { .. }), "{e}");
}

#[test]
fn map_pinning_on_a_private_bpffs() {
    require_bpf!();
    let dir = tempfile::tempdir().unwrap();
    let path = std::ffi::CString::new(dir.path().to_str().unwrap()).unwrap();
    // SAFETY: mounting a fresh bpffs instance on our own temp dir.
    let r = unsafe {
        libc::mount(
            c"bpf".as_ptr(),
            path.as_ptr(),
            c"bpf".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "mount bpffs: {}", std::io::Error::last_os_error());
    struct Umount(std::ffi::CString);
    impl Drop for Umount {
        fn drop(&mut self) {
            // SAFETY: unmounting what this test mounted.
            unsafe { libc::umount2(self.0.as_ptr(), libc::MNT_DETACH) };
        }
    }
    let _umount = Umount(path);

    let m = load_test_module();
    let a = m.map("array_map").unwrap();
    a.update(&1u32, &77u64, UpdateFlags::empty()).unwrap();
    let pin = dir.path().join("array_map");
    a.pin(&pin).unwrap();
    let e = a.pin(&pin).unwrap_err();
    assert!(
        matches!(e, ModuleError::Pin { errno, .. } if errno.0 == libc::EEXIST),
        "{e}"
    );
    let id = a.id().unwrap();
    drop(m);
    // The pin keeps the map alive after the module is gone.
    let pinned = OwnedMap::from_pinned(&pin).unwrap();
    assert_eq!(pinned.as_map().id().unwrap(), id);
    assert_eq!(pinned.as_map().lookup::<u32, u64>(&1).unwrap(), Some(77));
    MapRef::unpin(&pin).unwrap();
    assert!(!pin.exists());
}

#[test]
fn custom_btf_from_bpftool_min_core_btf() {
    require_bpf!();
    let dir = tempfile::tempdir().unwrap();
    let obj = dir.path().join("module_test.bpf.o");
    std::fs::write(&obj, TEST_OBJ).unwrap();
    let min = dir.path().join("min.btf");
    let out = Command::new("bpftool")
        .args(["gen", "min_core_btf", "/sys/kernel/btf/vmlinux"])
        .arg(&min)
        .arg(&obj)
        .output()
        .expect("bpftool must be installed for this test");
    assert!(
        out.status.success(),
        "bpftool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let min_size = std::fs::metadata(&min).unwrap().len();
    let full_size = std::fs::metadata("/sys/kernel/btf/vmlinux").unwrap().len();
    assert!(
        min_size * 100 < full_size,
        "minimized BTF {min_size} B vs {full_size} B"
    );

    // Relocated against the minimal BTF, the CO-RE reads still give the right values.
    let mut m = ModuleBuilder::from_path(&obj)
        .btf_custom_path(&min)
        .load()
        .unwrap();
    assert_eq!(m.name(), "module_test");
    target_this_thread(&m);
    m.attach_tp_btf("tbo_exec").unwrap();
    m.attach_raw_tracepoint("tbo_sys_enter", "sys_enter")
        .unwrap();
    let (_rb, rx) = BufferReader::ring_buffer(&m, "events")
        .unwrap()
        .start_channel(256)
        .unwrap();
    close_marker(3_000_000);
    let mut child = Command::new("/bin/true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let evs = collect_until(&rx, Duration::from_secs(10), |e| {
        e.iter().any(|e| e.kind == EV_EXEC && e.pid == pid) && e.iter().any(|e| e.arg0 == 3_000_000)
    });
    let exec = evs
        .iter()
        .find(|e| e.kind == EV_EXEC && e.pid == pid)
        .expect("exec event");
    assert_eq!(
        (exec.ppid, exec.filename().as_str()),
        (std::process::id(), "/bin/true")
    );
    assert!(evs
        .iter()
        .any(|e| e.kind == EV_SYS_ENTER && e.arg0 == 3_000_000));

    // The custom path is really used: BTF without the needed types fails the load, naming
    // a program and blaming CO-RE.
    let empty_min = dir.path().join("empty.btf");
    let reject = dir.path().join("verifier_reject.bpf.o");
    std::fs::write(&reject, REJECT_OBJ).unwrap();
    let out = Command::new("bpftool")
        .args(["gen", "min_core_btf", "/sys/kernel/btf/vmlinux"])
        .arg(&empty_min)
        .arg(&reject)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bpftool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e = ModuleBuilder::from_path(&obj)
        .btf_custom_path(&empty_min)
        .load()
        .unwrap_err();
    match &e {
        ModuleError::Load {
            program: Some(p),
            cause: Some(c),
            ..
        } => {
            assert!(p.starts_with("tbo_"), "{e}");
            assert!(c.contains("CO-RE"), "{e}");
        }
        other => panic!("expected a Load error naming a program, got {other}"),
    }
    let e = ModuleBuilder::from_path(&obj)
        .btf_custom_path(dir.path().join("missing.btf"))
        .load()
        .unwrap_err();
    assert!(
        matches!(e, ModuleError::Open { .. } | ModuleError::Load { .. }),
        "{e}"
    );
}

#[test]
fn verifier_rejection_names_the_program_and_the_verdict() {
    require_bpf!();
    let dir = tempfile::tempdir().unwrap();
    let e = ModuleBuilder::from_bytes(REJECT_OBJ)
        .object_name("verifier_reject")
        .verifier_log_dir(dir.path())
        .load()
        .unwrap_err();
    let text = e.to_string();
    assert!(
        e.is_verifier_rejection() && !e.is_missing_capability(),
        "{e:?}"
    );
    assert_eq!(e.verifier_verdict(), Some(REJECT_VERDICT), "{text}");
    assert_eq!(e.program(), Some("tbo_bad"));
    match &e {
        ModuleError::VerifierRejected {
            object,
            program,
            verdict,
            errno,
            verifier_log,
            log_file,
            ..
        } => {
            assert_eq!(object, "verifier_reject");
            assert_eq!(program, "tbo_bad");
            assert_eq!(verdict, REJECT_VERDICT);
            assert_eq!(errno.0, libc::EACCES);
            // The whole log, instructions included, not only the verdict.
            assert!(
                verifier_log.lines().count() > 2 && verifier_log.contains(REJECT_VERDICT),
                "{verifier_log}"
            );
            let file = log_file.as_deref().expect("log saved in verifier_log_dir");
            assert_eq!(
                file,
                dir.path().join("verifier_reject.tbo_bad.verifier.log")
            );
            assert_eq!(
                std::fs::read_to_string(file).unwrap().trim_end(),
                verifier_log
            );
        }
        other => panic!("expected VerifierRejected, got {other}"),
    }
    // A few lines: the verdict and where the full log is, no instruction dump and no word
    // about privileges.
    let first = format!(
        "loading BPF object verifier_reject: the kernel's verifier rejected program tbo_bad: \
         {REJECT_VERDICT}"
    );
    assert_eq!(text.lines().next(), Some(first.as_str()), "{text}");
    assert!(text.contains(&dir.path().display().to_string()), "{text}");
    assert!(text.lines().count() <= 3, "{text}");
    for word in ["permission", "Permission", "CAP_", "root"] {
        assert!(!text.contains(word), "{word:?} in {text}");
    }
    // Without a log directory the message says how to get one.
    let e = ModuleBuilder::from_bytes(REJECT_OBJ)
        .object_name("verifier_reject")
        .load()
        .unwrap_err();
    if std::env::var_os(VERIFIER_LOG_DIR_ENV).is_none() {
        assert!(e.to_string().contains("set TRACEE_BPF_LOG=DIR"), "{e}");
    }
    // Without the bad program the object loads, and the good one runs.
    let m = ModuleBuilder::from_bytes(REJECT_OBJ)
        .autoload("tbo_bad", false)
        .load()
        .unwrap();
    assert!(m.program("tbo_good").unwrap().loaded);
    assert!(!m.program("tbo_bad").unwrap().loaded);
    assert_eq!(m.test_run("tbo_good", None).unwrap(), 0);
    // An optional program that fails verification is skipped with its log.
    let m = ModuleBuilder::from_bytes(REJECT_OBJ)
        .optional_program("tbo_bad")
        .load()
        .unwrap();
    let skipped = &m.skipped_programs()["tbo_bad"];
    assert_eq!(skipped.errno.0, libc::EACCES);
    assert!(skipped.verifier_log.contains("map_value_or_null"));
}

#[test]
fn kprobe_attach_fails_typed_or_works_as_probed() {
    require_bpf!();
    let mut m = load_test_module();
    let probe = probe_attach(AttachKind::Kprobe);
    let r = m.attach_kprobe("tbo_kprobe", "do_unlinkat", false);
    if probe.is_supported() {
        r.unwrap();
    } else {
        let e = r.unwrap_err();
        let text = e.to_string();
        eprintln!("{text}");
        match e {
            ModuleError::Attach {
                program,
                kind,
                target,
                stage,
                errno,
                cause,
                ..
            } => {
                assert_eq!(
                    (program.as_str(), kind, target.as_str(), stage),
                    (
                        "tbo_kprobe",
                        AttachKind::Kprobe,
                        "do_unlinkat",
                        AttachStage::Attach
                    )
                );
                assert_ne!(errno.0, 0);
                assert!(cause.contains("CONFIG_KPROBES"), "{cause}");
                assert!(
                    text.contains("tbo_kprobe")
                        && text.contains("kprobe")
                        && text.contains(errno.name()),
                    "{text}"
                );
            }
            other => panic!("expected Attach, got {other}"),
        }
        let e = m
            .attach_kprobe("tbo_kretprobe", "do_unlinkat", true)
            .unwrap_err();
        assert!(
            matches!(
                e,
                ModuleError::Attach {
                    kind: AttachKind::Kretprobe,
                    ..
                }
            ),
            "{e}"
        );
    }
    // Wrong attach method for the program type is refused before the kernel is asked.
    let e = m
        .attach_kprobe("tbo_sys_enter", "do_unlinkat", false)
        .unwrap_err();
    assert!(
        matches!(
            e,
            ModuleError::WrongProgramType {
                kind: AttachKind::Kprobe,
                ..
            }
        ),
        "{e}"
    );
    let e = m
        .attach_raw_tracepoint("no_such_prog", "sys_enter")
        .unwrap_err();
    assert!(matches!(e, ModuleError::ProgramNotFound { .. }), "{e}");
}

#[test]
fn fentry_and_lsm_fail_typed_or_work_as_probed() {
    require_bpf!();
    let mut m = ModuleBuilder::from_bytes(TEST_OBJ)
        .object_name("module_test")
        .optional_program("tbo_fentry")
        .optional_program("tbo_fexit")
        .optional_program("tbo_lsm")
        .load()
        .unwrap();
    for (prog, kind) in [
        ("tbo_fentry", AttachKind::Fentry),
        ("tbo_fexit", AttachKind::Fexit),
        ("tbo_lsm", AttachKind::Lsm),
    ] {
        let probe = probe_attach(kind);
        let r = match kind {
            AttachKind::Fentry => m.attach_fentry(prog),
            AttachKind::Fexit => m.attach_fexit(prog),
            _ => m.attach_lsm(prog),
        };
        match (probe.is_supported(), r) {
            (true, Ok(_)) => {}
            (false, Err(e @ ModuleError::Attach { .. })) => {
                eprintln!("{prog}: {e}");
                let ModuleError::Attach {
                    program,
                    kind: k,
                    errno,
                    cause,
                    ..
                } = e
                else {
                    unreachable!()
                };
                assert_eq!((program.as_str(), k), (prog, kind));
                assert_ne!(errno.0, 0);
                if errno.0 == libc::EPERM && kind != AttachKind::Lsm {
                    assert!(cause.contains("trampoline"), "{cause}");
                }
            }
            (p, r) => panic!("{prog}: probe says supported={p} ({probe:?}) but attach gave {r:?}"),
        }
    }
    // The rest of the object loaded and works.
    assert!(m.program("tbo_sys_enter").unwrap().loaded);
    m.attach_raw_tracepoint("tbo_sys_enter", "sys_enter")
        .unwrap();
}

#[no_mangle]
#[inline(never)]
pub extern "C" fn tbo_uprobe_target(x: u64) -> u64 {
    std::hint::black_box(x.wrapping_mul(3).wrapping_add(1))
}

#[test]
fn uprobe_uretprobe_tracepoint_and_perf_event_attach_and_fire() {
    require_bpf!();
    let mut m = load_test_module();
    target_this_thread(&m);
    let exe = std::env::current_exe().unwrap();
    let target = UprobeTarget::symbol(&exe, "tbo_uprobe_target").pid(std::process::id() as i32);
    m.attach_uprobe("tbo_uprobe", &target, false).unwrap();
    m.attach_uprobe("tbo_uretprobe", &target, true).unwrap();
    assert_eq!(tbo_uprobe_target(std::hint::black_box(41)), 124);
    assert!(counter(&m, C_UPROBE_HITS) >= 1);
    assert_eq!(counter(&m, C_UPROBE_ARG), 41);
    assert_eq!(counter(&m, C_URETPROBE_RET), 124);
    let e = m
        .attach_uprobe(
            "tbo_uprobe",
            &UprobeTarget::symbol(&exe, "tbo_no_such_symbol_xyz"),
            false,
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            ModuleError::Attach {
                kind: AttachKind::Uprobe,
                ..
            }
        ),
        "{e}"
    );

    m.attach_tracepoint("tbo_tp_close", "syscalls", "sys_enter_close")
        .unwrap();
    close_marker(4_000_000);
    assert!(counter(&m, C_TP_HITS) >= 1);
    assert_eq!(counter(&m, C_TP_ARG0), 4_000_000);
    let e = m
        .attach_tracepoint("tbo_tp_close", "syscalls", "sys_enter_no_such_call")
        .unwrap_err();
    assert!(
        matches!(
            e,
            ModuleError::Attach {
                kind: AttachKind::Tracepoint,
                ..
            }
        ),
        "{e}"
    );

    let link = m
        .attach_perf_event(
            "tbo_perf_event",
            &PerfEventConfig::cpu_clock_of(gettid() as i32, 1000),
        )
        .unwrap();
    let t = std::time::Instant::now();
    let mut x = 0u64;
    while t.elapsed() < Duration::from_millis(200) && counter(&m, C_PERF_EVENT_HITS) == 0 {
        x = std::hint::black_box(x.wrapping_add(1));
    }
    assert!(
        counter(&m, C_PERF_EVENT_HITS) >= 1,
        "no perf_event samples in 200 ms of CPU time"
    );
    assert!(m.detach(link));
    assert!(!m.detach(link));
}

#[test]
fn probes_agree_with_the_kernel() {
    require_bpf!();
    for kind in [
        AttachKind::RawTracepoint,
        AttachKind::TpBtf,
        AttachKind::Tracepoint,
        AttachKind::PerfEvent,
        AttachKind::Uprobe,
    ] {
        assert!(
            probe_attach(kind).is_supported(),
            "{kind}: {:?}",
            probe_attach(kind)
        );
    }
    use libbpf_rs::ProgramType;
    use tracee_bpf_obj::module::{probe_map_type, probe_program_type};
    assert!(probe_program_type(ProgramType::RawTracepoint).is_supported());
    assert!(probe_program_type(ProgramType::PerfEvent).is_supported());
    assert!(probe_map_type(MapType::RingBuf).is_supported());
    assert!(probe_map_type(MapType::PercpuHash).is_supported());
}

#[test]
fn builder_inputs_are_checked() {
    require_bpf!();
    let e = ModuleBuilder::from_path("/nonexistent/x.bpf.o")
        .load()
        .unwrap_err();
    assert!(
        matches!(
            &e,
            ModuleError::ReadFile {
                what: "BPF object",
                ..
            }
        ),
        "{e}"
    );
    let e = ModuleBuilder::from_bytes(&b"not an elf file"[..])
        .load()
        .unwrap_err();
    assert!(matches!(&e, ModuleError::Open { .. }), "{e}");
    let e = ModuleBuilder::from_bytes(TEST_OBJ)
        .autoload("tbo_nope", false)
        .open()
        .unwrap_err();
    assert!(matches!(&e, ModuleError::ProgramNotFound { .. }), "{e}");
    let e = ModuleBuilder::from_bytes(TEST_OBJ)
        .kconfig_path("/nonexistent/config")
        .open()
        .unwrap_err();
    assert!(
        matches!(
            &e,
            ModuleError::ReadFile {
                what: "kconfig file",
                ..
            }
        ),
        "{e}"
    );

    // A kconfig file (plain or gzip) is read and handed to libbpf: the program sees our
    // CONFIG_HZ, not the running kernel's.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, b"# test config\nCONFIG_BPF=y\nCONFIG_HZ=123\n").unwrap();
    std::fs::write(&cfg, gz.finish().unwrap()).unwrap();
    let plain = dir.path().join("config");
    std::fs::write(&plain, b"CONFIG_HZ=321\n").unwrap();
    let m = ModuleBuilder::from_bytes(TEST_OBJ)
        .kconfig_path(&plain)
        .load()
        .unwrap();
    m.test_run("tbo_kconfig", None).unwrap();
    assert_eq!(counter(&m, C_KCONFIG_HZ), 321);
    let open = ModuleBuilder::from_bytes(TEST_OBJ)
        .object_name("module_test")
        .kconfig_path(&cfg)
        .kernel_log_level(1)
        .map_max_entries("events", 512 * 1024)
        .open()
        .unwrap();
    let progs = open.programs();
    let names: BTreeSet<&str> = progs.iter().map(|p| p.name.as_str()).collect();
    assert!(names.contains("tbo_exec") && names.contains("tbo_fentry"));
    let fentry = progs.iter().find(|p| p.name == "tbo_fentry").unwrap();
    assert_eq!(
        (fentry.kind, fentry.autoload),
        (Some(AttachKind::Fentry), false)
    );
    let m = open.load().unwrap();
    m.test_run("tbo_kconfig", None).unwrap();
    assert_eq!(counter(&m, C_KCONFIG_HZ), 123);
    assert_eq!(m.map("events").unwrap().max_entries(), 512 * 1024);
    let e = m.map("no_such_map").unwrap_err();
    assert!(matches!(&e, ModuleError::MapNotFound { .. }), "{e}");
}

#[test]
fn section_attach_and_panicking_callback() {
    require_bpf!();
    let mut m = load_test_module();
    target_this_thread(&m);
    // Attach by section: raw_tp/sys_enter.
    let link = m.attach("tbo_sys_enter").unwrap();
    assert_eq!(
        m.links(),
        vec![(
            link,
            "tbo_sys_enter",
            AttachKind::RawTracepoint,
            "sys_enter"
        )]
    );
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let seen = calls.clone();
    let reader = BufferReader::ring_buffer(&m, "events")
        .unwrap()
        .start_callback(move |_| {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            panic!("callback failure under test");
        })
        .unwrap();
    close_marker(6_000_000);
    for _ in 0..500 {
        if !reader.is_running() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        !reader.is_running(),
        "a panicking callback stops the reader"
    );
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(reader.received(), 0);
    assert!(reader.drops().channel_overflow >= 1);
    reader.stop();
    m.detach_all();
    assert!(m.links().is_empty());
}

#[test]
fn readers_and_modules_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<tracee_bpf_obj::module::Module>();
    send_sync::<BufferReader>();
    send_sync::<OwnedMap>();
    send_sync::<ModuleError>();
}

#[test]
fn concurrent_stops_all_wait_for_the_drain() {
    require_bpf!();
    let mut m = load_test_module();
    target_this_thread(&m);
    m.attach_raw_tracepoint("tbo_sys_enter", "sys_enter")
        .unwrap();
    let (reader, rx) = BufferReader::ring_buffer(&m, "events")
        .unwrap()
        .wakeup(WakeupPolicy::Interval(Duration::from_secs(3600)))
        .start_channel(1024)
        .unwrap();
    // The producer never wakes the reader and the reader would poll in an hour: only the
    // drain in stop() can deliver these.
    for fd in 7_000_000..7_000_010 {
        close_marker(fd);
    }
    let reader = std::sync::Arc::new(reader);
    let stoppers: Vec<_> = (0..4)
        .map(|_| {
            let r = reader.clone();
            std::thread::spawn(move || {
                r.stop();
                r.received()
            })
        })
        .collect();
    for s in stoppers {
        assert_eq!(
            s.join().unwrap(),
            10,
            "every stop() returns after the drain"
        );
    }
    let got: Vec<u64> = rx.iter().map(|b| TestEvent::parse(&b).arg0).collect();
    assert_eq!(got, (7_000_000..7_000_010).collect::<Vec<u64>>());
}

/// Ring-buffer record size of a TestEvent: 8-byte header + data rounded up to 8.
const RECORD: u32 = 8 + (std::mem::size_of::<TestEvent>() as u32).div_ceil(8) * 8;

#[test]
fn wakeup_policies_decide_when_the_reader_wakes() {
    require_bpf!();
    let mut m = load_test_module();
    target_this_thread(&m);
    m.attach_raw_tracepoint("tbo_sys_enter", "sys_enter")
        .unwrap();
    let hour = Duration::from_secs(3600);

    // Interval: the producer never wakes the reader, which would only poll in an hour, so
    // nothing arrives until stop() drains.
    let (r, rx) = BufferReader::ring_buffer(&m, "events")
        .unwrap()
        .wakeup(WakeupPolicy::Interval(hour))
        .start_channel(64)
        .unwrap();
    for fd in 8_000_000..8_000_005 {
        close_marker(fd);
    }
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "woken despite NO_WAKEUP"
    );
    r.stop();
    assert_eq!(rx.iter().count(), 5);

    // Threshold of three records: two events stay put, the third wakes the reader.
    let (r, rx) = BufferReader::ring_buffer(&m, "events")
        .unwrap()
        .wakeup(WakeupPolicy::Threshold {
            bytes: 3 * RECORD,
            max_latency: hour,
        })
        .start_channel(64)
        .unwrap();
    close_marker(8_100_000);
    close_marker(8_100_001);
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "woken below the threshold"
    );
    close_marker(8_100_002);
    let got: Vec<u64> = (0..3)
        .map(|_| {
            TestEvent::parse(
                &rx.recv_timeout(Duration::from_secs(10))
                    .expect("threshold wakeup"),
            )
            .arg0
        })
        .collect();
    assert_eq!(got, vec![8_100_000, 8_100_001, 8_100_002]);
    r.stop();

    // Every event: each wakes the reader at once (its own poll is 500 ms away at best).
    let (r, rx) = BufferReader::ring_buffer(&m, "events")
        .unwrap()
        .start_channel(64)
        .unwrap();
    close_marker(8_200_000);
    let ev = TestEvent::parse(&rx.recv_timeout(Duration::from_secs(10)).unwrap());
    assert_eq!(ev.arg0, 8_200_000);
    r.stop();
}
