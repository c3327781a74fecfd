#!/bin/sh
# tests/integration/notify.sh - the notifier against a webhook sink and a real Alertmanager
#
# Receivers from the config file: "hook", tests/webhook_sink (a libmicrohttpd program that
# answers by a script and logs every request), and "am", Debian's prometheus-alertmanager,
# both on 127.0.0.1. Notifications are written into the outbox with psql, as the alert
# engine would, and then:
#
#  1. firing A (every receiver): the sink fails its first three requests (503, 503,
#     429 + Retry-After: 3) and then accepts; it gets the notification exactly once, under
#     the same Idempotency-Key on every attempt, the gaps stay under the full-jitter
#     ceilings 1, 2, 4 s and never before Retry-After; the body is Alertmanager's webhook
#     format version "4".
#  2. Alertmanager is down for a while (started late): its delivery retries on connection
#     errors and lands once it is up; Alertmanager lists the alert as active with the
#     fingerprint the webhook carried; firing alerts are re-sent (endsAt moves on).
#  3. resolved A: the sink gets it once (status resolved); Alertmanager no longer lists the
#     alert, and re-sends do not bring it back.
#  4. a 400 from the receiver is not retried: one request, the delivery and the outbox row
#     failed, last_status 400.
#  5. the sink is down for a while: the notification waits, retried, and arrives once after
#     it is back.
#  6. kill -9 of vigil while a delivery is in flight (claimed, the sink holding the request):
#     after a restart the lease runs out and the notification is delivered (at least once).
#  7. SIGTERM while a request is in flight: vigil exits 0 at once (the transfer is aborted)
#     and the delivery is done after a restart.
#  8. vigil_notifications_total counts the outcomes.
#  9. the scheduler held up mid-run (a table lock stands in for a long evaluation): a
#     notification is still delivered at once, and SIGTERM waits for the scheduler's unit
#     of work and exits 0.
# Every wait is bounded; lib.sh kills everything started here on exit.
. "$top_srcdir/tests/integration/lib.sh"

SINK=${WEBHOOK_SINK:-$(dirname "$VIGIL")/tests/webhook_sink}
AM_BIN=${ALERTMANAGER:-/usr/bin/prometheus-alertmanager}
if [ ! -x "$SINK" ]; then
	echo "Bail out! $SINK is not built (make check builds it)"
	exit 99
fi
if [ ! -x "$AM_BIN" ]; then
	echo "SKIP: prometheus-alertmanager is not installed (scripts/deps.sh installs it)"
	exit 77
fi
# every address here is loopback: no proxy may stand in between
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY
NO_PROXY=127.0.0.1,localhost
no_proxy=$NO_PROXY
export NO_PROXY no_proxy

sql() {
	psql "$DATABASE_URL" -XAtqc "$1"
}

free_port() {
	perl -MIO::Socket::INET -e \
		'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0", ReuseAddr => 1)->sockport'
}

hookport=$(free_port)
amport=$(free_port)
hooklog=$it_tmp/hook.log
AM=http://127.0.0.1:$amport
: >"$hooklog"
sink_pid=
am_pid=

# start_sink ARGS...: the webhook sink on hookport (the port may linger after a kill)
start_sink() {
	rm -f "$it_tmp/hook.port"
	tries=0
	while :; do
		"$SINK" --log "$hooklog" --port "$hookport" --port-file "$it_tmp/hook.port" "$@" \
			>>"$it_tmp/sink.err" 2>&1 &
		sink_pid=$!
		it_bg "$sink_pid"
		if it_wait_for 5 test -s "$it_tmp/hook.port"; then
			return 0
		fi
		kill -KILL "$sink_pid" 2>/dev/null
		wait "$sink_pid" 2>/dev/null
		tries=$((tries + 1))
		if [ "$tries" -ge 10 ]; then
			echo "Bail out! the webhook sink does not start on port $hookport"
			cat "$it_tmp/sink.err"
			exit 99
		fi
		sleep 0.5
	done
}

stop_sink() {
	kill -KILL "$sink_pid" 2>/dev/null
	wait "$sink_pid" 2>/dev/null
	sink_pid=
}

