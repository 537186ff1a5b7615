/* vrouter-agent port API (see port_api.h): the listener, the clients' buffers and the request parser. A
 * client's input is cut into lines; each line is parsed into a request, run against the port table and
 * answered; replies go out as the socket accepts them (EPOLLOUT), and a client with replies pending is
 * not read from until they are gone, so one slow reader costs memory bounded by VR_PORT_API_OUT_MAX. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "libvrouter.h"
#include "log.h"
#include "loop.h"
#include "port_api.h"

struct client {
	struct vr_watch w;          /* first: the loop hands this back */
	struct vr_port_api *api;
	char in[VR_PORT_API_LINE_MAX + 1];
	size_t inlen;
	struct vr_buf out;
	bool closing;               /* close once out is flushed */
	bool used;
	unsigned int id;
};

struct vr_port_api {
	struct vr_watch w;
	char path[VR_AGENT_SOCKET_PATH_MAX];
	struct vr_ports *ports;
	struct client clients[VR_PORT_API_MAX_CLIENTS];
	unsigned int next_id;
};

/* ---- reply buffer ---- */

static int buf_printf(struct vr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int buf_printf(struct vr_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = b->data ? vsnprintf(b->data + b->len, room, fmt, ap) : -1;
		va_end(ap);
		if (n >= 0 && (size_t)n < room) {
			b->len += (size_t)n;
			return 0;
		}
		size_t want = b->cap ? b->cap * 2 : 512;

		while (n >= 0 && want < b->len + (size_t)n + 1)
			want *= 2;
		if (want > VR_PORT_API_OUT_MAX)
			return -ENOMEM;
		char *d = realloc(b->data, want);

		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = want;
	}
}

/* "error <msg>" on one line whatever msg holds. */
static int reply_error(struct vr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int reply_error(struct vr_buf *b, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	return buf_printf(b, "error %s\n", msg);
}

/* ---- requests ---- */

#define MAX_ARGS 16

struct kv {
	const char *key;
	const char *val;
};

/* Split "verb k=v k=v" in place. Returns the number of pairs, or -1 with the reason in why. */
static int split_args(char *s, const char **verb, struct kv *kv, const char **why)
{
	int n = 0;
	char *tok, *save = NULL;

	*verb = strtok_r(s, " \t", &save);
	while ((tok = strtok_r(NULL, " \t", &save))) {
		char *eq = strchr(tok, '=');

		if (!eq || eq == tok) {
			*why = "arguments are key=value";
			return -1;
		}
		if (n == MAX_ARGS) {
			*why = "too many arguments";
			return -1;
		}
		*eq = 0;
		for (int i = 0; i < n; i++)
			if (!strcmp(kv[i].key, tok)) {
				*why = "an argument is given twice";
				return -1;
			}
		kv[n].key = tok;
		kv[n].val = eq + 1;
		n++;
	}
	return n;
}

static const char *arg(struct kv *kv, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return kv[i].val;
	return NULL;
}

static int check_keys(struct kv *kv, int n, const char *const *allowed, struct vr_buf *reply)
{
	for (int i = 0; i < n; i++) {
		const char *const *a;

		for (a = allowed; *a && strcmp(*a, kv[i].key); a++)
			;
		if (!*a)
			return reply_error(reply, "unknown argument '%.32s'", kv[i].key) ?: 1;
	}
	return 0;
}

static int parse_name(const char *s, char name[IFNAMSIZ])
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n >= IFNAMSIZ || strchr(s, '/') || strchr(s, ':') || !strcmp(s, ".") || !strcmp(s, ".."))
		return -1;
	memcpy(name, s, n + 1);
	return 0;
}

