#!/bin/sh
# tests/integration/alerts.sh - alert rules, the alert engine, acknowledgement, silences
#
# A real vigil serve on a throwaway PostgreSQL. Windows and results are written with psql
# in the shape the scheduler writes them (sql/0003_evaluation.sql), and evaluated with
# `vigil alerts evaluate` as the scheduler does after each window, so this test needs no
# predictions. It checks: default rules on registration with the severity the costs give
# (and follow when costs change); the rules API (422 with pointers, 403, upsert); for/clear
# hysteresis; idempotent re-evaluation; one alert per fingerprint; min_n, insufficient
# results and the status filter deciding nothing; interval conditions relative to the
# reference per segment value; ack/resolve needing a note (400) and the oncall role (403);
# a hand resolution restarting the count; GET filters; silences (mandatory comment, expiry,
# delete); inhibition of feature drift by a volume alert, lifted when it resolves; outbox
# rows in the evaluation's transaction (a failing outbox insert rolls everything back) and
# none while muted; an audit row for every state change and human action; an intact chain.
. "$top_srcdir/tests/integration/lib.sh"

it_pg_start
it_serve
admin=$(it_token admin al-admin)
viewer=$(it_token viewer al-viewer)
oncall=$(it_token oncall al-oncall)
compliance=$(it_token compliance al-compliance)

sql() {
	psql "$DATABASE_URL" -XAtqc "$1"
}

# check_sql NAME WANT QUERY
check_sql() {
	got=$(sql "$3")
	if [ "$got" = "$2" ]; then
		ok "$1"
	else
		not_ok "$1 (got '$got', wanted '$2')"
	fi
}

# check_eq NAME WANT GOT
check_eq() {
	if [ "$3" = "$2" ]; then
		ok "$1"
	else
		not_ok "$1 (got '$3', wanted '$2')"
	fi
}

# post_json NAME WANT PATH TOKEN JSON
post_json() {
	check_status "$1" "$2" POST "$3" "$4" -H 'Content-Type: application/json' --data-binary "$5"
}

# v X: X as an SQL literal, "-" as NULL
v() {
	if [ "$1" = - ]; then echo NULL; else echo "'$1'"; fi
}

# win MODEL DAY: create the model's window for day DAY of March 2024 (evaluated, so the
# scheduler leaves it alone); prints its id
win() {
	sql "INSERT INTO windows (model_id, start_at, end_at, state, evaluations, evaluated_at)
	     SELECT id, '2024-03-01T00:00:00Z'::timestamptz + ($2 - 1) * interval '1 day',
		    '2024-03-01T00:00:00Z'::timestamptz + $2 * interval '1 day', 'done', 1, now()
	     FROM models WHERE name = '$1' RETURNING id"
}

# res WINDOW SCOPE FEATURE SEGMENT VALUE METRIC VALUE CI_LOW CI_HIGH Q N [INSUFFICIENT [STATUS]]
res() {
	sql "INSERT INTO results (model_id, window_id, scope, feature, segment, segment_value,
		metric, value, ci_low, ci_high, q_value, n, insufficient, status, method)
	     SELECT model_id, id, '$2', $(v "$3"), $(v "$4"), $(v "$5"), '$6', $(v "$7"),
		    $(v "$8"), $(v "$9"), $(v "${10}"), $(v "${11}"), ${12:-false}, $(v "${13:--}"),
		    'test'
	     FROM windows WHERE id = $1"
}

# evaluate NAME MODEL WINDOW: run the engine on a window; it must succeed
evaluate() {
	if vigil alerts evaluate --model "$2" --window "$3" >"$it_tmp/eval" 2>&1; then
		ok "$1: $(cat "$it_tmp/eval")"
	else
		not_ok "$1: vigil alerts evaluate failed"
		cat "$it_tmp/eval"
	fi
}

# alert FILTER: the id of the one alert matching an SQL condition on alerts
alert() {
	sql "SELECT id FROM alerts WHERE $1"
}

# events ID: the alert's outbox rows' events in order, comma-separated
events() {
	sql "SELECT coalesce(string_agg(event, ',' ORDER BY id), '') FROM notifications
	     WHERE alert_id = $1"
}

# --- default rules on registration ------------------------------------------------------------
post_json "register sepsis (a missed case costs more): 201" 201 /v1/models "$admin" \
	'{"name": "sepsis", "fn_cost": 5, "fp_cost": 1,
	  "features": [{"name": "lactate", "type": "numeric"}, {"name": "hr", "type": "numeric"},
		       {"name": "ward", "type": "categorical"}],
	  "segments": ["sex"]}'
