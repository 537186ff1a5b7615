/* vrouterctl gateway / nat: the gateway role (external NIC and NAT timeouts), each tenant's source-NAT address,
 * floating IPs, and the connection table (list, stats, sweep of expired connections). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "cli.h"

/* ---- gateway --------------------------------------------------------------------------------------- */

static int gateway_set(int argc, char **argv)
{
	struct cli_kv kv[] = { { .key = "timeout-tcp" }, { .key = "timeout-tcp-transitory" }, { .key = "timeout-udp" },
			       { .key = "timeout-icmp" } };
	struct vr_gateway_spec spec = {};
	__u32 *t[] = { &spec.timeout_tcp, &spec.timeout_tcp_transitory, &spec.timeout_udp, &spec.timeout_icmp };
	struct vr_handle h;
	int rc;

	if (argc < 1)
		return cli_usage("gateway set: expected the external device (gateway set DEV [timeout-tcp S] ...)");
	spec.ext_ifname = argv[0];
	if ((rc = cli_parse_kv(argc - 1, argv + 1, kv, 4)))
		return rc;
	for (int i = 0; i < 4; i++) {
		if (!kv[i].seen)
			continue;
		if ((rc = cli_arg_u32(kv[i].key, kv[i].val, 7 * 24 * 3600, t[i])))
			return rc;
		if (!*t[i])
			return cli_usage("%s: a timeout of 0 seconds would expire every connection at once", kv[i].key);
	}
	if ((rc = cli_open(&h)))
		return rc;
	if (vr_gateway_set(&h, &spec))
		rc = cli_fail("gateway set");
	vr_close(&h);
	return rc;
}

static int gateway_unset(int argc, char **argv)
{
	struct vr_handle h;
	int rc;

	(void)argv;
	if (argc)
		return cli_usage("gateway unset takes no arguments");
	if ((rc = cli_open(&h)))
		return rc;
	if (vr_gateway_unset(&h))
		rc = cli_fail("gateway unset");
	vr_close(&h);
	return rc;
}

/* Effective timeouts: 0 in the configuration means the default. */
static __u32 or_default(__u32 v, __u32 def)
{
	return v ? v : def;
}

static int gateway_show(int argc, char **argv)
{
	struct vr_nat_config cfg;
	struct vr_handle h;
	__u32 t[4];
	char dev[16];
	int rc;

	(void)argv;
	if (argc)
		return cli_usage("gateway show takes no arguments");
	if ((rc = cli_open(&h)))
		return rc;
	if (vr_gateway_get(&h, &cfg)) {
		rc = cli_fail("gateway show");
		vr_close(&h);
		return rc;
	}
	vr_close(&h);
	t[0] = or_default(cfg.timeout_tcp, VR_NAT_TIMEOUT_TCP);
	t[1] = or_default(cfg.timeout_tcp_transitory, VR_NAT_TIMEOUT_TCP_TRANSITORY);
	t[2] = or_default(cfg.timeout_udp, VR_NAT_TIMEOUT_UDP);
	t[3] = or_default(cfg.timeout_icmp, VR_NAT_TIMEOUT_ICMP);
	if (cfg.ext_ifindex)
		cli_ifname(cfg.ext_ifindex, dev);
	if (cli.json) {
		jw_obj_begin(NULL);
		jw_str("gateway", cfg.ext_ifindex ? "on" : "off");
		if (cfg.ext_ifindex)
			jw_str("external", dev);
		jw_u64("ifindex", cfg.ext_ifindex);
		jw_u64("timeout_tcp", t[0]);
		jw_u64("timeout_tcp_transitory", t[1]);
		jw_u64("timeout_udp", t[2]);
		jw_u64("timeout_icmp", t[3]);
		jw_obj_end();
		jw_finish();
		return 0;
	}
	if (cfg.ext_ifindex)
		printf("gateway on: external %s (ifindex %u)\n", dev, cfg.ext_ifindex);
	else
		printf("gateway off: no external device\n");
	printf("timeouts: tcp %u s, tcp-transitory %u s, udp %u s, icmp %u s\n", t[0], t[1], t[2], t[3]);
	return 0;
}

int cmd_gateway(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "set", gateway_set }, { "unset", gateway_unset }, { "show", gateway_show }, { NULL, NULL },
	};

	return cli_dispatch("gateway", cmds, argc, argv);
}

/* ---- nat snat ------------------------------------------------------------------------------------------ */

