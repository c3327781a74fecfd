/* SPDX-License-Identifier: MIT
 * monitor/routes_ingest.c - HTTP handlers that take in predictions, labels and references
 *
 * Every ingest request runs the same course: pick the format from the media type, borrow a
 * connection, find the model's schema (cached), parse and validate the whole body against
 * it (collectors/batch.c: pure, no database), then hand the good records to the store,
 * which answers only after COMMIT. The body is parsed while the connection is held: the
 * pool is larger than the worker count, and a schema miss needs the connection anyway.
 */
#include "config.h"

#include "monitor/routes_ingest.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "collectors/batch.h"
#include "monitor/audit.h"
#include "monitor/log.h"
#include "monitor/metrics.h"
#include "monitor/server.h"
#include "monitor/store_ingest.h"
#include "monitor/store_models.h"

#define LOG_PREFIX "ingest: "
#define PROBLEM_BASE "https://vigil.invalid/problems/"
#define ANALYZE_MIN_ROWS 10000 /* mon_ingest_analyze_task: a table is stale after this many */
#define ANALYZE_FRACTION 0.1   /* ... and this share of its rows changed */

static void store_failed(struct mon_http_req *req, struct mon_http_resp *resp, int ret,
			 const char *what)
{
	if (ret == -EAGAIN || ret == -ETIMEDOUT) {
		mon_http_problem(resp, 503, "unavailable", NULL,
				 "the database is unavailable; retry later");
		resp->retry_after = (int)mon_server_cfg(req->srv)->retry_after_s;
		return;
	}
	if (ret == -ENOENT) {
		mon_http_problem(resp, 404, "not-found", NULL, "no such model");
		return;
	}
	mon_http_problem(resp, mon_http_status_for(ret), NULL, NULL, "%s", what);
}

/* ?atomic=true|false|1|0, else dflt. Returns 0, or -EINVAL with resp filled. */
static int atomic_param(struct mon_http_req *req, struct mon_http_resp *resp, int dflt, int *atomic)
{
	const char *a = mon_http_query(req, "atomic");

	*atomic = dflt;
	if (!a)
		return 0;
	if (!strcmp(a, "true") || !strcmp(a, "1")) {
		*atomic = 1;
	} else if (!strcmp(a, "false") || !strcmp(a, "0")) {
		*atomic = 0;
	} else {
		mon_http_problem(resp, 400, "invalid-parameter", NULL,
				 "atomic must be true or false");
		return -EINVAL;
	}
	return 0;
}

/* The members every ingest answer has. */
static void add_outcome(cJSON *doc, const struct col_batch *b, size_t accepted)
{
	cJSON *conf, *rej;

	cJSON_AddNumberToObject(doc, "accepted", (double)accepted);
	cJSON_AddNumberToObject(doc, "duplicates", (double)b->ndup);
	conf = cJSON_AddArrayToObject(doc, "conflicts");
	for (size_t i = 0; i < b->nrec; i++) {
		cJSON *o;

		if (b->rec[i].state != COL_REC_CONFLICT)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "index", (double)b->rec[i].index);
		cJSON_AddStringToObject(o, "id", b->rec[i].id);
		cJSON_AddItemToArray(conf, o);
	}
	rej = cJSON_AddArrayToObject(doc, "rejected");
	for (size_t i = 0; i < b->nerr; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "index", (double)b->err[i].index);
		cJSON_AddStringToObject(o, "field", b->err[i].field);
		cJSON_AddStringToObject(o, "error", b->err[i].msg);
		cJSON_AddItemToArray(rej, o);
	}
}

