/* SPDX-License-Identifier: MIT
 * monitor/routes_evaluation.c - the scheduler's windows and their stored results over HTTP
 *
 * Both handlers read what the scheduler (monitor/scheduler.c) wrote: one statement each,
 * every filter a parameter, LIMIT n + 1 to know whether the answer was cut. Results carry
 * performance data, so their reads go to the audit log before the answer goes out, as the
 * analysis routes do.
 */
#include "config.h"

#include "monitor/routes_evaluation.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/audit.h"
#include "monitor/eval_settings.h"
#include "monitor/evaluate.h"
#include "monitor/log.h"
#include "monitor/pgtext.h"
#include "monitor/server.h"

#define LOG_PREFIX "evaluation: "

/* One request from start to answer. */
struct ctx {
	struct mon_http_req *req;
	struct mon_http_resp *resp;
	PGconn *c;
	int failed;
	char model_id[24];
	struct mon_eval_settings es;
	const char *outcome; /* for the audit of a refused read; NULL: not audited */
	cJSON *detail;
};

static void __attribute__((format(printf, 3, 4)))
bad_param(struct ctx *x, const char *key, const char *fmt, ...)
{
	char detail[300], ptr[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	snprintf(ptr, sizeof(ptr), "/query/%s", key);
	mon_http_problem(x->resp, 400, "invalid-parameter", ptr, "%s", detail);
	x->outcome = "invalid";
}

/* A statement failed: 503 when the database is away, else 500 (logged). */
static void db_failed(struct ctx *x, const PGresult *r, const char *what)
{
	x->failed = mon_server_db_fail(x->req, x->resp, x->c, r, what);
	x->outcome = NULL;
}

/* ?key=RFC 3339 into buf (PostgreSQL's form); *out NULL when absent. */
static int q_time(struct ctx *x, const char *key, char *buf, const char **out)
{
	const char *s = mon_http_query(x->req, key);
	int64_t us;

	*out = NULL;
	if (!s)
		return 0;
	if (col_ts_parse(s, strlen(s), &us)) {
		bad_param(x, key, "%s must be an RFC 3339 date-time such as 2026-01-01T00:00:00Z",
			  key);
		return -EINVAL;
	}
	col_ts_format(us, 1, buf);
	*out = buf;
	return 0;
}

static int q_limit(struct ctx *x, unsigned long def, unsigned long max, char *buf, size_t len)
{
	const char *s = mon_http_query(x->req, "limit");
	unsigned long v = def;
	char *end;

	if (s) {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || end == s || *end || *s < '0' || *s > '9' || v < 1 || v > max) {
			bad_param(x, "limit", "limit must be a whole number in [1, %lu]", max);
			return -EINVAL;
		}
	}
	snprintf(buf, len, "%lu", v);
	return 0;
}

/* Borrow a connection and find the model. Returns 0, or -1 with resp filled. */
static int begin(struct ctx *x)
{
	const char *params[1] = {x->req->params[0]};
	PGresult *r;
	int ret = 0;

	if (mon_server_db_get(x->req, x->resp, &x->c)) {
		x->c = NULL;
		return -1;
	}
	r = PQexecParams(x->c,
			 "SELECT id, " MON_EVAL_SETTINGS_COLUMNS " FROM models WHERE name = $1", 1,
			 NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		db_failed(x, r, "could not read a model");
		ret = -1;
	} else if (PQntuples(r) != 1) {
		mon_http_problem(x->resp, 404, "not-found", NULL, "no such model");
		x->outcome = "not_found";
		ret = -1;
	} else {
		snprintf(x->model_id, sizeof(x->model_id), "%s", PQgetvalue(r, 0, 0));
		mon_eval_settings_from_row(r, 0, 1, &x->es);
	}
	PQclear(r);
	return ret;
}

