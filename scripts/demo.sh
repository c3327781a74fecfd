#!/bin/sh
# scripts/demo.sh - set up vigil and run it on real data: the offline commands, then the monitor
#
#   scripts/demo.sh [--no-wait]
#
# Installs the Debian packages (as root; scripts/deps.sh), builds vigil (_build/release), and
# shows it on the UCI heart-disease data: a model validated at the Cleveland Clinic and
# deployed at three other hospitals (Budapest, Zurich/Basel, VA Long Beach).
#   1. offline: vigil drift / perf / estimate on the CSV files
#   2. the monitor: a private PostgreSQL cluster under ./var (initdb on the first run, Unix
#      socket, a free loopback port, no root or system service needed), migrations, an admin
#      and an oncall token, `vigil serve` on 127.0.0.1:8080 (another free port when that one
#      is taken), the model registered with sex and site as segments and hourly windows
#      (lateness 10 minutes), Cleveland uploaded as the labelled reference, the other three
#      sites streamed in as production predictions followed by their labels, timed as if
#      they had been scored over the six hours before the current one; then the drift
#      against Cleveland and the performance per sex and per site as the API answers them.
#   3. the scheduler, on the real clock: it waits (at most DEMO_EVAL_WAIT s) until the six
#      closed windows are evaluated, prints them and the firing alerts the default rules
#      raised (severity, rule, feature, segment, the values and intervals that breached),
#      and the curl lines (with the tokens) to ask again and to list, acknowledge and
#      resolve an alert.
# It then waits until Ctrl-C, which stops everything it started (the server, and the
# cluster if it started it). With --no-wait (or DEMO_NO_WAIT=1) it prints everything and
# stops at once: for CI and tests/integration/demo.sh.
#
# Environment:
#   VIGIL_DATABASE_URL  use this database instead of a private cluster
#   DEMO_VAR            the state directory (default ./var: var/pg holds the cluster,
#                       var/serve.log the server's log, var/serve.conf its settings)
#   DEMO_PORT           the port to try first (default 8080)
#   DEMO_VIGIL          an already built vigil binary: skips the install and the build
#   DEMO_OFFLINE=0      skip part 1
#   DEMO_EVAL_WAIT      how long to wait for the scheduler, in seconds (default 180)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

no_wait=${DEMO_NO_WAIT:-0}
for a in "$@"; do
	case $a in
	--no-wait) no_wait=1 ;;
	-h | --help)
		sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "usage: scripts/demo.sh [--no-wait]" >&2
		exit 2
		;;
	esac
done
[ "$no_wait" = 1 ] || [ "$no_wait" = 0 ] || no_wait=1

if [ -n "${DEMO_VIGIL:-}" ]; then
	vigil=$DEMO_VIGIL
else
	scripts/deps.sh
	echo "== building vigil (_build/release)"
	scripts/build.sh _build/release
	vigil=$top/_build/release/vigil
fi
for tool in curl jq; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "demo: $tool is needed (scripts/deps.sh installs it)" >&2
		exit 1
	}
done
fx=$top/tests/fixtures
VIGIL_SQLDIR=$top/sql
export VIGIL_SQLDIR

# --- 1. offline ---------------------------------------------------------------------------------
if [ "${DEMO_OFFLINE:-1}" != 0 ]; then
	cols=age,sex,cp,trestbps,chol,thalach,exang,oldpeak,score
	for site in hungarian switzerland va; do
		echo
		echo "== vigil drift: reference cleveland, current $site"
		"$vigil" drift --reference "$fx/heart_cleveland.csv" --current "$fx/heart_$site.csv" \
			--columns "$cols" --categorical sex,cp,exang --mmd
	done
	echo
	echo "== vigil perf: the Cleveland-fitted model on all four sites, by site and by sex"
	"$vigil" perf --input "$fx/heart_scored.csv" --score score --label target \
		--by site,sex_label --intersections
	for site in hungarian va; do
		echo
		echo "== vigil estimate: label-free performance at $site (calibrated on cleveland)"
		echo "   (the file has labels, so the realised values are shown beside the estimate)"
		"$vigil" estimate --reference "$fx/heart_cleveland.csv" --current "$fx/heart_$site.csv" \
			--score score --label target --by sex_label --min-n 20
	done
