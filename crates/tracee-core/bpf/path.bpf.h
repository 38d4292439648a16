/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The path of a (vfsmount, dentry) pair, walked up to the root of the mount tree as Tracee's
 * get_path_str does, written as a wire string (tr_put_path).
 */
#ifndef __TRACEE_PATH_BPF_H__
#define __TRACEE_PATH_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "tracee_types.h"
#include "wire.bpf.h"
#include "buffer.bpf.h"

/* Path walk ------------------------------------------------------------------------ */

#define TR_PATH_HALF 4096  /* the path is built backwards, ending at this offset */
#define TR_PATH_DEPTH 64   /* components at most */
#define TR_PATH_STEPS 96   /* loop iterations: components plus mount crossings */
#define TR_PATH_ROOM (TR_STR_MAX - 8) /* bytes at most, with room for the "..." mark */
#define TR_NAME_MAX 255

/*
 * The walk's state lives here, in the map value, not on the stack: the verifier checks a
 * bpf_loop callback until its states converge, and it tracks stack scalars exactly (the depth
 * counter 0, 1, 2, ... and each range of pos made a new state per iteration: verifying the
 * exec program took 550k instructions, loading the object 2 s). A map value's fields are
 * unknown scalars to it, so one pass over the callback converges.
 */
struct tr_path_buf {
	u64 dentry; /* struct dentry * */
	u64 mnt;    /* struct mount * */
	u64 pos;    /* the path built so far is data[pos, TR_PATH_HALF) */
	u32 depth;
	u32 state;
	/* Twice the path's room: a name written at any offset of the first half stays inside. */
	u8 data[2 * TR_PATH_HALF];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct tr_path_buf);
} tr_path_scratch SEC(".maps");

#define TR_PATH_WALKING 0
#define TR_PATH_DONE 1
#define TR_PATH_TRUNCATED 2

/* The callback's context: only the (loop-invariant) pointer to the state. */
struct tr_path_walk {
	struct tr_path_buf *pb;
};

/* One step up: a component of the path, or from a mount's root to where it is mounted. */
static long tr_path_step(u64 i, void *data)
{
	struct tr_path_buf *w = ((struct tr_path_walk *)data)->pb;
	struct dentry___tr *d, *parent, *root;
	struct mount___tr *m, *up;
	u32 len;
	u64 pos;

	if (!w)
		return 1;
	d = (void *)w->dentry;
	m = (void *)w->mnt;
	if (!d)
		return 1;
	parent = BPF_CORE_READ(d, d_parent);
	root = BPF_CORE_READ(m, mnt.mnt_root);
	if (d == root || d == parent) {
		/* a root that is not its mount's: a pseudo file (memfd, pipe, ...) - stop */
		if (d != root) {
			w->state = TR_PATH_DONE;
			return 1;
		}
		up = BPF_CORE_READ(m, mnt_parent);
		if (!up || up == m) { /* the root of the mount tree */
			w->state = TR_PATH_DONE;
			return 1;
		}
		w->dentry = (u64)BPF_CORE_READ(m, mnt_mountpoint);
		w->mnt = (u64)up;
		return 0;
	}
	len = BPF_CORE_READ(d, d_name.len);
	pos = w->pos;
	if (w->depth >= TR_PATH_DEPTH || len > TR_NAME_MAX || pos > TR_PATH_HALF ||
	    TR_PATH_HALF - pos + len + 1 > TR_PATH_ROOM) {
		w->state = TR_PATH_TRUNCATED;
		return 1;
	}
	pos -= len;
	if (bpf_probe_read_kernel(&w->data[pos & (TR_PATH_HALF - 1)], len,
				  BPF_CORE_READ(d, d_name.name)) < 0) {
		w->state = TR_PATH_TRUNCATED;
		return 1;
	}
	pos -= 1;
	w->data[pos & (TR_PATH_HALF - 1)] = '/';
	w->pos = pos;
	w->depth++;
	w->dentry = (u64)parent;
	return 0;
}

/*
 * String: the path of (vfsmount, dentry) from the root of the mount tree, as Tracee's
 * get_path_str builds it: the names of the dentries up to their mount's root, crossing each
 * mount at its mountpoint. A file with no path (memfd, pipe, socket: its dentry is a root
 * of no mount) is its dentry's name, e.g. "memfd:NAME". A path deeper than TR_PATH_DEPTH
 * components or longer than TR_PATH_ROOM bytes keeps its last components behind a "..."
 * mark ("..." + "/c/d") and sets the header's truncated flag. Nothing readable: empty.
 */
__noinline int tr_put_path(struct tr_buf *b, u64 off, u64 vfsmnt, u64 dentry)
{
	struct tr_path_walk w = {};
	struct tr_path_buf *pb;
	u32 zero = 0, state;
	u64 n, pos;

	if (!b || off > TR_OFF_MAX)
		return -1;
	pb = bpf_map_lookup_elem(&tr_path_scratch, &zero);
	if (!pb || !vfsmnt || !dentry)
		return tr_put_str(b, off, 0, 1);
	pb->dentry = dentry;
	pb->mnt = vfsmnt - bpf_core_field_offset(struct mount___tr, mnt);
	pb->pos = TR_PATH_HALF;
	pb->depth = 0;
	pb->state = TR_PATH_WALKING;
	w.pb = pb;
	bpf_loop(TR_PATH_STEPS, tr_path_step, &w, 0);
	state = pb->state;
	pos = pb->pos;
	if (state == TR_PATH_WALKING)
		state = TR_PATH_TRUNCATED;
	if (pos >= TR_PATH_HALF) { /* no component: the name of the root it stopped at */
		struct dentry___tr *last = (void *)pb->dentry;

		return tr_put_str(b, off, (u64)BPF_CORE_READ(last, d_name.name), 1);
	}
	if (state == TR_PATH_TRUNCATED && pos >= 3) {
		pos -= 3;
		pb->data[pos & (TR_PATH_HALF - 1)] = '.';
		pb->data[(pos + 1) & (TR_PATH_HALF - 1)] = '.';
		pb->data[(pos + 2) & (TR_PATH_HALF - 1)] = '.';
		((struct tr_header *)b->data)->flags |= TR_HDR_TRUNCATED;
	}
	n = TR_PATH_HALF - pos;
	barrier_var(n);
	if (n > TR_STR_MAX)
		n = 0;
	if (bpf_probe_read_kernel(b->data + off + 4, n, &pb->data[pos & (TR_PATH_HALF - 1)]) < 0)
		n = 0;
	*(u32 *)(b->data + off) = n;
	return off + 4 + n;
}

#endif /* __TRACEE_PATH_BPF_H__ */
