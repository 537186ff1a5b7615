/* vr_vif_xdp: XDP on a VM-facing device. Packet walks 1 (VM -> VM here), 2 (VM -> other host) and 4 (ARP, NDP),
 * for IPv4 and IPv6 alike. */

/* A VM's routed packet (at ip: IPv4 with hlen bytes of header, or IPv6 (v6); len bytes; inner-flow hash hash)
 * at its nexthop. */
static __always_inline int vr_vif_xdp_forward(struct xdp_md *ctx, const struct vr_nexthop *nh, const struct vr_vif *vif,
					      const struct vr_config *cfg, void *ip, __u32 hlen, __u32 len, __u32 hash,
					      bool v6)
{
	switch (nh->type) {
	case VR_NH_ENCAP:
		if (v6)
			((struct ipv6hdr *)ip)->hop_limit--;
		else
			vr_ipv4_ttl_dec(ip);
		if (vr_xdp_trim_to(ctx, sizeof(struct ethhdr) + len))
			return vr_drop(vif->vif_id, VR_DROP_ADJUST_FAIL);
		return vr_xdp_deliver(ctx, nh, cfg, vif->vif_id, v6 ? bpf_htons(ETH_P_IPV6) : bpf_htons(ETH_P_IP));
	case VR_NH_TUNNEL:
		if (!cfg->host_ip || !cfg->fabric_ifindex)
			return vr_drop(vif->vif_id, VR_DROP_NO_CONFIG);
		return vr_xdp_encap(ctx, nh, vif, cfg, hlen, len, hash, v6);
	case VR_NH_RECEIVE:
		return XDP_PASS;
	case VR_NH_DISCARD:
		return vr_drop(vif->vif_id, VR_DROP_DISCARD);
	default:
		return vr_drop(vif->vif_id, VR_DROP_NH_INVALID);
	}
}

/* A VM's IPv4 packet: route lookup in the vif's VRF, then the nexthop decides. */
static __always_inline int vr_vif_xdp_ipv4(struct xdp_md *ctx, const struct vr_vif *vif, const struct vr_config *cfg)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *iph = data + sizeof(struct ethhdr);
	struct vr_nexthop *nh;
	__u32 reason, hash = 0;
	int hlen = 0;

	reason = vr_vif_ipv4_route(iph, end, end - (void *)iph, vif, cfg, &nh, &hlen, &hash);
	if (reason)
		return vr_drop(vif->vif_id, reason);
	return vr_vif_xdp_forward(ctx, nh, vif, cfg, iph, hlen, bpf_ntohs(iph->tot_len), hash, false);
}

/* A VM's IPv6 packet: NDP is answered here; anything else is routed in the vif's VRF like IPv4. */
static __always_inline int vr_vif_xdp_ipv6(struct xdp_md *ctx, const struct vr_vif *vif, const struct vr_config *cfg)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);
	struct vr_nexthop *nh;
	__u32 reason, hash = 0;
	int len = 0;

	if ((void *)(ip6 + 1) > end)
		return vr_drop(vif->vif_id, VR_DROP_MALFORMED);
	if (vr_nd_is_nd(ip6, end))
		return vr_xdp_nd(ctx, vif, cfg);
	reason = vr_vif_ipv6_route(ip6, end, end - (void *)ip6, vif, cfg, &nh, &len, &hash);
	if (reason)
		return vr_drop(vif->vif_id, reason);
	return vr_vif_xdp_forward(ctx, nh, vif, cfg, ip6, sizeof(*ip6), len, hash, true);
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
	__u32 reason;

	vif = vr_vif_lookup(ifindex);
	if (!vif)
		return vr_drop(0, VR_DROP_UNKNOWN_VIF);
	cfg = vr_config_get();
	if (!cfg)
		return vr_drop(vif->vif_id, VR_DROP_NO_CONFIG);
	if ((void *)(eth + 1) > end)
		return vr_drop(vif->vif_id, VR_DROP_MALFORMED);
	vr_count_rx(vif->vif_id, end - data);
	if (!vr_vif_mac_ok(eth->h_source, vif))
		return vr_drop(vif->vif_id, VR_DROP_SPOOF_MAC);

	switch (eth->h_proto) {
	case bpf_htons(ETH_P_IP):
		return vr_vif_xdp_ipv4(ctx, vif, cfg);
	case bpf_htons(ETH_P_IPV6):
		return vr_vif_xdp_ipv6(ctx, vif, cfg);
	case bpf_htons(ETH_P_ARP):
		/* The reply goes back out of the same device by redirect: XDP_TX on a veth wakes the peer only
		 * when the peer runs XDP itself, so the reply could wait in its queue. */
		reason = vr_arp_answer(data, end, vif, cfg);
		if (reason)
			return vr_drop(vif->vif_id, reason);
		return bpf_redirect_map(&vr_tx, vif->vif_id, 0);
	case bpf_htons(ETH_P_8021Q):
	case bpf_htons(ETH_P_8021AD):
		return vr_drop(vif->vif_id, VR_DROP_VLAN);
	default:
		return vr_drop(vif->vif_id, VR_DROP_ETHERTYPE);
	}
}
