/* vrouter-agent's gateway role: the datapath's gateway state from the configuration, the BIRD include file,
 * and the periodic sweep of the NAT connection table (see gateway.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "bird.h"
#include "datapath.h"
#include "gateway.h"
#include "libvrouter.h"
#include "log.h"
#include "loop.h"
#include "vr_consts.h"

_Static_assert(VR_AGENT_GW_VN_MAX == VR_AGENT_VN_MAX, "a tenant's vn is a port's vn");

static struct {
	struct vr_gw_tenant *t;
	size_t n;
	struct vr_agent_prefix pf[1 + VR_AGENT_GW_MAX_EXTERNAL];	/* routed out in every tenant VRF */
	size_t n_pf;
	struct vr_watch gc;		/* timer only */
	struct vr_handle gch;		/* the sweep's own handle, without the writer lock */
	bool gch_open;
	bool gc_failing;		/* the last sweep failed (logged once until one succeeds) */
} G = { .gc.fd = -1 };

/* libvrouter's explanation of the last failure, or strerror when it left none. */
static const char *why(int rc)
{
	const char *s = vr_strerror();

	return *s ? s : strerror(-rc);
}

size_t vr_gw_count(void)
{
	return G.n;
}

const struct vr_gw_tenant *vr_gw_tenant(size_t i)
{
	return i < G.n ? &G.t[i] : NULL;
}

bool vr_gw_vn_vrf(const char *vn, __u32 *vrf_id)
{
	for (size_t i = 0; i < G.n; i++)
		if (!strcmp(G.t[i].vn, vn)) {
			*vrf_id = G.t[i].vrf_id;
			return true;
		}
	return false;
}

size_t vr_gw_prefix_count(void)
{
	return G.n_pf;
}

const struct vr_agent_prefix *vr_gw_prefix(size_t i)
{
	return i < G.n_pf ? &G.pf[i] : NULL;
}

static bool is_gw_prefix(__be32 prefix, __u32 plen)
{
	for (size_t i = 0; i < G.n_pf; i++)
		if (G.pf[i].addr == prefix && G.pf[i].plen == plen)
			return true;
	return false;
}

bool vr_gw_owns(__u32 vrf_id, __be32 prefix, __u32 plen)
{
	for (size_t i = 0; i < G.n; i++)
		if (G.t[i].vrf_id == vrf_id)
			return is_gw_prefix(prefix, plen);
	return false;
}

/* ---- what the datapath holds ---- */

/* Existing VRFs and their per-VRF labels, by VRF id. */
struct vrf_seen {
	bool exists[VR_MAX_VRFS];
	__u32 label[VR_MAX_VRFS];
};

static int vrf_mark(const struct vr_vrf_info *info, void *arg)
{
	struct vrf_seen *v = arg;

	if (info->vrf_id < VR_MAX_VRFS) {
		v->exists[info->vrf_id] = true;
		v->label[info->vrf_id] = info->label;
	}
	return 0;
}

/* e (n elements of size used, *cap allocated) with room for one more: e itself, a larger copy (*cap updated),
 * or NULL when out of memory (e is then left as it was). */
static void *room_for_one(void *e, size_t n, size_t *cap, size_t size)
{
	size_t c = *cap ? *cap * 2 : 64;
	void *bigger;

	if (n < *cap)
		return e;
	bigger = realloc(e, c * size);
	if (bigger)
		*cap = c;
	return bigger;
}

struct fip_list {
	struct { __be32 pub; struct vr_fip_key priv; } *e;
	size_t n, cap;
};

static int fip_collect(__be32 public_ip, const struct vr_fip_key *priv, void *arg)
{
	struct fip_list *l = arg;
	void *e = room_for_one(l->e, l->n, &l->cap, sizeof(*l->e));

	if (!e)
		return -ENOMEM;
	l->e = e;
	l->e[l->n].pub = public_ip;
	l->e[l->n].priv = *priv;
	l->n++;
	return 0;
}

/* The IPv4 routes of a VRF via an EXTERNAL nexthop. */
struct ext_list {
	struct vr_agent_prefix *e;
	size_t n, cap;
};

