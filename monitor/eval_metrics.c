/* SPDX-License-Identifier: MIT
 * monitor/eval_metrics.c - the latest evaluation results as Prometheus gauges on /metrics
 *
 * Every replica answers with the same numbers because they come from the database, not
 * from what this process happened to evaluate. Each family is collected in a buffer of its
 * own and the buffers are joined at the end: the exposition format wants all the lines of
 * a family together.
 */
#include "config.h"

#include "monitor/eval_metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/log.h"
#include "monitor/pgtext.h"

#define LOG_PREFIX "metrics: "
#define ACQUIRE_MS 250

enum family {
	F_PSI,
	F_Q,
	F_MMD,
	F_PERF,
	F_EST,
	F_ERR,
	F_COV,
	F_MISS,
	F_PRED,
	F_RATIO,
	F_END,
	F_WIN,
	F_TRUNC,
	NFAM
};

static const struct {
	const char *name, *help;
} fams[NFAM] = {
	[F_PSI] = {"vigil_drift_psi", "PSI of a feature (or the score) in the latest window"},
	[F_Q] = {"vigil_drift_q_value",
		 "Benjamini-Hochberg q-value of a drift test across the latest window's family"},
	[F_MMD] = {"vigil_drift_mmd2", "MMD^2 over the numeric features in the latest window"},
	[F_PERF] = {"vigil_performance",
		    "Realised performance in the latest window with labels, with its status"},
	[F_EST] = {"vigil_performance_estimate",
		   "Label-free (CBPE) performance estimate in the latest window"},
	[F_ERR] = {"vigil_performance_estimate_error",
		   "CBPE estimate minus realised value in the latest window with labels"},
	[F_COV] = {"vigil_label_coverage", "Share of the latest window's predictions with a label"},
	[F_MISS] = {"vigil_missing_rate",
		    "Share of the latest window's predictions missing a feature"},
	[F_PRED] = {"vigil_window_predictions", "Predictions in the latest evaluated window"},
	[F_RATIO] = {"vigil_volume_ratio",
		     "Predictions in the latest window over the reference's expected count"},
	[F_END] = {"vigil_evaluation_window_end_timestamp_seconds",
		   "End of the window the latest values come from (kind latest or performance)"},
	[F_WIN] = {"vigil_evaluation_windows", "Evaluation windows per state"},
	[F_TRUNC] = {"vigil_evaluation_series_truncated",
		     "1 when evaluation series were left out to bound cardinality"},
};

static struct {
	pthread_mutex_t lock;
	double at; /* mon_now() when text was built; 0: never */
	struct mon_buf text;
} cache = {PTHREAD_MUTEX_INITIALIZER, 0, MON_BUF_INIT};

static void label(struct mon_buf *b, const char *key, const char *v, int first)
{
	if (!first)
		mon_buf_putc(b, ',');
	mon_buf_puts(b, key);
	mon_buf_puts(b, "=\"");
	for (const char *p = v ? v : ""; *p; p++) {
		if (*p == '\\' || *p == '"')
			mon_buf_putc(b, '\\');
		if (*p == '\n') {
			mon_buf_puts(b, "\\n");
			continue;
		}
		mon_buf_putc(b, *p);
	}
	mon_buf_putc(b, '"');
}

/* One series of family f: name{labels} value. kv: NULL-terminated key, value pairs. */
static void series(struct mon_buf *fam, enum family f, const char *const *kv, double v)
{
	char t[40];

	mon_buf_puts(&fam[f], fams[f].name);
	if (kv[0]) {
		mon_buf_putc(&fam[f], '{');
		for (size_t i = 0; kv[i]; i += 2)
			label(&fam[f], kv[i], kv[i + 1], i == 0);
		mon_buf_putc(&fam[f], '}');
	}
	snprintf(t, sizeof(t), " %.17g\n", v);
	mon_buf_puts(&fam[f], t);
}

static const char *text_or_empty(const PGresult *r, int i, int col)
{
	return PQgetisnull(r, i, col) ? "" : PQgetvalue(r, i, col);
}

