/* Builders of the stanzas bpf-vrouter sends in the Tungsten Fabric XMPP dialect (TF-XMPP.md): the stream
 * headers, subscribe/unsubscribe, the publish + collection pairs, the control node's route messages,
 * EndOfRib, the keepalive and the stream close. The text is written by hand rather than through a DOM so it
 * is exactly the shape TF-XMPP.md shows, byte for byte; every attribute and text value goes through one
 * escaping function that also refuses what XML cannot carry (invalid UTF-8, control characters), so a
 * hostile VRF or host name can never break the framing of the stream. Each builder appends whole stanzas or
 * nothing. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "xmpp.h"

void vr_xmpp_buf_init(struct vr_xmpp_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max ? max : VR_XMPP_BUF_MAX;
}

void vr_xmpp_buf_free(struct vr_xmpp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void vr_xmpp_buf_consume(struct vr_xmpp_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

/* One builder call: everything it appends is undone when any step fails. */
struct out {
	struct vr_xmpp_buf *b;
	size_t start;
	int err;
};

static void out_begin(struct out *o, struct vr_xmpp_buf *b)
{
	o->b = b;
	o->start = b->len;
	o->err = 0;
}

static int out_end(struct out *o)
{
	if (o->err)
		o->b->len = o->start;
	return o->err;
}

static void put(struct out *o, const char *s, size_t n)
{
	struct vr_xmpp_buf *b = o->b;

	if (o->err)
		return;
	if (n > b->max || b->len > b->max - n) {
		o->err = -ENOBUFS;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > b->max + 1)
			cap = b->max + 1;
		p = realloc(b->data, cap);
		if (!p) {
			o->err = -ENOMEM;
			return;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct out *o, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		if (!o->err)
			o->err = -EINVAL;
		return;
	}
	put(o, tmp, n);
}

/* Decimal, as %u writes it (the hot path of every entry: no vsnprintf). */
static void put_u32(struct out *o, __u32 v)
{
	char t[10];
	size_t i = sizeof(t);

	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(o, t + i, sizeof(t) - i);
}

/* Length of the UTF-8 sequence at s that encodes a character XML 1.0 allows (Char production), or 0. */
static size_t xml_char_len(const unsigned char *s, size_t avail)
{
	unsigned int c, n, i;

	if (s[0] < 0x80) {
		c = s[0];
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			return 0;
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		c = s[0] & 0x1f;
		n = 2;
	} else if ((s[0] & 0xf0) == 0xe0) {
		c = s[0] & 0x0f;
		n = 3;
	} else if ((s[0] & 0xf8) == 0xf0) {
		c = s[0] & 0x07;
		n = 4;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, U+FFFE/U+FFFF, beyond U+10FFFF */
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000))
		return 0;
	if ((c >= 0xd800 && c <= 0xdfff) || c == 0xfffe || c == 0xffff || c > 0x10ffff)
		return 0;
	return n;
}

/* Appends s escaped for an attribute value in double quotes (attr) or for element text. Tabs and line ends
 * in attributes are written as character references, or the receiver's attribute-value normalisation would
 * turn them into spaces. */
static void put_esc(struct out *o, const char *s, bool attr)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, run = 0;

	while (i < len) {
		const char *rep = NULL;
		size_t n = xml_char_len(p + i, len - i);

		if (!n) {
			if (!o->err)
				o->err = -EINVAL;
			return;
		}
		if (n == 1) {
			switch (p[i]) {
			case '&': rep = "&amp;"; break;
			case '<': rep = "&lt;"; break;
			case '>': rep = "&gt;"; break;
			case '"': rep = attr ? "&quot;" : NULL; break;
			case '\'': rep = attr ? "&apos;" : NULL; break;
			case '\t': rep = attr ? "&#9;" : NULL; break;
			case '\n': rep = attr ? "&#10;" : NULL; break;
			case '\r': rep = "&#13;"; break;
			}
		}
		if (rep) {
			put(o, s + run, i - run);
			puts_(o, rep);
			run = i + 1;
		}
		i += n;
	}
	put(o, s + run, i - run);
}

/* name="value" with a leading space. */
static void put_attr(struct out *o, const char *name, const char *value)
{
	put(o, " ", 1);
	puts_(o, name);
	put(o, "=\"", 2);
	put_esc(o, value, true);
	put(o, "\"", 1);
}

static void put_open_tag(struct out *o, const char *name)
{
	put(o, "<", 1);
	puts_(o, name);
	put(o, ">", 1);
}