static int ext_collect(const struct vr_route_info *r, void *arg)
{
	struct ext_list *l = arg;
	void *e;

	if (r->family != AF_INET || r->nh.type != VR_NH_EXTERNAL)
		return 0;
	e = room_for_one(l->e, l->n, &l->cap, sizeof(*l->e));
	if (!e)
		return -ENOMEM;
	l->e = e;
	l->e[l->n++] = (struct vr_agent_prefix){ .addr = r->prefix, .plen = r->plen };
	return 0;
}

/* Remove the EXTERNAL routes of VRF id, but those the gateway routes out when keep is true (a tenant VRF).
 * Returns how many were removed. Collected first: the routes are not removed under the walk. */
static unsigned int clear_external(struct vr_handle *h, __u32 id, bool keep)
{
	struct ext_list l = {};
	unsigned int n = 0;
	char a[16];
	int rc;

	rc = vr_route_foreach(h, id, ext_collect, &l);
	if (rc)
		log_warn("gateway: reading the routes of vrf %u failed: %s", id,
			 rc == -ENOMEM ? "out of memory" : why(rc));
	for (size_t i = 0; i < l.n; i++) {
		if (keep && is_gw_prefix(l.e[i].addr, l.e[i].plen))
			continue;
		inet_ntop(AF_INET, &l.e[i].addr, a, sizeof(a));
		rc = vr_route_del(h, id, l.e[i].addr, l.e[i].plen);
		if (rc) {
			log_err("gateway: removing the external route %s/%u of vrf %u failed: %s", a, l.e[i].plen, id,
				why(rc));
			continue;
		}
		if (keep)
			log_info("gateway: vrf %u: external route %s/%u removed: no longer configured", id, a,
				 l.e[i].plen);
		n++;
	}
	free(l.e);
	return n;
}

static bool is_tenant(const struct vr_agent_gateway *gw, __u32 vrf_id)
{
	for (unsigned int i = 0; i < gw->n_tenants; i++)
		if (gw->tenants[i].vrf_id == vrf_id)
			return true;
	return false;
}

/* Remove the SNAT address and the external routes of every existing VRF that is no tenant of gw (all of them
 * when gw is NULL), and from the tenant VRFs the external routes of prefixes no longer configured. Returns how
 * many VRFs that are no tenant had something removed. */
static unsigned int clear_other_vrfs(struct vr_handle *h, const struct vr_agent_gateway *gw, const struct vrf_seen *v)
{
	unsigned int n = 0;

	for (__u32 id = 0; id < VR_MAX_VRFS; id++) {
		struct vr_snat sn = {};
		bool any = false;

		if (!v->exists[id])
			continue;
		if (gw && is_tenant(gw, id)) {
			clear_external(h, id, true);
			continue;
		}
		if (!vr_snat_get(h, id, &sn) && sn.addr) {
			any = true;
			if (vr_snat_set(h, id, 0, 0, 0))
				log_err("gateway: removing the SNAT address of vrf %u failed: %s", id, vr_strerror());
		}
		if (clear_external(h, id, false))
			any = true;
		if (any) {
			log_info("gateway: vrf %u is no tenant (any more): its SNAT address and external routes removed",
				 id);
			n++;
		}
	}
	return n;
}

