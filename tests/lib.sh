# tests/lib.sh - helpers for the command-line tests (sourced)
#
# The harness (tests/local.mk) sets VIGIL (the binary), JSONCMP and top_srcdir; under
# --enable-valgrind it sets VALGRIND and every vigil run goes through it.
set -u
fx="$top_srcdir/tests/fixtures"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
passes=0

vigil() {
	if [ -n "${VALGRIND:-}" ]; then
		"$VALGRIND" --quiet --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite "$VIGIL" "$@"
	else
		"$VIGIL" "$@"
	fi
}

ok() {
	passes=$((passes + 1))
	echo "ok - $1"
}

not_ok() {
	failures=$((failures + 1))
	echo "not ok - $1"
}

# json_case NAME EXPECTED ACTUAL [jsoncmp options]
json_case() {
	name=$1 exp=$2 act=$3
	shift 3
	if "$JSONCMP" "$@" "$exp" "$act" >"$tmp/cmp.out" 2>&1; then
		ok "$name"
	else
		not_ok "$name"
		head -n 30 "$tmp/cmp.out"
	fi
}

finish() {
	echo "$passes passed, $failures failed"
	[ "$failures" -eq 0 ]
}
