/* vrouter-agent XMPP sessions (see xmpp_session.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "libvrouter.h"
#include "datapath.h"
#include "gateway.h"
#include "log.h"
#include "loop.h"
#include "xmpp.h"
#include "xmpp_session.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define RECV_CHUNK 65536

enum sess_state { S_IDLE, S_CONNECTING, S_OPEN_SENT, S_UP };

struct session {
	struct vr_watch w;
	unsigned int idx;			/* controller slot, also the learned routes' slot */
	const struct vr_agent_controller *ctl;
	char name[32];				/* "A.B.C.D:port" */
	enum sess_state state;
	struct vr_xmpp_decoder *dec;
	struct vr_xmpp_buf out;
	unsigned int seq;
	uint64_t backoff_ms;
	uint64_t reconnect_at, hold_at, keepalive_at, stale_at;	/* absolute ms, 0: none */
	bool closing;				/* set from the decoder callback: close after feed returns */
	bool in_feed;				/* inside vr_xmpp_decoder_feed: closing must wait */
	char close_why[160];
	char **subs;				/* VRF (vn) names subscribed on this session */
	size_t n_subs;
	unsigned long received, keepalives_rx;
	unsigned long no_encap;			/* routes skipped: no tunnel encapsulation in common with ours */
	unsigned long bad_prefix;		/* IPv6 routes refused: multicast, link-local, loopback, unspecified */
};

static struct {
	const struct vr_agent_config *cfg;
	struct vr_ports *ports;
	struct vr_routes *routes;
	struct session sess[VR_AGENT_MAX_CONTROLLERS];
	unsigned int n;
	__u32 pub_seq;
	unsigned int encaps[VR_AGENT_MAX_ENCAPS];	/* cfg->encaps as VR_XMPP_ENCAP_* bits, most preferred first */
	unsigned int n_encaps;
} X;

static void session_close(struct session *s, const char *why);
static void session_flush(struct session *s);

static void rearm(struct session *s)
{
	uint64_t next = 0, now = vr_now_ms();
	uint64_t t[] = { s->reconnect_at, s->hold_at, s->keepalive_at, s->stale_at };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i] && (!next || t[i] < next))
			next = t[i];
	vr_loop_timer(&s->w, next ? (next > now ? next - now : 1) : 0);
}

static uint64_t hold_ms(const struct session *s)
{
	return (uint64_t)s->ctl->hold_time * 1000;
}

/* ---- subscriptions ---- */

static bool subscribed(const struct session *s, const char *vn)
{
	for (size_t i = 0; i < s->n_subs; i++)
		if (!strcmp(s->subs[i], vn))
			return true;
	return false;
}

static void subs_clear(struct session *s)
{
	for (size_t i = 0; i < s->n_subs; i++)
		free(s->subs[i]);
	free(s->subs);
	s->subs = NULL;
	s->n_subs = 0;
}

/* The VRF id of a virtual network, from the ports in it or the gateway's tenants (false when neither has it). */
static bool vn_vrf(const char *vn, __u32 *vrf_id)
{
	for (size_t i = 0; i < X.ports->n; i++)
		if (!strcmp(X.ports->port[i].vn, vn)) {
			*vrf_id = X.ports->port[i].vrf_id;
			return true;
		}
	return vr_gw_vn_vrf(vn, vrf_id);
}

static void send_subscribe(struct session *s, const char *vn, __u32 vrf_id)
{
	char **n;
	char *dup;

	if (subscribed(s, vn))
		return;
	n = realloc(s->subs, (s->n_subs + 1) * sizeof(*n));
	dup = strdup(vn);
	if (!n || !dup) {
		free(dup);
		if (n)
			s->subs = n;
		session_close(s, "out of memory");
		return;
	}
	s->subs = n;
	if (vr_xmpp_build_subscribe(&s->out, X.cfg->host_name, ++s->seq, vn, vrf_id)) {
		free(dup);
		session_close(s, "output buffer full");
		return;
	}
	s->subs[s->n_subs++] = dup;
	log_info("xmpp %s: subscribe %s (instance-id %u)", s->name, vn, vrf_id);
}

static void send_unsubscribe(struct session *s, const char *vn)
{
	for (size_t i = 0; i < s->n_subs; i++)
		if (!strcmp(s->subs[i], vn)) {
			free(s->subs[i]);
			s->subs[i] = s->subs[--s->n_subs];
			if (vr_xmpp_build_unsubscribe(&s->out, X.cfg->host_name, ++s->seq, vn))
				session_close(s, "output buffer full");
			else
				log_info("xmpp %s: unsubscribe %s", s->name, vn);
			return;
		}
}

/* ---- publish / withdraw ---- */

/* The nlri of address k of port p: ips[k]/32, or with v6 ip6s[k]/128 (node 2/1/VRF/ADDR/128). */
static struct vr_xmpp_prefix port_prefix(const struct vr_port *p, unsigned int k, bool v6)
{
	struct vr_xmpp_prefix pf = { .afi = VR_XMPP_AFI_IPV4, .plen = 32, .ip.v4 = p->ips[k] };

