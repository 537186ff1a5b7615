/* Loading, pinning, attaching and unloading the datapath, and opening a pinned instance.
 * Everything lives under one bpffs folder so that the datapath outlives every user-space process and any
 * of them (vrouterctl, the agent) can pick it up again. A reload over a running datapath reuses the pinned
 * maps and swaps programs under the existing links with bpf_link_update, so forwarding never stops. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "vr_internal.h"
#include "vrouter.skel.h"

#define VR_BPFFS_ROOT "/sys/fs/bpf"

int vr_pin_path(char *out, size_t len, const char *pin_dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", pin_dir, name);

	if (n < 0 || (size_t)n >= len)
		return vr_err(-ENAMETOOLONG, "pin path %s/%s is too long", pin_dir, name);
	return 0;
}

static bool vr_is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

/* The pin dir's parent must be on bpffs; mount bpffs on /sys/fs/bpf if that is where it should be. */
static int vr_ensure_bpffs(const char *pin_dir)
{
	char parent[PATH_MAX];
	char *slash;

	if (snprintf(parent, sizeof(parent), "%s", pin_dir) >= (int)sizeof(parent))
		return vr_err(-ENAMETOOLONG, "pin dir %s is too long", pin_dir);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return vr_err(-EINVAL, "pin dir %s must be a folder inside a bpffs mount", pin_dir);
	*slash = '\0';
	if (vr_is_bpffs(parent))
		return 0;
	if (strcmp(parent, VR_BPFFS_ROOT) == 0) {
		if (mount("bpf", VR_BPFFS_ROOT, "bpf", 0, "mode=0700") == 0 && vr_is_bpffs(parent))
			return 0;
		return vr_err(-errno, "bpffs is not mounted on %s and mounting it failed: %s", VR_BPFFS_ROOT,
			      strerror(errno));
	}
	return vr_err(-ENOTSUP, "%s is not on a bpffs mount (mount -t bpf bpf %s)", parent, parent);
}

static int vr_check_root(void)
{
	if (geteuid() != 0)
		return vr_err(-EPERM, "loading the datapath needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN)");
	return 0;
}

/* Reuse a map pinned by an earlier load if it has the same shape; libbpf's own check would refuse the
 * devmap, whose flags the kernel amends (BPF_F_RDONLY_PROG) after creation. */
static int vr_map_reuse(struct bpf_map *map, const char *path, bool *reused)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd, err = 0;

	*reused = false;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : vr_err(-errno, "cannot open %s: %s", path, strerror(errno));
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = vr_err(-errno, "cannot inspect %s: %s", path, strerror(errno));
	} else if (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
		   info.value_size != bpf_map__value_size(map) || info.max_entries != bpf_map__max_entries(map) ||
		   (info.map_flags & ~BPF_F_RDONLY_PROG) != (bpf_map__map_flags(map) & ~BPF_F_RDONLY_PROG)) {
		err = vr_err(-EINVAL, "the pinned map %s has another layout (an older version?); run 'vrouterctl "
			     "unload' first", path);
	} else if (bpf_map__reuse_fd(map, fd)) {
		err = vr_err(-errno, "reusing %s failed: %s", path, strerror(errno));
	} else {
		*reused = true;
	}
	close(fd);
	return err;
}

static int vr_pin_prog(const char *pin_dir, const char *name, struct bpf_program *prog)
{
	char path[PATH_MAX];
	int err = vr_pin_path(path, sizeof(path), pin_dir, name);

	if (err)
		return err;
	unlink(path);
	if (bpf_obj_pin(bpf_program__fd(prog), path))
		return vr_err(-errno, "pinning %s failed: %s", path, strerror(errno));
	return 0;
}

/* Re-attach every vif to the freshly pinned programs (after a reload): links and filters are replaced in
 * place, so no packet meets an empty hook. */
static int vr_reattach_vifs(const char *pin_dir, int vifs_fd)
{
	__u32 key, next, *prev = NULL;
	struct vr_vif vif;
	int err = 0;

	while (!bpf_map_get_next_key(vifs_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(vifs_fd, &key, &vif))
			continue;
		if (vr_vif_attach(pin_dir, &vif) && !err)
			err = -EIO; /* keep going: re-attach as many as we can, report the first failure */
	}
	return err;
}

