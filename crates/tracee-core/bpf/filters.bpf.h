/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Policy filters of the tracee program: the maps tracee-filters compiles policies into
 * (layouts: crates/tracee-filters/src/maps.rs) and the code that judges an event from them.
 * Semantics and placement of every filter: docs/filters.md.
 *
 * Every lookup is keyed by the active policies version (tr_f_active), read once per
 * judgement (tr_f_judge, which leaves it in the verdict that tr_f_finish hands down to
 * tr_f_data and tr_f_str_arg): userspace installs a complete new version before flipping it,
 * so the kernel judges an event entirely by the old or entirely by the new policies. Version 0 = no filters loaded: the per-event
 * bitmap of tr_syscalls/tr_lifecycle is used as is.
 *
 * The version is carried to userspace: tr_f_finish writes its low byte into the header of the
 * event it passes (tr_header.policies_version; 0 = no filters). Userspace never gives a
 * version a low byte of 0 (tracee_filters::maps::next_version), so the byte names one of the
 * last 254 versions, and the userspace remainder (tracer/policies.rs, ActivePolicies::judge)
 * applies the set the kernel judged with, even when the event was still in the ring buffer
 * when the next version became active.
 */
#ifndef __TRACEE_FILTERS_BPF_H__
#define __TRACEE_FILTERS_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "tracee_types.h"
#include "wire.bpf.h"
#include "state.bpf.h"
#include "task.bpf.h"
#include "path.bpf.h"

#define TR_F_KINDS 8
#define TR_F_RANGE_KINDS 2
#define TR_F_UID 0
#define TR_F_PID 1
#define TR_F_MNTNS 2
#define TR_F_PIDNS 3
#define TR_F_EXE 4
#define TR_F_COMM 5
#define TR_F_UTS 6
#define TR_F_TREE 7
#define TR_F_STR 16
#define TR_F_LPM 64
#define TR_F_LPM_HEADER_BITS 96
#define TR_F_PROC_HAS_EXE 1
#define TR_F_MAX_WALK 16
#define TR_F_BUF_MASK (TR_BUF_SIZE - 1)
#define TR_F_NO_PREALLOC 1 /* BPF_F_NO_PREALLOC, required by LPM tries */

/* tr_f_stats slots (per CPU) */
#define TR_F_STAT_JUDGED 0   /* events judged by the filters (final decisions) */
#define TR_F_STAT_FILTERED 1 /* ... of which dropped in the kernel */
#define TR_F_STAT_EMITTED 2  /* ... of which passed to the ring buffer */
#define TR_F_STAT_CACHED 3   /* judgements that used the task's cached scope verdict */

struct tr_f_active {
	u32 version;
	u32 pad;
};

struct tr_f_eq {
	u64 equals;
	u64 used;
};

struct tr_f_range {
	u64 min;
	u64 max;
};

struct tr_f_scope_cfg {
	u64 match_if_missing[TR_F_KINDS];
	u64 range_policies[TR_F_RANGE_KINDS];
	u64 container_true;
	u64 container_false;
	u64 new_true;
	u64 new_false;
	u64 follow;
	u64 start_time;
	u32 host_pid_ns;
	u32 used_kinds; /* bit k: some policy filters on kind k */
	struct tr_f_range ranges[TR_F_RANGE_KINDS][64];
};

struct tr_f_event_key {
	u32 version;
	u32 event;
};

struct tr_f_event_val {
	u64 policies;
	u32 str_args;
	u32 flags;
};

struct tr_f_num_key {
	u32 version;
	u32 kind;
	u64 value;
};

struct tr_f_str_key {
	u32 version;
	u32 kind;
	char value[TR_F_STR];
};

struct tr_f_tree_key {
	u32 version;
	u32 pid;
};

struct tr_f_arg_key {
	u32 version;
	u32 event;
	u32 arg;
};

struct tr_f_arg_val {
	u64 match_if_missing;
};

struct tr_f_data_key {
	u32 version;
	u32 event;
	u32 arg;
	u32 pad;
	u64 hash;
};

