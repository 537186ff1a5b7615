/* BPF_PROG_TEST_RUN unit tests of the datapath: the XDP programs vr_vif_xdp (VM-facing devices) and
 * vr_fabric_xdp (the underlay NIC), and the TC programs vr_vif_tc and vr_fabric_tc on skbs, loaded, pinned
 * and configured through libvrouter exactly as vrouterctl does it.
 *
 * The binary isolates itself: it enters a new mount and network namespace, mounts a private sysfs and a
 * fresh bpffs there, and builds its devices (veth pairs for the fabric and the VMs, one tap for a VM in mode
 * tc) inside the new network namespace, so nothing it creates (pins, links, devices, neighbours) outlives
 * the process, even when it crashes. Each case of the table below builds an input frame and the expected
 * output frame with the packet builder in pkt.h, runs one program once, and compares the verdict, the whole
 * output frame byte for byte (with the XDP -> TC hand-over note in front, when XDP leaves one), every drop
 * counter (exactly the expected reason moves, by one) and the per-vif counters (rx of the ingress vif, tx of
 * the vif the frame is delivered to). Non-live test runs return XDP_REDIRECT / TC_ACT_REDIRECT without
 * transmitting, so the redirect target is proven by the tx counter and, in the live sections at the end, by
 * capturing the frame on the far end of the veth it was redirected into. The last section writes frames
 * into the tap as a hypervisor does, checksum offload and GSO included (which test runs cannot give an
 * skb), so that vr_vif_tc meets them on the real ingress path.
 *
 * Output: one line per test, "ok NAME" or "FAIL NAME: why" followed by details (hexdump diff), and finally
 * "N passed, N failed". Exit 0 only when everything passed; without root it prints a skip and exits 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "libvrouter.h"
#include "vr_hash.h"
#include "pkt.h"
#include "setup.h"

/* The case table gives each frame defaults through macros and lets a case override single fields after
 * them; later designators win (C11 6.7.9p19), which is exactly what is meant here. Fields a case leaves out
 * are zero on purpose (no drop reason, no tx vif, no padding...). */
#pragma GCC diagnostic ignored "-Woverride-init"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* ---------------------------------------------------------------------------------------------------- */
/* Topology                                                                                              */

enum { FAB, VM1, VM2, VM3, VM4, VM5, VM6, NOVIF, EXT, NDEV };

struct dev {
	const char *name, *peer; /* peer NULL: a tap, whose VM side is this process (it holds the tap's fd) */
	uint8_t mac[6];      /* the device's own MAC */
	uint8_t peer_mac[6]; /* its peer's: the VM's, or for the fabric the underlay neighbour's */
	uint32_t vrf, ip, gw; /* IPv6: the VM has fd00::<ip>, its gateway fd00::<gw> (see addr6) */
	bool tc;             /* a vif in mode tc (vr_vif_tc only); the others are in mode xdp */
};

#define HOST_IP IP4(192, 0, 2, 1)       /* this host's underlay address, on fab0 */
#define NBR_IP IP4(192, 0, 2, 2)        /* the remote host: a permanent neighbour on fab0 */
#define NONEIGH_IP IP4(192, 0, 2, 3)    /* on the fabric subnet, never resolved */
#define FAR_IP IP4(203, 0, 113, 9)      /* no underlay route at all */
#define OTHER_HOST_IP IP4(192, 0, 2, 77)
#define VM1_IP IP4(10, 1, 0, 1)
#define VM2_IP IP4(10, 1, 0, 2)
#define VM3_IP IP4(10, 2, 0, 3)
#define VM4_IP IP4(10, 1, 0, 4)
#define VM5_IP IP4(10, 1, 0, 5)
#define VM6_IP IP4(10, 2, 0, 6)
#define GW1 IP4(10, 1, 0, 254)          /* VRF 1's gateway, also a RECEIVE route */
#define GW2 IP4(10, 2, 0, 254)
#define REMOTE_IP IP4(10, 9, 1, 1)      /* 10.9.0.0/16: tunnel to NBR_IP, label 100 in VRF 1, 200 in VRF 2 */
#define REMOTE_LPM_IP IP4(10, 9, 5, 5)  /* 10.9.5.0/24: tunnel to NBR_IP, label 150 (longer prefix) */
#define REMOTE_HOST_IP IP4(10, 9, 5, 7) /* 10.9.5.7/32 in VRF 1 (the host-route table): label 170 */
#define VM1_EXTRA_IP IP4(10, 1, 0, 100) /* routed via vm1's vif: an address VM1 may send from too */
#define STRANGER_IP IP4(192, 0, 2, 77)  /* an underlay host that is no tunnel endpoint of ours */
#define NONEIGH_NET_IP IP4(10, 8, 1, 1) /* 10.8.0.0/16: tunnel to NONEIGH_IP */
#define UNREACH_NET_IP IP4(10, 7, 1, 1) /* 10.7.0.0/16: tunnel to FAR_IP */
#define DISCARD_IP IP4(10, 1, 66, 7)    /* 10.1.66.0/24: discard */
#define NOROUTE_IP IP4(10, 200, 0, 1)
#define GRE_IP IP4(10, 6, 1, 1)         /* 10.6.0.0/16: MPLS-over-GRE to NBR_IP, label 300 in VRF 1, 311 in VRF 2 */
#define GRE_HOST_IP IP4(10, 6, 5, 7)    /* 10.6.5.7/32 (the host-route table): MPLS-over-GRE, label 370 */
#define GRE_SAME_IP IP4(10, 5, 1, 1)    /* 10.5.0.0/16: GRE to NBR_IP with label 100, 10.9.0.0/16's UDP label */
#define VRF2_LABEL 1000                 /* per-VRF label of VRF 2 */
/* The gateway: VRF 3 (per-VRF label 1003) leaves through ext0 by its default route, source-NATed to
 * 198.51.100.3 with the one port 40000 (so that the test knows it), or as 198.51.100.33 for 10.9.3.3 (a
 * floating IP); its VMs are behind the neighbour (10.9.0.0/16, label 900). VRF 4 (label 1004) has the route
 * but no public address. The border router is 198.18.200.2 on ext0, 203.0.113.0/24 behind it. */
#define VRF3_LABEL 1003
#define VRF4_LABEL 1004
#define EXT_IP IP4(198, 18, 200, 1)
#define BORDER_IP IP4(198, 18, 200, 2)
#define OUTSIDE_IP IP4(203, 0, 113, 10)
#define NOWHERE_IP IP4(192, 0, 2, 199)  /* no route through ext0 */
#define SNAT3_IP IP4(198, 51, 100, 3)
#define FIP3_IP IP4(198, 51, 100, 33)
#define T3_VM_IP IP4(10, 9, 1, 1)
#define T3_FIP_VM_IP IP4(10, 9, 3, 3)
#define SNAT_PORT 40000

static const struct dev devs[NDEV] = {
	[FAB] = { "fab0", "fab0p", { 2, 0, 0, 0, 0, 1 }, { 2, 0, 0, 0, 0, 2 }, 0, 0, 0 },
	[VM1] = { "vm1", "vm1p", { 2, 0, 0, 0, 0xf0, 1 }, { 2, 0, 0, 0, 1, 1 }, 1, VM1_IP, GW1 },
	[VM2] = { "vm2", "vm2p", { 2, 0, 0, 0, 0xf0, 2 }, { 2, 0, 0, 0, 1, 2 }, 1, VM2_IP, GW1 },
	[VM3] = { "vm3", "vm3p", { 2, 0, 0, 0, 0xf0, 3 }, { 2, 0, 0, 0, 2, 3 }, 2, VM3_IP, GW2 },
	/* Mode tc: a veth, and a tap (as a hypervisor's, with virtio-net headers and offloads) without a
	 * gateway address; then a vif in mode xdp without one. */
	[VM4] = { "vm4", "vm4p", { 2, 0, 0, 0, 0xf0, 4 }, { 2, 0, 0, 0, 1, 4 }, 1, VM4_IP, GW1, true },
	[VM5] = { "vm5", NULL, { 2, 0, 0, 0, 0xf0, 5 }, { 2, 0, 0, 0, 1, 5 }, 1, VM5_IP, 0, true },
	[VM6] = { "vm6", "vm6p", { 2, 0, 0, 0, 0xf0, 6 }, { 2, 0, 0, 0, 2, 6 }, 2, VM6_IP, 0 },
	[NOVIF] = { "novif0", "novif0p", { 2, 0, 0, 0, 0xf0, 9 }, { 2, 0, 0, 0, 9, 9 }, 0, 0, 0 },
	/* The gateway's external NIC (vr_ext_xdp), its peer the border router. */
	[EXT] = { "ext0", "ext0p", { 2, 0, 0, 0, 0xe0, 1 }, { 2, 0, 0, 0, 0xe0, 2 }, 0, 0, 0 },
};

#define IS_VIF(d) ((d) >= VM1 && (d) <= VM6)

/* MACs a frame can carry, by name. */
enum { M_ZERO, M_BCAST, M_LLDP, M_VR, M_FAB, M_NBR, M_VM1, M_VM2, M_VM3, M_VM4, M_VM5, M_VM6, M_NOVIF, M_V6MC, M_EXT,
       M_BORDER, NMAC };
static const uint8_t macs[NMAC][6] = {
	[M_ZERO] = { 0 },
	[M_BCAST] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	[M_LLDP] = { 0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e },
	[M_VR] = VR_DEFAULT_MAC,
	[M_FAB] = { 2, 0, 0, 0, 0, 1 },
	[M_NBR] = { 2, 0, 0, 0, 0, 2 },
	[M_VM1] = { 2, 0, 0, 0, 1, 1 },
	[M_VM2] = { 2, 0, 0, 0, 1, 2 },
	[M_VM3] = { 2, 0, 0, 0, 2, 3 },
	[M_VM4] = { 2, 0, 0, 0, 1, 4 },
	[M_VM5] = { 2, 0, 0, 0, 1, 5 },
	[M_VM6] = { 2, 0, 0, 0, 2, 6 },
	[M_NOVIF] = { 2, 0, 0, 0, 9, 9 },
	[M_V6MC] = { 0x33, 0x33, 0xff, 0, 0, 1 }, /* a solicited-node multicast group's */
	[M_EXT] = { 2, 0, 0, 0, 0xe0, 1 },
	[M_BORDER] = { 2, 0, 0, 0, 0xe0, 2 },
};

struct route {
	uint32_t vrf, prefix, plen;
	uint8_t type;
	int dev;          /* ENCAP */
	uint32_t remote;  /* TUNNEL */
	uint32_t label;   /* TUNNEL */
	uint8_t encap;    /* TUNNEL: VR_ENCAP_UDP (0) or VR_ENCAP_GRE */
	bool v6;          /* an IPv6 route: fd00::<prefix>/(96 + plen) */
};

static const struct route routes[] = {
	{ 1, VM1_IP, 32, VR_NH_ENCAP, VM1, 0, 0 },
	{ 1, VM2_IP, 32, VR_NH_ENCAP, VM2, 0, 0 },
	{ 1, IP4(10, 9, 0, 0), 16, VR_NH_TUNNEL, 0, NBR_IP, 100 },
	{ 1, IP4(10, 9, 5, 0), 24, VR_NH_TUNNEL, 0, NBR_IP, 150 },
	{ 1, REMOTE_HOST_IP, 32, VR_NH_TUNNEL, 0, NBR_IP, 170 },
	{ 1, VM1_EXTRA_IP, 32, VR_NH_ENCAP, VM1, 0, 0 },
	{ 1, IP4(10, 1, 16, 0), 20, VR_NH_ENCAP, VM1, 0, 0 }, /* a prefix VM1 may send from (sport/spread) */
	{ 1, IP4(10, 8, 0, 0), 16, VR_NH_TUNNEL, 0, NONEIGH_IP, 101 },
	{ 1, IP4(10, 7, 0, 0), 16, VR_NH_TUNNEL, 0, FAR_IP, 102 },
	{ 1, IP4(10, 1, 66, 0), 24, VR_NH_DISCARD, 0, 0, 0 },
	{ 1, GW1, 32, VR_NH_RECEIVE, 0, 0, 0 },
	{ 1, VM4_IP, 32, VR_NH_ENCAP, VM4, 0, 0 },
	{ 1, VM5_IP, 32, VR_NH_ENCAP, VM5, 0, 0 },
	{ 2, VM3_IP, 32, VR_NH_ENCAP, VM3, 0, 0 },
	{ 2, VM6_IP, 32, VR_NH_ENCAP, VM6, 0, 0 },
	{ 2, IP4(10, 9, 0, 0), 16, VR_NH_TUNNEL, 0, NBR_IP, 200 },
	{ 2, GW2, 32, VR_NH_RECEIVE, 0, 0, 0 },
	{ 1, IP4(10, 6, 0, 0), 16, VR_NH_TUNNEL, 0, NBR_IP, 300, VR_ENCAP_GRE },
	{ 1, GRE_HOST_IP, 32, VR_NH_TUNNEL, 0, NBR_IP, 370, VR_ENCAP_GRE },
	{ 1, IP4(10, 5, 0, 0), 16, VR_NH_TUNNEL, 0, NBR_IP, 100, VR_ENCAP_GRE },
	{ 2, IP4(10, 6, 0, 0), 16, VR_NH_TUNNEL, 0, NBR_IP, 311, VR_ENCAP_GRE },
	/* IPv6: the same places under fd00::/96, with labels of their own so that a case shows which table
	 * answered. */
	{ 1, VM1_IP, 32, VR_NH_ENCAP, VM1, 0, 0, 0, true },
	{ 1, VM2_IP, 32, VR_NH_ENCAP, VM2, 0, 0, 0, true },
	{ 1, VM4_IP, 32, VR_NH_ENCAP, VM4, 0, 0, 0, true },
	{ 1, VM1_EXTRA_IP, 32, VR_NH_ENCAP, VM1, 0, 0, 0, true },
	{ 1, IP4(10, 9, 0, 0), 16, VR_NH_TUNNEL, 0, NBR_IP, 600, 0, true },
	{ 1, REMOTE_HOST_IP, 32, VR_NH_TUNNEL, 0, NBR_IP, 670, 0, true },
	{ 1, IP4(10, 6, 0, 0), 16, VR_NH_TUNNEL, 0, NBR_IP, 700, VR_ENCAP_GRE, true },
	{ 1, IP4(10, 1, 66, 0), 24, VR_NH_DISCARD, 0, 0, 0, 0, true },
	{ 2, VM3_IP, 32, VR_NH_ENCAP, VM3, 0, 0, 0, true },
	{ 2, VM6_IP, 32, VR_NH_ENCAP, VM6, 0, 0, 0, true },
	{ 2, IP4(10, 9, 0, 0), 16, VR_NH_TUNNEL, 0, NBR_IP, 800, 0, true },
	{ 3, IP4(10, 9, 0, 0), 16, VR_NH_TUNNEL, 0, NBR_IP, 900 },
	{ 3, 0, 0, VR_NH_EXTERNAL },
	{ 3, 0, 0, VR_NH_EXTERNAL, 0, 0, 0, 0, true },
	{ 4, 0, 0, VR_NH_EXTERNAL },
};

/* Run-time state. */
static bool loaded, opened;
static struct vr_handle h;
static struct vr_config cfg;
static int ifindex[NDEV], peer_ifindex[NDEV];
static int tap_fd[NDEV] = { [0 ... NDEV - 1] = -1 };
static struct vr_vif vifs[NDEV];
static int vif_prog = -1, fabric_prog = -1, vif_tc_prog = -1, fabric_tc_prog = -1, ext_prog = -1;

/* ---------------------------------------------------------------------------------------------------- */
/* Results                                                                                               */

static int n_pass, n_fail, n_skip;
static char t_why[2048];
static char t_detail[65536];
static size_t t_dlen;

static void tbegin(void)
{
	t_why[0] = '\0';
	t_detail[0] = '\0';
	t_dlen = 0;
}

static void __attribute__((format(printf, 1, 2))) why(const char *fmt, ...)
{
	size_t n = strlen(t_why);
	va_list ap;

	if (n && n < sizeof(t_why) - 2) {
		strcpy(t_why + n, "; ");
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(t_why + n, sizeof(t_why) - n, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 1, 2))) detail(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t_dlen >= sizeof(t_detail) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t_detail + t_dlen, sizeof(t_detail) - t_dlen, fmt, ap);
	va_end(ap);
	if (n > 0)
		t_dlen += (size_t)n;
	if (t_dlen >= sizeof(t_detail))
		t_dlen = sizeof(t_detail) - 1;
}

static bool tend(const char *name, const char *desc)
{
	if (t_why[0]) {
		printf("FAIL %s: %s\n", name, t_why);
		if (desc)
			printf("    (%s)\n", desc);
		fputs(t_detail, stdout);
		n_fail++;
	} else {
		printf("ok %s\n", name);
		n_pass++;
	}
	fflush(stdout);
	return !t_why[0];
}

/* A test this kernel cannot run (a feature it lacks, not a fault of the datapath): says why, counts a skip. */
static void tskip(const char *name, const char *reason)
{
	printf("skip %s: %s\n", name, reason);
	n_skip++;
	fflush(stdout);
}

/* Expected and got side by side, 16 bytes a row; a byte that differs is flagged with '!' after it. Long
 * frames show only the rows around differences. */
static void hexdiff(const struct pkt *want, const struct pkt *got)
{
	size_t n = want->len > got->len ? want->len : got->len;
	size_t rows = (n + 15) / 16;
	bool shown_gap = false;

	detail("    expected %zu bytes, got %zu bytes\n", want->len, got->len);
	detail("    off   %-48s| got\n", "expected");
	for (size_t r = 0; r < rows; r++) {
		bool near = n <= 256;

		for (size_t rr = r ? r - 1 : 0; !near && rr <= r + 1 && rr < rows; rr++)
			for (size_t i = rr * 16; i < rr * 16 + 16 && i < n; i++)
				if (i >= want->len || i >= got->len || want->b[i] != got->b[i])
					near = true;
		if (!near) {
			if (!shown_gap)
				detail("    ...\n");
			shown_gap = true;
			continue;
		}
		shown_gap = false;
		detail("    %04zx  ", r * 16);
		for (size_t i = r * 16; i < r * 16 + 16; i++)
			if (i < want->len)
				detail("%02x ", want->b[i]);
			else
				detail("   ");
		detail("| ");
		for (size_t i = r * 16; i < r * 16 + 16 && i < got->len; i++)
			detail("%02x%c", got->b[i], i < want->len && want->b[i] == got->b[i] ? ' ' : '!');
		detail("\n");
	}
}

static const char *xdp_name(__u32 v)
{
	static const char *names[] = { "XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT" };

	return v < 5 ? names[v] : "XDP_?";
}

static const char *drop_name(int r)
{
	const char *n = vr_drop_name((__u32)r);

	return n ? n : "?";
}

static const char *ip_str(uint32_t host_order)
{
	static char buf[4][INET_ADDRSTRLEN];
	static int i;
	uint32_t be = htonl(host_order);

	i = (i + 1) % 4;
	inet_ntop(AF_INET, &be, buf[i], sizeof(buf[i]));
	return buf[i];
}

/* ---------------------------------------------------------------------------------------------------- */
/* Frames: what a case sends and what it expects, described field by field and built by pkt.h            */

struct flow {          /* an IP packet: IPv4 unless v6 */
	uint32_t src, dst; /* host order */
	uint8_t proto, tos, ttl;
	uint8_t ihl;       /* 0: 5; 6 adds a Router Alert option */
	uint16_t id, frag; /* frag: the flags/offset field, host order */
	uint16_t sport, dport; /* UDP/TCP ports; ICMP echo id and sequence */
	uint16_t len;      /* payload bytes after the L4 header (or after the IP header for later fragments) */
	bool v6;           /* an IPv6 packet instead: UDP or TCP, tos the traffic class, ttl the hop limit, the
			    * addresses fd00::<src> / fd00::<dst> (0: 2001:db8::1 / ::2), or src6/dst6 */
	const uint8_t *src6, *dst6;
	uint8_t pseed;     /* nonzero: the payload's pattern (else made of ports and id: NAT changes those) */
};

#define LBL_VIF 0x80000000u
#define LBL(dev) (LBL_VIF | (dev)) /* "the label libvrouter allocated to this vif" */

struct tun {           /* the outer headers of an MPLS-in-UDP (or MPLS-over-GRE) frame */
	uint32_t src, dst;
	bool gre;          /* MPLS-over-GRE: IPv4 protocol 47, a GRE header instead of UDP */
	uint16_t gre_flags; /* GRE flags and version (GRE_* of pkt.h; optional fields follow as they say) */
	uint16_t gre_proto; /* 0: 0x8847 */
	uint16_t sport;    /* 0: the hash of the inner flow, as the datapath must pick it */
	uint16_t dport;    /* 0: 6635 */
	uint32_t label;    /* a label, or LBL(dev) */
	uint8_t ihl;       /* outer IPv4 options: 0 means 5 */
	uint16_t frag;     /* 0: DF */
	bool stack;        /* two label stack entries (label, S=0) (label, S=1) */
};

struct nd {            /* an NDP message: a neighbour solicitation (135) or advertisement (136), or another type */
	uint8_t type;
	uint8_t hops;      /* 0: 255 */
	uint32_t src, dst, target; /* fd00::<x> (dst 0: the target's solicited-node group), or src6/dst6/target6 */
	const uint8_t *src6, *dst6, *target6;
	int opt_mac;       /* M_*: a source (135) / target (136) link-layer address option; M_ZERO: none */
	uint32_t flags;    /* 136: R, S, O */
	bool bad_csum;
};

struct arp {
	uint16_t op;
	int sha;           /* M_* */
	uint32_t sip;
	int tha;
	uint32_t tip;
};

enum kind {
	FK_SAME,  /* (expected output only) the input frame, unchanged */
	FK_IP,    /* Ethernet | IP packet */
	FK_MPLS,  /* Ethernet | IPv4 | UDP | MPLS | IP packet (.tun.gre: Ethernet | IPv4 | GRE | MPLS | IP packet) */
	FK_ARP,   /* Ethernet | ARP */
	FK_ETH,   /* Ethernet | ip.len bytes of payload, Ethertype .type */
	FK_ICMPERR, /* Ethernet | IPv4 | ICMP fragmentation needed quoting the packet .ip (as the VM sent it) */
	FK_ND,    /* Ethernet | IPv6 | ICMPv6 NDP message */
	FK_ICMP6ERR, /* Ethernet | IPv6 | ICMPv6 Packet Too Big quoting the IPv6 packet .ip */
};

struct layout {        /* where the builder put things, for fix-ups */
	size_t l3, l4, mpls, in3, in4;
};

struct frame {
	enum kind kind;
	int dst, src;      /* Ethernet addresses, M_* */
	uint16_t type;     /* outermost Ethertype when not the natural one (with vlan: the tag's type) */
	uint16_t vlan;     /* nonzero: an 802.1Q tag with this TCI */
	struct flow ip;    /* FK_IP: the packet; FK_MPLS: the inner packet */
	struct tun tun;
	struct arp arp;
	struct nd nd;
	uint16_t pad;      /* zero bytes after the packet (Ethernet padding) */
	uint16_t cut;      /* nonzero: truncate the frame to this many bytes */
	bool relen;        /* after cut/pad: make the (outer) IPv4 and UDP lengths describe the frame */
	void (*fix)(struct pkt *p, const struct layout *lo); /* deliberate damage, applied last */
	uint32_t err_src;  /* FK_ICMPERR: the ICMP message's source address (FK_ICMP6ERR: fd00::<err_src>, or
			    * err_src6) */
	const uint8_t *err_src6;
	uint16_t err_mtu;  /* FK_ICMPERR: the next-hop MTU it announces */
};

#define UDPF(s, d, ...)                                                                                       \
	{ .src = (s), .dst = (d), .proto = IPPROTO_UDP_, .ttl = 64, .id = 0x1c46, .sport = 40000, .dport = 5001, \
	  .len = 24, __VA_ARGS__ }
#define TCPF(s, d, ...)                                                                                       \
	{ .src = (s), .dst = (d), .proto = IPPROTO_TCP_, .ttl = 64, .id = 0x2b01, .frag = IP_DF_, .sport = 40001,  \
	  .dport = 80, .len = 40, __VA_ARGS__ }
#define ICMPF(s, d, ...)                                                                                      \
	{ .src = (s), .dst = (d), .proto = IPPROTO_ICMP_, .ttl = 64, .id = 0x3a10, .sport = 0x4242, .dport = 1,   \
	  .len = 56, __VA_ARGS__ }
/* IPv6 flows between fd00::<s> and fd00::<d>. */
#define V6U(s, d, ...)                                                                                        \
	{ .v6 = true, .src = (s), .dst = (d), .proto = IPPROTO_UDP_, .ttl = 64, .sport = 40000, .dport = 5001,     \
	  .len = 24, __VA_ARGS__ }
#define V6T(s, d, ...)                                                                                        \
	{ .v6 = true, .src = (s), .dst = (d), .proto = IPPROTO_TCP_, .ttl = 64, .sport = 40001, .dport = 80,       \
	  .len = 40, __VA_ARGS__ }
/* From a VM to the remote network, 1469 bytes of IPv6: one byte more than the tunnel takes. */
#define BIG_V6(s, ...) V6U(s, REMOTE_IP, .len = 1469 - 48, __VA_ARGS__)
/* A VM's neighbour solicitation for fd00::<t> from fd00::<a> (with its link-layer address option), and the
 * vRouter's advertisement answering it (flags: R for the gateway, S and O always). */
#define NS_ASK(vm, a, t, ...)                                                                                 \
	{ .kind = FK_ND, .dst = M_V6MC, .src = (vm), .nd = { .type = 135, .src = (a), .target = (t), .opt_mac = (vm) }, \
	  __VA_ARGS__ }
#define NA_ANSWER(vm, a, t, fl, ...)                                                                          \
	{ .kind = FK_ND, .dst = (vm), .src = M_VR,                                                            \
	  .nd = { .type = 136, .src = (t), .dst = (a), .target = (t), .opt_mac = M_VR, .flags = (fl) }, __VA_ARGS__ }
#define NA_S_O 0x60000000u
#define NA_R_S_O 0xe0000000u
/* The vRouter's Packet Too Big to a VM whose IPv6 packet f does not fit the tunnel, from fd00::<from>. */
#define PKT_TOO_BIG(vm, from, f)                                                                              \
	{ .kind = FK_ICMP6ERR, .dst = (vm), .src = M_VR, .err_src = (from), .err_mtu = TUNNEL_MTU, .ip = f }
#define V6F(...) { .v6 = true, .proto = IPPROTO_UDP_, .ttl = 64, .sport = 40000, .dport = 5001, .len = 24, __VA_ARGS__ }
/* From a VM to the remote network with DF, 1469 bytes of IPv4: one byte more than the tunnel takes. */
#define BIG_UDP(s, ...) UDPF(s, REMOTE_IP, .frag = IP_DF_, .len = 1469 - 28, __VA_ARGS__)
#define BIG_TCP(s, ...) TCPF(s, REMOTE_IP, .len = 1469 - 40, __VA_ARGS__)

#define IPFR(d, s, f, ...) { .kind = FK_IP, .dst = (d), .src = (s), .ip = f, __VA_ARGS__ }
#define ETHFR(d, s, t, n, ...) { .kind = FK_ETH, .dst = (d), .src = (s), .type = (t), .ip.len = (n), __VA_ARGS__ }
#define ARPFR(d, s, op_, sha_, sip_, tha_, tip_, ...)                                                         \
	{ .kind = FK_ARP, .dst = (d), .src = (s), .arp = { (op_), (sha_), (sip_), (tha_), (tip_) }, __VA_ARGS__ }
/* A VM's ARP request for tip, and the vRouter's answer to it. */
#define ARP_ASK(vm, vmip, tip, ...) ARPFR(M_BCAST, vm, ARP_REQUEST, vm, vmip, M_ZERO, tip, __VA_ARGS__)
#define ARP_ANSWER(vm, vmip, tip, ...) ARPFR(vm, M_VR, ARP_REPLY, M_VR, tip, vm, vmip, __VA_ARGS__)
/* The underlay MTU (fab0's) less the MPLS-in-UDP overhead: what a VM may send through the tunnel. */
#define TUNNEL_MTU (1500 - VR_ENCAP_OVERHEAD)
/* ... and less MPLS-over-GRE's, 4 bytes fewer. */
#define GRE_TUNNEL_MTU (1500 - VR_ENCAP_OVERHEAD_GRE)
/* From a VM to the GRE network with DF, 1473 bytes of IPv4: one byte more than the GRE tunnel takes. */
#define BIG_UDP_GRE(s, ...) UDPF(s, GRE_IP, .frag = IP_DF_, .len = 1473 - 28, __VA_ARGS__)
#define BIG_TCP_GRE(s, ...) TCPF(s, GRE_IP, .len = 1473 - 40, __VA_ARGS__)
/* Bytes of the offending packet's data an ICMP error from the datapath quotes after its IPv4 header
 * (VR_ICMP_QUOTE of bpf/lib/icmp.h; RFC 792 asks for 8 at least). Taken from the shared headers once they
 * define it; until then it must follow the datapath's value by hand. */
#ifdef VR_ICMP_QUOTE
#define ICMP_QUOTE_DATA VR_ICMP_QUOTE
#else
#define ICMP_QUOTE_DATA 64
#endif
/* The vRouter's answer to a VM whose packet f (as the VM sent it, TTL not spent) is too big for the tunnel
 * with DF set: ICMP type 3 code 4 from address from (the vif's gateway, else the host's underlay address). */
#define FRAG_NEEDED(vm, from, f)                                                                              \
	{ .kind = FK_ICMPERR, .dst = (vm), .src = M_VR, .err_src = (from), .err_mtu = TUNNEL_MTU, .ip = f }
#define FRAG_NEEDED_GRE(vm, from, f)                                                                          \
	{ .kind = FK_ICMPERR, .dst = (vm), .src = M_VR, .err_src = (from), .err_mtu = GRE_TUNNEL_MTU, .ip = f }
/* A tunnel frame from the underlay neighbour to this host, and one from this host to the neighbour. */
#define FROM_NBR(lbl, f, ...)                                                                                 \
	{ .kind = FK_MPLS, .dst = M_FAB, .src = M_NBR, .tun = { .src = NBR_IP, .dst = HOST_IP, .label = (lbl) },   \
	  .ip = f, __VA_ARGS__ }
#define TO_NBR(lbl, f, ...)                                                                                   \
	{ .kind = FK_MPLS, .dst = M_NBR, .src = M_FAB, .tun = { .src = HOST_IP, .dst = NBR_IP, .label = (lbl) },   \
	  .ip = f, __VA_ARGS__ }
/* The same in MPLS-over-GRE. */
#define FROM_NBR_GRE(lbl, f, ...)                                                                             \
	{ .kind = FK_MPLS, .dst = M_FAB, .src = M_NBR,                                                        \
	  .tun = { .src = NBR_IP, .dst = HOST_IP, .label = (lbl), .gre = true }, .ip = f, __VA_ARGS__ }
#define TO_NBR_GRE(lbl, f, ...)                                                                               \
	{ .kind = FK_MPLS, .dst = M_NBR, .src = M_FAB,                                                        \
	  .tun = { .src = HOST_IP, .dst = NBR_IP, .label = (lbl), .gre = true }, .ip = f, __VA_ARGS__ }

