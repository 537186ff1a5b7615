/* Reference-counted nexthops: libvrouter keeps a copy of the nexthop table per handle (found by content in
 * O(1)), and writes changes to the kernel singly or in one batch. Also the map readers the other tables use. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "vr_internal.h"
#include "vr_hash.h"

__u32 vr_map_max_entries(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.max_entries;
}

/* Read a whole ARRAY map (value_size bytes per entry) into a new buffer; *n gets the entry count. An
 * mmapable array is copied from its mapping (entries are 8-byte aligned there), others by lookup batches. */
void *vr_array_read(int fd, size_t value_size, __u32 *n)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), max, count, out = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 *keys = NULL;
	char *vals;
	int err;

	if (bpf_obj_get_info_by_fd(fd, &info, &len) || !info.max_entries)
		return NULL;
	max = info.max_entries;
	vals = calloc(max, value_size);
	if (!vals)
		return NULL;
	if (info.map_flags & BPF_F_MMAPABLE) {
		size_t stride = (value_size + 7) & ~(size_t)7, size = (size_t)max * stride;
		long page = sysconf(_SC_PAGESIZE);
		void *m;

		size = (size + page - 1) / page * page;
		m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		if (m != MAP_FAILED) {
			for (__u32 i = 0; i < max; i++)
				memcpy(vals + (size_t)i * value_size, (char *)m + (size_t)i * stride, value_size);
			munmap(m, size);
			*n = max;
			return vals;
		}
	}
	keys = calloc(max, sizeof(*keys));
	if (!keys)
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
			/* id 0 is never used: say how many nexthops fit, as the ECMP group table's message does. */
			return vr_err(-ENOSPC, "the nexthop table is full (%u nexthops)", c->n - 1);
		if (want->type == VR_NH_TUNNEL && vr_endpoint_delta(h, want->remote_ip, 1))
			return -ENOMEM;
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
		if (c->nh[id].type == VR_NH_TUNNEL)
			vr_endpoint_delta(h, c->nh[id].remote_ip, -1);
		if (c->nh[id].type == VR_NH_COMPOSITE)
			vr_ecmp_release(h, c->nh[id].ecmp_id);
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
		/* The remote hosts of the tunnel nexthops that came and went: known endpoints or no longer. */
		return vr_endpoint_flush(h);
	}
reread:
	vr_nh_cache_free(h);
	vr_endpoint_pending_free(h);
	return err;
}

__u32 vr_nh_find(struct vr_handle *h, const struct vr_nexthop *want)
{
	struct vr_nh_cache *c = vr_nh_cache(h);
	__u32 id;

	if (!c)
		return 0;
	for (id = c->head[vr_nh_bucket(c, want)]; id; id = c->next[id])
		if (vr_nh_equal(&c->nh[id], want))
			return id;
	return 0;
}

const struct vr_nexthop *vr_nh_peek(struct vr_handle *h, __u32 id)
{
	struct vr_nh_cache *c = vr_nh_cache(h);

	return c && id && id < c->n && c->nh[id].type != VR_NH_INVALID ? &c->nh[id] : NULL;
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

int vr_nh_foreach(struct vr_handle *h, vr_nh_cb cb, void *arg)
{
	struct vr_nexthop *all;
	__u32 n;
	int err = 0;

	all = vr_array_read(h->nexthops_fd, sizeof(*all), &n);
	if (!all)
		return vr_err(-ENOMEM, "reading the nexthop table failed");
	for (__u32 i = 1; i < n && !err; i++)
		if (all[i].type != VR_NH_INVALID)
			err = cb(i, &all[i], arg);
	free(all);
	return err;
}
