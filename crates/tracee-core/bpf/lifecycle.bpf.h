/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Process lifecycle events (sched_process_exec/fork/exit): the slot writers, what each event
 * reads from the task and the binprm, and the tp_btf programs with their raw_tp fallbacks;
 * task_rename keeps the comm an exec replaces (prev_comm).
 */
#ifndef __TRACEE_LIFECYCLE_BPF_H__
#define __TRACEE_LIFECYCLE_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "tracee_types.h"
#include "wire.bpf.h"
#include "state.bpf.h"
#include "task.bpf.h"
#include "buffer.bpf.h"
#include "path.bpf.h"
#include "filters.bpf.h"

static __always_inline struct tr_life_cfg *tr_life(u32 which)
{
	struct tr_life_cfg *c = bpf_map_lookup_elem(&tr_lifecycle, &which);

	if (!c || !c->policies)
		return 0;
	if (tr_is_tracer(bpf_get_current_pid_tgid()))
		return 0;
	return c;
}

/* Head of lifecycle slot `slot`; returns the payload offset, or -1 if the slot is skipped. */
static __always_inline int tr_slot(struct tr_buf *b, u64 off, struct tr_life_cfg *c, u32 slot,
				   u8 class, u32 *argnum)
{
	u8 index = c->index[slot & (TR_LIFE_SLOTS - 1)];

	if (index == TR_LIFE_SKIP || off > TR_OFF_MAX)
		return -1;
	tr_put_arg_head(b, off, index, c->type[slot & (TR_LIFE_SLOTS - 1)], class);
	*argnum += 1;
	return off + 3;
}

static __always_inline u64 tr_put_u64_slot(struct tr_buf *b, u64 off, struct tr_life_cfg *c,
					   u32 slot, u64 v, u32 *argnum)
{
	int p = tr_slot(b, off, c, slot, TR_CLASS_U64, argnum);

	u64 o = p;

	if (p < 0 || o > TR_OFF_MAX)
		return off;
	*(u64 *)(b->data + o) = v;
	return o + 8;
}

/* Lifecycle string slot: kernel string at `ptr`. */
static __always_inline u64 tr_put_kstr_slot(struct tr_buf *b, u64 off, struct tr_life_cfg *c,
					    u32 slot, u64 ptr, u32 *argnum)
{
	int q = tr_slot(b, off, c, slot, TR_CLASS_STR, argnum);
	int r;

	if (q < 0)
		return off;
	r = tr_put_str(b, q, ptr, 1);
	return r < 0 ? off : r;
}

/* Lifecycle string-array slot: NUL-separated user area [start, end). */
static __always_inline u64 tr_put_area_slot(struct tr_buf *b, u64 off, struct tr_life_cfg *c,
					    u32 slot, u64 start, u64 end, u32 *argnum)
{
	int q = tr_slot(b, off, c, slot, TR_CLASS_STR_ARR, argnum);
	int r;

	if (q < 0)
		return off;
	r = tr_put_str_area(b, q, start, end);
	return r < 0 ? off : r;
}

/* An inode's change time in ns (Tracee's ctime), whichever way this kernel stores it. */
static __always_inline u64 tr_inode_ctime(struct inode___tr *inode)
{
	struct inode___tr_v611 *n = (void *)inode;
	struct inode___tr_v66 *m = (void *)inode;
	struct inode___tr_old *o = (void *)inode;

	/* 6.6+: the top bits of the ns field are flags (I_CTIME_QUERIED); ns values need 30 bits */
	if (bpf_core_field_exists(n->i_ctime_sec))
		return BPF_CORE_READ(n, i_ctime_sec) * 1000000000ULL +
		       (BPF_CORE_READ(n, i_ctime_nsec) & ((1U << 30) - 1));
	if (bpf_core_field_exists(m->__i_ctime))
		return BPF_CORE_READ(m, __i_ctime.tv_sec) * 1000000000ULL +
		       (BPF_CORE_READ(m, __i_ctime.tv_nsec) & ((1U << 30) - 1));
	return BPF_CORE_READ(o, i_ctime.tv_sec) * 1000000000ULL + BPF_CORE_READ(o, i_ctime.tv_nsec);
}

/* The task's fd 0 (a struct file *), 0 if it has none. */
static __always_inline struct file___tr *tr_stdin_file(struct task_struct___tr *p)
{
	struct file___tr **fds = BPF_CORE_READ(p, files, fdt, fd);
	struct file___tr *f = 0;

	if (!fds || bpf_probe_read_kernel(&f, sizeof(f), fds))
		return 0;
	return f;
}

