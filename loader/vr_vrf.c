/* VRFs: two LPM tries per VRF, the IPv4 one inside the vr_vrf4 array of maps and the IPv6 one inside vr_vrf6
 * (created and removed together: a VRF exists when its IPv4 trie is hooked in, and the IPv6 one is hooked in
 * first), an optional per-VRF label, and the listing with per-VRF tallies. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "vr_internal.h"

int vr_vrf_table_fd(struct vr_handle *h, int family, __u32 vrf_id)
{
	__u32 map_id;
	int fd;

	if (bpf_map_lookup_elem(vr_vrf_map_fd(h, family), &vrf_id, &map_id))
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

int vr_vrf_open(struct vr_handle *h, int family, __u32 vrf_id)
{
	int err = vr_check_vrf_id(h, vrf_id), fd;

	if (err)
		return err;
	fd = vr_vrf_table_fd(h, family, vrf_id);
	if (fd < 0)
		return vr_err(-ENOENT, "VRF %u does not exist", vrf_id);
	return fd;
}

/* Does VRF vrf_id exist? 0, or -errno with the error recorded. One lookup, no table fd. */
int vr_vrf_check(struct vr_handle *h, int family, __u32 vrf_id)
{
	__u32 map_id;
	int err = vr_check_vrf_id(h, vrf_id);

	if (err)
		return err;
	if (bpf_map_lookup_elem(vr_vrf_map_fd(h, family), &vrf_id, &map_id))
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

/* The two tries of a VRF, by index: 0 IPv4, 1 IPv6. */
static int vr_vrf_family(int f)
{
	return f ? AF_INET6 : AF_INET;
}

static void vr_vrf_fds_close(int fd[2])
{
	for (int f = 0; f < 2; f++) {
		if (fd[f] >= 0)
			close(fd[f]);
		fd[f] = -1;
	}
}

/* Undo what vr_vrf_add_batch prepared for one request: its label, its nexthop, its tables. */
static void vr_vrf_req_undo(struct vr_handle *h, struct vr_vrf_req *r, int fd[2], __u32 nh_id)
{
	if (r->label && nh_id && vr_label_nh(h, r->label) == nh_id)
		vr_label_free(h, r->label);
	if (nh_id)
		vr_nh_put(h, nh_id);
	vr_vrf_fds_close(fd);
}

/* A new, empty route table of the family for vrf_id, shaped as the datapath's inner map template. */
static int vr_vrf_trie_create(int family, __u32 vrf_id)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	int v = family == AF_INET6 ? 6 : 4, fd;
	char name[16];

	snprintf(name, sizeof(name), "vr_rt%d_%u", v, vrf_id);
	fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, name, (__u32)vr_af_key_size(family), sizeof(__u32),
			    VR_MAX_ROUTES_PER_VRF, &opts);
	if (fd < 0)
		return vr_err(-errno, "creating the IPv%d route table of VRF %u failed: %s", v, vrf_id, strerror(errno));
	return fd;
}

/* Hook new tables into the family's array of maps with one update: the kernel waits for running programs once
 * per update of an array of maps (an RCU grace period, milliseconds), so 4096 VRFs one by one would take 40 s. */
static int vr_vrf_hook(struct vr_handle *h, int family, const __u32 *keys, const int *vals, __u32 n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	int outer = vr_vrf_map_fd(h, family);
	__u32 count = n;

	if (!n || !bpf_map_update_batch(outer, keys, vals, &count, &bopts))
		return 0;
	for (__u32 i = 0; i < n; i++)
		if (bpf_map_update_elem(outer, &keys[i], &vals[i], BPF_ANY))
			return vr_err(-errno, "installing the IPv%d route table of VRF %u failed: %s",
				      family == AF_INET6 ? 6 : 4, keys[i], strerror(errno));
	return 0;
}

