/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The wire format (docs/wire-format.md) and the configuration userspace writes: sizes and
 * limits, argument classes, header flags, the event header and the per-event and lifecycle
 * configs. The Rust twins are crates/tracee-core/src/wire/{header,config}.rs.
 */
#ifndef __TRACEE_WIRE_BPF_H__
#define __TRACEE_WIRE_BPF_H__

#include "vmlinux.h"

#define TR_WIRE_VERSION 1
#define TR_MAX_SYSCALLS 1024
#define TR_MAX_ARGS 6
#define TR_LIFE_SLOTS 32
#define TR_BUF_SIZE 16384
#define TR_STR_MAX 4096
#define TR_BYTES_MAX 4096
#define TR_OFF_MAX (TR_BUF_SIZE - TR_STR_MAX - 64)
#define TR_ARR_MAX 128

/* Argument classes: how an argument is read (config) and laid out (wire). */
#define TR_CLASS_NONE 0
#define TR_CLASS_U64 1      /* 8 bytes */
#define TR_CLASS_STR 2      /* u32 len + bytes */
#define TR_CLASS_STR_ARR 3  /* u16 count, u8 truncated, u8 0, then count strings */
#define TR_CLASS_BYTES 4    /* u32 len + bytes */
#define TR_CLASS_SOCKADDR 5 /* config only: emitted as BYTES */
#define TR_CLASS_INT4 6     /* low 4 bytes of the register */
#define TR_CLASS_INT2 7     /* low 2 bytes */
#define TR_CLASS_INT1 8     /* low byte */
#define TR_CLASS_INT_PAIR 9 /* two ints read from the user pointer at exit (pipe's fds) */
#define TR_CLASS_MASK 0x0f
#define TR_LEN_RETVAL 0x10 /* BYTES: length also bounded by a non-negative return value */

/* tr_event_cfg.flags */
#define TR_EV_CAPTURE_AT_ENTRY 1
#define TR_EV_EMIT_AT_ENTRY 2

/* tr_header.flags */
#define TR_HDR_TRUNCATED 1
#define TR_HDR_ARGS_AT_ENTRY 2
#define TR_HDR_NO_RETURN 4

/* Lifecycle slots of tr_lifecycle. */
#define TR_LIFE_EXEC 0
#define TR_LIFE_FORK 1
#define TR_LIFE_EXIT 2
#define TR_LIFE_SKIP 0xff

struct tr_arg_cfg {
	u8 class;   /* TR_CLASS_* | TR_LEN_RETVAL */
	u8 type;    /* the catalog's ArgType wire code, copied into the event */
	u8 index;   /* the argument's position in the event definition */
	u8 len_arg; /* BYTES: the argument register holding the length */
};

struct tr_event_cfg {
	u64 policies; /* matched-policies bitmap; 0 = event not selected */
	u32 event_id;
	u32 flags;
	struct tr_arg_cfg args[TR_MAX_ARGS];
};

struct tr_life_cfg {
	u64 policies;
	u32 event_id;
	u32 flags;
	u8 index[TR_LIFE_SLOTS]; /* per BPF slot: position in the definition, or TR_LIFE_SKIP */
	u8 type[TR_LIFE_SLOTS];  /* per BPF slot: ArgType wire code */
};

struct tr_config {
	u32 tracer_tgid;
	u32 flags; /* TR_CFG_* */
};

/* tr_config.flags: tracee_sys_exit_regs is attached (tracee_sys_enter saves entry events only) */
#define TR_CFG_EXIT_READS_REGS 1

struct tr_header {
	u8 version;
	u8 flags;
	u8 argnum;
	u8 policies_version; /* low byte of the policies version that judged it (tr_f_finish) */
	u32 event_id;
	u64 ts;
	u64 start_time;
	u64 cgroup_id;
	u64 policies;
	s64 retval;
	u32 pid;
	u32 tid;
	u32 ppid;
	u32 ns_pid;
	u32 ns_tid;
	u32 ns_ppid;
	u32 uid;
	u32 gid;
	u32 mnt_ns;
	u32 pid_ns;
	s32 syscall;
	u32 cpu;
	char comm[16];
	char uts_name[16];
};

_Static_assert(sizeof(struct tr_header) == 128, "wire header is 128 bytes");
_Static_assert(sizeof(struct tr_event_cfg) == 40, "tr_event_cfg is 40 bytes");
_Static_assert(sizeof(struct tr_life_cfg) == 80, "tr_life_cfg is 80 bytes");

struct tr_buf {
	u8 data[TR_BUF_SIZE];
};

#endif /* __TRACEE_WIRE_BPF_H__ */
