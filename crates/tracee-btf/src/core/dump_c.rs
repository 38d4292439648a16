//! C header output from BTF, like `bpftool btf dump file X format c`: the `vmlinux.h` a CO-RE
//! program includes.
//!
//! Types are emitted in an order C accepts (a struct before any struct embedding it by
//! value; forward declarations for what is only pointed to), anonymous types inline, exact
//! layouts (explicit padding and `packed` where natural alignment would place a member
//! elsewhere than BTF says), and `___N` suffixes where distinct types share a name.

use std::fmt::Write as _;

use hashbrown::{HashMap, HashSet};

use crate::{Btf, BtfError, Kind, Type, TypeId};

/// Errors of [`dump_c`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DumpError {
    /// The BTF is malformed where a dumped type needs it.
    #[error("dumping type {id}: {source}")]
    Btf {
        /// The type.
        id: TypeId,
        /// The underlying error.
        #[source]
        source: BtfError,
    },
    /// A type contains itself by value (impossible in C).
    #[error("type {id} contains itself by value; it cannot be written as C")]
    Cycle {
        /// The type.
        id: TypeId,
    },
}

const NOT: u8 = 0;
const ORDERING: u8 = 1;
const ORDERED: u8 = 2;
/// Nesting of inline anonymous types and declarators beyond which the BTF is refused.
const MAX_NEST: u32 = 64;

struct Dumper<'a> {
    btf: &'a Btf,
    state: Vec<u8>,
    queue: Vec<TypeId>,
    referenced: Vec<bool>,
    /// Assigned C names of tags (struct/union/enum) and identifiers (typedefs, enumerators).
    tag_names: HashMap<TypeId, String>,
    ident_names: HashMap<TypeId, String>,
    tag_counts: HashMap<String, u32>,
    ident_counts: HashMap<String, u32>,
    enumerator_counts: HashMap<String, u32>,
    /// Tags declared (forward or defined) so far in the output.
    declared: HashSet<TypeId>,
    /// Tags referenced by the item being rendered.
    used_tags: Vec<TypeId>,
    align_memo: HashMap<TypeId, u32>,
    packed_memo: HashMap<TypeId, bool>,
    /// Typedefs whose target has been ordered by value / is being ordered.
    typedef_done: HashSet<TypeId>,
    typedef_busy: HashSet<TypeId>,
}

/// Writes `btf` as a C header. With `roots`, only those types and what they need.
///
/// ```no_run
/// let btf = tracee_btf::Btf::from_sysfs()?;
/// let header = tracee_btf::core::dump_c::dump_c(&btf, None)?;
/// std::fs::write("vmlinux.h", header)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn dump_c(btf: &Btf, roots: Option<&[TypeId]>) -> Result<String, DumpError> {
    let n = btf.last_id() as usize + 1;
    let mut d = Dumper {
        btf,
        state: vec![NOT; n],
        queue: Vec::new(),
        referenced: vec![false; n],
        tag_names: HashMap::new(),
        ident_names: HashMap::new(),
        tag_counts: HashMap::new(),
        ident_counts: HashMap::new(),
        enumerator_counts: HashMap::new(),
        declared: HashSet::new(),
        used_tags: Vec::new(),
        align_memo: HashMap::new(),
        packed_memo: HashMap::new(),
        typedef_done: HashSet::new(),
        typedef_busy: HashSet::new(),
    };
    d.mark_referenced()?;
    match roots {
        Some(ids) => {
            for &id in ids {
                d.order(id, false, 0)?;
            }
        }
        None => {
            for id in 1..n as TypeId {
                d.order(id, false, 0)?;
            }
        }
    }
    let mut out = String::new();
    out.push_str("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n");
    out.push_str("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n");
    out.push_str("#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n");
    out.push_str("#endif\n\n");
    let queue = std::mem::take(&mut d.queue);
    for id in queue {
        d.used_tags.clear();
        let body = d.emit_top(id)?;
        if body.is_empty() {
            continue;
        }
        let used = std::mem::take(&mut d.used_tags);
        for tag in used {
            if d.declared.insert(tag) {
                let kw = d.tag_keyword(tag)?;
                let name = d.tag_name(tag)?;
                let _ = writeln!(out, "{kw} {name};\n");
            }
        }
        out.push_str(&body);
        out.push('\n');
    }
    out.push_str("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n");
    out.push_str("#endif /* __VMLINUX_H__ */\n");
    Ok(out)
}

