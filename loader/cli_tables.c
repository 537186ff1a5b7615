/* vrouterctl vrf / vif / route / label: the forwarding tables. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

/* ---- vrf ---- */

static int vrf_add(int argc, char **argv)
{
	struct cli_kv kv[] = { { .key = "label" } };
	struct vr_handle h;
	__u32 id, label = 0;
	int rc;

	if (argc < 1)
		return cli_usage("vrf add: missing VRF id");
	if ((rc = cli_arg_u32("vrf", argv[0], VR_MAX_VRFS - 1, &id)) || (rc = cli_parse_kv(argc - 1, argv + 1, kv, 1)))
		return rc;
	if (kv[0].seen && (rc = cli_arg_u32("label", kv[0].val, VR_MAX_LABELS - 1, &label)))
		return rc;
	if (kv[0].seen && label < VR_LABEL_MIN)
		return cli_usage("label: %u is reserved (labels start at %u)", label, VR_LABEL_MIN);
	if ((rc = cli_open(&h)))
		return rc;
	if (vr_vrf_add(&h, id, label))
		rc = cli_fail("vrf add");
	vr_close(&h);
	return rc;
}

static int vrf_del(int argc, char **argv)
{
	struct vr_handle h;
	__u32 id;
	int rc;

	if (argc != 1)
		return cli_usage("vrf del: expected exactly one VRF id");
	if ((rc = cli_arg_u32("vrf", argv[0], VR_MAX_VRFS - 1, &id)))
		return rc;
	if ((rc = cli_open(&h)))
		return rc;
	if (vr_vrf_del(&h, id))
		rc = cli_fail("vrf del");
	vr_close(&h);
	return rc;
}

static int vrf_print(const struct vr_vrf_info *v, void *arg)
{
	(void)arg;
	if (cli.json) {
		jw_obj_begin(NULL);
		jw_u64("vrf", v->vrf_id);
		jw_u64("routes", v->routes);
		jw_u64("vifs", v->vifs);
		jw_u64("label", v->label);
		jw_obj_end();
	} else {
		printf("%-6u %-8u %-6u %s%.0u\n", v->vrf_id, v->routes, v->vifs, v->label ? "" : "-", v->label);
	}
	return 0;
}

static int vrf_list(int argc, char **argv)
{
	struct vr_handle h;
	int rc;

	(void)argv;
	if (argc)
		return cli_usage("vrf list takes no arguments");
	if ((rc = cli_open(&h)))
		return rc;
	if (cli.json)
		jw_arr_begin(NULL);
	else
		printf("%-6s %-8s %-6s %s\n", "vrf", "routes", "vifs", "label");
	rc = vr_vrf_foreach(&h, vrf_print, NULL) ? cli_fail("vrf list") : 0;
	if (cli.json) {
		jw_arr_end();
		jw_finish();
	}
	vr_close(&h);
	return rc;
}

int cmd_vrf(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "add", vrf_add }, { "del", vrf_del }, { "list", vrf_list }, { "show", vrf_list }, { NULL, NULL },
	};
	return cli_dispatch("vrf", cmds, argc, argv);
}

/* ---- vif ---- */

