#!/bin/sh
# tests/integration/demo.sh - scripts/demo.sh runs end to end and stops everything it started
#
# Runs the demo against this build's vigil (DEMO_VIGIL: no install, no build) with a
# throwaway state directory (DEMO_VAR), three times:
#   1. --no-wait with its own PostgreSQL cluster: the offline section, then the monitor's
#      drift table and per-sex performance (n per sex as in the data), the six windows the
#      scheduler evaluated by itself (real time, no VIGIL_TEST_NOW), the firing alerts (at
#      least one feature-drift ticket, with the values that breached), the curl lines with
#      the token; afterwards its server is gone, its cluster stopped, its port closed.
#   2. --no-wait with VIGIL_DATABASE_URL set and the port it should try taken: it says so,
#      serves on another port, and creates no cluster of its own.
#   3. waiting (no --no-wait): it serves until SIGINT (Ctrl-C), then stops the server and the
#      cluster and exits. Meanwhile the lines it printed work as they are: performance, the
#      list of firing alerts, `vigil token create --role oncall`, and the ack with its oncall
#      token, after which the alert is acknowledged by that token's name.
. "$top_srcdir/tests/integration/lib.sh"

demo=$top_srcdir/scripts/demo.sh
limit=150 # seconds (lib.sh scales its waits under valgrind)
# on any exit, what a demo that did not finish left: its server (var*/serve.pid, which the
# demo removes when it stops it) and its cluster; lib.sh then stops its own
demo_cleanup() {
	for v in "$it_tmp"/var*; do
		[ -s "$v/serve.pid" ] && kill -KILL "$(cat "$v/serve.pid")" 2>/dev/null
		"$top_srcdir/scripts/pg.sh" stop "$v/pg" >/dev/null 2>&1
	done
	it_cleanup
}
trap 'demo_cleanup' EXIT

# run_demo NAME OUT [env ARGS...]: scripts/demo.sh --no-wait, bounded; status in demo_status
run_demo() {
	name=$1 out=$2
	shift 2
	env "$@" DEMO_VIGIL="$VIGIL" sh "$demo" --no-wait >"$out" 2>&1 &
	p=$!
	it_bg $p
	it_wait_exit $p $limit
	demo_status=$it_status
	if [ "$demo_status" = 0 ]; then
		ok "$name: scripts/demo.sh --no-wait exits 0"
	else
		not_ok "$name: scripts/demo.sh --no-wait exit status $demo_status"
		tail -n 30 "$out"
	fi
}

# has NAME FILE REGEX: the output has a line matching REGEX
has() {
	if grep -Eq -- "$3" "$2"; then
		ok "$1"
	else
		not_ok "$1 (no line matching $3)"
	fi
}

# check_output NAME FILE: what every run must print
check_output() {
	has "$1: drift table" "$2" '^  chol +numeric +KS +[0-9.]+ .*DRIFT$'
	has "$1: a categorical feature in the drift table" "$2" '^  restecg +categorical +chi2 .*DRIFT$'
	has "$1: drift per site" "$2" '^   va +200 rows: drift in '
	has "$1: performance of women (n = 97)" "$2" '^  sex=female +97 +0\.[0-9]+ +0\.[0-9]+ \[0\.[0-9]+, 0\.[0-9]+\]'
	has "$1: performance of men (n = 520)" "$2" '^  sex=male +520 +0\.[0-9]+ +0\.[0-9]+ \[0\.[0-9]+, 0\.[0-9]+\]'
	has "$1: performance per site" "$2" '^  site=switzerland +123 '
	has "$1: the label-free estimate" "$2" '^  sex=male +0\.[0-9]+ \['
	has "$1: curl line for drift, with the token" "$2" "^curl -s -H 'Authorization: Bearer vgl_[A-Za-z0-9_-]+' 'http://127\\.0\\.0\\.1:[0-9]+/v1/models/heart/drift\\?from="
	has "$1: curl line for performance by sex" "$2" "^curl .*/v1/models/heart/performance\\?from=.*&by=sex'"
	# the scheduler, on real time: six hourly windows of the last hours, evaluated whole
	has "$1: it waited for the scheduler" "$2" '^demo: evaluated in [0-9]+ s$'
	n=$(grep -Ec '^  20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9]{2}:00-[0-9]{2}:00 +done +10[23] +10[23] +final +1 ' "$2")
	[ "$n" = 6 ] && ok "$1: six windows evaluated by the scheduler (all rows labelled, final)" ||
		not_ok "$1: $n evaluated windows in the table, wanted 6"
	has "$1: the firing alerts' summary" "$2" '^  [1-9][0-9]* firing: [0-9]+ page\(s\), [0-9]+ ticket\(s\)'
	has "$1: a firing feature-drift ticket" "$2" '^  [0-9]+ +ticket +feature-drift +feature +[a-z]+ +all +'
	has "$1: with the psi that breached" "$2" '^         psi [0-9.]+ > 0\.2, n [0-9]+ vs 303'
	has "$1: and the test's q-value" "$2" '^         (ks|chi_square) [0-9.]+, q [0-9.e-]+ < 0\.05, n '
	has "$1: curl line to list the firing alerts" "$2" \
		"^curl -s -H 'Authorization: Bearer vgl_[A-Za-z0-9_-]+' 'http://127\\.0\\.0\\.1:[0-9]+/v1/alerts\\?state=firing&model=heart' \\| jq \\.$"
	has "$1: curl line to acknowledge, with an oncall token and a note" "$2" \
		"^curl -s -X POST -H 'Authorization: Bearer vgl_[A-Za-z0-9_-]+' -H 'Content-Type: application/json' -d '\\{\"note\": \"[^\"]+\"\\}' 'http://127\\.0\\.0\\.1:[0-9]+/v1/alerts/[0-9]+/ack'"
	has "$1: curl line to resolve" "$2" "^curl -s -X POST .*/v1/alerts/[0-9]+/resolve' \\| jq \\.$"
	has "$1: how to make an oncall token" "$2" "vigil token create --role oncall --name YOUR-NAME$"
}

