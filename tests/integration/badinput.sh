#!/bin/sh
# tests/integration/badinput.sh - bad input never crashes or hangs vigil serve
#
# Sends each kind of bad input the issue lists to a real vigil serve and checks the status,
# the application/problem+json body (type, title, status, detail, and the JSON pointer of
# the field at fault) or, for a batch whose records are merely wrong, the record's index,
# field and reason in "rejected"; after each group the server must still answer correctly
# (a fresh good batch is stored whole, the model reads back, /readyz is 200):
#   malformed and truncated JSON (every prefix of a JSON, NDJSON, CSV, label and model body),
#   wrong types, NaN and Infinity, numbers out of range, nesting deeper than 32 (and 10^5
#   deep), invalid UTF-8 (bad bytes, overlong forms, surrogates, a sequence cut at the
#   end), unknown model, unknown or missing feature names, missing fields, oversized bodies
#   (Content-Length, chunked, too many records), raw HTTP junk, slow clients that stop
#   (in the request line, the headers, the body) and one that sends slowly but completely,
#   and some thousands of seeded mutations of valid bodies (tests/integration/httpfuzz.pl).
# Run it against an --enable-asan --enable-ubsan build to turn a memory error into a
# failure: the server log is searched for sanitizer reports, and the server must exit 0 on
# SIGTERM (LeakSanitizer makes a leaking process exit non-zero).
. "$top_srcdir/tests/integration/lib.sh"

fuzz=$top_srcdir/tests/integration/httpfuzz.pl
it_pg_start
it_serve --set max_body_bytes=1MiB --set max_batch_records=1000 \
	--set connection_timeout_s=$((2 * it_slow))
admin=$(it_token admin bad-admin)
ingest=$(it_token ingest bad-ingest)
P=/v1/models/bad/predictions
L=/v1/models/bad/labels
ts=$(date -u -d "@$(($(date +%s) - 3600))" +%Y-%m-%dT%H:%M:%SZ)
f=$it_tmp/request # (not $it_body: that is where lib.sh puts the answer)

sql() {
	psql "$DATABASE_URL" -XAtqc "$1"
}

cat >"$it_tmp/model.json" <<'JSON'
{"name": "bad", "version": "1", "threshold": 0.5,
 "features": [{"name": "age", "type": "numeric"}, {"name": "chol", "type": "numeric"},
  {"name": "cp", "type": "categorical"}],
 "segments": ["sex"]}
JSON
check_status "register the model" 201 POST /v1/models "$admin" \
	-H 'Content-Type: application/json' --data-binary @"$it_tmp/model.json"

# bad NAME WANT MEDIA [PATH] [JQ]: POST $f; check the status, that an error is
# problem+json with a matching status, and the jq filter on the body
bad() {
	name=$1 want=$2 media=$3 path=${4:-$P} filter=${5:-}
	got=$(it_req POST "$path" "$ingest" -H "Content-Type: $media" --data-binary @"$f")
	if [ "$got" != "$want" ]; then
		not_ok "$name: status $got, wanted $want"
		head -c 400 "$it_body"
		echo
		return
	fi
	if [ "$want" -ge 400 ]; then
		if ! tr -d '\r' <"$it_headers" | grep -qi '^content-type: application/problem+json'; then
			not_ok "$name: $want is not application/problem+json"
			return
		fi
		if ! jq -e --argjson s "$want" '(.type | type == "string") and (.title | length > 0)
			and .status == $s and (.detail | length > 0)' "$it_body" >/dev/null 2>&1; then
			not_ok "$name: the problem lacks type, title, status or detail"
			head -c 400 "$it_body"
			echo
			return
		fi
	fi
	if [ -n "$filter" ] && ! jq -e "$filter" "$it_body" >/dev/null 2>&1; then
		not_ok "$name: $want but jq $filter fails on"
		head -c 400 "$it_body"
		echo
		return
	fi
	ok "$name: $want"
}

# rec FIELDS: set R to a new prediction object: a fresh id, ts, FIELDS, and score 0.5
# unless FIELDS has one
serial=0
rec() {
	serial=$((serial + 1))
	case $1 in
	*'"score"'*) R=$(printf '{"id": "r%s", "ts": "%s", %s}' "$serial" "$ts" "$1") ;;
	*) R=$(printf '{"id": "r%s", "ts": "%s", "score": 0.5%s}' "$serial" "$ts" "${1:+, $1}") ;;
	esac
}