post_json "register screen (a false alarm costs more): 201" 201 /v1/models "$admin" \
	'{"name": "screen", "fn_cost": 1, "fp_cost": 4, "features": [{"name": "x", "type": "numeric"}]}'
check_status "viewer reads sepsis's rules" 200 GET /v1/models/sepsis/rules "$viewer"
check_jq "eight default rules" \
	'.model == "sepsis" and (.rules | length) == 8 and all(.rules[]; .is_default and .enabled)
	 and ([.rules[].name] | sort) == ["feature-drift", "label-coverage-stalled", "ppv-drop",
	 "ppv-drop-estimated", "score-drift", "sensitivity-drop", "sensitivity-drop-estimated",
	 "volume-drop"]'
check_jq "fn_cost > fp_cost: sensitivity drops page, PPV drops file tickets" \
	'[.rules[] | {(.name): .severity}] | add | .["sensitivity-drop"] == "page" and
	 .["sensitivity-drop-estimated"] == "page" and .["ppv-drop"] == "ticket" and
	 .["ppv-drop-estimated"] == "ticket" and .["volume-drop"] == "page" and
	 .["feature-drift"] == "ticket" and .["score-drift"] == "ticket" and
	 .["label-coverage-stalled"] == "ticket"'
check_jq "the sensitivity rule: whole interval 0.05 below the reference, any segment value" \
	'.rules[] | select(.name == "sensitivity-drop") | .scope == "performance" and
	 .metric == "sensitivity" and .condition == "ci_below" and .baseline == "reference" and
	 .offset == -0.05 and .segment == "*" and .severity_follows == "fn_cost" and .min_n == 30'
check_jq "label coverage: looked at 14 days after a window ends" \
	'.rules[] | select(.name == "label-coverage-stalled") | .due_after == 1209600 and
	 .metric == "coverage" and .condition == "below" and .threshold == 0.5'
check_jq "feature drift: PSI above 0.2 and q below 0.05" \
	'.rules[] | select(.name == "feature-drift") | .metric == "psi" and .condition == "above"
	 and .threshold == 0.2 and .and == [{"metric": ["ks", "chi_square"],
	 "condition": "q_below", "threshold": 0.05}] and .for == 2'
check_status "viewer reads screen's rules" 200 GET /v1/models/screen/rules "$viewer"
check_jq "fp_cost > fn_cost: the reverse" \
	'[.rules[] | {(.name): .severity}] | add | .["sensitivity-drop"] == "ticket" and
	 .["ppv-drop"] == "page" and .["ppv-drop-estimated"] == "page"'
sql "UPDATE models SET fn_cost = 10 WHERE name = 'screen'" >/dev/null
check_status "rules after screen's costs change" 200 GET /v1/models/screen/rules "$viewer"
check_jq "the severity follows the costs" \
	'[.rules[] | {(.name): .severity}] | add | .["sensitivity-drop"] == "page" and
	 .["ppv-drop"] == "ticket"'
sql "UPDATE models SET fn_cost = 1 WHERE name = 'screen'" >/dev/null
check_status "unknown model's rules: 404" 404 GET /v1/models/nope/rules "$viewer"

# --- the rules API ----------------------------------------------------------------------------
bad_rule() { # NAME POINTER BODY
	got=$(it_req POST /v1/models/sepsis/rules "$admin" -H 'Content-Type: application/json' \
		--data-binary "$3")
	ptr=$(jq -r .pointer "$it_body" 2>/dev/null)
	if [ "$got" = 422 ] && [ "$ptr" = "$2" ]; then
		ok "rule rejected: $1 ($2)"
	else
		not_ok "rule rejected: $1 (status $got, pointer $ptr, wanted 422 $2)"
		cat "$it_body"
		echo
	fi
}
bad_rule "unknown condition" /condition \
	'{"name": "r", "scope": "feature", "metric": "psi", "condition": "sideways 1", "severity": "page"}'
bad_rule "no threshold" /threshold \
	'{"name": "r", "scope": "feature", "metric": "psi", "condition": "above", "severity": "page"}'
bad_rule "bad scope" /scope \
	'{"name": "r", "scope": "vibes", "metric": "psi", "condition": "above 1", "severity": "page"}'
