/* libFuzzer target: the vrouter-agent port API request parser (vr_port_api_request() of agent/port_api.c) and
 * the port table behind it (agent/ports.c), over a datapath faked in memory.
 *
 * Input: the bytes a hypervisor writes to the socket. They are cut into lines at '\n' and each line that is not
 * blank is handed to vr_port_api_request() as the agent's client loop does, all against one port table (a
 * session: adds, deletes and lists see each other). The real ports.c runs; libvrouter's calls land in the fake
 * below, which keeps vifs, routes, VRFs and labels and refuses what the real one would (and, to reach the undo
 * paths, fails on purpose: vrf 12 cannot be created, vifs in vrf 16 cannot be added, in vrf 15 not deleted,
 * routes to x.x.x.254 in vrf 14 not added, to x.x.x.253 in vrf 13 not deleted; the same for IPv6 addresses
 * ending in ::254 and ::253). Device names starting with 'x' do not exist. The label range is 16..47, so running out of labels is reachable.
 *
 * After every request:
 *  - the reply is whole lines (ok / error / port ... end), NUL-terminated, without control characters, one line
 *    for add and del, and agrees with what happened: "ok vif=N label=L" added exactly that port, "ok" removed
 *    one, an error changed nothing, list shows the table;
 *  - the table keeps its invariants (unique valid names, 1..8 distinct non-zero addresses, 0..8 distinct valid
 *    IPv6 addresses and a gateway only beside them, labels in the range and distinct, vif ids ascending, valid vn
 *    names) and equals the fake datapath: a vif per port with the same id, label, VRF, addresses (IPv4 and the
 *    first IPv6), gateways and MTU, a /32 per address and a /128 per IPv6 address, nothing else left behind; the datapath handle is
 *    released; the change callback ran once per change, and an add claimed its addresses (on_claim) before
 *    their routes went in and gave them back when it failed.
 * A broken promise aborts, which libFuzzer reports as a crash with the input saved. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>

#include "libvrouter.h"
#include "datapath.h"
#include "log.h"
#include "port_api.h"

#define LABEL_FIRST 16
#define LABEL_LAST 47
#define FAKE_VIFS 64
#define FAKE_ROUTES (FAKE_VIFS * VR_PORT_IPS_MAX)
#define FAKE_ROUTES6 (FAKE_VIFS * VR_PORT_IP6S_MAX)

#define VRF_NO_CREATE 12
#define VRF_ROUTE_DEL_FAILS 13	/* for addresses ending in .253 */
#define VRF_ROUTE_ADD_FAILS 14	/* for addresses ending in .254 */
#define VRF_VIF_DEL_FAILS 15
#define VRF_VIF_ADD_FAILS 16

#define FUZZ_NAME "fuzz_port_api"
#include "fuzz.h"

static bool verbose;

/* ---- the agent's log: formatted (the arguments are checked by ASan) and dropped ---- */

void vr_log(enum vr_agent_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (verbose)
		fprintf(stderr, "log %d: %s\n", level, line);
}

/* ---- devices: every name exists but those starting with 'x' ---- */