# rejected_rec NAME RECORD POINTER MESSAGE: as rejected, for a whole record (TS stands for
# a valid timestamp)
rejected_rec() {
	printf '[%s]' "$2" | sed "s/\"TS\"/\"$ts\"/" >"$f"
	bad "$1" 200 application/json "$P" \
		".accepted == 0 and (.rejected | length) == 1 and .rejected[0].index == 0 and
		 .rejected[0].field == \"$3\" and (.rejected[0].error | contains(\"$4\"))"
	bad "$1 (atomic)" 422 application/json "$P?atomic=true" ".pointer == \"/0$3\""
}

# rejected NAME FIELDS POINTER MESSAGE: a record with FIELDS is rejected at POINTER with a
# reason containing MESSAGE (200, nothing stored); with ?atomic=true it is a 422 problem
# whose pointer is /0POINTER
rejected() {
	rec "$2"
	printf '[%s]' "$R" >"$f"
	bad "$1" 200 application/json "$P" \
		".accepted == 0 and (.rejected | length) == 1 and .rejected[0].index == 0 and
		 .rejected[0].field == \"$3\" and (.rejected[0].error | contains(\"$4\"))"
	bad "$1 (atomic)" 422 application/json "$P?atomic=true" ".pointer == \"/0$3\""
}

good=0
# still_serves GROUP: the server is up and answers correctly: a new batch of 20 is stored
# whole (checked in the database), the model reads back, /readyz is 200
still_serves() {
	good=$((good + 1))
	perl -e 'my ($g, $ts) = @ARGV; for my $i (1 .. 20) {
		printf "{\"id\": \"ok%d-%d\", \"ts\": \"%s\", \"score\": %.2f, \"features\": {\"age\": %d, \"chol\": %d, \"cp\": \"%d\"}, \"segments\": {\"sex\": \"%s\"}}\n",
			$g, $i, $ts, $i / 20, 40 + $i, 200 + $i, $i % 4, $i % 2 ? "male" : "female" }' \
		"$good" "$ts" >"$it_tmp/good.ndjson"
	st=$(it_req POST "$P" "$ingest" -H 'Content-Type: application/x-ndjson' \
		--data-binary @"$it_tmp/good.ndjson")
	acc=$(jq -r .accepted "$it_body" 2>/dev/null)
	n=$(sql "SELECT count(*) FROM predictions WHERE client_id LIKE 'ok$good-%'")
	m=$(it_req GET /v1/models/bad "$admin")
	mname=$(jq -r .name "$it_body" 2>/dev/null)
	rz=$(it_req GET /readyz)
	if it_alive "$it_pid" && [ "$st" = 200 ] && [ "$acc" = 20 ] && [ "$n" = 20 ] &&
		[ "$m" = 200 ] && [ "$mname" = bad ] && [ "$rz" = 200 ]; then
		ok "after $1 the server still answers correctly"
	else
		not_ok "after $1: ingest $st accepted $acc stored $n, model $m $mname, readyz $rz"
		tail -n 20 "$it_log"
		echo "Bail out! the server is down or wrong after $1"
		exit 1
	fi
}
still_serves "start-up"

# --- malformed and truncated JSON -----------------------------------------------------------
rec '"features": {"age": 63, "chol": 233, "cp": "typical"}, "segments": {"sex": "male"}'
r1=$R
rec '"features": {"age": 41.5, "cp": null}'
r2=$R
for b in '[' '[{' '[{"id":' "[$r1" "[$r1," "[$r1,]" "[$r1]]" "[$r1] x" '{"id": "x"}' 'null' \
	'"text"' '12' 'xyz' '[}' '[1,]' "[${r1%?}" "[${r1%?},}]" '[{"id" "x"}]' \
	'[{"id": "a\q"}]' '[{"id": "\u12"}]' '[{"id": "tab	in"}]' '[{"score": 01}]' \
	'[{"score": 1.}]' '[{"score": .5}]' '[{"score": +1}]' '[{"score": 1e}]' '[{"score": -}]' \
	'[tru]' '[nul]' '[NaN' '[Infinit]'; do
	printf '%s' "$b" >"$f"
	bad "malformed JSON $(printf '%s' "$b" | head -c 24 | tr '\t' ' ')" 400 application/json "$P" \
		'.type | endswith("/invalid-batch")'
