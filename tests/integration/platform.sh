#!/bin/sh
# tests/integration/platform.sh - the service platform against a real PostgreSQL over HTTP
#
# Migrations, settings, tokens and roles, problem+json, health and readiness (also while
# PostgreSQL is stopped and after it comes back, under light load), /metrics through
# promtool, /openapi.json against the route table, body limits, slow clients, the audit
# chain (intact and tampered), token revocation, and a clean SIGTERM with a request in
# flight.
. "$top_srcdir/tests/integration/lib.sh"

if ! command -v promtool >/dev/null 2>&1; then
	echo "SKIP: promtool is not installed (Debian package prometheus; scripts/deps.sh)"
	exit 77
fi

# --- settings: precedence and validation (no database needed) ----------------------------
cfg=$it_tmp/vigil.conf
cat >"$cfg" <<'CONF'
# a comment
threads = 3          # trailing comment
log_level = "debug"
CONF
t=$(vigil serve --check-config --config "$cfg" | sed -n 's/^threads = //p')
[ "$t" = 3 ] && ok "config file sets threads" || not_ok "config file sets threads (got $t)"
t=$(VIGIL_THREADS=5 vigil serve --check-config --config "$cfg" | sed -n 's/^threads = //p')
[ "$t" = 5 ] && ok "environment beats the file" || not_ok "environment beats the file (got $t)"
t=$(VIGIL_THREADS=5 vigil serve --check-config --config "$cfg" --set threads=7 |
	sed -n 's/^threads = //p')
[ "$t" = 7 ] && ok "flag beats the environment" || not_ok "flag beats the environment (got $t)"
t=$(vigil serve --check-config | sed -n 's/^max_body_bytes = //p')
[ "$t" = 16777216 ] && ok "max_body_bytes defaults to 16 MiB" ||
	not_ok "max_body_bytes defaults to 16 MiB (got $t)"

if VIGIL_MAX_BODY_BYTES=lots vigil serve --check-config >/dev/null 2>"$it_tmp/err"; then
	not_ok "--check-config rejects a bad environment value"
elif grep -q 'max_body_bytes' "$it_tmp/err" && grep -q 'VIGIL_MAX_BODY_BYTES' "$it_tmp/err"; then
	ok "--check-config rejects a bad environment value, naming the key and variable"
else
	not_ok "--check-config message names the key"
	cat "$it_tmp/err"
fi
if vigil serve --check-config --set threads=0 >/dev/null 2>"$it_tmp/err"; then
	not_ok "--check-config rejects threads=0"
elif grep -q 'threads' "$it_tmp/err"; then
	ok "--check-config rejects an out-of-range flag, naming the key"
else
	not_ok "--check-config names threads"
	cat "$it_tmp/err"
fi
printf 'listen = nowhere\n' >"$it_tmp/bad.conf"
if vigil serve --check-config --config "$it_tmp/bad.conf" >/dev/null 2>"$it_tmp/err"; then
	not_ok "--check-config rejects a bad file value"
elif grep -q 'listen' "$it_tmp/err" && grep -q 'line 1' "$it_tmp/err"; then
	ok "--check-config rejects a bad file value, naming the key and line"
else
	not_ok "--check-config names listen and the line"
	cat "$it_tmp/err"
fi

# --- migrations -------------------------------------------------------------------------
it_pg_start
if vigil migrate >"$it_tmp/m1" 2>&1 && grep -q '^applied' "$it_tmp/m1"; then
	ok "vigil migrate applies the migrations"
else
	not_ok "vigil migrate applies the migrations"
	cat "$it_tmp/m1"
fi
if vigil migrate >"$it_tmp/m2" 2>&1 && grep -q '^schema up to date' "$it_tmp/m2"; then
	ok "vigil migrate a second time is a no-op"
else
	not_ok "vigil migrate a second time is a no-op"
	cat "$it_tmp/m2"
fi
shipped=$(ls "$top_srcdir"/sql/[0-9][0-9][0-9][0-9]_*.sql | wc -l)
recorded=$(psql "$DATABASE_URL" -Atqc "SELECT count(*) FROM schema_migrations WHERE sha256 IS NOT NULL")
[ "$shipped" = "$recorded" ] && ok "schema_migrations records each migration once ($recorded)" ||
	not_ok "schema_migrations records each migration once ($recorded of $shipped)"

