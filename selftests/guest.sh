#!/bin/bash
# End-to-end test with a real guest: Debian's 6.1 kernel booted by qemu (software emulation, -accel tcg) from a
# busybox initramfs this script builds, attached to host h1's vRouter through a tap as a vif of tenant 1 on
# the TC path ("mode tc"). Its virtio-net keeps its offloads on (TSO, TX checksum), so the tap receives GSO
# frames whose checksums are left to the host. The guest pings two VMs of tenant 1 on host h2, t1b (vif on
# the XDP path, VM without offloads) and t1d (TC path, VM with offloads), and exchanges a few MiB of TCP with
# each in both directions. The host compares digests, proves from a capture on the tap that GSO frames
# arrived, checks on the underlay that every tunnelled segment fits the 1500-byte MTU and carries a valid
# inner TCP checksum, and reads the datapath's counters.
#
# The underlay behaves like a wire by default: the fabric veths have TX checksum offload and TSO off, so the
# kernel segments and checksums every tunnel packet as it leaves a host, as a NIC does before the wire
# (VR_GUEST_UNDERLAY=veth leaves the veth defaults: GSO packets with unfinished checksums cross to the
# other host's namespace as they are).
#
# Run as root after make: bash selftests/guest.sh. Prints ok/FAIL lines and "N passed, N failed"; exit 0 only
# when everything passed, 4 (skip) only when Debian's kernel package cannot be had here (no apt access).
# Downloads and extracts once into build/guest/ (VR_GUEST_CACHE), reused afterwards.
# VR_VERBOSE=1 shows commands and the guest's result lines, VR_KEEP=1 keeps the logs (console, captures;
# kept anyway on failure). VR_GUEST_KERNEL_PKG names the kernel package (default: the newest
# linux-image-6.1.0-N-amd64-unsigned); VR_GUEST_VIF_MODE is the guest vif's mode (default tc).

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GUEST_DIR=$VR_ROOT/selftests/guest
GUEST_VIF_MODE=${VR_GUEST_VIF_MODE:-tc}
GUEST_UNDERLAY=${VR_GUEST_UNDERLAY:-wire}
GUEST_TIMEOUT=${VR_GUEST_TIMEOUT:-120}     # seconds from qemu's start to the guest's poweroff (the init's
                                           # own bounds add up to less)
GUEST_PAYLOAD=$((4 << 20))                 # bytes the guest sends to each peer, and receives from each
GUEST_PINGS=5
GUEST_PORT=5100                            # peer i: port 5100 + 2i stores, 5100 + 2i + 1 serves
# The modules virtio-net needs; their dependencies are read from the modules themselves (the .deb has no
# modules.dep) and loaded first.
GUEST_MODULES="virtio_pci virtio_net"

vr_require_root
vr_require_cmds ip nsenter ethtool jq sha256sum socat tshark ss apt-get apt-cache dpkg-deb tar
vr_require_build "$VRCTL"
vr_require_bpffs
vr_tmp_init guest
vr_trap_cleanup

START=$SECONDS
echo "# bpf-vrouter real-guest test, run $VR_ID, temporary files in $VR_TMP"

# qemu and a static busybox are packages `make deps` installs: their absence is a failure, not a skip.
QEMU=$(command -v qemu-system-x86_64) || vr_die "qemu-system-x86_64 missing (Debian package qemu-system-x86; make deps)"
BUSYBOX=""
for b in /bin/busybox /usr/bin/busybox "$(command -v busybox)"; do
	# ldd exits non-zero for a static binary ("not a dynamic executable"): the initramfs has no libc.
	if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then
		BUSYBOX=$b
		break
	fi
done
[ -n "$BUSYBOX" ] || vr_die "no statically linked busybox (Debian package busybox-static; make deps)"

# ------------------------------------------------------------------ kernel and modules (cached)

# selftests/guest/kernel.sh: download, extraction and cache, shared with kernel61.sh.
. "$GUEST_DIR/kernel.sh"

