//! Shared helpers for the archive and resolver tests: the btfhub testdata and a real HTTP
//! server on 127.0.0.1.
#![allow(dead_code)]

pub mod http;

use std::io::Write;
use std::path::PathBuf;

use tracee_btf::host::{OsInfo, OsRelease};

/// `<repo>/testdata/btfhub`, with a clear failure if the checkout lacks it.
pub fn testdata() -> PathBuf {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/btfhub"
    ));
    assert!(p.is_dir(), "btfhub testdata missing at {}", p.display());
    p
}

/// One testdata kernel.
#[derive(Debug, Clone, Copy)]
pub struct Kernel {
    pub id: &'static str,
    pub version_id: &'static str,
    /// The arch directory as filed in the tree.
    pub arch_dir: &'static str,
    pub release: &'static str,
}

impl Kernel {
    pub fn path(&self) -> PathBuf {
        testdata()
            .join(self.id)
            .join(self.version_id)
            .join(self.arch_dir)
            .join(format!("{}.btf.tar.xz", self.release))
    }

    /// What `uname -m` says on such a machine.
    pub fn machine(&self) -> &'static str {
        match self.arch_dir {
            "x86_64" => "x86_64",
            _ => "aarch64",
        }
    }

    /// The host description of a machine running this kernel, os-release written the way
    /// distributions do (quoted values, comments).
    pub fn os_info(&self) -> OsInfo {
        let text = format!(
            "# os-release of a {} host\nNAME=\"{} Linux\"\nID=\"{}\"\nVERSION_ID=\"{}\"\nHOME_URL=\"https://example/?a=b\"\n",
            self.id, self.id, self.id, self.version_id
        );
        OsInfo::new(OsRelease::parse(&text), self.release, self.machine())
    }

    /// The btfhub key string with the normalised arch.
    pub fn key_string(&self) -> String {
        let arch = if self.arch_dir == "x86_64" {
            "x86_64"
        } else {
            "arm64"
        };
        format!("{}/{}/{}/{}", self.id, self.version_id, arch, self.release)
    }
}

/// The four kernels in the testdata, smallest archive first.
pub const KERNELS: [Kernel; 4] = [
    Kernel {
        id: "bclinux",
        version_id: "21.10U3",
        arch_dir: "x86_64",
        release: "4.19.90-2107.6.0.0248.35.oe1.bclinux.x86_64",
    },
    Kernel {
        id: "kylin",
        version_id: "V10",
        arch_dir: "aarch64",
        release: "4.19.90-24.4.v2101.ky10.aarch64",
    },
    Kernel {
        id: "android",
        version_id: "12",
        arch_dir: "arm64",
        release: "a12-5.10-2022-06-arm64",
    },
    Kernel {
        id: "centos",
        version_id: "8",
        arch_dir: "aarch64",
        release: "4.18.0-147.5.1.el8_1.aarch64",
    },
];

/// xz of `data`, fast preset.
pub fn xz(data: &[u8]) -> Vec<u8> {
    let mut enc = xz2::write::XzEncoder::new(Vec::new(), 0);
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// A tar whose entries are written with raw header names, so hostile names (`..`, absolute)
/// that `tar::Builder` itself refuses can be produced.
pub fn raw_tar(entries: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, data, link) in entries {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        if let Some(l) = link {
            h.set_link_name(l).unwrap();
        }
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}
