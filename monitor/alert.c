/* SPDX-License-Identifier: MIT
 * monitor/alert.c - the alert engine: results to decisions, decisions to alert states,
 * state changes to the audit log and the notification outbox
 *
 * Evaluating a window, per enabled rule: read the window's results that the rule can see
 * (one statement, sorted by group), read the reference's values when a condition is
 * relative to it, drop the window's old decisions of the rule, decide each group and write
 * its decision, then walk every fingerprint whose decisions changed: count its streaks
 * over its newest decisions, compare them with its alert's state, and write the change.
 * Decisions are kept per window rather than as bare counters because windows arrive again
 * (late labels re-evaluate them) and out of order (several replicas share the scheduler's
 * work); a counter cannot tell a window it already counted.
 *
 * Everything of one evaluation is one transaction, so the outbox never announces a state
 * that did not commit and no state change commits unannounced (the outbox pattern). The
 * statements per fingerprint are few and small; a model with 40 features and 30 segment
 * values makes a few hundred of them per window.
 */
#include "config.h"

#include "monitor/alert.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/alert_rule.h"
#include "monitor/audit.h"
#include "monitor/db.h"
#include "monitor/log.h"
#include "monitor/pgtext.h"
#include "monitor/server.h"

#define LOG_PREFIX "alert: "

/* Decisions read per fingerprint: for and clear are at most 100. */
#define STREAK_MAX 100

static int db_error(PGconn *c, const PGresult *r, const char *what)
{
	return mon_db_error(c, r, LOG_PREFIX, what);
}

/* Run sql with n text parameters; on success *out holds the result (PQclear it). */
static int run(PGconn *c, const char *sql, int n, const char *const *p, PGresult **out,
	       const char *what)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
	ExecStatusType s = PQresultStatus(r);

	*out = NULL;
	if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
		int ret = db_error(c, r, what);

		PQclear(r);
		return ret;
	}
	*out = r;
	return 0;
}

static int cmd(PGconn *c, const char *sql, int n, const char *const *p, const char *what)
{
	PGresult *r;
	int ret = run(c, sql, n, p, &r, what);

	PQclear(r);
	return ret;
}

static void rollback(PGconn *c)
{
	if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
}

static const char *val(const PGresult *r, int i, int col)
{
	return PQgetisnull(r, i, col) ? NULL : PQgetvalue(r, i, col);
}

static double num(const PGresult *r, int i, int col)
{
	return PQgetisnull(r, i, col) ? NAN : strtod(PQgetvalue(r, i, col), NULL);
}

/* NULL equals only NULL. */
static int same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static void add_num(cJSON *o, const char *key, double v)
{
	if (isnan(v))
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key, v);
}

static void add_text(cJSON *o, const char *key, const char *s)
{
	if (s)
		cJSON_AddStringToObject(o, key, s);
	else
		cJSON_AddNullToObject(o, key);
}

/* Take the per-model alert lock for the rest of the transaction. */
static int lock_model(PGconn *c, const char *model_id)
{
	const char *p[1] = {model_id};

	return cmd(c,
		   "SELECT pg_advisory_xact_lock(" MON_LOCK_ALERT_CLASS_SQL ", "
		   "($1::int8 % 2147483648)::int4)",
		   1, p, "could not take the alert lock");
}

/* --- state changes: events, audit, outbox ------------------------------------------------ */

/* The columns every alert statement returns, for record() and payload(). */
#define ALERT_COLS                                                                                 \
	"a.id, a.fingerprint, a.labels::text, alert_ts(a.first_breach), alert_ts(a.resolved_at), " \
	"a.breach_values::text, a.state, a.consecutive_breaches, a.model_id"
enum { AC_ID, AC_FP, AC_LABELS, AC_FIRST, AC_RESOLVED, AC_VALUES, AC_STATE, AC_BREACHES, AC_MODEL };

static const char *label(const cJSON *labels, const char *key)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(labels, key));

	return s ? s : "";
}

/* "sensitivity 0.61 [0.55, 0.67] (n 240) ci_below 0.75 (reference 0.8 - 0.05)" */
static void describe_value(struct mon_buf *b, const cJSON *v)
{
	const cJSON *lo = cJSON_GetObjectItem(v, "ci_low"), *hi = cJSON_GetObjectItem(v, "ci_high");
	const cJSON *q = cJSON_GetObjectItem(v, "q_value"), *n = cJSON_GetObjectItem(v, "n");
	const cJSON *ref = cJSON_GetObjectItem(v, "reference");
	char t[256];

	snprintf(t, sizeof(t), "%s %.4g", label(v, "metric"),
		 cJSON_GetNumberValue(cJSON_GetObjectItem(v, "value")));
	mon_buf_puts(b, t);
	if (cJSON_IsNumber(lo) && cJSON_IsNumber(hi)) {
		snprintf(t, sizeof(t), " [%.4g, %.4g]", lo->valuedouble, hi->valuedouble);
		mon_buf_puts(b, t);
	}
	if (cJSON_IsNumber(q)) {
		snprintf(t, sizeof(t), " q %.3g", q->valuedouble);
		mon_buf_puts(b, t);
	}
	if (cJSON_IsNumber(n)) {
		snprintf(t, sizeof(t), " (n %.0f)", n->valuedouble);
		mon_buf_puts(b, t);
	}
	snprintf(t, sizeof(t), " %s %.4g", label(v, "condition"),
		 cJSON_GetNumberValue(cJSON_GetObjectItem(v, "threshold")));
	mon_buf_puts(b, t);
	if (cJSON_IsNumber(ref)) {
		snprintf(t, sizeof(t), " (reference %.4g %+.4g)", ref->valuedouble,
			 cJSON_GetNumberValue(cJSON_GetObjectItem(v, "offset")));
		mon_buf_puts(b, t);
	}
}

/* The outbox payload of event for the alert in row 0 of r: Alertmanager's shape (labels,
 * annotations, startsAt, endsAt, generatorURL) plus status, fingerprint, alert_id, event
 * and the breaching values. why ends the description. */
