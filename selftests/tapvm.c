// SPDX-License-Identifier: GPL-2.0
/* tapvm: plays a VM's NIC with two real tap devices, so that the end-to-end tests drive the vRouter's tap
 * path (native XDP on a tap, redirect into a tap through ndo_xdp_xmit) without booting a guest.
 *
 * It creates tap HOSTTAP in the network namespace it starts in (the vif the vRouter attaches to), enters
 * network namespace NETNS and creates tap VMTAP there (the VM's eth0), then copies every frame from one
 * tap's file descriptor to the other until SIGTERM or SIGINT. The VM side is an ordinary kernel stack whose
 * tap has no virtio-net header and no offloads, so the frames it hands over carry complete checksums.
 *
 * With -v both taps carry a virtio-net header and offloads (IFF_VNET_HDR, TUNSETOFFLOAD with checksum and
 * TSO), as a hypervisor's taps do: the VM's stack then sends TSO super-packets with checksums left to
 * offload, and the relay hands them to the vRouter's tap header and all, like vhost would.
 *
 * Both taps are opened non-blocking: the tun driver runs a native XDP program on written frames only for
 * non-blocking writers (otherwise it builds an skb and the program sees nothing). When both taps exist it
 * prints one "tapvm: ready ..." line on stdout and, with -r FILE, creates FILE holding its pid, so that a
 * script can wait for it. Exit status: 0 after a signal, 1 on a runtime error, 2 on bad usage. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if_tun.h>

/* Largest frame a tap without GSO can carry (its MTU is at most 65535) plus the Ethernet header. */
#define FRAME_MAX (65536 + 64)
/* Frames moved per direction per wakeup, so that one busy direction cannot starve the other. */
#define BURST 64

static volatile sig_atomic_t stop_signal;
static bool vnet_hdr;

struct tap {
	const char *name;
	int fd;
	unsigned int ifindex;
	unsigned long long frames, bytes, errors;
};

static void die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tapvm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nUsage: tapvm [-r READY_FILE] [-q] [-v] HOSTTAP NETNS VMTAP\n"
			"  HOSTTAP  tap created in the current network namespace (the vRouter's vif)\n"
			"  NETNS    network namespace of the VM: a name under /run/netns or a path\n"
			"  VMTAP    tap created inside NETNS (the VM's eth0)\n"
			"  -r FILE  create FILE (holding the pid) once both taps exist\n"
			"  -q       no ready line and no statistics on exit\n"
			"  -v       virtio-net headers and offloads (checksum, TSO) on both taps\n");
	exit(2);
}

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* Create (or attach to) tap NAME in the current network namespace. The device lives while fd is open. */
static int tap_open(struct tap *t)
{
	struct ifreq ifr;

	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		fprintf(stderr, "tapvm: open /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0);
	strncpy(ifr.ifr_name, t->name, IFNAMSIZ - 1);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		int err = errno;

		fprintf(stderr, "tapvm: create tap %s: %s%s\n", t->name, strerror(err),
			err == EBUSY ? " (another process has it open)" :
			err == EINVAL ? " (a device of another type has that name?)" : "");
		close(t->fd);
		t->fd = -1;
		return -1;
	}
	/* The reader takes checksum-offloaded and TSO frames: the kernel may hand them over unsegmented. */
	if (vnet_hdr && ioctl(t->fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) {
		fprintf(stderr, "tapvm: offloads on %s: %s\n", t->name, strerror(errno));
		close(t->fd);
		t->fd = -1;
		return -1;
	}
	t->ifindex = if_nametoindex(t->name);
	return 0;
}

/* Open the namespace first, so that a wrong name fails before any device exists. */
static int open_netns(const char *ns)
{
	char path[PATH_MAX];
	int fd;

	if (strchr(ns, '/'))
		snprintf(path, sizeof(path), "%s", ns);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "tapvm: network namespace %s: %s\n", path, strerror(errno));
	return fd;
}

static int enter_netns(int fd, const char *ns)
{
	if (setns(fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "tapvm: setns %s: %s\n", ns, strerror(errno));
		return -1;
	}
	return 0;
}