/* Lifecycle path slot: the path of (vfsmount, dentry), see tr_put_path. */
static __always_inline u64 tr_put_path_slot(struct tr_buf *b, u64 off, struct tr_life_cfg *c,
					    u32 slot, u64 vfsmnt, u64 dentry, u32 *argnum)
{
	int q = tr_slot(b, off, c, slot, TR_CLASS_STR, argnum);
	int r;

	if (q < 0)
		return off;
	r = tr_put_path(b, q, vfsmnt, dentry);
	return r < 0 ? off : r;
}

/* Exec slots beyond the first twelve (see tr_exec). */
#define TR_EXEC_ITP_PATH 12
#define TR_EXEC_ITP_DEV 13
#define TR_EXEC_ITP_INODE 14
#define TR_EXEC_ITP_CTIME 15
#define TR_EXEC_FROM_KERNEL 16
#define TR_EXEC_PREV_COMM 17

#define TR_PF_KTHREAD 0x00200000 /* task_struct.flags: a kernel thread */
#define TR_AT_NULL 0
#define TR_AT_PAGESZ 6
#define TR_AT_BASE 7 /* auxv: where the ELF interpreter was loaded (0: none) */
#define TR_AUXV_PAIRS 32

/*
 * The comm a task had before its last rename (task_rename fires in __set_task_comm before
 * the copy; an exec renames the task in begin_new_exec, before sched_process_exec), keyed by
 * tid: an exec by a non-leader thread has already taken the leader's tid when it renames.
 * Taken by sched_process_exec, dropped at exit; LRU for tasks that rename and never exec.
 */
struct tr_comm {
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, struct tr_comm);
} tr_prev_comm SEC(".maps");

static __always_inline int tr_rename(struct task_struct___tr *t)
{
	u32 which = TR_LIFE_EXEC, tid;
	struct tr_life_cfg *c = bpf_map_lookup_elem(&tr_lifecycle, &which);
	struct tr_comm v = {};

	/*
	 * Renames come from execs, prctl(PR_SET_NAME) and /proc/PID/comm writes, never per
	 * syscall: an array lookup each, and a hash update only while an exec event wants
	 * prev_comm (a prctl's entry is overwritten by the exec's own rename).
	 */
	if (!c || !c->policies || c->index[TR_EXEC_PREV_COMM] == TR_LIFE_SKIP)
		return 0;
	tid = BPF_CORE_READ(t, pid);
	BPF_CORE_READ_STR_INTO(&v.comm, t, comm);
	bpf_map_update_elem(&tr_prev_comm, &tid, &v, BPF_ANY);
	return 0;
}

/* Lifecycle string slot of at most 15 bytes from BPF memory (a map value). */
static __always_inline u64 tr_put_comm_slot(struct tr_buf *b, u64 off, struct tr_life_cfg *c,
					    u32 slot, struct tr_comm *v, u32 *argnum)
{
	int q = tr_slot(b, off, c, slot, TR_CLASS_STR, argnum);
	u64 o = q;
	long n;

	if (q < 0 || o > TR_OFF_MAX)
		return off;
	n = bpf_probe_read_kernel_str(b->data + o + 4, sizeof(v->comm), v->comm);
	n = n > 0 ? n - 1 : 0;
	*(u32 *)(b->data + o) = n;
	return o + 4 + (n & 15);
}

/*
 * AT_BASE of the auxiliary vector the exec just built (the new mm's saved copy), 0 if none.
 * The kernel puts AT_PAGESZ before AT_BASE; requiring it (a page size, never 0) first also
 * rejects a compat (32-bit) task's vector, whose pairs are u32s this does not read.
 */
static __always_inline u64 tr_at_base(struct mm_struct___tr *mm)
{
	unsigned long *auxv = __builtin_preserve_access_index(&mm->saved_auxv[0]);
	u32 pairs = bpf_core_field_size(mm->saved_auxv) / (2 * sizeof(unsigned long));
	unsigned long kv[2];
	bool pagesz = false;

	for (u32 i = 0; i < TR_AUXV_PAIRS && i < pairs; i++) {
		if (bpf_probe_read_kernel(kv, sizeof(kv), auxv + 2 * i))
			return 0;
		if (kv[0] == TR_AT_NULL)
			return 0;
		if (kv[0] == TR_AT_PAGESZ)
			pagesz = kv[1] >= 4096 && !(kv[1] & (kv[1] - 1));
		if (kv[0] == TR_AT_BASE)
			return pagesz ? kv[1] : 0;
	}
	return 0;
}

