/* vrouter-agent learned routes (see routes.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "log.h"
#include "routes.h"

#define ROUTES_BUCKETS 16384	/* initial; doubles whenever there are more routes than buckets */
#define PFX_STRLEN (INET6_ADDRSTRLEN + 5)	/* "ADDR/len" of either family */

/* A prefix of either family, as the functions below look routes up. */
struct rkey {
	__u32 vrf_id, plen;
	__u8 family;			/* AF_INET or AF_INET6 */
	__be32 v4;
	const struct in6_addr *v6;	/* AF_INET6 */
};

static struct rkey key4(__u32 vrf_id, __be32 prefix, __u32 plen)
{
	return (struct rkey){ .vrf_id = vrf_id, .plen = plen, .family = AF_INET, .v4 = prefix };
}

static struct rkey key6(__u32 vrf_id, const struct in6_addr *prefix, __u32 plen)
{
	return (struct rkey){ .vrf_id = vrf_id, .plen = plen, .family = AF_INET6, .v6 = prefix };
}

static struct rkey key_of(const struct vr_learned *e)
{
	return e->family == AF_INET6 ? key6(e->vrf_id, &e->prefix6[0], e->plen) : key4(e->vrf_id, e->prefix, e->plen);
}

static bool key_is(const struct vr_learned *e, const struct rkey *k)
{
	if (e->vrf_id != k->vrf_id || e->plen != k->plen || e->family != k->family)
		return false;
	return k->family == AF_INET6 ? !memcmp(&e->prefix6[0], k->v6, sizeof(*k->v6)) : e->prefix == k->v4;
}

static size_t bucket_of(const struct vr_routes *r, const struct rkey *k)
{
	__u64 h = ((__u64)k->vrf_id << 32 | (__u32)k->v4) ^ (__u64)k->plen << 58;

	if (k->family == AF_INET6) {
		__u64 a, b;

		/* Both halves of the address, the second rotated so that equal halves do not cancel. */
		memcpy(&a, k->v6->s6_addr, 8);
		memcpy(&b, k->v6->s6_addr + 8, 8);
		h ^= a ^ (b << 29 | b >> 35) ^ 1ull << 57;
	}

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
			free(e->ecmp);
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
			struct rkey k = key_of(e);
			size_t j = bucket_of(&tmp, &k);

			r->bucket[i] = e->next;
			e->next = b[j];
			b[j] = e;
		}
	free(r->bucket);
	r->bucket = b;
	r->n_buckets = nb;
}

static struct vr_learned **find(struct vr_routes *r, const struct rkey *k)
{
	struct vr_learned **p = &r->bucket[bucket_of(r, k)];

	for (; *p; p = &(*p)->next)
		if (key_is(*p, k))
			return p;
	return p;
}

/* Why the datapath refused a route of a batch: a full table answers E2BIG (a hash map) or ENOSPC, whose
 * strerror ("argument list too long") would not tell the operator which table. */
static const char *add_err_text(int err)
{
	if (err == -E2BIG || err == -ENOSPC)
		return "the route tables are full (the VRF's, or the host-route table of all VRFs)";
	return strerror(-err);
}

static const char *pfx(const struct vr_learned *e, char *buf, size_t n)
{
	char ip[INET6_ADDRSTRLEN];

	if (e->family == AF_INET6)
		inet_ntop(AF_INET6, &e->prefix6[0], ip, sizeof(ip));
	else
		inet_ntop(AF_INET, &e->prefix, ip, sizeof(ip));
	snprintf(buf, n, "%s/%u", ip, e->plen);
	return buf;
}

/* A new entry for key k (the IPv6 prefix after the struct). */
static struct vr_learned *entry_new(const struct rkey *k)
{
	struct vr_learned *e = calloc(1, sizeof(*e) + (k->family == AF_INET6 ? sizeof(struct in6_addr) : 0));

	if (!e)
		return NULL;
	e->vrf_id = k->vrf_id;
	e->plen = k->plen;
	e->family = k->family;
	if (k->family == AF_INET6)
		e->prefix6[0] = *k->v6;
	else
		e->prefix = k->v4;
	return e;
}

