/* What the XDP programs do with a frame once the lookups have decided: deliver it to a local vif (by
 * redirect, or handed to TC as an skb for vifs in mode tc), tunnel it, or answer with ICMP. */
#ifndef VR_BPF_XDP_H
#define VR_BPF_XDP_H

#include "encap.h"
#include "icmp.h"
#include "icmp6.h"
#include "nd.h"

/* Drop a trailing pad (e.g. Ethernet minimum-size padding) beyond the IPv4 total length, so that what we
 * tunnel or deliver is exactly the IP packet. */
static __always_inline int vr_xdp_trim_to(struct xdp_md *ctx, __u32 want)
{
	__u32 have = ctx->data_end - ctx->data;

	if (have > want)
		return bpf_xdp_adjust_tail(ctx, (int)want - (int)have);
	return 0;
}

/* Pass the frame up as an skb with a note for the TC program on this device: "redirect to ifindex". */
static __always_inline int vr_xdp_handover(struct xdp_md *ctx, __u32 ifindex, __u32 vif_id)
{
	struct vr_xdp_meta *meta;
	void *data;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta)))
		return vr_drop(vif_id, VR_DROP_REDIRECT_FAIL);
	meta = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	if ((void *)(meta + 1) > data)
		return vr_drop(vif_id, VR_DROP_REDIRECT_FAIL);
	meta->magic = VR_META_MAGIC;
	meta->ifindex = ifindex;
	return XDP_PASS;
}

/* Frame at ctx->data is Ethernet + an IP packet of Ethertype proto for ENCAP nexthop nh: rewrite the Ethernet
 * header, send it to the vif. */
static __always_inline int vr_xdp_deliver(struct xdp_md *ctx, const struct vr_nexthop *nh, const struct vr_config *cfg,
					  __u32 from_vif, __be16 proto)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return vr_drop(from_vif, VR_DROP_MALFORMED);
	vr_eth_to_vm(eth, nh, cfg, proto);
	vr_count_tx(nh->vif_id, end - data);
	if (nh->flags & VR_NH_F_SKB)
		return vr_xdp_handover(ctx, nh->ifindex, from_vif);
	return bpf_redirect_map(&vr_tx, nh->vif_id, 0);
}

/* The VM's packet (hlen bytes of IP header after Ethernet) is too big for the tunnel: turn the frame into the
 * ICMP error quoting it, and send that back to the VM: fragmentation needed for IPv4 with DF, Packet Too Big for
 * IPv6 (v6; the packet is longer than the quote: it did not fit an MTU of at least 1280 - overhead). */
static __always_inline int vr_xdp_too_big(struct xdp_md *ctx, const struct vr_vif *vif, const struct vr_config *cfg,
					  __u32 hlen, __u16 mtu, bool v6)
{
	__u32 keep = sizeof(struct ethhdr) + hlen + VR_ICMP_QUOTE;
	int room = v6 ? VR_ICMP6_ROOM : VR_ICMP_ROOM;
	void *data, *end;

	if (vr_xdp_trim_to(ctx, keep) || bpf_xdp_adjust_head(ctx, -room))
		return vr_drop(vif->vif_id, VR_DROP_ADJUST_FAIL);
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (v6 ? vr_icmp6_too_big_fill(data, end, vif, cfg, mtu) : vr_icmp_frag_needed_fill(data, end, vif, cfg, mtu))
		return vr_drop(vif->vif_id, VR_DROP_MALFORMED);
	vr_count_drop(vif->vif_id, v6 ? VR_DROP_PKT_TOO_BIG : VR_DROP_FRAG_NEEDED);
	vr_count_tx(vif->vif_id, end - data);
	return bpf_redirect_map(&vr_tx, vif->vif_id, 0);
}

/* A VM's NDP message: answer a neighbour solicitation with an advertisement out of the same device (by
 * redirect, as the ARP reply: see vr_vif_xdp), or count the drop. */
