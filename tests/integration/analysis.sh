#!/bin/sh
# tests/integration/analysis.sh - drift, performance and estimates from stored data over HTTP
#
# A real vigil serve on a throwaway PostgreSQL. The heart-disease data
# (tests/fixtures/heart_scored.csv: 920 scored rows from four sites) is ingested as
# predictions 45 minutes apart from 2024-03-01 (Cleveland, Hungarian, Switzerland, then
# VA, in file order) with their labels, and the Cleveland rows are uploaded as the
# labelled reference. Then the answers of GET /v1/models/heart/{performance,drift,estimate}
# must equal, to 1e-12, what `vigil perf` / `vigil drift` / `vigil estimate` print for the
# same rows as CSV: over the whole range and per site and sex (with the last ten labels
# still missing, then complete), the VA window against the uploaded reference and against
# a range reference of the same rows (with MMD), one segment's report, and the CBPE
# estimate. Also: per-segment reports add up, the output feature's name when a feature is
# called "score", every read audited with its outcome, problem+json with /query/<name>
# pointers for bad parameters, 401/403/404/409, and 413 once max_window_rows is lowered by
# SIGHUP.
. "$top_srcdir/tests/integration/lib.sh"

fx=$top_srcdir/tests/fixtures
cfgfile=$it_tmp/vigil.conf
: >"$cfgfile"
it_pg_start
it_serve --config "$cfgfile"
admin=$(it_token admin ana-admin)
ingest=$(it_token ingest ana-ingest)
viewer=$(it_token viewer ana-viewer)

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

post() { # PATH TOKEN MEDIA-TYPE FILE
	it_req POST "$1" "$2" -H "Content-Type: $3" --data-binary "@$4"
}

check_post() { # NAME WANT PATH TOKEN MEDIA-TYPE FILE
	name=$1 want=$2
	shift 2
	got=$(post "$@")
	if [ "$got" = "$want" ]; then
		ok "$name"
	else
		not_ok "$name (status $got, wanted $want)"
		head -c 800 "$it_body"
		echo
	fi
}

# same NAME EXPECTED ACTUAL: jsoncmp at 1e-12 (EXPECTED is the CLI's output)
same() {
	if "$JSONCMP" --rtol 1e-12 --atol 1e-12 "$2" "$3" >"$it_tmp/cmp.out" 2>&1; then
		ok "$1"
	else
		not_ok "$1"
		head -n 30 "$it_tmp/cmp.out"
	fi
}

# problem NAME STATUS POINTER PATH [TOKEN]: a problem+json answer with that pointer
problem() {
	name=$1 want=$2 ptr=$3 path=$4
	got=$(it_req GET "$path" "${5-$viewer}")
	gotptr=$(jq -r '.pointer // "none"' "$it_body" 2>/dev/null)
	gotst=$(jq -r '.status' "$it_body" 2>/dev/null)
	if [ "$got" = "$want" ] && [ "$gotst" = "$want" ] && [ "$gotptr" = "$ptr" ] &&
		tr -d '\r' <"$it_headers" | grep -qi '^content-type: application/problem+json'; then
		ok "$name: $want, pointer $ptr"
	else
		not_ok "$name (status $got, pointer $gotptr; wanted $want, $ptr)"
		head -c 600 "$it_body"
		echo
	fi
}

# --- the model, its data, its reference ---------------------------------------------------
cat >"$it_tmp/spec.json" <<'JSON'
{"name": "heart", "version": "1", "threshold": 0.5,
 "features": [{"name": "age", "type": "numeric"}, {"name": "sex", "type": "numeric"},
  {"name": "cp", "type": "categorical"}, {"name": "trestbps", "type": "numeric"},
  {"name": "chol", "type": "numeric"}, {"name": "fbs", "type": "categorical"},
  {"name": "restecg", "type": "categorical"}, {"name": "thalach", "type": "numeric"},
  {"name": "exang", "type": "categorical"}, {"name": "oldpeak", "type": "numeric"},
  {"name": "slope", "type": "categorical"}, {"name": "ca", "type": "numeric"},
  {"name": "thal", "type": "categorical"}],
 "segments": ["site", "sex_label"]}
