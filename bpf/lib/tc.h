/* What the TC (cls_bpf, direct-action) programs do with an skb once the lookups have decided: the skb path
 * for GSO/TSO super-packets and checksum offload. Encapsulation goes through bpf_skb_adjust_room with the
 * ENCAP flags, so the kernel segments the result as a UDP (or GRE) tunnel and finishes offloaded checksums. */
#ifndef VR_BPF_TC_H
#define VR_BPF_TC_H

#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include "encap.h"
#include "icmp.h"
#include "icmp6.h"
#include "nd.h"

/* Ethernet + the largest IPv4 header + the largest TCP header: all the datapath ever reads. */
#define VR_TC_HDR_MAX (14 + 60 + 60)

/* Make the first want bytes (or the whole skb, if shorter) directly readable. */
static __always_inline int vr_tc_pull(struct __sk_buff *skb, __u32 want)
{
	if (want > skb->len)
		want = skb->len;
	if ((void *)(long)skb->data + want <= (void *)(long)skb->data_end)
		return 0;
	return bpf_skb_pull_data(skb, want);
}

/* Deliver the skb (Ethernet + an IP packet of Ethertype proto) to ENCAP nexthop nh: rewrite the Ethernet
 * header, redirect out of the vif's device. */
static __always_inline int vr_tc_deliver(struct __sk_buff *skb, const struct vr_nexthop *nh, const struct vr_config *cfg,
					 __u32 from_vif, __be16 proto)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return vr_tc_drop(from_vif, VR_DROP_MALFORMED);
	vr_eth_to_vm(eth, nh, cfg, proto);
	vr_count_tx(nh->vif_id, skb->len);
	return bpf_redirect(nh->ifindex, 0);
}

/* 16-bit ones' complement rotate right by one: halves a value in ones' complement arithmetic. */
static __always_inline __u16 vr_csum_half(__u16 v)
{
	return (__u16)((v >> 1) | (v << 15));
}

/* Reply to the VM with ICMP fragmentation needed (IPv4: hlen bytes of header) or ICMPv6 Packet Too Big (v6:
 * hlen 40) quoting its packet, whose transport protocol is l4proto.
 * An skb whose L4 checksum is still left to offload (CHECKSUM_PARTIAL, the VM's default) cannot be told so
 * by any helper and forbids trimming short of its checksum field; whoever delivers the reply may still
 * complete that checksum over our quote (a tap reader, skb_checksum_help), while a veth peer takes the
 * reply as it is. So the quoted L4 checksum field is set to the fixed point of that completion: completing
 * it rewrites the same value, and the ICMP checksum computed over it holds either way. A pending checksum
 * is detected by a trim to just before the L4 checksum field, which fails only then. */
static __always_inline int vr_tc_too_big(struct __sk_buff *skb, const struct vr_vif *vif, const struct vr_config *cfg,
					 __u32 hlen, __u8 l4proto, bool v6, __u16 mtu)
{
	__u32 qlen = hlen + VR_ICMP_QUOTE, l4csum = 0, room = v6 ? VR_ICMP6_ROOM : VR_ICMP_ROOM;
	__u8 quote[60 + VR_ICMP_QUOTE];
	void *data, *end;
	int partial = 0;

	if (hlen < 20 || hlen > 60)
		return vr_tc_drop(vif->vif_id, VR_DROP_MALFORMED);
	if (l4proto == IPPROTO_TCP)
		l4csum = 16;
	else if (l4proto == IPPROTO_UDP)
		l4csum = 6;
	qlen &= 0xff;
	if (qlen < 20 + VR_ICMP_QUOTE || qlen > 60 + VR_ICMP_QUOTE ||
	    bpf_skb_load_bytes(skb, sizeof(struct ethhdr), quote, qlen))
		return vr_tc_drop(vif->vif_id, VR_DROP_ADJUST_FAIL);
	if (l4csum)
		partial = bpf_skb_change_tail(skb, sizeof(struct ethhdr) + hlen + l4csum + 1, 0) != 0;
	/* Trimming also clears GSO state: the reply is one small packet. The quote is written back, since the
	 * probe above may have cut it. */
	if (bpf_skb_change_tail(skb, sizeof(struct ethhdr) + qlen, 0) ||
	    bpf_skb_adjust_room(skb, room, BPF_ADJ_ROOM_MAC, 0) ||
	    bpf_skb_store_bytes(skb, sizeof(struct ethhdr) + room, quote, qlen, 0) ||
	    bpf_skb_pull_data(skb, skb->len))
		return vr_tc_drop(vif->vif_id, VR_DROP_ADJUST_FAIL);
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	if (partial) {
		/* The completion writes ~(a + X) into the field X, a being the rest of [L4 header, end): the fixed
		 * point is 2X = ~a, X = ~a halved. The quoted L4 part is VR_ICMP_QUOTE bytes, all readable. */
		__u16 *l4 = data + sizeof(struct ethhdr) + room + hlen;
		__u32 a = 0;

		if ((void *)l4 + VR_ICMP_QUOTE > end)
			return vr_tc_drop(vif->vif_id, VR_DROP_MALFORMED);
#pragma unroll
		for (int i = 0; i < VR_ICMP_QUOTE / 2; i++)
			if ((__u32)i * 2 != l4csum)
				a += l4[i];
		a = (a & 0xffff) + (a >> 16);
		a = (a & 0xffff) + (a >> 16);
		if (l4csum == 16)
			l4[8] = vr_csum_half((__u16)~a);
		else
			l4[3] = vr_csum_half((__u16)~a);
	}
	if (v6 ? vr_icmp6_too_big_fill(data, end, vif, cfg, mtu) : vr_icmp_frag_needed_fill(data, end, vif, cfg, mtu))
		return vr_tc_drop(vif->vif_id, VR_DROP_MALFORMED);
	vr_count_drop(vif->vif_id, v6 ? VR_DROP_PKT_TOO_BIG : VR_DROP_FRAG_NEEDED);
	vr_count_tx(vif->vif_id, skb->len);
	return bpf_redirect(skb->ifindex, 0);
}

