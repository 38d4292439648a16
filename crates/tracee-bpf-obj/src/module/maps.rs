//! Typed map access over plain-old-data keys and values ([`Pod`], from `bytemuck`):
//! lookup/update/delete/iterate, batch operations, per-CPU values, map-of-maps inner
//! replacement and pinning. Sizes are checked against the map before any syscall.
//!
//! Key and value types derive `bytemuck::Pod` and `bytemuck::Zeroable` and are `#[repr(C)]`
//! with no padding, mirroring the C struct:
//!
//! ```
//! #[repr(C)]
//! #[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
//! struct KvValue { a: u64, b: u32, c: u32 }
//! ```

use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

pub use bytemuck::Pod;
pub use libbpf_rs::MapType;

use super::builder::{cstr_lossy, cstring};
use super::error::{last_errno, Errno, ModuleError, Result};
use super::module::Module;

bitflags::bitflags! {
    /// Flags of map updates (`BPF_ANY` is the empty set).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct UpdateFlags: u64 {
        /// Only create: fail with EEXIST if the key exists (`BPF_NOEXIST`).
        const NOEXIST = 1;
        /// Only replace: fail with ENOENT if the key is absent (`BPF_EXIST`).
        const EXIST = 2;
        /// Take the value's `bpf_spin_lock` (`BPF_F_LOCK`).
        const LOCK = 4;
    }
}

/// Number of possible CPUs: the number of values a per-CPU map has per key.
pub fn possible_cpus() -> Result<usize> {
    // SAFETY: no preconditions; libbpf caches the answer.
    let n = unsafe { libbpf_sys::libbpf_num_possible_cpus() };
    if n <= 0 {
        return Err(ModuleError::Io {
            what: "reading /sys/devices/system/cpu/possible".to_string(),
            source: std::io::Error::from_raw_os_error(-n),
        });
    }
    Ok(n as usize)
}

/// A map of a [`Module`] (or an [`OwnedMap`]), borrowed: typed operations on its fd.
#[derive(Debug, Clone)]
pub struct MapRef<'m> {
    fd: BorrowedFd<'m>,
    name: String,
    map_type: MapType,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    _life: PhantomData<&'m ()>,
}

impl Module {
    /// A map by name (BTF-defined maps by their variable name; internal maps as
    /// `OBJNAME.rodata`, ...).
    pub fn map(&self, name: &str) -> Result<MapRef<'_>> {
        let c = cstring("map name", name)?;
        // SAFETY: valid object and C string.
        let m = unsafe { libbpf_sys::bpf_object__find_map_by_name(self.raw(), c.as_ptr()) };
        if m.is_null() {
            return Err(ModuleError::MapNotFound {
                object: self.name.clone(),
                map: name.to_string(),
                available: self.map_names(),
            });
        }
        // SAFETY: valid map of a loaded object.
        let fd = unsafe { libbpf_sys::bpf_map__fd(m) };
        if fd < 0 {
            return Err(ModuleError::MapOp {
                map: name.to_string(),
                op: "get fd (map not created)",
                errno: Errno(-fd),
            });
        }
        // SAFETY: as above; the fd lives as long as the object `self` owns.
        unsafe {
            Ok(MapRef {
                fd: BorrowedFd::borrow_raw(fd),
                name: name.to_string(),
                map_type: MapType::from(libbpf_sys::bpf_map__type(m)),
                key_size: libbpf_sys::bpf_map__key_size(m),
                value_size: libbpf_sys::bpf_map__value_size(m),
                max_entries: libbpf_sys::bpf_map__max_entries(m),
                _life: PhantomData,
            })
        }
    }

    /// Names of all maps of the object.
    pub fn map_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut m = std::ptr::null_mut();
        loop {
            // SAFETY: iterating a valid object.
            m = unsafe { libbpf_sys::bpf_object__next_map(self.raw(), m) };
            if m.is_null() {
                break;
            }
            // SAFETY: valid map.
            out.push(unsafe { cstr_lossy(libbpf_sys::bpf_map__name(m)) });
        }
        out
    }
}

