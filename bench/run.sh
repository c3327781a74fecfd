#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/run.sh - `make bench`: our stats beside numpy/scipy/scikit-learn/pandas on the same data
#
# Run from the build directory (make bench does). Environment:
#   BENCH_STATS   path of bench/bench_stats (default ./bench/bench_stats)
#   VIGIL         path of the vigil binary (default ./vigil)
#   BENCH_MMD_LOOP_PERMS  permutations for the slow alibi-style MMD reference (default 100;
#                 fewer are timed and scaled linearly to 100, and the table says so)
#   BENCH_SLOW_REPS       repetitions of the end-to-end cases (default 3)
#   BENCH_E2E16_REF_REPS  repetitions of the 16-column end-to-end reference (default 1: it
#                 takes 35-60 s a run)
#
# Prints a table (best of several repetitions on each side, same data, same run), checks
# that both sides computed the same numbers (a mismatch is flagged loudly), and appends one
# machine-readable line per case to bench/results.txt beside bench_stats. Exits 1 when a
# case failed or mismatched. Timings never go into the test suite.
set -u

here=$(cd "$(dirname "$0")" && pwd)
BENCH_STATS=${BENCH_STATS:-$PWD/bench/bench_stats}
VIGIL=${VIGIL:-$PWD/vigil}
MMD_LOOP_PERMS=${BENCH_MMD_LOOP_PERMS:-100}
SLOW=${BENCH_SLOW_REPS:-3}
E2E16_REF=${BENCH_E2E16_REF_REPS:-1}
FAST=5
PY=/usr/bin/python3
outdir=$(dirname "$BENCH_STATS")
data=$outdir/data
results=$outdir/results.txt
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

failed=0
rev=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# The reference without the OpenBLAS overrides that slow numpy down; ours keeps the env.
ref() {
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" "$here/ref_stats.py" "$data" "$@"
}

get() { # KEY FILE -> value of the first "KEY value" line
	awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$2"
}

fmt_s() { # seconds with 3 significant digits
	awk -v t="$1" 'BEGIN { if (t == "") print "-"; else if (t < 0.01) printf "%.5f\n", t;
		else if (t < 1) printf "%.4f\n", t; else printf "%.2f\n", t }'
}

slug() { # a case name as one token for results.txt
	echo "$1" | tr -c 'A-Za-z0-9=.+\n-' '_' | tr -s '_'
}

mib() { # KiB -> MiB
	awk -v k="$1" 'BEGIN { if (k == "") print "?"; else printf "%.0f\n", k / 1024 }'
}

ratio() { # REF OURS
	awk -v r="$1" -v o="$2" 'BEGIN { if (r == "" || o == "" || o <= 0) print "";
		else printf "%.1f\n", r / o }'
}

# close A B RELTOL: 0 when |a - b| <= tol * max(1, |b|)
close() {
	awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { if (a == "" || b == "") exit 1;
		d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; if (m < 1) m = 1;
		exit !(d <= t * m) }'
}

header() {
	printf '\n%-34s %10s %10s %9s %7s  %s\n' "case" "ours (s)" "ref (s)" "ref/ours" "target" "result"
	printf '%-34s %10s %10s %9s %7s  %s\n' "----" "--------" "-------" "--------" "------" "------"
}

# row NAME OURS REF TARGET CHECK [NOTE]: prints the table line and the results.txt line.
row() {
	r=$(ratio "$3" "$2")
	if [ -z "$r" ]; then
		met=n/a
	elif awk -v r="$r" -v t="$4" 'BEGIN { exit !(r >= t) }'; then
		met=met
	else
		met=MISSED
	fi
	printf '%-34s %10s %10s %9s %7s  %s\n' "$1" "$(fmt_s "$2")" "$(fmt_s "$3")" \
		"${r:+${r}x}" ">=${4}x" "$met, check $5${6:+; $6}"
	printf '%s rev=%s case=%s ours_s=%s ref_s=%s ratio=%s target=%s met=%s check=%s\n' \
		"$stamp" "$rev" "$(slug "$1")" "${2:-NA}" "${3:-NA}" "${r:-NA}" \
		"$4" "$met" "$5" >>"$results"
}