fi

# --- 2. the monitor -------------------------------------------------------------------------------
echo
echo "== the monitor: vigil serve with PostgreSQL"
var=${DEMO_VAR:-$top/var}
mkdir -p "$var"
var=$(cd "$var" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-demo.XXXXXX")
serve_pid=
pg_dir=
pg_started=0

cleanup() {
	trap - EXIT INT TERM HUP
	if [ -n "$serve_pid" ] && kill -0 "$serve_pid" 2>/dev/null; then
		kill -TERM "$serve_pid" 2>/dev/null || true
		i=0
		while kill -0 "$serve_pid" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$serve_pid" 2>/dev/null || true
		wait "$serve_pid" 2>/dev/null || true
		echo "demo: stopped vigil serve (pid $serve_pid)"
	fi
	if [ "$pg_started" = 1 ]; then
		"$top/scripts/pg.sh" stop "$pg_dir" >/dev/null 2>&1 || true
		echo "demo: stopped PostgreSQL ($pg_dir)"
	fi
	rm -f "$var/serve.pid"
	rm -rf "$tmp"
}
trap 'cleanup' EXIT
trap 'echo; exit 130' INT
trap 'exit 143' TERM HUP

if [ -n "${VIGIL_DATABASE_URL:-}" ]; then
	db=$VIGIL_DATABASE_URL
	echo "demo: using the database in VIGIL_DATABASE_URL"
else
	pg_dir=$var/pg
	if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1 &&
		! runuser -u postgres -- test -x "$var"; then
		# initdb refuses root, and user postgres cannot reach a checkout under /root
		pg_dir=/var/tmp/vigil-demo-pg-$(printf '%s' "$var" | cksum | cut -d' ' -f1)
		echo "demo: user postgres cannot reach $var; the cluster goes to $pg_dir"
	fi
	# a cluster that already runs (started by hand) is left running at the end
	if [ -s "$pg_dir/url" ] && [ -f "$pg_dir/data/postmaster.pid" ] &&
		"$top/scripts/pg.sh" url "$pg_dir" >/dev/null 2>&1 &&
		psql "$(cat "$pg_dir/url")" -XAtqc 'SELECT 1' >/dev/null 2>&1; then
		echo "demo: PostgreSQL already runs in $pg_dir; leaving it running"
	else
		[ -f "$pg_dir/data/PG_VERSION" ] || echo "demo: creating a PostgreSQL cluster in $pg_dir (initdb)"
		pg_started=1
	fi
	db=$("$top/scripts/pg.sh" start "$pg_dir")
	echo "demo: PostgreSQL at $db"
fi
"$vigil" migrate --database "$db"
# An older demo registered "heart" with daily windows; a name keeps its settings for good
# (registering it again with others is a conflict), so its private database starts afresh.
old=$(psql "$db" -XAtqc "SELECT evaluation_period <> interval '1 hour' OR lateness <> interval
	'10 minutes' FROM models WHERE name = 'heart'" 2>/dev/null || true)
if [ "$old" = t ]; then
	if [ -z "$pg_dir" ]; then
		echo "demo: the database in VIGIL_DATABASE_URL has a model \"heart\" registered with other" \
			"evaluation settings (by an older demo?); point VIGIL_DATABASE_URL at another database" >&2
		exit 1
	fi
	echo "demo: $pg_dir holds an older demo's \"heart\" model (daily windows); its database is created afresh"
	psql "${db%/vigil}/postgres" -XAtq -c 'DROP DATABASE vigil WITH (FORCE)' \
		-c 'CREATE DATABASE vigil' >/dev/null
	"$vigil" migrate --database "$db"
fi
stamp=$(date -u +%Y%m%dT%H%M%S)
mktoken() { # ROLE NAME
	t=$("$vigil" token create --role "$1" --name "$2" --database "$db" 2>/dev/null) || t=
	case $t in
	vgl_*) echo "$t" ;;
	*)
		echo "demo: could not create a $1 token" >&2
		return 1
		;;
	esac
}
token=$(mktoken admin "demo-$stamp-$$")
oncall_name=demo-oncall-$stamp-$$
oncall=$(mktoken oncall "$oncall_name")
# The demo replays six hours of predictions in a few seconds: the scheduler is off while
# they arrive (evaluation_interval_s = 0 here), so that it sees every window whole, as it
# would have live, and is switched on (SIGHUP re-reads this file) once all are in.
printf '# written by scripts/demo.sh\nevaluation_interval_s = 0\n' >"$var/serve.conf"

