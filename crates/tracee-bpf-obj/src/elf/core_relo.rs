//! CO-RE relocations: the 13 kinds and the access-string spec resolved against the object's
//! own `.BTF`, following libbpf's `bpf_core_parse_spec`. The spec keeps everything BTFGen and a
//! relocator need (root type, raw indices, named accessors, local bit offset) and prints the
//! way libbpf's debug log does, e.g. `<byte_off> [5] struct task_struct.pid (0:6 @ offset 12)`.

use std::fmt;

use tracee_btf::{Btf, BtfError, Kind, Type, TypeId};

/// Maximum number of accessors in an access string, as in libbpf (`BPF_CORE_SPEC_MAX_LEN`).
pub const CORE_SPEC_MAX_LEN: usize = 64;

/// The kind of a CO-RE relocation (`enum bpf_core_relo_kind`), with libbpf's numbering.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CoreReloKind {
    /// Field byte offset (`bpf_core_field_offset`, every `BPF_CORE_READ` step). 0
    FieldByteOffset = 0,
    /// Field size in bytes (`bpf_core_field_size`). 1
    FieldByteSize = 1,
    /// Field existence (`bpf_core_field_exists`). 2
    FieldExists = 2,
    /// Field signedness (`BPF_CORE_READ_BITFIELD`). 3
    FieldSigned = 3,
    /// Bitfield left shift for a u64 read (`BPF_CORE_READ_BITFIELD`). 4
    FieldLshiftU64 = 4,
    /// Bitfield right shift for a u64 read (`BPF_CORE_READ_BITFIELD`). 5
    FieldRshiftU64 = 5,
    /// Local BTF type id (`bpf_core_type_id_local`). 6
    TypeIdLocal = 6,
    /// Target (kernel) BTF type id (`bpf_core_type_id_kernel`). 7
    TypeIdTarget = 7,
    /// Type existence (`bpf_core_type_exists`). 8
    TypeExists = 8,
    /// Type size (`bpf_core_type_size`). 9
    TypeSize = 9,
    /// Enumerator existence (`bpf_core_enum_value_exists`). 10
    EnumvalExists = 10,
    /// Enumerator value (`bpf_core_enum_value`). 11
    EnumvalValue = 11,
    /// Type layout match (`bpf_core_type_matches`). 12
    TypeMatches = 12,
}

impl CoreReloKind {
    /// All 13 kinds in numeric order.
    pub const ALL: [CoreReloKind; 13] = [
        CoreReloKind::FieldByteOffset,
        CoreReloKind::FieldByteSize,
        CoreReloKind::FieldExists,
        CoreReloKind::FieldSigned,
        CoreReloKind::FieldLshiftU64,
        CoreReloKind::FieldRshiftU64,
        CoreReloKind::TypeIdLocal,
        CoreReloKind::TypeIdTarget,
        CoreReloKind::TypeExists,
        CoreReloKind::TypeSize,
        CoreReloKind::EnumvalExists,
        CoreReloKind::EnumvalValue,
        CoreReloKind::TypeMatches,
    ];

    /// The kind with this number, if any.
    pub fn from_raw(raw: u32) -> Option<CoreReloKind> {
        Self::ALL.get(raw as usize).copied()
    }

    /// The kind's number as stored in `.BTF.ext`.
    pub fn raw(self) -> u32 {
        self as u32
    }

