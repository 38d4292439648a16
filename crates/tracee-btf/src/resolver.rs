//! Finding the right BTF for the running kernel, as Tracee does, from four sources in order:
//!
//! 1. the file named by `$TRACEE_BTF_FILE` (if set it must exist and parse: a hard error
//!    otherwise, because the operator asked for exactly that file);
//! 2. the kernel's own `/sys/kernel/btf/vmlinux`;
//! 3. a bundle (usually embedded in the binary) or a btfhub-archive directory, looked up by
//!    `ID/VERSION_ID/ARCH/RELEASE`;
//! 4. a btfhub-archive mirror (cargo feature `download`).
//!
//! Each source can be turned off or replaced. The result carries the parsed [`Btf`], a path
//! libbpf can open, which source won and why every earlier one was skipped. BTF that came out
//! of an archive is written to a private copy — a sealed memfd reached as `/proc/self/fd/N`,
//! or a file in a fresh 0700 directory — never to a predictable path in /tmp, and is removed
//! when the [`ResolvedBtf`] is dropped.
//!
//! ```no_run
//! use tracee_btf::resolver::BtfResolver;
//! let resolved = BtfResolver::new().resolve()?;
//! log::info!("BTF from {} at {}\n{}", resolved.source(), resolved.path().display(), resolved.report());
//! println!("{} types", resolved.btf().type_count());
//! # Ok::<(), tracee_btf::resolver::ResolveError>(())
//! ```

use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::{Path, PathBuf};

use crate::archive::{decompress_btf, is_compressed, ArchiveError, ArchiveLimits};
use crate::bundle::{BtfKey, Bundle, BundleError};
use crate::host::{arch_dir_names, HostError, OsInfo};
use crate::{Btf, BtfError};

#[cfg(feature = "download")]
use crate::download::{DownloadError, DownloadOptions};

/// The environment variable Tracee reads for an explicit BTF file.
pub const BTF_FILE_ENV: &str = "TRACEE_BTF_FILE";
/// Where the kernel exposes its own BTF.
pub const SYSFS_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Where a BTF came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// The file named by the environment variable (or its builder replacement).
    EnvFile,
    /// The kernel's sysfs BTF.
    Sysfs,
    /// A bundle or a btfhub-archive directory.
    Bundle,
    /// A btfhub-archive mirror or its cache.
    Download,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::EnvFile => "env",
            Source::Sysfs => "sysfs",
            Source::Bundle => "bundle",
            Source::Download => "download",
        })
    }
}

