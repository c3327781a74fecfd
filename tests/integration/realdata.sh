#!/bin/sh
# tests/integration/realdata.sh - continuous evaluation and the default alert rules on real data
#
# The heart-disease data (tests/fixtures/heart_scored.csv: UCI, 4 sites; `score` is a
# logistic model fitted on Cleveland by tests/fixtures/gen_heart_scores.py) deployed at the
# other sites. A real vigil serve on a throwaway PostgreSQL evaluates daily windows with the
# scheduler (clock VIGIL_TEST_NOW = 2024-06-01T02:00:00Z, so every window up to 05-31 is
# due) and turns the results into alerts with the default rules only. Three models, the
# same registration, Cleveland's 303 labelled rows uploaded as each one's reference; the
# rows are resampled with replacement by a fixed seed, every row its own id, and every
# model's data ends on 05-31 (an empty window would be a volume drop):
#   heart  VA x3 days, Switzerland x3 days (150 rows a day, labelled), then the Hungarian
#          site's 294 real rows on 05-31, unlabelled at first, then 4 of 5 labels, then all;
#   noise  50 days of 100..150 rows resampled from the reference itself, labelled;
#   vol    4 days of 300 Cleveland rows, then 2 days of only 120 VA rows.
# Checked: the site shift fires feature/score drift alerts (ticket, after `for: 2`
# windows); per-sex sensitivity of the Hungarian window turns provisional, then final, as
# labels arrive; the CBPE estimate's interval of the unlabelled Hungarian window (nearly a
# pure covariate shift) holds the realised sensitivity and NPV; 50 windows of the
# reference raise no page; a volume drop pages and inhibits the feature-drift alerts (no
# outbox rows while it fires); ack, resolve and silences; the audit chain is intact.
. "$top_srcdir/tests/integration/lib.sh"

fx=$top_srcdir/tests/fixtures
cfgfile=$it_tmp/vigil.conf
printf 'evaluation_interval_s = 0\n' >"$cfgfile"
VIGIL_TEST_NOW=2024-06-01T02:00:00Z
export VIGIL_TEST_NOW
it_pg_start
it_serve --config "$cfgfile"
admin=$(it_token admin rd-admin)
ingest=$(it_token ingest rd-ingest)
viewer=$(it_token viewer rd-viewer)
oncall=$(it_token oncall rd-oncall)

sql() {
	psql "$DATABASE_URL" -XAtqc "$1"
}

check_sql() { # NAME WANT QUERY
	got=$(sql "$3")
	if [ "$got" = "$2" ]; then
		ok "$1"
	else
		not_ok "$1 (got '$got', wanted '$2')"
	fi
}

check_post() { # NAME WANT PATH TOKEN MEDIA-TYPE FILE
	name=$1 want=$2
	got=$(it_req POST "$3" "$4" -H "Content-Type: $5" --data-binary "@$6")
	if [ "$got" = "$want" ]; then
		ok "$name"
	else
		not_ok "$name (status $got, wanted $want)"
		head -c 800 "$it_body"
		echo
	fi
}

