//! Programs and their attach kind, parsed from the ELF section name the way libbpf's
//! `section_defs` table does it (first match in table order wins).

use std::fmt;

/// A kernel BPF program type (`enum bpf_prog_type`), kept as its number so newer kernels'
/// types survive a round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProgType(pub u32);

macro_rules! numbered {
    ($ty:ident, $prefix:literal, [$(($konst:ident, $num:expr, $name:literal)),* $(,)?]) => {
        impl $ty {
            $(#[doc = concat!("`", $prefix, stringify!($konst), "`")] pub const $konst: $ty = $ty($num);)*
            /// libbpf's lower-case name of this value (as `bpftool` prints it), if known.
            pub fn name(self) -> Option<&'static str> {
                match self.0 { $($num => Some($name),)* _ => None }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() { Some(n) => f.write_str(n), None => write!(f, "unknown({})", self.0) }
            }
        }
    };
}

numbered!(
    ProgType,
    "BPF_PROG_TYPE_",
    [
        (UNSPEC, 0, "unspec"),
        (SOCKET_FILTER, 1, "socket_filter"),
        (KPROBE, 2, "kprobe"),
        (SCHED_CLS, 3, "sched_cls"),
        (SCHED_ACT, 4, "sched_act"),
        (TRACEPOINT, 5, "tracepoint"),
        (XDP, 6, "xdp"),
        (PERF_EVENT, 7, "perf_event"),
        (CGROUP_SKB, 8, "cgroup_skb"),
        (CGROUP_SOCK, 9, "cgroup_sock"),
        (LWT_IN, 10, "lwt_in"),
        (LWT_OUT, 11, "lwt_out"),
        (LWT_XMIT, 12, "lwt_xmit"),
        (SOCK_OPS, 13, "sock_ops"),
        (SK_SKB, 14, "sk_skb"),
        (CGROUP_DEVICE, 15, "cgroup_device"),
        (SK_MSG, 16, "sk_msg"),
        (RAW_TRACEPOINT, 17, "raw_tracepoint"),
        (CGROUP_SOCK_ADDR, 18, "cgroup_sock_addr"),
        (LWT_SEG6LOCAL, 19, "lwt_seg6local"),
        (LIRC_MODE2, 20, "lirc_mode2"),
        (SK_REUSEPORT, 21, "sk_reuseport"),
        (FLOW_DISSECTOR, 22, "flow_dissector"),
        (CGROUP_SYSCTL, 23, "cgroup_sysctl"),
        (RAW_TRACEPOINT_WRITABLE, 24, "raw_tracepoint_writable"),
        (CGROUP_SOCKOPT, 25, "cgroup_sockopt"),
        (TRACING, 26, "tracing"),
        (STRUCT_OPS, 27, "struct_ops"),
        (EXT, 28, "ext"),
        (LSM, 29, "lsm"),
        (SK_LOOKUP, 30, "sk_lookup"),
        (SYSCALL, 31, "syscall"),
        (NETFILTER, 32, "netfilter"),
    ]
);

/// A kernel attach type (`enum bpf_attach_type`), kept as its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttachType(pub u32);