/* Audit (when action is set) and answer doc (consumed) or the problem in resp; release. */
static void finish(struct ctx *x, const char *action, cJSON *doc)
{
	const char *model = x->req->params[0];

	if (action && x->c && doc && !x->failed) {
		int ret = mon_audit_request(x->c, x->req, action, model, "ok", x->detail);

		if (ret) {
			cJSON_Delete(doc);
			doc = NULL;
			x->failed = ret == -EAGAIN || ret == -EIO;
			mon_http_problem(x->resp, ret == -EAGAIN ? 503 : 500, NULL, NULL,
					 "could not record the read in the audit log");
			if (ret == -EAGAIN)
				x->resp->retry_after =
					(int)mon_server_cfg(x->req->srv)->retry_after_s;
		}
	} else if (action && x->c && x->outcome && !x->failed) {
		if (mon_audit_request(x->c, x->req, action, model, x->outcome, x->detail))
			log_warn(LOG_PREFIX "could not record a refused %s in the audit log",
				 action);
	}
	if (x->c)
		mon_server_db_put(x->req, x->c, x->failed);
	if (doc)
		mon_http_json(x->resp, 200, doc);
	cJSON_Delete(x->detail);
}

/* Column col of row i as a JSON number, or null. */
static void add_num(cJSON *o, const char *key, const PGresult *r, int i, int col)
{
	if (PQgetisnull(r, i, col))
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key, strtod(PQgetvalue(r, i, col), NULL));
}

static void add_text(cJSON *o, const char *key, const PGresult *r, int i, int col)
{
	if (PQgetisnull(r, i, col))
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddStringToObject(o, key, PQgetvalue(r, i, col));
}

/* Column col (microseconds since the epoch) as RFC 3339, or null. */
static void add_time(cJSON *o, const char *key, const PGresult *r, int i, int col)
{
	char ts[COL_TS_BUF];

	if (PQgetisnull(r, i, col)) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	col_ts_format(strtoll(PQgetvalue(r, i, col), NULL, 10), 0, ts);
	cJSON_AddStringToObject(o, key, ts);
}

/* --- windows --------------------------------------------------------------------------- */

/* Times are read as microseconds since the epoch and written as RFC 3339. */
static const char windows_sql[] =
	"SELECT id, (extract(epoch FROM start_at) * 1000000)::int8, "
	"(extract(epoch FROM end_at) * 1000000)::int8, state, evaluations, "
	"(extract(epoch FROM evaluated_at) * 1000000)::int8, rows_at_eval, labels_at_eval, "
	"reference_id, duration_ms, needs_reeval, "
	"claimed_by IS NOT NULL AND claimed_until > now(), failures, last_error "
	"FROM windows WHERE model_id = $1::int8 "
	"AND ($2::timestamptz IS NULL OR start_at >= $2::timestamptz) "
	"AND ($3::timestamptz IS NULL OR start_at < $3::timestamptz) "
	"AND ($4::text IS NULL OR state = $4) "
	"ORDER BY start_at LIMIT $5::int8 + 1";

void mon_api_windows_get(struct mon_http_req *req, struct mon_http_resp *resp)
{
	char fbuf[COL_TS_BUF], tbuf[COL_TS_BUF], limit[24];
	const char *params[5];
	const char *state;
	struct ctx x;
	PGresult *r = NULL;
	cJSON *doc = NULL, *arr;
	long n, lim;

	memset(&x, 0, sizeof(x));
	x.req = req;
	x.resp = resp;
	if (begin(&x) || q_time(&x, "from", fbuf, &params[1]) ||
	    q_time(&x, "to", tbuf, &params[2]) || q_limit(&x, 1000, 10000, limit, sizeof(limit)))
		goto out;
	state = mon_http_query(req, "state");
	if (state && strcmp(state, "open") && strcmp(state, "due") && strcmp(state, "done")) {
		bad_param(&x, "state", "state must be open, due or done");
		goto out;
	}
	params[0] = x.model_id;
	params[3] = state;
	params[4] = limit;
	r = PQexecParams(x.c, windows_sql, 5, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		db_failed(&x, r, "could not list windows");
		goto out;
	}
	lim = strtol(limit, NULL, 10);
	n = PQntuples(r);
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "model", req->params[0]);
	cJSON_AddNumberToObject(doc, "evaluation_period", (double)x.es.period_s);
	cJSON_AddNumberToObject(doc, "lateness", (double)x.es.lateness_s);
	cJSON_AddNumberToObject(doc, "label_complete", x.es.label_complete);
	arr = cJSON_AddArrayToObject(doc, "windows");
	for (long i = 0; i < n && i < lim; i++) {
		cJSON *w = cJSON_CreateObject();
		int ii = (int)i;

		add_num(w, "id", r, ii, 0);
		add_time(w, "start", r, ii, 1);
		add_time(w, "end", r, ii, 2);
		add_text(w, "state", r, ii, 3);
		add_num(w, "evaluations", r, ii, 4);
		add_time(w, "evaluated_at", r, ii, 5);
		add_num(w, "rows", r, ii, 6);
		add_num(w, "labeled", r, ii, 7);
		if (!PQgetisnull(r, ii, 6) && !PQgetisnull(r, ii, 7)) {
			size_t rows = strtoull(PQgetvalue(r, ii, 6), NULL, 10);
			size_t lab = strtoull(PQgetvalue(r, ii, 7), NULL, 10);
			const char *st = mon_evaluate_status(lab, rows, x.es.label_complete);

			if (rows)
				cJSON_AddNumberToObject(w, "label_coverage",
							(double)lab / (double)rows);
			else
				cJSON_AddNullToObject(w, "label_coverage");
			if (st)
				cJSON_AddStringToObject(w, "status", st);
			else
				cJSON_AddNullToObject(w, "status");
		} else {
			cJSON_AddNullToObject(w, "label_coverage");
			cJSON_AddNullToObject(w, "status");
		}
		add_num(w, "reference_id", r, ii, 8);
		add_num(w, "duration_ms", r, ii, 9);
		cJSON_AddBoolToObject(w, "needs_reeval", !strcmp(PQgetvalue(r, ii, 10), "t"));
		cJSON_AddBoolToObject(w, "claimed", !strcmp(PQgetvalue(r, ii, 11), "t"));
		add_num(w, "failures", r, ii, 12);
		add_text(w, "last_error", r, ii, 13);
		cJSON_AddItemToArray(arr, w);
	}
	cJSON_AddBoolToObject(doc, "truncated", n > lim);
