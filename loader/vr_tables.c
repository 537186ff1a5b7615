/* Typed operations on the forwarding tables: VRFs (per-VRF LPM tries inside vr_vrf4), vifs, routes,
 * reference-counted nexthops and MPLS labels. Every multi-map change is undone if a later step fails, so
 * the datapath never sees a half-applied change that forwards wrongly. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if_arp.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "vr_internal.h"
#include "vr_hash.h"

static __u32 vr_map_max_entries(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.max_entries;
}

/* Read a whole ARRAY map (value_size bytes per entry) into a new buffer; *n gets the entry count. */
static void *vr_array_read(int fd, size_t value_size, __u32 *n)
{
	__u32 max = vr_map_max_entries(fd), count, out = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 *keys;
	char *vals;
	int err;

	if (!max)
		return NULL;
	keys = calloc(max, sizeof(*keys));
	vals = calloc(max, value_size);
	if (!keys || !vals)
		goto fail;
	count = max;
	err = bpf_map_lookup_batch(fd, NULL, &out, keys, vals, &count, &opts);
	if (err && errno != ENOENT) {
		/* No batch support: one lookup per entry. */
		for (__u32 i = 0; i < max; i++)
			if (bpf_map_lookup_elem(fd, &i, vals + (size_t)i * value_size))
				goto fail;
	} else if (count != max) {
		goto fail;
	}
	free(keys);
	*n = max;
	return vals;
fail:
	free(keys);
	free(vals);
	return NULL;
}

static bool vr_nh_equal(const struct vr_nexthop *a, const struct vr_nexthop *b)
{
	return a->type == b->type && a->flags == b->flags && a->vif_id == b->vif_id && a->ifindex == b->ifindex &&
	       a->vrf_id == b->vrf_id && a->label == b->label && a->remote_ip == b->remote_ip &&
	       !memcmp(a->dmac, b->dmac, 6);
}

/* The nexthop table as this handle sees it: a snapshot read once, then kept current by every change made
 * through the handle (which holds the writer lock, so nobody else changes it meanwhile), with a chained
 * hash by content, so that finding or allocating a nexthop costs O(1) instead of a read of the whole
 * table per route. */
struct vr_nh_cache {
	struct vr_nexthop *nh;
	__u32 n;
	__u32 free_hint; /* no free slot below it */
	__u32 *head;     /* bucket -> first id (0: none) */
	__u32 *next;     /* id -> next id in its bucket */
};

static __u32 vr_nh_bucket(const struct vr_nh_cache *c, const struct vr_nexthop *nh)
{
	__u32 h = vr_hash_step(nh->type | (__u32)nh->flags << 8, nh->vif_id);

	h = vr_hash_step(h, nh->ifindex);
	h = vr_hash_step(h, nh->vrf_id);
	h = vr_hash_step(h, nh->label);
	h = vr_hash_step(h, nh->remote_ip);
	h = vr_hash_step(h, (__u32)nh->dmac[0] << 24 | nh->dmac[1] << 16 | nh->dmac[2] << 8 | nh->dmac[3]);
	h = vr_hash_step(h, (__u32)nh->dmac[4] << 8 | nh->dmac[5]);
	return vr_hash_final(h) % c->n;
}

static void vr_nh_link(struct vr_nh_cache *c, __u32 id)
{
	__u32 b = vr_nh_bucket(c, &c->nh[id]);

	c->next[id] = c->head[b];
	c->head[b] = id;
}

static void vr_nh_unlink(struct vr_nh_cache *c, __u32 id)
{
	__u32 *p = &c->head[vr_nh_bucket(c, &c->nh[id])];

	while (*p && *p != id)
		p = &c->next[*p];
	if (*p)
		*p = c->next[id];
}

void vr_nh_cache_free(struct vr_handle *h)
{
	struct vr_nh_cache *c = h->nh_cache;

	if (!c)
		return;
	free(c->nh);
	free(c->head);
	free(c->next);
	free(c);
	h->nh_cache = NULL;
}

