#!/usr/bin/env bash
# The agent's KVM-only paths on a machine without /dev/kvm: a Debian cloud
# kernel booted under QEMU/TCG with a CPU that has AMD SVM (TCG emulates
# it), so inside that guest kvm_amd loads, /dev/kvm exists and KVM_RUN,
# kvm_exit and kvm_entry are real. The initramfs holds busybox, the
# kernel's kvm modules, tests/nested/minivmm (a tiny KVM VMM), the agent
# and the libraries it links. tests/nested/guest-init.sh runs the scenario
# in there and prints its findings on the serial console;
# tests/nested/nested_checks.py judges them: guests found by KVM_RUN (one
# with unnamed vCPU threads), vCPU indexes, steal and run time against
# /proc/PID/task/TID/schedstat, exits by reason against the VMM's own
# count, and `kvmwarden check-kernel --json`: every BPF program loads on
# that kernel within the verifier budget, its counts kept in
# tests/nested/verifier-insns-SERIES.txt. Each boot then runs
# tests/nested/enforce-v2.sh: enforcement on that kernel's cgroup v2 with
# plain processes declared as cgroup guests (react, relax, SIGTERM, kill -9
# and restore), judged by tests/nested/enforce_checks.py.
# Kernels and busybox are downloaded once and cached under BUILD_DIR/kernels/
# nested/ and BUILD_DIR/nested/: 6.1 and 6.12 from this machine's Debian 12
# sources, 7.2 from Debian's unstable suite (sid) of the same archive,
# through a private apt tree (see newest_kernel). sid moves on: once it
# has no 7.2 left, a machine without the cache needs the new series here.
# Usage: tests/integration/test_nested_kvm.sh [BUILD_DIR]
#   KVMWARDEN_NESTED_KERNELS  kernel series to boot (default "6.1 6.12 7.2")
#   KVMWARDEN_BINARY          agent binary (default BUILD_DIR/kvmwarden)
#   KVMWARDEN_NESTED_TIMEOUT  seconds before QEMU is killed (default 600)
#   KVMWARDEN_NESTED_STRICT=1 absolute steal/run beyond 2% + 5 ms fail
#                             instead of SKIP (see nested_checks.py)
# Ends with `nested: N passed, N failed, N skipped`; exits 1 on a failure.
set -uo pipefail
umask 022

repo=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=$(cd "${1:-$repo/build}" 2>/dev/null && pwd) || {
	echo "usage: $0 [BUILD_DIR]" >&2
	exit 2
}
series_list=${KVMWARDEN_NESTED_KERNELS:-6.1 6.12 7.2}
binary=${KVMWARDEN_BINARY:-$build_dir/kvmwarden}
# A boot with the whole scenario takes one to two minutes under TCG on a
# quiet machine, several times that on a loaded one; QEMU is killed after
# this many seconds whatever happens.
vm_timeout_s=${KVMWARDEN_NESTED_TIMEOUT:-600}

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
	echo "nested: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit
}

work=$(mktemp -d /tmp/kvmw-nested.XXXXXX)
# apt's sandbox user downloads into it
chmod 0755 "$work"
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

why=
if [ "$(id -u)" != 0 ]; then
	why="needs root (a root-owned initramfs)"
elif ! command -v qemu-system-x86_64 >/dev/null; then
	why="qemu-system-x86_64 not installed"
elif ! command -v cpio >/dev/null; then
	why="cpio not installed (scripts/deps.sh test installs it)"
elif ! command -v python3 >/dev/null; then
	why="python3 not installed"
elif [ ! -x "$binary" ]; then
	why="no agent binary $binary (run make first)"
fi
if [ -n "$why" ]; then
	skip nested "$why"
	finish
fi

# ------------------------------------------------------------ parts

mkdir -p "$build_dir/nested" "$build_dir/kernels/nested"
if ! gcc -static -O2 -Wall -Wextra -Werror -pthread -o "$work/minivmm" \
	"$repo/tests/nested/minivmm.c" >"$work/minivmm.log" 2>&1; then
	fail minivmm "does not build statically: $(tail -n 3 "$work/minivmm.log" | tr '\n' ' ')"
	finish
fi
if ! gcc -static -O2 -Wall -Wextra -Werror -o "$work/proginsns" \
	"$repo/tests/nested/proginsns.c" >"$work/proginsns.log" 2>&1; then
	fail proginsns "does not build statically: $(tail -n 3 "$work/proginsns.log" | tr '\n' ' ')"
	finish
fi

# Kernels, busybox and copy_with_libs: the parts other TCG-booted tests
# share (nested_parts.sh).
. "$repo/tests/integration/nested_parts.sh"
if ! busybox=$(nested_busybox); then
	fail busybox "cannot download busybox-static: $(tail -n 2 "$work/download.log" | tr '\n' ' ')"
	finish
fi

