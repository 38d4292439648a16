//! Map definitions: BTF-defined maps in `.maps` (parsed like libbpf's `parse_btf_map_def`),
//! legacy `struct bpf_map_def` entries in `maps`, and the global-data sections that libbpf
//! turns into internal array maps (`.data`, `.rodata`, `.bss` and their `.*` variants).

use std::fmt;

use tracee_btf::{Btf, Kind, Type, TypeId};

use super::error::ObjectError;

/// A kernel map type (`enum bpf_map_type`), kept as its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MapType(pub u32);

macro_rules! map_types {
    ($(($konst:ident, $num:expr, $name:literal)),* $(,)?) => {
        impl MapType {
            $(#[doc = concat!("`BPF_MAP_TYPE_", stringify!($konst), "`")] pub const $konst: MapType = MapType($num);)*
            /// libbpf's name of the type (`"hash"`, `"percpu_array"`, `"ringbuf"`...), if known.
            pub fn name(self) -> Option<&'static str> {
                match self.0 { $($num => Some($name),)* _ => None }
            }
        }
    };
}

map_types!(
    (UNSPEC, 0, "unspec"),
    (HASH, 1, "hash"),
    (ARRAY, 2, "array"),
    (PROG_ARRAY, 3, "prog_array"),
    (PERF_EVENT_ARRAY, 4, "perf_event_array"),
    (PERCPU_HASH, 5, "percpu_hash"),
    (PERCPU_ARRAY, 6, "percpu_array"),
    (STACK_TRACE, 7, "stack_trace"),
    (CGROUP_ARRAY, 8, "cgroup_array"),
    (LRU_HASH, 9, "lru_hash"),
    (LRU_PERCPU_HASH, 10, "lru_percpu_hash"),
    (LPM_TRIE, 11, "lpm_trie"),
    (ARRAY_OF_MAPS, 12, "array_of_maps"),
    (HASH_OF_MAPS, 13, "hash_of_maps"),
    (DEVMAP, 14, "devmap"),
    (SOCKMAP, 15, "sockmap"),
    (CPUMAP, 16, "cpumap"),
    (XSKMAP, 17, "xskmap"),
    (SOCKHASH, 18, "sockhash"),
    (CGROUP_STORAGE, 19, "cgroup_storage"),
    (REUSEPORT_SOCKARRAY, 20, "reuseport_sockarray"),
    (PERCPU_CGROUP_STORAGE, 21, "percpu_cgroup_storage"),
    (QUEUE, 22, "queue"),
    (STACK, 23, "stack"),
    (SK_STORAGE, 24, "sk_storage"),
    (DEVMAP_HASH, 25, "devmap_hash"),
    (STRUCT_OPS, 26, "struct_ops"),
    (RINGBUF, 27, "ringbuf"),
    (INODE_STORAGE, 28, "inode_storage"),
    (TASK_STORAGE, 29, "task_storage"),
    (BLOOM_FILTER, 30, "bloom_filter"),
    (USER_RINGBUF, 31, "user_ringbuf"),
    (CGRP_STORAGE, 32, "cgrp_storage"),
    (ARENA, 33, "arena"),
);

impl MapType {
    /// Array-of-maps or hash-of-maps.
    pub fn is_map_in_map(self) -> bool {
        self == MapType::ARRAY_OF_MAPS || self == MapType::HASH_OF_MAPS
    }
}

impl fmt::Display for MapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "unknown({})", self.0),
        }
    }
}

/// Map flag `BPF_F_RDONLY_PROG`, set by libbpf on `.rodata` maps.
pub const BPF_F_RDONLY_PROG: u32 = 1 << 7;
/// Map flag `BPF_F_MMAPABLE`, set by libbpf on global-data maps.
pub const BPF_F_MMAPABLE: u32 = 1 << 10;

/// Where a map definition came from.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapOrigin {
    /// A variable in `.maps` described by BTF (`__uint(type, ...)` etc.).
    BtfDefined,
    /// The inner-map template of a map-in-map (`__array(values, struct inner)`).
    Inner,
    /// A `struct bpf_map_def` in the legacy `maps` section (libbpf ≥ 1.0 refuses these).
    Legacy,
    /// A global-data section (or the `.kconfig` extern area) that libbpf loads as a
    /// one-element array.
    GlobalData,
}

