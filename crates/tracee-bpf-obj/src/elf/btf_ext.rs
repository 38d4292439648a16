//! `.BTF.ext`: the header and the three record tables (func_info, line_info, CO-RE
//! relocations), parsed with libbpf's validity rules (`btf_ext_parse` / `btf_ext_setup_info`).
//!
//! Records keep their string offsets raw; they point into the object's `.BTF` string section
//! and are resolved by [`crate::elf::BpfObject`].

use super::error::ObjectError;

/// `.BTF.ext` magic, same as `.BTF`'s.
pub const BTF_EXT_MAGIC: u16 = 0xeb9f;
const HDR_MIN: usize = 24; // up to line_info_len
const HDR_WITH_CORE: usize = 32; // up to core_relo_len

/// The `.BTF.ext` header (`struct btf_ext_header`). Offsets are relative to the end of the header.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtfExtHeader {
    /// Always [`BTF_EXT_MAGIC`].
    pub magic: u16,
    /// Format version (1).
    pub version: u8,
    /// Flags (0).
    pub flags: u8,
    /// Header length in bytes (24 without CO-RE relocations, 32 with).
    pub hdr_len: u32,
    /// Offset of the func_info table.
    pub func_info_off: u32,
    /// Length of the func_info table.
    pub func_info_len: u32,
    /// Offset of the line_info table.
    pub line_info_off: u32,
    /// Length of the line_info table.
    pub line_info_len: u32,
    /// Offset of the CO-RE relocation table (0 when the header has no such field).
    pub core_relo_off: u32,
    /// Length of the CO-RE relocation table (0 when absent).
    pub core_relo_len: u32,
}

/// One per-section group of records (`struct btf_ext_info_sec`).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtSection<T> {
    /// Offset of the ELF section name in `.BTF`'s string table.
    pub sec_name_off: u32,
    /// Byte offset of this group's header inside `.BTF.ext`.
    pub ext_offset: usize,
    /// The records, in file order.
    pub records: Vec<T>,
}

/// A `bpf_func_info` record: the BTF `FUNC` describing the function starting at `insn_off`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncInfoRecord {
    /// Byte offset of the function's first instruction inside its section.
    pub insn_off: u32,
    /// BTF id of the `FUNC` type.
    pub type_id: u32,
}

/// A `bpf_line_info` record: source position of the instruction at `insn_off`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineInfoRecord {
    /// Byte offset of the instruction inside its section.
    pub insn_off: u32,
    /// String offset of the source file name.
    pub file_name_off: u32,
    /// String offset of the source line text.
    pub line_off: u32,
    /// `line << 10 | column`.
    pub line_col: u32,
}

impl LineInfoRecord {
    /// Source line number.
    pub fn line(&self) -> u32 {
        self.line_col >> 10
    }
    /// Source column.
    pub fn column(&self) -> u32 {
        self.line_col & 0x3ff
    }
}

/// A `bpf_core_relo` record, raw.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreReloRecord {
    /// Byte offset of the relocated instruction inside its section.
    pub insn_off: u32,
    /// Root BTF type id (in the object's `.BTF`).
    pub type_id: u32,
    /// String offset of the access string (`"0:1:2"`).
    pub access_str_off: u32,
    /// Relocation kind number (see [`crate::elf::CoreReloKind`]).
    pub kind: u32,
    /// Byte offset of the record inside `.BTF.ext` (for error messages).
    pub ext_offset: usize,
}

/// A parsed `.BTF.ext` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BtfExt {
    header: BtfExtHeader,
    func_info: Vec<ExtSection<FuncInfoRecord>>,
    line_info: Vec<ExtSection<LineInfoRecord>>,
    core_relos: Vec<ExtSection<CoreReloRecord>>,
}

struct Reader<'a> {
    data: &'a [u8],
    big_endian: bool,
}

impl Reader<'_> {
    fn u32_at(&self, off: usize) -> Option<u32> {
        let b: [u8; 4] = self.data.get(off..off.checked_add(4)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }
    fn u32(&self, off: usize, what: &str) -> Result<u32, ObjectError> {
        self.u32_at(off)
            .ok_or_else(|| ObjectError::ext(off, format!("truncated: {what} needs 4 bytes")))
    }
}

