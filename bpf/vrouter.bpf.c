// SPDX-License-Identifier: GPL-2.0
/* The bpf-vrouter XDP datapath: the program on VM-facing devices (vr_vif_xdp) and the program on the fabric
 * NIC (vr_fabric_xdp). Each entry point reads like the packet walk in DESIGN.md; the work is in bpf/lib/. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/maps.h"
#include "lib/stats.h"
#include "lib/csum.h"
#include "lib/parse.h"
#include "lib/route.h"
#include "lib/arp.h"
#include "lib/encap.h"

char LICENSE[] SEC("license") = "GPL";

/* A VM's IPv4 packet: TTL, route lookup in the vif's VRF, then the nexthop decides. */
static __always_inline int vr_vif_ipv4(struct xdp_md *ctx, const struct vr_vif *vif, const struct vr_config *cfg)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *iph = data + sizeof(struct ethhdr);
	struct vr_nexthop *nh;
	__u32 reason = 0;
	int hlen;

	hlen = vr_ipv4_check(iph, end);
	if (hlen < 0)
		return vr_drop(vif->vif_id, VR_DROP_MALFORMED);
	nh = vr_route4_lookup(vif->vrf_id, iph->daddr, &reason);
	if (!nh)
		return vr_drop(vif->vif_id, reason);
	/* Only forwarding spends TTL: the host accepts packets for itself even at TTL 0/1 (RFC 1812 4.2.2.9). */
	if ((nh->type == VR_NH_ENCAP || nh->type == VR_NH_TUNNEL) && iph->ttl <= 1)
		return vr_drop(vif->vif_id, VR_DROP_TTL);

	switch (nh->type) {
	case VR_NH_ENCAP:
		vr_ipv4_ttl_dec(iph);
		if (vr_trim_to(ctx, sizeof(struct ethhdr) + bpf_ntohs(iph->tot_len)))
			return vr_drop(vif->vif_id, VR_DROP_ADJUST_FAIL);
		return vr_deliver_local(ctx, nh, cfg);
	case VR_NH_TUNNEL:
		if (!cfg->host_ip || !cfg->fabric_ifindex)
			return vr_drop(vif->vif_id, VR_DROP_NO_CONFIG);
		vr_ipv4_ttl_dec(iph);
		return vr_encap_mpls_udp(ctx, nh, cfg, vif->vif_id, hlen);
	case VR_NH_RECEIVE:
		return XDP_PASS;
	case VR_NH_DISCARD:
		return vr_drop(vif->vif_id, VR_DROP_DISCARD);
	default:
		return vr_drop(vif->vif_id, VR_DROP_NH_INVALID);
	}
}

SEC("xdp")
int vr_vif_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 ifindex = ctx->ingress_ifindex;
	struct ethhdr *eth = data;
	struct vr_config *cfg;
	struct vr_vif *vif;

	vif = bpf_map_lookup_elem(&vr_vifs, &ifindex);
	if (!vif)
		return vr_drop(0, VR_DROP_UNKNOWN_VIF);
	cfg = vr_config_get();
	if (!cfg)
		return vr_drop(vif->vif_id, VR_DROP_NO_CONFIG);
	if ((void *)(eth + 1) > end)
		return vr_drop(vif->vif_id, VR_DROP_MALFORMED);
	vr_count_rx(vif->vif_id, end - data);

	switch (eth->h_proto) {
	case bpf_htons(ETH_P_IP):
		return vr_vif_ipv4(ctx, vif, cfg);
	case bpf_htons(ETH_P_ARP):
		return vr_arp_respond(ctx, vif, cfg);
	case bpf_htons(ETH_P_8021Q):
	case bpf_htons(ETH_P_8021AD):
		return vr_drop(vif->vif_id, VR_DROP_VLAN);
	default:
		return vr_drop(vif->vif_id, VR_DROP_ETHERTYPE);
	}
}

/* An MPLS-in-UDP packet addressed to this host (outer headers validated, udp points at the UDP header):
 * label -> nexthop -> strip the outer headers, give the inner packet an Ethernet header, redirect to the VM. */
static __always_inline int vr_fabric_decap(struct xdp_md *ctx, const struct vr_config *cfg, __u32 outer_len,
					   __u32 inner_max)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 mpls_off = outer_len - sizeof(__be32);
	__be32 *mpls = data + mpls_off;
	struct vr_nexthop *nh;
	struct iphdr *inner;
	__u32 shim, label, reason = 0;
	__u32 *nh_id;

	inner = (void *)(mpls + 1);
	if ((void *)(inner + 1) > end)
		return vr_drop(0, VR_DROP_MALFORMED);
	shim = bpf_ntohl(*mpls);
	if (!(shim & (1 << 8)))
		return vr_drop(0, VR_DROP_MPLS_STACK);
	label = shim >> 12;
	nh_id = bpf_map_lookup_elem(&vr_labels, &label);
	if (!nh_id || !*nh_id)
		return vr_drop(0, VR_DROP_BAD_LABEL);
	nh = bpf_map_lookup_elem(&vr_nexthops, nh_id);
	if (!nh)
		return vr_drop(0, VR_DROP_NO_NEXTHOP);

	if (inner->version != 4)
		return vr_drop(0, VR_DROP_INNER_PROTO);
	/* The inner packet must fit the UDP datagram, not merely the frame (trailing bytes are not its). */
	if (vr_ipv4_check(inner, end) < 0 || bpf_ntohs(inner->tot_len) > inner_max)
		return vr_drop(0, VR_DROP_MALFORMED);

	/* A per-VRF label: the inner destination picks the vif. */
	if (nh->type == VR_NH_VRF_LOOKUP) {
		nh = vr_route4_lookup(nh->vrf_id, inner->daddr, &reason);
		if (!nh)
			return vr_drop(0, reason);
	}
	if (nh->type != VR_NH_ENCAP)
		return vr_drop(0, VR_DROP_NH_INVALID);

	if (vr_trim_to(ctx, outer_len + bpf_ntohs(inner->tot_len)) ||
	    bpf_xdp_adjust_head(ctx, (int)(outer_len - sizeof(struct ethhdr))))
		return vr_drop(0, VR_DROP_ADJUST_FAIL);
	return vr_deliver_local(ctx, nh, cfg);
}

SEC("xdp")
int vr_fabric_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct vr_config *cfg;
	struct udphdr *udp;
	struct iphdr *iph;
	int hlen;

	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	cfg = vr_config_get();
	if (!cfg || !cfg->host_ip)
		return XDP_PASS;
	iph = (void *)(eth + 1);
	hlen = vr_ipv4_check(iph, end);
	/* Anything that is not a whole UDP packet to this host's underlay address is the host's own. */
	if (hlen < 0 || iph->daddr != cfg->host_ip || iph->protocol != IPPROTO_UDP || vr_ipv4_is_fragment(iph))
		return XDP_PASS;
	udp = (void *)iph + hlen;
	if ((void *)(udp + 1) > end)
		return XDP_PASS;
	if (udp->dest != bpf_htons(cfg->udp_port) && udp->dest != bpf_htons(VR_MPLS_UDP_PORT_LEGACY))
		return XDP_PASS;
	if (bpf_ntohs(udp->len) < sizeof(*udp) + 4 + sizeof(struct iphdr) ||
	    bpf_ntohs(udp->len) > bpf_ntohs(iph->tot_len) - hlen)
		return vr_drop(0, VR_DROP_MALFORMED);
	return vr_fabric_decap(ctx, cfg, sizeof(*eth) + hlen + sizeof(*udp) + 4,
			       bpf_ntohs(udp->len) - sizeof(*udp) - 4);
}
