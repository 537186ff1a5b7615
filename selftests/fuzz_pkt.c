/* Packet fuzzing of the datapath: millions of random and mutated frames through all four programs
 * (vr_vif_xdp, vr_vif_tc, vr_fabric_xdp, vr_fabric_tc) with BPF_PROG_TEST_RUN, over forwarding tables built
 * at random from a seed, with invariants checked on every single run:
 *   (a) isolation: a frame is delivered only into a vif of the ingress vif's VRF, and there only where that
 *       VRF's routes send its destination; a tunnel packet only where its label points (the label's vif, or
 *       the route of the inner destination in the label's VRF), and only from a known tunnel endpoint; a
 *       frame tunnelled out carries a remote host and label the ingress VRF's routes name; ARP and NDP
 *       answers only for addresses routed in the asker's VRF; a delivery's destination MAC is that vif's VM;
 *   (b) every output is well formed: lengths consistent (IPv4 total length / IPv6 payload length = bytes
 *       present, UDP length), IPv4 header checksums valid (outer and inner, whenever the input's was),
 *       ICMP checksums of generated replies valid, MPLS bottom of stack set, the forwarded packet unchanged
 *       but for its TTL (one less when routed from a VM) and checksum, a passed frame untouched;
 *   (c) accounting: a drop moves exactly one drop reason by one and no tx counter; anything else moves no
 *       drop reason, except the ICMP "fragmentation needed" / "packet too big" reply, which counts its reason
 *       once and is sent to the VM; a delivery moves exactly one vif's tx counter, by the frame's length;
 *   (d) only the verdicts the programs are meant to return (XDP: DROP, PASS, REDIRECT; TC: SHOT, OK,
 *       REDIRECT), a test run never fails, and the TC programs leave alone what is not theirs (frames of vifs
 *       in mode xdp, the fabric in fabric mode xdp).
 * The counters are the datapath's own per-CPU maps, read (in one batch per map) before and after every run.
 *
 * Each seed runs in a child process that isolates itself as test_datapath does (new mount and network
 * namespace, private sysfs and bpffs), builds veth devices, loads the datapath with libvrouter and builds
 * its tables through libvrouter: several VRFs (one may be VRF 0), vifs in both modes, /32 and shorter
 * routes to local vifs, MPLS-in-UDP and MPLS-over-GRE tunnels to underlay hosts (reachable, behind a route
 * with a smaller MTU, without neighbour, blackholed, unreachable), ECMP groups of vifs and tunnels, discard
 * and receive routes, IPv6 routes beside the IPv4 ones, per-interface and per-VRF labels, configured
 * endpoints. The harness keeps a model of those tables and checks the label table read back against it.
 * Between batches it flips the fabric mode and replaces routes (so the route cache must follow).
 *
 * Frames come from templates, then are mutated (bit flips, bytes, truncation, trailing bytes, length fields;
 * IPv4 checksums recomputed or not): from VMs IPv4 (options, fragments, DF, TTL 0..255, UDP, TCP, ICMP,
 * others, up to 3400 bytes), ARP, IPv6 with extension headers, NDP and other ICMPv6, 802.1Q/802.1ad tags,
 * random bytes; from the fabric MPLS-in-UDP (port 6635 and legacy 51234), MPLS-over-GRE (checksum, key,
 * sequence, routing, version bits), label stacks, inner IPv4/IPv6/garbage, outer options and fragments,
 * from known, configured and unknown hosts, and the host's own traffic.
 *
 * Usage: fuzz_pkt [--short | --long] [--seconds N] [--seed S] [--packets N] [-v]
 *   --short    (make check) seed 1, then a seed from the clock, about 12 s each
 *   --long     (make fuzz) FUZZ_PKT_SECONDS (300) in all, a new seed (new tables) every 60 s
 *   --seed S   one seed only (reproduce a failure: the same seed gives the same tables and packets)
 *   --packets N  stop each seed after N packets
 * Output: one line per check, "ok ..." or "FAIL ..." with the seed, program, packet number and both frames in
 * hex for the first violations; finally "N passed, N failed". Exit 0 only when everything passed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "libvrouter.h"
#include "pkt.h"

/* ---------------------------------------------------------------------------------------------------- */
/* Random numbers: splitmix64, so that a seed gives the same tables and packets on every run.           */

static uint64_t rng;

static uint64_t rnd64(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* 0 .. n-1 (0 when n is 0). */
static uint32_t rnd(uint32_t n)
{
	return n ? (uint32_t)(((rnd64() >> 32) * n) >> 32) : 0;
}

static bool chance(uint32_t percent)
{
	return rnd(100) < percent;
}

static void rnd_bytes(uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i] = (uint8_t)rnd64();
}

/* ---------------------------------------------------------------------------------------------------- */
/* The tables as built, kept as a model to judge every output against                                   */

#define MAX_VRFS 6
#define MAX_VIFS 12
#define MAX_ROUTES 640
#define MAX_LABELS 64
#define MAX_MEMBERS 5
#define MAX_IN 3400 /* XDP test runs take at most a page less headroom and tail room */

struct fvif {
	char name[IFNAMSIZ], peer[IFNAMSIZ];
	int ifindex;
	int vrf;               /* index into vrfs[] */
	bool tc;               /* mode tc */
	uint8_t mac[6];        /* the VM's */
	uint32_t ip, gw;       /* host order; gw 0: none */
	uint8_t ip6[16], gw6[16];
	struct vr_vif v;       /* as libvrouter wrote it */
};

struct fvrf {
	uint32_t id;
	uint32_t gw;
};

struct fnh {
	uint8_t type;
	int vif;          /* ENCAP */
	uint32_t remote;  /* TUNNEL, host order */
	uint32_t label;   /* TUNNEL */
	uint8_t encap;    /* TUNNEL */
};

struct froute {
	int vrf;
	int fam;          /* 4 or 6 */
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
	uint32_t plen;
	struct fnh nh;
	int nmem;         /* COMPOSITE */
	struct fnh mem[MAX_MEMBERS];
};

struct flabel {
	uint32_t label;
	int vif;          /* >= 0: per-interface label */
	int vrf;          /* else: per-VRF label of vrfs[vrf] */
};

/* Underlay hosts tunnels lead to, as the fabric namespace is set up: the MAC the outer header must carry (the
 * neighbour's, or the gateway's), and the route's MTU (0: the fabric's). */
struct remote {
	uint32_t ip;
	int nbr;          /* the last byte of the neighbour 192.0.2.N whose MAC leads there; 0: unusable */
	uint16_t mtu;
	int weight;
};

#define HOST_IP IP4(192, 0, 2, 1)
static const struct remote remotes[] = {
	{ IP4(192, 0, 2, 2), 2, 0, 6 },
	{ IP4(192, 0, 2, 3), 3, 0, 4 },
	{ IP4(192, 0, 2, 4), 4, 0, 3 },
	{ IP4(198, 51, 100, 7), 2, 1400, 3 }, /* via 192.0.2.2, a route with MTU 1400 */
	{ IP4(192, 0, 2, 9), 0, 0, 1 },       /* on the fabric subnet, no neighbour */
	{ IP4(203, 0, 113, 5), 0, 0, 1 },     /* blackhole route */
	{ IP4(100, 64, 1, 1), 0, 0, 1 },      /* no route at all */
};
#define NREMOTES (int)(sizeof(remotes) / sizeof(remotes[0]))
/* Hosts that may send tunnel packets without being routed to, and hosts that never may. */
static const uint32_t configured_eps[] = { IP4(192, 0, 2, 50), IP4(192, 0, 2, 51) };
static const uint32_t stranger_eps[] = { IP4(192, 0, 2, 77), IP4(10, 0, 0, 1) };
static const uint8_t fab_mac[6] = { 2, 0, 0, 0, 0, 1 };

static struct fvrf vrfs[MAX_VRFS];
static int nvrfs;
static struct fvif vifs[MAX_VIFS];
static int nvifs;
static struct froute routes[MAX_ROUTES];
static int nroutes;
static struct flabel labels[MAX_LABELS];
static int nlabels;
static uint16_t fabric_mtu;
static bool fabric_tc_mode;

/* The other devices test runs may name: the fabric NIC and a device that is no vif. */
static int fab_ifindex, novif_ifindex, lo_ifindex;

static void map4to6(uint32_t v4, uint8_t out[16])
{
	memset(out, 0, 16);
	out[0] = 0xfd;
	out[12] = (uint8_t)(v4 >> 24);
	out[13] = (uint8_t)(v4 >> 16);
	out[14] = (uint8_t)(v4 >> 8);
	out[15] = (uint8_t)v4;
}

static void put4(uint8_t *d, uint32_t v)
{
	d[0] = (uint8_t)(v >> 24);
	d[1] = (uint8_t)(v >> 16);
	d[2] = (uint8_t)(v >> 8);
	d[3] = (uint8_t)v;
}

static uint32_t get4(const uint8_t *d)
{
	return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
}

static uint16_t get2(const uint8_t *d)
{
	return (uint16_t)(d[0] << 8 | d[1]);
}

