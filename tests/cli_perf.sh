#!/bin/sh
# tests/cli_perf.sh - `vigil perf` and `vigil estimate` on real data against scikit-learn,
# statsmodels and formula values (tests/fixtures/gen_cli.py).
# Tolerance: |vigil - reference| <= 1e-9 + 1e-7 |reference| (the logistic recalibration is
# an iterative fit on both sides; everything else agrees to ~1e-12).
. "$top_srcdir/tests/lib.sh"

if vigil perf --input "$fx/heart_scored.csv" --score score --label target \
	--by site,sex_label --intersections --format json >"$tmp/p.json"; then
	json_case "perf heart by site, sex and site x sex" "$fx/cli/perf_heart_site_sex.json" \
		"$tmp/p.json" --rtol 1e-7 --atol 1e-9
else
	not_ok "perf heart: exit status $?"
fi

# a small group has no metric values, only its counts
if [ -s "$tmp/p.json" ] && jq -e '[.groups[] | select(.insufficient_data)] | length > 0 and
	all(has("sensitivity") or has("auroc") | not)' "$tmp/p.json" >/dev/null; then
	ok "perf marks small groups insufficient"
else
	not_ok "perf insufficient groups"
fi

# --positive with text labels gives the same numbers as 0/1 labels
awk -F, 'BEGIN{OFS=","} NR==1{print $0",outcome"; next} {print $0","($16=="1"?"disease":"healthy")}' \
	"$fx/heart_scored.csv" >"$tmp/text.csv"
vigil perf --input "$tmp/text.csv" --score score --label outcome --positive disease \
	--by site --format json | grep -v '"rows"' >"$tmp/a.json"
vigil perf --input "$fx/heart_scored.csv" --score score --label target --by site \
	--format json | grep -v '"rows"' >"$tmp/b.json"
if cmp -s "$tmp/a.json" "$tmp/b.json"; then
	ok "perf --positive on text labels"
else
	not_ok "perf --positive on text labels"
	diff "$tmp/a.json" "$tmp/b.json" | head
fi

for site in va hungarian; do
	if vigil estimate --reference "$fx/heart_cleveland.csv" --current "$fx/heart_$site.csv" \
		--score score --label target --by sex_label --min-n 20 --format json >"$tmp/e.json"; then
		json_case "estimate heart $site (CBPE point estimates)" \
			"$fx/cli/estimate_heart_$site.json" "$tmp/e.json" --rtol 1e-9 --atol 1e-12
	else
		not_ok "estimate heart $site: exit status $?"
	fi
done
finish
