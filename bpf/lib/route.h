/* Lookups: a destination in a VRF's IPv4 table, and nexthops by id (IPv6: route6.h). */
#ifndef VR_BPF_ROUTE_H
#define VR_BPF_ROUTE_H

#include "maps.h"
#include "stats.h"
#include "parse.h"
#include "vr_hash.h"

/* Longest-prefix match of daddr in VRF vrf_id: a /32 is the longest match there is, so the host-route hash
 * answers first; the VRF's trie (shorter prefixes only) is consulted when it misses. Returns the nexthop id,
 * or 0 with *reason set. */
static __always_inline __u32 vr_route4_resolve(__u32 vrf_id, __be32 daddr, __u32 *reason)
{
	struct vr_host4_key host = { .vrf_id = vrf_id, .addr = daddr };
	struct vr_route4_key key = { .prefixlen = 32, .addr = daddr };
	__u32 *nh_id;
	void *table;

	nh_id = bpf_map_lookup_elem(&vr_host4, &host);
	if (!nh_id) {
		table = bpf_map_lookup_elem(&vr_vrf4, &vrf_id);
		if (!table) {
			*reason = VR_DROP_NO_VRF;
			return 0;
		}
		nh_id = bpf_map_lookup_elem(table, &key);
		if (!nh_id) {
			*reason = VR_DROP_NO_ROUTE;
			return 0;
		}
	}
	if (!*nh_id)
		*reason = VR_DROP_NO_NEXTHOP; /* never written so by libvrouter */
	return *nh_id;
}

/* The nexthop a route points at (NULL with *reason set when it is missing). */
static __always_inline struct vr_nexthop *vr_nh_get(__u32 nh_id, __u32 *reason)
{
	struct vr_nexthop *nh = bpf_map_lookup_elem(&vr_nexthops, &nh_id);

	if (!nh || nh->type == VR_NH_INVALID) {
		*reason = VR_DROP_NO_NEXTHOP;
		return NULL;
	}
	return nh;
}

/* The route of daddr in VRF vrf_id, through this CPU's route cache: a slot answers while it holds this
 * (VRF, destination) and the route generation it was filled under is current; else the tables do, and the
 * slot keeps their answer. The generation is read before the tables, so an answer that a route change
 * overtakes is never kept as current. Returns the nexthop, or NULL with *reason set. */
static __always_inline struct vr_nexthop *vr_route4_lookup(__u32 vrf_id, __be32 daddr, __u32 *reason)
{
	__u32 zero = 0, slot = vr_hash_final(vr_hash_step(vrf_id, daddr)) & (VR_ROUTE_CACHE_SLOTS - 1);
	struct vr_route_cache *c = bpf_map_lookup_elem(&vr_route_cache, &slot);
	__u32 *genp = bpf_map_lookup_elem(&vr_route_gen, &zero);
	__u32 nh_id, gen;

	if (!c || !genp) {
		*reason = VR_DROP_NO_CONFIG;
		return NULL;
	}
	gen = *genp;
	if (c->gen == gen && c->vrf_id == vrf_id && c->addr == daddr) {
		nh_id = c->nh_id;
	} else {
		nh_id = vr_route4_resolve(vrf_id, daddr, reason);
		if (!nh_id)
			return NULL;
		c->vrf_id = vrf_id;
		c->addr = daddr;
		c->nh_id = nh_id;
		c->gen = gen;
	}
	return vr_nh_get(nh_id, reason);
}

/* Anti-spoofing: a VM may send only from its vif's MAC ... */
static __always_inline int vr_vif_mac_ok(const __u8 *src, const struct vr_vif *vif)
{
	return *(const __u32 *)src == *(const __u32 *)vif->mac && *(const __u16 *)(src + 4) == *(const __u16 *)(vif->mac + 4);
}

/* ... and from its own address or one routed to its vif in its VRF (the allowed address pairs: a route to
 * an address via the vif lets the VM use it; ports with several addresses have a /32 each). */
