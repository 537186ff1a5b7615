/* bench_publisher: the helpers of the control-plane benchmark (selftests/bench_control.sh).
 *
 *   bench_publisher publish ADDR PORT HOST VN INSTANCE COUNT FIRST_IP NH_IP LABEL
 *	A fake agent: opens an XMPP stream to a vrouter-controller as HOST, subscribes to VN with INSTANCE,
 *	then publishes COUNT /32 routes FIRST_IP, FIRST_IP+1, ... each via NH_IP with LABEL (the publish +
 *	collection associate pairs of the dialect, built with the codec of agent/xmpp.h). Prints
 *	"first NS" just before the first publish is written and "last NS" once the last one is written
 *	(CLOCK_REALTIME, ns), then keeps the session open (draining and ignoring what it receives) until it
 *	is killed or the controller closes it.
 *
 *   bench_publisher watch PINDIR VRF TIMEOUT_S PREFIX...
 *	Polls the pinned datapath at PINDIR (the maps themselves, no CLI: /32 routes live in the host-route hash,
 *	keyed by VRF and address) and prints "PREFIX NS" the first time each A.B.C.D/32 prefix is seen in VRF,
 *	then "polls N period_us P" (the mean polling period: the resolution of the timestamps). Exits 0 once all
 *	were seen, 1 at the timeout.
 *
 *   bench_publisher count PINDIR VRF N TIMEOUT_S [LAST_PREFIX]
 *	Counts VRF's routes (host-route hash read in kernel batches, plus the VRF's trie) periodically; prints
 *	"reached NS" once there are N or more, with "polls N period_us P count_us C" (the resolution), or
 *	"timeout COUNT NS" after TIMEOUT_S (exit 1). With LAST_PREFIX, counts only once that /32 is present,
 *	and prints "seen NS" when it first is.
 *
 *   bench_publisher routes PINDIR VRF
 *	Prints VRF's route count once.
 *
 * Lines are flushed as written, so the script can follow them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include "libvrouter.h"
#include "xmpp.h"

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_publisher: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* ---- publish ---- */

static int fd = -1;
static int opened;

static int on_event(void *user, const struct vr_xmpp_event *ev)
{
	(void)user;
	if (ev->type == VR_XMPP_EV_STREAM_OPEN)
		opened = 1;
	else if (ev->type == VR_XMPP_EV_STREAM_CLOSE || ev->type == VR_XMPP_EV_ERROR)
		opened = -1;
	return 0;
}

/* Reads what is there (or waits up to ms for something) and feeds the decoder; 0 when the peer closed. */
static int drain(struct vr_xmpp_decoder *d, int ms)
{
	char buf[65536];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return 1;
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == 0)
		return 0;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	vr_xmpp_decoder_feed(d, buf, (size_t)n);
	return 1;
}

/* Writes the whole buffer, reading whatever the controller sends meanwhile (it must never block on us). */
static void send_all(struct vr_xmpp_decoder *d, struct vr_xmpp_buf *b)
{
	size_t off = 0;

	while (off < b->len) {
		struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
		ssize_t n;

		if (poll(&p, 1, 5000) < 0 && errno != EINTR)
			die("poll");
		if (p.revents & POLLIN && !drain(d, 0)) {
			fprintf(stderr, "bench_publisher: the controller closed the session\n");
			exit(1);
		}
		if (!(p.revents & (POLLOUT | POLLERR | POLLHUP)))
			continue;
		n = send(fd, b->data + off, b->len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			die("send");
		}
		off += (size_t)n;
	}
	b->len = 0;
}