guest_kernel_ready $GUEST_MODULES

# ------------------------------------------------------------------ the initramfs (per run: fresh payload)

INITRD=$VR_TMP/initramfs.cpio
build_initramfs() {
	local root=$VR_TMP/initramfs
	rm -rf "$root"
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,modules} || return 1
	cp "$BUSYBOX" "$root/bin/busybox" || return 1
	ln -s busybox "$root/bin/sh"
	install -m 0755 "$GUEST_DIR/init" "$root/init" || return 1
	guest_modules_install "$root/modules" $GUEST_MODULES || return 1
	head -c "$GUEST_PAYLOAD" /dev/urandom >"$root/payload" || return 1
	cp "$root/payload" "$VR_TMP/payload.tx"
	(cd "$root" && find . | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc) >"$INITRD" 2>"$VR_TMP/cpio.log"
}
vr_must build_initramfs
TX_SHA=$(sha256sum <"$VR_TMP/payload.tx" | cut -d' ' -f1)

# ------------------------------------------------------------------ topology: t1a on h1, t1b and t1d on h2, the guest on h1

# Tenant 1 only. t1a (h1) warms the underlay up and shows the topology works without the guest; the guest's
# peers on h2 are t1b (XDP path, VM offloads off, as lib.sh sets tenant 1 up) and t1d (TC path, offloads on).
VR_VM_HOST[t1d]=h2
VR_VM_VRF[t1d]=1
VR_VM_IP[t1d]=10.1.0.6
VR_VM_KIND[t1d]=veth
VR_VM_MODE[t1d]=tc
VR_TOPO_VMS="t1a t1b t1d"
PEERS="t1b t1d"
GUEST=g1
VR_VM_HOST[$GUEST]=h1
VR_VM_VRF[$GUEST]=1
VR_VM_IP[$GUEST]=10.1.0.5
VR_VM_KIND[$GUEST]=qemu
VR_VM_MODE[$GUEST]=$GUEST_VIF_MODE
GUEST_IP=${VR_VM_IP[$GUEST]}
TAP=$(vr_vif_dev "$GUEST")
H1NS=$(vr_ns h1)

vr_topo_up
if [ "$GUEST_UNDERLAY" = wire ]; then
	for h in $VR_TOPO_HOSTS; do
		# TX checksum off takes TSO with it: the stack segments and checksums in software before the veth.
		vr_must ip netns exec "$(vr_ns "$h")" ethtool -K "$(vr_fabric_dev "$h")" tx off tso off
		vr_must bash -c "ip netns exec '$(vr_ns "$h")' ethtool -k '$(vr_fabric_dev "$h")' |
			grep -q '^tcp-segmentation-offload: off'"
	done
fi
echo "# topology up: hosts $(vr_ns h1) $(vr_ns h2), underlay: $GUEST_UNDERLAY," \
	"peers: $(for p in $PEERS; do printf '%s %s (%s) ' "$p" "${VR_VM_IP[$p]}" "${VR_VM_MODE[$p]}"; done)"
vr_check "topology: t1a reaches t1b across hosts (underlay neighbours resolved before the guest boots)" \
	vr_ping_wait t1a "${VR_VM_IP[t1b]}" 10
vr_check "topology: t1a reaches t1d across hosts" vr_ping t1a "${VR_VM_IP[t1d]}"

# The tap exists before qemu opens it, so that it is a vif (and routed) before the guest sends anything.
vr_must ip -n "$H1NS" tuntap add dev "$TAP" mode tap vnet_hdr
ip netns exec "$H1NS" sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1" 2>/dev/null
vr_must ip -n "$H1NS" link set "$TAP" up
if vr_topo_attach "$GUEST" mode "$GUEST_VIF_MODE" 2>"$VR_TMP/attach.log"; then
	vr_pass "guest tap $TAP is a vif of VRF 1 on h1 (mode $GUEST_VIF_MODE), label ${VR_VM_LABEL[$GUEST]}, /32 routes on both hosts"
