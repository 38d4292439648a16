//! Environment overrides: TRACEE_BTF_FILE, TRACEE_OSRELEASE_FILE, LIBBPFGO_OSRELEASE_FILE and
//! TRACEE_KCONFIG_FILE. One test function, so no other test of this binary races on the
//! process environment.

mod support;

use std::io::Write;

use support::KERNELS;
use tracee_btf::host::{
    HostError, OsInfo, OsRelease, Uname, LIBBPFGO_OSRELEASE_ENV, OSRELEASE_ENV,
};
use tracee_btf::kconfig::{KernelConfig, KCONFIG_ENV};
use tracee_btf::resolver::{BtfResolver, ResolveError, Source, BTF_FILE_ENV, SYSFS_BTF};

#[test]
fn environment_overrides() {
    let dir = tempfile::tempdir().unwrap();
    for v in [
        BTF_FILE_ENV,
        OSRELEASE_ENV,
        LIBBPFGO_OSRELEASE_ENV,
        KCONFIG_ENV,
    ] {
        std::env::remove_var(v);
    }

    // TRACEE_BTF_FILE: used before sysfs; a missing file is fatal and names the variable.
    std::env::set_var(BTF_FILE_ENV, KERNELS[0].path());
    let r = BtfResolver::new().resolve().unwrap();
    assert_eq!(r.source(), Source::EnvFile);
    let missing = dir.path().join("gone.btf");
    std::env::set_var(BTF_FILE_ENV, &missing);
    let err = BtfResolver::new().resolve().unwrap_err();
    assert!(
        matches!(&err, ResolveError::EnvFileMissing { var: Some(v), path } if v == BTF_FILE_ENV && path == &missing),
        "{err:?}"
    );
    assert!(err.to_string().contains("TRACEE_BTF_FILE"));
    std::env::set_var(BTF_FILE_ENV, "");
    if std::path::Path::new(SYSFS_BTF).exists() {
        assert_eq!(
            BtfResolver::new().resolve().unwrap().source(),
            Source::Sysfs
        );
    }
    std::env::remove_var(BTF_FILE_ENV);

    // os-release overrides: Tracee's variable beats libbpfgo's, which beats /etc/os-release.
    let tracee_os = dir.path().join("tracee-os-release");
    std::fs::write(&tracee_os, "ID=centos\nVERSION_ID=\"8\"\n").unwrap();
    let libbpfgo_os = dir.path().join("libbpfgo-os-release");
    std::fs::write(&libbpfgo_os, "ID='kylin'\nVERSION_ID=V10\n").unwrap();
    std::env::set_var(LIBBPFGO_OSRELEASE_ENV, &libbpfgo_os);
    let os = OsRelease::detect().unwrap();
    assert_eq!(
        (os.id(), os.path()),
        (Some("kylin"), Some(libbpfgo_os.as_path()))
    );
    std::env::set_var(OSRELEASE_ENV, &tracee_os);
    assert_eq!(OsRelease::detect().unwrap().id(), Some("centos"));
    let absent = dir.path().join("no-os-release");
    std::env::set_var(OSRELEASE_ENV, &absent);
    assert!(matches!(
        OsRelease::detect(),
        Err(HostError::OsReleaseRead { path, .. }) if path == absent
    ));

    // End to end without an OsInfo override: the key comes from TRACEE_OSRELEASE_FILE and the
    // real uname, and a btfhub tree holding this machine's own BTF under that key serves it.
    std::env::set_var(OSRELEASE_ENV, &tracee_os);
    if let Ok(own) = std::fs::read(SYSFS_BTF) {
        let uname = Uname::current().unwrap();
        let key = OsInfo::detect().unwrap().btf_key().unwrap();
        assert_eq!(key.release(), uname.release);
        let tree = dir.path().join("tree");
        let file = tree.join(key.btfhub_path(key.arch()));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let tar = support::raw_tar(&[("vmlinux.btf", tar::EntryType::Regular, &own, None)]);
        std::fs::write(&file, support::xz(&tar)).unwrap();
        let r = BtfResolver::new()
            .no_env()
            .no_sysfs()
            .btfhub_dir(&tree)
            .resolve()
            .unwrap();
        assert_eq!(r.source(), Source::Bundle);
        assert_eq!(r.key(), Some(&key));
        assert!(r.btf().raw_bytes() == &own[..]);
    }
    std::env::remove_var(OSRELEASE_ENV);
    std::env::remove_var(LIBBPFGO_OSRELEASE_ENV);

    // Kernel config override.
    let kc = dir.path().join("config.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(b"CONFIG_BPF=y\nCONFIG_BPF_SYSCALL=y\n")
        .unwrap();
    std::fs::write(&kc, enc.finish().unwrap()).unwrap();
    std::env::set_var(KCONFIG_ENV, &kc);
    let c = KernelConfig::detect("any").unwrap();
    assert_eq!(c.path(), kc);
    assert_eq!(c.missing_required(), ["CONFIG_BPF_EVENTS"]);
    std::env::set_var(KCONFIG_ENV, dir.path().join("no-config"));
    assert!(KernelConfig::detect("any").is_err());
    std::env::remove_var(KCONFIG_ENV);
}
