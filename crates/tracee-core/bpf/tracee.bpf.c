// SPDX-License-Identifier: GPL-2.0
/*
 * The tracee-rs tracer: generic syscall tracing and process lifecycle events, emitted into
 * the `events` ring buffer in the format of docs/wire-format.md.
 *
 *  - tp_btf/sys_exit (tracee_sys_exit_regs) emits a *selected* syscall (per-syscall config in
 *    `tr_syscalls`, filled by userspace from the event catalog) with its return value: it
 *    takes the number and the six argument registers from the task's saved registers, and
 *    reads the strings, string arrays and buffers they point to (at exit: at entry the user
 *    pages may not be faulted in yet).
 *  - raw_tp/sys_enter is attached only for what must be read at entry: execve/execveat
 *    (flag CAPTURE_AT_ENTRY; after a successful exec the old address space is gone, so their
 *    arguments are read at entry into a per-thread buffer, `tr_entry_bufs`, and emitted at
 *    exit with the return value) and exit/exit_group (flag EMIT_AT_ENTRY: they never
 *    return). What it saves for the exit is in `tr_pending`, a task-storage map.
 *  - Where tp_btf/sys_exit cannot attach, raw_tp/sys_enter saves every selected syscall and
 *    raw_tp/sys_exit (tracee_sys_exit) emits it: the pair Tracee uses.
 *  - tp_btf/sched_process_{exec,fork,exit} emit lifecycle events; raw_tp copies of the same
 *    programs are the fallback where tp_btf cannot attach.
 *  - The tracer's own process (tgid in `tr_config`) is skipped here, in the kernel, so the
 *    tracer never traces itself reading events. Events the ring buffer has no room for are
 *    counted per CPU in `tracee_drops` (tracee/buffers.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "tracee/buffers.h"
#include "tracee_types.h"

char LICENSE[] SEC("license") = "GPL";

#define TR_WIRE_VERSION 1
#define TR_MAX_SYSCALLS 1024
#define TR_MAX_ARGS 6
#define TR_LIFE_SLOTS 32
#define TR_BUF_SIZE 16384
#define TR_STR_MAX 4096
#define TR_BYTES_MAX 4096
#define TR_OFF_MAX (TR_BUF_SIZE - TR_STR_MAX - 64)
#define TR_ARR_MAX 128

/* Argument classes: how an argument is read (config) and laid out (wire). */
#define TR_CLASS_NONE 0
#define TR_CLASS_U64 1      /* 8 bytes */
#define TR_CLASS_STR 2      /* u32 len + bytes */
#define TR_CLASS_STR_ARR 3  /* u16 count, u8 truncated, u8 0, then count strings */
#define TR_CLASS_BYTES 4    /* u32 len + bytes */
#define TR_CLASS_SOCKADDR 5 /* config only: emitted as BYTES */
#define TR_CLASS_INT4 6     /* low 4 bytes of the register */
#define TR_CLASS_INT2 7     /* low 2 bytes */
#define TR_CLASS_INT1 8     /* low byte */
#define TR_CLASS_INT_PAIR 9 /* two ints read from the user pointer at exit (pipe's fds) */
#define TR_CLASS_MASK 0x0f
#define TR_LEN_RETVAL 0x10 /* BYTES: length also bounded by a non-negative return value */

/* tr_event_cfg.flags */
#define TR_EV_CAPTURE_AT_ENTRY 1
#define TR_EV_EMIT_AT_ENTRY 2

/* tr_header.flags */
#define TR_HDR_TRUNCATED 1
#define TR_HDR_ARGS_AT_ENTRY 2
#define TR_HDR_NO_RETURN 4

/* Lifecycle slots of tr_lifecycle. */
#define TR_LIFE_EXEC 0
#define TR_LIFE_FORK 1
#define TR_LIFE_EXIT 2
#define TR_LIFE_SKIP 0xff

struct tr_arg_cfg {
	u8 class;   /* TR_CLASS_* | TR_LEN_RETVAL */
	u8 type;    /* the catalog's ArgType wire code, copied into the event */
	u8 index;   /* the argument's position in the event definition */
	u8 len_arg; /* BYTES: the argument register holding the length */
};

struct tr_event_cfg {
	u64 policies; /* matched-policies bitmap; 0 = event not selected */
	u32 event_id;
	u32 flags;
	struct tr_arg_cfg args[TR_MAX_ARGS];
};

struct tr_life_cfg {
	u64 policies;
	u32 event_id;
	u32 flags;
	u8 index[TR_LIFE_SLOTS]; /* per BPF slot: position in the definition, or TR_LIFE_SKIP */
	u8 type[TR_LIFE_SLOTS];  /* per BPF slot: ArgType wire code */
};

struct tr_config {
	u32 tracer_tgid;
	u32 flags; /* TR_CFG_* */
};

/* tr_config.flags: tracee_sys_exit_regs is attached (tracee_sys_enter saves entry events only) */
#define TR_CFG_EXIT_READS_REGS 1

/*
 * A task's last scope verdict (filters.bpf.h, tr_f_judge): valid while the policies version,
 * uid, exec generation and (if a policy filters on it) comm are those it was computed with.
 * Only kept when no policy uses a scope kind that can change under a running task without
 * those changing (mount/pid/uts namespace, container).
 */
struct tr_scope_cache {
	u32 version; /* 0: empty */
	u32 uid;
	u64 exec_id;
	u64 task_bits;   /* scope verdict | followed & follow */
	u64 ev_policies; /* tr_f_events of ev_event + 1 under `version` */
	u32 ev_event;    /* event id + 1 (0: none) */
	u32 ev_str_args;
	u32 check_comm;
	u32 pad;
	char comm[16];
};

