/* SPDX-License-Identifier: MIT
 * monitor/alert_rule.c - alert rules as data: their JSON form, validation, storage, and
 * the decision one condition takes on one result
 *
 * A rule has one JSON form, and both directions go through it: a request is validated by
 * mon_alert_rule_parse and stored as columns; reading back, PostgreSQL rebuilds the same
 * JSON (RULE_JSON below) and the evaluator parses it with the same validator, so a rule
 * edited by hand in the database is checked like a request before it can page anyone.
 */
#include "config.h"

#include "monitor/alert_rule.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/audit.h"
#include "monitor/db.h"
#include "monitor/log.h"
#include "monitor/pgtext.h"

#define LOG_PREFIX "alert: "

static const char *const op_names[] = {"above", "below", "ci_above", "ci_below", "q_below"};

static const char *const scopes[] = {"feature",     "score",    "multivariate",
				     "performance", "estimate", "estimate_error",
				     "volume",      "missing",  "label_coverage"};

const char *mon_alert_op_name(enum mon_alert_op op)
{
	if ((unsigned)op >= sizeof(op_names) / sizeof(op_names[0]))
		return "?";
	return op_names[op];
}

static int in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return 1;
	return 0;
}

static int bad(struct col_diag *d, const char *ptr, const char *msg)
{
	snprintf(d->pointer, sizeof(d->pointer), "%s", ptr);
	snprintf(d->msg, sizeof(d->msg), "%s", msg);
	return -EINVAL;
}

/* 1 when s is 1..max bytes of [A-Za-z0-9._-] starting with a letter or digit. */
static int plain_name(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9');

		if (!alnum && (i == 0 || (ch != '.' && ch != '_' && ch != '-')))
			return 0;
	}
	return 1;
}

/* 1 when s has no control characters and is 1..max bytes. */
static int plain_text(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* An optional string: absent or null leaves *out NULL; else a copy. */
static int opt_text(const cJSON *j, const char *key, const char *ptr, size_t max, char **out,
		    struct col_diag *d)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || !plain_text(v->valuestring, max))
		return bad(d, ptr, "must be null or a non-empty string without control characters");
	*out = mon_xstrndup(v->valuestring, strlen(v->valuestring));
	return 0;
}

/* An optional integer in [lo, hi], def when absent. */
static int opt_int(const cJSON *j, const char *key, const char *ptr, long long lo, long long hi,
		   long long def, long long *out, struct col_diag *d)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	char msg[96];

	*out = def;
	if (!v)
		return 0;
	snprintf(msg, sizeof(msg), "must be an integer from %lld to %lld", lo, hi);
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
	    v->valuedouble < (double)lo || v->valuedouble > (double)hi)
		return bad(d, ptr, msg);
	*out = (long long)v->valuedouble;
	return 0;
}

static int parse_metrics(const cJSON *m, const char *ptr, struct mon_alert_clause *cl,
			 struct col_diag *d)
{
	const cJSON *e;

	cl->nmetric = 0;
	if (cJSON_IsString(m)) {
		if (!plain_name(m->valuestring, MON_ALERT_METRIC_MAX))
			return bad(d, ptr, "a metric is 1 to 64 letters, digits, '.', '_' or '-'");
		snprintf(cl->metric[0], sizeof(cl->metric[0]), "%s", m->valuestring);
		cl->nmetric = 1;
		return 0;
	}
	if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) < 1 ||
	    cJSON_GetArraySize(m) > MON_ALERT_METRICS_MAX)
		return bad(d, ptr, "metric must be a name or a list of 1 to 8 names");
	cJSON_ArrayForEach (e, m) {
		if (!cJSON_IsString(e) || !plain_name(e->valuestring, MON_ALERT_METRIC_MAX))
			return bad(d, ptr, "a metric is 1 to 64 letters, digits, '.', '_' or '-'");
		snprintf(cl->metric[cl->nmetric++], sizeof(cl->metric[0]), "%s", e->valuestring);
	}
	return 0;
}