numbered!(
    AttachType,
    "BPF_",
    [
        (CGROUP_INET_INGRESS, 0, "cgroup_inet_ingress"),
        (CGROUP_INET_EGRESS, 1, "cgroup_inet_egress"),
        (CGROUP_INET_SOCK_CREATE, 2, "cgroup_inet_sock_create"),
        (CGROUP_SOCK_OPS, 3, "cgroup_sock_ops"),
        (SK_SKB_STREAM_PARSER, 4, "sk_skb_stream_parser"),
        (SK_SKB_STREAM_VERDICT, 5, "sk_skb_stream_verdict"),
        (CGROUP_DEVICE, 6, "cgroup_device"),
        (SK_MSG_VERDICT, 7, "sk_msg_verdict"),
        (CGROUP_INET4_BIND, 8, "cgroup_inet4_bind"),
        (CGROUP_INET6_BIND, 9, "cgroup_inet6_bind"),
        (CGROUP_INET4_CONNECT, 10, "cgroup_inet4_connect"),
        (CGROUP_INET6_CONNECT, 11, "cgroup_inet6_connect"),
        (CGROUP_INET4_POST_BIND, 12, "cgroup_inet4_post_bind"),
        (CGROUP_INET6_POST_BIND, 13, "cgroup_inet6_post_bind"),
        (CGROUP_UDP4_SENDMSG, 14, "cgroup_udp4_sendmsg"),
        (CGROUP_UDP6_SENDMSG, 15, "cgroup_udp6_sendmsg"),
        (LIRC_MODE2, 16, "lirc_mode2"),
        (FLOW_DISSECTOR, 17, "flow_dissector"),
        (CGROUP_SYSCTL, 18, "cgroup_sysctl"),
        (CGROUP_UDP4_RECVMSG, 19, "cgroup_udp4_recvmsg"),
        (CGROUP_UDP6_RECVMSG, 20, "cgroup_udp6_recvmsg"),
        (CGROUP_GETSOCKOPT, 21, "cgroup_getsockopt"),
        (CGROUP_SETSOCKOPT, 22, "cgroup_setsockopt"),
        (TRACE_RAW_TP, 23, "trace_raw_tp"),
        (TRACE_FENTRY, 24, "trace_fentry"),
        (TRACE_FEXIT, 25, "trace_fexit"),
        (MODIFY_RETURN, 26, "modify_return"),
        (LSM_MAC, 27, "lsm_mac"),
        (TRACE_ITER, 28, "trace_iter"),
        (CGROUP_INET4_GETPEERNAME, 29, "cgroup_inet4_getpeername"),
        (CGROUP_INET6_GETPEERNAME, 30, "cgroup_inet6_getpeername"),
        (CGROUP_INET4_GETSOCKNAME, 31, "cgroup_inet4_getsockname"),
        (CGROUP_INET6_GETSOCKNAME, 32, "cgroup_inet6_getsockname"),
        (XDP_DEVMAP, 33, "xdp_devmap"),
        (CGROUP_INET_SOCK_RELEASE, 34, "cgroup_inet_sock_release"),
        (XDP_CPUMAP, 35, "xdp_cpumap"),
        (SK_LOOKUP, 36, "sk_lookup"),
        (XDP, 37, "xdp"),
        (SK_SKB_VERDICT, 38, "sk_skb_verdict"),
        (SK_REUSEPORT_SELECT, 39, "sk_reuseport_select"),
        (
            SK_REUSEPORT_SELECT_OR_MIGRATE,
            40,
            "sk_reuseport_select_or_migrate"
        ),
        (PERF_EVENT, 41, "perf_event"),
        (TRACE_KPROBE_MULTI, 42, "trace_kprobe_multi"),
        (LSM_CGROUP, 43, "lsm_cgroup"),
        (STRUCT_OPS, 44, "struct_ops"),
        (NETFILTER, 45, "netfilter"),
        (TCX_INGRESS, 46, "tcx_ingress"),
        (TCX_EGRESS, 47, "tcx_egress"),
        (TRACE_UPROBE_MULTI, 48, "trace_uprobe_multi"),
        (CGROUP_UNIX_CONNECT, 49, "cgroup_unix_connect"),
        (CGROUP_UNIX_SENDMSG, 50, "cgroup_unix_sendmsg"),
        (CGROUP_UNIX_RECVMSG, 51, "cgroup_unix_recvmsg"),
        (CGROUP_UNIX_GETPEERNAME, 52, "cgroup_unix_getpeername"),
        (CGROUP_UNIX_GETSOCKNAME, 53, "cgroup_unix_getsockname"),
        (NETKIT_PRIMARY, 54, "netkit_primary"),
        (NETKIT_PEER, 55, "netkit_peer"),
        (TRACE_KPROBE_SESSION, 56, "trace_kprobe_session"),
        (TRACE_UPROBE_SESSION, 57, "trace_uprobe_session"),
    ]
);

