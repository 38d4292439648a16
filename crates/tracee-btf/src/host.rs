//! Facts about the running host that pick a BTF: `/etc/os-release`, `uname` and btfhub's
//! architecture names.
//!
//! btfhub-archive files live at `ID/VERSION_ID/ARCH/RELEASE.btf.tar.xz`, where `ID` and
//! `VERSION_ID` come from os-release and `RELEASE` is `uname -r`.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::io;
use std::path::{Path, PathBuf};

use crate::bundle::{BtfKey, KeyError};

/// Environment variable naming an os-release file to read instead of `/etc/os-release`.
pub const OSRELEASE_ENV: &str = "TRACEE_OSRELEASE_FILE";
/// libbpfgo's name for the same override, honoured after [`OSRELEASE_ENV`].
pub const LIBBPFGO_OSRELEASE_ENV: &str = "LIBBPFGO_OSRELEASE_FILE";
/// Where os-release lives when no override is set, in the order the os-release(5) spec gives.
pub const OS_RELEASE_PATHS: [&str; 2] = ["/etc/os-release", "/usr/lib/os-release"];

/// os-release files are a few hundred bytes; anything this large is not one.
const MAX_OS_RELEASE: u64 = 1 << 20;

/// Why host facts could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// An os-release file could not be read.
    #[error("cannot read os-release file {}: {source}", path.display())]
    OsReleaseRead {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// An os-release file is larger than 1 MiB.
    #[error("os-release file {} is larger than 1 MiB", path.display())]
    OsReleaseTooLarge {
        /// The file.
        path: PathBuf,
    },
    /// None of the default os-release locations exists.
    #[error("no os-release file found (tried {tried:?}; set {OSRELEASE_ENV} to override)")]
    OsReleaseNotFound {
        /// The paths tried.
        tried: Vec<PathBuf>,
    },
    /// os-release lacks a field the BTF key needs.
    #[error("os-release{} has no {field}", path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    MissingField {
        /// The file, if it came from one.
        path: Option<PathBuf>,
        /// The missing key (`ID`, `VERSION_ID`).
        field: &'static str,
    },
    /// `uname(2)` failed.
    #[error("uname failed: {0}")]
    Uname(#[source] io::Error),
    /// The machine name has no btfhub architecture.
    #[error("machine {machine:?} has no btfhub architecture (known: x86_64, arm64)")]
    UnknownArch {
        /// `uname -m` or the override.
        machine: String,
    },
    /// A value cannot be part of a BTF key (path separators, `..`, odd characters).
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Parsed os-release(5): `KEY=value` lines, values optionally quoted.
///
/// ```
/// use tracee_btf::host::OsRelease;
/// let os = OsRelease::parse("# comment\nID=centos\nVERSION_ID=\"8\"\nNAME='CentOS Linux'\n");
/// assert_eq!(os.id(), Some("centos"));
/// assert_eq!(os.version_id(), Some("8"));
/// assert_eq!(os.name(), Some("CentOS Linux"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    path: Option<PathBuf>,
    fields: BTreeMap<String, String>,
}

impl OsRelease {
    /// Parses os-release text. Comments, blank lines and malformed lines are skipped, as the
    /// spec asks of readers; the value is everything after the first `=`.
    pub fn parse(text: &str) -> OsRelease {
        let mut fields = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                log::debug!("os-release line {}: no '=', skipped", n + 1);
                continue;
            };
            let key = key.trim();
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                log::debug!("os-release line {}: bad key {key:?}, skipped", n + 1);
                continue;
            }
            fields.insert(key.to_string(), unquote(value.trim()));
        }
        OsRelease { path: None, fields }
    }

    /// Reads and parses an os-release file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<OsRelease, HostError> {
        let path = path.as_ref();
        let text = read_small(path)?;
        let mut os = OsRelease::parse(&text);
        os.path = Some(path.to_path_buf());
        Ok(os)
    }

    /// Reads the host's os-release: `$TRACEE_OSRELEASE_FILE`, else `$LIBBPFGO_OSRELEASE_FILE`,
    /// else `/etc/os-release`, else `/usr/lib/os-release`. A file named by a variable must
    /// exist: an override that silently falls back would pick the wrong kernel's BTF.
    pub fn detect() -> Result<OsRelease, HostError> {
        for var in [OSRELEASE_ENV, LIBBPFGO_OSRELEASE_ENV] {
            if let Some(path) = std::env::var_os(var).filter(|v| !v.is_empty()) {
                log::debug!("os-release from ${var}");
                return OsRelease::from_file(PathBuf::from(path));
            }
        }
        let mut tried = Vec::new();
        for path in OS_RELEASE_PATHS {
            match OsRelease::from_file(path) {
                Err(HostError::OsReleaseRead { source, path })
                    if source.kind() == io::ErrorKind::NotFound =>
                {
                    tried.push(path)
                }
                other => return other,
            }
        }
        Err(HostError::OsReleaseNotFound { tried })
    }

    /// The file this was read from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Any field, unquoted.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }

    /// `ID`, e.g. `ubuntu`, `centos`.
    pub fn id(&self) -> Option<&str> {
        self.get("ID")
    }

    /// `VERSION_ID`, e.g. `20.04`, `8`.
    pub fn version_id(&self) -> Option<&str> {
        self.get("VERSION_ID")
    }

    /// `NAME`, e.g. `Ubuntu`.
    pub fn name(&self) -> Option<&str> {
        self.get("NAME")
    }

    /// `VERSION_CODENAME`, e.g. `focal`.
    pub fn version_codename(&self) -> Option<&str> {
        self.get("VERSION_CODENAME")
    }

    /// `PRETTY_NAME`, e.g. `Ubuntu 20.04.6 LTS`.
    pub fn pretty_name(&self) -> Option<&str> {
        self.get("PRETTY_NAME")
    }

    /// All fields in key order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Removes shell-style quotes: `"..."` with `\"`, `\\`, `\$`, `` \` `` escapes, or `'...'`
