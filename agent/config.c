/* The vrouter-agent configuration loader. It reads the file with libyaml's event parser and walks a fixed
 * schema (the tables below) in step with the events, so nothing is kept but the current event: an unknown
 * key, a duplicate key, or a node of the wrong kind stops the walk where it is, and no input can make it
 * recurse deeper than the schema or expand anything (anchors, aliases and tags are refused outright).
 * Adding a setting is one entry in a table plus, where it needs one, a value parser. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <yaml.h>

#include "config.h"
#include "libvrouter.h"
#include "vr_consts.h"

/* The longest section has this many keys; a mapping's bookkeeping is sized by it. */
#define MAX_FIELDS 12

struct parser;
struct field;
struct section;

/* Reads one value whose first event is the parser's current event, into obj. 0 or -errno. */
typedef int (*value_fn)(struct parser *p, const struct field *f, void *obj);

/* What a mapping held: which keys, where each key and value started, where the mapping started. */
struct seen {
	bool set[MAX_FIELDS];
	yaml_mark_t key[MAX_FIELDS];
	yaml_mark_t val[MAX_FIELDS];
	yaml_mark_t map;
};

/* Checks across the fields of one mapping, once it has been read (also run when it is absent). */
typedef int (*check_fn)(struct parser *p, const struct section *sec, void *obj, const struct seen *s);

struct field {
	const char *key;
	value_fn parse;
	size_t off, size;           /* where the value goes in obj, and its room */
	__u32 min, max;             /* numbers: the accepted range */
	const char *what;           /* numbers: what the value is, for errors ("a port") */
	const struct section *sub;  /* sections and lists: the schema of their mappings */
	bool required;
};

struct section {
	const struct field *fields;
	unsigned int nfields;
	check_fn check;
};

struct parser {
	yaml_parser_t yp;
	yaml_event_t ev;
	bool have_ev;
	const char *file;
	FILE *in;
	size_t nread;
	bool too_big;
	int read_errno;
	char *err;
	size_t errlen;
	char path[512];             /* the field path being read: "controllers[1].port" */
	size_t pathlen;
	char shown[128];            /* a value quoted for an error message */
	char found[160];            /* a node described for an error message */
	struct vr_agent_config *cfg; /* what is being read (lists deep inside append to it) */
};

/* Error reporting. */

