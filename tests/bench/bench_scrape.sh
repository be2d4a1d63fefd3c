#!/bin/bash
# `make bench`, scrape part: what one /metrics scrape costs. First without
# HTTP, scrape_bench.c renders a synthetic table of 100, 1,000 and 2,000
# vCPUs with the agent's own objects (target: at most 20 ms at 1,000
# vCPUs); then over real HTTP, curl scrapes two live agents, per-vCPU
# series off and on, that measure small real guests. Writes
# tests/bench/results-scrape.txt; scratch files stay in BUILD_DIR/bench/.
# Needs the agent's objects (make BUILD_DIR/kvmwarden); the HTTP part
# needs root, /dev/kvm, qemu-system-x86_64, curl and python3, and is
# reported as skipped without them. About a minute.
# Usage: tests/bench/bench_scrape.sh BUILD_DIR
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }

# Knobs, so a quick check can shrink the run.
iterations=${BENCH_SCRAPE_ITERATIONS:-300} # renders per size and variant
guests=${BENCH_SCRAPE_GUESTS:-6}           # real guests, 2 vCPUs each
rounds=${BENCH_SCRAPE_ROUNDS:-10}          # HTTP rounds, off/on alternating
per_round=${BENCH_SCRAPE_PER_ROUND:-10}    # scrapes of each agent per round
target_ms=20
# (guests vCPUs-per-guest) of the synthetic tables; the second is the one
# the target is about.
sizes=("25 4" "125 8" "250 8")

build=$(cd "$1" && pwd)
work=$build/bench/scrape
results=$here/results-scrape.txt
agent=$build/kvmwarden
mkdir -p "$work"

# --- cleanup of what we start, by pid --------------------------------------
started_pids=()

is_running() {
	local state
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "${state%% *}" != Z ]
}