# start vigil serve on PORT; 0 when it listens, 1 when the port is taken, 2 otherwise
serve_on() {
	: >"$var/serve.log"
	"$vigil" serve --listen "127.0.0.1:$1" --database "$db" --config "$var/serve.conf" \
		>>"$var/serve.log" 2>&1 &
	serve_pid=$!
	echo "$serve_pid" >"$var/serve.pid"
	i=0
	while [ $i -lt 300 ]; do
		if grep -q 'listening on http://' "$var/serve.log"; then
			return 0
		fi
		if ! kill -0 "$serve_pid" 2>/dev/null; then
			wait "$serve_pid" 2>/dev/null || true
			serve_pid=
			grep -q 'could not listen' "$var/serve.log" && return 1
			return 2
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 2
}
want=${DEMO_PORT:-8080}
rc=0
serve_on "$want" || rc=$?
if [ "$rc" = 1 ]; then
	rc=0
	serve_on 0 || rc=$?
	[ "$rc" = 0 ] && echo "demo: port $want is busy; vigil serve took a free port instead"
fi
if [ "$rc" != 0 ]; then
	echo "demo: vigil serve did not start; its log says:" >&2
	tail -n 20 "$var/serve.log" >&2
	exit 1
fi
port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$var/serve.log" | tail -n 1)
base=http://127.0.0.1:$port
echo "demo: vigil serve (pid $serve_pid) listens on $base; its log is $var/serve.log"

# api METHOD PATH [curl args]: one request; the body goes to $tmp/out; fails on >= 400
api() {
	m=$1 p=$2
	shift 2
	st=$(curl -s -m 60 -o "$tmp/out" -w '%{http_code}' -X "$m" \
		-H "Authorization: Bearer $token" "$@" "$base$p")
	case $st in
	2??) return 0 ;;
	esac
	echo "demo: $m $p answered $st:" >&2
	head -c 600 "$tmp/out" >&2
	echo >&2
	return 1
}

# the model: the heart-disease features; sex (male/female) and site are segments
cat >"$tmp/model.json" <<'JSON'
{"name": "heart", "version": "cleveland-logreg-1", "threshold": 0.5, "positive_label": "1",
 "features": [{"name": "age", "type": "numeric"}, {"name": "cp", "type": "categorical"},
  {"name": "trestbps", "type": "numeric"}, {"name": "chol", "type": "numeric"},
  {"name": "fbs", "type": "numeric"}, {"name": "restecg", "type": "categorical"},
  {"name": "thalach", "type": "numeric"}, {"name": "exang", "type": "numeric"},
  {"name": "oldpeak", "type": "numeric"}, {"name": "slope", "type": "categorical"},
  {"name": "ca", "type": "numeric"}, {"name": "thal", "type": "categorical"}],
 "segments": ["sex", "site"], "evaluation_period": "1h", "lateness": "10m"}
JSON
api POST /v1/models -H 'Content-Type: application/json' --data-binary @"$tmp/model.json"
echo "demo: model \"heart\" registered (segments: sex, site; evaluated in windows of an hour, each"
echo "      10 minutes after it ends: the time it waits for late predictions)"

# The fixtures' columns: site,age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,
# slope,ca,thal,num,target,score,sex_label. Production: the three sites one after the other
# as if they had been scored over the six hours (windows) before the current one, at an
# even rate (617 predictions: 103 an hour), so the last window ended at least the lateness
# ago and every window is closed and due when the scheduler looks: the window of
# prediction i is the hour i / 103 after the start. Ids are site-row-start. A second run
# on the same database sends the first run's records again (duplicates: the same answers);
# the hours after them got no predictions, so their windows are empty (and vigil pages
# about it, as it would for a feed that stopped). to_csv FILE KIND FIRST writes what vigil takes:
# KIND ref (with label, no ts), pred or label; FIRST is the index of the file's first row.
nwin=6 period=3600 lateness=600
nprod=0
for site in hungarian switzerland va; do
	nprod=$((nprod + $(wc -l <"$fx/heart_$site.csv") - 1))
