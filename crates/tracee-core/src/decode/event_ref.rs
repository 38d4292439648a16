//! [`EventRef`]: a checked, zero-copy view of one event.

use std::borrow::Cow;
use std::fmt;

use super::value::{ArgValue, StrArrayRef};
use super::DecodeError;
use crate::events::{ArgType, EventDefinition, EventId};
use crate::wire::header as h;
use crate::wire::{HeaderFlags, WireClass, ARG_HEAD_SIZE, HEADER_SIZE, MAX_ARGS, WIRE_VERSION};

/// Largest record the decoder accepts (the program's events are at most 16 KiB).
pub const MAX_RECORD: usize = u16::MAX as usize;

/// A borrowed view of one event in the wire format. Create it with [`EventRef::parse`],
/// which checks every byte's place once; the accessors then cannot fail or allocate.
#[derive(Clone, Copy)]
pub struct EventRef<'a> {
    bytes: &'a [u8],
    header: &'a [u8; HEADER_SIZE],
    argnum: u8,
    /// Start of each argument's head; `offs[argnum]` is the end of the last argument.
    offs: [u16; MAX_ARGS + 1],
}

#[inline(always)]
fn need(bytes: &[u8], offset: usize, n: usize, what: &'static str) -> Result<(), DecodeError> {
    match bytes.len().checked_sub(offset) {
        Some(available) if available >= n => Ok(()),
        available => Err(truncated(what, offset, n, available.unwrap_or(0))),
    }
}

#[cold]
#[inline(never)]
fn truncated(what: &'static str, offset: usize, need: usize, available: usize) -> DecodeError {
    DecodeError::Truncated {
        what,
        offset,
        need,
        available,
    }
}

#[inline(always)]
fn le_u32(bytes: &[u8], at: usize) -> u32 {
    match bytes.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => 0,
    }
}

#[inline(always)]
fn le_u16(bytes: &[u8], at: usize) -> u16 {
    match bytes.get(at..at + 2) {
        Some(&[a, b]) => u16::from_le_bytes([a, b]),
        _ => 0,
    }
}

/// Check one length-prefixed string/bytes at `off`; returns the offset after it.
#[inline(always)]
fn skip_lp(bytes: &[u8], off: usize, what: &'static str) -> Result<usize, DecodeError> {
    need(bytes, off, 4, what)?;
    let len = le_u32(bytes, off) as usize;
    need(bytes, off + 4, len, what)?;
    Ok(off + 4 + len)
}

fn skip_payload(bytes: &[u8], off: usize, class: WireClass) -> Result<usize, DecodeError> {
    match class {
        WireClass::Str => skip_lp(bytes, off, "string"),
        WireClass::Bytes => skip_lp(bytes, off, "bytes"),
        WireClass::StrArray => {
            need(bytes, off, 4, "string array head")?;
            let count = le_u16(bytes, off);
            let mut p = off + 4;
            for _ in 0..count {
                p = skip_lp(bytes, p, "string array element")?;
            }
            Ok(p)
        }
        fixed => {
            let n = fixed.fixed_size().unwrap_or(8);
            need(bytes, off, n, "integer")?;
            Ok(off + n)
        }
    }
}

