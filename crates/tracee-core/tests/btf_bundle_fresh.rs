//! The committed bundle `btf/tracee.btfbundle` (what feature `embedded-btf` embeds) still
//! fits the committed program: it holds every btfhub sample, and for each of them relocating
//! `TRACEE_BPF_OBJECT` against the bundle's minimized BTF gives exactly the results the full
//! BTF gives. A change to `bpf/tracee.bpf.c` that reads new kernel fields makes this fail
//! until `scripts/build-btf-bundle.sh` is run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tracee_bpf_obj::elf::BpfObject;
use tracee_bpf_obj::relocate::{relocate, RelocationReport};
use tracee_btf::archive::ArchiveLimits;
use tracee_btf::bundle::{BtfKey, Bundle};
use tracee_btf::core::CoreReloKind;
use tracee_btf::host::arch_dir_names;
use tracee_btf::{Btf, Kind};

const REGENERATE: &str =
    "run scripts/build-btf-bundle.sh and commit crates/tracee-core/btf/tracee.btfbundle";

fn committed_bundle() -> Bundle {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("btf/tracee.btfbundle");
    Bundle::open(&path).unwrap_or_else(|e| panic!("{}: {e}; {REGENERATE}", path.display()))
}

/// `<repo>/testdata/btfhub`, or a panic saying where it was looked for.
fn btfhub_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/btfhub");
    assert!(
        dir.is_dir(),
        "btfhub samples not found at {}",
        dir.display()
    );
    dir
}

/// Every sample's key and file (`ID/VERSION_ID/ARCH/RELEASE.btf.tar.xz`).
fn samples() -> Vec<(BtfKey, PathBuf)> {
    let mut out = Vec::new();
    let root = btfhub_dir();
    let sorted = |d: &Path| {
        let mut v: Vec<PathBuf> = std::fs::read_dir(d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .flatten()
            .map(|e| e.path())
            .collect();
        v.sort();
        v
    };
    let name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
    for id in sorted(&root) {
        for ver in sorted(&id) {
            for arch in sorted(&ver) {
                for f in sorted(&arch) {
                    let n = name(&f);
                    if let Some(release) = n.strip_suffix(".btf.tar.xz") {
                        let key = BtfKey::new(&name(&id), &name(&ver), &name(&arch), release)
                            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
                        out.push((key, f));
                    }
                }
            }
        }
    }
    assert!(!out.is_empty(), "no samples under {}", root.display());
    out
}

/// A relocation result comparable across targets: TYPE_ID_TARGET ids become kind + name.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Value(u64),
    TargetType(Kind, String),
    Poisoned,
    Error,
}

fn outcomes(report: &RelocationReport, target: &Btf) -> Vec<(String, Outcome)> {
    report
        .entries
        .iter()
        .map(|e| {
            let o = match &e.result {
                Err(_) => Outcome::Error,
                Ok(r) if r.poison => Outcome::Poisoned,
                Ok(r) if e.kind == CoreReloKind::TypeIdTarget && r.new_val != 0 => {
                    match target.type_by_id(r.new_val as u32) {
                        Ok(t) => Outcome::TargetType(t.kind(), t.name().to_string()),
                        Err(_) => Outcome::Error,
                    }
                }
                Ok(r) => Outcome::Value(r.new_val),
            };
            (format!("{} {} {}", e.section, e.kind, e.access_path), o)
        })
        .collect()
}

#[test]
fn committed_bundle_holds_every_btfhub_sample() {
    let bundle = committed_bundle();
    let have: BTreeSet<String> = bundle.entries().iter().map(|e| e.key.to_string()).collect();
    let want: BTreeSet<String> = samples().iter().map(|(k, _)| k.to_string()).collect();
    assert_eq!(
        have, want,
        "btf/tracee.btfbundle's kernels differ from the btfhub samples; {REGENERATE}"
    );
}

/// Both builds of the program (x86_64 and arm64) are minimized into the one bundle.
#[test]
fn committed_bundle_relocates_the_program_like_the_full_btf() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["bpf/tracee.bpf.o", "bpf/tracee.bpf.arm64.o"] {
        let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        check_object(name, &bytes);
    }
}

fn check_object(name: &str, bytes: &[u8]) {
    let obj = BpfObject::from_bytes(bytes).unwrap_or_else(|e| panic!("{name} parses: {e}"));
    let bundle = committed_bundle();
    let samples = samples();
    let mut checked = 0;
    for entry in bundle.entries() {
        let Some((_, file)) = samples.iter().find(|(k, _)| *k == entry.key) else {
            continue; // reported by committed_bundle_holds_every_btfhub_sample
        };
        let raw = bundle
            .extract(entry, &ArchiveLimits::default())
            .unwrap_or_else(|e| panic!("{}: {e}; {REGENERATE}", entry.key));
        let min = Btf::from_vec_validated(raw)
            .unwrap_or_else(|e| panic!("{}: {e}; {REGENERATE}", entry.key));
        let full = Btf::from_file(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let against_min = relocate(&obj, &min).expect("relocating against the bundle entry");
        let against_full = relocate(&obj, &full).expect("relocating against the full BTF");
        assert!(
            !against_full.entries.is_empty(),
            "the program has no CO-RE relocations"
        );
        let (a, b) = (outcomes(&against_full, &full), outcomes(&against_min, &min));
        let diffs: Vec<String> = a
            .iter()
            .zip(&b)
            .enumerate()
            .filter(|(_, (x, y))| x != y)
            .map(|(i, ((what, x), (_, y)))| format!("  relo #{i} {what}: full {x:?}, bundle {y:?}"))
            .collect();
        assert!(
            diffs.is_empty(),
            "btf/tracee.btfbundle is stale for {name} on {} ({} of {} relocations differ):\n{}\n{REGENERATE}",
            entry.key,
            diffs.len(),
            a.len(),
            diffs.join("\n")
        );
        // The point of minimizing: a few KiB instead of megabytes.
        assert!(
            min.raw_bytes().len() * 100 < full.raw_bytes().len(),
            "{}: {} bytes minimized vs {} full",
            entry.key,
            min.raw_bytes().len(),
            full.raw_bytes().len()
        );
        // Lookups by arch directory name work for the sample's own directory.
        assert!(arch_dir_names(entry.key.arch())
            .iter()
            .any(|a| btfhub_dir().join(entry.key.btfhub_path(a)) == *file));
        checked += 1;
    }
    assert!(
        checked > 0,
        "no bundle entry matched a sample; {REGENERATE}"
    );
}
