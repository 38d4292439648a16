//! The name → type ids index behind [`Btf::find_by_name`](crate::Btf::find_by_name).
//!
//! Kernel BTF is not sorted by name, so libbpf scans every type on each lookup. This index
//! hashes every name once (on the first lookup) into a table whose entries hold only string
//! offsets and the ends of a chain of same-named ids; a lookup costs one hash and usually one
//! string comparison.

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use crate::index::field;
use crate::Btf;
use crate::TypeId;

/// One distinct name: where its string is, and the first and last of its types.
#[derive(Clone, Copy)]
struct Entry {
    name_off: u32,
    /// Positions (`id - first_id`) of the first and last type with this name.
    head: u32,
    tail: u32,
}

/// Chain terminator in `next`.
const END: u32 = u32::MAX;

pub(crate) struct NameIndex {
    table: HashTable<Entry>,
    /// For each type position, the position of the next type with the same name, or [`END`].
    next: Vec<u32>,
    hasher: DefaultHashBuilder,
}

impl NameIndex {
    pub(crate) fn build(btf: &Btf) -> NameIndex {
        let offsets = btf.own_offsets();
        let data = btf.data();
        let endian = btf.endian();
        let hasher = DefaultHashBuilder::default();
        let mut table: HashTable<Entry> = HashTable::with_capacity(offsets.len());
        let mut next = vec![END; offsets.len()];
        for (pos, &off) in offsets.iter().enumerate() {
            let name_off = field(data, off as usize, endian);
            if name_off == 0 {
                continue;
            }
            let pos = pos as u32;
            let name = btf.name_bytes(name_off);
            let hash = hasher.hash_one(name);
            let found = table.find_mut(hash, |e| {
                e.name_off == name_off || btf.name_bytes(e.name_off) == name
            });
            match found {
                Some(e) => {
                    next[e.tail as usize] = pos;
                    e.tail = pos;
                }
                None => {
                    table.insert_unique(
                        hash,
                        Entry {
                            name_off,
                            head: pos,
                            tail: pos,
                        },
                        |e| hasher.hash_one(btf.name_bytes(e.name_off)),
                    );
                }
            }
        }
        NameIndex {
            table,
            next,
            hasher,
        }
    }

    pub(crate) fn lookup<'a>(&'a self, btf: &'a Btf, name: &[u8]) -> NameChain<'a> {
        let hash = self.hasher.hash_one(name);
        let cur = self
            .table
            .find(hash, |e| btf.name_bytes(e.name_off) == name)
            .map_or(END, |e| e.head);
        NameChain {
            next: &self.next,
            first_id: btf.first_id(),
            cur,
        }
    }
}

/// The ids of one name's chain, ascending.
pub(crate) struct NameChain<'a> {
    next: &'a [u32],
    first_id: TypeId,
    cur: u32,
}

impl Iterator for NameChain<'_> {
    type Item = TypeId;

    fn next(&mut self) -> Option<TypeId> {
        if self.cur == END {
            return None;
        }
        let pos = self.cur;
        self.cur = self.next.get(pos as usize).copied().unwrap_or(END);
        Some(self.first_id + pos)
    }
}