/* "MIN-MAX" into a port range (1..65535, MIN <= MAX). */
static int parse_ports(const char *s, __u16 *lo, __u16 *hi)
{
	char buf[16], *dash;
	__u32 a, b;

	if (strlen(s) >= sizeof(buf) || !(dash = strchr(strcpy(buf, s), '-')))
		return cli_usage("ports: '%s' is not a range MIN-MAX", s);
	*dash = '\0';
	if (vr_parse_u32(buf, 65535, &a) || vr_parse_u32(dash + 1, 65535, &b) || !a || !b)
		return cli_usage("ports: '%s' is not a range of ports 1..65535 (MIN-MAX)", s);
	if (a > b)
		return cli_usage("ports: '%s' starts above its end", s);
	*lo = (__u16)a;
	*hi = (__u16)b;
	return 0;
}

static int snat_vrf(int argc, char **argv, const char *cmd, __u32 *vrf)
{
	if (argc < 2 || strcmp(argv[0], "vrf"))
		return cli_usage("nat snat %s: expected 'vrf ID'", cmd);
	return cli_arg_u32("vrf", argv[1], VR_MAX_VRFS - 1, vrf);
}

static int snat_set(int argc, char **argv)
{
	__u16 lo = 0, hi = 0;
	struct vr_handle h;
	__be32 addr;
	__u32 vrf = 0;
	int rc;

	if ((rc = snat_vrf(argc, argv, "set", &vrf)))
		return rc;
	if (argc < 3)
		return cli_usage("nat snat set: expected 'vrf ID ADDR [ports MIN-MAX]'");
	if ((rc = cli_arg_ipv4("address", argv[2], &addr)))
		return rc;
	if (argc == 5 && !strcmp(argv[3], "ports")) {
		if ((rc = parse_ports(argv[4], &lo, &hi)))
			return rc;
	} else if (argc != 3) {
		return cli_usage("nat snat set: unexpected '%s' (expected 'ports MIN-MAX')", argv[3]);
	}
	if (!addr)
		return cli_usage("nat snat set: 0.0.0.0 is no address (use 'nat snat del vrf ID')");
	if ((rc = cli_open(&h)))
		return rc;
	if (vr_snat_set(&h, vrf, addr, lo, hi))
		rc = cli_fail("nat snat set");
	vr_close(&h);
	return rc;
}

static int snat_del(int argc, char **argv)
{
	struct vr_handle h;
	__u32 vrf = 0;
	int rc;

	if ((rc = snat_vrf(argc, argv, "del", &vrf)))
		return rc;
	if (argc != 2)
		return cli_usage("nat snat del: expected 'vrf ID' only");
	if ((rc = cli_open(&h)))
		return rc;
	if (vr_snat_set(&h, vrf, 0, 0, 0))
		rc = cli_fail("nat snat del");
	vr_close(&h);
	return rc;
}

static int snat_list(int argc, char **argv)
{
	struct vr_handle h;
	struct vr_snat s;
	char ip[16];
	int rc;

	(void)argv;
	if (argc)
		return cli_usage("nat snat list takes no arguments");
	if ((rc = cli_open(&h)))
		return rc;
	if (cli.json)
		jw_arr_begin(NULL);
	else
		printf("%-5s %-15s %s\n", "vrf", "address", "ports");
	for (__u32 vrf = 0; vrf < VR_MAX_VRFS; vrf++) {
		if (vr_snat_get(&h, vrf, &s)) {
			/* Past the table's end (built with fewer VRFs): the list is complete. */
			if (vrf)
				break;
			rc = cli_fail("nat snat list");
			break;
		}
		if (!s.addr)
			continue;
		if (cli.json) {
			jw_obj_begin(NULL);
			jw_u64("vrf", vrf);
			jw_str("addr", cli_ip(s.addr, ip));
			jw_u64("port_min", s.port_min);
			jw_u64("port_max", s.port_max);
			jw_obj_end();
		} else {
			printf("%-5u %-15s %u-%u\n", vrf, cli_ip(s.addr, ip), s.port_min, s.port_max);
		}
	}
	if (cli.json) {
		jw_arr_end();
		jw_finish();
	}
	vr_close(&h);
	return rc;
}

static int cmd_snat(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "set", snat_set }, { "del", snat_del }, { "list", snat_list }, { NULL, NULL },
	};

	return cli_dispatch("nat snat", cmds, argc, argv);
}

/* ---- nat fip --------------------------------------------------------------------------------------- */

static int fip_add(int argc, char **argv)
{
	struct cli_kv kv[] = { { .key = "vrf" }, { .key = "ip" } };
	__be32 pub, priv;
	struct vr_handle h;
	__u32 vrf = 0;
	int rc;

	if (argc < 1)
		return cli_usage("nat fip add: expected 'PUBLIC vrf ID ip PRIVATE'");
	if ((rc = cli_arg_ipv4("floating IP", argv[0], &pub)) || (rc = cli_parse_kv(argc - 1, argv + 1, kv, 2)))
		return rc;
	if (!kv[0].seen || !kv[1].seen)
		return cli_usage("nat fip add: expected 'PUBLIC vrf ID ip PRIVATE' (missing '%s')",
				 kv[0].seen ? "ip" : "vrf");
	if ((rc = cli_arg_u32("vrf", kv[0].val, VR_MAX_VRFS - 1, &vrf)) || (rc = cli_arg_ipv4("ip", kv[1].val, &priv)))
		return rc;
	if ((rc = cli_open(&h)))
		return rc;
	if (vr_fip_add(&h, pub, vrf, priv))
		rc = cli_fail("nat fip add");
	vr_close(&h);
	return rc;
}

