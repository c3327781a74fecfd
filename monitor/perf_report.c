/* SPDX-License-Identifier: MIT
 * monitor/perf_report.c - performance per subgroup, realised (labels) or estimated (CBPE)
 *
 * Groups are formed by a counting sort of the rows on a group id (one attribute's code, or
 * a pair's combined code), so each grouping costs O(n) plus the metrics of each group.
 * Gaps compare a group with the whole population: Newcombe's hybrid score interval for
 * the proportions and DeLong variances for AUROC. XXX: both intervals assume independent
 * samples while a group is part of the population; the covariance is positive, so the
 * intervals are conservative (too wide), never too narrow.
 */
#include "config.h"

#include "monitor/perf_report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats/auroc.h"
#include "stats/cbpe.h"
#include "stats/interval.h"
#include "stats/perf.h"

void mon_perf_opts_init(struct mon_perf_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->threshold = 0.5;
	o->min_n = 30;
	o->min_class = 5;
	o->conf = 0.95;
	o->seed = 1;
}

static void add_ci(cJSON *o, const char *key, int ok, const struct stats_ci *ci, const char *method)
{
	if (!ok || !isfinite(ci->value)) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	cJSON *m = cJSON_AddObjectToObject(o, key);
	cJSON_AddNumberToObject(m, "value", ci->value);
	cJSON_AddNumberToObject(m, "ci_low", ci->low);
	cJSON_AddNumberToObject(m, "ci_high", ci->high);
	if (method)
		cJSON_AddStringToObject(m, "method", method);
}