	if (v6) {
		pf = (struct vr_xmpp_prefix){ .afi = VR_XMPP_AFI_IPV6, .plen = 128 };
		memcpy(pf.ip.v6, &p->ip6s[k], sizeof(pf.ip.v6));
	}
	return pf;
}

/* Publish (or withdraw) nlri in vn with this host's underlay (IPv4) address as next hop and label, both
 * encapsulations offered. mac: the port's, for the address of a port; NULL for a prefix of the gateway (sub-protocol
 * static, logged as the gateway's). */
static void send_route(struct session *s, const char *vn, const struct vr_xmpp_prefix *nlri, __u32 label,
		       const __u8 *mac, bool publish)
{
	struct vr_xmpp_nexthop nh = {
		.addr = { .afi = VR_XMPP_AFI_IPV4, .ip.v4 = X.cfg->host_ip },
		.has_mac = mac != NULL,
		.label = label,
		.encaps = VR_XMPP_ENCAP_UDP | VR_XMPP_ENCAP_GRE,
		.virtual_network = vn,
	};
	struct vr_xmpp_entry e = {
		.nlri = *nlri,
		.safi = VR_XMPP_SAFI_UNICAST,
		.n_nexthops = 1,
		.nexthops = &nh,
		.version = 1,
		.local_pref = 100,
		.virtual_network = vn,
		.sub_protocol = mac ? "interface" : "static",
	};
	const char *gw = mac ? "" : " (gateway)";
	char pfx[VR_XMPP_PREFIX_STRLEN];
	int rc;

	if (mac)
		memcpy(nh.mac, mac, 6);
	if (publish) {
		e.sequence_number = ++X.pub_seq;
		rc = vr_xmpp_build_publish(&s->out, X.cfg->host_name, ++s->seq, vn, &e);
	} else {
		rc = vr_xmpp_build_withdraw(&s->out, X.cfg->host_name, ++s->seq, vn, VR_XMPP_SAFI_UNICAST, nlri);
	}
	if (rc) {
		session_close(s, "output buffer full");
		return;
	}
	vr_xmpp_prefix_format(nlri, pfx, sizeof(pfx));
	if (publish)
		log_info("xmpp %s: publish %s in %s label %u%s", s->name, pfx, vn, label, gw);
	else
		log_info("xmpp %s: withdraw %s in %s%s", s->name, pfx, vn, gw);
}

/* Every address of port p, IPv4 then IPv6, published (or withdrawn) while the session stays up: one route per
 * /32 or /128. */
static void send_port(struct session *s, const struct vr_port *p, bool publish)
{
	for (unsigned int k = 0; k < p->n_ips && s->state == S_UP && !s->closing; k++) {
		struct vr_xmpp_prefix pf = port_prefix(p, k, false);

		if (p->ips[k])
			send_route(s, p->vn, &pf, p->label, p->mac, publish);
	}
	for (unsigned int k = 0; k < p->n_ip6s && s->state == S_UP && !s->closing; k++) {
		struct vr_xmpp_prefix pf = port_prefix(p, k, true);

		send_route(s, p->vn, &pf, p->label, p->mac, publish);
	}
}

/* Gateway: its prefixes (vr_gw_prefix: 0.0.0.0/0, external-prefixes) in a tenant's VRF, next hop this host with
 * the tenant VRF's label, so that the vRouters of the tenant send here whatever leaves the VRF for them
 * (published, or withdrawn, like a port's address). */
static void send_gw_routes(struct session *s, const struct vr_gw_tenant *t, bool publish)
{
	for (size_t i = 0; i < vr_gw_prefix_count() && s->state == S_UP && !s->closing; i++) {
		const struct vr_agent_prefix *gp = vr_gw_prefix(i);
		struct vr_xmpp_prefix pf = { .afi = VR_XMPP_AFI_IPV4, .plen = (__u8)gp->plen, .ip.v4 = gp->addr };

		send_route(s, t->vn, &pf, t->label, NULL, publish);
	}
}

/* Session up: subscribe to every VRF with ports and every gateway tenant's, then publish every port and the
 * gateway's default routes. */
static void announce_all(struct session *s)
{
	for (size_t i = 0; i < X.ports->n && s->state == S_UP && !s->closing; i++) {
		const struct vr_port *p = &X.ports->port[i];

		if (p->vn[0])
			send_subscribe(s, p->vn, p->vrf_id);
	}
	for (size_t i = 0; i < vr_gw_count() && s->state == S_UP && !s->closing; i++)
		send_subscribe(s, vr_gw_tenant(i)->vn, vr_gw_tenant(i)->vrf_id);
	for (size_t i = 0; i < X.ports->n && s->state == S_UP && !s->closing; i++) {
		const struct vr_port *p = &X.ports->port[i];

		if (p->vn[0])
			send_port(s, p, true);
	}
	for (size_t i = 0; i < vr_gw_count() && s->state == S_UP && !s->closing; i++)
		send_gw_routes(s, vr_gw_tenant(i), true);
}

/* ---- the addresses of local ports ---- */

