/* libvrouter: the one place that knows the datapath's map layout. Loads and pins the programs and maps,
 * attaches programs to devices, and offers typed operations on vifs, VRFs, routes, nexthops and labels.
 * Used by vrouterctl and vrouter-agent. Never prints to stdout and never exits: functions return 0 or
 * -errno, and vr_strerror() gives the last failure's explanation for the caller to show. */
#ifndef LIBVROUTER_H
#define LIBVROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <netinet/in.h>
#include "vr_types.h"

/* Verbosity of libbpf's own messages (they go to stderr): 0 warnings, 1 info, 2 debug. */
void vr_set_verbosity(int level);

/* A human explanation of the last error returned by this library in this thread ("" if none). */
const char *vr_strerror(void);

struct vr_load_opts {
	const char *fabric;    /* underlay NIC name (required on first load) */
	__be32 host_ip;        /* underlay address of this host (required on first load) */
	__u8 mac[6];           /* vRouter MAC presented to VMs */
	bool mac_set;          /* default 00:00:5e:00:01:00, or what a previous load set */
	__u16 udp_port;        /* 0: keep / default 6635 */
	int fabric_mode;       /* VR_FABRIC_KEEP (what a previous load chose, else xdp), _XDP or _TC */
	__u32 nat_entries;     /* 0: VR_MAX_NAT; the size of the NAT connection table (first load only) */
};

enum vr_fabric_mode {
	VR_FABRIC_KEEP = 0,
	VR_FABRIC_XDP = 1, /* decapsulate in XDP before GRO (default) */
	VR_FABRIC_TC = 2,  /* no XDP on the fabric: decapsulate skbs in TC (keeps a veth peer's TSO) */
};

/* Load (or reload over a running datapath: maps are reused, links replaced atomically) and pin everything
 * under pin_dir, attach vr_fabric_xdp to the fabric NIC. Needs root and bpffs (mounted if possible). */
int vr_load(const char *pin_dir, const struct vr_load_opts *opts);
/* Detach every program and remove every pin under pin_dir. Loading nothing is not an error. */
int vr_unload(const char *pin_dir);
/* Does the running kernel have every map type, program type and helper the datapath uses, and is it at least
 * the documented minimum release (6.1)? 0, or -ENOTSUP with the missing features named in vr_strerror().
 * vr_load runs it first. VR_KERNEL_CHECK=0 skips the release floor, =none the feature probes too;
 * VR_MIN_KERNEL=X.Y sets another floor. Needs root (the probes load small maps and programs). */
int vr_kernel_check(void);

/* An open vRouter instance: the pinned maps' fds. vr_open takes an exclusive lock on pin_dir, so two
 * writers never interleave; it is released by vr_close. */
struct vr_handle {
	int dir_fd;
	int vifs_fd, vrf4_fd, host4_fd, nexthops_fd, labels_fd, tx_fd, config_fd, vif_stats_fd, drops_fd, events_fd;
	int underlay_fd, vif_slots_fd, route_gen_fd, endpoints_fd, endpoint_slots_fd, ecmp_fd;
	int vrf6_fd, host6_fd; /* the IPv6 tables: one trie per VRF beside the IPv4 one, and the /128 routes */
	int nat_config_fd, snat_fd, fip_fd, fip_rev_fd, nat_addrs_fd, nat_fd; /* the gateway's */
	int ncpus;
	char pin_dir[256];
	struct vr_nh_cache *nh_cache; /* libvrouter's own: the nexthop table while the handle is open */
	struct vr_label_cache *label_cache; /* ... the label table */
	struct vr_vif_ids *vif_ids;         /* ... the vif ids in use */
	struct vr_ep_pending *ep_pending;   /* ... endpoint reference changes not yet written */
};

int vr_open(const char *pin_dir, struct vr_handle *h);
void vr_close(struct vr_handle *h);
/* Drop the writer lock early (long-running readers such as an event loop). */
void vr_unlock(struct vr_handle *h);

int vr_config_get(struct vr_handle *h, struct vr_config *cfg);

/* VRFs: each has an IPv4 and an IPv6 table, created and deleted together. label: 0 for none, else an MPLS label that makes the far end look the inner destination up here. */
int vr_vrf_add(struct vr_handle *h, __u32 vrf_id, __u32 label);
/* Many VRFs at once: their tables are hooked in with one update (one wait for running programs instead of
 * one per VRF). Each request succeeds or fails on its own; returns how many failed, or -errno. */
