//! Parsing `--scope`, `--events` and policy filter strings into the [`ast`](crate::ast).
//!
//! Grammar (bytes; whitespace around tokens is not allowed, as in Tracee's flags):
//!
//! ```text
//! scope     := FIELD | FIELD OP values
//! events    := item (',' item)*            (a list of selectors)
//!            | EVENT '.' filter             (one filter; its values may contain ',')
//! item      := ['-'] (NAME | GLOB | ('tag'|'set') '=' SET (',' SET)*)
//! filter    := ('data'|'args') '.' ARG OP values | 'retval' OP values | 'scope' '.' scope
//! values    := VALUE (',' VALUE)*
//! OP        := '=' | '!=' | '<' | '>' | '<=' | '>='
//! ```

use crate::ast::{
    EventFilter, EventItem, NumField, Op, Pattern, ScopeFilter, Selector, Spanned, TextField,
};
use crate::error::{FilterError, Origin, Span};
use crate::text::nearest;

/// Scope field names, for suggestions.
pub const SCOPE_FIELDS: &[&str] = &[
    "global",
    "follow",
    "container",
    "not-container",
    "uid",
    "pid",
    "mntns",
    "pidns",
    "uts",
    "comm",
    "executable",
    "exec",
    "bin",
    "tree",
];

/// The pieces of `FIELD OP v1,v2`, as byte ranges of the input.
struct Cond {
    field: (usize, usize),
    op: Option<(Op, usize, usize)>,
    values: Vec<(usize, usize)>,
}

fn is_field_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

struct Ctx<'a> {
    input: &'a str,
    origin: &'a Origin,
}