/* 422 for an atomic batch that had a rejected record or a conflict: nothing was stored. */
static void atomic_rejected(struct mon_http_resp *resp, const struct col_batch *b)
{
	cJSON *doc = cJSON_CreateObject();
	char pointer[256] = "";
	size_t first_conflict = b->nrec;

	for (size_t i = 0; i < b->nrec && first_conflict == b->nrec; i++)
		if (b->rec[i].state == COL_REC_CONFLICT)
			first_conflict = i;
	if (b->nerr)
		snprintf(pointer, sizeof(pointer), "/%zu%s", b->err[0].index, b->err[0].field);
	else if (first_conflict < b->nrec)
		snprintf(pointer, sizeof(pointer), "/%zu/%s", b->rec[first_conflict].index,
			 b->kind == COL_BATCH_LABELS ? "prediction_id" : "id");
	cJSON_AddStringToObject(doc, "type", PROBLEM_BASE "batch-rejected");
	cJSON_AddStringToObject(doc, "title", "Unprocessable Content");
	cJSON_AddNumberToObject(doc, "status", 422);
	if (b->nerr)
		cJSON_AddStringToObject(
			doc, "detail",
			"a record was rejected and the batch is atomic: nothing was stored");
	else
		cJSON_AddStringToObject(
			doc, "detail",
			"an id is stored with other content and the batch is atomic: "
			"nothing was stored");
	cJSON_AddStringToObject(doc, "pointer", pointer);
	add_outcome(doc, b, 0);
	mon_http_json(resp, 422, doc);
	resp->content_type = "application/problem+json";
}

/* Parse the body as a batch of kind for model m. Returns 0 with *out; otherwise resp is
 * filled (400, 413, 415). */
static int parse_body(struct mon_http_req *req, struct mon_http_resp *resp,
		      const struct mon_model *m, enum col_batch_kind kind, struct col_batch **out)
{
	const struct mon_cfg *cfg = mon_server_cfg(req->srv);
	struct col_batch_limits lim;
	enum col_format fmt;
	struct col_diag diag;
	int ret;

	if (col_batch_format(req->content_type, &fmt)) {
		mon_http_problem(resp, 415, "unsupported-media-type", NULL,
				 "the body must be application/json, application/x-ndjson or "
				 "text/csv, not \"%.64s\"",
				 req->content_type);
		return -EINVAL;
	}
	col_batch_limits_default(&lim);
	lim.max_records = cfg->max_batch_records;
	lim.max_depth = cfg->max_json_depth;
	ret = col_batch_parse(m->schema, kind, fmt, req->body, req->body_len, &lim, out, &diag);
	if (ret == -E2BIG)
		mon_http_problem(resp, 413, "too-many-records", NULL, "%s", diag.msg);
	else if (ret)
		mon_http_problem(resp, 400, "invalid-batch", diag.pointer, "%s", diag.msg);
	return ret;
}

static void count(struct mon_http_req *req, const struct mon_model *m, const char *kind,
		  size_t accepted, size_t rejected)
{
	if (req->srv && req->srv->metrics)
		mon_metrics_add_ingested(req->srv->metrics, m->schema->name, kind, accepted,
					 rejected);
}

static void ingest(struct mon_http_req *req, struct mon_http_resp *resp, enum col_batch_kind kind)
{
	const char *what = kind == COL_BATCH_LABELS ? "label" : "prediction";
	struct mon_ingest_result res;
	struct col_batch *b = NULL;
	struct mon_model *m = NULL;
	enum col_format fmt;
	PGconn *c = NULL;
	cJSON *doc;
	int atomic, ret, failed = 0;

	if (col_batch_format(req->content_type, &fmt)) {
		mon_http_problem(resp, 415, "unsupported-media-type", NULL,
				 "the body must be application/json, application/x-ndjson or "
				 "text/csv, not \"%.64s\"",
				 req->content_type);
		return;
	}
	if (atomic_param(req, resp, 0, &atomic))
		return;
	if (mon_server_db_get(req, resp, &c))
		return;
	ret = mon_store_model_acquire(c, req->params[0], &m);
	if (ret) {
		failed = ret == -EAGAIN || ret == -EIO;
		store_failed(req, resp, ret, "could not read the model");
		goto out;
	}
	if (parse_body(req, resp, m, kind, &b))
		goto out;
	if (atomic && (b->nerr || b->nconflict)) {
		count(req, m, what, 0, b->nseen);
		atomic_rejected(resp, b);
		goto out;
	}
	if (kind == COL_BATCH_LABELS)
		ret = mon_store_insert_labels(c, m->id, b, atomic, &res);
	else
		ret = mon_store_insert_predictions(c, m->id, b, atomic, &res);
	if (ret == -EEXIST) {
		count(req, m, what, 0, b->nseen);
		atomic_rejected(resp, b);
		goto out;
	}
	if (ret == -ENOENT) /* deleted since we cached it */
		mon_store_model_forget(m->schema->name);
	if (ret) {
		failed = ret == -EAGAIN || ret == -EIO;
		store_failed(req, resp, ret,
			     kind == COL_BATCH_LABELS ? "could not store the labels"
						      : "could not store the predictions");
		goto out;
	}
	count(req, m, what, res.accepted, b->nerr + res.conflicts);
	doc = cJSON_CreateObject();
	add_outcome(doc, b, res.accepted);
	if (kind == COL_BATCH_LABELS)
		cJSON_AddNumberToObject(doc, "unmatched", (double)res.unmatched);
	mon_http_json(resp, 200, doc);
out:
	if (c)
		mon_server_db_put(req, c, failed);
	mon_store_model_release(m);
	col_batch_free(b);
}

