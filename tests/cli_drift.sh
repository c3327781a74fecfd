#!/bin/sh
# tests/cli_drift.sh - `vigil drift` on real data against scipy/numpy/statsmodels values
# (tests/fixtures/gen_cli.py). Tolerance: |vigil - reference| <= 1e-12 + 1e-8 |reference|.
. "$top_srcdir/tests/lib.sh"

cols=age,sex,cp,trestbps,chol,thalach,exang,oldpeak,score
for site in hungarian switzerland va; do
	if vigil drift --reference "$fx/heart_cleveland.csv" --current "$fx/heart_$site.csv" \
		--columns "$cols" --categorical sex,cp,exang --format json >"$tmp/d.json"; then
		json_case "drift heart cleveland vs $site" "$fx/cli/drift_heart_$site.json" \
			"$tmp/d.json" --rtol 1e-8 --atol 1e-12
	else
		not_ok "drift heart cleveland vs $site: exit status $?"
	fi
done

# the diabetes data: integer counts with heavy ties, '?' as missing, categories that appear
# only in the later encounters (unseen_categories, in order of first appearance)
if vigil drift --reference "$fx/diabetes_early.csv" --current "$fx/diabetes_late.csv" \
	--columns race,gender,age,time_in_hospital,medical_specialty,num_lab_procedures,num_procedures,num_medications,number_emergency,number_inpatient,number_diagnoses,A1Cresult \
	--categorical race,gender,age,medical_specialty,A1Cresult --format json >"$tmp/d.json"; then
	json_case "drift diabetes early vs late encounters" "$fx/cli/drift_diabetes.json" \
		"$tmp/d.json" --rtol 1e-8 --atol 1e-12
else
	not_ok "drift diabetes: exit status $?"
fi

# without --columns every common column is a feature; text columns are inferred categorical
if vigil drift --reference "$fx/diabetes_early.csv" --current "$fx/diabetes_late.csv" \
	--format json >"$tmp/all.json"; then
	if jq -e '(.features | length) == 14 and
		(.features[] | select(.name == "race") | .type) == "categorical" and
		(.features[] | select(.name == "num_medications") | .type) == "numeric"' \
		"$tmp/all.json" >/dev/null; then
		ok "drift infers features and types"
	else
		not_ok "drift infers features and types"
	fi
else
	not_ok "drift without --columns: exit status $?"
fi

# MMD: reproducible with a seed, reported with its parameters, and the run says which
# features it used
a=$(vigil drift --reference "$fx/heart_cleveland.csv" --current "$fx/heart_va.csv" \
	--columns age,trestbps,thalach,oldpeak --mmd --permutations 200 --seed 7 --format json)
b=$(vigil drift --reference "$fx/heart_cleveland.csv" --current "$fx/heart_va.csv" \
	--columns age,trestbps,thalach,oldpeak --mmd --permutations 200 --seed 7 --format json)
if [ -n "$a" ] && [ "$a" = "$b" ] && echo "$a" | jq -e '.mmd.permutations == 200 and
	.mmd.p_value == 1/201 and .mmd.mmd2 > 0 and (.mmd.features | length) == 4' >/dev/null; then
	ok "mmd is reproducible and detects the VA shift at p = 1/201"
else
	not_ok "mmd reproducible / significant"
	echo "$a" | sed -n '/"mmd"/,$p' | head -20
fi

# the table format prints every feature
if vigil drift --reference "$fx/heart_cleveland.csv" --current "$fx/heart_va.csv" \
	--columns "$cols" --categorical sex,cp,exang >"$tmp/t.txt" &&
	[ "$(grep -c -E '^(age|sex|cp|trestbps|chol|thalach|exang|oldpeak|score) ' "$tmp/t.txt")" -eq 9 ]; then
	ok "drift table lists every feature"
else
	not_ok "drift table"
	cat "$tmp/t.txt"
fi
finish