/// Why resolution failed, or why one source was skipped (inside a [`ResolveReport`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// `$TRACEE_BTF_FILE` (or the configured file) does not exist. Always fatal.
    #[error("{} names {}, which does not exist", var.as_deref().unwrap_or("the configured BTF file"), path.display())]
    EnvFileMissing {
        /// The variable, None if the file was set in the builder.
        var: Option<String>,
        /// The path it names.
        path: PathBuf,
    },
    /// A file could not be read.
    #[error("{from}: cannot read {}: {error}", path.display())]
    Read {
        /// The source being tried.
        from: Source,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        error: io::Error,
    },
    /// A source's bytes do not parse as BTF.
    #[error("{from}: {origin} is not valid BTF: {error}")]
    InvalidBtf {
        /// The source being tried.
        from: Source,
        /// The file, bundle key or URL.
        origin: String,
        /// The parser's complaint.
        #[source]
        error: BtfError,
    },
    /// An archive was refused.
    #[error("{from}: {error}")]
    Archive {
        /// The source being tried.
        from: Source,
        /// Why (names the archive).
        #[source]
        error: ArchiveError,
    },
    /// The bundle is unreadable or an entry fails to extract.
    #[error("bundle: {0}")]
    Bundle(#[source] BundleError),
    /// The host's key (os-release, uname) could not be determined.
    #[error("host: {0}")]
    Host(#[source] HostError),
    /// Downloading failed.
    #[cfg(feature = "download")]
    #[error("download: {0}")]
    Download(#[source] DownloadError),
    /// The private copy for libbpf could not be written.
    #[error("cannot write a private BTF copy in {}: {error}", dir.display())]
    PrivateCopy {
        /// The directory (or `/proc/self/fd` for a memfd).
        dir: PathBuf,
        /// The I/O error.
        #[source]
        error: io::Error,
    },
    /// No source produced a BTF; the report says why for each.
    #[error("no BTF for this kernel:\n{report}")]
    NoBtf {
        /// What every source did.
        report: Box<ResolveReport>,
    },
}

/// What one source did.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// Turned off in the builder.
    Disabled,
    /// Nothing there to try (variable unset, no sysfs file, key absent); says what was looked for.
    Absent(String),
    /// Something was there but unusable.
    Failed(ResolveError),
    /// This source won; says what exactly was used.
    Used(String),
}

/// One line of a [`ResolveReport`].
#[derive(Debug)]
pub struct Attempt {
    /// The source.
    pub source: Source,
    /// What happened.
    pub outcome: Outcome,
}

/// Every source consulted, in order, with its outcome; printable.
#[derive(Debug, Default)]
pub struct ResolveReport {
    /// The attempts in resolution order (sources after the winner are not listed).
    pub attempts: Vec<Attempt>,
    /// The host key used for bundle and download lookups, if it was needed and known.
    pub key: Option<BtfKey>,
}

impl ResolveReport {
    /// The outcome for `source`, if it was consulted.
    pub fn outcome(&self, source: Source) -> Option<&Outcome> {
        self.attempts
            .iter()
            .find(|a| a.source == source)
            .map(|a| &a.outcome)
    }

    fn push(&mut self, source: Source, outcome: Outcome) {
        match &outcome {
            Outcome::Failed(e) => log::warn!("BTF source {source} failed: {e}"),
            o => log::debug!("BTF source {source}: {o:?}"),
        }
        self.attempts.push(Attempt { source, outcome });
    }
}

impl fmt::Display for ResolveReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(k) = &self.key {
            writeln!(f, "  key: {k}")?;
        }
        for (i, a) in self.attempts.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  {:<8} ", a.source.to_string())?;
            match &a.outcome {
                Outcome::Disabled => write!(f, "skipped: disabled")?,
                Outcome::Absent(what) => write!(f, "skipped: {what}")?,
                Outcome::Failed(e) => write!(f, "skipped: {e}")?,
                Outcome::Used(what) => write!(f, "used: {what}")?,
            }
        }
        Ok(())
    }
}

/// The env source's setting.
#[derive(Debug, Clone)]
enum EnvSetting {
    Var(String),
    File(PathBuf),
    Off,
}

/// Where the third source looks.
#[derive(Debug, Clone)]
pub enum BundleSource {
    /// A parsed bundle (typically [`Bundle::from_static`] of an embedded one).
    Bundle(Bundle),
    /// A btfhub-archive tree on disk (`ID/VERSION_ID/ARCH/RELEASE.btf.tar.xz`); both `arm64`
    /// and `aarch64` arch directories are tried.
    BtfhubDir(PathBuf),
}

/// Where private copies for libbpf go.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrivateStorage {
    /// A sealed memfd, reached as `/proc/self/fd/N` (only valid inside this process); falls
    /// back to a 0700 directory under the system temp dir if memfd or /proc is unavailable.
    Memfd,
    /// A fresh, randomly named 0700 directory inside this directory.
    DirIn(PathBuf),
}

/// Builder and runner of the resolution. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct BtfResolver {
    env: EnvSetting,
    sysfs: Option<PathBuf>,
    bundle: Option<BundleSource>,
    #[cfg(feature = "download")]
    download: Option<DownloadOptions>,
    os: Option<OsInfo>,
    limits: ArchiveLimits,
    storage: PrivateStorage,
}

impl Default for BtfResolver {
    fn default() -> Self {
        BtfResolver::new()
    }
}