/* The condition, threshold, baseline and offset of j (a rule or an "and" clause). base is
 * the JSON pointer of j ("" or "/and/1"). */
static int parse_condition(const cJSON *j, const char *base, struct mon_alert_clause *cl,
			   struct col_diag *d)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "condition");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "threshold");
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "baseline");
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, "offset");
	char ptr[160], word[16];
	const char *sp;
	double x = NAN;
	size_t wl;
	int found = 0;

	snprintf(ptr, sizeof(ptr), "%s/condition", base);
	if (!cJSON_IsString(c))
		return bad(d, ptr,
			   "condition must be one of above, below, ci_above, ci_below, "
			   "q_below (optionally followed by the threshold)");
	sp = strchr(c->valuestring, ' ');
	wl = sp ? (size_t)(sp - c->valuestring) : strlen(c->valuestring);
	if (wl >= sizeof(word))
		return bad(d, ptr, "unknown condition");
	memcpy(word, c->valuestring, wl);
	word[wl] = '\0';
	for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++) {
		if (!strcmp(word, op_names[i])) {
			cl->op = (enum mon_alert_op)i;
			found = 1;
		}
	}
	if (!found)
		return bad(d, ptr,
			   "condition must be one of above, below, ci_above, ci_below, "
			   "q_below");
	if (sp) {
		char *end;

		while (*sp == ' ')
			sp++;
		x = strtod(sp, &end);
		if (end == sp || *end || !isfinite(x))
			return bad(d, ptr, "the threshold after the condition must be a number");
		if (t)
			return bad(d, ptr,
				   "give the threshold in the condition or in \"threshold\", "
				   "not both");
	}
	if (t) {
		snprintf(ptr, sizeof(ptr), "%s/threshold", base);
		if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble))
			return bad(d, ptr, "threshold must be a number");
		x = t->valuedouble;
	}
	cl->relative = 0;
	if (b) {
		snprintf(ptr, sizeof(ptr), "%s/baseline", base);
		if (!cJSON_IsString(b) || strcmp(b->valuestring, "reference"))
			return bad(d, ptr, "baseline must be \"reference\"");
		if (!isnan(x))
			return bad(d, ptr,
				   "a condition relative to the reference takes an offset, "
				   "not a threshold");
		if (cl->op == MON_ALERT_Q_BELOW)
			return bad(d, ptr,
				   "q_below compares with a fixed level, not the reference");
		cl->relative = 1;
		x = 0;
		if (o) {
			snprintf(ptr, sizeof(ptr), "%s/offset", base);
			if (!cJSON_IsNumber(o) || !isfinite(o->valuedouble))
				return bad(d, ptr, "offset must be a number");
			x = o->valuedouble;
		}
	} else if (o) {
		snprintf(ptr, sizeof(ptr), "%s/offset", base);
		return bad(d, ptr, "offset needs \"baseline\": \"reference\"");
	}
	if (isnan(x)) {
		snprintf(ptr, sizeof(ptr), "%s/threshold", base);
		return bad(d, ptr, "the condition needs a threshold (or a baseline)");
	}
	if (cl->op == MON_ALERT_Q_BELOW && !(x > 0 && x <= 1)) {
		snprintf(ptr, sizeof(ptr), "%s/threshold", base);
		return bad(d, ptr, "a q_below level must lie in (0, 1]");
	}
	cl->x = x;
	return 0;
}

/* 1 when every key of j is in keys (or, when stored, in the read-only ones); else the
 * first stranger's pointer goes to d. */
static int known_keys(const cJSON *j, const char *base, const char *const *keys, size_t n,
		      int stored, struct col_diag *d)
{
	static const char *const ro[] = {"id", "is_default", "created_by", "created_at",
					 "updated_at"};
	const cJSON *e;

	cJSON_ArrayForEach (e, j) {
		char ptr[192];

		if (in_list(e->string, keys, n) ||
		    (stored && in_list(e->string, ro, sizeof(ro) / sizeof(ro[0]))))
			continue;
		snprintf(ptr, sizeof(ptr), "%s/%.64s", base, e->string);
		bad(d, ptr, "unknown field");
		return 0;
	}
	return 1;
}