static int fail(struct parser *p, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, const yaml_mark_t *m, const char *fmt, ...)
{
	size_t n = 0;
	va_list ap;
	int r;

	if (!p->errlen)
		return -EINVAL;
	r = snprintf(p->err, p->errlen, "%s:%zu:%zu: ", p->file, m->line + 1, m->column + 1);
	if (r > 0)
		n = (size_t)r < p->errlen ? (size_t)r : p->errlen - 1;
	if (p->pathlen) {
		r = snprintf(p->err + n, p->errlen - n, "%s: ", p->path);
		if (r > 0)
			n += (size_t)r < p->errlen - n ? (size_t)r : p->errlen - n - 1;
	}
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A value as an error message shows it: as is when it is a plain word, else quoted, with anything
 * unprintable as '?' and long values cut. */
static const char *show(struct parser *p, const char *s)
{
	const size_t max = 48;
	bool quote = !*s;
	size_t i, n = 0;

	for (i = 0; i < max && s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      strchr("._-/:+@", s[i])))
			quote = true;
	if (s[i])
		quote = true;
	if (quote)
		p->shown[n++] = '"';
	for (i = 0; i < max && s[i]; i++)
		p->shown[n++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (s[i]) {
		memcpy(p->shown + n, "...", 3);
		n += 3;
	}
	if (quote)
		p->shown[n++] = '"';
	p->shown[n] = '\0';
	return p->shown;
}

/* Field paths. */

static size_t path_push(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t path_push(struct parser *p, const char *fmt, ...)
{
	size_t saved = p->pathlen;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(p->path + p->pathlen, sizeof(p->path) - p->pathlen, fmt, ap);
	va_end(ap);
	if (r > 0)
		p->pathlen += (size_t)r < sizeof(p->path) - p->pathlen ? (size_t)r : sizeof(p->path) - p->pathlen - 1;
	return saved;
}

static size_t path_push_key(struct parser *p, const char *key)
{
	const char *k = key;

	if (strlen(key) > 64 || strpbrk(key, "\n\r\t"))
		k = show(p, key);
	return path_push(p, p->pathlen ? ".%s" : "%s", k);
}

static void path_pop(struct parser *p, size_t saved)
{
	p->pathlen = saved;
	p->path[saved] = '\0';
}

/* Events. */

static int read_input(void *data, unsigned char *buf, size_t size, size_t *size_read)
{
	struct parser *p = data;
	size_t n = fread(buf, 1, size, p->in);

	if (n == 0 && ferror(p->in)) {
		p->read_errno = errno ? errno : EIO;
		return 0;
	}
	p->nread += n;
	if (p->nread > VR_AGENT_CONFIG_MAX_BYTES) {
		p->too_big = true;
		return 0;
	}
	*size_read = n;
	return 1;
}

static int yaml_failure(struct parser *p)
{
	const yaml_parser_t *yp = &p->yp;
	const char *problem = yp->problem ? yp->problem : "unknown error";
	size_t n;

	if (p->too_big) {
		snprintf(p->err, p->errlen, "%s: larger than %d bytes", p->file, VR_AGENT_CONFIG_MAX_BYTES);
		return -EFBIG;
	}
	if (p->read_errno) {
		snprintf(p->err, p->errlen, "%s: %s", p->file, strerror(p->read_errno));
		return -p->read_errno;
	}
	switch (yp->error) {
	case YAML_MEMORY_ERROR:
		snprintf(p->err, p->errlen, "%s: out of memory", p->file);
		return -ENOMEM;
	case YAML_READER_ERROR:
		/* Encoding problems are found before lines are counted: the reader knows only the offset. */
		snprintf(p->err, p->errlen, "%s: byte %zu: invalid YAML: %s", p->file, yp->problem_offset, problem);
		return -EINVAL;
	default:
		snprintf(p->err, p->errlen, "%s:%zu:%zu: invalid YAML: %s", p->file, yp->problem_mark.line + 1,
			 yp->problem_mark.column + 1, problem);
		n = strlen(p->err);
		if (yp->context && n < p->errlen)
			snprintf(p->err + n, p->errlen - n, " (%s at line %zu, column %zu)", yp->context,
				 yp->context_mark.line + 1, yp->context_mark.column + 1);
		return -EINVAL;
	}
}

/* Moves to the next event; refuses the YAML features this file has no use for, which is also what keeps
 * an alias from ever being expanded. */
static int next(struct parser *p)
{
	const yaml_char_t *anchor = NULL, *tag = NULL;

	if (p->have_ev)
		yaml_event_delete(&p->ev);
	p->have_ev = false;
	if (!yaml_parser_parse(&p->yp, &p->ev))
		return yaml_failure(p);
	p->have_ev = true;
	switch (p->ev.type) {
	case YAML_ALIAS_EVENT:
		return fail(p, &p->ev.start_mark, "aliases (*%s) are not supported", p->ev.data.alias.anchor);
	case YAML_SCALAR_EVENT:
		anchor = p->ev.data.scalar.anchor;
		tag = p->ev.data.scalar.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = p->ev.data.sequence_start.anchor;
		tag = p->ev.data.sequence_start.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = p->ev.data.mapping_start.anchor;
		tag = p->ev.data.mapping_start.tag;
		break;
	default:
		break;
	}
	if (anchor)
		return fail(p, &p->ev.start_mark, "anchors (&%s) are not supported", anchor);
	if (tag)
		return fail(p, &p->ev.start_mark, "tags (%s) are not supported", tag);
	return 0;
}

static bool is_null(const struct parser *p)
{
	const char *v = (const char *)p->ev.data.scalar.value;

	if (p->ev.type != YAML_SCALAR_EVENT || p->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* The current node, as an error message names it. */
static const char *found(struct parser *p)
{
	switch (p->ev.type) {
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_SEQUENCE_START_EVENT:
		return "a sequence";
	case YAML_SCALAR_EVENT:
		if (is_null(p))
			return "no value";
		snprintf(p->found, sizeof(p->found), "the value %s", show(p, (const char *)p->ev.data.scalar.value));
		return p->found;
	default:
		return "something else";
	}
}

/* The text of a single value. */
static int scalar(struct parser *p, const struct field *f, const char **out)
{
	*out = ""; /* never unset, even on failure (static analysis cannot see that fail() returns nonzero) */
	if (p->ev.type != YAML_SCALAR_EVENT)
		return fail(p, &p->ev.start_mark, "expected a single value, found %s", found(p));
	if (is_null(p))
		return fail(p, &p->ev.start_mark, "no value%s", f->required ? "" : " (leave the key out for the default)");
	*out = (const char *)p->ev.data.scalar.value;
	return 0;
}

/* Mappings. */

static int parse_mapping(struct parser *p, const struct section *sec, void *obj);

static int find_field(const struct section *sec, const char *key)
{
	for (unsigned int i = 0; i < sec->nfields; i++)
		if (!strcmp(sec->fields[i].key, key))
			return (int)i;
	return -1;
}

static void key_list(const struct section *sec, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < sec->nfields && n < len; i++) {
		int r = snprintf(buf + n, len - n, "%s%s", i ? ", " : "", sec->fields[i].key);
		if (r > 0)
			n += (size_t)r;
	}
}

/* What follows the last key of a mapping (or stands for a mapping that is absent or empty): required keys,
 * checks of the sections it did not mention, and its own check. */
static int finish_mapping(struct parser *p, const struct section *sec, void *obj, const struct seen *s)
{
	int err;

	for (unsigned int i = 0; i < sec->nfields; i++) {
		const struct field *f = &sec->fields[i];
		struct seen none = { .map = s->map };
		size_t saved;

		if (s->set[i])
			continue;
		saved = path_push_key(p, f->key);
		if (f->required)
			return fail(p, &s->map, "required field is missing");
		err = 0;
		if (f->sub)
			err = finish_mapping(p, f->sub, obj, &none);
		path_pop(p, saved);
		if (err)
			return err;
	}
	return sec->check ? sec->check(p, sec, obj, s) : 0;
}

/* A section's value: a mapping, or nothing at all (`host:` alone), which is an empty one. */
static int section_value(struct parser *p, const struct section *sec, void *obj)
{
	struct seen none = { .map = p->ev.start_mark };

	if (p->ev.type == YAML_MAPPING_START_EVENT)
		return parse_mapping(p, sec, obj);
	if (is_null(p))
		return finish_mapping(p, sec, obj, &none);
	return fail(p, &p->ev.start_mark, "expected a mapping, found %s", found(p));
}

/* The current event is MAPPING-START; reads through MAPPING-END. */
static int parse_mapping(struct parser *p, const struct section *sec, void *obj)
{
	struct seen s = { .map = p->ev.start_mark };
	char keys[256];
	int err;

	for (;;) {
		yaml_mark_t key_mark;
		size_t saved;
		int i;

		if ((err = next(p)))
			return err;
		if (p->ev.type == YAML_MAPPING_END_EVENT)
			break;
		key_mark = p->ev.start_mark;
		if (p->ev.type != YAML_SCALAR_EVENT)
			return fail(p, &key_mark, "expected a key, found %s", found(p));
		saved = path_push_key(p, (const char *)p->ev.data.scalar.value);
		i = find_field(sec, (const char *)p->ev.data.scalar.value);
		if (i < 0) {
			key_list(sec, keys, sizeof(keys));
			return fail(p, &key_mark, "unknown key (expected %s)", keys);
		}
		if (s.set[i])
			return fail(p, &key_mark, "duplicate key (first given at line %zu)", s.key[i].line + 1);
		if ((err = next(p)))
			return err;
		s.set[i] = true;
		s.key[i] = key_mark;
		s.val[i] = p->ev.start_mark;
		if ((err = sec->fields[i].parse(p, &sec->fields[i], obj)))
			return err;
		path_pop(p, saved);
	}
	return finish_mapping(p, sec, obj, &s);
}

/* Value parsers. */

static int parse_section(struct parser *p, const struct field *f, void *obj)
{
	return section_value(p, f->sub, obj);
}

static int parse_uint(struct parser *p, const struct field *f, void *obj)
{
	const char *v;
	__u32 n;
	int err;

	if ((err = scalar(p, f, &v)))
		return err;
	if (*v < '0' || *v > '9' || vr_parse_u32(v, f->max, &n) || n < f->min)
		return fail(p, &p->ev.start_mark, "%s is not %s (%u..%u)", show(p, v), f->what, f->min, f->max);
	if (f->size == sizeof(__u16))
		*(__u16 *)((char *)obj + f->off) = (__u16)n;
	else
		*(__u32 *)((char *)obj + f->off) = n;
	return 0;
}

/* An address this host can use or reach as a unicast peer. */
static int parse_unicast_ipv4(struct parser *p, const struct field *f, void *obj)
{
	const char *v;
	__be32 a;
	int err;

	if ((err = scalar(p, f, &v)))
		return err;
	if (vr_parse_ipv4(v, &a))
		return fail(p, &p->ev.start_mark, "%s is not an IPv4 address", show(p, v));
	if (!a || (ntohl(a) >> 28) >= 0xe)
		return fail(p, &p->ev.start_mark, "%s is not a unicast address", show(p, v));
	*(__be32 *)((char *)obj + f->off) = a;
	return 0;
}

static bool valid_host_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > VR_AGENT_HOST_NAME_MAX || *s == '-' || *s == '.')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '.' || *s == '_'))
			return false;
	return true;
}

#define HOST_NAME_RULE "letters, digits, '-', '.', '_', at most 64, not starting with '-' or '.'"

/* The name goes into XMPP stream headers and control-node object names, hence the conservative alphabet. */
static int parse_host_name(struct parser *p, const struct field *f, void *obj)
{
	const char *v;
	int err;

	if ((err = scalar(p, f, &v)))
		return err;
	if (!valid_host_name(v))
		return fail(p, &p->ev.start_mark, "%s is not a host name (" HOST_NAME_RULE ")", show(p, v));
	strcpy((char *)obj + f->off, v);
	return 0;
}