struct tr_f_lpm_key {
	u32 prefixlen;
	u32 version;
	u32 event;
	u32 arg;
	u8 data[TR_F_LPM];
};

struct tr_f_proc_slot {
	u64 tree_equals;
	u64 tree_used;
	u64 followed;
};

struct tr_f_proc {
	u64 exe_hash;
	u32 flags;
	u32 pad;
	struct tr_f_proc_slot slots[2];
};

_Static_assert(sizeof(struct tr_f_scope_cfg) == 2184, "tr_f_scope_cfg layout");
_Static_assert(sizeof(struct tr_f_lpm_key) == 80, "tr_f_lpm_key layout");
_Static_assert(sizeof(struct tr_f_proc) == 64, "tr_f_proc layout");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct tr_f_active);
} tr_f_active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, struct tr_f_scope_cfg);
} tr_f_scope SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct tr_f_event_key);
	__type(value, struct tr_f_event_val);
} tr_f_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tr_f_num_key);
	__type(value, struct tr_f_eq);
} tr_f_num SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tr_f_str_key);
	__type(value, struct tr_f_eq);
} tr_f_str SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct tr_f_tree_key);
	__type(value, struct tr_f_eq);
} tr_f_tree SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tr_f_arg_key);
	__type(value, struct tr_f_arg_val);
} tr_f_args SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tr_f_data_key);
	__type(value, struct tr_f_eq);
} tr_f_exact SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__uint(map_flags, TR_F_NO_PREALLOC);
	__type(key, struct tr_f_lpm_key);
	__type(value, struct tr_f_eq);
} tr_f_prefix SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__uint(map_flags, TR_F_NO_PREALLOC);
	__type(key, struct tr_f_lpm_key);
	__type(value, struct tr_f_eq);
} tr_f_suffix SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, u32);
	__type(value, struct tr_f_proc);
} tr_f_proc SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} tr_f_stats SEC(".maps");


static __always_inline void tr_f_count(u32 slot)
{
	u64 *n = bpf_map_lookup_elem(&tr_f_stats, &slot);

	if (n)
		*n += 1;
}

/* A final decision of the filters: judged, and then emitted or dropped. */
static __always_inline void tr_f_count_final(u64 res)
{
	tr_f_count(TR_F_STAT_JUDGED);
	tr_f_count(res ? TR_F_STAT_EMITTED : TR_F_STAT_FILTERED);
}

static __always_inline u32 tr_f_version(void)
{
	u32 zero = 0;
	struct tr_f_active *a = bpf_map_lookup_elem(&tr_f_active, &zero);

	return a ? a->version : 0;
}

/* Tracee's equality result: `=` entries, else policies that match what no entry names. */
static __always_inline u64 tr_f_eq_res(struct tr_f_eq *e, u64 missing, u64 in_range)
{
	u64 eq = 0, used = 0;

	if (e) {
		eq = e->equals;
		used = e->used;
	}
	return eq | (~used & missing & in_range);
}

/*
 * Policies whose range of kind `k` admits x (all policies without a range). Branchless, so
 * the verifier walks the loop once: ranges are clamped to [0, 2^32] (x is a 32-bit uid or
 * pid), so the differences below cannot overflow a signed 64-bit value.
 */
static __always_inline u64 tr_f_in_range(struct tr_f_scope_cfg *c, u32 k, u64 x)
{
	u64 rp = c->range_policies[k & 1];
	u64 bits = ~0ULL;
	int p;

	if (!rp)
		return bits;
	for (p = 0; p < 64; p++) {
		struct tr_f_range *r = &c->ranges[k & 1][p];
		s64 below = (s64)x - (s64)r->min;
		s64 above = (s64)r->max - (s64)x;
		u64 out = (u64)(below | above) >> 63;

		bits &= ~(((rp >> p) & out) << p);
	}
	return bits;
}

static __always_inline u64 tr_f_num_res(u32 v, struct tr_f_scope_cfg *c, u32 kind, u64 x, u64 in_range)
{
	struct tr_f_num_key k = { .version = v, .kind = kind, .value = x };

	return tr_f_eq_res(bpf_map_lookup_elem(&tr_f_num, &k), c->match_if_missing[kind & 7],
			   in_range);
}