static int req_add(struct vr_ports *ports, struct kv *kv, int n, struct vr_buf *reply)
{
	static const char *const allowed[] = { "name", "mac", "ip", "vrf", "vn", "gw", "mtu", "mode", "ip6", "gw6",
					       NULL };
	static const char *const required[] = { "name", "mac", "ip", "vrf", "vn", NULL };
	struct vr_port_req req = { .xdp = true };
	struct vr_port port;
	const char *v;
	char err[512];
	__u32 u;
	int rc;

	if ((rc = check_keys(kv, n, allowed, reply)))
		return rc < 0 ? rc : 0;
	for (const char *const *r = required; *r; r++)
		if (!arg(kv, n, *r))
			return reply_error(reply, "add: missing %s=", *r);
	v = arg(kv, n, "name");
	if (parse_name(v, req.name))
		return reply_error(reply, "name: '%.32s' is not a device name (1..%d characters)", v, IFNAMSIZ - 1);
	v = arg(kv, n, "mac");
	if (vr_parse_mac(v, req.mac))
		return reply_error(reply, "mac: '%.32s' is not a MAC address", v);
	if (req.mac[0] & 1)
		return reply_error(reply, "mac: %.32s is a multicast address", v);
	v = arg(kv, n, "ip");
	if (vr_port_ips_parse(v, req.ips, &req.n_ips, err, sizeof(err)))
		return reply_error(reply, "ip: %s", err);
	v = arg(kv, n, "vrf");
	if (vr_parse_u32(v, VR_MAX_VRFS - 1, &req.vrf_id))
		return reply_error(reply, "vrf: '%.32s' is not a number in 0..%u", v, VR_MAX_VRFS - 1);
	v = arg(kv, n, "vn");
	if (!vr_vn_valid(v))
		return reply_error(reply, "vn: '%.64s' is not a virtual network name ([A-Za-z0-9:._-], at most %d)",
				   v, VR_AGENT_VN_MAX);
	memcpy(req.vn, v, strlen(v) + 1);
	if ((v = arg(kv, n, "gw")) && (vr_parse_ipv4(v, &req.gw_ip) || !req.gw_ip))
		return reply_error(reply, "gw: '%.32s' is not an IPv4 address", v);
	if ((v = arg(kv, n, "ip6")) && vr_port_ip6s_parse(v, req.ip6s, &req.n_ip6s, err, sizeof(err)))
		return reply_error(reply, "ip6: %s", err);
	if ((v = arg(kv, n, "gw6"))) {
		if (vr_parse_ipv6(v, &req.gw6))
			return reply_error(reply, "gw6: '%.46s' is not an IPv6 address", v);
		if (!vr_port_gw6_valid(&req.gw6))
			return reply_error(reply, "gw6: %.46s cannot be a gateway (unspecified, loopback, multicast or "
					   "IPv4-mapped)", v);
		if (!req.n_ip6s)
			return reply_error(reply, "gw6: needs ip6= (an IPv6 gateway for a port without IPv6 addresses)");
	}
	if ((v = arg(kv, n, "mtu"))) {
		if (vr_parse_u32(v, 65535, &u) || u < 68)
			return reply_error(reply, "mtu: '%.32s' is not a number in 68..65535", v);
		req.mtu = (__u16)u;
	}
	if ((v = arg(kv, n, "mode"))) {
		if (strcmp(v, "xdp") && strcmp(v, "tc"))
			return reply_error(reply, "mode: '%.32s' is neither tc nor xdp", v);
		req.xdp = !strcmp(v, "xdp");
	}
	if (vr_ports_add(ports, &req, &port, err, sizeof(err)))
		return reply_error(reply, "%s", err);
	return buf_printf(reply, "ok vif=%u label=%u\n", port.vif_id, port.label);
}

static int req_del(struct vr_ports *ports, struct kv *kv, int n, struct vr_buf *reply)
{
	static const char *const allowed[] = { "name", NULL };
	char name[IFNAMSIZ], err[512];
	const char *v;
	int rc;

	if ((rc = check_keys(kv, n, allowed, reply)))
		return rc < 0 ? rc : 0;
	v = arg(kv, n, "name");
	if (!v)
		return reply_error(reply, "del: missing name=");
	if (parse_name(v, name))
		return reply_error(reply, "name: '%.32s' is not a device name", v);
	if (vr_ports_del(ports, name, err, sizeof(err)))
		return reply_error(reply, "%s", err);
	return buf_printf(reply, "ok\n");
}