static int cmd_publish(char **av)
{
	const char *host = av[2], *vn = av[3];
	unsigned long instance = strtoul(av[4], NULL, 0), count = strtoul(av[5], NULL, 0);
	unsigned long label = strtoul(av[8], NULL, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(av[1])) };
	struct in_addr first, nh_ip;
	struct vr_xmpp_decoder *d;
	struct vr_xmpp_buf b;
	unsigned int seq = 0;
	int one = 1;

	if (inet_pton(AF_INET, av[0], &sa.sin_addr) != 1 || inet_pton(AF_INET, av[6], &first) != 1 ||
	    inet_pton(AF_INET, av[7], &nh_ip) != 1 || !count || !label || label > 0xfffff) {
		fprintf(stderr, "bench_publisher publish: bad arguments\n");
		return 2;
	}
	d = vr_xmpp_decoder_new(NULL, on_event, NULL);
	if (!d)
		die("decoder");
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	vr_xmpp_buf_init(&b, 0);
	if (vr_xmpp_build_stream_open(&b, host, NULL))
		die("build stream open");
	send_all(d, &b);
	for (uint64_t end = now_ns(CLOCK_MONOTONIC) + 5000000000ull; opened == 0 && now_ns(CLOCK_MONOTONIC) < end;)
		if (!drain(d, 100))
			break;
	if (opened != 1) {
		fprintf(stderr, "bench_publisher: no stream answer from the controller\n");
		return 1;
	}
	if (vr_xmpp_build_subscribe(&b, host, ++seq, vn, (__u32)instance))
		die("build subscribe");
	send_all(d, &b);

	struct vr_xmpp_nexthop nh = {
		.addr = { .afi = VR_XMPP_AFI_IPV4, .ip.v4 = nh_ip.s_addr },
		.has_mac = true,
		.mac = { 0x02, 0xbe, 0x0c, 0, 0, 1 },
		.label = (__u32)label,
		.encaps = VR_XMPP_ENCAP_UDP | VR_XMPP_ENCAP_GRE,
		.virtual_network = vn,
	};
	struct vr_xmpp_entry e = {
		.nlri = { .afi = VR_XMPP_AFI_IPV4, .plen = 32 },
		.safi = VR_XMPP_SAFI_UNICAST,
		.n_nexthops = 1,
		.nexthops = &nh,
		.version = 1,
		.local_pref = 100,
		.virtual_network = vn,
		.sub_protocol = "interface",
	};
	uint32_t base = ntohl(first.s_addr);

	for (unsigned long i = 0; i < count; i++) {
		e.nlri.ip.v4 = htonl(base + (uint32_t)i);
		e.sequence_number = (__u32)i + 1;
		if (vr_xmpp_build_publish(&b, host, ++seq, vn, &e))
			die("build publish");
		/* Batches of 256 pairs (about 200 KB): few syscalls, and the first one goes out at once. */
		if (i == 0 || (i + 1) % 256 == 0 || i + 1 == count) {
			if (i == 0) {
				printf("first %llu\n", (unsigned long long)now_ns(CLOCK_REALTIME));
				fflush(stdout);
			}
			send_all(d, &b);
		}
	}
	printf("last %llu\n", (unsigned long long)now_ns(CLOCK_REALTIME));
	fflush(stdout);
	/* Keep the session (and so the routes) until killed; keepalives keep the controller's hold timer quiet. */
	for (;;) {
		uint64_t until = now_ns(CLOCK_MONOTONIC) + 1000000000ull;

		while (now_ns(CLOCK_MONOTONIC) < until)
			if (!drain(d, 200))
				return 0;
		if (vr_xmpp_build_keepalive(&b) == 0)
			send_all(d, &b);
	}
}

/* ---- the route table, read from the pinned maps ---- */

/* The pinned maps a reader needs: the host-route hash (where every /32 lives, keyed by VRF and address) and
 * the VRF's trie (shorter prefixes). Readers only: the writer lock is dropped at once, so the agent is never
 * held up by a poll. */
struct tables {
	int host4;	/* vr_host4 */
	int trie;	/* the VRF's LPM trie */
	__u32 vrf;
};

static void tables_open(const char *pindir, unsigned long vrf, struct tables *t)
{
	struct vr_handle h;
	__u32 key = (__u32)vrf, id;

	if (vr_open(pindir, &h)) {
		fprintf(stderr, "bench_publisher: %s\n", vr_strerror());
		exit(2);
	}
	vr_unlock(&h);
	if (bpf_map_lookup_elem(h.vrf4_fd, &key, &id))
		die("no such VRF");
	t->trie = bpf_map_get_fd_by_id(id);
	if (t->trie < 0)
		die("VRF table");
	t->host4 = dup(h.host4_fd);
	if (t->host4 < 0)
		die("dup");
	t->vrf = key;
	vr_close(&h);
}