JSON
check_post "register the heart model" 201 /v1/models "$admin" application/json "$it_tmp/spec.json"
features=age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal
categorical=cp,fbs,restecg,exang,slope,thal

# predictions p0001..p0920, 45 minutes apart from 2024-03-01T00:00:00Z, in file order;
# labels observed a day later, the last ten held back; the Cleveland rows as reference
# c0001..c0303 (ids sort like the file, so the reference's row order is the file's).
# The server orders a window by (ts, id) and an uploaded reference by id, whatever the
# order the rows were sent or stored in: order matters for MMD's permutations, CBPE's
# draws and the order categories are listed in.
perl -e '
use strict; use warnings; use POSIX qw(strftime);
my ($csv, $dir) = @ARGV;
open(my $in, "<", $csv) or die;
my $hdr = <$in>; chomp $hdr;
my @cols = split /,/, $hdr;
my @feat = qw(age sex cp trestbps chol fbs restecg thalach exang oldpeak slope ca thal);
my %cat = map { $_ => 1 } qw(cp fbs restecg exang slope thal);
my (@pred, @lab1, @lab2, @ref);
my $base = 1709251200;
my $i = 0;
while (my $line = <$in>) {
	chomp $line; $i++;
	my @v = split /,/, $line, -1;
	my %r; @r{@cols} = @v;
	my $t = $base + ($i - 1) * 2700;
	my $ts = strftime("%Y-%m-%dT%H:%M:%SZ", gmtime($t));
	my $obs = strftime("%Y-%m-%dT%H:%M:%SZ", gmtime($t + 86400));
	my @f;
	for my $k (@feat) {
		my $x = $r{$k};
		if ($x eq "") { push @f, "\"$k\": null"; next }
		push @f, $cat{$k} ? "\"$k\": \"$x\"" : "\"$k\": $x";
	}
	my $fs = join(", ", @f);
	my $seg = "\"site\": \"$r{site}\", \"sex_label\": \"$r{sex_label}\"";
	push @pred, sprintf("{\"id\": \"p%04d\", \"ts\": \"%s\", \"score\": %s, \"features\": {%s}, \"segments\": {%s}}", $i, $ts, $r{score}, $fs, $seg);
	my $l = sprintf("{\"prediction_id\": \"p%04d\", \"label\": %d, \"ts\": \"%s\"}", $i, $r{target}, $obs);
	if ($i > 910) { push @lab2, $l } else { push @lab1, $l }
	push @ref, sprintf("{\"id\": \"c%04d\", \"score\": %s, \"label\": %d, \"features\": {%s}, \"segments\": {%s}}", $i, $r{score}, $r{target}, $fs, $seg)
		if $r{site} eq "cleveland";
}
sub put { my ($name, $text) = @_; open(my $o, ">", "$dir/$name") or die; print $o $text; close $o }
# sent out of order (a fixed shuffle), so the server must put the rows in order itself
sub shuffle { my @a = @_; my $n = @a; return map { $a[($_ * 337) % $n] } 0 .. $n - 1 }
put("preds.ndjson", join("\n", shuffle(@pred)) . "\n");
put("labels1.ndjson", join("\n", shuffle(@lab1)) . "\n");
put("labels2.ndjson", join("\n", @lab2) . "\n");
put("ref.ndjson", join("\n", reverse @ref) . "\n");
' "$fx/heart_scored.csv" "$it_tmp"

M=/v1/models/heart
check_post "920 predictions" 200 $M/predictions "$ingest" application/x-ndjson "$it_tmp/preds.ndjson"
check_jq "all accepted" '.accepted == 920 and .rejected == []'
check_post "910 labels" 200 $M/labels "$ingest" application/x-ndjson "$it_tmp/labels1.ndjson"
check_jq "all matched" '.accepted == 910 and .unmatched == 0'
check_post "the Cleveland rows as the reference" 201 $M/references "$admin" application/x-ndjson \
	"$it_tmp/ref.ndjson"
check_jq "303 rows, active" '.reference.rows == 303 and .reference.active'
upload_id=$(jq -r .reference.id "$it_body")

