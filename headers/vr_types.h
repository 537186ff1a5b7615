/* Structures shared by the BPF datapath and user space: map keys and values, drop reasons, events.
 * Only __u32/__be32 style types, explicit padding, and size asserts so that both sides agree byte for byte. */
#ifndef VR_TYPES_H
#define VR_TYPES_H

#include <linux/types.h>
#include "vr_consts.h"

/* vifs map: key = ifindex of the VM-facing device (__u32), value = struct vr_vif. */
struct vr_vif {
	__u32 vif_id;     /* 1..VR_MAX_VIFS-1: index into vif stats and the tx devmap */
	__u32 vrf_id;     /* the tenant's routing table */
	__u32 ifindex;    /* the device itself (redundant with the key, handy in dumps) */
	__u32 flags;      /* VR_VIF_F_* */
	__be32 ip;        /* the VM's IPv4 address */
	__be32 gw_ip;     /* the gateway address the vRouter answers ARP for on this vif */
	__u8 mac[6];      /* the VM's MAC */
	__u16 mtu;        /* the VM-facing MTU */
	__u32 nh_id;      /* the ENCAP nexthop that delivers to this vif */
	__u32 label;      /* the MPLS label that points at nh_id (0: none) */
	__u8 ip6[16];     /* the VM's IPv6 address (all zero: none) */
	__u8 gw6[16];     /* the IPv6 gateway address the vRouter answers neighbour solicitations for (zero: none) */
};
_Static_assert(sizeof(struct vr_vif) == 72, "struct vr_vif layout");

/* vif_slots map: ARRAY of VR_VIF_SLOTS, a copy of the vif whose ifindex maps to the slot (ifindex 0: empty;
 * a vif whose slot another vif holds is found in the vifs hash). */
struct vr_vif_slot {
	__u32 ifindex;
	__u32 pad;
	struct vr_vif vif;
};
_Static_assert(sizeof(struct vr_vif_slot) == 80, "struct vr_vif_slot layout");

enum vr_vif_flags {
	VR_VIF_F_TAP = 1 << 0, /* device is a tap (informational: redirect needs a reader) */
	VR_VIF_F_TC = 1 << 1,  /* "mode tc": served by the TC skb path only (GSO, checksum offload) */
};

/* Nexthop types. */
enum vr_nh_type {
	VR_NH_INVALID = 0,
	VR_NH_ENCAP = 1,      /* local vif: rewrite MACs, redirect to the vif's device */
	VR_NH_TUNNEL = 2,     /* MPLS-in-UDP (or MPLS-over-GRE: VR_NH_F_GRE) to a remote host with a label */
	VR_NH_VRF_LOOKUP = 3, /* look the inner destination up in another VRF (per-VRF labels) */
	VR_NH_RECEIVE = 4,    /* hand to the host stack */
	VR_NH_DISCARD = 5,    /* drop, counted */
	VR_NH_COMPOSITE = 6,  /* ECMP: one of several member nexthops, by the inner-flow hash */
	VR_NH_EXTERNAL = 7,   /* gateway: out of the external NIC by the host's routes, source NAT on the way */
	VR_NH_TYPE_MAX,
};

enum vr_nh_flags {
	VR_NH_F_SKB = 1 << 0, /* ENCAP: the target vif is in mode tc: deliver as an skb (via TC), not by XDP */
	VR_NH_F_GRE = 1 << 1, /* TUNNEL: MPLS-over-GRE (RFC 4023) instead of MPLS-in-UDP (RFC 7510) */
};

/* nexthops map: ARRAY, key = nexthop id (__u32), value = struct vr_nexthop. */
struct vr_nexthop {
	__u8 type;        /* enum vr_nh_type */
	__u8 flags;       /* VR_NH_F_* */
	__u16 pad0;
	union {
		__u32 vif_id; /* ENCAP: target vif (devmap index) */
		__u32 ecmp_id; /* COMPOSITE: its group in the ecmp map */
	};
	__u32 ifindex;    /* ENCAP: target device (TC redirects) */
	__u32 vrf_id;     /* VRF_LOOKUP: table to look up */
	__u32 label;      /* TUNNEL: label to push (20 bits) */
	__be32 remote_ip; /* TUNNEL: far host's underlay address */
	__u8 dmac[6];     /* ENCAP: the VM's MAC */
	__u16 pad1;
	__u32 refcnt;     /* user space bookkeeping: routes + labels + vifs using this nexthop */
};
_Static_assert(sizeof(struct vr_nexthop) == 36, "struct vr_nexthop layout");

/* ecmp map: ARRAY, key = group id (1..VR_MAX_ECMP-1). Each bucket holds a member's nexthop id (TUNNEL or
 * ENCAP); a flow uses bucket[flow hash % VR_ECMP_BUCKETS]. A group is written whole before any nexthop points
 * at it and never changed while in use: a new member set is a new group (so readers never see a half-written
 * table), whose buckets keep every remaining member's buckets (only the flows of removed members move). */