done
printf '%s\n%s\n' "$r1" "${r2%?}" >"$f"
bad "NDJSON with a truncated line: the other record is kept" 200 application/x-ndjson "$P" \
	'.accepted == 1 and .rejected[0].index == 1 and (.rejected[0].error | contains("invalid JSON"))'
rec ""
printf '%s\n[1]\n"x"\n%s junk\n' "$R" "$r2" >"$f"
bad "NDJSON lines that are not objects, or have trailing data" 200 application/x-ndjson "$P" \
	'.accepted == 1 and (.rejected | map(.index)) == [1, 2, 3] and (.rejected[2].error | contains("data after"))'
printf '{"name": "m2", "features": [' >"$f"
check_status "a truncated model registration" 400 POST /v1/models "$admin" \
	-H 'Content-Type: application/json' --data-binary @"$f"

# every prefix of valid bodies: 400 (or 200 where a prefix is a valid batch), never more
perl -e 'my $ts = shift; print "[", join(",\n", map { sprintf "{\"id\":\"t%d\",\"ts\":\"%s\",\"score\":0.%d,\"features\":{\"age\":%d.5,\"chol\":-1e-3,\"cp\":\"k\\u00e9\\ud83d\\ude00%d\"},\"segments\":{\"sex\":\"s\\\"%d\"}}", $_, $ts, $_, $_, $_, $_ } 1 .. 3), "]\n"' \
	"$ts" >"$it_tmp/seed.json"
perl -e 'my $ts = shift; print join("\n", map { sprintf "{\"id\":\"u%d\",\"ts\":\"%s\",\"score\":0.%d,\"features\":{\"age\":%d,\"chol\":null,\"cp\":%d},\"segments\":{\"sex\":\"f\"}}", $_, $ts, $_, $_, $_ } 1 .. 3), "\n"' \
	"$ts" >"$it_tmp/seed.ndjson"
printf 'id,ts,score,age,chol,cp,segments.sex\r\nc1,%s,0.5,1.5,"2",NA,"a,b",m\r\nc2,%s,0.25,1e3,-0,,"q""x"\r\n' \
	"$ts" "$ts" >"$it_tmp/seed.csv"
printf '[{"prediction_id": "t1", "label": 1, "ts": "%s"}, {"prediction_id": 2, "label": "0", "observed_at": "%s"}]\n' \
	"$ts" "$ts" >"$it_tmp/seed_labels.json"
cp "$it_tmp/model.json" "$it_tmp/seed_model.json"
for s in "$P application/json seed.json $ingest" "$P application/x-ndjson seed.ndjson $ingest" \
	"$P text/csv seed.csv $ingest" "$L application/json seed_labels.json $ingest" \
	"/v1/models application/json seed_model.json $admin"; do
	set -- $s
	perl "$fuzz" truncate "$port" "$4" "$1" "$2" "$it_tmp/$3" >"$it_tmp/trunc.out" 2>&1
	if grep -q '^BAD' "$it_tmp/trunc.out" || ! grep -q 'requests:' "$it_tmp/trunc.out"; then
		not_ok "every prefix of $3 ($2 to $1)"
		cat "$it_tmp/trunc.out"
	else
		ok "every prefix of $3 is answered properly: $(cat "$it_tmp/trunc.out")"
	fi
done
still_serves "malformed and truncated JSON"

