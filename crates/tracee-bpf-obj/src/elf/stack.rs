//! Stack-depth analysis of a BPF program: what the verifier's `check_max_stack_depth` will
//! compute, read from the unlinked object before any load.
//!
//! Each subprogram's frame is the lowest offset below the frame pointer (`r10`) that one of
//! its instructions reaches: a load or store through `r10` or through a register holding
//! `r10` plus a constant, or such a pointer itself (passed to a helper or a callee, which then
//! touches the caller's stack from that address upwards). The call graph follows bpf-to-bpf
//! calls (`call` with `src_reg` = `BPF_PSEUDO_CALL`) and callbacks (`ld_imm64` with `src_reg` =
//! `BPF_PSEUDO_FUNC`, e.g. `bpf_loop`'s): the verifier counts a callback as called by the
//! subprogram that loads its address. Calls out of a program's section are resolved through
//! the section's relocations, as libbpf links them.
//!
//! The frames are listed in the order libbpf appends subprograms to a program (first use,
//! depth first), which is the verifier's `func#` order: [`StackAnalysis::depths`] reads like
//! the `stack depth 56+64+0+...` line of a verifier log.
//!
//! Not modelled: asynchronous callbacks (`bpf_timer_set_callback`), which the verifier checks
//! as separate roots, are counted as calls (an over-estimate); exception callbacks; the private
//! stacks of newer kernels (which take some program types out of the combined limit); stack
//! the verifier adds after the check (`bpf_loop` inlining, `may_goto`), which does not count.

use std::collections::HashMap;
use std::fmt;

use object::elf;
use object::read::elf::{Rel, SectionHeader, Sym};
use object::SymbolIndex;

use super::error::ObjectError;
use super::object::{bpf_sections, with_aligned, BpfObject};
use super::program::Program;

/// `MAX_BPF_STACK`: the combined stack of a call chain may not exceed this many bytes.
pub const MAX_BPF_STACK: u32 = 512;
/// `MAX_CALL_FRAMES`: a call chain may hold at most this many frames (the program included).
pub const MAX_CALL_FRAMES: usize = 8;
/// A subprogram that tail-calls must be entered with less than this much stack below it.
pub const TAIL_CALL_STACK_LIMIT: u32 = 256;

const INSN: u64 = 8;
const BPF_PSEUDO_CALL: u8 = 1;
const BPF_PSEUDO_FUNC: u8 = 4;
const HELPER_TAIL_CALL: i32 = 12;
const R_BPF_64_64: u32 = 1;
const R_BPF_64_32: u32 = 10;

/// How the verifier rounds each frame before summing a call chain.
///
/// Source: `round_up_stack_depth()` in `kernel/bpf/verifier.c`, added by "bpf: Fix test
/// verif_scale_strobemeta_subprogs failure due to llvm19" (Yonghong Song, bpf-next,
/// February 2024), first released in Linux 6.9. Before it every kernel rounded the
/// interpreter's way, JIT or not.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StackRounding {
    /// `round_up(max(depth, 1), 32)`: every frame, even an empty one, counts at least 32.
    /// Linux up to 6.8 (so 5.x, 6.1 and 6.6 LTS), and any kernel loading without the JIT.
    /// The stricter rule: a chain that fits under it fits everywhere.
    Interpreter32,
    /// `round_up(depth, 16)`: Linux 6.9 and later when the program is JIT-compiled (always on
    /// x86_64 and arm64 kernels built with `CONFIG_BPF_JIT_ALWAYS_ON`).
    Jit16,
}

impl StackRounding {
    /// Both rules, strict first.
    pub const ALL: [StackRounding; 2] = [StackRounding::Interpreter32, StackRounding::Jit16];

    /// A frame of `depth` bytes as the verifier counts it.
    pub fn round(self, depth: u32) -> u32 {
        match self {
            StackRounding::Interpreter32 => depth.max(1).div_ceil(32).saturating_mul(32),
            StackRounding::Jit16 => depth.div_ceil(16).saturating_mul(16),
        }
    }

    /// The rule of a kernel of this release (`uname -r`) with the JIT on or off.
    pub fn for_kernel(release: &str, jit: bool) -> StackRounding {
        let mut nums = release
            .split(|c: char| !c.is_ascii_digit())
            .map(|n| n.parse::<u32>().unwrap_or(0));
        let version = (nums.next().unwrap_or(0), nums.next().unwrap_or(0));
        if jit && version >= (6, 9) {
            StackRounding::Jit16
        } else {
            StackRounding::Interpreter32
        }
    }

    /// The rule of the running kernel: its release from `/proc/sys/kernel/osrelease`, the JIT
    /// from `/proc/sys/net/core/bpf_jit_enable` (non-zero; a kernel built with the JIT always
    /// on reports 1). [`StackRounding::Interpreter32`] when either cannot be read.
    pub fn this_kernel() -> StackRounding {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let jit = std::fs::read_to_string("/proc/sys/net/core/bpf_jit_enable")
            .is_ok_and(|s| s.trim() != "0");
        StackRounding::for_kernel(release.trim(), jit)
    }

    /// A short name: `"32-byte rounding"`, `"16-byte JIT rounding"`.
    pub fn name(self) -> &'static str {
        match self {
            StackRounding::Interpreter32 => "32-byte rounding",
            StackRounding::Jit16 => "16-byte JIT rounding",
        }
    }
}