/* (VRF, address) of every local port, a hash set (open addressing, at most half full) rebuilt whenever ports
 * change: the learned routes' is_local (routes.h). A learned route for such an address (anycast: the same
 * address on other hosts too) is kept but not installed; the port's own route serves it. */
static struct {
	__u64 *slot;		/* vrf << 32 | address; 0: empty (an address is never 0.0.0.0) */
	size_t mask;
} L;

static size_t local_hash(__u64 k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (size_t)k;
}

static void local_put(__u64 k)
{
	size_t i = local_hash(k) & L.mask;

	while (L.slot[i] && L.slot[i] != k)
		i = (i + 1) & L.mask;
	L.slot[i] = k;
}

/* The set from the port table, plus extra[0..n) of vrf_id (a port being added). */
static void local_rebuild(__u32 vrf_id, const __be32 *extra, unsigned int n)
{
	size_t count = n, size = 64;
	__u64 *slot;

	for (size_t i = 0; i < X.ports->n; i++)
		count += X.ports->port[i].n_ips;
	while (size < 2 * count)
		size *= 2;
	slot = calloc(size, sizeof(*slot));
	if (!slot) {
		log_warn("xmpp: out of memory for the set of local addresses (the old one stays)");
		return;
	}
	free(L.slot);
	L.slot = slot;
	L.mask = size - 1;
	for (size_t i = 0; i < X.ports->n; i++)
		for (unsigned int k = 0; k < X.ports->port[i].n_ips; k++)
			if (X.ports->port[i].ips[k])
				local_put((__u64)X.ports->port[i].vrf_id << 32 | (__u32)X.ports->port[i].ips[k]);
	for (unsigned int k = 0; k < n; k++)
		local_put((__u64)vrf_id << 32 | (__u32)extra[k]);
}

static bool is_local(void *arg, __u32 vrf_id, __be32 prefix, __u32 plen)
{
	__u64 k = (__u64)vrf_id << 32 | (__u32)prefix;

	(void)arg;
	/* The gateway's own routes (via the external NIC: 0.0.0.0/0, external-prefixes) in its tenants' VRFs: the
	 * same prefixes other gateways publish there are kept but not installed. */
	if (vr_gw_owns(vrf_id, prefix, plen))
		return true;
	if (plen != 32 || !L.slot || !prefix)
		return false;
	for (size_t i = local_hash(k) & L.mask; L.slot[i]; i = (i + 1) & L.mask)
		if (L.slot[i] == k)
			return true;
	return false;
}

/* The same for the IPv6 addresses (an address is never ::, so all zero is an empty slot). */
struct local6 {
	__u32 vrf_id;
	struct in6_addr a;
};

static struct {
	struct local6 *slot;
	size_t mask;
} L6;

static size_t local6_hash(__u32 vrf_id, const struct in6_addr *a)
{
	__u64 x, y;

	memcpy(&x, a->s6_addr, 8);
	memcpy(&y, a->s6_addr + 8, 8);
	return local_hash(x ^ (y << 31 | y >> 33) ^ (__u64)vrf_id << 17);
}

static void local6_put(struct local6 *slot, size_t mask, __u32 vrf_id, const struct in6_addr *a)
{
	size_t i = local6_hash(vrf_id, a) & mask;

	while (!IN6_IS_ADDR_UNSPECIFIED(&slot[i].a) &&
	       !(slot[i].vrf_id == vrf_id && IN6_ARE_ADDR_EQUAL(&slot[i].a, a)))
		i = (i + 1) & mask;
	slot[i] = (struct local6){ .vrf_id = vrf_id, .a = *a };
}

/* The IPv6 set from the port table plus extra[0..n) of vrf_id. */
static void local6_rebuild(__u32 vrf_id, const struct in6_addr *extra, unsigned int n)
{
	size_t count = n, size = 16;
	struct local6 *slot;

	for (size_t i = 0; i < X.ports->n; i++)
		count += X.ports->port[i].n_ip6s;
	while (size < 2 * count)
		size *= 2;
	slot = calloc(size, sizeof(*slot));
	if (!slot) {
		log_warn("xmpp: out of memory for the set of local IPv6 addresses (the old one stays)");
		return;
	}
	for (size_t i = 0; i < X.ports->n; i++)
		for (unsigned int k = 0; k < X.ports->port[i].n_ip6s; k++)
			if (!IN6_IS_ADDR_UNSPECIFIED(&X.ports->port[i].ip6s[k]))
				local6_put(slot, size - 1, X.ports->port[i].vrf_id, &X.ports->port[i].ip6s[k]);
	for (unsigned int k = 0; k < n; k++)
		if (!IN6_IS_ADDR_UNSPECIFIED(&extra[k]))
			local6_put(slot, size - 1, vrf_id, &extra[k]);
	free(L6.slot);
	L6.slot = slot;
	L6.mask = size - 1;
}

static bool is_local6(void *arg, __u32 vrf_id, const struct in6_addr *prefix, __u32 plen)
{
	(void)arg;
	if (plen != 128 || !L6.slot || IN6_IS_ADDR_UNSPECIFIED(prefix))
		return false;
	for (size_t i = local6_hash(vrf_id, prefix) & L6.mask; !IN6_IS_ADDR_UNSPECIFIED(&L6.slot[i].a);
	     i = (i + 1) & L6.mask)
		if (L6.slot[i].vrf_id == vrf_id && IN6_ARE_ADDR_EQUAL(&L6.slot[i].a, prefix))
			return true;
	return false;
}

