// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Deliberately invalid: tbo_bad dereferences a map lookup result without the NULL check, so
 * the verifier rejects it ("invalid mem access 'map_value_or_null'"). tbo_good is valid and
 * loads first; the test checks that the error names tbo_bad and carries its verifier log.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* A hash, not an array: the verifier proves constant-key array lookups non-NULL. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} values SEC(".maps");

SEC("raw_tp")
int tbo_good(void *ctx)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&values, &zero);

	return v ? (int)*v : 0;
}

SEC("raw_tp")
int tbo_bad(void *ctx)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&values, &zero);

	return (int)*v;
}
