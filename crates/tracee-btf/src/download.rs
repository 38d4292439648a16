//! Fetching a kernel's BTF from a btfhub-archive mirror (cargo feature `download`).
//!
//! `{mirror}/{ID}/{VERSION_ID}/{ARCH}/{RELEASE}.btf.tar.xz` is fetched with a global timeout
//! and a size limit, decompressed with the archive limits, parsed as BTF, and only then
//! stored in the cache (a temporary file in the target directory renamed into place, so a
//! crash never leaves a half-written file under the final name). Cached files are re-checked
//! on every use; a corrupt one is replaced.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::archive::{decompress_btf, ArchiveError, ArchiveLimits};
use crate::bundle::BtfKey;
use crate::host::arch_dir_names;
use crate::{Btf, BtfError};

/// The public btfhub-archive repository, served raw.
pub const DEFAULT_MIRROR: &str = "https://github.com/aquasecurity/btfhub-archive/raw/main";

/// How to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadOptions {
    /// Base URL; the btfhub path is appended after a `/`.
    pub mirror: String,
    /// Where downloaded archives are kept (same layout as btfhub-archive); None for no cache.
    pub cache_dir: Option<PathBuf>,
    /// Deadline for one whole request, redirects and body included.
    pub timeout: Duration,
    /// Largest compressed body accepted, in bytes.
    pub max_size: u64,
}

impl Default for DownloadOptions {
    /// [`DEFAULT_MIRROR`], no cache, 60 s, 64 MiB (btfhub's largest archive is ~3 MB).
    fn default() -> Self {
        DownloadOptions {
            mirror: DEFAULT_MIRROR.to_string(),
            cache_dir: None,
            timeout: Duration::from_secs(60),
            max_size: 64 << 20,
        }
    }
}

impl DownloadOptions {
    /// Defaults with another mirror.
    pub fn with_mirror(mirror: impl Into<String>) -> DownloadOptions {
        DownloadOptions {
            mirror: mirror.into(),
            ..DownloadOptions::default()
        }
    }

    /// Sets the cache directory (created with mode 0700 if absent).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Sets the request deadline.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the body size limit.
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.max_size = bytes;
        self
    }
}

/// Why a download failed. Every variant names the URL or cache path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// The mirror answered 404 for every arch directory name tried.
    #[error("not on the mirror (404): {}", urls.join(", "))]
    NotFound {
        /// The URLs tried.
        urls: Vec<String>,
    },
    /// Another non-success HTTP status.
    #[error("{url}: HTTP status {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The request did not finish within the timeout.
    #[error("{url}: timed out after {after:?} ({phase})")]
    Timeout {
        /// The URL.
        url: String,
        /// The configured timeout.
        after: Duration,
        /// Where it ran out, as ureq reports it.
        phase: String,
    },
    /// The body is larger than [`DownloadOptions::max_size`].
    #[error("{url}: body exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// Connection, TLS or protocol failure.
    #[error("{url}: {detail}")]
    Http {
        /// The URL.
        url: String,
        /// ureq's message.
        detail: String,
    },
    /// The body is not an acceptable archive.
    #[error("{url}: {error}")]
    Archive {
        /// The URL.
        url: String,
        /// Why the archive was refused.
        #[source]
        error: ArchiveError,
    },
    /// The archive holds something that does not parse as BTF.
    #[error("{url}: not valid BTF: {error}")]
    InvalidBtf {
        /// The URL.
        url: String,
        /// The parser's complaint.
        #[source]
        error: BtfError,
    },
    /// The mirror URL is unusable.
    #[error("mirror {mirror:?} is not an http:// or https:// URL")]
    BadMirror {
        /// The configured mirror.
        mirror: String,
    },
}

/// A downloaded (or cached) and verified BTF.
#[derive(Debug)]
pub struct Downloaded {
    /// The parsed BTF.
    pub btf: Btf,
    /// Where it came from: the URL, or the cache file for a cache hit.
    pub origin: String,
    /// The cache file now holding the archive, if caching is on and worked.
    pub cache_path: Option<PathBuf>,
    /// True if no network request was needed.
    pub from_cache: bool,
}

