/* ICMPv6 Packet Too Big (RFC 4443 3.2) for a VM whose IPv6 packet does not fit the tunnel: routers never
 * fragment IPv6, so this is the only answer (the IPv4 twin, fragmentation needed, is in icmp.h). Shared by
 * the XDP and TC paths, which each make the room first. */
#ifndef VR_BPF_ICMP6_H
#define VR_BPF_ICMP6_H

#include <linux/if_ether.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include "csum.h"
#include "icmp.h"
#include "parse.h"
#include "vr_types.h"

#define VR_ICMP6_PKT_TOO_BIG 2

/* The 8-byte header every ICMPv6 message starts with (data: the MTU of a Packet Too Big). */
struct vr_icmp6_hdr {
	__u8 type;
	__u8 code;
	__sum16 check;
	__be32 data;
};

/* Room the error needs in front of the quoted packet: its IPv6 header and ICMPv6 header. */
#define VR_ICMP6_ROOM (sizeof(struct ipv6hdr) + sizeof(struct vr_icmp6_hdr))
/* Bytes of the ICMPv6 message: header, the offending IPv6 header and VR_ICMP_QUOTE bytes of its payload. */
#define VR_ICMP6_TOO_BIG_LEN (sizeof(struct vr_icmp6_hdr) + sizeof(struct ipv6hdr) + VR_ICMP_QUOTE)

/* The address the vRouter speaks from on a vif: the vif's IPv6 gateway, or (none configured) the link-local
 * address made of the vRouter MAC (modified EUI-64, RFC 4291 appendix A). */
static __always_inline void vr_router_addr6(struct in6_addr *a, const struct vr_vif *vif, const struct vr_config *cfg)
{
	const __u8 *m = cfg->vr_mac;

	if (!vr_ipv6_is_unspec((const struct in6_addr *)vif->gw6)) {
		__builtin_memcpy(a, vif->gw6, sizeof(*a));
		return;
	}
	a->s6_addr32[0] = bpf_htonl(0xfe800000);
	a->s6_addr32[1] = 0;
	a->s6_addr[8] = m[0] ^ 0x02;
	a->s6_addr[9] = m[1];
	a->s6_addr[10] = m[2];
	a->s6_addr[11] = 0xff;
	a->s6_addr[12] = 0xfe;
	a->s6_addr[13] = m[3];
	a->s6_addr[14] = m[4];
	a->s6_addr[15] = m[5];
}

/* data holds [Ethernet][VR_ICMP6_ROOM bytes][the offending packet's IPv6 header + VR_ICMP_QUOTE bytes]. Fill
 * in the Ethernet, IPv6 and ICMPv6 headers of the Packet Too Big to the VM. Returns 0, or -1 if the layout is
 * not there. */
static __always_inline int vr_icmp6_too_big_fill(void *data, void *end, const struct vr_vif *vif,
						 const struct vr_config *cfg, __u32 mtu)
{
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct vr_icmp6_hdr *icmp = (void *)(ip6 + 1);
	struct ipv6hdr *orig = (void *)(icmp + 1);
	__u32 sum;

	if ((void *)(orig + 1) > end)
		return -1;
	__builtin_memcpy(eth->h_dest, vif->mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, cfg->vr_mac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IPV6);

	*(__be32 *)ip6 = bpf_htonl(0x60000000); /* version 6, traffic class 0, no flow label */
	ip6->payload_len = bpf_htons(VR_ICMP6_TOO_BIG_LEN);
	ip6->nexthdr = IPPROTO_ICMPV6;
	ip6->hop_limit = 255;
	vr_router_addr6(&ip6->saddr, vif, cfg);
	ip6->daddr = orig->saddr;

	icmp->type = VR_ICMP6_PKT_TOO_BIG;
	icmp->code = 0;
	icmp->check = 0;
	icmp->data = bpf_htonl(mtu);
	sum = vr_csum_ip6_pseudo(&ip6->saddr, &ip6->daddr, VR_ICMP6_TOO_BIG_LEN, IPPROTO_ICMPV6);
	sum = vr_csum_add(sum, icmp, VR_ICMP6_TOO_BIG_LEN, VR_ICMP6_TOO_BIG_LEN, end);
	/* Re-checked: after the loop the verifier may no longer know icmp's range. */
	icmp = (void *)(ip6 + 1);
	if ((void *)(icmp + 1) > end)
		return -1;
	icmp->check = vr_csum_fold(sum);
	return 0;
}

#endif /* VR_BPF_ICMP6_H */
