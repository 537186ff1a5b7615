/* Protocol tests of vrouter-controller: starts it as a child process on 127.0.0.1 (a free port, a 3 s hold
 * time) and plays agents over real TCP sockets with the XMPP codec (agent/xmpp.h): route reflection with
 * the exact entry fields, the table dump then EndOfRib for a late subscriber, withdraws, ECMP (one item with
 * the next hops of every other origin of a prefix, sorted, at most 16, re-sent as origins come and go), every rule and
 * hostile input closing only the offending session, the graceful-restart window, keepalives, and a peer that
 * does not read. Prints "ok NAME" / "FAIL NAME: why" and ends with "N passed, N failed". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "xmpp.h"

#define HOLD_S		3
#define MAX_REC		16384
#define MAX_AGENTS	32

static int n_pass, n_fail;
static int port;
static pid_t ctrl_pid = -1;
static char log_path[] = "/tmp/test_controller.XXXXXX";

enum rec_type { R_ITEM, R_RETRACT, R_EOR };

struct rec {
	enum rec_type type;
	char vrf[64];
	char prefix[VR_XMPP_PREFIX_STRLEN];
	__be32 nh;
	__u32 label;
	unsigned int encaps;
	bool has_mac;
	__u8 mac[6];
	char vn[32];
	unsigned int n_nh;	/* next hops in the item */
	char nhs[16 * 24];	/* all of them, "ADDR:LABEL,ADDR:LABEL,..." in the order received */
	__u32 local_pref;
	unsigned int msg;	/* which message it came in */
	__u16 afi;		/* of the items node: 1 (1/1/VRF) or 2 (2/1/VRF) */
	__u8 nh_afi;		/* of the first next hop */
};

struct agent {
	char name[64];
	int fd;
	struct vr_xmpp_decoder *dec;
	bool open, closed, quiet;	/* quiet: sends no keepalives */
	unsigned int keepalives;
	unsigned int msgs;
	unsigned int n;
	struct rec rec[MAX_REC];
	unsigned int seq;
	long long last_ka;
	char stream_to[64];
};

static struct agent *agents[MAX_AGENTS];

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void result(bool ok, const char *name, const char *fmt, ...)
{
	if (ok) {
		printf("ok %s\n", name);
		n_pass++;
	} else {
		va_list ap;

		printf("FAIL %s: ", name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
		n_fail++;
	}
	fflush(stdout);
}

static int on_event(void *user, const struct vr_xmpp_event *ev)
{
	struct agent *a = user;
	const struct vr_xmpp_stanza *st;

	switch (ev->type) {
	case VR_XMPP_EV_STREAM_OPEN:
		a->open = true;
		snprintf(a->stream_to, sizeof(a->stream_to), "%s", ev->u.header->to ? ev->u.header->to : "");
		break;
	case VR_XMPP_EV_KEEPALIVE:
		a->keepalives += ev->u.keepalive.keepalives;
		break;
	case VR_XMPP_EV_STREAM_CLOSE:
		a->closed = true;
		break;
	case VR_XMPP_EV_STANZA:
		st = ev->u.stanza;
		if (st->kind != VR_XMPP_ST_ITEMS)
			break;
		a->msgs++;
		if (st->u.items.end_of_rib && a->n < MAX_REC) {
			a->rec[a->n++] = (struct rec){ .type = R_EOR, .msg = a->msgs };
			break;
		}
		for (unsigned int i = 0; i < st->u.items.n_items && a->n < MAX_REC; i++) {
			const struct vr_xmpp_entry *e = &st->u.items.items[i];
			struct rec *r = &a->rec[a->n++];

			memset(r, 0, sizeof(*r));
			r->type = R_ITEM;
			r->msg = a->msgs;
			r->afi = st->u.items.node.afi;
			snprintf(r->vrf, sizeof(r->vrf), "%s", st->u.items.node.vrf ? st->u.items.node.vrf : "");
			vr_xmpp_prefix_format(&e->nlri, r->prefix, sizeof(r->prefix));
			if (e->n_nexthops) {
				r->nh_afi = e->nexthops[0].addr.afi;
				r->nh = e->nexthops[0].addr.ip.v4;
				r->label = e->nexthops[0].label;
				r->encaps = e->nexthops[0].encaps;
				r->has_mac = e->nexthops[0].has_mac;
				memcpy(r->mac, e->nexthops[0].mac, 6);
				snprintf(r->vn, sizeof(r->vn), "%s",
					 e->nexthops[0].virtual_network ? e->nexthops[0].virtual_network : "");
			}
			r->n_nh = e->n_nexthops;
			r->local_pref = e->local_pref;
			for (unsigned int k = 0, at = 0; k < e->n_nexthops && at < sizeof(r->nhs); k++) {
				char ip[INET6_ADDRSTRLEN];

				inet_ntop(AF_INET, &e->nexthops[k].addr.ip.v4, ip, sizeof(ip));
				at += (unsigned int)snprintf(r->nhs + at, sizeof(r->nhs) - at, "%s%s:%u", k ? "," : "", ip,
							     e->nexthops[k].label);
			}
		}
		for (unsigned int i = 0; i < st->u.items.n_retracts && a->n < MAX_REC; i++) {
			struct rec *r = &a->rec[a->n++];

			memset(r, 0, sizeof(*r));
			r->type = R_RETRACT;
			r->msg = a->msgs;
			r->afi = st->u.items.node.afi;
			snprintf(r->vrf, sizeof(r->vrf), "%s", st->u.items.node.vrf ? st->u.items.node.vrf : "");
			vr_xmpp_prefix_format(&st->u.items.retracts[i], r->prefix, sizeof(r->prefix));
		}
		break;
	default:
		break;
	}
	return 0;
}

static void agent_read(struct agent *a)
{
	char buf[65536];

	for (;;) {
		ssize_t n = recv(a->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			a->closed = true;
			return;
		}
		if (n < 0)
			return;
		if (vr_xmpp_decoder_feed(a->dec, buf, (size_t)n))
			a->closed = true;
	}
}

static void drain_all(void);

static bool send_all(struct agent *a, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = send(a->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = a->fd, .events = POLLOUT };

			/* the controller may be waiting for the others to read before it reads us */
			drain_all();
			poll(&pfd, 1, 10);
			continue;
		}
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static void drain_all(void)
{
	for (int i = 0; i < MAX_AGENTS; i++)
		if (agents[i] && agents[i]->fd >= 0 && !agents[i]->closed)
			agent_read(agents[i]);
}

/* Reads every agent for ms milliseconds; agents that are not quiet send a keepalive every 500 ms. */
static void pump(int ms)
{
	long long end = now_ms() + ms;

	do {
		struct pollfd pfd[MAX_AGENTS];
		struct agent *who[MAX_AGENTS];
		int n = 0;

		for (int i = 0; i < MAX_AGENTS; i++) {
			struct agent *a = agents[i];

			if (!a || a->fd < 0 || a->closed)
				continue;
			if (!a->quiet && now_ms() - a->last_ka >= 500) {
				(void)!send(a->fd, VR_XMPP_KEEPALIVE, 2, MSG_NOSIGNAL | MSG_DONTWAIT);
				a->last_ka = now_ms();
			}
			pfd[n] = (struct pollfd){ .fd = a->fd, .events = POLLIN };
			who[n++] = a;
		}
		long long left = end - now_ms();

		if (poll(pfd, (nfds_t)n, left > 50 ? 50 : (left > 0 ? (int)left : 0)) > 0)
			for (int i = 0; i < n; i++)
				if (pfd[i].revents)
					agent_read(who[i]);
	} while (now_ms() < end);
}

#define WAIT(cond, ms) ({ long long _end = now_ms() + (ms); bool _ok; \
	while (!(_ok = (cond)) && now_ms() < _end) { pump(20); } _ok; })

static struct agent *agent_new(const char *name)
{
	struct agent *a = calloc(1, sizeof(*a));
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((__u16)port) };

	snprintf(a->name, sizeof(a->name), "%s", name);
	a->dec = vr_xmpp_decoder_new(NULL, on_event, a);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(a->fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(a->fd);
		a->fd = -1;
	}
	for (int i = 0; i < MAX_AGENTS; i++)
		if (!agents[i]) {
			agents[i] = a;
			break;
		}
	return a;
}