static int vif_add(int argc, char **argv)
{
	struct cli_kv kv[] = { { .key = "vrf" }, { .key = "mac" },   { .key = "ip" },	{ .key = "gw" },
			       { .key = "mtu" }, { .key = "label" }, { .key = "mode" }, { .key = "ip6" },
			       { .key = "gw6" } };
	struct vr_vif_spec spec = {};
	struct vr_handle h;
	struct vr_vif vif;
	__u32 mtu = 0;
	int rc;

	if (argc < 1)
		return cli_usage("vif add: missing device name");
	spec.ifname = argv[0];
	if ((rc = cli_parse_kv(argc - 1, argv + 1, kv, 9)))
		return rc;
	for (int i = 0; i < 3; i++)
		if (!kv[i].seen)
			return cli_usage("vif add: '%s' is required", kv[i].key);
	if ((rc = cli_arg_u32("vrf", kv[0].val, VR_MAX_VRFS - 1, &spec.vrf_id)) ||
	    (rc = cli_arg_mac("mac", kv[1].val, spec.mac)) || (rc = cli_arg_ipv4("ip", kv[2].val, &spec.ip)))
		return rc;
	if (kv[3].seen && (rc = cli_arg_ipv4("gw", kv[3].val, &spec.gw_ip)))
		return rc;
	if ((kv[7].seen && (rc = cli_arg_ipv6("ip6", kv[7].val, &spec.ip6))) ||
	    (kv[8].seen && (rc = cli_arg_ipv6("gw6", kv[8].val, &spec.gw6))))
		return rc;
	if (IN6_IS_ADDR_MULTICAST(&spec.ip6) || IN6_IS_ADDR_MULTICAST(&spec.gw6))
		return cli_usage("%s: %s is a multicast address", IN6_IS_ADDR_MULTICAST(&spec.ip6) ? "ip6" : "gw6",
				 IN6_IS_ADDR_MULTICAST(&spec.ip6) ? kv[7].val : kv[8].val);
	if (kv[4].seen) {
		if ((rc = cli_arg_u32("mtu", kv[4].val, 65535, &mtu)))
			return rc;
		if (mtu < 68)
			return cli_usage("mtu: %u is below the IPv4 minimum of 68", mtu);
		if (kv[7].seen && mtu < 1280)
			return cli_usage("mtu: %u is below the IPv6 minimum of 1280 (the vif has ip6)", mtu);
		spec.mtu = (__u16)mtu;
	}
	if (kv[5].seen) {
		if ((rc = cli_arg_u32("label", kv[5].val, VR_MAX_LABELS - 1, &spec.label)))
			return rc;
		if (spec.label < VR_LABEL_MIN)
			return cli_usage("label: %u is reserved (labels start at %u)", spec.label, VR_LABEL_MIN);
	}
	if (kv[6].seen) {
		if (!strcmp(kv[6].val, "xdp"))
			spec.xdp = true;
		else if (strcmp(kv[6].val, "tc"))
			return cli_usage("mode: '%s' is neither 'tc' nor 'xdp'", kv[6].val);
	}
	if ((spec.mac[0] & 1) || !memcmp(spec.mac, "\0\0\0\0\0\0", 6))
		return cli_usage("mac: %s is not a unicast address", kv[1].val);
	if ((rc = cli_open(&h)))
		return rc;
	if (vr_vif_add(&h, &spec, &vif)) {
		rc = cli_fail("vif add");
	} else if (cli.json) {
		jw_obj_begin(NULL);
		jw_u64("vif", vif.vif_id);
		jw_u64("label", vif.label);
		jw_obj_end();
		jw_finish();
	} else {
		printf("vif %u on %s, label %u\n", vif.vif_id, spec.ifname, vif.label);
	}
	vr_close(&h);
	return rc;
}

static int vif_del(int argc, char **argv)
{
	struct vr_handle h;
	int rc;

	if (argc != 1)
		return cli_usage("vif del: expected exactly one device name");
	if ((rc = cli_open(&h)))
		return rc;
	if (vr_vif_del(&h, argv[0]))
		rc = cli_fail("vif del");
	vr_close(&h);
	return rc;
}

static int vif_print(const struct vr_vif *v, void *arg)
{
	char name[16], mac[18], ip[16], gw[16], ip6[INET6_ADDRSTRLEN] = "", gw6[INET6_ADDRSTRLEN] = "";
	struct in6_addr a;

	(void)arg;
	/* The IPv6 address and gateway only where set (all zero: none). */
	memcpy(&a, v->ip6, sizeof(a));
	if (!IN6_IS_ADDR_UNSPECIFIED(&a))
		cli_ip6(&a, ip6);
	memcpy(&a, v->gw6, sizeof(a));
	if (!IN6_IS_ADDR_UNSPECIFIED(&a))
		cli_ip6(&a, gw6);
	cli_ifname(v->ifindex, name);
	cli_mac(v->mac, mac);
	cli_ip(v->ip, ip);
	if (v->gw_ip)
		cli_ip(v->gw_ip, gw);
	else
		strcpy(gw, "-");
	if (cli.json) {
		jw_obj_begin(NULL);
		jw_str("name", name);
		jw_u64("ifindex", v->ifindex);
		jw_u64("vif", v->vif_id);
		jw_u64("vrf", v->vrf_id);
		jw_str("mac", mac);
		jw_str("ip", ip);
		jw_str("gw", gw);
		if (*ip6)
			jw_str("ip6", ip6);
		if (*gw6)
			jw_str("gw6", gw6);
		jw_u64("mtu", v->mtu);
		jw_u64("label", v->label);
		jw_u64("nh", v->nh_id);
		jw_str("kind", v->flags & VR_VIF_F_TAP ? "tap" : "veth");
		jw_str("mode", v->flags & VR_VIF_F_TC ? "tc" : "xdp");
		jw_obj_end();
	} else {
		printf("%-4u %-15s %-7u %-5u %-17s %-15s %-15s %-5u %-7u %-5u %-4s %s%s%s%s%s\n", v->vif_id, name,
		       v->ifindex, v->vrf_id, mac, ip, gw, v->mtu, v->label, v->nh_id,
		       v->flags & VR_VIF_F_TAP ? "tap" : "veth", v->flags & VR_VIF_F_TC ? "tc" : "xdp",
		       *ip6 ? " ip6 " : "", ip6, *gw6 ? " gw6 " : "", gw6);
	}
	return 0;
}

