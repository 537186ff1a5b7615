/* Receiving MPLS-in-UDP and MPLS-over-GRE: is this frame a tunnel packet for this host, and what does its label
 * mean? Shared by the XDP and TC fabric programs. Both encapsulations are always accepted, whatever the
 * nexthops towards the sender use. */
#ifndef VR_BPF_DECAP_H
#define VR_BPF_DECAP_H

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include "route6.h"
#include "encap.h"

/* GRE flags (RFC 2784, RFC 2890), host order. A receiver must discard a packet with any of bits 1-5 set (RFC
 * 2784 2.3: routing present, key, sequence number, strict source route, recursion control: none of them is
 * used by MPLS-over-GRE as RFC 4023 sends it) and ignores bits 6-12. The checksum (bit 0) is accepted and
 * not verified: the inner packet's own checksums protect it end to end, as with MPLS-in-UDP's zero UDP
 * checksum (RFC 7510 3), and the link's CRC the headers. */
#define VR_GRE_F_CSUM 0x8000
#define VR_GRE_F_UNSUPPORTED 0x7c00
#define VR_GRE_VERSION 0x0007

/* Is addr a known tunnel endpoint? Its slot if it holds it, else the set itself. */
static __always_inline int vr_endpoint_known(__be32 addr)
{
	__u32 slot = vr_hash_final(addr) & (VR_ENDPOINT_SLOTS - 1);
	__be32 *s = bpf_map_lookup_elem(&vr_endpoint_slots, &slot);

	if (s && *s == addr && addr) /* an empty slot holds 0: 0.0.0.0 is never an endpoint */
		return 1;
	return bpf_map_lookup_elem(&vr_endpoints, &addr) != NULL;
}

/* MPLS-over-GRE: the GRE header at gre, after an outer IPv4 header of hlen bytes whose payload is payload bytes
 * (the packet is to this host). Returns -1 if it is not ours (the GRE header is cut short, or carries
 * something other than MPLS: the host's own GRE), 0 with *outer_len and *inner_max set, or a drop reason. */
static __always_inline int vr_gre_outer_check(struct iphdr *iph, struct vr_gre_hdr *gre, void *end, int hlen,
					      __u32 payload, __u32 *outer_len, __u32 *inner_max)
{
	__u32 grelen = sizeof(*gre);
	__u16 flags;

	if ((void *)(gre + 1) > end || gre->proto != bpf_htons(ETH_P_MPLS_UC))
		return -1;
	if (!vr_endpoint_known(iph->saddr))
		return VR_DROP_UNKNOWN_ENDPOINT;
	flags = bpf_ntohs(gre->flags);
	if (flags & (VR_GRE_F_UNSUPPORTED | VR_GRE_VERSION))
		return VR_DROP_GRE_UNSUPPORTED;
	if (flags & VR_GRE_F_CSUM)
		grelen += 4; /* checksum and reserved1 */
	if (payload < grelen + 4 + sizeof(struct iphdr))
		return VR_DROP_MALFORMED;
	*outer_len = sizeof(struct ethhdr) + hlen + grelen + 4;
	*inner_max = payload - grelen - 4;
	return 0;
}

/* The frame at data (frame_len bytes in all, the headers readable up to end): a whole IPv4 packet to this
 * host's underlay address that is UDP to the MPLS-in-UDP port (or the legacy one), or GRE carrying MPLS?
 * Returns -1 if not (the host's own traffic), 0 with *outer_len (Ethernet to MPLS shim included) and
 * *inner_max (inner bytes the UDP datagram or the GRE payload holds), or a drop reason for a tunnel packet
 * that is malformed, unsupported or from an unknown host. */