static cJSON *payload(const PGresult *r, const char *event, const char *why)
{
	cJSON *p = cJSON_CreateObject(), *labels = cJSON_Parse(PQgetvalue(r, 0, AC_LABELS));
	cJSON *bv = cJSON_Parse(PQgetvalue(r, 0, AC_VALUES)), *ann, *vals, *v;
	struct mon_buf b = MON_BUF_INIT;
	char url[64];
	int first = 1;

	if (!p || !labels || !bv)
		abort();
	mon_buf_puts(&b, label(labels, "alertname"));
	mon_buf_puts(&b, " on model ");
	mon_buf_puts(&b, label(labels, "model"));
	if (*label(labels, "feature")) {
		mon_buf_puts(&b, ", feature ");
		mon_buf_puts(&b, label(labels, "feature"));
	}
	if (*label(labels, "segment")) {
		mon_buf_puts(&b, ", segment ");
		mon_buf_puts(&b, label(labels, "segment"));
		mon_buf_putc(&b, '=');
		mon_buf_puts(&b, label(labels, "segment_value"));
	}
	ann = cJSON_AddObjectToObject(p, "annotations");
	cJSON_AddStringToObject(ann, "summary", mon_buf_str(&b));
	b.len = 0;
	vals = cJSON_GetObjectItem(bv, "values");
	cJSON_ArrayForEach (v, vals) {
		if (!first)
			mon_buf_puts(&b, "; ");
		describe_value(&b, v);
		first = 0;
	}
	if (!first) {
		mon_buf_puts(&b, " in the window ending ");
		mon_buf_puts(&b, label(bv, "window_end"));
		mon_buf_puts(&b, ". ");
	}
	mon_buf_puts(&b, why);
	cJSON_AddStringToObject(ann, "description", mon_buf_str(&b));
	cJSON_AddItemToObject(p, "labels", labels);
	cJSON_AddStringToObject(p, "startsAt", PQgetvalue(r, 0, AC_FIRST));
	if (!strcmp(event, "resolved") && !PQgetisnull(r, 0, AC_RESOLVED))
		cJSON_AddStringToObject(p, "endsAt", PQgetvalue(r, 0, AC_RESOLVED));
	else
		cJSON_AddNullToObject(p, "endsAt");
	snprintf(url, sizeof(url), "/v1/alerts/%s", PQgetvalue(r, 0, AC_ID));
	cJSON_AddStringToObject(p, "generatorURL", url);
	cJSON_AddStringToObject(p, "status", strcmp(event, "resolved") ? "firing" : "resolved");
	cJSON_AddStringToObject(p, "fingerprint", PQgetvalue(r, 0, AC_FP));
	cJSON_AddNumberToObject(p, "alert_id", strtod(PQgetvalue(r, 0, AC_ID), NULL));
	cJSON_AddStringToObject(p, "event", event);
	cJSON_AddItemToObject(p, "values", vals ? cJSON_Duplicate(vals, 1) : cJSON_CreateArray());
	cJSON_Delete(bv);
	mon_buf_fini(&b);
	return p;
}

/* Queue event for the alert in row 0 of r. */
static int enqueue(PGconn *c, const PGresult *r, const char *event, const char *why)
{
	cJSON *p = payload(r, event, why);
	char *text = cJSON_PrintUnformatted(p);
	const char *params[3] = {PQgetvalue(r, 0, AC_ID), event, text};
	int ret;

	if (!text)
		abort();
	ret = cmd(c,
		  "INSERT INTO notifications (alert_id, event, payload) "
		  "VALUES ($1::int8, $2, $3::jsonb)",
		  3, params, "could not queue a notification");
	cJSON_free(text);
	cJSON_Delete(p);
	return ret;
}

/* Record a state change of the alert in row 0 of r: alert_events and the audit log. */
static int record(PGconn *c, const PGresult *r, const char *from, const char *to, const char *actor,
		  const char *remote, const char *note, const char *window_id, int muted)
{
	const char *params[6] = {PQgetvalue(r, 0, AC_ID), from, to, actor, note, window_id};
	cJSON *detail = cJSON_CreateObject(), *labels = cJSON_Parse(PQgetvalue(r, 0, AC_LABELS));
	char target[48], action[32];
	int ret;

	ret = cmd(
		c,
		"INSERT INTO alert_events (alert_id, from_state, to_state, actor, note, window_id) "
		"VALUES ($1::int8, $2, $3, $4, $5, $6::int8)",
		6, params, "could not record an alert event");
	if (ret)
		goto out;
	add_text(detail, "from", from);
	cJSON_AddStringToObject(detail, "to", to);
	cJSON_AddStringToObject(detail, "note", note);
	cJSON_AddStringToObject(detail, "fingerprint", PQgetvalue(r, 0, AC_FP));
	if (labels)
		cJSON_AddItemToObject(detail, "labels", labels);
	labels = NULL;
	if (window_id)
		cJSON_AddNumberToObject(detail, "window_id", strtod(window_id, NULL));
	cJSON_AddBoolToObject(detail, "muted", muted);
	snprintf(target, sizeof(target), "alert/%s", PQgetvalue(r, 0, AC_ID));
	snprintf(action, sizeof(action), "alert.%s", to);
	ret = mon_audit_append(c, actor, action, target, remote, to, detail);
out:
	cJSON_Delete(labels);
	cJSON_Delete(detail);
	return ret;
}

/* --- evaluation ------------------------------------------------------------------------ */

struct refval {
	char *segment, *segment_value, *metric;
	double value;
};

struct eval {
	PGconn *c;
	int64_t model_id, window_id;
	char model_s[24], window_s[24];
	char model_name[COL_NAME_MAX + 1];
	char window_end[64]; /* end_at as PostgreSQL wrote it, to pass back */
	/* the window the current rule decides on: the evaluated one, or for a rule with
	 * due_after the newest that ended that long before it */
	char rwin_s[24], rwin_end[64];
	struct mon_alert_eval_stats st;
	struct refval *refs;
	size_t nrefs;
	char **fps; /* fingerprints whose decisions changed in this rule */
	size_t nfps, capfps;
};

static void refs_clear(struct eval *ev)
{
	for (size_t i = 0; i < ev->nrefs; i++) {
		free(ev->refs[i].segment);
		free(ev->refs[i].segment_value);
		free(ev->refs[i].metric);
	}
	free(ev->refs);
	ev->refs = NULL;
	ev->nrefs = 0;
}

static void fps_clear(struct eval *ev)
{
	for (size_t i = 0; i < ev->nfps; i++)
		free(ev->fps[i]);
	ev->nfps = 0;
}

