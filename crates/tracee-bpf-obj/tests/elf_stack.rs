//! The stack-depth analysis (elf/stack.rs): the shipped objects within the stack budget, the
//! analysis of bpf/test/stack_chain.bpf.o, malformed objects, and (privileged) the kernel's
//! verifier agreeing with it on frames, chain length and combined size.

mod elf_common;
mod module_common;

use std::ffi::{CStr, CString};
use std::path::PathBuf;

use tracee_bpf_obj::elf::{
    BpfObject, CallKind, StackAnalysis, StackError, StackRounding, StackViolation,
};
use tracee_bpf_obj::module::{ModuleBuilder, ModuleError};

/// The budget every shipped program's worst chain must fit under the strict (32-byte)
/// rounding: the verifier's 512 less a margin for other clang and kernel versions.
const BUDGET: u32 = 448;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn stack_chain_path() -> PathBuf {
    repo().join("bpf/test/stack_chain.bpf.o")
}

fn analyses(path: &std::path::Path) -> Vec<StackAnalysis> {
    let obj = BpfObject::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    obj.stack_analyses()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The objects the project ships or loads in tests; stack_chain.bpf.o is over the limit on
/// purpose and is checked by the tests below instead.
fn shipped_objects() -> Vec<PathBuf> {
    let mut out = vec![
        repo().join("crates/tracee-core/bpf/tracee.bpf.o"),
        repo().join("crates/tracee-core/bpf/tracee.bpf.arm64.o"),
        repo().join("bpf/bench/floor.bpf.o"),
    ];
    let mut tests: Vec<PathBuf> = std::fs::read_dir(repo().join("bpf/test"))
        .expect("bpf/test")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "o"))
        .filter(|p| p.file_name().is_some_and(|n| n != "stack_chain.bpf.o"))
        .collect();
    tests.sort();
    out.extend(tests);
    out
}

#[test]
fn shipped_programs_fit_the_stack_budget() {
    let mut over = Vec::new();
    let mut checked = 0;
    for path in shipped_objects() {
        for a in analyses(&path) {
            checked += 1;
            let chain = a.worst_chain(StackRounding::Interpreter32);
            if chain.total > BUDGET {
                over.push(format!(
                    "{} {}: {chain} ({}; 16-byte JIT rounding: {})",
                    path.file_name().unwrap_or_default().to_string_lossy(),
                    a.program,
                    chain.rounding,
                    a.worst_chain(StackRounding::Jit16).total
                ));
            }
        }
    }
    assert!(checked > 20, "only {checked} programs analysed");
    assert!(
        over.is_empty(),
        "{} programs' worst call chains exceed the {BUDGET}-byte stack budget (strict rounding):\n  {}",
        over.len(),
        over.join("\n  ")
    );
}

#[test]
fn stack_chain_object_analysed() {
    let all = analyses(&stack_chain_path());
    let find = |name: &str| {
        all.iter()
            .find(|a| a.program == name)
            .unwrap_or_else(|| panic!("no program {name}"))
    };
    // (program, frames in func# order, Jit16 total, Interpreter32 total)
    let cases = [
        ("tsc_over", [56, 208, 40, 200], 528, 576),
        ("tsc_under", [56, 200, 40, 184], 512, 544),
    ];
    for (name, depths, jit, strict) in cases {
        let a = find(name);
        assert_eq!(a.depths(), depths, "{name}");
        let names: Vec<&str> = a.frames.iter().map(|f| f.name.as_str()).collect();
        let (mid, step, leaf) = (
            format!("{name}_mid"),
            format!("{name}_step"),
            format!("{name}_leaf"),
        );
        assert_eq!(names, [name, &mid, &step, &leaf], "{name}");
        // main calls the global mid (relocation), mid hands step to bpf_loop (a callback),
        // step calls the static leaf (pc-relative).
        let edges: Vec<(usize, usize, CallKind)> = a
            .frames
            .iter()
            .enumerate()
            .flat_map(|(i, f)| f.calls.iter().map(move |c| (i, c.callee, c.kind)))
            .collect();
        assert_eq!(
            edges,
            [
                (0, 1, CallKind::Call),
                (1, 2, CallKind::Callback),
                (2, 3, CallKind::Call)
            ],
            "{name}"
        );
        assert_eq!(a.worst_chain(StackRounding::Jit16).total, jit, "{name}");
        assert_eq!(
            a.worst_chain(StackRounding::Interpreter32).total,
            strict,
            "{name}"
        );
        assert_eq!(a.max_frames(), 4);
    }
    match find("tsc_over").verifier_violation(StackRounding::Jit16) {
        Some(StackViolation::CombinedStack { chain }) => {
            assert_eq!((chain.links.len(), chain.total), (4, 528));
        }
        other => panic!("tsc_over: {other:?}"),
    }
    let under = find("tsc_under");
    assert_eq!(under.verifier_violation(StackRounding::Jit16), None);
    assert!(under
        .verifier_violation(StackRounding::Interpreter32)
        .is_some());
}

