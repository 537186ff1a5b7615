# shellcheck shell=bash
# shellcheck disable=SC2034   # GUEST_KDIR and GUEST_KSRC are this file's outputs
# Debian's 6.1 kernel for the tests that boot a guest under qemu (guest.sh, kernel61.sh): the kernel package
# is downloaded with apt-get download (never installed) and the kernel image and the modules a test asks for
# are extracted into a cache, VR_GUEST_CACHE (default build/guest/PACKAGE/), reused by later runs. A test
# that needs a module the cache does not hold yet gets it added (one more download and extraction).
# Source it after lib.sh (uses VR_TMP, VR_BUILD, vr_die, vr_skip_all).
#
#   guest_kernel MODULE...        sets GUEST_KDIR (vmlinux or vmlinuz, release, config: the kernel's
#                                 configuration as /boot/config-RELEASE, modules/NAME.ko) and
#                                 GUEST_KSRC ("cached" or "downloaded PACKAGE"); skips the test (exit 4) when
#                                 apt cannot get the package
#   guest_module_order MODULE...  the modules with their dependencies, dependencies first, one per line
#   guest_modules_install DIR MODULE...  copies them into DIR with DIR/order (the guest inits' insmod list)
#
# VR_GUEST_KERNEL_PKG names the kernel package (default: the newest linux-image-6.1.0-N-amd64-unsigned).

GUEST_CACHE=${VR_GUEST_CACHE:-$VR_BUILD/guest}

# The newest linux-image-6.1.0-N-amd64-unsigned apt knows of; refreshes the package lists once if none.
kernel_pkg_name() {
	local re='^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' name
	if [ -n "${VR_GUEST_KERNEL_PKG:-}" ]; then
		echo "$VR_GUEST_KERNEL_PKG"
		return 0
	fi
	name=$(apt-cache search --names-only "$re" 2>/dev/null | cut -d' ' -f1 | sort -V | tail -n 1)
	if [ -z "$name" ]; then
		apt-get update -q >"$VR_TMP/apt-update.log" 2>&1
		name=$(apt-cache search --names-only "$re" 2>/dev/null | cut -d' ' -f1 | sort -V | tail -n 1)
	fi
	[ -n "$name" ] && echo "$name"
}

# The "depends=" of a module file (names with "_", comma-separated in the file), space-separated.
_gk_depends() {
	tr '\0' '\n' <"$1" | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' '
}

# guest_module_order MODULE...: from the cached modules in GUEST_KDIR; fails naming a module it lacks.
guest_module_order() {
	local _gk_done="" _gk_order=() m
	_gk_visit() {
		local m=$1 dep
		case " $_gk_done " in *" $m "*) return 0 ;; esac
		_gk_done="$_gk_done $m"
		[ -f "$GUEST_KDIR/modules/$m.ko" ] || { echo "module $m is not in $GUEST_KDIR/modules" >&2; return 1; }
		for dep in $(_gk_depends "$GUEST_KDIR/modules/$m.ko"); do
			_gk_visit "$dep" || return 1
		done
		_gk_order+=("$m")
	}
	for m in "$@"; do
		_gk_visit "$m" || return 1
	done
	printf '%s\n' "${_gk_order[@]}"
}

guest_modules_install() {
	local dir=$1 order m
	shift
	order=$(guest_module_order "$@") || return 1
	mkdir -p "$dir" || return 1
	for m in $order; do
		cp "$GUEST_KDIR/modules/$m.ko" "$dir/" || return 1
	done
	printf '%s\n' "$order" >"$dir/order"
}

