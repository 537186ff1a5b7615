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
	__u32 *dirty;    /* ids changed here and not yet written to the kernel (vr_nh_flush) */
	__u32 ndirty;
	__u8 *is_dirty;  /* id -> listed in dirty */
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
	free(c->dirty);
	free(c->is_dirty);
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
		c->dirty = calloc(c->n, sizeof(*c->dirty));
		c->is_dirty = calloc(c->n, sizeof(*c->is_dirty));
	}
	if (!c->nh || !c->head || !c->next || !c->dirty || !c->is_dirty) {
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

/* Mark nexthop id as changed in libvrouter's copy: vr_nh_flush writes it. */
static void vr_nh_dirty(struct vr_nh_cache *c, __u32 id)
{
	if (c->is_dirty[id])
		return;
	c->is_dirty[id] = 1;
	c->dirty[c->ndirty++] = id;
}

int vr_nh_ref(struct vr_handle *h, const struct vr_nexthop *want, __u32 *id)
{
	struct vr_nh_cache *c = vr_nh_cache(h);
	__u32 found;

	if (!c)
		return vr_err(-ENOMEM, "reading the nexthop table failed");
	for (found = c->head[vr_nh_bucket(c, want)]; found; found = c->next[found])
		if (vr_nh_equal(&c->nh[found], want))
			break;
	if (found) {
		c->nh[found].refcnt++;
	} else {
		for (found = c->free_hint; found < c->n && c->nh[found].type != VR_NH_INVALID; found++)
			;
		c->free_hint = found;
		if (found >= c->n)
			return vr_err(-ENOSPC, "the nexthop table is full (%u entries)", c->n);
		c->nh[found] = *want;
		c->nh[found].refcnt = 1;
		vr_nh_link(c, found);
	}
	vr_nh_dirty(c, found);
	*id = found;
	return 0;
}

int vr_nh_unref(struct vr_handle *h, __u32 id)
{
	struct vr_nh_cache *c = vr_nh_cache(h);

	if (!c)
		return vr_err(-ENOMEM, "reading the nexthop table failed");
	if (id == 0 || id >= c->n || c->nh[id].type == VR_NH_INVALID)
		return vr_err(-ENOENT, "nexthop %u is not in use", id);
	if (c->nh[id].refcnt > 1) {
		c->nh[id].refcnt--;
	} else {
		vr_nh_unlink(c, id);
		memset(&c->nh[id], 0, sizeof(c->nh[id]));
		if (id < c->free_hint)
			c->free_hint = id;
	}
	vr_nh_dirty(c, id);
	return 0;
}

/* Write every nexthop changed since the last flush: one BPF_MAP_UPDATE_BATCH for all of them. On failure
 * the kernel's table is read back, so libvrouter's copy never claims what the datapath does not have. */
int vr_nh_flush(struct vr_handle *h)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct vr_nh_cache *c = h->nh_cache;
	struct vr_nexthop *vals;
	__u32 count;
	int err = 0;

	if (!c || !c->ndirty)
		return 0;
	vals = malloc((size_t)c->ndirty * sizeof(*vals));
	if (!vals) {
		err = vr_err(-ENOMEM, "out of memory");
		goto reread;
	}
	for (__u32 i = 0; i < c->ndirty; i++)
		vals[i] = c->nh[c->dirty[i]];
	count = c->ndirty;
	if (bpf_map_update_batch(h->nexthops_fd, c->dirty, vals, &count, &opts)) {
		/* No batch support: one update each. */
		for (__u32 i = 0; i < c->ndirty && !err; i++)
			if (bpf_map_update_elem(h->nexthops_fd, &c->dirty[i], &vals[i], BPF_ANY))
				err = vr_err(-errno, "writing nexthop %u failed: %s", c->dirty[i], strerror(errno));
	}
	free(vals);
	if (!err) {
		for (__u32 i = 0; i < c->ndirty; i++)
			c->is_dirty[c->dirty[i]] = 0;
		c->ndirty = 0;
		return 0;
	}
reread:
	vr_nh_cache_free(h);
	return err;
}