static long tr_vma_file(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	*(u64 *)data = (u64)BPF_CORE_READ((struct vm_area_struct___tr *)vma, vm_file);
	return 0;
}

/*
 * The ELF interpreter (ld.so) the exec loaded, 0 for a static binary: the file mapped at the
 * auxv's AT_BASE in the new mm. Tracee learns it from a kprobe on load_elf_phdrs; with no
 * kprobes, the mapping says the same after the fact. The task is current at
 * sched_process_exec; bpf_find_vma (5.17, as bpf_loop the path walk needs) wants a BTF one.
 */
static __always_inline struct file___tr *tr_interpreter(struct mm_struct___tr *mm)
{
	u64 base = tr_at_base(mm), file = 0;

	if (!base)
		return 0;
	if (bpf_find_vma(bpf_get_current_task_btf(), base, tr_vma_file, &file, 0))
		return 0;
	return (void *)file;
}

/*
 * Exec slots: 0 cmdpath (bprm->filename: the path as asked for), 1 pathname (the path of the
 * file executed, bprm->file, walked as Tracee does: symlinks resolved, "memfd:NAME" for a
 * memfd), 2 interp (bprm->interp: a script's `#!` interpreter), 3 argv, 4 env (from the new
 * mm), 5 dev, 6 inode, 7 inode_mode, 8 ctime (of the file), 9 stdin_type, 10 stdin_path
 * (both of fd 0; empty without one), 11 pwd (fs->pwd), 12-15 interpreter path, dev,
 * inode and ctime (the ELF interpreter, only when there is one and it is not the file
 * executed, as Tracee), 16 invoked_from_kernel (the parent is a kernel thread: a usermode
 * helper, Tracee's rule), 17 prev_comm (the comm before the exec renamed the task; absent
 * if task_rename is not attached).
 */
static __noinline u64 tr_exec_args(struct tr_buf *b, struct tr_life_cfg *c,
				   struct task_struct___tr *p, struct linux_binprm___tr *bprm)
{
	u64 off = sizeof(struct tr_header);
	u32 argnum = 0;
	struct mm_struct___tr *mm;
	struct inode___tr *inode;
	struct file___tr *file, *in, *itp = 0;
	struct fs_struct___tr *fs;
	struct tr_comm *prev;
	u64 filename, at;
	u32 tid;

