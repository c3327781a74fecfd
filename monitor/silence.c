/* SPDX-License-Identifier: MIT
 * monitor/silence.c - silences: time-boxed, commented mutes of alert notifications
 *
 * Matchers are checked here for shape and by PostgreSQL for regex syntax (the dialect
 * that will run them: alert_matcher_holds in sql/0004), then stored as a canonical array
 * with every field spelled out. Times go through col_ts_parse, the ingest path's RFC 3339
 * parser, so a silence accepts exactly the timestamps a prediction does.
 */
#include "config.h"

#include "monitor/silence.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/audit.h"
#include "monitor/db.h"
#include "monitor/log.h"

#define LOG_PREFIX "silence: "

static int db_error(PGconn *c, const PGresult *r, const char *what)
{
	return mon_db_error(c, r, LOG_PREFIX, what);
}

static int bad(struct col_diag *d, const char *ptr, const char *msg)
{
	snprintf(d->pointer, sizeof(d->pointer), "%s", ptr);
	snprintf(d->msg, sizeof(d->msg), "%s", msg);
	return -EINVAL;
}

static int label_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
		      (i && ch >= '0' && ch <= '9')))
			return 0;
	}
	return 1;
}

/* A timestamp field into PostgreSQL's input form; absent leaves buf empty. */
static int ts_field(const cJSON *body, const char *key, char *buf, struct col_diag *d)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
	char ptr[32];
	int64_t us;

	buf[0] = '\0';
	if (!v)
		return 0;
	snprintf(ptr, sizeof(ptr), "/%s", key);
	if (!cJSON_IsString(v) || col_ts_parse(v->valuestring, strlen(v->valuestring), &us))
		return bad(d, ptr, "must be an RFC 3339 date-time");
	col_ts_format(us, 1, buf);
	return 0;
}

/* Check the matchers and build their canonical array into *out. */
static int parse_matchers(const cJSON *m, cJSON **out, struct col_diag *d)
{
	const cJSON *e;
	cJSON *arr;
	int i = 0;

	*out = NULL;
	if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) < 1 ||
	    cJSON_GetArraySize(m) > MON_SILENCE_MATCHERS_MAX)
		return bad(d, "/matchers",
			   "matchers must be a list of 1 to 16 "
			   "{name, value, isRegex, isEqual}");
	arr = cJSON_CreateArray();
	cJSON_ArrayForEach (e, m) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "value");
		const cJSON *re = cJSON_GetObjectItemCaseSensitive(e, "isRegex");
		const cJSON *eq = cJSON_GetObjectItemCaseSensitive(e, "isEqual");
		const cJSON *k;
		char ptr[64];
		cJSON *o;

		snprintf(ptr, sizeof(ptr), "/matchers/%d", i);
		if (!cJSON_IsObject(e)) {
			cJSON_Delete(arr);
			return bad(d, ptr,
				   "a matcher is an object {name, value, isRegex, isEqual}");
		}
		cJSON_ArrayForEach (k, e) {
			if (strcmp(k->string, "name") && strcmp(k->string, "value") &&
			    strcmp(k->string, "isRegex") && strcmp(k->string, "isEqual")) {
				snprintf(ptr, sizeof(ptr), "/matchers/%d/%.32s", i, k->string);
				cJSON_Delete(arr);
				return bad(d, ptr, "unknown field");
			}
		}
		snprintf(ptr, sizeof(ptr), "/matchers/%d/name", i);
		if (!cJSON_IsString(n) || !label_name(n->valuestring)) {
			cJSON_Delete(arr);
			return bad(d, ptr,
				   "a label name is 1 to 64 of [A-Za-z0-9_], not starting "
				   "with a digit");
		}
		snprintf(ptr, sizeof(ptr), "/matchers/%d/value", i);
		if (!cJSON_IsString(v) || strlen(v->valuestring) > 1024) {
			cJSON_Delete(arr);
			return bad(d, ptr, "value must be a string of at most 1024 bytes");
		}
		if ((re && !cJSON_IsBool(re)) || (eq && !cJSON_IsBool(eq))) {
			snprintf(ptr, sizeof(ptr), "/matchers/%d/%s", i,
				 re && !cJSON_IsBool(re) ? "isRegex" : "isEqual");
			cJSON_Delete(arr);
			return bad(d, ptr, "must be true or false");
		}
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", n->valuestring);
		cJSON_AddStringToObject(o, "value", v->valuestring);
		cJSON_AddBoolToObject(o, "isRegex", cJSON_IsTrue(re));
		cJSON_AddBoolToObject(o, "isEqual", !eq || cJSON_IsTrue(eq));
		cJSON_AddItemToArray(arr, o);
		i++;
	}
	*out = arr;
	return 0;
}

