/* Tests of the XMPP codec (agent/xmpp.h): the builders against the exact text of TF-XMPP.md, the decoder
 * against hand-written stanzas shaped as TF-XMPP.md and the Tungsten Fabric sources write them (agent
 * controller_peer.cc, control node xmpp_message_builder.cc and bgp_xmpp_channel.cc), encode -> decode round
 * trips, the same streams fed split at every byte offset, one byte at a time and in random chunks (the
 * decoded events must not change), and hostile input: an XML bomb, DOCTYPEs, entities, 10 MB stanzas with a
 * bound on the memory used meanwhile, garbage, invalid UTF-8, unbalanced tags, depth and item floods.
 * Needs no privileges. Prints `ok NAME` or `FAIL NAME: why` per test and `N passed, N failed` last. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "xmpp.h"

static int passed, failed;

static void ok(const char *name)
{
	printf("ok %s\n", name);
	passed++;
}

static void fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failed++;
}

/* ---- a growable string for dumps ---- */

struct str {
	char *s;
	size_t len, cap;
};

static void sadd(struct str *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sadd(struct str *x, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(x->s ? x->s + x->len : NULL, x->s ? x->cap - x->len : 0, fmt, ap);
		va_end(ap);
		if (x->s && (size_t)n < x->cap - x->len) {
			x->len += n;
			return;
		}
		x->cap = (x->cap + n + 1) * 2;
		x->s = realloc(x->s, x->cap);
		if (!x->s)
			abort();
		if (!x->len)
			x->s[0] = '\0';
	}
}

static void sfree(struct str *x)
{
	free(x->s);
	memset(x, 0, sizeof(*x));
}

static const char *S(const char *s)
{
	return s ? s : "-";
}

/* ---- canonical text of decoded events ---- */

static void dump_prefix(struct str *o, const struct vr_xmpp_prefix *p)
{
	char t[VR_XMPP_PREFIX_STRLEN];

	if (vr_xmpp_prefix_format(p, t, sizeof(t)))
		snprintf(t, sizeof(t), "?");
	sadd(o, "%s", t);
}

static void dump_addr(struct str *o, const struct vr_xmpp_addr *a)
{
	char t[INET6_ADDRSTRLEN] = "?";

	if (a->afi == 1)
		inet_ntop(AF_INET, &a->ip.v4, t, sizeof(t));
	else if (a->afi == 2)
		inet_ntop(AF_INET6, a->ip.v6, t, sizeof(t));
	sadd(o, "%u:%s", a->afi, t);
}

static void dump_entry(struct str *o, const struct vr_xmpp_entry *e)
{
	unsigned int i;

	sadd(o, "  entry ");
	dump_prefix(o, &e->nlri);
	sadd(o, " safi=%u have=%#x ver=%u seq=%u lp=%u med=%u vn=%s sub=%s", e->safi, e->have, e->version,
	     e->sequence_number, e->local_pref, e->med, S(e->virtual_network), S(e->sub_protocol));
	if (e->has_mobility)
		sadd(o, " mobility=%u/%d", e->mobility_seqno, e->mobility_sticky);
	sadd(o, " sgs=[");
	for (i = 0; i < e->n_sgs; i++)
		sadd(o, "%s%u", i ? "," : "", e->sgs[i]);
	sadd(o, "] nexthops=%u\n", e->n_nexthops);
	for (i = 0; i < e->n_nexthops; i++) {
		const struct vr_xmpp_nexthop *nh = &e->nexthops[i];

		sadd(o, "   nh ");
		dump_addr(o, &nh->addr);
		if (nh->has_mac)
			sadd(o, " mac=%02x:%02x:%02x:%02x:%02x:%02x", nh->mac[0], nh->mac[1], nh->mac[2], nh->mac[3],
			     nh->mac[4], nh->mac[5]);
		sadd(o, " label=%u encaps=%#x vn=%s\n", nh->label, nh->encaps, S(nh->virtual_network));
	}
}

static void dump_node(struct str *o, const struct vr_xmpp_route_node *n, bool prefix)
{
	sadd(o, " node=%s afi=%u safi=%u vrf=%s decoded=%d", S(n->text), n->afi, n->safi, S(n->vrf), n->decoded);
	if (prefix && n->decoded) {
		sadd(o, " prefix=");
		dump_prefix(o, &n->prefix);
	}
	if (n->has_instance)
		sadd(o, " instance=%u", n->instance);
}

