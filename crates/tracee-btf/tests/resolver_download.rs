//! The download source against a real HTTP server on 127.0.0.1 serving the btfhub testdata
//! as a mirror, and every way a download can be refused.
#![cfg(feature = "download")]

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::http::{Reply, Server};
use support::{raw_tar, xz, Kernel, KERNELS};
use tracee_btf::archive::{decompress_btf, ArchiveError, ArchiveLimits};
use tracee_btf::bundle::{BtfKey, Bundle, BundleBuilder};
use tracee_btf::download::{fetch_btf, DownloadError, DownloadOptions};
use tracee_btf::resolver::{BtfResolver, Outcome, ResolveError, Source};

fn nothing() -> PathBuf {
    PathBuf::from("/nonexistent/tracee-test/vmlinux")
}

fn raw_of(k: &Kernel) -> Vec<u8> {
    let p = k.path();
    decompress_btf(&std::fs::read(&p).unwrap(), &ArchiveLimits::default(), &p).unwrap()
}

/// Resolver with only the download source, for kernel `k`.
fn downloader(k: &Kernel, opts: DownloadOptions) -> BtfResolver {
    BtfResolver::new()
        .no_env()
        .sysfs_path(nothing())
        .os_info(k.os_info())
        .download(opts)
}

/// The download failure inside a NoBtf report.
fn download_failure(err: ResolveError) -> DownloadError {
    let ResolveError::NoBtf { report } = err else {
        panic!("expected NoBtf, got {err:?}")
    };
    let attempt = report
        .attempts
        .into_iter()
        .find(|a| a.source == Source::Download)
        .expect("download attempted");
    match attempt.outcome {
        Outcome::Failed(ResolveError::Download(e)) => e,
        other => panic!("download outcome {other:?}"),
    }
}

fn mirror_path(k: &Kernel, arch_dir: &str) -> String {
    format!(
        "/{}/{}/{}/{}.btf.tar.xz",
        k.id, k.version_id, arch_dir, k.release
    )
}