mismatch() {
	echo "!!! MISMATCH in $1: $2" >&2
	printf '!!! MISMATCH in %s: %s\n' "$1" "$2" >>"$tmp/notes"
	failed=1
}

error() { # CASE FILE: a side failed; show why, remember it, go on
	msg=$(grep -v '^$' "$2" 2>/dev/null | tail -n 3 | tr '\n' ' ')
	printf '%-34s ERROR: %s\n' "$1" "${msg:-failed}"
	printf '%s rev=%s case=%s error="%s"\n' "$stamp" "$rev" "$(slug "$1")" "$msg" >>"$results"
	failed=1
}

# check_keys CASE RELTOL OURS REF KEY...: compare each KEY; sets check=MISMATCH on a miss
check_keys() {
	c=$1 tol=$2 a=$3 b=$4
	shift 4
	for k; do
		va=$(get "$k" "$a") vb=$(get "$k" "$b")
		if ! close "$va" "$vb" "$tol"; then
			mismatch "$c" "$k ours=$va ref=$vb (tol $tol)"
			check=MISMATCH
		fi
	done
}

# --- data and environment ---
mkdir -p "$data"
"$PY" "$here/gen_data.py" "$data" || { echo "bench: gen_data.py failed" >&2; exit 1; }
: >"$tmp/notes"
echo "bench: $(nproc) CPUs; reference: $PY, $(ref blas | awk '$1 == "blas" { print $2 }')," \
	"OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset"
echo "bench: ours: $BENCH_STATS, env OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}" \
	"OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE:-(unset)}"
echo "bench: best of $FAST runs on each side ($SLOW for end to end; slow references fewer," \
	"as marked); this takes 2-4 minutes"
load0=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null)
header

# --- 1. KS ---
if "$BENCH_STATS" "$data" ks $FAST >"$tmp/ks.c" 2>"$tmp/ks.err"; then
	ref ks --reps $FAST >"$tmp/ks.r" 2>"$tmp/ks.rerr" || error "ks (reference)" "$tmp/ks.rerr"
	check=ok
	check_keys ks 1e-12 "$tmp/ks.c" "$tmp/ks.r" ks_statistic
	check_keys ks 1e-6 "$tmp/ks.c" "$tmp/ks.r" ks_pvalue
	row "ks 2samp n=m=1e6" "$(get seconds "$tmp/ks.c")" "$(get seconds "$tmp/ks.r")" 10 "$check" \
		"D=$(get ks_statistic "$tmp/ks.c" | cut -c1-8) p=$(get ks_pvalue "$tmp/ks.c" | cut -c1-6)"
else
	error "ks 2samp n=m=1e6" "$tmp/ks.err"
fi

# --- 2. PSI ---
if "$BENCH_STATS" "$data" psi $FAST >"$tmp/psi.c" 2>"$tmp/psi.err"; then
	ref psi --reps $FAST >"$tmp/psi.r" 2>"$tmp/psi.rerr" || error "psi (reference)" "$tmp/psi.rerr"
	keys="psi"
	for k in 0 1 2 3 4 5 6 7 8 9; do
		keys="$keys count_ref_$k count_cur_$k"
		[ $k -lt 9 ] && keys="$keys edge_$k"
	done
	check=ok
	# shellcheck disable=SC2086
	check_keys psi 1e-9 "$tmp/psi.c" "$tmp/psi.r" $keys
	row "psi deciles n=m=1e6" "$(get seconds "$tmp/psi.c")" "$(get seconds "$tmp/psi.r")" 10 \
		"$check" "PSI=$(get psi "$tmp/psi.c" | cut -c1-8)"