/// verbatim. Text after the closing quote is dropped; an unclosed quote keeps the rest.
fn unquote(v: &str) -> String {
    let mut chars = v.chars();
    match chars.next() {
        Some('\'') => chars.take_while(|&c| c != '\'').collect(),
        Some('"') => {
            let mut out = String::with_capacity(v.len());
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some(e @ ('"' | '\\' | '$' | '`')) => out.push(e),
                        Some(other) => {
                            out.push('\\');
                            out.push(other);
                        }
                        None => out.push('\\'),
                    },
                    c => out.push(c),
                }
            }
            out
        }
        _ => v.to_string(),
    }
}

fn read_small(path: &Path) -> Result<String, HostError> {
    use std::io::Read;
    let err = |source| HostError::OsReleaseRead {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(err)?;
    let mut buf = Vec::new();
    file.take(MAX_OS_RELEASE + 1)
        .read_to_end(&mut buf)
        .map_err(err)?;
    if buf.len() as u64 > MAX_OS_RELEASE {
        return Err(HostError::OsReleaseTooLarge {
            path: path.to_path_buf(),
        });
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// `uname -r` and `uname -m`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uname {
    /// Kernel release, e.g. `5.4.0-1009-aws`.
    pub release: String,
    /// Machine, e.g. `x86_64`, `aarch64`.
    pub machine: String,
}

impl Uname {
    /// Asks the kernel.
    pub fn current() -> Result<Uname, HostError> {
        // SAFETY: utsname is plain old data; uname fills it and NUL-terminates every field.
        let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
        if unsafe { libc::uname(&mut uts) } != 0 {
            return Err(HostError::Uname(io::Error::last_os_error()));
        }
        let field = |f: &[libc::c_char]| {
            // SAFETY: the kernel NUL-terminates each field within its fixed-size array, and the
            // array was zeroed first, so a terminator exists inside `f`.
            unsafe { CStr::from_ptr(f.as_ptr()) }
                .to_string_lossy()
                .into_owned()
        };
        Ok(Uname {
            release: field(&uts.release),
            machine: field(&uts.machine),
        })
    }
}

/// btfhub's directory name for a machine: `x86_64` (also from `amd64`) or `arm64` (also from
/// `aarch64`). None for architectures btfhub does not carry.
///
/// ```
/// assert_eq!(tracee_btf::host::btfhub_arch("aarch64"), Some("arm64"));
/// assert_eq!(tracee_btf::host::btfhub_arch("x86_64"), Some("x86_64"));
/// assert_eq!(tracee_btf::host::btfhub_arch("riscv64"), None);
/// ```
pub fn btfhub_arch(machine: &str) -> Option<&'static str> {
    match machine {
        "x86_64" | "amd64" => Some("x86_64"),
        "aarch64" | "arm64" | "aarch64_be" => Some("arm64"),
        _ => None,
    }
}

/// Directory names a btfhub-layout tree may use for a btfhub arch, preferred first: some
/// distributions' trees (centos, kylin) are filed under `aarch64` rather than `arm64`.
pub fn arch_dir_names(arch: &str) -> &'static [&'static str] {
    match btfhub_arch(arch) {
        Some("x86_64") => &["x86_64", "amd64"],
        Some("arm64") => &["arm64", "aarch64"],
        _ => &[],
    }
}

/// Everything that names the running kernel's BTF: os-release plus uname.
///
/// ```
/// use tracee_btf::host::{OsInfo, OsRelease};
/// let os = OsInfo::new(OsRelease::parse("ID=centos\nVERSION_ID=8\n"), "4.18.0-147.5.1.el8_1.aarch64", "aarch64");
/// assert_eq!(os.btf_key()?.to_string(), "centos/8/arm64/4.18.0-147.5.1.el8_1.aarch64");
/// # Ok::<(), tracee_btf::host::HostError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsInfo {
    /// The parsed os-release.
    pub os_release: OsRelease,
    /// `uname -r` or its override.
    pub kernel_release: String,
    /// `uname -m` or its override.
    pub machine: String,
}

