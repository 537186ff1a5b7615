/* vrouter-controller: the route reflector of bpf-vrouter. It accepts vrouter-agent XMPP streams on TCP 5269
 * and behaves as the Tungsten Fabric control node does towards them (../shared/TF-XMPP.md): it answers the
 * stream header, enforces the control node's rules (subscribe with an instance-id before publishing into a
 * VRF; a duplicate subscribe, an unsubscribe of an unknown VRF or a publish into an unsubscribed VRF closes
 * the session; one next-hop and a non-zero label per entry; publish + collection pairs with identical
 * nodes), keeps the routes per VRF and per origin (the agent, named by its stream `from`), sends a new
 * subscriber the VRF's routes then EndOfRib and reflects every change to the other subscribers, coalesced
 * into messages of up to 32 routes or 256 retracts as the control node does (struct rr_batch). IPv4 (nodes
 * 1/1/VRF) and IPv6 (2/1/VRF) unicast routes are kept and reflected alike, a message holding one family only.
 *
 * Everything runs in one epoll loop (the vr_watch design of loop.h) on non-blocking sockets. Memory per
 * session is bounded: the decoder limits stanzas (xmpp.h), the output buffer has a cap (a peer that stops
 * reading is closed), the initial table dump is paced by the peer's reading, and an agent's routes are
 * capped. A malformed, hostile or rule-breaking stream closes that session only, with a log line and a count.
 *
 * Path choice (ECMP): we keep every origin's path to a prefix and, as the control node does for equal-cost
 * paths, send each subscriber ONE item for the prefix whose next-hops list holds the next hop of every best
 * path that is not its own (best: the highest local-preference among them, 100 when absent), at most
 * RR_MAX_ECMP of them, in a stable order (next-hop address, then label; identical next hops from two
 * origins once), so the receiving vRouter builds a composite nexthop from them. The other fields of the
 * item are those of the first path in that order. An origin that publishes, changes or withdraws its path
 * re-sends the item with the new list to every subscriber whose list changed; the last path's withdraw
 * retracts it. An agent is never sent its own next hop (split horizon, as for a single path).
 *
 * Graceful restart: when a session dies its routes stay, marked stale, for the hold time; if the same agent
 * reconnects and republishes them in that window nothing is withdrawn; whatever is still stale at the end
 * of the window is withdrawn from the other subscribers.
 *
 * Route leaking (--route-target VN:import|export:target:ADMIN:NN): the routes published in VRF A are also
 * reflected to the subscribers of every VRF B != A that imports a route target A exports, as items of node
 * .../B with A's next hops unchanged (the far vRouter's per-interface label delivers into the VM's vif
 * whatever VRF the sender looked it up in). Leaked paths are not stored in B: what a subscriber of B is told
 * about a prefix is computed from B's own paths when B has any (B's own routes win; they are never merged
 * with leaked ones), else from the paths of that prefix in the VRFs that leak into B (best local-preference,
 * ECMP among them as for one VRF). Only a VRF's own paths leak, so leaking is not transitive; split horizon
 * holds for leaked paths too. The import map (rr_vn_rt.from/.to) is computed once at start-up, so a change
 * costs a lookup in each VRF its own VRF leaks into, never a walk over all VRFs. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include "log.h"
#include "loop.h"
#include "xmpp.h"

#define EXIT_USAGE 2

#define RR_DEFAULT_HOLD_S	90
#define RR_OUT_MAX_DEFAULT	(8u << 20)	/* output buffer cap per session */
#define RR_DUMP_LOW_WATER	(256u << 10)	/* the table dump refills the output buffer below this (or cap/4) */
#define RR_READ_CHUNK		(64u << 10)
#define RR_READS_PER_WAKEUP	16		/* fairness between sessions */
#define RR_MAX_SESSIONS		4096
#define RR_MAX_NAME		256		/* stream from (agent host name) */
#define RR_MAX_PATHS_PER_ORIGIN	(1u << 20)
#define RR_MAX_SUBS_PER_SESSION	65536
#define RR_MAX_ECMP		16		/* next hops in one reflected item (a vRouter composite's size) */
#define RR_DEFAULT_LOCAL_PREF	100		/* an entry without local-preference */
#define RR_MAX_LEAK		256		/* VRFs one VRF may import from or export to (--route-target) */
#define RR_MAX_VN_NAME		512

#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

static void after_handler(void);

/* ---- the model ---- */

struct rr_session;

/* An agent, by its stream `from`; it outlives its session for the graceful-restart window. */
struct rr_origin {
	char *name;
	struct rr_session *s;		/* NULL while down */
	struct vr_watch gr;		/* timer only: the end of the graceful-restart window */
	unsigned long n_paths, n_stale;
	struct rr_origin *next;
};

struct rr_path {
	struct rr_path *next;		/* most recent first */
	struct rr_origin *origin;
	struct vr_xmpp_entry *e;	/* one block (entry_dup) */
	bool stale;
};

/* What one subscriber is told about a prefix: the best paths that are not its own, sorted by next hop
 * (path_cmp), duplicates dropped, at most RR_MAX_ECMP; n == 0: nothing (a retract). p[0] gives the item's
 * fields besides the next hops. */
struct rr_view {
	unsigned int n;
	const struct rr_path *p[RR_MAX_ECMP];
};

struct rr_vrf;

struct rr_prefix {
	struct rr_prefix *hnext;	/* hash chain */
	struct rr_prefix *prev, *next;	/* the VRF's list, in insertion order (the dump walks it) */
	struct rr_vrf *vrf;
	struct vr_xmpp_prefix p;
	struct rr_path *paths;
};

/* A session's subscription to a VRF; also its table dump in progress. */
struct rr_sub {
	struct rr_sub *vnext;		/* the VRF's subscribers */
	struct rr_sub *snext;		/* the session's subscriptions, in subscribe order */
	struct rr_session *s;
	struct rr_vrf *vrf;
	__u32 instance_id;
	bool dumping;			/* routes not all sent yet: EndOfRib still owed */
	struct rr_prefix *cursor;	/* next prefix to dump: of the VRF, then of each VRF leaking into it */
	unsigned int src;		/* VRFs leaking into it whose dump has begun (vrf->rt->from) */
	struct rr_view old;		/* scratch: what it was told before a change */
};

struct rr_vrf {
	char *name;
	struct rr_prefix *head, *tail;
	unsigned long n_prefixes;
	struct rr_sub *subs;
	struct rr_vn_rt *rt;		/* its route targets, NULL when none is configured */
	struct rr_vrf *next;
};

/* A route target, target:ADMIN:NN: ADMIN an AS number (2-byte AS: NN up to 2^32-1; 4-byte AS: NN up to
 * 65535) or an IPv4 address (NN up to 65535). Kept parsed so that target:64512:0100 is target:64512:100. */
struct rr_target {
	bool ip;
	__u32 admin;
	__u32 nn;
};

/* A virtual network named in --route-target: its targets and, computed once at start-up, the VRFs it leaks
 * into (to: those importing a target it exports) and those leaking into it (from, in option order: the
 * order of its table dump). It outlives the VRF of the same name, which comes and goes with routes and
 * subscribers. */
struct rr_vn_rt {
	char *name;
	struct rr_target *imp, *exp;
	unsigned int n_imp, n_exp;
	struct rr_vn_rt **to, **from;
	unsigned int n_to, n_from;
	struct rr_vrf *vrf;		/* the live VRF of that name, NULL while there is none */
};

/* The prefixes whose paths a subscriber of one VRF is told about for one prefix: the VRF's own (alone), or
 * the same prefix in the VRFs leaking into it. */
struct rr_cands {
	unsigned int n;
	const struct rr_prefix *x[RR_MAX_LEAK + 1];
};

/* Reflected changes for one subscriber, coalesced into one <items> message as the control node does
 * (xmpp_message_builder): same VRF, family and kind (routes or retracts, never mixed), at most
 * VR_XMPP_MAX_REACH_PER_MSG routes or VR_XMPP_MAX_UNREACH_PER_MSG retracts, and within the receiver's
 * stanza limit (message_text_max). A message is encoded when it is full, when the next change does not fit
 * it, and before anything else is written to the session (its flush after each handler, a keepalive, an
 * unsubscribe), so the order of changes is the order they happened in. The routes are copies: the path they
 * come from may be replaced before the message is encoded. */
struct rr_batch {
	struct rr_vrf *vrf;		/* the session is subscribed to it while the batch holds changes */
	__u16 afi;
	__u8 safi;
	bool retract;
	unsigned int n;
	size_t text, text_max;		/* entry_text_max of what it holds; what the message may take */
	struct vr_xmpp_entry *e[VR_XMPP_MAX_REACH_PER_MSG];	/* entry_dup copies */
	struct vr_xmpp_prefix p[VR_XMPP_MAX_UNREACH_PER_MSG];
};

