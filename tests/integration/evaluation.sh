#!/bin/sh
# tests/integration/evaluation.sh - the scheduler: windows, evaluation, results, two servers
#
# Two real vigil serve processes share one throwaway PostgreSQL, with the evaluation clock
# set to 2024-03-08T00:00:00Z (VIGIL_TEST_NOW) and evaluation off (evaluation_interval_s =
# 0) while the data goes in:
#   heart   the heart-disease data (tests/fixtures/heart_scored.csv): Cleveland's 303 rows
#           are the uploaded labelled reference; the Hungarian, Swiss and VA rows are
#           predictions on 2024-03-04, -05 and -06 (one daily window each, in file order),
#           with labels for 4 of 5 Hungarian rows only;
#   load    an hourly model with 500 predictions over 100 hours, for the race.
# Then both servers are told (SIGHUP) to evaluate every second. Checked: the registration's
# evaluation settings; windows appear, open/due/done as the clock says; every closed window
# is evaluated exactly once although two servers compete, and both did some; the VA window's
# all-data drift equals `vigil drift --mmd` on heart_va.csv vs heart_cleveland.csv exactly
# (q-values aside: they come from the window's whole family); chol and thalach drift with
# q < 0.05 where the sites differ; Benjamini-Hochberg across the family; per-segment
# performance by sex_label is provisional at 80 % coverage; CBPE estimates exist without
# labels and estimate_error rows once they arrive; late labels re-evaluate exactly the
# windows they touch, which turn final; the results API's filters; /metrics gauges; the
# reference's own metrics. The whole run repeats under ASan/UBSan in a sanitizer build.
. "$top_srcdir/tests/integration/lib.sh"

fx=$top_srcdir/tests/fixtures
cfgfile=$it_tmp/vigil.conf
printf 'evaluation_interval_s = 0\n' >"$cfgfile"
VIGIL_TEST_NOW=2024-03-08T00:00:00Z
export VIGIL_TEST_NOW
it_pg_start
it_serve --config "$cfgfile"
pid_a=$it_pid
log_a=$it_log
admin=$(it_token admin ev-admin)
ingest=$(it_token ingest ev-ingest)
viewer=$(it_token viewer ev-viewer)

# a second server on the same database
log_b=$it_tmp/serve_b.log
if [ -n "${VALGRIND:-}" ]; then
	"$VALGRIND" --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		"$VIGIL" serve --listen 127.0.0.1:0 --config "$cfgfile" >"$log_b" 2>&1 &
else
	"$VIGIL" serve --listen 127.0.0.1:0 --config "$cfgfile" >"$log_b" 2>&1 &
fi
pid_b=$!
it_bg "$pid_b"
if ! it_wait_for 30 grep -q 'listening on http://' "$log_b"; then
	echo "Bail out! the second vigil serve did not start"
	cat "$log_b"
	exit 99
fi

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

# --- registration with evaluation settings --------------------------------------------------
cat >"$it_tmp/spec.json" <<'JSON'
{"name": "heart", "version": "1", "threshold": 0.5,
 "evaluation_period": "1d", "lateness": "PT1H", "label_complete": 0.9,
 "fn_cost": 5, "fp_cost": 1,
 "features": [{"name": "age", "type": "numeric"}, {"name": "sex", "type": "numeric"},
  {"name": "cp", "type": "categorical"}, {"name": "trestbps", "type": "numeric"},
  {"name": "chol", "type": "numeric"}, {"name": "fbs", "type": "categorical"},
  {"name": "restecg", "type": "categorical"}, {"name": "thalach", "type": "numeric"},
  {"name": "exang", "type": "categorical"}, {"name": "oldpeak", "type": "numeric"},
  {"name": "slope", "type": "categorical"}, {"name": "ca", "type": "numeric"},
  {"name": "thal", "type": "categorical"}],
 "segments": ["site", "sex_label"]}
JSON
check_post "register heart with its evaluation settings" 201 /v1/models "$admin" \
	application/json "$it_tmp/spec.json"
check_jq "settings answered in seconds" '.evaluation_period == 86400 and .lateness == 3600 and
	.label_complete == 0.9 and .fn_cost == 5 and .fp_cost == 1'
