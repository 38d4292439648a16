//! [`CoreObject`]: only what CO-RE relocation and BTFGen read from a BPF object, `.BTF` and
//! the CO-RE records of `.BTF.ext`. [`BpfObject`](super::BpfObject) decodes everything
//! (symbols, programs, maps, line info with its source text), which costs more than
//! minimizing a kernel's BTF once the records are known.

use std::path::Path;

use object::read::elf::SectionHeader;
use object::Endianness;
use tracee_btf::core::{CoreRelo, CoreReloKind};
use tracee_btf::Btf;

use super::btf_ext;
use super::error::ObjectError;
use super::object::{bpf_sections, read_object, str_at, with_aligned};

/// A BPF object's `.BTF` and CO-RE relocation records, in file order.
///
/// Access strings are not resolved here: the relocator parses them and reports a bad one
/// per relocation ([`tracee_btf::core::CoreError::BadSpec`]).
///
/// ```no_run
/// use tracee_bpf_obj::elf::CoreObject;
/// let obj = CoreObject::from_path("tracee.bpf.o")?;
/// let kernel = tracee_btf::Btf::from_sysfs()?;
/// if let Some(local) = obj.btf() {
///     let min = tracee_btf::core::min_core_btf(&kernel, local, obj.relos())?;
///     std::fs::write("min.btf", &min.btf)?;
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct CoreObject {
    btf: Option<Btf>,
    relos: Vec<CoreRelo>,
}

impl CoreObject {
    /// Reads the object at `path`.
    pub fn from_path(path: impl AsRef<Path>) -> Result<CoreObject, ObjectError> {
        Self::from_bytes(&read_object(path.as_ref())?)
    }

    /// Reads an object held in memory.
    pub fn from_bytes(data: &[u8]) -> Result<CoreObject, ObjectError> {
        with_aligned(data, Self::parse)
    }

    fn parse(data: &[u8]) -> Result<CoreObject, ObjectError> {
        let (endian, sections) = bpf_sections(data)?;
        let (mut btf_data, mut ext_data) = (None, None);
        for (index, sh) in sections.enumerate() {
            let name = sections
                .section_name(endian, sh)
                .map_err(|e| ObjectError::section(format!("#{}", index.0), e.to_string()))?;
            let slot = match name {
                b".BTF" => &mut btf_data,
                b".BTF.ext" => &mut ext_data,
                _ => continue,
            };
            let bytes = sh.data(endian, data).map_err(|e| {
                ObjectError::section(String::from_utf8_lossy(name).into_owned(), e.to_string())
            })?;
            slot.get_or_insert(bytes);
        }
        let btf = btf_data
            .map(|d| Btf::from_slice(d).map_err(|source| ObjectError::Btf { source }))
            .transpose()?;
        let Some(ext) = ext_data else {
            return Ok(CoreObject {
                btf,
                relos: Vec::new(),
            });
        };
        let groups = btf_ext::parse_core_relos(ext, endian == Endianness::Big)?;
        if groups.is_empty() {
            return Ok(CoreObject {
                btf,
                relos: Vec::new(),
            });
        }
        let local = btf
            .as_ref()
            .ok_or_else(|| ObjectError::section(".BTF.ext", "present without .BTF"))?;
        let mut relos = Vec::with_capacity(groups.iter().map(|g| g.records.len()).sum());
        for g in &groups {
            for r in &g.records {
                let access =
                    local
                        .str_at(r.access_str_off)
                        .map_err(|_| ObjectError::BadStringOffset {
                            offset: r.ext_offset,
                            what: "access_str_off",
                            str_off: r.access_str_off,
                        })?;
                let kind = CoreReloKind::from_raw(r.kind).ok_or_else(|| ObjectError::CoreRelo {
                    section: str_at(local, g.sec_name_off, g.ext_offset, "sec_name_off")
                        .unwrap_or_default(),
                    insn_off: r.insn_off,
                    type_id: r.type_id,
                    access: access.to_string(),
                    reason: format!("unknown relocation kind {}", r.kind),
                })?;
                relos.push(CoreRelo::new(r.insn_off, r.type_id, access, kind));
            }
        }
        Ok(CoreObject { btf, relos })
    }

    /// The object's `.BTF`, if present.
    pub fn btf(&self) -> Option<&Btf> {
        self.btf.as_ref()
    }

    /// The CO-RE relocation records, in file order.
    pub fn relos(&self) -> &[CoreRelo] {
        &self.relos
    }
}
