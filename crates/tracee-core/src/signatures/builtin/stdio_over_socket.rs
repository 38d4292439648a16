//! TRC-1: a process's standard input/output redirected to a network socket (a reverse shell).

use std::collections::{HashMap, VecDeque};

use super::int_arg;
use crate::decode::{Event, OwnedValue, Sockaddr};
use crate::signatures::{Finding, Severity, Signature, SignatureMetadata};

/// Processes with connected sockets remembered at once; the oldest is forgotten beyond this,
/// so a flood of connecting processes cannot grow the state without bound.
const MAX_PROCESSES: usize = 16_384;
/// Connected sockets remembered per process.
const MAX_SOCKETS: usize = 64;
const EINPROGRESS: i64 = 115;

static META: SignatureMetadata = SignatureMetadata::new(
    "TRC-1",
    "0.1.0",
    "Standard Input/Output Over Socket",
    "Redirection of process's standard input/output to socket",
    Severity::High,
    "execution",
);

/// `connect` of a socket to an IPv4/IPv6 address, then `dup2`/`dup3` of that socket onto fd
/// 0, 1 or 2 in the same process. `close` is not traced (it would cost an event per close on
/// the machine), so a socket fd number reused by another file after a close can still match;
/// a `dup2` onto a remembered fd number forgets it.
#[derive(Debug, Default)]
pub struct StdioOverSocket {
    /// pid → (fd, remote address) of its connected sockets.
    sockets: HashMap<u32, Vec<(i64, String)>>,
    /// pids in the order they were first remembered, for eviction.
    order: VecDeque<u32>,
}

impl StdioOverSocket {
    fn remember(&mut self, pid: u32, fd: i64, addr: String) {
        if !self.sockets.contains_key(&pid) {
            if self.order.len() == MAX_PROCESSES {
                if let Some(old) = self.order.pop_front() {
                    self.sockets.remove(&old);
                }
            }
            self.order.push_back(pid);
        }
        let list = self.sockets.entry(pid).or_default();
        list.retain(|&(f, _)| f != fd);
        if list.len() == MAX_SOCKETS {
            list.remove(0);
        }
        list.push((fd, addr));
    }

    fn forget_process(&mut self, pid: u32) {
        if self.sockets.remove(&pid).is_some() {
            self.order.retain(|&p| p != pid);
        }
    }
}

impl Signature for StdioOverSocket {
    fn metadata(&self) -> &SignatureMetadata {
        &META
    }

    fn events(&self) -> &[&'static str] {
        &["connect", "dup2", "dup3", "sched_process_exit"]
    }

    fn on_event(&mut self, event: &Event) -> Option<Finding> {
        let pid = event.header.pid;
        let ret = event.header.retval;
        match event.event_name.as_str() {
            "connect" if ret == 0 || ret == -EINPROGRESS => {
                let addr = match event.arg("addr")? {
                    OwnedValue::Sockaddr(a @ (Sockaddr::Inet { .. } | Sockaddr::Inet6 { .. })) => {
                        a.to_string()
                    }
                    _ => return None,
                };
                self.remember(pid, int_arg(event, "sockfd")?, addr);
                None
            }
            "dup2" | "dup3" if ret >= 0 => {
                let (old, new) = (int_arg(event, "oldfd")?, int_arg(event, "newfd")?);
                if old == new {
                    return None;
                }
                let list = self.sockets.get_mut(&pid)?;
                // `new` now names what `old` names: a socket if `old` is one, else not.
                let remote = list.iter().find(|(f, _)| *f == old).map(|(_, a)| a.clone());
                list.retain(|&(f, _)| f != new);
                let remote = remote?;
                if (0..=2).contains(&new) {
                    Some(
                        Finding::new(&META, event)
                            .with("fd", new)
                            .with("remote", remote),
                    )
                } else {
                    list.push((new, remote));
                    None
                }
            }
            // The whole process is gone when its leader exits.
            "sched_process_exit" if event.header.tid == pid => {
                self.forget_process(pid);
                None
            }
            _ => None,
        }
    }
}
