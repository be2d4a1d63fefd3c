#!/bin/bash
# `make bench`, block part: what the agent's block-layer programs cost per
# request and what they take from fio's IOPS, next to a bpftrace peer that
# builds a latency histogram on block_rq_issue/block_rq_complete (the
# packaged biolatency.bt uses kprobes, which some kernels here lack) and a
# floor: empty programs on every tracepoint the agent attaches that fio
# fires (tests/bench/block_empty.bpf.c), i.e. what merely having programs
# there costs on this machine.
# Two phases, each in rounds of a rotating order; figures are medians:
#   IOPS  none / floor / agent / peer with kernel.bpf_stats_enabled=0:
#         bpf_stats adds two clock reads to every program run, which would
#         charge every tracer for the measurement itself;
#   cost  shorter runs of the same configurations with bpf_stats on, for
#         run_time_ns per request (and the IOPS loss as stats inflate it).
# Writes tests/bench/results-block.txt; scratch stays in
# BUILD_DIR/bench/block/. Needs root, fio, bpftool, bpftrace, clang, cc,
# python3.
# Usage: tests/bench/bench_block.sh BUILD_DIR
# Knobs: BENCH_BLOCK_ROUNDS (5), BENCH_BLOCK_S (10 s of fio per IOPS run),
# BENCH_BLOCK_COST_ROUNDS (3), BENCH_BLOCK_COST_S (5 s per cost run),
# BENCH_BLOCK_DIR (where fio's file goes: the disk under test; /var/tmp),
# BENCH_BLOCK_CONFIGS (which configurations run; "none floor agent peer"),
# BENCH_BLOCK_RESULTS (the results file; tests/bench/results-block.txt).
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }

rounds=${BENCH_BLOCK_ROUNDS:-5}
run_s=${BENCH_BLOCK_S:-10}
cost_rounds=${BENCH_BLOCK_COST_ROUNDS:-3}
cost_s=${BENCH_BLOCK_COST_S:-5}
data_dir=${BENCH_BLOCK_DIR:-/var/tmp}
target_loss_pct=2 # from the issue: at most 2 % fewer IOPS with the agent
results=${BENCH_BLOCK_RESULTS:-$here/results-block.txt}
read -ra configs <<<"${BENCH_BLOCK_CONFIGS:-none floor agent peer}"
top=$(cd "$here/../.." && pwd)

skip() {
	echo "SKIP: $*"
	exit 0
}

[ "$(id -u)" = 0 ] || skip "needs root (bpf_stats sysctl, BPF programs)"
for tool in fio bpftool bpftrace clang cc python3; do
	command -v "$tool" >/dev/null ||
		skip "$tool is not installed (scripts/deps.sh bench)"
done
build=$(cd "$1" && pwd)
agent=$build/kvmwarden
[ -x "$agent" ] || { echo "bench: $agent is missing" >&2; exit 1; }
work=$build/bench/block
mkdir -p "$work"
data=$(mktemp -d "$data_dir/kvmwarden-bench-block-XXXXXX")

started_pids=()
stats_enabled_before=$(sysctl -n kernel.bpf_stats_enabled)

stop_pid() {
	local pid=$1 sig=${2:-TERM} i kept=() p
	kill "-$sig" "$pid" 2>/dev/null || true
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	for p in "${started_pids[@]}"; do
		[ "$p" = "$pid" ] || kept+=("$p")
	done
	started_pids=("${kept[@]+"${kept[@]}"}")
}