impl<'a> EventRef<'a> {
    /// Check `bytes` against the wire format and view them.
    ///
    /// Errors name the field and offset that do not fit; nothing here panics on any input.
    #[inline]
    pub fn parse(bytes: &'a [u8]) -> Result<EventRef<'a>, DecodeError> {
        let header: &[u8; HEADER_SIZE] = match bytes.get(..HEADER_SIZE) {
            Some(hd) => hd.try_into().map_err(|_| DecodeError::Truncated {
                what: "header",
                offset: 0,
                need: HEADER_SIZE,
                available: bytes.len(),
            })?,
            None => {
                return Err(DecodeError::Truncated {
                    what: "header",
                    offset: 0,
                    need: HEADER_SIZE,
                    available: bytes.len(),
                })
            }
        };
        if bytes.len() > MAX_RECORD {
            return Err(DecodeError::TooLarge {
                len: bytes.len(),
                max: MAX_RECORD,
            });
        }
        if header[h::VERSION] != WIRE_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                version: header[h::VERSION],
                supported: WIRE_VERSION,
            });
        }
        let argnum = header[h::ARGNUM];
        if usize::from(argnum) > MAX_ARGS {
            return Err(DecodeError::TooManyArgs {
                argnum,
                max: MAX_ARGS,
            });
        }
        let mut offs = [0u16; MAX_ARGS + 1];
        let mut off = HEADER_SIZE;
        for (i, slot) in offs.iter_mut().take(usize::from(argnum)).enumerate() {
            *slot = off as u16;
            need(bytes, off, ARG_HEAD_SIZE, "argument head")?;
            let code = bytes[off + 2];
            let class = WireClass::from_code(code).ok_or(DecodeError::UnknownClass {
                arg: i,
                offset: off,
                class: code,
            })?;
            off = skip_payload(bytes, off + ARG_HEAD_SIZE, class)?;
        }
        offs[usize::from(argnum)] = off as u16;
        let rest = &bytes[off..];
        // Perf buffers pad samples to 8 bytes with zeros; anything else is not ours.
        if !rest.is_empty() && (rest.len() > 7 || rest.iter().any(|&b| b != 0)) {
            return Err(DecodeError::TrailingBytes {
                offset: off,
                extra: rest.len(),
            });
        }
        Ok(EventRef {
            bytes,
            header,
            argnum,
            offs,
        })
    }

    /// The event's bytes (without trailing padding).
    #[inline]
    pub fn bytes(&self) -> &'a [u8] {
        &self.bytes[..self.offs[usize::from(self.argnum)] as usize]
    }

    #[inline(always)]
    fn u32_at(&self, at: usize) -> u32 {
        let b = self.header;
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    #[inline(always)]
    fn u64_at(&self, at: usize) -> u64 {
        let b = self.header;
        u64::from_le_bytes([
            b[at],
            b[at + 1],
            b[at + 2],
            b[at + 3],
            b[at + 4],
            b[at + 5],
            b[at + 6],
            b[at + 7],
        ])
    }

    /// The header flags.
    #[inline]
    pub fn flags(&self) -> HeaderFlags {
        HeaderFlags::from_bits_retain(self.header[h::FLAGS])
    }

    /// The low byte of the policies version the kernel judged the event with (0: no
    /// policies installed); see [`Header::policies_version`](crate::wire::header::Header).
    #[inline]
    pub fn policies_version(&self) -> u8 {
        self.header[h::POLICIES_VERSION]
    }

    /// The event id.
    #[inline]
    pub fn event_id(&self) -> EventId {
        EventId(self.u32_at(h::EVENT_ID))
    }

    /// Event time in ns since boot (syscalls: time of exit, of entry with
    /// [`HeaderFlags::ARGS_AT_ENTRY`] or `SyscallHooks::EntryAndExit`).
    #[inline]
    pub fn timestamp(&self) -> u64 {
        self.u64_at(h::TIMESTAMP)
    }

    /// The thread's start time in ns since boot.
    #[inline]
    pub fn task_start_time(&self) -> u64 {
        self.u64_at(h::START_TIME)
    }

    /// cgroup v2 id.
    #[inline]
    pub fn cgroup_id(&self) -> u64 {
        self.u64_at(h::CGROUP_ID)
    }

    /// Bitmap of the policies that selected the event.
    #[inline]
    pub fn matched_policies(&self) -> u64 {
        self.u64_at(h::POLICIES)
    }

    /// The syscall's return value (0 for other events).
    #[inline]
    pub fn retval(&self) -> i64 {
        self.u64_at(h::RETVAL) as i64
    }

    /// Host process id.
    #[inline]
    pub fn pid(&self) -> u32 {
        self.u32_at(h::PID)
    }

    /// Host thread id.
    #[inline]
    pub fn tid(&self) -> u32 {
        self.u32_at(h::TID)
    }

    /// Host parent process id.
    #[inline]
    pub fn ppid(&self) -> u32 {
        self.u32_at(h::PPID)
    }

    /// Process id in its pid namespace.
    #[inline]
    pub fn ns_pid(&self) -> u32 {
        self.u32_at(h::NS_PID)
    }

    /// Thread id in its pid namespace.
    #[inline]
    pub fn ns_tid(&self) -> u32 {
        self.u32_at(h::NS_TID)
    }

    /// Parent process id in its pid namespace.
    #[inline]
    pub fn ns_ppid(&self) -> u32 {
        self.u32_at(h::NS_PPID)
    }

    /// Real uid.
    #[inline]
    pub fn uid(&self) -> u32 {
        self.u32_at(h::UID)
    }

    /// Real gid.
    #[inline]
    pub fn gid(&self) -> u32 {
        self.u32_at(h::GID)
    }

    /// Mount namespace id.
    #[inline]
    pub fn mnt_ns(&self) -> u32 {
        self.u32_at(h::MNT_NS)
    }

    /// Pid namespace id.
    #[inline]
    pub fn pid_ns(&self) -> u32 {
        self.u32_at(h::PID_NS)
    }

    /// The syscall number, `None` for non-syscall events.
    #[inline]
    pub fn syscall(&self) -> Option<i32> {
        let nr = self.u32_at(h::SYSCALL) as i32;
        (nr >= 0).then_some(nr)
    }

    /// CPU the event was emitted on.
    #[inline]
    pub fn cpu(&self) -> u32 {
        self.u32_at(h::CPU)
    }

    fn cstr(&self, at: usize) -> &'a [u8] {
        let field = &self.header[at..at + 16];
        let end = field.iter().position(|&b| b == 0).unwrap_or(16);
        &field[..end]
    }

    /// The task's comm (raw bytes, up to 15).
    #[inline]
    pub fn comm_bytes(&self) -> &'a [u8] {
        self.cstr(h::COMM)
    }

    /// The task's comm, lossily as UTF-8.
    #[inline]
    pub fn comm(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.comm_bytes())
    }

    /// The UTS nodename (raw bytes, up to 15).
    #[inline]
    pub fn uts_name_bytes(&self) -> &'a [u8] {
        self.cstr(h::UTS_NAME)
    }

    /// The UTS nodename, lossily as UTF-8.
    #[inline]
    pub fn uts_name(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.uts_name_bytes())
    }

    /// How many arguments the event carries.
    #[inline]
    pub fn arg_count(&self) -> usize {
        usize::from(self.argnum)
    }

    /// The `i`-th argument on the wire (not necessarily the definition's `i`-th: see
    /// [`ArgRef::index`]).
    #[inline]
    pub fn arg(&self, i: usize) -> Option<ArgRef<'a>> {
        if i >= usize::from(self.argnum) {
            return None;
        }
        let start = usize::from(self.offs[i]);
        let end = usize::from(self.offs[i + 1]);
        // Checked by parse: the head and payload are in bounds and the class is known.
        match self.bytes.get(start..end)? {
            [index, type_code, class, payload @ ..] => Some(ArgRef {
                index: *index,
                type_code: *type_code,
                class: WireClass::from_code(*class)?,
                payload,
            }),
            _ => None,
        }
    }

    /// The argument with definition index `index`.
    #[inline]
    pub fn arg_by_index(&self, index: u8) -> Option<ArgRef<'a>> {
        self.args().find(|a| a.index == index)
    }

    /// The argument `def` names `name` (`def` is this event's definition).
    #[inline]
    pub fn arg_named(&self, def: &EventDefinition, name: &str) -> Option<ArgRef<'a>> {
        let (i, _) = def.arg(name)?;
        self.arg_by_index(u8::try_from(i).ok()?)
    }

    /// The arguments in wire order.
    #[inline]
    pub fn args(&self) -> Args<'_, 'a> {
        Args { ev: self, next: 0 }
    }
}

