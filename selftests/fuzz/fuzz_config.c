/* libFuzzer target: the vrouter-agent configuration loader (agent/config.c, libyaml) on arbitrary files.
 *
 * vr_agent_config_load() reads a path, so each input is written to a memfd and loaded as /proc/self/fd/N, the
 * way the agent loads /etc/vrouter/agent.yaml. Then:
 *  - a refused file: the code is one the header documents (-EINVAL, -EFBIG, -ENOMEM), and the explanation is one
 *    non-empty line that starts with the file name (for -EINVAL, "FILE:LINE:COL: " or "FILE: byte N: ");
 *  - an accepted file: every field is within the limits config.h and the schema give (unicast addresses,
 *    ports, hold times, the label range, absolute paths that fit, distinct encapsulations, ...), and
 *    vr_agent_config_print() writes YAML that loads back to the same configuration (its documented promise).
 * A broken promise aborts, which libFuzzer reports as a crash with the input saved. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mman.h>

#include "config.h"
#include "libvrouter.h"
#include "vr_consts.h"

#define FUZZ_NAME "fuzz_config"
#include "fuzz.h"

static int in_fd = -1, back_fd = -1;
static char in_path[64], back_path[64];
static bool verbose;

static void put_file(int fd, const void *data, size_t size)
{
	if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
		perror("memfd");
		abort();
	}
}

/* A string field: terminated inside its array. */
static size_t field_len(const char *s, size_t size, const char *what)
{
	size_t n = strnlen(s, size);

	CHECK(n < size, "%s is not terminated inside its %zu bytes", what, size);
	return n;
}

static bool unicast(__be32 a)
{
	return a && (ntohl(a) >> 28) < 0xe;
}

static void check_path(const char *s, size_t size, const char *what, bool may_be_empty)
{
	size_t n = field_len(s, size, what);

	if (!n) {
		CHECK(may_be_empty, "%s is empty", what);
		return;
	}
	CHECK(s[0] == '/', "%s '%s' is not absolute", what, s);
	for (size_t i = 0; i < n; i++)
		CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f, "%s has control character 0x%02x", what,
		      (unsigned char)s[i]);
}

/* The gateway section: present exactly with role gateway, within its limits, tenants and public addresses
 * distinct, every floating IP inside its tenant's slice. */
static void check_gateway(const struct vr_agent_config *c)
{
	const struct vr_agent_gateway *g = &c->gw;
	unsigned int fips = 0;

	CHECK(c->role == VR_AGENT_ROLE_VROUTER || c->role == VR_AGENT_ROLE_GATEWAY, "role %d", c->role);
	if (c->role != VR_AGENT_ROLE_GATEWAY) {
		CHECK(!g->n_tenants && !g->n_fips && !g->ext_dev[0], "gateway fields set with role vrouter");
		return;
	}
	CHECK(g->ext_dev[0] && strcmp(g->ext_dev, c->fabric), "external-device '%s'", g->ext_dev);
	CHECK(g->n_tenants >= 1 && g->n_tenants <= VR_AGENT_GW_MAX_TENANTS, "%u tenants", g->n_tenants);
	CHECK(g->n_fips <= VR_AGENT_GW_MAX_FIPS && g->n_announce <= VR_AGENT_GW_MAX_ANNOUNCE, "gateway limits");
	for (unsigned int i = 0; i < g->n_tenants; i++) {
		const struct vr_agent_tenant *t = &g->tenants[i];

		CHECK(t->vrf_id < VR_MAX_VRFS && t->vn[0], "tenants[%u] vrf %u vn '%s'", i, t->vrf_id, t->vn);
		CHECK(t->snat_addr || t->n_fips, "tenants[%u] has no way out", i);
		CHECK(!t->snat_addr || unicast(t->snat_addr), "tenants[%u] snat-address", i);
		CHECK(t->port_min <= t->port_max && (!t->port_min || t->snat_addr), "tenants[%u] snat-ports", i);
		CHECK(t->fip_first == fips && t->fip_first + t->n_fips <= g->n_fips, "tenants[%u] floating IP slice", i);
		fips += t->n_fips;
		for (unsigned int j = 0; j < i; j++)
			CHECK(g->tenants[j].vrf_id != t->vrf_id && strcmp(g->tenants[j].vn, t->vn),
			      "tenants[%u] and [%u] are the same VRF", j, i);
	}
	CHECK(fips == g->n_fips, "floating IPs outside every tenant");
	for (unsigned int i = 0; i < g->n_fips; i++) {
		CHECK(unicast(g->fips[i].public_ip) && unicast(g->fips[i].private_ip) && g->fips[i].tenant < g->n_tenants,
		      "floating IP %u", i);
		for (unsigned int j = 0; j < i; j++)
			CHECK(g->fips[j].public_ip != g->fips[i].public_ip, "floating IPs %u and %u are the same", j, i);
		for (unsigned int t = 0; t < g->n_tenants; t++)
			CHECK(g->tenants[t].snat_addr != g->fips[i].public_ip, "floating IP %u is an SNAT address", i);
	}
	if (g->bird_include[0])
		check_path(g->bird_include, sizeof(g->bird_include), "gateway.bird.include-file", false);
	if (g->bird_socket[0])
		check_path(g->bird_socket, sizeof(g->bird_socket), "gateway.bird.control-socket", false);
}

