//! The running kernel's build configuration (`CONFIG_*`), needed to check that BPF tracing is
//! possible and to give libbpf values for `__kconfig` externs.
//!
//! Found, in order: `$TRACEE_KCONFIG_FILE`, `/proc/config.gz`, `/boot/config-$(uname -r)`.
//! Either form may be gzip'd (detected by magic).

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Environment variable naming a kernel config file to use instead of the default locations.
pub const KCONFIG_ENV: &str = "TRACEE_KCONFIG_FILE";
/// The kernel's own copy, present with `CONFIG_IKCONFIG_PROC`.
pub const PROC_CONFIG_GZ: &str = "/proc/config.gz";

/// Options without which no BPF tracer can work.
pub const REQUIRED_OPTIONS: &[&str] = &["CONFIG_BPF", "CONFIG_BPF_SYSCALL", "CONFIG_BPF_EVENTS"];

/// Kernel configs are a few hundred KiB; anything past this is not one.
const MAX_KCONFIG: u64 = 16 << 20;

/// Why the kernel config could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KconfigError {
    /// No config in any default location.
    #[error("no kernel config found (tried {tried:?}; set {KCONFIG_ENV} to override)")]
    NotFound {
        /// The paths tried.
        tried: Vec<PathBuf>,
    },
    /// A config file could not be read or decompressed.
    #[error("cannot read kernel config {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O or gzip error.
        #[source]
        source: io::Error,
    },
    /// A config file (after decompression) is larger than 16 MiB.
    #[error("kernel config {} is larger than 16 MiB", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
}

/// The value of one option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KconfigValue<'a> {
    /// `=y`.
    BuiltIn,
    /// `=m`.
    Module,
    /// `# CONFIG_X is not set`, `=n`, or absent.
    NotSet,
    /// Any other value (`"string"` with its quotes, numbers, hex).
    Other(&'a str),
}

/// A parsed kernel config.
///
/// ```
/// use tracee_btf::kconfig::{KernelConfig, KconfigValue};
/// let c = KernelConfig::parse("CONFIG_BPF=y\n# CONFIG_KPROBES is not set\nCONFIG_HZ=250\n", "inline");
/// assert_eq!(c.get("CONFIG_BPF"), Some("y"));
/// assert_eq!(c.value("CONFIG_KPROBES"), KconfigValue::NotSet);
/// assert_eq!(c.missing(&["CONFIG_BPF", "CONFIG_KPROBES"]), ["CONFIG_KPROBES"]);
/// ```
#[derive(Debug, Clone)]
pub struct KernelConfig {
    path: PathBuf,
    text: String,
    options: BTreeMap<String, String>,
}

