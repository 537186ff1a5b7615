/* The host-route tables (all VRFs' /32 routes in host4, /128 routes in host6, exact match, in front of the
 * per-VRF tries): walks in batches, checked batch inserts, and flushing a VRF; one code for both families. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "vr_internal.h"
#include "vr_hash.h"


/* vr_host_walk's callback and family, carried through vr_map_walk. */
struct vr_host_walk_ctx {
	int family;
	vr_host_cb cb;
	void *arg;
};

static int vr_host_walk_cb(const void *key, const void *val, void *arg)
{
	const struct vr_host_walk_ctx *c = arg;
	__u32 nh_id;

	memcpy(&nh_id, val, sizeof(nh_id));
	return c->cb(c->family, key, nh_id, c->arg);
}

int vr_host_walk(struct vr_handle *h, int family, vr_host_cb cb, void *arg)
{
	struct vr_host_walk_ctx c = { .family = family, .cb = cb, .arg = arg };

	return vr_map_walk(vr_host_map_fd(h, family), vr_af_key_size(family), sizeof(__u32), "host routes",
			   vr_host_walk_cb, &c);
}

/* The host routes of one VRF in one family's table, collected (the table must not change during a walk). */
struct vr_host_set {
	__u32 vrf_id;
	size_t ksz;
	__u8 *keys;
	__u32 *vals;
	size_t n, cap;
};

static int vr_host_collect_cb(int family, const void *key, __u32 nh_id, void *arg)
{
	struct vr_host_set *s = arg;

	(void)family;
	if (vr_host_key_vrf(key) != s->vrf_id)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		__u8 *k = realloc(s->keys, cap * s->ksz);
		__u32 *v = k ? realloc(s->vals, cap * sizeof(*v)) : NULL;

		if (k)
			s->keys = k;
		if (!k || !v)
			return vr_err(-ENOMEM, "out of memory");
		s->vals = v;
		s->cap = cap;
	}
	memcpy(s->keys + s->n * s->ksz, key, s->ksz);
	s->vals[s->n++] = nh_id;
	return 0;
}

static int vr_host_flush_family(struct vr_handle *h, int family, __u32 vrf_id)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct vr_host_set s = { .vrf_id = vrf_id, .ksz = vr_af_key_size(family) };
	int fd = vr_host_map_fd(h, family), err = vr_host_walk(h, family, vr_host_collect_cb, &s);

	if (!err && s.n) {
		__u32 count = s.n;

		if (bpf_map_delete_batch(fd, s.keys, &count, &opts))
			for (size_t i = 0; i < s.n; i++)
				bpf_map_delete_elem(fd, s.keys + i * s.ksz);
		vr_route_gen_bump(h->route_gen_fd);
		for (size_t i = 0; i < s.n; i++)
			vr_nh_unref(h, s.vals[i]);
		err = vr_nh_flush(h);
	}
	free(s.keys);
	free(s.vals);
	return err;
}

int vr_host_flush_vrf(struct vr_handle *h, __u32 vrf_id)
{
	int err = vr_host_flush_family(h, AF_INET, vrf_id);

	return err ? err : vr_host_flush_family(h, AF_INET6, vrf_id);
}


/* Below this many host routes a batch writes them one by one with BPF_NOEXIST; from it on, libvrouter reads
 * the family's host-route table once (batched lookups) to find the routes that exist, then writes the new ones with
 * BPF_MAP_UPDATE_BATCH, which takes no BPF_NOEXIST. */
#define VR_HOST_BATCH_MIN 64

/* A set of host-route keys of one family: open addressing over copies of the keys, a bit per slot in use. */
struct vr_key_set {
	__u8 *slot;
	__u64 *used;
	size_t mask, ksz;
};