static void agent_kill(struct agent *a)
{
	if (a->fd >= 0) {
		/* An abortive close: like a SIGKILLed agent, no dissociate and no stream close. */
		struct linger l = { 1, 0 };

		setsockopt(a->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		close(a->fd);
	}
	a->fd = -1;
	a->closed = true;
}

static void agent_free(struct agent *a)
{
	agent_kill(a);
	for (int i = 0; i < MAX_AGENTS; i++)
		if (agents[i] == a)
			agents[i] = NULL;
	vr_xmpp_decoder_free(a->dec);
	free(a);
}

static bool send_buf(struct agent *a, struct vr_xmpp_buf *b, int rc)
{
	bool ok = rc >= 0 && send_all(a, b->data, b->len);

	vr_xmpp_buf_free(b);
	return ok;
}

/* Connects and opens the stream; true once the controller's header came back. */
static struct agent *agent_up(const char *name)
{
	struct agent *a = agent_new(name);
	struct vr_xmpp_buf b;

	if (a->fd < 0)
		return a;
	vr_xmpp_buf_init(&b, 0);
	send_buf(a, &b, vr_xmpp_build_stream_open(&b, name, NULL));
	WAIT(a->open || a->closed, 2000);
	return a;
}

static bool subscribe(struct agent *a, const char *vrf, __u32 inst)
{
	struct vr_xmpp_buf b;

	vr_xmpp_buf_init(&b, 0);
	return send_buf(a, &b, vr_xmpp_build_subscribe(&b, a->name, ++a->seq, vrf, inst));
}

static void entry_make(struct vr_xmpp_entry *e, struct vr_xmpp_nexthop *nh, const char *prefix, const char *nhip,
		       __u32 label)
{
	memset(e, 0, sizeof(*e));
	memset(nh, 0, sizeof(*nh));
	vr_xmpp_prefix_parse(VR_XMPP_AFI_IPV4, prefix, &e->nlri);
	e->safi = VR_XMPP_SAFI_UNICAST;
	nh->addr.afi = VR_XMPP_AFI_IPV4;
	inet_pton(AF_INET, nhip, &nh->addr.ip.v4);
	nh->has_mac = true;
	memcpy(nh->mac, "\x02\x00\x00\x00\x00\x07", 6);
	nh->label = label;
	nh->encaps = VR_XMPP_ENCAP_UDP | VR_XMPP_ENCAP_GRE;
	nh->virtual_network = "default-domain:admin:vn1";
	e->n_nexthops = 1;
	e->nexthops = nh;
	e->version = 1;
	e->local_pref = 100;
	e->sub_protocol = "interface";
}

/* An IPv6 route (node 2/1/VRF/PREFIX): the same entry with an inet6 nlri; the next hop stays IPv4 (the underlay). */
static void entry_make6(struct vr_xmpp_entry *e, struct vr_xmpp_nexthop *nh, const char *prefix, const char *nhip,
			__u32 label)
{
	entry_make(e, nh, "10.0.0.0/32", nhip, label);
	vr_xmpp_prefix_parse(VR_XMPP_AFI_IPV6, prefix, &e->nlri);
}

static bool publish6(struct agent *a, const char *vrf, const char *prefix, const char *nhip, __u32 label)
{
	struct vr_xmpp_nexthop nh;
	struct vr_xmpp_entry e;
	struct vr_xmpp_buf b;

	entry_make6(&e, &nh, prefix, nhip, label);
	vr_xmpp_buf_init(&b, 0);
	return send_buf(a, &b, vr_xmpp_build_publish(&b, a->name, ++a->seq, vrf, &e));
}

static bool withdraw6(struct agent *a, const char *vrf, const char *prefix)
{
	struct vr_xmpp_prefix p;
	struct vr_xmpp_buf b;

	vr_xmpp_prefix_parse(VR_XMPP_AFI_IPV6, prefix, &p);
	vr_xmpp_buf_init(&b, 0);
	return send_buf(a, &b, vr_xmpp_build_withdraw(&b, a->name, ++a->seq, vrf, VR_XMPP_SAFI_UNICAST, &p));
}

/* A publish whose next hop offers encaps (VR_XMPP_ENCAP_*; 0: no tunnel-encapsulation-list). */
static bool publish_encaps(struct agent *a, const char *vrf, const char *prefix, const char *nhip, __u32 label,
			   unsigned int encaps)
{
	struct vr_xmpp_nexthop nh;
	struct vr_xmpp_entry e;
	struct vr_xmpp_buf b;

	entry_make(&e, &nh, prefix, nhip, label);
	nh.encaps = encaps;
	vr_xmpp_buf_init(&b, 0);
	return send_buf(a, &b, vr_xmpp_build_publish(&b, a->name, ++a->seq, vrf, &e));
}

static bool publish(struct agent *a, const char *vrf, const char *prefix, const char *nhip, __u32 label)
{
	return publish_encaps(a, vrf, prefix, nhip, label, VR_XMPP_ENCAP_UDP | VR_XMPP_ENCAP_GRE);
}

/* A publish with local-preference lp and next-hop virtual-network vn. */
static bool publish_lp(struct agent *a, const char *vrf, const char *prefix, const char *nhip, __u32 label, __u32 lp,
		       const char *vn)
{
	struct vr_xmpp_nexthop nh;
	struct vr_xmpp_entry e;
	struct vr_xmpp_buf b;

	entry_make(&e, &nh, prefix, nhip, label);
	e.local_pref = lp;
	if (vn)
		nh.virtual_network = vn;
	vr_xmpp_buf_init(&b, 0);
	return send_buf(a, &b, vr_xmpp_build_publish(&b, a->name, ++a->seq, vrf, &e));
}

/* The next hops of the last item a received for prefix ("" when none came or a retract came after it). */
static const char *last_nhs(const struct agent *a, const char *vrf, const char *prefix)
{
	for (unsigned int i = a->n; i-- > 0;)
		if ((a->rec[i].type == R_ITEM || a->rec[i].type == R_RETRACT) && !strcmp(a->rec[i].vrf, vrf) &&
		    !strcmp(a->rec[i].prefix, prefix))
			return a->rec[i].type == R_ITEM ? a->rec[i].nhs : "";
	return "";
}

static bool withdraw(struct agent *a, const char *vrf, const char *prefix)
{
	struct vr_xmpp_prefix p;
	struct vr_xmpp_buf b;

	vr_xmpp_prefix_parse(VR_XMPP_AFI_IPV4, prefix, &p);
	vr_xmpp_buf_init(&b, 0);
	return send_buf(a, &b, vr_xmpp_build_withdraw(&b, a->name, ++a->seq, vrf, VR_XMPP_SAFI_UNICAST, &p));
}

static const struct rec *find(const struct agent *a, enum rec_type t, const char *vrf, const char *prefix)
{
	for (unsigned int i = a->n; i-- > 0;)
		if (a->rec[i].type == t && (!vrf || !strcmp(a->rec[i].vrf, vrf)) &&
		    (!prefix || !strcmp(a->rec[i].prefix, prefix)))
			return &a->rec[i];
	return NULL;
}

static unsigned int count(const struct agent *a, enum rec_type t, const char *prefix)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < a->n; i++)
		if (a->rec[i].type == t && (!prefix || !strcmp(a->rec[i].prefix, prefix)))
			n++;
	return n;
}

/* ---- the controller child ---- */

static int free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || getsockname(fd, (struct sockaddr *)&sin, &sl))
		p = -1;
	else
		p = ntohs(sin.sin_port);
	close(fd);
	return p;
}

/* Starts bin with the test's options and the extra ones (NULL-terminated; NULL: none). */
static bool start_controller(const char *bin, const char *const *extra)
{
	char pbuf[16], hbuf[16];

	for (int tries = 0; tries < 5; tries++) {
		port = free_port();
		snprintf(pbuf, sizeof(pbuf), "%d", port);
		snprintf(hbuf, sizeof(hbuf), "%d", HOLD_S);
		ctrl_pid = fork();
		if (ctrl_pid == 0) {
			int fd = open(log_path, O_WRONLY | O_APPEND);

			dup2(fd, 2);
			dup2(fd, 1);
			const char *args[64] = { bin, "-l", "127.0.0.1", "-p", pbuf, "--hold", hbuf, "--max-out", "262144",
						 "-v" };
			int n = 10;

			for (int i = 0; extra && extra[i] && n < 63; i++)
				args[n++] = extra[i];
			execv(bin, (char *const *)args);
			_exit(127);
		}
		for (int i = 0; i < 100; i++) {
			struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((__u16)port) };
			int fd = socket(AF_INET, SOCK_STREAM, 0), st;

			sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			if (!connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
				close(fd);
				return true;
			}
			close(fd);
			if (waitpid(ctrl_pid, &st, WNOHANG) == ctrl_pid)
				break;
			usleep(20000);
		}
	}
	return false;
}

static bool controller_alive(void)
{
	int st;

	return waitpid(ctrl_pid, &st, WNOHANG) == 0;
}

