//! The catalog: built-in and registered event definitions, indexed for lookup.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use once_cell::sync::Lazy;

use super::generated::SYSCALLS;
use super::lifecycle::LIFECYCLE;
use super::pattern::{glob_match, nearest, Selector};
use super::{Arch, ArgType, CatalogError, CustomDecoder, EventDefinition, EventId};

/// Ids below this are indexed by a table, the rest by a hash map.
const DENSE_IDS: u32 = 2048;

/// Most arguments an event may have (Tracee's largest events have fewer than 20).
pub const MAX_ARGS: usize = 32;

/// Every event the tracer knows: all syscalls of x86_64 and arm64, the process lifecycle
/// events, and whatever an embedding tool registers.
///
/// ```
/// use tracee_core::events::{Arch, Catalog};
/// let cat = Catalog::builtin();
/// let openat = cat.by_name("openat").unwrap();
/// assert_eq!(openat.syscall_nr(Arch::X86_64), Some(257));
/// assert_eq!(cat.get(openat.id()).unwrap().name(), "openat");
/// assert!(cat.select("tag=fs_file_ops").unwrap().iter().any(|d| d.name() == "openat"));
/// ```
#[derive(Clone)]
pub struct Catalog {
    /// Sorted by id.
    defs: Vec<EventDefinition>,
    /// Position in `defs` + 1 (0: none) of ids below [`DENSE_IDS`]: the decoder looks an event
    /// up per record, so the common ids avoid hashing.
    dense: Vec<u32>,
    /// Position in `defs` of the other ids.
    sparse: HashMap<EventId, usize>,
    by_name: HashMap<String, EventId>,
    by_syscall: HashMap<(Arch, u32), EventId>,
    decoders: HashMap<EventId, Arc<dyn CustomDecoder>>,
}

static BUILTIN: Lazy<Catalog> = Lazy::new(|| {
    let mut cat = Catalog::empty();
    for raw in SYSCALLS.iter().chain(LIFECYCLE.iter()) {
        if let Err(e) = cat.register(raw.definition()) {
            // The generated table's invariants are tested; this only fires on a bad regeneration.
            log::error!("built-in event table is inconsistent: {e}");
        }
    }
    cat
});

impl Catalog {
    /// A catalog with no events.
    pub fn empty() -> Catalog {
        Catalog {
            defs: Vec::new(),
            dense: vec![0; DENSE_IDS as usize],
            sparse: HashMap::new(),
            by_name: HashMap::new(),
            by_syscall: HashMap::new(),
            decoders: HashMap::new(),
        }
    }

    /// A catalog of the built-in events, ready to extend with [`Catalog::register`].
    pub fn builtin() -> Catalog {
        BUILTIN.clone()
    }