/* Make the floating IPs of the datapath those of gw (NULL: none). */
static int sync_fips(struct vr_handle *h, const struct vr_agent_gateway *gw)
{
	struct fip_list have = {};
	char a[16], b[16];
	int rc;

	rc = vr_fip_foreach(h, fip_collect, &have);
	if (rc) {
		log_err("gateway: reading the floating IPs failed: %s", rc == -ENOMEM ? "out of memory" : why(rc));
		free(have.e);
		return rc;
	}
	/* Those that are gone or point elsewhere now. */
	for (size_t i = 0; i < have.n; i++) {
		bool keep = false;

		for (unsigned int k = 0; gw && k < gw->n_fips && !keep; k++) {
			const struct vr_agent_fip *f = &gw->fips[k];

			keep = f->public_ip == have.e[i].pub && f->private_ip == have.e[i].priv.addr &&
			       gw->tenants[f->tenant].vrf_id == have.e[i].priv.vrf_id;
		}
		if (keep)
			continue;
		inet_ntop(AF_INET, &have.e[i].pub, a, sizeof(a));
		rc = vr_fip_del(h, have.e[i].pub);
		if (rc && rc != -ENOENT)
			log_err("gateway: removing floating IP %s failed: %s", a, why(rc));
		else
			log_info("gateway: floating IP %s (vrf %u, %s) removed: no longer configured", a,
				 have.e[i].priv.vrf_id, inet_ntop(AF_INET, &have.e[i].priv.addr, b, sizeof(b)));
		have.e[i].pub = 0;
	}
	rc = 0;
	for (unsigned int k = 0; gw && k < gw->n_fips; k++) {
		const struct vr_agent_fip *f = &gw->fips[k];
		__u32 vrf_id = gw->tenants[f->tenant].vrf_id;
		bool present = false;
		int r;

		for (size_t i = 0; i < have.n && !present; i++)
			present = have.e[i].pub == f->public_ip;
		if (present)
			continue;
		inet_ntop(AF_INET, &f->public_ip, a, sizeof(a));
		inet_ntop(AF_INET, &f->private_ip, b, sizeof(b));
		r = vr_fip_add(h, f->public_ip, vrf_id, f->private_ip);
		if (r) {
			log_err("gateway: floating IP %s -> vrf %u %s: %s", a, vrf_id, b, why(r));
			rc = rc ? rc : r;
			continue;
		}
		log_info("gateway: floating IP %s -> vrf %u %s", a, vrf_id, b);
	}
	free(have.e);
	return rc;
}

/* The tenant's VRF with a per-VRF label (created, or given a label, if needed), its SNAT address and its
 * default route out of the external NIC. */
static int setup_tenant(struct vr_handle *h, struct vr_ports *ports, const struct vr_agent_tenant *t,
			const struct vrf_seen *v, __u32 *label)
{
	struct vr_nh_spec ext = { .type = VR_NH_EXTERNAL };
	char err[256], a[16];
	int rc;

	*label = v->exists[t->vrf_id] ? v->label[t->vrf_id] : 0;
	if (!*label) {
		rc = vr_ports_label_pick(ports, h, label, err, sizeof(err));
		if (rc) {
			log_err("gateway: vrf %u (%s): no label: %s", t->vrf_id, t->vn, err);
			return rc;
		}
		if (v->exists[t->vrf_id]) {
			struct vr_label_req req = { .label = *label, .vrf_id = t->vrf_id };

			rc = vr_label_add(h, &req);
		} else {
			rc = vr_vrf_add(h, t->vrf_id, *label);
		}
		if (rc) {
			log_err("gateway: vrf %u (%s) with label %u: %s", t->vrf_id, t->vn, *label, why(rc));
			return rc;
		}
		log_info("gateway: vrf %u (%s) %s, per-VRF label %u", t->vrf_id, t->vn,
			 v->exists[t->vrf_id] ? "exists" : "created", *label);
	}
	rc = vr_snat_set(h, t->vrf_id, t->snat_addr, t->port_min, t->port_max);
	if (rc) {
		log_err("gateway: vrf %u (%s): SNAT address %s: %s", t->vrf_id, t->vn,
			inet_ntop(AF_INET, &t->snat_addr, a, sizeof(a)), why(rc));
		return rc;
	}
	/* Replace: a route learned from another gateway before this host became one gives way. */
	for (size_t i = 0; i < G.n_pf; i++) {
		rc = vr_route_replace(h, t->vrf_id, G.pf[i].addr, G.pf[i].plen, &ext);
		if (rc) {
			log_err("gateway: vrf %u (%s): route %s/%u via the external NIC: %s", t->vrf_id, t->vn,
				inet_ntop(AF_INET, &G.pf[i].addr, a, sizeof(a)), G.pf[i].plen, why(rc));
			return rc;
		}
	}
	if (t->snat_addr)
		log_info("gateway: tenant %s (vrf %u, label %u): SNAT to %s ports %u-%u, %u floating IP(s)", t->vn,
			 t->vrf_id, *label, inet_ntop(AF_INET, &t->snat_addr, a, sizeof(a)),
			 t->port_min ? t->port_min : 1024, t->port_min ? t->port_max : 65535, t->n_fips);
	else
		log_info("gateway: tenant %s (vrf %u, label %u): no SNAT address, %u floating IP(s)", t->vn, t->vrf_id,
			 *label, t->n_fips);
	return 0;
}