check_post "the same registration again is a no-op" 200 /v1/models "$admin" application/json \
	"$it_tmp/spec.json"
sed 's/"fn_cost": 5/"fn_cost": 6/' "$it_tmp/spec.json" >"$it_tmp/spec2.json"
check_post "other settings under the name conflict" 409 /v1/models "$admin" application/json \
	"$it_tmp/spec2.json"
for bad in '"evaluation_period": "30m"' '"evaluation_period": "31d"' '"lateness": "soon"' \
	'"label_complete": 0' '"fp_cost": -1' '"evaluation_period": 5400.5'; do
	key=$(echo "$bad" | sed 's/^"\([a-z_]*\)".*/\1/')
	printf '{"name": "bad", "features": [], %s}\n' "$bad" >"$it_tmp/bad.json"
	got=$(it_req POST /v1/models "$admin" -H 'Content-Type: application/json' \
		--data-binary "@$it_tmp/bad.json")
	if [ "$got" = 422 ] && [ "$(jq -r .pointer "$it_body")" = "/$key" ]; then
		ok "422 for $bad, pointer /$key"
	else
		not_ok "422 for $bad (status $got, pointer $(jq -r .pointer "$it_body"))"
	fi
done
cat >"$it_tmp/load.json" <<'JSON'
{"name": "load", "evaluation_period": 3600, "lateness": 0,
 "features": [{"name": "x", "type": "numeric"}, {"name": "k", "type": "categorical"}],
 "segments": ["g"]}
JSON
check_post "register load (hourly windows)" 201 /v1/models "$admin" application/json \
	"$it_tmp/load.json"
check_status "defaults are answered for a model without settings" 200 GET /v1/models/load \
	"$viewer"
check_jq "hourly, no lateness, label_complete 0.9, costs 1" '.evaluation_period == 3600 and
	.lateness == 0 and .label_complete == 0.9 and .fn_cost == 1 and .fp_cost == 1'

# --- data ------------------------------------------------------------------------------------
# heart predictions: each site on its own day, 4 minutes apart, ids h0001.. in file order;
# labels for Hungarian rows with index % 5 != 0 now, the other Hungarian ones and all of
# VA's later; Cleveland as the reference c0001..c0303
perl -e '
use strict; use warnings; use POSIX qw(strftime);
my ($csv, $dir) = @ARGV;
open(my $in, "<", $csv) or die;
my $hdr = <$in>; chomp $hdr;
my @cols = split /,/, $hdr;
my @feat = qw(age sex cp trestbps chol fbs restecg thalach exang oldpeak slope ca thal);
my %cat = map { $_ => 1 } qw(cp fbs restecg exang slope thal);
my %day = (hungarian => 1709510400, switzerland => 1709596800, va => 1709683200);
my (@pred, @lab1, @lab2, @ref, %k);
my ($i, $c) = (0, 0);
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
	my $fs = join(", ", @f);
	my $seg = "\"site\": \"$r{site}\", \"sex_label\": \"$r{sex_label}\"";
	if ($r{site} eq "cleveland") {
		$c++;
		push @ref, sprintf("{\"id\": \"c%04d\", \"score\": %s, \"label\": %d, \"features\": {%s}, \"segments\": {%s}}", $c, $r{score}, $r{target}, $fs, $seg);
		next;
	}
	$i++;
	my $n = $k{$r{site}}++;
	my $ts = strftime("%Y-%m-%dT%H:%M:%SZ", gmtime($day{$r{site}} + 240 * $n));
	push @pred, sprintf("{\"id\": \"h%04d\", \"ts\": \"%s\", \"score\": %s, \"features\": {%s}, \"segments\": {%s}}", $i, $ts, $r{score}, $fs, $seg);
	my $l = sprintf("{\"prediction_id\": \"h%04d\", \"label\": %d, \"ts\": \"2024-03-09T00:00:00Z\"}", $i, $r{target});
	if ($r{site} eq "hungarian" && $n % 5 != 0) { push @lab1, $l }
	elsif ($r{site} ne "switzerland") { push @lab2, $l }
}
sub put { my ($name, $text) = @_; open(my $o, ">", "$dir/$name") or die; print $o $text; close $o }
put("preds.ndjson", join("\n", @pred) . "\n");
put("labels1.ndjson", join("\n", @lab1) . "\n");
put("labels2.ndjson", join("\n", @lab2) . "\n");
put("ref.ndjson", join("\n", @ref) . "\n");
# load: 5 predictions an hour for 100 hours from 2024-03-01, a 100-row reference
my (@lp, @lr);
for my $j (0 .. 499) {
	my $ts = strftime("%Y-%m-%dT%H:%M:%SZ", gmtime(1709251200 + 720 * $j));
	push @lp, sprintf("{\"id\": \"l%04d\", \"ts\": \"%s\", \"score\": %.3f, \"features\": {\"x\": %d, \"k\": \"k%d\"}, \"segments\": {\"g\": \"g%d\"}}", $j, $ts, ($j % 97) / 97, $j % 13, $j % 3, $j % 2);
}
for my $j (0 .. 99) {
	push @lr, sprintf("{\"id\": \"r%04d\", \"score\": %.3f, \"label\": %d, \"features\": {\"x\": %d, \"k\": \"k%d\"}, \"segments\": {\"g\": \"g%d\"}}", $j, ($j % 89) / 89, $j % 2, $j % 11, $j % 3, $j % 2);
}
put("load_preds.ndjson", join("\n", @lp) . "\n");
put("load_ref.ndjson", join("\n", @lr) . "\n");
' "$fx/heart_scored.csv" "$it_tmp"