/* The JSON of silences; s is silences. */
#define SILENCE_JSON                                                                               \
	"jsonb_build_object('id', s.id, 'matchers', s.matchers, 'starts_at', "                     \
	"alert_ts(s.starts_at), 'ends_at', alert_ts(s.ends_at), 'author', s.author, 'comment', "   \
	"s.comment, 'created_by', s.created_by, 'created_at', alert_ts(s.created_at), "            \
	"'deleted_at', alert_ts(s.deleted_at), 'deleted_by', s.deleted_by, "                       \
	"'state', " SILENCE_STATE ")"
#define SILENCE_STATE                                                                              \
	"CASE WHEN s.deleted_at IS NOT NULL OR s.ends_at <= now() THEN 'expired' WHEN "            \
	"s.starts_at > now() THEN 'pending' ELSE 'active' END"

int mon_silence_create(PGconn *c, const cJSON *body, const char *actor, const char *remote,
		       cJSON **out, struct col_diag *diag)
{
	char starts[COL_TS_BUF], ends[COL_TS_BUF], target[32];
	const cJSON *author, *comment, *k;
	cJSON *matchers = NULL, *detail = NULL;
	char *mtext = NULL;
	const char *params[6];
	PGresult *r = NULL;
	int ret;

	*out = NULL;
	diag->pointer[0] = diag->msg[0] = '\0';
	if (!cJSON_IsObject(body))
		return bad(diag, "", "a silence must be a JSON object");
	cJSON_ArrayForEach (k, body) {
		if (strcmp(k->string, "matchers") && strcmp(k->string, "starts_at") &&
		    strcmp(k->string, "ends_at") && strcmp(k->string, "author") &&
		    strcmp(k->string, "comment")) {
			char ptr[80];

			snprintf(ptr, sizeof(ptr), "/%.64s", k->string);
			return bad(diag, ptr, "unknown field");
		}
	}
	comment = cJSON_GetObjectItemCaseSensitive(body, "comment");
	if (!cJSON_IsString(comment) ||
	    !comment->valuestring[strspn(comment->valuestring, " \t\r\n")] ||
	    strlen(comment->valuestring) > MON_SILENCE_COMMENT_MAX)
		return bad(diag, "/comment",
			   "a silence needs a comment saying why (at most 2000 "
			   "bytes)");
	author = cJSON_GetObjectItemCaseSensitive(body, "author");
	if (author && (!cJSON_IsString(author) || !author->valuestring[0] ||
		       strlen(author->valuestring) > 128))
		return bad(diag, "/author",
			   "author must be a non-empty string of at most 128 bytes");
	if (ts_field(body, "starts_at", starts, diag) || ts_field(body, "ends_at", ends, diag))
		return -EINVAL;
	if (!ends[0])
		return bad(diag, "/ends_at", "a silence needs an end (ends_at)");
	ret = parse_matchers(cJSON_GetObjectItemCaseSensitive(body, "matchers"), &matchers, diag);
	if (ret)
		return ret;
	mtext = cJSON_PrintUnformatted(matchers);
	if (!mtext)
		abort();
	params[0] = mtext;
	params[1] = starts[0] ? starts : NULL;
	params[2] = ends;
	params[3] = author ? author->valuestring : actor;
	params[4] = comment->valuestring;
	params[5] = actor;
	r = PQexec(c, "BEGIN");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		ret = db_error(c, r, "could not begin a transaction");
		goto out;
	}
	PQclear(r);
	/* every regex must compile in PostgreSQL's dialect, which is the one that runs it */
	r = PQexecParams(c,
			 "SELECT count(*) FROM jsonb_array_elements($1::jsonb) m "
			 "WHERE CASE WHEN (m->>'isRegex')::boolean "
			 "THEN '' ~ ('^(?:' || (m->>'value') || ')$') ELSE false END",
			 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);

		if (st && !strcmp(st, "2201B"))
			ret = bad(diag, "/matchers", "a regex matcher does not compile");
		else
			ret = db_error(c, r, "could not check matchers");
		goto out;
	}
	PQclear(r);
	r = PQexecParams(
		c,
		"INSERT INTO silences AS s (matchers, starts_at, ends_at, author, comment, "
		"created_by) SELECT $1::jsonb, coalesce($2::timestamptz, now()), "
		"$3::timestamptz, $4, $5, $6 WHERE $3::timestamptz > coalesce($2::timestamptz, "
		"now()) AND $3::timestamptz > now() RETURNING s.id, (" SILENCE_JSON ")::text",
		6, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = db_error(c, r, "could not store a silence");
		goto out;
	}
	if (PQntuples(r) == 0) {
		ret = bad(diag, "/ends_at", "ends_at must be in the future and after starts_at");
		goto out;
	}
	*out = cJSON_Parse(PQgetvalue(r, 0, 1));
	if (!*out) {
		ret = -EIO;
		goto out;
	}
	detail = cJSON_Duplicate(*out, 1);
	snprintf(target, sizeof(target), "silence/%s", PQgetvalue(r, 0, 0));
	ret = mon_audit_append(c, actor, "silence.create", target, remote, "ok", detail);
	if (ret)
		goto out;
	PQclear(r);
	r = PQexec(c, "COMMIT");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		ret = db_error(c, r, "could not commit a silence");
