#!/bin/bash
# What the KVM telemetry's BPF programs cost per invocation, from the
# kernel's own bpf_stats (kernel.bpf_stats_enabled=1 while measuring).
#  1. Synthetic, any machine: kvm_testrun runs the raw-tracepoint twins
#     (the same handler bodies) by BPF_PROG_TEST_RUN, next to an empty
#     program: the counted path, the filtered path (a process that is not
#     a guest), a halt-poll wake-up and the vCPU note at port I/O.
#  2. Live, needs /dev/kvm: a boot-sector guest doing `out 0x80, al` in a
#     loop while `kvmwarden dump` runs; the cost per run of each attached
#     kvm program, read with bpftool at the start and end of the window.
# Writes tests/bench/results-kvm.txt; raw output stays in BUILD_DIR/bench/.
# Short: about 20 s. Usage: tests/bench/bench_kvm.sh BUILD_DIR
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
runs=${BENCH_KVM_RUNS:-200000}
window_s=${BENCH_KVM_WINDOW_S:-5}
results=$here/results-kvm.txt

skip() {
	echo "SKIP: $*"
	exit 0
}

[ "$(id -u)" = 0 ] || skip "needs root (bpf_stats sysctl, BPF programs)"
for tool in bpftool clang cc python3; do
	command -v "$tool" >/dev/null ||
		skip "$tool is not installed (scripts/deps.sh bench)"
done
mkdir -p "$1/bench"
build=$(cd "$1" && pwd)
work=$build/bench
object=$build/bpf/kvm.bpf.o
[ -f "$object" ] || { echo "bench: $object is missing; run make" >&2; exit 1; }

stats_before=$(sysctl -n kernel.bpf_stats_enabled)
guest_pid=""
agent_pid=""
workdir=""
cleanup() {
	# Only what this script started, by pid.
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null || true
	[ -n "$guest_pid" ] && kill -9 "$guest_pid" 2>/dev/null || true
	[ -n "$workdir" ] && rm -rf "$workdir"
	sysctl -qw kernel.bpf_stats_enabled="$stats_before"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -I"$top/vmlinux" \
	-c "$here/kvm_empty.bpf.c" -o "$work/kvm_empty.bpf.o"
cc -O2 -g -std=gnu11 -Wall -Wextra -Werror -I"$top/bpf" "$here/kvm_testrun.c" \
	-o "$work/kvm_testrun" -lbpf

sysctl -qw kernel.bpf_stats_enabled=1
synthetic=$("$work/kvm_testrun" "$object" "$work/kvm_empty.bpf.o" "$runs")

live="skipped: /dev/kvm is not usable on this machine"
if [ -r /dev/kvm ] && [ -w /dev/kvm ] &&
	command -v qemu-system-x86_64 >/dev/null; then
	workdir=$(mktemp -d /tmp/kvmwarden-bench-kvm.XXXXXX)
	# mov al,'K'; out 0xe9,al; then out 0x80,al; jmp back, forever.
	python3 - "$workdir/io.img" <<'EOF'
import sys
image = bytearray(1 << 20)
sector = b"\xb0K\xe6\xe9\xe6\x80\xeb\xfc"
image[0:len(sector)] = sector
image[510:512] = b"\x55\xaa"
open(sys.argv[1], "wb").write(image)
EOF
	qemu-system-x86_64 -accel kvm -name guest=bench-kvm-io -smp 1 -m 32 \
		-nodefaults -no-user-config -display none -monitor none \
		-serial none -drive "file=$workdir/io.img,format=raw,if=ide" \
		-boot c >"$work/kvm-guest.log" 2>&1 &
	guest_pid=$!
	sleep 6 # SeaBIOS takes 3-5 s to reach the boot sector
	"$build/kvmwarden" dump --duration $((window_s + 2)) --json \
		>"$work/kvm-dump.json" 2>"$work/kvm-dump.log" &
	agent_pid=$!
	sleep 1.5
	bpftool prog show -j >"$work/kvm-progs-start.json"
	sleep "$window_s"
	bpftool prog show -j >"$work/kvm-progs-end.json"
	wait "$agent_pid" || true
	agent_pid=""
	live=$(python3 - "$work/kvm-progs-start.json" \
		"$work/kvm-progs-end.json" <<'EOF'
import json, sys
names = {"kvm_exit", "kvm_entry", "kvm_userspace_exit", "kvm_vcpu_wakeup",
         "raw_kvm_userspac", "raw_kvm_vcpu_wak", "note_kvm_pio",
         "note_kvm_mmio"}
def load(path):
    return {p["id"]: p for p in json.load(open(path))
            if p.get("name", "") in names}
start, end = load(sys.argv[1]), load(sys.argv[2])
for pid, prog in sorted(end.items(), key=lambda kv: kv[1]["name"]):
    before = start.get(pid, {})
    runs = prog.get("run_cnt", 0) - before.get("run_cnt", 0)
    ns = prog.get("run_time_ns", 0) - before.get("run_time_ns", 0)
    mean = "%.1f ns" % (ns / runs) if runs else "no runs"
    print("%-20s runs %-9d mean %s" % (prog["name"], runs, mean))
EOF
)
fi

{
	echo "# KVM telemetry: BPF cost per invocation (kernel bpf_stats)"
	echo "# $(date -u +%Y-%m-%dT%H:%MZ), kernel $(uname -r), $(nproc) CPUs"
	echo
	echo "## synthetic: BPF_PROG_TEST_RUN of the raw twins, $runs runs each"
	echo "$synthetic"
	echo
	echo "## live: port-I/O guest under kvmwarden dump, ${window_s} s"
	echo "$live"
} >"$results"
cat "$results"
