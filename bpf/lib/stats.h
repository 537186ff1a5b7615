/* Counters: per-vif packets/bytes and one per-CPU counter per drop reason. */
#ifndef VR_BPF_STATS_H
#define VR_BPF_STATS_H

#include <linux/pkt_cls.h>
#include "maps.h"

static __always_inline void vr_count_rx(__u32 vif_id, __u64 bytes)
{
	struct vr_vif_stats *st = bpf_map_lookup_elem(&vr_vif_stats, &vif_id);

	if (st) {
		st->rx_packets++;
		st->rx_bytes += bytes;
	}
}

static __always_inline void vr_count_tx(__u32 vif_id, __u64 bytes)
{
	struct vr_vif_stats *st = bpf_map_lookup_elem(&vr_vif_stats, &vif_id);

	if (st) {
		st->tx_packets++;
		st->tx_bytes += bytes;
	}
}

/* Count a drop under its reason (and against the vif it came from, if any). */
static __always_inline void vr_count_drop(__u32 vif_id, __u32 reason)
{
	__u64 *cnt = bpf_map_lookup_elem(&vr_drops, &reason);

	if (cnt)
		(*cnt)++;
	if (vif_id) {
		struct vr_vif_stats *st = bpf_map_lookup_elem(&vr_vif_stats, &vif_id);

		if (st)
			st->drops++;
	}
}

/* XDP: count and drop. */
static __always_inline int vr_drop(__u32 vif_id, __u32 reason)
{
	vr_count_drop(vif_id, reason);
	return XDP_DROP;
}

/* TC: count and drop. */
static __always_inline int vr_tc_drop(__u32 vif_id, __u32 reason)
{
	vr_count_drop(vif_id, reason);
	return TC_ACT_SHOT;
}

#endif /* VR_BPF_STATS_H */