static int vif_list(int argc, char **argv)
{
	struct vr_handle h;
	int rc;

	(void)argv;
	if (argc)
		return cli_usage("vif list takes no arguments");
	if ((rc = cli_open(&h)))
		return rc;
	if (cli.json)
		jw_arr_begin(NULL);
	else
		printf("%-4s %-15s %-7s %-5s %-17s %-15s %-15s %-5s %-7s %-5s %-4s %s\n", "vif", "device", "ifindex",
		       "vrf", "mac", "ip", "gw", "mtu", "label", "nh", "kind", "mode");
	rc = vr_vif_foreach(&h, vif_print, NULL) ? cli_fail("vif list") : 0;
	if (cli.json) {
		jw_arr_end();
		jw_finish();
	}
	vr_close(&h);
	return rc;
}

int cmd_vif(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "add", vif_add }, { "del", vif_del }, { "list", vif_list }, { "show", vif_list }, { NULL, NULL },
	};
	return cli_dispatch("vif", cmds, argc, argv);
}

/* ---- route ---- */

/* "A.B.C.D/LEN", or with a ':' "X:X::X/LEN", into r's family, prefix and length. An IPv6 prefix that does not
 * parse is explained: the address, the length or the bits beyond the length. */
static int route_prefix(const char *s, struct vr_route_req *r)
{
	char buf[INET6_ADDRSTRLEN + 5], net[INET6_ADDRSTRLEN], *slash;
	struct in6_addr a;
	__u32 plen = 128;

	if (!strchr(s, ':')) {
		r->family = AF_INET;
		if (vr_parse_prefix4(s, &r->prefix, &r->plen))
			return cli_usage("'%s' is not an IPv4 prefix (A.B.C.D/LEN)", s);
		return 0;
	}
	r->family = AF_INET6;
	if (!vr_parse_prefix6(s, &r->prefix6, &r->plen))
		return 0;
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (strlen(s) >= sizeof(buf) || vr_parse_ipv6(buf, &a))
		return cli_usage("'%s' is not an IPv6 prefix (X:X::X/LEN)", s);
	if (slash && vr_parse_u32(slash + 1, UINT32_MAX, &plen))
		return cli_usage("'%s': '%s' is not a prefix length", s, slash + 1);
	if (plen > 128)
		return cli_usage("'%s': prefix length %u is longer than 128", s, plen);
	for (__u32 i = plen; i < 128; i++)
		a.s6_addr[i / 8] &= (__u8)~(0x80 >> (i % 8));
	return cli_usage("'%s' has host bits set (the prefix is %s/%u)", s, cli_ip6(&a, net), plen);
}

/* Add (or replace) a parsed route of either family. */
static int route_apply(struct vr_handle *h, const struct vr_route_req *r, bool replace)
{
	if (r->family == AF_INET6)
		return replace ? vr_route6_replace(h, r->vrf_id, &r->prefix6, r->plen, &r->nh)
			       : vr_route6_add(h, r->vrf_id, &r->prefix6, r->plen, &r->nh);
	return replace ? vr_route_replace(h, r->vrf_id, r->prefix, r->plen, &r->nh)
		       : vr_route_add(h, r->vrf_id, r->prefix, r->plen, &r->nh);
}

static int route_vrf(int argc, char **argv, __u32 *vrf)
{
	if (argc < 2 || strcmp(argv[0], "vrf"))
		return cli_usage("expected 'vrf ID' after the prefix");
	return cli_arg_u32("vrf", argv[1], VR_MAX_VRFS - 1, vrf);
}

/* One nexthop at argv: "vif DEV" or "tunnel ADDR label LABEL [encap udp|gre]". Returns the words used (> 0)
 * or -exit code. */