struct vr_ecmp {
	__u32 n_members;
	__u32 members[VR_ECMP_MEMBERS];
	__u32 bucket[VR_ECMP_BUCKETS];
};
_Static_assert(sizeof(struct vr_ecmp) == 4 + 4 * VR_ECMP_MEMBERS + 4 * VR_ECMP_BUCKETS, "struct vr_ecmp layout");

/* Key of the per-VRF IPv4 LPM tries (value: __u32 nexthop id). */
struct vr_route4_key {
	__u32 prefixlen;
	__be32 addr;
};
_Static_assert(sizeof(struct vr_route4_key) == 8, "struct vr_route4_key layout");

/* Host-route table (HASH, all VRFs): the exact-match front of the per-VRF tries. Value: __u32 nexthop id. */
struct vr_host4_key {
	__u32 vrf_id;
	__be32 addr;
};
_Static_assert(sizeof(struct vr_host4_key) == 8, "struct vr_host4_key layout");

/* Key of the per-VRF IPv6 LPM tries (value: __u32 nexthop id). */
struct vr_route6_key {
	__u32 prefixlen;
	__u8 addr[16];
};
_Static_assert(sizeof(struct vr_route6_key) == 20, "struct vr_route6_key layout");

/* IPv6 host-route table (HASH, all VRFs): the /128 routes, in front of the per-VRF IPv6 tries. Value: __u32
 * nexthop id. */
struct vr_host6_key {
	__u32 vrf_id;
	__u8 addr[16];
};
_Static_assert(sizeof(struct vr_host6_key) == 20, "struct vr_host6_key layout");

/* Underlay next-hop cache: a per-CPU, direct-mapped array filled by the datapath from bpf_fib_lookup. A slot
 * serves the (remote host, source-port bucket) it names; another pair hashing to it replaces it. */
struct vr_underlay {
	__u64 expires;    /* jiffies after which the slot is resolved again (0: empty) */
	__be32 remote_ip; /* the pair this slot holds */
	__u16 bucket;
	__u16 mtu;        /* IPv4 MTU of the route to the remote host */
	__u32 ifindex;    /* egress device */
	__u8 smac[6];
	__u8 dmac[6];
};
_Static_assert(sizeof(struct vr_underlay) == 32, "struct vr_underlay layout");

/* Route cache slot (PERCPU_ARRAY route_cache). gen 0 never matches: the generation starts at 1. */
struct vr_route_cache {
	__u32 vrf_id;
	__be32 addr;
	__u32 nh_id;
	__u32 gen;
};
_Static_assert(sizeof(struct vr_route_cache) == 16, "struct vr_route_cache layout");

/* endpoints map: HASH, key = underlay address (__be32). An address is known while a tunnel nexthop points at
 * it (refs, kept by libvrouter) or it is configured (vrouterctl endpoint add). */
struct vr_endpoint {
	__u32 refs;
	__u32 flags; /* VR_EP_F_* */
};
_Static_assert(sizeof(struct vr_endpoint) == 8, "struct vr_endpoint layout");

enum vr_endpoint_flags {
	VR_EP_F_CONFIGURED = 1 << 0,
};

/* ---- Gateway (VNGW): NAT between the tenants' VRFs and the external network ---------------------------
 *
 * nat_config map: ARRAY of one. ext_ifindex 0: this vRouter is no gateway (EXTERNAL nexthops drop). */
struct vr_nat_config {
	__u32 ext_ifindex;         /* the external NIC: vr_ext_xdp receives there, translated packets leave there */
	__u32 timeout_tcp;         /* seconds an established TCP connection may stay idle */
	__u32 timeout_tcp_transitory; /* seconds before the handshake completes and after FIN or RST */
	__u32 timeout_udp;
	__u32 timeout_icmp;        /* ICMP echo */
	__u32 flags;
};
_Static_assert(sizeof(struct vr_nat_config) == 24, "struct vr_nat_config layout");

/* snat map: ARRAY indexed by VRF id: the tenant's public address and port range for source NAT (addr 0: the
 * tenant has none; its packets to the outside are counted drops). Ports in host order, min <= max. */
struct vr_snat {
	__be32 addr;
	__u16 port_min;
	__u16 port_max;
};
_Static_assert(sizeof(struct vr_snat) == 8, "struct vr_snat layout");

/* Floating IPs: fip map HASH (VRF, private address) -> public address; fip_rev HASH public address -> that key.
 * A floating IP maps 1:1, both ways, without connection state and without changing ports. */
struct vr_fip_key {
	__u32 vrf_id;
	__be32 addr;
};
_Static_assert(sizeof(struct vr_fip_key) == 8, "struct vr_fip_key layout");