cleanup() {
	local i
	for ((i = ${#started_pids[@]} - 1; i >= 0; i--)); do
		stop_pid "${started_pids[i]}" INT
	done
	sysctl -q -w kernel.bpf_stats_enabled="$stats_enabled_before" || true
	rm -rf "$data"
}
trap cleanup EXIT

# Waits until file $1 contains text $2 (at most $3 s).
wait_for() {
	local i
	for i in $(seq $(($3 * 10))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# Counters of the programs process $1 holds, from bpf_stats: one line
# "BLOCK_NS SCHED_NS REQUESTS DETAIL". Block programs are split from the
# rest (the agent's and the floor's scheduler programs, the agent's thread
# iterator) so each side's cost per request shows; REQUESTS are the runs of
# the issue program (one per request issued, every device's). The programs
# are found by the prog_id lines of its fds' fdinfo (this bpftool lists no
# pids).
prog_stats() {
	bpftool prog show -j | python3 -c '
import glob, json, sys
ids = set()
for info in glob.glob("/proc/%s/fdinfo/*" % sys.argv[1]):
    try:
        for line in open(info):
            if line.startswith("prog_id:"):
                ids.add(int(line.split()[1]))
    except OSError:
        pass
block_ns = other_ns = 0
per = {}
for prog in json.load(sys.stdin):
    if prog.get("id") not in ids:
        continue
    name = prog.get("name", "?")
    per[name] = (prog.get("run_time_ns", 0), prog.get("run_cnt", 0))
    if "sched" in name or name.startswith(("discover_", "kvm_", "raw_kvm")):
        other_ns += per[name][0]
    else:
        block_ns += per[name][0]
issues = sum(v[1] for k, v in per.items() if "issue" in k)
print(block_ns, other_ns, issues, " ".join(
    "%s=%d/%d" % (k, v[0], v[1]) for k, v in sorted(per.items())))
' "$1"
}

fio_run() { # $1: output file, $2: seconds
	fio --name=bench --filename="$data/fio.dat" --size=256M --bs=4k \
		--rw=randwrite --direct=1 --ioengine=libaio --iodepth=16 \
		--numjobs=1 --time_based --runtime="$2" \
		--output-format=json --output="$1" >/dev/null
}

fio_iops() {
	python3 -c 'import json,sys; print("%.0f" % json.load(open(sys.argv[1]))["jobs"][0]["write"]["iops"])' "$1"
}

fio_ios() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["jobs"][0]["write"]["total_ios"])' "$1"
}

cat >"$work/peer.bt" <<'BT'
// Latency of each request from issue to completion, keyed as the
// tracepoints allow (device and sector: they carry no request pointer).
tracepoint:block:block_rq_issue
{
	@start[args->dev, args->sector] = nsecs;
}

tracepoint:block:block_rq_complete
/@start[args->dev, args->sector]/
{
	@device_us = hist((nsecs - @start[args->dev, args->sector]) / 1000);
	delete(@start[args->dev, args->sector]);
}

END
{
	clear(@start);
}
BT

# The floor: empty programs, held by load_empty (run.sh's helper).
clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -Wall -Werror \
	-I"$top/vmlinux" -c "$here/block_empty.bpf.c" -o "$work/block_empty.bpf.o"
cc -O2 -g -std=gnu11 -Wall -Wextra -Werror "$here/load_empty.c" \
	-o "$work/load_empty" -lbpf

# Lay out fio's file once, outside every measurement.
fio --name=layout --filename="$data/fio.dat" --size=256M --bs=1M \
	--rw=write --direct=1 --output=/dev/null >/dev/null
: >"$work/raw.txt"

# One fio run of $3 s under configuration $2 (none|floor|agent|peer) in
# phase $1 (iops: bpf_stats off; cost: on), round $4.
one_run() {
	local phase=$1 config=$2 secs=$3 round=$4
	local out=$work/fio-$phase-$config-$round.json pid= log
	# Re-armed per run: another bench ending meanwhile may have flipped it.
	if [ "$phase" = cost ]; then
		sysctl -q -w kernel.bpf_stats_enabled=1
	else
		sysctl -q -w kernel.bpf_stats_enabled=0
	fi
	case $config in
	floor)
		log=$work/floor-$phase-$round.txt
		"$work/load_empty" "$work/block_empty.bpf.o" >"$log" 2>&1 &
		pid=$!
		started_pids+=("$pid")
		wait_for "$log" attached 30 ||
			{ echo "bench: the floor did not attach" >&2; cat "$log" >&2; exit 1; }
		;;
	agent)
		"$agent" dump --duration $((secs + 60)) --json \
			>"$work/dump-$phase-$round.json" 2>"$work/dump-$phase-$round.err" &
		pid=$!
		started_pids+=("$pid")
		wait_for "$work/dump-$phase-$round.err" measuring 60 ||
			{ echo "bench: the agent did not start" >&2; exit 1; }
		;;
	peer)
		bpftrace "$work/peer.bt" >"$work/peer-$phase-$round.txt" 2>&1 &
		pid=$!
		started_pids+=("$pid")
		wait_for "$work/peer-$phase-$round.txt" Attaching 30 ||
			{ echo "bench: bpftrace did not start" >&2; exit 1; }
		sleep 1 # bpftrace prints before it has attached everything
		;;
	esac
	local block0=0 other0=0 req0=0 block1=0 other1=0 req1=0 detail=""
	[ -n "$pid" ] && read -r block0 other0 req0 _ < <(prog_stats "$pid")
	fio_run "$out" "$secs"
	if [ -n "$pid" ]; then
		read -r block1 other1 req1 detail < <(prog_stats "$pid")
		# SIGINT ends dump early with its JSON, and bpftrace with its
		# histogram.
		stop_pid "$pid" INT
	fi
	echo "$phase $config round=$round iops=$(fio_iops "$out") ios=$(fio_ios "$out") block_ns=$((block1 - block0)) other_ns=$((other1 - other0)) requests=$((req1 - req0)) $detail" |
		tee -a "$work/raw.txt"
}

