# shellcheck shell=bash
# Shared helpers of the namespace tests and the demo: run ids, a cleanup registry run from a trap, counted
# assertions, and the two-host, two-tenant topology (vr_topo_up) that e2e.sh tests and demo.sh shows.
# Source it from bash; it sets no shell options of its own except pipefail.
#
# Conventions: every name a run creates (namespaces, devices, bpffs pin folders) carries VR_ID, so runs never
# collide and leftovers are recognisable; every resource is registered for cleanup the moment it exists;
# assertions print "ok ..." or "FAIL ..." and vr_summary prints "N passed, N failed[, N skipped]".
# Exit codes: 0 all passed, 1 something failed, VR_SKIP (4, as kselftest) nothing could be tested here.

set -o pipefail

VR_SKIP=4
VR_ROOT=${VR_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
VR_BUILD=${VR_BUILD:-$VR_ROOT/build}
VRCTL=${VRCTL:-$VR_BUILD/vrouterctl}
TAPVM=${TAPVM:-$VR_BUILD/tapvm}
VR_VERBOSE=${VR_VERBOSE:-0}
VR_KEEP=${VR_KEEP:-0}          # 1: keep the temporary folder (logs, captures) even when all passed
VR_BPFFS=${VR_BPFFS:-/sys/fs/bpf}

# Six hex digits: the low 16 bits of the pid and 8 random bits. Device names are VR_ID plus a prefix and
# suffix of at most 9 characters in all, within IFNAMSIZ (15 visible characters).
VR_ID=${VR_ID:-$(printf '%04x%02x' $(($$ & 0xffff)) $((RANDOM & 0xff)))}

VR_PASS=0
VR_FAIL=0
VR_SKIPPED=0
VR_TMP=""

_vr_pids=()      # background processes to end
_vr_pindirs=()   # "netns pindir": vrouterctl unload, then rm -rf
_vr_netns=()     # namespaces to delete
_vr_cleaned=0

# ---------------------------------------------------------------- messages

vr_log() { printf '%s\n' "$*"; }
vr_debug() { [ "$VR_VERBOSE" = 1 ] && printf '  + %s\n' "$*" >&2; return 0; }
vr_say() { printf '\n== %s\n' "$*"; }   # narration (demo)

# ---------------------------------------------------------------- cleanup registry

vr_tmp_init() {
	VR_TMP=$(mktemp -d "/tmp/vr-${1:-test}-$VR_ID.XXXXXX") || { echo "cannot create a temporary folder" >&2; exit 1; }
}

vr_register_pid() { _vr_pids+=("$1"); }
vr_register_netns() { _vr_netns+=("$1"); }
vr_register_pindir() { _vr_pindirs+=("$1 $2"); }   # netns pindir

# End one process we started, politely first; never by name.
_vr_stop_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# Runs once, from the EXIT trap: processes first (they hold taps open and pins busy), then the datapath,
# then the namespaces (which takes their devices with them), then pins and the temporary folder.
vr_cleanup() {
	local i ns pin
	[ "$_vr_cleaned" = 1 ] && return 0
	_vr_cleaned=1
	trap - INT TERM
	for ((i = ${#_vr_pids[@]} - 1; i >= 0; i--)); do
		_vr_stop_pid "${_vr_pids[i]}"
	done
	for ((i = ${#_vr_pindirs[@]} - 1; i >= 0; i--)); do
		ns=${_vr_pindirs[i]%% *}
		pin=${_vr_pindirs[i]#* }
		if [ -d "$pin" ] && [ -x "$VRCTL" ]; then
			if [ -e "/run/netns/$ns" ]; then
				nsenter --net="/run/netns/$ns" "$VRCTL" -d "$pin" unload >/dev/null 2>&1
			else
				"$VRCTL" -d "$pin" unload >/dev/null 2>&1
			fi
		fi
	done
	for ((i = ${#_vr_netns[@]} - 1; i >= 0; i--)); do
		ip netns del "${_vr_netns[i]}" 2>/dev/null
	done
	for ((i = ${#_vr_pindirs[@]} - 1; i >= 0; i--)); do
		pin=${_vr_pindirs[i]#* }
		case $pin in "$VR_BPFFS"/*) rm -rf "$pin" ;; esac
	done
	if [ -n "$VR_TMP" ] && [ -d "$VR_TMP" ]; then
		if [ "$VR_KEEP" = 1 ] || [ "$VR_FAIL" -gt 0 ]; then
			echo "# logs and captures kept in $VR_TMP" 2>/dev/null >&9 ||
				echo "# logs and captures kept in $VR_TMP" >&2
		else
			rm -rf "$VR_TMP"
		fi
	fi
	return 0
}

# A signal's trap runs wherever the script is, possibly inside a function whose output goes to a file:
# fd 9 keeps the script's own stdout for the last words. Background processes get it closed (vr_bg).
_vr_on_signal() {
	{ vr_failed "$1"; vr_summary; } >&9 2>&1
	exit "$2"
}

vr_trap_cleanup() {
	exec 9>&1
	trap vr_cleanup EXIT
	trap '_vr_on_signal "interrupted by SIGINT" 130' INT
	trap '_vr_on_signal "terminated by SIGTERM" 143' TERM
}

# ---------------------------------------------------------------- requirements and skips

vr_skip_all() {
	echo "SKIP: $*"
	echo "0 passed, 0 failed, 1 skipped"
	exit "$VR_SKIP"
}

vr_require_root() {
	[ "$(id -u)" = 0 ] || vr_skip_all "needs root (network namespaces, XDP, bpffs)"
}

vr_require_cmds() {
	local c missing=()
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	[ ${#missing[@]} -eq 0 ] || vr_skip_all "missing commands: ${missing[*]} (make deps installs them)"
}

vr_require_build() {
	local f
	for f in "$@"; do
		if [ ! -x "$f" ]; then
			echo "FAIL $f is not built (run make)"
			echo "0 passed, 1 failed"
			exit 1
		fi
	done
}

vr_require_bpffs() {
	if ! mountpoint -q "$VR_BPFFS"; then
		mount -t bpf bpf "$VR_BPFFS" 2>/dev/null || vr_skip_all "no bpffs at $VR_BPFFS and cannot mount one"
	fi
}

# The routing daemon of the BGP/OSPF tests (bird and birdc), named by its package in the skip message.
vr_require_bird() {
	if ! command -v bird >/dev/null 2>&1 || ! command -v birdc >/dev/null 2>&1; then
		vr_skip_all "the routing daemon BIRD 2 is not installed (Debian package bird2; make deps installs it)"
	fi
}

# ---------------------------------------------------------------- assertions

_vr_show_output() {   # indent a captured output under a FAIL line (last 15 lines)
	[ -s "$1" ] && tail -n 15 "$1" | sed 's/^/#   /'
	return 0
}

vr_pass() { VR_PASS=$((VR_PASS + 1)); echo "ok $*"; }
vr_failed() { VR_FAIL=$((VR_FAIL + 1)); echo "FAIL $*"; }
vr_skip() { VR_SKIPPED=$((VR_SKIPPED + 1)); echo "skip $*"; }

# vr_check DESC CMD...: passes when CMD exits 0.
vr_check() {
	local desc=$1 out
	shift
	out=$(mktemp "${VR_TMP:-/tmp}/out.XXXXXX")
	vr_debug "$*"
	if "$@" >"$out" 2>&1; then
		vr_pass "$desc"
	else
		vr_failed "$desc (exit $?: $*)"
		_vr_show_output "$out"
	fi
	rm -f "$out"
}

# vr_check_fails DESC CMD...: passes when CMD exits non-zero.
vr_check_fails() {
	local desc=$1 out
	shift
	out=$(mktemp "${VR_TMP:-/tmp}/out.XXXXXX")
	vr_debug "$*"
	if "$@" >"$out" 2>&1; then
		vr_failed "$desc (unexpectedly succeeded: $*)"
		_vr_show_output "$out"
	else
		vr_pass "$desc"
	fi
	rm -f "$out"
}

# vr_check_eq DESC EXPECTED ACTUAL
vr_check_eq() {
	if [ "$2" = "$3" ]; then
		vr_pass "$1"
	else
		vr_failed "$1 (expected '$2', got '$3')"
	fi
}

# vr_check_unchanged DESC BEFORE AFTER: counters that must not move; a counter that could not be read
# ("missing", empty) fails instead of comparing equal to itself.
vr_check_unchanged() {
	if [ -z "$2" ] || [[ "$2 $3" == *missing* ]]; then
		vr_failed "$1 (counters could not be read: '$2' / '$3')"
	else
		vr_check_eq "$1" "$2" "$3"
	fi
}

# vr_check_match DESC EXTENDED-REGEX TEXT
vr_check_match() {
	# A here-string, not a pipe: grep -q stops reading early and, under pipefail, the writer's SIGPIPE
	# would turn a match into a failure.
	if grep -Eq -- "$2" <<<"$3"; then
		vr_pass "$1"
	else
		vr_failed "$1 (no match for /$2/)"
		printf '%s\n' "$3" | tail -n 15 | sed 's/^/#   /'
	fi
}

# vr_check_range DESC MIN MAX VALUE (integers, inclusive; MAX may be "inf")
vr_check_range() {
	local desc=$1 min=$2 max=$3 v=$4
	if ! [[ "$v" =~ ^[0-9]+$ ]]; then
		vr_failed "$desc (not a number: '$v')"
	elif [ "$v" -lt "$min" ] || { [ "$max" != inf ] && [ "$v" -gt "$max" ]; }; then
		vr_failed "$desc (got $v, want $min..$max)"
	else
		vr_pass "$desc"
	fi
}

# Prints the closing line and returns the exit code the test should end with.
vr_summary() {
	local skipped=""
	[ "$VR_SKIPPED" -gt 0 ] && skipped=", $VR_SKIPPED skipped"
	echo "$VR_PASS passed, $VR_FAIL failed$skipped"
	if [ "$VR_FAIL" -gt 0 ]; then
		return 1
	elif [ "$VR_PASS" -eq 0 ] && [ "$VR_SKIPPED" -gt 0 ]; then
		return "$VR_SKIP"
	fi
	return 0
}

# A setup step that must work: on failure, show why, count one failure and stop (the trap cleans up).
vr_must() {
	local out
	out=$(mktemp "${VR_TMP:-/tmp}/out.XXXXXX")
	vr_debug "$*"
	if ! "$@" >"$out" 2>&1; then
		vr_failed "setup: $*"
		_vr_show_output "$out"
		rm -f "$out"
		vr_summary
		exit 1
	fi
	rm -f "$out"
}

vr_die() {
	vr_failed "setup: $*"
	vr_summary
	exit 1
}

# vr_wait_until TIMEOUT_S CMD...: retries CMD every 0.2 s until it succeeds; 1 on timeout.
vr_wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.2
	done
	return 0
}

# ---------------------------------------------------------------- namespaces and the CLI

# Namespace names of this run: vr_ns h1 -> vr<ID>-h1.
vr_ns() { echo "vr$VR_ID-$1"; }

# Run a command in a namespace that does not need bpffs (ip netns exec remounts /sys).
vr_in() {
	local ns
	ns=$(vr_ns "$1")
	shift
	ip netns exec "$ns" "$@"
}

# Run a command in a namespace that sees the host's mounts (bpffs pins): nsenter changes the netns only.
vr_nsenter() {
	local ns
	ns=$(vr_ns "$1")
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

vr_netns_add() {
	local ns
	ns=$(vr_ns "$1")
	ip netns add "$ns" || vr_die "ip netns add $ns"
	vr_register_netns "$ns"
	ip -n "$ns" link set lo up
	# No IPv6: router solicitations and MLD reports would move the vif counters the tests compare.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# Pin folder of the vRouter on host H.
vr_pindir() { echo "$VR_BPFFS/vr$VR_ID-$1"; }

# vrouterctl for host H: vrctl H [global options] OBJECT COMMAND ...
vrctl() {
	local h=$1
	shift
	vr_debug "vrouterctl@$h $*"
	nsenter --net="/run/netns/$(vr_ns "$h")" "$VRCTL" -d "$(vr_pindir "$h")" "$@"
}

# vr_bg NAME NSENTER_HOST_OR_- CMD...: start CMD in the background (in host H's netns unless "-"), output to
# $VR_TMP/NAME.log, registered for cleanup. Sets VR_BG_PID.
vr_bg() {
	local name=$1 h=$2
	shift 2
	if [ "$h" = - ]; then
		"$@" >"$VR_TMP/$name.log" 2>&1 9>&- &
	else
		nsenter --net="/run/netns/$(vr_ns "$h")" "$@" >"$VR_TMP/$name.log" 2>&1 9>&- &
	fi
	VR_BG_PID=$!
	vr_register_pid "$VR_BG_PID"
}

# ---------------------------------------------------------------- the two-host, two-tenant topology
#
#   VM namespaces          host h1 (vRouter)            router rt            host h2 (vRouter)        VMs
#   t1a 10.1.0.1 (vrf 1) - veth vif -+                                                   +- veth vif - t1b 10.1.0.2 (vrf 1)
#   t1c 10.1.0.3 (vrf 1) - TAP vif --+ fabric 198.18.1.2 -- 198.18.1.1 rt 198.18.2.1 -- fabric 198.18.2.2 +- veth vif - t2b 10.1.0.2 (vrf 2)
#   t2a 10.1.0.1 (vrf 2) - veth vif -+                                                   +- veth vif - t2d 10.1.0.4 (vrf 2)
#   t2c 10.1.0.3 (vrf 2) - veth vif -+
#
# Both tenants use the same addresses; 10.1.0.4 exists only in tenant 2. Every VM has 10.1.0.X/24 and a
# default route via 10.1.0.254, the gateway the vRouter answers ARP for. VM MTU 1468 leaves room for the
# 32 bytes of MPLS-in-UDP on the 1500-byte underlay. t1c is a real tap driven by tapvm; the others are veths
# whose host end is the vif.

VR_TOPO_VMS="t1a t1b t1c t2a t2b t2c t2d"
VR_TOPO_HOSTS="h1 h2"
VR_GW=10.1.0.254
VR_VM_MTU=1468
VR_UDP_PORT=6635
declare -A VR_HOST_IP=([h1]=198.18.1.2 [h2]=198.18.2.2)
declare -A VR_RT_IP=([h1]=198.18.1.1 [h2]=198.18.2.1)
# A third host for tests that set VR_TOPO_HOSTS="h1 h2 h3" (e2e_control.sh); unused by the two-host topology.
VR_HOST_IP+=([h3]=198.18.3.2)
VR_RT_IP+=([h3]=198.18.3.1)
declare -A VR_VM_HOST=([t1a]=h1 [t1b]=h2 [t1c]=h1 [t2a]=h1 [t2b]=h2 [t2c]=h1 [t2d]=h2)
declare -A VR_VM_VRF=([t1a]=1 [t1b]=1 [t1c]=1 [t2a]=2 [t2b]=2 [t2c]=2 [t2d]=2)
declare -A VR_VM_IP=([t1a]=10.1.0.1 [t1b]=10.1.0.2 [t1c]=10.1.0.3 [t2a]=10.1.0.1 [t2b]=10.1.0.2 [t2c]=10.1.0.3 [t2d]=10.1.0.4)
# tap: a tap relayed by tapvm without offloads; tapv: the same with virtio-net headers, TSO and checksum
# offload (as a hypervisor's tap), so GSO frames arrive on the vif.
declare -A VR_VM_KIND=([t1a]=veth [t1b]=veth [t1c]=tap [t2a]=veth [t2b]=veth [t2c]=tapv [t2d]=veth)
# The datapath each vif runs: tenant 1 on the XDP fast path, tenant 2 on the TC skb path (offloads left on).
declare -A VR_VM_MODE=([t1a]=xdp [t1b]=xdp [t1c]=xdp [t2a]=tc [t2b]=tc [t2c]=tc [t2d]=tc)
declare -A VR_VM_LABEL=()
# Dual stack (VR_DUAL_STACK=1): every VM also has fd00:1::<last octet of its IPv4 address>/64 (the same in
# both tenants, like the IPv4 addresses) and a default route via fd00:1::fe, the IPv6 gateway the vRouter
# answers neighbour solicitations for. Off by default: the VMs' IPv6 chatter (MLD reports) would move the vif
# counters other tests compare.
VR_GW6=fd00:1::fe
vr_vm_ip6() { echo "fd00:1::${VR_VM_IP[$1]##*.}"; }

# Device names (all within IFNAMSIZ): the vif of VM v on its host, the fabric NIC of host h, and the
# router's end of host h's link.
vr_vif_dev() { echo "vr$VR_ID$1"; }
vr_fabric_dev() { echo "vr${VR_ID}f"; }
vr_rt_dev() { echo "vr${VR_ID}r${1#h}"; }
# Locally administered MAC per VM: 02:00:00:00:<vrf>:<last octet of the IP>.
vr_vm_mac() { printf '02:00:00:00:%02x:%02x' "${VR_VM_VRF[$1]}" "${VR_VM_IP[$1]##*.}"; }

# The underlay: host namespaces h1, h2 and a router between them, each link its own /24 of 198.18.0.0/15.
vr_topo_underlay() {
	local h hns rt fab rtdev
	rt=$(vr_ns rt)
	vr_netns_add rt
	ip netns exec "$rt" sysctl -qw net.ipv4.ip_forward=1
	for h in $VR_TOPO_HOSTS; do
		vr_netns_add "$h"
		hns=$(vr_ns "$h")
		fab=$(vr_fabric_dev "$h")
		rtdev=$(vr_rt_dev "$h")
		# bpf_fib_lookup() answers "forwarding disabled" on a device without IPv4 forwarding.
		ip netns exec "$hns" sysctl -qw net.ipv4.ip_forward=1
		vr_must ip link add "$fab" netns "$hns" type veth peer name "$rtdev" netns "$rt"
		vr_must ip -n "$hns" addr add "${VR_HOST_IP[$h]}/24" dev "$fab"
		vr_must ip -n "$hns" link set "$fab" up
		vr_must ip -n "$rt" addr add "${VR_RT_IP[$h]}/24" dev "$rtdev"
		vr_must ip -n "$rt" link set "$rtdev" up
		# The vRouter redirects encapsulated frames into the fabric veth with XDP: its peer must be in NAPI
		# mode to receive them (PITFALLS.md), which GRO on the router's end provides.
		vr_must ip netns exec "$rt" ethtool -K "$rtdev" gro on
		vr_must ip -n "$hns" route add 198.18.0.0/15 via "${VR_RT_IP[$h]}"
	done
}

# One VM: a namespace with eth0 (a veth whose host end is the vif, or a tap relayed by tapvm).
vr_topo_vm() {
	local vm=$1 h=${VR_VM_HOST[$1]} vns hns vif
	vns=$(vr_ns "$vm")
	hns=$(vr_ns "$h")
	vif=$(vr_vif_dev "$vm")
	vr_netns_add "$vm"
	if [ "${VR_VM_KIND[$vm]}" = tap ] || [ "${VR_VM_KIND[$vm]}" = tapv ]; then
		local vflag=()
		[ "${VR_VM_KIND[$vm]}" = tapv ] && vflag=(-v)
		vr_bg "tapvm-$vm" "$h" "$TAPVM" "${vflag[@]}" -r "$VR_TMP/tapvm-$vm.ready" "$vif" "$vns" eth0
		vr_wait_until 5 test -e "$VR_TMP/tapvm-$vm.ready" ||
			{ cat "$VR_TMP/tapvm-$vm.log" >&2; vr_die "tapvm for $vm did not become ready"; }
	else
		vr_must ip link add "$vif" netns "$hns" type veth peer name eth0 netns "$vns"
		# XDP redirects into the vif's veth reach the VM only if the VM's end runs NAPI: GRO on.
		vr_must ip netns exec "$vns" ethtool -K eth0 gro on
	fi
	ip netns exec "$hns" sysctl -qw "net.ipv6.conf.$vif.disable_ipv6=1" 2>/dev/null
	# The XDP path loses the skb's "checksum still to compute" state: the VM must send complete checksums.
	# Vifs in mode tc keep the VM's offloads (TSO, checksum) on.
	if [ "${VR_VM_KIND[$vm]}" = veth ] && [ "${VR_VM_MODE[$vm]:-xdp}" = xdp ]; then
		vr_must ip netns exec "$vns" ethtool -K eth0 tx off
	fi
	# Neighbour entries stay REACHABLE for the whole run: no unicast ARP re-probes from idle VMs move the vif
	# counters that the isolation checks compare.
	ip netns exec "$vns" sysctl -qw net.ipv4.neigh.eth0.base_reachable_time_ms=600000
	vr_must ip -n "$vns" link set eth0 address "$(vr_vm_mac "$vm")" mtu "$VR_VM_MTU" up
	vr_must ip -n "$vns" addr add "${VR_VM_IP[$vm]}/24" dev eth0
	vr_must ip -n "$vns" route add default via "$VR_GW"
	if [ -n "${VR_DUAL_STACK:-}" ]; then
		# No router solicitations (the vRouter sends no advertisements) and no duplicate address detection.
		ip netns exec "$vns" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0 net.ipv6.conf.eth0.accept_dad=0 \
			net.ipv6.conf.eth0.router_solicitations=0 net.ipv6.conf.eth0.accept_ra=0
		vr_must ip -n "$vns" addr add "$(vr_vm_ip6 "$vm")/64" dev eth0 nodad
		vr_must ip -n "$vns" -6 route add default via "$VR_GW6" dev eth0
	fi
	vr_must ip -n "$hns" link set "$vif" up
}

# The vRouters: load on both hosts, VRFs 1 and 2, one vif per VM, then the routes (local /32 via the vif,
# remote /32 via a tunnel to the other host with the label that host allocated for the remote vif, in the
# encapsulation VR_TUNNEL_ENCAP names: udp or gre; unset, vrouterctl's default, MPLS-in-UDP).
vr_topo_vrouters() {
	local h vm other label
	for h in $VR_TOPO_HOSTS; do
		vr_register_pindir "$(vr_ns "$h")" "$(vr_pindir "$h")"
		# VR_FABRIC_MODE=xdp|tc picks the fabric's decapsulation path (default: the loader's, xdp).
		vr_must vrctl "$h" load fabric "$(vr_fabric_dev "$h")" host-ip "${VR_HOST_IP[$h]}" udp-port "$VR_UDP_PORT" \
			${VR_FABRIC_MODE:+fabric-mode "$VR_FABRIC_MODE"}
		vr_must vrctl "$h" vrf add 1
		vr_must vrctl "$h" vrf add 2
	done
	for vm in $VR_TOPO_VMS; do
		vr_must vrctl "${VR_VM_HOST[$vm]}" vif add "$(vr_vif_dev "$vm")" vrf "${VR_VM_VRF[$vm]}" \
			mac "$(vr_vm_mac "$vm")" ip "${VR_VM_IP[$vm]}" gw "$VR_GW" mtu "$VR_VM_MTU" \
			mode "${VR_VM_MODE[$vm]:-xdp}" ${VR_DUAL_STACK:+ip6 "$(vr_vm_ip6 "$vm")" gw6 "$VR_GW6"}
	done
	for vm in $VR_TOPO_VMS; do
		label=$(vrctl "${VR_VM_HOST[$vm]}" -j vif list |
			jq -r --arg n "$(vr_vif_dev "$vm")" '.[] | select(.name == $n) | .label')
		if ! [[ "$label" =~ ^[0-9]+$ ]] || [ "$label" -lt 16 ]; then
			vr_die "no MPLS label for $vm in 'vif list -j' (got '$label')"
		fi
		VR_VM_LABEL[$vm]=$label
	done
	for vm in $VR_TOPO_VMS; do
		for h in $VR_TOPO_HOSTS; do
			local p
			for p in "${VR_VM_IP[$vm]}/32" ${VR_DUAL_STACK:+"$(vr_vm_ip6 "$vm")/128"}; do
				if [ "$h" = "${VR_VM_HOST[$vm]}" ]; then
					vr_must vrctl "$h" route add "$p" vrf "${VR_VM_VRF[$vm]}" via vif "$(vr_vif_dev "$vm")"
				else
					other=${VR_VM_HOST[$vm]}
					vr_must vrctl "$h" route add "$p" vrf "${VR_VM_VRF[$vm]}" \
						via tunnel "${VR_HOST_IP[$other]}" label "${VR_VM_LABEL[$vm]}" \
						${VR_TUNNEL_ENCAP:+encap "$VR_TUNNEL_ENCAP"}
				fi
			done
		done
	done
}

# vr_topo_attach VM [VIF-ADD OPTIONS...]: make VM's existing device (vr_vif_dev VM, already in its host's
# namespace) a vif, the way vr_topo_vrouters does for the topology's own VMs, with extra 'vif add' options
# (e.g. "mode tc"), then add its /32 on every host: via the vif on its own host, via a tunnel elsewhere.
# For VMs that are not in VR_TOPO_VMS (a qemu guest); call after vr_topo_up. Returns 1 if a step failed
# (its error on stderr) instead of stopping the test.
vr_topo_attach() {
	local vm=$1 h label
	shift
	vrctl "${VR_VM_HOST[$vm]}" vif add "$(vr_vif_dev "$vm")" vrf "${VR_VM_VRF[$vm]}" mac "$(vr_vm_mac "$vm")" \
		ip "${VR_VM_IP[$vm]}" gw "$VR_GW" mtu "$VR_VM_MTU" "$@" >/dev/null || return 1
	label=$(vrctl "${VR_VM_HOST[$vm]}" -j vif list |
		jq -r --arg n "$(vr_vif_dev "$vm")" '.[] | select(.name == $n) | .label')
	if ! [[ "$label" =~ ^[0-9]+$ ]] || [ "$label" -lt 16 ]; then
		echo "no MPLS label for $vm in 'vif list -j' (got '$label')" >&2
		return 1
	fi
	VR_VM_LABEL[$vm]=$label
	for h in $VR_TOPO_HOSTS; do
		if [ "$h" = "${VR_VM_HOST[$vm]}" ]; then
			vrctl "$h" route add "${VR_VM_IP[$vm]}/32" vrf "${VR_VM_VRF[$vm]}" via vif "$(vr_vif_dev "$vm")" || return 1
		else
			vrctl "$h" route add "${VR_VM_IP[$vm]}/32" vrf "${VR_VM_VRF[$vm]}" \
				via tunnel "${VR_HOST_IP[${VR_VM_HOST[$vm]}]}" label "$label" \
				${VR_TUNNEL_ENCAP:+encap "$VR_TUNNEL_ENCAP"} || return 1
		fi
	done
}

# The neighbour resolver of each host, as DESIGN.md asks: in the background for the whole run.
vr_topo_monitors() {
	local h
	for h in $VR_TOPO_HOSTS; do
		vr_bg "monitor-$h" "$h" "$VRCTL" -d "$(vr_pindir "$h")" monitor
		sleep 0.1
		kill -0 "$VR_BG_PID" 2>/dev/null || { cat "$VR_TMP/monitor-$h.log" >&2; vr_die "vrouterctl monitor on $h exited"; }
	done
}

vr_topo_up() {
	local vm
	vr_topo_underlay
	for vm in $VR_TOPO_VMS; do
		vr_topo_vm "$vm"
	done
	vr_topo_vrouters
	vr_topo_monitors
}

# ---------------------------------------------------------------- traffic and counters

# vr_ping VM DST [COUNT]: all COUNT echo requests answered.
vr_ping() {
	vr_in "$1" ping -n -q -c "${3:-3}" -i 0.2 -W 2 "$2" | grep ' 0% packet loss' >/dev/null
}

# vr_agent_yaml H LEVEL HOLD STALE CONTROLLER...: write host H's vrouter-agent configuration to
# $VR_TMP/agent-H.yaml: its underlay address and fabric device, the run's pin dir, the port API socket
# $VR_TMP/agent-H.sock, the controllers at the given addresses (port 5269, hold time HOLD), the stale
# timeout STALE (empty: the default) and the log level LEVEL.
vr_agent_yaml() {
	local h=$1 level=$2 hold=$3 stale=$4 c
	shift 4
	{
		printf 'host:\n  name: vr%s-%s\n  underlay-address: %s\n  fabric-device: %s\n' \
			"$VR_ID" "$h" "${VR_HOST_IP[$h]}" "$(vr_fabric_dev "$h")"
		printf 'controllers:\n'
		for c in "$@"; do
			printf '  - address: %s\n    port: 5269\n    hold-time: %s\n' "$c" "$hold"
		done
		printf 'bpffs: %s\nport-api:\n  socket: %s\n' "$(vr_pindir "$h")" "$VR_TMP/agent-$h.sock"
		[ -n "$stale" ] && printf 'graceful-restart:\n  stale-timeout: %s\n' "$stale"
		printf 'logging:\n  level: %s\n' "$level"
	} >"$VR_TMP/agent-$h.yaml"
}

# vr_tcp_transfer FROM TO PORT [MIB]: MIB (default 4) MiB of random data over TCP from VM FROM to VM TO;
# passes when the receiver's copy has the sender's digest. vr_tcp_transfer6: the same over IPv6 (dual stack).
vr_tcp_transfer() {
	_vr_tcp_transfer "$1" "$2" "TCP-LISTEN:$3,reuseaddr,bind=${VR_VM_IP[$2]}" "TCP:${VR_VM_IP[$2]}:$3" "$3" "${4:-4}"
}

vr_tcp_transfer6() {
	local a
	a=$(vr_vm_ip6 "$2")
	_vr_tcp_transfer "$1" "$2" "TCP6-LISTEN:$3,reuseaddr,bind=[$a]" "TCP6:[$a]:$3" "$3" "${4:-4}"
}

# _vr_tcp_transfer FROM TO LISTEN-ADDRESS CONNECT-ADDRESS PORT MIB (socat address specs)
_vr_tcp_transfer() {
	local from=$1 to=$2 port=$5 src=$VR_TMP/tcp-$1-$2.src dst=$VR_TMP/tcp-$1-$2.dst pid i
	head -c $(($6 << 20)) /dev/urandom >"$src"
	vr_in "$to" timeout 30 socat -u "$3" "OPEN:$dst,creat,trunc" 2>"$VR_TMP/socat-$to.log" 9>&- &
	pid=$!
	for i in $(seq 50); do
		vr_in "$to" ss -Htln "sport = :$port" | grep -q LISTEN && break
		sleep 0.1
	done
	vr_in "$from" timeout 30 socat -u "OPEN:$src" "$4,connect-timeout=5" ||
		{ kill "$pid" 2>/dev/null; wait "$pid"; return 1; }
	wait "$pid" || return 1
	[ "$(sha256sum <"$src")" = "$(sha256sum <"$dst")" ]
}

# Wait until VM reaches DST (the first packets across hosts may wait for the monitor to resolve the underlay).
vr_ping_wait() {
	local deadline=$((SECONDS + ${3:-10}))
	while ! vr_in "$1" ping -n -q -c 1 -W 1 "$2" >/dev/null 2>&1; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
	done
	return 0
}

# vr_capture_start NS DEV FILE [FILTER]: tshark on DEV in namespace NS (a vr_ns short name) writing FILE;
# returns once it captures. Sets VR_CAPTURE_PID. Started directly, not through a function, so that $! is
# tshark itself and SIGINT reaches it.
vr_capture_start() {
	local ns dev=$2 file=$3 filter=${4:-udp port $VR_UDP_PORT}
	ns=$(vr_ns "$1")
	ip netns exec "$ns" tshark -n -q -i "$dev" -f "$filter" -w "$file" >"$file.log" 2>&1 9>&- &
	VR_CAPTURE_PID=$!
	vr_register_pid "$VR_CAPTURE_PID"
	vr_wait_until 10 grep -q "Capturing on" "$file.log" || return 1
	# dumpcap says so just before the socket is live.
	sleep 0.5
}

# Stop the capture and let tshark finish the file.
vr_capture_stop() {
	sleep 0.3
	kill -INT "$VR_CAPTURE_PID" 2>/dev/null
	vr_wait_until 5 bash -c "! kill -0 $VR_CAPTURE_PID" || kill -KILL "$VR_CAPTURE_PID" 2>/dev/null
	wait "$VR_CAPTURE_PID" 2>/dev/null
	return 0
}

# vr_vif_stat H VM FIELD: one counter of VM's vif from 'stats -j' on host H.
vr_vif_stat() {
	vrctl "$1" -j stats | jq -r --arg n "$(vr_vif_dev "$2")" --arg f "$3" \
		'[.vifs[] | select(.name == $n) | .[$f]] | first // "missing"'
}

# vr_drop_stat H REASON: one drop counter from 'stats -j' on host H.
vr_drop_stat() {
	vrctl "$1" -j stats | jq -r --arg r "$2" '.drops[$r] // "missing"'
}

# ---------------------------------------------------------------- hitless operations under a flow
#
# The fixed-rate UDP flow of the hitless tests (e2e_hitless*.sh): iperf3 from vm1 (on h1) to vm2 (on h2) at
# the caller's RATE for SECS seconds, numbered datagrams, so that the receiver counts every loss.

# vr_flow_server: vm2's iperf3 server (port 5301), registered for cleanup; waits until it listens.
vr_flow_server() {
	# Not through vr_in (a function, so &'d it would be a subshell whose child a kill at cleanup misses).
	ip netns exec "$(vr_ns vm2)" iperf3 -s -B "${VR_VM_IP[vm2]}" -p 5301 >"$VR_TMP/iperf3-server.log" 2>&1 9>&- &
	vr_register_pid $!
	vr_wait_until 5 bash -c "ip netns exec $(vr_ns vm2) ss -Htln 'sport = :5301' | grep -q LISTEN"
}

# vr_flow_counters: "RX TX SOCK DROPS": vm1's vif rx on h1, vm2's vif tx on h2, vm2's socket drops
# (UdpRcvbufErrors), both hosts' drop counters added up.
vr_flow_counters() {
	echo "$(vr_vif_stat h1 vm1 rx_packets) $(vr_vif_stat h2 vm2 tx_packets)" \
		"$(vr_in vm2 nstat -az UdpRcvbufErrors | awk '/UdpRcvbufErrors/ { print $2 }')" \
		"$(for h in h1 h2; do vrctl "$h" -j stats | jq '[.drops[]] | add'; done | paste -sd+ | bc)"
}

# vr_hitless NAME CMD...: run the flow, run CMD 1 s into it (it must end before the flow does; output in
# $VR_TMP/op-NAME.log), then check that CMD succeeded and the vRouters lost nothing: h1's vif took every
# datagram vm1 sent, h2's handed every one to vm2, no drop counter moved on either host, and whatever the
# receiver missed was dropped by vm2's own socket (a receiver too slow on a busy machine), after delivery.
# CMD runs in this shell, not in the background: it may record the processes it starts (their pids, log
# names, the cleanup registry).
vr_hitless() {
	local name=$1 json sent lost before after op_rc t0 client
	local rx0 tx0 sock0 drop0 rx1 tx1 sock1 drop1
	shift
	before=$(vr_flow_counters)
	vr_in vm1 timeout $((SECS + 10)) iperf3 -u -c "${VR_VM_IP[vm2]}" -B "${VR_VM_IP[vm1]}" -p 5301 -b "$RATE" \
		-l 1200 -t "$SECS" -J >"$VR_TMP/iperf3-$name.json" 2>&1 9>&- &
	client=$!
	sleep 1
	t0=$SECONDS
	"$@" >"$VR_TMP/op-$name.log" 2>&1
	op_rc=$?
	vr_log "#   $name: the operation took $((SECONDS - t0)) s of the flow's $SECS"
	wait "$client"
	after=$(vr_flow_counters)
	json=$VR_TMP/iperf3-$name.json
	sent=$(jq -r '.end.sum.packets // empty' "$json" 2>/dev/null)
	lost=$(jq -r '.end.sum.lost_packets // empty' "$json" 2>/dev/null)
	vr_check_eq "$name: the operation succeeded" 0 "$op_rc"
	[ "$op_rc" = 0 ] || sed 's/^/#   /' "$VR_TMP/op-$name.log" | tail -5
	vr_check_range "$name: the flow ran at its rate ($sent datagrams in ${SECS} s)" $((SECS * 5000)) inf "${sent:-0}"
	read -r rx0 tx0 sock0 drop0 <<<"$before"
	read -r rx1 tx1 sock1 drop1 <<<"$after"
	vr_check_range "$name: h1 took every datagram from vm1 (vif rx)" "${sent:-1}" $((${sent:-1} + 20)) $((rx1 - rx0))
	vr_check_range "$name: h2 handed every datagram to vm2 (vif tx)" "${sent:-1}" $((${sent:-1} + 20)) $((tx1 - tx0))
	vr_check_eq "$name: no drop counted on either vRouter" 0 $((drop1 - drop0))
	vr_check_eq "$name: what the receiver missed ($lost) was dropped by vm2's own socket after delivery" \
		"${lost:-missing}" $((sock1 - sock0))
}

# ---------------------------------------------------------------- benchmarks
#
# Helpers of the benchmarks (bench_*.sh): the machine's load beside every figure, and medians. Two sessions on
# two cores distort each other's figures (PITFALLS.md), so a figure without the load it was taken under is not
# worth comparing.

# The load averages (1, 5, 15 min) and runnable/total tasks, as /proc/loadavg has them.
vr_loadavg() { cut -d' ' -f1-4 /proc/loadavg; }

# "BUSY TOTAL" jiffies of all CPUs since boot (guest time is already inside user time, so it is not added).
vr_cpu_ticks() {
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat
}

# vr_cpu_busy_pct "BUSY0 TOTAL0" "BUSY1 TOTAL1": the share of all CPUs that was busy between two samples, %.
vr_cpu_busy_pct() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[2] - x[2]
		printf "%.0f\n", (d > 0) ? 100 * (y[1] - x[1]) / d : 0 }'
}

# vr_cpu_busy_over SECONDS: the machine's busy share over a quiet window (what other sessions are using).
vr_cpu_busy_over() {
	local a
	a=$(vr_cpu_ticks)
	sleep "$1"
	vr_cpu_busy_pct "$a" "$(vr_cpu_ticks)"
}

# Microseconds that some task has spent waiting for a CPU since boot (PSI, /proc/pressure/cpu "some total");
# empty where the kernel has no PSI. Its growth over a run, against the run's length, says how contended the
# CPUs were (our own processes included).
vr_cpu_pressure_us() {
	[ -r /proc/pressure/cpu ] && awk '$1 == "some" { sub(/total=/, "", $5); print $5 }' /proc/pressure/cpu
	return 0
}

# vr_median NUMBER...: the median (mean of the middle two for an even count); prints nothing without input.
vr_median() {
	[ $# -gt 0 ] || return 0
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