    /// The shared built-in catalog, without copying it.
    pub fn builtin_ref() -> &'static Catalog {
        &BUILTIN
    }

    /// Adds `def`, checking that its id, name and syscall numbers are free and its
    /// arguments are well-formed. Returns its id.
    ///
    /// ```
    /// use tracee_core::events::{Catalog, CatalogError, EventDefinition, EventId};
    /// let mut cat = Catalog::builtin();
    /// cat.register(EventDefinition::custom(EventId(10_000), "my_event")).unwrap();
    /// let clash = cat.register(EventDefinition::custom(EventId(10_001), "openat"));
    /// assert!(matches!(clash, Err(CatalogError::NameInUse { .. })));
    /// ```
    pub fn register(&mut self, def: EventDefinition) -> Result<EventId, CatalogError> {
        self.check(&def)?;
        let id = def.id;
        for arch in [Arch::X86_64, Arch::Arm64] {
            if let Some(nr) = def.syscall.get(arch) {
                self.by_syscall.insert((arch, nr), id);
            }
        }
        self.by_name.insert(def.name.to_string(), id);
        log::debug!("registered event {} '{}'", id, def.name);
        let pos = self.defs.partition_point(|d| d.id < id);
        if pos < self.defs.len() {
            // Ids after the new one move up a slot.
            for v in self.dense.iter_mut().filter(|v| **v > pos as u32) {
                *v += 1;
            }
            for v in self.sparse.values_mut().filter(|v| **v >= pos) {
                *v += 1;
            }
        }
        if id.0 < DENSE_IDS {
            self.dense[id.0 as usize] = pos as u32 + 1;
        } else {
            self.sparse.insert(id, pos);
        }
        self.defs.insert(pos, def);
        Ok(id)
    }

    /// Adds `def` with the decoder for its argument bytes (see [`CustomDecoder`]).
    pub fn register_with_decoder(
        &mut self,
        def: EventDefinition,
        decoder: Arc<dyn CustomDecoder>,
    ) -> Result<EventId, CatalogError> {
        let id = self.register(def)?;
        self.decoders.insert(id, decoder);
        Ok(id)
    }

    fn check(&self, def: &EventDefinition) -> Result<(), CatalogError> {
        let name = def.name.as_ref();
        if let Some(existing) = self.get(def.id) {
            return Err(CatalogError::IdInUse {
                id: def.id,
                name: name.to_string(),
                existing: existing.name.to_string(),
            });
        }
        if let Some(&existing) = self.by_name.get(name) {
            return Err(CatalogError::NameInUse {
                name: name.to_string(),
                id: def.id,
                existing,
            });
        }
        check_name(name)?;
        for arch in [Arch::X86_64, Arch::Arm64] {
            if let Some(nr) = def.syscall.get(arch) {
                if let Some(existing) = self.by_syscall.get(&(arch, nr)) {
                    return Err(CatalogError::SyscallInUse {
                        arch,
                        nr,
                        name: name.to_string(),
                        existing: self
                            .get(*existing)
                            .map_or_else(String::new, |d| d.name.to_string()),
                    });
                }
            }
        }
        check_args(def)
    }

    /// The event with this id.
    pub fn get(&self, id: EventId) -> Option<&EventDefinition> {
        let pos = if id.0 < DENSE_IDS {
            (self.dense[id.0 as usize] as usize).checked_sub(1)?
        } else {
            *self.sparse.get(&id)?
        };
        self.defs.get(pos)
    }

    /// The event with this exact name.
    pub fn by_name(&self, name: &str) -> Option<&EventDefinition> {
        self.by_name.get(name).and_then(|&id| self.get(id))
    }

    /// The event that is syscall `nr` on `arch`.
    pub fn by_syscall(&self, arch: Arch, nr: u32) -> Option<&EventDefinition> {
        self.by_syscall
            .get(&(arch, nr))
            .and_then(|&id| self.get(id))
    }

    /// The event that is syscall `nr` on the architecture this code runs on.
    pub fn by_native_syscall(&self, nr: u32) -> Option<&EventDefinition> {
        Arch::native().and_then(|arch| self.by_syscall(arch, nr))
    }

    /// The decoder registered for a custom event.
    pub fn decoder(&self, id: EventId) -> Option<&Arc<dyn CustomDecoder>> {
        self.decoders.get(&id)
    }

    /// All events, by ascending id.
    pub fn iter(&self) -> impl Iterator<Item = &EventDefinition> + '_ {
        self.defs.iter()
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.defs.len()
    }

    /// Whether there are no events.
    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    /// Every set name any event is in, sorted.
    pub fn sets(&self) -> BTreeSet<&str> {
        self.defs.iter().flat_map(|d| d.sets()).collect()
    }

    /// The events in `set`, by ascending id.
    pub fn in_set<'a>(&'a self, set: &'a str) -> impl Iterator<Item = &'a EventDefinition> + 'a {
        self.defs.iter().filter(move |d| d.in_set(set))
    }

    /// The events whose names match the glob `pattern` (`open*`), by ascending id.
    pub fn matching<'a>(
        &'a self,
        pattern: &'a str,
    ) -> impl Iterator<Item = &'a EventDefinition> + 'a {
        self.defs
            .iter()
            .filter(move |d| glob_match(pattern, &d.name))
    }

    /// Resolves one selector as `tracee list` and `--events` do: an exact name, a glob
    /// (`open*`), or a set (`tag=fs`, `set=fs`). Unknown names and sets are errors that suggest
    /// the nearest known one; a glob matching nothing is an error too.
    pub fn select(&self, selector: &str) -> Result<Vec<&EventDefinition>, CatalogError> {
        match Selector::parse(selector) {
            Selector::Name(name) => {
                self.by_name(name)
                    .map(|d| vec![d])
                    .ok_or_else(|| CatalogError::UnknownEvent {
                        name: name.to_string(),
                        suggestion: self.suggest_event(name).map(str::to_string),
                    })
            }
            Selector::Glob(pattern) => {
                let found: Vec<_> = self
                    .defs
                    .iter()
                    .filter(|d| glob_match(pattern, &d.name))
                    .collect();
                if found.is_empty() {
                    return Err(CatalogError::NoMatch {
                        pattern: pattern.to_string(),
                    });
                }
                Ok(found)
            }
            Selector::Set(set) => {
                let found: Vec<_> = self.defs.iter().filter(|d| d.in_set(set)).collect();
                if found.is_empty() {
                    return Err(CatalogError::UnknownSet {
                        set: set.to_string(),
                        suggestion: nearest(set, self.sets()).map(str::to_string),
                    });
                }
                Ok(found)
            }
        }
    }

    /// The known event name nearest to a misspelt `name`, if one is close.
    pub fn suggest_event(&self, name: &str) -> Option<&str> {
        nearest(name, self.defs.iter().map(|d| d.name()))
    }
}

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalog")
            .field("events", &self.defs.len())
            .field("custom_decoders", &self.decoders.len())
            .finish()
    }
}

