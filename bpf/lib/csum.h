/* Internet checksum helpers (RFC 1071 sum, RFC 1624 incremental update) without helper calls. */
#ifndef VR_BPF_CSUM_H
#define VR_BPF_CSUM_H

#include <linux/ip.h>
#include <linux/in6.h>
#include <bpf/bpf_endian.h>
#include <linux/types.h>

static __always_inline __u16 vr_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Full checksum of a 20-byte IPv4 header (the outer header we build never has options). */
static __always_inline void vr_ipv4_csum_set(struct iphdr *iph)
{
	__u16 *w = (__u16 *)iph;
	__u32 sum = 0;

	iph->check = 0;
#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	iph->check = vr_csum_fold(sum);
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for one 16-bit word changing from old to new. */
static __always_inline void vr_csum_replace2(__sum16 *check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~*check;

	sum += (__u16)~old;
	sum += new;
	*check = vr_csum_fold(sum);
}

/* Decrement the TTL and patch the header checksum. The TTL shares a 16-bit word with the protocol. */
static __always_inline void vr_ipv4_ttl_dec(struct iphdr *iph)
{
	__u16 *word = (__u16 *)&iph->ttl;
	__u16 old = *word;

	iph->ttl--;
	vr_csum_replace2(&iph->check, old, *word);
}

/* Add the 16-bit words of [p, p + len) to sum: len even and at most max bytes (max a constant, so the loop
 * unrolls), every word checked against end. */
static __always_inline __u32 vr_csum_add(__u32 sum, const void *p, __u32 len, const __u32 max, void *end)
{
	const __u16 *w = p;

#pragma unroll
	for (__u32 i = 0; i < max / 2; i++)
		if (i * 2 < len && (void *)(w + i + 1) <= end)
			sum += w[i];
	return sum;
}

/* The IPv6 pseudo-header's sum (RFC 8200 8.1) for an upper-layer packet of len bytes (< 65536). */
static __always_inline __u32 vr_csum_ip6_pseudo(const struct in6_addr *s, const struct in6_addr *d, __u32 len,
						__u8 proto)
{
	__u32 sum = bpf_htons(len) + bpf_htons(proto);

#pragma unroll
	for (int i = 0; i < 8; i++)
		sum += s->s6_addr16[i] + d->s6_addr16[i];
	return sum;
}

#endif /* VR_BPF_CSUM_H */
