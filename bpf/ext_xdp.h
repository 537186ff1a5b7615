/* vr_ext_xdp: XDP on a gateway's external NIC. Packets to the public addresses the gateway owns (SNAT
 * addresses and floating IPs) are translated back and tunnelled to the tenant's VM; everything else (the
 * routing daemon's BGP session, the host's own traffic, ARP) is the host's. */

SEC("xdp")
int vr_ext_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct vr_nat_config *nc;
	struct vr_config *cfg;

	if ((void *)(iph + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (!bpf_map_lookup_elem(&vr_nat_addrs, &iph->daddr))
		return XDP_PASS;
	cfg = vr_config_get();
	nc = vr_nat_config_get();
	if (!cfg || !nc || !nc->ext_ifindex)
		return XDP_PASS;
	if (vr_ipv4_check(iph, end, end - (void *)iph) < 0)
		return vr_drop(0, VR_DROP_MALFORMED);
	if (vr_xdp_trim_to(ctx, sizeof(struct ethhdr) + bpf_ntohs(iph->tot_len)))
		return vr_drop(0, VR_DROP_ADJUST_FAIL);
	return vr_xdp_gw_in(ctx, cfg, nc);
}