struct vr_vrf_req {
	__u32 vrf_id;
	__u32 label; /* 0: none */
	int err;     /* out */
};
int vr_vrf_add_batch(struct vr_handle *h, struct vr_vrf_req *reqs, size_t n);
int vr_vrf_del(struct vr_handle *h, __u32 vrf_id);
struct vr_vrf_info {
	__u32 vrf_id;
	__u32 routes;
	__u32 vifs;
	__u32 label; /* per-VRF label, 0 if none */
};
typedef int (*vr_vrf_cb)(const struct vr_vrf_info *info, void *arg);
int vr_vrf_foreach(struct vr_handle *h, vr_vrf_cb cb, void *arg);

/* vifs. */
struct vr_vif_spec {
	const char *ifname;
	__u32 vrf_id;
	__u8 mac[6];
	__be32 ip;
	__be32 gw_ip;  /* 0: none */
	struct in6_addr ip6; /* the VM's IPv6 address (all zero: none) */
	struct in6_addr gw6; /* the IPv6 gateway the vRouter answers neighbour solicitations for (zero: none) */
	__u16 mtu;     /* 0: the device's MTU */
	__u32 label;   /* 0: allocate the lowest free label >= 16 */
	bool xdp;      /* mode xdp (XDP fast path for single frames) instead of mode tc (skb path, GSO) */
};
int vr_vif_add(struct vr_handle *h, const struct vr_vif_spec *spec, struct vr_vif *out);
int vr_vif_del(struct vr_handle *h, const char *ifname);
int vr_vif_get(struct vr_handle *h, const char *ifname, struct vr_vif *out);
/* The device behind a vif id (from the redirect map). */
int vr_vif_ifindex(struct vr_handle *h, __u32 vif_id, __u32 *ifindex);
typedef int (*vr_vif_cb)(const struct vr_vif *vif, void *arg);
int vr_vif_foreach(struct vr_handle *h, vr_vif_cb cb, void *arg);

/* Tunnel encapsulations: MPLS-in-UDP (RFC 7510, the default) or MPLS-over-GRE (RFC 4023). The encapsulation is
 * part of a tunnel nexthop (VR_NH_F_GRE in the table): the same remote host and label in both are two nexthops.
 * The datapath decapsulates both whatever the nexthops use. */
enum vr_encap {
	VR_ENCAP_UDP = 0,
	VR_ENCAP_GRE = 1,
};
/* "udp" / "gre" ("?" for anything else), and back (0 or -EINVAL). */
const char *vr_encap_name(__u8 encap);
int vr_parse_encap(const char *s, __u8 *out);
/* The encapsulation of a TUNNEL nexthop as the table holds it. */
static inline __u8 vr_nh_encap(const struct vr_nexthop *nh)
{
	return (nh->flags & VR_NH_F_GRE) ? VR_ENCAP_GRE : VR_ENCAP_UDP;
}

/* Routes. A nexthop spec names what the route points at; libvrouter finds an identical nexthop or
 * allocates one, and reference-counts it. */
struct vr_nh_spec {
	__u8 type;          /* VR_NH_ENCAP, VR_NH_TUNNEL, VR_NH_RECEIVE, VR_NH_DISCARD, VR_NH_COMPOSITE */
	__u8 encap;         /* TUNNEL: enum vr_encap (0: MPLS-in-UDP) */
	const char *ifname; /* ENCAP: the vif device */
	__be32 remote_ip;   /* TUNNEL */
	__u32 label;        /* TUNNEL */
	__u32 n_members;    /* COMPOSITE (ECMP): 2..VR_ECMP_MEMBERS members, each an ENCAP or TUNNEL spec */
	const struct vr_nh_spec *members;
};
int vr_route_add(struct vr_handle *h, __u32 vrf_id, __be32 prefix, __u32 plen, const struct vr_nh_spec *nh);
/* IPv6 routes (the nexthops are the same as for IPv4: the underlay stays IPv4). /128 routes live in the host
 * table, shorter ones in the VRF's IPv6 trie; bits beyond plen must be zero (-EINVAL otherwise). */
int vr_route6_add(struct vr_handle *h, __u32 vrf_id, const struct in6_addr *prefix, __u32 plen,
		  const struct vr_nh_spec *nh);
