//! The two libbpf buffer kinds behind one small interface: an epoll fd to wait on and a
//! `consume` that runs the sample callback for everything waiting.

use std::os::fd::RawFd;

use super::delivery::Delivery;
use crate::module::error::Errno;

/// A libbpf `ring_buffer` or `perf_buffer`, owned by the reader thread.
pub(crate) enum Source {
    Ring(*mut libbpf_sys::ring_buffer),
    Perf(*mut libbpf_sys::perf_buffer),
}

unsafe extern "C" fn ring_sample(
    ctx: *mut libc::c_void,
    data: *mut libc::c_void,
    size: libbpf_sys::size_t,
) -> i32 {
    // SAFETY: ctx is the Delivery the reader thread owns for the life of the ring buffer;
    // data/size describe a committed record inside the mmapped ring.
    let d = unsafe { &mut *(ctx as *mut Delivery) };
    let bytes = unsafe { std::slice::from_raw_parts(data as *const u8, size as usize) };
    d.deliver(bytes);
    0
}

unsafe extern "C" fn perf_sample(
    ctx: *mut libc::c_void,
    _cpu: i32,
    data: *mut libc::c_void,
    size: u32,
) {
    // SAFETY: as for ring_sample.
    let d = unsafe { &mut *(ctx as *mut Delivery) };
    let bytes = unsafe { std::slice::from_raw_parts(data as *const u8, size as usize) };
    d.deliver(bytes);
}

unsafe extern "C" fn perf_lost(ctx: *mut libc::c_void, _cpu: i32, count: u64) {
    // SAFETY: as for ring_sample.
    let d = unsafe { &mut *(ctx as *mut Delivery) };
    d.lost(count);
}

impl Source {
    /// # Safety
    /// `delivery` must stay valid (not moved) until the Source is dropped.
    pub(crate) unsafe fn ring(map_fd: RawFd, delivery: *mut Delivery) -> Result<Self, Errno> {
        // SAFETY: valid ring-buffer map fd; callback and ctx outlive the ring_buffer.
        let rb = unsafe {
            libbpf_sys::ring_buffer__new(
                map_fd,
                Some(ring_sample),
                delivery.cast(),
                std::ptr::null(),
            )
        };
        if rb.is_null() {
            return Err(crate::module::error::last_errno());
        }
        Ok(Source::Ring(rb))
    }

    /// # Safety
    /// As for [`Source::ring`].
    pub(crate) unsafe fn perf(
        map_fd: RawFd,
        pages: usize,
        delivery: *mut Delivery,
    ) -> Result<Self, Errno> {
        // SAFETY: valid perf-event-array fd; callbacks and ctx outlive the perf_buffer.
        let pb = unsafe {
            libbpf_sys::perf_buffer__new(
                map_fd,
                pages as libbpf_sys::size_t,
                Some(perf_sample),
                Some(perf_lost),
                delivery.cast(),
                std::ptr::null(),
            )
        };
        // SAFETY: libbpf_get_error accepts any returned pointer.
        let err = unsafe { libbpf_sys::libbpf_get_error(pb as *const _) };
        if pb.is_null() || err != 0 {
            return Err(Errno(if err != 0 {
                (-err) as i32
            } else {
                crate::module::error::last_errno().0
            }));
        }
        Ok(Source::Perf(pb))
    }

    pub(crate) fn epoll_fd(&self) -> RawFd {
        // SAFETY: valid buffer.
        unsafe {
            match self {
                Source::Ring(rb) => libbpf_sys::ring_buffer__epoll_fd(*rb),
                Source::Perf(pb) => libbpf_sys::perf_buffer__epoll_fd(*pb),
            }
        }
    }

    /// Run the callbacks for every record waiting; returns -errno on failure.
    pub(crate) fn consume(&self) -> i64 {
        // SAFETY: valid buffer, used only from the reader thread.
        unsafe {
            match self {
                Source::Ring(rb) => libbpf_sys::ring_buffer__consume(*rb) as i64,
                Source::Perf(pb) => libbpf_sys::perf_buffer__consume(*pb) as i64,
            }
        }
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        // SAFETY: owned buffers, freed once.
        unsafe {
            match self {
                Source::Ring(rb) => libbpf_sys::ring_buffer__free(*rb),
                Source::Perf(pb) => libbpf_sys::perf_buffer__free(*pb),
            }
        }
    }
}
