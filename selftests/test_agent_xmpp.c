/* A scripted fake Tungsten Fabric control node for vrouter-agent's XMPP sessions (run by
 * selftests/e2e_agent_xmpp.sh inside a host namespace). It listens on 127.0.0.1:PORT, starts the agent
 * (AGENT_CMD), adds and deletes ports through the agent's port API (PORT_ADD1, PORT_ADD2, PORT_DEL2 shell
 * commands), decodes everything the agent sends with the shared codec and checks the order and shape of
 * subscribe/publish/associate/withdraw/unsubscribe, then sends routes, retracts and EndOfRib and checks the
 * datapath's route table (libvrouter, pin dir PIN_DIR) for the tunnel routes; it kills sessions to check
 * graceful restart (stale routes kept, swept by the stale timer or EndOfRib, refreshed when re-sent).
 * It also checks the tunnel encapsulation the agent picks per route from the route's tunnel-encapsulation-list
 * by its configured preference (ENCAP_PREF, "gre,udp" or "udp,gre", as the agent's configuration says), and
 * ECMP: an item with several next hops installed as a composite nexthop of tunnels (read back with
 * vr_route_foreach and vr_ecmp_get), a change of the list replacing it with the buckets of the members that
 * stay kept, a list of one a plain tunnel again, this host's own next hop left out, at most 16 members, and
 * the composite kept (stale) and refreshed or swept across a session loss.
 * IPv6 (when PORT_ADD3 is set): a port with two IPv6 addresses publishes each as a /128 on node 2/1/VN with the
 * port's label and is retracted with it; routes on 2/1 nodes are installed in the VRF's IPv6 tables (host
 * routes, a /64, an ECMP composite), replaced and retracted; a learned route for the port's own address waits
 * until the port goes; multicast and link-local prefixes are refused without closing the session; and a 2/1
 * item that is no IPv6 prefix (an IPv4 one, a /129, garbage) closes the session, which comes back.
 * Environment: PORT, PIN_DIR, HOST (agent host name), HOST_IP, VN1, VN2, STALE (seconds), AGENT_CMD,
 * PORT_ADD1, PORT_ADD2, PORT_DEL2, IP1, IP2, ENCAP_PREF; for IPv6 PORT_ADD3, PORT_DEL3, VIF3, IP3, IP6A, IP6B,
 * GW6. Prints ok/FAIL lines and "N passed, N failed". */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "libvrouter.h"
#include "xmpp.h"

static int passed, failed;