static void fps_add(struct eval *ev, const char *fp)
{
	if (ev->nfps == ev->capfps) {
		ev->capfps = ev->capfps ? 2 * ev->capfps : 64;
		ev->fps = mon_xrealloc(ev->fps, ev->capfps * sizeof(*ev->fps));
	}
	ev->fps[ev->nfps++] = mon_xstrndup(fp, strlen(fp));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *dup_or_null(const char *s)
{
	return s ? mon_xstrndup(s, strlen(s)) : NULL;
}

/* The reference's own value of metric for a segment value, else for its whole population;
 * NaN when it has neither. *whole = 1 when the whole population's stood in for a segment
 * value's. The newest row wins (refs are newest first). */
static double ref_value(const struct eval *ev, const char *metric, const char *seg,
			const char *segv, int *whole)
{
	double overall = NAN;

	*whole = 0;
	for (size_t i = 0; i < ev->nrefs; i++) {
		const struct refval *rv = &ev->refs[i];

		if (strcmp(rv->metric, metric))
			continue;
		if (seg && same(rv->segment, seg) && same(rv->segment_value, segv))
			return rv->value;
		if (!rv->segment && !rv->segment_value && isnan(overall))
			overall = rv->value;
	}
	*whole = seg != NULL;
	return overall;
}

/* The metric names of every clause, as a text[] literal. */
static void metric_list(const struct mon_alert_rule *rule, struct mon_buf *b)
{
	int first = 1;

	mon_buf_putc(b, '{');
	for (size_t k = 0; k < rule->nclause; k++) {
		for (size_t m = 0; m < rule->clause[k].nmetric; m++) {
			if (!first)
				mon_buf_putc(b, ',');
			mon_pgtext_array_elem(b, rule->clause[k].metric[m]);
			first = 0;
		}
	}
	mon_buf_putc(b, '}');
}

static int load_refs(struct eval *ev, const char *metrics)
{
	const char *p[2] = {ev->rwin_s, metrics};
	PGresult *r;
	int ret;

	/* the reference the window was evaluated against, else the active one; newest first */
	refs_clear(ev);
	ret = run(
		ev->c,
		"SELECT rm.segment, rm.segment_value, rm.metric, rm.value "
		"FROM reference_metrics rm WHERE rm.reference_id = (SELECT "
		"coalesce(w.reference_id, (SELECT mr.id FROM model_references mr WHERE "
		"mr.model_id = w.model_id AND mr.active)) FROM windows w WHERE w.id = $1::int8) "
		"AND rm.metric = ANY($2::text[]) AND rm.value IS NOT NULL AND NOT rm.insufficient "
		"ORDER BY rm.computed_at DESC",
		2, p, &r, "could not read the reference's metrics");
	if (ret)
		return ret;
	ev->refs = mon_xcalloc((size_t)PQntuples(r) + 1, sizeof(*ev->refs));
	for (int i = 0; i < PQntuples(r); i++) {
		struct refval *rv = &ev->refs[ev->nrefs++];

		rv->segment = dup_or_null(val(r, i, 0));
		rv->segment_value = dup_or_null(val(r, i, 1));
		rv->metric = dup_or_null(PQgetvalue(r, i, 2));
		rv->value = num(r, i, 3);
	}
	PQclear(r);
	return 0;
}

/* Columns of the results statement. */
enum {
	RC_FEATURE,
	RC_SEG,
	RC_SEGV,
	RC_METRIC,
	RC_VALUE,
	RC_LO,
	RC_HI,
	RC_Q,
	RC_N,
	RC_INSUF,
	RC_P,
	RC_NREF,
	RC_STATUS,
	RC_METHOD
};

/* Decide rows [lo, hi) of r, one group. Returns 1 and fills *observed and *breach when
 * every clause was decided, else 0. */
static int decide_group(const struct eval *ev, const struct mon_alert_rule *rule, const PGresult *r,
			int lo, int hi, cJSON **observed, int *breach)
{
	cJSON *obs = cJSON_CreateArray();

	*breach = 1;
	for (size_t k = 0; k < rule->nclause; k++) {
		const struct mon_alert_clause *cl = &rule->clause[k];
		struct mon_alert_obs o;
		enum mon_alert_decision dec;
		double x = cl->x, ref = NAN;
		int row = -1, whole = 0;
		cJSON *v;

		for (int i = lo; i < hi && row < 0; i++)
			for (size_t m = 0; m < cl->nmetric && row < 0; m++)
				if (!strcmp(PQgetvalue(r, i, RC_METRIC), cl->metric[m]))
					row = i;
		if (row < 0)
			goto undecided;
		o.value = num(r, row, RC_VALUE);
		o.ci_low = num(r, row, RC_LO);
		o.ci_high = num(r, row, RC_HI);
		o.q_value = num(r, row, RC_Q);
		o.n = PQgetisnull(r, row, RC_N) ? -1 : strtoll(PQgetvalue(r, row, RC_N), NULL, 10);
		o.insufficient = !strcmp(PQgetvalue(r, row, RC_INSUF), "t");
		if (cl->relative) {
			ref = ref_value(ev, PQgetvalue(r, row, RC_METRIC), val(r, row, RC_SEG),
					val(r, row, RC_SEGV), &whole);
			x = ref + cl->x;
		}
		dec = mon_alert_clause_decide(cl, &o, x, rule->min_n);
		if (dec == MON_ALERT_UNDECIDED)
			goto undecided;
		if (dec == MON_ALERT_CLEAN)
			*breach = 0;
		v = cJSON_CreateObject();
		cJSON_AddStringToObject(v, "metric", PQgetvalue(r, row, RC_METRIC));
		add_num(v, "value", o.value);
		add_num(v, "ci_low", o.ci_low);
		add_num(v, "ci_high", o.ci_high);
		add_num(v, "p_value", num(r, row, RC_P));
		add_num(v, "q_value", o.q_value);
		add_num(v, "n", o.n < 0 ? NAN : (double)o.n);
		add_num(v, "n_reference", num(r, row, RC_NREF));
		add_text(v, "status", val(r, row, RC_STATUS));
		add_text(v, "method", val(r, row, RC_METHOD));
		cJSON_AddStringToObject(v, "condition", mon_alert_op_name(cl->op));
		cJSON_AddNumberToObject(v, "threshold", x);
		if (cl->relative) {
			cJSON_AddNumberToObject(v, "reference", ref);
			cJSON_AddNumberToObject(v, "offset", cl->x);
			cJSON_AddBoolToObject(v, "reference_whole_population", whole);
		}
		cJSON_AddBoolToObject(v, "breach", dec == MON_ALERT_BREACH);
		cJSON_AddItemToArray(obs, v);
	}
	*observed = obs;
	return 1;
undecided:
	cJSON_Delete(obs);
	return 0;
}

/* Columns of the decisions statement. */
enum {
	DC_WINDOW,
	DC_END_TS,
	DC_BREACH,
	DC_OBSERVED,
	DC_SCOPE,
	DC_FEATURE,
	DC_SEG,
	DC_SEGV,
	DC_END_PG
};

/* {"window_id", "window_end", "values"} of decision row i. */
static char *breach_values(const PGresult *d, int i)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	cJSON_AddNumberToObject(o, "window_id", strtod(PQgetvalue(d, i, DC_WINDOW), NULL));
	cJSON_AddStringToObject(o, "window_end", PQgetvalue(d, i, DC_END_TS));
	cJSON_AddItemToObject(o, "values", cJSON_Parse(PQgetvalue(d, i, DC_OBSERVED)));
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		abort();
	return s;
}

enum change { CH_NONE, CH_FIRE, CH_REOPEN, CH_RESOLVE };

