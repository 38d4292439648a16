//! [`Module`]: a loaded BPF object, its programs, and the links attached from it.

use std::collections::BTreeMap;
use std::os::fd::{BorrowedFd, RawFd};
use std::ptr::NonNull;
use std::sync::Arc;

use libbpf_rs::AsRawLibbpf;

use super::attach::AttachKind;
use super::builder::{cstring, prog_name_section};
use super::error::{last_errno, Errno, ModuleError, Result};

/// A program the kernel refused to load although it was asked for as
/// [optional](super::ModuleBuilder::optional_program); the rest of the object loaded.
#[derive(Debug, Clone)]
pub struct SkippedProgram {
    /// The errno of the refusal.
    pub errno: Errno,
    /// The likely cause in words.
    pub cause: String,
    /// The verifier log, if the verifier ran.
    pub verifier_log: String,
    /// libbpf's messages during the failed load.
    pub libbpf_log: Vec<String>,
}

/// Identifies a link made by one of the `Module::attach_*` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub(crate) usize);

/// An attached program: owns a `bpf_link` (and, for perf_event/kprobe/uprobe links, the
/// perf event fd behind it) and destroys it on drop.
#[derive(Debug)]
pub(crate) struct OwnedLink {
    ptr: NonNull<libbpf_sys::bpf_link>,
    pub(crate) program: String,
    pub(crate) kind: AttachKind,
    pub(crate) target: String,
}

// SAFETY: a bpf_link is a heap object libbpf never touches behind our back; destroying it
// from another thread is fine.
unsafe impl Send for OwnedLink {}
// SAFETY: no method mutates through a shared reference.
unsafe impl Sync for OwnedLink {}

impl OwnedLink {
    /// # Safety
    /// `ptr` must be a valid link returned by a libbpf attach function, owned by the caller.
    pub(crate) unsafe fn new(
        ptr: NonNull<libbpf_sys::bpf_link>,
        program: String,
        kind: AttachKind,
        target: String,
    ) -> Self {
        Self {
            ptr,
            program,
            kind,
            target,
        }
    }
}

impl Drop for OwnedLink {
    fn drop(&mut self) {
        // SAFETY: owned, valid link; destroyed exactly once.
        let ret = unsafe { libbpf_sys::bpf_link__destroy(self.ptr.as_ptr()) };
        if ret < 0 {
            log::warn!(
                "detaching {} ({} {}) failed: {}",
                self.program,
                self.kind,
                self.target,
                Errno(-ret)
            );
        }
    }
}

/// A loaded BPF object: programs (by name), maps ([`Module::map`]), and the links created
/// by the `attach_*` methods. Dropping it (or [`close`](Module::close)) detaches every link
/// and closes every program and map fd. Event-buffer readers hold their own map fds and
/// keep working until stopped.
///
/// `Module` is `Send + Sync`; attaching needs `&mut self`.
pub struct Module {
    // Field order is drop order: links go before the object that owns the programs.
    pub(crate) links: Vec<Option<OwnedLink>>,
    pub(crate) object: libbpf_rs::Object,
    pub(crate) name: String,
    pub(crate) skipped: BTreeMap<String, SkippedProgram>,
    _bytes: Arc<[u8]>,
}

/// A loaded program of a [`Module`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramInfo {
    /// The program's name.
    pub name: String,
    /// Its ELF section.
    pub section: String,
    /// The attach kind its section implies, if one this crate attaches.
    pub kind: Option<AttachKind>,
    /// Whether it is in the kernel (false if autoload was off or it was skipped).
    pub loaded: bool,
    /// The kernel's program id, if loaded.
    pub id: Option<u32>,
}

