/* SPDX-License-Identifier: MIT
 * monitor/audit.c - the append-only, hash-chained audit log: append, verify, list
 *
 * The hash covers the row as PostgreSQL stores it, so both sides of the chain (the writer
 * here and the verifier, possibly years later) read the same text: the timestamp is
 * formatted by to_char in UTC with microseconds (timestamptz keeps exactly microseconds) and
 * the detail is jsonb's own canonical text. Hashes travel as hex (encode/decode) so that
 * bytea_output does not matter.
 */
#include "config.h"

#include "monitor/audit.h"

#include <errno.h>
#include <getopt.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/log.h"
#include "monitor/migrate.h"
#include "monitor/server.h"

#define LOG_PREFIX "audit: "
#define TS_FORMAT "to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define VERIFY_BATCH "1000"
#define LIST_DEFAULT 100
#define LIST_MAX 1000

static const char zero_hex[] = "0000000000000000000000000000000000000000000000000000000000000000";

static void netstring(gnutls_hash_hd_t h, const char *s)
{
	char len[32];
	size_t n = strlen(s);

	snprintf(len, sizeof(len), "%zu:", n);
	gnutls_hash(h, len, strlen(len));
	gnutls_hash(h, s, n);
	gnutls_hash(h, ",", 1);
}

static int unhex(const char *hex, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (unsigned char)v;
	}
	return hex[2 * n] == '\0' ? 0 : -EINVAL;
}

static void tohex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* fields: id, at, actor, action, target, remote, outcome, detail. hex_out: 65 bytes. */
static int chain_hash(const char *prev_hex, const char *const f[8], char *hex_out)
{
	unsigned char prev[MON_AUDIT_HASH_LEN], digest[MON_AUDIT_HASH_LEN];
	gnutls_hash_hd_t h;

	if (unhex(prev_hex, prev, sizeof(prev)))
		return -EINVAL;
	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
		return -EIO;
	gnutls_hash(h, prev, sizeof(prev));
	gnutls_hash(h, "vigil-audit-v1", 14);
	for (int i = 0; i < 8; i++)
		netstring(h, f[i]);
	gnutls_hash_deinit(h, digest);
	tohex(digest, sizeof(digest), hex_out);
	return 0;
}

static int fail_stmt(PGconn *c, PGresult *r, const char *what)
{
	if (mon_db_unavailable(c, r))
		return -EAGAIN;
	log_err(LOG_PREFIX "%s: %s", what, PQresultErrorMessage(r));
	return -EIO;
}

int mon_audit_append(PGconn *c, const char *actor, const char *action, const char *target,
		     const char *remote, const char *outcome, const cJSON *detail)
{
	int own = PQtransactionStatus(c) == PQTRANS_IDLE;
	char *detail_text = detail ? cJSON_PrintUnformatted(detail) : NULL;
	const char *prev_hex = zero_hex;
	PGresult *r = NULL, *last = NULL, *meta = NULL;
	const char *f[8];
	char hash[2 * MON_AUDIT_HASH_LEN + 1];
	const char *dparam[1];
	const char *ins[10];
	int ret = 0;

	dparam[0] = detail_text ? detail_text : "{}";
	if (own) {
		r = PQexec(c, "BEGIN");
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			ret = fail_stmt(c, r, "could not begin transaction");
			goto out;
		}
		PQclear(r);
	}
	r = PQexec(c,
		   "SELECT pg_advisory_xact_lock(" MON_LOCK_CLASS_SQL ", " MON_LOCK_AUDIT_SQL ")");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = fail_stmt(c, r, "could not lock the audit chain");
		goto out;
	}
	last = PQexec(
		c, "SELECT encode(hash, 'hex') FROM audit_log ORDER BY audit_log.id DESC LIMIT 1");
	if (PQresultStatus(last) != PGRES_TUPLES_OK) {
		ret = fail_stmt(c, last, "could not read the last audit row");
		goto out;
	}
	if (PQntuples(last) == 1)
		prev_hex = PQgetvalue(last, 0, 0);
	meta = PQexecParams(c,
			    "SELECT nextval(pg_get_serial_sequence('audit_log', 'id'))::text, "
			    "to_char(now() AT TIME ZONE 'UTC', "
			    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), $1::jsonb::text",
			    1, NULL, dparam, NULL, NULL, 0);
	if (PQresultStatus(meta) != PGRES_TUPLES_OK || PQntuples(meta) != 1) {
		ret = fail_stmt(c, meta, "could not prepare an audit row");
		goto out;
	}
	f[0] = PQgetvalue(meta, 0, 0);
	f[1] = PQgetvalue(meta, 0, 1);
	f[2] = actor ? actor : "";
	f[3] = action ? action : "";
	f[4] = target ? target : "";
	f[5] = remote ? remote : "";
	f[6] = outcome ? outcome : "";
	f[7] = PQgetvalue(meta, 0, 2);
	if (chain_hash(prev_hex, f, hash)) {
		log_err(LOG_PREFIX "could not hash an audit row: bad previous hash");
		ret = -EIO;
		goto out;
	}
	for (int i = 0; i < 8; i++)
		ins[i] = f[i];
	ins[8] = prev_hex;
	ins[9] = hash;
	PQclear(r);
	r = PQexecParams(
		c,
		"INSERT INTO audit_log (id, at, actor, action, target, remote, outcome, "
		"detail, prev_hash, hash) VALUES ($1::bigint, $2::timestamptz, $3, $4, $5, "
		"$6, $7, $8::jsonb, decode($9, 'hex'), decode($10, 'hex'))",
		10, NULL, ins, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		ret = fail_stmt(c, r, "could not append to the audit log");
		goto out;
	}
	if (own) {
		PQclear(r);
		r = PQexec(c, "COMMIT");
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			ret = fail_stmt(c, r, "could not commit an audit row");
			goto out;
		}
	}