static int parse_clause(const cJSON *j, const char *base, struct mon_alert_clause *cl,
			struct col_diag *d)
{
	static const char *const keys[] = {"metric", "condition", "threshold", "baseline",
					   "offset"};
	char ptr[160];
	int ret;

	if (!cJSON_IsObject(j))
		return bad(d, base, "must be an object {metric, condition, threshold}");
	if (!known_keys(j, base, keys, sizeof(keys) / sizeof(keys[0]), 0, d))
		return -EINVAL;
	snprintf(ptr, sizeof(ptr), "%s/metric", base);
	ret = parse_metrics(cJSON_GetObjectItemCaseSensitive(j, "metric"), ptr, cl, d);
	if (ret)
		return ret;
	return parse_condition(j, base, cl, d);
}

void mon_alert_rule_fini(struct mon_alert_rule *r)
{
	if (!r)
		return;
	free(r->feature);
	free(r->segment);
	free(r->segment_value);
	free(r->description);
	r->feature = r->segment = r->segment_value = r->description = NULL;
}

static int parse_rule(const cJSON *j, int stored, struct mon_alert_rule *r, struct col_diag *d)
{
	static const char *const keys[] = {
		"name",          "scope",  "metric",    "condition",        "threshold",
		"baseline",      "offset", "and",       "feature",          "segment",
		"segment_value", "status", "severity",  "severity_follows", "for",
		"clear",         "min_n",  "due_after", "enabled",          "description"};
	const cJSON *v;
	long long ll;
	int ret;

	if (!cJSON_IsObject(j))
		return bad(d, "", "a rule must be a JSON object");
	if (!known_keys(j, "", keys, sizeof(keys) / sizeof(keys[0]), stored, d))
		return -EINVAL;
	if (stored) {
		v = cJSON_GetObjectItemCaseSensitive(j, "id");
		if (cJSON_IsNumber(v))
			r->id = (int64_t)v->valuedouble;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "name");
	if (!cJSON_IsString(v) || !plain_name(v->valuestring, MON_ALERT_NAME_MAX))
		return bad(d, "/name",
			   "name is 1 to 64 letters, digits, '.', '_' or '-', starting "
			   "with a letter or digit");
	snprintf(r->name, sizeof(r->name), "%s", v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(j, "scope");
	if (!cJSON_IsString(v) ||
	    !in_list(v->valuestring, scopes, sizeof(scopes) / sizeof(scopes[0])))
		return bad(d, "/scope",
			   "scope must be one of feature, score, multivariate, "
			   "performance, estimate, estimate_error, volume, missing, "
			   "label_coverage");
	snprintf(r->scope, sizeof(r->scope), "%s", v->valuestring);
	ret = parse_metrics(cJSON_GetObjectItemCaseSensitive(j, "metric"), "/metric", &r->clause[0],
			    d);
	if (ret)
		return ret;
	ret = parse_condition(j, "", &r->clause[0], d);
	if (ret)
		return ret;
	r->nclause = 1;
	v = cJSON_GetObjectItemCaseSensitive(j, "and");
	if (v && !cJSON_IsNull(v)) {
		const cJSON *e;

		if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > MON_ALERT_CLAUSES_MAX - 1)
			return bad(d, "/and", "and must be a list of at most 3 conditions");
		cJSON_ArrayForEach (e, v) {
			char base[32];

			snprintf(base, sizeof(base), "/and/%zu", r->nclause - 1);
			ret = parse_clause(e, base, &r->clause[r->nclause], d);
			if (ret)
				return ret;
			r->nclause++;
		}
	}
	if (opt_text(j, "feature", "/feature", MON_ALERT_TEXT_MAX, &r->feature, d) ||
	    opt_text(j, "segment", "/segment", MON_ALERT_TEXT_MAX, &r->segment, d) ||
	    opt_text(j, "segment_value", "/segment_value", MON_ALERT_TEXT_MAX, &r->segment_value,
		     d))
		return -EINVAL;
	if (r->segment_value && (!r->segment || !strcmp(r->segment, "*")))
		return bad(d, "/segment_value", "segment_value needs a segment attribute");
	v = cJSON_GetObjectItemCaseSensitive(j, "status");
	r->status[0] = '\0';
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsString(v) ||
		    (strcmp(v->valuestring, "provisional") && strcmp(v->valuestring, "final")))
			return bad(d, "/status",
				   "status must be null, \"provisional\" or \"final\"");
		snprintf(r->status, sizeof(r->status), "%s", v->valuestring);
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "severity_follows");
	r->severity_follows[0] = '\0';
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsString(v) ||
		    (strcmp(v->valuestring, "fn_cost") && strcmp(v->valuestring, "fp_cost")))
			return bad(d, "/severity_follows",
				   "severity_follows must be \"fn_cost\" or \"fp_cost\"");
		snprintf(r->severity_follows, sizeof(r->severity_follows), "%s", v->valuestring);
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "severity");
	r->severity[0] = '\0';
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsString(v) ||
		    (strcmp(v->valuestring, "page") && strcmp(v->valuestring, "ticket") &&
		     strcmp(v->valuestring, "info")))
			return bad(d, "/severity", "severity must be page, ticket or info");
		if (!stored && r->severity_follows[0])
			return bad(d, "/severity", "give severity or severity_follows, not both");
		snprintf(r->severity, sizeof(r->severity), "%s", v->valuestring);
	}
	if (!r->severity[0] && (stored || !r->severity_follows[0]))
		return bad(d, "/severity",
			   "severity (page, ticket, info) or severity_follows "
			   "(fn_cost, fp_cost) is required");
	if (opt_int(j, "for", "/for", 1, 100, 1, &ll, d))
		return -EINVAL;
	r->for_windows = (int)ll;
	if (opt_int(j, "clear", "/clear", 1, 100, 1, &ll, d))
		return -EINVAL;
	r->clear_windows = (int)ll;
	if (opt_int(j, "min_n", "/min_n", 0, 1000000000000LL, 0, &r->min_n, d))
		return -EINVAL;
	if (opt_int(j, "due_after", "/due_after", 0, 366LL * 86400, 0, &r->due_after_s, d))
		return -EINVAL;
	v = cJSON_GetObjectItemCaseSensitive(j, "enabled");
	if (v && !cJSON_IsBool(v))
		return bad(d, "/enabled", "enabled must be true or false");
	r->enabled = !v || cJSON_IsTrue(v);
	v = cJSON_GetObjectItemCaseSensitive(j, "description");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsString(v) || strlen(v->valuestring) > MON_ALERT_DESC_MAX)
			return bad(d, "/description",
				   "description must be a string of at most "
				   "500 bytes");
		r->description = mon_xstrndup(v->valuestring, strlen(v->valuestring));
	} else {
		r->description = mon_xstrndup("", 0);
	}
	return 0;
}