static uint32_t label_of(uint32_t l)
{
	return (l & LBL_VIF) ? vifs[l & 0xff].label : l;
}

/* The UDP source port the datapath must choose for the inner IPv4 packet at ip_off, per headers/vr_hash.h:
 * the hash of addresses, protocol and the 32-bit port word as they sit in the packet; the port word is 0 for
 * protocols without ports and for every fragment (first ones included: all fragments must share a path). */
static uint16_t model_sport(const struct pkt *p, size_t ip_off)
{
	uint32_t saddr, daddr, ports = 0;
	uint16_t frag = pkt_get16(p, ip_off + 6);

	if ((p->b[ip_off] >> 4) == 6) {
		uint32_t a[4], b[4];
		uint8_t next = p->b[ip_off + 6];

		memcpy(a, p->b + ip_off + 8, 16);
		memcpy(b, p->b + ip_off + 24, 16);
		if ((next == IPPROTO_TCP_ || next == IPPROTO_UDP_ || next == IPPROTO_SCTP_) && ip_off + 44 <= p->len)
			memcpy(&ports, p->b + ip_off + 40, 4);
		return vr_sport_from_hash(vr_flow_hash6(a, b, ports, next, cfg.hash_seed));
	}
	uint8_t proto = p->b[ip_off + 9];
	size_t hlen = (size_t)(p->b[ip_off] & 0xf) * 4;

	memcpy(&saddr, p->b + ip_off + 12, 4);
	memcpy(&daddr, p->b + ip_off + 16, 4);
	if (!(frag & (IP_MF_ | 0x1fff)) &&
	    (proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_ || proto == IPPROTO_SCTP_) && ip_off + hlen + 4 <= p->len)
		memcpy(&ports, p->b + ip_off + hlen, 4);
	return vr_sport_from_hash(vr_flow_hash4(saddr, daddr, ports, proto, cfg.hash_seed));
}

