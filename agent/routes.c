/* vrouter-agent learned routes (see routes.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "log.h"
#include "routes.h"

#define ROUTES_BUCKETS 16384	/* initial; doubles whenever there are more routes than buckets */

static size_t bucket_of(const struct vr_routes *r, __u32 vrf_id, __be32 prefix, __u32 plen)
{
	__u64 h = ((__u64)vrf_id << 32 | (__u32)prefix) ^ (__u64)plen << 58;

	/* A 64-bit finalizer (murmur3's): every input bit reaches the low bits the mask keeps. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (size_t)h & (r->n_buckets - 1);
}

int vr_routes_init(struct vr_routes *r)
{
	memset(r, 0, sizeof(*r));
	r->bucket = calloc(ROUTES_BUCKETS, sizeof(*r->bucket));
	if (!r->bucket)
		return -ENOMEM;
	r->n_buckets = ROUTES_BUCKETS;
	return 0;
}

void vr_routes_free(struct vr_routes *r)
{
	free(r->queue);
	free(r->reqs);
	for (size_t i = 0; i < r->n_buckets; i++)
		while (r->bucket[i]) {
			struct vr_learned *e = r->bucket[i];

			r->bucket[i] = e->next;
			free(e);
		}
	free(r->bucket);
	memset(r, 0, sizeof(*r));
}

/* Double the buckets (a failed allocation just leaves longer chains). */
static void grow(struct vr_routes *r)
{
	size_t nb = r->n_buckets * 2;
	struct vr_learned **b = calloc(nb, sizeof(*b));
	struct vr_routes tmp = { .bucket = b, .n_buckets = nb };

	if (!b)
		return;
	for (size_t i = 0; i < r->n_buckets; i++)
		while (r->bucket[i]) {
			struct vr_learned *e = r->bucket[i];
			size_t j = bucket_of(&tmp, e->vrf_id, e->prefix, e->plen);

			r->bucket[i] = e->next;
			e->next = b[j];
			b[j] = e;
		}
	free(r->bucket);
	r->bucket = b;
	r->n_buckets = nb;
}

static struct vr_learned **find(struct vr_routes *r, __u32 vrf_id, __be32 prefix, __u32 plen)
{
	struct vr_learned **p = &r->bucket[bucket_of(r, vrf_id, prefix, plen)];

	for (; *p; p = &(*p)->next)
		if ((*p)->vrf_id == vrf_id && (*p)->prefix == prefix && (*p)->plen == plen)
			return p;
	return p;
}

static const char *pfx(const struct vr_learned *e, char *buf, size_t n)
{
	char ip[16];

	snprintf(buf, n, "%s/%u", inet_ntop(AF_INET, &e->prefix, ip, sizeof(ip)), e->plen);
	return buf;
}

static bool debug_on(void)
{
	return vr_log_level() >= VR_AGENT_LOG_DEBUG;
}

/* Queue e's install (e->inst_ip/inst_label/inst_encap set); false when the queue cannot grow (install it now). */
static bool enqueue(struct vr_routes *r, struct vr_handle *h, struct vr_learned *e)
{
	if (r->n_queue >= VR_ROUTES_BATCH_MAX)
		vr_routes_flush(r, h);
	if (r->n_queue >= r->queue_cap) {
		size_t cap = r->queue_cap ? r->queue_cap * 2 : 256;
		struct vr_learned **q;
		struct vr_route_req *reqs;

		if (cap > VR_ROUTES_BATCH_MAX)
			cap = VR_ROUTES_BATCH_MAX;
		q = realloc(r->queue, cap * sizeof(*q));
		if (!q)
			return false;
		r->queue = q;
		reqs = realloc(r->reqs, cap * sizeof(*reqs));
		if (!reqs)
			return false;
		r->reqs = reqs;
		r->queue_cap = cap;
	}
	e->queued = true;
	r->queue[r->n_queue++] = e;
	return true;
}

size_t vr_routes_flush(struct vr_routes *r, struct vr_handle *h)
{
	size_t n = r->n_queue, failed = 0;
	char b[32], ip[16];

	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct vr_learned *e = r->queue[i];

		r->reqs[i] = (struct vr_route_req){
			.vrf_id = e->vrf_id, .prefix = e->prefix, .plen = e->plen,
			.nh = { .type = VR_NH_TUNNEL, .remote_ip = e->inst_ip, .label = e->inst_label,
				.encap = e->inst_encap },
		};
	}
	for (size_t at = 0; at < n; at += VR_ROUTES_ADD_CHUNK) {
		size_t k = n - at < VR_ROUTES_ADD_CHUNK ? n - at : VR_ROUTES_ADD_CHUNK;
		int rc = vr_route_add_batch(h, r->reqs + at, k);

		for (size_t i = at; i < at + k; i++) {
			struct vr_learned *e = r->queue[i];
			int err = rc < 0 ? rc : r->reqs[i].err;

			e->queued = false;
			if (err) {
				e->installed = false;
				failed++;
				log_warn("learned route %s in vrf %u via %s label %u encap %s: %s", pfx(e, b, sizeof(b)),
					 e->vrf_id, inet_ntop(AF_INET, &e->inst_ip, ip, sizeof(ip)), e->inst_label,
					 vr_encap_name(e->inst_encap), rc < 0 ? vr_strerror() : strerror(-err));
			} else if (debug_on()) {
				log_debug("learned route %s in vrf %u via %s label %u encap %s installed",
					  pfx(e, b, sizeof(b)), e->vrf_id, inet_ntop(AF_INET, &e->inst_ip, ip, sizeof(ip)),
					  e->inst_label, vr_encap_name(e->inst_encap));
			}
		}
	}
	r->n_queue = 0;
	return failed;
}