/*
 * The header's pid-namespace numbers of a task (tr_fill_task), read with probe reads, kept
 * while the pointers they were read through are the same: the task's own struct pid (changes
 * only when a non-leader thread execs and takes the leader's), its group leader's, and its
 * parent's group leader with that task's start time (a reparented task gets another parent;
 * the start time tells a new task at a reused address apart).
 */
struct tr_task_cache {
	u64 thread_pid; /* 0: empty */
	u64 leader_pid;
	u64 pleader;
	u64 pleader_start;
	u32 ns_tid;
	u32 ns_pid;
	u32 ns_ppid;
	u32 pid_ns;
};

/*
 * A scope judgement of filters.bpf.h: tr_f_judge decides event selection and scope,
 * tr_f_finish applies the string data filters once the arguments are read, under the same
 * policies version (one judgement per event). Two calls, not one: the data filters' call
 * chain, the program's deepest, then never stacks on the judge's frame (the BPF stack is 512
 * bytes for a whole call chain; docs/architecture.md, "Stack budget").
 */
struct tr_f_verdict {
	u64 policies; /* selected and in scope (0: dropped) */
	u32 version;  /* the policies version judged under (0: no filters) */
	u32 str_args; /* string arguments with data filters, for tr_f_finish */
};

/* Per-thread state between sys_enter and sys_exit (task storage of tr_pending). */
struct tr_saved {
	struct tr_scope_cache scope;
	struct tr_task_cache task;
	u64 args[TR_MAX_ARGS];
	u64 ts;
	u32 nr;
	u32 size;    /* CAPTURE_AT_ENTRY: bytes already in the entry buffer */
	u32 pending; /* sys_enter saved a selected syscall that sys_exit has not emitted yet */
	/*
	 * CAPTURE_AT_ENTRY: the tr_entry_bufs key (the tid at entry). Not the tid at exit: an
	 * execve by a non-leader thread returns with the leader's tid (de_thread).
	 */
	u32 entry_tid;
	/* tr_f_judge's verdict on the saved syscall, completed by tr_f_finish at exit */
	struct tr_f_verdict judged;
};

struct tr_header {
	u8 version;
	u8 flags;
	u8 argnum;
	u8 policies_version; /* low byte of the policies version that judged it (tr_f_finish) */
	u32 event_id;
	u64 ts;
	u64 start_time;
	u64 cgroup_id;
	u64 policies;
	s64 retval;
	u32 pid;
	u32 tid;
	u32 ppid;
	u32 ns_pid;
	u32 ns_tid;
	u32 ns_ppid;
	u32 uid;
	u32 gid;
	u32 mnt_ns;
	u32 pid_ns;
	s32 syscall;
	u32 cpu;
	char comm[16];
	char uts_name[16];
};

_Static_assert(sizeof(struct tr_header) == 128, "wire header is 128 bytes");
_Static_assert(sizeof(struct tr_event_cfg) == 40, "tr_event_cfg is 40 bytes");
_Static_assert(sizeof(struct tr_life_cfg) == 80, "tr_life_cfg is 80 bytes");

struct tr_buf {
	u8 data[TR_BUF_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TR_MAX_SYSCALLS);
	__type(key, u32);
	__type(value, struct tr_event_cfg);
} tr_syscalls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, struct tr_life_cfg);
} tr_lifecycle SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct tr_config);
} tr_config SEC(".maps");

/*
 * Task storage, not a hash keyed by tid: one pointer walk instead of a hash update at every
 * selected entry and a lookup + delete at every exit; never evicted under load; follows the
 * task through an exec that changes its tid; freed by the kernel with the task.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, 1 /* BPF_F_NO_PREALLOC, required */);
	__type(key, int);
	__type(value, struct tr_saved);
} tr_pending SEC(".maps");

#define TR_STORAGE_CREATE 1 /* BPF_LOCAL_STORAGE_GET_F_CREATE */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256);
	__type(key, u32);
	__type(value, struct tr_buf);
} tr_entry_bufs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct tr_buf);
} tr_scratch SEC(".maps");

static __always_inline bool tr_is_tracer(u64 pid_tgid)
{
	u32 zero = 0;
	struct tr_config *c = bpf_map_lookup_elem(&tr_config, &zero);

	return c && c->tracer_tgid == (u32)(pid_tgid >> 32);
}

/* The syscall number in a task's saved registers (-1 outside a syscall). */
static __always_inline u32 tr_regs_syscall(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return BPF_CORE_READ(regs, orig_ax);
#elif defined(__TARGET_ARCH_arm64)
	return BPF_CORE_READ(regs, syscallno);
#else
	return -1;
#endif
}

/*
 * Never attached: userspace runs it with BPF_PROG_TEST_RUN, which runs a raw_tp program in
 * the calling task, to learn what the kernel calls the tracer. A tracer in its own pid
 * namespace (a container without hostPID) sees other numbers in getpid() and /proc.
 * ctx->args[0] picks the answer: 0 the caller's host tgid (tr_config.tracer_tgid), 1 the
 * initial pid namespace's inode number (level 0 of the caller's struct pid: every task has
 * a number in it), which tells tasks in a container apart (`container` scope filter), 2 the
 * caller's pid namespace level (0: the initial one), which tells whether /proc shows host
 * pids.
 */
SEC("raw_tp")
int tracee_self(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct___tr *t = (void *)bpf_get_current_task();

	if (ctx->args[0] == 1)
		return BPF_CORE_READ(t, thread_pid, numbers[0].ns, ns.inum);
	if (ctx->args[0] == 2)
		return BPF_CORE_READ(t, thread_pid, level);
	return bpf_get_current_pid_tgid() >> 32;
}