impl OsInfo {
    /// Combines explicit facts; used to describe another host (tests, bundle tools).
    pub fn new(
        os_release: OsRelease,
        kernel_release: impl Into<String>,
        machine: impl Into<String>,
    ) -> OsInfo {
        OsInfo {
            os_release,
            kernel_release: kernel_release.into(),
            machine: machine.into(),
        }
    }

    /// The running host: [`OsRelease::detect`] plus [`Uname::current`].
    pub fn detect() -> Result<OsInfo, HostError> {
        let os_release = OsRelease::detect()?;
        let uname = Uname::current()?;
        Ok(OsInfo::new(os_release, uname.release, uname.machine))
    }

    /// os-release `ID`.
    pub fn id(&self) -> Option<&str> {
        self.os_release.id()
    }

    /// os-release `VERSION_ID`.
    pub fn version_id(&self) -> Option<&str> {
        self.os_release.version_id()
    }

    /// btfhub architecture of [`OsInfo::machine`].
    pub fn arch(&self) -> Option<&'static str> {
        btfhub_arch(&self.machine)
    }

    /// The btfhub key `ID/VERSION_ID/ARCH/RELEASE` of this host's kernel.
    pub fn btf_key(&self) -> Result<BtfKey, HostError> {
        let path = self.os_release.path().map(Path::to_path_buf);
        let id = self.id().ok_or(HostError::MissingField {
            path: path.clone(),
            field: "ID",
        })?;
        let version_id = self.version_id().ok_or(HostError::MissingField {
            path,
            field: "VERSION_ID",
        })?;
        let arch = self.arch().ok_or_else(|| HostError::UnknownArch {
            machine: self.machine.clone(),
        })?;
        Ok(BtfKey::new(id, version_id, arch, &self.kernel_release)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_quoting_comments_and_equals() {
        let os = OsRelease::parse(concat!(
            "# a comment\n",
            "\n",
            "NAME=\"CentOS Linux\"\n",
            "  ID=centos  \n",
            "VERSION_ID='8'\n",
            "VERSION_CODENAME=\n",
            "ANSI_COLOR=\"0;31\"\n",
            "HOME_URL=\"https://x/?a=b&c=d\"\n",
            "ESCAPED=\"say \\\"hi\\\" \\$HOME \\\\ \\n\"\n",
            "garbage line\n",
            "BAD KEY=1\n",
            "PLAIN=a=b=c\n",
        ));
        assert_eq!(os.name(), Some("CentOS Linux"));
        assert_eq!(os.id(), Some("centos"));
        assert_eq!(os.version_id(), Some("8"));
        assert_eq!(os.version_codename(), Some(""));
        assert_eq!(os.get("HOME_URL"), Some("https://x/?a=b&c=d"));
        assert_eq!(os.get("ESCAPED"), Some("say \"hi\" $HOME \\ \\n"));
        assert_eq!(os.get("PLAIN"), Some("a=b=c"));
        assert_eq!(os.get("BAD KEY"), None);
        assert_eq!(os.fields().count(), 8);
    }

    #[test]
    fn host_os_release_and_uname_are_readable() {
        // This machine has both; the values must agree with what the kernel and file say.
        let uname = Uname::current().unwrap();
        let proc_release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        assert_eq!(uname.release, proc_release.trim());
        assert!(!uname.machine.is_empty());
        let os = OsRelease::from_file("/etc/os-release").unwrap();
        assert!(os.id().is_some_and(|id| !id.is_empty()));
    }

    #[test]
    fn btf_key_needs_id_version_and_known_arch() {
        let good = OsRelease::parse("ID=ubuntu\nVERSION_ID=\"20.04\"\n");
        let key = OsInfo::new(good.clone(), "5.4.0-1009-aws", "x86_64")
            .btf_key()
            .unwrap();
        assert_eq!(key.to_string(), "ubuntu/20.04/x86_64/5.4.0-1009-aws");
        let no_version = OsRelease::parse("ID=ubuntu\n");
        assert!(matches!(
            OsInfo::new(no_version, "r", "x86_64").btf_key(),
            Err(HostError::MissingField {
                field: "VERSION_ID",
                ..
            })
        ));
        assert!(matches!(
            OsInfo::new(good.clone(), "r", "s390x").btf_key(),
            Err(HostError::UnknownArch { machine }) if machine == "s390x"
        ));
        assert!(matches!(
            OsInfo::new(good, "../../etc/passwd", "x86_64").btf_key(),
            Err(HostError::Key(KeyError::Invalid {
                field: "RELEASE",
                ..
            }))
        ));
        assert_eq!(arch_dir_names("aarch64"), ["arm64", "aarch64"]);
    }
}