done
perhour=$(((nprod + nwin - 1) / nwin))
now=$(date -u +%s)
start=$(((now - lateness) / period * period - nwin * period))
# an earlier run's predictions (its first at the start of an hour): send the same again
prev=$(psql "$db" -XAtqc "SELECT extract(epoch FROM min(p.ts))::int8 FROM predictions p JOIN
	models m ON m.id = p.model_id WHERE m.name = 'heart'" 2>/dev/null || true)
case $prev in
'' | *[!0-9]*) ;;
*)
	if [ $((prev % period)) = 0 ] && [ "$prev" -lt "$start" ]; then
		start=$prev
		echo "demo: the database holds an earlier run's predictions (from" \
			"$(date -u -d "@$start" +%Y-%m-%dT%H:%MZ)): the same are sent again; the hours since" \
			"got none, so their windows are empty"
	fi
	;;
esac
tag=$(date -u -d "@$start" +%Y%m%dT%H%M)
to_csv() { # FILE KIND FIRST-INDEX
	perl -e '
use strict; use warnings; use POSIX qw(strftime);
my ($file, $kind, $first, $start, $period, $perhour, $tag) = @ARGV;
open(my $in, "<", $file) or die "$file: $!\n";
<$in>;
my $feat = "age,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal";
print $kind eq "ref" ? "id,score,label,$feat,sex,site\n" :
	$kind eq "pred" ? "id,ts,score,$feat,sex,site\n" : "prediction_id,label,ts\n";
my $i = 0;
while (my $line = <$in>) {
	chomp $line;
	my @c = split /,/, $line, -1;
	my $id = "$c[0]-" . ++$i . "-$tag";
	my $ts = strftime("%Y-%m-%dT%H:%M:%SZ",
		gmtime($start + int(($first + $i - 1) * $period / $perhour)));
	my $f = join(",", @c[1, 3 .. 13]);
	print $kind eq "ref" ? "$id,$c[16],$c[15],$f,$c[17],$c[0]\n" :
		$kind eq "pred" ? "$id,$ts,$c[16],$f,$c[17],$c[0]\n" : "$id,$c[15],$ts\n";
}' "$1" "$2" "$3" "$start" "$period" "$perhour" "$tag"
}

api GET /v1/models/heart/references
if jq -e '[.references[] | select(.active and .kind == "upload" and .rows == 303)] | length == 1' \
	"$tmp/out" >/dev/null; then
	echo "demo: Cleveland is the active reference already: $(jq -r '.references[] | select(.active) | "reference \(.id), \(.rows) rows"' "$tmp/out")"
else
	to_csv "$fx/heart_cleveland.csv" ref 0 >"$tmp/ref.csv"
	api POST /v1/models/heart/references -H 'Content-Type: text/csv' --data-binary @"$tmp/ref.csv"
	echo "demo: Cleveland uploaded as the labelled reference: $(jq -r '"reference \(.reference.id), \(.reference.rows) rows"' "$tmp/out")"
fi