struct rr_session {
	struct vr_watch w;
	char peer[INET6_ADDRSTRLEN + 8];
	char *name;			/* stream from, once open */
	struct rr_origin *origin;
	struct vr_xmpp_decoder *dec;
	struct vr_xmpp_buf out;
	uint32_t events;
	bool open;
	uint64_t last_rx, next_ka;
	uint64_t progress_ms;		/* output last moved (or last was empty) */
	bool was_pending;
	struct rr_sub *subs;
	unsigned int n_subs;
	/* the publish waiting for its collection */
	bool pending;
	char *pend_node;
	char *pend_vrf;
	bool pend_decoded;
	struct vr_xmpp_prefix pend_prefix;
	struct vr_xmpp_entry *pend_entry;
	/* closing */
	const char *fail;		/* why the session is being closed; NULL while healthy */
	int fail_code;			/* decoder error (VR_XMPP_E_*), 0 for others */
	bool dead;			/* closed; freed after the current batch of events */
	bool dirty;			/* output appended since the last flush */
	struct rr_batch *batch;		/* reflected changes waiting to be encoded together */
	struct rr_session *next, *fail_next, *dirty_next;
};

static struct {
	const char *listen_addr;
	const char *port;
	unsigned int hold_s;
	size_t out_max;
} opt = { NULL, "5269", RR_DEFAULT_HOLD_S, RR_OUT_MAX_DEFAULT };

static struct rr_vrf *vrfs;
static struct rr_vn_rt *rt_vns;
static unsigned int n_rt_vns;
static struct rr_origin *origins;
static struct rr_session *sessions, *failing, *dirty_list, *graveyard;
static unsigned int n_sessions;
static unsigned long long stream_ids;
static volatile int stop;
/* Back-pressure: while some session's output buffer is over half its cap, no session's input is read (as
 * the control node stops reading when its send queues are full); a peer whose output does not move for a
 * third of the hold time is closed, so the pause is bounded. */
static bool paused;
static bool over_high;	/* some output buffer went over half its cap since the last check */

/* Counters, logged at exit; each close names its reason and the count so far. */
static unsigned long n_closed_decoder[32];	/* by -VR_XMPP_E_* */
static unsigned long n_closed_rules, n_closed_hold, n_closed_slow, n_closed_other, n_routes_swept;

static uint64_t hold_ms(void)
{
	return (uint64_t)opt.hold_s * 1000;
}

static size_t dump_low_water(void)
{
	return opt.out_max / 4 < RR_DUMP_LOW_WATER ? opt.out_max / 4 : RR_DUMP_LOW_WATER;
}

static size_t high_water(void)
{
	return opt.out_max / 2;
}

/* ---- prefixes: one hash over every VRF ---- */

static struct rr_prefix **htab;
static size_t hsize, hcount;

