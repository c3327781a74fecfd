#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/service.sh - `make bench`, service part: vigil serve's ingest beside PostgreSQL's COPY,
# GET performance latency under wrk, and the server's peak memory
#
# Run from the build directory (make bench-service does). In one run, on a private
# PostgreSQL cluster (scripts/pg.sh: fsync off, the same for both sides):
#  1. ingest: N (10^6) predictions with 16 numeric features and 3 segments, as NDJSON batches
#     of 10^4 from 2 concurrent clients (bench/ingest.sh: one curl process each, kept-alive
#     connections) into vigil serve, against psql \copy of the same rows (COPY text, same
#     digits) into the same predictions table (an empty one each time, same indexes). Ours
#     also validates every record and writes the id registry (prediction_ids) with a content
#     digest; COPY writes the rows only. Target: ours >= 50% of COPY's rows/s.
#  2. labels for all N through the API (the same way), for the record.
#  3. GET /v1/models/bench/performance?by=s1,s2 over all N labelled predictions: the time of
#     one request alone on a fresh server ("cold": computed, nothing cached), then the same
#     request again (answered from the analysis cache), then p50/p99 under wrk with 50
#     connections (-t2, --latency, a Lua script for the token) with the cache's counters
#     (computations, hits, shared): wrk repeats one URL, so after the first computation it
#     measures the cache; the cold figure is the cost of a new question or of new data.
#     The same over a window of N/10.
#  4. peak memory (VmHWM of a freshly started server): the N/10 window's performance query
#     while N predictions are stored, and again after all but those N/10 are deleted. The
#     two must be about equal (within 25% or 16 MiB): memory must not grow with the number
#     of predictions stored. A query needs the rows of its window in memory for as long as
#     it runs (about 8 + 1 + 8 + 4 * 2 bytes a row here, plus sort keys while loading), so
#     the peak after querying the whole N window, and under wrk (at most `threads` windows
#     at once), is shown beside it: that is per-request working memory, given back after
#     the answer, and bounded by max_window_rows.
# Prints a table and appends one line per figure to bench/results.txt. Exits 1 when a step
# failed or a check (row counts, equal answers) did not hold; a missed target is reported,
# not an error. Environment: VIGIL (./vigil), BENCH_SERVICE_ROWS (1000000),
# BENCH_SERVICE_BATCH (10000), BENCH_WRK_SECONDS (default: long enough for about three
# answers a connection, 30..240 s), BENCH_WRK_CONNECTIONS (50),
# BENCH_SERVICE_DATA (bench/data/service: the generated files, reused while current),
# BENCH_SERVICE_INGEST_ONLY (set: run step 1 only, print its rows and stop).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
VIGIL=${VIGIL:-$PWD/vigil}
N=${BENCH_SERVICE_ROWS:-1000000}
BATCH=${BENCH_SERVICE_BATCH:-10000}
CLIENTS=2
WRK_SECS=${BENCH_WRK_SECONDS:-}
WRK_CONNS=${BENCH_WRK_CONNECTIONS:-50}
data=${BENCH_SERVICE_DATA:-$PWD/bench/data/service}
results=$PWD/bench/results.txt
mkdir -p "$PWD/bench"
rev=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)
failed=0

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-bench-service.XXXXXX") || exit 1
chmod 755 "$tmp" # as root the cluster belongs to "postgres", who must reach it
pg=$tmp/pg
srv_pid=
cleanup() {
	if [ -n "$srv_pid" ]; then
		kill -TERM "$srv_pid" 2>/dev/null
		i=0
		while kill -0 "$srv_pid" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$srv_pid" 2>/dev/null
		wait "$srv_pid" 2>/dev/null
	fi
	"$top/scripts/pg.sh" destroy "$pg" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

die() {
	echo "bench/service.sh: $*" >&2
	exit 1
}

note() { # a step that failed but lets the rest go on
	echo "!!! $*" >&2
	echo "!!! $*" >>"$tmp/notes"
	failed=1
}

now() {
	date +%s.%N
}

get() { # KEY FILE
	awk -v k="$1" '$1 == k { print $2; exit }' "$2"
}

vmhwm() { # KiB
	awk '/^VmHWM:/ { print $2 }' "/proc/$srv_pid/status" 2>/dev/null
}

cpu_s() { # user + system seconds of PID
	awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat" 2>/dev/null
}

# user + system seconds of the cluster: its live processes (the postmaster's children) plus
# the postmaster's own and its exited children's (cutime, cstime: a psql backend that ended)
pg_cpu_s() {
	pm=$(head -n 1 "$pg/data/postmaster.pid" 2>/dev/null)
	[ -n "$pm" ] || return 0
	for f in /proc/[0-9]*/stat; do
		cat "$f" 2>/dev/null
	done | awk -v pm="$pm" -v t="$(getconf CLK_TCK)" '
		{ pid = $1; sub(/^[0-9]+ \(.*\) /, "x x ") } # the command name may hold blanks
		$4 == pm { n += $14 + $15 }
		pid == pm { n += $14 + $15 + $16 + $17 }
		END { printf "%.1f", n / t }'
}

mib() {
	awk -v k="$1" 'BEGIN { if (k == "") print "?"; else printf "%.0f", k / 1024 }'
}

for tool in curl psql perl jq; do
	command -v $tool >/dev/null 2>&1 || die "$tool is not installed (scripts/deps.sh)"
done
[ -x "$VIGIL" ] || die "no vigil binary at $VIGIL"

# --- data ---------------------------------------------------------------------------------------
want_stamp="$N $BATCH $(wc -c <"$here/gen_service.pl" | tr -d ' ')"
if [ "$(cat "$data/STAMP" 2>/dev/null)" != "$want_stamp" ]; then
	echo "service: writing $N predictions to $data (once)"
	rm -rf "$data"
	mkdir -p "$data"
	perl "$here/gen_service.pl" "$data" "$N" "$BATCH" || die "gen_service.pl failed"
fi
read -r range_from range_to <"$data/range"

# --- database and server --------------------------------------------------------------------------
db=$("$top/scripts/pg.sh" start "$pg") || die "could not start PostgreSQL"
VIGIL_SQLDIR=$top/sql
export VIGIL_SQLDIR
"$VIGIL" migrate --database "$db" >/dev/null 2>&1 || die "vigil migrate failed"
token=$("$VIGIL" token create --role admin --name bench --database "$db" 2>/dev/null) ||
	die "vigil token create failed"
sql() {
	psql "$db" -XAtqc "$1"
}

serve_start() {
	: >"$tmp/serve.log"
	"$VIGIL" serve --listen 127.0.0.1:0 --database "$db" >>"$tmp/serve.log" 2>&1 &
	srv_pid=$!
	i=0
	while ! grep -q 'listening on http://' "$tmp/serve.log"; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 "$srv_pid" 2>/dev/null; then
			cat "$tmp/serve.log" >&2
			die "vigil serve did not start"
		fi
		sleep 0.1
	done
	port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$tmp/serve.log")
	base=http://127.0.0.1:$port
	# its maintenance thread creates partitions at start: let it settle
	sleep 1
}

serve_stop() {
	kill -TERM "$srv_pid" 2>/dev/null
	wait "$srv_pid" 2>/dev/null
	srv_pid=
}

api() { # METHOD PATH [curl args]: status on stdout, body in $tmp/out
	m=$1 p=$2
	shift 2
	curl -s -m 600 -o "$tmp/out" -w '%{http_code}' -X "$m" -H "Authorization: Bearer $token" \
		"$@" "$base$p"
}

serve_start
perl -e 'print "{\"name\": \"$ARGV[0]\", \"features\": [", join(", ", map { sprintf "{\"name\": \"f%02d\", \"type\": \"numeric\"}", $_ } 1 .. 16), "], \"segments\": [\"s1\", \"s2\", \"s3\"]}"' \
	bench >"$tmp/model.json"
[ "$(api POST /v1/models -H 'Content-Type: application/json' --data-binary @"$tmp/model.json")" = 201 ] ||
	die "could not register the model: $(cat "$tmp/out")"
sed 's/"name": "bench"/"name": "bench_copy"/' "$tmp/model.json" >"$tmp/model2.json"
[ "$(api POST /v1/models -H 'Content-Type: application/json' --data-binary @"$tmp/model2.json")" = 201 ] ||
	die "could not register the second model"
mid=$(sql "SELECT id FROM models WHERE name = 'bench'")
cmid=$(sql "SELECT id FROM models WHERE name = 'bench_copy'")
# the partitions the rows need, made the way the server makes them (COPY cannot)
printf '{"id": "warm1", "ts": "%s", "score": 0.5}\n{"id": "warm2", "ts": "%s", "score": 0.5}\n' \
	"$(head -n 1 "$data/copy.txt" | cut -f2)" "$(tail -n 1 "$data/copy.txt" | cut -f2)" >"$tmp/warm.ndjson"
[ "$(api POST /v1/models/bench_copy/predictions -H 'Content-Type: application/x-ndjson' --data-binary @"$tmp/warm.ndjson")" = 200 ] ||
	die "could not create the partitions: $(cat "$tmp/out")"

# --- 1. ingest against COPY --------------------------------------------------------------------
sed "s/^/$cmid	/" "$data/copy.txt" >"$tmp/copy.txt"
sql "TRUNCATE predictions, prediction_ids" >/dev/null
sql "CHECKPOINT" >/dev/null
printf 'service: psql \\copy of %s rows\n' "$N"
q0=$(pg_cpu_s)
t0=$(now)
psql "$db" -Xq -c "\\copy predictions (model_id, client_id, ts, score, num, cat, seg) FROM '$tmp/copy.txt'" ||
	note "psql \\copy failed"
t1=$(now)
copy_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
q1=$(pg_cpu_s)
copy_pg_cpu=$(awk -v a="$q0" -v b="$q1" 'BEGIN { printf "%.1f", b - a }')
n=$(sql "SELECT count(*) FROM predictions WHERE model_id = $cmid")
[ "$n" = "$N" ] || note "COPY stored $n rows, not $N"
copy_rps=$(awk -v n="$N" -v s="$copy_s" 'BEGIN { printf "%.0f", n / s }')
rm -f "$tmp/copy.txt"

sql "TRUNCATE predictions, prediction_ids" >/dev/null
sql "CHECKPOINT" >/dev/null
echo "service: vigil ingest of $N rows, $CLIENTS clients, batches of $BATCH"
c0=$(cpu_s "$srv_pid")
p0=$(pg_cpu_s)
sh "$here/ingest.sh" "$base" "$token" /v1/models/bench/predictions "$CLIENTS" "$tmp/ing" \
	"$data"/pred/*.ndjson >"$tmp/ing.out" || note "an ingest batch was not answered 200"
c1=$(cpu_s "$srv_pid")
p1=$(pg_cpu_s)
ing_hwm=$(vmhwm)
pg_cpu=$(awk -v a="$p0" -v b="$p1" 'BEGIN { printf "%.1f", b - a }')
ours_rps=$(get rows_per_s "$tmp/ing.out")
ours_s=$(get seconds "$tmp/ing.out")
client_cpu=$(get client_cpu_s "$tmp/ing.out")
srv_cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.1f", b - a }')
[ "$(get rows "$tmp/ing.out")" = "$N" ] || note "ingest acknowledged $(get rows "$tmp/ing.out") rows, not $N"
n=$(sql "SELECT count(*) FROM predictions WHERE model_id = $mid")
[ "$n" = "$N" ] || note "ingest stored $n rows, not $N"
ratio=$(awk -v o="$ours_rps" -v c="$copy_rps" 'BEGIN { if (c > 0) printf "%.2f", o / c }')
met=$(awk -v r="$ratio" 'BEGIN { print (r != "" && r >= 0.5) ? "met" : "MISSED" }')
if [ -n "${BENCH_SERVICE_INGEST_ONLY:-}" ]; then
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	echo
	echo "vigil serve, $N predictions (16 numeric features, 3 segments), load average $load:"
	printf '  %-60s %s\n' "ingest, NDJSON batches of $BATCH from $CLIENTS clients" \
		"$ours_rps rows/s ($ours_s s; CPU: server $srv_cpu s, PostgreSQL $pg_cpu s, clients $client_cpu s)"
	printf '  %-60s %s\n' "psql \\copy of the same rows into the same table" "$copy_rps rows/s ($copy_s s; CPU: PostgreSQL $copy_pg_cpu s)"
	printf '  %-60s %s\n' "ours / COPY (target >= 0.50)" "$ratio: $met"
	printf '%s rev=%s case=service_ingest rows=%s ours_rows_s=%s copy_rows_s=%s ratio=%s target=0.5 met=%s server_cpu_s=%s pg_cpu_s=%s client_cpu_s=%s load=%s\n' \
		"$stamp" "$rev" "$N" "$ours_rps" "$copy_rps" "$ratio" "$met" "$srv_cpu" "$pg_cpu" "$client_cpu" "$(echo "$load" | tr ' ' /)" >>"$results"
	[ -s "$tmp/notes" ] && cat "$tmp/notes"
	exit $failed
fi

# --- 2. labels --------------------------------------------------------------------------------------
echo "service: $N labels through the API"
sh "$here/ingest.sh" "$base" "$token" /v1/models/bench/labels "$CLIENTS" "$tmp/lab" \
	"$data"/labels/*.ndjson >"$tmp/lab.out" || note "a label batch was not answered 200"
lab_rps=$(get rows_per_s "$tmp/lab.out")
[ "$(sql "SELECT count(*) FROM labels WHERE model_id = $mid")" = "$N" ] || note "labels stored: not $N"
sql "VACUUM ANALYZE" >/dev/null

# --- 3 and 4. GET performance: latency and memory ------------------------------------------------------
t10=$(date -u -d "@$(($(date -u -d "$range_from" +%s) + 2 * N / 10))" +%Y-%m-%dT%H:%M:%SZ)
q_all="/v1/models/bench/performance?from=$range_from&to=$range_to&by=s1,s2"
q_10="/v1/models/bench/performance?from=$range_from&to=$t10&by=s1,s2"

# timed QUERY OUT: one GET, its seconds on stdout, its body in OUT
timed() {
	st=$(curl -s -m 600 -o "$2" -w '%{http_code} %{time_total}' \
		-H "Authorization: Bearer $token" "$base$1")
	case $st in
	"200 "*) echo "${st#200 }" ;;
	*)
		note "GET $1 answered ${st% *}: $(head -c 300 "$2")"
		echo ""
		;;
	esac
}

best() { # the smallest of its arguments
	printf '%s\n' "$@" | grep -v '^$' | sort -g | head -n 1
}

# run_wrk QUERY PREFIX SECONDS-ALONE: wrk's figures in $tmp/PREFIX.wrk. Unless
# BENCH_WRK_SECONDS says, it runs long enough for each connection to get about three answers
# (requests are served `threads` at a time): 30 s at least, 240 s at most.
run_wrk() {
	secs=$WRK_SECS
	if [ -z "$secs" ]; then
		secs=$(awk -v t="$3" -v c="$WRK_CONNS" 'BEGIN { s = 3 * c * (t == "" ? 1 : t) / 4;
			if (s < 30) s = 30; if (s > 240) s = 240; printf "%d", s }')
	fi
	echo "$secs" >"$tmp/$2.secs"
	echo "service: wrk, $WRK_CONNS connections, $secs s: GET ${1%%\?*}"
	VIGIL_BENCH_TOKEN=$token wrk -t2 -c"$WRK_CONNS" -d"${secs}s" --timeout 300s --latency \
		-s "$here/wrk_auth.lua" "$base$1" >"$tmp/$2.wrk" 2>&1 || note "wrk failed: $(tail -n 3 "$tmp/$2.wrk")"
	[ "$(get wrk_non2xx "$tmp/$2.wrk")" = 0 ] || note "wrk: $(get wrk_non2xx "$tmp/$2.wrk") answers were not 200"
	[ "$(get wrk_errors "$tmp/$2.wrk")" = 0 ] ||
		note "wrk over ${1%%&by*}: socket errors: connect $(get wrk_err_connect "$tmp/$2.wrk"), read $(get wrk_err_read "$tmp/$2.wrk"), write $(get wrk_err_write "$tmp/$2.wrk"), timeout $(get wrk_timeouts "$tmp/$2.wrk")"
}

ms() { # microseconds -> "123 ms" / "1.23 s"
	awk -v u="$1" 'BEGIN { if (u == "") print "-"; else if (u < 1e6) printf "%.0f ms\n", u / 1e3;
		else printf "%.2f s\n", u / 1e6 }'
}

have_wrk=1
command -v wrk >/dev/null 2>&1 || have_wrk=0

# cache_counts PREFIX: the analysis cache's counters now, "computations hits shared", and from
# the server's own duration histogram of the route, "answered-within-250ms answered", in
# $tmp/PREFIX.cache. (wrk corrects its percentiles for coordinated omission: a stall of all
# connections, such as the first computation everyone waits for, adds synthetic samples
# spread over its length, so its p90/p99 can show seconds where every answer but the first
# connections' came in milliseconds; the server's histogram shows each request once.)
cache_counts() {
	curl -s -m 10 "$base/metrics" | awk '
		$1 == "vigil_analysis_cache_misses_total" { m = $2 }
		$1 == "vigil_analysis_cache_hits_total" { h = $2 }
		$1 == "vigil_analysis_cache_shared_total" { s = $2 }
		index($1, "vigil_http_request_duration_seconds_bucket{route=\"/v1/models/{model}/performance\",le=\"0.25\"}") == 1 { q = $2 }
		index($1, "vigil_http_request_duration_seconds_count{route=\"/v1/models/{model}/performance\"}") == 1 { n = $2 }
		END { printf "%s %s %s %s %s\n", m, h, s, q, n }' >"$tmp/$1.cache"
}

echo "service: GET performance over $((N / 10)) of $N stored (fresh server)"
serve_stop
serve_start
idle_hwm=$(vmhwm)
a1=$(timed "$q_10" "$tmp/p10a.json")
a2=$(timed "$q_10" "$tmp/p10a.json")
a3=$(timed "$q_10" "$tmp/p10a.json")
hwm_10_of_n=$(vmhwm)
t_10=$a1 # cold: the first request on a fresh server computes; the others are cache hits
t_10_hit=$(best "$a2" "$a3")
jq -e --argjson n "$((N / 10))" '.labeled_rows == $n and (.groups | length) > 0' "$tmp/p10a.json" >/dev/null 2>&1 ||
	note "the performance answer over $((N / 10)) rows is not what it should be: $(head -c 300 "$tmp/p10a.json")"

echo "service: GET performance over all $N (fresh server)"
serve_stop
serve_start
b1=$(timed "$q_all" "$tmp/pall.json")
hwm_all=$(vmhwm)
b2=$(timed "$q_all" "$tmp/pall.json")
t_all=$b1 # cold, as above
t_all_hit=$b2
jq -e --argjson n "$N" '.labeled_rows == $n and (.groups | length) == 5' "$tmp/pall.json" >/dev/null 2>&1 ||
	note "the performance answer over $N rows is not what it should be: $(head -c 300 "$tmp/pall.json")"
if [ "$have_wrk" = 1 ]; then
	# each on a fresh server: requests whose client gave up are still worked off after wrk
	# stops (nothing cancels them), and would slow the next run down
	serve_stop
	serve_start
	run_wrk "$q_10" ten "$t_10"
	cache_counts ten
	serve_stop
	serve_start
	run_wrk "$q_all" all "$t_all"
	cache_counts all
	hwm_wrk=$(vmhwm)
fi

echo "service: deleting all but the first $((N / 10)) predictions; the same query (fresh server)"
sql "DELETE FROM labels WHERE model_id = $mid AND ts >= '$t10'" >/dev/null
sql "DELETE FROM predictions WHERE model_id = $mid AND ts >= '$t10'" >/dev/null
sql "DELETE FROM prediction_ids WHERE model_id = $mid AND ts >= '$t10'" >/dev/null
sql "VACUUM ANALYZE" >/dev/null
left=$(sql "SELECT count(*) FROM predictions")
[ "$left" = "$((N / 10))" ] || note "after the delete $left predictions are stored, not $((N / 10))"
serve_stop
serve_start
timed "$q_10" "$tmp/p10b.json" >/dev/null
timed "$q_10" "$tmp/p10b.json" >/dev/null
timed "$q_10" "$tmp/p10b.json" >/dev/null
hwm_10_of_10=$(vmhwm)
cmp -s "$tmp/p10a.json" "$tmp/p10b.json" ||
	note "the answer over the same $((N / 10)) rows changed when the other rows were deleted"
mem_met=$(awk -v a="$hwm_10_of_n" -v b="$hwm_10_of_10" 'BEGIN {
	if (a == "" || b == "") print "n/a"; else print (a <= 1.25 * b || a - b <= 16384) ? "met" : "MISSED" }')
serve_stop

# --- the table ----------------------------------------------------------------------------------------
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "vigil serve, $N predictions (16 numeric features, 3 segments), load average $load:"
printf '  %-60s %s\n' "ingest, NDJSON batches of $BATCH from $CLIENTS clients" \
	"$ours_rps rows/s ($ours_s s; CPU: server $srv_cpu s, PostgreSQL $pg_cpu s, clients $client_cpu s)"
printf '  %-60s %s\n' "psql \\copy of the same rows into the same table" "$copy_rps rows/s ($copy_s s; CPU: PostgreSQL $copy_pg_cpu s)"
printf '  %-60s %s\n' "ours / COPY (target >= 0.50)" "$ratio: $met"
printf '  %-60s %s\n' "labels, NDJSON batches of $BATCH from $CLIENTS clients" "$lab_rps rows/s"
secs_ms() { ms "$(awk -v s="$1" 'BEGIN { if (s != "") print s * 1e6 }')"; }
printf '  %-60s %s\n' "GET performance by s1,s2 over $N, one request alone: cold" "$(secs_ms "$t_all") (computed: fresh server, nothing cached)"
printf '  %-60s %s\n' "  the same request again (analysis cache hit)" "$(secs_ms "${t_all_hit:-}")"
printf '  %-60s %s\n' "GET performance by s1,s2 over $((N / 10)), one request alone: cold" "$(secs_ms "$t_10") (computed)"
printf '  %-60s %s\n' "  the same request again (analysis cache hit)" "$(secs_ms "${t_10_hit:-}")"
if [ "$have_wrk" = 1 ]; then
	for w in all ten; do
		rows=$N
		[ $w = ten ] && rows=$((N / 10))
		printf '  %-60s %s\n' "  wrk, $WRK_CONNS connections, over $rows: p50 / p99" \
			"$(ms "$(get wrk_p50_us "$tmp/$w.wrk")") / $(ms "$(get wrk_p99_us "$tmp/$w.wrk")") ($(get wrk_requests "$tmp/$w.wrk") answers in $(cat "$tmp/$w.secs") s, $(get wrk_errors "$tmp/$w.wrk") socket errors)"
		read -r cm ch cs cq cn <"$tmp/$w.cache" 2>/dev/null || cm=
		printf '  %-60s %s\n' "    of which computed / cache hits / shared a computation" \
			"${cm:-?} / ${ch:-?} / ${cs:-?} (one URL: all but the first are served by the cache)"
		printf '  %-60s %s\n' "    server side: answered within 250 ms" "${cq:-?} of ${cn:-?} (the rest waited for the cold computation)"
	done
else
	echo "  wrk is not installed (scripts/deps.sh --bench): no latency under load"
fi
printf '  %-60s %s\n' "peak memory (VmHWM): idle after start" "$(mib "$idle_hwm") MiB"
printf '  %-60s %s\n' "  after ingesting $N predictions and $N labels" "$(mib "$ing_hwm") MiB"
printf '  %-60s %s\n' "  query over $((N / 10)) with $N stored" "$(mib "$hwm_10_of_n") MiB"
printf '  %-60s %s\n' "  query over $((N / 10)) with $((N / 10)) stored" "$(mib "$hwm_10_of_10") MiB: $mem_met (no growth with stored data)"
printf '  %-60s %s\n' "  query over all $N (per-request working memory)" "$(mib "$hwm_all") MiB"
[ "$have_wrk" = 1 ] && printf '  %-60s %s\n' "  after wrk over all $N ($WRK_CONNS connections)" "$(mib "${hwm_wrk:-}") MiB"

{
	printf '%s rev=%s case=service_ingest rows=%s ours_rows_s=%s copy_rows_s=%s ratio=%s target=0.5 met=%s server_cpu_s=%s pg_cpu_s=%s client_cpu_s=%s load=%s\n' \
		"$stamp" "$rev" "$N" "$ours_rps" "$copy_rps" "$ratio" "$met" "$srv_cpu" "$pg_cpu" "$client_cpu" "$(echo "$load" | tr ' ' /)"
	printf '%s rev=%s case=service_labels rows=%s rows_s=%s\n' "$stamp" "$rev" "$N" "$lab_rps"
	printf '%s rev=%s case=service_perf_one rows=%s seconds=%s rows10=%s seconds10=%s cached_seconds=%s cached_seconds10=%s load=%s\n' \
		"$stamp" "$rev" "$N" "${t_all:-NA}" "$((N / 10))" "${t_10:-NA}" "${t_all_hit:-NA}" "${t_10_hit:-NA}" "$(echo "$load" | tr ' ' /)"
	if [ "$have_wrk" = 1 ]; then
		for w in all ten; do
			printf '%s rev=%s case=service_perf_wrk_%s connections=%s p50_us=%s p99_us=%s requests=%s seconds=%s errors=%s computed_hits_shared=%s\n' \
				"$stamp" "$rev" "$w" "$WRK_CONNS" "$(get wrk_p50_us "$tmp/$w.wrk")" \
				"$(get wrk_p99_us "$tmp/$w.wrk")" "$(get wrk_requests "$tmp/$w.wrk")" "$(cat "$tmp/$w.secs")" \
				"$(get wrk_errors "$tmp/$w.wrk")" "$(tr ' ' / <"$tmp/$w.cache" 2>/dev/null)"
		done
	fi
	printf '%s rev=%s case=service_memory idle_kib=%s ingest_kib=%s q10_of_n_kib=%s q10_of_10_kib=%s q_all_kib=%s wrk_kib=%s met=%s\n' \
		"$stamp" "$rev" "$idle_hwm" "$ing_hwm" "$hwm_10_of_n" "$hwm_10_of_10" "$hwm_all" "${hwm_wrk:-NA}" "$mem_met"
} >>"$results"
if [ -s "$tmp/notes" ]; then
	echo
	cat "$tmp/notes"
fi
exit $failed