impl fmt::Display for StackRounding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An error of the stack analysis: the object's code or relocations are malformed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The object itself could not be read.
    #[error(transparent)]
    Object(#[from] ObjectError),
    /// An instruction cannot be decoded or goes nowhere valid.
    #[error("{function} ({section}+{insn_off}): {reason}")]
    Instruction {
        /// Function holding the instruction.
        function: String,
        /// Its section.
        section: String,
        /// Byte offset of the instruction in the section.
        insn_off: u64,
        /// What is wrong.
        reason: String,
    },
    /// A call or callback reference does not lead to the start of a function.
    #[error("{function} ({section}+{insn_off}): call target {reason}")]
    CallTarget {
        /// Calling function.
        function: String,
        /// Its section.
        section: String,
        /// Byte offset of the call in the section.
        insn_off: u64,
        /// Where it leads and why that is wrong.
        reason: String,
    },
    /// A relocation of a code section is malformed.
    #[error("section {section}: relocation at {offset}: {reason}")]
    Relocation {
        /// The relocation section.
        section: String,
        /// `r_offset` of the relocation.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The call graph has a cycle (the verifier rejects recursion).
    #[error("program {program}: recursive calls: {}", cycle.join(" -> "))]
    Recursion {
        /// The program.
        program: String,
        /// The functions of the cycle, the first repeated at the end.
        cycle: Vec<String>,
    },
}

/// How a frame is entered from its caller.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// `call` with `src_reg` = `BPF_PSEUDO_CALL`.
    Call,
    /// `ld_imm64` with `src_reg` = `BPF_PSEUDO_FUNC`: a callback handed to a helper.
    Callback,
}

/// A call site in a frame.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackCall {
    /// Byte offset of the calling instruction in the caller's section.
    pub insn_off: u64,
    /// Index of the callee in [`StackAnalysis::frames`].
    pub callee: usize,
    /// Call or callback.
    pub kind: CallKind,
}

/// One subprogram (or the program itself) in a program's call graph.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackFrame {
    /// Function name (symbol table).
    pub name: String,
    /// ELF section of the function.
    pub section: String,
    /// Byte offset of its first instruction in the section.
    pub offset: u64,
    /// Its own stack in bytes, in whole 8-byte slots (the verifier's `stack_depth`, before
    /// rounding).
    pub depth: u32,
    /// Whether it calls `bpf_tail_call`.
    pub tail_call: bool,
    /// Its calls and callbacks, in instruction order.
    pub calls: Vec<StackCall>,
}

/// One frame of a [`StackChain`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLink {
    /// Index in [`StackAnalysis::frames`].
    pub frame: usize,
    /// Function name.
    pub name: String,
    /// Its own stack, unrounded.
    pub depth: u32,
    /// As the chain's rounding counts it.
    pub rounded: u32,
}

/// A call chain from the program down, with its combined stack under one rounding rule.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackChain {
    /// The frames, the program first.
    pub links: Vec<ChainLink>,
    /// Sum of the rounded frames.
    pub total: u32,
    /// The rule the frames were rounded with.
    pub rounding: StackRounding,
}

impl fmt::Display for StackChain {
    /// `prog 64 -> f 208 -> g 16 = 288` (rounded sizes).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, l) in self.links.iter().enumerate() {
            if i > 0 {
                f.write_str(" -> ")?;
            }
            write!(f, "{} {}", l.name, l.rounded)?;
        }
        write!(f, " = {}", self.total)
    }
}

/// Why the verifier would refuse a program's stack, in the order its walk finds it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackViolation {
    /// "combined stack size of N calls is M. Too large": `chain.links.len()` is N and
    /// `chain.total` is M.
    CombinedStack {
        /// The chain, ending at the frame that crossed [`MAX_BPF_STACK`].
        chain: StackChain,
    },
    /// More than [`MAX_CALL_FRAMES`] frames ("the call stack of N frames is too deep").
    TooManyFrames {
        /// The chain, ending at the frame that is one too many.
        chain: Vec<String>,
    },
    /// A tail-calling subprogram entered with [`TAIL_CALL_STACK_LIMIT`] bytes or more below
    /// it ("tail_calls are not allowed when call stack of previous frames is N bytes").
    TailCall {
        /// The chain, ending at the tail-calling subprogram.
        chain: Vec<String>,
        /// Stack of the frames before it.
        depth: u32,
    },
}

impl fmt::Display for StackViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackViolation::CombinedStack { chain } => write!(
                f,
                "combined stack size of {} calls is {} ({}): {chain}",
                chain.links.len(),
                chain.total,
                chain.rounding
            ),
            StackViolation::TooManyFrames { chain } => write!(
                f,
                "call chain of {} frames exceeds {MAX_CALL_FRAMES}: {}",
                chain.len(),
                chain.join(" -> ")
            ),
            StackViolation::TailCall { chain, depth } => write!(
                f,
                "tail call with {depth} bytes of stack below it (limit {TAIL_CALL_STACK_LIMIT}): {}",
                chain.join(" -> ")
            ),
        }
    }
}

/// The stack frames and call graph of one program.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackAnalysis {
    /// Program name.
    pub program: String,
    /// Its section.
    pub section: String,
    /// The program (index 0) and every subprogram it reaches, in the verifier's `func#`
    /// order. The graph is acyclic (recursion is an error).
    pub frames: Vec<StackFrame>,
}

impl StackAnalysis {
    /// A program's analysis from frames built by hand (frame 0 is the program). Fails on a
    /// call to a frame that does not exist or on recursion.
    pub fn from_frames(
        program: impl Into<String>,
        section: impl Into<String>,
        frames: Vec<StackFrame>,
    ) -> Result<StackAnalysis, StackError> {
        let a = StackAnalysis {
            program: program.into(),
            section: section.into(),
            frames,
        };
        for f in &a.frames {
            if let Some(c) = f.calls.iter().find(|c| c.callee >= a.frames.len()) {
                return Err(StackError::CallTarget {
                    function: f.name.clone(),
                    section: f.section.clone(),
                    insn_off: c.insn_off,
                    reason: format!("frame #{} does not exist", c.callee),
                });
            }
        }
        a.check_acyclic()?;
        Ok(a)
    }

    /// Each frame's own stack in `func#` order: bpftool's `stack depth` numbers.
    pub fn depths(&self) -> Vec<u32> {
        self.frames.iter().map(|f| f.depth).collect()
    }

    /// The chain with the largest combined stack under `rounding` (the first in call order
    /// among equals, continued to its deepest frame).
    pub fn worst_chain(&self, rounding: StackRounding) -> StackChain {
        let t = self.tables(rounding);
        let mut links = Vec::new();
        let mut at = Some(0);
        while let Some(n) = at {
            let Some(frame) = self.frames.get(n) else {
                break;
            };
            links.push(self.link(n, rounding));
            let rest = t.worst[n] - rounding.round(frame.depth);
            at = frame
                .calls
                .iter()
                .map(|c| c.callee)
                .find(|&c| t.worst[c] == rest);
        }
        StackChain {
            total: links.iter().map(|l| l.rounded).sum(),
            links,
            rounding,
        }
    }

