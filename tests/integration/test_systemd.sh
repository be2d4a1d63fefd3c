#!/usr/bin/env bash
# The systemd service under a real systemd, installed from the Debian
# package. On this host: `make install` into a staging directory (the other
# way in), `make deb` (lintian included), the package's contents, conffile
# and dependencies, `systemd-analyze verify` of the packaged unit, and a
# newer build of the package (a changelog entry on a copy of the tree).
# Then a minimal Debian bookworm root (debootstrap minbase with systemd and
# the package's dependencies, and no procps; cached under
# BUILD_DIR/systemd-root/) holding both packages, booted as an initramfs
# under QEMU/TCG with a Debian cloud kernel (BTF included, cached under
# BUILD_DIR/kernels/). Inside, a driver unit installs the package with
# `apt-get install ./kvmwarden_*.deb` (installed, neither enabled nor
# started), verifies its unit on that minimal root, edits the
# configuration, enables and starts the service and checks that
# kvmwarden.service reaches READY with a status, is ordered after
# tracefs's mount unit,
# holds only its two capabilities, serves /metrics, can write the cgroup
# tree and its state directory from its sandbox, reloads, is kept alive by
# its watchdog pings and restarted when they stop, and runs ExecStopPost on
# stop, and that the systemd backend (agent/actuate/actuate_systemd.c, through a
# small helper) sets a transient unit's CPUQuotaPerSecUSec and CPUWeight
# from root without capabilities, systemctl shows them, and puts them
# back. Then the agent itself, in enforce mode, acts on real units through
# systemd: a busy victim declared as a cgroup guest and a busy hog, both
# transient services on one CPU in kvmw.slice; its CPUWeight is raised and
# the hog's CPUQuotaPerSecUSec capped through systemd (systemctl shows it,
# the audit log names the entry), a weight changed by hand is let be, the
# rest put back at SIGTERM, and after a kill -9 by `kvmwarden restore`.
# Last, steering's grant: the generator's drop-in appears only with a
# hidden-steal budget, and with it the service keeps CAP_NET_ADMIN and can
# write rps_cpus from its sandbox.
# Before the stop, the newer package is installed over the running service:
# the edited configuration stays and the service runs the new build. It
# prints `KVMW-RESULT NAME PASS|FAIL DETAIL`
# lines on the serial console, which this script reads. There is no KVM
# under TCG, so the agent finds no VM there.
# Usage: tests/integration/test_systemd.sh [BUILD_DIR]   (default: build)
# Ends with `systemd: N passed, N failed, N skipped`; exits 1 on a failure.
set -uo pipefail
umask 022

repo=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=$(cd "${1:-$repo/build}" 2>/dev/null && pwd) || {
	echo "usage: $0 [BUILD_DIR]" >&2
	exit 2
}
# The whole boot, tests and two package installs included, took 121-175 s
# here; QEMU is killed after this many seconds whatever happens.
vm_timeout_s=${KVMWARDEN_SYSTEMD_TIMEOUT:-420}
suite=bookworm

passed=0 failed=0 skipped=0
pass() {
	passed=$((passed + 1))
	echo "PASS $1${2:+: $2}"
}
fail() {
	failed=$((failed + 1))
	echo "FAIL $1${2:+: $2}"
}
skip() {
	skipped=$((skipped + 1))
	echo "SKIP $1${2:+: $2}"
}
note() {
	echo "  $*"
}
finish() {
	echo "systemd: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit
}

