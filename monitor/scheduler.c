/* SPDX-License-Identifier: MIT
 * monitor/scheduler.c - evaluating every model's windows, shared by any number of servers
 *
 * The claim is the whole coordination: a window row is claimed in a transaction of its own
 * (FOR UPDATE SKIP LOCKED, so replicas never wait on each other and never take the same
 * row), the evaluation runs with no transaction open, and the commit of the results checks
 * the claim again under the row lock. Time comes from the database (now()), never from the
 * local clock, so replicas with skewed clocks agree on leases and on which windows are due.
 *
 * The run state below (the claim counter, when to materialise next, the reference cache)
 * belongs to the scheduler task's thread, the only caller.
 */
#include "config.h"

#include "monitor/scheduler.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "monitor/alert.h"
#include "monitor/eval_settings.h"
#include "monitor/evaluate.h"
#include "monitor/log.h"
#include "monitor/pgtext.h"
#include "monitor/store_models.h"
#include "monitor/store_window.h"

#define LOG_PREFIX "scheduler: "
#define BACKOFF_BASE_S "10"  /* seconds, as SQL text: 10 s doubling ... */
#define BACKOFF_MAX_S "3600" /* ... up to an hour */
#define VOLUME_HISTORY 7     /* earlier windows averaged for an uploaded reference's rate */
#define COPY_CHUNK (1 << 20)

/* --- database helpers ------------------------------------------------------------------- */

/* A failed statement: -EAGAIN when the database is away, else log it and -EIO. Only the
 * primary message is logged (DETAIL may quote values). */
static int db_error(PGconn *c, const PGresult *r, const char *what)
{
	return mon_db_error(c, r, LOG_PREFIX, what);
}

/* Run sql; want is the status that means success. On success *out holds the result when
 * out is not NULL (PQclear it), else it is cleared here. */
static int run(PGconn *c, const char *sql, int n, const char *const *params, ExecStatusType want,
	       const char *what, PGresult **out)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	int ret = 0;

	if (PQresultStatus(r) != want)
		ret = db_error(c, r, what);
	if (ret || !out)
		PQclear(r);
	else
		*out = r;
	return ret;
}

static int command(PGconn *c, const char *sql, int n, const char *const *params, const char *what)
{
	return run(c, sql, n, params, PGRES_COMMAND_OK, what, NULL);
}

static void rollback(PGconn *c)
{
	if (PQtransactionStatus(c) != PQTRANS_IDLE && PQstatus(c) == CONNECTION_OK)
		(void)command(c, "ROLLBACK", 0, NULL, "could not roll back");
}

/* COPY sql FROM STDIN with the text rows in data. */
static int copy_in(PGconn *c, const char *sql, const struct mon_buf *data, const char *what)
{
	PGresult *r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);
	int ret = 0;

	if (PQresultStatus(r) != PGRES_COPY_IN) {
		ret = db_error(c, r, what);
		PQclear(r);
		return ret;
	}
	PQclear(r);
	for (size_t off = 0; off < data->len && !ret;) {
		size_t n = data->len - off < COPY_CHUNK ? data->len - off : COPY_CHUNK;

		if (PQputCopyData(c, data->p + off, (int)n) != 1)
			ret = -EIO;
		off += n;
	}
	if (PQputCopyEnd(c, ret ? "aborted" : NULL) != 1 && !ret)
		ret = -EIO;
	while ((r = PQgetResult(c)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && !ret)
			ret = db_error(c, r, what);
		PQclear(r);
	}
	if (ret == -EIO && mon_db_unavailable(c, NULL))
		ret = -EAGAIN;
	return ret;
}

/* --- run state ------------------------------------------------------------------------------ */

static struct {
	double next_cycle; /* mon_now() after which to materialise and drain again */
	char owner[160];   /* host:pid:start, this process's claims' prefix */
	uint64_t claims;   /* claims taken, for unique claim names */
} sched;

/* The test clock (VIGIL_TEST_NOW) in PostgreSQL's input form, or NULL for now(). */
static const char *test_now(char *buf)
{
	const char *s = getenv("VIGIL_TEST_NOW");
	int64_t us;

	if (!s || !*s)
		return NULL;
	if (col_ts_parse(s, strlen(s), &us)) {
		log_warn(LOG_PREFIX "VIGIL_TEST_NOW is not an RFC 3339 date-time; using now()");
		return NULL;
	}
	col_ts_format(us, 1, buf);
	return buf;
}

