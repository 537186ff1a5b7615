/* vrouter-agent's one datapath handle. libvrouter's handle holds the writer lock of the pin folder and, once a
 * route or nexthop has been changed through it, a snapshot of the nexthop table (read whole: about 250 ms
 * for its 1M entries), so opening one per operation or per received chunk costs more than the work itself.
 * Every part of the agent that writes the datapath (ports, learned routes) takes this handle instead of
 * vr_open: nested uses share it (a second vr_open in the same process would wait on the lock forever), and
 * after the last user is done it lingers VR_DP_LINGER_MS for the next one before it is closed, which lets
 * vrouterctl and other writers in. A handle that has been held VR_DP_MAX_HOLD_MS in a row is closed at the
 * next release even when work is still coming (a route storm), so no other writer waits longer than that. */
#ifndef VR_AGENT_DATAPATH_H
#define VR_AGENT_DATAPATH_H

#include "libvrouter.h"

#define VR_DP_LINGER_MS		100
#define VR_DP_MAX_HOLD_MS	2000

/* The pin folder of every later vr_dp_get. */
void vr_dp_init(const char *pin_dir);
/* The agent's handle in *h, opened if it was not: 0, or vr_open's -errno (vr_strerror() says why). Each
 * successful get is paired with a vr_dp_put. */
int vr_dp_get(struct vr_handle **h);
void vr_dp_put(void);
/* Close it now if nobody uses it (at exit). */
void vr_dp_close(void);

#endif /* VR_AGENT_DATAPATH_H */