void mon_api_predictions_post(struct mon_http_req *req, struct mon_http_resp *resp)
{
	ingest(req, resp, COL_BATCH_PREDICTIONS);
}

void mon_api_labels_post(struct mon_http_req *req, struct mon_http_resp *resp)
{
	ingest(req, resp, COL_BATCH_LABELS);
}

/* --- references ---------------------------------------------------------------------------- */

/* 1 when the body is a JSON object (a range) rather than a batch. */
static int is_range(const struct mon_http_req *req)
{
	size_t i = 0;

	if (strcmp(req->content_type, "application/json"))
		return 0;
	while (i < req->body_len && strchr(" \t\r\n", req->body[i]) && req->body[i])
		i++;
	return i < req->body_len && req->body[i] == '{';
}

/* Read {"from", "to"}. Returns 0, or -EINVAL with resp filled. */
static int range_of(struct mon_http_req *req, struct mon_http_resp *resp, int64_t *from,
		    int64_t *to)
{
	static const char *const keys[] = {"from", "to"};
	int64_t *out[2] = {from, to};
	cJSON *j = NULL;
	size_t bad;
	int ret = -EINVAL;

	if (col_utf8_check(req->body, req->body_len, &bad)) {
		mon_http_problem(resp, 400, "invalid-utf8", "", "invalid UTF-8 at byte %zu", bad);
		return -EINVAL;
	}
	if (mon_http_body_json(req, resp, &j))
		return -EINVAL;
	for (const cJSON *k = j->child; k; k = k->next) {
		if (strcmp(k->string, "from") && strcmp(k->string, "to")) {
			char ptr[160];

			snprintf(ptr, sizeof(ptr), "/%.150s", k->string);
			mon_http_problem(resp, 422, "invalid-field", ptr,
					 "unknown field (a range has only from and to)");
			goto out;
		}
	}
	for (int i = 0; i < 2; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
		char ptr[8];

		snprintf(ptr, sizeof(ptr), "/%s", keys[i]);
		if (!cJSON_IsString(v) ||
		    col_ts_parse(v->valuestring, strlen(v->valuestring), out[i])) {
			mon_http_problem(resp, 422, "invalid-field", ptr,
					 v ? "expected an RFC 3339 date-time"
					   : "required field missing");
			goto out;
		}
	}
	if (*from >= *to) {
		mon_http_problem(resp, 422, "invalid-field", "/to", "to must be after from");
		goto out;
	}
	if (*from < 0) {
		mon_http_problem(resp, 422, "invalid-field", "/from",
				 "before 1970-01-01T00:00:00Z");
		goto out;
	}
	ret = 0;
out:
	cJSON_Delete(j);
	return ret;
}

static void audit_reference(PGconn *c, struct mon_http_req *req, const struct mon_model *m,
			    const cJSON *ref)
{
	cJSON *detail = cJSON_CreateObject();

	cJSON_AddItemToObject(detail, "id",
			      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(ref, "id"), 1));
	cJSON_AddItemToObject(detail, "kind",
			      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(ref, "kind"), 1));
	cJSON_AddItemToObject(detail, "rows",
			      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(ref, "rows"), 1));
	if (mon_audit_request(c, req, "reference.create", m->schema->name, "created", detail))
		log_warn(LOG_PREFIX "could not audit a reference of \"%s\"", m->schema->name);
	cJSON_Delete(detail);
}

