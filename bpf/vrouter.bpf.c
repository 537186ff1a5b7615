// SPDX-License-Identifier: GPL-2.0
/* The bpf-vrouter datapath, one BPF object: the XDP fast path and the TC skb path, on VM-facing devices
 * (vifs) and on the fabric NIC. Each entry point lives in its own file and reads like the packet walk in
 * DESIGN.md; the shared work is in bpf/lib/.
 *   vr_vif_xdp    XDP on a vif in mode xdp: single frames
 *   vr_vif_tc     TC ingress on every vif: all traffic of vifs in mode tc (GSO, checksum offload), and
 *                 frames the XDP program handed over
 *   vr_fabric_xdp XDP on the fabric NIC (fabric mode xdp, the default): decapsulation before GRO
 *   vr_fabric_tc  TC ingress on the fabric NIC: delivers what XDP decapsulated (GRO-merged) to vifs in
 *                 mode tc; in fabric mode tc it decapsulates itself
 *   vr_ext_xdp    XDP on a gateway's external NIC: replies and floating-IP traffic back into the tenants
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lib/maps.h"
#include "lib/stats.h"
#include "lib/csum.h"
#include "lib/parse.h"
#include "lib/route.h"
#include "lib/route6.h"
#include "lib/arp.h"
#include "lib/encap.h"
#include "lib/decap.h"
#include "lib/icmp.h"
#include "lib/icmp6.h"
#include "lib/nd.h"
#include "lib/xdp.h"
#include "lib/tc.h"
#include "lib/nat.h"
#include "lib/gateway.h"

char LICENSE[] SEC("license") = "GPL";

#include "vif_xdp.h"
#include "vif_tc.h"
#include "fabric_xdp.h"
#include "fabric_tc.h"
#include "ext_xdp.h"