impl<'a> Ctx<'a> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.origin.clone(), self.input, start, end)
    }

    fn syntax(&self, start: usize, end: usize, message: impl Into<String>) -> FilterError {
        FilterError::Syntax {
            at: self.span(start, end),
            message: message.into(),
        }
    }

    fn text(&self, r: (usize, usize)) -> &'a str {
        self.input.get(r.0..r.1).unwrap_or("")
    }

    /// Splits `input[from..]` as `FIELD [OP VALUES]`.
    fn cond(&self, from: usize) -> Result<Cond, FilterError> {
        let bytes = self.input.as_bytes();
        let mut i = from;
        while i < bytes.len() && is_field_byte(bytes[i]) {
            i += 1;
        }
        if i == from {
            return Err(self.syntax(from, from + 1, "expected a filter name"));
        }
        let field = (from, i);
        if i == bytes.len() {
            return Ok(Cond {
                field,
                op: None,
                values: Vec::new(),
            });
        }
        let two = bytes.get(i..i + 2);
        let (op, len) = match (two, bytes[i]) {
            (Some(b"!="), _) => (Op::Ne, 2),
            (Some(b"<="), _) => (Op::Le, 2),
            (Some(b">="), _) => (Op::Ge, 2),
            (_, b'=') => (Op::Eq, 1),
            (_, b'<') => (Op::Lt, 1),
            (_, b'>') => (Op::Gt, 1),
            _ => {
                let end = self.input[i..]
                    .char_indices()
                    .nth(1)
                    .map_or(self.input.len(), |(n, _)| i + n);
                return Err(self.syntax(
                    i,
                    end,
                    format!(
                        "expected an operator (=, !=, <, >, <=, >=) after '{}'",
                        self.text(field)
                    ),
                ));
            }
        };
        let vstart = i + len;
        let mut values = Vec::new();
        let mut s = vstart;
        for part in self.input[vstart..].split(',') {
            let e = s + part.len();
            if part.is_empty() {
                return Err(self.syntax(s, e, "empty value"));
            }
            values.push((s, e));
            s = e + 1;
        }
        Ok(Cond {
            field,
            op: Some((op, i, vstart)),
            values,
        })
    }

    fn number(&self, r: (usize, usize), field: &str) -> Result<u64, FilterError> {
        let t = self.text(r);
        let parsed = if let Some(h) = t.strip_prefix("0x") {
            u64::from_str_radix(h, 16)
        } else {
            t.parse::<u64>()
        };
        parsed.map_err(|_| FilterError::BadValue {
            at: self.span(r.0, r.1),
            field: field.to_string(),
            value: t.to_string(),
            reason: "expected an unsigned integer".into(),
        })
    }

    fn signed(&self, r: (usize, usize), field: &str) -> Result<i64, FilterError> {
        let t = self.text(r);
        t.parse::<i64>().map_err(|_| FilterError::BadValue {
            at: self.span(r.0, r.1),
            field: field.to_string(),
            value: t.to_string(),
            reason: "expected an integer".into(),
        })
    }

    fn bad_op(&self, c: &Cond, field: &str, allowed: &'static str) -> FilterError {
        let (op, s, e) = c.op.unwrap_or((Op::Eq, c.field.1, c.field.1));
        FilterError::BadOperator {
            at: self.span(s, e),
            field: field.to_string(),
            op: op.to_string(),
            allowed,
        }
    }

    /// A scope filter from a condition whose field is `c.field`.
    fn scope(&self, c: &Cond) -> Result<ScopeFilter, FilterError> {
        let name = self.text(c.field);
        let fspan = || self.span(c.field.0, c.field.1);
        let bare = |f: ScopeFilter| -> Result<ScopeFilter, FilterError> {
            match c.op {
                None => Ok(f),
                Some((_, s, _)) => {
                    Err(self.syntax(s, self.input.len(), format!("'{name}' takes no value")))
                }
            }
        };
        let num = |field: NumField| -> Result<ScopeFilter, FilterError> {
            let Some((op, _, _)) = c.op else {
                return Err(self.syntax(
                    c.field.0,
                    c.field.1,
                    format!("'{name}' needs an operator and a value"),
                ));
            };
            if !op.is_equality() && !field.has_ranges() {
                return Err(self.bad_op(c, name, "= and !="));
            }
            if !op.is_equality() && c.values.len() > 1 {
                let (s, _) = c.values[1];
                return Err(self.syntax(s, self.input.len(), format!("'{op}' takes one value")));
            }
            if field == NumField::Pid && c.values.iter().any(|&v| self.text(v) == "new") {
                if c.values.len() > 1 || !op.is_equality() {
                    return Err(self.syntax(
                        c.values[0].0,
                        self.input.len(),
                        "'new' stands alone: pid=new or pid!=new",
                    ));
                }
                return Ok(ScopeFilter::NewPid(op == Op::Eq));
            }
            let values = c
                .values
                .iter()
                .map(|&v| self.number(v, name))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ScopeFilter::Num { field, op, values })
        };
        let text = |field: TextField| -> Result<ScopeFilter, FilterError> {
            let Some((op, _, _)) = c.op else {
                return Err(self.syntax(
                    c.field.0,
                    c.field.1,
                    format!("'{name}' needs '=' or '!=' and a value"),
                ));
            };
            if !op.is_equality() {
                return Err(self.bad_op(c, name, "= and !="));
            }
            Ok(ScopeFilter::Text {
                field,
                op,
                values: c.values.iter().map(|&v| self.text(v).to_string()).collect(),
            })
        };
        match name {
            "global" => bare(ScopeFilter::Global),
            "follow" => bare(ScopeFilter::Follow),
            "not-container" => bare(ScopeFilter::Container(false)),
            "container" => match c.op {
                None => Ok(ScopeFilter::Container(true)),
                Some(_) => Err(FilterError::BadValue {
                    at: self.span(c.field.0, self.input.len()),
                    field: name.into(),
                    value: self.input[c.field.1..].to_string(),
                    reason: "container ids need a container runtime enricher; use 'container' or 'not-container'".into(),
                }),
            },
            "uid" => num(NumField::Uid),
            "pid" => num(NumField::Pid),
            "mntns" => num(NumField::MntNs),
            "pidns" => num(NumField::PidNs),
            "comm" => text(TextField::Comm),
            "uts" => text(TextField::Uts),
            "executable" | "exec" | "bin" => text(TextField::Executable),
            "tree" => {
                let Some((op, _, _)) = c.op else {
                    return Err(self.syntax(c.field.0, c.field.1, "'tree' needs '=' or '!=' and pids"));
                };
                if !op.is_equality() {
                    return Err(self.bad_op(c, name, "= and !="));
                }
                let pids = c
                    .values
                    .iter()
                    .map(|&v| {
                        let n = self.number(v, name)?;
                        u32::try_from(n).map_err(|_| FilterError::BadValue {
                            at: self.span(v.0, v.1),
                            field: name.into(),
                            value: self.text(v).into(),
                            reason: "pids are 32-bit".into(),
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(ScopeFilter::Tree { op, pids })
            }
            _ => Err(FilterError::UnknownField {
                at: fspan(),
                field: name.to_string(),
                suggestion: nearest(name, SCOPE_FIELDS.iter().copied()).map(str::to_string),
            }),
        }
    }

    /// `data.ARG OP v`, `args.ARG OP v`, `retval OP v`, `scope.FIELD...` or a bare scope
    /// filter (policy rules) starting at byte `from`.
    fn event_filter(&self, from: usize, bare_scope: bool) -> Result<EventFilter, FilterError> {
        let c = self.cond(from)?;
        let field = self.text(c.field);
        let (head, rest) = field.split_once('.').unwrap_or((field, ""));
        match head {
            "data" | "args" => {
                if rest.is_empty() || rest.contains('.') {
                    return Err(self.syntax(c.field.0, c.field.1, "expected data.ARGUMENT"));
                }
                let Some((op, os, oe)) = c.op else {
                    return Err(self.syntax(
                        c.field.0,
                        c.field.1,
                        "a data filter needs an operator and a value",
                    ));
                };
                let a0 = c.field.0 + head.len() + 1;
                Ok(EventFilter::Data {
                    arg: Spanned {
                        node: rest.to_string(),
                        span: self.span(a0, c.field.1),
                    },
                    op,
                    op_at: self.span(os, oe),
                    values: c
                        .values
                        .iter()
                        .map(|&v| Spanned {
                            node: self.text(v).to_string(),
                            span: self.span(v.0, v.1),
                        })
                        .collect(),
                })
            }
            "retval" if rest.is_empty() => {
                let Some((op, _, _)) = c.op else {
                    return Err(self.syntax(
                        c.field.0,
                        c.field.1,
                        "'retval' needs an operator and a value",
                    ));
                };
                if !op.is_equality() && c.values.len() > 1 {
                    return Err(self.syntax(
                        c.values[1].0,
                        self.input.len(),
                        format!("'{op}' takes one value"),
                    ));
                }
                let values = c
                    .values
                    .iter()
                    .map(|&v| self.signed(v, "retval"))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(EventFilter::Retval { op, values })
            }
            "scope" | "context" if !rest.is_empty() => {
                let sc = Cond {
                    field: (c.field.0 + head.len() + 1, c.field.1),
                    op: c.op,
                    values: c.values,
                };
                self.event_scope(&sc)
            }
            _ if bare_scope && !field.contains('.') => self.event_scope(&c),
            _ => Err(FilterError::UnknownField {
                at: self.span(c.field.0, c.field.0 + head.len()),
                field: head.to_string(),
                suggestion: nearest(head, ["data", "args", "retval", "scope"]).map(str::to_string),
            }),
        }
    }

    fn event_scope(&self, c: &Cond) -> Result<EventFilter, FilterError> {
        let f = self.scope(c)?;
        // Per-event scopes are judged in userspace from the event's header: the process tree
        // and executable live only in the kernel's process map.
        if matches!(
            f,
            ScopeFilter::Follow
                | ScopeFilter::Global
                | ScopeFilter::Tree { .. }
                | ScopeFilter::Text {
                    field: TextField::Executable,
                    ..
                }
        ) {
            return Err(FilterError::Conflict {
                at: self.span(c.field.0, c.field.1),
                message: format!(
                    "'{}' applies to a whole policy, not to one event",
                    self.text(c.field)
                ),
            });
        }
        Ok(EventFilter::Scope(f))
    }

    fn selector(&self, s: usize, e: usize) -> Result<Selector, FilterError> {
        let t = self.text((s, e));
        if t.is_empty() {
            return Err(self.syntax(s, e, "empty event name"));
        }
        if let Some(set) = t.strip_prefix("tag=").or_else(|| t.strip_prefix("set=")) {
            if set.is_empty() {
                return Err(self.syntax(s, e, "empty set name"));
            }
            return Ok(Selector::Set(set.to_string()));
        }
        if let Some((bad, ch)) = t.char_indices().find(|&(_, c)| {
            !(c.is_ascii() && (is_field_byte(c as u8) || c == '*' || c == '?')) || c == '.'
        }) {
            return Err(self.syntax(
                s + bad,
                s + bad + ch.len_utf8(),
                format!("unexpected '{ch}' in an event name"),
            ));
        }
        if t.contains(['*', '?']) {
            Ok(Selector::Glob(t.to_string()))
        } else {
            Ok(Selector::Name(t.to_string()))
        }
    }
}

/// Parses one `--scope` argument (`uid>=1000`, `comm=bash,zsh`, `follow`, `pid=new`).
///
/// ```
/// use tracee_filters::{parse_scope, ast::{ScopeFilter, TextField, Op}, Origin};
/// let f = parse_scope("comm=bash,zsh", Origin::ScopeFlag(0)).unwrap();
/// assert_eq!(f.node, ScopeFilter::Text { field: TextField::Comm, op: Op::Eq,
///     values: vec!["bash".into(), "zsh".into()] });
/// ```
pub fn parse_scope(input: &str, origin: Origin) -> Result<Spanned<ScopeFilter>, FilterError> {
    let cx = Ctx {
        input,
        origin: &origin,
    };
    let c = cx.cond(0)?;
    let node = cx.scope(&c)?;
    Ok(Spanned {
        node,
        span: cx.span(0, input.len()),
    })
}

/// Parses one `--events` argument: a comma list of selectors (`openat,close`, `open*`,
/// `tag=fs,net`, `-openat`) or one filter (`openat.data.pathname=/etc/*,/tmp/*`,
/// `openat.retval<0`, `openat.scope.comm=cat`).
pub fn parse_events(input: &str, origin: Origin) -> Result<Vec<Spanned<EventItem>>, FilterError> {
    let cx = Ctx {
        input,
        origin: &origin,
    };
    let first = input.split(',').next().unwrap_or("");
    let op_at = first.find(['=', '!', '<', '>']).unwrap_or(first.len());
    if let Some(dot) = first[..op_at].find('.') {
        // One filter: EVENT.KIND...
        let ev = (0, dot);
        if ev.0 == ev.1 {
            return Err(cx.syntax(0, 1, "expected an event name before '.'"));
        }
        let event = Spanned {
            node: cx.text(ev).to_string(),
            span: cx.span(ev.0, ev.1),
        };
        if event.node.starts_with('-') {
            return Err(cx.syntax(0, dot, "an excluded event cannot have filters"));
        }
        let filter = cx.event_filter(dot + 1, false)?;
        return Ok(vec![Spanned {
            node: EventItem::Filter { event, filter },
            span: cx.span(0, input.len()),
        }]);
    }
    let mut out = Vec::new();
    let mut s = 0;
    let mut in_sets = None::<bool>;
    for part in input.split(',') {
        let e = s + part.len();
        let (neg, ps) = match part.strip_prefix('-') {
            Some(_) => (true, s + 1),
            None => (false, s),
        };
        let sel = if let (Some(was_neg), false, false) = (in_sets, part.contains('='), neg) {
            // `tag=fs,net`: bare items after a set continue the set list.
            if part.is_empty() {
                return Err(cx.syntax(s, e, "empty set name"));
            }
            let sel = Selector::Set(part.to_string());
            out.push(Spanned {
                node: if was_neg {
                    EventItem::Exclude(sel)
                } else {
                    EventItem::Select(sel)
                },
                span: cx.span(s, e),
            });
            s = e + 1;
            continue;
        } else {
            cx.selector(ps, e)?
        };
        in_sets = matches!(sel, Selector::Set(_)).then_some(neg);
        out.push(Spanned {
            node: if neg {
                EventItem::Exclude(sel)
            } else {
                EventItem::Select(sel)
            },
            span: cx.span(s, e),
        });
        s = e + 1;
    }
    Ok(out)
}

/// Parses one filter of a policy rule: `data.pathname=/tmp/*`, `args.pathname=...`,
/// `retval<0`, or a scope filter for this event only (`uid=0`, `scope.comm=ls`).
pub fn parse_rule_filter(input: &str, origin: Origin) -> Result<Spanned<EventFilter>, FilterError> {
    let cx = Ctx {
        input,
        origin: &origin,
    };
    let node = cx.event_filter(0, true)?;
    Ok(Spanned {
        node,
        span: cx.span(0, input.len()),
    })
}

/// A data filter value as a pattern: `x*` prefix, `*x` suffix, else exact.
pub fn pattern(value: &str) -> Pattern {
    Pattern::parse(value)
}
