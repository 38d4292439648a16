//! Resolver sources (env file, sysfs, bundle, btfhub directory) and their order, with the
//! btfhub testdata and os-release/uname overridden to name each testdata kernel. Download
//! tests live in resolver_download.rs (feature `download`).

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use support::{raw_tar, xz, KERNELS};
use tracee_btf::archive::{decompress_btf, ArchiveError, ArchiveLimits};
use tracee_btf::bundle::{Bundle, BundleBuilder};
use tracee_btf::resolver::{BtfResolver, Outcome, PrivateStorage, ResolveError, Source, SYSFS_BTF};
use tracee_btf::Btf;

/// The four testdata kernels as one bundle, built once per test binary.
fn bundle() -> Bundle {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    let bytes = BYTES.get_or_init(|| {
        let mut b = BundleBuilder::new();
        b.preset(0);
        assert_eq!(b.add_btfhub_dir(support::testdata()).unwrap(), 4);
        b.build().unwrap()
    });
    Bundle::from_vec(bytes.clone()).unwrap()
}

fn raw_of(k: &support::Kernel) -> Vec<u8> {
    let p = k.path();
    decompress_btf(&std::fs::read(&p).unwrap(), &ArchiveLimits::default(), &p).unwrap()
}

/// A sysfs path that does not exist.
fn nothing() -> PathBuf {
    PathBuf::from("/nonexistent/tracee-test/vmlinux")
}

fn sysfs_available() -> bool {
    Path::new(SYSFS_BTF).exists()
}

#[test]
fn sysfs_is_used_when_present() {
    if !sysfs_available() {
        eprintln!("skipping: no {SYSFS_BTF}");
        return;
    }
    let r = BtfResolver::new().no_env().resolve().unwrap();
    assert_eq!(r.source(), Source::Sysfs);
    assert_eq!(r.path(), Path::new(SYSFS_BTF));
    assert!(!r.is_private_copy());
    assert_eq!(
        r.btf().type_count(),
        Btf::from_sysfs().unwrap().type_count()
    );
    assert!(matches!(
        r.report().outcome(Source::EnvFile),
        Some(Outcome::Disabled)
    ));
    assert!(matches!(r.report().outcome(Source::Sysfs), Some(Outcome::Used(p)) if p == SYSFS_BTF));
}

#[test]
fn bundle_serves_every_testdata_kernel_with_sysfs_pointed_at_nothing() {
    let bundle = bundle();
    assert_eq!(bundle.entries().len(), 4);
    let private_parent = tempfile::tempdir().unwrap();
    for k in KERNELS {
        let r = BtfResolver::new()
            .no_env()
            .sysfs_path(nothing())
            .bundle(bundle.clone())
            .os_info(k.os_info())
            .private_storage(PrivateStorage::DirIn(private_parent.path().to_path_buf()))
            .resolve()
            .unwrap_or_else(|e| panic!("{}: {e}", k.key_string()));
        assert_eq!(r.source(), Source::Bundle);
        assert_eq!(r.key().unwrap().to_string(), k.key_string());
        let raw = raw_of(&k);
        assert!(
            r.btf().raw_bytes() == &raw[..],
            "{}: wrong BTF",
            k.key_string()
        );
        assert_eq!(
            r.btf().type_count(),
            Btf::from_file(k.path()).unwrap().type_count()
        );
        // libbpf's copy: identical bytes in a fresh 0700 directory, gone after drop.
        let path = r.path().to_path_buf();
        assert!(r.is_private_copy());
        assert!(std::fs::read(&path).unwrap() == raw);
        let dir = path.parent().unwrap().to_path_buf();
        assert_eq!(dir.parent().unwrap(), private_parent.path());
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        match r.report().outcome(Source::Sysfs) {
            Some(Outcome::Absent(why)) => {
                assert!(why.contains("/nonexistent/tracee-test/vmlinux"), "{why}")
            }
            other => panic!("sysfs outcome {other:?}"),
        }
        drop(r);
        assert!(!path.exists() && !dir.exists(), "private copy left behind");
    }
    assert_eq!(std::fs::read_dir(private_parent.path()).unwrap().count(), 0);
}

