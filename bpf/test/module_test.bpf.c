// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Test object for tracee-bpf-obj's Module tests: programs of every attach kind the crate
 * supports, a ring buffer and a perf buffer, maps of several types and the per-CPU drops
 * counter of tracee/buffers.h. Each test loads its own copy and points `test_cfg` at the
 * thread or process it created, so tests running in parallel do not see each other.
 *
 * Program names start with "tbo_" so a test can find leftovers in `bpftool prog list`.
 * fentry/fexit/lsm sections start with '?': not loaded unless asked for, because kernels
 * without BPF trampolines refuse them and would fail the whole object.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "tracee/buffers.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Filled by libbpf from the kernel config (or the Module's kconfig file) at load. */
extern int CONFIG_HZ __kconfig __weak;

#define EV_SYS_ENTER 1
#define EV_EXEC 2
#define EV_OVERLOAD 3

/* Indexes into `counters`. */
#define C_TP_HITS 0
#define C_TP_ARG0 1
#define C_UPROBE_HITS 2
#define C_UPROBE_ARG 3
#define C_URETPROBE_RET 4
#define C_PERF_EVENT_HITS 5
#define C_KPROBE_HITS 6
#define C_FENTRY_HITS 7
#define C_LSM_HITS 8
#define C_OVERLOAD_ATTEMPTS 9
#define C_INNER_VALUE 10
#define C_OVERLOAD_PERF_ATTEMPTS 11
#define C_KCONFIG_HZ 12
#define C_MAX 16

struct test_event {
	__u32 kind;
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__s64 syscall;
	__u64 arg0;
	__u64 seq;
	char filename[64];
};

struct test_cfg {
	__u32 target_tid;     /* sys_enter / tracepoint: only this thread */
	__u32 parent_tgid;    /* sched_process_exec: only children of this process */
	__s64 syscall_nr;     /* sys_enter: only this syscall */
};

struct kv_value {
	__u64 a;
	__u32 b;
	__u32 c;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct test_cfg);
} test_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* One page: the overload test fills it on purpose. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb_small SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct kv_value);
} hash_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} array_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} percpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct kv_value);
} percpu_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 128);
	__type(key, __u64);
	__type(value, __u64);
} lru_hash SEC(".maps");

struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} inner_default SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer_map SEC(".maps") = {
	.values = { [0] = &inner_default },
};

static __always_inline struct test_cfg *get_cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&test_cfg, &zero);
}

static __always_inline void counter_add(__u32 idx, __u64 delta)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		__sync_fetch_and_add(c, delta);
}

static __always_inline void counter_set(__u32 idx, __u64 value)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c = value;
}

static __always_inline void emit_both(void *ctx, struct test_event *ev)
{
	tracee_rb_output(&events, ev, sizeof(*ev));
	bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, ev, sizeof(*ev));
}