static int nh_parse(int argc, char **argv, struct vr_nh_spec *nh)
{
	int rc;

	memset(nh, 0, sizeof(*nh));
	if (argc >= 2 && !strcmp(argv[0], "vif")) {
		nh->type = VR_NH_ENCAP;
		nh->ifname = argv[1];
		return 2;
	}
	if (argc >= 4 && !strcmp(argv[0], "tunnel") && !strcmp(argv[2], "label")) {
		nh->type = VR_NH_TUNNEL;
		if ((rc = cli_arg_ipv4("tunnel", argv[1], &nh->remote_ip)) ||
		    (rc = cli_arg_u32("label", argv[3], VR_MAX_LABELS - 1, &nh->label)))
			return -rc;
		if (nh->label < VR_LABEL_MIN)
			return -cli_usage("label: %u is reserved (labels start at %u)", nh->label, VR_LABEL_MIN);
		if (argc == 5 && !strcmp(argv[4], "encap"))
			return -cli_usage("route add: a tunnel needs 'via tunnel ADDR label LABEL [encap udp|gre]'");
		if (argc >= 6 && !strcmp(argv[4], "encap")) {
			if (vr_parse_encap(argv[5], &nh->encap))
				return -cli_usage("encap: '%s' is neither 'udp' nor 'gre'", argv[5]);
			return 6;
		}
		return 4;
	}
	if (argc >= 1 && !strcmp(argv[0], "tunnel"))
		return -cli_usage("route add: a tunnel needs 'via tunnel ADDR label LABEL [encap udp|gre]'");
	if (argc >= 1 && !strcmp(argv[0], "vif"))
		return -cli_usage("route add: expected 'via vif DEV'");
	return -cli_usage("route add: expected 'vif DEV' or 'tunnel ADDR label LABEL' after 'via'%s",
			  argc ? "" : " (nothing there)");
}

/* "PREFIX vrf ID { via vif DEV | via tunnel ADDR label LABEL [encap udp|gre] | via ecmp NH NH... | discard |
 * receive }" into a request (names point into argv; ECMP members in r->nh.members, freed by route_req_free).
 * Returns 0 or a usage exit code. */
static int route_parse(int argc, char **argv, struct vr_route_req *r)
{
	struct vr_nh_spec *nh = &r->nh;
	int rc, used;

	memset(r, 0, sizeof(*r));
	if (argc < 1)
		return cli_usage("route add: missing prefix");
	if ((rc = route_prefix(argv[0], r)) || (rc = route_vrf(argc - 1, argv + 1, &r->vrf_id)))
		return rc;
	argc -= 3;
	argv += 3;
	if (argc == 1 && !strcmp(argv[0], "discard")) {
		nh->type = VR_NH_DISCARD;
		return 0;
	}
	if (argc == 1 && !strcmp(argv[0], "receive")) {
		nh->type = VR_NH_RECEIVE;
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[0], "via") && !strcmp(argv[1], "external")) {
		if (argc > 2)
			return cli_usage("route add: unexpected '%s' after 'via external'", argv[2]);
		nh->type = VR_NH_EXTERNAL;
		return 0;
	}
	if (argc < 1 || strcmp(argv[0], "via"))
		return cli_usage("route add: expected 'via vif DEV', 'via tunnel ADDR label LABEL', 'via ecmp ...', "
				 "'via external', 'discard' or 'receive' after the VRF");
	if (argc >= 2 && !strcmp(argv[1], "ecmp")) {
		struct vr_nh_spec *m = calloc(VR_ECMP_MEMBERS, sizeof(*m));

		if (!m)
			return cli_usage("out of memory");
		nh->type = VR_NH_COMPOSITE;
		nh->members = m;
		for (argc -= 2, argv += 2; argc > 0; argc -= used, argv += used) {
			if (nh->n_members == VR_ECMP_MEMBERS)
				return cli_usage("route add: an ECMP route has at most %u members", VR_ECMP_MEMBERS);
			used = nh_parse(argc, argv, &m[nh->n_members]);
			if (used < 0)
				return -used;
			nh->n_members++;
		}
		if (nh->n_members < 2)
			return cli_usage("route add: 'via ecmp' needs 2 to %u members (tunnel ... | vif ...)",
					 VR_ECMP_MEMBERS);
		return 0;
	}
	used = nh_parse(argc - 1, argv + 1, nh);
	if (used < 0)
		return -used;
	if (used != argc - 1)
		return cli_usage("route add: unexpected '%s' after the nexthop", argv[1 + used]);
	return 0;
}

