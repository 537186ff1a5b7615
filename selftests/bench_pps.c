// SPDX-License-Identifier: GPL-2.0
/* bench_pps: the driver of the packet-rate benchmark (selftests/bench_pps.sh). It loads its own BPF object
 * (selftests/bench_pps.bpf.c, embedded as a skeleton; nothing of the datapath), attaches the counter to the
 * receiving device (in any namespace), optionally the bare-redirect baseline to a forwarding device, and
 * runs the generator with BPF_PROG_TEST_RUN in live-frames mode in the namespace it was started in:
 *
 *   bench_pps run --tx-dev DEV --frame SPEC --rx-dev DEV [--rx-netns PATH] [--fwd DEV:TODEV [--fwd-netns PATH]]
 *                 [--seconds S] [--runs N] [--warmup S] [--flows N [--flow-sports M]] [-v]
 *   bench_pps frame SPEC           print the frame SPEC describes, in hex, and the offset of its flow port
 *
 * run prints one JSON object per run on stdout: frames sent and counted (and their mean length at the receiver,
 * a check that they are what the path should deliver), wall seconds, Mpps at the receiver,
 * the process's CPU share (utime+stime / wall), that of ksoftirqd on its CPU (softirq work deferred from the
 * generator's context), Mpps per CPU-second of the two (the rate without other tasks on the core), the busy
 * share of the CPU it is pinned to and of the other CPUs (from /proc/stat). Pin it with taskset to one CPU: the generator, every veth NAPI poll the frames
 * cause and the counter then all run on that CPU.
 *
 * SPEC is a comma-separated key=value list (MACs aa:bb:.., IPv4 dotted):
 *   kind=udp   dmac smac src dst [sport 10000] [dport 9] [len 60]            Ethernet/IPv4/UDP
 *   kind=mpls  dmac smac osrc odst label src dst [osport 49153] [oport 6635] [ilen 46]
 *              Ethernet/IPv4/UDP/MPLS (RFC 7510) around an ilen-byte IPv4/UDP packet src -> dst
 *   kind=vxlan dmac smac osrc odst vni idmac ismac src dst [osport 49153] [oport 4789] [ilen 46]
 *              Ethernet/IPv4/UDP/VXLAN/Ethernet around an ilen-byte IPv4/UDP packet
 * The UDP source port of the innermost packet varies over --flows flows (sport, default 10000, upwards);
 * with --flow-sports M (fewer than the flows, both powers of two) over M source ports, and the destination
 * port over flows / M ports (dport upwards): more flows than one destination's ports (a NAT's limit).
 * len is the frame without FCS: the default 60 is a 64-byte frame on a wire. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench_pps.skel.h"

#ifndef BPF_F_TEST_XDP_LIVE_FRAMES
#define BPF_F_TEST_XDP_LIVE_FRAMES (1U << 1)
#endif

#define FRAME_MAX 128 /* bench_pps.bpf.c: TMPL_MAX */
#define MAX_CPUS 256