/* tr_compat_syscall through a raw pointer, for raw_tp/sys_enter on arm64 (x86 checks its frame copy). */
static __always_inline __attribute__((unused)) bool tr_is_compat(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return BPF_CORE_READ(regs, cs) == 0x23; /* __USER32_CS */
#elif defined(__TARGET_ARCH_arm64)
	return BPF_CORE_READ(regs, pstate) & 0x10; /* PSR_MODE32_BIT */
#else
	return false;
#endif
}

/* The task's pid in its own pid namespace. */
static __always_inline u32 tr_ns_nr(struct task_struct___tr *t)
{
	struct pid___tr *pid = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);

	return BPF_CORE_READ(pid, numbers[level].nr);
}

static __always_inline u32 tr_pid_ns(struct task_struct___tr *t)
{
	struct pid___tr *pid = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);

	return BPF_CORE_READ(pid, numbers[level].ns, ns.inum);
}

/*
 * bpf_get_current_uid_gid() without the helper call: the current task's subjective ids as
 * loads through its BTF pointer. The helper maps them through init_user_ns, the identity, so
 * the values are the same; the call cost more than the rest of the header (the map walk).
 */
static __always_inline u64 tr_task_uid_gid(struct task_struct___tr *t)
{
	const struct cred___tr *c = t->cred;

	return (u64)c->gid.val << 32 | c->uid.val;
}

/*
 * bpf_get_current_comm() without the helper call: two 8-byte loads. The kernel keeps comm
 * NUL-padded; the last byte is forced to NUL as the helper does.
 */
static __always_inline void tr_task_comm(struct task_struct___tr *t, char *dst)
{
	*(u64 *)&dst[0] = *(u64 *)&t->comm[0];
	*(u64 *)&dst[8] = *(u64 *)&t->comm[8];
	dst[15] = 0;
}

#include "filters.bpf.h"

#define TR_TS_COMPAT 0x0002 /* x86 thread_info.status: in a 32-bit syscall */

/*
 * x86: the current task is in a 32-bit syscall. The kernel sets TS_COMPAT at every 32-bit
 * syscall entry (a compat task's, and a 64-bit task's `int $0x80`) and clears it on the way
 * back to user mode.
 */
static __always_inline __attribute__((unused)) bool tr_ts_compat(void)
{
#if defined(__TARGET_ARCH_x86)
	struct task_struct___tr *t = (void *)bpf_get_current_task_btf();

	return t->thread_info.status & TR_TS_COMPAT;
#else
	return false;
#endif
}

/*
 * Whether the current syscall is a 32-bit one, whose number is another table's and whose
 * arguments are in other registers: a compat task's, or a 64-bit task's `int $0x80`, which
 * its code segment does not show (i386 open is 5, x86_64's fstat: the classic way past a
 * tracer that reads the number as a 64-bit one). `regs`: a BTF pointer; tracee_sys_enter
 * makes the same check on its copy of the register frame.
 */
static __always_inline bool tr_compat_syscall(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return regs->cs == 0x23 /* __USER32_CS */ || tr_ts_compat();
#elif defined(__TARGET_ARCH_arm64)
	return regs->pstate & 0x10; /* PSR_MODE32_BIT: AArch32 has no other way in */
#else
	return false;
#endif
}

/*
 * The syscall number in saved user registers reached through a BTF pointer (plain loads;
 * tr_regs_syscall is the probe-read twin for raw_tp's untyped pointer), -1 outside one.
 */
static __always_inline s32 tr_syscall_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return (s32)regs->orig_ax;
#elif defined(__TARGET_ARCH_arm64)
	return regs->syscallno;
#else
	return -1;
#endif
}

/*
 * The syscall the current task is in (Tracee's context.syscall for lifecycle events: execve
 * for exec, clone/fork/vfork/clone3 for fork, exit/exit_group for exit), -1 outside one or
 * in a 32-bit one (another table's number).
 */
static __always_inline s32 tr_current_syscall(void)
{
	struct pt_regs *regs = (void *)bpf_task_pt_regs(bpf_get_current_task_btf());

	return regs && !tr_compat_syscall(regs) ? tr_syscall_nr(regs) : -1;
}

/* The task's pid in its own pid namespace (`pid` is its thread_pid). */
static __always_inline u32 tr_pid_nr(struct pid___tr *pid)
{
	unsigned int level = pid->level;

	return BPF_CORE_READ(pid, numbers[level].nr);
}

#define TR_SYSCALL_CURRENT (-2) /* tr_fill_header: take the syscall from the task's registers */

/*
 * The task part of the header (everything but the per-event fields tr_fill_header writes).
 * Task fields are plain loads through the BTF pointer of the current task (the verifier turns
 * them into fault-safe loads), much cheaper than one probe-read helper call per field; only
 * the variable-index pid-namespace lookups use CO-RE probe reads.
 *
 * A global function, so the verifier checks it once per program: inlined, every path that
 * reaches it re-checked each BTF pointer walk, and each check searches the kernel's BTF by
 * name (btf_nested_type_is_trusted), which made loading the object take seconds.
 */