/* The scope's verdict for every policy (before follow), for the current task. */
static __always_inline u64 tr_f_scope_bits(u32 v, struct tr_f_scope_cfg *c, struct tr_f_proc *proc,
					   struct task_struct___tr *t)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 uid = (u32)tr_task_uid_gid(t);
	u32 pid = pid_tgid >> 32;
	struct tr_f_str_key sk = { .version = v };
	u64 res = ~0ULL, tree_eq = 0, tree_used = 0;
	u32 used = c->used_kinds;

	/* A kind no policy uses has no entries and matches everything: skip its lookups. */
	if (used & (1 << TR_F_UID))
		res &= tr_f_num_res(v, c, TR_F_UID, uid, tr_f_in_range(c, 0, uid));
	if (used & (1 << TR_F_PID))
		res &= tr_f_num_res(v, c, TR_F_PID, pid, tr_f_in_range(c, 1, pid));
	if (used & (1 << TR_F_MNTNS))
		res &= tr_f_num_res(v, c, TR_F_MNTNS, BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum),
				    ~0ULL);
	if ((used & (1 << TR_F_PIDNS)) || c->container_true || c->container_false) {
		u32 pidns = tr_pid_ns(t);

		res &= tr_f_num_res(v, c, TR_F_PIDNS, pidns, ~0ULL);
		res &= pidns != c->host_pid_ns ? ~c->container_false : ~c->container_true;
	}
	if (c->new_true || c->new_false) {
		u64 start = BPF_CORE_READ(t, start_time);

		res &= start > c->start_time ? ~c->new_false : ~c->new_true;
	}
	if (used & (1 << TR_F_COMM)) {
		sk.kind = TR_F_COMM;
		tr_task_comm(t, sk.value);
		res &= tr_f_eq_res(bpf_map_lookup_elem(&tr_f_str, &sk),
				   c->match_if_missing[TR_F_COMM], ~0ULL);
	}
	if (used & (1 << TR_F_UTS)) {
		struct uts_namespace___tr *uts = BPF_CORE_READ(t, nsproxy, uts_ns);

		sk.kind = TR_F_UTS;
		__builtin_memset(sk.value, 0, sizeof(sk.value));
		if (bpf_core_read_str(sk.value, sizeof(sk.value), &uts->name.nodename) < 0)
			sk.value[0] = 0;
		res &= tr_f_eq_res(bpf_map_lookup_elem(&tr_f_str, &sk),
				   c->match_if_missing[TR_F_UTS], ~0ULL);
	}
	if (used & (1 << TR_F_EXE)) {
		if (proc && (proc->flags & TR_F_PROC_HAS_EXE))
			res &= tr_f_num_res(v, c, TR_F_EXE, proc->exe_hash, ~0ULL);
		else
			res &= c->match_if_missing[TR_F_EXE];
	}
	if (used & (1 << TR_F_TREE)) {
		if (proc) {
			tree_eq = proc->slots[v & 1].tree_equals;
			tree_used = proc->slots[v & 1].tree_used;
		}
		res &= tree_eq | (~tree_used & c->match_if_missing[TR_F_TREE]);
	}
	return res;
}

struct tr_f_hash_ctx {
	struct tr_buf *b;
	u64 start;
	u64 h;
};

static long tr_f_hash_step(u64 i, void *data)
{
	struct tr_f_hash_ctx *x = data;

	if (!x->b)
		return 1;
	x->h ^= x->b->data[(x->start + i) & TR_F_BUF_MASK];
	x->h *= 0x00000100000001b3ULL;
	return 0;
}

/*
 * The keys tr_f_str_arg looks up, in a per-CPU map value instead of on its frame: that frame
 * sits at the bottom of the deepest call chain of every program (tr_f_finish -> tr_f_data ->
 * tr_f_walk_step -> tr_f_str_arg -> loop callback), and the LPM key alone is 80 bytes of the
 * 512-byte BPF stack. Nothing else uses it, and BPF programs do not nest on one CPU here.
 */