impl Default for Catalog {
    fn default() -> Catalog {
        Catalog::builtin()
    }
}

/// Names must survive selectors and filter expressions (`name.data.arg=...`, `tag=`, lists).
fn check_name(name: &str) -> Result<(), CatalogError> {
    let reason = if name.is_empty() {
        "empty"
    } else if name.len() > 64 {
        "longer than 64 bytes"
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        "only ASCII letters, digits, '_' and '-' are allowed"
    } else if name.starts_with('-') {
        "a leading '-' means exclusion in event selectors"
    } else {
        return Ok(());
    };
    Err(CatalogError::InvalidName {
        name: name.to_string(),
        reason,
    })
}

fn check_args(def: &EventDefinition) -> Result<(), CatalogError> {
    let bad = |arg: String, reason| CatalogError::InvalidArg {
        event: def.name.to_string(),
        arg,
        reason,
    };
    if def.args.len() > MAX_ARGS {
        return Err(bad(
            def.args.len().to_string(),
            "more than MAX_ARGS arguments",
        ));
    }
    for set in def.sets() {
        check_name(set).map_err(|_| bad(set.to_string(), "set names follow event name rules"))?;
    }
    for (i, a) in def.args.iter().enumerate() {
        if a.name.is_empty()
            || !a
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(bad(i.to_string(), "argument names are ASCII identifiers"));
        }
        if def.args[..i].iter().any(|b| b.name == a.name) {
            return Err(bad(a.name.to_string(), "duplicate argument name"));
        }
        if let ArgType::Bytes { len_arg } = a.ty {
            let ok = def
                .args
                .get(usize::from(len_arg))
                .is_some_and(|l| usize::from(len_arg) != i && l.ty.is_integer());
            if !ok {
                return Err(bad(
                    a.name.to_string(),
                    "bytes length must name another, integer argument",
                ));
            }
        }
    }
    Ok(())
}
