#!/usr/bin/env bash
# The benchmark driver behind `make bench`: runs each benchmark part in turn (today the TCP throughput
# comparison, bench_tcp.sh; more parts will follow) and exits non-zero when any part failed. Each part prints
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
for part in bench_tcp.sh; do
	echo "=== $part"
	bash "$here/$part" || rc=1
done
exit "$rc"