/* Re-decide the learned routes of addresses ips[0..n) and ip6s[0..n6) of vrf_id after the sets changed. */
static void local_changed(__u32 vrf_id, const __be32 *ips, unsigned int n, const struct in6_addr *ip6s,
			  unsigned int n6)
{
	struct vr_handle *h;

	if (!X.routes)
		return;
	if (vr_dp_get(&h)) {
		log_warn("xmpp: cannot open the datapath for the learned routes of a port's addresses: %s",
			 vr_strerror());
		return;
	}
	vr_routes_local_changed(X.routes, h, vrf_id, ips, n);
	vr_routes_local_changed6(X.routes, h, vrf_id, ip6s, n6);
	vr_routes_flush(X.routes, h);
	vr_dp_put();
}

/* ports->on_claim: a port is about to take (or, failing, give back) its addresses. */
static void port_claim(void *arg, __u32 vrf_id, const __be32 *ips, unsigned int n, const struct in6_addr *ip6s,
		       unsigned int n6, bool claim)
{
	(void)arg;
	if (claim) {
		local_rebuild(vrf_id, ips, n);
		local6_rebuild(vrf_id, ip6s, n6);
	} else {
		local_rebuild(0, NULL, 0);
		local6_rebuild(0, NULL, 0);
	}
	local_changed(vrf_id, ips, n, ip6s, n6);
}

void vr_xmpp_port_changed(void *arg, const struct vr_port *port, bool added)
{
	__u32 vrf_id;
	bool vn_left;

	(void)arg;
	local_rebuild(0, NULL, 0);
	local6_rebuild(0, NULL, 0);
	if (!added)	/* its learned routes, if any, come back (before a flush of the whole VRF below) */
		local_changed(port->vrf_id, port->ips, port->n_ips, port->ip6s, port->n_ip6s);
	if (!port->vn[0])
		return;
	vn_left = vn_vrf(port->vn, &vrf_id);
	for (unsigned int i = 0; i < X.n; i++) {
		struct session *s = &X.sess[i];

		if (s->state != S_UP)
			continue;
		if (added) {
			send_subscribe(s, port->vn, port->vrf_id);
			send_port(s, port, true);
		} else {
			send_port(s, port, false);
			if (!vn_left && s->state == S_UP)
				send_unsubscribe(s, port->vn);
		}
		if (s->state != S_IDLE)
			session_flush(s);
	}
	/* The VRF lost its last port: nobody sends its routes any more. */
	if (!added && !vn_left && X.routes) {
		struct vr_handle *h;

		if (vr_dp_get(&h)) {
			log_warn("xmpp: cannot open the datapath to flush vrf %u: %s", port->vrf_id, vr_strerror());
			return;
		}
		size_t n = vr_routes_flush_vrf(X.routes, h, port->vrf_id);
		vr_routes_flush(X.routes, h);
		vr_dp_put();
		if (n)
			log_info("xmpp: vrf %u (%s) has no port left: %zu learned route(s) removed", port->vrf_id,
				 port->vn, n);
	}
}

/* ---- received routes ---- */

/* The datapath handle for what the controllers send: the agent's shared one (datapath.h), taken on first
 * need and given back once the received bytes of a wakeup have been fed (rx_release at the end of on_io),
 * after the routes they brought have been written: the installs of new routes are queued (routes.h) and
 * written together through vr_route_add_batch at the end of the wakeup, so a burst of messages costs one
 * handle and a few kernel batches of nexthops, not a handle and a nexthop write per route. */
static struct vr_handle *rx_h;

static struct vr_handle *rx_handle(void)
{
	if (!rx_h && vr_dp_get(&rx_h)) {
		log_warn("xmpp: cannot open the datapath: %s", vr_strerror());
		rx_h = NULL;
	}
	return rx_h;
}

static void rx_release(void)
{
	size_t n, failed;

	if (!rx_h)
		return;
	n = X.routes->n_queue;
	failed = vr_routes_flush(X.routes, rx_h);
	if (n)
		log_debug("xmpp: %zu learned route(s) written in batches, %zu refused", n, failed);
	rx_h = NULL;
	vr_dp_put();
}

static void sweep(struct session *s, const char *why)
{
	struct vr_handle *h = rx_handle();
	size_t n = 0, a = 0;

	if (!h)
		return;
	n = vr_routes_sweep(X.routes, h, s->idx);
	/* Routes a previous agent left: the first controller's resync decides about them. */
	a = vr_routes_sweep(X.routes, h, VR_ROUTES_ADOPTED);
	if (!s->in_feed)
		rx_release();
	s->stale_at = 0;
	log_info("xmpp %s: %s: %zu stale route(s) swept%s", s->name, why, n + a, a ? " (with adopted ones)" : "");
}

static __u8 encap_of(unsigned int xmpp_bit)
{
	return xmpp_bit == VR_XMPP_ENCAP_GRE ? VR_ENCAP_GRE : VR_ENCAP_UDP;
}