static __always_inline int vr_xdp_nd(struct xdp_md *ctx, const struct vr_vif *vif, const struct vr_config *cfg)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct in6_addr target;
	int router = 0;
	__u32 reason;

	reason = vr_nd_check(data + sizeof(struct ethhdr), end, end - data - sizeof(struct ethhdr), vif, &target,
			     &router);
	if (reason)
		return vr_drop(vif->vif_id, reason);
	if (bpf_xdp_adjust_tail(ctx, (int)VR_ND_ADVERT_FRAME - (int)(end - data)))
		return vr_drop(vif->vif_id, VR_DROP_ADJUST_FAIL);
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (vr_nd_advert_fill(data, end, vif, cfg, &target, router))
		return vr_drop(vif->vif_id, VR_DROP_MALFORMED);
	vr_count_tx(vif->vif_id, end - data);
	return bpf_redirect_map(&vr_tx, vif->vif_id, 0);
}

/* Encapsulate the VM's packet (validated: IPv4 with hlen bytes of header, or IPv6 (v6); inner_len bytes; TTL or
 * hop limit not yet spent; hash its inner-flow hash) towards a TUNNEL nexthop (MPLS-in-UDP, or MPLS-over-GRE)
 * and redirect it to the underlay. vif NULL: not from a VM (a gateway's inbound packet): too big is a drop. */
static __always_inline int vr_xdp_encap(struct xdp_md *ctx, const struct vr_nexthop *nh, const struct vr_vif *vif,
					const struct vr_config *cfg, __u32 hlen, __u32 inner_len, __u32 hash, bool v6)
{
	__u32 reason, overhead = vr_tunnel_overhead(nh), vif_id = vif ? vif->vif_id : 0;
	__u16 sport = vr_sport_from_hash(hash);
	struct vr_underlay *u;
	void *data, *end;
	__u8 tos, ttl;

	reason = vr_underlay_resolve(ctx, cfg, nh->remote_ip, sport, &u);
	if (reason)
		return vr_drop(vif_id, reason);
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (v6) {
		struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);

		if ((void *)(ip6 + 1) > end)
			return vr_drop(vif_id, VR_DROP_MALFORMED);
		if (inner_len + overhead > u->mtu)
			return vif ? vr_xdp_too_big(ctx, vif, cfg, hlen, u->mtu - overhead, true) : vr_drop(0, VR_DROP_TOO_BIG);
		ip6->hop_limit--;
		tos = vr_ipv6_tclass(ip6);
		ttl = ip6->hop_limit;
	} else {
		struct iphdr *inner = data + sizeof(struct ethhdr);

		if ((void *)(inner + 1) > end)
			return vr_drop(vif_id, VR_DROP_MALFORMED);
		if (inner_len + overhead > u->mtu) {
			if (vif && (inner->frag_off & bpf_htons(VR_IP_DF)))
				return vr_xdp_too_big(ctx, vif, cfg, hlen, u->mtu - overhead, false);
			return vr_drop(vif_id, VR_DROP_TOO_BIG);
		}
		vr_ipv4_ttl_dec(inner);
		tos = inner->tos;
		ttl = inner->ttl;
	}
	if (vr_xdp_trim_to(ctx, sizeof(struct ethhdr) + inner_len) || bpf_xdp_adjust_head(ctx, -(int)overhead))
		return vr_drop(vif_id, VR_DROP_ADJUST_FAIL);

	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (vr_tunnel_headers_write(data, end, u, cfg, nh, inner_len, tos, ttl, sport))
		return vr_drop(vif_id, VR_DROP_ADJUST_FAIL);
	/* The fabric is slot 0 of the redirect map (no device lookup by ifindex); any other egress by ifindex. */
	if (u->ifindex == cfg->fabric_ifindex && bpf_redirect_map(&vr_tx, 0, XDP_PASS) == XDP_REDIRECT)
		return XDP_REDIRECT;
	return bpf_redirect(u->ifindex, 0);
}

#endif /* VR_BPF_XDP_H */