/* The latest windows' results; performance rows from the latest window with labels. */
static const char results_sql[] =
	"WITH lw AS (SELECT m.id, m.name, "
	"(SELECT w.id FROM windows w WHERE w.model_id = m.id AND w.evaluations > 0 "
	"ORDER BY w.start_at DESC LIMIT 1) AS latest, "
	"(SELECT w.id FROM windows w WHERE w.model_id = m.id AND w.evaluations > 0 "
	"AND w.labels_at_eval > 0 ORDER BY w.start_at DESC LIMIT 1) AS perf "
	"FROM models m ORDER BY m.name LIMIT $1::int8), "
	"sel AS (SELECT lw.name, r.* FROM lw JOIN results r ON r.model_id = lw.id "
	"AND r.window_id = lw.latest WHERE r.scope NOT IN ('performance', 'estimate_error') "
	"UNION ALL SELECT lw.name, r.* FROM lw JOIN results r ON r.model_id = lw.id "
	"AND r.window_id = lw.perf WHERE r.scope IN ('performance', 'estimate_error')) "
	"SELECT name, scope, feature, segment, segment_value, metric, value, q_value, status "
	"FROM sel WHERE NOT insufficient AND (value IS NOT NULL OR q_value IS NOT NULL) AND ("
	"(scope IN ('feature', 'score') AND metric IN ('psi', 'ks', 'chi_square')) "
	"OR scope IN ('multivariate', 'label_coverage', 'missing') "
	"OR (scope IN ('performance', 'estimate', 'estimate_error') AND metric IN "
	"('sensitivity', 'specificity', 'ppv', 'npv', 'auroc', 'brier', 'ece', 'cost')) "
	"OR (scope = 'volume' AND segment IS NULL)) "
	"ORDER BY name, window_id, id LIMIT $2::int8 + 1";

static const char windows_sql[] =
	"SELECT m.name, w.state, count(*), "
	"max(extract(epoch FROM w.end_at)) FILTER (WHERE w.evaluations > 0), "
	"max(extract(epoch FROM w.end_at)) FILTER (WHERE w.evaluations > 0 "
	"AND w.labels_at_eval > 0) "
	"FROM (SELECT id, name FROM models ORDER BY name LIMIT $1::int8) m "
	"JOIN windows w ON w.model_id = m.id GROUP BY m.name, w.state ORDER BY m.name, w.state";

static void result_row(struct mon_buf *fam, const PGresult *r, int i, size_t *n)
{
	const char *model = PQgetvalue(r, i, 0), *scope = PQgetvalue(r, i, 1);
	const char *feature = PQgetisnull(r, i, 2) ? "score" : PQgetvalue(r, i, 2);
	const char *seg = text_or_empty(r, i, 3), *val = text_or_empty(r, i, 4);
	const char *metric = PQgetvalue(r, i, 5), *status = text_or_empty(r, i, 8);
	double v = PQgetisnull(r, i, 6) ? NAN : strtod(PQgetvalue(r, i, 6), NULL);
	double q = PQgetisnull(r, i, 7) ? NAN : strtod(PQgetvalue(r, i, 7), NULL);

	if (!strcmp(scope, "feature") || !strcmp(scope, "score")) {
		if (!strcmp(metric, "psi") && isfinite(v)) {
			series(fam, F_PSI,
			       (const char *const[]){"model", model, "feature", feature, "segment",
						     seg, "segment_value", val, NULL},
			       v);
			(*n)++;
		} else if (isfinite(q)) {
			series(fam, F_Q,
			       (const char *const[]){"model", model, "feature", feature, "segment",
						     seg, "segment_value", val, "test", metric,
						     NULL},
			       q);
			(*n)++;
		}
	} else if (!strcmp(scope, "multivariate")) {
		if (isfinite(v))
			series(fam, F_MMD, (const char *const[]){"model", model, NULL}, v);
		if (isfinite(q))
			series(fam, F_Q,
			       (const char *const[]){"model", model, "feature", "", "segment", "",
						     "segment_value", "", "test", "mmd", NULL},
			       q);
		*n += 2;
	} else if (!isfinite(v)) {
		return;
	} else if (!strcmp(scope, "performance") || !strcmp(scope, "estimate_error")) {
		series(fam, scope[0] == 'p' ? F_PERF : F_ERR,
		       (const char *const[]){"model", model, "metric", metric, "segment", seg,
					     "segment_value", val, "status", status, NULL},
		       v);
		(*n)++;
	} else if (!strcmp(scope, "estimate")) {
		series(fam, F_EST,
		       (const char *const[]){"model", model, "metric", metric, "segment", seg,
					     "segment_value", val, NULL},
		       v);
		(*n)++;
	} else if (!strcmp(scope, "label_coverage")) {
		series(fam, F_COV,
		       (const char *const[]){"model", model, "segment", seg, "segment_value", val,
					     NULL},
		       v);
		(*n)++;
	} else if (!strcmp(scope, "missing")) {
		series(fam, F_MISS,
		       (const char *const[]){"model", model, "feature", feature, "segment", seg,
					     "segment_value", val, NULL},
		       v);
		(*n)++;
	} else if (!strcmp(scope, "volume")) {
		series(fam, !strcmp(metric, "count") ? F_PRED : F_RATIO,
		       (const char *const[]){"model", model, NULL}, v);
		(*n)++;
	}
}

