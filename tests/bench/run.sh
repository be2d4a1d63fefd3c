#!/bin/bash
# `make bench`: what the agent's sched programs cost per run and what they
# take from a context-switch storm, next to an empty program (the floor) and
# bpftrace running runqlat's logic (the peer). Measures; report.py does the
# arithmetic and writes tests/bench/results-sched.{txt,json}. Raw records and
# logs stay in BUILD_DIR/bench/. Needs root; about 5 minutes.
# Usage: tests/bench/run.sh BUILD_DIR
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ left in the tree

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"
top=$(cd "$here/../.." && pwd)
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }

# Knobs, so a quick check can shrink the run; the defaults fit ~5 minutes.
rounds=${BENCH_ROUNDS:-7}           # throughput rounds: none/empty/agent/peer
storm_s=${BENCH_STORM_S:-4}         # one storm in a throughput round
cost_rounds=${BENCH_COST_ROUNDS:-3} # cost rounds of empty/agent/peer
cost_s=${BENCH_COST_S:-4}           # one cost window during a storm
guest_s=${BENCH_GUEST_S:-5}         # one cost window with guests tracked
hot_s=${BENCH_HOT_S:-4}             # one cost window, vCPU behind a storm
settle_s=1                          # after attaching, before measuring
# The agent finds vCPUs by an iterator pass every 500 ms and attaches a
# registration on the pass after; 2 s leaves room for both on busy CPUs.
track_s=2

skip() {
	echo "SKIP: $*"
	exit 0
}

[ "$(id -u)" = 0 ] ||
	skip "needs root (bpf_stats sysctl, BPF programs, KVM guests)"
for tool in bpftool bpftrace stress-ng clang cc python3 taskset; do
	command -v "$tool" >/dev/null ||
		skip "$tool is not installed (scripts/deps.sh bench)"
done
mkdir -p "$1/bench"
build=$(cd "$1" && pwd)
work=$build/bench
agent=$build/kvmwarden
raw=$work/raw.txt
if ! [ -x "$agent" ]; then
	echo "bench: $agent is missing; run make $agent" >&2
	exit 1
fi

# Guests are optional: without QEMU the run reports scenarios 2 and 3 as
# skipped. Without /dev/kvm they run under TCG, whose vCPU threads the agent
# tracks alike (found by name, not by KVM_RUN).
guests_skipped=""
accel=kvm
if ! command -v qemu-system-x86_64 >/dev/null; then
	guests_skipped="qemu-system-x86_64 is not installed"
elif [ "$(nproc)" -lt 2 ]; then
	guests_skipped="needs 2 CPUs, one per guest"
elif ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	accel=tcg
fi

# Everything started in the background, stopped newest first by cleanup.
started_pids=()
stats_enabled_before=$(sysctl -n kernel.bpf_stats_enabled)
tracefs_mounted=0

