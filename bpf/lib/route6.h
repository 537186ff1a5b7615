/* IPv6 lookups: a destination in a VRF's IPv6 table, the anti-spoofing check of a VM's IPv6 source, and the
 * routing decision for a VM's IPv6 packet. The nexthops are the IPv4 ones (the underlay stays IPv4). */
#ifndef VR_BPF_ROUTE6_H
#define VR_BPF_ROUTE6_H

#include "route.h"

/* Longest-prefix match of daddr in VRF vrf_id: the /128 host table first, the VRF's IPv6 trie (shorter
 * prefixes only) when it misses. No per-CPU cache as for IPv4: the host table answers /128 destinations in
 * one hash lookup whatever the table size. Returns the nexthop, or NULL with *reason set. */
static __always_inline struct vr_nexthop *vr_route6_lookup(__u32 vrf_id, const struct in6_addr *daddr,
							   __u32 *reason)
{
	struct vr_host6_key host = { .vrf_id = vrf_id };
	struct vr_route6_key key = { .prefixlen = 128 };
	__u32 *nh_id;
	void *table;

	__builtin_memcpy(host.addr, daddr, sizeof(host.addr));
	nh_id = bpf_map_lookup_elem(&vr_host6, &host);
	if (!nh_id) {
		table = bpf_map_lookup_elem(&vr_vrf6, &vrf_id);
		if (!table) {
			*reason = VR_DROP_NO_VRF;
			return NULL;
		}
		__builtin_memcpy(key.addr, daddr, sizeof(key.addr));
		nh_id = bpf_map_lookup_elem(table, &key);
		if (!nh_id) {
			*reason = VR_DROP_NO_ROUTE;
			return NULL;
		}
	}
	return vr_nh_get(*nh_id, reason);
}

/* Anti-spoofing: the VM's own IPv6 address, or one routed to its vif in its VRF (allowed address pairs). */
static __always_inline int vr_vif_src6_ok(const struct in6_addr *saddr, const struct vr_vif *vif)
{
	struct vr_nexthop *nh;
	__u32 reason = 0;

	if (vr_ipv6_eq(saddr, vif->ip6))
		return 1;
	nh = vr_route6_lookup(vif->vrf_id, saddr, &reason);
	return nh && nh->type == VR_NH_ENCAP && nh->vif_id == vif->vif_id;
}

/* A VM's IPv6 packet at ip6 (not NDP): validate it, find its nexthop in the vif's VRF (an ECMP group gives
 * this flow's member), and check that forwarding may spend its hop limit. Link-local and multicast addresses
 * stay on the VM's link: nothing routes them. Returns 0 with *nhp, *lenp (the packet's length) and *hashp (the
 * inner-flow hash) set, or a drop reason. */
static __always_inline __u32 vr_vif_ipv6_route(struct ipv6hdr *ip6, void *end, __u32 avail, const struct vr_vif *vif,
					       const struct vr_config *cfg, struct vr_nexthop **nhp, int *lenp,
					       __u32 *hashp)
{
	__u32 reason = 0, hash;
	int len;

	len = vr_ipv6_check(ip6, end, avail);
	if (len < 0)
		return VR_DROP_MALFORMED;
	if (vr_ipv6_is_link_scope(&ip6->daddr) || vr_ipv6_is_link_scope(&ip6->saddr))
		return VR_DROP_LINK_LOCAL;
	if (vr_ipv6_is_unspec(&ip6->saddr) || !vr_vif_src6_ok(&ip6->saddr, vif))
		return VR_DROP_SPOOF_IP;
	*nhp = vr_route6_lookup(vif->vrf_id, &ip6->daddr, &reason);
	if (!*nhp)
		return reason;
	hash = 0;
	if ((*nhp)->type == VR_NH_COMPOSITE || (*nhp)->type == VR_NH_TUNNEL)
		hash = vr_flow_hash6(ip6->saddr.s6_addr32, ip6->daddr.s6_addr32, vr_ipv6_ports(ip6, end),
				     ip6->nexthdr, cfg->hash_seed);
	if ((*nhp)->type == VR_NH_COMPOSITE) {
		*nhp = vr_ecmp_member(*nhp, hash, &reason);
		if (!*nhp)
			return reason;
	}
	if (((*nhp)->type == VR_NH_ENCAP || (*nhp)->type == VR_NH_TUNNEL) && ip6->hop_limit <= 1)
		return VR_DROP_TTL;
	*lenp = len;
	*hashp = hash;
	return 0;
}

#endif /* VR_BPF_ROUTE6_H */
