/* Routes: a /32 lives in the host-route hash (key: VRF, address) and nowhere else; shorter prefixes live in
 * the VRF's LPM trie. The datapath asks the hash first: a /32 is the longest match there is. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "vr_internal.h"
#include <arpa/inet.h>


int vr_nh_spec_resolve(struct vr_handle *h, __u32 vrf_id, const struct vr_nh_spec *spec, __be32 host_ip,
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
		if (spec->encap != VR_ENCAP_UDP && spec->encap != VR_ENCAP_GRE)
			return vr_err(-EINVAL, "unknown tunnel encapsulation %u", spec->encap);
		nh->remote_ip = spec->remote_ip;
		nh->label = spec->label;
		nh->flags = spec->encap == VR_ENCAP_GRE ? VR_NH_F_GRE : 0;
		return 0;
	case VR_NH_RECEIVE:
	case VR_NH_DISCARD:
		return 0;
	default:
		return vr_err(-EINVAL, "unknown nexthop type %u", spec->type);
	}
}

/* The nexthop a spec names: an ECMP group is built (its members referenced) and becomes a new COMPOSITE. */
static int vr_nh_from_spec(struct vr_handle *h, __u32 vrf_id, const struct vr_nh_spec *spec, __be32 host_ip,
			   const struct vr_ecmp *prev, struct vr_nexthop *nh)
{
	if (spec->type == VR_NH_COMPOSITE)
		return vr_ecmp_build(h, vrf_id, spec, host_ip, prev, nh);
	return vr_nh_spec_resolve(h, vrf_id, spec, host_ip, nh);
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

int vr_route_add_err(int err, __u32 vrf_id)
{
	if (err == -EEXIST)
		return vr_err(err, "the route already exists in VRF %u; delete it first", vrf_id);
	if (err == -ENOSPC || err == -E2BIG || err == -ENOMEM)
		return vr_err(err, "the route tables are full (VRF %u's, or the host-route table of all VRFs: %u /32 "
			      "routes)", vrf_id, VR_MAX_HOST_ROUTES);
	return vr_err(err, "adding the route failed: %s", strerror(-err));
}

/* The /32 routes of a batch, in hash-update order. */
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
			r->err = vr_nh_from_spec(h, r->vrf_id, &r->nh, cfg.host_ip, NULL, &nh);
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
				r->err = vr_route_add_err(-errno, r->vrf_id);
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
	if (failed < n)
		vr_route_gen_bump(h->route_gen_fd);
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

/* A route change's arguments: the prefix well formed, the VRF there. Clears the last error first. */
static int vr_route_check(struct vr_handle *h, __u32 vrf_id, __be32 prefix, __u32 plen)
{
	int err;

	vr_err_clear();
	err = vr_prefix_check(prefix, plen);
	return err ? err : vr_vrf_check(h, vrf_id);
}

int vr_route_replace(struct vr_handle *h, __u32 vrf_id, __be32 prefix, __u32 plen, const struct vr_nh_spec *spec)
{
	struct vr_host4_key host = { .vrf_id = vrf_id, .addr = prefix };
	struct vr_route4_key key = { .prefixlen = plen, .addr = prefix };
	struct vr_ecmp prev, *prevp = NULL;
	const struct vr_nexthop *old;
	struct vr_config cfg = {};
	struct vr_nexthop nh;
	__u32 old_id, new_id;
	int fd, err;

	err = vr_route_check(h, vrf_id, prefix, plen);
	if (err)
		return err;
	fd = plen == 32 ? h->host4_fd : vr_vrf_open(h, vrf_id);
	if (fd < 0)
		return fd;
	/* The trie answers a lookup with the longest match: rewriting that answer with BPF_EXIST at this exact
	 * key succeeds only if the route itself exists (and then changes nothing). */
	if (bpf_map_lookup_elem(fd, plen == 32 ? (void *)&host : (void *)&key, &old_id) ||
	    bpf_map_update_elem(fd, plen == 32 ? (void *)&host : (void *)&key, &old_id, BPF_EXIST)) {
		if (fd != h->host4_fd)
			close(fd);
		return vr_route_add(h, vrf_id, prefix, plen, spec);
	}
	vr_config_get(h, &cfg);
	old = vr_nh_peek(h, old_id);
	if (spec->type == VR_NH_COMPOSITE && old && old->type == VR_NH_COMPOSITE && !vr_ecmp_get(h, old->ecmp_id, &prev))
		prevp = &prev;
	err = vr_nh_from_spec(h, vrf_id, spec, cfg.host_ip, prevp, &nh);
	if (!err)
		err = vr_nh_ref(h, &nh, &new_id);
	if (!err)
		err = vr_nh_flush(h);
	if (err)
		goto out;
	if (bpf_map_update_elem(fd, plen == 32 ? (void *)&host : (void *)&key, &new_id, BPF_EXIST)) {
		err = vr_err(-errno, "replacing the route failed: %s", strerror(errno));
		vr_nh_put(h, new_id);
		goto out;
	}
	vr_route_gen_bump(h->route_gen_fd);
	err = vr_nh_put(h, old_id);
out:
	if (fd != h->host4_fd)
		close(fd);
	return err;
}

int vr_route_del(struct vr_handle *h, __u32 vrf_id, __be32 prefix, __u32 plen)
{
	struct vr_route4_key key = { .prefixlen = plen, .addr = prefix };
	struct vr_host4_key host = { .vrf_id = vrf_id, .addr = prefix };
	__u32 nh_id;
	int fd, err;

	err = vr_route_check(h, vrf_id, prefix, plen);
	if (err)
		return err;
	if (plen == 32) {
		if (bpf_map_lookup_elem(h->host4_fd, &host, &nh_id) || bpf_map_delete_elem(h->host4_fd, &host))
			return vr_err(-ENOENT, "no such route in VRF %u", vrf_id);
		vr_route_gen_bump(h->route_gen_fd);
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
	vr_route_gen_bump(h->route_gen_fd);
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
