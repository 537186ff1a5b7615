/* vrouter-agent configuration: the one YAML file the agent reads at start (schema and defaults in
 * agent/examples/vrouter-agent.yaml). The loader is strict: unknown keys, duplicate keys, wrong types,
 * out-of-range values, anchors, aliases and tags are errors, each reported as one line
 * "FILE:LINE:COLUMN: FIELD.PATH: what is wrong", so a typo never silently becomes a default. Everything
 * lives in fixed-size fields of struct vr_agent_config: nothing to free. Like libvrouter, the loader never
 * prints and never exits; it returns 0 or -errno and leaves the explanation in the caller's buffer. */
#ifndef VR_AGENT_CONFIG_H
#define VR_AGENT_CONFIG_H

#include <stdbool.h>
#include <stdio.h>
#include <net/if.h>
#include <linux/types.h>

/* TF-XMPP.md: an agent talks to at most two control nodes, on TCP 5269, hold time 90 s by default. */
#define VR_AGENT_MAX_CONTROLLERS 2
#define VR_AGENT_XMPP_PORT 5269
#define VR_AGENT_HOLD_TIME 90
/* Keepalives go out every hold/3 seconds, so 3 is the shortest hold time that keeps a whole second
 * between them; the upper bound is the 16-bit range BGP uses for the same timer. */
#define VR_AGENT_HOLD_TIME_MIN 3
#define VR_AGENT_HOLD_TIME_MAX 65535
/* Seconds after a controller reconnects before learned routes it did not refresh are swept (TF default). */
#define VR_AGENT_STALE_TIMEOUT 60
#define VR_AGENT_STALE_TIMEOUT_MAX 3600
#define VR_AGENT_PORT_SOCKET "/run/vrouter/agent.sock"
/* A config file larger than this is refused before it is parsed. */
#define VR_AGENT_CONFIG_MAX_BYTES (1024 * 1024)

/* Linux host names are at most 64 bytes (HOST_NAME_MAX). */
#define VR_AGENT_HOST_NAME_MAX 64
/* Same size as struct vr_handle.pin_dir in libvrouter.h. */
#define VR_AGENT_PIN_DIR_MAX 256
/* sizeof(struct sockaddr_un.sun_path) on Linux. */
#define VR_AGENT_SOCKET_PATH_MAX 108
#define VR_AGENT_LOG_FILE_MAX 4096
/* Tunnel encapsulations the datapath has (enum vr_encap of libvrouter.h: MPLS-in-UDP, MPLS-over-GRE). */
#define VR_AGENT_MAX_ENCAPS 2

/* The gateway role (issue 7): limits of the gateway section. Floating IPs are counted over all tenants. */
#define VR_AGENT_GW_MAX_TENANTS 256
#define VR_AGENT_GW_MAX_FIPS 4096
#define VR_AGENT_GW_MAX_ANNOUNCE 256
#define VR_AGENT_GW_MAX_EXTERNAL 256
/* Public addresses at most (an SNAT address per tenant, the floating IPs): the default announce list. */
#define VR_AGENT_GW_MAX_PUBLIC (VR_AGENT_GW_MAX_TENANTS + VR_AGENT_GW_MAX_FIPS)
/* A virtual network name (the XMPP node of a VRF), as the port API's vn= (VR_AGENT_VN_MAX of ports.h). */
#define VR_AGENT_GW_VN_MAX 255
/* NAT timeouts accepted, in seconds: at most a week. */
#define VR_AGENT_GW_TIMEOUT_MAX (7 * 24 * 3600)
#define VR_AGENT_BIRD_PATH_MAX 4096

enum vr_agent_role {
	VR_AGENT_ROLE_VROUTER,	/* compute host: ports, tunnels */
	VR_AGENT_ROLE_GATEWAY,	/* also the way out: NAT between tenant VRFs and the external network */
};

/* A gateway tenant: a VRF (named as the port API names it: its id, and its virtual network, the XMPP node)
 * that gets a default route out of the external NIC, source NAT to its public address, and floating IPs. */
struct vr_agent_tenant {
	char vn[VR_AGENT_GW_VN_MAX + 1];
	__u32 vrf_id;
	__be32 snat_addr;		/* 0: none (only its floating IPs reach the outside) */
	__u16 port_min, port_max;	/* SNAT ports; both 0: the datapath's default 1024..65535 */
	unsigned int fip_first, n_fips;	/* its floating IPs: gw.fips[fip_first .. fip_first + n_fips) */
};

struct vr_agent_fip {
	__be32 public_ip, private_ip;
	unsigned int tenant;		/* index in gw.tenants */
};

struct vr_agent_prefix {
	__be32 addr;
	__u32 plen;
};