impl<'a> Dumper<'a> {
    fn t(&self, id: TypeId) -> Result<Type<'a>, DumpError> {
        self.btf
            .type_by_id(id)
            .map_err(|source| DumpError::Btf { id, source })
    }

    /// Which anonymous types are used by another type (the others are emitted standalone).
    fn mark_referenced(&mut self) -> Result<(), DumpError> {
        for t in self.btf.types() {
            let mut mark = |r: TypeId| {
                if let Some(x) = self.referenced.get_mut(r as usize) {
                    *x = true;
                }
            };
            match t {
                Type::Struct(c) | Type::Union(c) => c.members().for_each(|m| mark(m.type_id)),
                Type::Array(a) => mark(a.elem_type()),
                Type::FuncProto(p) => {
                    mark(p.return_type());
                    p.params().for_each(|p| mark(p.type_id));
                }
                Type::Datasec(_) | Type::DeclTag(_) | Type::Func(_) => {}
                other => {
                    if let Some(r) = other.ref_type() {
                        mark(r);
                    }
                }
            }
        }
        Ok(())
    }

    fn set(&mut self, id: TypeId, s: u8) {
        if let Some(x) = self.state.get_mut(id as usize) {
            *x = s;
        }
    }

    fn get(&self, id: TypeId) -> u8 {
        self.state.get(id as usize).copied().unwrap_or(ORDERED)
    }

    /// Queues `id` after everything it needs (libbpf's `btf_dump_order_type`).
    fn order(&mut self, id: TypeId, through_ptr: bool, depth: u32) -> Result<(), DumpError> {
        if id == 0 {
            return Ok(());
        }
        let is_typedef = matches!(self.t(id)?, Type::Typedef(_));
        if (through_ptr || !is_typedef) && self.get(id) == ORDERED {
            return Ok(());
        }
        if depth > 4 * MAX_NEST {
            return Err(DumpError::Cycle { id });
        }
        let t = self.t(id)?;
        match t {
            Type::Ptr(r) => self.order(r.type_id(), true, depth + 1),
            Type::Array(a) => self.order(a.elem_type(), through_ptr, depth + 1),
            Type::Struct(c) | Type::Union(c) => {
                let named = !t.name().is_empty();
                if through_ptr && named {
                    // A declaration suffices; the definition comes in its own turn.
                    return Ok(());
                }
                if self.get(id) == ORDERING {
                    if named {
                        return Err(DumpError::Cycle { id });
                    }
                    return Ok(());
                }
                self.set(id, ORDERING);
                for m in c.members() {
                    self.order(m.type_id, false, depth + 1)?;
                }
                if named {
                    self.queue.push(id);
                }
                self.set(id, ORDERED);
                Ok(())
            }
            Type::Enum(_) | Type::Enum64(_) | Type::Fwd(_) => {
                if !t.name().is_empty() || !self.referenced[id as usize] {
                    self.queue.push(id);
                }
                self.set(id, ORDERED);
                Ok(())
            }
            Type::Typedef(r) => {
                if t.name() == "__builtin_va_list" {
                    // The compiler's own; redefining it is an error.
                    self.set(id, ORDERED);
                    return Ok(());
                }
                if through_ptr && self.names_a_tag(r.type_id()) {
                    // `typedef struct x x_t;` needs only a declaration of `struct x`, and
                    // `struct x` may point to `x_t`: declare the typedef now.
                    if self.get(id) != ORDERED {
                        self.queue.push(id);
                        self.set(id, ORDERED);
                    }
                    return Ok(());
                }
                // Used by value (or a typedef of something else): what it names must be
                // complete first, even if the typedef itself was declared earlier.
                if self.typedef_done.contains(&id) || !self.typedef_busy.insert(id) {
                    return Ok(());
                }
                let res = self.order(r.type_id(), through_ptr, depth + 1);
                self.typedef_busy.remove(&id);
                res?;
                if !through_ptr {
                    self.typedef_done.insert(id);
                }
                if self.get(id) != ORDERED {
                    self.queue.push(id);
                    self.set(id, ORDERED);
                }
                Ok(())
            }
            Type::Const(r) | Type::Volatile(r) | Type::Restrict(r) | Type::TypeTag(r) => {
                self.order(r.type_id(), through_ptr, depth + 1)
            }
            Type::FuncProto(p) => {
                if self.get(id) == ORDERING {
                    return Ok(());
                }
                self.set(id, ORDERING);
                self.order(p.return_type(), through_ptr, depth + 1)?;
                for prm in p.params() {
                    self.order(prm.type_id, through_ptr, depth + 1)?;
                }
                self.set(id, ORDERED);
                Ok(())
            }
            _ => {
                self.set(id, ORDERED);
                Ok(())
            }
        }
    }

    /// Whether `id`, after modifiers, is a named struct, union, enum or forward declaration.
    fn names_a_tag(&self, id: TypeId) -> bool {
        let mut cur = id;
        for _ in 0..MAX_NEST {
            match self.btf.type_by_id(cur) {
                Ok(Type::Const(r) | Type::Volatile(r) | Type::Restrict(r) | Type::TypeTag(r)) => {
                    cur = r.type_id()
                }
                Ok(
                    t @ (Type::Struct(_)
                    | Type::Union(_)
                    | Type::Enum(_)
                    | Type::Enum64(_)
                    | Type::Fwd(_)),
                ) => return !t.name().is_empty(),
                _ => return false,
            }
        }
        false
    }

    /// Whether the innermost element of an array chain is already const-qualified.
    fn elem_is_const(&self, id: TypeId) -> bool {
        let mut cur = id;
        for _ in 0..MAX_NEST {
            match self.btf.type_by_id(cur) {
                Ok(Type::Array(a)) => cur = a.elem_type(),
                Ok(Type::Volatile(r) | Type::Restrict(r) | Type::TypeTag(r)) => cur = r.type_id(),
                Ok(Type::Const(_)) => return true,
                _ => return false,
            }
        }
        false
    }

    fn tag_keyword(&self, id: TypeId) -> Result<&'static str, DumpError> {
        Ok(match self.t(id)? {
            Type::Union(_) => "union",
            Type::Fwd(f) if f.is_union() => "union",
            Type::Enum(_) | Type::Enum64(_) => "enum",
            _ => "struct",
        })
    }

    /// The C tag of a named struct/union/enum/fwd, `___N`-suffixed when another type already
    /// took the name.
    fn tag_name(&mut self, id: TypeId) -> Result<String, DumpError> {
        if let Some(n) = self.tag_names.get(&id) {
            return Ok(n.clone());
        }
        let t = self.t(id)?;
        let base = t.name().to_string();
        let name = if t.kind() == Kind::Fwd {
            base
        } else {
            unique(&mut self.tag_counts, base)
        };
        self.tag_names.insert(id, name.clone());
        Ok(name)
    }

    fn ident_name(&mut self, id: TypeId) -> Result<String, DumpError> {
        if let Some(n) = self.ident_names.get(&id) {
            return Ok(n.clone());
        }
        let base = self.t(id)?.name().to_string();
        let name = unique(&mut self.ident_counts, base);
        self.ident_names.insert(id, name.clone());
        Ok(name)
    }

    /// One top-level item.
    fn emit_top(&mut self, id: TypeId) -> Result<String, DumpError> {
        let t = self.t(id)?;
        let mut s = String::new();
        match t {
            Type::Struct(_) | Type::Union(_) => {
                self.declared.insert(id);
                s = self.composite_def(id, 0)?;
                s.push_str(";\n");
            }
            Type::Enum(_) | Type::Enum64(_) => {
                if !t.name().is_empty() {
                    self.declared.insert(id);
                }
                s = self.enum_def(id, 0)?;
                s.push_str(";\n");
            }
            Type::Fwd(_) if self.declared.insert(id) => {
                let kw = self.tag_keyword(id)?;
                let name = self.tag_name(id)?;
                let _ = writeln!(s, "{kw} {name};");
            }
            Type::Typedef(r) => {
                if t.name() == "__builtin_va_list" {
                    return Ok(s);
                }
                let name = self.ident_name(id)?;
                let d = self.decl(r.type_id(), &name, 0, 0)?;
                let _ = writeln!(s, "typedef {d};");
            }
            _ => {}
        }
        Ok(s)
    }

    fn enum_def(&mut self, id: TypeId, lvl: u32) -> Result<String, DumpError> {
        let t = self.t(id)?;
        let e = match t {
            Type::Enum(e) | Type::Enum64(e) => e,
            _ => return Ok(String::new()),
        };
        let mut s = String::from("enum");
        if !t.name().is_empty() {
            s.push(' ');
            s.push_str(&self.tag_name(id)?);
        }
        if e.vlen() == 0 {
            // An enum without values (a declaration): give it an int-sized placeholder body.
            return Ok(s);
        }
        s.push_str(" {\n");
        let mut fits32 = true;
        for v in e.values() {
            let name = unique(&mut self.enumerator_counts, v.name.to_string());
            indent(&mut s, lvl + 1);
            if e.is_signed() {
                let _ = writeln!(s, "{name} = {},", v.value);
                fits32 &= i32::try_from(v.value).is_ok();
            } else if e.is_64() {
                let _ = writeln!(s, "{name} = {}ULL,", v.value as u64);
                fits32 &= (v.value as u64) <= u64::from(u32::MAX);
            } else {
                let _ = writeln!(s, "{name} = {},", v.value as u32);
            }
        }
        indent(&mut s, lvl);
        s.push('}');
        match e.size() {
            1 => s.push_str(" __attribute__((mode(byte)))"),
            8 if fits32 => s.push_str(" __attribute__((mode(word)))"),
            _ => {}
        }
        Ok(s)
    }

    /// Alignment (bytes) of a type as the BPF target's C compiler sees it.
    fn align(&mut self, id: TypeId, depth: u32) -> Result<u32, DumpError> {
        if depth > MAX_NEST {
            return Err(DumpError::Cycle { id });
        }
        if let Some(&a) = self.align_memo.get(&id) {
            return Ok(a);
        }
        if self.is_va_list(id) {
            return Ok(8);
        }
        let t = self.t(id)?;
        let a = match t {
            Type::Int(_) | Type::Float(_) | Type::Enum(_) | Type::Enum64(_) => {
                t.size().unwrap_or(1).clamp(1, 16)
            }
            Type::Ptr(_) => 8,
            Type::Array(a) => self.align(a.elem_type(), depth + 1)?,
            Type::Struct(c) | Type::Union(c) => {
                self.align_memo.insert(id, 1);
                let mut a = 1;
                for m in c.members() {
                    a = a.max(self.align(m.type_id, depth + 1)?);
                }
                self.align_memo.insert(id, a);
                if self.packed(id, depth + 1)? {
                    1
                } else {
                    a
                }
            }
            Type::Typedef(r)
            | Type::Const(r)
            | Type::Volatile(r)
            | Type::Restrict(r)
            | Type::TypeTag(r) => self.align(r.type_id(), depth + 1)?,
            _ => 1,
        };
        self.align_memo.insert(id, a);
        Ok(a)
    }

    fn natural_align(&mut self, id: TypeId, depth: u32) -> Result<u32, DumpError> {
        let t = self.t(id)?;
        if let Type::Struct(c) | Type::Union(c) = t {
            let mut a = 1;
            for m in c.members() {
                a = a.max(self.align(m.type_id, depth + 1)?);
            }
            return Ok(a);
        }
        self.align(id, depth)
    }

    /// Whether natural placement would put a member (or the end) elsewhere than BTF says.
    fn packed(&mut self, id: TypeId, depth: u32) -> Result<bool, DumpError> {
        if let Some(&p) = self.packed_memo.get(&id) {
            return Ok(p);
        }
        self.packed_memo.insert(id, false);
        let t = self.t(id)?;
        let (c, is_union) = match t {
            Type::Struct(c) => (c, false),
            Type::Union(c) => (c, true),
            _ => return Ok(false),
        };
        let mut packed = false;
        let mut max_align = 1;
        for m in c.members() {
            let a = self.align(m.type_id, depth + 1)?;
            max_align = max_align.max(a);
            let off = u64::from(m.bit_offset);
            if m.bitfield_size == 0 && off % (u64::from(a) * 8) != 0 {
                packed = true;
            }
            if m.bitfield_size > 0 && !is_union {
                let unit = u64::from(self.storage_size(m.type_id)?.max(1)) * 8;
                if off / unit != (off + u64::from(m.bitfield_size) - 1) / unit {
                    packed = true;
                }
            }
        }
        if u64::from(c.size()) % u64::from(max_align) != 0 {
            packed = true;
        }
        self.packed_memo.insert(id, packed);
        Ok(packed)
    }

    fn storage_size(&self, id: TypeId) -> Result<u32, DumpError> {
        let r = self
            .btf
            .skip_mods_and_typedefs(id)
            .map_err(|source| DumpError::Btf { id, source })?;
        Ok(self.t(r)?.size().unwrap_or(4))
    }

    /// Whether `id` is (a typedef chain to) `__builtin_va_list`, which is not emitted: the
    /// compiler's own is a pointer on the BPF target, not the kernel's structure.
    fn is_va_list(&self, id: TypeId) -> bool {
        let mut cur = id;
        for _ in 0..MAX_NEST {
            match self.btf.type_by_id(cur) {
                Ok(t @ Type::Typedef(r)) => {
                    if t.name() == "__builtin_va_list" {
                        return true;
                    }
                    cur = r.type_id();
                }
                Ok(Type::Const(r) | Type::Volatile(r)) => cur = r.type_id(),
                _ => return false,
            }
        }
        false
    }

    fn size_bits(&self, id: TypeId) -> Result<u64, DumpError> {
        if self.is_va_list(id) {
            return Ok(64);
        }
        // Pointers are 8 bytes on the BPF target whatever the kernel's word size.
        match self.t(id)? {
            Type::Ptr(_) => Ok(64),
            _ => Ok(self
                .btf
                .size_of(id)
                .map_err(|source| DumpError::Btf { id, source })?
                * 8),
        }
    }

    /// `struct name { ... }` with members, padding and `packed` as needed.
    fn composite_def(&mut self, id: TypeId, lvl: u32) -> Result<String, DumpError> {
        if lvl > MAX_NEST {
            return Err(DumpError::Cycle { id });
        }
        let t = self.t(id)?;
        let (c, is_union) = match t {
            Type::Struct(c) => (c, false),
            Type::Union(c) => (c, true),
            _ => return Ok(String::new()),
        };
        let mut s = String::from(if is_union { "union" } else { "struct" });
        if !t.name().is_empty() {
            s.push(' ');
            s.push_str(&self.tag_name(id)?);
        }
        s.push_str(" {\n");
        let packed = self.packed(id, 0)?;
        let mut cur: u64 = 0;
        let mut max_end: u64 = 0;
        for m in c.members() {
            let off = u64::from(m.bit_offset);
            if !is_union {
                let place = if m.bitfield_size > 0 {
                    let unit = u64::from(self.storage_size(m.type_id)?.max(1)) * 8;
                    if packed || cur / unit == (cur + u64::from(m.bitfield_size) - 1) / unit {
                        cur
                    } else {
                        round_up(cur, unit)
                    }
                } else {
                    let a = if packed {
                        1
                    } else {
                        u64::from(self.align(m.type_id, 0)?)
                    };
                    round_up(cur, a * 8)
                };
                if off > place {
                    pad(&mut s, cur, off, lvl + 1);
                }
            }
            indent(&mut s, lvl + 1);
            let d = self.decl(m.type_id, m.name, lvl + 1, 0)?;
            s.push_str(&d);
            let end = if m.bitfield_size > 0 {
                let _ = write!(s, ": {}", m.bitfield_size);
                off + u64::from(m.bitfield_size)
            } else {
                off + self.size_bits(m.type_id)?
            };
            s.push_str(";\n");
            cur = end;
            max_end = max_end.max(end);
        }
        let size_bits = u64::from(c.size()) * 8;
        if !is_union {
            let a = if packed {
                1
            } else {
                u64::from(self.natural_align(id, 0)?)
            };
            if round_up(cur, a * 8) < size_bits {
                pad(&mut s, cur, size_bits, lvl + 1);
            }
        } else if max_end < size_bits {
            let a = u64::from(self.natural_align(id, 0)?);
            if round_up(max_end, a * 8) < size_bits {
                indent(&mut s, lvl + 1);
                let _ = writeln!(s, "char __pad[{}];", c.size());
            }
        }
        indent(&mut s, lvl);
        s.push('}');
        if packed {
            s.push_str(" __attribute__((packed))");
        }
        Ok(s)
    }

    /// A C declaration of `name` with type `id` (`int (*name)[4]`, `const char *name`, ...).
    fn decl(&mut self, id: TypeId, name: &str, lvl: u32, depth: u32) -> Result<String, DumpError> {
        self.decl_inner(id, name.to_string(), lvl, depth)
    }

    fn decl_inner(
        &mut self,
        id: TypeId,
        inner: String,
        lvl: u32,
        depth: u32,
    ) -> Result<String, DumpError> {
        if depth > MAX_NEST {
            return Err(DumpError::Cycle { id });
        }
        let join = |base: String, inner: &str| {
            if inner.is_empty() {
                base
            } else {
                format!("{base} {inner}")
            }
        };
        let t = self.t(id)?;
        Ok(match t {
            Type::Void => join("void".into(), &inner),
            Type::Int(_) | Type::Float(_) => join(t.name().to_string(), &inner),
            Type::Struct(_) | Type::Union(_) => {
                if t.name().is_empty() {
                    let def = self.composite_def(id, lvl)?;
                    join(def, &inner)
                } else {
                    let kw = if t.kind() == Kind::Union {
                        "union"
                    } else {
                        "struct"
                    };
                    let n = self.tag_name(id)?;
                    if !self.declared.contains(&id) {
                        self.used_tags.push(id);
                    }
                    join(format!("{kw} {n}"), &inner)
                }
            }
            Type::Enum(_) | Type::Enum64(_) => {
                if t.name().is_empty() {
                    let def = self.enum_def(id, lvl)?;
                    join(def, &inner)
                } else {
                    let n = self.tag_name(id)?;
                    join(format!("enum {n}"), &inner)
                }
            }
            Type::Fwd(f) => {
                let kw = if f.is_union() { "union" } else { "struct" };
                let n = self.tag_name(id)?;
                if !self.declared.contains(&id) {
                    self.used_tags.push(id);
                }
                join(format!("{kw} {n}"), &inner)
            }
            Type::Typedef(_) => {
                let n = self.ident_name(id)?;
                join(n, &inner)
            }
            Type::Ptr(r) => {
                let target = self.t(r.type_id())?;
                let inner = if matches!(target, Type::Array(_) | Type::FuncProto(_)) {
                    format!("(*{inner})")
                } else {
                    format!("*{inner}")
                };
                self.decl_inner(r.type_id(), inner, lvl, depth + 1)?
            }
            Type::Const(r) | Type::Volatile(r) | Type::Restrict(r) => {
                let q = match t.kind() {
                    Kind::Const => "const",
                    Kind::Volatile => "volatile",
                    _ => "restrict",
                };
                let under = self.btf.skip_mods_and_typedefs(r.type_id()).ok();
                let target_is_ptr = matches!(self.t(r.type_id())?, Type::Ptr(_));
                if target_is_ptr {
                    self.decl_inner(r.type_id(), format!("{q} {inner}"), lvl, depth + 1)?
                } else if q == "restrict" {
                    // restrict only qualifies pointers; drop it elsewhere.
                    self.decl_inner(r.type_id(), inner, lvl, depth + 1)?
                } else if q == "const" && self.elem_is_const(r.type_id()) {
                    // A const array of const elements: C has one place for the qualifier.
                    self.decl_inner(r.type_id(), inner, lvl, depth + 1)?
                } else {
                    let _ = under;
                    let d = self.decl_inner(r.type_id(), inner, lvl, depth + 1)?;
                    format!("{q} {d}")
                }
            }
            Type::TypeTag(r) => self.decl_inner(r.type_id(), inner, lvl, depth + 1)?,
            Type::Array(a) => {
                let inner = format!("{inner}[{}]", a.nelems());
                self.decl_inner(a.elem_type(), inner, lvl, depth + 1)?
            }
            Type::FuncProto(p) => {
                let mut params = Vec::new();
                let n = p.params().len();
                for (i, prm) in p.params().enumerate() {
                    if i + 1 == n && prm.type_id == 0 && prm.name.is_empty() {
                        params.push("...".to_string());
                    } else {
                        params.push(self.decl_inner(prm.type_id, String::new(), lvl, depth + 1)?);
                    }
                }
                if params.is_empty() {
                    params.push("void".into());
                }
                let inner = format!("{inner}({})", params.join(", "));
                self.decl_inner(p.return_type(), inner, lvl, depth + 1)?
            }
            _ => join("void".into(), &inner),
        })
    }
}