static bool prefix_match(const uint8_t *a, const uint8_t *p, uint32_t plen)
{
	uint32_t full = plen / 8, rest = plen % 8;

	if (memcmp(a, p, full))
		return false;
	if (!rest)
		return true;
	return ((a[full] ^ p[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* The longest match of a in vrfs[vrf]'s table of that family, as the model has it (NULL: no route). */
static const struct froute *model_lookup(int vrf, int fam, const uint8_t *a)
{
	const struct froute *best = NULL;

	for (int i = 0; i < nroutes; i++) {
		const struct froute *r = &routes[i];

		if (r->vrf == vrf && r->fam == fam && prefix_match(a, r->addr, r->plen) && (!best || r->plen > best->plen))
			best = r;
	}
	return best;
}

/* Does route r deliver to vif d (itself, or one of its ECMP members)? */
static bool route_to_vif(const struct froute *r, int d)
{
	if (!r)
		return false;
	if (r->nh.type == VR_NH_ENCAP)
		return r->nh.vif == d;
	if (r->nh.type == VR_NH_COMPOSITE)
		for (int i = 0; i < r->nmem; i++)
			if (r->mem[i].type == VR_NH_ENCAP && r->mem[i].vif == d)
				return true;
	return false;
}

static bool nh_is_tunnel(const struct fnh *n, uint32_t remote, uint32_t label, uint8_t encap)
{
	return n->type == VR_NH_TUNNEL && n->remote == remote && n->label == label && n->encap == encap;
}

/* Does route r tunnel to (remote, label, encap)? Returns the member, or NULL. */
static const struct fnh *route_to_tunnel(const struct froute *r, uint32_t remote, uint32_t label, uint8_t encap)
{
	if (!r)
		return NULL;
	if (nh_is_tunnel(&r->nh, remote, label, encap))
		return &r->nh;
	if (r->nh.type == VR_NH_COMPOSITE)
		for (int i = 0; i < r->nmem; i++)
			if (nh_is_tunnel(&r->mem[i], remote, label, encap))
				return &r->mem[i];
	return NULL;
}

static const struct flabel *model_label(uint32_t label)
{
	for (int i = 0; i < nlabels; i++)
		if (labels[i].label == label)
			return &labels[i];
	return NULL;
}

static const struct remote *remote_of(uint32_t ip)
{
	for (int i = 0; i < NREMOTES; i++)
		if (remotes[i].ip == ip)
			return &remotes[i];
	return NULL;
}

/* Could this underlay host ever have been a known tunnel endpoint (a tunnel's remote, or configured)? */
static bool endpoint_may_be_known(uint32_t ip)
{
	for (size_t i = 0; i < sizeof(configured_eps) / sizeof(configured_eps[0]); i++)
		if (configured_eps[i] == ip)
			return true;
	return remote_of(ip) != NULL;
}

/* ---------------------------------------------------------------------------------------------------- */
/* Results                                                                                               */

enum { P_VIF_XDP, P_VIF_TC, P_FAB_XDP, P_FAB_TC, NPROG };
static const char *const prog_name[NPROG] = { "vr_vif_xdp", "vr_vif_tc", "vr_fabric_xdp", "vr_fabric_tc" };
static const char *const prog_pin[NPROG] = { "prog_vr_vif_xdp", "prog_vr_vif_tc", "prog_vr_fabric_xdp",
					     "prog_vr_fabric_tc" };
enum { C_ISOL, C_FORM, C_DROPS, C_VERDICT, NCLASS };
static const char *const class_name[NCLASS] = { "(a) isolation", "(b) well-formed output", "(c) drop accounting",
						"(d) verdicts" };

static bool is_xdp(int p)
{
	return p == P_VIF_XDP || p == P_FAB_XDP;
}

static uint64_t seed;
static int verbose;
/* FUZZ_PKT_SHOW=REASON: print the first frames dropped for that reason (what reaches a path, for a report). */
static int show_reason = -1, shown_reason;
static int n_pass, n_fail;
static int prog_fd[NPROG] = { -1, -1, -1, -1 };

/* What each program did, for the coverage lines. */
struct pstats {
	uint64_t runs, delivered, tunnelled, replies, passed, dropped, errors;
	uint64_t refused; /* frames the kernel's skb test run does not take (kernel_refuses_skb) */
	uint64_t delivered6, tunnelled6; /* IPv6 among them */
	uint64_t answer[4];              /* ARP, ICMP frag needed, neighbour advertisement, packet too big */
	uint64_t reason[VR_DROP_MAX];
	uint64_t bad_csum_forwarded; /* forwarded although the input's IPv4 header checksum was wrong */
	uint64_t violations[NCLASS];
	int shown[NCLASS];
};
static struct pstats ps[NPROG];

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (ok)
		n_pass++;
	else
		n_fail++;
}

static void hexdump(const char *tag, const uint8_t *d, size_t n)
{
	printf("    %s (%zu bytes):", tag, n);
	for (size_t i = 0; i < n; i++)
		printf("%s%02x", i % 32 ? "" : "\n      ", d[i]);
	putchar('\n');
}

/* The run being judged, for the violation report. */
static struct {
	int prog;
	uint64_t index;
	const char *dev;
	const struct pkt *in;
	const uint8_t *out;
	size_t olen;
	__u32 verdict;
	__u16 gso_size;
} cur;

static void violation(int cls, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(int cls, const char *fmt, ...)
{
	struct pstats *s = &ps[cur.prog];
	va_list ap;

	s->violations[cls]++;
	if (s->shown[cls]++ >= 3)
		return;
	printf("! seed %llu %s %s, packet #%llu on %s (verdict %u%s%s): ", (unsigned long long)seed,
	       prog_name[cur.prog], class_name[cls], (unsigned long long)cur.index, cur.dev, cur.verdict,
	       cur.gso_size ? ", gso_size " : "", cur.gso_size ? "set" : "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	hexdump("in", cur.in->b, cur.in->len);
	if (cur.out)
		hexdump("out", cur.out, cur.olen);
	printf("    rerun: fuzz_pkt --seed %llu --packets %llu\n", (unsigned long long)seed,
	       (unsigned long long)cur.index + 1);
}

/* ---------------------------------------------------------------------------------------------------- */
/* Setup: isolation, devices, datapath, tables                                                          */

static char setup_err[2048];
static char pin_dir[256], bpffs_dir[128];
static struct vr_handle h;
static struct vr_config cfg;

static int setup_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int setup_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(setup_err, sizeof(setup_err), fmt, ap);
	va_end(ap);
	return -1;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512], out[1024] = "";
	size_t n = 0;
	va_list ap;
	FILE *f;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 8, fmt, ap);
	va_end(ap);
	strcat(cmd, " 2>&1");
	f = popen(cmd, "r");
	if (!f)
		return setup_fail("cannot run '%s': %s", cmd, strerror(errno));
	while (n < sizeof(out) - 1 && fgets(out + n, (int)(sizeof(out) - n), f))
		n = strlen(out);
	st = pclose(f);
	if (st != 0)
		return setup_fail("'%s' failed (status %d): %s", cmd, st, out);
	return 0;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return setup_fail("cannot open %s: %s", path, strerror(errno));
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : setup_fail("cannot write %s", path);
}

/* A new mount and network namespace: devices, pins and links die with this process. */
static int setup_isolation(void)
{
	struct stat st;

	if (unshare(CLONE_NEWNS | CLONE_NEWNET))
		return setup_fail("unshare(CLONE_NEWNS | CLONE_NEWNET): %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return setup_fail("making / private: %s", strerror(errno));
	if (mount("sysfs", "/sys", "sysfs", 0, NULL))
		fprintf(stderr, "# mounting a private sysfs failed (%s); going on with the host's\n", strerror(errno));
	if (stat("/sys/fs/bpf", &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(bpffs_dir, sizeof(bpffs_dir), "/sys/fs/bpf");
	} else {
		snprintf(bpffs_dir, sizeof(bpffs_dir), "/tmp/vr-fuzz-bpffs.XXXXXX");
		if (!mkdtemp(bpffs_dir))
			return setup_fail("mkdtemp: %s", strerror(errno));
	}
	if (mount("bpf", bpffs_dir, "bpf", 0, "mode=0700"))
		return setup_fail("mounting bpffs on %s: %s", bpffs_dir, strerror(errno));
	snprintf(pin_dir, sizeof(pin_dir), "%s/vrouter-fuzz", bpffs_dir);
	return 0;
}

static void mac_str(const uint8_t m[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static int ifidx(const char *name)
{
	int i = (int)if_nametoindex(name);

	return i ? i : setup_fail("%s has no ifindex", name);
}

static int setup_devices(void)
{
	char m[18];

	/* No IPv6 on the devices (no router solicitations); forwarding on for bpf_fib_lookup. */
	write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	if (write_file("/proc/sys/net/ipv4/ip_forward", "1") || sh("ip link set lo up"))
		return -1;
	mac_str(fab_mac, m);
	if (sh("ip link add fab0 address %s mtu %u type veth peer name fab0p mtu %u", m, fabric_mtu, fabric_mtu) ||
	    sh("ip link set fab0 up") || sh("ip link set fab0p up") || sh("ip addr add 192.0.2.1/24 dev fab0") ||
	    sh("ip link add novif0 type veth peer name novif0p") || sh("ip link set novif0 up"))
		return -1;
	for (int n = 2; n <= 4; n++)
		if (sh("ip neigh replace 192.0.2.%d lladdr 02:00:00:00:00:%02x dev fab0 nud permanent", n, n))
			return -1;
	if (sh("ip route add 198.51.100.0/24 via 192.0.2.2 dev fab0 mtu lock 1400") ||
	    sh("ip route add blackhole 203.0.113.0/24"))
		return -1;
	for (int i = 0; i < nvifs; i++) {
		struct fvif *v = &vifs[i];

		if (sh("ip link add %s type veth peer name %s", v->name, v->peer) || sh("ip link set %s up", v->name) ||
		    sh("ip link set %s up", v->peer))
			return -1;
		v->ifindex = (int)if_nametoindex(v->name);
		if (!v->ifindex)
			return setup_fail("%s has no ifindex", v->name);
	}
	fab_ifindex = ifidx("fab0");
	novif_ifindex = ifidx("novif0");
	lo_ifindex = ifidx("lo");
	return fab_ifindex > 0 && novif_ifindex > 0 && lo_ifindex > 0 ? 0 : -1;
}

/* A label for a tunnel route (the far end's): any of the 20-bit space above the reserved ones. */
static uint32_t rand_out_label(void)
{
	return chance(60) ? 16 + rnd(2000) : 16 + rnd((1u << 20) - 16);
}

static bool label_used(uint32_t l)
{
	return model_label(l) != NULL;
}

/* A free label for one of our own bindings. */
static uint32_t rand_free_label(void)
{
	uint32_t l;

	do
		l = chance(50) ? 16 + rnd(3000) : 16 + rnd((1u << 20) - 16);
	while (label_used(l));
	return l;
}

static int rand_remote(void)
{
	int total = 0, pick;

	for (int i = 0; i < NREMOTES; i++)
		total += remotes[i].weight;
	pick = (int)rnd((uint32_t)total);
	for (int i = 0; i < NREMOTES; i++) {
		pick -= remotes[i].weight;
		if (pick < 0)
			return i;
	}
	return 0;
}

static void rand_tunnel(struct fnh *n)
{
	*n = (struct fnh){ .type = VR_NH_TUNNEL, .remote = remotes[rand_remote()].ip, .label = rand_out_label(),
			   .encap = chance(35) ? VR_ENCAP_GRE : VR_ENCAP_UDP };
}

static int rand_vif_in(int vrf)
{
	int c[MAX_VIFS], n = 0;

	for (int i = 0; i < nvifs; i++)
		if (vifs[i].vrf == vrf)
			c[n++] = i;
	return n ? c[rnd((uint32_t)n)] : -1;
}

/* A random nexthop for a route of vrfs[vrf] (vifs only of that VRF: libvrouter refuses others). */
static void rand_nh(int vrf, struct froute *r)
{
	uint32_t k = rnd(100);
	int v = rand_vif_in(vrf);

	r->nmem = 0;
	if (k < 30 && v >= 0) {
		r->nh = (struct fnh){ .type = VR_NH_ENCAP, .vif = v };
	} else if (k < 68) {
		rand_tunnel(&r->nh);
	} else if (k < 82) {
		int want = 2 + (int)rnd(MAX_MEMBERS - 1);

		r->nh = (struct fnh){ .type = VR_NH_COMPOSITE };
		for (int tries = 0; r->nmem < want && tries < 20; tries++) {
			struct fnh m;
			bool dup = false;

			if (chance(40) && (v = rand_vif_in(vrf)) >= 0)
				m = (struct fnh){ .type = VR_NH_ENCAP, .vif = v };
			else
				rand_tunnel(&m);
			for (int j = 0; j < r->nmem; j++)
				dup |= !memcmp(&r->mem[j], &m, sizeof(m));
			if (!dup)
				r->mem[r->nmem++] = m;
		}
		if (r->nmem < 2) {
			r->nmem = 0;
			rand_tunnel(&r->nh);
		}
	} else if (k < 94) {
		r->nh = (struct fnh){ .type = VR_NH_DISCARD };
	} else {
		r->nh = (struct fnh){ .type = VR_NH_RECEIVE };
	}
}

static void to_spec(const struct fnh *n, struct vr_nh_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->type = n->type;
	if (n->type == VR_NH_ENCAP)
		s->ifname = vifs[n->vif].name;
	if (n->type == VR_NH_TUNNEL) {
		s->remote_ip = htonl(n->remote);
		s->label = n->label;
		s->encap = n->encap;
	}
}

/* Install route r (add, or replace when replace is set); the model takes it only when libvrouter did.
 * Returns 0, 1 when the route exists already (not an error when adding), or -1. */
static int route_install(const struct froute *r, bool replace)
{
	struct vr_nh_spec spec, mem[MAX_MEMBERS];
	int err;

	to_spec(&r->nh, &spec);
	if (r->nh.type == VR_NH_COMPOSITE) {
		for (int i = 0; i < r->nmem; i++)
			to_spec(&r->mem[i], &mem[i]);
		spec.n_members = (__u32)r->nmem;
		spec.members = mem;
	}
	if (r->fam == 4) {
		__be32 p;

		memcpy(&p, r->addr, 4);
		err = replace ? vr_route_replace(&h, vrfs[r->vrf].id, p, r->plen, &spec)
			      : vr_route_add(&h, vrfs[r->vrf].id, p, r->plen, &spec);
	} else {
		struct in6_addr a;

		memcpy(&a, r->addr, 16);
		err = replace ? vr_route6_replace(&h, vrfs[r->vrf].id, &a, r->plen, &spec)
			      : vr_route6_add(&h, vrfs[r->vrf].id, &a, r->plen, &spec);
	}
	if (err == -EEXIST && !replace)
		return 1;
	if (err)
		return setup_fail("%s IPv%d route /%u in VRF %u: %s", replace ? "replacing" : "adding", r->fam, r->plen,
				  vrfs[r->vrf].id, vr_strerror());
	return 0;
}

static int add_route(const struct froute *r)
{
	int rc;

	if (nroutes >= MAX_ROUTES)
		return 0;
	rc = route_install(r, false);
	if (rc < 0)
		return -1;
	if (rc == 0)
		routes[nroutes++] = *r;
	return 0;
}

/* The same route in the IPv6 table: fd00::/96 + the IPv4 prefix. */
static int add_route6_twin(const struct froute *r4)
{
	struct froute r6 = *r4;

	r6.fam = 6;
	map4to6(get4(r4->addr), r6.addr);
	r6.plen = 96 + r4->plen;
	return add_route(&r6);
}

/* The tables of this seed, first in the model (VRFs and vifs), then through libvrouter. */
static void plan_tables(void)
{
	nvrfs = 3 + (int)rnd(MAX_VRFS - 2);
	for (int i = 0; i < nvrfs; i++) {
		bool dup;

		do {
			vrfs[i].id = i == 0 && chance(30) ? 0 : 1 + rnd(chance(50) ? 20 : 4095);
			dup = false;
			for (int j = 0; j < i; j++)
				dup |= vrfs[j].id == vrfs[i].id;
		} while (dup);
		vrfs[i].gw = chance(85) ? IP4(10, 0, rnd(16), 254) : 0;
	}
	nvifs = 6 + (int)rnd(MAX_VIFS - 5);
	for (int i = 0; i < nvifs; i++) {
		struct fvif *v = &vifs[i];
		bool dup;

		snprintf(v->name, sizeof(v->name), "fv%d", i);
		snprintf(v->peer, sizeof(v->peer), "fv%dp", i);
		/* Both modes and at least two VRFs with vifs, whatever the dice say. */
		v->tc = i < 2 ? i == 1 : chance(50);
		v->vrf = i < nvrfs ? i : (int)rnd((uint32_t)nvrfs);
		v->mac[0] = 2;
		rnd_bytes(v->mac + 1, 5);
		do {
			/* Another VRF's VM address now and then: overlapping tenants. */
			if (i && chance(25))
				v->ip = vifs[rnd((uint32_t)i)].ip;
			else
				v->ip = IP4(10, 0, rnd(16), 1 + rnd(250));
			dup = false;
			for (int j = 0; j < i; j++)
				dup |= vifs[j].vrf == v->vrf && vifs[j].ip == v->ip;
		} while (dup);
		v->gw = vrfs[v->vrf].gw;
		map4to6(v->ip, v->ip6);
		if (v->gw)
			map4to6(v->gw, v->gw6);
		else
			memset(v->gw6, 0, 16);
	}
}

static int add_label(uint32_t label, int vif, int vrf)
{
	if (nlabels >= MAX_LABELS)
		return 0;
	labels[nlabels++] = (struct flabel){ .label = label, .vif = vif, .vrf = vrf };
	return 0;
}

static int build_tables(void)
{
	for (int i = 0; i < nvrfs; i++) {
		uint32_t label = chance(65) ? rand_free_label() : 0;

		if (vr_vrf_add(&h, vrfs[i].id, label))
			return setup_fail("vr_vrf_add %u label %u: %s", vrfs[i].id, label, vr_strerror());
		if (label)
			add_label(label, -1, i);
	}
	for (int i = 0; i < nvifs; i++) {
		struct fvif *v = &vifs[i];
		struct vr_vif_spec s = {
			.ifname = v->name, .vrf_id = vrfs[v->vrf].id, .ip = htonl(v->ip), .gw_ip = htonl(v->gw),
			.xdp = !v->tc, .label = chance(30) ? rand_free_label() : 0,
		};

		memcpy(s.mac, v->mac, 6);
		memcpy(&s.ip6, v->ip6, 16);
		memcpy(&s.gw6, v->gw6, 16);
		if (vr_vif_add(&h, &s, &v->v))
			return setup_fail("vr_vif_add %s: %s", v->name, vr_strerror());
		add_label(v->v.label, i, -1);
	}
	/* More labels: some vifs and VRFs have a second one. */
	for (int k = 1 + (int)rnd(3); k > 0; k--) {
		int d = (int)rnd((uint32_t)nvifs);
		struct vr_label_req r = { .label = rand_free_label(), .ifname = vifs[d].name };

		if (vr_label_add(&h, &r))
			return setup_fail("vr_label_add %u -> %s: %s", r.label, vifs[d].name, vr_strerror());
		add_label(r.label, d, -1);
	}
	for (int k = (int)rnd(3); k > 0; k--) {
		int v = (int)rnd((uint32_t)nvrfs);
		struct vr_label_req r = { .label = rand_free_label(), .vrf_id = vrfs[v].id };

		if (vr_label_add(&h, &r))
			return setup_fail("vr_label_add %u -> VRF %u: %s", r.label, vrfs[v].id, vr_strerror());
		add_label(r.label, -1, v);
	}
	for (size_t i = 0; i < sizeof(configured_eps) / sizeof(configured_eps[0]); i++)
		if (vr_endpoint_add(&h, htonl(configured_eps[i])))
			return setup_fail("vr_endpoint_add: %s", vr_strerror());

	/* Every VM's own address (/32 and /128), its VRF's gateway as a receive route (mostly), then random
	 * prefixes of every length over the same small space, so that tenants overlap. */
	for (int i = 0; i < nvifs; i++) {
		struct froute r = { .vrf = vifs[i].vrf, .fam = 4, .plen = 32, .nh = { .type = VR_NH_ENCAP, .vif = i } };

		put4(r.addr, vifs[i].ip);
		if (add_route(&r) || add_route6_twin(&r))
			return -1;
	}
	for (int v = 0; v < nvrfs; v++) {
		int n = 15 + (int)rnd(40);

		if (vrfs[v].gw && chance(80)) {
			struct froute r = { .vrf = v, .fam = 4, .plen = 32, .nh = { .type = VR_NH_RECEIVE } };

			put4(r.addr, vrfs[v].gw);
			if (add_route(&r) || add_route6_twin(&r))
				return -1;
		}
		if (chance(40)) { /* a default route, to a gateway host */
			struct froute r = { .vrf = v, .fam = 4, .plen = 0 };

			rand_tunnel(&r.nh);
			if (add_route(&r) || add_route6_twin(&r))
				return -1;
		}
		for (int k = 0; k < n; k++) {
			struct froute r = { .vrf = v, .fam = 4 };
			uint32_t a, plen;

			switch (rnd(10)) {
			case 0: case 1: case 2: plen = 32; break;
			case 3: case 4: case 5: plen = 24 + rnd(8); break;
			case 6: case 7: plen = 16 + rnd(8); break;
			default: plen = 1 + rnd(15); break;
			}
			a = plen >= 16 ? IP4(10, 0, rnd(16), rnd(256)) : (uint32_t)rnd64();
			if (plen < 32)
				a &= ~0u << (32 - plen);
			r.plen = plen;
			put4(r.addr, a);
			rand_nh(v, &r);
			if (add_route(&r) || (chance(60) && add_route6_twin(&r)))
				return -1;
		}
	}
	return 0;
}

/* The label table read back must be exactly the model: each label the vif's ENCAP nexthop or a VRF_LOOKUP of
 * the VRF, and nothing else bound. */
struct lcheck {
	int seen, bad;
	char why[256];
};

static int label_cb(__u32 label, __u32 nh_id, const struct vr_nexthop *nh, void *arg)
{
	struct lcheck *c = arg;
	const struct flabel *l = model_label(label);
	bool ok;

	(void)nh_id;
	c->seen++;
	if (!l)
		ok = false;
	else if (l->vif >= 0)
		ok = nh->type == VR_NH_ENCAP && nh->vif_id == vifs[l->vif].v.vif_id;
	else
		ok = nh->type == VR_NH_VRF_LOOKUP && nh->vrf_id == vrfs[l->vrf].id;
	if (!ok && !c->bad++)
		snprintf(c->why, sizeof(c->why), "label %u -> nexthop type %u (vif %u, VRF %u) is not what was bound",
			 label, nh->type, nh->vif_id, nh->vrf_id);
	return 0;
}

static int setup_vrouter(void)
{
	struct vr_load_opts lo = { .fabric = "fab0", .host_ip = htonl(HOST_IP), .fabric_mode = VR_FABRIC_TC,
				   .udp_port = chance(80) ? 0 : (__u16)(6636 + rnd(100)) };
	struct lcheck lc = { 0 };
	char path[512];

	if (vr_load(pin_dir, &lo))
		return setup_fail("vr_load: %s", vr_strerror());
	if (vr_open(pin_dir, &h))
		return setup_fail("vr_open: %s", vr_strerror());
	if (vr_config_get(&h, &cfg))
		return setup_fail("vr_config_get: %s", vr_strerror());
	/* The ECMP member and source port depend on the flow hash: a seed must give the same ones each time. */
	cfg.hash_seed = (__u32)rnd64();
	if (bpf_map_update_elem(h.config_fd, &(__u32){ 0 }, &cfg, BPF_ANY))
		return setup_fail("writing the configuration: %s", strerror(errno));
	fabric_tc_mode = true;
	if (build_tables())
		return -1;
	vr_label_foreach(&h, label_cb, &lc);
	if (lc.bad || lc.seen != nlabels)
		return setup_fail("the label table read back differs from what was bound: %s (%d labels, %d bound)",
				  lc.bad ? lc.why : "", lc.seen, nlabels);
	for (int p = 0; p < NPROG; p++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, prog_pin[p]);
		prog_fd[p] = bpf_obj_get(path);
		if (prog_fd[p] < 0)
			return setup_fail("bpf_obj_get %s: %s", path, strerror(errno));
	}
	return 0;
}

/* ---------------------------------------------------------------------------------------------------- */
/* Counters: the per-CPU drop reasons and vif counters, each map read in one batch                       */

static int ncpus;
static __u32 max_vif_id;
static __u64 drops_prev[VR_DROP_MAX], drops_now[VR_DROP_MAX];
static struct vr_vif_stats st_prev[MAX_VIFS + 2], st_now[MAX_VIFS + 2];
static __u64 *drop_vals;
static struct vr_vif_stats *st_vals;
static __u32 batch_keys[VR_DROP_MAX + MAX_VIFS + 2];

static int read_counters(__u64 *drops, struct vr_vif_stats *st)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	__u32 count = VR_DROP_MAX, out_batch = 0;
	int err;

	err = bpf_map_lookup_batch(h.drops_fd, NULL, &out_batch, batch_keys, drop_vals, &count, &o);
	if ((err && errno != ENOENT) || count != VR_DROP_MAX)
		return -1;
	for (int r = 0; r < VR_DROP_MAX; r++) {
		drops[r] = 0;
		for (int c = 0; c < ncpus; c++)
			drops[r] += drop_vals[r * ncpus + c];
	}
	count = max_vif_id + 1;
	err = bpf_map_lookup_batch(h.vif_stats_fd, NULL, &out_batch, batch_keys, st_vals, &count, &o);
	if ((err && errno != ENOENT) || count != max_vif_id + 1)
		return -1;
	for (__u32 v = 0; v <= max_vif_id; v++) {
		memset(&st[v], 0, sizeof(st[v]));
		for (int c = 0; c < ncpus; c++) {
			st[v].tx_packets += st_vals[v * ncpus + c].tx_packets;
			st[v].tx_bytes += st_vals[v * ncpus + c].tx_bytes;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------------------------------------------- */
/* Packet generation                                                                                    */

/* Offsets of the IPv4 headers in the frame being built (checksums to recompute after mutations). */
static size_t ip4_offs[4];
static int n_ip4;

/* An address for a destination: mostly one the tables know (of any VRF: isolation is tested by trying). */
static uint32_t pick_addr4(int vrf)
{
	switch (rnd(12)) {
	case 0: case 1: case 2: case 3: case 4: {
		const struct froute *r = NULL;

		for (int tries = 0; tries < 8 && !r; tries++) {
			const struct froute *c = &routes[rnd((uint32_t)nroutes)];

			if (c->fam == 4 && (c->vrf == vrf || vrf < 0 || chance(30)))
				r = c;
		}
		if (!r)
			return IP4(10, 0, rnd(16), rnd(256));
		return get4(r->addr) | (r->plen < 32 ? (uint32_t)rnd64() & (~0u >> r->plen) : 0);
	}
	case 5: case 6:
		return vifs[rnd((uint32_t)nvifs)].ip;
	case 7:
		return vrfs[rnd((uint32_t)nvrfs)].gw;
	case 8: case 9:
		return IP4(10, 0, rnd(16), rnd(256));
	case 10:
		return (uint32_t)rnd64();
	default: {
		static const uint32_t odd[] = { 0, 0xffffffff, IP4(224, 0, 0, 1), IP4(127, 0, 0, 1), HOST_IP,
						IP4(10, 0, 0, 255), IP4(169, 254, 1, 1) };

		return odd[rnd(sizeof(odd) / sizeof(odd[0]))];
	}
	}
}

static void pick_addr6(int vrf, uint8_t out[16])
{
	uint32_t k = rnd(20);

	if (k < 15) {
		map4to6(pick_addr4(vrf), out);
	} else if (k < 17) { /* link-local */
		memset(out, 0, 16);
		out[0] = 0xfe;
		out[1] = 0x80;
		rnd_bytes(out + 8, 8);
	} else if (k < 19) { /* multicast: all nodes, or a solicited-node group */
		memset(out, 0, 16);
		out[0] = 0xff;
		out[1] = 0x02;
		if (chance(50)) {
			out[15] = 1;
		} else {
			out[11] = 1;
			out[12] = 0xff;
			rnd_bytes(out + 13, 3);
		}
	} else {
		rnd_bytes(out, 16);
	}
}

static size_t pick_paylen(size_t room)
{
	size_t n;

	switch (rnd(20)) {
	case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9:
		n = rnd(64);
		break;
	case 10: case 11: case 12: case 13:
		n = 64 + rnd(1300);
		break;
	case 14: case 15: case 16: case 17:
		n = 1400 + rnd(120); /* around the tunnel MTU */
		break;
	default:
		n = rnd(3400);
		break;
	}
	return n < room ? n : room;
}

/* L4 header and payload after an IP header at ipo (IPv4 or IPv6); proto as the header says. */
static void build_l4(struct pkt *p, size_t ipo, uint8_t proto, bool frag_tail)
{
	size_t room = MAX_IN > p->len + 40 ? MAX_IN - p->len - 40 : 0, off;

	if (frag_tail) { /* a later fragment: no L4 header */
		pkt_payload(p, pick_paylen(room), (uint8_t)rnd64());
		return;
	}
	switch (proto) {
	case IPPROTO_UDP_:
		off = pkt_udp(p, (uint16_t)rnd64(), chance(20) ? 53 : (uint16_t)rnd64());
		pkt_payload(p, pick_paylen(room), (uint8_t)rnd64());
		pkt_udp_end(p, ipo, off, chance(80));
		break;
	case IPPROTO_TCP_:
		off = pkt_tcp(p, (uint16_t)rnd64(), (uint16_t)rnd64(), (uint32_t)rnd64(), (uint32_t)rnd64(),
			      (uint8_t)rnd64());
		pkt_payload(p, pick_paylen(room), (uint8_t)rnd64());
		pkt_tcp_end(p, ipo, off);
		break;
	case IPPROTO_ICMP_:
		off = pkt_icmp_echo(p, chance(80) ? ICMP_ECHO_ : (uint8_t)rnd(20), (uint16_t)rnd64(), (uint16_t)rnd64());
		pkt_payload(p, pick_paylen(room), (uint8_t)rnd64());
		pkt_icmp_end(p, off);
		break;
	case 58: /* ICMPv6 echo request */
		off = pkt_icmp_echo(p, 128, (uint16_t)rnd64(), (uint16_t)rnd64());
		pkt_payload(p, pick_paylen(room), (uint8_t)rnd64());
		pkt_put16(p, off + 2, 0);
		pkt_put16(p, off + 2, csum_fold(csum_add(pkt_pseudo_sum(p, ipo, 58, p->len - off), p->b + off,
							 p->len - off)));
		break;
	default:
		pkt_payload(p, pick_paylen(room), (uint8_t)rnd64());
		break;
	}
}

static uint8_t pick_proto(bool v6)
{
	switch (rnd(10)) {
	case 0: case 1: case 2: case 3: return IPPROTO_UDP_;
	case 4: case 5: case 6: return IPPROTO_TCP_;
	case 7: return v6 ? 58 : IPPROTO_ICMP_;
	case 8: return chance(50) ? IPPROTO_SCTP_ : IPPROTO_GRE_;
	default: return (uint8_t)rnd64();
	}
}

static uint8_t pick_ttl(void)
{
	switch (rnd(10)) {
	case 0: return (uint8_t)rnd(3); /* 0, 1, 2 */
	case 1: return (uint8_t)rnd64();
	default: return 64;
	}
}

/* An IPv4 packet src -> dst (options, fragments and DF at times). */
static size_t build_ip4(struct pkt *p, uint32_t src, uint32_t dst)
{
	struct ipv4_spec s = { .ttl = pick_ttl(), .proto = pick_proto(false), .src = src, .dst = dst,
			       .id = (uint16_t)rnd64() };
	bool tail = false;
	size_t ipo;

	if (chance(12))
		s.ihl = (uint8_t)(6 + rnd(10));
	if (chance(50))
		s.frag = IP_DF_;
	if (chance(10)) {
		s.frag = (uint16_t)(chance(50) ? IP_MF_ : 0) | (uint16_t)(chance(60) ? 1 + rnd(200) : 0);
		tail = (s.frag & 0x1fff) != 0;
	}
	if (chance(10))
		s.tos = (uint8_t)rnd64();
	ipo = pkt_ipv4(p, &s);
	build_l4(p, ipo, s.proto, tail);
	pkt_ipv4_end(p, ipo);
	if (n_ip4 < 4)
		ip4_offs[n_ip4++] = ipo;
	return ipo;
}

/* IPv6 extension headers in front of the upper layer: hop-by-hop, routing, fragment, destination options. */
static size_t build_ip6(struct pkt *p, const uint8_t src[16], const uint8_t dst[16])
{
	static const uint8_t ext_types[] = { 0, 43, 44, 60 };
	uint8_t chain[4], proto = pick_proto(true);
	int next = 0;
	bool tail = false;
	size_t ipo;

	if (chance(25))
		for (int n = 1 + (int)rnd(3); next < n; next++)
			chain[next] = ext_types[rnd(4)];
	ipo = pkt_ipv6(p, next ? chain[0] : proto, pick_ttl(), src, dst);
	for (int i = 0; i < next; i++) {
		uint8_t nh = i + 1 < next ? chain[i + 1] : proto;
		size_t off;

		switch (chain[i]) {
		case 43: /* routing: type 0..4, one address */
			off = pkt_push(p, 24);
			p->b[off] = nh;
			p->b[off + 1] = 2;
			p->b[off + 2] = (uint8_t)rnd(5);
			p->b[off + 3] = (uint8_t)rnd(2);
			rnd_bytes(p->b + off + 8, 16);
			break;
		case 44: /* fragment: offset 0 or not, more fragments or not */
			off = pkt_push(p, 8);
			p->b[off] = nh;
			pkt_put16(p, off + 2, (uint16_t)((chance(50) ? rnd(200) << 3 : 0) | rnd(2)));
			pkt_put32(p, off + 4, (uint32_t)rnd64());
			tail |= (pkt_get16(p, off + 2) >> 3) != 0;
			break;
		default: /* hop-by-hop or destination options: PadN, or a router alert then PadN */
			off = pkt_push(p, 8);
			p->b[off] = nh;
			if (chance(50)) {
				p->b[off + 2] = 5;
				p->b[off + 3] = 2;
				p->b[off + 6] = 1;
			} else {
				p->b[off + 2] = 1;
				p->b[off + 3] = 4;
			}
			break;
		}
	}
	build_l4(p, ipo, proto, tail);
	pkt_ipv6_end(p, ipo);
	return ipo;
}

/* Ethernet, with one or two VLAN tags now and then. */
static void build_eth(struct pkt *p, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	if (chance(4)) {
		bool qinq = chance(40);

		pkt_eth(p, dst, src, qinq ? ETHTYPE_QINQ : ETHTYPE_VLAN);
		if (qinq)
			pkt_vlan(p, (uint16_t)rnd(4096), ETHTYPE_VLAN);
		pkt_vlan(p, (uint16_t)rnd64(), type);
		return;
	}
	pkt_eth(p, dst, src, type);
}

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* A source address of VM s: its own, one routed to its vif, or not its own at all. */
static uint32_t vm_src4(int s)
{
	uint32_t k = rnd(20);

	if (s < 0 || k >= 17)
		return k == 19 ? 0 : pick_addr4(-1);
	if (k >= 14) {
		for (int tries = 0; tries < 8; tries++) {
			const struct froute *r = &routes[rnd((uint32_t)nroutes)];

			if (r->fam == 4 && route_to_vif(r, s))
				return get4(r->addr) | (r->plen < 32 ? (uint32_t)rnd64() & (~0u >> r->plen) : 0);
		}
	}
	return vifs[s].ip;
}

/* Neighbour solicitation (or another ICMPv6 message of NDP/MLD) from VM s. */
static void build_ndp(struct pkt *p, int s, const uint8_t *smac)
{
	uint8_t src[16], dst[16], target[16], mdst[6] = { 0x33, 0x33, 0xff };
	uint8_t type = chance(80) ? 135 : (uint8_t)(chance(70) ? 133 + rnd(5) : 128 + rnd(16));
	int vrf = s >= 0 ? vifs[s].vrf : 0;
	size_t ipo, off;

	switch (rnd(7)) {
	case 0: case 1: memcpy(target, s >= 0 && vifs[s].gw ? vifs[s].gw6 : vifs[0].gw6, 16); break;
	case 2: case 3: pick_addr6(vrf, target); break;
	case 4: map4to6(pick_addr4(-1), target); break;
	case 5: memcpy(target, vifs[s >= 0 ? s : 0].ip6, 16); break;
	default: pick_addr6(-1, target); break;
	}
	if (chance(15))
		memset(src, 0, 16); /* duplicate address detection */
	else if (chance(80))
		memcpy(src, vifs[s >= 0 ? s : 0].ip6, 16);
	else
		pick_addr6(-1, src);
	if (chance(65)) { /* solicited-node multicast group of the target */
		memset(dst, 0, 16);
		dst[0] = 0xff;
		dst[1] = 0x02;
		dst[11] = 1;
		dst[12] = 0xff;
		memcpy(dst + 13, target + 13, 3);
		memcpy(mdst + 3, target + 13, 3);
	} else {
		memcpy(dst, target, 16);
		memcpy(mdst, chance(50) ? bcast : vifs[rnd((uint32_t)nvifs)].mac, 6);
	}
	build_eth(p, mdst, smac, ETHTYPE_IPV6);
	ipo = pkt_ipv6(p, 58, chance(85) ? 255 : pick_ttl(), src, dst);
	off = pkt_push(p, 8);
	p->b[off] = type;
	p->b[off + 1] = (uint8_t)(chance(90) ? 0 : rnd64());
	if (type == 135 || type == 136 || type == 137)
		pkt_bytes(p, target, 16);
	if (chance(75)) { /* source link-layer address option */
		size_t o = pkt_push(p, 8);

		p->b[o] = 1;
		p->b[o + 1] = (uint8_t)(chance(90) ? 1 : rnd(3));
		memcpy(p->b + o + 2, smac, 6);
	}
	if (chance(10))
		pkt_payload(p, rnd(64), (uint8_t)rnd64());
	pkt_ipv6_end(p, ipo);
	pkt_put16(p, off + 2, csum_fold(csum_add(pkt_pseudo_sum(p, ipo, 58, p->len - off), p->b + off, p->len - off)));
}

/* A frame from VM s (s < 0: sent on a device that is no vif, as by vifs[0]'s VM). */
static void build_vm_frame(struct pkt *p, int s)
{
	const struct fvif *v = &vifs[s >= 0 ? s : 0];
	uint8_t smac[6], dmac[6];
	uint32_t k = rnd(100);

	memcpy(smac, chance(93) ? v->mac : vifs[rnd((uint32_t)nvifs)].mac, 6);
	if (chance(3))
		rnd_bytes(smac, 6);
	memcpy(dmac, chance(80) ? cfg.vr_mac : bcast, 6);
	pkt_init(p);
	n_ip4 = 0;
	if (k < 55) {
		build_eth(p, dmac, smac, ETHTYPE_IP);
		build_ip4(p, vm_src4(s), pick_addr4(v->vrf));
	} else if (k < 70) {
		uint32_t sip = chance(85) ? vm_src4(s) : 0, tip;
		uint8_t tha[6] = { 0 };

		switch (rnd(6)) {
		case 0: case 1: tip = v->gw ? v->gw : pick_addr4(v->vrf); break;
		case 2: tip = sip; break;
		default: tip = pick_addr4(v->vrf); break;
		}
		build_eth(p, chance(85) ? bcast : cfg.vr_mac, smac, ETHTYPE_ARP);
		pkt_arp(p, chance(88) ? ARP_REQUEST : (uint16_t)rnd(4), chance(92) ? smac : dmac, sip, tha, tip);
		if (chance(30))
			pkt_push(p, 18); /* Ethernet minimum-size padding */
	} else if (k < 80) {
		uint8_t src[16], dst[16];

		if (chance(85))
			memcpy(src, v->ip6, 16);
		else
			pick_addr6(-1, src);
		pick_addr6(v->vrf, dst);
		build_eth(p, dmac, smac, ETHTYPE_IPV6);
		build_ip6(p, src, dst);
	} else if (k < 92) {
		build_ndp(p, s, smac);
	} else if (k < 96) {
		static const uint16_t types[] = { ETHTYPE_IP, ETHTYPE_ARP, ETHTYPE_IPV6, ETHTYPE_MPLS, ETHTYPE_LLDP,
						  ETHTYPE_VLAN, 0x0000, 0xffff };
		size_t n = 14 + rnd(chance(80) ? 120 : 1600);

		p->len = n;
		rnd_bytes(p->b, n);
		if (chance(70))
			memcpy(p->b + 6, smac, 6);
		if (chance(70))
			pkt_put16(p, 12, types[rnd(sizeof(types) / sizeof(types[0]))]);
	} else {
		/* A tunnel packet from a VM: not for the fabric side to take. */
		size_t ipo, udpo;

		build_eth(p, dmac, smac, ETHTYPE_IP);
		ipo = pkt_ipv4(p, &(struct ipv4_spec){ .ttl = 64, .proto = IPPROTO_UDP_, .src = vm_src4(s),
						       .dst = HOST_IP });
		udpo = pkt_udp(p, 50000, VR_MPLS_UDP_PORT);
		pkt_mpls(p, labels[rnd((uint32_t)nlabels)].label, 0, true, 64);
		build_ip4(p, pick_addr4(-1), pick_addr4(-1));
		pkt_udp_end(p, ipo, udpo, false);
		pkt_ipv4_end(p, ipo);
		ip4_offs[n_ip4 < 4 ? n_ip4++ : 3] = ipo;
	}
}

static uint32_t pick_in_label(void)
{
	switch (rnd(10)) {
	case 0: return rnd(16);
	case 1: return 16 + rnd(3000);
	case 2: return rnd(1u << 20);
	default: return labels[rnd((uint32_t)nlabels)].label;
	}
}

static uint32_t pick_sender(void)
{
	switch (rnd(20)) {
	case 0: return stranger_eps[rnd(2)];
	case 1: return (uint32_t)rnd64();
	case 2: case 3: return configured_eps[rnd(2)];
	default: return remotes[rand_remote()].ip;
	}
}

/* A frame from the fabric: mostly MPLS-in-UDP or MPLS-over-GRE to this host, else the host's own traffic. */
static void build_fabric_frame(struct pkt *p)
{
	uint8_t nbr[6] = { 2, 0, 0, 0, 0, (uint8_t)(2 + rnd(3)) };
	uint32_t k = rnd(100), label = pick_in_label();
	const struct flabel *ml = model_label(label);
	int vrf = ml ? (ml->vif >= 0 ? vifs[ml->vif].vrf : ml->vrf) : -1;
	struct ipv4_spec o = { .ttl = chance(95) ? 64 : pick_ttl(), .src = pick_sender(),
			       .dst = chance(92) ? HOST_IP : pick_addr4(-1) };
	size_t ipo, l4o, inner;

	pkt_init(p);
	n_ip4 = 0;
	if (k >= 92) { /* the host's own: IPv4 to it, ARP, IPv6 */
		if (k < 96) {
			build_eth(p, fab_mac, nbr, ETHTYPE_IP);
			build_ip4(p, o.src, o.dst);
		} else if (k < 98) {
			build_eth(p, bcast, nbr, ETHTYPE_ARP);
			pkt_arp(p, ARP_REQUEST, nbr, o.src, (uint8_t[6]){ 0 }, HOST_IP);
		} else {
			uint8_t a[16], b[16];

			pick_addr6(-1, a);
			pick_addr6(-1, b);
			build_eth(p, fab_mac, nbr, ETHTYPE_IPV6);
			build_ip6(p, a, b);
		}
		return;
	}
	build_eth(p, fab_mac, nbr, ETHTYPE_IP);
	if (chance(8))
		o.ihl = (uint8_t)(6 + rnd(10));
	if (chance(4))
		o.frag = (uint16_t)(IP_MF_ | rnd(3));
	else if (chance(50))
		o.frag = IP_DF_;
	o.proto = k < 52 ? IPPROTO_UDP_ : k < 88 ? IPPROTO_GRE_ : (uint8_t)rnd64();
	ipo = pkt_ipv4(p, &o);
	l4o = p->len;
	if (o.proto == IPPROTO_UDP_) {
		uint16_t dport = chance(70) ? cfg.udp_port : chance(70) ? VR_MPLS_UDP_PORT_LEGACY : (uint16_t)rnd64();

		pkt_udp(p, (uint16_t)(49152 + rnd(16384)), dport);
	} else if (o.proto == IPPROTO_GRE_) {
		uint16_t flags = 0;

		if (chance(25)) {
			static const uint16_t f[] = { GRE_CSUM, GRE_CSUM, GRE_KEY, GRE_SEQ, GRE_ROUTING, GRE_STRICT, 1, 0x0040 };

			flags = f[rnd(sizeof(f) / sizeof(f[0]))];
			if (chance(20))
				flags |= f[rnd(sizeof(f) / sizeof(f[0]))];
		}
		pkt_gre(p, flags, chance(92) ? ETHTYPE_MPLS : chance(50) ? ETHTYPE_IP : (uint16_t)rnd64());
		/* The optional words (checksum, key, sequence number): random, or a label stack entry that a receiver
		 * misreading the GRE header would take for the label, then sometimes no label after them at all. */
		for (size_t w = l4o + 4; w + 4 <= p->len; w += 4)
			pkt_put32(p, w, chance(50) ? (uint32_t)rnd64() : (label & 0xfffff) << 12 | 1 << 8 | 64);
		if (p->len > l4o + 4 && chance(30))
			goto inner;
	}
	if (chance(6)) /* a deeper label stack: the top entry without bottom of stack */
		pkt_mpls(p, label, (uint8_t)rnd(8), false, 64);
	pkt_mpls(p, chance(6) ? pick_in_label() : label, (uint8_t)rnd(8), chance(96), (uint8_t)rnd64());
inner:
	inner = p->len;
	if (chance(75)) {
		build_ip4(p, pick_addr4(-1), pick_addr4(vrf));
	} else if (chance(70)) {
		uint8_t a[16], b[16];

		pick_addr6(-1, a);
		pick_addr6(vrf, b);
		build_ip6(p, a, b);
	} else {
		pkt_payload(p, rnd(80), (uint8_t)rnd64());
		if (p->len > inner)
			p->b[inner] = (uint8_t)(chance(50) ? 0x45 : rnd64());
	}
	if (o.proto == IPPROTO_UDP_)
		pkt_udp_end(p, ipo, l4o, chance(20));
	else if (o.proto == IPPROTO_GRE_)
		pkt_gre_end(p, l4o);
	pkt_ipv4_end(p, ipo);
	if (n_ip4 < 4)
		ip4_offs[n_ip4++] = ipo;
}

/* Damage the frame: bits, bytes, its end, its length fields; then fix the IPv4 checksums or not. */
static void mutate(struct pkt *p)
{
	for (int k = 1 + (int)rnd(3); k > 0; k--) {
		size_t head = p->len < 100 ? p->len : 100;

		switch (rnd(8)) {
		case 0: case 1:
			p->b[rnd((uint32_t)head)] ^= (uint8_t)(1u << rnd(8));
			break;
		case 2:
			p->b[rnd((uint32_t)p->len)] = (uint8_t)rnd64();
			break;
		case 3:
			p->len = 14 + rnd((uint32_t)(p->len - 14 + 1));
			break;
		case 4:
			if (p->len + 64 <= MAX_IN) {
				size_t n = 1 + rnd(64);

				rnd_bytes(p->b + p->len, n);
				p->len += n;
			}
			break;
		case 5: { /* a length field of an IPv4 header (total length), or of what follows it */
			size_t at;

			if (!n_ip4)
				break;
			at = ip4_offs[rnd((uint32_t)n_ip4)] + (chance(60) ? 2 : 20 + 4);
			if (at + 2 <= p->len) {
				uint16_t v = pkt_get16(p, at);

				pkt_put16(p, at, chance(50) ? (uint16_t)(v + (int)rnd(9) - 4) : (uint16_t)rnd64());
			}
			break;
		}
		case 6: { /* an interesting 16-bit value in the headers */
			static const uint16_t vals[] = { 0, 1, 0x7fff, 0x8000, 0xffff, 0x45, 0x0800, 0x8847 };
			size_t at = rnd((uint32_t)head);

			if (at + 2 <= p->len)
				pkt_put16(p, at, vals[rnd(sizeof(vals) / sizeof(vals[0]))]);
			break;
		}
		default: { /* a run of zeroes */
			size_t at = rnd((uint32_t)p->len), n = 1 + rnd(8);

			memset(p->b + at, 0, at + n <= p->len ? n : p->len - at);
			break;
		}
		}
	}
	if (p->len < 14)
		p->len = 14;
	if (chance(60))
		for (int i = n_ip4 - 1; i >= 0; i--)
			if (ip4_offs[i] + 20 <= p->len && (p->b[ip4_offs[i]] >> 4) == 4)
				pkt_ipv4_csum(p, ip4_offs[i]);
}

/* ---------------------------------------------------------------------------------------------------- */
/* Judging one run                                                                                      */

static bool ipv4_csum_ok(const uint8_t *ip, size_t avail)
{
	size_t hlen = (size_t)(ip[0] & 0xf) * 4;

	return hlen >= 20 && hlen <= avail && csum_fold(csum_add(0, ip, hlen)) == 0;
}

/* The IP packet at ip (avail bytes there): its declared length, or 0 if the header is not a valid one. */
static size_t ip_len(const uint8_t *ip, size_t avail)
{
	if (avail < 1)
		return 0;
	if ((ip[0] >> 4) == 4) {
		size_t hlen = (size_t)(ip[0] & 0xf) * 4, tot;

		if (avail < 20 || hlen < 20 || hlen > avail)
			return 0;
		tot = get2(ip + 2);
		return tot >= hlen ? tot : 0;
	}
	if ((ip[0] >> 4) == 6 && avail >= 40)
		return 40 + (size_t)get2(ip + 4);
	return 0;
}

/* Is the IP packet out (olen bytes) the input's IP packet at in (ilen bytes there), changed only in its TTL
 * (hop limit) and, for IPv4, its header checksum? The TTLs go to *ttl_in and *ttl_out. */
static bool same_packet(const uint8_t *out, size_t olen, const uint8_t *in, size_t ilen, int *ttl_in, int *ttl_out)
{
	bool v4 = olen >= 20 && (out[0] >> 4) == 4;
	size_t ttl = v4 ? 8 : 7;

	if (olen < 40 && !v4)
		return false;
	if (olen > ilen)
		return false;
	for (size_t i = 0; i < olen; i++) {
		if (i == ttl || (v4 && (i == 10 || i == 11)))
			continue;
		if (out[i] != in[i])
			return false;
	}
	*ttl_in = in[ttl];
	*ttl_out = out[ttl];
	return true;
}

/* A tunnel packet in a frame, as the RFCs lay it out (RFC 7510, RFC 2784/2890, RFC 3032): where the top label
 * and the inner packet are. Parsed independently of the datapath, so that a datapath that misreads a header
 * delivers by a label other than the one the frame carries, and the model catches it. */
struct tun {
	bool ok, gre;
	uint32_t src, dst;
	uint32_t shim;       /* the top MPLS entry */
	size_t inner;        /* offset of the inner packet */
	size_t inner_avail;  /* bytes the UDP datagram or GRE payload holds from there */
	uint16_t dport, sport, udp_len;
	size_t outer_hlen;
};

static struct tun parse_tunnel(const uint8_t *f, size_t len)
{
	struct tun t = { 0 };
	size_t hlen, tot, l4;

	if (len < 14 + 20 || get2(f + 12) != ETHTYPE_IP || (f[14] >> 4) != 4)
		return t;
	hlen = (size_t)(f[14] & 0xf) * 4;
	tot = get2(f + 16);
	if (hlen < 20 || tot < hlen || 14 + tot > len)
		return t;
	t.outer_hlen = hlen;
	t.src = get4(f + 14 + 12);
	t.dst = get4(f + 14 + 16);
	l4 = 14 + hlen;
	if (f[14 + 9] == IPPROTO_UDP_) {
		if (tot < hlen + 8 + 4)
			return t;
		t.sport = get2(f + l4);
		t.dport = get2(f + l4 + 2);
		t.udp_len = get2(f + l4 + 4);
		if (t.udp_len < 12 || t.udp_len > tot - hlen)
			return t;
		t.inner = l4 + 8 + 4;
		t.inner_avail = t.udp_len - 12;
	} else if (f[14 + 9] == IPPROTO_GRE_) {
		uint16_t flags;
		size_t glen = 4;

		if (tot < hlen + 4)
			return t;
		flags = get2(f + l4);
		if (get2(f + l4 + 2) != ETHTYPE_MPLS)
			return t;
		glen += (flags & (GRE_CSUM | GRE_ROUTING)) ? 4 : 0;
		glen += (flags & GRE_KEY) ? 4 : 0;
		glen += (flags & GRE_SEQ) ? 4 : 0;
		if (tot < hlen + glen + 4)
			return t;
		t.gre = true;
		t.inner = l4 + glen + 4;
		t.inner_avail = tot - hlen - glen - 4;
	} else {
		return t;
	}
	t.shim = get4(f + t.inner - 4);
	t.ok = true;
	return t;
}

/* What one run did. */
struct outcome {
	__u32 verdict;
	__u32 meta;
	const uint8_t *out;
	size_t olen;
	int nreasons;      /* drop reasons that moved */
	__s64 dsum;        /* by how much in all */
	__u32 reason;      /* the (last) one that moved */
	int ntx;           /* vifs whose tx moved */
	int tx_vif;
	__u64 tx_pkts, tx_bytes;
};

static int vif_by_id(__u32 id)
{
	for (int i = 0; i < nvifs; i++)
		if (vifs[i].v.vif_id == id)
			return i;
	return -1;
}

static const char *ip4s(uint32_t a)
{
	static char buf[4][16];
	static int n;
	char *b = buf[n++ & 3];

	snprintf(b, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
	return b;
}

/* ICMP / ICMPv6 checksums of a reply the vRouter made (ip: its IP header, len bytes of IP packet). */
static bool icmp_csum_ok(const uint8_t *ip, size_t len)
{
	if ((ip[0] >> 4) == 4) {
		size_t hlen = (size_t)(ip[0] & 0xf) * 4;

		return len > hlen && csum_fold(csum_add(0, ip + hlen, len - hlen)) == 0;
	} else {
		size_t l4 = len - 40;
		uint32_t sum = 58 + (uint32_t)l4;

		sum = csum_add(sum, ip + 8, 32);
		return csum_fold(csum_add(sum, ip + 40, l4)) == 0;
	}
}

/* A frame delivered to vif d that is not the sender's own packet: must be one of the answers the vRouter
 * gives a VM (ARP reply, ICMP fragmentation needed, neighbour advertisement, ICMPv6 packet too big), to the
 * VM that asked (s), about what its VRF routes. Returns the drop reason the answer counts (0: none). */
static __u32 judge_reply(int s, const struct pkt *in, const uint8_t *o, size_t olen, int d)
{
	const struct fvif *v = &vifs[s];
	const uint8_t *ip = o + 14;
	uint16_t type = get2(o + 12);

	if (d != s) {
		violation(C_ISOL, "a frame that is not the sender's packet went to %s, not back to the sender %s",
			  vifs[d].name, v->name);
		return 0;
	}
	if (type == ETHTYPE_ARP) {
		const uint8_t *a = o + 14, *q = in->b + 14;
		uint32_t tip;

		if (olen < 14 + 28 || get2(a) != 1 || get2(a + 2) != ETHTYPE_IP || a[4] != 6 || a[5] != 4 ||
		    get2(a + 6) != ARP_REPLY || memcmp(a + 8, cfg.vr_mac, 6) || memcmp(a + 18, v->mac, 6) ||
		    memcmp(a + 24, q + 14, 4) || memcmp(a + 14, q + 24, 4)) {
			violation(C_FORM, "ARP answer is not a reply from the vRouter's MAC to the asker");
			return 0;
		}
		ps[cur.prog].answer[0]++;
		tip = get4(a + 14);
		{
			uint8_t t[4];
			const struct froute *r;

			put4(t, tip);
			r = model_lookup(v->vrf, 4, t);
			if (tip != v->gw && (!r || r->nh.type == VR_NH_DISCARD))
				violation(C_ISOL, "ARP answered for %s, which VRF %u does not route (and is not the gateway)",
					  ip4s(tip), vrfs[v->vrf].id);
		}
		return 0;
	}
	if (type == ETHTYPE_IP && olen >= 14 + 20 + 8 + 20 && (ip[0] >> 4) == 4 && ip[9] == IPPROTO_ICMP_ &&
	    ip[(ip[0] & 0xf) * 4] == ICMP_DEST_UNREACH_ && ip[(ip[0] & 0xf) * 4 + 1] == ICMP_FRAG_NEEDED_) {
		size_t hlen = (size_t)(ip[0] & 0xf) * 4, qhl;
		const uint8_t *icmp = ip + hlen, *quote = icmp + 8, *orig = in->b + 14;
		uint32_t mtu = get2(icmp + 6);
		bool mtu_ok = false;
		uint8_t dst[4];
		const struct froute *r;

		if (get2(ip + 2) != olen - 14 || !ipv4_csum_ok(ip, olen - 14) || !icmp_csum_ok(ip, olen - 14))
			violation(C_FORM, "ICMP fragmentation needed: total length %u for %zu bytes, or a bad checksum",
				  get2(ip + 2), olen - 14);
		qhl = (size_t)(orig[0] & 0xf) * 4;
		if (get4(ip + 16) != get4(orig + 12) || olen < 14 + hlen + 8 + qhl || memcmp(quote, orig, qhl) ||
		    get4(ip + 12) != (v->gw ? v->gw : HOST_IP))
			violation(C_FORM, "ICMP fragmentation needed: not from the gateway to the sender quoting its header");
		memcpy(dst, orig + 16, 4);
		r = model_lookup(v->vrf, 4, dst);
		for (int i = -1; r && i < r->nmem; i++) {
			const struct fnh *n = i < 0 ? &r->nh : &r->mem[i];
			const struct remote *rm = n->type == VR_NH_TUNNEL ? remote_of(n->remote) : NULL;

			if (rm)
				mtu_ok |= mtu == (uint32_t)((rm->mtu ? rm->mtu : fabric_mtu) -
							   (n->encap == VR_ENCAP_GRE ? VR_ENCAP_OVERHEAD_GRE
										   : VR_ENCAP_OVERHEAD_UDP));
		}
		if (!mtu_ok)
			violation(C_FORM, "ICMP fragmentation needed with MTU %u: no tunnel of the route to %s has it", mtu,
				  ip4s(get4(orig + 16)));
		if (!(get2(orig + 6) & IP_DF_))
			violation(C_FORM, "ICMP fragmentation needed for a packet without DF");
		ps[cur.prog].answer[1]++;
		return VR_DROP_FRAG_NEEDED;
	}
	if (type == ETHTYPE_IPV6 && olen >= 14 + 40 + 8 && (ip[0] >> 4) == 6 && ip[6] == 58 &&
	    (ip[40] == 136 || ip[40] == 2)) {
		if ((size_t)get2(ip + 4) + 40 != olen - 14 || !icmp_csum_ok(ip, olen - 14))
			violation(C_FORM, "ICMPv6 %u: payload length %u for %zu bytes, or a bad checksum", ip[40],
				  get2(ip + 4), olen - 14 - 40);
		ps[cur.prog].answer[ip[40] == 2 ? 3 : 2]++;
		if (ip[40] == 2)
			return VR_DROP_PKT_TOO_BIG;
		if (olen < 14 + 40 + 24 || ip[7] != 255) {
			violation(C_FORM, "neighbour advertisement too short or with hop limit %u", ip[7]);
		} else {
			const struct froute *r = model_lookup(v->vrf, 6, ip + 48);

			if (memcmp(ip + 48, v->gw6, 16) && (!r || r->nh.type == VR_NH_DISCARD))
				violation(C_ISOL, "neighbour advertisement for an address VRF %u does not route",
					  vrfs[v->vrf].id);
		}
		return 0;
	}
	violation(C_FORM, "%s got a frame that is neither its packet nor an answer the vRouter gives", vifs[d].name);
	return 0;
}

/* A forwarded IP packet in an output frame (at ip, len bytes to the frame's end) against the input's at in
 * (avail bytes there): lengths, checksum, TTL. routed: from a VM (TTL one less), else decapsulated. */
static void judge_forwarded(const uint8_t *ip, size_t len, const uint8_t *in, size_t avail, bool routed,
			    const char *what)
{
	size_t want = ip_len(ip, len);
	int ti = 0, to = 0;

	if (!want || want != len) {
		violation(C_FORM, "%s: the IP header says %zu bytes, %zu are there", what, want, len);
		return;
	}
	if (!same_packet(ip, len, in, avail, &ti, &to)) {
		violation(C_FORM, "%s: not the input's packet (more changed than TTL and checksum)", what);
		return;
	}
	if ((ip[0] >> 4) == 4) {
		if (ipv4_csum_ok(in, avail) && !ipv4_csum_ok(ip, len))
			violation(C_FORM, "%s: IPv4 header checksum wrong", what);
		if (!ipv4_csum_ok(in, avail))
			ps[cur.prog].bad_csum_forwarded++;
	}
	/* Routed from a VM: one hop spent, and there must have been one to spend. Decapsulated: the sender spent
	 * it; what arrives goes to the VM as it is (a host accepts TTL 0 and 1, RFC 1122 3.2.1.7), or one less. */
	if (routed ? ti < 2 || to != ti - 1 : to != ti && (ti == 0 || to != ti - 1))
		violation(C_FORM, "%s: TTL %d became %d", what, ti, to);
}

static void judge_tunnelled(int s, const struct pkt *in, const uint8_t *o, size_t olen)
{
	struct tun t = parse_tunnel(o, olen);
	const struct remote *rm;
	const struct froute *r;
	const uint8_t *ip = o + 14;
	uint8_t dst[16];
	uint32_t label;

	if (!t.ok || t.outer_hlen != 20 || get2(ip + 2) + 14u != olen) {
		violation(C_ISOL, "redirected, not delivered to a vif, and not a tunnel packet of the right length");
		return;
	}
	label = t.shim >> 12;
	if (!ipv4_csum_ok(ip, 20))
		violation(C_FORM, "outer IPv4 header checksum wrong");
	if (t.src != HOST_IP || ip[8] != VR_OUTER_TTL)
		violation(C_FORM, "outer source %s TTL %u", ip4s(t.src), ip[8]);
	if (memcmp(o + 6, fab_mac, 6))
		violation(C_FORM, "outer source MAC is not the fabric's");
	rm = remote_of(t.dst);
	if (!rm || !rm->nbr)
		violation(C_ISOL, "tunnelled to %s, which has no underlay neighbour", ip4s(t.dst));
	else if (o[5] != rm->nbr || memcmp(o, (uint8_t[5]){ 2, 0, 0, 0, 0 }, 5))
		violation(C_FORM, "outer destination MAC is not the neighbour's towards %s", ip4s(t.dst));
	if (!t.gre && (t.dport != cfg.udp_port || t.udp_len != olen - 14 - 20 || t.sport < VR_SPORT_BASE))
		violation(C_FORM, "UDP port %u -> %u, length %u for %zu bytes", t.sport, t.dport, t.udp_len,
			  olen - 14 - 20);
	if (t.gre && (get2(o + 14 + 20) != 0 || t.inner != 14 + 20 + 8))
		violation(C_FORM, "GRE header with flags %#x", get2(o + 14 + 20));
	if (!(t.shim & 0x100))
		violation(C_FORM, "MPLS bottom of stack not set");
	if ((t.shim & 0xff) != ip[t.inner - 14 + ((ip[t.inner - 14] >> 4) == 4 ? 8 : 7)])
		violation(C_FORM, "MPLS TTL %u is not the inner packet's", t.shim & 0xff);
	/* The inner packet: the VM's, TTL one less. */
	judge_forwarded(o + t.inner, olen - t.inner, in->b + 14, in->len - 14, true, "tunnelled inner packet");
	/* Isolation: the ingress VRF's route for the destination names this remote host and label. */
	if ((in->b[14] >> 4) == 4 && in->len >= 14 + 20) {
		memcpy(dst, in->b + 14 + 16, 4);
		r = model_lookup(vifs[s].vrf, 4, dst);
	} else if (in->len >= 14 + 40) {
		memcpy(dst, in->b + 14 + 24, 16);
		r = model_lookup(vifs[s].vrf, 6, dst);
	} else {
		r = NULL;
	}
	if (!route_to_tunnel(r, t.dst, label, t.gre ? VR_ENCAP_GRE : VR_ENCAP_UDP))
		violation(C_ISOL, "tunnelled with label %u to %s (%s), which VRF %u's route for the destination does not "
			  "name", label, ip4s(t.dst), t.gre ? "GRE" : "UDP", vrfs[vifs[s].vrf].id);
}

/* Judge a run of program prog on frame in, received on vif s (vif programs; -1: a device that is no vif). */
static void judge(int prog, int s, const struct pkt *in, const struct outcome *oc)
{
	struct pstats *st = &ps[prog];
	bool vif_prog = prog == P_VIF_XDP || prog == P_VIF_TC;
	__u32 v = oc->verdict, dropv = is_xdp(prog) ? XDP_DROP : TC_ACT_SHOT;
	__u32 passv = is_xdp(prog) ? XDP_PASS : TC_ACT_OK, redirv = is_xdp(prog) ? XDP_REDIRECT : TC_ACT_REDIRECT;
	bool idle = (prog == P_VIF_TC && s >= 0 && !vifs[s].tc) || (prog == P_FAB_TC && !fabric_tc_mode);
	const uint8_t *o = oc->out;
	size_t olen = oc->olen;
	__u32 want_reason = 0;

	st->runs++;
	if (v != dropv && v != passv && v != redirv) {
		violation(C_VERDICT, "unexpected verdict %u", v);
		return;
	}
	if ((oc->meta && (v != XDP_PASS || !is_xdp(prog) || oc->meta != sizeof(struct vr_xdp_meta))) ||
	    (idle && (v != passv || oc->dsum || oc->ntx)))
		violation(C_VERDICT, "verdict %u with %u bytes of metadata%s", v, oc->meta,
			  idle ? ": this program must leave the frame to the other path" : "");
	if (v == dropv) {
		st->dropped++;
		if (oc->nreasons == 1 && oc->dsum == 1 && oc->reason < VR_DROP_MAX) {
			st->reason[oc->reason]++;
			if (show_reason == (int)oc->reason && shown_reason++ < 5) {
				printf("# seed %llu %s packet #%llu on %s (gso_size %u) dropped as %s:\n", (unsigned long long)seed,
				       prog_name[prog], (unsigned long long)cur.index, cur.dev, cur.gso_size,
				       vr_drop_name(oc->reason));
				hexdump("in", in->b, in->len);
			}
		} else
			violation(C_DROPS, "dropped, and %d drop reasons moved by %lld in all (must be one, by one)",
				  oc->nreasons, (long long)oc->dsum);
		if (oc->ntx)
			violation(C_DROPS, "dropped, yet the tx counter of %d vif(s) moved", oc->ntx);
		return;
	}
	if (oc->ntx > 1 || oc->tx_pkts > 1) {
		violation(C_DROPS, "the tx counters of %d vifs moved by %llu packets", oc->ntx,
			  (unsigned long long)oc->tx_pkts);
		return;
	}
	if (oc->ntx == 1) {
		int d = oc->tx_vif;
		const struct fvif *dv = &vifs[d];
		bool reply = false;

		st->delivered++;
		if (oc->tx_bytes != olen)
			violation(C_DROPS, "%s tx counted %llu bytes for a %zu-byte frame", dv->name,
				  (unsigned long long)oc->tx_bytes, olen);
		if (olen < 14) {
			violation(C_FORM, "a %zu-byte frame delivered", olen);
			return;
		}
		if (memcmp(o, dv->mac, 6))
			violation(C_ISOL, "delivered to %s with a destination MAC that is not its VM's", dv->name);
		if (memcmp(o + 6, cfg.vr_mac, 6))
			violation(C_FORM, "delivered to %s with a source MAC that is not the vRouter's", dv->name);
		if (vif_prog) {
			int ti = 0, to = 0;
			size_t ilen;

			if (s < 0) {
				violation(C_ISOL, "a frame from a device that is no vif went to %s", dv->name);
				return;
			}
			if (dv->vrf != vifs[s].vrf)
				violation(C_ISOL, "a frame from %s (VRF %u) went to %s in VRF %u", vifs[s].name,
					  vrfs[vifs[s].vrf].id, dv->name, vrfs[dv->vrf].id);
			/* The sender's own packet (routed), or else an answer to it. */
			ilen = ip_len(in->b + 14, in->len - 14);
			if (get2(o + 12) != ETHTYPE_ARP && get2(in->b + 12) == get2(o + 12) && ilen &&
			    ilen <= in->len - 14 && olen - 14 == ilen &&
			    same_packet(o + 14, olen - 14, in->b + 14, in->len - 14, &ti, &to)) {
				uint8_t dst[16];
				int fam = (in->b[14] >> 4) == 4 ? 4 : 6;

				memset(dst, 0, 16);
				memcpy(dst, in->b + 14 + (fam == 4 ? 16 : 24), fam == 4 ? 4 : 16);
				if (!route_to_vif(model_lookup(vifs[s].vrf, fam, dst), d))
					violation(C_ISOL, "a packet from %s went to %s, which VRF %u's route for its "
						  "destination does not name", vifs[s].name, dv->name, vrfs[vifs[s].vrf].id);
				judge_forwarded(o + 14, olen - 14, in->b + 14, in->len - 14, true, "routed packet");
				st->delivered6 += fam == 6;
			} else {
				reply = true;
				st->replies++;
				st->delivered--;
				want_reason = judge_reply(s, in, o, olen, d);
			}
		} else {
			struct tun t = parse_tunnel(in->b, in->len);
			const struct flabel *l;

			if (!t.ok) {
				violation(C_ISOL, "%s got a frame from the fabric that is no tunnel packet", dv->name);
				return;
			}
			if (!endpoint_may_be_known(t.src))
				violation(C_ISOL, "%s got a tunnel packet from %s, never a known endpoint", dv->name,
					  ip4s(t.src));
			l = model_label(t.shim >> 12);
			if (!l) {
				violation(C_ISOL, "%s got a packet with label %u, which was never bound", dv->name,
					  t.shim >> 12);
			} else if (l->vif >= 0) {
				if (l->vif != d)
					violation(C_ISOL, "label %u is %s's, the packet went to %s", l->label,
						  vifs[l->vif].name, dv->name);
			} else {
				uint8_t dst[16];
				int fam = t.inner < in->len && (in->b[t.inner] >> 4) == 4 ? 4 : 6;

				memset(dst, 0, 16);
				if (t.inner + (fam == 4 ? 20 : 40) <= in->len)
					memcpy(dst, in->b + t.inner + (fam == 4 ? 16 : 24), fam == 4 ? 4 : 16);
				if (dv->vrf != l->vrf)
					violation(C_ISOL, "label %u is VRF %u's, the packet went to %s in VRF %u", l->label,
						  vrfs[l->vrf].id, dv->name, vrfs[dv->vrf].id);
				else if (!route_to_vif(model_lookup(l->vrf, fam, dst), d))
					violation(C_ISOL, "label %u (VRF %u): the packet went to %s, which the VRF's route "
						  "for its destination does not name", l->label, vrfs[l->vrf].id, dv->name);
			}
			judge_forwarded(o + 14, olen - 14, in->b + t.inner, in->len - t.inner, false, "decapsulated packet");
			st->delivered6 += (o[14] >> 4) == 6;
		}
		/* How it went there: XDP redirects to a vif in mode xdp and hands a frame for a vif in mode tc over to
		 * TC (XDP_PASS with the note naming the device); TC redirects; answers go back by redirect. */
		if (is_xdp(prog) && !reply) {
			bool handed = v == XDP_PASS && oc->meta == sizeof(struct vr_xdp_meta);
			__u32 note[2] = { 0, 0 };

			if (handed)
				memcpy(note, o - sizeof(note), sizeof(note));
			if (dv->tc ? !handed || note[0] != VR_META_MAGIC || note[1] != (__u32)dv->ifindex
				   : v != XDP_REDIRECT)
				violation(C_ISOL, "delivered to %s (mode %s) with verdict %u and hand-over note %#x -> "
					  "ifindex %u", dv->name, dv->tc ? "tc" : "xdp", v, note[0], note[1]);
		} else if (v != redirv) {
			violation(C_VERDICT, "%s with verdict %u", reply ? "an answer to the VM" : "delivered", v);
		}
	} else if (v == redirv) {
		if (!vif_prog || s < 0) {
			violation(C_ISOL, "redirected, but no vif's tx counter moved and a fabric frame is never tunnelled");
			return;
		}
		st->tunnelled++;
		st->tunnelled6 += olen > 14 && (in->b[14] >> 4) == 6;
		judge_tunnelled(s, in, o, olen);
	} else {
		st->passed++;
		if (olen != in->len || memcmp(o, in->b, olen))
			violation(C_FORM, "passed, but changed");
	}
	if (oc->dsum != (want_reason ? 1 : 0) || (want_reason && oc->reason != want_reason) || oc->nreasons > 1)
		violation(C_DROPS, "not dropped, yet %d drop reason(s) moved by %lld (reason %s; expected %s)",
			  oc->nreasons, (long long)oc->dsum, vr_drop_name(oc->reason),
			  want_reason ? vr_drop_name(want_reason) : "none");
}

/* ---------------------------------------------------------------------------------------------------- */
/* Running                                                                                              */

static struct pkt in_pkt;
static uint8_t out_buf[PKT_MAX + 256];

/* One test run of program prog on frame in, received on device ifindex; the output frame after any XDP
 * metadata. Returns 0 or -errno. */
static int run_prog(int prog, int ifindex, const struct pkt *in, __u16 gso_size, struct outcome *oc)
{
	int err;

	if (is_xdp(prog)) {
		struct xdp_md ctx = { .data_end = (__u32)in->len, .ingress_ifindex = (__u32)ifindex }, ctx_out = { 0 };
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->b, .data_size_in = (__u32)in->len, .data_out = out_buf,
			    .data_size_out = sizeof(out_buf), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
			    .ctx_out = &ctx_out, .ctx_size_out = sizeof(ctx_out), .repeat = 1);

		err = bpf_prog_test_run_opts(prog_fd[prog], &o);
		if (err)
			return err < 0 ? err : -errno;
		oc->verdict = o.retval;
		oc->meta = ctx_out.data;
		if (oc->meta > o.data_size_out)
			oc->meta = o.data_size_out;
		oc->out = out_buf + oc->meta;
		oc->olen = o.data_size_out - oc->meta;
	} else {
		struct __sk_buff ctx = { .ifindex = (__u32)ifindex, .gso_size = gso_size, .gso_segs = gso_size ? 2 : 0 };
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->b, .data_size_in = (__u32)in->len, .data_out = out_buf,
			    .data_size_out = sizeof(out_buf), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);

		err = bpf_prog_test_run_opts(prog_fd[prog], &o);
		if (err)
			return err < 0 ? err : -errno;
		oc->verdict = o.retval;
		oc->meta = 0;
		oc->out = out_buf;
		oc->olen = o.data_size_out;
	}
	return 0;
}

static bool counters_broken;

/* The kernel's skb test run refuses (EINVAL) a frame whose Ethertype is IPv4 or IPv6 but that is shorter than
 * Ethernet + the fixed IP header; such frames are not run on the TC programs (the XDP ones take them). */
static bool kernel_refuses_skb(const struct pkt *in)
{
	uint16_t type = pkt_get16(in, 12);

	return (type == ETHTYPE_IP && in->len < 14 + 20) || (type == ETHTYPE_IPV6 && in->len < 14 + 40);
}

static void run_and_judge(int prog, int s, int ifindex, const char *dev, const struct pkt *in, __u16 gso_size)
{
	struct outcome oc = { 0 };
	int err;

	cur = (typeof(cur)){ .prog = prog, .index = cur.index, .dev = dev, .in = in, .gso_size = gso_size };
	err = run_prog(prog, ifindex, in, gso_size, &oc);
	if (err == -EINVAL && !is_xdp(prog) && kernel_refuses_skb(in)) {
		ps[prog].refused++;
		return;
	}
	if (err) {
		ps[prog].errors++;
		violation(C_VERDICT, "the test run failed: %s", strerror(-err));
		counters_broken |= read_counters(drops_prev, st_prev) != 0;
		return;
	}
	if (read_counters(drops_now, st_now)) {
		counters_broken = true;
		return;
	}
	for (int r = 0; r < VR_DROP_MAX; r++) {
		__s64 d = (__s64)(drops_now[r] - drops_prev[r]);

		if (d) {
			oc.nreasons++;
			oc.dsum += d;
			oc.reason = (__u32)r;
		}
	}
	for (__u32 id = 0; id <= max_vif_id; id++) {
		__u64 p = st_now[id].tx_packets - st_prev[id].tx_packets;

		if (p) {
			oc.ntx++;
			oc.tx_vif = vif_by_id(id);
			oc.tx_pkts += p;
			oc.tx_bytes += st_now[id].tx_bytes - st_prev[id].tx_bytes;
		}
	}
	memcpy(drops_prev, drops_now, sizeof(drops_prev));
	memcpy(st_prev, st_now, sizeof(st_prev));
	cur.out = oc.out;
	cur.olen = oc.olen;
	cur.verdict = oc.verdict;
	if (oc.ntx == 1 && oc.tx_vif < 0) {
		violation(C_ISOL, "delivered to a vif id that is none of ours");
		return;
	}
	judge(prog, s, in, &oc);
}

static int n_fixed_routes, replaced, replace_failed;
static char replace_err[sizeof(setup_err) + 64];

/* Between batches: the fabric mode (which decides whether vr_fabric_tc decapsulates), and one route pointed
 * at another nexthop (the datapath's route cache must notice). */
static void batch_change(void)
{
	fabric_tc_mode = !chance(25);
	if (fabric_tc_mode)
		cfg.flags |= VR_CFG_F_FABRIC_TC;
	else
		cfg.flags &= ~VR_CFG_F_FABRIC_TC;
	if (bpf_map_update_elem(h.config_fd, &(__u32){ 0 }, &cfg, BPF_ANY)) {
		replace_failed++;
		snprintf(replace_err, sizeof(replace_err), "writing the configuration: %s", strerror(errno));
	}
	if (nroutes > n_fixed_routes && chance(60)) {
		int i = n_fixed_routes + (int)rnd((uint32_t)(nroutes - n_fixed_routes));
		struct froute r = routes[i];

		rand_nh(r.vrf, &r);
		if (route_install(&r, true)) {
			if (!replace_failed++)
				snprintf(replace_err, sizeof(replace_err), "%s", setup_err);
		} else {
			routes[i] = r;
			replaced++;
		}
	}
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct seed_result {
	int pass, fail;
	uint64_t packets, runs;
	double secs;
};

/* One seed, in a child: build everything, fuzz until the deadline or the packet limit, report. */
static void run_seed(struct seed_result *res, double seconds, uint64_t max_packets)
{
	static const char *const other_dev[] = { "fab0", "novif0", "lo" };
	uint64_t packets = 0, runs;
	double t0, t1;
	int nx = 0, nt = 0;
	cpu_set_t cpus;

	rng = seed;
	fabric_mtu = chance(75) ? 1500 : 9000;
	plan_tables();
	if (setup_isolation() || setup_devices() || setup_vrouter()) {
		check(false, "seed %llu setup: %s", (unsigned long long)seed, setup_err);
		goto out;
	}
	for (int i = 0; i < nvifs; i++) {
		nx += !vifs[i].tc;
		nt += vifs[i].tc;
		if (vifs[i].v.vif_id > max_vif_id)
			max_vif_id = vifs[i].v.vif_id;
	}
	n_fixed_routes = 2 * nvifs;
	ncpus = libbpf_num_possible_cpus();
	drop_vals = calloc((size_t)VR_DROP_MAX * ncpus, sizeof(*drop_vals));
	st_vals = calloc((size_t)(max_vif_id + 1) * ncpus, sizeof(*st_vals));
	if (ncpus <= 0 || !drop_vals || !st_vals || max_vif_id > MAX_VIFS + 1 || read_counters(drops_prev, st_prev)) {
		check(false, "seed %llu setup: reading the counters in batches failed: %s", (unsigned long long)seed,
		      strerror(errno));
		goto out;
	}
	{
		char ids[96] = "";
		size_t n = 0;
		int n4 = 0, n6 = 0;

		for (int i = 0; i < nroutes; i++)
			*(routes[i].fam == 4 ? &n4 : &n6) += 1;
		for (int i = 0; i < nvrfs && n < sizeof(ids); i++)
			n += (size_t)snprintf(ids + n, sizeof(ids) - n, "%s%u", i ? " " : "", vrfs[i].id);
		check(true, "seed %llu setup: %d VRFs (%s), %d vifs (%d mode xdp, %d mode tc), %d IPv4 and %d IPv6 routes, "
		      "%d labels (read back as bound), fabric MTU %u, UDP port %u", (unsigned long long)seed, nvrfs, ids,
		      nvifs, nx, nt, n4, n6, nlabels, fabric_mtu, cfg.udp_port);
	}
	/* Per-CPU counters are read whole, but one CPU keeps the runs' deltas apart from nothing else. */
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);

	t0 = now_s();
	for (packets = 0; !max_packets || packets < max_packets; packets++) {
		if (!(packets & 255) && now_s() - t0 > seconds)
			break;
		if (!(packets & 2047))
			batch_change();
		cur.index = packets;
		if (packets & 1) {
			int s = chance(3) ? -1 : (int)rnd((uint32_t)nvifs);
			const char *dev = s >= 0 ? vifs[s].name : other_dev[rnd(3)];
			int ifx = s >= 0 ? vifs[s].ifindex : (int)if_nametoindex(dev);

			build_vm_frame(&in_pkt, s);
			if (chance(25))
				mutate(&in_pkt);
			run_and_judge(P_VIF_XDP, s, ifx, dev, &in_pkt, 0);
			run_and_judge(P_VIF_TC, s, ifx, dev, &in_pkt, chance(5) ? (__u16)(100 + rnd(1400)) : 0);
		} else {
			build_fabric_frame(&in_pkt);
			if (chance(25))
				mutate(&in_pkt);
			run_and_judge(P_FAB_XDP, -1, fab_ifindex, "fab0", &in_pkt, 0);
			run_and_judge(P_FAB_TC, -1, fab_ifindex, "fab0", &in_pkt, chance(5) ? (__u16)(100 + rnd(1400)) : 0);
		}
		if (counters_broken)
			break;
	}
	t1 = now_s();
	runs = 0;
	for (int p = 0; p < NPROG; p++)
		runs += ps[p].runs;
	if (counters_broken)
		check(false, "seed %llu: reading the counters failed after packet #%llu: %s", (unsigned long long)seed,
		      (unsigned long long)packets, strerror(errno));
	for (int p = 0; p < NPROG; p++) {
		struct pstats *s = &ps[p];
		char reasons[1024] = "";
		size_t n = 0;
		int distinct = 0;

		for (int r = 1; r < VR_DROP_MAX; r++)
			if (s->reason[r]) {
				distinct++;
				n += (size_t)snprintf(reasons + n, n < sizeof(reasons) ? sizeof(reasons) - n : 0, " %s:%llu",
						      vr_drop_name((__u32)r), (unsigned long long)s->reason[r]);
			}
		printf("# seed %llu %s: %llu runs, %llu delivered (%llu IPv6), %llu tunnelled (%llu IPv6), %llu answers (ARP %llu, "
		       "frag needed %llu, NA %llu, too big %llu), %llu passed, %llu dropped (%d reasons:%s), %llu frames "
		       "refused by the skb test run\n", (unsigned long long)seed, prog_name[p], (unsigned long long)s->runs,
		       (unsigned long long)s->delivered, (unsigned long long)s->delivered6, (unsigned long long)s->tunnelled,
		       (unsigned long long)s->tunnelled6, (unsigned long long)s->replies, (unsigned long long)s->answer[0],
		       (unsigned long long)s->answer[1], (unsigned long long)s->answer[2], (unsigned long long)s->answer[3],
		       (unsigned long long)s->passed, (unsigned long long)s->dropped, distinct, reasons,
		       (unsigned long long)s->refused);
		if (s->bad_csum_forwarded)
			printf("# seed %llu %s: %llu packets with a wrong IPv4 header checksum were forwarded (not verified)\n",
			       (unsigned long long)seed, prog_name[p], (unsigned long long)s->bad_csum_forwarded);
		for (int c = 0; c < NCLASS; c++)
			check(!s->violations[c], "seed %llu %s %s: %llu runs, %llu violations", (unsigned long long)seed,
			      prog_name[p], class_name[c], (unsigned long long)s->runs, (unsigned long long)s->violations[c]);
	}
	/* The fuzzer reached the deep paths of every program, or its templates are broken. */
	check(ps[P_VIF_XDP].delivered && ps[P_VIF_XDP].tunnelled && ps[P_VIF_XDP].replies && ps[P_VIF_XDP].passed,
	      "seed %llu vr_vif_xdp coverage: delivered, tunnelled, answered and passed frames", (unsigned long long)seed);
	check(ps[P_VIF_TC].delivered && ps[P_VIF_TC].tunnelled && ps[P_VIF_TC].replies,
	      "seed %llu vr_vif_tc coverage: delivered, tunnelled and answered frames", (unsigned long long)seed);
	check(ps[P_FAB_XDP].delivered && ps[P_FAB_XDP].passed, "seed %llu vr_fabric_xdp coverage: delivered and passed "
	      "frames", (unsigned long long)seed);
	check(ps[P_FAB_TC].delivered && ps[P_FAB_TC].passed, "seed %llu vr_fabric_tc coverage: delivered and passed "
	      "frames", (unsigned long long)seed);
	check(!replace_failed, "seed %llu: %d route replacements and fabric mode flips between batches%s%s",
	      (unsigned long long)seed, replaced, replace_failed ? ": " : "", replace_failed ? replace_err : "");
	printf("# seed %llu: %llu packets, %llu program runs in %.1f s (%.0f packets/s, %.0f runs/s)\n",
	       (unsigned long long)seed, (unsigned long long)packets, (unsigned long long)runs, t1 - t0,
	       (double)packets / (t1 - t0), (double)runs / (t1 - t0));
	res->packets = packets;
	res->runs = runs;
	res->secs = t1 - t0;
out:
	res->pass = n_pass;
	res->fail = n_fail;
	/* Devices, pins and mounts go with the namespaces when the child exits. */
}

static uint64_t fork_seed(uint64_t sd, double seconds, uint64_t max_packets, struct seed_result *total)
{
	struct seed_result r = { 0 };
	int fds[2], st = 0;
	pid_t pid;

	if (pipe(fds)) {
		perror("pipe");
		total->fail++;
		return 0;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		total->fail++;
		return 0;
	}
	if (pid == 0) {
		close(fds[0]);
		seed = sd;
		run_seed(&r, seconds, max_packets);
		fflush(stdout);
		if (write(fds[1], &r, sizeof(r)) != sizeof(r))
			_exit(2);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &r, sizeof(r)) != sizeof(r))
		r = (struct seed_result){ .fail = 1 };
	close(fds[0]);
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		printf("FAIL seed %llu: the fuzzing process ended abnormally (status %#x)\n", (unsigned long long)sd, st);
		r.fail++;
	}
	total->pass += r.pass;
	total->fail += r.fail;
	total->packets += r.packets;
	total->runs += r.runs;
	total->secs += r.secs;
	return r.packets;
}

static void usage(void)
{
	fprintf(stderr, "usage: fuzz_pkt [--short | --long] [--seconds N] [--seed S] [--packets N] [-v]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct seed_result total = { 0 };
	double seconds = -1;
	uint64_t one_seed = 0, max_packets = 0;
	bool have_seed = false, lng = false;
	const char *env;
	char *end;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--short")) {
			lng = false;
		} else if (!strcmp(a, "--long")) {
			lng = true;
		} else if (!strcmp(a, "-v")) {
			verbose++;
		} else if ((!strcmp(a, "--seconds") || !strcmp(a, "--seed") || !strcmp(a, "--packets")) && i + 1 < argc) {
			unsigned long long v;

			errno = 0;
			v = strtoull(argv[++i], &end, 0);
			if (errno || *end || end == argv[i]) {
				fprintf(stderr, "Error: %s needs a number, not '%s'\n", a, argv[i]);
				usage();
			}
			if (!strcmp(a, "--seconds"))
				seconds = (double)v;
			else if (!strcmp(a, "--seed"))
				one_seed = v, have_seed = true;
			else
				max_packets = v;
		} else {
			fprintf(stderr, "Error: unknown argument '%s'\n", a);
			usage();
		}
	}
	if (geteuid() != 0) {
		printf("skip fuzz_pkt: needs root (namespaces, bpffs, BPF_PROG_TEST_RUN)\n");
		printf("0 passed, 0 failed, 1 skipped\n");
		return 0;
	}
	vr_set_verbosity(verbose);
	if ((env = getenv("FUZZ_PKT_SHOW")) && *env) {
		for (__u32 r = 1; r < VR_DROP_MAX; r++)
			if (!strcmp(vr_drop_name(r), env))
				show_reason = (int)r;
		if (show_reason < 0) {
			fprintf(stderr, "Error: FUZZ_PKT_SHOW=%s is no drop reason\n", env);
			return 2;
		}
	}
	if (have_seed) {
		fork_seed(one_seed, seconds > 0 ? seconds : (max_packets ? 1e9 : 12), max_packets, &total);
	} else if (lng) {
		/* make fuzz: FUZZ_PKT_SECONDS (300) in all, new tables every minute. */
		double all = seconds > 0 ? seconds : ((env = getenv("FUZZ_PKT_SECONDS")) ? atof(env) : 300), done = 0;
		uint64_t base = (uint64_t)time(NULL);

		if (all <= 0)
			all = 300;
		for (int i = 0; done < all; i++) {
			double t = all - done < 60 ? all - done : 60, t0 = now_s();

			fork_seed(base + (uint64_t)i * 7919, t, max_packets, &total);
			done += now_s() - t0;
		}
	} else {
		/* make check: a fixed seed, then one from the clock (printed, to rerun it with --seed). */
		double each = seconds > 0 ? seconds / 2 : 11;

		fork_seed(1, each, max_packets, &total);
		fork_seed((uint64_t)time(NULL), each, max_packets, &total);
	}
	if (total.secs > 0)
		printf("# in all: %llu packets, %llu program runs in %.1f s of fuzzing (%.0f packets/s, %.0f runs/s)\n",
		       (unsigned long long)total.packets, (unsigned long long)total.runs, total.secs,
		       (double)total.packets / total.secs, (double)total.runs / total.secs);
	printf("%d passed, %d failed\n", total.pass, total.fail);
	return total.fail ? 1 : 0;
}