bad_rule "no severity" /severity \
	'{"name": "r", "scope": "feature", "metric": "psi", "condition": "above 1"}'
bad_rule "both severities" /severity \
	'{"name": "r", "scope": "feature", "metric": "psi", "condition": "above 1", "severity": "page", "severity_follows": "fn_cost"}'
bad_rule "for out of range" /for \
	'{"name": "r", "scope": "feature", "metric": "psi", "condition": "above 1", "severity": "page", "for": 0}'
bad_rule "bad clause" /and/0/threshold \
	'{"name": "r", "scope": "feature", "metric": "psi", "condition": "above 1", "severity": "page", "and": [{"metric": "ks", "condition": "q_below 2"}]}'
bad_rule "unknown field" /colour \
	'{"name": "r", "scope": "feature", "metric": "psi", "condition": "above 1", "severity": "page", "colour": "red"}'
rule='{"name": "lactate-shift", "scope": "feature", "feature": "lactate", "metric": "psi",
       "condition": "above 0.3", "severity": "page", "for": 2, "clear": 2, "min_n": 50,
       "description": "lactate distribution moved"}'
post_json "a viewer may not add rules: 403" 403 /v1/models/sepsis/rules "$viewer" "$rule"
post_json "an oncall token may not add rules: 403" 403 /v1/models/sepsis/rules "$oncall" "$rule"
post_json "admin adds a rule: 201" 201 /v1/models/sepsis/rules "$admin" "$rule"
check_jq "the stored rule" '.name == "lactate-shift" and .threshold == 0.3 and .for == 2 and
	.clear == 2 and .min_n == 50 and .is_default == false and .feature == "lactate"'
post_json "the same name again replaces it: 200" 200 /v1/models/sepsis/rules "$admin" \
	"$(echo "$rule" | sed 's/above 0.3/above 0.25/')"
check_jq "replaced" '.threshold == 0.25'
post_json "a rule for an unknown model: 404" 404 /v1/models/nope/rules "$admin" "$rule"
check_sql "rule changes are audited" "1|1" \
	"SELECT count(*) FILTER (WHERE action = 'alert.rule.create'), count(*) FILTER (WHERE action = 'alert.rule.update') FROM audit_log WHERE target = 'sepsis/lactate-shift' AND actor = 'al-admin'"
# label coverage stalls only count on final windows: keep that default, test it below

# --- hysteresis, idempotence, fingerprints ------------------------------------------------------
w1=$(win sepsis 1)
res "$w1" feature lactate - - psi 0.4 - - - 200
evaluate "window 1 (one breach)" sepsis "$w1"
check_sql "one breach of two: no alert yet, one decision" "0|1" \
	"SELECT (SELECT count(*) FROM alerts), (SELECT count(*) FROM alert_decisions)"
evaluate "window 1 again" sepsis "$w1"
check_sql "re-evaluating a window does not count it twice" "0|1" \
	"SELECT (SELECT count(*) FROM alerts), (SELECT count(*) FROM alert_decisions)"
w2=$(win sepsis 2)
res "$w2" feature lactate - - psi 0.5 - - - 200
evaluate "window 2 (second breach)" sepsis "$w2"
check_sql "two consecutive breaches: firing" \
	"firing|page|2024-03-02T00:00:00Z|2024-03-03T00:00:00Z|2|0" \
	"SELECT state, severity, alert_ts(first_breach), alert_ts(last_breach), consecutive_breaches, consecutive_clean FROM alerts"
lactate=$(alert "labels->>'alertname' = 'lactate-shift'")
check_eq "one firing notification in the outbox" "firing" "$(events "$lactate")"
check_sql "...with Alertmanager labels and a description of the values" \
	"lactate-shift|sepsis|feature|lactate|page||t|/v1/alerts/$lactate|firing" \
	"SELECT payload->'labels'->>'alertname', payload->'labels'->>'model', payload->'labels'->>'scope', payload->'labels'->>'feature', payload->'labels'->>'severity', payload->'labels'->>'segment', payload->'annotations'->>'description' LIKE 'psi 0.5 (n 200) above 0.25 in the window ending 2024-03-03T00:00:00Z.%', payload->>'generatorURL', payload->>'status' FROM notifications"
check_sql "outbox payload has startsAt and a null endsAt" "2024-03-02T00:00:00Z|null" \
	"SELECT payload->>'startsAt', jsonb_typeof(payload->'endsAt') FROM notifications"
