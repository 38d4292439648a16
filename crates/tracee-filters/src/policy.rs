//! Policies: built from `--scope`/`--events` flags or Tracee's YAML policy files, resolved
//! against an [`EventCatalog`], at most [`MAX_POLICIES`] at once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ast::{
    EventFilter, EventItem, NumField, Pattern, ScopeFilter, Selector, Spanned, TextField,
};
use crate::catalog::{ArgKind, EventCatalog};
use crate::context::EventContext;
use crate::error::{FilterError, Origin, PolicyOrigin, Span};
use crate::model::{evaluate, DataCond, Environment, NumCond, PatternCond, Policy, Rule, Scope};
use crate::parse::{parse_events, parse_rule_filter, parse_scope};
use crate::text::nearest;
use crate::MAX_POLICIES;

/// The set events are taken from when none are named (Tracee's default).
pub const DEFAULT_SET: &str = "default";

/// Adds one scope filter to `scope`.
pub fn apply_scope(scope: &mut Scope, f: &Spanned<ScopeFilter>) -> Result<(), FilterError> {
    let conflict = |message: String| FilterError::Conflict {
        at: f.span.clone(),
        message,
    };
    match &f.node {
        ScopeFilter::Global => {}
        ScopeFilter::Follow => scope.follow = true,
        ScopeFilter::Container(b) => {
            if scope.container.is_some_and(|c| c != *b) {
                return Err(conflict("both 'container' and 'not-container'".into()));
            }
            scope.container = Some(*b);
        }
        ScopeFilter::NewPid(b) => {
            if scope.new_pid.is_some_and(|c| c != *b) {
                return Err(conflict("both 'pid=new' and 'pid!=new'".into()));
            }
            scope.new_pid = Some(*b);
        }
        ScopeFilter::Num { field, op, values } => {
            let cond = match field {
                NumField::Uid => &mut scope.uid,
                NumField::Pid => &mut scope.pid,
                NumField::MntNs => &mut scope.mntns,
                NumField::PidNs => &mut scope.pidns,
            };
            for &v in values {
                cond.add(*op, i128::from(v));
            }
        }
        ScopeFilter::Text { field, op, values } => {
            let cond = match field {
                TextField::Comm => &mut scope.comm,
                TextField::Uts => &mut scope.uts,
                TextField::Executable => &mut scope.exe,
            };
            for v in values {
                cond.add(*op, v.clone());
            }
        }
        ScopeFilter::Tree { op, pids } => {
            for &p in pids {
                scope.tree.add(*op, p);
            }
        }
    }
    Ok(())
}

/// The events `sel` names.
pub fn resolve_selector(
    cat: &dyn EventCatalog,
    sel: &Selector,
    at: &Span,
) -> Result<Vec<u32>, FilterError> {
    match sel {
        Selector::Name(n) => {
            cat.event_id(n)
                .map(|id| vec![id])
                .ok_or_else(|| FilterError::UnknownEvent {
                    at: at.clone(),
                    name: n.clone(),
                    suggestion: cat.suggest_event(n),
                })
        }
        Selector::Glob(g) => {
            let v = cat.glob(g);
            if v.is_empty() {
                return Err(FilterError::NoMatch {
                    at: at.clone(),
                    pattern: g.clone(),
                });
            }
            Ok(v)
        }
        Selector::Set(s) => {
            let v = cat.events_in_set(s);
            if v.is_empty() {
                let names = cat.set_names();
                return Err(FilterError::UnknownSet {
                    at: at.clone(),
                    set: s.clone(),
                    suggestion: nearest(s, names.iter().copied()).map(str::to_string),
                });
            }
            Ok(v)
        }
    }
}