# --- wrong types, missing fields, NaN and Infinity, numbers out of range --------------------------
rejected "score as a string" '"score": "0.5"' /score "expected a number"
rejected "score true" '"score": true' /score "expected a number"
rejected "score null" '"score": null' /score "expected a number"
rejected "score an array" '"score": [0.5]' /score "expected a number"
rejected_rec "id an object" '{"id": {"a": 1}, "ts": "TS", "score": 0.5}' /id "expected a string"
rejected_rec "id true" '{"id": true, "ts": "TS", "score": 0.5}' /id "expected a string"
rejected_rec "ts a number" '{"id": "tn", "ts": 1700000000, "score": 0.5}' /ts "RFC 3339"
rejected_rec "ts null" '{"id": "tn", "ts": null, "score": 0.5}' /ts "RFC 3339"
rejected "features a string" '"features": "age=3"' /features "expected an object"
rejected "features an array" '"features": [63]' /features "expected an object"
rejected "segments a number" '"segments": 5' /segments "expected an object"
rejected "numeric feature as a string" '"features": {"age": "63"}' /features/age "expected a number or null"
rejected "numeric feature true" '"features": {"age": true}' /features/age "expected a number or null"
rejected "categorical feature an array" '"features": {"cp": [1]}' /features/cp "expected a string, number or null"
rejected "segment an object" '"segments": {"sex": {"v": "m"}}' /segments/sex "expected a string, number or null"
rejected "score NaN" '"score": NaN' /score "not a finite number"
rejected "score Infinity" '"score": Infinity' /score "not a finite number"
rejected "feature -Infinity" '"features": {"age": -Infinity}' /features/age "not a finite number"
rejected "feature NaN" '"features": {"chol": NaN}' /features/chol "not a finite number"
rejected "feature 1e999" '"features": {"age": 1e999}' /features/age "out of range"
rejected "feature -1e400" '"features": {"chol": -1e400}' /features/chol "out of range"
rejected "feature 2e308" '"features": {"chol": 2e308}' /features/chol "out of range"
rejected "score above 1" '"score": 1.0000001' /score "between 0 and 1"
rejected "score below 0" '"score": -1e-9' /score "between 0 and 1"
rejected "score 1e999" '"score": 1e999' /score "out of range"
printf '[{"id": "y1", "ts": "9999-12-31T23:59:59Z", "score": 0.5}, {"id": "y2", "ts": "1969-12-31T23:59:59Z", "score": 0.5}, {"id": "y3", "ts": "2026-13-01T00:00:00Z", "score": 0.5}, {"id": "y4", "ts": 1700000000, "score": 0.5}, {"id": "y5", "ts": "2026-01-01T00:00:00+99:00", "score": 0.5}]' >"$f"
bad "timestamps out of range or malformed" 200 application/json "$P" \
	'.accepted == 0 and (.rejected | map(.field) | unique) == ["/ts"] and (.rejected | length) == 5'
printf '[{"id": 9007199254740993, "ts": "%s", "score": 0.5}, {"id": 1.5, "ts": "%s", "score": 0.5}, {"id": "", "ts": "%s", "score": 0.5}]' \
	"$ts" "$ts" "$ts" >"$f"
bad "ids out of range, fractional, empty" 200 application/json "$P" \
	'.accepted == 0 and (.rejected | map(.field)) == ["/id", "/id", "/id"]'
perl -e 'printf "[{\"id\": \"long\", \"ts\": \"%s\", \"score\": 0.%s}]", $ARGV[0], "3" x 200000' "$ts" >"$f"
bad "a number with 200000 digits is read" 200 application/json "$P" '.accepted == 1'
perl -e 'printf "[{\"id\": \"tiny\", \"ts\": \"%s\", \"score\": 0.5, \"features\": {\"age\": 1e-%s}}]", $ARGV[0], "9" x 5000' "$ts" >"$f"
bad "an exponent of 5000 digits is read (underflows to 0)" 200 application/json "$P" '.accepted == 1'
printf '{"id": "mi1", "score": 0.5}\n{"ts": "%s", "score": 0.5}\n{"id": "mi3", "ts": "%s"}\n{}\n' "$ts" "$ts" >"$f"
bad "missing id, ts, score; an empty object" 200 application/x-ndjson "$P" \
	'.accepted == 0 and (.rejected | map(.field)) == ["/ts", "/id", "/score", "/id"] and
	 ([.rejected[].error] | all(contains("required field missing")))'
printf '[{"prediction_id": "x1", "ts": "%s"}, {"label": 1, "ts": "%s"}, {"prediction_id": "x3", "label": "maybe", "ts": "%s"}, {"prediction_id": "x4", "label": NaN, "ts": "%s"}, {"prediction_id": "x5", "label": 2, "ts": "%s"}]' \
	"$ts" "$ts" "$ts" "$ts" "$ts" >"$f"
bad "labels missing fields or with bad values" 200 application/json "$L" \
	'.accepted == 0 and (.rejected | map(.field)) == ["/label", "/prediction_id", "/label", "/label", "/label"]'
printf 'id,ts,score,age\nc1,%s,NaN,1\nc2,%s,0.5,inf\nc3,%s,0.5,1e999\nc4,%s,abc,1\nc5,%s,0.5,-Infinity\n' \
	"$ts" "$ts" "$ts" "$ts" "$ts" >"$f"
bad "CSV cells: NaN score, inf, 1e999, text, -Infinity" 200 text/csv "$P" \
	'.accepted == 0 and (.rejected | map(.field)) == ["/score", "/features/age", "/features/age", "/score", "/features/age"]'
still_serves "wrong types, missing fields, NaN and out-of-range numbers"