else
	error "psi deciles n=m=1e6" "$tmp/psi.err"
fi

# --- 3. MMD ---
if "$BENCH_STATS" "$data" mmd $FAST >"$tmp/mmd.c" 2>"$tmp/mmd.err"; then
	ours=$(get seconds "$tmp/mmd.c")
	if [ "$(get subsampled "$tmp/mmd.c")" != 0 ]; then
		mismatch mmd "stats_mmd subsampled (n=$(get n "$tmp/mmd.c"))"
	fi
	pc=$(get p_value "$tmp/mmd.c")
	# (a) alibi-style loop
	if ref mmd_loop --reps 1 --perms "$MMD_LOOP_PERMS" >"$tmp/mmdl.r" 2>"$tmp/mmdl.rerr"; then
		check=ok
		check_keys mmd 1e-6 "$tmp/mmd.c" "$tmp/mmdl.r" mmd2 sigma
		t=$(get seconds "$tmp/mmdl.r") note="1 run"
		if [ "$MMD_LOOP_PERMS" != 100 ]; then
			t=$(awk -v t="$t" -v p="$MMD_LOOP_PERMS" 'BEGIN { printf "%.6f", t * 100 / p }')
			note="1 run of $MMD_LOOP_PERMS perms SCALED x$(ratio 100 "$MMD_LOOP_PERMS") to 100"
		fi
		row "mmd2 100 perms vs alibi-style loop" "$ours" "$t" 100 "$check" \
			"$note; p ours=$(echo "$pc" | cut -c1-6) ref=$(get p_value "$tmp/mmdl.r" | cut -c1-6)"
	else
		error "mmd (alibi-style reference)" "$tmp/mmdl.rerr"
	fi
	# (b) one-pass numpy
	if ref mmd_batch --reps $FAST >"$tmp/mmdb.r" 2>"$tmp/mmdb.rerr"; then
		check=ok
		check_keys mmd 1e-6 "$tmp/mmd.c" "$tmp/mmdb.r" mmd2 sigma
		row "mmd2 100 perms vs numpy batched" "$ours" "$(get seconds "$tmp/mmdb.r")" 1 "$check" \
			"MMD2=$(get mmd2 "$tmp/mmd.c" | cut -c1-9) sigma=$(get sigma "$tmp/mmd.c" | cut -c1-6)"
	else
		error "mmd (numpy batched reference)" "$tmp/mmdb.rerr"
	fi
	# Does the inherited OpenBLAS environment matter for ours? Time it without, too.
	if [ -n "${OPENBLAS_CORETYPE:-}${OPENBLAS_L2_SIZE:-}" ]; then
		env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$BENCH_STATS" "$data" mmd $FAST \
			>"$tmp/mmdu.c" 2>/dev/null &&
			echo "note: ours on MMD takes $(get seconds "$tmp/mmd.c") s with the OPENBLAS_*" \
				"env as given, $(get seconds "$tmp/mmdu.c") s with it unset" >>"$tmp/notes"
	fi
else
	error "mmd2 100 perms n=m=2000 d=16" "$tmp/mmd.err"
fi

# --- 4. AUROC + DeLong, 8 groups ---
if "$BENCH_STATS" "$data" auroc $FAST >"$tmp/auc.c" 2>"$tmp/auc.err"; then
	ref auroc --reps $FAST >"$tmp/auc.r" 2>"$tmp/auc.rerr" || error "auroc (reference)" "$tmp/auc.rerr"
	check=ok
	check_keys auroc 1e-12 "$tmp/auc.c" "$tmp/auc.r" auc_0 auc_1 auc_2 auc_3 auc_4 auc_5 auc_6 auc_7
	row "auroc+delong 1e6, 8 groups" "$(get seconds "$tmp/auc.c")" "$(get seconds "$tmp/auc.r")" 5 \
		"$check" "ref has no interval; g0 $(get auc_0 "$tmp/auc.c" | cut -c1-6) [$(get low_0 \
		"$tmp/auc.c" | cut -c1-6), $(get high_0 "$tmp/auc.c" | cut -c1-6)]"