work=$(mktemp -d /tmp/kvmw-systemd.XXXXXX)
qemu_pid=
cleanup() {
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null
		wait "$qemu_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ------------------------------------------------------------ install

stage=$work/stage
if ! make -C "$repo" --no-print-directory install DESTDIR="$stage" \
	PREFIX=/usr/local BUILD="$build_dir" >"$work/install.log" 2>&1; then
	fail install "make install failed: $(tail -n 3 "$work/install.log" | tr '\n' ' ')"
	finish
fi
unit=$stage/usr/local/lib/systemd/system/kvmwarden.service
missing=
for f in usr/local/bin/kvmwarden usr/local/lib/systemd/system/kvmwarden.service \
	usr/local/lib/systemd/system-generators/kvmwarden-generator \
	usr/local/share/man/man8/kvmwarden.8 etc/kvmwarden/kvmwarden.conf; do
	[ -f "$stage/$f" ] || missing="$missing /$f"
done
generator=$stage/usr/local/lib/systemd/system-generators/kvmwarden-generator
if [ -n "$missing" ]; then
	fail install "not installed:$missing"
elif grep -q '@PREFIX@' "$unit" "$generator" || [ ! -x "$generator" ]; then
	fail install "@PREFIX@ left in the installed unit or generator, or the generator is not executable"
else
	# A second install must keep the administrator's configuration.
	echo "# kept" >>"$stage/etc/kvmwarden/kvmwarden.conf"
	make -C "$repo" --no-print-directory install DESTDIR="$stage" \
		PREFIX=/usr/local BUILD="$build_dir" >"$work/install.log" 2>&1
	if [ "$(tail -n 1 "$stage/etc/kvmwarden/kvmwarden.conf")" = "# kept" ]; then
		pass install "binary, unit, generator, man page and configuration; an existing configuration is kept"
	else
		fail install "a second make install overwrote the configuration"
	fi
	sed -i '$d' "$stage/etc/kvmwarden/kvmwarden.conf"
fi

# ------------------------------------------------------------ the package

# make deb fails on any lintian error or warning; what lintian said is
# shown either way.
version=$(dpkg-parsechangelog -l "$repo/debian/changelog" -S Version 2>/dev/null)
arch=$(dpkg --print-architecture 2>/dev/null)
deb=$build_dir/deb/kvmwarden_${version}_$arch.deb
started=$SECONDS
if ! command -v dpkg-buildpackage >/dev/null || ! command -v lintian >/dev/null; then
	fail package "dpkg-buildpackage or lintian missing (scripts/deps.sh test installs debhelper and lintian)"
	finish
fi
if ! make -C "$repo" --no-print-directory deb BUILD="$build_dir" >"$work/deb.log" 2>&1 ||
	[ ! -f "$deb" ]; then
	fail package "make deb failed: $(tail -n 5 "$work/deb.log" | tr '\n' ' ')"
	finish
fi
lintian_said=$(sed -n '/^lintian /,/^built /p' "$work/deb.log" | grep -E '^[EWIPXO]: ' | tr '\n' ';')
pass package "make deb: $(basename "$deb") in $((SECONDS - started)) s; lintian: ${lintian_said:-nothing}"

# What is in it: the binary, the unit, the man page, the configuration as
# a conffile, and a dependency on the package of every library the binary
# links (from ${shlibs:Depends}, so a new library cannot be forgotten),
# and the version the binary reports is the package's and the source's.
unpacked=$work/unpacked
dpkg-deb -x "$deb" "$unpacked"
missing=
for f in usr/bin/kvmwarden lib/systemd/system/kvmwarden.service \
	lib/systemd/system-generators/kvmwarden-generator \
	usr/share/man/man8/kvmwarden.8.gz etc/kvmwarden/kvmwarden.conf; do
	[ -f "$unpacked/$f" ] || missing="$missing /$f"
done
conffiles=$(dpkg-deb --info "$deb" conffiles 2>/dev/null | tr '\n' ' ')
depends=$(dpkg-deb -f "$deb" Depends)
# The libraries it names (NEEDED), not ldd's whole closure: their own
# dependencies are their packages' business.
needed=$(readelf -d "$unpacked/usr/bin/kvmwarden" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
lib_pkgs=$(for soname in $needed; do
	lib=$(ldd "$unpacked/usr/bin/kvmwarden" | awk -v so="$soname" '$1 == so { print $3 }')
	[ -n "$lib" ] || continue
	real=$(readlink -f "$lib")
	owner=$(dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null ||
		dpkg -S "$lib" 2>/dev/null)
	[ -n "$owner" ] && echo "${owner%%:*}"
done | sort -u)
undeclared=
for p in $lib_pkgs; do
	[[ ", $depends," == *", $p "* || ", $depends," == *", $p,"* ]] || undeclared="$undeclared $p"
done
reports=$("$unpacked/usr/bin/kvmwarden" version 2>&1)
source_version=$(sed -n 's/^#define KVMWARDEN_VERSION "\(.*\)"/\1/p' "$repo/agent/base/version.h")
if [ -n "$missing" ]; then
	fail package-contents "not in the package:$missing"
elif grep -q '@PREFIX@' "$unpacked/lib/systemd/system/kvmwarden.service" ||
	! grep -q '^ExecStart=/usr/bin/kvmwarden ' "$unpacked/lib/systemd/system/kvmwarden.service"; then
	fail package-contents "the packaged unit does not start /usr/bin/kvmwarden"
elif ! grep -q '^exec /usr/bin/kvmwarden steering-dropin ' \
	"$unpacked/lib/systemd/system-generators/kvmwarden-generator"; then
	fail package-contents "the packaged generator does not run /usr/bin/kvmwarden steering-dropin"
elif [ "$conffiles" != "/etc/kvmwarden/kvmwarden.conf " ]; then
	fail package-contents "conffiles: '$conffiles'"
elif [ -n "$undeclared" ] || [ -z "$lib_pkgs" ]; then
	fail package-contents "linked but not in Depends:${undeclared:- (no library found by ldd)}"
elif [ "$reports" != "kvmwarden $version" ] || [ "$source_version" != "$version" ]; then
	fail package-contents "package $version, binary says '$reports', agent/base/version.h $source_version"
else
	pass package-contents "binary, unit, generator, man page; conffile $conffiles; Depends: $depends; reports $reports"
fi

# verify checks that ExecStart= exists, so the copy it reads points into the
# unpacked package; MANPATH lets it find the man page that Documentation=
# names. Warnings do not change its exit code: any output is a failure.
# (The guest verifies it again on a root without procps.)
unit=$unpacked/lib/systemd/system/kvmwarden.service
if ! command -v systemd-analyze >/dev/null; then
	skip verify "systemd-analyze not installed"
else
	mkdir -p "$work/verify"
	sed "s|/usr/bin/kvmwarden|$unpacked/usr/bin/kvmwarden|g" "$unit" \
		>"$work/verify/kvmwarden.service"
	man_check=yes
	command -v man >/dev/null || man_check=no
	if out=$(MANPATH=$unpacked/usr/share/man systemd-analyze verify \
		--man=$man_check "$work/verify/kvmwarden.service" 2>&1) && [ -z "$out" ]; then
		pass verify "systemd-analyze verify: no complaint (man page check: $man_check)"
	else
		fail verify "$(echo "$out" | tr '\n' ' ')"
	fi
fi

# A newer build, as a maintainer makes one: a changelog entry on a copy of
# this tree (as it is, uncommitted changes included), built without the
# unit tests the first build ran.
newer_version=$version+upgradetest1
src=$work/newer/kvmwarden
mkdir -p "$src"
tar -C "$repo" --exclude=./.git --exclude=./build --exclude=./debian/build \
	--exclude='./debian/kvmwarden*' --exclude=./debian/.debhelper \
	--exclude=./debian/files --exclude=./tests/bench/work -cf - . | tar -C "$src" -xf -
{
	echo "kvmwarden ($newer_version) unstable; urgency=medium"
	echo
	echo "  * A newer build for test_systemd.sh's upgrade."
	echo
	echo " -- $(sed -n 's/^ -- \(.*>\)  .*/\1/p' "$repo/debian/changelog" | head -n 1)  $(date -R)"
	echo
	cat "$repo/debian/changelog"
} >"$src/debian/changelog"
newer_deb=$work/newer/out/deb/kvmwarden_${newer_version}_$arch.deb
started=$SECONDS
if DEB_BUILD_OPTIONS=nocheck make -C "$src" --no-print-directory deb \
	BUILD="$work/newer/out" >"$work/newer.log" 2>&1 && [ -f "$newer_deb" ]; then
	pass package-newer "$(basename "$newer_deb") built in $((SECONDS - started)) s"
else
	fail package-newer "$(tail -n 5 "$work/newer.log" | tr '\n' ' ')"
	finish
fi

# ------------------------------------------------------------ machine

why=
if [ "$(id -u)" != 0 ]; then
	why="needs root (debootstrap, a root-owned initramfs)"
elif ! command -v qemu-system-x86_64 >/dev/null; then
	why="qemu-system-x86_64 not installed"
elif ! command -v debootstrap >/dev/null; then
	why="debootstrap not installed (scripts/deps.sh test installs it)"
elif ! command -v cpio >/dev/null; then
	why="cpio not installed (scripts/deps.sh test installs it)"
fi
if [ -n "$why" ]; then
	skip boot "$why"
	finish
fi

# The kernel: the newest Debian 6.1 cloud image (it has BTF and boots
# without modules from an initramfs), downloaded once, with its kvm and
# irqbypass modules: loaded in the guest, they give the kvm/* tracepoints,
# so the features check sees KVM exit telemetry attach under the unit.
kernels=$build_dir/kernels
vmlinuz=$(ls "$kernels"/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
[ -f "$kernels/kvm.ko" ] && [ -f "$kernels/irqbypass.ko" ] || vmlinuz=
if [ -z "$vmlinuz" ]; then
	mkdir -p "$kernels"
	find_kernel() {
		apt-cache search --names-only \
			'^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$' |
			awk '{ print $1 }' | sort -V | tail -n 1
	}
	pkg=$(find_kernel)
	if [ -z "$pkg" ]; then
		apt-get update -qq >/dev/null 2>&1
		pkg=$(find_kernel)
	fi
	if [ -z "$pkg" ]; then
		fail kernel "no linux-image-6.1.0-*-cloud-amd64-unsigned in apt's lists"
		finish
	fi
	# apt's sandbox user cannot write to a root-owned build directory.
	if ! (cd "$work" && apt-get download -q "$pkg" >"$work/kernel.log" 2>&1) ||
		! dpkg-deb --fsys-tarfile "$work/$pkg"_*.deb |
		tar -x -C "$work" --wildcards './boot/vmlinuz-*'; then
		fail kernel "cannot get $pkg: $(tail -n 2 "$work/kernel.log" | tr '\n' ' ')"
		finish
	fi
	mv "$work"/boot/vmlinuz-* "$kernels"/
	for m in irqbypass kvm; do
		f=$(dpkg-deb --fsys-tarfile "$work/$pkg"_*.deb | tar -t |
			grep -E "/$m\.ko(\.xz|\.zst)?\$" | head -n 1)
		dpkg-deb --fsys-tarfile "$work/$pkg"_*.deb | tar -x -C "$work" "$f" &&
			case $f in
			*.ko) cp "$work/$f" "$kernels/$m.ko" ;;
			*.ko.xz) xz -dc "$work/$f" >"$kernels/$m.ko" ;;
			*.ko.zst) zstd -qdc "$work/$f" >"$kernels/$m.ko" ;;
			esac || note "no $m module in $pkg"
	done
	rm -f "$work/$pkg"_*.deb
	vmlinuz=$(ls "$kernels"/vmlinuz-* | sort -V | tail -n 1)