int mon_alert_rule_parse(const cJSON *j, int stored, struct mon_alert_rule *out,
			 struct col_diag *diag)
{
	int ret;

	memset(out, 0, sizeof(*out));
	diag->pointer[0] = diag->msg[0] = '\0';
	ret = parse_rule(j, stored, out, diag);
	if (ret)
		mon_alert_rule_fini(out);
	return ret;
}

static cJSON *metric_json(const struct mon_alert_clause *cl)
{
	cJSON *a;

	if (cl->nmetric == 1)
		return cJSON_CreateString(cl->metric[0]);
	a = cJSON_CreateArray();
	for (size_t i = 0; i < cl->nmetric; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(cl->metric[i]));
	return a;
}

cJSON *mon_alert_clause_json(const struct mon_alert_clause *cl)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		abort();
	cJSON_AddItemToObject(o, "metric", metric_json(cl));
	cJSON_AddStringToObject(o, "condition", mon_alert_op_name(cl->op));
	if (cl->relative) {
		cJSON_AddStringToObject(o, "baseline", "reference");
		cJSON_AddNumberToObject(o, "offset", cl->x);
	} else {
		cJSON_AddNumberToObject(o, "threshold", cl->x);
	}
	return o;
}

enum mon_alert_decision mon_alert_clause_decide(const struct mon_alert_clause *cl,
						const struct mon_alert_obs *o, double x,
						long long min_n)
{
	double v;
	int breach;

	if (o->insufficient || isnan(x))
		return MON_ALERT_UNDECIDED;
	if (min_n > 0 && (o->n < 0 || o->n < min_n))
		return MON_ALERT_UNDECIDED;
	switch (cl->op) {
	case MON_ALERT_ABOVE:
	case MON_ALERT_BELOW:
		v = o->value;
		break;
	case MON_ALERT_CI_ABOVE:
		v = o->ci_low;
		break;
	case MON_ALERT_CI_BELOW:
		v = o->ci_high;
		break;
	case MON_ALERT_Q_BELOW:
		v = o->q_value;
		break;
	default:
		return MON_ALERT_UNDECIDED;
	}
	if (isnan(v))
		return MON_ALERT_UNDECIDED;
	if (cl->op == MON_ALERT_ABOVE || cl->op == MON_ALERT_CI_ABOVE)
		breach = v > x;
	else
		breach = v < x;
	return breach ? MON_ALERT_BREACH : MON_ALERT_CLEAN;
}