/// `pinning` attribute of a BTF-defined map.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pinning {
    /// `LIBBPF_PIN_NONE` (default).
    None,
    /// `LIBBPF_PIN_BY_NAME`: pinned under the pin root path by map name.
    ByName,
}

/// An initial element of a map-in-map or prog-array, from a relocation against `.maps`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitSlot {
    /// Index in the `values` array.
    pub index: u32,
    /// Name of the map (or program, for prog arrays) placed there.
    pub target: String,
}

/// One map of the object.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDef {
    /// Variable name (BTF-defined and legacy maps) or section name (global data).
    pub name: String,
    /// ELF section holding the definition (`.maps`, `maps`, `.rodata`, ...).
    pub section: String,
    /// Kind of definition.
    pub origin: MapOrigin,
    /// Map type.
    pub map_type: MapType,
    /// Key size in bytes (0 where the type has no key, e.g. ring buffers).
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Maximum number of entries (ring buffers: size in bytes).
    pub max_entries: u32,
    /// `map_flags`.
    pub map_flags: u32,
    /// `numa_node`, when given.
    pub numa_node: Option<u32>,
    /// `map_extra` (bloom filter hashes, arena address).
    pub map_extra: u64,
    /// Pinning mode.
    pub pinning: Pinning,
    /// BTF id of the key type (`__type(key, T)`), if given.
    pub key_type_id: Option<TypeId>,
    /// BTF id of the value type (`__type(value, T)`; the DATASEC for global data), if any.
    pub value_type_id: Option<TypeId>,
    /// Inner map template of a map-in-map.
    pub inner: Option<Box<MapDef>>,
    /// Statically initialised slots of a map-in-map or prog array.
    pub init_slots: Vec<InitSlot>,
    /// Byte offset of the definition inside its section.
    pub offset: u64,
    /// Byte size of the definition (or of the global-data section).
    pub size: u64,
    /// For BTF-defined maps: byte offset of the `values` member within the definition.
    pub(crate) values_offset: Option<u64>,
}

impl MapDef {
    fn empty(name: &str, section: &str, origin: MapOrigin) -> MapDef {
        MapDef {
            name: name.to_string(),
            section: section.to_string(),
            origin,
            map_type: MapType::UNSPEC,
            key_size: 0,
            value_size: 0,
            max_entries: 0,
            map_flags: 0,
            numa_node: None,
            map_extra: 0,
            pinning: Pinning::None,
            key_type_id: None,
            value_type_id: None,
            inner: None,
            init_slots: Vec::new(),
            offset: 0,
            size: 0,
            values_offset: None,
        }
    }

    /// A global-data section as libbpf maps it: array, 4-byte key, one element the size of the
    /// section; `.rodata*` and `.kconfig` read-only for programs, all mmapable.
    pub(crate) fn global_data(section: &str, size: u64, datasec: Option<TypeId>) -> MapDef {
        let mut m = MapDef::empty(section, section, MapOrigin::GlobalData);
        m.map_type = MapType::ARRAY;
        m.key_size = 4;
        m.value_size = u32::try_from(size).unwrap_or(u32::MAX);
        m.max_entries = 1;
        m.map_flags = BPF_F_MMAPABLE;
        if section == ".rodata" || section.starts_with(".rodata.") || section == ".kconfig" {
            m.map_flags |= BPF_F_RDONLY_PROG;
        }
        m.value_type_id = datasec;
        m.size = size;
        m
    }
}

/// Parses every variable of the `.maps` DATASEC.
pub(crate) fn parse_btf_maps(btf: &Btf) -> Result<Vec<MapDef>, ObjectError> {
    let Some(sec_id) = btf.find_by_name_kind(".maps", Kind::Datasec) else {
        return Ok(Vec::new());
    };
    let sec = match btf.type_by_id(sec_id) {
        Ok(Type::Datasec(d)) => d,
        _ => {
            return Err(ObjectError::section(
                ".maps",
                format!("BTF type [{sec_id}] is not a DATASEC"),
            ))
        }
    };
    let mut maps = Vec::new();
    for vi in sec.vars() {
        let var = match btf.type_by_id(vi.type_id) {
            Ok(Type::Var(v)) => v,
            Ok(other) => {
                return Err(ObjectError::section(
                    ".maps",
                    format!(
                        "DATASEC entry [{}] is a {}, not a VAR",
                        vi.type_id,
                        other.kind().name()
                    ),
                ))
            }
            Err(e) => return Err(ObjectError::section(".maps", e.to_string())),
        };
        let name = var.name().to_string();
        let def_id = btf
            .skip_mods_and_typedefs(var.type_id())
            .map_err(|e| ObjectError::map(&name, e.to_string()))?;
        let mut def = parse_def(btf, &name, def_id, false)?;
        def.offset = u64::from(vi.offset);
        def.size = u64::from(vi.size);
        maps.push(def);
    }
    Ok(maps)
}