    /// The most frames any chain holds.
    pub fn max_frames(&self) -> usize {
        self.tables(StackRounding::Jit16)
            .frames
            .first()
            .copied()
            .unwrap_or(0)
    }

    /// What the verifier's walk would reject first with this rounding, under the default
    /// limits ([`MAX_BPF_STACK`], [`MAX_CALL_FRAMES`], [`TAIL_CALL_STACK_LIMIT`]); `None`
    /// when the program's stack is accepted.
    pub fn verifier_violation(&self, rounding: StackRounding) -> Option<StackViolation> {
        self.first_violation(rounding, MAX_BPF_STACK)
    }

    /// Like [`StackAnalysis::verifier_violation`] with another combined-stack limit, e.g. a
    /// budget below 512 that leaves a margin for other compilers and kernels.
    pub fn first_violation(&self, rounding: StackRounding, limit: u32) -> Option<StackViolation> {
        if self.frames.is_empty() {
            return None;
        }
        let t = self.tables(rounding);
        // The verifier walks every path depth first in instruction order, checking on entry
        // of each frame: the frame count, the tail-call rule, then the sum. Subtrees that
        // cannot fail (by the per-frame maxima) are skipped, so the walk stays linear.
        let can_fail = |n: usize, below: u32, frame: usize| {
            frame + t.frames[n] > MAX_CALL_FRAMES
                || below.saturating_add(t.worst[n]) > limit
                || t.tail[n].is_some_and(|x| below.saturating_add(x) >= TAIL_CALL_STACK_LIMIT)
        };
        // (frame, stack including it, next call to look at)
        let mut path: Vec<(usize, u32, usize)> = Vec::new();
        let mut enter = Some((0usize, 0u32));
        loop {
            if let Some((n, below)) = enter.take() {
                let chain = |path: &[(usize, u32, usize)]| -> Vec<usize> {
                    path.iter().map(|p| p.0).chain([n]).collect()
                };
                let names = |path: &[(usize, u32, usize)]| -> Vec<String> {
                    chain(path)
                        .into_iter()
                        .map(|i| self.frames[i].name.clone())
                        .collect()
                };
                if path.len() >= MAX_CALL_FRAMES {
                    return Some(StackViolation::TooManyFrames {
                        chain: names(&path),
                    });
                }
                if !path.is_empty() && self.frames[n].tail_call && below >= TAIL_CALL_STACK_LIMIT {
                    return Some(StackViolation::TailCall {
                        chain: names(&path),
                        depth: below,
                    });
                }
                let total = below.saturating_add(rounding.round(self.frames[n].depth));
                if total > limit {
                    let links = chain(&path)
                        .into_iter()
                        .map(|i| self.link(i, rounding))
                        .collect();
                    return Some(StackViolation::CombinedStack {
                        chain: StackChain {
                            links,
                            total,
                            rounding,
                        },
                    });
                }
                path.push((n, total, 0));
            }
            let callee_frame = path.len();
            let (n, total, next) = path.last_mut()?;
            let found = self.frames[*n]
                .calls
                .iter()
                .enumerate()
                .skip(*next)
                .find(|(_, c)| can_fail(c.callee, *total, callee_frame));
            match found {
                Some((i, c)) => {
                    *next = i + 1;
                    enter = Some((c.callee, *total));
                }
                None => {
                    path.pop();
                }
            }
        }
    }

    fn link(&self, n: usize, rounding: StackRounding) -> ChainLink {
        let f = &self.frames[n];
        ChainLink {
            frame: n,
            name: f.name.clone(),
            depth: f.depth,
            rounded: rounding.round(f.depth),
        }
    }

    /// Per frame, over the chains starting at it: the largest rounded sum, the most frames,
    /// and the largest stack below a tail-calling frame.
    fn tables(&self, rounding: StackRounding) -> Tables {
        let n = self.frames.len();
        let mut t = Tables {
            worst: vec![0; n],
            frames: vec![0; n],
            tail: vec![None; n],
        };
        for i in self.postorder() {
            let f = &self.frames[i];
            let own = rounding.round(f.depth);
            let mut worst = 0u32;
            let mut frames = 0usize;
            let mut tail = f.tail_call.then_some(0u32);
            for c in &f.calls {
                worst = worst.max(t.worst[c.callee]);
                frames = frames.max(t.frames[c.callee]);
                if let Some(x) = t.tail[c.callee] {
                    let x = x.saturating_add(own);
                    tail = Some(tail.map_or(x, |y| y.max(x)));
                }
            }
            t.worst[i] = own.saturating_add(worst);
            t.frames[i] = frames + 1;
            t.tail[i] = tail;
        }
        t
    }

    /// Frames reachable from frame 0, callees before callers. The graph is acyclic.
    fn postorder(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.frames.len());
        let mut seen = vec![false; self.frames.len()];
        let mut stack = vec![(0usize, 0usize)];
        if let Some(s) = seen.first_mut() {
            *s = true;
        }
        while let Some((n, next)) = stack.pop() {
            let calls = &self.frames[n].calls;
            if let Some(c) = calls.get(next) {
                stack.push((n, next + 1));
                if !seen[c.callee] {
                    seen[c.callee] = true;
                    stack.push((c.callee, 0));
                }
            } else {
                out.push(n);
            }
        }
        out
    }

    fn check_acyclic(&self) -> Result<(), StackError> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            OnPath,
            Done,
        }
        let mut mark = vec![Mark::New; self.frames.len()];
        for root in 0..self.frames.len() {
            if mark[root] != Mark::New {
                continue;
            }
            let mut stack = vec![(root, 0usize)];
            mark[root] = Mark::OnPath;
            while let Some(&mut (n, ref mut next)) = stack.last_mut() {
                match self.frames[n].calls.get(*next) {
                    Some(c) => {
                        *next += 1;
                        match mark[c.callee] {
                            Mark::New => {
                                mark[c.callee] = Mark::OnPath;
                                stack.push((c.callee, 0));
                            }
                            Mark::OnPath => {
                                let from = stack.iter().position(|s| s.0 == c.callee).unwrap_or(0);
                                let mut cycle: Vec<String> = stack[from..]
                                    .iter()
                                    .map(|s| self.frames[s.0].name.clone())
                                    .collect();
                                cycle.push(self.frames[c.callee].name.clone());
                                return Err(StackError::Recursion {
                                    program: self.program.clone(),
                                    cycle,
                                });
                            }
                            Mark::Done => {}
                        }
                    }
                    None => {
                        mark[n] = Mark::Done;
                        stack.pop();
                    }
                }
            }
        }
        Ok(())
    }
}

