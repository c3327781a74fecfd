#!/bin/sh
# tests/integration/durability.sh - no acknowledged record is lost, no batch half-stored
#
# Two failures, each under concurrent load from curl clients posting NDJSON batches:
#
# 1. kill -9 of vigil serve at random moments (9 times, and once while it starts up),
#    restarted on the same port each time. Two clients send predictions, a third labels; none retries: a batch that got no
#    answer is left as it is. Then, checked with psql: every acknowledged batch (200) is
#    stored whole, exactly once; every other batch is stored whole or not at all; no client
#    id is stored twice. Then every batch is sent again: each answers 200 with all its
#    records accepted (it was absent) or all duplicates (it was stored, acknowledged or
#    not), never a mix, and the database then holds every record exactly once.
# 2. PostgreSQL stopped and started twice (scripts/pg.sh stop/start) while four clients post
#    batches. Every answer is 200, or 503 with Retry-After; never a dropped connection or a
#    500. /readyz answers 503 while the database is down, and the server reconnects by
#    itself (200s after each restart). The same storage checks as in 1 follow.
#
# Every wait is bounded; the clients stop by themselves after a number of batches and at a
# stop file; lib.sh kills whatever is left on exit.
. "$top_srcdir/tests/integration/lib.sh"

NREC=200 # records per batch
sql() {
	psql "$DATABASE_URL" -XAtqc "$1"
}

it_pg_start
it_serve
admin=$(it_token admin dur-admin)
ingest=$(it_token ingest dur-ingest)
fixed=$port
alllog=$it_tmp/serve-all.log

started_or_dead() {
	grep -q 'listening on http://' "$it_log" || it_dead "$it_pid"
}

# restart vigil serve on the same port (a just-killed server's port may linger briefly)
restart() {
	cat "$it_log" >>"$alllog"
	tries=0
	while :; do
		: >"$it_log"
		"$VIGIL" serve --listen "127.0.0.1:$fixed" >>"$it_log" 2>&1 &
		it_pid=$!
		if it_wait_for 20 started_or_dead && grep -q 'listening on http://' "$it_log"; then
			return 0
		fi
		kill -KILL "$it_pid" 2>/dev/null
		wait "$it_pid" 2>/dev/null
		tries=$((tries + 1))
		if [ "$tries" -ge 10 ]; then
			echo "Bail out! vigil serve does not restart on port $fixed"
			cat "$it_log"
			exit 99
		fi
		sleep 0.5
	done
}

cat >"$it_tmp/model.json" <<'JSON'
{"name": "dur", "version": "1", "threshold": 0.5,
 "features": [{"name": "x1", "type": "numeric"}, {"name": "x2", "type": "numeric"},
  {"name": "x3", "type": "numeric"}, {"name": "c1", "type": "categorical"}],
 "segments": ["site"]}
JSON
st=$(it_req POST /v1/models "$admin" -H 'Content-Type: application/json' \
	--data-binary @"$it_tmp/model.json")
[ "$st" = 201 ] && ok "model registered" || { not_ok "model registered ($st)"; cat "$it_body"; }

# gen DIR PREFIX NBATCH: NDJSON batches DIR/PREFIXbB.ndjson of predictions with ids
# PREFIXbB-I and DIR/PREFIXbB.labels.ndjson with a label for each
gen() {
	mkdir -p "$1"
	perl -e '
use strict; use warnings; use POSIX qw(strftime);
my ($dir, $prefix, $nb, $nrec) = @ARGV;
my $ts = strftime("%Y-%m-%dT%H:%M:%SZ", gmtime(time - 3600));
srand(7);
for my $b (1 .. $nb) {
	open(my $p, ">", "$dir/${prefix}b$b.ndjson") or die;
	open(my $l, ">", "$dir/${prefix}b$b.labels.ndjson") or die;
	for my $i (1 .. $nrec) {
		my $id = "${prefix}b$b-$i";
		printf $p "{\"id\":\"%s\",\"ts\":\"%s\",\"score\":%.4f,\"features\":{\"x1\":%.3f,\"x2\":%.3f,\"x3\":%d,\"c1\":\"k%d\"},\"segments\":{\"site\":\"s%d\"}}\n",
			$id, $ts, rand(), rand(100), rand(), int(rand(9)), int(rand(5)), $i % 3;
		printf $l "{\"prediction_id\":\"%s\",\"label\":%d,\"ts\":\"%s\"}\n", $id, int(rand(2)), $ts;
	}
	close $p; close $l;
}' "$1" "$2" "$3" "$NREC"
}