/* Whether what e installed (or queued) is want's next hop. */
static bool same_nexthop(const struct vr_learned *e, const struct vr_learned_copy *want)
{
	return want && want->remote_ip == e->inst_ip && want->label == e->inst_label && want->encap == e->inst_encap;
}

/* Make the route table hold what the copies say; frees the entry (via *p) when no copy is left. The install
 * of a new route is queued (see vr_routes_flush); a queued install is written before anything else happens
 * to its prefix; a replace (delete + add) is done at once. */
static int reconcile(struct vr_routes *r, struct vr_handle *h, struct vr_learned **p)
{
	struct vr_learned *e = *p;
	const struct vr_learned_copy *want = NULL;
	bool replace = false;
	char b[32], ip[16];
	int rc = 0;

	for (int pass = 0; pass < 2 && !want; pass++)
		for (unsigned int s = 0; s < VR_ROUTES_SLOTS && !want; s++)
			if (e->copy[s].have && (pass || !e->copy[s].stale))
				want = &e->copy[s];
	if (e->queued && !same_nexthop(e, want))
		vr_routes_flush(r, h);
	if (e->installed && !same_nexthop(e, want)) {
		rc = vr_route_del(h, e->vrf_id, e->prefix, e->plen);
		if (rc && rc != -ENOENT)
			log_warn("learned route %s in vrf %u: removing it failed: %s", pfx(e, b, sizeof(b)), e->vrf_id,
				 vr_strerror());
		else if (debug_on())
			log_debug("learned route %s in vrf %u removed", pfx(e, b, sizeof(b)), e->vrf_id);
		e->installed = false;
		replace = true;
		rc = 0;
	}
	if (want && !e->installed) {
		struct vr_nh_spec nh = { .type = VR_NH_TUNNEL, .remote_ip = want->remote_ip, .label = want->label,
					 .encap = want->encap };

		e->installed = true;
		e->inst_ip = want->remote_ip;
		e->inst_label = want->label;
		e->inst_encap = want->encap;
		/* A new route waits for the batch; a replaced one goes back at once, so the prefix is not left
		 * without a route until the flush. */
		if (!replace && enqueue(r, h, e))
			return 0;
		rc = vr_route_add(h, e->vrf_id, e->prefix, e->plen, &nh);
		if (rc) {
			e->installed = false;
			log_warn("learned route %s in vrf %u via %s label %u encap %s: %s", pfx(e, b, sizeof(b)),
				 e->vrf_id, inet_ntop(AF_INET, &want->remote_ip, ip, sizeof(ip)), want->label,
				 vr_encap_name(want->encap), vr_strerror());
		} else if (debug_on()) {
			log_debug("learned route %s in vrf %u via %s label %u encap %s installed", pfx(e, b, sizeof(b)),
				  e->vrf_id, inet_ntop(AF_INET, &want->remote_ip, ip, sizeof(ip)), want->label,
				  vr_encap_name(want->encap));
		}
	}
	if (!want) {
		*p = e->next;
		free(e);
		r->n--;
	}
	return rc;
}

int vr_routes_update(struct vr_routes *r, struct vr_handle *h, unsigned int slot, __u32 vrf_id, __be32 prefix,
		     __u32 plen, __be32 remote_ip, __u32 label, __u8 encap)
{
	struct vr_learned **p = find(r, vrf_id, prefix, plen);

	if (slot >= VR_ROUTES_SLOTS)
		return -EINVAL;
	if (!*p) {
		struct vr_learned *e = calloc(1, sizeof(*e));

		if (!e)
			return -ENOMEM;
		e->vrf_id = vrf_id;
		e->prefix = prefix;
		e->plen = plen;
		*p = e;
		r->n++;
		if (r->n > r->n_buckets) {
			grow(r);
			p = find(r, vrf_id, prefix, plen);
		}
	}
	(*p)->copy[slot] = (struct vr_learned_copy){ .have = true, .encap = encap, .remote_ip = remote_ip,
						     .label = label };
	/* A fresh copy from a controller replaces what a previous agent left in the datapath. */
	if (slot != VR_ROUTES_ADOPTED)
		(*p)->copy[VR_ROUTES_ADOPTED].have = false;
	return reconcile(r, h, p);
}