static size_t prefix_hash(const struct rr_vrf *v, const struct vr_xmpp_prefix *p)
{
	uint64_t h = 1469598103934665603ull ^ (uintptr_t)v;
	const __u8 *b = (const __u8 *)&p->ip;

	h = (h ^ p->afi) * 1099511628211ull;
	h = (h ^ p->plen) * 1099511628211ull;
	for (size_t i = 0; i < sizeof(p->ip); i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

static bool prefix_eq(const struct vr_xmpp_prefix *a, const struct vr_xmpp_prefix *b)
{
	return a->afi == b->afi && a->plen == b->plen && !memcmp(&a->ip, &b->ip, sizeof(a->ip));
}

static struct rr_prefix *prefix_find(struct rr_vrf *v, const struct vr_xmpp_prefix *p)
{
	struct rr_prefix *x;

	if (!hsize)
		return NULL;
	for (x = htab[prefix_hash(v, p) & (hsize - 1)]; x; x = x->hnext)
		if (x->vrf == v && prefix_eq(&x->p, p))
			return x;
	return NULL;
}

static int hash_grow(void)
{
	size_t nsize = hsize ? hsize * 2 : 1024;
	struct rr_prefix **n = calloc(nsize, sizeof(*n));

	if (!n)
		return -ENOMEM;
	for (size_t i = 0; i < hsize; i++)
		while (htab[i]) {
			struct rr_prefix *x = htab[i];
			size_t j = prefix_hash(x->vrf, &x->p) & (nsize - 1);

			htab[i] = x->hnext;
			x->hnext = n[j];
			n[j] = x;
		}
	free(htab);
	htab = n;
	hsize = nsize;
	return 0;
}

static struct rr_prefix *prefix_add(struct rr_vrf *v, const struct vr_xmpp_prefix *p)
{
	struct rr_prefix *x;
	size_t j;

	if (hcount >= hsize && hash_grow())
		return NULL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->vrf = v;
	x->p = *p;
	j = prefix_hash(v, p) & (hsize - 1);
	x->hnext = htab[j];
	htab[j] = x;
	hcount++;
	x->prev = v->tail;
	if (v->tail)
		v->tail->next = x;
	else
		v->head = x;
	v->tail = x;
	v->n_prefixes++;
	return x;
}

static void vrf_maybe_free(struct rr_vrf *v);

static void prefix_free(struct rr_prefix *x)
{
	struct rr_vrf *v = x->vrf;
	struct rr_prefix **pp = &htab[prefix_hash(v, &x->p) & (hsize - 1)];
	struct rr_sub *sub;

	while (*pp != x)
		pp = &(*pp)->hnext;
	*pp = x->hnext;
	hcount--;
	/* A dump that was about to send this prefix goes on with the next one, also the dumps of the VRFs
	 * it leaks into. */
	for (sub = v->subs; sub; sub = sub->vnext)
		if (sub->cursor == x)
			sub->cursor = x->next;
	for (unsigned int i = 0; v->rt && i < v->rt->n_to; i++)
		for (sub = v->rt->to[i]->vrf ? v->rt->to[i]->vrf->subs : NULL; sub; sub = sub->vnext)
			if (sub->cursor == x)
				sub->cursor = x->next;
	if (x->prev)
		x->prev->next = x->next;
	else
		v->head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	else
		v->tail = x->prev;
	v->n_prefixes--;
	free(x);
}

/* ---- VRFs and origins ---- */

static struct rr_vrf *vrf_get(const char *name, bool create)
{
	struct rr_vrf *v;

	for (v = vrfs; v; v = v->next)
		if (!strcmp(v->name, name))
			return v;
	if (!create)
		return NULL;
	v = calloc(1, sizeof(*v));
	if (!v || !(v->name = strdup(name))) {
		free(v);
		return NULL;
	}
	/* Once per VRF creation, not per change: a change then follows v->rt's precomputed lists. */
	for (unsigned int i = 0; i < n_rt_vns; i++)
		if (!strcmp(rt_vns[i].name, name)) {
			v->rt = &rt_vns[i];
			v->rt->vrf = v;
			break;
		}
	v->next = vrfs;
	vrfs = v;
	return v;
}

static void vrf_maybe_free(struct rr_vrf *v)
{
	struct rr_vrf **pp;

	if (v->head || v->subs)
		return;
	for (pp = &vrfs; *pp != v; pp = &(*pp)->next)
		;
	*pp = v->next;
	if (v->rt)
		v->rt->vrf = NULL;
	free(v->name);
	free(v);
}

static void origin_gr_end(struct vr_watch *w, uint32_t events);

static struct rr_origin *origin_get(const char *name)
{
	struct rr_origin *o;

	for (o = origins; o; o = o->next)
		if (!strcmp(o->name, name))
			return o;
	o = calloc(1, sizeof(*o));
	if (!o || !(o->name = strdup(name))) {
		free(o);
		return NULL;
	}
	o->gr.fd = -1;
	o->gr.on_timer = origin_gr_end;
	o->next = origins;
	origins = o;
	return o;
}

static void origin_maybe_free(struct rr_origin *o)
{
	struct rr_origin **pp;

	if (o->s || o->n_paths)
		return;
	vr_loop_del(&o->gr);
	for (pp = &origins; *pp != o; pp = &(*pp)->next)
		;
	*pp = o->next;
	free(o->name);
	free(o);
}

/* ---- entries: a decoded entry copied into one block ---- */

static size_t str_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static const char *str_put(char **pos, const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = *pos;
	memcpy(d, s, strlen(s) + 1);
	*pos += strlen(s) + 1;
	return d;
}

static struct vr_xmpp_entry *entry_dup(const struct vr_xmpp_entry *e)
{
	size_t size = sizeof(*e) + e->n_nexthops * sizeof(*e->nexthops) + e->n_sgs * sizeof(*e->sgs) +
		      str_size(e->virtual_network) + str_size(e->sub_protocol);
	struct vr_xmpp_entry *d;
	char *pos;

	for (unsigned int i = 0; i < e->n_nexthops; i++)
		size += str_size(e->nexthops[i].virtual_network);
	d = malloc(size);
	if (!d)
		return NULL;
	*d = *e;
	pos = (char *)(d + 1);
	d->nexthops = (struct vr_xmpp_nexthop *)pos;
	if (e->n_nexthops)	/* the arrays are NULL when empty: memcpy from NULL is undefined even for 0 bytes */
		memcpy(d->nexthops, e->nexthops, e->n_nexthops * sizeof(*e->nexthops));
	pos += e->n_nexthops * sizeof(*e->nexthops);
	d->sgs = (__u32 *)pos;
	if (e->n_sgs)
		memcpy(d->sgs, e->sgs, e->n_sgs * sizeof(*e->sgs));
	pos += e->n_sgs * sizeof(*e->sgs);
	d->virtual_network = str_put(&pos, e->virtual_network);
	d->sub_protocol = str_put(&pos, e->sub_protocol);
	for (unsigned int i = 0; i < e->n_nexthops; i++)
		d->nexthops[i].virtual_network = str_put(&pos, e->nexthops[i].virtual_network);
	return d;
}

/* ---- sending ---- */

static void session_fail(struct rr_session *s, const char *why, int code);

static void mark_dirty(struct rr_session *s)
{
	if (!s->dirty) {
		s->dirty = true;
		s->dirty_next = dirty_list;
		dirty_list = s;
	}
}

/* Checks a builder's result: a full output buffer means the peer does not read. */
static bool sent(struct rr_session *s, int rc)
{
	if (rc >= 0) {
		mark_dirty(s);
		if (s->out.len > high_water())
			over_high = true;
		return true;
	}
	if (rc == -ENOBUFS)
		session_fail(s, "output buffer full (the peer does not read)", 0);
	else
		session_fail(s, "could not encode a stanza", 0);
	return false;
}

/* Size bounds of the text of an <items> message, so that a message of up to 32 routes never gets over the
 * receiver's stanza limit (VR_XMPP_MAX_STANZA: the agent's decoder closes the session on a bigger one) when
 * its entries carry long names or many security groups. Element text is escaped to at most 5 bytes a byte
 * (&amp;), attributes to 6 (&quot;); the constants are over the fixed text of an entry, a next hop and a
 * security group with every number at its widest and IPv6 addresses (830, 378 and 53 bytes). */
static size_t esc_len(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++)
		n += *s == '&' || *s == '\r' ? 5 : *s == '<' || *s == '>' ? 4 : 1;
	return n;
}

static size_t entry_text_max(const struct vr_xmpp_entry *e)
{
	size_t n = 1024 + 64 * (size_t)e->n_sgs + esc_len(e->virtual_network) + esc_len(e->sub_protocol);

	for (unsigned int i = 0; i < e->n_nexthops; i++)
		n += 512 + esc_len(e->nexthops[i].virtual_network);
	return n;
}

#define RETRACT_TEXT_MAX 128	/* <retract id="PREFIX"/>: 60 bytes at most */

static __u32 path_pref(const struct rr_path *p)
{
	return (p->e->have & VR_XMPP_HAVE_LOCAL_PREF) ? p->e->local_pref : RR_DEFAULT_LOCAL_PREF;
}

/* The order of next hops in an item: address family, address, label (a published entry has exactly one). */
static int nexthop_cmp(const struct rr_path *a, const struct rr_path *b)
{
	const struct vr_xmpp_nexthop *x = &a->e->nexthops[0], *y = &b->e->nexthops[0];
	int c;

	if (x->addr.afi != y->addr.afi)
		return x->addr.afi < y->addr.afi ? -1 : 1;
	c = memcmp(&x->addr.ip, &y->addr.ip, sizeof(x->addr.ip));
	if (c)
		return c;
	if (x->label != y->label)
		return x->label < y->label ? -1 : 1;
	return 0;
}

/* Next hop, then origin name: a total order, so which of two origins with one next hop is kept is stable. */
static int path_cmp(const struct rr_path *a, const struct rr_path *b)
{
	int c = nexthop_cmp(a, b);

	return c ? c : strcmp(a->origin->name, b->origin->name);
}

static size_t message_text_max(const struct rr_session *s, const char *vrf);

/* The prefixes the subscribers of VRF v choose from for pfx (struct rr_cands): v's own when it has a path to
 * it (its own routes win over leaked ones), else the prefix in each VRF leaking into v, whose own paths
 * only are there (a leaked route is never leaked further). */
static void cands_get(struct rr_vrf *v, const struct vr_xmpp_prefix *pfx, struct rr_cands *c)
{
	struct rr_prefix *x = prefix_find(v, pfx);

	c->n = 0;
	if (x && x->paths) {
		c->x[c->n++] = x;
		return;
	}
	for (unsigned int i = 0; v->rt && i < v->rt->n_from; i++) {
		struct rr_vrf *from = v->rt->from[i]->vrf;

		if (from && (x = prefix_find(from, pfx)) && x->paths)
			c->x[c->n++] = x;
	}
}

/* What subscriber s of VRF vrf is told about the prefix of candidates c (none: gone): see struct rr_view.
 * The list is cut where the item would no longer fit one message to s (only long names on many next hops
 * can get there). */
static void view(const struct rr_cands *c, const struct rr_session *s, const struct rr_vrf *vrf,
		 struct rr_view *v)
{
	const struct rr_path *p;
	__u32 best = 0;
	bool any = false;

	v->n = 0;
	for (unsigned int i = 0; i < c->n; i++)
		for (p = c->x[i]->paths; p; p = p->next)
			if (p->origin != s->origin && (!any || path_pref(p) > best)) {
				best = path_pref(p);
				any = true;
			}
	for (unsigned int i = 0; any && i < c->n; i++) {
		for (p = c->x[i]->paths; p; p = p->next) {
			unsigned int pos = 0;

			if (p->origin == s->origin || path_pref(p) != best)
				continue;
			while (pos < v->n && path_cmp(v->p[pos], p) < 0)
				pos++;
			if (pos && !nexthop_cmp(v->p[pos - 1], p))
				continue;		/* the same next hop from an origin that sorts first */
			if (pos < v->n && !nexthop_cmp(v->p[pos], p)) {
				v->p[pos] = p;		/* ... this one sorts first */
				continue;
			}
			if (pos >= RR_MAX_ECMP)
				continue;
			if (v->n < RR_MAX_ECMP)
				v->n++;
			memmove(&v->p[pos + 1], &v->p[pos], (v->n - 1 - pos) * sizeof(v->p[0]));
			v->p[pos] = p;
		}
	}
	if (v->n > 1) {
		size_t text = entry_text_max(v->p[0]->e), max = message_text_max(s, vrf->name);

		for (unsigned int i = 1; i < v->n; i++) {
			text += 512 + esc_len(v->p[i]->e->nexthops[0].virtual_network);
			if (text > max) {
				v->n = i;
				break;
			}
		}
	}
}

static bool view_eq(const struct rr_view *a, const struct rr_view *b)
{
	return a->n == b->n && !memcmp(a->p, b->p, a->n * sizeof(a->p[0]));
}

static bool view_has(const struct rr_view *v, const struct rr_path *p)
{
	for (unsigned int i = 0; p && i < v->n; i++)
		if (v->p[i] == p)
			return true;
	return false;
}

/* The item of a view (n > 0): the first path's entry with the next hops of all; nh has room for RR_MAX_ECMP.
 * Points into the paths' entries: valid until they change. */
static const struct vr_xmpp_entry *view_entry(const struct rr_view *v, struct vr_xmpp_entry *out,
					      struct vr_xmpp_nexthop *nh)
{
	if (v->n == 1)
		return v->p[0]->e;
	*out = *v->p[0]->e;
	for (unsigned int i = 0; i < v->n; i++)
		nh[i] = v->p[i]->e->nexthops[0];
	out->nexthops = nh;
	out->n_nexthops = v->n;
	return out;
}

/* What the entries of one message to session s about VRF vrf may take: the stanza limit less the envelope
 * (host name and node attributes, fixed text). */
static size_t message_text_max(const struct rr_session *s, const char *vrf)
{
	size_t envelope = 1024 + 6 * (strlen(s->name) + strlen(vrf));

	return envelope < VR_XMPP_MAX_STANZA / 2 ? VR_XMPP_MAX_STANZA - envelope : VR_XMPP_MAX_STANZA / 2;
}

static void batch_clear(struct rr_batch *b)
{
	if (!b->retract)
		for (unsigned int i = 0; i < b->n; i++)
			free(b->e[i]);
	b->n = 0;
	b->text = 0;
}

/* Encodes the batch's message into the output buffer. */
static void batch_emit(struct rr_session *s)
{
	struct rr_batch *b = s->batch;
	struct vr_xmpp_entry items[VR_XMPP_MAX_REACH_PER_MSG];

	if (!b || !b->n)
		return;
	if (!s->fail) {
		if (b->retract) {
			sent(s, vr_xmpp_build_retracts(&s->out, s->name, b->afi, b->safi, b->vrf->name, b->p, b->n));
		} else {
			for (unsigned int i = 0; i < b->n; i++)
				items[i] = *b->e[i];
			sent(s, vr_xmpp_build_items(&s->out, s->name, b->afi, b->safi, b->vrf->name, items, b->n));
		}
	}
	batch_clear(b);
}

static void batch_free(struct rr_session *s)
{
	if (s->batch)
		batch_clear(s->batch);
	free(s->batch);
	s->batch = NULL;
}

/* Tells subscriber s of VRF vrf about prefix pfx: the item of view v, or a retract when v is NULL or empty. */
static void send_view(struct rr_session *s, struct rr_vrf *vrf, const struct vr_xmpp_prefix *pfx,
		      const struct rr_view *v)
{
	struct vr_xmpp_nexthop nh[RR_MAX_ECMP];
	struct vr_xmpp_entry item;
	const struct vr_xmpp_entry *p = v && v->n ? view_entry(v, &item, nh) : NULL;
	__u8 safi = p ? p->safi : VR_XMPP_SAFI_UNICAST;
	unsigned int max = p ? VR_XMPP_MAX_REACH_PER_MSG : VR_XMPP_MAX_UNREACH_PER_MSG;
	size_t text = p ? entry_text_max(p) : RETRACT_TEXT_MAX;
	struct rr_batch *b = s->batch;

	if (s->fail)
		return;
	if (!b && !(b = s->batch = calloc(1, sizeof(*b)))) {
		session_fail(s, "out of memory", 0);
		return;
	}
	if (b->n && (b->vrf != vrf || b->afi != pfx->afi || b->safi != safi || b->retract != !p ||
		     b->text + text > b->text_max))
		batch_emit(s);
	if (s->fail)
		return;
	if (!b->n) {
		b->vrf = vrf;
		b->afi = pfx->afi;
		b->safi = safi;
		b->retract = !p;
		b->text_max = message_text_max(s, vrf->name);
	}
	b->text += text;
	if (p) {
		b->e[b->n] = entry_dup(p);
		if (!b->e[b->n]) {
			session_fail(s, "out of memory", 0);
			return;
		}
	} else {
		b->p[b->n] = *pfx;
	}
	b->n++;
	mark_dirty(s);		/* the flush after the handler encodes what is left */
	if (b->n == max)
		batch_emit(s);
}

/* The prefix the dump of sub looks at next: its cursor, which moves on to the head of the next VRF leaking
 * into sub's VRF when a list ends; NULL when all are done. */
static struct rr_prefix *dump_cursor(struct rr_sub *sub)
{
	const struct rr_vn_rt *rt = sub->vrf->rt;

	while (!sub->cursor && rt && sub->src < rt->n_from) {
		struct rr_vrf *from = rt->from[sub->src++]->vrf;

		sub->cursor = from ? from->head : NULL;
	}
	return sub->cursor;
}

/* Continues the session's table dumps while its output buffer is below the low-water mark: at most
 * VR_XMPP_MAX_REACH_PER_MSG routes (of one family, within message_text_max) per message, the subscriber's
 * own routes skipped, the VRF's routes then those leaked into it (each prefix once: where cands_get
 * finds it first), then EndOfRib. */
/* End-of-RIB after a start (--eor-delay): a controller that has just started knows no route yet. The agents
 * that reconnect first would take an immediate End-of-RIB for "everything was resent" and sweep the stale
 * routes of agents that have not reconnected and republished yet: traffic to those lost until they do. So for
 * the first eor_delay_s seconds a dump ends without End-of-RIB (routes still flow as they arrive) and every
 * subscriber gets it when the window closes, as BGP graceful restart's restarting speaker defers its own. */
static unsigned int eor_delay_s;
static bool eor_deferred;
static struct vr_watch eor_timer = { .fd = -1 };

static void pump_dumps(struct rr_session *s)
{
	static struct vr_xmpp_nexthop nh[VR_XMPP_MAX_REACH_PER_MSG][RR_MAX_ECMP];
	struct vr_xmpp_entry batch[VR_XMPP_MAX_REACH_PER_MSG];

	for (struct rr_sub *sub = s->subs; sub && !s->fail; sub = sub->snext) {
		while (sub->dumping && !s->fail) {
			unsigned int n = 0;
			__u8 afi = 0, safi = 0;
			size_t text = 0, text_max = message_text_max(s, sub->vrf->name);

			if (s->out.len >= dump_low_water())
				return;
			while (dump_cursor(sub) && n < VR_XMPP_MAX_REACH_PER_MSG) {
				const struct vr_xmpp_entry *p = NULL;
				struct rr_cands c;
				struct rr_view v = { 0 };

				if (!sub->src) {	/* the VRF's own list: its own paths, no lookup */
					c.n = 1;
					c.x[0] = sub->cursor;
				} else {
					cands_get(sub->vrf, &sub->cursor->p, &c);
				}
				if (c.n && c.x[0] == sub->cursor)
					view(&c, s, sub->vrf, &v);
				if (v.n)
					p = view_entry(&v, &batch[n], nh[n]);
				if (p && n && (sub->cursor->p.afi != afi || p->safi != safi ||
					       text + entry_text_max(p) > text_max))
					break;
				if (p) {
					afi = sub->cursor->p.afi;
					safi = p->safi;
					text += entry_text_max(p);
					batch[n++] = *p;
				}
				sub->cursor = sub->cursor->next;
			}
			if (n && !sent(s, vr_xmpp_build_items(&s->out, s->name, afi, safi, sub->vrf->name, batch, n)))
				return;
			if (!dump_cursor(sub)) {
				if (eor_deferred)	/* sent by eor_release */
					break;
				sub->dumping = false;
				if (!sent(s, vr_xmpp_build_end_of_rib(&s->out, s->name)))
					return;
			}
		}
	}
}

static bool session_dumping(const struct rr_session *s)
{
	for (const struct rr_sub *sub = s->subs; sub; sub = sub->snext)
		if (sub->dumping)
			return true;
	return false;
}

static void session_set_events(struct rr_session *s)
{
	uint32_t events = (paused ? 0 : EPOLLIN) | (s->out.len ? EPOLLOUT : 0);

	if (s->events != events && !vr_loop_mod(&s->w, events))
		s->events = events;
}

static void session_flush(struct rr_session *s)
{
	batch_emit(s);
	if (!s->was_pending)
		s->progress_ms = vr_now_ms();
	for (;;) {
		while (s->out.len) {
			ssize_t n = send(s->w.fd, s->out.data, s->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n > 0) {
				vr_xmpp_buf_consume(&s->out, (size_t)n);
				s->progress_ms = vr_now_ms();
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			session_fail(s, n < 0 && errno == EPIPE ? "connection closed by the peer" : "send failed", 0);
			return;
		}
		if (s->out.len >= dump_low_water() || !session_dumping(s))
			break;
		pump_dumps(s);
		if (s->fail || !s->out.len)
			break;
	}
	s->was_pending = s->out.len > 0;
	session_set_events(s);
}

/* ---- routes ---- */

/* The VRFs whose subscribers may see a change of a prefix in VRF v: v and those it leaks into that have
 * subscribers and no path of their own to the prefix (the change does not touch those paths). Set by
 * change_begin for its change_end; changes do not nest. */
static struct {
	unsigned int n;
	struct rr_vrf *v[RR_MAX_LEAK + 1];
} chg;

/* Before a change to prefix pfx of VRF v: what each subscriber concerned is told now. */
static void change_begin(struct rr_vrf *v, const struct vr_xmpp_prefix *pfx)
{
	struct rr_cands c;

	chg.n = 0;
	chg.v[chg.n++] = v;
	for (unsigned int i = 0; v->rt && i < v->rt->n_to; i++) {
		struct rr_vrf *to = v->rt->to[i]->vrf;
		struct rr_prefix *own;

		if (to && to->subs && (!(own = prefix_find(to, pfx)) || !own->paths))
			chg.v[chg.n++] = to;
	}
	for (unsigned int i = 0; i < chg.n; i++) {
		cands_get(chg.v[i], pfx, &c);
		for (struct rr_sub *sub = chg.v[i]->subs; sub; sub = sub->vnext)
			view(&c, sub->s, chg.v[i], &sub->old);
	}
}

/* After the change: tells each subscriber whose view changed (its list of paths, or one of them
 * republished). changed is the path that was (re)published, which counts as a change even when it is the
 * same one. */
static void change_end(const struct vr_xmpp_prefix *pfx, const struct rr_path *changed)
{
	struct rr_cands c;

	for (unsigned int i = 0; i < chg.n; i++) {
		cands_get(chg.v[i], pfx, &c);
		for (struct rr_sub *sub = chg.v[i]->subs; sub; sub = sub->vnext) {
			struct rr_session *s = sub->s;
			struct rr_view now;

			view(&c, s, chg.v[i], &now);
			if (s->fail || (view_eq(&now, &sub->old) && !view_has(&now, changed)))
				continue;
			send_view(s, chg.v[i], pfx, &now);
		}
	}
}

/* Adds or replaces origin o's path to e's prefix in VRF v; takes e. 0 or -errno. */
static int route_add(struct rr_vrf *v, struct rr_origin *o, struct vr_xmpp_entry *e)
{
	struct rr_prefix *x = prefix_find(v, &e->nlri);
	struct rr_path *p = NULL, **pp;

	if (!x) {
		x = prefix_add(v, &e->nlri);
		if (!x) {
			free(e);
			return -ENOMEM;
		}
	}
	change_begin(v, &x->p);
	for (pp = &x->paths; *pp; pp = &(*pp)->next)
		if ((*pp)->origin == o) {
			p = *pp;
			*pp = p->next;
			break;
		}
	if (p) {
		free(p->e);
		if (p->stale) {
			p->stale = false;
			o->n_stale--;
		}
	} else {
		if (o->n_paths >= RR_MAX_PATHS_PER_ORIGIN || !(p = calloc(1, sizeof(*p)))) {
			free(e);
			if (!x->paths)
				prefix_free(x);
			return o->n_paths >= RR_MAX_PATHS_PER_ORIGIN ? -E2BIG : -ENOMEM;
		}
		p->origin = o;
		o->n_paths++;
	}
	p->e = e;
	p->next = x->paths;	/* the most recent goes first */
	x->paths = p;
	change_end(&x->p, p);
	return 0;
}

static void path_del(struct rr_prefix *x, struct rr_path *p)
{
	struct rr_vrf *v = x->vrf;
	struct vr_xmpp_prefix pfx = x->p;
	struct rr_path **pp;

	change_begin(v, &pfx);
	for (pp = &x->paths; *pp != p; pp = &(*pp)->next)
		;
	*pp = p->next;
	p->origin->n_paths--;
	if (p->stale)
		p->origin->n_stale--;
	free(p->e);
	free(p);
	if (!x->paths)
		prefix_free(x);
	change_end(&pfx, NULL);
}

static void route_del(struct rr_vrf *v, struct rr_origin *o, const struct vr_xmpp_prefix *pfx)
{
	struct rr_prefix *x = prefix_find(v, pfx);

	if (!x)
		return;
	for (struct rr_path *p = x->paths; p; p = p->next)
		if (p->origin == o) {
			path_del(x, p);
			return;
		}
}

/* Withdraws origin o's paths in VRF v (all, or only the stale ones); returns how many. */
static unsigned long vrf_withdraw(struct rr_vrf *v, struct rr_origin *o, bool stale_only)
{
	struct rr_prefix *x, *xnext;
	unsigned long n = 0;

	for (x = v->head; x; x = xnext) {
		xnext = x->next;
		for (struct rr_path *p = x->paths; p; p = p->next)
			if (p->origin == o && (!stale_only || p->stale)) {
				path_del(x, p);	/* may free x, never xnext */
				n++;
				break;
			}
	}
	return n;
}

static void origin_gr_end(struct vr_watch *w, uint32_t events)
{
	struct rr_origin *o = container_of(w, struct rr_origin, gr);
	struct rr_vrf *v, *vnext;
	unsigned long n = 0;

	(void)events;
	for (v = vrfs; v && o->n_stale; v = vnext) {
		vnext = v->next;
		n += vrf_withdraw(v, o, true);
		vrf_maybe_free(v);
	}
	n_routes_swept += n;
	if (n)
		log_info("%s: graceful-restart window over: withdrew %lu route%s not republished", o->name, n,
			 n == 1 ? "" : "s");
	origin_maybe_free(o);
}

/* The origin's session is gone: its paths become stale until they are republished or the hold time ends.
 * The caller frees the origin (origin_maybe_free) unless a new session takes it over. */
static void origin_down(struct rr_origin *o)
{
	o->s = NULL;
	if (!o->n_paths)
		return;
	o->n_stale = 0;
	for (struct rr_vrf *v = vrfs; v; v = v->next)
		for (struct rr_prefix *x = v->head; x; x = x->next)
			for (struct rr_path *p = x->paths; p; p = p->next)
				if (p->origin == o) {
					p->stale = true;
					o->n_stale++;
				}
	log_info("%s: %lu route%s kept for %u s (graceful restart)", o->name, o->n_stale, o->n_stale == 1 ? "" : "s",
		 opt.hold_s);
	vr_loop_timer(&o->gr, hold_ms());
}

/* ---- sessions ---- */

static void session_fail(struct rr_session *s, const char *why, int code)
{
	if (s->fail || s->dead)
		return;
	s->fail = why;
	s->fail_code = code;
	s->fail_next = failing;
	failing = s;
}

static struct rr_sub *sub_find(struct rr_session *s, const char *vrf)
{
	for (struct rr_sub *sub = s->subs; sub; sub = sub->snext)
		if (!strcmp(sub->vrf->name, vrf))
			return sub;
	return NULL;
}

static void sub_remove(struct rr_sub *sub)
{
	struct rr_session *s = sub->s;
	struct rr_sub **pp;

	for (pp = &sub->vrf->subs; *pp != sub; pp = &(*pp)->vnext)
		;
	*pp = sub->vnext;
	for (pp = &s->subs; *pp != sub; pp = &(*pp)->snext)
		;
	*pp = sub->snext;
	s->n_subs--;
	vrf_maybe_free(sub->vrf);
	free(sub);
}

static void pending_clear(struct rr_session *s)
{
	free(s->pend_node);
	free(s->pend_vrf);
	free(s->pend_entry);
	s->pend_node = s->pend_vrf = NULL;
	s->pend_entry = NULL;
	s->pending = false;
}

/* Closes a failed session: it stops taking part at once; the memory goes after this batch of events. */
static void session_close(struct rr_session *s)
{
	const char *who = s->name ? s->name : "(no stream yet)";
	unsigned long count;
	struct rr_session **pp;

	if (s->fail_code) {
		const char *detail;

		vr_xmpp_decoder_error(s->dec, &detail);
		count = ++n_closed_decoder[-s->fail_code & 31];
		log_warn("session %s from %s closed: %s: %s (%lu such)", who, s->peer, vr_xmpp_strerror(s->fail_code),
			 detail, count);
	} else if (!strncmp(s->fail, "rule:", 5)) {
		log_warn("session %s from %s closed: %s (%lu such)", who, s->peer, s->fail, ++n_closed_rules);
	} else if (!strncmp(s->fail, "hold", 4)) {
		log_warn("session %s from %s closed: %s (%lu such)", who, s->peer, s->fail, ++n_closed_hold);
	} else if (!strncmp(s->fail, "output", 6)) {
		log_warn("session %s from %s closed: %s (%lu such)", who, s->peer, s->fail, ++n_closed_slow);
	} else {
		n_closed_other++;
		log_info("session %s from %s closed: %s", who, s->peer, s->fail);
	}
	bool unsent = s->batch && s->batch->n;	/* changes that would have been in the output buffer */

	batch_free(s);
	if (s->open && s->fail_code == 0 && !s->out.len && !unsent) {
		/* A last courtesy, without waiting for it. */
		if (!vr_xmpp_build_stream_close(&s->out))
			(void)!send(s->w.fd, s->out.data, s->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	vr_loop_del(&s->w);
	close(s->w.fd);
	s->w.fd = -1;
	while (s->subs)
		sub_remove(s->subs);
	pending_clear(s);
	if (s->origin && s->origin->s == s) {
		origin_down(s->origin);
		origin_maybe_free(s->origin);
	}
	s->origin = NULL;
	for (pp = &sessions; *pp != s; pp = &(*pp)->next)
		;
	*pp = s->next;
	n_sessions--;
	s->dead = true;
	s->next = graveyard;
	graveyard = s;
}

static void session_free(struct rr_session *s)
{
	batch_free(s);
	if (s->dec)
		vr_xmpp_decoder_free(s->dec);
	vr_xmpp_buf_free(&s->out);
	free(s->name);
	free(s);
}

/* After every handler: flush what was queued, then close the sessions that failed meanwhile (closing
 * sends nothing to others, so no new failures come from it). */
static void after_handler(void)
{
	while (dirty_list) {
		struct rr_session *s = dirty_list;

		dirty_list = s->dirty_next;
		s->dirty = false;
		if (!s->fail && !s->dead)
			session_flush(s);
	}
	while (failing) {
		struct rr_session *s = failing;

		failing = s->fail_next;
		session_close(s);
	}
	bool over = false;

	for (struct rr_session *s = sessions; s && !over; s = s->next)
		over = s->out.len > high_water();
	over_high = over;
	if (over != paused) {
		paused = over;
		log_debug("%s reading input (output buffers %s)", over ? "pausing" : "resuming",
			  over ? "filling up" : "drained");
		for (struct rr_session *s = sessions; s; s = s->next)
			session_set_events(s);
	}
}

static void session_arm(struct rr_session *s)
{
	uint64_t now = vr_now_ms(), at = s->last_rx + hold_ms();

	if (s->open && s->next_ka < at)
		at = s->next_ka;
	if (s->out.len && s->progress_ms + hold_ms() / 3 < at)
		at = s->progress_ms + hold_ms() / 3;
	vr_loop_timer(&s->w, at > now ? at - now : 1);
}

static void session_tick(struct vr_watch *w, uint32_t events)
{
	struct rr_session *s = container_of(w, struct rr_session, w);
	uint64_t now = vr_now_ms();

	(void)events;
	if (s->dead || s->fail)
		return;
	if (s->out.len && now >= s->progress_ms + hold_ms() / 3) {
		session_fail(s, "output not moving (the peer does not read)", 0);
		return;
	}
	/* While input is paused, silence is ours, not the peer's. */
	if (paused)
		s->last_rx = now;
	if (now >= s->last_rx + hold_ms()) {
		session_fail(s, "hold time expired", 0);
		return;
	}
	if (s->open && now >= s->next_ka) {
		s->next_ka = now + hold_ms() / 3;
		batch_emit(s);
		if (!sent(s, vr_xmpp_build_keepalive(&s->out)))
			return;
	}
	session_arm(s);
}

static int on_stream_open(struct rr_session *s, const struct vr_xmpp_stream_header *h)
{
	struct rr_origin *o;
	char id[32];

	if (!h->from || !*h->from || strlen(h->from) >= RR_MAX_NAME) {
		session_fail(s, "rule: the stream header has no usable from", 0);
		return -1;
	}
	s->name = strdup(h->from);
	o = s->name ? origin_get(s->name) : NULL;
	if (!o) {
		session_fail(s, "out of memory", 0);
		return -1;
	}
	snprintf(id, sizeof(id), "%llx", ++stream_ids);
	if (!sent(s, vr_xmpp_build_stream_answer(&s->out, s->name, id, h->xmlns)))
		return -1;
	if (o->s) {
		/* The agent reconnected before we noticed that its old session died: the new one wins. */
		struct rr_session *old = o->s;

		old->origin = NULL;
		origin_down(o);
		session_fail(old, "replaced by a new session of the same agent", 0);
	}
	o->s = s;
	s->origin = o;
	s->open = true;
	s->next_ka = vr_now_ms() + hold_ms() / 3;
	session_arm(s);
	log_info("session %s from %s: stream open%s", s->name, s->peer,
		 o->n_stale ? " (graceful restart: its stale routes wait to be republished)" : "");
	return 0;
}

static int on_subscribe(struct rr_session *s, const struct vr_xmpp_subscribe *sb)
{
	struct rr_sub *sub, **tail;
	struct rr_vrf *v;

	if (!sb->node || !*sb->node) {
		session_fail(s, "rule: subscribe without a node", 0);
		return -1;
	}
	if (!sb->has_instance_id) {
		session_fail(s, "rule: subscribe without an instance-id", 0);
		return -1;
	}
	if (sub_find(s, sb->node)) {
		session_fail(s, "rule: duplicate subscribe", 0);
		return -1;
	}
	if (s->n_subs >= RR_MAX_SUBS_PER_SESSION) {
		session_fail(s, "rule: too many subscriptions", 0);
		return -1;
	}
	v = vrf_get(sb->node, true);
	sub = v ? calloc(1, sizeof(*sub)) : NULL;
	if (!sub) {
		if (v)
			vrf_maybe_free(v);
		session_fail(s, "out of memory", 0);
		return -1;
	}
	sub->s = s;
	sub->vrf = v;
	sub->instance_id = sb->instance_id;
	sub->dumping = true;
	sub->cursor = v->head;
	sub->vnext = v->subs;
	v->subs = sub;
	for (tail = &s->subs; *tail; tail = &(*tail)->snext)
		;
	*tail = sub;
	s->n_subs++;
	log_debug("%s: subscribed to %s (instance %u, %lu prefixes)", s->name, v->name, sb->instance_id,
		  v->n_prefixes);
	mark_dirty(s);	/* the flush pumps the dump */
	return 0;
}

static int on_unsubscribe(struct rr_session *s, const struct vr_xmpp_subscribe *sb)
{
	struct rr_sub *sub = sb->node ? sub_find(s, sb->node) : NULL;
	struct rr_vrf *v;

	if (!sub) {
		session_fail(s, "rule: unsubscribe of a VRF it is not subscribed to", 0);
		return -1;
	}
	batch_emit(s);		/* the changes already reflected to it go out as they would have */
	sub_remove(sub);	/* first, so the agent is not sent the retracts of its own routes */
	v = vrf_get(sb->node, false);
	if (v) {
		/* Leaving a VRF withdraws what the agent published into it, as the control node does. */
		vrf_withdraw(v, s->origin, false);
		vrf_maybe_free(v);
	}
	log_debug("%s: unsubscribed from %s", s->name, sb->node);
	return 0;
}

static int on_publish(struct rr_session *s, const struct vr_xmpp_publish *pb)
{
	const struct vr_xmpp_route_node *n = &pb->node;

	if (!n->vrf || !sub_find(s, n->vrf)) {
		session_fail(s, "rule: publish into a VRF it is not subscribed to", 0);
		return -1;
	}
	s->pending = true;
	s->pend_node = strdup(n->text);
	s->pend_vrf = strdup(n->vrf);
	s->pend_decoded = n->decoded;
	s->pend_prefix = n->prefix;
	if (!s->pend_node || !s->pend_vrf || (pb->has_entry && !(s->pend_entry = entry_dup(&pb->entry)))) {
		session_fail(s, "out of memory", 0);
		return -1;
	}
	return 0;
}

static int on_collection(struct rr_session *s, const struct vr_xmpp_stanza *st)
{
	const struct vr_xmpp_collection *c = &st->u.collection;
	bool add = st->kind == VR_XMPP_ST_ASSOCIATE;
	struct vr_xmpp_entry *e;
	struct rr_vrf *v;
	int rc;

	if (!s->pending) {
		session_fail(s, "rule: collection without a publish before it", 0);
		return -1;
	}
	if (!c->item.text || strcmp(c->item.text, s->pend_node) || !c->node || strcmp(c->node, s->pend_vrf)) {
		session_fail(s, "rule: collection node differs from its publish", 0);
		return -1;
	}
	if (!s->pend_decoded) {
		log_debug("%s: ignoring %s of a family we do not reflect", s->name, s->pend_node);
		pending_clear(s);
		return 0;
	}
	v = vrf_get(s->pend_vrf, false);	/* exists: the session is subscribed to it */
	if (!add) {
		route_del(v, s->origin, &s->pend_prefix);
		pending_clear(s);
		return 0;
	}
	e = s->pend_entry;
	if (!e) {
		session_fail(s, "rule: associate of a publish without an entry", 0);
		return -1;
	}
	if (e->n_nexthops != 1) {
		session_fail(s, e->n_nexthops ? "rule: more than one next-hop" : "rule: no next-hop", 0);
		return -1;
	}
	if (!e->nexthops[0].label) {
		session_fail(s, "rule: label 0", 0);
		return -1;
	}
	s->pend_entry = NULL;
	pending_clear(s);
	rc = route_add(v, s->origin, e);
	if (rc == -E2BIG) {
		session_fail(s, "rule: too many routes from one agent", 0);
		return -1;
	}
	if (rc) {
		session_fail(s, "out of memory", 0);
		return -1;
	}
	return 0;
}

static int on_stanza(struct rr_session *s, const struct vr_xmpp_stanza *st)
{
	if (s->pending && st->kind != VR_XMPP_ST_ASSOCIATE && st->kind != VR_XMPP_ST_DISSOCIATE) {
		session_fail(s, "rule: publish not followed by its collection", 0);
		return -1;
	}
	switch (st->kind) {
	case VR_XMPP_ST_SUBSCRIBE:
		return on_subscribe(s, &st->u.subscribe);
	case VR_XMPP_ST_UNSUBSCRIBE:
		return on_unsubscribe(s, &st->u.subscribe);
	case VR_XMPP_ST_PUBLISH:
		return on_publish(s, &st->u.publish);
	case VR_XMPP_ST_ASSOCIATE:
	case VR_XMPP_ST_DISSOCIATE:
		return on_collection(s, st);
	case VR_XMPP_ST_STREAM_ERROR:
		session_fail(s, "the peer sent a stream error", 0);
		return -1;
	default:
		/* Results, config channel, dns: not ours; the control node ignores what it does not serve too. */
		log_debug("%s: ignoring a <%s> (%s)", s->name, st->name ? st->name : "?",
			  st->action ? st->action : "-");
		return 0;
	}
}

static int on_event(void *user, const struct vr_xmpp_event *ev)
{
	struct rr_session *s = user;

	if (s->fail)
		return 1;
	s->last_rx = vr_now_ms();
	switch (ev->type) {
	case VR_XMPP_EV_STREAM_OPEN:
		return on_stream_open(s, ev->u.header) ? 1 : 0;
	case VR_XMPP_EV_STANZA:
		return on_stanza(s, ev->u.stanza) ? 1 : 0;
	case VR_XMPP_EV_KEEPALIVE:
		return 0;
	case VR_XMPP_EV_STREAM_CLOSE:
		session_fail(s, "the peer closed the stream", 0);
		return 1;
	case VR_XMPP_EV_ERROR:
		return 0;	/* feed returns the code */
	}
	return 0;
}

static void on_session_io(struct vr_watch *w, uint32_t events)
{
	struct rr_session *s = container_of(w, struct rr_session, w);
	static char buf[RR_READ_CHUNK];

	if (s->dead || s->fail)
		return;
	if (events & EPOLLOUT)
		mark_dirty(s);
	if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)) || (paused && !(events & (EPOLLERR | EPOLLHUP))))
		return;
	/* Stops as soon as some output buffer fills up: the rest waits in the socket (back-pressure). */
	for (int i = 0; i < RR_READS_PER_WAKEUP && !s->fail && !over_high; i++) {
		ssize_t n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
		int rc;

		if (n == 0) {
			session_fail(s, "connection closed by the peer", 0);
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				session_fail(s, "connection reset", 0);
			return;
		}
		rc = vr_xmpp_decoder_feed(s->dec, buf, (size_t)n);
		if (rc && rc != VR_XMPP_E_STOPPED && !s->fail) {
			session_fail(s, "bad input", rc);
			return;
		}
		if ((size_t)n < sizeof(buf))
			return;
	}
}

struct listen_watch {
	struct vr_watch w;
};

static void on_accept(struct vr_watch *w, uint32_t events)
{
	(void)events;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct rr_session *s;
		char host[INET6_ADDRSTRLEN], serv[8];
		int fd = accept4(w->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		if (n_sessions >= RR_MAX_SESSIONS) {
			log_warn("refusing a connection: %u sessions already", n_sessions);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		s = calloc(1, sizeof(*s));
		if (!s || !(s->dec = vr_xmpp_decoder_new(NULL, on_event, s))) {
			log_err("out of memory for a new session");
			free(s);
			close(fd);
			continue;
		}
		if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv, sizeof(serv),
				NI_NUMERICHOST | NI_NUMERICSERV))
			snprintf(s->peer, sizeof(s->peer), "?");
		else
			snprintf(s->peer, sizeof(s->peer), "%s:%s", host, serv);
		vr_xmpp_buf_init(&s->out, opt.out_max);
		s->w.fd = fd;
		s->w.fn = on_session_io;
		s->w.on_timer = session_tick;
		s->events = paused ? 0 : EPOLLIN;
		s->last_rx = vr_now_ms();
		if (vr_loop_add(&s->w, s->events)) {
			log_err("epoll: %s", strerror(errno));
			session_free(s);
			close(fd);
			continue;
		}
		s->next = sessions;
		sessions = s;
		n_sessions++;
		session_arm(s);
		log_debug("connection from %s", s->peer);
	}
}