out:
	if (ret && own && PQtransactionStatus(c) != PQTRANS_IDLE) {
		PQclear(r);
		r = PQexec(c, "ROLLBACK");
	}
	PQclear(r);
	PQclear(last);
	PQclear(meta);
	cJSON_free(detail_text);
	return ret;
}

int mon_audit_request(PGconn *c, const struct mon_http_req *req, const char *action,
		      const char *target, const char *outcome, const cJSON *detail)
{
	return mon_audit_append(c, req->who.name, action, target, req->remote, outcome, detail);
}

static void broken(struct mon_audit_verdict *v, const char *id, const char *reason)
{
	v->broken_id = strtoll(id, NULL, 10);
	snprintf(v->reason, sizeof(v->reason), "%s", reason);
}

int mon_audit_verify(PGconn *c, struct mon_audit_verdict *v)
{
	char prev[2 * MON_AUDIT_HASH_LEN + 1];
	PGresult *r;
	int ret = 0;

	memset(v, 0, sizeof(*v));
	v->broken_id = -1;
	memcpy(prev, zero_hex, sizeof(prev));
	r = PQexec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		ret = fail_stmt(c, r, "could not begin transaction");
		goto out;
	}
	PQclear(r);
	r = PQexec(c, "DECLARE audit_chain NO SCROLL CURSOR FOR SELECT id::text, "
		      "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), actor, "
		      "action, target, remote, outcome, detail::text, encode(prev_hash, 'hex'), "
		      "encode(hash, 'hex') FROM audit_log ORDER BY audit_log.id");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		ret = fail_stmt(c, r, "could not read the audit log");
		goto out;
	}
	for (;;) {
		int n;

		PQclear(r);
		r = PQexec(c, "FETCH " VERIFY_BATCH " FROM audit_chain");
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			ret = fail_stmt(c, r, "could not read the audit log");
			goto out;
		}
		n = PQntuples(r);
		if (n == 0)
			break;
		for (int i = 0; i < n; i++) {
			const char *f[8];
			char hash[2 * MON_AUDIT_HASH_LEN + 1];

			for (int k = 0; k < 8; k++)
				f[k] = PQgetvalue(r, i, k);
			v->rows++;
			if (strcmp(PQgetvalue(r, i, 8), prev)) {
				broken(v, f[0],
				       "its prev_hash does not match the previous row's hash "
				       "(a row before it was removed or altered)");
				goto done;
			}
			if (chain_hash(prev, f, hash) || strcmp(hash, PQgetvalue(r, i, 9))) {
				broken(v, f[0],
				       "its hash does not match its content (the row was "
				       "altered)");
				goto done;
			}
			memcpy(prev, hash, sizeof(prev));
		}
	}
done:
	PQclear(r);
	r = PQexec(c, "COMMIT");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		ret = fail_stmt(c, r, "could not end transaction");
out:
	if (ret && PQtransactionStatus(c) != PQTRANS_IDLE) {
		PQclear(r);
		r = PQexec(c, "ROLLBACK");
	}
	PQclear(r);
	return ret;
}

static const char audit_usage[] =
	"usage: vigil audit verify [--database URL] [--config FILE]\n"
	"\n"
	"Recompute the audit log's hash chain. Prints \"audit log intact: N rows\" and exits 0,\n"
	"or names the first broken row and exits 1.\n";

