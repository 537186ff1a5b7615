/* libvrouter internals shared between its source files (not part of the public API). */
#ifndef VR_INTERNAL_H
#define VR_INTERNAL_H

#include <string.h>
#include <sys/socket.h>
#include "libvrouter.h"

/* Pin names under the pin dir. Maps are pinned under their own names (vr_vifs, vr_vrf4, ...). */
#define VR_PIN_PROG_VIF "prog_vr_vif_xdp"
#define VR_PIN_PROG_FABRIC "prog_vr_fabric_xdp"
#define VR_PIN_PROG_VIF_TC "prog_vr_vif_tc"
#define VR_PIN_PROG_FABRIC_TC "prog_vr_fabric_tc"
#define VR_PIN_LINK_FABRIC "link_fabric"
#define VR_PIN_LINK_VIF_FMT "link_vif_%u"
/* The gateway's external NIC: vr_ext_xdp, attached through this link (vr_nat.c). */
#define VR_PIN_PROG_EXT "prog_vr_ext_xdp"
#define VR_PIN_LINK_EXT "link_ext"
/* The largest NAT connection table vr_load makes (nat-entries; allocated on insert, so this bounds memory). */
#define VR_MAX_NAT_ENTRIES (1U << 26)

/* Our cls_bpf filter on a clsact ingress hook: handle and priority (0x7672 = "vr"). */
#define VR_TC_HANDLE 0x7672
#define VR_TC_PRIO 1

/* Record a failure: returns -|err| so callers can `return vr_err(-ENOENT, "...")`. */
int vr_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#ifdef __clang_analyzer__
/* clang-tidy's analyzer does not follow vr_err into vr_error.c: tell it that a failure stays a failure (callers
 * pass -errno or an -E constant, never 0), or it explores "failed, yet returned 0" paths that cannot happen. */
#define vr_err(err, ...) ({ int vr_err_rc_ = vr_err((err), __VA_ARGS__); vr_err_rc_ ? vr_err_rc_ : -EINVAL; })
#endif
void vr_err_clear(void);

/* Path of a pin under pin_dir (static buffer per call site is not thread safe: use the out buffer). */
int vr_pin_path(char *out, size_t len, const char *pin_dir, const char *name);

/* XDP attach through a pinned bpf_link; replaces atomically if the pin exists. */
int vr_xdp_link_attach(const char *pin_dir, const char *link_name, int prog_fd, int ifindex);
int vr_xdp_link_detach(const char *pin_dir, const char *link_name);
int vr_tc_attach(int ifindex, int prog_fd);
int vr_tc_detach(int ifindex);
/* Attach a vif's programs as its mode wants (TC always, XDP in mode xdp) / detach them. */
int vr_vif_attach(const char *pin_dir, const struct vr_vif *vif);
void vr_vif_detach(const char *pin_dir, const struct vr_vif *vif);

/* Devices (vr_dev.c). */
int vr_dev_mtu(const char *ifname);
bool vr_dev_is_tap(const char *ifname);
int vr_dev_set_mac(const char *ifname, const __u8 mac[6]);
int vr_dev_sysctl(const char *dev, const char *key, const char *val);
int vr_dev_gro_on(const char *ifname);

/* Nexthops: find an equal one and take a reference, or allocate (get), and give it back (put); both write
 * the kernel's table at once. ref/unref change libvrouter's copy only, for many changes at once; vr_nh_flush
 * then writes them all in one batch (before any route points at a new nexthop). */
int vr_nh_get(struct vr_handle *h, const struct vr_nexthop *want, __u32 *id);
int vr_nh_put(struct vr_handle *h, __u32 id);
int vr_nh_ref(struct vr_handle *h, const struct vr_nexthop *want, __u32 *id);
int vr_nh_unref(struct vr_handle *h, __u32 id);
int vr_nh_flush(struct vr_handle *h);
/* The id of a nexthop equal to want (0: none), and the handle's copy of nexthop id (NULL: unused). */
__u32 vr_nh_find(struct vr_handle *h, const struct vr_nexthop *want);
const struct vr_nexthop *vr_nh_peek(struct vr_handle *h, __u32 id);
void vr_nh_cache_free(struct vr_handle *h);

/* Tunnel endpoints (vr_endpoint.c): count a tunnel nexthop's remote host in (+1) or out (-1); written by
 * vr_endpoint_flush (vr_nh_flush calls it). */
int vr_endpoint_delta(struct vr_handle *h, __be32 addr, int delta);
int vr_endpoint_flush(struct vr_handle *h);
void vr_endpoint_pending_free(struct vr_handle *h);

/* Map readers (vr_nexthop.c): max_entries of a map; a whole ARRAY map in one buffer (*n entries). */
__u32 vr_map_max_entries(int fd);
void *vr_array_read(int fd, size_t value_size, __u32 *n);

/* Labels (vr_label.c): bind the lowest free label >= 16 (want 0) or label want to nh_id / unbind. */
int vr_label_alloc(struct vr_handle *h, __u32 want, __u32 nh_id, __u32 *label);
void vr_label_free(struct vr_handle *h, __u32 label);
/* The nexthop id a label points at (0: free), from the handle's copy of the label table. */
__u32 vr_label_nh(struct vr_handle *h, __u32 label);
/* Unbind every label pointing at nh_id but keep; returns how many. */
__u32 vr_label_unbind_nh(struct vr_handle *h, __u32 nh_id, __u32 keep);
void vr_label_cache_free(struct vr_handle *h);
/* The VRF_LOOKUP label of vrf_id (vr_vrf.c; 0 if none), its nexthop in *nh_id. */
__u32 vr_vrf_label(struct vr_handle *h, __u32 vrf_id, __u32 *nh_id);
/* vifs (vr_vif.c): the vif with id vif_id; free the handle's copy of the vif ids. */
int vr_vif_by_id(struct vr_handle *h, __u32 vif_id, struct vr_vif *out);
void vr_vif_ids_free(struct vr_handle *h);