/* nat_addrs map: HASH public address -> __u32 VR_NAT_ADDR_* flags: the external addresses the gateway owns
 * (every SNAT address and floating IP). Packets on the external NIC to any other address are the host's. */
enum vr_nat_addr_flags {
	VR_NAT_ADDR_SNAT = 1 << 0,
	VR_NAT_ADDR_FIP = 1 << 1,
};

/* The connection table (nat map, HASH): two entries per source-NAT connection, written by the datapath.
 *   outbound  dir VR_NAT_OUT, vrf = the tenant, src/dst/ports as the VM sends them
 *             -> addr/port: the public source address and port it leaves with
 *   inbound   dir VR_NAT_IN, vrf 0, src = the remote end, dst = the public address/port, as replies carry them
 *             -> addr/port: the VM's address and port, vrf: the tenant
 * ICMP echo: the identifier stands in for the ports (sport outbound, dport inbound; the other port 0).
 * Entries expire after the protocol's timeout without packets (last_seen, in jiffies); the datapath reuses an
 * expired pair on the spot, and user space (vrouterctl nat gc, the agent) sweeps them. A full table refuses new
 * connections (a counted drop) and never evicts a live one. */
enum vr_nat_dir {
	VR_NAT_OUT = 0,
	VR_NAT_IN = 1,
};

struct vr_nat_key {
	__be32 src;
	__be32 dst;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 dir;
	__u16 pad;
	__u32 vrf_id;
};
_Static_assert(sizeof(struct vr_nat_key) == 20, "struct vr_nat_key layout");

enum vr_nat_state {
	VR_NAT_S_NEW = 0,         /* TCP: SYN seen, no answer yet (transitory timeout); UDP/ICMP: one way so far */
	VR_NAT_S_ESTABLISHED = 1, /* packets seen both ways */
	VR_NAT_S_CLOSING = 2,     /* TCP FIN or RST seen (transitory timeout) */
};

struct vr_nat_entry {
	__be32 addr;
	__be16 port;
	__u8 state;      /* enum vr_nat_state (kept in the outbound entry) */
	__u8 pad;
	__u32 vrf_id;    /* inbound: the tenant */
	__u32 pad2;
	__u64 last_seen; /* jiffies of the last packet either way (kept in the outbound entry) */
	__u64 packets;   /* this direction */
	__u64 bytes;
};
_Static_assert(sizeof(struct vr_nat_entry) == 40, "struct vr_nat_entry layout");

/* config map: ARRAY of one. */
struct vr_config {
	__be32 host_ip;         /* this host's underlay address: outer source, decap destination */
	__u32 fabric_ifindex;   /* the underlay NIC */
	__u8 vr_mac[6];         /* MAC presented to VMs */
	__u16 udp_port;         /* MPLS-in-UDP destination port (host order), normally 6635 */
	__u32 hash_seed;        /* seed of the inner-flow hash that picks the UDP source port */
	__u32 flags;            /* VR_CFG_F_* */
};
_Static_assert(sizeof(struct vr_config) == 24, "struct vr_config layout");

enum vr_config_flags {
	VR_CFG_F_FABRIC_TC = 1 << 0, /* fabric mode tc: no XDP on the fabric, vr_fabric_tc decapsulates */
};

/* XDP -> TC hand-over: an XDP program that wants a frame delivered as an skb (to a vif in mode tc, where
 * GRO can merge it first) leaves this in the XDP metadata area and passes the frame; the TC program on the
 * same device finds it in skb->data_meta and redirects to ifindex. */
#define VR_META_MAGIC 0x76726d31 /* "vrm1" */
struct vr_xdp_meta {
	__u32 magic;
	__u32 ifindex;
};
_Static_assert(sizeof(struct vr_xdp_meta) == 8, "struct vr_xdp_meta layout");

/* vif_stats map: PERCPU_ARRAY indexed by vif id. rx: from the VM, tx: to the VM. */
struct vr_vif_stats {
	__u64 rx_packets;
	__u64 rx_bytes;
	__u64 tx_packets;
	__u64 tx_bytes;
	__u64 drops;      /* packets from this vif dropped for any reason */
};

