/* vrouter-agent ports: programming vifs, labels and local routes for the hypervisor's ports, and the
 * state file that lets a restarted agent adopt them (see ports.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "libvrouter.h"
#include "log.h"
#include "datapath.h"
#include "ports.h"

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* libvrouter's explanation of the last failure, or strerror when it left none. */
static const char *why(int rc)
{
	const char *s = vr_strerror();

	return *s ? s : strerror(-rc);
}

bool vr_vn_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > VR_AGENT_VN_MAX || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(":._-", s[i]))
			return false;
	return true;
}

int vr_port_ips_parse(const char *s, __be32 *ips, unsigned int *n, char *err, size_t errlen)
{
	char item[32];
	const char *c = s;

	*n = 0;
	for (;;) {
		size_t len = strcspn(c, ",");
		__be32 a;

		if (*n == VR_PORT_IPS_MAX)
			return fail(err, errlen, -1, "more than %d addresses", VR_PORT_IPS_MAX);
		if (!len || len >= sizeof(item))
			return fail(err, errlen, -1, "'%.32s' is not an IPv4 address", len ? c : "");
		memcpy(item, c, len);
		item[len] = 0;
		if (vr_parse_ipv4(item, &a) || !a)
			return fail(err, errlen, -1, "'%.32s' is not an IPv4 address", item);
		for (unsigned int i = 0; i < *n; i++)
			if (ips[i] == a)
				return fail(err, errlen, -1, "%.32s is given twice", item);
		ips[(*n)++] = a;
		c += len;
		if (!*c)
			return 0;
		c++;
	}
}

char *vr_port_ips_format(const __be32 *ips, unsigned int n, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = 0;
	for (unsigned int i = 0; i < n && at + 17 <= len; i++) {
		if (i)
			buf[at++] = ',';
		if (!inet_ntop(AF_INET, &ips[i], buf + at, (socklen_t)(len - at)))
			break;
		at += strlen(buf + at);
	}
	return buf;
}

/* Why a (parsed) IPv6 address cannot be a port's own, or NULL when it can. Link-local addresses are the VM's
 * business on its link (the vRouter answers for the gateway), never routed between hosts. */
static const char *ip6_unfit(const struct in6_addr *a)
{
	if (IN6_IS_ADDR_UNSPECIFIED(a))
		return "the unspecified address";
	if (IN6_IS_ADDR_LOOPBACK(a))
		return "the loopback address";
	if (IN6_IS_ADDR_MULTICAST(a))
		return "a multicast address";
	if (IN6_IS_ADDR_LINKLOCAL(a))
		return "a link-local address (not routed)";
	if (IN6_IS_ADDR_V4MAPPED(a))
		return "an IPv4-mapped address (give IPv4 addresses in ip=)";
	return NULL;
}

bool vr_port_ip6_valid(const struct in6_addr *a)
{
	return !ip6_unfit(a);
}

bool vr_port_gw6_valid(const struct in6_addr *a)
{
	return !IN6_IS_ADDR_UNSPECIFIED(a) && !IN6_IS_ADDR_LOOPBACK(a) && !IN6_IS_ADDR_MULTICAST(a) &&
	       !IN6_IS_ADDR_V4MAPPED(a);
}

int vr_port_ip6s_parse(const char *s, struct in6_addr *ip6s, unsigned int *n, char *err, size_t errlen)
{
	char item[INET6_ADDRSTRLEN + 1];
	const char *c = s, *unfit;

	*n = 0;
	for (;;) {
		size_t len = strcspn(c, ",");
		struct in6_addr a;

		if (*n == VR_PORT_IP6S_MAX)
			return fail(err, errlen, -1, "more than %d IPv6 addresses", VR_PORT_IP6S_MAX);
		if (!len || len >= sizeof(item))
			return fail(err, errlen, -1, "'%.46s' is not an IPv6 address", len ? c : "");
		memcpy(item, c, len);
		item[len] = 0;
		if (vr_parse_ipv6(item, &a))
			return fail(err, errlen, -1, "'%.46s' is not an IPv6 address", item);
		if ((unfit = ip6_unfit(&a)))
			return fail(err, errlen, -1, "%.46s is %s", item, unfit);
		for (unsigned int i = 0; i < *n; i++)
			if (!memcmp(&ip6s[i], &a, sizeof(a)))
				return fail(err, errlen, -1, "%.46s is given twice", item);
		ip6s[(*n)++] = a;
		c += len;
		if (!*c)
			return 0;
		c++;
	}
}