int vr_route6_del(struct vr_handle *h, __u32 vrf_id, const struct in6_addr *prefix, __u32 plen);
int vr_route6_replace(struct vr_handle *h, __u32 vrf_id, const struct in6_addr *prefix, __u32 plen,
		      const struct vr_nh_spec *nh);
/* Many routes at once (the agent's updates from the controller, `vrouterctl route import`): the nexthops are
 * written in one batch, /32 routes in batches of the host-route table, so a million routes take seconds,
 * not minutes. Each request succeeds or fails on its own (r->err, 0 or -errno; the last failure's
 * explanation is in vr_strerror()). Returns how many failed, or -errno when none could be tried. */
struct vr_route_req {
	__u32 vrf_id;
	__be32 prefix;          /* family AF_INET (or 0) */
	__u32 plen;
	int family;             /* 0 or AF_INET: prefix; AF_INET6: prefix6 */
	struct in6_addr prefix6;
	struct vr_nh_spec nh;
	int err;     /* out */
	__u32 nh_id; /* out: the nexthop the route points at */
};
int vr_route_add_batch(struct vr_handle *h, struct vr_route_req *reqs, size_t n);
int vr_route_del(struct vr_handle *h, __u32 vrf_id, __be32 prefix, __u32 plen);
/* Add the route, or point an existing one at the new nexthop in one step (no gap). When both the old and the
 * new nexthop are ECMP groups, the new group keeps the buckets of the members that stay: only the flows of
 * removed members move. */
int vr_route_replace(struct vr_handle *h, __u32 vrf_id, __be32 prefix, __u32 plen, const struct vr_nh_spec *nh);
/* An ECMP group (the members and buckets of a COMPOSITE nexthop's ecmp_id). */
int vr_ecmp_get(struct vr_handle *h, __u32 ecmp_id, struct vr_ecmp *out);
/* Routes of both families: family says which prefix field holds the route's. */
struct vr_route_info {
	__u32 vrf_id;
	int family; /* AF_INET or AF_INET6 */
	__be32 prefix;
	struct in6_addr prefix6;
	__u32 plen;
	__u32 nh_id;
	struct vr_nexthop nh;
};
typedef int (*vr_route_cb)(const struct vr_route_info *route, void *arg);
int vr_route_foreach(struct vr_handle *h, __u32 vrf_id, vr_route_cb cb, void *arg);

/* Explicit label bindings, beside the label every vif and (optionally) every VRF gets: a label that points at a
 * vif (per-interface label: the far end's packets with it go straight to that VM) or at a VRF (per-VRF label:
 * the inner destination is looked up there). Exactly one of ifname / vrf is the target (ifname NULL: vrf_id).
 * The batch form binds many at once (one kernel batch), each request failing on its own (err); it returns
 * how many failed or -errno. A vif's or VRF's own label is removed with it, not by vr_label_del. */
struct vr_label_req {
	__u32 label;
	const char *ifname;
	__u32 vrf_id;
	int err; /* out */
};
int vr_label_add(struct vr_handle *h, const struct vr_label_req *req);
int vr_label_add_batch(struct vr_handle *h, struct vr_label_req *reqs, size_t n);
int vr_label_del(struct vr_handle *h, __u32 label);

/* Tunnel endpoints: the fabric drops tunnel packets from any other source (counted as unknown_endpoint). The
 * remote hosts of tunnel nexthops are known by themselves; others (a host that sends to us but that we do
 * not route to) are configured. */
int vr_endpoint_add(struct vr_handle *h, __be32 addr);
int vr_endpoint_del(struct vr_handle *h, __be32 addr);
typedef int (*vr_endpoint_cb)(__be32 addr, const struct vr_endpoint *ep, void *arg);
int vr_endpoint_foreach(struct vr_handle *h, vr_endpoint_cb cb, void *arg);

/* Gateway (VNGW): NAT between the tenants' VRFs and the external network (see vr_types.h). A gateway has an
 * external NIC (vr_ext_xdp is attached to it); routes with an EXTERNAL nexthop (vr_nh_spec type
 * VR_NH_EXTERNAL, usually 0.0.0.0/0 in each tenant VRF) leave through it, source-NATed to the tenant's public
 * address unless the VM has a floating IP. */
