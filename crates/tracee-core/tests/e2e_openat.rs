//! Privileged end-to-end test: an openat of a unique temporary path arrives with that path,
//! its flags, mode and a file descriptor as return value.

mod e2e_common;

use std::process::Command;
use std::time::Duration;

use e2e_common::{collect_until, tracer_or_skip};
use tracee_core::tracer::Tracer;

#[test]
fn e2e_openat_unique_path_arrives_with_flags() {
    let Some(tracer) = tracer_or_skip(
        "e2e_openat_unique_path_arrives_with_flags",
        Tracer::builder().events(["openat"]),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!(
        "tracee-e2e-{}-{:x}",
        std::process::id(),
        rand_u64()
    ));
    let path_s = path.to_str().expect("utf-8 temp path").to_string();
    // The shell opens the redirection target with O_WRONLY|O_CREAT|O_TRUNC, mode 0666.
    let mut child = Command::new("/bin/sh")
        .args(["-c", &format!("echo x > '{path_s}'")])
        .spawn()
        .expect("spawn /bin/sh");
    let pid = child.id();
    assert!(child.wait().expect("wait").success());
    assert!(path.exists());

    let events = collect_until(
        &tracer,
        Duration::from_secs(10),
        |e| e.header.pid == pid && e.arg("pathname").and_then(|v| v.as_str()) == Some(&path_s),
        |evs| !evs.is_empty(),
    );
    let stats = tracer.stats();
    tracer.stop();
    let ev = events
        .first()
        .unwrap_or_else(|| panic!("no openat of {path_s} by pid {pid}; {stats:?}"));
    assert_eq!(ev.event_name, "openat");
    assert_eq!(ev.header.syscall, Some(libc::SYS_openat as i32));
    let flags = ev.arg("flags").and_then(|v| v.as_i64()).expect("flags");
    assert_eq!(
        flags & !(libc::O_LARGEFILE as i64),
        i64::from(libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC),
        "flags {flags:#o}"
    );
    assert_eq!(
        ev.arg("dirfd").and_then(|v| v.as_i64()),
        Some(i64::from(libc::AT_FDCWD))
    );
    assert_eq!(ev.arg("mode").and_then(|v| v.as_i64()), Some(0o666));
    assert!(
        ev.header.retval >= 0,
        "a file descriptor: {}",
        ev.header.retval
    );
}

fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    // SAFETY: writing 8 bytes into a local buffer.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), 8, 0) };
    if n != 8 {
        return std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
    }
    u64::from_le_bytes(b)
}