static void route_req_free(struct vr_route_req *r)
{
	free((void *)r->nh.members);
	r->nh.members = NULL;
	r->nh.n_members = 0;
}

/* Copy the names a parsed request points at (into argv) so that it outlives the line. */
static int route_req_own(struct vr_route_req *r)
{
	struct vr_nh_spec *m = (struct vr_nh_spec *)r->nh.members;

	if (r->nh.ifname && !(r->nh.ifname = strdup(r->nh.ifname)))
		return -1;
	for (__u32 i = 0; i < r->nh.n_members; i++)
		if (m[i].ifname && !(m[i].ifname = strdup(m[i].ifname)))
			return -1;
	return 0;
}

static int route_set(int argc, char **argv, bool replace)
{
	struct vr_route_req r;
	struct vr_handle h;
	int rc;

	if ((rc = route_parse(argc, argv, &r)) || (rc = cli_open(&h))) {
		route_req_free(&r);
		return rc;
	}
	if (route_apply(&h, &r, replace))
		rc = cli_fail(replace ? "route replace" : "route add");
	vr_close(&h);
	route_req_free(&r);
	return rc;
}

static int route_add(int argc, char **argv)
{
	return route_set(argc, argv, false);
}

static int route_replace(int argc, char **argv)
{
	return route_set(argc, argv, true);
}

/* The routes of an import file: requests, and the line each came from. */
struct route_file {
	struct vr_route_req *reqs;
	size_t *line;
	size_t n, cap;
};

static void route_file_free(struct route_file *f)
{
	for (size_t i = 0; i < f->n; i++) {
		for (__u32 m = 0; m < f->reqs[i].nh.n_members; m++)
			free((char *)f->reqs[i].nh.members[m].ifname);
		free((char *)f->reqs[i].nh.ifname);
		route_req_free(&f->reqs[i]);
	}
	free(f->reqs);
	free(f->line);
}

/* Read and check the whole file before anything is applied: a bad line changes nothing. */
static int route_file_read(FILE *in, const char *name, struct route_file *f)
{
	char *buf = NULL, *argv[16];
	size_t len = 0, lineno = 0;
	int rc = 0;

	while (!rc && getline(&buf, &len, in) > 0) {
		char *save = NULL, *tok;
		int argc = 0;

		lineno++;
		for (tok = strtok_r(buf, " \t\r\n", &save); tok && argc < 16; tok = strtok_r(NULL, " \t\r\n", &save))
			argv[argc++] = tok;
		if (!argc || argv[0][0] == '#')
			continue;
		if (f->n == f->cap) {
			size_t cap = f->cap ? f->cap * 2 : 4096;
			struct vr_route_req *r = realloc(f->reqs, cap * sizeof(*r));
			size_t *l = r ? realloc(f->line, cap * sizeof(*l)) : NULL;

			if (r)
				f->reqs = r;
			if (!r || !l) {
				rc = cli_usage("out of memory at line %zu", lineno);
				break;
			}
			f->line = l;
			f->cap = cap;
		}
		snprintf(cli_where, sizeof(cli_where), "%s:%zu: ", name, lineno);
		rc = route_parse(argc, argv, &f->reqs[f->n]);
		if (!rc && route_req_own(&f->reqs[f->n]))
			rc = cli_usage("out of memory");
		if (!rc)
			f->line[f->n++] = lineno;
	}
	if (!rc && ferror(in))
		rc = cli_usage("reading %s failed: %s", name, strerror(errno));
	cli_where[0] = '\0';
	free(buf);
	return rc;
}

