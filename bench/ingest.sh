#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/ingest.sh - post batch files to a running vigil from concurrent clients, timed
#
#   bench/ingest.sh BASE-URL TOKEN PATH CLIENTS OUTDIR FILE...
#
# The FILEs (NDJSON batches) are dealt round-robin to CLIENTS clients; each client is one
# curl process sending its batches one after another on one kept-alive connection
# (curl -K), so the client costs one process, not one per batch. Prints "key value" lines:
#   rows        records the server acknowledged (accepted + duplicates, from each answer)
#   batches     batches sent; ok: batches answered 200
#   seconds     wall time from the first request to the last answer
#   rows_per_s  rows / seconds
#   client_cpu_s  user + system CPU time of the curl clients
# Each answer is kept in OUTDIR/answer.N. Exits 1 when a batch was not answered 200.
set -u
[ $# -ge 6 ] || {
	echo "usage: bench/ingest.sh BASE-URL TOKEN PATH CLIENTS OUTDIR FILE..." >&2
	exit 2
}
base=$1 token=$2 path=$3 clients=$4 out=$5
shift 5
mkdir -p "$out"
rm -f "$out"/answer.* "$out"/client.*

i=0
for f in "$@"; do
	c=$((i % clients))
	printf 'url = "%s%s"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/x-ndjson"\ndata-binary = "@%s"\noutput = "%s/answer.%d"\nwrite-out = "%%{http_code}\\n"\nmax-time = 600\nnext\n' \
		"$base" "$path" "$token" "$f" "$out" "$i" >>"$out/client.$c.rc"
	i=$((i + 1))
done
nbatch=$i

now() {
	date +%s.%N
}

t0=$(now)
pids=
c=0
while [ $c -lt "$clients" ] && [ $c -lt "$nbatch" ]; do
	curl -s -K "$out/client.$c.rc" >"$out/client.$c.codes" 2>"$out/client.$c.err" &
	pids="$pids $!"
	c=$((c + 1))
done
for p in $pids; do
	wait "$p"
done
t1=$(now)

# the children's CPU time: the second line of `times` ("0m1.234s 0m0.567s"), run in this
# shell (in $(...) it would count the subshell's children)
times >"$out/times"
cpu=$(sed -n 2p "$out/times" | awk '{ n = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); n += a[1] * 60 + a[2] } printf "%.2f", n }')
ok=$(cat "$out"/client.*.codes | grep -c '^200$')
rows=$(grep -ho '"accepted":[0-9]*,"duplicates":[0-9]*' "$out"/answer.* 2>/dev/null |
	tr -c '0-9\n' ' ' | awk '{ n += $1 + $2 } END { print n + 0 }')
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
echo "rows $rows"
echo "batches $nbatch"
echo "ok $ok"
echo "seconds $secs"
awk -v r="$rows" -v s="$secs" 'BEGIN { printf "rows_per_s %.0f\n", (s > 0 ? r / s : 0) }'
echo "client_cpu_s $cpu"
[ "$ok" = "$nbatch" ]
