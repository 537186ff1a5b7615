/* Set-up shared by the datapath test programs that load the real datapath (test_datapath, fuzz_pkt): a failure
 * recorded as a sentence in setup_err, shell commands and proc files that record their own failure, and the
 * isolation every run starts with (private mount and network namespaces, a bpffs of its own). Header-only:
 * each program is one translation unit. */
#ifndef VR_SELFTESTS_SETUP_H
#define VR_SELFTESTS_SETUP_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>

static char setup_err[4096];
/* The bpffs setup_isolation mounted, whether it is a directory it made (to remove at the end), and the pin
 * directory under it that the datapath is loaded into. */
static char bpffs_dir[128];
static bool bpffs_tmp, bpffs_mounted;
static char pin_dir[256];

static int __attribute__((format(printf, 1, 2))) setup_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(setup_err, sizeof(setup_err), fmt, ap);
	va_end(ap);
	return -1;
}

/* Runs a shell command; on failure, its output goes into setup_err. */
static int __attribute__((format(printf, 1, 2))) sh(const char *fmt, ...)
{
	char cmd[1024], out[2048] = "";
	size_t n = 0;
	va_list ap;
	FILE *f;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 8, fmt, ap);
	va_end(ap);
	strcat(cmd, " 2>&1");
	f = popen(cmd, "r");
	if (!f)
		return setup_fail("cannot run '%s': %s", cmd, strerror(errno));
	while (n < sizeof(out) - 1 && fgets(out + n, (int)(sizeof(out) - n), f))
		n = strlen(out);
	st = pclose(f);
	if (st != 0)
		return setup_fail("'%s' failed (status %d): %s", cmd, st, out);
	return 0;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return setup_fail("cannot open %s: %s", path, strerror(errno));
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : setup_fail("cannot write %s", path);
}

/* New mount and network namespaces: devices, pins and links die with this process. bpffs goes on the private
 * sysfs's /sys/fs/bpf, else on a new directory made from tmp_template (a mkdtemp template); the datapath is
 * pinned in pin_name below it. */
static int setup_isolation(const char *tmp_template, const char *pin_name)
{
	struct stat st;

	if (unshare(CLONE_NEWNS | CLONE_NEWNET))
		return setup_fail("unshare(CLONE_NEWNS | CLONE_NEWNET): %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return setup_fail("making / private: %s", strerror(errno));
	/* A sysfs of the new network namespace (as 'ip netns exec' does), for anything that reads
	 * /sys/class/net; its fs/bpf mount point then hides the host's bpffs from us and us from the host. */
	if (mount("sysfs", "/sys", "sysfs", 0, NULL))
		fprintf(stderr, "# mounting a private sysfs failed (%s); going on with the host's\n", strerror(errno));
	if (stat("/sys/fs/bpf", &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(bpffs_dir, sizeof(bpffs_dir), "/sys/fs/bpf");
	} else {
		snprintf(bpffs_dir, sizeof(bpffs_dir), "%s", tmp_template);
		if (!mkdtemp(bpffs_dir))
			return setup_fail("mkdtemp: %s", strerror(errno));
		bpffs_tmp = true;
	}
	if (mount("bpf", bpffs_dir, "bpf", 0, "mode=0700"))
		return setup_fail("mounting bpffs on %s: %s", bpffs_dir, strerror(errno));
	bpffs_mounted = true;
	snprintf(pin_dir, sizeof(pin_dir), "%s/%s", bpffs_dir, pin_name);
	return 0;
}

#endif