impl Module {
    pub(crate) fn new(
        object: libbpf_rs::Object,
        name: String,
        bytes: Arc<[u8]>,
        skipped: BTreeMap<String, SkippedProgram>,
    ) -> Self {
        Self {
            links: Vec::new(),
            object,
            name,
            skipped,
            _bytes: bytes,
        }
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn raw(&self) -> *mut libbpf_sys::bpf_object {
        self.object.as_libbpf_object().as_ptr()
    }

    pub(crate) fn find_prog(&self, name: &str) -> Result<*mut libbpf_sys::bpf_program> {
        let c = cstring("program name", name)?;
        // SAFETY: valid object and C string.
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

    /// All programs of the object, loaded or not, in ELF order.
    pub fn programs(&self) -> Vec<ProgramInfo> {
        let mut out = Vec::new();
        let mut p = std::ptr::null_mut();
        loop {
            // SAFETY: iterating a valid object.
            p = unsafe { libbpf_sys::bpf_object__next_program(self.raw(), p) };
            if p.is_null() {
                break;
            }
            out.push(self.info(p));
        }
        out
    }

    /// One program by name.
    pub fn program(&self, name: &str) -> Result<ProgramInfo> {
        Ok(self.info(self.find_prog(name)?))
    }

    fn info(&self, p: *mut libbpf_sys::bpf_program) -> ProgramInfo {
        // SAFETY: `p` is a program of this object.
        let (name, section) = unsafe { prog_name_section(p) };
        let fd = unsafe { libbpf_sys::bpf_program__fd(p) };
        let id = (fd >= 0).then(|| prog_id(fd)).flatten();
        ProgramInfo {
            kind: AttachKind::from_section(&section),
            name,
            section,
            loaded: fd >= 0,
            id,
        }
    }

    /// The program's fd (borrowed from the module), if it is loaded.
    pub fn program_fd(&self, name: &str) -> Result<Option<BorrowedFd<'_>>> {
        let p = self.find_prog(name)?;
        // SAFETY: valid program.
        let fd = unsafe { libbpf_sys::bpf_program__fd(p) };
        // SAFETY: the fd lives as long as the object, which `self` borrows.
        Ok((fd >= 0).then(|| unsafe { BorrowedFd::borrow_raw(fd) }))
    }

    /// Programs that were [optional](super::ModuleBuilder::optional_program) and refused by
    /// the kernel, with why.
    pub fn skipped_programs(&self) -> &BTreeMap<String, SkippedProgram> {
        &self.skipped
    }

    /// Run a program once with `BPF_PROG_TEST_RUN` (raw_tp, syscall, xdp, ... programs) with
    /// `ctx` as its context, returning the program's return value.
    pub fn test_run(&self, program: &str, ctx: Option<&[u8]>) -> Result<u32> {
        self.test_run_opts(program, ctx, None)
    }

    /// [`test_run`](Self::test_run) on a given CPU (`BPF_F_TEST_RUN_ON_CPU`; raw_tp programs).
    pub fn test_run_on_cpu(&self, program: &str, ctx: Option<&[u8]>, cpu: u32) -> Result<u32> {
        self.test_run_opts(program, ctx, Some(cpu))
    }

    fn test_run_opts(&self, program: &str, ctx: Option<&[u8]>, cpu: Option<u32>) -> Result<u32> {
        let fd = self
            .program_fd(program)?
            .ok_or_else(|| self.not_loaded(program))?;
        let mut opts = libbpf_sys::bpf_test_run_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_test_run_opts>() as libbpf_sys::size_t,
            ..Default::default()
        };
        if let Some(cpu) = cpu {
            opts.cpu = cpu;
            opts.flags = libbpf_sys::BPF_F_TEST_RUN_ON_CPU;
        }
        if let Some(ctx) = ctx {
            opts.ctx_in = ctx.as_ptr().cast();
            opts.ctx_size_in = ctx.len() as u32;
        }
        use std::os::fd::AsRawFd;
        // SAFETY: valid program fd; the context buffer outlives the call.
        let ret = unsafe { libbpf_sys::bpf_prog_test_run_opts(fd.as_raw_fd(), &mut opts) };
        if ret < 0 {
            return Err(ModuleError::TestRun {
                program: program.to_string(),
                errno: Errno(-ret),
            });
        }
        Ok(opts.retval)
    }

    pub(crate) fn not_loaded(&self, program: &str) -> ModuleError {
        ModuleError::ProgramNotFound {
            object: self.name.clone(),
            program: format!("{program} (not loaded: autoload was off)"),
            available: self
                .programs()
                .into_iter()
                .filter(|p| p.loaded)
                .map(|p| p.name)
                .collect(),
        }
    }

    pub(crate) fn push_link(&mut self, link: OwnedLink) -> LinkId {
        self.links.push(Some(link));
        LinkId(self.links.len() - 1)
    }

    /// Detach one link. Returns false if it was already detached.
    pub fn detach(&mut self, link: LinkId) -> bool {
        self.links.get_mut(link.0).and_then(Option::take).is_some()
    }

    /// Detach every link (the programs stay loaded).
    pub fn detach_all(&mut self) {
        // Reverse order: the last attached is the first detached, like a stack of hooks.
        while let Some(l) = self.links.pop() {
            drop(l);
        }
    }

    /// Currently attached links: (id, program, attach kind, target).
    pub fn links(&self) -> Vec<(LinkId, &str, AttachKind, &str)> {
        self.links
            .iter()
            .enumerate()
            .filter_map(|(i, l)| {
                l.as_ref()
                    .map(|l| (LinkId(i), l.program.as_str(), l.kind, l.target.as_str()))
            })
            .collect()
    }

    /// Detach everything and free every program and map fd (same as dropping).
    pub fn close(self) {
        drop(self);
    }
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.name)
            .field("links", &self.links().len())
            .field("skipped", &self.skipped.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Drop for Module {
    fn drop(&mut self) {
        self.detach_all();
    }
}

/// The kernel id of the program behind `fd`.
pub(crate) fn prog_id(fd: RawFd) -> Option<u32> {
    let mut info = libbpf_sys::bpf_prog_info::default();
    let mut len = std::mem::size_of::<libbpf_sys::bpf_prog_info>() as u32;
    // SAFETY: `info` is a properly sized, writable bpf_prog_info.
    let ret = unsafe { libbpf_sys::bpf_prog_get_info_by_fd(fd, &mut info, &mut len) };
    if ret < 0 {
        log::debug!("bpf_prog_get_info_by_fd({fd}): {}", last_errno());
        return None;
    }
    Some(info.id)
}