/* --- storage ---------------------------------------------------------------------------- */

static int db_error(PGconn *c, const PGresult *r, const char *what)
{
	return mon_db_error(c, r, LOG_PREFIX, what);
}

static void rollback(PGconn *c)
{
	if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
}

/* A rule as JSON, the severity resolved from the model's costs; r is alert_rules, m models. */
#define RULE_JSON                                                                                  \
	"jsonb_build_object('id', r.id, 'name', r.name, 'scope', r.scope, 'metric', "              \
	"CASE WHEN cardinality(r.metric) = 1 THEN to_jsonb(r.metric[1]) ELSE to_jsonb(r.metric) "  \
	"END, 'condition', r.condition, 'and', r.and_conditions, 'feature', r.feature, "           \
	"'segment', r.segment, 'segment_value', r.segment_value, 'status', r.status, "             \
	"'severity', alert_rule_severity(r.severity, r.severity_follows, m.fn_cost, m.fp_cost), "  \
	"'severity_follows', r.severity_follows, 'for', r.for_windows, 'clear', "                  \
	"r.clear_windows, 'min_n', r.min_n, 'due_after', r.due_after_s, 'enabled', r.enabled, "    \
	"'is_default', r.is_default, "                                                             \
	"'description', r.description, 'created_by', r.created_by, 'created_at', "                 \
	"alert_ts(r.created_at), 'updated_at', alert_ts(r.updated_at)) || CASE WHEN r.baseline "   \
	"IS NULL THEN jsonb_build_object('threshold', r.threshold) ELSE "                          \
	"jsonb_build_object('baseline', r.baseline, 'offset', r.baseline_offset) END"

void mon_alert_rules_free(struct mon_alert_rule *r, size_t n)
{
	if (!r)
		return;
	for (size_t i = 0; i < n; i++)
		mon_alert_rule_fini(&r[i]);
	free(r);
}