fn parse_def(btf: &Btf, name: &str, def_id: TypeId, is_inner: bool) -> Result<MapDef, ObjectError> {
    let merr = |reason: String| ObjectError::map(name, reason);
    let st = match btf.type_by_id(def_id).map_err(|e| merr(e.to_string()))? {
        Type::Struct(s) => s,
        other => {
            return Err(merr(format!(
                "definition [{def_id}] is a {}, not a STRUCT",
                other.kind().name()
            )))
        }
    };
    let origin = if is_inner {
        MapOrigin::Inner
    } else {
        MapOrigin::BtfDefined
    };
    let mut def = MapDef::empty(name, ".maps", origin);
    let vlen = st.vlen() as usize;
    for (i, m) in st.members().enumerate() {
        let field = m.name;
        match field {
            "type" => def.map_type = MapType(int_field(btf, name, field, m.type_id)?),
            "max_entries" => def.max_entries = int_field(btf, name, field, m.type_id)?,
            "map_flags" => def.map_flags = int_field(btf, name, field, m.type_id)?,
            "numa_node" => def.numa_node = Some(int_field(btf, name, field, m.type_id)?),
            "map_extra" => def.map_extra = u64::from(int_field(btf, name, field, m.type_id)?),
            "pinning" => {
                def.pinning = match int_field(btf, name, field, m.type_id)? {
                    0 => Pinning::None,
                    1 => Pinning::ByName,
                    v => return Err(merr(format!("invalid pinning value {v}"))),
                }
            }
            "key_size" | "value_size" => {
                let v = int_field(btf, name, field, m.type_id)?;
                let slot = if field == "key_size" {
                    &mut def.key_size
                } else {
                    &mut def.value_size
                };
                set_size(slot, v)
                    .map_err(|old| merr(format!("conflicting {field} {old} != {v}")))?;
            }
            "key" | "value" => {
                let (tid, sz) = typed_field(btf, name, field, m.type_id)?;
                let (slot, tslot) = if field == "key" {
                    (&mut def.key_size, &mut def.key_type_id)
                } else {
                    (&mut def.value_size, &mut def.value_type_id)
                };
                set_size(slot, sz)
                    .map_err(|old| merr(format!("conflicting {field} size {old} != {sz}")))?;
                *tslot = Some(tid);
            }
            "values" => {
                if is_inner {
                    return Err(merr("multi-level inner maps are not supported".into()));
                }
                if i + 1 != vlen {
                    return Err(merr("'values' must be the last member".into()));
                }
                let prog_array = def.map_type == MapType::PROG_ARRAY;
                if !def.map_type.is_map_in_map() && !prog_array {
                    return Err(merr(format!(
                        "'values' needs a map-in-map or prog_array, map type is {}",
                        def.map_type
                    )));
                }
                set_size(&mut def.value_size, 4)
                    .map_err(|old| merr(format!("conflicting value size {old} != 4")))?;
                let arr = match btf.type_by_id(m.type_id).map_err(|e| merr(e.to_string()))? {
                    Type::Array(a) if a.nelems() == 0 => a,
                    _ => {
                        return Err(merr(
                            "'values' must be a zero-length array of pointers".into(),
                        ))
                    }
                };
                let ptr = btf
                    .skip_mods_and_typedefs(arr.elem_type())
                    .map_err(|e| merr(e.to_string()))?;
                let pointee = match btf.type_by_id(ptr).map_err(|e| merr(e.to_string()))? {
                    Type::Ptr(p) => btf
                        .skip_mods_and_typedefs(p.type_id())
                        .map_err(|e| merr(e.to_string()))?,
                    _ => return Err(merr("'values' must be an array of pointers".into())),
                };
                def.values_offset = Some(u64::from(m.bit_offset / 8));
                if prog_array {
                    if !matches!(btf.type_by_id(pointee), Ok(Type::FuncProto(_))) {
                        return Err(merr(
                            "prog_array 'values' must point to a function prototype".into(),
                        ));
                    }
                    continue;
                }
                let inner_name = format!("{name}.inner");
                def.inner = Some(Box::new(parse_def(btf, &inner_name, pointee, true)?));
            }
            other => return Err(merr(format!("unknown field '{other}'"))),
        }
    }
    if def.map_type == MapType::UNSPEC {
        log::debug!("map {name:?} has no 'type'");
    }
    Ok(def)
}