fi

# The mirror apt uses here for the suite itself (not -updates or -security),
# from deb822 sources or one-line ones.
debian_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v suite="$suite" '
			/^[ \t]*$/ { if (uri != "" && hit) { print uri; exit } uri = ""; hit = 0; next }
			tolower($1) == "uris:" { uri = $2 }
			tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) hit = 1 }
			END { if (uri != "" && hit) print uri }' "$f"
	done
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk -v suite="$suite" '$1 == "deb" {
			i = 2; if ($i ~ /^\[/) while ($i !~ /\]$/) i++
			if ($i ~ /^\[/ || $i ~ /\]$/) i++
			if ($(i + 1) == suite) print $i }'
}
mirror=${KVMWARDEN_DEBIAN_MIRROR:-$(debian_mirror | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}

# The root: a minimal Debian as a fresh host has it (minbase: no procps, so
# no /bin/kill), systemd, and the package's dependencies, which apt then
# finds installed: the guest has no network. Its Depends field names them,
# so a new dependency rebuilds the root. Packed once, without docs and
# apt's caches, as an uncompressed cpio: the kernel then only copies it,
# where gunzip under TCG costs seconds at every boot.
packages=$( (echo systemd systemd-sysv util-linux kmod
	dpkg-deb -f "$deb" Depends | tr ',|' '\n\n' | sed 's/(.*)//; s/:any//') |
	tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ',' | sed 's/,$//')
cache=$build_dir/systemd-root
base=$cache/base.cpio
if [ ! -s "$base" ] || [ "$(cat "$cache/packages" 2>/dev/null)" != "$packages" ]; then
	note "building the $suite root from $mirror (about a minute, once)"
	rm -rf "$cache"
	mkdir -p "$cache"
	started=$SECONDS
	if ! debootstrap --variant=minbase --include="$packages" "$suite" \
		"$cache/root" "$mirror" >"$cache/debootstrap.log" 2>&1; then
		fail root "debootstrap failed: $(tail -n 3 "$cache/debootstrap.log" | tr '\n' ' ')"
		rm -rf "$cache/root"
		finish
	fi
	(cd "$cache/root" && find . \( -path ./var/cache/apt -o -path ./var/lib/apt/lists \
		-o -path ./usr/share/doc -o -path ./usr/share/man -o -path ./usr/share/info \
		-o -path ./usr/share/locale \) -prune -o -print |
		cpio -o -H newc --quiet >"$base.tmp") && mv "$base.tmp" "$base"
	rm -rf "$cache/root"
	echo "$packages" >"$cache/packages"
	note "root built in $((SECONDS - started)) s ($(du -m "$base" | cut -f1) MiB)"
fi

# ------------------------------------------------------------ the overlay

# What this test adds to the cached root, as a second archive the kernel
# unpacks over the first: the two packages, a drop-in that makes the
# watchdog short enough to test (an administrator's file, there before the
# package), the driver and its helpers.
overlay=$work/overlay
install -d "$overlay/etc/systemd/system/multi-user.target.wants" \
	"$overlay/etc/systemd/system/kvmwarden.service.d" "$overlay/usr/local/libexec" \
	"$overlay/root/debs/first" "$overlay/root/debs/newer"
cp "$deb" "$overlay/root/debs/first/"
cp "$newer_deb" "$overlay/root/debs/newer/"
# The systemd backend's helper (tests/integration/sdbus_check.c): one
# value set through systemd's API and read back, as the agent would.
if ! cc -O2 -std=gnu11 -D_GNU_SOURCE -I"$repo/agent" -I"$repo/bpf" \
	"$repo/tests/integration/sdbus_check.c" "$repo/agent/actuate/actuate_systemd.c" \
	"$repo/agent/actuate/actuate_affinity.c" "$repo/agent/collect/procfs.c" \
	"$repo/agent/collect/procfs_cmdline.c" "$repo/agent/model/text_fields.c" \
	-o "$overlay/usr/local/libexec/kvmw-sdbus" -lsystemd 2>"$work/sdbus-cc.log"; then
	note "kvmw-sdbus did not build: $(head -n 3 "$work/sdbus-cc.log" | tr '\n' ' ')"
fi
cat >"$overlay/etc/systemd/system/kvmwarden.service.d/10-test.conf" <<'EOF'
# 5 s instead of 30: the driver waits past two timeouts. A stopped agent
# does not act on SIGABRT, so the kill follows 3 s later.
[Service]
WatchdogSec=5s
TimeoutAbortSec=3s
EOF
# The kvm modules, loaded before the agent starts (its KVM programs attach
# once, at start). And kernel.perf_event_paranoid=2: Debian's default, 3,
# makes perf_event_open(2) want CAP_SYS_ADMIN (its patch predates
# CAP_PERFMON): measured in this guest, a tracepoint event opens from the
# unit's sandbox (CAP_BPF, CAP_PERFMON) at 2 and fails EACCES at 3. So on
# Debian, KVM exit telemetry under the unit needs that sysctl (README).
install -d "$overlay/usr/local/lib/kvmw"
cp "$kernels/irqbypass.ko" "$kernels/kvm.ko" "$overlay/usr/local/lib/kvmw/" 2>/dev/null
cat >"$overlay/etc/systemd/system/kvmw-kvm-modules.service" <<'EOF'
[Unit]
Description=kvm modules and perf_event_paranoid for the features check
Before=kvmwarden.service
[Service]
Type=oneshot
ExecStart=/sbin/insmod /usr/local/lib/kvmw/irqbypass.ko
ExecStart=/sbin/insmod /usr/local/lib/kvmw/kvm.ko
ExecStart=/bin/sh -c 'echo 2 >/proc/sys/kernel/perf_event_paranoid'
EOF
ln -s /etc/systemd/system/kvmw-kvm-modules.service \
	"$overlay/etc/systemd/system/multi-user.target.wants/kvmw-kvm-modules.service"
# Nothing should wait for a login on the console the results go to.
ln -s /dev/null "$overlay/etc/systemd/system/serial-getty@ttyS0.service"
ln -s /dev/null "$overlay/etc/systemd/system/getty@tty1.service"

# The sandbox probe: the shipped unit's sandbox lines, running a script
# that writes where enforcement and restore will write.
{
	echo "[Unit]"
	echo "Description=kvmwarden sandbox probe"
	echo "[Service]"
	echo "Type=oneshot"
	echo "ExecStart=/usr/local/libexec/kvmw-sandbox-probe"
	sed -n '/^\[Service\]/,/^\[/p' "$unit" | grep -vE \
		'^\[|^(Type|ExecStart|ExecReload|ExecStopPost|Restart|RestartPreventExitStatus|WatchdogSec)='
} >"$overlay/etc/systemd/system/kvmw-sandbox-probe.service"
cat >"$overlay/usr/local/libexec/kvmw-sandbox-probe" <<'EOF'
#!/bin/bash
# Runs in kvmwarden.service's sandbox; prints one line per problem.
bad=0
# Enforcement writes the files of cgroups that exist (a guest's scope) and
# may make children under them: here the driver's own cgroup stands in. Not
# the root of the tree: its directory is mode 0555, which root without
# CAP_DAC_OVERRIDE cannot write.
guest=/sys/fs/cgroup/system.slice/kvmw-test.service
if echo 0 >"$guest/cgroup.freeze" && mkdir "$guest/kvmw-probe" &&
	echo 1 >"$guest/kvmw-probe/cgroup.freeze" &&
	echo 0 >"$guest/kvmw-probe/cgroup.freeze" && rmdir "$guest/kvmw-probe"; then
	echo "cgroup tree writable"
else
	echo "PROBLEM: cannot write $guest"; bad=1
fi
if echo probe >/var/lib/kvmwarden/probe && rm /var/lib/kvmwarden/probe; then
	echo "state directory writable"
else
	echo "PROBLEM: cannot write /var/lib/kvmwarden"; bad=1
fi
for ro in /usr/kvmw-probe /etc/kvmw-probe /root/kvmw-probe; do
	if touch "$ro" 2>/dev/null; then
		echo "PROBLEM: $ro writable"; bad=1; rm -f "$ro"
	fi
done
echo "/usr /etc /root not writable"
# ProtectKernelTunables=: /sys read-only, but not the cgroup tree in it.
sys=$(findmnt -no OPTIONS /sys | cut -d, -f1)
cgroup=$(findmnt -no OPTIONS /sys/fs/cgroup | cut -d, -f1)
echo "/sys $sys, /sys/fs/cgroup $cgroup"
[ "$sys" = ro ] && [ "$cgroup" = rw ] || { echo "PROBLEM: mount flags"; bad=1; }
# What discovery reads of another process, here root's PID 1.
for f in cmdline stat cgroup; do
	head -c 1 /proc/1/$f >/dev/null || { echo "PROBLEM: cannot read /proc/1/$f"; bad=1; }
done
ls /proc/1/task >/dev/null || { echo "PROBLEM: cannot list /proc/1/task"; bad=1; }
echo "/proc/1 readable"
exit $bad
EOF
chmod 0755 "$overlay/usr/local/libexec/kvmw-sandbox-probe"

cat >"$overlay/etc/systemd/system/kvmw-test.service" <<'EOF'
[Unit]
Description=kvmwarden systemd test driver
After=kvmwarden.service
[Service]
ExecStart=/usr/local/libexec/kvmw-systemd-test
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
EOF
ln -s /etc/systemd/system/kvmw-test.service \
	"$overlay/etc/systemd/system/multi-user.target.wants/kvmw-test.service"
cat >"$overlay/usr/local/libexec/kvmw-systemd-test" <<'EOF'
#!/bin/bash
# The driver inside the VM: one KVMW-RESULT line per check on the serial
# console, KVMW-DONE, then power off.
result() { echo "KVMW-RESULT $1 $2 ${3:-}"; }
show() { systemctl show "${2:-kvmwarden.service}" -p "$1" --value; }
# ms between two monotonic timestamps in microseconds
ms() { echo $((($2 - $1) / 1000)); }
# wait_until SECONDS COMMAND...: polls every 0.2 s; 0 when it came true.
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}
# is_state STATE [UNIT]
is_state() { [ "$(show ActiveState "${2:-kvmwarden.service}")" = "$1" ]; }
settled() { ! is_state activating; }
done_and_off() {
	if [ -n "$journal" ]; then
		journalctl -b --no-pager -o short-monotonic -u kvmwarden.service -u kvmw-sandbox-probe.service |
			tail -n 60 | sed 's/^/KVMW-LOG /'
	fi
	echo "KVMW-DONE"
	systemctl poweroff -f
	exit 0
}
journal=
conf=/etc/kvmwarden/kvmwarden.conf

