/* vrouter-agent XMPP sessions: one per configured controller (up to two), in the agent's epoll loop, in
 * the Tungsten Fabric control-node dialect (../shared/TF-XMPP.md). Each session connects without blocking,
 * opens the stream, and once the control node answers subscribes (instance-id = VRF id) to every VRF that
 * has ports and publishes every port's /32s (node 1/1/VRF) and /128s (2/1/VRF); port changes (vr_xmpp_port_changed) publish/withdraw and
 * subscribe/unsubscribe while up. Routes the controllers send go to the learned routes (routes.h). Keepalive
 * U+0200 every hold/3, hold timer restarted by anything received, reconnect with backoff 1 s doubling to
 * 30 s. Losing a session keeps its learned routes as stale; after reconnecting, EndOfRib or the
 * graceful-restart stale timeout sweeps those not refreshed. A decoder error closes only that session. */
#ifndef VR_AGENT_XMPP_SESSION_H
#define VR_AGENT_XMPP_SESSION_H

#include <stdbool.h>
#include "config.h"
#include "ports.h"
#include "routes.h"

/* Start the sessions of cfg->controllers (none: nothing to do). Returns 0 or -errno. */
int vr_xmpp_start(const struct vr_agent_config *cfg, struct vr_ports *ports, struct vr_routes *routes);
void vr_xmpp_stop(void);
/* The ports hook: port was added (added) or deleted (ports no longer holds it). */
void vr_xmpp_port_changed(void *arg, const struct vr_port *port, bool added);

#endif /* VR_AGENT_XMPP_SESSION_H */
