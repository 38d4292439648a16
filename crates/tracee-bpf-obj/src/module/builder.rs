//! [`ModuleBuilder`]: libbpfgo's `NewModuleArgs` (object from a path or bytes, object name,
//! custom BTF path, kconfig path, kernel log level) plus per-program load settings.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{CStr, CString};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Arc;

use libbpf_rs::{AsRawLibbpf, OpenObject};

use super::attach::{likely_load_cause, AttachKind};
use super::caps::{self, Capability};
use super::error::{
    errno_of, verdict_of, verifier_log_file_name, Errno, ModuleError, Result, VERIFIER_LOG_DIR_ENV,
};
use super::libbpf_log;
use super::module::{Module, SkippedProgram};

/// How to build a [`Module`]: where the object comes from and how libbpf should open and
/// load it. The fields mirror libbpfgo's `NewModuleArgs`.
///
/// ```no_run
/// use tracee_bpf_obj::module::ModuleBuilder;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let module = ModuleBuilder::from_path("probe.bpf.o")
///     .btf_custom_path("/tmp/private/vmlinux.btf") // e.g. what BtfResolver returned
///     .kconfig_path("/proc/config.gz")
///     .optional_program("trace_fentry")            // fall back if the kernel refuses it
///     .load()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ModuleBuilder {
    source: Source,
    object_name: Option<String>,
    btf_custom_path: Option<PathBuf>,
    kconfig_path: Option<PathBuf>,
    kernel_log_level: u32,
    verifier_log_dir: Option<PathBuf>,
    pin_root_path: Option<PathBuf>,
    autoload: BTreeMap<String, bool>,
    optional: BTreeSet<String>,
    max_entries: BTreeMap<String, u32>,
}

#[derive(Debug, Clone)]
enum Source {
    Path(PathBuf),
    Bytes(Arc<[u8]>),
}

impl ModuleBuilder {
    /// Open the object file at `path` (read when [`open`](Self::open) runs). The object name
    /// defaults to the file name up to its first dot, as libbpf does.
    pub fn from_path(path: impl Into<PathBuf>) -> Self {
        Self::new(Source::Path(path.into()))
    }

    /// Open an object held in memory, e.g. `include_bytes!` of a committed object. Set an
    /// [`object_name`](Self::object_name); without one it is `"bpf_object"`.
    pub fn from_bytes(bytes: impl Into<Arc<[u8]>>) -> Self {
        Self::new(Source::Bytes(bytes.into()))
    }

    fn new(source: Source) -> Self {
        Self {
            source,
            object_name: None,
            btf_custom_path: None,
            kconfig_path: None,
            kernel_log_level: 0,
            verifier_log_dir: None,
            pin_root_path: None,
            autoload: BTreeMap::new(),
            optional: BTreeSet::new(),
            max_entries: BTreeMap::new(),
        }
    }

    /// The object's name (libbpf prefixes internal maps such as `.rodata` with it).
    pub fn object_name(mut self, name: impl Into<String>) -> Self {
        self.object_name = Some(name.into());
        self
    }