static void put_close_tag(struct out *o, const char *name)
{
	put(o, "</", 2);
	puts_(o, name);
	put(o, ">", 1);
}

/* <name>text</name> */
static void put_text_elem(struct out *o, const char *name, const char *text)
{
	put_open_tag(o, name);
	put_esc(o, text, false);
	put_close_tag(o, name);
}

static void put_u32_elem(struct out *o, const char *name, __u32 v)
{
	put_open_tag(o, name);
	put_u32(o, v);
	put_close_tag(o, name);
}

static bool nonempty(const char *s)
{
	return s && *s;
}

/* A VRF name becomes a path component of route nodes, so it may not contain '/'. */
static bool vrf_ok(const char *vrf)
{
	return nonempty(vrf) && !strchr(vrf, '/');
}

/* Dotted quad, as inet_ntop writes it; returns the length (out holds at least 16 bytes). */
static size_t ipv4_format(__be32 addr, char *out)
{
	const __u8 *b = (const __u8 *)&addr;
	size_t n = 0;

	for (int i = 0; i < 4; i++) {
		unsigned int v = b[i];

		if (i)
			out[n++] = '.';
		if (v >= 100)
			out[n++] = (char)('0' + v / 100);
		if (v >= 10)
			out[n++] = (char)('0' + v / 10 % 10);
		out[n++] = (char)('0' + v % 10);
	}
	out[n] = '\0';
	return n;
}

static int addr_format(__u8 afi, const union vr_xmpp_ip *ip, char *out, size_t size)
{
	if (afi == VR_XMPP_AFI_IPV4) {
		if (size < 16)
			return -ENOSPC;
		ipv4_format(ip->v4, out);
		return 0;
	}
	if (afi == VR_XMPP_AFI_IPV6)
		return inet_ntop(AF_INET6, ip->v6, out, size) ? 0 : -ENOSPC;
	return -EINVAL;
}

int vr_xmpp_prefix_format(const struct vr_xmpp_prefix *p, char *out, size_t size)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned int max = p->afi == VR_XMPP_AFI_IPV4 ? 32 : 128;
	int err, n;

	if (p->plen > max)
		return -EINVAL;
	if (p->afi == VR_XMPP_AFI_IPV4 && size >= sizeof("255.255.255.255/32")) {
		n = (int)ipv4_format(p->ip.v4, out);
		out[n++] = '/';
		if (p->plen >= 10)
			out[n++] = (char)('0' + p->plen / 10);
		out[n++] = (char)('0' + p->plen % 10);
		out[n] = '\0';
		return 0;
	}
	err = addr_format(p->afi, &p->ip, addr, sizeof(addr));
	if (err)
		return err;
	n = snprintf(out, size, "%s/%u", addr, p->plen);
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

/* A prefix we send must be canonical: no host bits, or two spellings of one route could coexist. */
static bool prefix_canonical(const struct vr_xmpp_prefix *p)
{
	unsigned int i, bytes = p->afi == VR_XMPP_AFI_IPV4 ? 4 : 16;
	const __u8 *a = p->afi == VR_XMPP_AFI_IPV4 ? (const __u8 *)&p->ip.v4 : p->ip.v6;

	if ((p->afi != VR_XMPP_AFI_IPV4 && p->afi != VR_XMPP_AFI_IPV6) || p->plen > bytes * 8)
		return false;
	for (i = 0; i < bytes; i++) {
		unsigned int keep = p->plen >= (i + 1) * 8 ? 8 : p->plen > i * 8 ? p->plen - i * 8 : 0;
		__u8 mask = keep ? (__u8)(0xff << (8 - keep)) : 0;

		if (a[i] & ~mask)
			return false;
	}
	return true;
}

/* Headers of the iqs an agent sends to the control node's bgp-peer resource. */
static void put_iq_open(struct out *o, const char *host, const char *id_prefix, unsigned int seq)
{
	char id[32];

	snprintf(id, sizeof(id), "%s%u", id_prefix, seq);
	puts_(o, "<iq type=\"set\"");
	put_attr(o, "from", host);
	put_attr(o, "to", VR_XMPP_CONTROL_JID "/" VR_XMPP_BGP_PEER);
	put_attr(o, "id", id);
	puts_(o, ">\n <pubsub xmlns=\"" VR_XMPP_PUBSUB_NS "\">\n  ");
}

static void put_iq_close(struct out *o)
{
	puts_(o, "\n </pubsub></iq>");
}

