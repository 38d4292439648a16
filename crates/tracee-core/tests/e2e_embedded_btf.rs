//! BTF from a bundle instead of sysfs, through the tracer's own builder.
//!
//! - Privileged: a bundle made at test time from this machine's `/sys/kernel/btf/vmlinux`
//!   minimized for `TRACEE_BPF_OBJECT`, keyed by this machine's os-release and uname, given
//!   with `TracerBuilder::btf_bundle` while sysfs is off: the tracer relocates against that
//!   small BTF and delivers a spawned child's execve with its exact argv.
//! - A bundle without this machine's key: `build()` fails naming the key; an entry for this
//!   machine without the program's types: loading fails naming the CO-RE relocation.
//! - The embedded bundle (feature `embedded-btf`, on for this crate's tests through its
//!   dev-dependency on itself) is what the default builder's resolver falls back to.

mod e2e_common;

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use e2e_common::{collect_until, run_ok, tracer_or_skip};
use tracee_bpf_obj::elf::BpfObject;
use tracee_bpf_obj::relocate::min_core_btf;
use tracee_btf::archive::ArchiveLimits;
use tracee_btf::bundle::{BtfKey, Bundle, BundleBuilder};
use tracee_btf::host::{OsInfo, OsRelease};
use tracee_btf::resolver::{BtfResolver, Outcome, ResolveError, Source};
use tracee_btf::Btf;
use tracee_core::embedded_btf;
use tracee_core::tracer::{Tracer, TRACEE_BPF_OBJECT};
use tracee_core::TracerError;

fn host_key() -> BtfKey {
    OsInfo::detect()
        .and_then(|os| os.btf_key())
        .expect("this machine's BTF key (os-release ID/VERSION_ID, uname)")
}

/// This machine's vmlinux minimized for the tracer's program.
fn minimized_host_btf() -> (Vec<u8>, usize) {
    let obj = BpfObject::from_bytes(TRACEE_BPF_OBJECT).expect("TRACEE_BPF_OBJECT parses");
    let vmlinux = Btf::from_sysfs().expect("/sys/kernel/btf/vmlinux");
    let min = min_core_btf(&obj, &vmlinux).expect("minimizing vmlinux for the program");
    (min.btf, vmlinux.raw_bytes().len())
}

fn bundle_of(key: BtfKey, btf: Vec<u8>, origin: &str) -> Bundle {
    let mut b = BundleBuilder::new();
    b.preset(1);
    b.add(key, btf, origin).expect("adding the minimized BTF");
    Bundle::from_vec(b.build().expect("building the bundle"))
        .expect("reading the bundle back")
        .with_origin(origin)
}

fn no_btf_report(res: Result<Tracer, TracerError>) -> Box<tracee_btf::resolver::ResolveReport> {
    match res {
        Err(TracerError::Btf(ResolveError::NoBtf { report })) => report,
        Err(e) => panic!("expected NoBtf, got {e}"),
        Ok(_) => panic!("expected NoBtf, the tracer was built"),
    }
}

/// A spawned child's `exec /bin/echo WORD` arrives as an execve with its exact argv, and the
/// header fields read from `task_struct` (CO-RE, relocated against the bundle's BTF) are right.
fn assert_traces_a_spawned_exec(tracer: Tracer) {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let word = format!("tracee-embedded-btf-{}-{nanos}", std::process::id());
    let pid = run_ok(
        Command::new("/bin/sh")
            .args(["-c", &format!("exec /bin/echo {word}")])
            .stdout(Stdio::null()),
    );
    let is_echo = |e: &tracee_core::decode::Event| {
        e.event_name == "execve" && e.arg("pathname").and_then(|v| v.as_str()) == Some("/bin/echo")
    };
    let events = collect_until(
        &tracer,
        Duration::from_secs(10),
        |e| e.header.pid == pid,
        |evs| evs.iter().any(is_echo),
    );
    let stats = tracer.stats();
    tracer.stop();
    let ev = events
        .iter()
        .find(|e| is_echo(e))
        .unwrap_or_else(|| panic!("no execve of /bin/echo by pid {pid}: {events:#?}; {stats:?}"));
    let argv = ev
        .arg("argv")
        .and_then(|v| v.as_str_array())
        .unwrap_or_else(|| panic!("execve without argv: {ev:?}"));
    assert_eq!(argv, ["/bin/echo".to_string(), word]);
    // Header fields come from CO-RE reads of task_struct, relocated against the bundle.
    assert_eq!(ev.header.pid, pid);
    assert_eq!(ev.header.tid, pid);
    assert_eq!(ev.header.ppid, std::process::id());
    // SAFETY: getuid has no preconditions.
    assert_eq!(ev.header.uid, unsafe { libc::getuid() });
    assert_eq!(ev.header.retval, 0);
    assert_eq!(ev.header.comm, "echo");
}

