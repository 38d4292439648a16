//! Parsing and resolution: the language's forms, and errors that point at the token.

mod common;

use std::collections::BTreeSet;

use common::*;
use tracee_filters::ast::{
    EventFilter, EventItem, NumField, Op, Pattern, ScopeFilter, Selector, TextField,
};
use tracee_filters::*;

fn scope(s: &str) -> Result<ScopeFilter, FilterError> {
    parse_scope(s, Origin::ScopeFlag(0)).map(|f| f.node)
}

fn flags(scope: &[&str], events: &[&str]) -> Result<Policy, FilterError> {
    policy_from_flags(&catalog(), "cli", scope, events)
}

fn err(r: Result<impl std::fmt::Debug, FilterError>) -> FilterError {
    r.expect_err("should fail")
}

fn span_of(e: &FilterError) -> &Span {
    match e {
        FilterError::Syntax { at, .. }
        | FilterError::UnknownEvent { at, .. }
        | FilterError::UnknownSet { at, .. }
        | FilterError::NoMatch { at, .. }
        | FilterError::UnknownField { at, .. }
        | FilterError::UnknownArg { at, .. }
        | FilterError::BadOperator { at, .. }
        | FilterError::BadValue { at, .. }
        | FilterError::Conflict { at, .. } => at,
        other => panic!("no span in {other:?}"),
    }
}

#[test]
fn scope_forms() {
    assert_eq!(scope("global").unwrap(), ScopeFilter::Global);
    assert_eq!(scope("follow").unwrap(), ScopeFilter::Follow);
    assert_eq!(scope("container").unwrap(), ScopeFilter::Container(true));
    assert_eq!(
        scope("not-container").unwrap(),
        ScopeFilter::Container(false)
    );
    assert_eq!(scope("pid=new").unwrap(), ScopeFilter::NewPid(true));
    assert_eq!(scope("pid!=new").unwrap(), ScopeFilter::NewPid(false));
    assert_eq!(
        scope("uid>=1000").unwrap(),
        ScopeFilter::Num {
            field: NumField::Uid,
            op: Op::Ge,
            values: vec![1000]
        }
    );
    assert_eq!(
        scope("pid=1,0x10").unwrap(),
        ScopeFilter::Num {
            field: NumField::Pid,
            op: Op::Eq,
            values: vec![1, 16]
        }
    );
    assert_eq!(
        scope("mntns!=4026531840").unwrap(),
        ScopeFilter::Num {
            field: NumField::MntNs,
            op: Op::Ne,
            values: vec![4026531840]
        }
    );
    for (s, f) in [
        ("exec=/bin/ls", TextField::Executable),
        ("bin=/bin/ls", TextField::Executable),
        ("executable=/bin/ls", TextField::Executable),
    ] {
        assert_eq!(
            scope(s).unwrap(),
            ScopeFilter::Text {
                field: f,
                op: Op::Eq,
                values: vec!["/bin/ls".into()]
            }
        );
    }
    assert_eq!(
        scope("uts!=a,b").unwrap(),
        ScopeFilter::Text {
            field: TextField::Uts,
            op: Op::Ne,
            values: vec!["a".into(), "b".into()]
        }
    );
    assert_eq!(
        scope("tree=1,42").unwrap(),
        ScopeFilter::Tree {
            op: Op::Eq,
            pids: vec![1, 42]
        }
    );
    for op in ["<", ">", "<=", ">="] {
        assert!(scope(&format!("uid{op}5")).is_ok(), "{op}");
        assert!(scope(&format!("pid{op}5")).is_ok(), "{op}");
    }
}

