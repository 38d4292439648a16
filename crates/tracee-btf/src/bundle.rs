//! BTF bundles: many kernels' BTF in one solid xz stream plus an index, keyed
//! `ID/VERSION_ID/ARCH/RELEASE` like btfhub-archive.
//!
//! Kernels of one distribution share most of their types, so compressing their BTFs as one
//! stream (with a dictionary at least as large as one BTF) stores each near-identical kernel
//! for a fraction of its own compressed size. The index is outside the compressed stream, so
//! a lookup needs no decompression, and extraction stops decoding at the end of the wanted
//! entry. The byte layout is documented in `docs/btf.md`.
//!
//! ```no_run
//! use tracee_btf::bundle::{BtfKey, Bundle, BundleBuilder};
//! use tracee_btf::archive::ArchiveLimits;
//! let mut b = BundleBuilder::new();
//! b.add_btfhub_dir("btfhub-archive")?;
//! let bytes = b.build()?;
//! let bundle = Bundle::from_vec(bytes)?;
//! let key = BtfKey::new("ubuntu", "20.04", "x86_64", "5.4.0-1009-aws")?;
//! if let Some(entry) = bundle.get(&key) {
//!     let raw = bundle.extract(entry, &ArchiveLimits::default())?;
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::archive::{decompress_btf, is_btf, xz_decode_with, ArchiveError, ArchiveLimits, Flow};
use crate::host::btfhub_arch;

/// First 8 bytes of a bundle.
pub const BUNDLE_MAGIC: [u8; 8] = *b"TRBTFBD\0";
/// The format version this code reads and writes.
pub const BUNDLE_VERSION: u32 = 1;
/// Size of the fixed header before the index.
const HEADER_LEN: usize = 40;
/// Entry bytes besides the four strings: offset, size, crc32.
const ENTRY_FIXED: usize = 8 + 8 + 4;
/// Suffix of btfhub-archive files.
pub const BTFHUB_SUFFIX: &str = ".btf.tar.xz";

/// Why a key component was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The value cannot be a path component of a btfhub tree.
    #[error("invalid {field} {value:?} in a BTF key: {reason}")]
    Invalid {
        /// `ID`, `VERSION_ID`, `ARCH` or `RELEASE`.
        field: &'static str,
        /// The refused value.
        value: String,
        /// Why.
        reason: &'static str,
    },
}

/// `ID/VERSION_ID/ARCH/RELEASE`, the name of one kernel's BTF in btfhub-archive and in a
/// bundle. Components are checked so they can be joined into paths and URLs safely: 1..=255
/// bytes of `A-Z a-z 0-9 . _ + ~ -`, never `.` or `..`. ARCH is normalised to btfhub's name
/// (`aarch64` becomes `arm64`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BtfKey {
    id: String,
    version_id: String,
    arch: String,
    release: String,
}

fn check_component(field: &'static str, value: &str) -> Result<String, KeyError> {
    let bad = |reason| KeyError::Invalid {
        field,
        value: value.to_string(),
        reason,
    };
    if value.is_empty() {
        return Err(bad("empty"));
    }
    if value.len() > 255 {
        return Err(bad("longer than 255 bytes"));
    }
    if value == "." || value == ".." {
        return Err(bad("a relative path component"));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'~' | b'-'))
    {
        return Err(bad("only A-Z a-z 0-9 . _ + ~ - are allowed"));
    }
    Ok(value.to_string())
}

impl BtfKey {
    /// Checks and builds a key.
    ///
    /// ```
    /// use tracee_btf::bundle::BtfKey;
    /// let k = BtfKey::new("centos", "8", "aarch64", "4.18.0-147.5.1.el8_1.aarch64")?;
    /// assert_eq!(k.arch(), "arm64");
    /// assert!(BtfKey::new("centos", "8", "x86_64", "../../etc/passwd").is_err());
    /// # Ok::<(), tracee_btf::bundle::KeyError>(())
    /// ```
    pub fn new(id: &str, version_id: &str, arch: &str, release: &str) -> Result<BtfKey, KeyError> {
        let arch = btfhub_arch(arch).unwrap_or(arch);
        Ok(BtfKey {
            id: check_component("ID", id)?,
            version_id: check_component("VERSION_ID", version_id)?,
            arch: check_component("ARCH", arch)?,
            release: check_component("RELEASE", release)?,
        })
    }

