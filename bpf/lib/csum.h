/* Internet checksum helpers (RFC 1071 sum, RFC 1624 incremental update) without helper calls. */
#ifndef VR_BPF_CSUM_H
#define VR_BPF_CSUM_H

#include <linux/ip.h>
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

#endif /* VR_BPF_CSUM_H */
