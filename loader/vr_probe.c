/* The minimum-kernel check run before every load: does this kernel have what the datapath uses? Without it an
 * old kernel fails deep inside libbpf or the verifier with a message that names neither the missing feature
 * nor the fix. The check asks the kernel itself (libbpf's feature probes: each loads a tiny map or program)
 * for every map type, program type and helper the programs in bpf/ use, and compares the release with the
 * documented minimum (6.1, the oldest kernel the test suite runs on). Vendor kernels with backports can pass
 * the probes while their release is older: VR_KERNEL_CHECK=0 skips the release floor (the probes still
 * run), VR_KERNEL_CHECK=none skips the probes too. VR_MIN_KERNEL=X.Y sets another floor (used by the tests
 * to play an old kernel). Keep the tables below in step with the bpf_*() calls and map types in bpf/. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "vr_internal.h"

#define VR_MIN_KERNEL "6.1"

static const struct {
	enum bpf_map_type type;
	const char *name;
} vr_probe_maps[] = {
	{ BPF_MAP_TYPE_HASH, "HASH" },
	{ BPF_MAP_TYPE_ARRAY, "ARRAY" },
	{ BPF_MAP_TYPE_PERCPU_ARRAY, "PERCPU_ARRAY" },
	{ BPF_MAP_TYPE_LPM_TRIE, "LPM_TRIE" },
	{ BPF_MAP_TYPE_ARRAY_OF_MAPS, "ARRAY_OF_MAPS" },
	{ BPF_MAP_TYPE_DEVMAP, "DEVMAP" },
	{ BPF_MAP_TYPE_RINGBUF, "RINGBUF" },
};

static const struct {
	enum bpf_prog_type type;
	const char *name;
} vr_probe_progs[] = {
	{ BPF_PROG_TYPE_XDP, "XDP" },
	{ BPF_PROG_TYPE_SCHED_CLS, "SCHED_CLS (tc)" },
};

/* Which program type calls which helper: a helper can exist and still be refused to one type. */
#define VR_HELPER(prog, fn) { BPF_PROG_TYPE_##prog, BPF_FUNC_##fn, "bpf_" #fn, #prog }
static const struct {
	enum bpf_prog_type prog;
	enum bpf_func_id id;
	const char *name;
	const char *prog_name;
} vr_probe_helpers[] = {
	/* bpf/lib/xdp.h, bpf/vif_xdp.h, bpf/fabric_xdp.h */
	VR_HELPER(XDP, redirect),
	VR_HELPER(XDP, redirect_map),
	VR_HELPER(XDP, xdp_adjust_head),
	VR_HELPER(XDP, xdp_adjust_tail),
	VR_HELPER(XDP, xdp_adjust_meta),
	/* bpf/lib/tc.h, bpf/vif_tc.h, bpf/fabric_tc.h */
	VR_HELPER(SCHED_CLS, redirect),
	VR_HELPER(SCHED_CLS, skb_adjust_room),
	VR_HELPER(SCHED_CLS, skb_change_tail),
	VR_HELPER(SCHED_CLS, skb_load_bytes),
	VR_HELPER(SCHED_CLS, skb_store_bytes),
	VR_HELPER(SCHED_CLS, skb_pull_data),
	/* the shared lookups, encapsulation and NAT (bpf/lib/encap.h, route.h, stats.h, nat.h, gateway.h) */
	VR_HELPER(XDP, map_lookup_elem),
	VR_HELPER(XDP, map_update_elem),
	VR_HELPER(XDP, map_delete_elem),
	VR_HELPER(XDP, fib_lookup),
	VR_HELPER(XDP, jiffies64),
	VR_HELPER(XDP, ktime_get_coarse_ns),
	VR_HELPER(XDP, ringbuf_output),
	VR_HELPER(SCHED_CLS, map_lookup_elem),
	VR_HELPER(SCHED_CLS, map_update_elem),
	VR_HELPER(SCHED_CLS, map_delete_elem),
	VR_HELPER(SCHED_CLS, fib_lookup),
	VR_HELPER(SCHED_CLS, jiffies64),
	VR_HELPER(SCHED_CLS, ktime_get_coarse_ns),
	VR_HELPER(SCHED_CLS, ringbuf_output),
};

/* "X.Y..." -> X, Y; anything else is -EINVAL. */
static int vr_parse_release(const char *s, unsigned int *major, unsigned int *minor)
{
	char *end;
	unsigned long a, b;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	a = strtoul(s, &end, 10);
	if (*end != '.' || end[1] < '0' || end[1] > '9')
		return -EINVAL;
	b = strtoul(end + 1, &end, 10);
	if (a > 1000 || b > 1000)
		return -EINVAL;
	*major = (unsigned int)a;
	*minor = (unsigned int)b;
	return 0;
}