	tr_set_counts(b, 0, 0); /* the path walks may set the truncated flag */
	filename = (u64)BPF_CORE_READ(bprm, filename);
	mm = BPF_CORE_READ(p, mm);
	file = BPF_CORE_READ(bprm, file);
	inode = BPF_CORE_READ(file, f_inode);
	in = tr_stdin_file(p);
	fs = BPF_CORE_READ(p, fs);
	off = tr_put_kstr_slot(b, off, c, 0, filename, &argnum);
	at = off + 3; /* the pathname's payload, after its argument head */
	off = tr_put_path_slot(b, off, c, 1, (u64)BPF_CORE_READ(file, f_path.mnt),
			       (u64)BPF_CORE_READ(file, f_path.dentry), &argnum);
	if (c->index[1] != TR_LIFE_SKIP && off > at)
		tr_f_on_exec_path(b, at);
	off = tr_put_kstr_slot(b, off, c, 2, (u64)BPF_CORE_READ(bprm, interp), &argnum);
	off = tr_put_area_slot(b, off, c, 3, BPF_CORE_READ(mm, arg_start),
			       BPF_CORE_READ(mm, arg_end), &argnum);
	off = tr_put_area_slot(b, off, c, 4, BPF_CORE_READ(mm, env_start),
			       BPF_CORE_READ(mm, env_end), &argnum);
	off = tr_put_u64_slot(b, off, c, 5, BPF_CORE_READ(inode, i_sb, s_dev), &argnum);
	off = tr_put_u64_slot(b, off, c, 6, BPF_CORE_READ(inode, i_ino), &argnum);
	off = tr_put_u64_slot(b, off, c, 7, BPF_CORE_READ(inode, i_mode), &argnum);
	off = tr_put_u64_slot(b, off, c, 8, tr_inode_ctime(inode), &argnum);
	off = tr_put_u64_slot(b, off, c, 9, in ? BPF_CORE_READ(in, f_inode, i_mode) & 0170000 : 0,
			      &argnum);
	off = tr_put_path_slot(b, off, c, 10, in ? (u64)BPF_CORE_READ(in, f_path.mnt) : 0,
			       in ? (u64)BPF_CORE_READ(in, f_path.dentry) : 0, &argnum);
	off = tr_put_path_slot(b, off, c, 11, (u64)BPF_CORE_READ(fs, pwd.mnt),
			       (u64)BPF_CORE_READ(fs, pwd.dentry), &argnum);
	if (c->index[TR_EXEC_ITP_PATH] != TR_LIFE_SKIP || c->index[TR_EXEC_ITP_DEV] != TR_LIFE_SKIP ||
	    c->index[TR_EXEC_ITP_INODE] != TR_LIFE_SKIP || c->index[TR_EXEC_ITP_CTIME] != TR_LIFE_SKIP)
		itp = tr_interpreter(mm);
	if (itp && BPF_CORE_READ(itp, f_inode) != inode) {
		struct inode___tr *ii = BPF_CORE_READ(itp, f_inode);

		off = tr_put_path_slot(b, off, c, TR_EXEC_ITP_PATH,
				       (u64)BPF_CORE_READ(itp, f_path.mnt),
				       (u64)BPF_CORE_READ(itp, f_path.dentry), &argnum);
		off = tr_put_u64_slot(b, off, c, TR_EXEC_ITP_DEV, BPF_CORE_READ(ii, i_sb, s_dev),
				      &argnum);
		off = tr_put_u64_slot(b, off, c, TR_EXEC_ITP_INODE, BPF_CORE_READ(ii, i_ino), &argnum);
		off = tr_put_u64_slot(b, off, c, TR_EXEC_ITP_CTIME, tr_inode_ctime(ii), &argnum);
	}
	off = tr_put_u64_slot(b, off, c, TR_EXEC_FROM_KERNEL,
			      (BPF_CORE_READ(p, real_parent, flags) & TR_PF_KTHREAD) != 0, &argnum);
	tid = BPF_CORE_READ(p, pid);
	prev = bpf_map_lookup_elem(&tr_prev_comm, &tid);
	if (prev) {
		off = tr_put_comm_slot(b, off, c, TR_EXEC_PREV_COMM, prev, &argnum);
		bpf_map_delete_elem(&tr_prev_comm, &tid);
	}
	((struct tr_header *)b->data)->argnum = argnum;
	return off;
}

/*
 * The exec event: its arguments (tr_exec_args, a subprogram: its many live pointers make the
 * largest frame of the lifecycle code, which must not sit under the filters' call chain),
 * then the filters' judgement.
 */
static __always_inline int tr_exec(struct task_struct___tr *p, struct linux_binprm___tr *bprm)
{
	struct tr_life_cfg *c = tr_life(TR_LIFE_EXEC);
	struct tr_f_verdict vd;
	struct tr_buf *b;
	u64 off, policies;

	/* the filters hash the executable's path: from the pathname slot's walk when it has one */
	if (!c || c->index[1] == TR_LIFE_SKIP)
		tr_f_on_exec(bprm);
	if (!c)
		return 0;
	b = tr_scratch_buf();
	if (!b)
		return 0;
	off = tr_exec_args(b, c, p, bprm);
	policies = tr_f_decide(c->event_id, c->policies, b, 0, &vd);
	if (!policies)
		return 0;
	tr_fill_header(b, c->event_id, TR_SYSCALL_CURRENT, 0, policies, bpf_ktime_get_ns(), 0);
	tr_emit(b, off);
	return 0;
}

/* Fork slots: parent tid, ns tid, pid, ns pid, start time; the same five of the child. */
static __always_inline int tr_fork(struct task_struct___tr *parent,
				   struct task_struct___tr *child)
{
	struct tr_life_cfg *c = tr_life(TR_LIFE_FORK);
	u64 off = sizeof(struct tr_header);
	u32 argnum = 0;
	struct task_struct___tr *pl, *cl;
	struct tr_f_verdict vd;
	struct tr_buf *b;
	u64 policies;