# --- tokens -----------------------------------------------------------------------------
admin=$(it_token admin it-admin)
viewer=$(it_token viewer it-viewer)
compliance=$(it_token compliance it-compliance)
ingest=$(it_token ingest it-ingest)
case $admin in
vgl_*) ok "vigil token create prints a token" ;;
*) not_ok "vigil token create prints a token" ;;
esac
stored=$(psql "$DATABASE_URL" -Atqc "SELECT count(*) FROM api_tokens WHERE encode(sha256, 'hex') = encode(sha256('$admin'::bytea), 'hex')")
plain=$(psql "$DATABASE_URL" -Atqc "SELECT count(*) FROM api_tokens t WHERE t::text LIKE '%${admin#vgl_}%'")
[ "$stored" = 1 ] && [ "$plain" = 0 ] && ok "only the token's SHA-256 is stored" ||
	not_ok "only the token's SHA-256 is stored ($stored, $plain)"
if vigil token create --role admin --name it-admin >/dev/null 2>&1; then
	not_ok "a duplicate token name is refused"
else
	ok "a duplicate token name is refused"
fi
if vigil token create --role superuser >/dev/null 2>&1; then
	not_ok "an unknown role is refused"
else
	ok "an unknown role is refused"
fi
vigil token list >"$it_tmp/list" 2>/dev/null
if grep -q 'it-viewer *viewer' "$it_tmp/list" && ! grep -q "${admin#vgl_}" "$it_tmp/list"; then
	ok "vigil token list shows names and roles, never secrets"
else
	not_ok "vigil token list"
	cat "$it_tmp/list"
fi

# --- the server ---------------------------------------------------------------------------
# connection_timeout_s is short for the slow-client checks; the in-flight check below pauses
# for half of it
VIGIL_MAX_BODY_BYTES=4096 VIGIL_CONNECTION_TIMEOUT_S=$((2 * it_slow)) VIGIL_TOKEN_CACHE_TTL_S=1 \
	VIGIL_RETRY_AFTER_S=3 VIGIL_DB_POOL_SIZE=4 VIGIL_THREADS=4 it_serve

check_status "GET /healthz" 200 GET /healthz
check_jq "/healthz says ok" '.status == "ok"'
check_status "GET /readyz with the database up" 200 GET /readyz
check_jq "/readyz names the schema" '.schema | test("^[0-9]{4}_")'

# auth and roles
check_status "no token: 401" 401 GET /v1/audit
check_header "401 carries WWW-Authenticate: Bearer" '^WWW-Authenticate: Bearer'
check_header "errors are application/problem+json" '^Content-Type: application/problem+json'
check_jq "problem+json has type, title, status, detail" \
	'(.type | type == "string") and .title == "Unauthorized" and .status == 401 and (.detail | length > 0)'
check_status "unknown token: 401" 401 GET /v1/audit vgl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
check_status "malformed token: 401" 401 GET /v1/audit not-a-token
check_status "viewer on a compliance route: 403" 403 GET /v1/audit "$viewer"
check_jq "403 is problem+json" '.status == 403 and .title == "Forbidden"'
check_status "ingest on a compliance route: 403" 403 GET /v1/audit "$ingest"
check_status "compliance on a compliance route: 200" 200 GET /v1/audit "$compliance"
check_jq "the audit list has entries" '.entries | length > 0'
check_status "admin may do everything: 200" 200 GET /v1/audit "$admin"
check_status "compliance on an admin route: 403" 403 GET /v1/tokens "$compliance"
check_status "admin on an admin route: 200" 200 GET /v1/tokens "$admin"
check_jq "token list has no secrets" '[.tokens[] | keys[]] | index("token") == null'
check_status "bad query parameter: 400" 400 GET '/v1/audit?limit=0' "$compliance"
check_status "unknown path: 404" 404 GET /v1/nothing-here
check_status "wrong method: 405" 405 DELETE /healthz
check_header "405 carries Allow" '^Allow: GET'
check_status "bad JSON: 400" 400 POST /v1/tokens "$admin" -H 'Content-Type: application/json' \
	--data-binary '{"role": '