for ((round = 0; round < rounds; round++)); do
	for config in $(rotate "$round" "${configs[@]}"); do
		one_run iops "$config" "$run_s" "$round"
	done
done
for ((round = 0; round < cost_rounds; round++)); do
	for config in $(rotate "$round" "${configs[@]}"); do
		one_run cost "$config" "$cost_s" "$round"
	done
done

python3 - "$work" "$results" "$run_s" "$cost_s" "$target_loss_pct" <<'PY'
import glob, json, os, platform, statistics, sys, time
work, results, run_s, cost_s = sys.argv[1:5]
target = float(sys.argv[5])
configs = ("none", "floor", "agent", "peer")
runs = {}
per_program = {}  # (phase, config) -> name -> [(ns per run, runs per request)]
for line in open(os.path.join(work, "raw.txt")):
    fields = line.split()
    requests = int(dict(f.split("=", 1) for f in fields[2:] if "=" in f)["requests"])
    for f in fields[2:]:
        name, _, value = f.partition("=")
        if "/" not in value:
            continue
        ns, count = (int(x) for x in value.split("/"))
        per_program.setdefault((fields[0], fields[1]), {}).setdefault(name, []).append(
            (ns / count if count else 0, count / requests if requests else 0))
    kv = dict(f.split("=", 1) for f in fields[2:] if "=" in f and "/" not in f)
    runs.setdefault((fields[0], fields[1]), []).append(
        dict((k, int(kv[k])) for k in ("iops", "requests", "block_ns", "other_ns")))
def median_iops(phase, config):
    v = runs.get((phase, config))
    return statistics.median(r["iops"] for r in v) if v else None
def loss(phase, config):
    base, got = median_iops(phase, "none"), median_iops(phase, config)
    return 100.0 * (got - base) / base if base and got is not None else None
