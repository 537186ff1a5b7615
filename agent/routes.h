/* vrouter-agent learned routes: the routes the controllers send (XMPP <items> of nodes 1/1/VRF and, for IPv6,
 * 2/1/VRF), kept per prefix and per controller, and installed in the VRF's route table as tunnel routes, or as ECMP routes when
 * an item lists several usable next hops.
 *
 * Routes from the (up to two) controllers are a union: a prefix stays installed while any controller has
 * it; when they disagree, the first controller that has a fresh (not stale) copy wins. Each copy is a list of
 * 1..VR_ROUTES_MAX_NH next hops (tunnels: remote host, label, encapsulation), kept sorted and without
 * duplicates: one is a plain tunnel route, more are a composite nexthop (VR_NH_COMPOSITE) with one tunnel
 * member each. A change of the list (or of a next hop's label or encapsulation) replaces the route in one
 * step (vr_route_replace: no moment without a route, and from one composite to another the buckets of the
 * members that stay are kept, so only the flows of removed members move). Graceful restart: when a session is
 * lost its routes are marked stale and stay installed; the reconnected controller refreshes them, and
 * vr_routes_sweep() (EndOfRib or the stale timer) drops the copies it did not refresh. Callers pass an open
 * handle (one vr_open per stanza, not per route).
 *
 * Installs of new single-next-hop routes are batched: such a route is queued (vr_routes_update returns at
 * once) and the queue goes to the datapath through vr_route_add_batch (its nexthops in one kernel batch per
 * call) when the caller calls vr_routes_flush, when it reaches VR_ROUTES_BATCH_MAX routes, or before anything
 * else touches a queued prefix (a change of next hop, a withdraw), so the datapath sees the same changes in
 * the same order per prefix as without batching. New ECMP routes, deletes and replaces are done at once, route
 * by route. A queued
 * route that the datapath refuses is logged and stays uninstalled, as before; the others of its batch are
 * installed. The learned routes are a hash that grows with them (load <= 1).
 *
 * A learned route for the address of a local port (is_local) is kept but not installed: the port's own route
 * serves it (an anycast address: the same /32 on other hosts too), and the learned one is installed when the
 * port goes (vr_routes_local_changed).
 *
 * IPv6 routes (the *6 functions) are kept and installed the same way, in the VRF's IPv6 table; their next hops
 * are tunnels over the same IPv4 underlay. An IPv6 entry carries its prefix after the struct (prefix6), so the
 * IPv4 routes, the many, cost no more than before. */
#ifndef VR_AGENT_ROUTES_H
#define VR_AGENT_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "config.h"
#include "libvrouter.h"

/* Copy slots: one per controller, plus one for routes adopted from the datapath at start. */
#define VR_ROUTES_ADOPTED VR_AGENT_MAX_CONTROLLERS
#define VR_ROUTES_SLOTS (VR_AGENT_MAX_CONTROLLERS + 1)
/* Next hops of one route at most: the members of a composite nexthop. */
#define VR_ROUTES_MAX_NH VR_ECMP_MEMBERS

/* One next hop: a tunnel. */
struct vr_learned_nh {
	__be32 remote_ip;
	__u32 label;
	__u8 encap;				/* enum vr_encap */
};

/* A controller's copy of a route: its one next hop inline (12 bytes, as many routes as there are), or a list
 * of several in e->ecmp->copy[slot]. */
struct vr_learned_copy {
	__be32 remote_ip;			/* n_nh == 1 */
	__u32 label;				/* n_nh == 1 */
	__u8 encap;				/* n_nh == 1 */
	bool have, stale;
	__u8 n_nh;				/* 1..VR_ROUTES_MAX_NH when have */
};

/* The lists of a route that has had two or more next hops (allocated then, freed with the route). */
struct vr_learned_ecmp {
	struct vr_learned_nh copy[VR_ROUTES_SLOTS][VR_ROUTES_MAX_NH];
	struct vr_learned_nh inst[VR_ROUTES_MAX_NH];
};

struct vr_learned {
	struct vr_learned *next;		/* hash chain */
	__u32 vrf_id, plen;
	__be32 prefix;
	struct vr_learned_copy copy[VR_ROUTES_SLOTS];
	bool installed;				/* what the route table holds (or will, once flushed) */
	bool queued;				/* in the install queue, not yet in the route table */
	__u8 inst_n;				/* next hops installed: 1 in inst_*, more in ecmp->inst */
	__u8 inst_encap;
	__u8 family;				/* AF_INET (prefix) or AF_INET6 (prefix6) */
	__be32 inst_ip;
	__u32 inst_label;
	struct vr_learned_ecmp *ecmp;		/* NULL while every list has had one next hop */
	struct in6_addr prefix6[];		/* AF_INET6 only: allocated with the entry */
};

