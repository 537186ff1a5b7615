#!/usr/bin/env bash
# The benchmark driver behind `make bench`: runs each benchmark part in turn (today the TCP throughput
# comparison, bench_tcp.sh, once per fabric mode; more parts will follow) and exits non-zero when any part failed. Each part prints
# its own table and writes its JSON results under $VR_BUILD/bench/.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
export VR_BUILD=${VR_BUILD:-${BUILD:-$top/build}}

if [ "$(id -u)" -ne 0 ]; then
	echo "the benchmarks need root (network namespaces, XDP, bpffs)"
	exit 4
fi

rc=0
# TCP throughput once per fabric mode: XDP decapsulation before GRO (the default), and TC decapsulation
# (for underlays that deliver unsegmented GSO packets). Each run measures the kernel baselines beside it.
for fabric in xdp tc; do
	echo "=== bench_tcp.sh, fabric mode $fabric"
	VR_FABRIC_MODE=$fabric VR_BENCH_OUT="$VR_BUILD/bench/fabric-$fabric" bash "$here/bench_tcp.sh" || rc=1
done
# Control plane: convergence of a port add across hosts and the install rate of routes from the controller.
echo "=== bench_control.sh"
bash "$here/bench_control.sh" || rc=1
exit "$rc"