static void set_owner(void)
{
	char host[64] = "";
	struct timespec ts;

	if (sched.owner[0])
		return;
	if (gethostname(host, sizeof(host) - 1))
		snprintf(host, sizeof(host), "unknown");
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(sched.owner, sizeof(sched.owner), "%s:%ld:%lld.%09ld", host, (long)getpid(),
		 (long long)ts.tv_sec, ts.tv_nsec);
}

/* --- 1. windows: materialise, due, re-evaluation flags ------------------------------------ */

/* Windows are generated only outside the range a model already has (before its first
 * window, after its last), so a steady state costs two index probes per model. */
static const char materialise_sql[] =
	"WITH m AS ("
	" SELECT id, evaluation_period AS p, lateness,"
	" evaluation_window_start(coalesce($1::timestamptz, now()), evaluation_period) AS cur,"
	" (SELECT min(ts) FROM predictions WHERE model_id = models.id) AS first_ts,"
	" (SELECT min(start_at) FROM windows WHERE model_id = models.id) AS lo_w,"
	" (SELECT max(start_at) FROM windows WHERE model_id = models.id) AS hi_w"
	" FROM models),"
	" b AS (SELECT id, p, lateness, cur, lo_w, hi_w, cur - p * $2::int AS floor_w,"
	" evaluation_window_start(first_ts, p) AS first_w FROM m WHERE first_ts IS NOT NULL),"
	" s AS (SELECT id, p, lateness, generate_series(greatest(first_w, floor_w),"
	" coalesce(lo_w - p, cur), p) AS start_at FROM b"
	" UNION ALL SELECT id, p, lateness, generate_series(greatest(hi_w + p, floor_w), cur, p)"
	" FROM b WHERE hi_w IS NOT NULL) "
	"INSERT INTO windows (model_id, start_at, end_at, state) "
	"SELECT id, start_at, start_at + p, CASE WHEN start_at + p + lateness <= "
	"coalesce($1::timestamptz, now()) THEN 'due' ELSE 'open' END FROM s "
	"ORDER BY id, start_at ON CONFLICT (model_id, start_at) DO NOTHING";

static const char due_sql[] =
	"UPDATE windows w SET state = 'due' FROM models m WHERE w.state = 'open' "
	"AND m.id = w.model_id AND w.end_at + m.lateness <= coalesce($1::timestamptz, now())";

/* A window done or being evaluated whose data changed must be evaluated again; the others
 * will see the change when they are first evaluated. */
static const char drain_sql[] =
	"WITH e AS (DELETE FROM window_events RETURNING model_id, start_at) "
	"UPDATE windows w SET needs_reeval = true "
	"FROM (SELECT DISTINCT model_id, start_at FROM e) d "
	"WHERE w.model_id = d.model_id AND w.start_at = d.start_at "
	"AND (w.state = 'done' OR w.claimed_by IS NOT NULL) AND NOT w.needs_reeval";

static int cycle(PGconn *c, const struct mon_cfg *cfg)
{
	char nowbuf[COL_TS_BUF], back[24];
	const char *params[2] = {test_now(nowbuf), back};
	PGresult *r = NULL;
	int ret;

	snprintf(back, sizeof(back), "%u", cfg->evaluation_backfill_windows);
	ret = run(c, materialise_sql, 2, params, PGRES_COMMAND_OK, "could not create windows", &r);
	if (ret)
		return ret;
	if (strcmp(PQcmdTuples(r), "0"))
		log_debug(LOG_PREFIX "%s new windows", PQcmdTuples(r));
	PQclear(r);
	ret = command(c, due_sql, 1, params, "could not mark windows due");
	if (ret)
		return ret;
	ret = run(c, drain_sql, 0, NULL, PGRES_COMMAND_OK, "could not flag windows", &r);
	if (ret)
		return ret;
	if (strcmp(PQcmdTuples(r), "0"))
		log_info(LOG_PREFIX "%s evaluated windows received labels or predictions; they "
				    "will be evaluated again",
			 PQcmdTuples(r));
	PQclear(r);
	return 0;
}

/* --- 2. claims ------------------------------------------------------------------------------- */