# --- unknown and missing feature names --------------------------------------------------------------
rejected "unknown feature" '"features": {"weight": 80}' /features/weight "unknown feature"
rejected "empty feature name" '"features": {"": 1}' /features/ "unknown feature"
rejected "a segment under features" '"features": {"sex": "m"}' /features/sex "is a segment"
rejected "unknown segment" '"segments": {"race": "x"}' /segments/race "unknown segment"
rejected "a feature name with a slash" '"features": {"a/b~c": 1}' "/features/a~1b~0c" "unknown feature"
rejected "unknown top-level field" '"weight": 1' /weight "unknown field"
rejected "a duplicated feature" '"features": {"age": 1, "age": 2}' /features/age "duplicate field"
printf 'id,ts,score,weight\n' >"$f"
bad "CSV header with an unknown feature names it" 400 text/csv "$P" \
	'.pointer == "/weight" and (.detail | contains("unknown column"))'
printf 'id,ts,age\nq1,%s,3\n' "$ts" >"$f"
bad "CSV header without score names it" 400 text/csv "$P" '.detail | contains("score")'
printf 'ts,score\n%s,0.5\n' "$ts" >"$f"
bad "CSV header without id names it" 400 text/csv "$P" '.detail | contains("id")'
printf 'id,ts,score,age,age\n' >"$f"
bad "CSV header with a repeated column names it" 400 text/csv "$P" '.detail | contains("age")'
printf '{"name": "nofeat", "features": [{"type": "numeric"}]}' >"$f"
check_status "model registration: a feature without a name" 422 POST /v1/models \
	"$admin" -H 'Content-Type: application/json' --data-binary @"$f"
check_jq "model registration: a feature without a name is named" '.pointer == "/features/0/name"'
printf '{"name": "nofeat", "features": [{"name": "a", "type": "numeric"}, {"name": "a", "type": "numeric"}]}' >"$f"
check_status "model registration: a repeated feature name" 422 POST /v1/models "$admin" \
	-H 'Content-Type: application/json' --data-binary @"$f"
check_jq "... is named" '.pointer == "/features/1/name"'
printf '{"name": "nofeat", "features": [{"name": "a", "type": "numeric", "extra": NaN}]}' >"$f"
check_status "model registration with NaN: 400" 400 POST /v1/models "$admin" \
	-H 'Content-Type: application/json' --data-binary @"$f"
printf '{"name": "nofeat", "threshold": 1e999, "features": []}' >"$f"
check_status "model registration with a threshold of 1e999: 400 or 422" 422 POST /v1/models "$admin" \
	-H 'Content-Type: application/json' --data-binary @"$f"
still_serves "unknown and missing feature names"

# --- nesting --------------------------------------------------------------------------------------
nest() { # DEPTH FORMAT: a record whose "cp" nests so that the body is DEPTH deep
	perl -e 'my ($d, $fmt, $ts) = @ARGV; my $n = $d - ($fmt eq "json" ? 3 : 2);
		my $r = sprintf "{\"id\": \"deep%d\", \"ts\": \"%s\", \"score\": 0.5, \"features\": {\"cp\": %s%s}}", $d, $ts, "[" x $n, "]" x $n;
		print $fmt eq "json" ? "[$r]" : "$r\n"' "$1" "$2" "$ts"
}
nest 32 json >"$f"
bad "JSON nested 32 deep is read (the value rejected)" 200 application/json "$P" \
	'.rejected[0].field == "/features/cp"'
nest 33 json >"$f"
bad "JSON nested 33 deep" 400 application/json "$P" '.detail | contains("deeper than 32")'
nest 33 ndjson >"$f"
bad "NDJSON line nested 33 deep" 400 application/x-ndjson "$P" '.detail | contains("deeper than 32")'
perl -e 'print "[" x 100000' >"$f"
bad "100000 open brackets" 400 application/json "$P" '.detail | contains("deeper than 32")'
perl -e 'print "{\"a\":" x 100000' >"$f"
check_status "100000 nested objects as a model registration" 400 POST /v1/models "$admin" \
	-H 'Content-Type: application/json' --data-binary @"$f"
perl -e 'printf "[{\"prediction_id\": \"x\", \"label\": %s1%s, \"ts\": \"%s\"}]", "[" x 50, "]" x 50, $ARGV[0]' "$ts" >"$f"
bad "labels nested 52 deep" 400 application/json "$L" '.detail | contains("deeper than 32")'
still_serves "deep nesting"

