//! Privileged: libbpf loads the Module test object with our minimized copy of this machine's
//! vmlinux as its custom BTF, and the CO-RE reads relocated against it deliver real events
//! (the exec'd child's parent pid and filename).

#[path = "module_common/mod.rs"]
mod module_common;
mod relocate_common;

use std::process::Command;
use std::time::Duration;

use module_common::*;
use tracee_bpf_obj::elf::BpfObject;
use tracee_bpf_obj::module::buffers::BufferReader;
use tracee_bpf_obj::module::ModuleBuilder;
use tracee_btf::core::min_core_btf;
use tracee_btf::Btf;

#[test]
fn loads_and_traces_with_our_minimized_vmlinux() {
    if skip_without_bpf("loads_and_traces_with_our_minimized_vmlinux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let obj_path = dir.path().join("module_test.bpf.o");
    std::fs::write(&obj_path, TEST_OBJ).unwrap();
    let obj = BpfObject::from_path(&obj_path).unwrap();
    let vmlinux = Btf::from_sysfs().unwrap();
    let min = min_core_btf(
        &vmlinux,
        obj.btf().unwrap(),
        &relocate_common::core_relos(&obj),
    )
    .unwrap();
    assert!(min.stats.matched > 0, "{:?}", min.stats);
    assert!(
        min.btf.len() * 1000 < vmlinux.raw_bytes().len(),
        "{} bytes",
        min.btf.len()
    );
    let min_path = dir.path().join("vmlinux.min.btf");
    std::fs::write(&min_path, &min.btf).unwrap();

    let mut m = ModuleBuilder::from_path(&obj_path)
        .btf_custom_path(&min_path)
        .load()
        .expect("libbpf loads the object relocated against our minimized BTF");
    target_this_thread(&m);
    m.attach_tp_btf("tbo_exec").unwrap();
    let (_rb, rx) = BufferReader::ring_buffer(&m, "events")
        .unwrap()
        .start_channel(256)
        .unwrap();
    let mut child = Command::new("/bin/true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let evs = collect_until(&rx, Duration::from_secs(10), |e| {
        e.iter().any(|e| e.kind == EV_EXEC && e.pid == pid)
    });
    let exec = evs
        .iter()
        .find(|e| e.kind == EV_EXEC && e.pid == pid)
        .expect("exec event of our child");
    assert_eq!(
        (exec.ppid, exec.filename().as_str()),
        (std::process::id(), "/bin/true")
    );
}