#[test]
fn e2e_tracer_loads_with_a_bundle_of_this_machine_and_sysfs_off() {
    let test = "e2e_tracer_loads_with_a_bundle_of_this_machine_and_sysfs_off";
    if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        assert!(
            !e2e_common::required(),
            "{test}: needs /sys/kernel/btf/vmlinux to build the bundle"
        );
        eprintln!("SKIP {test}: no /sys/kernel/btf/vmlinux to build the bundle from");
        return;
    }
    let key = host_key();
    let (min, full_len) = minimized_host_btf();
    let bundle = bundle_of(key.clone(), min.clone(), "bundle of this machine");
    let Some(tracer) = tracer_or_skip(
        test,
        Tracer::builder()
            .events(["execve"])
            .btf_resolver(BtfResolver::new().no_env().no_sysfs())
            .btf_bundle(bundle),
    ) else {
        return;
    };

    // The report: env and sysfs skipped (sysfs because it is off), the bundle used by key.
    let report = tracer.btf_report();
    assert_eq!(tracer.btf_source(), Source::Bundle, "{report}");
    assert!(
        matches!(report.outcome(Source::Sysfs), Some(Outcome::Disabled)),
        "{report}"
    );
    assert!(
        matches!(report.outcome(Source::EnvFile), Some(Outcome::Disabled)),
        "{report}"
    );
    match report.outcome(Source::Bundle) {
        Some(Outcome::Used(what)) => assert!(
            what.contains(&key.to_string()) && what.contains("bundle of this machine"),
            "{report}"
        ),
        other => panic!("bundle outcome {other:?}\n{report}"),
    }
    assert_eq!(report.key.as_ref(), Some(&key));
    eprintln!("{report}");
    let text = report.to_string();
    assert!(text.contains("sysfs    skipped: disabled"), "{text}");
    // libbpf was handed the minimized BTF: the private copy holds exactly those bytes.
    let loaded = std::fs::read(tracer.btf_path()).expect("reading the BTF given to libbpf");
    assert_eq!(loaded, min, "libbpf's BTF is the minimized one");
    assert!(
        loaded.len() * 100 < full_len,
        "minimized {} bytes vs vmlinux {full_len}",
        loaded.len()
    );

    assert_traces_a_spawned_exec(tracer);
}

#[test]
fn bundle_without_this_machines_key_names_the_key() {
    let key = host_key();
    let other = BtfKey::new(
        key.id(),
        key.version_id(),
        key.arch(),
        &format!("{}-not-this-kernel", key.release()),
    )
    .expect("key");
    // Any valid BTF will do: resolution fails before anything is loaded.
    let btf = tracee_btf::BtfBuilder::new().finish().expect("empty BTF");
    let res = Tracer::builder()
        .events(["execve"])
        .btf_resolver(BtfResolver::new().no_env().no_sysfs())
        .btf_bundle(bundle_of(other, btf, "bundle of another kernel"))
        .build();
    let report = no_btf_report(res);
    match report.outcome(Source::Bundle) {
        Some(Outcome::Absent(why)) => assert!(
            why.contains(&key.to_string()) && why.contains("bundle of another kernel"),
            "{why}"
        ),
        other => panic!("bundle outcome {other:?}\n{report}"),
    }
    assert!(
        matches!(report.outcome(Source::Sysfs), Some(Outcome::Disabled)),
        "{report}"
    );
    assert_eq!(report.key.as_ref(), Some(&key));
    assert!(report.to_string().contains(&key.to_string()), "{report}");
}

#[test]
fn embedded_bundle_is_on_in_tests_and_is_the_committed_one() {
    // tracee-core's dev-dependency on itself enables embedded-btf for its tests.
    assert!(
        !embedded_btf::BUNDLE_BYTES.is_empty(),
        "feature embedded-btf is off in tests"
    );
    let bundle = embedded_btf::bundle()
        .expect("the embedded bundle parses")
        .expect("feature on");
    assert_eq!(bundle.origin().to_str(), Some(embedded_btf::ORIGIN));
    assert!(!bundle.is_empty());
    if embedded_btf::ORIGIN.ends_with("btf/tracee.btfbundle") {
        let committed = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/btf/tracee.btfbundle"))
            .expect("committed bundle");
        assert_eq!(embedded_btf::BUNDLE_BYTES, committed.as_slice());
    } else {
        eprintln!("embedded bundle is {}", embedded_btf::ORIGIN);
    }
}

