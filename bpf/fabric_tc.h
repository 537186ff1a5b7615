/* vr_fabric_tc: TC ingress on the fabric NIC. vr_fabric_xdp decapsulated these frames and handed them over
 * for vifs in mode tc; by now GRO may have merged them into one large skb. Everything else is the host's. */

SEC("tc")
int vr_fabric_tc(struct __sk_buff *skb)
{
	__u32 target = 0;

	if (vr_tc_handover(skb, &target) && target)
		return bpf_redirect(target, 0);
	return TC_ACT_OK;
}