struct Tables {
    worst: Vec<u32>,
    frames: Vec<usize>,
    tail: Vec<Option<u32>>,
}

impl BpfObject {
    /// The stack analysis of every program, in [`BpfObject::programs`] order.
    pub fn stack_analyses(&self) -> Result<Vec<StackAnalysis>, StackError> {
        let code = Code::read(self)?;
        let mut cache = HashMap::new();
        self.programs()
            .iter()
            .map(|p| code.analyse(self, p, &mut cache))
            .collect()
    }

    /// The stack analysis of one program of this object.
    pub fn stack_analysis(&self, program: &Program) -> Result<StackAnalysis, StackError> {
        Code::read(self)?.analyse(self, program, &mut HashMap::new())
    }
}

/// What a relocation of a code section points at.
#[derive(Clone)]
struct RelTarget {
    r_type: u32,
    /// Section index of the symbol, or `None` when it is undefined (an extern).
    shndx: Option<usize>,
    value: u64,
    name: String,
}

/// Relocations of the executable sections, by (section index, byte offset).
struct Code {
    relocs: HashMap<(usize, u64), RelTarget>,
}

/// One function's instructions, scanned.
#[derive(Clone)]
struct Scan {
    depth: u32,
    tail_call: bool,
    /// (instruction index, kind, imm, explicit): a callback is explicit when `src_reg` says
    /// `BPF_PSEUDO_FUNC`; clang leaves it 0 and the relocation tells (libbpf sets it).
    refs: Vec<(usize, CallKind, i32, bool)>,
}

impl Code {
    fn read(obj: &BpfObject) -> Result<Code, StackError> {
        let relocs = with_aligned(obj.bytes(), |data| -> Result<_, StackError> {
            let (endian, sections) = bpf_sections(data)?;
            let symbols = sections
                .symbols(endian, data, elf::SHT_SYMTAB)
                .map_err(ObjectError::elf)?;
            let mut relocs = HashMap::new();
            for (index, sh) in sections.enumerate() {
                if sh.sh_type(endian) != elf::SHT_REL {
                    continue;
                }
                let target = sh.sh_info(endian) as usize;
                if !obj
                    .sections()
                    .get(target)
                    .is_some_and(|s| s.is_executable())
                {
                    continue;
                }
                let rel_name = obj
                    .sections()
                    .get(index.0)
                    .map_or_else(|| format!("#{}", index.0), |s| s.name.clone());
                let rels = match sh.rel(endian, data) {
                    Ok(Some((rels, _))) => rels,
                    Ok(None) => continue,
                    Err(e) => {
                        return Err(StackError::Relocation {
                            section: rel_name,
                            offset: 0,
                            reason: e.to_string(),
                        })
                    }
                };
                for rel in rels {
                    let offset = rel.r_offset(endian);
                    let sym = symbols
                        .symbol(SymbolIndex(rel.r_sym(endian) as usize))
                        .map_err(|e| StackError::Relocation {
                            section: rel_name.clone(),
                            offset,
                            reason: format!("symbol {}: {e}", rel.r_sym(endian)),
                        })?;
                    let shndx = usize::from(sym.st_shndx(endian));
                    let name = symbols
                        .symbol_name(endian, sym)
                        .map(|n| String::from_utf8_lossy(n).into_owned())
                        .unwrap_or_default();
                    relocs.insert(
                        (target, offset),
                        RelTarget {
                            r_type: rel.r_type(endian),
                            shndx: (shndx != 0 && shndx < usize::from(elf::SHN_LORESERVE))
                                .then_some(shndx),
                            value: sym.st_value(endian),
                            name,
                        },
                    );
                }
            }
            Ok(relocs)
        })?;
        Ok(Code { relocs })
    }

    fn analyse(
        &self,
        obj: &BpfObject,
        prog: &Program,
        cache: &mut HashMap<(usize, u64), Scan>,
    ) -> Result<StackAnalysis, StackError> {
        let root = (prog.section_index, prog.offset);
        let mut frames = vec![self.frame(obj, root, &prog.name, cache)?];
        let mut keys = vec![root];
        let mut index: HashMap<(usize, u64), usize> = HashMap::from([(root, 0)]);
        // Depth-first in instruction order, each function appended where first referenced:
        // libbpf's order of appending subprograms, hence the verifier's func# order.
        let mut pending: Vec<(usize, usize)> = vec![(0, 0)];
        while let Some(&mut (f, ref mut next)) = pending.last_mut() {
            let key = keys[f];
            let Some((i, kind, imm, explicit)) =
                cache.get(&key).and_then(|s| s.refs.get(*next).copied())
            else {
                pending.pop();
                continue;
            };
            *next += 1;
            let insn_off = frames[f].offset + i as u64 * INSN;
            if !explicit && !self.is_code_address(obj, key.0, insn_off) {
                continue; // a constant, map or data address
            }
            let target = self.resolve(obj, &frames[f], key.0, insn_off, kind, imm)?;
            let callee = match index.get(&target) {
                Some(&c) => c,
                None => {
                    let Some(func) = function_at(obj, target) else {
                        return Err(StackError::CallTarget {
                            function: frames[f].name.clone(),
                            section: frames[f].section.clone(),
                            insn_off,
                            reason: format!(
                                "{}+{} is not the start of a function",
                                section_name(obj, target.0),
                                target.1
                            ),
                        });
                    };
                    let name = func.name.clone();
                    frames.push(self.frame(obj, target, &name, cache)?);
                    keys.push(target);
                    index.insert(target, frames.len() - 1);
                    pending.push((frames.len() - 1, 0));
                    frames.len() - 1
                }
            };
            frames[f].calls.push(StackCall {
                insn_off,
                callee,
                kind,
            });
        }
        StackAnalysis::from_frames(&prog.name, &prog.section, frames)
    }