/* The route table operations for e's family. */
static int dp_add(struct vr_handle *h, const struct vr_learned *e, const struct vr_nh_spec *nh)
{
	if (e->family == AF_INET6)
		return vr_route6_add(h, e->vrf_id, &e->prefix6[0], e->plen, nh);
	return vr_route_add(h, e->vrf_id, e->prefix, e->plen, nh);
}

static int dp_replace(struct vr_handle *h, const struct vr_learned *e, const struct vr_nh_spec *nh)
{
	if (e->family == AF_INET6)
		return vr_route6_replace(h, e->vrf_id, &e->prefix6[0], e->plen, nh);
	return vr_route_replace(h, e->vrf_id, e->prefix, e->plen, nh);
}

static int dp_del(struct vr_handle *h, const struct vr_learned *e)
{
	if (e->family == AF_INET6)
		return vr_route6_del(h, e->vrf_id, &e->prefix6[0], e->plen);
	return vr_route_del(h, e->vrf_id, e->prefix, e->plen);
}

static bool local(const struct vr_routes *r, const struct vr_learned *e)
{
	if (e->family == AF_INET6)
		return r->is_local6 && r->is_local6(r->is_local_arg, e->vrf_id, &e->prefix6[0], e->plen);
	return r->is_local && r->is_local(r->is_local_arg, e->vrf_id, e->prefix, e->plen);
}

static bool debug_on(void)
{
	return vr_log_level() >= VR_AGENT_LOG_DEBUG;
}

/* The next hops of copy c of e, and what e installed (a single one is copied into *one). */
static const struct vr_learned_nh *copy_nhs(const struct vr_learned *e, const struct vr_learned_copy *c,
					    struct vr_learned_nh *one)
{
	if (c->n_nh > 1)
		return e->ecmp->copy[c - e->copy];
	*one = (struct vr_learned_nh){ .remote_ip = c->remote_ip, .label = c->label, .encap = c->encap };
	return one;
}

static const struct vr_learned_nh *inst_nhs(const struct vr_learned *e, struct vr_learned_nh *one)
{
	if (e->inst_n > 1)
		return e->ecmp->inst;
	*one = (struct vr_learned_nh){ .remote_ip = e->inst_ip, .label = e->inst_label, .encap = e->inst_encap };
	return one;
}

static int nh_cmp(const struct vr_learned_nh *a, const struct vr_learned_nh *b)
{
	if (a->remote_ip != b->remote_ip)
		return ntohl(a->remote_ip) < ntohl(b->remote_ip) ? -1 : 1;
	if (a->label != b->label)
		return a->label < b->label ? -1 : 1;
	return a->encap == b->encap ? 0 : a->encap < b->encap ? -1 : 1;
}

static bool same_list(const struct vr_learned_nh *a, unsigned int na, const struct vr_learned_nh *b, unsigned int nb)
{
	if (na != nb)
		return false;
	for (unsigned int i = 0; i < na; i++)
		if (nh_cmp(&a[i], &b[i]))
			return false;
	return true;
}

/* "via 192.0.2.1 label 17 encap udp[, via ...]" of a list, for the log. */
static const char *nhs_text(const struct vr_learned_nh *nh, unsigned int n, char *buf, size_t len)
{
	size_t at = 0;
	char ip[16];

	buf[0] = '\0';
	for (unsigned int i = 0; i < n && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%svia %s label %u encap %s", i ? ", " : "",
				       inet_ntop(AF_INET, &nh[i].remote_ip, ip, sizeof(ip)), nh[i].label,
				       vr_encap_name(nh[i].encap));
	return buf;
}
#define NHS_TEXT_MAX (VR_ROUTES_MAX_NH * 48)

/* The nexthop spec of a list: a tunnel, or a composite of tunnels (members has room for VR_ROUTES_MAX_NH). */
static struct vr_nh_spec nh_spec(const struct vr_learned_nh *nh, unsigned int n, struct vr_nh_spec *members)
{
	if (n == 1)
		return (struct vr_nh_spec){ .type = VR_NH_TUNNEL, .remote_ip = nh->remote_ip, .label = nh->label,
					    .encap = nh->encap };
	for (unsigned int i = 0; i < n; i++)
		members[i] = (struct vr_nh_spec){ .type = VR_NH_TUNNEL, .remote_ip = nh[i].remote_ip,
						  .label = nh[i].label, .encap = nh[i].encap };
	return (struct vr_nh_spec){ .type = VR_NH_COMPOSITE, .n_members = n, .members = members };
}

