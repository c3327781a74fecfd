/* SPDX-License-Identifier: MIT
 * monitor/store_models.c - registered models in PostgreSQL, and a cache of their schemas
 *
 * Registration is one transaction: INSERT ... ON CONFLICT (name) DO NOTHING decides who
 * registers a name when two requests race (the loser waits for the winner's commit, then
 * sees its row and compares schemas), and the feature and segment rows follow from
 * unnest() over array parameters, one statement each. Everything read back goes through
 * col_schema_parse again, so a spec edited by hand in the database is validated like a
 * request before the ingest path trusts it.
 *
 * The cache is a small array searched linearly under one mutex: at most MON_MODEL_CACHE
 * models, looked up once per request, where a hash table would buy nothing.
 */
#include "config.h"

#include "monitor/store_models.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/db.h"
#include "monitor/eval_settings.h"
#include "monitor/log.h"
#include "monitor/pgtext.h"

#define LOG_PREFIX "store: "

/* A failed statement: -EAGAIN when the database is away, else log it and -EIO. Only
 * PostgreSQL's primary message is logged: its DETAIL may quote row values. */
static int db_error(PGconn *c, const PGresult *r, const char *what)
{
	return mon_db_error(c, r, LOG_PREFIX, what);
}

static int command(PGconn *c, const char *sql, const char *what)
{
	PGresult *r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);
	int ret = 0;

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		ret = db_error(c, r, what);
	PQclear(r);
	return ret;
}

static void rollback(PGconn *c)
{
	if (PQtransactionStatus(c) != PQTRANS_IDLE && PQstatus(c) == CONNECTION_OK)
		(void)command(c, "ROLLBACK", "could not roll back");
}

/* Parse a stored spec (text of models.spec) into a schema; -EIO when it is not valid. */
static int schema_of_spec(const char *text, const char *name, struct col_schema **out)
{
	cJSON *j = cJSON_Parse(text);
	struct col_diag d;
	int ret;

	ret = col_schema_parse(j, out, &d);
	if (ret) {
		log_err(LOG_PREFIX "model \"%s\": stored spec is invalid at \"%s\": %s", name,
			d.pointer, d.msg);
		ret = -EIO;
	}
	cJSON_Delete(j);
	return ret;
}

/* The JSON answer for a stored model: its canonical spec plus created_at and the
 * evaluation settings (columns 3.. of row i of r, MON_EVAL_SETTINGS_COLUMNS). */
static int model_json(const char *spec, const char *name, const char *created_us, const PGresult *r,
		      int i, cJSON **out)
{
	struct mon_eval_settings es;
	struct col_schema *s = NULL;
	char ts[COL_TS_BUF];
	cJSON *j;
	int ret = schema_of_spec(spec, name, &s);

	if (ret)
		return ret;
	j = col_schema_to_json(s);
	col_ts_format(strtoll(created_us, NULL, 10), 0, ts);
	if (!cJSON_AddStringToObject(j, "created_at", ts))
		abort();
	mon_eval_settings_from_row(r, i, 3, &es);
	mon_eval_settings_to_json(&es, j);
	col_schema_free(s);
	*out = j;
	return 0;
}

#define SELECT_MODEL                                                                               \
	"SELECT spec::text, name, (extract(epoch FROM created_at) * "                              \
	"1000000)::int8, " MON_EVAL_SETTINGS_COLUMNS " FROM models "

int mon_store_model_get(PGconn *c, const char *name, cJSON **out)
{
	const char *params[1] = {name};
	PGresult *r;
	int ret;

	if (!col_model_name_ok(name)) /* no query: it may not even be UTF-8 */
		return -ENOENT;
	r = PQexecParams(c, SELECT_MODEL "WHERE name = $1", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		ret = db_error(c, r, "could not read a model");
	else if (PQntuples(r) == 0)
		ret = -ENOENT;
	else
		ret = model_json(PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), r,
				 0, out);
	PQclear(r);
	return ret;
}

int mon_store_model_list(PGconn *c, cJSON **out)
{
	PGresult *r = PQexecParams(c, SELECT_MODEL "ORDER BY name", 0, NULL, NULL, NULL, NULL, 0);
	cJSON *arr = NULL;
	int ret = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = db_error(c, r, "could not list models");
		goto out;
	}
	arr = cJSON_CreateArray();
	for (int i = 0; i < PQntuples(r); i++) {
		cJSON *m;

		ret = model_json(PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), r,
				 i, &m);
		if (ret)
			goto out;
		cJSON_AddItemToArray(arr, m);
	}
	*out = arr;
	arr = NULL;