static int req_list(struct vr_ports *ports, int n, struct vr_buf *reply)
{
	char ip[VR_PORT_IPS_STRLEN], gw[16], ip6[VR_PORT_IP6S_STRLEN], gw6[INET6_ADDRSTRLEN];
	int rc;

	if (n)
		return reply_error(reply, "list takes no arguments");
	for (size_t i = 0; i < ports->n; i++) {
		const struct vr_port *p = &ports->port[i];

		rc = buf_printf(reply,
				"port name=%s vif=%u label=%u vrf=%u ip=%s mac=%02x:%02x:%02x:%02x:%02x:%02x gw=%s "
				"mtu=%u mode=%s vn=%s",
				p->name, p->vif_id, p->label, p->vrf_id, vr_port_ips_format(p->ips, p->n_ips, ip, sizeof(ip)),
				p->mac[0], p->mac[1], p->mac[2], p->mac[3], p->mac[4], p->mac[5],
				p->gw_ip ? inet_ntop(AF_INET, &p->gw_ip, gw, sizeof(gw)) : "-", p->mtu,
				p->xdp ? "xdp" : "tc", p->vn[0] ? p->vn : "-");
		/* IPv6 fields only for ports that have IPv6: IPv4-only lines read as before. */
		if (!rc && p->n_ip6s)
			rc = buf_printf(reply, " ip6=%s gw6=%s", vr_port_ip6s_format(p->ip6s, p->n_ip6s, ip6, sizeof(ip6)),
					IN6_IS_ADDR_UNSPECIFIED(&p->gw6) ? "-" :
					inet_ntop(AF_INET6, &p->gw6, gw6, sizeof(gw6)));
		if (!rc)
			rc = buf_printf(reply, "\n");
		if (rc)
			return rc;
	}
	return buf_printf(reply, "end\n");
}

int vr_port_api_request(struct vr_ports *ports, const char *line, size_t len, struct vr_buf *reply)
{
	char copy[VR_PORT_API_LINE_MAX + 1];
	struct kv kv[MAX_ARGS];
	const char *verb, *why = "";
	int n;

	if (len && line[len - 1] == '\r')
		len--;
	if (len > VR_PORT_API_LINE_MAX)
		return reply_error(reply, "request longer than %d bytes", VR_PORT_API_LINE_MAX);
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f)
			return reply_error(reply, "control character in the request");
	memcpy(copy, line, len);
	copy[len] = 0;
	n = split_args(copy, &verb, kv, &why);
	if (!verb)
		return reply_error(reply, "empty request (add, del, list)");
	if (n < 0)
		return reply_error(reply, "%s", why);
	if (!strcmp(verb, "add"))
		return req_add(ports, kv, n, reply);
	if (!strcmp(verb, "del"))
		return req_del(ports, kv, n, reply);
	if (!strcmp(verb, "list"))
		return req_list(ports, n, reply);
	return reply_error(reply, "unknown request '%.32s' (add, del, list)", verb);
}

/* ---- clients ---- */

static void client_close(struct client *c)
{
	log_debug("port API: client %u closed", c->id);
	vr_loop_del(&c->w);
	close(c->w.fd);
	free(c->out.data);
	memset(c, 0, sizeof(*c));
}

/* Write what is pending; then wait for EPOLLOUT (replies pending) or EPOLLIN (more requests). */
static void client_flush(struct client *c)
{
	while (c->out.off < c->out.len) {
		ssize_t n = send(c->w.fd, c->out.data + c->out.off, c->out.len - c->out.off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			client_close(c);
			return;
		}
		c->out.off += (size_t)n;
	}
	if (c->out.off == c->out.len) {
		c->out.off = c->out.len = 0;
		if (c->closing) {
			client_close(c);
			return;
		}
		vr_loop_mod(&c->w, EPOLLIN);
	} else {
		vr_loop_mod(&c->w, EPOLLOUT);
	}
}

