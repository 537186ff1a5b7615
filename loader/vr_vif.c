/* vifs: a VM-facing device, its id (stats, redirect map), its ENCAP nexthop and label, its programs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "vr_internal.h"
#include <net/if.h>

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

/* The vif ids in use as this handle sees them: read once (one walk of the vif table), then kept current by
 * the handle's own adds and deletes, so adding the 65,536th vif does not walk the other 65,535. */
struct vr_vif_ids {
	__u8 *used;
	__u32 max;
	__u32 hint; /* no free id below it (>= 1) */
};

static int vr_mark_vif_id(const struct vr_vif *vif, void *arg)
{
	struct vr_vif_ids *s = arg;

	if (vif->vif_id < s->max)
		s->used[vif->vif_id] = 1;
	return 0;
}

static struct vr_vif_ids *vr_vif_ids(struct vr_handle *h)
{
	struct vr_vif_ids *s = h->vif_ids;

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->max = vr_map_max_entries(h->vif_stats_fd);
	s->used = calloc(s->max ? s->max : 1, 1);
	s->hint = 1;
	if (!s->used || vr_vif_foreach(h, vr_mark_vif_id, s)) {
		free(s->used);
		free(s);
		return NULL;
	}
	h->vif_ids = s;
	return s;
}

void vr_vif_ids_free(struct vr_handle *h)
{
	if (!h->vif_ids)
		return;
	free(h->vif_ids->used);
	free(h->vif_ids);
	h->vif_ids = NULL;
}

static int vr_vif_id_alloc(struct vr_handle *h, __u32 *id)
{
	struct vr_vif_ids *s = vr_vif_ids(h);
	__u32 i;

	if (!s)
		return vr_err(-ENOMEM, "reading the vif table failed");
	for (i = s->hint; i < s->max && s->used[i]; i++)
		;
	s->hint = i;
	if (i >= s->max)
		return vr_err(-ENOSPC, "the vif table is full (%u vifs)", s->max - 1);
	s->used[i] = 1;
	*id = i;
	return 0;
}

static void vr_vif_id_free(struct vr_handle *h, __u32 id)
{
	struct vr_vif_ids *s = h->vif_ids;

	if (!s || !id || id >= s->max)
		return;
	s->used[id] = 0;
	if (id < s->hint)
		s->hint = id;
}

int vr_vif_by_id(struct vr_handle *h, __u32 vif_id, struct vr_vif *out)
{
	__u32 ifindex;

	if (vr_vif_ifindex(h, vif_id, &ifindex) || bpf_map_lookup_elem(h->vifs_fd, &ifindex, out))
		return -ENOENT;
	return 0;
}

/* The vif's direct-mapped slot: taken if free (ifindex 0), written with ifindex 0 first and then set, so a
 * reader that matches the ifindex sees the whole vif. A vif whose slot is held by another stays in the hash
 * only. */
static void vr_vif_slot_set(struct vr_handle *h, const struct vr_vif *vif)
{
	__u32 slot = vif->ifindex & (VR_VIF_SLOTS - 1);
	struct vr_vif_slot s;

	if (bpf_map_lookup_elem(h->vif_slots_fd, &slot, &s) || s.ifindex)
		return;
	s.vif = *vif;
	s.pad = 0;
	if (bpf_map_update_elem(h->vif_slots_fd, &slot, &s, BPF_ANY))
		return;
	s.ifindex = vif->ifindex;
	bpf_map_update_elem(h->vif_slots_fd, &slot, &s, BPF_ANY);
}