/// The first pc-relative bpf-to-bpf call in `function`: its byte offset in the file and its
/// instruction index in the function.
fn static_call_in(obj: &BpfObject, function: &str) -> (usize, usize) {
    let f = obj
        .functions()
        .iter()
        .find(|f| f.name == function)
        .expect("function");
    let sec = &obj.sections()[f.section_index];
    let start = (sec.file_offset + f.offset) as usize;
    let code = &obj.bytes()[start..start + f.size as usize];
    let at = code
        .chunks_exact(8)
        .position(|i| i[0] == 0x85 && i[1] >> 4 == 1)
        .expect("a call");
    (start + at * 8, at)
}

#[test]
fn malformed_objects_are_errors() {
    let bytes = std::fs::read(stack_chain_path()).expect("stack_chain.bpf.o");
    let obj = BpfObject::from_bytes(&bytes).expect("parse");
    let (call, index) = static_call_in(&obj, "tsc_over_step");
    let with_imm = |imm: i32| {
        let mut b = bytes.clone();
        b[call + 4..call + 8].copy_from_slice(&imm.to_le_bytes());
        BpfObject::from_bytes(&b).expect("parse").stack_analyses()
    };
    // The callback calling its own start, and a call far outside .text.
    match with_imm(-(index as i32) - 1) {
        Err(StackError::Recursion { program, cycle }) => {
            assert_eq!(program, "tsc_over");
            assert_eq!(cycle, ["tsc_over_step", "tsc_over_step"]);
        }
        other => panic!("expected recursion, got {other:?}"),
    }
    match with_imm(1 << 20) {
        Err(e @ StackError::CallTarget { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("tsc_over_step") && text.contains(".text"),
                "{text}"
            );
        }
        other => panic!("expected a bad call target, got {other:?}"),
    }
    // A call into the middle of a function.
    assert!(matches!(with_imm(1), Err(StackError::CallTarget { .. })));
    // Truncated anywhere: an error from the reader or the analysis, never a panic.
    let mut errors = 0;
    for len in (0..bytes.len()).step_by(7) {
        if let Ok(o) = BpfObject::from_bytes(&bytes[..len]) {
            let _ = o.stack_analyses();
        } else {
            errors += 1;
        }
    }
    assert!(errors > 0);
    // Garbage in the code: results or errors, never a panic or a hang.
    let text = &obj.sections()[obj.functions()[0].section_index];
    for k in 0..(text.size as usize) {
        let mut b = bytes.clone();
        b[text.file_offset as usize + k] ^= 0x5a;
        if let Ok(o) = BpfObject::from_bytes(&b) {
            let _ = o.stack_analyses();
        }
    }
}

/// "combined stack size of N calls is M" in a verifier log.
fn combined(log: &str) -> Option<(usize, u32)> {
    let rest = log.split("combined stack size of ").nth(1)?;
    let (n, rest) = rest.split_once(" calls is ")?;
    let m = rest.split(|c: char| !c.is_ascii_digit()).next()?;
    Some((n.parse().ok()?, m.parse().ok()?))
}

/// The frames of a verifier log's "stack depth 56+64+0" line.
fn stack_depths(log: &str) -> Option<Vec<u32>> {
    let line = log.lines().find_map(|l| l.strip_prefix("stack depth "))?;
    line.trim().split('+').map(|n| n.parse().ok()).collect()
}