/// How a program attaches, from its ELF section name. Coarser than [`ProgType`] where the
/// attach API is the same (all cgroup hooks are [`AttachKind::Cgroup`]), finer where it differs
/// (kprobe vs kretprobe share a program type but not an attach call).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttachKind {
    /// `tracepoint/<category>/<name>`, `tp/...`
    Tracepoint,
    /// `raw_tracepoint/<name>`, `raw_tp/<name>` (and the writable `.w` variants)
    RawTracepoint,
    /// `tp_btf/<name>`: BTF-typed raw tracepoint
    TpBtf,
    /// `kprobe/<func>[+offset]`
    Kprobe,
    /// `kretprobe/<func>`
    Kretprobe,
    /// `kprobe.multi/<pattern>`, `kretprobe.multi/...`, `kprobe.session/...`
    KprobeMulti,
    /// `ksyscall/<syscall>`, `kretsyscall/<syscall>`
    Ksyscall,
    /// `uprobe[/<binary>:<func>[+offset]]` (and sleepable `uprobe.s`)
    Uprobe,
    /// `uretprobe[/...]` (and `uretprobe.s`)
    Uretprobe,
    /// `uprobe.multi`, `uretprobe.multi`, `uprobe.session` and sleepable variants
    UprobeMulti,
    /// `usdt[/<binary>:<provider>:<name>]`
    Usdt,
    /// `fentry/<func>` (and `fentry.s`)
    Fentry,
    /// `fexit/<func>` (and `fexit.s`)
    Fexit,
    /// `fmod_ret/<func>` (and `fmod_ret.s`)
    FmodRet,
    /// `freplace/<func>`
    Freplace,
    /// `lsm/<hook>`, `lsm.s/<hook>`
    Lsm,
    /// `lsm_cgroup/<hook>`
    LsmCgroup,
    /// `iter/<target>`, `iter.s/<target>`
    Iter,
    /// `perf_event`
    PerfEvent,
    /// `socket`
    Socket,
    /// `sk_reuseport[/migrate]`
    SkReuseport,
    /// `xdp`, `xdp.frags`, `xdp/devmap`, `xdp/cpumap`, ...
    Xdp,
    /// `tc`, `classifier`, `tc/ingress`, `tcx/*`, `netkit/*`
    Tc,
    /// `action`
    TcAction,
    /// `cgroup_skb/*`, `cgroup/*`: any cgroup hook
    Cgroup,
    /// `sockops`
    SockOps,
    /// `sk_skb[/...]`
    SkSkb,
    /// `sk_msg`
    SkMsg,
    /// `lwt_in`, `lwt_out`, `lwt_xmit`, `lwt_seg6local`
    Lwt,
    /// `lirc_mode2`
    LircMode2,
    /// `flow_dissector`
    FlowDissector,
    /// `sk_lookup`
    SkLookup,
    /// `netfilter`
    Netfilter,
    /// `struct_ops[/<member>]`, `struct_ops.s`
    StructOps,
    /// `syscall`
    Syscall,
    /// A section name no libbpf definition matches (libbpf refuses to load such a program).
    Unknown,
}

impl AttachKind {
    /// A short lower-case name, e.g. `"tp_btf"`, `"kretprobe"`.
    pub fn name(self) -> &'static str {
        use AttachKind::*;
        match self {
            Tracepoint => "tracepoint",
            RawTracepoint => "raw_tracepoint",
            TpBtf => "tp_btf",
            Kprobe => "kprobe",
            Kretprobe => "kretprobe",
            KprobeMulti => "kprobe_multi",
            Ksyscall => "ksyscall",
            Uprobe => "uprobe",
            Uretprobe => "uretprobe",
            UprobeMulti => "uprobe_multi",
            Usdt => "usdt",
            Fentry => "fentry",
            Fexit => "fexit",
            FmodRet => "fmod_ret",
            Freplace => "freplace",
            Lsm => "lsm",
            LsmCgroup => "lsm_cgroup",
            Iter => "iter",
            PerfEvent => "perf_event",
            Socket => "socket",
            SkReuseport => "sk_reuseport",
            Xdp => "xdp",
            Tc => "tc",
            TcAction => "tc_action",
            Cgroup => "cgroup",
            SockOps => "sockops",
            SkSkb => "sk_skb",
            SkMsg => "sk_msg",
            Lwt => "lwt",
            LircMode2 => "lirc_mode2",
            FlowDissector => "flow_dissector",
            SkLookup => "sk_lookup",
            Netfilter => "netfilter",
            StructOps => "struct_ops",
            Syscall => "syscall",
            Unknown => "unknown",
        }
    }
}

