//! The BTF header (`struct btf_header`) and the optional kind layout section.

use crate::error::BtfError;

/// `BTF_MAGIC` as it reads in the file's own byte order.
pub(crate) const MAGIC: u16 = 0xeb9f;
/// Size of the original header, without the layout section fields.
pub(crate) const HEADER_LEN_V1: u32 = 24;
/// Size of the header that adds `layout_off` and `layout_len`.
pub(crate) const HEADER_LEN_LAYOUT: u32 = 32;

/// Byte order of a BTF blob; BTF is written in the byte order of the machine it describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endian {
    Little,
    Big,
}

impl Endian {
    #[inline(always)]
    pub(crate) fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }

    #[inline(always)]
    pub(crate) fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }
}

/// Reads a u32 at `off`, which the caller has bounds-checked.
#[inline(always)]
pub(crate) fn read_u32(data: &[u8], off: usize, endian: Endian) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&data[off..off + 4]);
    endian.u32(b)
}

/// Size information for one kind, from the BTF's layout section.
///
/// Newer encoders describe every kind they emit, so a reader can step over kinds it does not
/// understand: a record is `12 + info_sz + vlen * elem_sz` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KindLayout {
    /// Bytes that follow `struct btf_type` once.
    pub info_sz: u8,
    /// Bytes per `vlen` element.
    pub elem_sz: u8,
    /// Reserved flags.
    pub flags: u16,
}

/// The decoded `struct btf_header`.
///
/// Section offsets are relative to the end of the header, as in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `0xeb9f` read in the blob's own byte order.
    pub magic: u16,
    /// Format version (1).
    pub version: u8,
    /// Header flags (none defined).
    pub flags: u8,
    /// Header length: 24, or 32 with the layout section.
    pub hdr_len: u32,
    /// Offset of the type section.
    pub type_off: u32,
    /// Length of the type section.
    pub type_len: u32,
    /// Offset of the string section.
    pub str_off: u32,
    /// Length of the string section.
    pub str_len: u32,
    /// Offset of the kind layout section (0 when absent).
    pub layout_off: u32,
    /// Length of the kind layout section (0 when absent).
    pub layout_len: u32,
}

/// Absolute byte ranges of the sections, checked against the data length.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sections {
    pub(crate) types: (usize, usize),
    pub(crate) strings: (usize, usize),
    pub(crate) layout: Option<(usize, usize)>,
}

impl Header {
    /// Parses and checks the header, returning it with its byte order and section ranges.
    pub(crate) fn parse(data: &[u8]) -> Result<(Header, Endian, Sections), BtfError> {
        if data.len() < 8 {
            return Err(BtfError::truncated("BTF header", 0, 8, data.len()));
        }
        let endian = match [data[0], data[1]] {
            [0x9f, 0xeb] => Endian::Little,
            [0xeb, 0x9f] => Endian::Big,
            b => {
                return Err(BtfError::BadMagic {
                    magic: u16::from_le_bytes(b),
                })
            }
        };
        let version = data[2];
        if version != 1 {
            return Err(BtfError::BadVersion { version });
        }
        let hdr_len = read_u32(data, 4, endian);
        if hdr_len < HEADER_LEN_V1 {
            return Err(BtfError::BadHeader {
                reason: format!("hdr_len {hdr_len} is shorter than the 24-byte header"),
            });
        }
        let hdr_end = hdr_len as usize;
        if data.len() < hdr_end {
            return Err(BtfError::truncated("BTF header", 0, hdr_end, data.len()));
        }
        // Like libbpf, accept a longer header from a newer writer only if what we do not
        // understand is zero: a non-zero field could change how the rest must be read.
        let known = hdr_len.min(HEADER_LEN_LAYOUT) as usize;
        if let Some(pos) = data[known..hdr_end].iter().position(|&b| b != 0) {
            return Err(BtfError::BadHeader {
                reason: format!(
                    "unknown non-zero header byte at offset {} (hdr_len {hdr_len})",
                    known + pos
                ),
            });
        }
        let field = |off: usize| read_u32(data, off, endian);
        let (layout_off, layout_len) = if hdr_len >= HEADER_LEN_LAYOUT {
            (field(24), field(28))
        } else if hdr_len > HEADER_LEN_V1 {
            return Err(BtfError::BadHeader {
                reason: format!("hdr_len {hdr_len} cuts the layout section fields in half"),
            });
        } else {
            (0, 0)
        };
        let header = Header {
            magic: MAGIC,
            version,
            flags: data[3],
            hdr_len,
            type_off: field(8),
            type_len: field(12),
            str_off: field(16),
            str_len: field(20),
            layout_off,
            layout_len,
        };
        let sections = header.sections(data.len())?;
        Ok((header, endian, sections))
    }

    fn sections(&self, len: usize) -> Result<Sections, BtfError> {
        let base = u64::from(self.hdr_len);
        let range = |section: &'static str, off: u32, size: u32| {
            let start = base + u64::from(off);
            let end = start + u64::from(size);
            if end > len as u64 {
                return Err(BtfError::BadSection {
                    section,
                    start,
                    end,
                    len,
                });
            }
            Ok((start as usize, end as usize))
        };
        let types = range("type", self.type_off, self.type_len)?;
        let strings = range("string", self.str_off, self.str_len)?;
        if self.type_off % 4 != 0 {
            return Err(BtfError::BadHeader {
                reason: format!("type_off {} is not 4-byte aligned", self.type_off),
            });
        }
        let layout = if self.layout_len > 0 {
            let r = range("layout", self.layout_off, self.layout_len)?;
            if self.layout_len % 4 != 0 {
                return Err(BtfError::BadHeader {
                    reason: format!("layout_len {} is not a multiple of 4", self.layout_len),
                });
            }
            Some(r)
        } else {
            None
        };
        let overlaps = |a: (usize, usize), b: (usize, usize)| a.0 < b.1 && b.0 < a.1;
        let mut all = vec![("type", types), ("string", strings)];
        if let Some(l) = layout {
            all.push(("layout", l));
        }
        for (i, (name, a)) in all.iter().enumerate() {
            for (_, b) in &all[i + 1..] {
                if overlaps(*a, *b) {
                    return Err(BtfError::BadSection {
                        section: name,
                        start: a.0 as u64,
                        end: a.1 as u64,
                        len,
                    });
                }
            }
        }
        Ok(Sections {
            types,
            strings,
            layout,
        })
    }
}
