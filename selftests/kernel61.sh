#!/bin/bash
# Kernel compatibility: the datapath's BPF_PROG_TEST_RUN suite (test_datapath) on Debian's 6.1 LTS kernel.
# The kernel comes from Debian's package (downloaded with apt, never installed; shared cache with guest.sh,
# selftests/guest/kernel.sh) and boots under qemu with software emulation (-accel tcg) from an initramfs
# this script builds: busybox, the statically linked build/static/test_datapath (make builds it), iproute2's
# ip and ethtool with their shared libraries (test_datapath runs them to build its devices; dash as /bin/sh
# for its popen), and the
# modules it needs (veth, tun, sch_ingress for clsact, cls_bpf). The guest's init (selftests/guest/
# init-datapath) runs test_datapath and writes its output on a second serial port; every line of it becomes
# a result line here, prefixed with the guest's kernel release, plus the checks that the guest booted, loaded
# its modules and test_datapath ran to its summary line.
#
# The same binary runs on the host's kernel as the first suite of make check; this one proves the datapath
# loads, verifies and behaves the same on the oldest kernel we support (see README, "Minimum kernel").
#
# Run after make (root not needed; make check runs it as root): bash selftests/kernel61.sh. Prints ok/FAIL
# lines and "N passed, N failed"; exit 0 only when everything passed, 4 (skip) when qemu, a static busybox
# or Debian's kernel package cannot be had here.
# VR_VERBOSE=1 shows the guest's own lines, VR_KEEP=1 keeps the logs (console, results; kept anyway on
# failure). VR_K61_ARGS: test_datapath's arguments in the guest (default none: the whole suite, about 25 s
# under TCG); VR_K61_TIMEOUT: seconds from qemu's start to the guest's poweroff (default 300); VR_K61_SMP:
# guest CPUs (default 2); VR_GUEST_KERNEL_PKG names the kernel package.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GUEST_DIR=$VR_ROOT/selftests/guest
K61_BIN=${VR_K61_BIN:-$VR_BUILD/static/test_datapath}
K61_ARGS=${VR_K61_ARGS:-}
K61_TIMEOUT=${VR_K61_TIMEOUT:-300}
K61_SMP=${VR_K61_SMP:-2}
K61_MEM=${VR_K61_MEM:-1024}   # MiB: the datapath's maps (the 1M-entry nexthop and label arrays) and the initramfs
# What test_datapath needs beyond the kernel image: veth pairs, a tap, the clsact qdisc and cls_bpf (TC
# programs attached through libbpf's bpf_tc_*). Their dependencies come along (read from the modules).
K61_MODULES="veth tun sch_ingress cls_bpf"
# The host tools test_datapath runs, through popen(): /bin/sh is dash, because busybox's sh runs its own
# applets before anything on PATH, and busybox's ip makes no veth pairs.
K61_TOOLS="ip ethtool dash"

vr_require_cmds apt-get apt-cache dpkg-deb tar ldd
vr_require_build "$K61_BIN"
vr_tmp_init kernel61
vr_trap_cleanup

START=$SECONDS
echo "# bpf-vrouter datapath tests on Debian's 6.1 kernel, run $VR_ID, temporary files in $VR_TMP"

QEMU=$(command -v qemu-system-x86_64) ||
	vr_skip_all "qemu-system-x86_64 missing (Debian package qemu-system-x86; make deps installs it)"
BUSYBOX=""
for b in /bin/busybox /usr/bin/busybox "$(command -v busybox)"; do
	# ldd exits non-zero for a static binary ("not a dynamic executable"): the initramfs has no libc.
	if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then
		BUSYBOX=$b
		break
	fi
done
[ -n "$BUSYBOX" ] || vr_skip_all "no statically linked busybox (Debian package busybox-static; make deps installs it)"
if ldd "$K61_BIN" >/dev/null 2>&1; then
	vr_die "$K61_BIN is not statically linked (make builds it with -static)"
fi
TOOLS=()
for t in $K61_TOOLS; do
	p=$(command -v "$t") || vr_skip_all "missing command: $t (make deps installs it)"
	TOOLS+=("$p")
done

# ------------------------------------------------------------------ kernel and modules (cached)

. "$GUEST_DIR/kernel.sh"

guest_kernel_ready $K61_MODULES
MODORDER=$GUEST_MODORDER

# ------------------------------------------------------------------ the initramfs