start_am() {
	cat >"$it_tmp/am.yml" <<'YML'
route:
  receiver: blackhole
  group_wait: 1s
receivers:
  - name: blackhole
YML
	"$AM_BIN" --config.file="$it_tmp/am.yml" --storage.path="$it_tmp/am" \
		--web.listen-address="127.0.0.1:$amport" --cluster.listen-address= \
		--log.level=warn >>"$it_tmp/am.log" 2>&1 &
	am_pid=$!
	it_bg "$am_pid"
	if ! it_wait_for 30 curl -sf -m 2 "$AM/-/ready"; then
		echo "Bail out! Alertmanager did not start"
		cat "$it_tmp/am.log"
		exit 99
	fi
}

cat >"$it_tmp/vigil.conf" <<EOF
# receivers come from here only
receiver.hook.type = webhook
receiver.hook.url = http://127.0.0.1:$hookport/hook
receiver.hook.timeout_s = 10
receiver.am.type = alertmanager
receiver.am.url = $AM/
receiver.am.timeout_s = 2
notify_resend_s = 2
notify_external_url = http://vigil.test
EOF

it_pg_start
start_sink --plan 503,503,429/3 --reject REJECT-ME --hang HANG-ME --hang-s 8
it_serve --config "$it_tmp/vigil.conf"
if ! it_wait_for 10 grep -q 'notify: receiver am (alertmanager)' "$it_log"; then
	not_ok "the notifier announced its receivers"
	cat "$it_log"
fi

# a model (its default rules come with it) and five alerts A..E on it
model=$(sql "INSERT INTO models (name, spec) VALUES ('sepsis', '{}') RETURNING id")
rule=$(sql "SELECT id FROM alert_rules WHERE model_id = $model ORDER BY id LIMIT 1")
for a in A B C D E; do
	eval "alert_$a=\$(sql \"INSERT INTO alerts (fingerprint, model_id, rule_id, scope, labels,
		severity, state, first_breach, last_breach, notified) VALUES ('fp-$a', $model,
		$rule, 'performance', '{}', 'page', 'firing', now(), now(), true) RETURNING id\")"
done

# notify ALERT EVENT RECEIVER SUMMARY: write one outbox row as the alert engine does; prints
# its id. RECEIVER "" = every receiver. The segment value tells the alerts apart.
notify() {
	eval "aid=\$alert_$1"
	sql "INSERT INTO notifications (alert_id, event, receiver, payload)
	     VALUES ($aid, '$2', NULLIF('$3', ''), jsonb_build_object(
		'labels', jsonb_build_object('alertname', 'sensitivity-drop', 'model', 'sepsis',
			'rule', 'sensitivity-drop', 'scope', 'performance', 'feature', NULL,
			'segment', 'sex', 'segment_value', 'seg$1', 'severity', 'page'),
		'annotations', jsonb_build_object('summary', '$4',
			'description', 'sensitivity below the reference'),
		'startsAt', '2025-01-02T03:04:05Z',
		'endsAt', CASE WHEN '$2' = 'resolved' THEN '2025-01-02T09:00:00Z' END,
		'generatorURL', '/v1/alerts/$aid',
		'status', '$2', 'alert_id', $aid, 'event', '$2'))
	     RETURNING id"
}

# delivery NOTIFICATION RECEIVER: state attempts last_status of that delivery
delivery() {
	sql "SELECT state, attempts, coalesce(last_status, 0) FROM notification_deliveries
	     WHERE notification_id = $1 AND receiver = '$2'" | tr '|' ' '
}

delivered() {
	[ "$(delivery "$1" "$2" | cut -d' ' -f1)" = delivered ]
}

failed() {
	[ "$(delivery "$1" "$2" | cut -d' ' -f1)" = failed ]
}

# requests the sink logged for a notification: "TIME STATUS" lines
sink_lines() {
	awk -v k="vigil-$1" '$3 == k {print $1, $2}' "$hooklog"
}

# the body of the sink's accepted (200) request for a notification
sink_body() {
	awk -v k="vigil-$1" '$3 == k && $2 == 200 {sub(/^[^ ]+ [^ ]+ [^ ]+ [^ ]+ /, ""); print; exit}' \
		"$hooklog"
}

check() {
	if eval "$2"; then
		ok "$1"
	else
		not_ok "$1"
		[ -n "${3:-}" ] && echo "  $3"
	fi
	return 0
}