static int vr_remove_pins(const char *pin_dir);

/* The NAT connection table's size: what the caller asks on the first load; a pinned table keeps its own (its
 * connections live on across reloads). */
static int vr_nat_size(struct bpf_map *map, const char *path, __u32 want)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);

	if (fd >= 0) {
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.max_entries)
			want = info.max_entries;
		close(fd);
	}
	if (!want)
		return 0;
	if (want < 2 || want > VR_MAX_NAT_ENTRIES)
		return vr_err(-EINVAL, "nat-entries %u is outside 2..%u (two entries per connection)", want,
			      VR_MAX_NAT_ENTRIES);
	if (bpf_map__set_max_entries(map, want))
		return vr_err(-EINVAL, "sizing the NAT table failed");
	return 0;
}

/* The gateway program (vr_ext_xdp) is pinned like the others; a running gateway gets it under its link in
 * place. A datapath built without it has no pin, and vr_gateway_set says so. */
static int vr_ext_pin(const char *pin_dir, struct vrouter *skel)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(skel->obj, "vr_ext_xdp");
	struct vr_nat_config nc = {};
	char path[PATH_MAX];
	__u32 zero = 0;
	int err;

	if (!prog) {
		if (!vr_pin_path(path, sizeof(path), pin_dir, VR_PIN_PROG_EXT))
			unlink(path);
		return 0;
	}
	err = vr_pin_prog(pin_dir, VR_PIN_PROG_EXT, prog);
	if (err)
		return err;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.vr_nat_config), &zero, &nc) || !nc.ext_ifindex ||
	    vr_pin_path(path, sizeof(path), pin_dir, VR_PIN_LINK_EXT) || access(path, F_OK))
		return 0;
	return vr_xdp_link_attach(pin_dir, VR_PIN_LINK_EXT, bpf_program__fd(prog), (int)nc.ext_ifindex);
}

/* Empty every slot of the underlay next-hop cache (a per-CPU array): one batch of zeroed values. */
static void vr_underlay_flush(int fd)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int ncpus = libbpf_num_possible_cpus();
	__u32 *keys = calloc(VR_UNDERLAY_SLOTS, sizeof(*keys)), count = VR_UNDERLAY_SLOTS;
	void *vals = ncpus > 0 ? calloc((size_t)VR_UNDERLAY_SLOTS * ncpus, sizeof(struct vr_underlay)) : NULL;

	if (keys && vals) {
		for (__u32 i = 0; i < VR_UNDERLAY_SLOTS; i++)
			keys[i] = i;
		bpf_map_update_batch(fd, keys, vals, &count, &opts);
	}
	free(keys);
	free(vals);
}