static void check_config(const struct vr_agent_config *c)
{
	size_t n;

	n = field_len(c->host_name, sizeof(c->host_name), "host.name");
	CHECK(n >= 1 && n <= VR_AGENT_HOST_NAME_MAX && c->host_name[0] != '-' && c->host_name[0] != '.',
	      "host.name '%s'", c->host_name);
	for (size_t i = 0; i < n; i++)
		CHECK(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._", c->host_name[i]),
		      "host.name '%s' has byte 0x%02x", c->host_name, (unsigned char)c->host_name[i]);
	CHECK(unicast(c->host_ip), "host.underlay-address %#x is not unicast", ntohl(c->host_ip));
	n = field_len(c->fabric, sizeof(c->fabric), "host.fabric-device");
	CHECK(n >= 1 && n < IFNAMSIZ && strcmp(c->fabric, ".") && strcmp(c->fabric, ".."), "fabric-device '%s'",
	      c->fabric);
	for (size_t i = 0; i < n; i++)
		CHECK(c->fabric[i] > 0x20 && c->fabric[i] < 0x7f && c->fabric[i] != '/' && c->fabric[i] != ':',
		      "fabric-device has byte 0x%02x", (unsigned char)c->fabric[i]);
	CHECK(c->n_controllers <= VR_AGENT_MAX_CONTROLLERS, "%u controllers", c->n_controllers);
	for (unsigned int i = 0; i < c->n_controllers; i++) {
		const struct vr_agent_controller *k = &c->controllers[i];

		CHECK(unicast(k->addr), "controllers[%u].address %#x", i, ntohl(k->addr));
		CHECK(k->port >= 1, "controllers[%u].port 0", i);
		CHECK(k->hold_time >= VR_AGENT_HOLD_TIME_MIN && k->hold_time <= VR_AGENT_HOLD_TIME_MAX,
		      "controllers[%u].hold-time %u", i, k->hold_time);
		for (unsigned int j = 0; j < i; j++)
			CHECK(c->controllers[j].addr != k->addr || c->controllers[j].port != k->port,
			      "controllers[%u] and [%u] are the same", j, i);
	}
	CHECK(c->label_first >= VR_LABEL_MIN && c->label_last <= VR_MAX_LABELS - 1 && c->label_first <= c->label_last,
	      "labels %u..%u", c->label_first, c->label_last);
	check_path(c->pin_dir, sizeof(c->pin_dir), "bpffs", false);
	check_path(c->port_socket, sizeof(c->port_socket), "port-api.socket", false);
	check_path(c->log_file, sizeof(c->log_file), "logging.file", true);
	CHECK(c->stale_timeout >= 1 && c->stale_timeout <= VR_AGENT_STALE_TIMEOUT_MAX, "stale-timeout %u",
	      c->stale_timeout);
	CHECK((unsigned int)c->log_level <= VR_AGENT_LOG_DEBUG, "log level %d", c->log_level);
	CHECK(strcmp(vr_agent_log_level_name(c->log_level), "?"), "log level without a name");
	CHECK(c->n_encaps >= 1 && c->n_encaps <= VR_AGENT_MAX_ENCAPS, "%u encapsulations", c->n_encaps);
	for (unsigned int i = 0; i < c->n_encaps; i++) {
		CHECK(c->encaps[i] == VR_ENCAP_UDP || c->encaps[i] == VR_ENCAP_GRE, "encapsulation %u", c->encaps[i]);
		for (unsigned int j = 0; j < i; j++)
			CHECK(c->encaps[j] != c->encaps[i], "encapsulation listed twice");
	}
	check_gateway(c);
}