    /// BTF of the running kernel to relocate CO-RE accesses against, for kernels without
    /// `/sys/kernel/btf/vmlinux` (what `BtfResolver` returns). Without it libbpf uses sysfs.
    pub fn btf_custom_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.btf_custom_path = Some(path.into());
        self
    }

    /// Kernel config for `extern ... __kconfig` variables: a plain or gzip-compressed file
    /// (what `KernelConfig` found). libbpf's option takes the *contents*, so the file is read
    /// here; without it libbpf looks in `/boot/config-$(uname -r)` and `/proc/config.gz`.
    pub fn kconfig_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.kconfig_path = Some(path.into());
        self
    }

    /// Verifier log level for every program (0: log only on failure, 1: basic, 2: verbose,
    /// 4: stats). With a level above 0 libbpf logs successful loads at debug level too.
    pub fn kernel_log_level(mut self, level: u32) -> Self {
        self.kernel_log_level = level;
        self
    }

    /// Save the full verifier log of a rejected program in `dir` (as
    /// `OBJECT.PROGRAM.verifier.log`; the error names the file). Without it the directory
    /// named by the `TRACEE_BPF_LOG` environment variable ([`VERIFIER_LOG_DIR_ENV`]) is used,
    /// if set; otherwise the log is only in the error
    /// ([`ModuleError::verifier_log`]).
    pub fn verifier_log_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.verifier_log_dir = Some(dir.into());
        self
    }

    /// bpffs directory for maps declared with `LIBBPF_PIN_BY_NAME` (default `/sys/fs/bpf`).
    pub fn pin_root_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.pin_root_path = Some(path.into());
        self
    }

    /// Load (`true`) or skip (`false`) a program, overriding its section's default (sections
    /// starting with `?` default to not loaded). Unknown names fail in [`open`](Self::open).
    pub fn autoload(mut self, program: impl Into<String>, load: bool) -> Self {
        self.autoload.insert(program.into(), load);
        self
    }

    /// Load `program` if the kernel accepts it; if the kernel refuses it, load the object
    /// without it. The refusal is kept ([`Module::skipped_programs`]) and attaching the
    /// program later returns it as a [`ModuleError::Attach`] at the load stage. This is how
    /// a caller gets Tracee-style fallbacks (fentry → kprobe → tracepoint) from one object.
    /// Implies `autoload(program, true)`.
    pub fn optional_program(mut self, program: impl Into<String>) -> Self {
        let program = program.into();
        self.autoload.insert(program.clone(), true);
        self.optional.insert(program);
        self
    }

    /// Override a map's `max_entries` before load (e.g. ring-buffer size).
    pub fn map_max_entries(mut self, map: impl Into<String>, max_entries: u32) -> Self {
        self.max_entries.insert(map.into(), max_entries);
        self
    }

    /// Open the object (parse ELF, BTF, maps and programs; nothing reaches the kernel yet).
    pub fn open(self) -> Result<OpenModule> {
        let bytes = match &self.source {
            Source::Bytes(b) => b.clone(),
            Source::Path(p) => {
                Arc::from(std::fs::read(p).map_err(|source| ModuleError::ReadFile {
                    what: "BPF object",
                    path: p.clone(),
                    source,
                })?)
            }
        };
        let name = self.effective_name();
        let kconfig = match &self.kconfig_path {
            Some(path) => Some(read_kconfig(path)?),
            None => None,
        };
        let open = OpenModule {
            builder: self,
            bytes,
            name,
            kconfig,
            object: None,
        };
        open.reopen()
    }

    /// [`open`](Self::open) then [`OpenModule::load`].
    pub fn load(self) -> Result<Module> {
        self.open()?.load()
    }

    fn effective_name(&self) -> String {
        if let Some(n) = &self.object_name {
            return n.clone();
        }
        match &self.source {
            Source::Path(p) => p
                .file_name()
                .map(|f| f.to_string_lossy())
                .and_then(|f| f.split('.').next().map(str::to_string))
                .filter(|f| !f.is_empty())
                .unwrap_or_else(|| "bpf_object".to_string()),
            Source::Bytes(_) => "bpf_object".to_string(),
        }
    }
}

/// Read a kernel config file, decompressing gzip (`/proc/config.gz`).
fn read_kconfig(path: &Path) -> Result<CString> {
    let err = |source| ModuleError::ReadFile {
        what: "kconfig file",
        path: path.to_path_buf(),
        source,
    };
    let raw = std::fs::read(path).map_err(err)?;
    let text = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        // Kernel configs are ~300 KB; cap to refuse a decompression bomb.
        flate2::read::GzDecoder::new(raw.as_slice())
            .take(64 << 20)
            .read_to_end(&mut out)
            .map_err(err)?;
        out
    } else {
        raw
    };
    // libbpf parses the string line by line; a NUL would silently truncate it.
    CString::new(text).map_err(|_| ModuleError::InvalidString {
        what: "kconfig file (NUL byte inside)",
        value: path.display().to_string(),
    })
}

pub(crate) fn cstring(what: &'static str, value: &str) -> Result<CString> {
    CString::new(value).map_err(|_| ModuleError::InvalidString {
        what,
        value: value.to_string(),
    })
}

fn path_cstring(what: &'static str, path: &Path) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes()).map_err(|_| ModuleError::InvalidString {
        what,
        value: path.display().to_string(),
    })
}

/// An opened, not yet loaded object: adjust programs and maps, then [`load`](Self::load).
#[derive(Debug)]
pub struct OpenModule {
    builder: ModuleBuilder,
    bytes: Arc<[u8]>,
    name: String,
    kconfig: Option<CString>,
    object: Option<OpenObject>,
}

/// A program of an opened object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramSpec {
    /// The program's (function) name.
    pub name: String,
    /// Its ELF section, e.g. `tp_btf/sched_process_exec`.
    pub section: String,
    /// The attach kind its section implies, if it is one this crate attaches.
    pub kind: Option<AttachKind>,
    /// Whether it will be loaded.
    pub autoload: bool,
}

