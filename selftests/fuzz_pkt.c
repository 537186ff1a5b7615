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
 * Odd seeds make the vRouter a gateway as well (vr_ext_xdp on an external NIC ext0 with routes to outside
 * prefixes; tenants with per-VRF labels, routes EXTERNAL, SNAT addresses with small and large port ranges,
 * floating IPs, random timeouts, sometimes a small connection table) and spend a third of their packets on it:
 * VMs' packets to the outside (TCP, UDP, ICMP echo and errors, other protocols, fragments; flows repeated)
 * through vr_fabric_xdp and vr_fabric_tc, and frames on ext0 through vr_ext_xdp (answers to the connections
 * the fuzzer saw leave, ICMP errors quoting what left, damaged or not, anything to the public addresses, the
 * host's own traffic, garbage). The gateway's invariants:
 *   (a) a packet out of ext0 leaves only towards a neighbour the host's routes give there, with the tenant's
 *       SNAT address and a port of its range or the VM's floating IP (never another tenant's), nothing changed
 *       but source, port, TTL (one less) and checksums, IPv4 and TCP/UDP/ICMP checksums valid if they were;
 *   (b) a packet to a public address delivered goes where the VRF of the floating IP's or connection's tenant
 *       routes that VM (tunnel or vif), with the VM's address and port (an ICMP error: by the connection of the
 *       packet it quotes, whose source and port are given back), checksums valid (the quoted IPv4 header's too);
 *   (c) a drop counts one reason once; vr_ext_xdp passes exactly the frames not to a public address, untouched;
 *       a refused new connection (nat_table_full) finds the table full;
 *   (d) the connection table, walked with vr_nat_foreach every 8192 packets: every outbound entry has its
 *       inbound twin naming the same tenant, VM and port, the tenant's address and range, no public side twice,
 *       and every live connection is one the fuzzer saw made (its model of connections is the outputs' public
 *       sides, and the table's entry for each packet it sent out).
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
#include "setup.h"

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

/* The gateway (odd seeds): an external NIC ext0 (100.100.0.1/24, neighbours .2 and .3, outside prefixes routed
 * through them, one behind a neighbour that never resolves), tenants whose VRFs route to the outside through
 * an EXTERNAL nexthop, their SNAT addresses (198.19.0.0/24) and floating IPs (198.19.1.0/24). */
#define EXT_IP IP4(100, 100, 0, 1)
#define SNAT_BASE IP4(198, 19, 0, 0)
#define FIP_BASE IP4(198, 19, 1, 0)
#define MAX_FIPS 16
#define CONN_SLOTS 32768
#define NRECENT 256
#define NFLOWS 128
#define NOUTS 64
static const uint8_t ext_mac[6] = { 2, 0, 0, 0, 0xe0, 1 };

/* The host's routes through ext0 as set up: nbr is the last MAC byte of the neighbour a packet to the prefix
 * leaves for (0: it must not leave: no neighbour, or the host's own address), mtu the route's (0: ext0's). */
struct ext_route {
	uint32_t addr, plen;
	int nbr;
	uint16_t mtu;
};
static const struct ext_route ext_routes[] = {
	{ IP4(100, 100, 0, 0), 24, 0, 0 },   /* the external subnet: no neighbour but .2 and .3; .1 is ours */
	{ IP4(100, 100, 0, 2), 32, 2, 0 },
	{ IP4(100, 100, 0, 3), 32, 3, 0 },
	{ IP4(93, 184, 216, 0), 24, 2, 0 },  /* via 100.100.0.2 */
	{ IP4(8, 8, 0, 0), 16, 3, 0 },       /* via 100.100.0.3 */
	{ IP4(45, 0, 0, 0), 8, 2, 1280 },    /* via 100.100.0.2, MTU 1280 */
	{ IP4(151, 101, 0, 0), 16, 0, 0 },   /* via 100.100.0.9, which never answers */
};

struct gtenant {
	bool gw;              /* routes to the outside */
	uint32_t snat;        /* 0: none */
	uint16_t pmin, pmax;
};
struct gfip {
	uint32_t pub, priv;
	int vrf;
};
/* A connection as the fuzzer saw it leave (or found it made for a packet it sent): its public side -> the VM. */
struct gconn {
	uint32_t pub, remote, vm;
	uint16_t pport, rport, vport;
	uint8_t proto, used;
	int vrf;
};
/* A flow a tenant's VM sent to the outside, to send more of it. */
struct gflow {
	int vrf;
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t proto;
};
/* A translated packet that left by ext0, for the ICMP errors that quote it. */
struct gout {
	uint8_t ip[192];
	size_t n;
};

static bool gw_seed;
static int ext_ifindex;
static struct gtenant gt[MAX_VRFS];
static struct gfip fips[MAX_FIPS];
static int nfips;
static struct vr_nat_config natcfg;
static __u32 nat_size;
static struct gconn *conns;
static int nconns;
static bool conns_full;
static uint32_t recent[NRECENT];
static unsigned nrecent;
static struct gflow flows[NFLOWS];
static unsigned nflows;
static struct gout outs[NOUTS];
static unsigned nouts;
static int gw_out_port; /* the public port the last vr_fabric_xdp run's output showed (-1: none) */

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

enum { P_VIF_XDP, P_VIF_TC, P_FAB_XDP, P_FAB_TC, P_EXT_XDP, NPROG };
static const char *const prog_name[NPROG] = { "vr_vif_xdp", "vr_vif_tc", "vr_fabric_xdp", "vr_fabric_tc",
					      "vr_ext_xdp" };
static const char *const prog_pin[NPROG] = { "prog_vr_vif_xdp", "prog_vr_vif_tc", "prog_vr_fabric_xdp",
					     "prog_vr_fabric_tc", "prog_vr_ext_xdp" };
enum { C_ISOL, C_FORM, C_DROPS, C_VERDICT, NCLASS };
static const char *const class_name[NCLASS] = { "(a) isolation", "(b) well-formed output", "(c) drop accounting",
						"(d) verdicts" };

static bool is_xdp(int p)
{
	return p == P_VIF_XDP || p == P_FAB_XDP || p == P_EXT_XDP;
}

static uint64_t seed;
static int verbose;
/* FUZZ_PKT_SHOW=REASON: print the first frames dropped for that reason (what reaches a path, for a report). */
static int show_reason = -1, shown_reason;
static int n_pass, n_fail;
static int prog_fd[NPROG] = { -1, -1, -1, -1, -1 };

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
	/* The gateway's: out of ext0 with the SNAT address or a floating IP, back in by connection, floating IP or
	 * as an ICMP error, tenant to tenant through a public address (hairpin). */
	uint64_t gw_snat, gw_fip, gw_in_conn, gw_in_fip, gw_in_err, gw_hairpin;
	uint64_t gw_lost; /* vr_ext_xdp: handed over to TC on ext0, where no TC program takes it (own check line) */
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

static struct vr_handle h;
static struct vr_config cfg;

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
	/* The gateway's external side, as ext_routes[] describes it. */
	if (gw_seed) {
		mac_str(ext_mac, m);
		if (sh("ip link add ext0 address %s type veth peer name ext0p", m) || sh("ip link set ext0 up") ||
		    sh("ip link set ext0p up") || sh("ip addr add 100.100.0.1/24 dev ext0") ||
		    sh("ip neigh replace 100.100.0.2 lladdr 02:00:00:00:e0:02 dev ext0 nud permanent") ||
		    sh("ip neigh replace 100.100.0.3 lladdr 02:00:00:00:e0:03 dev ext0 nud permanent") ||
		    sh("ip route add 93.184.216.0/24 via 100.100.0.2 dev ext0") ||
		    sh("ip route add 8.8.0.0/16 via 100.100.0.3 dev ext0") ||
		    sh("ip route add 45.0.0.0/8 via 100.100.0.2 dev ext0 mtu lock 1280") ||
		    sh("ip route add 151.101.0.0/16 via 100.100.0.9 dev ext0"))
			return -1;
		ext_ifindex = ifidx("ext0");
		if (ext_ifindex <= 0)
			return -1;
	}
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
	if (gw_seed && chance(5)) { /* out of the gateway, for this prefix only */
		r->nh = (struct fnh){ .type = VR_NH_EXTERNAL };
		return;
	}
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

/* ---------------------------------------------------------------------------------------------------- */
/* The gateway's model: tenants, public addresses, connections                                          */

static const char *ip4s(uint32_t a);

static bool is_public(uint32_t a)
{
	for (int v = 0; v < nvrfs; v++)
		if (gt[v].snat == a && a)
			return true;
	for (int i = 0; i < nfips; i++)
		if (fips[i].pub == a)
			return true;
	return false;
}

static const struct gfip *fip_by_pub(uint32_t a)
{
	for (int i = 0; i < nfips; i++)
		if (fips[i].pub == a)
			return &fips[i];
	return NULL;
}

static const struct gfip *fip_of(int vrf, uint32_t priv)
{
	for (int i = 0; i < nfips; i++)
		if (fips[i].vrf == vrf && fips[i].priv == priv)
			return &fips[i];
	return NULL;
}

static int vrf_index(__u32 id)
{
	for (int v = 0; v < nvrfs; v++)
		if (vrfs[v].id == id)
			return v;
	return -1;
}

/* The longest of ext_routes[] that covers a (NULL: no route through ext0 at all). */
static const struct ext_route *ext_route_of(uint32_t a)
{
	const struct ext_route *best = NULL;

	for (size_t i = 0; i < sizeof(ext_routes) / sizeof(ext_routes[0]); i++) {
		const struct ext_route *r = &ext_routes[i];

		if ((r->plen == 0 || ((a ^ r->addr) >> (32 - r->plen)) == 0) && (!best || r->plen > best->plen))
			best = r;
	}
	return best;
}

static uint32_t conn_hash(uint32_t pub, uint16_t pport, uint8_t proto, uint32_t remote, uint16_t rport)
{
	uint64_t z = ((uint64_t)pub << 32 | remote) ^ ((uint64_t)pport << 48 | (uint64_t)rport << 16 | proto);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)(z ^ (z >> 31));
}

/* The connection of a public side (pub:pport, proto, from remote:rport), found or (add) made. NULL: none, or
 * the model is full (conns_full: deliveries it cannot name are then not judged). */
static struct gconn *conn_slot(uint32_t pub, uint16_t pport, uint8_t proto, uint32_t remote, uint16_t rport, bool add)
{
	uint32_t s = conn_hash(pub, pport, proto, remote, rport) % CONN_SLOTS;

	if (!conns)
		return NULL;
	for (uint32_t i = 0; i < CONN_SLOTS; i++, s = (s + 1) % CONN_SLOTS) {
		struct gconn *c = &conns[s];

		if (!c->used) {
			if (!add)
				return NULL;
			if (nconns >= CONN_SLOTS * 3 / 4) {
				conns_full = true;
				return NULL;
			}
			nconns++;
			*c = (struct gconn){ .pub = pub, .pport = pport, .proto = proto, .remote = remote, .rport = rport,
					     .used = 1 };
			recent[nrecent++ % NRECENT] = s;
			return c;
		}
		if (c->pub == pub && c->pport == pport && c->proto == proto && c->remote == remote && c->rport == rport)
			return c;
	}
	return NULL;
}

/* The connection now holding a public side names this VM (a later one may take over an expired one's). */
static void conn_put(uint32_t pub, uint16_t pport, uint8_t proto, uint32_t remote, uint16_t rport, int vrf,
		     uint32_t vm, uint16_t vport)
{
	struct gconn *c = conn_slot(pub, pport, proto, remote, rport, true);

	if (c) {
		c->vrf = vrf;
		c->vm = vm;
		c->vport = vport;
	}
}

/* An address of a VM of tenant v: one its VRF routes to a vif or a tunnel. */
static uint32_t pick_tenant_vm(int v)
{
	for (int tries = 0; tries < 24; tries++) {
		const struct froute *r = &routes[rnd((uint32_t)nroutes)];

		if (r->vrf == v && r->fam == 4 && r->plen >= 8 &&
		    (r->nh.type == VR_NH_ENCAP || r->nh.type == VR_NH_TUNNEL || r->nh.type == VR_NH_COMPOSITE))
			return get4(r->addr) | (r->plen < 32 ? (uint32_t)rnd64() & (~0u >> r->plen) : 0);
	}
	return IP4(10, 0, rnd(16), 1 + rnd(250));
}

static bool vrf_has_label(int v)
{
	for (int i = 0; i < nlabels; i++)
		if (labels[i].vif < 0 && labels[i].vrf == v)
			return true;
	return false;
}

/* Add route r, or point the one with its prefix at r's nexthop (the model follows). */
static int route_set(const struct froute *r)
{
	for (int i = 0; i < nroutes; i++)
		if (routes[i].vrf == r->vrf && routes[i].fam == r->fam && routes[i].plen == r->plen &&
		    !memcmp(routes[i].addr, r->addr, 16)) {
			if (route_install(r, true))
				return -1;
			routes[i] = *r;
			return 0;
		}
	return add_route(r);
}

/* The gateway: ext0 with random timeouts; tenants (VRFs 0 and 1 and some more) with a per-VRF label (the far
 * ends send their VMs' outbound packets with it), a route to the outside (mostly 0.0.0.0/0), SNAT addresses
 * (some shared between tenants) with small or large port ranges, a tenant without one now and then, floating
 * IPs of VMs their VRFs route to. */
static int setup_gateway(void)
{
	struct vr_gateway_spec gs = { .ext_ifname = "ext0" };
	__u32 *t[4] = { &gs.timeout_tcp, &gs.timeout_tcp_transitory, &gs.timeout_udp, &gs.timeout_icmp };

	for (int i = 0; i < 4; i++)
		*t[i] = chance(40) ? 0 : chance(60) ? 1 + rnd(3) : 10 + rnd(50);
	if (vr_gateway_set(&h, &gs) || vr_gateway_get(&h, &natcfg))
		return setup_fail("vr_gateway_set ext0: %s", vr_strerror());
	for (int v = 0; v < nvrfs; v++) {
		struct gtenant *g = &gt[v];
		struct froute r = { .vrf = v, .fam = 4, .nh = { .type = VR_NH_EXTERNAL } };

		g->gw = v < 2 || chance(60);
		if (!g->gw)
			continue;
		if (!vrf_has_label(v)) {
			struct vr_label_req lr = { .label = rand_free_label(), .vrf_id = vrfs[v].id };

			if (vr_label_add(&h, &lr))
				return setup_fail("vr_label_add %u -> VRF %u: %s", lr.label, vrfs[v].id, vr_strerror());
			add_label(lr.label, -1, v);
		}
		if (chance(85)) {
			if (route_set(&r))
				return -1;
			if (chance(30)) {
				struct froute r6 = r;

				r6.fam = 6;
				if (route_set(&r6))
					return -1;
			}
		} else { /* only some of the outside */
			r.plen = 24;
			put4(r.addr, IP4(93, 184, 216, 0));
			if (route_set(&r))
				return -1;
			r.plen = 8;
			put4(r.addr, IP4(8, 0, 0, 0));
			if (route_set(&r))
				return -1;
		}
		if (v >= 2 && chance(15))
			continue; /* no public address: its packets out are counted drops */
		g->snat = v && chance(15) && gt[v - 1].snat ? gt[v - 1].snat : SNAT_BASE + 1 + (uint32_t)v;
		if (chance(40)) { /* a handful of ports: the port search and its failure */
			g->pmin = (uint16_t)(1024 + rnd(60000));
			g->pmax = (uint16_t)(g->pmin + rnd(8));
		} else if (chance(50)) {
			g->pmin = g->pmax = 0; /* the default 1024..65535 */
		} else {
			g->pmin = (uint16_t)(1 + rnd(30000));
			g->pmax = (uint16_t)(g->pmin + 1000 + rnd(34000));
		}
		if (vr_snat_set(&h, vrfs[v].id, htonl(g->snat), g->pmin, g->pmax))
			return setup_fail("vr_snat_set VRF %u %s %u-%u: %s", vrfs[v].id, ip4s(g->snat), g->pmin, g->pmax,
					  vr_strerror());
		if (!g->pmin && !g->pmax) {
			g->pmin = 1024;
			g->pmax = 65535;
		}
	}
	for (int k = 0; k < 8 && nfips < 1 + 2 * nvrfs && nfips < MAX_FIPS; k++) {
		int v = (int)rnd((uint32_t)nvrfs);
		struct gfip f = { .pub = FIP_BASE + 1 + (uint32_t)nfips, .vrf = v };

		if (!gt[v].gw && chance(70))
			f.vrf = v = 0;
		f.priv = pick_tenant_vm(v);
		if (fip_of(v, f.priv))
			continue;
		if (vr_fip_add(&h, htonl(f.pub), vrfs[v].id, htonl(f.priv)))
			return setup_fail("vr_fip_add %s -> %s in VRF %u: %s", ip4s(f.pub), ip4s(f.priv), vrfs[v].id,
					  vr_strerror());
		fips[nfips++] = f;
	}
	conns = calloc(CONN_SLOTS, sizeof(*conns));
	return conns ? 0 : setup_fail("out of memory");
}

static int setup_vrouter(void)
{
	struct vr_load_opts lo = { .fabric = "fab0", .host_ip = htonl(HOST_IP), .fabric_mode = VR_FABRIC_TC,
				   .udp_port = chance(80) ? 0 : (__u16)(6636 + rnd(100)) };
	struct lcheck lc = { 0 };
	char path[512];

	/* The connection table's size is fixed when the maps are made: a small one now and then (each seed loads
	 * afresh in its own bpffs), so that it fills up. */
	if (gw_seed && chance(30))
		lo.nat_entries = 2 + rnd(chance(50) ? 16 : 300);
	nat_size = lo.nat_entries ? lo.nat_entries : VR_MAX_NAT;
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
	if (build_tables() || (gw_seed && setup_gateway()))
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

/* Options (opt_pct % of packets), DF (half) and fragments (frag_pct %: first, middle or last) drawn into s.
 * Returns whether the packet is a later fragment (its L4 header is not there). */
static bool ip4_options_frag(struct ipv4_spec *s, uint32_t opt_pct, uint32_t frag_pct)
{
	bool tail = false;

	if (chance(opt_pct))
		s->ihl = (uint8_t)(6 + rnd(10));
	if (chance(50))
		s->frag = IP_DF_;
	if (chance(frag_pct)) {
		s->frag = (uint16_t)(chance(50) ? IP_MF_ : 0) | (uint16_t)(chance(60) ? 1 + rnd(200) : 0);
		tail = (s->frag & 0x1fff) != 0;
	}
	return tail;
}

/* An IPv4 packet src -> dst (options, fragments and DF at times). */
static size_t build_ip4(struct pkt *p, uint32_t src, uint32_t dst)
{
	struct ipv4_spec s = { .ttl = pick_ttl(), .proto = pick_proto(false), .src = src, .dst = dst,
			       .id = (uint16_t)rnd64() };
	bool tail = ip4_options_frag(&s, 12, 10);
	size_t ipo;

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

/* An address outside for a tenant's packet: behind ext0's routes mostly, else one without a way out there
 * (no neighbour, the host's own, the fabric's, a blackhole, nowhere), a public address (tenant to tenant
 * through the gateway), or one of the tables'. */
static uint32_t pick_outside(void)
{
	switch (rnd(20)) {
	case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7:
		return IP4(93, 184, 216, rnd(256));
	case 8: case 9: case 10:
		return IP4(8, 8, rnd(256), rnd(256));
	case 11:
		return IP4(45, rnd(256), rnd(256), rnd(256));
	case 12:
		return IP4(151, 101, rnd(256), rnd(256));
	case 13:
		return IP4(100, 100, 0, 1 + rnd(4));
	case 14: case 15: {
		int v = (int)rnd((uint32_t)nvrfs);

		return nfips && (chance(60) || !gt[v].snat) ? fips[rnd((uint32_t)nfips)].pub : gt[v].snat;
	}
	case 16:
		return chance(50) ? IP4(203, 0, 113, rnd(256)) : IP4(192, 0, 2, rnd(256));
	case 17:
		return (uint32_t)rnd64();
	default:
		return pick_addr4(-1);
	}
}

/* A source of tenant v: a VM with a floating IP, another one its VRF routes, or any address. */
static uint32_t pick_tenant_src(int v)
{
	int f[MAX_FIPS], n = 0;

	for (int i = 0; i < nfips; i++)
		if (fips[i].vrf == v)
			f[n++] = i;
	if (n && chance(30))
		return fips[f[rnd((uint32_t)n)]].priv;
	return chance(80) ? pick_tenant_vm(v) : IP4(10, 0, rnd(16), rnd(256));
}

static bool icmp_is_error(uint8_t type)
{
	return type == ICMP_DEST_UNREACH_ || type == 11 || type == 12;
}

/* The L4 part of a gateway test packet after the IPv4 header at ipo: TCP, UDP or ICMP echo with these ports
 * (ICMP: sport is the identifier, itype the type), an ICMP error quoting something made up, or bytes. */
static void build_gw_l4(struct pkt *p, size_t ipo, uint8_t proto, uint16_t sport, uint16_t dport, uint8_t itype,
			bool frag_tail)
{
	static const uint8_t flags[] = { TCP_SYN, TCP_SYN, TCP_ACK, TCP_ACK | TCP_PSH, TCP_SYN | TCP_ACK, TCP_FIN | TCP_ACK,
					 0x04, 0x14 };
	size_t room = MAX_IN > p->len + 40 ? MAX_IN - p->len - 40 : 0, off;

	if (frag_tail) {
		pkt_payload(p, pick_paylen(room), (uint8_t)rnd64());
		return;
	}
	switch (proto) {
	case IPPROTO_UDP_:
		off = pkt_udp(p, sport, dport);
		pkt_payload(p, pick_paylen(room), (uint8_t)rnd64());
		pkt_udp_end(p, ipo, off, chance(85));
		break;
	case IPPROTO_TCP_:
		off = pkt_tcp(p, sport, dport, (uint32_t)rnd64(), (uint32_t)rnd64(), flags[rnd(sizeof(flags))]);
		pkt_payload(p, pick_paylen(room), (uint8_t)rnd64());
		pkt_tcp_end(p, ipo, off);
		break;
	case IPPROTO_ICMP_:
		if (icmp_is_error(itype)) {
			struct pkt q;
			size_t qo;

			pkt_init(&q);
			qo = pkt_ipv4(&q, &(struct ipv4_spec){ .ttl = 64, .proto = IPPROTO_UDP_, .src = pick_outside(),
							       .dst = pick_outside() });
			pkt_udp(&q, (uint16_t)rnd64(), (uint16_t)rnd64());
			pkt_ipv4_end(&q, qo);
			off = pkt_icmp_error(p, itype, (uint8_t)rnd(16), 0, q.b, q.len);
		} else {
			off = pkt_icmp_echo(p, itype, sport, (uint16_t)rnd64());
			pkt_payload(p, pick_paylen(room), (uint8_t)rnd64());
		}
		pkt_icmp_end(p, off);
		break;
	default:
		pkt_payload(p, pick_paylen(room), (uint8_t)rnd64());
		break;
	}
}

/* An IPv4 packet for the gateway (options, DF, fragments and TTLs as build_ip4 has them). */
static size_t build_gw_ip(struct pkt *p, uint32_t src, uint32_t dst, uint8_t proto, uint16_t sport, uint16_t dport,
			  uint8_t itype)
{
	struct ipv4_spec s = { .ttl = chance(85) ? (uint8_t)(64 - rnd(8)) : pick_ttl(), .proto = proto, .src = src,
			       .dst = dst, .id = (uint16_t)rnd64() };
	bool tail = ip4_options_frag(&s, 6, 6);
	size_t ipo;

	ipo = pkt_ipv4(p, &s);
	build_gw_l4(p, ipo, proto, sport, dport, itype, tail);
	pkt_ipv4_end(p, ipo);
	if (n_ip4 < 4)
		ip4_offs[n_ip4++] = ipo;
	return ipo;
}

static uint16_t pick_port(void)
{
	static const uint16_t well_known[] = { 80, 443, 53, 123, 22, 179, 0, 65535 };

	return chance(40) ? well_known[rnd(sizeof(well_known) / sizeof(well_known[0]))] : (uint16_t)rnd64();
}

/* A VM's packet to the outside, tunnelled to the gateway with its tenant's per-VRF label: a flow seen before
 * (the same connection again) or a new one; TCP, UDP, ICMP echo, ICMP errors, other protocols, fragments. */
static void build_gw_fabric_frame(struct pkt *p)
{
	uint8_t nbr[6] = { 2, 0, 0, 0, 0, (uint8_t)(2 + rnd(3)) };
	uint32_t lab[MAX_LABELS];
	int v, nl = 0;
	struct gflow f;
	struct ipv4_spec o = { .ttl = 64, .dst = HOST_IP,
			       .src = chance(80) ? configured_eps[rnd(2)] : remotes[rand_remote()].ip };
	uint8_t itype = ICMP_ECHO_;
	size_t ipo, l4o;

	if (nflows && chance(45)) {
		f = flows[rnd(nflows < NFLOWS ? nflows : NFLOWS)];
		v = f.vrf;
	} else {
		uint32_t k = rnd(100);

		do
			v = (int)rnd((uint32_t)nvrfs);
		while (!gt[v].gw && chance(90));
		f = (struct gflow){ .vrf = v, .src = pick_tenant_src(v), .dst = pick_outside(),
				    .sport = chance(90) ? (uint16_t)(1024 + rnd(64512)) : (uint16_t)rnd64(),
				    .dport = pick_port() };
		f.proto = k < 35 ? IPPROTO_UDP_ : k < 65 ? IPPROTO_TCP_ : k < 88 ? IPPROTO_ICMP_ :
			  k < 94 ? IPPROTO_GRE_ : (uint8_t)rnd64();
		if (f.proto == IPPROTO_UDP_ || f.proto == IPPROTO_TCP_ || f.proto == IPPROTO_ICMP_)
			flows[nflows++ % NFLOWS] = f;
	}
	if (f.proto == IPPROTO_ICMP_ && chance(12))
		itype = chance(70) ? (uint8_t)(chance(50) ? ICMP_DEST_UNREACH_ : 11) : (uint8_t)rnd(20);
	for (int i = 0; i < nlabels; i++)
		if (labels[i].vif < 0 && labels[i].vrf == v)
			lab[nl++] = labels[i].label;
	pkt_init(p);
	n_ip4 = 0;
	build_eth(p, fab_mac, nbr, ETHTYPE_IP);
	o.proto = chance(70) ? IPPROTO_UDP_ : IPPROTO_GRE_;
	ipo = pkt_ipv4(p, &o);
	l4o = p->len;
	if (o.proto == IPPROTO_UDP_)
		pkt_udp(p, (uint16_t)(49152 + rnd(16384)), cfg.udp_port);
	else
		pkt_gre(p, 0, ETHTYPE_MPLS);
	pkt_mpls(p, nl ? lab[rnd((uint32_t)nl)] : pick_in_label(), (uint8_t)rnd(8), true, 64);
	build_gw_ip(p, f.src, f.dst, f.proto, f.sport, f.dport, itype);
	if (o.proto == IPPROTO_UDP_)
		pkt_udp_end(p, ipo, l4o, false);
	else
		pkt_gre_end(p, l4o);
	pkt_ipv4_end(p, ipo);
	if (n_ip4 < 4)
		ip4_offs[n_ip4++] = ipo;
}

/* A frame on ext0: an answer to a connection the fuzzer saw leave, something to a floating IP, an ICMP error
 * quoting a packet that left (as it left, or damaged), anything to a public address; and what is the host's:
 * to its own address (its BGP session), ARP, IPv6, other addresses; garbage. */
static void build_ext_frame(struct pkt *p)
{
	uint8_t border[6] = { 2, 0, 0, 0, 0xe0, (uint8_t)(2 + rnd(2)) };
	uint32_t k = rnd(100);

	pkt_init(p);
	n_ip4 = 0;
	if (k < 36 && nrecent) {
		const struct gconn *c = &conns[recent[rnd(nrecent < NRECENT ? nrecent : NRECENT)]];

		pkt_eth(p, ext_mac, border, ETHTYPE_IP);
		if (c->proto == IPPROTO_ICMP_)
			build_gw_ip(p, c->remote, c->pub, IPPROTO_ICMP_, c->pport, 0, chance(90) ? ICMP_ECHO_REPLY_ : ICMP_ECHO_);
		else
			build_gw_ip(p, c->remote, c->pub, c->proto, chance(95) ? c->rport : (uint16_t)rnd64(),
				    chance(95) ? c->pport : (uint16_t)(c->pport + 1), 0);
	} else if (k < 46 && nfips) {
		uint32_t q = rnd(10);
		uint8_t proto = q < 4 ? IPPROTO_TCP_ : q < 7 ? IPPROTO_UDP_ : q < 9 ? IPPROTO_ICMP_ : (uint8_t)rnd64();

		pkt_eth(p, ext_mac, border, ETHTYPE_IP);
		build_gw_ip(p, pick_outside(), fips[rnd((uint32_t)nfips)].pub, proto, (uint16_t)rnd64(), pick_port(),
			    chance(60) ? ICMP_ECHO_ : chance(50) ? ICMP_ECHO_REPLY_ : (uint8_t)rnd(20));
	} else if (k < 58 && nouts) {
		const struct gout *g = &outs[rnd(nouts < NOUTS ? nouts : NOUTS)];
		size_t hl = (size_t)(g->ip[0] & 0xf) * 4, qn, ipo, off;
		uint8_t q[sizeof(g->ip)], type;
		uint32_t dst = get4(g->ip + 12);

		switch (rnd(10)) {
		case 0: qn = hl + rnd(8); break;        /* too little of it */
		case 1: case 2: qn = g->n; break;       /* all we kept */
		default: qn = hl + 8; break;            /* RFC 792 */
		}
		if (qn > g->n)
			qn = g->n;
		memcpy(q, g->ip, qn);
		if (chance(20)) { /* a damaged quote: a byte of its headers, its header checksum fixed or not */
			q[rnd((uint32_t)(qn < 32 ? qn : 32))] ^= (uint8_t)(1u << rnd(8));
			if (chance(50) && qn >= 20) {
				uint16_t c;

				q[10] = q[11] = 0;
				c = csum_fold(csum_add(0, q, hl <= qn ? hl : qn));
				q[10] = (uint8_t)(c >> 8);
				q[11] = (uint8_t)c;
			}
		}
		if (chance(10))
			dst = pick_outside();
		type = chance(60) ? ICMP_DEST_UNREACH_ : chance(60) ? 11 : 12;
		pkt_eth(p, ext_mac, border, ETHTYPE_IP);
		ipo = pkt_ipv4(p, &(struct ipv4_spec){ .ttl = chance(95) ? 60 : pick_ttl(), .proto = IPPROTO_ICMP_,
						       .src = chance(50) ? IP4(100, 100, 0, 2) : get4(g->ip + 16), .dst = dst,
						       .id = (uint16_t)rnd64() });
		off = pkt_icmp_error(p, type, type == ICMP_DEST_UNREACH_ ? (uint8_t)(chance(60) ? ICMP_FRAG_NEEDED_ : rnd(16)) : 0,
				     type == ICMP_DEST_UNREACH_ ? 1280 : 0, q, qn);
		pkt_icmp_end(p, off);
		pkt_ipv4_end(p, ipo);
		ip4_offs[n_ip4++] = ipo;
	} else if (k < 68) {
		uint32_t q = rnd(10), dst;
		int v = (int)rnd((uint32_t)nvrfs);

		dst = gt[v].snat && (chance(70) || !nfips) ? gt[v].snat : nfips ? fips[rnd((uint32_t)nfips)].pub : EXT_IP;
		pkt_eth(p, ext_mac, border, ETHTYPE_IP);
		build_gw_ip(p, pick_outside(), dst, q < 4 ? IPPROTO_TCP_ : q < 7 ? IPPROTO_UDP_ : q < 9 ? IPPROTO_ICMP_ : (uint8_t)rnd64(),
			    (uint16_t)rnd64(), (uint16_t)rnd64(), chance(50) ? ICMP_ECHO_ : (uint8_t)rnd(20));
	} else if (k < 76) {
		pkt_eth(p, ext_mac, border, ETHTYPE_IP);
		build_gw_ip(p, IP4(100, 100, 0, 2), EXT_IP, IPPROTO_TCP_, 179, (uint16_t)rnd64(), 0);
	} else if (k < 81) {
		pkt_eth(p, bcast, border, ETHTYPE_ARP);
		pkt_arp(p, ARP_REQUEST, border, IP4(100, 100, 0, 2), (uint8_t[6]){ 0 }, chance(50) ? EXT_IP : pick_outside());
	} else if (k < 86) {
		pkt_eth(p, ext_mac, border, ETHTYPE_IP);
		build_gw_ip(p, pick_outside(), pick_outside(), IPPROTO_UDP_, (uint16_t)rnd64(), (uint16_t)rnd64(), 0);
	} else if (k < 90) {
		uint8_t a[16], b[16];

		pick_addr6(-1, a);
		pick_addr6(-1, b);
		pkt_eth(p, ext_mac, border, ETHTYPE_IPV6);
		build_ip6(p, a, b);
	} else {
		size_t n = 14 + rnd(chance(80) ? 80 : 1600);

		p->len = n;
		rnd_bytes(p->b, n);
		if (chance(70))
			pkt_put16(p, 12, ETHTYPE_IP);
		if (chance(60) && n >= 34)
			pkt_put32(p, 30, chance(50) && nfips ? fips[rnd((uint32_t)nfips)].pub : gt[0].snat);
	}
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

/* The outer headers of a tunnel packet this host sent (o, olen bytes): parsed into *t; false when it is none. */
static bool tunnel_outer_check(const uint8_t *o, size_t olen, struct tun *tp)
{
	struct tun t = parse_tunnel(o, olen);
	const struct remote *rm;
	const uint8_t *ip = o + 14;

	*tp = t;
	if (!t.ok || t.outer_hlen != 20 || get2(ip + 2) + 14u != olen) {
		violation(C_ISOL, "redirected, not delivered to a vif, and not a tunnel packet of the right length");
		return false;
	}
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
	return true;
}

static void judge_tunnelled(int s, const struct pkt *in, const uint8_t *o, size_t olen)
{
	const struct froute *r;
	uint8_t dst[16];
	uint32_t label;
	struct tun t;

	if (!tunnel_outer_check(o, olen, &t))
		return;
	label = t.shim >> 12;
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

/* ---------------------------------------------------------------------------------------------------- */
/* Judging the gateway: translated packets out of ext0, packets back in, tenant to tenant                */

/* An IPv4 packet as the gateway sees it, parsed here independently of the datapath. */
struct ip4i {
	bool ok;           /* version 4, IHL >= 5, total length within the bytes there */
	size_t hlen, tot;
	uint8_t proto, ttl;
	uint32_t src, dst;
	bool frag;         /* MF or an offset */
	bool l4;           /* the TCP (20 bytes), UDP or ICMP (8) header is there, in the first fragment */
	uint16_t sport, dport; /* TCP/UDP; ICMP echo: the identifier in sport */
	uint8_t itype;
	bool hcsum;        /* header checksum valid */
	int l4csum;        /* 1 valid, 0 wrong, 2 UDP without checksum, -1 not judged (fragment, other protocol) */
};

static struct ip4i ip4_parse(const uint8_t *ip, size_t avail)
{
	struct ip4i r = { .l4csum = -1 };
	const uint8_t *l4;
	size_t n;
	uint32_t sum;

	if (avail < 20 || (ip[0] >> 4) != 4 || (ip[0] & 0xf) < 5)
		return r;
	r.hlen = (size_t)(ip[0] & 0xf) * 4;
	r.tot = get2(ip + 2);
	if (r.hlen > avail || r.tot < r.hlen || r.tot > avail)
		return r;
	r.ok = true;
	r.proto = ip[9];
	r.ttl = ip[8];
	r.src = get4(ip + 12);
	r.dst = get4(ip + 16);
	r.frag = (get2(ip + 6) & 0x3fff) != 0;
	r.hcsum = csum_fold(csum_add(0, ip, r.hlen)) == 0;
	l4 = ip + r.hlen;
	n = r.tot - r.hlen;
	if (r.frag)
		return r;
	switch (r.proto) {
	case IPPROTO_TCP_:
	case IPPROTO_UDP_:
		if (n < (r.proto == IPPROTO_TCP_ ? 20u : 8u))
			return r;
		r.l4 = true;
		r.sport = get2(l4);
		r.dport = get2(l4 + 2);
		if (r.proto == IPPROTO_UDP_ && !get2(l4 + 6)) {
			r.l4csum = 2;
			return r;
		}
		sum = csum_add(r.proto + (uint32_t)n, ip + 12, 8);
		r.l4csum = csum_fold(csum_add(sum, l4, n)) == 0;
		return r;
	case IPPROTO_ICMP_:
		if (n < 8)
			return r;
		r.l4 = true;
		r.itype = l4[0];
		r.sport = get2(l4 + 4);
		r.l4csum = csum_fold(csum_add(0, l4, n)) == 0;
		return r;
	default:
		return r;
	}
}

/* The offset in the L4 header of the field that carries a packet's port (src: its source port; ICMP: the echo
 * identifier either way) and of its checksum. */
static size_t port_field(uint8_t proto, bool src)
{
	return proto == IPPROTO_ICMP_ ? 4 : src ? 0 : 2;
}

static size_t csum_field(uint8_t proto)
{
	return proto == IPPROTO_TCP_ ? 16 : proto == IPPROTO_UDP_ ? 6 : 2;
}

/* Are a and b (n bytes) equal but at the offsets of the skip ranges? */
struct skips {
	size_t off[12], len[12];
	int n;
};

static void skip(struct skips *s, size_t off, size_t len)
{
	if (s->n < 12) {
		s->off[s->n] = off;
		s->len[s->n++] = len;
	}
}

static bool same_but(const uint8_t *a, const uint8_t *b, size_t n, const struct skips *s)
{
	for (size_t i = 0; i < n; i++) {
		bool skipped = false;

		if (a[i] == b[i])
			continue;
		for (int k = 0; k < s->n && !skipped; k++)
			skipped = i >= s->off[k] && i < s->off[k] + s->len[k];
		if (!skipped)
			return false;
	}
	return true;
}

/* Checksums of a translated packet: valid wherever the input's were. */
static void gw_csums(const struct ip4i *in, const struct ip4i *out, const char *what)
{
	if (in->hcsum && !out->hcsum)
		violation(C_FORM, "%s: IPv4 header checksum wrong", what);
	if (in->l4csum == 1 && out->l4csum != 1)
		violation(C_FORM, "%s: %s checksum wrong (the input's was right)", what,
			  in->proto == IPPROTO_TCP_ ? "TCP" : in->proto == IPPROTO_UDP_ ? "UDP" : "ICMP");
	if (in->l4csum == 2 && out->l4csum != 2)
		violation(C_FORM, "%s: a UDP datagram without checksum got one", what);
}

/* The source translation of tenant vrf's packet in (out: as it left): the VM's floating IP, ports untouched,
 * or the tenant's own SNAT address with a port of its range; never another tenant's. Returns the floating IP
 * used (NULL: SNAT). */
static const struct gfip *gw_check_src(int vrf, const struct ip4i *in, const struct ip4i *out, bool ports,
				       const char *what)
{
	const struct gfip *f = fip_of(vrf, in->src);
	const struct gtenant *g = &gt[vrf];

	if (f) {
		if (out->src != f->pub)
			violation(C_ISOL, "%s: %s of VRF %u left as %s, not as its floating IP %s", what, ip4s(in->src),
				  vrfs[vrf].id, ip4s(out->src), ip4s(f->pub));
		else if (ports && in->l4 && out->sport != in->sport)
			violation(C_FORM, "%s: floating IP, yet the source port %u became %u", what, in->sport, out->sport);
		return f;
	}
	if (!g->snat) {
		violation(C_ISOL, "%s: translated to %s, but VRF %u has neither a SNAT address nor a floating IP for %s",
			  what, ip4s(out->src), vrfs[vrf].id, ip4s(in->src));
		return NULL;
	}
	if (out->src != g->snat) {
		const struct gfip *of = fip_by_pub(out->src);
		int other = -1;

		for (int v = 0; v < nvrfs; v++)
			if (gt[v].snat == out->src)
				other = v;
		violation(C_ISOL, "%s: VRF %u's packet from %s left as %s (%s), not as the tenant's SNAT address %s", what,
			  vrfs[vrf].id, ip4s(in->src), ip4s(out->src),
			  of ? "a floating IP" : other >= 0 ? "another tenant's SNAT address" : "no address of ours",
			  ip4s(g->snat));
	} else if (ports && (out->sport < g->pmin || out->sport > g->pmax)) {
		violation(C_ISOL, "%s: public port %u outside VRF %u's range %u-%u", what, out->sport, vrfs[vrf].id,
			  g->pmin, g->pmax);
	}
	return NULL;
}

/* Whom a packet to the public side (pub:pport, proto, from remote:rport) is for: the floating IP's VM (port
 * -1: ports untouched), or the VM of the connection the model has for it. */
struct gtarget {
	int vrf;
	uint32_t vm;
	int port;
	const char *how;
};

static bool gw_target(uint32_t pub, uint16_t pport, uint8_t proto, uint32_t remote, uint16_t rport, bool conn_ok,
		      struct gtarget *t)
{
	const struct gfip *f = fip_by_pub(pub);
	const struct gconn *c;

	if (f) {
		*t = (struct gtarget){ .vrf = f->vrf, .vm = f->priv, .port = -1, .how = "floating IP" };
		return true;
	}
	if (!conn_ok || !(c = conn_slot(pub, pport, proto, remote, proto == IPPROTO_ICMP_ ? 0 : rport, false)))
		return false;
	*t = (struct gtarget){ .vrf = c->vrf, .vm = c->vm, .port = c->vport, .how = "connection" };
	return true;
}

/* A packet for the VM of target tg: where it went (tunnelled, or vif d) must be where tg's VRF routes the VM.
 * Returns the inner packet's offset in o (0: none). */
static size_t gw_check_dest(const struct gtarget *tg, const uint8_t *o, size_t olen, int d, const char *what)
{
	const struct froute *r;
	uint8_t a[4];
	struct tun t;

	put4(a, tg->vm);
	r = model_lookup(tg->vrf, 4, a);
	if (d >= 0) {
		if (!route_to_vif(r, d))
			violation(C_ISOL, "%s: delivered to %s (VRF %u), which VRF %u's route for %s (the %s's VM) does not "
				  "name", what, vifs[d].name, vrfs[vifs[d].vrf].id, vrfs[tg->vrf].id, ip4s(tg->vm), tg->how);
		if (memcmp(o, vifs[d].mac, 6) || memcmp(o + 6, cfg.vr_mac, 6) || get2(o + 12) != ETHTYPE_IP)
			violation(C_FORM, "%s: Ethernet header for %s is not vRouter -> its VM, IPv4", what, vifs[d].name);
		return 14;
	}
	if (!tunnel_outer_check(o, olen, &t))
		return 0;
	if (!route_to_tunnel(r, t.dst, t.shim >> 12, t.gre ? VR_ENCAP_GRE : VR_ENCAP_UDP))
		violation(C_ISOL, "%s: tunnelled with label %u to %s, which VRF %u's route for %s (the %s's VM) does not "
			  "name", what, t.shim >> 12, ip4s(t.dst), vrfs[tg->vrf].id, ip4s(tg->vm), tg->how);
	return t.inner;
}

/* A packet to a public address went to a VM (tunnelled, or to vif d): in is it as it reached the gateway's
 * inbound half (from outside, or a tenant's translated one: hairpin, vrf its source tenant, spent the TTL
 * one more hop), o the output frame. */
static void gw_judge_in(const uint8_t *inb, const struct ip4i *in, const uint8_t *o, size_t olen, int d, int hairpin_vrf)
{
	struct pstats *st = &ps[cur.prog];
	const char *what = hairpin_vrf >= 0 ? "tenant to public address" : "from outside to a public address";
	bool err = in->proto == IPPROTO_ICMP_ && in->l4 && icmp_is_error(in->itype);
	struct ip4i pub = *in, out, q = { 0 };
	const struct gfip *sf = NULL;
	struct gtarget tg;
	struct skips sk = { .n = 0 };
	size_t io, qo = in->hlen + 8, qport = 0;
	bool found;

	if (!in->l4 && !err) {
		violation(C_ISOL, "%s: forwarded a packet without ports to translate (fragment or short)", what);
		return;
	}
	/* Tenant to tenant: the source as the outbound half made it (checked like a packet out of ext0). */
	if (hairpin_vrf >= 0) {
		size_t at = d >= 0 ? 14 : parse_tunnel(o, olen).inner;

		if (!at || at >= olen)
			return;
		out = ip4_parse(o + at, olen - at);
		if (!out.ok)
			goto bad_len;
		/* (An echo's identifier is also what the inbound half translates: not judged here.) */
		sf = gw_check_src(hairpin_vrf, in, &out, in->proto != IPPROTO_ICMP_, what);
		pub.src = out.src;
		if (!sf && in->proto != IPPROTO_ICMP_)
			pub.sport = out.sport;
	}
	if (err) {
		/* The error is about the packet it quotes: that packet's connection or floating IP. */
		if ((in->tot < qo + 20) || (inb[qo] >> 4) != 4 || (inb[qo] & 0xf) < 5) {
			violation(C_ISOL, "%s: an ICMP error whose quote is no IPv4 header was forwarded", what);
			return;
		}
		q.hlen = (size_t)(inb[qo] & 0xf) * 4;
		q.proto = inb[qo + 9];
		q.src = get4(inb + qo + 12);
		q.dst = get4(inb + qo + 16);
		q.hcsum = q.hlen <= in->tot - qo && csum_fold(csum_add(0, inb + qo, q.hlen)) == 0;
		qport = qo + q.hlen + port_field(q.proto, true);
		if (qport + 2 > in->tot && !fip_by_pub(q.src)) {
			violation(C_ISOL, "%s: an ICMP error whose quote is cut before its ports was forwarded", what);
			return;
		}
		found = gw_target(q.src, qport + 2 <= in->tot ? get2(inb + qport) : 0, q.proto, q.dst,
				  q.proto == IPPROTO_ICMP_ || qo + q.hlen + 4 > in->tot ? 0 : get2(inb + qo + q.hlen + 2),
				  q.proto == IPPROTO_TCP_ || q.proto == IPPROTO_UDP_ || q.proto == IPPROTO_ICMP_, &tg);
	} else {
		found = gw_target(pub.dst, pub.proto == IPPROTO_ICMP_ ? pub.sport : pub.dport, pub.proto, pub.src, pub.sport,
				  pub.proto != IPPROTO_ICMP_ || pub.itype == ICMP_ECHO_REPLY_, &tg);
	}
	if (!found) {
		if (!conns_full)
			violation(C_ISOL, "%s: delivered, but neither a floating IP nor a connection the fuzzer saw leave "
				  "names %s %s:%u -> %s:%u", what, err ? "the quoted" : "", ip4s(err ? q.dst : pub.src),
				  err ? 0 : pub.sport, ip4s(err ? q.src : pub.dst), err ? 0 : pub.dport);
		return;
	}
	io = gw_check_dest(&tg, o, olen, d, what);
	if (!io || io >= olen)
		return;
	out = ip4_parse(o + io, olen - io);
	if (!out.ok || out.tot != olen - io) {
bad_len:
		violation(C_FORM, "%s: the delivered packet's IPv4 header or length is wrong", what);
		return;
	}
	if (hairpin_vrf >= 0)
		st->gw_hairpin++;
	else if (err)
		st->gw_in_err++;
	else if (tg.port < 0)
		st->gw_in_fip++;
	else
		st->gw_in_conn++;
	/* The packet itself: the destination the VM's, its port the VM's (a connection), one hop spent (two
	 * tenant to tenant), nothing else changed but the checksums; an ICMP error's quote gets the VM's source
	 * address and port back. */
	if (out.dst != tg.vm || out.tot != in->tot || out.proto != in->proto ||
	    out.ttl != in->ttl - (hairpin_vrf >= 0 ? 2 : 1) || (hairpin_vrf < 0 && out.src != in->src))
		violation(C_ISOL, "%s: %s -> %s TTL %u came out as %s -> %s TTL %u; the %s names %s in VRF %u", what,
			  ip4s(in->src), ip4s(in->dst), in->ttl, ip4s(out.src), ip4s(out.dst), out.ttl, tg.how, ip4s(tg.vm),
			  vrfs[tg.vrf].id);
	skip(&sk, 8, 1);
	skip(&sk, 10, 2);
	skip(&sk, 16, 4);
	skip(&sk, in->hlen + csum_field(in->proto), 2);
	if (hairpin_vrf >= 0) {
		skip(&sk, 12, 4);
		skip(&sk, in->hlen + port_field(in->proto, true), 2);
	}
	if (err) {
		skip(&sk, qo + 10, 2);
		skip(&sk, qo + 12, 4);
		skip(&sk, qport, 2);
		if (get4(o + io + qo + 12) != tg.vm)
			violation(C_ISOL, "%s: the ICMP error's quote has source %s, not the VM's %s", what,
				  ip4s(get4(o + io + qo + 12)), ip4s(tg.vm));
		if (tg.port >= 0 && get2(o + io + qport) != tg.port)
			violation(C_ISOL, "%s: the ICMP error's quote has port %u, not the VM's %u", what,
				  get2(o + io + qport), tg.port);
		if (q.hcsum && csum_fold(csum_add(0, o + io + qo, q.hlen)) != 0)
			violation(C_FORM, "%s: the ICMP error's quoted IPv4 header checksum is wrong", what);
	} else {
		size_t pf = in->hlen + port_field(in->proto, false);

		skip(&sk, pf, 2);
		if (tg.port >= 0 && get2(o + io + pf) != tg.port)
			violation(C_ISOL, "%s: port %u, not the VM's %u of its connection", what, get2(o + io + pf), tg.port);
		if (tg.port < 0 && !(hairpin_vrf >= 0 && in->proto == IPPROTO_ICMP_) && get2(o + io + pf) != get2(inb + pf))
			violation(C_FORM, "%s: floating IP, yet port %u became %u", what, get2(inb + pf), get2(o + io + pf));
	}
	if (!same_but(o + io, inb, in->tot, &sk))
		violation(C_FORM, "%s: more changed than addresses, ports, TTL and checksums", what);
	gw_csums(in, &out, what);
}

/* A tenant's packet (in, of tenant vrf) left by ext0: to a destination ext0's routes have a neighbour for,
 * translated (gw_check_src), one hop spent, nothing else changed but checksums, and those right. */
static void gw_judge_ext_out(const uint8_t *inb, const struct ip4i *in, const uint8_t *o, size_t olen, int vrf)
{
	const char *what = "out of the external NIC";
	const struct ext_route *er = ext_route_of(in->dst);
	struct ip4i out;
	const struct gfip *f;
	struct skips sk = { .n = 0 };
	struct pstats *st = &ps[cur.prog];

	if (olen < 34 || get2(o + 12) != ETHTYPE_IP) {
		violation(C_FORM, "%s: no IPv4 frame", what);
		return;
	}
	if (!er || !er->nbr)
		violation(C_ISOL, "%s: to %s, which the host's routes through ext0 give no neighbour", what, ip4s(in->dst));
	else if (o[5] != er->nbr || memcmp(o, ext_mac, 5))
		violation(C_FORM, "%s: destination MAC is not the neighbour's towards %s", what, ip4s(in->dst));
	out = ip4_parse(o + 14, olen - 14);
	if (!out.ok || out.tot != olen - 14) {
		violation(C_FORM, "%s: the IPv4 header or length is wrong", what);
		return;
	}
	if (out.tot > (er && er->mtu ? er->mtu : 1500))
		violation(C_FORM, "%s: %zu bytes, more than the route's MTU", what, out.tot);
	if (!in->l4) {
		violation(C_ISOL, "%s: a packet without ports to translate (fragment or short) left", what);
		return;
	}
	f = gw_check_src(vrf, in, &out, true, what);
	if (out.dst != in->dst || out.tot != in->tot || out.proto != in->proto || out.ttl != in->ttl - 1)
		violation(C_FORM, "%s: %s TTL %u, %zu bytes came out as %s TTL %u, %zu bytes", what, ip4s(in->dst), in->ttl,
			  in->tot, ip4s(out.dst), out.ttl, out.tot);
	skip(&sk, 8, 1);
	skip(&sk, 10, 2);
	skip(&sk, 12, 4);
	skip(&sk, in->hlen + port_field(in->proto, true), 2);
	skip(&sk, in->hlen + csum_field(in->proto), 2);
	if (!same_but(o + 14, inb, in->tot, &sk))
		violation(C_FORM, "%s: more changed than the source, its port, TTL and checksums", what);
	gw_csums(in, &out, what);
	if (f) {
		st->gw_fip++;
	} else {
		st->gw_snat++;
		gw_out_port = out.sport;
		conn_put(out.src, out.sport, in->proto, in->dst, in->proto == IPPROTO_ICMP_ ? 0 : in->dport, vrf, in->src,
			 in->sport);
	}
	memcpy(outs[nouts % NOUTS].ip, o + 14, out.tot < sizeof(outs[0].ip) ? out.tot : sizeof(outs[0].ip));
	outs[nouts % NOUTS].n = out.tot < sizeof(outs[0].ip) ? out.tot : sizeof(outs[0].ip);
	nouts++;
}

/* A fabric frame the gateway's outbound half takes: a tunnel packet with a per-VRF label whose VRF routes the
 * inner IPv4 destination EXTERNAL. */
struct gwf {
	int vrf;
	size_t inner, avail;
};

static bool gw_frame_of(const struct pkt *in, struct gwf *g)
{
	struct tun t = parse_tunnel(in->b, in->len);
	const struct flabel *l;
	const struct froute *r;

	if (!gw_seed || !t.ok || !(l = model_label(t.shim >> 12)) || l->vif >= 0 || t.inner + 20 > in->len ||
	    (in->b[t.inner] >> 4) != 4)
		return false;
	r = model_lookup(l->vrf, 4, in->b + t.inner + 16);
	if (!r || r->nh.type != VR_NH_EXTERNAL)
		return false;
	g->vrf = l->vrf;
	g->inner = t.inner;
	g->avail = t.inner_avail < in->len - t.inner ? t.inner_avail : in->len - t.inner;
	return true;
}

/* A drop that moved exactly one drop reason, by one. */
static bool one_drop_reason(const struct outcome *oc)
{
	return oc->nreasons == 1 && oc->dsum == 1 && oc->reason < VR_DROP_MAX;
}

/* What every run is held to first, whatever the program and the frame: a verdict the program may return,
 * metadata only on a hand-over to TC, a frame an idle program must leave alone; a drop counts one reason and
 * moves no tx counter. Returns false when the verdict is unknown (nothing more to judge). */
static bool judge_run(int prog, const struct outcome *oc, bool idle)
{
	struct pstats *st = &ps[prog];
	__u32 v = oc->verdict, dropv = is_xdp(prog) ? XDP_DROP : TC_ACT_SHOT;
	__u32 passv = is_xdp(prog) ? XDP_PASS : TC_ACT_OK, redirv = is_xdp(prog) ? XDP_REDIRECT : TC_ACT_REDIRECT;

	st->runs++;
	if (v != dropv && v != passv && v != redirv) {
		violation(C_VERDICT, "unexpected verdict %u", v);
		return false;
	}
	if ((oc->meta && (v != XDP_PASS || !is_xdp(prog) || oc->meta != sizeof(struct vr_xdp_meta))) ||
	    (idle && (v != passv || oc->dsum || oc->ntx)))
		violation(C_VERDICT, "verdict %u with %u bytes of metadata%s", v, oc->meta,
			  idle ? ": this program must leave the frame to the other path" : "");
	if (v == dropv) {
		st->dropped++;
		if (one_drop_reason(oc))
			st->reason[oc->reason]++;
		else
			violation(C_DROPS, "dropped, and %d drop reasons moved by %lld in all (must be one, by one)",
				  oc->nreasons, (long long)oc->dsum);
		if (oc->ntx)
			violation(C_DROPS, "dropped, yet the tx counter of %d vif(s) moved", oc->ntx);
	}
	return true;
}

static __u32 nat_full_checked;

/* A run of vr_ext_xdp (g NULL), or of a fabric program on a frame for the gateway's outbound half. */
static void judge_gw(int prog, const struct pkt *in, const struct outcome *oc, const struct gwf *g)
{
	struct pstats *st = &ps[prog];
	__u32 v = oc->verdict, dropv = is_xdp(prog) ? XDP_DROP : TC_ACT_SHOT;
	__u32 passv = is_xdp(prog) ? XDP_PASS : TC_ACT_OK, redirv = is_xdp(prog) ? XDP_REDIRECT : TC_ACT_REDIRECT;
	bool idle = prog == P_FAB_TC && !fabric_tc_mode;
	bool to_pub = !g && in->len >= 34 && get2(in->b + 12) == ETHTYPE_IP && is_public(get4(in->b + 30));
	const uint8_t *ip = g ? in->b + g->inner : in->b + 14;
	struct ip4i I = ip4_parse(ip, g ? g->avail : in->len - 14);

	if (!judge_run(prog, oc, idle))
		return;
	if (v == dropv) {
		if (!g && !to_pub)
			violation(C_VERDICT, "dropped a frame that is not to a public address (the host's)");
		/* A full table refuses new connections, and only then: it holds (nearly: the inbound half is
		 * taken back when the outbound one finds no room) as many entries as it can. */
		if (oc->reason == VR_DROP_NAT_FULL && nat_full_checked++ < 20) {
			__u32 used = 0, max = 0;

			if (vr_nat_usage(&h, &used, &max) || used + 1 < max)
				violation(C_DROPS, "refused as nat_table_full with %u of %u entries in the table", used, max);
		}
		return;
	}
	if (oc->dsum || oc->nreasons)
		violation(C_DROPS, "not dropped, yet %d drop reason(s) moved by %lld (reason %s)", oc->nreasons,
			  (long long)oc->dsum, vr_drop_name(oc->reason));
	if (oc->ntx > 1 || oc->tx_pkts > 1) {
		violation(C_DROPS, "the tx counters of %d vifs moved by %llu packets", oc->ntx, (unsigned long long)oc->tx_pkts);
		return;
	}
	if (v == passv && !oc->meta) {
		st->passed++;
		if (oc->olen != in->len || memcmp(oc->out, in->b, oc->olen))
			violation(C_FORM, "passed, but changed");
		if (oc->ntx)
			violation(C_DROPS, "passed, yet a vif's tx counter moved");
		if (to_pub)
			violation(C_VERDICT, "passed a frame to public address %s to the host", ip4s(get4(in->b + 30)));
		return;
	}
	if (!g && !to_pub) {
		violation(C_ISOL, "took a frame that is not to a public address (verdict %u)", v);
		return;
	}
	if (prog == P_FAB_TC) {
		violation(C_ISOL, "forwarded a packet whose VRF route is EXTERNAL (only XDP translates)");
		return;
	}
	if (!I.ok) {
		violation(C_FORM, "forwarded a packet whose IPv4 header is not valid");
		return;
	}
	if (oc->ntx == 1) {
		int d = oc->tx_vif;
		bool handed = v == XDP_PASS && oc->meta == sizeof(struct vr_xdp_meta);
		__u32 note[2] = { 0, 0 };

		st->delivered++;
		if (oc->tx_bytes != oc->olen)
			violation(C_DROPS, "%s tx counted %llu bytes for a %zu-byte frame", vifs[d].name,
				  (unsigned long long)oc->tx_bytes, oc->olen);
		if (handed)
			memcpy(note, oc->out - sizeof(note), sizeof(note));
		/* The gateway redirects to a local vif of either mode: a hand-over would need a TC program on the
		 * external NIC, and the packet is a single frame anyway. */
		if (v != XDP_REDIRECT || handed)
			violation(C_ISOL, "delivered to %s (mode %s) with verdict %u and hand-over note %#x -> ifindex %u "
				  "(the gateway redirects to local vifs of both modes)", vifs[d].name,
				  vifs[d].tc ? "tc" : "xdp", v, note[0], note[1]);
		if (!g && handed && st->gw_lost++ < 3) {
			printf("! seed %llu vr_ext_xdp packet #%llu: handed over (XDP_PASS + note) to TC on the external NIC "
			       "for %s (mode tc), but no TC program runs on ext0: the packet is lost\n",
			       (unsigned long long)seed, (unsigned long long)cur.index, vifs[d].name);
			hexdump("in", in->b, in->len);
			hexdump("out", oc->out, oc->olen);
		}
		if (oc->olen >= 34)
			gw_judge_in(ip, &I, oc->out, oc->olen, d, g ? g->vrf : -1);
		return;
	}
	if (v != redirv) {
		violation(C_VERDICT, "verdict %u with a hand-over note, but no vif's tx counter moved", v);
		return;
	}
	if (g && oc->olen >= 14 && !memcmp(oc->out + 6, ext_mac, 6)) {
		gw_judge_ext_out(ip, &I, oc->out, oc->olen, g->vrf);
		return;
	}
	st->tunnelled++;
	gw_judge_in(ip, &I, oc->out, oc->olen, -1, g ? g->vrf : -1);
}

/* After vr_fabric_xdp ran a frame for the gateway: the connection its packet has now (made by this run, or
 * before), from the datapath's table; a run that dropped after translating (no neighbour, no route, too big)
 * made one too, and the answers to it will come. The port must be the one the output showed. */
static void gw_learn(const struct pkt *in, const struct gwf *g)
{
	struct ip4i I = ip4_parse(in->b + g->inner, g->avail);
	struct vr_nat_key k = { 0 };
	struct vr_nat_entry e;

	if (!I.ok || !I.l4 || fip_of(g->vrf, I.src) || (I.proto == IPPROTO_ICMP_ && I.itype != ICMP_ECHO_))
		return;
	k.src = htonl(I.src);
	k.dst = htonl(I.dst);
	k.sport = htons(I.sport);
	k.dport = I.proto == IPPROTO_ICMP_ ? 0 : htons(I.dport);
	k.proto = I.proto;
	k.dir = VR_NAT_OUT;
	k.vrf_id = vrfs[g->vrf].id;
	if (bpf_map_lookup_elem(h.nat_fd, &k, &e)) {
		if (gw_out_port >= 0)
			violation(C_ISOL, "left with public port %d, but the connection table has no connection for it",
				  gw_out_port);
		return;
	}
	if (gw_out_port >= 0 && ntohs(e.port) != gw_out_port)
		violation(C_ISOL, "left with public port %d, the connection table says %u", gw_out_port, ntohs(e.port));
	conn_put(ntohl(e.addr), ntohs(e.port), I.proto, I.dst, I.proto == IPPROTO_ICMP_ ? 0 : I.dport, g->vrf, I.src,
		 I.sport);
}

/* (d) The connection table, walked with vr_nat_foreach: every outbound entry has its inbound twin naming the same
 * tenant, VM and port; its public address is its tenant's SNAT address and the port in its range; no two
 * connections share a public (address, port, protocol, remote end); and a live connection is one the fuzzer
 * saw made, for the same VM. */
struct ntuple {
	uint32_t pub, remote;
	uint16_t pport, rport;
	uint8_t proto;
};
static struct ntuple *ntuples;
static size_t n_ntuples, cap_ntuples;
static uint64_t nat_walks, nat_checked, nat_bad;

static void nat_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void nat_violation(const char *fmt, ...)
{
	va_list ap;

	if (nat_bad++ >= 3)
		return;
	printf("! seed %llu gateway connection table, walk %llu: ", (unsigned long long)seed,
	       (unsigned long long)nat_walks);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static int nat_cb(const struct vr_nat_conn *c, void *arg)
{
	int v = vrf_index(c->out_key.vrf_id);
	uint32_t pub = ntohl(c->out.addr), vm = ntohl(c->out_key.src), remote = ntohl(c->out_key.dst);
	uint16_t port = ntohs(c->out.port), vport = ntohs(c->out_key.sport), rport = ntohs(c->out_key.dport);
	const struct gconn *m;

	(void)arg;
	nat_checked++;
	if (v < 0 || !gt[v].snat) {
		nat_violation("a connection of VRF %u, which has no SNAT address", c->out_key.vrf_id);
		return 0;
	}
	if (pub != gt[v].snat || port < gt[v].pmin || port > gt[v].pmax)
		nat_violation("VRF %u's connection %s:%u -> %s:%u has public side %s:%u (the tenant's: %s, ports %u-%u)",
			      vrfs[v].id, ip4s(vm), vport, ip4s(remote), rport, ip4s(pub), port, ip4s(gt[v].snat),
			      gt[v].pmin, gt[v].pmax);
	if (c->in.addr != c->out_key.src || c->in.port != c->out_key.sport || c->in.vrf_id != c->out_key.vrf_id)
		nat_violation("VRF %u's connection %s:%u -> %s:%u (proto %u, public port %u): its inbound twin names %s:%u "
			      "of VRF %u", vrfs[v].id, ip4s(vm), vport, ip4s(remote), rport, c->out_key.proto, port,
			      ip4s(ntohl(c->in.addr)), ntohs(c->in.port), c->in.vrf_id);
	m = conn_slot(pub, port, c->out_key.proto, remote, rport, false);
	if (!c->expired && !conns_full && (!m || m->vrf != v || m->vm != vm || m->vport != vport))
		nat_violation("live connection %s:%u -> %s:%u (proto %u) of VRF %u as %s:%u: the fuzzer %s", ip4s(vm),
			      vport, ip4s(remote), rport, c->out_key.proto, vrfs[v].id, ip4s(pub), port,
			      m ? "saw that public side given to another VM" : "never saw it made");
	if (n_ntuples == cap_ntuples) {
		size_t cap = cap_ntuples ? cap_ntuples * 2 : 4096;
		struct ntuple *p = realloc(ntuples, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		ntuples = p;
		cap_ntuples = cap;
	}
	ntuples[n_ntuples++] = (struct ntuple){ .pub = pub, .remote = remote, .pport = port, .rport = rport,
						.proto = c->out_key.proto };
	return 0;
}

static int ntuple_cmp(const void *a, const void *b)
{
	const struct ntuple *x = a, *y = b;

	if (x->pub != y->pub)
		return x->pub < y->pub ? -1 : 1;
	if (x->remote != y->remote)
		return x->remote < y->remote ? -1 : 1;
	if (x->pport != y->pport)
		return x->pport < y->pport ? -1 : 1;
	if (x->rport != y->rport)
		return x->rport < y->rport ? -1 : 1;
	return (int)x->proto - (int)y->proto;
}

static void nat_walk_check(void)
{
	int err;

	n_ntuples = 0;
	err = vr_nat_foreach(&h, nat_cb, NULL);
	if (err)
		nat_violation("vr_nat_foreach: %s", vr_strerror());
	qsort(ntuples, n_ntuples, sizeof(*ntuples), ntuple_cmp);
	for (size_t i = 1; i < n_ntuples; i++)
		if (!ntuple_cmp(&ntuples[i - 1], &ntuples[i]))
			nat_violation("two connections share the public side %s:%u (proto %u) towards %s:%u",
				      ip4s(ntuples[i].pub), ntuples[i].pport, ntuples[i].proto, ip4s(ntuples[i].remote),
				      ntuples[i].rport);
	nat_walks++;
}

/* Judge a run of program prog on frame in, received on vif s (vif programs; -1: a device that is no vif). */
static void judge(int prog, int s, const struct pkt *in, const struct outcome *oc)
{
	struct pstats *st = &ps[prog];
	bool vif_prog = prog == P_VIF_XDP || prog == P_VIF_TC;
	__u32 v = oc->verdict, dropv = is_xdp(prog) ? XDP_DROP : TC_ACT_SHOT;
	__u32 redirv = is_xdp(prog) ? XDP_REDIRECT : TC_ACT_REDIRECT;
	bool idle = (prog == P_VIF_TC && s >= 0 && !vifs[s].tc) || (prog == P_FAB_TC && !fabric_tc_mode);
	const uint8_t *o = oc->out;
	size_t olen = oc->olen;
	__u32 want_reason = 0;
	struct gwf g;

	if (prog == P_EXT_XDP) {
		judge_gw(prog, in, oc, NULL);
		return;
	}
	if ((prog == P_FAB_XDP || prog == P_FAB_TC) && gw_frame_of(in, &g)) {
		judge_gw(prog, in, oc, &g);
		return;
	}
	if (!judge_run(prog, oc, idle))
		return;
	if (v == dropv) {
		if (one_drop_reason(oc) && show_reason == (int)oc->reason && shown_reason++ < 5) {
			printf("# seed %llu %s packet #%llu on %s (gso_size %u) dropped as %s:\n", (unsigned long long)seed,
			       prog_name[prog], (unsigned long long)cur.index, cur.dev, cur.gso_size,
			       vr_drop_name(oc->reason));
			hexdump("in", in->b, in->len);
		}
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

/* A frame from the fabric through both fabric programs (TC at times with a GSO size); between them, the gateway
 * connection vr_fabric_xdp made for it, if any, learnt. */
static void run_fabric(const struct pkt *in)
{
	struct gwf g;

	gw_out_port = -1;
	run_and_judge(P_FAB_XDP, -1, fab_ifindex, "fab0", in, 0);
	if (gw_frame_of(in, &g))
		gw_learn(in, &g);
	run_and_judge(P_FAB_TC, -1, fab_ifindex, "fab0", in, chance(5) ? (__u16)(100 + rnd(1400)) : 0);
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

		/* The tenants' ways out stay (other routes may turn EXTERNAL and back). */
		if (gw_seed && r.plen == 0)
			return;
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
	uint32_t kind;

	rng = seed;
	gw_seed = seed & 1; /* odd seeds make the vRouter a gateway too */
	fabric_mtu = chance(75) ? 1500 : 9000;
	plan_tables();
	if (setup_isolation("/tmp/vr-fuzz-bpffs.XXXXXX", "vrouter-fuzz") || setup_devices() || setup_vrouter()) {
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
	if (gw_seed) {
		char ten[512] = "";
		size_t n = 0;

		for (int v = 0; v < nvrfs && n < sizeof(ten); v++)
			if (gt[v].gw)
				n += (size_t)snprintf(ten + n, sizeof(ten) - n, "%sVRF %u %s", n ? ", " : "", vrfs[v].id,
						      gt[v].snat ? ip4s(gt[v].snat) : "without SNAT");
		for (int v = 0; v < nvrfs && n < sizeof(ten); v++)
			if (gt[v].gw && gt[v].snat)
				n += (size_t)snprintf(ten + n, sizeof(ten) - n, "%s%u-%u", n ? " " : "", gt[v].pmin, gt[v].pmax);
		check(true, "seed %llu gateway setup: ext0, tenants out: %s; %d floating IPs, connection table of %u "
		      "entries, timeouts tcp %u/%u udp %u icmp %u s", (unsigned long long)seed, ten, nfips, nat_size,
		      natcfg.timeout_tcp, natcfg.timeout_tcp_transitory, natcfg.timeout_udp, natcfg.timeout_icmp);
	}
	/* Per-CPU counters are read whole, but one CPU keeps the runs' deltas apart from nothing else. */
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);

	t0 = now_s();
	for (packets = 0; !max_packets || packets < max_packets; packets++) {
		if (!(packets & 255) && now_s() - t0 > seconds)
			break;
		if (!(packets & 2047)) {
			if (gw_seed && !(packets & 8191))
				nat_walk_check();
			batch_change();
		}
		cur.index = packets;
		/* A gateway seed spends a third of its packets on the gateway: VMs' packets to the outside through
		 * vr_fabric_xdp and vr_fabric_tc, frames on ext0 through vr_ext_xdp. */
		kind = gw_seed ? rnd(100) : (packets & 1) ? 0 : 50;
		if (kind >= 83) {
			build_ext_frame(&in_pkt);
			if (chance(20))
				mutate(&in_pkt);
			run_and_judge(P_EXT_XDP, -1, ext_ifindex, "ext0", &in_pkt, 0);
		} else if (kind >= 66) {
			build_gw_fabric_frame(&in_pkt);
			if (chance(20))
				mutate(&in_pkt);
			run_fabric(&in_pkt);
		} else if (kind < 33) {
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
			run_fabric(&in_pkt);
		}
		if (counters_broken)
			break;
	}
	t1 = now_s();
	runs = 0;
	for (int p = 0; p < NPROG; p++)
		runs += ps[p].runs;
	if (gw_seed)
		nat_walk_check();
	if (counters_broken)
		check(false, "seed %llu: reading the counters failed after packet #%llu: %s", (unsigned long long)seed,
		      (unsigned long long)packets, strerror(errno));
	for (int p = 0; p < NPROG; p++) {
		struct pstats *s = &ps[p];
		char reasons[1024] = "";
		size_t n = 0;
		int distinct = 0;

		if (p == P_EXT_XDP && !gw_seed)
			continue; /* no gateway, no external NIC */
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
		if (gw_seed && (p == P_FAB_XDP || p == P_EXT_XDP))
			printf("# seed %llu %s gateway: %llu out of ext0 with a SNAT address, %llu with a floating IP; back in "
			       "by connection %llu, by floating IP %llu, ICMP errors %llu; tenant to tenant %llu\n",
			       (unsigned long long)seed, prog_name[p], (unsigned long long)s->gw_snat,
			       (unsigned long long)s->gw_fip, (unsigned long long)s->gw_in_conn, (unsigned long long)s->gw_in_fip,
			       (unsigned long long)s->gw_in_err, (unsigned long long)s->gw_hairpin);
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
	if (gw_seed) {
		check(!nat_bad && nat_walks > 1, "seed %llu gateway connection table (d): %llu walks, %llu connections "
		      "checked (%d seen made), %llu violations%s", (unsigned long long)seed, (unsigned long long)nat_walks,
		      (unsigned long long)nat_checked, nconns, (unsigned long long)nat_bad,
		      conns_full ? " (the fuzzer's model filled up: later connections not named)" : "");
		check(!ps[P_EXT_XDP].gw_lost, "seed %llu vr_ext_xdp deliveries to local vifs in mode tc: %llu handed over "
		      "to TC on ext0, which has no TC program to take them", (unsigned long long)seed,
		      (unsigned long long)ps[P_EXT_XDP].gw_lost);
		check(ps[P_FAB_XDP].gw_snat && ps[P_FAB_XDP].gw_fip && ps[P_EXT_XDP].gw_in_conn && ps[P_EXT_XDP].gw_in_fip &&
		      ps[P_EXT_XDP].gw_in_err && ps[P_EXT_XDP].passed && ps[P_EXT_XDP].reason[VR_DROP_NAT_NO_CONN],
		      "seed %llu gateway coverage: out by SNAT and floating IP, back in by connection, floating IP and as "
		      "ICMP errors, host's frames passed, unknown ones dropped", (unsigned long long)seed);
	}
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