    /// libbpf's short name, as in its debug log (`byte_off`, `local_type_id`, `enumval_value`...).
    pub fn libbpf_name(self) -> &'static str {
        use CoreReloKind::*;
        match self {
            FieldByteOffset => "byte_off",
            FieldByteSize => "byte_sz",
            FieldExists => "field_exists",
            FieldSigned => "signed",
            FieldLshiftU64 => "lshift_u64",
            FieldRshiftU64 => "rshift_u64",
            TypeIdLocal => "local_type_id",
            TypeIdTarget => "target_type_id",
            TypeExists => "type_exists",
            TypeSize => "type_size",
            EnumvalExists => "enumval_exists",
            EnumvalValue => "enumval_value",
            TypeMatches => "type_matches",
        }
    }

    /// The constant name, e.g. `FIELD_BYTE_OFFSET`, `TYPE_MATCHES`.
    pub fn const_name(self) -> &'static str {
        use CoreReloKind::*;
        match self {
            FieldByteOffset => "FIELD_BYTE_OFFSET",
            FieldByteSize => "FIELD_BYTE_SIZE",
            FieldExists => "FIELD_EXISTS",
            FieldSigned => "FIELD_SIGNED",
            FieldLshiftU64 => "FIELD_LSHIFT_U64",
            FieldRshiftU64 => "FIELD_RSHIFT_U64",
            TypeIdLocal => "TYPE_ID_LOCAL",
            TypeIdTarget => "TYPE_ID_TARGET",
            TypeExists => "TYPE_EXISTS",
            TypeSize => "TYPE_SIZE",
            EnumvalExists => "ENUMVAL_EXISTS",
            EnumvalValue => "ENUMVAL_VALUE",
            TypeMatches => "TYPE_MATCHES",
        }
    }

    /// Field-based kinds: the access string walks members and array elements.
    pub fn is_field_based(self) -> bool {
        (self as u32) <= 5
    }

    /// Type-based kinds: the access string is always `"0"`.
    pub fn is_type_based(self) -> bool {
        matches!(
            self,
            CoreReloKind::TypeIdLocal
                | CoreReloKind::TypeIdTarget
                | CoreReloKind::TypeExists
                | CoreReloKind::TypeSize
                | CoreReloKind::TypeMatches
        )
    }

    /// Enumerator-based kinds: the access string is the enumerator's index.
    pub fn is_enumval_based(self) -> bool {
        matches!(
            self,
            CoreReloKind::EnumvalExists | CoreReloKind::EnumvalValue
        )
    }
}

impl fmt::Display for CoreReloKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.const_name())
    }
}

/// One step of a resolved access path: a named member, an array element, or an enumerator.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accessor {
    /// The type this step indexes into (struct/union/enum), or the element type for arrays,
    /// with modifiers and typedefs skipped, as libbpf records it.
    pub type_id: TypeId,
    /// Member, element or enumerator index.
    pub idx: u32,
    /// Member or enumerator name; `None` for array elements (and the root element).
    pub name: Option<String>,
}

/// A CO-RE relocation's access string resolved against the local BTF (libbpf's
/// `struct bpf_core_spec`, local side).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreSpec {
    /// Relocation kind.
    pub kind: CoreReloKind,
    /// Root type id as given in the record (not skipped).
    pub root_type_id: TypeId,
    /// Kind of the root type (lower-cased in the display, like libbpf).
    pub root_kind: Kind,
    /// Name of the root type (`""` for anonymous types).
    pub root_name: String,
    /// The numbers of the access string (`"0:10:3"` → `[0, 10, 3]`).
    pub raw: Vec<u32>,
    /// High-level accessors: the root element, then named members (anonymous members are
    /// walked but not listed) and array indices; for enum kinds, the enumerator.
    pub accessors: Vec<Accessor>,
    /// For field kinds: bit offset of the accessed field from the root, in the local BTF.
    pub bit_offset: u64,
    /// For enum kinds: the enumerator's value in the local BTF.
    pub enum_value: Option<i64>,
    /// For enum kinds: whether the enum is signed (decides how `enum_value` prints).
    pub enum_signed: bool,
}

