/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Event-buffer conventions shared by the tracee-rs BPF programs and the userspace readers in
 * tracee-bpf-obj (crates/tracee-bpf-obj/src/module/buffers/). Keep the two in sync:
 *
 *  - `tracee_rb_cfg`: ARRAY, 1 entry, struct tracee_rb_cfg. Userspace writes the ring-buffer
 *    wakeup policy here after load; the BPF side reads it on every output.
 *      mode 0 (TRACEE_RB_WAKEUP_EVERY):     default kernel wakeups, one per event.
 *      mode 1 (TRACEE_RB_WAKEUP_NONE):      never wake the reader; it polls on an interval.
 *      mode 2 (TRACEE_RB_WAKEUP_THRESHOLD): wake only once `threshold` bytes are waiting.
 *  - `tracee_drops`: PERCPU_ARRAY, 1 entry, u64: events the BPF side could not put into a
 *    ring buffer (reserve/output failed because it was full). Userspace sums the CPUs.
 *
 * Perf-buffer overflows are not counted here: the kernel reports them as lost samples.
 */
#ifndef __TRACEE_BUFFERS_H__
#define __TRACEE_BUFFERS_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define TRACEE_RB_WAKEUP_EVERY 0
#define TRACEE_RB_WAKEUP_NONE 1
#define TRACEE_RB_WAKEUP_THRESHOLD 2

struct tracee_rb_cfg {
	__u32 mode;
	__u32 threshold;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tracee_rb_cfg);
} tracee_rb_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tracee_drops SEC(".maps");

/* Count one event lost on the BPF side. */
static __always_inline void tracee_count_drop(void)
{
	__u32 zero = 0;
	__u64 *drops = bpf_map_lookup_elem(&tracee_drops, &zero);

	if (drops)
		*drops += 1; /* per-CPU slot: no atomic needed */
}

/*
 * Flags for bpf_ringbuf_submit/output under the configured wakeup policy. `adding` is what
 * the caller is about to add beyond what the ring already holds (a record not yet reserved,
 * with its 8-byte header); 0 for submit, whose record is already counted as available.
 */
static __always_inline __u64 tracee_rb_wakeup_flags(void *rb, __u64 adding)
{
	__u32 zero = 0;
	struct tracee_rb_cfg *cfg = bpf_map_lookup_elem(&tracee_rb_cfg, &zero);

	if (!cfg || cfg->mode == TRACEE_RB_WAKEUP_EVERY)
		return 0;
	if (cfg->mode == TRACEE_RB_WAKEUP_THRESHOLD &&
	    bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA) + adding >= cfg->threshold)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/* bpf_ringbuf_output under the wakeup policy, counting a failure as a drop. */
static __always_inline long tracee_rb_output(void *rb, void *data, __u64 size)
{
	long err = bpf_ringbuf_output(rb, data, size, tracee_rb_wakeup_flags(rb, ((size + 7) & ~7ULL) + 8));

	if (err)
		tracee_count_drop();
	return err;
}

/* bpf_ringbuf_reserve counting a failure as a drop; pair with tracee_rb_submit. */
#define tracee_rb_reserve(rb, size)                                       \
	({                                                                \
		void *__rec = bpf_ringbuf_reserve((rb), (size), 0);       \
		if (!__rec)                                               \
			tracee_count_drop();                              \
		__rec;                                                    \
	})

#define tracee_rb_submit(rb, rec) bpf_ringbuf_submit((rec), tracee_rb_wakeup_flags((rb), 0))

#endif /* __TRACEE_BUFFERS_H__ */