# The package, as an operator installs it: apt-get install ./FILE, its
# dependencies already there (the guest has no network). Installed, the
# service is neither enabled nor started.
first_deb=$(ls /root/debs/first/kvmwarden_*.deb)
newer_deb=$(ls /root/debs/newer/kvmwarden_*.deb)
deb_version() { basename "$1" | cut -d_ -f2; }
pkg_state() { dpkg-query -W -f='${db:Status-Status} ${Version}' kvmwarden 2>/dev/null; }
# apt's list and archive directories: the root was packed without them.
mkdir -p /var/lib/apt/lists/partial /var/cache/apt/archives/partial
apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$1" </dev/null 2>&1; }
out=$(apt_install "$first_deb")
rc=$?
state=$(pkg_state)
enabled=$(systemctl is-enabled kvmwarden.service 2>&1)
conffiles=$(dpkg-query -W -f='${Conffiles}' kvmwarden 2>/dev/null | awk '{ print $1 }' | tr '\n' ' ')
detail="apt-get install ./$(basename "$first_deb"): exit $rc, '$state', is-enabled $enabled, ActiveState $(show ActiveState), conffiles: $conffiles"
if [ "$rc" = 0 ] && [ "$state" = "installed $(deb_version "$first_deb")" ] &&
	[ "$enabled" = disabled ] && is_state inactive &&
	[ "$conffiles" = "/etc/kvmwarden/kvmwarden.conf " ]; then
	result pkg-install PASS "$detail"