    /// os-release `ID`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// os-release `VERSION_ID`.
    pub fn version_id(&self) -> &str {
        &self.version_id
    }

    /// btfhub architecture (`x86_64`, `arm64`).
    pub fn arch(&self) -> &str {
        &self.arch
    }

    /// `uname -r`.
    pub fn release(&self) -> &str {
        &self.release
    }

    /// Path of this kernel's file in a btfhub-archive tree whose arch directory is named
    /// `arch_dir` (see [`crate::host::arch_dir_names`]): `ID/VERSION_ID/ARCH/RELEASE.btf.tar.xz`.
    pub fn btfhub_path(&self, arch_dir: &str) -> String {
        format!(
            "{}/{}/{}/{}{}",
            self.id, self.version_id, arch_dir, self.release, BTFHUB_SUFFIX
        )
    }
}

impl fmt::Display for BtfKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.id, self.version_id, self.arch, self.release
        )
    }
}

/// Why a bundle could not be read or built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The bytes do not start with [`BUNDLE_MAGIC`].
    #[error("{}: not a BTF bundle (bad magic)", origin.display())]
    BadMagic {
        /// The bundle.
        origin: PathBuf,
    },
    /// A format version this code does not read.
    #[error("{}: bundle format version {version} is not supported (this reader knows {BUNDLE_VERSION})", origin.display())]
    UnsupportedVersion {
        /// The bundle.
        origin: PathBuf,
        /// The version found.
        version: u32,
    },
    /// The index or the header is inconsistent.
    #[error("{}: corrupt bundle index at byte {offset}: {detail}", origin.display())]
    CorruptIndex {
        /// The bundle.
        origin: PathBuf,
        /// Offset in the bundle where the problem was found.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// An extracted entry's CRC-32 differs from the index.
    #[error("{}: entry {key} fails its checksum (index {expected:08x}, data {found:08x})", origin.display())]
    Checksum {
        /// The bundle.
        origin: PathBuf,
        /// The entry.
        key: Box<BtfKey>,
        /// CRC-32 from the index.
        expected: u32,
        /// CRC-32 of the decompressed bytes.
        found: u32,
    },
    /// An entry is larger than the caller's decompression limit.
    #[error("{}: entry {key} is {size} bytes, over the limit of {limit}", origin.display())]
    EntryTooLarge {
        /// The bundle.
        origin: PathBuf,
        /// The entry.
        key: Box<BtfKey>,
        /// Its size according to the index.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The payload stream ended before the entry did.
    #[error("{}: payload ends at {available} bytes, before entry {key} ({offset}+{size})", origin.display())]
    ShortPayload {
        /// The bundle.
        origin: PathBuf,
        /// The entry.
        key: Box<BtfKey>,
        /// Entry offset in the payload.
        offset: u64,
        /// Entry size.
        size: u64,
        /// Bytes the stream actually held.
        available: u64,
    },
    /// The payload stream (or an input archive while building) failed to decompress.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// Two inputs have the same key.
    #[error("duplicate bundle key {key} (from {})", origin.display())]
    DuplicateKey {
        /// The key.
        key: Box<BtfKey>,
        /// The second input with it.
        origin: PathBuf,
    },
    /// An input is not valid BTF.
    #[error("{}: not valid BTF: {source}", origin.display())]
    InvalidBtf {
        /// The input.
        origin: PathBuf,
        /// The parser's complaint.
        #[source]
        source: crate::BtfError,
    },
    /// A path in a btfhub tree cannot form a key.
    #[error("{}: {source}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: KeyError,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The xz encoder failed.
    #[error("xz encoder: {0}")]
    Encode(#[source] io::Error),
}

/// One kernel in a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleEntry {
    /// Its key.
    pub key: BtfKey,
    /// Offset of its BTF in the decompressed payload.
    pub offset: u64,
    /// Size of its BTF.
    pub size: u64,
    /// CRC-32 (IEEE, as gzip) of its BTF.
    pub crc32: u32,
}

/// A parsed bundle: index in memory, payload still compressed.
#[derive(Debug, Clone)]
pub struct Bundle {
    origin: PathBuf,
    data: Cow<'static, [u8]>,
    entries: Vec<BundleEntry>,
    payload: std::ops::Range<usize>,
    payload_size: u64,
}

struct IndexReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: usize,
    origin: &'a Path,
}

