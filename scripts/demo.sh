#!/bin/sh
# scripts/demo.sh - set up vigil and run its main job on real data
#
# Installs the Debian packages (as root), builds vigil, then shows the statistics core on the
# UCI heart-disease data: a model validated at the Cleveland Clinic and deployed at three
# other hospitals (Budapest, Zurich/Basel, VA Long Beach):
#   1. vigil drift    Cleveland's patients against each other site's
#   2. vigil perf     the model's realised performance per site and per sex, with intervals
#   3. vigil estimate what the model's performance looks like before any label arrives
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/deps.sh
echo "== building vigil (_build/release)"
scripts/build.sh _build/release
vigil=$top/_build/release/vigil
fx=$top/tests/fixtures

cols=age,sex,cp,trestbps,chol,thalach,exang,oldpeak,score
for site in hungarian switzerland va; do
	echo
	echo "== vigil drift: reference cleveland, current $site"
	"$vigil" drift --reference "$fx/heart_cleveland.csv" --current "$fx/heart_$site.csv" \
		--columns "$cols" --categorical sex,cp,exang --mmd
done

echo
echo "== vigil perf: the Cleveland-fitted model on all four sites, by site and by sex"
"$vigil" perf --input "$fx/heart_scored.csv" --score score --label target \
	--by site,sex_label --intersections

for site in hungarian va; do
	echo
	echo "== vigil estimate: label-free performance at $site (calibrated on cleveland)"
	echo "   (the file has labels, so the realised values are shown beside the estimate)"
	"$vigil" estimate --reference "$fx/heart_cleveland.csv" --current "$fx/heart_$site.csv" \
		--score score --label target --by sex_label --min-n 20
done
echo
echo "demo: the same commands print JSON with --format json; see README.md"