fn set_size(slot: &mut u32, v: u32) -> Result<(), u32> {
    if *slot != 0 && *slot != v {
        return Err(*slot);
    }
    *slot = v;
    Ok(())
}

/// `__uint(name, N)` is `int (*name)[N]`: a pointer to an array whose length is the value.
fn int_field(btf: &Btf, map: &str, field: &str, type_id: TypeId) -> Result<u32, ObjectError> {
    let merr = |reason: String| ObjectError::map(map, format!("attribute '{field}': {reason}"));
    let ptr = btf
        .skip_mods_and_typedefs(type_id)
        .map_err(|e| merr(e.to_string()))?;
    let target = match btf.type_by_id(ptr).map_err(|e| merr(e.to_string()))? {
        Type::Ptr(p) => p.type_id(),
        other => return Err(merr(format!("expected PTR, got {}", other.kind().name()))),
    };
    match btf.type_by_id(target).map_err(|e| merr(e.to_string()))? {
        Type::Array(a) => Ok(a.nelems()),
        other => Err(merr(format!(
            "expected PTR to ARRAY, got PTR to {}",
            other.kind().name()
        ))),
    }
}

/// `__type(name, T)` is `T *name`: the pointee's id and size.
fn typed_field(
    btf: &Btf,
    map: &str,
    field: &str,
    type_id: TypeId,
) -> Result<(TypeId, u32), ObjectError> {
    let merr = |reason: String| ObjectError::map(map, format!("attribute '{field}': {reason}"));
    let ptr = btf
        .skip_mods_and_typedefs(type_id)
        .map_err(|e| merr(e.to_string()))?;
    let target = match btf.type_by_id(ptr).map_err(|e| merr(e.to_string()))? {
        Type::Ptr(p) => p.type_id(),
        other => return Err(merr(format!("expected PTR, got {}", other.kind().name()))),
    };
    let size = btf.size_of(target).map_err(|e| merr(e.to_string()))?;
    let size =
        u32::try_from(size).map_err(|_| merr(format!("size {size} does not fit 32 bits")))?;
    Ok((target, size))
}

/// Legacy `struct bpf_map_def { type, key_size, value_size, max_entries, map_flags, ... }`
/// entries: each symbol in the section names one, all of equal size (section size / symbols).
pub(crate) fn parse_legacy_maps(
    data: &[u8],
    symbols: &[(String, u64)],
    big_endian: bool,
) -> Result<Vec<MapDef>, ObjectError> {
    if symbols.is_empty() {
        return Ok(Vec::new());
    }
    let def_size = data.len() / symbols.len();
    if def_size < 20 || data.len() % symbols.len() != 0 {
        return Err(ObjectError::section(
            "maps",
            format!(
                "{} bytes for {} map symbols: not whole bpf_map_def entries of at least 20 bytes",
                data.len(),
                symbols.len()
            ),
        ));
    }
    let rd = |b: &[u8], i: usize| -> u32 {
        let w = [b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]];
        if big_endian {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        }
    };
    let mut symbols: Vec<&(String, u64)> = symbols.iter().collect();
    symbols.sort_by_key(|(_, off)| *off);
    let mut out = Vec::new();
    for (name, off) in symbols {
        let start = usize::try_from(*off)
            .ok()
            .filter(|o| o % def_size == 0 && o + def_size <= data.len());
        let Some(start) = start else {
            return Err(ObjectError::map(
                name,
                format!(
                    "legacy definition at offset {off} is not a whole entry of the 'maps' section"
                ),
            ));
        };
        let b = &data[start..start + def_size];
        let mut m = MapDef::empty(name, "maps", MapOrigin::Legacy);
        m.map_type = MapType(rd(b, 0));
        m.key_size = rd(b, 1);
        m.value_size = rd(b, 2);
        m.max_entries = rd(b, 3);
        m.map_flags = rd(b, 4);
        m.offset = *off;
        m.size = def_size as u64;
        out.push(m);
    }
    Ok(out)
}
