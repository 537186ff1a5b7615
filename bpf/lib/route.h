/* Lookups: a destination in a VRF's IPv4 table, and nexthops by id. */
#ifndef VR_BPF_ROUTE_H
#define VR_BPF_ROUTE_H

#include "maps.h"
#include "stats.h"

/* Longest-prefix match of daddr in VRF vrf_id. Returns the nexthop, or NULL with *reason set. */
static __always_inline struct vr_nexthop *vr_route4_lookup(__u32 vrf_id, __be32 daddr, __u32 *reason)
{
	struct vr_route4_key key = { .prefixlen = 32, .addr = daddr };
	struct vr_nexthop *nh;
	__u32 *nh_id;
	void *table;

	table = bpf_map_lookup_elem(&vr_vrf4, &vrf_id);
	if (!table) {
		*reason = VR_DROP_NO_VRF;
		return NULL;
	}
	nh_id = bpf_map_lookup_elem(table, &key);
	if (!nh_id) {
		*reason = VR_DROP_NO_ROUTE;
		return NULL;
	}
	nh = bpf_map_lookup_elem(&vr_nexthops, nh_id);
	if (!nh || nh->type == VR_NH_INVALID) {
		*reason = VR_DROP_NO_NEXTHOP;
		return NULL;
	}
	return nh;
}

static __always_inline struct vr_config *vr_config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&vr_config, &zero);
}

#endif /* VR_BPF_ROUTE_H */
