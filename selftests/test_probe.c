/* Tests of the minimum-kernel check (loader/vr_probe.c) on the running kernel: the probes pass here (every map
 * type, program type and helper the datapath uses is found), a release floor above this kernel fails with a
 * message naming the kernel and the floor, the operator's overrides (VR_KERNEL_CHECK=0 / none) work, and a
 * malformed VR_MIN_KERNEL is an error, not a silent pass. Needs root (the probes load maps and programs).
 * Prints `ok NAME` / `FAIL NAME: why` per case and `N passed, N failed` last. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "libvrouter.h"

static int passed, failed;

static void result(int ok, const char *name, const char *why)
{
	if (ok) {
		printf("ok %s\n", name);
		passed++;
	} else {
		printf("FAIL %s: %s\n", name, why);
		failed++;
	}
}

/* Run the check under the given environment (NULL: unset); its return value and message. */
static int check_with(const char *min_kernel, const char *mode, char *msg, size_t len)
{
	int err;

	if (min_kernel)
		setenv("VR_MIN_KERNEL", min_kernel, 1);
	else
		unsetenv("VR_MIN_KERNEL");
	if (mode)
		setenv("VR_KERNEL_CHECK", mode, 1);
	else
		unsetenv("VR_KERNEL_CHECK");
	err = vr_kernel_check();
	snprintf(msg, len, "%s", err ? vr_strerror() : "");
	return err;
}

int main(void)
{
	struct timespec t0, t1;
	struct utsname u;
	char msg[600], why[700];
	int err;

	if (geteuid() != 0) {
		printf("the probes need root\n0 passed, 0 failed, 1 skipped\n");
		return 4;
	}
	uname(&u);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = check_with(NULL, NULL, msg, sizeof(msg));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	snprintf(why, sizeof(why), "kernel %s: %d %s", u.release, err, msg);
	result(err == 0, "every map type, program type and helper the datapath uses is there", why);
	printf("    (the check took %.1f ms)\n",
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);

	err = check_with("99.0", NULL, msg, sizeof(msg));
	snprintf(why, sizeof(why), "%d %s", err, msg);
	result(err == -ENOTSUP && strstr(msg, u.release) && strstr(msg, "older than 99.0") &&
	       strstr(msg, "VR_KERNEL_CHECK=0"),
	       "a floor above this kernel fails, naming the kernel, the floor and the override", why);

	/* The floor compares numerically, minor included: 6.18 is newer than 6.2. */
	err = check_with("6.2", NULL, msg, sizeof(msg));
	snprintf(why, sizeof(why), "%d %s", err, msg);
	result(err == 0, "the floor compares releases as numbers (6.2 <= this kernel)", why);

	err = check_with("99.0", "0", msg, sizeof(msg));
	snprintf(why, sizeof(why), "%d %s", err, msg);
	result(err == 0, "VR_KERNEL_CHECK=0 skips the release floor (the feature probes still pass)", why);

	err = check_with("99.0", "none", msg, sizeof(msg));
	snprintf(why, sizeof(why), "%d %s", err, msg);
	result(err == 0, "VR_KERNEL_CHECK=none skips everything", why);

	err = check_with("six.one", NULL, msg, sizeof(msg));
	snprintf(why, sizeof(why), "%d %s", err, msg);
	result(err == -EINVAL && strstr(msg, "VR_MIN_KERNEL='six.one'"), "a malformed VR_MIN_KERNEL is an error", why);

	err = check_with("6", NULL, msg, sizeof(msg));
	snprintf(why, sizeof(why), "%d %s", err, msg);
	result(err == -EINVAL, "VR_MIN_KERNEL without a minor number is an error", why);

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