struct tr_f_str_keys {
	struct tr_f_data_key dk;
	struct tr_f_arg_key ak;
	u32 pad;
	struct tr_f_lpm_key lk;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct tr_f_str_keys);
} tr_f_str_scratch SEC(".maps");

/* Copies up to TR_F_LPM bytes of a string into an LPM key, forwards or reversed. */
struct tr_f_key_ctx {
	struct tr_buf *b;
	struct tr_f_lpm_key *lk;
	u64 start;
	u64 len;
	u64 rev;
};

static long tr_f_key_step(u64 i, void *data)
{
	struct tr_f_key_ctx *x = data;
	u64 at = x->rev ? x->start + x->len - 1 - i : x->start + i;

	if (!x->b || !x->lk)
		return 1;
	x->lk->data[i & (TR_F_LPM - 1)] = x->b->data[at & TR_F_BUF_MASK];
	return 0;
}

/*
 * One captured string argument at b->data[start..start+len) against its filters: exact
 * (hash), prefix and suffix (LPM tries); the OR of the entries hit, Tracee's equality result.
 * `v_event` is the policies version the judge read (high 32 bits) and the event id: never
 * re-read here, or a switch between the judge's read and this one would judge the event
 * half by the old, half by the new policies (and five arguments is the most a BPF function
 * takes). A global function: the verifier checks it once, whatever the caller's state.
 */
__noinline u64 tr_f_str_arg(struct tr_buf *b, u64 start, u32 len, u64 v_event, u32 arg)
{
	u32 v = v_event >> 32, event = (u32)v_event, zero = 0;
	struct tr_f_hash_ctx hc = { .b = b, .start = start, .h = 0xcbf29ce484222325ULL };
	struct tr_f_key_ctx kc = { .b = b, .start = start, .len = len };
	struct tr_f_str_keys *keys;
	struct tr_f_arg_val *av;
	struct tr_f_eq *e;
	u64 eq = 0, used = 0, missing = ~0ULL;
	u32 n = len < TR_F_LPM ? len : TR_F_LPM;

	if (!b || len > TR_STR_MAX)
		return ~0ULL;
	keys = bpf_map_lookup_elem(&tr_f_str_scratch, &zero);
	if (!keys)
		return ~0ULL;
	keys->ak.version = v;
	keys->ak.event = event;
	keys->ak.arg = arg;
	av = bpf_map_lookup_elem(&tr_f_args, &keys->ak);
	if (av)
		missing = av->match_if_missing;
	bpf_loop(len, tr_f_hash_step, &hc, 0);
	keys->dk.version = v;
	keys->dk.event = event;
	keys->dk.arg = arg;
	keys->dk.pad = 0;
	keys->dk.hash = hc.h;
	e = bpf_map_lookup_elem(&tr_f_exact, &keys->dk);
	if (e) {
		eq |= e->equals;
		used |= e->used;
	}
	/* bytes past n are left from an earlier string: the lookup reads prefixlen bits only */
	keys->lk.prefixlen = TR_F_LPM_HEADER_BITS + 8 * n;
	keys->lk.version = v;
	keys->lk.event = event;
	keys->lk.arg = arg;
	kc.lk = &keys->lk;
	bpf_loop(n, tr_f_key_step, &kc, 0);
	e = bpf_map_lookup_elem(&tr_f_prefix, &keys->lk);
	if (e) {
		eq |= e->equals;
		used |= e->used;
	}
	kc.rev = 1;
	bpf_loop(n, tr_f_key_step, &kc, 0);
	e = bpf_map_lookup_elem(&tr_f_suffix, &keys->lk);
	if (e) {
		eq |= e->equals;
		used |= e->used;
	}
	return eq | (~used & missing);
}

struct tr_f_walk {
	struct tr_buf *b;
	u64 off;
	u64 res;
	u32 str_args;
	u32 seen;
	u32 event;
	u32 version;
};