check_sql "the change is in alert_events and the audit log, by vigil" "1|1" \
	"SELECT (SELECT count(*) FROM alert_events WHERE to_state = 'firing' AND actor = 'vigil'), (SELECT count(*) FROM audit_log WHERE action = 'alert.firing' AND actor = 'vigil' AND target = 'alert/$lactate')"
evaluate "window 2 again" sepsis "$w2"
w3=$(win sepsis 3)
res "$w3" feature lactate - - psi 0.6 - - - 200
evaluate "window 3 (still breaching)" sepsis "$w3"
check_sql "one alert per fingerprint: updated, not repeated" \
	"1|firing|3|2024-03-04T00:00:00Z|1|1" \
	"SELECT count(*), min(state), max(consecutive_breaches), alert_ts(max(last_breach)), (SELECT count(*) FROM notifications), (SELECT count(*) FROM alert_events) FROM alerts"
check_status "GET the alert" 200 GET "/v1/alerts/$lactate" "$viewer"
check_jq "it carries the values that breached and its history" \
	'.breached.window_end == "2024-03-04T00:00:00Z" and .breached.values[0].metric == "psi"
	 and .breached.values[0].value == 0.6 and .breached.values[0].threshold == 0.25 and
	 .first_breach == "2024-03-02T00:00:00Z" and .last_breach == "2024-03-04T00:00:00Z" and
	 .model == "sepsis" and .rule == "lactate-shift" and .segment == null and
	 (.events | length) == 1 and .events[0].to == "firing"'
w4=$(win sepsis 4)
res "$w4" feature lactate - - psi 0.1 - - - 200
evaluate "window 4 (one clean window)" sepsis "$w4"
check_sql "one clean window of two: still firing" "firing|0|1" \
	"SELECT state, consecutive_breaches, consecutive_clean FROM alerts WHERE id = $lactate"
w5=$(win sepsis 5)
res "$w5" feature lactate - - psi 0.9 - - - 10
evaluate "window 5 (below min_n)" sepsis "$w5"
w6=$(win sepsis 6)
res "$w6" feature lactate - - psi 0.9 - - - 500 true
evaluate "window 6 (insufficient)" sepsis "$w6"
check_sql "min_n and insufficient results decide nothing" "firing|0|1|4" \
	"SELECT state, consecutive_breaches, consecutive_clean, (SELECT count(*) FROM alert_decisions) FROM alerts WHERE id = $lactate"
w7=$(win sepsis 7)
res "$w7" feature lactate - - psi 0.05 - - - 200
evaluate "window 7 (second clean window)" sepsis "$w7"
check_sql "two clean windows: resolved by vigil, announced" "resolved|vigil|firing,resolved" \
	"SELECT state, resolved_by, '$(events "$lactate")' FROM alerts WHERE id = $lactate"
check_sql "the resolution is audited" "1" \
	"SELECT count(*) FROM audit_log WHERE action = 'alert.resolved' AND actor = 'vigil' AND target = 'alert/$lactate'"

# --- performance relative to the reference, per segment value ---------------------------------
ref=$(sql "INSERT INTO model_references (model_id, kind, rows, active) SELECT id, 'upload', 1000, true FROM models WHERE name = 'sepsis' RETURNING id")
sql "INSERT INTO reference_metrics (reference_id, segment, segment_value, metric, value, n, labeled_rows)
     VALUES ($ref, NULL, NULL, 'sensitivity', 0.85, 400, 1000),
	    ($ref, 'sex', 'F', 'sensitivity', 0.86, 200, 1000),
	    ($ref, 'sex', 'M', 'sensitivity', 0.84, 200, 1000),
	    ($ref, NULL, NULL, 'ppv', 0.50, 400, 1000)" >/dev/null
# the realised-performance defaults need two breaching windows running (for: 2): one noisy
# window of a small segment must not page (tests/integration/realdata.sh's 50 windows
# resampled from the reference found a single-window rule paging about every other run)
res "$w7" performance - sex F sensitivity 0.70 0.62 0.77 - 150 false final
res "$w7" performance - sex F ppv 0.30 0.20 0.35 - 150 false final
evaluate "window 7 again (its performance arrived)" sepsis "$w7"
check_sql "one breaching window does not page" "0" \
	"SELECT count(*) FROM alerts WHERE labels->>'alertname' IN ('sensitivity-drop', 'ppv-drop')"
