/* vrouter-agent learned routes: the routes the controllers send (XMPP <items> of node 1/1/VRF), kept per
 * prefix and per controller, and installed in the VRF's route table as tunnel routes.
 *
 * Routes from the (up to two) controllers are a union: a prefix stays installed while any controller has
 * it; when they disagree, the first controller that has a fresh (not stale) copy wins. A change of next hop
 * or label is a replace (vr_route_del + vr_route_add). Graceful restart: when a session is lost its routes
 * are marked stale and stay installed; the reconnected controller refreshes them, and vr_routes_sweep()
 * (EndOfRib or the stale timer) drops the copies it did not refresh. Callers pass an open handle (one
 * vr_open per stanza, not per route). */
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
	__be32 remote_ip;
	__u32 label;
};

struct vr_learned {
	struct vr_learned *next;		/* hash chain */
	__u32 vrf_id, plen;
	__be32 prefix;
	struct vr_learned_copy copy[VR_ROUTES_SLOTS];
	bool installed;				/* what the route table holds */
	__be32 inst_ip;
	__u32 inst_label;
};

struct vr_routes {
	struct vr_learned **bucket;
	size_t n_buckets, n;
};

int vr_routes_init(struct vr_routes *r);
void vr_routes_free(struct vr_routes *r);	/* forgets; the route table keeps what is installed */
/* Controller slot's copy of a prefix: set (remote_ip/label) or withdrawn. Returns 0 or -errno of the map
 * operation (logged). */
int vr_routes_update(struct vr_routes *r, struct vr_handle *h, unsigned int slot, __u32 vrf_id, __be32 prefix,
		     __u32 plen, __be32 remote_ip, __u32 label);
int vr_routes_withdraw(struct vr_routes *r, struct vr_handle *h, unsigned int slot, __u32 vrf_id, __be32 prefix,
		       __u32 plen);
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
