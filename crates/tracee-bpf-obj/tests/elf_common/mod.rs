//! Helpers shared by the elf_* integration tests: fixture paths and external oracles
//! (`bpftool`, `llvm-readelf-16`) whose output the reader is checked against.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// Path of a committed fixture object (built by tests/fixtures/build.sh).
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("reading fixture {name}: {e}"))
}

/// Runs an external tool; `None` (with a note on stderr) if it is not installed, unless
/// TRACEE_REQUIRE_BPF=1 asks for every check to run.
pub fn run_tool(program: &str, args: &[&str]) -> Option<(String, String)> {
    match Command::new(program).args(args).output() {
        Ok(out) => Some((
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )),
        Err(e) => {
            if std::env::var("TRACEE_REQUIRE_BPF").as_deref() == Ok("1") {
                panic!("{program} is required (TRACEE_REQUIRE_BPF=1) but cannot run: {e}");
            }
            eprintln!("SKIP oracle check: {program} cannot run: {e}");
            None
        }
    }
}

/// libbpf's debug log for opening `object` (programs found, map definitions parsed), taken
/// from `bpftool -d gen skeleton`, which opens the object without loading it.
pub fn libbpf_open_log(object: &str) -> Option<String> {
    let path = fixture(object);
    let (_, stderr) = run_tool("bpftool", &["-d", "gen", "skeleton", path.to_str()?])?;
    assert!(
        stderr.contains("libbpf: loading"),
        "unexpected bpftool output: {stderr}"
    );
    Some(stderr)
}

/// libbpf's own rendering of every CO-RE relocation spec of `object`, in order, as
/// (section, spec) pairs: `bpftool -d gen min_core_btf` runs libbpf's relocation logic
/// (unprivileged) and logs `prog '<section>': relo #N: <spec>` for each record.
pub fn libbpf_core_specs(object: &str) -> Option<Vec<(String, String)>> {
    let path = fixture(object);
    let target = if std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        "/sys/kernel/btf/vmlinux"
    } else {
        eprintln!(
            "SKIP oracle check: no /sys/kernel/btf/vmlinux to run bpftool gen min_core_btf against"
        );
        return None;
    };
    let out = tempfile::NamedTempFile::new().ok()?;
    let (_, stderr) = run_tool(
        "bpftool",
        &[
            "-d",
            "gen",
            "min_core_btf",
            target,
            out.path().to_str()?,
            path.to_str()?,
        ],
    )?;
    let mut specs = Vec::new();
    for line in stderr.lines() {
        // libbpf: prog 'raw_tp/sys_enter': relo #0: <byte_off> [5] struct task_struct.pid (0:6 @ offset 12)
        let Some(rest) = line.strip_prefix("libbpf: prog '") else {
            continue;
        };
        let Some((section, rest)) = rest.split_once("': relo #") else {
            continue;
        };
        let Some((_, spec)) = rest.split_once(": ") else {
            continue;
        };
        if spec.starts_with('<') {
            specs.push((section.to_string(), spec.to_string()));
        }
    }
    assert!(
        !specs.is_empty(),
        "bpftool logged no relocations:\n{stderr}"
    );
    Some(specs)
}