impl fmt::Display for AttachKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What libbpf's section table says about one section name.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionDef {
    /// The libbpf table entry that matched, e.g. `"tp_btf+"`, `"cgroup/connect4"`; `""` if none.
    pub pattern: &'static str,
    /// How the program attaches.
    pub kind: AttachKind,
    /// Kernel program type ([`ProgType::UNSPEC`] when unknown).
    pub prog_type: ProgType,
    /// Expected attach type given at load time, if the definition sets one.
    pub expected_attach_type: Option<AttachType>,
    /// Loaded with `BPF_F_SLEEPABLE` (`.s` variants, `syscall`).
    pub sleepable: bool,
    /// The attach target is looked up in kernel BTF by name (fentry, tp_btf, lsm, iter, ...).
    pub attach_btf: bool,
    /// The text after the first `/` (tracepoint `category/name`, function, hook, binary:func...).
    pub target: Option<String>,
    /// `false` when the section name starts with `?` (libbpf: not loaded unless the caller
    /// turns autoload on), e.g. an optional `?fentry/...` program with a fallback.
    pub autoload: bool,
}

const NONE: u8 = 0;
const SLEEPABLE: u8 = 1;
const ATTACH_BTF: u8 = 2;

struct Def {
    sec: &'static str,
    kind: AttachKind,
    prog: ProgType,
    attach: Option<AttachType>,
    flags: u8,
}

const fn d(
    sec: &'static str,
    kind: AttachKind,
    prog: ProgType,
    attach: Option<AttachType>,
    flags: u8,
) -> Def {
    Def {
        sec,
        kind,
        prog,
        attach,
        flags,
    }
}

