/* A streaming JSON writer for vrouterctl -j / -p: keys and strings escaped, commas and indentation tracked
 * per nesting level. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

#define JW_MAX_DEPTH 16

static int jw_depth;
static bool jw_first[JW_MAX_DEPTH] = { true };

static void jw_escaped(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void jw_sep(const char *key)
{
	if (!jw_first[jw_depth])
		putchar(',');
	jw_first[jw_depth] = false;
	if (cli.pretty && jw_depth > 0) {
		putchar('\n');
		for (int i = 0; i < jw_depth; i++)
			fputs("    ", stdout);
	}
	if (key) {
		jw_escaped(key);
		fputs(cli.pretty ? ": " : ":", stdout);
	}
}

static void jw_open(const char *key, char c)
{
	jw_sep(key);
	putchar(c);
	if (jw_depth < JW_MAX_DEPTH - 1)
		jw_depth++;
	jw_first[jw_depth] = true;
}

static void jw_close(char c)
{
	bool empty = jw_first[jw_depth];

	if (jw_depth > 0)
		jw_depth--;
	if (cli.pretty && !empty) {
		putchar('\n');
		for (int i = 0; i < jw_depth; i++)
			fputs("    ", stdout);
	}
	putchar(c);
}

void jw_obj_begin(const char *key)
{
	jw_open(key, '{');
}

void jw_obj_end(void)
{
	jw_close('}');
}

void jw_arr_begin(const char *key)
{
	jw_open(key, '[');
}

void jw_arr_end(void)
{
	jw_close(']');
}

void jw_str(const char *key, const char *val)
{
	jw_sep(key);
	jw_escaped(val);
}

void jw_u64(const char *key, uint64_t val)
{
	jw_sep(key);
	printf("%llu", (unsigned long long)val);
}

void jw_finish(void)
{
	putchar('\n');
	jw_depth = 0;
	jw_first[0] = true;
}
