/* vrouterctl: the operator CLI of bpf-vrouter. `vrouterctl [OPTIONS] OBJECT COMMAND [ARGS]`, bpftool
 * style: command tables with prefix matching, -j/-p JSON, `Error: ...` and exit 2 on bad usage. */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "cli.h"

#undef cli_usage /* the analyzer's wrapper (cli.h) is for callers, not for the definition */

struct cli_opts cli = { .pin_dir = VR_DEFAULT_PIN_DIR };

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vrouterctl [OPTIONS] OBJECT COMMAND [ARGS]\n"
		"  OPTIONS: -j (JSON) | -p (pretty JSON) | -v (verbose, twice for libbpf debug) |\n"
		"           -d PINDIR (bpffs folder, default " VR_DEFAULT_PIN_DIR ") | -h\n"
		"  vrouterctl load fabric DEV host-ip ADDR [mac MAC] [udp-port PORT] [fabric-mode xdp|tc]\n"
		"                  [nat-entries N]   (NAT connection table size, first load only)\n"
		"  vrouterctl unload\n"
		"  vrouterctl vrf add ID [label LABEL] | vrf del ID | vrf list\n"
		"  vrouterctl vif add DEV vrf ID mac MAC ip ADDR [gw ADDR] [ip6 ADDR6] [gw6 ADDR6] [mtu MTU] [label LABEL]\n"
		"                     [mode tc|xdp]\n"
		"  vrouterctl vif del DEV | vif list\n"
		"  vrouterctl route add PREFIX vrf ID { via vif DEV | via tunnel ADDR label LABEL [encap udp|gre] |\n"
		"                                       via ecmp NH NH [NH..] | via external | discard | receive }\n"
		"           NH: vif DEV | tunnel ADDR label LABEL [encap udp|gre]   (ECMP: 2 to 16 members)\n"
		"           PREFIX: A.B.C.D/LEN or X:X::X/LEN (IPv6; the tunnels stay IPv4); no bits beyond LEN\n"
		"  vrouterctl route replace PREFIX vrf ID { as route add }   (in one step; ECMP keeps staying members' flows)\n"
		"  vrouterctl route del PREFIX vrf ID | route show [vrf ID]\n"
		"  vrouterctl route import FILE|-   (one 'route add' argument list per line: PREFIX vrf ID via ...)\n"
		"  vrouterctl label add LABEL { vif DEV | vrf ID } | label del LABEL | label show\n"
		"  vrouterctl nexthop list\n"
		"  vrouterctl endpoint add ADDR | endpoint del ADDR | endpoint list   (hosts tunnels are accepted from)\n"
		"  vrouterctl gateway set DEV [timeout-tcp S] [timeout-tcp-transitory S] [timeout-udp S] [timeout-icmp S]\n"
		"  vrouterctl gateway unset | gateway show   (the external NIC: 'via external' routes leave there, NATed)\n"
		"  vrouterctl nat snat set vrf ID ADDR [ports MIN-MAX] | nat snat del vrf ID | nat snat list\n"
		"  vrouterctl nat fip add PUBLIC vrf ID ip PRIVATE | nat fip del PUBLIC | nat fip list\n"
		"  vrouterctl nat list [all] | nat stats | nat gc   (connections; 'all' shows expired ones too)\n"
		"  vrouterctl stats\n"
		"  vrouterctl monitor   (resolve underlay neighbours the datapath asks for; print events)\n"
		"  vrouterctl port [-s SOCKET] add DEV vrf ID mac MAC ip ADDR[,ADDR..] vn NAME [gw ADDR] [mtu N] [mode tc|xdp]\n"
		"  vrouterctl port [-s SOCKET] del DEV | port [-s SOCKET] list\n"
		"           (through vrouter-agent's port API: -s, else $VR_AGENT_SOCKET, else /run/vrouter/agent.sock)\n");
}

char cli_where[64];

static void cli_print_error(const char *msg)
{
	if (cli.json) {
		char full[900];

		snprintf(full, sizeof(full), "%s%s", cli_where, msg);
		jw_obj_begin(NULL);
		jw_str("error", full);
		jw_obj_end();
		jw_finish();
	} else {
		fprintf(stderr, "Error: %s%s\n", cli_where, msg);
	}
}

int cli_usage(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cli_print_error(msg);
	return CLI_EXIT_USAGE;
}