# --- data -------------------------------------------------------------------------------------
perl -e '
use strict; use warnings; use POSIX qw(strftime);
my ($csv, $dir) = @ARGV;
srand(20240601);
open(my $in, "<", $csv) or die;
my $hdr = <$in>; chomp $hdr;
my @cols = split /,/, $hdr;
my @feat = qw(age sex cp trestbps chol fbs restecg thalach exang oldpeak slope ca thal);
my %cat = map { $_ => 1 } qw(cp fbs restecg exang slope thal);
my %site;
while (my $line = <$in>) {
	chomp $line;
	my @v = split /,/, $line, -1;
	my %r; @r{@cols} = @v;
	my @f;
	for my $key (@feat) {
		my $x = $r{$key};
		if ($x eq "") { push @f, "\"$key\": null"; next }
		push @f, $cat{$key} ? "\"$key\": \"$x\"" : "\"$key\": $x";
	}
	$r{body} = sprintf("\"score\": %s, \"features\": {%s}, \"segments\": {\"site\": \"%s\", \"sex_label\": \"%s\"}",
		$r{score}, join(", ", @f), $r{site}, $r{sex_label});
	push @{$site{$r{site}}}, \%r;
}
my $end = 1717200000;	# 2024-06-01T00:00:00Z
my %out;
my $id = 0;
# day D (days before 06-01), rows: predictions spread over the day, labels (or not)
sub day {
	my ($model, $d, $rows, $lab) = @_;
	my $n = scalar @$rows;
	for my $j (0 .. $n - 1) {
		my $r = $rows->[$j];
		$id++;
		my $pid = sprintf("%s%05d", substr($model, 0, 1), $id);
		my $ts = strftime("%Y-%m-%dT%H:%M:%SZ", gmtime($end - 86400 * $d + int(86400 * $j / $n)));
		push @{$out{"${model}_preds"}}, "{\"id\": \"$pid\", \"ts\": \"$ts\", $r->{body}}";
		next unless $lab;
		my $l = "{\"prediction_id\": \"$pid\", \"label\": $r->{target}, \"ts\": \"2024-06-01T00:30:00Z\"}";
		my $f = $lab eq "hu" ? ($j % 5 ? "hu_labels1" : "hu_labels2") : "${model}_labels";
		push @{$out{$f}}, $l;
	}
}
sub sample {
	my ($site, $n) = @_;
	my $rows = $site{$site};
	return [map { $rows->[int(rand(scalar @$rows))] } 1 .. $n];
}
day("heart", 7, sample("va", 150), 1);
day("heart", 6, sample("va", 150), 1);
day("heart", 5, sample("va", 150), 1);
day("heart", 4, sample("switzerland", 150), 1);
day("heart", 3, sample("switzerland", 150), 1);
day("heart", 2, sample("switzerland", 150), 1);
day("heart", 1, $site{hungarian}, "hu");
for my $d (reverse 1 .. 50) {
	day("noise", $d, sample("cleveland", 100 + int(rand(51))), 1);
}
day("vol", $_, sample("cleveland", 300), 0) for (6, 5, 4, 3);
day("vol", $_, sample("va", 120), 0) for (2, 1);
my $c = 0;
for my $r (@{$site{cleveland}}) {
	$c++;
	push @{$out{ref}}, sprintf("{\"id\": \"c%04d\", \"label\": %d, %s}", $c, $r->{target}, $r->{body});
}
for my $k (keys %out) {
	open(my $o, ">", "$dir/$k.ndjson") or die;
	print $o join("\n", @{$out{$k}}), "\n";
	close $o;
}
' "$fx/heart_scored.csv" "$it_tmp"

nrows() { wc -l <"$it_tmp/$1.ndjson" | tr -d ' '; }

for m in heart noise vol; do
	cat >"$it_tmp/spec.json" <<JSON
{"name": "$m", "version": "1", "threshold": 0.5, "evaluation_period": "1d",
 "features": [{"name": "age", "type": "numeric"}, {"name": "sex", "type": "numeric"},
  {"name": "cp", "type": "categorical"}, {"name": "trestbps", "type": "numeric"},
  {"name": "chol", "type": "numeric"}, {"name": "fbs", "type": "categorical"},
  {"name": "restecg", "type": "categorical"}, {"name": "thalach", "type": "numeric"},
  {"name": "exang", "type": "categorical"}, {"name": "oldpeak", "type": "numeric"},
  {"name": "slope", "type": "categorical"}, {"name": "ca", "type": "numeric"},
  {"name": "thal", "type": "categorical"}],
 "segments": ["sex_label", "site"]}
JSON
	check_post "register $m (daily windows)" 201 /v1/models "$admin" application/json \
		"$it_tmp/spec.json"
	check_post "$m: Cleveland as the reference" 201 "/v1/models/$m/references" "$admin" \
		application/x-ndjson "$it_tmp/ref.ndjson"
	n=$(nrows "${m}_preds")
	check_post "$m: $n predictions" 200 "/v1/models/$m/predictions" "$ingest" \
		application/x-ndjson "$it_tmp/${m}_preds.ndjson"
	check_jq "$m: all $n accepted" ".accepted == $n"
	if [ -f "$it_tmp/${m}_labels.ndjson" ]; then
		n=$(nrows "${m}_labels")
		check_post "$m: $n labels" 200 "/v1/models/$m/labels" "$ingest" \
			application/x-ndjson "$it_tmp/${m}_labels.ndjson"
		check_jq "$m: all $n labels accepted" ".accepted == $n"
	fi
done
check_sql "default rules only: 8 per model" 24 "SELECT count(*) FROM alert_rules"