/* Build the text into out. Returns 0, or -1 when the database could not be read. */
static int build(struct mon_server *srv, struct mon_buf *out)
{
	struct mon_buf fam[NFAM];
	char models[24], cap[24];
	const char *params[2] = {models, cap};
	PGresult *r = NULL;
	PGconn *c;
	size_t n = 0;
	int ret = -1, truncated = 0;

	if (mon_db_acquire(srv->db, ACQUIRE_MS, &c))
		return -1;
	for (int f = 0; f < NFAM; f++)
		mon_buf_init(&fam[f]);
	snprintf(models, sizeof(models), "%d", MON_METRICS_MAX_MODELS);
	snprintf(cap, sizeof(cap), "%d", MON_EVAL_METRICS_MAX_SERIES);
	r = PQexecParams(c, results_sql, 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_warn(LOG_PREFIX "could not read the latest results: %s", PQerrorMessage(c));
		goto out;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		if (n >= MON_EVAL_METRICS_MAX_SERIES) {
			truncated = 1;
			break;
		}
		result_row(fam, r, i, &n);
	}
	PQclear(r);
	r = PQexecParams(c, windows_sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_warn(LOG_PREFIX "could not count windows: %s", PQerrorMessage(c));
		goto out;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		const char *model = PQgetvalue(r, i, 0);

		series(fam, F_WIN,
		       (const char *const[]){"model", model, "state", PQgetvalue(r, i, 1), NULL},
		       strtod(PQgetvalue(r, i, 2), NULL));
		/* the done group carries the ends (only evaluated windows are done) */
		if (!PQgetisnull(r, i, 3))
			series(fam, F_END,
			       (const char *const[]){"model", model, "kind", "latest", NULL},
			       strtod(PQgetvalue(r, i, 3), NULL));
		if (!PQgetisnull(r, i, 4))
			series(fam, F_END,
			       (const char *const[]){"model", model, "kind", "performance", NULL},
			       strtod(PQgetvalue(r, i, 4), NULL));
	}
	series(fam, F_TRUNC, (const char *const[]){NULL}, truncated);
	for (int f = 0; f < NFAM; f++) {
		if (!fam[f].len)
			continue;
		mon_buf_puts(out, "# HELP ");
		mon_buf_puts(out, fams[f].name);
		mon_buf_putc(out, ' ');
		mon_buf_puts(out, fams[f].help);
		mon_buf_puts(out, "\n# TYPE ");
		mon_buf_puts(out, fams[f].name);
		mon_buf_puts(out, " gauge\n");
		mon_buf_put(out, fam[f].p, fam[f].len);
	}
	ret = 0;
out:
	PQclear(r);
	mon_db_release(srv->db, c, ret && mon_db_unavailable(c, NULL));
	for (int f = 0; f < NFAM; f++)
		mon_buf_fini(&fam[f]);
	return ret;
}

void mon_eval_metrics_append(struct mon_server *srv, char **text, size_t *len)
{
	double now = mon_now();

	pthread_mutex_lock(&cache.lock);
	if (!cache.at || now - cache.at > MON_EVAL_METRICS_TTL_S) {
		struct mon_buf b = MON_BUF_INIT;

		if (build(srv, &b) == 0) {
			mon_buf_fini(&cache.text);
			cache.text = b;
			cache.at = now;
		} else {
			mon_buf_fini(&b);
		}
	}
	if (cache.at && cache.text.len) {
		*text = mon_xrealloc(*text, *len + cache.text.len + 1);
		memcpy(*text + *len, cache.text.p, cache.text.len);
		*len += cache.text.len;
		(*text)[*len] = '\0';
	}
	pthread_mutex_unlock(&cache.lock);
}
