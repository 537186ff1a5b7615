/* Counters (per-CPU values summed) and the names of drop reasons and nexthop types. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "vr_internal.h"

#define VR_DROP_NAME_ENTRY(id, name, desc) [id] = (name),
#define VR_DROP_DESC_ENTRY(id, name, desc) [id] = (desc),
static const char *const vr_drop_names[VR_DROP_MAX] = { VR_DROP_REASONS(VR_DROP_NAME_ENTRY) };
static const char *const vr_drop_descs[VR_DROP_MAX] = { VR_DROP_REASONS(VR_DROP_DESC_ENTRY) };

const char *vr_drop_name(__u32 reason)
{
	return reason < VR_DROP_MAX && vr_drop_names[reason] ? vr_drop_names[reason] : "unknown";
}

const char *vr_drop_desc(__u32 reason)
{
	return reason < VR_DROP_MAX && vr_drop_descs[reason] ? vr_drop_descs[reason] : "";
}

const char *vr_nh_type_name(__u8 type)
{
	static const char *const names[VR_NH_TYPE_MAX] = {
		[VR_NH_INVALID] = "invalid", [VR_NH_ENCAP] = "vif",	   [VR_NH_TUNNEL] = "tunnel",
		[VR_NH_VRF_LOOKUP] = "vrf",  [VR_NH_RECEIVE] = "receive", [VR_NH_DISCARD] = "discard", [VR_NH_COMPOSITE] = "ecmp",
		[VR_NH_EXTERNAL] = "external",
	};

	return type < VR_NH_TYPE_MAX ? names[type] : "unknown";
}

int vr_vif_stats_get(struct vr_handle *h, __u32 vif_id, struct vr_vif_stats *out)
{
	struct vr_vif_stats *percpu = calloc(h->ncpus, sizeof(*percpu));

	if (!percpu)
		return vr_err(-ENOMEM, "out of memory");
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(h->vif_stats_fd, &vif_id, percpu)) {
		int err = vr_err(-errno, "reading counters of vif %u failed: %s", vif_id, strerror(errno));

		free(percpu);
		return err;
	}
	for (int c = 0; c < h->ncpus; c++) {
		out->rx_packets += percpu[c].rx_packets;
		out->rx_bytes += percpu[c].rx_bytes;
		out->tx_packets += percpu[c].tx_packets;
		out->tx_bytes += percpu[c].tx_bytes;
		out->drops += percpu[c].drops;
	}
	free(percpu);
	return 0;
}

int vr_drops_get(struct vr_handle *h, __u64 out[VR_DROP_MAX])
{
	__u64 *percpu = calloc(h->ncpus, sizeof(*percpu));

	if (!percpu)
		return vr_err(-ENOMEM, "out of memory");
	for (__u32 r = 0; r < VR_DROP_MAX; r++) {
		out[r] = 0;
		if (bpf_map_lookup_elem(h->drops_fd, &r, percpu))
			continue;
		for (int c = 0; c < h->ncpus; c++)
			out[r] += percpu[c];
	}
	free(percpu);
	return 0;
}