else
	error "auroc+delong 1e6, 8 groups" "$tmp/auc.err"
fi

# --- 5. end to end: vigil drift on CSV pairs ---
for e in e2e1 e2e16; do
	case $e in
	e2e1) name="vigil drift 1e6 x 1 col" ;;
	*) name="vigil drift 1e6 x 16 cols" ;;
	esac
	R=$data/${e}_ref.csv C=$data/${e}_cur.csv
	rreps=$SLOW
	[ $e = e2e16 ] && rreps=$E2E16_REF
	"$BENCH_STATS" exec 1 "$tmp/$e.json" "$VIGIL" drift --reference "$R" --current "$C" \
		--format json >"$tmp/$e.probe" 2>&1
	st=$(get status "$tmp/$e.probe")
	if [ "$st" != 0 ]; then # no CLI yet, or its CSV reader or stats still stubs
		msg=$(grep -v '^$' "$tmp/$e.json.err" "$tmp/$e.probe" 2>/dev/null | head -n 1 |
			sed 's/^[^:]*://')
		printf '%-34s vigil drift not available (exit %s: %s)\n' "$name" "${st:-?}" "$msg"
		printf '%s rev=%s case=%s skipped="vigil drift not available"\n' "$stamp" "$rev" \
			"$(slug "$name")" >>"$results"
		continue
	fi
	if ! "$BENCH_STATS" exec "$SLOW" "$tmp/$e.json" "$VIGIL" drift --reference "$R" \
		--current "$C" --format json >"$tmp/$e.c" 2>&1; then
		cat "$tmp/$e.c" "$tmp/$e.json.err" >"$tmp/$e.err" 2>/dev/null
		error "$name" "$tmp/$e.err"
		continue
	fi
	if ! ref "$e" --reps "$rreps" --vigil-json "$tmp/$e.json" >"$tmp/$e.r" 2>"$tmp/$e.rerr"; then
		error "$name (reference)" "$tmp/$e.rerr"
		continue
	fi
	ncmp=$(get vigil_compared "$tmp/$e.r")
	bad=$(get vigil_mismatch "$tmp/$e.r")
	if [ "$bad" != none ]; then
		mismatch "$name" "${bad:-the vigil JSON is unreadable}"
		check=MISMATCH
	elif [ "${ncmp:-0}" = 0 ]; then
		check="n/a (JSON layout not recognised)"
	else
		check="ok ($ncmp values)"
	fi
	row "$name" "$(get seconds "$tmp/$e.c")" "$(get seconds "$tmp/$e.r")" 3 "$check" \
		"ref runs $rreps, ours $SLOW; max RSS ours $(mib "$(get maxrss_kb "$tmp/$e.c")") MiB, ref $(mib "$(get maxrss_kb \
		"$tmp/$e.r")") MiB"
	echo "note: $name: ref time is read_csv + ks_2samp + wasserstein_distance + PSI per column" \
		"inside python (its interpreter start and $(get import_seconds "$tmp/$e.r" | cut -c1-4) s" \
		"of imports not counted); ours is the whole vigil process" >>"$tmp/notes"
done

echo
cat "$tmp/notes"
load1=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null)
if awk -v a="${load0:-0}" -v b="${load1:-0}" -v c="$(nproc)" 'BEGIN { exit !(a > 1.5 || b > c) }'
then
	echo "WARNING: load average ${load0:-?} at the start, ${load1:-?} at the end on $(nproc)" \
		"CPUs: other processes competed for the CPUs and the ratios are unreliable"
fi
echo "bench: results appended to $results"
if [ $failed != 0 ]; then
	echo "bench: FAILED (a case errored or mismatched; see above)"
	exit 1
fi
exit 0