/// Fetches the BTF of `key`: from the cache if a valid copy is there, else from the mirror,
/// trying every arch directory name btfhub uses (`arm64`, then `aarch64`).
pub fn fetch_btf(
    opts: &DownloadOptions,
    key: &BtfKey,
    limits: &ArchiveLimits,
) -> Result<Downloaded, DownloadError> {
    let mirror = opts.mirror.trim_end_matches('/');
    if !(mirror.starts_with("http://") || mirror.starts_with("https://")) {
        return Err(DownloadError::BadMirror {
            mirror: opts.mirror.clone(),
        });
    }
    let dirs: Vec<&str> = match arch_dir_names(key.arch()) {
        [] => vec![key.arch()],
        names => names.to_vec(),
    };
    if let Some(cache) = &opts.cache_dir {
        for dir in &dirs {
            let path = cache.join(key.btfhub_path(dir));
            if let Some(btf) = load_cached(&path, limits) {
                return Ok(Downloaded {
                    btf,
                    origin: path.display().to_string(),
                    cache_path: Some(path),
                    from_cache: true,
                });
            }
        }
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(opts.timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let mut not_found = Vec::new();
    for dir in &dirs {
        let rel = key.btfhub_path(dir);
        let url = format!("{mirror}/{rel}");
        let Some(body) = get(&agent, &url, opts)? else {
            log::debug!("download: {url}: 404");
            not_found.push(url);
            continue;
        };
        let raw = decompress_btf(&body, limits, Path::new(&url)).map_err(|error| {
            DownloadError::Archive {
                url: url.clone(),
                error,
            }
        })?;
        let btf = Btf::from_vec_validated(raw).map_err(|error| DownloadError::InvalidBtf {
            url: url.clone(),
            error,
        })?;
        let cache_path = opts
            .cache_dir
            .as_ref()
            .and_then(|c| match store(c, &rel, &body) {
                Ok(p) => Some(p),
                Err(e) => {
                    log::warn!("BTF cache {}: {e}", c.display());
                    None
                }
            });
        return Ok(Downloaded {
            btf,
            origin: url,
            cache_path,
            from_cache: false,
        });
    }
    Err(DownloadError::NotFound { urls: not_found })
}

/// GETs `url`: Some(body) on 200, None on 404, an error otherwise.
fn get(
    agent: &ureq::Agent,
    url: &str,
    opts: &DownloadOptions,
) -> Result<Option<Vec<u8>>, DownloadError> {
    let map = |e: ureq::Error| match e {
        ureq::Error::Timeout(phase) => DownloadError::Timeout {
            url: url.to_string(),
            after: opts.timeout,
            phase: phase.to_string(),
        },
        ureq::Error::BodyExceedsLimit(limit) => DownloadError::TooLarge {
            url: url.to_string(),
            limit,
        },
        other => DownloadError::Http {
            url: url.to_string(),
            detail: other.to_string(),
        },
    };
    let mut resp = agent.get(url).call().map_err(map)?;
    let status = resp.status().as_u16();
    if status == 404 {
        return Ok(None);
    }
    if !(200..300).contains(&status) {
        return Err(DownloadError::Status {
            url: url.to_string(),
            status,
        });
    }
    let body = resp
        .body_mut()
        .with_config()
        .limit(opts.max_size)
        .read_to_vec()
        .map_err(map)?;
    Ok(Some(body))
}

fn load_cached(path: &Path, limits: &ArchiveLimits) -> Option<Btf> {
    let bytes = std::fs::read(path).ok()?;
    let checked = decompress_btf(&bytes, limits, path)
        .map_err(|e| e.to_string())
        .and_then(|raw| Btf::from_vec_validated(raw).map_err(|e| e.to_string()));
    match checked {
        Ok(btf) => {
            log::debug!("BTF cache hit: {}", path.display());
            Some(btf)
        }
        Err(e) => {
            log::warn!(
                "BTF cache {} is unusable ({e}); downloading again",
                path.display()
            );
            let _ = std::fs::remove_file(path);
            None
        }
    }
}

/// Writes `body` to `cache/rel` via a temporary file in the same directory and a rename.
fn store(cache: &Path, rel: &str, body: &[u8]) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let path = cache.join(rel);
    let dir = path.parent().unwrap_or(cache);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".download-")
        .tempfile_in(dir)?;
    tmp.write_all(body)?;
    tmp.as_file().sync_all()?;
    tmp.persist(&path).map_err(|e| e.error)?;
    Ok(path)
}
