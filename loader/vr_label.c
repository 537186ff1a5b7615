/* MPLS labels: label -> nexthop, the table the fabric looks up when it decapsulates. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "vr_internal.h"

/* The label table as this handle sees it: read once, then kept current by every change through the handle
 * (which holds the writer lock), so allocating a label is O(1) amortized instead of a 4 MB read each. */
struct vr_label_cache {
	__u32 *nh; /* label -> nexthop id, 0: free */
	__u32 n;
	__u32 hint; /* no free label below it (>= VR_LABEL_MIN) */
};

static struct vr_label_cache *vr_labels(struct vr_handle *h)
{
	struct vr_label_cache *c = h->label_cache;

	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->nh = vr_array_read(h->labels_fd, sizeof(*c->nh), &c->n);
	if (!c->nh) {
		free(c);
		return NULL;
	}
	c->hint = VR_LABEL_MIN;
	h->label_cache = c;
	return c;
}

void vr_label_cache_free(struct vr_handle *h)
{
	if (!h->label_cache)
		return;
	free(h->label_cache->nh);
	free(h->label_cache);
	h->label_cache = NULL;
}

__u32 vr_label_nh(struct vr_handle *h, __u32 label)
{
	struct vr_label_cache *c = vr_labels(h);

	return c && label < c->n ? c->nh[label] : 0;
}

int vr_label_alloc(struct vr_handle *h, __u32 want, __u32 nh_id, __u32 *label)
{
	struct vr_label_cache *c = vr_labels(h);
	__u32 pick = 0;

	if (want && (want < VR_LABEL_MIN || want >= VR_MAX_LABELS))
		return vr_err(-EINVAL, "label %u is outside %u..%u", want, VR_LABEL_MIN, VR_MAX_LABELS - 1);
	if (!c)
		return vr_err(-ENOMEM, "reading the label table failed");
	if (want) {
		if (want < c->n && c->nh[want])
			return vr_err(-EBUSY, "label %u is already in use (nexthop %u)", want, c->nh[want]);
		pick = want < c->n ? want : 0;
	} else {
		for (pick = c->hint; pick < c->n && c->nh[pick]; pick++)
			;
		c->hint = pick;
		if (pick >= c->n)
			pick = 0;
	}
	if (!pick)
		return vr_err(-ENOSPC, "no free MPLS label (all %u are in use)", c->n - VR_LABEL_MIN);
	if (bpf_map_update_elem(h->labels_fd, &pick, &nh_id, BPF_ANY))
		return vr_err(-errno, "writing label %u failed: %s", pick, strerror(errno));
	c->nh[pick] = nh_id;
	*label = pick;
	return 0;
}

void vr_label_free(struct vr_handle *h, __u32 label)
{
	struct vr_label_cache *c = vr_labels(h);
	__u32 zero = 0;

	if (!label)
		return;
	bpf_map_update_elem(h->labels_fd, &label, &zero, BPF_ANY);
	if (c && label < c->n) {
		c->nh[label] = 0;
		if (label < c->hint && label >= VR_LABEL_MIN)
			c->hint = label;
	}
}

/* The nexthop a label binding names: a vif's own (per-interface label) or a VRF lookup (per-VRF label). */
static int vr_label_target(struct vr_handle *h, const struct vr_label_req *r, struct vr_nexthop *nh)
{
	struct vr_vif vif;
	int err;

	memset(nh, 0, sizeof(*nh));
	if (r->ifname) {
		err = vr_vif_get(h, r->ifname, &vif);
		if (err)
			return err;
		if (bpf_map_lookup_elem(h->nexthops_fd, &vif.nh_id, nh))
			return vr_err(-errno, "reading the nexthop of vif %s failed: %s", r->ifname, strerror(errno));
		return 0;
	}
	err = vr_vrf_check(h, AF_INET, r->vrf_id);
	if (err)
		return err;
	nh->type = VR_NH_VRF_LOOKUP;
	nh->vrf_id = r->vrf_id;
	return 0;
}