/* Bring the alert of fingerprint fp in line with its decisions. */
static int process_fp(struct eval *ev, const struct mon_alert_rule *rule, const char *fp)
{
	char rule_s[24], nb_s[16], nc_s[16], why[256] = "";
	const char *p[20];
	PGresult *a = NULL, *d = NULL, *m = NULL, *w = NULL;
	cJSON *labels = NULL;
	char *labels_text = NULL, *bv = NULL;
	const char *state = NULL, *from = NULL, *to = NULL;
	enum change ch = CH_NONE;
	int nd, streak_b = 0, streak_c = 0, newest_breach = -1, muted, notified = 0, send = 0;
	int ret;

	snprintf(rule_s, sizeof(rule_s), "%" PRId64, rule->id);
	p[0] = fp;
	ret = run(ev->c, "SELECT id, state, notified FROM alerts WHERE fingerprint = $1 FOR UPDATE",
		  1, p, &a, "could not read an alert");
	if (ret)
		goto out;
	if (PQntuples(a)) {
		state = PQgetvalue(a, 0, 1);
		notified = !strcmp(PQgetvalue(a, 0, 2), "t");
	}
	ret = run(
		ev->c,
		"SELECT window_id, alert_ts(window_end), breach, observed::text, scope, feature, "
		"segment, segment_value, window_end::text FROM alert_decisions WHERE fingerprint = "
		"$1 AND window_end > coalesce((SELECT counted_after FROM alerts WHERE fingerprint "
		"= $1), '-infinity') ORDER BY window_end DESC, window_id DESC LIMIT "
		"101",
		1, p, &d, "could not read alert decisions");
	if (ret)
		goto out;
	nd = PQntuples(d);
	if (nd == 0) {
		/* every counted decision is gone (its window re-evaluated without enough data) */
		if (state)
			ret = cmd(
				ev->c,
				"UPDATE alerts SET consecutive_breaches = 0, consecutive_clean = 0 "
				"WHERE fingerprint = $1",
				1, p, "could not update an alert");
		goto out;
	}
	for (int i = 0; i < nd && i < STREAK_MAX; i++) {
		int b = !strcmp(PQgetvalue(d, i, DC_BREACH), "t");

		if (b && newest_breach < 0)
			newest_breach = i;
		if (i == streak_b && b)
			streak_b++;
		if (i == streak_c && !b)
			streak_c++;
	}
	if (!state) {
		if (streak_b < rule->for_windows)
			goto out; /* no alert until it fires */
		ch = CH_FIRE;
	} else if (strcmp(state, "resolved")) {
		if (streak_c >= rule->clear_windows)
			ch = CH_RESOLVE;
	} else if (streak_b >= rule->for_windows) {
		ch = CH_REOPEN;
	}

	labels = cJSON_CreateObject();
	cJSON_AddStringToObject(labels, "alertname", rule->name);
	cJSON_AddStringToObject(labels, "model", ev->model_name);
	cJSON_AddStringToObject(labels, "rule", rule->name);
	cJSON_AddStringToObject(labels, "scope", PQgetvalue(d, 0, DC_SCOPE));
	cJSON_AddStringToObject(labels, "feature", PQgetvalue(d, 0, DC_FEATURE));
	cJSON_AddStringToObject(labels, "segment", PQgetvalue(d, 0, DC_SEG));
	cJSON_AddStringToObject(labels, "segment_value", PQgetvalue(d, 0, DC_SEGV));
	cJSON_AddStringToObject(labels, "severity", rule->severity);
	labels_text = cJSON_PrintUnformatted(labels);
	if (!labels_text)
		abort();
	p[0] = labels_text;
	p[1] = ev->model_s;
	p[2] = PQgetvalue(d, 0, DC_SCOPE);
	ret = run(ev->c,
		  "SELECT EXISTS (SELECT 1 FROM alert_silences_for($1::jsonb, now())), "
		  "alert_inhibited($2::int8, $3)",
		  3, p, &m, "could not check silences");
	if (ret)
		goto out;
	muted = !strcmp(PQgetvalue(m, 0, 0), "t") || !strcmp(PQgetvalue(m, 0, 1), "t");

	snprintf(nb_s, sizeof(nb_s), "%d", streak_b);
	snprintf(nc_s, sizeof(nc_s), "%d", streak_c);
	if (newest_breach >= 0)
		bv = breach_values(d, newest_breach);
	if (ch == CH_FIRE || ch == CH_REOPEN) {
		notified = !muted;
		send = !muted;
		snprintf(why, sizeof(why),
			 "Breached in %d consecutive window%s (fires after %d); %s.", streak_b,
			 streak_b == 1 ? "" : "s", rule->for_windows,
			 ch == CH_FIRE ? "firing" : "reopened");
	} else if (ch == CH_RESOLVE) {
		send = !muted && notified;
		snprintf(why, sizeof(why), "Clean in %d consecutive window%s (resolves after %d).",
			 streak_c, streak_c == 1 ? "" : "s", rule->clear_windows);
	} else if (!strcmp(state, "firing") && !muted && !notified) {
		/* it fired while muted; now it is not */
		notified = send = 1;
		snprintf(why, sizeof(why), "Firing; no longer silenced or inhibited.");
	}

	if (ch == CH_FIRE) {
		const char *ip[19] = {fp,
				      ev->model_s,
				      rule_s,
				      PQgetvalue(d, 0, DC_SCOPE),
				      val(d, 0, DC_FEATURE),
				      val(d, 0, DC_SEG),
				      val(d, 0, DC_SEGV),
				      labels_text,
				      rule->severity,
				      PQgetvalue(d, streak_b - 1, DC_END_PG),
				      PQgetvalue(d, newest_breach, DC_END_PG),
				      nb_s,
				      nc_s,
				      PQgetvalue(d, 0, DC_WINDOW),
				      PQgetvalue(d, 0, DC_END_PG),
				      bv,
				      !strcmp(PQgetvalue(m, 0, 0), "t") ? "t" : "f",
				      !strcmp(PQgetvalue(m, 0, 1), "t") ? "t" : "f",
				      notified ? "t" : "f"};

		ret = run(
			ev->c,
			"INSERT INTO alerts AS a (fingerprint, model_id, rule_id, scope, feature, "
			"segment, segment_value, labels, severity, state, first_breach, "
			"last_breach, "
			"consecutive_breaches, consecutive_clean, last_window_id, last_window_end, "
			"breach_values, silenced, inhibited, notified) VALUES ($1, $2::int8, "
			"$3::int8, "
			"$4, $5, $6, $7, $8::jsonb, $9, 'firing', $10::timestamptz, "
			"$11::timestamptz, "
			"$12::int, $13::int, $14::int8, $15::timestamptz, $16::jsonb, "
			"$17::boolean, "
			"$18::boolean, $19::boolean) RETURNING " ALERT_COLS,
			19, ip, &w, "could not create an alert");
		from = NULL;
		to = "firing";
	} else {
		const char *kind = ch == CH_RESOLVE ? "resolve" : ch == CH_REOPEN ? "reopen" : "";
		const char *up[19] = {
			fp,
			ch == CH_RESOLVE  ? "resolved"
			: ch == CH_REOPEN ? "firing"
					  : state,
			nb_s,
			nc_s,
			PQgetvalue(d, 0, DC_WINDOW),
			PQgetvalue(d, 0, DC_END_PG),
			newest_breach >= 0 ? PQgetvalue(d, newest_breach, DC_END_PG) : NULL,
			bv,
			!strcmp(PQgetvalue(m, 0, 0), "t") ? "t" : "f",
			!strcmp(PQgetvalue(m, 0, 1), "t") ? "t" : "f",
			notified ? "t" : "f",
			rule->severity,
			labels_text,
			kind,
			why,
			ch == CH_REOPEN ? PQgetvalue(d, streak_b - 1, DC_END_PG) : NULL};

		ret = run(
			ev->c,
			"UPDATE alerts a SET state = $2, consecutive_breaches = $3::int, "
			"consecutive_clean = $4::int, last_window_id = $5::int8, last_window_end = "
			"$6::timestamptz, last_breach = CASE WHEN $7::timestamptz > last_breach OR "
			"$14 "
			"= 'reopen' THEN $7::timestamptz ELSE last_breach END, breach_values = "
			"CASE "
			"WHEN $7::timestamptz >= last_breach OR $14 = 'reopen' THEN $8::jsonb ELSE "
			"breach_values END, silenced = $9::boolean, inhibited = $10::boolean, "
			"notified = $11::boolean, severity = $12, labels = $13::jsonb, "
			"updated_at = CASE WHEN $14 = '' AND state = $2 AND last_window_id IS NOT "
			"DISTINCT FROM $5::int8 AND consecutive_breaches = $3::int AND "
			"consecutive_clean = $4::int THEN updated_at ELSE now() END, "
			"resolved_by = CASE $14 WHEN 'resolve' THEN 'vigil' WHEN 'reopen' THEN "
			"NULL "
			"ELSE resolved_by END, resolved_at = CASE $14 WHEN 'resolve' THEN now() "
			"WHEN "
			"'reopen' THEN NULL ELSE resolved_at END, resolve_note = CASE $14 WHEN "
			"'resolve' THEN $15 WHEN 'reopen' THEN NULL ELSE resolve_note END, "
			"acked_by = CASE $14 WHEN 'reopen' THEN NULL ELSE acked_by END, acked_at = "
			"CASE $14 WHEN 'reopen' THEN NULL ELSE acked_at END, ack_note = CASE $14 "
			"WHEN "
			"'reopen' THEN NULL ELSE ack_note END, first_breach = CASE $14 WHEN "
			"'reopen' "
			"THEN $16::timestamptz ELSE first_breach END, fired_at = CASE $14 WHEN "
			"'reopen' THEN now() ELSE fired_at END WHERE fingerprint = $1 "
			"RETURNING " ALERT_COLS,
			16, up, &w, "could not update an alert");
		from = state;
		to = ch == CH_RESOLVE ? "resolved" : "firing";
	}
	if (ret)
		goto out;
	if (ch != CH_NONE) {
		ret = record(ev->c, w, from, to, "vigil", "", why, ev->rwin_s, muted);
		if (ret)
			goto out;
		if (ch == CH_RESOLVE)
			ev->st.resolved++;
		else
			ev->st.fired++;
	}
	if (send) {
		ret = enqueue(ev->c, w, ch == CH_RESOLVE ? "resolved" : "firing", why);
		if (ret)
			goto out;
		ev->st.notifications++;
	}
out:
	PQclear(w);
	PQclear(m);
	PQclear(d);
	PQclear(a);
	cJSON_free(bv);
	cJSON_free(labels_text);
	cJSON_Delete(labels);
	return ret;
}