static const char *kind_name(enum vr_xmpp_stanza_kind k)
{
	static const char *names[] = { "other", "subscribe", "unsubscribe", "publish", "associate", "dissociate",
				       "result", "iq-error", "items", "stream-error" };

	return (unsigned int)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

static void dump_stanza(struct str *o, const struct vr_xmpp_stanza *st)
{
	unsigned int i;

	sadd(o, "stanza %s <%s> type=%s id=%s from=%s to=%s action=%s\n", kind_name(st->kind), st->name, S(st->type),
	     S(st->id), S(st->from), S(st->to), S(st->action));
	switch (st->kind) {
	case VR_XMPP_ST_SUBSCRIBE:
	case VR_XMPP_ST_UNSUBSCRIBE:
		sadd(o, " vrf=%s", st->u.subscribe.node);
		if (st->u.subscribe.has_instance_id)
			sadd(o, " instance-id=%u", st->u.subscribe.instance_id);
		sadd(o, "\n");
		break;
	case VR_XMPP_ST_PUBLISH:
		dump_node(o, &st->u.publish.node, true);
		sadd(o, " item=%d\n", st->u.publish.has_item);
		if (st->u.publish.has_entry)
			dump_entry(o, &st->u.publish.entry);
		break;
	case VR_XMPP_ST_ASSOCIATE:
	case VR_XMPP_ST_DISSOCIATE:
		sadd(o, " collection=%s", st->u.collection.node);
		dump_node(o, &st->u.collection.item, true);
		sadd(o, "\n");
		break;
	case VR_XMPP_ST_ITEMS:
		dump_node(o, &st->u.items.node, false);
		sadd(o, " eor=%d items=%u retracts=%u\n", st->u.items.end_of_rib, st->u.items.n_items,
		     st->u.items.n_retracts);
		if (st->u.items.items)
			for (i = 0; i < st->u.items.n_items; i++)
				dump_entry(o, &st->u.items.items[i]);
		if (st->u.items.retracts)
			for (i = 0; i < st->u.items.n_retracts; i++) {
				sadd(o, "  retract ");
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

/* Records events as text. Keepalive events are merged until the next other event, so the text does not
 * depend on how the input was split. */
struct rec {
	struct str out;
	unsigned int spaces, keepalives;
	unsigned int stanzas, opens, closes, errors;
	int stop_at;			/* stop (return 1) at this stanza, 0: never */
	struct vr_xmpp_decoder *self;	/* to try feeding from inside the callback */
	int nested_rc;
	void (*hook)(struct rec *r, const struct vr_xmpp_event *ev);
	void *arg;
};

static void rec_flush(struct rec *r)
{
	if (r->spaces || r->keepalives)
		sadd(&r->out, "keepalive spaces=%u keepalives=%u\n", r->spaces, r->keepalives);
	r->spaces = r->keepalives = 0;
}

static int rec_cb(void *user, const struct vr_xmpp_event *ev)
{
	struct rec *r = user;
	const struct vr_xmpp_stream_header *h;

	if (r->hook)
		r->hook(r, ev);
	if (ev->type == VR_XMPP_EV_KEEPALIVE) {
		if (!ev->u.keepalive.spaces && !ev->u.keepalive.keepalives)
			sadd(&r->out, "empty keepalive event\n");
		r->spaces += ev->u.keepalive.spaces;
		r->keepalives += ev->u.keepalive.keepalives;
		return 0;
	}
	rec_flush(r);
	switch (ev->type) {
	case VR_XMPP_EV_STREAM_OPEN:
		h = ev->u.header;
		r->opens++;
		sadd(&r->out, "open from=%s to=%s id=%s version=%s lang=%s xmlns=%s\n", S(h->from), S(h->to), S(h->id),
		     S(h->version), S(h->lang), h->xmlns ? (*h->xmlns ? h->xmlns : "\"\"") : "-");
		break;
	case VR_XMPP_EV_STANZA:
		r->stanzas++;
		dump_stanza(&r->out, ev->u.stanza);
		if (r->self)
			r->nested_rc = vr_xmpp_decoder_feed(r->self, "x", 1);
		if (r->stop_at && (int)r->stanzas == r->stop_at)
			return 1;
		break;
	case VR_XMPP_EV_STREAM_CLOSE:
		r->closes++;
		sadd(&r->out, "close\n");
		break;
	case VR_XMPP_EV_ERROR:
		r->errors++;
		sadd(&r->out, "error %d\n", ev->u.error.code);
		break;
	default:
		sadd(&r->out, "unknown event %d\n", ev->type);
	}
	return 0;
}

/* Feeds text in pieces: first `first` bytes (0: none), then chunks of `chunk` bytes (0: all the rest), or
 * random chunk sizes up to `chunk` when rnd is set. Returns the last feed's code; out gets the events. */
struct feed_opts {
	size_t first, chunk;
	unsigned int rnd;
	const struct vr_xmpp_limits *lim;
};

static int decode(const void *text, size_t len, const struct feed_opts *fo, struct str *out, struct rec *rp)
{
	struct rec local = { 0 }, *r = rp ? rp : &local;
	struct vr_xmpp_decoder *d = vr_xmpp_decoder_new(fo ? fo->lim : NULL, rec_cb, r);
	const unsigned char *p = text;
	size_t off = 0;
	unsigned int seed = fo ? fo->rnd : 0;
	int rc = 0;

	if (!d) {
		fprintf(stderr, "decoder_new failed\n");
		exit(1);
	}
	while (off < len) {
		size_t n = len - off;

		if (fo && off == 0 && fo->first)
			n = fo->first < len ? fo->first : len;
		else if (fo && fo->rnd)
			n = 1 + rand_r(&seed) % (fo->chunk ? fo->chunk : 64);
		else if (fo && fo->chunk)
			n = fo->chunk;
		if (n > len - off)
			n = len - off;
		rc = vr_xmpp_decoder_feed(d, p + off, n);
		off += n;
		if (rc)
			break;
	}
	if (rc) {
		/* Feeding on after an error gives the same error and no more events. */
		int again = vr_xmpp_decoder_feed(d, "<iq/>", 5);

		if (again != rc)
			sadd(&r->out, "feed after error gave %d\n", again);
	}
	rec_flush(r);
	vr_xmpp_decoder_free(d);
	if (out) {
		*out = r->out;
		memset(&r->out, 0, sizeof(r->out));
	}
	if (!rp)
		sfree(&local.out);
	return rc;
}

/* ---- stream fixtures ---- */

#define HOST "host-a"
#define VN1 "default-domain:admin:vn1:vn1"
#define CTRL "network-control@contrailsystems.com"
#define STREAM_NS "xmlns:stream=\"http://etherx.jabber.org/streams\""
#define PUBSUB_NS "xmlns=\"http://jabber.org/protocol/pubsub\""

/* What the agent sends first (TF-XMPP.md) and what the control node answers. */
#define AGENT_OPEN "<stream:stream from=\"" HOST "\" to=\"" CTRL "\" version=\"1.0\" xml:lang=\"en\" xmlns=\"\" " \
	STREAM_NS ">"
#define CTRL_OPEN "<stream:stream from=\"" CTRL "\" to=\"" HOST "\" id=\"s1\" version=\"1.0\" xml:lang=\"en\" " \
	"xmlns=\"\" " STREAM_NS ">"

/* TF-XMPP.md, "Subscribe to a VRF", verbatim. */
static const char tf_subscribe[] =
	"<iq type=\"set\" from=\"HOST\" to=\"network-control@contrailsystems.com/bgp-peer\" id=\"subscribe3\">\n"
	" <pubsub xmlns=\"http://jabber.org/protocol/pubsub\">\n"
	"  <subscribe node=\"default-domain:admin:vn1:vn1\"><options><instance-id>3</instance-id></options></subscribe>\n"
	" </pubsub></iq>";

/* A control-node message laid out the way xmpp_message_builder.cc prints it (tabs, pugixml indentation,
 * retracts with " />"), with the fields it fills in: entry virtual-network, mobility, a tag-list and a
 * community-tag-list we do not decode, an encapsulation we do not know. */
static const char tf_message[] =
	"\n<message from=\"network-control@contrailsystems.com\" to=\"" HOST "/bgp-peer\">"
	"\n\t<event xmlns=\"http://jabber.org/protocol/pubsub\">"
	"\n\t\t<items node=\"1/1/" VN1 "\">\n"
	"\t\t\t<item id=\"10.1.1.3/32\">\n"
	"\t\t\t\t<entry>\n"
	"\t\t\t\t\t<nlri>\n\t\t\t\t\t\t<af>1</af>\n\t\t\t\t\t\t<safi>1</safi>\n"
	"\t\t\t\t\t\t<address>10.1.1.3/32</address>\n\t\t\t\t\t</nlri>\n"
	"\t\t\t\t\t<next-hops>\n\t\t\t\t\t\t<next-hop>\n"
	"\t\t\t\t\t\t\t<af>1</af>\n\t\t\t\t\t\t\t<address>192.0.2.2</address>\n"
	"\t\t\t\t\t\t\t<label>17</label>\n"
	"\t\t\t\t\t\t\t<tunnel-encapsulation-list>\n"
	"\t\t\t\t\t\t\t\t<tunnel-encapsulation>gre</tunnel-encapsulation>\n"
	"\t\t\t\t\t\t\t\t<tunnel-encapsulation>udp</tunnel-encapsulation>\n"
	"\t\t\t\t\t\t\t\t<tunnel-encapsulation>native</tunnel-encapsulation>\n"
	"\t\t\t\t\t\t\t</tunnel-encapsulation-list>\n"
	"\t\t\t\t\t\t\t<virtual-network>default-domain:admin:vn1</virtual-network>\n"
	"\t\t\t\t\t\t\t<tag-list />\n"
	"\t\t\t\t\t\t</next-hop>\n\t\t\t\t\t</next-hops>\n"
	"\t\t\t\t\t<version>1</version>\n"
	"\t\t\t\t\t<virtual-network>default-domain:admin:vn1</virtual-network>\n"
	"\t\t\t\t\t<mobility seqno=\"0\" sticky=\"false\" />\n"
	"\t\t\t\t\t<sequence-number>0</sequence-number>\n"
	"\t\t\t\t\t<security-group-list>\n\t\t\t\t\t\t<security-group>8000001</security-group>\n"
	"\t\t\t\t\t</security-group-list>\n"
	"\t\t\t\t\t<community-tag-list />\n"
	"\t\t\t\t\t<local-preference>100</local-preference>\n"
	"\t\t\t\t\t<med>0</med>\n"
	"\t\t\t\t</entry>\n"
	"\t\t\t</item>\n"
	"\t\t\t<retract id=\"10.1.1.4/32\" />\n"
	"\t\t</items>\n\t</event>\n</message>\n";

static const char tf_message_dump[] =
	"keepalive spaces=1 keepalives=0\n"
	"stanza items <message> type=- id=- from=network-control@contrailsystems.com to=" HOST "/bgp-peer "
	"action=event\n"
	" node=1/1/" VN1 " afi=1 safi=1 vrf=" VN1 " decoded=1 eor=0 items=1 retracts=1\n"
	"  entry 10.1.1.3/32 safi=1 have=0x3f ver=1 seq=0 lp=100 med=0 vn=default-domain:admin:vn1 sub=- "
	"mobility=0/0 sgs=[8000001] nexthops=1\n"
	"   nh 1:192.0.2.2 label=17 encaps=0xb vn=default-domain:admin:vn1\n"
	"  retract 10.1.1.4/32\n"
	"keepalive spaces=1 keepalives=0\n";

/* bgp_xmpp_channel.cc SendEndOfRIB(), byte for byte. */
static const char tf_eor[] =
	"\n<message from=\"network-control@contrailsystems.com\" to=\"" HOST "/bgp-peer\">"
	"\n\t<event xmlns=\"http://jabber.org/protocol/pubsub\">"
	"\n<items node=\"0/0/EndOfRib\"></items>"
	"\n\t</event>\n</message>\n";

static const char tf_eor_dump[] =
	"keepalive spaces=1 keepalives=0\n"
	"stanza items <message> type=- id=- from=network-control@contrailsystems.com to=" HOST "/bgp-peer "
	"action=event\n node=0/0/EndOfRib afi=0 safi=0 vrf=EndOfRib decoded=0 eor=1 items=0 retracts=0\n"
	"keepalive spaces=1 keepalives=0\n";

/* The agent's publish + collection pair as controller_peer.cc prints it (pugixml, one element a line). */
static const char tf_publish[] =
	"<iq type=\"set\" from=\"" HOST "\" to=\"network-control@contrailsystems.com/bgp-peer\" id=\"pubsub7\">\n"
	"<pubsub xmlns=\"http://jabber.org/protocol/pubsub\">\n"
	"<publish node=\"1/1/" VN1 "/10.1.1.3/32\">\n<item>\n<entry>\n"
	"<nlri>\n<af>1</af>\n<safi>1</safi>\n<address>10.1.1.3/32</address>\n</nlri>\n"
	"<next-hops>\n<next-hop>\n<af>1</af>\n<address>192.0.2.1</address>\n<mac>00:00:5e:00:01:00</mac>\n"
	"<label>16</label>\n<tunnel-encapsulation-list>\n<tunnel-encapsulation>gre</tunnel-encapsulation>\n"
	"<tunnel-encapsulation>udp</tunnel-encapsulation>\n</tunnel-encapsulation-list>\n"
	"<virtual-network>default-domain:admin:vn1</virtual-network>\n</next-hop>\n</next-hops>\n"
	"<version>1</version>\n<sequence-number>0</sequence-number>\n<security-group-list />\n"
	"<local-preference>200</local-preference>\n<med>0</med>\n<sub-protocol>interface</sub-protocol>\n"
	"</entry>\n</item>\n</publish>\n</pubsub>\n</iq>\n"
	"<iq type=\"set\" from=\"" HOST "\" to=\"network-control@contrailsystems.com/bgp-peer\" id=\"collection7\">\n"
	"<pubsub xmlns=\"http://jabber.org/protocol/pubsub\">\n"
	"<collection node=\"" VN1 "\">\n<associate node=\"1/1/" VN1 "/10.1.1.3/32\" />\n</collection>\n"
	"</pubsub>\n</iq>\n";

static const char tf_publish_dump[] =
	"stanza publish <iq> type=set id=pubsub7 from=" HOST " to=network-control@contrailsystems.com/bgp-peer "
	"action=publish\n"
	" node=1/1/" VN1 "/10.1.1.3/32 afi=1 safi=1 vrf=" VN1 " decoded=1 prefix=10.1.1.3/32 item=1\n"
	"  entry 10.1.1.3/32 safi=1 have=0x3f ver=1 seq=0 lp=200 med=0 vn=- sub=interface sgs=[] nexthops=1\n"
	"   nh 1:192.0.2.1 mac=00:00:5e:00:01:00 label=16 encaps=0x3 vn=default-domain:admin:vn1\n"
	"keepalive spaces=1 keepalives=0\n"
	"stanza associate <iq> type=set id=collection7 from=" HOST " to=network-control@contrailsystems.com/bgp-peer "
	"action=collection\n"
	" collection=" VN1 " node=1/1/" VN1 "/10.1.1.3/32 afi=1 safi=1 vrf=" VN1 " decoded=1 prefix=10.1.1.3/32\n"
	"keepalive spaces=1 keepalives=0\n";

/* ---- test helpers ---- */

static bool expect_dump(const char *name, const char *text, size_t len, const char *want, int want_rc)
{
	struct str got;
	int rc = decode(text, len, NULL, &got, NULL);
	bool good = rc == want_rc && got.s && !strcmp(got.s, want);

	if (!good)
		fail(name, "rc %d (want %d)\n--- got:\n%s--- want:\n%s", rc, want_rc, S(got.s), want);
	sfree(&got);
	return good;
}

/* Decodes AGENT_OPEN/CTRL_OPEN + body + close and compares the events between open and close with want. */
static void t_fixture(const char *name, const char *open, const char *body, const char *want)
{
	struct str text = { 0 }, w = { 0 };
	const char *hdr = strstr(open, "id=") ? "open from=" CTRL " to=" HOST " id=s1 version=1.0 lang=en xmlns=\"\"\n"
					       : "open from=" HOST " to=" CTRL " id=- version=1.0 lang=en xmlns=\"\"\n";

	sadd(&text, "%s%s</stream:stream>", open, body);
	sadd(&w, "%s%sclose\n", hdr, want);
	if (expect_dump(name, text.s, text.len, w.s, 0))
		ok(name);
	sfree(&text);
	sfree(&w);
}

/* Feeds text whole, one byte at a time, split at every offset and in random chunks: the events must be the
 * same every time. */
static void t_splits(const char *name, const char *text, size_t len, const struct vr_xmpp_limits *lim)
{
	struct feed_opts fo = { .lim = lim };
	struct str whole, got;
	int rc0, rc;
	size_t i;
	unsigned int s;

	rc0 = decode(text, len, &fo, &whole, NULL);
	fo.chunk = 1;
	rc = decode(text, len, &fo, &got, NULL);
	if (rc != rc0 || strcmp(S(got.s), S(whole.s))) {
		fail(name, "one byte at a time: rc %d vs %d\n--- got:\n%s--- whole:\n%s", rc, rc0, S(got.s),
		     S(whole.s));
		goto out;
	}
	sfree(&got);
	fo.chunk = 0;
	for (i = 1; i < len; i++) {
		fo.first = i;
		rc = decode(text, len, &fo, &got, NULL);
		if (rc != rc0 || strcmp(S(got.s), S(whole.s))) {
			fail(name, "split at %zu: rc %d vs %d\n--- got:\n%s--- whole:\n%s", i, rc, rc0, S(got.s),
			     S(whole.s));
			goto out;
		}
		sfree(&got);
	}
	fo.first = 0;
	for (s = 1; s <= 20; s++) {
		fo.rnd = s;
		fo.chunk = s < 10 ? 16 : 9000;
		rc = decode(text, len, &fo, &got, NULL);
		if (rc != rc0 || strcmp(S(got.s), S(whole.s))) {
			fail(name, "random chunks (seed %u): rc %d vs %d", s, rc, rc0);
			goto out;
		}
		sfree(&got);
	}
	ok(name);
out:
	sfree(&got);
	sfree(&whole);
}

static int expect_error(const char *name, const void *text, size_t len, const struct vr_xmpp_limits *lim,
			int want)
{
	struct feed_opts fo = { .lim = lim };
	struct str got;
	int rc = decode(text, len, &fo, &got, NULL);

	if (rc != want) {
		fail(name, "rc %d (%s), want %d (%s)\n%s", rc, vr_xmpp_strerror(rc), want, vr_xmpp_strerror(want),
		     S(got.s));
		sfree(&got);
		return -1;
	}
	if (!got.s || !strstr(got.s, "error ")) {
		fail(name, "no error event");
		sfree(&got);
		return -1;
	}
	sfree(&got);
	/* The same verdict one byte at a time. */
	fo.chunk = 1;
	rc = decode(text, len, &fo, NULL, NULL);
	if (rc != want) {
		fail(name, "one byte at a time: rc %d (%s), want %d", rc, vr_xmpp_strerror(rc), want);
		return -1;
	}
	return 0;
}

/* AGENT_OPEN + body (len bytes of it), no close. */
static void t_bad_n(const char *name, const char *body, size_t len, int want)
{
	size_t hl = strlen(AGENT_OPEN);
	char *text = malloc(hl + len);

	memcpy(text, AGENT_OPEN, hl);
	memcpy(text + hl, body, len);
	if (!expect_error(name, text, hl + len, NULL, want))
		ok(name);
	free(text);
}

static void t_bad(const char *name, const char *body, int want)
{
	t_bad_n(name, body, strlen(body), want);
}

/* ---- builders: exact text ---- */

static struct vr_xmpp_nexthop nh_a = {
	.addr = { .afi = 1 },
	.has_mac = true,
	.mac = { 0x00, 0x00, 0x5e, 0x00, 0x01, 0x00 },
	.label = 16,
	.encaps = VR_XMPP_ENCAP_GRE | VR_XMPP_ENCAP_UDP,
	.virtual_network = "default-domain:admin:vn1",
};

static void init_entry(struct vr_xmpp_entry *e, struct vr_xmpp_nexthop *nh, const char *prefix)
{
	memset(e, 0, sizeof(*e));
	if (vr_xmpp_prefix_parse(1, prefix, &e->nlri))
		abort();
	e->safi = 1;
	e->n_nexthops = 1;
	e->nexthops = nh;
	e->version = 1;
	e->local_pref = 100;
	e->sub_protocol = "interface";
}

static void init_nh(struct vr_xmpp_nexthop *nh)
{
	*nh = nh_a;
	inet_pton(AF_INET, "192.0.2.1", &nh->addr.ip.v4);
}

static bool expect_text(const char *name, const struct vr_xmpp_buf *b, const char *want)
{
	if (b->len != strlen(want) || memcmp(b->data, want, b->len)) {
		fail(name, "\n--- got:\n%.*s\n--- want:\n%s", (int)b->len, b->data ? b->data : "", want);
		return false;
	}
	return true;
}

static void t_build_exact(void)
{
	struct vr_xmpp_buf b;
	struct vr_xmpp_nexthop nh;
	struct vr_xmpp_entry e;
	struct vr_xmpp_prefix p;
	int rc;

	vr_xmpp_buf_init(&b, 0);
	if (!vr_xmpp_build_stream_open(&b, "HOST", NULL) &&
	    expect_text("build: agent stream open", &b,
			"<stream:stream from=\"HOST\" to=\"network-control@contrailsystems.com\" version=\"1.0\" "
			"xml:lang=\"en\" xmlns=\"\" xmlns:stream=\"http://etherx.jabber.org/streams\">"))
		ok("build: agent stream open");
	b.len = 0;
	if (!vr_xmpp_build_stream_answer(&b, "HOST", "42", NULL) &&
	    expect_text("build: controller stream answer", &b,
			"<stream:stream from=\"network-control@contrailsystems.com\" to=\"HOST\" id=\"42\" "
			"version=\"1.0\" xml:lang=\"en\" xmlns=\"\" xmlns:stream=\"http://etherx.jabber.org/streams\">"))
		ok("build: controller stream answer");
	b.len = 0;
	if (!vr_xmpp_build_stream_open(&b, "h", "sc1") && strstr(b.data, " xmlns=\"sc1\" "))
		ok("build: stream open with a sub-cluster xmlns");
	else
		fail("build: stream open with a sub-cluster xmlns", "%s", b.data);
	b.len = 0;
	if (!vr_xmpp_build_subscribe(&b, "HOST", 3, VN1, 3) &&
	    expect_text("build: subscribe is TF-XMPP.md's text", &b, tf_subscribe))
		ok("build: subscribe is TF-XMPP.md's text");
	b.len = 0;
	if (!vr_xmpp_build_unsubscribe(&b, "HOST", 4, VN1) &&
	    expect_text("build: unsubscribe", &b,
			"<iq type=\"set\" from=\"HOST\" to=\"network-control@contrailsystems.com/bgp-peer\" "
			"id=\"subscribe4\">\n <pubsub xmlns=\"http://jabber.org/protocol/pubsub\">\n"
			"  <unsubscribe node=\"" VN1 "\"/>\n </pubsub></iq>"))
		ok("build: unsubscribe");

	init_nh(&nh);
	init_entry(&e, &nh, "10.1.1.3/32");
	e.local_pref = 200;
	b.len = 0;
	if (!vr_xmpp_build_publish(&b, "HOST", 5, VN1, &e) &&
	    expect_text("build: publish + associate pair", &b,
			"<iq type=\"set\" from=\"HOST\" to=\"network-control@contrailsystems.com/bgp-peer\" "
			"id=\"pubsub5\">\n <pubsub xmlns=\"http://jabber.org/protocol/pubsub\">\n"
			"  <publish node=\"1/1/" VN1 "/10.1.1.3/32\"><item><entry>"
			"<nlri><af>1</af><safi>1</safi><address>10.1.1.3/32</address></nlri>"
			"<next-hops><next-hop><af>1</af><address>192.0.2.1</address><mac>00:00:5e:00:01:00</mac>"
			"<label>16</label><tunnel-encapsulation-list><tunnel-encapsulation>gre</tunnel-encapsulation>"
			"<tunnel-encapsulation>udp</tunnel-encapsulation></tunnel-encapsulation-list>"
			"<virtual-network>default-domain:admin:vn1</virtual-network></next-hop></next-hops>"
			"<version>1</version><sequence-number>0</sequence-number><security-group-list/>"
			"<local-preference>200</local-preference><med>0</med><sub-protocol>interface</sub-protocol>"
			"</entry></item></publish>\n </pubsub></iq>"
			"<iq type=\"set\" from=\"HOST\" to=\"network-control@contrailsystems.com/bgp-peer\" "
			"id=\"collection5\">\n <pubsub xmlns=\"http://jabber.org/protocol/pubsub\">\n"
			"  <collection node=\"" VN1 "\"><associate node=\"1/1/" VN1 "/10.1.1.3/32\"/></collection>\n"
			" </pubsub></iq>"))
		ok("build: publish + associate pair");
	b.len = 0;
	vr_xmpp_prefix_parse(1, "10.1.1.3/32", &p);
	if (!vr_xmpp_build_withdraw(&b, "HOST", 6, VN1, 1, &p) &&
	    expect_text("build: withdraw pair (nlri only + dissociate)", &b,
			"<iq type=\"set\" from=\"HOST\" to=\"network-control@contrailsystems.com/bgp-peer\" "
			"id=\"pubsub6\">\n <pubsub xmlns=\"http://jabber.org/protocol/pubsub\">\n"
			"  <publish node=\"1/1/" VN1 "/10.1.1.3/32\"><item><entry>"
			"<nlri><af>1</af><safi>1</safi><address>10.1.1.3/32</address></nlri>"
			"</entry></item></publish>\n </pubsub></iq>"
			"<iq type=\"set\" from=\"HOST\" to=\"network-control@contrailsystems.com/bgp-peer\" "
			"id=\"collection6\">\n <pubsub xmlns=\"http://jabber.org/protocol/pubsub\">\n"
			"  <collection node=\"" VN1 "\"><dissociate node=\"1/1/" VN1 "/10.1.1.3/32\"/></collection>\n"
			" </pubsub></iq>"))
		ok("build: withdraw pair (nlri only + dissociate)");

	/* The controller's messages, shaped as TF-XMPP.md shows them. */
	init_nh(&nh);
	inet_pton(AF_INET, "192.0.2.2", &nh.addr.ip.v4);
	nh.has_mac = false;
	nh.label = 17;
	nh.encaps = 0;
	init_entry(&e, &nh, "10.1.1.3/32");
	e.sub_protocol = NULL;
	e.virtual_network = "default-domain:admin:vn1";
	e.has_mobility = true;
	b.len = 0;
	rc = vr_xmpp_build_items(&b, "HOST", 1, 1, "VRF", &e, 1);
	if (rc == 1 &&
	    expect_text("build: controller message with an item", &b,
			"<message from=\"network-control@contrailsystems.com\" to=\"HOST/bgp-peer\">\n"
			" <event xmlns=\"http://jabber.org/protocol/pubsub\">\n"
			"  <items node=\"1/1/VRF\">\n"
			"   <item id=\"10.1.1.3/32\"><entry>"
			"<nlri><af>1</af><safi>1</safi><address>10.1.1.3/32</address></nlri>"
			"<next-hops><next-hop><af>1</af><address>192.0.2.2</address><label>17</label>"
			"<virtual-network>default-domain:admin:vn1</virtual-network></next-hop>"
			"</next-hops><version>1</version><virtual-network>default-domain:admin:vn1</virtual-network>"
			"<mobility seqno=\"0\" sticky=\"false\"/><sequence-number>0</sequence-number>"
			"<security-group-list/><local-preference>100</local-preference><med>0</med></entry></item>\n"
			"  </items></event></message>"))
		ok("build: controller message with an item");
	else if (rc != 1)
		fail("build: controller message with an item", "rc %d", rc);
	b.len = 0;
	vr_xmpp_prefix_parse(1, "10.1.1.4/32", &p);
	rc = vr_xmpp_build_retracts(&b, "HOST", 1, 1, "VRF", &p, 1);
	if (rc == 1 &&
	    expect_text("build: controller message with a retract", &b,
			"<message from=\"network-control@contrailsystems.com\" to=\"HOST/bgp-peer\">\n"
			" <event xmlns=\"http://jabber.org/protocol/pubsub\">\n"
			"  <items node=\"1/1/VRF\">\n"
			"   <retract id=\"10.1.1.4/32\"/>\n"
			"  </items></event></message>"))
		ok("build: controller message with a retract");
	else if (rc != 1)
		fail("build: controller message with a retract", "rc %d", rc);
	b.len = 0;
	if (!vr_xmpp_build_end_of_rib(&b, "HOST") &&
	    expect_text("build: EndOfRib", &b,
			"<message from=\"network-control@contrailsystems.com\" to=\"HOST/bgp-peer\">\n"
			" <event xmlns=\"http://jabber.org/protocol/pubsub\">\n"
			"  <items node=\"0/0/EndOfRib\"></items></event></message>"))
		ok("build: EndOfRib");
	b.len = 0;
	if (!vr_xmpp_build_keepalive(&b) && expect_text("build: keepalive is U+0200", &b, "\xc8\x80"))
		ok("build: keepalive is U+0200");
	b.len = 0;
	if (!vr_xmpp_build_stream_close(&b) && expect_text("build: stream close", &b, "</stream:stream>"))
		ok("build: stream close");
	vr_xmpp_buf_free(&b);
}

static void t_build_errors(void)
{
	struct vr_xmpp_buf b;
	struct vr_xmpp_nexthop nh;
	struct vr_xmpp_entry e;
	struct vr_xmpp_prefix p;
	const char *name;
	int rc;

	vr_xmpp_buf_init(&b, 0);
	vr_xmpp_build_keepalive(&b);	/* something already there must survive every failure */

	name = "build: escaping of attribute and text values";
	init_nh(&nh);
	nh.virtual_network = "a<b>&c\"d'e";
	init_entry(&e, &nh, "10.0.0.0/8");
	b.len = 2;
	if (vr_xmpp_build_publish(&b, "h&<\"'>\t\n\r", 1, "v<&>", &e))
		fail(name, "refused");
	else if (!strstr(b.data, "from=\"h&amp;&lt;&quot;&apos;&gt;&#9;&#10;&#13;\"") ||
		 !strstr(b.data, "<virtual-network>a&lt;b&gt;&amp;c\"d'e</virtual-network>") ||
		 !strstr(b.data, "node=\"1/1/v&lt;&amp;&gt;/10.0.0.0/8\""))
		fail(name, "%s", b.data);
	else
		ok(name);

	struct {
		const char *name, *host, *vrf, *prefix, *vn;
		int want;
	} bad[] = {
		{ "build: refuses invalid UTF-8", "h\xc3", "v", "10.0.0.0/8", NULL, -EINVAL },
		{ "build: refuses an overlong UTF-8 form", "h", "v", "10.0.0.0/8", "\xc0\xbc", -EINVAL },
		{ "build: refuses a surrogate", "h", "v", "10.0.0.0/8", "\xed\xa0\x80", -EINVAL },
		{ "build: refuses a control character", "h", "v", "10.0.0.0/8", "a\x01", -EINVAL },
		{ "build: refuses a VRF with '/'", "h", "a/b", "10.0.0.0/8", NULL, -EINVAL },
		{ "build: refuses an empty VRF", "h", "", "10.0.0.0/8", NULL, -EINVAL },
		{ "build: refuses an empty host", "", "v", "10.0.0.0/8", NULL, -EINVAL },
		{ "build: refuses host bits in a prefix", "h", "v", "10.0.0.1/8", NULL, -EINVAL },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		init_nh(&nh);
		nh.virtual_network = bad[i].vn;
		init_entry(&e, &nh, "10.0.0.0/8");
		if (!strcmp(bad[i].prefix, "10.0.0.1/8"))
			inet_pton(AF_INET, "10.0.0.1", &e.nlri.ip.v4);
		b.len = 2;
		rc = vr_xmpp_build_publish(&b, bad[i].host, 1, bad[i].vrf, &e);
		if (rc != bad[i].want || b.len != 2 || memcmp(b.data, "\xc8\x80", 2))
			fail(bad[i].name, "rc %d, buffer %zu bytes", rc, b.len);
		else
			ok(bad[i].name);
	}
	vr_xmpp_buf_free(&b);

	name = "build: a bounded buffer refuses, keeping what it had";
	vr_xmpp_buf_init(&b, 300);
	vr_xmpp_build_keepalive(&b);
	init_nh(&nh);
	init_entry(&e, &nh, "10.0.0.0/8");
	rc = vr_xmpp_build_publish(&b, "h", 1, "v", &e);
	if (rc != -ENOBUFS || b.len != 2 || vr_xmpp_build_subscribe(&b, "h", 1, "v", 1) || b.len > 300)
		fail(name, "rc %d len %zu", rc, b.len);
	else
		ok(name);
	name = "build: consume drops what was sent";
	vr_xmpp_buf_consume(&b, 2);
	if (b.len < 10 || memcmp(b.data, "<iq ", 4))
		fail(name, "%.*s", (int)b.len, b.data);
	else
		ok(name);
	vr_xmpp_buf_free(&b);

	name = "build: items of another family are refused";
	vr_xmpp_buf_init(&b, 0);
	vr_xmpp_prefix_parse(2, "2001:db8::/32", &p);
	rc = vr_xmpp_build_retracts(&b, "h", 1, 1, "v", &p, 1);
	if (rc != -EINVAL || b.len)
		fail(name, "rc %d", rc);
	else
		ok(name);
	vr_xmpp_buf_free(&b);
}

/* ---- round trips ---- */

struct capture {
	struct str dump;
	unsigned int n;
};

static bool entry_eq(const struct vr_xmpp_entry *a, const struct vr_xmpp_entry *b, char *why, size_t size)
{
	unsigned int i;

#define DIFF(cond, what) do { if (cond) { snprintf(why, size, "%s differs", what); return false; } } while (0)
	DIFF(a->nlri.afi != b->nlri.afi || a->nlri.plen != b->nlri.plen || memcmp(&a->nlri.ip, &b->nlri.ip, 16),
	     "nlri");
	DIFF(a->safi != b->safi, "safi");
	DIFF(a->n_nexthops != b->n_nexthops, "next-hop count");
	for (i = 0; i < a->n_nexthops; i++) {
		const struct vr_xmpp_nexthop *x = &a->nexthops[i], *y = &b->nexthops[i];

		DIFF(x->addr.afi != y->addr.afi || memcmp(&x->addr.ip, &y->addr.ip, 16), "next-hop address");
		DIFF(x->has_mac != y->has_mac || (x->has_mac && memcmp(x->mac, y->mac, 6)), "mac");
		DIFF(x->label != y->label, "label");
		DIFF(x->encaps != y->encaps, "encaps");
		DIFF(strcmp(S(x->virtual_network), S(y->virtual_network)), "next-hop virtual-network");
	}
	DIFF(a->version != b->version, "version");
	DIFF(a->sequence_number != b->sequence_number, "sequence-number");
	DIFF(a->local_pref != b->local_pref, "local-preference");
	DIFF(a->med != b->med, "med");
	DIFF(a->n_sgs != b->n_sgs || (a->n_sgs && memcmp(a->sgs, b->sgs, a->n_sgs * sizeof(*a->sgs))), "sgs");
	DIFF(strcmp(S(a->virtual_network), S(b->virtual_network)), "virtual-network");
	DIFF(strcmp(S(a->sub_protocol), S(b->sub_protocol)), "sub-protocol");
	DIFF(a->has_mobility != b->has_mobility || a->mobility_sticky != b->mobility_sticky ||
	     a->mobility_seqno != b->mobility_seqno, "mobility");
#undef DIFF
	return true;
}

struct rt {
	const struct vr_xmpp_entry *want;
	size_t n_want;
	size_t seen;
	char why[160];
	bool bad;
	const char *vrf;
	int kind;
};

static void rt_hook(struct rec *r, const struct vr_xmpp_event *ev)
{
	struct rt *t = r->arg;
	const struct vr_xmpp_stanza *st;
	unsigned int i;

	if (ev->type != VR_XMPP_EV_STANZA || t->bad)
		return;
	st = ev->u.stanza;
	if (st->kind == VR_XMPP_ST_PUBLISH) {
		if (t->seen >= t->n_want || !st->u.publish.has_entry ||
		    strcmp(st->u.publish.node.vrf, t->vrf) ||
		    !entry_eq(&st->u.publish.entry, &t->want[t->seen], t->why, sizeof(t->why))) {
			t->bad = true;
			if (!t->why[0])
				snprintf(t->why, sizeof(t->why), "unexpected publish");
		}
		t->seen++;
	} else if (st->kind == VR_XMPP_ST_ITEMS) {
		for (i = 0; i < st->u.items.n_items; i++, t->seen++)
			if (t->seen >= t->n_want ||
			    !entry_eq(&st->u.items.items[i], &t->want[t->seen], t->why, sizeof(t->why))) {
				t->bad = true;
				return;
			}
	}
}

static void t_roundtrip(void)
{
	struct vr_xmpp_nexthop nhs[8];
	struct vr_xmpp_entry es[8];
	__u32 sgs[] = { 8000001, 8000002, 0, 4294967295u };
	struct vr_xmpp_buf b;
	struct rec r = { 0 };
	struct rt t = { 0 };
	unsigned int i;
	int rc;

	for (i = 0; i < 8; i++)
		init_nh(&nhs[i]);
	/* The variety an agent or controller produces. */
	init_entry(&es[0], &nhs[0], "10.1.1.3/32");
	nhs[1].has_mac = false;
	nhs[1].encaps = 0;
	nhs[1].virtual_network = NULL;
	init_entry(&es[1], &nhs[1], "10.1.2.0/24");
	es[1].sub_protocol = NULL;
	nhs[2].encaps = VR_XMPP_ENCAP_VXLAN | VR_XMPP_ENCAP_UDP | VR_XMPP_ENCAP_GRE;
	nhs[2].label = 0xfffff;
	init_entry(&es[2], &nhs[2], "0.0.0.0/0");
	es[2].n_sgs = 4;
	es[2].sgs = sgs;
	es[2].med = 4294967295u;
	es[2].sequence_number = 77;
	nhs[3].virtual_network = "vn <&> \"quoted\" 'x' \xc8\x80 \xe2\x82\xac tab\tnl\ncr\r";
	init_entry(&es[3], &nhs[3], "192.168.0.0/16");
	es[3].virtual_network = "entry & vn";
	es[3].sub_protocol = "interface-static";
	es[3].has_mobility = true;
	es[3].mobility_sticky = true;
	es[3].mobility_seqno = 9;
	init_entry(&es[4], &nhs[4], "10.255.255.255/32");
	es[4].n_nexthops = 3;	/* ECMP as a control node may send it */
	es[4].nexthops = &nhs[4];
	inet_pton(AF_INET, "198.51.100.7", &nhs[5].addr.ip.v4);
	nhs[6].addr.afi = 2;
	inet_pton(AF_INET6, "2001:db8::1", nhs[6].addr.ip.v6);
	init_entry(&es[5], &nhs[7], "10.9.0.0/16");
	es[5].n_nexthops = 0;

	vr_xmpp_buf_init(&b, 0);
	vr_xmpp_build_stream_open(&b, HOST, NULL);
	for (i = 0; i < 6; i++)
		if ((rc = vr_xmpp_build_publish(&b, HOST, i, VN1, &es[i]))) {
			fail("round trip: publish -> decode", "build %u: %d", i, rc);
			goto out;
		}
	vr_xmpp_build_stream_close(&b);
	t.want = es;
	t.n_want = 6;
	t.vrf = VN1;
	r.hook = rt_hook;
	r.arg = &t;
	rc = decode(b.data, b.len, NULL, NULL, &r);
	if (rc || t.bad || t.seen != 6)
		fail("round trip: publish -> decode", "rc %d seen %zu: %s\n%s", rc, t.seen, t.why, S(r.out.s));
	else
		ok("round trip: publish -> decode");
	sfree(&r.out);

	/* 70 routes: 32 + 32 + 6 in three messages; then 600 retracts: 256 + 256 + 88. */
	{
		struct vr_xmpp_entry many[70];
		struct vr_xmpp_prefix pr[600];
		char pfx[32];
		const char *name = "round trip: controller messages split at 32 routes and 256 retracts";

		for (i = 0; i < 70; i++) {
			snprintf(pfx, sizeof(pfx), "10.2.%u.%u/32", i / 200, i % 200);
			init_entry(&many[i], &nhs[i % 4], pfx);
			many[i].sub_protocol = NULL;
		}
		for (i = 0; i < 600; i++) {
			snprintf(pfx, sizeof(pfx), "10.3.%u.%u/32", i / 200, i % 200);
			vr_xmpp_prefix_parse(1, pfx, &pr[i]);
		}
		b.len = 0;
		vr_xmpp_build_stream_answer(&b, HOST, "s1", NULL);
		rc = vr_xmpp_build_items(&b, HOST, 1, 1, VN1, many, 70);
		int rc2 = vr_xmpp_build_retracts(&b, HOST, 1, 1, VN1, pr, 600);
		int rc3 = vr_xmpp_build_items(&b, HOST, 1, 1, VN1, many, 0);

		vr_xmpp_build_end_of_rib(&b, HOST);
		vr_xmpp_build_stream_close(&b);
		memset(&t, 0, sizeof(t));
		t.want = many;
		t.n_want = 70;
		memset(&r, 0, sizeof(r));
		r.hook = rt_hook;
		r.arg = &t;
		int drc = decode(b.data, b.len, NULL, NULL, &r);
		const char *o = S(r.out.s);
		unsigned int n32 = 0, n6 = 0, n256 = 0, n88 = 0, eor = 0;

		for (const char *q = o; (q = strstr(q, "eor=")); q++) {
			n32 += !strncmp(q, "eor=0 items=32 retracts=0", 25);
			n6 += !strncmp(q, "eor=0 items=6 retracts=0", 24);
			n256 += !strncmp(q, "eor=0 items=0 retracts=256", 26);
			n88 += !strncmp(q, "eor=0 items=0 retracts=88", 25);
			eor += !strncmp(q, "eor=1", 5);
		}
		if (rc != 3 || rc2 != 3 || rc3 != 0 || drc || t.bad || t.seen != 70 || n32 != 2 || n6 != 1 ||
		    n256 != 2 || n88 != 1 || eor != 1 || !strstr(o, "retract 10.3.2.199/32\n"))
			fail(name, "rc %d/%d/%d decode %d seen %zu %s; %u %u %u %u %u", rc, rc2, rc3, drc, t.seen,
			     t.why, n32, n6, n256, n88, eor);
		else
			ok(name);
		sfree(&r.out);
	}

	/* subscribe and withdraw decode to what was built */
	{
		const char *name = "round trip: subscribe, unsubscribe, withdraw";
		struct vr_xmpp_prefix p;
		struct str got;

		vr_xmpp_prefix_parse(2, "2001:db8:1::/48", &p);
		b.len = 0;
		vr_xmpp_build_stream_open(&b, HOST, NULL);
		vr_xmpp_build_subscribe(&b, HOST, 1, VN1, 4294967295u);
		vr_xmpp_build_withdraw(&b, HOST, 2, VN1, 1, &p);
		vr_xmpp_build_unsubscribe(&b, HOST, 3, VN1);
		rc = decode(b.data, b.len, NULL, &got, NULL);
		if (rc || !strstr(S(got.s), "stanza subscribe <iq> type=set id=subscribe1 from=" HOST
				   " to=network-control@contrailsystems.com/bgp-peer action=subscribe\n vrf=" VN1
				   " instance-id=4294967295\n") ||
		    !strstr(S(got.s), " node=2/1/" VN1 "/2001:db8:1::/48 afi=2 safi=1 vrf=" VN1
				   " decoded=1 prefix=2001:db8:1::/48 item=1\n  entry 2001:db8:1::/48 safi=1 have=0 ") ||
		    !strstr(S(got.s), "stanza dissociate <iq> type=set id=collection2") ||
		    !strstr(S(got.s), "stanza unsubscribe <iq> type=set id=subscribe3 from=" HOST
				   " to=network-control@contrailsystems.com/bgp-peer action=unsubscribe\n vrf=" VN1 "\n"))
			fail(name, "rc %d\n%s", rc, S(got.s));
		else
			ok(name);
		sfree(&got);
	}
out:
	vr_xmpp_buf_free(&b);
}

/* ---- decoder fixtures ---- */

static void t_fixtures(void)
{
	t_fixture("decode: TF-XMPP.md subscribe (options inside)", AGENT_OPEN, tf_subscribe,
		  "stanza subscribe <iq> type=set id=subscribe3 from=HOST to=network-control@contrailsystems.com/bgp-peer "
		  "action=subscribe\n vrf=" VN1 " instance-id=3\n");
	t_fixture("decode: subscribe with options beside (XEP-0060)", AGENT_OPEN,
		  "<iq type='set' from='" HOST "' to='network-control@contrailsystems.com/bgp-peer' id='subscribe0'>"
		  "<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='vn2'/>"
		  "<options><instance-id>12</instance-id></options></pubsub></iq>",
		  "stanza subscribe <iq> type=set id=subscribe0 from=" HOST " to=network-control@contrailsystems.com/bgp-peer "
		  "action=subscribe\n vrf=vn2 instance-id=12\n");
	t_fixture("decode: subscribe with options before it, pretty-printed", AGENT_OPEN,
		  "<iq type=\"set\" id=\"subscribe9\">\n <pubsub xmlns=\"http://jabber.org/protocol/pubsub\">\n"
		  "  <options>\n   <instance-id> 5 </instance-id>\n  </options>\n  <subscribe node=\"vn3\"/>\n"
		  " </pubsub>\n</iq>",
		  "stanza subscribe <iq> type=set id=subscribe9 from=- to=- action=subscribe\n vrf=vn3 instance-id=5\n");
	t_fixture("decode: subscribe without options", AGENT_OPEN,
		  "<iq type=\"set\" id=\"s\"><pubsub><subscribe node=\"virtual-router:default-global-system-config:h\"/>"
		  "</pubsub></iq>",
		  "stanza subscribe <iq> type=set id=s from=- to=- action=subscribe\n"
		  " vrf=virtual-router:default-global-system-config:h\n");
	t_fixture("decode: unsubscribe as the TF agent sends it (with options)", AGENT_OPEN,
		  "<iq type=\"set\" id=\"subscribe8\"><pubsub xmlns=\"http://jabber.org/protocol/pubsub\">"
		  "<unsubscribe node=\"" VN1 "\"><options><instance-id>3</instance-id></options></unsubscribe>"
		  "</pubsub></iq>",
		  "stanza unsubscribe <iq> type=set id=subscribe8 from=- to=- action=unsubscribe\n vrf=" VN1 "\n");
	t_fixture("decode: agent publish + associate as controller_peer.cc prints them", AGENT_OPEN, tf_publish,
		  tf_publish_dump);
	t_fixture("decode: control node message with item and retract", CTRL_OPEN, tf_message, tf_message_dump);
	t_fixture("decode: EndOfRib as bgp_xmpp_channel.cc sends it", CTRL_OPEN, tf_eor, tf_eor_dump);
	t_fixture("decode: withdraw with just the nlri", AGENT_OPEN,
		  "<iq type=\"set\" id=\"pubsub2\"><pubsub><publish node=\"1/1/vn/10.0.0.0/8\"><item><entry><nlri>"
		  "<af>1</af><safi>1</safi><address>10.0.0.0/8</address></nlri></entry></item></publish></pubsub></iq>"
		  "<iq type=\"set\" id=\"collection2\"><pubsub><collection node=\"vn\"><dissociate "
		  "node=\"1/1/vn/10.0.0.0/8\"/></collection></pubsub></iq>",
		  "stanza publish <iq> type=set id=pubsub2 from=- to=- action=publish\n"
		  " node=1/1/vn/10.0.0.0/8 afi=1 safi=1 vrf=vn decoded=1 prefix=10.0.0.0/8 item=1\n"
		  "  entry 10.0.0.0/8 safi=1 have=0 ver=0 seq=0 lp=0 med=0 vn=- sub=- sgs=[] nexthops=0\n"
		  "stanza dissociate <iq> type=set id=collection2 from=- to=- action=collection\n"
		  " collection=vn node=1/1/vn/10.0.0.0/8 afi=1 safi=1 vrf=vn decoded=1 prefix=10.0.0.0/8\n");
	t_fixture("decode: publish without item (TF's EndOfRib from an agent)", AGENT_OPEN,
		  "<iq type=\"set\" id=\"p\"><pubsub><publish node=\"1/1/vn/10.0.0.0/8\"/></pubsub></iq>",
		  "stanza publish <iq> type=set id=p from=- to=- action=publish\n"
		  " node=1/1/vn/10.0.0.0/8 afi=1 safi=1 vrf=vn decoded=1 prefix=10.0.0.0/8 item=0\n");
	t_fixture("decode: publish node with TF's primary instance id", AGENT_OPEN,
		  "<iq type=\"set\" id=\"p\"><pubsub><publish node=\"1/1/vn/10.0.0.0/8/7\"/></pubsub></iq>",
		  "stanza publish <iq> type=set id=p from=- to=- action=publish\n"
		  " node=1/1/vn/10.0.0.0/8/7 afi=1 safi=1 vrf=vn decoded=1 prefix=10.0.0.0/8 instance=7 item=0\n");
	t_fixture("decode: control node ECMP route (two next-hops are counted)", CTRL_OPEN,
		  "<message><event><items node=\"1/1/vn\"><item id=\"10.0.0.1/32\"><entry><nlri><af>1</af><safi>1</safi>"
		  "<address>10.0.0.1/32</address></nlri><next-hops><next-hop><af>1</af><address>192.0.2.1</address>"
		  "<label>20</label></next-hop><next-hop><af>1</af><address>192.0.2.9</address><label>21</label>"
		  "<tunnel-encapsulation-list><tunnel-encapsulation>vxlan</tunnel-encapsulation>"
		  "</tunnel-encapsulation-list></next-hop></next-hops></entry></item></items></event></message>",
		  "stanza items <message> type=- id=- from=- to=- action=event\n"
		  " node=1/1/vn afi=1 safi=1 vrf=vn decoded=1 eor=0 items=1 retracts=0\n"
		  "  entry 10.0.0.1/32 safi=1 have=0x10 ver=0 seq=0 lp=0 med=0 vn=- sub=- sgs=[] nexthops=2\n"
		  "   nh 1:192.0.2.1 label=20 encaps=0 vn=-\n   nh 1:192.0.2.9 label=21 encaps=0x4 vn=-\n");
	t_fixture("decode: IPv6 routes and retracts", CTRL_OPEN,
		  "<message><event><items node=\"2/1/vn\"><item id=\"2001:db8::/32\"><entry><nlri><af>2</af><safi>1</safi>"
		  "<address>2001:db8::/32</address></nlri><next-hops><next-hop><af>1</af><address>192.0.2.1</address>"
		  "<label>20</label></next-hop></next-hops></entry></item><retract id=\"2001:db8:1::1/128\"/>"
		  "</items></event></message>",
		  "stanza items <message> type=- id=- from=- to=- action=event\n"
		  " node=2/1/vn afi=2 safi=1 vrf=vn decoded=1 eor=0 items=1 retracts=1\n"
		  "  entry 2001:db8::/32 safi=1 have=0x10 ver=0 seq=0 lp=0 med=0 vn=- sub=- sgs=[] nexthops=1\n"
		  "   nh 1:192.0.2.1 label=20 encaps=0 vn=-\n  retract 2001:db8:1::1/128\n");
	t_fixture("decode: EVPN items are counted, not decoded", CTRL_OPEN,
		  "<message><event><items node=\"25/242/vn\"><item id=\"02:00:00:00:00:01,10.0.0.1/32\"><entry>"
		  "<nlri><af>25</af><safi>242</safi><mac>02:00:00:00:00:01</mac></nlri></entry></item>"
		  "<retract id=\"ff:ff:ff:ff:ff:ff,0.0.0.0/32\"/></items></event></message>",
		  "stanza items <message> type=- id=- from=- to=- action=event\n"
		  " node=25/242/vn afi=25 safi=242 vrf=vn decoded=0 eor=0 items=1 retracts=1\n");
	t_fixture("decode: iq result and error acks", CTRL_OPEN,
		  "<iq type=\"result\" id=\"pubsub3\" from=\"network-control@contrailsystems.com\"/>"
		  "<iq type='error' id='subscribe4'><error type='cancel'><item-not-found "
		  "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
		  "stanza result <iq> type=result id=pubsub3 from=network-control@contrailsystems.com to=- action=-\n"
		  "stanza iq-error <iq> type=error id=subscribe4 from=- to=- action=error\n condition=item-not-found\n");
	t_fixture("decode: stream error and unknown stanzas", CTRL_OPEN,
		  "<presence/><iq type=\"get\" id=\"g\"><ping xmlns=\"urn:xmpp:ping\"/></iq>"
		  "<iq type=\"set\" id=\"c\" to=\"" HOST "/config\"><config><update/></config></iq>"
		  "<stream:error><conflict xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\"/></stream:error>",
		  "stanza other <presence> type=- id=- from=- to=- action=-\n"
		  "stanza other <iq> type=get id=g from=- to=- action=ping\n"
		  "stanza other <iq> type=set id=c from=- to=" HOST "/config action=config\n"
		  "stanza stream-error <error> type=- id=- from=- to=- action=-\n condition=conflict\n");
	t_fixture("decode: U+0200 and whitespace between stanzas are keepalives", AGENT_OPEN,
		  "\xc8\x80\xc8\x80 \r\n\t<iq type=\"result\" id=\"a\"/>\xc8\x80<iq type=\"result\" id=\"b\"/>\n",
		  "keepalive spaces=4 keepalives=2\n"
		  "stanza result <iq> type=result id=a from=- to=- action=-\n"
		  "keepalive spaces=0 keepalives=1\n"
		  "stanza result <iq> type=result id=b from=- to=- action=-\n"
		  "keepalive spaces=1 keepalives=0\n");
	t_fixture("decode: escaped values come back unescaped", AGENT_OPEN,
		  "<iq type=\"set\" id=\"a&amp;b&lt;&#38;&#x41;&quot;\"><pubsub><subscribe node=\"v&apos;&gt;&#x200;\"/>"
		  "<options><instance-id><![CDATA[4]]></instance-id></options></pubsub></iq>",
		  "stanza subscribe <iq> type=set id=a&b<&A\" from=- to=- action=subscribe\n"
		  " vrf=v'>\xc8\x80 instance-id=4\n");

	/* Stream headers as the TF sources write them: the agent's pugixml output with the '/' replaced by a
	 * space, the control node's template (xmlns jabber:client, id ++123), an XML declaration before. */
	{
		const char *h = "<stream:stream from=\"a1\" to=\"network-control@contrailsystems.com\" version=\"1.0\" "
				"xml:lang=\"en\" xmlns=\"\" xmlns:stream=\"http://etherx.jabber.org/streams\" >";

		if (expect_dump("decode: TF agent's stream header", h, strlen(h),
				"open from=a1 to=network-control@contrailsystems.com id=- version=1.0 lang=en xmlns=\"\"\n", 0))
			ok("decode: TF agent's stream header");
		h = "<?xml version='1.0'?>\n<stream:stream from=\"network-control@contrailsystems.com\" "
				"to=\"a1\" id=\"++123\" version=\"1.0\" xml:lang=\"en\" xmlns=\"jabber:client\" "
				"xmlns:stream=\"http://etherx.jabber.org/streams\" >";

		if (expect_dump("decode: TF control node's stream header", h, strlen(h),
				"open from=network-control@contrailsystems.com to=a1 id=++123 version=1.0 lang=en "
				"xmlns=jabber:client\n", 0))
			ok("decode: TF control node's stream header");
		h = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='sub cluster 1'>";
		if (expect_dump("decode: a sub-cluster name as the default namespace", h, strlen(h),
				"open from=- to=- id=- version=- lang=- xmlns=sub cluster 1\n", 0))
			ok("decode: a sub-cluster name as the default namespace");
	}
}

/* ---- splits ---- */

static void t_split_streams(void)
{
	struct str s = { 0 };
	struct vr_xmpp_buf b;
	struct vr_xmpp_nexthop nh;
	struct vr_xmpp_entry es[40];
	struct vr_xmpp_prefix pr[3];
	char pfx[32];
	unsigned int i;

	/* Everything of TF-XMPP.md, both directions' shapes, with keepalives, CR LF and escapes around. */
	sadd(&s, "%s\r\n%s\xc8\x80%s \xc8\x80 %s\xc8\x80%s%s\xc8\x80\xc8\x80\n</stream:stream>", AGENT_OPEN,
	     tf_subscribe, tf_publish, tf_message, tf_eor,
	     "<iq type=\"result\" id=\"x&amp;y\"/>\r<iq type='set'><pubsub><subscribe node='v'/>"
	     "<options><instance-id>1</instance-id></options></pubsub></iq>");
	t_splits("split: every offset, one byte at a time, random chunks (TF-XMPP.md stanzas)", s.s, s.len, NULL);
	sfree(&s);

	/* Longer than the decoder's slices: 40 routes in two messages, retracts, EndOfRib. */
	vr_xmpp_buf_init(&b, 0);
	init_nh(&nh);
	for (i = 0; i < 40; i++) {
		snprintf(pfx, sizeof(pfx), "172.16.%u.0/24", i);
		init_entry(&es[i], &nh, pfx);
	}
	for (i = 0; i < 3; i++) {
		snprintf(pfx, sizeof(pfx), "172.17.%u.0/24", i);
		vr_xmpp_prefix_parse(1, pfx, &pr[i]);
	}
	vr_xmpp_build_stream_answer(&b, HOST, "1", NULL);
	vr_xmpp_build_keepalive(&b);
	vr_xmpp_build_items(&b, HOST, 1, 1, VN1, es, 40);
	vr_xmpp_build_keepalive(&b);
	vr_xmpp_build_retracts(&b, HOST, 1, 1, VN1, pr, 3);
	vr_xmpp_build_end_of_rib(&b, HOST);
	vr_xmpp_build_keepalive(&b);
	vr_xmpp_build_stream_close(&b);
	t_splits("split: 20 KB of controller messages across the decoder's slices", b.data, b.len, NULL);

	/* Errors too are found the same wherever the input is split. */
	b.len = 0;
	vr_xmpp_build_stream_open(&b, HOST, NULL);
	vr_xmpp_build_subscribe(&b, HOST, 1, "v", 1);
	vr_xmpp_build_keepalive(&b);
	{
		const char *tail = "\xc8\x80 \xc8garbage";
		struct vr_xmpp_buf c = b;

		c.data = malloc(b.len + strlen(tail) + 1);
		memcpy(c.data, b.data, b.len);
		memcpy(c.data + b.len, tail, strlen(tail));
		t_splits("split: garbage after a keepalive is found at any split", c.data, b.len + strlen(tail), NULL);
		free(c.data);
	}
	vr_xmpp_buf_free(&b);
}

/* ---- hostile input ---- */

static const char billion_laughs[] =
	"<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"
	" <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	" <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
	" <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
	" <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
	" <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
	" <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
	" <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
	" <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
	" <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
	"]>\n<stream:stream xmlns:stream=\"http://etherx.jabber.org/streams\">"
	"<iq type=\"set\" id=\"&lol9;\"><pubsub><subscribe node=\"&lol9;\"/></pubsub></iq>";

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* Feeds head, then 10 MB of filler (fill byte, or the pattern), then tail, in 64 KiB writes as a socket would
 * deliver them; the decoder must fail with want and the heap may not grow by more than 4 MiB meanwhile. */
static void t_flood(const char *name, const char *head, const char *pattern, const char *tail, int want)
{
	static char chunk[64 * 1024];
	struct rec r = { 0 };
	struct vr_xmpp_decoder *d = vr_xmpp_decoder_new(NULL, rec_cb, &r);
	size_t plen = strlen(pattern), i, sent = 0, base = heap_in_use(), peak = 0;
	int rc;

	for (i = 0; i < sizeof(chunk); i++)
		chunk[i] = pattern[i % plen];
	rc = vr_xmpp_decoder_feed(d, AGENT_OPEN, strlen(AGENT_OPEN));
	if (!rc)
		rc = vr_xmpp_decoder_feed(d, head, strlen(head));
	while (!rc && sent < 10u * 1024 * 1024) {
		size_t now;

		rc = vr_xmpp_decoder_feed(d, chunk, sizeof(chunk) - sizeof(chunk) % plen);
		sent += sizeof(chunk);
		now = heap_in_use();
		if (now > base && now - base > peak)
			peak = now - base;
	}
	if (!rc)
		rc = vr_xmpp_decoder_feed(d, tail, strlen(tail));
	if (rc != want)
		fail(name, "rc %d (%s), want %d (%s) after %zu bytes", rc, vr_xmpp_strerror(rc), want,
		     vr_xmpp_strerror(want), sent);
	else if (peak > 4u << 20)
		fail(name, "heap grew by %zu bytes", peak);
	else if (sent > 256 * 1024)
		fail(name, "error only after %zu bytes", sent);
	else
		ok(name);
	vr_xmpp_decoder_free(d);
	sfree(&r.out);
}

static void t_hostile(void)
{
	struct vr_xmpp_limits lim;
	struct str s = { 0 };
	unsigned int i;

	if (!expect_error("hostile: billion laughs (DOCTYPE with entities)", billion_laughs, strlen(billion_laughs),
			  NULL, VR_XMPP_E_DTD))
		ok("hostile: billion laughs (DOCTYPE with entities)");
	{
		const char *t = "<!DOCTYPE stream:stream SYSTEM \"http://example.com/x.dtd\"><stream:stream "
				"xmlns:stream=\"http://etherx.jabber.org/streams\">";

		if (!expect_error("hostile: DOCTYPE with an external DTD", t, strlen(t), NULL, VR_XMPP_E_DTD))
			ok("hostile: DOCTYPE with an external DTD");
	}
	t_bad("hostile: DOCTYPE between stanzas", "<iq type='result'/><!DOCTYPE x [<!ENTITY a 'b'>]>", VR_XMPP_E_XML);
	t_bad("hostile: DOCTYPE inside a stanza", "<iq type='set'><!DOCTYPE x []></iq>", VR_XMPP_E_XML);
	t_bad("hostile: undeclared entity in text", "<iq type='set'><pubsub><subscribe node='v'><options>"
	      "<instance-id>&lol9;</instance-id></options></subscribe></pubsub></iq>", VR_XMPP_E_ENTITY);
	t_bad("hostile: undeclared entity in an attribute", "<iq type='set' id='&x;'/>", VR_XMPP_E_ENTITY);
	t_bad("hostile: external entity reference", "<iq>&xxe;</iq>", VR_XMPP_E_ENTITY);
	t_bad("hostile: comment", "<iq type='result'><!-- c --></iq>", VR_XMPP_E_RESTRICTED);
	t_bad("hostile: comment between stanzas", "<iq type='result'/><!-- c --><iq/>", VR_XMPP_E_RESTRICTED);
	t_bad("hostile: processing instruction", "<iq type='result'><?php x ?></iq>", VR_XMPP_E_RESTRICTED);
	{
		const char *t = "<?pi x?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>";

		if (!expect_error("hostile: processing instruction before the stream", t, strlen(t), NULL,
				  VR_XMPP_E_RESTRICTED))
			ok("hostile: processing instruction before the stream");
	}

	t_flood("hostile: 10 MB of text in a stanza", "<iq type='set'><pubsub><subscribe node='", "x", "'/></pubsub></iq>",
		VR_XMPP_E_TOO_BIG);
	t_flood("hostile: 10 MB attribute value", "<iq id='", "y", "'/>", VR_XMPP_E_TOO_BIG);
	t_flood("hostile: 10 MB element name", "<i", "q", "/>", VR_XMPP_E_TOO_BIG);
	t_flood("hostile: 10 MB of character data", "<iq>", "abc&amp;", "</iq>", VR_XMPP_E_TOO_BIG);
	t_flood("hostile: 10 MB of whitespace inside a stanza", "<iq>", " \n", "</iq>", VR_XMPP_E_TOO_BIG);
	t_flood("hostile: 10 MB of tiny elements", "<iq>", "<a/>", "</iq>", VR_XMPP_E_TOO_MANY);
	t_flood("hostile: 10 MB of attributes", "<iq ", "a0='' ", "/>", VR_XMPP_E_TOO_BIG);
	t_flood("hostile: 10 MB of nesting", "", "<a>", "", VR_XMPP_E_TOO_DEEP);
	t_flood("hostile: 10 MB of a comment", "<iq><!--", "-x", "--></iq>", VR_XMPP_E_TOO_BIG);
	{
		/* 10 MB of U+0200 and spaces between stanzas is a keepalive flood, not an error; it costs nothing. */
		static char ka[64 * 1024];
		struct rec r = { 0 };
		struct vr_xmpp_decoder *d = vr_xmpp_decoder_new(NULL, rec_cb, &r);
		size_t base = heap_in_use(), peak = 0;
		int rc = vr_xmpp_decoder_feed(d, AGENT_OPEN, strlen(AGENT_OPEN));

		for (i = 0; i < sizeof(ka); i += 3)
			memcpy(ka + i, "\xc8\x80 ", i + 3 <= sizeof(ka) ? 3 : sizeof(ka) - i);
		for (i = 0; !rc && i < 160; i++) {
			rc = vr_xmpp_decoder_feed(d, ka, sizeof(ka) - sizeof(ka) % 3);
			if (heap_in_use() > base && heap_in_use() - base > peak)
				peak = heap_in_use() - base;
		}
		if (rc || r.keepalives != 160 * (sizeof(ka) / 3) || peak > 1u << 20)
			fail("hostile: 10 MB of keepalives", "rc %d keepalives %u peak %zu", rc, r.keepalives, peak);
		else
			ok("hostile: 10 MB of keepalives");
		vr_xmpp_decoder_free(d);
		sfree(&r.out);
	}
	{
		/* No stream header at all: 10 MB of whitespace then a DOCTYPE never gets far. */
		struct feed_opts fo = { 0 };
		char *big = malloc(10u << 20);
		int rc;

		memset(big, ' ', 10u << 20);
		memcpy(big + (10u << 20) - 10, "<!DOCTYPE ", 10);
		rc = decode(big, 10u << 20, &fo, NULL, NULL);
		if (rc != VR_XMPP_E_TOO_BIG)
			fail("hostile: 10 MB before the stream header", "rc %d", rc);
		else
			ok("hostile: 10 MB before the stream header");
		free(big);
	}

	{
		/* Names are interned for the whole session: distinct ones, stanza after stanza, hit the cap on
		 * libxml2's dictionary instead of growing it forever. */
		const char *name = "hostile: endless distinct element names across stanzas";
		struct rec r = { 0 };
		struct vr_xmpp_decoder *d = vr_xmpp_decoder_new(NULL, rec_cb, &r);
		size_t base = heap_in_use(), peak = 0;
		char st[200];
		int rc = vr_xmpp_decoder_feed(d, AGENT_OPEN, strlen(AGENT_OPEN));

		for (i = 0; !rc && i < 200000; i++) {
			snprintf(st, sizeof(st), "<iq><e%u-%0100u/></iq>", i, i);
			rc = vr_xmpp_decoder_feed(d, st, strlen(st));
			if (heap_in_use() > base && heap_in_use() - base > peak)
				peak = heap_in_use() - base;
		}
		if (rc != VR_XMPP_E_TOO_MANY || peak > 4u << 20)
			fail(name, "rc %d (%s) after %u stanzas, heap grew by %zu", rc, vr_xmpp_strerror(rc), i, peak);
		else
			ok(name);
		vr_xmpp_decoder_free(d);
		sfree(&r.out);
	}

	/* Limits are exact: a stanza of max_stanza bytes passes, one byte more fails, wherever it is split. */
	vr_xmpp_limits_default(&lim);
	lim.max_stanza = 200;
	sadd(&s, "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>\n<iq id='");
	for (i = strlen("<iq id='") + strlen("'/>"); i < 200; i++)
		sadd(&s, "z");
	sadd(&s, "'/> </stream:stream>");
	{
		struct str got;
		int rc = decode(s.s, s.len, &(struct feed_opts){ .lim = &lim }, &got, NULL);

		if (rc || !strstr(S(got.s), "close"))
			fail("limits: a stanza of exactly max_stanza bytes passes", "rc %d %s", rc, S(got.s));
		else
			ok("limits: a stanza of exactly max_stanza bytes passes");
		sfree(&got);
		t_splits("limits: ... at every split too", s.s, s.len, &lim);
	}
	sfree(&s);
	sadd(&s, "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>\n<iq id='");
	for (i = strlen("<iq id='") + strlen("'/>"); i < 201; i++)
		sadd(&s, "z");
	sadd(&s, "'/> </stream:stream>");
	if (!expect_error("limits: one byte more fails", s.s, s.len, &lim, VR_XMPP_E_TOO_BIG))
		ok("limits: one byte more fails");
	t_splits("limits: ... at every split too (fails)", s.s, s.len, &lim);
	sfree(&s);

	/* Depth: the stream element counts, so 16 levels means 15 inside the stream. */
	sadd(&s, AGENT_OPEN);
	for (i = 0; i < 15; i++)
		sadd(&s, "<a%u>", i);
	for (i = 15; i-- > 0;)
		sadd(&s, "</a%u>", i);
	{
		struct str got;
		int rc = decode(s.s, s.len, NULL, &got, NULL);

		if (rc || !strstr(S(got.s), "stanza other <a0>"))
			fail("limits: depth 16 passes", "rc %d", rc);
		else
			ok("limits: depth 16 passes");
		sfree(&got);
	}
	sfree(&s);
	sadd(&s, AGENT_OPEN);
	for (i = 0; i < 16; i++)
		sadd(&s, "<a>");
	if (!expect_error("limits: depth 17 fails", s.s, s.len, NULL, VR_XMPP_E_TOO_DEEP))
		ok("limits: depth 17 fails");
	sfree(&s);

	/* Items per message. */
	sadd(&s, CTRL_OPEN "<message><event><items node='1/1/v'>");
	for (i = 0; i < 256; i++)
		sadd(&s, "<retract id='10.0.%u.%u/32'/>", i / 250, i % 250);
	sadd(&s, "</items></event></message>");
	{
		struct str got;
		int rc = decode(s.s, s.len, NULL, &got, NULL);

		if (rc || !strstr(S(got.s), "retracts=256"))
			fail("limits: 256 retracts in a message pass", "rc %d", rc);
		else
			ok("limits: 256 retracts in a message pass");
		sfree(&got);
	}
	sfree(&s);
	sadd(&s, CTRL_OPEN "<message><event><items node='25/242/v'>");
	for (i = 0; i < 257; i++)
		sadd(&s, "<retract id='x'/>");
	sadd(&s, "</items></event></message>");
	if (!expect_error("limits: 257 retracts in a message fail (any family)", s.s, s.len, NULL, VR_XMPP_E_TOO_MANY))
		ok("limits: 257 retracts in a message fail (any family)");
	sfree(&s);
	vr_xmpp_limits_default(&lim);
	lim.max_items = 2;
	sadd(&s, CTRL_OPEN "<message><event><items node='1/1/v'><retract id='10.0.0.1/32'/>"
	     "<item id='10.0.0.2/32'/><retract id='10.0.0.3/32'/></items></event></message>");
	if (!expect_error("limits: max_items is configurable", s.s, s.len, &lim, VR_XMPP_E_TOO_MANY))
		ok("limits: max_items is configurable");
	sfree(&s);

	/* Garbage. */
	{
		const char *g = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";	/* a TLS client hello */

		if (!expect_error("hostile: garbage instead of a stream", g, strlen(g), NULL, VR_XMPP_E_STREAM))
			ok("hostile: garbage instead of a stream");
		g = "GET / HTTP/1.1\r\n\r\n";
		if (!expect_error("hostile: HTTP instead of a stream", g, strlen(g), NULL, VR_XMPP_E_STREAM))
			ok("hostile: HTTP instead of a stream");
		g = "<html><body>";
		if (!expect_error("hostile: another root element", g, strlen(g), NULL, VR_XMPP_E_STREAM))
			ok("hostile: another root element");
		g = "<stream:stream xmlns:stream='urn:other'>";
		if (!expect_error("hostile: stream element in another namespace", g, strlen(g), NULL, VR_XMPP_E_STREAM))
			ok("hostile: stream element in another namespace");
		g = "<stream:stream>";
		if (!expect_error("hostile: stream prefix not declared", g, strlen(g), NULL, VR_XMPP_E_XML))
			ok("hostile: stream prefix not declared");
		g = "<\0\0\0s\0\0\0";
		if (expect_error("hostile: UCS-4 stream", g, 8, NULL, VR_XMPP_E_ENCODING) ||
		    expect_error("hostile: UTF-16 stream", "<\0s\0t\0r\0e\0a\0m\0:\0", 16, NULL, VR_XMPP_E_ENCODING) ||
		    expect_error("hostile: UTF-16 stream with a BOM", "\xff\xfe<\0s\0", 6, NULL, VR_XMPP_E_STREAM) ||
		    expect_error("hostile: UTF-8 BOM", "\xef\xbb\xbf<stream:stream>", 18, NULL, VR_XMPP_E_STREAM))
			(void)0;
		else
			ok("hostile: UCS-4 and UTF-16 streams");
	}
	t_bad("hostile: text between stanzas", "<iq type='result'/>hello<iq/>", VR_XMPP_E_GARBAGE);
	t_bad("hostile: half a keepalive", "\xc8 <iq/>", VR_XMPP_E_ENCODING);
	t_bad("hostile: another 2-byte character between stanzas", "\xc3\xa9<iq/>", VR_XMPP_E_GARBAGE);
	t_bad_n("hostile: NUL between stanzas", " \0<iq/>", 7, VR_XMPP_E_ENCODING);
	t_bad_n("hostile: NUL in a stanza", "<iq id='\0'/>", 12, VR_XMPP_E_ENCODING);
	t_bad("hostile: UTF-8 beyond U+10FFFF", "<iq><a>\xf4\x90\x80\x80</a></iq>", VR_XMPP_E_ENCODING);
	t_bad("hostile: truncated UTF-8 before a tag", "<iq><a>\xe2\x82</a></iq>", VR_XMPP_E_ENCODING);
	t_bad("hostile: U+FFFE", "<iq><a>\xef\xbf\xbe</a></iq>", VR_XMPP_E_ENCODING);
	t_bad("hostile: entity between stanzas", "&amp;<iq/>", VR_XMPP_E_GARBAGE);
	t_bad("hostile: CDATA between stanzas", "<![CDATA[ ]]>", VR_XMPP_E_GARBAGE);
	t_bad("hostile: invalid UTF-8 in text", "<iq><a>\xff\xfe</a></iq>", VR_XMPP_E_ENCODING);
	t_bad("hostile: invalid UTF-8 in an attribute", "<iq id='\xc3\x28'/>", VR_XMPP_E_ENCODING);
	t_bad("hostile: overlong UTF-8", "<iq><a>\xc0\xbc</a></iq>", VR_XMPP_E_ENCODING);
	t_bad("hostile: UTF-8 surrogate", "<iq><a>\xed\xa0\x80</a></iq>", VR_XMPP_E_ENCODING);
	t_bad("hostile: control character", "<iq><a>\x01</a></iq>", VR_XMPP_E_ENCODING);
	t_bad("hostile: character reference to NUL", "<iq><a>&#0;</a></iq>", VR_XMPP_E_ENCODING);
	t_bad("hostile: unbalanced end tag", "<iq><pubsub></iq>", VR_XMPP_E_XML);
	t_bad("hostile: stray end tag between stanzas", "<iq/></pubsub>", VR_XMPP_E_XML);
	t_bad("hostile: end of a different stream", "<iq/></stream:streams>", VR_XMPP_E_XML);
	t_bad("hostile: tag not closed", "<iq <pubsub/>", VR_XMPP_E_XML);
	t_bad("hostile: attribute twice", "<iq id='a' id='b'/>", VR_XMPP_E_XML);
	t_bad("hostile: undeclared prefix in a stanza", "<x:iq/>", VR_XMPP_E_XML);

	/* Strict decoding of what we use. */
	struct {
		const char *name, *body;
		int want;
	} bad[] = {
		{ "stanza: subscribe without node", "<iq type='set'><pubsub><subscribe/></pubsub></iq>", VR_XMPP_E_STANZA },
		{ "stanza: subscribe with an empty node", "<iq type='set'><pubsub><subscribe node=''/></pubsub></iq>",
		  VR_XMPP_E_STANZA },
		{ "stanza: bad instance-id", "<iq type='set'><pubsub><subscribe node='v'><options><instance-id>-1"
		  "</instance-id></options></subscribe></pubsub></iq>", VR_XMPP_E_NUMBER },
		{ "stanza: instance-id over 32 bits", "<iq type='set'><pubsub><subscribe node='v'><options><instance-id>"
		  "4294967296</instance-id></options></subscribe></pubsub></iq>", VR_XMPP_E_NUMBER },
		{ "stanza: two options", "<iq type='set'><pubsub><subscribe node='v'><options/><options/></subscribe>"
		  "</pubsub></iq>", VR_XMPP_E_STANZA },
		{ "stanza: publish node without prefix", "<iq type='set'><pubsub><publish node='1/1/v'/></pubsub></iq>",
		  VR_XMPP_E_STANZA },
		{ "stanza: publish node without VRF", "<iq type='set'><pubsub><publish node='1/1//10.0.0.0/8'/></pubsub></iq>",
		  VR_XMPP_E_STANZA },
		{ "stanza: publish node with a bad family", "<iq type='set'><pubsub><publish node='x/1/v/1.2.3.4/32'/>"
		  "</pubsub></iq>", VR_XMPP_E_STANZA },
		{ "stanza: publish node with a bad prefix", "<iq type='set'><pubsub><publish node='1/1/v/1.2.3/32'/>"
		  "</pubsub></iq>", VR_XMPP_E_ADDRESS },
		{ "stanza: publish node and nlri differ", "<iq type='set'><pubsub><publish node='1/1/v/10.0.0.1/32'>"
		  "<item><entry><nlri><af>1</af><safi>1</safi><address>10.0.0.2/32</address></nlri></entry></item>"
		  "</publish></pubsub></iq>", VR_XMPP_E_STANZA },
		{ "stanza: publish item without entry", "<iq type='set'><pubsub><publish node='1/1/v/10.0.0.1/32'>"
		  "<item/></publish></pubsub></iq>", VR_XMPP_E_STANZA },
		{ "stanza: publish with two items", "<iq type='set'><pubsub><publish node='25/242/v/x'><item/><item/>"
		  "</publish></pubsub></iq>", VR_XMPP_E_STANZA },
		{ "stanza: entry without nlri", "<iq type='set'><pubsub><publish node='1/1/v/10.0.0.1/32'><item><entry/>"
		  "</item></publish></pubsub></iq>", VR_XMPP_E_STANZA },
		{ "stanza: nlri af of another family", "<iq type='set'><pubsub><publish node='1/1/v/10.0.0.1/32'><item>"
		  "<entry><nlri><af>2</af><address>10.0.0.1/32</address></nlri></entry></item></publish></pubsub></iq>",
		  VR_XMPP_E_STANZA },
		{ "stanza: collection with neither", "<iq type='set'><pubsub><collection node='v'/></pubsub></iq>",
		  VR_XMPP_E_STANZA },
		{ "stanza: collection with both", "<iq type='set'><pubsub><collection node='v'><associate "
		  "node='1/1/v/10.0.0.1/32'/><dissociate node='1/1/v/10.0.0.1/32'/></collection></pubsub></iq>",
		  VR_XMPP_E_STANZA },
		{ "stanza: associate without node", "<iq type='set'><pubsub><collection node='v'><associate/>"
		  "</collection></pubsub></iq>", VR_XMPP_E_STANZA },
		{ "stanza: items without node", "<message><event><items/></event></message>", VR_XMPP_E_STANZA },
		{ "stanza: item without id", "<message><event><items node='1/1/v'><item/></items></event></message>",
		  VR_XMPP_E_STANZA },
		{ "stanza: item id and nlri differ", "<message><event><items node='1/1/v'><item id='10.0.0.1/32'><entry>"
		  "<nlri><af>1</af><address>10.0.0.2/32</address></nlri></entry></item></items></event></message>",
		  VR_XMPP_E_STANZA },
		{ "stanza: two items elements", "<message><event><items node='1/1/v'/><items node='1/1/v'/></event>"
		  "</message>", VR_XMPP_E_STANZA },
		{ "stanza: bad retract id", "<message><event><items node='1/1/v'><retract id='10.0.0.300/32'/></items>"
		  "</event></message>", VR_XMPP_E_ADDRESS },
	};
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		t_bad(bad[i].name, bad[i].body, bad[i].want);

	/* Next-hop fields, each wrong in turn. */
	struct {
		const char *name, *nh;
		int want;
	} nhbad[] = {
		{ "next-hop: bad address", "<af>1</af><address>192.0.2.256</address>", VR_XMPP_E_ADDRESS },
		{ "next-hop: IPv6 address with af 1", "<af>1</af><address>2001:db8::1</address>", VR_XMPP_E_ADDRESS },
		{ "next-hop: unknown af", "<af>3</af><address>192.0.2.1</address>", VR_XMPP_E_ADDRESS },
		{ "next-hop: no af", "<address>192.0.2.1</address>", VR_XMPP_E_STANZA },
		{ "next-hop: no address", "<af>1</af>", VR_XMPP_E_STANZA },
		{ "next-hop: bad mac", "<af>1</af><address>192.0.2.1</address><mac>00:00:5e:00:01</mac>",
		  VR_XMPP_E_ADDRESS },
		{ "next-hop: mac with bad digits", "<af>1</af><address>192.0.2.1</address><mac>00:00:5e:00:01:0g</mac>",
		  VR_XMPP_E_ADDRESS },
		{ "next-hop: bad label", "<af>1</af><address>192.0.2.1</address><label>ZZZZ</label>", VR_XMPP_E_NUMBER },
		{ "next-hop: negative label", "<af>1</af><address>192.0.2.1</address><label>-16</label>",
		  VR_XMPP_E_NUMBER },
		{ "next-hop: label with child elements", "<af>1</af><address>192.0.2.1</address><label><x/></label>",
		  VR_XMPP_E_STANZA },
		{ "next-hop: two labels", "<af>1</af><address>192.0.2.1</address><label>1</label><label>2</label>",
		  VR_XMPP_E_STANZA },
	};
	for (i = 0; i < sizeof(nhbad) / sizeof(nhbad[0]); i++) {
		sfree(&s);
		sadd(&s, "<message><event><items node='1/1/v'><item id='10.0.0.1/32'><entry><nlri><af>1</af>"
		     "<address>10.0.0.1/32</address></nlri><next-hops><next-hop>%s</next-hop></next-hops></entry></item>"
		     "</items></event></message>", nhbad[i].nh);
		t_bad(nhbad[i].name, s.s, nhbad[i].want);
	}
	sfree(&s);
	t_bad("entry: bad version", "<message><event><items node='1/1/v'><item id='10.0.0.1/32'><entry><nlri><af>1</af>"
	      "<address>10.0.0.1/32</address></nlri><version>ZZZZZZ</version></entry></item></items></event></message>",
	      VR_XMPP_E_NUMBER);
	t_bad("entry: bad security group", "<message><event><items node='1/1/v'><item id='10.0.0.1/32'><entry><nlri>"
	      "<af>1</af><address>10.0.0.1/32</address></nlri><security-group-list><security-group>1x</security-group>"
	      "</security-group-list></entry></item></items></event></message>", VR_XMPP_E_NUMBER);
	t_bad("entry: bad mobility", "<message><event><items node='1/1/v'><item id='10.0.0.1/32'><entry><nlri>"
	      "<af>1</af><address>10.0.0.1/32</address></nlri><mobility sticky='maybe'/></entry></item></items></event>"
	      "</message>", VR_XMPP_E_NUMBER);
}

static void t_prefixes(void)
{
	static const struct {
		unsigned int afi;
		const char *in, *out;	/* out NULL: must be refused */
	} cases[] = {
		{ 1, "10.1.1.3/32", "10.1.1.3/32" },
		{ 1, "0.0.0.0/0", "0.0.0.0/0" },
		{ 1, "255.255.255.255/32", "255.255.255.255/32" },
		{ 1, "10.1.1.3/24", "10.1.1.0/24" },	/* host bits cleared, as the control node does */
		{ 1, "10.1.1.3/0", "0.0.0.0/0" },
		{ 1, "10.1.1.255/31", "10.1.1.254/31" },
		{ 2, "2001:db8::1/64", "2001:db8::/64" },
		{ 2, "::/0", "::/0" },
		{ 2, "::ffff:10.0.0.1/128", "::ffff:10.0.0.1/128" },
		{ 1, "10.1.1.256/32", NULL },
		{ 1, "10.1.1/32", NULL },
		{ 1, "10.1.1.1.1/32", NULL },
		{ 1, "01.1.1.1/32", NULL },
		{ 1, "10.1.1.00/32", NULL },
		{ 1, "10.1.1.1/33", NULL },
		{ 1, "10.1.1.1/032", NULL },
		{ 1, "10.1.1.1/", NULL },
		{ 1, "10.1.1.1", NULL },
		{ 1, "/32", NULL },
		{ 1, "10.1.1.1/3 2", NULL },
		{ 1, "10.1.1.1/-1", NULL },
		{ 1, "10.1.1.1/+8", NULL },
		{ 1, "10..1.1/8", NULL },
		{ 1, ".10.1.1/8", NULL },
		{ 1, "10.1.1.1./8", NULL },
		{ 1, " 10.1.1.1/8", NULL },
		{ 1, "10.1.1.1/8/8", NULL },
		{ 1, "1000.1.1.1/8", NULL },
		{ 1, "0x0a.1.1.1/8", NULL },
		{ 1, "10.1.1.1/99999999999999999999", NULL },
		{ 1, "", NULL },
		{ 1, "2001:db8::/32", NULL },
		{ 2, "10.0.0.0/8", NULL },
		{ 2, "2001:db8::/129", NULL },
		{ 2, "2001:db8:::1/64", NULL },
		{ 3, "10.0.0.0/8", NULL },
	};
	struct vr_xmpp_prefix p;
	char out[VR_XMPP_PREFIX_STRLEN];
	unsigned int i, bad = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = vr_xmpp_prefix_parse((__u8)cases[i].afi, cases[i].in, &p);

		if (!cases[i].out && !rc) {
			fail("prefixes: strict parsing", "'%s' accepted", cases[i].in);
			bad++;
		} else if (cases[i].out && (rc || vr_xmpp_prefix_format(&p, out, sizeof(out)) ||
					    strcmp(out, cases[i].out))) {
			fail("prefixes: strict parsing", "'%s' gave rc %d '%s'", cases[i].in, rc, rc ? "" : out);
			bad++;
		}
	}
	if (!bad)
		ok("prefixes: strict parsing");
	vr_xmpp_prefix_parse(1, "10.0.0.0/8", &p);
	if (vr_xmpp_prefix_format(&p, out, 5) != -ENOSPC)
		fail("prefixes: format into a short buffer", "no -ENOSPC");
	else
		ok("prefixes: format into a short buffer");
	t_bad("prefixes: a bad prefix in a message is an error, not a crash",
	      "<message><event><items node='1/1/v'><item id='10.1.1.1/33'/></items></event></message>",
	      VR_XMPP_E_ADDRESS);
}

/* ---- API behaviour ---- */

static void t_api(void)
{
	struct rec r = { 0 };
	struct vr_xmpp_decoder *d;
	const char *detail;
	struct str text = { 0 };
	int rc;

	sadd(&text, AGENT_OPEN "<iq type='result' id='1'/><iq type='result' id='2'/><iq type='result' id='3'/>");
	r.stop_at = 2;
	rc = decode(text.s, text.len, NULL, NULL, &r);
	if (rc != VR_XMPP_E_STOPPED || r.stanzas != 2 || r.errors)
		fail("api: the callback stops the decoder", "rc %d stanzas %u errors %u", rc, r.stanzas, r.errors);
	else
		ok("api: the callback stops the decoder");
	sfree(&r.out);

	memset(&r, 0, sizeof(r));
	d = vr_xmpp_decoder_new(NULL, rec_cb, &r);
	r.self = d;
	rc = vr_xmpp_decoder_feed(d, text.s, text.len);
	if (rc || r.nested_rc != VR_XMPP_E_STATE || r.stanzas != 3)
		fail("api: feeding from inside the callback is refused", "rc %d nested %d", rc, r.nested_rc);
	else
		ok("api: feeding from inside the callback is refused");
	r.self = NULL;

	rc = vr_xmpp_decoder_feed(d, "garbage", 7);
	if (rc != VR_XMPP_E_GARBAGE || vr_xmpp_decoder_error(d, &detail) != rc || !strstr(detail, "0x67") ||
	    vr_xmpp_decoder_feed(d, "<iq/>", 5) != rc)
		fail("api: an error sticks, with a detail line", "rc %d detail %s", rc, detail);
	else
		ok("api: an error sticks, with a detail line");
	sfree(&r.out);
	if (vr_xmpp_decoder_reset(d) || vr_xmpp_decoder_feed(d, text.s, text.len) ||
	    vr_xmpp_decoder_feed(d, "</stream:stream> trailing bytes are ignored", 43) ||
	    vr_xmpp_decoder_error(d, NULL) || !strstr(S(r.out.s), "open from=" HOST) || r.closes != 1)
		fail("api: reset starts a new stream", "%s", S(r.out.s));
	else
		ok("api: reset starts a new stream");
	vr_xmpp_decoder_free(d);
	sfree(&r.out);
	sfree(&text);

	{
		const char *self_closed = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'/>";

		if (expect_dump("api: a self-closed stream header opens and closes", self_closed, strlen(self_closed),
				"open from=- to=- id=- version=- lang=- xmlns=-\nclose\n", 0))
			ok("api: a self-closed stream header opens and closes");
	}
	for (int i = VR_XMPP_E_STATE; i <= 0; i++)
		if (!strcmp(vr_xmpp_strerror(i), "unknown error")) {
			fail("api: every error code has a name", "%d", i);
			return;
		}
	ok("api: every error code has a name");
}

/* ---- the encapsulation a receiver picks from a next hop's tunnel-encapsulation-list ---- */

struct encap_rec {
	const unsigned int *prefs;
	size_t n;
	unsigned int picked[8];
	unsigned int n_items;
};

static int encap_cb(void *user, const struct vr_xmpp_event *ev)
{
	struct encap_rec *r = user;

	if (ev->type == VR_XMPP_EV_STANZA && ev->u.stanza->kind == VR_XMPP_ST_ITEMS)
		for (unsigned int i = 0; i < ev->u.stanza->u.items.n_items && r->n_items < 8; i++)
			r->picked[r->n_items++] =
				vr_xmpp_encap_choose(r->prefs, r->n, &ev->u.stanza->u.items.items[i].nexthops[0]);
	return 0;
}

static void t_encap_choice(void)
{
	static const unsigned int udp_gre[] = { VR_XMPP_ENCAP_UDP, VR_XMPP_ENCAP_GRE };
	static const unsigned int gre_udp[] = { VR_XMPP_ENCAP_GRE, VR_XMPP_ENCAP_UDP };
	static const unsigned int udp_only[] = { VR_XMPP_ENCAP_UDP };
	static const unsigned int gre_only[] = { VR_XMPP_ENCAP_GRE };
	const unsigned int G = VR_XMPP_ENCAP_GRE, U = VR_XMPP_ENCAP_UDP;
	static const struct {
		const char *prefs_name;
		const unsigned int *prefs;
		size_t n;
		unsigned int offered, want;
	} cases[] = {
		{ "udp,gre", udp_gre, 2, VR_XMPP_ENCAP_UDP | VR_XMPP_ENCAP_GRE, VR_XMPP_ENCAP_UDP },
		{ "udp,gre", udp_gre, 2, VR_XMPP_ENCAP_GRE, VR_XMPP_ENCAP_GRE },
		{ "udp,gre", udp_gre, 2, VR_XMPP_ENCAP_UDP, VR_XMPP_ENCAP_UDP },
		{ "udp,gre", udp_gre, 2, 0, VR_XMPP_ENCAP_GRE },	/* no list: gre */
		{ "udp,gre", udp_gre, 2, VR_XMPP_ENCAP_VXLAN, 0 },
		{ "udp,gre", udp_gre, 2, VR_XMPP_ENCAP_VXLAN | VR_XMPP_ENCAP_OTHER, 0 },
		{ "udp,gre", udp_gre, 2, VR_XMPP_ENCAP_VXLAN | VR_XMPP_ENCAP_GRE, VR_XMPP_ENCAP_GRE },
		{ "gre,udp", gre_udp, 2, VR_XMPP_ENCAP_UDP | VR_XMPP_ENCAP_GRE | VR_XMPP_ENCAP_VXLAN, VR_XMPP_ENCAP_GRE },
		{ "gre,udp", gre_udp, 2, VR_XMPP_ENCAP_UDP | VR_XMPP_ENCAP_OTHER, VR_XMPP_ENCAP_UDP },
		{ "gre,udp", gre_udp, 2, 0, VR_XMPP_ENCAP_GRE },
		{ "udp", udp_only, 1, 0, 0 },				/* gre implied, not wanted */
		{ "udp", udp_only, 1, VR_XMPP_ENCAP_GRE, 0 },
		{ "udp", udp_only, 1, VR_XMPP_ENCAP_GRE | VR_XMPP_ENCAP_UDP, VR_XMPP_ENCAP_UDP },
		{ "gre", gre_only, 1, VR_XMPP_ENCAP_UDP, 0 },
		{ "gre", gre_only, 1, 0, VR_XMPP_ENCAP_GRE },
		{ "none", udp_gre, 0, VR_XMPP_ENCAP_UDP | VR_XMPP_ENCAP_GRE, 0 },
	};
	/* The same next hop listed in both orders, and without a list, as a control node sends it. */
	static const char msg[] =
		"<message from=\"" CTRL "\" to=\"" HOST "/bgp-peer\"><event xmlns=\"http://jabber.org/protocol/pubsub\">"
		"<items node=\"1/1/" VN1 "\">"
		"<item id=\"10.1.1.1/32\"><entry><nlri><af>1</af><safi>1</safi><address>10.1.1.1/32</address></nlri>"
		"<next-hops><next-hop><af>1</af><address>192.0.2.2</address><label>17</label><tunnel-encapsulation-list>"
		"<tunnel-encapsulation>udp</tunnel-encapsulation><tunnel-encapsulation>gre</tunnel-encapsulation>"
		"</tunnel-encapsulation-list></next-hop></next-hops></entry></item>"
		"<item id=\"10.1.1.2/32\"><entry><nlri><af>1</af><safi>1</safi><address>10.1.1.2/32</address></nlri>"
		"<next-hops><next-hop><af>1</af><address>192.0.2.2</address><label>18</label><tunnel-encapsulation-list>"
		"<tunnel-encapsulation>gre</tunnel-encapsulation><tunnel-encapsulation>udp</tunnel-encapsulation>"
		"</tunnel-encapsulation-list></next-hop></next-hops></entry></item>"
		"<item id=\"10.1.1.3/32\"><entry><nlri><af>1</af><safi>1</safi><address>10.1.1.3/32</address></nlri>"
		"<next-hops><next-hop><af>1</af><address>192.0.2.2</address><label>19</label>"
		"</next-hop></next-hops></entry></item>"
		"<item id=\"10.1.1.4/32\"><entry><nlri><af>1</af><safi>1</safi><address>10.1.1.4/32</address></nlri>"
		"<next-hops><next-hop><af>1</af><address>192.0.2.2</address><label>20</label><tunnel-encapsulation-list>"
		"<tunnel-encapsulation>vxlan</tunnel-encapsulation><tunnel-encapsulation>mpls</tunnel-encapsulation>"
		"</tunnel-encapsulation-list></next-hop></next-hops></entry></item>"
		"</items></event></message>";
	const char *name = "encap choice: the first of the receiver's preferences that the next hop offers";
	int bad = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vr_xmpp_nexthop nh = { .encaps = cases[i].offered };
		unsigned int got = vr_xmpp_encap_choose(cases[i].prefs, cases[i].n, &nh);

		if (got != cases[i].want && !bad++)
			fail(name, "preferences %s, offered %#x: picked %#x, expected %#x", cases[i].prefs_name,
			     cases[i].offered, got, cases[i].want);
	}
	if (!bad)
		ok(name);

	for (int order = 0; order < 2; order++) {
		struct encap_rec r = { .prefs = order ? gre_udp : udp_gre, .n = 2 };
		struct vr_xmpp_decoder *d = vr_xmpp_decoder_new(NULL, encap_cb, &r);
		unsigned int first = order ? G : U;
		const char *n2 = order ? "encap choice: decoded lists, preferences gre then udp"
				       : "encap choice: decoded lists, preferences udp then gre";
		int rc;

		rc = vr_xmpp_decoder_feed(d, CTRL_OPEN, strlen(CTRL_OPEN));
		if (!rc)
			rc = vr_xmpp_decoder_feed(d, msg, strlen(msg));
		if (rc || r.n_items != 4)
			fail(n2, "rc %d, %u items", rc, r.n_items);
		else if (r.picked[0] != first || r.picked[1] != first || r.picked[2] != G || r.picked[3] != 0)
			fail(n2, "picked %#x %#x %#x %#x: expected %#x, %#x (list order does not matter), gre (no list), "
			     "none (vxlan, mpls)", r.picked[0], r.picked[1], r.picked[2], r.picked[3], first, first);
		else
			ok(n2);
		vr_xmpp_decoder_free(d);
	}
}

/* ---- mutation fuzzing: never a crash, a leak or a hang; errors are clean ---- */

static void t_fuzz(unsigned int rounds)
{
	struct vr_xmpp_buf b;
	struct vr_xmpp_nexthop nh;
	struct vr_xmpp_entry e;
	struct vr_xmpp_prefix p;
	unsigned int seed = 12345, i, codes = 0, clean = 0;
	char *m;

	vr_xmpp_buf_init(&b, 0);
	vr_xmpp_build_stream_open(&b, HOST, NULL);
	vr_xmpp_build_subscribe(&b, HOST, 1, VN1, 3);
	init_nh(&nh);
	init_entry(&e, &nh, "10.1.1.3/32");
	vr_xmpp_build_publish(&b, HOST, 2, VN1, &e);
	vr_xmpp_build_items(&b, HOST, 1, 1, VN1, &e, 1);
	vr_xmpp_prefix_parse(1, "10.1.1.4/32", &p);
	vr_xmpp_build_retracts(&b, HOST, 1, 1, VN1, &p, 1);
	vr_xmpp_build_keepalive(&b);
	vr_xmpp_build_end_of_rib(&b, HOST);
	vr_xmpp_build_stream_close(&b);
	m = malloc(b.len * 2);
	for (i = 0; i < rounds; i++) {
		size_t len = b.len, k, n = 1 + rand_r(&seed) % 8;
		struct feed_opts fo = { .chunk = 1 + rand_r(&seed) % 300, .rnd = i + 1 };
		int rc;

		memcpy(m, b.data, len);
		for (k = 0; k < n && len > 1; k++) {
			size_t at = rand_r(&seed) % len;

			switch (rand_r(&seed) % 5) {
			case 0: m[at] ^= (char)(1 << (rand_r(&seed) % 8)); break;
			case 1: m[at] = "<>/&;'\"= \xc8\x80!?[]-"[rand_r(&seed) % 17]; break;
			case 2: len = at + 1; break;
			case 3: memmove(m + at, m + at + 1, len - at - 1); len--; break;
			case 4: if (len < b.len * 2 - 1) { memmove(m + at + 1, m + at, len - at); len++; } break;
			}
		}
		rc = decode(m, len, &fo, NULL, NULL);
		if (rc > 0 || rc < VR_XMPP_E_STATE) {
			fail("fuzz: mutated streams fail cleanly", "rc %d", rc);
			break;
		}
		codes |= 1u << -rc;
		clean += rc == 0;
	}
	if (i == rounds) {
		printf("# fuzz: %u rounds, %u decoded cleanly, error codes seen %#x\n", rounds, clean, codes);
		ok("fuzz: mutated streams fail cleanly");
	}
	free(m);
	vr_xmpp_buf_free(&b);
}

int main(int argc, char **argv)
{
	unsigned int rounds = argc > 1 ? (unsigned int)strtoul(argv[1], NULL, 0) : 3000;

	setvbuf(stdout, NULL, _IOLBF, 0);
	t_build_exact();
	t_build_errors();
	t_prefixes();
	t_fixtures();
	t_roundtrip();
	t_split_streams();
	t_hostile();
	t_api();
	t_encap_choice();
	t_fuzz(rounds);
	vr_xmpp_cleanup();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