/* "udp, gre"-style names of a set of VR_XMPP_ENCAP_* bits, in buf. */
static const char *encap_names(unsigned int set, char *buf, size_t len)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} names[] = { { VR_XMPP_ENCAP_UDP, "udp" }, { VR_XMPP_ENCAP_GRE, "gre" }, { VR_XMPP_ENCAP_VXLAN, "vxlan" },
		      { VR_XMPP_ENCAP_OTHER, "others" } };
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((set & names[i].bit) && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", names[i].name);
	return buf;
}

/* The usable next hops of an entry, in its order: IPv4, a label, not this host, one of our encapsulations
 * (each in the most preferred of ours it offers), each once; at most VR_ROUTES_MAX_NH (*over counts the
 * usable ones left out). Returns how many. *unusable holds the encapsulations (VR_XMPP_ENCAP_*) of the next
 * hops that were usable but for them (0: there were none such); *self counts the next hops that are this
 * host (our own route reflected back, or our share of an ECMP route: this host reaches its own VMs through
 * the port's local route, never through a learned one). */
static unsigned int pick_nexthops(const struct vr_xmpp_entry *e, struct vr_learned_nh *out, unsigned int *unusable,
				  unsigned int *self, unsigned int *over)
{
	unsigned int n = 0;

	*unusable = *self = *over = 0;
	for (unsigned int i = 0; i < e->n_nexthops; i++) {
		const struct vr_xmpp_nexthop *nh = &e->nexthops[i];
		struct vr_learned_nh l;
		unsigned int pick, k;

		if (nh->addr.afi != VR_XMPP_AFI_IPV4 || !nh->label || nh->label > 0xfffff || !nh->addr.ip.v4)
			continue;
		if (nh->addr.ip.v4 == X.cfg->host_ip) {
			(*self)++;
			continue;
		}
		pick = vr_xmpp_encap_choose(X.encaps, X.n_encaps, nh);
		if (!pick) {
			*unusable |= vr_xmpp_encaps(nh);
			continue;
		}
		l = (struct vr_learned_nh){ .remote_ip = nh->addr.ip.v4, .label = nh->label, .encap = encap_of(pick) };
		for (k = 0; k < n; k++)
			if (out[k].remote_ip == l.remote_ip && out[k].label == l.label && out[k].encap == l.encap)
				break;
		if (k < n)
			continue;
		if (n == VR_ROUTES_MAX_NH) {
			(*over)++;
			continue;
		}
		out[n++] = l;
	}
	return n;
}

/* Why a learned IPv6 prefix is refused (NULL: it is not): the datapath never routes multicast, link-local,
 * loopback or unspecified destinations between hosts, so such a route from a controller is an error. */
static const char *prefix6_unfit(const struct vr_xmpp_prefix *p)
{
	struct in6_addr a;

	memcpy(&a, p->ip.v6, sizeof(a));
	if (p->plen >= 8 && IN6_IS_ADDR_MULTICAST(&a))
		return "multicast";
	if (p->plen >= 10 && IN6_IS_ADDR_LINKLOCAL(&a))
		return "link-local";
	if (p->plen == 128 && IN6_IS_ADDR_LOOPBACK(&a))
		return "loopback";
	if (p->plen == 128 && IN6_IS_ADDR_UNSPECIFIED(&a))
		return "unspecified";
	return NULL;
}

/* Controller slot s->idx's copy of prefix p (either family): next hops nhs[0..n), or withdrawn when n is 0. */
static void learn(struct session *s, struct vr_handle *h, __u32 vrf_id, const struct vr_xmpp_prefix *p,
		  const struct vr_learned_nh *nhs, unsigned int n)
{
	if (p->afi == VR_XMPP_AFI_IPV6) {
		struct in6_addr a;

		memcpy(&a, p->ip.v6, sizeof(a));
		if (n)
			vr_routes_update6(X.routes, h, s->idx, vrf_id, &a, p->plen, nhs, n);
		else
			vr_routes_withdraw6(X.routes, h, s->idx, vrf_id, &a, p->plen);
		return;
	}
	if (n)
		vr_routes_update(X.routes, h, s->idx, vrf_id, p->ip.v4, p->plen, nhs, n);
	else
		vr_routes_withdraw(X.routes, h, s->idx, vrf_id, p->ip.v4, p->plen);
}