else
	_vr_show_output "$VR_TMP/attach.log"
	vr_die "vif add $TAP ... mode $GUEST_VIF_MODE and its routes"
fi

# ------------------------------------------------------------------ listeners on the peers, captures

declare -A TX_PID=() RX_PID=() TX_PORT=() RX_PORT=()
head -c "$GUEST_PAYLOAD" /dev/urandom >"$VR_TMP/payload.rx"
RX_SHA=$(sha256sum <"$VR_TMP/payload.rx" | cut -d' ' -f1)
n=0
for p in $PEERS; do
	TX_PORT[$p]=$((GUEST_PORT + 2 * n))
	RX_PORT[$p]=$((GUEST_PORT + 2 * n + 1))
	n=$((n + 1))
	pns=$(vr_ns "$p")
	ip netns exec "$pns" timeout $((GUEST_TIMEOUT + 10)) socat -u \
		"TCP-LISTEN:${TX_PORT[$p]},reuseaddr,bind=${VR_VM_IP[$p]}" "OPEN:$VR_TMP/got-$p,creat,trunc" \
		>"$VR_TMP/socat-tx-$p.log" 2>&1 9>&- &
	TX_PID[$p]=$!
	vr_register_pid "$!"
	ip netns exec "$pns" timeout $((GUEST_TIMEOUT + 10)) socat -u \
		"OPEN:$VR_TMP/payload.rx" "TCP-LISTEN:${RX_PORT[$p]},reuseaddr,bind=${VR_VM_IP[$p]}" \
		>"$VR_TMP/socat-rx-$p.log" 2>&1 9>&- &
	RX_PID[$p]=$!
	vr_register_pid "$!"
	vr_wait_until 5 bash -c "ip netns exec $pns ss -Htln | grep -q ':${TX_PORT[$p]} ' &&
		ip netns exec $pns ss -Htln | grep -q ':${RX_PORT[$p]} '" || vr_die "the listeners on $p did not start"
done

# What the guest sends as the tap hands it to the host, before the datapath; and the tunnel packets each
# host puts on the underlay (captured on the router's end of its link).
declare -A CAP_PID=()
capture() {   # capture NAME NS DEV FILTER
	if vr_capture_start "$2" "$3" "$VR_TMP/$1.pcapng" "$4"; then
		CAP_PID[$1]=$VR_CAPTURE_PID
	else
		vr_failed "capture $1 on $3 did not start"
		_vr_show_output "$VR_TMP/$1.pcapng.log"
	fi
}
capture tap h1 "$TAP" "tcp and src host $GUEST_IP"
capture underlay-h1 rt "$(vr_rt_dev h1)" "udp port $VR_UDP_PORT and src host ${VR_HOST_IP[h1]}"
capture underlay-h2 rt "$(vr_rt_dev h2)" "udp port $VR_UDP_PORT and src host ${VR_HOST_IP[h2]}"

H1_STATS0=$(vrctl h1 -j stats)
H2_STATS0=$(vrctl h2 -j stats)
tap_counter() { ip netns exec "$H1NS" cat "/sys/class/net/$TAP/statistics/$1"; }
TAP_RXP0=$(tap_counter rx_packets)
TAP_RXB0=$(tap_counter rx_bytes)

# ------------------------------------------------------------------ boot the guest