// Same order as libbpf's section_defs: earlier entries win (e.g. "sk_reuseport/migrate" before
// "sk_reuseport", "tc/ingress" before "tc"). A trailing '+' means "exact or followed by '/'",
// a trailing '/' means "prefix", anything else must match exactly.
#[rustfmt::skip]
static DEFS: &[Def] = {
    use AttachKind as K;
    type P = ProgType;
    type A = AttachType;
    &[
    d("socket", K::Socket, P::SOCKET_FILTER, None, NONE),
    d("sk_reuseport/migrate", K::SkReuseport, P::SK_REUSEPORT, Some(A::SK_REUSEPORT_SELECT_OR_MIGRATE), NONE),
    d("sk_reuseport", K::SkReuseport, P::SK_REUSEPORT, Some(A::SK_REUSEPORT_SELECT), NONE),
    d("kprobe+", K::Kprobe, P::KPROBE, None, NONE),
    d("uprobe+", K::Uprobe, P::KPROBE, None, NONE),
    d("uprobe.s+", K::Uprobe, P::KPROBE, None, SLEEPABLE),
    d("kretprobe+", K::Kretprobe, P::KPROBE, None, NONE),
    d("uretprobe+", K::Uretprobe, P::KPROBE, None, NONE),
    d("uretprobe.s+", K::Uretprobe, P::KPROBE, None, SLEEPABLE),
    d("kprobe.multi+", K::KprobeMulti, P::KPROBE, Some(A::TRACE_KPROBE_MULTI), NONE),
    d("kretprobe.multi+", K::KprobeMulti, P::KPROBE, Some(A::TRACE_KPROBE_MULTI), NONE),
    d("kprobe.session+", K::KprobeMulti, P::KPROBE, Some(A::TRACE_KPROBE_SESSION), NONE),
    d("uprobe.multi+", K::UprobeMulti, P::KPROBE, Some(A::TRACE_UPROBE_MULTI), NONE),
    d("uretprobe.multi+", K::UprobeMulti, P::KPROBE, Some(A::TRACE_UPROBE_MULTI), NONE),
    d("uprobe.session+", K::UprobeMulti, P::KPROBE, Some(A::TRACE_UPROBE_SESSION), NONE),
    d("uprobe.multi.s+", K::UprobeMulti, P::KPROBE, Some(A::TRACE_UPROBE_MULTI), SLEEPABLE),
    d("uretprobe.multi.s+", K::UprobeMulti, P::KPROBE, Some(A::TRACE_UPROBE_MULTI), SLEEPABLE),
    d("uprobe.session.s+", K::UprobeMulti, P::KPROBE, Some(A::TRACE_UPROBE_SESSION), SLEEPABLE),
    d("ksyscall+", K::Ksyscall, P::KPROBE, None, NONE),
    d("kretsyscall+", K::Ksyscall, P::KPROBE, None, NONE),
    d("usdt+", K::Usdt, P::KPROBE, None, NONE),
    d("usdt.s+", K::Usdt, P::KPROBE, None, SLEEPABLE),
    d("tc/ingress", K::Tc, P::SCHED_CLS, Some(A::TCX_INGRESS), NONE),
    d("tc/egress", K::Tc, P::SCHED_CLS, Some(A::TCX_EGRESS), NONE),
    d("tcx/ingress", K::Tc, P::SCHED_CLS, Some(A::TCX_INGRESS), NONE),
    d("tcx/egress", K::Tc, P::SCHED_CLS, Some(A::TCX_EGRESS), NONE),
    d("netkit/primary", K::Tc, P::SCHED_CLS, Some(A::NETKIT_PRIMARY), NONE),
    d("netkit/peer", K::Tc, P::SCHED_CLS, Some(A::NETKIT_PEER), NONE),
    d("tc", K::Tc, P::SCHED_CLS, None, NONE),
    d("classifier", K::Tc, P::SCHED_CLS, None, NONE),
    d("action", K::TcAction, P::SCHED_ACT, None, NONE),
    d("tracepoint+", K::Tracepoint, P::TRACEPOINT, None, NONE),
    d("tp+", K::Tracepoint, P::TRACEPOINT, None, NONE),
    d("raw_tracepoint+", K::RawTracepoint, P::RAW_TRACEPOINT, None, NONE),
    d("raw_tp+", K::RawTracepoint, P::RAW_TRACEPOINT, None, NONE),
    d("raw_tracepoint.w+", K::RawTracepoint, P::RAW_TRACEPOINT_WRITABLE, None, NONE),
    d("raw_tp.w+", K::RawTracepoint, P::RAW_TRACEPOINT_WRITABLE, None, NONE),
    d("tp_btf+", K::TpBtf, P::TRACING, Some(A::TRACE_RAW_TP), ATTACH_BTF),
    d("fentry+", K::Fentry, P::TRACING, Some(A::TRACE_FENTRY), ATTACH_BTF),
    d("fmod_ret+", K::FmodRet, P::TRACING, Some(A::MODIFY_RETURN), ATTACH_BTF),
    d("fexit+", K::Fexit, P::TRACING, Some(A::TRACE_FEXIT), ATTACH_BTF),
    d("fentry.s+", K::Fentry, P::TRACING, Some(A::TRACE_FENTRY), ATTACH_BTF | SLEEPABLE),
    d("fmod_ret.s+", K::FmodRet, P::TRACING, Some(A::MODIFY_RETURN), ATTACH_BTF | SLEEPABLE),
    d("fexit.s+", K::Fexit, P::TRACING, Some(A::TRACE_FEXIT), ATTACH_BTF | SLEEPABLE),
    d("freplace+", K::Freplace, P::EXT, None, ATTACH_BTF),
    d("lsm+", K::Lsm, P::LSM, Some(A::LSM_MAC), ATTACH_BTF),
    d("lsm.s+", K::Lsm, P::LSM, Some(A::LSM_MAC), ATTACH_BTF | SLEEPABLE),
    d("lsm_cgroup+", K::LsmCgroup, P::LSM, Some(A::LSM_CGROUP), ATTACH_BTF),
    d("iter+", K::Iter, P::TRACING, Some(A::TRACE_ITER), ATTACH_BTF),
    d("iter.s+", K::Iter, P::TRACING, Some(A::TRACE_ITER), ATTACH_BTF | SLEEPABLE),
    d("syscall", K::Syscall, P::SYSCALL, None, SLEEPABLE),
    d("xdp.frags/devmap", K::Xdp, P::XDP, Some(A::XDP_DEVMAP), NONE),
    d("xdp/devmap", K::Xdp, P::XDP, Some(A::XDP_DEVMAP), NONE),
    d("xdp.frags/cpumap", K::Xdp, P::XDP, Some(A::XDP_CPUMAP), NONE),
    d("xdp/cpumap", K::Xdp, P::XDP, Some(A::XDP_CPUMAP), NONE),
    d("xdp.frags", K::Xdp, P::XDP, Some(A::XDP), NONE),
    d("xdp", K::Xdp, P::XDP, Some(A::XDP), NONE),
    d("perf_event", K::PerfEvent, P::PERF_EVENT, None, NONE),
    d("lwt_in", K::Lwt, P::LWT_IN, None, NONE),
    d("lwt_out", K::Lwt, P::LWT_OUT, None, NONE),
    d("lwt_xmit", K::Lwt, P::LWT_XMIT, None, NONE),
    d("lwt_seg6local", K::Lwt, P::LWT_SEG6LOCAL, None, NONE),
    d("sockops", K::SockOps, P::SOCK_OPS, Some(A::CGROUP_SOCK_OPS), NONE),
    d("sk_skb/stream_parser", K::SkSkb, P::SK_SKB, Some(A::SK_SKB_STREAM_PARSER), NONE),
    d("sk_skb/stream_verdict", K::SkSkb, P::SK_SKB, Some(A::SK_SKB_STREAM_VERDICT), NONE),
    d("sk_skb/verdict", K::SkSkb, P::SK_SKB, Some(A::SK_SKB_VERDICT), NONE),
    d("sk_skb", K::SkSkb, P::SK_SKB, None, NONE),
    d("sk_msg", K::SkMsg, P::SK_MSG, Some(A::SK_MSG_VERDICT), NONE),
    d("lirc_mode2", K::LircMode2, P::LIRC_MODE2, Some(A::LIRC_MODE2), NONE),
    d("flow_dissector", K::FlowDissector, P::FLOW_DISSECTOR, Some(A::FLOW_DISSECTOR), NONE),
    d("cgroup_skb/ingress", K::Cgroup, P::CGROUP_SKB, Some(A::CGROUP_INET_INGRESS), NONE),
    d("cgroup_skb/egress", K::Cgroup, P::CGROUP_SKB, Some(A::CGROUP_INET_EGRESS), NONE),
    d("cgroup/skb", K::Cgroup, P::CGROUP_SKB, None, NONE),
    d("cgroup/sock_create", K::Cgroup, P::CGROUP_SOCK, Some(A::CGROUP_INET_SOCK_CREATE), NONE),
    d("cgroup/sock_release", K::Cgroup, P::CGROUP_SOCK, Some(A::CGROUP_INET_SOCK_RELEASE), NONE),
    d("cgroup/sock", K::Cgroup, P::CGROUP_SOCK, Some(A::CGROUP_INET_SOCK_CREATE), NONE),
    d("cgroup/post_bind4", K::Cgroup, P::CGROUP_SOCK, Some(A::CGROUP_INET4_POST_BIND), NONE),
    d("cgroup/post_bind6", K::Cgroup, P::CGROUP_SOCK, Some(A::CGROUP_INET6_POST_BIND), NONE),
    d("cgroup/bind4", K::Cgroup, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_INET4_BIND), NONE),
    d("cgroup/bind6", K::Cgroup, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_INET6_BIND), NONE),
    d("cgroup/connect4", K::Cgroup, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_INET4_CONNECT), NONE),
    d("cgroup/connect6", K::Cgroup, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_INET6_CONNECT), NONE),
    d("cgroup/connect_unix", K::Cgroup, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_UNIX_CONNECT), NONE),
    d("cgroup/sendmsg4", K::Cgroup, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_UDP4_SENDMSG), NONE),
    d("cgroup/sendmsg6", K::Cgroup, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_UDP6_SENDMSG), NONE),
    d("cgroup/sendmsg_unix", K::Cgroup, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_UNIX_SENDMSG), NONE),
    d("cgroup/recvmsg4", K::Cgroup, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_UDP4_RECVMSG), NONE),
    d("cgroup/recvmsg6", K::Cgroup, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_UDP6_RECVMSG), NONE),
    d("cgroup/recvmsg_unix", K::Cgroup, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_UNIX_RECVMSG), NONE),
    d("cgroup/getpeername4", K::Cgroup, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_INET4_GETPEERNAME), NONE),
    d("cgroup/getpeername6", K::Cgroup, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_INET6_GETPEERNAME), NONE),
    d("cgroup/getpeername_unix", K::Cgroup, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_UNIX_GETPEERNAME), NONE),
    d("cgroup/getsockname4", K::Cgroup, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_INET4_GETSOCKNAME), NONE),
    d("cgroup/getsockname6", K::Cgroup, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_INET6_GETSOCKNAME), NONE),
    d("cgroup/getsockname_unix", K::Cgroup, P::CGROUP_SOCK_ADDR, Some(A::CGROUP_UNIX_GETSOCKNAME), NONE),
    d("cgroup/sysctl", K::Cgroup, P::CGROUP_SYSCTL, Some(A::CGROUP_SYSCTL), NONE),
    d("cgroup/getsockopt", K::Cgroup, P::CGROUP_SOCKOPT, Some(A::CGROUP_GETSOCKOPT), NONE),
    d("cgroup/setsockopt", K::Cgroup, P::CGROUP_SOCKOPT, Some(A::CGROUP_SETSOCKOPT), NONE),
    d("cgroup/dev", K::Cgroup, P::CGROUP_DEVICE, Some(A::CGROUP_DEVICE), NONE),
    d("struct_ops+", K::StructOps, P::STRUCT_OPS, None, NONE),
    d("struct_ops.s+", K::StructOps, P::STRUCT_OPS, None, SLEEPABLE),
    d("sk_lookup", K::SkLookup, P::SK_LOOKUP, Some(A::SK_LOOKUP), NONE),
    d("netfilter", K::Netfilter, P::NETFILTER, Some(A::NETFILTER), NONE),
    ]
};