/* The kernel's rule for device names, without the bytes that would need quoting anywhere. */
static int parse_ifname(struct parser *p, const struct field *f, void *obj)
{
	const char *v, *c;
	bool ok;
	int err;

	if ((err = scalar(p, f, &v)))
		return err;
	ok = *v && strlen(v) < IFNAMSIZ && strcmp(v, ".") && strcmp(v, "..");
	for (c = v; ok && *c; c++)
		ok = *c > 0x20 && *c < 0x7f && *c != '/' && *c != ':';
	if (!ok)
		return fail(p, &p->ev.start_mark,
			    "%s is not a network device name (1..%d characters, no '/', ':' or spaces)", show(p, v),
			    IFNAMSIZ - 1);
	strcpy((char *)obj + f->off, v);
	return 0;
}

/* An absolute path that fits its field ("stderr" too, where f->what says so). */
static int parse_path(struct parser *p, const struct field *f, void *obj)
{
	char *dst = (char *)obj + f->off;
	const char *v, *c;
	int err;

	if ((err = scalar(p, f, &v)))
		return err;
	if (f->what && !strcmp(v, f->what)) {
		dst[0] = '\0';
		return 0;
	}
	if (*v != '/')
		return fail(p, &p->ev.start_mark, "%s is not an absolute path%s%s", show(p, v),
			    f->what ? " or " : "", f->what ? f->what : "");
	for (c = v; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return fail(p, &p->ev.start_mark, "%s: control characters are not allowed in a path", show(p, v));
	if (strlen(v) >= f->size)
		return fail(p, &p->ev.start_mark, "%s is longer than %zu bytes%s", show(p, v), f->size - 1,
			    f->size == VR_AGENT_SOCKET_PATH_MAX ? " (the limit of a Unix socket address)" : "");
	strcpy(dst, v);
	return 0;
}

static const char *const log_levels[] = {
	[VR_AGENT_LOG_ERROR] = "error",
	[VR_AGENT_LOG_WARNING] = "warning",
	[VR_AGENT_LOG_INFO] = "info",
	[VR_AGENT_LOG_DEBUG] = "debug",
};

const char *vr_agent_log_level_name(enum vr_agent_log_level level)
{
	return (unsigned int)level < sizeof(log_levels) / sizeof(log_levels[0]) ? log_levels[level] : "?";
}

/* A value that must be one of names[0..n): its index in *i, or an error that lists them all ("%s is not WHAT
 * (NAME, NAME...)"). The enumerations of the file (log levels, roles, booleans) are such tables. */
static int parse_name(struct parser *p, const struct field *f, const char *const *names, unsigned int n,
		      const char *what, unsigned int *i)
{
	char list[128];
	size_t len = 0;
	const char *v;
	int err;

	*i = 0;
	if ((err = scalar(p, f, &v)))
		return err;
	for (unsigned int k = 0; k < n; k++)
		if (!strcmp(v, names[k])) {
			*i = k;
			return 0;
		}
	list[0] = '\0';
	for (unsigned int k = 0; k < n && len < sizeof(list); k++) {
		int r = snprintf(list + len, sizeof(list) - len, "%s%s", k ? ", " : "", names[k]);

		if (r > 0)
			len += (size_t)r;
	}
	return fail(p, &p->ev.start_mark, "%s is not %s (%s)", show(p, v), what, list);
}

static int parse_log_level(struct parser *p, const struct field *f, void *obj)
{
	unsigned int i;
	int err = parse_name(p, f, log_levels, sizeof(log_levels) / sizeof(log_levels[0]), "a log level", &i);

	if (!err)
		*(enum vr_agent_log_level *)((char *)obj + f->off) = (enum vr_agent_log_level)i;
	return err;
}

static const char *const booleans[] = { "false", "true" };

static int parse_bool(struct parser *p, const struct field *f, void *obj)
{
	unsigned int i;
	int err = parse_name(p, f, booleans, 2, "a boolean", &i);

	if (!err)
		*(bool *)((char *)obj + f->off) = i;
	return err;
}

/* Reads item i of a sequence, whose first event is the parser's current event, into arg. 0 or -errno. */
typedef int (*item_fn)(struct parser *p, unsigned int i, void *arg);

/* The current event is SEQUENCE-START; reads through SEQUENCE-END, each item by item() with "[i]" added to the
 * field path. The first error stops the walk; *count (may be NULL) is how many items were read. */
static int parse_items(struct parser *p, item_fn item, void *arg, unsigned int *count)
{
	unsigned int i;
	int err;

	for (i = 0;; i++) {
		size_t saved;

		if ((err = next(p)))
			return err;
		if (p->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		saved = path_push(p, "[%u]", i);
		if ((err = item(p, i, arg)))
			return err;
		path_pop(p, saved);
	}
	if (count)
		*count = i;
	return 0;
}

static const struct section controller_section;

static int controller_item(struct parser *p, unsigned int n, void *arg)
{
	struct vr_agent_config *cfg = arg;
	yaml_mark_t item = p->ev.start_mark;
	struct vr_agent_controller *c;
	int err;

	if (n == VR_AGENT_MAX_CONTROLLERS)
		return fail(p, &item, "at most %d controllers are supported", VR_AGENT_MAX_CONTROLLERS);
	c = &cfg->controllers[n];
	*c = (struct vr_agent_controller){ .port = VR_AGENT_XMPP_PORT, .hold_time = VR_AGENT_HOLD_TIME };
	if ((err = section_value(p, &controller_section, c)))
		return err;
	for (unsigned int i = 0; i < n; i++)
		if (cfg->controllers[i].addr == c->addr && cfg->controllers[i].port == c->port)
			return fail(p, &item, "same address and port as controllers[%u]", i);
	return 0;
}

/* controllers: a sequence of at most VR_AGENT_MAX_CONTROLLERS mappings, or nothing (standalone). */
static int parse_controllers(struct parser *p, const struct field *f, void *obj)
{
	struct vr_agent_config *cfg = obj;

	(void)f;
	cfg->n_controllers = 0;
	if (is_null(p))
		return 0;
	if (p->ev.type != YAML_SEQUENCE_START_EVENT)
		return fail(p, &p->ev.start_mark, "expected a sequence of controllers (\"- address: ...\"), found %s",
			    found(p));
	return parse_items(p, controller_item, cfg, &cfg->n_controllers);
}

static int encap_item(struct parser *p, unsigned int n, void *arg)
{
	struct vr_agent_config *cfg = arg;
	const char *v;
	__u8 e;

	if (p->ev.type != YAML_SCALAR_EVENT || is_null(p))
		return fail(p, &p->ev.start_mark, "expected an encapsulation (udp or gre), found %s", found(p));
	v = (const char *)p->ev.data.scalar.value;
	if (vr_parse_encap(v, &e))
		return fail(p, &p->ev.start_mark, "%s is not a tunnel encapsulation of this vRouter (udp, gre)",
			    show(p, v));
	for (unsigned int i = 0; i < n; i++)
		if (cfg->encaps[i] == e)
			return fail(p, &p->ev.start_mark, "%s is listed twice (first as tunnel-encapsulation[%u])",
				    show(p, v), i);
	cfg->encaps[n] = e; /* distinct values of a two-value enum: n stays within the array */
	return 0;
}

/* tunnel-encapsulation: a sequence of distinct encapsulation names, most preferred first ([udp, gre]). */
static int parse_encaps(struct parser *p, const struct field *f, void *obj)
{
	struct vr_agent_config *cfg = obj;
	yaml_mark_t start = p->ev.start_mark;
	unsigned int n = 0;
	int err;

	(void)f;
	if (is_null(p))
		return fail(p, &start, "no value (leave the key out for the default, [udp, gre])");
	if (p->ev.type != YAML_SEQUENCE_START_EVENT)
		return fail(p, &start, "expected a sequence of encapsulations, most preferred first ([udp, gre]), "
			    "found %s", found(p));
	if ((err = parse_items(p, encap_item, cfg, &n)))
		return err;
	if (!n)
		return fail(p, &start, "an empty list: name at least one encapsulation (udp, gre)");
	cfg->n_encaps = n;
	return 0;
}

/* The gateway role. */

static const char *const roles[] = {
	[VR_AGENT_ROLE_VROUTER] = "vrouter",
	[VR_AGENT_ROLE_GATEWAY] = "gateway",
};

const char *vr_agent_role_name(enum vr_agent_role role)
{
	return (unsigned int)role < sizeof(roles) / sizeof(roles[0]) ? roles[role] : "?";
}

static int parse_role(struct parser *p, const struct field *f, void *obj)
{
	unsigned int i;
	int err = parse_name(p, f, roles, sizeof(roles) / sizeof(roles[0]), "a role", &i);

	if (!err)
		*(enum vr_agent_role *)((char *)obj + f->off) = (enum vr_agent_role)i;
	return err;
}

/* The port API's rule for virtual network names (vr_vn_valid of ports.c): the XMPP node of the VRF. */
static bool valid_vn(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > VR_AGENT_GW_VN_MAX || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
						(*s >= '0' && *s <= '9')))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr(":._-", *s)))
			return false;
	return true;
}

