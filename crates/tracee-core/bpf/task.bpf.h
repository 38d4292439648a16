/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The current task: who it is (the tracer itself? host and namespace pids, ids, comm), which
 * syscall it is in and whether that is a 32-bit one, and the event header's task fields
 * (tr_fill_task) and per-event fields (tr_fill_header).
 */
#ifndef __TRACEE_TASK_BPF_H__
#define __TRACEE_TASK_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "tracee_types.h"
#include "wire.bpf.h"
#include "state.bpf.h"

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

#endif /* __TRACEE_TASK_BPF_H__ */