# The initramfs without the kernel's modules, shared by every kernel.
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,modules,etc}
cp "$busybox" "$root/bin/busybox"
install -m 0755 "$work/minivmm" "$root/bin/minivmm"
install -m 0755 "$work/proginsns" "$root/bin/proginsns"
install -m 0755 "$repo/tests/nested/guest-init.sh" "$root/init"
install -m 0644 "$repo/tests/nested/enforce-v2.sh" "$root/enforce-v2.sh"
copy_with_libs "$root" "$binary" /usr/sbin/kvmwarden
# Debian's busybox has neither chrt nor nice.
copy_with_libs "$root" "$(command -v chrt)" /usr/bin/chrt
copy_with_libs "$root" "$(command -v nice)" /usr/bin/nice
# The agent may want configuration; a sanitizer build wants nothing more
# than its libraries, which ldd listed.
[ -f "$repo/configs/kvmwarden.conf" ] && install -D -m 0644 "$repo/configs/kvmwarden.conf" \
	"$root/etc/kvmwarden/kvmwarden.conf"

# ------------------------------------------------------------ boots

for series in $series_list; do
	echo "== kernel $series"
	if ! kdir=$(kernel_dir "$series"); then
		fail "kernel-$series" "cannot get a $series cloud kernel (linux-image-*-unsigned, or linux-binary-* and linux-modules-*) with kvm modules: $(tail -n 2 "$work/download.log" 2>/dev/null | tr '\n' ' ')"
		continue
	fi
	note "kernel $(basename "$kdir")"
	rm -f "$root"/modules/*
	cp "$kdir"/*.ko "$kdir/.modules-3" "$root/modules/"
	# Uncompressed: the kernel only copies it, where gunzip under TCG
	# costs seconds at every boot.
	(cd "$root" && find . | cpio -o -H newc --quiet) >"$work/initramfs.cpio"

	# Kept after the run for whoever reads a failure.
	console=$build_dir/nested/console-$series.log
	rm -f "$console"
	# The guest's disk, for the block I/O check (a writer in a cgroup).
	rm -f "$work/disk.img" && truncate -s 64M "$work/disk.img"
	started=$SECONDS
	# -cpu max: every feature TCG emulates, SVM and nested paging included.
	# thread=single: with a host thread per vCPU, QEMU 7.2 now and then
	# lets one vCPU run code another has just patched (attaching a BPF
	# program flips a tracepoint's static key, cpu.max flips the
	# bandwidth one), and the guest dies of "Oops: int3" in __schedule or
	# update_curr, 2 boots in 10 here. One thread for both vCPUs costs
	# ~30 s a boot. softlockup_panic: a stuck guest ends at once, with a
	# backtrace at loglevel 5, instead of at the timeout.
	timeout --kill-after=10 "$vm_timeout_s" qemu-system-x86_64 -accel tcg,thread=single -cpu max \
		-smp 2 -m 1024 -nodefaults -display none -no-reboot \
		-serial "file:$console" -kernel "$kdir/vmlinuz" \
		-initrd "$work/initramfs.cpio" \
		-drive "file=$work/disk.img,if=virtio,format=raw" \
		-append "console=ttyS0 panic=-1 quiet loglevel=5 softlockup_panic=1 softlockup_all_cpu_backtrace=1" &
	qemu_pid=$!
	wait "$qemu_pid"
	qemu_status=$?
	qemu_pid=
	note "QEMU ran $((SECONDS - started)) s (exit $qemu_status)"
	if [ "$qemu_status" -ne 0 ] || ! grep -q '^KVMW DONE' "$console"; then
		fail "boot-$series" "no KVMW DONE on the console (QEMU exit $qemu_status): $(tail -n 5 "$console" | tr '\n' ' ')"
		# The console stays in the build tree, which CI throws away:
		# what the guest did last and the kernel's own report go to the log.
		note "last guest steps: $(grep '^KVMW' "$console" | tail -n 3 | cut -c1-160 | tr '\n' '|')"
		sed -n '/BUG:\|Oops\|WARNING:\|soft lockup\|rcu_.*stall\|general protection/,+45p' \
			"$console" | head -n 120 | sed 's/^/    console: /'
		continue
	fi
	python3 "$repo/tests/nested/nested_checks.py" "$console" "$series" \
		"$repo/tests/nested/verifier-insns-$series.txt" >"$work/checks.log" 2>&1
	checks_status=$?
	python3 "$repo/tests/nested/enforce_checks.py" "$console" "$series" \
		>>"$work/checks.log" 2>&1 || checks_status=$((checks_status | $?))
	cat "$work/checks.log"
	while read -r verdict name detail; do
		case $verdict in
		PASS) passed=$((passed + 1)) ;;
		FAIL) failed=$((failed + 1)) ;;
		SKIP) skipped=$((skipped + 1)) ;;
		esac
	done <"$work/checks.log"
	if [ "$checks_status" -ne 0 ] && ! grep -q '^FAIL' "$work/checks.log"; then
		fail "checks-$series" "nested_checks.py exited $checks_status"
	fi
done
finish
