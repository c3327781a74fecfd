#!/bin/sh
# scripts/test.sh - set up and run the whole test suite on a fresh Debian 12 machine
#
# Installs the Debian packages (as root), then builds twice and runs `make check` in each:
#   _build/check  gcc -Werror
#   _build/san    gcc -Werror with AddressSanitizer + UndefinedBehaviorSanitizer
# and the unit tests a third time under valgrind. Fails when any test fails or is skipped.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/deps.sh

status=0
run_check() {
	dir=$1
	shift
	echo "== $dir: configure $*"
	scripts/build.sh "$dir" "$@"
	echo "== $dir: make check"
	if ! make -C "$dir" -j"$(nproc)" check ${CHECK_ARGS:+"$CHECK_ARGS"} >"$dir/check.out" 2>&1; then
		status=1
	fi
	# the automake summary and each test's result
	grep -E '^(PASS|FAIL|SKIP|XFAIL|XPASS|ERROR):' "$dir/check.out" || true
	grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' "$dir/check.out" || true
	if ! grep -q '^# TOTAL:' "$dir/check.out"; then
		echo "---- $dir: make check did not run the tests"
		tail -n 40 "$dir/check.out"
		status=1
	fi
	if grep -Eq '^# (SKIP|FAIL|ERROR|XPASS): +[1-9]' "$dir/check.out"; then
		status=1
		for f in $(find "$dir/tests" -name '*.log'); do
			if grep -Eq '^:test-result: (FAIL|SKIP|ERROR)' "${f%.log}.trs" 2>/dev/null; then
				echo "---- $f"; tail -n 40 "$f"
			fi
		done
	fi
	make -C "$dir" check-symbols || status=1
}

run_check _build/check --enable-werror
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS
run_check _build/san --enable-werror --enable-asan --enable-ubsan
# under valgrind: every unit test and the command-line tests (the integration tests run the
# server under the sanitizers above; valgrind would make their timeouts meaningless)
units=$(cd "$top" && ls tests/check_*.c tests/cli_*.sh | sed 's/\.c$//' | tr '\n' ' ')
CHECK_ARGS="TESTS=$units"
run_check _build/valgrind --enable-werror --enable-valgrind

if [ $status -ne 0 ]; then
	echo "test.sh: FAILED (a test failed or was skipped)"
	exit 1
fi
echo "test.sh: all tests passed"
