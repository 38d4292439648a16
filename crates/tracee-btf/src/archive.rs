//! Untrusted BTF archives: btfhub's `.btf.tar.xz`, `.btf.gz`, `.btf.xz` and gzip'd tars.
//!
//! Archives come from mirrors, caches and users, so everything here treats them as hostile:
//! the decompressed size is capped, a tar must hold exactly one regular-file member with a
//! relative path free of `..`, links and device nodes are refused, and the member must start
//! with the BTF magic. Nothing is ever written to disk: the member comes back as bytes.

use std::borrow::Cow;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use xz2::stream::{Action, Status, Stream};

/// Magic of an xz stream.
const XZ_MAGIC: [u8; 6] = [0xFD, b'7', b'z', b'X', b'Z', 0x00];
/// Magic of a gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1F, 0x8B];
/// BTF magic 0xEB9F as stored by a little-endian and a big-endian kernel.
const BTF_MAGIC_LE: [u8; 2] = [0x9F, 0xEB];
const BTF_MAGIC_BE: [u8; 2] = [0xEB, 0x9F];
/// Offset and value of the POSIX/GNU tar magic in the first header block.
const TAR_MAGIC_OFFSET: usize = 257;
const TAR_MAGIC: &[u8; 5] = b"ustar";

/// Memory the xz decoder may use for its dictionary. xz's highest preset needs 65 MiB; a
/// header asking for more is hostile or absurd, and refusing it beats an allocation of
/// gigabytes.
pub(crate) const XZ_MEMLIMIT: u64 = 256 << 20;

/// Size of the chunks the xz decoder writes before they are copied out.
const XZ_CHUNK: usize = 256 << 10;

/// Bounds applied while decompressing an untrusted archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Largest decompressed stream accepted, in bytes (the whole tar, not just the member).
    /// The largest btfhub BTF (centos 8) is 27 MB raw.
    pub max_decompressed: u64,
}

impl Default for ArchiveLimits {
    /// 512 MiB.
    fn default() -> Self {
        ArchiveLimits {
            max_decompressed: 512 << 20,
        }
    }
}