CONSOLE=$VR_TMP/console.log
peer_ips=$(for p in $PEERS; do printf '%s,' "${VR_VM_IP[$p]}"; done)
# No IPv6 in the guest: the vRouter routes IPv4 only, and router solicitations would be counted drops.
append="console=ttyS0 quiet panic=-1 ipv6.disable=1 vrg_ip=$GUEST_IP vrg_plen=24 vrg_gw=$VR_GW"
append+=" vrg_mtu=$VR_VM_MTU vrg_peers=${peer_ips%,} vrg_pings=$GUEST_PINGS vrg_port=$GUEST_PORT"
boot0=$SECONDS
# In h1's namespace, where the tap is (nsenter keeps the host's /sys). The serial console is stdout.
nsenter --net="/run/netns/$H1NS" "$QEMU" -accel tcg,thread=multi -m 256 -nographic -no-reboot \
	-kernel "$KIMG" -initrd "$INITRD" -append "$append" \
	-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no,vhost=off" \
	-device "virtio-net-pci,netdev=n0,mac=$(vr_vm_mac "$GUEST"),romfile=" \
	</dev/null >"$CONSOLE" 2>&1 9>&- &
QEMU_PID=$!
vr_register_pid "$QEMU_PID"

guest_wait_poweroff "$QEMU_PID" "$GUEST_TIMEOUT"
QEMU_TIME=$((SECONDS - boot0))
for c in "${!CAP_PID[@]}"; do
	VR_CAPTURE_PID=${CAP_PID[$c]}
	vr_capture_stop
done
# The listeners end with their transfer; the guest is gone, so one still open never will.
listeners_done() {
	local p
	for p in $PEERS; do
		kill -0 "${TX_PID[$p]}" 2>/dev/null && return 1
		kill -0 "${RX_PID[$p]}" 2>/dev/null && return 1
	done
	return 0
}
vr_wait_until 5 listeners_done
for p in $PEERS; do
	_vr_stop_pid "${TX_PID[$p]}"
	_vr_stop_pid "${RX_PID[$p]}"
done

# ------------------------------------------------------------------ what the guest reported

# "VRG WHAT key=value ..." lines from the console (SeaBIOS's escape sequences may share a line).
RESULTS=$VR_TMP/results.txt
tr -d '\r' <"$CONSOLE" | grep -ao 'VRG .*' >"$RESULTS"
[ "$VR_VERBOSE" = 1 ] && sed 's/^/#   /' "$RESULTS"
# vrg WHAT FIELD [PEER-IP]: FIELD of the last "VRG WHAT" line (the one about PEER-IP).
vrg() {
	local sel="^VRG $1( |\$)"
	[ -n "${3:-}" ] && sel="^VRG $1 peer=${3//./\\.} "
	grep -E "$sel" "$RESULTS" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}

vr_check_match "guest booted to its init and ran to the end" "^VRG done" "$(cat "$RESULTS")"
if ! grep -q '^VRG done' "$RESULTS"; then
	echo "# console (last lines):"
	tr -d '\r' <"$CONSOLE" | tail -n 20 | sed 's/^/#   /'
fi
vr_check_eq "guest loaded $GUEST_MODORDER and found eth0" "" \
	"$(grep -E '^VRG (insmod_failed|error)' "$RESULTS")"
# Negotiated virtio-net features, bit 0 first: 0 CSUM (guest leaves checksums to the host), 11 HOST_TSO4.
feat=$(vrg virtio features)
vr_check_eq "guest virtio-net negotiated TX checksum offload (bit 0) and TSO4 (bit 11)" "1 1" \
	"${feat:0:1} ${feat:11:1}"
vr_check_eq "guest eth0 has MTU $VR_VM_MTU and MAC $(vr_vm_mac "$GUEST")" "$VR_VM_MTU $(vr_vm_mac "$GUEST")" \
	"$(vrg net mtu) $(vrg net mac)"
vr_check_eq "guest's payload in the initramfs is the one the host made (sha256)" "$TX_SHA" "$(vrg tcp_tx_file sha256)"