w8=$(win sepsis 8)
res "$w8" performance - - - sensitivity 0.82 0.78 0.86 - 300 false final
res "$w8" performance - sex F sensitivity 0.70 0.62 0.77 - 150 false final
res "$w8" performance - sex M sensitivity 0.60 0.40 0.75 - 20 false final
res "$w8" performance - sex F ppv 0.30 0.20 0.35 - 150 false final
evaluate "window 8 (performance)" sepsis "$w8"
sens=$(alert "labels->>'alertname' = 'sensitivity-drop'")
check_sql "only sex=F's sensitivity breaches (the whole population is clean, M too small)" \
	"1|sex|F|page|firing" \
	"SELECT count(*), min(segment), min(segment_value), min(severity), min(state) FROM alerts WHERE labels->>'alertname' = 'sensitivity-drop'"
check_sql "threshold = the segment value's reference - 0.05" "0.810000|0.86|0.77" \
	"SELECT round((breach_values->'values'->0->>'threshold')::numeric, 6), breach_values->'values'->0->>'reference', breach_values->'values'->0->>'ci_high' FROM alerts WHERE id = $sens"
check_sql "PPV of sex=F against the whole reference (no segment value): a ticket" "ticket|true" \
	"SELECT severity, breach_values->'values'->0->>'reference_whole_population' FROM alerts WHERE labels->>'alertname' = 'ppv-drop'"

# --- label coverage, looked at once it is due -------------------------------------------------
res "$w1" label_coverage - - - coverage 0.2 - - - 300
res "$w2" label_coverage - - - coverage 0.3 - - - 300
check_sql "no window was 14 days old when evaluated: no coverage decision yet" "0" \
	"SELECT count(*) FROM alert_decisions d JOIN alert_rules r ON r.id = d.rule_id WHERE r.name = 'label-coverage-stalled'"
w15=$(win sepsis 15)
evaluate "window 15 (looks back at window 1's coverage)" sepsis "$w15"
check_sql "window 1 decided 14 days on, no alert after one window" "$w1|t|0" \
	"SELECT d.window_id, d.breach, (SELECT count(*) FROM alerts WHERE labels->>'alertname' = 'label-coverage-stalled') FROM alert_decisions d JOIN alert_rules r ON r.id = d.rule_id WHERE r.name = 'label-coverage-stalled'"
w16=$(win sepsis 16)
evaluate "window 16 (looks back at window 2's)" sepsis "$w16"
check_sql "labels stalled in two windows running: a ticket" "ticket|firing|$w2|2024-03-02T00:00:00Z" \
	"SELECT severity, state, last_window_id, alert_ts(first_breach) FROM alerts WHERE labels->>'alertname' = 'label-coverage-stalled'"

# --- GET /v1/alerts ---------------------------------------------------------------------------
check_status "viewer lists alerts" 200 GET /v1/alerts "$viewer"
check_jq "every alert, newest change first, with its fields" \
	'(.alerts | length) == 4 and all(.alerts[]; has("id") and has("model") and has("rule")
	 and has("scope") and has("segment") and has("severity") and has("state") and
	 has("first_breach") and has("last_breach") and has("breached"))'
check_status "?severity=page" 200 GET "/v1/alerts?severity=page" "$viewer"
check_jq "pages: lactate and sensitivity" '[.alerts[].rule] | sort == ["lactate-shift", "sensitivity-drop"]'
check_status "?state=firing&model=sepsis&severity=ticket" 200 \
	GET "/v1/alerts?state=firing&model=sepsis&severity=ticket" "$oncall"
check_jq "firing tickets" '[.alerts[].rule] | sort == ["label-coverage-stalled", "ppv-drop"]'
check_status "?state=resolved" 200 GET "/v1/alerts?state=resolved" "$compliance"
check_jq "resolved: lactate" '[.alerts[].rule] == ["lactate-shift"]'
check_status "?model=screen" 200 GET "/v1/alerts?model=screen" "$viewer"
check_jq "none for screen" '.alerts == []'
check_status "?state=bogus: 400" 400 GET "/v1/alerts?state=bogus" "$viewer"
check_status "?limit=0: 400" 400 GET "/v1/alerts?limit=0" "$viewer"
check_status "no token: 401" 401 GET /v1/alerts
check_status "unknown alert: 404" 404 GET /v1/alerts/999999 "$viewer"

