/* The gateway's XDP forwarding around the NAT of nat.h: a tenant's packet leaves by the host's own routes out
 * of the external NIC (learned there by the routing daemon, read through bpf_fib_lookup), and a packet to a
 * public address goes back into the tenant's VRF, tunnelled to the VM's host like any routed packet. */
#ifndef VR_BPF_GATEWAY_H
#define VR_BPF_GATEWAY_H

#include "nat.h"
#include "xdp.h"

/* The translated packet (Ethernet + IPv4 at ctx->data) out of the external NIC, by the host's routes through
 * that NIC only: no route there (the border withdrew it) is a counted drop, never a way back into the
 * overlay. */
static __always_inline int vr_xdp_ext_out(struct xdp_md *ctx, const struct vr_nat_config *nc)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct bpf_fib_lookup fib = {};
	int rc;

	if ((void *)(iph + 1) > end)
		return vr_drop(0, VR_DROP_MALFORMED);
	fib.family = AF_INET;
	fib.l4_protocol = iph->protocol;
	fib.tos = iph->tos;
	fib.tot_len = bpf_ntohs(iph->tot_len);
	fib.ipv4_src = iph->saddr;
	fib.ipv4_dst = iph->daddr;
	fib.ifindex = nc->ext_ifindex;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), BPF_FIB_LOOKUP_OUTPUT);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		struct vr_event ev = { .type = VR_EV_NEIGH_MISS, .ifindex = fib.ifindex, .addr = fib.ipv4_dst };

		bpf_ringbuf_output(&vr_events, &ev, sizeof(ev), 0);
		return vr_drop(0, VR_DROP_NO_NEIGH);
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS || fib.ifindex != nc->ext_ifindex)
		return vr_drop(0, VR_DROP_EXT_UNREACH);
	if (fib.tot_len > fib.mtu_result)
		return vr_drop(0, VR_DROP_TOO_BIG);
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	return bpf_redirect(fib.ifindex, 0);
}

/* A packet to a public address (Ethernet + IPv4 at ctx->data, trimmed to its length), from outside or from a
 * tenant (hairpin): translated back, then routed in the tenant's VRF to the VM. */
static __always_inline int vr_xdp_gw_in(struct xdp_md *ctx, const struct vr_config *cfg, const struct vr_nat_config *nc)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *iph = data + sizeof(struct ethhdr);
	struct vr_nexthop *nh;
	__u32 reason = 0, vrf = 0, hash;
	int hlen;

	hlen = vr_ipv4_check(iph, end, end - (void *)iph);
	if (hlen < 0)
		return vr_drop(0, VR_DROP_MALFORMED);
	if (iph->ttl <= 1)
		return vr_drop(0, VR_DROP_TTL);
	reason = vr_nat_in(iph, hlen, end, end - data, nc, &vrf);
	if (reason)
		return vr_drop(0, reason);
	nh = vr_route4_lookup(vrf, iph->daddr, &reason);
	if (!nh)
		return vr_drop(0, reason);
	hash = vr_flow_hash4(iph->saddr, iph->daddr, vr_ipv4_ports(iph, hlen, end), iph->protocol, cfg->hash_seed);
	if (nh->type == VR_NH_COMPOSITE) {
		nh = vr_ecmp_member(nh, hash, &reason);
		if (!nh)
			return vr_drop(0, reason);
	}
	switch (nh->type) {
	case VR_NH_TUNNEL:
		return vr_xdp_encap(ctx, nh, NULL, cfg, hlen, bpf_ntohs(iph->tot_len), hash, false);
	case VR_NH_ENCAP:
		vr_ipv4_ttl_dec(iph);
		/* A vif in mode tc takes its frames from TC after a hand-over; the external NIC has no TC program to
		 * take one, so this single frame goes straight to the vif's device. */
		if (nh->flags & VR_NH_F_SKB) {
			struct ethhdr *eth = data;

			if ((void *)(eth + 1) > end)
				return vr_drop(0, VR_DROP_MALFORMED);
			vr_eth_to_vm(eth, nh, cfg, bpf_htons(ETH_P_IP));
			vr_count_tx(nh->vif_id, end - data);
			return bpf_redirect(nh->ifindex, 0);
		}
		return vr_xdp_deliver(ctx, nh, cfg, 0, bpf_htons(ETH_P_IP));
	default:
		return vr_drop(0, VR_DROP_NH_INVALID);
	}
}

/* A tenant's packet whose VRF route is EXTERNAL (outer headers of outer_len bytes still on, inner packet of
 * inner_len bytes and Ethertype proto, VRF vrf): decapsulate, translate, and send it out; one to another
 * tenant's public address turns straight back in. */
static __always_inline int vr_xdp_gw_out(struct xdp_md *ctx, const struct vr_config *cfg, __u32 vrf, __u32 outer_len,
					 __u32 inner_len, __be16 proto)
{
	struct vr_nat_config *nc = vr_nat_config_get();
	void *data, *end;
	struct iphdr *iph;
	__u32 reason;
	int hlen;

	if (!nc || !nc->ext_ifindex)
		return vr_drop(0, VR_DROP_NOT_GATEWAY);
	if (proto != bpf_htons(ETH_P_IP))
		return vr_drop(0, VR_DROP_NAT_UNSUPPORTED);
	if (vr_xdp_trim_to(ctx, outer_len + inner_len) ||
	    bpf_xdp_adjust_head(ctx, (int)(outer_len - sizeof(struct ethhdr))))
		return vr_drop(0, VR_DROP_ADJUST_FAIL);
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	iph = data + sizeof(struct ethhdr);
	hlen = vr_ipv4_check(iph, end, end - (void *)iph);
	if (hlen < 0)
		return vr_drop(0, VR_DROP_MALFORMED);
	((struct ethhdr *)data)->h_proto = bpf_htons(ETH_P_IP);
	if (iph->ttl <= 1)
		return vr_drop(0, VR_DROP_TTL);
	reason = vr_nat_out(iph, hlen, end, vrf, inner_len, nc, cfg);
	if (reason)
		return vr_drop(0, reason);
	vr_ipv4_ttl_dec(iph);
	if (bpf_map_lookup_elem(&vr_nat_addrs, &iph->daddr))
		return vr_xdp_gw_in(ctx, cfg, nc);
	return vr_xdp_ext_out(ctx, nc);
}

#endif /* VR_BPF_GATEWAY_H */
