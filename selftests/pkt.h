/* A small packet builder for the datapath tests: append Ethernet, 802.1Q, IPv4 (with options), IPv6, UDP,
 * TCP, ICMP (echo and errors quoting a packet), GRE, MPLS and ARP headers to a buffer, then close them inside out
 * so that length fields and checksums (IPv4 header, UDP/TCP pseudo-header, ICMP) are computed, never pasted.
 * Every field is written byte by byte in network order, independently of the kernel's structs that the
 * datapath uses, so that a layout mistake on one side cannot hide behind the same mistake on the other. */
#ifndef VR_TEST_PKT_H
#define VR_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PKT_MAX 4096

#define ETH_HLEN_ 14
#define ETHTYPE_IP 0x0800
#define ETHTYPE_ARP 0x0806
#define ETHTYPE_VLAN 0x8100
#define ETHTYPE_QINQ 0x88a8
#define ETHTYPE_IPV6 0x86dd
#define ETHTYPE_LLDP 0x88cc
#define ETHTYPE_MPLS 0x8847

#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_GRE_ 47
#define IPPROTO_SCTP_ 132
#define IPPROTO_ICMPV6_ 58

#define IP_DF_ 0x4000
#define IP_MF_ 0x2000

/* An IPv4 address a.b.c.d as a host-order number. */
#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

struct pkt {
	uint8_t b[PKT_MAX];
	size_t len;
};

static inline void pkt_init(struct pkt *p)
{
	memset(p, 0, sizeof(*p));
}

/* Append n zero bytes; returns their offset (the builder never overflows: callers stay far below PKT_MAX,
 * and an overflow is clamped rather than written past the buffer). */
static inline size_t pkt_push(struct pkt *p, size_t n)
{
	size_t off = p->len;

	if (n > PKT_MAX - p->len)
		n = PKT_MAX - p->len;
	memset(p->b + off, 0, n);
	p->len += n;
	return off;
}

static inline void pkt_put16(struct pkt *p, size_t off, uint16_t v)
{
	p->b[off] = (uint8_t)(v >> 8);
	p->b[off + 1] = (uint8_t)v;
}

static inline void pkt_put32(struct pkt *p, size_t off, uint32_t v)
{
	pkt_put16(p, off, (uint16_t)(v >> 16));
	pkt_put16(p, off + 2, (uint16_t)v);
}

static inline uint16_t pkt_get16(const struct pkt *p, size_t off)
{
	return (uint16_t)(p->b[off] << 8 | p->b[off + 1]);
}

static inline uint32_t pkt_get32(const struct pkt *p, size_t off)
{
	return (uint32_t)pkt_get16(p, off) << 16 | pkt_get16(p, off + 2);
}

/* Payload bytes: a recognisable pattern that differs per seed. */
static inline size_t pkt_payload(struct pkt *p, size_t n, uint8_t seed)
{
	size_t off = pkt_push(p, n);

	for (size_t i = 0; i < n && off + i < PKT_MAX; i++)
		p->b[off + i] = (uint8_t)(seed + i * 7);
	return off;
}

/* RFC 1071: ones' complement sum of big-endian 16-bit words (an odd tail is padded with zero). */
static inline uint32_t csum_add(uint32_t sum, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(d[i] << 8 | d[i + 1]);
	if (n & 1)
		sum += (uint32_t)d[n - 1] << 8;
	return sum;
}

static inline uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Ethernet II header. */
static inline size_t pkt_eth(struct pkt *p, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	size_t off = pkt_push(p, ETH_HLEN_);

	memcpy(p->b + off, dst, 6);
	memcpy(p->b + off + 6, src, 6);
	pkt_put16(p, off + 12, type);
	return off;
}

/* The 4 bytes of an 802.1Q/802.1ad tag after the Ethernet addresses: TCI, then the next Ethertype (the
 * caller gave the tag's own type to pkt_eth). */
