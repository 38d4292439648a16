/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The program's maps and per-task state: the ring buffer, the syscall and lifecycle configs,
 * the tracer's config, each thread's state between sys_enter and sys_exit (task storage),
 * the entry buffers of execve-like events and the per-CPU scratch buffer events are built in.
 */
#ifndef __TRACEE_STATE_BPF_H__
#define __TRACEE_STATE_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "wire.bpf.h"

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

static __always_inline struct tr_buf *tr_scratch_buf(void)
{
	u32 zero = 0;

	return bpf_map_lookup_elem(&tr_scratch, &zero);
}

#endif /* __TRACEE_STATE_BPF_H__ */