char *vr_port_ip6s_format(const struct in6_addr *ip6s, unsigned int n, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = 0;
	for (unsigned int i = 0; i < n && at + INET6_ADDRSTRLEN + 1 <= len; i++) {
		if (i)
			buf[at++] = ',';
		if (!inet_ntop(AF_INET6, &ip6s[i], buf + at, (socklen_t)(len - at)))
			break;
		at += strlen(buf + at);
	}
	return buf;
}

void vr_ports_init(struct vr_ports *p, const struct vr_agent_config *cfg)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->pin_dir, sizeof(p->pin_dir), "%s", cfg->pin_dir);
	snprintf(p->state_path, sizeof(p->state_path), "%s%s", cfg->port_socket, VR_AGENT_STATE_SUFFIX);
	p->label_first = cfg->label_first;
	p->label_last = cfg->label_last;
}

void vr_ports_free(struct vr_ports *p)
{
	free(p->port);
	p->port = NULL;
	p->n = p->cap = 0;
}

const struct vr_port *vr_ports_find(const struct vr_ports *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->port[i].name, name))
			return &p->port[i];
	return NULL;
}

/* The table is kept in vif id order, which is also the order the vifs map gives back after a restart
 * once sorted: `list` answers the same before and after. */
static int ports_append(struct vr_ports *p, const struct vr_port *port)
{
	size_t at;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct vr_port *n = realloc(p->port, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->port = n;
		p->cap = cap;
	}
	for (at = p->n; at > 0 && p->port[at - 1].vif_id > port->vif_id; at--)
		;
	memmove(&p->port[at + 1], &p->port[at], (p->n - at) * sizeof(p->port[0]));
	p->port[at] = *port;
	p->n++;
	return 0;
}

/* ---- state file ---- */

/* One line per port: "port NAME IFINDEX LABEL VN IPS IP6S" (VN "-" when unknown; IPS every address, primary
 * first, comma-separated; a line without IPS, from an older agent, means the vif's address only; IP6S the
 * IPv6 addresses the same way, "-" when none, absent from older agents' lines). Written to a temporary file,
 * flushed to disk and renamed over the old one, so a crash leaves the old or the new file, never half. */
static int state_save(const struct vr_ports *p)
{
	char tmp[sizeof(p->state_path) + 8];
	FILE *f;
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", p->state_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		unlink(tmp);
		return err;
	}
	fprintf(f, "# vrouter-agent ports: port NAME IFINDEX LABEL VN IPS IP6S (rewritten by the agent, do not edit)\n");
	for (size_t i = 0; i < p->n; i++) {
		char ips[VR_PORT_IPS_STRLEN], ip6s[VR_PORT_IP6S_STRLEN];

		fprintf(f, "port %s %u %u %s %s %s\n", p->port[i].name, p->port[i].ifindex, p->port[i].label,
			p->port[i].vn[0] ? p->port[i].vn : "-",
			vr_port_ips_format(p->port[i].ips, p->port[i].n_ips, ips, sizeof(ips)),
			p->port[i].n_ip6s ? vr_port_ip6s_format(p->port[i].ip6s, p->port[i].n_ip6s, ip6s, sizeof(ip6s))
					  : "-");
	}
	if (fflush(f) || fsync(fd))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, p->state_path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