#[test]
fn verifier_refuses_the_over_limit_chain_as_analysed() {
    if module_common::skip_without_bpf("verifier_refuses_the_over_limit_chain_as_analysed") {
        return;
    }
    // Kernels from 6.9 round frames to 16 bytes when the program is JIT-compiled: x86_64 and
    // arm64 6.18 kernels always JIT (bpf_jit_enable reads 1), so that is this machine's rule.
    let rounding = StackRounding::this_kernel();
    let all = analyses(&stack_chain_path());
    let over = all
        .iter()
        .find(|a| a.program == "tsc_over")
        .expect("tsc_over");
    let Some(StackViolation::CombinedStack { chain }) = over.verifier_violation(rounding) else {
        panic!("the analysis accepts tsc_over under {rounding}");
    };
    let e = ModuleBuilder::from_path(stack_chain_path())
        .object_name("stack_chain")
        .autoload("tsc_under", false)
        .load()
        .expect_err("tsc_over must be refused");
    let ModuleError::VerifierRejected {
        program,
        verifier_log,
        ..
    } = e
    else {
        panic!("expected a verifier rejection, got {e}");
    };
    assert_eq!(program, "tsc_over");
    assert_eq!(
        combined(&verifier_log),
        Some((chain.links.len(), chain.total)),
        "analysis ({rounding}): {chain}\nverifier log:\n{verifier_log}"
    );
    if let Some(depths) = stack_depths(&verifier_log) {
        assert_eq!(depths, over.depths(), "{verifier_log}");
    }

    let under = all
        .iter()
        .find(|a| a.program == "tsc_under")
        .expect("tsc_under");
    assert_eq!(under.verifier_violation(rounding), None);
    ModuleBuilder::from_path(stack_chain_path())
        .object_name("stack_chain")
        .autoload("tsc_over", false)
        .load()
        .expect("tsc_under fits the limit and must load");
}

/// Loads one program of `object` alone with the verifier's statistics log (level 4: stack
/// depths and errors, without the per-instruction trace) and returns that log.
fn verifier_stats(object: &[u8], program: &str) -> String {
    let mut buf = vec![0u8; 1 << 16];
    // SAFETY: libbpf C API on an object we own: opened from a live buffer, programs
    // iterated and configured before the load, the log buffer outliving the load, closed once.
    unsafe {
        let obj = libbpf_sys::bpf_object__open_mem(
            object.as_ptr().cast(),
            object.len() as _,
            std::ptr::null(),
        );
        assert!(
            !obj.is_null() && libbpf_sys::libbpf_get_error(obj.cast()) == 0,
            "open"
        );
        let want = CString::new(program).expect("name");
        let mut p = libbpf_sys::bpf_object__next_program(obj, std::ptr::null_mut());
        while !p.is_null() {
            let name = CStr::from_ptr(libbpf_sys::bpf_program__name(p));
            let this = name == want.as_c_str();
            libbpf_sys::bpf_program__set_autoload(p, this);
            if this {
                libbpf_sys::bpf_program__set_log_level(p, 4);
                libbpf_sys::bpf_program__set_log_buf(p, buf.as_mut_ptr().cast(), buf.len() as _);
            }
            p = libbpf_sys::bpf_object__next_program(obj, p);
        }
        libbpf_sys::bpf_object__load(obj);
        libbpf_sys::bpf_object__close(obj);
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[test]
fn tracer_frames_match_the_verifier() {
    if module_common::skip_without_bpf("tracer_frames_match_the_verifier") {
        return;
    }
    let path = if cfg!(target_arch = "aarch64") {
        repo().join("crates/tracee-core/bpf/tracee.bpf.arm64.o")
    } else {
        repo().join("crates/tracee-core/bpf/tracee.bpf.o")
    };
    let bytes = std::fs::read(&path).expect("tracer object");
    let rounding = StackRounding::this_kernel();
    let mut compared = 0;
    for a in analyses(&path) {
        let log = verifier_stats(&bytes, &a.program);
        let Some(depths) = stack_depths(&log) else {
            eprintln!(
                "{}: no stack depth line (not loadable here?):\n{log}",
                a.program
            );
            continue;
        };
        // A successful load reports each frame after the verifier's bpf_loop inlining, which
        // adds 24 bytes (three spill slots) to a frame whose bpf_loop calls it inlined; that
        // comes after the stack check, so the analysis leaves it out.
        let loaded = !log.contains("combined stack size");
        for (k, (v, f)) in depths.iter().zip(&a.frames).enumerate() {
            let inlined = loaded
                && *v == f.depth + 24
                && f.calls.iter().any(|c| c.kind == CallKind::Callback);
            assert!(
                *v == f.depth || inlined,
                "{}: frame #{k} {} is {} bytes, the verifier says {v}\n{log}",
                a.program,
                f.name,
                f.depth
            );
        }
        assert_eq!(depths.len(), a.frames.len(), "{}: frames\n{log}", a.program);
        let verdict = match a.verifier_violation(rounding) {
            Some(StackViolation::CombinedStack { chain }) => Some((chain.links.len(), chain.total)),
            _ => None,
        };
        assert_eq!(
            combined(&log),
            verdict,
            "{}: combined stack\n{log}",
            a.program
        );
        compared += 1;
    }
    assert!(
        compared > 0,
        "no program's verifier log had a stack depth line"
    );
}