	tr_f_on_fork(parent, child);
	if (!c)
		return 0;
	b = tr_scratch_buf();
	if (!b)
		return 0;
	pl = BPF_CORE_READ(parent, group_leader);
	cl = BPF_CORE_READ(child, group_leader);
	off = tr_put_u64_slot(b, off, c, 0, BPF_CORE_READ(parent, pid), &argnum);
	off = tr_put_u64_slot(b, off, c, 1, tr_ns_nr(parent), &argnum);
	off = tr_put_u64_slot(b, off, c, 2, BPF_CORE_READ(parent, tgid), &argnum);
	off = tr_put_u64_slot(b, off, c, 3, tr_ns_nr(pl), &argnum);
	off = tr_put_u64_slot(b, off, c, 4, BPF_CORE_READ(parent, start_time), &argnum);
	off = tr_put_u64_slot(b, off, c, 5, BPF_CORE_READ(child, pid), &argnum);
	off = tr_put_u64_slot(b, off, c, 6, tr_ns_nr(child), &argnum);
	off = tr_put_u64_slot(b, off, c, 7, BPF_CORE_READ(child, tgid), &argnum);
	off = tr_put_u64_slot(b, off, c, 8, tr_ns_nr(cl), &argnum);
	off = tr_put_u64_slot(b, off, c, 9, BPF_CORE_READ(child, start_time), &argnum);
	tr_set_counts(b, argnum, 0);
	policies = tr_f_decide(c->event_id, c->policies, b, 0, &vd);
	if (!policies)
		return 0;
	tr_fill_header(b, c->event_id, TR_SYSCALL_CURRENT, 0, policies, bpf_ktime_get_ns(), 0);
	tr_emit(b, off);
	return 0;
}

static __always_inline int tr_exit(struct task_struct___tr *p)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct tr_life_cfg *c;
	u64 off = sizeof(struct tr_header);
	u32 argnum = 0;
	struct tr_f_verdict vd;
	struct tr_buf *b;
	int code, live;
	u64 policies;

	/* exit/exit_group never reach sys_exit (tr_pending is freed with the task) */
	bpf_map_delete_elem(&tr_entry_bufs, &tid);
	bpf_map_delete_elem(&tr_prev_comm, &tid);
	c = tr_life(TR_LIFE_EXIT);
	if (!c) {
		tr_f_on_exit(p);
		return 0;
	}
	if (!c)
		return 0;
	b = tr_scratch_buf();
	if (!b)
		return 0;
	code = BPF_CORE_READ(p, exit_code);
	live = BPF_CORE_READ(p, signal, live.counter);
	off = tr_put_u64_slot(b, off, c, 0, (code >> 8) & 0xff, &argnum);
	off = tr_put_u64_slot(b, off, c, 1, code & 0x7f, &argnum);
	off = tr_put_u64_slot(b, off, c, 2, live == 0, &argnum);
	tr_set_counts(b, argnum, 0);
	policies = tr_f_decide(c->event_id, c->policies, b, 0, &vd);
	if (policies) {
		tr_fill_header(b, c->event_id, TR_SYSCALL_CURRENT, 0, policies, bpf_ktime_get_ns(), 0);
		tr_emit(b, off);
	}
	tr_f_on_exit(p);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tracee_sched_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return tr_exec((void *)p, (void *)bprm);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tracee_sched_fork, struct task_struct *parent, struct task_struct *child)
{
	return tr_fork((void *)parent, (void *)child);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tracee_sched_exit, struct task_struct *p)
{
	return tr_exit((void *)p);
}

SEC("tp_btf/task_rename")
int BPF_PROG(tracee_task_rename, struct task_struct *t, const char *comm)
{
	return tr_rename((void *)t);
}

/* raw_tp fallbacks (same code, untyped context): for kernels where tp_btf cannot attach. */

SEC("raw_tp/sched_process_exec")
int BPF_PROG(tracee_sched_exec_raw, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	return tr_exec((void *)p, (void *)bprm);
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(tracee_sched_fork_raw, struct task_struct *parent, struct task_struct *child)
{
	return tr_fork((void *)parent, (void *)child);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(tracee_sched_exit_raw, struct task_struct *p)
{
	return tr_exit((void *)p);
}

SEC("raw_tp/task_rename")
int BPF_PROG(tracee_task_rename_raw, struct task_struct *t, const char *comm)
{
	return tr_rename((void *)t);
}

#endif /* __TRACEE_LIFECYCLE_BPF_H__ */