M=/v1/models/heart
check_post "617 heart predictions" 200 $M/predictions "$ingest" application/x-ndjson \
	"$it_tmp/preds.ndjson"
check_jq "all accepted" '.accepted == 617'
check_post "Hungarian labels, 4 of 5" 200 $M/labels "$ingest" application/x-ndjson \
	"$it_tmp/labels1.ndjson"
check_jq "235 labels" '.accepted == 235'
check_post "the Cleveland rows as the reference" 201 $M/references "$admin" \
	application/x-ndjson "$it_tmp/ref.ndjson"
check_post "500 load predictions" 200 /v1/models/load/predictions "$ingest" \
	application/x-ndjson "$it_tmp/load_preds.ndjson"
check_post "load's reference" 201 /v1/models/load/references "$admin" application/x-ndjson \
	"$it_tmp/load_ref.ndjson"
check_sql "no window while evaluation is off" 0 "SELECT count(*) FROM windows"

# --- both servers evaluate ------------------------------------------------------------------
printf 'evaluation_interval_s = 1\n' >"$cfgfile"
kill -HUP "$pid_a" "$pid_b"
# heart: 03-04 .. 03-08 (03-07 and 03-08 still open at the clock); load: 168 hours
all_done() {
	[ "$(sql "SELECT count(*) FROM windows WHERE state = 'done' AND NOT needs_reeval
		AND claimed_by IS NULL")" = "$1" ]
}
if it_wait_for 120 all_done 171; then
	ok "both servers evaluated every closed window"
else
	not_ok "every closed window evaluated ($(sql "SELECT state, count(*) FROM windows
		GROUP BY state" | tr '\n' ' '))"
fi
check_sql "heart's windows: 3 done, 2 open at the test clock" \
	"2024-03-04|done
2024-03-05|done
2024-03-06|done
2024-03-07|open
2024-03-08|open" "SELECT to_char(start_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), state FROM windows w
	JOIN models m ON m.id = w.model_id WHERE m.name = 'heart' ORDER BY start_at"
check_sql "each window evaluated exactly once" "171|1|1" \
	"SELECT count(*), min(evaluations), max(evaluations) FROM windows WHERE state = 'done'"
check_sql "no failure recorded" 0 "SELECT count(*) FROM windows WHERE failures > 0"
na=$(grep -c 'scheduler: evaluated window' "$log_a")
nb=$(grep -c 'scheduler: evaluated window' "$log_b")
if [ "$((na + nb))" -eq 171 ] && [ "$na" -gt 0 ] && [ "$nb" -gt 0 ]; then
	ok "both servers evaluated windows ($na + $nb = 171)"