# the whole range, and VA's: rows 721..920
ALL="from=2024-03-01T00:00:00Z&to=2024-04-01T00:00:00Z"
VA="from=2024-03-23T12:00:00Z&to=2024-03-29T17:15:01Z"

# --- performance -------------------------------------------------------------------------------
awk -F, 'BEGIN{OFS=","} NR>911{$16=""} {print}' "$fx/heart_scored.csv" >"$it_tmp/partial.csv"
vigil perf --input "$it_tmp/partial.csv" --score score --label target --by site,sex_label \
	--intersections --format json >"$it_tmp/perf_partial_cli.json"
t0=$(date +%s.%N)
check_status "performance over the whole range, by site and sex" 200 GET \
	"$M/performance?$ALL&by=site,sex_label&intersections=true" "$viewer"
t1=$(date +%s.%N)
cp "$it_body" "$it_tmp/perf_partial.json"
same "performance with 10 labels missing = vigil perf on the same CSV" \
	"$it_tmp/perf_partial_cli.json" "$it_tmp/perf_partial.json"
check_jq "rows, labeled_rows, unlabeled_rows, label_coverage" \
	'.rows == 920 and .labeled_rows == 910 and .unlabeled_rows == 10 and
	 .label_coverage == (910 / 920) and .model == "heart" and
	 .from == "2024-03-01T00:00:00Z" and .to == "2024-04-01T00:00:00Z" and
	 .overall.n == 910 and (.groups | length) > 6'
check_post "the last 10 labels" 200 $M/labels "$ingest" application/x-ndjson "$it_tmp/labels2.ndjson"
vigil perf --input "$fx/heart_scored.csv" --score score --label target --by site,sex_label \
	--intersections --format json >"$it_tmp/perf_cli.json"
check_status "performance again, every label in" 200 GET \
	"$M/performance?$ALL&by=site,sex_label&intersections=true" "$viewer"
cp "$it_body" "$it_tmp/perf.json"
same "performance = vigil perf on heart_scored.csv" "$it_tmp/perf_cli.json" "$it_tmp/perf.json"
check_jq "every row labelled" '.unlabeled_rows == 0 and .label_coverage == 1 and .overall.n == 920'
"$JSONCMP" --rtol 1e-7 --atol 1e-9 "$fx/cli/perf_heart_site_sex.json" "$it_tmp/perf.json" \
	>/dev/null 2>&1 && ok "performance matches scikit-learn/statsmodels (as vigil perf does)" ||
	not_ok "performance matches scikit-learn/statsmodels"
check_status "performance with min_n=200, no by" 200 GET "$M/performance?$ALL&min_n=200" "$viewer"
check_jq "min_n is honoured, no groups" '.parameters.min_n == 200 and .groups == []'
check_status "performance of an empty window" 200 GET \
	"$M/performance?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z" "$viewer"
check_jq "zero rows, coverage null, insufficient" \
	'.rows == 0 and .label_coverage == null and .overall.insufficient_data'

# --- drift -----------------------------------------------------------------------------------
vigil drift --reference "$fx/heart_cleveland.csv" --current "$fx/heart_va.csv" \
	--columns "$features,score" --categorical "$categorical" --mmd --format json \
	>"$it_tmp/drift_cli.json"
t2=$(date +%s.%N)
check_status "drift of the VA window vs the uploaded Cleveland reference" 200 GET \
	"$M/drift?$VA&mmd=true" "$viewer"
t3=$(date +%s.%N)
cp "$it_body" "$it_tmp/drift.json"
same "drift = vigil drift on the same CSVs (with MMD)" "$it_tmp/drift_cli.json" "$it_tmp/drift.json"
check_jq "drift: features in declaration order, then the output; 303 vs 200 rows" \
	"[.features[].name] == [\"age\",\"sex\",\"cp\",\"trestbps\",\"chol\",\"fbs\",\"restecg\",\"thalach\",\"exang\",\"oldpeak\",\"slope\",\"ca\",\"thal\",\"score\"]
	 and .output_feature == \"score\" and .reference_rows == 303 and .current_rows == 200 and
	 .reference_id == $upload_id and .features[2].type == \"categorical\" and .mmd.p_value != null"

