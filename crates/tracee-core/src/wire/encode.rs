//! Writing events in the wire format from userspace: for tests, for replaying captured
//! streams, and for embedding tools that emit their own events into the same pipeline.

use crate::events::ArgType;

use super::config::class_of;
use super::header::{self as h, Header};
use super::{WireClass, HEADER_SIZE, MAX_ARGS, WIRE_VERSION};

/// Builds one event: set the header, append arguments, [`finish`](EventEncoder::finish).
///
/// Arguments beyond [`MAX_ARGS`] are ignored (and logged); strings longer than `u32::MAX`
/// cannot occur in practice and are cut.
#[derive(Debug, Clone)]
pub struct EventEncoder {
    event_id: u32,
    header: Header,
    argnum: u8,
    args: Vec<u8>,
}

impl EventEncoder {
    /// An event with id `event_id`, an all-zero header (syscall -1) and no arguments.
    pub fn new(event_id: u32) -> EventEncoder {
        EventEncoder {
            event_id,
            header: Header::default(),
            argnum: 0,
            args: Vec::new(),
        }
    }

    /// The header to fill in.
    pub fn header_mut(&mut self) -> &mut Header {
        &mut self.header
    }

    fn head(&mut self, index: u8, ty: ArgType, class: WireClass) -> bool {
        if usize::from(self.argnum) >= MAX_ARGS {
            log::warn!("EventEncoder: more than {MAX_ARGS} arguments; argument {index} dropped");
            return false;
        }
        self.argnum += 1;
        self.args
            .extend_from_slice(&[index, ty.wire_code(), class.code()]);
        true
    }

    fn lp(&mut self, b: &[u8]) {
        let len = b.len().min(u32::MAX as usize);
        self.args.extend_from_slice(&(len as u32).to_le_bytes());
        self.args.extend_from_slice(&b[..len]);
    }

    /// An integer argument, laid out as the program lays out `ty`.
    pub fn int_arg(&mut self, index: u8, ty: ArgType, value: u64) -> &mut Self {
        let class = WireClass::from_code(class_of(ty)).unwrap_or(WireClass::Int8);
        let n = class.fixed_size().unwrap_or(8);
        if self.head(index, ty, class) {
            self.args.extend_from_slice(&value.to_le_bytes()[..n]);
        }
        self
    }

    /// A string argument (bytes without the NUL).
    pub fn str_arg(&mut self, index: u8, ty: ArgType, s: &[u8]) -> &mut Self {
        if self.head(index, ty, WireClass::Str) {
            self.lp(s);
        }
        self
    }

    /// A string-array argument.
    pub fn str_array_arg<S: AsRef<[u8]>>(
        &mut self,
        index: u8,
        ty: ArgType,
        items: &[S],
        truncated: bool,
    ) -> &mut Self {
        if self.head(index, ty, WireClass::StrArray) {
            let count = items.len().min(u16::MAX as usize);
            self.args.extend_from_slice(&(count as u16).to_le_bytes());
            self.args.extend_from_slice(&[u8::from(truncated), 0]);
            for s in &items[..count] {
                self.lp(s.as_ref());
            }
        }
        self
    }

    /// A buffer (or sockaddr) argument.
    pub fn bytes_arg(&mut self, index: u8, ty: ArgType, b: &[u8]) -> &mut Self {
        if self.head(index, ty, WireClass::Bytes) {
            self.lp(b);
        }
        self
    }

    /// The event's bytes.
    pub fn finish(&self) -> Vec<u8> {
        let hd = &self.header;
        let mut out = vec![0u8; HEADER_SIZE];
        out[h::VERSION] = WIRE_VERSION;
        out[h::FLAGS] = hd.flags;
        out[h::ARGNUM] = self.argnum;
        out[h::POLICIES_VERSION] = hd.policies_version;
        let mut put = |at: usize, b: &[u8]| out[at..at + b.len()].copy_from_slice(b);
        put(h::EVENT_ID, &self.event_id.to_le_bytes());
        put(h::TIMESTAMP, &hd.timestamp.to_le_bytes());
        put(h::START_TIME, &hd.task_start_time.to_le_bytes());
        put(h::CGROUP_ID, &hd.cgroup_id.to_le_bytes());
        put(h::POLICIES, &hd.matched_policies.to_le_bytes());
        put(h::RETVAL, &hd.retval.to_le_bytes());
        put(h::PID, &hd.pid.to_le_bytes());
        put(h::TID, &hd.tid.to_le_bytes());
        put(h::PPID, &hd.ppid.to_le_bytes());
        put(h::NS_PID, &hd.ns_pid.to_le_bytes());
        put(h::NS_TID, &hd.ns_tid.to_le_bytes());
        put(h::NS_PPID, &hd.ns_ppid.to_le_bytes());
        put(h::UID, &hd.uid.to_le_bytes());
        put(h::GID, &hd.gid.to_le_bytes());
        put(h::MNT_NS, &hd.mnt_ns.to_le_bytes());
        put(h::PID_NS, &hd.pid_ns.to_le_bytes());
        put(h::SYSCALL, &hd.syscall.unwrap_or(-1).to_le_bytes());
        put(h::CPU, &hd.cpu.to_le_bytes());
        let comm = hd.comm.as_bytes();
        put(h::COMM, &comm[..comm.len().min(15)]);
        let uts = hd.uts_name.as_bytes();
        put(h::UTS_NAME, &uts[..uts.len().min(15)]);
        out.extend_from_slice(&self.args);
        out
    }
}
