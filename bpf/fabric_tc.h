/* vr_fabric_tc: TC ingress on the fabric NIC. In fabric mode xdp (the default), vr_fabric_xdp has already
 * decapsulated the frames for vifs in mode tc and handed them over; by now GRO may have merged them, and
 * this program redirects them. In fabric mode tc there is no XDP on the fabric: tunnel packets arrive as
 * skbs, possibly large GSO ones when the underlay delivers them unsegmented, and are decapsulated here.
 * Everything else is the host's. */

/* Fabric mode tc: decapsulate an MPLS-in-UDP or MPLS-over-GRE skb for a local vif. */
static __always_inline int vr_fabric_tc_decap(struct __sk_buff *skb, const struct vr_config *cfg)
{
	__u32 outer_len = 0, inner_max = 0, inner_len = 0, vrf = 0, reason;
	struct vr_nexthop *nh = NULL;
	__be16 proto = 0;
	void *data, *end;
	int rc;

	if (vr_tc_pull(skb, VR_TC_HDR_MAX + sizeof(struct iphdr) + sizeof(struct udphdr) + 4))
		return TC_ACT_OK;
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	rc = vr_tunnel_outer_check(data, end, skb->len, cfg, &outer_len, &inner_max);
	if (rc < 0)
		return TC_ACT_OK;
	if (rc > 0)
		return vr_tc_drop(0, rc);
	reason = vr_label_resolve(data, end, outer_len, inner_max, &nh, &inner_len, &proto, &vrf);
	if (reason)
		return vr_tc_drop(0, reason);
	/* A gateway translates in XDP only (fabric mode xdp). */
	if (nh->type == VR_NH_EXTERNAL)
		return vr_tc_drop(0, VR_DROP_NOT_GATEWAY);
	if (skb->len > outer_len + inner_len && bpf_skb_change_tail(skb, outer_len + inner_len, 0))
		return vr_tc_drop(0, VR_DROP_ADJUST_FAIL);
	/* Remove outer IPv4 + UDP or GRE + MPLS behind the Ethernet header; a GSO skb keeps its segment size. */
	if (bpf_skb_adjust_room(skb, -(int)(outer_len - sizeof(struct ethhdr)), BPF_ADJ_ROOM_MAC,
				BPF_F_ADJ_ROOM_FIXED_GSO))
		return vr_tc_drop(0, VR_DROP_ADJUST_FAIL);
	return vr_tc_deliver(skb, nh, cfg, 0, proto);
}

SEC("tc")
int vr_fabric_tc(struct __sk_buff *skb)
{
	struct vr_config *cfg;
	__u32 target = 0;

	if (vr_tc_handover(skb, &target))
		return bpf_redirect(target, 0);
	cfg = vr_config_get();
	if (!cfg || !cfg->host_ip || !(cfg->flags & VR_CFG_F_FABRIC_TC))
		return TC_ACT_OK;
	return vr_fabric_tc_decap(skb, cfg);
}