/* Give the slot up (ifindex 0 first: readers fall back to the hash), if this vif holds it. */
static void vr_vif_slot_clear(struct vr_handle *h, __u32 ifindex)
{
	__u32 slot = ifindex & (VR_VIF_SLOTS - 1);
	struct vr_vif_slot s;

	if (bpf_map_lookup_elem(h->vif_slots_fd, &slot, &s) || s.ifindex != ifindex)
		return;
	s.ifindex = 0;
	bpf_map_update_elem(h->vif_slots_fd, &slot, &s, BPF_ANY);
	memset(&s, 0, sizeof(s));
	bpf_map_update_elem(h->vif_slots_fd, &slot, &s, BPF_ANY);
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
	vrf_fd = vr_vrf_table_fd(h, AF_INET, spec->vrf_id);
	if (vrf_fd < 0)
		return vr_err(-ENOENT, "VRF %u does not exist; add it with 'vrouterctl vrf add %u'", spec->vrf_id,
			      spec->vrf_id);
	close(vrf_fd);
	if (!spec->ip)
		return vr_err(-EINVAL, "a vif needs the VM's IPv4 address");
	/* The datapath answers neighbour solicitations for gw6 and checks sources against ip6: multicast in
	 * either could never be right. */
	if (IN6_IS_ADDR_MULTICAST(&spec->ip6) || IN6_IS_ADDR_MULTICAST(&spec->gw6))
		return vr_err(-EINVAL, "the vif's IPv6 %s is a multicast address",
			      IN6_IS_ADDR_MULTICAST(&spec->ip6) ? "address" : "gateway");

	vif.ifindex = ifindex;
	vif.vrf_id = spec->vrf_id;
	vif.ip = spec->ip;
	vif.gw_ip = spec->gw_ip;
	memcpy(vif.ip6, &spec->ip6, sizeof(vif.ip6));
	memcpy(vif.gw6, &spec->gw6, sizeof(vif.gw6));
	memcpy(vif.mac, spec->mac, 6);
	vif.mtu = spec->mtu ? spec->mtu : vr_dev_mtu(spec->ifname);
	vif.flags = (vr_dev_is_tap(spec->ifname) ? VR_VIF_F_TAP : 0) | (spec->xdp ? 0 : VR_VIF_F_TC);
	err = vr_vif_id_alloc(h, &vif.vif_id);
	if (err)
		return err;
	err = vr_dev_set_mac(spec->ifname, cfg.vr_mac);
	if (err) {
		vr_vif_id_free(h, vif.vif_id);
		return err;
	}

	nh.vif_id = vif.vif_id;
	nh.ifindex = ifindex;
	nh.flags = spec->xdp ? 0 : VR_NH_F_SKB;
	memcpy(nh.dmac, spec->mac, 6);
	err = vr_nh_get(h, &nh, &vif.nh_id);
	if (err) {
		vr_vif_id_free(h, vif.vif_id);
		return err;
	}
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
	vr_vif_slot_set(h, &vif);
	err = vr_vif_attach(h->pin_dir, &vif);
	if (err)
		goto del_vif;
	if (out)
		*out = vif;
	return 0;

del_vif:
	vr_vif_slot_clear(h, ifindex);
	bpf_map_delete_elem(h->vifs_fd, &ifindex);
del_tx:
	bpf_map_delete_elem(h->tx_fd, &vif.vif_id);
free_label:
	vr_label_free(h, label);
put_nh:
	vr_nh_put(h, vif.nh_id);
	vr_vif_id_free(h, vif.vif_id);
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
	/* The vif's nexthop is held by the vif, by routes and by labels bound to the vif explicitly: routes
	 * must go first, explicit labels go with the vif. */
	if (!bpf_map_lookup_elem(h->nexthops_fd, &vif.nh_id, &nh)) {
		__u32 bound = 0, routes;

		for (__u32 l = VR_LABEL_MIN; l < VR_MAX_LABELS; l++)
			bound += l != vif.label && vr_label_nh(h, l) == vif.nh_id;
		routes = nh.refcnt > 1 + bound ? nh.refcnt - 1 - bound : 0;
		if (routes)
			return vr_err(-EBUSY, "%u route(s) still point at vif %s; delete them first", routes, ifname);
	}
	/* Stop the programs first, then take the state away. */
	vr_vif_detach(h->pin_dir, &vif);
	vr_vif_slot_clear(h, vif.ifindex);
	bpf_map_delete_elem(h->vifs_fd, &vif.ifindex);
	vr_label_unbind_nh(h, vif.nh_id, vif.label);
	vr_label_free(h, vif.label);
	bpf_map_delete_elem(h->tx_fd, &vif.vif_id);
	vr_vif_id_free(h, vif.vif_id);
	vr_nh_put(h, vif.nh_id);
	return 0;
}