impl fmt::Debug for EventRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventRef")
            .field("event_id", &self.event_id())
            .field("pid", &self.pid())
            .field("tid", &self.tid())
            .field("comm", &self.comm())
            .field("retval", &self.retval())
            .field("args", &self.args().collect::<Vec<_>>())
            .finish()
    }
}

/// Iterator over an event's arguments.
#[derive(Debug, Clone)]
pub struct Args<'r, 'a> {
    ev: &'r EventRef<'a>,
    next: usize,
}

impl<'a> Iterator for Args<'_, 'a> {
    type Item = ArgRef<'a>;

    #[inline]
    fn next(&mut self) -> Option<ArgRef<'a>> {
        let a = self.ev.arg(self.next)?;
        self.next += 1;
        Some(a)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.ev.arg_count().saturating_sub(self.next);
        (n, Some(n))
    }
}

/// One argument of an [`EventRef`]: which one, its type, and its payload.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ArgRef<'a> {
    /// Position in the event's definition ([`EventDefinition::args`]).
    pub index: u8,
    /// The [`ArgType`] wire code (kept raw: a newer program may send a newer type).
    pub type_code: u8,
    /// The payload's layout.
    pub class: WireClass,
    payload: &'a [u8],
}

impl<'a> ArgRef<'a> {
    /// The argument's type, if this decoder knows its code.
    #[inline]
    pub fn arg_type(&self) -> Option<ArgType> {
        ArgType::from_wire(self.type_code, 0)
    }