impl BtfResolver {
    /// `$TRACEE_BTF_FILE`, then sysfs; no bundle, no download (a library should not reach the
    /// network unless asked); host facts detected when needed; private copies in a memfd.
    pub fn new() -> BtfResolver {
        BtfResolver {
            env: EnvSetting::Var(BTF_FILE_ENV.to_string()),
            sysfs: Some(PathBuf::from(SYSFS_BTF)),
            bundle: None,
            #[cfg(feature = "download")]
            download: None,
            os: None,
            limits: ArchiveLimits::default(),
            storage: PrivateStorage::Memfd,
        }
    }

    /// Reads the env source from another variable.
    pub fn env_var(mut self, name: impl Into<String>) -> Self {
        self.env = EnvSetting::Var(name.into());
        self
    }

    /// Replaces the env source by a fixed file, with the same contract: it must exist and parse.
    pub fn env_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.env = EnvSetting::File(path.into());
        self
    }

    /// Turns the env source off.
    pub fn no_env(mut self) -> Self {
        self.env = EnvSetting::Off;
        self
    }

    /// Reads kernel BTF from another path (tests point it at nothing).
    pub fn sysfs_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.sysfs = Some(path.into());
        self
    }

    /// Turns the sysfs source off.
    pub fn no_sysfs(mut self) -> Self {
        self.sysfs = None;
        self
    }

    /// Uses a bundle as the third source.
    pub fn bundle(mut self, bundle: Bundle) -> Self {
        self.bundle = Some(BundleSource::Bundle(bundle));
        self
    }

    /// Uses a btfhub-archive directory as the third source.
    pub fn btfhub_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.bundle = Some(BundleSource::BtfhubDir(dir.into()));
        self
    }

    /// Turns the bundle source off.
    pub fn no_bundle(mut self) -> Self {
        self.bundle = None;
        self
    }

    /// The third source as configured (`None` when off).
    pub fn bundle_source(&self) -> Option<&BundleSource> {
        self.bundle.as_ref()
    }

    /// Enables downloading as the last source.
    #[cfg(feature = "download")]
    pub fn download(mut self, options: DownloadOptions) -> Self {
        self.download = Some(options);
        self
    }

    /// Turns downloading off.
    #[cfg(feature = "download")]
    pub fn no_download(mut self) -> Self {
        self.download = None;
        self
    }

    /// Describes the host instead of reading os-release and uname.
    pub fn os_info(mut self, os: OsInfo) -> Self {
        self.os = Some(os);
        self
    }

    /// Limits for decompressing archives (env file, bundle entries, downloads).
    pub fn limits(mut self, limits: ArchiveLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Where private copies for libbpf go.
    pub fn private_storage(mut self, storage: PrivateStorage) -> Self {
        self.storage = storage;
        self
    }

    /// Runs the sources in order. Errors only for a broken env file, or when no source has a
    /// BTF ([`ResolveError::NoBtf`], carrying the report).
    pub fn resolve(&self) -> Result<ResolvedBtf, ResolveError> {
        let mut report = ResolveReport::default();

        // 1. env: fatal on any problem.
        let env_path = match &self.env {
            EnvSetting::Off => {
                report.push(Source::EnvFile, Outcome::Disabled);
                None
            }
            EnvSetting::File(p) => Some((None, p.clone())),
            EnvSetting::Var(name) => match std::env::var_os(name).filter(|v| !v.is_empty()) {
                Some(v) => Some((Some(name.clone()), PathBuf::from(v))),
                None => {
                    report.push(
                        Source::EnvFile,
                        Outcome::Absent(format!("${name} is not set")),
                    );
                    None
                }
            },
        };
        if let Some((var, path)) = env_path {
            let found = self.try_env_file(var, &path)?;
            return self.finish(found, report);
        }

        // 2. sysfs.
        match &self.sysfs {
            None => report.push(Source::Sysfs, Outcome::Disabled),
            Some(path) => match self.try_sysfs(path) {
                Ok(Some(found)) => return self.finish(found, report),
                Ok(None) => report.push(
                    Source::Sysfs,
                    Outcome::Absent(format!("{} does not exist", path.display())),
                ),
                Err(e) => report.push(Source::Sysfs, Outcome::Failed(e)),
            },
        }

        // 3 and 4 need the host key; a failure to learn it skips both with the reason.
        let mut key: Option<Result<BtfKey, HostError>> = None;
        let mut host_key = |os: &Option<OsInfo>| -> Result<BtfKey, ResolveError> {
            let k = key.get_or_insert_with(|| match os {
                Some(os) => os.btf_key(),
                None => OsInfo::detect().and_then(|os| os.btf_key()),
            });
            match k {
                Ok(k) => Ok(k.clone()),
                // HostError holds io::Error, which is not Clone: describe it again.
                Err(e) => Err(ResolveError::Host(clone_host_error(e))),
            }
        };

        match &self.bundle {
            None => report.push(Source::Bundle, Outcome::Disabled),
            Some(bundle) => match host_key(&self.os) {
                Err(e) => report.push(Source::Bundle, Outcome::Failed(e)),
                Ok(k) => {
                    report.key = Some(k.clone());
                    match self.try_bundle(bundle, &k) {
                        Ok(Ok(found)) => return self.finish(found, report),
                        Ok(Err(absent)) => report.push(Source::Bundle, Outcome::Absent(absent)),
                        Err(e) => report.push(Source::Bundle, Outcome::Failed(e)),
                    }
                }
            },
        }

        #[cfg(feature = "download")]
        match &self.download {
            None => report.push(Source::Download, Outcome::Disabled),
            Some(opts) => match host_key(&self.os) {
                Err(e) => report.push(Source::Download, Outcome::Failed(e)),
                Ok(k) => {
                    report.key = Some(k.clone());
                    match crate::download::fetch_btf(opts, &k, &self.limits) {
                        Ok(d) => {
                            let what = if d.from_cache {
                                format!("cached {}", d.origin)
                            } else {
                                d.origin.clone()
                            };
                            let found = Found {
                                source: Source::Download,
                                what,
                                btf: d.btf,
                                libbpf_path: None,
                                key: Some(k),
                            };
                            return self.finish(found, report);
                        }
                        Err(e) => report
                            .push(Source::Download, Outcome::Failed(ResolveError::Download(e))),
                    }
                }
            },
        }

        Err(ResolveError::NoBtf {
            report: Box::new(report),
        })
    }

    fn try_env_file(&self, var: Option<String>, path: &Path) -> Result<Found, ResolveError> {
        let bytes = std::fs::read(path).map_err(|error| {
            if error.kind() == io::ErrorKind::NotFound {
                ResolveError::EnvFileMissing {
                    var: var.clone(),
                    path: path.to_path_buf(),
                }
            } else {
                ResolveError::Read {
                    from: Source::EnvFile,
                    path: path.to_path_buf(),
                    error,
                }
            }
        })?;
        let compressed = is_compressed(&bytes);
        let raw = if compressed {
            decompress_btf(&bytes, &self.limits, path).map_err(|error| ResolveError::Archive {
                from: Source::EnvFile,
                error,
            })?
        } else {
            bytes
        };
        let btf = Btf::from_vec_validated(raw).map_err(|error| ResolveError::InvalidBtf {
            from: Source::EnvFile,
            origin: path.display().to_string(),
            error,
        })?;
        let what = match &var {
            Some(v) => format!("${v} = {}", path.display()),
            None => path.display().to_string(),
        };
        let found = Found {
            source: Source::EnvFile,
            what,
            btf,
            libbpf_path: (!compressed).then(|| path.to_path_buf()),
            key: None,
        };
        Ok(found)
    }

    fn try_sysfs(&self, path: &Path) -> Result<Option<Found>, ResolveError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => {
                return Err(ResolveError::Read {
                    from: Source::Sysfs,
                    path: path.to_path_buf(),
                    error,
                })
            }
        };
        let btf = Btf::from_vec(bytes).map_err(|error| ResolveError::InvalidBtf {
            from: Source::Sysfs,
            origin: path.display().to_string(),
            error,
        })?;
        Ok(Some(Found {
            source: Source::Sysfs,
            what: path.display().to_string(),
            btf,
            libbpf_path: Some(path.to_path_buf()),
            key: None,
        }))
    }

    /// Ok(Err(reason)) when the key is simply not there.
    fn try_bundle(
        &self,
        bundle: &BundleSource,
        key: &BtfKey,
    ) -> Result<Result<Found, String>, ResolveError> {
        let (raw, what) = match bundle {
            BundleSource::Bundle(b) => {
                let Some(entry) = b.get(key) else {
                    return Ok(Err(format!(
                        "{key} is not among the {} kernels of {}",
                        b.entries().len(),
                        b.origin().display()
                    )));
                };
                let raw = b
                    .extract(entry, &self.limits)
                    .map_err(ResolveError::Bundle)?;
                (raw, format!("{key} from {}", b.origin().display()))
            }
            BundleSource::BtfhubDir(dir) => {
                let candidates: Vec<PathBuf> = arch_dir_names(key.arch())
                    .iter()
                    .map(|a| dir.join(key.btfhub_path(a)))
                    .collect();
                let Some(path) = candidates.iter().find(|p| p.is_file()) else {
                    let tried: Vec<String> =
                        candidates.iter().map(|p| p.display().to_string()).collect();
                    return Ok(Err(format!("no {}", tried.join(" or "))));
                };
                let bytes = std::fs::read(path).map_err(|error| ResolveError::Read {
                    from: Source::Bundle,
                    path: path.clone(),
                    error,
                })?;
                let raw = decompress_btf(&bytes, &self.limits, path).map_err(|error| {
                    ResolveError::Archive {
                        from: Source::Bundle,
                        error,
                    }
                })?;
                (raw, path.display().to_string())
            }
        };
        let btf = Btf::from_vec_validated(raw).map_err(|error| ResolveError::InvalidBtf {
            from: Source::Bundle,
            origin: what.clone(),
            error,
        })?;
        let found = Found {
            source: Source::Bundle,
            what,
            btf,
            libbpf_path: None,
            key: Some(key.clone()),
        };
        Ok(Ok(found))
    }

    /// Completes a result: BTF without a path libbpf can use gets a private copy.
    fn finish(&self, found: Found, mut report: ResolveReport) -> Result<ResolvedBtf, ResolveError> {
        let (path, private) = match found.libbpf_path {
            Some(p) => (p, None),
            None => {
                let copy = PrivateCopy::write(&self.storage, found.btf.raw_bytes())?;
                (copy.path.clone(), Some(copy))
            }
        };
        report.push(found.source, Outcome::Used(found.what.clone()));
        if found.key.is_some() {
            report.key.clone_from(&found.key);
        }
        log::info!(
            "BTF from {}: {} (libbpf path {})",
            found.source,
            found.what,
            path.display()
        );
        Ok(ResolvedBtf {
            path,
            btf: found.btf,
            source: found.source,
            key: found.key,
            report,
            private,
        })
    }
}