static const uint8_t v6_src[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t v6_dst[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
static const uint8_t v6_unspec[16];
static const uint8_t v6_ll_vm1[16] = { 0xfe, 0x80, [8] = 0, 0, 0, 0xff, 0xfe, 0, 1, 1 };
static const uint8_t v6_all_nodes[16] = { 0xff, 0x02, [15] = 1 };
/* fe80:: with the vRouter MAC as modified EUI-64: where the vRouter speaks from on a vif without an IPv6
 * gateway. */
static const uint8_t v6_vr_ll[16] = { 0xfe, 0x80, [8] = 0x02, 0x00, 0x5e, 0xff, 0xfe, 0x00, 0x01, 0x00 };

/* An IPv6 address of the tests: explicit if given, else fd00::<v4> (v4 in host order), else dflt. */
static void addr6(uint8_t out[16], const uint8_t *explicit_addr, uint32_t v4, const uint8_t *dflt)
{
	if (explicit_addr) {
		memcpy(out, explicit_addr, 16);
	} else if (v4) {
		memset(out, 0, 16);
		out[0] = 0xfd;
		out[12] = v4 >> 24;
		out[13] = v4 >> 16;
		out[14] = v4 >> 8;
		out[15] = v4;
	} else {
		memcpy(out, dflt, 16);
	}
}

static void build_flow(struct pkt *p, const struct flow *f, struct layout *lo)
{
	uint8_t seed = f->pseed ? f->pseed : (uint8_t)(f->sport ^ f->dport ^ f->id);
	size_t ip, l4;

	if (f->v6) {
		uint8_t s6[16], d6[16];

		addr6(s6, f->src6, f->src, v6_src);
		addr6(d6, f->dst6, f->dst, v6_dst);
		ip = pkt_ipv6(p, f->proto, f->ttl, s6, d6);
		p->b[ip] = 0x60 | f->tos >> 4;
		p->b[ip + 1] = (uint8_t)(f->tos << 4);
		if (f->proto == IPPROTO_TCP_) {
			l4 = pkt_tcp(p, f->sport, f->dport, 0x01020304, 0x0a0b0c0d, TCP_ACK | TCP_PSH);
			pkt_payload(p, f->len, seed);
			pkt_ipv6_end(p, ip);
			pkt_tcp_end(p, ip, l4);
		} else {
			l4 = pkt_udp(p, f->sport, f->dport);
			pkt_payload(p, f->len, seed);
			pkt_ipv6_end(p, ip);
			pkt_udp_end(p, ip, l4, true);
		}
		lo->in3 = ip;
		lo->in4 = l4;
		return;
	}

	struct ipv4_spec s = {
		.ihl = f->ihl, .tos = f->tos, .id = f->id, .frag = f->frag, .ttl = f->ttl, .proto = f->proto,
		.src = f->src, .dst = f->dst,
	};
	ip = pkt_ipv4(p, &s);
	lo->in3 = ip;
	lo->in4 = l4 = p->len;
	if (f->frag & 0x1fff) {
		/* A later fragment: no L4 header, just the datagram's continuation. */
		pkt_payload(p, f->len, seed);
	} else if (f->proto == IPPROTO_UDP_) {
		pkt_udp(p, f->sport, f->dport);
		pkt_payload(p, f->len, seed);
		pkt_udp_end(p, ip, l4, true);
	} else if (f->proto == IPPROTO_TCP_) {
		pkt_tcp(p, f->sport, f->dport, 0x01020304, 0x0a0b0c0d, TCP_ACK | TCP_PSH);
		pkt_payload(p, f->len, seed);
		pkt_tcp_end(p, ip, l4);
	} else if (f->proto == IPPROTO_ICMP_) {
		pkt_icmp_echo(p, ICMP_ECHO_, f->sport, f->dport);
		pkt_payload(p, f->len, seed);
		pkt_icmp_end(p, l4);
	} else {
		pkt_payload(p, f->len, seed);
	}
	pkt_ipv4_end(p, ip);
}

static void build(struct pkt *p, const struct frame *fr, struct layout *lo)
{
	uint16_t natural;

	pkt_init(p);
	memset(lo, 0, sizeof(*lo));
	switch (fr->kind) {
	case FK_IP:
		natural = fr->ip.v6 ? ETHTYPE_IPV6 : ETHTYPE_IP;
		break;
	case FK_MPLS:
	case FK_ICMPERR:
		natural = ETHTYPE_IP;
		break;
	case FK_ND:
	case FK_ICMP6ERR:
		natural = ETHTYPE_IPV6;
		break;
	case FK_ARP:
		natural = ETHTYPE_ARP;
		break;
	default:
		natural = fr->type;
		break;
	}
	if (fr->vlan) {
		pkt_eth(p, macs[fr->dst], macs[fr->src], fr->type ? fr->type : ETHTYPE_VLAN);
		pkt_vlan(p, fr->vlan, natural);
	} else {
		pkt_eth(p, macs[fr->dst], macs[fr->src], fr->type ? fr->type : natural);
	}
	lo->l3 = p->len;

	switch (fr->kind) {
	case FK_IP:
		build_flow(p, &fr->ip, lo);
		break;
	case FK_MPLS: {
		const struct tun *t = &fr->tun;
		struct ipv4_spec o = {
			.ihl = t->ihl, .tos = fr->ip.tos, .frag = t->frag ? t->frag : IP_DF_, .ttl = VR_OUTER_TTL,
			.proto = t->gre ? IPPROTO_GRE_ : IPPROTO_UDP_, .src = t->src, .dst = t->dst,
		};
		uint8_t tc = fr->ip.tos >> 5, ttl = fr->ip.ttl;
		uint32_t label = label_of(t->label);

		pkt_ipv4(p, &o);
		if (t->gre)
			lo->l4 = pkt_gre(p, t->gre_flags, t->gre_proto ? t->gre_proto : ETHTYPE_MPLS);
		else
			lo->l4 = pkt_udp(p, 0, t->dport ? t->dport : VR_MPLS_UDP_PORT);
		lo->mpls = p->len;
		if (t->stack)
			pkt_mpls(p, label, tc, false, ttl);
		pkt_mpls(p, label, tc, true, ttl);
		build_flow(p, &fr->ip, lo);
		if (t->gre) {
			pkt_gre_end(p, lo->l4);
		} else {
			pkt_put16(p, lo->l4, t->sport ? t->sport : model_sport(p, lo->in3));
			pkt_udp_end(p, lo->l3, lo->l4, false);
		}
		pkt_ipv4_end(p, lo->l3);
		break;
	}
	case FK_ARP: {
		const struct arp *a = &fr->arp;

		pkt_arp(p, a->op, macs[a->sha], a->sip, macs[a->tha], a->tip);
		break;
	}
	case FK_ICMPERR: {
		/* RFC 792 / 1191, and the fields a router's own error carries: TOS internetwork control, id 0, no
		 * fragmentation flags, TTL 64. The quote is the offending packet built again from its flow. */
		static struct pkt orig;
		struct ipv4_spec s = { .tos = 0xc0, .ttl = 64, .proto = IPPROTO_ICMP_, .src = fr->err_src,
				       .dst = fr->ip.src };
		struct layout olo;
		size_t ip, icmp;

		pkt_init(&orig);
		build_flow(&orig, &fr->ip, &olo);
		ip = pkt_ipv4(p, &s);
		icmp = pkt_icmp_error(p, ICMP_DEST_UNREACH_, ICMP_FRAG_NEEDED_, fr->err_mtu, orig.b,
				      pkt_icmp_quote_len(orig.b, orig.len, ICMP_QUOTE_DATA));
		pkt_icmp_end(p, icmp);
		pkt_ipv4_end(p, ip);
		lo->in3 = ip;
		lo->in4 = icmp;
		break;
	}
	case FK_ND: {
		const struct nd *n = &fr->nd;
		uint8_t s6[16], d6[16], t6[16];
		size_t ip, icmp, o;
		uint16_t c;

		addr6(t6, n->target6, n->target, v6_unspec);
		addr6(s6, n->src6, n->src, v6_unspec);
		/* The solicited-node group of the target (RFC 4291 2.7.1): ff02::1:ff + its low 24 bits. */
		uint8_t snm[16] = { 0xff, 0x02, [11] = 1, 0xff, t6[13], t6[14], t6[15] };
		addr6(d6, n->dst6, n->dst, snm);
		ip = pkt_ipv6(p, IPPROTO_ICMPV6_, n->hops ? n->hops : 255, s6, d6);
		icmp = pkt_push(p, 24);
		p->b[icmp] = n->type;
		pkt_put32(p, icmp + 4, n->flags);
		memcpy(p->b + icmp + 8, t6, 16);
		if (n->opt_mac != M_ZERO) {
			o = pkt_push(p, 8);
			p->b[o] = n->type == 135 ? 1 : 2;
			p->b[o + 1] = 1;
			memcpy(p->b + o + 2, macs[n->opt_mac], 6);
		}
		pkt_ipv6_end(p, ip);
		c = csum_fold(csum_add(pkt_pseudo_sum(p, ip, IPPROTO_ICMPV6_, p->len - icmp), p->b + icmp, p->len - icmp));
		pkt_put16(p, icmp + 2, n->bad_csum ? (uint16_t)(c ^ 0x0101) : c);
		lo->in3 = ip;
		lo->in4 = icmp;
		break;
	}
	case FK_ICMP6ERR: {
		/* RFC 4443 3.2: type 2 code 0, the MTU, as much of the packet as the datapath quotes (its IPv6
		 * header and ICMP_QUOTE_DATA bytes); the vRouter's hop limit 255. */
		static struct pkt orig;
		struct layout olo;
		uint8_t s6[16];
		size_t ip, icmp, q;

		pkt_init(&orig);
		build_flow(&orig, &fr->ip, &olo);
		addr6(s6, fr->err_src6, fr->err_src, v6_unspec);
		ip = pkt_ipv6(p, IPPROTO_ICMPV6_, 255, s6, orig.b + 8);
		q = orig.len < 40 + ICMP_QUOTE_DATA ? orig.len : 40 + ICMP_QUOTE_DATA;
		icmp = pkt_icmp_error(p, 2, 0, fr->err_mtu, orig.b, q);
		pkt_ipv6_end(p, ip);
		pkt_put16(p, icmp + 2, csum_fold(csum_add(pkt_pseudo_sum(p, ip, IPPROTO_ICMPV6_, p->len - icmp),
							    p->b + icmp, p->len - icmp)));
		lo->in3 = ip;
		lo->in4 = icmp;
		break;
	}
	default:
		pkt_payload(p, fr->ip.len, 0xa5);
		break;
	}

	if (fr->pad)
		pkt_push(p, fr->pad);
	if (fr->cut && fr->cut < p->len)
		p->len = fr->cut;
	if (fr->relen) {
		size_t ip = fr->kind == FK_MPLS ? lo->l3 : lo->in3;

		pkt_put16(p, ip + 2, (uint16_t)(p->len - ip));
		pkt_ipv4_csum(p, ip);
		if (fr->kind == FK_MPLS && !fr->tun.gre)
			pkt_put16(p, lo->l4 + 4, (uint16_t)(p->len - lo->l4));
	}
	if (fr->fix)
		fr->fix(p, lo);
}

/* Deliberate damage. */
static void fix_ihl4(struct pkt *p, const struct layout *lo)
{
	p->b[lo->in3] = 0x44;
	pkt_ipv4_csum(p, lo->in3);
}

static void fix_ihl15(struct pkt *p, const struct layout *lo)
{
	p->b[lo->in3] = 0x4f; /* 60 bytes of header in a 28-byte packet */
	pkt_ipv4_csum(p, lo->in3);
}

static void fix_totlen_below_header(struct pkt *p, const struct layout *lo)
{
	pkt_put16(p, lo->in3 + 2, 16);
	pkt_ipv4_csum(p, lo->in3);
}

static void fix_version6(struct pkt *p, const struct layout *lo)
{
	p->b[lo->in3] = 0x65;
	pkt_ipv4_csum(p, lo->in3);
}

/* An echo request turned into the reply (type 0), its checksum patched: outer IPv4, and inside a tunnel. */
static void fix_echo_reply(struct pkt *p, const struct layout *lo)
{
	p->b[lo->in4] = ICMP_ECHO_REPLY_;
	pkt_icmp_end(p, lo->in4);
}

static void fix_inner_version5(struct pkt *p, const struct layout *lo)
{
	p->b[lo->in3] = 0x55;
	pkt_ipv4_csum(p, lo->in3);
}

static void fix_arp_hln8(struct pkt *p, const struct layout *lo)
{
	p->b[lo->l3 + 4] = 8;
}

static void fix_arp_hrd_ieee802(struct pkt *p, const struct layout *lo)
{
	pkt_put16(p, lo->l3, 6);
}

static void fix_arp_proto_ipv6(struct pkt *p, const struct layout *lo)
{
	pkt_put16(p, lo->l3 + 2, ETHTYPE_IPV6);
}

/* The frame carries 8 trailing bytes after the outer IPv4 packet (.pad = 8); the inner header claims them. */
static void fix_inner_totlen_into_trailer(struct pkt *p, const struct layout *lo)
{
	pkt_put16(p, lo->in3 + 2, (uint16_t)(pkt_get16(p, lo->in3 + 2) + 8));
	pkt_ipv4_csum(p, lo->in3);
}

static void fix_udp_len_beyond_ip(struct pkt *p, const struct layout *lo)
{
	pkt_put16(p, lo->l4 + 4, (uint16_t)(pkt_get16(p, lo->l4 + 4) + 4));
}

/* ---------------------------------------------------------------------------------------------------- */
/* The case table                                                                                        */

enum prog {
	P_XDP,    /* the XDP program of the ingress device: vr_fabric_xdp on FAB, else vr_vif_xdp */
	P_VIF_TC, /* vr_vif_tc on an skb */
	P_FAB_TC, /* vr_fabric_tc on an skb */
};

struct tcase {
	const char *name;
	const char *desc;
	int ing;            /* the device the frame arrives on (FAB: the fabric program, else the vif program) */
	struct frame in;
	__u32 verdict;
	struct frame out;   /* the expected frame (FK_SAME: the input unchanged); not checked for a drop verdict */
	int drop;           /* the one drop reason that must be counted (with XDP_DROP / TC_ACT_SHOT, or with
			     * the ICMP answer of frag_needed): the ingress vif's drops move with it */
	int tx;             /* the vif that must count the frame as sent to its VM (0: none) */
	enum prog prog;     /* the program run (default: the XDP one) */
	int meta;           /* XDP_PASS handing the frame to TC: the metadata must say "redirect to this vif" */
	uint16_t gso_size;  /* TC: the skb is a GSO packet of segments of this size ... */
	uint16_t gso_segs;  /* ... and this many of them */
	bool no_rx;         /* the ingress vif counts nothing (TC on a vif in mode xdp leaves it to XDP) */
	bool fabric_tc;     /* run with the fabric in mode tc (VR_CFG_F_FABRIC_TC: vr_fabric_tc decapsulates) */
};

#define TC_CASE .prog = P_VIF_TC
#define FAB_TC_CASE .prog = P_FAB_TC
#define FAB_TC_MODE_CASE .prog = P_FAB_TC, .fabric_tc = true

static const struct tcase cases[] = {
	/* --- VM -> VM on this host: ENCAP nexthops ----------------------------------------------------- */
	{ "vif/local-udp", "VM -> VM in one VRF: TTL-1 with the checksum patched, src MAC = vRouter, dst MAC = VM",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP)),
	  XDP_REDIRECT, IPFR(M_VM2, M_VR, UDPF(VM1_IP, VM2_IP, .ttl = 63)), .tx = VM2 },
	{ "vif/local-tcp", "TCP the other way, with a DSCP value that must survive",
	  VM2, IPFR(M_VR, M_VM2, TCPF(VM2_IP, VM1_IP, .tos = 0x28)),
	  XDP_REDIRECT, IPFR(M_VM1, M_VR, TCPF(VM2_IP, VM1_IP, .tos = 0x28, .ttl = 63)), .tx = VM1 },
	{ "vif/local-icmp-ttl255", "ICMP echo with TTL 255",
	  VM1, IPFR(M_VR, M_VM1, ICMPF(VM1_IP, VM2_IP, .ttl = 255)),
	  XDP_REDIRECT, IPFR(M_VM2, M_VR, ICMPF(VM1_IP, VM2_IP, .ttl = 254)), .tx = VM2 },
	{ "vif/local-ttl2", "TTL 2 still leaves with TTL 1",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP, .ttl = 2)),
	  XDP_REDIRECT, IPFR(M_VM2, M_VR, UDPF(VM1_IP, VM2_IP, .ttl = 1)), .tx = VM2 },
	{ "vif/local-padding-trimmed", "a 42-byte frame padded to 60: the padding is not delivered",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP, .len = 0), .pad = 18),
	  XDP_REDIRECT, IPFR(M_VM2, M_VR, UDPF(VM1_IP, VM2_IP, .len = 0, .ttl = 63)), .tx = VM2 },
	{ "vif/local-ip-options", "IHL 6 (Router Alert): forwarded with the option intact",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP, .ihl = 6)),
	  XDP_REDIRECT, IPFR(M_VM2, M_VR, UDPF(VM1_IP, VM2_IP, .ihl = 6, .ttl = 63)), .tx = VM2 },
	{ "vif/local-first-fragment", "MF set, offset 0: routed like any packet",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP, .frag = IP_MF_, .len = 64)),
	  XDP_REDIRECT, IPFR(M_VM2, M_VR, UDPF(VM1_IP, VM2_IP, .frag = IP_MF_, .len = 64, .ttl = 63)), .tx = VM2 },
	{ "vif/local-later-fragment", "offset != 0, no L4 header: routed",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP, .frag = 9, .len = 40)),
	  XDP_REDIRECT, IPFR(M_VM2, M_VR, UDPF(VM1_IP, VM2_IP, .frag = 9, .len = 40, .ttl = 63)), .tx = VM2 },

	/* --- VM -> remote host: TUNNEL nexthops ------------------------------------------------------ */
	{ "vif/encap-udp", "MPLS-in-UDP to the neighbour: outer MACs from the fib, TC from the precedence",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, REMOTE_IP, .tos = 0xb8)),
	  XDP_REDIRECT, TO_NBR(100, UDPF(VM1_IP, REMOTE_IP, .tos = 0xb8, .ttl = 63)) },
	{ "vif/encap-tcp", "TCP with DF set inside",
	  VM1, IPFR(M_VR, M_VM1, TCPF(VM1_IP, REMOTE_IP, .ttl = 20)),
	  XDP_REDIRECT, TO_NBR(100, TCPF(VM1_IP, REMOTE_IP, .ttl = 19)) },
	{ "vif/encap-icmp", "no ports: the source port hashes addresses and protocol only",
	  VM1, IPFR(M_VR, M_VM1, ICMPF(VM1_IP, REMOTE_IP, .tos = 0x20)),
	  XDP_REDIRECT, TO_NBR(100, ICMPF(VM1_IP, REMOTE_IP, .tos = 0x20, .ttl = 63)) },
	{ "vif/encap-longest-prefix", "10.9.5.0/24 wins over 10.9.0.0/16: label 150",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, REMOTE_LPM_IP)),
	  XDP_REDIRECT, TO_NBR(150, UDPF(VM1_IP, REMOTE_LPM_IP, .ttl = 63)) },
	{ "vif/encap-host-route", "10.9.5.7/32 (exact-match table) wins over 10.9.5.0/24 (trie): label 170",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, REMOTE_HOST_IP)),
	  XDP_REDIRECT, TO_NBR(170, UDPF(VM1_IP, REMOTE_HOST_IP, .ttl = 63)) },
	{ "vif/encap-host-route-other-vrf", "VRF 2 has no 10.9.5.7/32: its 10.9.0.0/16 answers, label 200",
	  VM3, IPFR(M_VR, M_VM3, UDPF(VM3_IP, REMOTE_HOST_IP)),
	  XDP_REDIRECT, TO_NBR(200, UDPF(VM3_IP, REMOTE_HOST_IP, .ttl = 63)) },
	{ "vif/encap-ip-options", "inner IHL 6 is carried intact; the ports come after the options",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, REMOTE_IP, .ihl = 6)),
	  XDP_REDIRECT, TO_NBR(100, UDPF(VM1_IP, REMOTE_IP, .ihl = 6, .ttl = 63)) },
	{ "vif/encap-first-fragment", "MF set: the source port ignores the ports",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, REMOTE_IP, .frag = IP_MF_, .len = 64)),
	  XDP_REDIRECT, TO_NBR(100, UDPF(VM1_IP, REMOTE_IP, .frag = IP_MF_, .len = 64, .ttl = 63)) },
	{ "vif/encap-later-fragment", "offset != 0: the source port ignores what sits where ports would be",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, REMOTE_IP, .frag = 185, .len = 32)),
	  XDP_REDIRECT, TO_NBR(100, UDPF(VM1_IP, REMOTE_IP, .frag = 185, .len = 32, .ttl = 63)) },
	{ "vif/encap-padding-trimmed", "Ethernet padding is not tunnelled",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, REMOTE_IP, .len = 0), .pad = 18),
	  XDP_REDIRECT, TO_NBR(100, UDPF(VM1_IP, REMOTE_IP, .len = 0, .ttl = 63)) },
	{ "vif/encap-mtu-exact", "a 1468-byte inner packet makes a 1500-byte outer one: fits fab0's MTU",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, REMOTE_IP, .len = 1440)),
	  XDP_REDIRECT, TO_NBR(100, UDPF(VM1_IP, REMOTE_IP, .len = 1440, .ttl = 63)) },
	{ "vif/encap-too-big", "1469 bytes inside would be 1501 outside, DF clear: dropped, counted",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, REMOTE_IP, .len = 1441)), XDP_DROP, .drop = VR_DROP_TOO_BIG },
	{ "vif/encap-vrf2", "VRF 2's own route to the same prefix: label 200",
	  VM3, IPFR(M_VR, M_VM3, UDPF(VM3_IP, REMOTE_IP)),
	  XDP_REDIRECT, TO_NBR(200, UDPF(VM3_IP, REMOTE_IP, .ttl = 63)) },
	{ "vif/encap-unresolved-neigh", "the underlay next hop has no neighbour entry",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, NONEIGH_NET_IP)), XDP_DROP, .drop = VR_DROP_NO_NEIGH },
	{ "vif/encap-underlay-unreachable", "no underlay route to the remote host",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, UNREACH_NET_IP)), XDP_DROP, .drop = VR_DROP_UNDERLAY_UNREACH },
	{ "vif/encap-ttl1", "TTL 1 towards a tunnel",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, REMOTE_IP, .ttl = 1)), XDP_DROP, .drop = VR_DROP_TTL },

	/* --- too big for the tunnel with DF: ICMP fragmentation needed back to the VM (RFC 1191) ------ */
	{ "vif/frag-needed-udp", "UDP, DF, 1469 bytes (1501 tunnelled): ICMP 3/4 from the gateway, MTU 1500 - 32",
	  VM1, IPFR(M_VR, M_VM1, BIG_UDP(VM1_IP)),
	  XDP_REDIRECT, FRAG_NEEDED(M_VM1, GW1, BIG_UDP(VM1_IP)), .drop = VR_DROP_FRAG_NEEDED, .tx = VM1 },
	{ "vif/frag-needed-tcp", "TCP: the quote goes on into the TCP header and the payload",
	  VM1, IPFR(M_VR, M_VM1, BIG_TCP(VM1_IP)),
	  XDP_REDIRECT, FRAG_NEEDED(M_VM1, GW1, BIG_TCP(VM1_IP)), .drop = VR_DROP_FRAG_NEEDED, .tx = VM1 },
	{ "vif/frag-needed-udp-ihl6", "IHL 6: the quoted header keeps its option",
	  VM1, IPFR(M_VR, M_VM1, BIG_UDP(VM1_IP, .ihl = 6, .len = 1469 - 32)),
	  XDP_REDIRECT, FRAG_NEEDED(M_VM1, GW1, BIG_UDP(VM1_IP, .ihl = 6, .len = 1469 - 32)),
	  .drop = VR_DROP_FRAG_NEEDED, .tx = VM1 },
	{ "vif/frag-needed-tcp-ihl6", "IHL 6, TTL 9 and DSCP quoted as sent (the TTL is not spent on an error)",
	  VM2, IPFR(M_VR, M_VM2, BIG_TCP(VM2_IP, .ihl = 6, .len = 1469 - 44, .ttl = 9, .tos = 0x48)),
	  XDP_REDIRECT, FRAG_NEEDED(M_VM2, GW1, BIG_TCP(VM2_IP, .ihl = 6, .len = 1469 - 44, .ttl = 9, .tos = 0x48)),
	  .drop = VR_DROP_FRAG_NEEDED, .tx = VM2 },
	{ "vif/frag-needed-large", "2000 bytes of TCP: only the header and the start of the data are quoted",
	  VM1, IPFR(M_VR, M_VM1, BIG_TCP(VM1_IP, .len = 1960)),
	  XDP_REDIRECT, FRAG_NEEDED(M_VM1, GW1, BIG_TCP(VM1_IP, .len = 1960)), .drop = VR_DROP_FRAG_NEEDED, .tx = VM1 },
	{ "vif/frag-needed-no-gateway", "a vif without a gateway address: the ICMP comes from the host's address",
	  VM6, IPFR(M_VR, M_VM6, BIG_UDP(VM6_IP)),
	  XDP_REDIRECT, FRAG_NEEDED(M_VM6, HOST_IP, BIG_UDP(VM6_IP)), .drop = VR_DROP_FRAG_NEEDED, .tx = VM6 },
	{ "vif/encap-mtu-exact-df", "DF and exactly 1468 bytes: tunnelled (1500 bytes), no ICMP",
	  VM1, IPFR(M_VR, M_VM1, BIG_TCP(VM1_IP, .len = 1428)),
	  XDP_REDIRECT, TO_NBR(100, BIG_TCP(VM1_IP, .len = 1428, .ttl = 63)) },

	/* --- VM -> remote host in MPLS-over-GRE (RFC 4023): TUNNEL nexthops with VR_NH_F_GRE ----------- */
	{ "vif/gre-encap-udp", "IPv4 proto 47, DF, TTL 64, id 0 | GRE 0x8847, no flags | MPLS 300, TC = precedence",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, GRE_IP, .tos = 0xb8)),
	  XDP_REDIRECT, TO_NBR_GRE(300, UDPF(VM1_IP, GRE_IP, .tos = 0xb8, .ttl = 63)) },
	{ "vif/gre-encap-tcp", "TCP with DF inside, inner TTL 20 -> 19 in the label",
	  VM1, IPFR(M_VR, M_VM1, TCPF(VM1_IP, GRE_IP, .ttl = 20)),
	  XDP_REDIRECT, TO_NBR_GRE(300, TCPF(VM1_IP, GRE_IP, .ttl = 19)) },
	{ "vif/gre-encap-icmp", "ICMP echo", VM1, IPFR(M_VR, M_VM1, ICMPF(VM1_IP, GRE_IP, .tos = 0x20)),
	  XDP_REDIRECT, TO_NBR_GRE(300, ICMPF(VM1_IP, GRE_IP, .tos = 0x20, .ttl = 63)) },
	{ "vif/gre-encap-host-route", "10.6.5.7/32 in the host-route table: GRE, label 370",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, GRE_HOST_IP)),
	  XDP_REDIRECT, TO_NBR_GRE(370, UDPF(VM1_IP, GRE_HOST_IP, .ttl = 63)) },
	{ "vif/gre-encap-same-label", "GRE to the same host and label as 10.9.0.0/16's MPLS-in-UDP: a nexthop of its own",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, GRE_SAME_IP)),
	  XDP_REDIRECT, TO_NBR_GRE(100, UDPF(VM1_IP, GRE_SAME_IP, .ttl = 63)) },
	{ "vif/gre-encap-vrf2", "VRF 2's own GRE route to the same prefix: label 311",
	  VM3, IPFR(M_VR, M_VM3, UDPF(VM3_IP, GRE_IP)),
	  XDP_REDIRECT, TO_NBR_GRE(311, UDPF(VM3_IP, GRE_IP, .ttl = 63)) },
	{ "vif/gre-encap-ip-options", "inner IHL 6 carried intact",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, GRE_IP, .ihl = 6)),
	  XDP_REDIRECT, TO_NBR_GRE(300, UDPF(VM1_IP, GRE_IP, .ihl = 6, .ttl = 63)) },
	{ "vif/gre-encap-padding-trimmed", "Ethernet padding is not tunnelled",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, GRE_IP, .len = 0), .pad = 18),
	  XDP_REDIRECT, TO_NBR_GRE(300, UDPF(VM1_IP, GRE_IP, .len = 0, .ttl = 63)) },
	{ "vif/gre-encap-mtu-exact", "1472 bytes inside + 28 = 1500: fits in GRE (it would not in UDP)",
	  VM1, IPFR(M_VR, M_VM1, BIG_UDP_GRE(VM1_IP, .len = 1444)),
	  XDP_REDIRECT, TO_NBR_GRE(300, BIG_UDP_GRE(VM1_IP, .len = 1444, .ttl = 63)) },
	{ "vif/gre-frag-needed-udp", "UDP, DF, 1473 bytes (1501 in GRE): ICMP 3/4 from the gateway, MTU 1500 - 28",
	  VM1, IPFR(M_VR, M_VM1, BIG_UDP_GRE(VM1_IP)),
	  XDP_REDIRECT, FRAG_NEEDED_GRE(M_VM1, GW1, BIG_UDP_GRE(VM1_IP)), .drop = VR_DROP_FRAG_NEEDED, .tx = VM1 },
	{ "vif/gre-frag-needed-tcp", "TCP, 1473 bytes with DF: ICMP, MTU 1472",
	  VM2, IPFR(M_VR, M_VM2, BIG_TCP_GRE(VM2_IP)),
	  XDP_REDIRECT, FRAG_NEEDED_GRE(M_VM2, GW1, BIG_TCP_GRE(VM2_IP)), .drop = VR_DROP_FRAG_NEEDED, .tx = VM2 },
	{ "vif/gre-too-big", "1473 bytes, DF clear: dropped, counted",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, GRE_IP, .len = 1445)), XDP_DROP, .drop = VR_DROP_TOO_BIG },

	/* --- lookups that end the packet's walk ------------------------------------------------------ */
	{ "vif/ttl1", "TTL 1 cannot be forwarded", VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP, .ttl = 1)),
	  XDP_DROP, .drop = VR_DROP_TTL },
	{ "vif/ttl0", "TTL 0 cannot be forwarded", VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP, .ttl = 0)),
	  XDP_DROP, .drop = VR_DROP_TTL },
	{ "vif/no-route", "nothing covers 10.200.0.1 in VRF 1", VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, NOROUTE_IP)),
	  XDP_DROP, .drop = VR_DROP_NO_ROUTE },
	{ "vif/spoof-mac", "VM1 sends with VM2's MAC: dropped, counted", VM1, IPFR(M_VR, M_VM2, UDPF(VM1_IP, VM2_IP)),
	  XDP_DROP, .drop = VR_DROP_SPOOF_MAC },
	{ "vif/spoof-ip", "VM1 sends from VM2's address: dropped, counted", VM1,
	  IPFR(M_VR, M_VM1, UDPF(VM2_IP, REMOTE_IP)), XDP_DROP, .drop = VR_DROP_SPOOF_IP },
	{ "vif/spoof-ip-remote", "VM1 sends from an address routed to a tunnel: dropped, counted", VM1,
	  IPFR(M_VR, M_VM1, UDPF(REMOTE_IP, VM2_IP)), XDP_DROP, .drop = VR_DROP_SPOOF_IP },
	{ "vif/allowed-address", "VM1 sends from 10.1.0.100, routed to its vif (an allowed address pair)", VM1,
	  IPFR(M_VR, M_VM1, UDPF(VM1_EXTRA_IP, VM2_IP)), XDP_REDIRECT,
	  IPFR(M_VM2, M_VR, UDPF(VM1_EXTRA_IP, VM2_IP, .ttl = 63)), .tx = VM2 },
	{ "arp/spoof-sender-ip", "an ARP request claiming VM2's address", VM1, ARP_ASK(M_VM1, VM2_IP, GW1), XDP_DROP,
	  .drop = VR_DROP_SPOOF_IP },
	{ "arp/spoof-sender-mac", "an ARP request claiming VM2's MAC inside, VM1's outside", VM1,
	  ARPFR(M_BCAST, M_VM1, ARP_REQUEST, M_VM2, VM1_IP, M_ZERO, GW1), XDP_DROP, .drop = VR_DROP_SPOOF_MAC },
	{ "vif/vrf-isolation", "VM3 (VRF 2) cannot reach VM2 (VRF 1)", VM3, IPFR(M_VR, M_VM3, UDPF(VM3_IP, VM2_IP)),
	  XDP_DROP, .drop = VR_DROP_NO_ROUTE },
	{ "vif/discard", "a discard route", VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, DISCARD_IP)),
	  XDP_DROP, .drop = VR_DROP_DISCARD },
	{ "vif/receive", "a receive route: to the host stack, untouched (no TTL change)",
	  VM1, IPFR(M_VR, M_VM1, ICMPF(VM1_IP, GW1)), XDP_PASS },
	{ "vif/receive-ttl1", "RFC 1812 4.2.2.9: a packet to the router itself is received even with TTL 1",
	  VM1, IPFR(M_VR, M_VM1, ICMPF(VM1_IP, GW1, .ttl = 1)), XDP_PASS },
	{ "vif/unknown-vif", "a device that is no vif", NOVIF, IPFR(M_VR, M_NOVIF, UDPF(IP4(10, 1, 0, 9), VM2_IP)),
	  XDP_DROP, .drop = VR_DROP_UNKNOWN_VIF },

	/* --- IPv6: routed in the VRF's IPv6 table, NDP, hop limit, Packet Too Big, tunnels ------------- */
	{ "v6/local-udp", "VM -> VM over IPv6: hop limit - 1, MACs rewritten, Ethertype kept",
	  VM1, IPFR(M_VR, M_VM1, V6U(VM1_IP, VM2_IP)),
	  XDP_REDIRECT, IPFR(M_VM2, M_VR, V6U(VM1_IP, VM2_IP, .ttl = 63)), .tx = VM2 },
	{ "v6/local-tcp-tclass", "TCP with a traffic class that must survive",
	  VM2, IPFR(M_VR, M_VM2, V6T(VM2_IP, VM1_IP, .tos = 0xb8)),
	  XDP_REDIRECT, IPFR(M_VM1, M_VR, V6T(VM2_IP, VM1_IP, .tos = 0xb8, .ttl = 63)), .tx = VM1 },
	{ "v6/local-hop2", "hop limit 2 leaves with 1", VM1, IPFR(M_VR, M_VM1, V6U(VM1_IP, VM2_IP, .ttl = 2)),
	  XDP_REDIRECT, IPFR(M_VM2, M_VR, V6U(VM1_IP, VM2_IP, .ttl = 1)), .tx = VM2 },
	{ "v6/local-padding-trimmed", "bytes after the payload length are not delivered",
	  VM1, IPFR(M_VR, M_VM1, V6U(VM1_IP, VM2_IP, .len = 0), .pad = 6),
	  XDP_REDIRECT, IPFR(M_VM2, M_VR, V6U(VM1_IP, VM2_IP, .len = 0, .ttl = 63)), .tx = VM2 },
	{ "v6/hop-limit-1", "hop limit 1 cannot be forwarded", VM1, IPFR(M_VR, M_VM1, V6U(VM1_IP, VM2_IP, .ttl = 1)),
	  XDP_DROP, .drop = VR_DROP_TTL },
	{ "v6/encap-udp", "MPLS-in-UDP from the IPv6 table (label 600), MPLS TC from the traffic class, TTL = hop limit",
	  VM1, IPFR(M_VR, M_VM1, V6U(VM1_IP, REMOTE_IP, .tos = 0xa0)),
	  XDP_REDIRECT, TO_NBR(600, V6U(VM1_IP, REMOTE_IP, .tos = 0xa0, .ttl = 63)) },
	{ "v6/encap-tcp", "TCP: the source port hashes the IPv6 flow",
	  VM1, IPFR(M_VR, M_VM1, V6T(VM1_IP, REMOTE_IP, .ttl = 9)),
	  XDP_REDIRECT, TO_NBR(600, V6T(VM1_IP, REMOTE_IP, .ttl = 8)) },
	{ "v6/encap-host-route", "a /128 (the IPv6 host table) wins over the /112 of the trie: label 670",
	  VM1, IPFR(M_VR, M_VM1, V6U(VM1_IP, REMOTE_HOST_IP)),
	  XDP_REDIRECT, TO_NBR(670, V6U(VM1_IP, REMOTE_HOST_IP, .ttl = 63)) },
	{ "v6/encap-gre", "MPLS-over-GRE nexthop: label 700",
	  VM1, IPFR(M_VR, M_VM1, V6U(VM1_IP, GRE_IP)),
	  XDP_REDIRECT, TO_NBR_GRE(700, V6U(VM1_IP, GRE_IP, .ttl = 63)) },
	{ "v6/encap-vrf2", "VRF 2's IPv6 table: label 800",
	  VM3, IPFR(M_VR, M_VM3, V6U(VM3_IP, REMOTE_IP)),
	  XDP_REDIRECT, TO_NBR(800, V6U(VM3_IP, REMOTE_IP, .ttl = 63)) },
	{ "v6/encap-extra-source", "an address routed to the VM's vif may be its source",
	  VM1, IPFR(M_VR, M_VM1, V6U(VM1_EXTRA_IP, REMOTE_IP)),
	  XDP_REDIRECT, TO_NBR(600, V6U(VM1_EXTRA_IP, REMOTE_IP, .ttl = 63)) },
	{ "v6/encap-mtu-exact", "1468 bytes of IPv6 make a 1500-byte outer packet",
	  VM1, IPFR(M_VR, M_VM1, V6U(VM1_IP, REMOTE_IP, .len = 1468 - 48)),
	  XDP_REDIRECT, TO_NBR(600, V6U(VM1_IP, REMOTE_IP, .len = 1468 - 48, .ttl = 63)) },
	{ "v6/pkt-too-big", "1469 bytes: ICMPv6 Packet Too Big (MTU 1468) from the vif's IPv6 gateway",
	  VM1, IPFR(M_VR, M_VM1, BIG_V6(VM1_IP)),
	  XDP_REDIRECT, PKT_TOO_BIG(M_VM1, GW1, BIG_V6(VM1_IP)), .drop = VR_DROP_PKT_TOO_BIG, .tx = VM1 },
	{ "v6/pkt-too-big-no-gateway", "a vif without an IPv6 gateway: from the vRouter's link-local address",
	  VM6, IPFR(M_VR, M_VM6, BIG_V6(VM6_IP)),
	  XDP_REDIRECT, { .kind = FK_ICMP6ERR, .dst = M_VM6, .src = M_VR, .err_src6 = v6_vr_ll, .err_mtu = TUNNEL_MTU,
			  .ip = BIG_V6(VM6_IP) }, .drop = VR_DROP_PKT_TOO_BIG, .tx = VM6 },
	{ "v6/no-route", "fd00::a0c8:1 is routed nowhere", VM1, IPFR(M_VR, M_VM1, V6U(VM1_IP, NOROUTE_IP)),
	  XDP_DROP, .drop = VR_DROP_NO_ROUTE },
	{ "v6/no-route-v4-only", "10.9.5.0/24 exists for IPv4 only: the IPv6 /112 answers (label 600, not 150)",
	  VM1, IPFR(M_VR, M_VM1, V6U(VM1_IP, REMOTE_LPM_IP)),
	  XDP_REDIRECT, TO_NBR(600, V6U(VM1_IP, REMOTE_LPM_IP, .ttl = 63)) },
	{ "v6/other-vrf", "VM3's VRF has no route to VM1's IPv6 address", VM3, IPFR(M_VR, M_VM3, V6U(VM3_IP, VM1_IP)),
	  XDP_DROP, .drop = VR_DROP_NO_ROUTE },
	{ "v6/discard", "a discard route", VM1, IPFR(M_VR, M_VM1, V6U(VM1_IP, DISCARD_IP)), XDP_DROP,
	  .drop = VR_DROP_DISCARD },
	{ "v6/spoofed-source", "VM1 sending from VM2's IPv6 address", VM1, IPFR(M_VR, M_VM1, V6U(VM2_IP, REMOTE_IP)),
	  XDP_DROP, .drop = VR_DROP_SPOOF_IP },
	{ "v6/unspecified-source", "source ::", VM1, IPFR(M_VR, M_VM1, V6U(0, REMOTE_IP, .src6 = v6_unspec)),
	  XDP_DROP, .drop = VR_DROP_SPOOF_IP },
	{ "v6/link-local-destination", "fe80:: is never routed", VM1,
	  IPFR(M_VR, M_VM1, V6U(VM1_IP, 0, .dst6 = v6_ll_vm1)), XDP_DROP, .drop = VR_DROP_LINK_LOCAL },
	{ "v6/multicast-destination", "ff02::1 (an MLD report would go to ff02::16)", VM1,
	  IPFR(M_VR, M_VM1, V6U(VM1_IP, 0, .dst6 = v6_all_nodes)), XDP_DROP, .drop = VR_DROP_LINK_LOCAL },
	{ "v6/link-local-source", "from fe80:: to a routed address", VM1,
	  IPFR(M_VR, M_VM1, V6U(0, REMOTE_IP, .src6 = v6_ll_vm1)), XDP_DROP, .drop = VR_DROP_LINK_LOCAL },
	{ "v6/truncated", "payload length beyond the frame", VM1,
	  IPFR(M_VR, M_VM1, V6U(VM1_IP, VM2_IP), .cut = 14 + 40 + 20), XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "v6/header-cut", "30 bytes of IPv6 header", VM1,
	  IPFR(M_VR, M_VM1, V6U(VM1_IP, VM2_IP), .cut = 14 + 30), XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "v6/vlan", "802.1Q-tagged IPv6", VM1, IPFR(M_VR, M_VM1, V6U(VM1_IP, VM2_IP), .vlan = 7), XDP_DROP,
	  .drop = VR_DROP_VLAN },
	{ "nd/gateway", "a neighbour solicitation for the IPv6 gateway: advertisement with R, S, O and the vRouter MAC",
	  VM1, NS_ASK(M_VM1, VM1_IP, GW1), XDP_REDIRECT, NA_ANSWER(M_VM1, VM1_IP, GW1, NA_R_S_O), .tx = VM1 },
	{ "nd/routed-local", "for another VM's address in the VRF: S and O, not R",
	  VM1, NS_ASK(M_VM1, VM1_IP, VM2_IP), XDP_REDIRECT, NA_ANSWER(M_VM1, VM1_IP, VM2_IP, NA_S_O), .tx = VM1 },
	{ "nd/routed-remote", "for an address behind a tunnel", VM1, NS_ASK(M_VM1, VM1_IP, REMOTE_IP), XDP_REDIRECT,
	  NA_ANSWER(M_VM1, VM1_IP, REMOTE_IP, NA_S_O), .tx = VM1 },
	{ "nd/no-option", "a solicitation without a source link-layer address option (unicast NUD): grown to carry ours",
	  VM1, NS_ASK(M_VM1, VM1_IP, GW1, .nd.opt_mac = M_ZERO, .nd.dst = GW1), XDP_REDIRECT,
	  NA_ANSWER(M_VM1, VM1_IP, GW1, NA_R_S_O), .tx = VM1 },
	{ "nd/link-local-source", "from the VM's link-local address: answered to it",
	  VM1, NS_ASK(M_VM1, 0, GW1, .nd.src6 = v6_ll_vm1), XDP_REDIRECT,
	  { .kind = FK_ND, .dst = M_VM1, .src = M_VR, .nd = { .type = 136, .src = GW1, .dst6 = v6_ll_vm1, .target = GW1,
							   .opt_mac = M_VR, .flags = NA_R_S_O } }, .tx = VM1 },
	{ "nd/not-routed", "for an address not routed in the VRF", VM1, NS_ASK(M_VM1, VM1_IP, NOROUTE_IP), XDP_DROP,
	  .drop = VR_DROP_ND_NO_ROUTE },
	{ "nd/discard", "for an address under a discard route", VM1, NS_ASK(M_VM1, VM1_IP, DISCARD_IP), XDP_DROP,
	  .drop = VR_DROP_ND_NO_ROUTE },
	{ "nd/other-vrf", "VM3 asks for VM1's address, which its VRF does not route", VM3,
	  NS_ASK(M_VM3, VM3_IP, VM1_IP), XDP_DROP, .drop = VR_DROP_ND_NO_ROUTE },
	{ "nd/dad", "duplicate address detection (source ::) is the VM's business", VM1,
	  NS_ASK(M_VM1, 0, VM1_IP, .nd.src6 = v6_unspec, .nd.opt_mac = M_ZERO), XDP_DROP, .drop = VR_DROP_ND_IGNORED },
	{ "nd/own-address", "for the VM's own address", VM1, NS_ASK(M_VM1, VM1_IP, VM1_IP), XDP_DROP,
	  .drop = VR_DROP_ND_IGNORED },
	{ "nd/hop-limit-64", "RFC 4861 7.1.1: hop limit other than 255 is not NDP from the link", VM1,
	  NS_ASK(M_VM1, VM1_IP, GW1, .nd.hops = 64), XDP_DROP, .drop = VR_DROP_ND_IGNORED },
	{ "nd/bad-checksum", "ICMPv6 checksum wrong", VM1, NS_ASK(M_VM1, VM1_IP, GW1, .nd.bad_csum = true), XDP_DROP,
	  .drop = VR_DROP_MALFORMED },
	{ "nd/spoofed-source", "from VM2's address on VM1's vif", VM1, NS_ASK(M_VM1, VM2_IP, GW1), XDP_DROP,
	  .drop = VR_DROP_SPOOF_IP },
	{ "nd/spoofed-mac", "from a MAC that is not the vif's", VM1, NS_ASK(M_VM2, VM1_IP, GW1), XDP_DROP,
	  .drop = VR_DROP_SPOOF_MAC },
	{ "nd/advertisement", "a VM's own advertisement needs no answer", VM1,
	  NA_ANSWER(M_VR, VM2_IP, VM1_IP, NA_S_O, .src = M_VM1, .nd.opt_mac = M_VM1), XDP_DROP,
	  .drop = VR_DROP_ND_IGNORED },
	{ "nd/router-solicitation", "no router advertisements: addresses are configured", VM1,
	  NS_ASK(M_VM1, VM1_IP, GW1, .nd.type = 133), XDP_DROP, .drop = VR_DROP_ND_IGNORED },
	{ "nd/truncated", "a solicitation cut inside its target", VM1, NS_ASK(M_VM1, VM1_IP, GW1, .cut = 14 + 40 + 20),
	  XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "fab/v6-decap-vif-label", "IPv6 inside a vif's label: delivered with Ethertype IPv6, hop limit kept",
	  FAB, FROM_NBR(LBL(VM1), V6U(REMOTE_IP, VM1_IP, .ttl = 61)), XDP_REDIRECT,
	  IPFR(M_VM1, M_VR, V6U(REMOTE_IP, VM1_IP, .ttl = 61)), .tx = VM1 },
	{ "fab/v6-decap-gre", "IPv6 in MPLS-over-GRE", FAB, FROM_NBR_GRE(LBL(VM2), V6T(REMOTE_IP, VM2_IP)),
	  XDP_REDIRECT, IPFR(M_VM2, M_VR, V6T(REMOTE_IP, VM2_IP)), .tx = VM2 },
	{ "fab/v6-decap-vrf-label", "VRF 2's label: the IPv6 destination picks the vif",
	  FAB, FROM_NBR(VRF2_LABEL, V6U(REMOTE_IP, VM3_IP)), XDP_REDIRECT, IPFR(M_VM3, M_VR, V6U(REMOTE_IP, VM3_IP)),
	  .tx = VM3 },
	{ "fab/v6-decap-vrf-label-no-route", "VRF 2's label, an IPv6 destination of VRF 1 only",
	  FAB, FROM_NBR(VRF2_LABEL, V6U(REMOTE_IP, VM1_IP)), XDP_DROP, .drop = VR_DROP_NO_ROUTE },
	{ "fab/v6-decap-vrf-label-to-tunnel", "VRF 2's label, an IPv6 destination behind a tunnel: never re-tunnelled",
	  FAB, FROM_NBR(VRF2_LABEL, V6U(VM3_IP, REMOTE_IP)), XDP_DROP, .drop = VR_DROP_NH_INVALID },
	{ "fab/v6-decap-to-tc-vif", "IPv6 for a vif in mode tc: handed to TC with the metadata",
	  FAB, FROM_NBR(LBL(VM4), V6U(REMOTE_IP, VM4_IP)), XDP_PASS, IPFR(M_VM4, M_VR, V6U(REMOTE_IP, VM4_IP)),
	  .tx = VM4, .meta = VM4 },
	{ "fab/v6-inner-truncated", "the inner payload length runs past the UDP datagram", FAB,
	  FROM_NBR(LBL(VM1), V6U(REMOTE_IP, VM1_IP), .cut = 14 + 20 + 8 + 4 + 50, .relen = true), XDP_DROP,
	  .drop = VR_DROP_MALFORMED },
	{ "tc/v6-local", "IPv6 VM -> VM on the skb path", VM4, IPFR(M_VR, M_VM4, V6U(VM4_IP, VM1_IP)), TC_ACT_REDIRECT,
	  IPFR(M_VM1, M_VR, V6U(VM4_IP, VM1_IP, .ttl = 63)), .tx = VM1, TC_CASE },
	{ "tc/v6-encap-udp", "IPv6 MPLS-in-UDP on the skb path", VM4, IPFR(M_VR, M_VM4, V6T(VM4_IP, REMOTE_IP)),
	  TC_ACT_REDIRECT, TO_NBR(600, V6T(VM4_IP, REMOTE_IP, .ttl = 63)), TC_CASE },
	{ "tc/v6-encap-gre", "IPv6 MPLS-over-GRE on the skb path", VM4, IPFR(M_VR, M_VM4, V6U(VM4_IP, GRE_IP)),
	  TC_ACT_REDIRECT, TO_NBR_GRE(700, V6U(VM4_IP, GRE_IP, .ttl = 63)), TC_CASE },
	{ "tc/v6-pkt-too-big", "Packet Too Big on the skb path", VM4, IPFR(M_VR, M_VM4, BIG_V6(VM4_IP)),
	  TC_ACT_REDIRECT, PKT_TOO_BIG(M_VM4, GW1, BIG_V6(VM4_IP)), .drop = VR_DROP_PKT_TOO_BIG, .tx = VM4, TC_CASE },
	{ "tc/v6-hop-limit-1", "hop limit 1 on the skb path", VM4, IPFR(M_VR, M_VM4, V6U(VM4_IP, VM1_IP, .ttl = 1)),
	  TC_ACT_SHOT, .drop = VR_DROP_TTL, TC_CASE },
	{ "tc/nd-gateway", "NDP on the skb path", VM4, NS_ASK(M_VM4, VM4_IP, GW1), TC_ACT_REDIRECT,
	  NA_ANSWER(M_VM4, VM4_IP, GW1, NA_R_S_O), .tx = VM4, TC_CASE },
	{ "tc/nd-no-option", "a solicitation without options on the skb path: grown", VM4,
	  NS_ASK(M_VM4, VM4_IP, VM1_IP, .nd.opt_mac = M_ZERO), TC_ACT_REDIRECT,
	  NA_ANSWER(M_VM4, VM4_IP, VM1_IP, NA_S_O), .tx = VM4, TC_CASE },
	{ "tc/nd-not-routed", "NDP for an unrouted address on the skb path", VM4, NS_ASK(M_VM4, VM4_IP, NOROUTE_IP),
	  TC_ACT_SHOT, .drop = VR_DROP_ND_NO_ROUTE, TC_CASE },
	{ "fab-tc/v6-decap", "fabric mode tc: IPv6 decapsulated by vr_fabric_tc",
	  FAB, FROM_NBR(LBL(VM4), V6T(REMOTE_IP, VM4_IP)), TC_ACT_REDIRECT, IPFR(M_VM4, M_VR, V6T(REMOTE_IP, VM4_IP)),
	  .tx = VM4, FAB_TC_MODE_CASE },
	{ "fab-tc/v6-decap-vrf-label", "fabric mode tc: VRF 2's label with IPv6 inside",
	  FAB, FROM_NBR(VRF2_LABEL, V6U(REMOTE_IP, VM6_IP)), TC_ACT_REDIRECT, IPFR(M_VM6, M_VR, V6U(REMOTE_IP, VM6_IP)),
	  .tx = VM6, FAB_TC_MODE_CASE },

	/* --- the gateway: source NAT, floating IPs, out by the host's routes, back into the VRF ----------- */
	{ "gw/snat-udp-out", "VRF 3's per-VRF label, default route external: source 198.51.100.3:40000, TTL - 1, out of "
	  "ext0 to the border's MAC", FAB, FROM_NBR(VRF3_LABEL, UDPF(T3_VM_IP, OUTSIDE_IP, .sport = 33333, .pseed = 7)), XDP_REDIRECT,
	  IPFR(M_BORDER, M_EXT, UDPF(SNAT3_IP, OUTSIDE_IP, .sport = SNAT_PORT, .ttl = 63, .pseed = 7)) },
	{ "gw/snat-udp-again", "the same flow again: the same public port", FAB,
	  FROM_NBR(VRF3_LABEL, UDPF(T3_VM_IP, OUTSIDE_IP, .sport = 33333, .id = 2, .pseed = 7)), XDP_REDIRECT,
	  IPFR(M_BORDER, M_EXT, UDPF(SNAT3_IP, OUTSIDE_IP, .sport = SNAT_PORT, .id = 2, .ttl = 63, .pseed = 7)) },
	{ "gw/snat-udp-in", "the reply on ext0: to 10.9.1.1:33333, tunnelled by VRF 3's route (label 900)", EXT,
	  IPFR(M_EXT, M_BORDER, UDPF(OUTSIDE_IP, SNAT3_IP, .sport = 5001, .dport = SNAT_PORT, .pseed = 7)), XDP_REDIRECT,
	  TO_NBR(900, UDPF(OUTSIDE_IP, T3_VM_IP, .sport = 5001, .dport = 33333, .ttl = 63, .pseed = 7)) },
	{ "gw/snat-no-port", "another flow to the same remote port: the one public port is taken", FAB,
	  FROM_NBR(VRF3_LABEL, UDPF(T3_VM_IP, OUTSIDE_IP, .sport = 33334, .pseed = 7)), XDP_DROP, .drop = VR_DROP_NAT_NO_PORT },
	{ "gw/snat-tcp-out", "TCP: the same public port, another protocol", FAB,
	  FROM_NBR(VRF3_LABEL, TCPF(T3_VM_IP, OUTSIDE_IP, .sport = 33335, .pseed = 7)), XDP_REDIRECT,
	  IPFR(M_BORDER, M_EXT, TCPF(SNAT3_IP, OUTSIDE_IP, .sport = SNAT_PORT, .ttl = 63, .pseed = 7)) },
	{ "gw/snat-tcp-in", "the TCP answer back to 10.9.1.1:33335", EXT,
	  IPFR(M_EXT, M_BORDER, TCPF(OUTSIDE_IP, SNAT3_IP, .sport = 80, .dport = SNAT_PORT, .pseed = 7)), XDP_REDIRECT,
	  TO_NBR(900, TCPF(OUTSIDE_IP, T3_VM_IP, .sport = 80, .dport = 33335, .ttl = 63, .pseed = 7)) },
	{ "gw/snat-echo-out", "ICMP echo: the identifier becomes the public port", FAB,
	  FROM_NBR(VRF3_LABEL, ICMPF(T3_VM_IP, OUTSIDE_IP, .pseed = 7)), XDP_REDIRECT,
	  IPFR(M_BORDER, M_EXT, ICMPF(SNAT3_IP, OUTSIDE_IP, .sport = SNAT_PORT, .ttl = 63, .pseed = 7)) },
	{ "gw/snat-echo-in", "the echo reply gets the VM's identifier back", EXT,
	  { .kind = FK_IP, .dst = M_EXT, .src = M_BORDER, .ip = ICMPF(OUTSIDE_IP, SNAT3_IP, .sport = SNAT_PORT, .pseed = 7),
	    .fix = fix_echo_reply }, XDP_REDIRECT,
	  { .kind = FK_MPLS, .dst = M_NBR, .src = M_FAB, .tun = { .src = HOST_IP, .dst = NBR_IP, .label = 900 },
	    .ip = ICMPF(OUTSIDE_IP, T3_VM_IP, .ttl = 63, .pseed = 7), .fix = fix_echo_reply } },
	{ "gw/no-conn", "to the SNAT address, a port no connection holds", EXT,
	  IPFR(M_EXT, M_BORDER, UDPF(OUTSIDE_IP, SNAT3_IP, .sport = 5001, .dport = SNAT_PORT + 1, .pseed = 7)), XDP_DROP,
	  .drop = VR_DROP_NAT_NO_CONN },
	{ "gw/echo-request-to-snat", "an echo request to a SNAT address: nobody to ask", EXT,
	  IPFR(M_EXT, M_BORDER, ICMPF(OUTSIDE_IP, SNAT3_IP, .pseed = 7)), XDP_DROP, .drop = VR_DROP_NAT_NO_CONN },
	{ "gw/host-traffic", "to the host's own address on ext0 (a BGP session): the host's", EXT,
	  IPFR(M_EXT, M_BORDER, TCPF(BORDER_IP, EXT_IP, .sport = 179, .dport = 50000, .pseed = 7)), XDP_PASS },
	{ "gw/fip-out", "10.9.3.3 has a floating IP: it leaves as 198.51.100.33, ports untouched", FAB,
	  FROM_NBR(VRF3_LABEL, TCPF(T3_FIP_VM_IP, OUTSIDE_IP, .pseed = 7)), XDP_REDIRECT,
	  IPFR(M_BORDER, M_EXT, TCPF(FIP3_IP, OUTSIDE_IP, .ttl = 63, .pseed = 7)) },
	{ "gw/fip-in", "from outside to the floating IP: to 10.9.3.3, no connection needed", EXT,
	  IPFR(M_EXT, M_BORDER, TCPF(OUTSIDE_IP, FIP3_IP, .sport = 50123, .dport = 22, .pseed = 7)), XDP_REDIRECT,
	  TO_NBR(900, TCPF(OUTSIDE_IP, T3_FIP_VM_IP, .sport = 50123, .dport = 22, .ttl = 63, .pseed = 7)) },
	{ "gw/hairpin", "a tenant to a floating IP of its own gateway: source-NATed, then straight back in", FAB,
	  FROM_NBR(VRF3_LABEL, UDPF(T3_VM_IP, FIP3_IP, .sport = 33336, .pseed = 7)), XDP_REDIRECT,
	  TO_NBR(900, UDPF(SNAT3_IP, T3_FIP_VM_IP, .sport = SNAT_PORT, .ttl = 62, .pseed = 7)) },
	{ "gw/no-snat", "VRF 4 routes to the outside but has no public address", FAB,
	  FROM_NBR(VRF4_LABEL, UDPF(T3_VM_IP, OUTSIDE_IP, .pseed = 7)), XDP_DROP, .drop = VR_DROP_NAT_NO_SNAT },
	{ "gw/unsupported-proto", "GRE from a VM to the outside: neither TCP, UDP nor ICMP echo", FAB,
	  FROM_NBR(VRF3_LABEL, UDPF(T3_VM_IP, OUTSIDE_IP, .proto = IPPROTO_GRE_, .pseed = 7)), XDP_DROP,
	  .drop = VR_DROP_NAT_UNSUPPORTED },
	{ "gw/fragment", "a later fragment has no ports to translate", FAB,
	  FROM_NBR(VRF3_LABEL, UDPF(T3_VM_IP, OUTSIDE_IP, .frag = 185, .len = 32, .pseed = 7)), XDP_DROP,
	  .drop = VR_DROP_NAT_UNSUPPORTED },
	{ "gw/unreachable", "no route through ext0 to 192.0.2.199: dropped, never sent elsewhere", FAB,
	  FROM_NBR(VRF3_LABEL, UDPF(T3_FIP_VM_IP, NOWHERE_IP, .pseed = 7)), XDP_DROP, .drop = VR_DROP_EXT_UNREACH },
	{ "gw/ttl1", "TTL 1 when it reaches the gateway", FAB, FROM_NBR(VRF3_LABEL, UDPF(T3_FIP_VM_IP, OUTSIDE_IP, .ttl = 1, .pseed = 7)),
	  XDP_DROP, .drop = VR_DROP_TTL },
	{ "gw/ipv6", "IPv6 to the outside is not translated", FAB, FROM_NBR(VRF3_LABEL, V6U(T3_VM_IP, OUTSIDE_IP)),
	  XDP_DROP, .drop = VR_DROP_NAT_UNSUPPORTED },
	{ "gw/fabric-mode-tc", "fabric mode tc does not translate", FAB,
	  FROM_NBR(VRF3_LABEL, UDPF(T3_FIP_VM_IP, OUTSIDE_IP, .pseed = 7)), TC_ACT_SHOT, .drop = VR_DROP_NOT_GATEWAY, FAB_TC_MODE_CASE },

	/* --- frames the vRouter does not route ------------------------------------------------------- */
	{ "vif/ipv6-foreign-source", "IPv6 from an address that is neither the VM's nor routed to its vif",
	  VM1, IPFR(M_VR, M_VM1, V6F()), XDP_DROP, .drop = VR_DROP_SPOOF_IP },
	{ "vif/lldp", "LLDP", VM1, ETHFR(M_LLDP, M_VM1, ETHTYPE_LLDP, 46), XDP_DROP, .drop = VR_DROP_ETHERTYPE },
	{ "vif/vlan", "802.1Q-tagged IPv4", VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP), .vlan = 100),
	  XDP_DROP, .drop = VR_DROP_VLAN },
	{ "vif/qinq", "802.1ad-tagged IPv4", VM1,
	  IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP), .vlan = 100, .type = ETHTYPE_QINQ), XDP_DROP, .drop = VR_DROP_VLAN },

	/* --- malformed IPv4 from a VM ---------------------------------------------------------------- */
	/* Frames shorter than an Ethernet header cannot be tested: BPF_PROG_TEST_RUN refuses them (on 6.18 even
	 * behind XDP metadata), and no driver delivers them. The shortest frame is a bare Ethernet header. */
	{ "vif/eth-only", "Ethertype IPv4 and nothing after the Ethernet header",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP), .cut = 14), XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "vif/ipv4-truncated", "10 bytes of IPv4 header", VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP), .cut = 24),
	  XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "vif/ihl4", "IHL 4 (< 5)", VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP), .fix = fix_ihl4),
	  XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "vif/ihl-beyond-packet", "IHL 15 in a 28-byte packet",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP, .len = 0), .fix = fix_ihl15), XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "vif/totlen-beyond-frame", "total length 8 bytes more than the frame holds",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP, .len = 32), .cut = 14 + 20 + 8 + 24),
	  XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "vif/totlen-below-header", "total length 16 < the 20-byte header",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP), .fix = fix_totlen_below_header), XDP_DROP,
	  .drop = VR_DROP_MALFORMED },
	{ "vif/version6-as-ipv4", "Ethertype IPv4 but version 6",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP), .fix = fix_version6), XDP_DROP, .drop = VR_DROP_MALFORMED },

	/* --- ARP ---------------------------------------------------------------------------------------- */
	{ "arp/gateway", "a VM asks for its gateway: answered with the vRouter MAC",
	  VM1, ARP_ASK(M_VM1, VM1_IP, GW1), XDP_REDIRECT, ARP_ANSWER(M_VM1, VM1_IP, GW1), .tx = VM1 },
	{ "arp/local-vm", "a VM asks for another VM: the vRouter answers, not the VM",
	  VM1, ARP_ASK(M_VM1, VM1_IP, VM2_IP), XDP_REDIRECT, ARP_ANSWER(M_VM1, VM1_IP, VM2_IP), .tx = VM1 },
	{ "arp/remote-route", "an address behind a tunnel",
	  VM1, ARP_ASK(M_VM1, VM1_IP, REMOTE_IP), XDP_REDIRECT, ARP_ANSWER(M_VM1, VM1_IP, REMOTE_IP), .tx = VM1 },
	{ "arp/vrf2-gateway", "VRF 2's gateway from VM3",
	  VM3, ARP_ASK(M_VM3, VM3_IP, GW2), XDP_REDIRECT, ARP_ANSWER(M_VM3, VM3_IP, GW2), .tx = VM3 },
	{ "arp/unicast-refresh", "a unicast request (cache refresh) to the vRouter MAC",
	  VM2, ARPFR(M_VR, M_VM2, ARP_REQUEST, M_VM2, VM2_IP, M_VR, GW1),
	  XDP_REDIRECT, ARP_ANSWER(M_VM2, VM2_IP, GW1), .tx = VM2 },
	{ "arp/padded", "a request padded to 60 bytes: the answer keeps the frame's length",
	  VM1, ARP_ASK(M_VM1, VM1_IP, GW1, .pad = 18), XDP_REDIRECT, ARP_ANSWER(M_VM1, VM1_IP, GW1, .pad = 18), .tx = VM1 },
	{ "arp/unrouted", "an address not routed in the VRF", VM1, ARP_ASK(M_VM1, VM1_IP, NOROUTE_IP),
	  XDP_DROP, .drop = VR_DROP_ARP_NO_ROUTE },
	{ "arp/discard-route", "an address under a discard route", VM1, ARP_ASK(M_VM1, VM1_IP, DISCARD_IP),
	  XDP_DROP, .drop = VR_DROP_ARP_NO_ROUTE },
	{ "arp/other-vrf", "VM3 asks for VM2, which lives in VRF 1", VM3, ARP_ASK(M_VM3, VM3_IP, VM2_IP),
	  XDP_DROP, .drop = VR_DROP_ARP_NO_ROUTE },
	{ "arp/gratuitous-request", "gratuitous ARP (request, sender = target)", VM1, ARP_ASK(M_VM1, VM1_IP, VM1_IP),
	  XDP_DROP, .drop = VR_DROP_ARP_IGNORED },
	{ "arp/gratuitous-reply", "gratuitous ARP (reply, sender = target)",
	  VM1, ARPFR(M_BCAST, M_VM1, ARP_REPLY, M_VM1, VM1_IP, M_BCAST, VM1_IP), XDP_DROP, .drop = VR_DROP_ARP_IGNORED },
	{ "arp/reply", "a VM's ARP reply", VM1, ARPFR(M_VR, M_VM1, ARP_REPLY, M_VM1, VM1_IP, M_VR, GW1),
	  XDP_DROP, .drop = VR_DROP_ARP_IGNORED },
	{ "arp/probe", "RFC 5227 probe (sender 0.0.0.0)", VM1, ARP_ASK(M_VM1, 0, VM2_IP),
	  XDP_DROP, .drop = VR_DROP_ARP_IGNORED },
	{ "arp/own-address", "a request for the VM's own address", VM1, ARP_ASK(M_VM1, IP4(10, 1, 0, 99), VM1_IP),
	  XDP_DROP, .drop = VR_DROP_ARP_IGNORED },
	{ "arp/truncated", "20 of the 28 ARP bytes", VM1, ARP_ASK(M_VM1, VM1_IP, GW1, .cut = 34),
	  XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "arp/bad-hln", "hardware address length 8", VM1, ARP_ASK(M_VM1, VM1_IP, GW1, .fix = fix_arp_hln8),
	  XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "arp/bad-hrd", "hardware type IEEE 802", VM1, ARP_ASK(M_VM1, VM1_IP, GW1, .fix = fix_arp_hrd_ieee802),
	  XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "arp/bad-proto", "protocol type IPv6", VM1, ARP_ASK(M_VM1, VM1_IP, GW1, .fix = fix_arp_proto_ipv6),
	  XDP_DROP, .drop = VR_DROP_MALFORMED },

	/* --- fabric -> VM: decapsulation ------------------------------------------------------------- */
	{ "fab/decap-vif-label", "a vif's label: outer headers stripped, Ethernet to the VM from the vRouter MAC",
	  FAB, FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP, .ttl = 63)),
	  XDP_REDIRECT, IPFR(M_VM1, M_VR, UDPF(REMOTE_IP, VM1_IP, .ttl = 63)), .tx = VM1 },
	{ "fab/decap-vif-label-vrf2", "a vif in VRF 2, TCP inside",
	  FAB, FROM_NBR(LBL(VM3), TCPF(REMOTE_IP, VM3_IP, .tos = 0x48)),
	  XDP_REDIRECT, IPFR(M_VM3, M_VR, TCPF(REMOTE_IP, VM3_IP, .tos = 0x48)), .tx = VM3 },
	{ "fab/decap-legacy-port", "UDP port 51234 is accepted too",
	  FAB, FROM_NBR(LBL(VM2), UDPF(REMOTE_IP, VM2_IP), .tun.dport = VR_MPLS_UDP_PORT_LEGACY),
	  XDP_REDIRECT, IPFR(M_VM2, M_VR, UDPF(REMOTE_IP, VM2_IP)), .tx = VM2 },
	{ "fab/unknown-endpoint", "MPLS-in-UDP from 192.0.2.77, no tunnel endpoint of ours: dropped, counted",
	  FAB, FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.src = STRANGER_IP), XDP_DROP,
	  .drop = VR_DROP_UNKNOWN_ENDPOINT },
	{ "fab/decap-vrf-label", "VRF 2's label: the inner destination picks the vif",
	  FAB, FROM_NBR(VRF2_LABEL, ICMPF(REMOTE_IP, VM3_IP)),
	  XDP_REDIRECT, IPFR(M_VM3, M_VR, ICMPF(REMOTE_IP, VM3_IP)), .tx = VM3 },
	{ "fab/decap-vrf-label-no-route", "VRF 2's label, inner destination not routed there",
	  FAB, FROM_NBR(VRF2_LABEL, UDPF(REMOTE_IP, VM2_IP)), XDP_DROP, .drop = VR_DROP_NO_ROUTE },
	{ "fab/decap-vrf-label-to-tunnel", "VRF 2's label, inner destination behind a tunnel: never re-tunnelled",
	  FAB, FROM_NBR(VRF2_LABEL, UDPF(REMOTE_IP, IP4(10, 9, 7, 7))), XDP_DROP, .drop = VR_DROP_NH_INVALID },
	{ "fab/decap-padding-trimmed", "Ethernet padding after the outer packet is not delivered",
	  FAB, FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP, .len = 0), .pad = 16),
	  XDP_REDIRECT, IPFR(M_VM1, M_VR, UDPF(REMOTE_IP, VM1_IP, .len = 0)), .tx = VM1 },
	{ "fab/decap-tunnel-padding-trimmed", "bytes inside the UDP payload after the inner packet are not delivered",
	  FAB, FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .pad = 6, .relen = true),
	  XDP_REDIRECT, IPFR(M_VM1, M_VR, UDPF(REMOTE_IP, VM1_IP)), .tx = VM1 },
	{ "fab/decap-outer-options", "outer IPv4 with options (IHL 6)",
	  FAB, FROM_NBR(LBL(VM2), UDPF(REMOTE_IP, VM2_IP), .tun.ihl = 6),
	  XDP_REDIRECT, IPFR(M_VM2, M_VR, UDPF(REMOTE_IP, VM2_IP)), .tx = VM2 },
	{ "fab/decap-inner-options", "inner IPv4 with options, delivered intact",
	  FAB, FROM_NBR(LBL(VM2), UDPF(REMOTE_IP, VM2_IP, .ihl = 6)),
	  XDP_REDIRECT, IPFR(M_VM2, M_VR, UDPF(REMOTE_IP, VM2_IP, .ihl = 6)), .tx = VM2 },
	{ "fab/decap-inner-fragment", "an inner later fragment",
	  FAB, FROM_NBR(LBL(VM2), UDPF(REMOTE_IP, VM2_IP, .frag = 100, .len = 48)),
	  XDP_REDIRECT, IPFR(M_VM2, M_VR, UDPF(REMOTE_IP, VM2_IP, .frag = 100, .len = 48)), .tx = VM2 },
	{ "fab/decap-large", "a 1468-byte inner packet in a 1500-byte outer one",
	  FAB, FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP, .len = 1440)),
	  XDP_REDIRECT, IPFR(M_VM1, M_VR, UDPF(REMOTE_IP, VM1_IP, .len = 1440)), .tx = VM1 },

	/* --- fabric -> VM: MPLS-over-GRE, the same label resolution --------------------------------- */
	{ "fab/gre-decap-vif-label", "IPv4 proto 47 | GRE 0x8847 | a vif's label: stripped, Ethernet to the VM",
	  FAB, FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP, .ttl = 63)),
	  XDP_REDIRECT, IPFR(M_VM1, M_VR, UDPF(REMOTE_IP, VM1_IP, .ttl = 63)), .tx = VM1 },
	{ "fab/gre-decap-vif-label-vrf2", "a vif in VRF 2, TCP inside",
	  FAB, FROM_NBR_GRE(LBL(VM3), TCPF(REMOTE_IP, VM3_IP, .tos = 0x48)),
	  XDP_REDIRECT, IPFR(M_VM3, M_VR, TCPF(REMOTE_IP, VM3_IP, .tos = 0x48)), .tx = VM3 },
	{ "fab/gre-decap-vrf-label", "VRF 2's label: the inner destination picks the vif",
	  FAB, FROM_NBR_GRE(VRF2_LABEL, ICMPF(REMOTE_IP, VM3_IP)),
	  XDP_REDIRECT, IPFR(M_VM3, M_VR, ICMPF(REMOTE_IP, VM3_IP)), .tx = VM3 },
	{ "fab/gre-decap-checksum", "GRE with its checksum present (8-byte header): accepted, not verified",
	  FAB, FROM_NBR_GRE(LBL(VM2), UDPF(REMOTE_IP, VM2_IP), .tun.gre_flags = GRE_CSUM),
	  XDP_REDIRECT, IPFR(M_VM2, M_VR, UDPF(REMOTE_IP, VM2_IP)), .tx = VM2 },
	{ "fab/gre-decap-reserved-bits", "bits 6-12 of the GRE flags (recursion 3 included) set: ignored (RFC 2784 2.3)",
	  FAB, FROM_NBR_GRE(LBL(VM2), UDPF(REMOTE_IP, VM2_IP), .tun.gre_flags = 0x03f8),
	  XDP_REDIRECT, IPFR(M_VM2, M_VR, UDPF(REMOTE_IP, VM2_IP)), .tx = VM2 },
	{ "fab/gre-decap-outer-options", "outer IPv4 with options (IHL 6)",
	  FAB, FROM_NBR_GRE(LBL(VM2), UDPF(REMOTE_IP, VM2_IP), .tun.ihl = 6),
	  XDP_REDIRECT, IPFR(M_VM2, M_VR, UDPF(REMOTE_IP, VM2_IP)), .tx = VM2 },
	{ "fab/gre-decap-padding-trimmed", "Ethernet padding after the outer packet is not delivered",
	  FAB, FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP, .len = 0), .pad = 16),
	  XDP_REDIRECT, IPFR(M_VM1, M_VR, UDPF(REMOTE_IP, VM1_IP, .len = 0)), .tx = VM1 },
	{ "fab/gre-decap-tunnel-padding-trimmed", "bytes in the outer packet after the inner one are not delivered",
	  FAB, FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .pad = 6, .relen = true),
	  XDP_REDIRECT, IPFR(M_VM1, M_VR, UDPF(REMOTE_IP, VM1_IP)), .tx = VM1 },
	{ "fab/gre-decap-large", "a 1472-byte inner packet in a 1500-byte outer one",
	  FAB, FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP, .len = 1444)),
	  XDP_REDIRECT, IPFR(M_VM1, M_VR, UDPF(REMOTE_IP, VM1_IP, .len = 1444)), .tx = VM1 },
	{ "fab/gre-decap-to-tc-vif", "a tc vif's label: stripped, handed to TC with the note",
	  FAB, FROM_NBR_GRE(LBL(VM4), UDPF(REMOTE_IP, VM4_IP, .ttl = 63)),
	  XDP_PASS, IPFR(M_VM4, M_VR, UDPF(REMOTE_IP, VM4_IP, .ttl = 63)), .tx = VM4, .meta = VM4 },
	{ "fab/gre-unknown-endpoint", "MPLS-over-GRE from 192.0.2.77, no tunnel endpoint of ours: dropped, counted",
	  FAB, FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.src = STRANGER_IP), XDP_DROP,
	  .drop = VR_DROP_UNKNOWN_ENDPOINT },
	{ "fab/gre-key", "GRE with a key (RFC 2890): unsupported, dropped, counted", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.gre_flags = GRE_KEY), XDP_DROP,
	  .drop = VR_DROP_GRE_UNSUPPORTED },
	{ "fab/gre-sequence", "GRE with a sequence number: unsupported", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.gre_flags = GRE_SEQ), XDP_DROP,
	  .drop = VR_DROP_GRE_UNSUPPORTED },
	{ "fab/gre-checksum-and-key", "checksum and key: the key makes it unsupported", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.gre_flags = GRE_CSUM | GRE_KEY), XDP_DROP,
	  .drop = VR_DROP_GRE_UNSUPPORTED },
	{ "fab/gre-routing", "routing present (RFC 1701): unsupported", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.gre_flags = GRE_ROUTING), XDP_DROP,
	  .drop = VR_DROP_GRE_UNSUPPORTED },
	{ "fab/gre-strict-route", "strict source route (RFC 1701): unsupported", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.gre_flags = GRE_STRICT), XDP_DROP,
	  .drop = VR_DROP_GRE_UNSUPPORTED },
	{ "fab/gre-recursion", "recursion control 4 (RFC 1701; bit 5, which RFC 2784 2.3 says to discard on)", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.gre_flags = 0x0400), XDP_DROP,
	  .drop = VR_DROP_GRE_UNSUPPORTED },
	{ "fab/gre-version1", "GRE version 1 (PPTP's) with protocol 0x8847: unsupported", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.gre_flags = 1), XDP_DROP,
	  .drop = VR_DROP_GRE_UNSUPPORTED },
	{ "fab/gre-bad-label", "label 999 is not allocated", FAB, FROM_NBR_GRE(999, UDPF(REMOTE_IP, VM1_IP)),
	  XDP_DROP, .drop = VR_DROP_BAD_LABEL },
	{ "fab/gre-label-stack", "two labels (S=0 on the first)", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.stack = true), XDP_DROP, .drop = VR_DROP_MPLS_STACK },
	{ "fab/gre-inner-version5", "inner IP version 5", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .fix = fix_inner_version5), XDP_DROP,
	  .drop = VR_DROP_INNER_PROTO },
	{ "fab/gre-mpls-truncated", "2 bytes of MPLS after the GRE header, lengths consistent", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .cut = 14 + 20 + 4 + 2, .relen = true),
	  XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "fab/gre-checksum-truncated", "the checksum flag set, and only the 4 base bytes of GRE + MPLS", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.gre_flags = GRE_CSUM, .cut = 14 + 20 + 8,
			 .relen = true), XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "fab/gre-inner-short", "19 bytes of inner header", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .cut = 14 + 20 + 4 + 4 + 19, .relen = true),
	  XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "fab/gre-inner-truncated", "inner total length beyond the outer packet", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .cut = 14 + 20 + 4 + 4 + 30, .relen = true),
	  XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "fab/gre-inner-totlen-beyond-outer", "inner total length reaches past the outer packet into trailing bytes",
	  FAB, FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .pad = 8, .fix = fix_inner_totlen_into_trailer),
	  XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "fab/gre-pass-other-proto", "GRE to us carrying IPv4 (0x0800), not MPLS: the host's", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.gre_proto = ETHTYPE_IP), XDP_PASS },
	{ "fab/gre-pass-other-dst", "MPLS-over-GRE for another underlay address", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.dst = OTHER_HOST_IP), XDP_PASS },
	{ "fab/gre-pass-outer-fragment", "a fragmented GRE packet is left to the host", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.frag = IP_MF_), XDP_PASS },
	{ "fab/gre-pass-header-cut", "2 bytes of GRE header in a consistent IPv4 packet: not a tunnel of ours", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .cut = 14 + 20 + 2, .relen = true), XDP_PASS },

	/* --- to a vif in mode tc: XDP hands the rewritten frame to TC, with a note in the metadata ----- */
	{ "vif/local-to-tc-vif", "VM1 (mode xdp) -> VM4 (mode tc): TTL-1, MACs, XDP_PASS with 'redirect to vm4'",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM4_IP)),
	  XDP_PASS, IPFR(M_VM4, M_VR, UDPF(VM1_IP, VM4_IP, .ttl = 63)), .tx = VM4, .meta = VM4 },
	{ "vif/local-to-tc-tap", "VM2 -> VM5 (a tap in mode tc); the Ethernet padding is trimmed first",
	  VM2, IPFR(M_VR, M_VM2, TCPF(VM2_IP, VM5_IP, .len = 0), .pad = 6),
	  XDP_PASS, IPFR(M_VM5, M_VR, TCPF(VM2_IP, VM5_IP, .len = 0, .ttl = 63)), .tx = VM5, .meta = VM5 },
	{ "fab/decap-to-tc-vif", "a tc vif's label: outer headers stripped, Ethernet for the VM, handed to TC",
	  FAB, FROM_NBR(LBL(VM4), UDPF(REMOTE_IP, VM4_IP, .ttl = 63)),
	  XDP_PASS, IPFR(M_VM4, M_VR, UDPF(REMOTE_IP, VM4_IP, .ttl = 63)), .tx = VM4, .meta = VM4 },
	{ "fab/decap-to-tc-tap-padded", "to the tap in mode tc, with Ethernet padding after the outer packet",
	  FAB, FROM_NBR(LBL(VM5), TCPF(REMOTE_IP, VM5_IP, .len = 0), .pad = 12),
	  XDP_PASS, IPFR(M_VM5, M_VR, TCPF(REMOTE_IP, VM5_IP, .len = 0)), .tx = VM5, .meta = VM5 },

	/* --- fabric: the host's own traffic passes untouched ----------------------------------------- */
	{ "fab/pass-other-dst", "MPLS-in-UDP for another underlay address",
	  FAB, FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.dst = OTHER_HOST_IP), XDP_PASS },
	{ "fab/pass-other-port", "UDP to us on another port (VXLAN's)",
	  FAB, FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.dport = 4789), XDP_PASS },
	{ "fab/pass-udp", "plain UDP to the host", FAB, IPFR(M_FAB, M_NBR, UDPF(NBR_IP, HOST_IP, .dport = 53)),
	  XDP_PASS },
	{ "fab/pass-tcp", "TCP to the host (port 6635 too)", FAB,
	  IPFR(M_FAB, M_NBR, TCPF(NBR_IP, HOST_IP, .dport = VR_MPLS_UDP_PORT)), XDP_PASS },
	{ "fab/pass-icmp", "ping to the host", FAB, IPFR(M_FAB, M_NBR, ICMPF(NBR_IP, HOST_IP)), XDP_PASS },
	{ "fab/pass-arp", "ARP for the host", FAB, ARPFR(M_BCAST, M_NBR, ARP_REQUEST, M_NBR, NBR_IP, M_ZERO, HOST_IP),
	  XDP_PASS },
	{ "fab/pass-ipv6", "IPv6", FAB, IPFR(M_FAB, M_NBR, V6F()), XDP_PASS },
	{ "fab/pass-vlan", "a VLAN-tagged tunnel packet", FAB,
	  FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .vlan = 7), XDP_PASS },
	{ "fab/pass-outer-fragment", "a fragmented tunnel packet is left to the host to reassemble", FAB,
	  FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.frag = IP_MF_), XDP_PASS },
	{ "fab/pass-outer-truncated", "outer total length beyond the frame", FAB,
	  FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP, .len = 40), .cut = 90), XDP_PASS },
	{ "fab/pass-eth-only", "a bare Ethernet header with Ethertype IPv4", FAB,
	  FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .cut = 14), XDP_PASS },
	{ "fab/pass-lldp", "LLDP", FAB, ETHFR(M_LLDP, M_NBR, ETHTYPE_LLDP, 46), XDP_PASS },

	/* --- fabric: tunnel packets for us that cannot be delivered ---------------------------------- */
	{ "fab/bad-label", "label 999 is not allocated", FAB, FROM_NBR(999, UDPF(REMOTE_IP, VM1_IP)),
	  XDP_DROP, .drop = VR_DROP_BAD_LABEL },
	{ "fab/reserved-label", "label 3 (implicit null) never names a nexthop", FAB,
	  FROM_NBR(3, UDPF(REMOTE_IP, VM1_IP)), XDP_DROP, .drop = VR_DROP_BAD_LABEL },
	{ "fab/label-stack", "two labels (S=0 on the first)", FAB,
	  FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.stack = true), XDP_DROP, .drop = VR_DROP_MPLS_STACK },
	{ "fab/inner-version5", "inner IP version 5", FAB,
	  FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .fix = fix_inner_version5), XDP_DROP,
	  .drop = VR_DROP_INNER_PROTO },
	{ "fab/mpls-truncated", "2 bytes of MPLS in a consistent UDP packet", FAB,
	  FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .cut = 14 + 20 + 8 + 2, .relen = true),
	  XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "fab/no-inner", "a label and nothing after it", FAB,
	  FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .cut = 14 + 20 + 8 + 4, .relen = true),
	  XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "fab/inner-short", "19 bytes of inner header", FAB,
	  FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .cut = 14 + 20 + 8 + 4 + 19, .relen = true),
	  XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "fab/inner-truncated", "inner total length beyond the frame", FAB,
	  FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .cut = 14 + 20 + 8 + 4 + 30, .relen = true),
	  XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "fab/inner-ihl4", "inner IHL 4", FAB, FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .fix = fix_ihl4),
	  XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "fab/inner-totlen-beyond-udp", "inner total length reaches past the UDP datagram into trailing bytes", FAB,
	  FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .pad = 8, .fix = fix_inner_totlen_into_trailer),
	  XDP_DROP, .drop = VR_DROP_MALFORMED },
	{ "fab/udp-len-beyond-ip", "UDP length larger than the IPv4 payload", FAB,
	  FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .fix = fix_udp_len_beyond_ip), XDP_DROP,
	  .drop = VR_DROP_MALFORMED },

	/* --- vr_vif_tc on vifs in mode tc: the same packet walks on skbs --------------------------------- */
	{ "tc/local-udp", "VM4 (mode tc) -> VM1 (mode xdp): TTL-1, MACs, redirected",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, VM1_IP)),
	  TC_ACT_REDIRECT, IPFR(M_VM1, M_VR, UDPF(VM4_IP, VM1_IP, .ttl = 63)), .tx = VM1, TC_CASE },
	{ "tc/local-tcp-dscp", "TCP with a DSCP value that must survive",
	  VM4, IPFR(M_VR, M_VM4, TCPF(VM4_IP, VM2_IP, .tos = 0x28)),
	  TC_ACT_REDIRECT, IPFR(M_VM2, M_VR, TCPF(VM4_IP, VM2_IP, .tos = 0x28, .ttl = 63)), .tx = VM2, TC_CASE },
	{ "tc/local-tc-to-tc", "VM4 -> VM5: both in mode tc",
	  VM4, IPFR(M_VR, M_VM4, ICMPF(VM4_IP, VM5_IP, .ttl = 255)),
	  TC_ACT_REDIRECT, IPFR(M_VM5, M_VR, ICMPF(VM4_IP, VM5_IP, .ttl = 254)), .tx = VM5, TC_CASE },
	{ "tc/local-from-tap", "VM5 (a tap without a gateway address) -> VM4",
	  VM5, IPFR(M_VR, M_VM5, UDPF(VM5_IP, VM4_IP, .ttl = 2)),
	  TC_ACT_REDIRECT, IPFR(M_VM4, M_VR, UDPF(VM5_IP, VM4_IP, .ttl = 1)), .tx = VM4, TC_CASE },
	{ "tc/spoof-ip", "VM4 (mode tc) sends from VM1's address: dropped, counted", VM4,
	  IPFR(M_VR, M_VM4, UDPF(VM1_IP, VM2_IP)), TC_ACT_SHOT, .drop = VR_DROP_SPOOF_IP, TC_CASE },
	{ "tc/spoof-mac", "VM4 (mode tc) sends with VM1's MAC: dropped, counted", VM4,
	  IPFR(M_VR, M_VM1, UDPF(VM4_IP, VM2_IP)), TC_ACT_SHOT, .drop = VR_DROP_SPOOF_MAC, TC_CASE },
	{ "tc/local-padding-trimmed", "a 42-byte frame padded to 60: the padding is not delivered",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, VM1_IP, .len = 0), .pad = 18),
	  TC_ACT_REDIRECT, IPFR(M_VM1, M_VR, UDPF(VM4_IP, VM1_IP, .len = 0, .ttl = 63)), .tx = VM1, TC_CASE },
	{ "tc/local-ip-options", "IHL 6: forwarded with the option intact",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, VM2_IP, .ihl = 6)),
	  TC_ACT_REDIRECT, IPFR(M_VM2, M_VR, UDPF(VM4_IP, VM2_IP, .ihl = 6, .ttl = 63)), .tx = VM2, TC_CASE },
	{ "tc/local-later-fragment", "offset != 0, no L4 header: routed",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, VM1_IP, .frag = 9, .len = 40)),
	  TC_ACT_REDIRECT, IPFR(M_VM1, M_VR, UDPF(VM4_IP, VM1_IP, .frag = 9, .len = 40, .ttl = 63)), .tx = VM1,
	  TC_CASE },
	{ "tc/encap-udp", "MPLS-in-UDP: the very bytes vr_vif_xdp sends (outer MACs from the fib, TC = precedence)",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, REMOTE_IP, .tos = 0xb8)),
	  TC_ACT_REDIRECT, TO_NBR(100, UDPF(VM4_IP, REMOTE_IP, .tos = 0xb8, .ttl = 63)), TC_CASE },
	{ "tc/encap-tcp", "TCP with DF set inside",
	  VM4, IPFR(M_VR, M_VM4, TCPF(VM4_IP, REMOTE_IP, .ttl = 20)),
	  TC_ACT_REDIRECT, TO_NBR(100, TCPF(VM4_IP, REMOTE_IP, .ttl = 19)), TC_CASE },
	{ "tc/encap-icmp", "no ports: the source port hashes addresses and protocol only",
	  VM4, IPFR(M_VR, M_VM4, ICMPF(VM4_IP, REMOTE_IP, .tos = 0x20)),
	  TC_ACT_REDIRECT, TO_NBR(100, ICMPF(VM4_IP, REMOTE_IP, .tos = 0x20, .ttl = 63)), TC_CASE },
	{ "tc/encap-longest-prefix", "10.9.5.0/24 wins over 10.9.0.0/16: label 150",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, REMOTE_LPM_IP)),
	  TC_ACT_REDIRECT, TO_NBR(150, UDPF(VM4_IP, REMOTE_LPM_IP, .ttl = 63)), TC_CASE },
	{ "tc/encap-ip-options", "inner IHL 6 is carried intact; the ports come after the options",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, REMOTE_IP, .ihl = 6)),
	  TC_ACT_REDIRECT, TO_NBR(100, UDPF(VM4_IP, REMOTE_IP, .ihl = 6, .ttl = 63)), TC_CASE },
	{ "tc/encap-first-fragment", "MF set: the source port ignores the ports",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, REMOTE_IP, .frag = IP_MF_, .len = 64)),
	  TC_ACT_REDIRECT, TO_NBR(100, UDPF(VM4_IP, REMOTE_IP, .frag = IP_MF_, .len = 64, .ttl = 63)), TC_CASE },
	{ "tc/encap-padding-trimmed", "Ethernet padding is not tunnelled",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, REMOTE_IP, .len = 0), .pad = 18),
	  TC_ACT_REDIRECT, TO_NBR(100, UDPF(VM4_IP, REMOTE_IP, .len = 0, .ttl = 63)), TC_CASE },
	{ "tc/encap-from-tap", "from the tap: the same tunnel",
	  VM5, IPFR(M_VR, M_VM5, TCPF(VM5_IP, REMOTE_IP)),
	  TC_ACT_REDIRECT, TO_NBR(100, TCPF(VM5_IP, REMOTE_IP, .ttl = 63)), TC_CASE },
	{ "tc/encap-mtu-exact", "1468 bytes inside, DF clear: a 1500-byte outer packet",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, REMOTE_IP, .len = 1440)),
	  TC_ACT_REDIRECT, TO_NBR(100, UDPF(VM4_IP, REMOTE_IP, .len = 1440, .ttl = 63)), TC_CASE },
	{ "tc/encap-mtu-exact-df", "1468 bytes inside with DF: tunnelled, no ICMP",
	  VM4, IPFR(M_VR, M_VM4, BIG_TCP(VM4_IP, .len = 1428)),
	  TC_ACT_REDIRECT, TO_NBR(100, BIG_TCP(VM4_IP, .len = 1428, .ttl = 63)), TC_CASE },
	{ "tc/encap-too-big", "1469 bytes inside, DF clear: dropped, counted",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, REMOTE_IP, .len = 1441)), TC_ACT_SHOT, .drop = VR_DROP_TOO_BIG, TC_CASE },
	{ "tc/encap-too-big-beyond-dev-mtu", "1640 bytes, DF clear: more than fab0 itself sends (the lookup says so)",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, REMOTE_IP, .len = 1612)), TC_ACT_SHOT, .drop = VR_DROP_TOO_BIG, TC_CASE },
	{ "tc/frag-needed-udp", "UDP, DF, 1469 bytes: ICMP 3/4 from the gateway, MTU 1468, back out of vm4",
	  VM4, IPFR(M_VR, M_VM4, BIG_UDP(VM4_IP)),
	  TC_ACT_REDIRECT, FRAG_NEEDED(M_VM4, GW1, BIG_UDP(VM4_IP)), .drop = VR_DROP_FRAG_NEEDED, .tx = VM4, TC_CASE },
	{ "tc/frag-needed-tcp", "TCP: the quote goes on into the TCP header and the payload",
	  VM4, IPFR(M_VR, M_VM4, BIG_TCP(VM4_IP)),
	  TC_ACT_REDIRECT, FRAG_NEEDED(M_VM4, GW1, BIG_TCP(VM4_IP)), .drop = VR_DROP_FRAG_NEEDED, .tx = VM4, TC_CASE },
	{ "tc/frag-needed-udp-ihl6", "IHL 6: the quoted header keeps its option",
	  VM4, IPFR(M_VR, M_VM4, BIG_UDP(VM4_IP, .ihl = 6, .len = 1469 - 32)),
	  TC_ACT_REDIRECT, FRAG_NEEDED(M_VM4, GW1, BIG_UDP(VM4_IP, .ihl = 6, .len = 1469 - 32)),
	  .drop = VR_DROP_FRAG_NEEDED, .tx = VM4, TC_CASE },
	{ "tc/frag-needed-tcp-ihl6", "IHL 6, TTL 9 and DSCP quoted as sent",
	  VM4, IPFR(M_VR, M_VM4, BIG_TCP(VM4_IP, .ihl = 6, .len = 1469 - 44, .ttl = 9, .tos = 0x48)),
	  TC_ACT_REDIRECT, FRAG_NEEDED(M_VM4, GW1, BIG_TCP(VM4_IP, .ihl = 6, .len = 1469 - 44, .ttl = 9, .tos = 0x48)),
	  .drop = VR_DROP_FRAG_NEEDED, .tx = VM4, TC_CASE },
	{ "tc/frag-needed-no-gateway", "the tap has no gateway address: the ICMP comes from the host's address",
	  VM5, IPFR(M_VR, M_VM5, BIG_TCP(VM5_IP)),
	  TC_ACT_REDIRECT, FRAG_NEEDED(M_VM5, HOST_IP, BIG_TCP(VM5_IP)), .drop = VR_DROP_FRAG_NEEDED, .tx = VM5,
	  TC_CASE },
	{ "tc/frag-needed-beyond-dev-mtu", "DF, 1640 bytes (the lookup itself refuses it): the same ICMP, MTU 1468",
	  VM4, IPFR(M_VR, M_VM4, BIG_TCP(VM4_IP, .len = 1600)),
	  TC_ACT_REDIRECT, FRAG_NEEDED(M_VM4, GW1, BIG_TCP(VM4_IP, .len = 1600)), .drop = VR_DROP_FRAG_NEEDED,
	  .tx = VM4, TC_CASE },
	{ "tc/gre-encap-udp", "MPLS-over-GRE: the very bytes vr_vif_xdp sends",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, GRE_IP, .tos = 0xb8)),
	  TC_ACT_REDIRECT, TO_NBR_GRE(300, UDPF(VM4_IP, GRE_IP, .tos = 0xb8, .ttl = 63)), TC_CASE },
	{ "tc/gre-encap-tcp", "TCP with DF inside",
	  VM4, IPFR(M_VR, M_VM4, TCPF(VM4_IP, GRE_IP, .ttl = 20)),
	  TC_ACT_REDIRECT, TO_NBR_GRE(300, TCPF(VM4_IP, GRE_IP, .ttl = 19)), TC_CASE },
	{ "tc/gre-encap-same-label", "GRE beside UDP to the same host and label: its own nexthop",
	  VM4, IPFR(M_VR, M_VM4, ICMPF(VM4_IP, GRE_SAME_IP)),
	  TC_ACT_REDIRECT, TO_NBR_GRE(100, ICMPF(VM4_IP, GRE_SAME_IP, .ttl = 63)), TC_CASE },
	{ "tc/gre-encap-from-tap", "from the tap: the same tunnel",
	  VM5, IPFR(M_VR, M_VM5, TCPF(VM5_IP, GRE_HOST_IP)),
	  TC_ACT_REDIRECT, TO_NBR_GRE(370, TCPF(VM5_IP, GRE_HOST_IP, .ttl = 63)), TC_CASE },
	{ "tc/gre-encap-padding-trimmed", "Ethernet padding is not tunnelled",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, GRE_IP, .len = 0), .pad = 18),
	  TC_ACT_REDIRECT, TO_NBR_GRE(300, UDPF(VM4_IP, GRE_IP, .len = 0, .ttl = 63)), TC_CASE },
	{ "tc/gre-encap-mtu-exact", "1472 bytes inside with DF: a 1500-byte GRE packet, no ICMP",
	  VM4, IPFR(M_VR, M_VM4, BIG_TCP_GRE(VM4_IP, .len = 1432)),
	  TC_ACT_REDIRECT, TO_NBR_GRE(300, BIG_TCP_GRE(VM4_IP, .len = 1432, .ttl = 63)), TC_CASE },
	{ "tc/gre-frag-needed-udp", "UDP, DF, 1473 bytes: ICMP 3/4, MTU 1472, back out of vm4",
	  VM4, IPFR(M_VR, M_VM4, BIG_UDP_GRE(VM4_IP)),
	  TC_ACT_REDIRECT, FRAG_NEEDED_GRE(M_VM4, GW1, BIG_UDP_GRE(VM4_IP)), .drop = VR_DROP_FRAG_NEEDED, .tx = VM4,
	  TC_CASE },
	{ "tc/gre-frag-needed-tcp", "TCP, DF, 1473 bytes from the tap: ICMP from the host's address, MTU 1472",
	  VM5, IPFR(M_VR, M_VM5, BIG_TCP_GRE(VM5_IP)),
	  TC_ACT_REDIRECT, FRAG_NEEDED_GRE(M_VM5, HOST_IP, BIG_TCP_GRE(VM5_IP)), .drop = VR_DROP_FRAG_NEEDED,
	  .tx = VM5, TC_CASE },
	{ "tc/gre-too-big", "1473 bytes, DF clear: dropped, counted",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, GRE_IP, .len = 1445)), TC_ACT_SHOT, .drop = VR_DROP_TOO_BIG, TC_CASE },
	{ "tc/gre-gso-frag-needed", "GSO TCP, segments of 1461 bytes (1501 with headers) > fab0's MTU, DF: ICMP, "
	  "MTU 1472", VM4, IPFR(M_VR, M_VM4, TCPF(VM4_IP, GRE_IP, .len = 2 * 1461)),
	  TC_ACT_REDIRECT, FRAG_NEEDED_GRE(M_VM4, GW1, TCPF(VM4_IP, GRE_IP, .len = 2 * 1461)),
	  .drop = VR_DROP_FRAG_NEEDED, .tx = VM4, TC_CASE, .gso_size = 1461, .gso_segs = 2 },
	/* Test runs set gso_size and gso_segs but no GSO type, and bpf_skb_adjust_room refuses to encapsulate a
	 * GSO skb of no known type (-ENOTSUPP): GSO encapsulation is tested live (tap/gso-encap*). */
	{ "tc/gso-frag-needed", "GSO TCP, segments of 1461 bytes (1501 with headers) > fab0's MTU, DF: ICMP, MTU 1468",
	  VM4, IPFR(M_VR, M_VM4, TCPF(VM4_IP, REMOTE_IP, .len = 2 * 1461)),
	  TC_ACT_REDIRECT, FRAG_NEEDED(M_VM4, GW1, TCPF(VM4_IP, REMOTE_IP, .len = 2 * 1461)),
	  .drop = VR_DROP_FRAG_NEEDED, .tx = VM4, TC_CASE, .gso_size = 1461, .gso_segs = 2 },
	{ "tc/gso-too-big", "the same GSO packet with DF clear: dropped, counted",
	  VM4, IPFR(M_VR, M_VM4, TCPF(VM4_IP, REMOTE_IP, .frag = 0, .len = 2 * 1461)), TC_ACT_SHOT,
	  .drop = VR_DROP_TOO_BIG, TC_CASE, .gso_size = 1461, .gso_segs = 2 },
	{ "tc/encap-unresolved-neigh", "the underlay next hop has no neighbour entry",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, NONEIGH_NET_IP)), TC_ACT_SHOT, .drop = VR_DROP_NO_NEIGH, TC_CASE },
	{ "tc/encap-underlay-unreachable", "no underlay route to the remote host",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, UNREACH_NET_IP)), TC_ACT_SHOT, .drop = VR_DROP_UNDERLAY_UNREACH,
	  TC_CASE },
	{ "tc/encap-ttl1", "TTL 1 towards a tunnel",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, REMOTE_IP, .ttl = 1)), TC_ACT_SHOT, .drop = VR_DROP_TTL, TC_CASE },
	{ "tc/ttl1", "TTL 1 cannot be forwarded", VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, VM1_IP, .ttl = 1)),
	  TC_ACT_SHOT, .drop = VR_DROP_TTL, TC_CASE },
	{ "tc/ttl0", "TTL 0 cannot be forwarded", VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, VM1_IP, .ttl = 0)),
	  TC_ACT_SHOT, .drop = VR_DROP_TTL, TC_CASE },
	{ "tc/no-route", "nothing covers 10.200.0.1 in VRF 1", VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, NOROUTE_IP)),
	  TC_ACT_SHOT, .drop = VR_DROP_NO_ROUTE, TC_CASE },
	{ "tc/vrf-isolation", "VM4 (VRF 1) cannot reach VM3 (VRF 2)", VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, VM3_IP)),
	  TC_ACT_SHOT, .drop = VR_DROP_NO_ROUTE, TC_CASE },
	{ "tc/discard", "a discard route", VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, DISCARD_IP)),
	  TC_ACT_SHOT, .drop = VR_DROP_DISCARD, TC_CASE },
	{ "tc/receive", "a receive route: to the host stack, untouched",
	  VM4, IPFR(M_VR, M_VM4, ICMPF(VM4_IP, GW1)), TC_ACT_OK, TC_CASE },
	{ "tc/receive-ttl1", "RFC 1812 4.2.2.9: a packet to the router itself is received even with TTL 1",
	  VM4, IPFR(M_VR, M_VM4, ICMPF(VM4_IP, GW1, .ttl = 1)), TC_ACT_OK, TC_CASE },
	{ "tc/unknown-vif", "a device that is no vif", NOVIF, IPFR(M_VR, M_NOVIF, UDPF(IP4(10, 1, 0, 9), VM2_IP)),
	  TC_ACT_SHOT, .drop = VR_DROP_UNKNOWN_VIF, TC_CASE },
	{ "tc/ipv6-foreign-source", "IPv6 from an address that is neither the VM's nor routed to its vif",
	  VM4, IPFR(M_VR, M_VM4, V6F()), TC_ACT_SHOT, .drop = VR_DROP_SPOOF_IP,
	  TC_CASE },
	{ "tc/lldp", "LLDP", VM4, ETHFR(M_LLDP, M_VM4, ETHTYPE_LLDP, 46), TC_ACT_SHOT, .drop = VR_DROP_ETHERTYPE,
	  TC_CASE },
	{ "tc/vlan", "802.1Q-tag in the frame", VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, VM1_IP), .vlan = 100),
	  TC_ACT_SHOT, .drop = VR_DROP_VLAN, TC_CASE },
	{ "tc/qinq", "802.1ad-tag in the frame", VM4,
	  IPFR(M_VR, M_VM4, UDPF(VM4_IP, VM1_IP), .vlan = 100, .type = ETHTYPE_QINQ), TC_ACT_SHOT, .drop = VR_DROP_VLAN,
	  TC_CASE },
	/* Test runs refuse an IPv4 skb shorter than Ethernet + 20 bytes (EINVAL), but a tap takes any frame from
	 * 14 bytes up: the live section sends the bare Ethernet header and the truncated IPv4 header through one. */
	{ "tc/ihl4", "IHL 4 (< 5)", VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, VM1_IP), .fix = fix_ihl4),
	  TC_ACT_SHOT, .drop = VR_DROP_MALFORMED, TC_CASE },
	{ "tc/ihl-beyond-packet", "IHL 15 in a 28-byte packet",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, VM1_IP, .len = 0), .fix = fix_ihl15), TC_ACT_SHOT,
	  .drop = VR_DROP_MALFORMED, TC_CASE },
	{ "tc/totlen-beyond-frame", "total length 8 bytes more than the frame holds",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, VM1_IP, .len = 32), .cut = 14 + 20 + 8 + 24),
	  TC_ACT_SHOT, .drop = VR_DROP_MALFORMED, TC_CASE },
	{ "tc/totlen-below-header", "total length 16 < the 20-byte header",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, VM1_IP), .fix = fix_totlen_below_header), TC_ACT_SHOT,
	  .drop = VR_DROP_MALFORMED, TC_CASE },
	{ "tc/version6-as-ipv4", "Ethertype IPv4 but version 6",
	  VM4, IPFR(M_VR, M_VM4, UDPF(VM4_IP, VM1_IP), .fix = fix_version6), TC_ACT_SHOT, .drop = VR_DROP_MALFORMED,
	  TC_CASE },
	{ "tc/arp-gateway", "VM4 asks for its gateway: answered with the vRouter MAC, redirected back out of vm4",
	  VM4, ARP_ASK(M_VM4, VM4_IP, GW1), TC_ACT_REDIRECT, ARP_ANSWER(M_VM4, VM4_IP, GW1), .tx = VM4, TC_CASE },
	{ "tc/arp-local-vm", "VM4 asks for VM5: the vRouter answers",
	  VM4, ARP_ASK(M_VM4, VM4_IP, VM5_IP), TC_ACT_REDIRECT, ARP_ANSWER(M_VM4, VM4_IP, VM5_IP), .tx = VM4, TC_CASE },
	{ "tc/arp-remote-route", "an address behind a tunnel, asked from the tap",
	  VM5, ARP_ASK(M_VM5, VM5_IP, REMOTE_IP), TC_ACT_REDIRECT, ARP_ANSWER(M_VM5, VM5_IP, REMOTE_IP), .tx = VM5,
	  TC_CASE },
	{ "tc/arp-padded", "a request padded to 60 bytes: the answer keeps the frame's length",
	  VM4, ARP_ASK(M_VM4, VM4_IP, GW1, .pad = 18), TC_ACT_REDIRECT, ARP_ANSWER(M_VM4, VM4_IP, GW1, .pad = 18),
	  .tx = VM4, TC_CASE },
	{ "tc/arp-unrouted", "an address not routed in the VRF", VM4, ARP_ASK(M_VM4, VM4_IP, NOROUTE_IP),
	  TC_ACT_SHOT, .drop = VR_DROP_ARP_NO_ROUTE, TC_CASE },
	{ "tc/arp-reply", "a VM's ARP reply", VM4, ARPFR(M_VR, M_VM4, ARP_REPLY, M_VM4, VM4_IP, M_VR, GW1),
	  TC_ACT_SHOT, .drop = VR_DROP_ARP_IGNORED, TC_CASE },
	{ "tc/arp-truncated", "20 of the 28 ARP bytes", VM4, ARP_ASK(M_VM4, VM4_IP, GW1, .cut = 34),
	  TC_ACT_SHOT, .drop = VR_DROP_MALFORMED, TC_CASE },

	/* --- TC on devices whose traffic XDP handles: without a hand-over note, the stack's ------------ */
	{ "tc/xdp-vif-passes", "vr_vif_tc on a vif in mode xdp: XDP routed it already; TC_ACT_OK, untouched, uncounted",
	  VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP)), TC_ACT_OK, .no_rx = true, TC_CASE },
	{ "tc/xdp-vif-passes-arp", "the same for ARP", VM2, ARP_ASK(M_VM2, VM2_IP, GW1), TC_ACT_OK, .no_rx = true,
	  TC_CASE },
	{ "fabtc/pass-tunnel", "vr_fabric_tc: a tunnel packet for a tc vif without the note (XDP did not decap it)",
	  FAB, FROM_NBR(LBL(VM4), UDPF(REMOTE_IP, VM4_IP)), TC_ACT_OK, FAB_TC_CASE },
	{ "fabtc/pass-host-tcp", "TCP to the host", FAB, IPFR(M_FAB, M_NBR, TCPF(NBR_IP, HOST_IP)), TC_ACT_OK,
	  FAB_TC_CASE },
	{ "fabtc/pass-arp", "ARP for the host", FAB,
	  ARPFR(M_BCAST, M_NBR, ARP_REQUEST, M_NBR, NBR_IP, M_ZERO, HOST_IP), TC_ACT_OK, FAB_TC_CASE },

	/* --- fabric mode tc: vr_fabric_tc decapsulates skbs itself, both encapsulations ---------------- */
	{ "fabtc/decap-udp", "fabric mode tc: MPLS-in-UDP to a vif in mode xdp, redirected to it",
	  FAB, FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP, .ttl = 63)),
	  TC_ACT_REDIRECT, IPFR(M_VM1, M_VR, UDPF(REMOTE_IP, VM1_IP, .ttl = 63)), .tx = VM1, FAB_TC_MODE_CASE },
	{ "fabtc/gre-decap", "fabric mode tc: MPLS-over-GRE to a vif in mode xdp",
	  FAB, FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP, .ttl = 63)),
	  TC_ACT_REDIRECT, IPFR(M_VM1, M_VR, UDPF(REMOTE_IP, VM1_IP, .ttl = 63)), .tx = VM1, FAB_TC_MODE_CASE },
	{ "fabtc/gre-decap-tc-vif", "fabric mode tc: MPLS-over-GRE to a vif in mode tc, TCP inside",
	  FAB, FROM_NBR_GRE(LBL(VM4), TCPF(REMOTE_IP, VM4_IP, .tos = 0x48)),
	  TC_ACT_REDIRECT, IPFR(M_VM4, M_VR, TCPF(REMOTE_IP, VM4_IP, .tos = 0x48)), .tx = VM4, FAB_TC_MODE_CASE },
	{ "fabtc/gre-decap-vrf-label", "fabric mode tc: VRF 2's label over GRE",
	  FAB, FROM_NBR_GRE(VRF2_LABEL, ICMPF(REMOTE_IP, VM6_IP)),
	  TC_ACT_REDIRECT, IPFR(M_VM6, M_VR, ICMPF(REMOTE_IP, VM6_IP)), .tx = VM6, FAB_TC_MODE_CASE },
	{ "fabtc/gre-decap-checksum", "fabric mode tc: the GRE checksum present, not verified",
	  FAB, FROM_NBR_GRE(LBL(VM5), UDPF(REMOTE_IP, VM5_IP), .tun.gre_flags = GRE_CSUM),
	  TC_ACT_REDIRECT, IPFR(M_VM5, M_VR, UDPF(REMOTE_IP, VM5_IP)), .tx = VM5, FAB_TC_MODE_CASE },
	{ "fabtc/gre-decap-padding-trimmed", "fabric mode tc: padding after the outer packet is not delivered",
	  FAB, FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP, .len = 0), .pad = 16),
	  TC_ACT_REDIRECT, IPFR(M_VM1, M_VR, UDPF(REMOTE_IP, VM1_IP, .len = 0)), .tx = VM1, FAB_TC_MODE_CASE },
	{ "fabtc/gre-unknown-endpoint", "fabric mode tc: GRE from an unknown host, dropped, counted", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.src = STRANGER_IP), TC_ACT_SHOT,
	  .drop = VR_DROP_UNKNOWN_ENDPOINT, FAB_TC_MODE_CASE },
	{ "fabtc/gre-key", "fabric mode tc: GRE with a key, unsupported", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.gre_flags = GRE_KEY), TC_ACT_SHOT,
	  .drop = VR_DROP_GRE_UNSUPPORTED, FAB_TC_MODE_CASE },
	{ "fabtc/gre-sequence", "fabric mode tc: GRE with a sequence number, unsupported", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.gre_flags = GRE_SEQ), TC_ACT_SHOT,
	  .drop = VR_DROP_GRE_UNSUPPORTED, FAB_TC_MODE_CASE },
	{ "fabtc/gre-bad-label", "fabric mode tc: label 999 over GRE", FAB,
	  FROM_NBR_GRE(999, UDPF(REMOTE_IP, VM1_IP)), TC_ACT_SHOT, .drop = VR_DROP_BAD_LABEL, FAB_TC_MODE_CASE },
	{ "fabtc/gre-inner-short", "fabric mode tc: 19 bytes of inner header", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .cut = 14 + 20 + 4 + 4 + 19, .relen = true),
	  TC_ACT_SHOT, .drop = VR_DROP_MALFORMED, FAB_TC_MODE_CASE },
	{ "fabtc/gre-pass-other-proto", "fabric mode tc: GRE carrying IPv4, the host's", FAB,
	  FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.gre_proto = ETHTYPE_IP), TC_ACT_OK, FAB_TC_MODE_CASE },
};

