#!/bin/bash
# What handle_sched_switch costs per run as more vCPUs wait on one CPU:
# N boot-sector guests (N = 1, 4, 8, 12) whose vCPUs spin, all pinned to
# CPU 1. Two scenarios:
#  guests  the vCPUs alone: each switch there ends one vCPU's wait, whose
#          culprits are the N - 1 other guests (N - 1 parts to record);
#  storm   the same with stress-ng --switch 1 on CPU 1: most switches are
#          the storm's, each with N vCPUs waiting behind it.
# Before the lazy attribution every segment was charged to every waiter
# (measured on this workplace: 479 ns at 1 waiter, 2,199 at 12); now a
# segment goes to one culprit slot, so the storm's cost should not grow
# with N, while a wait's own culprits still cost per culprit. Next to the
# empty program (the floor) in the same rounds, rotated. About 6 minutes.
# Writes tests/bench/results-waiters.txt; raw records stay in
# BUILD_DIR/bench/waiters/. Usage: tests/bench/bench_waiters.sh BUILD_DIR
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"
top=$(cd "$here/../.." && pwd)
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
counts=${BENCH_WAITERS:-1 4 8 12}
rounds=${BENCH_WAITERS_ROUNDS:-3}
window_s=${BENCH_WAITERS_WINDOW_S:-4}
# Discovery runs every 500 ms and registers on the pass after.
track_s=2

skip() {
	echo "SKIP: $*"
	exit 0
}
[ "$(id -u)" = 0 ] || skip "needs root (bpf_stats sysctl, BPF programs)"
for tool in bpftool clang cc python3 taskset qemu-system-x86_64 stress-ng; do
	command -v "$tool" >/dev/null ||
		skip "$tool is not installed (scripts/deps.sh bench)"
done
[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs: the waiters share CPU 1"
mkdir -p "$1/bench/waiters"
build=$(cd "$1" && pwd)
work=$build/bench/waiters
agent=$build/kvmwarden
raw=$work/raw.txt
[ -x "$agent" ] || { echo "bench: $agent is missing" >&2; exit 1; }
accel=tcg
[ -r /dev/kvm ] && [ -w /dev/kvm ] && accel=kvm

started_pids=()
stats_enabled_before=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	local i
	for ((i = ${#started_pids[@]} - 1; i >= 0; i--)); do
		stop_pid "${started_pids[i]}"
	done
	sysctl -qw kernel.bpf_stats_enabled="$stats_enabled_before"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -Wall -Werror \
	-I"$top/vmlinux" -c "$here/empty.bpf.c" -o "$work/empty.bpf.o"
cc -O2 -g -std=gnu11 -Wall -Wextra -Werror "$here/load_empty.c" \
	-o "$work/load_empty" -lbpf
spin_image "$work/spin.img"

# One window of configuration $1 with $2 vCPUs waiting; appends a record.
measure() {
	local config=$1 waiters=$2 round=$3 scenario=$4 log=$work/$1.log
	local pid ready prog
	: >"$log"
	if [ "$config" = empty ]; then
		"$work/load_empty" "$work/empty.bpf.o" >"$log" 2>&1 &
		ready='^attached' prog=empty_switch
	else
		"$agent" dump --duration 120 >/dev/null 2>"$log" &
		ready='measuring' prog=handle_sched_switch
	fi
	pid=$!
	started_pids+=("$pid")
	wait_for_line "$log" "$ready" "$pid" 30 || {
		echo "bench: $config did not attach:" >&2
		cat "$log" >&2
		return 1
	}
	[ "$config" = agent ] && sleep "$track_s"
	python3 "$here/progstats.py" snap "$pid" "$prog" >"$work/before.json"
	if [ "$scenario" = storm ]; then
		run_waited taskset -c 1 stress-ng --switch 1 \
			--timeout "${window_s}s" >/dev/null 2>&1
	else
		sleep "$window_s"
	fi
	python3 "$here/progstats.py" snap "$pid" "$prog" >"$work/after.json"
	stop_pid "$pid" INT
	python3 "$here/progstats.py" delta "$work/before.json" "$work/after.json" |
		while read -r name runs ns; do
			[ "$name" = "$prog" ] || continue
			echo "scenario=$scenario waiters=$waiters round=$round config=$config runs=$runs ns=$ns" >>"$raw"
		done
}

: >"$raw"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
sysctl -qw kernel.bpf_stats_enabled=1
started=0
for waiters in $counts; do
	while [ "$started" -lt "$waiters" ]; do
		spin_guest_start "wait$started" "$work/spin.img" "$accel" \
			"$work/guest$started.log" 1
		started=$((started + 1))
	done
	sleep 1
	for scenario in guests storm; do
		for ((round = 0; round < rounds; round++)); do
			for config in $(rotate "$round" empty agent); do
				measure "$config" "$waiters" "$round" "$scenario"
			done
			echo "$scenario: waiters $waiters round $round done"
		done
	done
done

python3 - "$raw" "$here/results-waiters.txt" "$window_s" "$rounds" \
	"$load_start" "$(cut -d' ' -f1-3 /proc/loadavg)" "$accel" <<'PY'
import statistics, subprocess, sys, time
raw, out, window_s, rounds, load_start, load_end, accel = sys.argv[1:]
rows = {}
for line in open(raw):
    rec = dict(field.split("=", 1) for field in line.split())
    key = (rec["scenario"], int(rec["waiters"]), rec["config"])
    runs, ns = int(rec["runs"]), int(rec["ns"])
    if runs:
        rows.setdefault(key, []).append((ns / runs, runs / float(window_s)))
kernel = subprocess.run(["uname", "-r"], capture_output=True, text=True).stdout.strip()
lines = [
    "kvmwarden sched_switch cost against waiting vCPUs (tests/bench/bench_waiters.sh)",
    "date:    " + time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "kernel:  %s, guests under %s" % (kernel, accel),
    "load:    %s at start, %s at the end" % (load_start, load_end),
    "",
    "N spinning vCPUs pinned to CPU 1; ns/run is bpf_stats run_time_ns / run_cnt",
    "over a %s s window (all CPUs' runs), median of %s rounds, empty and agent" % (window_s, rounds),
    "rotated per round. +floor: above the empty sched_switch program.",
    "",
    "guests: the N spinning vCPUs alone (each wait's culprits: the other",
    "guests). storm: the same with stress-ng --switch 1 on CPU 1 (most",
    "switches are the storm's, with N vCPUs waiting behind it).",
    "",
    "%-8s %8s  %12s  %12s  %8s  %10s  %s" % ("scenario", "waiters", "agent ns/run",
                                             "empty ns/run", "+floor", "agent runs/s",
                                             "agent per round"),
]
for scenario in ("guests", "storm"):
    for waiters in sorted({w for s, w, _ in rows if s == scenario}):
        agent = rows.get((scenario, waiters, "agent"), [])
        empty = rows.get((scenario, waiters, "empty"), [])
        if not agent or not empty:
            continue
        a = statistics.median(v for v, _ in agent)
        e = statistics.median(v for v, _ in empty)
        rate = statistics.median(r for _, r in agent)
        lines.append("%-8s %8d  %12.1f  %12.1f  %+8.1f  %10.0f  %s" % (
            scenario, waiters, a, e, a - e, rate,
            " ".join("%.1f" % v for v, _ in agent)))
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