#[test]
fn scope_errors_point_at_the_token() {
    let e = err(scope("comm!bash"));
    assert!(matches!(e, FilterError::Syntax { .. }), "{e}");
    assert_eq!(span_of(&e).start, 4u32);
    assert!(e.to_string().contains("--scope #1, column 5"), "{e}");
    assert!(e.to_string().contains("  comm!bash\n      ^"), "{e}");

    let e = err(scope("uidd=0"));
    assert!(
        e.to_string()
            .contains("unknown scope filter 'uidd', did you mean 'uid'?"),
        "{e}"
    );
    assert_eq!(span_of(&e).token(), "uidd");

    let e = err(scope("uid=12x"));
    assert!(
        matches!(&e, FilterError::BadValue { value, .. } if value == "12x"),
        "{e}"
    );
    assert_eq!((span_of(&e).start, span_of(&e).end), (4, 7));

    let e = err(scope("comm=a,,b"));
    assert_eq!(span_of(&e).start, 7);
    assert!(e.to_string().contains("empty value"));

    let e = err(scope("mntns>5"));
    assert!(
        matches!(&e, FilterError::BadOperator { op, .. } if op == ">"),
        "{e}"
    );
    assert_eq!(span_of(&e).token(), ">");
    assert!(matches!(
        err(scope("comm<x")),
        FilterError::BadOperator { .. }
    ));
    assert!(matches!(
        err(scope("tree>1")),
        FilterError::BadOperator { .. }
    ));
    assert!(matches!(err(scope("uid>1,2")), FilterError::Syntax { .. }));
    assert!(matches!(
        err(scope("pid=new,3")),
        FilterError::Syntax { .. }
    ));
    assert!(matches!(err(scope("follow=1")), FilterError::Syntax { .. }));
    assert!(matches!(
        err(scope("container=abc")),
        FilterError::BadValue { .. }
    ));
    assert!(matches!(err(scope("uid")), FilterError::Syntax { .. }));
    assert!(matches!(
        err(scope("tree=99999999999")),
        FilterError::BadValue { .. }
    ));
    assert!(matches!(err(scope("")), FilterError::Syntax { .. }));
    assert!(matches!(
        err(flags(&["container", "not-container"], &["openat"])),
        FilterError::Conflict { .. }
    ));
}

#[test]
fn events_forms() {
    let items = |s: &str| -> Vec<EventItem> {
        parse_events(s, Origin::EventsFlag(0))
            .unwrap()
            .into_iter()
            .map(|i| i.node)
            .collect()
    };
    assert_eq!(
        items("openat,open*,-close"),
        vec![
            EventItem::Select(Selector::Name("openat".into())),
            EventItem::Select(Selector::Glob("open*".into())),
            EventItem::Exclude(Selector::Name("close".into())),
        ]
    );
    assert_eq!(
        items("tag=fs,net,execve"),
        vec![
            EventItem::Select(Selector::Set("fs".into())),
            EventItem::Select(Selector::Set("net".into())),
            EventItem::Select(Selector::Set("execve".into())),
        ]
    );
    let [EventItem::Filter {
        event,
        filter: EventFilter::Data {
            arg, op, values, ..
        },
    }] = &items("openat.data.pathname=/etc/*,/tmp/a,b")[..]
    else {
        panic!("not one data filter");
    };
    assert_eq!(
        (event.node.as_str(), arg.node.as_str(), *op),
        ("openat", "pathname", Op::Eq)
    );
    assert_eq!(
        values.iter().map(|v| v.node.as_str()).collect::<Vec<_>>(),
        ["/etc/*", "/tmp/a", "b"]
    );
    assert_eq!(arg.span.start, 12);
    assert!(matches!(
        &items("openat.args.pathname=/x")[0],
        EventItem::Filter {
            filter: EventFilter::Data { .. },
            ..
        }
    ));
    assert!(matches!(
        &items("openat.retval<0")[0],
        EventItem::Filter { filter: EventFilter::Retval { op: Op::Lt, values }, .. } if values == &[0]
    ));
    assert!(matches!(
        &items("openat.scope.comm=cat")[0],
        EventItem::Filter {
            filter: EventFilter::Scope(ScopeFilter::Text {
                field: TextField::Comm,
                ..
            }),
            ..
        }
    ));
    assert_eq!(Pattern::parse("/etc/*"), Pattern::Prefix("/etc/".into()));
    assert_eq!(Pattern::parse("*.so"), Pattern::Suffix(".so".into()));
    assert_eq!(
        Pattern::parse("/etc/passwd"),
        Pattern::Exact("/etc/passwd".into())
    );
}