out:
	PQclear(r);
	finish(&x, NULL, doc);
}

/* --- results ----------------------------------------------------------------------------- */

/* metric=a,b as a text[] literal into b; every name must be a plain word. */
static int q_metrics(struct ctx *x, struct mon_buf *b, const char **out)
{
	const char *s = mon_http_query(x->req, "metric");

	*out = NULL;
	if (!s)
		return 0;
	mon_buf_putc(b, '{');
	for (const char *p = s; *p; p++) {
		if (*p == ',') {
			mon_buf_putc(b, ',');
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
			bad_param(x, "metric",
				  "metric must be a comma-separated list of metric "
				  "names such as psi,ks,sensitivity");
			return -EINVAL;
		}
		mon_buf_putc(b, *p);
	}
	mon_buf_putc(b, '}');
	*out = mon_buf_str(b);
	return 0;
}

static const char results_sql[] =
	"SELECT r.window_id, (extract(epoch FROM w.start_at) * 1000000)::int8, "
	"(extract(epoch FROM w.end_at) * 1000000)::int8, r.scope, r.feature, r.segment, "
	"r.segment_value, r.metric, r.value, r.ci_low, r.ci_high, r.p_value, r.q_value, r.n, "
	"r.n_reference, r.method, r.status, r.insufficient, r.parameters::text, "
	"(extract(epoch FROM r.computed_at) * 1000000)::int8 "
	"FROM results r JOIN windows w ON w.id = r.window_id "
	"WHERE r.model_id = $1::int8 AND w.model_id = $1::int8 "
	"AND ($2::timestamptz IS NULL OR w.start_at >= $2::timestamptz) "
	"AND ($3::timestamptz IS NULL OR w.start_at < $3::timestamptz) "
	"AND ($4::text[] IS NULL OR r.metric = ANY($4::text[])) "
	"AND ($5::text IS NULL OR ($5 = '' AND r.segment IS NULL) OR r.segment = $5) "
	"AND ($6::text IS NULL OR r.segment_value = $6) "
	"AND ($7::text IS NULL OR r.scope = $7) "
	"AND ($8::text IS NULL OR r.feature = $8) "
	"AND ($9::int8 IS NULL OR r.window_id = $9::int8) "
	"AND ($10::text IS NULL OR r.status = $10) "
	"ORDER BY w.start_at, r.window_id, r.id LIMIT $11::int8 + 1";

static const char *const scopes[] = {"feature",     "score",    "multivariate",
				     "performance", "estimate", "estimate_error",
				     "volume",      "missing",  "label_coverage"};

