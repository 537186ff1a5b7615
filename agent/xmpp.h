/* The XMPP codec of the Tungsten Fabric control-node dialect (../shared/TF-XMPP.md), shared by
 * vrouter-agent and vrouter-controller. A pure codec, no sockets and no timers, so it can be unit tested
 * and fuzzed on its own:
 *  - the decoder (xmpp_parse.c) is fed the received bytes in chunks of any size (down to one byte) and
 *    calls back with the peer's stream header, each complete stanza decoded into the plain structs below,
 *    keepalives (whitespace and U+0200 between stanzas), the end of the stream, and errors. It runs on
 *    libxml2's push parser in SAX mode with the XMPP subset of XML only (RFC 6120 11.1): no DTD, no entity
 *    but the five predefined, no comments or processing instructions, no network access; stanza size,
 *    element depth, elements per stanza and items per message are limited, so its memory is bounded;
 *  - the builders (xmpp_build.c) append the exact text of the stanzas we send to a bounded growable buffer,
 *    escaping every attribute and text value.
 * Like libvrouter, nothing here prints or exits. Decoder errors are the VR_XMPP_E_* codes below (the session
 * owner closes that session and counts it); builders return 0 (or a count) or -errno. */
#ifndef VR_AGENT_XMPP_H
#define VR_AGENT_XMPP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* Names fixed by the dialect (TF src/xmpp/xmpp_init.cc, xmpp_str.h). */
#define VR_XMPP_PORT		5269
#define VR_XMPP_CONTROL_JID	"network-control@contrailsystems.com"
#define VR_XMPP_BGP_PEER	"bgp-peer"
#define VR_XMPP_STREAM_NS	"http://etherx.jabber.org/streams"
#define VR_XMPP_PUBSUB_NS	"http://jabber.org/protocol/pubsub"
#define VR_XMPP_EOR_NODE	"0/0/EndOfRib"
/* The keepalive: U+0200, in UTF-8. */
#define VR_XMPP_KEEPALIVE	"\xc8\x80"

/* BGP address families as the dialect writes them in nodes and nlri. */
#define VR_XMPP_AFI_IPV4	1
#define VR_XMPP_AFI_IPV6	2
#define VR_XMPP_SAFI_UNICAST	1

/* The control node sends at most this many routes in one <message> (xmpp_message_builder.h). */
#define VR_XMPP_MAX_REACH_PER_MSG	32
#define VR_XMPP_MAX_UNREACH_PER_MSG	256

/* Decoder limits; vr_xmpp_limits_default() gives these. */
#define VR_XMPP_MAX_STANZA	(64 * 1024)	/* bytes of one stanza (also of the stream header) */
#define VR_XMPP_MAX_DEPTH	16		/* open elements, the stream element counting as 1 */
#define VR_XMPP_MAX_ITEMS	256		/* <item> + <retract> in one message */
#define VR_XMPP_MAX_ELEMENTS	4096		/* elements in one stanza */

struct vr_xmpp_limits {
	size_t max_stanza;
	unsigned int max_depth;
	unsigned int max_items;
	unsigned int max_elements;
};

void vr_xmpp_limits_default(struct vr_xmpp_limits *l);

/* Decoder error codes (negative; 0 is success). vr_xmpp_strerror() names them; the decoder also keeps a
 * detail line (vr_xmpp_decoder_error()). */
