/* The ARP responder: the vRouter answers a VM's ARP requests for its gateway and for every address routed
 * in the VM's VRF with its own MAC (sent back with a redirect to the same device), so VMs never learn each other's (or remote hosts') MACs. */
#ifndef VR_BPF_ARP_H
#define VR_BPF_ARP_H

#include <linux/if_ether.h>

/* From linux/if_arp.h, which drags in libc's socket headers. */
#define VR_ARPHRD_ETHER 1
#define VR_ARPOP_REQUEST 1
#define VR_ARPOP_REPLY 2
#include "route.h"

struct vr_arp_eth_ipv4 {
	__be16 hrd;
	__be16 pro;
	__u8 hln;
	__u8 pln;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__be32 sip;
	__u8 tha[ETH_ALEN];
	__be32 tip;
} __attribute__((packed));

/* A VM's ARP frame at data: if it is a request the vRouter answers, rewrite it in place into the reply
 * (to be sent back out of the same device) and return 0; otherwise return a drop reason. */
static __always_inline __u32 vr_arp_answer(void *data, void *end, const struct vr_vif *vif, const struct vr_config *cfg)
{
	struct ethhdr *eth = data;
	struct vr_arp_eth_ipv4 *arp = (void *)(eth + 1);
	__u32 reason = 0;
	__be32 tip, sip;

	if ((void *)(arp + 1) > end)
		return VR_DROP_MALFORMED;
	if (arp->hrd != bpf_htons(VR_ARPHRD_ETHER) || arp->pro != bpf_htons(ETH_P_IP) || arp->hln != ETH_ALEN ||
	    arp->pln != 4)
		return VR_DROP_MALFORMED;

	tip = arp->tip;
	sip = arp->sip;
	/* Replies, gratuitous ARP and address probes (RFC 5227, sender 0) need no answer. */
	if (arp->op != bpf_htons(VR_ARPOP_REQUEST) || sip == tip || sip == 0 || tip == vif->ip)
		return VR_DROP_ARP_IGNORED;
	if (!vr_vif_mac_ok(arp->sha, vif))
		return VR_DROP_SPOOF_MAC;
	if (!vr_vif_src_ok(sip, vif))
		return VR_DROP_SPOOF_IP;

	if (tip != vif->gw_ip) {
		struct vr_nexthop *nh = vr_route4_lookup(vif->vrf_id, tip, &reason);

		if (!nh || nh->type == VR_NH_DISCARD)
			return VR_DROP_ARP_NO_ROUTE;
	}

	arp->op = bpf_htons(VR_ARPOP_REPLY);
	__builtin_memcpy(arp->tha, arp->sha, ETH_ALEN);
	__builtin_memcpy(arp->sha, cfg->vr_mac, ETH_ALEN);
	arp->tip = sip;
	arp->sip = tip;
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, cfg->vr_mac, ETH_ALEN);
	vr_count_tx(vif->vif_id, end - data);
	return 0;
}

#endif /* VR_BPF_ARP_H */