/* Move up to BURST frames from src to dst. Returns -1 when src is unusable (its device went away). */
static int pump(struct tap *src, struct tap *dst, unsigned char *buf)
{
	for (int i = 0; i < BURST; i++) {
		ssize_t n = read(src->fd, buf, FRAME_MAX);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			fprintf(stderr, "tapvm: read %s: %s\n", src->name, strerror(errno));
			return -1;
		}
		if (n == 0)
			return 0;
		/* A tap write delivers the whole frame or fails it; a failed frame is lost, as on a wire. */
		if (write(dst->fd, buf, (size_t)n) != n) {
			if (errno == EBADFD || errno == ENODEV) {
				fprintf(stderr, "tapvm: write %s: %s\n", dst->name, strerror(errno));
				return -1;
			}
			dst->errors++;
			continue;
		}
		src->frames++;
		src->bytes += (unsigned long long)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct tap host = { .fd = -1 }, vm = { .fd = -1 };
	const char *ready_file = NULL, *netns;
	struct sigaction sa;
	sigset_t block, waitmask;
	unsigned char *buf;
	bool quiet = false, ready_made = false;
	int opt, ns_fd = -1, rc = 1;

	while ((opt = getopt(argc, argv, "r:qvh")) != -1) {
		switch (opt) {
		case 'v':
			vnet_hdr = true;
			break;
		case 'r':
			ready_file = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			die_usage("plays a VM NIC through two taps");
			break;
		default:
			die_usage("unknown option");
		}
	}
	if (argc - optind != 3)
		die_usage("expected 3 arguments, got %d", argc - optind);
	host.name = argv[optind];
	netns = argv[optind + 1];
	vm.name = argv[optind + 2];
	if (!*host.name || strlen(host.name) >= IFNAMSIZ)
		die_usage("bad device name '%s' (1..%d characters)", host.name, IFNAMSIZ - 1);
	if (!*vm.name || strlen(vm.name) >= IFNAMSIZ)
		die_usage("bad device name '%s' (1..%d characters)", vm.name, IFNAMSIZ - 1);

	/* Signals stay blocked except inside ppoll(), so a stop request can never slip in between the check
	 * of stop_signal and the wait. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &block, &waitmask) < 0) {
		fprintf(stderr, "tapvm: sigprocmask: %s\n", strerror(errno));
		return 1;
	}
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGHUP);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	buf = malloc(FRAME_MAX);
	if (!buf) {
		fprintf(stderr, "tapvm: out of memory\n");
		return 1;
	}
	ns_fd = open_netns(netns);
	if (ns_fd < 0)
		goto out;
	/* The tun device is created in the namespace of the process that opens /dev/net/tun. */
	if (tap_open(&host) < 0)
		goto out;
	if (enter_netns(ns_fd, netns) < 0 || tap_open(&vm) < 0)
		goto out;

	if (ready_file) {
		FILE *f = fopen(ready_file, "w");

		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0) {
			fprintf(stderr, "tapvm: ready file %s: %s\n", ready_file, strerror(errno));
			goto out;
		}
		ready_made = true;
	}
	if (!quiet) {
		printf("tapvm: ready %s (ifindex %u) <-> %s:%s (ifindex %u)\n", host.name, host.ifindex, netns,
		       vm.name, vm.ifindex);
		fflush(stdout);
	}

	while (!stop_signal) {
		struct pollfd pfd[2] = {
			{ .fd = host.fd, .events = POLLIN },
			{ .fd = vm.fd, .events = POLLIN },
		};
		int n = ppoll(pfd, 2, NULL, &waitmask);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "tapvm: poll: %s\n", strerror(errno));
			goto out;
		}
		for (int i = 0; i < 2; i++) {
			if (pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL)) {
				fprintf(stderr, "tapvm: %s: device is gone\n", i ? vm.name : host.name);
				goto out;
			}
		}
		if ((pfd[0].revents & POLLIN) && pump(&host, &vm, buf) < 0)
			goto out;
		if ((pfd[1].revents & POLLIN) && pump(&vm, &host, buf) < 0)
			goto out;
	}
	rc = 0;
out:
	if (!quiet && (host.frames || vm.frames || host.errors || vm.errors || !rc))
		fprintf(stderr, "tapvm: %s -> %s %llu frames %llu bytes, %s -> %s %llu frames %llu bytes, "
				"%llu write errors%s\n",
			host.name, vm.name, host.frames, host.bytes, vm.name, host.name, vm.frames, vm.bytes,
			host.errors + vm.errors, stop_signal ? ", stopped by signal" : "");
	if (ready_made)
		unlink(ready_file);
	if (vm.fd >= 0)
		close(vm.fd);
	if (host.fd >= 0)
		close(host.fd);
	if (ns_fd >= 0)
		close(ns_fd);
	free(buf);
	return rc;
}