/* A vrouter-role agent on a host that was a gateway: take the gateway state away. */
static int clear_gateway(struct vr_handle *h, const struct vrf_seen *v)
{
	struct vr_nat_config nc = {};
	int rc;

	if (vr_gateway_get(h, &nc) || !nc.ext_ifindex)
		return 0;
	log_info("gateway: the datapath still has gateway state (external ifindex %u) and the role is vrouter: "
		 "removing it", nc.ext_ifindex);
	sync_fips(h, NULL);
	clear_other_vrfs(h, NULL, v);
	rc = vr_gateway_unset(h);
	if (rc)
		log_err("gateway: detaching from the external NIC failed: %s", why(rc));
	return rc;
}

/* ---- BIRD ---- */

static void bird_update(const struct vr_agent_gateway *gw)
{
	char *text = NULL, err[512];
	bool changed;
	size_t len;
	int rc;

	if (!gw->bird_include[0])
		return;
	if (vr_bird_render(gw, &text, &len)) {
		log_err("gateway: BIRD include file: out of memory");
		return;
	}
	rc = vr_bird_write(gw->bird_include, text, len, &changed, err, sizeof(err));
	free(text);
	if (rc) {
		log_err("gateway: BIRD include file: %s", err);
		return;
	}
	if (!changed) {
		log_info("gateway: BIRD include file %s is up to date", gw->bird_include);
		return;
	}
	log_info("gateway: BIRD include file %s written", gw->bird_include);
	rc = vr_bird_configure(gw->bird_socket, err, sizeof(err));
	if (rc)
		log_warn("gateway: BIRD did not take the new prefixes (%s); it reads the file when it starts", err);
	else
		log_info("gateway: BIRD reconfigured");
}

/* ---- the NAT sweep ---- */

static void on_gc(struct vr_watch *w, uint32_t events)
{
	int n;

	(void)events;
	n = vr_nat_gc(&G.gch);
	if (n < 0) {
		if (!G.gc_failing)
			log_warn("gateway: sweeping the NAT table failed: %s (retrying every %d ms)", why(n), VR_GW_GC_MS);
		G.gc_failing = true;
	} else {
		if (G.gc_failing)
			log_info("gateway: sweeping the NAT table works again");
		G.gc_failing = false;
		if (n)
			log_debug("gateway: %d expired NAT connection(s) swept", n);
	}
	vr_loop_timer(w, VR_GW_GC_MS);
}

/* ---- start / stop ---- */