static int parse_vn(struct parser *p, const struct field *f, void *obj)
{
	const char *v;
	int err;

	if ((err = scalar(p, f, &v)))
		return err;
	if (!valid_vn(v))
		return fail(p, &p->ev.start_mark, "%s is not a virtual network name (1..%d of letters, digits, ':', '.', "
			    "'_', '-', starting with a letter or digit)", show(p, v), VR_AGENT_GW_VN_MAX);
	strcpy((char *)obj + f->off, v);
	return 0;
}

/* "MIN-MAX", both 1..65535, MIN <= MAX. */
static int parse_port_range(struct parser *p, const struct field *f, void *obj)
{
	struct vr_agent_tenant *t = obj;
	const char *v, *dash;
	char lo[8], hi[8];
	__u32 a, b;
	int err;

	if ((err = scalar(p, f, &v)))
		return err;
	dash = strchr(v, '-');
	if (!dash || dash == v || (size_t)(dash - v) >= sizeof(lo) || strlen(dash + 1) >= sizeof(hi) ||
	    *v < '0' || *v > '9' || dash[1] < '0' || dash[1] > '9')
		goto bad;
	memcpy(lo, v, (size_t)(dash - v));
	lo[dash - v] = '\0';
	strcpy(hi, dash + 1);
	if (vr_parse_u32(lo, 65535, &a) || vr_parse_u32(hi, 65535, &b) || !a || !b)
		goto bad;
	if (a > b)
		return fail(p, &p->ev.start_mark, "%s: the first port is above the last", show(p, v));
	t->port_min = (__u16)a;
	t->port_max = (__u16)b;
	return 0;
bad:
	return fail(p, &p->ev.start_mark, "%s is not a port range MIN-MAX (ports 1..65535, e.g. 1024-65535)",
		    show(p, v));
}

static const struct section fip_section;

/* Item n of the floating-ips of the tenant being read (p->cfg->gw.n_tenants): appended to gw.fips. */
static int fip_item(struct parser *p, unsigned int n, void *arg)
{
	struct vr_agent_gateway *gw = &p->cfg->gw;
	struct vr_agent_tenant *t = arg;
	yaml_mark_t item = p->ev.start_mark;
	struct vr_agent_fip *fip;
	char a[16];
	int err;

	if (gw->n_fips == VR_AGENT_GW_MAX_FIPS)
		return fail(p, &item, "at most %d floating IPs are supported (all tenants together)",
			    VR_AGENT_GW_MAX_FIPS);
	fip = &gw->fips[gw->n_fips];
	*fip = (struct vr_agent_fip){ .tenant = gw->n_tenants };
	if ((err = section_value(p, &fip_section, fip)))
		return err;
	for (unsigned int i = 0; i < gw->n_fips; i++) {
		const struct vr_agent_fip *o = &gw->fips[i];

		if (o->public_ip == fip->public_ip)
			return fail(p, &item, "%s is already a floating IP (of tenants[%u])",
				    inet_ntop(AF_INET, &fip->public_ip, a, sizeof(a)), o->tenant);
		if (o->tenant == fip->tenant && o->private_ip == fip->private_ip)
			return fail(p, &item, "%s already has a floating IP (floating-ips[%u])",
				    inet_ntop(AF_INET, &fip->private_ip, a, sizeof(a)), i - t->fip_first);
	}
	gw->n_fips++;
	t->n_fips = n + 1;
	return 0;
}

static int parse_fips(struct parser *p, const struct field *f, void *obj)
{
	(void)f;
	if (is_null(p))
		return 0;
	if (p->ev.type != YAML_SEQUENCE_START_EVENT)
		return fail(p, &p->ev.start_mark, "expected a sequence of floating IPs (\"- {address: PUBLIC, "
			    "private: PRIVATE}\"), found %s", found(p));
	return parse_items(p, fip_item, obj, NULL);
}

static const struct section tenant_section;

/* Item n of tenants: checked against the ones before it. */
static int tenant_item(struct parser *p, unsigned int n, void *arg)
{
	struct vr_agent_gateway *gw = arg;
	yaml_mark_t item = p->ev.start_mark;
	struct vr_agent_tenant *t;
	char a[16];
	int err;

	if (n == VR_AGENT_GW_MAX_TENANTS)
		return fail(p, &item, "at most %d tenants are supported", VR_AGENT_GW_MAX_TENANTS);
	t = &gw->tenants[n];
	*t = (struct vr_agent_tenant){ .fip_first = gw->n_fips };
	if ((err = section_value(p, &tenant_section, t)))
		return err;
	for (unsigned int i = 0; i < n; i++) {
		if (gw->tenants[i].vrf_id == t->vrf_id)
			return fail(p, &item, "vrf %u is already tenants[%u]", t->vrf_id, i);
		if (!strcmp(gw->tenants[i].vn, t->vn))
			return fail(p, &item, "vn %s is already tenants[%u]", show(p, t->vn), i);
	}
	/* A floating IP is the VM's own public address, never also a shared SNAT address. */
	for (unsigned int i = 0; i < gw->n_fips; i++)
		for (unsigned int k = 0; k <= n; k++)
			if (gw->tenants[k].snat_addr && gw->tenants[k].snat_addr == gw->fips[i].public_ip &&
			    (k == n || gw->fips[i].tenant == n))
				return fail(p, &item, "%s is both the snat-address of tenants[%u] and a floating IP of "
					    "tenants[%u]", inet_ntop(AF_INET, &gw->fips[i].public_ip, a, sizeof(a)),
					    k, gw->fips[i].tenant);
	gw->n_tenants = n + 1;
	return 0;
}