int mon_alert_rules_load(PGconn *c, int64_t model_id, int enabled_only, struct mon_alert_rule **out,
			 size_t *n)
{
	char id[24];
	const char *params[2] = {id, enabled_only ? "t" : "f"};
	struct mon_alert_rule *rules = NULL;
	PGresult *r;
	size_t k = 0;
	int ret = 0;

	*out = NULL;
	*n = 0;
	snprintf(id, sizeof(id), "%" PRId64, model_id);
	r = PQexecParams(c,
			 "SELECT (" RULE_JSON ")::text FROM alert_rules r JOIN models m ON "
			 "m.id = r.model_id WHERE r.model_id = $1::int8 AND (r.enabled OR NOT "
			 "$2::boolean) ORDER BY r.scope <> 'volume', r.id",
			 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = db_error(c, r, "could not read alert rules");
		goto out;
	}
	rules = mon_xcalloc((size_t)PQntuples(r) + 1, sizeof(*rules));
	for (int i = 0; i < PQntuples(r); i++) {
		cJSON *j = cJSON_Parse(PQgetvalue(r, i, 0));
		struct col_diag d;

		ret = mon_alert_rule_parse(j, 1, &rules[k], &d);
		cJSON_Delete(j);
		if (ret) {
			log_err(LOG_PREFIX "model %" PRId64
					   ": stored rule %d is invalid at \"%s\": %s",
				model_id, i, d.pointer, d.msg);
			ret = -EIO;
			goto out;
		}
		k++;
	}
	*out = rules;
	*n = k;
	rules = NULL;
out:
	mon_alert_rules_free(rules, k);
	PQclear(r);
	return ret;
}

