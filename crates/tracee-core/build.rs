//! Feature `embedded-btf`: picks the BTF bundle `src/embedded_btf.rs` embeds and checks it.
//!
//! The bundle is `btf/tracee.btfbundle` (committed, built by `scripts/build-btf-bundle.sh`
//! from the btfhub samples), or the file named by `$TRACEE_EMBED_BTF_BUNDLE` (an absolute
//! path), e.g. a bundle of the whole btfhub-archive minimized for the tracer's object. Its
//! header and index are checked here with the reader's rules (docs/btf.md, "Bundle format"),
//! so a wrong or damaged file fails the build with a message instead of failing at run time
//! on a machine without kernel BTF. This script has no dependencies: tracee-btf as a build
//! dependency would compile it, xz and flate2 a second time for every user of the feature.

use std::path::{Path, PathBuf};

const ENV: &str = "TRACEE_EMBED_BTF_BUNDLE";
const COMMITTED: &str = "btf/tracee.btfbundle";
const MAGIC: &[u8; 8] = b"TRBTFBD\0";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 40;
const XZ_MAGIC: &[u8; 6] = b"\xfd7zXZ\0";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed={ENV}");
    let requested = std::env::var_os(ENV).filter(|v| !v.is_empty());
    if std::env::var_os("CARGO_FEATURE_EMBEDDED_BTF").is_none() {
        if let Some(p) = requested {
            println!(
                "cargo:warning={ENV}={} is ignored: tracee-core's feature `embedded-btf` is off",
                Path::new(&p).display()
            );
        }
        return;
    }
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let (path, origin) = match &requested {
        Some(p) => {
            let p = PathBuf::from(p);
            if !p.is_absolute() {
                fail(&format!(
                    "{ENV}={} must be an absolute path (a relative one would be read from {}, \
                     the directory cargo runs this build script in)",
                    p.display(),
                    manifest.display()
                ));
            }
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string());
            (p, format!("embedded {name} (${ENV})"))
        }
        None => (
            manifest.join(COMMITTED),
            format!("embedded tracee-core {COMMITTED}"),
        ),
    };
    // The path reaches include_bytes! through a cargo directive: it must survive both intact.
    if path
        .to_str()
        .is_none_or(|p| p.chars().any(char::is_control))
    {
        fail(&format!(
            "the bundle path {} must be UTF-8 without control characters",
            path.display()
        ));
    }
    println!("cargo:rerun-if-changed={}", path.display());
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        fail(&format!(
            "cannot read the BTF bundle {}: {e}{}",
            path.display(),
            if requested.is_some() {
                format!(" (named by ${ENV})")
            } else {
                " (regenerate it with scripts/build-btf-bundle.sh)".to_string()
            }
        ))
    });
    let summary = check(&bytes).unwrap_or_else(|e| {
        fail(&format!(
            "{} is not a usable BTF bundle: {e}",
            path.display()
        ))
    });
    if requested.is_some() {
        println!(
            "cargo:warning=embedding the BTF bundle {} ({summary})",
            path.display()
        );
    }
    println!(
        "cargo:rustc-env=TRACEE_EMBEDDED_BTF_PATH={}",
        path.display()
    );
    println!("cargo:rustc-env=TRACEE_EMBEDDED_BTF_ORIGIN={origin}");
}

fn fail(msg: &str) -> ! {
    // A panic's message is what cargo shows for a failing build script.
    panic!("\n\ntracee-core feature `embedded-btf`: {msg}\n\n");
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes([
        b[at],
        b[at + 1],
        b[at + 2],
        b[at + 3],
        b[at + 4],
        b[at + 5],
        b[at + 6],
        b[at + 7],
    ])
}

/// CRC-32 (IEEE), bitwise: indexes are small, and this runs once per build.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The reader's header and index checks; returns a one-line summary.
fn check(b: &[u8]) -> Result<String, String> {
    if b.len() < HEADER_LEN || &b[..8] != MAGIC {
        return Err("bad magic (not written by BundleBuilder / `btf mincore-archive`)".into());
    }
    let version = le32(b, 8);
    if version != VERSION {
        return Err(format!(
            "format version {version}, this tracee-core reads {VERSION}"
        ));
    }
    let count = le32(b, 12) as usize;
    let payload_size = le64(b, 16);
    let payload_len = le64(b, 24);
    let index_len = le32(b, 32) as usize;
    let index_end = HEADER_LEN
        .checked_add(index_len)
        .filter(|&e| e <= b.len())
        .ok_or_else(|| format!("index length {index_len} runs past the end"))?;
    let index = &b[HEADER_LEN..index_end];
    if crc32(index) != le32(b, 36) {
        return Err("index checksum mismatch (truncated or damaged file)".into());
    }
    if (index_end as u64).checked_add(payload_len) != Some(b.len() as u64) {
        return Err(format!(
            "payload length {payload_len} does not end the file ({} bytes after the index)",
            b.len() - index_end
        ));
    }
    if count == 0 {
        return Err("the bundle has no kernels".into());
    }
    if !b[index_end..].starts_with(XZ_MAGIC) {
        return Err("the payload is not an xz stream".into());
    }
    let mut pos = 0usize;
    let mut expected = 0u64;
    let mut prev: Option<Vec<String>> = None;
    for i in 0..count {
        let mut key = Vec::with_capacity(4);
        for field in ["ID", "VERSION_ID", "ARCH", "RELEASE"] {
            let len = *index
                .get(pos)
                .ok_or_else(|| format!("index ends inside entry {i}"))?
                as usize;
            let s = index
                .get(pos + 1..pos + 1 + len)
                .ok_or_else(|| format!("index ends inside entry {i}"))?;
            let ok = !s.is_empty()
                && s != b"."
                && s != b".."
                && s.iter()
                    .all(|c| c.is_ascii_alphanumeric() || b"._+~-".contains(c));
            if !ok {
                return Err(format!(
                    "entry {i}: invalid {field} {:?}",
                    String::from_utf8_lossy(s)
                ));
            }
            key.push(String::from_utf8_lossy(s).into_owned());
            pos += 1 + len;
        }
        let fixed = index
            .get(pos..pos + 20)
            .ok_or_else(|| format!("index ends inside entry {i}"))?;
        let (offset, size) = (le64(fixed, 0), le64(fixed, 8));
        pos += 20;
        if offset != expected {
            return Err(format!(
                "entry {} starts at {offset}, expected {expected}",
                key.join("/")
            ));
        }
        if prev.as_ref().is_some_and(|p| p >= &key) {
            return Err(format!(
                "entry {} is out of order or repeated",
                key.join("/")
            ));
        }
        expected = offset
            .checked_add(size)
            .ok_or_else(|| format!("entry {} overflows", key.join("/")))?;
        prev = Some(key);
    }
    if pos != index.len() || expected != payload_size {
        return Err(format!(
            "index covers {expected} of {payload_size} payload bytes and {pos} of {} index bytes",
            index.len()
        ));
    }
    Ok(format!(
        "{count} kernels, {} bytes, {payload_size} bytes of BTF",
        b.len()
    ))
}
