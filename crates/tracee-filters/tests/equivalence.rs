//! The kernel-map semantics (judging only from the compiled map contents, then the userspace
//! remainder) and the userspace evaluator (judging from the policies) agree on every event.

mod common;

use common::*;
use proptest::prelude::*;
use tracee_filters::*;

const HOST_PIDNS: u32 = 4026531836;
const LONG: &str = "/very/long/directory/name/that/does/not/fit/the/kernel/lpm/key/at/all/x";

fn pick<T: Clone + std::fmt::Debug + 'static>(v: &'static [T]) -> impl Strategy<Value = T> {
    prop::sample::select(v)
}

fn op() -> impl Strategy<Value = &'static str> {
    pick(&["=", "!=", "<", ">", "<=", ">="])
}

fn eq_op() -> impl Strategy<Value = &'static str> {
    pick(&["=", "!="])
}

fn list(pool: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::subsequence(pool, 1..=pool.len().min(3)).prop_map(|v| v.join(","))
}

fn scope_item() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("global".to_string()),
        Just("follow".to_string()),
        pick(&["container", "not-container"]).prop_map(str::to_string),
        eq_op().prop_map(|o| format!("pid{o}new")),
        (eq_op(), list(&["0", "1000", "1500", "65534"])).prop_map(|(o, v)| format!("uid{o}{v}")),
        (op(), pick(&["0", "999", "1000", "1500"])).prop_map(|(o, v)| format!("uid{o}{v}")),
        (eq_op(), list(&["1", "100", "200", "300"])).prop_map(|(o, v)| format!("pid{o}{v}")),
        (op(), pick(&["1", "150", "300"])).prop_map(|(o, v)| format!("pid{o}{v}")),
        (eq_op(), list(&["4026531840", "5", "7"])).prop_map(|(o, v)| format!("mntns{o}{v}")),
        (eq_op(), list(&["4026531836", "5", "7"])).prop_map(|(o, v)| format!("pidns{o}{v}")),
        (
            eq_op(),
            list(&["cat", "bash", "ls", "0123456789abcdef_long"])
        )
            .prop_map(|(o, v)| format!("comm{o}{v}")),
        (eq_op(), list(&["host", "box", "0123456789abcde"]))
            .prop_map(|(o, v)| format!("uts{o}{v}")),
        (eq_op(), list(&["/bin/cat", "/usr/bin/ls"])).prop_map(|(o, v)| format!("exec{o}{v}")),
        (eq_op(), list(&["1", "100", "200"])).prop_map(|(o, v)| format!("tree{o}{v}")),
    ]
}

fn event_item() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => pick(&["openat", "execve", "close", "sched_process_exec", "open*", "tag=fs", "-close"]).prop_map(str::to_string),
        3 => (eq_op(), list(&["/etc/*", "/etc/passwd", "*.so", "/tmp/x*", "*", "/etc/pass*", "*passwd", "/lib/x.so"]))
            .prop_map(|(o, v)| format!("openat.data.pathname{o}{v}")),
        1 => eq_op().prop_map(|o| format!("openat.data.pathname{o}{LONG}*")),
        1 => (eq_op(), list(&["/bin/sh", "/usr/*", "*sh"])).prop_map(|(o, v)| format!("sched_process_exec.data.cmdpath{o}{v}")),
        1 => (eq_op(), list(&["ls*", "-l", "*.txt"])).prop_map(|(o, v)| format!("execve.data.argv{o}{v}")),
        1 => (op(), pick(&["0", "64", "-1"])).prop_map(|(o, v)| format!("openat.data.flags{o}{v}")),
        1 => (op(), pick(&["0", "-2", "3"])).prop_map(|(o, v)| format!("openat.retval{o}{v}")),
        1 => (eq_op(), list(&["0", "1000"])).prop_map(|(o, v)| format!("openat.scope.uid{o}{v}")),
        1 => (eq_op(), list(&["cat", "ls"])).prop_map(|(o, v)| format!("execve.scope.comm{o}{v}")),
    ]
}

fn policies() -> impl Strategy<Value = Vec<(Vec<String>, Vec<String>)>> {
    prop::collection::vec(
        (
            prop::collection::vec(scope_item(), 0..4),
            prop::collection::vec(event_item(), 1..4),
        ),
        1..6,
    )
}

#[derive(Debug, Clone)]
struct Ctx {
    event: u32,
    pid: u32,
    uid: u32,
    mnt_ns: u32,
    pid_ns: u32,
    comm: &'static str,
    uts: &'static str,
    start: u64,
    exe: Option<&'static str>,
    parents: Vec<u32>,
    followed: u64,
    retval: i64,
    path: Option<&'static str>,
    flags: i64,
    argv: Vec<&'static str>,
}