impl IndexReader<'_> {
    fn corrupt(&self, detail: impl Into<String>) -> BundleError {
        BundleError::CorruptIndex {
            origin: self.origin.to_path_buf(),
            offset: (self.base + self.pos) as u64,
            detail: detail.into(),
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], BundleError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(self.corrupt(format!("index ends inside {what}")));
        };
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u32(&mut self, what: &str) -> Result<u32, BundleError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, what: &str) -> Result<u64, BundleError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn string(&mut self, what: &str) -> Result<String, BundleError> {
        let len = self.take(1, what)?[0] as usize;
        let pos = self.pos;
        let b = self.take(len, what)?.to_vec();
        String::from_utf8(b).map_err(|_| BundleError::CorruptIndex {
            origin: self.origin.to_path_buf(),
            offset: (self.base + pos) as u64,
            detail: format!("{what} is not UTF-8"),
        })
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(data);
    c.sum()
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

impl Bundle {
    /// Parses a bundle compiled into the binary (`include_bytes!`), without copying it.
    pub fn from_static(data: &'static [u8]) -> Result<Bundle, BundleError> {
        Bundle::parse(Cow::Borrowed(data), PathBuf::from("<embedded bundle>"))
    }

    /// Parses a bundle held in memory.
    pub fn from_vec(data: Vec<u8>) -> Result<Bundle, BundleError> {
        Bundle::parse(Cow::Owned(data), PathBuf::from("<bundle>"))
    }

    /// Reads and parses a bundle file.
    pub fn open(path: impl AsRef<Path>) -> Result<Bundle, BundleError> {
        let path = path.as_ref();
        let data = std::fs::read(path).map_err(|source| BundleError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Bundle::parse(Cow::Owned(data), path.to_path_buf())
    }

    fn parse(data: Cow<'static, [u8]>, origin: PathBuf) -> Result<Bundle, BundleError> {
        let b: &[u8] = &data;
        if b.len() < BUNDLE_MAGIC.len() || b[..8] != BUNDLE_MAGIC {
            return Err(BundleError::BadMagic { origin });
        }
        let corrupt = |offset: u64, detail: String| BundleError::CorruptIndex {
            origin: origin.clone(),
            offset,
            detail,
        };
        if b.len() < HEADER_LEN {
            return Err(corrupt(
                b.len() as u64,
                format!("header needs {HEADER_LEN} bytes"),
            ));
        }
        let version = le32(b, 8);
        if version != BUNDLE_VERSION {
            return Err(BundleError::UnsupportedVersion { origin, version });
        }
        let count = le32(b, 12) as usize;
        let payload_size = le64(b, 16);
        let payload_len = le64(b, 24);
        let index_len = le32(b, 32) as usize;
        let index_crc = le32(b, 36);
        let index_end = HEADER_LEN
            .checked_add(index_len)
            .filter(|&e| e <= b.len())
            .ok_or_else(|| corrupt(32, format!("index length {index_len} runs past the end")))?;
        let index = &b[HEADER_LEN..index_end];
        if crc32(index) != index_crc {
            return Err(corrupt(36, "index checksum mismatch".into()));
        }
        let payload_end = (index_end as u64)
            .checked_add(payload_len)
            .filter(|&e| e == b.len() as u64)
            .ok_or_else(|| {
                corrupt(
                    24,
                    format!(
                        "payload length {payload_len} does not end the bundle ({} bytes after the index)",
                        b.len() - index_end
                    ),
                )
            })?;
        // Each entry takes at least ENTRY_FIXED + 4 length bytes + 4 one-byte strings.
        if count > index_len / (ENTRY_FIXED + 8) + 1 {
            return Err(corrupt(
                12,
                format!("{count} entries cannot fit in {index_len} index bytes"),
            ));
        }
        let mut r = IndexReader {
            bytes: index,
            pos: 0,
            base: HEADER_LEN,
            origin: &origin,
        };
        let mut entries = Vec::with_capacity(count);
        let mut expected_offset = 0u64;
        for _ in 0..count {
            let at = r.pos;
            let id = r.string("ID")?;
            let version_id = r.string("VERSION_ID")?;
            let arch = r.string("ARCH")?;
            let release = r.string("RELEASE")?;
            let key = BtfKey::new(&id, &version_id, &arch, &release)
                .map_err(|e| corrupt((HEADER_LEN + at) as u64, e.to_string()))?;
            let offset = r.u64("entry offset")?;
            let size = r.u64("entry size")?;
            let crc32 = r.u32("entry checksum")?;
            if offset != expected_offset {
                return Err(r.corrupt(format!(
                    "entry {key} starts at {offset}, expected {expected_offset} (entries are contiguous)"
                )));
            }
            if let Some(prev) = entries.last().map(|e: &BundleEntry| &e.key) {
                if *prev >= key {
                    return Err(r.corrupt(format!(
                        "entry {key} is not after {prev} (keys are sorted and unique)"
                    )));
                }
            }
            expected_offset = offset
                .checked_add(size)
                .ok_or_else(|| r.corrupt("entry size overflows"))?;
            entries.push(BundleEntry {
                key,
                offset,
                size,
                crc32,
            });
        }
        if r.pos != index.len() {
            return Err(r.corrupt(format!(
                "{} unused bytes after the last entry",
                index.len() - r.pos
            )));
        }
        if expected_offset != payload_size {
            return Err(corrupt(
                16,
                format!("entries cover {expected_offset} bytes, header says {payload_size}"),
            ));
        }
        Ok(Bundle {
            origin,
            payload: index_end..payload_end as usize,
            payload_size,
            entries,
            data,
        })
    }

    /// What errors and resolver reports call this bundle: its file, `<bundle>`, `<embedded
    /// bundle>` or what [`Bundle::with_origin`] set.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// Renames the bundle in errors and reports, e.g. an embedded bundle after the file it was
    /// built from.
    ///
    /// ```
    /// use tracee_btf::bundle::{Bundle, BundleBuilder};
    /// let b = Bundle::from_vec(BundleBuilder::new().build()?)?.with_origin("embedded btf/x.btfbundle");
    /// assert_eq!(b.origin().to_str(), Some("embedded btf/x.btfbundle"));
    /// # Ok::<(), tracee_btf::bundle::BundleError>(())
    /// ```
    pub fn with_origin(mut self, origin: impl Into<PathBuf>) -> Bundle {
        self.origin = origin.into();
        self
    }

    /// All entries in key order.
    pub fn entries(&self) -> &[BundleEntry] {
        &self.entries
    }

    /// Total decompressed size of all entries.
    pub fn payload_size(&self) -> u64 {
        self.payload_size
    }

    /// Size of the whole bundle in bytes.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True for a bundle without entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry for `key`, if the bundle has it.
    pub fn get(&self, key: &BtfKey) -> Option<&BundleEntry> {
        self.entries
            .binary_search_by(|e| e.key.cmp(key))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// Decompresses one entry's BTF, decoding the payload only up to the entry's end, and
    /// checks its CRC-32 and BTF magic.
    pub fn extract(
        &self,
        entry: &BundleEntry,
        limits: &ArchiveLimits,
    ) -> Result<Vec<u8>, BundleError> {
        if entry.size > limits.max_decompressed {
            return Err(BundleError::EntryTooLarge {
                origin: self.origin.clone(),
                key: Box::new(entry.key.clone()),
                size: entry.size,
                limit: limits.max_decompressed,
            });
        }
        let (start, end) = (entry.offset, entry.offset + entry.size);
        let mut out = Vec::with_capacity(entry.size as usize);
        let mut pos = 0u64;
        let payload = &self.data[self.payload.clone()];
        xz_decode_with(payload, &self.origin, |chunk| {
            let chunk_end = pos + chunk.len() as u64;
            if chunk_end > start {
                let from = start.saturating_sub(pos) as usize;
                let to = (end.min(chunk_end) - pos) as usize;
                out.extend_from_slice(&chunk[from..to]);
            }
            pos = chunk_end;
            if pos > self.payload_size {
                return Err(BundleError::CorruptIndex {
                    origin: self.origin.clone(),
                    offset: 16,
                    detail: format!(
                        "payload holds more than the {} bytes the header says",
                        self.payload_size
                    ),
                });
            }
            // The last entry decodes to the end of the stream, so the xz check and index get
            // verified too; earlier entries stop as soon as they are complete.
            Ok(if pos >= end && end < self.payload_size {
                Flow::Stop
            } else {
                Flow::Continue
            })
        })?;
        if (out.len() as u64) < entry.size {
            return Err(BundleError::ShortPayload {
                origin: self.origin.clone(),
                key: Box::new(entry.key.clone()),
                offset: entry.offset,
                size: entry.size,
                available: pos,
            });
        }
        let found = crc32(&out);
        if found != entry.crc32 {
            return Err(BundleError::Checksum {
                origin: self.origin.clone(),
                key: Box::new(entry.key.clone()),
                expected: entry.crc32,
                found,
            });
        }
        if !is_btf(&out) {
            return Err(ArchiveError::NotBtf {
                origin: self.origin.join(entry.key.to_string()),
                member: None,
                magic: out[..out.len().min(8)].to_vec(),
            }
            .into());
        }
        Ok(out)
    }
}

/// Writes bundles. Entries are stored in key order, so kernels of one distribution and
/// version sit next to each other in the stream, where the compressor finds their shared
/// types.
#[derive(Debug, Clone)]
pub struct BundleBuilder {
    entries: BTreeMap<BtfKey, Vec<u8>>,
    preset: u32,
    dict_size: Option<u32>,
    limits: ArchiveLimits,
    verify: bool,
}

impl Default for BundleBuilder {
    fn default() -> Self {
        BundleBuilder::new()
    }
}

/// Largest automatic dictionary: what `xz -9` uses; decoding then needs ~65 MiB.
const MAX_AUTO_DICT: u32 = 64 << 20;

impl BundleBuilder {
    /// An empty builder: xz preset 9, dictionary sized to the largest entry, inputs parsed as
    /// BTF before they are accepted.
    pub fn new() -> BundleBuilder {
        BundleBuilder {
            entries: BTreeMap::new(),
            preset: 9,
            dict_size: None,
            limits: ArchiveLimits::default(),
            verify: true,
        }
    }

    /// xz preset 0..=9 (lower is faster, larger). Clamped to 9.
    pub fn preset(&mut self, preset: u32) -> &mut Self {
        self.preset = preset.min(9);
        self
    }

    /// LZMA2 dictionary size. By default the next power of two at or above the largest entry
    /// (at least the preset's, at most 64 MiB), so neighbouring kernels can share matches.
    pub fn dict_size(&mut self, bytes: u32) -> &mut Self {
        self.dict_size = Some(bytes.max(4096));
        self
    }

    /// Limits for decompressing the input archives.
    pub fn limits(&mut self, limits: ArchiveLimits) -> &mut Self {
        self.limits = limits;
        self
    }

    /// Whether inputs must parse as BTF (default true); only the magic is checked when off.
    pub fn verify(&mut self, verify: bool) -> &mut Self {
        self.verify = verify;
        self
    }

    /// Adds one kernel's raw BTF; `origin` names it in errors.
    pub fn add(
        &mut self,
        key: BtfKey,
        btf: Vec<u8>,
        origin: impl AsRef<Path>,
    ) -> Result<&mut Self, BundleError> {
        let origin = origin.as_ref();
        if self.entries.contains_key(&key) {
            return Err(BundleError::DuplicateKey {
                key: Box::new(key),
                origin: origin.to_path_buf(),
            });
        }
        if self.verify {
            crate::Btf::from_slice(&btf).map_err(|source| BundleError::InvalidBtf {
                origin: origin.to_path_buf(),
                source,
            })?;
        } else if !is_btf(&btf) {
            return Err(ArchiveError::NotBtf {
                origin: origin.to_path_buf(),
                member: None,
                magic: btf[..btf.len().min(8)].to_vec(),
            }
            .into());
        }
        self.entries.insert(key, btf);
        Ok(self)
    }

    /// Adds every `ID/VERSION_ID/ARCH/RELEASE.btf.tar.xz` (or raw `RELEASE.btf`) under a
    /// btfhub-archive tree. Other files, symlinks and hidden entries are skipped. Returns how
    /// many kernels were added.
    pub fn add_btfhub_dir(&mut self, root: impl AsRef<Path>) -> Result<usize, BundleError> {
        let root = root.as_ref();
        let mut added = 0;
        for id in subdirs(root)? {
            for ver in subdirs(&id)? {
                for arch in subdirs(&ver)? {
                    for file in read_dir_sorted(&arch)? {
                        let Some(release) = btf_file_release(&file) else {
                            log::debug!("bundle: skipping {}", file.display());
                            continue;
                        };
                        let name = |p: &Path| {
                            p.file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_default()
                        };
                        let key = BtfKey::new(&name(&id), &name(&ver), &name(&arch), &release)
                            .map_err(|source| BundleError::Key {
                                path: file.clone(),
                                source,
                            })?;
                        let bytes = std::fs::read(&file).map_err(|source| BundleError::Io {
                            path: file.clone(),
                            source,
                        })?;
                        let raw = decompress_btf(&bytes, &self.limits, &file)?;
                        drop(bytes);
                        self.add(key, raw, &file)?;
                        added += 1;
                    }
                }
            }
        }
        Ok(added)
    }

    /// Number of kernels added so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Keys added so far, in bundle order.
    pub fn keys(&self) -> impl Iterator<Item = &BtfKey> {
        self.entries.keys()
    }

    /// Encodes the bundle.
    pub fn build(&self) -> Result<Vec<u8>, BundleError> {
        let mut index = Vec::new();
        let mut offset = 0u64;
        for (key, btf) in &self.entries {
            for s in [&key.id, &key.version_id, &key.arch, &key.release] {
                // BtfKey::new bounds every component to 255 bytes.
                index.push(s.len() as u8);
                index.extend_from_slice(s.as_bytes());
            }
            index.extend_from_slice(&offset.to_le_bytes());
            index.extend_from_slice(&(btf.len() as u64).to_le_bytes());
            index.extend_from_slice(&crc32(btf).to_le_bytes());
            offset += btf.len() as u64;
        }
        let payload = self.compress()?;
        let index_len = u32::try_from(index.len())
            .map_err(|_| BundleError::Encode(io::Error::other("index larger than 4 GiB")))?;
        let count = u32::try_from(self.entries.len())
            .map_err(|_| BundleError::Encode(io::Error::other("more than 2^32 entries")))?;
        let mut out = Vec::with_capacity(HEADER_LEN + index.len() + payload.len());
        out.extend_from_slice(&BUNDLE_MAGIC);
        out.extend_from_slice(&BUNDLE_VERSION.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&index_len.to_le_bytes());
        out.extend_from_slice(&crc32(&index).to_le_bytes());
        debug_assert_eq!(out.len(), HEADER_LEN);
        out.extend_from_slice(&index);
        out.extend_from_slice(&payload);
        Ok(out)
    }

    /// Encodes the bundle into `path` atomically (a temporary file in the same directory,
    /// renamed over `path`).
    pub fn write_file(&self, path: impl AsRef<Path>) -> Result<(), BundleError> {
        let path = path.as_ref();
        let bytes = self.build()?;
        let io_err = |source| BundleError::Io {
            path: path.to_path_buf(),
            source,
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_err)?;
        tmp.write_all(&bytes).map_err(io_err)?;
        tmp.as_file().sync_all().map_err(io_err)?;
        tmp.persist(path).map_err(|e| io_err(e.error))?;
        Ok(())
    }

    fn compress(&self) -> Result<Vec<u8>, BundleError> {
        use xz2::stream::{Check, Filters, LzmaOptions, Stream};
        let enc = |e: xz2::stream::Error| BundleError::Encode(io::Error::other(e));
        let mut opts = LzmaOptions::new_preset(self.preset).map_err(enc)?;
        let largest = self.entries.values().map(Vec::len).max().unwrap_or(0);
        let preset_dict: u32 = match self.preset {
            0 => 256 << 10,
            1 => 1 << 20,
            2 => 2 << 20,
            3..=6 => 8 << 20,
            7 => 16 << 20,
            8 => 32 << 20,
            _ => 64 << 20,
        };
        let auto = u32::try_from(largest)
            .unwrap_or(u32::MAX)
            .checked_next_power_of_two()
            .unwrap_or(MAX_AUTO_DICT)
            .clamp(preset_dict.min(MAX_AUTO_DICT), MAX_AUTO_DICT);
        opts.dict_size(self.dict_size.unwrap_or(auto));
        let mut filters = Filters::new();
        filters.lzma2(&opts);
        let stream = Stream::new_stream_encoder(&filters, Check::Crc64).map_err(enc)?;
        let mut w = xz2::write::XzEncoder::new_stream(Vec::new(), stream);
        for btf in self.entries.values() {
            w.write_all(btf).map_err(BundleError::Encode)?;
        }
        w.finish().map_err(BundleError::Encode)
    }
}

/// `RELEASE` of a btfhub file name: `RELEASE.btf.tar.xz` or `RELEASE.btf`.
fn btf_file_release(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    if name.starts_with('.') {
        return None;
    }
    name.strip_suffix(BTFHUB_SUFFIX)
        .or_else(|| name.strip_suffix(".btf"))
        .filter(|r| !r.is_empty())
        .map(str::to_string)
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>, BundleError> {
    let io_err = |source| BundleError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        // file_type does not follow symlinks: a link in a tree is skipped, not chased.
        let ft = entry.file_type().map_err(io_err)?;
        if ft.is_file() || ft.is_dir() {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, BundleError> {
    Ok(read_dir_sorted(dir)?
        .into_iter()
        .filter(|p| {
            p.is_dir()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_btf(tag: u8, len: usize) -> Vec<u8> {
        let mut v = vec![0x9f, 0xeb, 1, 0, 24, 0, 0, 0];
        v.extend((0..len).map(|i| (i as u8).wrapping_mul(31) ^ tag));
        v
    }

    fn key(r: &str) -> BtfKey {
        BtfKey::new("ubuntu", "20.04", "x86_64", r).unwrap()
    }

    fn small_bundle() -> Vec<u8> {
        let mut b = BundleBuilder::new();
        b.preset(0).verify(false);
        b.add(key("b"), fake_btf(2, 5000), "b").unwrap();
        b.add(key("a"), fake_btf(1, 3000), "a").unwrap();
        b.add(key("c"), fake_btf(3, 100), "c").unwrap();
        b.build().unwrap()
    }

    #[test]
    fn round_trip_in_key_order() {
        let bundle = Bundle::from_vec(small_bundle()).unwrap();
        let keys: Vec<_> = bundle
            .entries()
            .iter()
            .map(|e| e.key.release().to_string())
            .collect();
        assert_eq!(keys, ["a", "b", "c"]);
        let l = ArchiveLimits::default();
        for (r, tag, len) in [("a", 1, 3000), ("b", 2, 5000), ("c", 3, 100)] {
            let e = bundle.get(&key(r)).unwrap();
            assert_eq!(bundle.extract(e, &l).unwrap(), fake_btf(tag, len));
        }
        assert!(bundle.get(&key("d")).is_none());
    }

    #[test]
    fn every_truncation_and_bit_flip_is_an_error_not_a_panic() {
        let good = small_bundle();
        let l = ArchiveLimits::default();
        for cut in 0..good.len() {
            assert!(Bundle::from_vec(good[..cut].to_vec()).is_err(), "cut {cut}");
        }
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x41;
            if let Ok(b) = Bundle::from_vec(bad) {
                // Only payload bytes can flip without the index noticing; extraction must
                // then fail (xz check, CRC-32) for at least the entry spanning the flip.
                let results: Vec<_> = b.entries().iter().map(|e| b.extract(e, &l)).collect();
                assert!(
                    results.iter().any(Result::is_err),
                    "flip at {i} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn typed_errors_for_header_problems() {
        let mut v = small_bundle();
        assert!(matches!(
            Bundle::from_vec(b"nope".to_vec()),
            Err(BundleError::BadMagic { .. })
        ));
        v[8] = 2;
        assert!(matches!(
            Bundle::from_vec(v.clone()),
            Err(BundleError::UnsupportedVersion { version: 2, .. })
        ));
        v[8] = 1;
        v.push(0);
        assert!(matches!(
            Bundle::from_vec(v),
            Err(BundleError::CorruptIndex { offset: 24, .. })
        ));
    }

    #[test]
    fn entry_limit_and_duplicates() {
        let bundle = Bundle::from_vec(small_bundle()).unwrap();
        let e = bundle.get(&key("b")).unwrap();
        let err = bundle
            .extract(
                e,
                &ArchiveLimits {
                    max_decompressed: 10,
                },
            )
            .unwrap_err();
        assert!(matches!(
            err,
            BundleError::EntryTooLarge {
                size: 5008,
                limit: 10,
                ..
            }
        ));
        let mut b = BundleBuilder::new();
        b.verify(false);
        b.add(key("a"), fake_btf(1, 10), "first").unwrap();
        let err = b.add(key("a"), fake_btf(1, 10), "second").unwrap_err();
        assert!(
            matches!(err, BundleError::DuplicateKey { ref origin, .. } if origin == Path::new("second"))
        );
        let err = b.add(key("z"), b"ELF".to_vec(), "elf").unwrap_err();
        assert!(matches!(
            err,
            BundleError::Archive(ArchiveError::NotBtf { .. })
        ));
    }

    #[test]
    fn empty_bundle_is_valid() {
        let v = BundleBuilder::new().build().unwrap();
        let b = Bundle::from_vec(v).unwrap();
        assert!(b.is_empty());
        assert_eq!(b.payload_size(), 0);
    }
}
