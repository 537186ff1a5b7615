/* vr_vif_tc: TC ingress on every VM-facing device. For vifs in mode tc it is the whole datapath (the same
 * packet walks as vr_vif_xdp, on skbs that may be GSO super-packets with checksum offload pending); on vifs
 * in mode xdp it finishes what XDP handed over and routes what XDP passed up. */

/* A VM's routed skb (at ip: IPv4 with hlen bytes of header, or IPv6 (v6); len bytes; inner-flow hash hash) at
 * its nexthop. */
static __always_inline int vr_vif_tc_forward(struct __sk_buff *skb, const struct vr_nexthop *nh, const struct vr_vif *vif,
					     const struct vr_config *cfg, void *ip, __u32 hlen, __u32 len, __u32 hash,
					     bool v6)
{
	switch (nh->type) {
	case VR_NH_ENCAP:
		if (v6)
			((struct ipv6hdr *)ip)->hop_limit--;
		else
			vr_ipv4_ttl_dec(ip);
		if (skb->len > sizeof(struct ethhdr) + len && bpf_skb_change_tail(skb, sizeof(struct ethhdr) + len, 0))
			return vr_tc_drop(vif->vif_id, VR_DROP_ADJUST_FAIL);
		return vr_tc_deliver(skb, nh, cfg, vif->vif_id, v6 ? bpf_htons(ETH_P_IPV6) : bpf_htons(ETH_P_IP));
	case VR_NH_TUNNEL:
		if (!cfg->host_ip || !cfg->fabric_ifindex)
			return vr_tc_drop(vif->vif_id, VR_DROP_NO_CONFIG);
		return vr_tc_encap(skb, nh, vif, cfg, hlen, len, hash, v6);
	case VR_NH_RECEIVE:
		return TC_ACT_OK;
	case VR_NH_DISCARD:
		return vr_tc_drop(vif->vif_id, VR_DROP_DISCARD);
	default:
		return vr_tc_drop(vif->vif_id, VR_DROP_NH_INVALID);
	}
}

static __always_inline int vr_vif_tc_ipv4(struct __sk_buff *skb, const struct vr_vif *vif, const struct vr_config *cfg)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *iph = data + sizeof(struct ethhdr);
	struct vr_nexthop *nh;
	__u32 reason, hash = 0;
	int hlen = 0;

	reason = vr_vif_ipv4_route(iph, end, skb->len - sizeof(struct ethhdr), vif, cfg, &nh, &hlen, &hash);
	if (reason)
		return vr_tc_drop(vif->vif_id, reason);
	return vr_vif_tc_forward(skb, nh, vif, cfg, iph, hlen, bpf_ntohs(iph->tot_len), hash, false);
}

/* A VM's IPv6 skb: NDP is answered here; anything else is routed in the vif's VRF like IPv4. */
static __always_inline int vr_vif_tc_ipv6(struct __sk_buff *skb, const struct vr_vif *vif, const struct vr_config *cfg)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);
	struct vr_nexthop *nh;
	__u32 reason, hash = 0;
	int len = 0;

	if ((void *)(ip6 + 1) > end)
		return vr_tc_drop(vif->vif_id, VR_DROP_MALFORMED);
	if (vr_nd_is_nd(ip6, end))
		return vr_tc_nd(skb, vif, cfg);
	reason = vr_vif_ipv6_route(ip6, end, skb->len - sizeof(struct ethhdr), vif, cfg, &nh, &len, &hash);
	if (reason)
		return vr_tc_drop(vif->vif_id, reason);
	return vr_vif_tc_forward(skb, nh, vif, cfg, ip6, sizeof(*ip6), len, hash, true);
}

SEC("tc")
int vr_vif_tc(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex, target = 0;
	struct vr_config *cfg;
	struct vr_vif *vif;
	struct ethhdr *eth;
	void *data, *end;
	__u32 reason;

	if (vr_tc_handover(skb, &target))
		return bpf_redirect(target, 0);
	vif = vr_vif_lookup(ifindex);
	if (!vif)
		return vr_tc_drop(0, VR_DROP_UNKNOWN_VIF);
	cfg = vr_config_get();
	if (!cfg)
		return vr_tc_drop(vif->vif_id, VR_DROP_NO_CONFIG);
	/* On a vif in mode xdp, XDP already counted and routed this frame and passed it up on purpose. */
	if (!(vif->flags & VR_VIF_F_TC))
		return TC_ACT_OK;
	if (vr_tc_pull(skb, VR_TC_HDR_MAX))
		return vr_tc_drop(vif->vif_id, VR_DROP_MALFORMED);
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	eth = data;
	if ((void *)(eth + 1) > end)
		return vr_tc_drop(vif->vif_id, VR_DROP_MALFORMED);
	vr_count_rx(vif->vif_id, skb->len);
	if (!vr_vif_mac_ok(eth->h_source, vif))
		return vr_tc_drop(vif->vif_id, VR_DROP_SPOOF_MAC);
	/* The kernel takes an 802.1Q tag out of the frame before TC runs: the switch below never sees it. */
	if (skb->vlan_present)
		return vr_tc_drop(vif->vif_id, VR_DROP_VLAN);

	switch (eth->h_proto) {
	case bpf_htons(ETH_P_IP):
		return vr_vif_tc_ipv4(skb, vif, cfg);
	case bpf_htons(ETH_P_IPV6):
		return vr_vif_tc_ipv6(skb, vif, cfg);
	case bpf_htons(ETH_P_ARP):
		reason = vr_arp_answer(data, end, vif, cfg);
		if (reason)
			return vr_tc_drop(vif->vif_id, reason);
		return bpf_redirect(ifindex, 0);
	case bpf_htons(ETH_P_8021Q):
	case bpf_htons(ETH_P_8021AD):
		return vr_tc_drop(vif->vif_id, VR_DROP_VLAN);
	default:
		return vr_tc_drop(vif->vif_id, VR_DROP_ETHERTYPE);
	}
}
