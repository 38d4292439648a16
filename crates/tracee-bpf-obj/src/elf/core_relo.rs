//! CO-RE relocations: the access-string spec (kinds are tracee-btf's [`CoreReloKind`]) resolved against the object's
//! own `.BTF`, following libbpf's `bpf_core_parse_spec`. The spec keeps everything BTFGen and a
//! relocator need (root type, raw indices, named accessors, local bit offset) and prints the
//! way libbpf's debug log does, e.g. `<byte_off> [5] struct task_struct.pid (0:6 @ offset 12)`.

use std::fmt;

use tracee_btf::{Btf, BtfError, Kind, Type, TypeId};

pub use tracee_btf::core::{CoreReloKind, CORE_SPEC_MAX_LEN};

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
    /// `btf` with the relocator's parser ([`tracee_btf::core::CoreSpec::parse_access`], libbpf's
    /// rules), keeping owned names and the enumerator's value for display.
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
        let parsed = tracee_btf::core::CoreSpec::parse_access(btf, root_type_id, access, kind)?;
        let root = btf.type_by_id(root_type_id).map_err(btf_err)?;
        let (mut enum_value, mut enum_signed) = (None, false);
        if let Some(a) = parsed.accessors.first().filter(|_| kind.is_enumval_based()) {
            if let Ok(Type::Enum(e) | Type::Enum64(e)) = btf.type_by_id(a.type_id) {
                enum_value = e.values().nth(a.idx as usize).map(|v| v.value);
                enum_signed = e.is_signed();
            }
        }
        Ok(CoreSpec {
            kind,
            root_type_id,
            root_kind: root.kind(),
            root_name: root.name().to_string(),
            accessors: parsed
                .accessors
                .iter()
                .map(|a| Accessor {
                    type_id: a.type_id,
                    idx: a.idx,
                    name: a.name.map(str::to_string),
                })
                .collect(),
            raw: parsed.raw,
            bit_offset: parsed.bit_offset,
            enum_value,
            enum_signed,
        })
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

    /// The record as tracee-btf's relocator and BTFGen take it.
    pub fn to_core(&self) -> tracee_btf::core::CoreRelo {
        tracee_btf::core::CoreRelo::new(self.insn_off, self.type_id(), &*self.access, self.kind())
    }
}