# --- evaluation: every window up to 05-31 ------------------------------------------------------
# windows (id) of a model's day, and the all-evaluated condition
wid() { # MODEL DAY
	sql "SELECT w.id FROM windows w JOIN models m ON m.id = w.model_id WHERE m.name = '$1'
		AND w.start_at = '$2T00:00:00Z'"
}
settled() { # windows before 06-01 all evaluated, none pending, and as many as the days
	[ "$(sql "SELECT count(*) FILTER (WHERE state = 'done' AND NOT needs_reeval
		AND claimed_by IS NULL) || '/' || count(*) FROM windows
		WHERE start_at < '2024-06-01T00:00:00Z'")" = "$1/$1" ]
}
t0=$(date +%s)
printf 'evaluation_interval_s = 1\n' >"$cfgfile"
kill -HUP "$it_pid"
if it_wait_for 150 settled 63; then
	ok "the scheduler evaluated all 63 windows ($(($(date +%s) - t0)) s)"
else
	not_ok "the scheduler evaluated all 63 windows ($(sql "SELECT state, needs_reeval,
		count(*) FROM windows GROUP BY 1, 2" | tr '\n' ' '))"
fi
sleep 2 # the alert engine runs right after each window's commit
check_sql "no window failed" 0 "SELECT count(*) FROM windows WHERE failures > 0 OR last_error IS NOT NULL"

# --- 1. the site shift: drift alerts --------------------------------------------------------------
check_status "firing alerts of heart" 200 GET "/v1/alerts?model=heart&limit=1000" "$viewer"
cp "$it_body" "$it_tmp/heart_alerts.json"
echo "# heart alerts (rule scope feature segment=value severity state first..last breach):"
jq -r '.alerts[] | "#   \(.rule) \(.scope) \(.feature // "-") \(.segment // "-")=\(.segment_value // "-") \(.severity) \(.state) \(.first_breach)..\(.last_breach)"' \
	"$it_tmp/heart_alerts.json" | sort
check_jq "feature drift fires for the shifted sites (ticket, >= 3 features)" \
	'[.alerts[] | select(.rule == "feature-drift" and .state == "firing" and
	 .severity == "ticket" and .scope == "feature")] | length >= 3'
check_jq "drift breaches first in the VA windows (05-25 .. 05-27: ends 05-26 .. 05-28)" \
	'[.alerts[] | select(.rule == "feature-drift")] | all(.first_breach >= "2024-05-26T00:00:00Z")
	 and any(.first_breach == "2024-05-26T00:00:00Z")'
drift_ok='(.breached.values | any(.metric == "psi" and .value > 0.2 and .breach)) and
	(.breached.values | any((.metric == "ks" or .metric == "chi_square") and .q_value < 0.05
	and .breach))'
check_jq "each firing drift alert breached with psi > 0.2 and q < 0.05" \
	"[.alerts[] | select(.rule == \"feature-drift\" and .state == \"firing\")] | all($drift_ok)"
check_sql "each fired after 2 consecutive breaching windows (for: 2)" t \
	"SELECT bool_and(EXISTS (SELECT 1 FROM alert_decisions d1 JOIN alert_decisions d2
	ON d2.fingerprint = d1.fingerprint AND d2.window_end = d1.window_end + interval '1 day'
	WHERE d1.fingerprint = a.fingerprint AND d1.breach AND d2.breach)) FROM alerts a
	JOIN models m ON m.id = a.model_id WHERE m.name = 'heart' AND a.scope IN ('feature', 'score')"
check_sql "no drift alert before the second VA window" 0 \
	"SELECT count(*) FROM alert_events e JOIN alerts a ON a.id = e.alert_id JOIN models m
	ON m.id = a.model_id WHERE m.name = 'heart' AND a.scope IN ('feature', 'score')
	AND e.window_id = (SELECT w.id FROM windows w WHERE w.model_id = m.id
	AND w.start_at = '2024-05-25T00:00:00Z')"
check_sql "chol drifts (VA and Switzerland store 0 for missing cholesterol)" t \
	"SELECT count(*) = 1 FROM alerts a JOIN models m ON m.id = a.model_id JOIN alert_rules r
	ON r.id = a.rule_id WHERE m.name = 'heart' AND r.name = 'feature-drift' AND a.feature = 'chol'"
