//! [`BpfObject`]: everything the reader decodes from one BPF ELF object, parsed eagerly so
//! the result is plain owned data (`Send + Sync`, cheap to query, no lifetimes).

use std::path::{Path, PathBuf};

use object::elf::{self, FileHeader64};
use object::read::elf::{FileHeader, Rel, SectionHeader, SectionTable, Sym, SymbolTable};
use object::{Endianness, SymbolIndex};
use tracee_btf::{Btf, Kind, Type, TypeId};

use super::btf_ext::BtfExt;
use super::core_relo::{CoreRelo, CoreReloKind, CoreSpec};
use super::error::ObjectError;
use super::externs::{self, Extern};
use super::maps::{self, InitSlot, MapDef};
use super::program::{Function, Program, SectionDef};

/// One ELF section header, as `llvm-readelf -S` lists it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionInfo {
    /// Section index.
    pub index: usize,
    /// Section name.
    pub name: String,
    /// `sh_type` (`SHT_PROGBITS` = 1, `SHT_REL` = 9, `SHT_NOBITS` = 8, ...).
    pub sh_type: u32,
    /// `sh_flags`.
    pub flags: u64,
    /// Offset of the contents in the file (meaningless for `SHT_NOBITS`).
    pub file_offset: u64,
    /// Size in bytes.
    pub size: u64,
}

impl SectionInfo {
    /// Whether the section holds instructions (`SHF_EXECINSTR`).
    pub fn is_executable(&self) -> bool {
        self.flags & u64::from(elf::SHF_EXECINSTR) != 0
    }
}

/// A `bpf_func_info` record resolved: which BTF `FUNC` describes the function at `insn_off`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncInfo {
    /// ELF section.
    pub section: String,
    /// Byte offset of the function's first instruction in the section.
    pub insn_off: u32,
    /// BTF id of the `FUNC`.
    pub type_id: TypeId,
    /// Name of the `FUNC`.
    pub name: String,
}

/// A `bpf_line_info` record resolved to file name and source text.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInfo {
    /// ELF section.
    pub section: String,
    /// Byte offset of the instruction in the section.
    pub insn_off: u32,
    /// Source file name.
    pub file: String,
    /// Source line text.
    pub source: String,
    /// Line number.
    pub line: u32,
    /// Column.
    pub column: u32,
}

/// A BPF ELF object, decoded: programs, maps, externs, license, `.BTF`, `.BTF.ext` records
/// and CO-RE relocations with resolved access paths.
///
/// ```no_run
/// use tracee_bpf_obj::elf::BpfObject;
/// let obj = BpfObject::from_path("tracee.bpf.o")?;
/// for p in obj.programs() {
///     println!("{} {} {} insns", p.name, p.def.kind, p.insn_count);
/// }
/// for r in obj.core_relos() {
///     println!("{}: {}", r.kind(), r.spec.access_path());
/// }
/// # Ok::<(), tracee_bpf_obj::elf::ObjectError>(())
/// ```
#[derive(Debug)]
pub struct BpfObject {
    data: Vec<u8>,
    path: Option<PathBuf>,
    name: String,
    big_endian: bool,
    sections: Vec<SectionInfo>,
    license: Option<String>,
    kernel_version: Option<u32>,
    programs: Vec<Program>,
    functions: Vec<Function>,
    maps: Vec<MapDef>,
    externs: Vec<Extern>,
    btf: Option<Btf>,
    btf_ext: Option<BtfExt>,
    func_infos: Vec<FuncInfo>,
    line_infos: Vec<LineInfo>,
    core_relos: Vec<CoreRelo>,
}

impl BpfObject {
    /// Reads and parses the object at `path`. Its name is the file name up to the first `.`,
    /// as libbpf derives it.
    pub fn from_path(path: impl AsRef<Path>) -> Result<BpfObject, ObjectError> {
        let path = path.as_ref();
        let data = read_object(path)?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(|n| n.split('.').next().unwrap_or(n).to_string())
            .unwrap_or_default();
        let mut obj = Self::parse(data, name)?;
        obj.path = Some(path.to_path_buf());
        Ok(obj)
    }

