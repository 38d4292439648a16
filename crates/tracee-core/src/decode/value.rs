//! Typed argument values borrowed from an event.

use std::borrow::Cow;
use std::fmt;

use super::sockaddr::Sockaddr;

/// An argument's value, borrowing strings and buffers from the event bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArgValue<'a> {
    /// A signed integer (`S32`, `S64`).
    Int(i64),
    /// An unsigned integer (`U8`..`U64`, and integers of unknown types).
    UInt(u64),
    /// A boolean.
    Bool(bool),
    /// An address, not dereferenced.
    Pointer(u64),
    /// A string (raw bytes: the kernel does not promise UTF-8).
    Str(&'a [u8]),
    /// An array of strings.
    StrArray(StrArrayRef<'a>),
    /// A buffer.
    Bytes(&'a [u8]),
    /// A `struct sockaddr` as the program read it (see [`Sockaddr::parse`]).
    Sockaddr(&'a [u8]),
    /// Two ints (`pipe`'s fds).
    IntPair([i32; 2]),
}

impl fmt::Display for ArgValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgValue::Int(v) => write!(f, "{v}"),
            ArgValue::UInt(v) => write!(f, "{v}"),
            ArgValue::Bool(v) => write!(f, "{v}"),
            ArgValue::Pointer(v) => write!(f, "{v:#x}"),
            ArgValue::Str(s) => f.write_str(&String::from_utf8_lossy(s)),
            ArgValue::StrArray(a) => {
                f.write_str("[")?;
                for (i, s) in a.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    f.write_str(&String::from_utf8_lossy(s))?;
                }
                if a.truncated() {
                    f.write_str(" ...")?;
                }
                f.write_str("]")
            }
            ArgValue::Bytes(b) => {
                for byte in b.iter().take(32) {
                    write!(f, "{byte:02x}")?;
                }
                if b.len() > 32 {
                    write!(f, "...({} bytes)", b.len())?;
                }
                Ok(())
            }
            ArgValue::Sockaddr(b) => write!(f, "{}", Sockaddr::parse(b)),
            ArgValue::IntPair([a, b]) => write!(f, "[{a} {b}]"),
        }
    }
}

/// A borrowed string array (checked by [`EventRef::parse`](super::EventRef::parse)).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct StrArrayRef<'a> {
    count: u16,
    truncated: bool,
    elems: &'a [u8],
}

impl<'a> StrArrayRef<'a> {
    #[inline]
    pub(crate) fn from_payload(payload: &'a [u8]) -> StrArrayRef<'a> {
        match payload {
            [c0, c1, t, _, elems @ ..] => StrArrayRef {
                count: u16::from_le_bytes([*c0, *c1]),
                truncated: *t != 0,
                elems,
            },
            _ => StrArrayRef {
                count: 0,
                truncated: false,
                elems: &[],
            },
        }
    }

    /// Number of strings captured.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// Whether no string was captured.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether the program stopped before the array's end (too many or too long strings).
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// The strings as raw bytes.
    #[inline]
    pub fn iter(&self) -> StrArrayIter<'a> {
        StrArrayIter {
            rest: self.elems,
            left: self.count,
        }
    }

    /// The strings, lossily as UTF-8.
    pub fn iter_lossy(&self) -> impl Iterator<Item = Cow<'a, str>> + 'a {
        self.iter().map(String::from_utf8_lossy)
    }

    /// The strings as owned `String`s (lossy UTF-8).
    pub fn to_vec(&self) -> Vec<String> {
        self.iter_lossy().map(Cow::into_owned).collect()
    }
}

impl fmt::Debug for StrArrayRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter_lossy()).finish()?;
        if self.truncated {
            f.write_str(" (truncated)")?;
        }
        Ok(())
    }
}

impl<'a> IntoIterator for StrArrayRef<'a> {
    type Item = &'a [u8];
    type IntoIter = StrArrayIter<'a>;

    #[inline]
    fn into_iter(self) -> StrArrayIter<'a> {
        self.iter()
    }
}

/// Iterator over the strings of a [`StrArrayRef`].
#[derive(Debug, Clone)]
pub struct StrArrayIter<'a> {
    rest: &'a [u8],
    left: u16,
}

impl<'a> Iterator for StrArrayIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        // Checked at parse time; a mismatch only ends the iteration.
        let (len, rest) = match self.rest {
            [a, b, c, d, rest @ ..] => (u32::from_le_bytes([*a, *b, *c, *d]) as usize, rest),
            _ => {
                self.left = 0;
                return None;
            }
        };
        if len > rest.len() {
            self.left = 0;
            return None;
        }
        let (s, rest) = rest.split_at(len);
        self.rest = rest;
        self.left -= 1;
        Some(s)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(usize::from(self.left)))
    }
}
