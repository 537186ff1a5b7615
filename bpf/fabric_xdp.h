/* vr_fabric_xdp: XDP on the fabric NIC. Packet walk 3 (other host -> VM): MPLS-in-UDP to this host ->
 * label -> nexthop -> strip the outer headers, Ethernet for the VM. Frames for vifs in mode xdp are
 * redirected at once; frames for vifs in mode tc go up as skbs (GRO merges them) for vr_fabric_tc. */

/* An MPLS-in-UDP packet to this host (outer headers validated; outer_len bytes up to and including the
 * MPLS shim; at most inner_max bytes of inner packet in the UDP datagram). */
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
	if (vr_ipv4_check(inner, end, inner_max) < 0)
		return vr_drop(0, VR_DROP_MALFORMED);

	/* A per-VRF label: the inner destination picks the vif. */
	if (nh->type == VR_NH_VRF_LOOKUP) {
		nh = vr_route4_lookup(nh->vrf_id, inner->daddr, &reason);
		if (!nh)
			return vr_drop(0, reason);
	}
	if (nh->type != VR_NH_ENCAP)
		return vr_drop(0, VR_DROP_NH_INVALID);

	if (vr_xdp_trim_to(ctx, outer_len + bpf_ntohs(inner->tot_len)) ||
	    bpf_xdp_adjust_head(ctx, (int)(outer_len - sizeof(struct ethhdr))))
		return vr_drop(0, VR_DROP_ADJUST_FAIL);
	return vr_xdp_deliver(ctx, nh, cfg, 0);
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
	hlen = vr_ipv4_check(iph, end, end - (void *)iph);
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