void mon_api_references_post(struct mon_http_req *req, struct mon_http_resp *resp)
{
	struct col_batch *b = NULL;
	struct mon_model *m = NULL;
	int64_t from = 0, to = 0;
	cJSON *ref = NULL, *doc;
	PGconn *c = NULL;
	int range = is_range(req), atomic = 1, ret, failed = 0;

	if (range ? range_of(req, resp, &from, &to) : atomic_param(req, resp, 1, &atomic))
		return;
	if (mon_server_db_get(req, resp, &c))
		return;
	ret = mon_store_model_acquire(c, req->params[0], &m);
	if (ret) {
		failed = ret == -EAGAIN || ret == -EIO;
		store_failed(req, resp, ret, "could not read the model");
		goto out;
	}
	if (range) {
		ret = mon_store_reference_range(c, m->id, from, to, req->who.name, &ref);
	} else {
		if (parse_body(req, resp, m, COL_BATCH_REFERENCE, &b))
			goto out;
		if (atomic && (b->nerr || b->nconflict)) {
			atomic_rejected(resp, b);
			goto out;
		}
		ret = mon_store_reference_upload(c, m->id, b, atomic, req->who.name, &ref);
	}
	if (ret == -ENODATA) {
		mon_http_problem(resp, 422, "no-data", range ? "/from" : "",
				 range ? "no stored prediction lies between from and to"
				       : "the upload holds no row to store");
		goto out;
	}
	if (ret == -EEXIST) {
		atomic_rejected(resp, b);
		goto out;
	}
	if (ret) {
		failed = ret == -EAGAIN || ret == -EIO;
		store_failed(req, resp, ret, "could not create the reference");
		goto out;
	}
	audit_reference(c, req, m, ref);
	doc = cJSON_CreateObject();
	cJSON_AddItemToObject(doc, "reference", ref);
	if (b) {
		add_outcome(doc, b,
			    (size_t)cJSON_GetNumberValue(
				    cJSON_GetObjectItemCaseSensitive(ref, "rows")));
		count(req, m, "reference", b->nrec - b->ndup - b->nconflict,
		      b->nerr + b->nconflict);
	}
	ref = NULL;
	mon_http_json(resp, 201, doc);
out:
	cJSON_Delete(ref);
	if (c)
		mon_server_db_put(req, c, failed);
	mon_store_model_release(m);
	col_batch_free(b);
}

void mon_api_references_list(struct mon_http_req *req, struct mon_http_resp *resp)
{
	struct mon_model *m = NULL;
	cJSON *list = NULL, *doc;
	PGconn *c = NULL;
	int ret;

	if (mon_server_db_get(req, resp, &c))
		return;
	ret = mon_store_model_acquire(c, req->params[0], &m);
	if (!ret)
		ret = mon_store_references_list(c, m->id, &list);
	mon_server_db_put(req, c, ret == -EAGAIN || ret == -EIO);
	mon_store_model_release(m);
	if (ret) {
		store_failed(req, resp, ret, "could not list references");
		return;
	}
	doc = cJSON_CreateObject();
	cJSON_AddItemToObject(doc, "references", list);
	mon_http_json(resp, 200, doc);
}

/* --- maintenance ------------------------------------------------------------------------------ */

int mon_ingest_partitions_task(struct mon_server *srv)
{
	struct timespec now;
	int64_t us, y, days;
	unsigned m, d;
	PGconn *c;
	int ret;

	clock_gettime(CLOCK_REALTIME, &now);
	us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
	col_civil_from_days(us / 86400000000, &y, &m, &d);
	m += 2;
	if (m > 12) {
		m -= 12;
		y++;
	}
	days = col_days_from_civil(y, m, 1);
	ret = mon_db_acquire(srv->db, 5000, &c);
	if (ret)
		return ret;
	ret = mon_store_partitions_ensure(c, us, days * 86400000000, 1);
	mon_db_release(srv->db, c, ret == -EAGAIN || ret == -EIO);
	return ret;
}

int mon_ingest_analyze_task(struct mon_server *srv)
{
	PGconn *c;
	int ret = mon_db_acquire(srv->db, 5000, &c);

	if (ret)
		return ret;
	ret = mon_store_analyze_stale(c, ANALYZE_MIN_ROWS, ANALYZE_FRACTION, NULL);
	mon_db_release(srv->db, c, ret == -EAGAIN || ret == -EIO);
	return ret;
}