static int fip_del(int argc, char **argv)
{
	struct vr_handle h;
	__be32 pub;
	int rc;

	if (argc != 1)
		return cli_usage("nat fip del: expected 'PUBLIC'");
	if ((rc = cli_arg_ipv4("floating IP", argv[0], &pub)))
		return rc;
	if ((rc = cli_open(&h)))
		return rc;
	if (vr_fip_del(&h, pub))
		rc = cli_fail("nat fip del");
	vr_close(&h);
	return rc;
}

static int fip_print(__be32 pub, const struct vr_fip_key *priv, void *arg)
{
	char a[16], b[16];

	(void)arg;
	if (cli.json) {
		jw_obj_begin(NULL);
		jw_str("public", cli_ip(pub, a));
		jw_u64("vrf", priv->vrf_id);
		jw_str("ip", cli_ip(priv->addr, b));
		jw_obj_end();
	} else {
		printf("%-15s %-5u %s\n", cli_ip(pub, a), priv->vrf_id, cli_ip(priv->addr, b));
	}
	return 0;
}

static int fip_list(int argc, char **argv)
{
	struct vr_handle h;
	int rc;

	(void)argv;
	if (argc)
		return cli_usage("nat fip list takes no arguments");
	if ((rc = cli_open(&h)))
		return rc;
	if (cli.json)
		jw_arr_begin(NULL);
	else
		printf("%-15s %-5s %s\n", "public", "vrf", "private");
	if (vr_fip_foreach(&h, fip_print, NULL))
		rc = cli_fail("nat fip list");
	if (cli.json) {
		jw_arr_end();
		jw_finish();
	}
	vr_close(&h);
	return rc;
}

static int cmd_fip(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "add", fip_add }, { "del", fip_del }, { "list", fip_list }, { NULL, NULL },
	};

	return cli_dispatch("nat fip", cmds, argc, argv);
}

/* ---- connections ----------------------------------------------------------------------------------- */

static const char *proto_name(__u8 proto, char buf[8])
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	default:
		snprintf(buf, 8, "%u", proto);
		return buf;
	}
}

static const char *state_name(__u8 state)
{
	switch (state) {
	case VR_NAT_S_NEW:
		return "new";
	case VR_NAT_S_ESTABLISHED:
		return "established";
	case VR_NAT_S_CLOSING:
		return "closing";
	default:
		return "?";
	}
}

struct nat_ctx {
	bool all;
	__u64 live, expired;
};

static int conn_print(const struct vr_nat_conn *c, void *arg)
{
	struct nat_ctx *x = arg;
	const struct vr_nat_key *k = &c->out_key;
	bool icmp = k->proto == IPPROTO_ICMP;
	char pb[8], s[16], d[16], p[16], in[32], out[32], pub[32], ttl[16];

	if (c->expired)
		x->expired++;
	else
		x->live++;
	if (c->expired && !x->all)
		return 0;
	cli_ip(k->src, s);
	cli_ip(k->dst, d);
	cli_ip(c->out.addr, p);
	if (cli.json) {
		jw_obj_begin(NULL);
		jw_str("proto", proto_name(k->proto, pb));
		jw_u64("vrf", k->vrf_id);
		jw_str("src", s);
		jw_u64(icmp ? "id" : "sport", ntohs(k->sport));
		jw_str("dst", d);
		if (!icmp)
			jw_u64("dport", ntohs(k->dport));
		jw_str("public", p);
		jw_u64(icmp ? "public_id" : "public_port", ntohs(c->out.port));
		jw_str("state", state_name(c->out.state));
		jw_str("expired", c->expired ? "yes" : "no");
		jw_u64("ttl", c->ttl);
		jw_u64("out_packets", c->out.packets);
		jw_u64("out_bytes", c->out.bytes);
		jw_u64("in_packets", c->in.packets);
		jw_u64("in_bytes", c->in.bytes);
		jw_obj_end();
		return 0;
	}
	/* ICMP echo: the identifier in place of the ports, and none on the remote side. */
	snprintf(in, sizeof(in), "%s:%u", s, ntohs(k->sport));
	if (icmp)
		snprintf(out, sizeof(out), "%s", d);
	else
		snprintf(out, sizeof(out), "%s:%u", d, ntohs(k->dport));
	snprintf(pub, sizeof(pub), "%s:%u", p, ntohs(c->out.port));
	if (c->expired)
		snprintf(ttl, sizeof(ttl), "expired");
	else
		snprintf(ttl, sizeof(ttl), "%u", c->ttl);
	printf("%-5s %-5u %-21s -> %-21s %-21s %-11s %7s %8llu/%-10llu %8llu/%llu\n", proto_name(k->proto, pb),
	       k->vrf_id, in, out, pub, state_name(c->out.state), ttl, (unsigned long long)c->out.packets,
	       (unsigned long long)c->out.bytes, (unsigned long long)c->in.packets, (unsigned long long)c->in.bytes);
	return 0;
}