/* A VM's NDP message on the skb path: answer a neighbour solicitation with an advertisement out of the same
 * device, or count the drop. */
static __always_inline int vr_tc_nd(struct __sk_buff *skb, const struct vr_vif *vif, const struct vr_config *cfg)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct in6_addr target;
	int router = 0;
	__u32 reason;

	reason = vr_nd_check(data + sizeof(struct ethhdr), end, skb->len - sizeof(struct ethhdr), vif, &target,
			     &router);
	if (reason)
		return vr_tc_drop(vif->vif_id, reason);
	if (bpf_skb_change_tail(skb, VR_ND_ADVERT_FRAME, 0) || bpf_skb_pull_data(skb, VR_ND_ADVERT_FRAME))
		return vr_tc_drop(vif->vif_id, VR_DROP_ADJUST_FAIL);
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	if (vr_nd_advert_fill(data, end, vif, cfg, &target, router))
		return vr_tc_drop(vif->vif_id, VR_DROP_MALFORMED);
	vr_count_tx(vif->vif_id, skb->len);
	return bpf_redirect(skb->ifindex, 0);
}

/* Length of one segment's IP packet after GSO splits the skb (inner headers + gso_size); the IP header at
 * inner is hlen bytes long and carries l4proto. */
static __always_inline __u32 vr_tc_seglen(struct __sk_buff *skb, void *inner, __u32 hlen, __u8 l4proto, void *end)
{
	__u32 l4 = 0;

	if (l4proto == IPPROTO_TCP) {
		struct tcphdr *tcp = inner + hlen;

		if ((void *)(tcp + 1) <= end)
			l4 = tcp->doff * 4;
	} else if (l4proto == IPPROTO_UDP) {
		l4 = sizeof(struct udphdr);
	}
	return hlen + l4 + skb->gso_size;
}

/* Encapsulate the VM's packet (validated: IPv4 with hlen bytes of header, or IPv6 (v6, hlen 40); inner_len
 * bytes; TTL or hop limit not yet spent; hash its inner-flow hash) towards a TUNNEL nexthop and redirect it to
 * the underlay. Too big for the underlay MTU: a TCP GSO packet whose segments would fit without the tunnel is
 * re-segmented smaller by the tunnel's overhead (32 bytes, 28 for GRE); anything else gets ICMP fragmentation
 * needed (IPv4 with DF) or ICMPv6 Packet Too Big, or is dropped and counted as too_big (IPv4 without DF: see
 * the README on fragmentation). The kernel segments a GSO packet as a UDP tunnel (MPLS-in-UDP) or a GRE tunnel
 * (MPLS-over-GRE: SKB_GSO_GRE, gre_gso_segment), taking the label for a 4-byte inner link header either way,
 * so neither needs the kernel's MPLS GSO; the GRE header carries no checksum, so no GSO_GRE_CSUM either. */