    /// Parses an object from bytes (copied). The object's name is empty.
    pub fn from_bytes(data: &[u8]) -> Result<BpfObject, ObjectError> {
        Self::parse(data.to_vec(), String::new())
    }

    /// Parses an object from an owned buffer, e.g. one `include_bytes!`'d and copied.
    pub fn from_vec(data: Vec<u8>, name: impl Into<String>) -> Result<BpfObject, ObjectError> {
        Self::parse(data, name.into())
    }

    fn parse(data: Vec<u8>, name: String) -> Result<BpfObject, ObjectError> {
        let mut obj = with_aligned(&data, |aligned| Parsed::new(aligned)?.build())?;
        obj.data = data;
        obj.name = name;
        Ok(obj)
    }

    /// The object name (file stem up to the first `.`; empty when parsed from bytes).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The file this object was read from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
    /// The raw object bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }
    /// Whether the object is big-endian (`bpfeb`).
    pub fn is_big_endian(&self) -> bool {
        self.big_endian
    }
    /// All ELF sections in index order.
    pub fn sections(&self) -> &[SectionInfo] {
        &self.sections
    }
    /// The `license` section's string, if present.
    pub fn license(&self) -> Option<&str> {
        self.license.as_deref()
    }
    /// The legacy `version` section's value, if present.
    pub fn kernel_version(&self) -> Option<u32> {
        self.kernel_version
    }
    /// Programs, in section then offset order.
    pub fn programs(&self) -> &[Program] {
        &self.programs
    }
    /// The program with this symbol name.
    pub fn program(&self, name: &str) -> Option<&Program> {
        self.programs.iter().find(|p| p.name == name)
    }
    /// The instructions of a program (8 bytes each, object byte order).
    pub fn program_instructions(&self, prog: &Program) -> Option<&[u8]> {
        let sec = self.sections.get(prog.section_index)?;
        let start = sec.file_offset.checked_add(prog.offset)?;
        let end = start.checked_add((prog.insn_count as u64).checked_mul(8)?)?;
        self.data
            .get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
    }
    /// Every function symbol in an executable section: programs and subprograms.
    pub fn functions(&self) -> &[Function] {
        &self.functions
    }
    /// Maps: BTF-defined, legacy, and global-data sections, in that order.
    pub fn maps(&self) -> &[MapDef] {
        &self.maps
    }
    /// The map with this name.
    pub fn map(&self, name: &str) -> Option<&MapDef> {
        self.maps.iter().find(|m| m.name == name)
    }
    /// `__kconfig` and `__ksym` externs; kconfig ones first, in `.kconfig` layout order.
    pub fn externs(&self) -> &[Extern] {
        &self.externs
    }
    /// The object's `.BTF`, if present.
    pub fn btf(&self) -> Option<&Btf> {
        self.btf.as_ref()
    }
    /// The parsed `.BTF.ext`, if present.
    pub fn btf_ext(&self) -> Option<&BtfExt> {
        self.btf_ext.as_ref()
    }
    /// func_info records, resolved.
    pub fn func_infos(&self) -> &[FuncInfo] {
        &self.func_infos
    }
    /// line_info records, resolved.
    pub fn line_infos(&self) -> &[LineInfo] {
        &self.line_infos
    }
    /// CO-RE relocations in file order, specs resolved against the object's `.BTF`.
    pub fn core_relos(&self) -> &[CoreRelo] {
        &self.core_relos
    }
    /// CO-RE relocations of one kind.
    pub fn core_relos_of(&self, kind: CoreReloKind) -> impl Iterator<Item = &CoreRelo> {
        self.core_relos.iter().filter(move |r| r.kind() == kind)
    }
}

