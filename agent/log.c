/* vrouter-agent logging (see log.h). The log is written with one write(2) per line so that lines from
 * the agent and from libbpf (both on fd 2) never interleave mid-line. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "log.h"

static enum vr_agent_log_level log_level = VR_AGENT_LOG_INFO;

int vr_log_init(enum vr_agent_log_level level, const char *file)
{
	int fd;

	log_level = level;
	if (!file || !*file)
		return 0;
	fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	if (dup2(fd, STDERR_FILENO) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	return 0;
}

void vr_log_set_level(enum vr_agent_log_level level)
{
	log_level = level;
}

enum vr_agent_log_level vr_log_level(void)
{
	return log_level;
}

void vr_log(enum vr_agent_log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char line[1024];
	struct timespec ts;
	struct tm tm;
	size_t n;
	va_list ap;
	int saved = errno;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += snprintf(line + n, sizeof(line) - n, ".%03ld %-7s ", ts.tv_nsec / 1000000, names[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	n = strlen(line);
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nowhere left to complain to. */
	}
	errno = saved;
}