am_alerts() {
	curl -s -m 5 "$AM/api/v2/alerts"
}

am_has() {
	am_alerts | jq -e --arg s "$1" '[.[] | select(.labels.segment_value == $s)] | length == 1' \
		>/dev/null
}

am_lacks() {
	am_alerts | jq -e --arg s "$1" '[.[] | select(.labels.segment_value == $s)] | length == 0' \
		>/dev/null
}

# --- 1. firing A: failures first, then exactly once ------------------------------------
n1=$(notify A firing "" "sensitivity dropped")
if it_wait_for 40 delivered "$n1" hook; then
	ok "firing A delivered to the webhook after its failures"
else
	not_ok "firing A delivered to the webhook ($(delivery "$n1" hook))"
fi
sink_lines "$n1" >"$it_tmp/a1.lines"
check "the sink saw 503, 503, 429, 200 for it, in that order" \
	'[ "$(cut -d" " -f2 "$it_tmp/a1.lines" | tr "\n" " ")" = "503 503 429 200 " ]' \
	"$(cat "$it_tmp/a1.lines" | tr '\n' ' ')"
check "every attempt carried the same Idempotency-Key" \
	'[ "$(awk -v k="vigil-$n1" "\$3 == k" "$hooklog" | wc -l)" -eq 4 ]'
check "delivery attempts recorded: 4, last status 200" \
	'[ "$(delivery "$n1" hook)" = "delivered 4 200" ]' "$(delivery "$n1" hook)"
# the gaps: attempt k waits at most min(300, 2^(k-1)) s (full jitter), plus the 1 s polling
# and slack; after the 429 never less than its Retry-After (3 s)
gaps=$(awk 'NR > 1 {printf "%.3f ", $1 - prev} {prev = $1}' "$it_tmp/a1.lines")
check "back-off gaps within the full-jitter ceilings 1, 2, 4 s; Retry-After honoured" \
	'echo "$gaps" | awk "{exit !(NF == 3 && \$1 <= 1 + 3 && \$2 <= 2 + 3 && \$3 >= 2.9 && \$3 <= 4 + 3)}"' \
	"gaps: $gaps"
sink_body "$n1" >"$it_body"
check_jq "webhook body: Alertmanager webhook format version 4, firing" \
	'.version == "4" and .status == "firing" and .receiver == "hook" and
	 .truncatedAlerts == 0 and .externalURL == "http://vigil.test" and
	 (.groupKey | startswith("{}:{alertname=")) and .groupLabels.model == "sepsis" and
	 (.alerts | length) == 1 and .alerts[0].status == "firing" and
	 .alerts[0].labels.alertname == "sensitivity-drop" and
	 .alerts[0].labels.segment_value == "segA" and (.alerts[0].labels | has("feature") | not) and
	 .alerts[0].annotations.summary == "sensitivity dropped" and
	 .alerts[0].startsAt == "2025-01-02T03:04:05Z" and
	 .alerts[0].endsAt == "0001-01-01T00:00:00Z" and
	 (.alerts[0].fingerprint | test("^[0-9a-f]{16}$")) and
	 .alerts[0].generatorURL == "http://vigil.test/v1/alerts/'"$alert_A"'" and
	 .commonLabels == .alerts[0].labels'
fp_hook=$(jq -r '.alerts[0].fingerprint' "$it_body")
check "the fingerprint (dedup key) is the same in every attempt" \
	'[ "$(awk -v k="vigil-$n1" "\$3 == k" "$hooklog" | grep -o "\"fingerprint\":\"[0-9a-f]*\"" | sort -u | wc -l)" -eq 1 ]'
check "X-Vigil-Event: firing" \
	'awk -v k="vigil-$n1" "\$3 == k && \$2 == 200 {print \$4}" "$hooklog" | grep -qx firing'

# --- 2. Alertmanager down for a while ------------------------------------------------------
am_state=$(delivery "$n1" am)
check "Alertmanager (down) delivery pending with a network error" \
	'[ "$(sql "SELECT state = '"'pending'"' AND attempts >= 1 AND last_error LIKE '"'network:%'"' FROM notification_deliveries WHERE notification_id = $n1 AND receiver = '"'am'"'")" = t ]' \
	"$am_state"
check "the outbox row stays pending while a receiver lacks it" \
	'[ "$(sql "SELECT state FROM notifications WHERE id = $n1")" = pending ]'
