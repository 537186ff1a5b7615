/* MPLS-in-UDP (RFC 7510) and MPLS-over-GRE (RFC 4023) headers, the underlay next hop (cached) and the flow's
 * source port: what the XDP and TC paths share when they encapsulate. A TUNNEL nexthop says which (VR_NH_F_GRE).
 * Wire formats: Ethernet | IPv4 (proto 17) | UDP (hashed sport, dport 6635) | MPLS (label, TC, S=1, TTL) | IPv4/IPv6
 *               Ethernet | IPv4 (proto 47) | GRE (4 bytes: no flags, version 0, protocol 0x8847) | MPLS | IPv4/IPv6 */
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
_Static_assert(sizeof(struct vr_mpls_udp_hdr) == VR_ENCAP_OVERHEAD_UDP, "encap overhead");

/* The GRE header of RFC 2784 without any of its options (RFC 2890's key and sequence number included): flags and
 * version all zero, then the payload's Ethertype. */
struct vr_gre_hdr {
	__be16 flags;
	__be16 proto;
};

struct vr_mpls_gre_hdr {
	struct iphdr ip;
	struct vr_gre_hdr gre;
	__be32 mpls;
};
_Static_assert(sizeof(struct vr_mpls_gre_hdr) == VR_ENCAP_OVERHEAD_GRE, "GRE encap overhead");

/* Bytes the tunnel of nexthop nh puts in front of the inner packet. */
static __always_inline __u32 vr_tunnel_overhead(const struct vr_nexthop *nh)
{
	return (nh->flags & VR_NH_F_GRE) ? VR_ENCAP_OVERHEAD_GRE : VR_ENCAP_OVERHEAD_UDP;
}

static __always_inline __be32 vr_mpls_shim(__u32 label, __u8 tc, __u8 ttl)
{
	return bpf_htonl((label & 0xfffff) << 12 | (__u32)(tc & 7) << 9 | 1 << 8 | ttl);
}

/* The host's own tables: route to the remote host and its next hop's MAC (bpf_fib_lookup, no MTU check; on
 * success fib->mtu_result holds the route's MTU). Returns 0 with fib filled, or a drop reason. A missing
 * neighbour is reported to user space. ctx is the program's context (XDP or skb). */
static __always_inline __u32 vr_underlay_fib(void *ctx, struct bpf_fib_lookup *fib, const struct vr_config *cfg,
					     __be32 remote, __u16 sport)
{
	int rc;

	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->l4_protocol = IPPROTO_UDP;
	fib->sport = bpf_htons(sport);
	fib->dport = bpf_htons(cfg->udp_port);
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

/* The kernel's tick rate, for a lifetime of one second in jiffies (the clock the verifier inlines into a
 * plain load; bpf_ktime_get_coarse_ns() is a call that cost 26 ns per packet here). */
extern unsigned int CONFIG_HZ __kconfig __weak;

/* The underlay next hop towards remote for a flow with UDP source port sport: from this CPU's cache slot while
 * it holds this pair and is fresh, else resolved from the host's tables into the slot for a second (so a
 * changed underlay route or neighbour is picked up within that time). Returns 0 with *out pointing at the
 * slot, or a drop reason. Both encapsulations share the cache: an MPLS-over-GRE packet has no source port on
 * the wire, but its flow's hashed port picks the slot and the lookup all the same, so the host's own multipath
 * spreads GRE flows per bucket as it does UDP ones (routers beyond it see only the two addresses). */
static __always_inline __u32 vr_underlay_resolve(void *ctx, const struct vr_config *cfg, __be32 remote, __u16 sport,
						 struct vr_underlay **out)
{
	__u16 bucket = sport % VR_UNDERLAY_BUCKETS;
	__u32 slot = vr_hash_final(remote ^ bucket) & (VR_UNDERLAY_SLOTS - 1);
	__u64 now = bpf_jiffies64();
	struct bpf_fib_lookup fib;
	struct vr_underlay *u;
	__u32 reason;

	u = bpf_map_lookup_elem(&vr_underlay, &slot);
	if (!u)
		return VR_DROP_UNDERLAY_UNREACH;
	*out = u;
	if (u->remote_ip == remote && u->bucket == bucket && now < u->expires)
		return 0;
	reason = vr_underlay_fib(ctx, &fib, cfg, remote, sport);
	if (reason) {
		u->expires = 0;
		return reason;
	}
	u->expires = now + (CONFIG_HZ ? CONFIG_HZ : 250);
	u->remote_ip = remote;
	u->bucket = bucket;
	u->mtu = fib.mtu_result;
	u->ifindex = fib.ifindex;
	__builtin_memcpy(u->smac, fib.smac, ETH_ALEN);
	__builtin_memcpy(u->dmac, fib.dmac, ETH_ALEN);
	return 0;
}

/* The Ethernet header of a frame (Ethertype proto) to a local VM (ENCAP nexthop nh). */
static __always_inline void vr_eth_to_vm(struct ethhdr *eth, const struct vr_nexthop *nh, const struct vr_config *cfg,
					 __be16 proto)
{
	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, cfg->vr_mac, ETH_ALEN);
	eth->h_proto = proto;
}