static __always_inline int vr_tc_encap(struct __sk_buff *skb, const struct vr_nexthop *nh, const struct vr_vif *vif,
				       const struct vr_config *cfg, __u32 hlen, __u32 inner_len, __u32 hash, bool v6)
{
	__u64 flags = BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L2(sizeof(__be32)) | BPF_F_ADJ_ROOM_FIXED_GSO;
	__u32 reason, size, overhead = vr_tunnel_overhead(nh);
	__u16 sport = vr_sport_from_hash(hash);
	struct vr_underlay *u;
	void *data, *end, *inner;
	__u8 tos, ttl, l4proto;
	bool df = true;

	reason = vr_underlay_resolve(skb, cfg, nh->remote_ip, sport, &u);
	if (reason)
		return vr_tc_drop(vif->vif_id, reason);
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	inner = data + sizeof(struct ethhdr);
	if (v6) {
		struct ipv6hdr *ip6 = inner;

		if ((void *)(ip6 + 1) > end)
			return vr_tc_drop(vif->vif_id, VR_DROP_MALFORMED);
		l4proto = ip6->nexthdr;
	} else {
		struct iphdr *iph = inner;

		if ((void *)(iph + 1) > end)
			return vr_tc_drop(vif->vif_id, VR_DROP_MALFORMED);
		l4proto = iph->protocol;
		df = iph->frag_off & bpf_htons(VR_IP_DF);
	}
	flags |= (nh->flags & VR_NH_F_GRE) ? BPF_F_ADJ_ROOM_ENCAP_L4_GRE : BPF_F_ADJ_ROOM_ENCAP_L4_UDP;
	size = skb->gso_size ? vr_tc_seglen(skb, inner, hlen, l4proto, end) : inner_len;
	if (size + overhead > u->mtu) {
		/* The kernel shrinks gso_size for TCP only (UDP GSO keeps the datagram boundaries). */
		if (skb->gso_size && l4proto == IPPROTO_TCP && size <= u->mtu)
			flags &= ~BPF_F_ADJ_ROOM_FIXED_GSO; /* gso_size -= overhead */
		else if (df)
			return vr_tc_too_big(skb, vif, cfg, hlen, l4proto, v6, u->mtu - overhead);
		else
			return vr_tc_drop(vif->vif_id, VR_DROP_TOO_BIG);
	}

	if (v6) {
		struct ipv6hdr *ip6 = inner;

		if ((void *)(ip6 + 1) > end)
			return vr_tc_drop(vif->vif_id, VR_DROP_MALFORMED);
		ip6->hop_limit--;
		tos = vr_ipv6_tclass(ip6);
		ttl = ip6->hop_limit;
	} else {
		struct iphdr *iph = inner;

		if ((void *)(iph + 1) > end)
			return vr_tc_drop(vif->vif_id, VR_DROP_MALFORMED);
		vr_ipv4_ttl_dec(iph);
		tos = iph->tos;
		ttl = iph->ttl;
	}
	if (skb->len > sizeof(struct ethhdr) + inner_len &&
	    bpf_skb_change_tail(skb, sizeof(struct ethhdr) + inner_len, 0))
		return vr_tc_drop(vif->vif_id, VR_DROP_ADJUST_FAIL);
	if (bpf_skb_adjust_room(skb, overhead, BPF_ADJ_ROOM_MAC, flags))
		return vr_tc_drop(vif->vif_id, VR_DROP_ADJUST_FAIL);

	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	if (vr_tunnel_headers_write(data, end, u, cfg, nh, inner_len, tos, ttl, sport))
		return vr_tc_drop(vif->vif_id, VR_DROP_ADJUST_FAIL);
	return bpf_redirect(u->ifindex, 0);
}

/* Did an XDP program on this device hand this skb over (vr_xdp_handover)? Returns 1 with *target set to
 * the device to redirect it to, else 0. */
static __always_inline int vr_tc_handover(struct __sk_buff *skb, __u32 *target)
{
	struct vr_xdp_meta *meta = (void *)(long)skb->data_meta;

	if ((void *)(meta + 1) > (void *)(long)skb->data || meta->magic != VR_META_MAGIC)
		return 0;
	*target = meta->ifindex;
	return 1;
}

#endif /* VR_BPF_TC_H */