static int eval_rule(struct eval *ev, const struct mon_alert_rule *rule)
{
	struct mon_buf metrics = MON_BUF_INIT;
	char rule_s[24];
	const char *p[10];
	PGresult *r = NULL, *x = NULL;
	int ret, relative = 0, n, lo;

	snprintf(rule_s, sizeof(rule_s), "%" PRId64, rule->id);
	fps_clear(ev);
	snprintf(ev->rwin_s, sizeof(ev->rwin_s), "%s", ev->window_s);
	snprintf(ev->rwin_end, sizeof(ev->rwin_end), "%s", ev->window_end);
	if (rule->due_after_s > 0) {
		char age[24];
		const char *q[3] = {ev->model_s, ev->window_end, age};

		snprintf(age, sizeof(age), "%lld", rule->due_after_s);
		ret = run(
			ev->c,
			"SELECT id, end_at::text FROM windows WHERE model_id = $1::int8 AND end_at "
			"<= $2::timestamptz - $3::int8 * interval '1 second' ORDER BY end_at DESC, "
			"id DESC LIMIT 1",
			3, q, &r, "could not find a due window");
		if (ret)
			goto out;
		if (PQntuples(r) == 0)
			goto out; /* no window is old enough yet */
		snprintf(ev->rwin_s, sizeof(ev->rwin_s), "%s", PQgetvalue(r, 0, 0));
		snprintf(ev->rwin_end, sizeof(ev->rwin_end), "%s", PQgetvalue(r, 0, 1));
		PQclear(r);
		r = NULL;
	}
	metric_list(rule, &metrics);
	for (size_t k = 0; k < rule->nclause; k++)
		relative |= rule->clause[k].relative;
	if (relative) {
		ret = load_refs(ev, mon_buf_str(&metrics));
		if (ret)
			goto out;
	}
	p[0] = ev->model_s;
	p[1] = ev->rwin_s;
	p[2] = rule->scope;
	p[3] = mon_buf_str(&metrics);
	p[4] = rule->feature;
	p[5] = rule->segment;
	p[6] = rule->segment_value;
	p[7] = rule->status[0] ? rule->status : NULL;
	ret = run(
		ev->c,
		"SELECT feature, segment, segment_value, metric, value, ci_low, ci_high, q_value, "
		"n, coalesce(insufficient, false), p_value, n_reference, status, method "
		"FROM results WHERE model_id = $1::int8 AND window_id = $2::int8 AND scope = $3 "
		"AND metric = ANY($4::text[]) AND ($5::text IS NULL OR feature = $5) "
		"AND (($6::text IS NULL AND segment IS NULL) OR $6 = '*' OR (segment = $6 AND "
		"($7::text IS NULL OR segment_value = $7))) AND ($8::text IS NULL OR status = $8) "
		"ORDER BY feature NULLS FIRST, segment NULLS FIRST, segment_value NULLS FIRST, "
		"metric, computed_at DESC, id DESC",
		8, p, &r, "could not read results");
	if (ret)
		goto out;
	p[0] = rule_s;
	ret = run(ev->c,
		  "DELETE FROM alert_decisions WHERE rule_id = $1::int8 AND window_id = $2::int8 "
		  "RETURNING fingerprint",
		  2, p, &x, "could not replace alert decisions");
	if (ret)
		goto out;
	for (int i = 0; i < PQntuples(x); i++)
		fps_add(ev, PQgetvalue(x, i, 0));
	PQclear(x);
	x = NULL;

	n = PQntuples(r);
	for (lo = 0; lo < n;) {
		int hi = lo + 1, breach;
		cJSON *observed = NULL;

		while (hi < n && same(val(r, hi, RC_FEATURE), val(r, lo, RC_FEATURE)) &&
		       same(val(r, hi, RC_SEG), val(r, lo, RC_SEG)) &&
		       same(val(r, hi, RC_SEGV), val(r, lo, RC_SEGV)))
			hi++;
		if (decide_group(ev, rule, r, lo, hi, &observed, &breach)) {
			char *obs = cJSON_PrintUnformatted(observed);
			const char *ip[10] = {ev->model_s,        rule_s,
					      rule->scope,        val(r, lo, RC_FEATURE),
					      val(r, lo, RC_SEG), val(r, lo, RC_SEGV),
					      ev->rwin_s,         ev->rwin_end,
					      breach ? "t" : "f", obs};

			cJSON_Delete(observed);
			if (!obs)
				abort();
			ret = run(
				ev->c,
				"INSERT INTO alert_decisions (fingerprint, rule_id, window_id, "
				"window_end, scope, feature, segment, segment_value, breach, "
				"observed) "
				"VALUES (alert_fingerprint($1::int8, $2::int8, $3, $4, $5, $6), "
				"$2::int8, $7::int8, $8::timestamptz, $3, $4, $5, $6, $9::boolean, "
				"$10::jsonb) ON CONFLICT (fingerprint, window_id) DO UPDATE SET "
				"breach = EXCLUDED.breach, observed = EXCLUDED.observed, "
				"window_end = "
				"EXCLUDED.window_end, decided_at = now() RETURNING fingerprint",
				10, ip, &x, "could not record an alert decision");
			cJSON_free(obs);
			if (ret)
				goto out;
			fps_add(ev, PQgetvalue(x, 0, 0));
			PQclear(x);
			x = NULL;
			ev->st.decisions++;
		}
		lo = hi;
	}

	if (ev->nfps > 1)
		qsort(ev->fps, ev->nfps, sizeof(*ev->fps), cmp_str);
	for (size_t i = 0; i < ev->nfps; i++) {
		if (i && !strcmp(ev->fps[i], ev->fps[i - 1]))
			continue;
		ret = process_fp(ev, rule, ev->fps[i]);
		if (ret)
			goto out;
	}
out:
	PQclear(x);
	PQclear(r);
	mon_buf_fini(&metrics);
	return ret;
}