check_sql "drift alerts announced: one firing outbox row each" t \
	"SELECT bool_and((SELECT count(*) FROM notifications n WHERE n.alert_id = a.id
	AND n.event = 'firing') = 1) FROM alerts a JOIN models m ON m.id = a.model_id
	JOIN alert_rules r ON r.id = a.rule_id WHERE m.name = 'heart' AND r.name = 'feature-drift'"

# --- 2. noise: 50 windows of the reference itself ---------------------------------------------------
check_status "noise: pages" 200 GET "/v1/alerts?model=noise&severity=page&limit=1000" "$viewer"
if jq -e '(.alerts | length) == 0' "$it_body" >/dev/null; then
	ok "50 windows resampled from the reference raise no page"
else
	not_ok "50 windows resampled from the reference raise no page"
	jq -r '.alerts[] | "#   \(.rule) \(.segment // "-")=\(.segment_value // "-") \(.state) \(.first_breach) \(.breached.values | map("\(.metric) \(.value) [\(.ci_low), \(.ci_high)] n=\(.n) thr=\(.threshold)") | join("; "))"' "$it_body"
fi
check_status "noise: all alerts" 200 GET "/v1/alerts?model=noise&limit=1000" "$viewer"
echo "# noise: $(jq '.alerts | length' "$it_body") alerts in all:" \
	"$(jq -r '[.alerts[] | "\(.rule)/\(.feature // .segment_value // "-")/\(.severity)/\(.state)"] | join(", ")' "$it_body")"
echo "# noise: breaching decisions (rule segment=value: windows/decided): $(sql "SELECT
	coalesce(string_agg(x, ', '), 'none') FROM (SELECT r.name || ' ' || coalesce(d.segment,
	'-') || '=' || coalesce(d.segment_value, '-') || ': ' || count(*) FILTER (WHERE d.breach)
	|| '/' || count(*) AS x FROM alert_decisions d JOIN alert_rules r ON r.id = d.rule_id
	JOIN models m ON m.id = r.model_id WHERE m.name = 'noise' GROUP BY r.name, d.segment,
	d.segment_value HAVING bool_or(d.breach) ORDER BY 1) y" 2>&1)"
check_sql "noise: 50 windows evaluated, volume decided against the mean of the last 7" 49 \
	"SELECT count(*) FROM results r JOIN windows w ON w.id = r.window_id JOIN models m
	ON m.id = w.model_id WHERE m.name = 'noise' AND r.metric = 'volume_ratio'
	AND r.segment IS NULL AND NOT r.insufficient"

# --- 3. covariate shift: CBPE at the Hungarian site ---------------------------------------------
hu=$(wid heart 2024-05-31)
check_sql "the Hungarian window: 294 rows, no labels yet" "294|0" \
	"SELECT rows_at_eval, labels_at_eval FROM windows WHERE id = $hu"
sql "SELECT metric, value, ci_low, ci_high FROM results WHERE window_id = $hu
	AND scope = 'estimate' AND segment IS NULL AND metric IN ('sensitivity', 'specificity',
	'ppv', 'npv', 'auroc') ORDER BY metric" | tr '|' ' ' >"$it_tmp/estimate.txt"
check_sql "estimates with intervals for 5 metrics" 5 "SELECT count(*) FROM results
	WHERE window_id = $hu AND scope = 'estimate' AND segment IS NULL AND ci_low <= value
	AND value <= ci_high AND metric IN ('sensitivity', 'specificity', 'ppv', 'npv', 'auroc')"
check_sql "no performance before the labels" 0 \
	"SELECT count(*) FROM results WHERE window_id = $hu AND scope = 'performance'"

evals_of_hu() {
	[ "$(sql "SELECT evaluations = $1 AND state = 'done' AND NOT needs_reeval AND claimed_by
		IS NULL FROM windows WHERE id = $hu")" = t ]
}
check_post "4 of 5 Hungarian labels" 200 /v1/models/heart/labels "$ingest" \
	application/x-ndjson "$it_tmp/hu_labels1.ndjson"
if it_wait_for 60 evals_of_hu 2; then
	ok "the labels re-evaluate the Hungarian window"
else
	not_ok "the labels re-evaluate the Hungarian window"
fi
check_sql "per-sex sensitivity appears, provisional (coverage 0.80 < 0.9)" \
	"female|provisional|f
male|provisional|f" "SELECT segment_value, status, insufficient FROM results WHERE window_id = $hu
	AND scope = 'performance' AND metric = 'sensitivity' AND segment = 'sex_label'
	ORDER BY segment_value"
check_post "the other Hungarian labels" 200 /v1/models/heart/labels "$ingest" \
	application/x-ndjson "$it_tmp/hu_labels2.ndjson"
if it_wait_for 60 evals_of_hu 3; then
	ok "the Hungarian window is evaluated again"
else
	not_ok "the Hungarian window is evaluated again"
fi
check_sql "per-sex sensitivity is final with all labels" \
	"female|final
male|final" "SELECT segment_value, status FROM results WHERE window_id = $hu
	AND scope = 'performance' AND metric = 'sensitivity' AND segment = 'sex_label'
	ORDER BY segment_value"
sql "SELECT metric, value FROM results WHERE window_id = $hu AND scope = 'performance'
	AND segment IS NULL AND metric IN ('sensitivity', 'specificity', 'ppv', 'npv', 'auroc')
	ORDER BY metric" | tr '|' ' ' >"$it_tmp/realised.txt"
echo "# CBPE at the Hungarian site (estimate [interval] without labels vs realised):"
join "$it_tmp/estimate.txt" "$it_tmp/realised.txt" | awk '{
	printf "#   %-11s %.3f [%.3f, %.3f] realised %.3f %s\n", $1, $2, $3, $4, $5,
		($3 <= $5 && $5 <= $4) ? "inside" : "OUTSIDE" }'