static void on_items(struct session *s, const struct vr_xmpp_items *it)
{
	const struct vr_xmpp_entry *first_skipped = NULL, *first_refused = NULL;
	unsigned int added = 0, removed = 0, skipped = 0, first_offered = 0, refused = 0;
	const char *refused_why = "";
	struct vr_handle *h;
	__u32 vrf_id;

	if (it->end_of_rib) {
		sweep(s, "EndOfRib");
		return;
	}
	/* inet (1/1/VRF) and inet6 (2/1/VRF) unicast; the decoder has checked that every item and retract is a
	 * prefix of the node's family. */
	if (!it->node.decoded || (it->node.afi != VR_XMPP_AFI_IPV4 && it->node.afi != VR_XMPP_AFI_IPV6) ||
	    it->node.safi != VR_XMPP_SAFI_UNICAST) {
		log_debug("xmpp %s: items of node %s ignored", s->name, it->node.text ? it->node.text : "?");
		return;
	}
	if (!it->node.vrf || !subscribed(s, it->node.vrf) || !vn_vrf(it->node.vrf, &vrf_id)) {
		log_warn("xmpp %s: routes for %s, which we are not subscribed to: ignored", s->name,
			 it->node.vrf ? it->node.vrf : "?");
		return;
	}
	h = rx_handle(); /* released (and the queued installs written) at the end of the wakeup */
	if (!h)
		return;
	for (unsigned int i = 0; i < it->n_items && it->items; i++) {
		const struct vr_xmpp_entry *e = &it->items[i];
		struct vr_learned_nh nhs[VR_ROUTES_MAX_NH];
		unsigned int n, unusable, self, over;
		const char *why;

		if (e->nlri.afi != it->node.afi)
			continue;
		if (e->nlri.afi == VR_XMPP_AFI_IPV6 && (why = prefix6_unfit(&e->nlri))) {
			s->bad_prefix++;
			if (!refused++) {
				first_refused = e;
				refused_why = why;
			}
			continue;
		}
		n = pick_nexthops(e, nhs, &unusable, &self, &over);
		if (over || (n && (self || unusable))) {
			char p[VR_XMPP_PREFIX_STRLEN];

			vr_xmpp_prefix_format(&e->nlri, p, sizeof(p));
			if (over)
				log_warn("xmpp %s: %s: %s has more than %u usable next hops: the first %u are used, "
					 "%u left out", s->name, it->node.vrf, p, VR_ROUTES_MAX_NH, VR_ROUTES_MAX_NH,
					 over);
			if (self)
				log_debug("xmpp %s: %s: %s: %u next hop(s) of this host left out (local ports have "
					  "their own routes)", s->name, it->node.vrf, p, self);
			if (unusable)
				log_debug("xmpp %s: %s: %s: next hop(s) offering none of our encapsulations left out",
					  s->name, it->node.vrf, p);
		}
		learn(s, h, vrf_id, &e->nlri, nhs, n);
		if (n) {
			added++;
		} else {
			/* Our own route reflected back, or nothing usable: not a route to install (and what an
			 * earlier version of it installed goes). */
			if (unusable) {
				s->no_encap++;
				if (!skipped++) {
					first_skipped = e;
					first_offered = unusable;
				}
			}
		}
	}
	if (skipped) {
		char p[VR_XMPP_PREFIX_STRLEN], offered[48], ours[48] = "";
		size_t n = 0;

		for (unsigned int i = 0; i < X.n_encaps && n < sizeof(ours); i++)
			n += (size_t)snprintf(ours + n, sizeof(ours) - n, "%s%s", i ? ", " : "",
					      vr_encap_name(encap_of(X.encaps[i])));
		vr_xmpp_prefix_format(&first_skipped->nlri, p, sizeof(p));
		log_warn("xmpp %s: %s: %u route(s) skipped, %s the first: its next hop offers %s, none of our tunnel "
			 "encapsulations (%s); %lu skipped so far", s->name, it->node.vrf, skipped, p,
			 encap_names(first_offered, offered, sizeof(offered)), ours, s->no_encap);
	}
	if (refused) {
		char p[VR_XMPP_PREFIX_STRLEN];

		vr_xmpp_prefix_format(&first_refused->nlri, p, sizeof(p));
		log_warn("xmpp %s: %s: %u IPv6 route(s) refused, %s the first: a %s destination is not routed; %lu "
			 "refused so far", s->name, it->node.vrf, refused, p, refused_why, s->bad_prefix);
	}
	for (unsigned int i = 0; i < it->n_retracts && it->retracts; i++) {
		const struct vr_xmpp_prefix *p = &it->retracts[i];

		if (p->afi != it->node.afi)
			continue;
		learn(s, h, vrf_id, p, NULL, 0);
		removed++;
	}
	log_debug("xmpp %s: %s: %u route(s) updated, %u retracted", s->name, it->node.vrf, added, removed);
}

/* ---- the decoder's events ---- */