static void same_config(const struct vr_agent_config *a, const struct vr_agent_config *b, const char *text)
{
#define SAME(cond, what) CHECK(cond, "print -> load changed %s; the printed file:\n%s", what, text)
	SAME(!strcmp(a->host_name, b->host_name), "host.name");
	SAME(a->host_ip == b->host_ip, "host.underlay-address");
	SAME(!strcmp(a->fabric, b->fabric), "host.fabric-device");
	SAME(a->n_controllers == b->n_controllers, "the number of controllers");
	for (unsigned int i = 0; i < a->n_controllers; i++)
		SAME(a->controllers[i].addr == b->controllers[i].addr && a->controllers[i].port == b->controllers[i].port &&
		     a->controllers[i].hold_time == b->controllers[i].hold_time, "a controller");
	SAME(a->n_encaps == b->n_encaps && !memcmp(a->encaps, b->encaps, a->n_encaps), "tunnel-encapsulation");
	SAME(a->label_first == b->label_first && a->label_last == b->label_last, "labels");
	SAME(!strcmp(a->pin_dir, b->pin_dir), "bpffs");
	SAME(!strcmp(a->port_socket, b->port_socket), "port-api.socket");
	SAME(a->stale_timeout == b->stale_timeout, "graceful-restart.stale-timeout");
	SAME(a->log_level == b->log_level, "logging.level");
	SAME(!strcmp(a->log_file, b->log_file), "logging.file");
	SAME(a->role == b->role, "role");
	SAME(!strcmp(a->gw.ext_dev, b->gw.ext_dev), "gateway.external-device");
	SAME(a->gw.timeout_tcp == b->gw.timeout_tcp && a->gw.timeout_tcp_transitory == b->gw.timeout_tcp_transitory &&
	     a->gw.timeout_udp == b->gw.timeout_udp && a->gw.timeout_icmp == b->gw.timeout_icmp, "gateway.timeouts");
	SAME(a->gw.n_tenants == b->gw.n_tenants && a->gw.n_fips == b->gw.n_fips, "the number of tenants or floating IPs");
	for (unsigned int i = 0; i < a->gw.n_tenants; i++)
		SAME(!strcmp(a->gw.tenants[i].vn, b->gw.tenants[i].vn) && a->gw.tenants[i].vrf_id == b->gw.tenants[i].vrf_id &&
		     a->gw.tenants[i].snat_addr == b->gw.tenants[i].snat_addr &&
		     a->gw.tenants[i].port_min == b->gw.tenants[i].port_min &&
		     a->gw.tenants[i].port_max == b->gw.tenants[i].port_max &&
		     a->gw.tenants[i].fip_first == b->gw.tenants[i].fip_first &&
		     a->gw.tenants[i].n_fips == b->gw.tenants[i].n_fips, "a tenant");
	for (unsigned int i = 0; i < a->gw.n_fips; i++)
		SAME(a->gw.fips[i].public_ip == b->gw.fips[i].public_ip && a->gw.fips[i].private_ip == b->gw.fips[i].private_ip &&
		     a->gw.fips[i].tenant == b->gw.fips[i].tenant, "a floating IP");
	SAME(a->gw.announce_set == b->gw.announce_set && a->gw.n_announce == b->gw.n_announce &&
	     !memcmp(a->gw.announce, b->gw.announce, a->gw.n_announce * sizeof(a->gw.announce[0])), "gateway.announce");
	SAME(!strcmp(a->gw.bird_include, b->gw.bird_include) && !strcmp(a->gw.bird_socket, b->gw.bird_socket),
	     "gateway.bird");
#undef SAME
}

