/* Tunnel endpoints: the underlay addresses the fabric accepts tunnel packets from. An address is known while
 * a tunnel nexthop points at it (libvrouter counts them as nexthops come and go, and writes the counts when
 * it writes the nexthops) or while it is configured (vrouterctl endpoint add). Each known address also gets
 * its direct-mapped slot when the slot is free, which the datapath reads first. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include "vr_internal.h"
#include "vr_hash.h"

/* Reference-count changes not yet written: a small open-addressing table by address. */
struct vr_ep_pending {
	__be32 *addr;
	int *delta;
	size_t n, cap;
};

static __u32 vr_ep_slot(__be32 addr)
{
	return vr_hash_final(addr) & (VR_ENDPOINT_SLOTS - 1);
}

void vr_endpoint_pending_free(struct vr_handle *h)
{
	if (!h->ep_pending)
		return;
	free(h->ep_pending->addr);
	free(h->ep_pending->delta);
	free(h->ep_pending);
	h->ep_pending = NULL;
}

int vr_endpoint_delta(struct vr_handle *h, __be32 addr, int delta)
{
	struct vr_ep_pending *p = h->ep_pending;
	size_t i;

	if (!p && !(p = h->ep_pending = calloc(1, sizeof(*p))))
		return vr_err(-ENOMEM, "out of memory");
	if (2 * (p->n + 1) > p->cap) {
		struct vr_ep_pending q = { .cap = p->cap ? 2 * p->cap : 64 };

		q.addr = calloc(q.cap, sizeof(*q.addr));
		q.delta = calloc(q.cap, sizeof(*q.delta));
		if (!q.addr || !q.delta) {
			free(q.addr);
			free(q.delta);
			return vr_err(-ENOMEM, "out of memory");
		}
		for (size_t j = 0; j < p->cap; j++) {
			if (!p->addr[j])
				continue;
			for (i = vr_hash_final(p->addr[j]) & (q.cap - 1); q.addr[i]; i = (i + 1) & (q.cap - 1))
				;
			q.addr[i] = p->addr[j];
			q.delta[i] = p->delta[j];
			q.n++;
		}
		free(p->addr);
		free(p->delta);
		*p = q;
	}
	for (i = vr_hash_final(addr) & (p->cap - 1); p->addr[i] && p->addr[i] != addr; i = (i + 1) & (p->cap - 1))
		;
	if (!p->addr[i]) {
		p->addr[i] = addr;
		p->n++;
	}
	p->delta[i] += delta; /* NOLINT(clang-analyzer-unix.Malloc): p holds the new tables after a resize */
	return 0;
}

/* Write one endpoint's new state: refs changed by delta, configured set/cleared/kept (-1). */
static int vr_endpoint_write(struct vr_handle *h, __be32 addr, int delta, int configured)
{
	struct vr_endpoint ep = {};
	__u32 slot = vr_ep_slot(addr);
	bool had = !bpf_map_lookup_elem(h->endpoints_fd, &addr, &ep);
	__be32 cur = 0;
	long refs = (long)ep.refs + delta;

	if (refs < 0)
		refs = 0;
	ep.refs = (__u32)refs;
	if (configured == 1)
		ep.flags |= VR_EP_F_CONFIGURED;
	else if (configured == 0)
		ep.flags &= ~VR_EP_F_CONFIGURED;
	bpf_map_lookup_elem(h->endpoint_slots_fd, &slot, &cur);
	if (!ep.refs && !(ep.flags & VR_EP_F_CONFIGURED)) {
		if (cur == addr) {
			cur = 0;
			bpf_map_update_elem(h->endpoint_slots_fd, &slot, &cur, BPF_ANY);
		}
		if (had)
			bpf_map_delete_elem(h->endpoints_fd, &addr);
		return 0;
	}
	if (bpf_map_update_elem(h->endpoints_fd, &addr, &ep, BPF_ANY)) {
		/* A full hash map refuses a new key with E2BIG: name the table, not "argument list too long". */
		if (errno == E2BIG && !had)
			return vr_err(-ENOSPC, "the tunnel endpoint table is full (%u remote hosts); %s is not added",
				      VR_MAX_ENDPOINTS, inet_ntoa((struct in_addr){ addr }));
		return vr_err(-errno, "writing tunnel endpoint %s failed: %s", inet_ntoa((struct in_addr){ addr }),
			      strerror(errno));
	}
	if (!cur)
		bpf_map_update_elem(h->endpoint_slots_fd, &slot, &addr, BPF_ANY);
	return 0;
}

int vr_endpoint_flush(struct vr_handle *h)
{
	struct vr_ep_pending *p = h->ep_pending;
	int err = 0;

	for (size_t i = 0; p && i < p->cap; i++)
		if (p->addr[i] && p->delta[i]) {
			int e = vr_endpoint_write(h, p->addr[i], p->delta[i], -1);

			err = err ? err : e;
		}
	vr_endpoint_pending_free(h);
	return err;
}

int vr_endpoint_add(struct vr_handle *h, __be32 addr)
{
	struct vr_endpoint ep;

	vr_err_clear();
	if (!addr)
		return vr_err(-EINVAL, "0.0.0.0 is not a tunnel endpoint");
	if (!bpf_map_lookup_elem(h->endpoints_fd, &addr, &ep) && (ep.flags & VR_EP_F_CONFIGURED))
		return vr_err(-EEXIST, "%s is configured already", inet_ntoa((struct in_addr){ addr }));
	return vr_endpoint_write(h, addr, 0, 1);
}

int vr_endpoint_del(struct vr_handle *h, __be32 addr)
{
	struct vr_endpoint ep;

	vr_err_clear();
	if (bpf_map_lookup_elem(h->endpoints_fd, &addr, &ep) || !(ep.flags & VR_EP_F_CONFIGURED))
		return vr_err(-ENOENT, "%s is not a configured endpoint", inet_ntoa((struct in_addr){ addr }));
	return vr_endpoint_write(h, addr, 0, 0);
}

int vr_endpoint_foreach(struct vr_handle *h, vr_endpoint_cb cb, void *arg)
{
	__be32 key, next, *prev = NULL;
	struct vr_endpoint ep;
	int err = 0;

	while (!err && !bpf_map_get_next_key(h->endpoints_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(h->endpoints_fd, &key, &ep))
			err = cb(key, &ep, arg);
	}
	return err;
}
