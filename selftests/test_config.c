/* Tests of the vrouter-agent configuration loader (agent/config.c): small YAML texts written to temporary
 * files, each with the exact configuration or the exact error line it must give; the example files load
 * with the values they document; print -> load gives back the same configuration; hostile input (huge,
 * deeply nested, alias bombs, bad encodings) is refused with a clean error. Needs no privileges (the
 * host-name fallback tests run only as root, in a private UTS namespace). Prints `ok NAME` or
 * `FAIL NAME: why` per test and `N passed, N failed` last. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "bird.h"
#include "config.h"
#include "libvrouter.h"

#ifndef VR_EXAMPLES_DIR
#define VR_EXAMPLES_DIR "agent/examples"
#endif

static int passed, failed, skipped;
static char tmpdir[] = "/tmp/vr-test-config-XXXXXX";

static void ok(const char *name)
{
	printf("ok %s\n", name);
	passed++;
}

static void fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	failed++;
}

/* Writes len bytes of text to a fresh file in tmpdir; returns its path (static). */
static const char *write_tmp(const char *text, size_t len)
{
	static char path[256];
	static unsigned int seq;
	FILE *f;

	snprintf(path, sizeof(path), "%s/config-%u.yaml", tmpdir, seq++);
	f = fopen(path, "w");
	if (!f || fwrite(text, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
	return path;
}

static __be32 ip(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		abort();
	return a.s_addr;
}

/* Names the first field where a and b differ into why; true when they are the same. */
static bool same_config(const struct vr_agent_config *a, const struct vr_agent_config *b, char *why, size_t len)
{
#define DIFF(cond, field) do { if (cond) { snprintf(why, len, "%s differs", field); return false; } } while (0)
	DIFF(strcmp(a->host_name, b->host_name), "host.name");
	DIFF(a->host_ip != b->host_ip, "host.underlay-address");
	DIFF(strcmp(a->fabric, b->fabric), "host.fabric-device");
	DIFF(a->n_controllers != b->n_controllers, "number of controllers");
	for (unsigned int i = 0; i < a->n_controllers && i < VR_AGENT_MAX_CONTROLLERS; i++) {
		DIFF(a->controllers[i].addr != b->controllers[i].addr, "controllers[].address");
		DIFF(a->controllers[i].port != b->controllers[i].port, "controllers[].port");
		DIFF(a->controllers[i].hold_time != b->controllers[i].hold_time, "controllers[].hold-time");
	}
	DIFF(a->n_encaps != b->n_encaps, "number of tunnel encapsulations");
	for (unsigned int i = 0; i < a->n_encaps && i < VR_AGENT_MAX_ENCAPS; i++)
		DIFF(a->encaps[i] != b->encaps[i], "tunnel-encapsulation[]");
	DIFF(a->label_first != b->label_first, "labels.first");
	DIFF(a->label_last != b->label_last, "labels.last");
	DIFF(strcmp(a->pin_dir, b->pin_dir), "bpffs");
	DIFF(strcmp(a->port_socket, b->port_socket), "port-api.socket");
	DIFF(a->stale_timeout != b->stale_timeout, "graceful-restart.stale-timeout");
	DIFF(a->log_level != b->log_level, "logging.level");
	DIFF(strcmp(a->log_file, b->log_file), "logging.file");
	DIFF(a->role != b->role, "role");
	DIFF(strcmp(a->gw.ext_dev, b->gw.ext_dev), "gateway.external-device");
	DIFF(a->gw.timeout_tcp != b->gw.timeout_tcp, "gateway.timeouts.tcp");
	DIFF(a->gw.timeout_tcp_transitory != b->gw.timeout_tcp_transitory, "gateway.timeouts.tcp-transitory");
	DIFF(a->gw.timeout_udp != b->gw.timeout_udp, "gateway.timeouts.udp");
	DIFF(a->gw.timeout_icmp != b->gw.timeout_icmp, "gateway.timeouts.icmp");
	DIFF(a->gw.n_tenants != b->gw.n_tenants, "number of gateway tenants");
	for (unsigned int i = 0; i < a->gw.n_tenants && i < VR_AGENT_GW_MAX_TENANTS; i++) {
		const struct vr_agent_tenant *x = &a->gw.tenants[i], *y = &b->gw.tenants[i];

		DIFF(strcmp(x->vn, y->vn), "gateway.tenants[].vn");
		DIFF(x->vrf_id != y->vrf_id, "gateway.tenants[].vrf");
		DIFF(x->snat_addr != y->snat_addr, "gateway.tenants[].snat-address");
		DIFF(x->port_min != y->port_min || x->port_max != y->port_max, "gateway.tenants[].snat-ports");
		DIFF(x->fip_first != y->fip_first || x->n_fips != y->n_fips, "gateway.tenants[].floating-ips");
	}
	DIFF(a->gw.n_fips != b->gw.n_fips, "number of floating IPs");
	for (unsigned int i = 0; i < a->gw.n_fips && i < VR_AGENT_GW_MAX_FIPS; i++) {
		DIFF(a->gw.fips[i].public_ip != b->gw.fips[i].public_ip, "floating-ips[].address");
		DIFF(a->gw.fips[i].private_ip != b->gw.fips[i].private_ip, "floating-ips[].private");
		DIFF(a->gw.fips[i].tenant != b->gw.fips[i].tenant, "floating-ips[] tenant");
	}
	DIFF(a->gw.announce_set != b->gw.announce_set || a->gw.n_announce != b->gw.n_announce, "gateway.announce");
	for (unsigned int i = 0; i < a->gw.n_announce && i < VR_AGENT_GW_MAX_ANNOUNCE; i++)
		DIFF(a->gw.announce[i].addr != b->gw.announce[i].addr || a->gw.announce[i].plen != b->gw.announce[i].plen,
		     "gateway.announce[]");
	DIFF(a->gw.default_route != b->gw.default_route, "gateway.default-route");
	DIFF(a->gw.n_external != b->gw.n_external, "number of gateway.external-prefixes");
	for (unsigned int i = 0; i < a->gw.n_external && i < VR_AGENT_GW_MAX_EXTERNAL; i++)
		DIFF(a->gw.external[i].addr != b->gw.external[i].addr ||
		     a->gw.external[i].plen != b->gw.external[i].plen, "gateway.external-prefixes[]");
	DIFF(strcmp(a->gw.bird_include, b->gw.bird_include), "gateway.bird.include-file");
	DIFF(strcmp(a->gw.bird_socket, b->gw.bird_socket), "gateway.bird.control-socket");
	return true;
#undef DIFF
}

/* Prints cfg, loads the result and compares. */
static bool round_trip(const struct vr_agent_config *cfg, char *why, size_t len)
{
	struct vr_agent_config back;
	char *text = NULL, err[512];
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	bool same;

	if (!f || vr_agent_config_print(f, cfg) || fclose(f)) {
		snprintf(why, len, "print failed");
		free(text);
		return false;
	}
	if (vr_agent_config_load(write_tmp(text, size), &back, err, sizeof(err))) {
		snprintf(why, len, "printed config does not load: %.200s", err);
		free(text);
		return false;
	}
	free(text);
	same = same_config(cfg, &back, why, len);
	if (!same)
		strncat(why, " after print and load", len - strlen(why) - 1);
	return same;
}

/* The required part, used by most cases (lines 1-3). */
#define REQ "host:\n  underlay-address: 192.0.2.1\n  fabric-device: eth0\n"

/* What REQ loads to: defaults plus the two required values. */
static void base(struct vr_agent_config *c)
{
	vr_agent_config_defaults(c);
	c->host_ip = ip("192.0.2.1");
	strcpy(c->fabric, "eth0");
}

static void set_nothing(struct vr_agent_config *c)
{
	(void)c;
}

static void set_all(struct vr_agent_config *c)
{
	strcpy(c->host_name, "compute-7.example_net");
	c->host_ip = ip("10.0.0.1");
	strcpy(c->fabric, "ens3");
	c->n_controllers = 2;
	c->controllers[0] = (struct vr_agent_controller){ ip("10.0.0.100"), 5269, 90 };
	c->controllers[1] = (struct vr_agent_controller){ ip("10.0.0.100"), 5270, 3 };
	c->n_encaps = 1;
	c->encaps[0] = VR_ENCAP_GRE;
	c->label_first = 1000;
	c->label_last = 1999;
	strcpy(c->pin_dir, "/sys/fs/bpf/vr1");
	strcpy(c->port_socket, "/run/vr1.sock");
	c->stale_timeout = 3600;
	c->log_level = VR_AGENT_LOG_DEBUG;
	strcpy(c->log_file, "/var/log/vrouter-agent.log");
}

static void set_one_controller(struct vr_agent_config *c)
{
	c->n_controllers = 1;
	c->controllers[0] = (struct vr_agent_controller){ ip("192.0.2.100"), 5269, 90 };
}

static void set_one_label(struct vr_agent_config *c)
{
	c->label_first = c->label_last = 1048575;
}

static void set_odd_paths(struct vr_agent_config *c)
{
	strcpy(c->pin_dir, "/sys/fs/bpf/my vrouter #1: \"x\"");
	strcpy(c->port_socket, "/run/vrouter/agent.sock");
	strcpy(c->log_file, "/var/log/\xc3\xa9t\xc3\xa9.log");
	strcpy(c->fabric, "null");
}

static void set_quoted_numbers(struct vr_agent_config *c)
{
	c->label_first = 100;
	c->label_last = 200;
	c->stale_timeout = 5;
}

static void set_gre_first(struct vr_agent_config *c)
{
	c->n_encaps = 2;
	c->encaps[0] = VR_ENCAP_GRE;
	c->encaps[1] = VR_ENCAP_UDP;
}

static void set_udp_only(struct vr_agent_config *c)
{
	c->n_encaps = 1;
	c->encaps[0] = VR_ENCAP_UDP;
}

static void set_warning_to_file(struct vr_agent_config *c)
{
	c->log_level = VR_AGENT_LOG_WARNING;
	strcpy(c->log_file, "/tmp/a");
}

/* The gateway: a tenant (index i of the table) and a floating IP of the last tenant added. */
static void gw_tenant(struct vr_agent_config *c, const char *vn, __u32 vrf, const char *snat, __u16 pmin, __u16 pmax)
{
	struct vr_agent_tenant *t = &c->gw.tenants[c->gw.n_tenants++];

	*t = (struct vr_agent_tenant){ .vrf_id = vrf, .snat_addr = snat ? ip(snat) : 0, .port_min = pmin,
				       .port_max = pmax, .fip_first = c->gw.n_fips };
	strcpy(t->vn, vn);
}

static void gw_fip(struct vr_agent_config *c, const char *pub, const char *priv)
{
	c->gw.fips[c->gw.n_fips++] = (struct vr_agent_fip){ ip(pub), ip(priv), c->gw.n_tenants - 1 };
	c->gw.tenants[c->gw.n_tenants - 1].n_fips++;
}

static void set_gw_min(struct vr_agent_config *c)
{
	c->role = VR_AGENT_ROLE_GATEWAY;
	strcpy(c->gw.ext_dev, "eth1");
	gw_tenant(c, "a:b:c", 3, "198.51.100.1", 0, 0);
}

static void set_gw_all(struct vr_agent_config *c)
{
	c->role = VR_AGENT_ROLE_GATEWAY;
	strcpy(c->gw.ext_dev, "ext0");
	c->gw.timeout_tcp = 3600;
	c->gw.timeout_tcp_transitory = 1;
	c->gw.timeout_udp = 604800;
	c->gw.timeout_icmp = 10;
	gw_tenant(c, "default-domain:tenant-a:net", 0, "198.51.100.1", 2000, 2999);
	gw_fip(c, "198.51.100.10", "10.0.0.5");
	gw_fip(c, "203.0.113.7", "10.0.0.6");
	gw_tenant(c, "t2", 4095, NULL, 0, 0);
	gw_fip(c, "198.51.100.11", "10.0.0.5");
	gw_tenant(c, "t3", 7, "198.51.100.1", 3000, 3000);
	c->gw.announce_set = true;
	c->gw.n_announce = 2;
	c->gw.announce[0] = (struct vr_agent_prefix){ ip("198.51.100.0"), 24 };
	c->gw.announce[1] = (struct vr_agent_prefix){ ip("203.0.113.7"), 32 };
	strcpy(c->gw.bird_include, "/etc/bird/vr.conf");
	strcpy(c->gw.bird_socket, "/run/bird/bird.ctl");
}

static void set_gw_bird_no_socket(struct vr_agent_config *c)
{
	set_gw_min(c);
	strcpy(c->gw.bird_include, "/tmp/x.conf");
}

static void set_gw_external(struct vr_agent_config *c)
{
	set_gw_min(c);
	c->gw.n_external = 3;
	c->gw.external[0] = (struct vr_agent_prefix){ ip("203.0.113.0"), 24 };
	c->gw.external[1] = (struct vr_agent_prefix){ ip("192.0.2.7"), 32 };
	c->gw.external[2] = (struct vr_agent_prefix){ ip("10.0.0.0"), 8 };
}

static void set_gw_external_only(struct vr_agent_config *c)
{
	set_gw_min(c);
	c->gw.default_route = false;
	c->gw.n_external = 1;
	c->gw.external[0] = (struct vr_agent_prefix){ ip("203.0.113.0"), 24 };
}

/* A gateway with one tenant; lines 4-9. */
#define GWREQ REQ "role: gateway\ngateway:\n  external-device: eth1\n  tenants:\n    - vn: a:b:c\n      vrf: 3\n"

/* Texts that load: the configuration is REQ's (base) changed by set. */
static const struct good_case {
	const char *name;
	const char *yaml;
	void (*set)(struct vr_agent_config *c);
} good_cases[] = {
	{ "only the required fields: every default", REQ, set_nothing },
	{ "every field, flow style, quoted values",
	  "host: {name: compute-7.example_net, underlay-address: \"10.0.0.1\", fabric-device: 'ens3'}\n"
	  "controllers: [{address: 10.0.0.100}, {address: 10.0.0.100, port: 5270, hold-time: 3}]\n"
	  "tunnel-encapsulation: [\"gre\"]\n"
	  "labels: {first: 1000, last: 1999}\n"
	  "bpffs: /sys/fs/bpf/vr1\n"
	  "port-api: {socket: /run/vr1.sock}\n"
	  "graceful-restart: {stale-timeout: 3600}\n"
	  "logging: {level: debug, file: /var/log/vrouter-agent.log}\n",
	  set_all },
	{ "one controller, port and hold time defaulted", REQ "controllers:\n  - address: 192.0.2.100\n",
	  set_one_controller },
	{ "controllers with no value: standalone", REQ "controllers:\n", set_nothing },
	{ "controllers: []", REQ "controllers: []\n", set_nothing },
	{ "sections with no value take their defaults",
	  REQ "labels:\nport-api:\ngraceful-restart: ~\nlogging: {}\n", set_nothing },
	{ "a range of one label", REQ "labels:\n  first: 1048575\n  last: 1048575\n", set_one_label },
	{ "quoted numbers", REQ "labels: {first: \"100\", last: '200'}\ngraceful-restart:\n  stale-timeout: \"5\"\n",
	  set_quoted_numbers },
	{ "paths needing quotes, a device named null",
	  "host:\n  underlay-address: 192.0.2.1\n  fabric-device: \"null\"\n"
	  "bpffs: \"/sys/fs/bpf/my vrouter #1: \\\"x\\\"\"\n"
	  "port-api: {socket: /run/vrouter/agent.sock}\n"
	  "logging: {file: /var/log/\xc3\xa9t\xc3\xa9.log}\n",
	  set_odd_paths },
	{ "log level and file", REQ "logging:\n  level: warning\n  file: /tmp/a\n", set_warning_to_file },
	{ "tunnel encapsulations gre first, flow style", REQ "tunnel-encapsulation: [gre, udp]\n", set_gre_first },
	{ "tunnel encapsulations gre first, block style", REQ "tunnel-encapsulation:\n  - gre\n  - 'udp'\n",
	  set_gre_first },
	{ "tunnel encapsulations: the default order written out", REQ "tunnel-encapsulation: [udp, gre]\n",
	  set_nothing },
	{ "tunnel encapsulations: udp only", REQ "tunnel-encapsulation: [udp]\n", set_udp_only },
	{ "explicit document start and end, %YAML directive", "%YAML 1.1\n---\n" REQ "...\n", set_nothing },
	{ "comments everywhere", "# head\nhost: # trailing\n  # inside\n  underlay-address: 192.0.2.1 # x\n"
	  "  fabric-device: eth0\n# tail\n", set_nothing },
	{ "CRLF line ends", "host:\r\n  underlay-address: 192.0.2.1\r\n  fabric-device: eth0\r\n", set_nothing },
	{ "UTF-8 byte order mark", "\xef\xbb\xbf" REQ, set_nothing },
	{ "role: vrouter written out", REQ "role: vrouter\n", set_nothing },
	{ "gateway: the required part, every default",
	  REQ "role: gateway\ngateway:\n  external-device: eth1\n  tenants:\n    - vn: a:b:c\n      vrf: 3\n"
	  "      snat-address: 198.51.100.1\n", set_gw_min },
	{ "gateway: the section before the role, flow style",
	  REQ "gateway: {tenants: [{snat-address: 198.51.100.1, vrf: 3, vn: a:b:c}], external-device: eth1}\n"
	  "role: gateway\n", set_gw_min },
	{ "gateway: every field; a FIP-only tenant, an SNAT address shared, the same private address in two VRFs",
	  REQ "role: gateway\n"
	  "gateway:\n"
	  "  external-device: ext0\n"
	  "  timeouts:\n    tcp: 3600\n    tcp-transitory: 1\n    udp: 604800\n    icmp: \"10\"\n"
	  "  tenants:\n"
	  "    - vn: default-domain:tenant-a:net\n      vrf: 0\n      snat-address: 198.51.100.1\n"
	  "      snat-ports: 2000-2999\n"
	  "      floating-ips:\n        - address: 198.51.100.10\n          private: 10.0.0.5\n"
	  "        - {private: 10.0.0.6, address: 203.0.113.7}\n"
	  "    - vn: t2\n      vrf: 4095\n      floating-ips: [{address: 198.51.100.11, private: 10.0.0.5}]\n"
	  "    - {vn: t3, vrf: 7, snat-address: 198.51.100.1, snat-ports: 3000-3000, floating-ips: []}\n"
	  "  announce:\n    - 198.51.100.0/24\n    - 203.0.113.7/32\n"
	  "  bird:\n    include-file: /etc/bird/vr.conf\n    control-socket: /run/bird/bird.ctl\n",
	  set_gw_all },
	{ "gateway: bird without a control socket, empty timeouts", GWREQ "      snat-address: 198.51.100.1\n"
	  "  timeouts: {}\n  bird: {include-file: /tmp/x.conf}\n", set_gw_bird_no_socket },
	{ "gateway: external prefixes beside the default route", GWREQ "      snat-address: 198.51.100.1\n"
	  "  external-prefixes:\n    - 203.0.113.0/24\n    - 192.0.2.7/32\n    - 10.0.0.0/8\n", set_gw_external },
	{ "gateway: default-route true written out, no external prefixes", GWREQ "      snat-address: 198.51.100.1\n"
	  "  default-route: true\n  external-prefixes: []\n", set_gw_min },
	{ "gateway: external prefixes only, default-route false", GWREQ "      snat-address: 198.51.100.1\n"
	  "  default-route: false\n  external-prefixes: [203.0.113.0/24]\n", set_gw_external_only },
	{ "gateway: default-route false after the list", GWREQ "      snat-address: 198.51.100.1\n"
	  "  external-prefixes: [203.0.113.0/24]\n  default-route: false\n", set_gw_external_only },
};

/* Texts that must fail: ret and the error line after the file name. */
static const struct bad_case {
	const char *name;
	const char *yaml;
	int ret;
	const char *msg;
} bad_cases[] = {
	/* Where nothing is configured. */
	{ "empty file", "", -EINVAL, ":1:1: host.underlay-address: required field is missing" },
	{ "only comments", "# nothing\n", -EINVAL, ":2:1: host.underlay-address: required field is missing" },
	{ "an empty document", "---\n", -EINVAL, ":2:1: host.underlay-address: required field is missing" },
	{ "no host section", "bpffs: /x\n", -EINVAL, ":1:1: host.underlay-address: required field is missing" },
	{ "host with no value", "host:\nbpffs: /x\n", -EINVAL, ":1:6: host.underlay-address: required field is missing" },
	{ "underlay-address missing", "host:\n  fabric-device: eth0\n", -EINVAL,
	  ":2:3: host.underlay-address: required field is missing" },
	{ "fabric-device missing", "host:\n  underlay-address: 192.0.2.1\n", -EINVAL,
	  ":2:3: host.fabric-device: required field is missing" },
	{ "controller address missing", REQ "controllers:\n  - port: 5269\n", -EINVAL,
	  ":5:5: controllers[0].address: required field is missing" },
	{ "controller with no value", REQ "controllers:\n  -\n", -EINVAL,
	  ":5:4: controllers[0].address: required field is missing" },
	/* The top level. */
	{ "top level is a sequence", "- host\n- labels\n", -EINVAL,
	  ":1:1: the top level must be a mapping (\"key: value\" lines), found a sequence" },
	{ "top level is a scalar", "hello\n", -EINVAL,
	  ":1:1: the top level must be a mapping (\"key: value\" lines), found the value hello" },
	{ "two documents", REQ "---\nhost: {}\n", -EINVAL, ":4:1: a second YAML document: the file must hold exactly one" },
	/* Keys. */
	{ "unknown top-level key", REQ "hots: x\n", -EINVAL,
	  ":4:1: hots: unknown key (expected host, controllers, tunnel-encapsulation, labels, bpffs, port-api, "
	  "graceful-restart, logging, role, gateway)" },
	{ "misspelt key", "host:\n  underlay-address: 192.0.2.1\n  fabric-devcie: eth0\n", -EINVAL,
	  ":3:3: host.fabric-devcie: unknown key (expected name, underlay-address, fabric-device)" },
	{ "unknown controller key", REQ "controllers:\n  - address: 192.0.2.100\n    hold_time: 30\n", -EINVAL,
	  ":6:5: controllers[0].hold_time: unknown key (expected address, port, hold-time)" },
	{ "keys are case sensitive", REQ "Logging: {}\n", -EINVAL,
	  ":4:1: Logging: unknown key (expected host, controllers, tunnel-encapsulation, labels, bpffs, port-api, "
	  "graceful-restart, logging, role, gateway)" },
	{ "duplicate key", REQ "bpffs: /a\nbpffs: /b\n", -EINVAL, ":5:1: bpffs: duplicate key (first given at line 4)" },
	{ "duplicate nested key", "host:\n  underlay-address: 192.0.2.1\n  fabric-device: eth0\n  fabric-device: eth1\n",
	  -EINVAL, ":4:3: host.fabric-device: duplicate key (first given at line 3)" },
	{ "duplicate section", REQ "host:\n  name: x\n", -EINVAL, ":4:1: host: duplicate key (first given at line 1)" },
	{ "duplicate key in flow style", REQ "labels: {first: 16, first: 17}\n", -EINVAL,
	  ":4:21: labels.first: duplicate key (first given at line 4)" },
	{ "a key that is a sequence", REQ "? [a, b]\n: c\n", -EINVAL, ":4:3: expected a key, found a sequence" },
	/* Kinds of node. */
	{ "mapping where a value belongs", REQ "bpffs:\n  path: /x\n", -EINVAL,
	  ":5:3: bpffs: expected a single value, found a mapping" },
	{ "sequence where a value belongs", REQ "labels:\n  first: [16, 17]\n", -EINVAL,
	  ":5:10: labels.first: expected a single value, found a sequence" },
	{ "value where a mapping belongs", REQ "logging: debug\n", -EINVAL,
	  ":4:10: logging: expected a mapping, found the value debug" },
	{ "sequence where a mapping belongs", REQ "port-api:\n  - socket: /x\n", -EINVAL,
	  ":5:3: port-api: expected a mapping, found a sequence" },
	{ "controllers as a mapping", REQ "controllers:\n  address: 192.0.2.100\n", -EINVAL,
	  ":5:3: controllers: expected a sequence of controllers (\"- address: ...\"), found a mapping" },
	{ "controllers as a value", REQ "controllers: 192.0.2.100\n", -EINVAL,
	  ":4:14: controllers: expected a sequence of controllers (\"- address: ...\"), found the value 192.0.2.100" },
	{ "controller as a value", REQ "controllers:\n  - 192.0.2.100\n", -EINVAL,
	  ":5:5: controllers[0]: expected a mapping, found the value 192.0.2.100" },
	{ "required field with no value", "host:\n  underlay-address:\n  fabric-device: eth0\n", -EINVAL,
	  ":2:20: host.underlay-address: no value" },
	{ "optional field with no value", REQ "labels:\n  first: ~\n", -EINVAL,
	  ":5:10: labels.first: no value (leave the key out for the default)" },
	/* Controllers. */
	{ "three controllers", REQ "controllers:\n  - address: 192.0.2.100\n  - address: 192.0.2.101\n"
	  "  - address: 192.0.2.102\n", -EINVAL, ":7:5: controllers[2]: at most 2 controllers are supported" },
	{ "the same controller twice", REQ "controllers:\n  - address: 192.0.2.100\n  - address: 192.0.2.100\n"
	  "    port: 5269\n", -EINVAL, ":6:5: controllers[1]: same address and port as controllers[0]" },
	{ "port too large", REQ "controllers:\n  - address: 192.0.2.100\n    port: 70000\n", -EINVAL,
	  ":6:11: controllers[0].port: 70000 is not a port (1..65535)" },
	{ "port 0", REQ "controllers:\n  - address: 192.0.2.100\n    port: 0\n", -EINVAL,
	  ":6:11: controllers[0].port: 0 is not a port (1..65535)" },
	{ "port negative", REQ "controllers:\n  - address: 192.0.2.100\n    port: -1\n", -EINVAL,
	  ":6:11: controllers[0].port: -1 is not a port (1..65535)" },
	{ "port in hex", REQ "controllers:\n  - address: 192.0.2.100\n    port: 0x1495\n", -EINVAL,
	  ":6:11: controllers[0].port: 0x1495 is not a port (1..65535)" },
	{ "port as a name", REQ "controllers:\n  - address: 192.0.2.100\n    port: xmpp client\n", -EINVAL,
	  ":6:11: controllers[0].port: \"xmpp client\" is not a port (1..65535)" },
	{ "port with a fraction", REQ "controllers:\n  - address: 192.0.2.100\n    port: 5269.0\n", -EINVAL,
	  ":6:11: controllers[0].port: 5269.0 is not a port (1..65535)" },
	{ "port with a space", REQ "controllers:\n  - address: 192.0.2.100\n    port: \" 5269\"\n", -EINVAL,
	  ":6:11: controllers[0].port: \" 5269\" is not a port (1..65535)" },
	{ "port beyond 64 bits", REQ "controllers:\n  - address: 192.0.2.100\n    port: 99999999999999999999999\n",
	  -EINVAL, ":6:11: controllers[0].port: 99999999999999999999999 is not a port (1..65535)" },
	{ "hold time too short", REQ "controllers:\n  - address: 192.0.2.100\n    hold-time: 2\n", -EINVAL,
	  ":6:16: controllers[0].hold-time: 2 is not a hold time in seconds (3..65535)" },
	{ "hold time too long", REQ "controllers:\n  - address: 192.0.2.100\n    hold-time: 65536\n", -EINVAL,
	  ":6:16: controllers[0].hold-time: 65536 is not a hold time in seconds (3..65535)" },
	{ "controller address is IPv6", REQ "controllers:\n  - address: 2001:db8::1\n", -EINVAL,
	  ":5:14: controllers[0].address: 2001:db8::1 is not an IPv4 address" },
	{ "controller address is a name", REQ "controllers:\n  - address: control-1\n", -EINVAL,
	  ":5:14: controllers[0].address: control-1 is not an IPv4 address" },
	/* Host. */
	{ "underlay address short", "host:\n  underlay-address: 192.0.2\n  fabric-device: eth0\n", -EINVAL,
	  ":2:21: host.underlay-address: 192.0.2 is not an IPv4 address" },
	{ "underlay address with a prefix length", "host:\n  underlay-address: 192.0.2.1/24\n", -EINVAL,
	  ":2:21: host.underlay-address: 192.0.2.1/24 is not an IPv4 address" },
	{ "underlay address 0.0.0.0", "host:\n  underlay-address: 0.0.0.0\n", -EINVAL,
	  ":2:21: host.underlay-address: 0.0.0.0 is not a unicast address" },
	{ "underlay address multicast", "host:\n  underlay-address: 224.0.0.5\n", -EINVAL,
	  ":2:21: host.underlay-address: 224.0.0.5 is not a unicast address" },
	{ "underlay address broadcast", "host:\n  underlay-address: 255.255.255.255\n", -EINVAL,
	  ":2:21: host.underlay-address: 255.255.255.255 is not a unicast address" },
	{ "fabric device with a slash", "host:\n  fabric-device: eth0/1\n", -EINVAL,
	  ":2:18: host.fabric-device: eth0/1 is not a network device name (1..15 characters, no '/', ':' or spaces)" },
	{ "fabric device with a colon", "host:\n  fabric-device: eth0:1\n", -EINVAL,
	  ":2:18: host.fabric-device: eth0:1 is not a network device name (1..15 characters, no '/', ':' or spaces)" },
	{ "fabric device with a space", "host:\n  fabric-device: \"eth 0\"\n", -EINVAL,
	  ":2:18: host.fabric-device: \"eth 0\" is not a network device name (1..15 characters, no '/', ':' or spaces)" },
	{ "fabric device empty", "host:\n  fabric-device: \"\"\n", -EINVAL,
	  ":2:18: host.fabric-device: \"\" is not a network device name (1..15 characters, no '/', ':' or spaces)" },
	{ "fabric device too long", "host:\n  fabric-device: abcdefghijklmnop\n", -EINVAL,
	  ":2:18: host.fabric-device: abcdefghijklmnop is not a network device name (1..15 characters, no '/', ':' or "
	  "spaces)" },
	{ "host name with a space", "host:\n  name: host a\n", -EINVAL,
	  ":2:9: host.name: \"host a\" is not a host name (letters, digits, '-', '.', '_', at most 64, not starting "
	  "with '-' or '.')" },
	{ "host name starting with a dot", "host:\n  name: .a\n", -EINVAL,
	  ":2:9: host.name: .a is not a host name (letters, digits, '-', '.', '_', at most 64, not starting "
	  "with '-' or '.')" },
	{ "host name of 65 characters",
	  "host:\n  name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", -EINVAL,
	  ":2:9: host.name: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" is not a host name (letters, digits, "
	  "'-', '.', '_', at most 64, not starting with '-' or '.')" },
	{ "host name with a quote", "host:\n  name: 'a\"b'\n", -EINVAL,
	  ":2:9: host.name: \"a\"b\" is not a host name (letters, digits, '-', '.', '_', at most 64, not starting "
	  "with '-' or '.')" },
	/* Labels. */
	{ "first label reserved", REQ "labels:\n  first: 15\n", -EINVAL,
	  ":5:10: labels.first: 15 is not an MPLS label (16..1048575)" },
	{ "last label beyond 20 bits", REQ "labels:\n  last: 1048576\n", -EINVAL,
	  ":5:9: labels.last: 1048576 is not an MPLS label (16..1048575)" },
	{ "last label below first", REQ "labels:\n  first: 200\n  last: 100\n", -EINVAL,
	  ":6:9: labels.last: 100 is below labels.first (200)" },
	{ "last label below first, given first", REQ "labels:\n  last: 100\n  first: 200\n", -EINVAL,
	  ":5:9: labels.last: 100 is below labels.first (200)" },
	/* Paths. */
	{ "relative bpffs", REQ "bpffs: vrouter\n", -EINVAL, ":4:8: bpffs: vrouter is not an absolute path" },
	{ "bpffs too long", REQ "bpffs: /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", -EINVAL,
	  ":4:8: bpffs: \"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" is longer than 255 bytes" },
	{ "socket path too long", REQ "port-api:\n  socket: /run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n", -EINVAL,
	  ":5:11: port-api.socket: \"/run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" is longer than 107 bytes (the limit "
	  "of a Unix socket address)" },
	{ "socket path relative", REQ "port-api:\n  socket: agent.sock\n", -EINVAL,
	  ":5:11: port-api.socket: agent.sock is not an absolute path" },
	{ "control character in a path", REQ "bpffs: \"/a\\tb\"\n", -EINVAL,
	  ":4:8: bpffs: \"/a?b\": control characters are not allowed in a path" },
	{ "log file relative", REQ "logging:\n  file: agent.log\n", -EINVAL,
	  ":5:9: logging.file: agent.log is not an absolute path or stderr" },
	{ "log file -", REQ "logging:\n  file: \"-\"\n", -EINVAL,
	  ":5:9: logging.file: - is not an absolute path or stderr" },
	/* Tunnel encapsulations. */
	{ "tunnel encapsulation not offered by the datapath", REQ "tunnel-encapsulation: [udp, vxlan]\n", -EINVAL,
	  ":4:29: tunnel-encapsulation[1]: vxlan is not a tunnel encapsulation of this vRouter (udp, gre)" },
	{ "tunnel encapsulation in capitals", REQ "tunnel-encapsulation:\n  - MPLSoGRE\n", -EINVAL,
	  ":5:5: tunnel-encapsulation[0]: MPLSoGRE is not a tunnel encapsulation of this vRouter (udp, gre)" },
	{ "tunnel encapsulation listed twice", REQ "tunnel-encapsulation: [gre, udp, gre]\n", -EINVAL,
	  ":4:34: tunnel-encapsulation[2]: gre is listed twice (first as tunnel-encapsulation[0])" },
	{ "tunnel encapsulations: an empty list", REQ "tunnel-encapsulation: []\n", -EINVAL,
	  ":4:23: tunnel-encapsulation: an empty list: name at least one encapsulation (udp, gre)" },
	{ "tunnel encapsulations: a single value", REQ "tunnel-encapsulation: gre\n", -EINVAL,
	  ":4:23: tunnel-encapsulation: expected a sequence of encapsulations, most preferred first ([udp, gre]), "
	  "found the value gre" },
	{ "tunnel encapsulations: a mapping", REQ "tunnel-encapsulation: {gre: 1}\n", -EINVAL,
	  ":4:23: tunnel-encapsulation: expected a sequence of encapsulations, most preferred first ([udp, gre]), "
	  "found a mapping" },
	{ "tunnel encapsulations: no value", REQ "tunnel-encapsulation:\nbpffs: /x\n", -EINVAL,
	  ":4:22: tunnel-encapsulation: no value (leave the key out for the default, [udp, gre])" },
	{ "tunnel encapsulations: an empty item", REQ "tunnel-encapsulation:\n  - udp\n  -\n", -EINVAL,
	  ":6:4: tunnel-encapsulation[1]: expected an encapsulation (udp or gre), found no value" },
	{ "tunnel encapsulations: a nested list", REQ "tunnel-encapsulation: [[udp], gre]\n", -EINVAL,
	  ":4:24: tunnel-encapsulation[0]: expected an encapsulation (udp or gre), found a sequence" },
	/* Other values. */
	{ "unknown log level", REQ "logging:\n  level: verbose\n", -EINVAL,
	  ":5:10: logging.level: verbose is not a log level (error, warning, info, debug)" },
	{ "log level in capitals", REQ "logging:\n  level: INFO\n", -EINVAL,
	  ":5:10: logging.level: INFO is not a log level (error, warning, info, debug)" },
	{ "stale timeout 0", REQ "graceful-restart:\n  stale-timeout: 0\n", -EINVAL,
	  ":5:18: graceful-restart.stale-timeout: 0 is not a timeout in seconds (1..3600)" },
	{ "stale timeout too long", REQ "graceful-restart:\n  stale-timeout: 3601\n", -EINVAL,
	  ":5:18: graceful-restart.stale-timeout: 3601 is not a timeout in seconds (1..3600)" },
	/* The gateway role. */
	{ "unknown role", REQ "role: router\n", -EINVAL, ":4:7: role: router is not a role (vrouter, gateway)" },
	{ "gateway section with role vrouter", REQ "gateway:\n  external-device: eth1\n", -EINVAL,
	  ":4:1: gateway: only with role: gateway (the role is vrouter)" },
	{ "role gateway without the section", REQ "role: gateway\n", -EINVAL,
	  ":4:1: gateway: required with role: gateway" },
	{ "gateway: external-device missing", REQ "role: gateway\ngateway:\n  tenants: [{vn: a, vrf: 1, "
	  "snat-address: 198.51.100.1}]\n", -EINVAL,
	  ":6:3: gateway.external-device: required field is missing (role: gateway)" },
	{ "gateway: external-device is the fabric", REQ "role: gateway\ngateway: {external-device: eth0, tenants: "
	  "[{vn: a, vrf: 1, snat-address: 198.51.100.1}]}\n", -EINVAL,
	  ":5:10: gateway.external-device: eth0 is also host.fabric-device: the external NIC must be another one" },
	{ "gateway: no tenants", REQ "role: gateway\ngateway:\n  external-device: eth1\n", -EINVAL,
	  ":6:3: gateway.tenants: a gateway needs at least one tenant" },
	{ "gateway: an empty tenant list", REQ "role: gateway\ngateway:\n  external-device: eth1\n  tenants: []\n",
	  -EINVAL, ":6:3: gateway.tenants: a gateway needs at least one tenant" },
	{ "gateway: tenants as a mapping", REQ "role: gateway\ngateway:\n  tenants:\n    vn: a\n", -EINVAL,
	  ":7:5: gateway.tenants: expected a sequence of tenants (\"- vn: NAME\"), found a mapping" },
	{ "gateway: unknown key", REQ "role: gateway\ngateway:\n  external: eth1\n", -EINVAL,
	  ":6:3: gateway.external: unknown key (expected external-device, timeouts, tenants, default-route, "
	  "external-prefixes, announce, bird)" },
	{ "gateway: tenant without vn", REQ "role: gateway\ngateway:\n  tenants:\n    - vrf: 3\n", -EINVAL,
	  ":7:7: gateway.tenants[0].vn: required field is missing" },
	{ "gateway: tenant without vrf", REQ "role: gateway\ngateway:\n  tenants:\n    - vn: a\n", -EINVAL,
	  ":7:7: gateway.tenants[0].vrf: required field is missing" },
	{ "gateway: tenant vrf out of range", GWREQ "      snat-address: 198.51.100.1\n    - {vn: b, vrf: 4096}\n",
	  -EINVAL, ":11:20: gateway.tenants[1].vrf: 4096 is not a VRF id (0..4095)" },
	{ "gateway: tenant vrf not a number", REQ "role: gateway\ngateway:\n  tenants:\n    - {vn: a, vrf: a:b}\n",
	  -EINVAL, ":7:20: gateway.tenants[0].vrf: a:b is not a VRF id (0..4095)" },
	{ "gateway: vn with a space", REQ "role: gateway\ngateway:\n  tenants:\n    - {vn: \"a b\", vrf: 1}\n",
	  -EINVAL, ":7:12: gateway.tenants[0].vn: \"a b\" is not a virtual network name (1..255 of letters, digits, "
	  "':', '.', '_', '-', starting with a letter or digit)" },
	{ "gateway: vn starting with a colon", REQ "role: gateway\ngateway:\n  tenants:\n    - {vn: \":a\", vrf: 1}\n",
	  -EINVAL, ":7:12: gateway.tenants[0].vn: :a is not a virtual network name (1..255 of letters, digits, "
	  "':', '.', '_', '-', starting with a letter or digit)" },
	{ "gateway: a tenant with no way out", GWREQ, -EINVAL,
	  ":8:7: gateway.tenants[0]: neither snat-address nor floating-ips: the tenant would have no way out" },
	{ "gateway: the same vrf twice", GWREQ "      snat-address: 198.51.100.1\n    - {vn: b, vrf: 3, snat-address: "
	  "198.51.100.2}\n", -EINVAL, ":11:7: gateway.tenants[1]: vrf 3 is already tenants[0]" },
	{ "gateway: the same vn twice", GWREQ "      snat-address: 198.51.100.1\n    - {vn: a:b:c, vrf: 4, snat-address: "
	  "198.51.100.2}\n", -EINVAL, ":11:7: gateway.tenants[1]: vn a:b:c is already tenants[0]" },
	{ "gateway: snat-address multicast", GWREQ "      snat-address: 224.0.0.1\n", -EINVAL,
	  ":10:21: gateway.tenants[0].snat-address: 224.0.0.1 is not a unicast address" },
	{ "gateway: snat-address with a length", GWREQ "      snat-address: 198.51.100.0/24\n", -EINVAL,
	  ":10:21: gateway.tenants[0].snat-address: 198.51.100.0/24 is not an IPv4 address" },
	{ "gateway: snat-ports a single port", GWREQ "      snat-address: 198.51.100.1\n      snat-ports: 1024\n",
	  -EINVAL, ":11:19: gateway.tenants[0].snat-ports: 1024 is not a port range MIN-MAX (ports 1..65535, e.g. "
	  "1024-65535)" },
	{ "gateway: snat-ports reversed", GWREQ "      snat-address: 198.51.100.1\n      snat-ports: 2000-1000\n",
	  -EINVAL, ":11:19: gateway.tenants[0].snat-ports: 2000-1000: the first port is above the last" },
	{ "gateway: snat-ports from 0", GWREQ "      snat-address: 198.51.100.1\n      snat-ports: 0-100\n", -EINVAL,
	  ":11:19: gateway.tenants[0].snat-ports: 0-100 is not a port range MIN-MAX (ports 1..65535, e.g. "
	  "1024-65535)" },
	{ "gateway: snat-ports beyond 65535", GWREQ "      snat-address: 198.51.100.1\n      snat-ports: 1-65536\n",
	  -EINVAL, ":11:19: gateway.tenants[0].snat-ports: 1-65536 is not a port range MIN-MAX (ports 1..65535, e.g. "
	  "1024-65535)" },
	{ "gateway: snat-ports negative", GWREQ "      snat-address: 198.51.100.1\n      snat-ports: -1-5\n",
	  -EINVAL, ":11:19: gateway.tenants[0].snat-ports: -1-5 is not a port range MIN-MAX (ports 1..65535, e.g. "
	  "1024-65535)" },
	{ "gateway: snat-ports without snat-address", GWREQ "      snat-ports: 1024-2047\n      floating-ips: "
	  "[{address: 198.51.100.9, private: 10.0.0.1}]\n", -EINVAL,
	  ":10:7: gateway.tenants[0].snat-ports: given without snat-address" },
	{ "gateway: floating-ips as a mapping", GWREQ "      floating-ips: {address: 198.51.100.9}\n", -EINVAL,
	  ":10:21: gateway.tenants[0].floating-ips: expected a sequence of floating IPs (\"- {address: PUBLIC, "
	  "private: PRIVATE}\"), found a mapping" },
	{ "gateway: floating IP without private", GWREQ "      floating-ips: [{address: 198.51.100.9}]\n", -EINVAL,
	  ":10:22: gateway.tenants[0].floating-ips[0].private: required field is missing" },
	{ "gateway: floating IP unknown key", GWREQ "      floating-ips: [{address: 198.51.100.9, vm: x}]\n", -EINVAL,
	  ":10:46: gateway.tenants[0].floating-ips[0].vm: unknown key (expected address, private)" },
	{ "gateway: the same floating IP twice", GWREQ "      floating-ips:\n        - {address: 198.51.100.9, "
	  "private: 10.0.0.1}\n    - {vn: b, vrf: 4, floating-ips: [{address: 198.51.100.9, private: 10.0.0.2}]}\n",
	  -EINVAL, ":12:38: gateway.tenants[1].floating-ips[0]: 198.51.100.9 is already a floating IP (of tenants[0])" },
	{ "gateway: two floating IPs for one VM", GWREQ "      floating-ips:\n        - {address: 198.51.100.9, "
	  "private: 10.0.0.1}\n        - {address: 198.51.100.8, private: 10.0.0.1}\n", -EINVAL,
	  ":12:11: gateway.tenants[0].floating-ips[1]: 10.0.0.1 already has a floating IP (floating-ips[0])" },
	{ "gateway: a floating IP that is the tenant's SNAT address", GWREQ "      snat-address: 198.51.100.9\n"
	  "      floating-ips: [{address: 198.51.100.9, private: 10.0.0.1}]\n", -EINVAL,
	  ":8:7: gateway.tenants[0]: 198.51.100.9 is both the snat-address of tenants[0] and a floating IP of tenants[0]" },
	{ "gateway: a floating IP that is another tenant's SNAT address", GWREQ "      snat-address: 198.51.100.9\n"
	  "    - {vn: b, vrf: 4, floating-ips: [{address: 198.51.100.9, private: 10.0.0.1}]}\n", -EINVAL,
	  ":11:7: gateway.tenants[1]: 198.51.100.9 is both the snat-address of tenants[0] and a floating IP of tenants[1]" },
	{ "gateway: an SNAT address that is an earlier tenant's floating IP",
	  GWREQ "      floating-ips: [{address: 198.51.100.9, private: 10.0.0.1}]\n"
	  "    - {vn: b, vrf: 4, snat-address: 198.51.100.9}\n", -EINVAL,
	  ":11:7: gateway.tenants[1]: 198.51.100.9 is both the snat-address of tenants[1] and a floating IP of tenants[0]" },
	{ "gateway: timeout 0", GWREQ "      snat-address: 198.51.100.1\n  timeouts: {udp: 0}\n", -EINVAL,
	  ":11:19: gateway.timeouts.udp: 0 is not a timeout in seconds (1..604800)" },
	{ "gateway: timeout over a week", GWREQ "      snat-address: 198.51.100.1\n  timeouts: {tcp: 604801}\n", -EINVAL,
	  ":11:19: gateway.timeouts.tcp: 604801 is not a timeout in seconds (1..604800)" },
	{ "gateway: unknown timeout", GWREQ "      snat-address: 198.51.100.1\n  timeouts: {sctp: 10}\n", -EINVAL,
	  ":11:14: gateway.timeouts.sctp: unknown key (expected tcp, tcp-transitory, udp, icmp)" },
	{ "gateway: announce a single value", GWREQ "      snat-address: 198.51.100.1\n  announce: 198.51.100.0/24\n",
	  -EINVAL, ":11:13: gateway.announce: expected a sequence of prefixes ([198.51.100.0/24]), found the value "
	  "198.51.100.0/24" },
	{ "gateway: announce with no value", GWREQ "      snat-address: 198.51.100.1\n  announce:\n", -EINVAL,
	  ":11:12: gateway.announce: expected a sequence of prefixes ([198.51.100.0/24]), found no value (leave the key "
	  "out to announce each public address as a /32)" },
	{ "gateway: announce an empty list", GWREQ "      snat-address: 198.51.100.1\n  announce: []\n", -EINVAL,
	  ":11:13: gateway.announce: an empty list: name the public prefixes (or leave the key out to announce each "
	  "public address as a /32)" },
	{ "gateway: announce an address", GWREQ "      snat-address: 198.51.100.1\n  announce: [198.51.100.1]\n",
	  -EINVAL, ":11:14: gateway.announce[0]: 198.51.100.1 is not an IPv4 prefix A.B.C.D/N" },
	{ "gateway: announce host bits", GWREQ "      snat-address: 198.51.100.1\n  announce: [198.51.100.1/24]\n",
	  -EINVAL, ":11:14: gateway.announce[0]: 198.51.100.1/24 has bits set beyond /24" },
	{ "gateway: announce the default route", GWREQ "      snat-address: 198.51.100.1\n  announce: [0.0.0.0/0]\n",
	  -EINVAL, ":11:14: gateway.announce[0]: 0.0.0.0/0: the gateway does not announce a default route" },
	{ "gateway: announce length 33", GWREQ "      snat-address: 198.51.100.1\n  announce: [198.51.100.1/33]\n",
	  -EINVAL, ":11:14: gateway.announce[0]: 198.51.100.1/33 is not an IPv4 prefix A.B.C.D/N" },
	{ "gateway: announce twice", GWREQ "      snat-address: 198.51.100.1\n  announce: [198.51.100.0/24, "
	  "198.51.100.0/24]\n", -EINVAL, ":11:31: gateway.announce[1]: 198.51.100.0/24 is listed twice (first as "
	  "announce[0])" },
	{ "gateway: external-prefixes host bits", GWREQ "      snat-address: 198.51.100.1\n  external-prefixes: "
	  "[10.1.0.0/8]\n", -EINVAL, ":11:23: gateway.external-prefixes[0]: 10.1.0.0/8 has bits set beyond /8" },
	{ "gateway: external-prefixes twice", GWREQ "      snat-address: 198.51.100.1\n  external-prefixes:\n"
	  "    - 203.0.113.0/24\n    - 10.0.0.0/8\n    - 203.0.113.0/24\n", -EINVAL,
	  ":14:7: gateway.external-prefixes[2]: 203.0.113.0/24 is listed twice (first as external-prefixes[0])" },
	{ "gateway: external-prefixes the default route", GWREQ "      snat-address: 198.51.100.1\n  external-prefixes: "
	  "[0.0.0.0/0]\n", -EINVAL, ":11:23: gateway.external-prefixes[0]: 0.0.0.0/0: the default route is not listed "
	  "here: default-route: true (the default) advertises it" },
	{ "gateway: external-prefixes the default route, default-route false", GWREQ "      snat-address: 198.51.100.1\n"
	  "  default-route: false\n  external-prefixes: [0.0.0.0/0]\n", -EINVAL, ":12:23: gateway.external-prefixes[0]: "
	  "0.0.0.0/0: the default route is not listed here: default-route: true (the default) advertises it" },
	{ "gateway: external-prefixes an address", GWREQ "      snat-address: 198.51.100.1\n  external-prefixes: "
	  "[203.0.113.1]\n", -EINVAL, ":11:23: gateway.external-prefixes[0]: 203.0.113.1 is not an IPv4 prefix A.B.C.D/N" },
	{ "gateway: external-prefixes IPv6", GWREQ "      snat-address: 198.51.100.1\n  external-prefixes: "
	  "[\"2001:db8::/32\"]\n", -EINVAL,
	  ":11:23: gateway.external-prefixes[0]: 2001:db8::/32 is not an IPv4 prefix A.B.C.D/N" },
	{ "gateway: external-prefixes a single value", GWREQ "      snat-address: 198.51.100.1\n  external-prefixes: "
	  "203.0.113.0/24\n", -EINVAL, ":11:22: gateway.external-prefixes: expected a sequence of prefixes "
	  "([203.0.113.0/24]), found the value 203.0.113.0/24" },
	{ "gateway: external-prefixes with no value", GWREQ "      snat-address: 198.51.100.1\n  external-prefixes:\n",
	  -EINVAL, ":11:21: gateway.external-prefixes: expected a sequence of prefixes ([203.0.113.0/24]), found no "
	  "value (leave the key out for none)" },
	{ "gateway: default-route false and no external prefixes", GWREQ "      snat-address: 198.51.100.1\n"
	  "  default-route: false\n", -EINVAL, ":11:18: gateway.default-route: false, and no external-prefixes: the "
	  "gateway would advertise no route into its tenants' VRFs" },
	{ "gateway: default-route false and an empty list", GWREQ "      snat-address: 198.51.100.1\n"
	  "  external-prefixes: []\n  default-route: false\n", -EINVAL, ":12:18: gateway.default-route: false, and no "
	  "external-prefixes: the gateway would advertise no route into its tenants' VRFs" },
	{ "gateway: default-route not a boolean", GWREQ "      snat-address: 198.51.100.1\n  default-route: yes\n",
	  -EINVAL, ":11:18: gateway.default-route: yes is not a boolean (false, true)" },
	{ "gateway: default-route a list", GWREQ "      snat-address: 198.51.100.1\n  default-route: [true]\n",
	  -EINVAL, ":11:18: gateway.default-route: expected a single value, found a sequence" },
	{ "gateway: announce a nested list", GWREQ "      snat-address: 198.51.100.1\n  announce: [[198.51.100.0/24]]\n",
	  -EINVAL, ":11:14: gateway.announce[0]: expected a prefix A.B.C.D/N, found a sequence" },
	{ "gateway: announce not covering the SNAT address", GWREQ "      snat-address: 198.51.100.1\n"
	  "  announce: [198.51.100.128/25]\n", -EINVAL, ":11:13: gateway.announce: does not cover "
	  "tenants[0].snat-address 198.51.100.1 (the border would not send its traffic here)" },
	{ "gateway: announce not covering a floating IP", GWREQ "      snat-address: 198.51.100.1\n      floating-ips: "
	  "[{address: 203.0.113.1, private: 10.0.0.1}]\n  announce: [198.51.100.0/24]\n", -EINVAL,
	  ":12:13: gateway.announce: does not cover tenants[0].floating-ips[0] 203.0.113.1 (the border would not "
	  "send its traffic here)" },
	{ "gateway: bird without include-file", GWREQ "      snat-address: 198.51.100.1\n  bird:\n    control-socket: "
	  "/run/bird.ctl\n", -EINVAL, ":12:5: gateway.bird.include-file: required field is missing" },
	{ "gateway: bird with no value", GWREQ "      snat-address: 198.51.100.1\n  bird:\n", -EINVAL,
	  ":11:8: gateway.bird.include-file: required field is missing" },
	{ "gateway: bird include-file relative", GWREQ "      snat-address: 198.51.100.1\n  bird: {include-file: vr.conf}\n",
	  -EINVAL, ":11:24: gateway.bird.include-file: vr.conf is not an absolute path" },
	{ "gateway: bird control socket too long", GWREQ "      snat-address: 198.51.100.1\n  bird: {include-file: /a, "
	  "control-socket: /run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}\n",
	  -EINVAL, ":11:44: gateway.bird.control-socket: \"/run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" is longer than "
	  "107 bytes (the limit of a Unix socket address)" },
	/* YAML features that are refused. */
	{ "anchor", REQ "labels: &l\n  first: 16\n", -EINVAL, ":4:9: labels: anchors (&l) are not supported" },
	{ "alias", REQ "bpffs: *x\n", -EINVAL, ":4:8: bpffs: aliases (*x) are not supported" },
	{ "anchor and alias between fields", REQ "labels:\n  first: &n 100\n  last: *n\n", -EINVAL,
	  ":5:10: labels.first: anchors (&n) are not supported" },
	{ "alias bomb", "host: &a [x, x, x, x, x, x, x, x, x]\nlabels: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	  "bpffs: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n", -EINVAL, ":1:7: host: anchors (&a) are not supported" },
	{ "tag", REQ "bpffs: !!str /x\n", -EINVAL, ":4:8: bpffs: tags (tag:yaml.org,2002:str) are not supported" },
	{ "local tag", REQ "logging: !x {}\n", -EINVAL, ":4:10: logging: tags (!x) are not supported" },
	/* Malformed YAML: libyaml's own words, with its line and column. */
	{ "tab indentation", "host:\n\tunderlay-address: 192.0.2.1\n", -EINVAL,
	  ":2:1: invalid YAML: found character that cannot start any token (while scanning for the next token at "
	  "line 2, column 1)" },
	{ "unclosed quote", REQ "bpffs: \"/x\n", -EINVAL,
	  ":5:1: invalid YAML: found unexpected end of stream (while scanning a quoted scalar at line 4, column 8)" },
	{ "bad indentation", REQ " bpffs: /x\n", -EINVAL,
	  ":4:2: invalid YAML: did not find expected key (while parsing a block mapping at line 1, column 1)" },
	/* The scalar comes out of libyaml before the ':' after it is seen: the value is what is wrong first. */
	{ "two keys on one line", "host:\n  underlay-address: 192.0.2.1\n  fabric-device: eth0 bpffs: /x\n", -EINVAL,
	  ":3:18: host.fabric-device: \"eth0 bpffs\" is not a network device name (1..15 characters, no '/', ':' or "
	  "spaces)" },
	{ "unclosed flow mapping", REQ "labels: {first: 16\n", -EINVAL,
	  ":5:1: invalid YAML: did not find expected ',' or '}' (while parsing a flow mapping at line 4, column 9)" },
	{ "a bare - as a value", REQ "logging:\n  file: -\n", -EINVAL,
	  ":5:9: invalid YAML: block sequence entries are not allowed in this context" },
	{ "invalid UTF-8", REQ "bpffs: /\xff\n", -EINVAL, ": byte 66: invalid YAML: invalid leading UTF-8 octet" },
};

/* Loads path and expects want, and (when round) the same again after print and load. */
static void expect_config(const char *name, const char *path, const struct vr_agent_config *want, bool round)
{
	struct vr_agent_config got;
	char err[512], why[256];
	int ret;

	ret = vr_agent_config_load(path, &got, err, sizeof(err));
	if (ret)
		fail(name, "load returned %d: %s", ret, err);
	else if (!same_config(want, &got, why, sizeof(why)))
		fail(name, "%s", why);
	else if (round && !round_trip(&got, why, sizeof(why)))
		fail(name, "%s", why);
	else
		ok(name);
}

static void run_good(const struct good_case *t)
{
	struct vr_agent_config want;

	base(&want);
	t->set(&want);
	expect_config(t->name, write_tmp(t->yaml, strlen(t->yaml)), &want, true);
}

/* Loads text of len bytes and expects ret and the error "PATH" msg. */
static void expect_error(const char *name, const char *text, size_t len, int want_ret, const char *msg)
{
	struct vr_agent_config cfg;
	const char *path = write_tmp(text, len);
	char err[1024], want[1024];
	int ret;

	ret = vr_agent_config_load(path, &cfg, err, sizeof(err));
	snprintf(want, sizeof(want), "%s%s", path, msg);
	if (ret != want_ret)
		fail(name, "returned %d (%s), not %d", ret, err, want_ret);
	else if (strcmp(err, want))
		fail(name, "error is\n\t%s\nnot\n\t%s", err, want);
	else
		ok(name);
}

static void run_bad(const struct bad_case *t)
{
	expect_error(t->name, t->yaml, strlen(t->yaml), t->ret, t->msg);
}

static const char *slurp(const char *path);

/* An example file's header comment quotes the error an edit of it gives: the file with the nth (from 1)
 * occurrence of from made to must fail with exactly that error. */
static void expect_quoted_error(const char *name, const char *path, const char *from, int nth, const char *to,
				const char *quoted)
{
	const char *text = slurp(path), *at = text;
	char *changed = NULL;
	int len;

	for (int i = 0; at && i < nth; i++)
		at = strstr(i ? at + 1 : at, from);
	if (!text || !at || !strstr(text, quoted)) {
		fail(name, "cannot read %s, or it has no occurrence %d of \"%s\", or it no longer quotes %s", path, nth,
		     from, quoted);
		return;
	}
	len = asprintf(&changed, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	if (len < 0)
		abort();
	expect_error(name, changed, (size_t)len, -EINVAL, quoted);
	free(changed);
}

static void test_defaults(void)
{
	struct vr_agent_config c;
	char host[VR_AGENT_HOST_NAME_MAX + 1] = "";
	const char *name = "defaults";

	gethostname(host, sizeof(host) - 1);
	memset(&c, 0xa5, sizeof(c));
	vr_agent_config_defaults(&c);
	if (strcmp(c.host_name, host))
		fail(name, "host name %s, not %s", c.host_name, host);
	else if (c.host_ip || c.fabric[0] || c.n_controllers)
		fail(name, "underlay address, fabric device or controllers set");
	else if (c.label_first != 16 || c.label_last != 1048575)
		fail(name, "labels %u..%u", c.label_first, c.label_last);
	else if (strcmp(c.pin_dir, "/sys/fs/bpf/vrouter") || strcmp(c.port_socket, "/run/vrouter/agent.sock"))
		fail(name, "bpffs %s, socket %s", c.pin_dir, c.port_socket);
	else if (c.stale_timeout != 60 || c.log_level != VR_AGENT_LOG_INFO || c.log_file[0])
		fail(name, "stale timeout %u, log level %d, log file %s", c.stale_timeout, c.log_level, c.log_file);
	else if (c.n_encaps != 2 || c.encaps[0] != VR_ENCAP_UDP || c.encaps[1] != VR_ENCAP_GRE)
		fail(name, "tunnel encapsulations: %u of them, %u %u (expected udp, gre)", c.n_encaps, c.encaps[0],
		     c.encaps[1]);
	else
		ok(name);
}

/* The example files load as given, with the values their comments document. */
static void test_examples(void)
{
	struct vr_agent_config want, got;
	char err[512], why[256];
	const char *name;
	int ret;

	base(&want);
	want.n_controllers = 2;
	want.controllers[0] = (struct vr_agent_controller){ ip("192.0.2.100"), 5269, 90 };
	want.controllers[1] = (struct vr_agent_controller){ ip("192.0.2.101"), 5269, 90 };
	expect_config("example vrouter-agent.yaml: documented values", VR_EXAMPLES_DIR "/vrouter-agent.yaml", &want,
		      true);
	base(&want);
	expect_config("example vrouter-agent-minimal.yaml: every default",
		      VR_EXAMPLES_DIR "/vrouter-agent-minimal.yaml", &want, false);

	/* The demo's per-host examples: they must load as given, with their host and the demo's controller. */
	for (int hn = 1; hn <= 2; hn++) {
		char path[256], want_ip[32], want_name[8];

		snprintf(path, sizeof(path), VR_EXAMPLES_DIR "/vrouter-agent-h%d.yaml", hn);
		snprintf(want_ip, sizeof(want_ip), "198.18.%d.2", hn);
		snprintf(want_name, sizeof(want_name), "h%d", hn);
		name = hn == 1 ? "example vrouter-agent-h1.yaml: host h1, the demo's controller"
			       : "example vrouter-agent-h2.yaml: host h2, the demo's controller";
		ret = vr_agent_config_load(path, &got, err, sizeof(err));
		if (ret)
			fail(name, "load returned %d: %s", ret, err);
		else if (strcmp(got.host_name, want_name) || got.host_ip != ip(want_ip) || got.n_controllers != 1 ||
			 got.controllers[0].addr != ip("198.18.255.1") || got.controllers[0].port != 5269)
			fail(name, "unexpected host %s / %08x, %u controller(s)", got.host_name, ntohl(got.host_ip),
			     got.n_controllers);
		else if (!round_trip(&got, why, sizeof(why)))
			fail(name, "%s", why);
		else
			ok(name);
	}

	/* The error quoted in the example's header comment is the one its second controller's port gives. */
	expect_quoted_error("example vrouter-agent.yaml: the error its comment shows",
			    VR_EXAMPLES_DIR "/vrouter-agent.yaml", "    port: 5269", 2, "    port: 70000",
			    ":33:11: controllers[1].port: 70000 is not a port (1..65535)");
}

/* The gateway example: its documented values, and the error its header comment quotes. */
static void test_gateway_example(void)
{
	const char *path = VR_EXAMPLES_DIR "/vrouter-agent-gateway.yaml";
	struct vr_agent_config want;

	base(&want);
	strcpy(want.host_name, "gateway-1");
	want.host_ip = ip("192.0.2.10");
	want.n_controllers = 1;
	want.controllers[0] = (struct vr_agent_controller){ ip("192.0.2.100"), 5269, 90 };
	want.role = VR_AGENT_ROLE_GATEWAY;
	strcpy(want.gw.ext_dev, "eth1");
	gw_tenant(&want, "default-domain:tenant-a:net", 3, "198.51.100.1", 1024, 65535);
	gw_fip(&want, "198.51.100.10", "10.0.0.5");
	gw_tenant(&want, "default-domain:tenant-b:net", 4, "198.51.100.2", 0, 0);
	want.gw.announce_set = true;
	want.gw.n_announce = 1;
	want.gw.announce[0] = (struct vr_agent_prefix){ ip("198.51.100.0"), 24 };
	strcpy(want.gw.bird_include, "/etc/bird/vrouter-public.conf");
	strcpy(want.gw.bird_socket, "/run/bird/bird.ctl");
	expect_config("example vrouter-agent-gateway.yaml: documented values", path, &want, true);
	expect_quoted_error("example vrouter-agent-gateway.yaml: the error its comment shows", path,
			    "      vrf: 4\n", 1, "      vrf: 3\n", ":37:7: gateway.tenants[1]: vrf 3 is already tenants[0]");
}

/* The limits of the gateway section, with texts built to reach them. */
static void test_gateway_limits(void)
{
	size_t cap = 1 << 20, n;
	char *text = malloc(cap);
	char msg[256];
	struct vr_agent_config *c = malloc(sizeof(*c));
	char err[512];
	int ret;

	if (!text || !c)
		abort();
	n = (size_t)snprintf(text, cap, REQ "role: gateway\ngateway:\n  external-device: eth1\n  tenants:\n");
	for (unsigned int i = 0; i < VR_AGENT_GW_MAX_TENANTS; i++)
		n += (size_t)snprintf(text + n, cap - n, "    - {vn: t%u, vrf: %u, snat-address: 198.51.%u.%u}\n", i, i,
				      i / 250, i % 250 + 1);
	ret = vr_agent_config_load(write_tmp(text, n), c, err, sizeof(err));
	if (ret || c->gw.n_tenants != VR_AGENT_GW_MAX_TENANTS || c->gw.tenants[255].vrf_id != 255 ||
	    c->gw.tenants[255].snat_addr != ip("198.51.1.6"))
		fail("gateway: the most tenants", "returned %d (%s), %u tenants", ret, err, c->gw.n_tenants);
	else
		ok("gateway: the most tenants");
	n += (size_t)snprintf(text + n, cap - n, "    - {vn: one-more, vrf: 999, snat-address: 198.51.2.1}\n");
	snprintf(msg, sizeof(msg), ":%d:7: gateway.tenants[%d]: at most %d tenants are supported",
		 8 + VR_AGENT_GW_MAX_TENANTS, VR_AGENT_GW_MAX_TENANTS, VR_AGENT_GW_MAX_TENANTS);
	expect_error("gateway: one tenant too many", text, n, -EINVAL, msg);

	/* Floating IPs are counted over all tenants: two tenants share the table. */
	n = (size_t)snprintf(text, cap, REQ "role: gateway\ngateway:\n  external-device: eth1\n  tenants:\n"
			     "    - vn: a\n      vrf: 1\n      floating-ips:\n");
	for (unsigned int i = 0; i < VR_AGENT_GW_MAX_FIPS / 2; i++)
		n += (size_t)snprintf(text + n, cap - n, "        - {address: 198.%u.%u.1, private: 10.0.%u.%u}\n", 18 + i / 256,
				      i % 256, i / 256, i % 256);
	n += (size_t)snprintf(text + n, cap - n, "    - vn: b\n      vrf: 2\n      floating-ips:\n");
	for (unsigned int i = 0; i < VR_AGENT_GW_MAX_FIPS / 2; i++)
		n += (size_t)snprintf(text + n, cap - n, "        - {address: 203.%u.%u.1, private: 10.0.%u.%u}\n", i / 256,
				      i % 256, i / 256, i % 256);
	ret = vr_agent_config_load(write_tmp(text, n), c, err, sizeof(err));
	if (ret || c->gw.n_fips != VR_AGENT_GW_MAX_FIPS || c->gw.tenants[1].fip_first != VR_AGENT_GW_MAX_FIPS / 2 ||
	    c->gw.tenants[1].n_fips != VR_AGENT_GW_MAX_FIPS / 2 || c->gw.fips[VR_AGENT_GW_MAX_FIPS - 1].tenant != 1)
		fail("gateway: the most floating IPs", "returned %d (%s), %u floating IPs", ret, err, c->gw.n_fips);
	else
		ok("gateway: the most floating IPs");
	n += (size_t)snprintf(text + n, cap - n, "        - {address: 192.0.2.99, private: 10.1.0.1}\n");
	snprintf(msg, sizeof(msg), ":%d:11: gateway.tenants[1].floating-ips[%d]: at most %d floating IPs are supported "
		 "(all tenants together)", 8 + 3 + VR_AGENT_GW_MAX_FIPS + 3, VR_AGENT_GW_MAX_FIPS / 2, VR_AGENT_GW_MAX_FIPS);
	expect_error("gateway: one floating IP too many", text, n, -EINVAL, msg);

	n = (size_t)snprintf(text, cap, GWREQ "      snat-address: 198.51.100.1\n  external-prefixes:\n");
	for (unsigned int i = 0; i < VR_AGENT_GW_MAX_EXTERNAL; i++)
		n += (size_t)snprintf(text + n, cap - n, "    - 10.%u.%u.0/24\n", i / 256, i % 256);
	ret = vr_agent_config_load(write_tmp(text, n), c, err, sizeof(err));
	if (ret || c->gw.n_external != VR_AGENT_GW_MAX_EXTERNAL ||
	    c->gw.external[VR_AGENT_GW_MAX_EXTERNAL - 1].addr != ip("10.0.255.0") ||
	    c->gw.external[VR_AGENT_GW_MAX_EXTERNAL - 1].plen != 24)
		fail("gateway: the most external prefixes", "returned %d (%s), %u prefixes", ret, err,
		     c->gw.n_external);
	else
		ok("gateway: the most external prefixes");
	n += (size_t)snprintf(text + n, cap - n, "    - 10.1.0.0/24\n");
	snprintf(msg, sizeof(msg), ":%d:7: gateway.external-prefixes[%d]: at most %d prefixes are supported",
		 12 + VR_AGENT_GW_MAX_EXTERNAL, VR_AGENT_GW_MAX_EXTERNAL, VR_AGENT_GW_MAX_EXTERNAL);
	expect_error("gateway: one external prefix too many", text, n, -EINVAL, msg);
	free(text);
	free(c);
}

/* Reads a whole file (static buffer); NULL when it cannot. */
static const char *slurp(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static bool have_program(const char *name)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* The BIRD include file (agent/bird.c): exact text, atomic replacement only on change, valid BIRD 2 syntax
 * (`bird -p`), and `birdc configure` against a BIRD of our own on a private control socket (root). */
static void test_bird(void)
{
	static const char want_default[] =
		"# Written by vrouter-agent (role gateway): the tenants' public prefixes for the border router.\n"
		"# Rewritten by the agent; do not edit. Include it at the top level of bird.conf and export\n"
		"# `where proto = \"vr_public\"` to the border (the routes are blackholes in BIRD: the gateway's\n"
		"# datapath takes the packets on the external NIC before the host's routing sees them).\n"
		"protocol static vr_public {\n"
		"\tipv4;\n"
		"\troute 198.51.100.1/32 blackhole;\n"
		"\troute 198.51.100.10/32 blackhole;\n"
		"\troute 198.51.100.11/32 blackhole;\n"
		"\troute 203.0.113.7/32 blackhole;\n"
		"}\n";
	struct vr_agent_config *c = malloc(sizeof(*c));
	char path[300], conf[300], sock[300], pidf[300], cmd[1400], err[512], *text = NULL;
	const char *got;
	struct stat st1, st2;
	bool changed;
	size_t len;
	int ret;

	if (!c)
		abort();
	/* Default announce: each public address once (an SNAT address shared by two tenants too), in order. */
	base(c);
	set_gw_all(c);
	c->gw.announce_set = false;
	c->gw.n_announce = 0;
	if (vr_bird_render(&c->gw, &text, &len) || strcmp(text, want_default) || len != strlen(want_default))
		fail("bird: default announce, exact text", "got\n%s", text ? text : "(nothing)");
	else
		ok("bird: default announce, exact text");
	free(text);
	text = NULL;

	snprintf(path, sizeof(path), "%s/vr-public.conf", tmpdir);
	ret = vr_bird_write(path, want_default, strlen(want_default), &changed, err, sizeof(err));
	got = slurp(path);
	if (ret || !changed || !got || strcmp(got, want_default) || stat(path, &st1))
		fail("bird: first write", "returned %d (%s), changed %d", ret, err, changed);
	else
		ok("bird: first write");
	ret = vr_bird_write(path, want_default, strlen(want_default), &changed, err, sizeof(err));
	if (ret || changed || stat(path, &st2) || st1.st_ino != st2.st_ino)
		fail("bird: the same text is not rewritten", "returned %d, changed %d", ret, changed);
	else
		ok("bird: the same text is not rewritten");

	/* The given announce list replaces the addresses; the file is replaced (a new inode), no temporary left. */
	set_gw_all(c);
	if (vr_bird_render(&c->gw, &text, &len) || !strstr(text, "\tipv4;\n\troute 198.51.100.0/24 blackhole;\n"
							       "\troute 203.0.113.7/32 blackhole;\n}\n")) {
		fail("bird: announce list", "got\n%s", text ? text : "(nothing)");
	} else {
		ret = vr_bird_write(path, text, len, &changed, err, sizeof(err));
		snprintf(cmd, sizeof(cmd), "%s.tmp", path);
		got = slurp(path);
		if (ret || !changed || !got || strcmp(got, text) || stat(path, &st2) || st1.st_ino == st2.st_ino ||
		    !access(cmd, F_OK))
			fail("bird: announce list", "returned %d (%s), changed %d", ret, err, changed);
		else
			ok("bird: announce list replaces the file atomically");
	}

	snprintf(cmd, sizeof(cmd), "%s/no-such-dir/vr.conf", tmpdir);
	ret = vr_bird_write(cmd, "x", 1, &changed, err, sizeof(err));
	if (ret != -ENOENT || changed || !strstr(err, "no-such-dir/vr.conf.tmp: No such file or directory"))
		fail("bird: unwritable path", "returned %d: %s", ret, err);
	else
		ok("bird: unwritable path");

	if (!have_program("bird") || !have_program("birdc")) {
		printf("skip bird: syntax and birdc configure: bird/birdc not installed\n");
		skipped++;
		goto out;
	}
	/* The file as the operator's bird.conf includes it (README). */
	snprintf(conf, sizeof(conf), "%s/bird.conf", tmpdir);
	snprintf(cmd, sizeof(cmd), "router id 192.0.2.1;\ninclude \"%s\";\n"
		 "protocol bgp border { disabled; local as 64512; neighbor 192.0.2.254 as 64496; ipv4 { import none; "
		 "export where proto = \"vr_public\"; }; }\n", path);
	if (vr_bird_write(conf, cmd, strlen(cmd), &changed, err, sizeof(err)))
		abort();
	snprintf(cmd, sizeof(cmd), "bird -p -c %s 2>&1", conf);
	if (system(cmd))
		fail("bird: the include file parses (bird -p)", "%s failed", cmd);
	else
		ok("bird: the include file parses (bird -p)");
	if (geteuid() != 0) {
		printf("skip bird: birdc configure: needs root to run bird\n");
		skipped++;
		goto out;
	}
	/* A BIRD of our own: private socket and pid file, no kernel or device protocol, the BGP session disabled:
	 * it touches nothing outside the test's folder. */
	snprintf(sock, sizeof(sock), "%s/bird.ctl", tmpdir);
	snprintf(pidf, sizeof(pidf), "%s/bird.pid", tmpdir);
	snprintf(cmd, sizeof(cmd), "bird -c %s -s %s -P %s", conf, sock, pidf);
	if (system(cmd)) {
		fail("bird: birdc configure", "cannot start %s", cmd);
		goto out;
	}
	for (int i = 0; i < 50 && access(sock, F_OK); i++)
		usleep(100000);
	free(text);
	text = NULL;
	base(c);
	set_gw_min(c);
	if (vr_bird_render(&c->gw, &text, &len) || vr_bird_write(path, text, len, &changed, err, sizeof(err)))
		abort();
	ret = vr_bird_configure(sock, err, sizeof(err));
	snprintf(cmd, sizeof(cmd), "birdc -s %s show route protocol vr_public 2>&1", sock);
	{
		FILE *p = popen(cmd, "r");
		char out[2048] = "";
		size_t n = p ? fread(out, 1, sizeof(out) - 1, p) : 0;

		if (p)
			pclose(p);
		out[n] = '\0';
		if (ret)
			fail("bird: birdc configure takes the new prefixes", "returned %d: %s", ret, err);
		else if (!strstr(out, "198.51.100.1/32") || !strstr(out, "blackhole") || strstr(out, "198.51.100.0/24") ||
			 strstr(out, "203.0.113.7"))
			fail("bird: birdc configure takes the new prefixes", "BIRD has\n%s", out);
		else
			ok("bird: birdc configure takes the new prefixes");
	}
	/* A broken file: BIRD refuses it (and keeps the old configuration); birdc's words come back. */
	if (vr_bird_write(path, "protocol static vr_public { ipv4; route nonsense; }\n", 52, &changed, err,
			  sizeof(err)))
		abort();
	ret = vr_bird_configure(sock, err, sizeof(err));
	if (ret != -EIO || !strstr(err, "birdc: ") || !strstr(err, "vr-public.conf:1:"))
		fail("bird: a configuration BIRD refuses", "returned %d: %s", ret, err);
	else
		ok("bird: a configuration BIRD refuses");
	snprintf(cmd, sizeof(cmd), "%s/none.ctl", tmpdir);
	ret = vr_bird_configure(cmd, err, sizeof(err));
	if (ret != -EIO || !strstr(err, "birdc: Unable to connect to server control socket") || !strstr(err, "none.ctl"))
		fail("bird: no BIRD on the socket", "returned %d: %s", ret, err);
	else
		ok("bird: no BIRD on the socket");
	got = slurp(pidf);
	if (got && atoi(got) > 1)
		kill(atoi(got), SIGTERM);
out:
	free(text);
	free(c);
}

/* Exact --print-config output. */
static void test_print(void)
{
	static const char want[] =
		"# vrouter-agent configuration in effect (defaults included)\n"
		"host:\n"
		"  name: compute-7.example_net\n"
		"  underlay-address: 10.0.0.1\n"
		"  fabric-device: ens3\n"
		"controllers:\n"
		"  - address: 10.0.0.100\n"
		"    port: 5269\n"
		"    hold-time: 90\n"
		"  - address: 10.0.0.100\n"
		"    port: 5270\n"
		"    hold-time: 3\n"
		"tunnel-encapsulation: [gre]\n"
		"labels:\n"
		"  first: 1000\n"
		"  last: 1999\n"
		"bpffs: /sys/fs/bpf/vr1\n"
		"port-api:\n"
		"  socket: /run/vr1.sock\n"
		"graceful-restart:\n"
		"  stale-timeout: 3600\n"
		"logging:\n"
		"  level: debug\n"
		"  file: /var/log/vrouter-agent.log\n"
		"role: vrouter\n";
	struct vr_agent_config c;
	char *text = NULL;
	size_t size = 0;
	FILE *f;

	base(&c);
	set_all(&c);
	f = open_memstream(&text, &size);
	if (!f || vr_agent_config_print(f, &c) || fclose(f))
		fail("print: exact output", "print failed");
	else if (strcmp(text, want))
		fail("print: exact output", "got\n%s", text);
	else
		ok("print: exact output");
	free(text);

	text = NULL;
	vr_agent_config_defaults(&c);
	strcpy(c.host_name, "h");
	f = open_memstream(&text, &size);
	if (!f || vr_agent_config_print(f, &c) || fclose(f))
		fail("print: unset required fields", "print failed");
	else if (!strstr(text, "\n  # underlay-address: not set\n  # fabric-device: not set\ncontrollers: []\n") ||
		 !strstr(text, "\n  file: stderr\n"))
		fail("print: unset required fields", "got\n%s", text);
	else
		ok("print: unset required fields");
	free(text);
}

static void test_files(void)
{
	struct vr_agent_config c;
	char err[512], want[512], small[16];
	const char *path;
	int ret;

	snprintf(want, sizeof(want), "%s/missing.yaml", tmpdir);
	ret = vr_agent_config_load(want, &c, err, sizeof(err));
	strcat(want, ": No such file or directory");
	if (ret != -ENOENT || strcmp(err, want))
		fail("file missing", "returned %d: %s", ret, err);
	else
		ok("file missing");

	ret = vr_agent_config_load(tmpdir, &c, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: Is a directory", tmpdir);
	if (ret != -EISDIR || strcmp(err, want))
		fail("a directory", "returned %d: %s", ret, err);
	else
		ok("a directory");

	expect_error("NUL byte", REQ "bpffs: /a\0b\n", sizeof(REQ "bpffs: /a\0b\n") - 1, -EINVAL,
		     ": byte 67: invalid YAML: control characters are not allowed");

	/* A short buffer gets a cut, terminated message; none at all still gives the code. */
	path = write_tmp(REQ "hots: x\n", strlen(REQ "hots: x\n"));
	memset(small, 'x', sizeof(small));
	ret = vr_agent_config_load(path, &c, small, 8);
	if (ret != -EINVAL || strlen(small) != 7 || strncmp(small, path, 7) || small[8] != 'x')
		fail("short error buffer", "returned %d: %.16s", ret, small);
	else if ((ret = vr_agent_config_load(path, &c, NULL, 0)) != -EINVAL)
		fail("no error buffer", "returned %d", ret);
	else
		ok("short and absent error buffers");
}

/* Input that would cost memory or stack if it were followed: each is refused early and cleanly. */
static void test_hostile(void)
{
	const size_t max = VR_AGENT_CONFIG_MAX_BYTES, deep = 200000;
	char *text = malloc(max + 2 * deep + 64);
	char msg[256];
	size_t n;

	if (!text)
		abort();

	/* Exactly the limit loads; one byte more does not. */
	n = strlen(REQ);
	memcpy(text, REQ, n);
	memset(text + n, '#', max - n - 1);
	text[max - 1] = '\n';
	{
		struct vr_agent_config c;
		char err[512];
		int ret = vr_agent_config_load(write_tmp(text, max), &c, err, sizeof(err));

		if (ret)
			fail("a file of exactly the size limit", "returned %d: %s", ret, err);
		else
			ok("a file of exactly the size limit");
	}
	text[max - 1] = '#';
	text[max] = '\n';
	snprintf(msg, sizeof(msg), ": larger than %zu bytes", max);
	expect_error("a file one byte over the size limit", text, max + 1, -EFBIG, msg);

	/* Deep nesting, in flow and in block style, at the top and under keys. */
	memset(text, '[', deep);
	expect_error("200000 nested sequences at the top", text, deep, -EINVAL,
		     ":1:1: the top level must be a mapping (\"key: value\" lines), found a sequence");
	n = (size_t)sprintf(text, "%s", REQ "controllers: ");
	memset(text + n, '[', deep);
	expect_error("200000 nested sequences in controllers", text, n + deep, -EINVAL,
		     ":4:15: controllers[0]: expected a mapping, found a sequence");
	n = (size_t)sprintf(text, "%s", REQ "logging: ");
	for (size_t i = 0; i < deep / 4; i++)
		n += (size_t)sprintf(text + n, "{a: ");
	expect_error("50000 nested mappings in logging", text, n, -EINVAL,
		     ":4:11: logging.a: unknown key (expected level, file)");
	n = (size_t)sprintf(text, "%s", REQ "labels:\n  first:\n");
	for (size_t i = 0; i < 1000; i++)
		n += (size_t)sprintf(text + n, "%*s- \n", (int)(4 + i), "");
	expect_error("1000 nested block sequences in a value", text, n, -EINVAL,
		     ":6:5: labels.first: expected a single value, found a sequence");

	/* A long single line and a long scalar, under the size limit. */
	n = (size_t)sprintf(text, "%s", REQ "bpffs: /");
	memset(text + n, 'a', max - n - 2);
	n = max - 1;
	text[n++] = '\n';
	expect_error("a scalar of almost 1 MiB", text, n, -EINVAL,
		     ":4:8: bpffs: \"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" is longer than 255 bytes");
	n = (size_t)sprintf(text, "%s", REQ);
	memset(text + n, 'k', max - n - 10);
	snprintf(msg, sizeof(msg), ":4:%zu: invalid YAML: could not find expected ':' (while scanning a simple key at "
		 "line 4, column 1)", max - n - 10 + 1);
	n = max - 10;
	n += (size_t)sprintf(text + n, ": x\n");
	expect_error("a key of almost 1 MiB", text, n, -EINVAL, msg);

	/* The classic billion laughs, as published: refused at its first anchor, nothing expanded. */
	n = (size_t)sprintf(text, "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
	for (int c = 'b'; c <= 'i'; c++)
		n += (size_t)sprintf(text + n, "%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", c, c, c - 1, c - 1,
				     c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1);
	expect_error("billion laughs", text, n, -EINVAL,
		     ":1:1: a: unknown key (expected host, controllers, tunnel-encapsulation, labels, bpffs, port-api, "
		     "graceful-restart, logging, role, gateway)");
	free(text);
}

/* A pipe is not measured up front: the reader stops at the limit. */
static void test_pipe(void)
{
	const char *name = "an endless pipe";
	struct vr_agent_config c;
	char path[64], err[512], want[128];
	int fds[2], ret, status;
	pid_t pid;

	if (pipe(fds)) {
		fail(name, "pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		static const char line[] = "# a comment line that never ends the file\n";

		close(fds[0]);
		for (;;)
			if (write(fds[1], line, sizeof(line) - 1) < 0)
				_exit(0);
	}
	close(fds[1]);
	snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
	ret = vr_agent_config_load(path, &c, err, sizeof(err));
	close(fds[0]);
	waitpid(pid, &status, 0);
	snprintf(want, sizeof(want), "%s: larger than %d bytes", path, VR_AGENT_CONFIG_MAX_BYTES);
	if (ret != -EFBIG || strcmp(err, want))
		fail(name, "returned %d: %s", ret, err);
	else
		ok(name);
}

/* Without host.name the system's host name is used, and checked like a configured one. Needs a UTS
 * namespace of its own, so root. */
static void test_hostname_fallback(void)
{
	static const struct {
		const char *name, *system, *msg;
	} cases[] = {
		{ "host name from gethostname()", "compute-9", NULL },
		{ "unusable system host name", "bad name",
		  ":2:3: host.name: not given, and the system's host name \"bad name\" is not usable (letters, digits, "
		  "'-', '.', '_', at most 64, not starting with '-' or '.')" },
		{ "empty system host name", "", ":2:3: host.name: not given, and gethostname() did not give one either" },
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = write_tmp(REQ, strlen(REQ));
		int fds[2], status;
		char report[1200] = "";
		ssize_t n;
		pid_t pid;

		if (geteuid() != 0) {
			printf("skip %s: needs root for a UTS namespace\n", cases[i].name);
			skipped++;
			continue;
		}
		if (pipe(fds))
			abort();
		pid = fork();
		if (pid == 0) {
			struct vr_agent_config c;
			char err[1024], want[1024];
			int ret;

			close(fds[0]);
			if (unshare(CLONE_NEWUTS) || sethostname(cases[i].system, strlen(cases[i].system))) {
				dprintf(fds[1], "skip: %s", strerror(errno));
				_exit(0);
			}
			ret = vr_agent_config_load(path, &c, err, sizeof(err));
			snprintf(want, sizeof(want), "%s%s", path, cases[i].msg ? cases[i].msg : "");
			if (!cases[i].msg && ret)
				dprintf(fds[1], "returned %d: %s", ret, err);
			else if (!cases[i].msg && strcmp(c.host_name, cases[i].system))
				dprintf(fds[1], "host name %s", c.host_name);
			else if (cases[i].msg && (ret != -EINVAL || strcmp(err, want)))
				dprintf(fds[1], "returned %d: %s", ret, err);
			_exit(0);
		}
		close(fds[1]);
		n = read(fds[0], report, sizeof(report) - 1);
		close(fds[0]);
		waitpid(pid, &status, 0);
		report[n > 0 ? n : 0] = '\0';
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			fail(cases[i].name, "child died (status %d)", status);
		else if (!strncmp(report, "skip: ", 6)) {
			printf("skip %s: %s\n", cases[i].name, report + 6);
			skipped++;
		} else if (report[0])
			fail(cases[i].name, "%s", report);
		else
			ok(cases[i].name);
	}
}

int main(void)
{
	char cmd[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_defaults();
	test_examples();
	test_gateway_example();
	test_gateway_limits();
	test_bird();
	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++)
		run_good(&good_cases[i]);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		run_bad(&bad_cases[i]);
	test_print();
	test_files();
	test_hostile();
	test_pipe();
	test_hostname_fallback();

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", tmpdir);
	if (skipped)
		printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	else
		printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