/* tenants: a sequence of mappings. */
static int parse_tenants(struct parser *p, const struct field *f, void *obj)
{
	(void)f;
	if (is_null(p))
		return 0;
	if (p->ev.type != YAML_SEQUENCE_START_EVENT)
		return fail(p, &p->ev.start_mark, "expected a sequence of tenants (\"- vn: NAME\"), found %s", found(p));
	return parse_items(p, tenant_item, &((struct vr_agent_config *)obj)->gw, NULL);
}

/* A list of distinct IPv4 prefixes of the gateway section, without host bits and never the default route. */
struct prefix_list {
	const char *key;		/* its key, for errors */
	const char *no_default;		/* why 0.0.0.0/0 is refused */
	struct vr_agent_prefix *pf;
	unsigned int *n, max;
};

static int prefix_item(struct parser *p, unsigned int n, void *arg)
{
	const struct prefix_list *l = arg;
	struct vr_agent_prefix pf;
	const char *v;

	if (p->ev.type != YAML_SCALAR_EVENT || is_null(p))
		return fail(p, &p->ev.start_mark, "expected a prefix A.B.C.D/N, found %s", found(p));
	v = (const char *)p->ev.data.scalar.value;
	if (!strchr(v, '/') || vr_parse_prefix4(v, &pf.addr, &pf.plen))
		return fail(p, &p->ev.start_mark, "%s is not an IPv4 prefix A.B.C.D/N", show(p, v));
	if (!pf.plen)
		return fail(p, &p->ev.start_mark, "%s: %s", show(p, v), l->no_default);
	if (pf.plen < 32 && (ntohl(pf.addr) & (0xffffffffu >> pf.plen)))
		return fail(p, &p->ev.start_mark, "%s has bits set beyond /%u", show(p, v), pf.plen);
	for (unsigned int i = 0; i < n; i++)
		if (l->pf[i].addr == pf.addr && l->pf[i].plen == pf.plen)
			return fail(p, &p->ev.start_mark, "%s is listed twice (first as %s[%u])", show(p, v), l->key,
				    i);
	if (n == l->max)
		return fail(p, &p->ev.start_mark, "at most %u prefixes are supported", l->max);
	l->pf[n] = pf;
	*l->n = n + 1;
	return 0;
}

/* announce: the public prefixes for the border. */
static int parse_announce(struct parser *p, const struct field *f, void *obj)
{
	struct vr_agent_gateway *gw = &((struct vr_agent_config *)obj)->gw;
	struct prefix_list l = { "announce", "the gateway does not announce a default route", gw->announce,
				       &gw->n_announce, VR_AGENT_GW_MAX_ANNOUNCE };
	yaml_mark_t start = p->ev.start_mark;
	int err;

	(void)f;
	if (p->ev.type != YAML_SEQUENCE_START_EVENT || is_null(p))
		return fail(p, &start, "expected a sequence of prefixes ([198.51.100.0/24]), found %s%s", found(p),
			    is_null(p) ? " (leave the key out to announce each public address as a /32)" : "");
	if ((err = parse_items(p, prefix_item, &l, NULL)))
		return err;
	if (!gw->n_announce)
		return fail(p, &start, "an empty list: name the public prefixes (or leave the key out to announce each "
			    "public address as a /32)");
	gw->announce_set = true;
	return 0;
}

/* external-prefixes: what the gateway routes out of the external NIC and advertises into every tenant VRF
 * beside (or, with default-route: false, instead of) the default route. [] is the same as leaving it out. */
static int parse_external(struct parser *p, const struct field *f, void *obj)
{
	struct vr_agent_gateway *gw = &((struct vr_agent_config *)obj)->gw;
	struct prefix_list l = { "external-prefixes", "the default route is not listed here: default-route: "
				       "true (the default) advertises it", gw->external, &gw->n_external,
				       VR_AGENT_GW_MAX_EXTERNAL };

	(void)f;
	if (p->ev.type != YAML_SEQUENCE_START_EVENT || is_null(p))
		return fail(p, &p->ev.start_mark, "expected a sequence of prefixes ([203.0.113.0/24]), found %s%s",
			    found(p), is_null(p) ? " (leave the key out for none)" : "");
	return parse_items(p, prefix_item, &l, NULL);
}

static int cmp_be32(const void *a, const void *b)
{
	__u32 x = ntohl(*(const __be32 *)a), y = ntohl(*(const __be32 *)b);

	return x < y ? -1 : x > y;
}

/* Every distinct public address (SNAT and floating), in address order; returns how many. */
static unsigned int public_addrs(const struct vr_agent_gateway *gw, __be32 *out)
{
	unsigned int n = 0, k = 0;

	for (unsigned int i = 0; i < gw->n_tenants && i < VR_AGENT_GW_MAX_TENANTS; i++)
		if (gw->tenants[i].snat_addr)
			out[n++] = gw->tenants[i].snat_addr;
	for (unsigned int i = 0; i < gw->n_fips && i < VR_AGENT_GW_MAX_FIPS; i++)
		out[n++] = gw->fips[i].public_ip;
	qsort(out, n, sizeof(*out), cmp_be32);
	for (unsigned int i = 0; i < n; i++)
		if (!k || out[k - 1] != out[i])
			out[k++] = out[i];
	return k;
}

unsigned int vr_agent_gw_announce(const struct vr_agent_gateway *gw, struct vr_agent_prefix *out, unsigned int max)
{
	static __be32 addrs[VR_AGENT_GW_MAX_PUBLIC];
	unsigned int n, i;

	if (gw->announce_set) {
		for (i = 0; i < gw->n_announce && i < max; i++)
			out[i] = gw->announce[i];
		return i;
	}
	n = public_addrs(gw, addrs);
	for (i = 0; i < n && i < max; i++)
		out[i] = (struct vr_agent_prefix){ .addr = addrs[i], .plen = 32 };
	return i;
}

static bool prefix_covers(const struct vr_agent_prefix *pf, __be32 a)
{
	__u32 mask = pf->plen ? 0xffffffffu << (32 - pf->plen) : 0;

	return (ntohl(a) & mask) == ntohl(pf->addr);
}

static int check_tenant(struct parser *p, const struct section *sec, void *obj, const struct seen *s)
{
	struct vr_agent_tenant *t = obj;

	(void)sec;
	/* Field order in tenant_fields: vn, vrf, snat-address, snat-ports, floating-ips. */
	if (s->set[3] && !s->set[2]) {
		path_push_key(p, "snat-ports");
		return fail(p, &s->key[3], "given without snat-address");
	}
	if (!t->snat_addr && !t->n_fips)
		return fail(p, &s->map, "neither snat-address nor floating-ips: the tenant would have no way out");
	return 0;
}

/* The bird section needs its file; the gateway advertises at least one route into its tenants' VRFs; every public
 * address must be inside a prefix announced to the border, or the replies never come back. */