static void state_save_logged(const struct vr_ports *p)
{
	int err = state_save(p);

	if (err)
		log_err("writing the port state %s failed: %s (a restarted agent will not know the virtual "
			"network names)", p->state_path, strerror(-err));
}

struct state_entry {
	char name[IFNAMSIZ];
	char vn[VR_AGENT_VN_MAX + 1];
	__u32 ifindex, label;
	__be32 ips[VR_PORT_IPS_MAX];
	unsigned int n_ips;     /* 0: not in the line */
	struct in6_addr ip6s[VR_PORT_IP6S_MAX];
	unsigned int n_ip6s;    /* 0: none, or not in the line */
	bool used;
};

struct adopt_ctx {
	struct vr_ports *p;
	struct state_entry *st;
	size_t nst;
	int err;
};

static int state_load(const char *path, struct state_entry **out, size_t *nout)
{
	struct state_entry *st = NULL, e;
	size_t n = 0, cap = 0;
	char line[1024], fmt[64], ips[VR_PORT_IPS_STRLEN + 1], ip6s[VR_PORT_IP6S_STRLEN + 1], why[128];
	int got;
	unsigned int lineno = 0;
	FILE *f;

	*out = NULL;
	*nout = 0;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	snprintf(fmt, sizeof(fmt), "port %%%ds %%u %%u %%%ds %%%ds %%%ds", IFNAMSIZ - 1, VR_AGENT_VN_MAX,
		 VR_PORT_IPS_STRLEN, VR_PORT_IP6S_STRLEN);
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		memset(&e, 0, sizeof(e));
		got = sscanf(line, fmt, e.name, &e.ifindex, &e.label, e.vn, ips, ip6s);
		if (got < 4) {
			log_warn("%s:%u: ignoring a malformed line", path, lineno);
			continue;
		}
		if (got >= 5 && vr_port_ips_parse(ips, e.ips, &e.n_ips, why, sizeof(why))) {
			log_warn("%s:%u: addresses: %s (keeping the vif's only)", path, lineno, why);
			e.n_ips = 0;
		}
		if (got == 6 && strcmp(ip6s, "-") && vr_port_ip6s_parse(ip6s, e.ip6s, &e.n_ip6s, why, sizeof(why))) {
			log_warn("%s:%u: IPv6 addresses: %s (keeping the vif's only)", path, lineno, why);
			e.n_ip6s = 0;
		}
		if (!strcmp(e.vn, "-") || !vr_vn_valid(e.vn))
			e.vn[0] = 0;
		if (n == cap) {
			struct state_entry *ns;

			cap = cap ? cap * 2 : 16;
			ns = realloc(st, cap * sizeof(*ns));
			if (!ns) {
				free(st);
				fclose(f);
				return -ENOMEM;
			}
			st = ns;
		}
		st[n++] = e;
	}
	fclose(f);
	*out = st;
	*nout = n;
	return 0;
}