static inline size_t pkt_vlan(struct pkt *p, uint16_t tci, uint16_t type)
{
	size_t off = pkt_push(p, 4);

	pkt_put16(p, off, tci);
	pkt_put16(p, off + 2, type);
	return off;
}

struct ipv4_spec {
	uint8_t ihl;      /* header length in 32-bit words: 0 means 5; >5 appends options */
	uint8_t tos;
	uint16_t tot_len; /* 0: computed by pkt_ipv4_end */
	uint16_t id;
	uint16_t frag;    /* flags and fragment offset, host order (IP_DF_, IP_MF_, offset in 8-byte units) */
	uint8_t ttl;
	uint8_t proto;
	uint32_t src, dst; /* host order */
};

/* IPv4 header with (ihl - 5) * 4 bytes of options: a Router Alert (RFC 2113) first, then NOPs, then EOL.
 * Length and checksum are left for pkt_ipv4_end. */
static inline size_t pkt_ipv4(struct pkt *p, const struct ipv4_spec *s)
{
	uint8_t ihl = s->ihl ? s->ihl : 5;
	size_t off = pkt_push(p, (size_t)ihl * 4);
	size_t opt = off + 20, olen = (size_t)(ihl - 5) * 4;

	p->b[off] = (uint8_t)(4 << 4 | (ihl & 0xf));
	p->b[off + 1] = s->tos;
	pkt_put16(p, off + 2, s->tot_len);
	pkt_put16(p, off + 4, s->id);
	pkt_put16(p, off + 6, s->frag);
	p->b[off + 8] = s->ttl;
	p->b[off + 9] = s->proto;
	pkt_put32(p, off + 12, s->src);
	pkt_put32(p, off + 16, s->dst);
	if (olen >= 4) {
		p->b[opt] = 0x94; /* Router Alert, copied flag set */
		p->b[opt + 1] = 4;
		for (size_t i = 4; i < olen; i++)
			p->b[opt + i] = i + 1 < olen ? 1 : 0; /* NOP ... EOL */
	}
	return off;
}

/* Recompute the header checksum of the IPv4 header at off (over its IHL, bounded by the packet). */
static inline void pkt_ipv4_csum(struct pkt *p, size_t off)
{
	size_t hlen = (size_t)(p->b[off] & 0xf) * 4;

	if (hlen < 20)
		hlen = 20;
	if (off + hlen > p->len)
		hlen = p->len - off;
	pkt_put16(p, off + 10, 0);
	pkt_put16(p, off + 10, csum_fold(csum_add(0, p->b + off, hlen)));
}

/* Close the IPv4 header at off: total length = everything after it (unless the spec fixed it), checksum. */
static inline void pkt_ipv4_end(struct pkt *p, size_t off)
{
	if (!pkt_get16(p, off + 2))
		pkt_put16(p, off + 2, (uint16_t)(p->len - off));
	pkt_ipv4_csum(p, off);
}

/* IPv6 header (payload length filled by pkt_ipv6_end). Addresses: 16 bytes each. */
static inline size_t pkt_ipv6(struct pkt *p, uint8_t next, uint8_t hops, const uint8_t src[16], const uint8_t dst[16])
{
	size_t off = pkt_push(p, 40);

	p->b[off] = 6 << 4;
	p->b[off + 6] = next;
	p->b[off + 7] = hops;
	memcpy(p->b + off + 8, src, 16);
	memcpy(p->b + off + 24, dst, 16);
	return off;
}

static inline void pkt_ipv6_end(struct pkt *p, size_t off)
{
	pkt_put16(p, off + 4, (uint16_t)(p->len - off - 40));
}

/* The pseudo-header sum of the IP header at ip_off (IPv4 or IPv6) for an L4 segment of len bytes. */
static inline uint32_t pkt_pseudo_sum(const struct pkt *p, size_t ip_off, uint8_t proto, size_t len)
{
	uint32_t sum = proto + (uint32_t)len;

	if ((p->b[ip_off] >> 4) == 6) {
		sum = csum_add(sum, p->b + ip_off + 8, 32);
		sum += (uint32_t)(len >> 16);
		return sum;
	}
	return csum_add(sum, p->b + ip_off + 12, 8);
}