/* One argument of the event (3-byte head, docs/wire-format.md); stops at a string array. */
static long tr_f_walk_step(u64 i, void *data)
{
	struct tr_f_walk *w = data;
	struct tr_buf *b = w->b;
	u64 off = w->off, p;
	u8 idx, class;
	u32 len;

	if (!b || off > TR_OFF_MAX)
		return 1;
	idx = b->data[off];
	class = b->data[off + 2];
	p = off + 3;
	switch (class) {
	case TR_CLASS_U64:
	case TR_CLASS_INT_PAIR:
		w->off = p + 8;
		return 0;
	case TR_CLASS_INT4:
		w->off = p + 4;
		return 0;
	case TR_CLASS_INT2:
		w->off = p + 2;
		return 0;
	case TR_CLASS_INT1:
		w->off = p + 1;
		return 0;
	case TR_CLASS_STR:
	case TR_CLASS_BYTES:
		len = *(u32 *)(b->data + p);
		if (len > TR_STR_MAX)
			return 1;
		if (class == TR_CLASS_STR && idx < 32 && (w->str_args & (1U << idx))) {
			w->res &= tr_f_str_arg(b, p + 4, len,
					       (u64)w->version << 32 | w->event, idx);
			w->seen |= 1U << idx;
		}
		w->off = p + 4 + len;
		return 0;
	default:
		return 1; /* a string array: compile keeps later arguments in userspace */
	}
}

struct tr_f_missing {
	u64 res;
	u32 unseen;
	u32 event;
	u32 version;
};

static long tr_f_missing_step(u64 i, void *data)
{
	struct tr_f_missing *m = data;
	struct tr_f_arg_key ak = { .version = m->version, .event = m->event, .arg = i };
	struct tr_f_arg_val *av;

	if (!(m->unseen & (1U << (i & 31))))
		return 0;
	av = bpf_map_lookup_elem(&tr_f_args, &ak);
	if (av)
		m->res &= av->match_if_missing;
	return 0;
}

/*
 * String data filters of an event whose arguments are in b: each string whose index is in
 * `str_args` is judged; filtered arguments the event lacks get the "missing" verdict.
 */
__noinline u64 tr_f_data(struct tr_buf *b, u32 v, u32 event, u32 str_args)
{
	struct tr_f_walk w = { .b = b, .off = sizeof(struct tr_header), .res = ~0ULL,
			       .str_args = str_args, .event = event, .version = v };
	struct tr_f_missing m = { .event = event, .version = v };
	u32 argnum;

	if (!b)
		return ~0ULL;
	argnum = ((struct tr_header *)b->data)->argnum;
	bpf_loop(argnum < TR_F_MAX_WALK ? argnum : TR_F_MAX_WALK, tr_f_walk_step, &w, 0);
	m.res = w.res;
	m.unseen = str_args & ~w.seen;
	if (m.unseen)
		bpf_loop(32, tr_f_missing_step, &m, 0);
	return m.res;
}

/* Scope kinds a running task can change without exec, setuid or comm change. */
#define TR_F_UNCACHEABLE_KINDS ((1 << TR_F_MNTNS) | (1 << TR_F_PIDNS) | (1 << TR_F_UTS))

static __always_inline bool tr_f_comm_eq(const char *a, const char *b)
{
	return *(u64 *)a == *(u64 *)b && *(u64 *)(a + 8) == *(u64 *)(b + 8);
}

/*
 * Event selection and scope of an event about to be emitted: the policies that want it (0:
 * drop it), left in `vd` with the policies version they were judged under and the string
 * arguments with data filters, for tr_f_finish once the arguments are read. A drop is a final
 * decision (counted in tr_f_stats); a pass is counted by tr_f_finish.
 *
 * `sv` (the task's storage, may be NULL) caches the task's scope verdict and the last
 * event's selection (struct tr_scope_cache): a task that keeps making the same syscall is
 * judged with no hash lookup at all.
 *
 * A global function: verified once per program instead of at each of its call sites along
 * every path (a third of the object's load time when it was inlined). It calls nothing:
 * its frame (the largest of the filters) never stacks on the data filters' chain.
 */
