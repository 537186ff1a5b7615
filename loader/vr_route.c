/* Routes of both families, one code for both: a /32 (/128) lives in the family's host-route hash (key: VRF,
 * address) and nowhere else; shorter prefixes live in the VRF's LPM trie of the family. The datapath asks the
 * hash first: a full-length prefix is the longest match there is. */
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
	case VR_NH_EXTERNAL: /* no fields: every VRF's routes to the outside share one nexthop */
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

/* A prefix's length and host bits, for either family (the address in network order, 4 or 16 bytes). */
static int vr_prefix_check(int family, const void *addr, __u32 plen)
{
	const __u8 *a = addr;
	__u32 bits = vr_af_bits(family);

	if (family != AF_INET && family != AF_INET6)
		return vr_err(-EAFNOSUPPORT, "address family %d is neither IPv4 nor IPv6", family);
	if (!addr)
		return vr_err(-EINVAL, "no prefix given");
	if (plen > bits)
		return vr_err(-EINVAL, "prefix length %u is longer than %u", plen, bits);
	for (__u32 i = plen / 8; i < bits / 8; i++) {
		__u8 mask = i == plen / 8 ? (__u8)(0xff >> (plen % 8)) : 0xff;

		if (a[i] & mask) {
			char buf[INET6_ADDRSTRLEN];

			inet_ntop(family, addr, buf, sizeof(buf));
			return vr_err(-EINVAL, "%s/%u has host bits set", buf, plen);
		}
	}
	return 0;
}

/* Where a route lives: a full-length prefix (/32, /128) in its family's host table, keyed by (VRF, address);
 * a shorter one in the VRF's trie of its family, keyed by (prefix length, address). */
struct vr_rt {
	int family;
	__u32 vrf_id, plen;
	bool host;
	__u8 key[VR_ROUTE_KEY_MAX];
};

/* Fill rt for a prefix, checked (not the VRF). */
static int vr_rt_set(struct vr_rt *rt, int family, __u32 vrf_id, const void *addr, __u32 plen)
{
	int err = vr_prefix_check(family, addr, plen);
	__u32 head;

	if (err)
		return err;
	rt->family = family;
	rt->vrf_id = vrf_id;
	rt->plen = plen;
	rt->host = plen == vr_af_bits(family);
	head = rt->host ? vrf_id : plen;
	memcpy(rt->key, &head, sizeof(head));
	memcpy(rt->key + sizeof(head), addr, vr_af_addr_len(family));
	return 0;
}

/* The table rt lives in: the host table (shared, not to be closed) or a new fd of the VRF's trie. */
static int vr_rt_fd(struct vr_handle *h, const struct vr_rt *rt)
{
	return rt->host ? vr_host_map_fd(h, rt->family) : vr_vrf_open(h, rt->family, rt->vrf_id);
}

static void vr_rt_fd_close(const struct vr_rt *rt, int fd)
{
	if (!rt->host && fd >= 0)
		close(fd);
}

int vr_route_add_err(int err, __u32 vrf_id)
{
	if (err == -EEXIST)
		return vr_err(err, "the route already exists in VRF %u; delete it first", vrf_id);
	if (err == -ENOSPC || err == -E2BIG || err == -ENOMEM)
		return vr_err(err, "the route tables are full (VRF %u's, or the host-route table of all VRFs: %u /32 "
			      "or %u /128 routes)", vrf_id, VR_MAX_HOST_ROUTES, VR_MAX_HOST_ROUTES);
	return vr_err(err, "adding the route failed: %s", strerror(-err));
}

/* A request's family (0 is IPv4) and address bytes. */
static int vr_req_family(const struct vr_route_req *r)
{
	return r->family ? r->family : AF_INET;
}

static const void *vr_req_addr(const struct vr_route_req *r)
{
	return r->family == AF_INET6 ? (const void *)&r->prefix6 : (const void *)&r->prefix;
}