cleanup() {
	local i
	for ((i = ${#started_pids[@]} - 1; i >= 0; i--)); do
		stop_pid "${started_pids[i]}"
	done
	sysctl -qw kernel.bpf_stats_enabled="$stats_enabled_before"
	if [ "$tracefs_mounted" = 1 ]; then
		umount /sys/kernel/tracing || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

record() {
	echo "$*" >>"$raw"
}

# The context-switch storm for $1 s; sets storm_ops to its bogo ops/s (real
# time). A global, not stdout: in a $(...) subshell the trap could not stop
# stress-ng.
storm() {
	local out=$work/storm.out
	if ! run_waited stress-ng --switch 2 --timeout "${1}s" --metrics-brief \
		>"$out" 2>&1; then
		echo "bench: stress-ng failed:" >&2
		cat "$out" >&2
		return 1
	fi
	storm_ops=$(awk '$4 == "switch" && $5 ~ /^[0-9]+$/ { print $9 }' "$out")
	if ! [[ $storm_ops =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
		echo "bench: no bogo ops/s in stress-ng's output:" >&2
		cat "$out" >&2
		return 1
	fi
}

# runqlat.bt from bpftrace's tools, inline: the packaged file includes
# <linux/sched.h> for TASK_RUNNING, which does not compile here.
# shellcheck disable=SC2016 # bpftrace's $ns, not the shell's
peer_program='
tracepoint:sched:sched_wakeup,
tracepoint:sched:sched_wakeup_new
{
	@qtime[args->pid] = nsecs;
}

tracepoint:sched:sched_switch
{
	if (args->prev_state == 0) {	// TASK_RUNNING: preempted
		@qtime[args->prev_pid] = nsecs;
	}
	$ns = @qtime[args->next_pid];
	if ($ns) {
		@usecs = hist((nsecs - $ns) / 1000);
	}
	delete(@qtime[args->next_pid]);
}

END
{
	clear(@qtime);
}'

# Programs each configuration's process must hold; all it holds are
# measured. Listing bpftrace's also restores names cut to 15 characters.
declare -A required_programs=(
	[empty]="empty_switch"
	[agent]="handle_sched_switch"
	[peer]="sched_switch sched_wakeup sched_wakeup_new"
)

# Starts configuration $1 for a window of $2 s and waits until its programs
# are attached; sets config_pid (empty for none).
start_config() {
	local config=$1 log=$work/$1.log ready
	config_pid=""
	[ "$config" = none ] && return 0
	# Emptied here, not only by the child's redirection: until the child
	# gets to it, wait_for_line would read the last round's "ready" line.
	: >"$log"
	case $config in
	empty)
		"$work/load_empty" "$work/empty.bpf.o" >"$log" 2>&1 &
		ready='^attached'
		;;
	agent)
		# Outlives the window by far (bpftool and python are slow on
		# saturated CPUs); it is stopped right after the window.
		"$agent" dump --duration $(($2 + 60)) \
			>"$work/agent.out" 2>"$log" &
		ready='measuring'
		;;
	peer)
		bpftrace -B none -e "$peer_program" >"$log" 2>&1 &
		ready='^Attaching'
		;;
	esac
	config_pid=$!
	started_pids+=("$config_pid")
	if ! wait_for_line "$log" "$ready" "$config_pid" 30; then
		echo "bench: $config did not attach; its output:" >&2
		cat "$log" >&2
		return 1
	fi
	sleep "$settle_s"
}

stop_config() {
	[ -n "$config_pid" ] || return 0
	# bpftrace ends cleanly (printing its histogram) on INT.
	stop_pid "$config_pid" INT
	config_pid=""
}

progstats() {
	python3 "$here/progstats.py" "$@"
}

# Loads configuration $2 and records its programs' runs during "$4..." for
# round $3 of scenario $1 (a window of $window_s seconds).
measure_cost() {
	local scenario=$1 config=$2 round=$3 required
	shift 3
	read -ra required <<<"${required_programs[$config]}"
	start_config "$config" "$window_s"
	[ "$config" = agent ] && [ "$scenario" != storm ] && sleep "$track_s"
	progstats snap "$config_pid" "${required[@]}" >"$work/before.json"
	"$@"
	progstats snap "$config_pid" "${required[@]}" >"$work/after.json"
	stop_config
	progstats delta "$work/before.json" "$work/after.json" |
		while read -r prog runs ns; do
			record "cost scenario=$scenario round=$round config=$config" \
				"window_s=$window_s prog=$prog run_cnt=$runs run_time_ns=$ns"
		done
}

# --- build the floor --------------------------------------------------------
clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -Wall -Werror \
	-I"$top/vmlinux" -c "$here/empty.bpf.c" -o "$work/empty.bpf.o"
cc -O2 -g -std=gnu11 -Wall -Wextra -Werror "$here/load_empty.c" \
	-o "$work/load_empty" -lbpf

# bpftrace's tracepoints need tracefs; put it back as it was afterwards.
if ! [ -d /sys/kernel/tracing/events/sched ]; then
	mount -t tracefs nodev /sys/kernel/tracing
	tracefs_mounted=1
fi

# --- what the results file says about the machine ---------------------------
: >"$raw"
foreign_qemus=$(pgrep -c -f '^qemu-system' || true)
record meta tool tests/bench/run.sh
record meta date "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
record meta kernel "$(uname -r) $(uname -m)"
record meta cpus "$(nproc)"
record meta tools "$(bpftool version | head -1), $(bpftrace --version)," \
	"$(stress-ng --version | awk '{print $1, $3}' | tr -d ,)," \
	"$(qemu-system-x86_64 --version 2>/dev/null | head -1 | awk '{print $1, $4}')"
record meta host_load "load average $(cut -d' ' -f1-3 /proc/loadavg)" \
	"at start; $foreign_qemus QEMU processes not started by the bench"
record meta rounds "$rounds"
record meta storm_s "$storm_s"
record meta cost_rounds "$cost_rounds"
record meta storm_window_s "$cost_s"
record meta guests_window_s "$guest_s"
record meta hot_window_s "$hot_s"
record meta accel "$accel"

# --- throughput: storms without and with each tracer, bpf_stats off ---------
# bpf_stats adds two clock reads to every run, which would charge the
# tracers for the measurement; throughput is taken without it.
sysctl -qw kernel.bpf_stats_enabled=0
for ((round = 0; round < rounds; round++)); do
	for config in $(rotate "$round" none empty agent peer); do
		start_config "$config" "$storm_s"
		storm "$storm_s"
		stop_config
		echo "throughput round $round: $config $storm_ops ops/s"
		record "throughput round=$round config=$config ops_per_s=$storm_ops"
	done
done

# --- cost, scenario 1: no guests, storm ------------------------------------
sysctl -qw kernel.bpf_stats_enabled=1
window_s=$cost_s
for ((round = 0; round < cost_rounds; round++)); do
	for config in $(rotate "$round" empty agent peer); do
		measure_cost storm "$config" "$round" storm "$cost_s"
		# "No guests" holds only if no one else ran QEMU meanwhile.
		record "foreign scenario=storm round=$round config=$config" \
			"qemus=$(pgrep -c -f '^qemu-system' || true)"
		echo "cost round $round (no guests): $config done"
	done
done

# --- cost, scenario 2: two guests tracked -----------------------------------
# Each guest's vCPU spins in its boot sector (jmp $) and shares a CPU with a
# busy loop, so the scheduler switches between the two every slice and the
# tracked thread is in a large share of that CPU's switches.
guest_start() {
	spin_guest_start "bench$1" "$work/spin.img" "$accel" \
		"$work/guest$1.log" "$1" || return 1
	guest_pids+=("$spin_pid")
	vcpu_tasks+=("$spin_vcpu_task")
}

hog_start() {
	taskset -c "$1" sh -c 'while :; do :; done' &
	started_pids+=("$!")
	hog_pids+=("$!")
}

# Voluntary plus involuntary switches of the threads under /proc paths $@:
# each one is a switch-out of that thread. Builtins only, so that the reads
# before and after a window are close together even on busy CPUs.
switch_outs() {
	local total=0 path key value
	for path in "$@"; do
		while read -r key value; do
			case $key in
			*ctxt_switches:) total=$((total + value)) ;;
			esac
		done 2>/dev/null <"$path/status" || continue # thread gone
	done
	echo "$total"
}

# One guest window for round $1 and configuration $2: sleeps, and records
# how often the guests' threads switched meanwhile.
guest_window() {
	local round=$1 config=$2 qemu_tasks=() pid
	local vcpu_before qemu_before vcpu_after qemu_after
	for pid in "${guest_pids[@]}"; do
		qemu_tasks+=(/proc/"$pid"/task/*)
	done
	vcpu_before=$(switch_outs "${vcpu_tasks[@]}")
	qemu_before=$(switch_outs "${qemu_tasks[@]}")
	run_waited sleep "$window_s"
	vcpu_after=$(switch_outs "${vcpu_tasks[@]}")
	qemu_after=$(switch_outs "${qemu_tasks[@]}")
	record "switches scenario=guests round=$round config=$config" \
		"vcpu_switch_outs=$((vcpu_after - vcpu_before))" \
		"qemu_switch_outs=$((qemu_after - qemu_before))"
}

hot_window() {
	run_waited taskset -c 1 stress-ng --switch 1 --timeout "${window_s}s" \
		>/dev/null 2>&1
}

if [ -n "$guests_skipped" ]; then
	record meta guests_skipped "$guests_skipped"
	record meta hot_skipped "$guests_skipped"
	echo "guests scenario skipped: $guests_skipped"
else
	spin_image "$work/spin.img"
	guest_pids=()
	hog_pids=()
	vcpu_tasks=()
	for index in 0 1; do
		guest_start "$index"
		hog_start "$index"
	done
	sleep "$settle_s"
	window_s=$guest_s
	for ((round = 0; round < cost_rounds; round++)); do
		for config in $(rotate "$round" empty agent peer); do
			measure_cost guests "$config" "$round" \
				guest_window "$round" "$config"
			# Stopped by INT, the agent still prints its report: did
			# it see the two guests it was measured with?
			if [ "$config" = agent ]; then
				record "tracked scenario=guests round=$round" \
					"guests_listed=$(grep -c '^bench[01] ' "$work/agent.out" || true)"
			fi
			echo "cost round $round (guests): $config done"
		done
	done
	for pid in "${hog_pids[@]}"; do
		stop_pid "$pid"
	done

	# --- cost, scenario 3: a vCPU waiting behind a switch storm ---------
	# Guest 1's vCPU shares CPU 1 with stress-ng --switch 1: nearly every
	# switch there happens while a tracked vCPU waits, so each one closes a
	# segment of its wait and names the culprit (the tracked path at its
	# busiest, and hot in cache like the untracked storm).
	window_s=$hot_s
	for ((round = 0; round < cost_rounds; round++)); do
		for config in $(rotate "$round" empty agent peer); do
			measure_cost hot "$config" "$round" hot_window
			if [ "$config" = agent ]; then
				record "tracked scenario=hot round=$round" \
					"guests_listed=$(grep -c '^bench[01] ' "$work/agent.out" || true)"
			fi
			echo "cost round $round (vCPU behind a storm): $config done"
		done
	done
	for pid in "${guest_pids[@]}"; do
		stop_pid "$pid"
	done
fi

record meta host_load_end "load average $(cut -d' ' -f1-3 /proc/loadavg)" \
	"at the end; $(pgrep -c -f '^qemu-system' || true) QEMU processes" \
	"not started by the bench"
sysctl -qw kernel.bpf_stats_enabled="$stats_enabled_before"
python3 "$here/report.py" "$raw" "$here/results-sched.txt" \
	"$here/results-sched.json"
