//! [`BufferReader`]: the reader thread, its start-up and its shutdown.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

use crossbeam_channel::Receiver;

use super::delivery::{Delivery, Sink};
use super::drops::{Counters, Drops};
use super::source::Source;
use super::wakeup::WakeupPolicy;
use super::{DROPS_MAP, RB_CONFIG_MAP};
use crate::module::error::{last_errno, Errno, ModuleError, Result};
use crate::module::maps::{MapRef, MapType, OwnedMap, UpdateFlags};
use crate::module::Module;

#[derive(Debug, Clone, Copy)]
enum Kind {
    Ring,
    Perf { pages: usize },
}

#[derive(Debug, Clone)]
enum MapChoice {
    /// Use the conventional map if the object has it.
    Auto(&'static str),
    Named(String),
    Off,
}

/// Configures a [`BufferReader`]; from [`BufferReader::ring_buffer`] or
/// [`BufferReader::perf_buffer`].
#[derive(Debug)]
pub struct BufferReaderBuilder<'m> {
    module: &'m Module,
    map: MapRef<'m>,
    kind: Kind,
    wakeup: WakeupPolicy,
    poll_interval: Duration,
    config_map: MapChoice,
    drops_map: MapChoice,
}

struct Shared {
    stop: AtomicBool,
    /// Set by the reader thread as it exits.
    finished: AtomicBool,
    wake: OwnedFd,
    counters: Arc<Counters>,
}

/// A running reader of one ring buffer or perf buffer. Stops (and drains) on drop.
pub struct BufferReader {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    reader_thread: ThreadId,
    kernel_drops: Option<OwnedMap>,
    map: String,
}

impl std::fmt::Debug for BufferReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufferReader")
            .field("map", &self.map)
            .field("received", &self.received())
            .field("drops", &self.drops())
            .finish()
    }
}

impl BufferReader {
    /// Read the `BPF_MAP_TYPE_RINGBUF` map `map` of `module`.
    pub fn ring_buffer<'m>(module: &'m Module, map: &str) -> Result<BufferReaderBuilder<'m>> {
        BufferReaderBuilder::new(module, map, Kind::Ring, MapType::RingBuf)
    }

    /// Read the `BPF_MAP_TYPE_PERF_EVENT_ARRAY` map `map` of `module` (one buffer per CPU,
    /// 64 pages each unless [`pages`](BufferReaderBuilder::pages) says otherwise).
    pub fn perf_buffer<'m>(module: &'m Module, map: &str) -> Result<BufferReaderBuilder<'m>> {
        BufferReaderBuilder::new(
            module,
            map,
            Kind::Perf { pages: 64 },
            MapType::PerfEventArray,
        )
    }

    /// Stop reading: wakes the reader thread, which drains what is in the buffer and exits.
    /// Off the reader thread, returns once it has exited (so every event committed before
    /// the call has been delivered or counted). From inside a callback it only requests the
    /// stop. Idempotent; safe from any thread.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        let one: u64 = 1;
        // SAFETY: writing 8 bytes to our eventfd. Failure (counter overflow) cannot matter:
        // the flag is set and the reader's poll timeout bounds the wait.
        unsafe { libc::write(self.shared.wake.as_raw_fd(), (&one as *const u64).cast(), 8) };
        if std::thread::current().id() == self.reader_thread {
            return;
        }
        // Join while holding the lock, so a concurrent stop() also returns only after the
        // drain. The reader thread never takes this lock, so this cannot deadlock.
        let mut guard = self.thread.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = guard.take() {
            if h.join().is_err() {
                log::error!("reader thread of {} panicked", self.map);
            }
        }
    }

    /// Whether the reader thread is still running.
    pub fn is_running(&self) -> bool {
        !self.shared.finished.load(Ordering::Acquire)
    }

    /// Events handed to the channel or callback so far.
    pub fn received(&self) -> u64 {
        Counters::get(&self.shared.counters.received)
    }

    /// The drop account now. `kernel` is read from the object's drops map (shared by all
    /// buffers of the object).
    pub fn drops(&self) -> Drops {
        let kernel = self
            .kernel_drops
            .as_ref()
            .map(|m| match m.as_map().lookup_percpu_sum(&0u32) {
                Ok(n) => n,
                Err(e) => {
                    log::debug!("reading kernel drops: {e}");
                    0
                }
            })
            .unwrap_or(0);
        Drops {
            kernel,
            perf_lost: Counters::get(&self.shared.counters.perf_lost),
            channel_overflow: Counters::get(&self.shared.counters.overflow),
        }
    }

    /// The map this reader reads.
    pub fn map_name(&self) -> &str {
        &self.map
    }
}

impl Drop for BufferReader {
    fn drop(&mut self) {
        self.stop();
    }
}