int mon_alert_evaluate_window_stats(PGconn *c, int64_t model_id, int64_t window_id,
				    struct mon_alert_eval_stats *st)
{
	struct eval ev;
	struct mon_alert_rule *rules = NULL;
	size_t nrules = 0;
	const char *p[2];
	PGresult *r = NULL;
	int own = PQtransactionStatus(c) == PQTRANS_IDLE, ret;

	memset(&ev, 0, sizeof(ev));
	ev.c = c;
	ev.model_id = model_id;
	ev.window_id = window_id;
	snprintf(ev.model_s, sizeof(ev.model_s), "%" PRId64, model_id);
	snprintf(ev.window_s, sizeof(ev.window_s), "%" PRId64, window_id);
	if (own) {
		ret = cmd(c, "BEGIN", 0, NULL, "could not begin a transaction");
		if (ret)
			goto out;
	}
	ret = lock_model(c, ev.model_s);
	if (ret)
		goto out;
	p[0] = ev.model_s;
	p[1] = ev.window_s;
	ret = run(c,
		  "SELECT m.name, w.end_at::text FROM models m JOIN windows w ON w.model_id = m.id "
		  "WHERE m.id = $1::int8 AND w.id = $2::int8",
		  2, p, &r, "could not read the window");
	if (ret)
		goto out;
	if (PQntuples(r) != 1) {
		ret = -ENOENT;
		goto out;
	}
	snprintf(ev.model_name, sizeof(ev.model_name), "%s", PQgetvalue(r, 0, 0));
	snprintf(ev.window_end, sizeof(ev.window_end), "%s", PQgetvalue(r, 0, 1));
	ret = mon_alert_rules_load(c, model_id, 1, &rules, &nrules);
	if (ret)
		goto out;
	for (size_t i = 0; i < nrules; i++) {
		ret = eval_rule(&ev, &rules[i]);
		if (ret)
			goto out;
		ev.st.rules++;
	}
	if (own)
		ret = cmd(c, "COMMIT", 0, NULL, "could not commit an alert evaluation");
out:
	if (own && ret)
		rollback(c);
	if (!ret)
		log_debug(LOG_PREFIX "model %s window %s: %u rules, %u decisions, %u fired, "
				     "%u resolved, %u notifications",
			  ev.model_name, ev.window_s, ev.st.rules, ev.st.decisions, ev.st.fired,
			  ev.st.resolved, ev.st.notifications);
	if (st)
		*st = ev.st;
	PQclear(r);
	mon_alert_rules_free(rules, nrules);
	refs_clear(&ev);
	fps_clear(&ev);
	free(ev.fps);
	return ret;
}

int mon_alert_evaluate_window(PGconn *c, int64_t model_id, int64_t window_id)
{
	return mon_alert_evaluate_window_stats(c, model_id, window_id, NULL);
}

/* --- refresh: silences and inhibition follow the clock ------------------------------------ */

static int refresh_model(PGconn *c, const char *model_id, unsigned *notified)
{
	const char *p[1] = {model_id};
	PGresult *r = NULL;
	int ret;

	ret = cmd(c, "BEGIN", 0, NULL, "could not begin a transaction");
	if (ret)
		return ret;
	ret = lock_model(c, model_id);
	if (ret)
		goto out;
	ret = run(
		c,
		"WITH cur AS (SELECT id, s, i, (state = 'firing' AND NOT notified AND NOT (s OR "
		"i)) AS send FROM (SELECT a.id, a.state, a.notified, EXISTS (SELECT 1 FROM "
		"alert_silences_for(a.labels, now())) AS s, alert_inhibited(a.model_id, a.scope) "
		"AS i FROM alerts a WHERE a.model_id = $1::int8 AND a.state <> 'resolved') z) "
		"UPDATE alerts a SET silenced = cur.s, inhibited = cur.i, notified = a.notified "
		"OR cur.send FROM cur WHERE a.id = cur.id AND (a.silenced <> cur.s OR a.inhibited "
		"<> cur.i OR cur.send) RETURNING " ALERT_COLS ", cur.send",
		1, p, &r, "could not refresh alerts");
	if (ret)
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		PGresult *one;

		if (strcmp(PQgetvalue(r, i, AC_MODEL + 1), "t"))
			continue;
		/* enqueue() reads row 0: copy this row into a result of its own */
		one = PQcopyResult(r, PG_COPYRES_ATTRS);
		if (!one)
			abort();
		for (int col = 0; col < PQnfields(r); col++)
			if (!PQsetvalue(one, 0, col,
					PQgetisnull(r, i, col) ? NULL : PQgetvalue(r, i, col),
					PQgetisnull(r, i, col) ? -1 : PQgetlength(r, i, col)))
				abort();
		ret = enqueue(c, one, "firing", "Firing; no longer silenced or inhibited.");
		PQclear(one);
		if (ret)
			goto out;
		(*notified)++;
	}
	ret = cmd(c, "COMMIT", 0, NULL, "could not commit an alert refresh");
out:
	PQclear(r);
	if (ret)
		rollback(c);
	return ret;
}