# a range reference holding the same rows (predictions p0001..p0303) gives the same drift
printf '{"from": "2024-03-01T00:00:00Z", "to": "2024-03-10T11:15:00Z"}' >"$it_tmp/range.json"
check_post "a range reference over the Cleveland predictions" 201 $M/references "$admin" \
	application/json "$it_tmp/range.json"
check_jq "303 rows" '.reference.rows == 303'
range_id=$(jq -r .reference.id "$it_body")
check_status "drift vs the (now active) range reference" 200 GET "$M/drift?$VA&mmd=true" "$viewer"
cp "$it_body" "$it_tmp/drift_range.json"
same "drift vs the range reference = vigil drift" "$it_tmp/drift_cli.json" "$it_tmp/drift_range.json"
check_jq "it names the range reference" ".reference_id == $range_id"
check_status "drift vs the upload, named with ?reference" 200 GET \
	"$M/drift?$VA&reference=$upload_id" "$viewer"
check_jq "it names the upload, no MMD unless asked" ".reference_id == $upload_id and (has(\"mmd\") | not)"

# per segment: the female rows' report equals vigil drift on the female rows
check_status "drift per sex" 200 GET "$M/drift?$VA&segment=sex_label" "$viewer"
cp "$it_body" "$it_tmp/drift_seg.json"
check_jq "per-segment shape: overall plus one report per value, ordered" \
	'.segment == "sex_label" and .overall.current_rows == 200 and
	 [.segments[].value] == ["female", "male"]'
check_jq "segment reports add up to the overall rows" \
	'([.segments[].report.current_rows] | add) == .overall.current_rows and
	 ([.segments[].report.reference_rows] | add) == .overall.reference_rows'
check_jq "and so do each feature's counts" \
	'([.segments[].report.features[0] | .n_current + .missing_current] | add) == 200'
awk -F, 'NR==1 || $18=="female"' "$fx/heart_cleveland.csv" >"$it_tmp/cle_f.csv"
awk -F, 'NR==1 || $18=="female"' "$fx/heart_va.csv" >"$it_tmp/va_f.csv"
vigil drift --reference "$it_tmp/cle_f.csv" --current "$it_tmp/va_f.csv" \
	--columns "$features,score" --categorical "$categorical" --format json >"$it_tmp/drift_f_cli.json"
jq '.segments[] | select(.value == "female") | .report' "$it_tmp/drift_seg.json" >"$it_tmp/drift_f.json"
same "the female segment's report = vigil drift on the female rows" \
	"$it_tmp/drift_f_cli.json" "$it_tmp/drift_f.json"

# a feature named "score": the output is "_score"
cat >"$it_tmp/spec2.json" <<'JSON'
{"name": "scored", "features": [{"name": "score", "type": "numeric"}], "segments": ["unit"]}
JSON
check_post "register a model with a feature named score" 201 /v1/models "$admin" \
	application/json "$it_tmp/spec2.json"
perl -e 'for my $i (1 .. 40) { printf "{\"id\": \"s%d\", \"score\": %.3f, \"label\": %d, \"features\": {\"score\": %d}}\n", $i, $i / 50, $i % 2, $i }' >"$it_tmp/ref2.ndjson"
perl -e 'for my $i (1 .. 40) { printf "{\"id\": \"s%d\", \"ts\": \"2024-03-02T00:%02d:00Z\", \"score\": %.3f, \"features\": {\"score\": %d}, \"segments\": {\"unit\": \"%s\"}}\n", $i, $i, $i / 45, $i + 3, $i % 3 ? "icu" : "ward" }' >"$it_tmp/preds2.ndjson"
check_post "its reference" 201 /v1/models/scored/references "$admin" application/x-ndjson "$it_tmp/ref2.ndjson"
check_post "its predictions" 200 /v1/models/scored/predictions "$ingest" application/x-ndjson "$it_tmp/preds2.ndjson"
check_status "its drift" 200 GET "/v1/models/scored/drift?$ALL&segment=unit" "$viewer"
check_jq "the output is named _score" \
	'.output_feature == "_score" and [.overall.features[].name] == ["score", "_score"] and
	 [.segments[].value] == ["icu", "ward", null] and .segments[2].report.current_rows == 0 and
	 .segments[2].report.reference_rows == 40'