/* ---------------------------------------------------------------------------------------------------- */
/* Running programs and reading counters                                                                */

static int prog_for(int dev)
{
	return dev == FAB ? fabric_prog : dev == EXT ? ext_prog : vif_prog;
}

static int prog_of(const struct tcase *tc)
{
	return tc->prog == P_VIF_TC ? vif_tc_prog : tc->prog == P_FAB_TC ? fabric_tc_prog : prog_for(tc->ing);
}

static __u32 drop_verdict(enum prog p)
{
	return p == P_XDP ? XDP_DROP : TC_ACT_SHOT;
}

static const char *verdict_name(enum prog p, __u32 v)
{
	static char buf[32];

	if (p == P_XDP)
		return xdp_name(v);
	switch (v) {
	case TC_ACT_OK:
		return "TC_ACT_OK";
	case TC_ACT_SHOT:
		return "TC_ACT_SHOT";
	case TC_ACT_REDIRECT:
		return "TC_ACT_REDIRECT";
	default:
		snprintf(buf, sizeof(buf), "TC verdict %d", (int)v);
		return buf;
	}
}

/* One run of XDP program prog on in, as if it arrived on ifx; out and *retval filled. A test run returns
 * the metadata the program left in front of the frame together with it, and its length in ctx.data: that
 * goes to *meta_len when asked for. Returns 0 or -errno. */