static struct vr_nh_cache *vr_nh_cache(struct vr_handle *h)
{
	struct vr_nh_cache *c = h->nh_cache;

	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->nh = vr_array_read(h->nexthops_fd, sizeof(*c->nh), &c->n);
	if (c->nh) {
		c->head = calloc(c->n, sizeof(*c->head));
		c->next = calloc(c->n, sizeof(*c->next));
	}
	if (!c->nh || !c->head || !c->next) {
		h->nh_cache = c;
		vr_nh_cache_free(h);
		return NULL;
	}
	c->free_hint = 1;
	for (__u32 i = 1; i < c->n; i++)
		if (c->nh[i].type != VR_NH_INVALID)
			vr_nh_link(c, i);
	h->nh_cache = c;
	return c;
}

int vr_nh_get(struct vr_handle *h, const struct vr_nexthop *want, __u32 *id)
{
	struct vr_nh_cache *c = vr_nh_cache(h);
	struct vr_nexthop nh;
	__u32 found;

	if (!c)
		return vr_err(-ENOMEM, "reading the nexthop table failed");
	for (found = c->head[vr_nh_bucket(c, want)]; found; found = c->next[found])
		if (vr_nh_equal(&c->nh[found], want))
			break;
	if (found) {
		nh = c->nh[found];
		nh.refcnt++;
	} else {
		for (found = c->free_hint; found < c->n && c->nh[found].type != VR_NH_INVALID; found++)
			;
		c->free_hint = found;
		if (found >= c->n)
			return vr_err(-ENOSPC, "the nexthop table is full (%u entries)", c->n);
		nh = *want;
		nh.refcnt = 1;
	}
	if (bpf_map_update_elem(h->nexthops_fd, &found, &nh, BPF_ANY))
		return vr_err(-errno, "writing nexthop %u failed: %s", found, strerror(errno));
	if (c->nh[found].type == VR_NH_INVALID) {
		c->nh[found] = nh;
		vr_nh_link(c, found);
	} else {
		c->nh[found] = nh;
	}
	*id = found;
	return 0;
}

int vr_nh_put(struct vr_handle *h, __u32 id)
{
	struct vr_nh_cache *c = vr_nh_cache(h);
	struct vr_nexthop nh;

	if (!c)
		return vr_err(-ENOMEM, "reading the nexthop table failed");
	if (id == 0 || id >= c->n || c->nh[id].type == VR_NH_INVALID)
		return vr_err(-ENOENT, "nexthop %u is not in use", id);
	nh = c->nh[id];
	if (nh.refcnt > 1)
		nh.refcnt--;
	else
		memset(&nh, 0, sizeof(nh));
	if (bpf_map_update_elem(h->nexthops_fd, &id, &nh, BPF_ANY))
		return vr_err(-errno, "writing nexthop %u failed: %s", id, strerror(errno));
	if (nh.type == VR_NH_INVALID) {
		vr_nh_unlink(c, id);
		if (id < c->free_hint)
			c->free_hint = id;
	}
	c->nh[id] = nh;
	return 0;
}

/* ---- labels ---- */

static int vr_label_alloc(struct vr_handle *h, __u32 want, __u32 nh_id, __u32 *label)
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

static void vr_label_free(struct vr_handle *h, __u32 label)
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

/* ---- VRFs ---- */

static int vr_vrf_table_fd(struct vr_handle *h, __u32 vrf_id)
{
	__u32 map_id;
	int fd;

	if (bpf_map_lookup_elem(h->vrf4_fd, &vrf_id, &map_id))
		return -ENOENT;
	fd = bpf_map_get_fd_by_id(map_id);
	return fd < 0 ? -errno : fd;
}

static int vr_check_vrf_id(struct vr_handle *h, __u32 vrf_id)
{
	__u32 max = vr_map_max_entries(h->vrf4_fd);

	if (vrf_id >= max)
		return vr_err(-EINVAL, "VRF id %u is out of range 0..%u", vrf_id, max - 1);
	return 0;
}

/* The label whose nexthop is a VRF_LOOKUP into vrf_id (0 if none). */
static __u32 vr_vrf_label(struct vr_handle *h, __u32 vrf_id, __u32 *nh_id)
{
	__u32 *all, n, found = 0;

	all = vr_array_read(h->labels_fd, sizeof(*all), &n);
	if (!all)
		return 0;
	for (__u32 i = VR_LABEL_MIN; i < n && !found; i++) {
		struct vr_nexthop nh;

		if (all[i] && !bpf_map_lookup_elem(h->nexthops_fd, &all[i], &nh) && nh.type == VR_NH_VRF_LOOKUP &&
		    nh.vrf_id == vrf_id) {
			found = i;
			if (nh_id)
				*nh_id = all[i];
		}
	}
	free(all);
	return found;
}