__noinline u64 tr_f_judge(u32 event, u64 configured, struct tr_saved *sv, struct tr_f_verdict *vd)
{
	struct task_struct___tr *t = (void *)bpf_get_current_task_btf();
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct tr_f_event_key ek = {};
	struct tr_f_event_val *ev;
	struct tr_f_scope_cfg *c;
	struct tr_f_proc *proc;
	struct tr_scope_cache *k = 0;
	u64 res = 0, followed = 0, ev_policies, task_bits, exec_id = 0;
	u32 v = tr_f_version(), uid = 0, str_args = 0;
	char comm[16] = {};
	bool hit = false;

	if (!vd)
		return 0;
	if (!v) {
		res = configured;
		goto out;
	}
	if (sv) {
		k = &sv->scope;
		/* plain loads through the task's BTF pointer, no helper calls */
		uid = (u32)tr_task_uid_gid(t);
		exec_id = t->self_exec_id;
		if (k->version == v && k->uid == uid && k->exec_id == exec_id) {
			hit = true;
			if (k->check_comm) {
				tr_task_comm(t, comm);
				hit = tr_f_comm_eq(comm, k->comm);
			}
		}
	}
	if (hit && k && k->ev_event == event + 1) {
		ev_policies = k->ev_policies;
		str_args = k->ev_str_args;
	} else {
		ek.version = v;
		ek.event = event;
		ev = bpf_map_lookup_elem(&tr_f_events, &ek);
		if (!ev)
			goto out;
		ev_policies = ev->policies;
		str_args = ev->str_args;
		if (hit && k) {
			k->ev_event = event + 1;
			k->ev_policies = ev_policies;
			k->ev_str_args = str_args;
		}
	}
	if (!ev_policies)
		goto out;
	if (hit && k) {
		task_bits = k->task_bits;
		tr_f_count(TR_F_STAT_CACHED);
	} else {
		c = bpf_map_lookup_elem(&tr_f_scope, &v);
		if (!c)
			goto out;
		proc = bpf_map_lookup_elem(&tr_f_proc, &tgid);
		if (proc)
			followed = proc->slots[v & 1].followed;
		task_bits = tr_f_scope_bits(v, c, proc, t) | (followed & c->follow);
		if (k) {
			k->version = 0;
			if (!(c->used_kinds & TR_F_UNCACHEABLE_KINDS) && !c->container_true &&
			    !c->container_false) {
				k->uid = uid;
				k->exec_id = exec_id;
				k->task_bits = task_bits;
				k->ev_event = event + 1;
				k->ev_policies = ev_policies;
				k->ev_str_args = str_args;
				k->check_comm = !!(c->used_kinds & (1 << TR_F_COMM));
				if (k->check_comm)
					tr_task_comm(t, k->comm);
				k->version = v;
			}
		}
	}
	res = ev_policies & task_bits;
out:
	vd->policies = res;
	vd->version = v;
	vd->str_args = str_args;
	if (v && !res)
		tr_f_count_final(0);
	return res;
}

/*
 * The final verdict of an event tr_f_judge passed (`vd`), once its arguments are in b: only
 * the string data filters are left, under the same policies version. Writes that version's
 * low byte into the header.
 */
static __always_inline u64 tr_f_finish(u32 event, struct tr_buf *b, struct tr_f_verdict *vd)
{
	u32 v = vd->version;
	u64 res = vd->policies;

	((struct tr_header *)b->data)->policies_version = (u8)v;
	if (!v)
		return res;
	if (res && vd->str_args)
		res &= tr_f_data(b, v, event, vd->str_args);
	tr_f_count_final(res);
	return res;
}

/* Both steps, for an event whose arguments are already in b (lifecycle, execve at exit). */
static __always_inline u64 tr_f_decide(u32 event, u64 configured, struct tr_buf *b,
				       struct tr_saved *sv, struct tr_f_verdict *vd)
{
	if (!tr_f_judge(event, configured, sv, vd))
		return 0;
	return tr_f_finish(event, b, vd);
}

/*
 * sched_process_fork: the child process inherits the parent's entry, adds the tree roots it
 * is, and follows the policies the parent's scope matches. Threads share their process's.
 * Not inlined: its entry and the scope judgement's locals would otherwise sit in the fork
 * program's frame under the whole tr_f_judge/tr_f_finish chain.
 */