fn round8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

impl<'m> MapRef<'m> {
    /// The map's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The map's type.
    pub fn map_type(&self) -> MapType {
        self.map_type
    }
    /// Key size in bytes.
    pub fn key_size(&self) -> u32 {
        self.key_size
    }
    /// Value size in bytes (per CPU for per-CPU maps).
    pub fn value_size(&self) -> u32 {
        self.value_size
    }
    /// `max_entries`.
    pub fn max_entries(&self) -> u32 {
        self.max_entries
    }
    /// The map's fd.
    pub fn fd(&self) -> BorrowedFd<'m> {
        self.fd
    }

    fn raw(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    fn check<K: Pod, V: Pod>(&self) -> Result<()> {
        self.check_key::<K>()?;
        if std::mem::size_of::<V>() != self.value_size as usize {
            return Err(ModuleError::SizeMismatch {
                map: self.name.clone(),
                what: "value",
                map_size: self.value_size as usize,
                type_size: std::mem::size_of::<V>(),
            });
        }
        Ok(())
    }

    fn check_key<K: Pod>(&self) -> Result<()> {
        if std::mem::size_of::<K>() != self.key_size as usize {
            return Err(ModuleError::SizeMismatch {
                map: self.name.clone(),
                what: "key",
                map_size: self.key_size as usize,
                type_size: std::mem::size_of::<K>(),
            });
        }
        Ok(())
    }

    fn not_percpu(&self, op: &'static str) -> Result<()> {
        if self.map_type.is_percpu() {
            return Err(ModuleError::WrongMapType {
                map: self.name.clone(),
                op,
                expected: "a map that is not per-CPU (use the *_percpu methods)",
                actual: format!("{:?}", self.map_type),
            });
        }
        Ok(())
    }

    fn op_err(&self, op: &'static str, ret: i32) -> ModuleError {
        ModuleError::MapOp {
            map: self.name.clone(),
            op,
            errno: Errno(-ret),
        }
    }

    /// The value at `key`, or `None` if there is none.
    pub fn lookup<K: Pod, V: Pod>(&self, key: &K) -> Result<Option<V>> {
        self.check::<K, V>()?;
        self.not_percpu("lookup")?;
        let mut value = V::zeroed();
        // SAFETY: key and value buffers have the map's sizes (checked above).
        let ret = unsafe {
            libbpf_sys::bpf_map_lookup_elem(
                self.raw(),
                (key as *const K).cast(),
                (&mut value as *mut V).cast(),
            )
        };
        match ret {
            0 => Ok(Some(value)),
            r if r == -libc::ENOENT => Ok(None),
            r => Err(self.op_err("lookup", r)),
        }
    }

    /// Set `key` to `value`.
    pub fn update<K: Pod, V: Pod>(&self, key: &K, value: &V, flags: UpdateFlags) -> Result<()> {
        self.check::<K, V>()?;
        self.not_percpu("update")?;
        // SAFETY: sizes checked.
        let ret = unsafe {
            libbpf_sys::bpf_map_update_elem(
                self.raw(),
                (key as *const K).cast(),
                (value as *const V).cast(),
                flags.bits(),
            )
        };
        if ret < 0 {
            return Err(self.op_err("update", ret));
        }
        Ok(())
    }

    /// Remove `key`; `false` if it was not there.
    pub fn delete<K: Pod>(&self, key: &K) -> Result<bool> {
        self.check_key::<K>()?;
        // SAFETY: size checked.
        let ret = unsafe { libbpf_sys::bpf_map_delete_elem(self.raw(), (key as *const K).cast()) };
        match ret {
            0 => Ok(true),
            r if r == -libc::ENOENT => Ok(false),
            r => Err(self.op_err("delete", r)),
        }
    }

    /// All keys, one `BPF_MAP_GET_NEXT_KEY` per key. Concurrent deletions can make the
    /// kernel restart from the first key; the walk stops after `max_entries` keys so it
    /// always ends.
    pub fn keys<K: Pod>(&self) -> Result<Vec<K>> {
        self.check_key::<K>()?;
        let mut keys: Vec<K> = Vec::new();
        let mut next = K::zeroed();
        loop {
            let prev = keys
                .last()
                .map_or(std::ptr::null(), |k| (k as *const K).cast());
            // SAFETY: key buffers have the map's key size.
            let ret = unsafe {
                libbpf_sys::bpf_map_get_next_key(self.raw(), prev, (&mut next as *mut K).cast())
            };
            match ret {
                0 => keys.push(next),
                r if r == -libc::ENOENT => return Ok(keys),
                r => return Err(self.op_err("get_next_key", r)),
            }
            if keys.len() >= self.max_entries as usize {
                return Ok(keys);
            }
        }
    }

    /// All entries, key by key (see [`keys`](Self::keys)); entries deleted in between are
    /// skipped. [`lookup_batch`](Self::lookup_batch) does the same in few syscalls.
    pub fn entries<K: Pod, V: Pod>(&self) -> Result<Vec<(K, V)>> {
        let mut out = Vec::new();
        for k in self.keys::<K>()? {
            if let Some(v) = self.lookup::<K, V>(&k)? {
                out.push((k, v));
            }
        }
        Ok(out)
    }

    /// All entries with `BPF_MAP_LOOKUP_BATCH`, `chunk` entries per syscall (0: 256).
    pub fn lookup_batch<K: Pod, V: Pod>(&self, chunk: u32) -> Result<Vec<(K, V)>> {
        self.check::<K, V>()?;
        self.not_percpu("lookup_batch")?;
        let chunk = if chunk == 0 { 256 } else { chunk }.min(self.max_entries.max(1));
        let opts = libbpf_sys::bpf_map_batch_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_map_batch_opts>() as libbpf_sys::size_t,
            ..Default::default()
        };
        // The batch token is opaque: a bucket index for hashes, a key for arrays.
        let token_len = (self.key_size as usize).max(8);
        let mut in_batch = vec![0u8; token_len];
        let mut out_batch = vec![0u8; token_len];
        let mut out = Vec::new();
        let mut first = true;
        let mut keys = vec![K::zeroed(); chunk as usize];
        let mut values = vec![V::zeroed(); chunk as usize];
        // Each round returns at least one entry or ends, so this is bounded by max_entries.
        for _ in 0..=self.max_entries {
            let mut count = chunk;
            // SAFETY: buffers hold `chunk` keys/values of the map's sizes; tokens are large enough.
            let ret = unsafe {
                libbpf_sys::bpf_map_lookup_batch(
                    self.raw(),
                    if first {
                        std::ptr::null_mut()
                    } else {
                        in_batch.as_mut_ptr().cast()
                    },
                    out_batch.as_mut_ptr().cast(),
                    keys.as_mut_ptr().cast(),
                    values.as_mut_ptr().cast(),
                    &mut count,
                    &opts,
                )
            };
            let n = (count as usize).min(chunk as usize);
            out.extend(keys[..n].iter().copied().zip(values[..n].iter().copied()));
            if ret == -libc::ENOENT {
                return Ok(out);
            }
            if ret < 0 {
                return Err(self.op_err("lookup_batch", ret));
            }
            first = false;
            in_batch.copy_from_slice(&out_batch);
        }
        Ok(out)
    }

    /// Set many entries in one `BPF_MAP_UPDATE_BATCH`.
    pub fn update_batch<K: Pod, V: Pod>(
        &self,
        keys: &[K],
        values: &[V],
        flags: UpdateFlags,
    ) -> Result<()> {
        self.check::<K, V>()?;
        self.not_percpu("update_batch")?;
        if keys.len() != values.len() {
            return Err(ModuleError::MapOp {
                map: self.name.clone(),
                op: "update_batch (keys and values differ in length)",
                errno: Errno(libc::EINVAL),
            });
        }
        let mut count =
            u32::try_from(keys.len()).map_err(|_| self.op_err("update_batch", -libc::E2BIG))?;
        let opts = libbpf_sys::bpf_map_batch_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_map_batch_opts>() as libbpf_sys::size_t,
            elem_flags: flags.bits(),
            ..Default::default()
        };
        // SAFETY: `count` keys and values of the map's sizes.
        let ret = unsafe {
            libbpf_sys::bpf_map_update_batch(
                self.raw(),
                keys.as_ptr().cast(),
                values.as_ptr().cast(),
                &mut count,
                &opts,
            )
        };
        if ret < 0 {
            return Err(self.op_err("update_batch", ret));
        }
        Ok(())
    }

    /// Delete many keys in one `BPF_MAP_DELETE_BATCH`; returns how many were deleted. Stops
    /// (with an error) at the first key that is absent.
    pub fn delete_batch<K: Pod>(&self, keys: &[K]) -> Result<u32> {
        self.check_key::<K>()?;
        let mut count =
            u32::try_from(keys.len()).map_err(|_| self.op_err("delete_batch", -libc::E2BIG))?;
        let opts = libbpf_sys::bpf_map_batch_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_map_batch_opts>() as libbpf_sys::size_t,
            ..Default::default()
        };
        // SAFETY: `count` keys of the map's key size.
        let ret = unsafe {
            libbpf_sys::bpf_map_delete_batch(self.raw(), keys.as_ptr().cast(), &mut count, &opts)
        };
        if ret < 0 {
            return Err(self.op_err("delete_batch", ret));
        }
        Ok(count)
    }

    fn check_percpu<K: Pod, V: Pod>(&self, op: &'static str) -> Result<usize> {
        self.check::<K, V>()?;
        if !self.map_type.is_percpu() {
            return Err(ModuleError::WrongMapType {
                map: self.name.clone(),
                op,
                expected: "a per-CPU map",
                actual: format!("{:?}", self.map_type),
            });
        }
        possible_cpus()
    }

    /// The per-CPU values at `key`, one per possible CPU (index = CPU number).
    pub fn lookup_percpu<K: Pod, V: Pod>(&self, key: &K) -> Result<Option<Vec<V>>> {
        let ncpu = self.check_percpu::<K, V>("lookup_percpu")?;
        // The kernel lays the values out 8-byte aligned, one per CPU.
        let stride = round8(std::mem::size_of::<V>());
        let mut buf = vec![0u8; stride * ncpu];
        // SAFETY: buffer of ncpu * round8(value_size) bytes, as the kernel expects.
        let ret = unsafe {
            libbpf_sys::bpf_map_lookup_elem(
                self.raw(),
                (key as *const K).cast(),
                buf.as_mut_ptr().cast(),
            )
        };
        match ret {
            0 => Ok(Some(
                buf.chunks_exact(stride)
                    .map(|c| bytemuck::pod_read_unaligned(&c[..std::mem::size_of::<V>()]))
                    .collect(),
            )),
            r if r == -libc::ENOENT => Ok(None),
            r => Err(self.op_err("lookup_percpu", r)),
        }
    }

    /// The per-CPU values at `key` summed with `fold` (e.g. counters).
    pub fn lookup_percpu_sum<K: Pod>(&self, key: &K) -> Result<u64> {
        Ok(self
            .lookup_percpu::<K, u64>(key)?
            .map(|v| v.iter().sum())
            .unwrap_or(0))
    }

    /// Set the per-CPU values at `key`; `values` must have one value per possible CPU.
    pub fn update_percpu<K: Pod, V: Pod>(
        &self,
        key: &K,
        values: &[V],
        flags: UpdateFlags,
    ) -> Result<()> {
        let ncpu = self.check_percpu::<K, V>("update_percpu")?;
        if values.len() != ncpu {
            return Err(ModuleError::MapOp {
                map: self.name.clone(),
                op: "update_percpu (need one value per possible CPU)",
                errno: Errno(libc::EINVAL),
            });
        }
        let stride = round8(std::mem::size_of::<V>());
        let mut buf = vec![0u8; stride * ncpu];
        for (chunk, v) in buf.chunks_exact_mut(stride).zip(values) {
            chunk[..std::mem::size_of::<V>()].copy_from_slice(bytemuck::bytes_of(v));
        }
        // SAFETY: buffer laid out as the kernel expects.
        let ret = unsafe {
            libbpf_sys::bpf_map_update_elem(
                self.raw(),
                (key as *const K).cast(),
                buf.as_ptr().cast(),
                flags.bits(),
            )
        };
        if ret < 0 {
            return Err(self.op_err("update_percpu", ret));
        }
        Ok(())
    }

    fn check_of_maps(&self, op: &'static str) -> Result<()> {
        if !matches!(self.map_type, MapType::ArrayOfMaps | MapType::HashOfMaps) {
            return Err(ModuleError::WrongMapType {
                map: self.name.clone(),
                op,
                expected: "an array or hash of maps",
                actual: format!("{:?}", self.map_type),
            });
        }
        Ok(())
    }

    /// Map-of-maps: make `inner` the map at `key` (BPF programs see the new map on their
    /// next lookup; the old inner map is freed when nothing else holds it).
    pub fn set_inner_map<K: Pod>(&self, key: &K, inner: impl AsFd) -> Result<()> {
        self.check_key::<K>()?;
        self.check_of_maps("set_inner_map")?;
        let fd: u32 = inner.as_fd().as_raw_fd() as u32;
        // SAFETY: outer map values are u32 fds on update.
        let ret = unsafe {
            libbpf_sys::bpf_map_update_elem(
                self.raw(),
                (key as *const K).cast(),
                (&fd as *const u32).cast(),
                0,
            )
        };
        if ret < 0 {
            return Err(self.op_err("set_inner_map", ret));
        }
        Ok(())
    }

    /// Map-of-maps: the id of the map at `key` (lookups return ids, not fds).
    pub fn inner_map_id<K: Pod>(&self, key: &K) -> Result<Option<u32>> {
        self.check_key::<K>()?;
        self.check_of_maps("inner_map_id")?;
        let mut id = 0u32;
        // SAFETY: outer map values are u32 ids on lookup.
        let ret = unsafe {
            libbpf_sys::bpf_map_lookup_elem(
                self.raw(),
                (key as *const K).cast(),
                (&mut id as *mut u32).cast(),
            )
        };
        match ret {
            0 => Ok(Some(id)),
            r if r == -libc::ENOENT => Ok(None),
            r => Err(self.op_err("inner_map_id", r)),
        }
    }

    /// The kernel id of this map.
    pub fn id(&self) -> Result<u32> {
        let mut info = libbpf_sys::bpf_map_info::default();
        let mut len = std::mem::size_of::<libbpf_sys::bpf_map_info>() as u32;
        // SAFETY: properly sized info struct.
        let ret = unsafe { libbpf_sys::bpf_map_get_info_by_fd(self.raw(), &mut info, &mut len) };
        if ret < 0 {
            return Err(self.op_err("get_info", ret));
        }
        Ok(info.id)
    }

    /// Pin the map at `path` on a bpffs (it then outlives this process until unpinned).
    pub fn pin(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let c = path_c(path)?;
        // SAFETY: valid fd and C string.
        let ret = unsafe { libbpf_sys::bpf_obj_pin(self.raw(), c.as_ptr()) };
        if ret < 0 {
            return Err(ModuleError::Pin {
                op: "pin",
                path: path.to_path_buf(),
                errno: Errno(-ret),
            });
        }
        Ok(())
    }

    /// Remove a pin (any bpffs path; the map lives on while something holds it).
    pub fn unpin(path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::remove_file(path).map_err(|e| ModuleError::Pin {
            op: "unpin",
            path: path.to_path_buf(),
            errno: Errno(e.raw_os_error().unwrap_or(0)),
        })
    }
}