# The client: post batches DIR/PREFIXb1..N (predictions, or labels with KIND=labels) one after
# the other, never retrying; one line per batch:
#   NAME STATUS ACCEPTED DUPLICATES RETRY-AFTER SECONDS
cat >"$it_tmp/client.sh" <<'CLIENT'
base=$1 token=$2 dir=$3 prefix=$4 kind=$5 n=$6 stop=$7 tmp=$8
b=0
while [ $b -lt "$n" ] && [ ! -f "$stop" ]; do
	b=$((b + 1))
	if [ "$kind" = labels ]; then f=$dir/${prefix}b$b.labels.ndjson; else f=$dir/${prefix}b$b.ndjson; fi
	res=$(curl -s -m 15 -o "$tmp.body" -D "$tmp.hdr" -w '%{http_code} %{time_total}' \
		-H "Authorization: Bearer $token" -H 'Content-Type: application/x-ndjson' \
		--data-binary "@$f" "$base/v1/models/dur/$kind")
	acc=$(sed -n 's/.*"accepted":\([0-9]*\).*/\1/p' "$tmp.body" 2>/dev/null)
	dup=$(sed -n 's/.*"duplicates":\([0-9]*\).*/\1/p' "$tmp.body" 2>/dev/null)
	ra=$(tr -d '\r' <"$tmp.hdr" 2>/dev/null | sed -n 's/^[Rr]etry-[Aa]fter: *\([0-9]*\).*/\1/p')
	code=${res% *}
	echo "${prefix}b$b $code ${acc:--} ${dup:--} ${ra:--} ${res#* }"
	# no server: do not burn through the batches while it restarts
	[ "$code" = 000 ] && sleep 0.1
	[ "$code" = 503 ] && sleep 0.05
done
exit 0
CLIENT