static void put_stream_header(struct out *o, const char *from, const char *to, const char *id,
			      const char *xmlns)
{
	puts_(o, "<stream:stream");
	put_attr(o, "from", from);
	put_attr(o, "to", to);
	if (id)
		put_attr(o, "id", id);
	put_attr(o, "version", "1.0");
	put_attr(o, "xml:lang", "en");
	put_attr(o, "xmlns", xmlns ? xmlns : "");
	put_attr(o, "xmlns:stream", VR_XMPP_STREAM_NS);
	put(o, ">", 1);
}

int vr_xmpp_build_stream_open(struct vr_xmpp_buf *b, const char *host, const char *xmlns)
{
	struct out o;

	if (!nonempty(host))
		return -EINVAL;
	out_begin(&o, b);
	put_stream_header(&o, host, VR_XMPP_CONTROL_JID, NULL, xmlns);
	return out_end(&o);
}

int vr_xmpp_build_stream_answer(struct vr_xmpp_buf *b, const char *host, const char *id, const char *xmlns)
{
	struct out o;

	if (!nonempty(host) || !id)
		return -EINVAL;
	out_begin(&o, b);
	put_stream_header(&o, VR_XMPP_CONTROL_JID, host, id, xmlns);
	return out_end(&o);
}

int vr_xmpp_build_stream_close(struct vr_xmpp_buf *b)
{
	struct out o;

	out_begin(&o, b);
	puts_(&o, "</stream:stream>");
	return out_end(&o);
}

int vr_xmpp_build_keepalive(struct vr_xmpp_buf *b)
{
	struct out o;

	out_begin(&o, b);
	puts_(&o, VR_XMPP_KEEPALIVE);
	return out_end(&o);
}

int vr_xmpp_build_subscribe(struct vr_xmpp_buf *b, const char *host, unsigned int seq, const char *vrf,
			    __u32 instance_id)
{
	struct out o;

	if (!nonempty(host) || !nonempty(vrf))
		return -EINVAL;
	out_begin(&o, b);
	put_iq_open(&o, host, "subscribe", seq);
	puts_(&o, "<subscribe");
	put_attr(&o, "node", vrf);
	putf(&o, "><options><instance-id>%u</instance-id></options></subscribe>", instance_id);
	put_iq_close(&o);
	return out_end(&o);
}

int vr_xmpp_build_unsubscribe(struct vr_xmpp_buf *b, const char *host, unsigned int seq, const char *vrf)
{
	struct out o;

	if (!nonempty(host) || !nonempty(vrf))
		return -EINVAL;
	out_begin(&o, b);
	put_iq_open(&o, host, "subscribe", seq);
	puts_(&o, "<unsubscribe");
	put_attr(&o, "node", vrf);
	puts_(&o, "/>");
	put_iq_close(&o);
	return out_end(&o);
}

static void put_nlri(struct out *o, const struct vr_xmpp_prefix *p, __u8 safi)
{
	char text[VR_XMPP_PREFIX_STRLEN];

	if (!prefix_canonical(p) || vr_xmpp_prefix_format(p, text, sizeof(text))) {
		if (!o->err)
			o->err = -EINVAL;
		return;
	}
	puts_(o, "<nlri><af>");
	put_u32(o, p->afi);
	puts_(o, "</af><safi>");
	put_u32(o, safi);
	puts_(o, "</safi>");
	put_text_elem(o, "address", text);
	puts_(o, "</nlri>");
}