static int nat_list(int argc, char **argv)
{
	struct nat_ctx x = {};
	struct vr_handle h;
	int rc;

	if (argc == 1 && !strcmp(argv[0], "all"))
		x.all = true;
	else if (argc)
		return cli_usage("nat list: expected nothing or 'all'");
	if ((rc = cli_open(&h)))
		return rc;
	/* Reading only: let writers (the agent's sweep) in. */
	vr_unlock(&h);
	if (cli.json)
		jw_arr_begin(NULL);
	else
		printf("%-5s %-5s %-21s    %-21s %-21s %-11s %7s %19s %s\n", "proto", "vrf", "inside", "remote", "public",
		       "state", "ttl", "out pkts/bytes", "in pkts/bytes");
	if (vr_nat_foreach(&h, conn_print, &x))
		rc = cli_fail("nat list");
	if (cli.json) {
		jw_arr_end();
		jw_finish();
	}
	vr_close(&h);
	return rc;
}

static int count_conn(const struct vr_nat_conn *c, void *arg)
{
	struct nat_ctx *x = arg;

	if (c->expired)
		x->expired++;
	else
		x->live++;
	return 0;
}

static int nat_stats(int argc, char **argv)
{
	static const __u32 reasons[] = { VR_DROP_NAT_NO_SNAT, VR_DROP_NAT_UNSUPPORTED, VR_DROP_NAT_FULL,
					 VR_DROP_NAT_NO_PORT, VR_DROP_NAT_NO_CONN, VR_DROP_EXT_UNREACH,
					 VR_DROP_NOT_GATEWAY };
	__u64 drops[VR_DROP_MAX];
	struct nat_ctx x = {};
	struct vr_handle h;
	__u32 max, entries;
	int rc;

	(void)argv;
	if (argc)
		return cli_usage("nat stats takes no arguments");
	if ((rc = cli_open(&h)))
		return rc;
	vr_unlock(&h);
	if (vr_nat_foreach(&h, count_conn, &x) || vr_nat_usage(&h, &entries, &max) || vr_drops_get(&h, drops)) {
		rc = cli_fail("nat stats");
		vr_close(&h);
		return rc;
	}
	vr_close(&h);
	if (cli.json) {
		jw_obj_begin(NULL);
		jw_u64("connections", x.live);
		jw_u64("expired", x.expired);
		jw_u64("entries", entries);
		jw_u64("max_entries", max);
		jw_obj_begin("drops");
		for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
			jw_u64(vr_drop_name(reasons[i]), drops[reasons[i]]);
		jw_obj_end();
		jw_obj_end();
		jw_finish();
		return 0;
	}
	printf("connections: %llu live, %llu expired (not yet swept)\n", (unsigned long long)x.live,
	       (unsigned long long)x.expired);
	printf("table: %u of %u entries (two per connection)\n", entries, max);
	printf("\n%-22s %12s  %s\n", "drop reason", "packets", "meaning");
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		printf("%-22s %12llu  %s\n", vr_drop_name(reasons[i]), (unsigned long long)drops[reasons[i]],
		       vr_drop_desc(reasons[i]));
	return 0;
}

static int nat_gc(int argc, char **argv)
{
	struct vr_handle h;
	int rc, n;

	(void)argv;
	if (argc)
		return cli_usage("nat gc takes no arguments");
	if ((rc = cli_open(&h)))
		return rc;
	n = vr_nat_gc(&h);
	vr_close(&h);
	if (n < 0)
		return cli_fail("nat gc");
	if (cli.json) {
		jw_obj_begin(NULL);
		jw_u64("removed", (__u64)n);
		jw_obj_end();
		jw_finish();
	} else {
		printf("%d expired connection%s removed\n", n, n == 1 ? "" : "s");
	}
	return 0;
}

int cmd_nat(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "snat", cmd_snat }, { "fip", cmd_fip }, { "list", nat_list }, { "stats", nat_stats },
		{ "gc", nat_gc },     { NULL, NULL },
	};

	return cli_dispatch("nat", cmds, argc, argv);
}