first=0
: >"$tmp/windows"
for site in hungarian switzerland va; do
	n=$(($(wc -l <"$fx/heart_$site.csv") - 1))
	to_csv "$fx/heart_$site.csv" pred $first >"$tmp/$site.pred.csv"
	to_csv "$fx/heart_$site.csv" label $first >"$tmp/$site.label.csv"
	# stream: batches of 50 predictions, the labels of each batch right after it
	acc=0 dup=0 lacc=0 off=2
	while [ $off -le $((n + 1)) ]; do
		sed -n "1p; ${off},$((off + 49))p" "$tmp/$site.pred.csv" >"$tmp/batch.csv"
		sed -n "1p; ${off},$((off + 49))p" "$tmp/$site.label.csv" >"$tmp/lbatch.csv"
		api POST /v1/models/heart/predictions -H 'Content-Type: text/csv' --data-binary @"$tmp/batch.csv"
		a=$(jq '.accepted' "$tmp/out")
		d=$(jq '.duplicates' "$tmp/out")
		api POST /v1/models/heart/labels -H 'Content-Type: text/csv' --data-binary @"$tmp/lbatch.csv"
		l=$(jq '.accepted + .duplicates' "$tmp/out")
		acc=$((acc + a)) dup=$((dup + d)) lacc=$((lacc + l)) off=$((off + 50))
	done
	from=$(sed -n '2p' "$tmp/$site.pred.csv" | cut -d, -f2)
	last=$(sed -n '$p' "$tmp/$site.pred.csv" | cut -d, -f2)
	to=$(date -u -d "@$(($(date -u -d "$last" +%s) + 1))" +%Y-%m-%dT%H:%M:%SZ)
	echo "$site $from $to" >>"$tmp/windows"
	echo "demo: streamed $site: $((acc + dup)) predictions ($from .. $last$([ "$dup" -gt 0 ] && echo "; $dup were stored already")), then $lacc labels"
	first=$((first + n))
done
from=$(date -u -d "@$start" +%Y-%m-%dT%H:%M:%SZ)
to=$(date -u -d "@$((start + nwin * period))" +%Y-%m-%dT%H:%M:%SZ)
q="from=$from&to=$to"
# everything is in: the scheduler on (evaluation_interval_s back to its default, 5 s)
printf '# written by scripts/demo.sh\n' >"$var/serve.conf"
kill -HUP "$serve_pid"
echo "demo: the scheduler is on now (SIGHUP): it evaluates the $nwin closed windows by itself"

# --- what the API says ---------------------------------------------------------------------------
echo
echo "== GET /v1/models/heart/drift: the three sites ($from .. $to) against Cleveland"
api GET "/v1/models/heart/drift?$q"
jq -r '
def f: if . == null then "-" elif . != 0 and (. | fabs) < 0.001
  then (. | fabs | log10 | floor) as $e | "\(. / pow(10; $e) * 10 | round / 10)e\($e)"
  else "\(. * 1000 | round / 1000)" end;
"reference rows \(.reference_rows), window rows \(.current_rows); drift when the BH q-value < 0.05",
"  feature    type         test   statistic   p-value    q-value   PSI    drift",
(.features[] | "  \(.name | .[0:10] | . + " " * (10 - length)) \(.type | . + " " * (12 - length)) " +
  (if .type == "numeric" then "KS     \(.ks.statistic | f | . + " " * (10 - length))  \(.ks.p_value | f | . + " " * (9 - length))"
   else "chi2   \(.chi_square.statistic | f | . + " " * (10 - length))  \(.chi_square.p_value | f | . + " " * (9 - length))" end) +
  "  \(.q_value | f | . + " " * (9 - length)) \(.psi.value | f | . + " " * (6 - length)) \(if .drift then "DRIFT" else "-" end)")' "$tmp/out"
echo
echo "   per site (each site streamed in its own time range):"
while read -r site sfrom sto; do
	api GET "/v1/models/heart/drift?from=$sfrom&to=$sto"
	jq -r --arg s "$site" '"   \($s | . + " " * (12 - length)) \(.current_rows) rows: drift in \([.features[] | select(.drift) | .name] | if length == 0 then "nothing" else join(", ") end)"' "$tmp/out"
done <"$tmp/windows"