static void on_signal(struct vr_watch *w, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)events;
	while (read(w->fd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info("%s: shutting down", strsignal((int)si.ssi_signo));
			stop = 1;
		}
}

/* ---- start-up ---- */

static void eor_release(struct vr_watch *w, uint32_t events)
{
	(void)w;
	(void)events;
	eor_deferred = false;
	log_info("start-up End-of-RIB delay (%u s) over: End-of-RIB to every subscriber", eor_delay_s);
	for (struct rr_session *s = sessions; s; s = s->next)
		if (!s->dead && !s->fail && session_dumping(s))
			session_flush(s);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: vrouter-controller [-l ADDR] [-p PORT] [--hold SECONDS] [--max-out BYTES]\n"
		   "                         [--route-target VN:import|export:target:ADMIN:NN]... [-v]\n"
		   "  -l, --listen ADDR   address to listen on (default: all)\n"
		   "  -p, --port PORT     TCP port (default 5269)\n"
		   "  --hold SECONDS      hold time: keepalives every third of it, silent sessions closed after\n"
		   "                      it, a dead agent's routes withdrawn after it (default 90)\n"
		   "  --max-out BYTES     output buffer cap per session (default %u)\n"
		   "  --eor-delay SECONDS after a start, hold End-of-RIB back this long, so that agents that reconnect\n"
		   "                      first keep the stale routes of those still on their way (default 0)\n"
		   "  --route-target VN:export:RT, --route-target VN:import:RT  (repeatable)\n"
		   "                      route leaking: the routes of virtual network VN (the agents' subscribe\n"
		   "                      node) are also reflected to every other VN importing a target VN exports;\n"
		   "                      RT is target:ASN:NN (ASN up to 65535 with NN up to 4294967295, or a 4-byte\n"
		   "                      ASN with NN up to 65535) or target:IPV4:NN (NN up to 65535)\n"
		   "  -v, --verbose       debug messages\n"
		   "  -h, --help\n", RR_OUT_MAX_DEFAULT);
}