static void check_error(int rc, const char *err, size_t errlen, const char *path)
{
	size_t n = strnlen(err, errlen), plen = strlen(path);

	CHECK(rc == -EINVAL || rc == -EFBIG || rc == -ENOMEM, "load returned %d (%s)", rc, err);
	CHECK(n < errlen, "the error is not terminated");
	CHECK(n > plen && !strncmp(err, path, plen), "the error does not start with the file name: %s", err);
	/* One line, whatever the file held (libyaml passes escaped control characters through in keys). */
	CHECK(!strpbrk(err, "\n\r"), "the error is more than one line: %s", err);
	if (rc == -EINVAL) {
		const char *p = err + plen;

		CHECK((p[0] == ':' && p[1] >= '1' && p[1] <= '9') || !strncmp(p, ": byte ", 7),
		      "an -EINVAL error without a position: %s", err);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	verbose = getenv("FUZZ_VERBOSE") && *getenv("FUZZ_VERBOSE") == '1';
	in_fd = memfd_create("fuzz-config", MFD_CLOEXEC);
	back_fd = memfd_create("fuzz-config-printed", MFD_CLOEXEC);
	if (in_fd < 0 || back_fd < 0) {
		perror("memfd_create");
		abort();
	}
	snprintf(in_path, sizeof(in_path), "/proc/self/fd/%d", in_fd);
	snprintf(back_path, sizeof(back_path), "/proc/self/fd/%d", back_fd);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vr_agent_config cfg, back;
	char err[1024], *text = NULL;
	size_t text_len = 0;
	FILE *f;
	int rc;

	put_file(in_fd, data, size);
	memset(err, 0x5a, sizeof(err));
	rc = vr_agent_config_load(in_path, &cfg, err, sizeof(err));
	if (verbose)
		fprintf(stderr, "load: %d %s\n", rc, rc ? err : "");
	if (rc) {
		check_error(rc, err, sizeof(err), in_path);
		/* A small buffer gets the same line cut short, still terminated. */
		char small[24];

		memset(small, 0x5a, sizeof(small));
		CHECK(vr_agent_config_load(in_path, &cfg, small, sizeof(small)) == rc, "a second load differs");
		CHECK(strnlen(small, sizeof(small)) < sizeof(small) && !strncmp(small, err, strlen(small)),
		      "the error cut to %zu bytes: '%.*s' vs '%s'", sizeof(small), (int)sizeof(small), small, err);
		return 0;
	}
	CHECK(err[0] == '\0', "success with an error text: %s", err);
	check_config(&cfg);

	f = open_memstream(&text, &text_len);
	CHECK(f, "open_memstream");
	CHECK(vr_agent_config_print(f, &cfg) == 0, "print failed");
	CHECK(fclose(f) == 0, "print: fclose");
	if (verbose)
		fprintf(stderr, "%s", text);
	put_file(back_fd, text, text_len);
	rc = vr_agent_config_load(back_path, &back, err, sizeof(err));
	CHECK(rc == 0, "the printed configuration does not load: %s\n%s", err, text);
	same_config(&cfg, &back, text);
	free(text);
	return 0;
}