# run_clients PHASE SPEC...: start one client per SPEC (PREFIX:KIND:N); pids in clients
run_clients() {
	phase=$1
	shift
	clients=
	rm -f "$it_tmp/$phase.stop"
	for spec in "$@"; do
		prefix=${spec%%:*}
		rest=${spec#*:}
		kind=${rest%%:*}
		n=${rest#*:}
		sh "$it_tmp/client.sh" "$BASE" "$ingest" "$it_tmp/$phase" "$prefix" "$kind" "$n" \
			"$it_tmp/$phase.stop" "$it_tmp/$phase.$prefix.$kind" \
			>"$it_tmp/$phase.$prefix.$kind.out" 2>&1 &
		clients="$clients $!"
		it_bg $!
	done
}

stop_clients() {
	touch "$it_tmp/$1.stop"
	for p in $clients; do
		it_wait_exit "$p" $((60 * it_slow))
		[ "$it_status" = 124 ] && not_ok "a client did not stop"
	done
}

# check_batches PHASE: the storage checks, from the clients' logs and the database
check_batches() {
	phase=$1
	cat "$it_tmp/$phase".*.predictions.out >"$it_tmp/$phase.pred.log"
	cat "$it_tmp/$phase".*.labels.out 2>/dev/null >"$it_tmp/$phase.lab.log"
	sql "SELECT split_part(client_id, '-', 1), count(*) FROM predictions GROUP BY 1" \
		| tr '|' ' ' >"$it_tmp/$phase.db.pred"
	sql "SELECT split_part(client_id, '-', 1), count(*) FROM prediction_ids GROUP BY 1" \
		| tr '|' ' ' >"$it_tmp/$phase.db.ids"
	sql "SELECT split_part(prediction_id, '-', 1), count(*) FROM labels GROUP BY 1" \
		| tr '|' ' ' >"$it_tmp/$phase.db.lab"
	for kind in pred lab; do
		db=$it_tmp/$phase.db.$kind
		log=$it_tmp/$phase.$kind.log
		[ -s "$log" ] || continue
		res=$(awk -v n="$NREC" '
			FNR == NR { stored[$1] = $2; next }
			{ sent++; s = ($1 in stored) ? stored[$1] : 0
			  if ($2 == 200) { acked++; if (s != n || $3 != n) lost++ }
			  else { other[$2]++; if (s == n) unacked_stored++ }
			  if (s != 0 && s != n) partial++ }
			END { o = ""; for (k in other) o = o k ":" other[k] " "
			      printf "%d %d %d %d %d %s\n", sent, acked, lost, partial, unacked_stored, o }' \
			"$db" "$log")
		set -- $res
		sent=$1 acked=$2 lost=$3 partial=$4 unacked_stored=$5
		shift 5
		others="$*"
		what=predictions
		[ "$kind" = lab ] && what=labels
		if [ "$acked" -gt 0 ] && [ "$lost" = 0 ]; then
			ok "$phase: every acknowledged $what batch is stored whole ($acked of $sent batches acknowledged; others: ${others:-none})"
		else
			not_ok "$phase: acknowledged $what batches not stored whole: $lost of $acked"
		fi
		[ "$partial" = 0 ] && ok "$phase: no $what batch is partly stored ($unacked_stored unacknowledged batches were stored whole)" ||
			not_ok "$phase: $partial $what batches are partly stored"
	done
	if cmp -s "$it_tmp/$phase.db.pred" "$it_tmp/$phase.db.ids" ||
		[ "$(sort "$it_tmp/$phase.db.pred")" = "$(sort "$it_tmp/$phase.db.ids")" ]; then
		ok "$phase: predictions and the id registry agree batch by batch"
	else
		not_ok "$phase: predictions and prediction_ids disagree"
	fi
	n=$(sql "SELECT count(*) FROM (SELECT client_id FROM predictions GROUP BY model_id, client_id HAVING count(*) > 1) d")
	[ "$n" = 0 ] && ok "$phase: no prediction is stored twice" || not_ok "$phase: $n predictions stored twice"
}

# resend PHASE: send every batch a client attempted once more (one curl process, one
# connection); each must be all new or all duplicates; afterwards each record is stored once
resend() {
	phase=$1
	: >"$it_tmp/$phase.resend"
	: >"$it_tmp/$phase.curlrc"
	: >"$it_tmp/$phase.plan"
	i=0
	for kind in pred lab; do
		log=$it_tmp/$phase.$kind.log
		[ -s "$log" ] || continue
		k=predictions
		ext=ndjson
		[ "$kind" = lab ] && k=labels ext=labels.ndjson
		while read -r name code rest; do
			i=$((i + 1))
			echo "$kind $name $code" >>"$it_tmp/$phase.plan"
			printf 'url = "%s"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/x-ndjson"\ndata-binary = "@%s"\noutput = "%s"\nwrite-out = "%%{http_code}\\n"\nmax-time = 15\nnext\n' \
				"$BASE/v1/models/dur/$k" "$ingest" "$it_tmp/$phase/$name.$ext" \
				"$it_tmp/$phase.rs.$i" >>"$it_tmp/$phase.curlrc"
		done <"$log"
	done
	curl -s -K "$it_tmp/$phase.curlrc" >"$it_tmp/$phase.codes" 2>/dev/null
	i=0
	while read -r kind name code; do
		i=$((i + 1))
		got=$(sed -n "${i}p" "$it_tmp/$phase.codes")
		a=$(sed -n 's/.*"accepted":\([0-9]*\).*/\1/p' "$it_tmp/$phase.rs.$i" 2>/dev/null)
		d=$(sed -n 's/.*"duplicates":\([0-9]*\).*/\1/p' "$it_tmp/$phase.rs.$i" 2>/dev/null)
		echo "$kind $name $code ${got:-none} ${a:--} ${d:--}" >>"$it_tmp/$phase.resend"
	done <"$it_tmp/$phase.plan"
	bad=$(awk -v n="$NREC" '$4 != 200 || !(($5 == n && $6 == 0) || ($5 == 0 && $6 == n)) ||
		($3 == 200 && $5 != 0)' "$it_tmp/$phase.resend")
	total=$(wc -l <"$it_tmp/$phase.resend")
	redone=$(awk -v n="$NREC" '$3 != 200 && $6 == n' "$it_tmp/$phase.resend" | wc -l)
	if [ -z "$bad" ] && [ "$total" -gt 0 ]; then
		ok "$phase: re-sending all $total batches: each all new or all duplicates; acknowledged ones all duplicates ($redone unacknowledged batches had been stored)"
	else
		not_ok "$phase: re-sent batches with a mixed outcome:"
		echo "$bad" | head -n 10
	fi
	npred=$(awk '$1 == "pred"' "$it_tmp/$phase.resend" | wc -l)
	nlab=$(awk '$1 == "lab"' "$it_tmp/$phase.resend" | wc -l)
	want="$((npred * NREC))|$((npred * NREC))|$((npred * NREC))|$((nlab * NREC))"
	got=$(sql "SELECT (SELECT count(*) FROM predictions WHERE client_id LIKE '$phase%'),
		(SELECT count(DISTINCT client_id) FROM predictions WHERE client_id LIKE '$phase%'),
		(SELECT count(*) FROM prediction_ids WHERE client_id LIKE '$phase%'),
		(SELECT count(*) FROM labels WHERE prediction_id LIKE '$phase%')")
	[ "$got" = "$want" ] && ok "$phase: after the re-send every record is stored exactly once ($got)" ||
		not_ok "$phase: stored after re-send $got, wanted $want"
}

# --- 1. kill -9 under load ------------------------------------------------------------------------
# batch names start with the phase: K1b7-12 is client K1's batch 7, record 12
gen "$it_tmp/K" K1 400
gen "$it_tmp/K" K2 400
run_clients K K1:predictions:400 K2:predictions:400 K1:labels:400
kills=0
seed=$$
# once while it starts (connecting, checking the schema under the advisory lock)
sleep 0.5
kill -KILL "$it_pid" 2>/dev/null && kills=$((kills + 1))
wait "$it_pid" 2>/dev/null
cat "$it_log" >>"$alllog"
: >"$it_log"
"$VIGIL" serve --listen "127.0.0.1:$fixed" >>"$it_log" 2>&1 &
it_pid=$!
sleep 0.05
kill -KILL "$it_pid" 2>/dev/null && kills=$((kills + 1))
wait "$it_pid" 2>/dev/null
restart
for i in 1 2 3 4 5 6 7 8; do
	# 0.3 .. 1.2 s apart
	seed=$(((seed * 1103515245 + 12345) % 2147483648))
	sleep "$(awk -v r=$seed 'BEGIN { printf "%.2f", 0.3 + (r % 90) / 100 }')"
	kill -KILL "$it_pid" 2>/dev/null && kills=$((kills + 1))
	wait "$it_pid" 2>/dev/null
	restart
done
sleep 1
stop_clients K
n000=$(cat "$it_tmp"/K.*.out | awk '$2 == "000"' | wc -l)
[ "$kills" = 10 ] && ok "vigil serve was killed with SIGKILL $kills times under load, once while starting ($n000 requests lost their connection)" ||
	not_ok "only $kills kills"
check_batches K
resend K

# --- 2. PostgreSQL stopped and started under load ---------------------------------------------------
for c in P1 P2 P3; do gen "$it_tmp/P" $c 300; done
run_clients P P1:predictions:300 P2:predictions:300 P3:predictions:300 P1:labels:300
sleep 1.5
it_pg_stop >/dev/null
st=$(it_req GET /readyz)
[ "$st" = 503 ] && ok "/readyz answers 503 while PostgreSQL is down" || not_ok "/readyz while down: $st"
sleep 2
it_pg_start >/dev/null
it_wait_for 30 sh -c "curl -sf -m 2 $BASE/readyz" && ok "/readyz recovers by itself" ||
	not_ok "/readyz did not recover"
sleep 1.5
it_pg_stop >/dev/null
sleep 1.5
it_pg_start >/dev/null
it_wait_for 30 sh -c "curl -sf -m 2 $BASE/readyz" || not_ok "/readyz did not recover (2)"
sleep 1.5
stop_clients P
cat "$it_tmp"/P.*.out >"$it_tmp/P.all"
total=$(wc -l <"$it_tmp/P.all")
n200=$(awk '$2 == 200' "$it_tmp/P.all" | wc -l)
n503=$(awk '$2 == 503' "$it_tmp/P.all" | wc -l)
bad=$(awk '$2 != 200 && $2 != 503 { print $2 }' "$it_tmp/P.all" | sort | uniq -c | tr '\n' ' ')
noretry=$(awk '$2 == 503 && $5 !~ /^[0-9]+$/' "$it_tmp/P.all" | wc -l)
if [ -z "$bad" ] && [ "$n503" -gt 0 ] && [ "$n200" -gt 0 ]; then
	ok "every answer through two outages was 200 or 503 ($total: $n200 200, $n503 503)"
else
	not_ok "answers through the outages: $total, $n200 200, $n503 503, others: $bad"
fi
[ "$noretry" = 0 ] && ok "every 503 carried Retry-After" || not_ok "$noretry 503s without Retry-After"
slow=$(awk '$2 == 503 && $6 > 3' "$it_tmp/P.all" | wc -l)
max503=$(awk '$2 == 503 && $6 > m { m = $6 } END { print m + 0 }' "$it_tmp/P.all")
[ "$slow" = 0 ] && ok "every 503 came quickly (at most $max503 s)" || not_ok "$slow 503s took over 3 s (up to $max503 s)"
# the last batches of each client came after the recovery: the server carried on by itself
late=$(for f in "$it_tmp"/P.*.out; do tail -n 3 "$f"; done | awk '$2 != 200' | wc -l)
[ "$late" = 0 ] && ok "after the restarts ingest carries on (the clients' last batches are 200)" ||
	not_ok "$late of the clients' last batches failed after recovery"
check_batches P
resend P

if it_serve_stop; then
	ok "vigil serve exits 0 on SIGTERM after all that"
else
	not_ok "vigil serve exit status $it_status"
fi
cat "$it_log" >>"$alllog"
if grep -q 'runtime error\|AddressSanitizer\|LeakSanitizer' "$alllog"; then
	not_ok "no sanitizer report in the server logs"
	grep -A8 'runtime error\|AddressSanitizer\|LeakSanitizer' "$alllog" | head -40
else
	ok "no sanitizer report in the server logs"
fi
finish
