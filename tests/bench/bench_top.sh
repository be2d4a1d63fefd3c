#!/bin/bash
# `make bench`, top part: what the live window costs. The agent builds one
# every interval_ms for its socket, and `top` turns each into rows; both
# are timed on synthetic tables of 100, 1,000 and 2,000 vCPUs with the
# agent's own objects (target: the agent's build at most 20 ms at 1,000
# vCPUs, 2 % of one CPU at the default 1 s interval). CPU only: no root,
# no guests. Writes tests/bench/results-top.txt. A few seconds.
# Usage: tests/bench/bench_top.sh BUILD_DIR
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
iterations=${BENCH_TOP_ITERATIONS:-200}
build=$(cd "$1" && pwd)
work=$build/bench/top
results=$here/results-top.txt
mkdir -p "$work"

objs=()
for obj in "$build"/obj/agent/*/*.o "$build"/obj/exporters/*.o; do
	# Only objects whose source is still in the tree: a renamed file
	# leaves its old object behind, which would link twice.
	src=${obj#"$build"/obj/}
	[ -f "$top/${src%.o}.c" ] || continue
	[ "${obj##*/}" = main.o ] || objs+=("$obj")
done
if [ ${#objs[@]} -eq 0 ]; then
	echo "bench_top: build the agent first: make $build/kvmwarden" >&2
	exit 1
fi
cc -O2 -g -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow \
	-Wformat=2 -D_GNU_SOURCE -I"$top/agent" -I"$top/exporters" \
	-I"$top/bpf" -I"$build" "$here/top_bench.c" "${objs[@]}" \
	-o "$work/top_bench" \
	-lbpf -lelf -lz -ljson-c -lyaml -lmicrohttpd -lcrypt -lsystemd -lncursesw -lvirt -lgnutls

{
	echo "# bench_top $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) CPUs," \
		"$iterations windows per size"
	for size in "25 4" "125 8" "250 8"; do
		read -r g v <<<"$size"
		"$work/top_bench" "$iterations" "$g" "$v"
	done
} | tee "$results"