#[test]
fn unknown_names_suggest_the_nearest() {
    let e = err(flags(&[], &["close,opnat"]));
    assert!(
        e.to_string()
            .starts_with("--events #1, column 7: unknown event 'opnat', did you mean 'openat'?"),
        "{e}"
    );
    assert_eq!(span_of(&e).token(), "opnat");

    let e = err(flags(&[], &["openat.data.pathnme=/x"]));
    assert!(
        e.to_string()
            .contains("event 'openat' has no argument 'pathnme', did you mean 'pathname'?"),
        "{e}"
    );
    assert_eq!(span_of(&e).token(), "pathnme");

    let e = err(flags(&[], &["tag=fss"]));
    assert!(
        e.to_string()
            .contains("unknown set 'fss', did you mean 'fs'?"),
        "{e}"
    );

    let e = err(flags(&[], &["openat.dta.pathname=/x"]));
    assert!(
        e.to_string()
            .contains("unknown scope filter 'dta', did you mean 'data'?"),
        "{e}"
    );

    let e = err(flags(&[], &["zzz*"]));
    assert!(matches!(e, FilterError::NoMatch { .. }));
    let e = err(flags(&[], &["qqqqqqqq"]));
    assert!(
        e.to_string().contains("unknown event 'qqqqqqqq'\n"),
        "no suggestion when nothing is near: {e}"
    );
}

#[test]
fn event_filter_type_errors() {
    assert!(matches!(
        err(flags(&[], &["openat.data.pathname>/x"])),
        FilterError::BadOperator { .. }
    ));
    assert!(matches!(
        err(flags(&[], &["openat.data.flags=abc"])),
        FilterError::BadValue { .. }
    ));
    assert!(matches!(
        err(flags(&[], &["sched_process_exec.data.dev=1"])),
        FilterError::BadValue { .. }
    ));
    assert!(matches!(
        err(flags(&[], &["sched_process_exec.retval=0"])),
        FilterError::Conflict { .. }
    ));
    assert!(matches!(
        err(flags(&[], &["openat.retval<x"])),
        FilterError::BadValue { .. }
    ));
    assert!(matches!(
        err(flags(&[], &["openat.scope.follow"])),
        FilterError::Conflict { .. }
    ));
    assert!(matches!(
        err(flags(&[], &["-openat.data.pathname=/x"])),
        FilterError::Syntax { .. }
    ));
    assert!(matches!(
        err(flags(&[], &["open at"])),
        FilterError::Syntax { .. }
    ));
}

#[test]
fn event_selection_resolves() {
    let ids = |p: Policy| p.rules.keys().copied().collect::<BTreeSet<_>>();
    assert_eq!(
        ids(flags(&[], &["open*"]).unwrap()),
        BTreeSet::from([2, OPENAT, 437])
    );
    assert_eq!(
        ids(flags(&[], &["open*", "-openat2"]).unwrap()),
        BTreeSet::from([2, OPENAT])
    );
    assert_eq!(
        ids(flags(&[], &["tag=fs,net", "-tag=fs_file_ops"]).unwrap()),
        BTreeSet::from([437, CLOSE, 41])
    );
    // Nothing selected: the default set; a filter selects its event.
    assert_eq!(
        ids(flags(&[], &[]).unwrap()),
        BTreeSet::from([EXECVE, OPENAT, SCHED_EXEC])
    );
    assert_eq!(
        ids(flags(&[], &["-openat"]).unwrap()),
        BTreeSet::from([EXECVE, SCHED_EXEC])
    );
    assert_eq!(
        ids(flags(&[], &["close.retval<0"]).unwrap()),
        BTreeSet::from([CLOSE])
    );
    let p = flags(
        &["comm=cat", "comm=ls", "uid>=1000", "uid<2000"],
        &["openat.data.pathname=/etc/*"],
    )
    .unwrap();
    assert_eq!(
        p.scope.comm.eq,
        BTreeSet::from(["cat".to_string(), "ls".to_string()])
    );
    assert_eq!(p.scope.uid.range, Some((1000, 1999)));
    assert!(
        matches!(&p.rules[&OPENAT].data[&1], DataCond::Str(c) if c.eq.contains(&Pattern::Prefix("/etc/".into())))
    );
}