static __noinline int tr_f_on_fork(struct task_struct___tr *parent,
					 struct task_struct___tr *child)
{
	u32 ptgid = BPF_CORE_READ(parent, tgid);
	u32 ctgid = BPF_CORE_READ(child, tgid);
	struct tr_f_proc entry = {}, *pp;
	struct tr_f_tree_key tk;
	struct tr_f_scope_cfg *c;
	struct tr_f_eq *root;
	u32 v = tr_f_version();
	int s;

	if (!v || ptgid == ctgid)
		return 0;
	pp = bpf_map_lookup_elem(&tr_f_proc, &ptgid);
	if (pp)
		entry = *pp;
	for (s = 0; s < 2; s++) {
		tk.version = v + s;
		tk.pid = ctgid;
		root = bpf_map_lookup_elem(&tr_f_tree, &tk);
		if (root) {
			entry.slots[(v + s) & 1].tree_equals |= root->equals;
			entry.slots[(v + s) & 1].tree_used |= root->used;
		}
	}
	c = bpf_map_lookup_elem(&tr_f_scope, &v);
	if (c && c->follow)
		entry.slots[v & 1].followed |= tr_f_scope_bits(v, c, pp, (void *)bpf_get_current_task_btf()) & c->follow;
	bpf_map_update_elem(&tr_f_proc, &ctgid, &entry, BPF_ANY);
	return 0;
}

/*
 * sched_process_exec: the process's executable is the path of the file executed (bprm->file,
 * walked by tr_put_path: symlinks resolved, as Tracee's binary filter and /proc/PID/exe,
 * which seeds processes started before the tracer). tr_f_on_exec_path takes the walk tr_exec
 * already put in its buffer at `at` (u32 length, bytes); tr_f_on_exec walks it itself, into
 * the per-CPU scratch buffer, before tr_exec uses that. A global function, verified once:
 * its process-map entry and hash context stay out of the exec program's frames.
 */
__noinline int tr_f_on_exec_path(struct tr_buf *b, u64 at)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct tr_f_hash_ctx hc = { .b = b, .start = at + 4, .h = 0xcbf29ce484222325ULL };
	struct tr_f_proc entry = {}, *pp;
	u32 len;

	if (!b || at > TR_OFF_MAX || !tr_f_version())
		return 0;
	len = *(u32 *)(b->data + at);
	if (!len || len > TR_STR_MAX)
		return 0;
	bpf_loop(len, tr_f_hash_step, &hc, 0);
	pp = bpf_map_lookup_elem(&tr_f_proc, &tgid);
	if (pp) {
		pp->exe_hash = hc.h;
		pp->flags |= TR_F_PROC_HAS_EXE;
		return 0;
	}
	entry.exe_hash = hc.h;
	entry.flags = TR_F_PROC_HAS_EXE;
	bpf_map_update_elem(&tr_f_proc, &tgid, &entry, BPF_ANY);
	return 0;
}

static __always_inline void tr_f_on_exec(struct linux_binprm___tr *bprm)
{
	struct file___tr *file;
	struct tr_buf *b;
	u32 zero = 0;

	if (!tr_f_version())
		return;
	b = bpf_map_lookup_elem(&tr_scratch, &zero);
	if (!b)
		return;
	file = BPF_CORE_READ(bprm, file);
	if (tr_put_path(b, 0, (u64)BPF_CORE_READ(file, f_path.mnt),
			(u64)BPF_CORE_READ(file, f_path.dentry)) < 0)
		return;
	tr_f_on_exec_path(b, 0);
}

/* sched_process_exit of a process's last thread: forget it. */
static __always_inline void tr_f_on_exit(struct task_struct___tr *p)
{
	u32 tgid = BPF_CORE_READ(p, tgid);

	if (BPF_CORE_READ(p, signal, live.counter) == 0)
		bpf_map_delete_elem(&tr_f_proc, &tgid);
}

#endif /* __TRACEE_FILTERS_BPF_H__ */
