#!/usr/bin/env bash
# Runs every executable in DIR (sorted) from the repo root, shows its output,
# and sums cmocka's per-test summaries into one closing line:
#   unit: N passed, N failed
# A binary that crashes, hangs or prints no summary counts as one failure.
set -u

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$(cd "$1" && pwd)
cd "$(dirname "$0")/.." || exit 2

# A hung test must not hang CI; 300 s is far above any unit test's runtime.
timeout_s=${UNIT_TIMEOUT_S:-300}
passed=0
failed=0
binaries=0

while IFS= read -r -d '' bin; do
	binaries=$((binaries + 1))
	echo "== ${bin#"$dir"/}"
	# cmocka prints its PASSED line on stdout and FAILED lines on stderr.
	output=$(CMOCKA_MESSAGE_OUTPUT=STDOUT timeout "$timeout_s" "$bin" 2>&1)
	rc=$?
	printf '%s\n' "$output"

	bin_passed=0
	bin_failed=0
	summaries=0
	while IFS= read -r line; do
		if [[ $line =~ ^\[\ \ PASSED\ \ \]\ ([0-9]+)\ test ]]; then
			bin_passed=$((bin_passed + BASH_REMATCH[1]))
			summaries=$((summaries + 1))
		elif [[ $line =~ ^\[\ \ FAILED\ \ \]\ ([0-9]+)\ test ]]; then
			bin_failed=$((bin_failed + BASH_REMATCH[1]))
			summaries=$((summaries + 1))
		fi
	done <<<"$output"

	if [ "$summaries" -eq 0 ]; then
		echo "!! ${bin##*/}: no cmocka summary (exit status $rc)"
		bin_failed=$((bin_failed + 1))
	elif [ "$rc" -ne 0 ] && [ "$bin_failed" -eq 0 ]; then
		# e.g. a sanitizer report or crash after the last test
		echo "!! ${bin##*/}: exit status $rc after all tests passed"
		bin_failed=1
	fi
	passed=$((passed + bin_passed))
	failed=$((failed + bin_failed))
done < <(find "$dir" -maxdepth 1 -type f -perm -u+x -print0 | sort -z)

echo "unit: $passed passed, $failed failed"
if [ "$binaries" -eq 0 ] || [ $((passed + failed)) -eq 0 ]; then
	echo "!! no unit tests ran in $dir" >&2
	exit 1
fi
[ "$failed" -eq 0 ]
