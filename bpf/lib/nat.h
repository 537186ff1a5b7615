/* The gateway's NAT (vr_types.h has the tables): source NAT with a connection table for TCP, UDP and ICMP echo,
 * floating IPs (1:1, stateless), and the translation back of replies and of ICMP errors about translated
 * packets (so that path MTU discovery works through the NAT). Only IPv4. The outbound half runs in the fabric
 * program after decapsulation (a packet whose VRF route is EXTERNAL), the inbound half in vr_ext_xdp (and for
 * a packet one tenant sends to another tenant's public address, right after its outbound half: hairpin). */
#ifndef VR_BPF_NAT_H
#define VR_BPF_NAT_H

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "maps.h"
#include "stats.h"
#include "csum.h"
#include "parse.h"
#include "route.h"
#include "encap.h"

#define VR_ICMP_ECHO_REPLY 0
#define VR_ICMP_ECHO 8
#define VR_ICMP_TIME_EXCEEDED 11
#define VR_ICMP_PARAMETER_PROB 12

/* The translatable part of an IPv4 packet: its ports (or ICMP echo identifier), TCP flags, ICMP type. */
struct vr_nat_l4 {
	__be16 sport;     /* TCP/UDP source port; ICMP echo: the identifier */
	__be16 dport;     /* TCP/UDP destination port; ICMP echo: 0 */
	__u8 tcp_flags;
	__u8 icmp_type;
};

static __always_inline struct vr_nat_config *vr_nat_config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&vr_nat_config, &zero);
}

/* Replace a 32-bit field covered by the checksum at check (RFC 1624). */
static __always_inline void vr_csum_replace4(__sum16 *check, __be32 old, __be32 new)
{
	__u32 sum = (__u16)~*check;

	sum += (__u16)~(old & 0xffff);
	sum += (__u16)~(old >> 16);
	sum += new & 0xffff;
	sum += new >> 16;
	*check = vr_csum_fold(sum);
}

/* The L4 fields of the IPv4 packet at iph (hlen bytes of header). Returns 0, or VR_DROP_NAT_UNSUPPORTED for a
 * fragment, another protocol or an ICMP message that is neither an echo nor (errors_ok) an error. */
static __always_inline __u32 vr_nat_l4_parse(struct iphdr *iph, __u32 hlen, void *end, struct vr_nat_l4 *l4,
					     bool errors_ok)
{
	void *p = (void *)iph + (hlen & 0x3c);

	if (vr_ipv4_is_fragment(iph))
		return VR_DROP_NAT_UNSUPPORTED;
	__builtin_memset(l4, 0, sizeof(*l4));
	switch (iph->protocol) {
	case IPPROTO_TCP: {
		struct tcphdr *tcp = p;

		if ((void *)(tcp + 1) > end)
			return VR_DROP_MALFORMED;
		l4->sport = tcp->source;
		l4->dport = tcp->dest;
		l4->tcp_flags = ((__u8 *)tcp)[13];
		return 0;
	}
	case IPPROTO_UDP: {
		struct udphdr *udp = p;

		if ((void *)(udp + 1) > end)
			return VR_DROP_MALFORMED;
		l4->sport = udp->source;
		l4->dport = udp->dest;
		return 0;
	}
	case IPPROTO_ICMP: {
		__u8 *icmp = p;

		if ((void *)(icmp + 8) > end)
			return VR_DROP_MALFORMED;
		l4->icmp_type = icmp[0];
		if (icmp[0] == VR_ICMP_ECHO || icmp[0] == VR_ICMP_ECHO_REPLY) {
			l4->sport = *(__be16 *)(icmp + 4);
			return 0;
		}
		if (errors_ok && (icmp[0] == VR_ICMP_DEST_UNREACH || icmp[0] == VR_ICMP_TIME_EXCEEDED ||
				  icmp[0] == VR_ICMP_PARAMETER_PROB))
			return 0;
		return VR_DROP_NAT_UNSUPPORTED;
	}
	default:
		return VR_DROP_NAT_UNSUPPORTED;
	}
}