void mon_api_results_get(struct mon_http_req *req, struct mon_http_resp *resp)
{
	char fbuf[COL_TS_BUF], tbuf[COL_TS_BUF], limit[24], wid[24];
	const char *params[12];
	const char *scope, *status, *win;
	struct mon_buf metrics = MON_BUF_INIT;
	struct ctx x;
	PGresult *r = NULL;
	cJSON *doc = NULL, *arr;
	long n, lim;
	int ok;

	memset(&x, 0, sizeof(x));
	x.req = req;
	x.resp = resp;
	x.detail = cJSON_CreateObject();
	if (begin(&x) || q_time(&x, "from", fbuf, &params[1]) ||
	    q_time(&x, "to", tbuf, &params[2]) ||
	    q_limit(&x, 10000, 100000, limit, sizeof(limit)) || q_metrics(&x, &metrics, &params[3]))
		goto out;
	scope = mon_http_query(req, "scope");
	ok = !scope;
	for (size_t i = 0; scope && i < sizeof(scopes) / sizeof(scopes[0]); i++)
		ok |= !strcmp(scope, scopes[i]);
	if (!ok) {
		bad_param(&x, "scope",
			  "scope must be one of feature, score, multivariate, "
			  "performance, estimate, estimate_error, volume, missing, label_coverage");
		goto out;
	}
	status = mon_http_query(req, "status");
	if (status && strcmp(status, "provisional") && strcmp(status, "final")) {
		bad_param(&x, "status", "status must be provisional or final");
		goto out;
	}
	win = mon_http_query(req, "window");
	if (win) {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(win, &end, 10);
		if (errno || end == win || *end || v < 1) {
			bad_param(&x, "window", "window must be a window id (a positive number)");
			goto out;
		}
		snprintf(wid, sizeof(wid), "%lld", v);
		win = wid;
	}
	params[0] = x.model_id;
	params[4] = mon_http_query(req, "segment");
	params[5] = mon_http_query(req, "segment_value");
	params[6] = scope;
	params[7] = mon_http_query(req, "feature");
	params[8] = win;
	params[9] = status;
	params[10] = limit;
	if (params[1])
		cJSON_AddStringToObject(x.detail, "from", mon_http_query(req, "from"));
	if (params[2])
		cJSON_AddStringToObject(x.detail, "to", mon_http_query(req, "to"));
	r = PQexecParams(x.c, results_sql, 11, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		db_failed(&x, r, "could not read results");
		goto out;
	}
	lim = strtol(limit, NULL, 10);
	n = PQntuples(r);
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "model", req->params[0]);
	if (params[1])
		cJSON_AddStringToObject(doc, "from", mon_http_query(req, "from"));
	else
		cJSON_AddNullToObject(doc, "from");
	if (params[2])
		cJSON_AddStringToObject(doc, "to", mon_http_query(req, "to"));
	else
		cJSON_AddNullToObject(doc, "to");
	arr = cJSON_AddArrayToObject(doc, "results");
	for (long i = 0; i < n && i < lim; i++) {
		static const char *const nums[] = {"value",   "ci_low", "ci_high",    "p_value",
						   "q_value", "n",      "n_reference"};
		cJSON *o = cJSON_CreateObject(), *par;
		int ii = (int)i;

		add_num(o, "window_id", r, ii, 0);
		add_time(o, "window_start", r, ii, 1);
		add_time(o, "window_end", r, ii, 2);
		add_text(o, "scope", r, ii, 3);
		add_text(o, "feature", r, ii, 4);
		add_text(o, "segment", r, ii, 5);
		add_text(o, "segment_value", r, ii, 6);
		add_text(o, "metric", r, ii, 7);
		for (int k = 0; k < 7; k++)
			add_num(o, nums[k], r, ii, 8 + k);
		add_text(o, "method", r, ii, 15);
		add_text(o, "status", r, ii, 16);
		cJSON_AddBoolToObject(o, "insufficient", !strcmp(PQgetvalue(r, ii, 17), "t"));
		par = cJSON_Parse(PQgetvalue(r, ii, 18));
		cJSON_AddItemToObject(o, "parameters", par ? par : cJSON_CreateObject());
		add_time(o, "computed_at", r, ii, 19);
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_AddBoolToObject(doc, "truncated", n > lim);
	cJSON_AddNumberToObject(x.detail, "rows", (double)(n > lim ? lim : n));
out:
	PQclear(r);
	mon_buf_fini(&metrics);
	finish(&x, "results.read", doc);
}