/* Record list nh[0..n), a copy's, as what e installs (a list of several is in e->ecmp, which is there). */
static void set_inst(struct vr_learned *e, const struct vr_learned_nh *nh, unsigned int n)
{
	if (n > 1) {
		memcpy(e->ecmp->inst, nh, n * sizeof(*nh));
	} else {
		e->inst_ip = nh->remote_ip;
		e->inst_label = nh->label;
		e->inst_encap = nh->encap;
	}
	e->inst_n = (__u8)n;
}

/* Queue e's install (e->inst_* set, one next hop); false when the queue cannot grow (install it now). */
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
	char b[PFX_STRLEN], ip[16];

	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct vr_learned *e = r->queue[i];

		r->reqs[i] = (struct vr_route_req){
			.vrf_id = e->vrf_id, .prefix = e->prefix, .plen = e->plen, .family = e->family,
			.nh = { .type = VR_NH_TUNNEL, .remote_ip = e->inst_ip, .label = e->inst_label,
				.encap = e->inst_encap },
		};
		if (e->family == AF_INET6)
			r->reqs[i].prefix6 = e->prefix6[0];
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
					 vr_encap_name(e->inst_encap), rc < 0 ? vr_strerror() : add_err_text(err));
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

/* Whether what e installed (or queued) is want's list of next hops. */
static bool same_nexthop(const struct vr_learned *e, const struct vr_learned_copy *want)
{
	struct vr_learned_nh a, b;

	return want && same_list(inst_nhs(e, &a), e->inst_n, copy_nhs(e, want, &b), want->n_nh);
}

/* Make the route table hold what the copies say; frees the entry (via *p) when no copy is left. The install
 * of a new single-next-hop route is queued (see vr_routes_flush); a queued install is written before
 * anything else happens to its prefix; a new ECMP route is added at once, a changed route replaced at once
 * (vr_route_replace), a route no copy wants any more deleted at once. */
static int reconcile(struct vr_routes *r, struct vr_handle *h, struct vr_learned **p)
{
	struct vr_nh_spec members[VR_ROUTES_MAX_NH], nh;
	struct vr_learned *e = *p;
	const struct vr_learned_copy *have = NULL, *want;
	struct vr_learned_nh one;
	const struct vr_learned_nh *list;
	char b[PFX_STRLEN], t[NHS_TEXT_MAX];
	int rc = 0;

	for (int pass = 0; pass < 2 && !have; pass++)
		for (unsigned int s = 0; s < VR_ROUTES_SLOTS && !have; s++)
			if (e->copy[s].have && (pass || !e->copy[s].stale))
				have = &e->copy[s];
	/* What to install: that copy, unless a local port has the address. */
	want = have && !local(r, e) ? have : NULL;
	if (e->queued && !same_nexthop(e, want))
		vr_routes_flush(r, h);
	list = want ? copy_nhs(e, want, &one) : NULL;
	if (e->installed && want && !same_nexthop(e, want)) {
		/* One step from the old nexthop to the new one; on failure the old route stays, and so does what
		 * we know of it (the next change tries again). */
		nh = nh_spec(list, want->n_nh, members);
		rc = dp_replace(h, e, &nh);
		if (!rc)
			set_inst(e, list, want->n_nh);
		if (rc)
			log_warn("learned route %s in vrf %u: replacing it (now %s) failed: %s", pfx(e, b, sizeof(b)),
				 e->vrf_id, nhs_text(list, want->n_nh, t, sizeof(t)), vr_strerror());
		else if (debug_on())
			log_debug("learned route %s in vrf %u replaced: %s", pfx(e, b, sizeof(b)), e->vrf_id,
				  nhs_text(list, want->n_nh, t, sizeof(t)));
		return rc;
	}
	if (e->installed && !want) {
		rc = dp_del(h, e);
		if (rc && rc != -ENOENT)
			log_warn("learned route %s in vrf %u: removing it failed: %s", pfx(e, b, sizeof(b)), e->vrf_id,
				 vr_strerror());
		else if (debug_on())
			log_debug("learned route %s in vrf %u removed%s", pfx(e, b, sizeof(b)), e->vrf_id,
				  have ? " (a local port has the address)" : "");
		e->installed = false;
		rc = 0;
	}
	if (want && !e->installed) {
		set_inst(e, list, want->n_nh);
		e->installed = true;
		/* A new route with one next hop waits for the batch. */
		if (want->n_nh == 1 && enqueue(r, h, e))
			return 0;
		nh = nh_spec(list, want->n_nh, members);
		rc = dp_add(h, e, &nh);
		if (rc) {
			e->installed = false;
			log_warn("learned route %s in vrf %u %s: %s", pfx(e, b, sizeof(b)), e->vrf_id,
				 nhs_text(list, want->n_nh, t, sizeof(t)), vr_strerror());
		} else if (debug_on()) {
			log_debug("learned route %s in vrf %u %s installed", pfx(e, b, sizeof(b)), e->vrf_id,
				  nhs_text(list, want->n_nh, t, sizeof(t)));
		}
	}
	if (!have) {
		*p = e->next;
		free(e->ecmp);
		free(e);
		r->n--;
	}
	return rc;
}

