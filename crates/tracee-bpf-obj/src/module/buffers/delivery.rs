//! Where the reader thread puts events: a bounded channel (full = counted overflow, the
//! reader never blocks on a slow consumer) or a callback.

use std::sync::Arc;

use crossbeam_channel::{Sender, TrySendError};

use super::drops::Counters;

/// A user callback run on the reader thread.
pub(crate) type Callback = Box<dyn FnMut(&[u8]) + Send>;

/// The consumer side of a reader.
pub(crate) enum Sink {
    Channel(Sender<Vec<u8>>),
    Callback(Callback),
}

pub(crate) struct Delivery {
    pub(crate) sink: Sink,
    pub(crate) counters: Arc<Counters>,
    /// Set when the callback panicked: the reader stops, later events count as overflow.
    pub(crate) panicked: bool,
}

impl Delivery {
    pub(crate) fn deliver(&mut self, bytes: &[u8]) {
        match &mut self.sink {
            Sink::Channel(tx) => match tx.try_send(bytes.to_vec()) {
                Ok(()) => Counters::add(&self.counters.received, 1),
                // A dropped receiver counts as overflow too: the event reached nobody.
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                    Counters::add(&self.counters.overflow, 1)
                }
            },
            Sink::Callback(_) if self.panicked => Counters::add(&self.counters.overflow, 1),
            Sink::Callback(f) => {
                // A panic must not unwind into libbpf's C frames.
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(bytes))) {
                    Ok(()) => Counters::add(&self.counters.received, 1),
                    Err(_) => {
                        log::error!("event callback panicked; stopping the reader");
                        self.panicked = true;
                        Counters::add(&self.counters.overflow, 1);
                    }
                }
            }
        }
    }

    pub(crate) fn lost(&mut self, count: u64) {
        Counters::add(&self.counters.perf_lost, count);
    }
}