#[test]
fn memfd_copy_is_sealed_and_readable_through_proc() {
    let k = KERNELS[0];
    let r = BtfResolver::new()
        .no_env()
        .no_sysfs()
        .bundle(bundle())
        .os_info(k.os_info())
        .resolve()
        .unwrap();
    let path = r.path().to_str().unwrap().to_string();
    assert!(path.starts_with("/proc/self/fd/"), "{path}");
    assert!(std::fs::read(&path).unwrap() == raw_of(&k));
    // Sealed against writes: opening for write works on a memfd, writing must not.
    let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    use std::io::Write;
    assert!(f.write_all(b"x").is_err(), "memfd is writable");
}

#[test]
fn btfhub_directory_source_finds_arm64_and_aarch64_trees() {
    for k in KERNELS {
        let r = BtfResolver::new()
            .no_env()
            .sysfs_path(nothing())
            .btfhub_dir(support::testdata())
            .os_info(k.os_info())
            .resolve()
            .unwrap_or_else(|e| panic!("{}: {e}", k.key_string()));
        assert_eq!(r.source(), Source::Bundle);
        assert!(r.btf().raw_bytes() == &raw_of(&k)[..]);
        match r.report().outcome(Source::Bundle) {
            Some(Outcome::Used(what)) => assert!(
                what.ends_with(&format!("{}/{}.btf.tar.xz", k.arch_dir, k.release)),
                "{what}"
            ),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn env_file_wins_over_sysfs_and_bundle() {
    let k = KERNELS[0];
    // Compressed env file: parsed, handed to libbpf as a private raw copy.
    let r = BtfResolver::new()
        .env_file(k.path())
        .bundle(bundle())
        .os_info(KERNELS[1].os_info())
        .resolve()
        .unwrap();
    assert_eq!(r.source(), Source::EnvFile);
    assert!(r.is_private_copy());
    assert!(std::fs::read(r.path()).unwrap() == raw_of(&k));
    assert_eq!(r.report().attempts.len(), 1);
    // Raw env file: its own path goes to libbpf.
    let dir = tempfile::tempdir().unwrap();
    let raw_path = dir.path().join("custom.btf");
    std::fs::write(&raw_path, raw_of(&k)).unwrap();
    let r = BtfResolver::new().env_file(&raw_path).resolve().unwrap();
    assert_eq!(r.source(), Source::EnvFile);
    assert_eq!(r.path(), raw_path);
    assert!(!r.is_private_copy());
}

#[test]
fn order_env_then_sysfs_then_bundle() {
    let k = KERNELS[1];
    let base = || BtfResolver::new().bundle(bundle()).os_info(k.os_info());
    let with_env = base().env_file(KERNELS[0].path()).resolve().unwrap();
    assert_eq!(with_env.source(), Source::EnvFile);
    if sysfs_available() {
        let r = base().no_env().resolve().unwrap();
        assert_eq!(r.source(), Source::Sysfs);
        assert!(
            r.report().outcome(Source::Bundle).is_none(),
            "bundle consulted after sysfs won"
        );
    }
    let r = base().no_env().sysfs_path(nothing()).resolve().unwrap();
    assert_eq!(r.source(), Source::Bundle);
    let sources: Vec<Source> = r.report().attempts.iter().map(|a| a.source).collect();
    assert_eq!(sources, [Source::EnvFile, Source::Sysfs, Source::Bundle]);
    let text = r.report().to_string();
    assert!(
        text.contains("env") && text.contains("disabled") && text.contains(&k.key_string()),
        "{text}"
    );
}

#[test]
fn missing_env_file_is_fatal_even_when_sysfs_works() {
    let missing = PathBuf::from("/nonexistent/custom-vmlinux.btf");
    let err = BtfResolver::new()
        .env_file(&missing)
        .bundle(bundle())
        .os_info(KERNELS[0].os_info())
        .resolve()
        .unwrap_err();
    assert!(
        matches!(&err, ResolveError::EnvFileMissing { var: None, path } if path == &missing),
        "{err:?}"
    );
    assert!(err.to_string().contains("/nonexistent/custom-vmlinux.btf"));
}

#[test]
fn env_file_that_is_not_btf_is_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.btf");
    std::fs::write(&junk, b"\x9f\xeb\x01\x00this is not a real header").unwrap();
    let err = BtfResolver::new().env_file(&junk).resolve().unwrap_err();
    assert!(
        matches!(&err, ResolveError::InvalidBtf { from: Source::EnvFile, origin, .. } if origin == &junk.display().to_string()),
        "{err:?}"
    );
    let elf = dir.path().join("elf.btf.tar.xz");
    std::fs::write(
        &elf,
        xz(&raw_tar(&[(
            "vmlinux",
            tar::EntryType::Regular,
            b"\x7fELF\x02\x01\x01",
            None,
        )])),
    )
    .unwrap();
    let err = BtfResolver::new().env_file(&elf).resolve().unwrap_err();
    assert!(
        matches!(&err, ResolveError::Archive { from: Source::EnvFile, error: ArchiveError::NotBtf { origin, member: Some(m), .. } } if origin == &elf && m == "vmlinux"),
        "{err:?}"
    );
}

#[test]
fn hostile_and_oversized_archives_in_a_btfhub_tree_are_skipped_with_the_reason() {
    let k = KERNELS[0];
    let tree = tempfile::tempdir().unwrap();
    let file = tree
        .path()
        .join(k.id)
        .join(k.version_id)
        .join(k.arch_dir)
        .join(format!("{}.btf.tar.xz", k.release));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let resolve = |limits: ArchiveLimits| {
        BtfResolver::new()
            .no_env()
            .sysfs_path(nothing())
            .btfhub_dir(tree.path())
            .os_info(k.os_info())
            .limits(limits)
            .resolve()
            .unwrap_err()
    };
    let failed = |err: ResolveError| -> ArchiveError {
        let ResolveError::NoBtf { report } = err else {
            panic!("{err:?}")
        };
        let Some(Outcome::Failed(ResolveError::Archive {
            from: Source::Bundle,
            error,
        })) = report
            .attempts
            .into_iter()
            .find(|a| a.source == Source::Bundle)
            .map(|a| a.outcome)
        else {
            panic!("bundle did not fail with an archive error")
        };
        error
    };
    let raw = raw_of(&k);

    std::fs::write(
        &file,
        xz(&raw_tar(&[(
            "../../../escape.btf",
            tar::EntryType::Regular,
            &raw[..4096],
            None,
        )])),
    )
    .unwrap();
    let e = failed(resolve(ArchiveLimits::default()));
    assert!(
        matches!(&e, ArchiveError::PathTraversal { entry, origin } if entry == "../../../escape.btf" && origin == &file),
        "{e:?}"
    );
    assert!(!tree.path().parent().unwrap().join("escape.btf").exists());

    std::fs::write(
        &file,
        xz(&raw_tar(&[(
            "vmlinux",
            tar::EntryType::Symlink,
            b"",
            Some("/etc/shadow"),
        )])),
    )
    .unwrap();
    let e = failed(resolve(ArchiveLimits::default()));
    assert!(
        matches!(&e, ArchiveError::Link { entry, target, .. } if entry == "vmlinux" && target == "/etc/shadow"),
        "{e:?}"
    );

    std::fs::copy(k.path(), &file).unwrap();
    let e = failed(resolve(ArchiveLimits {
        max_decompressed: 1 << 20,
    }));
    assert!(
        matches!(&e, ArchiveError::TooLarge { origin, .. } if origin == &file),
        "{e:?}"
    );

    let full = std::fs::read(k.path()).unwrap();
    std::fs::write(&file, &full[..full.len() / 2]).unwrap();
    let e = failed(resolve(ArchiveLimits::default()));
    assert!(
        matches!(&e, ArchiveError::Truncated { format: "xz", origin, .. } if origin == &file),
        "{e:?}"
    );
}

#[test]
fn nothing_found_reports_every_source() {
    let k = KERNELS[0];
    let other = KERNELS[1];
    let err = BtfResolver::new()
        .env_var("TRACEE_TEST_UNSET_BTF_VARIABLE")
        .sysfs_path(nothing())
        .bundle(bundle())
        .os_info(
            support::Kernel {
                release: "9.9.9-not-in-bundle",
                ..other
            }
            .os_info(),
        )
        .resolve()
        .unwrap_err();
    let ResolveError::NoBtf { report } = err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(report.outcome(Source::EnvFile), Some(Outcome::Absent(w)) if w.contains("TRACEE_TEST_UNSET_BTF_VARIABLE"))
    );
    assert!(matches!(
        report.outcome(Source::Sysfs),
        Some(Outcome::Absent(_))
    ));
    assert!(
        matches!(report.outcome(Source::Bundle), Some(Outcome::Absent(w)) if w.contains("9.9.9-not-in-bundle") && w.contains("4 kernels"))
    );
    let _ = k;
    // A host whose key cannot be formed skips the bundle with the host error.
    let err = BtfResolver::new()
        .no_env()
        .no_sysfs()
        .bundle(bundle())
        .os_info(tracee_btf::host::OsInfo::new(
            tracee_btf::host::OsRelease::parse("ID=x\nVERSION_ID=1\n"),
            "r",
            "mips",
        ))
        .resolve()
        .unwrap_err();
    let ResolveError::NoBtf { report } = err else {
        panic!("{err:?}")
    };
    assert!(matches!(
        report.outcome(Source::Bundle),
        Some(Outcome::Failed(ResolveError::Host(tracee_btf::host::HostError::UnknownArch { machine }))) if machine == "mips"
    ));
}

#[test]
fn sysfs_that_is_not_btf_is_skipped_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("vmlinux");
    std::fs::write(&fake, b"garbage").unwrap();
    let k = KERNELS[0];
    let r = BtfResolver::new()
        .no_env()
        .sysfs_path(&fake)
        .bundle(bundle())
        .os_info(k.os_info())
        .resolve()
        .unwrap();
    assert_eq!(r.source(), Source::Bundle);
    assert!(matches!(
        r.report().outcome(Source::Sysfs),
        Some(Outcome::Failed(ResolveError::InvalidBtf { from: Source::Sysfs, origin, .. })) if origin == &fake.display().to_string()
    ));
}