impl BtfExt {
    /// Parses `.BTF.ext` bytes. `big_endian` is the ELF object's byte order.
    ///
    /// Errors name the byte offset of the bad field: short header, wrong magic or version,
    /// tables outside the section or misaligned, record sizes below the known minimum
    /// (8 for func_info, 16 for line_info and CO-RE relocations) or not a multiple of 4,
    /// groups with zero records or more records than bytes.
    pub fn parse(data: &[u8], big_endian: bool) -> Result<BtfExt, ObjectError> {
        let r = Reader { data, big_endian };
        let header = parse_header(&r)?;
        let hdr = header.hdr_len as usize;
        let func_info = parse_table(
            &r,
            hdr,
            header.func_info_off,
            header.func_info_len,
            "func_info",
            8,
            |r, o| {
                Some(FuncInfoRecord {
                    insn_off: r.u32_at(o)?,
                    type_id: r.u32_at(o + 4)?,
                })
            },
        )?;
        let line_info = parse_table(
            &r,
            hdr,
            header.line_info_off,
            header.line_info_len,
            "line_info",
            16,
            |r, o| {
                Some(LineInfoRecord {
                    insn_off: r.u32_at(o)?,
                    file_name_off: r.u32_at(o + 4)?,
                    line_off: r.u32_at(o + 8)?,
                    line_col: r.u32_at(o + 12)?,
                })
            },
        )?;
        let core_relos = core_relo_table(&r, &header)?;
        Ok(BtfExt {
            header,
            func_info,
            line_info,
            core_relos,
        })
    }

    /// The header.
    pub fn header(&self) -> &BtfExtHeader {
        &self.header
    }
    /// func_info groups, one per program section.
    pub fn func_info(&self) -> &[ExtSection<FuncInfoRecord>] {
        &self.func_info
    }
    /// line_info groups, one per program section.
    pub fn line_info(&self) -> &[ExtSection<LineInfoRecord>] {
        &self.line_info
    }
    /// CO-RE relocation groups, one per program section.
    pub fn core_relos(&self) -> &[ExtSection<CoreReloRecord>] {
        &self.core_relos
    }
}

/// Reads and checks the header (libbpf's `btf_ext_parse` rules).
fn parse_header(r: &Reader<'_>) -> Result<BtfExtHeader, ObjectError> {
    let data = r.data;
    let big_endian = r.big_endian;
    if data.len() < 8 {
        return Err(ObjectError::ext(
            0,
            format!("{} bytes is too short for a header", data.len()),
        ));
    }
    let magic_raw = [data[0], data[1]];
    let magic = if big_endian {
        u16::from_be_bytes(magic_raw)
    } else {
        u16::from_le_bytes(magic_raw)
    };
    if magic != BTF_EXT_MAGIC {
        let hint = if magic.swap_bytes() == BTF_EXT_MAGIC {
            " (byte order differs from the ELF header's)"
        } else {
            ""
        };
        return Err(ObjectError::ext(
            0,
            format!("bad magic {magic:#06x}, expected {BTF_EXT_MAGIC:#06x}{hint}"),
        ));
    }
    let version = data[2];
    let flags = data[3];
    if version != 1 {
        return Err(ObjectError::ext(
            2,
            format!("unsupported version {version}"),
        ));
    }
    if flags != 0 {
        return Err(ObjectError::ext(3, format!("unsupported flags {flags:#x}")));
    }
    let hdr_len = r.u32(4, "hdr_len")?;
    let hdr = hdr_len as usize;
    if hdr < HDR_MIN {
        return Err(ObjectError::ext(
            4,
            format!("hdr_len {hdr_len} is below the minimum {HDR_MIN}"),
        ));
    }
    if hdr > data.len() {
        return Err(ObjectError::ext(
            4,
            format!("hdr_len {hdr_len} exceeds the section size {}", data.len()),
        ));
    }
    Ok(BtfExtHeader {
        magic,
        version,
        flags,
        hdr_len,
        func_info_off: r.u32(8, "func_info_off")?,
        func_info_len: r.u32(12, "func_info_len")?,
        line_info_off: r.u32(16, "line_info_off")?,
        line_info_len: r.u32(20, "line_info_len")?,
        core_relo_off: if hdr >= HDR_WITH_CORE {
            r.u32(24, "core_relo_off")?
        } else {
            0
        },
        core_relo_len: if hdr >= HDR_WITH_CORE {
            r.u32(28, "core_relo_len")?
        } else {
            0
        },
    })
}

