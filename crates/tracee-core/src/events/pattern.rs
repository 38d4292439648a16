//! Event name patterns (`open*`) and selectors (`openat`, `open*`, `tag=fs`), as in
//! `tracee list` and Tracee's `--events`.

// Globs and typo suggestions are the filter language's: `--events open*` and `tracee list open*`
// must select the same events.
pub use tracee_filters::{glob_match, nearest};

/// Whether `s` contains glob metacharacters.
pub fn is_glob(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// What one selector string asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Selector<'a> {
    /// An exact event name.
    Name(&'a str),
    /// A glob over event names.
    Glob(&'a str),
    /// Every event of a set: `tag=fs` or `set=fs`.
    Set(&'a str),
}

impl<'a> Selector<'a> {
    /// Classifies `s`: `tag=T`/`set=T` is a set, a string with `*` or `?` a glob, anything else
    /// a name.
    pub fn parse(s: &'a str) -> Selector<'a> {
        let s = s.trim();
        if let Some(set) = s.strip_prefix("tag=").or_else(|| s.strip_prefix("set=")) {
            Selector::Set(set)
        } else if is_glob(s) {
            Selector::Glob(s)
        } else {
            Selector::Name(s)
        }
    }
}
