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
/* One concern each, in the order an event meets them. */
#include "wire.bpf.h"     /* the wire format and the configs userspace writes */
#include "state.bpf.h"    /* maps and per-task state */
#include "task.bpf.h"     /* the current task and the event header */
#include "buffer.bpf.h"   /* writing an event's arguments */
#include "path.bpf.h"     /* file paths from the kernel's dentries */
#include "filters.bpf.h"  /* the policies' filters */
#include "syscalls.bpf.h" /* the syscall hooks */
#include "lifecycle.bpf.h" /* sched_process_exec/fork/exit, task_rename */
#include "layout.bpf.h"    /* BTF for the Rust twins' layout check; no code */

char LICENSE[] SEC("license") = "GPL";

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
