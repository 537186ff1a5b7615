/* libFuzzer target: the XMPP stream decoder (agent/xmpp_parse.c) as vrouter-agent and vrouter-controller run
 * it, and the builders (agent/xmpp_build.c) through round trips of what it decoded.
 *
 * Input: one mode byte, then the bytes of a stream. The mode byte:
 *   bits 0-1  what goes in front of the bytes: 0 or 3 nothing (the input has its own stream header), 1 the
 *             agent's stream open (the controller's side of a session), 2 the control node's answer (the
 *             agent's side);
 *   bit 2     small decoder limits (512-byte stanzas, depth 6, 8 items, 64 elements), so the limits are hit
 *             by short inputs;
 *   bits 3-7  k: the chunk sizes of the split run, one byte at a time for k = 0, else random sizes in
 *             1..4k^2+1 drawn from a generator seeded by the input.
 * Printable mode bytes keep the seed corpus readable: '@' no header, 'A' agent open, 'B' control-node
 * answer, 'E'/'F' the same with small limits (all of them with chunks of at most 257 bytes).
 *
 * Each input is decoded four times:
 *   1. whole, in one feed, with every event checked (field limits, canonical prefixes, strings bounded,
 *      the callback's feed/reset refused as VR_XMPP_E_STATE) and every decoded stanza rebuilt by the
 *      builders and decoded again by a second decoder, which must give the same values (items, retracts,
 *      End-of-RIB, publish/withdraw pairs, subscribe/unsubscribe, the stream header);
 *   2. in chunks (see above): the events must be those of run 1, the decoder's promise (with one allowance
 *      for malformed streams, see same_events());
 *   3. after vr_xmpp_decoder_reset() of that decoder, whole again, with the callback stopping at one of the
 *      events (stream header, stanza or close, as vrouter-controller does): the events up to it must be those
 *      of run 1, then VR_XMPP_E_STOPPED;
 * and after an error, feeding on must give the same code and no event.
 * A broken promise aborts, which libFuzzer reports as a crash with the input saved. FUZZ_VERBOSE=1 in the
 * environment prints the events of every input run (build/fuzz/fuzz_xmpp FILE... runs just those files). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <libxml/xmlerror.h>

#include "xmpp.h"

#define HOST "fuzz-host"
#define STREAM_NS_ATTR "xmlns:stream=\"" VR_XMPP_STREAM_NS "\""
#define AGENT_OPEN "<stream:stream from=\"" HOST "\" to=\"" VR_XMPP_CONTROL_JID "\" version=\"1.0\" " \
	"xml:lang=\"en\" xmlns=\"\" " STREAM_NS_ATTR ">"
#define CTRL_OPEN "<stream:stream from=\"" VR_XMPP_CONTROL_JID "\" to=\"" HOST "\" id=\"s1\" version=\"1.0\" " \
	"xml:lang=\"en\" xmlns=\"\" " STREAM_NS_ATTR ">"

#define FUZZ_NAME "fuzz_xmpp"
#include "fuzz.h"

/* ---- a growable string for the event dumps ---- */

struct str {
	char *s;
	size_t len, cap;
};