static int check_gateway(struct parser *p, const struct section *sec, void *obj, const struct seen *s)
{
	const struct vr_agent_gateway *gw = &((struct vr_agent_config *)obj)->gw;
	int ai = find_field(sec, "announce"), bi = find_field(sec, "bird"), di = find_field(sec, "default-route");
	char a[16];

	/* Checked here, not as a required field: the bird section is optional, and absent it is read as empty. */
	if (s->set[bi] && !gw->bird_include[0]) {
		path_push_key(p, "bird");
		path_push_key(p, "include-file");
		return fail(p, &s->val[bi], "required field is missing");
	}
	/* A gateway that advertises nothing into the tenant VRFs is never used by their vRouters. */
	if (!gw->default_route && !gw->n_external) {
		path_push_key(p, "default-route");
		return fail(p, &s->val[di], "false, and no external-prefixes: the gateway would advertise no route "
			    "into its tenants' VRFs");
	}
	if (!gw->announce_set)
		return 0;
	for (unsigned int t = 0; t < gw->n_tenants; t++) {
		bool snat = !!gw->tenants[t].snat_addr;

		for (unsigned int k = 0; k < gw->tenants[t].n_fips + snat; k++) {
			__be32 addr = k < gw->tenants[t].n_fips ? gw->fips[gw->tenants[t].fip_first + k].public_ip
								 : gw->tenants[t].snat_addr;
			unsigned int i;

			for (i = 0; i < gw->n_announce && !prefix_covers(&gw->announce[i], addr); i++)
				;
			if (i < gw->n_announce)
				continue;
			inet_ntop(AF_INET, &addr, a, sizeof(a));
			path_push_key(p, "announce");
			if (k < gw->tenants[t].n_fips)
				return fail(p, &s->val[ai], "does not cover tenants[%u].floating-ips[%u] %s (the border would "
					    "not send its traffic here)", t, k, a);
			return fail(p, &s->val[ai], "does not cover tenants[%u].snat-address %s (the border would not "
				    "send its traffic here)", t, a);
		}
	}
	return 0;
}

/* Checks across fields. */

static int check_host(struct parser *p, const struct section *sec, void *obj, const struct seen *s)
{
	struct vr_agent_config *cfg = obj;

	(void)sec;
	if (s->set[0] || valid_host_name(cfg->host_name))
		return 0;
	path_push_key(p, "name");
	if (!cfg->host_name[0])
		return fail(p, &s->map, "not given, and gethostname() did not give one either");
	return fail(p, &s->map, "not given, and the system's host name %s is not usable (" HOST_NAME_RULE ")",
		    show(p, cfg->host_name));
}

static int check_labels(struct parser *p, const struct section *sec, void *obj, const struct seen *s)
{
	struct vr_agent_config *cfg = obj;

	(void)sec;
	if (cfg->label_last >= cfg->label_first)
		return 0;
	/* Each bound alone is in range, so both were given. */
	path_push_key(p, "last");
	return fail(p, &s->val[1], "%u is below labels.first (%u)", cfg->label_last, cfg->label_first);
}

/* role and the gateway section go together; the gateway's external NIC is not the fabric. */
static int check_root(struct parser *p, const struct section *sec, void *obj, const struct seen *s)
{
	struct vr_agent_config *cfg = obj;
	int gi = find_field(sec, "gateway"), ri = find_field(sec, "role");

	if (cfg->role != VR_AGENT_ROLE_GATEWAY) {
		if (!s->set[gi])
			return 0;
		path_push_key(p, "gateway");
		return fail(p, &s->key[gi], "only with role: gateway (the role is %s)", vr_agent_role_name(cfg->role));
	}
	path_push_key(p, "gateway");
	if (!s->set[gi])
		return fail(p, &s->key[ri], "required with role: gateway");
	if (!cfg->gw.ext_dev[0]) {
		path_push_key(p, "external-device");
		return fail(p, &s->val[gi], "required field is missing (role: gateway)");
	}
	if (!strcmp(cfg->gw.ext_dev, cfg->fabric)) {
		path_push_key(p, "external-device");
		return fail(p, &s->val[gi], "%s is also host.fabric-device: the external NIC must be another one",
			    show(p, cfg->gw.ext_dev));
	}
	if (!cfg->gw.n_tenants) {
		path_push_key(p, "tenants");
		return fail(p, &s->val[gi], "a gateway needs at least one tenant");
	}
	return 0;
}

/* The schema. Keep agent/examples/vrouter-agent.yaml and vr_agent_config_print() in step with it. */

#define CFG(member) .off = offsetof(struct vr_agent_config, member), .size = sizeof(((struct vr_agent_config *)0)->member)
#define CTL(member) .off = offsetof(struct vr_agent_controller, member), \
		    .size = sizeof(((struct vr_agent_controller *)0)->member)
#define GW(member) .off = offsetof(struct vr_agent_config, gw.member), \
		   .size = sizeof(((struct vr_agent_config *)0)->gw.member)
#define TNT(member) .off = offsetof(struct vr_agent_tenant, member), \
		    .size = sizeof(((struct vr_agent_tenant *)0)->member)
#define FIP(member) .off = offsetof(struct vr_agent_fip, member), .size = sizeof(((struct vr_agent_fip *)0)->member)
#define SECTION(f, chk) { f, sizeof(f) / sizeof((f)[0]), chk }

static const struct field host_fields[] = {
	{ .key = "name", .parse = parse_host_name, CFG(host_name) },
	{ .key = "underlay-address", .parse = parse_unicast_ipv4, CFG(host_ip), .required = true },
	{ .key = "fabric-device", .parse = parse_ifname, CFG(fabric), .required = true },
};

static const struct field controller_fields[] = {
	{ .key = "address", .parse = parse_unicast_ipv4, CTL(addr), .required = true },
	{ .key = "port", .parse = parse_uint, CTL(port), .min = 1, .max = 65535, .what = "a port" },
	{ .key = "hold-time", .parse = parse_uint, CTL(hold_time), .min = VR_AGENT_HOLD_TIME_MIN,
	  .max = VR_AGENT_HOLD_TIME_MAX, .what = "a hold time in seconds" },
};

static const struct field label_fields[] = {
	{ .key = "first", .parse = parse_uint, CFG(label_first), .min = VR_LABEL_MIN, .max = VR_MAX_LABELS - 1,
	  .what = "an MPLS label" },
	{ .key = "last", .parse = parse_uint, CFG(label_last), .min = VR_LABEL_MIN, .max = VR_MAX_LABELS - 1,
	  .what = "an MPLS label" },
};

static const struct field port_api_fields[] = {
	{ .key = "socket", .parse = parse_path, CFG(port_socket) },
};

static const struct field graceful_restart_fields[] = {
	{ .key = "stale-timeout", .parse = parse_uint, CFG(stale_timeout), .min = 1,
	  .max = VR_AGENT_STALE_TIMEOUT_MAX, .what = "a timeout in seconds" },
};

static const struct field logging_fields[] = {
	{ .key = "level", .parse = parse_log_level, CFG(log_level) },
	{ .key = "file", .parse = parse_path, CFG(log_file), .what = "stderr" },
};