int vr_nh_get(struct vr_handle *h, const struct vr_nexthop *want, __u32 *id)
{
	int err = vr_nh_ref(h, want, id);

	return err ? err : vr_nh_flush(h);
}

int vr_nh_put(struct vr_handle *h, __u32 id)
{
	int err = vr_nh_unref(h, id);

	return err ? err : vr_nh_flush(h);
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

/* Every host route, in batches of lookups (a walk of a million entries takes a thousand system calls, not
 * a million). cb returns non-zero to stop. The callback must not change the host-route table. */
typedef int (*vr_host_cb)(const struct vr_host4_key *key, __u32 nh_id, void *arg);

static int vr_host_walk(struct vr_handle *h, vr_host_cb cb, void *arg)
{
	enum { CHUNK = 1024 };
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct vr_host4_key *keys = malloc(CHUNK * sizeof(*keys));
	__u32 *vals = malloc(CHUNK * sizeof(*vals));
	__u32 token = 0, count;
	void *in = NULL;
	int err = 0;

	if (!keys || !vals) {
		err = vr_err(-ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		int rc;

		count = CHUNK;
		rc = bpf_map_lookup_batch(h->host4_fd, in, &token, keys, vals, &count, &opts);
		if (rc && errno != ENOENT) {
			err = vr_err(-errno, "reading the host routes failed: %s", strerror(errno));
			break;
		}
		for (__u32 i = 0; i < count && !err; i++)
			err = cb(&keys[i], vals[i], arg);
		if (rc || err)
			break;
		in = &token;
	}
out:
	free(keys);
	free(vals);
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

/* The host routes of one VRF, collected (the table must not change during a walk). */
struct vr_host_set {
	__u32 vrf_id;
	struct vr_host4_key *keys;
	__u32 *vals;
	size_t n, cap;
};

static int vr_host_collect_cb(const struct vr_host4_key *key, __u32 nh_id, void *arg)
{
	struct vr_host_set *s = arg;

	if (key->vrf_id != s->vrf_id)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		struct vr_host4_key *k = realloc(s->keys, cap * sizeof(*k));
		__u32 *v = k ? realloc(s->vals, cap * sizeof(*v)) : NULL;

		if (k)
			s->keys = k;
		if (!k || !v)
			return vr_err(-ENOMEM, "out of memory");
		s->vals = v;
		s->cap = cap;
	}
	s->keys[s->n] = *key;
	s->vals[s->n++] = nh_id;
	return 0;
}

/* Remove every host route of vrf_id and give back their nexthops. */
static int vr_host_flush_vrf(struct vr_handle *h, __u32 vrf_id)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct vr_host_set s = { .vrf_id = vrf_id };
	int err = vr_host_walk(h, vr_host_collect_cb, &s);

	if (!err && s.n) {
		__u32 count = s.n;

		if (bpf_map_delete_batch(h->host4_fd, s.keys, &count, &opts))
			for (size_t i = 0; i < s.n; i++)
				bpf_map_delete_elem(h->host4_fd, &s.keys[i]);
		for (size_t i = 0; i < s.n; i++)
			vr_nh_unref(h, s.vals[i]);
		err = vr_nh_flush(h);
	}
	free(s.keys);
	free(s.vals);
	return err;
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
	__u32 *all, n;

	all = vr_array_read(h->labels_fd, sizeof(*all), &n);
	if (!all)
		return;
	for (__u32 i = VR_LABEL_MIN; i < n; i++) {
		struct vr_nexthop nh;

		if (all[i] && !bpf_map_lookup_elem(h->nexthops_fd, &all[i], &nh) && nh.type == VR_NH_VRF_LOOKUP &&
		    nh.vrf_id < t->max && !t->label[nh.vrf_id])
			t->label[nh.vrf_id] = i;
	}
	free(all);
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

/* ---- routes ----
 * A /32 lives in the host-route hash (key: VRF, address) and nowhere else; shorter prefixes live in the VRF's
 * LPM trie. The datapath asks the hash first: a /32 is the longest match there is. */

static int vr_nh_from_spec(struct vr_handle *h, __u32 vrf_id, const struct vr_nh_spec *spec, __be32 host_ip,
			   struct vr_nexthop *nh)
{
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
		if (host_ip == spec->remote_ip)
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

/* Does VRF vrf_id exist? 0, or -errno with the error recorded. One lookup, no table fd. */
static int vr_vrf_check(struct vr_handle *h, __u32 vrf_id)
{
	__u32 map_id;
	int err = vr_check_vrf_id(h, vrf_id);

	if (err)
		return err;
	if (bpf_map_lookup_elem(h->vrf4_fd, &vrf_id, &map_id))
		return vr_err(-ENOENT, "VRF %u does not exist", vrf_id);
	return 0;
}

static int vr_route_exists_err(int err, __u32 vrf_id)
{
	if (err == -EEXIST)
		return vr_err(err, "the route already exists in VRF %u; delete it first", vrf_id);
	if (err == -ENOSPC || err == -E2BIG || err == -ENOMEM)
		return vr_err(err, "the route table of VRF %u is full", vrf_id);
	return vr_err(err, "adding the route failed: %s", strerror(-err));
}

/* The /32 routes of a batch, in hash-update order. */
struct vr_host_batch {
	struct vr_host4_key *keys;
	__u32 *vals;
	size_t *req; /* index into the caller's requests */
	size_t n;
};

/* Below this many host routes a batch writes them one by one with BPF_NOEXIST; from it on, libvrouter reads
 * the host-route table once (batched lookups) to find the routes that exist, then writes the new ones with
 * BPF_MAP_UPDATE_BATCH, which takes no BPF_NOEXIST. */
#define VR_HOST_BATCH_MIN 64

/* A set of host-route keys: open addressing over 64-bit keys (vrf << 32 | addr), 0 marks an empty slot (VRF 0
 * address 0.0.0.0 is kept apart). */
struct vr_key_set {
	__u64 *slot;
	size_t mask;
	bool has_zero;
};

static __u64 vr_key64(const struct vr_host4_key *k)
{
	return (__u64)k->vrf_id << 32 | k->addr;
}

static size_t vr_key_slot(const struct vr_key_set *s, __u64 k)
{
	return (size_t)vr_hash_final(vr_hash_step((__u32)k, (__u32)(k >> 32))) & s->mask;
}

/* Insert k; returns true if it was there already. */
static bool vr_key_set_add(struct vr_key_set *s, __u64 k)
{
	size_t i;

	if (!k) {
		bool had = s->has_zero;

		s->has_zero = true;
		return had;
	}
	for (i = vr_key_slot(s, k); s->slot[i]; i = (i + 1) & s->mask)
		if (s->slot[i] == k)
			return true;
	s->slot[i] = k;
	return false;
}

static int vr_key_set_cb(const struct vr_host4_key *key, __u32 nh_id, void *arg)
{
	(void)nh_id;
	vr_key_set_add(arg, vr_key64(key));
	return 0;
}


/* Host routes in batches, for batches of VR_HOST_BATCH_MIN or more: a route whose key is in the table (or
 * earlier in the same batch) fails with -EEXIST, the others are written with BPF_MAP_UPDATE_BATCH. Returns
 * how many failed. */
static size_t vr_host_batch_bulk(struct vr_handle *h, struct vr_host_batch *b, struct vr_route_req *reqs)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 cap = vr_map_max_entries(h->host4_fd);
	struct vr_key_set set = {};
	size_t size = 1, failed = 0, keep = 0, done = 0;
	int err;

	while (size < 2 * ((size_t)cap + b->n))
		size <<= 1;
	set.mask = size - 1;
	set.slot = calloc(size, sizeof(*set.slot));
	err = set.slot ? vr_host_walk(h, vr_key_set_cb, &set) : vr_err(-ENOMEM, "out of memory");
	for (size_t i = 0; i < b->n; i++) {
		struct vr_route_req *r = &reqs[b->req[i]];

		if (err || vr_key_set_add(&set, vr_key64(&b->keys[i]))) {
			r->err = err ? err : vr_route_exists_err(-EEXIST, r->vrf_id);
			failed++;
			continue;
		}
		b->keys[keep] = b->keys[i];
		b->vals[keep] = b->vals[i];
		b->req[keep++] = b->req[i];
	}
	free(set.slot);
	/* The kernel stops at the first entry it refuses (the table is full): that one fails, the rest go on. */
	while (done < keep) {
		__u32 count = keep - done;

		if (!bpf_map_update_batch(h->host4_fd, b->keys + done, b->vals + done, &count, &opts))
			break;
		err = -errno;
		if (count >= keep - done)
			count = 0;
		done += count;
		reqs[b->req[done]].err = vr_route_exists_err(err, reqs[b->req[done]].vrf_id);
		failed++;
		done++;
	}
	return failed;
}

/* Write the batch's host routes. Returns how many failed (each failed request has its err set). */
static size_t vr_host_batch_write(struct vr_handle *h, struct vr_host_batch *b, struct vr_route_req *reqs)
{
	size_t failed = 0;

	if (b->n >= VR_HOST_BATCH_MIN)
		return vr_host_batch_bulk(h, b, reqs);
	for (size_t i = 0; i < b->n; i++) {
		struct vr_route_req *r = &reqs[b->req[i]];

		if (bpf_map_update_elem(h->host4_fd, &b->keys[i], &b->vals[i], BPF_NOEXIST)) {
			r->err = vr_route_exists_err(-errno, r->vrf_id);
			failed++;
		}
	}
	return failed;
}

int vr_route_add_batch(struct vr_handle *h, struct vr_route_req *reqs, size_t n)
{
	struct vr_host_batch hb = {};
	struct vr_config cfg = {};
	__u32 last_vrf = (__u32)-1;
	int last_vrf_err = 0, err;
	size_t failed = 0;

	vr_err_clear();
	if (!n)
		return 0;
	hb.keys = malloc(n * sizeof(*hb.keys));
	hb.vals = malloc(n * sizeof(*hb.vals));
	hb.req = malloc(n * sizeof(*hb.req));
	if (!hb.keys || !hb.vals || !hb.req) {
		err = vr_err(-ENOMEM, "out of memory for %zu routes", n);
		goto out;
	}
	vr_config_get(h, &cfg);

	/* 1. Check every request and take a reference on its nexthop (in libvrouter's copy only). */
	for (size_t i = 0; i < n; i++) {
		struct vr_route_req *r = &reqs[i];
		struct vr_nexthop nh;

		r->nh_id = 0;
		r->err = vr_prefix_check(r->prefix, r->plen);
		if (!r->err) {
			if (r->vrf_id != last_vrf) {
				last_vrf = r->vrf_id;
				last_vrf_err = vr_vrf_check(h, r->vrf_id);
			}
			r->err = last_vrf_err ? vr_vrf_check(h, r->vrf_id) : 0;
		}
		if (!r->err)
			r->err = vr_nh_from_spec(h, r->vrf_id, &r->nh, cfg.host_ip, &nh);
		if (!r->err)
			r->err = vr_nh_ref(h, &nh, &r->nh_id);
		if (r->err) {
			failed++;
			continue;
		}
		if (r->plen == 32) {
			hb.keys[hb.n] = (struct vr_host4_key){ .vrf_id = r->vrf_id, .addr = r->prefix };
			hb.vals[hb.n] = r->nh_id;
			hb.req[hb.n++] = i;
		}
	}
	/* 2. The nexthops reach the kernel before any route points at them. */
	err = vr_nh_flush(h);
	if (err)
		goto undo_all;

	/* 3. Host routes in batches, shorter prefixes into their VRF's trie one by one. */
	failed += vr_host_batch_write(h, &hb, reqs);
	for (size_t i = 0; i < n; i++) {
		struct vr_route_req *r = &reqs[i];
		struct vr_route4_key key = { .prefixlen = r->plen, .addr = r->prefix };
		int fd;

		if (r->err || r->plen == 32)
			continue;
		fd = vr_vrf_open(h, r->vrf_id);
		if (fd < 0) {
			r->err = fd;
		} else {
			if (bpf_map_update_elem(fd, &key, &r->nh_id, BPF_NOEXIST))
				r->err = vr_route_exists_err(-errno, r->vrf_id);
			close(fd);
		}
		if (r->err)
			failed++;
	}
	/* 4. Give back the references of the routes that did not make it. */
	for (size_t i = 0; i < n; i++)
		if (reqs[i].err && reqs[i].nh_id) {
			vr_nh_unref(h, reqs[i].nh_id);
			reqs[i].nh_id = 0;
		}
	err = vr_nh_flush(h);
	if (!err)
		err = (int)(failed > INT32_MAX ? INT32_MAX : failed);
	goto out;

undo_all:
	for (size_t i = 0; i < n; i++)
		if (!reqs[i].err) {
			reqs[i].err = err;
			vr_nh_unref(h, reqs[i].nh_id);
			reqs[i].nh_id = 0;
		}
	vr_nh_flush(h);
out:
	free(hb.keys);
	free(hb.vals);
	free(hb.req);
	return err;
}

int vr_route_add(struct vr_handle *h, __u32 vrf_id, __be32 prefix, __u32 plen, const struct vr_nh_spec *spec)
{
	struct vr_route_req r = { .vrf_id = vrf_id, .prefix = prefix, .plen = plen, .nh = *spec };
	int err = vr_route_add_batch(h, &r, 1);

	return err < 0 ? err : r.err;
}

int vr_route_del(struct vr_handle *h, __u32 vrf_id, __be32 prefix, __u32 plen)
{
	struct vr_route4_key key = { .prefixlen = plen, .addr = prefix };
	struct vr_host4_key host = { .vrf_id = vrf_id, .addr = prefix };
	__u32 nh_id;
	int fd, err;

	vr_err_clear();
	err = vr_prefix_check(prefix, plen);
	if (!err)
		err = vr_vrf_check(h, vrf_id);
	if (err)
		return err;
	if (plen == 32) {
		if (bpf_map_lookup_elem(h->host4_fd, &host, &nh_id) || bpf_map_delete_elem(h->host4_fd, &host))
			return vr_err(-ENOENT, "no such route in VRF %u", vrf_id);
		return vr_nh_put(h, nh_id);
	}
	fd = vr_vrf_open(h, vrf_id);
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

struct vr_host_emit {
	struct vr_handle *h;
	__u32 vrf_id; /* (__u32)-1: all */
	vr_route_cb cb;
	void *arg;
};

static int vr_host_emit_cb(const struct vr_host4_key *key, __u32 nh_id, void *arg)
{
	struct vr_host_emit *e = arg;
	struct vr_route_info r = { .vrf_id = key->vrf_id, .prefix = key->addr, .plen = 32, .nh_id = nh_id };

	if (e->vrf_id != (__u32)-1 && key->vrf_id != e->vrf_id)
		return 0;
	bpf_map_lookup_elem(e->h->nexthops_fd, &nh_id, &r.nh);
	return e->cb(&r, e->arg);
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
	struct vr_host_emit e = { .h = h, .vrf_id = vrf_id, .cb = cb, .arg = arg };
	__u32 max = vr_map_max_entries(h->vrf4_fd);
	int err = 0;

	if (vrf_id != (__u32)-1) {
		int fd = vr_vrf_open(h, vrf_id);

		if (fd < 0)
			return fd;
		err = vr_route_walk(h, vrf_id, fd, cb, arg);
		close(fd);
		return err ? err : vr_host_walk(h, vr_host_emit_cb, &e);
	}
	for (__u32 id = 0; id < max && !err; id++) {
		int fd = vr_vrf_table_fd(h, id);

		if (fd < 0)
			continue;
		err = vr_route_walk(h, id, fd, cb, arg);
		close(fd);
	}
	return err ? err : vr_host_walk(h, vr_host_emit_cb, &e);
}
