/* The host-route table (all VRFs' /32 routes, exact match, in front of the per-VRF tries): walks in
 * batches, checked batch inserts, and flushing a VRF. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "vr_internal.h"
#include "vr_hash.h"


int vr_host_walk(struct vr_handle *h, vr_host_cb cb, void *arg)
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

int vr_host_flush_vrf(struct vr_handle *h, __u32 vrf_id)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct vr_host_set s = { .vrf_id = vrf_id };
	int err = vr_host_walk(h, vr_host_collect_cb, &s);

	if (!err && s.n) {
		__u32 count = s.n;

		if (bpf_map_delete_batch(h->host4_fd, s.keys, &count, &opts))
			for (size_t i = 0; i < s.n; i++)
				bpf_map_delete_elem(h->host4_fd, &s.keys[i]);
		vr_route_gen_bump(h->route_gen_fd);
		for (size_t i = 0; i < s.n; i++)
			vr_nh_unref(h, s.vals[i]);
		err = vr_nh_flush(h);
	}
	free(s.keys);
	free(s.vals);
	return err;
}


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
			r->err = err ? err : vr_route_add_err(-EEXIST, r->vrf_id);
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
		reqs[b->req[done]].err = vr_route_add_err(err, reqs[b->req[done]].vrf_id);
		failed++;
		done++;
	}
	return failed;
}

/* Write the batch's host routes. Returns how many failed (each failed request has its err set). */
size_t vr_host_batch_write(struct vr_handle *h, struct vr_host_batch *b, struct vr_route_req *reqs)
{
	size_t failed = 0;

	if (b->n >= VR_HOST_BATCH_MIN)
		return vr_host_batch_bulk(h, b, reqs);
	for (size_t i = 0; i < b->n; i++) {
		struct vr_route_req *r = &reqs[b->req[i]];

		if (bpf_map_update_elem(h->host4_fd, &b->keys[i], &b->vals[i], BPF_NOEXIST)) {
			r->err = vr_route_add_err(-errno, r->vrf_id);
			failed++;
		}
	}
	return failed;
}