int mon_alert_rules_json(PGconn *c, const char *model, cJSON **out)
{
	const char *params[1] = {model};
	PGresult *r;
	int ret = 0;

	*out = NULL;
	r = PQexecParams(c,
			 "SELECT m.id, (SELECT coalesce(jsonb_agg(" RULE_JSON " ORDER BY r.name), "
			 "'[]') FROM alert_rules r WHERE r.model_id = m.id)::text "
			 "FROM models m WHERE m.name = $1",
			 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		ret = db_error(c, r, "could not list alert rules");
	else if (PQntuples(r) == 0)
		ret = -ENOENT;
	else if (!(*out = cJSON_Parse(PQgetvalue(r, 0, 1))))
		ret = -EIO;
	PQclear(r);
	return ret;
}

int mon_alert_rule_put(PGconn *c, const char *model, const struct mon_alert_rule *rule,
		       const char *actor, const char *remote, cJSON **out, int *created)
{
	struct mon_buf metric = MON_BUF_INIT;
	const struct mon_alert_clause *c0 = &rule->clause[0];
	char thr[32], off[32], forw[16], clr[16], minn[24], due[24];
	char target[COL_NAME_MAX + 80];
	char *and_text = NULL;
	const char *params[22];
	cJSON *and = NULL, *detail = NULL;
	PGresult *r = NULL;
	int ret = 0;

	*out = NULL;
	*created = 0;
	mon_buf_putc(&metric, '{');
	for (size_t i = 0; i < c0->nmetric; i++) {
		if (i)
			mon_buf_putc(&metric, ',');
		mon_pgtext_array_elem(&metric, c0->metric[i]);
	}
	mon_buf_putc(&metric, '}');
	and = cJSON_CreateArray();
	for (size_t i = 1; i < rule->nclause; i++)
		cJSON_AddItemToArray(and, mon_alert_clause_json(&rule->clause[i]));
	and_text = cJSON_PrintUnformatted(and);
	if (!and_text)
		abort();
	snprintf(thr, sizeof(thr), "%.17g", c0->x);
	snprintf(off, sizeof(off), "%.17g", c0->relative ? c0->x : 0.0);
	snprintf(forw, sizeof(forw), "%d", rule->for_windows);
	snprintf(clr, sizeof(clr), "%d", rule->clear_windows);
	snprintf(minn, sizeof(minn), "%lld", rule->min_n);
	snprintf(due, sizeof(due), "%lld", rule->due_after_s);
	params[0] = model;
	params[1] = rule->name;
	params[2] = rule->scope;
	params[3] = mon_buf_str(&metric);
	params[4] = mon_alert_op_name(c0->op);
	params[5] = c0->relative ? NULL : thr;
	params[6] = c0->relative ? "reference" : NULL;
	params[7] = off;
	params[8] = and_text;
	params[9] = rule->feature;
	params[10] = rule->segment;
	params[11] = rule->segment_value;
	params[12] = rule->status[0] ? rule->status : NULL;
	params[13] = rule->severity_follows[0] ? NULL : rule->severity;
	params[14] = rule->severity_follows[0] ? rule->severity_follows : NULL;
	params[15] = forw;
	params[16] = clr;
	params[17] = minn;
	params[18] = rule->enabled ? "t" : "f";
	params[19] = rule->description;
	params[20] = actor;
	params[21] = due;
	r = PQexec(c, "BEGIN");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		ret = db_error(c, r, "could not begin a transaction");
		goto out;
	}
	PQclear(r);
	r = PQexecParams(
		c,
		"INSERT INTO alert_rules AS r (model_id, name, scope, metric, condition, "
		"threshold, baseline, baseline_offset, and_conditions, feature, segment, "
		"segment_value, status, severity, severity_follows, for_windows, "
		"clear_windows, min_n, enabled, description, created_by, due_after_s) "
		"SELECT m.id, $2, $3, $4::text[], $5, $6::float8, $7, $8::float8, $9::jsonb, "
		"$10, $11, $12, $13, $14, $15, $16::int, $17::int, $18::int8, $19::boolean, "
		"$20, $21, $22::int FROM models m WHERE m.name = $1 "
		"ON CONFLICT (model_id, name) DO UPDATE SET scope = EXCLUDED.scope, "
		"metric = EXCLUDED.metric, condition = EXCLUDED.condition, "
		"threshold = EXCLUDED.threshold, baseline = EXCLUDED.baseline, "
		"baseline_offset = EXCLUDED.baseline_offset, "
		"and_conditions = EXCLUDED.and_conditions, feature = EXCLUDED.feature, "
		"segment = EXCLUDED.segment, segment_value = EXCLUDED.segment_value, "
		"status = EXCLUDED.status, severity = EXCLUDED.severity, "
		"severity_follows = EXCLUDED.severity_follows, "
		"for_windows = EXCLUDED.for_windows, clear_windows = EXCLUDED.clear_windows, "
		"min_n = EXCLUDED.min_n, enabled = EXCLUDED.enabled, "
		"description = EXCLUDED.description, due_after_s = EXCLUDED.due_after_s, "
		"is_default = false, updated_at = now() "
		"RETURNING id, (xmax = 0), "
		"(SELECT (" RULE_JSON ")::text FROM models m WHERE m.id = model_id)",
		22, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = db_error(c, r, "could not store an alert rule");
		goto out;
	}
	if (PQntuples(r) == 0) {
		ret = -ENOENT;
		goto out;
	}
	*created = !strcmp(PQgetvalue(r, 0, 1), "t");
	*out = cJSON_Parse(PQgetvalue(r, 0, 2));
	if (!*out) {
		ret = -EIO;
		goto out;
	}
	detail = cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "model", model);
	cJSON_AddNumberToObject(detail, "rule_id", strtod(PQgetvalue(r, 0, 0), NULL));
	cJSON_AddItemToObject(detail, "rule", cJSON_Duplicate(*out, 1));
	snprintf(target, sizeof(target), "%s/%s", model, rule->name);
	ret = mon_audit_append(c, actor, *created ? "alert.rule.create" : "alert.rule.update",
			       target, remote, "ok", detail);
	if (ret)
		goto out;
	PQclear(r);
	r = PQexec(c, "COMMIT");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		ret = db_error(c, r, "could not commit an alert rule");
out:
	PQclear(r);
	rollback(c);
	if (ret) {
		cJSON_Delete(*out);
		*out = NULL;
	}
	cJSON_Delete(detail);
	cJSON_Delete(and);
	cJSON_free(and_text);
	mon_buf_fini(&metric);
	return ret;
}
