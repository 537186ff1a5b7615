/* vrouter-agent ports: the VM-facing devices the hypervisor asked for, and what the agent programmed for
 * each (vif, MPLS label from the configured range, local /32 route). Every change goes through libvrouter
 * under its writer lock, on the agent's shared handle (datapath.h: released within VR_DP_LINGER_MS of the
 * last use), so vrouterctl can run beside the agent.
 *
 * Hitless restart: the datapath's vifs map is the truth for what exists; what the maps cannot hold (the
 * virtual network name, later the XMPP node) is kept in a state file, PORT_SOCKET.state, rewritten
 * atomically (temporary file + rename) after every change. On start the agent adopts every vif in the map
 * as a port, with the name found in the state file for that device (none if the vif was not the agent's);
 * state lines whose vif has gone are dropped. The state file also keeps every address of a port (the vif
 * holds only the primary one), so a restarted agent publishes and removes the others too. Labels come from the label map, so an adopted port keeps its
 * label and no label in use is ever handed out again. */
#ifndef VR_AGENT_PORTS_H
#define VR_AGENT_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/types.h>
#include "config.h"

/* A virtual network name: the XMPP node of the VRF, e.g. default-domain:admin:vn1. */
#define VR_AGENT_VN_MAX 255
#define VR_AGENT_STATE_SUFFIX ".state"
/* IPv4 addresses of one port: the first is the vif's own (the datapath's ARP own-address check); each
 * gets a local /32 via the vif and is published on its own over XMPP. */
#define VR_PORT_IPS_MAX 8
/* IPv6 addresses of one port (optional, beside the IPv4 ones): the first is the vif's own (the datapath's
 * neighbour-discovery own-address check); each gets a local /128 via the vif and is published on its own
 * (node 2/1/VRF). Global or unique-local unicast only: link-local addresses are not routed. */
#define VR_PORT_IP6S_MAX 8

struct vr_port {
	char name[IFNAMSIZ];
	char vn[VR_AGENT_VN_MAX + 1];   /* "" when adopted without a state entry */
	__u32 ifindex, vif_id, vrf_id, label;
	__be32 ip, gw_ip;               /* ip: the primary address, ips[0] */
	__be32 ips[VR_PORT_IPS_MAX];    /* every address, primary first */
	unsigned int n_ips;             /* 1..VR_PORT_IPS_MAX */
	struct in6_addr ip6s[VR_PORT_IP6S_MAX]; /* IPv6 addresses, the vif's first */
	unsigned int n_ip6s;            /* 0..VR_PORT_IP6S_MAX */
	struct in6_addr gw6;            /* IPv6 gateway (all zero: none) */
	__u8 mac[6];
	__u16 mtu;
	bool xdp;
};

/* What the hypervisor asks for. */
struct vr_port_req {
	char name[IFNAMSIZ];
	char vn[VR_AGENT_VN_MAX + 1];
	__u32 vrf_id;
	__be32 ips[VR_PORT_IPS_MAX];    /* primary first, distinct, non-zero */
	unsigned int n_ips;             /* 1..VR_PORT_IPS_MAX */
	__be32 gw_ip;
	struct in6_addr ip6s[VR_PORT_IP6S_MAX]; /* vr_port_ip6_valid, distinct */
	unsigned int n_ip6s;            /* 0..VR_PORT_IP6S_MAX */
	struct in6_addr gw6;            /* zero: none; else vr_port_gw6_valid, and n_ip6s >= 1 */
	__u8 mac[6];
	__u16 mtu;      /* 0: the device's */
	bool xdp;
};

struct vr_ports {
	char pin_dir[VR_AGENT_PIN_DIR_MAX];
	char state_path[VR_AGENT_SOCKET_PATH_MAX + sizeof(VR_AGENT_STATE_SUFFIX)];
	__u32 label_first, label_last;
	struct vr_port *port;
	size_t n, cap;
	/* Called after a successful add (added true) or delete (the table no longer holds the port), e.g. by
	 * the XMPP sessions to publish or withdraw it. NULL: nobody listens. */
	void (*on_change)(void *arg, const struct vr_port *port, bool added);
	void *on_change_arg;
	/* Called (with the datapath open) just before a new port's /32s and /128s are added (claim true), and
	 * again if the add then fails (claim false): whoever installed other routes for those addresses takes them
	 * away, and back (the learned routes of an anycast address, which other hosts have too). NULL: nobody. */
	void (*on_claim)(void *arg, __u32 vrf_id, const __be32 *ips, unsigned int n, const struct in6_addr *ip6s,
			 unsigned int n6, bool claim);
	void *on_claim_arg;
};

void vr_ports_init(struct vr_ports *p, const struct vr_agent_config *cfg);
void vr_ports_free(struct vr_ports *p);
/* Rebuild the table from the vifs map and the state file. Returns 0 or -errno (err says why). */
int vr_ports_adopt(struct vr_ports *p, char *err, size_t errlen);
/* 0 and *out filled, or -errno with a one-line reason in err. */
int vr_ports_add(struct vr_ports *p, const struct vr_port_req *req, struct vr_port *out, char *err, size_t errlen);
int vr_ports_del(struct vr_ports *p, const char *name, char *err, size_t errlen);
const struct vr_port *vr_ports_find(const struct vr_ports *p, const char *name);
/* The lowest label of the configured range that no label map entry and no port uses (the gateway's per-VRF
 * labels come from the same range). 0, or -errno with the reason in err. */
struct vr_handle;
int vr_ports_label_pick(struct vr_ports *p, struct vr_handle *h, __u32 *label, char *err, size_t errlen);
/* A vn name the agent accepts: 1..255 of [A-Za-z0-9:._-], starting with a letter or digit. */
bool vr_vn_valid(const char *s);
/* Parse "A[,B...]": 1..VR_PORT_IPS_MAX distinct non-zero IPv4 addresses. 0, or -1 with the reason in err. */
int vr_port_ips_parse(const char *s, __be32 *ips, unsigned int *n, char *err, size_t errlen);
/* "A,B,..." into buf (at least VR_PORT_IPS_MAX * 16 bytes); returns buf. */
#define VR_PORT_IPS_STRLEN (VR_PORT_IPS_MAX * 16)
char *vr_port_ips_format(const __be32 *ips, unsigned int n, char *buf, size_t len);
/* A port's own IPv6 address: unicast, not unspecified, loopback, link-local, multicast or IPv4-mapped. */
bool vr_port_ip6_valid(const struct in6_addr *a);
/* An IPv6 gateway: unicast, link-local allowed (the usual choice), not unspecified, loopback or multicast. */
bool vr_port_gw6_valid(const struct in6_addr *a);
/* Parse "A[,B...]": 1..VR_PORT_IP6S_MAX distinct vr_port_ip6_valid addresses. 0, or -1 with the reason in err. */
int vr_port_ip6s_parse(const char *s, struct in6_addr *ip6s, unsigned int *n, char *err, size_t errlen);
/* "A,B,..." into buf (at least VR_PORT_IP6S_STRLEN bytes); "" when n is 0; returns buf. */
#define VR_PORT_IP6S_STRLEN (VR_PORT_IP6S_MAX * INET6_ADDRSTRLEN)
char *vr_port_ip6s_format(const struct in6_addr *ip6s, unsigned int n, char *buf, size_t len);

#endif /* VR_AGENT_PORTS_H */