__noinline int tr_fill_task(struct tr_buf *b, struct tr_task_cache *tc)
{
	struct tr_header *h;
	struct task_struct___tr *t = (void *)bpf_get_current_task_btf();
	struct task_struct___tr *leader = t->group_leader;
	struct task_struct___tr *parent = t->real_parent;
	struct task_struct___tr *pleader = parent->group_leader;
	struct nsproxy___tr *nsp = t->nsproxy;
	struct pid___tr *tpid = t->thread_pid;
	struct pid___tr *lpid = leader->thread_pid;
	u64 pstart = pleader->start_time;
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u64 ugid = tr_task_uid_gid(t);
	unsigned int level;

	if (!b)
		return -1;
	h = (void *)b->data;
	if (h->syscall == TR_SYSCALL_CURRENT)
		h->syscall = tr_current_syscall();
	h->version = TR_WIRE_VERSION;
	/* h->policies_version: written by tr_f_finish, which every emitted event goes through */
	h->start_time = t->start_time;
	/* bpf_get_current_cgroup_id() without the helper call: the same pointer walk, as loads */
	h->cgroup_id = t->cgroups->dfl_cgrp->kn->id;
	h->pid = pid_tgid >> 32;
	h->tid = (u32)pid_tgid;
	h->ppid = parent->tgid;
	if (tc && tc->thread_pid == (u64)tpid && tc->leader_pid == (u64)lpid &&
	    tc->pleader == (u64)pleader && tc->pleader_start == pstart) {
		h->ns_tid = tc->ns_tid;
		h->ns_pid = tc->ns_pid;
		h->ns_ppid = tc->ns_ppid;
		h->pid_ns = tc->pid_ns;
	} else {
		level = tpid->level;
		h->ns_tid = BPF_CORE_READ(tpid, numbers[level].nr);
		h->ns_pid = leader == t ? h->ns_tid : tr_pid_nr(lpid);
		h->ns_ppid = tr_pid_nr(pleader->thread_pid);
		h->pid_ns = BPF_CORE_READ(tpid, numbers[level].ns, ns.inum);
		if (tc) {
			tc->thread_pid = (u64)tpid;
			tc->leader_pid = (u64)lpid;
			tc->pleader = (u64)pleader;
			tc->pleader_start = pstart;
			tc->ns_tid = h->ns_tid;
			tc->ns_pid = h->ns_pid;
			tc->ns_ppid = h->ns_ppid;
			tc->pid_ns = h->pid_ns;
		}
	}
	h->uid = (u32)ugid;
	h->gid = ugid >> 32;
	h->mnt_ns = nsp->mnt_ns->ns.inum;
	h->cpu = bpf_get_smp_processor_id();
	tr_task_comm(t, h->comm);
	/* the nodename is NUL-padded too (tr_task_comm) */
	*(u64 *)&h->uts_name[0] = *(u64 *)&nsp->uts_ns->name.nodename[0];
	*(u64 *)&h->uts_name[8] = *(u64 *)&nsp->uts_ns->name.nodename[8];
	h->uts_name[15] = 0;
	return 0;
}

/* The header of the event in b: per-event fields here, the task's in tr_fill_task. */
static __always_inline void tr_fill_header(struct tr_buf *b, u32 event_id, s32 syscall,
					   s64 ret, u64 policies, u64 ts, struct tr_saved *s)
{
	struct tr_header *h = (void *)b->data;

	h->event_id = event_id;
	h->ts = ts;
	h->policies = policies;
	h->retval = ret;
	h->syscall = syscall;
	tr_fill_task(b, s ? &s->task : 0);
}

/* String: u32 length (no NUL) then the bytes. An unreadable string is empty. */
__noinline int tr_put_str(struct tr_buf *b, u64 off, u64 ptr, u32 kernel)
{
	long n = 0;
	u32 len;
	u8 *p;

	if (!b || off > TR_OFF_MAX)
		return -1;
	p = b->data + off;
	if (ptr) {
		if (kernel)
			n = bpf_probe_read_kernel_str(p + 4, TR_STR_MAX, (void *)ptr);
		else
			n = bpf_probe_read_user_str(p + 4, TR_STR_MAX, (void *)ptr);
	}
	len = n > 0 ? n - 1 : 0;
	*(u32 *)p = len;
	return off + 4 + len;
}

/* Path walk ------------------------------------------------------------------------ */

#define TR_PATH_HALF 4096  /* the path is built backwards, ending at this offset */
#define TR_PATH_DEPTH 64   /* components at most */
#define TR_PATH_STEPS 96   /* loop iterations: components plus mount crossings */
#define TR_PATH_ROOM (TR_STR_MAX - 8) /* bytes at most, with room for the "..." mark */
#define TR_NAME_MAX 255

/*
 * The walk's state lives here, in the map value, not on the stack: the verifier checks a
 * bpf_loop callback until its states converge, and it tracks stack scalars exactly (the depth
 * counter 0, 1, 2, ... and each range of pos made a new state per iteration: verifying the
 * exec program took 550k instructions, loading the object 2 s). A map value's fields are
 * unknown scalars to it, so one pass over the callback converges.
 */
struct tr_path_buf {
	u64 dentry; /* struct dentry * */
	u64 mnt;    /* struct mount * */
	u64 pos;    /* the path built so far is data[pos, TR_PATH_HALF) */
	u32 depth;
	u32 state;
	/* Twice the path's room: a name written at any offset of the first half stays inside. */
	u8 data[2 * TR_PATH_HALF];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct tr_path_buf);
} tr_path_scratch SEC(".maps");

#define TR_PATH_WALKING 0
#define TR_PATH_DONE 1
#define TR_PATH_TRUNCATED 2

/* The callback's context: only the (loop-invariant) pointer to the state. */
struct tr_path_walk {
	struct tr_path_buf *pb;
};

