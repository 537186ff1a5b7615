/* The gateway's contract with BIRD 2, the routing daemon that speaks BGP to the border router: the agent writes
 * the public prefixes of its tenants (gateway.announce, or each public address as a /32) into one include file
 * as a complete static protocol,
 *
 *   protocol static vr_public {
 *   	ipv4;
 *   	route 198.51.100.0/24 blackhole;
 *   }
 *
 * which the operator's bird.conf includes at the top level and exports to the border (`export where proto =
 * "vr_public";`); the agent never touches bird.conf itself (README: an example). The file is replaced atomically
 * (temporary file, fsync, rename), only when its text changes, and then `birdc [-s SOCKET] configure` makes a
 * running BIRD read it. BIRD not running is no error of the agent's: the file is there for BIRD's next start.
 * Like the configuration loader, these functions never print and never exit: 0 or -errno, with one line in
 * err for the caller to log. */
#ifndef VR_AGENT_BIRD_H
#define VR_AGENT_BIRD_H

#include <stdbool.h>
#include <stddef.h>
#include "config.h"

/* The static protocol's name, for the operator's export filter. */
#define VR_BIRD_PROTOCOL "vr_public"
/* birdc gets this long to answer before it is killed. */
#define VR_BIRD_TIMEOUT_MS 5000

/* The include file's text for gw, malloc'd into *text (NUL-terminated, *len bytes). 0 or -ENOMEM. */
int vr_bird_render(const struct vr_agent_gateway *gw, char **text, size_t *len);
/* Replace path with text unless it already holds exactly that: *changed says whether it was written. */
int vr_bird_write(const char *path, const char *text, size_t len, bool *changed, char *err, size_t errlen);
/* Run `birdc [-s socket] configure` ("" or NULL: birdc's own default socket) and wait for it (at most
 * VR_BIRD_TIMEOUT_MS). 0 when BIRD took the new configuration; otherwise -errno (-ETIMEDOUT, -ENOENT no birdc,
 * -EIO birdc failed) with birdc's last line of output in err. */
int vr_bird_configure(const char *socket, char *err, size_t errlen);

#endif /* VR_AGENT_BIRD_H */