static int on_event(void *user, const struct vr_xmpp_event *ev)
{
	struct session *s = user;
	uint64_t now = vr_now_ms();

	switch (ev->type) {
	case VR_XMPP_EV_STREAM_OPEN:
		s->hold_at = now + hold_ms(s);
		if (s->state != S_OPEN_SENT)
			break;
		s->state = S_UP;
		s->backoff_ms = BACKOFF_MIN_MS;
		s->keepalive_at = now + hold_ms(s) / 3;
		if (vr_routes_count(X.routes, s->idx, true) || vr_routes_count(X.routes, VR_ROUTES_ADOPTED, true))
			s->stale_at = now + (uint64_t)X.cfg->stale_timeout * 1000;
		log_info("xmpp %s: session up (peer %s, id %s)", s->name,
			 ev->u.header->from ? ev->u.header->from : "?", ev->u.header->id ? ev->u.header->id : "-");
		announce_all(s);
		break;
	case VR_XMPP_EV_KEEPALIVE:
		s->keepalives_rx += ev->u.keepalive.keepalives;
		s->hold_at = now + hold_ms(s);
		break;
	case VR_XMPP_EV_STANZA:
		s->received++;
		s->hold_at = now + hold_ms(s);
		if (s->state != S_UP)
			break;
		switch (ev->u.stanza->kind) {
		case VR_XMPP_ST_ITEMS:
			on_items(s, &ev->u.stanza->u.items);
			break;
		case VR_XMPP_ST_IQ_ERROR:
			log_warn("xmpp %s: iq %s failed: %s", s->name, ev->u.stanza->id ? ev->u.stanza->id : "-",
				 ev->u.stanza->u.condition ? ev->u.stanza->u.condition : "?");
			break;
		case VR_XMPP_ST_STREAM_ERROR:
			snprintf(s->close_why, sizeof(s->close_why), "stream error from the peer: %s",
				 ev->u.stanza->u.condition ? ev->u.stanza->u.condition : "?");
			s->closing = true;
			return 1;
		default:
			log_debug("xmpp %s: %s stanza ignored", s->name, ev->u.stanza->name);
			break;
		}
		break;
	case VR_XMPP_EV_STREAM_CLOSE:
		snprintf(s->close_why, sizeof(s->close_why), "the peer closed the stream");
		s->closing = true;
		return 1;
	case VR_XMPP_EV_ERROR:
		snprintf(s->close_why, sizeof(s->close_why), "bad input: %s (%s)",
			 vr_xmpp_strerror(ev->u.error.code), ev->u.error.detail ? ev->u.error.detail : "");
		s->closing = true;
		break;
	}
	return 0;
}

/* ---- I/O ---- */

static void session_flush(struct session *s)
{
	while (s->out.len) {
		ssize_t n = send(s->w.fd, s->out.data, s->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			char why[96];

			snprintf(why, sizeof(why), "send: %s", strerror(errno));
			session_close(s, why);
			return;
		}
		vr_xmpp_buf_consume(&s->out, (size_t)n);
	}
	vr_loop_mod(&s->w, EPOLLIN | (s->out.len ? EPOLLOUT : 0));
}

static void session_connect(struct session *s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(s->ctl->port),
				  .sin_addr.s_addr = s->ctl->addr };
	int fd, one = 1;

	s->reconnect_at = 0;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("xmpp %s: socket: %s", s->name, strerror(errno));
		goto retry;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS) {
		log_debug("xmpp %s: connect: %s", s->name, strerror(errno));
		close(fd);
		goto retry;
	}
	s->w.fd = fd;
	if (vr_loop_add(&s->w, EPOLLOUT)) {
		log_warn("xmpp %s: epoll: %s", s->name, strerror(errno));
		close(fd);
		s->w.fd = -1;
		goto retry;
	}
	s->state = S_CONNECTING;
	s->hold_at = vr_now_ms() + hold_ms(s);	/* also bounds the connect and the stream open */
	rearm(s);
	return;
retry:
	s->reconnect_at = vr_now_ms() + s->backoff_ms;
	s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
	rearm(s);
}

static void session_close(struct session *s, const char *why)
{
	size_t stale;

	if (s->state == S_IDLE)
		return;
	if (s->in_feed) {
		if (!s->closing)
			snprintf(s->close_why, sizeof(s->close_why), "%s", why);
		s->closing = true;
		return;
	}
	log_warn("xmpp %s: session closed: %s; reconnecting in %llu ms", s->name, why,
		 (unsigned long long)s->backoff_ms);
	if (s->w.fd >= 0) {
		vr_loop_del(&s->w);
		close(s->w.fd);
		s->w.fd = -1;
	}
	s->state = S_IDLE;
	s->closing = false;
	vr_xmpp_decoder_reset(s->dec);
	s->out.len = 0;
	subs_clear(s);
	stale = vr_routes_mark_stale(X.routes, s->idx);
	if (stale)
		log_info("xmpp %s: %zu learned route(s) kept as stale", s->name, stale);
	s->hold_at = s->keepalive_at = s->stale_at = 0;
	s->reconnect_at = vr_now_ms() + s->backoff_ms;
	s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
	rearm(s);
}

static void session_io(struct session *s, uint32_t events);

/* The new routes a wakeup brought are written (vr_routes_flush) before anything else runs. */
static void on_io(struct vr_watch *w, uint32_t events)
{
	session_io((struct session *)w, events);
	rx_release();
}

