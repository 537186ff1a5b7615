/* ICMP "fragmentation needed" (type 3 code 4, RFC 1191) for a VM whose packet is too big for the tunnel:
 * shared by the XDP and TC paths, which each make the room first. */
#ifndef VR_BPF_ICMP_H
#define VR_BPF_ICMP_H

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include "csum.h"
#include "vr_types.h"

#define VR_ICMP_DEST_UNREACH 3
#define VR_ICMP_FRAG_NEEDED 4
/* Room the reply needs in front of the quoted header: its own IPv4 header and ICMP header. */
#define VR_ICMP_ROOM (sizeof(struct iphdr) + sizeof(struct vr_icmp_frag))
/* Bytes of the offending packet quoted after its IPv4 header. RFC 792 asks for at least 8; we quote 64
 * (RFC 1812 4.3.2.3 allows more): an skb whose L4 checksum is still left to offload cannot be trimmed
 * short of its checksum field (TCP's is at offset 16), and the extra bytes help the VM match the flow. */
#define VR_ICMP_QUOTE 64

struct vr_icmp_frag {
	__u8 type;
	__u8 code;
	__sum16 check;
	__be16 unused;
	__be16 mtu;
};

/* data holds [Ethernet][VR_ICMP_ROOM bytes][the offending packet's IPv4 header + VR_ICMP_QUOTE bytes]. Fill in the
 * Ethernet, IPv4 and ICMP headers of the reply to the VM. Returns 0, or -1 if the layout is not there. */
static __always_inline int vr_icmp_frag_needed_fill(void *data, void *end, const struct vr_vif *vif,
						    const struct vr_config *cfg, __u16 mtu)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct vr_icmp_frag *icmp = (void *)(ip + 1);
	struct iphdr *orig = (void *)(icmp + 1);
	__u16 *w = (__u16 *)icmp;
	__u32 len, sum = 0;

	if ((void *)(orig + 1) > end)
		return -1;
	len = sizeof(*icmp) + orig->ihl * 4 + VR_ICMP_QUOTE;

	__builtin_memcpy(eth->h_dest, vif->mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, cfg->vr_mac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0xc0; /* internetwork control, as routers send their errors */
	ip->tot_len = bpf_htons(sizeof(*ip) + len);
	ip->id = 0;
	ip->frag_off = 0;
	ip->ttl = 64;
	ip->protocol = IPPROTO_ICMP;
	ip->saddr = vif->gw_ip ? vif->gw_ip : cfg->host_ip;
	ip->daddr = orig->saddr;
	vr_ipv4_csum_set(ip);

	icmp->type = VR_ICMP_DEST_UNREACH;
	icmp->code = VR_ICMP_FRAG_NEEDED;
	icmp->check = 0;
	icmp->unused = 0;
	icmp->mtu = bpf_htons(mtu);
	/* ICMP header + quoted header (20..60 bytes) + VR_ICMP_QUOTE bytes: at most 66 words, each checked. */
#pragma unroll
	for (int i = 0; i < (8 + 60 + VR_ICMP_QUOTE) / 2; i++) {
		if ((__u32)i * 2 < len && (void *)(w + i + 1) <= end)
			sum += w[i];
	}
	/* Re-checked: after the loop the verifier may no longer know icmp's range. */
	icmp = (void *)(ip + 1);
	if ((void *)(icmp + 1) > end)
		return -1;
	icmp->check = vr_csum_fold(sum);
	return 0;
}

#endif /* VR_BPF_ICMP_H */