struct vr_gateway_spec {
	const char *ext_ifname;      /* the external NIC */
	__u32 timeout_tcp, timeout_tcp_transitory, timeout_udp, timeout_icmp; /* seconds; 0: the default */
};
int vr_gateway_set(struct vr_handle *h, const struct vr_gateway_spec *spec); /* attach + nat_config */
int vr_gateway_unset(struct vr_handle *h);                                   /* detach, ext_ifindex 0 */
int vr_gateway_get(struct vr_handle *h, struct vr_nat_config *out);
/* A tenant's source-NAT address and port range (port_min/max 0: 1024..65535); addr 0 removes it. */
int vr_snat_set(struct vr_handle *h, __u32 vrf_id, __be32 addr, __u16 port_min, __u16 port_max);
int vr_snat_get(struct vr_handle *h, __u32 vrf_id, struct vr_snat *out);
/* Floating IPs: public <-> (VRF, private), both maps and nat_addrs kept consistent. */
int vr_fip_add(struct vr_handle *h, __be32 public_ip, __u32 vrf_id, __be32 private_ip);
int vr_fip_del(struct vr_handle *h, __be32 public_ip);
typedef int (*vr_fip_cb)(__be32 public_ip, const struct vr_fip_key *priv, void *arg);
int vr_fip_foreach(struct vr_handle *h, vr_fip_cb cb, void *arg);
/* The connection table: one callback per connection (its outbound and inbound entries; expired ones have
 * expired set, ttl the seconds left otherwise), and the sweep of expired connections (returns how many). */
struct vr_nat_conn {
	struct vr_nat_key out_key;
	struct vr_nat_entry out;
	struct vr_nat_key in_key;
	struct vr_nat_entry in;
	bool expired;
	__u32 ttl;
};
typedef int (*vr_nat_cb)(const struct vr_nat_conn *conn, void *arg);
int vr_nat_foreach(struct vr_handle *h, vr_nat_cb cb, void *arg);
int vr_nat_gc(struct vr_handle *h);
/* How full the connection table is: entries in it (both directions, orphans included) and its size. */
int vr_nat_usage(struct vr_handle *h, __u32 *entries, __u32 *max_entries);

/* Nexthops in use, with their reference counts (routes, labels and vifs holding them). */
typedef int (*vr_nh_cb)(__u32 nh_id, const struct vr_nexthop *nh, void *arg);
int vr_nh_foreach(struct vr_handle *h, vr_nh_cb cb, void *arg);

/* Labels in use: label -> nexthop. */
typedef int (*vr_label_cb)(__u32 label, __u32 nh_id, const struct vr_nexthop *nh, void *arg);
int vr_label_foreach(struct vr_handle *h, vr_label_cb cb, void *arg);

/* Counters, summed over CPUs. */
int vr_vif_stats_get(struct vr_handle *h, __u32 vif_id, struct vr_vif_stats *out);
int vr_drops_get(struct vr_handle *h, __u64 out[VR_DROP_MAX]);
const char *vr_drop_name(__u32 reason);
const char *vr_drop_desc(__u32 reason);
const char *vr_nh_type_name(__u8 type);

/* Datapath events: poll the ring buffer for up to timeout_ms and handle what arrived. Neighbour misses are
 * resolved (the kernel is asked to resolve the underlay neighbour); cb, if set, sees every event. */
typedef void (*vr_event_cb)(const struct vr_event *ev, void *arg);
struct vr_events;
struct vr_events *vr_events_open(struct vr_handle *h, vr_event_cb cb, void *arg);
int vr_events_poll(struct vr_events *ev, int timeout_ms);
void vr_events_close(struct vr_events *ev);
/* Ask the kernel to resolve addr on ifindex (netlink RTM_NEWNEIGH with NTF_USE). */
int vr_neigh_resolve(int ifindex, __be32 addr);

/* Parsers for the CLI and the agent: 0 on success, -EINVAL otherwise. */
int vr_parse_ipv4(const char *s, __be32 *out);
int vr_parse_prefix4(const char *s, __be32 *addr, __u32 *plen);
int vr_parse_ipv6(const char *s, struct in6_addr *out);
/* "X::Y/len" with no bits set beyond len. */
int vr_parse_prefix6(const char *s, struct in6_addr *addr, __u32 *plen);
int vr_parse_mac(const char *s, __u8 mac[6]);
int vr_parse_u32(const char *s, __u32 max, __u32 *out);

#endif /* LIBVROUTER_H */
