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
 * of the window is withdrawn from the other subscribers. */
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
	struct rr_prefix *cursor;	/* next prefix to dump */
	struct rr_view old;		/* scratch: what it was told before a change */
};

struct rr_vrf {
	char *name;
	struct rr_prefix *head, *tail;
	unsigned long n_prefixes;
	struct rr_sub *subs;
	struct rr_vrf *next;
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
	/* A dump that was about to send this prefix goes on with the next one. */
	for (sub = v->subs; sub; sub = sub->vnext)
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

/* What subscriber s is told about prefix x (NULL: gone): see struct rr_view. The list is cut where the
 * item would no longer fit one message to s (only long names on many next hops can get there). */
static void view(const struct rr_prefix *x, const struct rr_session *s, struct rr_view *v)
{
	const struct rr_path *p;
	__u32 best = 0;
	bool any = false;

	v->n = 0;
	if (!x)
		return;
	for (p = x->paths; p; p = p->next)
		if (p->origin != s->origin && (!any || path_pref(p) > best)) {
			best = path_pref(p);
			any = true;
		}
	for (p = x->paths; any && p; p = p->next) {
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
	if (v->n > 1) {
		size_t text = entry_text_max(v->p[0]->e), max = message_text_max(s, x->vrf->name);

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

/* Tells subscriber s about prefix x: the item of view v, or a retract when v is NULL or empty. */
static void send_view(struct rr_session *s, const struct rr_prefix *x, const struct rr_view *v)
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
	if (b->n && (b->vrf != x->vrf || b->afi != x->p.afi || b->safi != safi || b->retract != !p ||
		     b->text + text > b->text_max))
		batch_emit(s);
	if (s->fail)
		return;
	if (!b->n) {
		b->vrf = x->vrf;
		b->afi = x->p.afi;
		b->safi = safi;
		b->retract = !p;
		b->text_max = message_text_max(s, x->vrf->name);
	}
	b->text += text;
	if (p) {
		b->e[b->n] = entry_dup(p);
		if (!b->e[b->n]) {
			session_fail(s, "out of memory", 0);
			return;
		}
	} else {
		b->p[b->n] = x->p;
	}
	b->n++;
	mark_dirty(s);		/* the flush after the handler encodes what is left */
	if (b->n == max)
		batch_emit(s);
}

/* Continues the session's table dumps while its output buffer is below the low-water mark: at most
 * VR_XMPP_MAX_REACH_PER_MSG routes (of one family, within message_text_max) per message, the subscriber's
 * own routes skipped, then EndOfRib. */
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
			while (sub->cursor && n < VR_XMPP_MAX_REACH_PER_MSG) {
				const struct vr_xmpp_entry *p = NULL;
				struct rr_view v;

				view(sub->cursor, s, &v);
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
			if (!sub->cursor) {
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

static void change_begin(struct rr_prefix *x)
{
	for (struct rr_sub *sub = x->vrf->subs; sub; sub = sub->vnext)
		view(x, sub->s, &sub->old);
}

/* After a change to prefix x (NULL when it is gone) of VRF v: tells each subscriber whose view changed (its
 * list of paths, or one of them republished). changed is the path that was (re)published, which counts as a
 * change even when it is the same one. */
static void change_end(struct rr_vrf *v, struct rr_prefix *x, const struct vr_xmpp_prefix *pfx,
		       const struct rr_path *changed)
{
	for (struct rr_sub *sub = v->subs; sub; sub = sub->vnext) {
		struct rr_session *s = sub->s;
		struct rr_view now;

		view(x, s, &now);
		if (s->fail || (view_eq(&now, &sub->old) && !view_has(&now, changed)))
			continue;
		if (now.n) {
			send_view(s, x, &now);
		} else {
			struct rr_prefix gone = { .vrf = v, .p = *pfx };

			send_view(s, &gone, NULL);
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
	change_begin(x);
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
	change_end(v, x, &x->p, p);
	return 0;
}

static void path_del(struct rr_prefix *x, struct rr_path *p)
{
	struct rr_vrf *v = x->vrf;
	struct vr_xmpp_prefix pfx = x->p;
	struct rr_path **pp;

	change_begin(x);
	for (pp = &x->paths; *pp != p; pp = &(*pp)->next)
		;
	*pp = p->next;
	p->origin->n_paths--;
	if (p->stale)
		p->origin->n_stale--;
	free(p->e);
	free(p);
	if (!x->paths) {
		prefix_free(x);
		x = NULL;
	}
	change_end(v, x, &pfx, NULL);
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

static void usage(FILE *f)
{
	fprintf(f, "Usage: vrouter-controller [-l ADDR] [-p PORT] [--hold SECONDS] [--max-out BYTES] [-v]\n"
		   "  -l, --listen ADDR   address to listen on (default: all)\n"
		   "  -p, --port PORT     TCP port (default 5269)\n"
		   "  --hold SECONDS      hold time: keepalives every third of it, silent sessions closed after\n"
		   "                      it, a dead agent's routes withdrawn after it (default 90)\n"
		   "  --max-out BYTES     output buffer cap per session (default %u)\n"
		   "  -v, --verbose       debug messages\n"
		   "  -h, --help\n", RR_OUT_MAX_DEFAULT);
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
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	vr_log_init(verbose ? VR_AGENT_LOG_DEBUG : VR_AGENT_LOG_INFO, NULL);

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
	vr_loop_fini();
	vr_xmpp_cleanup();
	return 0;
}