# check_stopped NAME FILE: the server the demo printed is gone and its port closed
check_stopped() {
	spid=$(sed -n 's/^demo: vigil serve (pid \([0-9]*\)) listens on .*/\1/p' "$2" | tail -n 1)
	sport=$(sed -n 's|^demo: vigil serve (pid [0-9]*) listens on http://127\.0\.0\.1:\([0-9]*\);.*|\1|p' "$2" | tail -n 1)
	if [ -n "$spid" ] && it_dead "$spid"; then
		ok "$1: its vigil serve (pid $spid) is stopped"
	else
		not_ok "$1: vigil serve pid '$spid' still runs"
		[ -n "$spid" ] && kill -KILL "$spid" 2>/dev/null
	fi
	st=$(curl -s -m 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:${sport:-1}/healthz")
	[ "$st" = 000 ] && ok "$1: nothing answers on its port $sport any more" ||
		not_ok "$1: port $sport still answers ($st)"
}

# --- 1. its own cluster ------------------------------------------------------------------------
var1=$it_tmp/var1
run_demo "own cluster" "$it_tmp/demo1.out" -u VIGIL_DATABASE_URL DEMO_VAR="$var1"
has "own cluster: the offline section" "$it_tmp/demo1.out" '^== vigil drift: reference cleveland, current hungarian$'
has "own cluster: initdb on the first run" "$it_tmp/demo1.out" "^demo: creating a PostgreSQL cluster in $var1/pg"
has "own cluster: Cleveland is the reference" "$it_tmp/demo1.out" '^demo: Cleveland uploaded as the labelled reference: reference [0-9]+, 303 rows$'
has "own cluster: the three sites streamed with their labels" "$it_tmp/demo1.out" \
	'^demo: streamed va: 200 predictions .*, then 200 labels$'
check_output "own cluster" "$it_tmp/demo1.out"
check_stopped "own cluster" "$it_tmp/demo1.out"
has "own cluster: says it stopped PostgreSQL" "$it_tmp/demo1.out" "^demo: stopped PostgreSQL"
if [ -f "$var1/pg/data/PG_VERSION" ] && [ ! -f "$var1/pg/data/postmaster.pid" ]; then
	ok "own cluster: the cluster is in DEMO_VAR and stopped"
else
	not_ok "own cluster: cluster state in $var1/pg"
	"$top_srcdir/scripts/pg.sh" stop "$var1/pg" >/dev/null 2>&1
fi

# --- 2. VIGIL_DATABASE_URL, and the port taken -----------------------------------------------------
it_pg_start
perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 5,
		ReuseAddr => 1) or die "listen: $!\n";
	open(my $f, ">", $ARGV[0]) or die; print $f $s->sockport, "\n"; close $f;
	sleep 300' "$it_tmp/busy.port" &
busy=$!
it_bg $busy
it_wait_for 10 test -s "$it_tmp/busy.port"
bport=$(cat "$it_tmp/busy.port")
var2=$it_tmp/var2
run_demo "VIGIL_DATABASE_URL" "$it_tmp/demo2.out" DEMO_VAR="$var2" DEMO_OFFLINE=0 \
	DEMO_PORT="$bport" VIGIL_DATABASE_URL="$DATABASE_URL"
has "VIGIL_DATABASE_URL: it says it uses that database" "$it_tmp/demo2.out" '^demo: using the database in VIGIL_DATABASE_URL$'
has "the port taken: it says so and takes another" "$it_tmp/demo2.out" "^demo: port $bport is busy; vigil serve took a free port instead$"
check_output "VIGIL_DATABASE_URL" "$it_tmp/demo2.out"
check_stopped "VIGIL_DATABASE_URL" "$it_tmp/demo2.out"
[ ! -e "$var2/pg" ] && ok "VIGIL_DATABASE_URL: no cluster of its own" || not_ok "VIGIL_DATABASE_URL: $var2/pg exists"
n=$(psql "$DATABASE_URL" -XAtqc "SELECT count(*) FROM predictions p JOIN models m ON m.id = p.model_id WHERE m.name = 'heart'")
[ "$n" = 617 ] && ok "VIGIL_DATABASE_URL: the 617 production predictions are in that database" ||
	not_ok "VIGIL_DATABASE_URL: $n predictions in that database"