fn context() -> impl Strategy<Value = Ctx> {
    let who = (
        pick(&[OPENAT, EXECVE, CLOSE, SCHED_EXEC, 2]),
        pick(&[1u32, 100, 150, 200, 300, 400]),
        pick(&[0u32, 999, 1000, 1001, 1500, 65534]),
        pick(&[4026531840u32, 5, 7, 9]),
        pick(&[HOST_PIDNS, 5, 7]),
        pick(&["cat", "bash", "ls", "", "0123456789abcde"]),
        pick(&["host", "box", "0123456789abcde"]),
        pick(&[0u64, 50, 100]),
    );
    let what = (
        prop::option::of(pick(&["/bin/cat", "/usr/bin/ls", "/bin/sh"])),
        prop::collection::vec(pick(&[1u32, 100, 200, 300]), 0..3),
        any::<u64>(),
        pick(&[0i64, -2, 3, -1, 64]),
        prop::option::of(pick(&[
            "/etc/passwd",
            "/etc/shadow",
            "/lib/x.so",
            "/tmp/xyz",
            "",
            "/etc/pass",
            "passwd",
            "/very/long/directory/name/that/does/not/fit/the/kernel/lpm/key/at/all/x/y",
            "/usr/bin/bash",
            "/bin/sh",
        ])),
        pick(&[0i64, 64, -1, 65]),
        prop::collection::vec(pick(&["ls", "-l", "a.txt", "lsblk"]), 0..3),
    );
    (who, what).prop_map(
        |(
            (event, pid, uid, mnt_ns, pid_ns, comm, uts, start),
            (exe, parents, followed, retval, path, flags, argv),
        )| Ctx {
            event,
            pid,
            uid,
            mnt_ns,
            pid_ns,
            comm,
            uts,
            start,
            exe,
            parents,
            followed,
            retval,
            path,
            flags,
            argv,
        },
    )
}

fn event_context<'a>(c: &'a Ctx, ancestors: &'a [u32]) -> EventContext<'a> {
    let mut args = Vec::new();
    match c.event {
        OPENAT => {
            args.push((0, ArgValue::Int(-100)));
            if let Some(p) = c.path {
                args.push((1, ArgValue::Str(p)));
            }
            args.push((2, ArgValue::Int(c.flags.into())));
        }
        EXECVE => {
            if let Some(p) = c.path {
                args.push((0, ArgValue::Str(p)));
            }
            args.push((1, ArgValue::Strs(c.argv.clone())));
        }
        SCHED_EXEC => {
            if let Some(p) = c.path {
                args.push((0, ArgValue::Str(p)));
            }
        }
        _ => {}
    }
    EventContext {
        event: c.event,
        pid: c.pid,
        uid: c.uid,
        mnt_ns: c.mnt_ns,
        pid_ns: c.pid_ns,
        comm: c.comm,
        uts: c.uts,
        task_start_time: c.start,
        exe: c.exe,
        ancestors,
        followed: c.followed,
        retval: (c.event != SCHED_EXEC).then_some(c.retval),
        args,
    }
}

fn build(specs: &[(Vec<String>, Vec<String>)]) -> Option<PolicySet> {
    let cat = catalog();
    let mut set = PolicySet::new();
    for (i, (scope, events)) in specs.iter().enumerate() {
        // A few generated combinations are rightly refused (container and not-container).
        let p = policy_from_flags(&cat, &format!("p{i}"), scope, events).ok()?;
        set.push(p).ok()?;
    }
    Some(set)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn kernel_maps_and_userspace_agree(specs in policies(), ctxs in prop::collection::vec(context(), 1..12), version in any::<u32>()) {
        let Some(set) = build(&specs) else { return Ok(()) };
        let env = Environment { host_pid_ns: HOST_PIDNS, start_time: 50 };
        let compiled = compile(&set, &catalog(), &env, version);
        for c in &ctxs {
            let mut ancestors = vec![c.pid];
            ancestors.extend(&c.parents);
            let ctx = event_context(c, &ancestors);
            let want = set.evaluate(&env, &ctx);
            let kernel = compiled.kernel_match(&compiled.kernel_event(&ctx));
            let got = compiled.userspace_match(&env, &ctx, kernel);
            prop_assert_eq!(got, want, "policies {:?}\ncontext {:?}\nkernel bits {:#x}", specs, ctx, kernel);
            // Userspace only ever narrows what the kernel passed.
            prop_assert_eq!(got & !kernel, 0);
            if !compiled.needs_userspace(c.event) {
                prop_assert_eq!(kernel, want);
            }
        }
    }
}