/* Drop reasons: one per-CPU counter each in the drops map; vrouterctl prints them by name. */
#define VR_DROP_REASONS(X)                                                                   \
	X(VR_DROP_UNKNOWN_VIF, "unknown_vif", "ingress device is not a vif")                   \
	X(VR_DROP_MALFORMED, "malformed", "truncated or malformed header")                       \
	X(VR_DROP_VLAN, "vlan", "VLAN-tagged frame from a VM")                                   \
	X(VR_DROP_ETHERTYPE, "unsupported_ethertype", "ethertype the vRouter does not route")    \
	X(VR_DROP_ARP_IGNORED, "arp_ignored", "ARP reply, gratuitous ARP or probe from a VM")  \
	X(VR_DROP_ARP_NO_ROUTE, "arp_no_route", "ARP for an address not routed in the VRF")     \
	X(VR_DROP_NO_VRF, "no_vrf", "VRF table does not exist")                                  \
	X(VR_DROP_NO_ROUTE, "no_route", "no route in the VRF")                                   \
	X(VR_DROP_TTL, "ttl_exceeded", "TTL or hop limit expired")                                           \
	X(VR_DROP_NO_NEXTHOP, "no_nexthop", "route points at a missing nexthop")                \
	X(VR_DROP_NH_INVALID, "nexthop_invalid", "nexthop type not usable here")                \
	X(VR_DROP_DISCARD, "discard", "discard route")                                           \
	X(VR_DROP_NO_CONFIG, "no_config", "host address or fabric device not configured")       \
	X(VR_DROP_NO_NEIGH, "unresolved_neigh", "underlay neighbour not resolved yet")          \
	X(VR_DROP_UNDERLAY_UNREACH, "underlay_unreachable", "no underlay route to the remote host") \
	X(VR_DROP_UNDERLAY_FWD_OFF, "underlay_fwd_disabled", "IPv4 forwarding is off on the fabric device") \
	X(VR_DROP_FRAG_NEEDED, "frag_needed", "too big for the tunnel, DF set: ICMP sent to the VM") \
	X(VR_DROP_TOO_BIG, "too_big", "too big for the tunnel, DF clear: dropped")            \
	X(VR_DROP_BAD_LABEL, "bad_label", "MPLS label not in the label table")                  \
	X(VR_DROP_MPLS_STACK, "mpls_stack", "MPLS label stack deeper than one")                 \
	X(VR_DROP_INNER_PROTO, "inner_proto", "inner packet is neither IPv4 nor IPv6")                        \
	X(VR_DROP_ADJUST_FAIL, "adjust_head_failed", "could not make room for headers")         \
	X(VR_DROP_REDIRECT_FAIL, "redirect_failed", "XDP to TC hand-over failed")                \
	X(VR_DROP_SPOOF_MAC, "spoofed_mac", "VM frame from a MAC that is not its vif's")       \
	X(VR_DROP_SPOOF_IP, "spoofed_ip", "VM packet from an address not routed to its vif")    \
	X(VR_DROP_UNKNOWN_ENDPOINT, "unknown_endpoint", "tunnel packet from an unknown host")   \
	X(VR_DROP_GRE_UNSUPPORTED, "gre_unsupported", "GRE with a key, sequence number, routing or version > 0") \
	X(VR_DROP_ND_IGNORED, "nd_ignored", "NDP/MLD message needing no answer (advertisement, DAD probe, bad hop limit)") \
	X(VR_DROP_ND_NO_ROUTE, "nd_no_route", "neighbour solicitation for an address not routed in the VRF") \
	X(VR_DROP_PKT_TOO_BIG, "pkt_too_big", "IPv6 packet too big for the tunnel: ICMPv6 sent to the VM") \
	X(VR_DROP_LINK_LOCAL, "link_local", "IPv6 packet to a link-local or multicast address, not NDP") \
	X(VR_DROP_NAT_NO_SNAT, "nat_no_snat", "to the outside from a VRF without a public address") \
	X(VR_DROP_NAT_UNSUPPORTED, "nat_unsupported", "to the outside: not TCP, UDP or ICMP echo, or a fragment") \
	X(VR_DROP_NAT_FULL, "nat_table_full", "new connection refused: the NAT connection table is full") \
	X(VR_DROP_NAT_NO_PORT, "nat_no_port", "new connection refused: no free public port found") \
	X(VR_DROP_NAT_NO_CONN, "nat_no_conn", "from the outside to a public address: no connection or floating IP") \
	X(VR_DROP_EXT_UNREACH, "external_unreachable", "no route to the destination in the host's tables") \
	X(VR_DROP_NOT_GATEWAY, "not_gateway", "external nexthop on a vRouter that is no gateway")

#define VR_DROP_ENUM_ENTRY(id, name, desc) id,
enum vr_drop_reason {
	VR_DROP_NONE = 0,
	VR_DROP_REASONS(VR_DROP_ENUM_ENTRY)
	VR_DROP_MAX,
};
#undef VR_DROP_ENUM_ENTRY

/* Events from the datapath (events ring buffer). */
enum vr_event_type {
	VR_EV_NEIGH_MISS = 1, /* addr: underlay next hop to resolve on ifindex */
};

struct vr_event {
	__u32 type;
	__u32 ifindex;
	__be32 addr;
	__u32 pad;
};
_Static_assert(sizeof(struct vr_event) == 16, "struct vr_event layout");

#endif /* VR_TYPES_H */
