#!/bin/sh
# tests/integration/cache.sh - the analysis cache, single flight and the analysis workers
#
# A real vigil serve (one HTTP thread, one analysis worker) on a throwaway PostgreSQL:
#  - identical requests get identical bodies, the second from the cache, and both are
#    audited;
#  - more labels, more predictions, a new reference, or data written through a second
#    server on the same database change the answer (no stale entry);
#  - 20 identical requests at once all get the same 200 body from one computation
#    (vigil_analysis_cache_misses_total moves by 1), and 20 audit rows;
#  - while an analysis waits for a lock on predictions, /healthz still answers at once
#    (it would queue behind the analysis on a single HTTP thread otherwise), a queued
#    request whose client gave up is skipped, and a server with
#    analysis_statement_timeout_s = 1 answers 503 analysis-timeout;
#  - SIGTERM while an analysis runs: the answer still comes (200), then the server exits 0.
. "$top_srcdir/tests/integration/lib.sh"

it_pg_start
it_serve --set threads=1 --set analysis_workers=1
A=$BASE
a_pid=$it_pid
admin=$(it_token admin c-admin)
ingest=$(it_token ingest c-ingest)
viewer=$(it_token viewer c-viewer)

sql() {
	psql "$DATABASE_URL" -XAtqc "$1"
}

