/* The gateway (VNGW) role: the external NIC (vr_ext_xdp attached through a pinned link, nat_config), each
 * tenant's source-NAT address (snat), floating IPs (fip, fip_rev) and the public addresses the gateway owns
 * (nat_addrs), kept consistent with each other; and the connection table the datapath writes (nat): listing
 * with the outbound and inbound entries of a connection paired, and the sweep of expired connections.
 * Layouts and rules in vr_types.h. The datapath stamps connections with bpf_jiffies64(): user space reads the
 * same clock (vr_jiffies_now) so that ages computed here are the datapath's. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "vr_internal.h"

/* Longest timeout accepted: a week (an idle entry held longer is a leak, not a policy). */
#define VR_NAT_TIMEOUT_MAX (7U * 24 * 3600)

/* ---- the kernel's clock ------------------------------------------------------------------------------ */

long vr_kernel_hz(void)
{
	struct timespec res = {};
	long hz = 250;

	/* CLOCK_MONOTONIC_COARSE advances once per tick: its resolution is 1/CONFIG_HZ. */
	if (!clock_getres(CLOCK_MONOTONIC_COARSE, &res) && !res.tv_sec && res.tv_nsec > 0)
		hz = 1000000000L / res.tv_nsec;
	if (hz < 24 || hz > 10000)
		hz = 250;
	return hz;
}

/* The current jiffies from bpf_jiffies64() itself: a five-instruction XDP program run once with
 * BPF_PROG_TEST_RUN stores the helper's answer in the packet it is given. That is exactly the clock the
 * datapath stamps entries with (jiffies_64), with no guess at INITIAL_JIFFIES or at a tick's phase, which a
 * value derived from CLOCK_MONOTONIC would need. */
static int vr_jiffies_bpf(__u64 *out)
{
	const struct bpf_insn insns[] = {
		/* r6 = ctx (r1 does not survive the call) */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_6, .src_reg = BPF_REG_1 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_jiffies64 },
		/* r2 = data, r3 = data_end; if data + 8 > data_end skip the store */
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_6,
		  .off = offsetof(struct xdp_md, data) },
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_3, .src_reg = BPF_REG_6,
		  .off = offsetof(struct xdp_md, data_end) },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_4, .src_reg = BPF_REG_2 },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_4, .imm = 8 },
		{ .code = BPF_JMP | BPF_JGT | BPF_X, .dst_reg = BPF_REG_4, .src_reg = BPF_REG_3, .off = 1 },
		/* *(u64 *)data = jiffies */
		{ .code = BPF_STX | BPF_MEM | BPF_DW, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	__u8 in[64] = {}, res[64] = {};
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = in, .data_size_in = sizeof(in), .data_out = res,
		    .data_size_out = sizeof(res), .repeat = 1);
	int fd, err;

	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "vr_jiffies", "GPL", insns, sizeof(insns) / sizeof(insns[0]), NULL);
	if (fd < 0)
		return -errno;
	err = bpf_prog_test_run_opts(fd, &run);
	close(fd);
	if (err)
		return err;
	if (run.retval != XDP_PASS || run.data_size_out < 8)
		return -EIO;
	memcpy(out, res, sizeof(*out));
	return *out ? 0 : -EIO;
}