INITRD=$VR_TMP/initramfs.cpio
build_initramfs() {
	local root=$VR_TMP/initramfs t lib
	rm -rf "$root"
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,usr/sbin} || return 1
	cp "$BUSYBOX" "$root/bin/busybox" || return 1
	install -m 0755 "$GUEST_DIR/init-datapath" "$root/init" || return 1
	guest_modules_install "$root/modules" $K61_MODULES || return 1
	cp "$K61_BIN" "$root/bin/test_datapath" || return 1
	# As on an installed Debian system: libbpf reads the kernel's configuration from there to resolve the
	# datapath's __kconfig extern (CONFIG_HZ), and refuses to load without it (this kernel has no
	# /proc/config.gz).
	mkdir -p "$root/boot" && cp "$GUEST_KDIR/config" "$root/boot/config-$KREL" || return 1
	# The tools and every shared library they load, at the paths the dynamic linker looks for them.
	for t in "${TOOLS[@]}"; do
		cp "$t" "$root/usr/sbin/" || return 1
		for lib in $(ldd "$t" | grep -oE '/[^ ]+'); do
			mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib" || return 1
		done
	done
	ln -s ../usr/sbin/dash "$root/bin/sh"
	printf '%s\n' "$K61_ARGS" >"$root/args"
	echo $((K61_TIMEOUT - 30)) >"$root/args.timeout"
	(cd "$root" && find . | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc) >"$INITRD" 2>"$VR_TMP/cpio.log"
}
vr_must build_initramfs
echo "# initramfs: $(($(stat -c %s "$INITRD") >> 20)) MiB; test_datapath ${K61_ARGS:-(no arguments)}"

# ------------------------------------------------------------------ boot

CONSOLE=$VR_TMP/console.log
RAW=$VR_TMP/results.raw
boot0=$SECONDS
# No network device, no firmware ROMs (-nodefaults); ttyS0 is the kernel's console, ttyS1 the results.
"$QEMU" -accel tcg,thread=multi -smp "$K61_SMP" -m "$K61_MEM" -nodefaults -display none -no-reboot \
	-kernel "$KIMG" -initrd "$INITRD" -append "console=ttyS0 quiet panic=-1" \
	-serial "file:$CONSOLE" -serial "file:$RAW" \
	</dev/null >"$VR_TMP/qemu.log" 2>&1 9>&- &
QEMU_PID=$!
vr_register_pid "$QEMU_PID"

guest_wait_poweroff "$QEMU_PID" "$K61_TIMEOUT"
QEMU_TIME=$((SECONDS - boot0))

# ------------------------------------------------------------------ what the guest reported

RESULTS=$VR_TMP/results.txt
tr -d '\r' <"$RAW" >"$RESULTS"
[ "$VR_VERBOSE" = 1 ] && grep '^VRK ' "$RESULTS" | sed 's/^/#   /'
# vrk WHAT FIELD: FIELD of the last "VRK WHAT" line.
vrk() {
	grep -E "^VRK $1( |\$)" "$RESULTS" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}

vr_check_match "guest booted to its init and ran to the end" "^VRK done" "$(grep '^VRK ' "$RESULTS")"
if ! grep -q '^VRK done' "$RESULTS"; then
	echo "# console (last lines):"
	tr -d '\r' <"$CONSOLE" | tail -n 20 | sed 's/^/#   /'
fi
vr_check_eq "guest runs kernel $KREL" "$KREL" "$(vrk boot kernel)"
vr_check_eq "guest loaded $MODORDER" "none" "$(vrk modules failed)"

# test_datapath's own lines, each a result of this suite: "ok NAME", "FAIL NAME: why" (the indented detail
# lines after it are shown with it), "skip NAME: why", "# comment".
TAG="[$KREL]"
gpass=0 gfail=0 gskip=0
while IFS= read -r line; do
	case $line in
	"VRK "*) ;;
	"ok "*) vr_pass "$TAG ${line#ok }"; gpass=$((gpass + 1)) ;;
	"FAIL "*) vr_failed "$TAG ${line#FAIL }"; gfail=$((gfail + 1)) ;;
	"skip "*) vr_skip "$TAG ${line#skip }"; gskip=$((gskip + 1)) ;;
	[0-9]*" passed, "[0-9]*" failed"*) summary_line=$line ;;
	*) printf '#   %s\n' "$line" ;;
	esac
done <"$RESULTS"
summary_line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$RESULTS" | tail -n 1)
rc=$(vrk exit rc)
echo "# test_datapath in the guest: ${summary_line:-no summary line}, exit status ${rc:-none}," \
	"$(vrk exit start)..$(vrk exit end) s of guest uptime"
# Its summary counts what it printed, and its exit status agrees (124: killed by the guest's timeout).
want_summary="$gpass passed, $gfail failed"
[ "$gskip" -gt 0 ] && want_summary+=", $gskip skipped"
vr_check_eq "test_datapath ran to its summary line in the guest, which counts the lines above" \
	"$want_summary" "$summary_line"
vr_check_eq "test_datapath's exit status in the guest matches its failures" "$([ "$gfail" -eq 0 ] && echo 0 || echo 1)" "${rc:-none}"

echo "# guest: init at $(vrk boot uptime) s, done at $(vrk "done" uptime) s (guest clock), $(vrk boot cpus) CPUs," \
	"$(($(vrk boot mem_kb) / 1024)) MiB; jit $(vrk sysctl bpf_jit_enable), btf $(vrk sysctl btf); qemu ran $QEMU_TIME s"
echo "# runtime $((SECONDS - START)) s"
vr_summary