fn matches(pattern: &str, sec: &str) -> bool {
    if pattern.ends_with('/') {
        return sec.starts_with(pattern);
    }
    if let Some(stem) = pattern.strip_suffix('+') {
        return match sec.strip_prefix(stem) {
            Some(rest) => rest.is_empty() || rest.starts_with('/'),
            None => false,
        };
    }
    pattern == sec
}

impl SectionDef {
    /// Classifies an ELF section name with libbpf's rules.
    ///
    /// ```
    /// use tracee_bpf_obj::elf::{AttachKind, SectionDef};
    /// let d = SectionDef::parse("tp_btf/sched_process_fork");
    /// assert_eq!(d.kind, AttachKind::TpBtf);
    /// assert_eq!(d.target.as_deref(), Some("sched_process_fork"));
    /// assert_eq!(SectionDef::parse("kprobe.multi").kind, AttachKind::KprobeMulti);
    /// assert_eq!(SectionDef::parse("kprobes/foo").kind, AttachKind::Unknown);
    /// ```
    pub fn parse(section: &str) -> SectionDef {
        let (section, autoload) = match section.strip_prefix('?') {
            Some(rest) => (rest, false),
            None => (section, true),
        };
        let target = section
            .split_once('/')
            .map(|(_, t)| t.to_string())
            .filter(|t| !t.is_empty());
        match DEFS.iter().find(|d| matches(d.sec, section)) {
            Some(def) => SectionDef {
                pattern: def.sec,
                kind: def.kind,
                prog_type: def.prog,
                expected_attach_type: def.attach,
                sleepable: def.flags & SLEEPABLE != 0,
                attach_btf: def.flags & ATTACH_BTF != 0,
                target,
                autoload,
            },
            None => SectionDef {
                pattern: "",
                kind: AttachKind::Unknown,
                prog_type: ProgType::UNSPEC,
                expected_attach_type: None,
                sleepable: false,
                attach_btf: false,
                target,
                autoload,
            },
        }
    }