else
	result pkg-install FAIL "$detail; apt: $(echo "$out" | tail -n 4 | tr '\n' ' ')"
	done_and_off
fi

# The packaged unit on a root without procps (a fresh minimal Debian has
# no /bin/kill), and, to show the check sees it, the same unit with the
# old ExecReload=/bin/kill.
unit=/lib/systemd/system/kvmwarden.service
verify() { systemd-analyze verify --man=no "$1" 2>&1; }
sed 's|^ExecReload=.*|ExecReload=/bin/kill -HUP $MAINPID|' "$unit" >/run/kvmw-old-reload.service
out=$(verify "$unit") old=$(verify /run/kvmw-old-reload.service | grep -m 1 '/bin/kill')
if [ ! -e /bin/kill ] && [ -z "$out" ] && [ -n "$old" ]; then
	result min-verify PASS "no /bin/kill here; systemd-analyze verify: no complaint; with ExecReload=/bin/kill: '$old'"
else
	result min-verify FAIL "/bin/kill $([ -e /bin/kill ] && echo present || echo absent); verify: '$(echo "$out" | tr '\n' ' ')'; old unit: '$old'"
fi

# The operator's edit (which the upgrade below must keep): discovery every
# 8 s, longer than the test's WatchdogSec=5s, so only the pings the agent
# sends while it sleeps can keep it alive.
sed -i -e 's/^interval_ms:.*/interval_ms: 8000/' \
	-e 's/^discover_interval_ms:.*/discover_interval_ms: 8000/' "$conf"
echo "# edited on this host" >>"$conf"
systemctl enable --now kvmwarden.service >/dev/null 2>&1

wait_until 120 settled
if is_state active; then
	result active PASS "ActiveState=active SubState=$(show SubState)"
else
	result active FAIL "ActiveState=$(show ActiveState) Result=$(show Result)"
	journal=1
	done_and_off
fi

# tracefs (the kvm_exit tracepoints attach through it) is mounted by
# systemd's unit, which the service follows; the agent never said it
# was missing.
after=$(show After)
tracefs=$(findmnt -no FSTYPE /sys/kernel/tracing)
missing=$(journalctl -b --no-pager -o cat -u kvmwarden.service | grep -c 'tracefs is not mounted')
if [[ " $after " == *" sys-kernel-tracing.mount "* ]] && [ "$tracefs" = tracefs ] &&
	[ "$missing" = 0 ] && is_state active sys-kernel-tracing.mount; then
	result tracefs PASS "After= has sys-kernel-tracing.mount (active), /sys/kernel/tracing is $tracefs, no 'tracefs is not mounted' logged"
else
	result tracefs FAIL "After=$after; /sys/kernel/tracing: '$tracefs'; 'not mounted' logged $missing"
fi

wait_until 60 is_state active multi-user.target
mu=$(show ActiveEnterTimestampMonotonic multi-user.target)
userspace=$(systemctl show -p UserspaceTimestampMonotonic --value)
start=$(show ExecMainStartTimestampMonotonic)
ready=$(show ActiveEnterTimestampMonotonic)
echo "KVMW-FIGURE kernel_ms=$((userspace / 1000)) multi_user_ms=$((mu / 1000)) agent_ready_ms=$(ms $start $ready)"

status=$(show StatusText)
[ -n "$status" ] && result status PASS "StatusText='$status'" ||
	result status FAIL "StatusText empty"

pid=$(show MainPID)
# CAP_PERFMON is 38, CAP_BPF 39: 0xc000000000.
caps=$(awk '/^Cap(Eff|Bnd|Inh|Amb)/ { printf "%s%s ", $1, $2 }' /proc/$pid/status)
# The unit grants CAP_BPF and CAP_PERFMON; once its programs are attached
# the agent drops both (since Linux 6.0 bpf() calls on descriptors it holds
# need neither, which it checks in a child first; /metrics below shows it
# still measures).
[ "$caps" = "CapInh:0000000000000000 CapEff:0000000000000000 CapBnd:000000c000000000 CapAmb:0000000000000000 " ] &&
	result capabilities PASS "none left after attach, bounded by CAP_BPF CAP_PERFMON ($caps)" ||
	result capabilities FAIL "$caps"