else
	not_ok "windows split between the servers ($na + $nb, wanted 171 with both > 0)"
fi

# --- the windows API ---------------------------------------------------------------------------
check_status "heart's windows" 200 GET "$M/windows" "$viewer"
check_jq "five windows with their evaluation" '.evaluation_period == 86400 and
	(.windows | length) == 5 and .truncated == false and
	.windows[0].start == "2024-03-04T00:00:00Z" and .windows[0].end == "2024-03-05T00:00:00Z" and
	.windows[0].rows == 294 and .windows[0].labeled == 235 and
	.windows[0].status == "provisional" and .windows[0].evaluations == 1 and
	(.windows[0].reference_id | type) == "number" and .windows[1].rows == 123 and
	.windows[1].status == null and .windows[2].rows == 200 and .windows[3].state == "open"'
check_status "windows filtered by state and range" 200 GET \
	"$M/windows?state=done&from=2024-03-05T00:00:00Z&limit=1" "$viewer"
check_jq "one done window from 03-05, truncated" '(.windows | length) == 1 and
	.windows[0].start == "2024-03-05T00:00:00Z" and .truncated'
check_status "bad state" 400 GET "$M/windows?state=closed" "$viewer"
check_status "unknown model" 404 GET "/v1/models/nope/windows" "$viewer"
check_status "windows need a token" 401 GET "$M/windows"

wid() { # DAY -> the heart window's id
	sql "SELECT w.id FROM windows w JOIN models m ON m.id = w.model_id WHERE m.name = 'heart'
		AND w.start_at = '$1T00:00:00Z'"
}
hu=$(wid 2024-03-04)
sw=$(wid 2024-03-05)
va=$(wid 2024-03-06)

# --- drift: exact agreement with vigil drift on the VA window -------------------------------
# The scheduler reads a window on two connections at once when the pool has one free (each
# backend sends half of the window's time span): the agreement below, MMD's permutations
# included, holds only if the rows come back in exactly the order of one load.
if grep -q "evaluated window 2024-03-06T00:00:00Z of model heart: .*rows read on 2 connections" \
	"$log_a" "$log_b"; then
	ok "the VA window was read on two connections"
else
	not_ok "the VA window was read on two connections"
	grep -h "window 2024-03-06T00:00:00Z of model heart" "$log_a" "$log_b" | head -n 3
fi
features=age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal
vigil drift --reference "$fx/heart_cleveland.csv" --current "$fx/heart_va.csv" \
	--columns "$features,score" --categorical cp,fbs,restecg,exang,slope,thal --mmd \
	--format json >"$it_tmp/drift_cli.json"
check_status "the VA window's all-data results" 200 GET "$M/results?window=$va&segment=" "$viewer"
cp "$it_body" "$it_tmp/va.json"
# one line per (feature, metric): value and p-value, from each side; where the CLI counts
# fewer than 30 non-missing values (or complete rows, for MMD) on either side, the window's
# test is insufficient: no value
jq -r '.features[] | .name as $f | (.n_current < 30 or .n_reference < 30) as $ins |
	(if .type == "numeric" then
		["ks", .ks.statistic, .ks.p_value], ["psi", .psi.value, null],
		["wasserstein", .wasserstein.value, null], ["jensen_shannon", .jensen_shannon.value, null]
	else
		["chi_square", .chi_square.statistic, .chi_square.p_value], ["psi", .psi.value, null],
		["jensen_shannon", .jensen_shannon.value, null]
	end) | if $ins then [$f, .[0], null, null] else [$f] + . end | map(tostring) | join(" ")' \
	"$it_tmp/drift_cli.json" | sort >"$it_tmp/cli.txt"
jq -r '.mmd | if .n_current < 30 or .n_reference < 30 then ["mmd", "mmd", null, null]
	else ["mmd", "mmd", .mmd2, .p_value] end | map(tostring) | join(" ")' \
	"$it_tmp/drift_cli.json" >>"$it_tmp/cli.txt"