struct vr_agent_gateway {
	char ext_dev[IFNAMSIZ];		/* external-device (required with role gateway) */
	__u32 timeout_tcp, timeout_tcp_transitory, timeout_udp, timeout_icmp; /* seconds */
	unsigned int n_tenants;
	struct vr_agent_tenant tenants[VR_AGENT_GW_MAX_TENANTS];
	unsigned int n_fips;
	struct vr_agent_fip fips[VR_AGENT_GW_MAX_FIPS];
	/* announce: the public prefixes for the border; absent (n_announce 0, announce_set false): every public
	 * address of the tenants as a /32 (vr_agent_gw_announce() gives the effective list). */
	bool announce_set;
	unsigned int n_announce;
	struct vr_agent_prefix announce[VR_AGENT_GW_MAX_ANNOUNCE];
	/* What the gateway routes out of the external NIC and advertises into every tenant VRF (issue 7):
	 * 0.0.0.0/0 unless default_route is false (default true), and each of external[] (never 0.0.0.0/0). */
	bool default_route;
	unsigned int n_external;
	struct vr_agent_prefix external[VR_AGENT_GW_MAX_EXTERNAL];
	/* bird: the BIRD 2 include file the agent writes ("" none) and birdc's control socket ("" its default). */
	char bird_include[VR_AGENT_BIRD_PATH_MAX];
	char bird_socket[VR_AGENT_SOCKET_PATH_MAX];
};

enum vr_agent_log_level {
	VR_AGENT_LOG_ERROR,
	VR_AGENT_LOG_WARNING,
	VR_AGENT_LOG_INFO,
	VR_AGENT_LOG_DEBUG,
};

struct vr_agent_controller {
	__be32 addr;      /* IPv4 address of the control node */
	__u16 port;       /* XMPP port */
	__u32 hold_time;  /* seconds without a stanza or keepalive before the session is declared dead */
};

struct vr_agent_config {
	/* host: */
	char host_name[VR_AGENT_HOST_NAME_MAX + 1]; /* XMPP stream "from"; default gethostname() */
	__be32 host_ip;                             /* underlay-address (required) */
	char fabric[IFNAMSIZ];                      /* fabric-device (required) */
	/* controllers: none means standalone (only local routes). */
	unsigned int n_controllers;
	struct vr_agent_controller controllers[VR_AGENT_MAX_CONTROLLERS];
	/* labels: the MPLS labels the agent may allocate for its ports, inclusive. */
	__u32 label_first, label_last;
	/* bpffs: folder of the pinned datapath. */
	char pin_dir[VR_AGENT_PIN_DIR_MAX];
	/* port-api: Unix socket the hypervisor talks to. */
	char port_socket[VR_AGENT_SOCKET_PATH_MAX];
	/* graceful-restart: */
	__u32 stale_timeout;                        /* seconds */
	/* logging: */
	enum vr_agent_log_level log_level;
	char log_file[VR_AGENT_LOG_FILE_MAX];       /* "" means stderr ("stderr" in the file) */
	/* tunnel-encapsulation: the encapsulations the agent may use towards other hosts, most preferred first
	 * (enum vr_encap values, distinct); a learned route uses the first of them its next hop offers. Default:
	 * MPLS-in-UDP, then MPLS-over-GRE. The datapath receives both whatever is configured here. */
	unsigned int n_encaps;
	__u8 encaps[VR_AGENT_MAX_ENCAPS];
	/* role: and, for a gateway, the gateway: section. */
	enum vr_agent_role role;
	struct vr_agent_gateway gw;
};

/* Every default: no controllers, tunnel encapsulations udp then gre, labels 16..1048575, /sys/fs/bpf/vrouter,
 * VR_AGENT_PORT_SOCKET, stale timeout 60 s, level info to stderr, host name from gethostname() ("" if that
 * fails). host_ip and fabric are left unset (0 and ""): the file must give them. */
void vr_agent_config_defaults(struct vr_agent_config *cfg);

/* Read path into cfg (defaults first, then the file). Returns 0, or -errno with one line in err:
 * -ENOENT/-EACCES/-EISDIR/... the file cannot be read, -EFBIG larger than VR_AGENT_CONFIG_MAX_BYTES,
 * -ENOMEM, -EINVAL anything wrong in it ("FILE:LINE:COL: FIELD: ..."). On failure cfg holds no
 * meaningful values. */
int vr_agent_config_load(const char *path, struct vr_agent_config *cfg, char *err, size_t errlen);

/* Write the effective configuration, defaults included, as YAML that vr_agent_config_load reads back to
 * the same values (for --print-config). Returns 0 or -EIO. */
int vr_agent_config_print(FILE *out, const struct vr_agent_config *cfg);

const char *vr_agent_log_level_name(enum vr_agent_log_level level);
const char *vr_agent_role_name(enum vr_agent_role role);

/* The prefixes a gateway announces to the border: gw.announce when given, else each distinct public address
 * (SNAT and floating) as a /32, in address order. Returns how many were written to out (room for max). */
unsigned int vr_agent_gw_announce(const struct vr_agent_gateway *gw, struct vr_agent_prefix *out, unsigned int max);

#endif /* VR_AGENT_CONFIG_H */