int vr_load(const char *pin_dir, const struct vr_load_opts *opts)
{
	char kconfig[32];
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .kconfig = kconfig);
	static const __u8 default_mac[6] = VR_DEFAULT_MAC;
	struct vr_config cfg = {}, old = {};
	char path[PATH_MAX];
	struct vrouter *skel;
	struct bpf_map *map;
	__u32 zero = 0;
	int ifindex, err, reused_maps = 0;

	vr_err_clear();
	err = vr_check_root();
	/* Before anything is created: an old kernel is told what it lacks, not a verifier log. */
	if (!err)
		err = vr_kernel_check();
	if (!err)
		err = vr_ensure_bpffs(pin_dir);
	if (err)
		return err;
	if (mkdir(pin_dir, 0700) && errno != EEXIST)
		return vr_err(-errno, "cannot create %s: %s", pin_dir, strerror(errno));

	/* The datapath reads CONFIG_HZ (its underlay cache lives a second, counted in jiffies). Given here from the
	 * coarse clock's resolution (one tick), so no kernel config file has to exist on the host. */
	snprintf(kconfig, sizeof(kconfig), "CONFIG_HZ=%ld\n", vr_kernel_hz());
	skel = vrouter__open_opts(&open_opts);
	if (!skel)
		return vr_err(-errno, "opening the BPF object failed: %s", strerror(errno));
	bpf_object__for_each_map(map, skel->obj) {
		const char *name = bpf_map__name(map);
		bool reused;

		if (strchr(name, '.')) /* .rodata etc. and the inner map template are not pinned */
			continue;
		err = vr_pin_path(path, sizeof(path), pin_dir, name);
		if (!err && map == skel->maps.vr_nat)
			err = vr_nat_size(map, path, opts->nat_entries);
		if (!err)
			err = vr_map_reuse(map, path, &reused);
		if (err)
			goto out;
		reused_maps += reused;
		/* New maps get pinned by libbpf at load time. */
		if (!reused && bpf_map__set_pin_path(map, path)) {
			err = vr_err(-EINVAL, "setting the pin path of %s failed", name);
			goto out;
		}
	}
	err = vrouter__load(skel);
	if (err) {
		err = vr_err(err, "loading the datapath failed (%s); if the pins under %s come from an "
			     "incompatible version, run 'vrouterctl unload' first (-v shows the verifier log)",
			     strerror(-err), pin_dir);
		goto out;
	}

	/* Settings: what the caller gives, else what a previous load configured, else defaults. */
	bpf_map_lookup_elem(bpf_map__fd(skel->maps.vr_config), &zero, &old);
	cfg = old;
	if (opts->host_ip)
		cfg.host_ip = opts->host_ip;
	if (opts->mac_set)
		memcpy(cfg.vr_mac, opts->mac, 6);
	else if (!old.host_ip)
		memcpy(cfg.vr_mac, default_mac, 6);
	cfg.udp_port = opts->udp_port ? opts->udp_port : (old.udp_port ? old.udp_port : VR_MPLS_UDP_PORT);
	if (opts->fabric_mode == VR_FABRIC_TC)
		cfg.flags |= VR_CFG_F_FABRIC_TC;
	else if (opts->fabric_mode == VR_FABRIC_XDP)
		cfg.flags &= ~VR_CFG_F_FABRIC_TC;
	if (!cfg.hash_seed && getrandom(&cfg.hash_seed, sizeof(cfg.hash_seed), 0) != sizeof(cfg.hash_seed))
		cfg.hash_seed = (__u32)getpid() * 2654435761u;

	if (opts->fabric) {
		ifindex = if_nametoindex(opts->fabric);
		if (!ifindex) {
			err = vr_err(-ENODEV, "fabric device %s does not exist", opts->fabric);
			goto out;
		}
		cfg.fabric_ifindex = ifindex;
		/* bpf_fib_lookup works only on devices with IPv4 forwarding enabled. */
		err = vr_dev_sysctl(opts->fabric, "forwarding", "1");
		if (!err)
			err = vr_dev_gro_on(opts->fabric);
		if (err)
			goto out;
	}
	if (!cfg.fabric_ifindex || !cfg.host_ip) {
		err = vr_err(-EINVAL, "the first load needs the fabric device and the host's underlay address");
		goto out;
	}
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.vr_config), &zero, &cfg, BPF_ANY)) {
		err = vr_err(-errno, "writing the configuration failed: %s", strerror(errno));
		goto out;
	}
	/* The fabric is slot 0 of the redirect map (vif ids start at 1). */
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.vr_tx), &zero, &cfg.fabric_ifindex, BPF_ANY)) {
		err = vr_err(-errno, "adding the fabric device to the redirect map failed: %s", strerror(errno));
		goto out;
	}
	/* New programs: every route cache slot filled before is stale. */
	vr_route_gen_bump(bpf_map__fd(skel->maps.vr_route_gen));
	/* The fabric or the host address may have changed: resolve every underlay next hop afresh. */
	vr_underlay_flush(bpf_map__fd(skel->maps.vr_underlay));

	err = vr_pin_prog(pin_dir, VR_PIN_PROG_VIF, skel->progs.vr_vif_xdp);
	if (!err)
		err = vr_pin_prog(pin_dir, VR_PIN_PROG_FABRIC, skel->progs.vr_fabric_xdp);
	if (!err)
		err = vr_pin_prog(pin_dir, VR_PIN_PROG_VIF_TC, skel->progs.vr_vif_tc);
	if (!err)
		err = vr_pin_prog(pin_dir, VR_PIN_PROG_FABRIC_TC, skel->progs.vr_fabric_tc);
	/* TC first: from the moment XDP hands frames over, the TC side must be there to take them. */
	if (!err)
		err = vr_tc_attach((int)cfg.fabric_ifindex, bpf_program__fd(skel->progs.vr_fabric_tc));
	if (!err && (cfg.flags & VR_CFG_F_FABRIC_TC))
		err = vr_xdp_link_detach(pin_dir, VR_PIN_LINK_FABRIC);
	else if (!err)
		err = vr_xdp_link_attach(pin_dir, VR_PIN_LINK_FABRIC, bpf_program__fd(skel->progs.vr_fabric_xdp),
					 (int)cfg.fabric_ifindex);
	if (!err)
		err = vr_reattach_vifs(pin_dir, bpf_map__fd(skel->maps.vr_vifs));
	if (!err)
		err = vr_ext_pin(pin_dir, skel);
