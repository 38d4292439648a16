//! The event catalog the filters compile against: a trait, so a tool with its own events can
//! use the filter language too, and a small owned implementation of it.

use crate::text::{glob_match, nearest};

/// What an event argument holds, as far as filters care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ArgKind {
    /// A signed integer (compared with `= != < > <= >=`).
    Signed,
    /// An unsigned integer or an address (compared with `= != < > <= >=`).
    Unsigned,
    /// A string (exact, `prefix*` and `*suffix` patterns with `=` and `!=`).
    Str,
    /// An array of strings: a pattern matches if it matches any element.
    StrArray,
    /// Anything else (buffers, socket addresses): not filterable.
    Other,
}

impl ArgKind {
    /// Whether values are integers.
    pub const fn is_integer(self) -> bool {
        matches!(self, ArgKind::Signed | ArgKind::Unsigned)
    }
}

/// One argument of an event, as a filter names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgInfo<'a> {
    /// Position in the event's argument list (and on the wire).
    pub index: usize,
    /// Name as written in filters (`openat.data.pathname`).
    pub name: &'a str,
    /// What the argument holds.
    pub kind: ArgKind,
}

/// The events a filter set can name. Implemented by `tracee_core::events::Catalog`, and by
/// [`StaticCatalog`] for tools (and tests) with their own events.
///
/// Event ids are `u32`; sets are Tracee's tags (`fs`, `net`, `default`, ...).
pub trait EventCatalog {
    /// The id of the event called `name`.
    fn event_id(&self, name: &str) -> Option<u32>;
    /// The name of event `id`.
    fn event_name(&self, id: u32) -> Option<&str>;
    /// Every event id, ascending.
    fn event_ids(&self) -> Vec<u32>;
    /// Whether event `id` is in set `set`.
    fn in_set(&self, id: u32, set: &str) -> bool;
    /// Every set name, sorted, without duplicates.
    fn set_names(&self) -> Vec<&str>;
    /// The arguments of event `id`, in order.
    fn args(&self, id: u32) -> Vec<ArgInfo<'_>>;
    /// Whether event `id` has a return value (syscalls do).
    fn has_retval(&self, id: u32) -> bool;

    /// The events whose names match the glob `pattern` (`*` any run, `?` one character).
    fn glob(&self, pattern: &str) -> Vec<u32> {
        self.event_ids()
            .into_iter()
            .filter(|&id| self.event_name(id).is_some_and(|n| glob_match(pattern, n)))
            .collect()
    }

    /// The events of set `set`.
    fn events_in_set(&self, set: &str) -> Vec<u32> {
        self.event_ids()
            .into_iter()
            .filter(|&id| self.in_set(id, set))
            .collect()
    }

    /// The argument of event `id` called `name`.
    fn arg(&self, id: u32, name: &str) -> Option<ArgInfo<'_>> {
        self.args(id).into_iter().find(|a| a.name == name)
    }

    /// The known event name nearest to a misspelt one.
    fn suggest_event(&self, name: &str) -> Option<String> {
        let ids = self.event_ids();
        nearest(name, ids.iter().filter_map(|&id| self.event_name(id))).map(str::to_string)
    }
}

/// One event of a [`StaticCatalog`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticEvent {
    /// Id.
    pub id: u32,
    /// Name.
    pub name: String,
    /// Sets it belongs to.
    pub sets: Vec<String>,
    /// Arguments, in order: name and kind.
    pub args: Vec<(String, ArgKind)>,
    /// Whether it has a return value.
    pub retval: bool,
}

impl StaticEvent {
    /// An event with no sets, arguments or return value.
    pub fn new(id: u32, name: impl Into<String>) -> StaticEvent {
        StaticEvent {
            id,
            name: name.into(),
            sets: Vec::new(),
            args: Vec::new(),
            retval: false,
        }
    }

    /// Adds sets.
    pub fn sets<S: Into<String>>(mut self, sets: impl IntoIterator<Item = S>) -> StaticEvent {
        self.sets.extend(sets.into_iter().map(Into::into));
        self
    }

    /// Appends an argument.
    pub fn arg(mut self, name: impl Into<String>, kind: ArgKind) -> StaticEvent {
        self.args.push((name.into(), kind));
        self
    }

    /// Gives it a return value.
    pub fn with_retval(mut self) -> StaticEvent {
        self.retval = true;
        self
    }
}

/// A catalog built in code.
///
/// ```
/// use tracee_filters::{ArgKind, EventCatalog, StaticCatalog, StaticEvent};
/// let cat = StaticCatalog::new([
///     StaticEvent::new(257, "openat").sets(["fs"]).arg("pathname", ArgKind::Str).with_retval(),
/// ]);
/// assert_eq!(cat.event_id("openat"), Some(257));
/// assert_eq!(cat.events_in_set("fs"), vec![257]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct StaticCatalog {
    events: Vec<StaticEvent>,
}

impl StaticCatalog {
    /// A catalog of `events` (sorted by id; a later duplicate id or name is ignored).
    pub fn new(events: impl IntoIterator<Item = StaticEvent>) -> StaticCatalog {
        let mut out: Vec<StaticEvent> = Vec::new();
        for e in events {
            if out.iter().any(|o| o.id == e.id || o.name == e.name) {
                log::warn!(
                    "StaticCatalog: duplicate event {} '{}' ignored",
                    e.id,
                    e.name
                );
                continue;
            }
            out.push(e);
        }
        out.sort_by_key(|e| e.id);
        StaticCatalog { events: out }
    }

    fn get(&self, id: u32) -> Option<&StaticEvent> {
        self.events
            .binary_search_by_key(&id, |e| e.id)
            .ok()
            .map(|i| &self.events[i])
    }
}

impl EventCatalog for StaticCatalog {
    fn event_id(&self, name: &str) -> Option<u32> {
        self.events.iter().find(|e| e.name == name).map(|e| e.id)
    }

    fn event_name(&self, id: u32) -> Option<&str> {
        self.get(id).map(|e| e.name.as_str())
    }

    fn event_ids(&self) -> Vec<u32> {
        self.events.iter().map(|e| e.id).collect()
    }

    fn in_set(&self, id: u32, set: &str) -> bool {
        self.get(id)
            .is_some_and(|e| e.sets.iter().any(|s| s == set))
    }

    fn set_names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .events
            .iter()
            .flat_map(|e| e.sets.iter().map(String::as_str))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn args(&self, id: u32) -> Vec<ArgInfo<'_>> {
        self.get(id)
            .map(|e| {
                e.args
                    .iter()
                    .enumerate()
                    .map(|(index, (name, kind))| ArgInfo {
                        index,
                        name,
                        kind: *kind,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn has_retval(&self, id: u32) -> bool {
        self.get(id).is_some_and(|e| e.retval)
    }
}