/* Address families: the routes of both live in tables of the same shape, whose keys are a __u32 (the prefix
 * length in a trie, the VRF id in a host table) followed by the address (vr_types.h). */
static inline size_t vr_af_addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

static inline __u32 vr_af_bits(int family)
{
	return (__u32)vr_af_addr_len(family) * 8;
}

/* Key size of both tables of a family (8 or 20 bytes); the largest, for buffers that serve either. */
static inline size_t vr_af_key_size(int family)
{
	return sizeof(__u32) + vr_af_addr_len(family);
}
#define VR_ROUTE_KEY_MAX 20

/* The VRF id a host-table key of either family starts with. */
static inline __u32 vr_host_key_vrf(const void *key)
{
	__u32 vrf_id;

	memcpy(&vrf_id, key, sizeof(vrf_id));
	return vrf_id;
}

/* The map of VRF tries (vrf4/vrf6) and the host table (host4/host6) of a family. */
static inline int vr_vrf_map_fd(const struct vr_handle *h, int family)
{
	return family == AF_INET6 ? h->vrf6_fd : h->vrf4_fd;
}

static inline int vr_host_map_fd(const struct vr_handle *h, int family)
{
	return family == AF_INET6 ? h->host6_fd : h->host4_fd;
}

/* VRFs (vr_vrf.c): a VRF has one trie per family, both created and removed together. The trie of (family,
 * vrf_id) as a new fd (-ENOENT if none; vr_vrf_open records the error), and checks of an id's range
 * (vr_check_vrf_id) and existence (vr_vrf_check, one lookup). */
int vr_vrf_table_fd(struct vr_handle *h, int family, __u32 vrf_id);
int vr_vrf_open(struct vr_handle *h, int family, __u32 vrf_id);
int vr_check_vrf_id(struct vr_handle *h, __u32 vrf_id);
int vr_vrf_check(struct vr_handle *h, int family, __u32 vrf_id);

/* The datapath caches route lookups per CPU under a generation number (vr_route_gen): every change of a
 * route table must move it afterwards (vr_load.c), or the old answers stay valid. */
void vr_route_gen_bump(int route_gen_fd);

/* ECMP groups (vr_ecmp.c): build a group for a COMPOSITE spec (members referenced, buckets from prev if
 * given) into *nh; release a group (members unreferenced) when its nexthop goes. */
int vr_ecmp_build(struct vr_handle *h, __u32 vrf_id, const struct vr_nh_spec *spec, __be32 host_ip,
		  const struct vr_ecmp *prev, struct vr_nexthop *nh);
void vr_ecmp_release(struct vr_handle *h, __u32 ecmp_id);
/* The nexthop a (non-composite) spec names, checked (vr_route.c). */
int vr_nh_spec_resolve(struct vr_handle *h, __u32 vrf_id, const struct vr_nh_spec *spec, __be32 host_ip,
		       struct vr_nexthop *nh);

/* Routes (vr_route.c): the error of a refused route add, recorded. */
int vr_route_add_err(int err, __u32 vrf_id);

/* Read a whole hash map in batches of lookups (vr_map.c): cb sees each key and value (key_size and val_size
 * bytes), returns non-zero to stop the walk (that value is returned) and must not change the map. A failed read
 * is reported as "reading the <what> failed". */
typedef int (*vr_map_walk_cb)(const void *key, const void *val, void *arg);
int vr_map_walk(int fd, size_t key_size, size_t val_size, const char *what, vr_map_walk_cb cb, void *arg);

/* The host-route tables (vr_host.c): /32 routes in host4, /128 routes in host6. Walks go in batches of lookups
 * (a million entries take a thousand system calls, not a million); cb gets a key of the family's layout
 * (struct vr_host4_key or vr_host6_key), returns non-zero to stop and must not change the table. */
typedef int (*vr_host_cb)(int family, const void *key, __u32 nh_id, void *arg);
int vr_host_walk(struct vr_handle *h, int family, vr_host_cb cb, void *arg);
/* Remove every host route of vrf_id (both families) and give back their nexthops. */
int vr_host_flush_vrf(struct vr_handle *h, __u32 vrf_id);
/* The host routes of a batch of one family, in update order; written with NOEXIST semantics, failures marked
 * in reqs[].err. Returns how many failed. */
struct vr_host_batch {
	int family;
	__u8 *keys;  /* n keys of vr_af_key_size(family) bytes */
	__u32 *vals;
	size_t *req; /* index into the caller's requests */
	size_t n;
};
size_t vr_host_batch_write(struct vr_handle *h, struct vr_host_batch *b, struct vr_route_req *reqs);

/* The kernel's tick rate (CONFIG_HZ), from the coarse clock's resolution (one tick), and the current jiffies as
 * bpf_jiffies64() sees them (vr_nat.c): the clock of the datapath's timestamps (NAT last_seen). */
long vr_kernel_hz(void);
int vr_jiffies_now(__u64 *out);

#endif /* VR_INTERNAL_H */