struct job {
	int64_t window_id, model_id;
	char model[COL_NAME_MAX + 1];
	int64_t start_us, end_us;
	struct mon_eval_settings es;
	int reeval;      /* evaluated before */
	char claim[200]; /* claimed_by */
};

/* A window flagged for re-evaluation (and only for that: not due, no claim or back-off)
 * waits until this many evaluation intervals (30 s at the default 5 s) have passed since
 * its last evaluation. While a bulk load streams into a window, every batch flags it
 * again; without the wait it would be re-evaluated over and over, each time reading all
 * its rows, competing with the load for the database. Late data is still never lost: the
 * flag stays until the window is evaluated. */
#define REEVAL_MIN_INTERVALS 6

/* The oldest claimable window; $1: the least seconds between evaluations of a window
 * flagged for re-evaluation (unformatted: clang-format would split the lines around the
 * macro). */
/* clang-format off */
static const char claim_sql[] =
	"SELECT w.id, w.model_id, m.name, (extract(epoch FROM w.start_at) * 1000000)::int8, "
	"(extract(epoch FROM w.end_at) * 1000000)::int8, w.evaluations > 0, "
	MON_EVAL_SETTINGS_COLUMNS " "
	"FROM windows w JOIN models m ON m.id = w.model_id "
	"WHERE (w.state = 'due' OR w.needs_reeval OR w.claimed_until IS NOT NULL) "
	"AND (w.claimed_until IS NULL OR w.claimed_until < now()) AND w.state <> 'open' "
	"AND (w.state = 'due' OR w.claimed_until IS NOT NULL OR w.evaluated_at IS NULL "
	"OR w.evaluated_at <= now() - $1::int8 * interval '1 second') "
	"ORDER BY w.start_at, w.id LIMIT 1 FOR UPDATE OF w SKIP LOCKED";
/* clang-format on */

/* Claim one window. Returns 1 with *j filled, 0 when there is none, or a negative errno. */
static int claim(PGconn *c, const struct mon_cfg *cfg, struct job *j)
{
	char id[24], lease[24], wait[24];
	const char *params[3] = {j->claim, lease, id}, *wait_param[1] = {wait};
	PGresult *r = NULL;
	int ret;

	snprintf(wait, sizeof(wait), "%llu",
		 (unsigned long long)cfg->evaluation_interval_s * REEVAL_MIN_INTERVALS);
	ret = command(c, "BEGIN", 0, NULL, "could not begin a claim");
	if (ret)
		return ret;
	ret = run(c, claim_sql, 1, wait_param, PGRES_TUPLES_OK, "could not claim a window", &r);
	if (ret)
		goto out;
	if (PQntuples(r) == 0) {
		ret = command(c, "COMMIT", 0, NULL, "could not end a claim");
		goto out;
	}
	memset(j, 0, sizeof(*j));
	j->window_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	j->model_id = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	snprintf(j->model, sizeof(j->model), "%s", PQgetvalue(r, 0, 2));
	j->start_us = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
	j->end_us = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
	j->reeval = !strcmp(PQgetvalue(r, 0, 5), "t");
	mon_eval_settings_from_row(r, 0, 6, &j->es);
	snprintf(j->claim, sizeof(j->claim), "%s:%" PRIu64, sched.owner, ++sched.claims);
	snprintf(id, sizeof(id), "%" PRId64, j->window_id);
	snprintf(lease, sizeof(lease), "%u", cfg->evaluation_lease_s);
	ret = command(c,
		      "UPDATE windows SET claimed_by = $1, claimed_until = now() + $2::int8 * "
		      "interval '1 second', needs_reeval = false WHERE id = $3::int8",
		      3, params, "could not claim a window");
	if (!ret)
		ret = command(c, "COMMIT", 0, NULL, "could not commit a claim");
	if (!ret)
		ret = 1;
out:
	PQclear(r);
	rollback(c);
	return ret;
}

/* Give the claim up after a failure: back off, keep the reason. */
static void release_failed(PGconn *c, const struct job *j, const char *why)
{
	char id[24];
	const char *params[3] = {id, j->claim, why};

	snprintf(id, sizeof(id), "%" PRId64, j->window_id);
	if (command(c,
		    "UPDATE windows SET claimed_by = NULL, failures = failures + 1, "
		    "last_error = $3, claimed_until = now() + interval '1 second' * "
		    "least(" BACKOFF_MAX_S ", " BACKOFF_BASE_S " * power(2, least(failures, 20))) "
		    "WHERE id = $1::int8 AND claimed_by = $2",
		    3, params, "could not release a window"))
		log_warn(LOG_PREFIX "window %" PRId64 " stays claimed until its lease runs out",
			 j->window_id);
}

