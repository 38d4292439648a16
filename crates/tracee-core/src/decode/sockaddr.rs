//! `struct sockaddr` bytes as the program captures them.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use serde::{Deserialize, Serialize};

/// A decoded socket address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Sockaddr {
    /// `AF_INET`.
    Inet {
        /// Address and port.
        addr: SocketAddrV4,
    },
    /// `AF_INET6`.
    Inet6 {
        /// Address and port (flow info and scope id in `addr`).
        addr: SocketAddrV6,
    },
    /// `AF_UNIX`: the path (abstract names start with `@`).
    Unix {
        /// The path.
        path: String,
    },
    /// Another family, or too few bytes for its family.
    Other {
        /// The family number (0 if fewer than 2 bytes).
        family: u16,
        /// Length of what was captured.
        len: usize,
    },
}

impl Sockaddr {
    /// Decode captured sockaddr bytes; never fails (unknown or short input is `Other`).
    pub fn parse(b: &[u8]) -> Sockaddr {
        let family = match b {
            [a, c, ..] => u16::from_le_bytes([*a, *c]),
            _ => {
                return Sockaddr::Other {
                    family: 0,
                    len: b.len(),
                }
            }
        };
        match (family, b.len()) {
            (2, 8..) => Sockaddr::Inet {
                addr: SocketAddrV4::new(
                    Ipv4Addr::new(b[4], b[5], b[6], b[7]),
                    u16::from_be_bytes([b[2], b[3]]),
                ),
            },
            (10, 24..) => {
                let mut ip = [0u8; 16];
                ip.copy_from_slice(&b[8..24]);
                let flow = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
                let scope = match b.get(24..28) {
                    Some(&[a, c, d, e]) => u32::from_le_bytes([a, c, d, e]),
                    _ => 0,
                };
                Sockaddr::Inet6 {
                    addr: SocketAddrV6::new(
                        Ipv6Addr::from(ip),
                        u16::from_be_bytes([b[2], b[3]]),
                        flow,
                        scope,
                    ),
                }
            }
            (1, _) => {
                let raw = &b[2..];
                let path = if raw.first() == Some(&0) && raw.len() > 1 {
                    let name = &raw[1..];
                    let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
                    format!("@{}", String::from_utf8_lossy(&name[..end]))
                } else {
                    let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
                    String::from_utf8_lossy(&raw[..end]).into_owned()
                };
                Sockaddr::Unix { path }
            }
            (family, len) => Sockaddr::Other { family, len },
        }
    }
}

impl fmt::Display for Sockaddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sockaddr::Inet { addr } => write!(f, "{addr}"),
            Sockaddr::Inet6 { addr } => write!(f, "{addr}"),
            Sockaddr::Unix { path } => write!(f, "unix:{path}"),
            Sockaddr::Other { family, len } => write!(f, "family {family} ({len} bytes)"),
        }
    }
}