# kernel_prepare DEB DEST MODULE...: the kernel image (unless DEST has it) and the modules (with their
# dependencies) DEST/modules lacks. One pass over the package (~4 s; ~400 MB in VR_TMP, removed after).
# Each file lands by rename, so a run reading DEST meanwhile never sees half a module.
kernel_prepare() {
	local deb=$1 dest=$2 x=$VR_TMP/deb kver m done_mods="" off
	shift 2
	mkdir -p "$dest/modules" "$x" || return 1
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$x" --wildcards './boot/vmlinuz-*' './boot/config-*' './lib/modules/*' ||
		return 1
	kver=$(cd "$x/boot" && ls vmlinuz-* 2>/dev/null | head -n 1)
	kver=${kver#vmlinuz-}
	[ -n "$kver" ] && [ -d "$x/lib/modules/$kver" ] || { echo "no boot/vmlinuz-* and its modules in $deb" >&2; return 1; }
	if [ -f "$dest/release" ] && [ "$(cat "$dest/release")" != "$kver" ]; then
		echo "$dest holds kernel $(cat "$dest/release"), $deb has $kver" >&2
		return 1
	fi

	# Depth-first over the .modinfo "depends=". Module names use "_"; file names may use "-" or "_" and may
	# be compressed (busybox insmod takes plain .ko only).
	visit() {
		local m=$1 p f dep
		case " $done_mods " in *" $m "*) return 0 ;; esac
		done_mods="$done_mods $m"
		f=$dest/modules/$m.ko
		if [ ! -f "$f" ]; then
			p=$(find "$x/lib/modules/$kver" -regextype posix-extended \
				-regex ".*/$(printf '%s' "$m" | sed 's/[-_]/[-_]/g')\.ko(\.xz|\.zst|\.gz)?" | head -n 1)
			[ -n "$p" ] || { echo "module $m not in the package" >&2; return 1; }
			case $p in
			*.ko.xz) xz -dc "$p" >"$f.tmp" ;;
			*.ko.gz) gzip -dc "$p" >"$f.tmp" ;;
			*.ko.zst) zstd -qdc "$p" >"$f.tmp" ;;
			*) cp "$p" "$f.tmp" ;;
			esac || { echo "cannot decompress $p" >&2; return 1; }
			mv "$f.tmp" "$f" || return 1
		fi
		for dep in $(_gk_depends "$f"); do
			visit "$dep" || return 1
		done
	}
	for m in "$@"; do
		visit "$m" || return 1
	done

	if [ ! -f "$dest/config" ]; then
		cp "$x/boot/config-$kver" "$dest/config.tmp" && mv "$dest/config.tmp" "$dest/config" || return 1
	fi
	if [ ! -f "$dest/vmlinuz" ]; then
		cp "$x/boot/vmlinuz-$kver" "$dest/vmlinuz" || return 1
		# The uncompressed ELF boots ~2.7 s faster under TCG (PVH entry); keep the bzImage if extraction
		# fails. (xz stops after the stream and tail dies of SIGPIPE: its status must not fail the pipe under
		# pipefail.)
		off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$dest/vmlinuz" | head -n 1 | cut -d: -f1)
		if [ -n "$off" ] && command -v xz >/dev/null &&
			{ tail -c +$((off + 1)) "$dest/vmlinuz" || :; } | xz -dc --single-stream >"$dest/vmlinux" 2>/dev/null &&
			[ "$(head -c 4 "$dest/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ]; then
			:
		else
			rm -f "$dest/vmlinux"
		fi
		echo "$kver" >"$dest/release"
	fi
	rm -rf "$x"
}

# The cached kernel in GUEST_KDIR has the configuration and MODULE...
_gk_cached() {
	[ -f "$GUEST_KDIR/complete" ] && [ -f "$GUEST_KDIR/config" ] && guest_module_order "$@" >/dev/null 2>&1
}