/// Why an archive was refused. Every variant names the archive (`origin`) and, for tar
/// entries, the entry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// Neither xz, gzip nor raw BTF.
    #[error("{}: not an xz or gzip archive nor raw BTF (starts with {magic:02x?})", origin.display())]
    UnknownFormat {
        /// The archive.
        origin: PathBuf,
        /// Its first bytes (at most 8).
        magic: Vec<u8>,
    },
    /// The compressed stream ends before its end marker.
    #[error("{}: {format} stream is truncated (input ends after {decompressed} decompressed bytes)", origin.display())]
    Truncated {
        /// The archive.
        origin: PathBuf,
        /// `"xz"` or `"gzip"`.
        format: &'static str,
        /// Bytes decompressed before the input ran out.
        decompressed: u64,
    },
    /// The compressed stream is malformed (bad header, bad check, bad data).
    #[error("{}: corrupt {format} stream near compressed offset {offset}: {detail}", origin.display())]
    Corrupt {
        /// The archive.
        origin: PathBuf,
        /// `"xz"` or `"gzip"`.
        format: &'static str,
        /// Compressed bytes consumed when the decoder gave up.
        offset: u64,
        /// The decoder's complaint.
        detail: String,
    },
    /// The xz header asks for more decoder memory than the 256 MiB allowed.
    #[error("{}: xz stream needs more than {limit} bytes of decoder memory", origin.display())]
    MemoryLimit {
        /// The archive.
        origin: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// Decompression produced more than [`ArchiveLimits::max_decompressed`] bytes.
    #[error("{}: decompressed size exceeds the limit of {limit} bytes", origin.display())]
    TooLarge {
        /// The archive.
        origin: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// Bytes other than padding follow the compressed stream.
    #[error("{}: {len} bytes of trailing data after the {format} stream at offset {offset}", origin.display())]
    TrailingData {
        /// The archive.
        origin: PathBuf,
        /// `"xz"` or `"gzip"`.
        format: &'static str,
        /// Where the trailing bytes start.
        offset: u64,
        /// How many there are.
        len: u64,
    },
    /// A tar entry whose path contains a `..` component.
    #[error("{}: tar entry {entry:?} has a `..` component (path traversal)", origin.display())]
    PathTraversal {
        /// The archive.
        origin: PathBuf,
        /// The entry's path as stored.
        entry: String,
    },
    /// A tar entry with an absolute path.
    #[error("{}: tar entry {entry:?} has an absolute path", origin.display())]
    AbsolutePath {
        /// The archive.
        origin: PathBuf,
        /// The entry's path as stored.
        entry: String,
    },
    /// A tar entry that is a symbolic or hard link.
    #[error("{}: tar entry {entry:?} is a link to {target:?}", origin.display())]
    Link {
        /// The archive.
        origin: PathBuf,
        /// The entry's path as stored.
        entry: String,
        /// The link target as stored.
        target: String,
    },
    /// A tar entry that is a device node, FIFO, sparse file or another non-regular kind.
    #[error("{}: tar entry {entry:?} is a {kind}, not a regular file", origin.display())]
    SpecialEntry {
        /// The archive.
        origin: PathBuf,
        /// The entry's path as stored.
        entry: String,
        /// What it is instead (`"character device"`, `"fifo"`, ...).
        kind: &'static str,
    },
    /// A tar with more than one regular file.
    #[error("{}: tar holds more than one file ({first:?}, {second:?}, ...); a BTF archive holds exactly one", origin.display())]
    MultipleMembers {
        /// The archive.
        origin: PathBuf,
        /// The first regular file.
        first: String,
        /// The second one.
        second: String,
    },
    /// A tar with no regular file.
    #[error("{}: tar holds no regular file", origin.display())]
    Empty {
        /// The archive.
        origin: PathBuf,
    },
    /// Malformed tar headers.
    #[error("{}: malformed tar: {source}", origin.display())]
    Tar {
        /// The archive.
        origin: PathBuf,
        /// What the tar reader reported.
        #[source]
        source: io::Error,
    },
    /// The payload does not start with the BTF magic.
    #[error("{}{}: payload is not BTF (starts with {magic:02x?}, expected 9f eb or eb 9f)",
        origin.display(), member.as_deref().map(|m| format!(" member {m:?}")).unwrap_or_default())]
    NotBtf {
        /// The archive.
        origin: PathBuf,
        /// The tar member, if the payload came from a tar.
        member: Option<String>,
        /// The payload's first bytes (at most 8).
        magic: Vec<u8>,
    },
}

/// True if `bytes` start with an xz or gzip magic, i.e. [`decompress_btf`] must run before the
/// bytes can be parsed as BTF.
///
/// ```
/// use tracee_btf::archive::is_compressed;
/// assert!(is_compressed(&[0x1f, 0x8b, 8, 0]));
/// assert!(!is_compressed(&[0x9f, 0xeb, 1, 0]));
/// ```
pub fn is_compressed(bytes: &[u8]) -> bool {
    bytes.starts_with(&XZ_MAGIC) || bytes.starts_with(&GZIP_MAGIC)
}

/// True if `bytes` start with the BTF magic of either byte order.
pub fn is_btf(bytes: &[u8]) -> bool {
    bytes.starts_with(&BTF_MAGIC_LE) || bytes.starts_with(&BTF_MAGIC_BE)
}