/* The outer IPv4 header of a tunnel packet of tot_len bytes to nexthop nh's remote host. */
static __always_inline void vr_outer_ipv4_write(struct iphdr *ip, const struct vr_config *cfg,
						const struct vr_nexthop *nh, __u16 tot_len, __u8 tos, __u8 proto)
{
	ip->version = 4;
	ip->ihl = 5;
	ip->tos = tos;
	ip->tot_len = bpf_htons(tot_len);
	ip->id = 0;
	ip->frag_off = bpf_htons(VR_IP_DF);
	ip->ttl = VR_OUTER_TTL;
	ip->protocol = proto;
	ip->saddr = cfg->host_ip;
	ip->daddr = nh->remote_ip;
	vr_ipv4_csum_set(ip);
}

/* Write the outer Ethernet, IPv4, UDP or GRE, and MPLS headers (vr_tunnel_overhead(nh) bytes after the Ethernet
 * header at data) in front of an inner packet of inner_len bytes (tos and ttl are the inner packet's, TTL already
 * decremented). The source port only picks the underlay path of MPLS-in-UDP: GRE has no field for it. Returns 0,
 * or -1 when the frame is too short for the headers (never, after a successful adjustment). */
static __always_inline int vr_tunnel_headers_write(void *data, void *end, const struct vr_underlay *u,
						   const struct vr_config *cfg, const struct vr_nexthop *nh,
						   __u16 inner_len, __u8 tos, __u8 ttl, __u16 sport)
{
	struct ethhdr *eth = data;
	__be32 shim = vr_mpls_shim(nh->label, tos >> 5, ttl);

	if (nh->flags & VR_NH_F_GRE) {
		struct vr_mpls_gre_hdr *hdr = data + sizeof(*eth);

		if ((void *)(hdr + 1) > end)
			return -1;
		vr_outer_ipv4_write(&hdr->ip, cfg, nh, inner_len + VR_ENCAP_OVERHEAD_GRE, tos, IPPROTO_GRE);
		hdr->gre.flags = 0; /* no checksum, key or sequence number; version 0 */
		hdr->gre.proto = bpf_htons(ETH_P_MPLS_UC);
		hdr->mpls = shim;
	} else {
		struct vr_mpls_udp_hdr *hdr = data + sizeof(*eth);

		if ((void *)(hdr + 1) > end)
			return -1;
		vr_outer_ipv4_write(&hdr->ip, cfg, nh, inner_len + VR_ENCAP_OVERHEAD_UDP, tos, IPPROTO_UDP);
		hdr->udp.source = bpf_htons(sport);
		hdr->udp.dest = bpf_htons(cfg->udp_port);
		hdr->udp.len = bpf_htons(inner_len + sizeof(struct udphdr) + 4);
		hdr->udp.check = 0; /* RFC 7510 section 3: zero UDP checksum is allowed over IPv4 */
		hdr->mpls = shim;
	}
	__builtin_memcpy(eth->h_dest, u->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, u->smac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);
	return 0;
}

#endif /* VR_BPF_ENCAP_H */
