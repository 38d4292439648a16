// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Test object for tracee-bpf-obj's stack-depth analysis (tests/elf_stack.rs): two raw_tp
 * programs whose call chains the verifier sums against its 512-byte stack limit, which
 * applies to raw_tp programs (no private stack for them).
 *
 *   tsc_over:  main 56 -> global tsc_over_mid 208 -> bpf_loop callback tsc_over_step 40
 *              -> static tsc_over_leaf 200: 528 bytes with 16-byte (JIT) rounding, refused.
 *   tsc_under: main 56 -> 200 -> 40 -> 184: 512 bytes with 16-byte rounding (loads on a JIT
 *              kernel of Linux 6.9 or later), 544 with 32-byte rounding (older kernels refuse).
 *
 * Frames are arrays passed to bpf_get_current_comm (so clang keeps every byte), of sizes picked so that clang's own
 * frame, array plus spills, comes out at the sizes the test expects; __noinline keeps each
 * function a separate subprogram. The test checks the analysis's frames against these.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* A frame of N bytes, all of it handed to a helper so clang keeps every byte. */
#define FRAME(N, x)                                  \
	char buf[N];                                 \
	buf[(N) - 1] = (char)(x);                    \
	bpf_get_current_comm(buf, sizeof(buf))
#define FRAME_SUM(N) (buf[0] + buf[(N) - 1])

#define CHAIN(name, MAIN, MID, CB, LEAF)                                 \
	static __noinline int name##_leaf(int x)                         \
	{                                                                \
		FRAME(LEAF, x);                                          \
		return FRAME_SUM(LEAF);                                  \
	}                                                                \
	static int name##_step(__u32 i, void *ctx)                       \
	{                                                                \
		FRAME(CB, i);                                            \
		*(int *)ctx += name##_leaf(FRAME_SUM(CB));               \
		return 1;                                                \
	}                                                                \
	__noinline int name##_mid(int x)                                 \
	{                                                                \
		int acc = x;                                             \
		FRAME(MID, x);                                           \
		bpf_loop(1, name##_step, &acc, 0);                       \
		return acc + FRAME_SUM(MID);                             \
	}                                                                \
	SEC("raw_tp")                                                    \
	int name(void *ctx)                                              \
	{                                                                \
		FRAME(MAIN, 1);                                          \
		return name##_mid(FRAME_SUM(MAIN)) & 1;                  \
	}

CHAIN(tsc_over, 56, 200, 40, 200)
CHAIN(tsc_under, 56, 192, 40, 184)