fn clone_host_error(e: &HostError) -> HostError {
    match e {
        HostError::MissingField { path, field } => HostError::MissingField {
            path: path.clone(),
            field,
        },
        HostError::UnknownArch { machine } => HostError::UnknownArch {
            machine: machine.clone(),
        },
        HostError::Key(k) => HostError::Key(k.clone()),
        HostError::OsReleaseNotFound { tried } => HostError::OsReleaseNotFound {
            tried: tried.clone(),
        },
        HostError::OsReleaseTooLarge { path } => {
            HostError::OsReleaseTooLarge { path: path.clone() }
        }
        HostError::OsReleaseRead { path, source } => HostError::OsReleaseRead {
            path: path.clone(),
            source: io::Error::new(source.kind(), source.to_string()),
        },
        HostError::Uname(source) => {
            HostError::Uname(io::Error::new(source.kind(), source.to_string()))
        }
    }
}

/// A source's result before it becomes a [`ResolvedBtf`].
struct Found {
    source: Source,
    what: String,
    btf: Btf,
    libbpf_path: Option<PathBuf>,
    key: Option<BtfKey>,
}

/// The resolved BTF. Keep it alive until libbpf has opened [`ResolvedBtf::path`]: a private
/// copy disappears when this is dropped.
#[derive(Debug)]
pub struct ResolvedBtf {
    btf: Btf,
    path: PathBuf,
    source: Source,
    key: Option<BtfKey>,
    report: ResolveReport,
    private: Option<PrivateCopy>,
}

