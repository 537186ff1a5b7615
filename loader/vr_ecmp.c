/* ECMP groups: the member table of a composite nexthop. A group is written whole before a nexthop points at it
 * and never rewritten while in use; a changed member set is a new group whose buckets keep what stays, so
 * only the flows of removed members move (and new members take an even share from the others). Freed groups
 * are zeroed (a packet that still holds one finds nexthop 0: a counted drop), and new ones start at a random
 * id, so a just-freed id is seldom the next one used. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <bpf/bpf.h>
#include "vr_internal.h"

int vr_ecmp_get(struct vr_handle *h, __u32 ecmp_id, struct vr_ecmp *out)
{
	if (bpf_map_lookup_elem(h->ecmp_fd, &ecmp_id, out))
		return vr_err(-errno, "reading ECMP group %u failed: %s", ecmp_id, strerror(errno));
	return 0;
}

static int vr_ecmp_alloc(struct vr_handle *h, __u32 *id)
{
	struct vr_ecmp *all;
	__u32 n, start = 0;

	all = vr_array_read(h->ecmp_fd, sizeof(*all), &n);
	if (!all)
		return vr_err(-ENOMEM, "reading the ECMP groups failed");
	if (getrandom(&start, sizeof(start), 0) != sizeof(start))
		start = 0;
	*id = 0;
	for (__u32 k = 0; k < n && !*id; k++) {
		__u32 i = (start + k) % n;

		if (i && !all[i].n_members)
			*id = i;
	}
	free(all);
	return *id ? 0 : vr_err(-ENOSPC, "the ECMP group table is full (%u groups)", n - 1);
}

/* Buckets for members m[0..n): from prev (another group) where its member stays, the others to the members
 * furthest below an even share; new members take buckets from those above it. */
static void vr_ecmp_buckets(struct vr_ecmp *g, const struct vr_ecmp *prev)
{
	__u32 count[VR_ECMP_MEMBERS] = { 0 }, n = g->n_members;
	int owner[VR_ECMP_BUCKETS];

	for (__u32 b = 0; b < VR_ECMP_BUCKETS; b++) {
		owner[b] = -1;
		for (__u32 i = 0; prev && i < n; i++)
			if (prev->bucket[b] == g->members[i]) {
				owner[b] = (int)i;
				count[i]++;
				break;
			}
	}
	/* Orphaned buckets, then rebalancing, each to the member with the fewest buckets. */
	for (__u32 b = 0; b < VR_ECMP_BUCKETS; b++) {
		__u32 best = 0;

		if (owner[b] >= 0)
			continue;
		for (__u32 i = 1; i < n; i++)
			if (count[i] < count[best])
				best = i;
		owner[b] = (int)best;
		count[best]++;
	}
	for (;;) {
		__u32 lo = 0, hi = 0;

		for (__u32 i = 1; i < n; i++) {
			if (count[i] < count[lo])
				lo = i;
			if (count[i] > count[hi])
				hi = i;
		}
		if (count[hi] <= count[lo] + 1)
			break;
		for (__u32 b = VR_ECMP_BUCKETS; b-- > 0;)
			if (owner[b] == (int)hi) {
				owner[b] = (int)lo;
				count[hi]--;
				count[lo]++;
				break;
			}
	}
	for (__u32 b = 0; b < VR_ECMP_BUCKETS; b++)
		g->bucket[b] = g->members[owner[b]];
}

int vr_ecmp_build(struct vr_handle *h, __u32 vrf_id, const struct vr_nh_spec *spec, __be32 host_ip,
		  const struct vr_ecmp *prev, struct vr_nexthop *nh)
{
	struct vr_ecmp g = { .n_members = spec->n_members };
	__u32 id, taken = 0;
	int err = 0;

	if (spec->n_members < 2 || spec->n_members > VR_ECMP_MEMBERS || !spec->members)
		return vr_err(-EINVAL, "an ECMP route needs 2 to %u members, not %u", VR_ECMP_MEMBERS, spec->n_members);
	for (; taken < spec->n_members && !err; taken++) {
		const struct vr_nh_spec *m = &spec->members[taken];
		struct vr_nexthop mnh;

		if (m->type != VR_NH_TUNNEL && m->type != VR_NH_ENCAP) {
			err = vr_err(-EINVAL, "ECMP member %u is not a tunnel or a vif", taken + 1);
			break;
		}
		err = vr_nh_spec_resolve(h, vrf_id, m, host_ip, &mnh);
		if (!err)
			err = vr_nh_ref(h, &mnh, &g.members[taken]);
		if (err)
			break;
		for (__u32 j = 0; j < taken; j++)
			if (g.members[j] == g.members[taken]) {
				err = vr_err(-EINVAL, "ECMP member %u repeats member %u", taken + 1, j + 1);
				taken++; /* its reference is given back below */
				break;
			}
		if (err)
			break;
	}
	if (!err)
		err = vr_ecmp_alloc(h, &id);
	if (!err) {
		vr_ecmp_buckets(&g, prev);
		if (bpf_map_update_elem(h->ecmp_fd, &id, &g, BPF_ANY))
			err = vr_err(-errno, "writing ECMP group %u failed: %s", id, strerror(errno));
	}
	if (err) {
		for (__u32 i = 0; i < taken; i++)
			vr_nh_unref(h, g.members[i]);
		return err;
	}
	memset(nh, 0, sizeof(*nh));
	nh->type = VR_NH_COMPOSITE;
	nh->ecmp_id = id;
	return 0;
}

void vr_ecmp_release(struct vr_handle *h, __u32 ecmp_id)
{
	struct vr_ecmp g, zero = {};

	if (bpf_map_lookup_elem(h->ecmp_fd, &ecmp_id, &g))
		return;
	bpf_map_update_elem(h->ecmp_fd, &ecmp_id, &zero, BPF_ANY);
	for (__u32 i = 0; i < g.n_members && i < VR_ECMP_MEMBERS; i++)
		vr_nh_unref(h, g.members[i]);
}