metrics=$(timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/19857 &&
	printf "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3 && cat <&3' 2>&1)
echo "$metrics" | grep -q '^kvmwarden_build_info' &&
	result metrics PASS "$(echo "$metrics" | grep -c '^kvmwarden_') kvmwarden_ samples from /metrics" ||
	result metrics FAIL "$(echo "$metrics" | head -n 3 | tr '\r\n' '  ')"

# Every feature under the shipped unit's sandbox and system-call filter:
# steal attribution, block I/O, and KVM exit telemetry through the classic
# kvm/* tracepoints (perf_event_open). Without a KVM guest running, the
# exit part may only say no vCPU has run long enough yet.
agent_log=$(journalctl -b --no-pager -o cat -u kvmwarden.service)
attached=$(echo "$agent_log" | grep 'KVM telemetry attached' | head -n 1)
missing=$(echo "$agent_log" | grep -E 'unavailable|not measured|not loaded|not permitted' |
	grep -v 'no vCPU has run long enough' | head -n 3 | tr '\n' ';')
if [ ! -d /sys/module/kvm ]; then
	result features FAIL "kvm.ko not loaded: $(systemctl status kvmw-kvm-modules.service 2>&1 | tail -n 2 | tr '\n' ' ')"
elif echo "$attached" | grep -q 'kvm_exit (tracepoint)' &&
	echo "$attached" | grep -q 'kvm_entry (tracepoint)' && [ -z "$missing" ]; then
	result features PASS "${attached#*: }; attribution and block I/O loaded"
else
	result features FAIL "${attached:-no KVM attach line}; $missing"
	journal=1
fi

probe_log() { journalctl -b --no-pager -o cat _SYSTEMD_UNIT=kvmw-sandbox-probe.service | tr '\n' ';'; }
if systemctl start kvmw-sandbox-probe.service; then
	result sandbox PASS "$(probe_log)"
else
	result sandbox FAIL "$(probe_log)"
	journal=1
fi

systemctl reload kvmwarden.service
reloaded() { journalctl -b --no-pager -o cat -u kvmwarden.service | grep -q 'configuration reloaded'; }
wait_until 10 reloaded && [ "$(show MainPID)" = "$pid" ] &&
	result reload PASS "SIGHUP reread the configuration, same process" ||
	result reload FAIL "no 'configuration reloaded' in the journal within 10 s"

watchdog=$(show WatchdogUSec)
sleep 12
if [ "$watchdog" = 5s ] && is_state active && [ "$(show MainPID)" = "$pid" ] &&
	[ "$(show NRestarts)" = 0 ]; then
	result watchdog-alive PASS "WatchdogUSec=$watchdog, discovery every 8 s; same pid $pid after 12 s, NRestarts=0"
else
	result watchdog-alive FAIL "WatchdogUSec=$watchdog ActiveState=$(show ActiveState) MainPID=$(show MainPID) (was $pid) NRestarts=$(show NRestarts)"
	journal=1
fi

# Without pings (the agent stopped), systemd must kill and restart it.
stopped_at=$SECONDS
kill -STOP "$pid"
restarted() { [ "$(show NRestarts)" = 1 ] && is_state active && [ "$(show MainPID)" != "$pid" ]; }
if wait_until 40 restarted; then
	dog=$(journalctl -b --no-pager -o cat -u kvmwarden.service | grep -c 'Watchdog timeout')
	result watchdog-fires PASS "stopped agent killed and restarted in $((SECONDS - stopped_at)) s, $dog watchdog timeout logged"
else
	result watchdog-fires FAIL "NRestarts=$(show NRestarts) ActiveState=$(show ActiveState) MainPID=$(show MainPID) (was $pid)"
	kill -CONT "$pid" 2>/dev/null
	journal=1
fi

# The newer build over the running, enabled service: the edited
# configuration is kept (dpkg sees the operator's change and an unchanged
# packaged file: no question, no .dpkg-dist), the service restarted on the
# new binary, still enabled.
pid=$(show MainPID)
out=$(apt_install "$newer_deb")
rc=$?
new_version=$(deb_version "$newer_deb")
restarted_on_new() { is_state active && [ "$(show MainPID)" != "$pid" ]; }
wait_until 60 restarted_on_new
scrape() {
	timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/19857 &&
		printf "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3 && cat <&3' 2>&1
}
build_info=$(scrape | grep -m 1 '^kvmwarden_build_info' | tr -d '\r')
kept=$(grep -c -e '^discover_interval_ms: 8000' -e '^# edited on this host' "$conf")
leftovers=$(ls /etc/kvmwarden/)
detail="apt-get install ./$(basename "$newer_deb"): exit $rc, '$(pkg_state)', is-enabled $(systemctl is-enabled kvmwarden.service), pid $pid -> $(show MainPID), '$build_info'; edits kept: $kept of 2; /etc/kvmwarden: $(echo $leftovers)"
if [ "$rc" = 0 ] && [ "$(pkg_state)" = "installed $new_version" ] && restarted_on_new &&
	[[ $build_info == *"version=\"$new_version\""* ]] && [ "$kept" = 2 ] &&
	[ "$(echo $leftovers)" = kvmwarden.conf ] &&
	[ "$(systemctl is-enabled kvmwarden.service)" = enabled ]; then
	result upgrade PASS "$detail"
else
	result upgrade FAIL "$detail; apt: $(echo "$out" | tail -n 4 | tr '\n' ' ')"
	journal=1
fi

# ExecStopPost= shows the last run's pid and status once it has run.
post_pid() { show ExecStopPost | sed -n 's/.* pid=\([0-9]*\) .*/\1/p'; }
post_before=$(post_pid)
pid=$(show MainPID)
stop_started=$(date +%s%N)
systemctl stop kvmwarden.service
stop_ms=$((($(date +%s%N) - stop_started) / 1000000))
post=$(show ExecStopPost)
post_status=$(echo "$post" | sed -n 's/.* code=\([a-z]*\) ; status=\([0-9]*\).*/\1 \2/p')
said_stopping=$(journalctl -b --no-pager -o cat _PID=$pid | grep -c 'kvmwarden: stopping')
if is_state inactive && [ "$(show Result)" = success ] && [ "$said_stopping" -ge 1 ]; then
	result stop PASS "SIGTERM: exit 0, inactive in $stop_ms ms"
else
	result stop FAIL "ActiveState=$(show ActiveState) Result=$(show Result) ExecMainStatus=$(show ExecMainStatus) 'stopping' lines: $said_stopping"
	journal=1
fi
if [ -n "$(post_pid)" ] && [ "$(post_pid)" != "$post_before" ] && [ "$post_status" = "exited 0" ]; then
	result stop-post PASS "ExecStopPost ran (pid $(post_pid), exit 0): $(journalctl -b --no-pager -o cat _PID=$(post_pid) | head -n 1)"
else
	result stop-post FAIL "ExecStopPost=$post (pid before the stop: $post_before)"
	journal=1
fi

# The systemd backend on a transient unit, from root with no capability
# left (as the agent after attach): set, seen by systemctl, put back.
systemd-run --unit=kvmw-hog sleep 300 >/dev/null 2>&1
sd() { setpriv --bounding-set=-all --inh-caps=-all /usr/local/libexec/kvmw-sdbus "$@" 2>&1; }
q=systemd:kvmw-hog.service/CPUQuotaPerSecUSec
w=systemd:kvmw-hog.service/CPUWeight
q0=$(sd $q) w0=$(sd $w)
q1=$(sd $q 250000) w1=$(sd $w 500)
shown="$(show CPUQuotaPerSecUSec kvmw-hog.service) $(show CPUWeight kvmw-hog.service)"
q2=$(sd $q "$q0") w2=$(sd $w "$w0")
back="$(show CPUQuotaPerSecUSec kvmw-hog.service) $(show CPUWeight kvmw-hog.service)"
detail="quota $q0 -> $q1 -> $q2, weight $w0 -> $w1 -> $w2; systemctl show: '$shown' then '$back'"
if [ "$q1" = 250000 ] && [ "$w1" = 500 ] && [ "$shown" = "250ms 500" ] &&
	[ "$q2" = "$q0" ] && [ "$w2" = "$w0" ]; then
	result sdbus PASS "$detail"
else
	result sdbus FAIL "$detail"
fi
systemctl stop kvmw-hog.service
# A stopped transient unit is collected, and loaded again on demand as
# "not-found" with default values: the backend must call it gone, not
# changed by someone else.
gone() { [ "$(sd $w)" = "kvmw-sdbus: reading: No such file or directory" ]; }
if wait_until 10 gone; then
	result sdbus-gone PASS "after stop: '$(sd $w)', LoadState=$(show LoadState kvmw-hog.service)"
else
	result sdbus-gone FAIL "after stop: '$(sd $w)', LoadState=$(show LoadState kvmw-hog.service)"
fi

# Enforcement through systemd: the real agent, in enforce mode, on real
# units. A victim declared as a cgroup guest and a hog, both busy on CPU 1
# as transient services in kvmw.slice (a root), so the victim waits for
# half of its CPU: the agent raises its CPUWeight, then caps the hog's
# CPUQuotaPerSecUSec, both through systemd, and puts them back at SIGTERM
# (as kvmwarden.service; a weight an administrator changed meanwhile is
# theirs) and, after a kill -9 (run by hand), `kvmwarden restore` does. A 2 % budget keeps the victim over it once its
# weight is raised (it still waits about a tenth), so the cap follows; a
# 10-minute cool-down keeps both in force until the test is done.
audit=/var/log/kvmwarden/audit.jsonl
cat >"$conf" <<'CONF'
mode: enforce
interval_ms: 500
discover_interval_ms: 500
summary_interval_s: 0
classes: [high, normal, low]
default_class: low
roots: [/kvmw.slice]
min_quota_percent: 10
cooldown_ms: 600000
state_file: /var/lib/kvmwarden/state
audit_log: /var/log/kvmwarden/audit.jsonl
cgroup_guests:
  - name: kvmw-victim
    cgroup: /kvmw.slice/kvmw-victim.service
budgets:
  - match: kvmw-victim
    class: high
    max_steal_percent: 2
    cpu_weight: 1000
    throttle:
      cgroup_roots: [/kvmw.slice/kvmw-cpuhog.service]
CONF
busy='while :; do :; done'
systemd-run --unit=kvmw-victim --slice=kvmw -p CPUAffinity=1 sh -c "$busy" >/dev/null 2>&1
systemd-run --unit=kvmw-cpuhog --slice=kvmw -p CPUAffinity=1 sh -c "$busy" >/dev/null 2>&1
quota() { show CPUQuotaPerSecUSec kvmw-cpuhog.service; }
weight() { show CPUWeight kvmw-victim.service; }
q0=$(quota) w0=$(weight)
entry=systemd:kvmw-cpuhog.service/CPUQuotaPerSecUSec
# Polled from the cgroup file systemd writes: a systemctl call costs
# seconds here while two busy loops and the agent share two TCG CPUs.
capped() {
	local max
	read -r max _ </sys/fs/cgroup/kvmw.slice/kvmw-cpuhog.service/cpu.max 2>/dev/null
	[ -n "$max" ] && [ "$max" != max ]
}
back() { [ "$(quota)" = "$q0" ] && [ "$(weight)" = "$w0" ]; }
sd_log() { journalctl -b --no-pager -o cat -u kvmwarden.service | grep -c "$1"; }
# Seconds from $1 (date +%s.%N) to the first applied $2 in the audit log
# from its line $3 on.
since() {
	tail -n +"${3:-1}" "$audit" 2>/dev/null | grep "\"action\":\"$2\"" | grep '"applied":true' |
		head -n 1 | sed -n 's/.*"time":\([0-9.]*\).*/\1/p' |
		awk -v t0="$1" '{ printf "%.1f", $1 - t0 }'
}

# As the service, sandbox included: SIGTERM puts back what is still ours.
started=$SECONDS t0=$(date +%s.%N)
if systemctl start kvmwarden.service && wait_until 90 capped; then
	q1=$(quota) w1=$(weight)
	took=$((SECONDS - started))
	echo "KVMW-FIGURE sd_agent_ready_ms=$(ms $(show ExecMainStartTimestampMonotonic) $(show ActiveEnterTimestampMonotonic)) sd_weight_s=$(since $t0 raise_weight) sd_cap_s=$(since $t0 cap_quota)"
	routed=$(sd_log 'acted on through systemd')
	# json-c writes "/" as "\/".
	in_audit=$(sed 's|\\/|/|g' "$audit" 2>/dev/null | grep -c "\"entry\":\"$entry\"")
	in_state=$(sed 's|\\/|/|g' /var/lib/kvmwarden/state 2>/dev/null | grep -c "$entry")
	detail="hog CPUQuotaPerSecUSec $q0 -> $q1, victim CPUWeight $w0 -> $w1, $took s after start; 'through systemd' logged $routed, entry in audit $in_audit, in state file $in_state"
	if [ "$q1" != "$q0" ] && [ "$routed" -ge 1 ] && [ "${in_audit:-0}" -ge 1 ] &&
		[ "${in_state:-0}" -ge 1 ]; then
		result sd-enforce PASS "$detail"
	else
		result sd-enforce FAIL "$detail"
		journal=1
	fi
	# An administrator's weight for the victim (the agent set it once and
	# only reads it since, so no write of ours races with this): it is
	# read back, audited as an outside change and not put back at stop;
	# the hog's quota is.
	weight_entry=systemd:kvmw-victim.service/CPUWeight
	outside() { sed 's|\\/|/|g' "$audit" | grep '"action":"outside_change"' |
		grep -q "\"entry\":\"$weight_entry\""; }
	systemctl set-property --runtime kvmw-victim.service CPUWeight=300
	wait_until 15 outside
	noticed=$?
	systemctl stop kvmwarden.service
	puts=$(grep '"action":"restore"' "$audit" | grep -c 'no longer needed')
	if [ "$noticed" = 0 ] && [ "$(weight)" = 300 ]; then
		result sd-outside PASS "victim CPUWeight set to 300 by hand: outside_change audited, still $(weight) after the agent's stop"
	else
		result sd-outside FAIL "victim CPUWeight set to 300 by hand: outside_change audited: $([ "$noticed" = 0 ] && echo yes || echo no), after stop $(weight)"
		journal=1
	fi
	if [ "$(quota)" = "$q0" ] && [ "$puts" -ge 1 ]; then
		result sd-stop PASS "after SIGTERM: hog quota $(quota) ($puts put back by the agent itself)"
	else
		result sd-stop FAIL "after SIGTERM: hog quota $(quota) (was $q0), $puts put back"
		journal=1
	fi
	systemctl set-property --runtime kvmw-victim.service CPUWeight=
else
	result sd-enforce FAIL "no cap within 90 s: quota $(quota), weight $(weight), ActiveState=$(show ActiveState)"
	result sd-outside FAIL "not reached"
	result sd-stop FAIL "not reached"
	systemctl stop kvmwarden.service
	journal=1
fi

# By hand, then kill -9: the values stay, the journal holds them, and
# `kvmwarden restore` puts them back through systemd.
# What they hold now (the weight was reset by hand).
q0=$(quota) w0=$(weight)
# The service's runtime directory (the API socket's) went with it.
mkdir -p /run/kvmwarden
/usr/bin/kvmwarden run --config "$conf" >/run/kvmw-agent.log 2>&1 &
agent=$!
started=$SECONDS t0=$(date +%s.%N) from=$(($(wc -l <"$audit") + 1))
if wait_until 90 capped; then
	kill -9 "$agent"
	wait "$agent" 2>/dev/null
	echo "KVMW-FIGURE sd_hand_weight_s=$(since $t0 raise_weight $from) sd_hand_cap_s=$(since $t0 cap_quota $from)"
	q1=$(quota) w1=$(weight)
	restored=$(/usr/bin/kvmwarden restore --config "$conf" 2>&1 | tr '\n' ' ')
	detail="capped $((SECONDS - started)) s after start; after kill -9: quota $q1, weight $w1; restore: '$restored'; then quota $(quota), weight $(weight)"
	if [ "$q1" != "$q0" ] && back && [[ $restored == *"via $entry"* ]] &&
		[[ $restored == *"restored "[1-9]* ]]; then
		result sd-restore PASS "$detail"
	else
		result sd-restore FAIL "$detail"
		journal=1
	fi
else
	kill -9 "$agent" 2>/dev/null
	result sd-restore FAIL "no cap within 90 s: $(tail -n 3 /run/kvmw-agent.log | tr '\n' ' ')"
	journal=1
fi
systemctl stop kvmw-victim.service kvmw-cpuhog.service

# Steering's grant: only a configuration with a hidden-steal budget gets
# the generator's drop-in; with it the service keeps CAP_NET_ADMIN and
# finds a device's rps_cpus (lo's, the one device here) writable in its
# sandbox, which its start-up check says otherwise; without, no drop-in.
dropin=/run/systemd/generator/kvmwarden.service.d/50-steering.conf
had_dropin=$([ -e "$dropin" ] && echo yes || echo no)
cp "$conf" /run/kvmw-conf.saved
cat >"$conf" <<'CONF'
mode: enforce
interval_ms: 500
summary_interval_s: 0
budgets:
  - match: nobody-here
    class: high
    max_hidden_steal_percent: 5
steering:
  devices: [lo]
CONF
systemctl daemon-reload
grant=$(tr '\n' ' ' <"$dropin" 2>/dev/null | sed 's/#[^[]*//')
steer_from=$(date +%s)
if systemctl start kvmwarden.service && wait_until 90 is_state active; then
	sleep 2
	pid=$(show MainPID)
	bnd=$(awk '/^CapBnd/ { print $2 }' /proc/$pid/status)
	eff=$(awk '/^CapEff/ { print $2 }' /proc/$pid/status)
	refused=$(journalctl -b --no-pager -o cat -u kvmwarden.service --since "@$steer_from" |
		grep -E 'read-only here|no CAP_NET_ADMIN|budget: off' | head -n 2 | tr '\n' ';')
	systemctl stop kvmwarden.service
	cp /run/kvmw-conf.saved "$conf"
	systemctl daemon-reload
	gone=$([ -e "$dropin" ] && echo no || echo yes)
	# CAP_NET_ADMIN is 12: 0x1000.
	detail="no drop-in before: $([ $had_dropin = no ] && echo yes || echo no); drop-in: '$grant'; CapBnd $bnd CapEff $eff; refusals: '${refused:-none}'; drop-in gone without the budget: $gone"
	if [ "$had_dropin" = no ] && [[ $grant == *CAP_NET_ADMIN* ]] &&
		[[ $grant == *ReadWritePaths=-/sys/devices/virtual/net* ]] &&
		(( 0x$bnd & 0x1000 )) && (( 0x$eff & 0x1000 )) &&
		[ -z "$refused" ] && [ "$gone" = yes ]; then
		result steering-grant PASS "$detail"
	else
		result steering-grant FAIL "$detail"
		journal=1
	fi
else
	cp /run/kvmw-conf.saved "$conf"
	result steering-grant FAIL "the service did not start with a hidden-steal budget; drop-in: '$grant'"
	journal=1
fi
done_and_off
EOF
chmod 0755 "$overlay/usr/local/libexec/kvmw-systemd-test"

initrd=$work/initrd
(cd "$overlay" && find . -mindepth 1 | cpio -o -H newc --quiet >"$work/overlay.cpio")
cat "$base" "$work/overlay.cpio" >"$initrd"

# ------------------------------------------------------------ the boot

console=$work/console.log
note "booting $(basename "$vmlinuz") under TCG (up to $vm_timeout_s s)"
boot_started=$SECONDS
# thread=single: the agent's start and stop patch kernel text (tracepoint
# static keys), which QEMU's one-thread-per-vCPU TCG sometimes lets the
# other vCPU run stale; see test_nested_kvm.sh.
qemu-system-x86_64 -accel tcg,thread=single -smp 2 -m 1024 -nodefaults -display none \
	-no-reboot -serial "file:$console" -kernel "$vmlinuz" -initrd "$initrd" \
	-append "console=ttyS0 rdinit=/lib/systemd/systemd panic=-1 loglevel=4 systemd.show_status=error softlockup_panic=1" \
	</dev/null >"$work/qemu.log" 2>&1 &
qemu_pid=$!
while kill -0 "$qemu_pid" 2>/dev/null && [ $((SECONDS - boot_started)) -lt "$vm_timeout_s" ]; do
	grep -q KVMW-DONE "$console" 2>/dev/null && break
	sleep 1
done
# After KVMW-DONE the guest powers itself off; give it a moment.
for _ in 1 2 3 4 5; do
	kill -0 "$qemu_pid" 2>/dev/null || break
	sleep 1
done
elapsed=$((SECONDS - boot_started))
if kill -0 "$qemu_pid" 2>/dev/null; then
	kill "$qemu_pid"
	wait "$qemu_pid" 2>/dev/null
	grep -q KVMW-DONE "$console" || note "QEMU killed after $elapsed s"
fi
qemu_pid=

tr -d '\r' <"$console" >"$work/console.txt"
grep -o 'KVMW-FIGURE .*' "$work/console.txt" | sed 's/^KVMW-FIGURE /  figures: /'
note "QEMU ran $elapsed s"
for name in pkg-install min-verify active tracefs status capabilities metrics \
	features sandbox reload watchdog-alive watchdog-fires upgrade stop stop-post sdbus \
	sdbus-gone sd-enforce sd-outside sd-stop sd-restore steering-grant; do
	line=$(grep -o "KVMW-RESULT $name .*" "$work/console.txt" | head -n 1)
	verdict=$(echo "$line" | awk '{ print $3 }')
	detail=$(echo "$line" | cut -d' ' -f4-)
	case $verdict in
	PASS) pass "$name" "$detail" ;;
	FAIL) fail "$name" "$detail" ;;
	*) fail "$name" "no result from the guest" ;;
	esac
done
if [ "$failed" -gt 0 ]; then
	echo "  --- the guest's journal and console, last lines:"
	grep -o 'KVMW-LOG .*' "$work/console.txt" | sed 's/^KVMW-LOG /  | /'
	grep -v 'KVMW-' "$work/console.txt" | tail -n 25 | sed 's/^/  > /'
	[ -s "$work/qemu.log" ] && sed 's/^/  qemu: /' "$work/qemu.log" | tail -n 5
fi
finish