jq -r '.results[] | select(.scope == "feature" or .scope == "score") |
	[(.feature // "score"), .metric, .value,
	 (if .metric == "ks" or .metric == "chi_square" then .p_value else null end)] |
	map(tostring) | join(" ")' "$it_tmp/va.json" | sort >"$it_tmp/ours.txt"
jq -r '.results[] | select(.scope == "multivariate") | ["mmd", "mmd", .value, .p_value] |
	map(tostring) | join(" ")' "$it_tmp/va.json" >>"$it_tmp/ours.txt"
nexact=$(grep -vc ' null null$' "$it_tmp/cli.txt")
if [ "$(wc -l <"$it_tmp/cli.txt")" -eq 51 ] && [ "$nexact" -ge 40 ] &&
	cmp -s "$it_tmp/cli.txt" "$it_tmp/ours.txt"; then
	ok "VA window drift = vigil drift --mmd on the same rows: $nexact tests exactly, the rest insufficient"
else
	not_ok "VA window drift = vigil drift"
	diff "$it_tmp/cli.txt" "$it_tmp/ours.txt" | head -n 20
fi
check_jq "ks p-values carry q-values, n and n_reference" '[.results[] | select(.metric == "ks")] |
	length == 8 and all(.insufficient or (.q_value >= .p_value and .n_reference >= 30 and
	.n >= 30))'
for w in "$sw chol" "$va chol" "$hu thalach" "$va thalach"; do
	set -- $w
	check_sql "window $1: $2 drifts with q < 0.05 (all data)" t \
		"SELECT bool_and(q_value < 0.05) FROM results WHERE window_id = $1 AND feature = '$2'
		AND segment IS NULL AND metric IN ('ks', 'chi_square')"
done
# Benjamini-Hochberg over the window's whole family: recompute q from the stored p-values
check_sql "q-values are BH across all tests of a window (features x segments, + MMD)" 0 "
	WITH f AS (SELECT id, p_value, q_value, count(*) OVER () AS m,
		   row_number() OVER (ORDER BY p_value, id) AS k FROM results
		   WHERE window_id = $hu AND p_value IS NOT NULL AND NOT insufficient),
	     bh AS (SELECT id, q_value, least(1, min(p_value * m / k) OVER (ORDER BY k DESC
		   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) AS q FROM f)
	SELECT count(*) FROM bh WHERE abs(q - q_value) > 1e-12 * greatest(q, 1e-300)"
check_sql "the family spans segments: sex_label tests in the Hungarian window" t \
	"SELECT count(*) > 20 FROM results WHERE window_id = $hu AND segment = 'sex_label'
	AND metric IN ('ks', 'chi_square') AND q_value IS NOT NULL"
check_sql "small groups are insufficient, with n and no value" "t|t" \
	"SELECT bool_and(insufficient), bool_and(value IS NULL AND n < 30) FROM results
	WHERE window_id = $va AND segment = 'sex_label' AND segment_value = 'female'
	AND scope IN ('feature', 'score')"
check_sql "missing rates: ca and thal are mostly missing at VA" t \
	"SELECT bool_and(value > 0.5) FROM results WHERE window_id = $va AND scope = 'missing'
	AND feature IN ('ca', 'thal')"
check_sql "missing rates per segment value: thal is mostly missing for VA's men" t \
	"SELECT value > 0.5 AND n > 100 FROM results WHERE window_id = $va AND scope = 'missing'
	AND feature = 'thal' AND segment = 'sex_label' AND segment_value = 'male'"
check_sql "label coverage of the Hungarian window, overall and per sex" \
	"|0.7993197278911565
sex_label|0.8271604938271605
sex_label|0.7887323943661971
site|0.7993197278911565" "SELECT segment, value FROM results WHERE window_id = $hu
	AND scope = 'label_coverage' ORDER BY segment NULLS FIRST, segment_value"

# --- performance: provisional, estimates --------------------------------------------------------
check_sql "Hungarian performance per sex is provisional at 80 % coverage" "provisional|3" \
	"SELECT min(status), count(DISTINCT coalesce(segment_value, '')) FROM results
	WHERE window_id = $hu AND scope = 'performance' AND metric = 'sensitivity'
	AND (segment IS NULL OR segment = 'sex_label')"
check_sql "female sensitivity has a Wilson interval" t \
	"SELECT ci_low <= value AND value <= ci_high AND method = 'wilson' AND n = 67
	FROM results WHERE window_id = $hu AND scope = 'performance' AND metric = 'sensitivity'
	AND segment = 'sex_label' AND segment_value = 'female'"
check_sql "cost uses fn_cost 5 and fp_cost 1" t \
	"SELECT abs(value - (5 * (parameters->'confusion'->>'fn')::float8
	+ (parameters->'confusion'->>'fp')::float8) / n) < 1e-12 FROM results
	WHERE window_id = $hu AND scope = 'performance' AND metric = 'cost' AND segment IS NULL"
