/* Header parsing with every length checked against the packet end, as the verifier demands and hostile
 * input deserves. All helpers return NULL (or -1) on a short or malformed header. */
#ifndef VR_BPF_PARSE_H
#define VR_BPF_PARSE_H

#include <linux/if_ether.h>
#include <linux/ip.h>
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

#endif /* VR_BPF_PARSE_H */
