/* bench_scale: the datapath configured at full scale at once, and still forwarding.
 *
 *   4,096 VRFs (each with its own per-VRF label), 65,536 vifs (real devices: veth ends, TC attached, each with
 *   its own label and /32 route), 1,000,000 routes in all (934,464 /32 routes to remote VMs over 500,000
 *   remote-VM nexthops, besides the vifs' 65,536), and every usable MPLS label of the
 *   1,048,576-entry table bound (16..1,048,575: the vifs' and VRFs' own, the rest bound explicitly).
 *
 * Then the programs are run on that state with BPF_PROG_TEST_RUN and the exact bytes checked: a VM's packet to
 * a remote VM (encap, the route found among a million), fabric -> VM by the last label of the table, fabric ->
 * VM by a per-VRF label, and VM -> VM between two vifs of one VRF. Every step is timed and the kernel memory
 * of each map (memlock, /proc/self/fdinfo) is reported; JSON goes to the file named by -o.
 *
 * Runs in a network namespace of its own and a pin folder of its own; removes both on exit.
 * Usage: bench_scale [-o FILE.json] [-v VIFS] [-r ROUTES]   (root; defaults 65536 and 1000000) */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "libvrouter.h"
#include "pkt.h"

#define NVRFS 4096
#define HOST_IP IP4(198, 18, 0, 1)
#define NBR_IP IP4(198, 18, 0, 2)
#define REMOTE_NET IP4(198, 19, 0, 0) /* remote hosts 198.19.0.1 .. : routed via NBR_IP */
#define REMOTES 250
#define ROUTE_NET IP4(10, 128, 0, 0)  /* remote VMs: 10.128.0.0 + i */
#define VM_NET IP4(10, 64, 0, 0)      /* local VMs: 10.64.0.0 + vif index + 1 */

static const uint8_t nbr_mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x02 };
static const uint8_t vr_mac[6] = { 0x00, 0x00, 0x5e, 0x00, 0x01, 0x00 };

static char pin_dir[128];
static struct vr_handle h;
static bool opened, loaded;
static int n_ok, n_fail;
static FILE *json;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd) ? -1 : 0;
}

static void check(bool ok, const char *what, const char *detail)
{
	if (ok) {
		n_ok++;
		printf("ok %s\n", what);
	} else {
		n_fail++;
		printf("FAIL %s%s%s\n", what, detail && *detail ? ": " : "", detail ? detail : "");
	}
}