for p in $PEERS; do
	ip=${VR_VM_IP[$p]}
	what="$p ($ip, h2, ${VR_VM_MODE[$p]} path)"
	vr_check_eq "guest reached $what" 1 "$(vrg warmup reached "$ip")"
	vr_check_eq "guest ping $what: $GUEST_PINGS of $GUEST_PINGS answered" "$GUEST_PINGS $GUEST_PINGS" \
		"$(vrg ping sent "$ip") $(vrg ping received "$ip")"
	got_sha=$(sha256sum <"$VR_TMP/got-$p" 2>/dev/null | cut -d' ' -f1)
	got_len=$(stat -c %s "$VR_TMP/got-$p" 2>/dev/null)
	vr_check_eq "TCP guest -> $p: $GUEST_PAYLOAD bytes sent (nc exit status 0) and arrived intact (sha256 on $p)" \
		"0 $GUEST_PAYLOAD $TX_SHA" "$(vrg tcp_tx rc "$ip") ${got_len:-0} $got_sha"
	vr_check_eq "TCP $p -> guest: $GUEST_PAYLOAD bytes arrived intact (sha256 in the guest)" \
		"0 $GUEST_PAYLOAD $RX_SHA" "$(vrg tcp_rx rc "$ip") $(vrg tcp_rx bytes "$ip") $(vrg tcp_rx sha256 "$ip")"
	echo "# guest <-> $p: send $(vrg tcp_tx start "$ip")..$(vrg tcp_tx end "$ip") s," \
		"receive $(vrg tcp_rx start "$ip")..$(vrg tcp_rx end "$ip") s (guest uptime)"
done

# ------------------------------------------------------------------ GSO frames really arrived on the tap

# frames NAME: one line per captured frame: frame length, inner TCP payload length, inner TCP checksum
# status (0 bad or left to offload, 1 good, 2 not checked), the checksum and the one tshark computes;
# tunnelled packets decoded as MPLS + IPv4.
frames() {
	tshark -n -r "$VR_TMP/$1.pcapng" -d "udp.port==$VR_UDP_PORT,mpls" -o tcp.check_checksum:TRUE \
		-T fields -E occurrence=l -e frame.len -e tcp.len -e tcp.checksum.status -e tcp.checksum -e tcp.checksum_calculated \
		2>"$VR_TMP/$1.decode.log"
}
# summary NAME: frames, frames above 1514 bytes, largest frame, TCP payload bytes, TCP payload bytes in
# frames above 1514 bytes, bad TCP checksums, frames without TCP.
summary() {
	frames "$1" | awk -F '\t' '
		{ n++; if ($1 > max) max = $1 }
		$1 > 1514 { big++; bb += $2 }
		$2 == "" { notcp++ }
		# 0xffff for a sum of 0 is the same number in ones complement (skb_checksum_help writes it, the
		# receiver accepts it); tshark calls it bad (RFC 1624).
		{ b += $2; if ($3 == "0" && !($4 == "0xffff" && $5 == "0x0000")) bad++ }
		END { printf "%d %d %d %d %d %d %d\n", n, big, max, b, bb, bad, notcp }'
}
TAP_RXP=$(($(tap_counter rx_packets) - TAP_RXP0))
TAP_RXB=$(($(tap_counter rx_bytes) - TAP_RXB0))
echo "# tap rx counters while the guest ran: $TAP_RXP frames, $TAP_RXB bytes" \
	"($([ "$TAP_RXP" -gt 0 ] && echo $((TAP_RXB / TAP_RXP)) || echo -) bytes per frame)"
if [ -n "${CAP_PID[tap]:-}" ]; then
	read -r nframes nbig maxlen bytes bigbytes nbad _ < <(summary tap)
	echo "# tap capture: $nframes TCP frames from the guest, $nbig above 1514 bytes carrying $bigbytes of" \
		"$bytes payload bytes, largest $maxlen; $nbad with the TCP checksum left to the host"
	vr_check_range "GSO: TCP frames above 1514 bytes arrived on the tap from the guest (largest $maxlen)" 1 inf "$nbig"
	vr_check_range "checksum offload: TCP frames on the tap came with their checksum left to the host" 1 inf "$nbad"
fi

