/* The streaming decoder of the Tungsten Fabric XMPP dialect (TF-XMPP.md): bytes in, events out.
 *
 * libxml2's push parser runs in SAX mode over the whole session: the stream element stays open and its
 * children are the stanzas. Each stanza is collected into a small tree in a per-stanza arena (element names
 * are the parser's interned strings; values are copied), decoded into the structs of xmpp.h when its end tag
 * arrives, handed to the callback and dropped. Only the XMPP subset of XML is accepted (RFC 6120 11.1): a
 * DOCTYPE, any DTD declaration, an entity other than the five predefined, a comment or a processing
 * instruction is an error, and no option that loads or expands anything is set.
 *
 * libxml2 holds back character data that is not followed by a '<' yet, so a keepalive arriving alone would
 * not be seen until the next stanza. The bytes between stanzas are therefore classified here, straight from
 * the input: after each stanza's end tag (whose position the parser reports, and which it always parses in
 * the call that delivered its '>'), whitespace and U+0200 are counted and reported at once, anything else but
 * the '<' of the next stanza is garbage.
 *
 * Memory is bounded: input is handed to libxml2 in slices of at most SLICE bytes and the bytes of the
 * unfinished stanza (or stream header) may not exceed max_stanza, libxml2's name dictionary is capped, and the
 * stanza's tree, text and decoded structs live in an arena that is capped too. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <libxml/parser.h>
#include <libxml/dict.h>
#include <libxml/xmlerror.h>

#include "xmpp.h"

#define SLICE 4096
#define ARENA_BLOCK (16 * 1024)

/* Caps derived from max_stanza: the arena holds a stanza's tree and decoded structs (a tree node costs more
 * than the bytes that make it), the dictionary the element and attribute names of the whole session. */
#define ARENA_FACTOR 16
#define DICT_FACTOR 4

struct xattr {
	const char *name;	/* local name, interned */
	const char *prefix;	/* interned, NULL without one */
	const char *value;
	struct xattr *next;
};

struct xnode {
	const char *name, *prefix, *uri;	/* interned */
	struct xattr *attrs;
	struct xnode *parent, *child, *last, *next;
	const char *text;	/* text of a leaf; NULL for an element with children */
};

struct arena_blk {
	struct arena_blk *next;
	size_t size, used;
	max_align_t data[];
};

struct arena {
	struct arena_blk *head;
	size_t total, max;
};

enum top_state {
	TOP_PROLOG,	/* before the stream header */
	TOP_FILLER,	/* between stanzas: d->scan is the next byte to classify */
	TOP_STANZA,	/* inside a stanza (or its first '<' seen), which began at d->stanza_start */
};

struct vr_xmpp_decoder {
	struct vr_xmpp_limits lim;
	vr_xmpp_event_fn fn;
	void *user;
	xmlParserCtxtPtr ctxt;

	int err;
	bool err_reported;
	char detail[256];
	bool busy, closed;

	unsigned int depth;		/* open elements, the stream element included */
	enum top_state top;
	unsigned long long fed;		/* bytes handed to libxml2 */
	const unsigned char *chunk;	/* the slice being parsed, at offset chunk_off */
	unsigned long long chunk_off;
	size_t chunk_len;
	unsigned long long scan;
	unsigned long long stanza_start;
	bool half_keepalive;		/* saw 0xc8, want 0x80 */
	unsigned int u8_need;		/* continuation bytes the UTF-8 check still wants */
	unsigned char u8_lo, u8_hi;	/* range of the next continuation byte */

	struct arena arena;
	struct xnode *root, *cur;
	unsigned int elements;
	char *text;			/* text of the innermost open element so far */
	size_t text_len, text_cap;
};

/* ---- errors ---- */

const char *vr_xmpp_strerror(int err)
{
	switch (err) {
	case VR_XMPP_OK: return "no error";
	case VR_XMPP_E_XML: return "not well-formed XML";
	case VR_XMPP_E_ENCODING: return "bad character encoding";
	case VR_XMPP_E_DTD: return "DTD not allowed";
	case VR_XMPP_E_ENTITY: return "entity not allowed";
	case VR_XMPP_E_RESTRICTED: return "comment or processing instruction not allowed";
	case VR_XMPP_E_TOO_BIG: return "stanza too big";
	case VR_XMPP_E_TOO_DEEP: return "elements nested too deep";
	case VR_XMPP_E_TOO_MANY: return "too many elements or items";
	case VR_XMPP_E_GARBAGE: return "garbage between stanzas";
	case VR_XMPP_E_STREAM: return "bad stream header";
	case VR_XMPP_E_STANZA: return "malformed stanza";
	case VR_XMPP_E_ADDRESS: return "bad address or prefix";
	case VR_XMPP_E_NUMBER: return "bad number";
	case VR_XMPP_E_NOMEM: return "out of memory";
	case VR_XMPP_E_STOPPED: return "stopped by the event callback";
	case VR_XMPP_E_STATE: return "decoder called from its own callback";
	}
	return "unknown error";
}

/* Stops libxml2 without freeing its input (xmlStopParser would, under the feet of the function calling us). */
static void halt(struct vr_xmpp_decoder *d)
{
	if (d->ctxt) {
		d->ctxt->disableSAX = 1;
		d->ctxt->instate = XML_PARSER_EOF;
		d->ctxt->errNo = XML_ERR_USER_STOP;
	}
}