impl CoreSpec {
    /// Parses `access` for a relocation of `kind` rooted at `root_type_id` and resolves it in
    /// `btf`, with libbpf's rules: type-based kinds need exactly `"0"`; enum kinds one index
    /// below the enum's `vlen`; field kinds walk struct/union members (index < vlen) and array
    /// elements (index < nelems unless the array is a flexible last member).
    ///
    /// ```no_run
    /// # use tracee_bpf_obj::elf::{CoreReloKind, CoreSpec};
    /// # fn f(btf: &tracee_btf::Btf, task_struct: u32) -> Result<(), String> {
    /// let spec = CoreSpec::resolve(btf, task_struct, "0:10:3", CoreReloKind::FieldByteOffset)?;
    /// assert_eq!(spec.access_path(), "struct task_struct.comm[3]");
    /// # Ok(()) }
    /// ```
    pub fn resolve(
        btf: &Btf,
        root_type_id: TypeId,
        access: &str,
        kind: CoreReloKind,
    ) -> Result<CoreSpec, String> {
        if access.is_empty() || access.starts_with(':') {
            return Err("empty access string".into());
        }
        let root = btf.type_by_id(root_type_id).map_err(btf_err)?;
        let mut spec = CoreSpec {
            kind,
            root_type_id,
            root_kind: root.kind(),
            root_name: root.name().to_string(),
            raw: Vec::new(),
            accessors: Vec::new(),
            bit_offset: 0,
            enum_value: None,
            enum_signed: false,
        };
        if kind.is_type_based() {
            if access != "0" {
                return Err(format!(
                    "type-based relocation needs access string \"0\", got {access:?}"
                ));
            }
            spec.raw.push(0);
            return Ok(spec);
        }
        for part in access.split(':') {
            if spec.raw.len() == CORE_SPEC_MAX_LEN {
                return Err(format!("more than {CORE_SPEC_MAX_LEN} accessors"));
            }
            let n: u32 = part.parse().map_err(|_| {
                format!("access string component {part:?} is not a non-negative number")
            })?;
            spec.raw.push(n);
        }
        let mut id = btf.skip_mods_and_typedefs(root_type_id).map_err(btf_err)?;
        let first = spec.raw[0];
        let t = btf.type_by_id(id).map_err(btf_err)?;

        if kind.is_enumval_based() {
            let e = match t {
                Type::Enum(e) | Type::Enum64(e) => e,
                other => {
                    return Err(format!(
                        "enum relocation on [{id}] of kind {}",
                        other.kind().name()
                    ))
                }
            };
            if spec.raw.len() > 1 {
                return Err("enum relocation with more than one accessor".into());
            }
            let v = e
                .values()
                .nth(first as usize)
                .ok_or_else(|| format!("enumerator index {first} >= vlen {}", e.vlen()))?;
            spec.enum_value = Some(v.value);
            spec.enum_signed = e.is_signed();
            spec.accessors.push(Accessor {
                type_id: id,
                idx: first,
                name: Some(v.name.to_string()),
            });
            return Ok(spec);
        }

        // Field-based: the first index steps over elements of an implicit array of the root.
        let sz = btf.size_of(id).map_err(btf_err)?;
        spec.bit_offset = mul_bits(first, sz)?;
        spec.accessors.push(Accessor {
            type_id: id,
            idx: first,
            name: None,
        });

        for (pos, &idx) in spec.raw.clone().iter().enumerate().skip(1) {
            id = btf.skip_mods_and_typedefs(id).map_err(btf_err)?;
            match btf.type_by_id(id).map_err(btf_err)? {
                Type::Struct(c) | Type::Union(c) => {
                    let m = c.member(idx as usize).ok_or_else(|| {
                        format!("member index {idx} >= vlen {} of [{id}]", c.vlen())
                    })?;
                    // libbpf's btf_member_bit_offset: the offset word, low 24 bits with kind_flag.
                    let off = if c.kind_flag() {
                        m.raw_offset & 0x00ff_ffff
                    } else {
                        m.raw_offset
                    };
                    spec.bit_offset = spec
                        .bit_offset
                        .checked_add(u64::from(off))
                        .ok_or("bit offset overflows")?;
                    if m.name_off != 0 {
                        if m.name.is_empty() {
                            return Err(format!("member {idx} of [{id}] has an unreadable name"));
                        }
                        spec.accessors.push(Accessor {
                            type_id: id,
                            idx,
                            name: Some(m.name.to_string()),
                        });
                    }
                    id = m.type_id;
                }
                Type::Array(a) => {
                    let elem = btf.skip_mods_and_typedefs(a.elem_type()).map_err(btf_err)?;
                    let flex = a.nelems() == 0 && is_last_named_member(btf, spec.accessors.last());
                    if !flex && idx >= a.nelems() {
                        return Err(format!(
                            "array index {idx} >= nelems {} of [{id}]",
                            a.nelems()
                        ));
                    }
                    spec.accessors.push(Accessor {
                        type_id: elem,
                        idx,
                        name: None,
                    });
                    let esz = btf.size_of(elem).map_err(btf_err)?;
                    spec.bit_offset = spec
                        .bit_offset
                        .checked_add(mul_bits(idx, esz)?)
                        .ok_or("bit offset overflows")?;
                    id = elem;
                }
                other => {
                    return Err(format!(
                        "accessor {pos} reaches [{id}] of kind {}, not a struct, union or array",
                        other.kind().name()
                    ))
                }
            }
        }
        Ok(spec)
    }