enum vr_xmpp_err {
	VR_XMPP_OK = 0,
	VR_XMPP_E_XML = -1,		/* not well-formed XML (libxml2's message in the detail) */
	VR_XMPP_E_ENCODING = -2,	/* invalid UTF-8, a NUL or other character XML excludes */
	VR_XMPP_E_DTD = -3,		/* a DOCTYPE or any DTD declaration */
	VR_XMPP_E_ENTITY = -4,		/* an entity reference other than the five predefined ones */
	VR_XMPP_E_RESTRICTED = -5,	/* a comment or processing instruction (RFC 6120 11.1) */
	VR_XMPP_E_TOO_BIG = -6,		/* a stanza or stream header over max_stanza bytes */
	VR_XMPP_E_TOO_DEEP = -7,	/* elements nested deeper than max_depth */
	VR_XMPP_E_TOO_MANY = -8,	/* over max_items or max_elements, or the parser's name dictionary full */
	VR_XMPP_E_GARBAGE = -9,		/* text between stanzas other than whitespace and U+0200 */
	VR_XMPP_E_STREAM = -10,		/* the stream does not start with <stream:stream> */
	VR_XMPP_E_STANZA = -11,		/* a stanza lacks a required part or has one twice */
	VR_XMPP_E_ADDRESS = -12,	/* a bad IP address, prefix, prefix length or MAC address */
	VR_XMPP_E_NUMBER = -13,		/* a bad or out-of-range number */
	VR_XMPP_E_NOMEM = -14,		/* out of memory */
	VR_XMPP_E_STOPPED = -15,	/* not a protocol error: the event callback asked to stop */
	VR_XMPP_E_STATE = -16,		/* feed called from inside the event callback */
};

const char *vr_xmpp_strerror(int err);

/* An IPv4 or IPv6 address (afi VR_XMPP_AFI_*); IPv4 in v4, network byte order, the rest zero. */
union vr_xmpp_ip {
	__be32 v4;
	__u8 v6[16];
};

struct vr_xmpp_addr {
	__u8 afi;
	union vr_xmpp_ip ip;
};

/* A prefix "P/len"; the decoder clears host bits, as the control node does (Ip4SubnetParse). */
struct vr_xmpp_prefix {
	__u8 afi;
	__u8 plen;
	union vr_xmpp_ip ip;
};

/* tunnel-encapsulation-list, as a set. An empty list means gre (vr_xmpp_encaps()). */
enum {
	VR_XMPP_ENCAP_GRE = 1 << 0,
	VR_XMPP_ENCAP_UDP = 1 << 1,
	VR_XMPP_ENCAP_VXLAN = 1 << 2,
	VR_XMPP_ENCAP_OTHER = 1 << 3,	/* a name we do not know (TF also has mpls, native); never encoded */
};

/* Strings in decoded structs point into the decoder's memory and live until the callback returns; NULL means
 * the element or attribute was absent. */
struct vr_xmpp_nexthop {
	struct vr_xmpp_addr addr;	/* <af> + <address> */
	bool has_mac;
	__u8 mac[6];
	__u32 label;			/* MPLS label (or VNI for vxlan); 0 when absent */
	unsigned int encaps;		/* VR_XMPP_ENCAP_* as listed; 0: no list */
	const char *virtual_network;
};

/* Which optional scalar elements of an entry were present (decoder output; builders ignore it). */
enum {
	VR_XMPP_HAVE_VERSION = 1 << 0,
	VR_XMPP_HAVE_SEQUENCE = 1 << 1,
	VR_XMPP_HAVE_LOCAL_PREF = 1 << 2,
	VR_XMPP_HAVE_MED = 1 << 3,
	VR_XMPP_HAVE_NEXTHOPS = 1 << 4,	/* a <next-hops> element, even an empty one */
	VR_XMPP_HAVE_SG_LIST = 1 << 5,
};

/* EntryType of xmpp_unicast.xsd, the inet/inet6 unicast route. */
struct vr_xmpp_entry {
	struct vr_xmpp_prefix nlri;	/* <nlri><af/><safi/><address>P/len</address></nlri> */
	__u8 safi;			/* nlri safi (1 when absent) */
	unsigned int n_nexthops;	/* all <next-hop>s as received: the controller rejects != 1 */
	struct vr_xmpp_nexthop *nexthops;
	__u32 version;
	__u32 sequence_number;
	__u32 local_pref;		/* 100 low, 200 high */
	__u32 med;
	unsigned int n_sgs;
	__u32 *sgs;			/* security-group-list */
	const char *virtual_network;	/* entry-level <virtual-network> (the control node sends it) */
	const char *sub_protocol;	/* e.g. "interface" */
	bool has_mobility;		/* <mobility seqno=".." sticky=".."/> (the control node sends it) */
	bool mobility_sticky;
	__u32 mobility_seqno;
	unsigned int have;		/* VR_XMPP_HAVE_* */
};

