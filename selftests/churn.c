/* churn: route churn beside live traffic, for the hitless tests: for SECONDS, add N /32 routes in VRF (one
 * vr_route_add_batch, tunnels to REMOTE) and delete them again one by one, as fast as it goes or at most
 * RATE route changes per second. Prints what it did: "churn: A adds, D deletes in S s (X changes/s)".
 * Usage: churn -d PINDIR -v VRF -r REMOTE [-n N] [-t SECONDS] [-R RATE] [-p PREFIX_BASE] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "libvrouter.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *pin_dir = NULL, *base_s = "10.250.0.0";
	__u32 vrf = 0, n = 1000, rate = 0;
	double seconds = 3, t0, t;
	unsigned long adds = 0, dels = 0;
	struct vr_route_req *reqs;
	__be32 remote = 0, base;
	int opt, rc = 0;

	while ((opt = getopt(argc, argv, "d:v:r:n:t:R:p:")) != -1) {
		switch (opt) {
		case 'd': pin_dir = optarg; break;
		case 'v': vrf = (__u32)strtoul(optarg, NULL, 0); break;
		case 'r': if (vr_parse_ipv4(optarg, &remote)) remote = 0; break;
		case 'n': n = (__u32)strtoul(optarg, NULL, 0); break;
		case 't': seconds = atof(optarg); break;
		case 'R': rate = (__u32)strtoul(optarg, NULL, 0); break;
		case 'p': base_s = optarg; break;
		default: goto usage;
		}
	}
	if (!pin_dir || !remote || !n || n > 65536 || seconds <= 0 || vr_parse_ipv4(base_s, &base))
		goto usage;
	reqs = calloc(n, sizeof(*reqs));
	if (!reqs)
		return 1;
	t0 = now_s();
	while ((t = now_s()) - t0 < seconds && !rc) {
		struct vr_handle h;

		/* One handle per round, as the agent does: the writer lock is let go between rounds. */
		if (vr_open(pin_dir, &h)) {
			fprintf(stderr, "churn: %s\n", vr_strerror());
			return 1;
		}
		for (__u32 i = 0; i < n; i++)
			reqs[i] = (struct vr_route_req){ .vrf_id = vrf, .prefix = htonl(ntohl(base) + i), .plen = 32,
				.nh = { .type = VR_NH_TUNNEL, .remote_ip = remote, .label = 16 + i } };
		if (vr_route_add_batch(&h, reqs, n)) {
			fprintf(stderr, "churn: adding failed: %s\n", vr_strerror());
			rc = 1;
		}
		adds += n;
		for (__u32 i = 0; i < n && !rc; i++, dels++)
			if (vr_route_del(&h, vrf, reqs[i].prefix, 32)) {
				fprintf(stderr, "churn: deleting failed: %s\n", vr_strerror());
				rc = 1;
			}
		vr_close(&h);
		if (rate) {
			double want = (double)(adds + dels) / rate - (now_s() - t0);

			if (want > 0)
				usleep((useconds_t)(want * 1e6));
		}
	}
	t = now_s() - t0;
	printf("churn: %lu adds, %lu deletes in %.2f s (%.0f changes/s)\n", adds, dels, t, (adds + dels) / t);
	free(reqs);
	return rc;
usage:
	fprintf(stderr, "usage: churn -d PINDIR -v VRF -r REMOTE [-n N] [-t SECONDS] [-R RATE] [-p PREFIX_BASE]\n");
	return 2;
}