start_am
if it_wait_for 60 delivered "$n1" am; then
	ok "firing A delivered to Alertmanager once it was up"
else
	not_ok "firing A delivered to Alertmanager ($(delivery "$n1" am))"
fi
check "... after retries" '[ "$(delivery "$n1" am | cut -d" " -f2)" -ge 2 ]' \
	"$(delivery "$n1" am)"
check "the outbox row is delivered once every receiver has it" \
	'[ "$(sql "SELECT state, delivered_at IS NOT NULL FROM notifications WHERE id = $n1")" = "delivered|t" ]'
if it_wait_for 10 am_has segA; then
	ok "Alertmanager lists alert A"
else
	not_ok "Alertmanager lists alert A"
	am_alerts
fi
am_alerts >"$it_body"
check_jq "... active, with vigil's labels and annotations" \
	'[.[] | select(.labels.segment_value == "segA")][0] |
	 .status.state == "active" and .labels.alertname == "sensitivity-drop" and
	 .annotations.summary == "sensitivity dropped" and
	 .generatorURL == "http://vigil.test/v1/alerts/'"$alert_A"'"'
fp_am=$(jq -r '[.[] | select(.labels.segment_value == "segA")][0].fingerprint' "$it_body")
check "Alertmanager's fingerprint is the webhook's ($fp_am)" '[ "$fp_am" = "$fp_hook" ]' \
	"webhook $fp_hook, alertmanager $fp_am"
ends1=$(jq -r '[.[] | select(.labels.segment_value == "segA")][0].endsAt' "$it_body")
ends_moved() {
	e=$(am_alerts | jq -r '[.[] | select(.labels.segment_value == "segA")][0].endsAt')
	[ -n "$e" ] && [ "$e" != null ] && [ "$e" \> "$ends1" ]
}
if it_wait_for 15 ends_moved; then
	ok "firing alerts are re-sent to Alertmanager (endsAt moves on)"
else
	not_ok "firing alerts are re-sent to Alertmanager (endsAt stays $ends1)"
fi

# --- 3. resolved A -----------------------------------------------------------------------
n2=$(notify A resolved "" "sensitivity dropped")
if it_wait_for 30 delivered "$n2" hook && it_wait_for 30 delivered "$n2" am; then
	ok "resolved A delivered to both receivers"
else
	not_ok "resolved A delivered ($(delivery "$n2" hook) / $(delivery "$n2" am))"
fi
check "the webhook got it exactly once" \
	'[ "$(sink_lines "$n2" | cut -d" " -f2 | tr "\n" " ")" = "200 " ]' "$(sink_lines "$n2")"
sink_body "$n2" >"$it_body"
check_jq "webhook body: resolved, with endsAt" \
	'.version == "4" and .status == "resolved" and .alerts[0].status == "resolved" and
	 .alerts[0].endsAt == "2025-01-02T09:00:00Z" and .alerts[0].fingerprint == "'"$fp_hook"'"'
if it_wait_for 10 am_lacks segA; then
	ok "Alertmanager no longer lists alert A as active"
else
	not_ok "Alertmanager no longer lists alert A"
	am_alerts
fi
sleep 5 # two re-send periods
check "re-sends do not bring the resolved alert back" 'am_lacks segA'

# --- 4. a 400 is not retried ---------------------------------------------------------------
n3=$(notify B firing hook "REJECT-ME please")
if it_wait_for 20 failed "$n3" hook; then
	ok "a delivery answered 400 fails"
else
	not_ok "a delivery answered 400 fails ($(delivery "$n3" hook))"
fi
sleep 4
check "... without a retry: one request, attempts 1, last_status 400" \
	'[ "$(sink_lines "$n3" | wc -l)" -eq 1 ] && [ "$(delivery "$n3" hook)" = "failed 1 400" ]' \
	"$(sink_lines "$n3" | tr '\n' ' ') / $(delivery "$n3" hook)"
check "the outbox row is failed, with the reason" \
	'[ "$(sql "SELECT state, last_error FROM notifications WHERE id = $n3")" = "failed|hook: HTTP 400" ]' \
	"$(sql "SELECT state, last_error FROM notifications WHERE id = $n3")"