stop_all() {
	local i pid n
	for ((i = ${#started_pids[@]} - 1; i >= 0; i--)); do
		pid=${started_pids[i]}
		kill -TERM "$pid" 2>/dev/null || true
		for ((n = 0; n < 50; n++)); do
			is_running "$pid" || break
			sleep 0.1
		done
		is_running "$pid" && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null || true
	done
	started_pids=()
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# --- part 1: rendering a synthetic table -----------------------------------
objs=()
for obj in "$build"/obj/agent/*/*.o "$build"/obj/exporters/*.o; do
	# Only objects whose source is still in the tree: a renamed file
	# leaves its old object behind, which would link twice.
	src=${obj#"$build"/obj/}
	[ -f "$top/${src%.o}.c" ] || continue
	[ "${obj##*/}" = main.o ] || objs+=("$obj")
done
if ! [ -x "$agent" ] || [ ${#objs[@]} -eq 0 ]; then
	echo "bench_scrape: build the agent first: make $agent" >&2
	exit 1
fi
# The Makefile's warnings and libraries, so the objects link as they do
# into the agent.
cc -O2 -g -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow \
	-Wformat=2 -D_GNU_SOURCE -I"$top/agent" -I"$top/exporters" \
	-I"$top/bpf" -I"$build" "$here/scrape_bench.c" "${objs[@]}" \
	-o "$work/scrape_bench" \
	-lbpf -lelf -lz -ljson-c -lyaml -lmicrohttpd -lcrypt -lsystemd -lncursesw -lvirt -lgnutls

synthetic=$work/synthetic.txt
: >"$synthetic"
for size in "${sizes[@]}"; do
	read -r g v <<<"$size"
	echo "rendering $((g * v)) vCPUs ($g guests x $v), $iterations times each way"
	"$work/scrape_bench" "$iterations" "$g" "$v" >>"$synthetic"
done

# --- part 2: real scrapes over HTTP ----------------------------------------
http_skipped=""
if [ "$(id -u)" != 0 ]; then
	http_skipped="needs root (BPF, KVM)"
elif ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	http_skipped="/dev/kvm is not usable"
else
	for tool in qemu-system-x86_64 curl python3; do
		command -v "$tool" >/dev/null ||
			http_skipped="$tool is not installed"
	done
fi

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Guests that halt: mov al, 'K'; out 0xe9, al (the byte on the debugcon
# port says SeaBIOS is done); cli; hlt; jmp back to the hlt (B0 4B E6 E9
# FA F4 EB FD). Their vCPUs then sleep inside KVM_RUN, where the agent
# finds them, and leave both CPUs to the agents and curl, so the figures
# are the endpoint's and not the scheduler's. SeaBIOS parks the second vCPU
# in hlt as well. Until the byte comes, SeaBIOS keeps a CPU busy (3-4.5 s
# per guest here).
start_guests() {
	local i img
	for ((i = 0; i < guests; i++)); do
		img=$work/guest$i.img
		head -c 1048576 /dev/zero >"$img"
		printf '\260\113\346\351\372\364\353\375' |
			dd of="$img" conv=notrunc status=none
		printf '\125\252' |
			dd of="$img" bs=1 seek=510 conv=notrunc status=none
		: >"$work/guest$i.debugcon"
		qemu-system-x86_64 -accel kvm -name "guest=scrapebench$i,debug-threads=on" \
			-smp 2 -m 32 -nodefaults -no-user-config -display none \
			-monitor none -serial none -boot c \
			-drive file="$img",format=raw,if=ide \
			-debugcon file:"$work/guest$i.debugcon" \
			</dev/null >"$work/guest$i.log" 2>&1 &
		started_pids+=("$!")
		guest_pids+=("$!")
	done
}

# Waits until every guest has reached its boot sector.
wait_booted() {
	local i n
	for ((n = 0; n < 600; n++)); do
		for ((i = 0; i < guests; i++)); do
			grep -q K "$work/guest$i.debugcon" || break
		done
		[ "$i" -eq "$guests" ] && return 0
		sleep 0.1
	done
	echo "bench_scrape: guest $i did not boot; its log:" >&2
	cat "$work/guest$i.log" >&2
	return 1
}

# CPU time (ms) the guests' processes have used, all threads.
guests_cpu_ms() {
	local pid total=0 ticks
	for pid in "${guest_pids[@]}"; do
		ticks=$(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
		total=$((total + ticks))
	done
	echo $((total * 1000 / $(getconf CLK_TCK)))
}

# Starts an agent with per_vcpu_metrics $1 on port $2.
start_agent() {
	local conf=$work/agent-$1.conf
	# A socket each: two agents cannot share the default one.
	printf '%s\n' "listen_address: 127.0.0.1:$2" "summary_interval_s: 0" \
		"per_vcpu_metrics: $1" "socket_path: $work/agent-$1.sock" >"$conf"
	"$agent" run --config "$conf" </dev/null >"$work/agent-$1.log" 2>&1 &
	started_pids+=("$!")
}

# Waits until the agent on port $1 lists every guest with both vCPUs.
wait_tracked() {
	local i found
	for ((i = 0; i < 300; i++)); do
		found=$(curl -s "http://127.0.0.1:$1/metrics" |
			grep -c '^kvmwarden_guest_vcpus{guest="scrapebench[0-9]*".* 2$' || true)
		[ "$found" -ge "$guests" ] && return 0
		sleep 0.1
	done
	echo "bench_scrape: the agent on port $1 tracks $found of $guests guests" >&2
	return 1
}

# Appends $per_round "seconds bytes" lines of scrapes of port $1 to file $2.
scrape() {
	local n
	for ((n = 0; n < per_round; n++)); do
		curl -s -o /dev/null -w '%{time_total} %{size_download}\n' \
			"http://127.0.0.1:$1/metrics" >>"$2"
	done
}

# "median_ms p99_ms max_ms bytes" of a file of "seconds bytes" lines
# (nearest-rank percentiles).
summarize() {
	sort -n "$1" | awk '
		{ t[NR] = $1 * 1000; bytes = $2 }
		END {
			m = int((NR + 1) / 2); p = int(NR * 0.99 + 0.999999)
			printf "%.2f %.2f %.2f %d %d\n", t[m], t[p], t[NR], bytes, NR
		}'
}

if [ -z "$http_skipped" ]; then
	echo "starting $guests guests of 2 vCPUs and two agents"
	guest_pids=()
	start_guests
	wait_booted
	port_off=$(free_port)
	start_agent false "$port_off"
	port_on=$(free_port)
	start_agent true "$port_on"
	wait_tracked "$port_off"
	wait_tracked "$port_on"
	: >"$work/http-off.txt"
	: >"$work/http-on.txt"
	cpu_before=$(guests_cpu_ms)
	http_start=$(date +%s%N)
	for ((round = 0; round < rounds; round++)); do
		if ((round % 2)); then
			scrape "$port_on" "$work/http-on.txt"
			scrape "$port_off" "$work/http-off.txt"
		else
			scrape "$port_off" "$work/http-off.txt"
			scrape "$port_on" "$work/http-on.txt"
		fi
	done
	guests_cpu_pct=$(awk -v c=$(($(guests_cpu_ms) - cpu_before)) \
		-v t=$((($(date +%s%N) - http_start) / 1000000)) \
		'BEGIN { printf "%.1f", 100 * c / t }')
	# The agents' own figure for the render of their last scrape.
	render_off=$(curl -s "http://127.0.0.1:$port_off/metrics" |
		awk '/^kvmwarden_scrape_duration_seconds / { printf "%.2f", $2 * 1000 }')
	render_on=$(curl -s "http://127.0.0.1:$port_on/metrics" |
		awk '/^kvmwarden_scrape_duration_seconds / { printf "%.2f", $2 * 1000 }')
	read -r off_median off_p99 off_max off_bytes off_n < <(summarize "$work/http-off.txt")
	read -r on_median on_p99 on_max on_bytes on_n < <(summarize "$work/http-on.txt")
	stop_all
fi

# --- the results file --------------------------------------------------------
# field NAME LINE: the value of NAME=... in LINE.
field() {
	sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"
}

us_to_ms() { # us_to_ms NAME LINE: NAME's microseconds as milliseconds
	awk -v us="$(field "$1" "$2")" 'BEGIN { printf "%.2f", us / 1000 }'
}

verdict() { # verdict VALUE_MS LIMIT_MS
	awk -v v="$1" -v l="$2" 'BEGIN { print (v <= l) ? "met" : "MISSED" }'
}

{
	echo "kvmwarden scrape bench (tests/bench/bench_scrape.sh)"
	echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel:  $(uname -r) $(uname -m), $(nproc) CPUs"
	echo "host:    load average $(cut -d' ' -f1-3 /proc/loadavg) at the end;" \
		"$(pgrep -c -f '^qemu-system' || true) QEMU processes running"
	echo
	echo "1. Rendering /metrics without HTTP: prometheus_write() into an"
	echo "   open_memstream() buffer, as the HTTP thread does, over a synthetic"
	echo "   table (per guest: its vCPUs, 1 main loop, 1 iothread, 2 vhost, 4 other"
	echo "   threads; histograms over 17 buckets). $iterations renders each way,"
	echo "   per_vcpu off and on alternating; nearest-rank percentiles of wall"
	echo "   time (what a scraper waits) and of the thread's CPU time (cpu_: the"
	echo "   render's own cost, whatever else ran). Times in ms."
	echo "   publish: metrics_publish(), the loop's deep copy after every pass."
	echo
	printf '   %-6s %-6s %-8s %9s %9s %9s %9s %9s %8s %6s\n' vCPUs guests \
		per_vcpu median_ms p99_ms max_ms cpu_med cpu_p99 bytes series
	table=""
	while read -r line; do
		case $line in
		table*) table=$line ;;
		render* | publish*)
			what=$(field per_vcpu "$line")
			printf '   %-6s %-6s %-8s %9.2f %9.2f %9.2f %9.2f %9.2f %8s %6s\n' \
				"$(field vcpus "$table")" "$(field guests "$table")" \
				"${what:-publish}" "$(us_to_ms median_us "$line")" \
				"$(us_to_ms p99_us "$line")" "$(us_to_ms max_us "$line")" \
				"$(us_to_ms cpu_median_us "$line")" \
				"$(us_to_ms cpu_p99_us "$line")" \
				"$(field bytes "$line" | sed 's/^0$/-/')" \
				"$(field lines "$line" | sed 's/^0$/-/')"
			;;
		esac
	done <"$synthetic"
	echo
	echo "2. Real scrapes over HTTP: curl -w %{time_total} (connect to last byte) of"
	if [ -n "$http_skipped" ]; then
		echo "   two agents: skipped, $http_skipped"
	else
		echo "   two agents measuring $guests boot-sector guests of 2 vCPUs each (halted),"
		echo "   one with per_vcpu_metrics false, one true; $rounds rounds of $per_round"
		echo "   scrapes of each, alternating which goes first. The guests used"
		echo "   ${guests_cpu_pct}% of one CPU meanwhile."
		echo
		printf '   %-9s %10s %10s %10s %10s %8s %16s\n' per_vcpu median_ms \
			p99_ms max_ms bytes scrapes agent_render_ms
		printf '   %-9s %10s %10s %10s %10s %8s %16s\n' off "$off_median" \
			"$off_p99" "$off_max" "$off_bytes" "$off_n" "${render_off:-?}"
		printf '   %-9s %10s %10s %10s %10s %8s %16s\n' on "$on_median" \
			"$on_p99" "$on_max" "$on_bytes" "$on_n" "${render_on:-?}"
	fi
	echo
	echo "Targets (reported, never failing the run):"
	while read -r line; do
		case $line in
		table*) table=$line ;;
		render*)
			[ "$(field vcpus "$table")" = 1000 ] || continue
			p99=$(us_to_ms p99_us "$line")
			echo "   $(verdict "$p99" "$target_ms")  render at 1,000 vCPUs," \
				"per_vcpu $(field per_vcpu "$line"): p99 $p99 ms wall," \
				"$(us_to_ms cpu_p99_us "$line") ms CPU (target <= $target_ms ms)"
			;;
		esac
	done <"$synthetic"
} >"$results.tmp"
mv "$results.tmp" "$results"
cat "$results"