/* Parses a decimal number up to max: 0 or -1. */
static int parse_u32(const char *s, size_t len, __u32 max, __u32 *out)
{
	unsigned long long v = 0;

	if (!len || len > 10)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long long)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = (__u32)v;
	return 0;
}

/* Parses target:ADMIN:NN (struct rr_target); NULL or what is wrong with it. */
static const char *target_parse(const char *s, struct rr_target *t)
{
	const char *admin, *nn;
	char ip[INET_ADDRSTRLEN];
	struct in_addr a;
	size_t alen;

	if (strncmp(s, "target:", 7))
		return "a route target starts with 'target:'";
	admin = s + 7;
	nn = strchr(admin, ':');
	if (!nn || strchr(nn + 1, ':'))
		return "a route target is target:ADMIN:NN";
	alen = (size_t)(nn - admin);
	nn++;
	memset(t, 0, sizeof(*t));
	if (memchr(admin, '.', alen)) {
		if (alen >= sizeof(ip))
			return "bad IPv4 address in the route target";
		memcpy(ip, admin, alen);
		ip[alen] = 0;
		if (inet_pton(AF_INET, ip, &a) != 1)
			return "bad IPv4 address in the route target";
		t->ip = true;
		t->admin = ntohl(a.s_addr);
		if (parse_u32(nn, strlen(nn), 65535, &t->nn))
			return "the number after an IPv4 address is 0..65535";
		return NULL;
	}
	if (parse_u32(admin, alen, UINT32_MAX, &t->admin))
		return "the AS number is 0..4294967295";
	if (parse_u32(nn, strlen(nn), t->admin > 65535 ? 65535 : UINT32_MAX, &t->nn))
		return t->admin > 65535 ? "the number after a 4-byte AS number is 0..65535" :
					  "the number after the AS number is 0..4294967295";
	return NULL;
}