check_sql "no performance where nothing is labelled" 0 \
	"SELECT count(*) FROM results WHERE window_id IN ($sw, $va) AND scope = 'performance'"
check_sql "CBPE estimates without labels: all, VA, male (6 women: insufficient)" t \
	"SELECT count(*) = 3 AND bool_and(ci_low <= ci_high) FROM results WHERE window_id = $va
	AND scope = 'estimate' AND metric = 'sensitivity' AND NOT insufficient"
check_sql "no estimate_error before VA's labels" 0 \
	"SELECT count(*) FROM results WHERE window_id = $va AND scope = 'estimate_error'"
check_sql "the reference's own metrics, overall and per segment value" t \
	"SELECT count(*) > 20 AND bool_or(segment IS NULL AND metric = 'sensitivity'
	AND n = 303) FROM reference_metrics"
check_sql "volume: counts per window" "294|123|200" \
	"SELECT string_agg(value::text, '|' ORDER BY window_id) FROM results
	WHERE window_id IN ($hu, $sw, $va) AND metric = 'count' AND segment IS NULL"

# --- the results API ------------------------------------------------------------------------
check_status "results: PSI of chol, all data, 03-04 .. 03-07" 200 GET \
	"$M/results?from=2024-03-04T00:00:00Z&to=2024-03-07T00:00:00Z&metric=psi&segment=&feature=chol" \
	"$viewer"
check_jq "three rows, one per window, in window order" '(.results | length) == 3 and
	([.results[].window_start] == ["2024-03-04T00:00:00Z", "2024-03-05T00:00:00Z",
	 "2024-03-06T00:00:00Z"]) and all(.results[]; .metric == "psi" and .segment == null and
	 .feature == "chol" and .scope == "feature" and (.value | type) == "number")'
check_status "results by segment value and metrics" 200 GET \
	"$M/results?window=$hu&segment=sex_label&segment_value=female&metric=sensitivity,auroc&scope=performance" \
	"$viewer"
check_jq "sensitivity and auroc for female, provisional" '(.results | length) == 2 and
	all(.results[]; .segment_value == "female" and .status == "provisional")'
check_status "results limit" 200 GET "$M/results?window=$hu&limit=5" "$viewer"
check_jq "truncated at 5" '(.results | length) == 5 and .truncated'
check_status "bad metric list" 400 GET "$M/results?metric=psi;drop" "$viewer"
check_jq "pointer /query/metric" '.pointer == "/query/metric"'
check_status "bad from" 400 GET "$M/results?from=yesterday" "$viewer"
check_sql "results reads are audited" t \
	"SELECT count(*) >= 3 FROM audit_log WHERE action = 'results.read' AND outcome = 'ok'"

# --- /metrics ---------------------------------------------------------------------------------
check_status "metrics" 200 GET /metrics
for re in 'vigil_drift_psi{model="heart",feature="chol",segment="",segment_value=""} ' \
	'vigil_drift_q_value{model="heart",feature="chol",segment="sex_label",segment_value="male",test="ks"} ' \
	'vigil_performance{model="heart",metric="sensitivity",segment="sex_label",segment_value="female",status="provisional"} ' \
	'vigil_performance_estimate{model="heart",metric="auroc",segment="",segment_value=""} ' \
	'vigil_label_coverage{model="heart",segment="",segment_value=""} 0' \
	'vigil_missing_rate{model="heart",feature="age",segment="",segment_value=""} 0' \
	'vigil_missing_rate{model="heart",feature="age",segment="sex_label",segment_value="male"} 0' \
	'vigil_evaluation_windows{model="heart",state="open"} 2' \
	'vigil_evaluation_window_end_timestamp_seconds{model="heart",kind="latest"} 1709769600' \
	'# TYPE vigil_performance_estimate_error gauge'; do
	if grep -qF "$re" "$it_body"; then
		ok "metrics: $re"
	else
		not_ok "metrics: $re"
	fi
