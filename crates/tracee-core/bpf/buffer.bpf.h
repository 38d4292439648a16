/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Writing an event into a buffer (struct tr_buf) in the wire format: strings, string arrays,
 * bytes, sockaddrs, a syscall's arguments by their configs, and handing the event to the
 * ring buffer (tr_emit).
 */
#ifndef __TRACEE_BUFFER_BPF_H__
#define __TRACEE_BUFFER_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tracee/buffers.h"
#include "wire.bpf.h"
#include "state.bpf.h"

/* String: u32 length (no NUL) then the bytes. An unreadable string is empty. */
__noinline int tr_put_str(struct tr_buf *b, u64 off, u64 ptr, u32 kernel)
{
	long n = 0;
	u32 len;
	u8 *p;

	if (!b || off > TR_OFF_MAX)
		return -1;
	p = b->data + off;
	if (ptr) {
		if (kernel)
			n = bpf_probe_read_kernel_str(p + 4, TR_STR_MAX, (void *)ptr);
		else
			n = bpf_probe_read_user_str(p + 4, TR_STR_MAX, (void *)ptr);
	}
	len = n > 0 ? n - 1 : 0;
	*(u32 *)p = len;
	return off + 4 + len;
}

/* Count/truncation head of a string array. */
static __always_inline void tr_put_arr_head(struct tr_buf *b, u64 at, u16 count, u8 trunc)
{
	u8 *p;

	if (at > TR_OFF_MAX)
		return;
	p = b->data + at;
	*(u16 *)p = count;
	p[2] = trunc;
	p[3] = 0;
}

/* String array from a NULL-terminated user array of string pointers (argv, envp). */
__noinline int tr_put_str_arr(struct tr_buf *b, u64 off, u64 uptr)
{
	u64 head = off;
	u16 count = 0;
	u8 trunc = 0;
	int i;

	if (!b || off > TR_OFF_MAX)
		return -1;
	off += 4;
	for (i = 0; i < TR_ARR_MAX; i++) {
		u64 p = 0;
		int r;

		if (!uptr || bpf_probe_read_user(&p, sizeof(p), (void *)(uptr + i * 8)) < 0 || !p)
			goto done;
		r = tr_put_str(b, off, p, 0);
		if (r < 0 || r > TR_OFF_MAX) {
			/* no room for more elements (the last one may be cut short) */
			if (r > TR_OFF_MAX) {
				off = r;
				count++;
			}
			trunc = 1;
			goto done;
		}
		off = r;
		count++;
	}
	trunc = 1;
done:
	tr_put_arr_head(b, head, count, trunc);
	return off;
}

/* String array from a NUL-separated user region [start, end) (a process's argv area). */
__noinline int tr_put_str_area(struct tr_buf *b, u64 off, u64 start, u64 end)
{
	u64 head = off;
	u16 count = 0;
	u8 trunc = 0;
	int i;

	if (!b || off > TR_OFF_MAX)
		return -1;
	off += 4;
	for (i = 0; i < TR_ARR_MAX; i++) {
		long n;

		if (start >= end)
			goto done;
		if (off > TR_OFF_MAX) {
			trunc = 1;
			goto done;
		}
		n = bpf_probe_read_user_str(b->data + off + 4, TR_STR_MAX, (void *)start);
		if (n <= 0)
			goto done;
		*(u32 *)(b->data + off) = n - 1;
		off += 4 + n - 1;
		start += n;
		count++;
	}
	trunc = start < end;
done:
	tr_put_arr_head(b, head, count, trunc);
	return off;
}

/* Bytes: u32 length then the bytes (at most TR_BYTES_MAX). */
__noinline int tr_put_bytes(struct tr_buf *b, u64 off, u64 uptr, u64 len)
{
	u64 n = len;
	u8 *p;

	if (!b || off > TR_OFF_MAX)
		return -1;
	p = b->data + off;
	if (!uptr)
		n = 0;
	if (n > TR_BYTES_MAX)
		n = TR_BYTES_MAX;
	barrier_var(n);
	if (n > TR_BYTES_MAX)
		n = 0;
	if (n && bpf_probe_read_user(p + 4, n, (void *)uptr) < 0)
		n = 0;
	*(u32 *)p = n;
	return off + 4 + n;
}

