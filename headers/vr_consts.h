/* Tunable sizes and protocol constants shared by the datapath (bpf/) and user space (loader/, agent/).
 * Every size the loader may override lives here once, under #ifndef, so the two sides never disagree. */
#ifndef VR_CONSTS_H
#define VR_CONSTS_H

/* Default bpffs folder holding every pinned map, program and link of one vRouter instance. */
#ifndef VR_DEFAULT_PIN_DIR
#define VR_DEFAULT_PIN_DIR "/sys/fs/bpf/vrouter"
#endif

/* Virtual interfaces (taps/veths facing VMs). vif ids index the per-vif stats and the tx devmap; id 0 holds
 * the fabric's counters, so 65,536 vifs take ids 1..65536. */
#ifndef VR_MAX_VIFS
#define VR_MAX_VIFS (65536 + 1)
#endif

/* Direct-mapped front of the vif table: slot = ifindex % VR_VIF_SLOTS (a power of two). */
#ifndef VR_VIF_SLOTS
#define VR_VIF_SLOTS (1U << 17)
#endif

/* ECMP: composite nexthops with up to VR_ECMP_MEMBERS members, spread over VR_ECMP_BUCKETS buckets chosen by
 * the inner-flow hash (the one the UDP source port comes from); VR_MAX_ECMP groups. */
#ifndef VR_MAX_ECMP
#define VR_MAX_ECMP 4096
#endif
#define VR_ECMP_MEMBERS 16
#define VR_ECMP_BUCKETS 64 /* a power of two */

/* Tunnel endpoints: the underlay addresses tunnel packets are accepted from (the remote hosts of tunnel
 * nexthops, and configured ones), and the direct-mapped front of that set. */
#ifndef VR_MAX_ENDPOINTS
#define VR_MAX_ENDPOINTS 65536
#endif
#ifndef VR_ENDPOINT_SLOTS
#define VR_ENDPOINT_SLOTS 4096 /* a power of two */
#endif

/* Virtual routing and forwarding tables: ids 0..VR_MAX_VRFS-1 index the vrf4 array of maps. */
#ifndef VR_MAX_VRFS
#define VR_MAX_VRFS 4096
#endif

/* Routes per VRF table (LPM tries allocate on insert: a large limit costs nothing until used). */
#ifndef VR_MAX_ROUTES_PER_VRF
#define VR_MAX_ROUTES_PER_VRF (1U << 20)
#endif

/* Host routes (/32) of all VRFs together: the exact-match table in front of the per-VRF tries. Overlay tables
 * are mostly host routes; they live here only, so the tries hold just the shorter prefixes. */
#ifndef VR_MAX_HOST_ROUTES
#define VR_MAX_HOST_ROUTES (1U << 20)
#endif

/* Nexthops; id 0 is never valid so that an unset slot reads as "no nexthop". Every remote VM's label needs a
 * nexthop of its own, so this matches the label space: one million remote VMs (an ARRAY: 40 MB of kernel
 * memory, allocated at load). */
#ifndef VR_MAX_NEXTHOPS
#define VR_MAX_NEXTHOPS (1U << 20)
#endif

/* Underlay next-hop cache: resolved (remote host, source-port bucket) pairs, so that bpf_fib_lookup runs once
 * per pair, CPU and second (counted in jiffies: a clock read costs more than the rest of the encap here)
 * instead of once per packet. Per CPU and direct-mapped (an array
 * lookup, no locks, no shared cache lines). The bucket keeps underlay multipath: the host's own ECMP choice
 * is made per bucket of the flow-hashed UDP source port. */
#ifndef VR_UNDERLAY_SLOTS
#define VR_UNDERLAY_SLOTS 4096 /* a power of two */
#endif
#define VR_UNDERLAY_BUCKETS 64

/* Route cache: per CPU, direct-mapped, (VRF, destination) -> nexthop id of the last lookups, valid while the
 * route generation they were made under is current (libvrouter moves it on every route change). */
#ifndef VR_ROUTE_CACHE_SLOTS
#define VR_ROUTE_CACHE_SLOTS 4096 /* a power of two */
#endif

/* Gateway NAT: the connection table (two entries per connection), floating IPs, public addresses. */
#ifndef VR_MAX_NAT
#define VR_MAX_NAT (1U << 20)
#endif
#ifndef VR_MAX_FIPS
#define VR_MAX_FIPS 65536
#endif
/* Candidate public ports tried for a new connection before it is refused (nat_no_port). */
#define VR_NAT_PORT_TRIES 8
/* Default timeouts (seconds): established TCP, TCP before/after the handshake, UDP, ICMP echo. */
#define VR_NAT_TIMEOUT_TCP 7440
#define VR_NAT_TIMEOUT_TCP_TRANSITORY 240
#define VR_NAT_TIMEOUT_UDP 300
#define VR_NAT_TIMEOUT_ICMP 60

/* The whole 20-bit MPLS label space: the labels array is indexed by the label itself. */
#define VR_MAX_LABELS (1U << 20)
/* Labels 0-15 are reserved by RFC 3032; allocation starts here. */
#define VR_LABEL_MIN 16

/* Ring buffer for datapath -> user space events (unresolved neighbours). */
#ifndef VR_EVENTS_BYTES
#define VR_EVENTS_BYTES (256 * 1024)
#endif

/* MPLS-in-UDP (RFC 7510) destination port, and the port older peers use. */
#define VR_MPLS_UDP_PORT 6635
#define VR_MPLS_UDP_PORT_LEGACY 51234
/* Source ports are hashed from the inner flow into VR_SPORT_BASE .. VR_SPORT_BASE + VR_SPORT_MASK. */
#define VR_SPORT_BASE 49152
#define VR_SPORT_MASK 0x3fff

/* Bytes MPLS-in-UDP adds in front of the inner IP packet: outer IPv4 + UDP + one MPLS label. */
#define VR_ENCAP_OVERHEAD_UDP (20 + 8 + 4)
/* Bytes MPLS-over-GRE (RFC 4023) adds: outer IPv4 + the 4-byte GRE header (no checksum, key or sequence
 * number) + one MPLS label. */
#define VR_ENCAP_OVERHEAD_GRE (20 + 4 + 4)
/* The default encapsulation's (MPLS-in-UDP). */
#define VR_ENCAP_OVERHEAD VR_ENCAP_OVERHEAD_UDP
/* TTL of the outer IPv4 header. */
#define VR_OUTER_TTL 64

/* The MAC address the vRouter presents to every VM (the one Tungsten Fabric uses). */
#define VR_DEFAULT_MAC { 0x00, 0x00, 0x5e, 0x00, 0x01, 0x00 }

#endif /* VR_CONSTS_H */