static void put_nexthop(struct out *o, const struct vr_xmpp_nexthop *nh)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} encaps[] = {
		{ VR_XMPP_ENCAP_GRE, "gre" },
		{ VR_XMPP_ENCAP_UDP, "udp" },
		{ VR_XMPP_ENCAP_VXLAN, "vxlan" },
	};
	char addr[INET6_ADDRSTRLEN];
	unsigned int i;

	if (addr_format(nh->addr.afi, &nh->addr.ip, addr, sizeof(addr))) {
		if (!o->err)
			o->err = -EINVAL;
		return;
	}
	puts_(o, "<next-hop><af>");
	put_u32(o, nh->addr.afi);
	puts_(o, "</af>");
	put_text_elem(o, "address", addr);
	if (nh->has_mac) {
		static const char hex[] = "0123456789abcdef";
		char mac[sizeof("<mac>00:00:00:00:00:00</mac>")] = "<mac>";
		size_t n = 5;

		for (i = 0; i < 6; i++) {
			if (i)
				mac[n++] = ':';
			mac[n++] = hex[nh->mac[i] >> 4];
			mac[n++] = hex[nh->mac[i] & 15];
		}
		memcpy(mac + n, "</mac>", 6); /* NOLINT(bugprone-not-null-terminated-result): put() takes a length */
		put(o, mac, n + 6);
	}
	put_u32_elem(o, "label", nh->label);
	if (nh->encaps & (VR_XMPP_ENCAP_GRE | VR_XMPP_ENCAP_UDP | VR_XMPP_ENCAP_VXLAN)) {
		puts_(o, "<tunnel-encapsulation-list>");
		for (i = 0; i < sizeof(encaps) / sizeof(encaps[0]); i++)
			if (nh->encaps & encaps[i].bit)
				put_text_elem(o, "tunnel-encapsulation", encaps[i].name);
		puts_(o, "</tunnel-encapsulation-list>");
	}
	if (nh->virtual_network)
		put_text_elem(o, "virtual-network", nh->virtual_network);
	puts_(o, "</next-hop>");
}

/* EntryType, in the order of xmpp_unicast.xsd. */
static void put_entry(struct out *o, const struct vr_xmpp_entry *e)
{
	unsigned int i;

	puts_(o, "<entry>");
	put_nlri(o, &e->nlri, e->safi);
	puts_(o, "<next-hops>");
	for (i = 0; i < e->n_nexthops; i++)
		put_nexthop(o, &e->nexthops[i]);
	puts_(o, "</next-hops>");
	put_u32_elem(o, "version", e->version);
	if (e->virtual_network)
		put_text_elem(o, "virtual-network", e->virtual_network);
	if (e->has_mobility)
		putf(o, "<mobility seqno=\"%u\" sticky=\"%s\"/>", e->mobility_seqno,
		     e->mobility_sticky ? "true" : "false");
	put_u32_elem(o, "sequence-number", e->sequence_number);
	if (e->n_sgs) {
		puts_(o, "<security-group-list>");
		for (i = 0; i < e->n_sgs; i++)
			put_u32_elem(o, "security-group", e->sgs[i]);
		puts_(o, "</security-group-list>");
	} else {
		puts_(o, "<security-group-list/>");
	}
	put_u32_elem(o, "local-preference", e->local_pref);
	put_u32_elem(o, "med", e->med);
	if (e->sub_protocol)
		put_text_elem(o, "sub-protocol", e->sub_protocol);
	puts_(o, "</entry>");
}