impl OpenModule {
    /// Open (again) from the kept bytes with the builder's settings.
    fn reopen(mut self) -> Result<Self> {
        let b = &self.builder;
        let name_c = cstring("object name", &self.name)?;
        let btf_c = b
            .btf_custom_path
            .as_deref()
            .map(|p| path_cstring("BTF path", p))
            .transpose()?;
        let pin_c = b
            .pin_root_path
            .as_deref()
            .map(|p| path_cstring("pin root path", p))
            .transpose()?;
        let opts = libbpf_sys::bpf_object_open_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_object_open_opts>() as libbpf_sys::size_t,
            object_name: name_c.as_ptr(),
            btf_custom_path: btf_c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
            pin_root_path: pin_c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
            kconfig: self
                .kconfig
                .as_ref()
                .map_or(std::ptr::null(), |c| c.as_ptr()),
            kernel_log_level: b.kernel_log_level,
            ..Default::default()
        };
        self.object = None;
        let bytes = self.bytes.clone();
        let (ptr, lines) = libbpf_log::capture(|| {
            // SAFETY: the buffer and the option strings outlive the call; libbpf copies what
            // it keeps (strings are strdup'ed; the ELF buffer is kept alive in self.bytes).
            unsafe {
                libbpf_sys::bpf_object__open_mem(
                    bytes.as_ptr().cast(),
                    bytes.len() as libbpf_sys::size_t,
                    &opts,
                )
            }
        });
        // SAFETY: libbpf_get_error accepts any pointer libbpf returned.
        let err = unsafe { libbpf_sys::libbpf_get_error(ptr as *const _) };
        let ptr = match NonNull::new(ptr) {
            Some(p) if err == 0 => p,
            _ => {
                return Err(ModuleError::Open {
                    object: self.name.clone(),
                    errno: errno_of(if err == 0 {
                        -(libc::EINVAL as i64)
                    } else {
                        err
                    }),
                    libbpf_log: lines,
                })
            }
        };
        // SAFETY: freshly opened, not loaded; ownership moves into OpenObject.
        self.object = Some(unsafe { OpenObject::from_ptr(ptr) });
        self.apply_settings()?;
        Ok(self)
    }

    fn raw(&self) -> *mut libbpf_sys::bpf_object {
        self.object
            .as_ref()
            .map_or(std::ptr::null_mut(), |o| o.as_libbpf_object().as_ptr())
    }

    fn find_prog(&self, name: &str) -> Result<*mut libbpf_sys::bpf_program> {
        let c = cstring("program name", name)?;
        // SAFETY: valid object pointer and C string.
        let p = unsafe { libbpf_sys::bpf_object__find_program_by_name(self.raw(), c.as_ptr()) };
        if p.is_null() {
            return Err(ModuleError::ProgramNotFound {
                object: self.name.clone(),
                program: name.to_string(),
                available: self.programs().into_iter().map(|p| p.name).collect(),
            });
        }
        Ok(p)
    }

    fn find_map(&self, name: &str) -> Result<*mut libbpf_sys::bpf_map> {
        let c = cstring("map name", name)?;
        // SAFETY: valid object pointer and C string.
        let m = unsafe { libbpf_sys::bpf_object__find_map_by_name(self.raw(), c.as_ptr()) };
        if m.is_null() {
            return Err(ModuleError::MapNotFound {
                object: self.name.clone(),
                map: name.to_string(),
                available: self.map_names(),
            });
        }
        Ok(m)
    }

    fn apply_settings(&mut self) -> Result<()> {
        let autoload: Vec<(String, bool)> = self
            .builder
            .autoload
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        for (name, load) in autoload {
            self.set_autoload(&name, load)?;
        }
        let sizes: Vec<(String, u32)> = self
            .builder
            .max_entries
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        for (name, n) in sizes {
            self.set_map_max_entries(&name, n)?;
        }
        Ok(())
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The object's programs, in ELF order.
    pub fn programs(&self) -> Vec<ProgramSpec> {
        let mut out = Vec::new();
        let mut p = std::ptr::null_mut();
        loop {
            // SAFETY: iterating a valid object; `p` is null or a program of it.
            p = unsafe { libbpf_sys::bpf_object__next_program(self.raw(), p) };
            if p.is_null() {
                break;
            }
            let (name, section) = unsafe { prog_name_section(p) };
            out.push(ProgramSpec {
                kind: AttachKind::from_section(&section),
                name,
                section,
                // SAFETY: valid program.
                autoload: unsafe { libbpf_sys::bpf_program__autoload(p) },
            });
        }
        out
    }

    /// The object's map names (including internal ones such as `NAME.rodata`).
    pub fn map_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut m = std::ptr::null_mut();
        loop {
            // SAFETY: iterating a valid object.
            m = unsafe { libbpf_sys::bpf_object__next_map(self.raw(), m) };
            if m.is_null() {
                break;
            }
            // SAFETY: valid map; libbpf returns a NUL-terminated name.
            out.push(unsafe { cstr_lossy(libbpf_sys::bpf_map__name(m)) });
        }
        out
    }

    /// Load (`true`) or skip (`false`) a program.
    pub fn set_autoload(&mut self, program: &str, load: bool) -> Result<()> {
        let p = self.find_prog(program)?;
        // SAFETY: valid, not yet loaded program.
        unsafe { libbpf_sys::bpf_program__set_autoload(p, load) };
        self.builder.autoload.insert(program.to_string(), load);
        Ok(())
    }

    /// Override a map's `max_entries`.
    pub fn set_map_max_entries(&mut self, map: &str, max_entries: u32) -> Result<()> {
        let m = self.find_map(map)?;
        // SAFETY: valid, not yet created map.
        let ret = unsafe { libbpf_sys::bpf_map__set_max_entries(m, max_entries) };
        if ret < 0 {
            return Err(ModuleError::MapOp {
                map: map.to_string(),
                op: "set_max_entries",
                errno: errno_of(ret as i64),
            });
        }
        self.builder
            .max_entries
            .insert(map.to_string(), max_entries);
        Ok(())
    }

    /// Load maps and programs into the kernel. A failure names the failing program and
    /// carries its verifier log; an [optional](ModuleBuilder::optional_program) program the
    /// kernel refuses is left out and the object is loaded again without it.
    pub fn load(mut self) -> Result<Module> {
        let mut skipped: BTreeMap<String, SkippedProgram> = BTreeMap::new();
        loop {
            let raw = self.raw();
            // SAFETY: a valid, opened, not yet loaded object.
            let (ret, lines) = libbpf_log::capture(|| unsafe { libbpf_sys::bpf_object__load(raw) });
            if ret == 0 {
                let object = self.object.take().map(|o| {
                    // SAFETY: the object loaded successfully; ownership moves into Object.
                    unsafe { libbpf_rs::Object::from_ptr(o.take_ptr()) }
                });
                let Some(object) = object else {
                    unreachable!("OpenModule always holds an object between open and load")
                };
                return Ok(Module::new(
                    object,
                    self.name.clone(),
                    self.bytes.clone(),
                    skipped,
                ));
            }
            let errno = errno_of(ret as i64);
            let failing = libbpf_log::failing(&lines);
            if let Some(e) = self.missing_capability(errno, failing.as_ref(), &lines) {
                // Not the program's fault: skipping optional programs would not help.
                return Err(e);
            }
            let program = match failing {
                Some(libbpf_log::Failing::Program(p)) => Some(p),
                _ => None,
            };
            let section = program.as_deref().and_then(|p| {
                self.programs()
                    .into_iter()
                    .find(|s| s.name == p)
                    .map(|s| s.section)
            });
            let kind = section.as_deref().and_then(AttachKind::from_section);
            let verifier_log = program
                .as_deref()
                .map(|p| libbpf_log::verifier_log(&lines, p))
                .unwrap_or_default();
            let cause = likely_load_cause(kind, errno, &verifier_log);
            match program {
                Some(p) if self.builder.optional.contains(&p) && !skipped.contains_key(&p) => {
                    log::warn!(
                        "object {}: optional program {p} refused by the kernel ({errno}); loading without it",
                        self.name
                    );
                    skipped.insert(
                        p.clone(),
                        SkippedProgram {
                            errno,
                            cause: cause.unwrap_or_else(|| "see the verifier log".to_string()),
                            verifier_log,
                            libbpf_log: libbpf_log::without_verifier_logs(lines),
                        },
                    );
                    self.builder.autoload.insert(p, false);
                    self = self.reopen()?;
                }
                Some(program) if is_verdict(kind, errno, &verifier_log) => {
                    let verdict = verdict_of(&verifier_log).unwrap_or_default();
                    return Err(self.rejected(program, verdict, errno, verifier_log));
                }
                program => {
                    return Err(ModuleError::Load {
                        object: self.name.clone(),
                        program,
                        errno,
                        cause,
                        verifier_log,
                        libbpf_log: libbpf_log::without_verifier_logs(lines),
                    })
                }
            }
        }
    }
}

