//! Helpers shared by tracee-btf's integration tests: the btfhub sample files and bpftool.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `testdata/btfhub` of the repository.
pub fn testdata_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/btfhub");
    assert!(
        dir.is_dir(),
        "btfhub test data not found at {}",
        dir.display()
    );
    dir
}

/// Every `*.btf.tar.xz` below the test data directory, sorted.
pub fn testdata_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read test data dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.to_string_lossy().ends_with(".btf.tar.xz") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&testdata_dir(), &mut out);
    out.sort();
    assert!(!out.is_empty(), "no .btf.tar.xz files in the test data");
    out
}

/// The raw BTF inside a test data archive.
pub fn raw_btf(archive: &Path) -> Vec<u8> {
    let bytes = std::fs::read(archive).expect("read archive");
    tracee_btf::archive::decompress_btf(
        &bytes,
        &tracee_btf::archive::ArchiveLimits::default(),
        archive,
    )
    .expect("decompress test data")
}

/// What `bpftool btf dump file` says about a raw BTF file.
pub struct BpftoolDump {
    /// Types per kind, keyed by bpftool's kind name.
    pub kinds: BTreeMap<String, u64>,
    /// Number of `[id]` lines.
    pub types: u64,
    /// `[id] KIND 'name'` of every type, by id.
    pub headers: BTreeMap<u32, (String, String)>,
    /// The whole dump.
    pub text: String,
}

pub fn bpftool_dump(raw_file: &Path, base: Option<&Path>) -> BpftoolDump {
    let mut cmd = Command::new("bpftool");
    if let Some(base) = base {
        cmd.arg("-B").arg(base);
    }
    let out = cmd
        .args(["btf", "dump", "file"])
        .arg(raw_file)
        .output()
        .expect("bpftool must be installed (scripts/setup installs it)");
    assert!(
        out.status.success(),
        "bpftool btf dump file {} failed: {}",
        raw_file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("bpftool output is UTF-8");
    let mut kinds = BTreeMap::new();
    let mut headers = BTreeMap::new();
    let mut types = 0;
    for line in text.lines().filter(|l| l.starts_with('[')) {
        types += 1;
        let mut words = line.splitn(3, ' ');
        let id: u32 = words.next().unwrap()[1..]
            .trim_end_matches(']')
            .parse()
            .expect("type id");
        let kind = words.next().expect("kind").to_string();
        let rest = words.next().unwrap_or("");
        let name = rest
            .strip_prefix('\'')
            .and_then(|r| r.split('\'').next())
            .filter(|n| *n != "(anon)")
            .unwrap_or("")
            .to_string();
        *kinds.entry(kind.clone()).or_insert(0) += 1;
        headers.insert(id, (kind, name));
    }
    BpftoolDump {
        kinds,
        types,
        headers,
        text,
    }
}

/// The `bits_offset` bpftool prints for member `member` of the type dumped as `[id]`.
pub fn bpftool_member_bits(dump: &BpftoolDump, id: u32, member: &str) -> Option<u64> {
    let head = format!("[{id}] ");
    let mut lines = dump.text.lines().skip_while(|l| !l.starts_with(&head));
    lines.next()?;
    let quoted = format!("'{member}' ");
    lines
        .take_while(|l| l.starts_with('\t'))
        .find(|l| l.trim_start().starts_with(&quoted))
        .and_then(|l| l.split("bits_offset=").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}