unsigned int if_nametoindex(const char *name)
{
	uint32_t h = 2166136261u;

	if (!name || !*name || name[0] == 'x' || strlen(name) >= IFNAMSIZ) {
		errno = ENODEV;
		return 0;
	}
	for (const char *c = name; *c; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	return 1000 + h % 1000000;
}

/* ---- the fake datapath ---- */

struct fake_vif {
	bool used;
	char name[IFNAMSIZ];
	struct vr_vif vif;
};

struct fake_route {
	__u32 vrf_id;
	__be32 ip;
	char ifname[IFNAMSIZ];
};

struct fake_route6 {
	__u32 vrf_id;
	struct in6_addr ip;
	char ifname[IFNAMSIZ];
};

static struct {
	struct fake_vif vifs[FAKE_VIFS];	/* vif id = index + 1 */
	struct fake_route routes[FAKE_ROUTES];
	unsigned int n_routes;
	struct fake_route6 routes6[FAKE_ROUTES6];
	unsigned int n_routes6;
	bool vrfs[VR_MAX_VRFS];
	int refs;				/* vr_dp_get without vr_dp_put */
	unsigned int adds, dels;		/* on_change calls */
	bool claimed;				/* on_claim(true) not yet followed by the add's outcome */
	__u32 claim_vrf;
	__be32 claim_ips[VR_PORT_IPS_MAX];
	unsigned int claim_n;
	struct in6_addr claim_ip6s[VR_PORT_IP6S_MAX];
	unsigned int claim_n6;
} dp;

static struct vr_handle handle;
static char errbuf[256];

static int dp_fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int dp_fail(int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return rc;
}

static void dp_check_handle(const struct vr_handle *h)
{
	CHECK(h == &handle && dp.refs > 0, "a datapath call without the agent's handle");
}

static struct fake_vif *dp_vif(const char *name)
{
	for (unsigned int i = 0; i < FAKE_VIFS; i++)
		if (dp.vifs[i].used && !strcmp(dp.vifs[i].name, name))
			return &dp.vifs[i];
	return NULL;
}

static int dp_route(__u32 vrf_id, __be32 ip)
{
	for (unsigned int i = 0; i < dp.n_routes; i++)
		if (dp.routes[i].vrf_id == vrf_id && dp.routes[i].ip == ip)
			return (int)i;
	return -1;
}

static int dp_route6(__u32 vrf_id, const struct in6_addr *ip)
{
	for (unsigned int i = 0; i < dp.n_routes6; i++)
		if (dp.routes6[i].vrf_id == vrf_id && !memcmp(&dp.routes6[i].ip, ip, sizeof(*ip)))
			return (int)i;
	return -1;
}

const char *vr_strerror(void)
{
	return errbuf;
}

int vr_dp_get(struct vr_handle **h)
{
	dp.refs++;
	*h = &handle;
	return 0;
}

void vr_dp_put(void)
{
	CHECK(dp.refs > 0, "vr_dp_put without vr_dp_get");
	dp.refs--;
}

int vr_open(const char *pin_dir, struct vr_handle *h)
{
	(void)pin_dir, (void)h;
	die("vr_open: the port API does not adopt");
}

void vr_close(struct vr_handle *h)
{
	(void)h;
	die("vr_close: the port API does not adopt");
}

int vr_vif_foreach(struct vr_handle *h, vr_vif_cb cb, void *arg)
{
	(void)h, (void)cb, (void)arg;
	die("vr_vif_foreach: the port API does not adopt");
}

int vr_vrf_add(struct vr_handle *h, __u32 vrf_id, __u32 label)
{
	dp_check_handle(h);
	CHECK(vrf_id < VR_MAX_VRFS && label == 0, "vr_vrf_add(%u, %u)", vrf_id, label);
	if (vrf_id == VRF_NO_CREATE)
		return dp_fail(-ENOMEM, "cannot create vrf %u (injected)", vrf_id);
	if (dp.vrfs[vrf_id])
		return dp_fail(-EEXIST, "vrf %u exists", vrf_id);
	dp.vrfs[vrf_id] = true;
	return 0;
}

int vr_label_foreach(struct vr_handle *h, vr_label_cb cb, void *arg)
{
	struct vr_nexthop nh;

	dp_check_handle(h);
	memset(&nh, 0, sizeof(nh));
	for (unsigned int i = 0; i < FAKE_VIFS; i++) {
		int rc;

		if (!dp.vifs[i].used || !dp.vifs[i].vif.label)
			continue;
		rc = cb(dp.vifs[i].vif.label, dp.vifs[i].vif.nh_id, &nh, arg);
		if (rc)
			return rc;
	}
	return 0;
}

int vr_vif_add(struct vr_handle *h, const struct vr_vif_spec *spec, struct vr_vif *out)
{
	struct fake_vif *v = NULL;

	dp_check_handle(h);
	CHECK(spec->ifname && *spec->ifname && strlen(spec->ifname) < IFNAMSIZ, "vif add: bad name");
	CHECK(spec->vrf_id < VR_MAX_VRFS && dp.vrfs[spec->vrf_id], "vif add in vrf %u that was not created",
	      spec->vrf_id);
	CHECK(spec->ip, "vif add without an address");
	CHECK(!(spec->mac[0] & 1), "vif add with a multicast MAC");
	CHECK(spec->mtu == 0 || spec->mtu >= 68, "vif add with MTU %u", spec->mtu);
	CHECK(spec->label >= LABEL_FIRST && spec->label <= LABEL_LAST, "vif add with label %u outside the range",
	      spec->label);
	for (unsigned int i = 0; i < FAKE_VIFS; i++)
		CHECK(!dp.vifs[i].used || dp.vifs[i].vif.label != spec->label, "label %u handed out twice", spec->label);
	if (dp_vif(spec->ifname))
		return dp_fail(-EEXIST, "%s is a vif already", spec->ifname);
	if (spec->vrf_id == VRF_VIF_ADD_FAILS)
		return dp_fail(-ENOSPC, "no room for a vif (injected)");
	for (unsigned int i = 0; i < FAKE_VIFS && !v; i++)
		if (!dp.vifs[i].used)
			v = &dp.vifs[i];
	if (!v)
		return dp_fail(-ENOSPC, "no free vif id");
	memset(v, 0, sizeof(*v));
	v->used = true;
	snprintf(v->name, sizeof(v->name), "%s", spec->ifname);
	v->vif.vif_id = (__u32)(v - dp.vifs) + 1;
	v->vif.vrf_id = spec->vrf_id;
	v->vif.ifindex = if_nametoindex(spec->ifname);
	v->vif.flags = spec->xdp ? 0 : VR_VIF_F_TC;
	v->vif.ip = spec->ip;
	v->vif.gw_ip = spec->gw_ip;
	memcpy(v->vif.ip6, &spec->ip6, sizeof(v->vif.ip6));
	memcpy(v->vif.gw6, &spec->gw6, sizeof(v->vif.gw6));
	memcpy(v->vif.mac, spec->mac, 6);
	v->vif.mtu = spec->mtu ? spec->mtu : 1500;
	v->vif.nh_id = v->vif.vif_id;
	v->vif.label = spec->label;
	*out = v->vif;
	return 0;
}

int vr_vif_del(struct vr_handle *h, const char *ifname)
{
	struct fake_vif *v;

	dp_check_handle(h);
	v = dp_vif(ifname);
	if (!v)
		return dp_fail(-ENOENT, "no vif %s", ifname);
	if (v->vif.vrf_id == VRF_VIF_DEL_FAILS)
		return dp_fail(-EBUSY, "vif %s is busy (injected)", ifname);
	for (unsigned int i = 0; i < dp.n_routes; i++)
		CHECK(strcmp(dp.routes[i].ifname, ifname), "vif %s deleted while a route points at it", ifname);
	for (unsigned int i = 0; i < dp.n_routes6; i++)
		CHECK(strcmp(dp.routes6[i].ifname, ifname), "vif %s deleted while an IPv6 route points at it", ifname);
	memset(v, 0, sizeof(*v));
	return 0;
}

static unsigned int last_octet(__be32 ip)
{
	return ntohl(ip) & 0xff;
}

int vr_route_add(struct vr_handle *h, __u32 vrf_id, __be32 prefix, __u32 plen, const struct vr_nh_spec *nh)
{
	struct fake_route *r;
	struct fake_vif *v;

	dp_check_handle(h);
	CHECK(plen == 32 && prefix, "route add %#x/%u", ntohl(prefix), plen);
	CHECK(nh && nh->type == VR_NH_ENCAP && nh->ifname, "route add: not a vif nexthop");
	v = dp_vif(nh->ifname);
	CHECK(v && v->vif.vrf_id == vrf_id, "route add in vrf %u to %s, which is no vif of that vrf", vrf_id,
	      nh->ifname);
	if (dp_route(vrf_id, prefix) >= 0)
		return dp_fail(-EEXIST, "route exists");
	if (vrf_id == VRF_ROUTE_ADD_FAILS && last_octet(prefix) == 254)
		return dp_fail(-ENOSPC, "route table full (injected)");
	CHECK(dp.n_routes < FAKE_ROUTES, "more routes than ports can have");
	r = &dp.routes[dp.n_routes++];
	r->vrf_id = vrf_id;
	r->ip = prefix;
	snprintf(r->ifname, sizeof(r->ifname), "%s", nh->ifname);
	return 0;
}

int vr_route_del(struct vr_handle *h, __u32 vrf_id, __be32 prefix, __u32 plen)
{
	int i;

	dp_check_handle(h);
	CHECK(plen == 32, "route del /%u", plen);
	i = dp_route(vrf_id, prefix);
	if (i < 0)
		return dp_fail(-ENOENT, "no route");
	if (vrf_id == VRF_ROUTE_DEL_FAILS && last_octet(prefix) == 253)
		return dp_fail(-EIO, "route delete failed (injected)");
	dp.routes[i] = dp.routes[--dp.n_routes];
	return 0;
}

int vr_route6_add(struct vr_handle *h, __u32 vrf_id, const struct in6_addr *prefix, __u32 plen,
		  const struct vr_nh_spec *nh)
{
	struct fake_route6 *r;
	struct fake_vif *v;

	dp_check_handle(h);
	CHECK(plen == 128 && vr_port_ip6_valid(prefix), "route6 add /%u of an address no port may have", plen);
	CHECK(nh && nh->type == VR_NH_ENCAP && nh->ifname, "route6 add: not a vif nexthop");
	v = dp_vif(nh->ifname);
	CHECK(v && v->vif.vrf_id == vrf_id, "route6 add in vrf %u to %s, which is no vif of that vrf", vrf_id,
	      nh->ifname);
	if (dp_route6(vrf_id, prefix) >= 0)
		return dp_fail(-EEXIST, "route exists");
	if (vrf_id == VRF_ROUTE_ADD_FAILS && prefix->s6_addr[15] == 0x54 && prefix->s6_addr[14] == 0x02)
		return dp_fail(-ENOSPC, "IPv6 route table full (injected)");
	CHECK(dp.n_routes6 < FAKE_ROUTES6, "more IPv6 routes than ports can have");
	r = &dp.routes6[dp.n_routes6++];
	r->vrf_id = vrf_id;
	r->ip = *prefix;
	snprintf(r->ifname, sizeof(r->ifname), "%s", nh->ifname);
	return 0;
}

int vr_route6_del(struct vr_handle *h, __u32 vrf_id, const struct in6_addr *prefix, __u32 plen)
{
	int i;

	dp_check_handle(h);
	CHECK(plen == 128, "route6 del /%u", plen);
	i = dp_route6(vrf_id, prefix);
	if (i < 0)
		return dp_fail(-ENOENT, "no route");
	if (vrf_id == VRF_ROUTE_DEL_FAILS && prefix->s6_addr[15] == 0x53 && prefix->s6_addr[14] == 0x02)
		return dp_fail(-EIO, "IPv6 route delete failed (injected)");
	dp.routes6[i] = dp.routes6[--dp.n_routes6];
	return 0;
}

/* ---- checks ---- */

static struct vr_ports ports;
static struct vr_port before[FAKE_VIFS + 1];
static size_t n_before;

static bool name_ok(const char *s)
{
	size_t n = strnlen(s, IFNAMSIZ);

	return n >= 1 && n < IFNAMSIZ && !strchr(s, '/') && !strchr(s, ':') && strcmp(s, ".") && strcmp(s, "..");
}

static void on_change(void *arg, const struct vr_port *port, bool added)
{
	const struct vr_port *p = vr_ports_find(&ports, port->name);

	(void)arg;
	CHECK(dp.refs == 0 || added, "on_change while the datapath handle is held");
	if (added) {
		dp.adds++;
		CHECK(p && !memcmp(p, port, sizeof(*p)), "on_change(added) for %s, which is not in the table as told",
		      port->name);
	} else {
		dp.dels++;
		CHECK(!p, "on_change(deleted) for %s, still in the table", port->name);
	}
}

/* A new port's addresses are claimed before its routes go in, and given back if the add then fails. */
static void on_claim(void *arg, __u32 vrf_id, const __be32 *ips, unsigned int n, const struct in6_addr *ip6s,
		     unsigned int n6, bool claim)
{
	(void)arg;
	CHECK(dp.refs > 0, "on_claim without the datapath handle");
	CHECK(n >= 1 && n <= VR_PORT_IPS_MAX && ips, "on_claim of %u addresses", n);
	CHECK(n6 <= VR_PORT_IP6S_MAX && (!n6 || ip6s), "on_claim of %u IPv6 addresses", n6);
	for (unsigned int a = 0; a < n; a++) {
		CHECK(ips[a], "on_claim of address 0");
		for (unsigned int b = 0; b < a; b++)
			CHECK(ips[a] != ips[b], "on_claim of an address twice");
	}
	for (unsigned int a = 0; a < n6; a++) {
		CHECK(vr_port_ip6_valid(&ip6s[a]), "on_claim of an IPv6 address no port may have");
		for (unsigned int b = 0; b < a; b++)
			CHECK(memcmp(&ip6s[a], &ip6s[b], sizeof(ip6s[a])), "on_claim of an IPv6 address twice");
	}
	if (claim) {
		CHECK(!dp.claimed, "two claims in one request");
		dp.claimed = true;
		dp.claim_vrf = vrf_id;
		dp.claim_n = n;
		memcpy(dp.claim_ips, ips, n * sizeof(ips[0]));
		dp.claim_n6 = n6;
		if (n6)
			memcpy(dp.claim_ip6s, ip6s, n6 * sizeof(ip6s[0]));
		return;
	}
	CHECK(dp.claimed && dp.claim_vrf == vrf_id && dp.claim_n == n && !memcmp(dp.claim_ips, ips, n * sizeof(ips[0])) &&
	      dp.claim_n6 == n6 && (!n6 || !memcmp(dp.claim_ip6s, ip6s, n6 * sizeof(ip6s[0]))),
	      "on_claim(false) of addresses that were not claimed");
	dp.claimed = false;
}

static void check_table(void)
{
	unsigned int routes = 0, routes6 = 0;
	static const struct in6_addr zero6;

	CHECK(dp.refs == 0, "the datapath handle is held after a request (%d)", dp.refs);
	CHECK(ports.n <= ports.cap && (!ports.n || ports.port), "table of %zu in %zu", ports.n, ports.cap);
	for (size_t i = 0; i < ports.n; i++) {
		const struct vr_port *p = &ports.port[i];
		const struct fake_vif *v;

		CHECK(name_ok(p->name), "port %zu: bad name", i);
		CHECK(p->vn[0] && vr_vn_valid(p->vn), "port %s: bad vn", p->name);
		CHECK(p->n_ips >= 1 && p->n_ips <= VR_PORT_IPS_MAX && p->ip == p->ips[0], "port %s: %u addresses",
		      p->name, p->n_ips);
		CHECK(p->label >= LABEL_FIRST && p->label <= LABEL_LAST, "port %s: label %u", p->name, p->label);
		CHECK(p->vrf_id < VR_MAX_VRFS, "port %s: vrf %u", p->name, p->vrf_id);
		CHECK(!(p->mac[0] & 1), "port %s: multicast MAC", p->name);
		CHECK(i == 0 || ports.port[i - 1].vif_id < p->vif_id, "the table is not in vif id order");
		for (unsigned int a = 0; a < p->n_ips; a++) {
			int r = dp_route(p->vrf_id, p->ips[a]);

			CHECK(p->ips[a], "port %s: address 0", p->name);
			for (unsigned int b = 0; b < a; b++)
				CHECK(p->ips[a] != p->ips[b], "port %s: an address twice", p->name);
			CHECK(r >= 0 && !strcmp(dp.routes[r].ifname, p->name), "port %s: no route for address %u",
			      p->name, a);
			routes++;
		}
		CHECK(p->n_ip6s <= VR_PORT_IP6S_MAX, "port %s: %u IPv6 addresses", p->name, p->n_ip6s);
		CHECK(p->n_ip6s || !memcmp(&p->gw6, &zero6, sizeof(zero6)), "port %s: an IPv6 gateway without addresses",
		      p->name);
		CHECK(!memcmp(&p->gw6, &zero6, sizeof(zero6)) || vr_port_gw6_valid(&p->gw6), "port %s: bad IPv6 gateway",
		      p->name);
		for (unsigned int a = 0; a < p->n_ip6s; a++) {
			int r = dp_route6(p->vrf_id, &p->ip6s[a]);

			CHECK(vr_port_ip6_valid(&p->ip6s[a]), "port %s: IPv6 address %u is not a port's", p->name, a);
			for (unsigned int b = 0; b < a; b++)
				CHECK(memcmp(&p->ip6s[a], &p->ip6s[b], sizeof(p->ip6s[a])), "port %s: an IPv6 address twice",
				      p->name);
			CHECK(r >= 0 && !strcmp(dp.routes6[r].ifname, p->name), "port %s: no route for IPv6 address %u",
			      p->name, a);
			routes6++;
		}
		for (size_t j = 0; j < i; j++) {
			const struct vr_port *q = &ports.port[j];

			CHECK(strcmp(p->name, q->name), "port %s twice", p->name);
			CHECK(p->label != q->label, "label %u on %s and %s", p->label, p->name, q->name);
			if (p->vrf_id == q->vrf_id)
				for (unsigned int a = 0; a < p->n_ips; a++)
					for (unsigned int b = 0; b < q->n_ips; b++)
						CHECK(p->ips[a] != q->ips[b], "an address on %s and %s in vrf %u", p->name,
						      q->name, p->vrf_id);
			if (p->vrf_id == q->vrf_id)
				for (unsigned int a = 0; a < p->n_ip6s; a++)
					for (unsigned int b = 0; b < q->n_ip6s; b++)
						CHECK(memcmp(&p->ip6s[a], &q->ip6s[b], sizeof(p->ip6s[a])),
						      "an IPv6 address on %s and %s in vrf %u", p->name, q->name, p->vrf_id);
		}
		v = dp_vif(p->name);
		CHECK(v, "port %s has no vif", p->name);
		CHECK(v->vif.vif_id == p->vif_id && v->vif.label == p->label && v->vif.vrf_id == p->vrf_id &&
		      v->vif.ip == p->ip && v->vif.mtu == p->mtu && v->vif.gw_ip == p->gw_ip &&
		      !memcmp(v->vif.mac, p->mac, 6) && !(v->vif.flags & VR_VIF_F_TC) == p->xdp &&
		      !memcmp(v->vif.ip6, p->n_ip6s ? &p->ip6s[0] : &zero6, 16) && !memcmp(v->vif.gw6, &p->gw6, 16),
		      "port %s differs from its vif", p->name);
	}
	{
		unsigned int vifs = 0;

		for (unsigned int i = 0; i < FAKE_VIFS; i++)
			vifs += dp.vifs[i].used;
		CHECK(vifs == ports.n, "%u vifs for %zu ports", vifs, ports.n);
	}
	CHECK(routes == dp.n_routes, "%u routes in the datapath for %u port addresses", dp.n_routes, routes);
	CHECK(routes6 == dp.n_routes6, "%u IPv6 routes in the datapath for %u port addresses", dp.n_routes6, routes6);
}

static bool table_unchanged(void)
{
	return ports.n == n_before && (!n_before || !memcmp(ports.port, before, n_before * sizeof(before[0])));
}

/* The first word of the request, as the parser splits it. */
static void verb_of(const char *line, size_t len, char *verb, size_t size)
{
	size_t i = 0, n = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && n + 1 < size)
		verb[n++] = line[i++];
	verb[n] = '\0';
}