impl OpenModule {
    /// A [`ModuleError::MissingCapability`] if the load failed with EPERM at a map or program
    /// the calling thread lacks a capability for.
    fn missing_capability(
        &self,
        errno: Errno,
        failing: Option<&libbpf_log::Failing>,
        lines: &[String],
    ) -> Option<ModuleError> {
        if errno.0 != libc::EPERM {
            return None;
        }
        let (refused, needed) = match failing {
            Some(libbpf_log::Failing::Program(p)) => {
                let ty = self.find_prog(p).ok().map(|p| {
                    // SAFETY: a program of the (still open) object.
                    unsafe { libbpf_sys::bpf_program__type(p) }
                });
                let needed = ty.map_or(&[Capability::Bpf][..], caps::needed_for_program);
                (format!("to load program {p}"), needed)
            }
            Some(libbpf_log::Failing::Map(m)) => {
                (format!("to create map {m}"), &[Capability::Bpf][..])
            }
            Some(libbpf_log::Failing::Probe) => (
                "to load libbpf's trivial probe program".to_string(),
                &[Capability::Bpf][..],
            ),
            None => ("a bpf() call".to_string(), &[Capability::Bpf][..]),
        };
        if caps::missing_capabilities(needed).is_empty() {
            return None;
        }
        Some(ModuleError::MissingCapability {
            object: self.name.clone(),
            refused,
            // What the whole object needs, so the advice is complete in one go.
            missing: caps::missing_capabilities(&self.needed_capabilities()),
            user_namespace: caps::in_user_namespace(),
            errno,
            libbpf_log: lines.to_vec(),
        })
    }