static inline size_t pkt_udp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	size_t off = pkt_push(p, 8);

	pkt_put16(p, off, sport);
	pkt_put16(p, off + 2, dport);
	return off;
}

/* Close the UDP header at off (length = the rest of the packet); with_csum: the real checksum over the
 * pseudo-header of the IP header at ip_off (0 transmitted as 0xffff), else 0 (RFC 7510 tunnels). */
static inline void pkt_udp_end(struct pkt *p, size_t ip_off, size_t off, bool with_csum)
{
	size_t len = p->len - off;
	uint16_t c;

	pkt_put16(p, off + 4, (uint16_t)len);
	pkt_put16(p, off + 6, 0);
	if (!with_csum)
		return;
	c = csum_fold(csum_add(pkt_pseudo_sum(p, ip_off, IPPROTO_UDP_, len), p->b + off, len));
	pkt_put16(p, off + 6, c ? c : 0xffff);
}

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_PSH 0x08
#define TCP_ACK 0x10

static inline size_t pkt_tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags)
{
	size_t off = pkt_push(p, 20);

	pkt_put16(p, off, sport);
	pkt_put16(p, off + 2, dport);
	pkt_put32(p, off + 4, seq);
	pkt_put32(p, off + 8, ack);
	p->b[off + 12] = 5 << 4;
	p->b[off + 13] = flags;
	pkt_put16(p, off + 14, 65535);
	return off;
}

static inline void pkt_tcp_end(struct pkt *p, size_t ip_off, size_t off)
{
	size_t len = p->len - off;

	pkt_put16(p, off + 16, 0);
	pkt_put16(p, off + 16, csum_fold(csum_add(pkt_pseudo_sum(p, ip_off, IPPROTO_TCP_, len), p->b + off, len)));
}

/* Checksum offload as the sender's stack leaves it (CHECKSUM_PARTIAL, virtio-net NEEDS_CSUM): the checksum
 * field, field bytes into the L4 header at off, holds the folded pseudo-header sum (not complemented) for
 * the L4 length up to the end of the packet; whoever completes it sums from off to the end and stores the
 * complement there. For a GSO packet that length is the whole super-packet's, as Linux writes it. */
static inline void pkt_l4_csum_partial(struct pkt *p, size_t ip_off, size_t off, uint8_t proto, size_t field)
{
	pkt_put16(p, off + field, (uint16_t)~csum_fold(pkt_pseudo_sum(p, ip_off, proto, p->len - off)));
}

#define ICMP_ECHO_REPLY_ 0
#define ICMP_ECHO_ 8

static inline size_t pkt_icmp_echo(struct pkt *p, uint8_t type, uint16_t id, uint16_t seq)
{
	size_t off = pkt_push(p, 8);

	p->b[off] = type;
	pkt_put16(p, off + 4, id);
	pkt_put16(p, off + 6, seq);
	return off;
}

static inline void pkt_icmp_end(struct pkt *p, size_t off)
{
	pkt_put16(p, off + 2, 0);
	pkt_put16(p, off + 2, csum_fold(csum_add(0, p->b + off, p->len - off)));
}

/* Append n bytes copied from d (a quoted packet, a captured frame); returns their offset. */
static inline size_t pkt_bytes(struct pkt *p, const uint8_t *d, size_t n)
{
	size_t off = pkt_push(p, n);

	memcpy(p->b + off, d, p->len - off);
	return off;
}

#define ICMP_DEST_UNREACH_ 3
#define ICMP_FRAG_NEEDED_ 4 /* code of "destination unreachable": fragmentation needed and DF set */

/* How much of an offending IPv4 datagram (len bytes at ip) an ICMP error quotes: its internet header,
 * options included, and the first data bytes after it (RFC 792: at least 8; RFC 1812 4.3.2.3 allows more);
 * less if the datagram is shorter. */