check_status "bad field: 400" 400 POST /v1/tokens "$admin" -H 'Content-Type: application/json' \
	--data-binary '{"role": "root"}'
check_jq "the problem points at the bad field" '.pointer == "/role"'
check_status "admin creates a token over HTTP: 201" 201 POST /v1/tokens "$admin" \
	-H 'Content-Type: application/json' --data-binary '{"name": "http-viewer", "role": "viewer"}'
httptok=$(jq -r .token "$it_body")
check_status "the new token works" 403 GET /v1/audit "$httptok"
check_status "a duplicate name over HTTP: 409" 409 POST /v1/tokens "$admin" \
	-H 'Content-Type: application/json' --data-binary '{"name": "http-viewer", "role": "viewer"}'
check_status "admin revokes it over HTTP: 204" 204 DELETE /v1/tokens/http-viewer "$admin"
check_status "revoking it again: 404" 404 DELETE /v1/tokens/http-viewer "$admin"
n=$(psql "$DATABASE_URL" -Atqc "SELECT count(*) FROM audit_log WHERE action = 'http.denied' AND actor = 'it-viewer'")
[ "$n" -ge 1 ] && ok "a refused compliance read is audited" || not_ok "a refused read is audited ($n)"
n=$(psql "$DATABASE_URL" -Atqc "SELECT count(*) FROM audit_log WHERE action = 'audit.read' AND actor = 'it-compliance' AND remote = '127.0.0.1'")
[ "$n" -ge 1 ] && ok "reading the audit log is audited with who and from where" ||
	not_ok "reading the audit log is audited ($n)"
n=$(psql "$DATABASE_URL" -Atqc "SELECT count(*) FROM audit_log WHERE action IN ('token.create', 'token.revoke') AND target = 'http-viewer' AND actor = 'it-admin'")
[ "$n" = 2 ] && ok "token creation and revocation are audited" || not_ok "token audit ($n)"

# body limits (max_body_bytes = 4096 for this server)
head -c 5000 /dev/zero | tr '\0' 'x' >"$it_tmp/big"
check_status "a body over the limit (Content-Length): 413" 413 POST /v1/tokens "$admin" \
	-H 'Content-Type: application/json' --data-binary @"$it_tmp/big"
check_jq "413 is problem+json" '.status == 413'
check_status "a chunked body over the limit: 413" 413 POST /v1/tokens "$admin" \
	-H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary @"$it_tmp/big"
check_status "an oversized body without a token: 401 first" 401 POST /v1/tokens "" \
	--data-binary @"$it_tmp/big"
check_status "deep JSON: 400" 400 POST /v1/tokens "$admin" -H 'Content-Type: application/json' \
	--data-binary "$(printf '%0.s[' $(seq 1 100))"
check_status "the server still answers" 200 GET /healthz

# a slow client: half a request line and headers, then silence; and one that stops mid-body
cat >"$it_tmp/slow.pl" <<'PERL'
use strict; use IO::Socket::INET; use Time::HiRes qw(time);
my ($port, $what, $token, $limit) = @ARGV;
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 5) or exit 3;
$s->autoflush(1);
if ($what eq 'headers') {
	print $s "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Le";
} else {
	print $s "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $token\r\n" .
		"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"name\":";
}
my $t0 = time;
local $SIG{ALRM} = sub { print "still open after $limit s\n"; exit 1 };
alarm $limit;
my $buf = '';
while (sysread($s, my $chunk, 4096)) { $buf .= $chunk; }
printf "closed after %.1f s\n", time - $t0;
exit 0;
PERL
perl "$it_tmp/slow.pl" "$port" headers "" $((15 * it_slow)) >"$it_tmp/slow1" 2>&1 &
slow1=$!
it_bg $slow1
perl "$it_tmp/slow.pl" "$port" body "$admin" $((15 * it_slow)) >"$it_tmp/slow2" 2>&1 &
slow2=$!
it_bg $slow2
sleep 0.5
check_status "other requests are served while slow clients hang" 200 GET /healthz
it_wait_exit $slow1 $((20 * it_slow))
[ "$it_status" = 0 ] && ok "a client stalled in its headers is dropped after the timeout ($(cat "$it_tmp/slow1"))" ||
	not_ok "stalled headers: $(cat "$it_tmp/slow1")"