/// Returns the raw BTF held by an archive.
///
/// Accepted, by magic: xz or gzip around either raw BTF or a tar holding exactly one regular
/// file (btfhub's `.btf.tar.xz`); raw BTF itself is returned as a copy. `origin` only names
/// the archive in errors. Only the magic of the result is checked; parsing is the caller's job.
///
/// ```no_run
/// use tracee_btf::archive::{decompress_btf, ArchiveLimits};
/// let path = std::path::Path::new("5.4.0-1009-aws.btf.tar.xz");
/// let raw = decompress_btf(&std::fs::read(path)?, &ArchiveLimits::default(), path)?;
/// assert_eq!(&raw[..2], &[0x9f, 0xeb]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decompress_btf(
    bytes: &[u8],
    limits: &ArchiveLimits,
    origin: &Path,
) -> Result<Vec<u8>, ArchiveError> {
    let data = if bytes.starts_with(&XZ_MAGIC) {
        xz_decompress(bytes, limits.max_decompressed, origin)?
    } else if bytes.starts_with(&GZIP_MAGIC) {
        gzip_decompress(bytes, limits.max_decompressed, origin)?
    } else if is_btf(bytes) {
        if bytes.len() as u64 > limits.max_decompressed {
            return Err(ArchiveError::TooLarge {
                origin: origin.to_path_buf(),
                limit: limits.max_decompressed,
            });
        }
        return Ok(bytes.to_vec());
    } else {
        return Err(ArchiveError::UnknownFormat {
            origin: origin.to_path_buf(),
            magic: head(bytes),
        });
    };
    if is_btf(&data) {
        Ok(data)
    } else if is_tar(&data) {
        extract_single_member(data, origin)
    } else {
        Err(ArchiveError::NotBtf {
            origin: origin.to_path_buf(),
            member: None,
            magic: head(&data),
        })
    }
}

fn head(bytes: &[u8]) -> Vec<u8> {
    bytes[..bytes.len().min(8)].to_vec()
}

fn is_tar(data: &[u8]) -> bool {
    data.get(TAR_MAGIC_OFFSET..TAR_MAGIC_OFFSET + TAR_MAGIC.len()) == Some(&TAR_MAGIC[..])
}

/// What an xz sink wants after a chunk.
pub(crate) enum Flow {
    Continue,
    Stop,
}

/// Decodes one xz stream in `input`, handing each decompressed chunk to `sink` in order, until
/// the stream ends or `sink` says stop. At stream end, anything after the stream other than
/// the zero padding xz allows is refused.
pub(crate) fn xz_decode_with<E: From<ArchiveError>>(
    input: &[u8],
    origin: &Path,
    mut sink: impl FnMut(&[u8]) -> Result<Flow, E>,
) -> Result<(), E> {
    let mut stream =
        Stream::new_stream_decoder(XZ_MEMLIMIT, 0).map_err(|e| ArchiveError::Corrupt {
            origin: origin.to_path_buf(),
            format: "xz",
            offset: 0,
            detail: e.to_string(),
        })?;
    let mut chunk = vec![0u8; XZ_CHUNK];
    loop {
        let consumed = stream.total_in() as usize;
        let rest = &input[consumed.min(input.len())..];
        let out_before = stream.total_out();
        let action = if rest.is_empty() {
            Action::Finish
        } else {
            Action::Run
        };
        let status = stream
            .process(rest, &mut chunk, action)
            .map_err(|e| match e {
                xz2::stream::Error::MemLimit => ArchiveError::MemoryLimit {
                    origin: origin.to_path_buf(),
                    limit: XZ_MEMLIMIT,
                },
                other => ArchiveError::Corrupt {
                    origin: origin.to_path_buf(),
                    format: "xz",
                    offset: stream.total_in(),
                    detail: other.to_string(),
                },
            })
            .map_err(E::from)?;
        let produced = (stream.total_out() - out_before) as usize;
        if produced > 0 {
            if let Flow::Stop = sink(&chunk[..produced])? {
                return Ok(());
            }
        }
        if status == Status::StreamEnd {
            break;
        }
        let progressed = produced > 0 || stream.total_in() as usize != consumed;
        if !progressed && stream.total_in() as usize >= input.len() {
            return Err(ArchiveError::Truncated {
                origin: origin.to_path_buf(),
                format: "xz",
                decompressed: stream.total_out(),
            }
            .into());
        }
        if !progressed {
            // liblzma neither consumed nor produced with input left: it is stuck.
            return Err(ArchiveError::Corrupt {
                origin: origin.to_path_buf(),
                format: "xz",
                offset: stream.total_in(),
                detail: "decoder made no progress".into(),
            }
            .into());
        }
    }
    let end = stream.total_in() as usize;
    let trailing = &input[end.min(input.len())..];
    if trailing.iter().any(|&b| b != 0) {
        return Err(ArchiveError::TrailingData {
            origin: origin.to_path_buf(),
            format: "xz",
            offset: end as u64,
            len: trailing.len() as u64,
        }
        .into());
    }
    Ok(())
}