static int route_import(int argc, char **argv)
{
	struct route_file f = {};
	struct vr_handle h;
	size_t failed = 0;
	FILE *in;
	int rc, n;

	if (argc != 1)
		return cli_usage("route import: expected FILE (or - for standard input)");
	in = strcmp(argv[0], "-") ? fopen(argv[0], "r") : stdin;
	if (!in)
		return cli_usage("cannot open %s: %s", argv[0], strerror(errno));
	rc = route_file_read(in, argv[0], &f);
	if (in != stdin)
		fclose(in);
	if (rc || (rc = cli_open(&h))) {
		route_file_free(&f);
		return rc;
	}
	n = vr_route_add_batch(&h, f.reqs, f.n);
	if (n < 0) {
		rc = cli_fail("route import");
		goto out;
	}
	/* The first few that failed: once more one by one, for the exact reason of each; the rest by errno. */
	for (size_t i = 0; i < f.n; i++) {
		struct vr_route_req *r = &f.reqs[i];

		if (!r->err)
			continue;
		if (failed < 10 && !route_apply(&h, r, false))
			continue;
		failed++;
		if (cli.json)
			continue;
		snprintf(cli_where, sizeof(cli_where), "%s:%zu: ", argv[0], f.line[i]);
		if (failed <= 10)
			cli_fail("route add");
		else if (failed == 11)
			fprintf(stderr, "Error: %s(further failures: %s, ...)\n", cli_where, strerror(-r->err));
	}
	cli_where[0] = '\0';
	if (cli.json) {
		jw_obj_begin(NULL);
		jw_u64("routes", f.n);
		jw_u64("added", f.n - failed);
		jw_u64("failed", failed);
		jw_obj_end();
		jw_finish();
	} else {
		printf("%zu routes added, %zu failed\n", f.n - failed, failed);
	}
	rc = failed ? CLI_EXIT_FAIL : 0;
out:
	vr_close(&h);
	route_file_free(&f);
	return rc;
}

static int route_del(int argc, char **argv)
{
	struct vr_route_req r = {};
	struct vr_handle h;
	int rc;

	if (argc != 3)
		return cli_usage("route del: expected PREFIX vrf ID");
	if ((rc = route_prefix(argv[0], &r)) || (rc = route_vrf(argc - 1, argv + 1, &r.vrf_id)))
		return rc;
	if ((rc = cli_open(&h)))
		return rc;
	if (r.family == AF_INET6 ? vr_route6_del(&h, r.vrf_id, &r.prefix6, r.plen)
				 : vr_route_del(&h, r.vrf_id, r.prefix, r.plen))
		rc = cli_fail("route del");
	vr_close(&h);
	return rc;
}

/* Describe a nexthop for humans ("vif tap1", "tunnel 192.0.2.2 label 17 encap udp") or as JSON fields. */
static void nh_describe(struct vr_handle *h, const struct vr_nexthop *nh, char *buf, size_t len)
{
	char a[16];

	switch (nh->type) {
	case VR_NH_ENCAP: {
		__u32 ifindex = 0;
		char name[16];

		if (vr_vif_ifindex(h, nh->vif_id, &ifindex) == 0)
			snprintf(buf, len, "vif %s", cli_ifname(ifindex, name));
		else
			snprintf(buf, len, "vif %u", nh->vif_id);
		break;
	}
	case VR_NH_TUNNEL:
		snprintf(buf, len, "tunnel %s label %u encap %s", cli_ip(nh->remote_ip, a), nh->label,
			 vr_encap_name(vr_nh_encap(nh)));
		break;
	case VR_NH_VRF_LOOKUP:
		snprintf(buf, len, "vrf %u", nh->vrf_id);
		break;
	case VR_NH_COMPOSITE: {
		struct vr_ecmp g;
		int n;

		if (vr_ecmp_get(h, nh->ecmp_id, &g)) {
			snprintf(buf, len, "ecmp group %u (unreadable)", nh->ecmp_id);
			break;
		}
		n = snprintf(buf, len, "ecmp group %u: nh", nh->ecmp_id);
		for (__u32 i = 0; i < g.n_members && i < VR_ECMP_MEMBERS && n > 0 && (size_t)n < len; i++)
			n += snprintf(buf + n, len - (size_t)n, "%s%u", i ? "," : " ", g.members[i]);
		break;
	}
	default:
		snprintf(buf, len, "%s", vr_nh_type_name(nh->type));
	}
}

static void nh_json(struct vr_handle *h, const struct vr_nexthop *nh)
{
	char a[16], name[16], mac[18];
	__u32 ifindex = 0;

	jw_str("type", vr_nh_type_name(nh->type));
	if (nh->type == VR_NH_ENCAP) {
		jw_u64("vif", nh->vif_id);
		if (vr_vif_ifindex(h, nh->vif_id, &ifindex) == 0)
			jw_str("dev", cli_ifname(ifindex, name));
		jw_str("mac", cli_mac(nh->dmac, mac));
	} else if (nh->type == VR_NH_TUNNEL) {
		jw_str("remote", cli_ip(nh->remote_ip, a));
		jw_u64("label", nh->label);
		jw_str("encap", vr_encap_name(vr_nh_encap(nh)));
	} else if (nh->type == VR_NH_VRF_LOOKUP) {
		jw_u64("vrf", nh->vrf_id);
	} else if (nh->type == VR_NH_COMPOSITE) {
		struct vr_ecmp g;

		jw_u64("group", nh->ecmp_id);
		if (!vr_ecmp_get(h, nh->ecmp_id, &g)) {
			jw_arr_begin("members");
			for (__u32 i = 0; i < g.n_members && i < VR_ECMP_MEMBERS; i++)
				jw_u64(NULL, g.members[i]);
			jw_arr_end();
		}
	}
}