# ------------------------------------------------------------------ the underlay: segmented, checksums complete

for h in $VR_TOPO_HOSTS; do
	[ -n "${CAP_PID[underlay-$h]:-}" ] || continue
	read -r nframes nbig maxlen bytes _ nbad notcp < <(summary "underlay-$h")
	echo "# underlay from $h: $nframes tunnel frames ($notcp not TCP), $nbig above 1514 bytes, largest $maxlen," \
		"$bytes inner TCP payload bytes, $nbad inner TCP checksums bad or left to offload"
	if [ "$GUEST_UNDERLAY" = wire ]; then
		# Each direction carries two payloads (one per peer); a capture may miss frames under load.
		vr_check_range "underlay from $h: every tunnel frame fits the 1500-byte MTU (largest $maxlen)" 1 1514 "$maxlen"
		vr_check_eq "underlay from $h: every inner TCP checksum verifies (tshark)" 0 "$nbad"
		vr_check_range "underlay from $h: the captured segments carry most of the $((2 * GUEST_PAYLOAD)) bytes" \
			$((GUEST_PAYLOAD)) inf "$bytes"
	fi
done

# ------------------------------------------------------------------ the datapath's view

H1_STATS1=$(vrctl h1 -j stats)
H2_STATS1=$(vrctl h2 -j stats)
stat_delta() {   # stat_delta JSON0 JSON1 JQ-PATH
	echo $(($(jq -r "$3 // 0" <<<"$2") - $(jq -r "$3 // 0" <<<"$1")))
}
vifsel() { printf '[.vifs[] | select(.name == "%s") | .%s] | first' "$1" "$2"; }
g_rxp=$(stat_delta "$H1_STATS0" "$H1_STATS1" "$(vifsel "$TAP" rx_packets)")
g_rxb=$(stat_delta "$H1_STATS0" "$H1_STATS1" "$(vifsel "$TAP" rx_bytes)")
g_txb=$(stat_delta "$H1_STATS0" "$H1_STATS1" "$(vifsel "$TAP" tx_bytes)")
echo "# h1 vif $TAP: rx $g_rxp packets / $g_rxb bytes from the guest, tx $g_txb bytes to it"
vr_check_range "stats: the guest's vif counted at least the payloads it sent (rx_bytes)" $((2 * GUEST_PAYLOAD)) inf "$g_rxb"
vr_check_range "stats: the guest's vif counted at least the payloads it received (tx_bytes)" $((2 * GUEST_PAYLOAD)) inf "$g_txb"
drops() {   # drops JSON0 JSON1: the drop counters that moved
	jq -r --argjson a "$1" '.drops | to_entries[] | select(.value != ($a.drops[.key] // 0)) |
		"\(.key)+\(.value - ($a.drops[.key] // 0))"' <<<"$2" | tr '\n' ' '
}
d1=$(drops "$H1_STATS0" "$H1_STATS1")
d2=$(drops "$H2_STATS0" "$H2_STATS1")
echo "# drops while the guest ran: h1: ${d1:-none}; h2: ${d2:-none}"
for h in $VR_TOPO_HOSTS; do
	j0=H${h#h}_STATS0 j1=H${h#h}_STATS1
	vr_check_eq "no packet dropped as too big for the tunnel on $h (frag_needed, too_big)" "0 0" \
		"$(stat_delta "${!j0}" "${!j1}" '.drops.frag_needed') $(stat_delta "${!j0}" "${!j1}" '.drops.too_big')"
done

vr_check "still forwarding at the end: t1a -> t1b" vr_ping t1a "${VR_VM_IP[t1b]}"

echo "# guest: at init $(vrg boot uptime) s, done $(vrg "done" uptime) s (guest clock); qemu ran $QEMU_TIME s;" \
	"vif mode $GUEST_VIF_MODE; underlay $GUEST_UNDERLAY"
echo "# runtime $((SECONDS - START)) s"
vr_summary