/* --- the reference, kept for the run ----------------------------------------------------- */

struct cache {
	int64_t model_id; /* 0: empty */
	struct mon_model *m;
	int have_ref;
	struct mon_window_ref rref;
	struct mon_window_dicts dicts;
	int have_dicts;
	struct mon_window *ref;     /* with features; NULL without a reference */
	struct stats_isotonic *cal; /* NULL: no labelled reference row */
	size_t ref_labeled;
};

static void cache_clear(struct cache *k)
{
	stats_isotonic_free(k->cal);
	mon_store_window_free(k->ref);
	if (k->have_dicts)
		mon_store_window_dicts_fini(&k->dicts);
	mon_store_model_release(k->m);
	memset(k, 0, sizeof(*k));
}

static void put_num(struct mon_buf *b, double v)
{
	char t[40];

	if (!isfinite(v)) {
		mon_buf_puts(b, "\\N");
		return;
	}
	snprintf(t, sizeof(t), "%.17g", v);
	mon_buf_puts(b, t);
}

static void put_count(struct mon_buf *b, int64_t v)
{
	char t[24];

	if (v < 0) {
		mon_buf_puts(b, "\\N");
		return;
	}
	snprintf(t, sizeof(t), "%" PRId64, v);
	mon_buf_puts(b, t);
}

/* Write the reference's own performance unless it is stored for this many labelled rows. */
static int reference_metrics(PGconn *c, const struct cache *k, const struct job *j,
			     const struct mon_eval_opts *o)
{
	char id[24], lab[24];
	const char *params[2] = {id, lab};
	struct mon_eval_rows rows;
	struct mon_buf b = MON_BUF_INIT;
	PGresult *r = NULL;
	int ret;

	snprintf(id, sizeof(id), "%" PRId64, k->rref.id);
	snprintf(lab, sizeof(lab), "%zu", k->ref_labeled);
	ret = run(c,
		  "SELECT 1 FROM reference_metrics WHERE reference_id = $1::int8 AND "
		  "labeled_rows = $2::int8 LIMIT 1",
		  2, params, PGRES_TUPLES_OK, "could not read reference metrics", &r);
	if (ret)
		return ret;
	if (PQntuples(r) == 1) {
		PQclear(r);
		return 0;
	}
	PQclear(r);
	mon_eval_rows_init(&rows);
	ret = mon_evaluate_reference(k->m->schema, &k->dicts, k->ref, j->es.fn_cost, j->es.fp_cost,
				     o, &rows);
	if (ret)
		goto out;
	for (size_t i = 0; i < rows.n; i++) {
		const struct mon_eval_row *x = &rows.v[i];

		mon_buf_puts(&b, id);
		mon_buf_putc(&b, '\t');
		mon_pgtext_copy_text(&b, x->segment);
		mon_buf_putc(&b, '\t');
		mon_pgtext_copy_text(&b, x->segment_value);
		mon_buf_putc(&b, '\t');
		mon_pgtext_copy_text(&b, x->metric);
		mon_buf_putc(&b, '\t');
		put_num(&b, x->value);
		mon_buf_putc(&b, '\t');
		put_num(&b, x->ci_low);
		mon_buf_putc(&b, '\t');
		put_num(&b, x->ci_high);
		mon_buf_putc(&b, '\t');
		put_count(&b, x->n);
		mon_buf_putc(&b, '\t');
		mon_pgtext_copy_text(&b, x->method);
		mon_buf_puts(&b, x->insufficient ? "\tt\t" : "\tf\t");
		mon_buf_puts(&b, lab);
		mon_buf_putc(&b, '\n');
	}
	/* the reference's row lock orders concurrent writers: the second replaces the first */
	ret = command(c, "BEGIN", 0, NULL, "could not begin reference metrics");
	if (!ret)
		ret = run(c, "SELECT 1 FROM model_references WHERE id = $1::int8 FOR UPDATE", 1,
			  params, PGRES_TUPLES_OK, "could not lock a reference", NULL);
	if (!ret)
		ret = command(c, "DELETE FROM reference_metrics WHERE reference_id = $1::int8", 1,
			      params, "could not replace reference metrics");
	if (!ret && b.len)
		ret = copy_in(
			c,
			"COPY reference_metrics (reference_id, segment, segment_value, metric, "
			"value, ci_low, ci_high, n, method, insufficient, labeled_rows) FROM STDIN",
			&b, "could not write reference metrics");
	if (!ret)
		ret = command(c, "COMMIT", 0, NULL, "could not commit reference metrics");
	if (!ret)
		log_info(LOG_PREFIX "reference %" PRId64 " of model %s: %zu baseline metrics over "
				    "%zu labelled rows",
			 k->rref.id, j->model, rows.n, k->ref_labeled);
out:
	rollback(c);
	mon_buf_fini(&b);
	mon_eval_rows_fini(&rows);
	return ret;
}