out:
	PQclear(r);
	if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
	if (ret) {
		cJSON_Delete(*out);
		*out = NULL;
	}
	cJSON_Delete(detail);
	cJSON_Delete(matchers);
	cJSON_free(mtext);
	return ret;
}

int mon_silence_list(PGconn *c, const char *state, cJSON **out)
{
	const char *params[1] = {state};
	PGresult *r;
	int ret = 0;

	*out = NULL;
	r = PQexecParams(c,
			 "SELECT coalesce(jsonb_agg(x.j ORDER BY x.id DESC), '[]')::text FROM "
			 "(SELECT s.id, " SILENCE_JSON
			 " AS j FROM silences s WHERE $1::text IS NULL "
			 "OR " SILENCE_STATE " = $1 ORDER BY s.id DESC LIMIT 500) x",
			 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		ret = db_error(c, r, "could not list silences");
	else if (!(*out = cJSON_Parse(PQgetvalue(r, 0, 0))))
		ret = -EIO;
	PQclear(r);
	return ret;
}

int mon_silence_delete(PGconn *c, int64_t id, const char *actor, const char *remote)
{
	char id_s[24], target[40];
	const char *params[2] = {id_s, actor};
	cJSON *detail = NULL;
	PGresult *r;
	int ret = 0;

	snprintf(id_s, sizeof(id_s), "%" PRId64, id);
	r = PQexec(c, "BEGIN");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		ret = db_error(c, r, "could not begin a transaction");
		goto out;
	}
	PQclear(r);
	r = PQexecParams(
		c,
		"UPDATE silences SET deleted_at = now(), deleted_by = $2 WHERE id = $1::int8 "
		"AND deleted_at IS NULL RETURNING matchers::text, comment",
		2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = db_error(c, r, "could not delete a silence");
		goto out;
	}
	if (PQntuples(r) == 0) {
		ret = -ENOENT;
		goto out;
	}
	detail = cJSON_CreateObject();
	cJSON_AddItemToObject(detail, "matchers", cJSON_Parse(PQgetvalue(r, 0, 0)));
	cJSON_AddStringToObject(detail, "comment", PQgetvalue(r, 0, 1));
	snprintf(target, sizeof(target), "silence/%s", id_s);
	ret = mon_audit_append(c, actor, "silence.delete", target, remote, "ok", detail);
	if (ret)
		goto out;
	PQclear(r);
	r = PQexec(c, "COMMIT");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		ret = db_error(c, r, "could not commit a silence");
out:
	PQclear(r);
	if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
	cJSON_Delete(detail);
	return ret;
}
