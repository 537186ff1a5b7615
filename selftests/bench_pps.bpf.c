// SPDX-License-Identifier: GPL-2.0
/* Packet-rate benchmark programs (selftests/bench_pps.sh, driven by selftests/bench_pps.c). Deliberately
 * independent of the datapath: includes only kernel and libbpf headers, nothing from headers/ or bpf/.
 *
 *   bench_gen    the traffic generator, run with BPF_PROG_TEST_RUN in live-frames mode: writes the whole frame
 *                template over every frame (live-frames pages are reused as the last program left them), varies
 *                the UDP source port at flow_off over n_flows flows (and the destination port after it, for
 *                more flows than 1 << sport_bits) and redirects into gen_ifindex
 *   bench_count  the receiver: counts frames and bytes in a per-CPU array and drops them
 *   bench_fwd    the bare-redirect baseline: redirects every frame to fwd_ifindex, no lookup, no rewrite
 *
 * Every setting is a load-time constant (const volatile, in .rodata), so the verifier sees fixed bounds. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define TMPL_MAX 128 /* largest frame template (VXLAN around a 46-byte inner packet is 110); bench_pps.c: FRAME_MAX */
#define TMPL_WORDS (TMPL_MAX / 8)

const volatile __u64 tmpl[TMPL_WORDS] = {}; /* the frame, 8-byte words, zero padded */
const volatile __u32 tmpl_len = 0;          /* bytes of it that are the frame (8..TMPL_MAX) */
const volatile __u32 flow_off = 0;          /* offset of the 16-bit port to vary; 0: none */
const volatile __u16 flow_base = 0;         /* first port, host order */
const volatile __u32 n_flows = 1;           /* power of two */
/* Flows beyond one port range (the gateway benchmark's 100k flows, which a NAT cannot fit into the ports
 * towards one destination): the flow number's low sport_bits bits pick the source port, the rest the
 * destination port (dport_base upwards, the port after the source port at flow_off). */
const volatile __u32 sport_bits = 16;
const volatile __u16 dport_base = 0;
const volatile __u32 gen_ifindex = 0;
const volatile __u32 fwd_ifindex = 0;

__u32 seq = 0; /* frames generated: one generator on one CPU, so a plain increment */

struct bench_cnt {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_cnt);
} counts SEC(".maps");

SEC("xdp")
int bench_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 len = tmpl_len;
	__u64 *w = data;
	int i;

	/* The frame is the template's length (data_in was the template); tmpl_len is a constant to the verifier. */
	if (len < 8 || len > TMPL_MAX || data + len > end)
		return XDP_ABORTED;
	/* Whole words, then the last word again ending exactly at len (overlapping): no byte loop. */
#pragma unroll
	for (i = 0; i < TMPL_WORDS; i++) {
		if (i * 8 + 8 > len)
			break;
		w[i] = tmpl[i];
	}
	if (len & 7)
		*(__u64 *)(data + len - 8) = *(const volatile __u64 *)((const volatile __u8 *)tmpl + len - 8);
	if (flow_off) {
		__u16 *p = data + flow_off;
		__u32 i = seq & (n_flows - 1);

		if ((void *)(p + 2) > end)
			return XDP_ABORTED;
		*p = __builtin_bswap16((__u16)(flow_base + (i & ((1U << sport_bits) - 1))));
		p[1] = __builtin_bswap16((__u16)(dport_base + (i >> sport_bits)));
	}
	seq++;
	return bpf_redirect(gen_ifindex, 0);
}

SEC("xdp")
int bench_count(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct bench_cnt *c = bpf_map_lookup_elem(&counts, &key);

	if (c) {
		c->packets++;
		c->bytes += ctx->data_end - ctx->data;
	}
	return XDP_DROP;
}

SEC("xdp")
int bench_fwd(struct xdp_md *ctx)
{
	return bpf_redirect(fwd_ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
