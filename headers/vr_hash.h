/* The inner-flow hash that picks the MPLS-in-UDP source port (and, later, the ECMP member).
 * MurmurHash3's 32-bit block step and finaliser over the flow's words: pure arithmetic, no tables, so the
 * datapath and the tests compute the same value. */
#ifndef VR_HASH_H
#define VR_HASH_H

#include <linux/types.h>
#include "vr_consts.h"

static inline __u32 vr_rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static inline __u32 vr_hash_step(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51;
	k = vr_rotl32(k, 15);
	k *= 0x1b873593;
	h ^= k;
	h = vr_rotl32(h, 13);
	return h * 5 + 0xe6546b64;
}

static inline __u32 vr_hash_final(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* saddr/daddr/ports as they are in the packet (network order); ports = 0 when the packet has none
 * (non-TCP/UDP, or any fragment: every fragment of a datagram must take the same path). */
static inline __u32 vr_flow_hash4(__u32 saddr, __u32 daddr, __u32 ports, __u32 proto, __u32 seed)
{
	__u32 h = seed;

	h = vr_hash_step(h, saddr);
	h = vr_hash_step(h, daddr);
	h = vr_hash_step(h, ports);
	h = vr_hash_step(h, proto);
	return vr_hash_final(h ^ 16);
}

/* The same for IPv6: each address folded to one word first (a, b: four words each, as in the packet). */
static inline __u32 vr_flow_hash6(const __u32 *a, const __u32 *b, __u32 ports, __u32 proto, __u32 seed)
{
	return vr_flow_hash4(a[0] ^ a[1] ^ a[2] ^ a[3], b[0] ^ b[1] ^ b[2] ^ b[3], ports, proto, seed);
}

/* UDP source port (host order) for a flow hash: 49152..65535. */
static inline __u16 vr_sport_from_hash(__u32 h)
{
	return (__u16)(VR_SPORT_BASE | (h & VR_SPORT_MASK));
}

#endif /* VR_HASH_H */