# --- invalid UTF-8 ----------------------------------------------------------------------------------
# (octal escapes: dash's printf knows no \x)
for b in 'ff:\377' 'c0af:\300\257' 'surrogate:\355\240\200' 'above10ffff:\364\220\200\200' \
	'lonecont:\200' 'fe:\376'; do
	name=${b%%:*}
	bytes=${b#*:}
	printf '[{"id": "u1", "ts": "%s", "score": 0.5, "segments": {"sex": "m%b"}}]' "$ts" "$bytes" >"$f"
	off=$(printf '[{"id": "u1", "ts": "%s", "score": 0.5, "segments": {"sex": "m' "$ts" | wc -c)
	bad "invalid UTF-8 ($name) in JSON" 400 application/json "$P" \
		".detail | test(\"invalid UTF-8 at byte $off\")"
done
printf '{"id": "u2", "ts": "%s", "score": 0.5, "segments": {"sex": "m\342\202' "$ts" >"$f"
bad "a UTF-8 sequence cut at the end of an NDJSON body" 400 application/x-ndjson "$P" \
	'.detail | test("invalid UTF-8")'
printf 'id,ts,score,segments.sex\nu3,%s,0.5,\303\050\n' "$ts" >"$f"
bad "invalid UTF-8 in CSV" 400 text/csv "$P" '.detail | test("invalid UTF-8")'
printf '[{"prediction_id": "u\377", "label": 1, "ts": "%s"}]' "$ts" >"$f"
bad "invalid UTF-8 in labels" 400 application/json "$L" '.detail | test("invalid UTF-8")'
printf '{"name": "u\377", "features": []}' >"$f"
check_status "invalid UTF-8 in a model registration" 400 POST /v1/models "$admin" \
	-H 'Content-Type: application/json' --data-binary @"$f"
rejected "an escaped lone surrogate" '"segments": {"sex": "\ud800"}' /segments/sex "lone surrogate"
rejected "an escaped NUL" '"features": {"cp": "a\u0000b"}' /features/cp '\\u0000'
still_serves "invalid UTF-8"

# --- unknown model, media types --------------------------------------------------------------------
printf '[]' >"$f"
bad "unknown model" 404 application/json /v1/models/nope/predictions
bad "unknown model (labels)" 404 application/json /v1/models/nope/labels
bad "a model name with dots" 404 application/json /v1/models/..%2f..%2fetc/predictions
long=$(head -c 3000 /dev/zero | tr '\0' m)
bad "a 3000-byte model name" 404 application/json "/v1/models/$long/predictions"
check_status "GET an unknown model" 404 GET /v1/models/nope "$admin"
bad "no media type" 415 "" "$P"
bad "text/plain" 415 text/plain "$P"
bad "application/json with a charset" 200 'application/json; charset=utf-8' "$P"
still_serves "unknown models and media types"

# --- oversized bodies (max_body_bytes is 1 MiB here, max_batch_records 1000) ------------------------
head -c 2000000 /dev/zero | tr '\0' ' ' >"$f"
bad "a 2 MB body (Content-Length)" 413 application/json "$P"
check_status "a 2 MB chunked body" 413 POST "$P" "$ingest" -H 'Content-Type: application/json' \
	-H 'Transfer-Encoding: chunked' --data-binary @"$f"
perl -e 'print "[", join(",", map { "{\"id\": \"big$_\", \"ts\": \"$ARGV[0]\", \"score\": 0.5}" } 1 .. 1001), "]"' "$ts" >"$f"
bad "1001 records" 413 application/json "$P" '.detail | contains("1000 records")'
n=$(sql "SELECT count(*) FROM prediction_ids WHERE client_id LIKE 'big%'")
[ "$n" = 0 ] && ok "nothing of the refused batch is stored" || not_ok "$n records of a refused batch stored"
perl -e 'print "id,ts,score\n", map { "cb$_,$ARGV[0],0.5\n" } 1 .. 1001' "$ts" >"$f"
bad "1001 CSV rows" 413 text/csv "$P"
perl -e 'printf "[{\"id\": \"%s\", \"ts\": \"%s\", \"score\": 0.5}]", "x" x 900000, $ARGV[0]' "$ts" >"$f"
bad "a 900 kB id" 200 application/json "$P" '.rejected[0].field == "/id" and (.rejected[0].error | contains("longer than"))'
still_serves "oversized bodies"

# --- raw HTTP junk ------------------------------------------------------------------------------------
raw() { # NAME WANT BYTES: send BYTES as they are; WANT is a status or "closed"
	printf "$3" >"$it_tmp/raw"
	got=$(perl "$fuzz" raw "$port" "$it_tmp/raw" $((5 * it_slow)))
	if [ "$got" = "$2" ]; then
		ok "raw HTTP: $1: $got"
	else
		not_ok "raw HTTP: $1: $got, wanted $2"
	fi
}
raw "garbage" closed 'GARBAGE\r\n\r\n'
raw "unknown HTTP version" 505 'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n'
raw "Content-Length not a number" 400 "POST $P HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"
raw "Content-Length 10^23" 413 "POST $P HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n"
raw "a 200 kB header" 431 "GET /healthz HTTP/1.1\r\nHost: x\r\nX: $(head -c 200000 /dev/zero | tr '\0' a)\r\n\r\n"
raw "a 100 kB URL" 414 "GET /$(head -c 100000 /dev/zero | tr '\0' a) HTTP/1.1\r\nHost: x\r\n\r\n"
raw "chunked body, good" 200 "POST $P HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $ingest\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\r\n"
raw "a bad chunk size" 400 "POST $P HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $ingest\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n[]\r\n0\r\n\r\n"
raw "a bearer token of binary bytes" 401 "GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer vgl_\377\376\r\n\r\n"
raw "percent-encoded NUL in the model" 404 "GET /v1/models/a%%00b HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $admin\r\n\r\n"
raw "percent-encoded invalid UTF-8 in the model" 404 "GET /v1/models/%%ff%%fe HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $admin\r\n\r\n"
raw "percent-encoded invalid UTF-8, ingest" 404 "POST /v1/models/%%ff/predictions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $ingest\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]"
still_serves "raw HTTP junk"

# --- slow clients ---------------------------------------------------------------------------------------
limit=$((15 * it_slow))
pids=
for what in line headers body body body; do
	perl "$fuzz" stall "$port" "$ingest" "$P" "$what" "$limit" >"$it_tmp/stall.$what.$$" 2>&1 &
	pids="$pids $!"
	it_bg $!
done
# a client that sends slowly (7 bytes every 20 ms) but completely is served
rec '"features": {"age": 50}'
printf '%s\n' "$R" >"$it_tmp/slow.ndjson"
rec '"segments": {"sex": "f"}'
printf '%s\n' "$R" >>"$it_tmp/slow.ndjson"
got=$(perl "$fuzz" slow "$port" "$ingest" "$P" application/x-ndjson "$it_tmp/slow.ndjson" 20)
case $got in
'200 {"accepted":2,'*) ok "a slow but complete client is served ($got)" ;;
*) not_ok "a slow but complete client: $got" ;;
esac
still_serves "clients stalled in the request line, headers and body (while they hang)"
for p in $pids; do
	it_wait_exit "$p" $((limit + 5))