/* The fallback: the "jiffies:" line /proc/timer_list prints (root only, kernels with tick broadcast/NO_HZ). */
static int vr_jiffies_proc(__u64 *out)
{
	char line[256];
	int err = -ENOENT;
	FILE *f = fopen("/proc/timer_list", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;
		char *end;

		if (strncmp(line, "jiffies:", 8))
			continue;
		errno = 0;
		v = strtoull(line + 8, &end, 10);
		if (!errno && end != line + 8) {
			*out = v;
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

int vr_jiffies_now(__u64 *out)
{
	int err = vr_jiffies_bpf(out);

	if (err && vr_jiffies_proc(out))
		return vr_err(err, "cannot read the kernel's jiffies (bpf_jiffies64 through BPF_PROG_TEST_RUN: %s; "
			      "/proc/timer_list: no jiffies line)", strerror(-err));
	return 0;
}

/* ---- addresses ------------------------------------------------------------------------------------- */

/* A public address must be one a host can own: not 0/8, loopback, multicast, class E or broadcast. */
static int vr_check_unicast(const char *what, __be32 addr)
{
	__u32 a = ntohl(addr);
	char buf[16];

	if (!addr || (a >> 24) == 0 || (a >> 24) == 127 || (a >> 28) == 0xe || (a >> 28) == 0xf) {
		inet_ntop(AF_INET, &addr, buf, sizeof(buf));
		return vr_err(-EINVAL, "%s %s is not a unicast address", what, buf);
	}
	return 0;
}

static const char *vr_ip(__be32 addr, char buf[16])
{
	return inet_ntop(AF_INET, &addr, buf, 16);
}

/* Set or clear flag in nat_addrs[addr]; the entry goes when no flag is left. */
static int vr_nat_addr_flag(struct vr_handle *h, __be32 addr, __u32 flag, bool on)
{
	__u32 flags = 0;
	char buf[16];

	bpf_map_lookup_elem(h->nat_addrs_fd, &addr, &flags);
	flags = on ? flags | flag : flags & ~flag;
	if (flags && bpf_map_update_elem(h->nat_addrs_fd, &addr, &flags, BPF_ANY))
		return vr_err(-errno, "writing public address %s failed: %s%s", vr_ip(addr, buf), strerror(errno),
			      errno == E2BIG || errno == ENOSPC ? " (the public address table is full)" : "");
	if (!flags && bpf_map_delete_elem(h->nat_addrs_fd, &addr) && errno != ENOENT)
		return vr_err(-errno, "removing public address %s failed: %s", vr_ip(addr, buf), strerror(errno));
	return 0;
}

/* ---- the external NIC ------------------------------------------------------------------------------ */

static __u32 vr_timeout_or(__u32 v, __u32 def)
{
	return v ? v : def;
}

int vr_gateway_get(struct vr_handle *h, struct vr_nat_config *out)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(h->nat_config_fd, &zero, out))
		return vr_err(-errno, "reading the gateway configuration failed: %s", strerror(errno));
	return 0;
}

int vr_gateway_set(struct vr_handle *h, const struct vr_gateway_spec *spec)
{
	const __u32 *t[4];
	struct vr_nat_config old, cfg;
	struct vr_config vcfg;
	struct vr_vif vif;
	char path[PATH_MAX];
	__u32 ifindex, zero = 0;
	int prog_fd, err;

	vr_err_clear();
	if (!spec || !spec->ext_ifname || !*spec->ext_ifname)
		return vr_err(-EINVAL, "the gateway needs its external device");
	t[0] = &spec->timeout_tcp;
	t[1] = &spec->timeout_tcp_transitory;
	t[2] = &spec->timeout_udp;
	t[3] = &spec->timeout_icmp;
	for (int i = 0; i < 4; i++)
		if (*t[i] > VR_NAT_TIMEOUT_MAX)
			return vr_err(-EINVAL, "NAT timeout %u s is longer than a week (%u s)", *t[i], VR_NAT_TIMEOUT_MAX);
	ifindex = if_nametoindex(spec->ext_ifname);
	if (!ifindex)
		return vr_err(-ENODEV, "external device %s does not exist", spec->ext_ifname);
	err = vr_config_get(h, &vcfg);
	if (err)
		return err;
	if (ifindex == vcfg.fabric_ifindex)
		return vr_err(-EINVAL, "%s is the fabric device; the external network needs a device of its own",
			      spec->ext_ifname);
	if (!bpf_map_lookup_elem(h->vifs_fd, &ifindex, &vif))
		return vr_err(-EINVAL, "%s is vif %u of VRF %u; the external network needs a device that is no vif",
			      spec->ext_ifname, vif.vif_id, vif.vrf_id);
	err = vr_gateway_get(h, &old);
	if (err)
		return err;

	err = vr_pin_path(path, sizeof(path), h->pin_dir, VR_PIN_PROG_EXT);
	if (err)
		return err;
	prog_fd = bpf_obj_get(path);
	if (prog_fd < 0)
		return vr_err(errno == ENOENT ? -ENOTSUP : -errno, "the loaded datapath has no gateway program (%s: %s); "
			      "reload it with a build that has vr_ext_xdp", path, strerror(errno));
	/* As on the fabric: bpf_fib_lookup answers only for devices that forward IPv4, and GRO merges what the
	 * program passes to the host. */
	err = vr_dev_sysctl(spec->ext_ifname, "forwarding", "1");
	if (!err)
		err = vr_dev_gro_on(spec->ext_ifname);
	/* A re-run on the same device swaps the program under the link; another device gets a new link (the old
	 * one goes with its pin). */
	if (!err)
		err = vr_xdp_link_attach(h->pin_dir, VR_PIN_LINK_EXT, prog_fd, (int)ifindex);
	close(prog_fd);
	if (err)
		return err;

	cfg = old;
	cfg.ext_ifindex = ifindex;
	cfg.timeout_tcp = vr_timeout_or(spec->timeout_tcp, VR_NAT_TIMEOUT_TCP);
	cfg.timeout_tcp_transitory = vr_timeout_or(spec->timeout_tcp_transitory, VR_NAT_TIMEOUT_TCP_TRANSITORY);
	cfg.timeout_udp = vr_timeout_or(spec->timeout_udp, VR_NAT_TIMEOUT_UDP);
	cfg.timeout_icmp = vr_timeout_or(spec->timeout_icmp, VR_NAT_TIMEOUT_ICMP);
	if (bpf_map_update_elem(h->nat_config_fd, &zero, &cfg, BPF_ANY)) {
		err = vr_err(-errno, "writing the gateway configuration failed: %s", strerror(errno));
		/* Not a gateway before: leave no program behind that the configuration does not name. */
		if (old.ext_ifindex != ifindex)
			vr_xdp_link_detach(h->pin_dir, VR_PIN_LINK_EXT);
		return err;
	}
	return 0;
}

int vr_gateway_unset(struct vr_handle *h)
{
	struct vr_nat_config cfg;
	__u32 zero = 0;
	int err;

	vr_err_clear();
	err = vr_gateway_get(h, &cfg);
	if (err)
		return err;
	/* Configuration first: EXTERNAL nexthops stop sending out before the receiving side goes. */
	cfg.ext_ifindex = 0;
	if (bpf_map_update_elem(h->nat_config_fd, &zero, &cfg, BPF_ANY))
		return vr_err(-errno, "writing the gateway configuration failed: %s", strerror(errno));
	return vr_xdp_link_detach(h->pin_dir, VR_PIN_LINK_EXT);
}

/* ---- source NAT per VRF ---------------------------------------------------------------------------- */

int vr_snat_get(struct vr_handle *h, __u32 vrf_id, struct vr_snat *out)
{
	int err = vr_check_vrf_id(h, vrf_id);

	if (err)
		return err;
	if (bpf_map_lookup_elem(h->snat_fd, &vrf_id, out))
		return vr_err(-errno, "reading the source NAT of VRF %u failed: %s", vrf_id, strerror(errno));
	return 0;
}

/* Does any VRF but skip use addr for source NAT? (ours is the only writer: the table is read whole.) */
static int vr_snat_users(struct vr_handle *h, __be32 addr, __u32 skip, __u32 *first)
{
	struct vr_snat *all;
	__u32 n, users = 0;

	all = vr_array_read(h->snat_fd, sizeof(*all), &n);
	if (!all)
		return vr_err(-ENOMEM, "reading the source NAT table failed");
	for (__u32 i = 0; i < n; i++) {
		if (i == skip || all[i].addr != addr)
			continue;
		if (!users++ && first)
			*first = i;
	}
	free(all);
	return (int)users;
}

int vr_snat_set(struct vr_handle *h, __u32 vrf_id, __be32 addr, __u16 port_min, __u16 port_max)
{
	struct vr_snat old = {}, snat = { .addr = addr };
	struct vr_fip_key fk;
	char buf[16], pbuf[16];
	int err, users;

	vr_err_clear();
	err = vr_snat_get(h, vrf_id, &old);
	if (err)
		return err;
	if (!addr) {
		if (!old.addr)
			return vr_err(-ENOENT, "VRF %u has no source-NAT address", vrf_id);
		goto write;
	}
	err = vr_vrf_check(h, AF_INET, vrf_id);
	if (!err)
		err = vr_check_unicast("source-NAT address", addr);
	if (err)
		return err;
	if (!port_min && !port_max) {
		port_min = 1024;
		port_max = 65535;
	}
	if (!port_min || port_min > port_max)
		return vr_err(-EINVAL, "port range %u-%u: the ports must be 1..65535 and the first no larger than the "
			      "last", port_min, port_max);
	snat.port_min = port_min;
	snat.port_max = port_max;
	if (!bpf_map_lookup_elem(h->fip_rev_fd, &addr, &fk))
		return vr_err(-EEXIST, "%s is the floating IP of %s in VRF %u; a source-NAT address cannot be one",
			      vr_ip(addr, buf), vr_ip(fk.addr, pbuf), fk.vrf_id);
	/* The address is known as ours before the first packet leaves with it, so that the replies are taken. */
	err = vr_nat_addr_flag(h, addr, VR_NAT_ADDR_SNAT, true);
	if (err)
		return err;
write:
	if (bpf_map_update_elem(h->snat_fd, &vrf_id, &snat, BPF_ANY)) {
		err = vr_err(-errno, "writing the source NAT of VRF %u failed: %s", vrf_id, strerror(errno));
		if (addr && addr != old.addr && vr_snat_users(h, addr, vrf_id, NULL) == 0)
			vr_nat_addr_flag(h, addr, VR_NAT_ADDR_SNAT, false);
		return err;
	}
	/* The old address stays the gateway's while another tenant still leaves with it. Connections already
	 * made with it live on in the table until they expire. */
	if (old.addr && old.addr != addr) {
		users = vr_snat_users(h, old.addr, vrf_id, NULL);
		if (users < 0)
			return users;
		if (!users)
			return vr_nat_addr_flag(h, old.addr, VR_NAT_ADDR_SNAT, false);
	}
	return 0;
}

/* ---- floating IPs ---------------------------------------------------------------------------------- */

int vr_fip_add(struct vr_handle *h, __be32 public_ip, __u32 vrf_id, __be32 private_ip)
{
	struct vr_fip_key key = { .vrf_id = vrf_id, .addr = private_ip }, other;
	char pub[16], priv[16], buf[16];
	__be32 have;
	__u32 flags, user = 0;
	int err;

	vr_err_clear();
	err = vr_vrf_check(h, AF_INET, vrf_id);
	if (!err)
		err = vr_check_unicast("floating IP", public_ip);
	if (!err)
		err = vr_check_unicast("private address", private_ip);
	if (err)
		return err;
	vr_ip(public_ip, pub);
	vr_ip(private_ip, priv);
	if (!bpf_map_lookup_elem(h->fip_rev_fd, &public_ip, &other))
		return vr_err(-EEXIST, "%s is already the floating IP of %s in VRF %u", pub, vr_ip(other.addr, buf),
			      other.vrf_id);
	if (!bpf_map_lookup_elem(h->nat_addrs_fd, &public_ip, &flags) && (flags & VR_NAT_ADDR_SNAT)) {
		vr_snat_users(h, public_ip, VR_MAX_VRFS, &user);
		return vr_err(-EEXIST, "%s is the source-NAT address of VRF %u; a floating IP needs an address of "
			      "its own", pub, user);
	}
	if (!bpf_map_lookup_elem(h->fip_fd, &key, &have))
		return vr_err(-EEXIST, "%s in VRF %u already has floating IP %s", priv, vrf_id, vr_ip(have, buf));
	/* Inbound first (fip_rev, nat_addrs), then outbound (fip): the first translated packet's reply finds
	 * its way back. */
	if (bpf_map_update_elem(h->fip_rev_fd, &public_ip, &key, BPF_NOEXIST)) {
		err = -errno;
		return vr_err(err, "adding floating IP %s failed: %s%s", pub, strerror(-err),
			      err == -E2BIG || err == -ENOSPC ? " (the floating IP table is full)" : "");
	}
	err = vr_nat_addr_flag(h, public_ip, VR_NAT_ADDR_FIP, true);
	if (err)
		goto undo_rev;
	if (bpf_map_update_elem(h->fip_fd, &key, &public_ip, BPF_NOEXIST)) {
		err = -errno;
		err = vr_err(err, "adding floating IP %s for %s in VRF %u failed: %s%s", pub, priv, vrf_id, strerror(-err),
			     err == -E2BIG || err == -ENOSPC ? " (the floating IP table is full)" : "");
		goto undo_addr;
	}
	return 0;
undo_addr:
	vr_nat_addr_flag(h, public_ip, VR_NAT_ADDR_FIP, false);
undo_rev:
	bpf_map_delete_elem(h->fip_rev_fd, &public_ip);
	return err;
}

int vr_fip_del(struct vr_handle *h, __be32 public_ip)
{
	struct vr_fip_key key;
	char pub[16];

	vr_err_clear();
	vr_ip(public_ip, pub);
	if (bpf_map_lookup_elem(h->fip_rev_fd, &public_ip, &key))
		return vr_err(-ENOENT, "%s is not a floating IP", pub);
	/* Outbound stops translating first, then the address stops being ours. */
	if (bpf_map_delete_elem(h->fip_fd, &key) && errno != ENOENT)
		return vr_err(-errno, "removing floating IP %s failed: %s", pub, strerror(errno));
	vr_nat_addr_flag(h, public_ip, VR_NAT_ADDR_FIP, false);
	if (bpf_map_delete_elem(h->fip_rev_fd, &public_ip) && errno != ENOENT)
		return vr_err(-errno, "removing floating IP %s failed: %s", pub, strerror(errno));
	return 0;
}

struct vr_fip_item {
	__be32 pub;
	struct vr_fip_key key;
};

static int vr_fip_cmp(const void *a, const void *b)
{
	__u32 x = ntohl(((const struct vr_fip_item *)a)->pub), y = ntohl(((const struct vr_fip_item *)b)->pub);

	return x < y ? -1 : x > y;
}

/* In the order of the public addresses (the table is small: at most VR_MAX_FIPS). */
int vr_fip_foreach(struct vr_handle *h, vr_fip_cb cb, void *arg)
{
	__be32 key, next, *prev = NULL;
	struct vr_fip_item *items = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	while (!bpf_map_get_next_key(h->fip_rev_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (n == cap) {
			struct vr_fip_item *p = realloc(items, (cap = cap ? cap * 2 : 64) * sizeof(*items));

			if (!p) {
				free(items);
				return vr_err(-ENOMEM, "out of memory");
			}
			items = p;
		}
		if (bpf_map_lookup_elem(h->fip_rev_fd, &key, &items[n].key))
			continue;
		items[n++].pub = key;
	}
	if (n)
		qsort(items, n, sizeof(*items), vr_fip_cmp);
	for (size_t i = 0; i < n && !err; i++)
		err = cb(items[i].pub, &items[i].key, arg);
	free(items);
	return err;
}

/* ---- the connection table -------------------------------------------------------------------------- */

/* The key of the other direction of a connection (vr_types.h): from the outbound entry, the reply as it
 * arrives (remote -> public address/port, VRF 0); from the inbound one, the VM's packet. ICMP echo follows
 * the same rule: its identifier is sport outbound and dport inbound, the other port 0. */
static void vr_nat_peer_key(const struct vr_nat_key *k, const struct vr_nat_entry *e, struct vr_nat_key *peer)
{
	memset(peer, 0, sizeof(*peer));
	peer->proto = k->proto;
	if (k->dir == VR_NAT_OUT) {
		peer->dir = VR_NAT_IN;
		peer->src = k->dst;
		peer->sport = k->dport;
		peer->dst = e->addr;
		peer->dport = e->port;
		peer->vrf_id = 0;
	} else {
		peer->dir = VR_NAT_OUT;
		peer->src = e->addr;
		peer->sport = e->port;
		peer->dst = k->src;
		peer->dport = k->sport;
		peer->vrf_id = e->vrf_id;
	}
}

/* Seconds an entry may stay idle in its state (nat_config, defaults where 0). */
static __u32 vr_nat_timeout(const struct vr_nat_config *cfg, __u8 proto, __u8 state)
{
	switch (proto) {
	case IPPROTO_TCP:
		if (state == VR_NAT_S_ESTABLISHED)
			return vr_timeout_or(cfg->timeout_tcp, VR_NAT_TIMEOUT_TCP);
		return vr_timeout_or(cfg->timeout_tcp_transitory, VR_NAT_TIMEOUT_TCP_TRANSITORY);
	case IPPROTO_ICMP:
		return vr_timeout_or(cfg->timeout_icmp, VR_NAT_TIMEOUT_ICMP);
	default:
		return vr_timeout_or(cfg->timeout_udp, VR_NAT_TIMEOUT_UDP);
	}
}

struct vr_nat_clock {
	struct vr_nat_config cfg;
	__u64 now;
	__u64 hz;
};

static int vr_nat_clock(struct vr_handle *h, struct vr_nat_clock *c)
{
	int err = vr_gateway_get(h, &c->cfg);

	if (!err)
		err = vr_jiffies_now(&c->now);
	c->hz = (__u64)vr_kernel_hz();
	return err;
}

/* Expired (idle longer than the timeout of its state), else *ttl gets the seconds left, rounded up. A
 * last_seen ahead of now (stamped on another CPU a tick later) counts as now. */
static bool vr_nat_expired(const struct vr_nat_clock *c, const struct vr_nat_key *k, const struct vr_nat_entry *e,
			   __u32 *ttl)
{
	__u64 limit = (__u64)vr_nat_timeout(&c->cfg, k->proto, e->state) * c->hz;
	__u64 age = c->now > e->last_seen ? c->now - e->last_seen : 0;

	if (age > limit) {
		*ttl = 0;
		return true;
	}
	*ttl = (__u32)((limit - age + c->hz - 1) / c->hz);
	return false;
}

/* Walk the table in batches of lookups; cb sees each entry and may not change the table. */
typedef int (*vr_nat_walk_cb)(const struct vr_nat_key *k, const struct vr_nat_entry *e, void *arg);

/* vr_nat_walk's typed callback, carried through vr_map_walk. */
struct vr_nat_walk_ctx {
	vr_nat_walk_cb cb;
	void *arg;
};

static int vr_nat_walk_entry(const void *key, const void *val, void *arg)
{
	const struct vr_nat_walk_ctx *c = arg;

	return c->cb(key, val, c->arg);
}

static int vr_nat_walk(struct vr_handle *h, vr_nat_walk_cb cb, void *arg)
{
	struct vr_nat_walk_ctx c = { .cb = cb, .arg = arg };

	return vr_map_walk(h->nat_fd, sizeof(struct vr_nat_key), sizeof(struct vr_nat_entry),
			   "NAT connection table", vr_nat_walk_entry, &c);
}

static int vr_nat_count_cb(const struct vr_nat_key *k, const struct vr_nat_entry *e, void *arg)
{
	(void)k;
	(void)e;
	++*(__u32 *)arg;
	return 0;
}

int vr_nat_usage(struct vr_handle *h, __u32 *entries, __u32 *max_entries)
{
	vr_err_clear();
	*entries = 0;
	*max_entries = vr_map_max_entries(h->nat_fd);
	return vr_nat_walk(h, vr_nat_count_cb, entries);
}

struct vr_nat_list {
	struct vr_handle *h;
	struct vr_nat_clock clk;
	vr_nat_cb cb;
	void *arg;
};

/* One connection per outbound entry, its inbound entry looked up (zero if the datapath has not written it
 * or it is gone). An inbound entry without its outbound one is no connection to list; the sweep takes it. */
static int vr_nat_list_cb(const struct vr_nat_key *k, const struct vr_nat_entry *e, void *arg)
{
	struct vr_nat_list *l = arg;
	struct vr_nat_conn c = {};

	if (k->dir != VR_NAT_OUT)
		return 0;
	c.out_key = *k;
	c.out = *e;
	vr_nat_peer_key(k, e, &c.in_key);
	if (bpf_map_lookup_elem(l->h->nat_fd, &c.in_key, &c.in))
		memset(&c.in, 0, sizeof(c.in));
	c.expired = vr_nat_expired(&l->clk, k, e, &c.ttl);
	return l->cb(&c, l->arg);
}

int vr_nat_foreach(struct vr_handle *h, vr_nat_cb cb, void *arg)
{
	struct vr_nat_list l = { .h = h, .cb = cb, .arg = arg };
	int err;

	vr_err_clear();
	err = vr_nat_clock(h, &l.clk);
	return err ? err : vr_nat_walk(h, vr_nat_list_cb, &l);
}

/* The sweep: the outbound keys of expired connections and the orphans, collected first (the walk must not
 * see the table change under it), then each checked again and deleted. */
struct vr_nat_sweep {
	struct vr_handle *h;
	struct vr_nat_clock clk;
	struct vr_nat_key *keys;
	size_t n, cap;
};

static int vr_nat_sweep_cb(const struct vr_nat_key *k, const struct vr_nat_entry *e, void *arg)
{
	struct vr_nat_sweep *s = arg;
	struct vr_nat_entry peer;
	struct vr_nat_key pk;
	__u32 ttl;

	if (k->dir == VR_NAT_OUT) {
		if (!vr_nat_expired(&s->clk, k, e, &ttl))
			return 0;
	} else {
		/* An inbound entry goes with its outbound one; alone, it goes when its own stamp is old. */
		vr_nat_peer_key(k, e, &pk);
		if (!bpf_map_lookup_elem(s->h->nat_fd, &pk, &peer) || !vr_nat_expired(&s->clk, k, e, &ttl))
			return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct vr_nat_key *p = realloc(s->keys, cap * sizeof(*p));

		if (!p)
			return vr_err(-ENOMEM, "out of memory");
		s->keys = p;
		s->cap = cap;
	}
	s->keys[s->n++] = *k;
	return 0;
}

int vr_nat_gc(struct vr_handle *h)
{
	struct vr_nat_sweep s = { .h = h };
	int err, removed = 0;

	vr_err_clear();
	err = vr_nat_clock(h, &s.clk);
	if (!err)
		err = vr_nat_walk(h, vr_nat_sweep_cb, &s);
	for (size_t i = 0; i < s.n && !err; i++) {
		struct vr_nat_key *k = &s.keys[i], pk;
		struct vr_nat_entry e, peer;
		__u32 ttl;

		/* Read again: a packet may have revived it (or the datapath reused the pair) since the walk. The
		 * window left, between this read and the delete, is a system call wide; a connection lost in it
		 * is recreated by its next outbound packet. */
		if (bpf_map_lookup_elem(h->nat_fd, k, &e) || !vr_nat_expired(&s.clk, k, &e, &ttl))
			continue;
		vr_nat_peer_key(k, &e, &pk);
		if (k->dir == VR_NAT_IN && !bpf_map_lookup_elem(h->nat_fd, &pk, &peer))
			continue;
		if (bpf_map_delete_elem(h->nat_fd, k)) {
			if (errno != ENOENT)
				err = vr_err(-errno, "removing a NAT entry failed: %s", strerror(errno));
			continue;
		}
		/* Outbound: its reply direction goes with it. */
		if (k->dir == VR_NAT_OUT)
			bpf_map_delete_elem(h->nat_fd, &pk);
		removed++;
	}
	free(s.keys);
	return err ? err : removed;
}