    /// For `tracepoint/<category>/<name>` (or `tp/...`): the category and the event name.
    pub fn tracepoint(&self) -> Option<(&str, &str)> {
        if self.kind != AttachKind::Tracepoint {
            return None;
        }
        self.target.as_deref()?.split_once('/')
    }

    /// For `kprobe/<func>[+offset]` and `kretprobe/<func>`: the function and the offset.
    pub fn kprobe(&self) -> Option<(&str, u64)> {
        if !matches!(self.kind, AttachKind::Kprobe | AttachKind::Kretprobe) {
            return None;
        }
        let t = self.target.as_deref()?;
        match t.split_once('+') {
            Some((func, off)) => Some((func, parse_offset(off)?)),
            None => Some((t, 0)),
        }
    }

    /// For `uprobe/<binary>:<func>[+offset]` (and uretprobe): binary path, function, offset.
    /// Binary paths may contain ':', so the function is taken after the last ':'.
    pub fn uprobe(&self) -> Option<UprobeTarget<'_>> {
        if !matches!(self.kind, AttachKind::Uprobe | AttachKind::Uretprobe) {
            return None;
        }
        let t = self.target.as_deref()?;
        let (binary, rest) = t.rsplit_once(':')?;
        let (func, offset) = match rest.split_once('+') {
            Some((f, off)) => (f, parse_offset(off)?),
            None => (rest, 0),
        };
        Some(UprobeTarget {
            binary,
            func,
            offset,
        })
    }
}

