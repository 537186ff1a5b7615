/* vrouterctl load / unload / monitor: the datapath's life cycle and its event loop. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

int cmd_load(int argc, char **argv)
{
	struct cli_kv kv[] = { { .key = "fabric" },   { .key = "host-ip" },	  { .key = "mac" },
			       { .key = "udp-port" }, { .key = "fabric-mode" }, { .key = "nat-entries" } };
	struct vr_load_opts opts = {};
	__u32 port = 0;
	int rc;

	rc = cli_parse_kv(argc, argv, kv, 6);
	if (rc)
		return rc;
	opts.fabric = kv[0].val;
	if (kv[1].seen && (rc = cli_arg_ipv4("host-ip", kv[1].val, &opts.host_ip)))
		return rc;
	if (kv[2].seen) {
		if ((rc = cli_arg_mac("mac", kv[2].val, opts.mac)))
			return rc;
		opts.mac_set = true;
	}
	if (kv[3].seen) {
		if ((rc = cli_arg_u32("udp-port", kv[3].val, 65535, &port)))
			return rc;
		if (!port)
			return cli_usage("udp-port: 0 is not a port");
		opts.udp_port = (__u16)port;
	}
	if (kv[4].seen) {
		if (!strcmp(kv[4].val, "xdp"))
			opts.fabric_mode = VR_FABRIC_XDP;
		else if (!strcmp(kv[4].val, "tc"))
			opts.fabric_mode = VR_FABRIC_TC;
		else
			return cli_usage("fabric-mode: '%s' is neither 'xdp' nor 'tc'", kv[4].val);
	}
	if (kv[5].seen) {
		if ((rc = cli_arg_u32("nat-entries", kv[5].val, UINT32_MAX, &opts.nat_entries)))
			return rc;
		if (opts.nat_entries < 2)
			return cli_usage("nat-entries: %u is too small (two entries per connection)", opts.nat_entries);
	}
	if (vr_load(cli.pin_dir, &opts))
		return cli_fail("load failed");
	if (cli.json) {
		jw_obj_begin(NULL);
		jw_str("pin_dir", cli.pin_dir);
		jw_str("status", "loaded");
		jw_obj_end();
		jw_finish();
	} else {
		printf("datapath loaded, pinned under %s\n", cli.pin_dir);
	}
	return 0;
}

int cmd_unload(int argc, char **argv)
{
	(void)argv;
	if (argc)
		return cli_usage("unload takes no arguments");
	if (vr_unload(cli.pin_dir))
		return cli_fail("unload failed");
	if (!cli.json)
		printf("datapath unloaded\n");
	return 0;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void print_event(const struct vr_event *e, void *arg)
{
	char ip[16], dev[16];

	(void)arg;
	if (e->type != VR_EV_NEIGH_MISS)
		return;
	if (cli.json) {
		jw_obj_begin(NULL);
		jw_str("event", "neigh_miss");
		jw_str("dev", cli_ifname(e->ifindex, dev));
		jw_str("addr", cli_ip(e->addr, ip));
		jw_obj_end();
		jw_finish();
	} else {
		printf("neigh_miss dev %s addr %s: resolving\n", cli_ifname(e->ifindex, dev), cli_ip(e->addr, ip));
	}
	fflush(stdout);
}

int cmd_monitor(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct vr_handle h;
	struct vr_events *ev;
	int rc = 0;

	(void)argv;
	if (argc)
		return cli_usage("monitor takes no arguments");
	if ((rc = cli_open(&h)))
		return rc;
	/* The monitor only reads: let other writers in while it runs. */
	vr_unlock(&h);
	ev = vr_events_open(&h, print_event, NULL);
	if (!ev) {
		vr_close(&h);
		return cli_fail("cannot watch datapath events");
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!cli.json) {
		printf("monitoring %s (Ctrl-C to stop)\n", cli.pin_dir);
		fflush(stdout);
	}
	while (!stop) {
		if (vr_events_poll(ev, 200) < 0) {
			rc = cli_fail("monitor");
			break;
		}
	}
	vr_events_close(ev);
	vr_close(&h);
	return rc;
}