/* Ticks a connection in state state may stay idle. */
static __always_inline __u64 vr_nat_timeout(const struct vr_nat_config *nc, __u8 proto, __u8 state)
{
	__u32 s = nc->timeout_icmp;

	if (proto == IPPROTO_TCP)
		s = state == VR_NAT_S_ESTABLISHED ? nc->timeout_tcp : nc->timeout_tcp_transitory;
	else if (proto == IPPROTO_UDP)
		s = nc->timeout_udp;
	return (__u64)s * (CONFIG_HZ ? CONFIG_HZ : 250);
}

static __always_inline int vr_nat_expired(const struct vr_nat_config *nc, const struct vr_nat_entry *out, __u8 proto,
					  __u64 now)
{
	return now > out->last_seen + vr_nat_timeout(nc, proto, out->state);
}

/* A packet of the connection whose outbound entry is out: keep it alive, follow the TCP state, count it in e. */
static __always_inline void vr_nat_touch(struct vr_nat_entry *out, struct vr_nat_entry *e, __u64 now, __u8 proto,
					 __u8 tcp_flags, bool reply, __u32 bytes)
{
	__u8 state = out->state;

	if (proto == IPPROTO_TCP && (tcp_flags & (0x01 | 0x04))) /* FIN, RST */
		state = VR_NAT_S_CLOSING;
	else if (reply && state == VR_NAT_S_NEW)
		state = VR_NAT_S_ESTABLISHED;
	if (state != out->state)
		out->state = state;
	if (out->last_seen != now)
		out->last_seen = now;
	e->packets++;
	e->bytes += bytes;
}

/* The outbound key of a connection from its inbound key and entry (the inbound entry names the VM's side). */
static __always_inline void vr_nat_out_key_of(struct vr_nat_key *out, const struct vr_nat_key *in,
					      const struct vr_nat_entry *ie)
{
	out->src = ie->addr;
	out->dst = in->src;
	out->proto = in->proto;
	out->dir = VR_NAT_OUT;
	out->pad = 0;
	out->vrf_id = ie->vrf_id;
	if (in->proto == IPPROTO_ICMP) {
		out->sport = ie->port;
		out->dport = 0;
	} else {
		out->sport = ie->port;
		out->dport = in->sport;
	}
}

/* A new connection (outbound key k of VRF vrf) gets a public port of the tenant's range: the flow's hash picks
 * the first candidate, VR_NAT_PORT_TRIES are tried in turn; a candidate whose connection expired is taken
 * over. Both entries are written (inbound first, so that a reply never finds half a connection). Returns 0
 * with *pub_port set, or a drop reason. */
static __always_inline __u32 vr_nat_new(const struct vr_nat_config *nc, const struct vr_snat *sn,
					const struct vr_nat_key *k, __u64 now, __u32 seed, __u32 bytes, __be16 *pub_port)
{
	__u32 range = (__u32)sn->port_max - sn->port_min + 1;
	__u32 h = vr_hash_final(vr_hash_step(vr_hash_step(vr_hash_step(seed, k->src), k->dst),
					     (__u32)k->sport << 16 | k->dport) ^ k->vrf_id);
	struct vr_nat_entry ie = { .addr = k->src, .port = k->sport, .vrf_id = k->vrf_id, .last_seen = now };
	/* The outbound entry counts the packet that opens the connection. */
	struct vr_nat_entry oe = { .addr = sn->addr, .state = VR_NAT_S_NEW, .last_seen = now, .packets = 1,
				   .bytes = bytes };
	struct vr_nat_key ik = { .src = k->dst, .dst = sn->addr, .proto = k->proto, .dir = VR_NAT_IN };
	/* 32 bits: kernels before 6.4 call the map's update through an int-returning function directly, and the
	 * upper half of the helper's 64-bit result is then undefined (-EEXIST arrives as 0x00000000ffffffef). */
	int rc;

	if (!range || range > 65536)
		return VR_DROP_NAT_NO_PORT;
#pragma unroll
	for (int i = 0; i < VR_NAT_PORT_TRIES; i++) {
		__be16 port = bpf_htons(sn->port_min + (h + i) % range);

		if (k->proto == IPPROTO_ICMP) {
			ik.sport = 0;
			ik.dport = port;
		} else {
			ik.sport = k->dport;
			ik.dport = port;
		}
		rc = (int)bpf_map_update_elem(&vr_nat, &ik, &ie, BPF_NOEXIST);
		if (rc == -17 /* EEXIST */) {
			/* Taken: by a connection that is over? Then it is ours. */
			struct vr_nat_entry *old = bpf_map_lookup_elem(&vr_nat, &ik), *oo;
			struct vr_nat_key ok;

			if (!old)
				continue;
			vr_nat_out_key_of(&ok, &ik, old);
			oo = bpf_map_lookup_elem(&vr_nat, &ok);
			if (oo && !vr_nat_expired(nc, oo, k->proto, now))
				continue;
			if (oo)
				bpf_map_delete_elem(&vr_nat, &ok);
			rc = (int)bpf_map_update_elem(&vr_nat, &ik, &ie, BPF_ANY);
		}
		if (rc)
			return VR_DROP_NAT_FULL;
		oe.port = port;
		if (bpf_map_update_elem(&vr_nat, k, &oe, BPF_ANY)) {
			bpf_map_delete_elem(&vr_nat, &ik);
			return VR_DROP_NAT_FULL;
		}
		*pub_port = port;
		return 0;
	}
	return VR_DROP_NAT_NO_PORT;
}