#[test]
fn bundle_compresses_kernels_together_and_extracts_exactly() {
    let bundle = bundle();
    let compressed_inputs: u64 = KERNELS
        .iter()
        .map(|k| std::fs::metadata(k.path()).unwrap().len())
        .sum();
    let raw_total: u64 = KERNELS.iter().map(|k| raw_of(k).len() as u64).sum();
    assert_eq!(bundle.payload_size(), raw_total);
    // Even at preset 0 the solid stream must beat the raw size several times over.
    assert!(
        (bundle.len() as u64) < raw_total / 3,
        "bundle {} raw {raw_total} inputs {compressed_inputs}",
        bundle.len()
    );
}

#[test]
fn near_identical_kernels_cost_little_extra_in_a_bundle() {
    // Two "kernels" differing in a few bytes: the second must add far less than its own
    // compressed size, which is the point of one solid stream.
    let k = KERNELS[0];
    let a = raw_of(&k);
    let mut b = a.clone();
    let mid = b.len() / 2;
    b[mid] ^= 1;
    let key = |r: &str| tracee_btf::bundle::BtfKey::new(k.id, k.version_id, "x86_64", r).unwrap();
    let mut one = BundleBuilder::new();
    one.preset(0).verify(false);
    one.add(key("a"), a.clone(), "a").unwrap();
    let one = one.build().unwrap();
    let mut two = BundleBuilder::new();
    two.preset(0).verify(false);
    two.add(key("a"), a.clone(), "a").unwrap();
    two.add(key("b"), b.clone(), "b").unwrap();
    let two = two.build().unwrap();
    assert!(
        two.len() < one.len() + one.len() / 20,
        "one {} two {}",
        one.len(),
        two.len()
    );
    let bundle = Bundle::from_vec(two).unwrap();
    let l = ArchiveLimits::default();
    assert!(bundle.extract(bundle.get(&key("b")).unwrap(), &l).unwrap() == b);
    assert!(bundle.extract(bundle.get(&key("a")).unwrap(), &l).unwrap() == a);
}

#[test]
fn bundle_file_round_trip_through_write_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("btf.bundle");
    let k = KERNELS[1];
    let mut b = BundleBuilder::new();
    b.preset(0);
    b.add(
        tracee_btf::bundle::BtfKey::new(k.id, k.version_id, k.arch_dir, k.release).unwrap(),
        raw_of(&k),
        k.path(),
    )
    .unwrap();
    b.write_file(&out).unwrap();
    let bundle = Bundle::open(&out).unwrap();
    assert_eq!(bundle.origin(), out);
    assert_eq!(bundle.entries()[0].key.to_string(), k.key_string());
    // Only the bundle remains in the directory: the temporary file was renamed.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