check "a notification naming one receiver goes to that one only" \
	'[ "$(sql "SELECT count(*) FROM notification_deliveries WHERE notification_id = $n3")" -eq 1 ]'

# --- 5. the webhook down for a while ------------------------------------------------------
stop_sink
n4=$(notify C firing hook "while the sink is down")
retried() {
	[ "$(sql "SELECT attempts >= 2 AND last_error LIKE 'network:%' FROM notification_deliveries
		  WHERE notification_id = $n4 AND receiver = 'hook'")" = t ]
}
if it_wait_for 30 retried; then
	ok "a notification to a receiver that is down is retried"
else
	not_ok "a notification to a receiver that is down is retried ($(delivery "$n4" hook))"
fi
start_sink --reject REJECT-ME --hang HANG-ME --hang-s 8
if it_wait_for 60 delivered "$n4" hook; then
	ok "... and delivered once the receiver is back"
else
	not_ok "... and delivered once the receiver is back ($(delivery "$n4" hook))"
fi
check "... exactly once" '[ "$(sink_lines "$n4" | cut -d" " -f2 | tr "\n" " ")" = "200 " ]' \
	"$(sink_lines "$n4" | tr '\n' ' ')"

# --- 8. metrics (this server has seen every outcome) -----------------------------------------
it_req GET /metrics >/dev/null
for o in delivered retry failed resent; do
	check "vigil_notifications_total counts $o" \
		'grep -Eq "^vigil_notifications_total\{receiver=\"(hook|am)\",outcome=\"$o\"\} [1-9]" "$it_body"'
done

# --- 6. kill -9 between claim and delivery ----------------------------------------------------
n5=$(notify D firing hook "HANG-ME then die")
hanging() {
	sink_lines "$1" | grep -q ' hang$'
}
if it_wait_for 20 hanging "$n5"; then
	ok "the sink holds D's request (claimed, in flight)"
else
	not_ok "the sink holds D's request ($(delivery "$n5" hook))"
fi
check "... its delivery is claimed: pending, one attempt counted" \
	'[ "$(delivery "$n5" hook)" = "pending 1 0" ]' "$(delivery "$n5" hook)"
kill -KILL "$it_pid"
wait "$it_pid" 2>/dev/null
it_pid=
cat "$it_log" >>"$it_tmp/serve-all.log"
it_serve --config "$it_tmp/vigil.conf"
if it_wait_for 60 delivered "$n5" hook; then
	ok "after kill -9 and a restart, the in-flight notification is delivered"
else
	not_ok "after kill -9 and a restart, the in-flight notification is delivered ($(delivery "$n5" hook))"
fi
check "... with a second attempt, accepted once" \
	'[ "$(delivery "$n5" hook)" = "delivered 2 200" ] && [ "$(sink_lines "$n5" | grep -c " 200$")" -eq 1 ]' \
	"$(delivery "$n5" hook); $(sink_lines "$n5" | tr '\n' ' ')"

# --- 7. SIGTERM while a request is in flight --------------------------------------------------
n6=$(notify E firing hook "HANG-ME then stop")
if it_wait_for 20 hanging "$n6"; then
	ok "the sink holds E's request"
else
	not_ok "the sink holds E's request ($(delivery "$n6" hook))"
fi
t0=$(date +%s)
it_serve_stop
st=$?
t1=$(date +%s)
check "SIGTERM: vigil exits 0 without waiting for the receiver (exit $st, $((t1 - t0)) s)" \
	'[ "$st" -eq 0 ] && [ $((t1 - t0)) -le 5 ]'
check "... the interrupted delivery is due again, the attempt not counted" \
	'[ "$(delivery "$n6" hook)" = "pending 0 0" ]' "$(delivery "$n6" hook)"
cat "$it_log" >>"$it_tmp/serve-all.log"
it_serve --config "$it_tmp/vigil.conf"
if it_wait_for 30 delivered "$n6" hook; then
	ok "... and delivered after a restart"
else
	not_ok "... and delivered after a restart ($(delivery "$n6" hook))"
fi