perf_table() { # the groups of a performance answer in $tmp/out
	jq -r '
def r: if . == null then "-" else "\(. * 1000 | round / 1000)" end;
def m(x): if x == null then "-" else "\(x.value | r) [\(x.ci_low | r), \(x.ci_high | r)]" end;
def pad(n): . + " " * (n - length);
"  group              n    prev   AUROC [95% CI]        sensitivity [95% CI]  specificity [95% CI]",
(([{attribute: "all", value: "", n: .overall.n, prevalence: .overall.prevalence, auroc: .overall.auroc, sensitivity: .overall.sensitivity, specificity: .overall.specificity, insufficient_data: .overall.insufficient_data}] + .groups)[] |
  "  \((.attribute + (if .value != "" then "=" + .value else "" end)) | pad(16)) \(.n | tostring | pad(4)) \(.prevalence | r | pad(6)) " +
  (if .insufficient_data then "insufficient data (n = \(.n))" else "\(m(.auroc) | pad(21)) \(m(.sensitivity) | pad(21)) \(m(.specificity))" end))' "$tmp/out"
}
echo
echo "== GET /v1/models/heart/performance?by=sex: the realised performance per sex"
api GET "/v1/models/heart/performance?$q&by=sex"
jq -r '"labelled rows \(.labeled_rows) of \(.rows); threshold \(.parameters.threshold // 0.5)"' "$tmp/out" 2>/dev/null || true
perf_table
echo
echo "== GET /v1/models/heart/performance?by=site: and per site"
api GET "/v1/models/heart/performance?$q&by=site"
perf_table
echo
echo "== GET /v1/models/heart/estimate?by=sex: what the model's performance looked like before the labels"
if api GET "/v1/models/heart/estimate?$q&by=sex"; then
	jq -r '
def r: if . == null then "-" else "\(. * 1000 | round / 1000)" end;
def e(x; k): if x[k] == null then "-" else "\(x[k].value | r) [\(x[k].ci_low | r), \(x[k].ci_high | r)]" end;
def pad(n): . + " " * (n - length);
"  group          AUROC: estimate [95% CI]  realised   sensitivity: estimate [95% CI]  realised",
(([{attribute: "all", value: ""} + .overall] + .groups)[] |
  "  \((.attribute + (if .value != "" then "=" + .value else "" end)) | pad(14)) " +
  (if .insufficient_data then "insufficient data (n = \(.n))" else
   "\(e(.; "auroc") | pad(25)) \(.realized.auroc | r | pad(10)) \(e(.; "sensitivity") | pad(31)) \(.realized.sensitivity | r)" end))' "$tmp/out"
fi

# --- the scheduler: windows evaluated, alerts -------------------------------------------------------
echo
echo "== the scheduler: the windows it evaluated"
wait_s=${DEMO_EVAL_WAIT:-180}
echo "demo: waiting for the scheduler to evaluate the $nwin windows $from .. $to (at most $wait_s s)"
t0=$(date +%s)
settled=0
while :; do
	# settled: the windows reach the one holding now, every window whose end + lateness
	# has passed is evaluated, and none is flagged or being evaluated
	api GET "/v1/models/heart/windows?from=$from&limit=10000"
	if jq -e --arg to "$to" --argjson n "$nwin" --argjson now "$(date -u +%s)" \
		--argjson late "$lateness" '([.windows[] | select(.start < $to and
		.state == "done")] | length) == $n and any(.windows[]; (.start | fromdateiso8601)
		<= $now and $now < (.end | fromdateiso8601)) and all(.windows[]; ((.end |
		fromdateiso8601) + $late > $now or .state == "done") and (.needs_reeval | not) and
		(.claimed | not))' "$tmp/out" >/dev/null; then
		settled=1
		break
	fi
	[ $(($(date +%s) - t0)) -lt "$wait_s" ] || break
	sleep 1
done
cp "$tmp/out" "$tmp/windows.json"
if [ "$settled" = 1 ]; then
	# the alert rules run right after each window's results are stored: wait until two
	# answers a second apart agree (at most 30 s)
	api GET "/v1/alerts?model=heart&limit=1000"
	i=0
	while [ $i -lt 30 ]; do
		mv "$tmp/out" "$tmp/alerts.prev"
		sleep 1
		api GET "/v1/alerts?model=heart&limit=1000"
		cmp -s "$tmp/out" "$tmp/alerts.prev" && break
		i=$((i + 1))
	done
	echo "demo: evaluated in $(($(date +%s) - t0)) s"
else
	echo "demo: the scheduler has not evaluated all $nwin windows after $wait_s s; what it did so far" \
		"is below, its log is $var/serve.log" >&2
