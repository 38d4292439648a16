//! Archive reader against real btfhub files (GNU tar as the oracle) and hostile inputs, plus
//! a replay of the fuzz corpus.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{raw_tar, xz, KERNELS};
use tracee_btf::archive::{decompress_btf, is_compressed, ArchiveError, ArchiveLimits};
use tracee_btf::Btf;

fn gnu_tar_extract(path: &Path) -> Vec<u8> {
    let out = Command::new("tar")
        .arg("-xJOf")
        .arg(path)
        .output()
        .expect("run tar");
    assert!(out.status.success(), "tar failed on {}", path.display());
    out.stdout
}

#[test]
fn every_testdata_archive_matches_gnu_tar_and_parses() {
    let limits = ArchiveLimits::default();
    for k in KERNELS {
        let path = k.path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(is_compressed(&bytes));
        let ours = decompress_btf(&bytes, &limits, &path).unwrap();
        let theirs = gnu_tar_extract(&path);
        assert_eq!(ours.len(), theirs.len(), "{}", path.display());
        assert!(
            ours == theirs,
            "{}: bytes differ from GNU tar's",
            path.display()
        );
        let btf = Btf::from_vec(ours).unwrap();
        assert!(
            btf.type_count() > 10_000,
            "{}: {}",
            path.display(),
            btf.type_count()
        );
    }
}

#[test]
fn gzip_forms_of_a_real_btf_match() {
    let k = KERNELS[0];
    let raw = gnu_tar_extract(&k.path());
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("k.btf");
    std::fs::write(&plain, &raw).unwrap();
    let st = Command::new("gzip")
        .arg("-k")
        .arg("-1")
        .arg(&plain)
        .status()
        .unwrap();
    assert!(st.success());
    let gz = std::fs::read(dir.path().join("k.btf.gz")).unwrap();
    assert_eq!(
        decompress_btf(&gz, &ArchiveLimits::default(), &plain).unwrap(),
        raw
    );
}

#[test]
fn truncated_real_archive_is_refused_at_every_cut() {
    let k = KERNELS[0];
    let path = k.path();
    let bytes = std::fs::read(&path).unwrap();
    let limits = ArchiveLimits::default();
    // Cuts inside the header, the compressed data, and the index/footer at the end.
    for cut in [6, 100, bytes.len() / 3, bytes.len() - 40, bytes.len() - 1] {
        let err = decompress_btf(&bytes[..cut], &limits, &path).unwrap_err();
        match err {
            ArchiveError::Truncated {
                format: "xz",
                ref origin,
                ..
            } => assert_eq!(origin, &path),
            // A cut inside the 12-byte stream header can also read as a corrupt header.
            ArchiveError::Corrupt { format: "xz", .. } if cut < 12 => {}
            other => panic!("cut {cut}: {other:?}"),
        }
    }
}

#[test]
fn real_archive_over_the_limit_is_refused() {
    let k = KERNELS[0];
    let path = k.path();
    let bytes = std::fs::read(&path).unwrap();
    let limits = ArchiveLimits {
        max_decompressed: 1 << 20,
    };
    let err = decompress_btf(&bytes, &limits, &path).unwrap_err();
    assert!(
        matches!(err, ArchiveError::TooLarge { limit, ref origin } if limit == 1 << 20 && origin == &path),
        "{err:?}"
    );
}

#[test]
fn hostile_tars_name_the_entry() {
    let btf = gnu_tar_extract(&KERNELS[0].path());
    let origin = Path::new("mirror/evil.btf.tar.xz");
    let l = ArchiveLimits::default();
    let t = raw_tar(&[(
        "../../etc/cron.d/x",
        tar::EntryType::Regular,
        &btf[..64],
        None,
    )]);
    let err = decompress_btf(&xz(&t), &l, origin).unwrap_err();
    assert!(
        matches!(&err, ArchiveError::PathTraversal { entry, origin: o } if entry == "../../etc/cron.d/x" && o == origin),
        "{err:?}"
    );
    assert!(err.to_string().contains("../../etc/cron.d/x"));
    let t = raw_tar(&[(
        "vmlinux",
        tar::EntryType::Symlink,
        b"",
        Some("/sys/kernel/btf/vmlinux"),
    )]);
    let err = decompress_btf(&xz(&t), &l, origin).unwrap_err();
    assert!(
        matches!(&err, ArchiveError::Link { entry, target, .. } if entry == "vmlinux" && target == "/sys/kernel/btf/vmlinux"),
        "{err:?}"
    );
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/corpus/btf_archive"
    ))
}

/// Every fuzz seed goes through the reader on stable too; none may panic, and the seeds that
/// are known-good must decode.
#[test]
fn fuzz_corpus_replays_without_panics() {
    let dir = corpus_dir();
    let mut n = 0;
    let limits = ArchiveLimits {
        max_decompressed: 64 << 20,
    };
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let result = decompress_btf(&data, &limits, &path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // The same target feeds every input to the bundle reader.
        if let Ok(bundle) = tracee_btf::bundle::Bundle::from_vec(data.clone()) {
            for e in bundle.entries() {
                let _ = bundle.extract(e, &limits);
            }
            if name.starts_with("seed-bundle") {
                assert_eq!(bundle.entries().len(), 2);
                for e in bundle.entries() {
                    bundle.extract(e, &limits).unwrap();
                }
            }
        } else {
            assert!(
                !name.starts_with("seed-bundle"),
                "{name} does not parse as a bundle"
            );
        }
        if name.starts_with("ok-") {
            assert!(result.is_ok(), "{name}: {result:?}");
        } else if name.starts_with("bad-") {
            assert!(result.is_err(), "{name} decoded");
        }
        n += 1;
    }
    assert!(n >= 5, "corpus at {} has only {n} files", dir.display());
}