it_wait_exit $slow2 $((20 * it_slow))
[ "$it_status" = 0 ] && ok "a client stalled in its body is dropped after the timeout ($(cat "$it_tmp/slow2"))" ||
	not_ok "stalled body: $(cat "$it_tmp/slow2")"

# /openapi.json describes every route the server dispatches
check_status "GET /openapi.json" 200 GET /openapi.json
cp "$it_body" "$it_tmp/openapi.json"
check_jq "OpenAPI 3 document" '(.openapi | startswith("3.")) and (.paths | type == "object")'
vigil routes >"$it_tmp/routes"
nroutes=$(wc -l <"$it_tmp/routes")
[ "$nroutes" -ge 8 ] && ok "vigil routes lists the route table ($nroutes)" || not_ok "vigil routes ($nroutes)"
missing=0
while read -r method pattern role; do
	m=$(echo "$method" | tr 'A-Z' 'a-z')
	if ! jq -e --arg p "$pattern" --arg m "$m" --arg r "$role" \
		'.paths[$p][$m] as $op | $op != null and ($op.summary | length > 0) and
		 $op["x-vigil-role"] == $r and
		 (($r == "none") or ($op.security == [{"bearer": []}])) and
		 ($op.responses["503"]["$ref"] | test("Unavailable")) and
		 ([$p | scan("\\{([^}]+)\\}") | .[0]] - [($op.parameters // [])[] | select(.in == "path") | .name] == [])' \
		"$it_tmp/openapi.json" >/dev/null; then
		not_ok "openapi.json describes $method $pattern"
		missing=$((missing + 1))
	fi
	# and the router really dispatches it: a route that exists is never 404/405 here
	path=$(echo "$pattern" | sed 's/{[^}]*}/x/g')
	st=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X "$method" "$BASE$path")
	if [ "$st" = 404 ] || [ "$st" = 405 ] || [ "$st" = 000 ]; then
		not_ok "the server dispatches $method $pattern (got $st)"
		missing=$((missing + 1))
	fi
done <"$it_tmp/routes"
[ "$missing" = 0 ] && ok "every route is dispatched and described in /openapi.json" ||
	not_ok "$missing routes missing from /openapi.json or the router"
nops=$(jq '[.paths[] | keys[]] | length' "$it_tmp/openapi.json")
[ "$nops" = "$nroutes" ] && ok "/openapi.json has no route the server lacks" ||
	not_ok "/openapi.json has $nops operations for $nroutes routes"

# --- PostgreSQL stopped and started under load ------------------------------------------
cat >"$it_tmp/load.sh" <<'LOAD'
i=0
while [ $i -lt 400 ] && [ ! -f "$2/load.stop" ]; do
	curl -s -m 5 -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $3" "$1/v1/audit?limit=1"
	i=$((i + 1))
	sleep 0.05
done
LOAD
sh "$it_tmp/load.sh" "$BASE" "$it_tmp" "$compliance" >"$it_tmp/load.out" 2>&1 &
load=$!
it_bg $load
sleep 1
it_pg_stop
t0=$(date +%s)
check_status "/readyz fails while PostgreSQL is down" 503 GET /readyz
t1=$(date +%s)
[ $((t1 - t0)) -le $((3 * it_slow)) ] && ok "/readyz fails fast ($((t1 - t0)) s)" ||
	not_ok "/readyz took $((t1 - t0)) s"
check_header "503 carries Retry-After" '^Retry-After: 3'
sleep 1.5 # the token cache (1 s) expires: the next check needs the database
check_status "a database route answers 503 while PostgreSQL is down" 503 GET /v1/audit "$compliance"
check_header "... with Retry-After" '^Retry-After: [0-9]'
check_status "/healthz still answers" 200 GET /healthz
check_status "/metrics still answers" 200 GET /metrics
grep -q '^vigil_db_up 0' "$it_body" && ok "vigil_db_up is 0 while PostgreSQL is down" ||
	not_ok "vigil_db_up while down"
sleep 1
it_pg_start >/dev/null
if it_wait_for 20 sh -c "curl -sf -m 3 $BASE/readyz"; then
	ok "/readyz recovers after PostgreSQL restarts, without restarting vigil"
else
	not_ok "/readyz recovers after PostgreSQL restarts"
	tail -n 20 "$it_log"
fi
check_status "database routes work again" 200 GET /v1/audit "$compliance"
sleep 1
touch "$it_tmp/load.stop"
it_wait_exit $load $((30 * it_slow))
bad=$(grep -v -x -e 200 -e 503 "$it_tmp/load.out" | sort | uniq -c | tr '\n' ' ')
total=$(wc -l <"$it_tmp/load.out")
n503=$(grep -c -x 503 "$it_tmp/load.out")
if [ -z "$bad" ] && [ "$total" -gt 10 ] && [ "$n503" -gt 0 ]; then
	ok "under load through the outage every answer was 200 or 503 ($total requests, $n503 503)"
else
	not_ok "answers under load: $total requests, $n503 503, others: $bad"
fi

# --- /metrics -----------------------------------------------------------------------------
check_status "GET /metrics" 200 GET /metrics
check_header "/metrics is the Prometheus text format" '^Content-Type: text/plain; version=0.0.4'
if promtool check metrics <"$it_body" >"$it_tmp/promtool" 2>&1; then
	ok "promtool check metrics accepts /metrics"
else
	not_ok "promtool check metrics"
	cat "$it_tmp/promtool"
fi
for series in 'vigil_http_requests_total{route="/healthz",method="GET",status="200"}' \
	'vigil_http_requests_total{route="unmatched",method="GET",status="404"}' \
	'vigil_http_requests_total{route="/v1/tokens/{name}",method="DELETE",status="204"}' \
	'vigil_http_requests_total{route="/v1/tokens",method="POST",status="413"}' \
	'vigil_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"}' \
	'vigil_db_errors_total' 'vigil_db_up 1' 'process_resident_memory_bytes'; do
	grep -qF "$series" "$it_body" && ok "/metrics has $series" || not_ok "/metrics lacks $series"
done
grep -q 'route="/v1/tokens/http-viewer"' "$it_body" && not_ok "a raw path leaked into a label" ||
	ok "route labels are patterns, never raw paths"
n=$(sed -n 's/^vigil_db_errors_total \([0-9]*\)$/\1/p' "$it_body")
[ "${n:-0}" -ge 1 ] && ok "the outage shows in vigil_db_errors_total ($n)" || not_ok "vigil_db_errors_total ($n)"

# --- token revocation takes effect within the cache TTL -----------------------------------
rev=$(it_token compliance it-revoked)
check_status "a token works before revocation" 200 GET /v1/audit "$rev"
vigil token revoke it-revoked 2>/dev/null
t0=$(date +%s)
if it_wait_for 6 sh -c "test \"\$(curl -s -m 3 -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $rev' $BASE/v1/audit)\" = 401"; then
	ok "a revoked token gets 401 within the cache TTL ($(($(date +%s) - t0)) s)"
else
	not_ok "a revoked token still works after 6 s"
fi
if vigil token revoke it-revoked 2>/dev/null; then
	not_ok "revoking twice fails"
else
	ok "revoking a revoked token fails"
fi

# --- SIGHUP reloads the settings ------------------------------------------------------------
kill -HUP "$it_pid"
if it_wait_for 5 grep -q 'configuration reloaded' "$it_log"; then
	ok "SIGHUP reloads the configuration"
else
	not_ok "SIGHUP reload"
fi
check_status "the server answers after a reload" 200 GET /healthz

# --- the audit chain ----------------------------------------------------------------------
if vigil audit verify >"$it_tmp/verify" 2>&1 && grep -q '^audit log intact: [0-9]* rows' "$it_tmp/verify"; then
	ok "vigil audit verify: $(cat "$it_tmp/verify")"
else
	not_ok "vigil audit verify on an intact log"
	cat "$it_tmp/verify"
fi
if psql "$DATABASE_URL" -qc "UPDATE audit_log SET outcome = 'x' WHERE id = 1" >/dev/null 2>&1; then
	not_ok "the audit log refuses UPDATE"
else
	ok "the audit log refuses UPDATE (append-only trigger)"
fi
victim=$(psql "$DATABASE_URL" -Atqc "SELECT id FROM audit_log ORDER BY id OFFSET 2 LIMIT 1")
psql "$DATABASE_URL" -q -c "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update" \
	-c "UPDATE audit_log SET outcome = 'tampered' WHERE id = $victim" \
	-c "ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update" >/dev/null
vigil audit verify >"$it_tmp/verify" 2>&1
st=$?
if [ "$st" = 1 ] && grep -q "broken at row $victim:" "$it_tmp/verify"; then
	ok "a tampered row is found: $(cat "$it_tmp/verify")"
else
	not_ok "tampering with row $victim (exit $st)"
	cat "$it_tmp/verify"
fi
psql "$DATABASE_URL" -q -c "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update" \
	-c "UPDATE audit_log SET outcome = 'ok' WHERE id = $victim" \
	-c "DELETE FROM audit_log WHERE id = (SELECT min(id) FROM audit_log WHERE id > $victim)" \
	-c "ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update" >/dev/null
after=$(psql "$DATABASE_URL" -Atqc "SELECT min(id) FROM audit_log WHERE id > $victim")
vigil audit verify >"$it_tmp/verify" 2>&1
st=$?
if [ "$st" = 1 ] && grep -q "broken at row $after:" "$it_tmp/verify"; then
	ok "a deleted row is found: $(cat "$it_tmp/verify")"
else
	not_ok "deleting the row after $victim (exit $st)"
	cat "$it_tmp/verify"
fi

# --- SIGTERM with a request in flight -----------------------------------------------------
cat >"$it_tmp/inflight.pl" <<'PERL'
use strict; use IO::Socket::INET;
my ($port, $token, $pause) = @ARGV;
my $body = '{"name": "in-flight", "role": "viewer"}';
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 5) or exit 3;
$s->autoflush(1);
print $s "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $token\r\n" .
	"Content-Type: application/json\r\nContent-Length: " . length($body) . "\r\n\r\n" .
	substr($body, 0, 10);
sleep $pause;                  # SIGTERM arrives meanwhile
print $s substr($body, 10);
local $SIG{ALRM} = sub { print "no answer\n"; exit 1 };
alarm 20;
my $buf = '';
while (sysread($s, my $chunk, 4096)) { $buf .= $chunk; }
my ($line) = split /\r\n/, $buf;
print "$line\n";
exit 0;
PERL
perl "$it_tmp/inflight.pl" "$port" "$admin" "$it_slow" >"$it_tmp/inflight" 2>&1 &
inflight=$!
it_bg $inflight
# SIGTERM once the server has the request (the /metrics request itself is the other one)
it_wait_for 10 sh -c "curl -s -m 2 $BASE/metrics | grep -q '^vigil_http_requests_in_flight [2-9]'" ||
	not_ok "the slow request never showed up in flight"
kill -TERM "$it_pid"
sleep 0.5
st=$(curl -s -m 3 -o /dev/null -w '%{http_code}' "$BASE/healthz")
[ "$st" = 000 ] && ok "after SIGTERM no new connection is accepted" ||
	not_ok "after SIGTERM a new request got $st"
it_wait_exit $inflight $((20 * it_slow))
grep -q '^HTTP/1.1 201' "$it_tmp/inflight" && ok "the in-flight request completes (201)" ||
	{ not_ok "the in-flight request (client exit $it_status): $(cat "$it_tmp/inflight")"; tail -n 5 "$it_log"; }
it_wait_exit "$it_pid" $((30 * it_slow))
it_pid=
[ "$it_status" = 0 ] && ok "vigil serve exits 0 after SIGTERM" ||
	{ not_ok "vigil serve exit status $it_status after SIGTERM"; tail -n 30 "$it_log"; }
n=$(psql "$DATABASE_URL" -Atqc "SELECT count(*) FROM api_tokens WHERE name = 'in-flight'")
[ "$n" = 1 ] && ok "the in-flight request's work was committed" || not_ok "in-flight work ($n)"
if grep -qi 'leak\|runtime error\|AddressSanitizer' "$it_log"; then
	not_ok "the server log shows sanitizer reports"
	grep -i -A5 'leak\|runtime error\|AddressSanitizer' "$it_log" | head -n 40
else
	ok "no sanitizer reports in the server log"
fi

finish