static int verbose;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench_pps: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void vlog(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	fputs("# ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ------------------------------------------------------------------ frames */

struct frame {
	uint8_t b[FRAME_MAX];
	unsigned int len;
	unsigned int flow_off; /* offset of the innermost UDP source port */
	uint16_t flow_base;
	uint16_t dport_base; /* the innermost UDP destination port (varied with --flow-sports) */
};

struct spec {
	char kind[8];
	uint8_t dmac[6], smac[6], idmac[6], ismac[6];
	uint32_t src, dst, osrc, odst; /* network order */
	unsigned int sport, dport, osport, oport, len, ilen, label, vni;
	unsigned int have; /* bit per key given */
};

enum { K_DMAC = 1, K_SMAC = 2, K_SRC = 4, K_DST = 8, K_OSRC = 16, K_ODST = 32, K_LABEL = 64, K_VNI = 128,
       K_IDMAC = 256, K_ISMAC = 512 };

static void parse_mac(const char *s, uint8_t *mac, const char *key)
{
	unsigned int v[6];
	char tail;
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		die("frame: %s: not a MAC address: '%s'", key, s);
	for (i = 0; i < 6; i++) {
		if (v[i] > 255)
			die("frame: %s: not a MAC address: '%s'", key, s);
		mac[i] = v[i];
	}
}

static uint32_t parse_ip(const char *s, const char *key)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		die("frame: %s: not an IPv4 address: '%s'", key, s);
	return a.s_addr;
}

static unsigned int parse_uint(const char *s, unsigned int max, const char *key)
{
	unsigned long v;
	char *e;

	errno = 0;
	v = strtoul(s, &e, 0);
	if (errno || e == s || *e || v > max)
		die("%s: not a number up to %u: '%s'", key, max, s);
	return v;
}

static void parse_spec(const char *text, struct spec *sp)
{
	char *copy = strdup(text), *tok, *save = NULL;

	memset(sp, 0, sizeof(*sp));
	sp->sport = 10000;
	sp->dport = 9;
	sp->osport = 49153;
	sp->len = 60;
	sp->ilen = 46;
	if (!copy)
		die("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *val = strchr(tok, '=');

		if (!val)
			die("frame: '%s' is not key=value", tok);
		*val++ = 0;
		if (!strcmp(tok, "kind")) {
			snprintf(sp->kind, sizeof(sp->kind), "%s", val);
		} else if (!strcmp(tok, "dmac")) {
			parse_mac(val, sp->dmac, tok);
			sp->have |= K_DMAC;
		} else if (!strcmp(tok, "smac")) {
			parse_mac(val, sp->smac, tok);
			sp->have |= K_SMAC;
		} else if (!strcmp(tok, "idmac")) {
			parse_mac(val, sp->idmac, tok);
			sp->have |= K_IDMAC;
		} else if (!strcmp(tok, "ismac")) {
			parse_mac(val, sp->ismac, tok);
			sp->have |= K_ISMAC;
		} else if (!strcmp(tok, "src")) {
			sp->src = parse_ip(val, tok);
			sp->have |= K_SRC;
		} else if (!strcmp(tok, "dst")) {
			sp->dst = parse_ip(val, tok);
			sp->have |= K_DST;
		} else if (!strcmp(tok, "osrc")) {
			sp->osrc = parse_ip(val, tok);
			sp->have |= K_OSRC;
		} else if (!strcmp(tok, "odst")) {
			sp->odst = parse_ip(val, tok);
			sp->have |= K_ODST;
		} else if (!strcmp(tok, "sport")) {
			sp->sport = parse_uint(val, 65535, tok);
		} else if (!strcmp(tok, "dport")) {
			sp->dport = parse_uint(val, 65535, tok);
		} else if (!strcmp(tok, "osport")) {
			sp->osport = parse_uint(val, 65535, tok);
		} else if (!strcmp(tok, "oport")) {
			sp->oport = parse_uint(val, 65535, tok);
		} else if (!strcmp(tok, "len")) {
			sp->len = parse_uint(val, FRAME_MAX, tok);
		} else if (!strcmp(tok, "ilen")) {
			sp->ilen = parse_uint(val, FRAME_MAX, tok);
		} else if (!strcmp(tok, "label")) {
			sp->label = parse_uint(val, (1U << 20) - 1, tok);
			sp->have |= K_LABEL;
		} else if (!strcmp(tok, "vni")) {
			sp->vni = parse_uint(val, (1U << 24) - 1, tok);
			sp->have |= K_VNI;
		} else {
			die("frame: unknown key '%s'", tok);
		}
	}
	free(copy);
}

static void need(const struct spec *sp, unsigned int keys, const char *names)
{
	if ((sp->have & keys) != keys)
		die("frame: kind=%s needs %s", sp->kind, names);
}

static uint16_t ip_csum(const uint8_t *p, unsigned int n)
{
	uint32_t sum = 0;
	unsigned int i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static uint8_t *put_eth(uint8_t *p, const uint8_t *dmac, const uint8_t *smac)
{
	memcpy(p, dmac, 6);
	memcpy(p + 6, smac, 6);
	put16(p + 12, 0x0800);
	return p + 14;
}

/* IPv4 header (20 bytes, DF, TTL 64) for a packet of tot bytes; returns where its payload starts. */
static uint8_t *put_ip(uint8_t *p, uint32_t src, uint32_t dst, unsigned int tot)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	put16(p + 2, tot);
	put16(p + 6, 0x4000);
	p[8] = 64;
	p[9] = 17; /* UDP */
	memcpy(p + 12, &src, 4);
	memcpy(p + 16, &dst, 4);
	put16(p + 10, ip_csum(p, 20));
	return p + 20;
}

/* UDP header (checksum 0, which IPv4 allows) for a datagram of len bytes. */
static uint8_t *put_udp(uint8_t *p, unsigned int sport, unsigned int dport, unsigned int len)
{
	put16(p, sport);
	put16(p + 2, dport);
	put16(p + 4, len);
	put16(p + 6, 0);
	return p + 8;
}

static void build_frame(const char *text, struct frame *f)
{
	struct spec sp;
	uint8_t *p = f->b, *inner;
	unsigned int outer;

	parse_spec(text, &sp);
	memset(f, 0, sizeof(*f));
	f->flow_base = sp.sport;
	f->dport_base = sp.dport;
	if (!strcmp(sp.kind, "udp")) {
		need(&sp, K_DMAC | K_SMAC | K_SRC | K_DST, "dmac smac src dst");
		if (sp.len < 14 + 28 || sp.len > FRAME_MAX)
			die("frame: len must be 42..%d", FRAME_MAX);
		f->len = sp.len;
		p = put_eth(p, sp.dmac, sp.smac);
		p = put_ip(p, sp.src, sp.dst, sp.len - 14);
		f->flow_off = p - f->b;
		put_udp(p, sp.sport, sp.dport, sp.len - 14 - 20);
		return;
	}
	if (!strcmp(sp.kind, "mpls")) {
		need(&sp, K_DMAC | K_SMAC | K_OSRC | K_ODST | K_LABEL | K_SRC | K_DST,
		     "dmac smac osrc odst label src dst");
		outer = 14 + 20 + 8 + 4;
		if (!sp.oport)
			sp.oport = 6635;
	} else if (!strcmp(sp.kind, "vxlan")) {
		need(&sp, K_DMAC | K_SMAC | K_OSRC | K_ODST | K_VNI | K_IDMAC | K_ISMAC | K_SRC | K_DST,
		     "dmac smac osrc odst vni idmac ismac src dst");
		outer = 14 + 20 + 8 + 8 + 14;
		if (!sp.oport)
			sp.oport = 4789;
	} else {
		die("frame: kind must be udp, mpls or vxlan (got '%s')", sp.kind);
	}
	if (sp.ilen < 28 || outer + sp.ilen > FRAME_MAX)
		die("frame: ilen must be 28..%u", FRAME_MAX - outer);
	f->len = outer + sp.ilen;
	p = put_eth(p, sp.dmac, sp.smac);
	p = put_ip(p, sp.osrc, sp.odst, f->len - 14);
	p = put_udp(p, sp.osport, sp.oport, f->len - 14 - 20);
	if (sp.kind[0] == 'm') {
		uint32_t shim = htonl(sp.label << 12 | 1 << 8 | 64); /* TC 0, bottom of stack, TTL 64 */

		memcpy(p, &shim, 4);
		p += 4;
	} else {
		p[0] = 0x08; /* VNI present */
		p[4] = sp.vni >> 16;
		p[5] = sp.vni >> 8;
		p[6] = sp.vni;
		p = put_eth(p + 8, sp.idmac, sp.ismac);
	}
	inner = put_ip(p, sp.src, sp.dst, sp.ilen);
	f->flow_off = inner - f->b;
	put_udp(inner, sp.sport, sp.dport, sp.ilen - 20);
}

static void print_hex(FILE *out, const struct frame *f)
{
	unsigned int i;

	for (i = 0; i < f->len; i++)
		fprintf(out, "%02x%s", f->b[i], (i % 16 == 15 || i + 1 == f->len) ? "\n" : " ");
}

/* ------------------------------------------------------------------ namespaces, CPUs, time */

static int open_netns(const char *path)
{
	int fd = open(path ? path : "/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die("open %s: %s", path ? path : "/proc/self/ns/net", strerror(errno));
	return fd;
}

static void enter_netns(int fd, const char *what)
{
	if (setns(fd, CLONE_NEWNET))
		die("setns to the %s namespace: %s", what, strerror(errno));
}

static int ifindex_of(const char *dev, const char *what)
{
	int ifindex = if_nametoindex(dev);

	if (!ifindex)
		die("%s device %s: %s", what, dev, strerror(errno));
	return ifindex;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

struct cpu_ticks {
	int n;
	unsigned long long busy[MAX_CPUS], total[MAX_CPUS];
};

/* Per-CPU jiffies from /proc/stat: total = user..steal, busy = total - idle - iowait (as lib.sh's
 * vr_cpu_ticks does for all CPUs together). */
static void read_ticks(struct cpu_ticks *t)
{
	FILE *f = fopen("/proc/stat", "r");
	char line[512];

	t->n = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v[8] = { 0 };
		int cpu;

		if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9')
			continue;
		if (sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1], &v[2], &v[3],
			   &v[4], &v[5], &v[6], &v[7]) < 9 || cpu < 0 || cpu >= MAX_CPUS)
			continue;
		t->total[cpu] = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
		t->busy[cpu] = t->total[cpu] - v[3] - v[4];
		if (cpu + 1 > t->n)
			t->n = cpu + 1;
	}
	fclose(f);
}