static inline size_t pkt_icmp_quote_len(const uint8_t *ip, size_t len, size_t data)
{
	size_t want = (size_t)(ip[0] & 0xf) * 4 + data;

	return want < len ? want : len;
}

/* An ICMP error (RFC 792): type, code, checksum, the 32-bit field after it, then the quoted datagram. For
 * "fragmentation needed" (type 3 code 4) that field is 16 unused bits and the next-hop MTU (RFC 1191): pass
 * the MTU as rest. The checksum is left for pkt_icmp_end. */
static inline size_t pkt_icmp_error(struct pkt *p, uint8_t type, uint8_t code, uint32_t rest, const uint8_t *quote,
				    size_t qlen)
{
	size_t off = pkt_push(p, 8);

	p->b[off] = type;
	p->b[off + 1] = code;
	pkt_put32(p, off + 4, rest);
	pkt_bytes(p, quote, qlen);
	return off;
}

/* One MPLS label stack entry (RFC 3032): label 20 bits, traffic class 3, bottom of stack 1, TTL 8. */
static inline size_t pkt_mpls(struct pkt *p, uint32_t label, uint8_t tc, bool bos, uint8_t ttl)
{
	size_t off = pkt_push(p, 4);

	pkt_put32(p, off, (label & 0xfffff) << 12 | (uint32_t)(tc & 7) << 9 | (uint32_t)bos << 8 | ttl);
	return off;
}

/* GRE flags (RFC 2784, RFC 2890; RFC 1701's routing and strict source route), host order. */
#define GRE_CSUM 0x8000
#define GRE_ROUTING 0x4000
#define GRE_KEY 0x2000
#define GRE_SEQ 0x1000
#define GRE_STRICT 0x0800

/* A GRE header: flags (and version, in the low 3 bits), the payload's Ethertype, then the optional fields in
 * their order (RFC 2890): checksum + reserved1 when GRE_CSUM is set (the checksum left for pkt_gre_end),
 * key (0x0a0b0c0d) when GRE_KEY is, sequence number (7) when GRE_SEQ is. */
static inline size_t pkt_gre(struct pkt *p, uint16_t flags, uint16_t proto)
{
	size_t off = pkt_push(p, 4);

	pkt_put16(p, off, flags);
	pkt_put16(p, off + 2, proto);
	if (flags & GRE_CSUM)
		pkt_push(p, 4);
	if (flags & GRE_KEY)
		pkt_put32(p, pkt_push(p, 4), 0x0a0b0c0d);
	if (flags & GRE_SEQ)
		pkt_put32(p, pkt_push(p, 4), 7);
	return off;
}

/* Close the GRE header at off: with GRE_CSUM, the checksum over the GRE header and its payload (RFC 2784 2.5). */
static inline void pkt_gre_end(struct pkt *p, size_t off)
{
	if (!(pkt_get16(p, off) & GRE_CSUM))
		return;
	pkt_put16(p, off + 4, 0);
	pkt_put16(p, off + 4, csum_fold(csum_add(0, p->b + off, p->len - off)));
}

#define ARP_REQUEST 1
#define ARP_REPLY 2

/* ARP for IPv4 over Ethernet (RFC 826): 28 bytes. */
static inline size_t pkt_arp(struct pkt *p, uint16_t op, const uint8_t sha[6], uint32_t sip, const uint8_t tha[6],
			     uint32_t tip)
{
	size_t off = pkt_push(p, 28);

	pkt_put16(p, off, 1);          /* hardware: Ethernet */
	pkt_put16(p, off + 2, ETHTYPE_IP);
	p->b[off + 4] = 6;
	p->b[off + 5] = 4;
	pkt_put16(p, off + 6, op);
	memcpy(p->b + off + 8, sha, 6);
	pkt_put32(p, off + 14, sip);
	memcpy(p->b + off + 18, tha, 6);
	pkt_put32(p, off + 24, tip);
	return off;
}

#endif /* VR_TEST_PKT_H */