int vr_vrf_add(struct vr_handle *h, __u32 vrf_id, __u32 label)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	char name[16];
	int fd, err;
	__u32 nh_id = 0, got;

	vr_err_clear();
	err = vr_check_vrf_id(h, vrf_id);
	if (err)
		return err;
	fd = vr_vrf_table_fd(h, vrf_id);
	if (fd >= 0) {
		close(fd);
		return vr_err(-EEXIST, "VRF %u already exists", vrf_id);
	}
	snprintf(name, sizeof(name), "vr_rt4_%u", vrf_id);
	fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, name, sizeof(struct vr_route4_key), sizeof(__u32),
			    VR_MAX_ROUTES_PER_VRF, &opts);
	if (fd < 0)
		return vr_err(-errno, "creating the route table of VRF %u failed: %s", vrf_id, strerror(errno));
	if (label) {
		struct vr_nexthop nh = { .type = VR_NH_VRF_LOOKUP, .vrf_id = vrf_id };

		err = vr_nh_get(h, &nh, &nh_id);
		if (!err)
			err = vr_label_alloc(h, label, nh_id, &got);
		if (err)
			goto fail;
	}
	if (bpf_map_update_elem(h->vrf4_fd, &vrf_id, &fd, BPF_ANY)) { /* fd arrays take BPF_ANY only */
		err = vr_err(-errno, "installing the route table of VRF %u failed: %s", vrf_id, strerror(errno));
		if (label)
			vr_label_free(h, label);
		goto fail;
	}
	close(fd);
	return 0;