static int adopt_one(const struct vr_vif *vif, void *arg)
{
	struct adopt_ctx *c = arg;
	struct vr_port port = {};
	struct state_entry *e = NULL;
	char ip[VR_PORT_IPS_STRLEN], ip6[VR_PORT_IP6S_STRLEN];
	static const struct in6_addr zero6;

	port.ifindex = vif->ifindex;
	port.vif_id = vif->vif_id;
	port.vrf_id = vif->vrf_id;
	port.label = vif->label;
	port.ip = vif->ip;
	port.ips[0] = vif->ip;
	port.n_ips = 1;
	port.gw_ip = vif->gw_ip;
	if (memcmp(vif->ip6, &zero6, sizeof(zero6))) {
		memcpy(&port.ip6s[0], vif->ip6, sizeof(port.ip6s[0]));
		port.n_ip6s = 1;
	}
	memcpy(&port.gw6, vif->gw6, sizeof(port.gw6));
	port.mtu = vif->mtu;
	port.xdp = !(vif->flags & VR_VIF_F_TC);
	memcpy(port.mac, vif->mac, 6);
	if (!if_indextoname(vif->ifindex, port.name))
		port.name[0] = 0;
	/* The same device: its ifindex (names can be reused after a delete), or its name if the index changed. */
	for (size_t i = 0; i < c->nst && !e; i++)
		if (!c->st[i].used && c->st[i].ifindex == vif->ifindex &&
		    (!port.name[0] || !strcmp(c->st[i].name, port.name)))
			e = &c->st[i];
	if (!e && port.name[0])
		for (size_t i = 0; i < c->nst && !e; i++)
			if (!c->st[i].used && !strcmp(c->st[i].name, port.name))
				e = &c->st[i];
	if (e) {
		e->used = true;
		memcpy(port.vn, e->vn, sizeof(port.vn));
		/* The other addresses, when the state file agrees with the vif on the primary one. */
		if (e->n_ips && e->ips[0] == vif->ip) {
			memcpy(port.ips, e->ips, sizeof(port.ips));
			port.n_ips = e->n_ips;
		} else if (e->n_ips) {
			log_warn("port %s: the state file's addresses do not start with the vif's: keeping the vif's only",
				 e->name);
		}
		if (e->n_ip6s && port.n_ip6s && !memcmp(&e->ip6s[0], &port.ip6s[0], sizeof(port.ip6s[0]))) {
			memcpy(port.ip6s, e->ip6s, sizeof(port.ip6s));
			port.n_ip6s = e->n_ip6s;
		} else if (e->n_ip6s) {
			log_warn("port %s: the state file's IPv6 addresses do not start with the vif's: keeping the "
				 "vif's only", e->name);
		}
		if (!port.name[0])
			memcpy(port.name, e->name, sizeof(port.name));
	}
	if (!port.name[0])
		snprintf(port.name, sizeof(port.name), "if%u", vif->ifindex);
	if (port.label && (port.label < c->p->label_first || port.label > c->p->label_last))
		log_warn("port %s: label %u is outside the configured range %u..%u (kept)", port.name, port.label,
			 c->p->label_first, c->p->label_last);
	log_info("adopted port %s: vif %u, vrf %u, ip %s%s%s, label %u, vn %s", port.name, port.vif_id, port.vrf_id,
		 vr_port_ips_format(port.ips, port.n_ips, ip, sizeof(ip)), port.n_ip6s ? ", ip6 " : "",
		 vr_port_ip6s_format(port.ip6s, port.n_ip6s, ip6, sizeof(ip6)), port.label,
		 port.vn[0] ? port.vn : "(unknown)");
	c->err = ports_append(c->p, &port);
	return c->err;
}

int vr_ports_adopt(struct vr_ports *p, char *err, size_t errlen)
{
	struct adopt_ctx c = { .p = p };
	struct vr_handle h;
	int rc;

	p->n = 0;
	rc = state_load(p->state_path, &c.st, &c.nst);
	if (rc)
		log_warn("reading the port state %s failed: %s (adopting vifs without names)", p->state_path,
			 strerror(-rc));
	/* At start, before anything takes the agent's shared handle (datapath.h): a handle of its own. */
	rc = vr_open(p->pin_dir, &h);
	if (rc) {
		free(c.st);
		return fail(err, errlen, rc, "cannot open the datapath: %s", why(rc));
	}
	rc = vr_vif_foreach(&h, adopt_one, &c);
	vr_close(&h);
	if (rc) {
		free(c.st);
		if (c.err)
			return fail(err, errlen, c.err, "out of memory");
		return fail(err, errlen, rc, "reading the vifs failed: %s", why(rc));
	}
	for (size_t i = 0; i < c.nst; i++)
		if (!c.st[i].used)
			log_warn("port %s (label %u) is in the state file but its vif is gone: forgotten",
				 c.st[i].name, c.st[i].label);
	free(c.st);
	state_save_logged(p);
	log_info("%zu port(s) adopted from the datapath", p->n);
	return 0;
}