for metric in sensitivity npv; do
	if join "$it_tmp/estimate.txt" "$it_tmp/realised.txt" |
		awk -v m="$metric" '$1 == m { found = 1; inside = ($3 <= $5 && $5 <= $4) }
			END { exit !(found && inside) }'; then
		ok "CBPE: the realised $metric lies within the estimate's interval"
	else
		not_ok "CBPE: the realised $metric lies within the estimate's interval"
	fi
done
check_sql "the final window's estimate_error: estimate - realised" t \
	"SELECT count(*) >= 5 AND bool_and(status = 'final') FROM results WHERE window_id = $hu
	AND scope = 'estimate_error' AND segment IS NULL AND NOT insufficient"

# --- 4. a volume drop pages and inhibits feature drift -----------------------------------------------
check_status "vol alerts" 200 GET "/v1/alerts?model=vol&limit=1000" "$viewer"
cp "$it_body" "$it_tmp/vol_alerts.json"
echo "# vol alerts: $(jq -r '[.alerts[] | "\(.rule)/\(.feature // .segment_value // "-")/\(.severity)/\(.state)\(if .inhibited then "/inhibited" else "" end)"] | join(", ")' "$it_tmp/vol_alerts.json")"
check_jq "the volume drop pages (firing since the first short window, 05-30)" \
	'[.alerts[] | select(.rule == "volume-drop")] | length == 1 and .[0].state == "firing" and
	 .[0].severity == "page" and .[0].first_breach == "2024-05-31T00:00:00Z" and
	 (.[0].breached.values[0].value < 0.5)'
check_jq "feature drift fires on the VA windows, inhibited" \
	'[.alerts[] | select(.rule == "feature-drift")] | length >= 1 and
	 all(.state == "firing" and .inhibited)'
check_sql "no outbox row for inhibited drift; one firing row for the volume alert" "0|firing" \
	"SELECT (SELECT count(*) FROM notifications n JOIN alerts a ON a.id = n.alert_id JOIN
	alert_rules r ON r.id = a.rule_id WHERE r.name = 'feature-drift' AND a.model_id =
	(SELECT id FROM models WHERE name = 'vol')), (SELECT string_agg(n.event, ',') FROM
	notifications n JOIN alerts a ON a.id = n.alert_id JOIN alert_rules r ON r.id = a.rule_id
	WHERE r.name = 'volume-drop' AND a.model_id = (SELECT id FROM models WHERE name = 'vol'))"
check_sql "the inhibited firing is in the audit log, muted" t \
	"SELECT count(*) >= 1 AND bool_and((detail->>'muted')::boolean) FROM audit_log
	WHERE action = 'alert.firing' AND target IN (SELECT 'alert/' || a.id FROM alerts a
	JOIN alert_rules r ON r.id = a.rule_id WHERE r.name = 'feature-drift' AND a.model_id =
	(SELECT id FROM models WHERE name = 'vol'))"

