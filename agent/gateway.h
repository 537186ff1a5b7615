/* vrouter-agent's gateway role (role: gateway in the configuration, issue 7): the host with one leg in the
 * overlay and one in the external network. At start the agent programs the datapath from the gateway section:
 * the external NIC and the NAT timeouts (vr_gateway_set), each tenant's source-NAT address (vr_snat_set), the
 * floating IPs (vr_fip_add; those the datapath holds and the configuration no longer has are removed), and in
 * each tenant VRF (created if needed) a per-VRF label and the gateway's prefixes via an EXTERNAL nexthop:
 * 0.0.0.0/0 (unless default-route: false) and each of external-prefixes. The XMPP sessions (xmpp_session.c)
 * subscribe to each tenant's VRF, publish those prefixes there with this host as next hop and that label, so
 * every vRouter of the tenant sends what leaves the VRF here, and learn the tenant's routes (the way back to its
 * VMs); floating IPs need nothing in the overlay. The public prefixes go to BIRD (bird.h). While running, the
 * agent sweeps the NAT connection table every VR_GW_GC_MS.
 *
 * The agent owns the EXTERNAL routes of the datapath: at the next start, those of tenants no longer configured
 * go with their SNAT address, and those of a prefix no longer configured (default-route: false included) go
 * from the tenant VRFs; a vrouter-role agent that finds gateway state in the datapath (a host that was a
 * gateway) removes all of it. The configuration is read at start only (SIGHUP is ignored): a restart applies a
 * new one, and is hitless for the datapath (NAT table and maps stay pinned). */
#ifndef VR_AGENT_GATEWAY_H
#define VR_AGENT_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "config.h"
#include "ports.h"

/* How often the NAT connection table is swept of expired connections. */
#define VR_GW_GC_MS 5000

/* A tenant VRF as the XMPP sessions publish it. */
struct vr_gw_tenant {
	const char *vn;		/* its virtual network (XMPP node) */
	__u32 vrf_id;
	__u32 label;		/* the per-VRF label published with the gateway's prefixes */
};

/* Program the datapath for cfg's role (see above), write the BIRD include file, start the NAT sweep. 0, or
 * -errno when the datapath could not be programmed (logged). ports: for labels (the port range, in use). */
int vr_gw_start(const struct vr_agent_config *cfg, struct vr_ports *ports);
/* Stop the sweep (the datapath keeps its gateway state: forwarding does not depend on the agent). */
void vr_gw_stop(void);

/* The tenant VRFs (none unless role gateway and started). */
size_t vr_gw_count(void);
const struct vr_gw_tenant *vr_gw_tenant(size_t i);
/* The VRF id of a tenant's virtual network: true and *vrf_id, or false. */
bool vr_gw_vn_vrf(const char *vn, __u32 *vrf_id);
/* The prefixes the gateway routes out and publishes in every tenant VRF (0.0.0.0/0 first, unless
 * default-route: false, then external-prefixes); none unless role gateway and started. */
size_t vr_gw_prefix_count(void);
const struct vr_agent_prefix *vr_gw_prefix(size_t i);
/* Does the gateway hold prefix/plen in vrf_id (learned routes for it there are kept, not installed)? */
bool vr_gw_owns(__u32 vrf_id, __be32 prefix, __u32 plen);

#endif /* VR_AGENT_GATEWAY_H */