static void target_format(const struct rr_target *t, char *buf, size_t size)
{
	if (t->ip)
		snprintf(buf, size, "target:%u.%u.%u.%u:%u", t->admin >> 24, (t->admin >> 16) & 255,
			 (t->admin >> 8) & 255, t->admin & 255, t->nn);
	else
		snprintf(buf, size, "target:%u:%u", t->admin, t->nn);
}

static bool target_eq(const struct rr_target *a, const struct rr_target *b)
{
	return a->ip == b->ip && a->admin == b->admin && a->nn == b->nn;
}

static bool target_in(const struct rr_target *list, unsigned int n, const struct rr_target *t)
{
	for (unsigned int i = 0; i < n; i++)
		if (target_eq(&list[i], t))
			return true;
	return false;
}

/* One --route-target VN:import|export:RT. The VN may hold colons (default-domain:admin:vn1): the RT is the
 * last three fields, the direction the one before them. 0, or -1 after an error message. */
static int route_target_opt(const char *arg)
{
	const char *colon[4] = { NULL }, *why = NULL;
	struct rr_target t, **list;
	struct rr_vn_rt *vn = NULL;
	unsigned int k = 0, *n;
	size_t vlen, dlen;
	bool imp;

	for (const char *c = arg + strlen(arg); c-- > arg && k < 4;)
		if (*c == ':')
			colon[k++] = c;
	if (k < 4) {
		why = "expected VN:import:target:ADMIN:NN or VN:export:target:ADMIN:NN";
		goto bad;
	}
	vlen = (size_t)(colon[3] - arg);
	dlen = (size_t)(colon[2] - colon[3] - 1);
	why = target_parse(colon[2] + 1, &t);
	if (why)
		goto bad;
	if (!vlen || vlen >= RR_MAX_VN_NAME) {
		why = vlen ? "the virtual network name is too long" : "no virtual network name";
		goto bad;
	}
	if (dlen == 6 && !strncmp(colon[3] + 1, "import", 6)) {
		imp = true;
	} else if (dlen == 6 && !strncmp(colon[3] + 1, "export", 6)) {
		imp = false;
	} else {
		why = "the field after the virtual network is 'import' or 'export'";
		goto bad;
	}
	for (unsigned int i = 0; i < n_rt_vns && !vn; i++)
		if (strlen(rt_vns[i].name) == vlen && !strncmp(rt_vns[i].name, arg, vlen))
			vn = &rt_vns[i];
	if (!vn) {
		struct rr_vn_rt *nv = realloc(rt_vns, (n_rt_vns + 1) * sizeof(*rt_vns));

		if (!nv)
			goto oom;
		rt_vns = nv;
		vn = &rt_vns[n_rt_vns];
		memset(vn, 0, sizeof(*vn));
		vn->name = strndup(arg, vlen);
		if (!vn->name)
			goto oom;
		n_rt_vns++;
	}
	list = imp ? &vn->imp : &vn->exp;
	n = imp ? &vn->n_imp : &vn->n_exp;
	if (target_in(*list, *n, &t))
		return 0;	/* given twice: once is enough */
	{
		struct rr_target *nl = realloc(*list, (*n + 1) * sizeof(**list));

		if (!nl)
			goto oom;
		nl[(*n)++] = t;
		*list = nl;
	}
	return 0;
bad:
	fprintf(stderr, "Error: bad --route-target '%s': %s\n", arg, why);
	return -1;
oom:
	fprintf(stderr, "Error: out of memory\n");
	return -1;
}