static void check_reply(const char *line, size_t len, const struct vr_buf *reply, unsigned int adds,
			unsigned int dels)
{
	const char *s = reply->data;
	char verb[16];
	unsigned int lines = 0;

	CHECK(reply->len > 0 && s && s[reply->len] == '\0' && strlen(s) == reply->len, "reply not one string");
	CHECK(s[reply->len - 1] == '\n', "reply does not end a line");
	for (size_t i = 0; i < reply->len; i++) {
		CHECK((unsigned char)s[i] >= 0x20 || s[i] == '\n', "control character 0x%02x in the reply",
		      (unsigned char)s[i]);
		CHECK(s[i] != 0x7f, "DEL in the reply");
		lines += s[i] == '\n';
	}
	verb_of(line, len, verb, sizeof(verb));
	if (!strncmp(s, "error ", 6)) {
		CHECK(lines == 1, "an error of %u lines", lines);
		CHECK(!dp.claimed, "a failed add left its addresses claimed");
		CHECK(table_unchanged() && dp.adds == adds && dp.dels == dels, "an error, yet the table changed");
		return;
	}
	if (!strncmp(s, "ok vif=", 7)) {
		unsigned int vif, label;
		const struct vr_port *p = NULL;
		char tail;

		CHECK(!strcmp(verb, "add") && lines == 1, "'%.*s' answered %s", (int)len, line, s);
		CHECK(sscanf(s, "ok vif=%u label=%u%c", &vif, &label, &tail) == 3 && tail == '\n', "reply %s", s);
		for (size_t i = 0; i < ports.n && !p; i++)
			if (ports.port[i].vif_id == vif)
				p = &ports.port[i];
		CHECK(p && p->label == label, "ok vif=%u label=%u, not in the table", vif, label);
		CHECK(ports.n == n_before + 1 && dp.adds == adds + 1 && dp.dels == dels, "an add added %zu ports",
		      ports.n - n_before);
		CHECK(dp.claimed && dp.claim_vrf == p->vrf_id && dp.claim_n == p->n_ips &&
		      !memcmp(dp.claim_ips, p->ips, p->n_ips * sizeof(p->ips[0])) && dp.claim_n6 == p->n_ip6s &&
		      (!p->n_ip6s || !memcmp(dp.claim_ip6s, p->ip6s, p->n_ip6s * sizeof(p->ip6s[0]))),
		      "an add without claiming its addresses");
		dp.claimed = false;
		return;
	}
	if (!strcmp(s, "ok\n")) {
		CHECK(!strcmp(verb, "del") && !dp.claimed, "'%.*s' answered ok", (int)len, line);
		CHECK(ports.n + 1 == n_before && dp.dels == dels + 1 && dp.adds == adds, "a del removed %zu ports",
		      n_before - ports.n);
		return;
	}
	/* list */
	CHECK(!strcmp(verb, "list"), "'%.*s' answered %s", (int)len, line, s);
	CHECK(table_unchanged() && dp.adds == adds && dp.dels == dels && !dp.claimed, "a list changed the table");
	CHECK(lines == ports.n + 1, "list of %u lines for %zu ports", lines, ports.n);
	for (size_t i = 0; i < ports.n; i++) {
		const struct vr_port *p = &ports.port[i];
		char want[128];
		int n = snprintf(want, sizeof(want), "port name=%s vif=%u label=%u vrf=%u ip=", p->name, p->vif_id,
				 p->label, p->vrf_id);

		CHECK(!strncmp(s, want, (size_t)n), "list line %zu: %.*s, want %s", i, (int)strcspn(s, "\n"), s, want);
		s = strchr(s, '\n') + 1;
	}
	CHECK(!strcmp(s, "end\n"), "list does not end with end");
}