fn unique(counts: &mut HashMap<String, u32>, base: String) -> String {
    let c = counts.entry(base.clone()).or_insert(0);
    *c += 1;
    if *c == 1 {
        base
    } else {
        format!("{base}___{c}")
    }
}

fn round_up(v: u64, to: u64) -> u64 {
    if to == 0 {
        v
    } else {
        v.div_ceil(to) * to
    }
}

fn indent(s: &mut String, lvl: u32) {
    for _ in 0..lvl {
        s.push('\t');
    }
}

/// Unnamed bitfields from bit `from` to bit `to`: they occupy exactly their bits and do not
/// change the struct's alignment.
///
/// Gaps of 64 bytes or more become one named `char` array instead, so a huge (or lying) size
/// costs one line, not millions.
fn pad(s: &mut String, mut from: u64, to: u64, lvl: u32) {
    while from < to {
        let left = to - from;
        if from % 8 == 0 && left >= 64 * 8 {
            indent(s, lvl);
            let _ = writeln!(s, "char __pad_at_{}[{}];", from / 8, left / 8);
            from += left / 8 * 8;
            continue;
        }
        let (ty, bits) = if from % 64 == 0 && left >= 64 {
            ("long", 64)
        } else if from % 32 == 0 && left >= 32 {
            ("int", 32)
        } else if from % 16 == 0 && left >= 16 {
            ("short", 16)
        } else if from % 8 == 0 && left >= 8 {
            ("char", 8)
        } else {
            ("char", (8 - from % 8).min(left))
        };
        indent(s, lvl);
        let _ = writeln!(s, "{ty}: {bits};");
        from += bits;
    }
}