/* The import map: A leaks into B (A in B's from, B in A's to) when B != A imports a target A exports.
 * Computed once, so that a change follows these lists and never walks every VRF. 0, or -1 after an error
 * message. */
static int route_targets_link(void)
{
	char rt[64];

	for (unsigned int a = 0; a < n_rt_vns; a++) {
		struct rr_vn_rt *A = &rt_vns[a];

		for (unsigned int b = 0; b < n_rt_vns; b++) {
			struct rr_vn_rt *B = &rt_vns[b];
			const struct rr_target *via = NULL;
			struct rr_vn_rt **nl;

			for (unsigned int i = 0; a != b && i < A->n_exp && !via; i++)
				if (target_in(B->imp, B->n_imp, &A->exp[i]))
					via = &A->exp[i];
			if (!via)
				continue;
			if (A->n_to >= RR_MAX_LEAK || B->n_from >= RR_MAX_LEAK) {
				fprintf(stderr, "Error: --route-target: %s leaks into or imports from more than %d virtual "
					"networks\n", A->n_to >= RR_MAX_LEAK ? A->name : B->name, RR_MAX_LEAK);
				return -1;
			}
			nl = realloc(A->to, (A->n_to + 1) * sizeof(*nl));
			if (!nl)
				goto oom;
			A->to = nl;
			A->to[A->n_to++] = B;
			nl = realloc(B->from, (B->n_from + 1) * sizeof(*nl));
			if (!nl)
				goto oom;
			B->from = nl;
			B->from[B->n_from++] = A;
			target_format(via, rt, sizeof(rt));
			log_info("route leaking: the routes of %s are reflected into %s (%s)", A->name, B->name, rt);
		}
	}
	for (unsigned int a = 0; a < n_rt_vns; a++)
		if (!rt_vns[a].n_to && !rt_vns[a].n_from)
			log_warn("route leaking: %s neither leaks into nor imports from another virtual network "
				 "(no other one imports what it exports or exports what it imports)", rt_vns[a].name);
	return 0;
oom:
	fprintf(stderr, "Error: out of memory\n");
	return -1;
}