out:
	vrouter__destroy(skel);
	/* A failed first load leaves nothing behind; a failed reload leaves the running instance alone. */
	if (err && !reused_maps) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", vr_strerror());
		vr_remove_pins(pin_dir);
		vr_err(err, "%s", msg);
	}
	return err;
}

/* TC filters are not pinned objects: find their devices in the pinned maps and detach them. */
static void vr_detach_tc_all(const char *pin_dir)
{
	char path[PATH_MAX];
	struct vr_config cfg;
	__u32 key, next, *prev = NULL, zero = 0;
	struct vr_vif vif;
	int fd;

	if (!vr_pin_path(path, sizeof(path), pin_dir, "vr_vifs") && (fd = bpf_obj_get(path)) >= 0) {
		while (!bpf_map_get_next_key(fd, prev, &next)) {
			key = next;
			prev = &key;
			if (!bpf_map_lookup_elem(fd, &key, &vif))
				vr_vif_detach(pin_dir, &vif);
		}
		close(fd);
	}
	if (!vr_pin_path(path, sizeof(path), pin_dir, "vr_config") && (fd = bpf_obj_get(path)) >= 0) {
		if (!bpf_map_lookup_elem(fd, &zero, &cfg) && cfg.fabric_ifindex)
			vr_tc_detach((int)cfg.fabric_ifindex);
		close(fd);
	}
}

static int vr_remove_pins(const char *pin_dir)
{
	struct dirent *de;
	DIR *d;

	vr_detach_tc_all(pin_dir);
	d = opendir(pin_dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return vr_err(-errno, "cannot read %s: %s", pin_dir, strerror(errno));
	}
	/* Links first, so that no program runs against maps that are going away. */
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, "link_", 5))
			vr_xdp_link_detach(pin_dir, de->d_name);
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		char path[PATH_MAX];

		if (de->d_name[0] == '.' || vr_pin_path(path, sizeof(path), pin_dir, de->d_name))
			continue;
		unlink(path);
	}
	closedir(d);
	if (rmdir(pin_dir) && errno != ENOENT)
		return vr_err(-errno, "cannot remove %s: %s", pin_dir, strerror(errno));
	return 0;
}

int vr_unload(const char *pin_dir)
{
	int err;

	vr_err_clear();
	err = vr_check_root();
	if (err)
		return err;
	return vr_remove_pins(pin_dir);
}

static int vr_open_map(const char *pin_dir, const char *name, int *fd)
{
	char path[PATH_MAX];
	int err = vr_pin_path(path, sizeof(path), pin_dir, name);

	if (err)
		return err;
	*fd = bpf_obj_get(path);
	if (*fd < 0)
		return vr_err(-errno, "cannot open %s: %s", path, strerror(errno));
	return 0;
}

void vr_route_gen_bump(int fd)
{
	__u32 zero = 0, gen = 0;

	bpf_map_lookup_elem(fd, &zero, &gen);
	if (!++gen)
		gen = 1;
	bpf_map_update_elem(fd, &zero, &gen, BPF_ANY);
}