void vr_routes_local_changed(struct vr_routes *r, struct vr_handle *h, __u32 vrf_id, const __be32 *ips,
			     unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct rkey k = key4(vrf_id, ips[i], 32);
		struct vr_learned **p = find(r, &k);

		if (*p)
			reconcile(r, h, p);
	}
}

void vr_routes_local_changed6(struct vr_routes *r, struct vr_handle *h, __u32 vrf_id, const struct in6_addr *ip6s,
			      unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct rkey k = key6(vrf_id, &ip6s[i], 128);
		struct vr_learned **p = find(r, &k);

		if (*p)
			reconcile(r, h, p);
	}
}

/* Store nh[0..n) as copy c of e: sorted, without duplicates, at most VR_ROUTES_MAX_NH (the first distinct
 * ones). 0 or -ENOMEM. */
static int set_copy(struct vr_learned *e, struct vr_learned_copy *c, const struct vr_learned_nh *nh, unsigned int n)
{
	struct vr_learned_nh l[VR_ROUTES_MAX_NH] = {}; /* n == 0 (an empty group) stores a zero next hop */
	unsigned int k = 0;

	for (unsigned int i = 0; i < n; i++) {
		unsigned int pos = 0;

		while (pos < k && nh_cmp(&l[pos], &nh[i]) < 0)
			pos++;
		if ((pos < k && !nh_cmp(&l[pos], &nh[i])) || k == VR_ROUTES_MAX_NH)
			continue;
		memmove(&l[pos + 1], &l[pos], (k - pos) * sizeof(l[0]));
		l[pos] = (struct vr_learned_nh){ .remote_ip = nh[i].remote_ip, .label = nh[i].label,
						 .encap = nh[i].encap };
		k++;
	}
	if (k > 1) {
		if (!e->ecmp && !(e->ecmp = calloc(1, sizeof(*e->ecmp))))
			return -ENOMEM;
		memcpy(e->ecmp->copy[c - e->copy], l, k * sizeof(l[0]));
	} else {
		c->remote_ip = l[0].remote_ip;
		c->label = l[0].label;
		c->encap = l[0].encap;
	}
	c->n_nh = (__u8)k;
	c->have = true;
	c->stale = false;
	return 0;
}

static int update(struct vr_routes *r, struct vr_handle *h, unsigned int slot, const struct rkey *k,
		  const struct vr_learned_nh *nh, unsigned int n)
{
	struct vr_learned **p = find(r, k);
	__u32 vrf_id = k->vrf_id;

	if (slot >= VR_ROUTES_SLOTS || !n)
		return -EINVAL;
	if (!*p) {
		struct vr_learned *e = entry_new(k);

		if (!e)
			return -ENOMEM;
		*p = e;
		r->n++;
		if (r->n > r->n_buckets) {
			grow(r);
			p = find(r, k);
		}
	}
	if (set_copy(*p, &(*p)->copy[slot], nh, n)) {
		char b[PFX_STRLEN];

		log_warn("learned route %s in vrf %u: out of memory for its %u next hops", pfx(*p, b, sizeof(b)),
			 vrf_id, n);
		(*p)->copy[slot].have = false;
		reconcile(r, h, p);
		return -ENOMEM;
	}
	/* A fresh copy from a controller replaces what a previous agent left in the datapath. */
	if (slot != VR_ROUTES_ADOPTED)
		(*p)->copy[VR_ROUTES_ADOPTED].have = false;
	return reconcile(r, h, p);
}