out:
	cJSON_Delete(arr);
	PQclear(r);
	return ret;
}

/* Insert the feature and segment rows of model id. */
static int insert_columns(PGconn *c, const char *id, const struct col_schema *s)
{
	struct mon_buf names = MON_BUF_INIT, types = MON_BUF_INIT, segs = MON_BUF_INIT;
	const char *params[3];
	PGresult *r = NULL;
	int ret = 0;

	mon_buf_putc(&names, '{');
	mon_buf_putc(&types, '{');
	for (size_t i = 0; i < s->nfeat; i++) {
		if (i) {
			mon_buf_putc(&names, ',');
			mon_buf_putc(&types, ',');
		}
		mon_pgtext_array_elem(&names, s->feat[i].name);
		mon_buf_puts(&types, s->feat[i].type == COL_NUMERIC ? "numeric" : "categorical");
	}
	mon_buf_putc(&names, '}');
	mon_buf_putc(&types, '}');
	mon_pgtext_array(&segs, (const char *const *)s->seg, s->nseg);
	params[0] = id;
	params[1] = mon_buf_str(&names);
	params[2] = mon_buf_str(&types);
	r = PQexecParams(c,
			 "INSERT INTO model_features (model_id, position, name, type) "
			 "SELECT $1::int8, u.i - 1, u.n, u.t "
			 "FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS u(n, t, i)",
			 3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		ret = db_error(c, r, "could not store model features");
		goto out;
	}
	PQclear(r);
	params[1] = mon_buf_str(&segs);
	r = PQexecParams(
		c,
		"INSERT INTO model_segments (model_id, position, name) "
		"SELECT $1::int8, u.i - 1, u.n FROM unnest($2::text[]) WITH ORDINALITY AS u(n, i)",
		2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		ret = db_error(c, r, "could not store model segments");
out:
	PQclear(r);
	mon_buf_fini(&names);
	mon_buf_fini(&types);
	mon_buf_fini(&segs);
	return ret;
}

int mon_store_model_create(PGconn *c, const cJSON *spec, cJSON **out, int *created,
			   struct col_diag *diag)
{
	struct col_schema *s = NULL, *old = NULL;
	struct mon_eval_settings es, old_es;
	char thr[32], *canon = NULL;
	char period[24], lateness[24], lc[32], fnc[32], fpc[32];
	const char *params[10];
	PGresult *r = NULL;
	cJSON *j, *rest = NULL;
	int ret, same_settings = 1;

	*out = NULL;
	*created = 0;
	/* the evaluation fields are not part of the schema (monitor/eval_settings.h) */
	ret = mon_eval_settings_parse(spec, &es, &rest, diag);
	if (ret)
		return ret;
	ret = col_schema_parse(rest, &s, diag);
	cJSON_Delete(rest);
	if (ret)
		return ret;
	j = col_schema_to_json(s);
	canon = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!canon)
		abort();
	snprintf(thr, sizeof(thr), "%.17g", s->threshold);
	params[0] = s->name;
	params[1] = s->version;
	params[2] = thr;
	params[3] = s->positive_label;
	params[4] = canon;
	snprintf(period, sizeof(period), "%lld", (long long)es.period_s);
	snprintf(lateness, sizeof(lateness), "%lld", (long long)es.lateness_s);
	snprintf(lc, sizeof(lc), "%.17g", es.label_complete);
	snprintf(fnc, sizeof(fnc), "%.17g", es.fn_cost);
	snprintf(fpc, sizeof(fpc), "%.17g", es.fp_cost);
	params[5] = period;
	params[6] = lateness;
	params[7] = lc;
	params[8] = fnc;
	params[9] = fpc;
	ret = command(c, "BEGIN", "could not begin a transaction");
	if (ret)
		goto out;
	r = PQexecParams(
		c,
		"INSERT INTO models (name, version, threshold, positive_label, spec, "
		"evaluation_period, lateness, label_complete, fn_cost, fp_cost) "
		"VALUES ($1, $2, $3::float8, $4, $5::jsonb, $6::int8 * interval '1 second', "
		"$7::int8 * interval '1 second', $8::float8, $9::float8, $10::float8) "
		"ON CONFLICT (name) DO NOTHING RETURNING id",
		10, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = db_error(c, r, "could not register a model");
		goto out;
	}
	if (PQntuples(r) == 1) {
		ret = insert_columns(c, PQgetvalue(r, 0, 0), s);
		if (ret)
			goto out;
		*created = 1;
	} else {
		/* the name is taken (perhaps just now, by a request we waited for) */
		PQclear(r);
		r = PQexecParams(c,
				 "SELECT spec::text, " MON_EVAL_SETTINGS_COLUMNS
				 " FROM models WHERE name = $1",
				 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
			ret = PQresultStatus(r) == PGRES_TUPLES_OK
				      ? -EIO
				      : db_error(c, r, "could not read a model");
			goto out;
		}
		ret = schema_of_spec(PQgetvalue(r, 0, 0), s->name, &old);
		if (ret)
			goto out;
		mon_eval_settings_from_row(r, 0, 1, &old_es);
		same_settings = mon_eval_settings_equal(&es, &old_es);
	}
	ret = command(c, "COMMIT", "could not commit a model");
	if (ret)
		goto out;
	mon_store_model_forget(s->name);
	ret = mon_store_model_get(c, s->name, out);
	if (!ret && old && (!col_schema_equal(s, old) || !same_settings))
		ret = -EEXIST;
out:
	PQclear(r);
	rollback(c);
	col_schema_free(old);
	col_schema_free(s);
	cJSON_free(canon);
	return ret;
}