static size_t vr_key_slot(const struct vr_key_set *s, const __u8 *k)
{
	__u32 hash = 0, w;

	/* Both key layouts are whole 32-bit words. */
	for (size_t off = 0; off < s->ksz; off += sizeof(w)) {
		memcpy(&w, k + off, sizeof(w));
		hash = vr_hash_step(hash, w);
	}
	return (size_t)vr_hash_final(hash) & s->mask;
}

/* Insert k; returns true if it was there already. */
static bool vr_key_set_add(struct vr_key_set *s, const void *k)
{
	size_t i;

	for (i = vr_key_slot(s, k); s->used[i / 64] >> (i % 64) & 1; i = (i + 1) & s->mask)
		if (!memcmp(s->slot + i * s->ksz, k, s->ksz))
			return true;
	s->used[i / 64] |= 1ULL << (i % 64);
	memcpy(s->slot + i * s->ksz, k, s->ksz);
	return false;
}

static int vr_key_set_cb(int family, const void *key, __u32 nh_id, void *arg)
{
	(void)family;
	(void)nh_id;
	vr_key_set_add(arg, key);
	return 0;
}


/* Host routes in batches, for batches of VR_HOST_BATCH_MIN or more: a route whose key is in the table (or
 * earlier in the same batch) fails with -EEXIST, the others are written with BPF_MAP_UPDATE_BATCH. Returns
 * how many failed. */
static size_t vr_host_batch_bulk(struct vr_handle *h, struct vr_host_batch *b, struct vr_route_req *reqs)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int fd = vr_host_map_fd(h, b->family);
	__u32 cap = vr_map_max_entries(fd);
	struct vr_key_set set = { .ksz = vr_af_key_size(b->family) };
	size_t size = 64, failed = 0, keep = 0, done = 0, ksz = set.ksz;
	int err;

	while (size < 2 * ((size_t)cap + b->n))
		size <<= 1;
	set.mask = size - 1;
	set.slot = malloc(size * ksz);
	set.used = calloc(size / 64, sizeof(*set.used));
	err = -ENOMEM;
	if (set.slot && set.used)
		err = vr_host_walk(h, b->family, vr_key_set_cb, &set);
	else
		vr_err(err, "out of memory");
	for (size_t i = 0; i < b->n; i++) {
		struct vr_route_req *r = &reqs[b->req[i]];

		if (err || vr_key_set_add(&set, b->keys + i * ksz)) {
			r->err = err ? err : vr_route_add_err(-EEXIST, r->vrf_id);
			failed++;
			continue;
		}
		memmove(b->keys + keep * ksz, b->keys + i * ksz, ksz);
		b->vals[keep] = b->vals[i];
		b->req[keep++] = b->req[i];
	}
	free(set.slot);
	free(set.used);
	/* The kernel stops at the first entry it refuses (the table is full): that one fails, the rest go on. */
	while (done < keep) {
		__u32 count = keep - done;

		if (!bpf_map_update_batch(fd, b->keys + done * ksz, b->vals + done, &count, &opts))
			break;
		err = -errno;
		if (count >= keep - done)
			count = 0;
		done += count;
		reqs[b->req[done]].err = vr_route_add_err(err, reqs[b->req[done]].vrf_id);
		failed++;
		done++;
	}
	return failed;
}

/* Write the batch's host routes. Returns how many failed (each failed request has its err set). */
size_t vr_host_batch_write(struct vr_handle *h, struct vr_host_batch *b, struct vr_route_req *reqs)
{
	size_t failed = 0, ksz = vr_af_key_size(b->family);

	if (b->n >= VR_HOST_BATCH_MIN)
		return vr_host_batch_bulk(h, b, reqs);
	for (size_t i = 0; i < b->n; i++) {
		struct vr_route_req *r = &reqs[b->req[i]];

		if (bpf_map_update_elem(vr_host_map_fd(h, b->family), b->keys + i * ksz, &b->vals[i], BPF_NOEXIST)) {
			r->err = vr_route_add_err(-errno, r->vrf_id);
			failed++;
		}
	}
	return failed;
}