int vr_vrf_add_batch(struct vr_handle *h, struct vr_vrf_req *reqs, size_t n)
{
	__u32 max = vr_map_max_entries(h->vrf4_fd), *keys, *nh_ids, nw = 0;
	size_t failed = 0;
	int (*fds)[2], *vals, err = 0;
	__u8 *seen;

	vr_err_clear();
	keys = calloc(n + 1, sizeof(*keys));
	nh_ids = calloc(n + 1, sizeof(*nh_ids));
	fds = calloc(n + 1, sizeof(*fds));
	vals = calloc(n + 1, sizeof(*vals));
	seen = calloc(max + 1, 1);
	if (!keys || !nh_ids || !fds || !vals || !seen) {
		err = vr_err(-ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct vr_vrf_req *r = &reqs[i];
		int fd = -1;

		fds[i][0] = fds[i][1] = -1;
		r->err = vr_check_vrf_id(h, r->vrf_id);
		if (!r->err && (seen[r->vrf_id] || (fd = vr_vrf_table_fd(h, AF_INET, r->vrf_id)) >= 0)) {
			if (!seen[r->vrf_id])
				close(fd);
			r->err = vr_err(-EEXIST, "VRF %u already exists", r->vrf_id);
		}
		/* Both tables or neither. */
		for (int f = 0; f < 2 && !r->err; f++) {
			fds[i][f] = vr_vrf_trie_create(vr_vrf_family(f), r->vrf_id);
			if (fds[i][f] < 0)
				r->err = fds[i][f];
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
			failed++;
			continue;
		}
		seen[r->vrf_id] = 1;
		keys[nw] = r->vrf_id;
		nw++;
	}
	/* The IPv6 tables first: a VRF exists once its IPv4 table is hooked in, and then it has both. */
	for (int f = 1; f >= 0 && !err; f--) {
		size_t k = 0;

		for (size_t i = 0; i < n; i++)
			if (!reqs[i].err)
				vals[k++] = fds[i][f];
		err = vr_vrf_hook(h, vr_vrf_family(f), keys, vals, nw);
	}
	for (size_t i = 0; i < n; i++) {
		if (reqs[i].err)
			continue;
		if (err) {
			__u32 id = reqs[i].vrf_id;

			bpf_map_delete_elem(h->vrf4_fd, &id);
			bpf_map_delete_elem(h->vrf6_fd, &id);
			vr_vrf_req_undo(h, &reqs[i], fds[i], nh_ids[i]);
			reqs[i].err = err;
		} else {
			vr_vrf_fds_close(fds[i]);
		}
	}
	if (!err)
		err = (int)(failed > INT32_MAX ? INT32_MAX : failed);
out:
	free(keys);
	free(nh_ids);
	free(fds);
	free(vals);
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

/* Empty an unhooked trie, giving back its routes' nexthops. */
static void vr_vrf_trie_flush(struct vr_handle *h, int fd)
{
	__u8 key[VR_ROUTE_KEY_MAX], next[VR_ROUTE_KEY_MAX];
	__u32 nh_id;

	while (fd >= 0 && !bpf_map_get_next_key(fd, NULL, next)) {
		memcpy(key, next, sizeof(key));
		if (!bpf_map_lookup_elem(fd, key, &nh_id))
			vr_nh_put(h, nh_id);
		if (bpf_map_delete_elem(fd, key))
			break;
	}
}

/* The floating IPs of one VRF, collected to be removed once the walk is over. */
struct vr_fip_collect {
	__u32 vrf_id;
	__be32 addrs[VR_MAX_FIPS];
	__u32 n;
};

static int vr_fip_collect_cb(__be32 public_ip, const struct vr_fip_key *priv, void *arg)
{
	struct vr_fip_collect *c = arg;

	if (priv->vrf_id == c->vrf_id && c->n < VR_MAX_FIPS)
		c->addrs[c->n++] = public_ip;
	return 0;
}

/* A deleted VRF's public addresses go with it: its source-NAT address and its floating IPs (the gateway would
 * otherwise keep taking packets for a tenant that is gone). Connections already open expire by themselves. */
static void vr_vrf_nat_release(struct vr_handle *h, __u32 vrf_id)
{
	struct vr_snat sn = {};
	struct vr_fip_collect *c;

	if (!vr_snat_get(h, vrf_id, &sn) && sn.addr)
		vr_snat_set(h, vrf_id, 0, 0, 0);
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->vrf_id = vrf_id;
	vr_fip_foreach(h, vr_fip_collect_cb, c);
	for (__u32 i = 0; i < c->n; i++)
		vr_fip_del(h, c->addrs[i]);
	free(c);
}

int vr_vrf_del(struct vr_handle *h, __u32 vrf_id)
{
	struct vr_vif_count vc = { .vrf_id = vrf_id };
	__u32 nh_id, label;
	int fd[2], err;

	vr_err_clear();
	err = vr_check_vrf_id(h, vrf_id);
	if (err)
		return err;
	fd[0] = vr_vrf_table_fd(h, AF_INET, vrf_id);
	if (fd[0] < 0)
		return vr_err(-ENOENT, "VRF %u does not exist", vrf_id);
	fd[1] = vr_vrf_table_fd(h, AF_INET6, vrf_id);
	err = vr_vif_foreach(h, vr_count_vif_cb, &vc);
	if (!err && vc.count)
		err = vr_err(-EBUSY, "VRF %u still has %u vif(s); delete them first", vrf_id, vc.count);
	if (err) {
		vr_vrf_fds_close(fd);
		return err;
	}
	/* Unhook the tables first (the IPv4 one says the VRF exists): from here on no packet looks into them (nor
	 * into a cached answer from them). Then release their nexthops. */
	if (bpf_map_delete_elem(h->vrf4_fd, &vrf_id)) {
		err = vr_err(-errno, "removing VRF %u failed: %s", vrf_id, strerror(errno));
		vr_vrf_fds_close(fd);
		return err;
	}
	if (fd[1] >= 0 && bpf_map_delete_elem(h->vrf6_fd, &vrf_id))
		err = vr_err(-errno, "removing the IPv6 table of VRF %u failed: %s", vrf_id, strerror(errno));
	vr_route_gen_bump(h->route_gen_fd);
	/* The VRF's own label and any bound to it explicitly. */
	label = vr_vrf_label(h, vrf_id, &nh_id);
	if (label) {
		vr_label_unbind_nh(h, nh_id, label);
		vr_label_free(h, label);
		vr_nh_put(h, nh_id);
	}
	/* An IPv6 table that could not be unhooked keeps its routes (packets may still use them). */
	vr_vrf_trie_flush(h, fd[0]);
	if (!err)
		vr_vrf_trie_flush(h, fd[1]);
	vr_vrf_fds_close(fd);
	if (err)
		return err;
	vr_vrf_nat_release(h, vrf_id);
	vr_err_clear();
	return vr_host_flush_vrf(h, vrf_id);
}

static int vr_count_routes(int fd)
{
	__u8 key[VR_ROUTE_KEY_MAX], next[VR_ROUTE_KEY_MAX];
	void *prev = NULL;
	int n = 0;

	while (fd >= 0 && !bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, sizeof(key));
		prev = key;
		n++;
	}
	return n;
}

/* Per-VRF tallies for vr_vrf_foreach, each gathered in one pass over its table. */
struct vr_vrf_tally {
	__u32 max;
	__u32 *routes, *vifs, *label;
};

static int vr_tally_host_cb(int family, const void *key, __u32 nh_id, void *arg)
{
	struct vr_vrf_tally *t = arg;
	__u32 vrf_id = vr_host_key_vrf(key);

	(void)family;
	(void)nh_id;
	if (vrf_id < t->max)
		t->routes[vrf_id]++;
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
	err = vr_host_walk(h, AF_INET, vr_tally_host_cb, &t);
	if (!err)
		err = vr_host_walk(h, AF_INET6, vr_tally_host_cb, &t);
	if (!err)
		err = vr_vif_foreach(h, vr_tally_vif_cb, &t);
	if (!err)
		vr_tally_labels(h, &t);
	for (__u32 id = 0; id < t.max && !err; id++) {
		struct vr_vrf_info info = { .vrf_id = id };
		int fd[2] = { vr_vrf_table_fd(h, AF_INET, id), -1 };

		if (fd[0] < 0)
			continue;
		fd[1] = vr_vrf_table_fd(h, AF_INET6, id);
		info.routes = vr_count_routes(fd[0]) + vr_count_routes(fd[1]) + t.routes[id];
		vr_vrf_fds_close(fd);
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