/* A node "AFI/SAFI/VRF/PREFIX[/INSTANCE]" (publish, associate, dissociate) or "AFI/SAFI/VRF" (items). */
struct vr_xmpp_route_node {
	const char *text;		/* the node attribute as received */
	__u16 afi;
	__u8 safi;
	const char *vrf;
	bool decoded;			/* afi/safi is inet or inet6 unicast: prefix (and entries) decoded */
	struct vr_xmpp_prefix prefix;	/* route nodes of decoded families only */
	bool has_instance;		/* TF's optional primary instance id after the prefix */
	__u32 instance;
};

struct vr_xmpp_stream_header {
	const char *from, *to, *id, *version, *lang;
	const char *xmlns;		/* default namespace; "" when declared empty; NULL when absent */
};

enum vr_xmpp_stanza_kind {
	VR_XMPP_ST_OTHER,		/* anything else: name/type/id/action tell what it was */
	VR_XMPP_ST_SUBSCRIBE,		/* iq set, pubsub subscribe */
	VR_XMPP_ST_UNSUBSCRIBE,		/* iq set, pubsub unsubscribe */
	VR_XMPP_ST_PUBLISH,		/* iq set, pubsub publish */
	VR_XMPP_ST_ASSOCIATE,		/* iq set, pubsub collection associate */
	VR_XMPP_ST_DISSOCIATE,		/* iq set, pubsub collection dissociate */
	VR_XMPP_ST_IQ_RESULT,		/* iq type="result" */
	VR_XMPP_ST_IQ_ERROR,		/* iq type="error" */
	VR_XMPP_ST_ITEMS,		/* message, pubsub event items (routes, retracts, EndOfRib) */
	VR_XMPP_ST_STREAM_ERROR,	/* <stream:error> */
};

struct vr_xmpp_subscribe {
	const char *node;		/* the VRF name */
	bool has_instance_id;		/* <options><instance-id>, inside or beside <subscribe> */
	__u32 instance_id;
};

struct vr_xmpp_publish {
	struct vr_xmpp_route_node node;
	bool has_item;			/* no <item> at all: TF reads it as an EndOfRib marker */
	bool has_entry;			/* decoded families only */
	struct vr_xmpp_entry entry;	/* its nlri equals the node's prefix */
};

struct vr_xmpp_collection {
	const char *node;		/* <collection node="VRF"> */
	struct vr_xmpp_route_node item;	/* <associate node=".."/> or <dissociate node=".."/> */
};

struct vr_xmpp_items {
	struct vr_xmpp_route_node node;	/* "AFI/SAFI/VRF"; prefix unused */
	bool end_of_rib;		/* node "0/0/EndOfRib" */
	unsigned int n_items, n_retracts; /* counted for every family */
	struct vr_xmpp_entry *items;	/* decoded families: the <item>s; each id equals its entry's nlri */
	struct vr_xmpp_prefix *retracts; /* decoded families: the <retract id=..>s */
};

struct vr_xmpp_stanza {
	enum vr_xmpp_stanza_kind kind;
	const char *name;		/* element name: "iq", "message", ... */
	const char *type, *id, *from, *to;
	const char *action;		/* first child of <pubsub> or of the stanza, e.g. "subscribe", "event" */
	union {
		struct vr_xmpp_subscribe subscribe;	/* SUBSCRIBE, UNSUBSCRIBE (no instance id) */
		struct vr_xmpp_publish publish;
		struct vr_xmpp_collection collection;	/* ASSOCIATE, DISSOCIATE */
		struct vr_xmpp_items items;
		const char *condition;			/* IQ_ERROR, STREAM_ERROR: first child element */
	} u;
};

