// SPDX-License-Identifier: GPL-2.0
/*
 * Empty syscall hooks for benches/throughput.rs: the cost of having a program on the syscall
 * tracepoints at all, which no tracer built on them can go under. Attaching any sets the
 * syscall-tracepoint work flag on every task (the syscall slow path), and each program run
 * adds the tracepoint's dispatch.
 *
 *  - floor_exit: tp_btf/sys_exit alone (what tracee-rs attaches by default);
 *  - floor_enter + floor_exit_raw: the raw_tp sys_enter/sys_exit pair (Tracee's hooks);
 *  - floor_event: the least an "openat with its path" tracer can do on tp_btf/sys_exit: one
 *    fixed-size ring-buffer record per openat holding the pid and the path read straight into
 *    it, no header, no filters, no wakeup (the reader polls).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tracee/buffers.h" /* tracee_rb_cfg: the reader writes it; floor_event ignores it */

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_exit, struct pt_regs *regs, long ret)
{
	return 0;
}

SEC("raw_tp/sys_enter")
int floor_enter(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

SEC("raw_tp/sys_exit")
int floor_exit_raw(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} floor_events SEC(".maps");

struct floor_rec {
	__u32 pid;
	__s32 len; /* bpf_probe_read_user_str's result */
	char path[256];
};

/* The path argument of an openat ending now, NULL for any other syscall. */
static __always_inline const char *floor_openat_path(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return regs->orig_ax == 257 /* __NR_openat */ ? (void *)regs->si : 0;
#elif defined(__TARGET_ARCH_arm64)
	return regs->syscallno == 56 ? (void *)regs->regs[1] : 0;
#else
	return 0;
#endif
}

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_event, struct pt_regs *regs, long ret)
{
	struct floor_rec *r;
	const char *path;

	path = floor_openat_path(regs);
	if (!path)
		return 0;
	r = bpf_ringbuf_reserve(&floor_events, sizeof(*r), 0);
	if (!r)
		return 0;
	r->pid = bpf_get_current_pid_tgid() >> 32;
	r->len = bpf_probe_read_user_str(r->path, sizeof(r->path), path);
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	return 0;
}

/*
 * floor_batch: floor_event's records gathered per CPU and sent 8 KiB at a time, the ring's
 * cost spread over ~100 events (a measurement only: nothing flushes a part-filled batch).
 */
#define FLOOR_BATCH 8192
#define FLOOR_PATH 256

struct floor_batch_buf {
	__u32 used;
	__u32 pad;
	char data[FLOOR_BATCH + 8 + FLOOR_PATH];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct floor_batch_buf);
} floor_batches SEC(".maps");

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_batch, struct pt_regs *regs, long ret)
{
	struct floor_batch_buf *b;
	const char *path;
	__u32 zero = 0;
	__u64 off;
	long n;

	path = floor_openat_path(regs);
	if (!path)
		return 0;
	b = bpf_map_lookup_elem(&floor_batches, &zero);
	if (!b)
		return 0;
	off = b->used;
	if (off > FLOOR_BATCH - 8 - FLOOR_PATH) {
		if (off <= FLOOR_BATCH)
			bpf_ringbuf_output(&floor_events, b->data, off, BPF_RB_NO_WAKEUP);
		off = 0;
	}
	off &= FLOOR_BATCH - 1;
	*(__u32 *)&b->data[off] = bpf_get_current_pid_tgid() >> 32;
	n = bpf_probe_read_user_str(&b->data[off + 8], FLOOR_PATH, path);
	*(__s32 *)&b->data[off + 4] = n;
	b->used = off + 8 + (n > 0 ? (n + 7) & ~7 : 0);
	return 0;
}