/* Routes of the VRF now: its /32s in the host-route hash (read in kernel batches) plus its trie's entries. */
static unsigned long tables_count(const struct tables *t)
{
	enum { CHUNK = 8192 };
	static struct vr_host4_key keys[CHUNK];
	static __u32 vals[CHUNK];
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct vr_route4_key k, next;
	unsigned long n = 0;
	__u32 token = 0, count;
	void *in = NULL, *prev = NULL;

	for (;;) {
		int rc;

		count = CHUNK;
		rc = bpf_map_lookup_batch(t->host4, in, &token, keys, vals, &count, &opts);
		if (rc && errno != ENOENT)
			die("reading the host routes");
		for (__u32 i = 0; i < count; i++)
			n += keys[i].vrf_id == t->vrf;
		if (rc)
			break;
		in = &token;
	}
	while (!bpf_map_get_next_key(t->trie, prev, &next)) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

static bool host_route_present(const struct tables *t, __be32 addr)
{
	struct vr_host4_key k = { .vrf_id = t->vrf, .addr = addr };
	__u32 nh;

	return !bpf_map_lookup_elem(t->host4, &k, &nh);
}

static int cmd_watch(char **av, int n)
{
	struct tables t;
	uint64_t end = now_ns(CLOCK_MONOTONIC) + strtoull(av[2], NULL, 0) * 1000000000ull, start;
	char **names = av + 3;
	__be32 *want = calloc((size_t)n, sizeof(*want));
	char *seen = calloc((size_t)n, 1);
	unsigned long polls = 0;
	int left = n;

	if (!want || !seen)
		die("calloc");
	tables_open(av[0], strtoul(av[1], NULL, 0), &t);
	for (int i = 0; i < n; i++) {
		__u32 plen;

		if (vr_parse_prefix4(names[i], &want[i], &plen) || plen != 32) {
			fprintf(stderr, "bench_publisher watch: not a /32: %s\n", names[i]);
			return 2;
		}
	}
	start = now_ns(CLOCK_MONOTONIC);
	while (left && now_ns(CLOCK_MONOTONIC) < end) {
		polls++;
		/* One exact-match lookup per prefix not seen yet (/32 routes live in the host-route hash). */
		for (int i = 0; i < n; i++)
			if (!seen[i] && host_route_present(&t, want[i])) {
				uint64_t ts = now_ns(CLOCK_REALTIME);

				seen[i] = 1;
				left--;
				printf("%s %llu\n", names[i], (unsigned long long)ts);
				fflush(stdout);
			}
		/* 200 us between polls: a tight loop would take a CPU from the agent and the controller. */
		usleep(200);
	}
	printf("polls %lu period_us %.1f\n", polls, (now_ns(CLOCK_MONOTONIC) - start) / 1e3 / (double)polls);
	return left ? 1 : 0;
}

/* count PINDIR VRF N TIMEOUT_S [LAST]: with LAST (a /32), the cheap check is whether LAST is present (one
 * lookup per ms) and the VRF is counted only once it is (and then every 50 ms), so polling does not take a
 * CPU from the agent while a million routes go in; without it, every poll counts (every 2 ms). "seen NS" is
 * when LAST was first found; "reached NS" is taken after the count that found N or more; "polls N
 * period_us P" gives the number and mean period of the counts and "count_us C" the duration of the last one
 * (the resolution of "reached"). */
static int cmd_count(char **av, int argc)
{
	struct tables t;
	unsigned long want = strtoul(av[2], NULL, 0), polls = 0, n = 0;
	uint64_t end = now_ns(CLOCK_MONOTONIC) + strtoull(av[3], NULL, 0) * 1000000000ull, start, c0 = 0, c1 = 0;
	__be32 last = 0;
	__u32 plen;
	bool have_last = argc > 4, seen = false;

	if (have_last && (vr_parse_prefix4(av[4], &last, &plen) || plen != 32)) {
		fprintf(stderr, "bench_publisher count: not a /32: %s\n", av[4]);
		return 2;
	}
	tables_open(av[0], strtoul(av[1], NULL, 0), &t);
	start = now_ns(CLOCK_MONOTONIC);
	while (now_ns(CLOCK_MONOTONIC) < end) {
		if (have_last && !seen) {
			if (!host_route_present(&t, last)) {
				usleep(1000);
				continue;
			}
			seen = true;
			printf("seen %llu\n", (unsigned long long)now_ns(CLOCK_REALTIME));
		}
		polls++;
		c0 = now_ns(CLOCK_MONOTONIC);
		n = tables_count(&t);
		c1 = now_ns(CLOCK_MONOTONIC);
		if (n >= want) {
			printf("reached %llu\n", (unsigned long long)now_ns(CLOCK_REALTIME));
			printf("polls %lu period_us %.1f count_us %.1f\n", polls,
			       (c1 - start) / 1e3 / (double)polls, (c1 - c0) / 1e3);
			return 0;
		}
		usleep(have_last ? 50000 : 2000);
	}
	if (!polls)
		n = tables_count(&t);
	printf("timeout %lu %llu\n", n, (unsigned long long)now_ns(CLOCK_REALTIME));
	return 1;
}

/* routes PINDIR VRF: prints the VRF's route count. */
static int cmd_routes(char **av)
{
	struct tables t;

	tables_open(av[0], strtoul(av[1], NULL, 0), &t);
	printf("%lu\n", tables_count(&t));
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 11 && !strcmp(argv[1], "publish"))
		return cmd_publish(argv + 2);
	if (argc >= 6 && !strcmp(argv[1], "watch"))
		return cmd_watch(argv + 2, argc - 5);
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "count"))
		return cmd_count(argv + 2, argc - 2);
	if (argc == 4 && !strcmp(argv[1], "routes"))
		return cmd_routes(argv + 2);
	fprintf(stderr, "usage: bench_publisher publish ADDR PORT HOST VN INSTANCE COUNT FIRST_IP NH_IP LABEL\n"
			"       bench_publisher watch PINDIR VRF TIMEOUT_S PREFIX...\n"
			"       bench_publisher count PINDIR VRF N TIMEOUT_S [LAST_PREFIX]\n"
			"       bench_publisher routes PINDIR VRF\n");
	return 2;
}