impl<'m> BufferReaderBuilder<'m> {
    fn new(module: &'m Module, map: &str, kind: Kind, expected: MapType) -> Result<Self> {
        let map = module.map(map)?;
        if map.map_type() != expected {
            return Err(ModuleError::WrongMapType {
                map: map.name().to_string(),
                op: "event buffer",
                expected: if matches!(kind, Kind::Ring) {
                    "a RINGBUF map"
                } else {
                    "a PERF_EVENT_ARRAY map"
                },
                actual: format!("{:?}", map.map_type()),
            });
        }
        Ok(Self {
            module,
            map,
            kind,
            wakeup: WakeupPolicy::EveryEvent,
            poll_interval: Duration::from_millis(100),
            config_map: MapChoice::Auto(RB_CONFIG_MAP),
            drops_map: MapChoice::Auto(DROPS_MAP),
        })
    }

    /// Ring buffers: the wakeup policy (written to the object's `tracee_rb_cfg` map).
    pub fn wakeup(mut self, policy: WakeupPolicy) -> Self {
        self.wakeup = policy;
        self
    }

    /// Perf buffers: pages per CPU buffer (a power of two; default 64).
    pub fn pages(mut self, pages: usize) -> Self {
        if let Kind::Perf { .. } = self.kind {
            self.kind = Kind::Perf { pages };
        }
        self
    }

    /// Perf buffers: how long the reader waits for a wakeup before draining anyway
    /// (default 100 ms). Ring buffers take this from the [`WakeupPolicy`].
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Use `map` (ARRAY of `struct tracee_rb_cfg`) for the wakeup policy instead of
    /// `tracee_rb_cfg`.
    pub fn config_map(mut self, map: impl Into<String>) -> Self {
        self.config_map = MapChoice::Named(map.into());
        self
    }

    /// Count kernel drops from `map` (PERCPU_ARRAY of u64, key 0) instead of `tracee_drops`.
    pub fn drops_map(mut self, map: impl Into<String>) -> Self {
        self.drops_map = MapChoice::Named(map.into());
        self
    }

    /// Do not read a kernel drops map.
    pub fn no_drops_map(mut self) -> Self {
        self.drops_map = MapChoice::Off;
        self
    }

    fn pick(&self, choice: &MapChoice) -> Result<Option<MapRef<'m>>> {
        match choice {
            MapChoice::Off => Ok(None),
            MapChoice::Named(n) => self.module.map(n).map(Some),
            MapChoice::Auto(n) => Ok(self.module.map(n).ok()),
        }
    }

    /// Start, delivering each event as a `Vec<u8>` into a channel of `capacity` events.
    /// When the channel is full the reader does not wait: it counts the event in
    /// [`Drops::channel_overflow`]. The channel closes when the reader stops.
    pub fn start_channel(self, capacity: usize) -> Result<(BufferReader, Receiver<Vec<u8>>)> {
        let (tx, rx) = crossbeam_channel::bounded(capacity.max(1));
        Ok((self.start(Sink::Channel(tx))?, rx))
    }

    /// Start, calling `callback` on the reader thread with each event's bytes (borrowed
    /// from the buffer: copy what you keep). A panicking callback stops the reader.
    pub fn start_callback(
        self,
        callback: impl FnMut(&[u8]) + Send + 'static,
    ) -> Result<BufferReader> {
        self.start(Sink::Callback(Box::new(callback)))
    }

    fn start(self, sink: Sink) -> Result<BufferReader> {
        let map_name = self.map.name().to_string();
        let buf_err = |what: &str, errno: Errno| ModuleError::Buffer {
            map: map_name.clone(),
            what: what.to_string(),
            errno,
        };
        let timeout = match self.kind {
            Kind::Ring => {
                let cfg = self.pick(&self.config_map)?;
                match cfg {
                    Some(cfg) => cfg.update(&0u32, &self.wakeup.config(), UpdateFlags::empty())?,
                    None if self.wakeup != WakeupPolicy::EveryEvent => log::warn!(
                        "ring buffer {map_name}: no {RB_CONFIG_MAP} map, the producer will wake the reader on every event"
                    ),
                    None => {}
                }
                self.wakeup.poll_timeout()
            }
            Kind::Perf { pages } => {
                if !pages.is_power_of_two() {
                    return Err(buf_err(
                        "perf buffer page count must be a power of two",
                        Errno(libc::EINVAL),
                    ));
                }
                self.poll_interval
            }
        };
        let kernel_drops = match self.pick(&self.drops_map)? {
            Some(m) => Some(OwnedMap::dup(&m)?),
            None => None,
        };
        let map_fd = self
            .map
            .fd()
            .try_clone_to_owned()
            .map_err(|e| buf_err("dup map fd", Errno(e.raw_os_error().unwrap_or(0))))?;
        // SAFETY: plain eventfd creation.
        let wake = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if wake < 0 {
            return Err(buf_err("eventfd", last_errno()));
        }
        let counters = Arc::new(Counters::default());
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            // SAFETY: a new fd we own.
            wake: unsafe { OwnedFd::from_raw_fd(wake) },
            counters: counters.clone(),
        });
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let thread_shared = shared.clone();
        let kind = self.kind;
        let thread_map = map_name.clone();
        let handle = std::thread::Builder::new()
            .name(format!("bpf-buf-{map_name}"))
            .spawn(move || {
                let delivery = Box::new(Delivery {
                    sink,
                    counters,
                    panicked: false,
                });
                run(
                    map_fd,
                    kind,
                    delivery,
                    &thread_shared,
                    timeout,
                    ready_tx,
                    thread_map,
                );
                thread_shared.finished.store(true, Ordering::Release);
            })
            .map_err(|e| ModuleError::Io {
                what: format!("spawning the reader thread of {map_name}"),
                source: e,
            })?;
        let reader_thread = handle.thread().id();
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = handle.join();
                return Err(e);
            }
            Err(_) => {
                let _ = handle.join();
                return Err(buf_err(
                    "reader thread exited during start-up",
                    Errno(libc::EIO),
                ));
            }
        }
        log::debug!("reader of {map_name} started ({kind:?}, poll every {timeout:?})");
        Ok(BufferReader {
            shared,
            thread: Mutex::new(Some(handle)),
            reader_thread,
            kernel_drops,
            map: map_name,
        })
    }
}