/* Rewrite the source (saddr, and the source port or echo identifier to port when nat_port) of the IPv4 packet
 * at iph (hlen bytes of header), checksums patched: the IPv4 header's, and the L4 one (TCP and UDP cover the
 * addresses through their pseudo-header; a zero UDP checksum stays zero). dst: the destination side instead.
 * Returns 0, or -1 when the L4 header is cut short. */
static __always_inline int vr_nat_rewrite(struct iphdr *iph, __u32 hlen, void *end, __be32 addr, __be16 port,
					  bool nat_port, bool dst)
{
	void *l4 = (void *)iph + (hlen & 0x3c);
	__be32 *a = dst ? &iph->daddr : &iph->saddr;
	__be32 old = *a;
	__sum16 *csum;
	__be16 *p, oldp;

	if (iph->protocol == IPPROTO_ICMP) {
		/* The echo identifier sits 4 bytes into the message; ICMP has no pseudo-header. */
		csum = l4 + 2;
		p = l4 + 4;
	} else {
		csum = l4 + (iph->protocol == IPPROTO_TCP ? offsetof(struct tcphdr, check) : offsetof(struct udphdr, check));
		p = l4 + (dst ? 2 : 0);
	}
	if ((void *)(csum + 1) > end || (void *)(p + 1) > end)
		return -1;
	*a = addr;
	vr_csum_replace4(&iph->check, old, addr);
	oldp = *p;
	if (nat_port)
		*p = port;
	if (iph->protocol == IPPROTO_ICMP) {
		if (nat_port)
			vr_csum_replace2(csum, oldp, port);
		return 0;
	}
	if (iph->protocol == IPPROTO_UDP && !*csum)
		return 0;
	vr_csum_replace4(csum, old, addr);
	if (nat_port)
		vr_csum_replace2(csum, oldp, port);
	if (iph->protocol == IPPROTO_UDP && !*csum)
		*csum = 0xffff;
	return 0;
}

/* Outbound: the tenant's packet (IPv4 at iph, hlen bytes of header, from VRF vrf) leaves with the VM's floating
 * IP or the tenant's SNAT address and a public port of its connection. Returns 0 (translated), or a drop
 * reason. */