kill "$busy" 2>/dev/null

# --- 3. waiting until Ctrl-C ------------------------------------------------------------------------
var3=$it_tmp/var3
out3=$it_tmp/demo3.out
# a background job of a script ignores SIGINT, and a shell cannot trap a signal ignored at
# its start: perl gives the demo the default disposition back, as a terminal would
perl -e '$SIG{INT} = "DEFAULT"; exec @ARGV or die "exec: $!\n"' \
	env -u VIGIL_DATABASE_URL DEMO_VIGIL="$VIGIL" DEMO_VAR="$var3" DEMO_OFFLINE=0 sh "$demo" \
	>"$out3" 2>&1 &
d3=$!
it_bg $d3
if it_wait_for $limit grep -q 'press Ctrl-C to stop it and PostgreSQL' "$out3"; then
	ok "waiting: it serves and says Ctrl-C stops it and PostgreSQL"
else
	not_ok "waiting: no Ctrl-C prompt"
	tail -n 20 "$out3"
fi
sport=$(sed -n 's|^demo: vigil serve (pid [0-9]*) listens on http://127\.0\.0\.1:\([0-9]*\);.*|\1|p' "$out3")
st=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:${sport:-1}/readyz")
[ "$st" = 200 ] && ok "waiting: the server answers /readyz meanwhile" || not_ok "waiting: /readyz $st"
# the curl lines it printed work as they are
line=$(grep "^curl .*/performance?" "$out3" | head -n 1)
if [ -n "$line" ] && sh -c "$line" 2>/dev/null | jq -e '.labeled_rows == 617 and (.groups | length) == 2' >/dev/null 2>&1; then
	ok "waiting: the printed curl line for performance answers (617 labelled rows, 2 sexes)"
else
	not_ok "waiting: the printed curl line: $line"
fi
# the alerts part: list, make an oncall token, acknowledge
line=$(grep "^curl .*/v1/alerts?state=firing&model=heart'" "$out3" | head -n 1)
if [ -n "$line" ] && sh -c "$line" 2>/dev/null |
	jq -e '(.alerts | length) >= 1 and all(.alerts[]; .state == "firing" and .model == "heart")' >/dev/null 2>&1; then
	ok "waiting: the printed curl line lists the firing alerts"
else
	not_ok "waiting: the printed list line: $line"
fi
line=$(grep "vigil token create --role oncall --name YOUR-NAME$" "$out3" | head -n 1)
if [ -n "$line" ] && sh -c "$(printf '%s' "$line" | sed 's/YOUR-NAME$/it-oncall/')" 2>/dev/null |
	grep -Eq '^vgl_'; then
	ok "waiting: the printed vigil token create line makes an oncall token"
else
	not_ok "waiting: the printed token line: $line"
fi
line=$(grep "^curl -s -X POST .*/v1/alerts/[0-9]*/ack'" "$out3" | head -n 1)
aid=$(printf '%s' "$line" | sed -n 's|.*/v1/alerts/\([0-9]*\)/ack.*|\1|p')
oname=$(sed -n 's/^# the demo made an oncall token, "\([^"]*\)".*/\1/p' "$out3")
if [ -n "$line" ] && [ -n "$oname" ] && sh -c "$line" 2>/dev/null >"$it_tmp/ack.json" &&
	jq -e --arg by "$oname" --argjson id "${aid:-0}" '.id == $id and .state == "acknowledged" and
	.acknowledged.by == $by and (.acknowledged.note | length) > 0' "$it_tmp/ack.json" >/dev/null; then
	ok "waiting: the printed ack line acknowledges alert $aid as $oname"
else
	not_ok "waiting: the printed ack line: $line"
	cat "$it_tmp/ack.json" 2>/dev/null
fi
line=$(grep "^curl .*/v1/alerts/[0-9]*' | jq .events$" "$out3" | head -n 1)
if [ -n "$line" ] && sh -c "$line" 2>/dev/null | jq -e 'any(.[]; tostring | test("acknowledged"))' >/dev/null 2>&1; then
	ok "waiting: the printed history line shows the acknowledgement"
else
	not_ok "waiting: the printed history line: $line"
fi
kill -INT "$d3"
it_wait_exit "$d3" 30
[ "$it_status" = 130 ] && ok "waiting: SIGINT ends the demo (status 130)" ||
	not_ok "waiting: the demo's status after SIGINT: $it_status"
check_stopped "waiting" "$out3"
if [ -f "$var3/pg/data/PG_VERSION" ] && [ ! -f "$var3/pg/data/postmaster.pid" ]; then
	ok "waiting: its PostgreSQL is stopped"
else
	not_ok "waiting: its PostgreSQL still runs"
	"$top_srcdir/scripts/pg.sh" stop "$var3/pg" >/dev/null 2>&1
fi
finish
