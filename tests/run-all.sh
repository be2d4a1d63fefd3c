#!/usr/bin/env bash
# Runs the unit tests, the same tests under ASan/UBSan, then the integration
# tests, and sums the closing line of each (`N passed, N failed`, maybe a
# prefix and `, N skipped`) into one. Exits non-zero on any failure, and a
# step that fails without saying so, or says nothing, counts as one.
# Usage: tests/run-all.sh BUILD_DIR
set -uo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
build=$1
here=$(cd "$(dirname "$0")" && pwd)

passed=0 failed=0 skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# step LABEL PREFIX COMMAND...: PREFIX starts the command's closing line,
# which tells it apart from the per-test lines printed before it.
step() {
	local label=$1 prefix=$2 status last
	shift 2
	echo "==== $label: $*"
	if [ ! -x "$1" ]; then
		echo "FAIL $label: $1 is missing or not executable"
		failed=$((failed + 1))
		return
	fi
	local started=$SECONDS
	"$@" </dev/null 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	echo "==== $label took $((SECONDS - started)) s"
	last=$(grep -E "^${prefix}[0-9]+ passed, [0-9]+ failed" "$log" | tail -n 1)
	if [[ $last =~ ^$prefix([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)?$ ]]; then
		passed=$((passed + BASH_REMATCH[1]))
		failed=$((failed + BASH_REMATCH[2]))
		skipped=$((skipped + ${BASH_REMATCH[4]:-0}))
		if [ "$status" -ne 0 ] && [ "${BASH_REMATCH[2]}" -eq 0 ]; then
			echo "FAIL $label: exit $status with no failed test"
			failed=$((failed + 1))
		fi
	else
		echo "FAIL $label: no closing line (exit $status)"
		failed=$((failed + 1))
	fi
}

# The tree's rules (layers, no loops, one home per constant, file length,
# logging through base/log): tests/lint/check_structure.py.
step lint "lint: " "$(command -v python3)" "$here/lint/check_structure.py" "$build/obj"
step unit "unit: " "$here/run-unit.sh" "$build/tests"
step unit-san "unit: " "$here/run-unit.sh" "$build/tests-san"
step integration "integration: " "$here/integration/run.sh" "$build"
# Hostile input: every libFuzzer harness for 15 s (make fuzz runs longer).
step fuzz "fuzz: " "$here/fuzz/run.sh" "$build" "${KVMWARDEN_FUZZ_SECONDS:-15}"
# Churn with PID reuse while the agent enforces (make soak runs 600 s).
SOAK_SECONDS=${KVMWARDEN_SOAK_SECONDS:-90} step soak "soak: " \
	"$(command -v python3)" "$here/integration/soak_churn.py" "$build"
step systemd "systemd: " "$here/integration/test_systemd.sh" "$build"
# KVM's own paths (KVM_RUN discovery, exit telemetry) in a TCG guest that is
# itself an SVM host, on the Debian 6.1, 6.12 and 7.2 kernels.
step nested "nested: " "$here/integration/test_nested_kvm.sh" "$build"
# The agent itself under ASan/UBSan (and LeakSanitizer at exit), measuring
# real guests: the unit tests cannot reach the loader or discovery.
KVMWARDEN_BINARY="$build/kvmwarden-san" step agent-san "" \
	"$(command -v python3)" "$here/integration/test_steal_accuracy.py" "$build"

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