static __always_inline __u32 vr_nat_out(struct iphdr *iph, __u32 hlen, void *end, __u32 vrf, __u32 bytes,
					const struct vr_nat_config *nc, const struct vr_config *cfg)
{
	struct vr_fip_key fk = { .vrf_id = vrf, .addr = iph->saddr };
	struct vr_nat_entry *oe, *ie;
	struct vr_nat_key k = {}, ik;
	struct vr_nat_l4 l4;
	struct vr_snat *sn;
	__u64 now = bpf_jiffies64();
	__be16 port = 0;
	__be32 *fip;
	__u32 reason;

	reason = vr_nat_l4_parse(iph, hlen, end, &l4, false);
	if (reason)
		return reason;
	fip = bpf_map_lookup_elem(&vr_fip, &fk);
	if (fip)
		return vr_nat_rewrite(iph, hlen, end, *fip, 0, false, false) ? VR_DROP_MALFORMED : 0;
	sn = bpf_map_lookup_elem(&vr_snat, &vrf);
	if (!sn || !sn->addr)
		return VR_DROP_NAT_NO_SNAT;
	if (iph->protocol == IPPROTO_ICMP && l4.icmp_type != VR_ICMP_ECHO)
		return VR_DROP_NAT_UNSUPPORTED;
	k.src = iph->saddr;
	k.dst = iph->daddr;
	k.sport = l4.sport;
	k.dport = l4.dport;
	k.proto = iph->protocol;
	k.dir = VR_NAT_OUT;
	k.vrf_id = vrf;
	oe = bpf_map_lookup_elem(&vr_nat, &k);
	if (oe && !vr_nat_expired(nc, oe, k.proto, now) && oe->addr == sn->addr) {
		port = oe->port;
		vr_nat_touch(oe, oe, now, k.proto, l4.tcp_flags, false, bytes);
	} else {
		if (oe) {
			/* Over (or the tenant's address changed): its inbound half goes with it. */
			ik = (struct vr_nat_key){ .src = k.dst, .dst = oe->addr, .proto = k.proto, .dir = VR_NAT_IN };
			ik.sport = k.proto == IPPROTO_ICMP ? 0 : k.dport;
			ik.dport = oe->port;
			ie = bpf_map_lookup_elem(&vr_nat, &ik);
			if (ie && ie->addr == k.src && ie->vrf_id == vrf)
				bpf_map_delete_elem(&vr_nat, &ik);
			bpf_map_delete_elem(&vr_nat, &k);
		}
		reason = vr_nat_new(nc, sn, &k, now, cfg->hash_seed, bytes, &port);
		if (reason)
			return reason;
	}
	return vr_nat_rewrite(iph, hlen, end, sn->addr, port, true, false) ? VR_DROP_MALFORMED : 0;
}

/* An ICMP error from outside (at iph, about a packet we translated, quoted after its 8-byte header): find the
 * connection of the quoted packet (the public side as it left) and give both the error and the quote the VM's
 * address and port back. Returns 0 with *vrf set, or a drop reason. */
static __always_inline __u32 vr_nat_in_icmp_error(struct iphdr *iph, __u32 hlen, void *end,
						  const struct vr_nat_config *nc, __u32 *vrf)
{
	__sum16 *icsum = (void *)iph + (hlen & 0x3c) + 2;
	struct iphdr *q = (void *)iph + (hlen & 0x3c) + 8;
	struct vr_fip_key *fk;
	struct vr_nat_entry *ie, *oe;
	struct vr_nat_key k = {}, ok;
	__be16 *qport, oldp;
	__be32 old, addr;
	__sum16 oldc;
	__u32 qhlen;

	if ((void *)(q + 1) > end || q->version != 4 || q->ihl < 5)
		return VR_DROP_MALFORMED;
	/* An error about a packet we sent comes back to the address that sent it. */
	if (q->saddr != iph->daddr)
		return VR_DROP_NAT_NO_CONN;
	qhlen = q->ihl * 4;
	qport = (void *)q + qhlen;
	if ((void *)(qport + 2) > end)
		return VR_DROP_MALFORMED;
	if ((void *)(icsum + 1) > end)
		return VR_DROP_MALFORMED;
	fk = bpf_map_lookup_elem(&vr_fip_rev, &q->saddr);
	if (fk) {
		addr = fk->addr;
		*vrf = fk->vrf_id;
		qport = NULL;
	} else {
		k.src = q->daddr;
		k.dst = q->saddr;
		k.proto = q->protocol;
		k.dir = VR_NAT_IN;
		if (q->protocol == IPPROTO_ICMP) {
			/* The quoted echo request: its identifier is the public one. */
			qport = (void *)q + qhlen + 4;
			if ((void *)(qport + 1) > end)
				return VR_DROP_MALFORMED;
			k.dport = *qport;
		} else if (q->protocol == IPPROTO_TCP || q->protocol == IPPROTO_UDP) {
			k.sport = qport[1];
			k.dport = qport[0];
		} else {
			return VR_DROP_NAT_NO_CONN;
		}
		ie = bpf_map_lookup_elem(&vr_nat, &k);
		if (!ie)
			return VR_DROP_NAT_NO_CONN;
		vr_nat_out_key_of(&ok, &k, ie);
		oe = bpf_map_lookup_elem(&vr_nat, &ok);
		if (!oe || vr_nat_expired(nc, oe, k.proto, bpf_jiffies64()))
			return VR_DROP_NAT_NO_CONN;
		addr = ie->addr;
		*vrf = ie->vrf_id;
		if (qport) {
			oldp = *qport;
			*qport = ie->port;
			vr_csum_replace2(icsum, oldp, ie->port);
		}
	}
	/* The quoted header: its source, and its checksum (both under the ICMP checksum). */
	old = q->saddr;
	oldc = q->check;
	q->saddr = addr;
	vr_csum_replace4(&q->check, old, addr);
	vr_csum_replace4(icsum, old, addr);
	vr_csum_replace2(icsum, oldc, q->check);
	/* The error itself goes to the VM. */
	old = iph->daddr;
	iph->daddr = addr;
	vr_csum_replace4(&iph->check, old, addr);
	return 0;
}