    /// The frame of the function at `at` (scanning it once per object).
    fn frame(
        &self,
        obj: &BpfObject,
        at: (usize, u64),
        name: &str,
        cache: &mut HashMap<(usize, u64), Scan>,
    ) -> Result<StackFrame, StackError> {
        let section = section_name(obj, at.0);
        let scan = match cache.get(&at) {
            Some(s) => s.clone(),
            None => {
                let func = function_at(obj, at).ok_or_else(|| StackError::Instruction {
                    function: name.to_string(),
                    section: section.clone(),
                    insn_off: at.1,
                    reason: "no function symbol starts here".into(),
                })?;
                let bytes = obj
                    .sections()
                    .get(at.0)
                    .and_then(|s| {
                        let start = s.file_offset.checked_add(func.offset)?;
                        let end = start.checked_add(func.size)?;
                        obj.bytes()
                            .get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
                    })
                    .ok_or_else(|| StackError::Instruction {
                        function: name.to_string(),
                        section: section.clone(),
                        insn_off: at.1,
                        reason: format!("{} bytes of code lie outside the file", func.size),
                    })?;
                let s = scan(bytes, obj.is_big_endian()).map_err(|(i, reason)| {
                    StackError::Instruction {
                        function: name.to_string(),
                        section: section.clone(),
                        insn_off: at.1 + i as u64 * INSN,
                        reason,
                    }
                })?;
                cache.insert(at, s.clone());
                s
            }
        };
        Ok(StackFrame {
            name: name.to_string(),
            section,
            offset: at.1,
            depth: scan.depth,
            tail_call: scan.tail_call,
            calls: Vec::new(),
        })
    }

    /// Whether the `ld_imm64` at `insn_off` is relocated against code: a callback.
    fn is_code_address(&self, obj: &BpfObject, sec: usize, insn_off: u64) -> bool {
        self.relocs.get(&(sec, insn_off)).is_some_and(|r| {
            r.shndx
                .and_then(|s| obj.sections().get(s))
                .is_some_and(|s| s.is_executable())
        })
    }

    /// (section index, byte offset) of what the call or callback at `insn_off` refers to.
    fn resolve(
        &self,
        obj: &BpfObject,
        caller: &StackFrame,
        sec: usize,
        insn_off: u64,
        kind: CallKind,
        imm: i32,
    ) -> Result<(usize, u64), StackError> {
        let err = |reason: String| StackError::CallTarget {
            function: caller.name.clone(),
            section: caller.section.clone(),
            insn_off,
            reason,
        };
        let imm = i64::from(imm);
        let (target_sec, target) = match self.relocs.get(&(sec, insn_off)) {
            Some(r) => {
                let want = match kind {
                    CallKind::Call => R_BPF_64_32,
                    CallKind::Callback => R_BPF_64_64,
                };
                if r.r_type != want {
                    return Err(err(format!(
                        "relocation against {:?} has type {}, expected {want}",
                        r.name, r.r_type
                    )));
                }
                let shndx = r
                    .shndx
                    .filter(|&s| obj.sections().get(s).is_some_and(|s| s.is_executable()))
                    .ok_or_else(|| err(format!("{:?} is not defined in a code section", r.name)))?;
                // A call's imm counts instructions after the call, a callback's bytes.
                let delta = match kind {
                    CallKind::Call => imm.checked_add(1).and_then(|x| x.checked_mul(8)),
                    CallKind::Callback => Some(imm),
                };
                (shndx, delta.and_then(|d| (r.value as i64).checked_add(d)))
            }
            // No relocation: a call within the section, relative to the next instruction.
            None => {
                let next = (insn_off / INSN) as i64 + 1;
                (sec, next.checked_add(imm).and_then(|x| x.checked_mul(8)))
            }
        };
        let size = obj.sections().get(target_sec).map_or(0, |s| s.size);
        match target {
            Some(t) if t >= 0 && (t as u64) < size && t % 8 == 0 => Ok((target_sec, t as u64)),
            Some(t) => Err(err(format!(
                "{}{t:+} is outside its {size} bytes",
                section_name(obj, target_sec)
            ))),
            None => Err(err("offset overflows".into())),
        }
    }
}

fn section_name(obj: &BpfObject, index: usize) -> String {
    obj.sections()
        .get(index)
        .map_or_else(|| format!("#{index}"), |s| s.name.clone())
}

fn function_at(obj: &BpfObject, at: (usize, u64)) -> Option<&super::program::Function> {
    obj.functions()
        .iter()
        .find(|f| f.section_index == at.0 && f.offset == at.1 && f.size > 0)
}

/// A decoded instruction.
#[derive(Clone, Copy, Debug)]
struct Insn {
    code: u8,
    dst: usize,
    src: usize,
    off: i16,
    imm: i32,
}

fn decode(bytes: &[u8], big_endian: bool) -> Result<Vec<Insn>, (usize, String)> {
    if bytes.len() % 8 != 0 {
        return Err((
            bytes.len() / 8,
            format!(
                "{} bytes is not a whole number of instructions",
                bytes.len()
            ),
        ));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|b| {
            let (dst, src) = if big_endian {
                (b[1] >> 4, b[1] & 0xf)
            } else {
                (b[1] & 0xf, b[1] >> 4)
            };
            let (off, imm) = if big_endian {
                (
                    i16::from_be_bytes([b[2], b[3]]),
                    i32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                )
            } else {
                (
                    i16::from_le_bytes([b[2], b[3]]),
                    i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
                )
            };
            Insn {
                code: b[0],
                dst: usize::from(dst),
                src: usize::from(src),
                off,
                imm,
            }
        })
        .collect())
}