/* --- the cache ---------------------------------------------------------------------------- */

static struct {
	pthread_mutex_t lock;
	size_t n;
	struct mon_model *m[MON_MODEL_CACHE];
} cache = {PTHREAD_MUTEX_INITIALIZER, 0, {NULL}};

/* Drop one reference; the caller holds cache.lock. */
static void unref_locked(struct mon_model *m)
{
	if (--m->refs == 0) {
		col_schema_free(m->schema);
		free(m);
	}
}

void mon_store_model_release(struct mon_model *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&cache.lock);
	unref_locked(m);
	pthread_mutex_unlock(&cache.lock);
}

void mon_store_model_forget(const char *name)
{
	pthread_mutex_lock(&cache.lock);
	for (size_t i = 0; i < cache.n;) {
		if (name && strcmp(cache.m[i]->schema->name, name)) {
			i++;
			continue;
		}
		unref_locked(cache.m[i]);
		cache.m[i] = cache.m[--cache.n];
	}
	pthread_mutex_unlock(&cache.lock);
}

/* The cached model named name with a new reference, or NULL; drops a stale entry. */
static struct mon_model *lookup(const char *name)
{
	struct mon_model *m = NULL;
	double now = mon_now();

	pthread_mutex_lock(&cache.lock);
	for (size_t i = 0; i < cache.n; i++) {
		if (strcmp(cache.m[i]->schema->name, name))
			continue;
		if (now - cache.m[i]->loaded > MON_MODEL_CACHE_TTL_S) {
			unref_locked(cache.m[i]);
			cache.m[i] = cache.m[--cache.n];
			break;
		}
		m = cache.m[i];
		m->refs++;
		break;
	}
	pthread_mutex_unlock(&cache.lock);
	return m;
}

/* Enter m (holding one reference for the caller) into the cache, evicting the oldest
 * entry when full; when another thread entered the same name meanwhile, keep theirs. */
static void insert(struct mon_model *m)
{
	size_t oldest = 0;

	pthread_mutex_lock(&cache.lock);
	for (size_t i = 0; i < cache.n; i++) {
		if (!strcmp(cache.m[i]->schema->name, m->schema->name))
			goto out;
		if (cache.m[i]->loaded < cache.m[oldest]->loaded)
			oldest = i;
	}
	if (cache.n == MON_MODEL_CACHE) {
		unref_locked(cache.m[oldest]);
		cache.m[oldest] = cache.m[--cache.n];
	}
	m->refs++;
	cache.m[cache.n++] = m;
out:
	pthread_mutex_unlock(&cache.lock);
}

int mon_store_model_acquire(PGconn *c, const char *name, struct mon_model **out)
{
	const char *params[1] = {name};
	struct mon_model *m;
	PGresult *r;
	int ret;

	if (!col_model_name_ok(name)) /* no query: it may not even be UTF-8 */
		return -ENOENT;
	m = lookup(name);
	if (m) {
		*out = m;
		return 0;
	}
	if (!c)
		return -EAGAIN;
	r = PQexecParams(c, "SELECT id, spec::text FROM models WHERE name = $1", 1, NULL, params,
			 NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = db_error(c, r, "could not read a model");
		goto out;
	}
	if (PQntuples(r) == 0) {
		ret = -ENOENT;
		goto out;
	}
	m = mon_xcalloc(1, sizeof(*m));
	m->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	m->refs = 1;
	m->loaded = mon_now();
	ret = schema_of_spec(PQgetvalue(r, 0, 1), name, &m->schema);
	if (ret) {
		free(m);
		goto out;
	}
	insert(m);
	*out = m;
out:
	PQclear(r);
	return ret;
}