# --- estimate ---------------------------------------------------------------------------------
vigil estimate --reference "$fx/heart_cleveland.csv" --current "$fx/heart_va.csv" \
	--score score --label target --by sex_label --min-n 20 --format json >"$it_tmp/est_cli.json"
check_status "estimate for the VA window, by sex" 200 GET \
	"$M/estimate?$VA&by=sex_label&min_n=20&reference=$upload_id" "$viewer"
cp "$it_body" "$it_tmp/est.json"
same "estimate = vigil estimate on the same CSVs" "$it_tmp/est_cli.json" "$it_tmp/est.json"
check_jq "method cbpe with intervals; realized beside it (every VA row has its label)" \
	'.method == "cbpe" and .overall.sensitivity.ci_low <= .overall.sensitivity.value and
	 .overall.sensitivity.value <= .overall.sensitivity.ci_high and
	 .overall.auroc.method == "cbpe" and .overall.realized != null and
	 .reference_rows == 303 and .current_rows == 200 and (.groups | length) == 2'
check_status "estimate vs the active range reference" 200 GET "$M/estimate?$VA&by=sex_label&min_n=20" "$viewer"
cp "$it_body" "$it_tmp/est_range.json"
same "the range reference calibrates the same" "$it_tmp/est_cli.json" "$it_tmp/est_range.json"

# --- the audit log -----------------------------------------------------------------------------------
check_sql "every performance read is audited (who, what, outcome)" "4" \
	"SELECT count(*) FROM audit_log WHERE action = 'performance.read' AND actor = 'ana-viewer' AND target = 'heart' AND outcome = 'ok' AND remote <> ''"
check_sql "with the window and the rows read" "2024-03-01T00:00:00Z|2024-04-01T00:00:00Z|920|site,sex_label" \
	"SELECT detail->>'from', detail->>'to', detail->>'rows', (SELECT string_agg(x, ',') FROM jsonb_array_elements_text(detail->'by') x) FROM audit_log WHERE action = 'performance.read' AND detail->>'labeled_rows' = '920' ORDER BY id LIMIT 1"
check_sql "drift and estimate reads are audited with their reference" "t|t" \
	"SELECT bool_and(detail ? 'reference_id') FILTER (WHERE action = 'drift.read'), bool_and(detail ? 'reference_id') FILTER (WHERE action = 'estimate.read') FROM audit_log WHERE outcome = 'ok'"