/// Per register: `Some(c)` when it may hold `r10 + c` (the lowest such `c` on any path).
type Regs = [Option<i64>; 11];

/// Offsets are clamped here so a pointer walking down in a loop converges.
const FLOOR: i64 = -(1 << 20);
/// Visits of one instruction after which a still-falling offset jumps to [`FLOOR`].
const WIDEN_AFTER: u32 = 16;

/// Scans one function's instructions: its frame depth, calls and callbacks, tail calls.
/// Errors are (instruction index, reason).
fn scan(bytes: &[u8], big_endian: bool) -> Result<Scan, (usize, String)> {
    let insns = decode(bytes, big_endian)?;
    let n = insns.len();
    let mut refs = Vec::new();
    let mut tail_call = false;
    // Calls and callbacks in instruction order (also in code no path reaches, as the
    // verifier's stack walk is syntactic too).
    let mut i = 0;
    while i < n {
        let x = insns[i];
        if x.code == 0x85 && x.src == usize::from(BPF_PSEUDO_CALL) {
            refs.push((i, CallKind::Call, x.imm, true));
        } else if x.code == 0x85 && x.src == 0 && x.imm == HELPER_TAIL_CALL {
            tail_call = true;
        } else if x.code == 0x18 {
            if i + 1 >= n {
                return Err((i, "ld_imm64 without its second half".into()));
            }
            if x.src == usize::from(BPF_PSEUDO_FUNC) || x.src == 0 {
                refs.push((i, CallKind::Callback, x.imm, x.src != 0));
            }
            i += 1;
        }
        i += 1;
    }

    let mut lowest: i64 = 0;
    let mut seen = |v: i64| lowest = lowest.min(v);
    let mut state: Vec<Option<Regs>> = vec![None; n];
    let mut visits = vec![0u32; n];
    let mut entry: Regs = [None; 11];
    entry[10] = Some(0);
    let mut work = Vec::new();
    if n > 0 {
        state[0] = Some(entry);
        work.push(0usize);
    }
    while let Some(i) = work.pop() {
        let Some(mut r) = state[i] else { continue };
        r[10] = Some(0);
        let x = insns[i];
        let class = x.code & 0x07;
        let fp = |r: &Regs, reg: usize| r.get(reg).copied().flatten();
        // (target, is a jump): falling off the end is the verifier's to reject, a jump out is ours.
        let mut succ: [Option<(i64, bool)>; 2] = [Some((i as i64 + 1, false)), None];
        match class {
            // LD: ld_imm64 (two slots) or the legacy packet loads.
            0 => {
                if x.code == 0x18 {
                    set(&mut r, x.dst, None);
                    succ[0] = Some((i as i64 + 2, false));
                } else {
                    r[0] = None;
                }
            }
            // LDX: the address is src + off.
            1 => {
                if let Some(b) = fp(&r, x.src) {
                    seen(b + i64::from(x.off));
                }
                set(&mut r, x.dst, None);
            }
            // ST, STX: the address is dst + off; atomics may load into src or r0.
            2 | 3 => {
                if let Some(b) = fp(&r, x.dst) {
                    seen(b + i64::from(x.off));
                }
                if class == 3 && x.code & 0xe0 == 0xc0 {
                    if x.imm & 0x01 != 0 {
                        set(&mut r, x.src, None);
                    }
                    if x.imm == 0xf1 {
                        r[0] = None;
                    }
                }
            }
            // ALU, ALU64: only 64-bit moves and constant adds keep a frame pointer.
            4 | 7 => {
                let op = x.code & 0xf0;
                let by_reg = x.code & 0x08 != 0;
                let v = match (class, op, by_reg) {
                    (7, 0xb0, true) if x.off == 0 => fp(&r, x.src),
                    (7, 0x00, false) => fp(&r, x.dst).map(|v| v + i64::from(x.imm)),
                    (7, 0x10, false) => fp(&r, x.dst).map(|v| v - i64::from(x.imm)),
                    _ => None,
                };
                let v = v.map(|v| v.max(FLOOR));
                if let Some(v) = v {
                    seen(v);
                }
                set(&mut r, x.dst, v);
            }
            // JMP, JMP32.
            _ => {
                let op = x.code & 0xf0;
                match op {
                    0x80 => {
                        for reg in r.iter_mut().take(6) {
                            *reg = None;
                        }
                    }
                    0x90 => succ[0] = None,
                    0x00 => {
                        let d = if class == 6 {
                            i64::from(x.imm)
                        } else {
                            i64::from(x.off)
                        };
                        succ[0] = Some((i as i64 + 1 + d, true));
                    }
                    _ => succ[1] = Some((i as i64 + 1 + i64::from(x.off), true)),
                }
            }
        }
        for (s, jump) in succ.into_iter().flatten() {
            if !jump && s >= n as i64 {
                continue;
            }
            let s = usize::try_from(s)
                .ok()
                .filter(|&s| s < n)
                .ok_or_else(|| (i, format!("jump to instruction {s} outside 0..{n}")))?;
            let merged = match state[s] {
                None => Some(r),
                Some(old) => {
                    let mut m = old;
                    let mut changed = false;
                    for (k, slot) in m.iter_mut().enumerate() {
                        let new = match (*slot, r[k]) {
                            (Some(a), Some(b)) if b < a => {
                                Some(if visits[s] > WIDEN_AFTER { FLOOR } else { b })
                            }
                            (None, Some(b)) => Some(b),
                            (a, _) => a,
                        };
                        changed |= new != *slot;
                        *slot = new;
                    }
                    changed.then_some(m)
                }
            };
            if let Some(m) = merged {
                visits[s] = visits[s].saturating_add(1);
                state[s] = Some(m);
                work.push(s);
            }
        }
    }
    // The verifier grows a frame in 8-byte slots (a 2-byte store at fp-2 makes it 8), which
    // both rounding rules would do anyway.
    let depth = u32::try_from(-lowest)
        .unwrap_or(u32::MAX)
        .checked_next_multiple_of(8)
        .unwrap_or(u32::MAX);
    Ok(Scan {
        depth,
        tail_call,
        refs,
    })
}