/* One step up: a component of the path, or from a mount's root to where it is mounted. */
static long tr_path_step(u64 i, void *data)
{
	struct tr_path_buf *w = ((struct tr_path_walk *)data)->pb;
	struct dentry___tr *d, *parent, *root;
	struct mount___tr *m, *up;
	u32 len;
	u64 pos;

	if (!w)
		return 1;
	d = (void *)w->dentry;
	m = (void *)w->mnt;
	if (!d)
		return 1;
	parent = BPF_CORE_READ(d, d_parent);
	root = BPF_CORE_READ(m, mnt.mnt_root);
	if (d == root || d == parent) {
		/* a root that is not its mount's: a pseudo file (memfd, pipe, ...) - stop */
		if (d != root) {
			w->state = TR_PATH_DONE;
			return 1;
		}
		up = BPF_CORE_READ(m, mnt_parent);
		if (!up || up == m) { /* the root of the mount tree */
			w->state = TR_PATH_DONE;
			return 1;
		}
		w->dentry = (u64)BPF_CORE_READ(m, mnt_mountpoint);
		w->mnt = (u64)up;
		return 0;
	}
	len = BPF_CORE_READ(d, d_name.len);
	pos = w->pos;
	if (w->depth >= TR_PATH_DEPTH || len > TR_NAME_MAX || pos > TR_PATH_HALF ||
	    TR_PATH_HALF - pos + len + 1 > TR_PATH_ROOM) {
		w->state = TR_PATH_TRUNCATED;
		return 1;
	}
	pos -= len;
	if (bpf_probe_read_kernel(&w->data[pos & (TR_PATH_HALF - 1)], len,
				  BPF_CORE_READ(d, d_name.name)) < 0) {
		w->state = TR_PATH_TRUNCATED;
		return 1;
	}
	pos -= 1;
	w->data[pos & (TR_PATH_HALF - 1)] = '/';
	w->pos = pos;
	w->depth++;
	w->dentry = (u64)parent;
	return 0;
}

/*
 * String: the path of (vfsmount, dentry) from the root of the mount tree, as Tracee's
 * get_path_str builds it: the names of the dentries up to their mount's root, crossing each
 * mount at its mountpoint. A file with no path (memfd, pipe, socket: its dentry is a root
 * of no mount) is its dentry's name, e.g. "memfd:NAME". A path deeper than TR_PATH_DEPTH
 * components or longer than TR_PATH_ROOM bytes keeps its last components behind a "..."
 * mark ("..." + "/c/d") and sets the header's truncated flag. Nothing readable: empty.
 */
__noinline int tr_put_path(struct tr_buf *b, u64 off, u64 vfsmnt, u64 dentry)
{
	struct tr_path_walk w = {};
	struct tr_path_buf *pb;
	u32 zero = 0, state;
	u64 n, pos;

	if (!b || off > TR_OFF_MAX)
		return -1;
	pb = bpf_map_lookup_elem(&tr_path_scratch, &zero);
	if (!pb || !vfsmnt || !dentry)
		return tr_put_str(b, off, 0, 1);
	pb->dentry = dentry;
	pb->mnt = vfsmnt - bpf_core_field_offset(struct mount___tr, mnt);
	pb->pos = TR_PATH_HALF;
	pb->depth = 0;
	pb->state = TR_PATH_WALKING;
	w.pb = pb;
	bpf_loop(TR_PATH_STEPS, tr_path_step, &w, 0);
	state = pb->state;
	pos = pb->pos;
	if (state == TR_PATH_WALKING)
		state = TR_PATH_TRUNCATED;
	if (pos >= TR_PATH_HALF) { /* no component: the name of the root it stopped at */
		struct dentry___tr *last = (void *)pb->dentry;

		return tr_put_str(b, off, (u64)BPF_CORE_READ(last, d_name.name), 1);
	}
	if (state == TR_PATH_TRUNCATED && pos >= 3) {
		pos -= 3;
		pb->data[pos & (TR_PATH_HALF - 1)] = '.';
		pb->data[(pos + 1) & (TR_PATH_HALF - 1)] = '.';
		pb->data[(pos + 2) & (TR_PATH_HALF - 1)] = '.';
		((struct tr_header *)b->data)->flags |= TR_HDR_TRUNCATED;
	}
	n = TR_PATH_HALF - pos;
	barrier_var(n);
	if (n > TR_STR_MAX)
		n = 0;
	if (bpf_probe_read_kernel(b->data + off + 4, n, &pb->data[pos & (TR_PATH_HALF - 1)]) < 0)
		n = 0;
	*(u32 *)(b->data + off) = n;
	return off + 4 + n;
}

/* Count/truncation head of a string array. */
static __always_inline void tr_put_arr_head(struct tr_buf *b, u64 at, u16 count, u8 trunc)
{
	u8 *p;

	if (at > TR_OFF_MAX)
		return;
	p = b->data + at;
	*(u16 *)p = count;
	p[2] = trunc;
	p[3] = 0;
}

/* String array from a NULL-terminated user array of string pointers (argv, envp). */
__noinline int tr_put_str_arr(struct tr_buf *b, u64 off, u64 uptr)
{
	u64 head = off;
	u16 count = 0;
	u8 trunc = 0;
	int i;

	if (!b || off > TR_OFF_MAX)
		return -1;
	off += 4;
	for (i = 0; i < TR_ARR_MAX; i++) {
		u64 p = 0;
		int r;

		if (!uptr || bpf_probe_read_user(&p, sizeof(p), (void *)(uptr + i * 8)) < 0 || !p)
			goto done;
		r = tr_put_str(b, off, p, 0);
		if (r < 0 || r > TR_OFF_MAX) {
			/* no room for more elements (the last one may be cut short) */
			if (r > TR_OFF_MAX) {
				off = r;
				count++;
			}
			trunc = 1;
			goto done;
		}
		off = r;
		count++;
	}
	trunc = 1;
done:
	tr_put_arr_head(b, head, count, trunc);
	return off;
}

