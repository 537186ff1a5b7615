/* VRFs: one LPM trie per VRF inside the vr_vrf4 array of maps, an optional per-VRF label, and the listing
 * with per-VRF tallies. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "vr_internal.h"

int vr_vrf_table_fd(struct vr_handle *h, __u32 vrf_id)
{
	__u32 map_id;
	int fd;

	if (bpf_map_lookup_elem(h->vrf4_fd, &vrf_id, &map_id))
		return -ENOENT;
	fd = bpf_map_get_fd_by_id(map_id);
	return fd < 0 ? -errno : fd;
}

int vr_check_vrf_id(struct vr_handle *h, __u32 vrf_id)
{
	__u32 max = vr_map_max_entries(h->vrf4_fd);

	if (vrf_id >= max)
		return vr_err(-EINVAL, "VRF id %u is out of range 0..%u", vrf_id, max - 1);
	return 0;
}

int vr_vrf_open(struct vr_handle *h, __u32 vrf_id)
{
	int err = vr_check_vrf_id(h, vrf_id), fd;

	if (err)
		return err;
	fd = vr_vrf_table_fd(h, vrf_id);
	if (fd < 0)
		return vr_err(-ENOENT, "VRF %u does not exist", vrf_id);
	return fd;
}

/* Does VRF vrf_id exist? 0, or -errno with the error recorded. One lookup, no table fd. */
int vr_vrf_check(struct vr_handle *h, __u32 vrf_id)
{
	__u32 map_id;
	int err = vr_check_vrf_id(h, vrf_id);

	if (err)
		return err;
	if (bpf_map_lookup_elem(h->vrf4_fd, &vrf_id, &map_id))
		return vr_err(-ENOENT, "VRF %u does not exist", vrf_id);
	return 0;
}

/* The lowest label whose nexthop is a VRF_LOOKUP into vrf_id (0 if none): the VRF's own. */
__u32 vr_vrf_label(struct vr_handle *h, __u32 vrf_id, __u32 *nh_id)
{
	struct vr_nexthop want = { .type = VR_NH_VRF_LOOKUP, .vrf_id = vrf_id };
	__u32 id = vr_nh_find(h, &want);

	for (__u32 l = VR_LABEL_MIN; id && l < VR_MAX_LABELS; l++)
		if (vr_label_nh(h, l) == id) {
			if (nh_id)
				*nh_id = id;
			return l;
		}
	return 0;
}

/* Undo what vr_vrf_add_batch prepared for one request: its label, its nexthop, its table. */
static void vr_vrf_req_undo(struct vr_handle *h, struct vr_vrf_req *r, int fd, __u32 nh_id)
{
	if (r->label && nh_id && vr_label_nh(h, r->label) == nh_id)
		vr_label_free(h, r->label);
	if (nh_id)
		vr_nh_put(h, nh_id);
	if (fd >= 0)
		close(fd);
}