/// The CO-RE relocation table; empty when the header is too short to have one.
fn core_relo_table(
    r: &Reader<'_>,
    header: &BtfExtHeader,
) -> Result<Vec<ExtSection<CoreReloRecord>>, ObjectError> {
    if (header.hdr_len as usize) < HDR_WITH_CORE {
        return Ok(Vec::new());
    }
    parse_table(
        r,
        header.hdr_len as usize,
        header.core_relo_off,
        header.core_relo_len,
        "core_relo",
        16,
        |r, o| {
            Some(CoreReloRecord {
                insn_off: r.u32_at(o)?,
                type_id: r.u32_at(o + 4)?,
                access_str_off: r.u32_at(o + 8)?,
                kind: r.u32_at(o + 12)?,
                ext_offset: o,
            })
        },
    )
}

/// Only the CO-RE relocation table of `.BTF.ext` (header checked, other tables skipped):
/// what relocation and BTFGen need.
pub(crate) fn parse_core_relos(
    data: &[u8],
    big_endian: bool,
) -> Result<Vec<ExtSection<CoreReloRecord>>, ObjectError> {
    let r = Reader { data, big_endian };
    let header = parse_header(&r)?;
    core_relo_table(&r, &header)
}

fn parse_table<T>(
    r: &Reader<'_>,
    hdr: usize,
    off: u32,
    len: u32,
    what: &str,
    min_rec: u32,
    read: impl Fn(&Reader<'_>, usize) -> Option<T>,
) -> Result<Vec<ExtSection<T>>, ObjectError> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if off % 4 != 0 {
        return Err(ObjectError::ext(
            hdr,
            format!("{what} offset {off} is not 4-byte aligned"),
        ));
    }
    let start = hdr
        .checked_add(off as usize)
        .filter(|s| *s <= r.data.len())
        .ok_or_else(|| {
            ObjectError::ext(hdr, format!("{what} offset {off} is past the section end"))
        })?;
    let end = start
        .checked_add(len as usize)
        .filter(|e| *e <= r.data.len())
        .ok_or_else(|| {
            ObjectError::ext(
                start,
                format!(
                    "{what} length {len} runs past the section end ({} bytes)",
                    r.data.len()
                ),
            )
        })?;
    let rec_size = r.u32(start, &format!("{what} record size"))?;
    if start + 4 > end {
        return Err(ObjectError::ext(
            start,
            format!("{what} length {len} leaves no room for the record size"),
        ));
    }
    if rec_size < min_rec || rec_size % 4 != 0 {
        return Err(ObjectError::ext(
            start,
            format!("{what} record size {rec_size} is invalid (minimum {min_rec}, multiple of 4)"),
        ));
    }
    let mut out = Vec::new();
    let mut pos = start + 4;
    while pos < end {
        if end - pos < 8 {
            return Err(ObjectError::ext(
                pos,
                format!("{what}: {} trailing bytes, not a section header", end - pos),
            ));
        }
        let sec_name_off = r.u32(pos, "sec_name_off")?;
        let num = r.u32(pos + 4, "num_info")?;
        if num == 0 {
            return Err(ObjectError::ext(
                pos + 4,
                format!("{what}: section group with 0 records"),
            ));
        }
        let body = pos + 8;
        let total = (num as u64) * (rec_size as u64);
        if total > (end - body) as u64 {
            return Err(ObjectError::ext(
                pos + 4,
                format!(
                    "{what}: {num} records of {rec_size} bytes exceed the {} bytes left",
                    end - body
                ),
            ));
        }
        let mut records = Vec::with_capacity(num as usize);
        for i in 0..num as usize {
            let o = body + i * rec_size as usize;
            records.push(
                read(r, o)
                    .ok_or_else(|| ObjectError::ext(o, format!("{what}: truncated record")))?,
            );
        }
        out.push(ExtSection {
            sec_name_off,
            ext_offset: pos,
            records,
        });
        pos = body + total as usize;
    }
    Ok(out)
}