/* "AFI/SAFI/VRF/PREFIX" */
static int route_node(char *out, size_t size, const char *vrf, __u8 safi, const struct vr_xmpp_prefix *p)
{
	char text[VR_XMPP_PREFIX_STRLEN];
	int n;

	if (!vrf_ok(vrf) || !prefix_canonical(p) || vr_xmpp_prefix_format(p, text, sizeof(text)))
		return -EINVAL;
	n = snprintf(out, size, "%u/%u/%s/%s", p->afi, safi, vrf, text);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* The publish iq (whole entry, or only the nlri for a withdrawal) and the collection iq after it. */
static int build_pair(struct vr_xmpp_buf *b, const char *host, unsigned int seq, const char *vrf,
		      const struct vr_xmpp_entry *e, __u8 safi, const struct vr_xmpp_prefix *p)
{
	char node[1024];
	struct out o;
	int err;

	if (!nonempty(host))
		return -EINVAL;
	err = route_node(node, sizeof(node), vrf, safi, p);
	if (err)
		return err;
	out_begin(&o, b);
	put_iq_open(&o, host, "pubsub", seq);
	puts_(&o, "<publish");
	put_attr(&o, "node", node);
	puts_(&o, "><item>");
	if (e) {
		put_entry(&o, e);
	} else {
		puts_(&o, "<entry>");
		put_nlri(&o, p, safi);
		puts_(&o, "</entry>");
	}
	puts_(&o, "</item></publish>");
	put_iq_close(&o);
	put_iq_open(&o, host, "collection", seq);
	puts_(&o, "<collection");
	put_attr(&o, "node", vrf);
	puts_(&o, e ? "><associate" : "><dissociate");
	put_attr(&o, "node", node);
	puts_(&o, "/></collection>");
	put_iq_close(&o);
	return out_end(&o);
}

int vr_xmpp_build_publish(struct vr_xmpp_buf *b, const char *host, unsigned int seq, const char *vrf,
			  const struct vr_xmpp_entry *e)
{
	return build_pair(b, host, seq, vrf, e, e->safi, &e->nlri);
}

int vr_xmpp_build_withdraw(struct vr_xmpp_buf *b, const char *host, unsigned int seq, const char *vrf,
			   __u8 safi, const struct vr_xmpp_prefix *p)
{
	return build_pair(b, host, seq, vrf, NULL, safi, p);
}

/* <message ...><event ...><items node="NODE"> ... </items></event></message>, split in two halves. */
static void put_message_open(struct out *o, const char *host, const char *node)
{
	puts_(o, "<message from=\"" VR_XMPP_CONTROL_JID "\" to=\"");
	put_esc(o, host, true);
	puts_(o, "/" VR_XMPP_BGP_PEER "\">\n <event xmlns=\"" VR_XMPP_PUBSUB_NS "\">\n  <items");
	put_attr(o, "node", node);
	puts_(o, ">");
}

static void put_message_close(struct out *o, bool empty)
{
	puts_(o, empty ? "</items></event></message>" : "\n  </items></event></message>");
}

static int items_node(char *out, size_t size, __u16 afi, __u8 safi, const char *vrf)
{
	int n;

	if (!vrf_ok(vrf))
		return -EINVAL;
	n = snprintf(out, size, "%u/%u/%s", afi, safi, vrf);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int vr_xmpp_build_items(struct vr_xmpp_buf *b, const char *host, __u16 afi, __u8 safi, const char *vrf,
			const struct vr_xmpp_entry *entries, size_t n)
{
	char node[1024], id[VR_XMPP_PREFIX_STRLEN];
	size_t i, msgs = 0;
	struct out o;
	int err;

	if (!nonempty(host))
		return -EINVAL;
	err = items_node(node, sizeof(node), afi, safi, vrf);
	if (err)
		return err;
	out_begin(&o, b);
	for (i = 0; i < n && !o.err; i++) {
		const struct vr_xmpp_entry *e = &entries[i];

		if (e->nlri.afi != afi || e->safi != safi || vr_xmpp_prefix_format(&e->nlri, id, sizeof(id))) {
			o.err = -EINVAL;
			break;
		}
		if (i % VR_XMPP_MAX_REACH_PER_MSG == 0) {
			put_message_open(&o, host, node);
			msgs++;
		}
		puts_(&o, "\n   <item");
		put_attr(&o, "id", id);
		puts_(&o, ">");
		put_entry(&o, e);
		puts_(&o, "</item>");
		if (i % VR_XMPP_MAX_REACH_PER_MSG == VR_XMPP_MAX_REACH_PER_MSG - 1 || i == n - 1)
			put_message_close(&o, false);
	}
	err = out_end(&o);
	return err ? err : (int)msgs;
}

int vr_xmpp_build_retracts(struct vr_xmpp_buf *b, const char *host, __u16 afi, __u8 safi, const char *vrf,
			   const struct vr_xmpp_prefix *prefixes, size_t n)
{
	char node[1024], id[VR_XMPP_PREFIX_STRLEN];
	size_t i, msgs = 0;
	struct out o;
	int err;

	if (!nonempty(host))
		return -EINVAL;
	err = items_node(node, sizeof(node), afi, safi, vrf);
	if (err)
		return err;
	out_begin(&o, b);
	for (i = 0; i < n && !o.err; i++) {
		if (prefixes[i].afi != afi || !prefix_canonical(&prefixes[i]) ||
		    vr_xmpp_prefix_format(&prefixes[i], id, sizeof(id))) {
			o.err = -EINVAL;
			break;
		}
		if (i % VR_XMPP_MAX_UNREACH_PER_MSG == 0) {
			put_message_open(&o, host, node);
			msgs++;
		}
		puts_(&o, "\n   <retract");
		put_attr(&o, "id", id);
		puts_(&o, "/>");
		if (i % VR_XMPP_MAX_UNREACH_PER_MSG == VR_XMPP_MAX_UNREACH_PER_MSG - 1 || i == n - 1)
			put_message_close(&o, false);
	}
	err = out_end(&o);
	return err ? err : (int)msgs;
}

int vr_xmpp_build_end_of_rib(struct vr_xmpp_buf *b, const char *host)
{
	struct out o;

	if (!nonempty(host))
		return -EINVAL;
	out_begin(&o, b);
	put_message_open(&o, host, VR_XMPP_EOR_NODE);
	put_message_close(&o, true);
	return out_end(&o);
}