static int withdraw(struct vr_routes *r, struct vr_handle *h, unsigned int slot, const struct rkey *k)
{
	struct vr_learned **p = find(r, k);

	if (!*p || slot >= VR_ROUTES_SLOTS || !(*p)->copy[slot].have)
		return 0;
	(*p)->copy[slot].have = false;
	return reconcile(r, h, p);
}

int vr_routes_update(struct vr_routes *r, struct vr_handle *h, unsigned int slot, __u32 vrf_id, __be32 prefix,
		     __u32 plen, const struct vr_learned_nh *nh, unsigned int n)
{
	struct rkey k = key4(vrf_id, prefix, plen);

	return update(r, h, slot, &k, nh, n);
}

int vr_routes_withdraw(struct vr_routes *r, struct vr_handle *h, unsigned int slot, __u32 vrf_id, __be32 prefix,
		       __u32 plen)
{
	struct rkey k = key4(vrf_id, prefix, plen);

	return withdraw(r, h, slot, &k);
}

int vr_routes_update6(struct vr_routes *r, struct vr_handle *h, unsigned int slot, __u32 vrf_id,
		      const struct in6_addr *prefix, __u32 plen, const struct vr_learned_nh *nh, unsigned int n)
{
	struct rkey k = key6(vrf_id, prefix, plen);

	if (plen > 128)
		return -EINVAL;
	return update(r, h, slot, &k, nh, n);
}

int vr_routes_withdraw6(struct vr_routes *r, struct vr_handle *h, unsigned int slot, __u32 vrf_id,
			const struct in6_addr *prefix, __u32 plen)
{
	struct rkey k = key6(vrf_id, prefix, plen);

	return withdraw(r, h, slot, &k);
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
	struct vr_handle *h;
	int err;
	/* ECMP routes found: their entries wait (not in the hash) until their members are known */
	struct adopt_ecmp {
		struct vr_learned *e;
		struct vr_ecmp g;
	} *ecmp;
	size_t n_ecmp, cap_ecmp;
};

static void adopt_insert(struct vr_routes *r, struct vr_learned *e)
{
	struct rkey k = key_of(e);
	struct vr_learned **p = find(r, &k);

	e->next = NULL;
	*p = e;
	if (++r->n > r->n_buckets)
		grow(r);
}

static int adopt_route(const struct vr_route_info *ri, void *arg)
{
	struct adopt_ctx *c = arg;
	/* A libvrouter that predates IPv6 leaves family 0: its routes are IPv4. */
	struct rkey k = ri->family == AF_INET6 ? key6(ri->vrf_id, &ri->prefix6, ri->plen)
					       : key4(ri->vrf_id, ri->prefix, ri->plen);
	struct vr_learned *e;

	if (ri->nh.type != VR_NH_TUNNEL && ri->nh.type != VR_NH_COMPOSITE)
		return 0;
	if (*find(c->r, &k))
		return 0;
	e = entry_new(&k);
	if (!e) {
		c->err = -ENOMEM;
		return -ENOMEM;
	}
	e->installed = true;
	if (ri->nh.type == VR_NH_COMPOSITE) {
		struct vr_ecmp g;

		/* Only a group of tunnels can be ours; its members are read once every route is seen. */
		if (vr_ecmp_get(c->h, ri->nh.ecmp_id, &g) || g.n_members < 2 || g.n_members > VR_ROUTES_MAX_NH) {
			free(e);
			return 0;
		}
		if (c->n_ecmp == c->cap_ecmp) {
			size_t cap = c->cap_ecmp ? c->cap_ecmp * 2 : 64;
			struct adopt_ecmp *n = realloc(c->ecmp, cap * sizeof(*n));

			if (!n) {
				free(e);
				c->err = -ENOMEM;
				return -ENOMEM;
			}
			c->ecmp = n;
			c->cap_ecmp = cap;
		}
		c->ecmp[c->n_ecmp++] = (struct adopt_ecmp){ .e = e, .g = g };
		return 0;
	}
	e->inst_n = 1;
	e->inst_ip = ri->nh.remote_ip;
	e->inst_label = ri->nh.label;
	e->inst_encap = vr_nh_encap(&ri->nh);
	e->copy[VR_ROUTES_ADOPTED] = (struct vr_learned_copy){ .have = true, .stale = true, .n_nh = 1,
							       .remote_ip = e->inst_ip, .label = e->inst_label,
							       .encap = e->inst_encap };
	adopt_insert(c->r, e);
	return 0;
}