fi
jq -r '
def r: if . == null then "-" else "\(. * 1000 | round / 1000)" end;
def pad(n): tostring | . + " " * (n - length);
def hm: .[11:16];
"  window (UTC)             state  rows  labelled  status       evaluations  took",
(.windows[] | select(.start < $to) | "  \(.start[0:10]) \(.start | hm)-\(.end | hm)   \(.state | pad(6)) \(.rows // "-" | pad(5)) \(.labeled // "-" | pad(9)) \(.status // "-" | pad(12)) \(.evaluations | pad(12)) \(if .duration_ms == null then "-" else "\(.duration_ms / 1000 | r) s" end)\(if .last_error then "  error: \(.last_error)" else "" end)"),
([.windows[] | select(.start >= $to)] | select(length > 0) |
  "  and \(length) after them, with no predictions: \([.[] | select(.state == "done")] | length) evaluated (volume 0), \([.[] | select(.state == "open")] | length) open")' \
	--arg to "$to" "$tmp/windows.json"

echo
echo "== GET /v1/alerts?state=firing&model=heart: what the alert rules raised on those windows"
api GET "/v1/alerts?state=firing&model=heart&limit=1000"
cp "$tmp/out" "$tmp/firing.json"
jq -r '
def sig: if . == null then "-" elif . != 0 and (. | fabs) < 0.001
  then (. | fabs | log10 | floor) as $e | "\(. / pow(10; $e) * 10 | round / 10)e\($e)"
  else "\(. * 1000 | round / 1000)" end;
def pad(n): tostring | . + " " * (n - length);
def when: .[5:10] + " " + .[11:16];
def rank: {"page": 0, "ticket": 1, "info": 2}[.] // 3;
def cond: if .condition == "above" then "> \(.threshold | sig)"
  elif .condition == "below" then "< \(.threshold | sig)"
  elif .condition == "ci_below" then "interval wholly below \(.threshold | sig)"
  elif .condition == "ci_above" then "interval wholly above \(.threshold | sig)"
  elif .condition == "q_below" then "q \(.q_value | sig) < \(.threshold | sig)"
  else "\(.condition) \(.threshold | sig)" end;
def val: "\(.metric) \(.value | sig)" + (if .condition == "q_below" then "," else "" end) +
  (if .ci_low != null then " [\(.ci_low | sig), \(.ci_high | sig)]" else "" end) + " " + cond +
  (if .reference != null then " (reference \(.reference | sig)\(if .offset == null or .offset == 0 then ""
     elif .offset < 0 then " - \(-.offset | sig)" else " + \(.offset | sig)" end))" else "" end) +
  ", n \(.n)\(if .n_reference != null then " vs \(.n_reference)" else "" end)" +
  (if .method != null then ", \(.method)" else "" end);
(.alerts | length) as $n |
if $n == 0 then "  no alert is firing" else
"  \($n) firing: \([.alerts[] | select(.severity == "page")] | length) page(s), \([.alerts[] | select(.severity == "ticket")] | length) ticket(s); the values are those of the newest breaching window",
"  id   severity  rule                        scope        feature   segment          breaching windows, first .. last (ends, UTC)",
(.alerts | sort_by((.severity | rank), .id)[] |
  "  \(.id | pad(4)) \(.severity | pad(9)) \(.rule | pad(27)) \(.scope | pad(12)) \(.feature // "-" | pad(9)) \(if .segment == null then "all" else "\(.segment)=\(.segment_value)" end | pad(16)) \(.first_breach | when) .. \(.last_breach | when)\(if .consecutive_clean > 0 then " (then \(.consecutive_clean) clean)" else "" end)\(if .silenced then ", silenced" else "" end)\(if .inhibited then ", inhibited" else "" end)",
  (.breached.values[] | select(.breach) | "         \(val)"))
end' "$tmp/firing.json"
last_hm=$(date -u -d "@$((start + nwin * period))" +%H:%M)
if jq -e '[.alerts[] | select(.severity == "page")] | length == 0' "$tmp/firing.json" >/dev/null; then
	echo "  No page: the default rules page when the sensitivity (realised, or estimated before"
	echo "  the labels) has its whole interval below Cleveland's less 0.05 in two windows running,"
	echo "  or when a window holds under half the predictions expected; these windows show"
	echo "  neither. The drift is a ticket: the inputs moved; the model has not failed (yet)."