#[test]
fn equality_semantics() {
    let env = Environment::default();
    let ctx = |comm: &'static str, uid: u32| EventContext {
        event: OPENAT,
        comm,
        uid,
        ..Default::default()
    };
    let eval = |scope: &[&str], c: &EventContext| {
        let set = PolicySet::from_policies([flags(scope, &["openat"]).unwrap()]).unwrap();
        set.evaluate(&env, c)
    };
    // = OR'ed, != AND'ed, = wins over != within a policy.
    assert_eq!(eval(&["comm=a,b"], &ctx("b", 0)), 1);
    assert_eq!(eval(&["comm=a,b"], &ctx("c", 0)), 0);
    assert_eq!(eval(&["comm!=a,b"], &ctx("b", 0)), 0);
    assert_eq!(eval(&["comm!=a,b"], &ctx("c", 0)), 1);
    assert_eq!(eval(&["comm=a", "comm!=a"], &ctx("a", 0)), 1);
    assert_eq!(eval(&["comm=a", "comm!=b"], &ctx("c", 0)), 0);
    // Ranges: one interval; != punches holes; = adds values.
    assert_eq!(eval(&["uid>=1000", "uid!=1500"], &ctx("x", 1500)), 0);
    assert_eq!(eval(&["uid>=1000", "uid!=1500"], &ctx("x", 1501)), 1);
    assert_eq!(eval(&["uid>=1000", "uid=0"], &ctx("x", 0)), 1);
    assert_eq!(eval(&["uid>=1000", "uid=0"], &ctx("x", 999)), 0);
    assert_eq!(eval(&["uid<1", "uid>1"], &ctx("x", 5)), 0);
}

const POLICY: &str = r#"
apiVersion: tracee.aquasec.com/v1beta1
kind: Policy
metadata:
  name: tmp-opens
  annotations:
    description: opens under /tmp by cat
spec:
  scope:
    - comm=cat
    - follow
  defaultActions:
    - log
  rules:
    - event: openat
      filters:
        - data.pathname=/tmp/*
        - retval>=0
    - event: execve
      filters:
        - uid=0
    - event: close
---
name: plain-layout
description: the older layout
scope:
  - global
rules:
  - event: sched_process_exec
    filters:
      - args.cmdpath=*/sh
"#;

#[test]
fn yaml_policies() {
    let cat = catalog();
    let ps = policies_from_yaml(&cat, POLICY, None).unwrap();
    assert_eq!(ps.len(), 2);
    let p = &ps[0];
    assert_eq!(p.name, "tmp-opens");
    assert!(p.scope.follow);
    assert_eq!(p.scope.comm.eq.len(), 1);
    assert_eq!(
        p.rules.keys().copied().collect::<Vec<_>>(),
        [CLOSE, EXECVE, OPENAT]
    );
    assert!(p.rules[&OPENAT].retval.is_some());
    assert!(p.rules[&EXECVE]
        .scope
        .as_ref()
        .is_some_and(|s| s.uid.eq.contains(&0)));
    assert_eq!(ps[1].name, "plain-layout");
    assert!(
        matches!(&ps[1].rules[&SCHED_EXEC].data[&0], DataCond::Str(c) if c.eq.contains(&Pattern::Suffix("/sh".into())))
    );
}