/* Make k hold model j->model_id and its active reference. *why is set on a failure that
 * should be recorded on the window. */
static int cache_load(PGconn *c, const struct mon_cfg *cfg, struct cache *k, const struct job *j,
		      const struct mon_eval_opts *o, const char **why)
{
	struct mon_window_ref rref;
	int ret, have_ref;

	ret = mon_store_window_reference(c, j->model_id, 0, &rref);
	if (ret && ret != -ENOENT)
		return ret;
	have_ref = ret == 0;
	if (k->m && k->model_id == j->model_id && k->have_ref == have_ref &&
	    (!have_ref || k->rref.id == rref.id))
		return 0;
	cache_clear(k);
	ret = mon_store_model_acquire(c, j->model, &k->m);
	if (!ret && k->m->id != j->model_id) {
		/* deleted and registered again under the same name: read it afresh */
		mon_store_model_release(k->m);
		k->m = NULL;
		mon_store_model_forget(j->model);
		ret = mon_store_model_acquire(c, j->model, &k->m);
		if (!ret && k->m->id != j->model_id)
			ret = -ENOENT;
	}
	if (ret) {
		*why = "could not read the model";
		goto fail;
	}
	k->model_id = j->model_id;
	mon_store_window_dicts_init(&k->dicts, k->m->schema);
	k->have_dicts = 1;
	k->have_ref = have_ref;
	if (!have_ref)
		return 0;
	k->rref = rref;
	ret = mon_store_window_load_reference(c, k->m->schema, j->model_id, &rref,
					      cfg->max_window_rows, MON_WINDOW_FEATURES, &k->dicts,
					      &k->ref);
	if (ret) {
		*why = ret == -E2BIG ? "the reference holds more than max_window_rows rows"
				     : "could not read the reference";
		goto fail;
	}
	k->ref_labeled = k->ref->labeled;
	if (k->ref_labeled) {
		double *y = mon_xmalloc(k->ref->n * sizeof(double));
		double *x = mon_xmalloc(k->ref->n * sizeof(double));
		size_t m = 0;

		for (size_t i = 0; i < k->ref->n; i++) {
			if (k->ref->label[i] == MON_WINDOW_NO_LABEL)
				continue;
			x[m] = k->ref->score[i];
			y[m++] = k->ref->label[i];
		}
		ret = stats_isotonic_fit(x, y, m, &k->cal);
		free(x);
		free(y);
		if (ret) {
			*why = "could not fit the calibration on the reference";
			goto fail;
		}
	}
	ret = reference_metrics(c, k, j, o);
	if (ret == -EAGAIN)
		goto fail;
	if (ret)
		log_warn(LOG_PREFIX "reference %" PRId64
				    " of model %s: baseline metrics not stored",
			 rref.id, j->model);
	return 0;
fail:
	cache_clear(k);
	return ret;
}

/* --- 3. evaluate one claimed window ------------------------------------------------------- */

/* The rows a window is expected to hold: a range reference's rate over its range, else
 * the mean count of up to VOLUME_HISTORY evaluated windows before this one. */
