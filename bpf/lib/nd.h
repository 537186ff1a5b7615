/* The IPv6 twin of the ARP responder (RFC 4861): the vRouter answers a VM's neighbour solicitations for its
 * IPv6 gateway and for every address routed in the VM's VRF with a neighbour advertisement carrying its own
 * MAC, so VMs never learn each other's (or remote hosts') MACs. The advertisement is sent back out of the same
 * device. Other NDP messages (router solicitations, advertisements, redirects) and duplicate address
 * detection probes need no answer from a router without prefixes to announce: they are counted drops. */
#ifndef VR_BPF_ND_H
#define VR_BPF_ND_H

#include <linux/if_ether.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include "route6.h"
#include "icmp6.h"

#define VR_ND_ROUTER_SOLICIT 133
#define VR_ND_NEIGH_SOLICIT 135
#define VR_ND_REDIRECT 137
#define VR_ND_OPT_TARGET_LLADDR 2
#define VR_NA_F_ROUTER 0x80000000
#define VR_NA_F_SOLICITED 0x40000000
#define VR_NA_F_OVERRIDE 0x20000000
/* The longest solicitation checked (its options included): the source link-layer address option makes 32. */
#define VR_ND_MAX_LEN 64

/* A neighbour solicitation or advertisement: ICMPv6 header (data: the advertisement's flags), target. */
struct vr_nd_msg {
	struct vr_icmp6_hdr icmp;
	struct in6_addr target;
};

/* The advertisement as we send it: the message and one target link-layer address option. */
struct vr_nd_advert {
	struct vr_nd_msg msg;
	__u8 opt_type;
	__u8 opt_len; /* in units of 8 bytes */
	__u8 lladdr[ETH_ALEN];
};
#define VR_ND_ADVERT_FRAME (sizeof(struct ethhdr) + sizeof(struct ipv6hdr) + sizeof(struct vr_nd_advert))

/* Is the IPv6 packet at ip6 an NDP message (ICMPv6 router/neighbour solicitation or advertisement, redirect)
 * right after the fixed header? NDP never carries extension headers (RFC 4861 sends it with none). */
static __always_inline int vr_nd_is_nd(struct ipv6hdr *ip6, void *end)
{
	struct vr_icmp6_hdr *icmp = (void *)(ip6 + 1);

	if (ip6->nexthdr != IPPROTO_ICMPV6 || (void *)(icmp + 1) > end)
		return 0;
	return icmp->type >= VR_ND_ROUTER_SOLICIT && icmp->type <= VR_ND_REDIRECT;
}

/* A VM's NDP message at ip6 (avail bytes from ip6 on): if it is a valid neighbour solicitation the vRouter
 * answers (RFC 4861 7.1.1: hop limit 255, code 0, checksum), return 0 with the target in *target and
 * *router set when it is the vif's gateway; otherwise a drop reason. */
static __always_inline __u32 vr_nd_check(struct ipv6hdr *ip6, void *end, __u32 avail, const struct vr_vif *vif,
					 struct in6_addr *target, int *router)
{
	struct vr_nd_msg *ns = (void *)(ip6 + 1);
	struct in6_addr saddr;
	struct vr_nexthop *nh;
	__u32 len, sum, reason = 0;

	if (vr_ipv6_check(ip6, end, avail) < 0 || (void *)(ns + 1) > end)
		return VR_DROP_MALFORMED;
	if (ns->icmp.type != VR_ND_NEIGH_SOLICIT || ns->icmp.code != 0 || ip6->hop_limit != 255)
		return VR_DROP_ND_IGNORED;
	len = bpf_ntohs(ip6->payload_len);
	if (len < sizeof(*ns) || len > VR_ND_MAX_LEN || (len & 7))
		return VR_DROP_MALFORMED;
	/* Everything the decision needs is copied out before the checksum loop: after it the verifier may no
	 * longer know how much of the packet is readable. */
	saddr = ip6->saddr;
	*target = ns->target;
	sum = vr_csum_ip6_pseudo(&ip6->saddr, &ip6->daddr, len, IPPROTO_ICMPV6);
	sum = vr_csum_add(sum, ns, len, VR_ND_MAX_LEN, end);
	if (vr_csum_fold(sum))
		return VR_DROP_MALFORMED;
	/* Duplicate address detection (source ::) is the VM's own business. */
	if (vr_ipv6_is_unspec(&saddr))
		return VR_DROP_ND_IGNORED;
	if (!vr_ipv6_is_link_scope(&saddr) && !vr_vif_src6_ok(&saddr, vif))
		return VR_DROP_SPOOF_IP;
	if (target->s6_addr[0] == 0xff)
		return VR_DROP_MALFORMED;
	if (vr_ipv6_eq(target, vif->ip6))
		return VR_DROP_ND_IGNORED;
	*router = !vr_ipv6_is_unspec((const struct in6_addr *)vif->gw6) && vr_ipv6_eq(target, vif->gw6);
	if (!*router) {
		nh = vr_route6_lookup(vif->vrf_id, target, &reason);
		if (!nh || nh->type == VR_NH_DISCARD)
			return VR_DROP_ND_NO_ROUTE;
	}
	return 0;
}

/* Turn the frame at data (exactly VR_ND_ADVERT_FRAME bytes, still holding the solicitation's headers) into the
 * advertisement for target, to the soliciting VM. Returns 0, or -1 if the frame is short. */
static __always_inline int vr_nd_advert_fill(void *data, void *end, const struct vr_vif *vif,
					     const struct vr_config *cfg, const struct in6_addr *target, int router)
{
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct vr_nd_advert *na = (void *)(ip6 + 1);
	__u32 flags = (router ? VR_NA_F_ROUTER : 0) | VR_NA_F_SOLICITED | VR_NA_F_OVERRIDE;
	const __u16 *mac = (const __u16 *)cfg->vr_mac;
	struct in6_addr to;
	__u32 sum;

	if ((void *)(na + 1) > end)
		return -1;
	to = ip6->saddr;
	__builtin_memcpy(eth->h_dest, vif->mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, cfg->vr_mac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IPV6);

	*(__be32 *)ip6 = bpf_htonl(0x60000000);
	ip6->payload_len = bpf_htons(sizeof(*na));
	ip6->nexthdr = IPPROTO_ICMPV6;
	ip6->hop_limit = 255;
	ip6->daddr = to;
	ip6->saddr = *target;

	na->msg.icmp.type = VR_ND_NEIGH_SOLICIT + 1;
	na->msg.icmp.code = 0;
	na->msg.icmp.data = bpf_htonl(flags);
	na->msg.target = *target;
	na->opt_type = VR_ND_OPT_TARGET_LLADDR;
	na->opt_len = 1;
	__builtin_memcpy(na->lladdr, cfg->vr_mac, ETH_ALEN);
	/* The checksum from what was written (no packet reads): the pseudo-header (the target is the source),
	 * the message's words, the target once more in the message, and the option. */
	sum = vr_csum_ip6_pseudo(target, &to, sizeof(*na), IPPROTO_ICMPV6);
	sum += bpf_htons((VR_ND_NEIGH_SOLICIT + 1) << 8) + bpf_htons(flags >> 16) + bpf_htons(flags & 0xffff);
#pragma unroll
	for (int i = 0; i < 8; i++)
		sum += target->s6_addr16[i];
	sum += bpf_htons(VR_ND_OPT_TARGET_LLADDR << 8 | 1) + mac[0] + mac[1] + mac[2];
	na->msg.icmp.check = vr_csum_fold(sum);
	return 0;
}

#endif /* VR_BPF_ND_H */
