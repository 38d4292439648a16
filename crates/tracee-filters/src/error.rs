//! Errors: every one names where the offending text came from and points at it.

use std::fmt;
use std::path::PathBuf;

/// Where a piece of filter text came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// The `n`th (0-based) `--scope` argument.
    ScopeFlag(usize),
    /// The `n`th (0-based) `--events` argument.
    EventsFlag(usize),
    /// A policy file (or YAML text).
    Policy(Box<PolicyOrigin>),
    /// Text handed to the library directly.
    Text,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::ScopeFlag(n) => write!(f, "--scope #{}", n + 1),
            Origin::EventsFlag(n) => write!(f, "--events #{}", n + 1),
            Origin::Policy(p) => {
                let PolicyOrigin {
                    file,
                    policy,
                    field,
                    line,
                } = p.as_ref();
                if let Some(file) = file {
                    write!(f, "{}", file.display())?;
                    if let Some(line) = line {
                        write!(f, ":{line}")?;
                    }
                    f.write_str(": ")?;
                } else if let Some(line) = line {
                    write!(f, "line {line}: ")?;
                }
                write!(f, "policy '{policy}' {field}")
            }
            Origin::Text => f.write_str("filter"),
        }
    }
}

/// A place in a policy file: the policy, what part of it, and its line when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyOrigin {
    /// The file, if the text came from one.
    pub file: Option<PathBuf>,
    /// The policy's name.
    pub policy: String,
    /// `scope[0]`, `rules[2].event`, `rules[0].filters[1]`, ...
    pub field: String,
    /// 1-based line of the text in the file, when found.
    pub line: Option<usize>,
}

/// The offending token: its origin, the whole input it is part of, and its byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// Where the input came from.
    pub origin: Origin,
    /// The whole input string (one flag argument, one policy filter line).
    pub input: Box<str>,
    /// Byte offset of the token in `input`.
    pub start: u32,
    /// Byte offset just past the token.
    pub end: u32,
}

impl Span {
    /// A span over `input[start..end]`.
    pub fn new(origin: Origin, input: &str, start: usize, end: usize) -> Span {
        let end = end.clamp(start, input.len().max(start));
        let small = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Span {
            origin,
            input: input.into(),
            start: small(start),
            end: small(end),
        }
    }

    /// The token's text.
    pub fn token(&self) -> &str {
        self.input
            .get(self.start as usize..self.end as usize)
            .unwrap_or("")
    }
}

impl fmt::Display for Span {
    /// `--events #1, column 3` (see [`Span::snippet`] for the caret line).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let start = self.start as usize;
        let col = self.input.get(..start).map_or(start, |s| s.chars().count()) + 1;
        write!(f, "{}, column {col}", self.origin)
    }
}

impl Span {
    /// The input with a caret line under the token, for terminals.
    pub fn snippet(&self) -> String {
        let pre = self
            .input
            .get(..self.start as usize)
            .map_or(0, |s| s.chars().count());
        let width = self.token().chars().count().max(1);
        format!(
            "  {}\n  {}{}",
            self.input,
            " ".repeat(pre),
            "^".repeat(width)
        )
    }
}

fn did_you_mean(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!(", did you mean '{s}'?"))
        .unwrap_or_default()
}

/// Why filter text could not be parsed, resolved or compiled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// The text does not follow the grammar.
    #[error("{at}: {message}\n{}", at.snippet())]
    Syntax {
        /// The offending token.
        at: Span,
        /// What was expected.
        message: String,
    },
    /// An event name not in the catalog.
    #[error("{at}: unknown event '{name}'{}\n{}", did_you_mean(suggestion), at.snippet())]
    UnknownEvent {
        /// The offending token.
        at: Span,
        /// The name.
        name: String,
        /// The nearest known name.
        suggestion: Option<String>,
    },
    /// A set (tag) no event is in.
    #[error("{at}: unknown set '{set}'{}\n{}", did_you_mean(suggestion), at.snippet())]
    UnknownSet {
        /// The offending token.
        at: Span,
        /// The set.
        set: String,
        /// The nearest known set.
        suggestion: Option<String>,
    },
    /// A glob that matches no event.
    #[error("{at}: no event matches '{pattern}'\n{}", at.snippet())]
    NoMatch {
        /// The offending token.
        at: Span,
        /// The glob.
        pattern: String,
    },
    /// A scope field that does not exist.
    #[error("{at}: unknown scope filter '{field}'{}\n{}", did_you_mean(suggestion), at.snippet())]
    UnknownField {
        /// The offending token.
        at: Span,
        /// The field.
        field: String,
        /// The nearest known field.
        suggestion: Option<String>,
    },
    /// An argument the event does not have.
    #[error("{at}: event '{event}' has no argument '{arg}'{}\n{}", did_you_mean(suggestion), at.snippet())]
    UnknownArg {
        /// The offending token.
        at: Span,
        /// The event.
        event: String,
        /// The argument.
        arg: String,
        /// The nearest argument name.
        suggestion: Option<String>,
    },
    /// An operator the field does not support.
    #[error("{at}: '{field}' does not support '{op}' (only {allowed})\n{}", at.snippet())]
    BadOperator {
        /// The offending token.
        at: Span,
        /// The field.
        field: String,
        /// The operator.
        op: String,
        /// The operators it supports.
        allowed: &'static str,
    },
    /// A value of the wrong form for its field.
    #[error("{at}: bad value '{value}' for '{field}': {reason}\n{}", at.snippet())]
    BadValue {
        /// The offending token.
        at: Span,
        /// The field.
        field: String,
        /// The value.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// Filters that contradict each other, or are given twice where once is allowed.
    #[error("{at}: {message}\n{}", at.snippet())]
    Conflict {
        /// The offending token.
        at: Span,
        /// What conflicts.
        message: String,
    },
    /// More than [`MAX_POLICIES`](crate::MAX_POLICIES) policies.
    #[error("{count} policies given, at most {max} can be active at once")]
    TooManyPolicies {
        /// How many were given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Two policies with one name.
    #[error("{origin}: a policy named '{name}' is already loaded")]
    DuplicatePolicy {
        /// Where the second one came from.
        origin: Origin,
        /// The name.
        name: String,
    },
    /// A policy file that is not valid YAML of Tracee's policy format.
    #[error("{file}{}: {message}", location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    Yaml {
        /// The file (or `<text>`).
        file: String,
        /// 1-based line and column, when the YAML parser knows them.
        location: Option<(usize, usize)>,
        /// The parser's or validator's message.
        message: String,
    },
    /// A policy file or directory that cannot be read.
    #[error("cannot read policy {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No events were selected.
    #[error("{0}: no events selected")]
    NoEvents(Origin),
}