static int route_print(const struct vr_route_info *r, void *arg)
{
	struct vr_handle *h = arg;
	char ip[INET6_ADDRSTRLEN], pfx[INET6_ADDRSTRLEN + 4], desc[160];

	snprintf(pfx, sizeof(pfx), "%s/%u", r->family == AF_INET6 ? cli_ip6(&r->prefix6, ip) : cli_ip(r->prefix, ip),
		 r->plen);
	if (cli.json) {
		jw_obj_begin(NULL);
		jw_u64("vrf", r->vrf_id);
		jw_str("prefix", pfx);
		jw_u64("nh", r->nh_id);
		nh_json(h, &r->nh);
		jw_obj_end();
	} else {
		nh_describe(h, &r->nh, desc, sizeof(desc));
		printf("%-5u %-19s %-5u %s\n", r->vrf_id, pfx, r->nh_id, desc);
	}
	return 0;
}

static int route_show(int argc, char **argv)
{
	__u32 vrf = (__u32)-1;
	struct vr_handle h;
	int rc;

	if (argc && (rc = route_vrf(argc, argv, &vrf)))
		return rc;
	if (argc && argc != 2)
		return cli_usage("route show: expected at most 'vrf ID'");
	if ((rc = cli_open(&h)))
		return rc;
	if (cli.json)
		jw_arr_begin(NULL);
	else
		printf("%-5s %-19s %-5s %s\n", "vrf", "prefix", "nh", "nexthop");
	rc = vr_route_foreach(&h, vrf, route_print, &h) ? cli_fail("route show") : 0;
	if (cli.json) {
		jw_arr_end();
		jw_finish();
	}
	vr_close(&h);
	return rc;
}

int cmd_route(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "add", route_add },	{ "del", route_del },	 { "show", route_show }, { "replace", route_replace },
		{ "list", route_show }, { "import", route_import }, { NULL, NULL },
	};
	return cli_dispatch("route", cmds, argc, argv);
}

/* ---- label ---- */

static int label_print(__u32 label, __u32 nh_id, const struct vr_nexthop *nh, void *arg)
{
	struct vr_handle *h = arg;
	char desc[160];

	if (cli.json) {
		jw_obj_begin(NULL);
		jw_u64("label", label);
		jw_u64("nh", nh_id);
		nh_json(h, nh);
		jw_obj_end();
	} else {
		nh_describe(h, nh, desc, sizeof(desc));
		printf("%-8u %-5u %s\n", label, nh_id, desc);
	}
	return 0;
}

static int label_show(int argc, char **argv)
{
	struct vr_handle h;
	int rc;

	(void)argv;
	if (argc)
		return cli_usage("label show takes no arguments");
	if ((rc = cli_open(&h)))
		return rc;
	if (cli.json)
		jw_arr_begin(NULL);
	else
		printf("%-8s %-5s %s\n", "label", "nh", "nexthop");
	rc = vr_label_foreach(&h, label_print, &h) ? cli_fail("label show") : 0;
	if (cli.json) {
		jw_arr_end();
		jw_finish();
	}
	vr_close(&h);
	return rc;
}

static int nh_print(__u32 nh_id, const struct vr_nexthop *nh, void *arg)
{
	struct vr_handle *h = arg;
	char desc[160];

	if (cli.json) {
		jw_obj_begin(NULL);
		jw_u64("nh", nh_id);
		jw_u64("refcnt", nh->refcnt);
		nh_json(h, nh);
		jw_obj_end();
	} else {
		nh_describe(h, nh, desc, sizeof(desc));
		printf("%-8u %-7u %s\n", nh_id, nh->refcnt, desc);
	}
	return 0;
}

static int nexthop_list(int argc, char **argv)
{
	struct vr_handle h;
	int rc;

	(void)argv;
	if (argc)
		return cli_usage("nexthop list takes no arguments");
	if ((rc = cli_open(&h)))
		return rc;
	if (cli.json)
		jw_arr_begin(NULL);
	else
		printf("%-8s %-7s %s\n", "nh", "refcnt", "nexthop");
	rc = vr_nh_foreach(&h, nh_print, &h) ? cli_fail("nexthop list") : 0;
	if (cli.json) {
		jw_arr_end();
		jw_finish();
	}
	vr_close(&h);
	return rc;
}