/// Adds `filter` to the rule of event `id`.
pub fn apply_event_filter(
    cat: &dyn EventCatalog,
    id: u32,
    rule: &mut Rule,
    filter: &EventFilter,
    at: &Span,
) -> Result<(), FilterError> {
    let ename = cat.event_name(id).unwrap_or("?").to_string();
    match filter {
        EventFilter::Data {
            arg,
            op,
            op_at,
            values,
        } => {
            let Some(info) = cat.arg(id, &arg.node) else {
                let args = cat.args(id);
                return Err(FilterError::UnknownArg {
                    at: arg.span.clone(),
                    event: ename,
                    arg: arg.node.clone(),
                    suggestion: nearest(&arg.node, args.iter().map(|a| a.name)).map(str::to_string),
                });
            };
            match info.kind {
                ArgKind::Str | ArgKind::StrArray => {
                    if !op.is_equality() {
                        return Err(FilterError::BadOperator {
                            at: op_at.clone(),
                            field: arg.node.clone(),
                            op: op.to_string(),
                            allowed: "= and != for strings",
                        });
                    }
                    let entry = rule
                        .data
                        .entry(info.index)
                        .or_insert_with(|| DataCond::Str(PatternCond::default()));
                    let DataCond::Str(c) = entry else {
                        return Err(FilterError::Conflict { at: at.clone(), message: "mixed filter types".into() });
                    };
                    for v in values {
                        c.add(*op, Pattern::parse(&v.node));
                    }
                }
                k if k.is_integer() => {
                    if !op.is_equality() && values.len() > 1 {
                        return Err(FilterError::Syntax {
                            at: values[1].span.clone(),
                            message: format!("'{op}' takes one value"),
                        });
                    }
                    let entry = rule
                        .data
                        .entry(info.index)
                        .or_insert_with(|| DataCond::Int(NumCond::default()));
                    let DataCond::Int(c) = entry else {
                        return Err(FilterError::Conflict { at: at.clone(), message: "mixed filter types".into() });
                    };
                    for v in values {
                        let n = parse_int(&v.node).ok_or_else(|| FilterError::BadValue {
                            at: v.span.clone(),
                            field: arg.node.clone(),
                            value: v.node.clone(),
                            reason: "expected an integer".into(),
                        })?;
                        c.add(*op, n);
                    }
                }
                _ => {
                    return Err(FilterError::BadValue {
                        at: arg.span.clone(),
                        field: arg.node.clone(),
                        value: values.first().map(|v| v.node.clone()).unwrap_or_default(),
                        reason: format!("argument '{}' of '{ename}' is not a string or an integer and cannot be filtered", arg.node),
                    })
                }
            }
        }
        EventFilter::Retval { op, values } => {
            if !cat.has_retval(id) {
                return Err(FilterError::Conflict {
                    at: at.clone(),
                    message: format!("event '{ename}' has no return value"),
                });
            }
            let c = rule.retval.get_or_insert_with(NumCond::default);
            for &v in values {
                c.add(*op, i128::from(v));
            }
        }
        EventFilter::Scope(f) => {
            let s = rule.scope.get_or_insert_with(Scope::default);
            apply_scope(
                s,
                &Spanned {
                    node: f.clone(),
                    span: at.clone(),
                },
            )?;
        }
    }
    Ok(())
}

fn parse_int(s: &str) -> Option<i128> {
    if let Some(h) = s.strip_prefix("0x") {
        return i128::from_str_radix(h, 16).ok();
    }
    s.parse::<i128>()
        .ok()
        .filter(|v| *v >= i128::from(i64::MIN) && *v <= i128::from(u64::MAX))
}

/// Builds one policy from `--scope` and `--events` flag values, as Tracee does when no
/// `--policy` is given. Several `--scope` flags are AND'ed (values of one field accumulate);
/// without selected events, the [`DEFAULT_SET`] is used.
///
/// ```
/// use tracee_filters::{policy_from_flags, ArgKind, StaticCatalog, StaticEvent};
/// let cat = StaticCatalog::new([StaticEvent::new(257, "openat").arg("pathname", ArgKind::Str)]);
/// let p = policy_from_flags(&cat, "cli", &["comm=cat"], &["openat.data.pathname=/etc/*"]).unwrap();
/// assert!(p.rules.contains_key(&257));
/// let err = policy_from_flags(&cat, "cli", &[""; 0], &["opnat"]).unwrap_err();
/// assert!(err.to_string().contains("unknown event 'opnat', did you mean 'openat'?"));
/// ```
pub fn policy_from_flags<S: AsRef<str>, E: AsRef<str>>(
    cat: &dyn EventCatalog,
    name: &str,
    scope: &[S],
    events: &[E],
) -> Result<Policy, FilterError> {
    let mut p = Policy {
        name: name.to_string(),
        ..Policy::default()
    };
    for (i, s) in scope.iter().enumerate() {
        let f = parse_scope(s.as_ref(), Origin::ScopeFlag(i))?;
        apply_scope(&mut p.scope, &f)?;
    }
    let mut selected = BTreeSet::new();
    let mut excluded = BTreeSet::new();
    let mut filters = Vec::new();
    for (i, e) in events.iter().enumerate() {
        for item in parse_events(e.as_ref(), Origin::EventsFlag(i))? {
            match &item.node {
                EventItem::Select(s) => selected.extend(resolve_selector(cat, s, &item.span)?),
                EventItem::Exclude(s) => excluded.extend(resolve_selector(cat, s, &item.span)?),
                EventItem::Filter { event, filter } => {
                    let id =
                        resolve_selector(cat, &Selector::Name(event.node.clone()), &event.span)?[0];
                    selected.insert(id);
                    filters.push((id, filter.clone(), item.span.clone()));
                }
            }
        }
    }
    if selected.is_empty() {
        selected.extend(cat.events_in_set(DEFAULT_SET));
    }
    for id in &selected {
        if !excluded.contains(id) {
            p.rules.insert(*id, Rule::default());
        }
    }
    for (id, f, at) in filters {
        if let Some(rule) = p.rules.get_mut(&id) {
            apply_event_filter(cat, id, rule, &f, &at)?;
        }
    }
    if p.rules.is_empty() {
        return Err(FilterError::NoEvents(Origin::EventsFlag(0)));
    }
    Ok(p)
}