static const struct field timeout_fields[] = {
	{ .key = "tcp", .parse = parse_uint, GW(timeout_tcp), .min = 1, .max = VR_AGENT_GW_TIMEOUT_MAX,
	  .what = "a timeout in seconds" },
	{ .key = "tcp-transitory", .parse = parse_uint, GW(timeout_tcp_transitory), .min = 1,
	  .max = VR_AGENT_GW_TIMEOUT_MAX, .what = "a timeout in seconds" },
	{ .key = "udp", .parse = parse_uint, GW(timeout_udp), .min = 1, .max = VR_AGENT_GW_TIMEOUT_MAX,
	  .what = "a timeout in seconds" },
	{ .key = "icmp", .parse = parse_uint, GW(timeout_icmp), .min = 1, .max = VR_AGENT_GW_TIMEOUT_MAX,
	  .what = "a timeout in seconds" },
};

/* check_tenant knows this order. */
static const struct field tenant_fields[] = {
	{ .key = "vn", .parse = parse_vn, TNT(vn), .required = true },
	{ .key = "vrf", .parse = parse_uint, TNT(vrf_id), .max = VR_MAX_VRFS - 1, .what = "a VRF id",
	  .required = true },
	{ .key = "snat-address", .parse = parse_unicast_ipv4, TNT(snat_addr) },
	{ .key = "snat-ports", .parse = parse_port_range },
	{ .key = "floating-ips", .parse = parse_fips },
};

static const struct field fip_fields[] = {
	{ .key = "address", .parse = parse_unicast_ipv4, FIP(public_ip), .required = true },
	{ .key = "private", .parse = parse_unicast_ipv4, FIP(private_ip), .required = true },
};

static const struct field bird_fields[] = {
	{ .key = "include-file", .parse = parse_path, GW(bird_include) },
	{ .key = "control-socket", .parse = parse_path, GW(bird_socket) },
};

static const struct section timeout_section = SECTION(timeout_fields, NULL);
static const struct section tenant_section = SECTION(tenant_fields, check_tenant);
static const struct section fip_section = SECTION(fip_fields, NULL);
static const struct section bird_section = SECTION(bird_fields, NULL);

static const struct field gateway_fields[] = {
	{ .key = "external-device", .parse = parse_ifname, GW(ext_dev) },
	{ .key = "timeouts", .parse = parse_section, .sub = &timeout_section },
	{ .key = "tenants", .parse = parse_tenants },
	{ .key = "default-route", .parse = parse_bool, GW(default_route) },
	{ .key = "external-prefixes", .parse = parse_external },
	{ .key = "announce", .parse = parse_announce },
	{ .key = "bird", .parse = parse_section, .sub = &bird_section },
};

static const struct section gateway_section = SECTION(gateway_fields, check_gateway);

static const struct section host_section = SECTION(host_fields, check_host);
static const struct section controller_section = SECTION(controller_fields, NULL);
static const struct section label_section = SECTION(label_fields, check_labels);
static const struct section port_api_section = SECTION(port_api_fields, NULL);
static const struct section graceful_restart_section = SECTION(graceful_restart_fields, NULL);
static const struct section logging_section = SECTION(logging_fields, NULL);

static const struct field root_fields[] = {
	{ .key = "host", .parse = parse_section, .sub = &host_section },
	{ .key = "controllers", .parse = parse_controllers },
	{ .key = "tunnel-encapsulation", .parse = parse_encaps },
	{ .key = "labels", .parse = parse_section, .sub = &label_section },
	{ .key = "bpffs", .parse = parse_path, CFG(pin_dir) },
	{ .key = "port-api", .parse = parse_section, .sub = &port_api_section },
	{ .key = "graceful-restart", .parse = parse_section, .sub = &graceful_restart_section },
	{ .key = "logging", .parse = parse_section, .sub = &logging_section },
	{ .key = "role", .parse = parse_role, CFG(role) },
	{ .key = "gateway", .parse = parse_section, .sub = &gateway_section },
};

static const struct section root_section = SECTION(root_fields, check_root);

_Static_assert(sizeof(root_fields) / sizeof(root_fields[0]) <= MAX_FIELDS, "struct seen is too small");
_Static_assert(sizeof(host_fields) / sizeof(host_fields[0]) <= MAX_FIELDS, "struct seen is too small");

/* The public API. */

void vr_agent_config_defaults(struct vr_agent_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	if (gethostname(cfg->host_name, sizeof(cfg->host_name)) < 0)
		cfg->host_name[0] = '\0';
	cfg->host_name[sizeof(cfg->host_name) - 1] = '\0';
	cfg->label_first = VR_LABEL_MIN;
	cfg->label_last = VR_MAX_LABELS - 1;
	snprintf(cfg->pin_dir, sizeof(cfg->pin_dir), "%s", VR_DEFAULT_PIN_DIR);
	snprintf(cfg->port_socket, sizeof(cfg->port_socket), "%s", VR_AGENT_PORT_SOCKET);
	cfg->stale_timeout = VR_AGENT_STALE_TIMEOUT;
	cfg->log_level = VR_AGENT_LOG_INFO;
	cfg->n_encaps = 2;
	cfg->encaps[0] = VR_ENCAP_UDP;
	cfg->encaps[1] = VR_ENCAP_GRE;
	cfg->role = VR_AGENT_ROLE_VROUTER;
	cfg->gw.timeout_tcp = VR_NAT_TIMEOUT_TCP;
	cfg->gw.timeout_tcp_transitory = VR_NAT_TIMEOUT_TCP_TRANSITORY;
	cfg->gw.timeout_udp = VR_NAT_TIMEOUT_UDP;
	cfg->gw.timeout_icmp = VR_NAT_TIMEOUT_ICMP;
	cfg->gw.default_route = true;
}

/* STREAM-START, at most one document whose top is a mapping (or empty), STREAM-END. */
static int parse_stream(struct parser *p, struct vr_agent_config *cfg)
{
	struct seen none = { 0 };
	int err;

	if ((err = next(p)) || (err = next(p)))
		return err;
	if (p->ev.type == YAML_STREAM_END_EVENT) {
		none.map = p->ev.start_mark;
		return finish_mapping(p, &root_section, cfg, &none);
	}
	if ((err = next(p)))
		return err;
	if (p->ev.type != YAML_MAPPING_START_EVENT && !is_null(p))
		return fail(p, &p->ev.start_mark, "the top level must be a mapping (\"key: value\" lines), found %s",
			    found(p));
	if ((err = section_value(p, &root_section, cfg)))
		return err;
	if ((err = next(p)) || (err = next(p)))
		return err;
	if (p->ev.type != YAML_STREAM_END_EVENT)
		return fail(p, &p->ev.start_mark, "a second YAML document: the file must hold exactly one");
	return 0;
}

