/* Header parsing with every length checked against the packet end, as the verifier demands and hostile
 * input deserves. All helpers return NULL (or -1) on a short or malformed header. */
#ifndef VR_BPF_PARSE_H
#define VR_BPF_PARSE_H

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <stdbool.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>

#define VR_IP_MF 0x2000
#define VR_IP_OFFSET 0x1fff
#define VR_IP_DF 0x4000

/* A validated IPv4 header at iph: version 4, IHL >= 5 with the whole header readable (before end), total
 * length covering the header and not beyond the avail bytes the packet has from iph on (XDP: end - iph;
 * an skb may hold more than its linear part). Returns the header length in bytes, or -1. */
static __always_inline int vr_ipv4_check(struct iphdr *iph, void *end, __u32 avail)
{
	__u32 hlen, tot;

	if ((void *)(iph + 1) > end)
		return -1;
	if (iph->version != 4 || iph->ihl < 5)
		return -1;
	hlen = iph->ihl * 4;
	if ((void *)iph + hlen > end)
		return -1;
	tot = bpf_ntohs(iph->tot_len);
	if (tot < hlen || tot > avail)
		return -1;
	return hlen;
}

static __always_inline int vr_ipv4_is_fragment(const struct iphdr *iph)
{
	return (iph->frag_off & bpf_htons(VR_IP_MF | VR_IP_OFFSET)) != 0;
}

/* The 32-bit port word of a TCP/UDP/SCTP packet (0 when there is none or the packet is a fragment). */
static __always_inline __u32 vr_ipv4_ports(struct iphdr *iph, __u32 hlen, void *end)
{
	__u32 *ports = (void *)iph + hlen;

	if (vr_ipv4_is_fragment(iph))
		return 0;
	if (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP && iph->protocol != IPPROTO_SCTP)
		return 0;
	if ((void *)(ports + 1) > end)
		return 0;
	return *ports;
}

/* A validated IPv6 header at ip6: version 6, the payload length within the avail bytes the packet has from ip6
 * on. Returns the packet's length (header + payload), or -1. A jumbogram (payload length 0 with a hop-by-hop
 * jumbo option) reads as a bare header: it never fits a tunnel anyway. */
static __always_inline int vr_ipv6_check(struct ipv6hdr *ip6, void *end, __u32 avail)
{
	__u32 len;

	if ((void *)(ip6 + 1) > end || ip6->version != 6)
		return -1;
	len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	if (len > avail)
		return -1;
	return len;
}

/* The port word of an IPv6 packet whose transport header follows the fixed header directly (0 when an
 * extension header comes first: a fragment header among them, so every fragment hashes alike). */
static __always_inline __u32 vr_ipv6_ports(struct ipv6hdr *ip6, void *end)
{
	__u32 *ports = (void *)(ip6 + 1);

	if (ip6->nexthdr != IPPROTO_TCP && ip6->nexthdr != IPPROTO_UDP && ip6->nexthdr != IPPROTO_SCTP)
		return 0;
	if ((void *)(ports + 1) > end)
		return 0;
	return *ports;
}

/* The traffic class of an IPv6 header (its top three bits go to the MPLS TC field, like IPv4's precedence). */
static __always_inline __u8 vr_ipv6_tclass(const struct ipv6hdr *ip6)
{
	return ip6->priority << 4 | ip6->flow_lbl[0] >> 4;
}

/* IPv6 address classes the vRouter never routes: link-local unicast (fe80::/10) and multicast (ff00::/8). */
static __always_inline int vr_ipv6_is_link_scope(const struct in6_addr *a)
{
	return a->s6_addr[0] == 0xff || (a->s6_addr[0] == 0xfe && (a->s6_addr[1] & 0xc0) == 0x80);
}

static __always_inline int vr_ipv6_is_unspec(const struct in6_addr *a)
{
	return !(a->s6_addr32[0] | a->s6_addr32[1] | a->s6_addr32[2] | a->s6_addr32[3]);
}

static __always_inline int vr_ipv6_eq(const void *a, const void *b)
{
	const __u32 *x = a, *y = b;

	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]));
}

#endif /* VR_BPF_PARSE_H */