    /// The capabilities loading this object's autoloaded programs needs.
    fn needed_capabilities(&self) -> Vec<Capability> {
        let mut needed = vec![Capability::Bpf];
        let mut p = std::ptr::null_mut();
        loop {
            // SAFETY: iterating a valid object.
            p = unsafe { libbpf_sys::bpf_object__next_program(self.raw(), p) };
            if p.is_null() {
                break;
            }
            // SAFETY: a valid program of the object.
            if unsafe { libbpf_sys::bpf_program__autoload(p) } {
                let ty = unsafe { libbpf_sys::bpf_program__type(p) };
                needed.extend_from_slice(caps::needed_for_program(ty));
            }
        }
        needed.sort();
        needed.dedup();
        needed
    }

    /// A [`ModuleError::VerifierRejected`], saving the log where the builder or
    /// [`VERIFIER_LOG_DIR_ENV`] says.
    fn rejected(
        &self,
        program: String,
        verdict: String,
        errno: Errno,
        verifier_log: String,
    ) -> ModuleError {
        let dir = self
            .builder
            .verifier_log_dir
            .clone()
            .or_else(|| std::env::var_os(VERIFIER_LOG_DIR_ENV).map(PathBuf::from))
            .filter(|d| !d.as_os_str().is_empty());
        let log_file = dir.and_then(|dir| {
            let file = dir.join(verifier_log_file_name(&self.name, &program));
            let written = std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(&file, format!("{verifier_log}\n")));
            match written {
                Ok(()) => Some(file),
                Err(e) => {
                    log::warn!("cannot save the verifier log to {}: {e}", file.display());
                    None
                }
            }
        });
        ModuleError::VerifierRejected {
            object: self.name.clone(),
            program,
            verdict,
            errno,
            verifier_log,
            log_file,
        }
    }
}

/// Whether a failed load with this verifier log is the verifier's verdict on the program. Not
/// when libbpf poisoned an unresolvable CO-RE access (the kernel BTF is at fault), nor a
/// trampoline program the kernel cannot attach (its cause explains that better).
fn is_verdict(kind: Option<AttachKind>, errno: Errno, verifier_log: &str) -> bool {
    let trampoline = matches!(
        kind,
        Some(AttachKind::Fentry | AttachKind::Fexit | AttachKind::Lsm)
    ) && matches!(
        errno.0,
        libc::EPERM | libc::EOPNOTSUPP | super::error::ENOTSUPP
    );
    verdict_of(verifier_log).is_some()
        && !trampoline
        && !verifier_log.contains("failed to resolve CO-RE relocation")
}

/// # Safety
/// `p` must be a valid program.
pub(crate) unsafe fn prog_name_section(p: *const libbpf_sys::bpf_program) -> (String, String) {
    unsafe {
        (
            cstr_lossy(libbpf_sys::bpf_program__name(p)),
            cstr_lossy(libbpf_sys::bpf_program__section_name(p)),
        )
    }
}

/// # Safety
/// `s` must be null or a NUL-terminated string.
pub(crate) unsafe fn cstr_lossy(s: *const libc::c_char) -> String {
    if s.is_null() {
        return String::new();
    }
    unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned()
}