/// Tracee's policy document (Kubernetes-style, or the older plain layout).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PolicyDoc {
    api_version: Option<String>,
    kind: Option<String>,
    metadata: Option<Metadata>,
    spec: Option<Spec>,
    // Plain layout: the spec's fields at the top level, with `name`.
    name: Option<String>,
    #[serde(flatten)]
    plain: Spec,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    scope: Vec<String>,
    #[serde(default)]
    rules: Vec<RuleDoc>,
    #[serde(default)]
    default_actions: Option<serde_yaml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuleDoc {
    event: String,
    #[serde(default)]
    filters: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    actions: Option<serde_yaml::Value>,
}

/// Finds the 1-based line where `needle` next occurs at or after byte `*cursor`.
fn line_of(text: &str, needle: &str, cursor: &mut usize) -> Option<usize> {
    let rest = text.get(*cursor..)?;
    let pos = *cursor + rest.find(needle)?;
    *cursor = pos + needle.len();
    Some(text[..pos].matches('\n').count() + 1)
}

/// Parses Tracee policy documents (several per text with `---`), e.g.
///
/// ```yaml
/// apiVersion: tracee.aquasec.com/v1beta1
/// kind: Policy
/// metadata:
///   name: tmp-opens
/// spec:
///   scope:
///     - comm=cat
///   rules:
///     - event: openat
///       filters:
///         - data.pathname=/tmp/*
/// ```
pub fn policies_from_yaml(
    cat: &dyn EventCatalog,
    text: &str,
    file: Option<&Path>,
) -> Result<Vec<Policy>, FilterError> {
    let fname = file.map_or_else(|| "<text>".to_string(), |f| f.display().to_string());
    let yaml_err = |e: serde_yaml::Error| FilterError::Yaml {
        file: fname.clone(),
        location: e.location().map(|l| (l.line(), l.column())),
        message: e.to_string(),
    };
    let mut out = Vec::new();
    let mut cursor = 0usize;
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = serde_yaml::Value::deserialize(doc).map_err(yaml_err)?;
        if value.is_null() {
            continue;
        }
        let d: PolicyDoc = serde_yaml::from_value(value).map_err(yaml_err)?;
        let invalid = |message: String| FilterError::Yaml {
            file: fname.clone(),
            location: None,
            message,
        };
        if let Some(kind) = &d.kind {
            if kind != "Policy" && kind != "TraceePolicy" {
                return Err(invalid(format!("kind is '{kind}', expected 'Policy'")));
            }
        }
        if let Some(v) = &d.api_version {
            if !v.starts_with("tracee.aquasec.com/") && !v.starts_with("aquasecurity.github.io/") {
                return Err(invalid(format!(
                    "apiVersion '{v}' is not Tracee's (tracee.aquasec.com/v1beta1)"
                )));
            }
        }
        let name = d
            .metadata
            .as_ref()
            .and_then(|m| m.name.clone())
            .or(d.name.clone())
            .ok_or_else(|| invalid("the policy has no metadata.name".into()))?;
        let spec = d.spec.unwrap_or(d.plain);
        let _ = &spec.default_actions;
        if spec.scope.is_empty() {
            return Err(invalid(format!(
                "policy '{name}': spec.scope is required (use '- global')"
            )));
        }
        if spec.rules.is_empty() {
            return Err(invalid(format!("policy '{name}': spec.rules is empty")));
        }
        let origin = |field: String, line: Option<usize>| {
            Origin::Policy(Box::new(PolicyOrigin {
                file: file.map(Path::to_path_buf),
                policy: name.clone(),
                field,
                line,
            }))
        };
        let mut p = Policy {
            name: name.clone(),
            ..Policy::default()
        };
        for (i, s) in spec.scope.iter().enumerate() {
            let line = line_of(text, s, &mut cursor);
            let f = parse_scope(s, origin(format!("scope[{i}]"), line))?;
            apply_scope(&mut p.scope, &f)?;
        }
        let mut named = BTreeSet::new();
        for (ri, r) in spec.rules.iter().enumerate() {
            let line = line_of(text, &r.event, &mut cursor);
            let at = Span::new(
                origin(format!("rules[{ri}].event"), line),
                &r.event,
                0,
                r.event.len(),
            );
            let items = parse_events(&r.event, at.origin.clone())?;
            let mut ids = Vec::new();
            for item in &items {
                match &item.node {
                    EventItem::Select(s) => ids.extend(resolve_selector(cat, s, &item.span)?),
                    _ => {
                        return Err(FilterError::Syntax {
                            at: item.span.clone(),
                            message: "a rule's event is a name, a glob or tag=SET; filters go under 'filters'".into(),
                        })
                    }
                }
            }
            let mut parsed = Vec::new();
            for (fi, ftext) in r.filters.iter().enumerate() {
                let line = line_of(text, ftext, &mut cursor);
                parsed.push(parse_rule_filter(
                    ftext,
                    origin(format!("rules[{ri}].filters[{fi}]"), line),
                )?);
            }
            for id in ids {
                if !named.insert(id) {
                    return Err(FilterError::Conflict {
                        at,
                        message: format!("event '{}' appears in two rules of policy '{name}' (each event may be given once)", cat.event_name(id).unwrap_or("?")),
                    });
                }
                let rule = p.rules.entry(id).or_default();
                for f in &parsed {
                    apply_event_filter(cat, id, rule, &f.node, &f.span)?;
                }
            }
        }
        out.push(p);
    }
    Ok(out)
}

