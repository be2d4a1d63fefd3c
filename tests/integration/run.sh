#!/usr/bin/env bash
# Runs every tests/integration/test_*.py against BUILD_DIR/kvmwarden, one
# after another (they share the machine's 2 CPUs), and sums their closing
# lines into `integration: N passed, N failed, N skipped`. Exits non-zero
# on any failure, including a test that dies without its closing line.
# Usage: tests/integration/run.sh BUILD_DIR
set -uo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
if ! build_dir=$(cd "$1" 2>/dev/null && pwd); then
	echo "integration: no build directory $1" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ left in the tree
# Each test stops its own guests on SIGTERM; KILL only if that hangs.
per_test_timeout=${KVMWARDEN_TEST_TIMEOUT:-180}

passed=0 failed=0 skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for test in "$here"/test_*.py; do
	name=$(basename "$test")
	echo "== $name"
	started=$SECONDS
	timeout --kill-after=20 "$per_test_timeout" \
		python3 "$test" "$build_dir" </dev/null 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	echo "== $name took $((SECONDS - started)) s"
	last=$(tail -n 1 "$log")
	if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
		passed=$((passed + BASH_REMATCH[1]))
		failed=$((failed + BASH_REMATCH[2]))
		skipped=$((skipped + BASH_REMATCH[3]))
		if [ "$status" -ne 0 ] && [ "${BASH_REMATCH[2]}" -eq 0 ]; then
			echo "FAIL $name: exit $status with no failed check"
			failed=$((failed + 1))
		fi
	else
		echo "FAIL $name: no closing line (exit $status)"
		failed=$((failed + 1))
	fi
done

echo "integration: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