enum vr_xmpp_event_type {
	VR_XMPP_EV_STREAM_OPEN = 1,	/* the peer's stream header */
	VR_XMPP_EV_STANZA,		/* a complete stanza, decoded */
	VR_XMPP_EV_KEEPALIVE,		/* filler between stanzas: restart the hold timer */
	VR_XMPP_EV_STREAM_CLOSE,	/* </stream:stream>; later bytes are ignored */
	VR_XMPP_EV_ERROR,		/* the decoder failed; feed returns the same code */
};

struct vr_xmpp_event {
	enum vr_xmpp_event_type type;
	union {
		const struct vr_xmpp_stream_header *header;
		const struct vr_xmpp_stanza *stanza;
		struct {
			unsigned int spaces;	/* whitespace bytes */
			unsigned int keepalives; /* U+0200 characters */
		} keepalive;
		struct {
			int code;		/* VR_XMPP_E_* */
			const char *detail;
		} error;
	} u;
};

/* Called for each event, in stream order, from inside vr_xmpp_decoder_feed(). Return 0 to go on; anything
 * else stops the decoder (feed returns VR_XMPP_E_STOPPED). Must not free or feed the decoder. */
typedef int (*vr_xmpp_event_fn)(void *user, const struct vr_xmpp_event *ev);

struct vr_xmpp_decoder;

/* limits NULL means the defaults. Returns NULL when out of memory. */
struct vr_xmpp_decoder *vr_xmpp_decoder_new(const struct vr_xmpp_limits *limits, vr_xmpp_event_fn fn,
					    void *user);
void vr_xmpp_decoder_free(struct vr_xmpp_decoder *d);
/* Start over with a new stream (after STARTTLS, or a new connection); clears an error. 0 or VR_XMPP_E_NOMEM. */
int vr_xmpp_decoder_reset(struct vr_xmpp_decoder *d);
/* 0, or a VR_XMPP_E_* code; after an error every further call returns the same code until a reset. */
int vr_xmpp_decoder_feed(struct vr_xmpp_decoder *d, const void *data, size_t len);
/* The error (0 if none) and its one-line explanation (printable ASCII; never NULL). */
int vr_xmpp_decoder_error(const struct vr_xmpp_decoder *d, const char **detail);
/* Frees libxml2's global state; for leak checkers, once at exit, after every decoder is freed. */
void vr_xmpp_cleanup(void);

/* The effective encapsulations of a next hop: as listed, gre when none is. */
static inline unsigned int vr_xmpp_encaps(const struct vr_xmpp_nexthop *nh)
{
	return nh->encaps ? nh->encaps : VR_XMPP_ENCAP_GRE;
}

/* The encapsulation to reach next hop nh by: the first of prefs[0..n) (single VR_XMPP_ENCAP_* bits, most
 * preferred first) that it offers; 0 when it offers none of them. The order of the next hop's own list does not
 * matter, as with the control node's agents: the receiver's preference decides. */
static inline unsigned int vr_xmpp_encap_choose(const unsigned int *prefs, size_t n, const struct vr_xmpp_nexthop *nh)
{
	unsigned int offered = vr_xmpp_encaps(nh);

	for (size_t i = 0; i < n; i++)
		if (offered & prefs[i])
			return prefs[i];
	return 0;
}

/* Strict "A.B.C.D/len" (four decimal parts, no leading zeros) or IPv6 "X::Y/len"; afi says which.
 * Host bits are cleared. 0 or -EINVAL. */