fail:
	if (nh_id)
		vr_nh_put(h, nh_id);
	close(fd);
	return err;
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
	/* Unhook the table first: from here on no packet looks into it. Then release its nexthops. */
	if (bpf_map_delete_elem(h->vrf4_fd, &vrf_id)) {
		err = vr_err(-errno, "removing VRF %u failed: %s", vrf_id, strerror(errno));
		close(fd);
		return err;
	}
	label = vr_vrf_label(h, vrf_id, &nh_id);
	if (label) {
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
	return 0;
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

int vr_vrf_foreach(struct vr_handle *h, vr_vrf_cb cb, void *arg)
{
	__u32 max = vr_map_max_entries(h->vrf4_fd);
	int err = 0;

	for (__u32 id = 0; id < max && !err; id++) {
		struct vr_vif_count vc = { .vrf_id = id };
		struct vr_vrf_info info = { .vrf_id = id };
		int fd = vr_vrf_table_fd(h, id);

		if (fd < 0)
			continue;
		info.routes = vr_count_routes(fd);
		close(fd);
		vr_vif_foreach(h, vr_count_vif_cb, &vc);
		info.vifs = vc.count;
		info.label = vr_vrf_label(h, id, NULL);
		err = cb(&info, arg);
	}
	return err;
}

/* ---- vifs ---- */

int vr_vif_foreach(struct vr_handle *h, vr_vif_cb cb, void *arg)
{
	__u32 key, next, *prev = NULL;
	struct vr_vif vif;
	int err = 0;

	while (!err && !bpf_map_get_next_key(h->vifs_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(h->vifs_fd, &key, &vif))
			continue;
		err = cb(&vif, arg);
	}
	return err;
}

int vr_vif_ifindex(struct vr_handle *h, __u32 vif_id, __u32 *ifindex)
{
	if (bpf_map_lookup_elem(h->tx_fd, &vif_id, ifindex))
		return -errno;
	return *ifindex ? 0 : -ENOENT;
}

int vr_vif_get(struct vr_handle *h, const char *ifname, struct vr_vif *out)
{
	__u32 ifindex = if_nametoindex(ifname);

	if (!ifindex)
		return vr_err(-ENODEV, "device %s does not exist", ifname);
	if (bpf_map_lookup_elem(h->vifs_fd, &ifindex, out))
		return vr_err(-ENOENT, "%s is not a vif", ifname);
	return 0;
}

struct vr_id_set {
	__u8 *used;
	__u32 max;
};

static int vr_mark_vif_id(const struct vr_vif *vif, void *arg)
{
	struct vr_id_set *s = arg;

	if (vif->vif_id < s->max)
		s->used[vif->vif_id] = 1;
	return 0;
}

static int vr_vif_id_alloc(struct vr_handle *h, __u32 *id)
{
	struct vr_id_set s = { .max = vr_map_max_entries(h->vif_stats_fd) };

	s.used = calloc(s.max ? s.max : 1, 1);
	if (!s.used)
		return vr_err(-ENOMEM, "out of memory");
	vr_vif_foreach(h, vr_mark_vif_id, &s);
	*id = 0;
	for (__u32 i = 1; i < s.max; i++)
		if (!s.used[i]) {
			*id = i;
			break;
		}
	free(s.used);
	if (!*id)
		return vr_err(-ENOSPC, "the vif table is full (%u vifs)", s.max - 1);
	return 0;
}

static int vr_zero_vif_stats(struct vr_handle *h, __u32 vif_id)
{
	struct vr_vif_stats *zero = calloc(h->ncpus, sizeof(*zero));
	int err = 0;

	if (!zero)
		return vr_err(-ENOMEM, "out of memory");
	if (bpf_map_update_elem(h->vif_stats_fd, &vif_id, zero, BPF_ANY))
		err = vr_err(-errno, "resetting counters of vif %u failed: %s", vif_id, strerror(errno));
	free(zero);
	return err;
}

int vr_vif_add(struct vr_handle *h, const struct vr_vif_spec *spec, struct vr_vif *out)
{
	struct vr_nexthop nh = { .type = VR_NH_ENCAP };
	struct vr_vif vif = {}, old;
	struct vr_config cfg;
	__u32 ifindex, label = 0;
	int err, vrf_fd;

	vr_err_clear();
	ifindex = if_nametoindex(spec->ifname);
	if (!ifindex)
		return vr_err(-ENODEV, "device %s does not exist", spec->ifname);
	if (!bpf_map_lookup_elem(h->vifs_fd, &ifindex, &old))
		return vr_err(-EEXIST, "%s is already vif %u", spec->ifname, old.vif_id);
	err = vr_config_get(h, &cfg);
	if (err)
		return err;
	if (cfg.fabric_ifindex == ifindex)
		return vr_err(-EINVAL, "%s is the fabric device", spec->ifname);
	err = vr_check_vrf_id(h, spec->vrf_id);
	if (err)
		return err;
	vrf_fd = vr_vrf_table_fd(h, spec->vrf_id);
	if (vrf_fd < 0)
		return vr_err(-ENOENT, "VRF %u does not exist; add it with 'vrouterctl vrf add %u'", spec->vrf_id,
			      spec->vrf_id);
	close(vrf_fd);
	if (!spec->ip)
		return vr_err(-EINVAL, "a vif needs the VM's IPv4 address");

	vif.ifindex = ifindex;
	vif.vrf_id = spec->vrf_id;
	vif.ip = spec->ip;
	vif.gw_ip = spec->gw_ip;
	memcpy(vif.mac, spec->mac, 6);
	vif.mtu = spec->mtu ? spec->mtu : vr_dev_mtu(spec->ifname);
	vif.flags = (vr_dev_is_tap(spec->ifname) ? VR_VIF_F_TAP : 0) | (spec->xdp ? 0 : VR_VIF_F_TC);
	err = vr_vif_id_alloc(h, &vif.vif_id);
	if (err)
		return err;
	err = vr_dev_set_mac(spec->ifname, cfg.vr_mac);
	if (err)
		return err;

	nh.vif_id = vif.vif_id;
	nh.ifindex = ifindex;
	nh.flags = spec->xdp ? 0 : VR_NH_F_SKB;
	memcpy(nh.dmac, spec->mac, 6);
	err = vr_nh_get(h, &nh, &vif.nh_id);
	if (err)
		return err;
	err = vr_label_alloc(h, spec->label, vif.nh_id, &label);
	if (err)
		goto put_nh;
	vif.label = label;
	err = vr_zero_vif_stats(h, vif.vif_id);
	if (err)
		goto free_label;
	if (bpf_map_update_elem(h->tx_fd, &vif.vif_id, &ifindex, BPF_ANY)) {
		err = vr_err(-errno, "adding %s to the redirect map failed: %s", spec->ifname, strerror(errno));
		goto free_label;
	}
	if (bpf_map_update_elem(h->vifs_fd, &ifindex, &vif, BPF_NOEXIST)) {
		err = vr_err(-errno, "writing vif %s failed: %s", spec->ifname, strerror(errno));
		goto del_tx;
	}
	err = vr_vif_attach(h->pin_dir, &vif);
	if (err)
		goto del_vif;
	if (out)
		*out = vif;
	return 0;

del_vif:
	bpf_map_delete_elem(h->vifs_fd, &ifindex);
del_tx:
	bpf_map_delete_elem(h->tx_fd, &vif.vif_id);
free_label:
	vr_label_free(h, label);
put_nh:
	vr_nh_put(h, vif.nh_id);
	return err;
}

int vr_vif_del(struct vr_handle *h, const char *ifname)
{
	struct vr_nexthop nh;
	struct vr_vif vif;
	int err;

	vr_err_clear();
	err = vr_vif_get(h, ifname, &vif);
	if (err)
		return err;
	if (!bpf_map_lookup_elem(h->nexthops_fd, &vif.nh_id, &nh) && nh.refcnt > 1)
		return vr_err(-EBUSY, "%u route(s) still point at vif %s; delete them first", nh.refcnt - 1, ifname);
	/* Stop the programs first, then take the state away. */
	vr_vif_detach(h->pin_dir, &vif);
	bpf_map_delete_elem(h->vifs_fd, &vif.ifindex);
	vr_label_free(h, vif.label);
	bpf_map_delete_elem(h->tx_fd, &vif.vif_id);
	vr_nh_put(h, vif.nh_id);
	return 0;
}

/* ---- routes ---- */

static int vr_nh_from_spec(struct vr_handle *h, __u32 vrf_id, const struct vr_nh_spec *spec, struct vr_nexthop *nh)
{
	struct vr_config cfg;
	struct vr_vif vif;
	int err;

	memset(nh, 0, sizeof(*nh));
	nh->type = spec->type;
	switch (spec->type) {
	case VR_NH_ENCAP:
		err = vr_vif_get(h, spec->ifname, &vif);
		if (err)
			return err;
		if (vif.vrf_id != vrf_id)
			return vr_err(-EINVAL, "vif %s is in VRF %u, not in VRF %u", spec->ifname, vif.vrf_id, vrf_id);
		/* The vif's own nexthop, shared. */
		if (bpf_map_lookup_elem(h->nexthops_fd, &vif.nh_id, nh))
			return vr_err(-errno, "reading the nexthop of vif %s failed: %s", spec->ifname, strerror(errno));
		return 0;
	case VR_NH_TUNNEL:
		if (!spec->remote_ip)
			return vr_err(-EINVAL, "a tunnel needs the remote host's address");
		if (spec->label < VR_LABEL_MIN || spec->label >= VR_MAX_LABELS)
			return vr_err(-EINVAL, "tunnel label %u is outside %u..%u", spec->label, VR_LABEL_MIN,
				      VR_MAX_LABELS - 1);
		if (!vr_config_get(h, &cfg) && cfg.host_ip == spec->remote_ip)
			return vr_err(-EINVAL, "the tunnel endpoint is this host's own address");
		nh->remote_ip = spec->remote_ip;
		nh->label = spec->label;
		return 0;
	case VR_NH_RECEIVE:
	case VR_NH_DISCARD:
		return 0;
	default:
		return vr_err(-EINVAL, "unknown nexthop type %u", spec->type);
	}
}

static int vr_prefix_check(__be32 prefix, __u32 plen)
{
	__u32 mask = plen ? htonl(~0u << (32 - plen)) : 0;

	if (plen > 32)
		return vr_err(-EINVAL, "prefix length %u is longer than 32", plen);
	if (prefix & ~mask) {
		char buf[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &prefix, buf, sizeof(buf));
		return vr_err(-EINVAL, "%s/%u has host bits set", buf, plen);
	}
	return 0;
}

static int vr_vrf_open(struct vr_handle *h, __u32 vrf_id)
{
	int err = vr_check_vrf_id(h, vrf_id), fd;

	if (err)
		return err;
	fd = vr_vrf_table_fd(h, vrf_id);
	if (fd < 0)
		return vr_err(-ENOENT, "VRF %u does not exist", vrf_id);
	return fd;
}

/* The table of vrf_id, for a change to prefix/plen (checked first). Returns an fd or -errno. */
static int vr_route_table(struct vr_handle *h, __u32 vrf_id, __be32 prefix, __u32 plen)
{
	int err;

	vr_err_clear();
	err = vr_prefix_check(prefix, plen);
	if (err)
		return err;
	return vr_vrf_open(h, vrf_id);
}

int vr_route_add(struct vr_handle *h, __u32 vrf_id, __be32 prefix, __u32 plen, const struct vr_nh_spec *spec)
{
	struct vr_route4_key key = { .prefixlen = plen, .addr = prefix };
	struct vr_nexthop nh;
	__u32 nh_id;
	int fd, err;

	fd = vr_route_table(h, vrf_id, prefix, plen);
	if (fd < 0)
		return fd;
	err = vr_nh_from_spec(h, vrf_id, spec, &nh);
	if (!err)
		err = vr_nh_get(h, &nh, &nh_id);
	if (err)
		goto out;
	if (bpf_map_update_elem(fd, &key, &nh_id, BPF_NOEXIST)) {
		err = -errno;
		if (err == -EEXIST)
			err = vr_err(err, "the route already exists in VRF %u; delete it first", vrf_id);
		else if (err == -ENOSPC || err == -E2BIG)
			err = vr_err(err, "the route table of VRF %u is full", vrf_id);
		else
			err = vr_err(err, "adding the route failed: %s", strerror(-err));
		vr_nh_put(h, nh_id);
	}
out:
	close(fd);
	return err;
}

int vr_route_del(struct vr_handle *h, __u32 vrf_id, __be32 prefix, __u32 plen)
{
	struct vr_route4_key key = { .prefixlen = plen, .addr = prefix };
	__u32 nh_id;
	int fd, err;

	fd = vr_route_table(h, vrf_id, prefix, plen);
	if (fd < 0)
		return fd;
	/* An LPM lookup returns the exact entry when it exists; the delete is exact and tells us whether. */
	if (bpf_map_lookup_elem(fd, &key, &nh_id) || bpf_map_delete_elem(fd, &key)) {
		err = vr_err(-ENOENT, "no such route in VRF %u", vrf_id);
		goto out;
	}
	err = vr_nh_put(h, nh_id);
out:
	close(fd);
	return err;
}

static int vr_route_walk(struct vr_handle *h, __u32 vrf_id, int fd, vr_route_cb cb, void *arg)
{
	struct vr_route4_key key, next;
	struct vr_route_info r;
	void *prev = NULL;
	int err = 0;

	while (!err && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		memset(&r, 0, sizeof(r));
		r.vrf_id = vrf_id;
		r.prefix = key.addr;
		r.plen = key.prefixlen;
		if (bpf_map_lookup_elem(fd, &key, &r.nh_id))
			continue;
		bpf_map_lookup_elem(h->nexthops_fd, &r.nh_id, &r.nh);
		err = cb(&r, arg);
	}
	return err;
}

int vr_route_foreach(struct vr_handle *h, __u32 vrf_id, vr_route_cb cb, void *arg)
{
	__u32 max = vr_map_max_entries(h->vrf4_fd);
	int err = 0;

	if (vrf_id != (__u32)-1) {
		int fd = vr_vrf_open(h, vrf_id);

		if (fd < 0)
			return fd;
		err = vr_route_walk(h, vrf_id, fd, cb, arg);
		close(fd);
		return err;
	}
	for (__u32 id = 0; id < max && !err; id++) {
		int fd = vr_vrf_table_fd(h, id);

		if (fd < 0)
			continue;
		err = vr_route_walk(h, id, fd, cb, arg);
		close(fd);
	}
	return err;
}