# --- errors ---------------------------------------------------------------------------------------
check_status "no token: 401" 401 GET "$M/performance?$ALL"
check_header "with WWW-Authenticate" '^www-authenticate: bearer'
check_status "an ingest token: 403" 403 GET "$M/performance?$ALL" "$ingest"
problem "unknown model" 404 none "/v1/models/nope/performance?$ALL"
problem "from missing" 400 /query/from "$M/performance?to=2024-04-01T00:00:00Z"
problem "from not RFC 3339" 400 /query/from "$M/drift?from=yesterday&to=2024-04-01T00:00:00Z"
problem "to missing" 400 /query/to "$M/estimate?from=2024-03-01T00:00:00Z"
problem "to before from" 400 /query/to "$M/performance?from=2024-04-01T00:00:00Z&to=2024-03-01T00:00:00Z"
problem "to equal to from" 400 /query/to "$M/drift?from=2024-04-01T00:00:00Z&to=2024-04-01T00:00:00Z"
problem "unknown segment" 400 /query/segment "$M/drift?$VA&segment=race"
check_jq "the detail names it" '.detail | contains("\"race\"")'
problem "a feature is not a segment" 400 /query/segment "$M/drift?$VA&segment=age"
problem "unknown by attribute" 400 /query/by "$M/performance?$ALL&by=site,race"
problem "by names one twice" 400 /query/by "$M/performance?$ALL&by=site,site"
problem "by on estimate too" 400 /query/by "$M/estimate?$VA&by=nope"
problem "unknown reference" 404 /query/reference "$M/drift?$VA&reference=999999"
problem "another model's reference" 404 /query/reference "$M/drift?$VA&reference=$(sql "SELECT id FROM model_references WHERE model_id = (SELECT id FROM models WHERE name = 'scored')")"
problem "reference not a number" 400 /query/reference "$M/estimate?$VA&reference=abc"
problem "min_n 0" 400 /query/min_n "$M/performance?$ALL&min_n=0"
problem "intersections=maybe" 400 /query/intersections "$M/performance?$ALL&intersections=maybe"
problem "mmd=yes" 400 /query/mmd "$M/drift?$VA&mmd=yes"
problem "alpha 2" 400 /query/alpha "$M/drift?$VA&alpha=2"
problem "permutations 0" 400 /query/permutations "$M/drift?$VA&permutations=0"
problem "draws 5" 400 /query/draws "$M/estimate?$VA&draws=5"
cat >"$it_tmp/spec3.json" <<'JSON'
{"name": "bare", "features": [{"name": "x", "type": "numeric"}]}
JSON
check_post "register a model without a reference" 201 /v1/models "$admin" application/json "$it_tmp/spec3.json"
printf '{"id": "b1", "ts": "2024-03-02T00:00:00Z", "score": 0.4, "features": {"x": 1}}\n' >"$it_tmp/b.ndjson"
check_post "one prediction for it" 200 /v1/models/bare/predictions "$ingest" application/x-ndjson "$it_tmp/b.ndjson"
problem "drift without an active reference" 409 none "/v1/models/bare/drift?$ALL"
check_jq "the detail says what to do" '.detail | contains("no active reference")'
problem "estimate without an active reference" 409 none "/v1/models/bare/estimate?$ALL"
check_status "performance needs no reference" 200 GET "/v1/models/bare/performance?$ALL" "$viewer"
check_jq "one row, unlabelled" '.rows == 1 and .unlabeled_rows == 1 and .label_coverage == 0'
check_sql "refused reads are audited with their outcome" "t|t|t|t" \
	"SELECT count(*) FILTER (WHERE outcome = 'invalid') >= 15, count(*) FILTER (WHERE outcome = 'not_found') >= 3, count(*) FILTER (WHERE outcome = 'no_reference') = 2, count(*) FILTER (WHERE outcome = 'invalid' AND detail->>'parameter' = 'from') = 2 FROM audit_log WHERE action IN ('drift.read', 'performance.read', 'estimate.read')"

# --- max_window_rows, lowered by SIGHUP -----------------------------------------------------------
echo "max_window_rows = 250" >"$cfgfile"
kill -HUP "$it_pid"
lowered() {
	[ "$(it_req GET "$M/performance?$ALL" "$viewer")" = 413 ]
}
if it_wait_for 10 lowered; then
	ok "max_window_rows is reloadable"
else
	not_ok "max_window_rows is reloadable"
fi
problem "a window over max_window_rows" 413 /query/from "$M/performance?$ALL"
check_jq "413 carries the limit" '.limit == 250 and (.detail | contains("250"))'
check_status "a window under it still works" 200 GET "$M/performance?$VA" "$viewer"
problem "a reference over max_window_rows" 413 none "$M/drift?$VA&reference=$upload_id"
check_sql "too-large reads are audited" "t" \
	"SELECT count(*) >= 2 FROM audit_log WHERE outcome = 'too_large'"

if it_serve_stop; then
	ok "vigil serve exits 0 on SIGTERM"
else
	not_ok "vigil serve exits 0 on SIGTERM (status $it_status)"
fi
if grep -q 'runtime error\|AddressSanitizer\|LeakSanitizer' "$it_log"; then
	not_ok "no sanitizer report in the server log"
	grep -A5 'runtime error\|AddressSanitizer\|LeakSanitizer' "$it_log" | head -40
else
	ok "no sanitizer report in the server log"
fi
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN {
	printf "# timing: performance (920 rows, by 2 + intersections) %.3f s, drift (303 vs 200 rows, MMD) %.3f s, each with curl\n", b - a, d - c }'
finish
