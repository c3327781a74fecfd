/* SPDX-License-Identifier: MIT
 * monitor/routes_analysis.c - drift, performance and estimates computed from stored data
 *
 * Each handler runs the same course (on an analysis worker: monitor/http.h): borrow a
 * connection, check the query, find the model (cached schema); then open a read-only
 * REPEATABLE READ transaction whose first statement sets statement_timeout and reads the
 * model's data version (sql/0006_data_version.sql), so the version and every row read
 * after it come from one snapshot. The cache key is (route, model id, the parsed and
 * normalised parameters, max_window_rows, version) (monitor/analysis_cache.h):
 *   hit     the kept answer is sent;
 *   wait    an identical request is computing it: this one gives back its connection and
 *           parks (mon_http_defer) until the leader's answer wakes it (waited());
 *   lead    find the reference where needed, load the rows as column arrays
 *           (monitor/store_window.c), end the snapshot, hand the rows to the report
 *           builders the offline commands use, then share the answer with the waiters and
 *           keep it if it is a 200.
 * Every request, whichever way it was answered, records its read in the audit log before
 * answering (the detail of a cached or shared answer is the computing request's, with
 * "cache": "hit" or "shared"). The connection is held through the computation: the pool is
 * larger than the worker count, and the audit needs it at the end. Parameter errors are
 * answered after the connection is borrowed so that they are audited too.
 *
 * What is shared with waiters: the 200 answer and the refusals that follow from the data
 * (413, 404/409 for the reference, a statement timeout, a failed computation). Not shared:
 * the database being unavailable (each waiter then tries on its own).
 */
#include "config.h"

#include "monitor/routes_analysis.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/analysis_cache.h"
#include "monitor/audit.h"
#include "monitor/db.h"
#include "monitor/drift_report.h"
#include "monitor/log.h"
#include "monitor/perf_report.h"
#include "monitor/server.h"
#include "monitor/store_models.h"
#include "monitor/store_window.h"
#include "stats/isotonic.h"

#define LOG_PREFIX "analysis: "
#define PROBLEM_BASE "https://vigil.invalid/problems/"
#define KEY_MAX 512

/* One analysis request from start to answer. */
struct ctx {
	struct mon_http_req *req;
	struct mon_http_resp *resp;
	const char *action; /* audit action */
	PGconn *c;
	int failed; /* the connection failed: mon_server_db_put resets it */
	struct mon_model *m;
	int64_t from, to;
	char from_s[COL_TS_BUF], to_s[COL_TS_BUF];
	size_t max_rows;
	const char *outcome; /* of a failed request, for the audit; NULL: do not audit */
	cJSON *detail;       /* audit detail */
	struct mon_window_dicts dicts;
	int have_dicts;
	double t_start, t_load; /* mon_now() at the start; seconds spent loading rows */
	size_t rows_loaded;
	mon_http_handler_fn fn; /* this route's handler, to run a parked request again */
	char key[KEY_MAX];      /* the cache key without the version, then with it */
	size_t keylen;
	int in_tx;                        /* the snapshot's transaction is open */
	unsigned timeout_s;               /* analysis_statement_timeout_s for this request */
	struct mon_acache_flight *flight; /* leading a computation */
	struct mon_acache_val *hit;       /* answering from the cache */
	int parked;                       /* waiting for another request's computation */
};

static void ctx_init(struct ctx *x, struct mon_http_req *req, struct mon_http_resp *resp,
		     const char *action, mon_http_handler_fn fn)
{
	const struct mon_cfg *cfg = mon_server_cfg(req->srv);

	memset(x, 0, sizeof(*x));
	x->req = req;
	x->resp = resp;
	x->action = action;
	x->fn = fn;
	x->detail = cJSON_CreateObject();
	x->max_rows = cfg->max_window_rows;
	x->timeout_s = cfg->analysis_statement_timeout_s;
	x->t_start = mon_now();
}

/* Append to the cache key; a key too long for the buffer is marked so that it is never
 * looked up (it cannot be: the parameters are bounded). */
static void __attribute__((format(printf, 2, 3))) key_add(struct ctx *x, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (x->keylen >= sizeof(x->key))
		return;
	va_start(ap, fmt);
	n = vsnprintf(x->key + x->keylen, sizeof(x->key) - x->keylen, fmt, ap);
	va_end(ap);
	x->keylen = n < 0 ? sizeof(x->key) : x->keylen + (size_t)n;
}

/* --- answers for failures ----------------------------------------------------------------- */

