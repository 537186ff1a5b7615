/* The datapath's maps, as DESIGN.md's data model describes them. Pinned by the loader under one bpffs
 * folder; sizes come from headers/vr_consts.h and may be overridden by the loader before load. */
#ifndef VR_BPF_MAPS_H
#define VR_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "vr_types.h"

/* ingress ifindex -> vif: the tenant classification. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VR_MAX_VIFS);
	__type(key, __u32);
	__type(value, struct vr_vif);
} vr_vifs SEC(".maps");

/* The same vifs, direct-mapped by ifindex: an array lookup (inlined by the verifier) instead of a hash lookup
 * on every frame from a VM. libvrouter writes a slot with ifindex 0 first and sets it last, and clears it
 * first on delete, so a reader that sees the ifindex sees the whole vif. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VR_VIF_SLOTS);
	__type(key, __u32);
	__type(value, struct vr_vif_slot);
} vr_vif_slots SEC(".maps");

/* One IPv4 LPM trie per VRF; user space creates the inner tables on "vrf add". */
struct vr_lpm4 {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, VR_MAX_ROUTES_PER_VRF);
	/* Sizes, not types: clang emits only a forward declaration for a type named inside __array(). */
	__uint(key_size, sizeof(struct vr_route4_key));
	__uint(value_size, sizeof(__u32));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, VR_MAX_VRFS);
	__type(key, __u32);
	__array(values, struct vr_lpm4);
} vr_vrf4 SEC(".maps");

/* One IPv6 LPM trie per VRF, created with the IPv4 one. */
struct vr_lpm6 {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, VR_MAX_ROUTES_PER_VRF);
	__uint(key_size, sizeof(struct vr_route6_key));
	__uint(value_size, sizeof(__u32));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, VR_MAX_VRFS);
	__type(key, __u32);
	__array(values, struct vr_lpm6);
} vr_vrf6 SEC(".maps");

/* (VRF, address) -> nexthop id for /32 routes: one hash lookup whatever the table size; the tries above are
 * consulted only when it misses. libvrouter keeps /32 routes here and nowhere else. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, VR_MAX_HOST_ROUTES);
	__type(key, struct vr_host4_key);
	__type(value, __u32);
} vr_host4 SEC(".maps");

/* The same for /128 routes: (VRF, IPv6 address) -> nexthop id, in front of the IPv6 tries. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, VR_MAX_HOST_ROUTES);
	__type(key, struct vr_host6_key);
	__type(value, __u32);
} vr_host6 SEC(".maps");

/* Known tunnel endpoints (see vr_types.h), and a direct-mapped copy of them: slot = hash(address), value = the
 * address (0: empty; an address whose slot another holds is found in the hash). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VR_MAX_ENDPOINTS);
	__type(key, __be32);
	__type(value, struct vr_endpoint);
} vr_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VR_ENDPOINT_SLOTS);
	__type(key, __u32);
	__type(value, __be32);
} vr_endpoint_slots SEC(".maps");

/* The route generation (ARRAY of one __u32): moved by libvrouter after every change of a route table. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} vr_route_gen SEC(".maps");

/* The last route lookups, per CPU, slot = hash(VRF, destination) (see vr_consts.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VR_ROUTE_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct vr_route_cache);
} vr_route_cache SEC(".maps");

/* Resolved underlay next hops, per CPU, slot = hash(remote host, source-port bucket) (see vr_consts.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VR_UNDERLAY_SLOTS);
	__type(key, __u32);
	__type(value, struct vr_underlay);
} vr_underlay SEC(".maps");

/* Nexthops and labels are mmapable: user space reads the whole table from memory in milliseconds (a lookup
 * batch of a million entries takes a quarter of a second); it still writes through the syscall. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, VR_MAX_NEXTHOPS);
	__type(key, __u32);
	__type(value, struct vr_nexthop);
} vr_nexthops SEC(".maps");

/* ECMP groups of composite nexthops (see vr_types.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, VR_MAX_ECMP);
	__type(key, __u32);
	__type(value, struct vr_ecmp);
} vr_ecmp SEC(".maps");

/* MPLS label -> nexthop id (0: label unused). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, VR_MAX_LABELS);
	__type(key, __u32);
	__type(value, __u32);
} vr_labels SEC(".maps");

/* vif id -> device: redirect targets for frames delivered to VMs; slot 0 is the fabric device. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, VR_MAX_VIFS);
	__type(key, __u32);
	__type(value, __u32);
} vr_tx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vr_config);
} vr_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VR_MAX_VIFS);
	__type(key, __u32);
	__type(value, struct vr_vif_stats);
} vr_vif_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VR_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} vr_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, VR_EVENTS_BYTES);
} vr_events SEC(".maps");

/* Gateway NAT (see vr_types.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vr_nat_config);
} vr_nat_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VR_MAX_VRFS);
	__type(key, __u32);
	__type(value, struct vr_snat);
} vr_snat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VR_MAX_FIPS);
	__type(key, struct vr_fip_key);
	__type(value, __be32);
} vr_fip SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VR_MAX_FIPS);
	__type(key, __be32);
	__type(value, struct vr_fip_key);
} vr_fip_rev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VR_MAX_FIPS);
	__type(key, __be32);
	__type(value, __u32);
} vr_nat_addrs SEC(".maps");

/* Allocated on insert: a vRouter that is no gateway pays nothing for it; the loader may size it (nat-entries). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, VR_MAX_NAT);
	__type(key, struct vr_nat_key);
	__type(value, struct vr_nat_entry);
} vr_nat SEC(".maps");

#endif /* VR_BPF_MAPS_H */