int vr_gw_start(const struct vr_agent_config *cfg, struct vr_ports *ports)
{
	const struct vr_agent_gateway *gw = &cfg->gw;
	struct vr_gateway_spec spec = {
		.ext_ifname = gw->ext_dev,
		.timeout_tcp = gw->timeout_tcp,
		.timeout_tcp_transitory = gw->timeout_tcp_transitory,
		.timeout_udp = gw->timeout_udp,
		.timeout_icmp = gw->timeout_icmp,
	};
	struct vrf_seen *v;
	struct vr_handle *h;
	int rc;

	if (cfg->role == VR_AGENT_ROLE_GATEWAY) {
		/* The sweep's handle (opened first: a second vr_open while the agent's shared handle holds the
		 * lock would wait forever). It runs without the writer lock: the datapath writes the NAT table
		 * concurrently anyway, and a long sweep must not keep vrouterctl or the port API waiting. */
		vr_dp_close();
		rc = vr_open(cfg->pin_dir, &G.gch);
		if (rc) {
			log_err("gateway: cannot open the datapath: %s", why(rc));
			return rc;
		}
		vr_unlock(&G.gch);
		G.gch_open = true;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		log_err("gateway: out of memory");
		return -ENOMEM;
	}
	rc = vr_dp_get(&h);
	if (rc) {
		log_err("gateway: cannot open the datapath: %s", why(rc));
		free(v);
		return rc;
	}
	if (cfg->role != VR_AGENT_ROLE_GATEWAY) {
		struct vr_nat_config nc = {};

		/* The common case, a compute host that never was a gateway: nothing more to read. */
		if (vr_gateway_get(h, &nc) || !nc.ext_ifindex)
			goto out;
	}
	rc = vr_vrf_foreach(h, vrf_mark, v);
	if (rc) {
		log_err("gateway: reading the VRFs failed: %s", why(rc));
		goto out;
	}
	if (cfg->role != VR_AGENT_ROLE_GATEWAY) {
		rc = clear_gateway(h, v);
		goto out;
	}
	G.t = calloc(gw->n_tenants, sizeof(*G.t));
	if (!G.t) {
		rc = -ENOMEM;
		log_err("gateway: out of memory");
		goto out;
	}
	rc = vr_gateway_set(h, &spec);
	if (rc) {
		log_err("gateway: external NIC %s: %s", gw->ext_dev, why(rc));
		goto out;
	}
	log_info("gateway: external NIC %s, NAT timeouts tcp %u s, tcp-transitory %u s, udp %u s, icmp %u s",
		 gw->ext_dev, gw->timeout_tcp, gw->timeout_tcp_transitory, gw->timeout_udp, gw->timeout_icmp);
	G.n_pf = 0;
	if (gw->default_route)
		G.pf[G.n_pf++] = (struct vr_agent_prefix){ .addr = 0, .plen = 0 };
	for (unsigned int i = 0; i < gw->n_external && i < VR_AGENT_GW_MAX_EXTERNAL; i++)
		G.pf[G.n_pf++] = gw->external[i];
	log_info("gateway: %s%u external prefix(es) routed out and advertised in each tenant VRF",
		 gw->default_route ? "0.0.0.0/0 and " : "", gw->n_external);
	for (unsigned int i = 0; i < gw->n_tenants; i++) {
		const struct vr_agent_tenant *t = &gw->tenants[i];

		/* A port of the same virtual network in another VRF would make the two disagree about the node. */
		for (size_t k = 0; k < ports->n; k++)
			if (!strcmp(ports->port[k].vn, t->vn) && ports->port[k].vrf_id != t->vrf_id)
				log_warn("gateway: port %s is in %s with vrf %u, the configuration says vrf %u",
					 ports->port[k].name, t->vn, ports->port[k].vrf_id, t->vrf_id);
		rc = setup_tenant(h, ports, t, v, &G.t[G.n].label);
		if (rc)
			goto out;
		G.t[G.n].vn = t->vn;
		G.t[G.n].vrf_id = t->vrf_id;
		G.n++;
	}
	clear_other_vrfs(h, gw, v);
	rc = sync_fips(h, gw);
	if (rc)
		goto out;
	/* Closed now, not after the linger time: main opens a handle of its own next, before the loop runs. */
	vr_dp_put();
	vr_dp_close();
	free(v);

	bird_update(gw);
	G.gc.fd = -1;
	G.gc.on_timer = on_gc;
	vr_loop_timer(&G.gc, VR_GW_GC_MS);
	log_info("gateway: ready: %zu tenant(s), %u floating IP(s), NAT table swept every %d ms", G.n, gw->n_fips,
		 VR_GW_GC_MS);
	return 0;
out:
	vr_dp_put();
	vr_dp_close();
	free(v);
	if (rc) {
		free(G.t);
		G.t = NULL;
		G.n = 0;
		G.n_pf = 0;
	}
	return rc;
}

void vr_gw_stop(void)
{
	vr_loop_timer(&G.gc, 0);
	if (G.gch_open)
		vr_close(&G.gch);
	G.gch_open = false;
	free(G.t);
	G.t = NULL;
	G.n = 0;
	G.n_pf = 0;
}