static void __attribute__((format(printf, 3, 4)))
bad_param(struct ctx *x, const char *key, const char *fmt, ...)
{
	char detail[400], ptr[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	snprintf(ptr, sizeof(ptr), "/query/%s", key);
	mon_http_problem(x->resp, 400, "invalid-parameter", ptr, "%s", detail);
	x->outcome = "invalid";
	cJSON_AddStringToObject(x->detail, "parameter", key);
}

/* A store call failed with ret: 503 (database away), 500 otherwise. */
static void store_failed(struct ctx *x, int ret, const char *what)
{
	if (ret == -EAGAIN || ret == -ETIMEDOUT) {
		mon_http_problem(x->resp, 503, "unavailable", NULL,
				 "the database is unavailable; retry later");
		x->resp->retry_after = (int)mon_server_cfg(x->req->srv)->retry_after_s;
		x->failed = 1;
		x->outcome = NULL; /* it could not be recorded either */
		return;
	}
	x->failed = ret == -EIO;
	x->outcome = "error";
	mon_http_problem(x->resp, mon_http_status_for(ret), NULL, NULL, "%s", what);
}

/* A load failed with ret: -ETIMEDOUT is a statement cancelled by statement_timeout
 * (monitor/store_window.c maps SQLSTATE 57014 to it). */
static void load_failed(struct ctx *x, int ret, const char *what)
{
	if (ret == -ETIMEDOUT) {
		mon_http_problem(x->resp, mon_http_status_for(-ETIMEDOUT), "analysis-timeout", NULL,
				 "the database query took longer than analysis_statement_timeout_s "
				 "(%u s) and was cancelled: narrow the window (from, to), or retry "
				 "when the server is less busy",
				 x->timeout_s);
		x->resp->retry_after = (int)mon_server_cfg(x->req->srv)->retry_after_s;
		x->outcome = "timeout";
		x->failed = 0;
		return;
	}
	store_failed(x, ret, what);
}

/* 413 with the limit as a member. */
static void too_large(struct ctx *x, const char *pointer, const char *what)
{
	cJSON *doc = cJSON_CreateObject();
	char detail[300];

	snprintf(detail, sizeof(detail), "%s holds more than max_window_rows = %zu predictions; %s",
		 what, x->max_rows,
		 pointer ? "narrow the window (from, to)" : "name a smaller reference");
	cJSON_AddStringToObject(doc, "type", PROBLEM_BASE "window-too-large");
	cJSON_AddStringToObject(doc, "title", "Content Too Large");
	cJSON_AddNumberToObject(doc, "status", 413);
	cJSON_AddStringToObject(doc, "detail", detail);
	if (pointer)
		cJSON_AddStringToObject(doc, "pointer", pointer);
	cJSON_AddNumberToObject(doc, "limit", (double)x->max_rows);
	mon_http_json(x->resp, 413, doc);
	x->resp->content_type = "application/problem+json";
	x->outcome = "too_large";
}

/* --- query parameters --------------------------------------------------------------------- */

static int q_time(struct ctx *x, const char *key, int64_t *out, char *canon)
{
	const char *s = mon_http_query(x->req, key);

	if (!s) {
		bad_param(x, key, "%s is required (an RFC 3339 date-time)", key);
		return -EINVAL;
	}
	if (col_ts_parse(s, strlen(s), out) || *out < 0) {
		bad_param(x, key,
			  "%s must be an RFC 3339 date-time from 1970 on, such as "
			  "2026-01-01T00:00:00Z",
			  key);
		return -EINVAL;
	}
	col_ts_format(*out, 0, canon);
	return 0;
}

static int q_bool(struct ctx *x, const char *key, int *out)
{
	const char *s = mon_http_query(x->req, key);

	if (!s)
		return 0;
	if (!strcmp(s, "true") || !strcmp(s, "1")) {
		*out = 1;
	} else if (!strcmp(s, "false") || !strcmp(s, "0")) {
		*out = 0;
	} else {
		bad_param(x, key, "%s must be true or false", key);
		return -EINVAL;
	}
	return 0;
}

static int q_uint(struct ctx *x, const char *key, unsigned long long lo, unsigned long long hi,
		  unsigned long long *out)
{
	const char *s = mon_http_query(x->req, key);
	unsigned long long v;
	char *end;

	if (!s)
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s < '0' || *s > '9' || v < lo || v > hi) {
		bad_param(x, key, "%s must be a whole number in [%llu, %llu]", key, lo, hi);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int q_size(struct ctx *x, const char *key, unsigned long long lo, unsigned long long hi,
		  size_t *out)
{
	unsigned long long v = *out;

	if (q_uint(x, key, lo, hi, &v))
		return -EINVAL;
	*out = (size_t)v;
	return 0;
}

static int q_double(struct ctx *x, const char *key, double lo, double hi, double *out)
{
	const char *s = mon_http_query(x->req, key);
	char *end;
	double v;

	if (!s)
		return 0;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
		bad_param(x, key, "%s must be a number in [%g, %g]", key, lo, hi);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* The index of segment attribute name[0..len) of the model, or -1 with resp filled. */
static long segment_index(struct ctx *x, const char *key, const char *name, size_t len)
{
	const struct col_schema *s = x->m->schema;
	int is_seg = 0;
	long i = col_schema_find(s, name, len, &is_seg);

	if (i >= 0 && is_seg)
		return i;
	if (i >= 0)
		bad_param(x, key, "\"%.*s\" is a feature of model %s, not a segment attribute",
			  (int)len, name, s->name);
	else if (s->nseg == 0)
		bad_param(x, key, "\"%.*s\" is not a segment attribute: model %s has none",
			  len > 64 ? 64 : (int)len, name, s->name);
	else
		bad_param(x, key,
			  "\"%.*s\" is not a segment attribute of model %s (it has %zu, the "
			  "first \"%s\")",
			  len > 64 ? 64 : (int)len, name, s->name, s->nseg, s->seg[0]);
	return -1;
}

/* ?by=a,b: segment indexes into by[] (room for COL_SEGMENTS_MAX); empty items skipped as
 * `vigil perf --by` skips them. Returns 0 or -EINVAL with resp filled. */
static int q_by(struct ctx *x, size_t *by, size_t *nby)
{
	const char *s = mon_http_query(x->req, "by");
	cJSON *names;

	*nby = 0;
	if (!s)
		return 0;
	names = cJSON_AddArrayToObject(x->detail, "by");
	for (const char *p = s;;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len) {
			long i = segment_index(x, "by", p, len);

			if (i < 0)
				return -EINVAL;
			for (size_t k = 0; k < *nby; k++) {
				if (by[k] == (size_t)i) {
					bad_param(x, "by", "by names \"%.*s\" twice", (int)len, p);
					return -EINVAL;
				}
			}
			by[(*nby)++] = (size_t)i;
			cJSON_AddItemToArray(names, cJSON_CreateString(x->m->schema->seg[i]));
		}
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

/* ?reference=ID: 0 when absent. */
static int q_reference(struct ctx *x, int64_t *id)
{
	unsigned long long v = 0;

	if (q_uint(x, "reference", 1, INT64_MAX, &v))
		return -EINVAL;
	*id = (int64_t)v;
	return 0;
}

/* --- the common course -------------------------------------------------------------------- */

/* Borrow a connection, read from and to, find the model; the key starts with the route,
 * the model's id and the window. Returns 0 or -1 (resp filled). */
static int begin(struct ctx *x)
{
	int ret;

	if (mon_server_db_get(x->req, x->resp, &x->c)) {
		x->c = NULL;
		return -1;
	}
	if (q_time(x, "from", &x->from, x->from_s) || q_time(x, "to", &x->to, x->to_s))
		return -1;
	if (x->from >= x->to) {
		bad_param(x, "to", "to (%s) must be after from (%s)", x->to_s, x->from_s);
		return -1;
	}
	cJSON_AddStringToObject(x->detail, "from", x->from_s);
	cJSON_AddStringToObject(x->detail, "to", x->to_s);
	ret = mon_store_model_acquire(x->c, x->req->params[0], &x->m);
	if (ret == -ENOENT) {
		mon_http_problem(x->resp, 404, "not-found", NULL, "no such model");
		x->outcome = "not_found";
		return -1;
	}
	if (ret) {
		store_failed(x, ret, "could not read the model");
		return -1;
	}
	mon_store_window_dicts_init(&x->dicts, x->m->schema);
	x->have_dicts = 1;
	key_add(x, "%s|%" PRId64 "|%s|%s", x->action, x->m->id, x->from_s, x->to_s);
	return 0;
}

/* The segment attribute indexes of ?by= in the key, in their order (it orders the answer). */
static void key_by(struct ctx *x, const size_t *by, size_t nby)
{
	key_add(x, "|by=");
	for (size_t i = 0; i < nby; i++)
		key_add(x, "%s%zu", i ? "," : "", by[i]);
}

/* The reference: id, or the active one with id 0. Returns 0 or -1 (resp filled). */
static int reference(struct ctx *x, int64_t id, struct mon_window_ref *ref)
{
	int ret = mon_store_window_reference(x->c, x->m->id, id, ref);

	if (ret == -ENOENT && id) {
		mon_http_problem(x->resp, 404, "not-found", "/query/reference",
				 "model %s has no reference %lld", x->m->schema->name,
				 (long long)id);
		x->outcome = "not_found";
		return -1;
	}
	if (ret == -ENOENT) {
		mon_http_problem(x->resp, 409, "no-reference", NULL,
				 "model %s has no active reference: upload one (POST "
				 "/v1/models/%s/references) or name one with ?reference=ID",
				 x->m->schema->name, x->m->schema->name);
		x->outcome = "no_reference";
		return -1;
	}
	if (ret) {
		store_failed(x, ret, "could not read the reference");
		return -1;
	}
	cJSON_AddNumberToObject(x->detail, "reference_id", (double)ref->id);
	return 0;
}

static int load_reference(struct ctx *x, const struct mon_window_ref *ref, unsigned flags,
			  struct mon_window **out)
{
	double t0 = mon_now();
	int ret = mon_store_window_load_reference(x->c, x->m->schema, x->m->id, ref, x->max_rows,
						  flags, &x->dicts, out);

	x->t_load += mon_now() - t0;
	if (ret == -E2BIG) {
		too_large(x, NULL, "the reference");
		return -1;
	}
	if (ret) {
		load_failed(x, ret, "could not read the reference");
		return -1;
	}
	x->rows_loaded += (*out)->n;
	cJSON_AddNumberToObject(x->detail, "reference_rows", (double)(*out)->n);
	return 0;
}

static int load_window(struct ctx *x, unsigned flags, struct mon_window **out)
{
	double t0 = mon_now();
	int ret = mon_store_window_load(x->c, x->m->schema, x->m->id, x->from, x->to, x->max_rows,
					flags, &x->dicts, out);

	x->t_load += mon_now() - t0;
	if (ret == -E2BIG) {
		too_large(x, "/query/from", "the window");
		return -1;
	}
	if (ret) {
		load_failed(x, ret, "could not read the predictions");
		return -1;
	}
	x->rows_loaded += (*out)->n;
	cJSON_AddNumberToObject(x->detail, "rows", (double)(*out)->n);
	return 0;
}

/* The answer's first members. */
static cJSON *answer(const struct ctx *x)
{
	cJSON *doc = cJSON_CreateObject();

	cJSON_AddStringToObject(doc, "model", x->m->schema->name);
	cJSON_AddStringToObject(doc, "from", x->from_s);
	cJSON_AddStringToObject(doc, "to", x->to_s);
	return doc;
}

/* Move every member of report to the end of doc; report is consumed. */
static void absorb(cJSON *doc, cJSON *report)
{
	while (report->child) {
		cJSON *it = cJSON_DetachItemViaPointer(report, report->child);

		cJSON_AddItemToObject(doc, it->string, it);
	}
	cJSON_Delete(report);
}

/* --- the snapshot and the cache ------------------------------------------------------------ */

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mon_acache *cache;

/* The process's cache, made on first use with the settings then in force (its size is not
 * reloadable). */
static struct mon_acache *cache_get(const struct mon_cfg *cfg)
{
	struct mon_acache *c;

	pthread_mutex_lock(&cache_lock);
	if (!cache)
		cache = mon_acache_new((size_t)cfg->analysis_cache_mb << 20,
				       cfg->analysis_cache_entries);
	c = cache;
	pthread_mutex_unlock(&cache_lock);
	return c;
}

int mon_api_analysis_marks_task(struct mon_server *srv)
{
	PGconn *c;
	PGresult *r;
	int ret = mon_db_acquire(srv->db, 5000, &c);

	if (ret)
		return ret;
	r = PQexecParams(c, "SELECT model_data_marks_fold()", 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = mon_db_unavailable(c, r) ? -EAGAIN : -EIO;
		if (ret == -EIO)
			log_err(LOG_PREFIX "could not fold the data marks: %s",
				PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
					? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
					: PQerrorMessage(c));
	} else if (strcmp(PQgetvalue(r, 0, 0), "0")) {
		log_debug(LOG_PREFIX "folded %s data marks", PQgetvalue(r, 0, 0));
	}
	PQclear(r);
	mon_db_release(srv->db, c, ret != 0);
	return ret;
}

int mon_api_analysis_route(mon_http_handler_fn fn)
{
	return fn == mon_api_drift_get || fn == mon_api_performance_get ||
	       fn == mon_api_estimate_get;
}

/* A statement of the snapshot failed: fill resp. */
static void snapshot_failed(struct ctx *x, const PGresult *r, const char *what)
{
	if (mon_db_unavailable(x->c, r)) {
		store_failed(x, -EAGAIN, what);
		return;
	}
	log_err(LOG_PREFIX "%s: %s", what,
		r && PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
			? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
			: PQerrorMessage(x->c));
	store_failed(x, -EIO, what);
}

/* Open the read-only snapshot: its first statement sets the statement timeout for the
 * transaction and reads the model's data version. Returns 0 or -1 (resp filled). */
static int snapshot_begin(struct ctx *x, long long *version)
{
	char model[24], timeout[24];
	const char *params[2] = {timeout, model};
	PGresult *r = PQexec(x->c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");

	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snapshot_failed(x, r, "could not begin a read-only transaction");
		PQclear(r);
		return -1;
	}
	PQclear(r);
	x->in_tx = 1;
	snprintf(model, sizeof(model), "%" PRId64, x->m->id);
	snprintf(timeout, sizeof(timeout), "%llu", (unsigned long long)x->timeout_s * 1000);
	r = PQexecParams(x->c,
			 "SELECT set_config('statement_timeout', $1, true), "
			 "model_data_version($2::int8)",
			 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		snapshot_failed(x, r, "could not read the model's data version");
		PQclear(r);
		return -1;
	}
	*version = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	return 0;
}

/* End the snapshot, if open (also after a failed statement). */
static void snapshot_end(struct ctx *x)
{
	if (!x->in_tx)
		return;
	x->in_tx = 0;
	if (x->c && PQstatus(x->c) == CONNECTION_OK && PQtransactionStatus(x->c) != PQTRANS_IDLE) {
		PGresult *r = PQexec(x->c, "ROLLBACK");

		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			x->failed = 1;
		PQclear(r);
	}
}

/* A request parked until an identical one's computation ends. */
struct waiter {
	struct mon_http_req *req;
	mon_http_handler_fn fn; /* the route's handler, when it must run again */
	const char *action;
	char target[COL_NAME_MAX + 1];
	struct mon_acache_val *v; /* set by wake() */
};

static void waiter_free(void *p)
{
	struct waiter *w = p;

	mon_acache_val_unref(w->v);
	free(w);
}

static void wake(void *arg, struct mon_acache_val *v)
{
	struct waiter *w = arg;

	w->v = v;
	mon_http_continue(w->req);
}

/* Record the read of answer v in the audit log through c (detail: v's, plus "cache": how)
 * and put v in resp; a 200 that cannot be recorded is not sent. Returns 1 when c failed. */
static int deliver(struct mon_http_req *req, struct mon_http_resp *resp, PGconn *c,
		   const char *action, const char *target, const struct mon_acache_val *v,
		   const cJSON *detail, const char *how)
{
	cJSON *own = NULL;
	int failed = 0;

	if (!detail) {
		own = v->detail ? cJSON_Parse(v->detail) : NULL;
		if (!own)
			own = cJSON_CreateObject();
		cJSON_AddStringToObject(own, "cache", how);
		detail = own;
	}
	if (v->outcome) {
		int ret = mon_audit_request(c, req, action, target, v->outcome, detail);

		if (ret && v->status == 200) {
			/* no unrecorded read: the data is not sent */
			failed = ret == -EAGAIN || ret == -EIO;
			mon_http_problem(resp, ret == -EAGAIN ? 503 : 500, NULL, NULL,
					 "could not record the read in the audit log");
			if (ret == -EAGAIN)
				resp->retry_after = (int)mon_server_cfg(req->srv)->retry_after_s;
			cJSON_Delete(own);
			return failed;
		}
		if (ret)
			log_warn(LOG_PREFIX "could not record a refused %s in the audit log",
				 action);
	}
	cJSON_Delete(own);
	free(resp->body);
	resp->body = mon_xmalloc(v->len + 1);
	memcpy(resp->body, v->body, v->len);
	resp->body[v->len] = '\0';
	resp->body_len = v->len;
	resp->status = v->status;
	resp->content_type = v->problem ? "application/problem+json" : "application/json";
	resp->retry_after = v->retry_after;
	return failed;
}

/* The continuation of a parked request: answer with the leader's answer, or, when it had
 * none to share, run the whole request again. */
static void waited(struct mon_http_req *req, struct mon_http_resp *resp)
{
	struct waiter *w = req->state;
	PGconn *c = NULL;

	if (!w->v) {
		w->fn(req, resp);
		return;
	}
	if (mon_server_db_get(req, resp, &c))
		return;
	mon_server_db_put(req, c,
			  deliver(req, resp, c, w->action, w->target, w->v, NULL, "shared"));
}

/* After the parameters: open the snapshot and look the answer up. Returns 1 when the
 * request is done with (a hit, parked, or failed; finish() answers), 0 when this request
 * computes the answer (x->flight set). */
static int lookup(struct ctx *x)
{
	const struct mon_cfg *cfg = mon_server_cfg(x->req->srv);
	struct mon_acache *c = cache_get(cfg);
	struct waiter *w;
	long long version;

	if (snapshot_begin(x, &version))
		return 1;
	key_add(x, "|max_rows=%zu|v=%lld", x->max_rows, version);
	if (x->keylen >= sizeof(x->key)) {
		/* cannot happen with bounded parameters; compute without sharing */
		log_warn(LOG_PREFIX "%s: cache key too long; not cached", x->action);
		return 0;
	}
	w = mon_xcalloc(1, sizeof(*w));
	w->req = x->req;
	w->fn = x->fn;
	w->action = x->action;
	snprintf(w->target, sizeof(w->target), "%s", x->m->schema->name);
	switch (mon_acache_begin(c, x->key, wake, w, &x->hit, &x->flight)) {
	case MON_ACACHE_HIT:
		free(w);
		snapshot_end(x);
		mon_metrics_analysis(x->req->srv->metrics, MON_METRICS_ANALYSIS_HIT);
		return 1;
	case MON_ACACHE_WAIT:
		snapshot_end(x);
		mon_metrics_analysis(x->req->srv->metrics, MON_METRICS_ANALYSIS_SHARED);
		/* wake() may run from now on; it only queues the continuation */
		mon_http_defer(x->req, waited, w, waiter_free);
		x->parked = 1;
		return 1;
	case MON_ACACHE_LEAD:
	default:
		free(w);
		mon_metrics_analysis(x->req->srv->metrics, MON_METRICS_ANALYSIS_MISS);
		return 0;
	}
}

/* The answer to share and keep: doc (consumed) as a 200, or the refusal in resp when it
 * follows from the data (x->outcome set). NULL when there is nothing to share. */
static struct mon_acache_val *make_val(struct ctx *x, cJSON *doc)
{
	char *detail = cJSON_PrintUnformatted(x->detail);
	char *body;
	size_t len;

	if (doc) {
		body = cJSON_PrintUnformatted(doc);
		cJSON_Delete(doc);
		if (!body) {
			free(detail);
			return NULL;
		}
		return mon_acache_val_new(200, 0, body, strlen(body), "ok", detail);
	}
	if (!x->outcome || !x->resp->status || !x->resp->body) {
		free(detail);
		return NULL;
	}
	len = x->resp->body_len;
	body = mon_xmalloc(len + 1);
	memcpy(body, x->resp->body, len);
	body[len] = '\0';
	struct mon_acache_val *v = mon_acache_val_new(
		x->resp->status,
		x->resp->content_type && !strcmp(x->resp->content_type, "application/problem+json"),
		body, len, x->outcome, detail);
	v->retry_after = x->resp->retry_after;
	return v;
}

/* Answer: doc (consumed) with 200, or the problem already in resp; record the read in the
 * audit log first (a read that cannot be recorded is not answered). A leader ends its
 * flight here, sharing the answer with its waiters. A parked request answers later
 * (waited()). Releases everything. */
static void finish(struct ctx *x, cJSON *doc)
{
	const char *target = x->m ? x->m->schema->name : x->req->params[0];
	struct mon_acache_val *v = x->hit;
	int from_cache = v != NULL;

	x->hit = NULL;
	snapshot_end(x);
	if (doc)
		log_debug(LOG_PREFIX "%s %s: %zu rows loaded in %.3f s, answer computed in %.3f s",
			  x->action, target, x->rows_loaded, x->t_load,
			  mon_now() - x->t_start - x->t_load);
	if (x->flight || doc) {
		v = make_val(x, doc);
		doc = NULL;
		if (x->flight) {
			struct mon_acache *c = cache_get(mon_server_cfg(x->req->srv));
			size_t entries, bytes;

			mon_acache_end(c, x->flight, v, v && v->status == 200);
			x->flight = NULL;
			mon_acache_usage(c, &entries, &bytes);
			mon_metrics_set_analysis_cache(x->req->srv->metrics, entries, bytes);
		}
		if (!v && !x->resp->status)
			mon_http_problem(x->resp, 500, NULL, NULL, "could not format the answer");
	}
	if (x->parked) {
		/* answered by waited() */
	} else if (x->c && v && !x->failed) {
		/* a hit is recorded with the computing request's detail */
		x->failed = deliver(x->req, x->resp, x->c, x->action, target, v,
				    from_cache ? NULL : x->detail, "hit");
	} else if (x->c && x->outcome && !x->failed) {
		if (mon_audit_request(x->c, x->req, x->action, target, x->outcome, x->detail))
			log_warn(LOG_PREFIX "could not record a refused %s in the audit log",
				 x->action);
	} else if (v && !x->resp->status) {
		/* computed, but the connection failed before the read could be recorded */
		store_failed(x, -EAGAIN, "the database is unavailable");
	}
	if (x->c)
		mon_server_db_put(x->req, x->c, x->failed);
	mon_acache_val_unref(v);
	if (x->have_dicts)
		mon_store_window_dicts_fini(&x->dicts);
	mon_store_model_release(x->m);
	cJSON_Delete(x->detail);
}

/* --- drift ------------------------------------------------------------------------------- */

/* The name the model's output takes among the drift features: "score" unless the schema
 * uses it, then with underscores in front until it is free. */
static void output_name(const struct col_schema *s, char *buf, size_t len)
{
	int is_seg;
	size_t n;

	snprintf(buf, len, "score");
	while ((n = strlen(buf)) + 2 <= len && col_schema_find(s, buf, n, &is_seg) >= 0) {
		memmove(buf + 1, buf, n + 1);
		buf[0] = '_';
	}
}

/* The drift report of reference rows ref vs current rows cur: the features in declaration
 * order, then the output. Returns 0 with *out, or a negative errno. */
static int drift_of(const struct col_schema *s, const char *out_name, const struct mon_window *ref,
		    const struct mon_window *cur, struct col_dict *const *cat_dicts,
		    const struct mon_drift_opts *o, cJSON **out)
{
	struct mon_drift_feature *f = mon_xcalloc(s->nfeat + 1, sizeof(*f));
	int ret;

	for (size_t j = 0; j < s->nfeat; j++) {
		const struct col_feature *cf = &s->feat[j];

		f[j].name = cf->name;
		if (cf->type == COL_CATEGORICAL) {
			f[j].categorical = 1;
			f[j].ref_cat = ref->cat[cf->slot];
			f[j].cur_cat = cur->cat[cf->slot];
			f[j].dict = cat_dicts[cf->slot];
		} else {
			f[j].ref_num = ref->num[cf->slot];
			f[j].cur_num = cur->num[cf->slot];
		}
	}
	f[s->nfeat].name = out_name;
	f[s->nfeat].ref_num = ref->score;
	f[s->nfeat].cur_num = cur->score;
	ret = mon_drift_report(f, s->nfeat + 1, ref->n, cur->n, o, out);
	free(f);
	return ret;
}

/* Give the categorical columns of ref and cur (subsets of rows coded with d) codes of their
 * own into new dictionaries dicts[0..ncat), in first-seen order over ref, then cur: so a
 * subset's report lists its categories as `vigil drift` does on the subset's CSV files. */
static void recode(struct mon_window *ref, struct mon_window *cur, const struct mon_window_dicts *d,
		   struct col_dict **dicts)
{
	struct mon_window *w[2] = {ref, cur};

	for (size_t k = 0; k < d->ncat; k++) {
		size_t nold = col_dict_size(d->cat[k]);
		uint32_t *map = mon_xmalloc((nold ? nold : 1) * sizeof(uint32_t));

		dicts[k] = col_dict_new();
		for (size_t i = 0; i < nold; i++)
			map[i] = COL_MISSING_CODE;
		for (int s = 0; s < 2; s++) {
			uint32_t *codes = w[s]->cat[k];

			for (size_t i = 0; i < w[s]->n; i++) {
				uint32_t c = codes[i];

				if (c == COL_MISSING_CODE)
					continue;
				if (map[c] == COL_MISSING_CODE) {
					const char *name = col_dict_name(d->cat[k], c);

					map[c] = col_dict_intern(dicts[k], name, strlen(name));
				}
				codes[i] = map[c];
			}
		}
		free(map);
	}
}

/* Rows of w grouped by their code of segment attribute k: group g (code g, or ngroups - 1
 * for no value) holds rows[start[g] .. start[g + 1]). */
struct groups {
	size_t ngroups;
	size_t *start; /* ngroups + 1 */
	size_t *rows;  /* w->n */
};

static void group_rows(const struct mon_window *w, size_t k, size_t ncodes, struct groups *g)
{
	const uint32_t *codes = w->seg[k];

	g->ngroups = ncodes + 1;
	g->start = mon_xcalloc(g->ngroups + 1, sizeof(size_t));
	g->rows = mon_xmalloc((w->n ? w->n : 1) * sizeof(size_t));
	for (size_t i = 0; i < w->n; i++)
		g->start[(codes[i] == COL_MISSING_CODE ? ncodes : codes[i]) + 1]++;
	for (size_t j = 0; j < g->ngroups; j++)
		g->start[j + 1] += g->start[j];
	size_t *next = mon_xmalloc(g->ngroups * sizeof(size_t));
	memcpy(next, g->start, g->ngroups * sizeof(size_t));
	for (size_t i = 0; i < w->n; i++)
		g->rows[next[codes[i] == COL_MISSING_CODE ? ncodes : codes[i]]++] = i;
	free(next);
}

static void groups_fini(struct groups *g)
{
	free(g->start);
	free(g->rows);
}

struct value {
	const char *name; /* NULL: no value */
	size_t code;      /* group index */
};

static int cmp_value(const void *a, const void *b)
{
	const struct value *x = a, *y = b;

	if (!x->name || !y->name)
		return !x->name - !y->name; /* no value sorts last */
	return strcmp(x->name, y->name);
}

/* Per value of segment attribute k: the drift of the reference rows with that value vs the
 * window rows with it, into the array segs. */
static int drift_by_segment(const struct col_schema *s, const char *out_name, size_t k,
			    const struct mon_window *ref, const struct mon_window *cur,
			    const struct mon_window_dicts *d, const struct mon_drift_opts *o,
			    cJSON *segs)
{
	size_t ncodes = col_dict_size(d->seg[k]), nv = 0;
	struct groups gr, gc;
	struct value *v;
	int ret = 0;

	group_rows(ref, k, ncodes, &gr);
	group_rows(cur, k, ncodes, &gc);
	v = mon_xmalloc((ncodes + 1) * sizeof(*v));
	for (size_t g = 0; g <= ncodes; g++) {
		if (gr.start[g + 1] == gr.start[g] && gc.start[g + 1] == gc.start[g])
			continue;
		v[nv].name = g < ncodes ? col_dict_name(d->seg[k], (uint32_t)g) : NULL;
		v[nv++].code = g;
	}
	qsort(v, nv, sizeof(*v), cmp_value);
	for (size_t i = 0; i < nv && !ret; i++) {
		size_t g = v[i].code;
		struct mon_window *r = mon_store_window_select(ref, gr.rows + gr.start[g],
							       gr.start[g + 1] - gr.start[g]);
		struct mon_window *c = mon_store_window_select(cur, gc.rows + gc.start[g],
							       gc.start[g + 1] - gc.start[g]);
		struct col_dict **dicts = mon_xcalloc(d->ncat ? d->ncat : 1, sizeof(*dicts));
		cJSON *rep = NULL;

		recode(r, c, d, dicts);
		ret = drift_of(s, out_name, r, c, dicts, o, &rep);
		for (size_t j = 0; j < d->ncat; j++)
			col_dict_free(dicts[j]);
		free(dicts);
		if (!ret) {
			cJSON *e = cJSON_CreateObject();

			if (v[i].name)
				cJSON_AddStringToObject(e, "value", v[i].name);
			else
				cJSON_AddNullToObject(e, "value");
			cJSON_AddItemToObject(e, "report", rep);
			cJSON_AddItemToArray(segs, e);
		}
		mon_store_window_free(r);
		mon_store_window_free(c);
	}
	free(v);
	groups_fini(&gr);
	groups_fini(&gc);
	return ret;
}

void mon_api_drift_get(struct mon_http_req *req, struct mon_http_resp *resp)
{
	struct mon_window *ref = NULL, *cur = NULL;
	struct mon_drift_opts o;
	struct mon_window_ref rref;
	struct ctx x;
	unsigned long long seed;
	const char *segment;
	char out_name[COL_NAME_MAX + 8];
	cJSON *doc = NULL, *rep = NULL;
	int64_t ref_id = 0;
	long seg = -1;
	int ret;

	ctx_init(&x, req, resp, "drift.read", mon_api_drift_get);
	mon_drift_opts_init(&o);
	seed = o.seed;
	if (begin(&x) || q_reference(&x, &ref_id) || q_bool(&x, "mmd", &o.mmd) ||
	    q_size(&x, "permutations", 1, 10000, &o.permutations) ||
	    q_uint(&x, "seed", 0, UINT64_MAX, &seed) || q_double(&x, "alpha", 1e-12, 1, &o.alpha) ||
	    q_size(&x, "mmd_max_rows", 2, 10000, &o.mmd_max_rows))
		goto out;
	o.seed = seed;
	segment = mon_http_query(req, "segment");
	if (segment && (seg = segment_index(&x, "segment", segment, strlen(segment))) < 0)
		goto out;
	if (seg >= 0)
		cJSON_AddStringToObject(x.detail, "segment", x.m->schema->seg[seg]);
	key_add(&x, "|ref=%" PRId64 "|mmd=%d|perm=%zu|seed=%llu|alpha=%a|mmd_rows=%zu|seg=%ld",
		ref_id, o.mmd, o.permutations, seed, o.alpha, o.mmd_max_rows, seg);
	if (lookup(&x))
		goto out;
	/* drift needs no labels */
	if (reference(&x, ref_id, &rref) ||
	    load_reference(&x, &rref, MON_WINDOW_FEATURES | MON_WINDOW_NO_LABELS, &ref) ||
	    load_window(&x, MON_WINDOW_FEATURES | MON_WINDOW_NO_LABELS, &cur))
		goto out;
	snapshot_end(&x);
	output_name(x.m->schema, out_name, sizeof(out_name));
	if ((ret = drift_of(x.m->schema, out_name, ref, cur, x.dicts.cat, &o, &rep)) < 0) {
		store_failed(&x, ret, "could not compute the drift report");
		goto out;
	}
	doc = answer(&x);
	cJSON_AddNumberToObject(doc, "reference_id", (double)rref.id);
	cJSON_AddStringToObject(doc, "output_feature", out_name);
	if (seg < 0) {
		absorb(doc, rep);
		goto out;
	}
	cJSON_AddStringToObject(doc, "segment", x.m->schema->seg[seg]);
	cJSON_AddItemToObject(doc, "overall", rep);
	ret = drift_by_segment(x.m->schema, out_name, (size_t)seg, ref, cur, &x.dicts, &o,
			       cJSON_AddArrayToObject(doc, "segments"));
	if (ret < 0) {
		cJSON_Delete(doc);
		doc = NULL;
		store_failed(&x, ret, "could not compute the drift report");
	}
out:
	mon_store_window_free(ref);
	mon_store_window_free(cur);
	finish(&x, doc);
}

/* --- performance and estimate -------------------------------------------------------------- */

static void attrs_of(const struct ctx *x, const struct mon_window *w, const size_t *by, size_t nby,
		     struct mon_perf_attr *attrs)
{
	for (size_t i = 0; i < nby; i++) {
		attrs[i].name = x->m->schema->seg[by[i]];
		attrs[i].codes = w->seg[by[i]];
		attrs[i].dict = x->dicts.seg[by[i]];
	}
}

void mon_api_performance_get(struct mon_http_req *req, struct mon_http_resp *resp)
{
	struct mon_perf_attr attrs[COL_SEGMENTS_MAX];
	size_t by[COL_SEGMENTS_MAX], nby = 0;
	struct mon_window *w = NULL, *l = NULL;
	struct mon_perf_opts o;
	struct ctx x;
	cJSON *doc = NULL, *rep = NULL;
	int ret;

	ctx_init(&x, req, resp, "performance.read", mon_api_performance_get);
	mon_perf_opts_init(&o);
	if (begin(&x) || q_by(&x, by, &nby) || q_bool(&x, "intersections", &o.intersections) ||
	    q_size(&x, "min_n", 1, 1000000000, &o.min_n))
		goto out;
	key_by(&x, by, nby);
	key_add(&x, "|intersections=%d|min_n=%zu", o.intersections, o.min_n);
	if (lookup(&x))
		goto out;
	o.threshold = x.m->schema->threshold;
	if (load_window(&x, 0, &w))
		goto out;
	snapshot_end(&x);
	l = mon_store_window_labeled(w);
	attrs_of(&x, l, by, nby, attrs);
	ret = mon_perf_report(l->score, l->label, l->n, attrs, nby, &o, &rep);
	if (ret < 0) {
		store_failed(&x, ret, "could not compute the performance report");
		goto out;
	}
	doc = answer(&x);
	absorb(doc, rep);
	cJSON_AddNumberToObject(doc, "rows", (double)w->n);
	cJSON_AddNumberToObject(doc, "labeled_rows", (double)w->labeled);
	cJSON_AddNumberToObject(doc, "unlabeled_rows", (double)(w->n - w->labeled));
	if (w->n)
		cJSON_AddNumberToObject(doc, "label_coverage", (double)w->labeled / (double)w->n);
	else
		cJSON_AddNullToObject(doc, "label_coverage");
	cJSON_AddNumberToObject(x.detail, "labeled_rows", (double)w->labeled);
out:
	mon_store_window_free(w);
	mon_store_window_free(l);
	finish(&x, doc);
}

void mon_api_estimate_get(struct mon_http_req *req, struct mon_http_resp *resp)
{
	struct mon_perf_attr attrs[COL_SEGMENTS_MAX];
	size_t by[COL_SEGMENTS_MAX], nby = 0;
	struct mon_window *ref = NULL, *lref = NULL, *w = NULL;
	struct stats_isotonic *cal = NULL;
	struct mon_window_ref rref;
	struct mon_perf_opts o;
	struct ctx x;
	unsigned long long seed;
	cJSON *doc = NULL, *rep = NULL;
	double *y = NULL;
	int64_t ref_id = 0;
	int ret;

	ctx_init(&x, req, resp, "estimate.read", mon_api_estimate_get);
	mon_perf_opts_init(&o);
	seed = o.seed;
	if (begin(&x) || q_reference(&x, &ref_id) || q_by(&x, by, &nby) ||
	    q_bool(&x, "intersections", &o.intersections) ||
	    q_size(&x, "min_n", 1, 1000000000, &o.min_n) ||
	    q_size(&x, "draws", 10, 5000, &o.draws) || q_uint(&x, "seed", 0, UINT64_MAX, &seed))
		goto out;
	o.seed = seed;
	o.threshold = x.m->schema->threshold;
	key_by(&x, by, nby);
	key_add(&x, "|ref=%" PRId64 "|intersections=%d|min_n=%zu|draws=%zu|seed=%llu", ref_id,
		o.intersections, o.min_n, o.draws, seed);
	if (lookup(&x))
		goto out;
	if (reference(&x, ref_id, &rref) || load_reference(&x, &rref, 0, &ref))
		goto out;
	lref = mon_store_window_labeled(ref);
	if (lref->n == 0) {
		mon_http_problem(resp, 409, "no-labels", ref_id ? "/query/reference" : NULL,
				 "reference %lld of model %s has no labelled row to calibrate on",
				 (long long)rref.id, x.m->schema->name);
		x.outcome = "no_reference";
		goto out;
	}
	y = mon_xmalloc(lref->n * sizeof(double));
	for (size_t i = 0; i < lref->n; i++)
		y[i] = lref->label[i];
	if (stats_isotonic_fit(lref->score, y, lref->n, &cal) < 0) {
		mon_http_problem(resp, 500, NULL, NULL, "could not fit the calibration");
		x.outcome = "error";
		goto out;
	}
	if (load_window(&x, 0, &w))
		goto out;
	snapshot_end(&x);
	attrs_of(&x, w, by, nby, attrs);
	/* the window's labels count only when complete, as with `vigil estimate` */
	ret = mon_estimate_report(cal, w->score, w->n && w->labeled == w->n ? w->label : NULL, w->n,
				  attrs, nby, &o, &rep);
	if (ret < 0) {
		store_failed(&x, ret, "could not compute the estimate");
		goto out;
	}
	doc = answer(&x);
	cJSON_AddNumberToObject(doc, "reference_id", (double)rref.id);
	absorb(doc, rep);
	cJSON_AddNumberToObject(doc, "reference_rows", (double)lref->n);
	cJSON_AddNumberToObject(doc, "current_rows", (double)w->n);
	cJSON_AddNumberToObject(doc, "labeled_rows", (double)w->labeled);
out:
	stats_isotonic_free(cal);
	free(y);
	mon_store_window_free(ref);
	mon_store_window_free(lref);
	mon_store_window_free(w);
	finish(&x, doc);
}