/* Answer every complete line in the input buffer. */
static void client_process(struct client *c)
{
	char *nl;

	while (!c->closing && (nl = memchr(c->in, '\n', c->inlen))) {
		size_t len = (size_t)(nl - c->in);

		bool blank = true;

		for (size_t i = 0; i < len && blank; i++)
			blank = c->in[i] == ' ' || c->in[i] == '\t' || c->in[i] == '\r';
		/* Blank lines are ignored (a human typing into socat); everything else gets one reply. */
		if (!blank && vr_port_api_request(c->api->ports, c->in, len, &c->out)) {
			log_warn("port API: client %u: reply too large, closing", c->id);
			c->out.len = c->out.off;
			reply_error(&c->out, "reply too large");
			c->closing = true;
		}
		memmove(c->in, nl + 1, c->inlen - len - 1);
		c->inlen -= len + 1;
	}
	if (!c->closing && c->inlen > VR_PORT_API_LINE_MAX) {
		log_warn("port API: client %u sent a line longer than %d bytes, closing", c->id, VR_PORT_API_LINE_MAX);
		reply_error(&c->out, "request longer than %d bytes", VR_PORT_API_LINE_MAX);
		c->closing = true;
	}
}

static void client_event(struct vr_watch *w, uint32_t events)
{
	struct client *c = (struct client *)w;

	if (events & EPOLLOUT) {
		client_flush(c);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		ssize_t n = recv(c->w.fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			/* EOF: what is pending still goes out (the client may have shut down its write side only). */
			c->closing = true;
			client_flush(c);
			return;
		}
		c->inlen += (size_t)n;
		client_process(c);
		client_flush(c);
	}
}

static void api_accept(struct vr_watch *w, uint32_t events)
{
	struct vr_port_api *api = (struct vr_port_api *)w;
	struct client *c = NULL;
	int fd;

	(void)events;
	for (;;) {
		fd = accept4(api->w.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("port API: accept: %s", strerror(errno));
			return;
		}
		c = NULL;
		for (int i = 0; i < VR_PORT_API_MAX_CLIENTS && !c; i++)
			if (!api->clients[i].used)
				c = &api->clients[i];
		if (!c) {
			static const char busy[] = "error too many clients\n";

			log_warn("port API: more than %d clients, refusing one", VR_PORT_API_MAX_CLIENTS);
			if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				/* it is going away anyway */
			}
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->used = true;
		c->api = api;
		c->id = ++api->next_id;
		c->w.fd = fd;
		c->w.fn = client_event;
		if (vr_loop_add(&c->w, EPOLLIN)) {
			log_warn("port API: cannot watch a client: %s", strerror(errno));
			close(fd);
			memset(c, 0, sizeof(*c));
			continue;
		}
		log_debug("port API: client %u connected", c->id);
	}
}

/* ---- listener ---- */

static int mkdir_parents(const char *path)
{
	char dir[VR_AGENT_SOCKET_PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

struct vr_port_api *vr_port_api_open(const char *path, struct vr_ports *ports, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vr_port_api *api;
	struct stat st;
	mode_t old;
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "port API socket path %s is too long", path);
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	rc = mkdir_parents(path);
	if (rc) {
		snprintf(err, errlen, "cannot create the folder of %s: %s", path, strerror(-rc));
		return NULL;
	}
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", path);
			return NULL;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			close(fd);
			snprintf(err, errlen, "another agent is serving %s", path);
			return NULL;
		}
		if (fd >= 0)
			close(fd);
		log_info("removing the stale socket %s", path);
		unlink(path);
	}
	api = calloc(1, sizeof(*api));
	if (!api) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	api->ports = ports;
	snprintf(api->path, sizeof(api->path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		free(api);
		return NULL;
	}
	/* Created 0600 from the start: no window where someone else could connect. */
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc || chmod(path, 0600) || listen(fd, 16)) {
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		free(api);
		return NULL;
	}
	api->w.fd = fd;
	api->w.fn = api_accept;
	if (vr_loop_add(&api->w, EPOLLIN)) {
		snprintf(err, errlen, "cannot watch %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		free(api);
		return NULL;
	}
	log_info("port API listening on %s", path);
	return api;
}

void vr_port_api_close(struct vr_port_api *api)
{
	if (!api)
		return;
	for (int i = 0; i < VR_PORT_API_MAX_CLIENTS; i++)
		if (api->clients[i].used)
			client_close(&api->clients[i]);
	vr_loop_del(&api->w);
	close(api->w.fd);
	unlink(api->path);
	free(api);
}