# --- 9. a long evaluation does not hold up notifications -------------------------------------
# The scheduler and the notifier run on threads of their own (monitor/tasks.c). A psql
# session holds an ACCESS EXCLUSIVE lock on predictions, so the scheduler's next run stops
# in the middle of its work (its statement reading predictions waits for the lock): a
# stand-in for an evaluation that takes long. A notification written meanwhile must be
# delivered while the scheduler is still held up; with one maintenance thread for both it
# would wait for the lock. Then SIGTERM while the scheduler is held up: vigil exits 0 once
# the scheduler's unit of work can finish.
sql "INSERT INTO alerts (fingerprint, model_id, rule_id, scope, labels, severity, state,
	first_breach, last_breach, notified) VALUES ('fp-F', $model, $rule, 'performance', '{}',
	'page', 'firing', now(), now(), true)" >/dev/null
alert_F=$(sql "SELECT id FROM alerts WHERE fingerprint = 'fp-F'")
# hold_predictions SECONDS: the lock, in the background; its pid in locker
hold_predictions() {
	PGAPPNAME=it-locker psql "$DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 >/dev/null 2>&1 <<SQL &
BEGIN;
LOCK TABLE predictions IN ACCESS EXCLUSIVE MODE;
SELECT pg_sleep($1);
COMMIT;
SQL
	locker=$!
	it_bg "$locker"
}
release_predictions() {
	sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	     WHERE application_name = 'it-locker'" >/dev/null
	it_wait_exit "$locker" 10
}
scheduler_held() { # the scheduler's statement waits for the lock
	[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
		AND query LIKE '%evaluation_window_start%' AND application_name <> 'it-locker'")" -ge 1 ]
}
hold_predictions 120
if it_wait_for 20 scheduler_held; then
	ok "the scheduler is held up in the middle of a run (waiting for the lock on predictions)"
else
	not_ok "the scheduler is held up ($(sql "SELECT application_name, wait_event_type, left(query, 60)
		FROM pg_stat_activity WHERE datname = current_database()" | tr '\n' ' '))"
fi
t0=$(date +%s)
n7=$(notify F firing hook "while the scheduler is held up")
if it_wait_for 10 delivered "$n7" hook; then
	ok "a notification is delivered while the scheduler is held up ($(($(date +%s) - t0)) s)"
else
	not_ok "a notification is delivered while the scheduler is held up ($(delivery "$n7" hook))"
fi
check "... and the scheduler was held up all along" 'scheduler_held'
release_predictions
scheduler_free() {
	! scheduler_held
}
check "the scheduler goes on once the lock is gone" 'it_wait_for 10 scheduler_free'
hold_predictions 120
if it_wait_for 20 scheduler_held; then
	kill -TERM "$it_pid"
	sleep 2
	check "SIGTERM while the scheduler is held up: vigil waits for its unit of work" \
		'it_alive "$it_pid"'
	release_predictions
	it_wait_exit "$it_pid" 20
	check "... and exits 0 once it is done (exit $it_status)" '[ "$it_status" -eq 0 ]'
	it_pid=
else
	not_ok "the scheduler is held up again"
	release_predictions
	it_serve_stop
fi
check "... having logged that it stopped" 'grep -q "server: stopped" "$it_log"'
cat "$it_log" >>"$it_tmp/serve-all.log"
it_serve --config "$it_tmp/vigil.conf"

# --- every notification accepted exactly once, nothing left over ---------------------------
dups=$(awk '$2 == 200 {print $3}' "$hooklog" | sort | uniq -d)
check "no notification was accepted twice by the webhook" '[ -z "$dups" ]' "$dups"
check "nothing is left pending" \
	'[ "$(sql "SELECT count(*) FROM notification_deliveries WHERE state = '"'pending'"'")" -eq 0 ]' \
	"$(sql "SELECT notification_id, receiver, state, attempts FROM notification_deliveries WHERE state = 'pending'")"
check "PHI-free logs: no payload text in vigil's log" \
	'! grep -q "sensitivity dropped\|REJECT-ME\|segA" "$it_tmp/serve-all.log" "$it_log"'
if it_serve_stop; then
	ok "vigil serve stops cleanly"
else
	not_ok "vigil serve stops cleanly (exit $it_status)"
	cat "$it_log"
fi
for p in $sink_pid $am_pid; do
	kill -TERM "$p" 2>/dev/null
	it_wait_exit "$p" 15
done
if [ "$failures" -ne 0 ]; then
	echo "---- vigil logs"
	cat "$it_tmp/serve-all.log" "$it_log" | tail -n 80
fi
finish