static void add_num(cJSON *o, const char *key, int ok, double v)
{
	if (ok && isfinite(v))
		cJSON_AddNumberToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

static int insufficient(const struct mon_perf_opts *o, size_t n, size_t pos, size_t neg)
{
	return n < o->min_n || pos < o->min_class || neg < o->min_class;
}

/* The metrics of one population into obj. Returns 0 or a negative errno. */
static int perf_metrics(cJSON *obj, const double *s, const uint8_t *y, size_t n,
			const struct mon_perf_opts *o, struct stats_perf *p, int *ok)
{
	size_t pos = 0;

	for (size_t i = 0; i < n; i++)
		pos += y[i];
	cJSON_AddNumberToObject(obj, "n", (double)n);
	cJSON_AddNumberToObject(obj, "positives", (double)pos);
	cJSON_AddNumberToObject(obj, "negatives", (double)(n - pos));
	*ok = !insufficient(o, n, pos, n - pos);
	cJSON_AddBoolToObject(obj, "insufficient_data", !*ok);
	if (!*ok)
		return 0;

	int rc = stats_perf_eval(s, y, n, o->threshold, o->conf, p);
	if (rc < 0)
		return rc;
	cJSON *cm = cJSON_AddObjectToObject(obj, "confusion");
	cJSON_AddNumberToObject(cm, "tp", (double)p->tp);
	cJSON_AddNumberToObject(cm, "fp", (double)p->fp);
	cJSON_AddNumberToObject(cm, "tn", (double)p->tn);
	cJSON_AddNumberToObject(cm, "fn", (double)p->fn);
	cJSON_AddNumberToObject(obj, "prevalence", p->prevalence);
	add_ci(obj, "sensitivity", p->has_sens, &p->sens, "wilson");
	add_ci(obj, "specificity", p->has_spec, &p->spec, "wilson");
	add_ci(obj, "ppv", p->has_ppv, &p->ppv, "wilson");
	add_ci(obj, "npv", p->has_npv, &p->npv, "wilson");
	struct stats_ci auc = {p->auroc.auc, p->auroc.low, p->auroc.high};
	add_ci(obj, "auroc", p->has_auroc, &auc, "delong");
	add_num(obj, "brier", 1, p->brier);
	add_num(obj, "ece", 1, p->ece);
	add_num(obj, "calibration_slope", p->has_calibration, p->cal_slope);
	add_num(obj, "calibration_intercept", p->has_calibration, p->cal_intercept);
	return 0;
}

static void add_gap(cJSON *gaps, const char *key, int ok, size_t k1, size_t n1, size_t k2,
		    size_t n2, double conf)
{
	struct stats_ci ci;

	if (!ok || n1 == 0 || n2 == 0 || stats_newcombe_diff(k1, n1, k2, n2, conf, &ci) < 0) {
		cJSON_AddNullToObject(gaps, key);
		return;
	}
	add_ci(gaps, key, 1, &ci, "newcombe");
}

static void perf_gaps(cJSON *obj, const struct stats_perf *g, const struct stats_perf *all,
		      double conf)
{
	cJSON *gaps = cJSON_AddObjectToObject(obj, "gaps");

	add_gap(gaps, "sensitivity", 1, g->tp, g->tp + g->fn, all->tp, all->tp + all->fn, conf);
	add_gap(gaps, "specificity", 1, g->tn, g->tn + g->fp, all->tn, all->tn + all->fp, conf);
	add_gap(gaps, "ppv", 1, g->tp, g->tp + g->fp, all->tp, all->tp + all->fp, conf);
	if (g->has_auroc && all->has_auroc) {
		struct stats_ci ci;

		stats_auroc_diff(&g->auroc, &all->auroc, conf, &ci);
		add_ci(gaps, "auroc", 1, &ci, "delong");
	} else {
		cJSON_AddNullToObject(gaps, "auroc");
	}
}

/* A grouping: rows ordered by group, group boundaries, and each group's value labels. */
struct grouping {
	size_t ngroups;
	size_t *start;             /* ngroups + 1 */
	size_t *rows;              /* n, rows of group g at rows[start[g] .. start[g+1]) */
	uint32_t *code_a, *code_b; /* per group (COL_MISSING_CODE = missing) */
};

static void grouping_free(struct grouping *g)
{
	free(g->start);
	free(g->rows);
	free(g->code_a);
	free(g->code_b);
}

static const char *value_name(const struct mon_perf_attr *a, uint32_t code)
{
	return code == COL_MISSING_CODE ? NULL : col_dict_name(a->dict, code);
}

static int cmp_values(const struct mon_perf_attr *a, uint32_t x, uint32_t y)
{
	const char *sx = value_name(a, x), *sy = value_name(a, y);

	if (!sx || !sy)
		return !sx - !sy; /* missing sorts last */
	return strcmp(sx, sy);
}

/* Order of groups: by value name (missing last), first attribute first. Insertion sort on
 * the group list is fine: there are few groups. */
static void make_grouping(const struct mon_perf_attr *a, const struct mon_perf_attr *b, size_t n,
			  struct grouping *g)
{
	size_t ka = col_dict_size(a->dict) + 1, kb = b ? col_dict_size(b->dict) + 1 : 1;
	size_t kk = ka * kb;
	size_t *count = mon_xcalloc(kk + 1, sizeof(size_t));
	uint32_t *gid = mon_xmalloc((n ? n : 1) * sizeof(uint32_t));

	for (size_t i = 0; i < n; i++) {
		uint32_t ca = a->codes[i], cb = b ? b->codes[i] : 0;
		size_t ia = ca == COL_MISSING_CODE ? ka - 1 : ca;
		size_t ib = cb == COL_MISSING_CODE ? kb - 1 : cb;

		gid[i] = (uint32_t)(ia * kb + ib);
		count[gid[i]]++;
	}
	/* dense list of non-empty groups, sorted by value */
	size_t *order = mon_xmalloc(kk * sizeof(size_t));
	size_t ng = 0;
	for (size_t k = 0; k < kk; k++) {
		if (!count[k])
			continue;
		size_t ia = k / kb, ib = k % kb;
		uint32_t ca = ia == ka - 1 ? COL_MISSING_CODE : (uint32_t)ia;
		uint32_t cb = !b || ib == kb - 1 ? COL_MISSING_CODE : (uint32_t)ib;
		size_t j = ng++;

		while (j > 0) {
			size_t pk = order[j - 1];
			size_t pa = pk / kb, pb = pk % kb;
			uint32_t qa = pa == ka - 1 ? COL_MISSING_CODE : (uint32_t)pa;
			uint32_t qb = !b || pb == kb - 1 ? COL_MISSING_CODE : (uint32_t)pb;
			int c = cmp_values(a, qa, ca);

			if (c == 0 && b)
				c = cmp_values(b, qb, cb);
			if (c <= 0)
				break;
			order[j] = order[j - 1];
			j--;
		}
		order[j] = k;
	}
	size_t *slot = mon_xmalloc(kk * sizeof(size_t));
	g->ngroups = ng;
	g->start = mon_xmalloc((ng + 1) * sizeof(size_t));
	g->rows = mon_xmalloc((n ? n : 1) * sizeof(size_t));
	g->code_a = mon_xmalloc((ng ? ng : 1) * sizeof(uint32_t));
	g->code_b = mon_xmalloc((ng ? ng : 1) * sizeof(uint32_t));
	g->start[0] = 0;
	for (size_t j = 0; j < ng; j++) {
		size_t k = order[j], ia = k / kb, ib = k % kb;

		slot[k] = g->start[j];
		g->start[j + 1] = g->start[j] + count[k];
		g->code_a[j] = ia == ka - 1 ? COL_MISSING_CODE : (uint32_t)ia;
		g->code_b[j] = !b || ib == kb - 1 ? COL_MISSING_CODE : (uint32_t)ib;
	}
	for (size_t i = 0; i < n; i++)
		g->rows[slot[gid[i]]++] = i;
	free(slot);
	free(order);
	free(count);
	free(gid);
}

static void add_value(cJSON *obj, const char *key, const char *v)
{
	if (v)
		cJSON_AddStringToObject(obj, key, v);
	else
		cJSON_AddNullToObject(obj, key);
}

static cJSON *group_header(const struct mon_perf_attr *a, const struct mon_perf_attr *b,
			   uint32_t ca, uint32_t cb)
{
	cJSON *obj = cJSON_CreateObject();

	if (!b) {
		cJSON_AddStringToObject(obj, "attribute", a->name);
		add_value(obj, "value", value_name(a, ca));
		return obj;
	}
	cJSON *attrs = cJSON_AddArrayToObject(obj, "attributes");
	cJSON_AddItemToArray(attrs, cJSON_CreateString(a->name));
	cJSON_AddItemToArray(attrs, cJSON_CreateString(b->name));
	cJSON *vals = cJSON_AddArrayToObject(obj, "value");
	const char *va = value_name(a, ca), *vb = value_name(b, cb);
	cJSON_AddItemToArray(vals, va ? cJSON_CreateString(va) : cJSON_CreateNull());
	cJSON_AddItemToArray(vals, vb ? cJSON_CreateString(vb) : cJSON_CreateNull());
	return obj;
}

/* Calls fn for every grouping asked for: each attribute, then each pair. */
typedef int (*group_fn)(void *ctx, const struct mon_perf_attr *a, const struct mon_perf_attr *b,
			const struct grouping *g, cJSON *groups);

static int for_each_grouping(const struct mon_perf_attr *by, size_t nby, size_t n, int pairs,
			     group_fn fn, void *ctx, cJSON *groups)
{
	/* every attribute alone first, then the pairs in order */
	for (int pass = 0; pass < (pairs ? 2 : 1); pass++) {
		for (size_t i = 0; i < nby; i++) {
			for (size_t j = pass ? i + 1 : i; j < (pass ? nby : i + 1); j++) {
				const struct mon_perf_attr *b = pass ? &by[j] : NULL;
				struct grouping g;
				int rc;

				make_grouping(&by[i], b, n, &g);
				rc = fn(ctx, &by[i], b, &g, groups);
				grouping_free(&g);
				if (rc < 0)
					return rc;
			}
		}
	}
	return 0;
}

struct perf_ctx {
	const double *score;
	const uint8_t *label;
	const struct mon_perf_opts *o;
	const struct stats_perf *all;
	int all_ok;
	double *s;
	uint8_t *y;
};

static int perf_groups(void *vctx, const struct mon_perf_attr *a, const struct mon_perf_attr *b,
		       const struct grouping *g, cJSON *groups)
{
	struct perf_ctx *c = vctx;

	for (size_t k = 0; k < g->ngroups; k++) {
		size_t m = g->start[k + 1] - g->start[k];
		const size_t *rows = g->rows + g->start[k];
		cJSON *obj = group_header(a, b, g->code_a[k], g->code_b[k]);
		struct stats_perf p;
		int ok, rc;

		for (size_t i = 0; i < m; i++) {
			c->s[i] = c->score[rows[i]];
			c->y[i] = c->label[rows[i]];
		}
		cJSON_AddItemToArray(groups, obj);
		if ((rc = perf_metrics(obj, c->s, c->y, m, c->o, &p, &ok)) < 0)
			return rc;
		if (ok && c->all_ok)
			perf_gaps(obj, &p, c->all, c->o->conf);
	}
	return 0;
}

static void add_params(cJSON *root, const struct mon_perf_opts *o)
{
	cJSON *par = cJSON_AddObjectToObject(root, "parameters");

	cJSON_AddNumberToObject(par, "threshold", o->threshold);
	cJSON_AddNumberToObject(par, "min_n", (double)o->min_n);
	cJSON_AddNumberToObject(par, "min_class", (double)o->min_class);
	cJSON_AddNumberToObject(par, "confidence", o->conf);
	cJSON_AddNumberToObject(par, "ece_bins", 10);
}

int mon_perf_report(const double *score, const uint8_t *label, size_t n,
		    const struct mon_perf_attr *by, size_t nby, const struct mon_perf_opts *o,
		    cJSON **out)
{
	cJSON *root = cJSON_CreateObject();
	struct stats_perf all;
	struct perf_ctx c = {score, label, o, &all, 0, NULL, NULL};
	int rc;

	add_params(root, o);
	cJSON *ov = cJSON_AddObjectToObject(root, "overall");
	if ((rc = perf_metrics(ov, score, label, n, o, &all, &c.all_ok)) < 0)
		goto out;
	c.s = mon_xmalloc((n ? n : 1) * sizeof(double));
	c.y = mon_xmalloc(n ? n : 1);
	cJSON *groups = cJSON_AddArrayToObject(root, "groups");
	rc = for_each_grouping(by, nby, n, o->intersections, perf_groups, &c, groups);
out:
	free(c.s);
	free(c.y);
	if (rc < 0) {
		cJSON_Delete(root);
		return rc;
	}
	*out = root;
	return 0;
}

/* ---- estimate ---- */

struct est_ctx {
	const struct stats_isotonic *cal;
	const double *score;
	const uint8_t *label;
	const struct mon_perf_opts *o;
	double *s;
	uint8_t *y;
};

static void add_realized(cJSON *obj, const struct stats_cbpe *e, const double *s, const uint8_t *y,
			 size_t n, const struct mon_perf_opts *o)
{
	struct stats_perf p;
	cJSON *r, *err;

	if (stats_perf_eval_rates(s, y, n, o->threshold, o->conf, &p) < 0)
		return;
	r = cJSON_AddObjectToObject(obj, "realized");
	cJSON_AddNumberToObject(r, "positives", (double)p.positives);
	cJSON_AddNumberToObject(r, "prevalence", p.prevalence);
	add_num(r, "sensitivity", p.has_sens, p.sens.value);
	add_num(r, "specificity", p.has_spec, p.spec.value);
	add_num(r, "ppv", p.has_ppv, p.ppv.value);
	add_num(r, "npv", p.has_npv, p.npv.value);
	add_num(r, "auroc", p.has_auroc, p.auroc.auc);
	/* estimate minus realised: how far the label-free estimate can be trusted */
	err = cJSON_AddObjectToObject(obj, "error");
	add_num(err, "sensitivity", p.has_sens && e->has_sens, e->sens.value - p.sens.value);
	add_num(err, "specificity", p.has_spec && e->has_spec, e->spec.value - p.spec.value);
	add_num(err, "ppv", p.has_ppv && e->has_ppv, e->ppv.value - p.ppv.value);
	add_num(err, "npv", p.has_npv && e->has_npv, e->npv.value - p.npv.value);
	add_num(err, "auroc", p.has_auroc && e->has_auroc, e->auroc.value - p.auroc.auc);
}

static int est_metrics(cJSON *obj, const struct est_ctx *c, const double *s, const uint8_t *y,
		       size_t n)
{
	const struct mon_perf_opts *o = c->o;
	struct stats_cbpe e;
	int rc;

	cJSON_AddNumberToObject(obj, "n", (double)n);
	cJSON_AddBoolToObject(obj, "insufficient_data", n < o->min_n);
	if (n < o->min_n)
		return 0;
	if ((rc = stats_cbpe_estimate(c->cal, s, n, o->threshold, o->conf, o->draws, o->seed, &e)) <
	    0)
		return rc;
	cJSON_AddNumberToObject(obj, "expected_positives", e.tp + e.fn);
	cJSON *cm = cJSON_AddObjectToObject(obj, "confusion");
	cJSON_AddNumberToObject(cm, "tp", e.tp);
	cJSON_AddNumberToObject(cm, "fp", e.fp);
	cJSON_AddNumberToObject(cm, "tn", e.tn);
	cJSON_AddNumberToObject(cm, "fn", e.fn);
	cJSON_AddNumberToObject(obj, "prevalence", e.prevalence);
	add_ci(obj, "sensitivity", e.has_sens, &e.sens, "cbpe");
	add_ci(obj, "specificity", e.has_spec, &e.spec, "cbpe");
	add_ci(obj, "ppv", e.has_ppv, &e.ppv, "cbpe");
	add_ci(obj, "npv", e.has_npv, &e.npv, "cbpe");
	add_ci(obj, "auroc", e.has_auroc, &e.auroc, "cbpe");
	if (y)
		add_realized(obj, &e, s, y, n, o);
	return 0;
}

static int est_groups(void *vctx, const struct mon_perf_attr *a, const struct mon_perf_attr *b,
		      const struct grouping *g, cJSON *groups)
{
	struct est_ctx *c = vctx;

	for (size_t k = 0; k < g->ngroups; k++) {
		size_t m = g->start[k + 1] - g->start[k];
		const size_t *rows = g->rows + g->start[k];
		cJSON *obj = group_header(a, b, g->code_a[k], g->code_b[k]);
		int rc;

		for (size_t i = 0; i < m; i++) {
			c->s[i] = c->score[rows[i]];
			if (c->label)
				c->y[i] = c->label[rows[i]];
		}
		cJSON_AddItemToArray(groups, obj);
		if ((rc = est_metrics(obj, c, c->s, c->label ? c->y : NULL, m)) < 0)
			return rc;
	}
	return 0;
}

int mon_estimate_report(const struct stats_isotonic *cal, const double *score, const uint8_t *label,
			size_t n, const struct mon_perf_attr *by, size_t nby,
			const struct mon_perf_opts *o, cJSON **out)
{
	cJSON *root = cJSON_CreateObject();
	struct est_ctx c = {cal, score, label, o, NULL, NULL};
	int rc;

	cJSON_AddStringToObject(root, "method", "cbpe");
	add_params(root, o);
	cJSON *par = cJSON_GetObjectItem(root, "parameters");
	cJSON_AddNumberToObject(par, "draws",
				(double)(o->draws ? o->draws : STATS_CBPE_DEFAULT_DRAWS));
	cJSON_AddNumberToObject(par, "seed", (double)o->seed);
	cJSON_AddStringToObject(par, "calibration", "isotonic");
	cJSON *ov = cJSON_AddObjectToObject(root, "overall");
	if ((rc = est_metrics(ov, &c, score, label, n)) < 0)
		goto out;
	c.s = mon_xmalloc((n ? n : 1) * sizeof(double));
	c.y = mon_xmalloc(n ? n : 1);
	cJSON *groups = cJSON_AddArrayToObject(root, "groups");
	rc = for_each_grouping(by, nby, n, o->intersections, est_groups, &c, groups);
out:
	free(c.s);
	free(c.y);
	if (rc < 0) {
		cJSON_Delete(root);
		return rc;
	}
	*out = root;
	return 0;
}
