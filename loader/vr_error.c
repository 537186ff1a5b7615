/* libvrouter's error reporting and libbpf log routing: functions return -errno and leave a sentence here
 * for the caller to show; libbpf's own messages are filtered by verbosity. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "vr_internal.h"

#undef vr_err /* the analyzer's wrapper (vr_internal.h) is for callers, not for the definition */

static __thread char vr_errbuf[512];
static int vr_verbosity;

const char *vr_strerror(void)
{
	return vr_errbuf;
}

int vr_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vr_errbuf, sizeof(vr_errbuf), fmt, ap);
	va_end(ap);
	return err < 0 ? err : -err;
}

void vr_err_clear(void)
{
	vr_errbuf[0] = '\0';
}

static int vr_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if ((level == LIBBPF_INFO && vr_verbosity < 1) || (level == LIBBPF_DEBUG && vr_verbosity < 2))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void vr_set_verbosity(int level)
{
	vr_verbosity = level;
	libbpf_set_print(vr_libbpf_print);
}