int vr_routes_withdraw(struct vr_routes *r, struct vr_handle *h, unsigned int slot, __u32 vrf_id, __be32 prefix,
		       __u32 plen)
{
	struct vr_learned **p = find(r, vrf_id, prefix, plen);

	if (!*p || slot >= VR_ROUTES_SLOTS || !(*p)->copy[slot].have)
		return 0;
	(*p)->copy[slot].have = false;
	return reconcile(r, h, p);
}

size_t vr_routes_mark_stale(struct vr_routes *r, unsigned int slot)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_buckets; i++)
		for (struct vr_learned *e = r->bucket[i]; e; e = e->next)
			if (e->copy[slot].have && !e->copy[slot].stale) {
				e->copy[slot].stale = true;
				n++;
			}
	return n;
}

/* Drop the copies of slot that match (stale ones, or all in a VRF). */
static size_t drop(struct vr_routes *r, struct vr_handle *h, int slot, bool stale_only, bool any_vrf, __u32 vrf_id)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_buckets; i++) {
		struct vr_learned **p = &r->bucket[i];

		while (*p) {
			struct vr_learned *e = *p;
			bool changed = false;

			if (any_vrf || e->vrf_id == vrf_id)
				for (unsigned int s = 0; s < VR_ROUTES_SLOTS; s++)
					if ((slot < 0 || (unsigned int)slot == s) && e->copy[s].have &&
					    (!stale_only || e->copy[s].stale)) {
						e->copy[s].have = false;
						changed = true;
						n++;
					}
			if (changed)
				reconcile(r, h, p);
			if (*p == e)
				p = &e->next;
		}
	}
	return n;
}

size_t vr_routes_sweep(struct vr_routes *r, struct vr_handle *h, unsigned int slot)
{
	return drop(r, h, (int)slot, true, true, 0);
}

size_t vr_routes_flush_vrf(struct vr_routes *r, struct vr_handle *h, __u32 vrf_id)
{
	return drop(r, h, -1, false, false, vrf_id);
}

size_t vr_routes_count(const struct vr_routes *r, unsigned int slot, bool stale_only)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_buckets; i++)
		for (struct vr_learned *e = r->bucket[i]; e; e = e->next)
			if (e->copy[slot].have && (!stale_only || e->copy[slot].stale))
				n++;
	return n;
}

struct adopt_ctx {
	struct vr_routes *r;
	int err;
};

static int adopt_route(const struct vr_route_info *ri, void *arg)
{
	struct adopt_ctx *c = arg;
	struct vr_learned **p;
	struct vr_learned *e;

	if (ri->nh.type != VR_NH_TUNNEL)
		return 0;
	p = find(c->r, ri->vrf_id, ri->prefix, ri->plen);
	if (*p)
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e) {
		c->err = -ENOMEM;
		return -ENOMEM;
	}
	e->vrf_id = ri->vrf_id;
	e->prefix = ri->prefix;
	e->plen = ri->plen;
	e->installed = true;
	e->inst_ip = ri->nh.remote_ip;
	e->inst_label = ri->nh.label;
	e->inst_encap = vr_nh_encap(&ri->nh);
	e->copy[VR_ROUTES_ADOPTED] = (struct vr_learned_copy){ .have = true, .stale = true, .encap = e->inst_encap,
							       .remote_ip = ri->nh.remote_ip, .label = ri->nh.label };
	*p = e;
	if (++c->r->n > c->r->n_buckets)
		grow(c->r);
	return 0;
}

struct adopt_walk {
	struct adopt_ctx c;
	struct vr_handle *h;
	__u32 vrfs[4096];
	size_t n;
};

static int collect_vrf(const struct vr_vrf_info *vi, void *arg)
{
	struct adopt_walk *w = arg;

	if (w->n < sizeof(w->vrfs) / sizeof(w->vrfs[0]))
		w->vrfs[w->n++] = vi->vrf_id;
	return 0;
}

int vr_routes_adopt(struct vr_routes *r, struct vr_handle *h)
{
	struct adopt_walk *w = calloc(1, sizeof(*w));
	int rc;

	if (!w)
		return -ENOMEM;
	w->c.r = r;
	w->h = h;
	rc = vr_vrf_foreach(h, collect_vrf, w);
	for (size_t i = 0; !rc && i < w->n; i++)
		rc = vr_route_foreach(h, w->vrfs[i], adopt_route, &w->c);
	if (w->c.err)
		rc = w->c.err;
	free(w);
	return rc;
}