int mon_alert_refresh(PGconn *c, unsigned *notified)
{
	PGresult *r;
	unsigned n = 0;
	int ret;

	ret = run(c, "SELECT DISTINCT model_id FROM alerts WHERE state <> 'resolved' ORDER BY 1", 0,
		  NULL, &r, "could not list active alerts");
	if (ret)
		goto out;
	for (int i = 0; i < PQntuples(r) && !ret; i++)
		ret = refresh_model(c, PQgetvalue(r, i, 0), &n);
	PQclear(r);
out:
	if (notified)
		*notified = n;
	return ret;
}

int mon_alert_refresh_task(struct mon_server *srv)
{
	PGconn *c;
	unsigned n = 0;
	int ret;

	ret = mon_db_acquire(srv->db, 5000, &c);
	if (ret)
		return ret;
	ret = mon_alert_refresh(c, &n);
	mon_db_release(srv->db, c, ret == -EAGAIN || ret == -EIO);
	if (!ret && n)
		log_info(LOG_PREFIX "queued %u notification%s of alerts no longer muted", n,
			 n == 1 ? "" : "s");
	return ret;
}

/* --- hand actions and reading ------------------------------------------------------------ */

/* An alert as JSON; a is alerts, m models, r alert_rules. */
#define ALERT_JSON                                                                                 \
	"jsonb_build_object('id', a.id, 'fingerprint', a.fingerprint, 'model', m.name, 'rule', "   \
	"r.name, 'rule_id', a.rule_id, 'scope', a.scope, 'feature', a.feature, 'segment', "        \
	"a.segment, 'segment_value', a.segment_value, 'severity', a.severity, 'state', a.state, "  \
	"'first_breach', alert_ts(a.first_breach), 'last_breach', alert_ts(a.last_breach), "       \
	"'consecutive_breaches', a.consecutive_breaches, 'consecutive_clean', "                    \
	"a.consecutive_clean, 'last_window_id', a.last_window_id, 'last_window_end', "             \
	"alert_ts(a.last_window_end), 'breached', a.breach_values, 'silenced', a.silenced, "       \
	"'inhibited', a.inhibited, 'fired_at', alert_ts(a.fired_at), 'acknowledged', CASE WHEN "   \
	"a.acked_at IS NULL THEN NULL ELSE jsonb_build_object('by', a.acked_by, 'at', "            \
	"alert_ts(a.acked_at), 'note', a.ack_note) END, 'resolved', CASE WHEN a.resolved_at IS "   \
	"NULL THEN NULL ELSE jsonb_build_object('by', a.resolved_by, 'at', "                       \
	"alert_ts(a.resolved_at), 'note', a.resolve_note) END, 'labels', a.labels, "               \
	"'updated_at', alert_ts(a.updated_at))"
#define ALERT_FROM                                                                                 \
	" FROM alerts a JOIN models m ON m.id = a.model_id JOIN alert_rules r ON r.id = "          \
	"a.rule_id "

int mon_alert_get(PGconn *c, int64_t id, cJSON **out)
{
	char id_s[24];
	const char *p[1] = {id_s};
	PGresult *r;
	int ret;

	*out = NULL;
	snprintf(id_s, sizeof(id_s), "%" PRId64, id);
	ret = run(
		c,
		"SELECT (" ALERT_JSON " || jsonb_build_object('events', (SELECT "
		"coalesce(jsonb_agg(jsonb_build_object('at', alert_ts(e.at), 'from', e.from_state, "
		"'to', e.to_state, 'actor', e.actor, 'note', e.note, 'window_id', e.window_id) "
		"ORDER BY e.id), '[]') FROM alert_events e WHERE e.alert_id = "
		"a.id)))::text" ALERT_FROM "WHERE a.id = $1::int8",
		1, p, &r, "could not read an alert");
	if (ret)
		return ret;
	if (PQntuples(r) == 0)
		ret = -ENOENT;
	else if (!(*out = cJSON_Parse(PQgetvalue(r, 0, 0))))
		ret = -EIO;
	PQclear(r);
	return ret;
}

int mon_alert_list(PGconn *c, const char *state, const char *model, const char *severity,
		   long limit, cJSON **out)
{
	char lim[24];
	const char *p[4] = {state, model, severity, lim};
	PGresult *r;
	int ret;

	*out = NULL;
	snprintf(lim, sizeof(lim), "%ld", limit);
	ret = run(c,
		  "SELECT coalesce(jsonb_agg(x.j ORDER BY x.u DESC, x.id DESC), '[]')::text FROM "
		  "(SELECT " ALERT_JSON " AS j, a.updated_at AS u, a.id" ALERT_FROM
		  "WHERE ($1::text IS NULL OR a.state = $1) AND ($2::text IS NULL OR m.name = $2) "
		  "AND ($3::text IS NULL OR a.severity = $3) ORDER BY a.updated_at DESC, a.id DESC "
		  "LIMIT $4::int8) x",
		  4, p, &r, "could not list alerts");
	if (ret)
		return ret;
	if (!(*out = cJSON_Parse(PQgetvalue(r, 0, 0))))
		ret = -EIO;
	PQclear(r);
	return ret;
}

static int hand_action(PGconn *c, int64_t id, int resolve, const char *actor, const char *remote,
		       const char *note, cJSON **out)
{
	char id_s[24], why[64];
	const char *p[3] = {id_s, actor, note};
	const char *to = resolve ? "resolved" : "acknowledged";
	PGresult *r = NULL, *w = NULL;
	char from[16];
	int ret, muted;

	*out = NULL;
	snprintf(id_s, sizeof(id_s), "%" PRId64, id);
	ret = cmd(c, "BEGIN", 0, NULL, "could not begin a transaction");
	if (ret)
		return ret;
	ret = run(c, "SELECT model_id FROM alerts WHERE id = $1::int8", 1, p, &r,
		  "could not read an alert");
	if (ret)
		goto out;
	if (PQntuples(r) == 0) {
		ret = -ENOENT;
		goto out;
	}
	/* the evaluator takes this lock before the audit chain's: so must we */
	ret = lock_model(c, PQgetvalue(r, 0, 0));
	if (ret)
		goto out;
	PQclear(r);
	ret = run(c, "SELECT state, notified FROM alerts WHERE id = $1::int8 FOR UPDATE", 1, p, &r,
		  "could not read an alert");
	if (ret)
		goto out;
	if (PQntuples(r) == 0) {
		ret = -ENOENT; /* deleted meanwhile, with its model */
		goto out;
	}
	snprintf(from, sizeof(from), "%s", PQgetvalue(r, 0, 0));
	if (resolve ? !strcmp(from, "resolved") : strcmp(from, "firing")) {
		ret = -EEXIST;
		goto out;
	}
	ret = run(
		c,
		resolve ? "UPDATE alerts a SET state = 'resolved', resolved_by = $2, resolved_at = "
			  "now(), resolve_note = $3, counted_after = coalesce((SELECT "
			  "max(window_end) FROM alert_decisions d WHERE d.fingerprint = "
			  "a.fingerprint), counted_after), consecutive_breaches = 0, "
			  "consecutive_clean = 0, silenced = EXISTS (SELECT 1 FROM "
			  "alert_silences_for(a.labels, now())), inhibited = "
			  "alert_inhibited(a.model_id, a.scope), updated_at = now() WHERE id = "
			  "$1::int8 RETURNING " ALERT_COLS ", a.silenced OR a.inhibited"
			: "UPDATE alerts a SET state = 'acknowledged', acked_by = $2, acked_at = "
			  "now(), ack_note = $3, silenced = EXISTS (SELECT 1 FROM "
			  "alert_silences_for(a.labels, now())), inhibited = "
			  "alert_inhibited(a.model_id, a.scope), updated_at = now() WHERE id = "
			  "$1::int8 RETURNING " ALERT_COLS ", a.silenced OR a.inhibited",
		3, p, &w, "could not update an alert");
	if (ret)
		goto out;
	muted = !strcmp(PQgetvalue(w, 0, AC_MODEL + 1), "t");
	ret = record(c, w, from, to, actor, remote, note, NULL, muted);
	if (ret)
		goto out;
	if (!muted && !strcmp(PQgetvalue(r, 0, 1), "t")) {
		snprintf(why, sizeof(why), "%s by %.40s: ", resolve ? "Resolved" : "Acknowledged",
			 actor);
		{
			struct mon_buf b = MON_BUF_INIT;

			mon_buf_puts(&b, why);
			mon_buf_puts(&b, note);
			ret = enqueue(c, w, to, mon_buf_str(&b));
			mon_buf_fini(&b);
		}
		if (ret)
			goto out;
	}
	ret = cmd(c, "COMMIT", 0, NULL, "could not commit an alert change");
out:
	PQclear(w);
	PQclear(r);
	rollback(c);
	if (!ret || ret == -EEXIST) {
		int ret2 = mon_alert_get(c, id, out);

		if (ret2)
			ret = ret2;
	}
	return ret;
}