/// Reads policies from a file, or from every `.yaml`/`.yml` file of a directory (sorted by
/// name, not recursing).
pub fn policies_from_path(cat: &dyn EventCatalog, path: &Path) -> Result<Vec<Policy>, FilterError> {
    let io = |path: &Path, source| FilterError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(|e| io(path, e))?;
    let files: Vec<PathBuf> = if meta.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| io(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml") && p.is_file())
            .collect();
        v.sort();
        v
    } else {
        vec![path.to_path_buf()]
    };
    let mut out = Vec::new();
    for f in files {
        // Policies are small; refuse anything that is clearly not one.
        let len = std::fs::metadata(&f).map_err(|e| io(&f, e))?.len();
        if len > 4 << 20 {
            return Err(FilterError::Yaml {
                file: f.display().to_string(),
                location: None,
                message: format!("{len} bytes is too large for a policy file"),
            });
        }
        let text = std::fs::read_to_string(&f).map_err(|e| io(&f, e))?;
        out.extend(policies_from_yaml(cat, &text, Some(&f))?);
    }
    Ok(out)
}

/// Up to [`MAX_POLICIES`] policies with unique names; policy `i` is bit `i` of every
/// matched-policies bitmap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySet {
    policies: Vec<Policy>,
}

impl PolicySet {
    /// An empty set.
    pub fn new() -> PolicySet {
        PolicySet::default()
    }

    /// Adds a policy; returns its bit index.
    pub fn push(&mut self, p: Policy) -> Result<usize, FilterError> {
        if self.policies.len() >= MAX_POLICIES {
            return Err(FilterError::TooManyPolicies {
                count: self.policies.len() + 1,
                max: MAX_POLICIES,
            });
        }
        if self.policies.iter().any(|q| q.name == p.name) {
            return Err(FilterError::DuplicatePolicy {
                origin: Origin::Text,
                name: p.name,
            });
        }
        self.policies.push(p);
        Ok(self.policies.len() - 1)
    }

    /// A set of `policies`.
    pub fn from_policies(
        policies: impl IntoIterator<Item = Policy>,
    ) -> Result<PolicySet, FilterError> {
        let mut s = PolicySet::new();
        for p in policies {
            s.push(p)?;
        }
        Ok(s)
    }

    /// The policies, by bit index.
    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// Number of policies.
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// Every event some policy selects.
    pub fn events(&self) -> BTreeSet<u32> {
        self.policies
            .iter()
            .flat_map(|p| p.rules.keys().copied())
            .collect()
    }

    /// The userspace evaluator: the bitmap of policies matching `ctx`.
    pub fn evaluate(&self, env: &Environment, ctx: &EventContext<'_>) -> u64 {
        evaluate(&self.policies, env, ctx)
    }
}
