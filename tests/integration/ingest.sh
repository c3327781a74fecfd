#!/bin/sh
# tests/integration/ingest.sh - models, predictions, labels and references over HTTP
#
# A real vigil serve on a throwaway PostgreSQL, driven with curl: model registration
# (201, idempotent 200, 409, 422 with JSON pointers), the heart-disease data
# (tests/fixtures/heart_scored.csv: 920 rows, age..thal as features, sex_label and site as
# segments, synthetic ids and timestamps) ingested as a JSON array, NDJSON and CSV,
# duplicates counted once, conflicts reported, atomic batches that store nothing (checked
# with psql), labels before and after their predictions, references (upload, range,
# exactly one active), every rejection reason with its field pointer, the batch-level
# limits (depth, UTF-8, records, media type), and 503 while PostgreSQL is down.
. "$top_srcdir/tests/integration/lib.sh"

fx=$top_srcdir/tests/fixtures
it_pg_start
it_serve --set max_batch_records=400 --set max_json_depth=32
admin=$(it_token admin ing-admin)
ingest=$(it_token ingest ing-ingest)
viewer=$(it_token viewer ing-viewer)

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

# post PATH TOKEN MEDIA-TYPE FILE: POST a file, print the status
post() {
	it_req POST "$1" "$2" -H "Content-Type: $3" --data-binary "@$4"
}