static void mac_of(uint32_t i, uint8_t mac[6])
{
	uint8_t m[6] = { 0x02, 0x01, (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };

	memcpy(mac, m, 6);
}

static void vif_name(uint32_t i, char buf[IFNAMSIZ])
{
	snprintf(buf, IFNAMSIZ, "s%u%c", i / 2, i % 2 ? 'b' : 'a');
}

static void step(const char *name, double t0, const char *extra)
{
	double dt = now_s() - t0;

	printf("  %-44s %8.2f s%s%s\n", name, dt, extra ? "  " : "", extra ? extra : "");
	if (json)
		fprintf(json, "%s\"%s_s\": %.3f", ftell(json) > 2 ? ",\n  " : "", name, dt);
}

/* Kernel memory of a map (the memlock line of its fdinfo). */
static long long map_memlock(int fd)
{
	char path[64], line[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Run an XDP program once on frame in with ingress ifindex; returns the verdict, out filled. */
static int xdp_run(int prog, int ifindex, const struct pkt *in, struct pkt *out)
{
	struct xdp_md ctx = { .data_end = (__u32)in->len, .ingress_ifindex = (__u32)ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->b, .data_size_in = (__u32)in->len, .data_out = out->b,
		    .data_size_out = sizeof(out->b), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (bpf_prog_test_run_opts(prog, &o))
		return -1;
	out->len = o.data_size_out;
	return (int)o.retval;
}

/* Ethernet + IPv4 + UDP (8 bytes of payload) from src to dst. */
static void udp_frame(struct pkt *p, const uint8_t dmac[6], const uint8_t smac[6], uint32_t src, uint32_t dst,
		      uint8_t ttl)
{
	struct ipv4_spec ip = { .ttl = ttl, .proto = IPPROTO_UDP_, .src = src, .dst = dst };
	size_t ipo, udpo;

	pkt_init(p);
	pkt_eth(p, dmac, smac, ETHTYPE_IP);
	ipo = pkt_ipv4(p, &ip);
	udpo = pkt_udp(p, 4000, 5000);
	pkt_payload(p, 8, 7);
	pkt_udp_end(p, ipo, udpo, true);
	pkt_ipv4_end(p, ipo);
}

/* The inner IPv4 packet of a frame at off, compared with want's IPv4 packet (TTL one lower). */
static bool inner_matches(const struct pkt *got, size_t off, const struct pkt *want)
{
	struct pkt w = *want;

	if (got->len != off + want->len - ETH_HLEN_)
		return false;
	w.b[ETH_HLEN_ + 8]--;
	pkt_ipv4_csum(&w, ETH_HLEN_);
	return !memcmp(got->b + off, w.b + ETH_HLEN_, want->len - ETH_HLEN_);
}

static int prog_fd(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	return bpf_obj_get(path);
}

static void forwarding_checks(__u32 nvifs, __u32 nroutes, const struct vr_vif *last, const struct vr_vif *peer)
{
	int vif_prog = prog_fd("prog_vr_vif_xdp"), fab_prog = prog_fd("prog_vr_fabric_xdp");
	struct pkt in, out, dec;
	uint8_t vm_mac[6];
	char d[160];
	int v;

	if (vif_prog < 0 || fab_prog < 0) {
		check(false, "programs pinned", strerror(errno));
		return;
	}
	mac_of(nvifs - 1, vm_mac);
	/* 1. The last vif's VM sends to a remote VM of its VRF: the route is one of the million. */
	{
		__u32 i = nroutes - 1 - (nroutes - 1) % NVRFS + last->vrf_id;
		uint32_t dst, remote, label;

		if (i >= nroutes)
			i -= NVRFS;
		dst = ROUTE_NET + i;
		remote = REMOTE_NET + 1 + i % REMOTES;
		label = 16 + i % 500000;
		udp_frame(&in, vr_mac, vm_mac, ntohl(last->ip), dst, 64);
		v = xdp_run(vif_prog, (int)last->ifindex, &in, &out);
		snprintf(d, sizeof(d), "verdict %d, %zu bytes, outer dst %08x label %u", v, out.len,
			 out.len >= 34 ? pkt_get32(&out, 30) : 0, out.len >= 46 ? pkt_get32(&out, 42) >> 12 : 0);
		check(v == XDP_REDIRECT && out.len == in.len + 32 && !memcmp(out.b, nbr_mac, 6) &&
			      pkt_get32(&out, 26) == HOST_IP && pkt_get32(&out, 30) == remote &&
			      pkt_get16(&out, 36) == 6635 && pkt_get32(&out, 42) >> 12 == label &&
			      inner_matches(&out, ETH_HLEN_ + 32, &in),
		      "encap from the last vif to a route among the million: outer header and inner packet exact", d);
	}
	/* 2. Fabric -> the last vif by the table's last label (an explicit binding), and by its VRF's label (the
	 *    inner destination is looked up in the VRF and found among its host routes). */
	{
		__u32 labels[2] = { VR_MAX_LABELS - 1, 16 + nvifs + last->vrf_id };
		const char *what[2] = { "decap by label 1048575 (the table's last, bound to a vif): inner packet exact",
					"decap by a per-VRF label, inner destination looked up: inner packet exact" };

		for (int k = 0; k < 2; k++) {
			size_t ipo, udpo;

			udp_frame(&dec, vm_mac, vr_mac, REMOTE_NET + 1 + 3, ntohl(last->ip), 64); /* the inner packet */
			pkt_init(&in);
			pkt_eth(&in, (uint8_t[6]){ 0x02, 0x00, 0x5e, 0x00, 0x00, 0x01 }, nbr_mac, ETHTYPE_IP);
			/* From one of the remote hosts (a known tunnel endpoint), through the neighbour router. */
			ipo = pkt_ipv4(&in, &(struct ipv4_spec){ .ttl = 64, .proto = IPPROTO_UDP_, .frag = IP_DF_,
								 .src = REMOTE_NET + 1 + 3, .dst = HOST_IP });
			udpo = pkt_udp(&in, 50000, 6635);
			pkt_mpls(&in, labels[k], 0, true, 64);
			pkt_bytes(&in, dec.b + ETH_HLEN_, dec.len - ETH_HLEN_);
			pkt_udp_end(&in, ipo, udpo, false);
			pkt_ipv4_end(&in, ipo);
			v = xdp_run(fab_prog, 0, &in, &out);
			snprintf(d, sizeof(d), "label %u: verdict %d, %zu bytes", labels[k], v, out.len);
			/* Delivered as the VM sees it: its MAC, from the vRouter's, the inner packet untouched. */
			check(v == XDP_REDIRECT && out.len == dec.len && !memcmp(out.b, vm_mac, 6) &&
				      !memcmp(out.b + 6, vr_mac, 6) && !memcmp(out.b + 12, dec.b + 12, dec.len - 12),
			      what[k], d);
		}
	}
	/* 3. VM -> VM inside one VRF: from the last vif to the vif NVRFS before it (same VRF). */
	{
		uint8_t peer_mac[6];

		mac_of(nvifs - 1 - NVRFS, peer_mac);
		udp_frame(&in, vr_mac, vm_mac, ntohl(last->ip), ntohl(peer->ip), 64);
		v = xdp_run(vif_prog, (int)last->ifindex, &in, &out);
		snprintf(d, sizeof(d), "verdict %d, %zu bytes", v, out.len);
		/* vif in mode tc: the XDP program hands the frame to TC with 8 bytes of metadata in front. */
		check((v == XDP_REDIRECT || v == XDP_PASS) && out.len >= in.len && !memcmp(out.b + out.len - in.len, peer_mac, 6) &&
			      inner_matches(&out, out.len - in.len + ETH_HLEN_, &in),
		      "VM -> VM between two of the 65,536 vifs in one VRF: MACs and TTL", d);
	}
	close(vif_prog);
	close(fab_prog);
}

static void on_signal(int sig)
{
	(void)sig;
	exit(3); /* atexit: unload */
}

static void cleanup(void)
{
	if (opened)
		vr_close(&h);
	if (loaded)
		vr_unload(pin_dir);
}

int main(int argc, char **argv)
{
	__u32 nvifs = 65536, nroutes = 1000000, i;
	struct vr_load_opts lo = { .fabric = "fab0", .host_ip = htonl(HOST_IP) };
	struct vr_route_req *routes = NULL;
	struct vr_label_req *labels = NULL;
	struct vr_vif last = {}, peer = {};
	const char *out_path = NULL;
	double t0, t_all;
	char buf[128];
	FILE *f;
	int opt;

	while ((opt = getopt(argc, argv, "o:v:r:")) != -1) {
		if (opt == 'o')
			out_path = optarg;
		else if (opt == 'v')
			nvifs = (__u32)strtoul(optarg, NULL, 0);
		else if (opt == 'r')
			nroutes = (__u32)strtoul(optarg, NULL, 0);
		else
			return fprintf(stderr, "usage: bench_scale [-o FILE.json] [-v VIFS] [-r ROUTES]\n"), 2;
	}
	if (nvifs < 2 * NVRFS || nvifs > VR_MAX_VIFS - 1 || nroutes < nvifs + NVRFS) {
		fprintf(stderr, "bench_scale: -v must be %d..%d and -r at least VIFS + %d\n", 2 * NVRFS, VR_MAX_VIFS - 1,
			NVRFS);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid()) {
		printf("bench_scale needs root\n");
		return 4;
	}
	if (unshare(CLONE_NEWNET)) {
		perror("unshare(CLONE_NEWNET)");
		return 1;
	}
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/vrscale-%d", (int)getpid());
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	vr_set_verbosity(0);
	if (out_path && !(json = fopen(out_path, "w"))) {
		perror(out_path);
		return 1;
	}
	if (json)
		fprintf(json, "{");
	printf("bench_scale: %d VRFs, %u vifs, %u routes, all %u usable labels (pins %s)\n", NVRFS, nvifs, nroutes,
	       VR_MAX_LABELS - 16, pin_dir);
	t_all = now_s();

	/* The underlay: fab0 with the host's address and the neighbour that routes to every remote host. */
	if (sh("ip link set lo up && ip link add fab0 type veth peer name fab1 && ip link set fab0 up && "
	       "ip link set fab1 up && ip addr add 198.18.0.1/24 dev fab0 && "
	       "ip neigh replace 198.18.0.2 lladdr 02:00:5e:00:00:02 dev fab0 nud permanent && "
	       "ip route add 198.19.0.0/16 via 198.18.0.2")) {
		check(false, "underlay set up", "ip commands failed");
		return 1;
	}
	/* The vif devices: veth pairs, both ends used, created in one ip -batch. */
	t0 = now_s();
	snprintf(buf, sizeof(buf), "/tmp/vrscale-%d.ip", (int)getpid());
	f = fopen(buf, "w");
	for (i = 0; f && i < nvifs; i += 2)
		fprintf(f, "link add s%ua type veth peer name s%ub\n", i / 2, i / 2);
	if (!f || fclose(f) || sh("ip -batch %s && rm -f %s", buf, buf)) {
		check(false, "vif devices created", "ip -batch failed");
		return 1;
	}
	step("devices", t0, NULL);

	t0 = now_s();
	if (vr_load(pin_dir, &lo) || (loaded = true, vr_open(pin_dir, &h))) {
		check(false, "datapath loaded", vr_strerror());
		return 1;
	}
	opened = true;
	step("load", t0, NULL);
	check(true, "datapath loaded with maps sized for the scale", NULL);

	t0 = now_s();
	{
		struct vr_vrf_req vrfs[NVRFS];

		for (i = 0; i < NVRFS; i++)
			vrfs[i] = (struct vr_vrf_req){ .vrf_id = i, .label = 16 + nvifs + i };
		if (vr_vrf_add_batch(&h, vrfs, NVRFS)) {
			check(false, "4096 VRFs added", vr_strerror());
			return 1;
		}
	}
	step("vrfs", t0, "(vr_vrf_add_batch)");
	check(true, "4096 VRFs added, each with a per-VRF label", NULL);

	t0 = now_s();
	for (i = 0; i < nvifs; i++) {
		struct vr_vif_spec s = { .vrf_id = i % NVRFS, .ip = htonl(VM_NET + i + 1), .gw_ip = htonl(VM_NET),
					 .label = 16 + i, .xdp = i == nvifs - 1 };
		char name[IFNAMSIZ];

		vif_name(i, name);
		s.ifname = name;
		mac_of(i, s.mac);
		if (vr_vif_add(&h, &s, i == nvifs - 1 ? &last : i == nvifs - 1 - NVRFS ? &peer : NULL)) {
			snprintf(buf, sizeof(buf), "vif %u (%s): %s", i, name, vr_strerror());
			check(false, "vifs added", buf);
			return 1;
		}
		if (vr_route_add(&h, s.vrf_id, s.ip, 32, &(struct vr_nh_spec){ .type = VR_NH_ENCAP, .ifname = name })) {
			check(false, "vif routes added", vr_strerror());
			return 1;
		}
	}
	step("vifs", t0, "(each: device, TC attach, label, /32 route)");
	snprintf(buf, sizeof(buf), "%u vifs added, each with its own label and /32", nvifs);
	check(true, buf, NULL);

	t0 = now_s();
	/* The vifs' /32s count: a million routes in all. */
	nroutes -= nvifs;
	routes = calloc(nroutes, sizeof(*routes));
	for (i = 0; routes && i < nroutes; i++)
		routes[i] = (struct vr_route_req){ .vrf_id = i % NVRFS, .prefix = htonl(ROUTE_NET + i), .plen = 32,
			.nh = { .type = VR_NH_TUNNEL, .remote_ip = htonl(REMOTE_NET + 1 + i % REMOTES),
				.label = 16 + i % 500000 } };
	if (!routes || vr_route_add_batch(&h, routes, nroutes)) {
		check(false, "routes added", routes ? vr_strerror() : "out of memory");
		return 1;
	}
	step("routes", t0, "(vr_route_add_batch)");
	snprintf(buf, sizeof(buf), "%u remote routes added in one batch (%u routes in all with the vifs')", nroutes,
		 nroutes + nvifs);
	check(true, buf, NULL);

	/* Every other usable label: bound alternately to a vif and to a VRF. */
	t0 = now_s();
	{
		__u32 first = 16 + nvifs + NVRFS, n = VR_MAX_LABELS - first;
		char (*names)[IFNAMSIZ] = calloc(nvifs, IFNAMSIZ);

		labels = calloc(n, sizeof(*labels));
		for (i = 0; names && i < nvifs; i++)
			vif_name(i, names[i]);
		for (i = 0; labels && names && i < n; i++) {
			labels[i].label = first + i;
			if (i % 2)
				labels[i].vrf_id = i % NVRFS;
			else
				labels[i].ifname = names[(i / 2) % nvifs];
		}
		/* The table's last label points at the last vif (checked below). */
		if (labels && names)
			labels[n - 1] = (struct vr_label_req){ .label = VR_MAX_LABELS - 1, .ifname = names[nvifs - 1] };
		if (!labels || !names || vr_label_add_batch(&h, labels, n)) {
			check(false, "labels bound", labels && names ? vr_strerror() : "out of memory");
			return 1;
		}
		free(names);
		step("labels", t0, "(vr_label_add_batch)");
		snprintf(buf, sizeof(buf), "all %u usable labels in use (%u bound explicitly)", VR_MAX_LABELS - 16, n);
		check(vr_label_add(&h, &(struct vr_label_req){ .label = 16 + nvifs / 2, .vrf_id = 1 }) == -EBUSY, buf,
		      "a further label was accepted");
	}

	forwarding_checks(nvifs, nroutes, &last, &peer);

	/* Kernel memory per map. */
	{
		const struct {
			const char *name;
			int fd;
		} maps[] = { { "vr_host4", h.host4_fd },     { "vr_nexthops", h.nexthops_fd }, { "vr_labels", h.labels_fd },
			     { "vr_vifs", h.vifs_fd },	     { "vr_vif_stats", h.vif_stats_fd }, { "vr_tx", h.tx_fd },
			     { "vr_vrf4", h.vrf4_fd } };
		long long total = 0;

		printf("  kernel memory (memlock):");
		for (size_t m = 0; m < sizeof(maps) / sizeof(maps[0]); m++) {
			long long b = map_memlock(maps[m].fd);

			total += b > 0 ? b : 0;
			printf(" %s %.1f MB", maps[m].name, b / 1048576.0);
			if (json)
				fprintf(json, ",\n  \"memlock_%s\": %lld", maps[m].name, b);
		}
		printf("; host routes: %.0f bytes/route\n", map_memlock(h.host4_fd) / (double)(nroutes + nvifs));
		if (json)
			fprintf(json, ",\n  \"host4_bytes_per_route\": %.1f", map_memlock(h.host4_fd) / (double)(nroutes + nvifs));
	}
	step("total", t_all, NULL);
	if (json) {
		fprintf(json, ",\n  \"vrfs\": %d, \"vifs\": %u, \"routes\": %u, \"labels\": %u, \"passed\": %d, \"failed\": %d\n}\n",
			NVRFS, nvifs, nroutes, VR_MAX_LABELS - 16, n_ok, n_fail);
		fclose(json);
	}
	free(routes);
	free(labels);
	printf("%d passed, %d failed\n", n_ok, n_fail);
	return n_fail ? 1 : 0;
}