/* ---- labels ---- */

struct label_map {
	__u8 *used; /* one byte per label of the range: simple, and 1 MiB at worst */
	__u32 first, last;
};

static int label_mark(__u32 label, __u32 nh_id, const struct vr_nexthop *nh, void *arg)
{
	struct label_map *m = arg;

	(void)nh_id;
	(void)nh;
	if (label >= m->first && label <= m->last)
		m->used[label - m->first] = 1;
	return 0;
}

/* The lowest label of the configured range that no label map entry uses. */
static int label_pick(struct vr_ports *p, struct vr_handle *h, __u32 *label, char *err, size_t errlen)
{
	struct label_map m = { .first = p->label_first, .last = p->label_last };
	int rc;

	m.used = calloc((size_t)m.last - m.first + 1, 1);
	if (!m.used)
		return fail(err, errlen, -ENOMEM, "out of memory");
	rc = vr_label_foreach(h, label_mark, &m);
	if (rc) {
		free(m.used);
		return fail(err, errlen, rc, "reading the label table failed: %s", why(rc));
	}
	/* Labels of ports we know are in the map too, but a port adopted with a stale map entry must not lose
	 * its label to a newcomer either. */
	for (size_t i = 0; i < p->n; i++)
		if (p->port[i].label >= m.first && p->port[i].label <= m.last)
			m.used[p->port[i].label - m.first] = 1;
	for (__u32 l = m.first;; l++) {
		if (!m.used[l - m.first]) {
			*label = l;
			free(m.used);
			return 0;
		}
		if (l == m.last)
			break;
	}
	free(m.used);
	return fail(err, errlen, -ENOSPC, "no free label in %u..%u", m.first, m.last);
}

int vr_ports_label_pick(struct vr_ports *p, struct vr_handle *h, __u32 *label, char *err, size_t errlen)
{
	return label_pick(p, h, label, err, errlen);
}

/* ---- add / del ---- */

/* Remove the /32s of ips[0..n) (undo, or delete); failures other than "not there" are logged. */
static void routes_del(struct vr_handle *h, const char *name, __u32 vrf_id, const __be32 *ips, unsigned int n)
{
	char ip[16];

	for (unsigned int i = 0; i < n; i++) {
		int rc = vr_route_del(h, vrf_id, ips[i], 32);

		if (rc && rc != -ENOENT)
			log_err("port %s: removing %s/32 from vrf %u failed: %s", name,
				inet_ntop(AF_INET, &ips[i], ip, sizeof(ip)), vrf_id, why(rc));
	}
}

/* The same for the /128s of ip6s[0..n). */
static void routes6_del(struct vr_handle *h, const char *name, __u32 vrf_id, const struct in6_addr *ip6s,
			unsigned int n)
{
	char ip[INET6_ADDRSTRLEN];

	for (unsigned int i = 0; i < n; i++) {
		int rc = vr_route6_del(h, vrf_id, &ip6s[i], 128);

		if (rc && rc != -ENOENT)
			log_err("port %s: removing %s/128 from vrf %u failed: %s", name,
				inet_ntop(AF_INET6, &ip6s[i], ip, sizeof(ip)), vrf_id, why(rc));
	}
}

/* The IPv6 part of a request: addresses a port may have, distinct, none another port of the VRF has, and a
 * gateway only beside an address. 0 or -errno with the reason in err. */