static void route_targets_free(void)
{
	for (unsigned int i = 0; i < n_rt_vns; i++) {
		free(rt_vns[i].name);
		free(rt_vns[i].imp);
		free(rt_vns[i].exp);
		free(rt_vns[i].to);
		free(rt_vns[i].from);
	}
	free(rt_vns);
	rt_vns = NULL;
	n_rt_vns = 0;
}

static int listen_on(const char *addr, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res, *ai;
	int fd = -1, rc, one = 1;

	rc = getaddrinfo(addr, port, &hints, &res);
	if (rc) {
		log_err("cannot listen on %s port %s: %s", addr ? addr : "*", port, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6 && !addr) {
			int zero = 0;

			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		}
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 128))
			break;
		rc = errno;
		close(fd);
		fd = -1;
		errno = rc;
	}
	if (fd < 0)
		log_err("cannot listen on %s port %s: %s", addr ? addr : "*", port, strerror(errno));
	freeaddrinfo(res);
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' },
		{ "hold", required_argument, NULL, 'H' },
		{ "max-out", required_argument, NULL, 'M' },
		{ "eor-delay", required_argument, NULL, 'E' },
		{ "route-target", required_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct listen_watch lw = {};
	struct vr_watch sigw = {};
	sigset_t mask;
	char *end;
	unsigned long v;
	int c, verbose = 0;

	while ((c = getopt_long(argc, argv, "l:p:vh", lopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			opt.listen_addr = optarg;
			break;
		case 'p':
			v = strtoul(optarg, &end, 10);
			if (*end || !*optarg || !v || v > 65535) {
				fprintf(stderr, "Error: bad port '%s'\n", optarg);
				return EXIT_USAGE;
			}
			opt.port = optarg;
			break;
		case 'H':
			v = strtoul(optarg, &end, 10);
			if (*end || !*optarg || v < 3 || v > 65535) {
				fprintf(stderr, "Error: bad hold time '%s' (3..65535 seconds)\n", optarg);
				return EXIT_USAGE;
			}
			opt.hold_s = (unsigned int)v;
			break;
		case 'M':
			v = strtoul(optarg, &end, 10);
			if (*end || !*optarg || v < 65536 || v > (1ul << 30)) {
				fprintf(stderr, "Error: bad --max-out '%s' (65536..2^30 bytes)\n", optarg);
				return EXIT_USAGE;
			}
			opt.out_max = v;
			break;
		case 'E':
			v = strtoul(optarg, &end, 10);
			if (*end || !*optarg || v > 3600) {
				fprintf(stderr, "Error: bad --eor-delay '%s' (0..3600 seconds)\n", optarg);
				return EXIT_USAGE;
			}
			eor_delay_s = (unsigned int)v;
			break;
		case 'R':
			if (route_target_opt(optarg)) {
				route_targets_free();
				return EXIT_USAGE;
			}
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout);
			route_targets_free();
			return 0;
		default:
			usage(stderr);
			route_targets_free();
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		route_targets_free();
		return EXIT_USAGE;
	}
	vr_log_init(verbose ? VR_AGENT_LOG_DEBUG : VR_AGENT_LOG_INFO, NULL);
	if (route_targets_link()) {
		route_targets_free();
		return EXIT_USAGE;
	}

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if (vr_loop_init()) {
		log_err("epoll: %s", strerror(errno));
		return 1;
	}
	sigw.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	sigw.fn = on_signal;
	if (sigw.fd < 0 || vr_loop_add(&sigw, EPOLLIN)) {
		log_err("signalfd: %s", strerror(errno));
		return 1;
	}
	lw.w.fd = listen_on(opt.listen_addr, opt.port);
	if (lw.w.fd < 0)
		return 1;
	lw.w.fn = on_accept;
	if (vr_loop_add(&lw.w, EPOLLIN)) {
		log_err("epoll: %s", strerror(errno));
		return 1;
	}
	log_info("listening on %s port %s, hold time %u s", opt.listen_addr ? opt.listen_addr : "*", opt.port,
		 opt.hold_s);
	if (eor_delay_s) {
		eor_deferred = true;
		eor_timer.on_timer = eor_release;
		vr_loop_timer(&eor_timer, (uint64_t)eor_delay_s * 1000);
	}

	while (!stop) {
		int n = vr_loop_wait(after_handler);

		if (n < 0) {
			log_err("epoll_wait: %s", strerror(-n));
			break;
		}
		while (graveyard) {
			struct rr_session *s = graveyard;

			graveyard = s->next;
			session_free(s);
		}
	}

	for (unsigned int i = 1; i < 32; i++)
		if (n_closed_decoder[i])
			log_info("closed for bad input: %lu (%s)", n_closed_decoder[i], vr_xmpp_strerror(-(int)i));
	log_info("closed: %lu for the rules, %lu hold time, %lu not reading, %lu other; %lu routes swept",
		 n_closed_rules, n_closed_hold, n_closed_slow, n_closed_other, n_routes_swept);
	while (sessions) {
		session_fail(sessions, "controller shutting down", 0);
		after_handler();
	}
	while (graveyard) {
		struct rr_session *s = graveyard;

		graveyard = s->next;
		session_free(s);
	}
	close(lw.w.fd);
	close(sigw.fd);
	route_targets_free();
	vr_loop_fini();
	vr_xmpp_cleanup();
	return 0;
}