# --- acknowledging and resolving by hand ------------------------------------------------------
check_status "ack without a body: 400" 400 POST "/v1/alerts/$sens/ack" "$oncall"
post_json "ack without a note: 400" 400 "/v1/alerts/$sens/ack" "$oncall" '{}'
check_jq "the problem points at /note" '.pointer == "/note" and .status == 400'
post_json "ack with a blank note: 400" 400 "/v1/alerts/$sens/ack" "$oncall" '{"note": "  "}'
post_json "a viewer may not ack: 403" 403 "/v1/alerts/$sens/ack" "$viewer" '{"note": "mine"}'
post_json "compliance may not ack: 403" 403 "/v1/alerts/$sens/ack" "$compliance" '{"note": "x"}'
post_json "a viewer may not resolve: 403" 403 "/v1/alerts/$sens/resolve" "$viewer" '{"note": "x"}'
post_json "oncall acks with a note: 200" 200 "/v1/alerts/$sens/ack" "$oncall" \
	'{"note": "looking at ward 4 sepsis screening"}'
check_jq "acknowledged by the token, with the note" \
	'.state == "acknowledged" and .acknowledged.by == "al-oncall" and
	 .acknowledged.note == "looking at ward 4 sepsis screening" and
	 .events[-1].from == "firing" and .events[-1].to == "acknowledged"'
post_json "ack again: 409" 409 "/v1/alerts/$sens/ack" "$oncall" '{"note": "again"}'
check_jq "409 carries the alert" '.alert.state == "acknowledged"'
check_sql "the ack is announced and audited with who and why" \
	"firing,acknowledged|1" \
	"SELECT '$(events "$sens")', (SELECT count(*) FROM audit_log WHERE action = 'alert.acknowledged' AND actor = 'al-oncall' AND target = 'alert/$sens' AND detail->>'note' = 'looking at ward 4 sepsis screening')"
evaluate "window 8 again (acknowledged stays acknowledged)" sepsis "$w8"
check_sql "re-evaluation leaves the acknowledgement" "acknowledged|2" \
	"SELECT state, (SELECT count(*) FROM notifications WHERE alert_id = $sens) FROM alerts WHERE id = $sens"
post_json "resolve without a note: 400" 400 "/v1/alerts/$sens/resolve" "$oncall" '{"note": ""}'
post_json "admin resolves by hand: 200" 200 "/v1/alerts/$sens/resolve" "$admin" \
	'{"note": "screening protocol fixed"}'
check_jq "resolved by the token" '.state == "resolved" and .resolved.by == "al-admin" and
	.resolved.note == "screening protocol fixed"'
post_json "resolve again: 409" 409 "/v1/alerts/$sens/resolve" "$oncall" '{"note": "x"}'
post_json "ack a resolved alert: 409" 409 "/v1/alerts/$sens/ack" "$oncall" '{"note": "x"}'
post_json "ack an unknown alert: 404" 404 "/v1/alerts/999999/ack" "$oncall" '{"note": "x"}'
evaluate "window 8 again (after the hand resolution)" sepsis "$w8"
check_sql "windows before a hand resolution do not reopen it" "resolved" \
	"SELECT state FROM alerts WHERE id = $sens"
w9=$(win sepsis 9)
res "$w9" performance - sex F sensitivity 0.66 0.56 0.75 - 150 false final
evaluate "window 9 (sex=F breaches again, once)" sepsis "$w9"
check_sql "one new breach after a hand resolution is not enough" "resolved" \
	"SELECT state FROM alerts WHERE id = $sens"
w10=$(win sepsis 10)
res "$w10" performance - sex F sensitivity 0.65 0.55 0.74 - 150 false final
evaluate "window 10 (sex=F breaches again)" sepsis "$w10"
check_sql "a new breach reopens the same alert, acknowledgement cleared" \
	"1|firing||firing,acknowledged,resolved,firing" \
	"SELECT count(*), min(state), min(acked_by), '$(events "$sens")' FROM alerts WHERE labels->>'alertname' = 'sensitivity-drop'"