int vr_agent_config_load(const char *path, struct vr_agent_config *cfg, char *err, size_t errlen)
{
	struct parser p = { .file = path, .err = err, .errlen = errlen, .cfg = cfg };
	struct stat st;
	int ret;

	if (errlen)
		err[0] = '\0';
	else
		p.err = NULL;
	vr_agent_config_defaults(cfg);
	p.in = fopen(path, "r");
	if (!p.in) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = fstat(fileno(p.in), &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? -EISDIR : 0;
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		fclose(p.in);
		return ret;
	}
	/* Regular files are measured up front; pipes and devices are cut off by read_input(). */
	if (S_ISREG(st.st_mode) && st.st_size > VR_AGENT_CONFIG_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, VR_AGENT_CONFIG_MAX_BYTES);
		fclose(p.in);
		return -EFBIG;
	}
	if (!yaml_parser_initialize(&p.yp)) {
		snprintf(err, errlen, "%s: out of memory", path);
		fclose(p.in);
		return -ENOMEM;
	}
	yaml_parser_set_input(&p.yp, read_input, &p);
	ret = parse_stream(&p, cfg);
	if (p.have_ev)
		yaml_event_delete(&p.ev);
	yaml_parser_delete(&p.yp);
	fclose(p.in);
	return ret;
}

/* Printing. */

/* A string as YAML: plain where that reads back as the same string, double-quoted otherwise. */
static void print_str(FILE *out, const char *s)
{
	bool plain = *s && *s != '-' && strcmp(s, "~") && strcasecmp(s, "null");

	for (const char *c = s; plain && *c; c++)
		plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
			strchr("._-/", *c);
	if (plain) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		/* What YAML reads as a line break (U+0085, U+2028, U+2029) or refuses raw (the other C1 controls,
		 * U+FFFE, U+FFFF) goes out escaped, or it would not load back as the same string. */
		if (c[0] == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f) {
			fprintf(out, "\\x%02x", c[1]);
			c++;
			continue;
		}
		if ((c[0] == 0xe2 && c[1] == 0x80 && (c[2] == 0xa8 || c[2] == 0xa9)) ||
		    (c[0] == 0xef && c[1] == 0xbf && (c[2] == 0xbe || c[2] == 0xbf))) {
			fprintf(out, "\\u%04x", (c[0] & 0x0f) << 12 | (c[1] & 0x3f) << 6 | (c[2] & 0x3f));
			c += 2;
			continue;
		}
		if (*c == '"' || *c == '\\')
			fputc('\\', out);
		fputc(*c, out);
	}
	fputc('"', out);
}

static void print_ip(FILE *out, __be32 a)
{
	char buf[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, buf, sizeof(buf));
	fputs(buf, out);
}

/* "  KEY: [A.B.C.D/N, ...]" */
static void print_prefixes(FILE *out, const char *key, const struct vr_agent_prefix *pf, unsigned int n,
			   unsigned int max)
{
	fprintf(out, "  %s: [", key);
	for (unsigned int i = 0; i < n && i < max; i++) {
		fputs(i ? ", " : "", out);
		print_ip(out, pf[i].addr);
		fprintf(out, "/%u", pf[i].plen);
	}
	fputs("]\n", out);
}

static void print_gateway(FILE *out, const struct vr_agent_gateway *gw)
{
	fputs("gateway:\n  external-device: ", out);
	print_str(out, gw->ext_dev);
	fprintf(out, "\n  timeouts: {tcp: %u, tcp-transitory: %u, udp: %u, icmp: %u}\n  tenants:\n", gw->timeout_tcp,
		gw->timeout_tcp_transitory, gw->timeout_udp, gw->timeout_icmp);
	for (unsigned int i = 0; i < gw->n_tenants && i < VR_AGENT_GW_MAX_TENANTS; i++) {
		const struct vr_agent_tenant *t = &gw->tenants[i];

		fputs("    - vn: ", out);
		print_str(out, t->vn);
		fprintf(out, "\n      vrf: %u\n", t->vrf_id);
		if (t->snat_addr) {
			fputs("      snat-address: ", out);
			print_ip(out, t->snat_addr);
			fputc('\n', out);
		}
		if (t->port_min)
			fprintf(out, "      snat-ports: %u-%u\n", t->port_min, t->port_max);
		if (t->n_fips)
			fputs("      floating-ips:\n", out);
		for (unsigned int k = t->fip_first; k < t->fip_first + t->n_fips && k < VR_AGENT_GW_MAX_FIPS; k++) {
			fputs("        - {address: ", out);
			print_ip(out, gw->fips[k].public_ip);
			fputs(", private: ", out);
			print_ip(out, gw->fips[k].private_ip);
			fputs("}\n", out);
		}
	}
	fprintf(out, "  default-route: %s\n", booleans[gw->default_route]);
	print_prefixes(out, "external-prefixes", gw->external, gw->n_external, VR_AGENT_GW_MAX_EXTERNAL);
	if (gw->announce_set) {
		print_prefixes(out, "announce", gw->announce, gw->n_announce, VR_AGENT_GW_MAX_ANNOUNCE);
	} else {
		fputs("  # announce: not set: each public address as a /32\n", out);
	}
	if (gw->bird_include[0]) {
		fputs("  bird:\n    include-file: ", out);
		print_str(out, gw->bird_include);
		fputc('\n', out);
		if (gw->bird_socket[0]) {
			fputs("    control-socket: ", out);
			print_str(out, gw->bird_socket);
			fputc('\n', out);
		}
	}
}

int vr_agent_config_print(FILE *out, const struct vr_agent_config *cfg)
{
	fputs("# vrouter-agent configuration in effect (defaults included)\nhost:\n  name: ", out);
	print_str(out, cfg->host_name);
	if (cfg->host_ip) {
		fputs("\n  underlay-address: ", out);
		print_ip(out, cfg->host_ip);
	} else {
		fputs("\n  # underlay-address: not set", out);
	}
	if (cfg->fabric[0]) {
		fputs("\n  fabric-device: ", out);
		print_str(out, cfg->fabric);
	} else {
		fputs("\n  # fabric-device: not set", out);
	}
	fputs(cfg->n_controllers ? "\ncontrollers:\n" : "\ncontrollers: []\n", out);
	for (unsigned int i = 0; i < cfg->n_controllers && i < VR_AGENT_MAX_CONTROLLERS; i++) {
		fputs("  - address: ", out);
		print_ip(out, cfg->controllers[i].addr);
		fprintf(out, "\n    port: %u\n    hold-time: %u\n", cfg->controllers[i].port,
			cfg->controllers[i].hold_time);
	}
	fputs("tunnel-encapsulation: [", out);
	for (unsigned int i = 0; i < cfg->n_encaps && i < VR_AGENT_MAX_ENCAPS; i++)
		fprintf(out, "%s%s", i ? ", " : "", vr_encap_name(cfg->encaps[i]));
	fprintf(out, "]\nlabels:\n  first: %u\n  last: %u\nbpffs: ", cfg->label_first, cfg->label_last);
	print_str(out, cfg->pin_dir);
	fputs("\nport-api:\n  socket: ", out);
	print_str(out, cfg->port_socket);
	fprintf(out, "\ngraceful-restart:\n  stale-timeout: %u\nlogging:\n  level: %s\n  file: ", cfg->stale_timeout,
		vr_agent_log_level_name(cfg->log_level));
	print_str(out, cfg->log_file[0] ? cfg->log_file : "stderr");
	fprintf(out, "\nrole: %s\n", vr_agent_role_name(cfg->role));
	if (cfg->role == VR_AGENT_ROLE_GATEWAY)
		print_gateway(out, &cfg->gw);
	return ferror(out) ? -EIO : 0;
}
