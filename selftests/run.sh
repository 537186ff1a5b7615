#!/usr/bin/env bash
# The test runner behind `make check`: runs every suite, each of which ends with "N passed, N failed
# [, N skipped]", adds the counts up and ends with the same line for the whole run.
# Exit status: 0 when nothing failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
build=${BUILD:-$top/build}
export VR_BUILD=$build

total_pass=0 total_fail=0 total_skip=0

run_suite() {
	local name=$1; shift
	local log rc line p f s
	log=$(mktemp)
	echo "=== $name"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	rm -f "$log"
	if [ -z "$line" ]; then
		echo "FAIL $name: the suite ended (exit $rc) without a result line"
		total_fail=$((total_fail + 1))
		return
	fi
	p=$(sed -E 's/.*\b([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/.*\b([0-9]+) failed.*/\1/' <<<"$line")
	s=0
	grep -q skipped <<<"$line" && s=$(sed -E 's/.*\b([0-9]+) skipped.*/\1/' <<<"$line")
	total_pass=$((total_pass + p)) total_fail=$((total_fail + f)) total_skip=$((total_skip + s))
	# Exit status 4 means "nothing could be tested here" (kselftest's skip); it is counted as skipped.
	if [ "$rc" -eq 4 ] && [ "$f" -eq 0 ]; then
		return
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $name: exit status $rc"
		total_fail=$((total_fail + 1))
	fi
}

if [ "$(id -u)" -ne 0 ]; then
	echo "the tests need root (network namespaces, XDP, bpffs)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi

run_suite "datapath unit tests (BPF_PROG_TEST_RUN)" "$build/test_datapath"
run_suite "datapath unit tests on Debian's 6.1 LTS kernel (qemu -accel tcg, static test_datapath)" bash "$here/kernel61.sh"
run_suite "agent config" "$build/test_config"
run_suite "XMPP codec" "$build/test_xmpp"
run_suite "vrouter-controller protocol (fake agents over TCP)" "$build/test_controller" "$build/vrouter-controller"
run_suite "static analysis (cppcheck, clang-tidy), valgrind over the unit tests, minimum-kernel check" bash "$here/analysis.sh"
run_suite "parser fuzzing (libFuzzer: XMPP decoder, YAML config, port API) and ASan+UBSan unit tests" bash "$here/fuzz.sh" --check
run_suite "packet fuzzing of the four datapath programs (random tables and frames, invariants on every run)" "$build/fuzz_pkt" --short
run_suite "forwarding tables through vrouterctl (bulk import, host routes, labels, nexthop accounting)" bash "$here/e2e_tables.sh"
run_suite "resource limits: full tables refused clearly without damage, an agent under a controller flood" bash "$here/e2e_limits.sh"
run_suite "gateway and NAT through vrouterctl (external NIC, SNAT, floating IPs, connection table, gc)" bash "$here/e2e_nat_cli.sh"
run_suite "end to end: two hosts, two tenants" bash "$here/e2e.sh"
run_suite "end to end: hitless operations under a fixed-rate flow (reload, route churn, vif churn)" bash "$here/e2e_hitless.sh"
run_suite "end to end: hitless agent SIGKILL (sender, receiver) and controller restart under a fixed-rate flow" bash "$here/e2e_hitless_control.sh"
run_suite "end to end: vrouter-agent standalone (port API, hitless restart)" bash "$here/e2e_agent.sh"
run_suite "end to end: vrouter-agent XMPP sessions against a scripted control node" bash "$here/e2e_agent_xmpp.sh"
run_suite "end to end: vrouter-agent as gateway (NAT state, per-VRF label, default route published and withdrawn, BIRD file)" bash "$here/e2e_gateway_agent.sh"
run_suite "end to end: control plane, three hosts, two controllers, two tenants (port API only)" bash "$here/e2e_control.sh"
run_suite "end to end: route leaking between virtual networks (controller --route-target), two hosts, three VNs" bash "$here/e2e_leak.sh"
run_suite "end to end: ECMP through the control plane, an anycast address on three of four hosts (port API only)" bash "$here/e2e_ecmp.sh"
run_suite "end to end: skb path, GSO, MTU and checksums (fabric mode xdp)" env VR_FABRIC_MODE=xdp bash "$here/e2e_skb.sh"
run_suite "end to end: skb path, GSO, MTU and checksums (fabric mode tc)" env VR_FABRIC_MODE=tc bash "$here/e2e_skb.sh"
run_suite "end to end: MPLS-over-GRE tunnels (XDP and TC paths, GSO, MTU, both fabric modes, tshark)" bash "$here/e2e_gre.sh"
run_suite "end to end: IPv6 overlay in dual stack (NDP, MPLS-in-UDP and GRE, GSO, Packet Too Big, tshark)" bash "$here/e2e_ipv6.sh"
run_suite "end to end: underlay ECMP, BIRD OSPF leaf-spine, flows spread by the hashed source port" bash "$here/e2e_underlay_ecmp.sh"
run_suite "end to end: gateway (VNGW), two tenants out by SNAT, floating IP, PMTU through NAT, expiry, full table, BIRD eBGP border" bash "$here/e2e_gateway.sh"
run_suite "end to end: a real guest (qemu, Debian 6.1 kernel) on the TC path" bash "$here/guest.sh"

echo
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