static int expected_rows(PGconn *c, const struct cache *k, const struct job *j, double *out,
			 char *basis, size_t len)
{
	char id[24], start[COL_TS_BUF], span[24];
	const char *params[3] = {id, start, span};
	PGresult *r = NULL;
	int ret;

	*out = NAN;
	if (k->have_ref && k->rref.range && k->rref.to > k->rref.from) {
		*out = (double)k->ref->n * (double)j->es.period_s * 1e6 /
		       (double)(k->rref.to - k->rref.from);
		snprintf(basis, len, "the range reference's rows per period");
		return 0;
	}
	snprintf(id, sizeof(id), "%" PRId64, j->model_id);
	col_ts_format(j->start_us, 1, start);
	snprintf(span, sizeof(span), "%lld", (long long)(j->es.period_s * VOLUME_HISTORY));
	ret = run(c,
		  "SELECT avg(r.value), count(*) FROM windows w "
		  "JOIN results r ON r.model_id = w.model_id AND r.window_id = w.id "
		  "WHERE w.model_id = $1::int8 AND w.start_at < $2::timestamptz "
		  "AND w.start_at >= $2::timestamptz - $3::int8 * interval '1 second' "
		  "AND w.evaluations > 0 AND r.scope = 'volume' AND r.metric = 'count' "
		  "AND r.segment IS NULL",
		  3, params, PGRES_TUPLES_OK, "could not read earlier windows", &r);
	if (ret)
		return ret;
	if (!PQgetisnull(r, 0, 0)) {
		*out = strtod(PQgetvalue(r, 0, 0), NULL);
		snprintf(basis, len, "the mean of the %s evaluated windows before (at most %d)",
			 PQgetvalue(r, 0, 1), VOLUME_HISTORY);
	}
	PQclear(r);
	return 0;
}

static void copy_row(struct mon_buf *b, const char *model, const char *window,
		     const struct mon_eval_row *x)
{
	mon_buf_puts(b, model);
	mon_buf_putc(b, '\t');
	mon_buf_puts(b, window);
	mon_buf_putc(b, '\t');
	mon_buf_puts(b, mon_eval_scope_name(x->scope));
	mon_buf_putc(b, '\t');
	mon_pgtext_copy_text(b, x->feature);
	mon_buf_putc(b, '\t');
	mon_pgtext_copy_text(b, x->segment);
	mon_buf_putc(b, '\t');
	mon_pgtext_copy_text(b, x->segment_value);
	mon_buf_putc(b, '\t');
	mon_pgtext_copy_text(b, x->metric);
	mon_buf_putc(b, '\t');
	put_num(b, x->value);
	mon_buf_putc(b, '\t');
	put_num(b, x->ci_low);
	mon_buf_putc(b, '\t');
	put_num(b, x->ci_high);
	mon_buf_putc(b, '\t');
	put_num(b, x->p_value);
	mon_buf_putc(b, '\t');
	put_num(b, x->q_value);
	mon_buf_putc(b, '\t');
	put_count(b, x->n);
	mon_buf_putc(b, '\t');
	put_count(b, x->n_reference);
	mon_buf_putc(b, '\t');
	mon_pgtext_copy_text(b, x->method);
	mon_buf_putc(b, '\t');
	mon_pgtext_copy_text(b, x->status);
	mon_buf_puts(b, x->insufficient ? "\tt\t" : "\tf\t");
	mon_pgtext_copy_text(b, x->parameters);
	mon_buf_putc(b, '\n');
}

/* Replace the window's results and mark it done, if the claim is still ours. Returns 0,
 * -ESTALE when it is not, or a negative errno. */