static void check(bool ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void check(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		passed++;
		printf("ok %s\n", name);
	} else {
		failed++;
		printf("FAIL %s: ", name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
}

static const char *env(const char *k)
{
	const char *v = getenv(k);

	if (!v) {
		fprintf(stderr, "missing %s\n", k);
		exit(2);
	}
	return v;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* What the agent sent, decoded and copied. */
struct msg {
	enum vr_xmpp_stanza_kind kind;
	char id[64], node[300], item_node[300];
	bool has_instance;
	__u32 instance;
	bool has_entry;
	unsigned int n_nh, encaps;
	__be32 nh_ip;
	__u32 label, local_pref;
	char vn[300], sub_protocol[64];
	bool has_mac;
	__u16 node_afi;		/* publish: of the node (1/1 or 2/1) */
	__u8 nh_afi;
};

#define QMAX 256
static struct {
	int fd;
	struct vr_xmpp_decoder *dec;
	struct msg q[QMAX];
	unsigned int head, tail;
	bool opened, closed, error;
	char from[128];
	unsigned long keepalives;
} P;

static void cpy(char *d, size_t n, const char *s)
{
	snprintf(d, n, "%s", s ? s : "");
}

static int on_event(void *user, const struct vr_xmpp_event *ev)
{
	(void)user;
	if (ev->type == VR_XMPP_EV_STREAM_OPEN) {
		P.opened = true;
		cpy(P.from, sizeof(P.from), ev->u.header->from);
	} else if (ev->type == VR_XMPP_EV_KEEPALIVE) {
		P.keepalives += ev->u.keepalive.keepalives;
	} else if (ev->type == VR_XMPP_EV_STREAM_CLOSE) {
		P.closed = true;
	} else if (ev->type == VR_XMPP_EV_ERROR) {
		P.error = true;
	} else if (ev->type == VR_XMPP_EV_STANZA && P.tail - P.head < QMAX) {
		const struct vr_xmpp_stanza *st = ev->u.stanza;
		struct msg *m = &P.q[P.tail++ % QMAX];

		memset(m, 0, sizeof(*m));
		m->kind = st->kind;
		cpy(m->id, sizeof(m->id), st->id);
		if (st->kind == VR_XMPP_ST_SUBSCRIBE || st->kind == VR_XMPP_ST_UNSUBSCRIBE) {
			cpy(m->node, sizeof(m->node), st->u.subscribe.node);
			m->has_instance = st->u.subscribe.has_instance_id;
			m->instance = st->u.subscribe.instance_id;
		} else if (st->kind == VR_XMPP_ST_PUBLISH) {
			const struct vr_xmpp_entry *e = &st->u.publish.entry;

			cpy(m->node, sizeof(m->node), st->u.publish.node.text);
			m->node_afi = st->u.publish.node.afi;
			m->has_entry = st->u.publish.has_entry && e->n_nexthops;
			if (m->has_entry) {
				m->nh_afi = e->nexthops[0].addr.afi;
				m->n_nh = e->n_nexthops;
				m->nh_ip = e->nexthops[0].addr.ip.v4;
				m->label = e->nexthops[0].label;
				m->encaps = e->nexthops[0].encaps;
				m->has_mac = e->nexthops[0].has_mac;
				cpy(m->vn, sizeof(m->vn), e->nexthops[0].virtual_network);
				m->local_pref = e->local_pref;
				cpy(m->sub_protocol, sizeof(m->sub_protocol), e->sub_protocol);
			}
		} else if (st->kind == VR_XMPP_ST_ASSOCIATE || st->kind == VR_XMPP_ST_DISSOCIATE) {
			cpy(m->node, sizeof(m->node), st->u.collection.node);
			cpy(m->item_node, sizeof(m->item_node), st->u.collection.item.text);
		}
	}
	return 0;
}

/* Read for up to ms; returns false when the connection closed. */
static bool pump(int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	char buf[4096];

	while (P.fd >= 0) {
		int64_t left = (int64_t)(end - now_ms());
		struct pollfd pfd = { .fd = P.fd, .events = POLLIN };

		if (left <= 0)
			return true;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		ssize_t n = recv(P.fd, buf, sizeof(buf), 0);

		if (n <= 0) {
			close(P.fd);
			P.fd = -1;
			return false;
		}
		vr_xmpp_decoder_feed(P.dec, buf, (size_t)n);
	}
	return false;
}

static bool next_msg(struct msg *out, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	while (P.head == P.tail && now_ms() < end && P.fd >= 0)
		pump(50);
	if (P.head == P.tail)
		return false;
	*out = P.q[P.head++ % QMAX];
	return true;
}

static void send_buf(struct vr_xmpp_buf *b)
{
	if (P.fd >= 0 && b->len && send(P.fd, b->data, b->len, MSG_NOSIGNAL) != (ssize_t)b->len)
		fprintf(stderr, "send failed\n");
	b->len = 0;
}

static int lfd;

static bool accept_session(int ms)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };

	if (poll(&pfd, 1, ms) <= 0)
		return false;
	P.fd = accept(lfd, NULL, NULL);
	if (P.fd < 0)
		return false;
	vr_xmpp_decoder_reset(P.dec);
	P.head = P.tail = 0;
	P.opened = P.closed = P.error = false;
	for (uint64_t end = now_ms() + 3000; !P.opened && now_ms() < end && P.fd >= 0;)
		pump(50);
	return P.opened;
}

static const char *host;
static __be32 host_ip;

static void answer(void)
{
	struct vr_xmpp_buf b;

	vr_xmpp_buf_init(&b, 0);
	vr_xmpp_build_stream_answer(&b, host, "fake-1", NULL);
	send_buf(&b);
	vr_xmpp_buf_free(&b);
}

static void kill_session(void)
{
	if (P.fd >= 0)
		close(P.fd);
	P.fd = -1;
}

/* A route to vrf for one prefix, its next hop offering encaps (VR_XMPP_ENCAP_*; 0: no list). */
static void send_route_encaps(const char *vn, const char *prefix, const char *nh_ip, __u32 label, unsigned int encaps)
{
	struct vr_xmpp_nexthop nh = { .addr.afi = 1, .label = label, .encaps = encaps, .virtual_network = vn };
	struct vr_xmpp_entry e = { .safi = 1, .n_nexthops = 1, .nexthops = &nh, .version = 1, .local_pref = 100,
				   .virtual_network = vn, .sub_protocol = "interface" };
	struct vr_xmpp_buf b;

	inet_pton(AF_INET, nh_ip, &nh.addr.ip.v4);
	vr_xmpp_prefix_parse(1, prefix, &e.nlri);
	vr_xmpp_buf_init(&b, 0);
	vr_xmpp_build_items(&b, host, 1, 1, vn, &e, 1);
	send_buf(&b);
	vr_xmpp_buf_free(&b);
}

static void send_route(const char *vn, const char *prefix, const char *nh_ip, __u32 label)
{
	send_route_encaps(vn, prefix, nh_ip, label, VR_XMPP_ENCAP_UDP);
}

static void send_retract(const char *vn, const char *prefix)
{
	struct vr_xmpp_prefix p;
	struct vr_xmpp_buf b;

	vr_xmpp_prefix_parse(1, prefix, &p);
	vr_xmpp_buf_init(&b, 0);
	vr_xmpp_build_retracts(&b, host, 1, 1, vn, &p, 1);
	send_buf(&b);
	vr_xmpp_buf_free(&b);
}

static void send_eor(void)
{
	struct vr_xmpp_buf b;

	vr_xmpp_buf_init(&b, 0);
	vr_xmpp_build_end_of_rib(&b, host);
	send_buf(&b);
	vr_xmpp_buf_free(&b);
}

static void send_raw(const char *s)
{
	if (P.fd >= 0 && send(P.fd, s, strlen(s), MSG_NOSIGNAL) < 0)
		fprintf(stderr, "send failed\n");
}

/* Keep the agent's hold timer alive while waiting. */
static void idle(int ms)
{
	for (uint64_t end = now_ms() + (uint64_t)ms; now_ms() < end;) {
		send_raw(VR_XMPP_KEEPALIVE);
		pump(300);
	}
}

struct find {
	__be32 prefix;
	bool v6;		/* an IPv6 prefix (prefix6/plen6) */
	struct in6_addr prefix6;
	__u32 plen6;
	bool found;
	__u8 type, flags;
	__be32 remote;
	__u32 label;
	__u32 ecmp_id;
};

static int find_cb(const struct vr_route_info *r, void *arg)
{
	struct find *f = arg;

	if (f->v6 ? r->family == AF_INET6 && r->plen == f->plen6 && !memcmp(&r->prefix6, &f->prefix6, 16)
		  : r->family != AF_INET6 && r->prefix == f->prefix && r->plen == 32) {
		f->found = true;
		f->type = r->nh.type;
		f->remote = r->nh.remote_ip;
		f->label = r->nh.label;
		f->flags = r->nh.flags;
		f->ecmp_id = r->nh.type == VR_NH_COMPOSITE ? r->nh.ecmp_id : 0;
	}
	return 0;
}

static const char *pin_dir;

/* The route of ip in vrf: an IPv4 /32 ("A.B.C.D"), or an IPv6 prefix ("X::Y" for the /128, or "X::/len"). */
static struct find route(__u32 vrf, const char *ip)
{
	struct find f = {};
	struct vr_handle h;

	if (strchr(ip, ':')) {
		char a[64];
		const char *slash = strchr(ip, '/');

		snprintf(a, sizeof(a), "%.*s", slash ? (int)(slash - ip) : (int)strlen(ip), ip);
		f.v6 = true;
		f.plen6 = slash ? (__u32)atoi(slash + 1) : 128;
		inet_pton(AF_INET6, a, &f.prefix6);
	} else {
		inet_pton(AF_INET, ip, &f.prefix);
	}
	if (!vr_open(pin_dir, &h)) {
		vr_route_foreach(&h, vrf, find_cb, &f);
		vr_close(&h);
	}
	return f;
}

/* Wait (bounded, pumping the session) for prefix ip in vrf to be a tunnel to nh with label in encapsulation
 * encap (enum vr_encap; -1: either), or absent. */
static bool wait_route_encap(__u32 vrf, const char *ip, const char *nh, __u32 label, int encap, int ms)
{
	__be32 want = 0;

	if (nh)
		inet_pton(AF_INET, nh, &want);
	for (uint64_t end = now_ms() + (uint64_t)ms;;) {
		struct find f = route(vrf, ip);
		int got = (f.flags & VR_NH_F_GRE) ? VR_ENCAP_GRE : VR_ENCAP_UDP;

		if (nh ? f.found && f.type == VR_NH_TUNNEL && f.remote == want && f.label == label &&
			 (encap < 0 || encap == got)
		       : !f.found)
			return true;
		if (now_ms() >= end)
			return false;
		if (P.fd >= 0)
			pump(100);
		else
			usleep(100000);
	}
}

static bool wait_route(__u32 vrf, const char *ip, const char *nh, __u32 label, int ms)
{
	return wait_route_encap(vrf, ip, nh, label, -1, ms);
}

/* Routes of vrf among A.B.C.first .. A.B.C.first+n-1 (base "A.B.C") that are tunnels to nh with label. */
struct span {
	__be32 lo, hi;	/* host order */
	__be32 nh;
	__u32 label;
	unsigned int tunnels;
};

static int span_cb(const struct vr_route_info *r, void *arg)
{
	struct span *sp = arg;
	__u32 a = ntohl(r->prefix);

	if (r->plen == 32 && a >= sp->lo && a <= sp->hi && r->nh.type == VR_NH_TUNNEL && r->nh.remote_ip == sp->nh &&
	    r->nh.label == sp->label)
		sp->tunnels++;
	return 0;
}

static unsigned int span_count(__u32 vrf, const char *base, unsigned int first, unsigned int n, const char *nh,
			       __u32 label)
{
	char ip[32];
	struct span sp = { .label = label };
	struct vr_handle h;
	__be32 a;

	snprintf(ip, sizeof(ip), "%s.%u", base, first);
	inet_pton(AF_INET, ip, &a);
	sp.lo = ntohl(a);
	sp.hi = sp.lo + n - 1;
	inet_pton(AF_INET, nh, &sp.nh);
	if (!vr_open(pin_dir, &h)) {
		vr_route_foreach(&h, vrf, span_cb, &sp);
		vr_close(&h);
	}
	return sp.tunnels;
}

/* An ECMP route as the datapath holds it: its group's members ("IP:LABEL" of each tunnel, in the group's
 * order) and the member of each bucket. */
struct ecmp_info {
	bool found, composite;
	__u32 ecmp_id, n;
	char members[16 * 24];
	__be32 bucket_ip[VR_ECMP_BUCKETS];
	__u32 bucket_label[VR_ECMP_BUCKETS];
	bool all_tunnels;
};

struct nh_ids {
	__u32 id[VR_ECMP_MEMBERS];
	struct vr_nexthop nh[VR_ECMP_MEMBERS];
	unsigned int n;
};

static int nh_ids_cb(__u32 nh_id, const struct vr_nexthop *nh, void *arg)
{
	struct nh_ids *x = arg;

	for (unsigned int i = 0; i < x->n; i++)
		if (x->id[i] == nh_id)
			x->nh[i] = *nh;
	return 0;
}

static struct ecmp_info ecmp_route(__u32 vrf, const char *ip)
{
	struct ecmp_info info = {};
	struct find f = route(vrf, ip);
	struct nh_ids ids = {};
	struct vr_handle h;
	struct vr_ecmp g;

	info.found = f.found;
	info.composite = f.found && f.type == VR_NH_COMPOSITE;
	if (!info.composite || vr_open(pin_dir, &h))
		return info;
	info.ecmp_id = f.ecmp_id;
	if (!vr_ecmp_get(&h, f.ecmp_id, &g) && g.n_members <= VR_ECMP_MEMBERS) {
		info.n = g.n_members;
		ids.n = g.n_members;
		memcpy(ids.id, g.members, g.n_members * sizeof(g.members[0]));
		vr_nh_foreach(&h, nh_ids_cb, &ids);
		info.all_tunnels = true;
		for (unsigned int i = 0, at = 0; i < ids.n; i++) {
			char a[16];

			info.all_tunnels &= ids.nh[i].type == VR_NH_TUNNEL;
			inet_ntop(AF_INET, &ids.nh[i].remote_ip, a, sizeof(a));
			at += (unsigned int)snprintf(info.members + at, sizeof(info.members) - at, "%s%s:%u", i ? "," : "",
						     a, ids.nh[i].label);
		}
		for (unsigned int b = 0; b < VR_ECMP_BUCKETS; b++)
			for (unsigned int i = 0; i < ids.n; i++)
				if (g.bucket[b] == ids.id[i]) {
					info.bucket_ip[b] = ids.nh[i].remote_ip;
					info.bucket_label[b] = ids.nh[i].label;
				}
	}
	vr_close(&h);
	return info;
}

/* Wait (bounded, pumping) until ip in vrf is a composite of tunnels whose members are exactly want. */
static bool wait_ecmp(__u32 vrf, const char *ip, const char *want, int ms, struct ecmp_info *out)
{
	for (uint64_t end = now_ms() + (uint64_t)ms;;) {
		*out = ecmp_route(vrf, ip);
		if (out->composite && out->all_tunnels && !strcmp(out->members, want))
			return true;
		if (now_ms() >= end)
			return false;
		if (P.fd >= 0)
			pump(100);
		else
			usleep(100000);
	}
}

/* An item for prefix (IPv4 on node 1/1/VN, IPv6 on 2/1/VN: afi) with n next hops "IP:LABEL" offering encaps, as
 * the controller sends ECMP routes. */
static void send_item_nhs(__u8 afi, __u8 encaps, const char *vn, const char *prefix, const char *const *nhs,
			  unsigned int n)
{
	struct vr_xmpp_nexthop nh[24] = {};
	struct vr_xmpp_entry e = { .safi = 1, .n_nexthops = n, .nexthops = nh, .version = 1, .local_pref = 100,
				   .virtual_network = vn, .sub_protocol = "interface" };
	struct vr_xmpp_buf b;

	for (unsigned int i = 0; i < n && i < 24; i++) {
		char ip[32];
		const char *colon = strchr(nhs[i], ':');

		snprintf(ip, sizeof(ip), "%.*s", (int)(colon - nhs[i]), nhs[i]);
		nh[i] = (struct vr_xmpp_nexthop){ .addr.afi = VR_XMPP_AFI_IPV4, .label = (__u32)atoi(colon + 1),
						  .encaps = encaps, .virtual_network = vn };
		inet_pton(AF_INET, ip, &nh[i].addr.ip.v4);
	}
	if (vr_xmpp_prefix_parse(afi, prefix, &e.nlri))
		fprintf(stderr, "bad test prefix %s\n", prefix);
	vr_xmpp_buf_init(&b, 0);
	vr_xmpp_build_items(&b, host, afi, 1, vn, &e, 1);
	send_buf(&b);
	vr_xmpp_buf_free(&b);
}

/* IPv4 ECMP routes: udp and gre offered. */
static void send_route_nhs(const char *vn, const char *prefix, const char *const *nhs, unsigned int n)
{
	send_item_nhs(VR_XMPP_AFI_IPV4, VR_XMPP_ENCAP_UDP | VR_XMPP_ENCAP_GRE, vn, prefix, nhs, n);
}

/* Whether the ECMP group id is free (released and zeroed). */
static bool ecmp_free(__u32 id)
{
	struct vr_handle h;
	struct vr_ecmp g = {};
	bool free_ = false;

	if (!vr_open(pin_dir, &h)) {
		free_ = !vr_ecmp_get(&h, id, &g) && g.n_members == 0;
		vr_close(&h);
	}
	return free_;
}

static void run(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
}

/* Expect subscribe(vn, instance) next. */
static void expect_subscribe(const char *name, const char *vn, __u32 inst)
{
	struct msg m;

	if (!next_msg(&m, 3000)) {
		check(false, name, "nothing received");
		return;
	}
	check(m.kind == VR_XMPP_ST_SUBSCRIBE && !strcmp(m.node, vn) && m.has_instance && m.instance == inst &&
		      !strncmp(m.id, "subscribe", 9),
	      name, "got kind %d node '%s' instance %u id %s", m.kind, m.node, m.instance, m.id);
}

/* Expect the publish + associate pair of ip/32 in vn, or with v6 of ip/128 on node 2/1 (withdraw: publish +
 * dissociate). Returns the label published (0: none). */
static __u32 expect_pair_at(const char *name, const char *vn, const char *ip, bool withdraw, bool v6)
{
	char node[400];
	struct msg a, b;
	bool ok;

	snprintf(node, sizeof(node), v6 ? "2/1/%s/%s/128" : "1/1/%s/%s/32", vn, ip);
	if (!next_msg(&a, 3000) || !next_msg(&b, 3000)) {
		check(false, name, "the pair did not come");
		return 0;
	}
	ok = a.kind == VR_XMPP_ST_PUBLISH && !strcmp(a.node, node) && !strncmp(a.id, "pubsub", 6) &&
	     b.kind == (withdraw ? VR_XMPP_ST_DISSOCIATE : VR_XMPP_ST_ASSOCIATE) && !strcmp(b.node, vn) &&
	     !strcmp(b.item_node, node) && !strncmp(b.id, "collection", 10) && !strcmp(a.id + 6, b.id + 10);
	ok = ok && a.node_afi == (v6 ? VR_XMPP_AFI_IPV6 : VR_XMPP_AFI_IPV4);
	if (!withdraw)
		ok = ok && a.has_entry && a.n_nh == 1 && a.nh_afi == VR_XMPP_AFI_IPV4 && a.nh_ip == host_ip &&
		     a.label >= 16 && a.has_mac && a.encaps == (VR_XMPP_ENCAP_UDP | VR_XMPP_ENCAP_GRE) &&
		     !strcmp(a.vn, vn) && a.local_pref == 100 && !strcmp(a.sub_protocol, "interface");
	check(ok, name, "got %d '%s' id %s / %d '%s' -> '%s' id %s (label %u, encaps %#x, lp %u, vn %s)", a.kind,
	      a.node, a.id, b.kind, b.node, b.item_node, b.id, a.label, a.encaps, a.local_pref, a.vn);
	return ok ? a.label : 0;
}

static void expect_pair(const char *name, const char *vn, const char *ip, bool withdraw)
{
	expect_pair_at(name, vn, ip, withdraw, false);
}

/* IPv6 routes from the fake control node (node 2/1/VN): one next hop (udp), or n "IP:LABEL" next hops. */
static void send_route6_nhs(const char *vn, const char *prefix, const char *const *nhs, unsigned int n)
{
	send_item_nhs(VR_XMPP_AFI_IPV6, VR_XMPP_ENCAP_UDP, vn, prefix, nhs, n);
}

static void send_route6(const char *vn, const char *prefix, const char *nh_ip, __u32 label)
{
	char one[48];
	const char *nhs[1] = { one };

	snprintf(one, sizeof(one), "%s:%u", nh_ip, label);
	send_route6_nhs(vn, prefix, nhs, 1);
}

static void send_retract6(const char *vn, const char *prefix)
{
	struct vr_xmpp_prefix p;
	struct vr_xmpp_buf b;

	vr_xmpp_prefix_parse(VR_XMPP_AFI_IPV6, prefix, &p);
	vr_xmpp_buf_init(&b, 0);
	vr_xmpp_build_retracts(&b, host, VR_XMPP_AFI_IPV6, 1, vn, &p, 1);
	send_buf(&b);
	vr_xmpp_buf_free(&b);
}

/* A hand-written <items node="2/1/VN"> message whose one item has id and nlri address pfx (the builder refuses
 * what is not an IPv6 prefix, which is the point). */
static void send_raw_item6(const char *vn, const char *pfx)
{
	char m[2048];

	snprintf(m, sizeof(m),
		 "<message from=\"" VR_XMPP_CONTROL_JID "\" to=\"%s/" VR_XMPP_BGP_PEER "\">"
		 "<event xmlns=\"" VR_XMPP_PUBSUB_NS "\"><items node=\"2/1/%s\"><item id=\"%s\"><entry>"
		 "<nlri><af>2</af><safi>1</safi><address>%s</address></nlri><next-hops><next-hop><af>1</af>"
		 "<address>192.0.2.99</address><label>77</label></next-hop></next-hops></entry></item></items></event>"
		 "</message>", host, vn, pfx, pfx);
	send_raw(m);
}

/* Answer a reconnected session and read what it sends (subscribes, publishes) until it is quiet. */
static void answer_and_drain(void)
{
	struct msg m;

	answer();
	idle(300);
	while (P.head != P.tail)
		next_msg(&m, 10);
}

int main(void)
{
	const char *vn1 = env("VN1"), *vn2 = env("VN2"), *ip1 = env("IP1"), *ip2 = env("IP2");
	int stale = atoi(env("STALE"));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((__u16)atoi(env("PORT"))) };
	int one = 1;
	pid_t agent;
	struct msg m;

	host = env("HOST");
	pin_dir = env("PIN_DIR");
	inet_pton(AF_INET, env("HOST_IP"), &host_ip);
	signal(SIGPIPE, SIG_IGN);
	P.fd = -1;
	P.dec = vr_xmpp_decoder_new(NULL, on_event, NULL);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4)) {
		perror("listen");
		return 1;
	}
	agent = fork();
	if (agent == 0) {
		close(lfd);
		execl("/bin/sh", "sh", "-c", env("AGENT_CMD"), (char *)NULL);
		_exit(127);
	}

	/* 1. stream open; a port exists before the answer: subscribe comes before publish. */
	check(accept_session(10000), "agent connects and opens the stream", "no stream header");
	check(!strcmp(P.from, host), "stream from is the host name", "from '%s'", P.from);
	run(env("PORT_ADD1"));
	answer();
	expect_subscribe("session up: subscribe vn1 with instance-id 1 first", vn1, 1);
	expect_pair("session up: publish + associate pair of port 1, exact shape", vn1, ip1, false);

	/* 2. a port added while up, in a new VRF. */
	run(env("PORT_ADD2"));
	expect_subscribe("port add: subscribe vn2 (instance-id 2) before its publish", vn2, 2);
	expect_pair("port add: publish + associate pair of port 2", vn2, ip2, false);

	/* 3. learned routes. */
	send_route(vn1, "10.1.0.2/32", "192.0.2.99", 33);
	send_route(vn1, "10.1.0.5/32", env("HOST_IP"), 35);	/* our own next hop: ignored */
	send_route(vn2, "10.2.0.7/32", "192.0.2.98", 44);
	send_route(vn1, "10.1.0.9/32", "192.0.2.99", 39);
	send_eor();
	check(wait_route(1, "10.1.0.2", "192.0.2.99", 33, 3000), "items: tunnel route 10.1.0.2 in vrf 1",
	      "not in the map");
	check(wait_route(2, "10.2.0.7", "192.0.2.98", 44, 3000), "items: tunnel route 10.2.0.7 in vrf 2",
	      "not in the map");
	idle(300);
	check(!route(1, "10.1.0.5").found, "items: a next hop equal to our own address is ignored", "installed");
	send_route(vn1, "10.1.0.2/32", "192.0.2.97", 34);
	check(wait_route(1, "10.1.0.2", "192.0.2.97", 34, 3000), "items: a changed route is replaced",
	      "still the old one");
	send_retract(vn2, "10.2.0.7/32");
	check(wait_route(2, "10.2.0.7", NULL, 0, 3000), "retract: route removed", "still there");

	/* 3b. many routes in one write, coalesced as the control node sends them (32 to a message, 4 messages),
	 * one of which the datapath refuses (10.1.1.50 exists already: an address conflict): the others all
	 * land, and the existing route is left alone, also by the retract of all 100 (256 to a message). */
	{
		struct vr_nh_spec discard = { .type = VR_NH_DISCARD };
		struct vr_xmpp_nexthop nh = { .addr.afi = 1, .label = 77, .encaps = VR_XMPP_ENCAP_UDP,
					      .virtual_network = vn1 };
		struct vr_xmpp_entry e[100];
		struct vr_xmpp_prefix pr[100];
		struct vr_xmpp_buf b;
		struct vr_handle h;
		char ip[32];
		int msgs;

		inet_pton(AF_INET, "192.0.2.77", &nh.addr.ip.v4);
		if (!vr_open(pin_dir, &h)) {
			__be32 a;

			inet_pton(AF_INET, "10.1.1.50", &a);
			if (vr_route_add(&h, 1, a, 32, &discard))
				fprintf(stderr, "cannot pre-install 10.1.1.50: %s\n", vr_strerror());
			vr_close(&h);
		}
		for (int i = 0; i < 100; i++) {
			snprintf(ip, sizeof(ip), "10.1.1.%d/32", i);
			e[i] = (struct vr_xmpp_entry){ .safi = 1, .n_nexthops = 1, .nexthops = &nh, .version = 1,
						       .sequence_number = (__u32)i + 1, .local_pref = 100,
						       .virtual_network = vn1, .sub_protocol = "interface" };
			vr_xmpp_prefix_parse(1, ip, &e[i].nlri);
			pr[i] = e[i].nlri;
		}
		vr_xmpp_buf_init(&b, 0);
		msgs = vr_xmpp_build_items(&b, host, 1, 1, vn1, e, 100);
		send_buf(&b);
		check(msgs == 4, "coalesced: 100 routes are 4 messages of at most 32", "%d messages", msgs);
		check(wait_route(1, "10.1.1.99", "192.0.2.77", 77, 3000), "coalesced: the last route of the burst lands",
		      "missing");
		check(span_count(1, "10.1.1", 0, 100, "192.0.2.77", 77) == 99,
		      "coalesced: every route but the refused one is installed", "%u of 99",
		      span_count(1, "10.1.1", 0, 100, "192.0.2.77", 77));
		struct find f = route(1, "10.1.1.50");

		check(f.found && f.type == VR_NH_DISCARD, "coalesced: the refused route leaves the existing one alone",
		      "found %d type %u", f.found, f.type);
		msgs = vr_xmpp_build_retracts(&b, host, 1, 1, vn1, pr, 100);
		send_buf(&b);
		check(msgs == 1, "coalesced: 100 retracts are one message", "%d messages", msgs);
		check(wait_route(1, "10.1.1.99", NULL, 0, 3000) && span_count(1, "10.1.1", 0, 100, "192.0.2.77", 77) == 0,
		      "coalesced retracts: every route removed", "%u left", span_count(1, "10.1.1", 0, 100, "192.0.2.77", 77));
		f = route(1, "10.1.1.50");
		check(f.found && f.type == VR_NH_DISCARD, "coalesced retracts: the route the agent did not install stays",
		      "found %d type %u", f.found, f.type);
		vr_xmpp_buf_free(&b);
		if (!vr_open(pin_dir, &h)) {
			__be32 a;

			inet_pton(AF_INET, "10.1.1.50", &a);
			vr_route_del(&h, 1, a, 32);
			vr_close(&h);
		}
	}

	/* 3c. the tunnel encapsulation of each learned route: the first of the agent's preferences (ENCAP_PREF) that
	 * the route's next hop offers; a route that offers none of them is skipped, and a change of encapsulation
	 * alone replaces the route. */
	{
		const char *pref = getenv("ENCAP_PREF") ? getenv("ENCAP_PREF") : "udp,gre";
		int first = strncmp(pref, "gre", 3) ? VR_ENCAP_UDP : VR_ENCAP_GRE;
		const char *fname = first == VR_ENCAP_GRE ? "gre" : "udp";
		char name[160];

		send_route_encaps(vn1, "10.1.2.1/32", "192.0.2.99", 51, VR_XMPP_ENCAP_UDP | VR_XMPP_ENCAP_GRE);
		send_route_encaps(vn1, "10.1.2.2/32", "192.0.2.99", 52, VR_XMPP_ENCAP_UDP);
		send_route_encaps(vn1, "10.1.2.3/32", "192.0.2.99", 53, VR_XMPP_ENCAP_GRE);
		send_route_encaps(vn1, "10.1.2.4/32", "192.0.2.99", 54, 0);
		send_route_encaps(vn1, "10.1.2.5/32", "192.0.2.99", 55, VR_XMPP_ENCAP_VXLAN);
		snprintf(name, sizeof(name), "encap (preferences %s): a route offering udp and gre uses %s", pref, fname);
		check(wait_route_encap(1, "10.1.2.1", "192.0.2.99", 51, first, 3000), name, "not so in the map");
		check(wait_route_encap(1, "10.1.2.2", "192.0.2.99", 52, VR_ENCAP_UDP, 3000),
		      "encap: a route offering only udp uses udp", "not so in the map");
		check(wait_route_encap(1, "10.1.2.3", "192.0.2.99", 53, VR_ENCAP_GRE, 3000),
		      "encap: a route offering only gre uses gre", "not so in the map");
		check(wait_route_encap(1, "10.1.2.4", "192.0.2.99", 54, VR_ENCAP_GRE, 3000),
		      "encap: a route without tunnel-encapsulation-list uses gre (the control node's default)",
		      "not so in the map");
		idle(300);
		check(!route(1, "10.1.2.5").found, "encap: a route offering only vxlan is skipped", "installed");
		send_route_encaps(vn1, "10.1.2.2/32", "192.0.2.99", 52, VR_XMPP_ENCAP_GRE);
		check(wait_route_encap(1, "10.1.2.2", "192.0.2.99", 52, VR_ENCAP_GRE, 3000),
		      "encap: the same next hop and label now offering only gre: replaced by a gre tunnel", "still udp");
		send_route_encaps(vn1, "10.1.2.3/32", "192.0.2.99", 53, VR_XMPP_ENCAP_VXLAN);
		check(wait_route(1, "10.1.2.3", NULL, 0, 3000),
		      "encap: an installed route re-sent offering only vxlan is removed", "still there");
		for (int i = 1; i <= 5; i++) {
			snprintf(name, sizeof(name), "10.1.2.%d/32", i);
			send_retract(vn1, name);
		}
		check(wait_route(1, "10.1.2.1", NULL, 0, 3000) && wait_route(1, "10.1.2.4", NULL, 0, 3000),
		      "encap: retracts remove gre and udp routes alike", "still there");
	}

	__u32 gr_ecmp = 0;	/* 10.1.3.1's group, kept across the session loss below */

	/* 3d. ECMP: an item with several next hops is a composite route of tunnels; a change of the list replaces it
	 * keeping the buckets of the members that stay; a list of one is a plain tunnel again. */
	{
		static const char *const two[] = { "192.0.2.92:62", "192.0.2.91:61" };
		static const char *const three[] = { "192.0.2.93:63", "192.0.2.91:61", "192.0.2.92:62" };
		static const char *const keep2[] = { "192.0.2.91:61", "192.0.2.93:63" };
		static const char *const one[] = { "192.0.2.93:63" };
		struct ecmp_info a, b;
		char name[200];
		bool kept = true;
		unsigned int moved = 0;

		send_route_nhs(vn1, "10.1.3.1/32", two, 2);
		check(wait_ecmp(1, "10.1.3.1", "192.0.2.91:61,192.0.2.92:62", 3000, &a),
		      "ECMP: an item with 2 next hops is a composite of 2 tunnels (vr_route_foreach, vr_ecmp_get)",
		      "found %d composite %d members '%s'", a.found, a.composite, a.members);
		{
			unsigned int n91 = 0;

			for (unsigned int i = 0; i < VR_ECMP_BUCKETS; i++)
				n91 += a.bucket_label[i] == 61;
			check(n91 == VR_ECMP_BUCKETS / 2, "ECMP: 2 members share the 64 buckets evenly",
			      "%u buckets to the first member", n91);
		}
		send_route_nhs(vn1, "10.1.3.1/32", three, 3);
		check(wait_ecmp(1, "10.1.3.1", "192.0.2.91:61,192.0.2.92:62,192.0.2.93:63", 3000, &a),
		      "ECMP: the same prefix with 3 next hops (any order): composite of 3, sorted",
		      "members '%s'", a.members);
		send_route_nhs(vn1, "10.1.3.1/32", keep2, 2);
		check(wait_ecmp(1, "10.1.3.1", "192.0.2.91:61,192.0.2.93:63", 3000, &b),
		      "ECMP: 3 -> 2 next hops: composite of the 2 left", "members '%s'", b.members);
		for (unsigned int i = 0; i < VR_ECMP_BUCKETS; i++) {
			if (a.bucket_label[i] != 62 &&
			    (a.bucket_label[i] != b.bucket_label[i] || a.bucket_ip[i] != b.bucket_ip[i]))
				kept = false;
			moved += a.bucket_label[i] != b.bucket_label[i];
		}
		snprintf(name, sizeof(name), "ECMP: 3 -> 2 by replace: every bucket of a member that stays is kept, "
			 "only the removed member's %u move", moved);
		check(kept && b.ecmp_id != a.ecmp_id && moved > 0 && moved < VR_ECMP_BUCKETS / 2, name,
		      "kept %d, group %u -> %u, %u buckets moved", kept, a.ecmp_id, b.ecmp_id, moved);
		check(ecmp_free(a.ecmp_id), "ECMP: the old group is released", "group %u still in use", a.ecmp_id);
		send_route_nhs(vn1, "10.1.3.1/32", one, 1);
		check(wait_route(1, "10.1.3.1", "192.0.2.93", 63, 3000) && ecmp_free(b.ecmp_id),
		      "ECMP: back to 1 next hop: a plain tunnel route, the group released", "not so");
		send_route_nhs(vn1, "10.1.3.1/32", two, 2);
		check(wait_ecmp(1, "10.1.3.1", "192.0.2.91:61,192.0.2.92:62", 3000, &a),
		      "ECMP: from a plain tunnel to 2 next hops again", "members '%s'", a.members);
		gr_ecmp = a.ecmp_id;
		/* this host's own next hop in the list is left out; with one other left: a plain tunnel */
		{
			char self[64];
			const char *mine[2] = { self, "192.0.2.94:64" };

			snprintf(self, sizeof(self), "%s:35", env("HOST_IP"));
			send_route_nhs(vn1, "10.1.3.2/32", mine, 2);
			check(wait_route(1, "10.1.3.2", "192.0.2.94", 64, 3000),
			      "ECMP: this host's next hop is left out (a plain tunnel to the other one)", "not so");
		}
		/* more than 16: the first 16 distinct ones of the item; a duplicate counts once */
		{
			char buf[20][24], want[16 * 24];
			const char *many[20];
			unsigned int at = 0;

			for (int i = 0; i < 20; i++) {
				snprintf(buf[i], sizeof(buf[i]), "192.0.2.%d:%d", 120 + (i == 3 ? 2 : i), 100 + (i == 3 ? 2 : i));
				many[i] = buf[i];
			}
			/* item order 120, 121, 122, 122 (again), 124, ... 139: the first 16 distinct are 120..122, 124..136 */
			for (int i = 0; i < 20 && at < sizeof(want); i++) {
				if (i == 3 || (i > 3 && i > 16))
					continue;
				at += (unsigned int)snprintf(want + at, sizeof(want) - at, "%s192.0.2.%d:%d", at ? "," : "",
							     120 + i, 100 + i);
			}
			send_route_nhs(vn1, "10.1.3.3/32", many, 20);
			check(wait_ecmp(1, "10.1.3.3", want, 3000, &a) && a.n == 16,
			      "ECMP: 20 next hops (19 distinct): the first 16 make the composite (logged)",
			      "%u members '%s'", a.n, a.members);
		}
		send_retract(vn1, "10.1.3.3/32");
		send_retract(vn1, "10.1.3.2/32");
		check(wait_route(1, "10.1.3.3", NULL, 0, 3000) && wait_route(1, "10.1.3.2", NULL, 0, 3000) &&
		      ecmp_free(a.ecmp_id), "ECMP: a retract removes the composite route and releases its group",
		      "still there");
		/* 10.1.3.1 (2 next hops) stays for the graceful-restart checks below */
	}

	/* 4. keepalives from the agent (hold 3 s: every second). */
	unsigned long k0 = P.keepalives;
	idle(2500);
	check(P.keepalives >= k0 + 1, "keepalives U+0200 every hold/3", "%lu in 2.5 s", P.keepalives - k0);

	/* 5. graceful restart: the session dies, routes stay; the controller re-sends only 10.1.0.8. */
	kill_session();
	usleep(300000);
	check(route(1, "10.1.0.2").found && route(1, "10.1.0.9").found, "session lost: learned routes kept (stale)",
	      "withdrawn");
	check(ecmp_route(1, "10.1.3.1").ecmp_id == gr_ecmp, "session lost: the ECMP route kept (stale), same group",
	      "group %u, was %u", ecmp_route(1, "10.1.3.1").ecmp_id, gr_ecmp);
	check(accept_session(5000), "agent reconnects (backoff)", "no reconnect within 5 s");
	answer();
	expect_subscribe("reconnect: subscribe vn1 again", vn1, 1);
	struct msg m2;
	bool sub2 = false;
	for (int i = 0; i < 4 && next_msg(&m2, 2000); i++)
		if (m2.kind == VR_XMPP_ST_SUBSCRIBE && !strcmp(m2.node, vn2))
			sub2 = true;
	check(sub2, "reconnect: subscribe vn2 again, then publishes", "not seen");
	send_route(vn1, "10.1.0.9/32", "192.0.2.99", 39);
	send_route(vn1, "10.1.0.8/32", "192.0.2.99", 38);
	{
		static const char *const two[] = { "192.0.2.91:61", "192.0.2.92:62" };

		send_route_nhs(vn1, "10.1.3.1/32", two, 2);
	}
	check(wait_route(1, "10.1.0.8", "192.0.2.99", 38, 3000), "reconnect: new route installed", "missing");
	idle(500);
	check(route(1, "10.1.0.2").found, "reconnect: not refreshed route still there before the stale timer",
	      "swept early");
	check(wait_route(1, "10.1.0.2", NULL, 0, (stale + 2) * 1000), "stale timer: not refreshed route swept",
	      "still there");
	check(route(1, "10.1.0.9").found && route(1, "10.1.0.8").found, "stale timer: refreshed routes kept",
	      "swept");
	check(ecmp_route(1, "10.1.3.1").ecmp_id == gr_ecmp && !strcmp(ecmp_route(1, "10.1.3.1").members,
								     "192.0.2.91:61,192.0.2.92:62"),
	      "stale timer: the refreshed ECMP route kept as it was (same group, no rebuild)", "group %u, was %u",
	      ecmp_route(1, "10.1.3.1").ecmp_id, gr_ecmp);

	/* 6. again, with EndOfRib: only 10.1.0.8 is re-sent; 10.1.0.9 goes at EndOfRib. */
	kill_session();
	check(accept_session(5000), "agent reconnects again", "no reconnect");
	answer();
	idle(300);
	while (P.head != P.tail)
		next_msg(&m, 10);
	send_route(vn1, "10.1.0.8/32", "192.0.2.99", 38);
	send_eor();
	check(wait_route(1, "10.1.0.9", NULL, 0, 2000), "EndOfRib: not refreshed route swept at once", "still there");
	check(route(1, "10.1.0.8").found, "EndOfRib: refreshed route kept", "swept");
	check(!route(1, "10.1.3.1").found && ecmp_free(gr_ecmp),
	      "EndOfRib: the not refreshed ECMP route swept, its group released", "still there");

	/* 6b. IPv6: a port with IPv6 addresses publishes each as a /128 on node 2/1/VN (next hop this host, the port's
	 * label, udp and gre: the /32's), learned 2/1 routes are installed, replaced and retracted, ECMP among them,
	 * a local port's address wins, bad destinations are refused (and logged: e2e_agent_xmpp.sh reads the log). */
	if (getenv("PORT_ADD3")) {
		const char *ip3 = env("IP3"), *ip6a = env("IP6A"), *ip6b = env("IP6B");
		char p6a[64], p6b[64];
		__u32 l4, l6a, l6b;
		struct find f;

		snprintf(p6a, sizeof(p6a), "%s/128", ip6a);
		snprintf(p6b, sizeof(p6b), "%s/128", ip6b);
		run(env("PORT_ADD3"));
		l4 = expect_pair_at("IPv6 port add: its IPv4 /32 on 1/1 first", vn1, ip3, false, false);
		l6a = expect_pair_at("IPv6 port add: publish + associate of its first IPv6 address on 2/1 as a /128, "
				     "next hop this host (af 1), udp+gre, exact shape", vn1, ip6a, false, true);
		l6b = expect_pair_at("IPv6 port add: publish + associate of its second IPv6 address", vn1, ip6b, false,
				     true);
		check(l4 >= 16 && l6a == l4 && l6b == l4, "IPv6 port add: the /128s carry the port's label, the /32's",
		      "labels %u, %u, %u", l4, l6a, l6b);
		f = route(1, p6a);
		check(f.found && f.type == VR_NH_ENCAP, "IPv6 port add: a local /128 via the vif (route table, libvrouter)",
		      "found %d type %u", f.found, f.type);
		check(route(1, p6b).found && route(1, p6b).type == VR_NH_ENCAP,
		      "IPv6 port add: a local /128 for its second address too", "missing");
		{
			struct vr_handle h;
			struct vr_vif vif = {};
			struct in6_addr a, g;
			bool got = false;

			inet_pton(AF_INET6, ip6a, &a);
			inet_pton(AF_INET6, env("GW6"), &g);
			if (!vr_open(pin_dir, &h)) {
				got = !vr_vif_get(&h, env("VIF3"), &vif);
				vr_close(&h);
			}
			check(got && !memcmp(vif.ip6, &a, 16) && !memcmp(vif.gw6, &g, 16),
			      "IPv6 port add: the vif holds the first IPv6 address and the IPv6 gateway", "vif %d", got);
		}

		/* learned routes on 2/1 */
		send_route6(vn1, "fd00:2::7/128", "192.0.2.99", 71);
		send_route6(vn1, "fd00:3::/64", "192.0.2.98", 72);
		send_route6(vn1, "fd00:2::5/128", env("HOST_IP"), 70);	/* our own next hop: ignored */
		check(wait_route(1, "fd00:2::7/128", "192.0.2.99", 71, 3000), "IPv6 items: tunnel route fd00:2::7/128 in vrf 1",
		      "not in the map");
		check(wait_route(1, "fd00:3::/64", "192.0.2.98", 72, 3000),
		      "IPv6 items: tunnel route fd00:3::/64 (the VRF's IPv6 trie)", "not in the map");
		check(!route(1, "fd00:2::5/128").found, "IPv6 items: a next hop equal to our own address is ignored",
		      "installed");
		send_route6(vn1, "fd00:2::7/128", "192.0.2.97", 74);
		check(wait_route(1, "fd00:2::7/128", "192.0.2.97", 74, 3000), "IPv6 items: a changed route is replaced",
		      "still the old one");

		/* ECMP: 2 next hops, then 3 (the buckets of the two that stay are kept), one retract */
		{
			static const char *const two[] = { "192.0.2.92:62", "192.0.2.91:61" };
			static const char *const three[] = { "192.0.2.93:63", "192.0.2.91:61", "192.0.2.92:62" };
			struct ecmp_info a, b;
			unsigned int moved = 0;
			bool kept = true;

			send_route6_nhs(vn1, "fd00:2::8/128", two, 2);
			check(wait_ecmp(1, "fd00:2::8/128", "192.0.2.91:61,192.0.2.92:62", 3000, &a),
			      "IPv6 ECMP: an item with 2 next hops is a composite of 2 tunnels", "composite %d members '%s'",
			      a.composite, a.members);
			send_route6_nhs(vn1, "fd00:2::8/128", three, 3);
			check(wait_ecmp(1, "fd00:2::8/128", "192.0.2.91:61,192.0.2.92:62,192.0.2.93:63", 3000, &b),
			      "IPv6 ECMP: 3 next hops replace it, sorted", "members '%s'", b.members);
			for (unsigned int i = 0; i < VR_ECMP_BUCKETS; i++) {
				if (b.bucket_label[i] != 63 && b.bucket_label[i] != a.bucket_label[i])
					kept = false;
				moved += b.bucket_label[i] != a.bucket_label[i];
			}
			check(kept && moved > 0 && ecmp_free(a.ecmp_id),
			      "IPv6 ECMP: 2 -> 3 by replace: only buckets moving to the new member change, the old group released",
			      "kept %d, %u moved", kept, moved);
			send_retract6(vn1, "fd00:2::8/128");
			check(wait_route(1, "fd00:2::8/128", NULL, 0, 3000) && ecmp_free(b.ecmp_id),
			      "IPv6 ECMP: a retract removes the composite and releases its group", "still there");
		}

		/* a learned route for the port's own address is kept but not installed while the port has it */
		send_route6(vn1, p6b, "192.0.2.96", 75);
		idle(300);
		f = route(1, p6b);
		check(f.found && f.type == VR_NH_ENCAP, "IPv6: a learned route for a local port's address leaves the "
		      "port's /128 alone", "found %d type %u", f.found, f.type);

		/* multicast and link-local destinations are refused; the good item of the same message is not */
		{
			static const char *const pfx[] = { "ff02::1/128", "fe80::5/128", "fd00:2::9/128" };
			struct vr_xmpp_nexthop nh = { .addr.afi = 1, .label = 76, .encaps = VR_XMPP_ENCAP_UDP,
						      .virtual_network = vn1 };
			struct vr_xmpp_entry e[3];
			struct vr_xmpp_buf b;

			inet_pton(AF_INET, "192.0.2.99", &nh.addr.ip.v4);
			for (int i = 0; i < 3; i++) {
				e[i] = (struct vr_xmpp_entry){ .safi = 1, .n_nexthops = 1, .nexthops = &nh, .version = 1,
							       .local_pref = 100, .virtual_network = vn1 };
				vr_xmpp_prefix_parse(VR_XMPP_AFI_IPV6, pfx[i], &e[i].nlri);
			}
			vr_xmpp_buf_init(&b, 0);
			vr_xmpp_build_items(&b, host, VR_XMPP_AFI_IPV6, 1, vn1, e, 3);
			send_buf(&b);
			vr_xmpp_buf_free(&b);
			check(wait_route(1, "fd00:2::9/128", "192.0.2.99", 76, 3000),
			      "IPv6 refused prefixes: the good item of the message is installed", "missing");
			check(!route(1, "ff02::1/128").found && !route(1, "fe80::5/128").found && P.fd >= 0,
			      "IPv6 refused prefixes: multicast and link-local not installed, the session stays up",
			      "installed or closed");
		}

		/* retracts */
		send_retract6(vn1, "fd00:2::7/128");
		send_retract6(vn1, "fd00:3::/64");
		send_retract6(vn1, "fd00:2::9/128");
		check(wait_route(1, "fd00:2::7/128", NULL, 0, 3000) && wait_route(1, "fd00:3::/64", NULL, 0, 3000) &&
		      wait_route(1, "fd00:2::9/128", NULL, 0, 3000), "IPv6 retract: routes removed", "still there");

		/* the port goes: withdraws on both families; its address's learned route comes in */
		run(env("PORT_DEL3"));
		expect_pair_at("IPv6 port del: the /32 withdrawn (1/1)", vn1, ip3, true, false);
		expect_pair_at("IPv6 port del: the first /128 withdrawn (2/1 publish + dissociate)", vn1, ip6a, true, true);
		expect_pair_at("IPv6 port del: the second /128 withdrawn", vn1, ip6b, true, true);
		check(wait_route(1, p6a, NULL, 0, 3000), "IPv6 port del: its local /128 removed", "still there");
		check(wait_route(1, p6b, "192.0.2.96", 75, 3000),
		      "IPv6 port del: the learned route for its address is installed once the port is gone", "not so");
		send_retract6(vn1, p6b);
		check(wait_route(1, p6b, NULL, 0, 3000), "IPv6 retract: the formerly local address's route removed",
		      "still there");
	}

	/* 7. port delete while up: withdraw pair then unsubscribe (its VRF has no port left). */
	run(env("PORT_DEL2"));
	expect_pair("port del: publish + dissociate withdraw pair", vn2, ip2, true);
	if (next_msg(&m, 3000))
		check(m.kind == VR_XMPP_ST_UNSUBSCRIBE && !strcmp(m.node, vn2), "port del: unsubscribe vn2 (last port)",
		      "got kind %d node %s", m.kind, m.node);
	else
		check(false, "port del: unsubscribe vn2 (last port)", "nothing");

	/* 8. hostile input closes the session, routes stay, the agent reconnects. */
	send_raw("<!DOCTYPE x [<!ENTITY a \"b\">]>");
	bool closed = false;
	for (uint64_t end = now_ms() + 3000; now_ms() < end && !closed;)
		closed = !pump(100);
	check(closed, "hostile input: a DOCTYPE closes the session", "still open");
	check(route(1, "10.1.0.8").found, "hostile input: learned routes kept", "withdrawn");
	check(accept_session(6000), "hostile input: the agent reconnects", "no reconnect");

	/* 9. a 2/1 item that is not an IPv6 prefix: the decoder refuses the message, the session closes (logged),
	 * the learned routes stay, the agent reconnects. */
	if (getenv("PORT_ADD3")) {
		static const char *const bad[] = { "10.1.0.77/32", "fd00:4::1/129", "fd00:zz::1/128" };
		static const char *const what[] = { "an IPv4 prefix", "a /129", "a garbage address" };
		char name[160];

		for (int i = 0; i < 3; i++) {
			bool gone = false;

			answer_and_drain();
			send_raw_item6(vn1, bad[i]);
			for (uint64_t end = now_ms() + 3000; now_ms() < end && !gone;)
				gone = !pump(100);
			snprintf(name, sizeof(name), "IPv6 hostile input: a 2/1 item of %s closes the session", what[i]);
			check(gone, name, "still open");
			snprintf(name, sizeof(name), "IPv6 hostile input (%s): learned routes kept, the agent reconnects",
				 what[i]);
			check(route(1, "10.1.0.8").found && accept_session(6000), name, "routes %d", route(1, "10.1.0.8").found);
		}
		answer_and_drain();
	}
	int st;
	check(waitpid(agent, &st, WNOHANG) == 0, "the agent is still running", "it exited");

	kill(agent, SIGTERM);
	waitpid(agent, &st, 0);
	kill_session();
	vr_xmpp_decoder_free(P.dec);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