done
for what in line headers body; do
	out=$(cat "$it_tmp/stall.$what.$$")
	case $out in
	closed*) ok "a client stalled in the $what is dropped: $out" ;;
	*) not_ok "a client stalled in the $what: $out" ;;
	esac
done
n=$(sql "SELECT count(*) FROM prediction_ids WHERE client_id = 'stalled'")
[ "$n" = 0 ] && ok "nothing of a stalled body is stored" || not_ok "a stalled body was stored"
still_serves "slow clients"

# --- bad query parameters on the analysis routes --------------------------------------------------
# a small labelled reference, so that drift and estimate get as far as reading their options
perl -e 'print "id,score,label,age,chol,cp,sex\n"; for my $i (1 .. 40) {
	printf "ref%d,%.2f,%d,%d,%d,%d,%s\n", $i, $i / 41, $i % 3 ? 1 : 0, 30 + $i, 180 + 2 * $i, $i % 4, $i % 2 ? "male" : "female" }' \
	>"$it_tmp/ref.csv"
check_status "a small labelled reference" 201 POST /v1/models/bad/references "$admin" \
	-H 'Content-Type: text/csv' --data-binary @"$it_tmp/ref.csv"
from=$(date -u -d "@$(($(date +%s) - 30 * 86400))" +%Y-%m-%dT%H:%M:%SZ)
to=$(date -u -d "@$(($(date +%s) + 60))" +%Y-%m-%dT%H:%M:%SZ)
W="from=$from&to=$to"
nq=0
badq=
for route in drift performance estimate; do
	for q in '' 'from=x&to=y' "from=$from" "to=$to" "from=$to&to=$from" "from=$from&to=$from" \
		"from=1969-12-31T00:00:00Z&to=$to" "from=0000-01-01T00:00:00Z&to=9999-12-31T23:59:59Z" \
		"from=$from&to=2026-02-30T00:00:00Z" "$W&by=nope" "$W&by=sex,sex" "$W&by=%ff" "$W&by=" \
		"$W&by=,,," "$W&by=sex,age" "$W&min_n=-1" "$W&min_n=99999999999999999999999" \
		"$W&min_n=0" "$W&min_n=1e3" "$W&intersections=maybe" "$W&intersections=true&by=sex" \
		"$W&mmd=true&permutations=0" "$W&mmd=true&permutations=5&mmd_max_rows=1" \
		"$W&permutations=1e9" "$W&seed=-1" "$W&seed=18446744073709551616" "$W&alpha=NaN" \
		"$W&alpha=2" "$W&alpha=-0" "$W&alpha=1e-400" "$W&reference=abc" "$W&reference=0" \
		"$W&reference=99999" "$W&reference=-1" "$W&segment=sex" "$W&segment=nope" \
		"$W&segment=%00" "$W&draws=1" "$W&draws=20&seed=3" "$W&from=$to" "from=%ZZ&to=$to" \
		"$W&$(head -c 3000 /dev/zero | tr '\0' 'a')=1"; do
		nq=$((nq + 1))
		st=$(it_req GET "/v1/models/bad/$route?$q" "$admin")
		case $st in
		200)
			jq -e 'type == "object"' "$it_body" >/dev/null 2>&1 || badq="$badq