static int fail(struct vr_xmpp_decoder *d, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct vr_xmpp_decoder *d, int code, const char *fmt, ...)
{
	va_list ap;
	char *p;

	if (d->err)
		return d->err;
	d->err = code;
	va_start(ap, fmt);
	vsnprintf(d->detail, sizeof(d->detail), fmt, ap);
	va_end(ap);
	/* Peer bytes end up in the detail; keep it one printable line for logs. */
	for (p = d->detail; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	halt(d);
	return code;
}

int vr_xmpp_decoder_error(const struct vr_xmpp_decoder *d, const char **detail)
{
	if (detail)
		*detail = d->err ? d->detail : "";
	return d->err;
}

static bool live(const struct vr_xmpp_decoder *d)
{
	return !d->err && !d->closed;
}

/* ---- arena ---- */

static void *arena_alloc(struct vr_xmpp_decoder *d, size_t n)
{
	struct arena *a = &d->arena;
	struct arena_blk *b = a->head;
	size_t align = sizeof(max_align_t);

	n = (n + align - 1) / align * align;
	if (!n)
		n = align;
	if (!b || b->size - b->used < n) {
		size_t size = n > ARENA_BLOCK ? n : ARENA_BLOCK;

		if (a->total + size > a->max) {
			fail(d, VR_XMPP_E_TOO_MANY, "stanza needs more than %zu bytes of decoder memory", a->max);
			return NULL;
		}
		b = malloc(sizeof(*b) + size);
		if (!b) {
			fail(d, VR_XMPP_E_NOMEM, "out of memory");
			return NULL;
		}
		b->size = size;
		b->used = 0;
		b->next = a->head;
		a->head = b;
		a->total += size;
	}
	b->used += n;
	return (char *)b->data + b->used - n;
}

static void *arena_zalloc(struct vr_xmpp_decoder *d, size_t n)
{
	void *p = arena_alloc(d, n);

	if (p)
		memset(p, 0, n);
	return p;
}

static char *arena_strndup(struct vr_xmpp_decoder *d, const char *s, size_t n)
{
	char *p = arena_alloc(d, n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* Frees the blocks of a stanza, keeping one of the usual size for the next (all: every block). */
static void arena_reset(struct arena *a, bool all)
{
	struct arena_blk *b, *next, *keep = NULL;

	for (b = a->head; b; b = next) {
		next = b->next;
		if (!all && !keep && b->size == ARENA_BLOCK) {
			keep = b;
			continue;
		}
		free(b);
	}
	a->head = keep;
	a->total = 0;
	if (keep) {
		keep->next = NULL;
		keep->used = 0;
		a->total = keep->size;
	}
}

/* ---- events ---- */

static void emit(struct vr_xmpp_decoder *d, const struct vr_xmpp_event *ev)
{
	if (d->fn(d->user, ev) != 0 && !d->err && ev->type != VR_XMPP_EV_ERROR) {
		fail(d, VR_XMPP_E_STOPPED, "stopped by the event callback");
		d->err_reported = true;
	}
}

/* Offset in the stream of the byte libxml2 looks at next. */
static unsigned long long parse_off(const struct vr_xmpp_decoder *d)
{
	long n = xmlByteConsumed(d->ctxt);

	return n < 0 ? d->fed : (unsigned long long)n;
}

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Classifies the bytes between stanzas from d->scan to the end of the current slice or the next '<', and
 * reports the whitespace and keepalives found. */
static void scan_filler(struct vr_xmpp_decoder *d)
{
	unsigned int spaces = 0, keepalives = 0;
	unsigned long long end = d->chunk_off + d->chunk_len;
	unsigned char bad = 0;
	const char *why = NULL;

	if (d->scan < d->chunk_off)	/* not expected: libxml2 parses an end tag as soon as it has its '>' */
		d->scan = d->chunk_off;
	while (d->scan < end) {
		unsigned char c = d->chunk[d->scan - d->chunk_off];

		if (d->half_keepalive) {
			if (c != 0x80) {
				why = "after 0xc8 ";
				bad = c;
				break;
			}
			d->half_keepalive = false;
			keepalives++;
		} else if (c == 0xc8) {
			d->half_keepalive = true;
		} else if (is_ws(c)) {
			spaces++;
		} else if (c == '<') {
			d->top = TOP_STANZA;
			d->stanza_start = d->scan;
			break;
		} else {
			why = "";
			bad = c;
			break;
		}
		d->scan++;
	}
	if (d->top == TOP_STANZA && d->half_keepalive) {
		why = "after 0xc8 ";
		bad = '<';
	}
	/* What came before the garbage was a keepalive all the same. */
	if (spaces || keepalives) {
		struct vr_xmpp_event ev = { .type = VR_XMPP_EV_KEEPALIVE };

		ev.u.keepalive.spaces = spaces;
		ev.u.keepalive.keepalives = keepalives;
		emit(d, &ev);
	}
	if (why)
		fail(d, VR_XMPP_E_GARBAGE, "byte 0x%02x %sbetween stanzas", bad, why);
}

/* libxml2 may parse the bytes between stanzas before scan_filler() ran over them (when the next '<' is in
 * the same slice); whatever it then reports, they are classified first, so the verdict does not depend on how
 * the input was split. */
static void catch_up(struct vr_xmpp_decoder *d)
{
	if (live(d) && d->depth == 1 && d->top == TOP_FILLER)
		scan_filler(d);
}

/* ---- the stanza tree ---- */

/* An attribute without a prefix (xml:lang and the like are not ours). */
static const char *attr(const struct xnode *n, const char *name)
{
	const struct xattr *a;

	for (a = n->attrs; a; a = a->next)
		if (!a->prefix && !strcmp(a->name, name))
			return a->value;
	return NULL;
}

static struct xnode *child(const struct xnode *n, const char *name)
{
	struct xnode *c;

	for (c = n->child; c; c = c->next)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static unsigned int count_children(const struct xnode *n, const char *name)
{
	const struct xnode *c;
	unsigned int k = 0;

	for (c = n->child; c; c = c->next)
		if (!strcmp(c->name, name))
			k++;
	return k;
}

/* The one child called name, or NULL; two of them is an error (d->err set). */
static struct xnode *only_child(struct vr_xmpp_decoder *d, const struct xnode *n, const char *name)
{
	struct xnode *c = child(n, name);

	if (c && count_children(n, name) > 1) {
		fail(d, VR_XMPP_E_STANZA, "<%s> has more than one <%s>", n->name, name);
		return NULL;
	}
	return c;
}

static struct xnode *need_child(struct vr_xmpp_decoder *d, const struct xnode *n, const char *name)
{
	struct xnode *c = only_child(d, n, name);

	if (!c && !d->err)
		fail(d, VR_XMPP_E_STANZA, "<%s> without <%s>", n->name, name);
	return c;
}

/* Text of a leaf element; an element with children where text is wanted is an error. */
static const char *leaf_text(struct vr_xmpp_decoder *d, const struct xnode *n)
{
	if (n->child) {
		fail(d, VR_XMPP_E_STANZA, "<%s> has child elements where text is expected", n->name);
		return NULL;
	}
	return n->text ? n->text : "";
}

/* Surrounding XML whitespace does not count in numbers and names (pretty-printed peers). */
static const char *trimmed(const char *s, size_t *len)
{
	size_t n = strlen(s);

	while (n && is_ws((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && is_ws((unsigned char)s[n - 1]))
		n--;
	*len = n;
	return s;
}

static bool parse_u32_text(const char *s, size_t n, __u32 *out)
{
	unsigned long long v = 0;
	size_t i;

	if (!n || n > 10)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return false;
	*out = (__u32)v;
	return true;
}

static int u32_of(struct vr_xmpp_decoder *d, const char *what, const char *text, __u32 max, __u32 *out)
{
	size_t n;
	const char *s = trimmed(text, &n);

	if (!parse_u32_text(s, n, out) || *out > max)
		return fail(d, VR_XMPP_E_NUMBER, "%s: bad number '%.40s'", what, text);
	return 0;
}

/* Optional unsigned element: 1 when present and set, 0 when absent, <0 on error. */
static int opt_u32(struct vr_xmpp_decoder *d, const struct xnode *n, const char *name, __u32 *out)
{
	struct xnode *c = only_child(d, n, name);
	const char *t;

	if (!c)
		return d->err ? d->err : 0;
	t = leaf_text(d, c);
	if (!t || u32_of(d, name, t, UINT32_MAX, out))
		return d->err;
	return 1;
}

static int need_u32(struct vr_xmpp_decoder *d, const struct xnode *n, const char *name, __u32 max, __u32 *out)
{
	struct xnode *c = need_child(d, n, name);
	const char *t;

	*out = 0;
	if (!c || !(t = leaf_text(d, c)))
		return d->err;
	return u32_of(d, name, t, max, out);
}

/* Optional string element: its text (NULL when absent). */
static int opt_str(struct vr_xmpp_decoder *d, const struct xnode *n, const char *name, const char **out)
{
	struct xnode *c = only_child(d, n, name);

	*out = NULL;
	if (!c)
		return d->err;
	*out = leaf_text(d, c);
	return d->err;
}

/* ---- addresses ---- */

static bool ip4_parse(const char *s, size_t n, __be32 *out)
{
	unsigned int parts = 0, val = 0, digits = 0;
	__u8 b[4];
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9') {
			if (digits == 1 && val == 0)	/* leading zero */
				return false;
			val = val * 10 + (unsigned int)(c - '0');
			if (++digits > 3 || val > 255)
				return false;
		} else if (c == '.') {
			if (!digits || parts == 3)
				return false;
			b[parts++] = (__u8)val;
			val = digits = 0;
		} else {
			return false;
		}
	}
	if (!digits || parts != 3)
		return false;
	b[3] = (__u8)val;
	memcpy(out, b, 4);
	return true;
}

static bool ip6_parse(const char *s, size_t n, __u8 out[16])
{
	char tmp[INET6_ADDRSTRLEN];

	if (!n || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET6, tmp, out) == 1;
}

static bool ip_parse(__u8 afi, const char *s, size_t n, union vr_xmpp_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (afi == VR_XMPP_AFI_IPV4)
		return ip4_parse(s, n, &ip->v4);
	if (afi == VR_XMPP_AFI_IPV6)
		return ip6_parse(s, n, ip->v6);
	return false;
}

static void clear_host_bits(struct vr_xmpp_prefix *p)
{
	__u8 *a = p->afi == VR_XMPP_AFI_IPV4 ? (__u8 *)&p->ip.v4 : p->ip.v6;
	unsigned int i, bytes = p->afi == VR_XMPP_AFI_IPV4 ? 4 : 16;

	for (i = 0; i < bytes; i++) {
		unsigned int keep = p->plen >= (i + 1) * 8 ? 8 : p->plen > i * 8 ? p->plen - i * 8 : 0;

		a[i] &= keep ? (__u8)(0xff << (8 - keep)) : 0;
	}
}

static int prefix_parse_n(__u8 afi, const char *s, size_t n, struct vr_xmpp_prefix *p)
{
	const char *slash = memchr(s, '/', n);
	size_t alen, llen;
	unsigned int plen = 0, i, max;

	memset(p, 0, sizeof(*p));
	if (!slash || (afi != VR_XMPP_AFI_IPV4 && afi != VR_XMPP_AFI_IPV6))
		return -EINVAL;
	max = afi == VR_XMPP_AFI_IPV4 ? 32 : 128;
	alen = (size_t)(slash - s);
	llen = n - alen - 1;
	if (!llen || llen > 3 || (llen > 1 && slash[1] == '0'))
		return -EINVAL;
	for (i = 0; i < llen; i++) {
		if (slash[1 + i] < '0' || slash[1 + i] > '9')
			return -EINVAL;
		plen = plen * 10 + (unsigned int)(slash[1 + i] - '0');
	}
	if (plen > max || !ip_parse(afi, s, alen, &p->ip))
		return -EINVAL;
	p->afi = afi;
	p->plen = (__u8)plen;
	clear_host_bits(p);
	return 0;
}

int vr_xmpp_prefix_parse(__u8 afi, const char *text, struct vr_xmpp_prefix *p)
{
	return prefix_parse_n(afi, text, strlen(text), p);
}

static int prefix_of(struct vr_xmpp_decoder *d, const char *what, __u8 afi, const char *text,
		     struct vr_xmpp_prefix *p)
{
	size_t n;
	const char *s = trimmed(text, &n);

	if (prefix_parse_n(afi, s, n, p))
		return fail(d, VR_XMPP_E_ADDRESS, "%s: bad prefix '%.60s'", what, text);
	return 0;
}

static bool prefix_eq(const struct vr_xmpp_prefix *a, const struct vr_xmpp_prefix *b)
{
	return a->afi == b->afi && a->plen == b->plen && !memcmp(&a->ip, &b->ip, sizeof(a->ip));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "xx:xx:xx:xx:xx:xx" */
static bool mac_parse(const char *s, size_t n, __u8 mac[6])
{
	unsigned int i;

	if (n != 17)
		return false;
	for (i = 0; i < 6; i++) {
		int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
			return false;
		mac[i] = (__u8)(hi << 4 | lo);
	}
	return true;
}

/* ---- nodes ---- */

static bool family_decoded(__u16 afi, __u8 safi)
{
	return (afi == VR_XMPP_AFI_IPV4 || afi == VR_XMPP_AFI_IPV6) && safi == VR_XMPP_SAFI_UNICAST;
}

/* "AFI/SAFI/REST": the two numbers, and REST. */
static int node_family(struct vr_xmpp_decoder *d, const char *text, struct vr_xmpp_route_node *rn,
		       const char **rest)
{
	const char *s1 = strchr(text, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
	__u32 afi, safi;

	*rest = ""; /* never unset, even on failure (static analysis cannot see that fail() returns nonzero) */
	if (!s2 || !parse_u32_text(text, (size_t)(s1 - text), &afi) || afi > 0xffff ||
	    !parse_u32_text(s1 + 1, (size_t)(s2 - s1 - 1), &safi) || safi > 0xff)
		return fail(d, VR_XMPP_E_STANZA, "bad node '%.80s': want AFI/SAFI/...", text);
	rn->text = text;
	rn->afi = (__u16)afi;
	rn->safi = (__u8)safi;
	rn->decoded = family_decoded(rn->afi, rn->safi);
	*rest = s2 + 1;
	return 0;
}

/* "AFI/SAFI/VRF" of <items>. VRF names never contain '/' in TF; what follows the second '/' is the name. */
static int parse_items_node(struct vr_xmpp_decoder *d, const char *text, struct vr_xmpp_route_node *rn)
{
	const char *rest;

	if (node_family(d, text, rn, &rest))
		return d->err;
	if (!*rest)
		return fail(d, VR_XMPP_E_STANZA, "node '%.80s' without a VRF", text);
	rn->vrf = rest;
	return 0;
}

/* "AFI/SAFI/VRF/PREFIX[/INSTANCE]" of publish, associate and dissociate. */
static int parse_route_node(struct vr_xmpp_decoder *d, const char *text, struct vr_xmpp_route_node *rn)
{
	const char *rest, *vrf_end, *len_slash, *inst;

	if (node_family(d, text, rn, &rest))
		return d->err;
	vrf_end = strchr(rest, '/');
	if (vrf_end == rest || (!vrf_end && !*rest))
		return fail(d, VR_XMPP_E_STANZA, "node '%.80s' without a VRF", text);
	if (!vrf_end) {
		if (rn->decoded)
			return fail(d, VR_XMPP_E_STANZA, "node '%.80s' without a prefix", text);
		rn->vrf = rest;
		return 0;
	}
	rn->vrf = arena_strndup(d, rest, (size_t)(vrf_end - rest));
	if (!rn->vrf || !rn->decoded)
		return d->err;
	len_slash = strchr(vrf_end + 1, '/');
	inst = len_slash ? strchr(len_slash + 1, '/') : NULL;
	if (prefix_parse_n((__u8)rn->afi, vrf_end + 1, inst ? (size_t)(inst - vrf_end - 1) : strlen(vrf_end + 1),
			   &rn->prefix))
		return fail(d, VR_XMPP_E_ADDRESS, "node '%.80s': bad prefix", text);
	if (inst) {
		if (!parse_u32_text(inst + 1, strlen(inst + 1), &rn->instance))
			return fail(d, VR_XMPP_E_NUMBER, "node '%.80s': bad instance id", text);
		rn->has_instance = true;
	}
	return 0;
}

/* ---- entries ---- */

static int decode_nexthop(struct vr_xmpp_decoder *d, const struct xnode *n, struct vr_xmpp_nexthop *nh)
{
	struct xnode *c;
	const char *t, *s;
	__u32 af;
	size_t len;

	if (need_u32(d, n, "af", 0xff, &af))
		return d->err;
	c = need_child(d, n, "address");
	if (!c || !(t = leaf_text(d, c)))
		return d->err;
	s = trimmed(t, &len);
	nh->addr.afi = (__u8)af;
	if (!ip_parse(nh->addr.afi, s, len, &nh->addr.ip))
		return fail(d, VR_XMPP_E_ADDRESS, "next-hop: bad af %u address '%.60s'", af, t);
	if (opt_str(d, n, "mac", &t))
		return d->err;
	if (t) {
		s = trimmed(t, &len);
		if (len) {
			if (!mac_parse(s, len, nh->mac))
				return fail(d, VR_XMPP_E_ADDRESS, "next-hop: bad mac '%.40s'", t);
			nh->has_mac = true;
		}
	}
	if (opt_u32(d, n, "label", &nh->label) < 0)
		return d->err;
	c = only_child(d, n, "tunnel-encapsulation-list");
	if (d->err)
		return d->err;
	if (c) {
		const struct xnode *e;

		for (e = c->child; e; e = e->next) {
			if (strcmp(e->name, "tunnel-encapsulation"))
				continue;
			if (!(t = leaf_text(d, e)))
				return d->err;
			s = trimmed(t, &len);
			if (len == 3 && !memcmp(s, "gre", 3))
				nh->encaps |= VR_XMPP_ENCAP_GRE;
			else if (len == 3 && !memcmp(s, "udp", 3))
				nh->encaps |= VR_XMPP_ENCAP_UDP;
			else if (len == 5 && !memcmp(s, "vxlan", 5))
				nh->encaps |= VR_XMPP_ENCAP_VXLAN;
			else
				nh->encaps |= VR_XMPP_ENCAP_OTHER;
		}
	}
	return opt_str(d, n, "virtual-network", &nh->virtual_network);
}

static int decode_entry(struct vr_xmpp_decoder *d, const struct xnode *n, __u16 afi, struct vr_xmpp_entry *e)
{
	static const struct {
		const char *name;
		size_t off;
		unsigned int bit;
	} scalars[] = {
		{ "version", offsetof(struct vr_xmpp_entry, version), VR_XMPP_HAVE_VERSION },
		{ "sequence-number", offsetof(struct vr_xmpp_entry, sequence_number), VR_XMPP_HAVE_SEQUENCE },
		{ "local-preference", offsetof(struct vr_xmpp_entry, local_pref), VR_XMPP_HAVE_LOCAL_PREF },
		{ "med", offsetof(struct vr_xmpp_entry, med), VR_XMPP_HAVE_MED },
	};
	struct xnode *nlri, *c, *x;
	const char *t;
	__u32 v;
	unsigned int i;
	int r;

	memset(e, 0, sizeof(*e));
	nlri = need_child(d, n, "nlri");
	if (!nlri || need_u32(d, nlri, "af", 0xff, &v))
		return d->err;
	if (v != afi)
		return fail(d, VR_XMPP_E_STANZA, "nlri af %u in a node of af %u", v, afi);
	r = opt_u32(d, nlri, "safi", &v);
	if (r < 0)
		return d->err;
	if (r && v > 0xff)
		return fail(d, VR_XMPP_E_NUMBER, "nlri safi %u", v);
	e->safi = r ? (__u8)v : VR_XMPP_SAFI_UNICAST;
	c = need_child(d, nlri, "address");
	if (!c || !(t = leaf_text(d, c)) || prefix_of(d, "nlri address", (__u8)afi, t, &e->nlri))
		return d->err;

	c = only_child(d, n, "next-hops");
	if (d->err)
		return d->err;
	if (c) {
		e->have |= VR_XMPP_HAVE_NEXTHOPS;
		e->n_nexthops = count_children(c, "next-hop");
		if (e->n_nexthops) {
			e->nexthops = arena_zalloc(d, e->n_nexthops * sizeof(*e->nexthops));
			if (!e->nexthops)
				return d->err;
		}
		for (i = 0, x = c->child; x; x = x->next)
			if (!strcmp(x->name, "next-hop") && decode_nexthop(d, x, &e->nexthops[i++]))
				return d->err;
	}
	for (i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
		r = opt_u32(d, n, scalars[i].name, (__u32 *)((char *)e + scalars[i].off));
		if (r < 0)
			return d->err;
		if (r)
			e->have |= scalars[i].bit;
	}
	c = only_child(d, n, "security-group-list");
	if (d->err)
		return d->err;
	if (c) {
		e->have |= VR_XMPP_HAVE_SG_LIST;
		e->n_sgs = count_children(c, "security-group");
		if (e->n_sgs && !(e->sgs = arena_alloc(d, e->n_sgs * sizeof(*e->sgs))))
			return d->err;
		for (i = 0, x = c->child; x; x = x->next) {
			if (strcmp(x->name, "security-group"))
				continue;
			if (!(t = leaf_text(d, x)) || u32_of(d, "security-group", t, UINT32_MAX, &e->sgs[i++]))
				return d->err;
		}
	}
	if (opt_str(d, n, "virtual-network", &e->virtual_network) ||
	    opt_str(d, n, "sub-protocol", &e->sub_protocol))
		return d->err;
	c = only_child(d, n, "mobility");
	if (d->err)
		return d->err;
	if (c) {
		e->has_mobility = true;
		if ((t = attr(c, "seqno")) && u32_of(d, "mobility seqno", t, UINT32_MAX, &e->mobility_seqno))
			return d->err;
		if ((t = attr(c, "sticky"))) {
			if (!strcmp(t, "true") || !strcmp(t, "1"))
				e->mobility_sticky = true;
			else if (strcmp(t, "false") && strcmp(t, "0"))
				return fail(d, VR_XMPP_E_NUMBER, "mobility sticky '%.20s'", t);
		}
	}
	return 0;
}

/* ---- stanzas ---- */

static int need_node_attr(struct vr_xmpp_decoder *d, const struct xnode *n, const char **out)
{
	*out = attr(n, "node");
	if (!*out || !**out)
		return fail(d, VR_XMPP_E_STANZA, "<%s> without a node", n->name);
	return 0;
}

static int decode_subscribe(struct vr_xmpp_decoder *d, const struct xnode *pubsub, const struct xnode *a,
			    struct vr_xmpp_stanza *st)
{
	struct vr_xmpp_subscribe *s = &st->u.subscribe;
	const struct xnode *opts;
	int r;

	st->kind = strcmp(a->name, "subscribe") ? VR_XMPP_ST_UNSUBSCRIBE : VR_XMPP_ST_SUBSCRIBE;
	if (need_node_attr(d, a, &s->node) || st->kind == VR_XMPP_ST_UNSUBSCRIBE)
		return d->err;
	/* TF reads <options> wherever it is in the iq; agents put it inside <subscribe>, XEP-0060 beside it. */
	opts = only_child(d, a, "options");
	if (!opts && !d->err)
		opts = only_child(d, pubsub, "options");
	if (d->err || !opts)
		return d->err;
	r = opt_u32(d, opts, "instance-id", &s->instance_id);
	if (r < 0)
		return d->err;
	s->has_instance_id = r;
	return 0;
}

static int decode_publish(struct vr_xmpp_decoder *d, const struct xnode *a, struct vr_xmpp_stanza *st)
{
	struct vr_xmpp_publish *p = &st->u.publish;
	const struct xnode *item, *entry;
	const char *node;

	st->kind = VR_XMPP_ST_PUBLISH;
	if (need_node_attr(d, a, &node) || parse_route_node(d, node, &p->node))
		return d->err;
	item = only_child(d, a, "item");
	if (!item)
		return d->err;
	p->has_item = true;
	if (!p->node.decoded)
		return 0;
	entry = need_child(d, item, "entry");
	if (!entry || decode_entry(d, entry, p->node.afi, &p->entry))
		return d->err;
	p->has_entry = true;
	if (!prefix_eq(&p->entry.nlri, &p->node.prefix) || p->entry.safi != p->node.safi)
		return fail(d, VR_XMPP_E_STANZA, "publish node '%.80s' differs from its nlri", node);
	return 0;
}

static int decode_collection(struct vr_xmpp_decoder *d, const struct xnode *a, struct vr_xmpp_stanza *st)
{
	struct vr_xmpp_collection *c = &st->u.collection;
	const struct xnode *as = only_child(d, a, "associate"), *ds = NULL;
	const char *node;

	if (!d->err)
		ds = only_child(d, a, "dissociate");
	if (d->err || need_node_attr(d, a, &c->node))
		return d->err;
	if (!as == !ds)
		return fail(d, VR_XMPP_E_STANZA, "<collection> needs one <associate> or one <dissociate>");
	st->kind = as ? VR_XMPP_ST_ASSOCIATE : VR_XMPP_ST_DISSOCIATE;
	if (need_node_attr(d, as ? as : ds, &node))
		return d->err;
	return parse_route_node(d, node, &c->item);
}

static int decode_iq(struct vr_xmpp_decoder *d, const struct xnode *iq, struct vr_xmpp_stanza *st)
{
	const struct xnode *c = iq->child, *a;

	if (c)
		st->action = c->name;
	if (st->type && !strcmp(st->type, "result")) {
		st->kind = VR_XMPP_ST_IQ_RESULT;
		return 0;
	}
	if (st->type && !strcmp(st->type, "error")) {
		const struct xnode *e = child(iq, "error");

		st->kind = VR_XMPP_ST_IQ_ERROR;
		st->u.condition = e && e->child ? e->child->name : NULL;
		return 0;
	}
	if (!st->type || strcmp(st->type, "set") || !c || strcmp(c->name, "pubsub"))
		return 0;
	for (a = c->child; a; a = a->next)
		if (!strcmp(a->name, "subscribe") || !strcmp(a->name, "unsubscribe") ||
		    !strcmp(a->name, "publish") || !strcmp(a->name, "collection"))
			break;
	if (!a) {
		st->action = c->child ? c->child->name : NULL;
		return 0;
	}
	st->action = a->name;
	if (!strcmp(a->name, "publish"))
		return decode_publish(d, a, st);
	if (!strcmp(a->name, "collection"))
		return decode_collection(d, a, st);
	return decode_subscribe(d, c, a, st);
}

static int decode_items(struct vr_xmpp_decoder *d, const struct xnode *event, struct vr_xmpp_stanza *st)
{
	struct vr_xmpp_items *m = &st->u.items;
	const struct xnode *items = only_child(d, event, "items"), *c;
	unsigned int ni = 0, nr = 0;
	const char *node, *id;

	if (!items)
		return d->err;
	st->kind = VR_XMPP_ST_ITEMS;
	if (need_node_attr(d, items, &node))
		return d->err;
	m->n_items = count_children(items, "item");
	m->n_retracts = count_children(items, "retract");
	if (m->n_items + m->n_retracts > d->lim.max_items)
		return fail(d, VR_XMPP_E_TOO_MANY, "%u items and %u retracts in one message (limit %u)",
			    m->n_items, m->n_retracts, d->lim.max_items);
	if (!strcmp(node, VR_XMPP_EOR_NODE)) {
		m->end_of_rib = true;
		m->node.text = node;
		m->node.vrf = node + 4;
		return 0;
	}
	if (parse_items_node(d, node, &m->node) || !m->node.decoded)
		return d->err;
	if (m->n_items && !(m->items = arena_alloc(d, m->n_items * sizeof(*m->items))))
		return d->err;
	if (m->n_retracts && !(m->retracts = arena_alloc(d, m->n_retracts * sizeof(*m->retracts))))
		return d->err;
	for (c = items->child; c; c = c->next) {
		bool is_item = !strcmp(c->name, "item");
		struct vr_xmpp_prefix idp;
		const struct xnode *entry;

		if (!is_item && strcmp(c->name, "retract"))
			continue;
		id = attr(c, "id");
		if (!id)
			return fail(d, VR_XMPP_E_STANZA, "<%s> without an id", c->name);
		if (prefix_of(d, is_item ? "item id" : "retract id", (__u8)m->node.afi, id,
			      is_item ? &idp : &m->retracts[nr++]))
			return d->err;
		if (!is_item)
			continue;
		entry = need_child(d, c, "entry");
		if (!entry || decode_entry(d, entry, m->node.afi, &m->items[ni]))
			return d->err;
		if (!prefix_eq(&idp, &m->items[ni].nlri) || m->items[ni].safi != m->node.safi)
			return fail(d, VR_XMPP_E_STANZA, "item id '%.60s' differs from its nlri", id);
		ni++;
	}
	return 0;
}

static int decode_stanza(struct vr_xmpp_decoder *d, const struct xnode *root, struct vr_xmpp_stanza *st)
{
	const struct xnode *c;

	memset(st, 0, sizeof(*st));
	st->kind = VR_XMPP_ST_OTHER;
	st->name = root->name;
	st->type = attr(root, "type");
	st->id = attr(root, "id");
	st->from = attr(root, "from");
	st->to = attr(root, "to");
	if (root->uri && !strcmp(root->uri, VR_XMPP_STREAM_NS)) {
		if (!strcmp(root->name, "error")) {
			st->kind = VR_XMPP_ST_STREAM_ERROR;
			for (c = root->child; c && !strcmp(c->name, "text"); c = c->next)
				;
			st->u.condition = c ? c->name : NULL;
		}
		return 0;
	}
	if (!strcmp(root->name, "iq"))
		return decode_iq(d, root, st);
	c = root->child;
	if (c)
		st->action = c->name;
	if (!strcmp(root->name, "message") && c && !strcmp(c->name, "event"))
		return decode_items(d, c, st);
	return 0;
}

/* ---- SAX callbacks ---- */

/* libxml2 hands SAX2 attribute values over with '&' written as "&#38;" when entities are not substituted
 * (so a tree builder can tell them from entity references); the value meant is with '&'. */
static char *attr_value(struct vr_xmpp_decoder *d, const xmlChar *start, const xmlChar *end)
{
	char *v = arena_strndup(d, (const char *)start, (size_t)(end - start)), *r, *w;

	if (!v || !strchr(v, '&'))
		return v;
	for (r = w = v; *r;) {
		if (!strncmp(r, "&#38;", 5)) {
			*w++ = '&';
			r += 5;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return v;
}

static void stream_open(struct vr_xmpp_decoder *d, const xmlChar *name, const xmlChar *uri, int nb_ns,
			const xmlChar **ns, int nb_attrs, const xmlChar **attrs)
{
	struct vr_xmpp_stream_header h = { 0 };
	struct vr_xmpp_event ev = { .type = VR_XMPP_EV_STREAM_OPEN, .u.header = &h };
	int i;

	if (d->ctxt->input && d->ctxt->input->buf && d->ctxt->input->buf->encoder) {
		fail(d, VR_XMPP_E_ENCODING, "the stream is not UTF-8");
		return;
	}
	if (strcmp((const char *)name, "stream") || !uri || strcmp((const char *)uri, VR_XMPP_STREAM_NS)) {
		fail(d, VR_XMPP_E_STREAM, "first element <%.40s> in namespace '%.60s', want <stream:stream>",
		     name, uri ? (const char *)uri : "");
		return;
	}
	if (parse_off(d) > d->lim.max_stanza) {
		fail(d, VR_XMPP_E_TOO_BIG, "stream header over %zu bytes", d->lim.max_stanza);
		return;
	}
	for (i = 0; i < nb_ns; i++) {
		const xmlChar *v = ns[2 * i + 1];

		if (ns[2 * i])
			continue;
		/* A namespace value comes with '&' as "&#38;" too (attr_value()). */
		h.xmlns = v ? attr_value(d, v, v + strlen((const char *)v)) : "";
		if (!h.xmlns)
			return;
	}
	for (i = 0; i < nb_attrs; i++) {
		const char *an = (const char *)attrs[5 * i], *ap = (const char *)attrs[5 * i + 1];
		const char *v = attr_value(d, attrs[5 * i + 3], attrs[5 * i + 4]);

		if (!v)
			return;
		if (ap && !strcmp(ap, "xml") && !strcmp(an, "lang"))
			h.lang = v;
		else if (ap)
			continue;
		else if (!strcmp(an, "from"))
			h.from = v;
		else if (!strcmp(an, "to"))
			h.to = v;
		else if (!strcmp(an, "id"))
			h.id = v;
		else if (!strcmp(an, "version"))
			h.version = v;
	}
	/* libxml2 reports a start tag before it consumes its '>' (or "/>"), which is in its buffer already. */
	d->top = TOP_FILLER;
	d->scan = parse_off(d) + (d->ctxt->input->cur[0] == '/' ? 2 : 1);
	emit(d, &ev);
	arena_reset(&d->arena, false);
}

static void on_start(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri, int nb_ns,
		     const xmlChar **ns, int nb_attrs, int nb_defaulted, const xmlChar **attrs)
{
	struct vr_xmpp_decoder *d = ctx;
	struct xnode *n;
	int i;

	(void)nb_defaulted;
	if (!live(d))
		return;
	if (++d->depth > d->lim.max_depth) {
		fail(d, VR_XMPP_E_TOO_DEEP, "<%.40s> nested %u deep (limit %u)", name, d->depth, d->lim.max_depth);
		return;
	}
	if (d->depth == 1) {
		stream_open(d, name, uri, nb_ns, ns, nb_attrs, attrs);
		return;
	}
	if (d->depth == 2) {
		if (d->top == TOP_FILLER)
			scan_filler(d);
		if (!live(d))
			return;
		if (d->top != TOP_STANZA) {	/* not expected: the start tag is in this slice */
			d->top = TOP_STANZA;
			d->stanza_start = d->chunk_off;
		}
		d->root = d->cur = NULL;
		d->elements = 0;
	}
	if (++d->elements > d->lim.max_elements) {
		fail(d, VR_XMPP_E_TOO_MANY, "more than %u elements in one stanza", d->lim.max_elements);
		return;
	}
	n = arena_zalloc(d, sizeof(*n));
	if (!n)
		return;
	n->name = (const char *)name;
	n->prefix = (const char *)prefix;
	n->uri = (const char *)uri;
	for (i = nb_attrs - 1; i >= 0; i--) {
		struct xattr *a = arena_alloc(d, sizeof(*a));

		if (!a || !(a->value = attr_value(d, attrs[5 * i + 3], attrs[5 * i + 4])))
			return;
		a->name = (const char *)attrs[5 * i];
		a->prefix = (const char *)attrs[5 * i + 1];
		a->next = n->attrs;
		n->attrs = a;
	}
	n->parent = d->cur;
	if (d->cur) {
		if (d->cur->last)
			d->cur->last->next = n;
		else
			d->cur->child = n;
		d->cur->last = n;
	} else {
		d->root = n;
	}
	d->cur = n;
	d->text_len = 0;
}

static void stanza_done(struct vr_xmpp_decoder *d)
{
	struct vr_xmpp_stanza st;
	struct vr_xmpp_event ev = { .type = VR_XMPP_EV_STANZA, .u.stanza = &st };
	unsigned long long end = parse_off(d);

	if (end - d->stanza_start > d->lim.max_stanza) {
		fail(d, VR_XMPP_E_TOO_BIG, "<%.40s> stanza of %llu bytes (limit %zu)", d->root->name,
		     end - d->stanza_start, d->lim.max_stanza);
		return;
	}
	if (decode_stanza(d, d->root, &st))
		return;
	emit(d, &ev);
	d->root = d->cur = NULL;
	arena_reset(&d->arena, false);
	d->top = TOP_FILLER;
	d->scan = end;
}

static void on_end(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri)
{
	struct vr_xmpp_decoder *d = ctx;
	struct xnode *n;

	(void)name, (void)prefix, (void)uri;
	if (!live(d))
		return;
	if (d->depth == 1) {
		struct vr_xmpp_event ev = { .type = VR_XMPP_EV_STREAM_CLOSE };

		if (d->top == TOP_FILLER)
			scan_filler(d);
		if (!live(d))
			return;
		d->depth = 0;
		d->closed = true;
		halt(d);
		emit(d, &ev);
		return;
	}
	n = d->cur;
	if (!n->child) {
		n->text = arena_strndup(d, d->text ? d->text : "", d->text_len);
		if (!n->text)
			return;
	}
	d->text_len = 0;
	d->cur = n->parent;
	if (--d->depth == 1)
		stanza_done(d);
}

static void on_text(void *ctx, const xmlChar *s, int len)
{
	struct vr_xmpp_decoder *d = ctx;
	size_t n = (size_t)len;

	if (!live(d) || !d->depth)
		return;
	if (d->depth == 1) {
		/* Between stanzas scan_filler() classifies the raw bytes; this only backs it up. libxml2 hands
		 * text over in UTF-8, so U+0200 arrives as its two bytes. */
		size_t i;

		catch_up(d);
		if (!live(d))
			return;

		for (i = 0; i < n; i++) {
			if (is_ws(s[i]))
				continue;
			if (s[i] == 0xc8 && i + 1 < n && s[i + 1] == 0x80) {
				i++;
				continue;
			}
			fail(d, VR_XMPP_E_GARBAGE, "text between stanzas");
			return;
		}
		return;
	}
	if (!n)		/* an empty CDATA section: nothing to add (and d->text may still be NULL) */
		return;
	if (d->text_len + n > d->lim.max_stanza) {
		fail(d, VR_XMPP_E_TOO_BIG, "text over %zu bytes", d->lim.max_stanza);
		return;
	}
	if (d->text_len + n > d->text_cap) {
		size_t cap = d->text_cap ? d->text_cap : 256;
		char *t;

		while (cap < d->text_len + n)
			cap *= 2;
		t = realloc(d->text, cap);
		if (!t) {
			fail(d, VR_XMPP_E_NOMEM, "out of memory");
			return;
		}
		d->text = t;
		d->text_cap = cap;
	}
	memcpy(d->text + d->text_len, s, n);
	d->text_len += n;
}

/* Text in a CDATA section is text, except between stanzas, where only whitespace and U+0200 may be. */
static void on_cdata(void *ctx, const xmlChar *s, int len)
{
	struct vr_xmpp_decoder *d = ctx;

	if (live(d) && d->depth == 1) {
		catch_up(d);
		fail(d, VR_XMPP_E_GARBAGE, "CDATA section between stanzas");
		return;
	}
	on_text(ctx, s, len);
}

static void on_comment(void *ctx, const xmlChar *value)
{
	(void)value;
	catch_up(ctx);
	fail(ctx, VR_XMPP_E_RESTRICTED, "comment");
}

static void on_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
	(void)data;
	catch_up(ctx);
	fail(ctx, VR_XMPP_E_RESTRICTED, "processing instruction <?%.40s", target);
}

static void on_subset(void *ctx, const xmlChar *name, const xmlChar *ext_id, const xmlChar *sys_id)
{
	(void)ext_id, (void)sys_id;
	fail(ctx, VR_XMPP_E_DTD, "DOCTYPE %.40s", name);
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *pub, const xmlChar *sys,
			   xmlChar *content)
{
	(void)type, (void)pub, (void)sys, (void)content;
	fail(ctx, VR_XMPP_E_DTD, "entity declaration %.40s", name);
}

static void on_notation_decl(void *ctx, const xmlChar *name, const xmlChar *pub, const xmlChar *sys)
{
	(void)pub, (void)sys;
	fail(ctx, VR_XMPP_E_DTD, "notation declaration %.40s", name);
}

static void on_attribute_decl(void *ctx, const xmlChar *elem, const xmlChar *name, int type, int def,
			      const xmlChar *value, xmlEnumerationPtr tree)
{
	(void)elem, (void)type, (void)def, (void)value;
	xmlFreeEnumeration(tree);	/* ours to free, says SAX2 */
	fail(ctx, VR_XMPP_E_DTD, "attribute declaration %.40s", name);
}

static void on_element_decl(void *ctx, const xmlChar *name, int type, xmlElementContentPtr content)
{
	(void)type, (void)content;
	fail(ctx, VR_XMPP_E_DTD, "element declaration %.40s", name);
}

static void on_unparsed_decl(void *ctx, const xmlChar *name, const xmlChar *pub, const xmlChar *sys,
			     const xmlChar *notation)
{
	(void)pub, (void)sys, (void)notation;
	fail(ctx, VR_XMPP_E_DTD, "entity declaration %.40s", name);
}

static xmlEntityPtr on_get_entity(void *ctx, const xmlChar *name)
{
	(void)ctx, (void)name;
	return NULL;	/* only the predefined five, which libxml2 resolves before asking */
}

static void on_reference(void *ctx, const xmlChar *name)
{
	fail(ctx, VR_XMPP_E_ENTITY, "entity reference &%.40s;", name);
}

static void on_error(void *ctx, xmlErrorPtr e)
{
	struct vr_xmpp_decoder *d = ctx;
	char msg[160];
	size_t n;
	int code;

	if (!live(d) || e->level < XML_ERR_ERROR)
		return;
	catch_up(d);
	if (!live(d))
		return;
	/* A default namespace that is no URI (a sub-cluster name with a space) does not make a stream bad. */
	if (e->domain == XML_FROM_NAMESPACE && (e->code == XML_WAR_NS_URI || e->code == XML_WAR_NS_URI_RELATIVE))
		return;
	switch (e->code) {
	case XML_ERR_INVALID_CHAR:
	case XML_ERR_INVALID_ENCODING:
	case XML_ERR_UNKNOWN_ENCODING:
	case XML_ERR_UNSUPPORTED_ENCODING:
		code = VR_XMPP_E_ENCODING;
		break;
	case XML_ERR_UNDECLARED_ENTITY:
	case XML_WAR_UNDECLARED_ENTITY:
	case XML_ERR_ENTITY_LOOP:
	case XML_ERR_ENTITY_PE_INTERNAL:
	case XML_ERR_ENTITY_BOUNDARY:
		code = VR_XMPP_E_ENTITY;
		break;
	case XML_ERR_NO_MEMORY:
		/* Distinct names are interned for the whole session; a peer inventing new ones meets the cap. */
		if (d->ctxt->dict && xmlDictGetUsage(d->ctxt->dict) > d->lim.max_stanza * DICT_FACTOR) {
			fail(d, VR_XMPP_E_TOO_MANY, "more than %zu bytes of distinct names in the stream",
			     d->lim.max_stanza * DICT_FACTOR);
			return;
		}
		code = VR_XMPP_E_NOMEM;
		break;
	default:
		code = VR_XMPP_E_XML;
	}
	snprintf(msg, sizeof(msg), "%s", e->message ? e->message : "error");
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	fail(d, code, "line %d column %d: %s", e->line, e->int2, msg);
}

static xmlSAXHandler sax_handler = {
	.initialized = XML_SAX2_MAGIC,
	.startElementNs = on_start,
	.endElementNs = on_end,
	.characters = on_text,
	.ignorableWhitespace = on_text,
	.cdataBlock = on_cdata,
	.comment = on_comment,
	.processingInstruction = on_pi,
	.internalSubset = on_subset,
	.externalSubset = on_subset,
	.entityDecl = on_entity_decl,
	.notationDecl = on_notation_decl,
	.attributeDecl = on_attribute_decl,
	.elementDecl = on_element_decl,
	.unparsedEntityDecl = on_unparsed_decl,
	.getEntity = on_get_entity,
	.getParameterEntity = on_get_entity,
	.reference = on_reference,
	.serror = on_error,
};

/* ---- life cycle ---- */

void vr_xmpp_limits_default(struct vr_xmpp_limits *l)
{
	l->max_stanza = VR_XMPP_MAX_STANZA;
	l->max_depth = VR_XMPP_MAX_DEPTH;
	l->max_items = VR_XMPP_MAX_ITEMS;
	l->max_elements = VR_XMPP_MAX_ELEMENTS;
}

static int start_parser(struct vr_xmpp_decoder *d)
{
	d->ctxt = xmlCreatePushParserCtxt(&sax_handler, d, NULL, 0, NULL);
	if (!d->ctxt)
		return VR_XMPP_E_NOMEM;
	/* No XML_PARSE_NOENT (entities stay unexpanded), no DTD loading or validation, no network. */
	xmlCtxtUseOptions(d->ctxt, XML_PARSE_NONET | XML_PARSE_IGNORE_ENC);
	d->ctxt->replaceEntities = 0;
	d->ctxt->loadsubset = 0;
	d->ctxt->validate = 0;
	if (d->ctxt->dict)
		xmlDictSetLimit(d->ctxt->dict, d->lim.max_stanza * DICT_FACTOR);
	return 0;
}

static void stop_parser(struct vr_xmpp_decoder *d)
{
	if (d->ctxt) {
		xmlFreeParserCtxt(d->ctxt);
		d->ctxt = NULL;
	}
}

struct vr_xmpp_decoder *vr_xmpp_decoder_new(const struct vr_xmpp_limits *limits, vr_xmpp_event_fn fn,
					    void *user)
{
	struct vr_xmpp_decoder *d;

	if (!fn)
		return NULL;
	xmlInitParser();
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	if (limits)
		d->lim = *limits;
	else
		vr_xmpp_limits_default(&d->lim);
	if (!d->lim.max_stanza)
		d->lim.max_stanza = VR_XMPP_MAX_STANZA;
	if (!d->lim.max_depth)
		d->lim.max_depth = VR_XMPP_MAX_DEPTH;
	if (!d->lim.max_items)
		d->lim.max_items = VR_XMPP_MAX_ITEMS;
	if (!d->lim.max_elements)
		d->lim.max_elements = VR_XMPP_MAX_ELEMENTS;
	d->arena.max = d->lim.max_stanza * ARENA_FACTOR;
	if (d->arena.max < 4 * ARENA_BLOCK)
		d->arena.max = 4 * ARENA_BLOCK;
	d->fn = fn;
	d->user = user;
	if (start_parser(d)) {
		free(d);
		return NULL;
	}
	return d;
}

void vr_xmpp_decoder_free(struct vr_xmpp_decoder *d)
{
	if (!d)
		return;
	stop_parser(d);
	arena_reset(&d->arena, true);
	free(d->text);
	free(d);
}

int vr_xmpp_decoder_reset(struct vr_xmpp_decoder *d)
{
	if (d->busy)
		return VR_XMPP_E_STATE;
	stop_parser(d);
	arena_reset(&d->arena, false);
	d->err = 0;
	d->err_reported = false;
	d->detail[0] = '\0';
	d->closed = false;
	d->depth = 0;
	d->top = TOP_PROLOG;
	d->fed = d->scan = d->stanza_start = 0;
	d->half_keepalive = false;
	d->u8_need = 0;
	d->root = d->cur = NULL;
	d->elements = 0;
	d->text_len = 0;
	if (start_parser(d))
		return d->err = VR_XMPP_E_NOMEM;
	return 0;
}

void vr_xmpp_cleanup(void)
{
	xmlCleanupParser();
}

/* Strict UTF-8 (RFC 3629: no overlong forms, surrogates or code points past U+10FFFF) without NUL, over the
 * whole stream, carried across calls. libxml2 checks too, but says different things depending on where the
 * input was split, and seeing a NUL early keeps it from guessing UTF-16 or UCS-4 (their signatures all have
 * one). Returns how many of the n bytes are good. */
static size_t utf8_check(struct vr_xmpp_decoder *d, const unsigned char *p, size_t n)
{
	unsigned int need = d->u8_need;
	unsigned char lo = d->u8_lo, hi = d->u8_hi;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c;

		/* Eight ASCII bytes, none of them NUL, at a time: the common case. */
		while (!need && n - i >= 8) {
			uint64_t w;

			memcpy(&w, p + i, 8);
			if ((w & 0x8080808080808080ull) || ((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull))
				break;
			i += 8;
		}
		if (i == n)
			break;
		c = p[i];
		if (need) {
			if (c < lo || c > hi)
				break;
			need--;
			lo = 0x80;
			hi = 0xbf;
			continue;
		}
		if (c >= 0x01 && c <= 0x7f)
			continue;
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else {
			break;
		}
	}
	d->u8_need = need;
	d->u8_lo = lo;
	d->u8_hi = hi;
	return i;
}

int vr_xmpp_decoder_feed(struct vr_xmpp_decoder *d, const void *data, size_t len)
{
	const unsigned char *p = data;

	if (d->busy)
		return VR_XMPP_E_STATE;
	if (d->err || d->closed)
		return d->err;
	d->busy = true;
	while (len && live(d)) {
		size_t n = len < SLICE ? len : SLICE, good;

		/* Anything else first would let libxml2 guess an encoding from the first bytes (EBCDIC, a BOM). */
		if (!d->fed && p[0] != '<' && !is_ws(p[0])) {
			fail(d, VR_XMPP_E_STREAM, "stream starts with byte 0x%02x", p[0]);
			break;
		}
		/* The bytes before a bad one go in first, so what precedes it is decoded whatever the split. */
		good = utf8_check(d, p, n);
		if (!good) {
			fail(d, VR_XMPP_E_ENCODING, "%s byte 0x%02x at offset %llu", p[0] ? "invalid UTF-8" : "NUL", p[0],
			     d->fed);
			break;
		}
		n = good;
		d->chunk = p;
		d->chunk_off = d->fed;
		d->chunk_len = n;
		d->fed += n;
		xmlParseChunk(d->ctxt, (const char *)p, (int)n, 0);
		if (live(d) && !d->ctxt->wellFormed)
			fail(d, VR_XMPP_E_XML, "not well-formed (libxml2 error %d)", d->ctxt->errNo);
		if (live(d) && d->top == TOP_FILLER)
			scan_filler(d);
		if (live(d) && d->top == TOP_PROLOG && d->fed > d->lim.max_stanza)
			fail(d, VR_XMPP_E_TOO_BIG, "no stream header in the first %zu bytes", d->lim.max_stanza);
		if (live(d) && d->top == TOP_STANZA && d->fed - d->stanza_start > d->lim.max_stanza)
			fail(d, VR_XMPP_E_TOO_BIG, "stanza over %zu bytes", d->lim.max_stanza);
		p += n;
		len -= n;
	}
	d->chunk = NULL;
	d->chunk_len = 0;
	if (d->err && !d->err_reported) {
		struct vr_xmpp_event ev = { .type = VR_XMPP_EV_ERROR };

		d->err_reported = true;
		ev.u.error.code = d->err;
		ev.u.error.detail = d->detail;
		emit(d, &ev);
	}
	d->busy = false;
	return d->err;
}
