//! [`Event`]: an owned, named event, for channels, JSON and storage.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::sockaddr::Sockaddr;
use super::value::ArgValue;
use super::EventRef;
use crate::events::{ArgType, EventDefinition};
use crate::wire::header::Header;
use crate::wire::HeaderFlags;

/// An owned argument value (JSON: the plain value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum OwnedValue {
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A boolean.
    Bool(bool),
    /// A string (lossy UTF-8).
    Str(String),
    /// A string array (lossy UTF-8).
    StrArray(Vec<String>),
    /// A buffer.
    Bytes(Vec<u8>),
    /// A socket address.
    Sockaddr(Sockaddr),
    /// Two ints.
    IntPair([i32; 2]),
}

impl From<ArgValue<'_>> for OwnedValue {
    fn from(v: ArgValue<'_>) -> OwnedValue {
        match v {
            ArgValue::Int(i) => OwnedValue::Int(i),
            ArgValue::UInt(u) | ArgValue::Pointer(u) => OwnedValue::UInt(u),
            ArgValue::Bool(b) => OwnedValue::Bool(b),
            ArgValue::Str(s) => OwnedValue::Str(String::from_utf8_lossy(s).into_owned()),
            ArgValue::StrArray(a) => OwnedValue::StrArray(a.to_vec()),
            ArgValue::Bytes(b) => OwnedValue::Bytes(b.to_vec()),
            ArgValue::Sockaddr(b) => OwnedValue::Sockaddr(Sockaddr::parse(b)),
            ArgValue::IntPair(p) => OwnedValue::IntPair(p),
        }
    }
}

impl OwnedValue {
    /// The string, for string values.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            OwnedValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The strings, for string-array values.
    pub fn as_str_array(&self) -> Option<&[String]> {
        match self {
            OwnedValue::StrArray(a) => Some(a),
            _ => None,
        }
    }

    /// Integer values as `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            OwnedValue::Int(i) => Some(i),
            OwnedValue::UInt(u) => Some(u as i64),
            OwnedValue::Bool(b) => Some(i64::from(b)),
            _ => None,
        }
    }
}

impl fmt::Display for OwnedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OwnedValue::Int(v) => write!(f, "{v}"),
            OwnedValue::UInt(v) => write!(f, "{v}"),
            OwnedValue::Bool(v) => write!(f, "{v}"),
            OwnedValue::Str(s) => f.write_str(s),
            OwnedValue::StrArray(a) => write!(f, "{a:?}"),
            OwnedValue::Bytes(b) => {
                for byte in b.iter().take(32) {
                    write!(f, "{byte:02x}")?;
                }
                if b.len() > 32 {
                    write!(f, "...({} bytes)", b.len())?;
                }
                Ok(())
            }
            OwnedValue::Sockaddr(s) => write!(f, "{s}"),
            OwnedValue::IntPair([a, b]) => write!(f, "[{a} {b}]"),
        }
    }
}

/// One named argument of an [`Event`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arg {
    /// The name from the definition (`arg<N>` without one).
    pub name: String,
    /// The type, if known.
    #[serde(rename = "type")]
    pub ty: Option<ArgType>,
    /// The value.
    pub value: OwnedValue,
}

/// An owned event with names. Serializes to one JSON object (see `docs/wire-format.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Event id.
    pub event_id: u32,
    /// Event name from the definition (`event_<id>` without one).
    pub event_name: String,
    /// The context header.
    #[serde(flatten)]
    pub header: Header,
    /// The arguments, in definition order.
    pub args: Vec<Arg>,
}

impl Event {
    /// The argument called `name`.
    pub fn arg(&self, name: &str) -> Option<&OwnedValue> {
        self.args.iter().find(|a| a.name == name).map(|a| &a.value)
    }

    /// The header flags.
    pub fn flags(&self) -> HeaderFlags {
        HeaderFlags::from_bits_retain(self.header.flags)
    }

    /// Owned copy of `ev`, with names from `def` (the definition of `ev`'s id, if known).
    pub fn from_ref(ev: &EventRef<'_>, def: Option<&EventDefinition>) -> Event {
        let mut args: Vec<Arg> = ev
            .args()
            .map(|a| {
                let adef = def.and_then(|d| d.args().get(usize::from(a.index)));
                Arg {
                    name: adef
                        .map(|d| d.name.to_string())
                        .unwrap_or_else(|| format!("arg{}", a.index)),
                    ty: a.arg_type(),
                    value: a.value().into(),
                }
            })
            .collect();
        if def.is_some() {
            // Wire order is register/slot order; present them in definition order.
            let order = |name: &str| {
                def.and_then(|d| d.arg(name))
                    .map(|(i, _)| i)
                    .unwrap_or(usize::MAX)
            };
            args.sort_by_key(|a| order(&a.name));
        }
        Event {
            event_id: ev.event_id().0,
            event_name: def
                .map(|d| d.name().to_string())
                .unwrap_or_else(|| format!("event_{}", ev.event_id().0)),
            header: Header {
                timestamp: ev.timestamp(),
                task_start_time: ev.task_start_time(),
                cgroup_id: ev.cgroup_id(),
                matched_policies: ev.matched_policies(),
                retval: ev.retval(),
                pid: ev.pid(),
                tid: ev.tid(),
                ppid: ev.ppid(),
                ns_pid: ev.ns_pid(),
                ns_tid: ev.ns_tid(),
                ns_ppid: ev.ns_ppid(),
                uid: ev.uid(),
                gid: ev.gid(),
                mnt_ns: ev.mnt_ns(),
                pid_ns: ev.pid_ns(),
                syscall: ev.syscall(),
                cpu: ev.cpu(),
                comm: ev.comm().into_owned(),
                uts_name: ev.uts_name().into_owned(),
                flags: ev.flags().bits(),
                policies_version: ev.policies_version(),
            },
            args,
        }
    }
}