static __always_inline int vr_tunnel_outer_check(void *data, void *end, __u32 frame_len, const struct vr_config *cfg,
						 __u32 *outer_len, __u32 *inner_max)
{
	struct ethhdr *eth = data;
	struct udphdr *udp;
	struct iphdr *iph;
	int hlen;

	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return -1;
	iph = (void *)(eth + 1);
	hlen = vr_ipv4_check(iph, end, frame_len - sizeof(*eth));
	if (hlen < 0 || iph->daddr != cfg->host_ip || vr_ipv4_is_fragment(iph))
		return -1;
	if (iph->protocol == IPPROTO_GRE)
		return vr_gre_outer_check(iph, (void *)iph + hlen, end, hlen, bpf_ntohs(iph->tot_len) - hlen,
					  outer_len, inner_max);
	if (iph->protocol != IPPROTO_UDP)
		return -1;
	udp = (void *)iph + hlen;
	if ((void *)(udp + 1) > end)
		return -1;
	if (udp->dest != bpf_htons(cfg->udp_port) && udp->dest != bpf_htons(VR_MPLS_UDP_PORT_LEGACY))
		return -1;
	/* Nobody on the underlay injects into a tenant by guessing a label: only known hosts tunnel to us. */
	if (!vr_endpoint_known(iph->saddr))
		return VR_DROP_UNKNOWN_ENDPOINT;
	if (bpf_ntohs(udp->len) < sizeof(*udp) + 4 + sizeof(struct iphdr) ||
	    bpf_ntohs(udp->len) > bpf_ntohs(iph->tot_len) - hlen)
		return VR_DROP_MALFORMED;
	*outer_len = sizeof(*eth) + hlen + sizeof(*udp) + 4;
	*inner_max = bpf_ntohs(udp->len) - sizeof(*udp) - 4;
	return 0;
}

/* The MPLS shim ends outer_len bytes into the frame: check it and the inner IPv4 or IPv6 header, and resolve
 * the label to the ENCAP nexthop of a local vif (through the VRF's table of the inner family for a per-VRF
 * label; on a gateway that table may also say EXTERNAL). Returns 0 with *nhp, *inner_lenp (the inner packet's
 * length), *protop (its Ethertype) and *vrfp (the VRF of a per-VRF label) set, or a drop reason. */
static __always_inline __u32 vr_label_resolve(void *data, void *end, __u32 outer_len, __u32 inner_max,
					      struct vr_nexthop **nhp, __u32 *inner_lenp, __be16 *protop, __u32 *vrfp)
{
	__u32 mpls_off = outer_len - sizeof(__be32);
	__be32 *mpls = data + mpls_off;
	struct vr_nexthop *nh;
	struct iphdr *inner;
	__u32 shim, label, reason = 0;
	__u32 *nh_id;
	int len;

	inner = (void *)(mpls + 1);
	if ((void *)(inner + 1) > end)
		return VR_DROP_MALFORMED;
	shim = bpf_ntohl(*mpls);
	if (!(shim & (1 << 8)))
		return VR_DROP_MPLS_STACK;
	label = shim >> 12;
	nh_id = bpf_map_lookup_elem(&vr_labels, &label);
	if (!nh_id || !*nh_id)
		return VR_DROP_BAD_LABEL;
	nh = bpf_map_lookup_elem(&vr_nexthops, nh_id);
	if (!nh)
		return VR_DROP_NO_NEXTHOP;
	*vrfp = nh->vrf_id;
	/* The inner packet must fit the UDP datagram, not merely the frame (trailing bytes are not its). A
	 * per-VRF label: the inner destination picks the vif. */
	if (inner->version == 4) {
		if (vr_ipv4_check(inner, end, inner_max) < 0)
			return VR_DROP_MALFORMED;
		*inner_lenp = bpf_ntohs(inner->tot_len);
		*protop = bpf_htons(ETH_P_IP);
		if (nh->type == VR_NH_VRF_LOOKUP)
			nh = vr_route4_lookup(nh->vrf_id, inner->daddr, &reason);
	} else if (inner->version == 6) {
		struct ipv6hdr *ip6 = (void *)inner;

		len = vr_ipv6_check(ip6, end, inner_max);
		if (len < 0)
			return VR_DROP_MALFORMED;
		*inner_lenp = len;
		*protop = bpf_htons(ETH_P_IPV6);
		if (nh->type == VR_NH_VRF_LOOKUP)
			nh = vr_route6_lookup(nh->vrf_id, &ip6->daddr, &reason);
	} else {
		return VR_DROP_INNER_PROTO;
	}
	if (!nh)
		return reason;
	if (nh->type != VR_NH_ENCAP && nh->type != VR_NH_EXTERNAL)
		return VR_DROP_NH_INVALID;
	*nhp = nh;
	return 0;
}

#endif /* VR_BPF_DECAP_H */