int vr_vrf_add_batch(struct vr_handle *h, struct vr_vrf_req *reqs, size_t n)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	__u32 max = vr_map_max_entries(h->vrf4_fd), *keys, *nh_ids, count, nw = 0;
	size_t failed = 0;
	int *fds, err = 0;
	__u8 *seen;

	vr_err_clear();
	keys = calloc(n + 1, sizeof(*keys));
	nh_ids = calloc(n + 1, sizeof(*nh_ids));
	fds = calloc(n + 1, sizeof(*fds));
	seen = calloc(max + 1, 1);
	if (!keys || !nh_ids || !fds || !seen) {
		err = vr_err(-ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct vr_vrf_req *r = &reqs[i];
		char name[16];
		int fd;

		fds[i] = -1;
		r->err = vr_check_vrf_id(h, r->vrf_id);
		if (!r->err && (seen[r->vrf_id] || (fd = vr_vrf_table_fd(h, r->vrf_id)) >= 0)) {
			if (!seen[r->vrf_id])
				close(fd);
			r->err = vr_err(-EEXIST, "VRF %u already exists", r->vrf_id);
		}
		if (!r->err) {
			snprintf(name, sizeof(name), "vr_rt4_%u", r->vrf_id);
			fds[i] = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, name, sizeof(struct vr_route4_key), sizeof(__u32),
						VR_MAX_ROUTES_PER_VRF, &opts);
			if (fds[i] < 0)
				r->err = vr_err(-errno, "creating the route table of VRF %u failed: %s", r->vrf_id,
						strerror(errno));
		}
		if (!r->err && r->label) {
			struct vr_nexthop nh = { .type = VR_NH_VRF_LOOKUP, .vrf_id = r->vrf_id };
			__u32 got;

			r->err = vr_nh_get(h, &nh, &nh_ids[i]);
			if (!r->err)
				r->err = vr_label_alloc(h, r->label, nh_ids[i], &got);
		}
		if (r->err) {
			vr_vrf_req_undo(h, r, fds[i], nh_ids[i]);
			fds[i] = -1;
			failed++;
			continue;
		}
		seen[r->vrf_id] = 1;
		keys[nw] = r->vrf_id;
		nw++;
	}
	/* Hook every new table in with one update: the kernel waits for running programs once per update of
	 * an array of maps (an RCU grace period, milliseconds), so 4096 VRFs one by one would take 40 s. */
	{
		int *vals = calloc(nw + 1, sizeof(*vals));
		size_t k = 0;

		if (!vals) {
			err = vr_err(-ENOMEM, "out of memory");
		} else {
			for (size_t i = 0; i < n; i++)
				if (!reqs[i].err)
					vals[k++] = fds[i];
			count = nw;
			if (nw && bpf_map_update_batch(h->vrf4_fd, keys, vals, &count, &bopts)) {
				for (size_t i = 0; i < nw && !err; i++)
					if (bpf_map_update_elem(h->vrf4_fd, &keys[i], &vals[i], BPF_ANY))
						err = vr_err(-errno, "installing the route table of VRF %u failed: %s",
							     keys[i], strerror(errno));
			}
			free(vals);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (reqs[i].err)
			continue;
		if (err) {
			__u32 id = reqs[i].vrf_id;

			bpf_map_delete_elem(h->vrf4_fd, &id);
			vr_vrf_req_undo(h, &reqs[i], fds[i], nh_ids[i]);
			reqs[i].err = err;
		} else {
			close(fds[i]);
		}
	}
	if (!err)
		err = (int)(failed > INT32_MAX ? INT32_MAX : failed);
out:
	free(keys);
	free(nh_ids);
	free(fds);
	free(seen);
	return err;
}

int vr_vrf_add(struct vr_handle *h, __u32 vrf_id, __u32 label)
{
	struct vr_vrf_req r = { .vrf_id = vrf_id, .label = label };
	int err = vr_vrf_add_batch(h, &r, 1);

	return err < 0 ? err : r.err;
}

struct vr_vif_count {
	__u32 vrf_id;
	__u32 count;
};

static int vr_count_vif_cb(const struct vr_vif *vif, void *arg)
{
	struct vr_vif_count *c = arg;

	if (vif->vrf_id == c->vrf_id)
		c->count++;
	return 0;
}

