/* MPLS-in-UDP (RFC 7510) encapsulation and decapsulation in XDP, and delivery to a local vif.
 * Wire format: Ethernet | IPv4 (proto 17) | UDP (hashed sport, dport 6635) | MPLS (label, TC, S=1, TTL) | IPv4 */
#ifndef VR_BPF_ENCAP_H
#define VR_BPF_ENCAP_H

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include "maps.h"
#include "stats.h"
#include "csum.h"
#include "parse.h"
#include "vr_hash.h"

#ifndef AF_INET
#define AF_INET 2
#endif

struct vr_mpls_udp_hdr {
	struct iphdr ip;
	struct udphdr udp;
	__be32 mpls;
};
_Static_assert(sizeof(struct vr_mpls_udp_hdr) == VR_ENCAP_OVERHEAD, "encap overhead");

static __always_inline __be32 vr_mpls_shim(__u32 label, __u8 tc, __u8 ttl)
{
	return bpf_htonl((label & 0xfffff) << 12 | (__u32)(tc & 7) << 9 | 1 << 8 | ttl);
}

/* Drop a trailing pad (e.g. Ethernet minimum-size padding) beyond the IPv4 total length, so that what we
 * tunnel or deliver is exactly the IP packet. */
static __always_inline int vr_trim_to(struct xdp_md *ctx, __u32 want)
{
	__u32 have = ctx->data_end - ctx->data;

	if (have > want)
		return bpf_xdp_adjust_tail(ctx, (int)want - (int)have);
	return 0;
}

/* Frame at ctx->data is Ethernet + IPv4 for VM-side nexthop nh: rewrite MACs, redirect to the vif. */
static __always_inline int vr_deliver_local(struct xdp_md *ctx, const struct vr_nexthop *nh, const struct vr_config *cfg)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, cfg->vr_mac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);
	vr_count_tx(nh->vif_id, end - data);
	return bpf_redirect_map(&vr_tx, nh->vif_id, 0);
}

/* Resolve the underlay: route to the remote host and its next hop's MAC from the host's own tables.
 * Returns 0 with params filled, or a drop reason. A missing neighbour is reported to user space. */
static __always_inline __u32 vr_underlay_lookup(struct xdp_md *ctx, struct bpf_fib_lookup *fib, const struct vr_config *cfg,
						__be32 remote, __u16 sport, __u16 tot_len)
{
	int rc;

	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->l4_protocol = IPPROTO_UDP;
	fib->sport = bpf_htons(sport);
	fib->dport = bpf_htons(cfg->udp_port);
	fib->tot_len = tot_len;
	fib->ipv4_src = cfg->host_ip;
	fib->ipv4_dst = remote;
	fib->ifindex = cfg->fabric_ifindex;

	rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), BPF_FIB_LOOKUP_OUTPUT);
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		return 0;
	case BPF_FIB_LKUP_RET_NO_NEIGH: {
		struct vr_event ev = { .type = VR_EV_NEIGH_MISS, .ifindex = fib->ifindex, .addr = fib->ipv4_dst };

		bpf_ringbuf_output(&vr_events, &ev, sizeof(ev), 0);
		return VR_DROP_NO_NEIGH;
	}
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		return VR_DROP_FRAG_NEEDED;
	case BPF_FIB_LKUP_RET_BLACKHOLE:
	case BPF_FIB_LKUP_RET_UNREACHABLE:
	case BPF_FIB_LKUP_RET_PROHIBIT:
	case BPF_FIB_LKUP_RET_FWD_DISABLED:
		return VR_DROP_UNDERLAY_FWD_OFF;
	case BPF_FIB_LKUP_RET_NOT_FWDED:
	case BPF_FIB_LKUP_RET_UNSUPP_LWT:
	default:
		return VR_DROP_UNDERLAY_UNREACH;
	}
}

/* Encapsulate the IPv4 packet behind the Ethernet header at ctx->data (already validated, hlen bytes of
 * header, TTL already decremented) towards a TUNNEL nexthop and redirect it to the underlay. */
static __always_inline int vr_encap_mpls_udp(struct xdp_md *ctx, const struct vr_nexthop *nh,
					     const struct vr_config *cfg, __u32 vif_id, __u32 hlen)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *inner = data + sizeof(struct ethhdr);
	struct vr_mpls_udp_hdr *hdr;
	struct bpf_fib_lookup fib;
	struct ethhdr *eth;
	__u32 hash, reason;
	__u16 inner_len, sport;
	__u8 tos, ttl;

	if ((void *)(inner + 1) > end)
		return vr_drop(vif_id, VR_DROP_MALFORMED);
	inner_len = bpf_ntohs(inner->tot_len);
	tos = inner->tos;
	ttl = inner->ttl;
	hash = vr_flow_hash4(inner->saddr, inner->daddr, vr_ipv4_ports(inner, hlen, end), inner->protocol,
			     cfg->hash_seed);
	sport = vr_sport_from_hash(hash);

	reason = vr_underlay_lookup(ctx, &fib, cfg, nh->remote_ip, sport, inner_len + VR_ENCAP_OVERHEAD);
	if (reason)
		return vr_drop(vif_id, reason);

	if (vr_trim_to(ctx, sizeof(struct ethhdr) + inner_len) ||
	    bpf_xdp_adjust_head(ctx, -(int)VR_ENCAP_OVERHEAD))
		return vr_drop(vif_id, VR_DROP_ADJUST_FAIL);

	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	hdr = (void *)(eth + 1);
	if ((void *)(hdr + 1) > end)
		return vr_drop(vif_id, VR_DROP_ADJUST_FAIL);

	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);

	hdr->ip.version = 4;
	hdr->ip.ihl = 5;
	hdr->ip.tos = tos;
	hdr->ip.tot_len = bpf_htons(inner_len + VR_ENCAP_OVERHEAD);
	hdr->ip.id = 0;
	hdr->ip.frag_off = bpf_htons(VR_IP_DF);
	hdr->ip.ttl = VR_OUTER_TTL;
	hdr->ip.protocol = IPPROTO_UDP;
	hdr->ip.saddr = cfg->host_ip;
	hdr->ip.daddr = nh->remote_ip;
	vr_ipv4_csum_set(&hdr->ip);

	hdr->udp.source = bpf_htons(sport);
	hdr->udp.dest = bpf_htons(cfg->udp_port);
	hdr->udp.len = bpf_htons(inner_len + sizeof(struct udphdr) + 4);
	hdr->udp.check = 0; /* RFC 7510 section 3: zero UDP checksum is allowed over IPv4 */

	hdr->mpls = vr_mpls_shim(nh->label, tos >> 5, ttl);
	return bpf_redirect(fib.ifindex, 0);
}

#endif /* VR_BPF_ENCAP_H */
