/* vr_fabric_xdp: XDP on the fabric NIC. Packet walk 3 (other host -> VM): MPLS-in-UDP or MPLS-over-GRE to this
 * host -> label -> nexthop -> strip the outer headers, Ethernet for the VM. Frames for vifs in mode xdp are
 * redirected at once; frames for vifs in mode tc go up as skbs (GRO merges them) for vr_fabric_tc. */

/* A tunnel packet to this host (outer headers validated; outer_len bytes up to and including the MPLS shim; at
 * most inner_max bytes of inner packet in the UDP datagram or GRE payload). */
static __always_inline int vr_fabric_decap(struct xdp_md *ctx, const struct vr_config *cfg, __u32 outer_len,
					   __u32 inner_max)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 reason, inner_len = 0, vrf = 0;
	struct vr_nexthop *nh = NULL;
	__be16 proto = 0;

	reason = vr_label_resolve(data, end, outer_len, inner_max, &nh, &inner_len, &proto, &vrf);
	if (reason)
		return vr_drop(0, reason);
	if (nh->type == VR_NH_EXTERNAL)
		return vr_xdp_gw_out(ctx, cfg, vrf, outer_len, inner_len, proto);
	if (vr_xdp_trim_to(ctx, outer_len + inner_len) ||
	    bpf_xdp_adjust_head(ctx, (int)(outer_len - sizeof(struct ethhdr))))
		return vr_drop(0, VR_DROP_ADJUST_FAIL);
	return vr_xdp_deliver(ctx, nh, cfg, 0, proto);
}

SEC("xdp")
int vr_fabric_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct vr_config *cfg;
	__u32 outer_len = 0, inner_max = 0;
	int rc;

	cfg = vr_config_get();
	if (!cfg || !cfg->host_ip)
		return XDP_PASS;
	rc = vr_tunnel_outer_check(data, end, end - data, cfg, &outer_len, &inner_max);
	if (rc < 0)
		return XDP_PASS;
	if (rc > 0)
		return vr_drop(0, rc);
	return vr_fabric_decap(ctx, cfg, outer_len, inner_max);
}