static int vr_host_batch_alloc(struct vr_host_batch *b, size_t n)
{
	n = n ? n : 1;
	b->keys = malloc(n * vr_af_key_size(b->family));
	b->vals = malloc(n * sizeof(*b->vals));
	b->req = malloc(n * sizeof(*b->req));
	return b->keys && b->vals && b->req ? 0 : -ENOMEM;
}

static void vr_host_batch_free(struct vr_host_batch *b)
{
	free(b->keys);
	free(b->vals);
	free(b->req);
}

/* Host routes go to their family's host table in batches, shorter prefixes into their VRF's trie one by one. */
int vr_route_add_batch(struct vr_handle *h, struct vr_route_req *reqs, size_t n)
{
	struct vr_host_batch hb[2] = { { .family = AF_INET }, { .family = AF_INET6 } };
	struct vr_config cfg = {};
	__u32 last_vrf = (__u32)-1;
	int last_family = 0, last_vrf_err = 0, err;
	size_t failed = 0, n6 = 0;

	vr_err_clear();
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		n6 += reqs[i].family == AF_INET6;
	if (vr_host_batch_alloc(&hb[0], n - n6) || vr_host_batch_alloc(&hb[1], n6)) {
		err = vr_err(-ENOMEM, "out of memory for %zu routes", n);
		goto out;
	}
	vr_config_get(h, &cfg);

	/* 1. Check every request and take a reference on its nexthop (in libvrouter's copy only). */
	for (size_t i = 0; i < n; i++) {
		struct vr_route_req *r = &reqs[i];
		struct vr_host_batch *b;
		struct vr_nexthop nh;
		struct vr_rt rt;
		size_t ksz;

		r->nh_id = 0;
		r->err = vr_rt_set(&rt, vr_req_family(r), r->vrf_id, vr_req_addr(r), r->plen);
		if (!r->err) {
			if (r->vrf_id != last_vrf || rt.family != last_family) {
				last_vrf = r->vrf_id;
				last_family = rt.family;
				last_vrf_err = vr_vrf_check(h, rt.family, r->vrf_id);
			}
			r->err = last_vrf_err ? vr_vrf_check(h, rt.family, r->vrf_id) : 0;
		}
		if (!r->err)
			r->err = vr_nh_from_spec(h, r->vrf_id, &r->nh, cfg.host_ip, NULL, &nh);
		if (!r->err)
			r->err = vr_nh_ref(h, &nh, &r->nh_id);
		if (r->err) {
			failed++;
			continue;
		}
		if (rt.host) {
			b = &hb[rt.family == AF_INET6];
			ksz = vr_af_key_size(rt.family);
			memcpy(b->keys + b->n * ksz, rt.key, ksz);
			b->vals[b->n] = r->nh_id;
			b->req[b->n++] = i;
		}
	}
	/* 2. The nexthops reach the kernel before any route points at them. */
	err = vr_nh_flush(h);
	if (err)
		goto undo_all;

	/* 3. Host routes in batches, shorter prefixes into their VRF's trie one by one. */
	failed += vr_host_batch_write(h, &hb[0], reqs);
	failed += vr_host_batch_write(h, &hb[1], reqs);
	for (size_t i = 0; i < n; i++) {
		struct vr_route_req *r = &reqs[i];
		struct vr_rt rt;
		int fd;

		if (r->err || vr_rt_set(&rt, vr_req_family(r), r->vrf_id, vr_req_addr(r), r->plen) || rt.host)
			continue;
		fd = vr_rt_fd(h, &rt);
		if (fd < 0) {
			r->err = fd;
		} else {
			if (bpf_map_update_elem(fd, rt.key, &r->nh_id, BPF_NOEXIST))
				r->err = vr_route_add_err(-errno, r->vrf_id);
			vr_rt_fd_close(&rt, fd);
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
	vr_host_batch_free(&hb[0]);
	vr_host_batch_free(&hb[1]);
	return err;
}

/* One route of either family through the batch path. */
static int vr_route_add_af(struct vr_handle *h, int family, __u32 vrf_id, const void *addr, __u32 plen,
			   const struct vr_nh_spec *spec)
{
	struct vr_route_req r = { .vrf_id = vrf_id, .plen = plen, .family = family, .nh = *spec };
	int err;

	if (addr)
		memcpy(family == AF_INET6 ? (void *)&r.prefix6 : (void *)&r.prefix, addr, vr_af_addr_len(family));
	err = addr ? vr_route_add_batch(h, &r, 1) : vr_prefix_check(family, addr, plen);
	return err < 0 ? err : r.err;
}

int vr_route_add(struct vr_handle *h, __u32 vrf_id, __be32 prefix, __u32 plen, const struct vr_nh_spec *spec)
{
	return vr_route_add_af(h, AF_INET, vrf_id, &prefix, plen, spec);
}

int vr_route6_add(struct vr_handle *h, __u32 vrf_id, const struct in6_addr *prefix, __u32 plen,
		  const struct vr_nh_spec *spec)
{
	return vr_route_add_af(h, AF_INET6, vrf_id, prefix, plen, spec);
}

/* A route change's arguments: the prefix well formed, the VRF there; its place in rt. Clears the last error
 * first. */
/* The route's key in *rt and the table that holds it (close with vr_rt_fd_close), or -errno. */
static int vr_route_open(struct vr_handle *h, struct vr_rt *rt, int family, __u32 vrf_id, const void *addr, __u32 plen)
{
	int err;

	vr_err_clear();
	err = vr_rt_set(rt, family, vrf_id, addr, plen);
	if (!err)
		err = vr_vrf_check(h, family, vrf_id);
	return err ? err : vr_rt_fd(h, rt);
}

static int vr_route_replace_af(struct vr_handle *h, int family, __u32 vrf_id, const void *addr, __u32 plen,
			       const struct vr_nh_spec *spec)
{
	struct vr_ecmp prev, *prevp = NULL;
	const struct vr_nexthop *old;
	struct vr_config cfg = {};
	struct vr_nexthop nh;
	__u32 old_id, new_id;
	struct vr_rt rt;
	int fd, err;

	fd = vr_route_open(h, &rt, family, vrf_id, addr, plen);
	if (fd < 0)
		return fd;
	/* The trie answers a lookup with the longest match: rewriting that answer with BPF_EXIST at this exact
	 * key succeeds only if the route itself exists (and then changes nothing). */
	if (bpf_map_lookup_elem(fd, rt.key, &old_id) || bpf_map_update_elem(fd, rt.key, &old_id, BPF_EXIST)) {
		vr_rt_fd_close(&rt, fd);
		return vr_route_add_af(h, family, vrf_id, addr, plen, spec);
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
	if (bpf_map_update_elem(fd, rt.key, &new_id, BPF_EXIST)) {
		err = vr_err(-errno, "replacing the route failed: %s", strerror(errno));
		vr_nh_put(h, new_id);
		goto out;
	}
	vr_route_gen_bump(h->route_gen_fd);
	err = vr_nh_put(h, old_id);
out:
	vr_rt_fd_close(&rt, fd);
	return err;
}

int vr_route_replace(struct vr_handle *h, __u32 vrf_id, __be32 prefix, __u32 plen, const struct vr_nh_spec *spec)
{
	return vr_route_replace_af(h, AF_INET, vrf_id, &prefix, plen, spec);
}

int vr_route6_replace(struct vr_handle *h, __u32 vrf_id, const struct in6_addr *prefix, __u32 plen,
		      const struct vr_nh_spec *spec)
{
	return vr_route_replace_af(h, AF_INET6, vrf_id, prefix, plen, spec);
}

static int vr_route_del_af(struct vr_handle *h, int family, __u32 vrf_id, const void *addr, __u32 plen)
{
	struct vr_rt rt;
	__u32 nh_id;
	int fd, err;

	fd = vr_route_open(h, &rt, family, vrf_id, addr, plen);
	if (fd < 0)
		return fd;
	/* An LPM lookup returns the exact entry when it exists; the delete is exact and tells us whether. */
	if (bpf_map_lookup_elem(fd, rt.key, &nh_id) || bpf_map_delete_elem(fd, rt.key)) {
		err = vr_err(-ENOENT, "no such route in VRF %u", vrf_id);
		goto out;
	}
	vr_route_gen_bump(h->route_gen_fd);
	err = vr_nh_put(h, nh_id);
out:
	vr_rt_fd_close(&rt, fd);
	return err;
}

int vr_route_del(struct vr_handle *h, __u32 vrf_id, __be32 prefix, __u32 plen)
{
	return vr_route_del_af(h, AF_INET, vrf_id, &prefix, plen);
}

int vr_route6_del(struct vr_handle *h, __u32 vrf_id, const struct in6_addr *prefix, __u32 plen)
{
	return vr_route_del_af(h, AF_INET6, vrf_id, prefix, plen);
}

/* Call cb with a route of either family: key is a table key (a __u32, then the address). */
static int vr_route_emit(struct vr_handle *h, int family, __u32 vrf_id, __u32 plen, const __u8 *key, __u32 nh_id,
			 vr_route_cb cb, void *arg)
{
	struct vr_route_info r;

	memset(&r, 0, sizeof(r));
	r.vrf_id = vrf_id;
	r.family = family;
	memcpy(family == AF_INET6 ? (void *)&r.prefix6 : (void *)&r.prefix, key + sizeof(__u32),
	       vr_af_addr_len(family));
	r.plen = plen;
	r.nh_id = nh_id;
	bpf_map_lookup_elem(h->nexthops_fd, &nh_id, &r.nh);
	return cb(&r, arg);
}

struct vr_host_emit {
	struct vr_handle *h;
	__u32 vrf_id; /* (__u32)-1: all */
	vr_route_cb cb;
	void *arg;
};

static int vr_host_emit_cb(int family, const void *key, __u32 nh_id, void *arg)
{
	struct vr_host_emit *e = arg;
	__u32 vrf_id = vr_host_key_vrf(key);

	if (e->vrf_id != (__u32)-1 && vrf_id != e->vrf_id)
		return 0;
	return vr_route_emit(e->h, family, vrf_id, vr_af_bits(family), key, nh_id, e->cb, e->arg);
}

static int vr_route_walk(struct vr_handle *h, int family, __u32 vrf_id, int fd, vr_route_cb cb, void *arg)
{
	__u8 key[VR_ROUTE_KEY_MAX], next[VR_ROUTE_KEY_MAX];
	void *prev = NULL;
	__u32 plen, nh_id;
	int err = 0;

	while (!err && !bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, sizeof(key));
		prev = key;
		if (bpf_map_lookup_elem(fd, key, &nh_id))
			continue;
		memcpy(&plen, key, sizeof(plen));
		err = vr_route_emit(h, family, vrf_id, plen, key, nh_id, cb, arg);
	}
	return err;
}

/* The routes of one family: the VRF's trie (or every VRF's), then the host routes. */
static int vr_route_foreach_af(struct vr_handle *h, int family, __u32 vrf_id, vr_route_cb cb, void *arg)
{
	struct vr_host_emit e = { .h = h, .vrf_id = vrf_id, .cb = cb, .arg = arg };
	__u32 max = vr_map_max_entries(vr_vrf_map_fd(h, family));
	int err = 0;

	if (vrf_id != (__u32)-1) {
		int fd = vr_vrf_open(h, family, vrf_id);

		if (fd < 0)
			return fd;
		err = vr_route_walk(h, family, vrf_id, fd, cb, arg);
		close(fd);
		return err ? err : vr_host_walk(h, family, vr_host_emit_cb, &e);
	}
	for (__u32 id = 0; id < max && !err; id++) {
		int fd = vr_vrf_table_fd(h, family, id);

		if (fd < 0)
			continue;
		err = vr_route_walk(h, family, id, fd, cb, arg);
		close(fd);
	}
	return err ? err : vr_host_walk(h, family, vr_host_emit_cb, &e);
}

int vr_route_foreach(struct vr_handle *h, __u32 vrf_id, vr_route_cb cb, void *arg)
{
	int err = vr_route_foreach_af(h, AF_INET, vrf_id, cb, arg);

	return err ? err : vr_route_foreach_af(h, AF_INET6, vrf_id, cb, arg);
}