fn path_c(path: &Path) -> Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|_| ModuleError::InvalidString {
        what: "pin path",
        value: path.display().to_string(),
    })
}

/// A map created from userspace (e.g. a replacement inner map), or opened from a pin.
/// Closing it drops this process's reference.
#[derive(Debug)]
pub struct OwnedMap {
    fd: OwnedFd,
    name: String,
    map_type: MapType,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
}

impl OwnedMap {
    /// Create a map with `BPF_MAP_CREATE`.
    pub fn create(
        map_type: MapType,
        name: &str,
        key_size: u32,
        value_size: u32,
        max_entries: u32,
    ) -> Result<Self> {
        let c = cstring("map name", name)?;
        let opts = libbpf_sys::bpf_map_create_opts {
            sz: std::mem::size_of::<libbpf_sys::bpf_map_create_opts>() as libbpf_sys::size_t,
            ..Default::default()
        };
        // SAFETY: valid arguments; returns a new fd or -errno.
        let fd = unsafe {
            libbpf_sys::bpf_map_create(
                map_type.into(),
                c.as_ptr(),
                key_size,
                value_size,
                max_entries,
                &opts,
            )
        };
        if fd < 0 {
            return Err(ModuleError::MapOp {
                map: name.to_string(),
                op: "create",
                errno: Errno(-fd),
            });
        }
        Ok(Self {
            // SAFETY: a new fd we own.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            name: name.to_string(),
            map_type,
            key_size,
            value_size,
            max_entries,
        })
    }