impl KernelConfig {
    /// Parses config text; `path` is recorded as where it came from.
    pub fn parse(text: &str, path: impl Into<PathBuf>) -> KernelConfig {
        let mut options = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') {
                continue; // includes "# CONFIG_X is not set", which is the same as absent
            }
            if let Some((k, v)) = line.split_once('=') {
                if k.starts_with("CONFIG_") {
                    options.insert(k.to_string(), v.to_string());
                }
            }
        }
        KernelConfig {
            path: path.into(),
            text: text.to_string(),
            options,
        }
    }

    /// Reads a config file, gzip'd or not.
    pub fn from_file(path: impl AsRef<Path>) -> Result<KernelConfig, KconfigError> {
        let path = path.as_ref();
        let err = |source| KconfigError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(err)?;
        let mut raw = Vec::new();
        file.take(MAX_KCONFIG + 1)
            .read_to_end(&mut raw)
            .map_err(err)?;
        let text = if raw.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&raw[..])
                .take(MAX_KCONFIG + 1)
                .read_to_end(&mut out)
                .map_err(err)?;
            out
        } else {
            raw
        };
        if text.len() as u64 > MAX_KCONFIG {
            return Err(KconfigError::TooLarge {
                path: path.to_path_buf(),
            });
        }
        Ok(KernelConfig::parse(&String::from_utf8_lossy(&text), path))
    }

    /// The running kernel's config: `$TRACEE_KCONFIG_FILE` (which must be readable), else
    /// `/proc/config.gz`, else `/boot/config-<release>` with `release` from `uname -r`.
    pub fn detect(release: &str) -> Result<KernelConfig, KconfigError> {
        if let Some(p) = std::env::var_os(KCONFIG_ENV).filter(|v| !v.is_empty()) {
            return KernelConfig::from_file(PathBuf::from(p));
        }
        let candidates = [
            PathBuf::from(PROC_CONFIG_GZ),
            PathBuf::from(format!("/boot/config-{release}")),
        ];
        for path in &candidates {
            match KernelConfig::from_file(path) {
                Err(KconfigError::Read { source, .. })
                    if source.kind() == io::ErrorKind::NotFound =>
                {
                    log::debug!("kernel config: {} absent", path.display());
                }
                other => return other,
            }
        }
        Err(KconfigError::NotFound {
            tried: candidates.to_vec(),
        })
    }

    /// Where the config came from. libbpf's `kconfig` open option wants the *contents*
    /// ([`KernelConfig::contents`]), not this path; without it libbpf reads the same default
    /// locations itself.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The decompressed config text.
    pub fn contents(&self) -> &str {
        &self.text
    }

    /// The raw value of an option (`y`, `m`, `250`, `"string"` with quotes), None if unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.options.get(name).map(String::as_str)
    }

    /// The value of an option, classified.
    pub fn value(&self, name: &str) -> KconfigValue<'_> {
        match self.get(name) {
            None | Some("n") => KconfigValue::NotSet,
            Some("y") => KconfigValue::BuiltIn,
            Some("m") => KconfigValue::Module,
            Some(other) => KconfigValue::Other(other),
        }
    }

    /// True for `=y` and `=m`.
    pub fn is_enabled(&self, name: &str) -> bool {
        matches!(
            self.value(name),
            KconfigValue::BuiltIn | KconfigValue::Module
        )
    }

    /// The options of `required` that are neither `y` nor `m`, in the order given.
    pub fn missing<'a>(&self, required: &[&'a str]) -> Vec<&'a str> {
        required
            .iter()
            .copied()
            .filter(|o| !self.is_enabled(o))
            .collect()
    }

    /// [`KernelConfig::missing`] of [`REQUIRED_OPTIONS`].
    pub fn missing_required(&self) -> Vec<&'static str> {
        self.missing(REQUIRED_OPTIONS)
    }

    /// Number of options set.
    pub fn len(&self) -> usize {
        self.options.len()
    }

    /// True if no option is set.
    pub fn is_empty(&self) -> bool {
        self.options.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const TEXT: &str = "#\n# Automatically generated\n#\nCONFIG_BPF=y\nCONFIG_BPF_SYSCALL=y\n\
        CONFIG_NF=m\n# CONFIG_BPF_EVENTS is not set\nCONFIG_LOCALVERSION=\"-x=y\"\nCONFIG_HZ=250\nCONFIG_OFF=n\n";

    #[test]
    fn values_and_missing_options() {
        let c = KernelConfig::parse(TEXT, "t");
        assert_eq!(c.value("CONFIG_BPF"), KconfigValue::BuiltIn);
        assert_eq!(c.value("CONFIG_NF"), KconfigValue::Module);
        assert_eq!(c.value("CONFIG_BPF_EVENTS"), KconfigValue::NotSet);
        assert_eq!(c.value("CONFIG_OFF"), KconfigValue::NotSet);
        assert_eq!(c.get("CONFIG_LOCALVERSION"), Some("\"-x=y\""));
        assert_eq!(c.value("CONFIG_HZ"), KconfigValue::Other("250"));
        assert_eq!(c.missing_required(), ["CONFIG_BPF_EVENTS"]);
        assert_eq!(c.len(), 6);
    }

    #[test]
    fn gzip_and_plain_files_read_alike() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("config");
        std::fs::write(&plain, TEXT).unwrap();
        let gz = dir.path().join("config.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(TEXT.as_bytes()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let a = KernelConfig::from_file(&plain).unwrap();
        let b = KernelConfig::from_file(&gz).unwrap();
        assert_eq!(a.contents(), b.contents());
        assert_eq!(b.path(), gz);
        let err = KernelConfig::from_file(dir.path().join("absent")).unwrap_err();
        assert!(matches!(err, KconfigError::Read { ref path, .. } if path.ends_with("absent")));
    }

    #[test]
    fn running_kernel_config_has_bpf_syscall() {
        // This machine exposes /proc/config.gz (the tracer's requirements assume a BPF kernel).
        if !Path::new(PROC_CONFIG_GZ).exists() && std::env::var_os(KCONFIG_ENV).is_none() {
            eprintln!("skipping: no {PROC_CONFIG_GZ}");
            return;
        }
        let c = KernelConfig::detect("unused-release").unwrap();
        assert!(c.is_enabled("CONFIG_BPF_SYSCALL"), "{}", c.path().display());
    }
}