metric() { # NAME [BASE]: the value of an unlabelled series
	curl -s -m 10 "${2-$A}/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

post() { # PATH TOKEN FILE
	curl -s -m 10 -o "$it_body" -w '%{http_code}' -X POST -H "Authorization: Bearer $2" \
		-H 'Content-Type: application/x-ndjson' --data-binary "@$3" "$BASE$1"
}

check_post() { # NAME WANT PATH TOKEN FILE
	got=$(post "$3" "$4" "$5")
	if [ "$got" = "$2" ]; then ok "$1"; else not_ok "$1 (status $got, wanted $2)"; head -c 400 "$it_body"; echo; fi
}

get() { # PATH OUT [BASE]: GET as viewer into OUT, print the status
	curl -s -m 30 -o "$2" -w '%{http_code}' -H "Authorization: Bearer $viewer" "${3-$A}$1"
}

check_eq() { # NAME WANT GOT
	if [ "$3" = "$2" ]; then ok "$1"; else not_ok "$1 (got '$3', wanted '$2')"; fi
}

cat >"$it_tmp/spec.json" <<'JSON'
{"name": "cm", "features": [{"name": "x", "type": "numeric"}], "segments": ["s"]}
JSON
got=$(curl -s -m 10 -o "$it_body" -w '%{http_code}' -X POST -H "Authorization: Bearer $admin" \
	-H 'Content-Type: application/json' --data-binary "@$it_tmp/spec.json" "$A/v1/models")
check_eq "register the model" 201 "$got"

# rows FIRST LAST: predictions q<i>, 2024-05-01, one a minute; labels; reference rows r<i>
perl -e 'for my $i ($ARGV[0] .. $ARGV[1]) { printf "{\"id\": \"q%04d\", \"ts\": \"2024-05-01T%02d:%02d:00Z\", \"score\": %.3f, \"features\": {\"x\": %d}, \"segments\": {\"s\": \"%s\"}}\n", $i, int($i / 60), $i % 60, ($i * 37 % 100) / 100, $i % 17, $i % 3 ? "a" : "b" }' 1 400 >"$it_tmp/p1.ndjson"
perl -e 'for my $i ($ARGV[0] .. $ARGV[1]) { printf "{\"id\": \"q%04d\", \"ts\": \"2024-05-01T%02d:%02d:00Z\", \"score\": %.3f, \"features\": {\"x\": %d}, \"segments\": {\"s\": \"%s\"}}\n", $i, int($i / 60), $i % 60, ($i * 37 % 100) / 100, $i % 17, $i % 3 ? "a" : "b" }' 401 500 >"$it_tmp/p2.ndjson"
perl -e 'for my $i ($ARGV[0] .. $ARGV[1]) { printf "{\"prediction_id\": \"q%04d\", \"label\": %d, \"ts\": \"2024-05-02T00:00:00Z\"}\n", $i, ($i * 37 % 100) > 45 ? 1 : 0 }' 1 300 >"$it_tmp/l1.ndjson"
perl -e 'for my $i ($ARGV[0] .. $ARGV[1]) { printf "{\"prediction_id\": \"q%04d\", \"label\": %d, \"ts\": \"2024-05-02T00:00:00Z\"}\n", $i, $i % 2 }' 301 350 >"$it_tmp/l2.ndjson"
perl -e 'for my $i ($ARGV[0] .. $ARGV[1]) { printf "{\"prediction_id\": \"q%04d\", \"label\": %d, \"ts\": \"2024-05-02T00:00:00Z\"}\n", $i, $i % 2 }' 351 360 >"$it_tmp/l3.ndjson"
perl -e 'for my $i (1 .. 100) { printf "{\"id\": \"r%03d\", \"score\": %.2f, \"label\": %d, \"features\": {\"x\": %d}, \"segments\": {\"s\": \"a\"}}\n", $i, $i / 100, $i % 2, $i % 5 }' >"$it_tmp/ref1.ndjson"
perl -e 'for my $i (1 .. 120) { printf "{\"id\": \"r%03d\", \"score\": %.2f, \"label\": %d, \"features\": {\"x\": %d}, \"segments\": {\"s\": \"b\"}}\n", $i, $i / 120, $i % 2, $i % 9 }' >"$it_tmp/ref2.ndjson"

M=/v1/models/cm
W="from=2024-05-01T00:00:00Z&to=2024-05-02T00:00:00Z"
check_post "400 predictions" 200 $M/predictions "$ingest" "$it_tmp/p1.ndjson"
check_post "300 labels" 200 $M/labels "$ingest" "$it_tmp/l1.ndjson"
check_post "a reference" 201 $M/references "$admin" "$it_tmp/ref1.ndjson"

# --- identical requests ------------------------------------------------------------------------
m0=$(metric vigil_analysis_cache_misses_total)
h0=$(metric vigil_analysis_cache_hits_total)
check_eq "first performance read" 200 "$(get "$M/performance?$W&by=s" "$it_tmp/a1.json")"
check_eq "the same again" 200 "$(get "$M/performance?$W&by=s" "$it_tmp/a2.json")"
if cmp -s "$it_tmp/a1.json" "$it_tmp/a2.json"; then ok "identical requests, identical bodies"; else not_ok "identical requests, different bodies"; fi
check_eq "one computation, one cache hit" "1 1" \
	"$(($(metric vigil_analysis_cache_misses_total) - m0)) $(($(metric vigil_analysis_cache_hits_total) - h0))"
check_eq "the same query written otherwise (instant, parameter order) is a hit too" 200 \
	"$(get "$M/performance?by=s&to=2024-05-02T01:00:00%2B01:00&from=2024-05-01T00:00:00Z" "$it_tmp/a3.json")"
if cmp -s "$it_tmp/a1.json" "$it_tmp/a3.json" && [ "$(($(metric vigil_analysis_cache_hits_total) - h0))" = 2 ]; then
	ok "normalised parameters share the entry"
else
	not_ok "normalised parameters do not share the entry"
fi
check_eq "every read is audited, the cached ones as such" "3|2" \
	"$(sql "SELECT count(*), count(*) FILTER (WHERE detail->>'cache' = 'hit') FROM audit_log WHERE action = 'performance.read' AND outcome = 'ok' AND detail->>'labeled_rows' = '300'")"
check_eq "a different query is computed" 200 "$(get "$M/performance?$W" "$it_tmp/a4.json")"
check_eq "...as its own computation" 2 "$(($(metric vigil_analysis_cache_misses_total) - m0))"

# --- never stale ---------------------------------------------------------------------------------
v0=$(sql "SELECT model_data_version(id) FROM models WHERE name = 'cm'")
check_post "50 more labels" 200 $M/labels "$ingest" "$it_tmp/l2.ndjson"
check_eq "labels move the data version" 1 \
	"$(sql "SELECT model_data_version(id) - $v0 FROM models WHERE name = 'cm'")"
get "$M/performance?$W&by=s" "$it_tmp/b1.json" >/dev/null
check_eq "the answer after more labels counts them" "350 400" \
	"$(jq -r '"\(.labeled_rows) \(.rows)"' "$it_tmp/b1.json")"
check_post "100 more predictions" 200 $M/predictions "$ingest" "$it_tmp/p2.ndjson"
get "$M/performance?$W&by=s" "$it_tmp/b2.json" >/dev/null
check_eq "the answer after more predictions counts them" "350 500" \
	"$(jq -r '"\(.labeled_rows) \(.rows)"' "$it_tmp/b2.json")"
get "$M/drift?$W" "$it_tmp/d1.json" >/dev/null
check_post "a new active reference" 201 $M/references "$admin" "$it_tmp/ref2.ndjson"
get "$M/drift?$W" "$it_tmp/d2.json" >/dev/null
check_eq "drift follows the new reference" "100 120" \
	"$(jq -r .reference_rows "$it_tmp/d1.json") $(jq -r .reference_rows "$it_tmp/d2.json")"
get "$M/estimate?$W" "$it_tmp/e1.json" >/dev/null
check_eq "estimate against the new reference" 120 "$(jq -r .reference_rows "$it_tmp/e1.json")"

vb=$(sql "SELECT model_data_version(id) FROM models WHERE name = 'cm'")
sql "SELECT model_data_marks_fold()" >/dev/null
check_eq "folding the marks keeps the version, in one row a model" "$vb|1" \
	"$(sql "SELECT model_data_version(id), (SELECT count(*) FROM model_data_marks d WHERE d.model_id = m.id) FROM models m WHERE name = 'cm'")"
sql "DELETE FROM labels WHERE prediction_id = 'q0001'" >/dev/null
get "$M/performance?$W&by=s" "$it_tmp/b4.json" >/dev/null
check_eq "a label deleted by hand is seen too (trigger)" 349 "$(jq -r .labeled_rows "$it_tmp/b4.json")"
sql "INSERT INTO labels (model_id, prediction_id, label, ts, digest) SELECT model_id, 'q0001', label, ts, digest FROM labels WHERE prediction_id = 'q0002'" >/dev/null

# a second server on the same database: what it stores must show through the first's cache
BASE_A=$BASE
"$VIGIL" serve --listen 127.0.0.1:0 --set analysis_statement_timeout_s=1 >"$it_tmp/b.log" 2>&1 &
b_pid=$!
it_bg "$b_pid"
it_wait_for 30 grep -q 'listening on http://' "$it_tmp/b.log" || { cat "$it_tmp/b.log"; exit 99; }
B=http://127.0.0.1:$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$it_tmp/b.log" | tail -n 1)
BASE=$B
check_post "10 labels through the second server" 200 $M/labels "$ingest" "$it_tmp/l3.ndjson"
BASE=$BASE_A
get "$M/performance?$W&by=s" "$it_tmp/b3.json" >/dev/null
check_eq "the first server's answer counts them" 360 "$(jq -r .labeled_rows "$it_tmp/b3.json")"

# --- single flight -----------------------------------------------------------------------------
m0=$(metric vigil_analysis_cache_misses_total)
h0=$(metric vigil_analysis_cache_hits_total)
s0=$(metric vigil_analysis_cache_shared_total)
i=1
pids=
while [ $i -le 20 ]; do
	get "$M/estimate?$W&by=s&draws=2000" "$it_tmp/c$i.json" >"$it_tmp/c$i.status" &
	pids="$pids $!"
	i=$((i + 1))
done
for p in $pids; do wait "$p"; done
st=$(for f in "$it_tmp"/c*.status; do cat "$f"; echo; done | sort | uniq -c | awk '{ printf "%s x%s ", $2, $1 }')
check_eq "20 identical requests at once: all 200" "200 x20 " "$st"
nd=$(md5sum "$it_tmp"/c*.json | awk '{ print $1 }' | sort -u | wc -l)
check_eq "...all with the same body" 1 "$nd"
check_eq "...from one computation" 1 "$(($(metric vigil_analysis_cache_misses_total) - m0))"
check_eq "...the others from the cache or the shared flight" 19 \
	"$(($(metric vigil_analysis_cache_hits_total) - h0 + $(metric vigil_analysis_cache_shared_total) - s0))"
check_eq "...and 20 audited reads" 20 \
	"$(sql "SELECT count(*) FROM audit_log WHERE action = 'estimate.read' AND outcome = 'ok' AND detail->'by' = '[\"s\"]'")"

# --- a long analysis ---------------------------------------------------------------------------
# hold a lock on predictions: analyses wait for it inside PostgreSQL
lock_on() {
	PGAPPNAME=vigil-cache-lock psql "$DATABASE_URL" -Xq \
		-c "BEGIN; LOCK TABLE predictions IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120); COMMIT;" \
		>/dev/null 2>&1 &
	it_bg $!
	it_wait_for 10 sh -c "[ \"\$(psql '$DATABASE_URL' -XAtqc \"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'vigil-cache-lock' AND state = 'active' AND wait_event = 'PgSleep'\")\" = 1 ]"
}
lock_off() {
	sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'vigil-cache-lock'" >/dev/null
}
waiting_for_lock() { # N: N backends wait for a lock
	[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")" -ge "$1" ]
}

n0=$(sql "SELECT count(*) FROM audit_log WHERE action = 'performance.read'")
lock_on
get "$M/performance?$W&min_n=3" "$it_tmp/long.json" >"$it_tmp/long.status" &
long_pid=$!
it_bg $long_pid
it_wait_for 10 waiting_for_lock 1 || not_ok "the analysis does not wait for the lock"
t=$(curl -s -m 10 -o /dev/null -w '%{http_code} %{time_total}' "$A/healthz")
case $t in
"200 0."*) ok "/healthz answers at once while an analysis runs ($t s)" ;;
*) not_ok "/healthz during an analysis: $t" ;;
esac
# queued behind it (one worker), its client gives up: it must not be computed
a0=$(metric vigil_analysis_abandoned_total)
curl -s -m 1 -o /dev/null -H "Authorization: Bearer $viewer" "$A$M/performance?$W&min_n=4"
# the second server times out instead
t0=$(date +%s)
check_eq "a statement timeout answers 503" 503 "$(get "$M/performance?$W&min_n=5" "$it_tmp/to.json" "$B")"
check_eq "...as analysis-timeout, naming the setting" "true" \
	"$(jq '.type == "https://vigil.invalid/problems/analysis-timeout" and (.detail | test("analysis_statement_timeout_s"))' "$it_tmp/to.json")"