/* String array from a NUL-separated user region [start, end) (a process's argv area). */
__noinline int tr_put_str_area(struct tr_buf *b, u64 off, u64 start, u64 end)
{
	u64 head = off;
	u16 count = 0;
	u8 trunc = 0;
	int i;

	if (!b || off > TR_OFF_MAX)
		return -1;
	off += 4;
	for (i = 0; i < TR_ARR_MAX; i++) {
		long n;

		if (start >= end)
			goto done;
		if (off > TR_OFF_MAX) {
			trunc = 1;
			goto done;
		}
		n = bpf_probe_read_user_str(b->data + off + 4, TR_STR_MAX, (void *)start);
		if (n <= 0)
			goto done;
		*(u32 *)(b->data + off) = n - 1;
		off += 4 + n - 1;
		start += n;
		count++;
	}
	trunc = start < end;
done:
	tr_put_arr_head(b, head, count, trunc);
	return off;
}

/* Bytes: u32 length then the bytes (at most TR_BYTES_MAX). */
__noinline int tr_put_bytes(struct tr_buf *b, u64 off, u64 uptr, u64 len)
{
	u64 n = len;
	u8 *p;

	if (!b || off > TR_OFF_MAX)
		return -1;
	p = b->data + off;
	if (!uptr)
		n = 0;
	if (n > TR_BYTES_MAX)
		n = TR_BYTES_MAX;
	barrier_var(n);
	if (n > TR_BYTES_MAX)
		n = 0;
	if (n && bpf_probe_read_user(p + 4, n, (void *)uptr) < 0)
		n = 0;
	*(u32 *)p = n;
	return off + 4 + n;
}

/* A struct sockaddr: as many bytes as its family uses. */
__noinline int tr_put_sockaddr(struct tr_buf *b, u64 off, u64 uptr)
{
	u16 family = 0;
	u64 len = 16;

	if (!b || off > TR_OFF_MAX)
		return -1;
	if (uptr && bpf_probe_read_user(&family, sizeof(family), (void *)uptr) == 0) {
		if (family == 1) /* AF_UNIX */
			len = 110;
		else if (family == 10) /* AF_INET6 */
			len = 28;
	}
	return tr_put_bytes(b, off, uptr, len);
}

/* Argument head: definition index, ArgType wire code, wire class. */
static __always_inline void tr_put_arg_head(struct tr_buf *b, u64 off, u8 index, u8 type,
					    u8 class)
{
	u8 *p;

	if (off > TR_OFF_MAX)
		return;
	p = b->data + off;
	p[0] = index;
	p[1] = type;
	p[2] = class;
}

static __always_inline void tr_set_counts(struct tr_buf *b, u32 argnum, u8 flags)
{
	struct tr_header *h = (void *)b->data;

	h->argnum = argnum;
	h->flags = flags;
}

/* The arguments of a syscall event after the header; returns the event's size. */
__noinline int tr_put_args(struct tr_buf *b, struct tr_saved *s, struct tr_event_cfg *cfg,
			   s64 ret)
{
	u64 off = sizeof(struct tr_header);
	u32 argnum = 0;
	u8 flags = 0;
	int i;

	if (!b || !s || !cfg)
		return -1;
	for (i = 0; i < TR_MAX_ARGS; i++) {
		struct tr_arg_cfg a = cfg->args[i];
		u8 class = a.class & TR_CLASS_MASK;
		u64 v = s->args[i];
		u64 start = off;
		int r;

		if (class == TR_CLASS_NONE)
			continue;
		if (off > TR_OFF_MAX) {
			flags |= TR_HDR_TRUNCATED;
			break;
		}
		tr_put_arg_head(b, off, a.index, a.type,
				class == TR_CLASS_SOCKADDR ? TR_CLASS_BYTES : class);
		off += 3;
		switch (class) {
		case TR_CLASS_U64:
		case TR_CLASS_INT4:
		case TR_CLASS_INT2:
		case TR_CLASS_INT1:
			if (off > TR_OFF_MAX) {
				r = -1;
				break;
			}
			/* little-endian: the first bytes are the low ones */
			*(u64 *)(b->data + off) = v;
			r = off + (class == TR_CLASS_U64 ? 8 :
				   class == TR_CLASS_INT4 ? 4 :
				   class == TR_CLASS_INT2 ? 2 : 1);
			break;
		case TR_CLASS_INT_PAIR: {
			u64 pair = 0;

			if (off > TR_OFF_MAX) {
				r = -1;
				break;
			}
			if (v && bpf_probe_read_user(&pair, sizeof(pair), (void *)v) < 0)
				pair = 0;
			*(u64 *)(b->data + off) = pair;
			r = off + 8;
			break;
		}
		case TR_CLASS_STR:
			r = tr_put_str(b, off, v, 0);
			break;
		case TR_CLASS_STR_ARR:
			r = tr_put_str_arr(b, off, v);
			break;
		case TR_CLASS_BYTES: {
			u64 len = 0;

			if (a.len_arg < TR_MAX_ARGS)
				len = s->args[a.len_arg];
			if (a.class & TR_LEN_RETVAL)
				len = ret < 0 ? 0 : ((u64)ret < len ? (u64)ret : len);
			r = tr_put_bytes(b, off, v, len);
			break;
		}
		case TR_CLASS_SOCKADDR:
			r = tr_put_sockaddr(b, off, v);
			break;
		default:
			r = -1;
			break;
		}
		if (r < 0 || r > TR_BUF_SIZE) {
			off = start;
			flags |= TR_HDR_TRUNCATED;
			break;
		}
		off = r;
		argnum++;
	}
	tr_set_counts(b, argnum, flags);
	return off;
}

