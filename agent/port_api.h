/* vrouter-agent port API: a Unix stream socket (mode 0600) for the hypervisor, one request per line, one
 * reply per request:
 *   add name=DEV mac=MAC ip=ADDR[,ADDR...] vrf=ID vn=NAME [gw=ADDR] [mtu=N] [mode=tc|xdp]
 *       [ip6=ADDR6[,ADDR6...] [gw6=ADDR6]]                          -> ok vif=N label=L
 *        (ip: 1..VR_PORT_IPS_MAX distinct addresses, the first the vif's own; a /32 route each;
 *         ip6: 1..VR_PORT_IP6S_MAX distinct global/unique-local IPv6 addresses, the first the vif's own, a /128
 *         route each; gw6: the IPv6 gateway, link-local allowed, only with ip6)
 *   del name=DEV                                                                 -> ok
 *   list  -> "port name=.. vif=.. label=.. vrf=.. ip=A[,B..] mac=.. gw=.. mtu=.. mode=.. vn=..[ ip6=.. gw6=..]"
 *            lines (ip6/gw6 only for ports with IPv6 addresses, gw6 "-" when none), then "end"
 * Failures answer "error <one line>". Lines are at most VR_PORT_API_LINE_MAX bytes: a longer one is
 * answered with an error and the connection closed. At most VR_PORT_API_MAX_CLIENTS connections; one more
 * is told so and closed. Clients are served from the agent's event loop, never blocking it. */
#ifndef VR_AGENT_PORT_API_H
#define VR_AGENT_PORT_API_H

#include "ports.h"

#define VR_PORT_API_LINE_MAX 1024
#define VR_PORT_API_MAX_CLIENTS 64
/* Replies a client does not read pile up to this much before the agent gives up on it. */
#define VR_PORT_API_OUT_MAX (4 << 20)

struct vr_port_api;

/* Create the socket's folder if missing, replace a stale socket (refuse a live one: another agent),
 * listen, and register with the loop. NULL on failure, with a one-line reason in err. */
struct vr_port_api *vr_port_api_open(const char *path, struct vr_ports *ports, char *err, size_t errlen);
/* Close every client and the listener, and remove the socket. */
void vr_port_api_close(struct vr_port_api *api);

/* Handle one request line (no newline) and append the reply lines to reply (NUL-terminated, newline
 * after each line). Exposed for the tests; returns 0, or -ENOMEM when the reply did not fit. */
struct vr_buf {
	char *data;
	size_t len, cap, off;
};
int vr_port_api_request(struct vr_ports *ports, const char *line, size_t len, struct vr_buf *reply);

#endif /* VR_AGENT_PORT_API_H */