static int check_ip6s(const struct vr_ports *p, const struct vr_port_req *req, char *err, size_t errlen)
{
	char ip[INET6_ADDRSTRLEN];
	const char *unfit;

	if (req->n_ip6s > VR_PORT_IP6S_MAX)
		return fail(err, errlen, -EINVAL, "a port has at most %d IPv6 addresses", VR_PORT_IP6S_MAX);
	for (unsigned int a = 0; a < req->n_ip6s; a++) {
		inet_ntop(AF_INET6, &req->ip6s[a], ip, sizeof(ip));
		if ((unfit = ip6_unfit(&req->ip6s[a])))
			return fail(err, errlen, -EINVAL, "%s is %s", ip, unfit);
		for (unsigned int b = 0; b < a; b++)
			if (!memcmp(&req->ip6s[a], &req->ip6s[b], sizeof(req->ip6s[a])))
				return fail(err, errlen, -EINVAL, "%s is given twice", ip);
		if (!memcmp(&req->ip6s[a], &req->gw6, sizeof(req->gw6)))
			return fail(err, errlen, -EINVAL, "%s is both an address and the IPv6 gateway", ip);
	}
	if (!IN6_IS_ADDR_UNSPECIFIED(&req->gw6)) {
		inet_ntop(AF_INET6, &req->gw6, ip, sizeof(ip));
		if (!req->n_ip6s)
			return fail(err, errlen, -EINVAL, "an IPv6 gateway (%s) needs an IPv6 address", ip);
		if (!vr_port_gw6_valid(&req->gw6))
			return fail(err, errlen, -EINVAL, "%s cannot be an IPv6 gateway", ip);
	}
	for (size_t i = 0; i < p->n; i++) {
		if (p->port[i].vrf_id != req->vrf_id)
			continue;
		for (unsigned int a = 0; a < req->n_ip6s; a++)
			for (unsigned int b = 0; b < p->port[i].n_ip6s; b++)
				if (!memcmp(&p->port[i].ip6s[b], &req->ip6s[a], sizeof(req->ip6s[a])))
					return fail(err, errlen, -EEXIST, "%s is already port %s in vrf %u",
						    inet_ntop(AF_INET6, &req->ip6s[a], ip, sizeof(ip)),
						    p->port[i].name, req->vrf_id);
	}
	return 0;
}