/* Routes queued at most (a flush writes them first). */
#define VR_ROUTES_BATCH_MAX 65536
/* Routes per vr_route_add_batch call. libvrouter writes a batch of 64 or more /32 routes by first reading the
 * whole host-route table (to refuse the keys that exist, since the kernel's batched update has no
 * BPF_NOEXIST) and then one batched update: about 190 ms per call with 500,000 routes in the table,
 * whatever the batch size. Below 64 it writes each route with BPF_NOEXIST (about 1.3 us a route, whatever
 * the table size), the nexthops still in one kernel batch. Incremental updates into a large table are
 * cheaper that way; with a libvrouter whose batches cost what they write, this can be the queue's size. */
#define VR_ROUTES_ADD_CHUNK 63

struct vr_routes {
	struct vr_learned **bucket;
	size_t n_buckets, n;
	struct vr_learned **queue;		/* installs not yet flushed, in arrival order */
	size_t n_queue, queue_cap;
	struct vr_route_req *reqs;		/* flush scratch, queue_cap entries */
	/* Whether a prefix is the address of a local port (whose own route holds it): the learned copies of it
	 * are kept but not installed (anycast: the same address on other hosts too; this host's instance wins).
	 * NULL: never. */
	bool (*is_local)(void *arg, __u32 vrf_id, __be32 prefix, __u32 plen);
	/* The same for IPv6 prefixes (the /128s of local ports). NULL: never. Both take is_local_arg. */
	bool (*is_local6)(void *arg, __u32 vrf_id, const struct in6_addr *prefix, __u32 plen);
	void *is_local_arg;
};

int vr_routes_init(struct vr_routes *r);
void vr_routes_free(struct vr_routes *r);	/* forgets (queued installs too: flush first); the route table
						 * keeps what is installed */
/* Controller slot's copy of a prefix: set to the next hops nh[0..n) (n >= 1, in any order; duplicates are
 * dropped and only the first VR_ROUTES_MAX_NH distinct ones are kept) or withdrawn. A change of encapsulation
 * is a change of next hop. Returns 0 or -errno of the map operation (logged); an install that was only
 * queued returns 0 (its failure, if any, is logged at the flush). */
int vr_routes_update(struct vr_routes *r, struct vr_handle *h, unsigned int slot, __u32 vrf_id, __be32 prefix,
		     __u32 plen, const struct vr_learned_nh *nh, unsigned int n);
int vr_routes_withdraw(struct vr_routes *r, struct vr_handle *h, unsigned int slot, __u32 vrf_id, __be32 prefix,
		       __u32 plen);
/* The same for an IPv6 prefix (plen 0..128, no bits set beyond it). */
int vr_routes_update6(struct vr_routes *r, struct vr_handle *h, unsigned int slot, __u32 vrf_id,
		      const struct in6_addr *prefix, __u32 plen, const struct vr_learned_nh *nh, unsigned int n);
int vr_routes_withdraw6(struct vr_routes *r, struct vr_handle *h, unsigned int slot, __u32 vrf_id,
			const struct in6_addr *prefix, __u32 plen);
/* is_local changed for the /32s ips[0..n) of vrf_id: their learned routes are removed (a port claims the
 * address: call before adding its route) or installed (the port is gone: call after its route went). */
void vr_routes_local_changed(struct vr_routes *r, struct vr_handle *h, __u32 vrf_id, const __be32 *ips,
			     unsigned int n);
/* The same for the /128s ip6s[0..n) of vrf_id. */
void vr_routes_local_changed6(struct vr_routes *r, struct vr_handle *h, __u32 vrf_id, const struct in6_addr *ip6s,
			      unsigned int n);
/* Write the queued installs (one vr_route_add_batch). Returns how many the datapath refused (each logged). */
size_t vr_routes_flush(struct vr_routes *r, struct vr_handle *h);
/* Mark every copy of slot stale (session lost); returns how many. */
size_t vr_routes_mark_stale(struct vr_routes *r, unsigned int slot);
/* Drop slot's stale copies (EndOfRib or stale timer); returns how many. */
size_t vr_routes_sweep(struct vr_routes *r, struct vr_handle *h, unsigned int slot);
/* Drop every copy in vrf_id (the VRF was unsubscribed: it has no port any more). */
size_t vr_routes_flush_vrf(struct vr_routes *r, struct vr_handle *h, __u32 vrf_id);
/* Adopt the tunnel routes and the ECMP routes of tunnels found in the datapath (agent restart), of both families,
 * as stale copies of VR_ROUTES_ADOPTED. */
int vr_routes_adopt(struct vr_routes *r, struct vr_handle *h);
size_t vr_routes_count(const struct vr_routes *r, unsigned int slot, bool stale_only);

#endif /* VR_AGENT_ROUTES_H */