# --- silences ---------------------------------------------------------------------------------
# long enough for two evaluations on a busy machine (slower under valgrind), then waited out
end_s=$(($(date -u +%s) + 20 * it_slow))
ends=$(date -u -d "@$end_s" +%Y-%m-%dT%H:%M:%SZ)
silence="{\"matchers\": [{\"name\": \"model\", \"value\": \"sepsis\"},
	  {\"name\": \"alertname\", \"value\": \"volume-.*\", \"isRegex\": true}],
	  \"ends_at\": \"$ends\", \"author\": \"Dr. On Call\""
post_json "a silence without a comment: 422" 422 /v1/silences "$oncall" "$silence}"
check_jq "...naming /comment" '.pointer == "/comment"'
post_json "a silence with a bad regex: 422" 422 /v1/silences "$oncall" \
	'{"matchers": [{"name": "model", "value": "(", "isRegex": true}], "ends_at": "2999-01-01T00:00:00Z", "comment": "x"}'
post_json "a silence that has ended: 422" 422 /v1/silences "$oncall" \
	'{"matchers": [{"name": "model", "value": "sepsis"}], "ends_at": "2001-01-01T00:00:00Z", "comment": "x"}'
post_json "a viewer may not silence: 403" 403 /v1/silences "$viewer" "$silence, \"comment\": \"feed maintenance\"}"
post_json "oncall silences the volume alerts for a few seconds: 201" 201 /v1/silences "$oncall" \
	"$silence, \"comment\": \"feed maintenance\"}"
check_jq "the silence is active" '.state == "active" and .author == "Dr. On Call" and
	.created_by == "al-oncall" and .matchers[1].isRegex == true'
sil=$(jq -r .id "$it_body")
check_status "viewer lists active silences" 200 GET "/v1/silences?state=active" "$viewer"
check_jq "one active" '[.silences[].id] == ['"$sil"']'

w11=$(win sepsis 11)
res "$w11" volume - - - volume_ratio 0.3 - - - 300
res "$w11" feature hr - - psi 0.5 - - - 500
res "$w11" feature hr - - ks 0.3 - - 0.001 500
res "$w11" feature ward - - psi 0.5 - - - 500
res "$w11" feature ward - - chi_square 30 - - 0.2 500
evaluate "window 11 (volume halved; hr drifts)" sepsis "$w11"
vol=$(alert "labels->>'alertname' = 'volume-drop'")
check_sql "a silenced alert still fires, without a notification" "firing|t|f|" \
	"SELECT state, silenced, notified, '$(events "$vol")' FROM alerts WHERE id = $vol"
check_sql "...and its state change is still audited" "1" \
	"SELECT count(*) FROM audit_log WHERE action = 'alert.firing' AND target = 'alert/$vol' AND detail->>'muted' = 'true'"
w12=$(win sepsis 12)
res "$w12" volume - - - volume_ratio 0.3 - - - 300
res "$w12" feature hr - - psi 0.5 - - - 500
res "$w12" feature hr - - ks 0.3 - - 0.001 500
res "$w12" feature ward - - psi 0.5 - - - 500
res "$w12" feature ward - - chi_square 30 - - 0.2 500
evaluate "window 12 (volume still low; hr drifts again)" sepsis "$w12"
hr=$(alert "labels->>'alertname' = 'feature-drift' AND feature = 'hr'")
check_sql "PSI without a significant test is no feature drift" "0" \
	"SELECT count(*) FROM alerts WHERE feature = 'ward'"
check_sql "hr drift fires, inhibited by the volume alert: no notification" "firing|t|" \
	"SELECT state, inhibited, '$(events "$hr")' FROM alerts WHERE id = $hr"
check_sql "the volume alert is still silenced (the test was fast enough)" "t" \
	"SELECT silenced FROM alerts WHERE id = $vol"

while [ "$(date -u +%s)" -le "$end_s" ]; do
	sleep 1
done
if vigil alerts refresh >"$it_tmp/refresh" 2>&1; then
	ok "vigil alerts refresh: $(cat "$it_tmp/refresh")"
else
	not_ok "vigil alerts refresh failed"
	cat "$it_tmp/refresh"
fi
check_sql "once the silence ends the volume alert is announced; hr stays inhibited" \
	"firing|f|" \
	"SELECT '$(events "$vol")', (SELECT silenced FROM alerts WHERE id = $vol), '$(events "$hr")'"
check_status "the silence is listed as expired" 200 GET "/v1/silences?state=expired" "$viewer"
check_jq "expired" '[.silences[].id] == ['"$sil"']'
check_status "delete the ended silence: 204" 204 DELETE "/v1/silences/$sil" "$oncall"
check_status "delete it again: 404" 404 DELETE "/v1/silences/$sil" "$oncall"
check_status "a viewer may not delete silences: 403" 403 DELETE "/v1/silences/$sil" "$viewer"
check_sql "silence create and delete are audited with the comment" "1|1" \
	"SELECT count(*) FILTER (WHERE action = 'silence.create' AND detail->>'comment' = 'feed maintenance'), count(*) FILTER (WHERE action = 'silence.delete') FROM audit_log WHERE actor = 'al-oncall'"

w13=$(win sepsis 13)
res "$w13" volume - - - volume_ratio 1.0 - - - 600
res "$w13" feature hr - - psi 0.5 - - - 500
res "$w13" feature hr - - ks 0.3 - - 0.001 500
evaluate "window 13 (volume back; hr still drifts)" sepsis "$w13"
check_sql "volume resolves; hr is no longer inhibited and is announced" \
	"resolved|firing,resolved|firing|f" \
	"SELECT (SELECT state FROM alerts WHERE id = $vol), '$(events "$vol")', '$(events "$hr")', (SELECT inhibited FROM alerts WHERE id = $hr)"

# --- the outbox commits with the change, or neither does --------------------------------------
sql "CREATE FUNCTION test_fail_outbox() RETURNS trigger LANGUAGE plpgsql AS \$\$
     BEGIN RAISE EXCEPTION 'outbox unavailable'; END \$\$;
     CREATE TRIGGER test_fail_outbox BEFORE INSERT ON notifications
	FOR EACH ROW EXECUTE FUNCTION test_fail_outbox();" >/dev/null
before=$(sql "SELECT (SELECT count(*) FROM alerts), (SELECT count(*) FROM alert_events), (SELECT count(*) FROM alert_decisions), (SELECT count(*) FROM audit_log), (SELECT count(*) FROM notifications)")
w14=$(win screen 1)
res "$w14" volume - - - volume_ratio 0.1 - - - 50
if vigil alerts evaluate --model screen --window "$w14" >"$it_tmp/eval" 2>&1; then
	not_ok "an evaluation whose outbox insert fails must fail"
else
	ok "an evaluation whose outbox insert fails fails"
fi
check_sql "...and leaves no alert, event, decision or audit row behind" "$before" \
	"SELECT (SELECT count(*) FROM alerts), (SELECT count(*) FROM alert_events), (SELECT count(*) FROM alert_decisions), (SELECT count(*) FROM audit_log), (SELECT count(*) FROM notifications)"
sql "DROP TRIGGER test_fail_outbox ON notifications" >/dev/null
evaluate "the same window once the outbox works" screen "$w14"
check_sql "now alert, event, audit row and notification commit together" "1|1|1|firing" \
	"SELECT count(*), (SELECT count(*) FROM alert_events e WHERE e.alert_id = min(a.id)), (SELECT count(*) FROM audit_log WHERE target = 'alert/' || min(a.id)), (SELECT string_agg(event, ',') FROM notifications n WHERE n.alert_id = min(a.id)) FROM alerts a WHERE model_id = (SELECT id FROM models WHERE name = 'screen')"

# --- the whole history ------------------------------------------------------------------------
check_sql "every state change has its audit row" "t" \
	"SELECT (SELECT count(*) FROM alert_events) = (SELECT count(*) FROM audit_log WHERE action IN ('alert.firing', 'alert.acknowledged', 'alert.resolved'))"
counts="SELECT (SELECT count(*) FROM alerts), (SELECT count(*) FROM alert_events), (SELECT count(*) FROM notifications), (SELECT string_agg(state, ',' ORDER BY id) FROM alerts)"
before=$(sql "$counts")
if vigil alerts evaluate --model sepsis --all >"$it_tmp/all" 2>&1; then
	ok "vigil alerts evaluate --all re-runs every window ($(wc -l <"$it_tmp/all") windows)"
else
	not_ok "vigil alerts evaluate --all"
	cat "$it_tmp/all"
fi
check_sql "re-running every window changes no state and announces nothing" "$before" "$counts"
check_status "the routes are in /openapi.json" 200 GET /openapi.json
check_jq "alerts, silences and rules are described" \
	'.paths["/v1/alerts/{id}/ack"].post and .paths["/v1/silences"].post and
	 .paths["/v1/models/{model}/rules"].get'
if vigil audit verify >"$it_tmp/verify" 2>&1; then
	ok "the audit chain is intact: $(cat "$it_tmp/verify")"
else
	not_ok "vigil audit verify"
	cat "$it_tmp/verify"
fi
it_serve_stop || not_ok "vigil serve exited with $it_status"
finish