fn xz_decompress(input: &[u8], limit: u64, origin: &Path) -> Result<Vec<u8>, ArchiveError> {
    // BTF compresses roughly 5:1 with xz; start there and let the Vec grow.
    let mut out = Vec::with_capacity((input.len().saturating_mul(5) as u64).min(limit) as usize);
    xz_decode_with::<ArchiveError>(input, origin, |chunk| {
        if out.len() as u64 + chunk.len() as u64 > limit {
            return Err(ArchiveError::TooLarge {
                origin: origin.to_path_buf(),
                limit,
            });
        }
        out.extend_from_slice(chunk);
        Ok(Flow::Continue)
    })?;
    Ok(out)
}

fn gzip_decompress(input: &[u8], limit: u64, origin: &Path) -> Result<Vec<u8>, ArchiveError> {
    let mut cursor = io::Cursor::new(input);
    let mut out = Vec::new();
    let read = {
        let decoder = flate2::bufread::GzDecoder::new(&mut cursor);
        decoder.take(limit.saturating_add(1)).read_to_end(&mut out)
    };
    match read {
        Ok(_) if out.len() as u64 > limit => Err(ArchiveError::TooLarge {
            origin: origin.to_path_buf(),
            limit,
        }),
        Ok(_) => {
            let end = cursor.position();
            let trailing = &input[(end as usize).min(input.len())..];
            if trailing.iter().any(|&b| b != 0) {
                return Err(ArchiveError::TrailingData {
                    origin: origin.to_path_buf(),
                    format: "gzip",
                    offset: end,
                    len: trailing.len() as u64,
                });
            }
            Ok(out)
        }
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(ArchiveError::Truncated {
            origin: origin.to_path_buf(),
            format: "gzip",
            decompressed: out.len() as u64,
        }),
        Err(e) => Err(ArchiveError::Corrupt {
            origin: origin.to_path_buf(),
            format: "gzip",
            offset: cursor.position(),
            detail: e.to_string(),
        }),
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Checks a tar entry path: relative, no `..`. Other oddities (`./x`, `a//b`) are harmless
/// because the member is never written under its own name.
fn check_entry_path(path: &[u8], origin: &Path) -> Result<(), ArchiveError> {
    if path.first() == Some(&b'/') {
        return Err(ArchiveError::AbsolutePath {
            origin: origin.to_path_buf(),
            entry: lossy(path),
        });
    }
    if path.split(|&b| b == b'/').any(|c| c == b"..") {
        return Err(ArchiveError::PathTraversal {
            origin: origin.to_path_buf(),
            entry: lossy(path),
        });
    }
    Ok(())
}

/// Returns the only regular file of the tar in `data`, reusing `data`'s allocation.
fn extract_single_member(mut data: Vec<u8>, origin: &Path) -> Result<Vec<u8>, ArchiveError> {
    let tar_err = |source: io::Error| ArchiveError::Tar {
        origin: origin.to_path_buf(),
        source,
    };
    let mut found: Option<(String, u64, u64)> = None;
    {
        let mut archive = tar::Archive::new(io::Cursor::new(&data[..]));
        for entry in archive.entries().map_err(tar_err)? {
            let entry = entry.map_err(tar_err)?;
            let path: Cow<'_, [u8]> = entry.path_bytes();
            check_entry_path(&path, origin)?;
            let name = lossy(&path);
            use tar::EntryType as T;
            let kind = entry.header().entry_type();
            match kind {
                T::Regular => {
                    if let Some((first, _, _)) = found {
                        return Err(ArchiveError::MultipleMembers {
                            origin: origin.to_path_buf(),
                            first,
                            second: name,
                        });
                    }
                    found = Some((name, entry.raw_file_position(), entry.size()));
                }
                T::Directory => {}
                T::Symlink | T::Link => {
                    return Err(ArchiveError::Link {
                        origin: origin.to_path_buf(),
                        entry: name,
                        target: entry
                            .link_name_bytes()
                            .map(|t| lossy(&t))
                            .unwrap_or_default(),
                    })
                }
                other => {
                    return Err(ArchiveError::SpecialEntry {
                        origin: origin.to_path_buf(),
                        entry: name,
                        kind: match other {
                            T::Char => "character device",
                            T::Block => "block device",
                            T::Fifo => "fifo",
                            T::Continuous => "contiguous file",
                            T::GNUSparse => "sparse file",
                            _ => "entry of an unsupported type",
                        },
                    })
                }
            }
        }
    }
    let Some((member, start, size)) = found else {
        return Err(ArchiveError::Empty {
            origin: origin.to_path_buf(),
        });
    };
    let end = start.checked_add(size).filter(|&e| e <= data.len() as u64);
    let Some(end) = end else {
        return Err(tar_err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "member {member:?} claims {size} bytes at offset {start}, past the end of the tar"
            ),
        )));
    };
    data.truncate(end as usize);
    data.drain(..start as usize);
    if !is_btf(&data) {
        return Err(ArchiveError::NotBtf {
            origin: origin.to_path_buf(),
            member: Some(member),
            magic: head(&data),
        });
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const BTF: &[u8] = &[0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0];

    fn origin() -> &'static Path {
        Path::new("test.btf.tar.xz")
    }

    fn xz(data: &[u8]) -> Vec<u8> {
        let mut enc = xz2::write::XzEncoder::new(Vec::new(), 1);
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn tar_with(entries: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, kind, data, link) in entries {
            let mut h = tar::Header::new_gnu();
            // set_path refuses `..` and absolute paths, so write the raw name field.
            let raw = &mut h.as_old_mut().name;
            raw[..name.len()].copy_from_slice(name.as_bytes());
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

    #[test]
    fn raw_xz_gzip_and_tar_forms_give_the_same_btf() {
        let l = ArchiveLimits::default();
        let t = tar_with(&[("k.btf", tar::EntryType::Regular, BTF, None)]);
        for input in [BTF.to_vec(), xz(BTF), gz(BTF), xz(&t), gz(&t)] {
            assert_eq!(decompress_btf(&input, &l, origin()).unwrap(), BTF);
        }
        assert!(is_compressed(&xz(BTF)) && is_compressed(&gz(BTF)) && !is_compressed(BTF));
    }

    #[test]
    fn directory_entries_are_ignored() {
        let t = tar_with(&[
            ("./", tar::EntryType::Directory, b"", None),
            ("./k.btf", tar::EntryType::Regular, BTF, None),
        ]);
        assert_eq!(
            decompress_btf(&xz(&t), &ArchiveLimits::default(), origin()).unwrap(),
            BTF
        );
    }

    #[test]
    fn hostile_entries_are_refused_by_name() {
        use tar::EntryType as T;
        let l = ArchiveLimits::default();
        type Check = fn(&ArchiveError) -> bool;
        let cases: Vec<(Vec<u8>, Check)> = vec![
            (
                tar_with(&[("../evil.btf", T::Regular, BTF, None)]),
                |e| matches!(e, ArchiveError::PathTraversal { entry, .. } if entry == "../evil.btf"),
            ),
            (
                tar_with(&[("a/../../b", T::Regular, BTF, None)]),
                |e| matches!(e, ArchiveError::PathTraversal { entry, .. } if entry == "a/../../b"),
            ),
            (
                tar_with(&[("/etc/passwd", T::Regular, BTF, None)]),
                |e| matches!(e, ArchiveError::AbsolutePath { entry, .. } if entry == "/etc/passwd"),
            ),
            (
                tar_with(&[("k.btf", T::Symlink, b"", Some("/etc/shadow"))]),
                |e| matches!(e, ArchiveError::Link { entry, target, .. } if entry == "k.btf" && target == "/etc/shadow"),
            ),
            (
                tar_with(&[("k.btf", T::Link, b"", Some("other"))]),
                |e| matches!(e, ArchiveError::Link { entry, .. } if entry == "k.btf"),
            ),
            (
                tar_with(&[("null", T::Char, b"", None)]),
                |e| matches!(e, ArchiveError::SpecialEntry { entry, kind: "character device", .. } if entry == "null"),
            ),
            (
                tar_with(&[
                    ("a.btf", T::Regular, BTF, None),
                    ("b.btf", T::Regular, BTF, None),
                ]),
                |e| matches!(e, ArchiveError::MultipleMembers { first, second, .. } if first == "a.btf" && second == "b.btf"),
            ),
            (tar_with(&[("d/", T::Directory, b"", None)]), |e| {
                matches!(e, ArchiveError::Empty { .. })
            }),
            (
                tar_with(&[("k.btf", T::Regular, b"ELF\x7fnot btf", None)]),
                |e| matches!(e, ArchiveError::NotBtf { member: Some(m), .. } if m == "k.btf"),
            ),
        ];
        for (i, (t, check)) in cases.into_iter().enumerate() {
            let err = decompress_btf(&xz(&t), &l, origin()).unwrap_err();
            assert!(check(&err), "case {i}: unexpected {err:?}");
            assert!(
                err.to_string().contains("test.btf.tar.xz"),
                "case {i}: {err}"
            );
        }
    }

    #[test]
    fn size_cap_applies_to_every_form() {
        let big = {
            let mut v = BTF.to_vec();
            v.resize(1 << 20, 0);
            v
        };
        let l = ArchiveLimits {
            max_decompressed: 1000,
        };
        for input in [xz(&big), gz(&big), big.clone()] {
            let err = decompress_btf(&input, &l, origin()).unwrap_err();
            assert!(
                matches!(err, ArchiveError::TooLarge { limit: 1000, .. }),
                "{err:?}"
            );
        }
        let exact = ArchiveLimits {
            max_decompressed: big.len() as u64,
        };
        assert_eq!(
            decompress_btf(&xz(&big), &exact, origin()).unwrap().len(),
            big.len()
        );
    }

    #[test]
    fn truncation_corruption_and_trailing_data_are_typed() {
        let l = ArchiveLimits::default();
        let full = xz(&tar_with(&[("k.btf", tar::EntryType::Regular, BTF, None)]));
        for cut in [7, full.len() / 2, full.len() - 1] {
            let err = decompress_btf(&full[..cut], &l, origin()).unwrap_err();
            assert!(
                matches!(err, ArchiveError::Truncated { format: "xz", .. }),
                "cut {cut}: {err:?}"
            );
        }
        let g = gz(BTF);
        let err = decompress_btf(&g[..g.len() - 3], &l, origin()).unwrap_err();
        assert!(
            matches!(err, ArchiveError::Truncated { format: "gzip", .. }),
            "{err:?}"
        );

        let mut bad = full.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 0xff;
        let err = decompress_btf(&bad, &l, origin()).unwrap_err();
        assert!(
            matches!(err, ArchiveError::Corrupt { format: "xz", .. }),
            "{err:?}"
        );

        let mut trailing = full.clone();
        trailing.extend_from_slice(b"junk");
        let err = decompress_btf(&trailing, &l, origin()).unwrap_err();
        assert!(
            matches!(err, ArchiveError::TrailingData { len: 4, .. }),
            "{err:?}"
        );
        let mut padded = full;
        padded.extend_from_slice(&[0; 8]);
        assert_eq!(decompress_btf(&padded, &l, origin()).unwrap(), BTF);
    }

    #[test]
    fn unknown_and_non_btf_payloads_are_refused() {
        let l = ArchiveLimits::default();
        let err = decompress_btf(b"PK\x03\x04zip", &l, origin()).unwrap_err();
        assert!(
            matches!(err, ArchiveError::UnknownFormat { ref magic, .. } if magic[..2] == *b"PK")
        );
        let err = decompress_btf(&xz(b"\x7fELF...."), &l, origin()).unwrap_err();
        assert!(
            matches!(err, ArchiveError::NotBtf { member: None, .. }),
            "{err:?}"
        );
        assert!(decompress_btf(&[], &l, origin()).is_err());
    }
}