static int run_once(int prog, int ifx, const struct pkt *in, struct pkt *out, __u32 *retval, __u32 *meta_len)
{
	struct xdp_md ctx = { .data_end = (__u32)in->len, .ingress_ifindex = (__u32)ifx }, ctx_out = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->b, .data_size_in = (__u32)in->len, .data_out = out->b,
		    .data_size_out = sizeof(out->b), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .ctx_out = &ctx_out,
		    .ctx_size_out = sizeof(ctx_out), .repeat = 1);
	int err;

	err = bpf_prog_test_run_opts(prog, &o);
	if (err)
		return err < 0 ? err : -errno;
	out->len = o.data_size_out;
	*retval = o.retval;
	if (meta_len)
		*meta_len = ctx_out.data;
	return 0;
}

/* One run of a TC program on an skb holding the frame in, received on device ifx; a GSO packet when
 * gso_size is set. test runs accept ifindex, gso_size and gso_segs in the context, not the GSO type, and no
 * metadata in front of the frame. */
static int run_tc(int prog, int ifx, const struct pkt *in, struct pkt *out, __u32 *retval, __u16 gso_size,
		  __u16 gso_segs)
{
	struct __sk_buff ctx = { .ifindex = (__u32)ifx, .gso_size = gso_size, .gso_segs = gso_segs };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->b, .data_size_in = (__u32)in->len, .data_out = out->b,
		    .data_size_out = sizeof(out->b), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);
	int err;

	err = bpf_prog_test_run_opts(prog, &o);
	if (err)
		return err < 0 ? err : -errno;
	out->len = o.data_size_out;
	*retval = o.retval;
	return 0;
}

struct counters {
	__u64 drops[VR_DROP_MAX];
	struct vr_vif_stats vif[NDEV];
};

static int counters_get(struct counters *c)
{
	int err;

	memset(c, 0, sizeof(*c));
	err = vr_drops_get(&h, c->drops);
	for (int d = 0; !err && d < NDEV; d++)
		if (IS_VIF(d))
			err = vr_vif_stats_get(&h, vifs[d].vif_id, &c->vif[d]);
	return err;
}

/* Every counter must move exactly as the case says: one drop reason (or none), the ingress vif's rx and
 * drops, the target vif's tx; nothing else. */
static void check_counters(const struct counters *a, const struct counters *b, const struct tcase *tc,
			   size_t in_len, size_t out_len)
{
	for (int r = 1; r < VR_DROP_MAX; r++) {
		long long d = (long long)(b->drops[r] - a->drops[r]);
		int want = r == tc->drop;

		if (d != want)
			why("drop counter %s moved by %lld, expected %d", drop_name(r), d, want);
	}
	for (int v = 0; v < NDEV; v++) {
		const struct vr_vif_stats *x = &a->vif[v], *y = &b->vif[v];
		bool ing = v == tc->ing, tx = v == tc->tx;

		if (!IS_VIF(v))
			continue;
		bool rx = ing && !tc->no_rx;

		if (y->rx_packets - x->rx_packets != (rx ? 1u : 0u) ||
		    y->rx_bytes - x->rx_bytes != (rx ? in_len : 0))
			why("%s rx moved by %llu packets / %llu bytes, expected %d / %zu", devs[v].name,
			    (unsigned long long)(y->rx_packets - x->rx_packets),
			    (unsigned long long)(y->rx_bytes - x->rx_bytes), rx, rx ? in_len : 0);
		if (y->tx_packets - x->tx_packets != (tx ? 1u : 0u) ||
		    y->tx_bytes - x->tx_bytes != (tx ? out_len : 0))
			why("%s tx moved by %llu packets / %llu bytes, expected %d / %zu", devs[v].name,
			    (unsigned long long)(y->tx_packets - x->tx_packets),
			    (unsigned long long)(y->tx_bytes - x->tx_bytes), tx, tx ? out_len : 0);
		if (y->drops - x->drops != (ing && tc->drop ? 1u : 0u))
			why("%s drops moved by %llu, expected %d", devs[v].name,
			    (unsigned long long)(y->drops - x->drops), ing && tc->drop);
	}
}

static struct pkt in_buf, want_buf, got_buf, alt_buf;

/* VR_TEST_PCAP=FILE: every case's input and output frames go to a pcap file, for tshark to decode
 * independently of the builder (tshark -r FILE -o ip.check_checksum:TRUE -V). */
static FILE *pcap;

static void pcap_open(void)
{
	const char *path = getenv("VR_TEST_PCAP");
	uint32_t hdr[6] = { 0xa1b2c3d4, 2 | 4 << 16, 0, 0, 65535, 1 /* Ethernet */ };

	if (!path || !*path)
		return;
	pcap = fopen(path, "w");
	if (pcap)
		fwrite(hdr, sizeof(hdr), 1, pcap);
	else
		fprintf(stderr, "# cannot write %s: %s\n", path, strerror(errno));
}

/* Frame p from byte skip on (what comes before is XDP metadata). */
static void pcap_write(const struct pkt *p, size_t skip)
{
	static uint32_t seq;
	uint32_t len = (uint32_t)(p->len - skip), rec[4] = { ++seq, 0, len, len };

	if (!pcap)
		return;
	fwrite(rec, sizeof(rec), 1, pcap);
	fwrite(p->b + skip, len, 1, pcap);
}

/* The XDP -> TC hand-over note (headers/vr_types.h, struct vr_xdp_meta) in front of the frame p: the magic
 * and the target device's ifindex, two 32-bit words in the host's byte order, as the program stores them. */
static void prepend_meta(struct pkt *p, int dev)
{
	uint32_t words[2] = { VR_META_MAGIC, (uint32_t)ifindex[dev] };

	memmove(p->b + sizeof(words), p->b, p->len);
	memcpy(p->b, words, sizeof(words));
	p->len += sizeof(words);
}

/* Fabric mode tc on or off in the config map: vr_fabric_tc decapsulates only when it is on. */
static int set_fabric_tc(bool on)
{
	struct vr_config c;
	__u32 zero = 0;

	if (vr_config_get(&h, &c))
		return -EIO;
	c.flags = on ? c.flags | VR_CFG_F_FABRIC_TC : c.flags & ~(__u32)VR_CFG_F_FABRIC_TC;
	return bpf_map_update_elem(h.config_fd, &zero, &c, BPF_ANY) ? -errno : 0;
}