fn set(r: &mut Regs, reg: usize, v: Option<i64>) {
    if let Some(slot) = r.get_mut(reg) {
        *slot = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes one little-endian instruction.
    fn i(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = code;
        b[1] = (src << 4) | (dst & 0xf);
        b[2..4].copy_from_slice(&off.to_le_bytes());
        b[4..8].copy_from_slice(&imm.to_le_bytes());
        b
    }
    const EXIT: [u8; 8] = [0x95, 0, 0, 0, 0, 0, 0, 0];
    fn mov_fp(dst: u8) -> [u8; 8] {
        i(0xbf, dst, 10, 0, 0)
    }
    fn add(dst: u8, imm: i32) -> [u8; 8] {
        i(0x07, dst, 0, 0, imm)
    }
    fn stx(dst: u8, src: u8, off: i16) -> [u8; 8] {
        i(0x7b, dst, src, off, 0)
    }
    fn ldx(dst: u8, src: u8, off: i16) -> [u8; 8] {
        i(0x79, dst, src, off, 0)
    }
    fn st(dst: u8, off: i16) -> [u8; 8] {
        i(0x62, dst, 0, off, 0)
    }
    fn helper(id: i32) -> [u8; 8] {
        i(0x85, 0, 0, 0, id)
    }
    fn call(rel: i32) -> [u8; 8] {
        i(0x85, 0, 1, 0, rel)
    }
    fn bytes(insns: &[[u8; 8]]) -> Vec<u8> {
        insns.concat()
    }

    #[test]
    fn frame_depths() {
        let cases: &[(&str, Vec<[u8; 8]>, u32)] = &[
            ("empty frame", vec![EXIT], 0),
            ("store through r10", vec![stx(10, 1, -8), EXIT], 8),
            ("load through r10", vec![ldx(1, 10, -24), EXIT], 24),
            ("st imm, in 8-byte slots", vec![st(10, -4), EXIT], 8),
            (
                "copied r10, adjusted, passed to a helper",
                vec![mov_fp(1), add(1, -64), helper(16), EXIT],
                64,
            ),
            (
                "copy adjusted twice, store at an offset",
                vec![mov_fp(2), add(2, -16), add(2, -8), stx(2, 1, 4), EXIT],
                24,
            ),
            (
                "pointer, then access above it",
                vec![mov_fp(3), add(3, -40), stx(3, 1, 32), EXIT],
                40,
            ),
            (
                "sub by a constant",
                vec![mov_fp(3), i(0x17, 3, 0, 0, 48), EXIT],
                48,
            ),
            (
                "copy of a copy",
                vec![mov_fp(3), mov_fp(4), i(0xbf, 5, 4, 0, 0), add(5, -72), EXIT],
                72,
            ),
            (
                "32-bit add drops the pointer",
                vec![mov_fp(1), i(0x04, 1, 0, 0, -100), stx(1, 2, -8), EXIT],
                0,
            ),
            (
                "a helper call clobbers r1-r5, not r6",
                vec![
                    mov_fp(1),
                    mov_fp(6),
                    helper(5),
                    stx(1, 2, -200),
                    stx(6, 2, -16),
                    EXIT,
                ],
                16,
            ),
            (
                "branches join with the lowest offset",
                vec![
                    mov_fp(1),
                    i(0x15, 2, 0, 2, 0), // if r2 == 0 goto +2
                    add(1, -32),
                    i(0x05, 0, 0, 1, 0), // goto +1
                    add(1, -8),
                    stx(1, 3, -8), // r1 is fp-32 or fp-8
                    EXIT,
                ],
                40,
            ),
            (
                "a loop walking down converges",
                vec![
                    mov_fp(1),
                    add(1, -8),
                    i(0x15, 2, 0, 2, 0), // if r2 == 0 goto exit
                    add(1, -8),
                    i(0x05, 0, 0, -3, 0), // goto the test
                    EXIT,
                ],
                1 << 20,
            ),
            (
                "ld_imm64 takes two slots and clobbers dst",
                vec![mov_fp(1), i(0x18, 1, 0, 0, 0), [0; 8], stx(1, 2, -8), EXIT],
                0,
            ),
        ];
        for (what, insns, want) in cases {
            let s = scan(&bytes(insns), false).unwrap_or_else(|e| panic!("{what}: {e:?}"));
            assert_eq!(s.depth, *want, "{what}");
        }
    }

    #[test]
    fn calls_callbacks_and_tail_calls_found() {
        let s = scan(
            &bytes(&[
                call(3),
                i(0x18, 2, 4, 0, 48),
                [0; 8],
                helper(181),
                helper(12),
                EXIT,
            ]),
            false,
        )
        .unwrap();
        assert_eq!(
            s.refs,
            vec![
                (0, CallKind::Call, 3, true),
                (1, CallKind::Callback, 48, true)
            ]
        );
        assert!(s.tail_call);
    }

    #[test]
    fn big_endian_decoding() {
        // bpfeb: dst in the high nibble, off and imm big-endian.
        let mut b = stx(10, 1, -48);
        b[1] = 0xa1;
        b[2..4].copy_from_slice(&(-48i16).to_be_bytes());
        let s = scan(&bytes(&[b, EXIT]), true).unwrap();
        assert_eq!(s.depth, 48);
    }

    #[test]
    fn malformed_instructions_are_errors() {
        let cases: &[(&str, Vec<u8>)] = &[
            ("partial instruction", vec![0x95, 0, 0]),
            ("jump past the end", bytes(&[i(0x05, 0, 0, 10, 0), EXIT])),
            (
                "jump before the start",
                bytes(&[i(0x15, 1, 0, -5, 0), EXIT]),
            ),
            ("truncated ld_imm64", bytes(&[EXIT, i(0x18, 1, 0, 0, 0)])),
        ];
        for (what, b) in cases {
            assert!(scan(b, false).is_err(), "{what}");
        }
    }

    #[test]
    fn rounding_rules() {
        use StackRounding::*;
        let cases = [
            (Interpreter32, 0, 32),
            (Interpreter32, 1, 32),
            (Interpreter32, 32, 32),
            (Interpreter32, 33, 64),
            (Jit16, 0, 0),
            (Jit16, 8, 16),
            (Jit16, 56, 64),
            (Jit16, 200, 208),
        ];
        for (r, depth, want) in cases {
            assert_eq!(r.round(depth), want, "{r} {depth}");
        }
        assert_eq!(StackRounding::for_kernel("6.18.0-rc1", true), Jit16);
        assert_eq!(StackRounding::for_kernel("6.9.0", true), Jit16);
        assert_eq!(
            StackRounding::for_kernel("6.8.12-generic", true),
            Interpreter32
        );
        assert_eq!(StackRounding::for_kernel("5.15.0", true), Interpreter32);
        assert_eq!(StackRounding::for_kernel("6.12.1", false), Interpreter32);
    }

    fn frame(name: &str, depth: u32, calls: &[usize]) -> StackFrame {
        StackFrame {
            name: name.into(),
            section: ".text".into(),
            offset: 0,
            depth,
            tail_call: false,
            calls: calls
                .iter()
                .map(|&c| StackCall {
                    insn_off: 0,
                    callee: c,
                    kind: CallKind::Call,
                })
                .collect(),
        }
    }

    fn graph(frames: Vec<StackFrame>) -> StackAnalysis {
        StackAnalysis::from_frames("p", "raw_tp", frames).unwrap()
    }

    #[test]
    fn worst_chains() {
        // p -> a -> c, p -> b; the worst chain differs with the rounding: empty frames count
        // 32 under the interpreter's rule.
        let g = graph(vec![
            frame("p", 56, &[1, 2]),
            frame("a", 200, &[3]),
            frame("b", 250, &[]),
            frame("c", 0, &[4]),
            frame("d", 0, &[]),
        ]);
        let cases = [
            (StackRounding::Jit16, "p 64 -> b 256 = 320"),
            (
                StackRounding::Interpreter32,
                "p 64 -> a 224 -> c 32 -> d 32 = 352",
            ),
        ];
        for (r, want) in cases {
            assert_eq!(g.worst_chain(r).to_string(), want, "{r}");
        }
        assert_eq!(g.max_frames(), 4);
        assert_eq!(g.depths(), vec![56, 200, 250, 0, 0]);
        assert_eq!(g.verifier_violation(StackRounding::Interpreter32), None);
    }

    #[test]
    fn verifier_walk_reports_first_failing_chain() {
        // Two failing chains; the verifier reports the first one its walk reaches, cut at
        // the frame that crosses the limit.
        let g = graph(vec![
            frame("p", 100, &[1, 2]),
            frame("a", 300, &[3]),
            frame("b", 480, &[]),
            frame("c", 200, &[]),
        ]);
        match g.verifier_violation(StackRounding::Jit16) {
            Some(StackViolation::CombinedStack { chain }) => {
                assert_eq!(chain.to_string(), "p 112 -> a 304 -> c 208 = 624");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            g.worst_chain(StackRounding::Jit16).to_string(),
            "p 112 -> a 304 -> c 208 = 624"
        );
        // With a larger budget only b's chain fails.
        let g2 = graph(vec![
            frame("p", 100, &[1, 2]),
            frame("a", 100, &[]),
            frame("b", 480, &[]),
        ]);
        match g2.verifier_violation(StackRounding::Jit16) {
            Some(StackViolation::CombinedStack { chain }) => {
                assert_eq!((chain.links.len(), chain.total), (2, 592));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn frame_and_tail_call_limits() {
        // A chain of 9 frames of 16 bytes: 144 bytes, but one frame too many.
        let mut frames: Vec<StackFrame> = (0..9)
            .map(|k| frame(&format!("f{k}"), 16, if k < 8 { &[0] } else { &[] }))
            .collect();
        for (k, f) in frames.iter_mut().enumerate().take(8) {
            f.calls[0].callee = k + 1;
        }
        let g = graph(frames.clone());
        assert_eq!(g.max_frames(), 9);
        match g.verifier_violation(StackRounding::Jit16) {
            Some(StackViolation::TooManyFrames { chain }) => assert_eq!(chain.len(), 9),
            other => panic!("{other:?}"),
        }
        let g8 = graph(
            frames[1..]
                .iter()
                .cloned()
                .map(|mut f| {
                    for c in &mut f.calls {
                        c.callee -= 1;
                    }
                    f
                })
                .collect(),
        );
        assert_eq!(g8.verifier_violation(StackRounding::Jit16), None);

        // A tail-calling subprogram under 256 bytes of callers is refused, under 240 it is not.
        let mut t = vec![
            frame("p", 128, &[1]),
            frame("a", 128, &[2]),
            frame("t", 8, &[]),
        ];
        t[2].tail_call = true;
        match graph(t.clone()).verifier_violation(StackRounding::Jit16) {
            Some(StackViolation::TailCall { chain, depth }) => {
                assert_eq!((chain.len(), depth), (3, 256));
            }
            other => panic!("{other:?}"),
        }
        t[1].depth = 112;
        assert_eq!(graph(t).verifier_violation(StackRounding::Jit16), None);
    }

    #[test]
    fn recursion_and_bad_callees_are_errors() {
        let e = StackAnalysis::from_frames(
            "p",
            "raw_tp",
            vec![
                frame("p", 8, &[1]),
                frame("a", 8, &[2]),
                frame("b", 8, &[1]),
            ],
        )
        .unwrap_err();
        match e {
            StackError::Recursion { cycle, .. } => assert_eq!(cycle, ["a", "b", "a"]),
            other => panic!("{other}"),
        }
        let e = StackAnalysis::from_frames("p", "raw_tp", vec![frame("p", 8, &[0])]).unwrap_err();
        assert!(matches!(e, StackError::Recursion { .. }), "{e}");
        let e = StackAnalysis::from_frames("p", "raw_tp", vec![frame("p", 8, &[3])]).unwrap_err();
        assert!(matches!(e, StackError::CallTarget { .. }), "{e}");
    }
}