static int endpoint_change(int argc, char **argv, bool add)
{
	struct vr_handle h;
	__be32 addr;
	int rc;

	if (argc != 1)
		return cli_usage("endpoint %s: expected ADDR", add ? "add" : "del");
	if ((rc = cli_arg_ipv4("endpoint", argv[0], &addr)) || (rc = cli_open(&h)))
		return rc;
	if (add ? vr_endpoint_add(&h, addr) : vr_endpoint_del(&h, addr))
		rc = cli_fail(add ? "endpoint add" : "endpoint del");
	vr_close(&h);
	return rc;
}

static int endpoint_add(int argc, char **argv)
{
	return endpoint_change(argc, argv, true);
}

static int endpoint_del(int argc, char **argv)
{
	return endpoint_change(argc, argv, false);
}

static int endpoint_print(__be32 addr, const struct vr_endpoint *ep, void *arg)
{
	char a[16];

	(void)arg;
	if (cli.json) {
		jw_obj_begin(NULL);
		jw_str("addr", cli_ip(addr, a));
		jw_u64("nexthops", ep->refs);
		jw_u64("configured", !!(ep->flags & VR_EP_F_CONFIGURED));
		jw_obj_end();
	} else {
		printf("%-16s %-9u %s\n", cli_ip(addr, a), ep->refs, ep->flags & VR_EP_F_CONFIGURED ? "yes" : "no");
	}
	return 0;
}

static int endpoint_list(int argc, char **argv)
{
	struct vr_handle h;
	int rc;

	(void)argv;
	if (argc)
		return cli_usage("endpoint list takes no arguments");
	if ((rc = cli_open(&h)))
		return rc;
	if (cli.json)
		jw_arr_begin(NULL);
	else
		printf("%-16s %-9s %s\n", "endpoint", "nexthops", "configured");
	rc = vr_endpoint_foreach(&h, endpoint_print, NULL) ? cli_fail("endpoint list") : 0;
	if (cli.json) {
		jw_arr_end();
		jw_finish();
	}
	vr_close(&h);
	return rc;
}

int cmd_endpoint(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "add", endpoint_add }, { "del", endpoint_del }, { "list", endpoint_list }, { "show", endpoint_list },
		{ NULL, NULL },
	};

	return cli_dispatch("endpoint", cmds, argc, argv);
}

int cmd_nexthop(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = { { "list", nexthop_list }, { "show", nexthop_list }, { NULL, NULL } };

	return cli_dispatch("nexthop", cmds, argc, argv);
}

static int label_arg(const char *s, __u32 *label)
{
	int rc = cli_arg_u32("label", s, VR_MAX_LABELS - 1, label);

	if (!rc && *label < VR_LABEL_MIN)
		return cli_usage("label: %u is reserved (labels start at %u)", *label, VR_LABEL_MIN);
	return rc;
}

static int label_add(int argc, char **argv)
{
	struct vr_label_req r = {};
	struct vr_handle h;
	int rc;

	if (argc != 3 || (strcmp(argv[1], "vif") && strcmp(argv[1], "vrf")))
		return cli_usage("label add: expected LABEL vif DEV or LABEL vrf ID");
	if ((rc = label_arg(argv[0], &r.label)))
		return rc;
	if (!strcmp(argv[1], "vif"))
		r.ifname = argv[2];
	else if ((rc = cli_arg_u32("vrf", argv[2], VR_MAX_VRFS - 1, &r.vrf_id)))
		return rc;
	if ((rc = cli_open(&h)))
		return rc;
	if (vr_label_add(&h, &r))
		rc = cli_fail("label add");
	vr_close(&h);
	return rc;
}

static int label_del(int argc, char **argv)
{
	struct vr_handle h;
	__u32 label;
	int rc;

	if (argc != 1)
		return cli_usage("label del: expected LABEL");
	if ((rc = label_arg(argv[0], &label)) || (rc = cli_open(&h)))
		return rc;
	if (vr_label_del(&h, label))
		rc = cli_fail("label del");
	vr_close(&h);
	return rc;
}

int cmd_label(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "add", label_add }, { "del", label_del }, { "show", label_show }, { "list", label_show }, { NULL, NULL },
	};

	return cli_dispatch("label", cmds, argc, argv);
}