static __always_inline void tr_emit(struct tr_buf *b, u32 size)
{
	u64 n = size;

	if (size < sizeof(struct tr_header) || size >= TR_BUF_SIZE)
		return;
	/* opaque to clang, so the no-op mask that shows the verifier the bound stays */
	barrier_var(n);
	n &= TR_BUF_SIZE - 1;
	tracee_rb_output(&events, b, n);
}

static __always_inline struct tr_buf *tr_scratch_buf(void)
{
	u32 zero = 0;

	return bpf_map_lookup_elem(&tr_scratch, &zero);
}

/* The event in the per-thread entry buffer (CAPTURE_AT_ENTRY), emitted with the return value. */
static __always_inline void tr_exit_captured(struct tr_event_cfg *cfg, struct tr_saved *s, u32 nr,
					     s64 ret)
{
	struct tr_buf *b;
	u64 policies;
	u32 tid = s->entry_tid;

	b = bpf_map_lookup_elem(&tr_entry_bufs, &tid);
	if (!b) {
		/* evicted by other threads' execs: the event is lost */
		tracee_count_drop();
		return;
	}
	policies = tr_f_decide(cfg->event_id, cfg->policies, b, s, &s->judged);
	if (policies) {
		tr_fill_header(b, cfg->event_id, nr, ret, policies, s->ts, s);
		tr_emit(b, s->size);
	}
	bpf_map_delete_elem(&tr_entry_bufs, &tid);
}

/* The event of the saved argument registers, read and emitted at exit. */
static __always_inline void tr_exit_emit(struct tr_event_cfg *cfg, struct tr_saved *s, u32 nr,
					 s64 ret)
{
	struct tr_buf *b = tr_scratch_buf();
	u64 policies;
	int r;

	if (!b)
		return;
	r = tr_put_args(b, s, cfg, ret);
	if (r < 0)
		return;
	policies = tr_f_finish(cfg->event_id, b, &s->judged);
	if (!policies)
		return;
	tr_fill_header(b, cfg->event_id, nr, ret, policies, s->ts, s);
	tr_emit(b, r);
}

SEC("raw_tp/sys_enter")
int tracee_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	u64 id = ctx->args[1];
	struct tr_event_cfg *cfg;
	struct tr_config *tc;
	struct pt_regs *regs;
	struct tr_saved *s;
	struct tr_buf *b;
	u64 pid_tgid, policies;
	u32 nr, tid, zero = 0;
	int r;

	/* Every syscall of the machine runs this: unselected ones cost one array lookup. */
	if (id >= TR_MAX_SYSCALLS)
		return 0;
	nr = id;
	cfg = bpf_map_lookup_elem(&tr_syscalls, &nr);
	if (!cfg || !cfg->policies)
		return 0;
	tc = bpf_map_lookup_elem(&tr_config, &zero);
	if (!tc)
		return 0;
	/* tracee_sys_exit_regs reads the others' registers at exit: only entry events here */
	if ((tc->flags & TR_CFG_EXIT_READS_REGS) &&
	    !(cfg->flags & (TR_EV_CAPTURE_AT_ENTRY | TR_EV_EMIT_AT_ENTRY)))
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	if (tc->tracer_tgid == (u32)(pid_tgid >> 32))
		return 0;
	s = bpf_task_storage_get(&tr_pending, bpf_get_current_task_btf(), 0, TR_STORAGE_CREATE);
	if (!s) {
		tracee_count_drop();
		return 0;
	}
	/* Scope before anything else: an event no policy wants costs nothing more. */
	if (!tr_f_judge(cfg->event_id, cfg->policies, s, &s->judged))
		return 0;
	regs = (struct pt_regs *)ctx->args[0];
#if defined(__TARGET_ARCH_x86)
	{
		/*
		 * One read of the (ABI-stable) register frame instead of seven, into the per-CPU
		 * scratch buffer (not the stack: the filters use most of it).
		 */
		struct tr_buf *sb = tr_scratch_buf();
		struct pt_regs *r;

		if (!sb || bpf_probe_read_kernel(sb->data, sizeof(*r), regs))
			return 0;
		r = (void *)sb->data;
		if (r->cs == 0x23 /* __USER32_CS */ || tr_ts_compat()) /* see tr_compat_syscall */
			return 0;
		s->args[0] = r->di;
		s->args[1] = r->si;
		s->args[2] = r->dx;
		s->args[3] = r->r10;
		s->args[4] = r->r8;
		s->args[5] = r->r9;
	}
#else
	if (tr_is_compat(regs))
		return 0;
	s->args[0] = PT_REGS_PARM1_CORE_SYSCALL(regs);
	s->args[1] = PT_REGS_PARM2_CORE_SYSCALL(regs);
	s->args[2] = PT_REGS_PARM3_CORE_SYSCALL(regs);
	s->args[3] = PT_REGS_PARM4_CORE_SYSCALL(regs);
	s->args[4] = PT_REGS_PARM5_CORE_SYSCALL(regs);
	s->args[5] = PT_REGS_PARM6_CORE_SYSCALL(regs);