# check_post NAME WANT PATH TOKEN MEDIA-TYPE FILE
check_post() {
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

# --- models ---------------------------------------------------------------------------------
spec=$it_tmp/spec.json
cat >"$spec" <<'JSON'
{"name": "heart", "version": "2024.1", "threshold": 0.5, "positive_label": "1",
 "features": [{"name": "age", "type": "numeric"}, {"name": "sex", "type": "numeric"},
  {"name": "cp", "type": "categorical"}, {"name": "trestbps", "type": "numeric"},
  {"name": "chol", "type": "numeric"}, {"name": "fbs", "type": "numeric"},
  {"name": "restecg", "type": "categorical"}, {"name": "thalach", "type": "numeric"},
  {"name": "exang", "type": "numeric"}, {"name": "oldpeak", "type": "numeric"},
  {"name": "slope", "type": "categorical"}, {"name": "ca", "type": "numeric"},
  {"name": "thal", "type": "categorical"}],
 "segments": ["sex_label", "site"]}
JSON
check_post "register a model: 201" 201 /v1/models "$admin" application/json "$spec"
check_jq "the stored model is canonical" \
	'.name == "heart" and .negative_label == "0" and (.features | length) == 13 and
	 .features[2] == {"name": "cp", "type": "categorical"} and .segments == ["sex_label", "site"]
	 and (.created_at | test("^20[0-9-]+T[0-9:.]+Z$"))'
check_post "the same registration again: 200" 200 /v1/models "$admin" application/json "$spec"
sed 's/"threshold": 0.5/"threshold": 0.4/' "$spec" >"$it_tmp/spec2.json"
check_post "another schema under the name: 409" 409 /v1/models "$admin" application/json \
	"$it_tmp/spec2.json"
check_jq "409 is problem+json naming /name, with the stored model" \
	'.status == 409 and .pointer == "/name" and .model.threshold == 0.5'
check_header "409 has the problem media type" '^content-type: application/problem+json'
check_post "an ingest token may not register: 403" 403 /v1/models "$ingest" application/json \
	"$spec"
check_sql "model_features rows follow the registration" "13|cp|thal" \
	"SELECT count(*), min(name) FILTER (WHERE position = 2), max(name) FILTER (WHERE position = 12) FROM model_features"

bad_model() { # NAME POINTER BODY
	printf '%s' "$3" >"$it_tmp/bad.json"
	got=$(post /v1/models "$admin" application/json "$it_tmp/bad.json")
	ptr=$(jq -r .pointer "$it_body" 2>/dev/null)
	if [ "$got" = 422 ] && [ "$ptr" = "$2" ]; then
		ok "registration rejected: $1 ($2)"
	else
		not_ok "registration rejected: $1 (status $got, pointer $ptr, wanted 422 $2)"
		cat "$it_body"
		echo
	fi
}
bad_model "bad feature type" /features/3/type \
	'{"name":"m","features":[{"name":"a","type":"numeric"},{"name":"b","type":"numeric"},{"name":"c","type":"numeric"},{"name":"d","type":"text"}]}'
bad_model "duplicate feature" /features/1/name \
	'{"name":"m","features":[{"name":"a","type":"numeric"},{"name":"a","type":"categorical"}]}'
bad_model "feature and segment share a name" /segments/1 \
	'{"name":"m","features":[{"name":"sex","type":"numeric"}],"segments":["site","sex"]}'
bad_model "empty feature name" /features/0/name '{"name":"m","features":[{"name":"","type":"numeric"}]}'
bad_model "threshold above 1" /threshold '{"name":"m","threshold":1.5,"features":[]}'
bad_model "bad model name" /name '{"name":"../etc","features":[]}'
bad_model "unknown key" /colour '{"name":"m","features":[],"colour":"red"}'
bad_model "equal labels" /negative_label '{"name":"m","features":[],"positive_label":"y","negative_label":"y"}'
printf '{"name": "m", ' >"$it_tmp/bad.json"
check_post "registration that is not JSON: 400" 400 /v1/models "$admin" application/json \
	"$it_tmp/bad.json"
check_post "registration as text/plain: 415" 415 /v1/models "$admin" text/plain "$spec"
check_status "viewer lists models" 200 GET /v1/models "$viewer"
check_jq "the list holds heart only" '[.models[].name] == ["heart"]'
check_status "viewer reads one model" 200 GET /v1/models/heart "$viewer"
check_status "unknown model: 404" 404 GET /v1/models/nope "$viewer"
check_sql "registrations are audited" "1|1|1" \
	"SELECT count(*) FILTER (WHERE outcome = 'created'), count(*) FILTER (WHERE outcome = 'unchanged'), count(*) FILTER (WHERE outcome = 'conflict') FROM audit_log WHERE action = 'model.register' AND target = 'heart'"

# --- the heart data as JSON, NDJSON and CSV ---------------------------------------------------
# ids h1..h920, one minute apart ending an hour ago; labels from the target column
now=$(date -u +%s)
perl -e '
use strict; use warnings; use POSIX qw(strftime);
my ($csv, $dir, $now) = @ARGV;
open(my $in, "<", $csv) or die;
my $hdr = <$in>; chomp $hdr;
my @cols = split /,/, $hdr;
my @feat = qw(age sex cp trestbps chol fbs restecg thalach exang oldpeak slope ca thal);
my %cat = map { $_ => 1 } qw(cp restecg slope thal);
my (@json, @nd, @csvrows, @labels, @lcsv, @ref);
my $i = 0;
while (my $line = <$in>) {
	chomp $line; $i++;
	my @v = split /,/, $line, -1;
	my %r; @r{@cols} = @v;
	my $ts = strftime("%Y-%m-%dT%H:%M:%SZ", gmtime($now - 3600 - (920 - $i) * 60));
	my @f;
	for my $k (@feat) {
		my $x = $r{$k};
		if ($x eq "") { push @f, "\"$k\": null" if $i % 2; next }
		push @f, $cat{$k} ? "\"$k\": \"$x\"" : "\"$k\": $x";
	}
	my $rec = sprintf("{\"id\": \"h%d\", \"ts\": \"%s\", \"score\": %s, \"features\": {%s}, \"segments\": {\"sex_label\": \"%s\", \"site\": \"%s\"}}",
		$i, $ts, $r{score}, join(", ", @f), $r{sex_label}, $r{site});
	if ($i <= 300) { push @json, $rec } elsif ($i <= 600) { push @nd, $rec }
	else { push @csvrows, join(",", "h$i", $ts, $r{score}, (map { $r{$_} } @feat), $r{sex_label}, $r{site}) }
	push @labels, sprintf("{\"prediction_id\": \"h%d\", \"label\": %d, \"ts\": \"%s\"}", $i, $r{target}, $ts);
	push @lcsv, join(",", "h$i", $r{target} ? "1" : "0", $ts);
	push @ref, join(",", "r$i", $r{score}, $r{target}, (map { $r{$_} } @feat), $r{sex_label}, $r{site}) if $i <= 200;
}
sub put { my ($name, $text) = @_; open(my $o, ">", "$dir/$name") or die; print $o $text; close $o }
put("preds.json", "[" . join(",\n", @json) . "]\n");
put("preds.ndjson", join("\n", @nd) . "\n");
put("preds.csv", join(",", "id", "ts", "score", @feat, "segments.sex_label", "site") . "\r\n" . join("\r\n", @csvrows) . "\r\n");
put("labels.json", "[" . join(",\n", @labels[0 .. 299]) . "]\n");
put("labels2.ndjson", join("\n", @labels[300 .. 599]) . "\n");
put("labels3.csv", "prediction_id,label,observed_at\n" . join("\n", @lcsv[600 .. 919]) . "\n");
put("ref.csv", join(",", "id", "score", "label", @feat, "sex_label", "site") . "\n" . join("\n", @ref) . "\n");
' "$fx/heart_scored.csv" "$it_tmp" "$now"

P=/v1/models/heart/predictions
check_post "300 predictions as a JSON array" 200 $P "$ingest" application/json "$it_tmp/preds.json"
check_jq "JSON: all accepted" '.accepted == 300 and .duplicates == 0 and .conflicts == [] and .rejected == []'
check_post "300 predictions as NDJSON" 200 $P "$ingest" application/x-ndjson "$it_tmp/preds.ndjson"
check_jq "NDJSON: all accepted" '.accepted == 300 and .duplicates == 0 and .rejected == []'
check_post "320 predictions as CSV" 200 $P "$ingest" text/csv "$it_tmp/preds.csv"
check_jq "CSV: all accepted" '.accepted == 320 and .duplicates == 0 and .rejected == []'
check_sql "920 predictions and 920 ids are stored" "920|920" \
	"SELECT (SELECT count(*) FROM predictions), (SELECT count(*) FROM prediction_ids)"
check_sql "a stored row keeps its values, missing ones NULL" \
	'0.390848|{63,1,145,233,1,150,0,2.3,0}|{1.0,2.0,3.0,6.0}|{male,cleveland}' \
	"SELECT score, num, cat, seg FROM predictions WHERE client_id = 'h1'"
check_sql "missing values (null, absent, empty CSV cell) are NULL" "611|486" \
	"SELECT count(*) FILTER (WHERE num[9] IS NULL), count(*) FILTER (WHERE cat[4] IS NULL) FROM predictions WHERE client_id ~ '^h[0-9]+\$'"
check_sql "rows land in monthly partitions" "t" \
	"SELECT bool_and(tableoid::regclass::text ~ '^predictions_y[0-9]{4}m[0-9]{2}\$') FROM predictions"

check_post "the JSON batch again" 200 $P "$ingest" application/json "$it_tmp/preds.json"
check_jq "re-sent: 300 duplicates, nothing stored twice" '.accepted == 0 and .duplicates == 300 and .conflicts == []'
check_post "the CSV batch again" 200 $P "$ingest" text/csv "$it_tmp/preds.csv"
check_jq "re-sent CSV: 320 duplicates" '.accepted == 0 and .duplicates == 320'
check_sql "still 920 predictions" 920 "SELECT count(*) FROM predictions"
sed '2s/"score": 0.97681/"score": 0.5/' "$it_tmp/preds.json" >"$it_tmp/conflict.json"
check_post "a re-sent id with other content" 200 $P "$ingest" application/json "$it_tmp/conflict.json"
check_jq "it is a conflict, the rest duplicates" \
	'.accepted == 0 and .duplicates == 299 and .conflicts == [{"index": 1, "id": "h2"}]'
check_sql "the stored score is unchanged" 0.97681 "SELECT score FROM predictions WHERE client_id = 'h2'"
ts=$(date -u -d "@$((now - 7200))" +%Y-%m-%dT%H:%M:%SZ)
printf '[{"id": "d1", "ts": "%s", "score": 0.1}, {"id": "d1", "ts": "%s", "score": 0.1}, {"id": "d1", "ts": "%s", "score": 0.2}]' \
	"$ts" "$ts" "$ts" >"$it_tmp/dups.json"
check_post "the same id three times in one batch" 200 $P "$ingest" application/json "$it_tmp/dups.json"
check_jq "stored once, a duplicate and a conflict" \
	'.accepted == 1 and .duplicates == 1 and .conflicts == [{"index": 2, "id": "d1"}]'

# the same new batch from 4 clients at once: stored once, the rest duplicates (the losers of
# the race on prediction_ids' key run their batch again with ON CONFLICT)
perl -e 'print join("", map { "{\"id\": \"race$_\", \"ts\": \"$ARGV[0]\", \"score\": 0.5}\n" } 1 .. 300)' \
	"$ts" >"$it_tmp/race.ndjson"
racers=
for k in 1 2 3 4; do
	curl -s -m 30 -o "$it_tmp/race.$k" -w '%{http_code}\n' -H "Authorization: Bearer $ingest" \
		-H 'Content-Type: application/x-ndjson' --data-binary "@$it_tmp/race.ndjson" \
		"$BASE$P" >"$it_tmp/race.code.$k" &
	racers="$racers $!"
	it_bg $!
done
for k in $racers; do
	wait "$k"
done
codes=$(cat "$it_tmp"/race.code.* | sort -u | tr -d '\n')
sums=$(cat "$it_tmp"/race.[1-4] | jq -s '[(map(.accepted) | add), (map(.duplicates) | add)] | join(",")' -r)
if [ "$codes" = 200 ] && [ "$sums" = "300,900" ]; then
	ok "4 concurrent copies of a batch: stored once, 900 duplicates"
else
	not_ok "4 concurrent copies of a batch (codes $codes, accepted,duplicates $sums)"
fi
check_sql "the raced ids are stored once" "300|300" \
	"SELECT (SELECT count(*) FROM prediction_ids WHERE client_id LIKE 'race%'), (SELECT count(*) FROM predictions WHERE client_id LIKE 'race%')"

# partitions: the current month and the next two exist from the start; a batch in a month
# without one creates it, also when two batches race for it
ahead=$(sql "SELECT count(*) FROM generate_series(date_trunc('month', now() AT TIME ZONE 'UTC'), date_trunc('month', now() AT TIME ZONE 'UTC') + interval '2 months', interval '1 month') m WHERE to_regclass(to_char(m, '\"predictions_y\"YYYY\"m\"MM')) IS NOT NULL")
[ "$ahead" = 3 ] && ok "partitions for this month and the next two exist" ||
	not_ok "partitions for this month and the next two exist (found $ahead)"
for k in 1 2; do
	printf '[{"id": "old%s", "ts": "2024-03-0%sT12:00:00+02:00", "score": 0.5}]' "$k" "$k" \
		>"$it_tmp/old$k.json"
done
pids=
for k in 1 2; do
	curl -s -m 30 -o "$it_tmp/old.out.$k" -w '%{http_code}' -H "Authorization: Bearer $ingest" \
		-H 'Content-Type: application/json' --data-binary "@$it_tmp/old$k.json" "$BASE$P" \
		>"$it_tmp/old.code.$k" &
	pids="$pids $!"
	it_bg $!
done
for k in $pids; do
	wait "$k"
done
[ "$(cat "$it_tmp"/old.code.1 "$it_tmp"/old.code.2)" = 200200 ] &&
	ok "two batches racing to create a month's partition" ||
	not_ok "two batches racing to create a month's partition ($(cat "$it_tmp"/old.code.*))"
check_sql "both land in predictions_y2024m03" "predictions_y2024m03|2" \
	"SELECT min(tableoid::regclass::text), count(*) FROM predictions WHERE client_id LIKE 'old%'"

# --- atomic batches -----------------------------------------------------------------------------
printf '[{"id": "a1", "ts": "%s", "score": 0.1}, {"id": "a2", "ts": "%s", "score": 7}]' \
	"$ts" "$ts" >"$it_tmp/atomic.json"
check_post "atomic batch with a bad record: 422" 422 "$P?atomic=true" "$ingest" application/json \
	"$it_tmp/atomic.json"
check_jq "422 names the record and field" \
	'.status == 422 and .pointer == "/1/score" and .accepted == 0 and .rejected[0].index == 1'
check_sql "nothing of the atomic batch is stored" 0 \
	"SELECT count(*) FROM prediction_ids WHERE client_id IN ('a1', 'a2')"
check_post "the same batch without atomic" 200 "$P?atomic=false" "$ingest" application/json \
	"$it_tmp/atomic.json"
check_jq "the good record is kept" '.accepted == 1 and (.rejected | length) == 1'
printf '[{"id": "a3", "ts": "%s", "score": 0.1}, {"id": "a1", "ts": "%s", "score": 0.9}]' \
	"$ts" "$ts" >"$it_tmp/atomic2.json"
check_post "atomic batch with a conflict: 422" 422 "$P?atomic=true" "$ingest" application/json \
	"$it_tmp/atomic2.json"
check_jq "422 lists the conflict" '.conflicts == [{"index": 1, "id": "a1"}] and .pointer == "/1/id"'
check_sql "nothing of it is stored" 0 "SELECT count(*) FROM prediction_ids WHERE client_id = 'a3'"
check_status "atomic=maybe: 400" 400 POST "$P?atomic=maybe" "$ingest" \
	-H 'Content-Type: application/json' --data-binary '[]'

# --- every rejection reason, with its pointer ---------------------------------------------------
future=$(date -u -d "@$((now + 400 * 86400))" +%Y-%m-%dT%H:%M:%SZ)
long=$(printf 'x%.0s' $(seq 1 257))
cat >"$it_tmp/bad.ndjson" <<EOF
{"ts": "$ts", "score": 0.5}
{"id": "b1", "score": 0.5}
{"id": "b2", "ts": "$ts"}
{"id": "b3", "ts": "2026-02-30T00:00:00Z", "score": 0.5}
{"id": "b4", "ts": "1969-12-31T23:59:59Z", "score": 0.5}
{"id": "b5", "ts": "$future", "score": 0.5}
{"id": "b6", "ts": "$ts", "score": 1.5}
{"id": "b7", "ts": "$ts", "score": "0.5"}
{"id": "b8", "ts": "$ts", "score": 0.5, "features": {"age": NaN}}
{"id": "b9", "ts": "$ts", "score": 0.5, "features": {"age": 1e999}}
{"id": "b10", "ts": "$ts", "score": 0.5, "features": {"age": "63"}}
{"id": "b11", "ts": "$ts", "score": 0.5, "features": {"weight": 80}}
{"id": "b12", "ts": "$ts", "score": 0.5, "features": {"site": "va"}}
{"id": "b13", "ts": "$ts", "score": 0.5, "segments": {"race": "x"}}
{"id": "$long", "ts": "$ts", "score": 0.5}
{"id": "b15", "ts": "$ts", "score": 0.5, "weight": 1}
{"id": "b16", "ts": "$ts", "score": 0.5, "features": {"cp": [1]}}
{"id": "b17", "ts": "$ts", "score": 0.5,
[1, 2]
{"id": "b19", "ts": "$ts", "score": 0.5, "features": {"age": 1, "age": 2}}
{"id": "b20", "ts": "$ts", "score": 0.5, "segments": {"site": "a\u0000b"}}
{"id": "b21", "ts": "$ts", "score": 0.5, "features": {"age": 63, "cp": 4, "thal": null}}
EOF
check_post "a batch of bad records" 200 $P "$ingest" application/x-ndjson "$it_tmp/bad.ndjson"
check_jq "only the good record is accepted" '.accepted == 1 and (.rejected | length) == 21'
while IFS='|' read -r idx field msg; do
	check_jq "record $idx rejected at \"$field\"" \
		".rejected[] | select(.index == $idx) | .field == \"$field\" and (.error | contains(\"$msg\"))"
done <<'EOF'
0|/id|required field missing
1|/ts|required field missing
2|/score|required field missing
3|/ts|RFC 3339
4|/ts|before 1970
5|/ts|in the future
6|/score|between 0 and 1
7|/score|expected a number
8|/features/age|not a finite number
9|/features/age|out of range
10|/features/age|expected a number or null
11|/features/weight|unknown feature
12|/features/site|is a segment
13|/segments/race|unknown segment
14|/id|longer than 256 bytes
15|/weight|unknown field
16|/features/cp|expected a string, number or null
17||invalid JSON
18||not a JSON object
19|/features/age|duplicate field
20|/segments/site|\\u0000
EOF
check_sql "a categorical number is stored as its text" '{4,NULL,NULL,NULL}' \
	"SELECT cat FROM predictions WHERE client_id = 'b21'"
printf 'id,ts,score,age,weight\n' >"$it_tmp/badhdr.csv"
check_post "CSV with an unknown column: 400" 400 $P "$ingest" text/csv "$it_tmp/badhdr.csv"
check_jq "the problem points at the column" '.pointer == "/weight" and (.detail | contains("unknown column"))'
printf 'id,ts,score\nc1,%s,0.5,extra\nc2,%s,abc\n' "$ts" "$ts" >"$it_tmp/badrows.csv"
check_post "CSV rows with bad cells" 200 $P "$ingest" text/csv "$it_tmp/badrows.csv"
check_jq "ragged row and bad number rejected" \
	'.rejected == [{"index": 0, "field": "", "error": "expected 3 cells, found 4"}, {"index": 1, "field": "/score", "error": "expected a finite number"}]'

# --- batch-level limits ---------------------------------------------------------------------------
nest() { # DEPTH: one NDJSON record whose "cp" nests to DEPTH levels in all
	perl -e 'my $n = $ARGV[0] - 2; printf "{\"id\": \"n%d\", \"ts\": \"%s\", \"score\": 0.5, \"features\": {\"cp\": %s%s}}\n", $ARGV[0], $ARGV[1], "[" x $n, "]" x $n' "$1" "$ts"
}
nest 32 >"$it_tmp/d32.ndjson"
nest 33 >"$it_tmp/d33.ndjson"
check_post "nesting 32 deep is read" 200 $P "$ingest" application/x-ndjson "$it_tmp/d32.ndjson"
check_jq "(and the array value rejected)" '.rejected[0].field == "/features/cp"'
check_post "nesting 33 deep: 400" 400 $P "$ingest" application/x-ndjson "$it_tmp/d33.ndjson"
check_jq "400 says why" '.detail | contains("nested deeper than 32")'
printf '[{"id": "u\377", "ts": "%s", "score": 0.5}]' "$ts" >"$it_tmp/utf8.json"
check_post "invalid UTF-8: 400" 400 $P "$ingest" application/json "$it_tmp/utf8.json"
check_jq "400 names the byte" '.detail | test("invalid UTF-8 at byte [0-9]+")'
printf '[{"id": "s1", "ts": "%s", "score": 0.5},' "$ts" >"$it_tmp/syntax.json"
check_post "a JSON array that does not end: 400" 400 $P "$ingest" application/json "$it_tmp/syntax.json"
perl -e 'print "[", join(",", map { "{\"id\": \"m$_\", \"ts\": \"$ARGV[0]\", \"score\": 0.5}" } 1 .. 401), "]"' "$ts" >"$it_tmp/big.json"
check_post "401 records over max_batch_records=400: 413" 413 $P "$ingest" application/json "$it_tmp/big.json"
check_sql "nothing of it is stored" 0 "SELECT count(*) FROM prediction_ids WHERE client_id LIKE 'm%'"
printf '[]' >"$it_tmp/empty.json"
check_post "an empty batch: 200" 200 $P "$ingest" application/json "$it_tmp/empty.json"
check_jq "with zeros" '. == {"accepted": 0, "duplicates": 0, "conflicts": [], "rejected": []}'
check_post "form-encoded body: 415" 415 $P "$ingest" application/x-www-form-urlencoded "$it_tmp/empty.json"
check_post "unknown model: 404" 404 /v1/models/nope/predictions "$ingest" application/json "$it_tmp/empty.json"
check_post "a model name no model can have: 404" 404 /v1/models/caf%FF/predictions "$ingest" \
	application/json "$it_tmp/empty.json"
check_post "a viewer may not ingest: 403" 403 $P "$viewer" application/json "$it_tmp/empty.json"

# --- labels -------------------------------------------------------------------------------------------
L=/v1/models/heart/labels
printf '[{"prediction_id": "late1", "label": 1, "ts": "%s"}, {"prediction_id": "late2", "label": "0", "ts": "%s"}]' \
	"$ts" "$ts" >"$it_tmp/early.json"
check_post "labels before their predictions" 200 $L "$ingest" application/json "$it_tmp/early.json"
check_jq "they are kept, unmatched" '.accepted == 2 and .unmatched == 2'
printf '{"id": "late1", "ts": "%s", "score": 0.8}\n{"id": "late2", "ts": "%s", "score": 0.3}\n' \
	"$ts" "$ts" >"$it_tmp/late.ndjson"
check_post "their predictions arrive" 200 $P "$ingest" application/x-ndjson "$it_tmp/late.ndjson"
check_sql "labels join their late predictions" "late1|1|0.8,late2|0|0.3" \
	"SELECT string_agg(l.prediction_id || '|' || l.label || '|' || p.score, ',' ORDER BY l.prediction_id) FROM labels l JOIN predictions p ON p.model_id = l.model_id AND p.client_id = l.prediction_id WHERE l.prediction_id LIKE 'late%'"
check_post "labels for 300 stored predictions (JSON)" 200 $L "$ingest" application/json "$it_tmp/labels.json"
check_jq "all matched" '.accepted == 300 and .unmatched == 0 and .rejected == []'
check_post "300 more as NDJSON" 200 $L "$ingest" application/x-ndjson "$it_tmp/labels2.ndjson"
check_jq "all matched too" '.accepted == 300 and .unmatched == 0'
check_post "320 more as CSV" 200 $L "$ingest" text/csv "$it_tmp/labels3.csv"
check_jq "all matched as well" '.accepted == 320 and .unmatched == 0 and .rejected == []'
check_post "labels re-sent" 200 $L "$ingest" application/json "$it_tmp/labels.json"
check_jq "re-sent labels are duplicates" '.accepted == 0 and .duplicates == 300'
printf '[{"prediction_id": "late1", "label": 0, "ts": "%s"}, {"prediction_id": "x9", "label": "maybe", "ts": "%s"}]' \
	"$ts" "$ts" >"$it_tmp/lconf.json"
check_post "a label changed, a label unreadable" 200 $L "$ingest" application/json "$it_tmp/lconf.json"
check_jq "conflict and rejection" \
	'.conflicts == [{"index": 0, "id": "late1"}] and .rejected[0].field == "/label" and .accepted == 0'
printf 'prediction_id,label,ts\nh1,true,%s\n' "$ts" >"$it_tmp/labels.csv"
check_post "labels as CSV" 200 $L "$ingest" text/csv "$it_tmp/labels.csv"
check_jq "CSV label for h1 (0 stored) conflicts" '.conflicts[0].id == "h1"'
check_sql "labels stored: 920 + 2" 922 "SELECT count(*) FROM labels"

# --- references ---------------------------------------------------------------------------------------
R=/v1/models/heart/references
check_post "upload a labelled reference (CSV)" 201 $R "$admin" text/csv "$it_tmp/ref.csv"
check_jq "200 rows, active" '.reference.kind == "upload" and .reference.rows == 200 and .reference.active and .accepted == 200'
check_sql "its rows are stored" "200|91" \
	"SELECT count(*), sum(label) FROM reference_rows"
from=$(date -u -d "@$((now - 30 * 86400))" +%Y-%m-%dT%H:%M:%SZ)
to=$(date -u -d "@$((now + 60))" +%Y-%m-%dT%H:%M:%SZ)
printf '{"from": "%s", "to": "%s"}' "$from" "$to" >"$it_tmp/range.json"
check_post "a reference naming a range of stored predictions" 201 $R "$admin" application/json \
	"$it_tmp/range.json"
check_jq "it is active and counts the rows" '.reference.kind == "range" and .reference.active and .reference.rows > 900'
check_status "references are listed" 200 GET $R "$viewer"
check_jq "exactly one is active: the newest" \
	'(.references | length) == 2 and ([.references[] | select(.active)] | length) == 1 and .references[1].active'
check_sql "exactly one active in the table" 1 "SELECT count(*) FROM model_references WHERE active"
printf '{"from": "2001-01-01T00:00:00Z", "to": "2001-02-01T00:00:00Z"}' >"$it_tmp/empty_range.json"
check_post "a range without predictions: 422" 422 $R "$admin" application/json "$it_tmp/empty_range.json"
printf '{"from": "%s", "to": "%s"}' "$to" "$from" >"$it_tmp/back_range.json"
check_post "a range that ends before it starts: 422" 422 $R "$admin" application/json "$it_tmp/back_range.json"
check_jq "pointing at /to" '.pointer == "/to"'
printf 'id,score,label\nq1,0.5,1\nq2,0.5,7\n' >"$it_tmp/badref.csv"
check_post "an upload with a bad label: 422, atomic by default" 422 $R "$admin" text/csv "$it_tmp/badref.csv"
check_jq "pointing at the label" '.pointer == "/1/label"'
check_post "an ingest token may not add references: 403" 403 $R "$ingest" text/csv "$it_tmp/ref.csv"
check_sql "references are audited" 2 "SELECT count(*) FROM audit_log WHERE action = 'reference.create'"

# --- metrics --------------------------------------------------------------------------------------------
check_status "metrics" 200 GET /metrics
n=$(sed -n 's/^vigil_ingested_records_total{model="heart",kind="prediction"} \([0-9]*\)$/\1/p' "$it_body")
if [ "${n:-0}" -ge 1220 ]; then
	ok "ingested predictions are counted"
else
	not_ok "ingested predictions are counted"
	grep vigil_ingested "$it_body"
fi

# --- the database goes away ---------------------------------------------------------------------------
it_pg_stop >/dev/null
printf '[{"id": "down1", "ts": "%s", "score": 0.5}]' "$ts" >"$it_tmp/down.json"
check_post "PostgreSQL stopped: 503" 503 $P "$ingest" application/json "$it_tmp/down.json"
check_header "with Retry-After" '^retry-after: [0-9]'
it_pg_start
it_wait_for 30 sh -c "curl -sf -m 2 $BASE/readyz"
check_post "PostgreSQL back: the retry is stored" 200 $P "$ingest" application/json "$it_tmp/down.json"
check_jq "accepted once" '.accepted == 1'
check_sql "stored once" 1 "SELECT count(*) FROM predictions WHERE client_id = 'down1'"

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
finish