int vr_label_add_batch(struct vr_handle *h, struct vr_label_req *reqs, size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct vr_label_cache *c;
	__u32 *keys = NULL, *vals = NULL, count;
	size_t nw = 0, failed = 0;
	int err = 0;

	vr_err_clear();
	c = vr_labels(h);
	keys = malloc((n ? n : 1) * sizeof(*keys));
	vals = malloc((n ? n : 1) * sizeof(*vals));
	if (!c || !keys || !vals) {
		err = vr_err(-ENOMEM, "out of memory for %zu labels", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct vr_label_req *r = &reqs[i];
		struct vr_nexthop nh;
		__u32 nh_id = 0;

		if (r->label < VR_LABEL_MIN || r->label >= c->n)
			r->err = vr_err(-EINVAL, "label %u is outside %u..%u", r->label, VR_LABEL_MIN, c->n - 1);
		else if (c->nh[r->label])
			r->err = vr_err(-EBUSY, "label %u is already in use (nexthop %u)", r->label, c->nh[r->label]);
		else
			r->err = vr_label_target(h, r, &nh);
		if (!r->err)
			r->err = vr_nh_ref(h, &nh, &nh_id);
		if (r->err) {
			failed++;
			continue;
		}
		c->nh[r->label] = nh_id; /* taken: a later request for it in this batch fails */
		keys[nw] = r->label;
		vals[nw++] = nh_id;
	}
	/* Nexthops first, then the labels that point at them, in one batch each. */
	err = vr_nh_flush(h);
	count = nw;
	if (!err && nw && bpf_map_update_batch(h->labels_fd, keys, vals, &count, &opts)) {
		for (size_t i = 0; i < nw && !err; i++)
			if (bpf_map_update_elem(h->labels_fd, &keys[i], &vals[i], BPF_ANY))
				err = vr_err(-errno, "writing label %u failed: %s", keys[i], strerror(errno));
	}
	if (err) {
		/* Nothing of this batch may stay half-applied: unbind what was taken here and drop the cache. */
		for (size_t i = 0; i < nw; i++) {
			__u32 zero = 0;

			bpf_map_update_elem(h->labels_fd, &keys[i], &zero, BPF_ANY);
			vr_nh_unref(h, vals[i]);
		}
		vr_nh_flush(h);
		vr_label_cache_free(h);
		for (size_t i = 0; i < n; i++)
			if (!reqs[i].err)
				reqs[i].err = err;
		goto out;
	}
	err = (int)(failed > INT32_MAX ? INT32_MAX : failed);
out:
	free(keys);
	free(vals);
	return err;
}

int vr_label_add(struct vr_handle *h, const struct vr_label_req *req)
{
	struct vr_label_req r = *req;
	int err = vr_label_add_batch(h, &r, 1);

	return err < 0 ? err : r.err;
}

int vr_label_del(struct vr_handle *h, __u32 label)
{
	struct vr_nexthop nh = {};
	__u32 nh_id, map_id;
	struct vr_vif vif;

	vr_err_clear();
	nh_id = vr_label_nh(h, label);
	if (!nh_id)
		return vr_err(-ENOENT, "label %u is not in use", label);
	bpf_map_lookup_elem(h->nexthops_fd, &nh_id, &nh);
	/* A vif's own label goes with the vif, a VRF's with the VRF. */
	if (nh.type == VR_NH_ENCAP && !vr_vif_by_id(h, nh.vif_id, &vif) && vif.label == label)
		return vr_err(-EBUSY, "label %u is vif %u's own; it goes with 'vif del'", label, nh.vif_id);
	if (nh.type == VR_NH_VRF_LOOKUP && !bpf_map_lookup_elem(h->vrf4_fd, &nh.vrf_id, &map_id) &&
	    vr_vrf_label(h, nh.vrf_id, NULL) == label)
		return vr_err(-EBUSY, "label %u is VRF %u's own; it goes with 'vrf del'", label, nh.vrf_id);
	vr_label_free(h, label);
	return vr_nh_put(h, nh_id);
}

/* Unbind every label that points at nh_id except keep (the owner's own label); returns how many. */
__u32 vr_label_unbind_nh(struct vr_handle *h, __u32 nh_id, __u32 keep)
{
	struct vr_label_cache *c = vr_labels(h);
	__u32 n = 0;

	for (__u32 l = VR_LABEL_MIN; c && l < c->n; l++)
		if (c->nh[l] == nh_id && l != keep) {
			vr_label_free(h, l);
			vr_nh_unref(h, nh_id);
			n++;
		}
	vr_nh_flush(h);
	return n;
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