/* Per-CPU scratch: test_event is too big for comfort on the 512-byte BPF stack twice over. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct test_event);
} scratch SEC(".maps");

static __always_inline struct test_event *new_event(__u32 kind)
{
	__u32 zero = 0;
	struct test_event *ev = bpf_map_lookup_elem(&scratch, &zero);
	__u64 id = bpf_get_current_pid_tgid();

	if (!ev)
		return 0;
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->pid = id >> 32;
	ev->tid = (__u32)id;
	return ev;
}

SEC("raw_tp/sys_enter")
int tbo_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct test_cfg *cfg = get_cfg();
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	__s64 nr = (__s64)ctx->args[1];
	struct test_event *ev;

	if (!cfg || (__u32)bpf_get_current_pid_tgid() != cfg->target_tid || nr != cfg->syscall_nr)
		return 0;
	ev = new_event(EV_SYS_ENTER);
	if (!ev)
		return 0;
	ev->syscall = nr;
	ev->arg0 = PT_REGS_PARM1_CORE_SYSCALL(regs);
	emit_both(ctx, ev);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tbo_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct test_cfg *cfg = get_cfg();
	struct test_event *ev;
	__u32 ppid = BPF_CORE_READ(p, real_parent, tgid);

	if (!cfg || ppid != cfg->parent_tgid)
		return 0;
	ev = new_event(EV_EXEC);
	if (!ev)
		return 0;
	ev->ppid = ppid;
	ev->arg0 = old_pid;
	bpf_probe_read_kernel_str(ev->filename, sizeof(ev->filename), BPF_CORE_READ(bprm, filename));
	emit_both(ctx, ev);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int tbo_tp_close(struct trace_event_raw_sys_enter *ctx)
{
	struct test_cfg *cfg = get_cfg();

	if (!cfg || (__u32)bpf_get_current_pid_tgid() != cfg->target_tid)
		return 0;
	counter_add(C_TP_HITS, 1);
	counter_set(C_TP_ARG0, ctx->args[0]);
	return 0;
}

SEC("uprobe")
int BPF_UPROBE(tbo_uprobe, __u64 arg)
{
	counter_add(C_UPROBE_HITS, 1);
	counter_set(C_UPROBE_ARG, arg);
	return 0;
}

SEC("uretprobe")
int BPF_URETPROBE(tbo_uretprobe, __u64 ret)
{
	counter_set(C_URETPROBE_RET, ret);
	return 0;
}

SEC("perf_event")
int tbo_perf_event(struct bpf_perf_event_data *ctx)
{
	counter_add(C_PERF_EVENT_HITS, 1);
	return 0;
}

SEC("kprobe/do_unlinkat")
int BPF_KPROBE(tbo_kprobe)
{
	counter_add(C_KPROBE_HITS, 1);
	return 0;
}

SEC("kretprobe/do_unlinkat")
int BPF_KRETPROBE(tbo_kretprobe)
{
	counter_add(C_KPROBE_HITS, 1);
	return 0;
}

SEC("?fentry/do_unlinkat")
int BPF_PROG(tbo_fentry, int dfd, struct filename *name)
{
	counter_add(C_FENTRY_HITS, 1);
	return 0;
}

SEC("?fexit/do_unlinkat")
int BPF_PROG(tbo_fexit, int dfd, struct filename *name, long ret)
{
	counter_add(C_FENTRY_HITS, 1);
	return 0;
}

SEC("?lsm/file_open")
int BPF_PROG(tbo_lsm, struct file *file)
{
	counter_add(C_LSM_HITS, 1);
	return 0;
}

/* Run with BPF_PROG_TEST_RUN: every run is one attempt into the one-page ring buffer. */
SEC("raw_tp")
int tbo_overload(void *ctx)
{
	struct test_event *ev = new_event(EV_OVERLOAD);
	__u32 idx = C_OVERLOAD_ATTEMPTS;
	__u64 *attempts = bpf_map_lookup_elem(&counters, &idx);

	if (!ev || !attempts)
		return 1;
	ev->seq = __sync_fetch_and_add(attempts, 1);
	tracee_rb_output(&rb_small, ev, sizeof(*ev));
	return 0;
}

/* The same into the perf buffer (small pages): overflows are reported as lost samples. */
SEC("raw_tp")
int tbo_overload_pb(void *ctx)
{
	struct test_event *ev = new_event(EV_OVERLOAD);
	__u32 idx = C_OVERLOAD_PERF_ATTEMPTS;
	__u64 *attempts = bpf_map_lookup_elem(&counters, &idx);

	if (!ev || !attempts)
		return 1;
	ev->seq = __sync_fetch_and_add(attempts, 1);
	bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, ev, sizeof(*ev));
	return 0;
}

/* Run with BPF_PROG_TEST_RUN: reports the CONFIG_HZ libbpf resolved. */
SEC("raw_tp")
int tbo_kconfig(void *ctx)
{
	counter_set(C_KCONFIG_HZ, CONFIG_HZ);
	return 0;
}

/* Run with BPF_PROG_TEST_RUN: copies outer_map[0][0] into counters, to see inner-map swaps. */
SEC("raw_tp")
int tbo_read_inner(void *ctx)
{
	__u32 zero = 0;
	void *inner = bpf_map_lookup_elem(&outer_map, &zero);
	__u64 *v;

	if (!inner)
		return 1;
	v = bpf_map_lookup_elem(inner, &zero);
	if (!v)
		return 2;
	counter_set(C_INNER_VALUE, *v);
	return 0;
}