static void run_case(const struct tcase *tc)
{
	struct counters before, after;
	__u32 dropv = drop_verdict(tc->prog), retval = 0, meta_len = 0, want_meta = 0;
	struct layout lo;
	int err;

	tbegin();
	build(&in_buf, &tc->in, &lo);
	if (tc->out.kind == FK_SAME)
		want_buf = in_buf;
	else
		build(&want_buf, &tc->out, &lo);
	if (tc->meta) {
		prepend_meta(&want_buf, tc->meta);
		want_meta = 8;
	}

	if (tc->fabric_tc && (err = set_fabric_tc(true))) {
		why("setting fabric mode tc: %s", strerror(-err));
		tend(tc->name, tc->desc);
		return;
	}
	err = counters_get(&before);
	if (err)
		why("reading counters: %s", vr_strerror());
	else if (tc->prog == P_XDP)
		err = run_once(prog_of(tc), ifindex[tc->ing], &in_buf, &got_buf, &retval, &meta_len);
	else
		err = run_tc(prog_of(tc), ifindex[tc->ing], &in_buf, &got_buf, &retval, tc->gso_size, tc->gso_segs);
	if (tc->fabric_tc && set_fabric_tc(false))
		why("setting fabric mode tc back to xdp failed");
	if (err) {
		why("test run failed: %s", strerror(-err));
		tend(tc->name, tc->desc);
		return;
	}
	if (counters_get(&after))
		why("reading counters: %s", vr_strerror());
	pcap_write(&in_buf, 0);
	if (retval != dropv && meta_len <= got_buf.len)
		pcap_write(&got_buf, meta_len);

	if (retval != tc->verdict) {
		why("verdict %s, expected %s", verdict_name(tc->prog, retval), verdict_name(tc->prog, tc->verdict));
		if (tc->verdict == dropv)
			why("expected drop reason %s", drop_name(tc->drop));
	}
	if (meta_len != want_meta)
		why("%u bytes of XDP metadata in front of the frame, expected %u", meta_len, want_meta);
	if (tc->verdict != dropv &&
	    (got_buf.len != want_buf.len || memcmp(got_buf.b, want_buf.b, want_buf.len))) {
		why(want_meta ? "metadata + output frame differ from the expected ones"
			      : "output frame differs from the expected one");
		hexdiff(&want_buf, &got_buf);
	}
	check_counters(&before, &after, tc, in_buf.len, tc->verdict == dropv ? 0 : want_buf.len - want_meta);
	tend(tc->name, tc->desc);
}

/* ---------------------------------------------------------------------------------------------------- */
/* Tests beyond the table                                                                                */

/* What the loader wrote into the config map is what we asked for. */
static void test_config(void)
{
	static const uint8_t vr_mac[6] = VR_DEFAULT_MAC;
	struct vr_config c;
	int err;

	tbegin();
	err = vr_config_get(&h, &c);
	if (err) {
		why("vr_config_get: %s", vr_strerror());
	} else {
		if (c.host_ip != htonl(HOST_IP))
			why("host_ip %s, expected %s", ip_str(ntohl(c.host_ip)), ip_str(HOST_IP));
		if (c.fabric_ifindex != (__u32)ifindex[FAB])
			why("fabric_ifindex %u, expected %d", c.fabric_ifindex, ifindex[FAB]);
		if (memcmp(c.vr_mac, vr_mac, 6))
			why("vRouter MAC is not the default 00:00:5e:00:01:00");
		if (c.udp_port != VR_MPLS_UDP_PORT)
			why("udp_port %u, expected %u", c.udp_port, VR_MPLS_UDP_PORT);
	}
	tend("setup/config", "vr_config_get returns what vr_load was given");
}

/* Every vif got a distinct id and label, its nexthop, and the addresses we gave it. */
static void test_vifs(void)
{
	tbegin();
	for (int d = 0; d < NDEV; d++) {
		struct vr_vif v;

		if (!IS_VIF(d))
			continue;
		if (vr_vif_get(&h, devs[d].name, &v)) {
			why("vr_vif_get %s: %s", devs[d].name, vr_strerror());
			continue;
		}
		if (memcmp(&v, &vifs[d], sizeof(v)))
			why("%s: vr_vif_get differs from what vr_vif_add returned", devs[d].name);
		if (!v.vif_id || v.vif_id >= VR_MAX_VIFS)
			why("%s: vif id %u outside 1..%u", devs[d].name, v.vif_id, VR_MAX_VIFS - 1);
		if (v.vrf_id != devs[d].vrf || v.ifindex != (__u32)ifindex[d] || v.ip != htonl(devs[d].ip) ||
		    v.gw_ip != htonl(devs[d].gw) || memcmp(v.mac, devs[d].peer_mac, 6))
			why("%s: vrf/ifindex/ip/gw/mac not as added", devs[d].name);
		if (v.label < VR_LABEL_MIN || v.label >= VR_MAX_LABELS)
			why("%s: label %u outside %u..%u", devs[d].name, v.label, VR_LABEL_MIN, VR_MAX_LABELS - 1);
		if (!v.nh_id)
			why("%s: no nexthop", devs[d].name);
		if (!!(v.flags & VR_VIF_F_TC) != devs[d].tc || !!(v.flags & VR_VIF_F_TAP) != !devs[d].peer)
			why("%s: flags 0x%x, expected mode %s on a %s", devs[d].name, v.flags,
			    devs[d].tc ? "tc" : "xdp", devs[d].peer ? "veth" : "tap");
		for (int e = 0; e < d; e++)
			if (IS_VIF(e) && (vifs[e].vif_id == v.vif_id || vifs[e].label == v.label))
				why("%s and %s share a vif id or a label", devs[e].name, devs[d].name);
	}
	tend("setup/vifs", "vif ids and labels are distinct, labels >= 16, mode and device type as added");
}

/* The TTL decrement patches the header checksum incrementally (RFC 1624). Sweeping the identification field
 * over all 65536 values makes the original checksum take every value, carries and the 0x0000/0xffff corner
 * included; each result must equal a checksum computed from scratch. Then every TTL from 2 to 255. */
static void test_csum_sweep(void)
{
	long bad = 0;

	tbegin();
	for (uint32_t i = 0; i < 65536 + 254; i++) {
		uint16_t id = i < 65536 ? (uint16_t)i : 0x1c46;
		uint8_t ttl = i < 65536 ? 64 : (uint8_t)(i - 65536 + 2);
		struct frame fi = IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP, .id = id, .ttl = ttl, .len = 4));
		struct frame fo = IPFR(M_VM2, M_VR, UDPF(VM1_IP, VM2_IP, .id = id, .ttl = ttl - 1, .len = 4));
		struct layout lo;
		__u32 retval;
		int err;

		build(&in_buf, &fi, &lo);
		build(&want_buf, &fo, &lo);
		err = run_once(vif_prog, ifindex[VM1], &in_buf, &got_buf, &retval, NULL);
		if (err) {
			why("test run failed: %s", strerror(-err));
			break;
		}
		if (retval != XDP_REDIRECT || got_buf.len != want_buf.len ||
		    memcmp(got_buf.b, want_buf.b, want_buf.len)) {
			if (!bad++) {
				why("id 0x%04x ttl %u: %s", id, ttl, xdp_name(retval));
				hexdiff(&want_buf, &got_buf);
			}
		}
	}
	if (bad)
		why("%ld of %d headers came out wrong", bad, 65536 + 254);
	tend("csum/ttl-decrement-sweep", "incremental checksum equals a full recomputation for every checksum value");
}

/* Runs one encapsulated flow and returns the UDP source port chosen, or -1 (why() says why). */
static int encap_sport(const struct frame *fr)
{
	struct layout lo;
	__u32 retval;
	int err;

	build(&in_buf, fr, &lo);
	err = run_once(vif_prog, ifindex[VM1], &in_buf, &got_buf, &retval, NULL);
	if (err) {
		why("test run failed: %s", strerror(-err));
		return -1;
	}
	if (retval != XDP_REDIRECT || got_buf.len != in_buf.len + VR_ENCAP_OVERHEAD) {
		why("flow %s -> %s: %s, %zu bytes", ip_str(fr->ip.src), ip_str(fr->ip.dst), xdp_name(retval), got_buf.len);
		return -1;
	}
	return pkt_get16(&got_buf, ETH_HLEN_ + 20);
}

static uint32_t xorshift32(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/*
 * The UDP source port spreads flows over the underlay's paths (RFC 7510 section 3). 10,000 distinct flows
 * in four groups of 2,500, each group varying one field from a base flow: the source port, the destination
 * port, the source address, the destination address (TCP and UDP alternate). Every port must be in
 * 49152..65535 and equal what headers/vr_hash.h says, and the same flow must get the same port again.
 *
 * Spread, with bounds an ideal random function passes except with negligible probability while a hash
 * that ignores a field, or folds into fewer bits, fails by far:
 *  - chi-square of the 10,000 ports over 64 equal bins of 256 ports (expected 156.25 each), 63 degrees of
 *    freedom: below 113.5, the 0.9999 quantile (a uniform hash fails 1 run in 10,000; the 0.999 quantile,
 *    103.4, would fail 1 run in 1,000, too often for CI with a seed that changes every load);
 *  - distinct ports: n = 10,000 balls in m = 16,384 bins leave m(1 - e^(-n/m)) = 7,485 bins occupied on
 *    average, standard deviation 33.4, so at least 7,300 (5.5 sd below). No uniform hash can reach 9,000:
 *    collisions are expected at this load. Per group of 2,500: mean 2,318.6, sd 12.2, so at least 2,250
 *    (5.6 sd below); a hash that ignored the varied field would give 1.
 */
static void test_sport_spread(void)
{
	enum { GROUP = 2500, N = 4 * GROUP, BINS = 64 };
	static const char *groups[4] = { "source port", "destination port", "source address", "destination address" };
	static uint16_t ports[N];
	static uint8_t seen[16384], seen_group[16384];
	unsigned bins[BINS] = { 0 };
	long out_of_range = 0, model_mismatch = 0, unstable = 0;
	uint32_t rng = 0x9e3779b9;
	int distinct = 0;
	double chi2 = 0;

	tbegin();
	memset(seen, 0, sizeof(seen));
	for (int pass = 0; pass < 2 && !t_why[0]; pass++) {
		for (int i = 0; i < N; i++) {
			int g = i / GROUP, k = i % GROUP;
			struct frame fr = IPFR(M_VR, M_VM1, UDPF(VM1_IP, IP4(10, 9, 200, 1), .len = 8));
			int port;

			fr.ip.proto = (k & 1) ? IPPROTO_TCP_ : IPPROTO_UDP_;
			if (g == 0)
				fr.ip.sport = (uint16_t)(1024 + k);
			else if (g == 1)
				fr.ip.dport = (uint16_t)(1024 + k);
			else if (g == 2)
				fr.ip.src = IP4(10, 1, 16, 0) + (uint32_t)k;
			else
				fr.ip.dst = IP4(10, 9, 0, 0) + (uint32_t)k; /* 10.9.0.0 - 10.9.9.195 */
			if (pass == 0)
				fr.ip.id = (uint16_t)xorshift32(&rng); /* not part of the flow */
			port = encap_sport(&fr);
			if (port < 0)
				break;
			if (pass == 1) {
				if (port != ports[i] && !unstable++)
					why("flow %d got port %u, then %d", i, ports[i], port);
				continue;
			}
			ports[i] = (uint16_t)port;
			if (port < VR_SPORT_BASE || port > 65535)
				out_of_range++;
			if (port != model_sport(&in_buf, ETH_HLEN_))
				model_mismatch++;
		}
	}
	if (t_why[0]) {
		tend("sport/spread", "10,000 flows: range, determinism, uniformity");
		return;
	}

	for (int g = 0; g < 4; g++) {
		int dg = 0;

		memset(seen_group, 0, sizeof(seen_group));
		for (int k = 0; k < GROUP; k++) {
			uint16_t v = ports[g * GROUP + k] & VR_SPORT_MASK;

			dg += !seen_group[v];
			seen_group[v] = 1;
		}
		if (dg < 2250)
			why("varying the %s alone gives only %d distinct ports out of %d flows (expected about 2319)",
			    groups[g], dg, GROUP);
	}
	for (int i = 0; i < N; i++) {
		uint16_t v = ports[i] & VR_SPORT_MASK;

		distinct += !seen[v];
		seen[v] = 1;
		bins[v / (16384 / BINS)]++;
	}
	for (int b = 0; b < BINS; b++) {
		double e = (double)N / BINS, d = bins[b] - e;

		chi2 += d * d / e;
	}
	if (out_of_range)
		why("%ld ports outside %u..65535", out_of_range, VR_SPORT_BASE);
	if (model_mismatch)
		why("%ld ports differ from vr_sport_from_hash(vr_flow_hash4(...))", model_mismatch);
	if (unstable)
		why("%ld flows changed port on a second run", unstable);
	if (distinct < 7300)
		why("only %d distinct ports for %d flows (expected about 7485)", distinct, N);
	if (chi2 >= 113.5)
		why("chi-square %.1f over %d bins is above 113.5 (the 0.9999 quantile for 63 df)", chi2, BINS);
	detail("    %d distinct ports, chi-square %.1f\n", distinct, chi2);
	if (!t_why[0])
		printf("# sport spread: %d distinct ports of 10000 flows, chi-square %.1f (64 bins, bound 113.5)\n",
		       distinct, chi2);
	tend("sport/spread", "10,000 flows: range, determinism, uniformity");
}

/* Every fragment of a datagram must take the same path: the port word is left out of the hash for first
 * fragments (MF) and later ones alike, whatever sits where the ports would be. */
static void test_sport_fragments(void)
{
	struct frame a = IPFR(M_VR, M_VM1, UDPF(VM1_IP, REMOTE_IP, .frag = IP_MF_, .sport = 1111, .dport = 2222, .len = 64));
	struct frame b = IPFR(M_VR, M_VM1, UDPF(VM1_IP, REMOTE_IP, .frag = IP_MF_, .sport = 3333, .dport = 4444, .len = 64));
	struct frame c = IPFR(M_VR, M_VM1, UDPF(VM1_IP, REMOTE_IP, .frag = 8, .sport = 5555, .len = 64));
	struct frame whole = IPFR(M_VR, M_VM1, UDPF(VM1_IP, REMOTE_IP, .sport = 1111, .dport = 2222, .len = 64));
	uint32_t s = htonl(VM1_IP), d = htonl(REMOTE_IP);
	uint16_t want = vr_sport_from_hash(vr_flow_hash4(s, d, 0, IPPROTO_UDP_, cfg.hash_seed));
	int pa, pb, pc, pw;

	tbegin();
	pa = encap_sport(&a);
	pb = encap_sport(&b);
	pc = encap_sport(&c);
	pw = encap_sport(&whole);
	if (!t_why[0]) {
		if (pa != want || pb != want || pc != want)
			why("fragment ports %d %d %d, expected %u for all (hash without ports)", pa, pb, pc, want);
		if (pw == want) /* 1 in 16384 by chance for a given seed: report, do not guess */
			why("the unfragmented datagram hashed to the fragments' port %d: ports ignored?", pw);
	}
	tend("sport/fragments", "fragments hash without the port word and share one port");
}

static int ev_seen;

static void ev_cb(const struct vr_event *ev, void *arg)
{
	(void)arg;
	if (ev->type == VR_EV_NEIGH_MISS && ev->ifindex == (__u32)ifindex[FAB] && ev->addr == htonl(NONEIGH_IP))
		ev_seen++;
}

/* The route cache never answers with a route that has changed: after the first packet fills this CPU's
 * slot, the route is replaced (other label), deleted, and covered by a new longer prefix; every change is
 * seen by the very next packet. */
static void test_route_cache(void)
{
	const __u32 dst = IP4(10, 9, 77, 1), net = IP4(10, 9, 77, 0);
	struct vr_nh_spec t180 = { .type = VR_NH_TUNNEL, .remote_ip = htonl(NBR_IP), .label = 180 };
	struct vr_nh_spec t181 = { .type = VR_NH_TUNNEL, .remote_ip = htonl(NBR_IP), .label = 181 };
	struct vr_nh_spec t182 = { .type = VR_NH_TUNNEL, .remote_ip = htonl(NBR_IP), .label = 182 };
	struct tcase tc = { .ing = VM1, .in = IPFR(M_VR, M_VM1, UDPF(VM1_IP, dst)), .verdict = XDP_REDIRECT };
	const struct tcase *c = &tc;

	if (vr_route_add(&h, 1, htonl(dst), 32, &t180)) {
		printf("FAIL cache/setup: %s\n", vr_strerror());
		n_fail++;
		return;
	}
	tc.name = "cache/fill";
	tc.desc = "10.9.77.1/32 label 180: the first packet fills the slot";
	tc.out = (struct frame)TO_NBR(180, UDPF(VM1_IP, dst, .ttl = 63));
	run_case(c);
	tc.name = "cache/hit";
	tc.desc = "the same again, from the slot";
	run_case(c);
	vr_route_del(&h, 1, htonl(dst), 32);
	vr_route_add(&h, 1, htonl(dst), 32, &t181);
	tc.name = "cache/replaced";
	tc.desc = "the route replaced (label 181): the next packet has the new label";
	tc.out = (struct frame)TO_NBR(181, UDPF(VM1_IP, dst, .ttl = 63));
	run_case(c);
	vr_route_del(&h, 1, htonl(dst), 32);
	tc.name = "cache/deleted";
	tc.desc = "the /32 deleted: 10.9.0.0/16 answers (label 100)";
	tc.out = (struct frame)TO_NBR(100, UDPF(VM1_IP, dst, .ttl = 63));
	run_case(c);
	vr_route_add(&h, 1, htonl(net), 24, &t182);
	tc.name = "cache/longer-prefix-added";
	tc.desc = "10.9.77.0/24 added: the next packet takes it (label 182)";
	tc.out = (struct frame)TO_NBR(182, UDPF(VM1_IP, dst, .ttl = 63));
	run_case(c);
	vr_route_del(&h, 1, htonl(net), 24);
}

/* ECMP: a composite route of 4 tunnel members spreads 10,000 flows over all of them, each flow keeps its
 * member, the member follows the same hash as the UDP source port, and removing one member (route replace)
 * moves exactly the flows that were on it. */
#define ECMP_DST IP4(10, 9, 88, 1)
enum { ECMP_FLOWS = 10000, ECMP_N = 4 };

/* Run the 10,000 flows; label[i] and sport[i] of each flow's output (0: not encapsulated). */
static int ecmp_run(uint32_t *label, uint16_t *sport)
{
	for (int i = 0; i < ECMP_FLOWS; i++) {
		struct frame fr = IPFR(M_VR, M_VM1, UDPF(VM1_IP, ECMP_DST));
		struct layout lo;
		__u32 retval = 0;

		fr.ip.sport = (uint16_t)(1024 + i % 5000);
		fr.ip.dport = (uint16_t)(2000 + i / 5000);
		build(&in_buf, &fr, &lo);
		if (run_once(vif_prog, ifindex[VM1], &in_buf, &got_buf, &retval, NULL) || retval != XDP_REDIRECT ||
		    got_buf.len < 46) {
			why("flow %d: verdict %s, %zu bytes", i, xdp_name(retval), got_buf.len);
			return -1;
		}
		label[i] = pkt_get32(&got_buf, 42) >> 12;
		sport[i] = pkt_get16(&got_buf, 34);
	}
	return 0;
}

static int ecmp_leftover(__u32 nh_id, const struct vr_nexthop *nh, void *arg)
{
	(void)nh_id;
	(void)arg;
	return nh->type == VR_NH_COMPOSITE || (nh->type == VR_NH_TUNNEL && nh->label >= 301 && nh->label <= 304);
}

static void test_ecmp(void)
{
	static uint32_t before[ECMP_FLOWS], again[ECMP_FLOWS], after[ECMP_FLOWS];
	static uint16_t sport[ECMP_FLOWS], sport2[ECMP_FLOWS];
	struct vr_nh_spec m[ECMP_N], group = { .type = VR_NH_COMPOSITE, .n_members = ECMP_N, .members = m };
	uint32_t bucket_label[VR_ECMP_BUCKETS] = { 0 };
	int share[ECMP_N] = { 0 }, moved = 0, was_on_gone = 0, kept_wrong = 0, unstable = 0, mismatch = 0;

	for (int k = 0; k < ECMP_N; k++)
		m[k] = (struct vr_nh_spec){ .type = VR_NH_TUNNEL, .remote_ip = htonl(NBR_IP), .label = 301 + k };
	tbegin();
	if (vr_route_add(&h, 1, htonl(ECMP_DST), 32, &group))
		why("vr_route_add (ECMP, 4 members): %s", vr_strerror());
	else if (!ecmp_run(before, sport) && !ecmp_run(again, sport2)) {
		for (int i = 0; i < ECMP_FLOWS; i++) {
			uint32_t b = sport[i] & (VR_ECMP_BUCKETS - 1);

			if (before[i] >= 301 && before[i] < 301 + ECMP_N)
				share[before[i] - 301]++;
			unstable += before[i] != again[i] || sport[i] != sport2[i];
			/* One member per source-port bucket: the member and the port come from one hash. */
			if (!bucket_label[b])
				bucket_label[b] = before[i];
			mismatch += bucket_label[b] != before[i];
		}
		for (int k = 0; k < ECMP_N; k++)
			if (share[k] < ECMP_FLOWS * 15 / 100)
				why("member label %d carries %d of %d flows", 301 + k, share[k], ECMP_FLOWS);
		if (unstable)
			why("%d flows changed member or source port between two identical runs", unstable);
		if (mismatch)
			why("%d flows share a source-port bucket with a flow on another member", mismatch);
	}
	tend("ecmp/spread", "4 tunnel members: 10,000 flows over all (>= 15% each), each flow on one member, "
			    "member and UDP source port from one hash");

	tbegin();
	m[1] = m[3]; /* label 302 goes: members 301, 304, 303 */
	group.n_members = ECMP_N - 1;
	if (vr_route_replace(&h, 1, htonl(ECMP_DST), 32, &group))
		why("vr_route_replace (3 members): %s", vr_strerror());
	else if (!ecmp_run(after, sport2)) {
		for (int i = 0; i < ECMP_FLOWS; i++) {
			if (before[i] == 302) {
				was_on_gone++;
				moved += after[i] != 302;
			} else {
				kept_wrong += after[i] != before[i];
			}
		}
		if (!was_on_gone || moved != was_on_gone)
			why("%d of the %d flows of the removed member moved", moved, was_on_gone);
		if (kept_wrong)
			why("%d flows of the remaining members changed member", kept_wrong);
	}
	tend("ecmp/remove-member", "label 302 removed in place: exactly its flows move, no other flow does");
	tbegin();
	if (vr_route_del(&h, 1, htonl(ECMP_DST), 32))
		why("vr_route_del: %s", vr_strerror());
	else if (vr_nh_foreach(&h, ecmp_leftover, NULL))
		why("a composite or member nexthop is left after the route went");
	tend("ecmp/released", "route deleted: the group, its composite and its member nexthops are given back");
}

/* Property: random routes in both VRFs and random packets never deliver into another VRF. Routes: 300 random
 * prefixes of 10.50.0.0/16 (/16../32) in a random VRF, each to a vif of that VRF, a tunnel with a label that
 * names the VRF (VRF 1: 5000 + i, VRF 2: 6000 + i) or discard. Packets from VMs (own addresses) to random
 * destinations, and tunnel packets with random labels to random inner destinations: whatever is delivered
 * must go to a vif of the sender's VRF (or the label's vif / VRF), whatever is tunnelled must carry a label of
 * the sender's VRF. */
static int prop_vif_of_mac(const uint8_t *mac)
{
	for (int d = VM1; d <= VM6; d++)
		if (!memcmp(mac, devs[d].peer_mac, 6))
			return d;
	return -1;
}

static int prop_vif_of_ifindex(uint32_t ifx)
{
	for (int d = VM1; d <= VM6; d++)
		if ((uint32_t)ifindex[d] == ifx)
			return d;
	return -1;
}

/* The vif an output frame goes to (-1: none; -2: tunnelled, *label set). */
static int prop_target(__u32 verdict, __u32 meta_len, uint32_t *label)
{
	const uint8_t *f = got_buf.b + meta_len;

	if (verdict == XDP_PASS && meta_len >= 8) {
		uint32_t w[2];

		memcpy(w, got_buf.b, sizeof(w));
		return w[0] == VR_META_MAGIC ? prop_vif_of_ifindex(w[1]) : -1;
	}
	if (verdict != XDP_REDIRECT)
		return -1;
	if (got_buf.len >= meta_len + 46 && f[12] == 0x08 && f[13] == 0x00 && f[23] == IPPROTO_UDP_ &&
	    ((f[36] << 8) | f[37]) == VR_MPLS_UDP_PORT) {
		*label = ((uint32_t)f[42] << 12) | ((uint32_t)f[43] << 4) | (f[44] >> 4);
		return -2;
	}
	return prop_vif_of_mac(f);
}

static void test_vrf_isolation_property(void)
{
	enum { ROUTES = 300, PACKETS = 5000, TUNNELED = 3000 };
	static const int senders[] = { VM1, VM2, VM3, VM6 }, vrf1_vifs[] = { VM1, VM2, VM4, VM5 },
			 vrf2_vifs[] = { VM3, VM6 };
	struct { __u32 vrf, prefix, plen; bool v6; } added[ROUTES];
	uint32_t rng = 0x5eed1234;
	int n = 0, violations = 0, delivered = 0, tunnelled = 0;
	char first[160] = "";

	tbegin();
	for (int i = 0; i < ROUTES; i++) {
		__u32 vrf = 1 + (xorshift32(&rng) & 1), plen = 16 + xorshift32(&rng) % 17, kind = xorshift32(&rng) % 5;
		__u32 prefix = (IP4(10, 50, 0, 0) | (xorshift32(&rng) & 0xffff)) & (plen ? ~0u << (32 - plen) : 0);
		struct vr_nh_spec nh = { .type = VR_NH_DISCARD };

		if (kind < 2) {
			int d = vrf == 1 ? vrf1_vifs[xorshift32(&rng) % 4] : vrf2_vifs[xorshift32(&rng) % 2];

			nh = (struct vr_nh_spec){ .type = VR_NH_ENCAP, .ifname = devs[d].name };
		} else if (kind < 4) {
			nh = (struct vr_nh_spec){ .type = VR_NH_TUNNEL, .remote_ip = htonl(NBR_IP),
						  .label = (vrf == 1 ? 5000 : 6000) + (__u32)i };
		}
		/* Half of the routes are IPv6 ones: fd00::<prefix>/(96 + plen). */
		if (xorshift32(&rng) & 1) {
			struct in6_addr a;

			addr6(a.s6_addr, NULL, prefix, v6_unspec);
			if (!vr_route6_add(&h, vrf, &a, 96 + plen, &nh))
				added[n++] = (typeof(added[0])){ vrf, prefix, plen, true };
		} else if (!vr_route_add(&h, vrf, htonl(prefix), plen, &nh)) {
			added[n++] = (typeof(added[0])){ vrf, prefix, plen, false };
		}
	}
	for (int i = 0; i < PACKETS + TUNNELED; i++) {
		bool tun = i >= PACKETS;
		int src = senders[xorshift32(&rng) % 4], dev = tun ? FAB : src, tgt;
		uint32_t dst = xorshift32(&rng) % 4 ? (IP4(10, 50, 0, 0) | (xorshift32(&rng) & 0xffff))
						   : devs[VM1 + xorshift32(&rng) % 6].ip;
		uint32_t inlabel = 0, label = 0, want_vrf = devs[src].vrf;
		struct pkt inner;
		__u32 verdict = 0, meta = 0;
		size_t ipo, udpo;

		bool v6 = xorshift32(&rng) & 1;

		pkt_init(&inner);
		pkt_eth(&inner, devs[src].mac, devs[src].peer_mac, v6 ? ETHTYPE_IPV6 : ETHTYPE_IP);
		if (v6) {
			uint8_t s6[16], d6[16];

			addr6(s6, NULL, devs[src].ip, v6_unspec);
			addr6(d6, NULL, dst, v6_unspec);
			ipo = pkt_ipv6(&inner, IPPROTO_UDP_, 64, s6, d6);
		} else {
			ipo = pkt_ipv4(&inner, &(struct ipv4_spec){ .ttl = 64, .proto = IPPROTO_UDP_,
								    .src = devs[src].ip, .dst = dst });
		}
		udpo = pkt_udp(&inner, (uint16_t)xorshift32(&rng), (uint16_t)xorshift32(&rng));
		pkt_payload(&inner, 8, (uint8_t)i);
		if (v6) {
			pkt_ipv6_end(&inner, ipo);
			pkt_udp_end(&inner, ipo, udpo, true);
		} else {
			pkt_udp_end(&inner, ipo, udpo, true);
			pkt_ipv4_end(&inner, ipo);
		}
		if (!tun) {
			in_buf = inner;
		} else {
			int pick = xorshift32(&rng) % 3;

			inlabel = pick == 0 ? vifs[VM1 + xorshift32(&rng) % 6].label
					    : pick == 1 ? VRF2_LABEL : 16 + xorshift32(&rng) % 3000;
			pkt_init(&in_buf);
			pkt_eth(&in_buf, devs[FAB].mac, devs[FAB].peer_mac, ETHTYPE_IP);
			ipo = pkt_ipv4(&in_buf, &(struct ipv4_spec){ .ttl = 64, .proto = IPPROTO_UDP_, .src = NBR_IP,
								     .dst = HOST_IP });
			udpo = pkt_udp(&in_buf, 50000, VR_MPLS_UDP_PORT);
			pkt_mpls(&in_buf, inlabel, 0, true, 64);
			pkt_bytes(&in_buf, inner.b + ETH_HLEN_, inner.len - ETH_HLEN_);
			pkt_udp_end(&in_buf, ipo, udpo, false);
			pkt_ipv4_end(&in_buf, ipo);
		}
		if (run_once(prog_for(dev), ifindex[dev], &in_buf, &got_buf, &verdict, &meta))
			continue;
		tgt = prop_target(verdict, meta, &label);
		if (tgt == -1)
			continue;
		if (tgt == -2) {
			tunnelled++;
			/* Tunnelled: a label of the sender's VRF (random routes or the fixed ones of test_datapath). */
			if (!tun && !((label >= 5000 && label < 6000 && want_vrf == 1) ||
				      (label >= 6000 && label < 7000 && want_vrf == 2) ||
				      (want_vrf == 1 && (label < 200 || label == 600 || label == 670)) ||
				      (want_vrf == 2 && (label == 200 || label == 800)))) {
				if (!violations++)
					snprintf(first, sizeof(first), "VRF %u sender tunnelled with label %u to %s", want_vrf,
						 label, ip_str(dst));
			}
			continue;
		}
		delivered++;
		if (tun) {
			bool ok = false;

			for (int d = VM1; d <= VM6; d++)
				if (vifs[d].label == inlabel)
					ok = d == tgt;
			if (inlabel == VRF2_LABEL)
				ok = devs[tgt].vrf == 2;
			if (!ok && !violations++)
				snprintf(first, sizeof(first), "label %u delivered to %s (VRF %u)", inlabel, devs[tgt].name,
					 devs[tgt].vrf);
		} else if (devs[tgt].vrf != want_vrf && !violations++) {
			snprintf(first, sizeof(first), "%s (VRF %u) -> %s delivered to %s (VRF %u)", devs[src].name,
				 want_vrf, ip_str(dst), devs[tgt].name, devs[tgt].vrf);
		}
	}
	for (int i = 0; i < n; i++) {
		struct in6_addr a;

		addr6(a.s6_addr, NULL, added[i].prefix, v6_unspec);
		if (added[i].v6)
			vr_route6_del(&h, added[i].vrf, &a, 96 + added[i].plen);
		else
			vr_route_del(&h, added[i].vrf, htonl(added[i].prefix), added[i].plen);
	}
	if (violations)
		why("%d deliveries crossed a VRF; first: %s", violations, first);
	if (delivered < 500 || tunnelled < 500)
		why("too few deliveries to mean anything (%d delivered, %d tunnelled)", delivered, tunnelled);
	tend("property/vrf-isolation", "300 random IPv4 and IPv6 routes, 8,000 random IPv4 and IPv6 packets and "
				       "tunnel packets: nothing crosses a VRF");
}

/* ICMP errors from outside about translated packets (a router's fragmentation needed: path MTU discovery
 * through the NAT) reach the VM with its own address and port in the quote, every checksum right; one about a
 * connection the gateway does not have is a counted drop. Runs after the table (which made the connections). */
static void gw_icmp_error_case(const char *name, const char *desc, const struct flow *left, uint32_t vm_ip,
			       uint16_t vm_port, int want_drop)
{
	static struct pkt orig;
	struct counters before, after;
	struct layout olo;
	__u32 verdict = 0, meta = 0;
	size_t ip, icmp, q, inner;

	tbegin();
	pkt_init(&orig);
	build_flow(&orig, left, &olo);
	pkt_init(&in_buf);
	pkt_eth(&in_buf, macs[M_EXT], macs[M_BORDER], ETHTYPE_IP);
	ip = pkt_ipv4(&in_buf, &(struct ipv4_spec){ .ttl = 64, .tos = 0xc0, .proto = IPPROTO_ICMP_, .src = BORDER_IP,
						    .dst = left->src });
	icmp = pkt_icmp_error(&in_buf, ICMP_DEST_UNREACH_, ICMP_FRAG_NEEDED_, 1400, orig.b,
			      pkt_icmp_quote_len(orig.b, orig.len, 8));
	pkt_icmp_end(&in_buf, icmp);
	pkt_ipv4_end(&in_buf, ip);
	if (counters_get(&before) || run_once(ext_prog, ifindex[EXT], &in_buf, &got_buf, &verdict, &meta) ||
	    counters_get(&after)) {
		why("test run failed");
		tend(name, desc);
		return;
	}
	if (want_drop) {
		if (verdict != XDP_DROP)
			why("verdict %s, expected XDP_DROP", xdp_name(verdict));
		if (after.drops[want_drop] - before.drops[want_drop] != 1)
			why("drop counter %s did not move by 1", drop_name(want_drop));
		tend(name, desc);
		return;
	}
	/* Ethernet | IPv4 | UDP 6635 | MPLS 900 | IPv4 (border -> VM) | ICMP 3/4 MTU 1400 | quoted IPv4 | 8 bytes */
	inner = ETH_HLEN_ + 20 + 8 + 4;
	if (verdict != XDP_REDIRECT || got_buf.len < inner + 20 + 8 + 20 + 8) {
		why("verdict %s, %zu bytes: expected a tunnelled error", xdp_name(verdict), got_buf.len);
		tend(name, desc);
		return;
	}
	q = inner + 20 + 8;
	if (pkt_get32(&got_buf, ETH_HLEN_ + 16) != NBR_IP || (pkt_get32(&got_buf, inner - 4) >> 12) != 900)
		why("not tunnelled to the VM's host with VRF 3's label 900");
	if (pkt_get32(&got_buf, inner + 12) != BORDER_IP || pkt_get32(&got_buf, inner + 16) != vm_ip)
		why("the error is not from the border to the VM's own address");
	if (got_buf.b[inner + 8] != 63)
		why("TTL %u, expected 63", got_buf.b[inner + 8]);
	if (got_buf.b[inner + 20] != ICMP_DEST_UNREACH_ || got_buf.b[inner + 21] != ICMP_FRAG_NEEDED_ ||
	    pkt_get16(&got_buf, inner + 26) != 1400)
		why("not fragmentation needed with MTU 1400 any more");
	if (pkt_get32(&got_buf, q + 12) != vm_ip || pkt_get32(&got_buf, q + 16) != left->dst)
		why("the quote is not from the VM's address to the remote one");
	/* The quoted source port, or an echo's identifier (4 bytes into the ICMP header). */
	size_t port_at = q + 20 + (got_buf.b[q + 9] == IPPROTO_ICMP_ ? 4 : 0);

	if (pkt_get16(&got_buf, port_at) != vm_port)
		why("quoted source port/identifier %u, expected the VM's %u", pkt_get16(&got_buf, port_at), vm_port);
	if (csum_fold(csum_add(0, got_buf.b + inner, 20)) != 0 ||
	    csum_fold(csum_add(0, got_buf.b + inner + 20, pkt_get16(&got_buf, inner + 2) - 20)) != 0 ||
	    csum_fold(csum_add(0, got_buf.b + q, 20)) != 0)
		why("a checksum is wrong (IPv4 header, ICMP, or the quoted IPv4 header)");
	for (int r = 1; r < VR_DROP_MAX; r++)
		if (after.drops[r] != before.drops[r])
			why("drop counter %s moved", drop_name(r));
	tend(name, desc);
}

static void test_gateway_icmp_errors(void)
{
	struct flow snat = UDPF(SNAT3_IP, OUTSIDE_IP, .sport = SNAT_PORT, .ttl = 63);
	struct flow echo = ICMPF(SNAT3_IP, OUTSIDE_IP, .sport = SNAT_PORT, .ttl = 63);
	struct flow fip = TCPF(FIP3_IP, OUTSIDE_IP, .ttl = 63);
	struct flow none = UDPF(SNAT3_IP, OUTSIDE_IP, .sport = SNAT_PORT + 7, .ttl = 63);

	gw_icmp_error_case("gw/icmp-error-snat", "fragmentation needed about a source-NATed UDP packet: to 10.9.1.1, "
			   "quote back to 10.9.1.1:33333", &snat, T3_VM_IP, 33333, 0);
	gw_icmp_error_case("gw/icmp-error-echo", "... about an echo request: the VM's identifier in the quote", &echo,
			   T3_VM_IP, 0x4242, 0);
	gw_icmp_error_case("gw/icmp-error-fip", "... about a floating-IP packet: to 10.9.3.3", &fip, T3_FIP_VM_IP,
			   40001, 0);
	gw_icmp_error_case("gw/icmp-error-no-conn", "... about a connection the gateway does not have", &none, 0, 0,
			   VR_DROP_NAT_NO_CONN);
}

/* A configured tunnel endpoint is accepted from the next packet on, and refused again once deconfigured. */
static void test_endpoints(void)
{
	struct tcase tc = { .ing = FAB, .in = FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP), .tun.src = STRANGER_IP),
			    .verdict = XDP_REDIRECT, .out = IPFR(M_VM1, M_VR, UDPF(REMOTE_IP, VM1_IP)), .tx = VM1 };

	if (vr_endpoint_add(&h, htonl(STRANGER_IP))) {
		printf("FAIL endpoint/setup: %s\n", vr_strerror());
		n_fail++;
		return;
	}
	tc.name = "endpoint/configured";
	tc.desc = "192.0.2.77 configured as an endpoint: its tunnel packet is delivered";
	run_case(&tc);
	vr_endpoint_del(&h, htonl(STRANGER_IP));
	tc.name = "endpoint/deconfigured";
	tc.desc = "and deconfigured: dropped again, counted";
	tc.verdict = XDP_DROP;
	tc.tx = 0;
	tc.drop = VR_DROP_UNKNOWN_ENDPOINT;
	run_case(&tc);
}