/* Inbound: a packet to a public address (IPv4 at iph, hlen bytes of header): to the VM with that floating IP,
 * or, through the connection table, to the VM whose connection it answers. Returns 0 with *vrf set (the
 * destination rewritten), or a drop reason. */
static __always_inline __u32 vr_nat_in(struct iphdr *iph, __u32 hlen, void *end, __u32 bytes,
				       const struct vr_nat_config *nc, __u32 *vrf)
{
	struct vr_nat_entry *ie, *oe;
	struct vr_nat_key k = {}, ok;
	struct vr_fip_key *fk;
	struct vr_nat_l4 l4;
	__u64 now;
	__u32 reason;

	reason = vr_nat_l4_parse(iph, hlen, end, &l4, true);
	if (reason)
		return reason;
	if (iph->protocol == IPPROTO_ICMP && l4.icmp_type != VR_ICMP_ECHO && l4.icmp_type != VR_ICMP_ECHO_REPLY)
		return vr_nat_in_icmp_error(iph, hlen, end, nc, vrf);
	fk = bpf_map_lookup_elem(&vr_fip_rev, &iph->daddr);
	if (fk) {
		*vrf = fk->vrf_id;
		return vr_nat_rewrite(iph, hlen, end, fk->addr, 0, false, true) ? VR_DROP_MALFORMED : 0;
	}
	if (iph->protocol == IPPROTO_ICMP && l4.icmp_type != VR_ICMP_ECHO_REPLY)
		return VR_DROP_NAT_NO_CONN; /* an echo request to a SNAT address: nobody to ask */
	k.src = iph->saddr;
	k.dst = iph->daddr;
	k.proto = iph->protocol;
	k.dir = VR_NAT_IN;
	if (iph->protocol == IPPROTO_ICMP) {
		k.dport = l4.sport; /* the echo identifier */
	} else {
		k.sport = l4.sport;
		k.dport = l4.dport;
	}
	ie = bpf_map_lookup_elem(&vr_nat, &k);
	if (!ie)
		return VR_DROP_NAT_NO_CONN;
	vr_nat_out_key_of(&ok, &k, ie);
	oe = bpf_map_lookup_elem(&vr_nat, &ok);
	now = bpf_jiffies64();
	if (!oe || vr_nat_expired(nc, oe, k.proto, now))
		return VR_DROP_NAT_NO_CONN;
	vr_nat_touch(oe, ie, now, k.proto, l4.tcp_flags, true, bytes);
	*vrf = ie->vrf_id;
	return vr_nat_rewrite(iph, hlen, end, ie->addr, ie->port, true, true) ? VR_DROP_MALFORMED : 0;
}

#endif /* VR_BPF_NAT_H */
