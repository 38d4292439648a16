/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Puts into the object's BTF everything the Rust side mirrors by hand, so that
 * crates/tracee-core/tests/layout_matches_btf.rs can check each Rust twin against it, field by
 * field, on the committed objects. Generates no instructions and no map.
 *
 *  - `struct tr_layout` points at every struct with a Rust twin: clang emits BTF only for the
 *    types of globals and maps and for function prototypes, so a struct used only through
 *    pointer casts in inlined code (tr_header) would otherwise be missing.
 *  - `enum tr_layout_const` repeats, as LAYOUT_<name> = <name>, the #defines the Rust side
 *    mirrors: BTF keeps enum values but knows nothing of macros. Being the macros themselves,
 *    the enumerators cannot drift from them.
 *  - The one global, `__tr_layout`, lives in its own section: libbpf makes maps only of
 *    .data/.rodata/.bss (and .maps), and skips any other data section (like `license`, it
 *    only sizes its BTF DATASEC from the ELF section).
 */
#ifndef __TRACEE_LAYOUT_BPF_H__
#define __TRACEE_LAYOUT_BPF_H__

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tracee/buffers.h"
#include "wire.bpf.h"
#include "filters.bpf.h"
#include "lifecycle.bpf.h"

enum tr_layout_const {
	/* wire.bpf.h */
	LAYOUT_TR_WIRE_VERSION = TR_WIRE_VERSION,
	LAYOUT_TR_MAX_SYSCALLS = TR_MAX_SYSCALLS,
	LAYOUT_TR_MAX_ARGS = TR_MAX_ARGS,
	LAYOUT_TR_LIFE_SLOTS = TR_LIFE_SLOTS,
	LAYOUT_TR_BUF_SIZE = TR_BUF_SIZE,
	LAYOUT_TR_STR_MAX = TR_STR_MAX,
	LAYOUT_TR_BYTES_MAX = TR_BYTES_MAX,
	LAYOUT_TR_ARR_MAX = TR_ARR_MAX,
	LAYOUT_TR_CLASS_NONE = TR_CLASS_NONE,
	LAYOUT_TR_CLASS_U64 = TR_CLASS_U64,
	LAYOUT_TR_CLASS_STR = TR_CLASS_STR,
	LAYOUT_TR_CLASS_STR_ARR = TR_CLASS_STR_ARR,
	LAYOUT_TR_CLASS_BYTES = TR_CLASS_BYTES,
	LAYOUT_TR_CLASS_SOCKADDR = TR_CLASS_SOCKADDR,
	LAYOUT_TR_CLASS_INT4 = TR_CLASS_INT4,
	LAYOUT_TR_CLASS_INT2 = TR_CLASS_INT2,
	LAYOUT_TR_CLASS_INT1 = TR_CLASS_INT1,
	LAYOUT_TR_CLASS_INT_PAIR = TR_CLASS_INT_PAIR,
	LAYOUT_TR_LEN_RETVAL = TR_LEN_RETVAL,
	LAYOUT_TR_EV_CAPTURE_AT_ENTRY = TR_EV_CAPTURE_AT_ENTRY,
	LAYOUT_TR_EV_EMIT_AT_ENTRY = TR_EV_EMIT_AT_ENTRY,
	LAYOUT_TR_HDR_TRUNCATED = TR_HDR_TRUNCATED,
	LAYOUT_TR_HDR_ARGS_AT_ENTRY = TR_HDR_ARGS_AT_ENTRY,
	LAYOUT_TR_HDR_NO_RETURN = TR_HDR_NO_RETURN,
	LAYOUT_TR_LIFE_EXEC = TR_LIFE_EXEC,
	LAYOUT_TR_LIFE_FORK = TR_LIFE_FORK,
	LAYOUT_TR_LIFE_EXIT = TR_LIFE_EXIT,
	LAYOUT_TR_LIFE_SKIP = TR_LIFE_SKIP,
	LAYOUT_TR_CFG_EXIT_READS_REGS = TR_CFG_EXIT_READS_REGS,
	/* lifecycle.bpf.h: exec slots named in the code (the Rust slot order must agree) */
	LAYOUT_TR_EXEC_ITP_PATH = TR_EXEC_ITP_PATH,
	LAYOUT_TR_EXEC_ITP_DEV = TR_EXEC_ITP_DEV,
	LAYOUT_TR_EXEC_ITP_INODE = TR_EXEC_ITP_INODE,
	LAYOUT_TR_EXEC_ITP_CTIME = TR_EXEC_ITP_CTIME,
	LAYOUT_TR_EXEC_FROM_KERNEL = TR_EXEC_FROM_KERNEL,
	LAYOUT_TR_EXEC_PREV_COMM = TR_EXEC_PREV_COMM,
	/* filters.bpf.h */
	LAYOUT_TR_F_KINDS = TR_F_KINDS,
	LAYOUT_TR_F_RANGE_KINDS = TR_F_RANGE_KINDS,
	LAYOUT_TR_F_UID = TR_F_UID,
	LAYOUT_TR_F_PID = TR_F_PID,
	LAYOUT_TR_F_MNTNS = TR_F_MNTNS,
	LAYOUT_TR_F_PIDNS = TR_F_PIDNS,
	LAYOUT_TR_F_EXE = TR_F_EXE,
	LAYOUT_TR_F_COMM = TR_F_COMM,
	LAYOUT_TR_F_UTS = TR_F_UTS,
	LAYOUT_TR_F_TREE = TR_F_TREE,
	LAYOUT_TR_F_STR = TR_F_STR,
	LAYOUT_TR_F_LPM = TR_F_LPM,
	LAYOUT_TR_F_LPM_HEADER_BITS = TR_F_LPM_HEADER_BITS,
	LAYOUT_TR_F_PROC_HAS_EXE = TR_F_PROC_HAS_EXE,
	/* tracee/buffers.h */
	LAYOUT_TRACEE_RB_WAKEUP_EVERY = TRACEE_RB_WAKEUP_EVERY,
	LAYOUT_TRACEE_RB_WAKEUP_NONE = TRACEE_RB_WAKEUP_NONE,
	LAYOUT_TRACEE_RB_WAKEUP_THRESHOLD = TRACEE_RB_WAKEUP_THRESHOLD,
};

struct tr_layout {
	enum tr_layout_const consts;
	/* wire.bpf.h */
	struct tr_header header[0];
	struct tr_arg_cfg arg_cfg[0];
	struct tr_event_cfg event_cfg[0];
	struct tr_life_cfg life_cfg[0];
	struct tr_config config[0];
	/* filters.bpf.h */
	struct tr_f_active f_active[0];
	struct tr_f_eq f_eq[0];
	struct tr_f_range f_range[0];
	struct tr_f_scope_cfg f_scope_cfg[0];
	struct tr_f_event_key f_event_key[0];
	struct tr_f_event_val f_event_val[0];
	struct tr_f_num_key f_num_key[0];
	struct tr_f_str_key f_str_key[0];
	struct tr_f_tree_key f_tree_key[0];
	struct tr_f_arg_key f_arg_key[0];
	struct tr_f_arg_val f_arg_val[0];
	struct tr_f_data_key f_data_key[0];
	struct tr_f_lpm_key f_lpm_key[0];
	struct tr_f_proc_slot f_proc_slot[0];
	struct tr_f_proc f_proc[0];
	/* tracee/buffers.h */
	struct tracee_rb_cfg rb_cfg[0];
};

struct tr_layout __tr_layout SEC(".tr_layout") __attribute__((used));

#endif /* __TRACEE_LAYOUT_BPF_H__ */