#endif
	s->ts = bpf_ktime_get_ns();
	s->nr = nr;
	s->size = 0;
	s->pending = 0;
	tid = (u32)pid_tgid;

	if (cfg->flags & TR_EV_EMIT_AT_ENTRY) {
		b = tr_scratch_buf();
		if (!b)
			return 0;
		r = tr_put_args(b, s, cfg, 0);
		if (r < 0)
			return 0;
		policies = tr_f_finish(cfg->event_id, b, &s->judged);
		if (!policies)
			return 0;
		tr_fill_header(b, cfg->event_id, nr, 0, policies, s->ts, s);
		((struct tr_header *)b->data)->flags |= TR_HDR_ARGS_AT_ENTRY | TR_HDR_NO_RETURN;
		tr_emit(b, r);
		return 0;
	}
	if (cfg->flags & TR_EV_CAPTURE_AT_ENTRY) {
		struct tr_buf *tmpl = tr_scratch_buf();

		if (!tmpl)
			return 0;
		/* the scratch buffer is only a template for the map entry's value */
		if (bpf_map_update_elem(&tr_entry_bufs, &tid, tmpl, BPF_ANY) < 0) {
			tracee_count_drop();
			return 0;
		}
		b = bpf_map_lookup_elem(&tr_entry_bufs, &tid);
		if (!b)
			return 0;
		r = tr_put_args(b, s, cfg, 0);
		if (r < 0)
			return 0;
		((struct tr_header *)b->data)->flags |= TR_HDR_ARGS_AT_ENTRY;
		s->size = r;
		s->entry_tid = tid;
	}
	s->pending = 1;
	return 0;
}

/*
 * The exit program paired with tracee_sys_enter, for kernels where tracee_sys_exit_regs
 * cannot attach: every selected syscall was saved at entry.
 */
SEC("raw_tp/sys_exit")
int tracee_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct tr_event_cfg *cfg;
	struct tr_saved *s;
	u32 nr;

	/* Every syscall of the machine runs this: a task without a pending entry returns here. */
	s = bpf_task_storage_get(&tr_pending, bpf_get_current_task_btf(), 0, 0);
	if (!s || !s->pending)
		return 0;
	s->pending = 0;
	nr = s->nr;
	/* an entry left pending while this program was detached (Tracer::pause) is stale */
	if (tr_regs_syscall((struct pt_regs *)ctx->args[0]) != nr)
		return 0;
	cfg = bpf_map_lookup_elem(&tr_syscalls, &nr);
	if (!cfg || !cfg->policies)
		return 0;
	if (cfg->flags & TR_EV_CAPTURE_AT_ENTRY)
		tr_exit_captured(cfg, s, nr, (s64)ctx->args[1]);
	else
		tr_exit_emit(cfg, s, nr, (s64)ctx->args[1]);
	return 0;
}

/*
 * The preferred exit program: the syscall number and the argument registers are still in
 * the task's saved user registers at exit (the return value replaces only x86's ax and
 * arm64's x0, whose original is orig_x0), so a syscall whose arguments need no reading at
 * entry needs no entry program. Unless an execve-like or exit-like event is selected,
 * tracee_sys_enter stays unattached and every syscall of the machine runs one program, not
 * two: the syscall-tracepoint hooks are the whole cost of an unselected syscall, and of a
 * selected one the scope drops (docs/performance.md). tp_btf, not raw_tp: the registers
 * are a BTF pointer, read with plain loads instead of probe-read calls.
 */
SEC("tp_btf/sys_exit")
int BPF_PROG(tracee_sys_exit_regs, struct pt_regs *regs, long ret)
{
	struct tr_event_cfg *cfg;
	struct tr_saved *s;
	u32 nr;

	nr = tr_syscall_nr(regs);
	/* also -1: no syscall (a signal return's restart) */
	if (nr >= TR_MAX_SYSCALLS)
		return 0;
	cfg = bpf_map_lookup_elem(&tr_syscalls, &nr);
	if (!cfg || !cfg->policies)
		return 0;
	if (cfg->flags & (TR_EV_CAPTURE_AT_ENTRY | TR_EV_EMIT_AT_ENTRY)) {
		/* saved by tracee_sys_enter (attached whenever such an event is selected) */
		s = bpf_task_storage_get(&tr_pending, bpf_get_current_task_btf(), 0, 0);
		if (!s || !s->pending || s->nr != nr)
			return 0;
		s->pending = 0;
		if (cfg->flags & TR_EV_CAPTURE_AT_ENTRY)
			tr_exit_captured(cfg, s, nr, ret);
		return 0;
	}
	/* 32-bit syscalls are not traced: their numbers are not this table's */
	if (tr_compat_syscall(regs) || tr_is_tracer(bpf_get_current_pid_tgid()))
		return 0;
	s = bpf_task_storage_get(&tr_pending, bpf_get_current_task_btf(), 0, TR_STORAGE_CREATE);
	if (!s) {
		tracee_count_drop();
		return 0;
	}
	if (!tr_f_judge(cfg->event_id, cfg->policies, s, &s->judged))
		return 0;
#if defined(__TARGET_ARCH_x86)
	s->args[0] = regs->di;
	s->args[1] = regs->si;
	s->args[2] = regs->dx;
	s->args[3] = regs->r10;
	s->args[4] = regs->r8;
	s->args[5] = regs->r9;
#elif defined(__TARGET_ARCH_arm64)
	s->args[0] = regs->orig_x0;
	s->args[1] = regs->regs[1];
	s->args[2] = regs->regs[2];
	s->args[3] = regs->regs[3];
	s->args[4] = regs->regs[4];
	s->args[5] = regs->regs[5];
#endif
	s->ts = bpf_ktime_get_ns();
	s->nr = nr;
	tr_exit_emit(cfg, s, nr, ret);
	return 0;
}

#include "lifecycle.bpf.h"