    /// The access path in libbpf's notation without kind, id and raw indices:
    /// `struct task_struct.comm[3]`, `struct dentry.d_name.len`, `enum pid_type::PIDTYPE_SID`,
    /// `struct file` (type-based kinds).
    pub fn access_path(&self) -> String {
        let mut s = format!(
            "{} {}",
            kind_str(self.root_kind),
            display_name(&self.root_name)
        );
        if self.kind.is_type_based() {
            return s;
        }
        if self.kind.is_enumval_based() {
            if let Some(name) = self.accessors.first().and_then(|a| a.name.as_deref()) {
                s.push_str("::");
                s.push_str(name);
            }
            return s;
        }
        for (i, a) in self.accessors.iter().enumerate() {
            match &a.name {
                Some(n) => {
                    s.push('.');
                    s.push_str(n);
                }
                None if i > 0 || a.idx > 0 => s.push_str(&format!("[{}]", a.idx)),
                None => {}
            }
        }
        s
    }

    /// The field names of the path, skipping the root and array indices
    /// (`["f_path", "dentry"]` for `struct file.f_path.dentry`).
    pub fn field_names(&self) -> Vec<&str> {
        if !self.kind.is_field_based() {
            return Vec::new();
        }
        self.accessors
            .iter()
            .filter_map(|a| a.name.as_deref())
            .collect()
    }
}

impl fmt::Display for CoreSpec {
    /// libbpf's `bpf_core_format_spec` output, e.g.
    /// `<byte_off> [5] struct task_struct.in_execve (0:4 @ offset 8.2)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<{}> [{}] {}",
            self.kind.libbpf_name(),
            self.root_type_id,
            self.access_path()
        )?;
        if self.kind.is_enumval_based() {
            if let Some(v) = self.enum_value {
                if self.enum_signed {
                    write!(f, " = {v}")?;
                } else if self.root_kind == Kind::Enum64 {
                    write!(f, " = {}", v as u64)?;
                } else {
                    write!(f, " = {}", v as u32)?;
                }
            }
            return Ok(());
        }
        if self.kind.is_field_based() {
            let raw: Vec<String> = self.raw.iter().map(|n| n.to_string()).collect();
            write!(f, " ({} @ offset {}", raw.join(":"), self.bit_offset / 8)?;
            if self.bit_offset % 8 != 0 {
                write!(f, ".{}", self.bit_offset % 8)?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

fn is_last_named_member(btf: &Btf, acc: Option<&Accessor>) -> bool {
    let Some(acc) = acc else { return false };
    if acc.name.is_none() {
        return false;
    }
    match btf.type_by_id(acc.type_id) {
        Ok(Type::Struct(c)) | Ok(Type::Union(c)) => acc.idx + 1 == u32::from(c.vlen()),
        _ => false,
    }
}

fn mul_bits(idx: u32, size: u64) -> Result<u64, String> {
    u64::from(idx)
        .checked_mul(size)
        .and_then(|b| b.checked_mul(8))
        .ok_or_else(|| "bit offset overflows".to_string())
}

fn kind_str(kind: Kind) -> String {
    kind.name().to_ascii_lowercase()
}

fn display_name(name: &str) -> &str {
    if name.is_empty() {
        "<anon>"
    } else {
        name
    }
}

fn btf_err(e: BtfError) -> String {
    e.to_string()
}

/// A CO-RE relocation of the object, with its spec resolved against the object's `.BTF`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreRelo {
    /// ELF section of the relocated instruction, e.g. `"raw_tp/sys_enter"`.
    pub section: String,
    /// Byte offset of the relocated instruction inside the section.
    pub insn_off: u32,
    /// The function (program or subprogram) holding the instruction, if a symbol covers it.
    pub function: Option<String>,
    /// Raw access string from the record (`"0:10:3"`).
    pub access: String,
    /// The resolved spec (kind, root type, accessors, local offset).
    pub spec: CoreSpec,
}

impl CoreRelo {
    /// Relocation kind.
    pub fn kind(&self) -> CoreReloKind {
        self.spec.kind
    }

    /// Root type id in the object's BTF.
    pub fn type_id(&self) -> TypeId {
        self.spec.root_type_id
    }
}
