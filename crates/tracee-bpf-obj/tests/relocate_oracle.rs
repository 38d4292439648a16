//! tracee-btf's CO-RE relocator and BTFGen checked against libbpf and bpftool on real inputs:
//! the committed CO-RE objects, every btfhub sample and this machine's vmlinux.
//!
//! * libbpf (1.7, through libbpf-rs) relocates the same object against the same BTF (given as
//!   `btf_custom_path`); every relocation it reports must have our value.
//! * Relocating against our minimized BTF gives what relocating against the full BTF gives,
//!   with our relocator and with libbpf.
//! * `bpftool gen min_core_btf` on the same inputs: our output is no larger, and relocating
//!   against bpftool's output gives the same results as against ours.

mod relocate_common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use relocate_common::*;
use tracee_bpf_obj::elf::BpfObject;
use tracee_btf::core::{min_core_btf, relocate_all, CoreReloKind};
use tracee_btf::Btf;

struct Target {
    name: String,
    /// A raw BTF file for libbpf and bpftool.
    raw: PathBuf,
    btf: Btf,
}

fn targets(dir: &Path) -> Vec<Target> {
    let mut out = vec![Target {
        name: "sysfs vmlinux".into(),
        raw: PathBuf::from(tracee_btf::SYSFS_VMLINUX),
        btf: Btf::from_sysfs().expect("this machine's vmlinux BTF"),
    }];
    for (i, f) in btfhub_files().into_iter().enumerate() {
        let btf = Btf::from_file(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let raw = dir.join(format!("target{i}.btf"));
        std::fs::write(&raw, btf.raw_bytes()).unwrap();
        out.push(Target {
            name: f.file_name().unwrap().to_string_lossy().into_owned(),
            raw,
            btf,
        });
    }
    out
}

/// Our outcomes for every relocation of `obj` against `target`.
fn ours(obj: &BpfObject, target: &Btf) -> Vec<Outcome> {
    let relos = core_relos(obj);
    let rep = relocate_all(obj.btf().unwrap(), target, &relos);
    relos
        .iter()
        .zip(&rep.results)
        .map(|(r, res)| outcome(r.kind, target, res))
        .collect()
}

/// libbpf's key for each relocation: (program, index of the record in its section).
fn libbpf_keys(obj: &BpfObject) -> Vec<(String, u32)> {
    let mut per_section: BTreeMap<String, u32> = BTreeMap::new();
    obj.core_relos()
        .iter()
        .map(|r| {
            let n = per_section.entry(r.section.clone()).or_insert(0);
            let key = (r.function.clone().unwrap_or_default(), *n);
            *n += 1;
            key
        })
        .collect()
}

/// Whether the relocation's program is loaded by default (`?`-sections are not).
fn autoloaded(obj: &BpfObject, section: &str) -> bool {
    !section.starts_with('?') && obj.programs().iter().any(|p| p.section == section)
}

/// Whether the oracle can load: skips (unless TRACEE_REQUIRE_BPF=1) only for a missing
/// capability; with it, a libbpf failure is the oracle's answer, not a reason to skip.
fn bpf_available() -> bool {
    use tracee_bpf_obj::module::{missing_capabilities, Capability};
    let missing = missing_capabilities(&[Capability::Bpf]);
    if missing.is_empty() {
        return true;
    }
    if std::env::var("TRACEE_REQUIRE_BPF").as_deref() == Ok("1") {
        panic!("this process lacks CAP_BPF and TRACEE_REQUIRE_BPF=1");
    }
    eprintln!("SKIP libbpf oracle: this process lacks CAP_BPF (needs root or CAP_BPF)");
    false
}

/// Compares our outcomes with libbpf's for one object and one raw target BTF file; returns
/// how many relocations were compared.
fn compare_with_libbpf(
    obj_path: &Path,
    obj: &BpfObject,
    target_file: &Path,
    target: &Btf,
    what: &str,
) -> usize {
    let (lb, _err, log) = libbpf_relocations(obj_path, Some(target_file));
    let mine = ours(obj, target);
    let keys = libbpf_keys(obj);
    let mut compared = 0;
    // libbpf stops at the first relocation it refuses; later ones are not in its log.
    let aborted = lb.values().any(|o| *o == LibbpfOutcome::Failed);
    for (i, (key, out)) in keys.iter().zip(&mine).enumerate() {
        let r = &obj.core_relos()[i];
        let Some(theirs) = lb.get(key) else {
            assert!(
                aborted || !autoloaded(obj, &r.section) || *out == Outcome::Error,
                "{what}: libbpf did not report relo {key:?} ({} {}) that we resolve as {out:?}\n{log}",
                r.kind(),
                r.spec.access_path()
            );
            continue;
        };
        let expected = match theirs {
            LibbpfOutcome::Failed => Outcome::Error,
            LibbpfOutcome::Poisoned => Outcome::Poisoned,
            LibbpfOutcome::Patched(v) if r.kind() == CoreReloKind::TypeIdTarget && *v != 0 => {
                let t = target
                    .type_by_id(*v as u32)
                    .expect("libbpf's target id exists");
                Outcome::TargetType(t.kind(), t.name().to_string())
            }
            LibbpfOutcome::Patched(v) => Outcome::Value(*v),
        };
        assert_eq!(
            *out,
            expected,
            "{what}: relo {key:?} {} {} ({}): ours vs libbpf",
            r.kind(),
            r.spec.access_path(),
            r.access
        );
        compared += 1;
    }
    compared
}

#[test]
fn relocations_match_libbpf_on_full_and_minimized_btf() {
    let _g = LIBBPF.lock().unwrap_or_else(|e| e.into_inner());
    if !bpf_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let targets = targets(dir.path());
    let mut total = 0;
    for obj_path in objects() {
        let obj = BpfObject::from_path(&obj_path).unwrap();
        let local = obj.btf().unwrap();
        let relos = core_relos(&obj);
        for (ti, t) in targets.iter().enumerate() {
            let what = format!("{} vs {}", obj.name(), t.name);
            total += compare_with_libbpf(&obj_path, &obj, &t.raw, &t.btf, &what);
            let min = min_core_btf(&t.btf, local, &relos).unwrap();
            let min_path = dir.path().join(format!("{}-{ti}.min.btf", obj.name()));
            std::fs::write(&min_path, &min.btf).unwrap();
            let min_btf = Btf::from_vec(min.btf.clone()).unwrap();
            total += compare_with_libbpf(
                &obj_path,
                &obj,
                &min_path,
                &min_btf,
                &format!("{what} (minimized)"),
            );
        }
    }
    assert!(total > 500, "only {total} relocations compared");
    eprintln!("compared {total} relocations with libbpf");
}

#[test]
fn minimized_btf_relocates_like_the_full_btf() {
    let dir = tempfile::tempdir().unwrap();
    let targets = targets(dir.path());
    for obj_path in objects() {
        let obj = BpfObject::from_path(&obj_path).unwrap();
        let local = obj.btf().unwrap();
        let relos = core_relos(&obj);
        for t in &targets {
            let full = ours(&obj, &t.btf);
            let min = min_core_btf(&t.btf, local, &relos).unwrap();
            let min_btf = Btf::from_vec(min.btf.clone()).unwrap();
            min_btf.validate().unwrap();
            let minimized = ours(&obj, &min_btf);
            for (i, (a, b)) in full.iter().zip(&minimized).enumerate() {
                if *a == Outcome::Error {
                    continue;
                }
                let r = &obj.core_relos()[i];
                assert_eq!(
                    a,
                    b,
                    "{} on {}: relo #{i} {} {}",
                    obj.name(),
                    t.name,
                    r.kind(),
                    r.spec.access_path()
                );
            }
            assert!(
                min.btf.len() * 50 < t.btf.raw_bytes().len(),
                "{} on {}: {} of {} bytes kept",
                obj.name(),
                t.name,
                min.btf.len(),
                t.btf.raw_bytes().len()
            );
        }
    }
}

#[test]
fn no_larger_than_bpftool_and_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let targets = targets(dir.path());
    let mut compared = 0;
    for obj_path in objects() {
        let obj = BpfObject::from_path(&obj_path).unwrap();
        let local = obj.btf().unwrap();
        let relos = core_relos(&obj);
        for (ti, t) in targets.iter().enumerate() {
            let out = dir.path().join(format!("{}-{ti}.bpftool.btf", obj.name()));
            let run = Command::new("bpftool")
                .args(["gen", "min_core_btf"])
                .arg(&t.raw)
                .arg(&out)
                .arg(&obj_path)
                .output()
                .expect("bpftool must be installed for this test");
            if !run.status.success() {
                eprintln!(
                    "bpftool failed on {} / {}: {}",
                    obj.name(),
                    t.name,
                    String::from_utf8_lossy(&run.stderr).trim()
                );
                continue;
            }
            let theirs = std::fs::read(&out).unwrap();
            let mine = min_core_btf(&t.btf, local, &relos).unwrap();
            assert!(
                mine.btf.len() <= theirs.len(),
                "{} on {}: ours {} bytes, bpftool {} bytes",
                obj.name(),
                t.name,
                mine.btf.len(),
                theirs.len()
            );
            let full = ours(&obj, &t.btf);
            let via_bpftool = ours(&obj, &Btf::from_vec(theirs).unwrap());
            let via_ours = ours(&obj, &Btf::from_vec(mine.btf).unwrap());
            for i in 0..full.len() {
                if full[i] == Outcome::Error {
                    continue;
                }
                assert_eq!(
                    via_ours[i],
                    via_bpftool[i],
                    "{} on {}: relo #{i}",
                    obj.name(),
                    t.name
                );
                assert_eq!(
                    full[i],
                    via_bpftool[i],
                    "{} on {}: relo #{i}",
                    obj.name(),
                    t.name
                );
            }
            compared += 1;
        }
    }
    assert!(
        compared >= 5,
        "bpftool succeeded on only {compared} object/target pairs"
    );
}