/* Busy share (%) between two samples of the CPUs in mask (mine = 1) or not in it (mine = 0); -1 if none. */
static double busy_pct(const struct cpu_ticks *a, const struct cpu_ticks *b, const cpu_set_t *mask, int mine)
{
	unsigned long long busy = 0, total = 0;
	int c;

	for (c = 0; c < a->n && c < b->n; c++) {
		if (!!CPU_ISSET(c, mask) != mine)
			continue;
		busy += b->busy[c] - a->busy[c];
		total += b->total[c] - a->total[c];
	}
	return total ? 100.0 * busy / total : -1;
}

/* The pid of ksoftirqd/CPU: softirq work that the generator's calls leave pending runs there when it is
 * deferred (budget exhausted), still on the same CPU. 0 if not found. */
static int ksoftirqd_pid(int cpu)
{
	char want[32], path[64], comm[64];
	int pid, found = 0;
	FILE *f;

	snprintf(want, sizeof(want), "ksoftirqd/%d\n", cpu);
	/* Kernel threads are started early: low pids; stop at the first match. */
	for (pid = 1; pid < 4096 && !found; pid++) {
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strcmp(comm, want))
			found = pid;
		fclose(f);
	}
	return found;
}

/* utime + stime of a task, seconds; 0 if unreadable. */
static double task_cpu_s(int pid)
{
	unsigned long ut = 0, st = 0;
	char path[64], buf[1024], *p;
	FILE *f;

	if (!pid)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* After "(comm)": state is field 3, utime 14, stime 15. */
	if (!p || !(p = strrchr(buf, ')')) || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

/* ------------------------------------------------------------------ counting */

struct counter {
	int fd;
	int ncpus;
	uint64_t *vals; /* packets, bytes per CPU */
};

static void counter_reset(struct counter *c)
{
	uint32_t key = 0;

	memset(c->vals, 0, sizeof(uint64_t) * 2 * c->ncpus);
	if (bpf_map_update_elem(c->fd, &key, c->vals, BPF_ANY))
		die("reset the counter: %s", strerror(errno));
}

static uint64_t counter_read(struct counter *c, uint64_t *bytes)
{
	uint32_t key = 0;
	uint64_t sum = 0;
	int i;

	if (bpf_map_lookup_elem(c->fd, &key, c->vals))
		die("read the counter: %s", strerror(errno));
	*bytes = 0;
	for (i = 0; i < c->ncpus; i++) {
		sum += c->vals[2 * i];
		*bytes += c->vals[2 * i + 1];
	}
	return sum;
}

/* ------------------------------------------------------------------ run */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* One BPF_PROG_TEST_RUN call of repeat live frames; returns the kernel's time per frame (ns, the generator
 * and everything the frames cause on this CPU while the call runs), or 0 when interrupted by a signal. */
static uint32_t gen_call(int prog_fd, struct frame *f, uint32_t repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->b, .data_size_in = f->len, .repeat = repeat,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

	if (bpf_prog_test_run_opts(prog_fd, &opts)) {
		if (errno == EINTR && stop)
			return 0;
		die("BPF_PROG_TEST_RUN (live frames): %s", strerror(errno));
	}
	if (opts.retval != XDP_REDIRECT)
		vlog("generator returned %u", opts.retval);
	return opts.duration ? opts.duration : 1;
}

static uint32_t clamp_repeat(double frames)
{
	if (frames < 1000)
		return 1000;
	if (frames > 1e9)
		return 1000000000;
	return frames;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bench_pps run --tx-dev DEV --frame SPEC --rx-dev DEV [--rx-netns PATH]\n"
		"                     [--fwd DEV:TODEV [--fwd-netns PATH]] [--seconds S] [--runs N] [--warmup S]\n"
		"                     [--flows N [--flow-sports M]] [-v]\n"
		"       bench_pps frame SPEC\n"
		"SPEC: kind=udp|mpls|vxlan,key=value,... (see the head of selftests/bench_pps.c)\n");
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && verbose < 2)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int cmd_run(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "tx-dev", required_argument, NULL, 't' }, { "frame", required_argument, NULL, 'f' },
		{ "rx-dev", required_argument, NULL, 'r' }, { "rx-netns", required_argument, NULL, 'R' },
		{ "fwd", required_argument, NULL, 'w' },    { "fwd-netns", required_argument, NULL, 'W' },
		{ "seconds", required_argument, NULL, 's' }, { "runs", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'u' }, { "flows", required_argument, NULL, 'F' },
		{ "flow-sports", required_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	const char *tx_dev = NULL, *rx_dev = NULL, *rx_ns = NULL, *fwd = NULL, *fwd_ns = NULL, *frame_spec = NULL;
	double seconds = 2, warmup = 0.5;
	unsigned int runs = 3, flows = 256, sports = 0, sport_bits = 0;
	int self_ns, rx_ns_fd, fwd_ns_fd, tx_ifindex, rx_ifindex, fwd_from = 0, fwd_to = 0, opt, err, run, gen_fd;
	struct bpf_link *count_link, *fwd_link = NULL;
	struct bench_pps *skel;
	struct counter cnt;
	struct frame f;
	cpu_set_t mask;
	uint32_t ns_per_frame;
	int softirqd = 0;

	while ((opt = getopt_long(argc, argv, "v", lo, NULL)) != -1) {
		switch (opt) {
		case 't': tx_dev = optarg; break;
		case 'f': frame_spec = optarg; break;
		case 'r': rx_dev = optarg; break;
		case 'R': rx_ns = optarg; break;
		case 'w': fwd = optarg; break;
		case 'W': fwd_ns = optarg; break;
		case 's': seconds = atof(optarg); break;
		case 'n': runs = parse_uint(optarg, 100, "--runs"); break;
		case 'u': warmup = atof(optarg); break;
		case 'F': flows = parse_uint(optarg, 1U << 24, "--flows"); break;
		case 'P':
			sports = parse_uint(optarg, 65536, "--flow-sports");
			if (!sports)
				die("--flow-sports must be a power of two up to --flows");
			break;
		case 'v': verbose++; break;
		default: usage(stderr); return 2;
		}
	}
	if (!tx_dev || !rx_dev || !frame_spec || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (seconds < 0.1 || seconds > 600 || warmup < 0 || warmup > 60 || !runs)
		die("--seconds must be in [0.1, 600], --warmup in [0, 60], --runs >= 1");
	if (!flows || (flows & (flows - 1)))
		die("--flows must be a power of two");
	build_frame(frame_spec, &f);
	if (!sports)
		sports = flows;
	if (!sports || (sports & (sports - 1)) || sports > flows)
		die("--flow-sports must be a power of two up to --flows");
	while ((1U << sport_bits) < sports)
		sport_bits++;
	if (f.flow_base + sports - 1 > 65535)
		die("sport + flows exceeds 65535 (spread them over destination ports with --flow-sports)");
	if (f.dport_base + (flows >> sport_bits) - 1 > 65535)
		die("dport + flows / --flow-sports exceeds 65535");

	/* Device names are resolved in their own namespaces; the generator runs in ours. */
	self_ns = open_netns(NULL);
	rx_ns_fd = open_netns(rx_ns);
	fwd_ns_fd = open_netns(fwd_ns);
	tx_ifindex = ifindex_of(tx_dev, "--tx-dev");
	enter_netns(rx_ns_fd, "receiving");
	rx_ifindex = ifindex_of(rx_dev, "--rx-dev");
	if (fwd) {
		char *copy = strdup(fwd), *to = copy ? strchr(copy, ':') : NULL;

		if (!to)
			die("--fwd wants DEV:TODEV");
		*to++ = 0;
		enter_netns(fwd_ns_fd, "forwarding");
		fwd_from = ifindex_of(copy, "--fwd");
		fwd_to = ifindex_of(to, "--fwd target");
		free(copy);
	}
	enter_netns(self_ns, "generator's");

	libbpf_set_print(libbpf_print);
	skel = bench_pps__open();
	if (!skel)
		die("open the BPF object: %s", strerror(errno));
	memcpy((void *)skel->rodata->tmpl, f.b, f.len);
	skel->rodata->tmpl_len = f.len;
	skel->rodata->flow_off = f.flow_off;
	skel->rodata->flow_base = f.flow_base;
	skel->rodata->n_flows = flows;
	skel->rodata->sport_bits = sport_bits;
	skel->rodata->dport_base = f.dport_base;
	skel->rodata->gen_ifindex = tx_ifindex;
	skel->rodata->fwd_ifindex = fwd_to;
	if (!fwd)
		bpf_program__set_autoload(skel->progs.bench_fwd, false);
	err = bench_pps__load(skel);
	if (err)
		die("load the BPF object: %s", strerror(-err));
	gen_fd = bpf_program__fd(skel->progs.bench_gen);

	cnt.fd = bpf_map__fd(skel->maps.counts);
	cnt.ncpus = libbpf_num_possible_cpus();
	if (cnt.ncpus <= 0)
		die("number of possible CPUs: %s", strerror(-cnt.ncpus));
	cnt.vals = calloc(2 * cnt.ncpus, sizeof(uint64_t));
	if (!cnt.vals)
		die("out of memory");

	/* XDP links: detached when this process exits, however it exits. */
	enter_netns(rx_ns_fd, "receiving");
	count_link = bpf_program__attach_xdp(skel->progs.bench_count, rx_ifindex);
	if (!count_link)
		die("attach the counter to %s: %s", rx_dev, strerror(errno));
	if (fwd) {
		enter_netns(fwd_ns_fd, "forwarding");
		fwd_link = bpf_program__attach_xdp(skel->progs.bench_fwd, fwd_from);
		if (!fwd_link)
			die("attach the bare redirect to %s: %s", fwd, strerror(errno));
	}
	enter_netns(self_ns, "generator's");
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	if (sched_getaffinity(0, sizeof(mask), &mask))
		die("sched_getaffinity: %s", strerror(errno));
	if (CPU_COUNT(&mask) != 1) {
		fprintf(stderr, "bench_pps: not pinned to one CPU (use taskset): the CPU shares mix cores\n");
	} else {
		int c;

		for (c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &mask))
				softirqd = ksoftirqd_pid(c);
	}
	vlog("frame of %u bytes, flow port at %u, %u flows from %u; tx ifindex %d, rx %s ifindex %d%s", f.len,
	     f.flow_off, flows, f.flow_base, tx_ifindex, rx_dev, rx_ifindex, fwd ? ", bare redirect attached" : "");
	if (verbose)
		print_hex(stderr, &f);

	/* Every BPF_PROG_TEST_RUN call costs ~25 ms of setup and teardown during which no frame flows (the CPU
	 * mostly idles), so each run is one call, sized from the kernel's time per frame measured by the warm-up
	 * (which also settles the page pool, the caches and the devices' rings). */
	ns_per_frame = gen_call(gen_fd, &f, 50000);
	if (warmup > 0 && !stop)
		ns_per_frame = gen_call(gen_fd, &f, clamp_repeat(warmup * 1e9 / ns_per_frame));
	usleep(20000);

	for (run = 1; run <= (int)runs && !stop; run++) {
		struct cpu_ticks ta, tb;
		double t0, t1, c0, c1, k0, k1, wall, busy_s;
		uint64_t got, bytes;
		uint32_t rep, ns;

		rep = clamp_repeat(seconds * 1e9 / ns_per_frame);
		counter_reset(&cnt);
		read_ticks(&ta);
		k0 = task_cpu_s(softirqd);
		c0 = cpu_s();
		t0 = now_s();
		ns = gen_call(gen_fd, &f, rep);
		t1 = now_s();
		c1 = cpu_s();
		k1 = task_cpu_s(softirqd);
		read_ticks(&tb);
		if (!ns)
			break;
		ns_per_frame = ns;
		wall = t1 - t0;
		usleep(20000); /* frames still in a veth ring reach the counter */
		got = counter_read(&cnt, &bytes);
		/* All the work of a frame (generator, veth polls, router, counter) runs on this CPU, in this process's
		 * context or ksoftirqd's: frames per CPU-second of the two is the rate the core would give if nothing
		 * else ran on it (tick accounting counts softirq time to the task it interrupted). */
		busy_s = (c1 - c0) + (k1 - k0);
		printf("{\"run\":%d,\"sent\":%u,\"received\":%llu,\"seconds\":%.4f,\"mpps\":%.4f,\"mpps_per_cpu\":%.4f,"
		       "\"sent_mpps\":%.4f,"
		       "\"kernel_ns_per_frame\":%u,\"gen_cpu_pct\":%.1f,\"ksoftirqd_cpu_pct\":%.1f,\"gen_core_busy_pct\":%.1f,"
		       "\"other_cpu_pct\":%.1f,"
		       "\"frame_len\":%u,\"rx_frame_len\":%.1f}\n",
		       run, rep, (unsigned long long)got, wall, got / wall / 1e6, busy_s > 0 ? got / busy_s / 1e6 : 0.0,
		       rep / wall / 1e6, ns,
		       100 * (c1 - c0) / wall, softirqd ? 100 * (k1 - k0) / wall : -1.0, busy_pct(&ta, &tb, &mask, 1), busy_pct(&ta, &tb, &mask, 0), f.len,
		       got ? (double)bytes / got : 0.0);
		fflush(stdout);
	}
	bpf_link__destroy(fwd_link);
	bpf_link__destroy(count_link);
	bench_pps__destroy(skel);
	free(cnt.vals);
	return stop ? 130 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (argc == 3 && !strcmp(argv[1], "frame")) {
		struct frame f;

		build_frame(argv[2], &f);
		printf("# %u bytes, flow port at offset %u\n", f.len, f.flow_off);
		print_hex(stdout, &f);
		return 0;
	}
	usage(argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) ? stdout : stderr);
	return argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) ? 0 : 2;
}
