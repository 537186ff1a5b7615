/* vrouter-agent learned routes: the routes the controllers send (XMPP <items> of node 1/1/VRF), kept per
 * prefix and per controller, and installed in the VRF's route table as tunnel routes.
 *
 * Routes from the (up to two) controllers are a union: a prefix stays installed while any controller has
 * it; when they disagree, the first controller that has a fresh (not stale) copy wins. A change of next hop,
 * label or encapsulation is a replace (vr_route_del + vr_route_add). Graceful restart: when a session is lost
 * its routes are marked stale and stay installed; the reconnected controller refreshes them, and
 * vr_routes_sweep() (EndOfRib or the stale timer) drops the copies it did not refresh. Callers pass an open
 * handle (one vr_open per stanza, not per route).
 *
 * Installs of new routes are batched: such a route is queued (vr_routes_update returns at once) and the queue
 * goes to the datapath through vr_route_add_batch (its nexthops in one kernel batch per call) when the caller
 * calls vr_routes_flush, when it reaches VR_ROUTES_BATCH_MAX routes, or before anything else touches a queued
 * prefix (a change of next hop, a withdraw), so the datapath sees the same changes in the same order per
 * prefix as without batching. Deletes and replaces (delete + add) are done at once, route by route. A queued
 * route that the datapath refuses is logged and stays uninstalled, as before; the others of its batch are
 * installed. The learned routes are a hash that grows with them (load <= 1). */
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

struct vr_learned_copy {
	bool have, stale;
	__u8 encap;				/* enum vr_encap: the tunnel this controller's route is reached by */
	__be32 remote_ip;
	__u32 label;
};

struct vr_learned {
	struct vr_learned *next;		/* hash chain */
	__u32 vrf_id, plen;
	__be32 prefix;
	struct vr_learned_copy copy[VR_ROUTES_SLOTS];
	bool installed;				/* what the route table holds (or will, once flushed) */
	bool queued;				/* in the install queue, not yet in the route table */
	__u8 inst_encap;
	__be32 inst_ip;
	__u32 inst_label;
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
};

int vr_routes_init(struct vr_routes *r);
void vr_routes_free(struct vr_routes *r);	/* forgets (queued installs too: flush first); the route table
						 * keeps what is installed */
/* Controller slot's copy of a prefix: set (remote_ip/label, in encapsulation encap: enum vr_encap) or
 * withdrawn. A change of encapsulation is a change of next hop. Returns 0 or -errno of the map operation
 * (logged); an install that was only queued returns 0 (its failure, if any, is logged at the flush). */
int vr_routes_update(struct vr_routes *r, struct vr_handle *h, unsigned int slot, __u32 vrf_id, __be32 prefix,
		     __u32 plen, __be32 remote_ip, __u32 label, __u8 encap);
int vr_routes_withdraw(struct vr_routes *r, struct vr_handle *h, unsigned int slot, __u32 vrf_id, __be32 prefix,
		       __u32 plen);
/* Write the queued installs (one vr_route_add_batch). Returns how many the datapath refused (each logged). */
size_t vr_routes_flush(struct vr_routes *r, struct vr_handle *h);
/* Mark every copy of slot stale (session lost); returns how many. */
size_t vr_routes_mark_stale(struct vr_routes *r, unsigned int slot);
/* Drop slot's stale copies (EndOfRib or stale timer); returns how many. */
size_t vr_routes_sweep(struct vr_routes *r, struct vr_handle *h, unsigned int slot);
/* Drop every copy in vrf_id (the VRF was unsubscribed: it has no port any more). */
size_t vr_routes_flush_vrf(struct vr_routes *r, struct vr_handle *h, __u32 vrf_id);
/* Adopt the tunnel routes found in the datapath (agent restart) as stale copies of VR_ROUTES_ADOPTED. */
int vr_routes_adopt(struct vr_routes *r, struct vr_handle *h);
size_t vr_routes_count(const struct vr_routes *r, unsigned int slot, bool stale_only);

#endif /* VR_AGENT_ROUTES_H */
