// SPDX-License-Identifier: GPL-2.0
/*
 * Empty syscall hooks for benches/throughput.rs: the cost of having a program on the syscall
 * tracepoints at all, which no tracer built on them can go under. Attaching any sets the
 * syscall-tracepoint work flag on every task (the syscall slow path), and each program run
 * adds the tracepoint's dispatch.
 *
 *  - floor_exit: tp_btf/sys_exit alone (what tracee-rs attaches by default);
 *  - floor_enter + floor_exit_raw: the raw_tp sys_enter/sys_exit pair (Tracee's hooks).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

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
