/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The syscall hooks: tp_btf/sys_exit (tracee_sys_exit_regs, reads the arguments from the
 * task's registers at exit), raw_tp/sys_enter (entry events, and the whole pair's entry
 * where tp_btf cannot attach) and raw_tp/sys_exit (that pair's exit).
 */
#ifndef __TRACEE_SYSCALLS_BPF_H__
#define __TRACEE_SYSCALLS_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "tracee/buffers.h"
#include "tracee_types.h"
#include "wire.bpf.h"
#include "state.bpf.h"
#include "task.bpf.h"
#include "buffer.bpf.h"
#include "filters.bpf.h"

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

#endif /* __TRACEE_SYSCALLS_BPF_H__ */