struct Epoll(OwnedFd);

impl Epoll {
    fn new(fds: &[RawFd]) -> std::result::Result<Self, (&'static str, Errno)> {
        // SAFETY: plain epoll creation.
        let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if ep < 0 {
            return Err(("epoll_create1", last_errno()));
        }
        // SAFETY: a new fd we own.
        let ep = Epoll(unsafe { OwnedFd::from_raw_fd(ep) });
        for (i, fd) in fds.iter().enumerate() {
            let mut ev = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: i as u64,
            };
            // SAFETY: valid epoll fd and target fd.
            if unsafe { libc::epoll_ctl(ep.0.as_raw_fd(), libc::EPOLL_CTL_ADD, *fd, &mut ev) } < 0 {
                return Err(("epoll_ctl", last_errno()));
            }
        }
        Ok(ep)
    }

    /// Wait up to `timeout`; Err on a real failure (EINTR is a normal return).
    fn wait(&self, timeout: Duration) -> std::result::Result<(), Errno> {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 2];
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: valid epoll fd and event buffer.
        let n = unsafe { libc::epoll_wait(self.0.as_raw_fd(), events.as_mut_ptr(), 2, ms) };
        if n < 0 {
            let e = last_errno();
            if e.0 != libc::EINTR {
                return Err(e);
            }
        }
        Ok(())
    }
}

fn run(
    map_fd: OwnedFd,
    kind: Kind,
    mut delivery: Box<Delivery>,
    shared: &Shared,
    timeout: Duration,
    ready: mpsc::SyncSender<Result<()>>,
    map: String,
) {
    let err = |what: &str, errno: Errno| ModuleError::Buffer {
        map: map.clone(),
        what: what.to_string(),
        errno,
    };
    let dptr: *mut Delivery = &mut *delivery;
    // SAFETY: `delivery` is boxed and outlives `source`, which is dropped first below.
    let source = match kind {
        Kind::Ring => unsafe { Source::ring(map_fd.as_raw_fd(), dptr) },
        Kind::Perf { pages } => unsafe { Source::perf(map_fd.as_raw_fd(), pages, dptr) },
    };
    let source = match source {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(err("creating the libbpf buffer", e)));
            return;
        }
    };
    let epoll = match Epoll::new(&[source.epoll_fd(), shared.wake.as_raw_fd()]) {
        Ok(ep) => ep,
        Err((what, e)) => {
            let _ = ready.send(Err(err(what, e)));
            return;
        }
    };
    if ready.send(Ok(())).is_err() {
        return;
    }
    while !shared.stop.load(Ordering::Acquire) {
        if let Err(e) = epoll.wait(timeout) {
            log::error!("reader of {map}: epoll_wait failed: {e}; stopping");
            break;
        }
        if shared.stop.load(Ordering::Acquire) {
            break;
        }
        // Drain even on timeout: producers may have skipped the wakeup on purpose.
        let r = source.consume();
        if r < 0 && r != -(libc::EINTR as i64) {
            log::warn!("reader of {map}: consume failed: {}", Errno((-r) as i32));
        }
        // SAFETY: single-threaded access through the same pointer the callbacks use.
        if unsafe { (*dptr).panicked } {
            break;
        }
    }
    // Drain what was committed before the stop.
    let r = source.consume();
    if r < 0 {
        log::warn!(
            "reader of {map}: final drain failed: {}",
            Errno((-r) as i32)
        );
    }
    drop(source);
    drop(delivery);
    drop(map_fd);
}