/* A struct sockaddr: as many bytes as its family uses. */
__noinline int tr_put_sockaddr(struct tr_buf *b, u64 off, u64 uptr)
{
	u16 family = 0;
	u64 len = 16;

	if (!b || off > TR_OFF_MAX)
		return -1;
	if (uptr && bpf_probe_read_user(&family, sizeof(family), (void *)uptr) == 0) {
		if (family == 1) /* AF_UNIX */
			len = 110;
		else if (family == 10) /* AF_INET6 */
			len = 28;
	}
	return tr_put_bytes(b, off, uptr, len);
}

/* Argument head: definition index, ArgType wire code, wire class. */
static __always_inline void tr_put_arg_head(struct tr_buf *b, u64 off, u8 index, u8 type,
					    u8 class)
{
	u8 *p;

	if (off > TR_OFF_MAX)
		return;
	p = b->data + off;
	p[0] = index;
	p[1] = type;
	p[2] = class;
}

static __always_inline void tr_set_counts(struct tr_buf *b, u32 argnum, u8 flags)
{
	struct tr_header *h = (void *)b->data;

	h->argnum = argnum;
	h->flags = flags;
}

/* The arguments of a syscall event after the header; returns the event's size. */
__noinline int tr_put_args(struct tr_buf *b, struct tr_saved *s, struct tr_event_cfg *cfg,
			   s64 ret)
{
	u64 off = sizeof(struct tr_header);
	u32 argnum = 0;
	u8 flags = 0;
	int i;

	if (!b || !s || !cfg)
		return -1;
	for (i = 0; i < TR_MAX_ARGS; i++) {
		struct tr_arg_cfg a = cfg->args[i];
		u8 class = a.class & TR_CLASS_MASK;
		u64 v = s->args[i];
		u64 start = off;
		int r;

		if (class == TR_CLASS_NONE)
			continue;
		if (off > TR_OFF_MAX) {
			flags |= TR_HDR_TRUNCATED;
			break;
		}
		tr_put_arg_head(b, off, a.index, a.type,
				class == TR_CLASS_SOCKADDR ? TR_CLASS_BYTES : class);
		off += 3;
		switch (class) {
		case TR_CLASS_U64:
		case TR_CLASS_INT4:
		case TR_CLASS_INT2:
		case TR_CLASS_INT1:
			if (off > TR_OFF_MAX) {
				r = -1;
				break;
			}
			/* little-endian: the first bytes are the low ones */
			*(u64 *)(b->data + off) = v;
			r = off + (class == TR_CLASS_U64 ? 8 :
				   class == TR_CLASS_INT4 ? 4 :
				   class == TR_CLASS_INT2 ? 2 : 1);
			break;
		case TR_CLASS_INT_PAIR: {
			u64 pair = 0;

			if (off > TR_OFF_MAX) {
				r = -1;
				break;
			}
			if (v && bpf_probe_read_user(&pair, sizeof(pair), (void *)v) < 0)
				pair = 0;
			*(u64 *)(b->data + off) = pair;
			r = off + 8;
			break;
		}
		case TR_CLASS_STR:
			r = tr_put_str(b, off, v, 0);
			break;
		case TR_CLASS_STR_ARR:
			r = tr_put_str_arr(b, off, v);
			break;
		case TR_CLASS_BYTES: {
			u64 len = 0;

			if (a.len_arg < TR_MAX_ARGS)
				len = s->args[a.len_arg];
			if (a.class & TR_LEN_RETVAL)
				len = ret < 0 ? 0 : ((u64)ret < len ? (u64)ret : len);
			r = tr_put_bytes(b, off, v, len);
			break;
		}
		case TR_CLASS_SOCKADDR:
			r = tr_put_sockaddr(b, off, v);
			break;
		default:
			r = -1;
			break;
		}
		if (r < 0 || r > TR_BUF_SIZE) {
			off = start;
			flags |= TR_HDR_TRUNCATED;
			break;
		}
		off = r;
		argnum++;
	}
	tr_set_counts(b, argnum, flags);
	return off;
}

static __always_inline void tr_emit(struct tr_buf *b, u32 size)
{
	u64 n = size;

	if (size < sizeof(struct tr_header) || size >= TR_BUF_SIZE)
		return;
	/* opaque to clang, so the no-op mask that shows the verifier the bound stays */
	barrier_var(n);
	n &= TR_BUF_SIZE - 1;
	tracee_rb_output(&events, b, n);
}

#endif /* __TRACEE_BUFFER_BPF_H__ */