int cli_fail(const char *what)
{
	const char *why = vr_strerror();
	char msg[768];

	snprintf(msg, sizeof(msg), "%s%s%s", what, *why ? ": " : "", why);
	cli_print_error(msg);
	return CLI_EXIT_FAIL;
}

int cli_open(struct vr_handle *h)
{
	if (vr_open(cli.pin_dir, h))
		return cli_fail("cannot open the datapath");
	return 0;
}

int cli_dispatch(const char *object, const struct cli_cmd *cmds, int argc, char **argv)
{
	bool top = !strcmp(object, "vrouterctl");

	if (argc < 1)
		return cli_usage("%s: missing command (try 'vrouterctl help')", object);
	for (const struct cli_cmd *c = cmds; c->name; c++)
		if (argv[0][0] && !strncmp(argv[0], c->name, strlen(argv[0])))
			return c->fn(argc - 1, argv + 1);
	return cli_usage("%s: unknown %s '%s' (try 'vrouterctl help')", object, top ? "object" : "command", argv[0]);
}

int cli_parse_kv(int argc, char **argv, struct cli_kv *kv, int nkv)
{
	for (int i = 0; i < argc; i += 2) {
		int k;

		for (k = 0; k < nkv; k++)
			if (!strcmp(argv[i], kv[k].key))
				break;
		if (k == nkv)
			return cli_usage("unexpected argument '%s'", argv[i]);
		if (kv[k].seen)
			return cli_usage("'%s' given twice", argv[i]);
		if (i + 1 >= argc)
			return cli_usage("'%s' needs a value", argv[i]);
		kv[k].val = argv[i + 1];
		kv[k].seen = true;
	}
	return 0;
}

int cli_arg_ipv4(const char *what, const char *s, __be32 *out)
{
	if (vr_parse_ipv4(s, out))
		return cli_usage("%s: '%s' is not an IPv4 address", what, s);
	return 0;
}

int cli_arg_ipv6(const char *what, const char *s, struct in6_addr *out)
{
	if (vr_parse_ipv6(s, out))
		return cli_usage("%s: '%s' is not an IPv6 address", what, s);
	return 0;
}

int cli_arg_u32(const char *what, const char *s, __u32 max, __u32 *out)
{
	if (vr_parse_u32(s, max, out))
		return cli_usage("%s: '%s' is not a number in 0..%u", what, s, max);
	return 0;
}

int cli_arg_mac(const char *what, const char *s, __u8 mac[6])
{
	if (vr_parse_mac(s, mac))
		return cli_usage("%s: '%s' is not a MAC address (xx:xx:xx:xx:xx:xx)", what, s);
	return 0;
}

const char *cli_ip(__be32 addr, char buf[16])
{
	return inet_ntop(AF_INET, &addr, buf, 16);
}

const char *cli_ip6(const struct in6_addr *addr, char buf[INET6_ADDRSTRLEN])
{
	return inet_ntop(AF_INET6, addr, buf, INET6_ADDRSTRLEN);
}

const char *cli_mac(const __u8 m[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

const char *cli_ifname(__u32 ifindex, char buf[16])
{
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, 16, "if%u", ifindex);
	return buf;
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct cli_cmd objects[] = {
		{ "load", cmd_load },	{ "unload", cmd_unload }, { "vrf", cmd_vrf },	  { "vif", cmd_vif },
		{ "route", cmd_route }, { "label", cmd_label }, { "nexthop", cmd_nexthop }, { "endpoint", cmd_endpoint },	  { "stats", cmd_stats }, { "monitor", cmd_monitor },
		{ "port", cmd_port },	{ "gateway", cmd_gateway }, { "nat", cmd_nat },
		{ "help", cmd_help },	{ NULL, NULL },
	};
	int opt;

	while ((opt = getopt(argc, argv, "+jpvd:h")) != -1) {
		switch (opt) {
		case 'j':
			cli.json = true;
			break;
		case 'p':
			cli.json = cli.pretty = true;
			break;
		case 'v':
			cli.verbose++;
			break;
		case 'd':
			cli.pin_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return cli_usage("unknown option (try 'vrouterctl help')");
		}
	}
	vr_set_verbosity(cli.verbose);
	if (optind >= argc)
		return cli_usage("missing object (try 'vrouterctl help')");
	if (strlen(cli.pin_dir) >= sizeof(((struct vr_handle *)0)->pin_dir) || cli.pin_dir[0] != '/')
		return cli_usage("-d: the pin dir must be an absolute path shorter than 256 bytes");
	return cli_dispatch("vrouterctl", objects, argc - optind, argv + optind);
}