/* An unresolved underlay neighbour is reported to user space (DESIGN.md: no silent loss forever). */
static void test_neigh_event(void)
{
	struct frame fr = IPFR(M_VR, M_VM1, UDPF(VM1_IP, NONEIGH_NET_IP));
	struct vr_events *ev;
	struct layout lo;
	__u32 retval;
	int err;

	tbegin();
	ev = vr_events_open(&h, ev_cb, NULL);
	if (!ev) {
		why("vr_events_open: %s", vr_strerror());
		tend("events/neigh-miss", NULL);
		return;
	}
	vr_events_poll(ev, 0); /* what earlier cases left in the ring */
	ev_seen = 0;
	build(&in_buf, &fr, &lo);
	err = run_once(vif_prog, ifindex[VM1], &in_buf, &got_buf, &retval, NULL);
	if (err)
		why("test run failed: %s", strerror(-err));
	else if (retval != XDP_DROP)
		why("verdict %s, expected XDP_DROP", xdp_name(retval));
	for (int i = 0; i < 10 && !ev_seen; i++)
		vr_events_poll(ev, 50);
	if (!err && !ev_seen)
		why("no VR_EV_NEIGH_MISS for %s on fab0", ip_str(NONEIGH_IP));
	vr_events_close(ev);
	tend("events/neigh-miss", "a neighbour miss emits VR_EV_NEIGH_MISS {fab0, 192.0.2.3}");
}

/* ---------------------------------------------------------------------------------------------------- */
/* Live frames: the redirect really reaches the device the tx counter names                             */

struct live_case {
	const char *name;
	int ing;        /* where the frame enters */
	int cap;        /* the device whose peer must receive the result */
	struct frame in, out;
};

static const struct live_case live_cases[] = {
	{ "live/local", VM1, VM2, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP)),
	  IPFR(M_VM2, M_VR, UDPF(VM1_IP, VM2_IP, .ttl = 63)) },
	{ "live/encap", VM1, FAB, IPFR(M_VR, M_VM1, UDPF(VM1_IP, REMOTE_IP, .tos = 0x10)),
	  TO_NBR(100, UDPF(VM1_IP, REMOTE_IP, .tos = 0x10, .ttl = 63)) },
	{ "live/decap", FAB, VM3, FROM_NBR(LBL(VM3), UDPF(REMOTE_IP, VM3_IP)),
	  IPFR(M_VM3, M_VR, UDPF(REMOTE_IP, VM3_IP)) },
	{ "live/gre-encap", VM1, FAB, IPFR(M_VR, M_VM1, UDPF(VM1_IP, GRE_IP, .tos = 0x10)),
	  TO_NBR_GRE(300, UDPF(VM1_IP, GRE_IP, .tos = 0x10, .ttl = 63)) },
	{ "live/gre-decap", FAB, VM3, FROM_NBR_GRE(LBL(VM3), UDPF(REMOTE_IP, VM3_IP)),
	  IPFR(M_VM3, M_VR, UDPF(REMOTE_IP, VM3_IP)) },
	{ "live/gre-handover-fabric-to-tc-vif", FAB, VM4, FROM_NBR_GRE(LBL(VM4), TCPF(REMOTE_IP, VM4_IP, .ttl = 63)),
	  IPFR(M_VM4, M_VR, TCPF(REMOTE_IP, VM4_IP, .ttl = 63)) },
	{ "live/arp", VM1, VM1, ARP_ASK(M_VM1, VM1_IP, GW1), ARP_ANSWER(M_VM1, VM1_IP, GW1) },
	/* XDP_PASS with the hand-over note: up the stack of the ingress device, where its TC program (vr_vif_tc,
	 * vr_fabric_tc) must find the note and redirect to the vif in mode tc. */
	{ "live/handover-vif-to-tc-vif", VM1, VM4, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM4_IP)),
	  IPFR(M_VM4, M_VR, UDPF(VM1_IP, VM4_IP, .ttl = 63)) },
	{ "live/handover-fabric-to-tc-vif", FAB, VM4, FROM_NBR(LBL(VM4), TCPF(REMOTE_IP, VM4_IP, .ttl = 63)),
	  IPFR(M_VM4, M_VR, TCPF(REMOTE_IP, VM4_IP, .ttl = 63)) },
};

static int capture_open(int ifx)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = ifx };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits up to timeout_ms for want among the frames the socket receives; the last other frame is kept. */
static bool capture_expect(int fd, const struct pkt *want, struct pkt *last, int timeout_ms)
{
	long end = now_ms() + timeout_ms;

	last->len = 0;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		long left = end - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return false;
		n = recvfrom(fd, last->b, sizeof(last->b), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			continue;
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		last->len = (size_t)n;
		if (last->len == want->len && !memcmp(last->b, want->b, want->len))
			return true;
	}
}

static void run_live(const struct live_case *lc)
{
	struct xdp_md ctx = { .ingress_ifindex = (__u32)ifindex[lc->ing] };
	struct layout lo;
	int fd, err;

	tbegin();
	build(&in_buf, &lc->in, &lo);
	build(&want_buf, &lc->out, &lo);
	ctx.data_end = (__u32)in_buf.len;
	fd = capture_open(peer_ifindex[lc->cap]);
	if (fd < 0) {
		why("packet socket on %s: %s", devs[lc->cap].peer, strerror(-fd));
		tend(lc->name, NULL);
		return;
	}
	{
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in_buf.b, .data_size_in = (__u32)in_buf.len,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

		err = bpf_prog_test_run_opts(prog_for(lc->ing), &o);
	}
	if (err) {
		why("live test run failed: %s", strerror(errno));
	} else if (!capture_expect(fd, &want_buf, &got_buf, 1000)) {
		why("the expected frame did not arrive on %s within 1 s", devs[lc->cap].peer);
		if (got_buf.len) {
			detail("    last frame seen there:\n");
			hexdiff(&want_buf, &got_buf);
		}
	}
	close(fd);
	tend(lc->name, "BPF_F_TEST_XDP_LIVE_FRAMES: the frame arrives on the far end of the target veth");
}

/* rx_otherhost_dropped of a device (IFLA_STATS64): frames the stack threw away because their destination
 * MAC was not the device's. Returns 0, or -errno (-EOPNOTSUPP when the kernel does not report it). */
static int link_otherhost(int ifx, __u64 *out)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1 },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifx },
	};
	static char buf[32768];
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), err = -ENOENT;
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (send(fd, &req, sizeof(req), 0) < 0 || (n = recv(fd, buf, sizeof(buf), 0)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	close(fd);
	if (!NLMSG_OK(nh, (size_t)n) || nh->nlmsg_type != RTM_NEWLINK)
		return -EPROTO;
	{
		struct ifinfomsg *ifi = NLMSG_DATA(nh);
		int len = (int)IFLA_PAYLOAD(nh);

		for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
			struct rtnl_link_stats64 st = { 0 };
			size_t need = offsetof(struct rtnl_link_stats64, rx_otherhost_dropped) + sizeof(__u64);

			if (a->rta_type != IFLA_STATS64)
				continue;
			if (RTA_PAYLOAD(a) < need)
				return -EOPNOTSUPP;
			memcpy(&st, RTA_DATA(a), need);
			*out = st.rx_otherhost_dropped;
			err = 0;
		}
	}
	return err;
}

/* A RECEIVE route hands the frame to the host (XDP_PASS, unchanged): the stack of the vif's device must then
 * take it, not discard it as addressed to another host. The frame's destination MAC is the vRouter MAC that
 * the VM learnt by ARP, so the device must accept that MAC. Live mode passes XDP_PASS frames to the stack. */
static void test_live_receive(void)
{
	struct frame fr = IPFR(M_VR, M_VM1, ICMPF(VM1_IP, GW1));
	struct xdp_md ctx = { .ingress_ifindex = (__u32)ifindex[VM1] };
	__u64 before = 0, after = 0;
	struct layout lo;
	int err;

	tbegin();
	build(&in_buf, &fr, &lo);
	ctx.data_end = (__u32)in_buf.len;
	err = link_otherhost(ifindex[VM1], &before);
	if (err) {
		why("reading vm1's rx_otherhost_dropped: %s", strerror(-err));
	} else {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in_buf.b, .data_size_in = (__u32)in_buf.len,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

		if (bpf_prog_test_run_opts(vif_prog, &o))
			why("live test run failed: %s", strerror(errno));
		else if ((err = link_otherhost(ifindex[VM1], &after)))
			why("reading vm1's rx_otherhost_dropped: %s", strerror(-err));
		else if (after != before)
			why("vm1 dropped the frame as PACKET_OTHERHOST (rx_otherhost_dropped +%llu): its MAC "
			    "%02x:%02x:%02x:%02x:%02x:%02x is not the vRouter MAC the frame is addressed to",
			    (unsigned long long)(after - before), devs[VM1].mac[0], devs[VM1].mac[1], devs[VM1].mac[2],
			    devs[VM1].mac[3], devs[VM1].mac[4], devs[VM1].mac[5]);
	}
	tend("live/receive-to-host", "a RECEIVE route's frame reaches the host IP layer of the vif device");
}

/* ---------------------------------------------------------------------------------------------------- */
/* A VM behind a tap in mode tc: frames written into VM5's tap enter the real ingress path as skbs, with  */
/* the checksum offload and GSO state a virtio-net guest gives them, and meet vr_vif_tc there             */

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5 /* USO: not in the 6.1 UAPI headers */
#endif
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20 /* Linux 6.2 */
#define TUN_F_USO6 0x40
#endif

/* Whether this kernel's taps take UDP GSO packets (VIRTIO_NET_HDR_GSO_UDP_L4) from their reader: Linux 6.2
 * added it together with the TUN_F_USO offload flags, and TUNSETOFFLOAD refuses flags it does not know. */
static bool tap_takes_uso(void)
{
	static int known = -1;

	if (known < 0) {
		known = !ioctl(tap_fd[VM5], TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6);
		ioctl(tap_fd[VM5], TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
	}
	return known;
}

struct tap_case {
	const char *name, *desc;
	struct frame in;     /* what the VM behind VM5's tap sends */
	bool offload;        /* its L4 checksum is left to offload (virtio-net NEEDS_CSUM: CHECKSUM_PARTIAL) */
	uint16_t gso_size;   /* a GSO super-packet (TCP: TSO, UDP: USO) to be cut in segments of this size */
	int cap;             /* where the result must arrive: VM5 (read from the tap) or a veth's peer (FAB: fab0p);
			      * for a drop, where nothing may arrive (NDEV: not watched) */
	struct frame out;    /* the expected frame: its L4 checksum still left to offload when the input's was */
	uint16_t out_gso;    /* the GSO size the result must carry (0: none) */
	int drop;            /* the drop reason that must move by one (nothing arrives then, unless ICMP) */
	int tx;              /* the vif that must count the result as sent to its VM */
	bool plain_reader;   /* the tap's reader takes no offloads (TUNSETOFFLOAD 0): the kernel completes any
			      * checksum still pending before the frame reaches it */
};

static const struct tap_case tap_cases[] = {
	{ "tap/local", "VM5 -> VM1: vr_vif_tc on the tap's ingress, redirected out of vm1",
	  IPFR(M_VR, M_VM5, UDPF(VM5_IP, VM1_IP)), .cap = VM1,
	  .out = IPFR(M_VM1, M_VR, UDPF(VM5_IP, VM1_IP, .ttl = 63)), .tx = VM1 },
	{ "tap/local-csum-offload", "TCP with its checksum left to offload: delivered, still marked for completion",
	  IPFR(M_VR, M_VM5, TCPF(VM5_IP, VM4_IP)), .offload = true, .cap = VM4,
	  .out = IPFR(M_VM4, M_VR, TCPF(VM5_IP, VM4_IP, .ttl = 63)), .tx = VM4 },
	{ "tap/encap", "VM5 -> the remote network: MPLS-in-UDP out of fab0",
	  IPFR(M_VR, M_VM5, UDPF(VM5_IP, REMOTE_IP, .tos = 0x10)), .cap = FAB,
	  .out = TO_NBR(100, UDPF(VM5_IP, REMOTE_IP, .tos = 0x10, .ttl = 63)) },
	{ "tap/encap-csum-offload", "TCP with its checksum left to offload: tunnelled, the inner checksum still marked",
	  IPFR(M_VR, M_VM5, TCPF(VM5_IP, REMOTE_IP)), .offload = true, .cap = FAB,
	  .out = TO_NBR(100, TCPF(VM5_IP, REMOTE_IP, .ttl = 63)) },
	{ "tap/arp", "an ARP request for VM1: the answer comes back into the tap",
	  ARP_ASK(M_VM5, VM5_IP, VM1_IP), .cap = VM5, .out = ARP_ANSWER(M_VM5, VM5_IP, VM1_IP), .tx = VM5 },
	{ "tap/frag-needed", "1469 bytes with DF, complete checksums: ICMP 3/4 from the host's address into the tap",
	  IPFR(M_VR, M_VM5, BIG_TCP(VM5_IP)), .cap = VM5, .out = FRAG_NEEDED(M_VM5, HOST_IP, BIG_TCP(VM5_IP)),
	  .drop = VR_DROP_FRAG_NEEDED, .tx = VM5 },
	{ "tap/frag-needed-csum-offload", "the same packet with its TCP checksum left to offload (CHECKSUM_PARTIAL, "
	  "as every TSO packet has it): the same answer, as the VM takes it",
	  IPFR(M_VR, M_VM5, BIG_TCP(VM5_IP)), .offload = true, .cap = VM5,
	  .out = FRAG_NEEDED(M_VM5, HOST_IP, BIG_TCP(VM5_IP)), .drop = VR_DROP_FRAG_NEEDED, .tx = VM5 },
	{ "tap/frag-needed-csum-offload-plain-reader", "the same, read by a hypervisor without checksum offload: "
	  "the kernel completes any checksum the answer still asks for before the reader gets it",
	  IPFR(M_VR, M_VM5, BIG_TCP(VM5_IP)), .offload = true, .cap = VM5, .plain_reader = true,
	  .out = FRAG_NEEDED(M_VM5, HOST_IP, BIG_TCP(VM5_IP)), .drop = VR_DROP_FRAG_NEEDED, .tx = VM5 },
	{ "tap/frag-needed-udp-csum-offload", "UDP with its checksum left to offload: the ICMP answer, as the VM takes "
	  "it (completing any checksum its virtio-net header still asks for), must be the expected one",
	  IPFR(M_VR, M_VM5, BIG_UDP(VM5_IP)), .offload = true, .cap = VM5,
	  .out = FRAG_NEEDED(M_VM5, HOST_IP, BIG_UDP(VM5_IP)), .drop = VR_DROP_FRAG_NEEDED, .tx = VM5 },
	{ "tap/frag-needed-udp-csum-offload-plain-reader", "the same, read by a hypervisor without checksum offload: "
	  "the kernel completes the checksum the answer still asks for; the ICMP must arrive intact",
	  IPFR(M_VR, M_VM5, BIG_UDP(VM5_IP)), .offload = true, .cap = VM5, .plain_reader = true,
	  .out = FRAG_NEEDED(M_VM5, HOST_IP, BIG_UDP(VM5_IP)), .drop = VR_DROP_FRAG_NEEDED, .tx = VM5 },
	{ "tap/gso-encap", "TSO, 2 segments of 1448 (1488-byte packets, 1520 tunnelled): encapsulated as GSO, "
	  "segments 32 bytes smaller",
	  IPFR(M_VR, M_VM5, TCPF(VM5_IP, REMOTE_IP, .len = 2 * 1448)), .gso_size = 1448, .cap = FAB,
	  .out = TO_NBR(100, TCPF(VM5_IP, REMOTE_IP, .len = 2 * 1448, .ttl = 63)), .out_gso = 1448 - 32 },
	{ "tap/gso-encap-fixed", "TSO, segments of 1400 (1472 bytes tunnelled): encapsulated, GSO size kept",
	  IPFR(M_VR, M_VM5, TCPF(VM5_IP, REMOTE_IP, .len = 2 * 1400)), .gso_size = 1400, .cap = FAB,
	  .out = TO_NBR(100, TCPF(VM5_IP, REMOTE_IP, .len = 2 * 1400, .ttl = 63)), .out_gso = 1400 },
	{ "tap/gso-frag-needed", "TSO, segments of 1461 (1501 bytes alone), DF: ICMP, MTU 1468",
	  IPFR(M_VR, M_VM5, TCPF(VM5_IP, REMOTE_IP, .len = 2 * 1461)), .gso_size = 1461, .cap = VM5,
	  .out = FRAG_NEEDED(M_VM5, HOST_IP, TCPF(VM5_IP, REMOTE_IP, .len = 2 * 1461)), .drop = VR_DROP_FRAG_NEEDED,
	  .tx = VM5 },
	{ "tap/udp-gso-frag-needed", "USO, datagrams of 1480 bytes (1452 of payload) with DF: too big for the tunnel, "
	  "and UDP segments cannot shrink: ICMP, MTU 1468",
	  IPFR(M_VR, M_VM5, UDPF(VM5_IP, REMOTE_IP, .frag = IP_DF_, .len = 2 * 1452)), .gso_size = 1452, .cap = VM5,
	  .out = FRAG_NEEDED(M_VM5, HOST_IP, UDPF(VM5_IP, REMOTE_IP, .frag = IP_DF_, .len = 2 * 1452)),
	  .drop = VR_DROP_FRAG_NEEDED, .tx = VM5 },
	{ "tap/gre-encap", "VM5 -> the GRE network: MPLS-over-GRE out of fab0",
	  IPFR(M_VR, M_VM5, UDPF(VM5_IP, GRE_IP, .tos = 0x10)), .cap = FAB,
	  .out = TO_NBR_GRE(300, UDPF(VM5_IP, GRE_IP, .tos = 0x10, .ttl = 63)) },
	{ "tap/gre-encap-csum-offload", "TCP with its checksum left to offload: in GRE, the inner checksum still marked",
	  IPFR(M_VR, M_VM5, TCPF(VM5_IP, GRE_IP)), .offload = true, .cap = FAB,
	  .out = TO_NBR_GRE(300, TCPF(VM5_IP, GRE_IP, .ttl = 63)) },
	{ "tap/gre-gso-encap", "TSO, 2 segments of 1448 (1488-byte packets, 1516 in GRE): encapsulated as GSO, "
	  "segments 28 bytes smaller",
	  IPFR(M_VR, M_VM5, TCPF(VM5_IP, GRE_IP, .len = 2 * 1448)), .gso_size = 1448, .cap = FAB,
	  .out = TO_NBR_GRE(300, TCPF(VM5_IP, GRE_IP, .len = 2 * 1448, .ttl = 63)), .out_gso = 1448 - 28 },
	{ "tap/gre-gso-encap-fixed", "TSO, segments of 1432 (1500 bytes in GRE, 1504 in UDP): GSO size kept",
	  IPFR(M_VR, M_VM5, TCPF(VM5_IP, GRE_IP, .len = 2 * 1432)), .gso_size = 1432, .cap = FAB,
	  .out = TO_NBR_GRE(300, TCPF(VM5_IP, GRE_IP, .len = 2 * 1432, .ttl = 63)), .out_gso = 1432 },
	{ "tap/gre-udp-gso-encap", "USO, datagrams of 1428 bytes (1456 in GRE): encapsulated as UDP GSO, size kept",
	  IPFR(M_VR, M_VM5, UDPF(VM5_IP, GRE_IP, .frag = IP_DF_, .len = 2 * 1400)), .gso_size = 1400, .cap = FAB,
	  .out = TO_NBR_GRE(300, UDPF(VM5_IP, GRE_IP, .frag = IP_DF_, .len = 2 * 1400, .ttl = 63)), .out_gso = 1400 },
	{ "tap/gre-gso-frag-needed", "TSO, segments of 1461 (1501 bytes alone), DF: ICMP, MTU 1472",
	  IPFR(M_VR, M_VM5, TCPF(VM5_IP, GRE_IP, .len = 2 * 1461)), .gso_size = 1461, .cap = VM5,
	  .out = FRAG_NEEDED_GRE(M_VM5, HOST_IP, TCPF(VM5_IP, GRE_IP, .len = 2 * 1461)), .drop = VR_DROP_FRAG_NEEDED,
	  .tx = VM5 },
	{ "tap/vlan", "an 802.1Q-tagged frame (the stack takes the tag out of the frame before TC): dropped as vlan",
	  IPFR(M_VR, M_VM5, UDPF(VM5_IP, VM1_IP), .vlan = 100), .cap = VM1, .drop = VR_DROP_VLAN },
	{ "tap/vlan-to-tunnel", "an 802.1Q-tagged frame for the remote network: dropped, nothing on the underlay",
	  IPFR(M_VR, M_VM5, UDPF(VM5_IP, REMOTE_IP), .vlan = 100), .cap = FAB, .drop = VR_DROP_VLAN },
	{ "tap/eth-only", "Ethertype IPv4 and nothing after the Ethernet header",
	  IPFR(M_VR, M_VM5, UDPF(VM5_IP, VM1_IP), .cut = 14), .cap = VM1, .drop = VR_DROP_MALFORMED },
	{ "tap/ipv4-truncated", "10 bytes of IPv4 header",
	  IPFR(M_VR, M_VM5, UDPF(VM5_IP, VM1_IP), .cut = 24), .cap = VM1, .drop = VR_DROP_MALFORMED },
};

static void tap_drain(int d)
{
	uint8_t buf[256];

	while (read(tap_fd[d], buf, sizeof(buf)) > 0)
		;
}

/* A packet socket on the peer of veth d that also reports each frame's virtio-net header (GSO size and type,
 * checksum state), as PACKET_VNET_HDR gives it, and a VLAN tag held outside the frame (PACKET_AUXDATA). */
static int capture_open_vnet(int d)
{
	int fd = capture_open(peer_ifindex[d]), on = 1;

	if (fd >= 0 && (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &on, sizeof(on)) ||
			setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &on, sizeof(on)))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* PACKET_AUXDATA's record (struct tpacket_auxdata of linux/if_packet.h, which clashes with glibc's
 * netpacket/packet.h): how a packet socket reports a VLAN tag that the stack holds outside the frame. */
struct pkt_auxdata {
	__u32 tp_status, tp_len, tp_snaplen;
	__u16 tp_mac, tp_net, tp_vlan_tci, tp_vlan_tpid;
};
#define PKT_STATUS_VLAN_VALID (1 << 4)

/* The next frame arriving on fd (a tap's, or a packet socket from capture_open_vnet) before deadline, with
 * its virtio-net header and, from a packet socket, the VLAN tag it carries outside the frame (*vlan, -1 if
 * none); frames a veth peer sends itself are skipped. *trunc: it did not fit in p. */
static bool vnet_next(int fd, bool tap, struct virtio_net_hdr *vh, struct pkt *p, bool *trunc, int *vlan,
		      long deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct iovec iov[2] = { { vh, sizeof(*vh) }, { p->b, sizeof(p->b) } };
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(struct pkt_auxdata))];
		} ctl;
		struct sockaddr_ll from = { 0 };
		struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = iov, .msg_iovlen = 2,
				      .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
		long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return false;
		n = tap ? readv(fd, iov, 2) : recvmsg(fd, &msg, MSG_TRUNC);
		if (n < (ssize_t)sizeof(*vh) || (!tap && from.sll_pkttype == PACKET_OUTGOING))
			continue;
		*trunc = (size_t)n - sizeof(*vh) > sizeof(p->b) || (!tap && (msg.msg_flags & MSG_TRUNC));
		p->len = *trunc ? sizeof(p->b) : (size_t)n - sizeof(*vh);
		*vlan = -1;
		for (struct cmsghdr *cm = tap ? NULL : CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			struct pkt_auxdata aux;

			if (cm->cmsg_level != SOL_PACKET || cm->cmsg_type != PACKET_AUXDATA ||
			    cm->cmsg_len < CMSG_LEN(sizeof(aux)))
				continue;
			memcpy(&aux, CMSG_DATA(cm), sizeof(aux));
			if (aux.tp_status & PKT_STATUS_VLAN_VALID)
				*vlan = aux.tp_vlan_tci;
		}
		return true;
	}
}

/* Checksum offload: where the L4 checksum field sits in the L4 header of the IPv4 packet at ip (0: none). */
static size_t l4_csum_field(const struct pkt *p, size_t ip)
{
	return p->b[ip + 9] == IPPROTO_TCP_ ? 16 : p->b[ip + 9] == IPPROTO_UDP_ ? 6 : 0;
}

/* Some drop reason other than the expected one moved: the frame awaited will not come. */
static bool other_drop_moved(const struct counters *a, const struct counters *b, int expected)
{
	for (int r = 1; r < VR_DROP_MAX; r++)
		if (r != expected && b->drops[r] != a->drops[r])
			return true;
	return false;
}