static __always_inline int vr_vif_src_ok(__be32 saddr, const struct vr_vif *vif)
{
	struct vr_nexthop *nh;
	__u32 reason = 0;

	if (saddr == vif->ip)
		return 1;
	nh = vr_route4_lookup(vif->vrf_id, saddr, &reason);
	return nh && nh->type == VR_NH_ENCAP && nh->vif_id == vif->vif_id;
}

/* A composite nexthop's member for a flow with inner-flow hash h: the bucket is the low bits of the hash the
 * UDP source port is made of, so a flow keeps its member and, over a tunnel, its underlay path. Returns the
 * member (TUNNEL or ENCAP), or NULL with *reason set. */
static __always_inline struct vr_nexthop *vr_ecmp_member(const struct vr_nexthop *nh, __u32 h, __u32 *reason)
{
	__u32 id = nh->ecmp_id, b = h & (VR_ECMP_BUCKETS - 1), *member_id;
	struct vr_ecmp *g = bpf_map_lookup_elem(&vr_ecmp, &id);
	struct vr_nexthop *m;

	*reason = VR_DROP_NO_NEXTHOP;
	if (!g)
		return NULL;
	member_id = &g->bucket[b];
	m = bpf_map_lookup_elem(&vr_nexthops, member_id);
	if (!m || (m->type != VR_NH_TUNNEL && m->type != VR_NH_ENCAP))
		return NULL;
	*reason = 0;
	return m;
}

/* A VM's IPv4 packet at iph: validate it, find its nexthop in the vif's VRF, and check that forwarding may
 * spend its TTL (avail: bytes the packet has from iph on); an ECMP group gives this flow's member. Returns 0
 * with *nhp, *hlenp and *hashp (the inner-flow hash) set, or a drop reason. */
static __always_inline __u32 vr_vif_ipv4_route(struct iphdr *iph, void *end, __u32 avail, const struct vr_vif *vif,
					       const struct vr_config *cfg, struct vr_nexthop **nhp, int *hlenp,
					       __u32 *hashp)
{
	__u32 reason = 0, hash;
	int hlen;

	hlen = vr_ipv4_check(iph, end, avail);
	if (hlen < 0)
		return VR_DROP_MALFORMED;
	if (!vr_vif_src_ok(iph->saddr, vif))
		return VR_DROP_SPOOF_IP;
	*nhp = vr_route4_lookup(vif->vrf_id, iph->daddr, &reason);
	if (!*nhp)
		return reason;
	/* The flow hash picks an ECMP member and a tunnel's source port; a local delivery needs none. */
	hash = 0;
	if ((*nhp)->type == VR_NH_COMPOSITE || (*nhp)->type == VR_NH_TUNNEL)
		hash = vr_flow_hash4(iph->saddr, iph->daddr, vr_ipv4_ports(iph, hlen, end), iph->protocol,
				     cfg->hash_seed);
	if ((*nhp)->type == VR_NH_COMPOSITE) {
		*nhp = vr_ecmp_member(*nhp, hash, &reason);
		if (!*nhp)
			return reason;
	}
	/* Only forwarding spends TTL: the host accepts packets for itself even at TTL 0/1 (RFC 1812 4.2.2.9). */
	if (((*nhp)->type == VR_NH_ENCAP || (*nhp)->type == VR_NH_TUNNEL) && iph->ttl <= 1)
		return VR_DROP_TTL;
	*hlenp = hlen;
	*hashp = hash;
	return 0;
}

/* The vif behind an ingress device: its slot if it holds it, else the vifs hash. NULL: not a vif. */
static __always_inline struct vr_vif *vr_vif_lookup(__u32 ifindex)
{
	__u32 slot = ifindex & (VR_VIF_SLOTS - 1);
	struct vr_vif_slot *s = bpf_map_lookup_elem(&vr_vif_slots, &slot);

	if (s && s->ifindex == ifindex)
		return &s->vif;
	return bpf_map_lookup_elem(&vr_vifs, &ifindex);
}

static __always_inline struct vr_config *vr_config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&vr_config, &zero);
}

#endif /* VR_BPF_ROUTE_H */