[ $(($(date +%s) - t0)) -le 5 ] && ok "...after about the timeout" || not_ok "the timeout took $(($(date +%s) - t0)) s"
check_eq "a timeout is audited" 1 "$(sql "SELECT count(*) FROM audit_log WHERE outcome = 'timeout'")"
lock_off
wait $long_pid
check_eq "the long analysis answers once the lock is gone" 200 "$(cat "$it_tmp/long.status")"
it_wait_for 10 sh -c "[ \"\$(curl -s '$A/metrics' | awk '\$1 == \"vigil_analysis_abandoned_total\" { print \$2 }')\" = $((a0 + 1)) ]" &&
	ok "the abandoned request was skipped" || not_ok "the abandoned request was not skipped ($(metric vigil_analysis_abandoned_total) - $a0)"
check_eq "...and never audited (never computed): only the long read and the timeout are" 2 \
	"$(($(sql "SELECT count(*) FROM audit_log WHERE action = 'performance.read'") - n0))"

# --- SIGTERM with an analysis in flight ------------------------------------------------------
lock_on
get "$M/performance?$W&min_n=6" "$it_tmp/term.json" >"$it_tmp/term.status" &
term_pid=$!
it_bg $term_pid
it_wait_for 10 waiting_for_lock 1
kill -TERM "$a_pid"
sleep 1
it_alive "$a_pid" && ok "SIGTERM waits for the running analysis" || not_ok "the server exited under a running analysis"
lock_off
wait $term_pid
check_eq "...which is answered" 200 "$(cat "$it_tmp/term.status")"
it_wait_exit "$a_pid" 30
check_eq "...then the server exits 0" 0 "$it_status"
it_pid=
kill -TERM "$b_pid"
it_wait_exit "$b_pid" 30
check_eq "the second server exits 0 too" 0 "$it_status"
grep -q 'AddressSanitizer\|runtime error' "$it_log" "$it_tmp/b.log" && not_ok "sanitizer reports in the logs" || ok "no sanitizer reports"

finish
