#!/usr/bin/env bash
# Runs every libFuzzer harness in BUILD_DIR/fuzz for SECONDS each (default
# 30), from the seeds in tests/fuzz/seeds/NAME plus what earlier runs found
# (kept in BUILD_DIR/fuzz/corpus-NAME, never in the tree). A crash, a leak
# or a sanitizer report fails that harness; the reproducer stays in
# BUILD_DIR/fuzz. Ends with `fuzz: N passed, N failed`.
# Usage: tests/fuzz/run.sh BUILD_DIR [SECONDS]
set -uo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 BUILD_DIR [SECONDS]" >&2
	exit 2
fi
build=$(cd "$1" && pwd) || exit 2
seconds=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0

for harness in "$here"/fuzz_*.c; do
	name=$(basename "$harness" .c)
	short=${name#fuzz_}
	binary=$build/fuzz/$name
	if ! [ -x "$binary" ]; then
		echo "FAIL $name: $binary is missing (make fuzz builds it)"
		failed=$((failed + 1))
		continue
	fi
	corpus=$build/fuzz/corpus-$short
	mkdir -p "$corpus"
	log=$build/fuzz/$name.log
	echo "== $name: $seconds s"
	if (cd "$build/fuzz" && "$binary" -max_total_time="$seconds" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		"$corpus" "$here/seeds/$short") >"$log" 2>&1; then
		echo "ok   $name: $(grep -E '^stat::number_of_executed_units' "$log" |
			awk '{print $2}') inputs, corpus $(ls "$corpus" | wc -l)"
		passed=$((passed + 1))
	else
		echo "FAIL $name: see $log"
		grep -E 'ERROR|SUMMARY|deadly|leak' "$log" | head -5
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