int vr_ports_add(struct vr_ports *p, const struct vr_port_req *req, struct vr_port *out, char *err, size_t errlen)
{
	struct vr_vif_spec spec = {
		.ifname = req->name, .vrf_id = req->vrf_id, .ip = req->ips[0], .gw_ip = req->gw_ip, .mtu = req->mtu,
		.xdp = req->xdp, .gw6 = req->gw6,
	};
	struct vr_nh_spec nh = { .type = VR_NH_ENCAP, .ifname = req->name };
	struct vr_port port = {};
	struct vr_handle *h;
	struct vr_vif vif;
	char ip[VR_PORT_IPS_STRLEN], ip6[VR_PORT_IP6S_STRLEN];
	unsigned int added, added6 = 0;
	int rc;

	if (req->n_ips < 1 || req->n_ips > VR_PORT_IPS_MAX)
		return fail(err, errlen, -EINVAL, "a port has 1..%d addresses", VR_PORT_IPS_MAX);
	for (unsigned int a = 0; a < req->n_ips; a++) {
		if (!req->ips[a])
			return fail(err, errlen, -EINVAL, "0.0.0.0 is not a port address");
		for (unsigned int b = 0; b < a; b++)
			if (req->ips[a] == req->ips[b])
				return fail(err, errlen, -EINVAL, "%s is given twice",
					    inet_ntop(AF_INET, &req->ips[a], ip, sizeof(ip)));
	}
	if (vr_ports_find(p, req->name))
		return fail(err, errlen, -EEXIST, "port %s already exists", req->name);
	rc = check_ip6s(p, req, err, errlen);
	if (rc)
		return rc;
	if (req->n_ip6s)
		spec.ip6 = req->ip6s[0];
	for (size_t i = 0; i < p->n; i++) {
		if (p->port[i].vrf_id != req->vrf_id)
			continue;
		for (unsigned int a = 0; a < req->n_ips; a++)
			for (unsigned int b = 0; b < p->port[i].n_ips; b++)
				if (p->port[i].ips[b] == req->ips[a])
					return fail(err, errlen, -EEXIST, "%s is already port %s in vrf %u",
						    inet_ntop(AF_INET, &req->ips[a], ip, sizeof(ip)), p->port[i].name,
						    req->vrf_id);
	}
	if (!if_nametoindex(req->name))
		return fail(err, errlen, -ENODEV, "device %s does not exist", req->name);
	rc = vr_dp_get(&h);
	if (rc)
		return fail(err, errlen, rc, "cannot open the datapath: %s", why(rc));
	rc = vr_vrf_add(h, req->vrf_id, 0);
	if (rc == 0)
		log_info("created vrf %u for port %s", req->vrf_id, req->name);
	else if (rc != -EEXIST) {
		fail(err, errlen, rc, "vrf %u: %s", req->vrf_id, why(rc));
		goto out;
	}
	rc = label_pick(p, h, &spec.label, err, errlen);
	if (rc)
		goto out;
	memcpy(spec.mac, req->mac, 6);
	rc = vr_vif_add(h, &spec, &vif);
	if (rc) {
		fail(err, errlen, rc, "%s", why(rc));
		goto out;
	}
	if (p->on_claim)
		p->on_claim(p->on_claim_arg, req->vrf_id, req->ips, req->n_ips, req->ip6s, req->n_ip6s, true);
	for (added = 0; added < req->n_ips; added++) {
		rc = vr_route_add(h, req->vrf_id, req->ips[added], 32, &nh);
		if (rc)
			break;
	}
	if (rc)
		fail(err, errlen, rc, "route %s/32 in vrf %u: %s",
		     inet_ntop(AF_INET, &req->ips[added], ip, sizeof(ip)), req->vrf_id, why(rc));
	for (; !rc && added6 < req->n_ip6s; added6++) {
		rc = vr_route6_add(h, req->vrf_id, &req->ip6s[added6], 128, &nh);
		if (rc) {
			fail(err, errlen, rc, "route %s/128 in vrf %u: %s",
			     inet_ntop(AF_INET6, &req->ip6s[added6], ip6, sizeof(ip6)), req->vrf_id, why(rc));
			break;
		}
	}
	if (rc) {
		routes_del(h, req->name, req->vrf_id, req->ips, added);
		routes6_del(h, req->name, req->vrf_id, req->ip6s, added6);
		if (vr_vif_del(h, req->name))
			log_err("port %s: undoing the vif failed: %s", req->name, vr_strerror());
		if (p->on_claim)
			p->on_claim(p->on_claim_arg, req->vrf_id, req->ips, req->n_ips, req->ip6s, req->n_ip6s, false);
		goto out;
	}
	memcpy(port.name, req->name, sizeof(port.name));
	memcpy(port.vn, req->vn, sizeof(port.vn));
	port.ifindex = vif.ifindex;
	port.vif_id = vif.vif_id;
	port.vrf_id = vif.vrf_id;
	port.label = vif.label;
	port.ip = vif.ip;
	memcpy(port.ips, req->ips, sizeof(port.ips));
	port.n_ips = req->n_ips;
	memcpy(port.ip6s, req->ip6s, sizeof(port.ip6s));
	port.n_ip6s = req->n_ip6s;
	port.gw6 = req->gw6;
	port.gw_ip = vif.gw_ip;
	port.mtu = vif.mtu;
	port.xdp = !(vif.flags & VR_VIF_F_TC);
	memcpy(port.mac, vif.mac, 6);
	rc = ports_append(p, &port);
	if (rc) {
		fail(err, errlen, rc, "out of memory");
		routes_del(h, req->name, req->vrf_id, req->ips, req->n_ips);
		routes6_del(h, req->name, req->vrf_id, req->ip6s, req->n_ip6s);
		vr_vif_del(h, req->name);
		if (p->on_claim)
			p->on_claim(p->on_claim_arg, req->vrf_id, req->ips, req->n_ips, req->ip6s, req->n_ip6s, false);
		goto out;
	}
	state_save_logged(p);
	if (out)
		*out = port;
	if (p->on_change)
		p->on_change(p->on_change_arg, &port, true);
	log_info("port %s added: vif %u, vrf %u, ip %s%s%s, label %u, vn %s", port.name, port.vif_id, port.vrf_id,
		 vr_port_ips_format(port.ips, port.n_ips, ip, sizeof(ip)), port.n_ip6s ? ", ip6 " : "",
		 vr_port_ip6s_format(port.ip6s, port.n_ip6s, ip6, sizeof(ip6)), port.label, port.vn);
out:
	vr_dp_put();
	return rc;
}