int vr_xmpp_prefix_parse(__u8 afi, const char *text, struct vr_xmpp_prefix *p);
/* "A.B.C.D/len" / "X::Y/len"; -ENOSPC when it does not fit, -EINVAL for a bad afi or length. */
int vr_xmpp_prefix_format(const struct vr_xmpp_prefix *p, char *out, size_t size);
#define VR_XMPP_PREFIX_STRLEN 50	/* INET6_ADDRSTRLEN + "/128" */

/* Builders. Each appends whole stanzas or nothing: on failure the buffer is left as it was. */
struct vr_xmpp_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;	/* appends that would grow len beyond this fail with -ENOBUFS */
};
#define VR_XMPP_BUF_MAX (16u << 20)

/* max 0 means VR_XMPP_BUF_MAX. */
void vr_xmpp_buf_init(struct vr_xmpp_buf *b, size_t max);
void vr_xmpp_buf_free(struct vr_xmpp_buf *b);
/* Drop the first n bytes (those a partial send wrote out). */
void vr_xmpp_buf_consume(struct vr_xmpp_buf *b, size_t n);

/* The agent's stream open, no closing slash:
 * <stream:stream from="HOST" to="network-control@contrailsystems.com" version="1.0" xml:lang="en"
 *  xmlns="" xmlns:stream="http://etherx.jabber.org/streams">   (xmlns NULL means "") */
int vr_xmpp_build_stream_open(struct vr_xmpp_buf *b, const char *host, const char *xmlns);
/* The control node's answer: from="network-control@contrailsystems.com" to="HOST" id="ID", the rest as above. */
int vr_xmpp_build_stream_answer(struct vr_xmpp_buf *b, const char *host, const char *id, const char *xmlns);
int vr_xmpp_build_stream_close(struct vr_xmpp_buf *b);	/* </stream:stream> */
int vr_xmpp_build_keepalive(struct vr_xmpp_buf *b);	/* U+0200 */

/* Agent -> control node; host is the agent's name, seq numbers the ids ("subscribeN", "pubsubN",
 * "collectionN"), vrf the VRF (node) name. */
int vr_xmpp_build_subscribe(struct vr_xmpp_buf *b, const char *host, unsigned int seq, const char *vrf,
			    __u32 instance_id);
int vr_xmpp_build_unsubscribe(struct vr_xmpp_buf *b, const char *host, unsigned int seq, const char *vrf);
/* The publish (id pubsubN) + collection associate (id collectionN) pair, node "AFI/SAFI/VRF/PREFIX" from
 * the entry's nlri and safi. */
int vr_xmpp_build_publish(struct vr_xmpp_buf *b, const char *host, unsigned int seq, const char *vrf,
			  const struct vr_xmpp_entry *e);
/* The withdraw pair: a publish carrying just the nlri, then collection dissociate. */
int vr_xmpp_build_withdraw(struct vr_xmpp_buf *b, const char *host, unsigned int seq, const char *vrf,
			   __u8 safi, const struct vr_xmpp_prefix *p);

/* Control node -> agent (to="HOST/bgp-peer"), node "AFI/SAFI/VRF". Routes go out VR_XMPP_MAX_REACH_PER_MSG,
 * retracts VR_XMPP_MAX_UNREACH_PER_MSG to a message, as the control node does (it never mixes the two);
 * item ids are the entries' nlri. Return the number of messages appended, or -errno. */
int vr_xmpp_build_items(struct vr_xmpp_buf *b, const char *host, __u16 afi, __u8 safi, const char *vrf,
			const struct vr_xmpp_entry *entries, size_t n);
int vr_xmpp_build_retracts(struct vr_xmpp_buf *b, const char *host, __u16 afi, __u8 safi, const char *vrf,
			   const struct vr_xmpp_prefix *prefixes, size_t n);
/* <items node="0/0/EndOfRib"></items> in the same message envelope. */
int vr_xmpp_build_end_of_rib(struct vr_xmpp_buf *b, const char *host);

#endif