static void session_io(struct session *s, uint32_t events)
{
	struct vr_watch *w = &s->w;
	static char buf[RECV_CHUNK];

	if (s->state == S_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
			char why[96];

			snprintf(why, sizeof(why), "connect: %s", strerror(err ? err : errno));
			session_close(s, why);
			return;
		}
		log_info("xmpp %s: connected, opening the stream", s->name);
		s->state = S_OPEN_SENT;
		if (vr_xmpp_build_stream_open(&s->out, X.cfg->host_name, NULL)) {
			session_close(s, "output buffer full");
			return;
		}
		session_flush(s);
		return;
	}
	if (events & EPOLLOUT) {
		session_flush(s);
		if (s->state == S_IDLE)
			return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (int round = 0; round < 16; round++) {
		ssize_t n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0) {
			session_close(s, "the peer closed the connection");
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			char why[96];

			snprintf(why, sizeof(why), "recv: %s", strerror(errno));
			session_close(s, why);
			return;
		}
		s->in_feed = true;
		int rc = vr_xmpp_decoder_feed(s->dec, buf, (size_t)n);
		s->in_feed = false;

		if (rc || s->closing) {
			if (!s->closing || !s->close_why[0])
				snprintf(s->close_why, sizeof(s->close_why), "decoder: %s", vr_xmpp_strerror(rc));
			char why[sizeof(s->close_why)];

			memcpy(why, s->close_why, sizeof(why));
			s->close_why[0] = 0;
			session_close(s, why);
			return;
		}
		if (s->state == S_IDLE)
			return;
	}
	if (s->out.len)
		session_flush(s);
	if (s->state != S_IDLE)
		rearm(s);
}

static void on_timer(struct vr_watch *w, uint32_t events)
{
	struct session *s = (struct session *)w;
	uint64_t now = vr_now_ms();

	(void)events;
	if (s->state == S_IDLE) {
		if (s->reconnect_at && s->reconnect_at <= now)
			session_connect(s);
		else
			rearm(s);
		return;
	}
	if (s->hold_at && s->hold_at <= now) {
		session_close(s, s->state == S_UP ? "hold timer expired" : "no answer within the hold time");
		return;
	}
	if (s->state == S_UP && s->keepalive_at && s->keepalive_at <= now) {
		s->keepalive_at = now + hold_ms(s) / 3;
		if (vr_xmpp_build_keepalive(&s->out)) {
			session_close(s, "output buffer full");
			return;
		}
		session_flush(s);
		if (s->state == S_IDLE)
			return;
	}
	if (s->stale_at && s->stale_at <= now)
		sweep(s, "stale timer");
	rearm(s);
}

/* ---- start / stop ---- */

int vr_xmpp_start(const struct vr_agent_config *cfg, struct vr_ports *ports, struct vr_routes *routes)
{
	X.cfg = cfg;
	X.ports = ports;
	X.routes = routes;
	X.n = cfg->n_controllers;
	X.n_encaps = 0;
	for (unsigned int i = 0; i < cfg->n_encaps && i < VR_AGENT_MAX_ENCAPS; i++)
		X.encaps[X.n_encaps++] = cfg->encaps[i] == VR_ENCAP_GRE ? VR_XMPP_ENCAP_GRE : VR_XMPP_ENCAP_UDP;
	ports->on_change = vr_xmpp_port_changed;
	ports->on_change_arg = NULL;
	ports->on_claim = port_claim;
	ports->on_claim_arg = NULL;
	local_rebuild(0, NULL, 0);
	local6_rebuild(0, NULL, 0);
	routes->is_local = is_local;
	routes->is_local6 = is_local6;
	routes->is_local_arg = NULL;
	for (unsigned int i = 0; i < X.n; i++) {
		struct session *s = &X.sess[i];
		char ip[16];

		memset(s, 0, sizeof(*s));
		s->idx = i;
		s->ctl = &cfg->controllers[i];
		s->w.fd = -1;
		s->w.fn = on_io;
		s->w.on_timer = on_timer;
		s->backoff_ms = BACKOFF_MIN_MS;
		snprintf(s->name, sizeof(s->name), "%s:%u", inet_ntop(AF_INET, &s->ctl->addr, ip, sizeof(ip)),
			 s->ctl->port);
		s->dec = vr_xmpp_decoder_new(NULL, on_event, s);
		if (!s->dec)
			return -ENOMEM;
		vr_xmpp_buf_init(&s->out, 0);
		session_connect(s);
	}
	return 0;
}

void vr_xmpp_stop(void)
{
	for (unsigned int i = 0; i < X.n; i++) {
		struct session *s = &X.sess[i];

		/* A stopped gateway takes its routes back at once, so that the vRouters turn to another gateway now
		 * rather than after the controller's graceful-restart period. */
		for (size_t k = 0; k < vr_gw_count() && s->state == S_UP; k++)
			send_gw_routes(s, vr_gw_tenant(k), false);
		if (s->w.fd >= 0) {
			if (s->state == S_UP && !vr_xmpp_build_stream_close(&s->out))
				session_flush(s);
			vr_loop_del(&s->w);
			close(s->w.fd);
			s->w.fd = -1;
		} else {
			vr_loop_timer(&s->w, 0);
		}
		subs_clear(s);
		vr_xmpp_buf_free(&s->out);
		vr_xmpp_decoder_free(s->dec);
		s->dec = NULL;
	}
	X.n = 0;
	if (X.ports) {
		X.ports->on_change = NULL;
		X.ports->on_claim = NULL;
	}
	if (X.routes) {
		X.routes->is_local = NULL;
		X.routes->is_local6 = NULL;
	}
	free(L.slot);
	L.slot = NULL;
	free(L6.slot);
	L6.slot = NULL;
}