static int commit(PGconn *c, const struct job *j, const struct cache *k, const struct mon_window *w,
		  const struct mon_eval_rows *rows, double t0)
{
	char id[24], model[24], nrows[24], nlab[24], ref[24], ms[40];
	const char *params[6] = {id, nrows, nlab, k->have_ref ? ref : NULL, j->claim, NULL};
	struct mon_buf b = MON_BUF_INIT;
	PGresult *r = NULL;
	int ret;

	snprintf(id, sizeof(id), "%" PRId64, j->window_id);
	snprintf(model, sizeof(model), "%" PRId64, j->model_id);
	snprintf(nrows, sizeof(nrows), "%zu", w->n);
	snprintf(nlab, sizeof(nlab), "%zu", w->labeled);
	snprintf(ref, sizeof(ref), "%" PRId64, k->rref.id);
	mon_buf_room(&b, rows->n * 160);
	for (size_t i = 0; i < rows->n; i++)
		copy_row(&b, model, id, &rows->v[i]);
	ret = command(c, "BEGIN", 0, NULL, "could not begin the results");
	if (ret)
		goto out;
	/* the window's row lock from here on: nobody else can claim or complete it */
	ret = run(c,
		  "UPDATE windows SET state = 'done', evaluated_at = now(), evaluations = "
		  "evaluations + 1, rows_at_eval = $2::int8, labels_at_eval = $3::int8, "
		  "reference_id = $4::int8, claimed_by = NULL, claimed_until = NULL, failures = 0, "
		  "last_error = NULL WHERE id = $1::int8 AND claimed_by = $5",
		  5, params, PGRES_COMMAND_OK, "could not complete a window", &r);
	if (ret)
		goto out;
	if (strcmp(PQcmdTuples(r), "1")) {
		ret = -ESTALE;
		goto out;
	}
	ret = command(c, "DELETE FROM results WHERE model_id = $1::int8 AND window_id = $2::int8",
		      2, (const char *const[]){model, id}, "could not replace results");
	if (!ret && b.len)
		ret = copy_in(c,
			      "COPY results (model_id, window_id, scope, feature, segment, "
			      "segment_value, metric, value, ci_low, ci_high, p_value, q_value, n, "
			      "n_reference, method, status, insufficient, parameters) FROM STDIN",
			      &b, "could not write results");
	if (ret)
		goto out;
	snprintf(ms, sizeof(ms), "%.3f", (mon_now() - t0) * 1e3);
	ret = command(c, "UPDATE windows SET duration_ms = $2::float8 WHERE id = $1::int8", 2,
		      (const char *const[]){id, ms}, "could not complete a window");
	if (!ret)
		ret = command(c, "COMMIT", 0, NULL, "could not commit the results");
out:
	PQclear(r);
	rollback(c);
	mon_buf_fini(&b);
	return ret;
}

static void eval_opts(const struct mon_cfg *cfg, struct mon_eval_opts *o)
{
	mon_eval_opts_init(o);
	o->cbpe_draws = cfg->evaluation_cbpe_draws;
	o->max_segment_values = cfg->evaluation_max_segment_values;
}

/* Evaluate the claimed window j. Returns 0 or a negative errno (-EAGAIN: the database went
 * away; the claim runs out by itself). Failures of the evaluation itself are recorded on
 * the window and are not returned. */
/* The window's predictions, read on c and as many more pooled connections as are free at
 * once, up to one per evaluation thread: each PostgreSQL backend serialises a span of the
 * window (most of a large window's load time), and the rows come out as one load's. *used
 * is the number of connections read on. */
static int load_window(PGconn *c, struct mon_db *db, const struct mon_cfg *cfg, struct cache *k,
		       const struct job *j, const struct mon_eval_opts *o, struct mon_window **w,
		       size_t *used)
{
	PGconn *cs[MON_EVAL_MAX_THREADS] = {c};
	size_t nc = 1, want = o->threads > 1 ? (size_t)o->threads : 1;
	int ret;

	if (want > MON_EVAL_MAX_THREADS)
		want = MON_EVAL_MAX_THREADS;
	while (db && nc < want && mon_db_acquire(db, 0, &cs[nc]) == 0)
		nc++;
	ret = mon_store_window_load_parallel(cs, nc, k->m->schema, j->model_id, j->start_us,
					     j->end_us, cfg->max_window_rows, MON_WINDOW_FEATURES,
					     &k->dicts, w);
	for (size_t i = 1; i < nc; i++)
		mon_db_release(db, cs[i], ret == -EAGAIN || ret == -EIO);
	*used = nc;
	return ret;
}

