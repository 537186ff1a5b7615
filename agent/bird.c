/* The gateway's BIRD 2 include file and the `birdc configure` that makes BIRD read it (see bird.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "bird.h"

int vr_bird_render(const struct vr_agent_gateway *gw, char **text, size_t *len)
{
	static struct vr_agent_prefix pf[VR_AGENT_GW_MAX_PUBLIC];
	unsigned int n = vr_agent_gw_announce(gw, pf, VR_AGENT_GW_MAX_PUBLIC);
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return -ENOMEM;
	fprintf(f, "# Written by vrouter-agent (role gateway): the tenants' public prefixes for the border router.\n"
		   "# Rewritten by the agent; do not edit. Include it at the top level of bird.conf and export\n"
		   "# `where proto = \"%s\"` to the border (the routes are blackholes in BIRD: the gateway's\n"
		   "# datapath takes the packets on the external NIC before the host's routing sees them).\n"
		   "protocol static %s {\n\tipv4;\n", VR_BIRD_PROTOCOL, VR_BIRD_PROTOCOL);
	for (unsigned int i = 0; i < n; i++) {
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &pf[i].addr, a, sizeof(a));
		fprintf(f, "\troute %s/%u blackhole;\n", a, pf[i].plen);
	}
	fputs("}\n", f);
	if (fclose(f) || !buf) {
		free(buf);
		return -ENOMEM;
	}
	*text = buf;
	*len = size;
	return 0;
}

/* Does path hold exactly text? (false when it cannot be read: then it is written) */
static bool same_content(const char *path, const char *text, size_t len)
{
	char buf[4096];
	size_t at = 0, n;
	bool same = true;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (same && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
		same = at + n <= len && !memcmp(buf, text + at, n);
		at += n;
	}
	same = same && !ferror(f) && at == len;
	fclose(f);
	return same;
}

int vr_bird_write(const char *path, const char *text, size_t len, bool *changed, char *err, size_t errlen)
{
	char tmp[VR_AGENT_BIRD_PATH_MAX + 8];
	int fd, rc = 0;
	size_t at = 0;

	*changed = false;
	if (same_content(path, text, len))
		return 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(-rc));
		return rc;
	}
	while (at < len) {
		ssize_t w = write(fd, text + at, len - at);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = w < 0 ? -errno : -EIO;
			break;
		}
		at += (size_t)w;
	}
	/* On disk before the rename: a crash leaves the old file or the new one, never a part. */
	if (!rc && fsync(fd))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc) {
		snprintf(err, errlen, "writing %s: %s", path, strerror(-rc));
		unlink(tmp);
		return rc;
	}
	*changed = true;
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The last non-empty line of out, into err. */
static void last_line(const char *out, size_t n, const char *fallback, char *err, size_t errlen)
{
	size_t end = n, start;

	while (end && (out[end - 1] == '\n' || out[end - 1] == '\r' || out[end - 1] == ' '))
		end--;
	for (start = end; start && out[start - 1] != '\n'; start--)
		;
	if (end > start)
		snprintf(err, errlen, "birdc: %.*s", (int)(end - start), out + start);
	else
		snprintf(err, errlen, "birdc: %s", fallback);
}

int vr_bird_configure(const char *socket, char *err, size_t errlen)
{
	char out[4096];
	size_t n = 0;
	long long deadline;
	int pfd[2], status, rc;
	bool timed_out = false;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC)) {
		rc = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(-rc));
		return rc;
	}
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(pfd[0]);
		close(pfd[1]);
		snprintf(err, errlen, "fork: %s", strerror(-rc));
		return rc;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null >= 0)
			dup2(null, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		/* Nothing of the agent's (map fds, the bpffs lock, sockets) goes to birdc. */
		closefrom(3);
		if (socket && *socket)
			execlp("birdc", "birdc", "-s", socket, "configure", (char *)NULL);
		else
			execlp("birdc", "birdc", "configure", (char *)NULL);
		dprintf(1, "cannot run birdc: %s\n", strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	deadline = now_ms() + VR_BIRD_TIMEOUT_MS;
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		long long left = deadline - now_ms();
		ssize_t r;

		if (left <= 0) {
			timed_out = true;
			break;
		}
		rc = poll(&p, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0) {
			timed_out = rc == 0;
			break;
		}
		/* Keep the tail of a long output: the last line says what happened. */
		if (n == sizeof(out) - 1) {
			memmove(out, out + sizeof(out) / 2, n - sizeof(out) / 2);
			n -= sizeof(out) / 2;
		}
		r = read(pfd[0], out + n, sizeof(out) - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(pfd[0]);
	out[n] = '\0';
	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			rc = -errno;
			snprintf(err, errlen, "waitpid: %s", strerror(-rc));
			return rc;
		}
	if (timed_out) {
		snprintf(err, errlen, "birdc did not answer within %d ms (killed)", VR_BIRD_TIMEOUT_MS);
		return -ETIMEDOUT;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	last_line(out, n, "failed", err, errlen);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -ENOENT;
	return -EIO;
}