/// The parts of a `uprobe/<binary>:<func>[+offset]` section name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UprobeTarget<'a> {
    /// Path or library name of the probed binary.
    pub binary: &'a str,
    /// Symbol name (may be empty when only an offset is given).
    pub func: &'a str,
    /// Offset added to the symbol.
    pub offset: u64,
}

fn parse_offset(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// One BPF program of the object: a function symbol in an executable section other than
/// `.text` (functions in `.text` are subprograms, called from programs).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// Symbol name: what libbpf and `bpftool prog` call the program.
    pub name: String,
    /// ELF section name, e.g. `"tp_btf/sched_process_fork"`.
    pub section: String,
    /// ELF section index.
    pub section_index: usize,
    /// Byte offset of the first instruction inside the section.
    pub offset: u64,
    /// Number of 8-byte instructions (wide `ld_imm64` counts as two).
    pub insn_count: usize,
    /// `true` for `STB_GLOBAL`/`STB_WEAK` symbols, `false` for `static` programs.
    pub global: bool,
    /// What libbpf's section table says.
    pub def: SectionDef,
}

impl Program {
    /// How this program attaches.
    pub fn attach_kind(&self) -> AttachKind {
        self.def.kind
    }
}

/// A function symbol in an executable section: a program or a subprogram. Used to map
/// `.BTF.ext` records (which carry section + instruction offset) to a function name.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Symbol name.
    pub name: String,
    /// ELF section index.
    pub section_index: usize,
    /// Byte offset of the first instruction inside the section.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_order_and_separators() {
        // "+" entries accept exact names and "/" only.
        assert_eq!(SectionDef::parse("kprobe").kind, AttachKind::Kprobe);
        assert_eq!(SectionDef::parse("kprobe/x").kind, AttachKind::Kprobe);
        assert_eq!(SectionDef::parse("kprobex").kind, AttachKind::Unknown);
        assert_eq!(SectionDef::parse("uprobe.s/bin:f").kind, AttachKind::Uprobe);
        assert!(SectionDef::parse("uprobe.s/bin:f").sleepable);
        assert_eq!(
            SectionDef::parse("uprobe.multi.s/x").kind,
            AttachKind::UprobeMulti
        );
        // exact entries reject suffixes.
        assert_eq!(SectionDef::parse("socket1").kind, AttachKind::Unknown);
        assert_eq!(
            SectionDef::parse("perf_event_output").kind,
            AttachKind::Unknown
        );
        // earlier, more specific entries win.
        let m = SectionDef::parse("sk_reuseport/migrate");
        assert_eq!(
            m.expected_attach_type,
            Some(AttachType::SK_REUSEPORT_SELECT_OR_MIGRATE)
        );
        assert_eq!(
            SectionDef::parse("tc/ingress").expected_attach_type,
            Some(AttachType::TCX_INGRESS)
        );
        assert_eq!(SectionDef::parse("tc").expected_attach_type, None);
        assert_eq!(
            SectionDef::parse("raw_tp.w/x").prog_type,
            ProgType::RAW_TRACEPOINT_WRITABLE
        );
        let s = SectionDef::parse("syscall");
        assert!(s.sleepable && s.prog_type == ProgType::SYSCALL && s.autoload);
        // A leading '?' turns autoload off and is not part of the name that is matched.
        let opt = SectionDef::parse("?fentry/do_unlinkat");
        assert_eq!((opt.kind, opt.autoload), (AttachKind::Fentry, false));
        assert_eq!(opt.target.as_deref(), Some("do_unlinkat"));
    }

    #[test]
    fn targets() {
        let t = SectionDef::parse("tracepoint/syscalls/sys_enter_openat");
        assert_eq!(t.tracepoint(), Some(("syscalls", "sys_enter_openat")));
        assert_eq!(
            SectionDef::parse("kprobe/do_sys_open+0x10").kprobe(),
            Some(("do_sys_open", 16))
        );
        let u = SectionDef::parse("uprobe//usr/lib/libc.so.6:malloc+4");
        assert_eq!(
            u.uprobe(),
            Some(UprobeTarget {
                binary: "/usr/lib/libc.so.6",
                func: "malloc",
                offset: 4
            })
        );
        assert_eq!(SectionDef::parse("uretprobe").uprobe(), None);
        assert_eq!(SectionDef::parse("xdp/").target, None);
    }
}