int vr_ports_del(struct vr_ports *p, const char *name, char *err, size_t errlen)
{
	const struct vr_port *found = vr_ports_find(p, name);
	struct vr_port port;
	struct vr_handle *h;
	unsigned int removed, removed6 = 0;
	char ip[INET6_ADDRSTRLEN];
	size_t i;
	int rc = 0;

	if (!found)
		return fail(err, errlen, -ENOENT, "no port %s", name);
	port = *found;
	i = (size_t)(found - p->port);
	rc = vr_dp_get(&h);
	if (rc)
		return fail(err, errlen, rc, "cannot open the datapath: %s", why(rc));
	struct vr_nh_spec nh = { .type = VR_NH_ENCAP, .ifname = name };

	for (removed = 0; removed < port.n_ips; removed++) {
		rc = vr_route_del(h, port.vrf_id, port.ips[removed], 32);
		if (rc && rc != -ENOENT)
			break;
		rc = 0;
	}
	if (rc)
		fail(err, errlen, rc, "removing the route %s/32 of %s: %s",
		     inet_ntop(AF_INET, &port.ips[removed], ip, sizeof(ip)), name, why(rc));
	for (; !rc && removed6 < port.n_ip6s; removed6++) {
		rc = vr_route6_del(h, port.vrf_id, &port.ip6s[removed6], 128);
		if (rc && rc != -ENOENT) {
			fail(err, errlen, rc, "removing the route %s/128 of %s: %s",
			     inet_ntop(AF_INET6, &port.ip6s[removed6], ip, sizeof(ip)), name, why(rc));
			break;
		}
		rc = 0;
	}
	if (!rc) {
		rc = vr_vif_del(h, name);
		if (rc && rc != -ENOENT && rc != -ENODEV)
			fail(err, errlen, rc, "removing vif %s: %s", name, why(rc));
		else if (rc) {
			log_warn("port %s: its vif was already gone (%s)", name, vr_strerror());
			rc = 0;
		}
	}
	if (rc) {
		/* Put the routes back: the port stays whole rather than half deleted. */
		for (unsigned int a = 0; a < removed; a++)
			if (vr_route_add(h, port.vrf_id, port.ips[a], 32, &nh))
				log_err("port %s: restoring its route %s/32 failed: %s", name,
					inet_ntop(AF_INET, &port.ips[a], ip, sizeof(ip)), vr_strerror());
		for (unsigned int a = 0; a < removed6; a++)
			if (vr_route6_add(h, port.vrf_id, &port.ip6s[a], 128, &nh))
				log_err("port %s: restoring its route %s/128 failed: %s", name,
					inet_ntop(AF_INET6, &port.ip6s[a], ip, sizeof(ip)), vr_strerror());
		vr_dp_put();
		return rc;
	}
	memmove(&p->port[i], &p->port[i + 1], (p->n - i - 1) * sizeof(p->port[0]));
	p->n--;
	state_save_logged(p);
	log_info("port %s deleted (label %u released)", name, port.label);
	vr_dp_put();
	if (p->on_change)
		p->on_change(p->on_change_arg, &port, false);
	return 0;
}