#[test]
fn every_testdata_kernel_downloads_caches_and_then_hits_the_cache() {
    let server = Server::start(Some(support::testdata()));
    let cache = tempfile::tempdir().unwrap();
    for k in KERNELS {
        let opts = DownloadOptions::with_mirror(format!("{}/", server.url()))
            .cache_dir(cache.path())
            .timeout(Duration::from_secs(20));
        let before = server.requests().len();
        let r = downloader(&k, opts.clone()).resolve().unwrap();
        assert_eq!(r.source(), Source::Download);
        assert!(r.btf().raw_bytes() == &raw_of(&k)[..], "{}", k.key_string());
        assert!(r.is_private_copy());
        assert!(std::fs::read(r.path()).unwrap() == raw_of(&k));
        // arm64 machines try btfhub's `arm64` directory first, then `aarch64`.
        let expected: Vec<String> = match k.arch_dir {
            "x86_64" => vec![mirror_path(&k, "x86_64")],
            "arm64" => vec![mirror_path(&k, "arm64")],
            _ => vec![mirror_path(&k, "arm64"), mirror_path(&k, "aarch64")],
        };
        assert_eq!(server.requests()[before..], expected[..]);
        let cached = cache.path().join(&mirror_path(&k, k.arch_dir)[1..]);
        assert!(
            std::fs::read(&cached).unwrap() == std::fs::read(k.path()).unwrap(),
            "cache file {} differs from the mirror's",
            cached.display()
        );
        // No temporary files left next to it: the write was a rename.
        let siblings: Vec<_> = std::fs::read_dir(cached.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(siblings.len(), 1, "{siblings:?}");

        // Second time: served from the cache, no request.
        let n = server.requests().len();
        let again = downloader(&k, opts).resolve().unwrap();
        assert_eq!(
            server.requests().len(),
            n,
            "cache hit still hit the network"
        );
        match again.report().outcome(Source::Download) {
            Some(Outcome::Used(what)) => assert!(what.starts_with("cached "), "{what}"),
            other => panic!("{other:?}"),
        }
        assert!(again.btf().raw_bytes() == r.btf().raw_bytes());
    }
}

#[test]
fn corrupt_cache_entry_is_replaced() {
    let k = KERNELS[0];
    let server = Server::start(Some(support::testdata()));
    let cache = tempfile::tempdir().unwrap();
    let cached = cache.path().join(&mirror_path(&k, k.arch_dir)[1..]);
    std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
    std::fs::write(&cached, b"\xfd7zXZ\0 garbage").unwrap();
    let opts = DownloadOptions::with_mirror(server.url()).cache_dir(cache.path());
    let r = downloader(&k, opts).resolve().unwrap();
    assert_eq!(r.source(), Source::Download);
    assert_eq!(server.requests().len(), 1);
    assert!(std::fs::read(&cached).unwrap() == std::fs::read(k.path()).unwrap());
}

#[test]
fn bundle_miss_falls_through_to_download() {
    let (in_bundle, not_in_bundle) = (KERNELS[0], KERNELS[1]);
    let mut b = BundleBuilder::new();
    b.preset(0);
    b.add(
        BtfKey::new(
            in_bundle.id,
            in_bundle.version_id,
            in_bundle.arch_dir,
            in_bundle.release,
        )
        .unwrap(),
        raw_of(&in_bundle),
        in_bundle.path(),
    )
    .unwrap();
    let bundle = Bundle::from_vec(b.build().unwrap()).unwrap();
    let server = Server::start(Some(support::testdata()));
    let resolver = |k: &Kernel| {
        BtfResolver::new()
            .no_env()
            .sysfs_path(nothing())
            .bundle(bundle.clone())
            .os_info(k.os_info())
            .download(DownloadOptions::with_mirror(server.url()))
    };
    let r = resolver(&in_bundle).resolve().unwrap();
    assert_eq!(r.source(), Source::Bundle);
    assert!(
        server.requests().is_empty(),
        "download tried although the bundle had it"
    );
    let r = resolver(&not_in_bundle).resolve().unwrap();
    assert_eq!(r.source(), Source::Download);
    let sources: Vec<Source> = r.report().attempts.iter().map(|a| a.source).collect();
    assert_eq!(
        sources,
        [
            Source::EnvFile,
            Source::Sysfs,
            Source::Bundle,
            Source::Download
        ]
    );
    assert!(
        matches!(r.report().outcome(Source::Bundle), Some(Outcome::Absent(w)) if w.contains(not_in_bundle.release))
    );
    assert!(r.btf().raw_bytes() == &raw_of(&not_in_bundle)[..]);
}

#[test]
fn not_on_mirror_is_a_404_naming_every_url() {
    let server = Server::start(Some(support::testdata()));
    let k = Kernel {
        release: "5.99.0-absent.aarch64",
        ..KERNELS[3]
    };
    let e = download_failure(
        downloader(&k, DownloadOptions::with_mirror(server.url()))
            .resolve()
            .unwrap_err(),
    );
    let DownloadError::NotFound { urls } = e else {
        panic!("{e:?}")
    };
    assert_eq!(
        urls,
        [
            format!("{}{}", server.url(), mirror_path(&k, "arm64")),
            format!("{}{}", server.url(), mirror_path(&k, "aarch64")),
        ]
    );
}

#[test]
fn a_silent_mirror_times_out() {
    let server = Server::start(None);
    server.hang_all();
    let k = KERNELS[0];
    let opts = DownloadOptions::with_mirror(server.url()).timeout(Duration::from_millis(300));
    let start = Instant::now();
    let e = download_failure(downloader(&k, opts).resolve().unwrap_err());
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "timeout not honoured"
    );
    match e {
        DownloadError::Timeout { url, after, .. } => {
            assert_eq!(
                url,
                format!("{}{}", server.url(), mirror_path(&k, "x86_64"))
            );
            assert_eq!(after, Duration::from_millis(300));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn oversized_body_is_refused() {
    let server = Server::start(Some(support::testdata()));
    let k = KERNELS[0];
    let opts = DownloadOptions::with_mirror(server.url()).max_size(64 << 10);
    let e = download_failure(downloader(&k, opts).resolve().unwrap_err());
    assert!(
        matches!(&e, DownloadError::TooLarge { url, limit } if url.ends_with(&mirror_path(&k, "x86_64")) && *limit == 64 << 10),
        "{e:?}"
    );
    // The decompression limit applies to downloads as well.
    let e = download_failure(
        downloader(&k, DownloadOptions::with_mirror(server.url()))
            .limits(ArchiveLimits {
                max_decompressed: 1 << 20,
            })
            .resolve()
            .unwrap_err(),
    );
    assert!(
        matches!(
            &e,
            DownloadError::Archive {
                error: ArchiveError::TooLarge { .. },
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn hostile_or_broken_archives_from_the_mirror_are_refused() {
    let k = KERNELS[0];
    let path = mirror_path(&k, "x86_64");
    let raw = raw_of(&k);
    let full = std::fs::read(k.path()).unwrap();
    type Check = fn(&ArchiveError) -> bool;
    let cases: Vec<(&str, Vec<u8>, Check)> = vec![
        (
            "traversal",
            xz(&raw_tar(&[(
                "../../../../tmp/evil",
                tar::EntryType::Regular,
                &raw[..512],
                None,
            )])),
            |e| matches!(e, ArchiveError::PathTraversal { entry, .. } if entry == "../../../../tmp/evil"),
        ),
        (
            "symlink",
            xz(&raw_tar(&[(
                "vmlinux",
                tar::EntryType::Symlink,
                b"",
                Some("/etc/passwd"),
            )])),
            |e| matches!(e, ArchiveError::Link { entry, target, .. } if entry == "vmlinux" && target == "/etc/passwd"),
        ),
        ("truncated", full[..full.len() / 2].to_vec(), |e| {
            matches!(e, ArchiveError::Truncated { format: "xz", .. })
        }),
        (
            "not btf",
            xz(&raw_tar(&[(
                "vmlinux.btf",
                tar::EntryType::Regular,
                b"<html>rate limited</html>",
                None,
            )])),
            |e| matches!(e, ArchiveError::NotBtf { member: Some(m), .. } if m == "vmlinux.btf"),
        ),
        ("html page", b"<html>not found</html>".to_vec(), |e| {
            matches!(e, ArchiveError::UnknownFormat { .. })
        }),
    ];
    for (name, body, check) in cases {
        let server = Server::start(None);
        server.set(&path, Reply::Body(body));
        let cache = tempfile::tempdir().unwrap();
        let opts = DownloadOptions::with_mirror(server.url()).cache_dir(cache.path());
        let e = download_failure(downloader(&k, opts).resolve().unwrap_err());
        match &e {
            DownloadError::Archive { url, error } => {
                assert!(url.ends_with(&path), "{name}: {url}");
                assert!(check(error), "{name}: {error:?}");
                // The origin inside the archive error is the URL too.
                assert!(error.to_string().contains(&path), "{name}: {error}");
            }
            other => panic!("{name}: {other:?}"),
        }
        // Nothing refused is cached.
        assert_eq!(
            walk_files(cache.path()),
            0,
            "{name}: refused archive was cached"
        );
    }
}

#[test]
fn btf_that_does_not_parse_is_refused_and_not_cached() {
    let k = KERNELS[0];
    let path = mirror_path(&k, "x86_64");
    let mut raw = raw_of(&k);
    raw.truncate(raw.len() / 2); // right magic, sections past the end
    let server = Server::start(None);
    server.set(
        &path,
        Reply::Body(xz(&raw_tar(&[(
            "k.btf",
            tar::EntryType::Regular,
            &raw,
            None,
        )]))),
    );
    let cache = tempfile::tempdir().unwrap();
    let opts = DownloadOptions::with_mirror(server.url()).cache_dir(cache.path());
    let e = download_failure(downloader(&k, opts).resolve().unwrap_err());
    assert!(
        matches!(&e, DownloadError::InvalidBtf { url, .. } if url.ends_with(&path)),
        "{e:?}"
    );
    assert_eq!(walk_files(cache.path()), 0);
}

#[test]
fn fetch_btf_refuses_a_non_http_mirror() {
    let key = BtfKey::new("ubuntu", "20.04", "x86_64", "5.4.0-1009-aws").unwrap();
    let e = fetch_btf(
        &DownloadOptions::with_mirror("file:///etc"),
        &key,
        &ArchiveLimits::default(),
    )
    .unwrap_err();
    assert!(matches!(e, DownloadError::BadMirror { mirror } if mirror == "file:///etc"));
}

fn walk_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk_files(&p)
            } else {
                1
            }
        })
        .sum()
}