/* ---- the target ---- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	verbose = getenv("FUZZ_VERBOSE") && *getenv("FUZZ_VERBOSE") == '1';
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vr_agent_config cfg;
	struct vr_buf reply = { 0 };
	const char *p = (const char *)data, *end = p + size;

	memset(&dp, 0, sizeof(dp));
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.pin_dir, sizeof(cfg.pin_dir), "/nonexistent-fuzz/bpf");
	/* The state file cannot be written there: every save fails (logged) without touching the disk. */
	snprintf(cfg.port_socket, sizeof(cfg.port_socket), "/nonexistent-fuzz/agent.sock");
	cfg.label_first = LABEL_FIRST;
	cfg.label_last = LABEL_LAST;
	vr_ports_init(&ports, &cfg);
	ports.on_change = on_change;
	ports.on_claim = on_claim;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (nl ? nl : end) - p;
		bool blank = true;
		unsigned int adds = dp.adds, dels = dp.dels;
		int rc;

		for (size_t i = 0; i < len && blank; i++)
			blank = p[i] == ' ' || p[i] == '\t' || p[i] == '\r';
		if (!blank) {
			n_before = ports.n;
			CHECK(n_before <= FAKE_VIFS, "more ports than vifs");
			if (n_before)
				memcpy(before, ports.port, n_before * sizeof(before[0]));
			reply.len = 0;
			rc = vr_port_api_request(&ports, p, len, &reply);
			CHECK(rc == 0, "vr_port_api_request: %d", rc);
			if (verbose)
				fprintf(stderr, "> %.*s\n< %s", (int)len, p, reply.data);
			check_table();
			check_reply(p, len, &reply, adds, dels);
		}
		p += len + 1;
	}
	free(reply.data);
	vr_ports_free(&ports);
	return 0;
}