static unsigned int log_count(const char *needle)
{
	FILE *f = fopen(log_path, "r");
	char line[2048];
	unsigned int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

/* ---- the tests ---- */

#define VRF1 "default-domain:admin:vn1:vn1"
#define VRF2 "default-domain:admin:vn2:vn2"

/* A hostile or rule-breaking agent: opens a stream, subscribes, sends bad, and must be closed, while the
 * observers keep getting updates from pub. */
static void hostile(const char *name, const void *bad, size_t len, bool sub_first, struct agent *pub,
		    struct agent *obs, const char *log_needle)
{
	static unsigned int round;
	/* sub_first false and no log needle: the bytes replace the stream header */
	struct agent *h = !sub_first && !log_needle ? agent_new(name) : agent_up(name);
	char prefix[32];
	unsigned int before = log_count(log_needle ? log_needle : "closed");
	bool closed;

	if (sub_first)
		subscribe(h, VRF1, 9);
	send_all(h, bad, len);
	closed = WAIT(h->closed, 3000);
	snprintf(prefix, sizeof(prefix), "10.9.%u.1/32", ++round);
	publish(pub, VRF1, prefix, "192.0.2.1", 100 + round);
	bool seen = WAIT(find(obs, R_ITEM, VRF1, prefix) != NULL, 2000);
	bool logged = WAIT(log_count(log_needle ? log_needle : "closed") > before, 1000);

	result(closed && seen && !pub->closed && !obs->closed && logged && controller_alive(), name,
	       "closed %d, others served %d (pub closed %d, obs closed %d), logged %d", closed, seen, pub->closed,
	       obs->closed, logged);
	agent_free(h);
}

static char *publish_text(const char *host, const char *prefix, __u32 label, unsigned int n_nh, size_t *len)
{
	struct vr_xmpp_nexthop nh[2];
	struct vr_xmpp_entry e;
	struct vr_xmpp_buf b;
	char *s;

	entry_make(&e, &nh[0], prefix, "192.0.2.66", label);
	nh[1] = nh[0];
	inet_pton(AF_INET, "192.0.2.67", &nh[1].addr.ip.v4);
	e.n_nexthops = n_nh;
	vr_xmpp_buf_init(&b, 0);
	if (vr_xmpp_build_publish(&b, host, 1, VRF1, &e) < 0) {
		vr_xmpp_buf_free(&b);
		return NULL;
	}
	s = strndup(b.data, b.len);
	*len = b.len;
	vr_xmpp_buf_free(&b);
	return s;
}

/* Runs bin with one more option and no listening; returns its exit status (-1: did not run) and its output. */
static int run_opt(const char *bin, const char *o1, const char *o2, char *out, size_t size)
{
	char cmd[1024];
	FILE *f;
	size_t n = 0;
	int st;

	snprintf(cmd, sizeof(cmd), "'%s' -l 127.0.0.1 -p 1 '%s' '%s' 2>&1 </dev/null", bin, o1, o2);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (n + 1 < size && fgets(out + n, (int)(size - n), f))
		n += strlen(out + n);
	out[n] = 0;
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define LVA "default-domain:admin:vn-a"
#define LVB "default-domain:admin:vn-b"
#define LVC "default-domain:admin:vn-c"
#define LVD "default-domain:admin:vn-d"

/* Route leaking between VRFs (--route-target), on a second controller: vn-a and vn-b import each other's
 * target, vn-c has a target of its own only, vn-d imports vn-b's target (so vn-a's routes reach it only if
 * leaking were transitive). */
static void leak_tests(const char *bin)
{
	static const char *const rts[] = {
		"--route-target", LVA ":export:target:64512:100", "--route-target", LVA ":import:target:64512:200",
		"--route-target", LVB ":export:target:64512:0200", "--route-target", LVB ":import:target:64512:100",
		"--route-target", LVC ":export:target:64512:300", "--route-target", LVC ":import:target:64512:300",
		"--route-target", LVD ":import:target:64512:200", NULL
	};
	struct agent *HA, *HA2, *HB, *HC, *HD, *HE;
	const struct rec *r;
	char out[4096];
	__be32 want;
	int rc;

	/* bad syntax: a clear error and exit status 2 */
	rc = run_opt(bin, "--route-target", "vn-a:export:64512:100", out, sizeof(out));
	result(rc == 2 && strstr(out, "Error: bad --route-target 'vn-a:export:64512:100': expected "
			 "VN:import:target:ADMIN:NN or VN:export:target:ADMIN:NN"),
	       "route leaking: --route-target with too few fields exits 2 with a clear error", "exit %d, said '%s'",
	       rc, out);
	rc = run_opt(bin, "--route-target", LVA ":export:64512:100", out, sizeof(out));
	result(rc == 2 && strstr(out, "Error: bad --route-target '" LVA ":export:64512:100': a route target starts "
			 "with 'target:'"),
	       "route leaking: --route-target without 'target:' exits 2 with a clear error", "exit %d, said '%s'", rc,
	       out);
	rc = run_opt(bin, "--route-target", LVA ":exprot:target:64512:100", out, sizeof(out));
	result(rc == 2 && strstr(out, "Error: bad --route-target '" LVA ":exprot:target:64512:100': the field after "
			 "the virtual network is 'import' or 'export'"),
	       "route leaking: --route-target with a misspelt direction exits 2 with a clear error",
	       "exit %d, said '%s'", rc, out);
	rc = run_opt(bin, "--route-target", "vn:import:target:70000:70000", out, sizeof(out));
	result(rc == 2 && strstr(out, "the number after a 4-byte AS number is 0..65535"),
	       "route leaking: --route-target out of range (4-byte AS, NN 70000) exits 2 with a clear error",
	       "exit %d, said '%s'", rc, out);
	rc = run_opt(bin, "--route-target", "vn:import:target:10.0.0:1", out, sizeof(out));
	result(rc == 2 && strstr(out, "bad IPv4 address in the route target"),
	       "route leaking: --route-target with a bad IPv4 administrator exits 2 with a clear error",
	       "exit %d, said '%s'", rc, out);

	if (!start_controller(bin, rts)) {
		result(false, "route leaking: controller with --route-target starts", "it does not listen");
		return;
	}
	result(WAIT(log_count("route leaking: the routes of " LVA " are reflected into " LVB " (target:64512:100)") &&
			    log_count("route leaking: the routes of " LVB " are reflected into " LVD
				      " (target:64512:200)"), 2000) &&
	       !log_count("the routes of " LVA " are reflected into " LVD),
	       "route leaking: the import map is logged at start (a -> b, b -> a, b -> d; not a -> d)", "not logged");

	HA = agent_up("leak-a");
	HA2 = agent_up("leak-a2");
	HB = agent_up("leak-b");
	HC = agent_up("leak-c");
	HD = agent_up("leak-d");
	subscribe(HA, LVA, 1);
	subscribe(HA, LVB, 2);		/* a host with VMs in both: its own routes never come back to it */
	subscribe(HA2, LVA, 1);
	subscribe(HB, LVB, 2);
	subscribe(HC, LVC, 3);
	subscribe(HD, LVD, 4);
	WAIT(count(HA, R_EOR, NULL) == 2 && count(HB, R_EOR, NULL) == 1 && count(HC, R_EOR, NULL) == 1 &&
	     count(HD, R_EOR, NULL) == 1, 2000);

	/* a vn-a route reaches vn-b's subscriber as an item of node 1/1/vn-b with the same next hop and label */
	publish(HA, LVA, "10.1.0.1/32", "192.0.2.11", 21);
	WAIT(find(HB, R_ITEM, LVB, "10.1.0.1/32") != NULL, 2000);
	r = find(HB, R_ITEM, LVB, "10.1.0.1/32");
	inet_pton(AF_INET, "192.0.2.11", &want);
	result(r && r->afi == 1 && r->nh == want && r->label == 21 && r->n_nh == 1 &&
	       r->encaps == (VR_XMPP_ENCAP_UDP | VR_XMPP_ENCAP_GRE) && !find(HB, R_ITEM, LVA, NULL),
	       "route leaking: a vn-a route is reflected to vn-b's subscriber on node 1/1/vn-b, same next hop and label",
	       r ? "fields differ: afi %u label %u nhs '%s'" : "nothing received%u%u%s", r ? r->afi : 0,
	       r ? r->label : 0, r ? r->nhs : "");
	result(WAIT(find(HA2, R_ITEM, LVA, "10.1.0.1/32") != NULL, 2000), "route leaking: still reflected in vn-a itself",
	       "leak-a2 got nothing");
	/* vn-b's own route, for the other direction and as the proof that vn-c and vn-d are served */
	publish(HB, LVB, "10.2.0.1/32", "192.0.2.12", 31);
	result(WAIT(!strcmp(last_nhs(HA2, LVA, "10.2.0.1/32"), "192.0.2.12:31") &&
			    !strcmp(last_nhs(HD, LVD, "10.2.0.1/32"), "192.0.2.12:31") &&
			    !strcmp(last_nhs(HA, LVB, "10.2.0.1/32"), "192.0.2.12:31"), 2000),
	       "route leaking: a vn-b route reaches vn-a (mutual import) and vn-d (imports vn-b's target)",
	       "a2 '%s' d '%s' a in vn-b '%s'", last_nhs(HA2, LVA, "10.2.0.1/32"), last_nhs(HD, LVD, "10.2.0.1/32"),
	       last_nhs(HA, LVB, "10.2.0.1/32"));
	pump(300);
	result(!find(HC, R_ITEM, NULL, NULL) && !find(HD, R_ITEM, NULL, "10.1.0.1/32"),
	       "route leaking: not to vn-c (imports no target of theirs) nor vn-d (vn-a's route through vn-b: not "
	       "transitive)", "vn-c got %u items, vn-d got 10.1.0.1 %u times", count(HC, R_ITEM, NULL),
	       count(HD, R_ITEM, "10.1.0.1/32"));
	result(!find(HA, R_ITEM, NULL, "10.1.0.1/32") && !find(HB, R_ITEM, NULL, "10.2.0.1/32"),
	       "route leaking: a leaked route is never reflected back to its origin (subscribed to both VNs)",
	       "leak-a got its own %u times", count(HA, R_ITEM, "10.1.0.1/32"));

	/* IPv6 leaks alike, on node 2/1/vn-b */
	publish6(HA, LVA, "fd00:a::1/128", "192.0.2.11", 24);
	WAIT(find(HB, R_ITEM, LVB, "fd00:a::1/128") != NULL, 2000);
	r = find(HB, R_ITEM, LVB, "fd00:a::1/128");
	result(r && r->afi == 2 && r->label == 24 && r->nh == want, "route leaking: an IPv6 route is leaked on node 2/1",
	       "%s", r ? "wrong fields" : "nothing received");

	/* ECMP among the origins of one VN: two vn-a origins of a prefix, one item with both next hops */
	publish(HA2, LVA, "10.1.0.5/32", "192.0.2.13", 26);
	publish(HA, LVA, "10.1.0.5/32", "192.0.2.11", 25);
	result(WAIT(!strcmp(last_nhs(HB, LVB, "10.1.0.5/32"), "192.0.2.11:25,192.0.2.13:26"), 2000),
	       "route leaking: the paths of two vn-a origins are leaked as one ECMP item", "leak-b got '%s'",
	       last_nhs(HB, LVB, "10.1.0.5/32"));

	/* a late subscriber's dump: vn-b's own and the leaked routes, each once, then EndOfRib */
	HE = agent_up("leak-e");
	subscribe(HE, LVB, 5);
	WAIT(count(HE, R_EOR, NULL) == 1, 3000);
	result(count(HE, R_EOR, NULL) == 1 && count(HE, R_ITEM, "10.1.0.1/32") == 1 &&
	       count(HE, R_ITEM, "10.2.0.1/32") == 1 && count(HE, R_ITEM, "fd00:a::1/128") == 1 &&
	       !strcmp(last_nhs(HE, LVB, "10.1.0.5/32"), "192.0.2.11:25,192.0.2.13:26") &&
	       HE->n && HE->rec[HE->n - 1].type == R_EOR,
	       "route leaking: a late vn-b subscriber's dump has the leaked routes too, then EndOfRib",
	       "EndOfRib %u, 10.1.0.1 %u, 10.2.0.1 %u", count(HE, R_EOR, NULL), count(HE, R_ITEM, "10.1.0.1/32"),
	       count(HE, R_ITEM, "10.2.0.1/32"));

	/* vn-b's own route for the same prefix wins over the leaked one (not merged), and gives it back when it
	 * goes */
	publish(HB, LVB, "10.1.0.1/32", "192.0.2.12", 32);
	result(WAIT(!strcmp(last_nhs(HE, LVB, "10.1.0.1/32"), "192.0.2.12:32") &&
			    !strcmp(last_nhs(HA, LVB, "10.1.0.1/32"), "192.0.2.12:32"), 2000),
	       "route leaking: vn-b's own route for the same prefix wins over the leaked one (no ECMP with it)",
	       "leak-e got '%s', leak-a in vn-b '%s'", last_nhs(HE, LVB, "10.1.0.1/32"),
	       last_nhs(HA, LVB, "10.1.0.1/32"));
	result(WAIT(find(HB, R_RETRACT, LVB, "10.1.0.1/32") != NULL, 2000) && !strcmp(last_nhs(HB, LVB, "10.1.0.1/32"), ""),
	       "route leaking: ... and its own origin is retracted the leaked route it no longer gets", "leak-b got '%s'",
	       last_nhs(HB, LVB, "10.1.0.1/32"));
	pump(200);
	result(!strcmp(last_nhs(HA2, LVA, "10.1.0.1/32"), "192.0.2.11:21"),
	       "route leaking: vn-a's subscribers keep vn-a's own path (vn-b's is not leaked over it)",
	       "leak-a2 got '%s'", last_nhs(HA2, LVA, "10.1.0.1/32"));
	withdraw(HB, LVB, "10.1.0.1/32");
	result(WAIT(!strcmp(last_nhs(HE, LVB, "10.1.0.1/32"), "192.0.2.11:21") &&
			    !strcmp(last_nhs(HB, LVB, "10.1.0.1/32"), "192.0.2.11:21"), 2000),
	       "route leaking: vn-b's own route withdrawn, the leaked one comes back", "leak-e got '%s', leak-b '%s'",
	       last_nhs(HE, LVB, "10.1.0.1/32"), last_nhs(HB, LVB, "10.1.0.1/32"));

	/* the origin's withdraw retracts the leaked copies */
	withdraw(HA, LVA, "10.1.0.1/32");
	result(WAIT(find(HE, R_RETRACT, LVB, "10.1.0.1/32") && !strcmp(last_nhs(HE, LVB, "10.1.0.1/32"), "") &&
			    !strcmp(last_nhs(HB, LVB, "10.1.0.1/32"), ""), 2000),
	       "route leaking: a withdraw in vn-a retracts the leaked copy in vn-b", "leak-e got '%s'",
	       last_nhs(HE, LVB, "10.1.0.1/32"));
	/* one of two ECMP origins gone: the leaked list shrinks */
	withdraw(HA2, LVA, "10.1.0.5/32");
	result(WAIT(!strcmp(last_nhs(HE, LVB, "10.1.0.5/32"), "192.0.2.11:25"), 2000),
	       "route leaking: one of two vn-a origins withdraws, the leaked item keeps the other",
	       "leak-e got '%s'", last_nhs(HE, LVB, "10.1.0.5/32"));

	/* session loss of the vn-a agent: its leaked routes are retracted after the hold time (graceful
	 * restart), not before */
	{
		long long t0;
		bool early, gone;

		publish(HA, LVA, "10.1.0.7/32", "192.0.2.11", 27);
		WAIT(find(HE, R_ITEM, LVB, "10.1.0.7/32") != NULL, 2000);
		t0 = now_ms();
		agent_kill(HA);
		pump(1000);
		early = find(HE, R_RETRACT, LVB, "10.1.0.7/32") != NULL;
		gone = WAIT(find(HE, R_RETRACT, LVB, "10.1.0.7/32") && find(HE, R_RETRACT, LVB, "10.1.0.5/32") &&
				    find(HE, R_RETRACT, LVB, "fd00:a::1/128"), (HOLD_S + 3) * 1000);
		result(find(HE, R_ITEM, LVB, "10.1.0.7/32") && !early && gone && now_ms() - t0 >= (HOLD_S - 1) * 1000,
		       "route leaking: the vn-a agent's session lost, its leaked routes are retracted after the hold time",
		       "early %d, retracted %d after %lld ms", early, gone, now_ms() - t0);
		result(!strcmp(last_nhs(HE, LVB, "10.2.0.1/32"), "192.0.2.12:31") &&
		       !find(HE, R_RETRACT, LVB, "10.2.0.1/32"),
		       "route leaking: vn-b's own routes stay", "leak-e has '%s'", last_nhs(HE, LVB, "10.2.0.1/32"));
	}

	result(controller_alive() && !HB->closed && !HC->closed && !HD->closed && !HE->closed && !HA2->closed,
	       "route leaking: controller and sessions survived", "alive %d", controller_alive());
	kill(ctrl_pid, SIGTERM);
	{
		int st = 0;

		for (int i = 0; i < 100 && waitpid(ctrl_pid, &st, WNOHANG) == 0; i++)
			usleep(20000);
		result(WIFEXITED(st) && WEXITSTATUS(st) == 0, "route leaking: clean exit on SIGTERM", "status %#x", st);
	}
	agent_free(HA);
	agent_free(HA2);
	agent_free(HB);
	agent_free(HC);
	agent_free(HD);
	agent_free(HE);
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : getenv("VR_BUILD") ? NULL : "build/vrouter-controller";
	char binbuf[4096];
	struct agent *A, *B, *C;
	const struct rec *r;

	if (!bin) {
		snprintf(binbuf, sizeof(binbuf), "%s/vrouter-controller", getenv("VR_BUILD"));
		bin = binbuf;
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	close(mkstemp(log_path));
	if (!start_controller(bin, NULL)) {
		printf("FAIL start: %s does not listen (log %s)\n0 passed, 1 failed\n", bin, log_path);
		return 1;
	}

	/* stream answer */
	A = agent_up("host-a");
	result(A->open && !strcmp(A->stream_to, "host-a"), "stream answer", "open %d to '%s'", A->open, A->stream_to);
	B = agent_up("host-b");
	subscribe(A, VRF1, 1);
	subscribe(B, VRF1, 2);
	result(WAIT(count(A, R_EOR, NULL) == 1 && count(B, R_EOR, NULL) == 1, 2000), "EndOfRib on an empty VRF",
	       "A %u B %u", count(A, R_EOR, NULL), count(B, R_EOR, NULL));

	/* reflection with the exact fields */
	publish(A, VRF1, "10.1.1.3/32", "192.0.2.1", 17);
	WAIT(find(B, R_ITEM, VRF1, "10.1.1.3/32") != NULL, 2000);
	r = find(B, R_ITEM, VRF1, "10.1.1.3/32");
	{
		__be32 want;

		inet_pton(AF_INET, "192.0.2.1", &want);
		result(r && r->nh == want && r->label == 17 &&
		       r->encaps == (VR_XMPP_ENCAP_UDP | VR_XMPP_ENCAP_GRE) && r->has_mac &&
		       !memcmp(r->mac, "\x02\x00\x00\x00\x00\x07", 6) && !strcmp(r->vn, "default-domain:admin:vn1"),
		       "publish reflected with its entry", r ? "fields differ: label %u encaps %#x" : "nothing received",
		       r ? r->label : 0, r ? r->encaps : 0);
	}
	pump(200);
	result(!find(A, R_ITEM, VRF1, "10.1.1.3/32"), "own route not reflected back", "A got its own route");

	/* the tunnel-encapsulation-list is reflected as published: the receivers choose from it */
	{
		static const struct {
			const char *prefix;
			unsigned int encaps;
		} ec[] = { { "10.1.1.5/32", VR_XMPP_ENCAP_GRE }, { "10.1.1.6/32", VR_XMPP_ENCAP_UDP },
			   { "10.1.1.7/32", 0 }, { "10.1.1.8/32", VR_XMPP_ENCAP_VXLAN | VR_XMPP_ENCAP_GRE } };
		bool same = true;

		for (size_t i = 0; i < sizeof(ec) / sizeof(ec[0]); i++)
			publish_encaps(A, VRF1, ec[i].prefix, "192.0.2.1", 30 + (unsigned int)i, ec[i].encaps);
		WAIT(find(B, R_ITEM, VRF1, "10.1.1.8/32") != NULL, 2000);
		for (size_t i = 0; i < sizeof(ec) / sizeof(ec[0]) && same; i++) {
			r = find(B, R_ITEM, VRF1, ec[i].prefix);
			same = r && r->encaps == ec[i].encaps;
			if (!same)
				result(false, "tunnel-encapsulation-list reflected unchanged (gre, udp, none, vxlan+gre)",
				       "%s: published %#x, reflected %#x", ec[i].prefix, ec[i].encaps, r ? r->encaps : 0);
		}
		if (same)
			result(true, "tunnel-encapsulation-list reflected unchanged (gre, udp, none, vxlan+gre)", "-");
		for (size_t i = 0; i < sizeof(ec) / sizeof(ec[0]); i++)
			withdraw(A, VRF1, ec[i].prefix);
		WAIT(count(B, R_RETRACT, NULL) >= 4, 2000);
	}

	/* a second VRF stays separate */
	subscribe(A, VRF2, 5);
	publish(A, VRF2, "10.2.0.1/32", "192.0.2.1", 18);
	pump(300);
	result(!find(B, R_ITEM, VRF2, "10.2.0.1/32"), "other VRF not leaked", "B got a VRF2 route");

	/* late subscriber: dump in messages of at most 32, then EndOfRib */
	for (int i = 0; i < 40; i++) {
		char p[32];

		snprintf(p, sizeof(p), "10.1.2.%d/32", i + 1);
		publish(B, VRF1, p, "192.0.2.2", 1000 + (unsigned int)i);
	}
	WAIT(count(A, R_ITEM, NULL) >= 40, 3000);
	C = agent_up("host-c");
	subscribe(C, VRF1, 3);
	WAIT(count(C, R_EOR, NULL) == 1, 3000);
	{
		unsigned int items = 0, eor_at = 0, max_per_msg = 0, per[64] = {};

		for (unsigned int i = 0; i < C->n; i++) {
			if (C->rec[i].type == R_ITEM) {
				items++;
				if (eor_at)
					eor_at = 9999;	/* an item after EndOfRib */
				if (C->rec[i].msg < 64 && ++per[C->rec[i].msg] > max_per_msg)
					max_per_msg = per[C->rec[i].msg];
			}
			if (C->rec[i].type == R_EOR)
				eor_at = i + 1;
		}
		result(items == 41 && eor_at == 42 && max_per_msg <= 32 && max_per_msg > 1,
		       "late subscriber: routes then EndOfRib", "items %u, EndOfRib at %u, max per message %u", items,
		       eor_at, max_per_msg);
	}

	/* withdraw */
	withdraw(A, VRF1, "10.1.1.3/32");
	result(WAIT(find(B, R_RETRACT, VRF1, "10.1.1.3/32") && find(C, R_RETRACT, VRF1, "10.1.1.3/32"), 2000),
	       "withdraw reflected as retract", "B %d C %d", !!find(B, R_RETRACT, VRF1, "10.1.1.3/32"),
	       !!find(C, R_RETRACT, VRF1, "10.1.1.3/32"));

	/* IPv6 (inet6 unicast, nodes 2/1/VRF) is reflected as IPv4 is: the entry as published, never back to its
	 * origin, ECMP lists, the late subscriber's dump, withdraws; each message holds one family */
	{
		const char *P6 = "fd00:1::3/128";
		struct vr_xmpp_buf b;
		__be32 want;

		publish6(A, VRF1, P6, "192.0.2.1", 23);
		WAIT(find(B, R_ITEM, VRF1, P6) && find(C, R_ITEM, VRF1, P6), 2000);
		r = find(B, R_ITEM, VRF1, P6);
		inet_pton(AF_INET, "192.0.2.1", &want);
		result(r && r->afi == VR_XMPP_AFI_IPV6 && r->nh_afi == VR_XMPP_AFI_IPV4 && r->nh == want && r->label == 23 &&
		       r->encaps == (VR_XMPP_ENCAP_UDP | VR_XMPP_ENCAP_GRE) && r->has_mac &&
		       !memcmp(r->mac, "\x02\x00\x00\x00\x00\x07", 6) && !strcmp(r->vn, "default-domain:admin:vn1") &&
		       find(C, R_ITEM, VRF1, P6),
		       "IPv6: a 2/1 publish is reflected on node 2/1 with its entry (IPv4 next hop, label, encaps, mac, vn)",
		       r ? "fields differ: afi %u nh afi %u label %u encaps %#x" : "nothing received%s%u%u%u%u", r ? r->afi : 0,
		       r ? r->nh_afi : 0, r ? r->label : 0, r ? r->encaps : 0);
		pump(200);
		result(!find(A, R_ITEM, VRF1, P6), "IPv6: own route not reflected back", "A got its own route");

		/* a second origin: one item with both next hops, each origin told the other's only */
		publish6(B, VRF1, P6, "192.0.2.2", 24);
		result(WAIT(!strcmp(last_nhs(C, VRF1, P6), "192.0.2.1:23,192.0.2.2:24") &&
				    !strcmp(last_nhs(A, VRF1, P6), "192.0.2.2:24") &&
				    !strcmp(last_nhs(B, VRF1, P6), "192.0.2.1:23"), 2000),
		       "IPv6 ECMP: two origins, one item with both next hops (sorted), each origin the other's",
		       "C '%s' A '%s' B '%s'", last_nhs(C, VRF1, P6), last_nhs(A, VRF1, P6), last_nhs(B, VRF1, P6));

		/* IPv4, IPv6, IPv4 in one write: three messages, each of its own family */
		{
			struct vr_xmpp_nexthop nh;
			struct vr_xmpp_entry e;
			const struct rec *x1, *x6, *x2;

			vr_xmpp_buf_init(&b, 0);
			entry_make(&e, &nh, "10.1.9.1/32", "192.0.2.1", 91);
			vr_xmpp_build_publish(&b, A->name, ++A->seq, VRF1, &e);
			entry_make6(&e, &nh, "fd00:1::9/128", "192.0.2.1", 96);
			vr_xmpp_build_publish(&b, A->name, ++A->seq, VRF1, &e);
			entry_make(&e, &nh, "10.1.9.2/32", "192.0.2.1", 92);
			vr_xmpp_build_publish(&b, A->name, ++A->seq, VRF1, &e);
			send_buf(A, &b, 0);
			WAIT(find(B, R_ITEM, VRF1, "10.1.9.2/32") != NULL, 2000);
			x1 = find(B, R_ITEM, VRF1, "10.1.9.1/32");
			x6 = find(B, R_ITEM, VRF1, "fd00:1::9/128");
			x2 = find(B, R_ITEM, VRF1, "10.1.9.2/32");
			result(x1 && x6 && x2 && x1->afi == 1 && x6->afi == 2 && x2->afi == 1 && x6->label == 96 &&
			       x1->msg < x6->msg && x6->msg < x2->msg,
			       "IPv6: a change of family ends a coalesced message (1/1, 2/1, 1/1 in order)",
			       "records %d %d %d", !!x1, !!x6, !!x2);
		}

		/* a late subscriber's dump carries both families, each in messages of its own node */
		{
			struct agent *L = agent_up("host-late6");
			const struct rec *x6, *x4;

			subscribe(L, VRF1, 12);
			WAIT(count(L, R_EOR, NULL) == 1, 3000);
			x6 = find(L, R_ITEM, VRF1, P6);
			x4 = find(L, R_ITEM, VRF1, "10.1.9.1/32");
			result(x6 && x4 && x6->afi == 2 && x4->afi == 1 && x6->msg != x4->msg &&
			       !strcmp(x6->nhs, "192.0.2.1:23,192.0.2.2:24") && find(L, R_ITEM, VRF1, "fd00:1::9/128"),
			       "IPv6: a late subscriber's dump has the 2/1 routes (ECMP list too) in 2/1 messages",
			       "v6 %d v4 %d", !!x6, !!x4);
			agent_free(L);
		}

		/* withdraws: the list shrinks, then the last origin's withdraw is a 2/1 retract */
		withdraw6(A, VRF1, P6);
		result(WAIT(!strcmp(last_nhs(C, VRF1, P6), "192.0.2.2:24"), 2000), "IPv6 ECMP: an origin's withdraw "
		       "re-sends the list without it", "C got '%s'", last_nhs(C, VRF1, P6));
		withdraw6(B, VRF1, P6);
		withdraw6(A, VRF1, "fd00:1::9/128");
		WAIT(find(C, R_RETRACT, VRF1, P6) && find(C, R_RETRACT, VRF1, "fd00:1::9/128"), 2000);
		r = find(C, R_RETRACT, VRF1, P6);
		result(r && r->afi == VR_XMPP_AFI_IPV6 && find(C, R_RETRACT, VRF1, "fd00:1::9/128") &&
		       !strcmp(last_nhs(C, VRF1, P6), ""),
		       "IPv6: the last withdraw is reflected as a retract on node 2/1", "retract %d afi %u", !!r,
		       r ? r->afi : 0);
		withdraw(A, VRF1, "10.1.9.1/32");
		withdraw(A, VRF1, "10.1.9.2/32");
		WAIT(find(C, R_RETRACT, VRF1, "10.1.9.2/32") != NULL, 2000);
	}

	/* ECMP: the same prefix from several agents is one item whose next-hops list holds every other agent's
	 * next hop, in a stable order (address, then label), whatever the order they were published in */
	{
		const char *P5 = "10.5.0.1/32";
		struct agent *F = agent_up("host-f");

		subscribe(F, VRF1, 10);
		WAIT(count(F, R_EOR, NULL) == 1, 2000);
		publish(B, VRF1, P5, "192.0.2.2", 502);
		result(WAIT(!strcmp(last_nhs(C, VRF1, P5), "192.0.2.2:502"), 2000), "ECMP: one origin, one next hop",
		       "C got '%s'", last_nhs(C, VRF1, P5));
		publish(A, VRF1, P5, "192.0.2.1", 501);
		bool two = WAIT(!strcmp(last_nhs(C, VRF1, P5), "192.0.2.1:501,192.0.2.2:502"), 2000);
		r = find(C, R_ITEM, VRF1, P5);
		result(two && r->n_nh == 2 && count(C, R_ITEM, P5) == 2 && !count(C, R_RETRACT, P5),
		       "ECMP: a second origin re-sends the one item with both next hops, sorted by address",
		       "C got '%s' (%u items, %u retracts)", last_nhs(C, VRF1, P5), count(C, R_ITEM, P5),
		       count(C, R_RETRACT, P5));
		bool own = WAIT(!strcmp(last_nhs(A, VRF1, P5), "192.0.2.2:502") &&
					!strcmp(last_nhs(B, VRF1, P5), "192.0.2.1:501"), 2000);
		result(own, "ECMP: an origin is sent the others' next hops only, never its own",
		       "A got '%s', B got '%s'", last_nhs(A, VRF1, P5), last_nhs(B, VRF1, P5));
		publish(F, VRF1, P5, "192.0.2.0", 500);
		result(WAIT(!strcmp(last_nhs(C, VRF1, P5), "192.0.2.0:500,192.0.2.1:501,192.0.2.2:502"), 2000),
		       "ECMP: a third origin joins in its place in the order", "C got '%s'", last_nhs(C, VRF1, P5));
		/* a late subscriber's dump carries the whole list */
		struct agent *G = agent_up("host-g");

		subscribe(G, VRF1, 11);
		result(WAIT(count(G, R_EOR, NULL) == 1, 3000) &&
		       !strcmp(last_nhs(G, VRF1, P5), "192.0.2.0:500,192.0.2.1:501,192.0.2.2:502"),
		       "ECMP: a late subscriber's dump carries the list", "G got '%s'", last_nhs(G, VRF1, P5));
		/* a republished next hop (new label) re-sends the list; an unchanged republish re-sends it too */
		publish(A, VRF1, P5, "192.0.2.1", 511);
		result(WAIT(!strcmp(last_nhs(C, VRF1, P5), "192.0.2.0:500,192.0.2.1:511,192.0.2.2:502"), 2000),
		       "ECMP: a changed next hop of one origin re-sends the list", "C got '%s'", last_nhs(C, VRF1, P5));
		/* a higher local-preference wins alone; when it goes, the equal-cost list comes back */
		publish_lp(A, VRF1, P5, "192.0.2.1", 511, 200, NULL);
		WAIT(!strcmp(last_nhs(C, VRF1, P5), "192.0.2.1:511"), 2000);
		r = find(C, R_ITEM, VRF1, P5);
		result(r && !strcmp(r->nhs, "192.0.2.1:511") && r->local_pref == 200 &&
		       !strcmp(last_nhs(A, VRF1, P5), "192.0.2.0:500,192.0.2.2:502"),
		       "ECMP: only the paths of the highest local-preference are in the list",
		       "C got '%s' (lp %u), A got '%s'", last_nhs(C, VRF1, P5), r ? r->local_pref : 0,
		       last_nhs(A, VRF1, P5));
		publish(A, VRF1, P5, "192.0.2.1", 511);
		WAIT(!strcmp(last_nhs(C, VRF1, P5), "192.0.2.0:500,192.0.2.1:511,192.0.2.2:502"), 2000);
		/* withdraws shrink the list; the last one retracts */
		withdraw(A, VRF1, P5);
		result(WAIT(!strcmp(last_nhs(C, VRF1, P5), "192.0.2.0:500,192.0.2.2:502"), 2000),
		       "ECMP: a withdraw re-sends the list without that next hop", "C got '%s'", last_nhs(C, VRF1, P5));
		withdraw(F, VRF1, P5);
		bool one = WAIT(!strcmp(last_nhs(C, VRF1, P5), "192.0.2.2:502"), 2000);
		result(one && !find(C, R_RETRACT, VRF1, P5) && (r = find(C, R_ITEM, VRF1, P5)) && r->n_nh == 1,
		       "ECMP: down to one origin, one next hop and no retract", "C got '%s', retract %d",
		       last_nhs(C, VRF1, P5), !!find(C, R_RETRACT, VRF1, P5));
		result(WAIT(!strcmp(last_nhs(B, VRF1, P5), ""), 2000) && find(B, R_RETRACT, VRF1, P5),
		       "ECMP: the origin left alone is sent a retract (nobody else has the prefix)", "B got '%s'",
		       last_nhs(B, VRF1, P5));
		withdraw(B, VRF1, P5);
		result(WAIT(find(C, R_RETRACT, VRF1, P5) != NULL, 2000) && !strcmp(last_nhs(C, VRF1, P5), ""),
		       "ECMP: the last origin's withdraw retracts the item", "no retract");

		/* the same next hop (address and label) from two origins is listed once */
		publish(F, VRF1, "10.5.0.2/32", "192.0.2.7", 507);
		publish(G, VRF1, "10.5.0.2/32", "192.0.2.7", 507);
		publish(A, VRF1, "10.5.0.2/32", "192.0.2.8", 508);
		result(WAIT(!strcmp(last_nhs(C, VRF1, "10.5.0.2/32"), "192.0.2.7:507,192.0.2.8:508"), 2000),
		       "ECMP: a next hop published by two origins is listed once", "C got '%s'",
		       last_nhs(C, VRF1, "10.5.0.2/32"));
		withdraw(F, VRF1, "10.5.0.2/32");
		withdraw(G, VRF1, "10.5.0.2/32");
		withdraw(A, VRF1, "10.5.0.2/32");
		WAIT(find(C, R_RETRACT, VRF1, "10.5.0.2/32") != NULL, 2000);

		/* at most 16 next hops: the first 16 in the order; one of them withdrawn lets the 17th in */
		{
			struct agent *O[18];
			char name[32], ip[32], want[16 * 24];
			unsigned int at = 0;
			const char *P6 = "10.5.0.3/32";

			for (int i = 0; i < 18; i++) {
				snprintf(name, sizeof(name), "ecmp-%02d", i);
				O[i] = agent_up(name);
				subscribe(O[i], VRF1, 20 + (__u32)i);
			}
			/* published from the highest address down: the order is the addresses', not the publishers' */
			for (int i = 17; i >= 0; i--) {
				snprintf(ip, sizeof(ip), "192.0.3.%d", 10 + i);
				publish(O[i], VRF1, P6, ip, 600 + (__u32)i);
			}
			for (int i = 0; i < 16; i++)
				at += (unsigned int)snprintf(want + at, sizeof(want) - at, "%s192.0.3.%d:%d", i ? "," : "",
							     10 + i, 600 + i);
			bool sixteen = WAIT(!strcmp(last_nhs(C, VRF1, P6), want), 3000);
			r = find(C, R_ITEM, VRF1, P6);
			result(sixteen && r->n_nh == 16, "ECMP: 18 origins, the item lists the first 16 next hops",
			       "C got %u: '%s'", r ? r->n_nh : 0, last_nhs(C, VRF1, P6));
			withdraw(O[3], VRF1, P6);
			at = 0;
			for (int i = 0; i < 17; i++)
				if (i != 3)
					at += (unsigned int)snprintf(want + at, sizeof(want) - at, "%s192.0.3.%d:%d",
								     at ? "," : "", 10 + i, 600 + i);
			result(WAIT(!strcmp(last_nhs(C, VRF1, P6), want), 3000),
			       "ECMP: one of the 16 withdrawn, the 17th takes its place", "C got '%s'",
			       last_nhs(C, VRF1, P6));
			/* next hops with long names (1,000 bytes escaping to 5,000): the list is cut where the item
			 * would no longer fit the receiver's 64 KB stanza limit */
			{
				static char vn[1001];

				memset(vn, '&', sizeof(vn) - 1);
				for (int i = 0; i < 16; i++) {
					snprintf(ip, sizeof(ip), "192.0.3.%d", 10 + i);
					publish_lp(O[i], VRF1, "10.5.0.4/32", ip, 700 + (__u32)i, 100, vn);
				}
				WAIT(count(C, R_ITEM, "10.5.0.4/32") >= 16 || C->closed, 3000);
				pump(300);
				r = find(C, R_ITEM, VRF1, "10.5.0.4/32");
				result(r && !C->closed && r->n_nh > 8 && r->n_nh < 16 &&
				       !strncmp(r->nhs, "192.0.3.10:700,192.0.3.11:701,", 30),
				       "ECMP: a list of long next hops is cut to fit the receiver's stanza limit",
				       "C closed %d, got %u next hops: %.60s", C->closed, r ? r->n_nh : 0,
				       r ? r->nhs : "-");
			}
			/* 33 prefixes from 16 origins, each origin's 33 publishes in one write (one round after the
			 * other): the coalesced messages of many-next-hop items stay within the receiver's limits (32
			 * items of 16 next hops would be over its 64 KB stanzas and 4,096 elements) */
			{
				unsigned int c0 = C->n, full = 0, max_nh = 0, per = 0, last = 0;
				char pf[32];

				agent_free(O[16]);
				agent_free(O[17]);
				O[16] = O[17] = NULL;
				for (int i = 0; i < 16; i++) {
					struct vr_xmpp_buf b;

					vr_xmpp_buf_init(&b, 0);
					snprintf(ip, sizeof(ip), "192.0.3.%d", 10 + i);
					for (int k = 0; k < 33; k++) {
						struct vr_xmpp_nexthop nh;
						struct vr_xmpp_entry e;

						snprintf(pf, sizeof(pf), "10.5.1.%d/32", k);
						entry_make(&e, &nh, pf, ip, 800 + (__u32)i);
						vr_xmpp_build_publish(&b, O[i]->name, ++O[i]->seq, VRF1, &e);
					}
					send_buf(O[i], &b, 0);
					WAIT(((r = find(C, R_ITEM, VRF1, "10.5.1.32/32")) && r->n_nh == (unsigned int)i + 1) ||
					     C->closed, 3000);
				}
				for (unsigned int i = c0; i < C->n; i++)
					if (C->rec[i].type == R_ITEM && !strncmp(C->rec[i].prefix, "10.5.1.", 7)) {
						full += C->rec[i].n_nh == 16;
						per = C->rec[i].msg == last ? per + C->rec[i].n_nh : C->rec[i].n_nh;
						last = C->rec[i].msg;
						max_nh = per > max_nh ? per : max_nh;
					}
				result(!C->closed && full == 33 && max_nh > 16,
				       "ECMP: coalesced items of 16 next hops stay within the receiver's limits",
				       "C closed %d, %u items with 16 next hops, at most %u next hops in a message",
				       C->closed, full, max_nh);
			}
			for (int i = 0; i < 16; i++)
				agent_free(O[i]);	/* closed: their paths go after the hold time */
		}
		agent_free(F);
		agent_free(G);
	}

	/* a burst of changes in one write is reflected coalesced, as the control node does: at most 32 routes or
	 * 256 retracts to a message, never both in one, every change once and in order */
	{
		struct vr_xmpp_buf b;
		unsigned int b0 = B->n, msgs = 0, items = 0, retracts = 0, max_items = 0, max_retracts = 0, last_msg = 0;
		unsigned int cnt = 0, in_order = 1, mixed = 0, first = 0;
		char p[32], want[32];

		vr_xmpp_buf_init(&b, 0);
		for (int i = 0; i < 100; i++) {
			struct vr_xmpp_nexthop nh;
			struct vr_xmpp_entry e;

			snprintf(p, sizeof(p), "10.6.1.%d/32", i);
			entry_make(&e, &nh, p, "192.0.2.1", 600 + (unsigned int)i);
			vr_xmpp_build_publish(&b, A->name, ++A->seq, VRF1, &e);
		}
		send_buf(A, &b, 0);
		WAIT(count(B, R_ITEM, "10.6.1.99/32") == 1, 3000);
		vr_xmpp_buf_init(&b, 0);
		for (int i = 0; i < 100; i++) {
			struct vr_xmpp_prefix pf;

			snprintf(p, sizeof(p), "10.6.1.%d/32", i);
			vr_xmpp_prefix_parse(VR_XMPP_AFI_IPV4, p, &pf);
			vr_xmpp_build_withdraw(&b, A->name, ++A->seq, VRF1, VR_XMPP_SAFI_UNICAST, &pf);
		}
		send_buf(A, &b, 0);
		WAIT(count(B, R_RETRACT, "10.6.1.99/32") == 1, 3000);
		/* per message: how many of each; in order: route i, then (after all routes) retract i */
		for (unsigned int i = b0, per_i = 0, per_r = 0; i < B->n; i++) {
			const struct rec *x = &B->rec[i];

			if (strncmp(x->prefix, "10.6.1.", 7))
				continue;
			if (x->msg != last_msg) {
				msgs++;
				last_msg = x->msg;
				per_i = per_r = 0;
			}
			if (x->type == R_ITEM) {
				items++;
				per_i++;
			} else if (x->type == R_RETRACT) {
				retracts++;
				per_r++;
			}
			mixed |= per_i && per_r;
			max_items = per_i > max_items ? per_i : max_items;
			max_retracts = per_r > max_retracts ? per_r : max_retracts;
			snprintf(want, sizeof(want), "10.6.1.%u/32", cnt % 100);
			if (strcmp(x->prefix, want) || x->type != (cnt < 100 ? R_ITEM : R_RETRACT))
				in_order = 0;
			cnt++;
		}
		result(items == 100 && retracts == 100 && in_order && !mixed && max_items <= 32 && max_items > 1 &&
			       max_retracts <= 256 && max_retracts > 1 && msgs < 200,
		       "a burst is reflected coalesced, in order", "items %u retracts %u in order %u mixed %u, at most "
		       "%u routes / %u retracts to a message, %u messages", items, retracts, in_order, mixed, max_items,
		       max_retracts, msgs);

		/* a change of kind ends a message: publish .1 .2, withdraw .1, publish .3 in one write */
		b0 = B->n;
		vr_xmpp_buf_init(&b, 0);
		for (int i = 1; i <= 3; i++) {
			struct vr_xmpp_nexthop nh;
			struct vr_xmpp_entry e;
			struct vr_xmpp_prefix pf;

			if (i == 3) {
				vr_xmpp_prefix_parse(VR_XMPP_AFI_IPV4, "10.6.2.1/32", &pf);
				vr_xmpp_build_withdraw(&b, A->name, ++A->seq, VRF1, VR_XMPP_SAFI_UNICAST, &pf);
			}
			snprintf(p, sizeof(p), "10.6.2.%d/32", i);
			entry_make(&e, &nh, p, "192.0.2.1", 700 + (unsigned int)i);
			vr_xmpp_build_publish(&b, A->name, ++A->seq, VRF1, &e);
		}
		send_buf(A, &b, 0);
		WAIT(count(B, R_ITEM, "10.6.2.3/32") == 1, 3000);
		const struct rec *seq[8];

		cnt = 0;
		for (unsigned int i = b0; i < B->n && cnt < 8; i++)
			if (!strncmp(B->rec[i].prefix, "10.6.2.", 7))
				seq[cnt++] = &B->rec[i];
		first = cnt == 4 && seq[0]->type == R_ITEM && !strcmp(seq[0]->prefix, "10.6.2.1/32") &&
			seq[1]->type == R_ITEM && !strcmp(seq[1]->prefix, "10.6.2.2/32") &&
			seq[2]->type == R_RETRACT && !strcmp(seq[2]->prefix, "10.6.2.1/32") &&
			seq[3]->type == R_ITEM && !strcmp(seq[3]->prefix, "10.6.2.3/32") &&
			seq[0]->msg == seq[1]->msg && seq[1]->msg < seq[2]->msg && seq[2]->msg < seq[3]->msg;
		result(first, "coalescing keeps the order across routes and retracts",
		       "%u records for 10.6.2.x, not route .1 .2 | retract .1 | route .3", cnt);
		withdraw(A, VRF1, "10.6.2.2/32");
		withdraw(A, VRF1, "10.6.2.3/32");
		WAIT(count(B, R_RETRACT, "10.6.2.3/32") == 1, 2000);
	}

	/* coalescing stays within the receiver's stanza limit: 40 routes whose names escape to 2.5 KB each would
	 * be 100 KB in 32 to a message; the subscriber's decoder (64 KB limit) must get them all */
	{
		char vn[251], p[32];
		struct vr_xmpp_buf b;
		unsigned int got = 0, max_per = 0, per = 0, last = 0, b0 = B->n;

		memset(vn, '&', sizeof(vn) - 1);
		vn[sizeof(vn) - 1] = 0;
		vr_xmpp_buf_init(&b, 0);
		for (int i = 0; i < 40; i++) {
			struct vr_xmpp_nexthop nh;
			struct vr_xmpp_entry e;

			snprintf(p, sizeof(p), "10.6.3.%d/32", i);
			entry_make(&e, &nh, p, "192.0.2.1", 800 + (unsigned int)i);
			nh.virtual_network = vn;
			e.virtual_network = vn;
			vr_xmpp_build_publish(&b, A->name, ++A->seq, VRF1, &e);
		}
		send_buf(A, &b, 0);
		WAIT(count(B, R_ITEM, "10.6.3.39/32") == 1 || B->closed, 3000);
		for (unsigned int i = b0; i < B->n; i++)
			if (B->rec[i].type == R_ITEM && !strncmp(B->rec[i].prefix, "10.6.3.", 7)) {
				got++;
				per = B->rec[i].msg == last ? per + 1 : 1;
				last = B->rec[i].msg;
				max_per = per > max_per ? per : max_per;
			}
		result(got == 40 && !B->closed && max_per > 1 && max_per < 32,
		       "coalesced messages stay under the receiver's stanza limit", "got %u of 40, closed %d, at most %u "
		       "to a message", got, B->closed, max_per);
		for (int i = 0; i < 40; i++) {
			snprintf(p, sizeof(p), "10.6.3.%d/32", i);
			withdraw(A, VRF1, p);
		}
		WAIT(count(B, R_RETRACT, "10.6.3.39/32") == 1, 2000);
	}

	/* rules and hostile input: each closes only that session */
	{
		static const char pub_before_sub[] =
			"<iq type=\"set\" from=\"bad\" to=\"network-control@contrailsystems.com/bgp-peer\" id=\"pubsub1\">"
			"<pubsub xmlns=\"http://jabber.org/protocol/pubsub\"><publish node=\"1/1/" VRF1 "/10.7.0.1/32\">"
			"<item><entry><nlri><af>1</af><safi>1</safi><address>10.7.0.1/32</address></nlri>"
			"<next-hops><next-hop><af>1</af><address>192.0.2.9</address><label>30</label></next-hop>"
			"</next-hops></entry></item></publish></pubsub></iq>";
		static const char bomb[] =
			"<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
			"<iq type=\"set\">&lol2;</iq>";
		static const char doctype[] = "<!DOCTYPE iq SYSTEM \"http://example.com/x.dtd\"><iq/>";
		static const char entity[] = "<iq type=\"set\" id=\"&xxe;\"/>";
		static const char garbage[] = "\x01\x02 GET / HTTP/1.1\r\n\r\n\xff\xfe";
		struct vr_xmpp_buf b;
		size_t len;
		char *t;

		hostile("publish before subscribe", pub_before_sub, sizeof(pub_before_sub) - 1, false, A, B,
			"publish into a VRF it is not subscribed to");
		/* IPv6 nodes with what is not an IPv6 prefix, and an inet6 node carrying an inet entry */
		{
#define PUB6(NODE, AF, ADDR)                                                                                     \
	"<iq type=\"set\" from=\"bad6\" to=\"network-control@contrailsystems.com/bgp-peer\" id=\"pubsub1\">"     \
	"<pubsub xmlns=\"http://jabber.org/protocol/pubsub\"><publish node=\"2/1/" VRF1 "/" NODE "\">"             \
	"<item><entry><nlri><af>" AF "</af><safi>1</safi><address>" ADDR "</address></nlri>"                       \
	"<next-hops><next-hop><af>1</af><address>192.0.2.9</address><label>30</label></next-hop>"                 \
	"</next-hops></entry></item></publish></pubsub></iq>"
			static const char v4_in_v6[] = PUB6("10.7.0.9/32", "2", "10.7.0.9/32");
			static const char len129[] = PUB6("fd00:7::1/129", "2", "fd00:7::1/129");
			static const char bad_addr[] = PUB6("fd00:zz::1/128", "2", "fd00:zz::1/128");
			static const char v4_entry[] = PUB6("fd00:7::2/128", "1", "10.7.0.2/32");
#undef PUB6

			hostile("IPv6: a 2/1 publish of an IPv4 prefix", v4_in_v6, sizeof(v4_in_v6) - 1, true, A, B,
				"node '2/1/" VRF1 "/10.7.0.9/32': bad prefix");
			hostile("IPv6: a 2/1 publish of a /129", len129, sizeof(len129) - 1, true, A, B,
				"node '2/1/" VRF1 "/fd00:7::1/129': bad prefix");
			hostile("IPv6: a 2/1 publish of a garbage address", bad_addr, sizeof(bad_addr) - 1, true, A, B,
				"node '2/1/" VRF1 "/fd00:zz::1/128': bad prefix");
			hostile("IPv6: a 2/1 publish whose entry is inet (af 1)", v4_entry, sizeof(v4_entry) - 1, true, A, B,
				"nlri af 1 in a node of af 2");
		}
		vr_xmpp_buf_init(&b, 0);
		vr_xmpp_build_subscribe(&b, "dup", 1, VRF1, 9);
		hostile("duplicate subscribe", b.data, b.len, true, A, B, "duplicate subscribe");
		vr_xmpp_buf_free(&b);
		vr_xmpp_buf_init(&b, 0);
		vr_xmpp_build_unsubscribe(&b, "u", 1, "no-such-vrf");
		hostile("unsubscribe of an unknown VRF", b.data, b.len, false, A, B, "unsubscribe of a VRF");
		vr_xmpp_buf_free(&b);
		vr_xmpp_buf_init(&b, 0);
		vr_xmpp_build_subscribe(&b, "noinst", 1, VRF1, 9);
		{
			/* the same subscribe without its <options> */
			char *s = strndup(b.data, b.len), *o = strstr(s, "<options>"), *oe = strstr(s, "</options>");

			if (o && oe)
				memmove(o, oe + strlen("</options>"), strlen(oe + strlen("</options>")) + 1);
			hostile("subscribe without instance-id", s, strlen(s), false, A, B, "without an instance-id");
			free(s);
		}
		vr_xmpp_buf_free(&b);
		t = publish_text("zl", "10.7.0.2/32", 0, 1, &len);
		if (t)
			hostile("zero label", t, len, true, A, B, "label 0");
		else
			result(false, "zero label", "the builder refused it");
		free(t);
		t = publish_text("nh2", "10.7.0.3/32", 40, 2, &len);
		if (t)
			hostile("two next-hops", t, len, true, A, B, "more than one next-hop");
		else
			result(false, "two next-hops", "the builder refused it");
		free(t);
		t = publish_text("nocoll", "10.7.0.4/32", 40, 1, &len);
		if (t) {
			/* a publish, then a subscribe instead of its collection */
			char *cut = strstr(t, "<iq type=\"set\" from=\"nocoll\" to=\"network-control@contrailsystems.com/bgp-peer\" id=\"collection");

			if (cut)
				*cut = 0;
			vr_xmpp_buf_init(&b, 0);
			vr_xmpp_build_subscribe(&b, "nocoll", 2, VRF2, 4);
			char *both = malloc(strlen(t) + b.len + 1);

			sprintf(both, "%s%.*s", t, (int)b.len, b.data);
			hostile("publish without its collection", both, strlen(both), true, A, B,
				"publish not followed by its collection");
			free(both);
			vr_xmpp_buf_free(&b);
		}
		free(t);
		{
			static const char bomb_head[] =
				"<?xml version=\"1.0\"?><!DOCTYPE stream:stream [<!ENTITY a \"aaaaaaaaaa\">"
				"<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
				"<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">]>"
				"<stream:stream from=\"&e;\" to=\"network-control@contrailsystems.com\" version=\"1.0\" "
				"xmlns=\"\" xmlns:stream=\"http://etherx.jabber.org/streams\">";
			static const char doctype_head[] =
				"<?xml version=\"1.0\"?><!DOCTYPE stream:stream SYSTEM \"http://127.0.0.1:1/x.dtd\">"
				"<stream:stream from=\"x\" to=\"network-control@contrailsystems.com\" version=\"1.0\" "
				"xmlns=\"\" xmlns:stream=\"http://etherx.jabber.org/streams\">";

			hostile("XML bomb before the stream", bomb_head, sizeof(bomb_head) - 1, false, A, B, NULL);
			hostile("DOCTYPE before the stream", doctype_head, sizeof(doctype_head) - 1, false, A, B, NULL);
		}
		hostile("XML bomb in the stream", bomb, sizeof(bomb) - 1, true, A, B, "closed");
		hostile("DOCTYPE in the stream", doctype, sizeof(doctype) - 1, true, A, B, "closed");
		hostile("undeclared entity", entity, sizeof(entity) - 1, true, A, B, "closed");
		hostile("garbage bytes", garbage, sizeof(garbage) - 1, true, A, B, "closed");
		{
			size_t big = 10u << 20;
			char *s = malloc(big);
			static const char head[] = "<iq type=\"set\" id=\"";

			memcpy(s, head, sizeof(head) - 1);
			memset(s + sizeof(head) - 1, 'a', big - (sizeof(head) - 1));
			/* the controller closes long before the 10 MB are sent: send_all then fails, which is fine */
			hostile("10 MB stanza", s, big, true, A, B, "closed");
			free(s);
		}
	}

	/* a subscriber that does not read is closed when its output buffer is full (--max-out 256 KiB) */
	{
		struct agent *slow = agent_up("slow");
		int small = 4096, n = 8000;	/* about 5.5 MB of reflected routes, 32 to a message */
		char p[32], last[32] = "";

		subscribe(slow, VRF1, 8);
		WAIT(count(slow, R_EOR, NULL) == 1, 2000);
		setsockopt(slow->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
		slow->quiet = true;
		/* take it out of the pump: it reads nothing from now on */
		for (int i = 0; i < MAX_AGENTS; i++)
			if (agents[i] == slow)
				agents[i] = NULL;
		for (int i = 0; i < n; i++) {
			snprintf(p, sizeof(p), "10.%d.%d.%d/32", 100 + i / 65536, (i / 256) % 256, i % 256);
			publish(A, VRF1, p, "192.0.2.1", 5000 + (unsigned int)i);
			if (i % 100 == 0)
				pump(1);
		}
		snprintf(last, sizeof(last), "%s", p);
		bool logged = WAIT(log_count("the peer does not read") > 0, 5000);

		WAIT(count(B, R_ITEM, last) > 0, 5000);
		result(logged && count(B, R_ITEM, last) && !A->closed && !B->closed,
		       "a peer that does not read is closed", "logged %d, B got the last %d", logged,
		       count(B, R_ITEM, last) > 0);
		agents[MAX_AGENTS - 1] = slow;
		agent_free(slow);
	}

	/* keepalives (every hold/3 = 1 s) */
	{
		unsigned int k = B->keepalives;

		pump(2300);
		result(B->keepalives >= k + 2, "keepalives every hold/3", "%u in 2.3 s", B->keepalives - k);
	}

	/* a silent session is closed after the hold time */
	{
		struct agent *q = agent_up("quiet");

		q->quiet = true;
		subscribe(q, VRF1, 7);
		long long t0 = now_ms();
		bool closed = WAIT(q->closed, (HOLD_S + 2) * 1000);
		long long dt = now_ms() - t0;

		result(closed && dt >= (HOLD_S - 1) * 1000, "silent session closed after the hold time",
		       "closed %d after %lld ms", closed, dt);
		agent_free(q);
	}

	/* session death without dissociate: retracted after the hold time; a reconnect within the window that
	 * republishes keeps its routes, the ones not republished are retracted */
	{
		struct agent *D = agent_up("host-d"), *E = agent_up("host-e");

		subscribe(D, VRF1, 4);
		subscribe(E, VRF1, 6);
		publish(D, VRF1, "10.8.0.1/32", "192.0.2.4", 801);
		publish(E, VRF1, "10.8.1.1/32", "192.0.2.5", 811);
		publish(E, VRF1, "10.8.1.2/32", "192.0.2.5", 812);
		WAIT(find(C, R_ITEM, VRF1, "10.8.0.1/32") && find(C, R_ITEM, VRF1, "10.8.1.2/32"), 2000);
		long long t0 = now_ms();

		agent_kill(D);
		agent_kill(E);
		pump(500);
		E = agent_up("host-e");
		subscribe(E, VRF1, 6);
		publish(E, VRF1, "10.8.1.1/32", "192.0.2.5", 811);
		pump(1000);
		bool early = find(C, R_RETRACT, VRF1, "10.8.0.1/32") != NULL;
		bool gone = WAIT(find(C, R_RETRACT, VRF1, "10.8.0.1/32") != NULL, (HOLD_S + 3) * 1000);
		long long dt = now_ms() - t0;

		result(!early && gone && dt >= (HOLD_S - 1) * 1000, "dead agent's routes retracted after the hold time",
		       "early %d, retracted %d after %lld ms", early, gone, dt);
		WAIT(find(C, R_RETRACT, VRF1, "10.8.1.2/32") != NULL, 2000);
		result(find(C, R_RETRACT, VRF1, "10.8.1.2/32") && !find(C, R_RETRACT, VRF1, "10.8.1.1/32") &&
		       !find(B, R_RETRACT, VRF1, "10.8.1.1/32"),
		       "reconnect within the window: republished kept, the rest retracted",
		       "10.8.1.2 retracted %d, 10.8.1.1 retracted %d", !!find(C, R_RETRACT, VRF1, "10.8.1.2/32"),
		       !!find(C, R_RETRACT, VRF1, "10.8.1.1/32"));
		/* unsubscribe withdraws what E published into the VRF */
		{
			struct vr_xmpp_buf b;

			vr_xmpp_buf_init(&b, 0);
			send_buf(E, &b, vr_xmpp_build_unsubscribe(&b, E->name, 99, VRF1));
		}
		result(WAIT(find(C, R_RETRACT, VRF1, "10.8.1.1/32") != NULL, 2000) && !E->closed,
		       "unsubscribe withdraws the agent's routes", "no retract");
		agent_free(E);
		agent_free(D);
	}

	result(controller_alive() && !A->closed && !B->closed && !C->closed, "controller and good sessions survived",
	       "alive %d A %d B %d C %d", controller_alive(), A->closed, B->closed, C->closed);

	kill(ctrl_pid, SIGTERM);
	{
		int st = 0;

		for (int i = 0; i < 100 && waitpid(ctrl_pid, &st, WNOHANG) == 0; i++)
			usleep(20000);
		result(WIFEXITED(st) && WEXITSTATUS(st) == 0, "clean exit on SIGTERM", "status %#x", st);
	}
	leak_tests(bin);
	if (n_fail)
		printf("(controller log: %s)\n", log_path);
	else
		unlink(log_path);
	agent_free(A);
	agent_free(B);
	agent_free(C);
	vr_xmpp_cleanup();
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