/// The generators above do reach the kernel's maps: a fixed set with every kind of entry.
#[test]
fn compiled_contents_cover_every_map() {
    let set = build(&[
        (
            vec![
                "uid>=1000".into(),
                "uid!=1500".into(),
                "comm=cat".into(),
                "tree=100".into(),
                "exec=/bin/cat".into(),
                "follow".into(),
            ],
            vec![
                "openat.data.pathname=/etc/*,*.so,/etc/passwd".into(),
                format!("openat.data.pathname!={LONG}*")
                    .replace("openat.data.pathname!=", "execve.data.pathname!="),
            ],
        ),
        (
            vec!["container".into(), "pid=new".into(), "uts!=box".into()],
            vec![
                "openat.data.pathname!=/etc/pass*".into(),
                "close.retval<0".into(),
            ],
        ),
    ])
    .unwrap();
    let env = Environment {
        host_pid_ns: HOST_PIDNS,
        start_time: 50,
    };
    let c = compile(&set, &catalog(), &env, 7);
    assert_eq!(c.events.len(), 3);
    assert_eq!(c.num.len(), 2, "uid 1500 (used only), exe hash");
    assert_eq!(c.strs.len(), 2, "comm cat, uts box");
    assert_eq!(c.tree.len(), 1);
    assert_eq!(c.exact.len(), 1);
    assert_eq!(c.prefix.len(), 2, "/etc/ and /etc/pass");
    let pass = c
        .prefix
        .iter()
        .find(|(k, _)| k.prefixlen == maps::LPM_HEADER_BITS + 8 * 9)
        .unwrap()
        .1;
    assert_eq!(
        (pass.equals, pass.used),
        (1, 3),
        "/etc/pass folds in /etc/ of policy 0"
    );
    assert_eq!(c.suffix.len(), 1);
    assert_eq!(c.scope.range_policies[0], 1);
    assert_eq!(
        (c.scope.ranges[0][0].min, c.scope.ranges[0][0].max),
        (1000, 1 << 32)
    );
    assert_eq!(
        (c.scope.container_true, c.scope.new_true, c.scope.follow),
        (2, 2, 1)
    );
    // The long prefix stays in userspace, with close's return value.
    assert_eq!(
        c.userspace.keys().copied().collect::<Vec<_>>(),
        [CLOSE, EXECVE]
    );
    assert_eq!(c.args.len(), 1);
}

/// With `follow`, a child of a matched process is matched through the process map's
/// followed bits, in both evaluators.
#[test]
fn follow_through_the_process_map() {
    let set = build(&[(
        vec!["comm=parent".into(), "follow".into()],
        vec!["openat".into()],
    )])
    .unwrap();
    let env = Environment::default();
    let c = compile(&set, &catalog(), &env, 2);
    let ctx = EventContext {
        event: OPENAT,
        comm: "child",
        pid: 2,
        ..Default::default()
    };
    assert_eq!(set.evaluate(&env, &ctx), 0);
    assert_eq!(c.kernel_match(&c.kernel_event(&ctx)), 0);
    let followed = EventContext { followed: 1, ..ctx };
    assert_eq!(set.evaluate(&env, &followed), 1);
    assert_eq!(c.kernel_match(&c.kernel_event(&followed)), 1);
}

/// The property above is not vacuous: the generated policies and events often match, often
/// do not, and the userspace remainder sometimes rejects what the kernel passed.
#[test]
fn generators_exercise_every_outcome() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let env = Environment {
        host_pid_ns: HOST_PIDNS,
        start_time: 50,
    };
    let (mut total, mut matched, mut dropped_in_kernel, mut narrowed) = (0, 0, 0, 0);
    for _ in 0..300 {
        let specs = policies().new_tree(&mut runner).unwrap().current();
        let Some(set) = build(&specs) else { continue };
        let compiled = compile(&set, &catalog(), &env, 1);
        for _ in 0..10 {
            let c = context().new_tree(&mut runner).unwrap().current();
            let mut anc = vec![c.pid];
            anc.extend(&c.parents);
            let ctx = event_context(&c, &anc);
            let k = compiled.kernel_match(&compiled.kernel_event(&ctx));
            let u = compiled.userspace_match(&env, &ctx, k);
            total += 1;
            matched += usize::from(u != 0);
            dropped_in_kernel += usize::from(k == 0);
            narrowed += usize::from(u != k);
        }
    }
    eprintln!("{total} events: {matched} matched, {dropped_in_kernel} dropped in the kernel, {narrowed} narrowed in userspace");
    assert!(matched * 10 > total, "{matched}/{total} matched");
    assert!(
        dropped_in_kernel * 10 > total,
        "{dropped_in_kernel}/{total} dropped"
    );
    assert!(narrowed * 50 > total, "{narrowed}/{total} narrowed");
}