fi
if jq -e 'any(.alerts[]; .rule == "volume-drop")' "$tmp/firing.json" >/dev/null; then
	echo "  volume-drop: the demo sent no predictions after $last_hm, so the windows since are"
	echo "  empty and vigil pages, as it would for a feed that stopped. While it fires, the drift"
	echo "  alerts are inhibited (within a minute): still firing, no longer announced, for a"
	echo "  broken feed makes drift noise."
elif jq -e --arg to "$to" 'any(.windows[]; .start == $to and .state == "open")' \
	"$tmp/windows.json" >/dev/null; then
	next_due=$(date -u -d "@$((start + (nwin + 1) * period + lateness))" +%H:%M)
	echo "  The demo sends no predictions after $last_hm: the next window will be empty, and once"
	echo "  it is due ($next_due UTC) vigil pages (volume-drop), as it would for a feed that stopped."
fi
alert=$(jq -r 'def rank: {"page": 0, "ticket": 1, "info": 2}[.] // 3;
	[.alerts | sort_by((.severity | rank), .id)[] | .id][0] // empty' "$tmp/firing.json")
echo
echo "== acknowledge or resolve an alert: role oncall (or admin)"
echo "# the demo made an oncall token, \"$oncall_name\"; give each person on call"
echo "# one of their own, its name is recorded as who acknowledged (it is printed once):"
echo "VIGIL_DATABASE_URL='$db' $vigil token create --role oncall --name YOUR-NAME"
echo "# list the firing alerts (any role from viewer up):"
echo "curl -s -H 'Authorization: Bearer $token' '$base/v1/alerts?state=firing&model=heart' | jq ."
if [ -n "$alert" ]; then
	echo "# acknowledge alert $alert (a note is required): it stays active but is marked as being"
	echo "# dealt with, and the receivers are told (the demo configures none: its notifications"
	echo "# stay in the outbox; see Notifications in docs/service.md)"
	echo "curl -s -X POST -H 'Authorization: Bearer $oncall' -H 'Content-Type: application/json' -d '{\"note\": \"seen: the new sites differ from Cleveland; checking their feeds\"}' '$base/v1/alerts/$alert/ack' | jq ."
	echo "# resolve it by hand once dealt with (vigil resolves it by itself after the rule's"
	echo "# clean windows, 2 for drift; it reopens if the breaches come back):"
	echo "curl -s -X POST -H 'Authorization: Bearer $oncall' -H 'Content-Type: application/json' -d '{\"note\": \"expected: a new site\"}' '$base/v1/alerts/$alert/resolve' | jq ."
	echo "# its history (the events: firing, acknowledged, resolved, with who and the notes):"
	echo "curl -s -H 'Authorization: Bearer $token' '$base/v1/alerts/$alert' | jq .events"
fi
echo "# (vigil alerts has no list or ack: \`vigil alerts evaluate --model heart --window ID\`"
echo "#  re-runs the rules on a stored window, \`vigil alerts refresh\` re-applies silences)"

echo
echo "== ask again (the token is an admin token; \`vigil token create --role viewer\` makes a read-only one)"
echo "curl -s -H 'Authorization: Bearer $token' '$base/v1/models/heart/drift?$q' | jq ."
echo "curl -s -H 'Authorization: Bearer $token' '$base/v1/models/heart/performance?$q&by=sex' | jq ."
echo "curl -s -H 'Authorization: Bearer $token' '$base/v1/models/heart/estimate?$q&by=sex' | jq ."
echo "curl -s '$base/metrics' | grep ^vigil_"
if [ "$no_wait" = 1 ]; then
	echo
	echo "demo: --no-wait: stopping"
	exit 0
fi
echo
echo "demo: vigil runs at $base; press Ctrl-C to stop it$([ "$pg_started" = 1 ] && echo " and PostgreSQL")"
wait "$serve_pid" || true
serve_pid=
echo "demo: vigil serve exited; see $var/serve.log"