static int vr_check_release(void)
{
	const char *floor = getenv("VR_MIN_KERNEL");
	unsigned int fmaj, fmin, kmaj, kmin;
	struct utsname u;

	if (!floor || !*floor)
		floor = VR_MIN_KERNEL;
	if (vr_parse_release(floor, &fmaj, &fmin))
		return vr_err(-EINVAL, "VR_MIN_KERNEL='%.32s' is not a kernel release like 6.1", floor);
	if (uname(&u))
		return vr_err(-errno, "uname failed: %s", strerror(errno));
	if (vr_parse_release(u.release, &kmaj, &kmin))
		return vr_err(-EINVAL, "cannot read the kernel release '%.64s' (VR_KERNEL_CHECK=0 skips this check)",
			      u.release);
	if (kmaj < fmaj || (kmaj == fmaj && kmin < fmin))
		return vr_err(-ENOTSUP, "kernel %.64s is older than %u.%u, the minimum the datapath is tested on "
			      "(VR_KERNEL_CHECK=0 loads anyway when the kernel has the features backported)",
			      u.release, fmaj, fmin);
	return 0;
}

/* Append "what" to the list of missing features (cut with "..." when the message would overflow). */
static void vr_missing(char *buf, size_t len, size_t *n, unsigned int *count, const char *what, int rc)
{
	int r;

	if (*n >= len - 1)
		return;
	r = snprintf(buf + *n, len - *n, "%s%s%s%s", *count ? ", " : "", what, rc < 0 ? ": probe failed, " : "",
		     rc < 0 ? strerror(-rc) : "");
	if (r < 0 || (size_t)r >= len - *n) {
		memcpy(buf + len - 4, "...", 4);
		*n = len - 1;
	} else {
		*n += (size_t)r;
	}
	(*count)++;
}

static int vr_check_features(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, mopts, .map_flags = BPF_F_MMAPABLE);
	char missing[320] = "", what[96];
	unsigned int count = 0;
	size_t n = 0;
	int rc, fd;

	for (size_t i = 0; i < sizeof(vr_probe_maps) / sizeof(vr_probe_maps[0]); i++) {
		rc = libbpf_probe_bpf_map_type(vr_probe_maps[i].type, NULL);
		if (rc != 1) {
			snprintf(what, sizeof(what), "map type %s", vr_probe_maps[i].name);
			vr_missing(missing, sizeof(missing), &n, &count, what, rc);
		}
	}
	/* The nexthop, ECMP and label arrays are mmapable: user space reads whole tables from memory. */
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "vr_probe_mmap", sizeof(__u32), sizeof(__u64), 1, &mopts);
	if (fd < 0)
		vr_missing(missing, sizeof(missing), &n, &count, "BPF_F_MMAPABLE arrays", 0);
	else
		close(fd);
	for (size_t i = 0; i < sizeof(vr_probe_progs) / sizeof(vr_probe_progs[0]); i++) {
		rc = libbpf_probe_bpf_prog_type(vr_probe_progs[i].type, NULL);
		if (rc != 1) {
			snprintf(what, sizeof(what), "program type %s", vr_probe_progs[i].name);
			vr_missing(missing, sizeof(missing), &n, &count, what, rc);
		}
	}
	for (size_t i = 0; i < sizeof(vr_probe_helpers) / sizeof(vr_probe_helpers[0]); i++) {
		rc = libbpf_probe_bpf_helper(vr_probe_helpers[i].prog, vr_probe_helpers[i].id, NULL);
		if (rc != 1) {
			snprintf(what, sizeof(what), "helper %s in %s programs", vr_probe_helpers[i].name,
				 vr_probe_helpers[i].prog_name);
			vr_missing(missing, sizeof(missing), &n, &count, what, rc);
		}
	}
	if (count)
		return vr_err(-ENOTSUP, "this kernel lacks what the datapath needs (kernel %s or newer has it): %s",
			      VR_MIN_KERNEL, missing);
	return 0;
}

int vr_kernel_check(void)
{
	const char *mode = getenv("VR_KERNEL_CHECK");
	int err;

	if (mode && !strcmp(mode, "none"))
		return 0;
	if (!mode || strcmp(mode, "0")) {
		err = vr_check_release();
		if (err)
			return err;
	}
	return vr_check_features();
}
