//! `extern` variables and functions the loader fills in: `__kconfig` values (kernel config,
//! `LINUX_KERNEL_VERSION`) and `__ksym` kernel symbols / kfuncs. Their layout in the
//! `.kconfig` map follows libbpf (`bpf_object__collect_externs`): kconfig externs sorted by
//! decreasing alignment, then increasing size, then name, each placed at the next aligned
//! offset.

use tracee_btf::{Btf, Type, TypeId};

use super::error::ObjectError;

/// Which loader mechanism resolves an extern.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExternKind {
    /// `__kconfig`: a value from the kernel config, stored in the `.kconfig` map.
    Kconfig,
    /// `__ksym`: a kernel variable or function (kfunc), resolved to a BTF id or address.
    Ksym,
}

/// One extern of the object.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extern {
    /// Symbol name, e.g. `CONFIG_HZ`, `LINUX_KERNEL_VERSION`, `bpf_task_acquire`.
    pub name: String,
    /// Kconfig value or kernel symbol.
    pub kind: ExternKind,
    /// BTF id of the `VAR` or `FUNC` describing it.
    pub btf_id: TypeId,
    /// Declared `__weak`: the loader tolerates its absence (value 0 / NULL).
    pub weak: bool,
    /// For kconfig externs: byte offset inside the `.kconfig` map value.
    pub kconfig_offset: Option<u32>,
    /// For kconfig externs: size in bytes.
    pub kconfig_size: Option<u32>,
}

/// Reads the `.kconfig` and `.ksyms` DATASECs. `weak` tells whether an undefined ELF symbol
/// of that name is `STB_WEAK`. Returns the externs (kconfig first, in libbpf's layout order)
/// and the size of the `.kconfig` map value (0 when there are no kconfig externs).
pub(crate) fn collect(
    btf: &Btf,
    weak: impl Fn(&str) -> bool,
) -> Result<(Vec<Extern>, u32), ObjectError> {
    let mut kcfg: Vec<(Extern, u64, u64)> = Vec::new(); // extern, align, size
    let mut ksyms = Vec::new();
    for (sec, kind) in [
        (".kconfig", ExternKind::Kconfig),
        (".ksyms", ExternKind::Ksym),
    ] {
        let Some(sec_id) = btf.find_by_name_kind(sec, tracee_btf::Kind::Datasec) else {
            continue;
        };
        let Ok(Type::Datasec(ds)) = btf.type_by_id(sec_id) else {
            continue;
        };
        for vi in ds.vars() {
            let t = btf
                .type_by_id(vi.type_id)
                .map_err(|e| ObjectError::section(sec, format!("entry [{}]: {e}", vi.type_id)))?;
            let (name, var_type) = match t {
                Type::Var(v) => (v.name().to_string(), Some(v.type_id())),
                Type::Func(f) => (f.name().to_string(), None), // kfunc
                other => {
                    return Err(ObjectError::section(
                        sec,
                        format!(
                            "entry [{}] is a {}, not a VAR or FUNC",
                            vi.type_id,
                            other.kind().name()
                        ),
                    ))
                }
            };
            let ext = Extern {
                weak: weak(&name),
                name,
                kind,
                btf_id: vi.type_id,
                kconfig_offset: None,
                kconfig_size: None,
            };
            match (kind, var_type) {
                (ExternKind::Kconfig, Some(ty)) => {
                    let kerr = |reason: String| {
                        ObjectError::section(".kconfig", format!("extern {}: {reason}", ext.name))
                    };
                    let size = btf.size_of(ty).map_err(|e| kerr(e.to_string()))?;
                    let align = align_of(btf, ty, 0).map_err(kerr)?;
                    kcfg.push((ext, align, size));
                }
                (ExternKind::Kconfig, None) => {
                    return Err(ObjectError::section(
                        ".kconfig",
                        format!("function {} in .kconfig", ext.name),
                    ))
                }
                (ExternKind::Ksym, _) => ksyms.push(ext),
            }
        }
    }
    kcfg.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then(a.2.cmp(&b.2))
            .then_with(|| a.0.name.cmp(&b.0.name))
    });
    let mut off: u64 = 0;
    let mut out = Vec::with_capacity(kcfg.len() + ksyms.len());
    for (mut ext, align, size) in kcfg {
        let start = off.div_ceil(align.max(1)) * align.max(1);
        let end = start
            .checked_add(size)
            .filter(|e| *e <= u64::from(u32::MAX));
        let Some(end) = end else {
            return Err(ObjectError::section(
                ".kconfig",
                format!("extern {} ends past 4 GiB", ext.name),
            ));
        };
        ext.kconfig_offset = Some(start as u32);
        ext.kconfig_size = Some(size as u32);
        off = end;
        out.push(ext);
    }
    ksyms.sort_by(|a, b| a.name.cmp(&b.name));
    out.extend(ksyms);
    Ok((out, off as u32))
}

/// Alignment as libbpf's `btf__align_of` computes it (ints and pointers: their size capped at
/// 8; arrays: their element's; structs: the largest member's, 1 if packed).
fn align_of(btf: &Btf, id: TypeId, depth: u32) -> Result<u64, String> {
    if depth > 32 {
        return Err(format!("type [{id}] nests too deeply"));
    }
    let id = btf.skip_mods_and_typedefs(id).map_err(|e| e.to_string())?;
    match btf.type_by_id(id).map_err(|e| e.to_string())? {
        Type::Int(i) => Ok(u64::from(i.size()).min(8)),
        Type::Enum(e) | Type::Enum64(e) => Ok(u64::from(e.size()).min(8)),
        Type::Float(f) => Ok(u64::from(f.size()).min(8)),
        Type::Ptr(_) => Ok(8),
        Type::Array(a) => align_of(btf, a.elem_type(), depth + 1),
        Type::Struct(c) | Type::Union(c) => {
            let mut max = 1;
            for m in c.members() {
                let a = align_of(btf, m.type_id, depth + 1)?;
                // A member at an offset its natural alignment does not divide means packed.
                if m.bitfield_size == 0 && u64::from(m.bit_offset) % (8 * a) != 0 {
                    return Ok(1);
                }
                max = max.max(a);
            }
            Ok(max)
        }
        other => Err(format!(
            "type [{id}] of kind {} has no alignment",
            other.kind().name()
        )),
    }
}
