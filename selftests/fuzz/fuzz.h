/* What the libFuzzer targets share: an invariant that breaks is reported under the target's name and aborts,
 * which libFuzzer turns into a crash with its reproducer. Define FUZZ_NAME before including. */
#ifndef VR_FUZZ_H
#define VR_FUZZ_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, FUZZ_NAME ": invariant broken: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

#define CHECK(cond, ...) do { if (!(cond)) die(__VA_ARGS__); } while (0)

#endif /* VR_FUZZ_H */