/* The tunnel nexthops among the members of the ECMP routes found (by id, sorted). */
struct adopt_members {
	__u32 *id;
	struct vr_nexthop *nh;
	size_t n;
};

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static int collect_member(__u32 nh_id, const struct vr_nexthop *nh, void *arg)
{
	struct adopt_members *m = arg;
	__u32 *at = bsearch(&nh_id, m->id, m->n, sizeof(*m->id), cmp_u32);

	if (at)
		m->nh[at - m->id] = *nh;
	return 0;
}

/* The ECMP routes found: those whose members are all tunnels become adopted copies with their lists. */
static int adopt_ecmp_routes(struct adopt_ctx *c)
{
	struct adopt_members m = {};
	size_t total = 0, k = 0;
	int rc = 0;

	for (size_t i = 0; i < c->n_ecmp; i++)
		total += c->ecmp[i].g.n_members;
	m.id = malloc(total * sizeof(*m.id));
	m.nh = calloc(total, sizeof(*m.nh));
	if (!m.id || !m.nh) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < c->n_ecmp; i++)
		for (__u32 j = 0; j < c->ecmp[i].g.n_members; j++)
			m.id[k++] = c->ecmp[i].g.members[j];
	qsort(m.id, k, sizeof(*m.id), cmp_u32);
	for (size_t i = 0; i < k; i++)
		if (!m.n || m.id[m.n - 1] != m.id[i])
			m.id[m.n++] = m.id[i];
	rc = vr_nh_foreach(c->h, collect_member, &m);
	for (size_t i = 0; !rc && i < c->n_ecmp; i++) {
		struct vr_learned *e = c->ecmp[i].e;
		struct vr_learned_nh l[VR_ROUTES_MAX_NH];
		__u32 n = c->ecmp[i].g.n_members;
		bool tunnels = true;

		for (__u32 j = 0; j < n && tunnels; j++) {
			__u32 *at = bsearch(&c->ecmp[i].g.members[j], m.id, m.n, sizeof(*m.id), cmp_u32);
			const struct vr_nexthop *nh = at ? &m.nh[at - m.id] : NULL;

			tunnels = nh && nh->type == VR_NH_TUNNEL;
			if (tunnels)
				l[j] = (struct vr_learned_nh){ .remote_ip = nh->remote_ip, .label = nh->label,
							       .encap = vr_nh_encap(nh) };
		}
		if (!tunnels || set_copy(e, &e->copy[VR_ROUTES_ADOPTED], l, n)) {
			free(e->ecmp);
			free(e);
		} else {
			struct vr_learned_nh one;

			e->copy[VR_ROUTES_ADOPTED].stale = true;
			set_inst(e, copy_nhs(e, &e->copy[VR_ROUTES_ADOPTED], &one), e->copy[VR_ROUTES_ADOPTED].n_nh);
			adopt_insert(c->r, e);
		}
		c->ecmp[i].e = NULL;
	}
out:
	for (size_t i = 0; i < c->n_ecmp; i++)
		if (c->ecmp[i].e) {
			free(c->ecmp[i].e->ecmp);
			free(c->ecmp[i].e);
		}
	free(m.id);
	free(m.nh);
	return rc;
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
	w->c.h = h;
	w->h = h;
	rc = vr_vrf_foreach(h, collect_vrf, w);
	for (size_t i = 0; !rc && i < w->n; i++)
		rc = vr_route_foreach(h, w->vrfs[i], adopt_route, &w->c);
	if (w->c.err)
		rc = w->c.err;
	if (w->c.n_ecmp) {
		int erc = rc ? 0 : adopt_ecmp_routes(&w->c);

		if (rc)
			for (size_t i = 0; i < w->c.n_ecmp; i++) {
				free(w->c.ecmp[i].e->ecmp);
				free(w->c.ecmp[i].e);
			}
		rc = rc ? rc : erc;
	}
	free(w->c.ecmp);
	free(w);
	return rc;
}