static int evaluate(PGconn *c, struct mon_db *db, const struct mon_cfg *cfg, struct cache *k,
		    const struct job *j)
{
	struct mon_window *w = NULL;
	struct mon_eval_input in;
	struct mon_eval_rows rows;
	struct mon_eval_opts o;
	char basis[120] = "", from[COL_TS_BUF];
	const char *why = NULL;
	double t0 = mon_now(), t_ref, t_load, t_comp;
	size_t nconn = 0;
	int ret;

	mon_eval_rows_init(&rows);
	eval_opts(cfg, &o);
	ret = cache_load(c, cfg, k, j, &o, &why);
	t_ref = mon_now() - t0;
	if (!ret) {
		ret = load_window(c, db, cfg, k, j, &o, &w, &nconn);
		if (ret == -E2BIG)
			why = "the window holds more than max_window_rows predictions";
		else if (ret)
			why = "could not read the window's predictions";
	}
	memset(&in, 0, sizeof(in));
	if (!ret)
		ret = expected_rows(c, k, j, &in.expected_rows, basis, sizeof(basis));
	t_load = mon_now() - t0;
	if (!ret) {
		in.schema = k->m->schema;
		in.dicts = &k->dicts;
		in.win = w;
		in.ref = k->ref;
		in.cal = k->cal;
		in.label_complete = j->es.label_complete;
		in.fn_cost = j->es.fn_cost;
		in.fp_cost = j->es.fp_cost;
		in.volume_basis = basis[0] ? basis : NULL;
		ret = mon_evaluate(&in, &o, &rows);
		if (ret)
			why = "the evaluation failed";
	}
	t_comp = mon_now() - t0 - t_load;
	if (!ret)
		ret = commit(c, j, k, w, &rows, t0);
	col_ts_format(j->start_us, 0, from);
	if (ret == -ESTALE) {
		log_warn(LOG_PREFIX "window %s of model %s: the claim ran out and another process "
				    "took it; this evaluation is dropped",
			 from, j->model);
		ret = 0;
		goto out;
	}
	if (ret == -EAGAIN)
		goto out;
	if (ret) {
		log_err(LOG_PREFIX "window %s of model %s: %s%s%s%s; trying again later", from,
			j->model, why ? why : "could not store the results",
			ret == -E2BIG ? "" : " (", ret == -E2BIG ? "" : strerror(-ret),
			ret == -E2BIG ? "" : ")");
		release_failed(c, j, why ? why : "could not store the results");
		ret = 0;
		goto out;
	}
	log_info(LOG_PREFIX "%s window %s of model %s: %zu predictions, %zu labelled, %zu results "
			    "in %.3f s (reference %.3f, load %.3f, drift %.3f, performance %.3f, "
			    "estimate %.3f, write %.3f); rows read on %zu connection%s",
		 j->reeval ? "re-evaluated" : "evaluated", from, j->model, w->n, w->labeled, rows.n,
		 mon_now() - t0, t_ref, t_load - t_ref, rows.t_drift, rows.t_performance,
		 rows.t_estimate, mon_now() - t0 - t_load - t_comp, nconn, nconn == 1 ? "" : "s");
	ret = mon_alert_evaluate_window(c, j->model_id, j->window_id);
	if (ret) {
		/* the results stand; the rules run again with the next evaluation */
		log_warn(LOG_PREFIX "window %s of model %s: the alert rules failed (%s)", from,
			 j->model, strerror(-ret));
		rollback(c);
		ret = ret == -EAGAIN ? -EAGAIN : 0;
	}
out:
	mon_store_window_free(w);
	mon_eval_rows_fini(&rows);
	return ret;
}

/* --- the task -------------------------------------------------------------------------------- */

int mon_scheduler_task(struct mon_server *srv)
{
	const struct mon_cfg *cfg = mon_server_cfg(srv);
	struct cache k;
	double start;
	PGconn *c;
	int ret, failed = 0;

	if (!cfg->evaluation_interval_s)
		return 0;
	set_owner();
	ret = mon_db_acquire(srv->db, (int)cfg->db_acquire_timeout_ms, &c);
	if (ret)
		return 0; /* the pool logs the outage; try again in a second */
	start = mon_now();
	if (start >= sched.next_cycle) {
		ret = cycle(c, cfg);
		if (ret) {
			failed = ret == -EAGAIN;
			goto out;
		}
		sched.next_cycle = start + cfg->evaluation_interval_s;
	}
	memset(&k, 0, sizeof(k));
	while (!atomic_load(&srv->stopping) && mon_now() - start < MON_SCHEDULER_BUDGET_S) {
		struct job j;

		memset(&j, 0, sizeof(j));
		ret = claim(c, cfg, &j);
		if (ret <= 0)
			break;
		ret = evaluate(c, srv->db, cfg, &k, &j);
		if (ret)
			break;
	}
	cache_clear(&k);
	failed = ret == -EAGAIN || ret == -EIO;
out:
	mon_db_release(srv->db, c, failed);
	return ret == -EAGAIN ? 0 : (ret < 0 ? ret : 0);
}