int vr_vrf_del(struct vr_handle *h, __u32 vrf_id)
{
	struct vr_vif_count vc = { .vrf_id = vrf_id };
	struct vr_route4_key key, next;
	__u32 nh_id, label;
	int fd, err;

	vr_err_clear();
	err = vr_check_vrf_id(h, vrf_id);
	if (err)
		return err;
	fd = vr_vrf_table_fd(h, vrf_id);
	if (fd < 0)
		return vr_err(-ENOENT, "VRF %u does not exist", vrf_id);
	err = vr_vif_foreach(h, vr_count_vif_cb, &vc);
	if (!err && vc.count)
		err = vr_err(-EBUSY, "VRF %u still has %u vif(s); delete them first", vrf_id, vc.count);
	if (err) {
		close(fd);
		return err;
	}
	/* Unhook the table first: from here on no packet looks into it (nor into a cached answer from it). Then
	 * release its nexthops. */
	if (bpf_map_delete_elem(h->vrf4_fd, &vrf_id)) {
		err = vr_err(-errno, "removing VRF %u failed: %s", vrf_id, strerror(errno));
		close(fd);
		return err;
	}
	vr_route_gen_bump(h->route_gen_fd);
	/* The VRF's own label and any bound to it explicitly. */
	label = vr_vrf_label(h, vrf_id, &nh_id);
	if (label) {
		vr_label_unbind_nh(h, nh_id, label);
		vr_label_free(h, label);
		vr_nh_put(h, nh_id);
	}
	while (!bpf_map_get_next_key(fd, NULL, &next)) {
		key = next;
		if (!bpf_map_lookup_elem(fd, &key, &nh_id))
			vr_nh_put(h, nh_id);
		if (bpf_map_delete_elem(fd, &key))
			break;
	}
	close(fd);
	return vr_host_flush_vrf(h, vrf_id);
}

static int vr_count_routes(int fd)
{
	struct vr_route4_key key, next;
	int n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

/* Per-VRF tallies for vr_vrf_foreach, each gathered in one pass over its table. */
struct vr_vrf_tally {
	__u32 max;
	__u32 *routes, *vifs, *label;
};

static int vr_tally_host_cb(const struct vr_host4_key *key, __u32 nh_id, void *arg)
{
	struct vr_vrf_tally *t = arg;

	(void)nh_id;
	if (key->vrf_id < t->max)
		t->routes[key->vrf_id]++;
	return 0;
}

static int vr_tally_vif_cb(const struct vr_vif *vif, void *arg)
{
	struct vr_vrf_tally *t = arg;

	if (vif->vrf_id < t->max)
		t->vifs[vif->vrf_id]++;
	return 0;
}

static void vr_tally_labels(struct vr_handle *h, struct vr_vrf_tally *t)
{
	for (__u32 l = VR_LABEL_MIN; l < VR_MAX_LABELS; l++) {
		const struct vr_nexthop *nh = vr_nh_peek(h, vr_label_nh(h, l));

		if (nh && nh->type == VR_NH_VRF_LOOKUP && nh->vrf_id < t->max && !t->label[nh->vrf_id])
			t->label[nh->vrf_id] = l;
	}
}

int vr_vrf_foreach(struct vr_handle *h, vr_vrf_cb cb, void *arg)
{
	struct vr_vrf_tally t = { .max = vr_map_max_entries(h->vrf4_fd) };
	int err = 0;

	t.routes = calloc(t.max + 1, sizeof(__u32));
	t.vifs = calloc(t.max + 1, sizeof(__u32));
	t.label = calloc(t.max + 1, sizeof(__u32));
	if (!t.routes || !t.vifs || !t.label) {
		err = vr_err(-ENOMEM, "out of memory");
		goto out;
	}
	err = vr_host_walk(h, vr_tally_host_cb, &t);
	if (!err)
		err = vr_vif_foreach(h, vr_tally_vif_cb, &t);
	if (!err)
		vr_tally_labels(h, &t);
	for (__u32 id = 0; id < t.max && !err; id++) {
		struct vr_vrf_info info = { .vrf_id = id };
		int fd = vr_vrf_table_fd(h, id);

		if (fd < 0)
			continue;
		info.routes = vr_count_routes(fd) + t.routes[id];
		close(fd);
		info.vifs = t.vifs[id];
		info.label = t.label[id];
		err = cb(&info, arg);
	}
out:
	free(t.routes);
	free(t.vifs);
	free(t.label);
	return err;
}
