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
#      token, `vigil serve` on 127.0.0.1:8080 (another free port when that one is taken), the
#      model registered with sex and site as segments, Cleveland uploaded as the labelled
#      reference, the other three sites streamed in as production predictions followed by
#      their labels; then the drift against Cleveland and the performance per sex and per
#      site as the API answers them, and curl lines (with the token) to ask again.
# It then waits until Ctrl-C, which stops everything it started (the server, and the
# cluster if it started it). With --no-wait (or DEMO_NO_WAIT=1) it prints everything and
# stops at once: for CI and tests/integration/demo.sh.
#
# Environment:
#   VIGIL_DATABASE_URL  use this database instead of a private cluster
#   DEMO_VAR            the state directory (default ./var: var/pg holds the cluster,
#                       var/serve.log the server's log)
#   DEMO_PORT           the port to try first (default 8080)
#   DEMO_VIGIL          an already built vigil binary: skips the install and the build
#   DEMO_OFFLINE=0      skip part 1
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
token=$("$vigil" token create --role admin --name "demo-$(date -u +%Y%m%dT%H%M%S)-$$" \
	--database "$db" 2>/dev/null)
case $token in
vgl_*) ;;
*)
	echo "demo: could not create a token" >&2
	exit 1
	;;
esac

# start vigil serve on PORT; 0 when it listens, 1 when the port is taken, 2 otherwise
serve_on() {
	: >"$var/serve.log"
	"$vigil" serve --listen "127.0.0.1:$1" --database "$db" >>"$var/serve.log" 2>&1 &
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
 "segments": ["sex", "site"]}
JSON
api POST /v1/models -H 'Content-Type: application/json' --data-binary @"$tmp/model.json"
echo "demo: model \"heart\" registered (segments: sex, site)"

# The fixtures' columns: site,age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,
# slope,ca,thal,num,target,score,sex_label. Production: the three sites one after the other
# over three days from 2024-03-01T00:00:00Z, one prediction every 7 minutes; ids are
# site-row. Fixed times and ids make a second run idempotent: the same records come back as
# duplicates and the answers are the same. to_csv FILE KIND FIRST writes what vigil takes:
# KIND ref (with label, no ts), pred or label; FIRST is the index of the file's first row.
start=$(date -u -d 2024-03-01T00:00:00Z +%s)
step=420
to_csv() { # FILE KIND FIRST-INDEX
	perl -e '
use strict; use warnings; use POSIX qw(strftime);
my ($file, $kind, $first, $start, $step) = @ARGV;
open(my $in, "<", $file) or die "$file: $!\n";
<$in>;
my $feat = "age,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal";
print $kind eq "ref" ? "id,score,label,$feat,sex,site\n" :
	$kind eq "pred" ? "id,ts,score,$feat,sex,site\n" : "prediction_id,label,ts\n";
my $i = 0;
while (my $line = <$in>) {
	chomp $line;
	my @c = split /,/, $line, -1;
	my $id = "$c[0]-" . ++$i;
	my $ts = strftime("%Y-%m-%dT%H:%M:%SZ", gmtime($start + ($first + $i - 1) * $step));
	my $f = join(",", @c[1, 3 .. 13]);
	print $kind eq "ref" ? "$id,$c[16],$c[15],$f,$c[17],$c[0]\n" :
		$kind eq "pred" ? "$id,$ts,$c[16],$f,$c[17],$c[0]\n" : "$id,$c[15],$ts\n";
}' "$1" "$2" "$3" "$start" "$step"
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
to=$(date -u -d "@$((start + first * step))" +%Y-%m-%dT%H:%M:%SZ)
q="from=$from&to=$to"

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