# guest_kernel MODULE...
guest_kernel() {
	local pkg dl deb stage
	GUEST_KDIR=$(find "$GUEST_CACHE" -mindepth 2 -maxdepth 2 -name complete -not -path '*/.stage.*' -printf '%h\n' \
		2>/dev/null | sort -V | tail -n 1)
	if [ -n "$GUEST_KDIR" ] && [ -z "${VR_GUEST_KERNEL_PKG:-}" ] && _gk_cached "$@"; then
		GUEST_KSRC=cached
		return 0
	fi
	if [ -n "$GUEST_KDIR" ] && [ -z "${VR_GUEST_KERNEL_PKG:-}" ]; then
		pkg=$(basename "$GUEST_KDIR")   # the cached kernel lacks files: the same package again
	else
		pkg=$(kernel_pkg_name) ||
			vr_skip_all "Debian's kernel package (linux-image-6.1.0-N-amd64-unsigned) is unknown to apt here" \
				"(apt-get update failed or no Debian archive: $(tail -n 1 "$VR_TMP/apt-update.log" 2>/dev/null))"
		GUEST_KDIR=$GUEST_CACHE/$pkg
		if _gk_cached "$@"; then
			GUEST_KSRC=cached
			return 0
		fi
	fi
	dl=$VR_TMP/download
	mkdir -p "$dl" "$GUEST_CACHE" || vr_die "cannot create $GUEST_CACHE"
	# apt drops privileges to _apt for downloads: let it write there.
	chmod 0777 "$dl"
	# A stale package list may name a version the archive no longer has: refresh once and retry.
	if ! (cd "$dl" && apt-get download -q "$pkg") >"$VR_TMP/apt-download.log" 2>&1 &&
		! { apt-get update -q >"$VR_TMP/apt-update.log" 2>&1 &&
			(cd "$dl" && apt-get download -q "$pkg") >"$VR_TMP/apt-download.log" 2>&1; }; then
		vr_skip_all "cannot download $pkg with apt-get download: $(grep -E '^(E|Err)' "$VR_TMP/apt-download.log" | head -n 2 | tr '\n' ' ')"
	fi
	deb=$(ls "$dl"/*.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || vr_skip_all "apt-get download $pkg left no .deb"
	if [ -f "$GUEST_CACHE/$pkg/complete" ]; then
		# Complete but short of modules (or of the configuration, which older runs did not keep): add them
		# in place.
		if ! kernel_prepare "$deb" "$GUEST_CACHE/$pkg" "$@" >"$VR_TMP/kernel-prepare.log" 2>&1; then
			cat "$VR_TMP/kernel-prepare.log" >&2
			vr_die "could not extract the modules $* from $pkg"
		fi
	else
		# Staging folders of interrupted runs (an hour old: no run takes that long) go first.
		find "$GUEST_CACHE" -mindepth 1 -maxdepth 1 -name '.stage.*' -mmin +60 -exec rm -rf {} + 2>/dev/null
		stage=$(mktemp -d "$GUEST_CACHE/.stage.XXXXXX") && chmod 0755 "$stage" || vr_die "cannot write to $GUEST_CACHE"
		if ! kernel_prepare "$deb" "$stage" "$@" >"$VR_TMP/kernel-prepare.log" 2>&1; then
			rm -rf "$stage"
			cat "$VR_TMP/kernel-prepare.log" >&2
			vr_die "could not extract the kernel and modules from $pkg"
		fi
		touch "$stage/complete"
		# Another run may have filled the same folder meanwhile: keep that one. A folder without "complete"
		# is the remains of an interrupted run.
		if [ -f "$GUEST_CACHE/$pkg/complete" ]; then
			rm -rf "$stage"
		else
			rm -rf "${GUEST_CACHE:?}/$pkg"
			mv "$stage" "$GUEST_CACHE/$pkg" || vr_die "cannot move the kernel into $GUEST_CACHE/$pkg"
		fi
	fi
	rm -rf "$dl"
	GUEST_KDIR=$GUEST_CACHE/$pkg GUEST_KSRC="downloaded $pkg"
	_gk_cached "$@" || vr_die "the configuration or the modules $* still missing from $GUEST_KDIR"
}

# guest_kernel_ready MODULE...: the kernel and modules in the cache (guest_kernel), then KREL (its release),
# KIMG (the image to boot) and GUEST_MODORDER (the modules in load order), and one passed check saying so.
guest_kernel_ready() {
	local t0=$SECONDS
	guest_kernel "$@"
	KREL=$(cat "$GUEST_KDIR/release")
	KIMG=$GUEST_KDIR/vmlinux
	[ -f "$KIMG" ] || KIMG=$GUEST_KDIR/vmlinuz
	GUEST_MODORDER=$(guest_module_order "$@" | tr '\n' ' ' | sed 's/ $//')
	vr_pass "guest kernel $KREL ready ($GUEST_KSRC, $(basename "$KIMG"), modules: $GUEST_MODORDER in $((SECONDS - t0)) s)"
}

# guest_wait_poweroff PID TIMEOUT: wait for the qemu started in the background as PID to end by the guest
# powering itself off (exit status 0) within TIMEOUT s, else stop it; one check either way.
guest_wait_poweroff() {
	local pid=$1 timeout=$2
	if vr_wait_until "$timeout" bash -c "! kill -0 $pid 2>/dev/null"; then
		wait "$pid"
		vr_check_eq "guest powered itself off within $timeout s (qemu exit status)" 0 "$?"
	else
		vr_failed "guest still running after $timeout s; stopping qemu"
		_vr_stop_pid "$pid"
	fi
}