/// The bytes of the object file at `path`.
pub(super) fn read_object(path: &Path) -> Result<Vec<u8>, ObjectError> {
    std::fs::read(path).map_err(|source| ObjectError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Runs `f` on `data` at an 8-byte aligned address, which the ELF structs need and a
/// `Vec<u8>` does not promise (copying only when it is not).
pub(super) fn with_aligned<T>(data: &[u8], f: impl FnOnce(&[u8]) -> T) -> T {
    if (data.as_ptr() as usize) % 8 == 0 {
        return f(data);
    }
    let mut words = vec![0u64; data.len().div_ceil(8)];
    object::pod::bytes_of_slice_mut(&mut words)[..data.len()].copy_from_slice(data);
    f(&object::pod::bytes_of_slice(&words)[..data.len()])
}

/// The section table of a BPF ELF object (`e_machine` must be `EM_BPF`).
pub(super) fn bpf_sections(
    data: &[u8],
) -> Result<(Endianness, SectionTable<'_, FileHeader64<Endianness>>), ObjectError> {
    let hdr = FileHeader64::<Endianness>::parse(data).map_err(ObjectError::elf)?;
    let endian = hdr.endian().map_err(ObjectError::elf)?;
    let machine = hdr.e_machine(endian);
    if machine != elf::EM_BPF {
        return Err(ObjectError::NotBpf { machine });
    }
    let sections = hdr.sections(endian, data).map_err(ObjectError::elf)?;
    Ok((endian, sections))
}

struct Parsed<'d> {
    data: &'d [u8],
    endian: Endianness,
    sections: SectionTable<'d, FileHeader64<Endianness>>,
    symbols: SymbolTable<'d, FileHeader64<Endianness>>,
    infos: Vec<SectionInfo>,
}

impl<'d> Parsed<'d> {
    fn new(data: &'d [u8]) -> Result<Parsed<'d>, ObjectError> {
        let (endian, sections) = bpf_sections(data)?;
        let symbols = sections
            .symbols(endian, data, elf::SHT_SYMTAB)
            .map_err(ObjectError::elf)?;
        let mut infos = Vec::with_capacity(sections.len());
        for (index, sh) in sections.enumerate() {
            let name = sections
                .section_name(endian, sh)
                .map_err(|e| ObjectError::section(format!("#{}", index.0), e.to_string()))?;
            infos.push(SectionInfo {
                index: index.0,
                name: String::from_utf8_lossy(name).into_owned(),
                sh_type: sh.sh_type(endian),
                flags: sh.sh_flags(endian),
                file_offset: sh.sh_offset(endian),
                size: sh.sh_size(endian),
            });
        }
        Ok(Parsed {
            data,
            endian,
            sections,
            symbols,
            infos,
        })
    }

    fn section_data(&self, index: usize) -> Result<&'d [u8], ObjectError> {
        let sh = self
            .sections
            .section(object::SectionIndex(index))
            .map_err(ObjectError::elf)?;
        sh.data(self.endian, self.data)
            .map_err(|e| ObjectError::section(self.infos[index].name.clone(), e.to_string()))
    }

    fn by_name(&self, name: &str) -> Option<&SectionInfo> {
        self.infos.iter().find(|s| s.name == name)
    }

    fn symbol_name(&self, sym: &elf::Sym64<Endianness>) -> String {
        self.symbols
            .symbol_name(self.endian, sym)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default()
    }

    fn build(self) -> Result<BpfObject, ObjectError> {
        let big_endian = self.endian == Endianness::Big;
        let license = match self.by_name("license") {
            Some(s) => {
                let d = self.section_data(s.index)?;
                let end = d.iter().position(|&b| b == 0).unwrap_or(d.len());
                Some(String::from_utf8_lossy(&d[..end]).into_owned())
            }
            None => None,
        };
        let kernel_version = match self.by_name("version") {
            Some(s) => {
                let d = self.section_data(s.index)?;
                let w: [u8; 4] = d.get(..4).and_then(|b| b.try_into().ok()).ok_or_else(|| {
                    ObjectError::section("version", format!("{} bytes, expected 4", d.len()))
                })?;
                Some(if big_endian {
                    u32::from_be_bytes(w)
                } else {
                    u32::from_le_bytes(w)
                })
            }
            None => None,
        };
        let btf = match self.by_name(".BTF") {
            Some(s) => Some(
                Btf::from_slice(self.section_data(s.index)?)
                    .map_err(|source| ObjectError::Btf { source })?,
            ),
            None => None,
        };
        let btf_ext = match self.by_name(".BTF.ext") {
            Some(s) => Some(BtfExt::parse(self.section_data(s.index)?, big_endian)?),
            None => None,
        };
        let (functions, programs) = self.functions()?;
        let mut maps = Vec::new();
        if let Some(sec) = self.by_name(".maps") {
            let btf = btf.as_ref().ok_or_else(|| {
                ObjectError::section(".maps", "BTF-defined maps need a .BTF section")
            })?;
            maps = maps::parse_btf_maps(btf)?;
            // In an unlinked object the DATASEC offsets are still 0 (libbpf fixes them up from
            // the symbol table); the symbols are the truth.
            for (name, off, size) in self.symbols_in(sec.index) {
                if let Some(m) = maps.iter_mut().find(|m| m.name == name) {
                    m.offset = off;
                    m.size = size;
                }
            }
            self.apply_map_relocations(sec.index, &mut maps, &functions)?;
        }
        if let Some(sec) = self.by_name("maps") {
            let syms: Vec<(String, u64)> = self
                .symbols_in(sec.index)
                .into_iter()
                .map(|(n, o, _)| (n, o))
                .collect();
            let data = self.section_data(sec.index)?;
            maps.extend(maps::parse_legacy_maps(data, &syms, big_endian)?);
        }
        for s in &self.infos {
            let n = s.name.as_str();
            let global = [".data", ".rodata", ".bss"]
                .iter()
                .any(|p| n == *p || n.strip_prefix(p).is_some_and(|r| r.starts_with('.')));
            if global
                && s.size > 0
                && (s.sh_type == elf::SHT_PROGBITS || s.sh_type == elf::SHT_NOBITS)
            {
                let datasec = btf
                    .as_ref()
                    .and_then(|b| b.find_by_name_kind(n, Kind::Datasec));
                maps.push(MapDef::global_data(n, s.size, datasec));
            }
        }
        let mut externs = Vec::new();
        if let Some(b) = btf.as_ref() {
            let (found, kconfig_size) = externs::collect(b, |name| self.is_weak_undefined(name))?;
            externs = found;
            if kconfig_size > 0 {
                let datasec = b.find_by_name_kind(".kconfig", Kind::Datasec);
                maps.push(MapDef::global_data(
                    ".kconfig",
                    u64::from(kconfig_size),
                    datasec,
                ));
            }
        }
        let mut obj = BpfObject {
            data: Vec::new(),
            path: None,
            name: String::new(),
            big_endian,
            sections: self.infos.clone(),
            license,
            kernel_version,
            programs,
            functions,
            maps,
            externs,
            btf,
            btf_ext: None,
            func_infos: Vec::new(),
            line_infos: Vec::new(),
            core_relos: Vec::new(),
        };
        if let Some(ext) = btf_ext {
            let btf = obj
                .btf
                .as_ref()
                .ok_or_else(|| ObjectError::section(".BTF.ext", "present without .BTF"))?;
            obj.func_infos = resolve_func_infos(btf, &ext)?;
            obj.line_infos = resolve_line_infos(btf, &ext)?;
            obj.core_relos = resolve_core_relos(btf, &ext, &obj.sections, &obj.functions)?;
            obj.btf_ext = Some(ext);
        }
        Ok(obj)
    }

    fn is_weak_undefined(&self, name: &str) -> bool {
        self.symbols.iter().any(|s| {
            s.st_shndx(self.endian) == elf::SHN_UNDEF
                && s.st_bind() == elf::STB_WEAK
                && self.symbols.symbol_name(self.endian, s).ok() == Some(name.as_bytes())
        })
    }

    /// Named, non-section symbols defined in `section`: (name, value, size).
    fn symbols_in(&self, section: usize) -> Vec<(String, u64, u64)> {
        self.symbols
            .iter()
            .filter(|s| {
                usize::from(s.st_shndx(self.endian)) == section && s.st_type() != elf::STT_SECTION
            })
            .map(|s| {
                (
                    self.symbol_name(s),
                    s.st_value(self.endian),
                    s.st_size(self.endian),
                )
            })
            .filter(|(n, _, _)| !n.is_empty())
            .collect()
    }

    fn functions(&self) -> Result<(Vec<Function>, Vec<Program>), ObjectError> {
        let mut funcs = Vec::new();
        let mut progs = Vec::new();
        for sym in self.symbols.iter() {
            if sym.st_type() != elf::STT_FUNC {
                continue;
            }
            let shndx = usize::from(sym.st_shndx(self.endian));
            let Some(sec) = self.infos.get(shndx) else {
                continue; // SHN_UNDEF externs, SHN_ABS, SHN_XINDEX: not code in this object
            };
            if shndx == 0 || !sec.is_executable() {
                continue;
            }
            let name = self.symbol_name(sym);
            let (off, size) = (sym.st_value(self.endian), sym.st_size(self.endian));
            let serr = |reason: String| ObjectError::Symbol {
                symbol: name.clone(),
                section: sec.name.clone(),
                reason,
            };
            let end = off.checked_add(size).filter(|e| *e <= sec.size);
            if end.is_none() {
                return Err(serr(format!(
                    "offset {off} + size {size} exceeds the section size {}",
                    sec.size
                )));
            }
            if off % 8 != 0 || size % 8 != 0 {
                return Err(serr(format!(
                    "offset {off} or size {size} is not a multiple of 8 (instruction size)"
                )));
            }
            funcs.push(Function {
                name: name.clone(),
                section_index: shndx,
                offset: off,
                size,
            });
            if sec.name != ".text" && size > 0 {
                progs.push(Program {
                    name,
                    section: sec.name.clone(),
                    section_index: shndx,
                    offset: off,
                    insn_count: (size / 8) as usize,
                    global: sym.st_bind() != elf::STB_LOCAL,
                    def: SectionDef::parse(&sec.name),
                });
            }
        }
        funcs.sort_by_key(|f| (f.section_index, f.offset));
        progs.sort_by_key(|p| (p.section_index, p.offset));
        Ok((funcs, progs))
    }

    /// `.rel.maps` entries fill the `values` slots of map-in-maps and prog arrays.
    fn apply_map_relocations(
        &self,
        maps_index: usize,
        maps: &mut [MapDef],
        funcs: &[Function],
    ) -> Result<(), ObjectError> {
        for (_, sh) in self.sections.enumerate() {
            if sh.sh_type(self.endian) != elf::SHT_REL
                || sh.sh_info(self.endian) as usize != maps_index
            {
                continue;
            }
            let rels = match sh.rel(self.endian, self.data) {
                Ok(Some((rels, _))) => rels,
                Ok(None) => continue,
                Err(e) => return Err(ObjectError::section(".rel.maps", e.to_string())),
            };
            for rel in rels {
                let r_off = rel.r_offset(self.endian);
                let sym_idx = rel.r_sym(self.endian);
                let sym = self
                    .symbols
                    .symbol(SymbolIndex(sym_idx as usize))
                    .map_err(|e| {
                        ObjectError::section(
                            ".rel.maps",
                            format!("relocation at {r_off}: symbol {sym_idx}: {e}"),
                        )
                    })?;
                let mut target = self.symbol_name(sym);
                if sym.st_type() == elf::STT_SECTION || target.is_empty() {
                    // A static function is referenced through its section + offset.
                    let (shndx, off) = (
                        usize::from(sym.st_shndx(self.endian)),
                        sym.st_value(self.endian),
                    );
                    if let Some(f) = funcs
                        .iter()
                        .find(|f| f.section_index == shndx && f.offset == off)
                    {
                        target = f.name.clone();
                    }
                }
                let map = maps
                    .iter_mut()
                    .find(|m| m.offset <= r_off && r_off < m.offset.saturating_add(m.size))
                    .ok_or_else(|| {
                        ObjectError::section(
                            ".rel.maps",
                            format!("relocation at {r_off} is inside no map"),
                        )
                    })?;
                let values = map.values_offset.ok_or_else(|| {
                    ObjectError::map(
                        &map.name,
                        format!(
                            "relocation at {r_off} against {target:?} but the map has no 'values'"
                        ),
                    )
                })?;
                let rel_in_map = r_off - map.offset;
                let slot = rel_in_map
                    .checked_sub(values)
                    .filter(|d| d % 8 == 0)
                    .map(|d| d / 8)
                    .and_then(|s| u32::try_from(s).ok())
                    .ok_or_else(|| {
                        ObjectError::map(
                            &map.name,
                            format!("relocation at map offset {rel_in_map} is not a 'values' slot"),
                        )
                    })?;
                map.init_slots.push(InitSlot {
                    index: slot,
                    target,
                });
            }
        }
        for m in maps.iter_mut() {
            m.init_slots.sort_by_key(|s| s.index);
        }
        Ok(())
    }
}

fn sec_name(btf: &Btf, off: u32, ext_offset: usize) -> Result<String, ObjectError> {
    str_at(btf, off, ext_offset, "sec_name_off")
}

pub(super) fn str_at(
    btf: &Btf,
    off: u32,
    ext_offset: usize,
    what: &'static str,
) -> Result<String, ObjectError> {
    btf.str_at(off)
        .map(str::to_string)
        .map_err(|_| ObjectError::BadStringOffset {
            offset: ext_offset,
            what,
            str_off: off,
        })
}

fn resolve_func_infos(btf: &Btf, ext: &BtfExt) -> Result<Vec<FuncInfo>, ObjectError> {
    let mut out = Vec::new();
    for g in ext.func_info() {
        let section = sec_name(btf, g.sec_name_off, g.ext_offset)?;
        for r in &g.records {
            let name = match btf.type_by_id(r.type_id) {
                Ok(Type::Func(f)) => f.name().to_string(),
                Ok(other) => {
                    return Err(ObjectError::ext(
                        g.ext_offset,
                        format!(
                            "func_info in {section} at insn byte {}: type [{}] is a {}, not a FUNC",
                            r.insn_off,
                            r.type_id,
                            other.kind().name()
                        ),
                    ))
                }
                Err(e) => {
                    return Err(ObjectError::ext(
                        g.ext_offset,
                        format!("func_info in {section} at insn byte {}: {e}", r.insn_off),
                    ))
                }
            };
            out.push(FuncInfo {
                section: section.clone(),
                insn_off: r.insn_off,
                type_id: r.type_id,
                name,
            });
        }
    }
    Ok(out)
}

fn resolve_line_infos(btf: &Btf, ext: &BtfExt) -> Result<Vec<LineInfo>, ObjectError> {
    let mut out = Vec::new();
    for g in ext.line_info() {
        let section = sec_name(btf, g.sec_name_off, g.ext_offset)?;
        for r in &g.records {
            out.push(LineInfo {
                section: section.clone(),
                insn_off: r.insn_off,
                file: str_at(btf, r.file_name_off, g.ext_offset, "file_name_off")?,
                source: str_at(btf, r.line_off, g.ext_offset, "line_off")?,
                line: r.line(),
                column: r.column(),
            });
        }
    }
    Ok(out)
}

fn resolve_core_relos(
    btf: &Btf,
    ext: &BtfExt,
    sections: &[SectionInfo],
    funcs: &[Function],
) -> Result<Vec<CoreRelo>, ObjectError> {
    let mut out = Vec::new();
    for g in ext.core_relos() {
        let section = sec_name(btf, g.sec_name_off, g.ext_offset)?;
        let sec_index = sections.iter().find(|s| s.name == section).map(|s| s.index);
        for r in &g.records {
            let access = str_at(btf, r.access_str_off, r.ext_offset, "access_str_off")?;
            let rerr = |reason: String| ObjectError::CoreRelo {
                section: section.clone(),
                insn_off: r.insn_off,
                type_id: r.type_id,
                access: access.clone(),
                reason,
            };
            let kind = CoreReloKind::from_raw(r.kind)
                .ok_or_else(|| rerr(format!("unknown relocation kind {}", r.kind)))?;
            let spec = CoreSpec::resolve(btf, r.type_id, &access, kind).map_err(rerr)?;
            let insn = u64::from(r.insn_off);
            let function = sec_index.and_then(|si| {
                funcs
                    .iter()
                    .find(|f| f.section_index == si && f.offset <= insn && insn < f.offset + f.size)
                    .map(|f| f.name.clone())
            });
            out.push(CoreRelo {
                section: section.clone(),
                insn_off: r.insn_off,
                function,
                access,
                spec,
            });
        }
    }
    Ok(out)
}