$route?$q: 200 without a JSON object"
			;;
		400 | 404 | 409 | 413)
			tr -d '\r' <"$it_headers" | grep -qi '^content-type: application/problem+json' &&
				jq -e --argjson s "$st" '.status == $s and (.detail | length > 0)' "$it_body" >/dev/null 2>&1 ||
				badq="$badq
$route?$q: $st without a proper problem"
			;;
		*) badq="$badq
$route?$q: $st $(head -c 200 "$it_body")" ;;
		esac
	done
done
if [ -z "$badq" ]; then
	ok "$nq analysis requests with bad query parameters: each 200 or a 4xx problem"
else
	not_ok "analysis requests with bad query parameters:$badq"
fi
still_serves "bad query parameters"

# --- seeded mutations of valid bodies -------------------------------------------------------------------
nmut=${BADINPUT_MUTATIONS:-1500}
for s in "$P application/json seed.json $ingest" "$P application/x-ndjson seed.ndjson $ingest" \
	"$P text/csv seed.csv $ingest" "$L application/json seed_labels.json $ingest" \
	"/v1/models application/json seed_model.json $admin"; do
	set -- $s
	perl "$fuzz" mutate "$port" "$4" "$1" "$2" "$it_tmp/$3" "$nmut" 42 >"$it_tmp/mut.out" 2>&1
	if grep -q '^BAD' "$it_tmp/mut.out" || ! grep -q 'requests:' "$it_tmp/mut.out"; then
		not_ok "mutations of $3 ($2 to $1)"
		cat "$it_tmp/mut.out"
		tail -n 20 "$it_log"
	else
		ok "$nmut mutations of $3 answered properly: $(cat "$it_tmp/mut.out")"
	fi
done
still_serves "$((5 * nmut)) mutated bodies"

# the analysis path reads back what all of the above stored
n=$(sql "SELECT count(*) FROM predictions p JOIN models m ON m.id = p.model_id WHERE m.name = 'bad' AND p.ts >= '$from' AND p.ts < '$to'")
check_status "GET performance after all of it" 200 GET "/v1/models/bad/performance?$W&by=sex" "$admin"
check_jq "it counts every stored prediction ($n)" ".rows == $n"

# --- the end ------------------------------------------------------------------------------------------------
if it_serve_stop; then
	ok "vigil serve exits 0 on SIGTERM"
else
	not_ok "vigil serve exit status $it_status on SIGTERM"
fi
if grep -q 'runtime error\|AddressSanitizer\|LeakSanitizer\|panic' "$it_log"; then
	not_ok "no sanitizer report or panic in the server log"
	grep -A12 'runtime error\|AddressSanitizer\|LeakSanitizer\|panic' "$it_log" | head -60
else
	ok "no sanitizer report or panic in the server log"
fi
finish
