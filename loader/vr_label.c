/* MPLS labels: label -> nexthop, the table the fabric looks up when it decapsulates. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "vr_internal.h"

int vr_label_alloc(struct vr_handle *h, __u32 want, __u32 nh_id, __u32 *label)
{
	__u32 *all, n, pick = 0;

	if (want && (want < VR_LABEL_MIN || want >= VR_MAX_LABELS))
		return vr_err(-EINVAL, "label %u is outside %u..%u", want, VR_LABEL_MIN, VR_MAX_LABELS - 1);
	all = vr_array_read(h->labels_fd, sizeof(*all), &n);
	if (!all)
		return vr_err(-ENOMEM, "reading the label table failed");
	if (want) {
		if (want < n && all[want]) {
			__u32 owner = all[want];

			free(all);
			return vr_err(-EBUSY, "label %u is already in use (nexthop %u)", want, owner);
		}
		pick = want < n ? want : 0;
	} else {
		for (__u32 i = VR_LABEL_MIN; i < n; i++)
			if (!all[i]) {
				pick = i;
				break;
			}
	}
	free(all);
	if (!pick)
		return vr_err(-ENOSPC, "no free MPLS label");
	if (bpf_map_update_elem(h->labels_fd, &pick, &nh_id, BPF_ANY))
		return vr_err(-errno, "writing label %u failed: %s", pick, strerror(errno));
	*label = pick;
	return 0;
}

void vr_label_free(struct vr_handle *h, __u32 label)
{
	__u32 zero = 0;

	if (label)
		bpf_map_update_elem(h->labels_fd, &label, &zero, BPF_ANY);
}

int vr_label_foreach(struct vr_handle *h, vr_label_cb cb, void *arg)
{
	__u32 *all, n;
	int err = 0;

	all = vr_array_read(h->labels_fd, sizeof(*all), &n);
	if (!all)
		return vr_err(-ENOMEM, "reading the label table failed");
	for (__u32 i = 0; i < n && !err; i++) {
		struct vr_nexthop nh = {};

		if (!all[i])
			continue;
		bpf_map_lookup_elem(h->nexthops_fd, &all[i], &nh);
		err = cb(i, all[i], &nh, arg);
	}
	free(all);
	return err;
}