impl ResolvedBtf {
    /// The parsed BTF.
    pub fn btf(&self) -> &Btf {
        &self.btf
    }

    /// A path holding the raw BTF, for libbpf's `btf_custom_path`: the sysfs file, the env
    /// file if it was raw, or the private copy (`/proc/self/fd/N` or a file in a 0700
    /// directory).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Which source won.
    pub fn source(&self) -> Source {
        self.source
    }

    /// The host key, for bundle and download results.
    pub fn key(&self) -> Option<&BtfKey> {
        self.key.as_ref()
    }

    /// What every source did.
    pub fn report(&self) -> &ResolveReport {
        &self.report
    }

    /// True if [`ResolvedBtf::path`] is a private copy removed on drop.
    pub fn is_private_copy(&self) -> bool {
        self.private.is_some()
    }

    /// The BTF alone; the private copy, if any, is removed.
    pub fn into_btf(self) -> Btf {
        self.btf
    }
}

/// A private copy of raw BTF for libbpf; removed on drop (memfd closed, or directory deleted).
#[derive(Debug)]
struct PrivateCopy {
    path: PathBuf,
    _holder: PrivateHolder,
}

#[derive(Debug)]
enum PrivateHolder {
    Memfd(#[allow(dead_code)] File),
    Dir(#[allow(dead_code)] tempfile::TempDir),
}

impl PrivateCopy {
    fn write(storage: &PrivateStorage, bytes: &[u8]) -> Result<PrivateCopy, ResolveError> {
        match storage {
            PrivateStorage::Memfd => match Self::memfd(bytes) {
                Ok(copy) => Ok(copy),
                Err(e) => {
                    log::debug!("memfd for BTF unavailable ({e}); using a private directory");
                    Self::in_dir(&std::env::temp_dir(), bytes)
                }
            },
            PrivateStorage::DirIn(parent) => Self::in_dir(parent, bytes),
        }
    }

    fn memfd(bytes: &[u8]) -> io::Result<PrivateCopy> {
        // SAFETY: the name is a valid NUL-terminated string; flags are valid memfd flags.
        let fd = unsafe {
            libc::memfd_create(
                c"tracee-btf".as_ptr(),
                libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd was just created and is owned by nobody else.
        let mut file = unsafe { File::from_raw_fd(fd) };
        file.write_all(bytes)?;
        // Sealed: neither we nor anyone reopening /proc/self/fd/N can change it under libbpf.
        let seals =
            libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
        // SAFETY: fcntl on an fd we own with an integer argument.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
        // /proc may be missing in a container; only hand out a path that opens.
        let check = File::open(&path)?;
        if check.metadata()?.len() != bytes.len() as u64 {
            return Err(io::Error::other("reopened memfd has the wrong size"));
        }
        Ok(PrivateCopy {
            path,
            _holder: PrivateHolder::Memfd(file),
        })
    }

    fn in_dir(parent: &Path, bytes: &[u8]) -> Result<PrivateCopy, ResolveError> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let err = |error| ResolveError::PrivateCopy {
            dir: parent.to_path_buf(),
            error,
        };
        let dir = tempfile::Builder::new()
            .prefix("tracee-btf-")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(parent)
            .map_err(err)?;
        // The umask can only clear bits, but make the mode explicit and check it.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .map_err(err)?;
        let path = dir.path().join("vmlinux.btf");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(err)?;
        f.write_all(bytes).map_err(err)?;
        Ok(PrivateCopy {
            path,
            _holder: PrivateHolder::Dir(dir),
        })
    }
}