static void sadd(struct str *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sadd(struct str *x, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(x->s ? x->s + x->len : NULL, x->s ? x->cap - x->len : 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	if (!x->s || (size_t)n >= x->cap - x->len) {
		size_t cap = x->cap ? x->cap : 256;

		while (cap - x->len <= (size_t)n)
			cap *= 2;
		x->s = realloc(x->s, cap);
		if (!x->s)
			abort();
		x->cap = cap;
		va_start(ap, fmt);
		vsnprintf(x->s + x->len, x->cap - x->len, fmt, ap);
		va_end(ap);
	}
	x->len += (size_t)n;
}

static void sclear(struct str *x)
{
	if (!x->s) {
		x->cap = 256;
		x->s = malloc(x->cap);
		if (!x->s)
			abort();
	}
	x->len = 0;
	x->s[0] = '\0';
}

static const char *S(const char *s)
{
	return s ? s : "(null)";
}

/* ---- field checks ---- */

static struct vr_xmpp_limits lim_default, lim_small;

/* A decoded string: NUL-terminated (ASan sees the read) and no longer than the stanza it came from. */
static void check_str(const char *s, size_t max, const char *what)
{
	if (s)
		CHECK(strlen(s) <= max, "%s: %zu bytes, more than the stanza limit %zu", what, strlen(s), max);
}

static bool prefix_canonical(const struct vr_xmpp_prefix *p)
{
	const __u8 *a = p->afi == VR_XMPP_AFI_IPV4 ? (const __u8 *)&p->ip.v4 : p->ip.v6;
	unsigned int bytes = p->afi == VR_XMPP_AFI_IPV4 ? 4 : 16, i;

	if (p->afi != VR_XMPP_AFI_IPV4 && p->afi != VR_XMPP_AFI_IPV6)
		return false;
	if (p->plen > bytes * 8)
		return false;
	for (i = 0; i < bytes; i++) {
		unsigned int keep = p->plen >= (i + 1) * 8 ? 8 : p->plen > i * 8 ? p->plen - i * 8 : 0;

		if (a[i] & ~(keep ? (0xffu << (8 - keep)) & 0xff : 0))
			return false;
	}
	/* The unused part of the union is zero (IPv4 lives in v4, "the rest zero"). */
	if (p->afi == VR_XMPP_AFI_IPV4)
		for (i = 4; i < 16; i++)
			if (p->ip.v6[i])
				return false;
	return true;
}

static bool prefix_eq(const struct vr_xmpp_prefix *a, const struct vr_xmpp_prefix *b)
{
	return a->afi == b->afi && a->plen == b->plen && !memcmp(&a->ip, &b->ip, sizeof(a->ip));
}

/* A decoded prefix: canonical, and format -> parse gives it back. */
static void check_prefix(const struct vr_xmpp_prefix *p, const char *what)
{
	char text[VR_XMPP_PREFIX_STRLEN];
	struct vr_xmpp_prefix q;
	int rc;

	CHECK(prefix_canonical(p), "%s: prefix not canonical (afi %u plen %u)", what, p->afi, p->plen);
	rc = vr_xmpp_prefix_format(p, text, sizeof(text));
	CHECK(!rc, "%s: vr_xmpp_prefix_format: %d", what, rc);
	rc = vr_xmpp_prefix_parse(p->afi, text, &q);
	CHECK(!rc && prefix_eq(p, &q), "%s: '%s' does not parse back (%d)", what, text, rc);
}

static void check_entry(const struct vr_xmpp_entry *e, size_t max, const struct vr_xmpp_limits *lim)
{
	const unsigned int known = VR_XMPP_HAVE_VERSION | VR_XMPP_HAVE_SEQUENCE | VR_XMPP_HAVE_LOCAL_PREF |
				   VR_XMPP_HAVE_MED | VR_XMPP_HAVE_NEXTHOPS | VR_XMPP_HAVE_SG_LIST;
	unsigned int i;

	check_prefix(&e->nlri, "entry nlri");
	CHECK(!(e->have & ~known), "entry have %#x", e->have);
	CHECK(e->n_nexthops <= lim->max_elements, "%u next hops in a stanza of at most %u elements", e->n_nexthops,
	      lim->max_elements);
	CHECK(!e->n_nexthops || e->nexthops, "%u next hops and no array", e->n_nexthops);
	CHECK(e->n_nexthops == 0 || (e->have & VR_XMPP_HAVE_NEXTHOPS), "next hops without <next-hops>");
	CHECK(e->n_sgs <= lim->max_elements, "%u security groups", e->n_sgs);
	CHECK(!e->n_sgs || e->sgs, "%u security groups and no array", e->n_sgs);
	CHECK(e->n_sgs == 0 || (e->have & VR_XMPP_HAVE_SG_LIST), "security groups without a list");
	CHECK((e->have & VR_XMPP_HAVE_VERSION) || !e->version, "version without <version>");
	CHECK((e->have & VR_XMPP_HAVE_SEQUENCE) || !e->sequence_number, "sequence without <sequence-number>");
	CHECK((e->have & VR_XMPP_HAVE_LOCAL_PREF) || !e->local_pref, "local-pref without <local-preference>");
	CHECK((e->have & VR_XMPP_HAVE_MED) || !e->med, "med without <med>");
	CHECK(e->has_mobility || (!e->mobility_seqno && !e->mobility_sticky), "mobility fields without <mobility>");
	check_str(e->virtual_network, max, "entry virtual-network");
	check_str(e->sub_protocol, max, "entry sub-protocol");
	for (i = 0; i < e->n_nexthops; i++) {
		const struct vr_xmpp_nexthop *nh = &e->nexthops[i];

		CHECK(nh->addr.afi == VR_XMPP_AFI_IPV4 || nh->addr.afi == VR_XMPP_AFI_IPV6, "next-hop afi %u",
		      nh->addr.afi);
		CHECK(!(nh->encaps & ~(VR_XMPP_ENCAP_GRE | VR_XMPP_ENCAP_UDP | VR_XMPP_ENCAP_VXLAN |
				       VR_XMPP_ENCAP_OTHER)), "next-hop encaps %#x", nh->encaps);
		CHECK(nh->has_mac || !memcmp(nh->mac, "\0\0\0\0\0\0", 6), "a MAC without has_mac");
		check_str(nh->virtual_network, max, "next-hop virtual-network");
		/* What the agent does with it (xmpp.h helpers): never an empty set, a choice among the preferences. */
		CHECK(vr_xmpp_encaps(nh), "no effective encapsulation");
		{
			static const unsigned int prefs[] = { VR_XMPP_ENCAP_UDP, VR_XMPP_ENCAP_GRE };
			unsigned int c = vr_xmpp_encap_choose(prefs, 2, nh);

			CHECK(c == 0 || ((c & vr_xmpp_encaps(nh)) && (c == VR_XMPP_ENCAP_UDP || c == VR_XMPP_ENCAP_GRE)),
			      "vr_xmpp_encap_choose gave %#x for %#x", c, nh->encaps);
		}
	}
}

static bool family_decoded(unsigned int afi, unsigned int safi)
{
	return (afi == VR_XMPP_AFI_IPV4 || afi == VR_XMPP_AFI_IPV6) && safi == VR_XMPP_SAFI_UNICAST;
}

static void check_route_node(const struct vr_xmpp_route_node *n, size_t max, bool with_prefix)
{
	CHECK(n->text && *n->text, "route node without text");
	check_str(n->text, max, "node");
	check_str(n->vrf, max, "node vrf");
	CHECK(n->decoded == family_decoded(n->afi, n->safi), "node '%s': decoded %d for %u/%u", n->text, n->decoded,
	      n->afi, n->safi);
	if (n->decoded) {
		CHECK(n->vrf && *n->vrf, "node '%s' decoded without a vrf", n->text);
		if (with_prefix) {
			CHECK(!strchr(n->vrf, '/'), "node '%s': vrf '%s' has a '/'", n->text, n->vrf);
			CHECK(n->prefix.afi == n->afi, "node '%s': prefix afi %u", n->text, n->prefix.afi);
			check_prefix(&n->prefix, "node prefix");
		}
	}
	CHECK(!n->has_instance || with_prefix, "an instance in an items node");
}

static void check_stanza(const struct vr_xmpp_stanza *st, const struct vr_xmpp_limits *lim)
{
	size_t max = lim->max_stanza;
	unsigned int i;

	CHECK(st->name && *st->name, "stanza without a name");
	CHECK((unsigned int)st->kind <= VR_XMPP_ST_STREAM_ERROR, "stanza kind %d", st->kind);
	check_str(st->type, max, "type");
	check_str(st->id, max, "id");
	check_str(st->from, max, "from");
	check_str(st->to, max, "to");
	check_str(st->action, max, "action");
	switch (st->kind) {
	case VR_XMPP_ST_SUBSCRIBE:
	case VR_XMPP_ST_UNSUBSCRIBE:
		CHECK(!strcmp(st->name, "iq") && st->type && !strcmp(st->type, "set"), "subscribe in <%s>", st->name);
		CHECK(st->u.subscribe.node && *st->u.subscribe.node, "subscribe without a node");
		check_str(st->u.subscribe.node, max, "subscribe node");
		CHECK(st->kind == VR_XMPP_ST_SUBSCRIBE || !st->u.subscribe.has_instance_id, "unsubscribe with an id");
		CHECK(st->u.subscribe.has_instance_id || !st->u.subscribe.instance_id, "instance id without has_");
		break;
	case VR_XMPP_ST_PUBLISH: {
		const struct vr_xmpp_publish *p = &st->u.publish;

		check_route_node(&p->node, max, true);
		CHECK(!p->has_entry || (p->has_item && p->node.decoded), "publish entry without item or family");
		CHECK(p->has_entry == (p->has_item && p->node.decoded), "publish of a decoded family without entry");
		if (p->has_entry) {
			check_entry(&p->entry, max, lim);
			CHECK(prefix_eq(&p->entry.nlri, &p->node.prefix) && p->entry.safi == p->node.safi,
			      "publish nlri differs from its node '%s'", p->node.text);
		}
		break;
	}
	case VR_XMPP_ST_ASSOCIATE:
	case VR_XMPP_ST_DISSOCIATE:
		CHECK(st->u.collection.node && *st->u.collection.node, "collection without a node");
		check_str(st->u.collection.node, max, "collection node");
		check_route_node(&st->u.collection.item, max, true);
		break;
	case VR_XMPP_ST_ITEMS: {
		const struct vr_xmpp_items *m = &st->u.items;

		CHECK(!strcmp(st->name, "message"), "items in <%s>", st->name);
		CHECK(m->n_items + m->n_retracts <= lim->max_items, "%u items + %u retracts over the limit %u",
		      m->n_items, m->n_retracts, lim->max_items);
		CHECK(m->node.text, "items without a node");
		if (m->end_of_rib) {
			CHECK(!strcmp(m->node.text, VR_XMPP_EOR_NODE) && !m->items && !m->retracts, "bad End-of-RIB");
			break;
		}
		check_route_node(&m->node, max, false);
		if (!m->node.decoded) {
			CHECK(!m->items && !m->retracts, "entries of a family not decoded");
			break;
		}
		CHECK(!m->n_items == !m->items && !m->n_retracts == !m->retracts, "item arrays and counts disagree");
		for (i = 0; i < m->n_items; i++) {
			check_entry(&m->items[i], max, lim);
			CHECK(m->items[i].nlri.afi == m->node.afi && m->items[i].safi == m->node.safi,
			      "item %u of another family than its node", i);
		}
		for (i = 0; i < m->n_retracts; i++) {
			check_prefix(&m->retracts[i], "retract");
			CHECK(m->retracts[i].afi == m->node.afi, "retract %u of another afi", i);
		}
		break;
	}
	case VR_XMPP_ST_IQ_RESULT:
	case VR_XMPP_ST_IQ_ERROR:
		CHECK(!strcmp(st->name, "iq"), "iq result/error in <%s>", st->name);
		/* fall through */
	case VR_XMPP_ST_STREAM_ERROR:
		if (st->kind != VR_XMPP_ST_IQ_RESULT)
			check_str(st->u.condition, max, "condition");
		break;
	case VR_XMPP_ST_OTHER:
		break;
	}
}

/* ---- dumps: the canonical text of the events, compared across runs ---- */

static void dump_prefix(struct str *o, const struct vr_xmpp_prefix *p)
{
	char t[VR_XMPP_PREFIX_STRLEN];

	if (vr_xmpp_prefix_format(p, t, sizeof(t)))
		snprintf(t, sizeof(t), "?");
	sadd(o, "%s", t);
}

static void dump_entry(struct str *o, const struct vr_xmpp_entry *e)
{
	unsigned int i;

	sadd(o, " entry ");
	dump_prefix(o, &e->nlri);
	sadd(o, " safi=%u have=%#x ver=%u seq=%u lp=%u med=%u vn=%s sub=%s mob=%d/%u/%d sgs=", e->safi, e->have,
	     e->version, e->sequence_number, e->local_pref, e->med, S(e->virtual_network), S(e->sub_protocol),
	     e->has_mobility, e->mobility_seqno, e->mobility_sticky);
	for (i = 0; i < e->n_sgs; i++)
		sadd(o, "%u,", e->sgs[i]);
	sadd(o, "\n");
	for (i = 0; i < e->n_nexthops; i++) {
		const struct vr_xmpp_nexthop *nh = &e->nexthops[i];
		char a[INET6_ADDRSTRLEN] = "?";

		inet_ntop(nh->addr.afi == VR_XMPP_AFI_IPV6 ? AF_INET6 : AF_INET, &nh->addr.ip, a, sizeof(a));
		sadd(o, "  nh %u:%s mac=%d:%02x%02x%02x%02x%02x%02x label=%u encaps=%#x vn=%s\n", nh->addr.afi, a,
		     nh->has_mac, nh->mac[0], nh->mac[1], nh->mac[2], nh->mac[3], nh->mac[4], nh->mac[5], nh->label,
		     nh->encaps, S(nh->virtual_network));
	}
}

static void dump_node(struct str *o, const struct vr_xmpp_route_node *n)
{
	sadd(o, " node=%s afi=%u safi=%u vrf=%s decoded=%d", S(n->text), n->afi, n->safi, S(n->vrf), n->decoded);
	if (n->decoded) {
		sadd(o, " prefix=");
		dump_prefix(o, &n->prefix);
	}
	if (n->has_instance)
		sadd(o, " instance=%u", n->instance);
}

static void dump_stanza(struct str *o, const struct vr_xmpp_stanza *st)
{
	unsigned int i;

	sadd(o, "stanza %d <%s> type=%s id=%s from=%s to=%s action=%s\n", st->kind, st->name, S(st->type), S(st->id),
	     S(st->from), S(st->to), S(st->action));
	switch (st->kind) {
	case VR_XMPP_ST_SUBSCRIBE:
	case VR_XMPP_ST_UNSUBSCRIBE:
		sadd(o, " vrf=%s id=%d/%u\n", st->u.subscribe.node, st->u.subscribe.has_instance_id,
		     st->u.subscribe.instance_id);
		break;
	case VR_XMPP_ST_PUBLISH:
		dump_node(o, &st->u.publish.node);
		sadd(o, " item=%d entry=%d\n", st->u.publish.has_item, st->u.publish.has_entry);
		if (st->u.publish.has_entry)
			dump_entry(o, &st->u.publish.entry);
		break;
	case VR_XMPP_ST_ASSOCIATE:
	case VR_XMPP_ST_DISSOCIATE:
		sadd(o, " collection=%s", st->u.collection.node);
		dump_node(o, &st->u.collection.item);
		sadd(o, "\n");
		break;
	case VR_XMPP_ST_ITEMS:
		dump_node(o, &st->u.items.node);
		sadd(o, " eor=%d items=%u retracts=%u\n", st->u.items.end_of_rib, st->u.items.n_items,
		     st->u.items.n_retracts);
		for (i = 0; st->u.items.items && i < st->u.items.n_items; i++)
			dump_entry(o, &st->u.items.items[i]);
		for (i = 0; st->u.items.retracts && i < st->u.items.n_retracts; i++) {
			sadd(o, " retract ");
			dump_prefix(o, &st->u.items.retracts[i]);
			sadd(o, "\n");
		}
		break;
	case VR_XMPP_ST_IQ_ERROR:
	case VR_XMPP_ST_STREAM_ERROR:
		sadd(o, " condition=%s\n", S(st->u.condition));
		break;
	default:
		break;
	}
}

/* ---- round trips: build what was decoded, decode it again ---- */

struct rt_ctx {
	int kind;				/* what the rebuilt text holds, see the rt_* callers */
	const struct vr_xmpp_stanza *orig;
	const struct vr_xmpp_stream_header *orig_h;
	const char *orig_xmlns;
	unsigned int stanzas, got;		/* stanzas decoded; entries/retracts matched so far */
	bool header;
};

enum { RT_HEADER, RT_ITEMS, RT_RETRACTS, RT_EOR, RT_PUBLISH, RT_WITHDRAW, RT_SUBSCRIBE };

static struct vr_xmpp_decoder *rt_dec;
static struct rt_ctx rt;	/* the round-trip decoder's user pointer, fixed at its creation */

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* a decoded, b decoded from what the builder made of a: the fields the builder writes. */
static void entry_same(const struct vr_xmpp_entry *a, const struct vr_xmpp_entry *b, const char *what)
{
	const unsigned int all = VR_XMPP_HAVE_VERSION | VR_XMPP_HAVE_SEQUENCE | VR_XMPP_HAVE_LOCAL_PREF |
				 VR_XMPP_HAVE_MED | VR_XMPP_HAVE_NEXTHOPS | VR_XMPP_HAVE_SG_LIST;
	unsigned int i;

	CHECK(prefix_eq(&a->nlri, &b->nlri) && a->safi == b->safi, "%s: nlri/safi changed", what);
	CHECK(b->have == all, "%s: rebuilt entry has %#x", what, b->have);
	CHECK(a->version == b->version && a->sequence_number == b->sequence_number && a->local_pref == b->local_pref &&
	      a->med == b->med, "%s: scalars changed", what);
	CHECK(str_eq(a->virtual_network, b->virtual_network), "%s: virtual-network '%s' became '%s'", what,
	      S(a->virtual_network), S(b->virtual_network));
	CHECK(str_eq(a->sub_protocol, b->sub_protocol), "%s: sub-protocol '%s' became '%s'", what,
	      S(a->sub_protocol), S(b->sub_protocol));
	CHECK(a->has_mobility == b->has_mobility && a->mobility_seqno == b->mobility_seqno &&
	      a->mobility_sticky == b->mobility_sticky, "%s: mobility changed", what);
	CHECK(a->n_sgs == b->n_sgs, "%s: %u security groups became %u", what, a->n_sgs, b->n_sgs);
	for (i = 0; i < a->n_sgs; i++)
		CHECK(a->sgs[i] == b->sgs[i], "%s: security group %u changed", what, i);
	CHECK(a->n_nexthops == b->n_nexthops, "%s: %u next hops became %u", what, a->n_nexthops, b->n_nexthops);
	for (i = 0; i < a->n_nexthops; i++) {
		const struct vr_xmpp_nexthop *x = &a->nexthops[i], *y = &b->nexthops[i];

		CHECK(x->addr.afi == y->addr.afi && !memcmp(&x->addr.ip, &y->addr.ip, sizeof(x->addr.ip)),
		      "%s: next hop %u address changed", what, i);
		CHECK(x->has_mac == y->has_mac && (!x->has_mac || !memcmp(x->mac, y->mac, 6)),
		      "%s: next hop %u mac changed", what, i);
		CHECK(x->label == y->label, "%s: next hop %u label changed", what, i);
		/* Names we do not know are not encoded (VR_XMPP_ENCAP_OTHER). */
		CHECK((x->encaps & ~VR_XMPP_ENCAP_OTHER) == y->encaps, "%s: next hop %u encaps %#x became %#x", what, i,
		      x->encaps, y->encaps);
		CHECK(str_eq(x->virtual_network, y->virtual_network), "%s: next hop %u virtual-network changed", what,
		      i);
	}
}

static int rt_event(void *user, const struct vr_xmpp_event *ev)
{
	struct rt_ctx *c = user;
	const struct vr_xmpp_stanza *st, *o = c->orig;
	unsigned int i;

	if (ev->type == VR_XMPP_EV_KEEPALIVE)
		return 0;
	CHECK(ev->type != VR_XMPP_EV_ERROR, "round trip %d: the rebuilt text fails: %s: %s", c->kind,
	      vr_xmpp_strerror(ev->u.error.code), ev->u.error.detail);
	if (ev->type == VR_XMPP_EV_STREAM_OPEN) {
		const struct vr_xmpp_stream_header *h = ev->u.header, *oh = c->orig_h;

		c->header = true;
		if (c->kind != RT_HEADER)
			return 0;
		CHECK(str_eq(h->from, oh->from), "stream header: from '%s' became '%s'", S(oh->from), S(h->from));
		CHECK(str_eq(h->to, VR_XMPP_CONTROL_JID) && str_eq(h->version, "1.0") && str_eq(h->lang, "en"),
		      "stream header: fixed fields");
		CHECK(str_eq(h->xmlns, c->orig_xmlns), "stream header: xmlns '%s' became '%s'", S(c->orig_xmlns),
		      S(h->xmlns));
		return 0;
	}
	CHECK(ev->type == VR_XMPP_EV_STANZA, "round trip %d: event %d", c->kind, ev->type);
	st = ev->u.stanza;
	c->stanzas++;
	check_stanza(st, &lim_default);
	switch (c->kind) {
	case RT_ITEMS:
		CHECK(st->kind == VR_XMPP_ST_ITEMS && st->u.items.node.decoded && !st->u.items.n_retracts &&
		      st->u.items.n_items <= VR_XMPP_MAX_REACH_PER_MSG, "rebuilt items: kind %d", st->kind);
		CHECK(!strcmp(st->u.items.node.vrf, o->u.items.node.vrf) && st->u.items.node.afi == o->u.items.node.afi &&
		      st->u.items.node.safi == o->u.items.node.safi, "rebuilt items: node '%s' vs '%s'",
		      st->u.items.node.text, o->u.items.node.text);
		for (i = 0; i < st->u.items.n_items; i++) {
			CHECK(c->got < o->u.items.n_items, "rebuilt items: more entries than %u", o->u.items.n_items);
			entry_same(&o->u.items.items[c->got++], &st->u.items.items[i], "items");
		}
		break;
	case RT_RETRACTS:
		CHECK(st->kind == VR_XMPP_ST_ITEMS && st->u.items.node.decoded && !st->u.items.n_items &&
		      st->u.items.n_retracts <= VR_XMPP_MAX_UNREACH_PER_MSG, "rebuilt retracts: kind %d", st->kind);
		CHECK(!strcmp(st->u.items.node.vrf, o->u.items.node.vrf), "rebuilt retracts: vrf");
		for (i = 0; i < st->u.items.n_retracts; i++) {
			CHECK(c->got < o->u.items.n_retracts, "rebuilt retracts: too many");
			CHECK(prefix_eq(&o->u.items.retracts[c->got++], &st->u.items.retracts[i]), "retract %u changed", i);
		}
		break;
	case RT_EOR:
		CHECK(st->kind == VR_XMPP_ST_ITEMS && st->u.items.end_of_rib && str_eq(st->to, HOST "/" VR_XMPP_BGP_PEER),
		      "rebuilt End-of-RIB");
		break;
	case RT_PUBLISH:
	case RT_WITHDRAW: {
		const struct vr_xmpp_publish *op = &o->u.publish;

		if (c->stanzas == 1) {
			const struct vr_xmpp_publish *p = &st->u.publish;

			CHECK(st->kind == VR_XMPP_ST_PUBLISH && p->has_entry, "rebuilt publish: kind %d", st->kind);
			CHECK(!strcmp(p->node.vrf, op->node.vrf) && prefix_eq(&p->node.prefix, &op->node.prefix) &&
			      p->node.afi == op->node.afi && p->node.safi == op->node.safi && !p->node.has_instance,
			      "rebuilt publish: node '%s' vs '%s'", p->node.text, op->node.text);
			if (c->kind == RT_PUBLISH)
				entry_same(&op->entry, &p->entry, "publish");
			else
				CHECK(prefix_eq(&p->entry.nlri, &op->entry.nlri) && !p->entry.have && !p->entry.n_nexthops,
				      "rebuilt withdraw: entry");
		} else {
			const struct vr_xmpp_collection *col = &st->u.collection;

			CHECK(c->stanzas == 2, "rebuilt publish: a third stanza");
			CHECK(st->kind == (c->kind == RT_PUBLISH ? VR_XMPP_ST_ASSOCIATE : VR_XMPP_ST_DISSOCIATE),
			      "rebuilt collection: kind %d", st->kind);
			CHECK(!strcmp(col->node, op->node.vrf) && col->item.decoded &&
			      prefix_eq(&col->item.prefix, &op->node.prefix) && !strcmp(col->item.vrf, op->node.vrf),
			      "rebuilt collection: node '%s' item '%s'", col->node, col->item.text);
		}
		break;
	}
	case RT_SUBSCRIBE:
		CHECK(st->kind == o->kind && !strcmp(st->u.subscribe.node, o->u.subscribe.node),
		      "rebuilt subscribe: kind %d node '%s' vs '%s'", st->kind, st->u.subscribe.node, o->u.subscribe.node);
		if (o->kind == VR_XMPP_ST_SUBSCRIBE)
			CHECK(st->u.subscribe.has_instance_id && st->u.subscribe.instance_id == o->u.subscribe.instance_id,
			      "rebuilt subscribe: instance id");
		break;
	default:
		die("round trip %d: unexpected stanza", c->kind);
	}
	return 0;
}

/* Decodes open + the builder's text with the round-trip decoder; returns the stanzas it held. */
static unsigned int rt_decode(const char *open, const struct vr_xmpp_buf *b)
{
	struct rt_ctx *c = &rt;
	int rc;

	if (!rt_dec) {
		struct vr_xmpp_limits big = lim_default;

		big.max_stanza = 16u << 20;		/* what we built may be longer than what we read */
		big.max_elements = 1u << 20;
		rt_dec = vr_xmpp_decoder_new(&big, rt_event, c);
		CHECK(rt_dec, "round trip decoder: out of memory");
	}
	rc = vr_xmpp_decoder_reset(rt_dec);
	CHECK(!rc, "round trip decoder reset: %d", rc);
	rc = vr_xmpp_decoder_feed(rt_dec, open, strlen(open));
	CHECK(!rc, "round trip: our own stream header fails: %d", rc);
	rc = vr_xmpp_decoder_feed(rt_dec, b->data, b->len);
	if (rc) {
		const char *detail;

		vr_xmpp_decoder_error(rt_dec, &detail);
		die("round trip %d: the builder's text does not decode: %s (%s)\n%.*s", c->kind, vr_xmpp_strerror(rc),
		    detail, (int)(b->len < 2000 ? b->len : 2000), b->data);
	}
	return c->stanzas;
}

static void rt_begin(int kind, const struct vr_xmpp_stanza *orig)
{
	memset(&rt, 0, sizeof(rt));
	rt.kind = kind;
	rt.orig = orig;
}

static void roundtrip_header(const struct vr_xmpp_stream_header *h)
{
	struct vr_xmpp_buf b;
	int rc;

	if (!h->from || !*h->from)
		return;
	vr_xmpp_buf_init(&b, 0);
	rc = vr_xmpp_build_stream_open(&b, h->from, h->xmlns);
	CHECK(!rc, "build_stream_open of a decoded from='%s': %d", h->from, rc);
	rt_begin(RT_HEADER, NULL);
	rt.orig_h = h;
	rt.orig_xmlns = h->xmlns ? h->xmlns : "";
	rt_decode("", &b);
	CHECK(rt.header, "rebuilt stream header not seen");
	vr_xmpp_buf_free(&b);
}

static void roundtrip_stanza(const struct vr_xmpp_stanza *st)
{
	struct vr_xmpp_buf b;
	unsigned int n;
	int rc;

	vr_xmpp_buf_init(&b, 0);
	switch (st->kind) {
	case VR_XMPP_ST_ITEMS: {
		const struct vr_xmpp_items *m = &st->u.items;

		if (m->end_of_rib) {
			rc = vr_xmpp_build_end_of_rib(&b, HOST);
			CHECK(!rc, "build_end_of_rib: %d", rc);
			rt_begin(RT_EOR, st);
			CHECK(rt_decode(CTRL_OPEN, &b) == 1, "rebuilt End-of-RIB: %u stanzas", rt.stanzas);
			break;
		}
		if (!m->node.decoded)
			break;
		if (m->n_items) {
			rc = vr_xmpp_build_items(&b, HOST, m->node.afi, m->node.safi, m->node.vrf, m->items, m->n_items);
			if (rc < 0) {
				CHECK((rc == -EINVAL && strchr(m->node.vrf, '/')) || rc == -ENAMETOOLONG,
				      "build_items of decoded items (vrf '%s'): %d", m->node.vrf, rc);
			} else {
				n = (m->n_items + VR_XMPP_MAX_REACH_PER_MSG - 1) / VR_XMPP_MAX_REACH_PER_MSG;
				CHECK((unsigned int)rc == n, "build_items: %d messages for %u items", rc, m->n_items);
				rt_begin(RT_ITEMS, st);
				CHECK(rt_decode(CTRL_OPEN, &b) == n && rt.got == m->n_items,
				      "rebuilt items: %u stanzas, %u entries", rt.stanzas, rt.got);
			}
		}
		if (m->n_retracts) {
			b.len = 0;
			rc = vr_xmpp_build_retracts(&b, HOST, m->node.afi, m->node.safi, m->node.vrf, m->retracts,
						    m->n_retracts);
			if (rc < 0) {
				CHECK((rc == -EINVAL && strchr(m->node.vrf, '/')) || rc == -ENAMETOOLONG,
				      "build_retracts of decoded retracts (vrf '%s'): %d", m->node.vrf, rc);
			} else {
				n = (m->n_retracts + VR_XMPP_MAX_UNREACH_PER_MSG - 1) / VR_XMPP_MAX_UNREACH_PER_MSG;
				CHECK((unsigned int)rc == n, "build_retracts: %d messages", rc);
				rt_begin(RT_RETRACTS, st);
				CHECK(rt_decode(CTRL_OPEN, &b) == n && rt.got == m->n_retracts,
				      "rebuilt retracts: %u stanzas, %u prefixes", rt.stanzas, rt.got);
			}
		}
		break;
	}
	case VR_XMPP_ST_PUBLISH: {
		const struct vr_xmpp_publish *p = &st->u.publish;

		if (!p->has_entry)
			break;
		rc = vr_xmpp_build_publish(&b, HOST, 7, p->node.vrf, &p->entry);
		CHECK(!rc || rc == -ENAMETOOLONG, "build_publish of a decoded publish (node '%s'): %d", p->node.text, rc);
		if (!rc) {
			rt_begin(RT_PUBLISH, st);
			CHECK(rt_decode(AGENT_OPEN, &b) == 2, "rebuilt publish: %u stanzas", rt.stanzas);
		}
		b.len = 0;
		rc = vr_xmpp_build_withdraw(&b, HOST, 8, p->node.vrf, p->entry.safi, &p->entry.nlri);
		CHECK(!rc || rc == -ENAMETOOLONG, "build_withdraw of a decoded publish (node '%s'): %d", p->node.text,
		      rc);
		if (!rc) {
			rt_begin(RT_WITHDRAW, st);
			CHECK(rt_decode(AGENT_OPEN, &b) == 2, "rebuilt withdraw: %u stanzas", rt.stanzas);
		}
		break;
	}
	case VR_XMPP_ST_SUBSCRIBE:
	case VR_XMPP_ST_UNSUBSCRIBE:
		if (st->kind == VR_XMPP_ST_SUBSCRIBE)
			rc = vr_xmpp_build_subscribe(&b, HOST, 3, st->u.subscribe.node, st->u.subscribe.instance_id);
		else
			rc = vr_xmpp_build_unsubscribe(&b, HOST, 3, st->u.subscribe.node);
		CHECK(!rc, "build_(un)subscribe of node '%s': %d", st->u.subscribe.node, rc);
		rt_begin(RT_SUBSCRIBE, st);
		CHECK(rt_decode(AGENT_OPEN, &b) == 1, "rebuilt subscribe: %u stanzas", rt.stanzas);
		break;
	default:
		break;
	}
	vr_xmpp_buf_free(&b);
}

/* ---- the runs ---- */

#define MAX_MARKS 4096

struct run {
	struct str out;
	unsigned int spaces, keepalives;	/* merged until the next other event */
	unsigned int stanzas, errors;
	unsigned int events;			/* stream open, stanzas, stream close */
	unsigned int stop_at;			/* return 1 at this event (0: never) */
	bool check;				/* run 1: checks and round trips */
	struct vr_xmpp_decoder *self;
	const struct vr_xmpp_limits *lim;
	size_t marks[MAX_MARKS];		/* out.len after each event (run 1) */
};

static int on_event(void *user, const struct vr_xmpp_event *ev);

/* A run starts with no output and no counts. */
static void run_clear(struct run *r)
{
	sclear(&r->out);
	r->spaces = r->keepalives = r->stanzas = r->errors = r->events = r->stop_at = 0;
}

/* A run with a decoder of its own (checks and round trips in run 1 only). */
static struct vr_xmpp_decoder *run_start(struct run *r, bool check, const struct vr_xmpp_limits *lim)
{
	run_clear(r);
	r->check = check;
	r->lim = lim;
	r->self = vr_xmpp_decoder_new(lim, on_event, r);
	CHECK(r->self, "decoder_new failed");
	return r->self;
}

static void flush_keepalive(struct run *r)
{
	if (r->spaces || r->keepalives)
		sadd(&r->out, "keepalive %u %u\n", r->spaces, r->keepalives);
	r->spaces = r->keepalives = 0;
}

static int on_event(void *user, const struct vr_xmpp_event *ev)
{
	struct run *r = user;

	if (r->check) {
		/* The callback may not feed or reset its own decoder. */
		CHECK(vr_xmpp_decoder_feed(r->self, "<", 1) == VR_XMPP_E_STATE, "feed from the callback accepted");
		CHECK(vr_xmpp_decoder_reset(r->self) == VR_XMPP_E_STATE, "reset from the callback accepted");
	}
	if (ev->type == VR_XMPP_EV_KEEPALIVE) {
		CHECK(ev->u.keepalive.spaces || ev->u.keepalive.keepalives, "an empty keepalive event");
		r->spaces += ev->u.keepalive.spaces;
		r->keepalives += ev->u.keepalive.keepalives;
		return 0;
	}
	flush_keepalive(r);
	CHECK(!r->errors, "an event after the error event");
	switch (ev->type) {
	case VR_XMPP_EV_STREAM_OPEN: {
		const struct vr_xmpp_stream_header *h = ev->u.header;

		sadd(&r->out, "open from=%s to=%s id=%s version=%s lang=%s xmlns=%s\n", S(h->from), S(h->to), S(h->id),
		     S(h->version), S(h->lang), S(h->xmlns));
		if (r->check) {
			check_str(h->from, r->lim->max_stanza, "header from");
			check_str(h->to, r->lim->max_stanza, "header to");
			check_str(h->id, r->lim->max_stanza, "header id");
			check_str(h->xmlns, r->lim->max_stanza, "header xmlns");
			roundtrip_header(h);
		}
		break;
	}
	case VR_XMPP_EV_STANZA:
		r->stanzas++;
		dump_stanza(&r->out, ev->u.stanza);
		if (r->check) {
			check_stanza(ev->u.stanza, r->lim);
			roundtrip_stanza(ev->u.stanza);
		}
		break;
	case VR_XMPP_EV_STREAM_CLOSE:
		sadd(&r->out, "close\n");
		break;
	case VR_XMPP_EV_ERROR: {
		const char *d = ev->u.error.detail;

		r->errors++;
		CHECK(ev->u.error.code <= VR_XMPP_E_XML && ev->u.error.code >= VR_XMPP_E_STATE &&
		      ev->u.error.code != VR_XMPP_E_STOPPED && ev->u.error.code != VR_XMPP_E_STATE,
		      "error event with code %d", ev->u.error.code);
		CHECK(d && strlen(d) < 256, "error detail");
		for (; *d; d++)
			CHECK(*d >= 0x20 && *d <= 0x7e, "error detail with byte 0x%02x", (unsigned char)*d);
		sadd(&r->out, "error %d\n", ev->u.error.code);
		return 0;
	}
	default:
		die("unknown event type %d", ev->type);
	}
	/* The stream header, a stanza or the close: where a callback may stop the decoder (vrouter-controller
	 * does at each of them). */
	r->events++;
	if (r->check && r->events <= MAX_MARKS)
		r->marks[r->events - 1] = r->out.len;
	if (r->stop_at && r->events == r->stop_at)
		return 1;
	return 0;
}

static uint32_t rng;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Feeds the stream: whole (chunk_max 0) or in chunks; returns the last code. After an error, feeding on gives
 * the same code and no event. */
static int feed(struct run *r, struct vr_xmpp_decoder *d, const uint8_t *p, size_t len, size_t chunk_max)
{
	size_t off = 0, before;
	const char *detail;
	int rc = 0, again;

	while (off < len) {
		size_t n = len - off;

		if (chunk_max == 1)
			n = 1;
		else if (chunk_max)
			n = 1 + next_rand() % chunk_max;
		if (n > len - off)
			n = len - off;
		rc = vr_xmpp_decoder_feed(d, p + off, n);
		off += n;
		if (rc)
			break;
	}
	CHECK(vr_xmpp_decoder_error(d, &detail) == rc && detail, "decoder_error disagrees with feed (%d)", rc);
	if (rc) {
		CHECK(*detail, "an error without a detail");
		before = r->out.len;
		again = vr_xmpp_decoder_feed(d, "<iq/>", 5);
		CHECK(again == rc && r->out.len == before, "feeding after error %d gave %d", rc, again);
	}
	flush_keepalive(r);
	return rc;
}

/* Length of a run's dump without its last line when that is the error event. */
static size_t before_error(const struct run *r, int rc)
{
	const char *nl;

	if (!rc)
		return r->out.len;
	nl = r->out.len > 1 ? memrchr(r->out.s, '\n', r->out.len - 1) : NULL;
	nl = nl ? nl + 1 : r->out.s;
	CHECK(!strncmp(nl, "error ", 6), "the last event of a failed run is not the error:\n%s", r->out.s);
	return (size_t)(nl - r->out.s);
}

/* The events of two runs over the same bytes are the same, with one allowance for a stream that is malformed:
 * where libxml2's push parser stops to wait for more bytes depends on the split, so a syntax error it has not
 * examined yet may be reported later (after more input, or not within these bytes) and meanwhile the decoder's
 * own checks (a bad UTF-8 byte, an oversized stanza) may end the stream with another code. Then the events
 * before the error are still the same, and no stanza gets through in one run that the other refused. */
static bool same_events(const struct run *a, int rca, const struct run *b, int rcb)
{
	size_t la, lb;

	if (rca == rcb)
		return a->out.len == b->out.len && !memcmp(a->out.s, b->out.s, a->out.len);
	la = before_error(a, rca);
	lb = before_error(b, rcb);
	return la == lb && !memcmp(a->out.s, b->out.s, la);
}

static uint8_t *stream_buf;
static size_t stream_cap;

static bool verbose;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	/* FUZZ_VERBOSE=1 prints the events of each input: what a reproducer decodes to. */
	verbose = getenv("FUZZ_VERBOSE") && *getenv("FUZZ_VERBOSE") == '1';
	vr_xmpp_limits_default(&lim_default);
	stream_cap = 4096;
	stream_buf = malloc(stream_cap);
	if (!stream_buf)
		abort();
	lim_small.max_stanza = 512;
	lim_small.max_depth = 6;
	lim_small.max_items = 8;
	lim_small.max_elements = 64;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run r1, r2;
	const struct vr_xmpp_limits *lim;
	struct vr_xmpp_decoder *d1, *d2;
	const char *prefix = "";
	size_t len, plen, chunk_max;
	uint32_t h = 2166136261u;
	unsigned int k, i;
	uint8_t mode;
	int rc1, rc2, rc3;

	if (!size)
		return 0;
	mode = data[0];
	if ((mode & 3) == 1)
		prefix = AGENT_OPEN;
	else if ((mode & 3) == 2)
		prefix = CTRL_OPEN;
	lim = mode & 4 ? &lim_small : &lim_default;
	k = mode >> 3;
	chunk_max = k ? 4 * k * k + 1 : 1;

	plen = strlen(prefix);
	len = plen + size - 1;
	if (len > stream_cap) {
		stream_cap = len;
		stream_buf = realloc(stream_buf, stream_cap);
		if (!stream_buf)
			abort();
	}
	memcpy(stream_buf, prefix, plen);
	memcpy(stream_buf + plen, data + 1, size - 1);
	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	rng = h | 1;

	/* 1: whole, checked. */
	d1 = run_start(&r1, true, lim);
	rc1 = feed(&r1, d1, stream_buf, len, 0);
	CHECK(rc1 != VR_XMPP_E_STATE && rc1 != VR_XMPP_E_STOPPED, "run 1 ended with %d", rc1);
	CHECK(!rc1 == !r1.errors, "run 1: code %d and %u error events", rc1, r1.errors);
	if (verbose)
		fprintf(stderr, "--- events (code %d):\n%s", rc1, r1.out.s ? r1.out.s : "");
	vr_xmpp_decoder_free(d1);

	/* 2: in chunks: the same events. */
	d2 = run_start(&r2, false, lim);
	rc2 = feed(&r2, d2, stream_buf, len, chunk_max);
	if (!same_events(&r1, rc1, &r2, rc2))
		die("chunks of at most %zu bytes: code %d, whole: %d\n--- in chunks:\n%.*s--- whole:\n%.*s", chunk_max,
		    rc2, rc1, (int)(r2.out.len < 4000 ? r2.out.len : 4000), r2.out.s,
		    (int)(r1.out.len < 4000 ? r1.out.len : 4000), r1.out.s);

	/* 3: the same decoder after a reset, stopped by the callback at one stanza. */
	CHECK(!vr_xmpp_decoder_reset(d2), "reset failed");
	CHECK(!vr_xmpp_decoder_error(d2, NULL), "an error left after reset");
	run_clear(&r2);
	r2.stop_at = r1.events ? 1 + h % (r1.events < MAX_MARKS ? r1.events : MAX_MARKS) : 0;
	rc3 = feed(&r2, d2, stream_buf, len, 0);
	if (r2.stop_at) {
		size_t want = r1.marks[r2.stop_at - 1];

		CHECK(rc3 == VR_XMPP_E_STOPPED, "stopped at event %u: code %d", r2.stop_at, rc3);
		CHECK(r2.out.len == want && !memcmp(r2.out.s, r1.out.s, want),
		      "stopped at event %u: events differ\n--- got:\n%s--- first run:\n%s", r2.stop_at, r2.out.s, r1.out.s);
	} else {
		CHECK(rc3 == rc1 && r2.out.len == r1.out.len && !memcmp(r2.out.s, r1.out.s, r1.out.len),
		      "after reset: code %d vs %d", rc3, rc1);
	}
	vr_xmpp_decoder_free(d2);
	/* Every input frees what it allocated, so that libFuzzer's leak check after each input stays on: the
	 * round-trip decoder goes, and so does libxml2's copy of the last error, a global. */
	vr_xmpp_decoder_free(rt_dec);
	rt_dec = NULL;
	xmlResetLastError();
	return 0;
}