done

# every series once (Prometheus rejects a scrape that repeats one), and promtool's lint
dups=$(grep -v '^#' "$it_body" | sed 's/ [^ ]*$//' | sort | uniq -d | head -n 3)
if [ -z "$dups" ]; then
	ok "metrics: no series appears twice"
else
	not_ok "metrics: series repeated: $dups"
fi
if ! command -v promtool >/dev/null 2>&1; then
	not_ok "promtool is not installed (Debian package prometheus; scripts/deps.sh)"
elif promtool check metrics <"$it_body" >"$it_tmp/promtool" 2>&1; then
	ok "promtool check metrics accepts /metrics after evaluations"
else
	not_ok "promtool check metrics after evaluations"
	cat "$it_tmp/promtool"
fi

# --- late labels: exactly the touched windows are evaluated again --------------------------
check_post "the rest of the labels (Hungarian and VA)" 200 $M/labels "$ingest" \
	application/x-ndjson "$it_tmp/labels2.ndjson"
check_jq "259 labels" '.accepted == 259'
reevaluated() {
	[ "$(sql "SELECT count(*) FROM windows WHERE id IN ($hu, $va) AND evaluations = 2
		AND NOT needs_reeval AND claimed_by IS NULL")" = 2 ]
}
if it_wait_for 60 reevaluated; then
	ok "the Hungarian and VA windows were evaluated again"
else
	not_ok "re-evaluation ($(sql "SELECT id, evaluations, needs_reeval FROM windows
		WHERE id IN ($hu, $va)" | tr '\n' ' '))"
fi
sleep 2
check_sql "only those: evaluations 2, 1, 2 and every load window still 1" "2|1|2|168" \
	"SELECT (SELECT evaluations FROM windows WHERE id = $hu), (SELECT evaluations FROM windows
	WHERE id = $sw), (SELECT evaluations FROM windows WHERE id = $va), (SELECT count(*) FROM
	windows w JOIN models m ON m.id = w.model_id WHERE m.name = 'load' AND evaluations = 1)"
check_sql "Hungarian performance is final now, per sex" "final|final|3" \
	"SELECT min(status), max(status), count(*) FROM results WHERE window_id = $hu
	AND scope = 'performance' AND metric = 'sensitivity' AND (segment IS NULL OR
	segment = 'sex_label')"
check_sql "one evaluation's rows only (replaced, not added)" 1 \
	"SELECT count(*) FROM results WHERE window_id = $hu AND scope = 'volume'
	AND segment IS NULL AND metric = 'count'"
check_sql "VA: estimate_error rows once labels landed, final" t \
	"SELECT count(*) >= 5 AND bool_and(status = 'final') AND
	bool_and(abs(value - ((parameters->>'estimate')::float8 - (parameters->>'realized')::float8))
	< 1e-9) FROM results WHERE window_id = $va AND scope = 'estimate_error'
	AND segment IS NULL AND NOT insufficient"
check_sql "VA: the estimates are still there" t \
	"SELECT count(*) > 0 FROM results WHERE window_id = $va AND scope = 'estimate'"
check_status "windows after the labels" 200 GET "$M/windows?state=done" "$viewer"
check_jq "Hungarian and VA final, Switzerland unlabelled" '[.windows[].status] ==
	["final", null, "final"] and [.windows[].evaluations] == [2, 1, 2]'