int mon_audit_main(int argc, char **argv)
{
	static const struct option lopts[] = {{"database", required_argument, NULL, 'd'},
					      {"config", required_argument, NULL, 'c'},
					      {"help", no_argument, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	const char *database = NULL, *config = NULL;
	struct mon_audit_verdict v;
	struct mon_db *db = NULL;
	PGconn *c = NULL;
	int opt, ret;

	if (argc < 2 || strcmp(argv[1], "verify")) {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			fputs(audit_usage, stdout);
			return 0;
		}
		fputs(audit_usage, stderr);
		return 2;
	}
	argc--;
	argv++;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			database = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'h':
			fputs(audit_usage, stdout);
			return 0;
		default:
			fputs(audit_usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vigil audit verify: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (mon_server_cli_open(database, config, &db, &c))
		return 2;
	ret = mon_audit_verify(c, &v);
	if (ret) {
		fprintf(stderr, "vigil audit verify: could not read the audit log: %s\n",
			PQerrorMessage(c));
		mon_server_cli_close(db, c);
		return 2;
	}
	mon_server_cli_close(db, c);
	if (v.broken_id < 0) {
		printf("audit log intact: %llu rows\n", v.rows);
		return 0;
	}
	printf("audit log broken at row %lld: %s\n", v.broken_id, v.reason);
	return 1;
}

static int parse_query_num(struct mon_http_req *req, struct mon_http_resp *resp, const char *key,
			   long long lo, long long hi, long long *out)
{
	const char *s = mon_http_query(req, key);
	char *end;
	long long v;

	if (!s)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		mon_http_problem(resp, 400, "invalid-parameter", NULL,
				 "query parameter %s must be a whole number in [%lld, %lld]", key,
				 lo, hi);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

void mon_api_audit_list(struct mon_http_req *req, struct mon_http_resp *resp)
{
	long long limit = LIST_DEFAULT, before = 0;
	char slimit[32], sbefore[32];
	const char *params[2] = {slimit, sbefore};
	cJSON *detail = NULL, *doc = NULL, *entries;
	PGresult *r = NULL;
	PGconn *c = NULL;
	int failed = 0, ret, n;

	if (parse_query_num(req, resp, "limit", 1, LIST_MAX, &limit) ||
	    parse_query_num(req, resp, "before", 1, (long long)9e18, &before))
		return;
	if (mon_server_db_get(req, resp, &c))
		return;
	snprintf(slimit, sizeof(slimit), "%lld", limit);
	snprintf(sbefore, sizeof(sbefore), "%lld", before);
	detail = cJSON_CreateObject();
	cJSON_AddNumberToObject(detail, "limit", (double)limit);
	if (before)
		cJSON_AddNumberToObject(detail, "before", (double)before);
	/* the read is recorded first and in the same transaction: no unaudited read */
	r = PQexec(c, "BEGIN");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		failed = mon_server_db_fail(req, resp, c, r, "could not begin transaction");
		goto out;
	}
	ret = mon_audit_request(c, req, "audit.read", "audit_log", "ok", detail);
	if (ret) {
		failed = ret == -EAGAIN;
		mon_http_problem(resp, mon_http_status_for(ret), NULL, NULL,
				 "could not record the read in the audit log");
		goto out;
	}
	PQclear(r);
	r = PQexecParams(
		c,
		"SELECT id::text, "
		"to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), actor, "
		"action, target, remote, outcome, detail::text, encode(hash, 'hex') "
		"FROM audit_log WHERE ($2::bigint = 0 OR audit_log.id < $2::bigint) "
		"ORDER BY audit_log.id DESC LIMIT $1::int",
		2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		failed = mon_server_db_fail(req, resp, c, r, "could not list the audit log");
		goto out;
	}
	PQclear(PQexec(c, "COMMIT"));
	doc = cJSON_CreateObject();
	entries = cJSON_AddArrayToObject(doc, "entries");
	n = PQntuples(r);
	for (int i = 0; i < n; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddNumberToObject(e, "id", strtod(PQgetvalue(r, i, 0), NULL));
		cJSON_AddStringToObject(e, "at", PQgetvalue(r, i, 1));
		cJSON_AddStringToObject(e, "actor", PQgetvalue(r, i, 2));
		cJSON_AddStringToObject(e, "action", PQgetvalue(r, i, 3));
		cJSON_AddStringToObject(e, "target", PQgetvalue(r, i, 4));
		cJSON_AddStringToObject(e, "remote", PQgetvalue(r, i, 5));
		cJSON_AddStringToObject(e, "outcome", PQgetvalue(r, i, 6));
		cJSON_AddItemToObject(e, "detail", cJSON_Parse(PQgetvalue(r, i, 7)));
		cJSON_AddStringToObject(e, "hash", PQgetvalue(r, i, 8));
		cJSON_AddItemToArray(entries, e);
	}
	if (n == limit && n > 0)
		cJSON_AddNumberToObject(doc, "next_before", strtod(PQgetvalue(r, n - 1, 0), NULL));
	else
		cJSON_AddNullToObject(doc, "next_before");
	mon_http_json(resp, 200, doc);
out:
	PQclear(r);
	cJSON_Delete(detail);
	mon_server_db_put(req, c, failed);
}