    /// Open a map pinned at `path`.
    pub fn from_pinned(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let c = path_c(path)?;
        // SAFETY: valid C string.
        let fd = unsafe { libbpf_sys::bpf_obj_get(c.as_ptr()) };
        if fd < 0 {
            return Err(ModuleError::Pin {
                op: "open pinned map",
                path: path.to_path_buf(),
                errno: Errno(-fd),
            });
        }
        // SAFETY: a new fd we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut info = libbpf_sys::bpf_map_info::default();
        let mut len = std::mem::size_of::<libbpf_sys::bpf_map_info>() as u32;
        // SAFETY: properly sized info struct.
        let ret =
            unsafe { libbpf_sys::bpf_map_get_info_by_fd(fd.as_raw_fd(), &mut info, &mut len) };
        if ret < 0 {
            return Err(ModuleError::Pin {
                op: "query pinned map",
                path: path.to_path_buf(),
                errno: last_errno(),
            });
        }
        // SAFETY: the kernel NUL-terminates the name inside the array.
        let name = unsafe { cstr_lossy(info.name.as_ptr()) };
        Ok(Self {
            fd,
            name,
            map_type: MapType::from(info.type_),
            key_size: info.key_size,
            value_size: info.value_size,
            max_entries: info.max_entries,
        })
    }

    /// An independent handle (dup'ed fd) on a module's map, e.g. to keep reading it after
    /// the module is closed.
    pub fn dup(map: &MapRef<'_>) -> Result<Self> {
        let fd = map
            .fd()
            .try_clone_to_owned()
            .map_err(|e| ModuleError::MapOp {
                map: map.name().to_string(),
                op: "dup fd",
                errno: Errno(e.raw_os_error().unwrap_or(0)),
            })?;
        Ok(Self {
            fd,
            name: map.name().to_string(),
            map_type: map.map_type(),
            key_size: map.key_size(),
            value_size: map.value_size(),
            max_entries: map.max_entries(),
        })
    }

    /// Typed access to this map.
    pub fn as_map(&self) -> MapRef<'_> {
        MapRef {
            fd: self.fd.as_fd(),
            name: self.name.clone(),
            map_type: self.map_type,
            key_size: self.key_size,
            value_size: self.value_size,
            max_entries: self.max_entries,
            _life: PhantomData,
        }
    }
}

impl AsFd for OwnedMap {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