# --- 5. ack, resolve, silences -------------------------------------------------------------------------
chol=$(jq -r '.alerts[] | select(.rule == "feature-drift" and .feature == "chol") | .id' \
	"$it_tmp/heart_alerts.json")
score=$(jq -r '[.alerts[] | select(.rule == "feature-drift" and .state == "firing" and
	.feature != "chol")][0].id' "$it_tmp/heart_alerts.json")
check_status "ack needs a note" 400 POST "/v1/alerts/$chol/ack" "$oncall" \
	-H 'Content-Type: application/json' --data-binary '{}'
check_status "a viewer cannot ack" 403 POST "/v1/alerts/$chol/ack" "$viewer" \
	-H 'Content-Type: application/json' --data-binary '{"note": "x"}'
check_status "oncall acks the chol drift" 200 POST "/v1/alerts/$chol/ack" "$oncall" \
	-H 'Content-Type: application/json' \
	--data-binary '{"note": "VA and Switzerland record missing cholesterol as 0"}'
check_jq "acknowledged by rd-oncall" '.state == "acknowledged" and .acknowledged.by == "rd-oncall"'
check_status "acking twice is a conflict" 409 POST "/v1/alerts/$chol/ack" "$oncall" \
	-H 'Content-Type: application/json' --data-binary '{"note": "again"}'
check_status "oncall resolves another drift alert by hand" 200 POST "/v1/alerts/$score/resolve" \
	"$oncall" -H 'Content-Type: application/json' --data-binary '{"note": "new site, expected"}'
check_jq "resolved by rd-oncall" '.state == "resolved" and .resolved.by == "rd-oncall"'
check_sql "announced: acknowledged and resolved in the outbox" "firing,acknowledged|firing,resolved" \
	"SELECT (SELECT string_agg(event, ',' ORDER BY id) FROM notifications WHERE alert_id = $chol),
	(SELECT string_agg(event, ',' ORDER BY id) FROM notifications WHERE alert_id = $score)"
check_status "a silence for heart's drift" 201 POST /v1/silences "$oncall" \
	-H 'Content-Type: application/json' --data-binary '{"matchers": [{"name": "model",
	"value": "heart"}, {"name": "alertname", "value": ".*-drift", "isRegex": true}],
	"ends_at": "2099-01-01T00:00:00Z", "comment": "site roll-out"}'
sil=$(jq -r .id "$it_body")
vigil alerts refresh >/dev/null 2>&1 || true
check_sql "heart's active drift alerts are silenced now, its other alerts not" "t|t" \
	"SELECT bool_and(a.silenced = (r.name LIKE '%-drift')), bool_or(a.silenced) FROM alerts a
	JOIN alert_rules r ON r.id = a.rule_id WHERE a.model_id = (SELECT id FROM models WHERE
	name = 'heart') AND a.state <> 'resolved'"
check_status "the silence is active" 200 GET "/v1/silences?state=active" "$viewer"
check_jq "listed" "[.silences[] | select(.id == $sil)] | length == 1"
check_status "delete it" 204 DELETE "/v1/silences/$sil" "$oncall"
check_sql "human actions are audited" "1|1|1|1" \
	"SELECT count(*) FILTER (WHERE action = 'alert.acknowledged' AND target = 'alert/$chol'),
	count(*) FILTER (WHERE action = 'alert.resolved' AND target = 'alert/$score'),
	count(*) FILTER (WHERE action = 'silence.create'), count(*) FILTER (WHERE action =
	'silence.delete') FROM audit_log"

# --- the end -----------------------------------------------------------------------------------------
if vigil audit verify >"$it_tmp/verify" 2>&1; then
	ok "vigil audit verify: $(cat "$it_tmp/verify")"
else
	not_ok "vigil audit verify"
	cat "$it_tmp/verify"
fi
grep -h 'scheduler: .*model heart' "$it_log" | tail -n 1 | sed 's/^/# /'
if it_serve_stop; then
	ok "the server stops cleanly"
else
	not_ok "the server stops cleanly"
	tail -n 20 "$it_log"
fi
if grep -E 'runtime error|AddressSanitizer|LeakSanitizer' "$it_log" >/dev/null; then
	not_ok "no sanitizer report"
	grep -E -A5 'runtime error|AddressSanitizer|LeakSanitizer' "$it_log" | head -n 40
else
	ok "no sanitizer report"
fi
finish