#[test]
fn yaml_errors_name_the_place() {
    let cat = catalog();
    let bad = POLICY.replace("- event: close", "- event: clse");
    let e = err(policies_from_yaml(
        &cat,
        &bad,
        Some(std::path::Path::new("p.yaml")),
    ));
    let msg = e.to_string();
    assert!(msg.starts_with("p.yaml:22: policy 'tmp-opens' rules[2].event, column 1: unknown event 'clse', did you mean 'close'?"), "{msg}");

    let bad = POLICY.replace("data.pathname=/tmp/*", "data.pathname</tmp/*");
    let msg = err(policies_from_yaml(&cat, &bad, None)).to_string();
    assert!(msg.contains("line 17: policy 'tmp-opens' rules[0].filters[0], column 14: 'pathname' does not support '<'"), "{msg}");

    let bad = POLICY.replace("- event: close", "- event: openat");
    assert!(matches!(
        err(policies_from_yaml(&cat, &bad, None)),
        FilterError::Conflict { .. }
    ));
    let bad = POLICY.replace("kind: Policy", "kind: Deployment");
    assert!(err(policies_from_yaml(&cat, &bad, None))
        .to_string()
        .contains("kind is 'Deployment'"));
    let bad = POLICY.replace("  name: tmp-opens\n", "");
    assert!(err(policies_from_yaml(&cat, &bad, None))
        .to_string()
        .contains("no metadata.name"));
    let e = err(policies_from_yaml(
        &cat,
        "spec: [unclosed",
        Some(std::path::Path::new("x.yaml")),
    ));
    assert!(
        matches!(
            &e,
            FilterError::Yaml {
                location: Some((2, 1)),
                ..
            }
        ),
        "{e}"
    );
    let e = err(policies_from_yaml(
        &cat,
        "metadata: {name: x}\nspec: {scope: [global], rules: []}",
        None,
    ));
    assert!(e.to_string().contains("rules is empty"), "{e}");
}

#[test]
fn policy_set_limits() {
    let cat = catalog();
    let mut set = PolicySet::new();
    for i in 0..MAX_POLICIES {
        let p = policy_from_flags(&cat, &format!("p{i}"), &[""; 0], &["openat"]).unwrap();
        assert_eq!(set.push(p).unwrap(), i);
    }
    let extra = policy_from_flags(&cat, "p64", &[""; 0], &["openat"]).unwrap();
    assert!(matches!(
        set.push(extra),
        Err(FilterError::TooManyPolicies { count: 65, max: 64 })
    ));
    let mut two = PolicySet::new();
    two.push(policy_from_flags(&cat, "a", &[""; 0], &["openat"]).unwrap())
        .unwrap();
    let dup = policy_from_flags(&cat, "a", &[""; 0], &["close"]).unwrap();
    assert!(matches!(
        two.push(dup),
        Err(FilterError::DuplicatePolicy { .. })
    ));
}

#[test]
fn policy_directory_is_loaded_sorted() {
    let dir = std::env::temp_dir().join(format!("tracee-filters-policies-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("b.yaml"), POLICY).unwrap();
    std::fs::write(
        dir.join("a.yml"),
        "metadata: {name: first}\nspec: {scope: [global], rules: [{event: close}]}",
    )
    .unwrap();
    std::fs::write(dir.join("ignored.txt"), "not yaml").unwrap();
    let ps = policies_from_path(&catalog(), &dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        ps.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["first", "tmp-opens", "plain-layout"]
    );
    assert!(matches!(
        policies_from_path(&catalog(), &dir),
        Err(FilterError::Io { .. })
    ));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 3000, ..Default::default() })]

    /// Untrusted filter text never panics: it parses or is a typed error whose span lies in it.
    #[test]
    fn arbitrary_text_never_panics(s in "([a-z.=!<>,*0-9/_ -]|\\PC){0,40}") {
        let cat = catalog();
        for r in [
            parse_scope(&s, Origin::Text).map(|_| ()),
            parse_events(&s, Origin::Text).map(|_| ()),
            parse_rule_filter(&s, Origin::Text).map(|_| ()),
            policy_from_flags(&cat, "p", &[s.as_str()], &["openat"]).map(|_| ()),
            policy_from_flags(&cat, "p", &[""; 0], &[s.as_str()]).map(|_| ()),
        ] {
            if let Err(e) = r {
                let _ = e.to_string();
                if let FilterError::Syntax { at, .. } | FilterError::UnknownField { at, .. } = &e {
                    proptest::prop_assert!(at.end as usize <= s.len() && at.start <= at.end);
                }
            }
        }
        let _ = policies_from_yaml(&cat, &s, None);
    }
}