int vr_open(const char *pin_dir, struct vr_handle *h)
{
	struct {
		const char *name;
		int *fd;
	} maps[] = {
		{ "vr_vifs", &h->vifs_fd },	      { "vr_vrf4", &h->vrf4_fd },   { "vr_nexthops", &h->nexthops_fd },
		{ "vr_labels", &h->labels_fd },	      { "vr_tx", &h->tx_fd },	    { "vr_config", &h->config_fd },
		{ "vr_vif_stats", &h->vif_stats_fd }, { "vr_drops", &h->drops_fd }, { "vr_events", &h->events_fd },
		{ "vr_host4", &h->host4_fd },	      { "vr_underlay", &h->underlay_fd },
		{ "vr_vif_slots", &h->vif_slots_fd }, { "vr_route_gen", &h->route_gen_fd },
		{ "vr_endpoints", &h->endpoints_fd }, { "vr_endpoint_slots", &h->endpoint_slots_fd },
		{ "vr_ecmp", &h->ecmp_fd },	      { "vr_vrf6", &h->vrf6_fd },   { "vr_host6", &h->host6_fd },
		{ "vr_nat_config", &h->nat_config_fd }, { "vr_snat", &h->snat_fd }, { "vr_fip", &h->fip_fd },
		{ "vr_fip_rev", &h->fip_rev_fd },     { "vr_nat_addrs", &h->nat_addrs_fd }, { "vr_nat", &h->nat_fd },
	};
	int err;

	vr_err_clear();
	memset(h, 0, sizeof(*h));
	h->dir_fd = -1;
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		*maps[i].fd = -1;
	if (snprintf(h->pin_dir, sizeof(h->pin_dir), "%s", pin_dir) >= (int)sizeof(h->pin_dir))
		return vr_err(-ENAMETOOLONG, "pin dir %s is too long", pin_dir);
	h->dir_fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->dir_fd < 0) {
		err = -errno;
		if (err == -ENOENT)
			return vr_err(err, "the datapath is not loaded (%s does not exist); run 'vrouterctl load'", pin_dir);
		return vr_err(err, "cannot open %s: %s", pin_dir, strerror(-err));
	}
	if (flock(h->dir_fd, LOCK_EX)) {
		err = vr_err(-errno, "cannot lock %s: %s", pin_dir, strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		err = vr_open_map(pin_dir, maps[i].name, maps[i].fd);
		if (err)
			goto fail;
	}
	h->ncpus = libbpf_num_possible_cpus();
	if (h->ncpus <= 0) {
		err = vr_err(h->ncpus ? h->ncpus : -EINVAL, "cannot count the possible CPUs");
		goto fail;
	}
	return 0;
fail:
	vr_close(h);
	return err;
}

void vr_unlock(struct vr_handle *h)
{
	if (h->dir_fd >= 0)
		flock(h->dir_fd, LOCK_UN);
}

void vr_close(struct vr_handle *h)
{
	vr_nh_cache_free(h);
	vr_label_cache_free(h);
	vr_vif_ids_free(h);
	vr_endpoint_pending_free(h);
	int *fds[] = { &h->vifs_fd,	 &h->vrf4_fd,	    &h->host4_fd, &h->nexthops_fd, &h->labels_fd,
		       &h->tx_fd,	 &h->config_fd,	    &h->vif_stats_fd, &h->drops_fd,  &h->events_fd,
		       &h->underlay_fd, &h->vif_slots_fd, &h->route_gen_fd, &h->endpoints_fd,
		       &h->endpoint_slots_fd, &h->ecmp_fd, &h->vrf6_fd, &h->host6_fd, &h->nat_config_fd, &h->snat_fd,
		       &h->fip_fd, &h->fip_rev_fd, &h->nat_addrs_fd, &h->nat_fd, &h->dir_fd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int vr_config_get(struct vr_handle *h, struct vr_config *cfg)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(h->config_fd, &zero, cfg))
		return vr_err(-errno, "reading the configuration failed: %s", strerror(errno));
	return 0;
}
