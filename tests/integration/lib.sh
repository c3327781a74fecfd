# tests/integration/lib.sh - a throwaway PostgreSQL cluster and a real vigil serve (sourced)
#
# The harness (tests/local.mk) sets VIGIL (the binary) and top_srcdir. A test sources this
# file, then:
#   it_pg_start                  start a private cluster (scripts/pg.sh) in a temp dir;
#                                sets DATABASE_URL and exports VIGIL_DATABASE_URL
#   it_serve [ARGS...]           start `vigil serve --listen 127.0.0.1:0 ARGS` in the
#                                background with the current environment, wait for
#                                /healthz; sets BASE (http://127.0.0.1:PORT) and it_pid
#   it_serve_stop                SIGTERM it and wait (bounded); returns its exit status
#   it_wait_for SECONDS CMD...   retry CMD every 0.1 s until it succeeds (bounded)
#   it_token ROLE NAME           create a token with `vigil token create`, print it
#   it_req METHOD PATH [TOKEN] [curl args...]
#                                one request (10 s cap); prints the status; the body is in
#                                $it_body, the headers in $it_headers
#   check_status NAME WANT METHOD PATH [TOKEN] [curl args...]
#   check_jq NAME FILTER         jq -e FILTER on the last body
#   ok NAME / not_ok NAME / finish
# Everything started here is stopped on exit, pass or fail: the server (SIGKILL if it
# must), helper processes registered with it_bg, and the cluster; the temp dir is removed.
# Every wait is bounded. Runs as root (the cluster then belongs to "postgres") or not.
set -u
: "${VIGIL:?VIGIL must name the vigil binary}" "${top_srcdir:?top_srcdir must be set}"

failures=0
passes=0
it_pid=
it_bgpids=
# under valgrind everything is ~20x slower
it_slow=1
[ -n "${VALGRIND:-}" ] && it_slow=10

for tool in curl jq perl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool is not installed (scripts/deps.sh installs it)"
		exit 77
	fi
done

it_tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-it.XXXXXX")
# the cluster's owner ("postgres" when we are root) must be able to reach its directory
chmod 755 "$it_tmp"
it_pg=$it_tmp/pg
it_log=$it_tmp/serve.log
it_body=$it_tmp/body
it_headers=$it_tmp/headers
VIGIL_SQLDIR=$top_srcdir/sql
export VIGIL_SQLDIR

it_cleanup() {
	for p in $it_bgpids; do
		kill -KILL "$p" 2>/dev/null || true
	done
	if [ -n "$it_pid" ] && kill -0 "$it_pid" 2>/dev/null; then
		kill -KILL "$it_pid" 2>/dev/null || true
		wait "$it_pid" 2>/dev/null || true
	fi
	"$top_srcdir/scripts/pg.sh" stop "$it_pg" >/dev/null 2>&1 || true
	rm -rf "$it_tmp"
}
trap 'it_cleanup' EXIT
trap 'exit 1' INT TERM HUP

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

finish() {
	echo "$passes passed, $failures failed"
	[ "$failures" -eq 0 ]
}

# it_bg PID: kill PID on exit if it is still running
it_bg() {
	it_bgpids="$it_bgpids $1"
}

it_pg_start() {
	if ! DATABASE_URL=$("$top_srcdir/scripts/pg.sh" start "$it_pg"); then
		echo "Bail out! could not start PostgreSQL"
		exit 99
	fi
	VIGIL_DATABASE_URL=$DATABASE_URL
	export DATABASE_URL VIGIL_DATABASE_URL
}

it_pg_stop() {
	"$top_srcdir/scripts/pg.sh" stop "$it_pg"
}

# it_wait_for SECONDS COMMAND...: retry COMMAND every 0.1 s until it succeeds
it_wait_for() {
	limit=$(($1 * it_slow * 10))
	shift
	n=0
	while ! "$@" >/dev/null 2>&1; do
		n=$((n + 1))
		[ "$n" -ge "$limit" ] && return 1
		sleep 0.1
	done
	return 0
}

it_serve() {
	: >"$it_log"
	if [ -n "${VALGRIND:-}" ]; then
		"$VALGRIND" --quiet --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite "$VIGIL" serve --listen 127.0.0.1:0 "$@" \
			>>"$it_log" 2>&1 &
	else
		"$VIGIL" serve --listen 127.0.0.1:0 "$@" >>"$it_log" 2>&1 &
	fi
	it_pid=$!
	if ! it_wait_for 30 grep -q 'listening on http://' "$it_log"; then
		echo "Bail out! vigil serve did not start; its log:"
		cat "$it_log"
		exit 99
	fi
	port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$it_log" | tail -n 1)
	BASE=http://127.0.0.1:$port
	if ! it_wait_for 10 curl -sf -m 2 "$BASE/healthz"; then
		echo "Bail out! vigil serve does not answer /healthz"
		cat "$it_log"
		exit 99
	fi
}

# it_alive PID: PID runs (an exited child not yet reaped is a zombie: that counts as dead)
it_alive() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}

it_dead() {
	! it_alive "$1"
}

# it_wait_exit PID SECONDS: wait for our child PID to end; its exit status goes to
# it_status (124 when it is still running after SECONDS)
it_wait_exit() {
	if it_wait_for "$2" it_dead "$1"; then
		wait "$1"
		it_status=$?
	else
		it_status=124
	fi
}

it_serve_stop() {
	[ -n "$it_pid" ] || return 0
	kill -TERM "$it_pid" 2>/dev/null || true
	it_wait_exit "$it_pid" 30
	it_pid=
	return "$it_status"
}

it_token() {
	vigil token create --role "$1" --name "$2" 2>/dev/null
}

it_req() {
	method=$1
	path=$2
	shift 2
	auth=
	if [ $# -gt 0 ]; then
		auth=$1
		shift
	fi
	if [ -n "$auth" ]; then
		curl -s -m 10 -o "$it_body" -D "$it_headers" -w '%{http_code}' -X "$method" \
			-H "Authorization: Bearer $auth" "$@" "$BASE$path"
	else
		curl -s -m 10 -o "$it_body" -D "$it_headers" -w '%{http_code}' -X "$method" \
			"$@" "$BASE$path"
	fi
}

check_status() {
	name=$1
	want=$2
	shift 2
	got=$(it_req "$@")
	if [ "$got" = "$want" ]; then
		ok "$name"
	else
		not_ok "$name (status $got, wanted $want)"
		head -c 600 "$it_body" 2>/dev/null
		echo
	fi
}

check_jq() {
	if jq -e "$2" "$it_body" >/dev/null 2>&1; then
		ok "$1"
	else
		not_ok "$1 (jq: $2)"
		head -c 600 "$it_body" 2>/dev/null
		echo
	fi
}

# check_header NAME REGEX: the last response's headers match REGEX (case-insensitive)
check_header() {
	if tr -d '\r' <"$it_headers" | grep -qi "$2"; then
		ok "$1"
	else
		not_ok "$1 (no header matching $2)"
		cat "$it_headers"
	fi
}