int mon_alert_ack(PGconn *c, int64_t id, const char *actor, const char *remote, const char *note,
		  cJSON **out)
{
	return hand_action(c, id, 0, actor, remote, note, out);
}

int mon_alert_resolve(PGconn *c, int64_t id, const char *actor, const char *remote,
		      const char *note, cJSON **out)
{
	return hand_action(c, id, 1, actor, remote, note, out);
}

/* --- vigil alerts ------------------------------------------------------------------------- */

static const char alerts_usage[] =
	"usage: vigil alerts evaluate --model NAME (--window ID | --all) [--database URL]\n"
	"                             [--config FILE]\n"
	"       vigil alerts refresh [--database URL] [--config FILE]\n"
	"\n"
	"evaluate runs the model's enabled alert rules on a window's stored results (or on\n"
	"every window, oldest first), as the scheduler does after each window: alert state\n"
	"changes, their audit rows and outbox notifications commit together. Evaluating a\n"
	"window again never counts it twice. refresh re-applies silences and inhibition to\n"
	"active alerts (vigil serve does it every minute).\n";

static int print_eval(PGconn *c, int64_t model_id, const char *model, int64_t window)
{
	struct mon_alert_eval_stats st;
	int ret = mon_alert_evaluate_window_stats(c, model_id, window, &st);

	if (ret == -ENOENT) {
		fprintf(stderr, "vigil alerts: model \"%s\" has no window %" PRId64 "\n", model,
			window);
		return 1;
	}
	if (ret) {
		fprintf(stderr, "vigil alerts: could not evaluate window %" PRId64 "\n", window);
		return 1;
	}
	printf("window %" PRId64 ": %u rules, %u decisions, %u fired, %u resolved, "
	       "%u notifications queued\n",
	       window, st.rules, st.decisions, st.fired, st.resolved, st.notifications);
	return 0;
}

static int evaluate_main(PGconn *c, const char *model, const char *window, int all)
{
	const char *p[1] = {model};
	PGresult *r = NULL;
	int64_t model_id;
	int status = 0;

	if (run(c, "SELECT id FROM models WHERE name = $1", 1, p, &r, "could not read a model")) {
		fprintf(stderr, "vigil alerts: could not read the model\n");
		return 1;
	}
	if (PQntuples(r) == 0) {
		fprintf(stderr, "vigil alerts: no model \"%s\"\n", model);
		PQclear(r);
		return 1;
	}
	model_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (!all)
		return print_eval(c, model_id, model, strtoll(window, NULL, 10));
	p[0] = NULL;
	{
		char id_s[24];
		const char *q[1] = {id_s};

		snprintf(id_s, sizeof(id_s), "%" PRId64, model_id);
		if (run(c, "SELECT id FROM windows WHERE model_id = $1::int8 ORDER BY end_at, id",
			1, q, &r, "could not list windows")) {
			fprintf(stderr, "vigil alerts: could not list the model's windows\n");
			return 1;
		}
	}
	for (int i = 0; i < PQntuples(r) && !status; i++)
		status = print_eval(c, model_id, model, strtoll(PQgetvalue(r, i, 0), NULL, 10));
	PQclear(r);
	return status;
}

int mon_alerts_main(int argc, char **argv)
{
	static const struct option lopts[] = {{"database", required_argument, NULL, 'd'},
					      {"config", required_argument, NULL, 'c'},
					      {"model", required_argument, NULL, 'm'},
					      {"window", required_argument, NULL, 'w'},
					      {"all", no_argument, NULL, 'a'},
					      {"help", no_argument, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	const char *database = NULL, *config = NULL, *model = NULL, *window = NULL, *sub;
	struct mon_db *db = NULL;
	PGconn *c = NULL;
	int opt, all = 0, status;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(alerts_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	sub = argv[1];
	if (strcmp(sub, "evaluate") && strcmp(sub, "refresh")) {
		fprintf(stderr, "vigil alerts: unknown command \"%s\"\n%s", sub, alerts_usage);
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
		case 'm':
			model = optarg;
			break;
		case 'w':
			window = optarg;
			break;
		case 'a':
			all = 1;
			break;
		case 'h':
			fputs(alerts_usage, stdout);
			return 0;
		default:
			fputs(alerts_usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "vigil alerts: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (!strcmp(sub, "evaluate")) {
		char *end = NULL;

		if (!model || (!window) == !all) {
			fprintf(stderr, "vigil alerts evaluate: give --model and one of --window "
					"or --all\n");
			return 2;
		}
		if (window && (strtoll(window, &end, 10) <= 0 || *end)) {
			fprintf(stderr, "vigil alerts evaluate: --window must be a window id\n");
			return 2;
		}
	} else if (model || window || all) {
		fprintf(stderr, "vigil alerts refresh: takes no --model, --window or --all\n");
		return 2;
	}
	if (mon_server_cli_open(database, config, &db, &c))
		return 1;
	if (!strcmp(sub, "evaluate")) {
		status = evaluate_main(c, model, window, all);
	} else {
		unsigned n = 0;

		status = mon_alert_refresh(c, &n) ? 1 : 0;
		if (!status)
			printf("%u notification%s queued\n", n, n == 1 ? "" : "s");
		else
			fprintf(stderr, "vigil alerts: could not refresh alerts\n");
	}
	mon_server_cli_close(db, c);
	return status;
}