out = []
out.append("kvmwarden block bench (tests/bench/bench_block.sh)")
out.append("date:    %s" % time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
out.append("kernel:  %s %s, %d CPUs" % (platform.release(), platform.machine(), os.cpu_count()))
out.append("load:    %s (at the end)" % " ".join(open("/proc/loadavg").read().split(" ", 3)[:3]))
out.append("")
out.append("fio: 4 KiB random direct writes, libaio, iodepth 16, one job.")
out.append("none: no programs; floor: empty programs on the agent's 6 block and 3")
out.append("scheduler tracepoints; agent: kvmwarden dump (all its programs); peer:")
out.append("bpftrace issue->complete histogram (2 block tracepoints). Rotating order.")
out.append("")
out.append("IOPS, kernel.bpf_stats_enabled=0, %s s per run:" % run_s)
out.append("config  runs  median IOPS  vs none   per-run IOPS")
for config in configs:
    if ("iops", config) not in runs:
        continue
    out.append("%-6s  %4d  %11.0f  %+6.2f%%   %s" % (
        config, len(runs[("iops", config)]), median_iops("iops", config),
        loss("iops", config) or 0.0,
        " ".join(str(r["iops"]) for r in runs[("iops", config)])))
out.append("")
out.append("Cost, kernel.bpf_stats_enabled=1, %s s per run: run_time_ns of the" % cost_s)
out.append("programs the process holds over the requests its issue program saw, median")
out.append("of runs; block = block-layer programs, sched = the rest (scheduler")
out.append("programs, the agent's thread iterator), both per fio request. The scheduler")
out.append("programs run at every context switch on the machine, fio's or not, so on a")
out.append("busy machine their figure grows with the others' load. The IOPS loss here is")
out.append("what bpf_stats inflates it to.")
out.append("config  block ns/req  sched ns/req  total ns/req  IOPS vs none (stats on)")
for config in configs:
    v = runs.get(("cost", config))
    if not v:
        continue
    if config == "none":
        out.append("%-6s  %12s  %12s  %12s  %+6.2f%%" % (config, "-", "-", "-", 0.0))
        continue
    per = [r for r in v if r["requests"]]
    b = statistics.median(r["block_ns"] / r["requests"] for r in per) if per else 0
    o = statistics.median(r["other_ns"] / r["requests"] for r in per) if per else 0
    t = statistics.median((r["block_ns"] + r["other_ns"]) / r["requests"] for r in per) if per else 0
    out.append("%-6s  %12.0f  %12.0f  %12.0f  %+6.2f%%   block per run: %s" % (
        config, b, o, t, loss("cost", config) or 0.0,
        " ".join("%.0f" % (r["block_ns"] / r["requests"]) for r in per)))
out.append("")
out.append("ns per run of each program (median of cost runs; runs per request):")
for config in configs:
    if config == "none" or ("cost", config) not in per_program:
        continue
    progs = per_program[("cost", config)]
    out.append("  %-6s %s" % (config, ", ".join(
        "%s %.0f (%.2f)" % (name, statistics.median(p[0] for p in v),
                            statistics.median(p[1] for p in v))
        for name, v in sorted(progs.items()) if any(p[1] for p in v))))
agent_loss = loss("iops", "agent")
none_runs = [r["iops"] for r in runs.get(("iops", "none"), [])]
spread = None
if len(none_runs) > 1:
    spread = 100.0 * (max(none_runs) - min(none_runs)) / statistics.median(none_runs)
    out.append("")
    out.append("noise: the none runs spread %.1f %% (max - min over median); losses" % spread)
    out.append("smaller than that are not resolved by this run%s." % (
        "" if spread <= 10 else " (the machine was busy: compare the cost table instead)"))
if agent_loss is not None:
    out.append("")
    out.append("target: at most %.0f %% fewer IOPS with the agent (bpf_stats off): %s "
               "(%.2f %%; floor %.2f %%, peer %.2f %%)" % (
                   target,
                   "not resolved, the none runs spread %.0f %%" % spread
                   if spread is not None and spread > 10 else
                   "met" if -agent_loss <= target else "NOT met", -agent_loss,
                   -(loss("iops", "floor") or 0.0), -(loss("iops", "peer") or 0.0)))
    if loss("iops", "floor") is not None:
        out.append("the agent's own work, above the floor's empty programs: %.2f points" % (
            loss("iops", "floor") - agent_loss))
peers = sorted(glob.glob(os.path.join(work, "peer-iops-*.txt")))
if peers:
    out.append("")
    out.append("peer's histogram (device time, us), last IOPS run:")
    out.extend("  " + l.rstrip() for l in open(peers[-1])
               if l.strip() and "RLIMIT_MEMLOCK" not in l)
dumps = sorted(glob.glob(os.path.join(work, "dump-iops-*.json")))
if dumps:
    try:
        doc = json.load(open(dumps[-1]))
        best = None
        for host in doc.get("host_io", []):
            for dev in host.get("io", []):
                if best is None or dev["write_ops"] > best[1]["write_ops"]:
                    best = (host["cgroup"], dev)
        if best:
            d = best[1]
            out.append("")
            out.append("agent's view of the same load (last IOPS run, cgroup %s, %s):" % (best[0], d["name"]))
            out.append("  write_ops %d, device p50 %.0f us, p90 %.0f us, p99 %.0f us; queue p99 %.0f us" % (
                d["write_ops"], d["device_p50_ns"] / 1e3, d["device_p90_ns"] / 1e3,
                d["device_p99_ns"] / 1e3, d["queue_p99_ns"] / 1e3))
    except (ValueError, KeyError) as exc:
        out.append("agent's JSON unreadable: %s" % exc)
open(results, "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