#[test]
fn default_builder_falls_back_to_the_embedded_bundle() {
    let bundle = embedded_btf::bundle().expect("parses").expect("feature on");
    let limits = ArchiveLimits::default();
    for entry in bundle.entries() {
        let k = &entry.key;
        let os = OsInfo::new(
            OsRelease::parse(&format!("ID={}\nVERSION_ID={}\n", k.id(), k.version_id())),
            k.release(),
            k.arch(),
        );
        // A resolver without a bundle of its own gets the embedded one, after env and sysfs.
        let resolver = Tracer::builder()
            .btf_resolver(BtfResolver::new().no_env().no_sysfs().os_info(os))
            .effective_btf_resolver()
            .expect("effective resolver");
        let resolved = resolver.resolve().unwrap_or_else(|e| panic!("{k}: {e}"));
        assert_eq!(resolved.source(), Source::Bundle, "{}", resolved.report());
        match resolved.report().outcome(Source::Bundle) {
            Some(Outcome::Used(what)) => assert!(
                what.contains(&k.to_string()) && what.contains(embedded_btf::ORIGIN),
                "{what}"
            ),
            other => panic!("{k}: bundle outcome {other:?}"),
        }
        let raw = bundle.extract(entry, &limits).expect("extract");
        assert_eq!(resolved.btf().raw_bytes(), raw.as_slice(), "{k}");
        assert!(resolved.is_private_copy());
    }

    // The default resolver's order: env, sysfs, then the embedded bundle.
    let default = Tracer::builder()
        .effective_btf_resolver()
        .expect("effective resolver");
    assert!(default.bundle_source().is_some());
    // Off on request, or replaced by a bundle given at run time.
    let off = Tracer::builder()
        .embedded_btf(false)
        .effective_btf_resolver()
        .expect("effective resolver");
    assert!(off.bundle_source().is_none());
}

#[test]
fn default_builder_without_sysfs_reports_the_embedded_bundle_lacks_this_kernel() {
    let key = host_key();
    let embedded = embedded_btf::bundle().expect("parses").expect("feature on");
    if embedded.get(&key).is_some() {
        // An integrator's bundle with this machine in it ($TRACEE_EMBED_BTF_BUNDLE): trace
        // with it, sysfs off.
        let test = "default_builder_without_sysfs_uses_the_embedded_entry_of_this_kernel";
        let Some(tracer) = tracer_or_skip(
            test,
            Tracer::builder()
                .events(["execve"])
                .btf_resolver(BtfResolver::new().no_env().no_sysfs()),
        ) else {
            return;
        };
        eprintln!("{test}:\n{}", tracer.btf_report());
        assert_eq!(tracer.btf_source(), Source::Bundle);
        match tracer.btf_report().outcome(Source::Bundle) {
            Some(Outcome::Used(what)) => assert!(what.contains(embedded_btf::ORIGIN), "{what}"),
            other => panic!("bundle outcome {other:?}"),
        }
        assert_traces_a_spawned_exec(tracer);
        return;
    }
    let res = Tracer::builder()
        .events(["execve"])
        .btf_resolver(BtfResolver::new().no_env().no_sysfs())
        .build();
    let report = no_btf_report(res);
    match report.outcome(Source::Bundle) {
        Some(Outcome::Absent(why)) => assert!(
            why.contains(&key.to_string()) && why.contains(embedded_btf::ORIGIN),
            "{why}"
        ),
        other => panic!("bundle outcome {other:?}\n{report}"),
    }
    // Without the embedded bundle the slot is off.
    let report = no_btf_report(
        Tracer::builder()
            .events(["execve"])
            .btf_resolver(BtfResolver::new().no_env().no_sysfs())
            .embedded_btf(false)
            .build(),
    );
    assert!(
        matches!(report.outcome(Source::Bundle), Some(Outcome::Disabled)),
        "{report}"
    );
}

#[test]
fn e2e_bundle_entry_without_the_programs_types_fails_to_load() {
    if e2e_common::skip_without_capabilities(
        "e2e_bundle_entry_without_the_programs_types_fails_to_load",
    ) {
        return;
    }
    let btf = tracee_btf::BtfBuilder::new().finish().expect("empty BTF");
    let res = Tracer::builder()
        .events(["execve"])
        .btf_resolver(BtfResolver::new().no_env().no_sysfs())
        .btf_bundle(bundle_of(host_key(), btf, "bundle with an empty entry"))
        .build();
    // libbpf relocates against the bundle's BTF, not the kernel's: with nothing in it, the
    // load fails naming the relocation (so a stale bundle cannot silently run wrong offsets).
    match res {
        Err(e @ TracerError::Module { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("CO-RE relocation"), "{msg}");
        }
        Err(e) => panic!("expected a load error, got {e}"),
        Ok(_) => panic!("the program loaded against an empty BTF"),
    }
}
