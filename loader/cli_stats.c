/* vrouterctl stats: per-vif packet/byte counters and every drop reason by name. */
#include <stdio.h>
#include "cli.h"

struct stats_ctx {
	struct vr_handle *h;
	int err;
};

static int vif_stats_print(const struct vr_vif *v, void *arg)
{
	struct stats_ctx *c = arg;
	struct vr_vif_stats st;
	char name[16];

	if (vr_vif_stats_get(c->h, v->vif_id, &st)) {
		c->err = -1;
		return -1;
	}
	cli_ifname(v->ifindex, name);
	if (cli.json) {
		jw_obj_begin(NULL);
		jw_str("name", name);
		jw_u64("vif", v->vif_id);
		jw_u64("vrf", v->vrf_id);
		jw_u64("rx_packets", st.rx_packets);
		jw_u64("rx_bytes", st.rx_bytes);
		jw_u64("tx_packets", st.tx_packets);
		jw_u64("tx_bytes", st.tx_bytes);
		jw_u64("drops", st.drops);
		jw_obj_end();
	} else {
		printf("%-4u %-15s %-5u %12llu %14llu %12llu %14llu %10llu\n", v->vif_id, name, v->vrf_id,
		       (unsigned long long)st.rx_packets, (unsigned long long)st.rx_bytes,
		       (unsigned long long)st.tx_packets, (unsigned long long)st.tx_bytes,
		       (unsigned long long)st.drops);
	}
	return 0;
}

int cmd_stats(int argc, char **argv)
{
	struct vr_handle h;
	struct stats_ctx c = { .h = &h };
	__u64 drops[VR_DROP_MAX];
	int rc;

	(void)argv;
	if (argc)
		return cli_usage("stats takes no arguments");
	if ((rc = cli_open(&h)))
		return rc;
	if (cli.json) {
		jw_obj_begin(NULL);
		jw_arr_begin("vifs");
	} else {
		printf("%-4s %-15s %-5s %12s %14s %12s %14s %10s\n", "vif", "device", "vrf", "rx_packets", "rx_bytes",
		       "tx_packets", "tx_bytes", "drops");
	}
	vr_vif_foreach(&h, vif_stats_print, &c);
	if (cli.json)
		jw_arr_end();
	if (c.err || vr_drops_get(&h, drops)) {
		if (cli.json) {
			jw_obj_end();
			jw_finish();
		}
		vr_close(&h);
		return cli_fail("reading counters failed");
	}
	if (cli.json) {
		jw_obj_begin("drops");
		for (__u32 r = 1; r < VR_DROP_MAX; r++)
			jw_u64(vr_drop_name(r), drops[r]);
		jw_obj_end();
		jw_obj_end();
		jw_finish();
	} else {
		printf("\n%-22s %12s  %s\n", "drop reason", "packets", "meaning");
		for (__u32 r = 1; r < VR_DROP_MAX; r++)
			printf("%-22s %12llu  %s\n", vr_drop_name(r), (unsigned long long)drops[r], vr_drop_desc(r));
	}
	vr_close(&h);
	return 0;
}