# --- failures and leases -------------------------------------------------------------------------
# a window too large for max_window_rows fails: its results stay, the reason is kept, and it
# is tried again after the back-off (10 s) once the limit is back
printf 'evaluation_interval_s = 1\nmax_window_rows = 100\n' >"$cfgfile"
kill -HUP "$pid_a" "$pid_b"
sleep 1
sql "UPDATE windows SET needs_reeval = true WHERE id = $hu" >/dev/null
failed_once() {
	[ "$(sql "SELECT failures FROM windows WHERE id = $hu")" -ge 1 ]
}
if it_wait_for 30 failed_once; then
	ok "a failing evaluation is recorded on its window"
else
	not_ok "a failing evaluation is recorded"
fi
check_sql "the reason is kept, the window backs off, its results stay" "t|t|t|354" \
	"SELECT last_error LIKE '%max_window_rows%', claimed_by IS NULL, claimed_until > now(),
	(SELECT count(*) FROM results WHERE window_id = $hu) FROM windows WHERE id = $hu"
check_status "windows show the failure" 200 GET "$M/windows?state=done&limit=1" "$viewer"
check_jq "failures and last_error" '.windows[0].failures >= 1 and
	(.windows[0].last_error | test("max_window_rows"))'
printf 'evaluation_interval_s = 1\n' >"$cfgfile"
kill -HUP "$pid_a" "$pid_b"
recovered() {
	[ "$(sql "SELECT failures = 0 AND last_error IS NULL AND evaluations = 3 FROM windows
		WHERE id = $hu")" = t ]
}
if it_wait_for 60 recovered; then
	ok "after the back-off the window is evaluated again, the failure cleared"
else
	not_ok "recovery after the back-off ($(sql "SELECT failures, evaluations, last_error
		FROM windows WHERE id = $hu"))"
fi
# a claim whose lease ran out (its server died) is taken over; a live one is left alone
dead=$(sql "SELECT w.id FROM windows w JOIN models m ON m.id = w.model_id WHERE m.name = 'load'
	ORDER BY start_at LIMIT 1")
live=$(sql "SELECT w.id FROM windows w JOIN models m ON m.id = w.model_id WHERE m.name = 'load'
	ORDER BY start_at OFFSET 1 LIMIT 1")
sql "UPDATE windows SET claimed_by = 'gone:1:1', claimed_until = now() - interval '1 second'
	WHERE id = $dead; UPDATE windows SET claimed_by = 'busy:1:1', claimed_until = now() +
	interval '1 hour', needs_reeval = true WHERE id = $live" >/dev/null
taken_over() {
	[ "$(sql "SELECT evaluations = 2 AND claimed_by IS NULL FROM windows WHERE id = $dead")" = t ]
}
if it_wait_for 30 taken_over; then
	ok "an expired claim is taken over and the window evaluated"
else
	not_ok "an expired claim is taken over"
fi
sleep 2
check_sql "a live claim of another server is left alone" "busy:1:1|1" \
	"SELECT claimed_by, evaluations FROM windows WHERE id = $live"
sql "UPDATE windows SET claimed_by = NULL, claimed_until = NULL, needs_reeval = false
	WHERE id = $live" >/dev/null

# --- shutdown -------------------------------------------------------------------------------------
kill -TERM "$pid_b"
it_wait_exit "$pid_b" 30
[ "$it_status" = 0 ] && ok "the second server stops cleanly" ||
	not_ok "the second server stops cleanly (status $it_status)"
if it_serve_stop; then
	ok "the first server stops cleanly"
else
	not_ok "the first server stops cleanly"
	tail -n 20 "$log_a"
fi
if grep -E 'runtime error|AddressSanitizer|LeakSanitizer' "$log_a" "$log_b" >/dev/null; then
	not_ok "no sanitizer report"
	grep -E -A5 'runtime error|AddressSanitizer|LeakSanitizer' "$log_a" "$log_b" | head -n 40
else
	ok "no sanitizer report in either log"
fi
# for the record: what the heart windows cost, and anything the scheduler complained about
grep -h 'scheduler: .*model heart' "$log_a" "$log_b" | sed 's/^/# /'
grep -h 'scheduler:.*\(failed\|could not\|WARN\|ERROR\)' "$log_a" "$log_b" | head -n 5 |
	sed 's/^/# /'
finish
