/* Counters: per-vif packets/bytes and one per-CPU counter per drop reason. */
#ifndef VR_BPF_STATS_H
#define VR_BPF_STATS_H

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

/* Count a drop under its reason (and against the vif it came from, if any) and return XDP_DROP. */
static __always_inline int vr_drop(__u32 vif_id, __u32 reason)
{
	__u64 *cnt = bpf_map_lookup_elem(&vr_drops, &reason);

	if (cnt)
		(*cnt)++;
	if (vif_id) {
		struct vr_vif_stats *st = bpf_map_lookup_elem(&vr_vif_stats, &vif_id);

		if (st)
			st->drops++;
	}
	return XDP_DROP;
}

#endif /* VR_BPF_STATS_H */
