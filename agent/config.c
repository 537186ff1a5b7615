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
#define MAX_FIELDS 8

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

	for (i = 0; s[i] && i < max; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      strchr("._-/:+@", s[i])))
			quote = true;
	if (s[i])
		quote = true;
	if (quote)
		p->shown[n++] = '"';
	for (i = 0; s[i] && i < max; i++)
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

static int parse_log_level(struct parser *p, const struct field *f, void *obj)
{
	const char *v;
	int err;

	if ((err = scalar(p, f, &v)))
		return err;
	for (unsigned int i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++) {
		if (!strcmp(v, log_levels[i])) {
			*(enum vr_agent_log_level *)((char *)obj + f->off) = (enum vr_agent_log_level)i;
			return 0;
		}
	}
	return fail(p, &p->ev.start_mark, "%s is not a log level (error, warning, info, debug)", show(p, v));
}

static const struct section controller_section;

/* controllers: a sequence of at most VR_AGENT_MAX_CONTROLLERS mappings, or nothing (standalone). */
static int parse_controllers(struct parser *p, const struct field *f, void *obj)
{
	struct vr_agent_config *cfg = obj;
	unsigned int n = 0;
	int err;

	(void)f;
	cfg->n_controllers = 0;
	if (is_null(p))
		return 0;
	if (p->ev.type != YAML_SEQUENCE_START_EVENT)
		return fail(p, &p->ev.start_mark, "expected a sequence of controllers (\"- address: ...\"), found %s",
			    found(p));
	for (;;) {
		struct vr_agent_controller *c;
		yaml_mark_t item;
		size_t saved;

		if ((err = next(p)))
			return err;
		if (p->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		item = p->ev.start_mark;
		saved = path_push(p, "[%u]", n);
		if (n == VR_AGENT_MAX_CONTROLLERS)
			return fail(p, &item, "at most %d controllers are supported", VR_AGENT_MAX_CONTROLLERS);
		c = &cfg->controllers[n];
		*c = (struct vr_agent_controller){ .port = VR_AGENT_XMPP_PORT, .hold_time = VR_AGENT_HOLD_TIME };
		if ((err = section_value(p, &controller_section, c)))
			return err;
		for (unsigned int i = 0; i < n; i++)
			if (cfg->controllers[i].addr == c->addr && cfg->controllers[i].port == c->port)
				return fail(p, &item, "same address and port as controllers[%u]", i);
		path_pop(p, saved);
		n++;
	}
	cfg->n_controllers = n;
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
	for (;;) {
		const char *v;
		size_t saved;
		__u8 e;

		if ((err = next(p)))
			return err;
		if (p->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		saved = path_push(p, "[%u]", n);
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
		cfg->encaps[n++] = e; /* distinct values of a two-value enum: n stays within the array */
		path_pop(p, saved);
	}
	if (!n)
		return fail(p, &start, "an empty list: name at least one encapsulation (udp, gre)");
	cfg->n_encaps = n;
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

/* The schema. Keep agent/examples/vrouter-agent.yaml and vr_agent_config_print() in step with it. */

#define CFG(member) .off = offsetof(struct vr_agent_config, member), .size = sizeof(((struct vr_agent_config *)0)->member)
#define CTL(member) .off = offsetof(struct vr_agent_controller, member), \
		    .size = sizeof(((struct vr_agent_controller *)0)->member)
#define SECTION(f, chk) { f, sizeof(f) / sizeof(f[0]), chk }

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
};

static const struct section root_section = SECTION(root_fields, NULL);

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
	struct parser p = { .file = path, .err = err, .errlen = errlen };
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
	fputc('\n', out);
	return ferror(out) ? -EIO : 0;
}