    /// The payload bytes as on the wire (after the 3-byte head).
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    #[inline(always)]
    fn raw_int(&self) -> Option<u64> {
        let p = self.payload;
        Some(match self.class {
            WireClass::Int8 | WireClass::IntPair => {
                u64::from_le_bytes(p.get(..8)?.try_into().ok()?)
            }
            WireClass::Int4 => u64::from(u32::from_le_bytes(p.get(..4)?.try_into().ok()?)),
            WireClass::Int2 => u64::from(u16::from_le_bytes(p.get(..2)?.try_into().ok()?)),
            WireClass::Int1 => u64::from(*p.first()?),
            _ => return None,
        })
    }

    #[inline(always)]
    fn lp(&self) -> Option<&'a [u8]> {
        match self.class {
            WireClass::Str | WireClass::Bytes => self.payload.get(4..),
            _ => None,
        }
    }

    /// The typed value.
    #[inline]
    pub fn value(&self) -> ArgValue<'a> {
        let ty = self.arg_type();
        match self.class {
            WireClass::Str => ArgValue::Str(self.lp().unwrap_or_default()),
            WireClass::Bytes => match ty {
                Some(ArgType::Sockaddr) => ArgValue::Sockaddr(self.lp().unwrap_or_default()),
                _ => ArgValue::Bytes(self.lp().unwrap_or_default()),
            },
            WireClass::StrArray => ArgValue::StrArray(StrArrayRef::from_payload(self.payload)),
            WireClass::IntPair => {
                let raw = self.raw_int().unwrap_or(0);
                ArgValue::IntPair([raw as u32 as i32, (raw >> 32) as u32 as i32])
            }
            _ => {
                let raw = self.raw_int().unwrap_or(0);
                match ty {
                    Some(ArgType::S32) => ArgValue::Int(i64::from(raw as u32 as i32)),
                    Some(ArgType::S64) => ArgValue::Int(raw as i64),
                    Some(ArgType::Bool) => ArgValue::Bool(raw != 0),
                    Some(ArgType::Pointer) => ArgValue::Pointer(raw),
                    _ => ArgValue::UInt(raw),
                }
            }
        }
    }

    /// Integer arguments as `i64` (signed types sign-extended, unsigned reinterpreted).
    #[inline]
    pub fn as_i64(&self) -> Option<i64> {
        let raw = self.raw_int()?;
        Some(match (self.arg_type(), self.class) {
            (Some(ArgType::S32), _) => i64::from(raw as u32 as i32),
            (_, WireClass::IntPair) => return None,
            _ => raw as i64,
        })
    }

    /// Integer arguments as `u64` (the raw bits, zero-extended).
    #[inline]
    pub fn as_u64(&self) -> Option<u64> {
        match self.class {
            WireClass::IntPair => None,
            _ => self.raw_int(),
        }
    }

    /// String and buffer arguments as raw bytes.
    #[inline]
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        self.lp()
    }

    /// String arguments as `&str`, if they are valid UTF-8.
    #[inline]
    pub fn as_str(&self) -> Option<&'a str> {
        match self.class {
            WireClass::Str => std::str::from_utf8(self.lp()?).ok(),
            _ => None,
        }
    }

    /// String arguments, lossily as UTF-8.
    #[inline]
    pub fn to_str_lossy(&self) -> Option<Cow<'a, str>> {
        match self.class {
            WireClass::Str => Some(String::from_utf8_lossy(self.lp()?)),
            _ => None,
        }
    }

    /// String-array arguments.
    #[inline]
    pub fn as_str_array(&self) -> Option<StrArrayRef<'a>> {
        match self.class {
            WireClass::StrArray => Some(StrArrayRef::from_payload(self.payload)),
            _ => None,
        }
    }
}

impl fmt::Debug for ArgRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArgRef")
            .field("index", &self.index)
            .field("type", &self.arg_type())
            .field("value", &self.value())
            .finish()
    }
}