/* Whether the IPv4 header checksum and the ICMP checksum of the Ethernet + IPv4 + ICMP frame p verify. */
static bool icmp_sums_ok(const struct pkt *p)
{
	size_t hl = (size_t)(p->b[ETH_HLEN_] & 0xf) * 4, tot = pkt_get16(p, ETH_HLEN_ + 2);

	if (p->len < ETH_HLEN_ + 20 || hl < 20 || tot < hl || ETH_HLEN_ + tot > p->len)
		return false;
	return csum_fold(csum_add(0, p->b + ETH_HLEN_, hl)) == 0 &&
	       csum_fold(csum_add(0, p->b + ETH_HLEN_ + hl, tot - hl)) == 0;
}

/* The frame got as its reader takes it: a checksum the virtio-net header still asks for (NEEDS_CSUM) is
 * completed as a device or skb_checksum_help() does it (the sum from csum_start to the end, the field's
 * pseudo-header seed included, complemented into the field at csum_start + csum_offset; 0 becomes 0xffff).
 * Returns whether a completion was applied. */
static bool vnet_complete(const struct pkt *got, const struct virtio_net_hdr *gv, struct pkt *out)
{
	size_t cs = le16toh(gv->csum_start), co = le16toh(gv->csum_offset);
	uint16_t sum;

	*out = *got;
	if (!(gv->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || cs + co + 2 > got->len)
		return false;
	sum = csum_fold(csum_add(0, got->b + cs, got->len - cs));
	pkt_put16(out, cs + co, sum ? sum : 0xffff);
	return true;
}

/* The field value X that a checksum completion over region (as vnet_complete does it: the sum of the region
 * with X in the field, complemented, 0 written as 0xffff) writes back unchanged. Found by search, not by the
 * datapath's closed form. */
static uint16_t completion_fixed_point(const uint8_t *region, size_t len, size_t field)
{
	uint8_t buf[PKT_MAX];

	memcpy(buf, region, len);
	for (uint32_t x = 0; x <= 0xffff; x++) {
		uint16_t sum;

		buf[field] = (uint8_t)(x >> 8);
		buf[field + 1] = (uint8_t)x;
		sum = csum_fold(csum_add(0, buf, len));
		if ((sum ? sum : 0xffff) == x)
			return (uint16_t)x;
	}
	return 0; /* none (one region in 65536): the comparison then shows it */
}

static void run_tap(const struct tap_case *c)
{
	struct tcase tc = { .ing = VM5, .drop = c->drop, .tx = c->tx };
	struct virtio_net_hdr vh = { 0 }, gv = { 0 };
	struct counters before, after;
	bool tap = c->cap == VM5, want_frame = c->out.kind != FK_SAME, trunc = false, seen = false, completed = false;
	struct layout lo, olo = { 0 };
	size_t field = 0, want_csum_start = 0;
	const char *where = tap ? "the tap" : c->cap < NDEV ? devs[c->cap].peer : "-";
	long deadline;
	int fd = -1, vlan = -1;

	if (c->gso_size && c->in.ip.proto == IPPROTO_UDP_ && !tap_takes_uso()) {
		tskip(c->name, "this kernel's taps take no UDP GSO packets from a hypervisor (VIRTIO_NET_HDR_GSO_UDP_L4, "
			       "TUN_F_USO4: Linux 6.2)");
		return;
	}
	tbegin();
	got_buf.len = 0;
	alt_buf.len = 0;
	build(&in_buf, &c->in, &lo);
	if (want_frame)
		build(&want_buf, &c->out, &olo);
	if (c->offload || c->gso_size) {
		uint8_t proto = in_buf.b[lo.in3 + 9];

		field = l4_csum_field(&in_buf, lo.in3);
		pkt_l4_csum_partial(&in_buf, lo.in3, lo.in4, proto, field);
		vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh.csum_start = htole16((uint16_t)lo.in4);
		vh.csum_offset = htole16((uint16_t)field);
		if (c->out.kind == FK_IP || c->out.kind == FK_MPLS) {
			/* A forwarded packet keeps its offloaded checksum: patch the expected copy the same way. */
			pkt_l4_csum_partial(&want_buf, olo.in3, olo.in4, proto, field);
			want_csum_start = olo.in4;
		} else if (c->out.kind == FK_ICMPERR) {
			/* The quote holds the packet as sent, except its pending L4 checksum field: the datapath sets
			 * it to the value that completing the checksum leaves unchanged, so that the ICMP checksum
			 * holds whether the reader completes it or not. Quote again, find that value, sum again. */
			size_t q = olo.in4 + 8, l4 = q + (size_t)(in_buf.b[lo.in3] & 0xf) * 4;

			memcpy(want_buf.b + q, in_buf.b + lo.in3, want_buf.len - q);
			/* Kernels whose bpf_skb_change_tail trims below a pending checksum and drops the pending state
			 * instead of refusing ("bpf: Fix bpf_skb_change_tail wrt csum partial skbs": 6.1.190 on, newer
			 * mainline and stable) leave nothing to complete: the quote then holds the field as the VM sent
			 * it, and the answer verifies all the same (alt_buf). */
			alt_buf = want_buf;
			pkt_icmp_end(&alt_buf, olo.in4);
			pkt_put16(&want_buf, l4 + field, completion_fixed_point(want_buf.b + l4, want_buf.len - l4, field));
			pkt_icmp_end(&want_buf, olo.in4);
		}
	}
	if (c->gso_size) {
		bool tcp = in_buf.b[lo.in3 + 9] == IPPROTO_TCP_;

		vh.gso_type = tcp ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_UDP_L4;
		vh.gso_size = htole16(c->gso_size);
		vh.hdr_len = htole16((uint16_t)(lo.in4 + (tcp ? 20 : 8)));
	}

	tap_drain(VM5);
	if (c->plain_reader && ioctl(tap_fd[VM5], TUNSETOFFLOAD, 0)) {
		why("TUNSETOFFLOAD 0: %s", strerror(errno));
		tend(c->name, c->desc);
		return;
	}
	if (!tap && c->cap < NDEV) {
		fd = capture_open_vnet(c->cap);
		if (fd < 0) {
			why("packet socket on %s: %s", where, strerror(-fd));
			tend(c->name, c->desc);
			return;
		}
	}
	if (counters_get(&before)) {
		why("reading counters: %s", vr_strerror());
	} else {
		struct iovec iov[2] = { { &vh, sizeof(vh) }, { in_buf.b, in_buf.len } };

		if (writev(tap_fd[VM5], iov, 2) != (ssize_t)(sizeof(vh) + in_buf.len))
			why("writing into the tap: %s", strerror(errno));
	}
	if (t_why[0])
		goto out;

	/* The result (given up early once another drop reason has moved, or soon after another frame came), or
	 * for a drop a quiet moment in which nothing may arrive. */
	deadline = now_ms() + (want_frame ? 500 : 100);
	while (!seen && fd + tap >= 0 && now_ms() < deadline) {
		long slice = now_ms() + 50;

		if (slice > deadline)
			slice = deadline;
		if (!vnet_next(tap ? tap_fd[VM5] : fd, tap, &gv, &got_buf, &trunc, &vlan, slice)) {
			if (want_frame && !counters_get(&after) && other_drop_moved(&before, &after, c->drop))
				break;
			continue;
		}
		/* The host's own neighbour resolution on the fabric (ARP for an address an earlier case left
		 * unresolved, retried by the kernel on its own schedule) is not the datapath's: the datapath never
		 * sends ARP to the underlay. */
		if (!tap && got_buf.len >= 14 && got_buf.b[12] == 0x08 && got_buf.b[13] == 0x06)
			continue;
		if (!want_frame) {
			why("a frame arrived on %s although the packet must be dropped", where);
			if (vlan >= 0)
				why("it carries VLAN tag %d outside the frame", vlan & 0xfff);
			hexdiff(&in_buf, &got_buf);
			break;
		}
		/* A forwarded packet keeps its pending checksum (checked below); an answer is compared as read. */
		if (!want_csum_start)
			completed = vnet_complete(&got_buf, &gv, &got_buf);
		seen = got_buf.len == want_buf.len && !memcmp(got_buf.b, want_buf.b, want_buf.len) && !trunc;
		if (!seen && alt_buf.len && !completed && got_buf.len == alt_buf.len &&
		    !memcmp(got_buf.b, alt_buf.b, alt_buf.len) && !trunc) {
			seen = true;
			printf("# %s: the answer quotes the pending checksum as sent, with nothing left to complete "
			       "(this kernel's bpf_skb_change_tail dropped the pending state)\n", c->name);
		}
		if (!seen && deadline > now_ms() + 50)
			deadline = now_ms() + 50;
	}
	if (want_frame && !seen) {
		why("the expected frame did not arrive on %s", where);
		if (got_buf.len && c->out.kind == FK_ICMPERR && !icmp_sums_ok(&got_buf))
			why("an ICMP answer arrived whose checksums do not verify: the VM drops it");
		if (got_buf.len) {
			detail("    last frame seen there%s%s:\n", trunc ? " (truncated)" : "",
			       completed ? ", with the checksum its virtio-net header asks for completed" : "");
			hexdiff(&want_buf, &got_buf);
		}
	}
	if (seen) {
		uint16_t gso = le16toh(gv.gso_size), cs = le16toh(gv.csum_start), co = le16toh(gv.csum_offset);

		detail("    virtio-net header of the result: flags %u gso_type %u gso_size %u csum_start %u "
		       "csum_offset %u\n", gv.flags, gv.gso_type, gso, cs, co);
		if (vlan >= 0)
			why("the result carries VLAN tag %d outside the frame", vlan & 0xfff);
		uint8_t want_type = c->in.ip.proto == IPPROTO_UDP_ ? VIRTIO_NET_HDR_GSO_UDP_L4 : VIRTIO_NET_HDR_GSO_TCPV4;

		if (c->out_gso && (gv.gso_type != want_type || gso != c->out_gso))
			why("the result is not a %s GSO packet of size %u (gso_type %u, gso_size %u)",
			    want_type == VIRTIO_NET_HDR_GSO_TCPV4 ? "TCP" : "UDP", c->out_gso, gv.gso_type, gso);
		if (!c->out_gso && gv.gso_type != VIRTIO_NET_HDR_GSO_NONE)
			why("the result is a GSO packet (gso_type %u, gso_size %u)", gv.gso_type, gso);
		if (want_csum_start && (!(gv.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || cs != want_csum_start || co != field))
			why("the offloaded checksum is not marked for completion at its L4 header (csum_start %zu, "
			    "offset %zu): flags %u, csum_start %u, csum_offset %u", want_csum_start, field, gv.flags,
			    cs, co);
		if (completed)
			detail("    (the expected frame once the checksum its header asks for is completed)\n");
	}
	/* Counters move once the program has run; a dropped frame may still be queued: wait for its reason. */
	for (int i = 0; i < 20; i++) {
		if (counters_get(&after)) {
			why("reading counters: %s", vr_strerror());
			goto out;
		}
		if (!c->drop || after.drops[c->drop] != before.drops[c->drop] || got_buf.len ||
		    other_drop_moved(&before, &after, c->drop))
			break;
		usleep(10000);
	}
	/* The stack holds a VLAN tag outside the frame before TC runs: skb->len, which the vif counts, lacks it. */
	check_counters(&before, &after, &tc, in_buf.len - (c->in.vlan ? 4 : 0), want_frame && c->tx ? want_buf.len : 0);
out:
	if (fd >= 0)
		close(fd);
	if (c->plain_reader && ioctl(tap_fd[VM5], TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6))
		why("restoring the tap's offloads: %s", strerror(errno));
	tend(c->name, c->desc);
}

/* ---------------------------------------------------------------------------------------------------- */
/* Setup and teardown                                                                                    */

/* Tap dev, as a hypervisor opens it for a VM with a virtio-net NIC: a virtio-net header on every frame, and
 * offloads on (the VM's stack may send checksum-offloaded and TSO frames; the kernel may hand us the same).
 * Non-blocking; the device lives while tap_fd[dev] is open. */
static int tap_create(int d)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return setup_fail("opening /dev/net/tun: %s", strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", devs[d].name);
	if (ioctl(fd, TUNSETIFF, &ifr) || ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)) {
		int err = errno;

		close(fd);
		return setup_fail("creating tap %s: %s", devs[d].name, strerror(err));
	}
	tap_fd[d] = fd;
	return 0;
}

static int setup_devices(void)
{
	/* No IPv6 on the new devices: no router solicitations or MLD reports in the live captures. */
	if (write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1") ||
	    write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1"))
		setup_err[0] = '\0'; /* no IPv6 in this kernel: nothing to silence */
	if (write_file("/proc/sys/net/ipv4/ip_forward", "1"))
		return -1;
	if (sh("ip link set lo up"))
		return -1;
	for (int d = 0; d < NDEV; d++) {
		const struct dev *v = &devs[d];
		char mac[18], pmac[18], path[128];

		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", v->mac[0], v->mac[1], v->mac[2], v->mac[3],
			 v->mac[4], v->mac[5]);
		snprintf(pmac, sizeof(pmac), "%02x:%02x:%02x:%02x:%02x:%02x", v->peer_mac[0], v->peer_mac[1],
			 v->peer_mac[2], v->peer_mac[3], v->peer_mac[4], v->peer_mac[5]);
		if (!v->peer) {
			if (tap_create(d) || sh("ip link set %s address %s up", v->name, mac))
				return -1;
			ifindex[d] = (int)if_nametoindex(v->name);
			if (!ifindex[d])
				return setup_fail("%s has no ifindex", v->name);
			continue;
		}
		if (sh("ip link add %s address %s type veth peer name %s address %s", v->name, mac, v->peer, pmac) ||
		    sh("ip link set %s up", v->name) || sh("ip link set %s up", v->peer) ||
		    /* XDP_REDIRECT into a veth delivers only when the peer runs NAPI (PITFALLS.md). */
		    sh("ethtool -K %s gro on", v->peer))
			return -1;
		/* The peers stand for VMs and the remote host, not routers: what the live tests deliver to them
		 * must not be routed back (the encapsulated frame would loop between fab0p and fab0). */
		snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/forwarding", v->peer);
		if (write_file(path, "0"))
			return -1;
		ifindex[d] = (int)if_nametoindex(v->name);
		peer_ifindex[d] = (int)if_nametoindex(v->peer);
		if (!ifindex[d] || !peer_ifindex[d])
			return setup_fail("%s or %s has no ifindex", v->name, v->peer);
	}
	if (sh("ip addr add 192.0.2.1/24 dev fab0") ||
	    sh("ip neigh replace 192.0.2.2 lladdr 02:00:00:00:00:02 dev fab0 nud permanent"))
		return -1;
	/* The gateway's external side: the border router, and the outside behind it. */
	if (sh("ip addr add 198.18.200.1/24 dev ext0") ||
	    sh("ip neigh replace 198.18.200.2 lladdr 02:00:00:00:e0:02 dev ext0 nud permanent") ||
	    sh("ip route add 203.0.113.0/24 via 198.18.200.2 dev ext0"))
		return -1;
	return 0;
}

static int setup_vrouter(void)
{
	struct vr_load_opts lo = { .fabric = devs[FAB].name, .host_ip = htonl(HOST_IP) };
	char path[512];
	int err;

	err = vr_load(pin_dir, &lo);
	if (err)
		return setup_fail("vr_load: %s", vr_strerror());
	loaded = true;
	err = vr_open(pin_dir, &h);
	if (err)
		return setup_fail("vr_open: %s", vr_strerror());
	opened = true;
	if (vr_config_get(&h, &cfg))
		return setup_fail("vr_config_get: %s", vr_strerror());
	if (vr_vrf_add(&h, 1, 0) || vr_vrf_add(&h, 2, VRF2_LABEL) || vr_vrf_add(&h, 3, VRF3_LABEL) ||
	    vr_vrf_add(&h, 4, VRF4_LABEL))
		return setup_fail("vr_vrf_add: %s", vr_strerror());
	for (int d = 0; d < NDEV; d++) {
		struct vr_vif_spec s = {
			.ifname = devs[d].name, .vrf_id = devs[d].vrf, .ip = htonl(devs[d].ip), .gw_ip = htonl(devs[d].gw),
			.xdp = !devs[d].tc,
		};

		if (!IS_VIF(d))
			continue;
		memcpy(s.mac, devs[d].peer_mac, 6);
		addr6(s.ip6.s6_addr, NULL, devs[d].ip, v6_unspec);
		addr6(s.gw6.s6_addr, NULL, devs[d].gw, v6_unspec);
		if (vr_vif_add(&h, &s, &vifs[d]))
			return setup_fail("vr_vif_add %s: %s", devs[d].name, vr_strerror());
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *r = &routes[i];
		struct vr_nh_spec nh = {
			.type = r->type, .ifname = r->type == VR_NH_ENCAP ? devs[r->dev].name : NULL,
			.remote_ip = htonl(r->remote), .label = r->label, .encap = r->encap,
		};

		if (r->v6) {
			struct in6_addr a;

			/* fd00::<prefix>/(96 + plen); prefix 0 with plen 0 is ::/0 */
			__u32 plen6 = r->prefix || r->plen ? 96 + r->plen : 0;

			addr6(a.s6_addr, NULL, r->prefix, v6_unspec);
			if (vr_route6_add(&h, r->vrf, &a, plen6, &nh))
				return setup_fail("vr_route6_add fd00::%s/%u in VRF %u: %s", ip_str(r->prefix),
						  plen6, r->vrf, vr_strerror());
		} else if (vr_route_add(&h, r->vrf, htonl(r->prefix), r->plen, &nh))
			return setup_fail("vr_route_add %s/%u in VRF %u: %s", ip_str(r->prefix), r->plen, r->vrf,
					  vr_strerror());
	}
	{
		struct vr_gateway_spec gw = { .ext_ifname = devs[EXT].name };

		if (vr_gateway_set(&h, &gw) || vr_snat_set(&h, 3, htonl(SNAT3_IP), SNAT_PORT, SNAT_PORT) ||
		    vr_fip_add(&h, htonl(FIP3_IP), 3, htonl(T3_FIP_VM_IP)))
			return setup_fail("gateway set-up: %s", vr_strerror());
	}
	snprintf(path, sizeof(path), "%s/prog_vr_ext_xdp", pin_dir);
	ext_prog = bpf_obj_get(path);
	if (ext_prog < 0)
		return setup_fail("bpf_obj_get %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/prog_vr_vif_xdp", pin_dir);
	vif_prog = bpf_obj_get(path);
	if (vif_prog < 0)
		return setup_fail("bpf_obj_get %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/prog_vr_fabric_xdp", pin_dir);
	fabric_prog = bpf_obj_get(path);
	if (fabric_prog < 0)
		return setup_fail("bpf_obj_get %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/prog_vr_vif_tc", pin_dir);
	vif_tc_prog = bpf_obj_get(path);
	if (vif_tc_prog < 0)
		return setup_fail("bpf_obj_get %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/prog_vr_fabric_tc", pin_dir);
	fabric_tc_prog = bpf_obj_get(path);
	if (fabric_tc_prog < 0)
		return setup_fail("bpf_obj_get %s: %s", path, strerror(errno));
	return 0;
}

static void teardown(void)
{
	if (vif_prog >= 0)
		close(vif_prog);
	if (fabric_prog >= 0)
		close(fabric_prog);
	if (vif_tc_prog >= 0)
		close(vif_tc_prog);
	if (fabric_tc_prog >= 0)
		close(fabric_tc_prog);
	if (opened)
		vr_close(&h);
	if (loaded && vr_unload(pin_dir))
		fprintf(stderr, "# vr_unload: %s\n", vr_strerror());
	/* The devices and the mounts go with the namespaces when we exit; tidy up anyway. */
	for (int d = 0; d < NDEV; d++) {
		if (tap_fd[d] >= 0)
			close(tap_fd[d]);
		else if (ifindex[d])
			sh("ip link del %s", devs[d].name);
	}
	if (bpffs_mounted)
		umount2(bpffs_dir, MNT_DETACH);
	if (bpffs_tmp)
		rmdir(bpffs_dir);
}

/* ---------------------------------------------------------------------------------------------------- */
/* Per-packet cost (--cost): BPF_PROG_TEST_RUN timings of each path against an XDP_PASS program          */

/* The programs rewrite their buffer, and repeat would rerun them on their own output (an encap would
 * encapsulate again): each sample is one run (repeat = 1) on a fresh copy, timed by the kernel around the
 * program alone; the median of many samples is the figure, and XDP_PASS measured the same way is the floor. */
static int cost_cmp(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* Move the route generation: every route-cache slot goes stale (cost_miss: each sample a cache miss). */
static bool cost_miss;
/* --cost also writes its figures as JSON here ($VR_COST_JSON), for make bench. */
static FILE *cost_json;

static void cost_gen_bump(void)
{
	__u32 zero = 0, gen = 0;

	bpf_map_lookup_elem(h.route_gen_fd, &zero, &gen);
	gen = gen + 1 ? gen + 1 : 1;
	bpf_map_update_elem(h.route_gen_fd, &zero, &gen, BPF_ANY);
}

static long cost_median(int prog, int ifx, const struct frame *fr, __u32 want, int n)
{
	struct xdp_md ctx = { .ingress_ifindex = (__u32)ifx };
	__u32 *samples = calloc((size_t)n, sizeof(*samples));
	struct layout lo;
	long median = -1;
	int i;

	if (!samples)
		return -1;
	build(&in_buf, fr, &lo);
	ctx.data_end = (__u32)in_buf.len;
	for (i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in_buf.b, .data_size_in = (__u32)in_buf.len,
			    .data_out = got_buf.b, .data_size_out = sizeof(got_buf.b), .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = 1);

		if (cost_miss)
			cost_gen_bump();
		if (bpf_prog_test_run_opts(prog, &o) || o.retval != want)
			break;
		samples[i] = o.duration;
	}
	if (i == n) {
		qsort(samples, (size_t)n, sizeof(*samples), cost_cmp);
		median = samples[n / 2];
	}
	free(samples);
	return median;
}

static int cost_pass_prog(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_XDP, "vr_xdp_pass", "GPL", insns, 2, NULL);
}

/* Lookup + encap with 10, 10k and 1M host routes in the VRF: answered by the route cache (the same destination
 * again), through the exact-match front on every packet (the route generation moved before each run, so the
 * cache misses), and the same routes moved into the VRF's LPM trie alone (written there directly, for
 * comparison only; cache missing too). The measured destination is one of the routes. */
#define COST_NET IP4(10, 128, 0, 0)

static int cost_move(int from, int to, bool to_trie, __u32 n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	size_t ksz = sizeof(struct vr_host4_key);
	char *fk = calloc(n, ksz), *tk = calloc(n, ksz);
	__u32 *v = calloc(n, sizeof(*v)), cnt = n;
	int err = -1;

	if (!fk || !tk || !v)
		goto out;
	for (__u32 i = 0; i < n; i++) {
		struct vr_host4_key hk = { .vrf_id = 1, .addr = htonl(COST_NET + i) };
		struct vr_route4_key tkey = { .prefixlen = 32, .addr = htonl(COST_NET + i) };

		memcpy(fk + i * ksz, to_trie ? (void *)&hk : (void *)&tkey, ksz);
		memcpy(tk + i * ksz, to_trie ? (void *)&tkey : (void *)&hk, ksz);
		if (bpf_map_lookup_elem(from, fk + i * ksz, &v[i]))
			goto out;
	}
	if (bpf_map_update_batch(to, tk, v, &cnt, &o))
		goto out;
	cnt = n;
	err = bpf_map_delete_batch(from, fk, &cnt, &o);
out:
	free(fk);
	free(tk);
	free(v);
	return err;
}

static int cost_tables(int samples, long base)
{
	static const __u32 sizes[] = { 10, 10000, 1000000 };
	struct vr_route_req *reqs = calloc(1000000, sizeof(*reqs));
	__u32 have = 0, map_id, vrf = 1;
	int trie = -1, rc = 0;

	if (!reqs || bpf_map_lookup_elem(h.vrf4_fd, &vrf, &map_id) || (trie = bpf_map_get_fd_by_id(map_id)) < 0) {
		printf("cost: cannot reach VRF 1's tables\n");
		free(reqs);
		return 1;
	}
	printf("\n%-34s %8s %8s %10s %10s\n", "encap, routes in VRF 1 (all /32)", "cached", "front", "trie only",
	       "front-PASS");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]) && !rc; s++) {
		__u32 n = sizes[s], dst = COST_NET + n / 2;
		struct frame fr = IPFR(M_VR, M_VM1, UDPF(VM1_IP, dst));
		long cached, front, lpm;
		char name[64];

		for (__u32 i = have; i < n; i++)
			reqs[i - have] = (struct vr_route_req){ .vrf_id = 1, .prefix = htonl(COST_NET + i), .plen = 32,
				.nh = { .type = VR_NH_TUNNEL, .remote_ip = htonl(NBR_IP), .label = 16 + i % 65536 } };
		if (vr_route_add_batch(&h, reqs, n - have)) {
			printf("cost: adding %u routes failed: %s\n", n - have, vr_strerror());
			rc = 1;
			break;
		}
		have = n;
		/* The route cache answers (the same destination every time), then the tables on every packet. */
		cached = cost_median(vif_prog, ifindex[VM1], &fr, XDP_REDIRECT, samples);
		cost_miss = true;
		front = cost_median(vif_prog, ifindex[VM1], &fr, XDP_REDIRECT, samples);
		if (cost_move(h.host4_fd, trie, true, n)) {
			printf("cost: moving %u routes into the trie failed: %s\n", n, strerror(errno));
			rc = 1;
			break;
		}
		lpm = cost_median(vif_prog, ifindex[VM1], &fr, XDP_REDIRECT, samples);
		if (cost_move(trie, h.host4_fd, false, n)) {
			printf("cost: moving %u routes back failed: %s\n", n, strerror(errno));
			rc = 1;
			break;
		}
		cost_miss = false;
		cost_gen_bump();
		snprintf(name, sizeof(name), "%u routes", n);
		printf("%-34s %8ld %8ld %10ld %+10ld\n", name, cached, front, lpm, front - base);
		if (cost_json)
			fprintf(cost_json, "%s\n  {\"table\": %u, \"cached_ns\": %ld, \"front_ns\": %ld, \"trie_ns\": %ld}",
				s ? "," : "", n, cached, front, lpm);
		if (cached < 0 || front < 0 || lpm < 0)
			rc = 1;
	}
	close(trie);
	free(reqs);
	return rc;
}

static int run_cost(int samples)
{
	const struct {
		const char *name;
		int dev;
		struct frame fr;
		__u32 verdict;
	} paths[] = {
		{ "vif local VM->VM (ENCAP nexthop)", VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP)), XDP_REDIRECT },
		{ "vif encap MPLS-in-UDP (TUNNEL nexthop)", VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, REMOTE_IP)), XDP_REDIRECT },
		{ "vif encap MPLS-over-GRE (TUNNEL, GRE)", VM1, IPFR(M_VR, M_VM1, UDPF(VM1_IP, GRE_IP)), XDP_REDIRECT },
		{ "fabric decap to a vif label", FAB, FROM_NBR(LBL(VM1), UDPF(REMOTE_IP, VM1_IP)), XDP_REDIRECT },
		{ "fabric decap MPLS-over-GRE, vif label", FAB, FROM_NBR_GRE(LBL(VM1), UDPF(REMOTE_IP, VM1_IP)),
		  XDP_REDIRECT },
		{ "fabric decap via a VRF label", FAB, FROM_NBR(VRF2_LABEL, UDPF(REMOTE_IP, VM3_IP)), XDP_REDIRECT },
		{ "vif ARP reply for the gateway", VM1, ARP_ASK(M_VM1, VM1_IP, GW1), XDP_REDIRECT },
		{ "fabric pass-through (host traffic)", FAB, IPFR(M_FAB, M_NBR, TCPF(NBR_IP, HOST_IP)), XDP_PASS },
	};
	struct frame pass_fr = IPFR(M_VR, M_VM1, UDPF(VM1_IP, VM2_IP));
	int pass = cost_pass_prog(), rc = 0;
	long base;

	if (pass < 0) {
		printf("cost: loading an XDP_PASS program failed: %s\n", strerror(errno));
		return 1;
	}
	base = cost_median(pass, ifindex[VM1], &pass_fr, XDP_PASS, samples);
	printf("%-42s %8s %10s\n", "path (BPF_PROG_TEST_RUN, 64-byte-class frames)", "ns/pkt", "over PASS");
	printf("%-42s %8ld %10s\n", "XDP_PASS program (floor)", base, "-");
	if (getenv("VR_COST_JSON") && (cost_json = fopen(getenv("VR_COST_JSON"), "w")))
		fprintf(cost_json, "{\"samples\": %d, \"rows\": [\n  {\"path\": \"XDP_PASS program (floor)\", \"ns\": %ld}",
			samples, base);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		long ns = cost_median(prog_for(paths[i].dev), ifindex[paths[i].dev], &paths[i].fr, paths[i].verdict,
				      samples);

		if (ns < 0) {
			printf("%-42s   failed (unexpected verdict or test run error)\n", paths[i].name);
			rc = 1;
			continue;
		}
		printf("%-42s %8ld %+10ld\n", paths[i].name, ns, ns - base);
		if (cost_json)
			fprintf(cost_json, ",\n  {\"path\": \"%s\", \"ns\": %ld}", paths[i].name, ns);
	}
	if (cost_json)
		fprintf(cost_json, "],\n \"tables\": [");
	rc |= cost_tables(samples < 20000 ? samples : 20000, base);
	if (cost_json) {
		fprintf(cost_json, "]}\n");
		fclose(cost_json);
	}
	close(pass);
	printf("(median of %d single runs each; kernel.bpf_stats_enabled must be 0)\n", samples);
	return rc;
}

int main(int argc, char **argv)
{
	bool cost = argc > 1 && !strcmp(argv[1], "--cost");

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("skip test_datapath: needs root (namespaces, bpffs, XDP)\n");
		printf("0 passed, 0 failed, 1 skipped\n");
		return 0;
	}
	vr_set_verbosity(0);
	if (setup_isolation("/tmp/vr-test-bpffs.XXXXXX", "vrouter-test") || setup_devices() || setup_vrouter()) {
		printf("FAIL setup: %s\n", setup_err);
		n_fail++;
		teardown();
		printf("%d passed, %d failed\n", n_pass, n_fail);
		return 1;
	}

	if (cost) {
		int rc = run_cost(argc > 2 ? atoi(argv[2]) : 200000);

		teardown();
		return rc;
	}
	pcap_open();
	test_config();
	test_vifs();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	test_csum_sweep();
	test_sport_spread();
	test_sport_fragments();
	test_route_cache();
	test_endpoints();
	test_gateway_icmp_errors();
	test_ecmp();
	test_vrf_isolation_property();
	test_neigh_event();
	for (size_t i = 0; i < sizeof(live_cases) / sizeof(live_cases[0]); i++)
		run_live(&live_cases[i]);
	test_live_receive();
	for (size_t i = 0; i < sizeof(tap_cases) / sizeof(tap_cases[0]); i++)
		run_tap(&tap_cases[i]);

	teardown();
	if (pcap)
		fclose(pcap);
	if (n_skip)
		printf("%d passed, %d failed, %d skipped\n", n_pass, n_fail, n_skip);
	else
		printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
