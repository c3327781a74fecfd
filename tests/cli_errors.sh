#!/bin/sh
# tests/cli_errors.sh - bad input gives one clear message naming file, line and column, and
# exit status 2; never a crash (a crash under the sanitizers or valgrind exits otherwise)
. "$top_srcdir/tests/lib.sh"

printf 'id,score,label,sex\n1,0.2,0,F\n2,0.9,1,M\n3,0.4,0,F\n' >"$tmp/good.csv"
printf 'id,score,label,sex\n1,0.2,0,F\n2,1.5,1,M\n' >"$tmp/range.csv"
printf 'id,score,label,sex\n1,0.2,0,F\n2,high,1,M\n' >"$tmp/nonnum.csv"
printf 'id,score,label,sex\n1,0.2,0,F\n2,0.3,2,M\n' >"$tmp/label.csv"
printf 'id,score,label,sex\n1,0.2,yes,F\n2,0.3,no,M\n3,0.3,maybe,M\n' >"$tmp/label3.csv"
printf 'id,score,label,sex\n1,0.2,0,F\n2,0.3,1\n' >"$tmp/ragged.csv"
printf 'id,score,label,sex\n1,0.2,0,F\n2,0.3,"1,M\n' >"$tmp/quote.csv"
: >"$tmp/empty.csv"
printf 'a,b\n1,2\n' >"$tmp/other.csv"
printf 'id,score,label,sex\n1,,0,F\n' >"$tmp/noscore.csv"

# expect NAME STATUS PATTERN -- command...: the exit status and a stderr line matching
# (a usage error may add the command's usage, hence up to 12 lines)
expect() {
	name=$1 want=$2 pat=$3
	shift 4
	vigil "$@" >"$tmp/out" 2>"$tmp/err"
	st=$?
	if [ "$st" -eq "$want" ] && grep -Eq -- "$pat" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -le 12 ]; then
		ok "$name"
	else
		not_ok "$name (status $st, want $want)"
		cat "$tmp/err"
	fi
}

P="perf --score score --label label --input"
expect "unreadable file" 2 "nope.csv: could not open" -- $P "$tmp/nope.csv"
expect "directory" 2 "could not|directory" -- $P "$tmp"
expect "empty file" 2 "empty.csv.*empty" -- $P "$tmp/empty.csv"
expect "missing score column" 2 'other.csv: no column named "score"' -- $P "$tmp/other.csv"
expect "score out of range" 2 'range.csv:3: column "score": score 1.5 is outside \[0, 1\]' -- $P "$tmp/range.csv"
expect "score not a number" 2 'nonnum.csv:3: column "score": score "high" is not a number' -- $P "$tmp/nonnum.csv"
expect "score missing" 2 'noscore.csv:2: column "score": score is missing' -- $P "$tmp/noscore.csv"
expect "label not 0/1" 2 'label.csv:3: column "label": label "2" is not 0 or 1' -- $P "$tmp/label.csv"
expect "third label value" 2 'label3.csv:4: column "label": label "maybe"' -- \
	perf --score score --label label --positive yes --input "$tmp/label3.csv"
expect "ragged row" 2 'ragged.csv:3: expected 4 cells, found 3' -- $P "$tmp/ragged.csv"
expect "unterminated quote" 2 'quote.csv:3: unterminated quoted cell' -- $P "$tmp/quote.csv"
expect "missing --by column" 2 'good.csv: no column named "site"' -- $P "$tmp/good.csv" --by site
expect "bad threshold" 2 '--threshold must be a number in \[0, 1\]' -- $P "$tmp/good.csv" --threshold 2
expect "bad format" 2 '--format must be table or json' -- $P "$tmp/good.csv" --format xml
expect "unknown option" 2 "unrecognized option|usage" -- $P "$tmp/good.csv" --frobnicate
expect "unknown command" 2 'unknown command "drfit"' -- drfit
expect "drift: missing --current" 2 '--reference and --current are required' -- \
	drift --reference "$tmp/good.csv"
expect "drift: no common column" 2 'have no column in common' -- \
	drift --reference "$tmp/good.csv" --current "$tmp/other.csv"
expect "drift: named column absent" 2 'other.csv: no column named "score"' -- \
	drift --reference "$tmp/good.csv" --current "$tmp/other.csv" --columns score
expect "drift: ragged current" 2 'ragged.csv:3: expected 4 cells, found 3' -- \
	drift --reference "$tmp/good.csv" --current "$tmp/ragged.csv"
expect "estimate: label in reference" 2 'label.csv:3: column "label"' -- \
	estimate --reference "$tmp/label.csv" --current "$tmp/good.csv" --score score --label label

# edge cases that are not errors: one row, constant columns, a column entirely missing
printf 'x,c\n5,a\n' >"$tmp/one.csv"
printf 'x,c\n5,a\n5,a\n5,b\n' >"$tmp/const.csv"
printf 'x,c\nNA,?\n,\n' >"$tmp/allmissing.csv"
if vigil drift --reference "$tmp/one.csv" --current "$tmp/const.csv" --format json >"$tmp/o.json" &&
	jq -e '.features[0].ks.statistic == 0 and .features[0].wasserstein.normalized == null and
		.features[1].unseen_categories == ["b"]' "$tmp/o.json" >/dev/null; then
	ok "drift with n = 1, a constant column and an unseen category"
else
	not_ok "drift with n = 1 / constant"
	cat "$tmp/o.json"
fi
if vigil drift --reference "$tmp/const.csv" --current "$tmp/allmissing.csv" --format json \
	--categorical c >"$tmp/o.json" &&
	jq -e '.features[0].ks.p_value == null and .features[0].missing_current == 2 and
		.features[0].drift == false and .features[1].chi_square.p_value == null' \
		"$tmp/o.json" >/dev/null; then
	ok "drift with a column entirely missing in the current file"
else
	not_ok "drift with an all-missing column"
	cat "$tmp/o.json"
fi
finish
