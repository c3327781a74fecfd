/* SPDX-License-Identifier: MIT
 * monitor/evaluate.c - every test and metric of one evaluation window, as result rows
 *
 * The work is done by the report builders the offline commands use: mon_drift_report once
 * for all the window's rows (with MMD) and once per kept segment value, mon_perf_report
 * over the labelled rows grouped by every attribute, mon_estimate_report over all rows
 * (and over the labelled rows, for the estimate's error). Their JSON is then read back into
 * rows. Reading JSON costs little next to the statistics, and it keeps one implementation
 * of each number: an evaluation cannot drift apart from `vigil drift`.
 *
 * Categorical codes are recoded for every drift report into dictionaries of their own, in
 * the order `vigil drift` meets the categories (reference rows first, then the window's),
 * so that sums over categories run in the same order and agree to the last bit.
 *
 * Segment values: a window may carry any number of distinct values of an attribute; only
 * the max_segment_values most frequent are evaluated per attribute (ties by name), and the
 * codes of the others are mapped to "no value" for the per-segment computations, so the
 * number of rows a window produces is bounded whatever the data.
 */
#include "config.h"

#include "monitor/evaluate.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "monitor/drift_report.h"
#include "monitor/log.h"
#include "monitor/perf_report.h"
#include "stats/multitest.h"

static const char *const scope_names[] = {
	[MON_EVAL_FEATURE] = "feature",
	[MON_EVAL_SCORE] = "score",
	[MON_EVAL_MULTIVARIATE] = "multivariate",
	[MON_EVAL_PERFORMANCE] = "performance",
	[MON_EVAL_ESTIMATE] = "estimate",
	[MON_EVAL_ESTIMATE_ERROR] = "estimate_error",
	[MON_EVAL_VOLUME] = "volume",
	[MON_EVAL_MISSING] = "missing",
	[MON_EVAL_LABEL_COVERAGE] = "label_coverage",
};

const char *mon_eval_scope_name(enum mon_eval_scope s)
{
	return scope_names[s];
}

void mon_eval_opts_init(struct mon_eval_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->min_n = 30;
	o->min_class = 5;
	o->max_segment_values = 64;
	o->conf = 0.95;
	o->mmd_permutations = 100;
	o->seed = 1;
	o->threads = 2;
}

const char *mon_evaluate_status(size_t labeled, size_t n, double label_complete)
{
	if (labeled == 0 || n == 0)
		return NULL;
	return (double)labeled / (double)n >= label_complete ? "final" : "provisional";
}

/* --- rows ------------------------------------------------------------------------------- */

void mon_eval_rows_init(struct mon_eval_rows *r)
{
	memset(r, 0, sizeof(*r));
}

void mon_eval_rows_fini(struct mon_eval_rows *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct mon_eval_row *x = &r->v[i];

		free(x->feature);
		free(x->segment);
		free(x->segment_value);
		free(x->metric);
		free(x->method);
		free(x->parameters);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static char *dup_or_null(const char *s)
{
	return s ? mon_xstrndup(s, strlen(s)) : NULL;
}

/* Append a row whose values are all NULL; the caller fills it and sets its parameters. */
static struct mon_eval_row *add_row(struct mon_eval_rows *out, enum mon_eval_scope scope,
				    const char *feature, const char *segment, const char *value,
				    const char *metric, const char *method)
{
	struct mon_eval_row *r;

	if (out->n == out->cap) {
		out->cap = out->cap ? 2 * out->cap : 256;
		out->v = mon_xrealloc(out->v, out->cap * sizeof(*out->v));
	}
	r = &out->v[out->n++];
	memset(r, 0, sizeof(*r));
	r->scope = scope;
	r->feature = dup_or_null(feature);
	r->segment = dup_or_null(segment);
	r->segment_value = dup_or_null(value);
	r->metric = dup_or_null(metric);
	r->method = dup_or_null(method);
	r->value = r->ci_low = r->ci_high = r->p_value = r->q_value = NAN;
	r->n = r->n_reference = -1;
	return r;
}

/* Set r's parameters to the text of p (consumed; NULL: {}). */
static void set_params(struct mon_eval_row *r, cJSON *p)
{
	char *t = p ? cJSON_PrintUnformatted(p) : NULL;

	if (p && !t)
		abort();
	free(r->parameters);
	r->parameters = dup_or_null(t ? t : "{}");
	cJSON_free(t);
	cJSON_Delete(p);
}

/* --- JSON reading --------------------------------------------------------------------------- */

static const cJSON *jget(const cJSON *o, const char *k)
{
	return o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = jget(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = jget(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void add_num_or_null(cJSON *o, const char *k, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static int64_t count_of(double v)
{
	return isfinite(v) && v >= 0 ? (int64_t)v : -1;
}

/* --- segment attributes ------------------------------------------------------------------- */

/* Rows of one sample by the codes of one attribute: group g < ncodes holds the rows with
 * code g, group ncodes those without a value; rows[start[g] .. start[g + 1]). */
struct groups {
	size_t ncodes;
	size_t *start; /* ncodes + 2 */
	size_t *rows;
};

static void group_rows(const uint32_t *codes, size_t n, size_t ncodes, struct groups *g)
{
	size_t *next;

	g->ncodes = ncodes;
	g->start = mon_xcalloc(ncodes + 2, sizeof(size_t));
	g->rows = mon_xmalloc((n ? n : 1) * sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		g->start[(codes[i] == COL_MISSING_CODE || codes[i] >= ncodes ? ncodes : codes[i]) +
			 1]++;
	for (size_t k = 0; k <= ncodes; k++)
		g->start[k + 1] += g->start[k];
	next = mon_xmalloc((ncodes + 1) * sizeof(size_t));
	memcpy(next, g->start, (ncodes + 1) * sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		g->rows[next[codes[i] == COL_MISSING_CODE || codes[i] >= ncodes ? ncodes
										: codes[i]]++] = i;
	free(next);
}

static void groups_fini(struct groups *g)
{
	free(g->start);
	free(g->rows);
}

static size_t group_size(const struct groups *g, uint32_t code)
{
	return g->start[code + 1] - g->start[code];
}

/* The values of one attribute that are evaluated on their own. */
struct attr {
	const char *name;
	const struct col_dict *dict;
	size_t ncodes; /* the dictionary's size when grouped */
	size_t nkept;
	uint32_t *kept; /* codes, most frequent first */
	uint8_t *keep;  /* ncodes flags */
};

struct code_count {
	uint32_t code;
	size_t count;
	const char *name;
};

static int cmp_count(const void *a, const void *b)
{
	const struct code_count *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Keep the max most frequent values among the rows grouped in g. */
static void attr_init(struct attr *a, const char *name, const struct col_dict *dict,
		      const struct groups *g, size_t max)
{
	struct code_count *cc = mon_xmalloc((g->ncodes ? g->ncodes : 1) * sizeof(*cc));
	size_t k = 0;

	memset(a, 0, sizeof(*a));
	a->name = name;
	a->dict = dict;
	a->ncodes = g->ncodes;
	a->keep = mon_xcalloc(g->ncodes ? g->ncodes : 1, 1);
	for (uint32_t c = 0; c < g->ncodes; c++) {
		if (!group_size(g, c))
			continue;
		cc[k].code = c;
		cc[k].count = group_size(g, c);
		cc[k++].name = col_dict_name(dict, c);
	}
	qsort(cc, k, sizeof(*cc), cmp_count);
	a->nkept = k < max ? k : max;
	a->kept = mon_xmalloc((a->nkept ? a->nkept : 1) * sizeof(uint32_t));
	for (size_t i = 0; i < a->nkept; i++) {
		a->kept[i] = cc[i].code;
		a->keep[cc[i].code] = 1;
	}
	free(cc);
}

static void attr_fini(struct attr *a)
{
	free(a->kept);
	free(a->keep);
}

/* codes with the values a does not keep replaced by "no value": a new array of n. */
static uint32_t *attr_remap(const struct attr *a, const uint32_t *codes, size_t n)
{
	uint32_t *o = mon_xmalloc((n ? n : 1) * sizeof(uint32_t));

	for (size_t i = 0; i < n; i++)
		o[i] = codes[i] != COL_MISSING_CODE && codes[i] < a->ncodes && a->keep[codes[i]]
			       ? codes[i]
			       : COL_MISSING_CODE;
	return o;
}

/* --- volume, coverage, missing values ------------------------------------------------------ */

static void volume_rows(const struct mon_eval_input *in, const struct attr *attrs,
			const struct groups *gw, size_t nseg, const struct mon_eval_opts *o,
			struct mon_eval_rows *out)
{
	const struct mon_window *w = in->win;
	struct mon_eval_row *r;
	cJSON *p;

	(void)o;
	r = add_row(out, MON_EVAL_VOLUME, NULL, NULL, NULL, "count", "count");
	r->value = (double)w->n;
	r->n = (int64_t)w->n;
	set_params(r, NULL);

	r = add_row(out, MON_EVAL_VOLUME, NULL, NULL, NULL, "volume_ratio", "rate");
	r->n = (int64_t)w->n;
	p = cJSON_CreateObject();
	add_num_or_null(p, "expected", in->expected_rows);
	if (in->volume_basis)
		cJSON_AddStringToObject(p, "basis", in->volume_basis);
	if (isfinite(in->expected_rows) && in->expected_rows > 0) {
		r->value = (double)w->n / in->expected_rows;
	} else {
		r->insufficient = 1;
		cJSON_AddStringToObject(p, "reason",
					"no expected rate: the reference gives none "
					"and no earlier window was evaluated");
	}
	set_params(r, p);

	for (size_t k = 0; k < nseg; k++) {
		for (size_t i = 0; i < attrs[k].nkept; i++) {
			uint32_t c = attrs[k].kept[i];

			r = add_row(out, MON_EVAL_VOLUME, NULL, attrs[k].name,
				    col_dict_name(attrs[k].dict, c), "count", "count");
			r->value = (double)group_size(&gw[k], c);
			r->n = (int64_t)group_size(&gw[k], c);
			set_params(r, NULL);
		}
	}
}

static void coverage_row(struct mon_eval_rows *out, const char *seg, const char *val,
			 size_t labeled, size_t n)
{
	struct mon_eval_row *r =
		add_row(out, MON_EVAL_LABEL_COVERAGE, NULL, seg, val, "coverage", "share");
	cJSON *p = cJSON_CreateObject();

	r->value = n ? (double)labeled / (double)n : NAN;
	r->n = (int64_t)n;
	cJSON_AddNumberToObject(p, "labeled", (double)labeled);
	set_params(r, p);
}

static void coverage_rows(const struct mon_window *w, const struct attr *attrs,
			  const struct groups *gw, size_t nseg, struct mon_eval_rows *out)
{
	coverage_row(out, NULL, NULL, w->labeled, w->n);
	for (size_t k = 0; k < nseg; k++) {
		for (size_t i = 0; i < attrs[k].nkept; i++) {
			uint32_t c = attrs[k].kept[i];
			const size_t *rows = gw[k].rows + gw[k].start[c];
			size_t m = group_size(&gw[k], c), lab = 0;

			for (size_t j = 0; j < m; j++)
				lab += w->label[rows[j]] != MON_WINDOW_NO_LABEL;
			coverage_row(out, attrs[k].name, col_dict_name(attrs[k].dict, c), lab, m);
		}
	}
}

/* Missing values of feature f among the n rows of w listed in rows (all rows: NULL). */
static size_t missing_in(const struct mon_window *w, const struct col_feature *f,
			 const size_t *rows, size_t n)
{
	size_t k = 0;

	if (f->type == COL_CATEGORICAL) {
		const uint32_t *v = w->cat[f->slot];

		for (size_t i = 0; i < n; i++)
			k += v[rows ? rows[i] : i] == COL_MISSING_CODE;
	} else {
		const double *v = w->num[f->slot];

		for (size_t i = 0; i < n; i++)
			k += isnan(v[rows ? rows[i] : i]);
	}
	return k;
}

/* One missing_rate row: m of n window rows missing; the reference's rate of the same rows
 * (all, or the same segment value) beside it when there is a reference. */
static void missing_row(struct mon_eval_rows *out, const struct col_feature *f, const char *seg,
			const char *val, size_t m, size_t n, int have_ref, size_t mr, size_t nr)
{
	struct mon_eval_row *r =
		add_row(out, MON_EVAL_MISSING, f->name, seg, val, "missing_rate", "share");
	cJSON *p = cJSON_CreateObject();

	r->value = n ? (double)m / (double)n : NAN;
	r->n = (int64_t)n;
	cJSON_AddNumberToObject(p, "missing", (double)m);
	if (have_ref) {
		r->n_reference = (int64_t)nr;
		add_num_or_null(p, "reference_missing_rate", nr ? (double)mr / (double)nr : NAN);
	}
	set_params(r, p);
}

/* The missing-value rate of every feature over the window and per evaluated segment value:
 * a feed that stops sending one field at one site shows here first. */
static void missing_rows(const struct mon_eval_input *in, const struct attr *attrs,
			 const struct groups *gw, const struct groups *gr, size_t nseg,
			 struct mon_eval_rows *out)
{
	const struct col_schema *s = in->schema;
	const struct mon_window *w = in->win, *ref = in->ref;

	for (size_t j = 0; j < s->nfeat; j++) {
		const struct col_feature *f = &s->feat[j];

		missing_row(out, f, NULL, NULL, missing_in(w, f, NULL, w->n), w->n, ref != NULL,
			    ref ? missing_in(ref, f, NULL, ref->n) : 0, ref ? ref->n : 0);
	}
	for (size_t k = 0; k < nseg; k++) {
		for (size_t i = 0; i < attrs[k].nkept; i++) {
			uint32_t c = attrs[k].kept[i];
			const char *val = col_dict_name(attrs[k].dict, c);
			const size_t *rows = gw[k].rows + gw[k].start[c];
			size_t n = group_size(&gw[k], c), nr = 0;
			const size_t *rrows = NULL;

			if (ref && c < gr[k].ncodes) {
				rrows = gr[k].rows + gr[k].start[c];
				nr = group_size(&gr[k], c);
			}
			for (size_t j = 0; j < s->nfeat; j++) {
				const struct col_feature *f = &s->feat[j];

				missing_row(out, f, attrs[k].name, val, missing_in(w, f, rows, n),
					    n, ref != NULL, ref ? missing_in(ref, f, rrows, nr) : 0,
					    nr);
			}
		}
	}
}

/* --- drift ----------------------------------------------------------------------------- */

/* Codes of R's and W's categorical column k recoded into a new dictionary in order of first
 * appearance, R's rows first: new arrays in *rc and *wc, the dictionary in *dict. */
static void recode(const struct col_dict *old, const uint32_t *r, size_t nr, const uint32_t *w,
		   size_t nw, struct col_dict **dict, uint32_t **rc, uint32_t **wc)
{
	size_t nold = col_dict_size(old);
	uint32_t *map = mon_xmalloc((nold ? nold : 1) * sizeof(uint32_t));
	const uint32_t *src[2] = {r, w};
	size_t len[2] = {nr, nw};
	uint32_t *dst[2];

	*dict = col_dict_new();
	for (size_t i = 0; i < nold; i++)
		map[i] = COL_MISSING_CODE;
	for (int s = 0; s < 2; s++) {
		dst[s] = mon_xmalloc((len[s] ? len[s] : 1) * sizeof(uint32_t));
		for (size_t i = 0; i < len[s]; i++) {
			uint32_t c = src[s][i];

			if (c == COL_MISSING_CODE || c >= nold) {
				dst[s][i] = COL_MISSING_CODE;
				continue;
			}
			if (map[c] == COL_MISSING_CODE) {
				const char *name = col_dict_name(old, c);

				map[c] = col_dict_intern(*dict, name, strlen(name));
			}
			dst[s][i] = map[c];
		}
	}
	*rc = dst[0];
	*wc = dst[1];
	free(map);
}

/* The drift report of reference rows R vs window rows W: the features in declaration
 * order, then the score, as routes_analysis.c builds it for GET .../drift. */
static int drift_report(const struct col_schema *s, const struct mon_window_dicts *d,
			const struct mon_window *R, const struct mon_window *W,
			const struct mon_drift_opts *dopts, cJSON **rep)
{
	struct mon_drift_feature *f = mon_xcalloc(s->nfeat + 1, sizeof(*f));
	struct col_dict **dicts = mon_xcalloc(s->ncat ? s->ncat : 1, sizeof(*dicts));
	uint32_t **rc = mon_xcalloc(s->ncat ? s->ncat : 1, sizeof(*rc));
	uint32_t **wc = mon_xcalloc(s->ncat ? s->ncat : 1, sizeof(*wc));
	int ret;

	for (size_t k = 0; k < s->ncat; k++)
		recode(d->cat[k], R->cat[k], R->n, W->cat[k], W->n, &dicts[k], &rc[k], &wc[k]);
	for (size_t j = 0; j < s->nfeat; j++) {
		const struct col_feature *cf = &s->feat[j];

		f[j].name = cf->name;
		if (cf->type == COL_CATEGORICAL) {
			f[j].categorical = 1;
			f[j].ref_cat = rc[cf->slot];
			f[j].cur_cat = wc[cf->slot];
			f[j].dict = dicts[cf->slot];
		} else {
			f[j].ref_num = R->num[cf->slot];
			f[j].cur_num = W->num[cf->slot];
		}
	}
	f[s->nfeat].name = "score";
	f[s->nfeat].ref_num = R->score;
	f[s->nfeat].cur_num = W->score;
	ret = mon_drift_report(f, s->nfeat + 1, R->n, W->n, dopts, rep);
	for (size_t k = 0; k < s->ncat; k++) {
		col_dict_free(dicts[k]);
		free(rc[k]);
		free(wc[k]);
	}
	free(dicts);
	free(rc);
	free(wc);
	free(f);
	return ret;
}

/* One drift metric row. value_key names the member of the test object tst holding the
 * value; with p_key also its p-value. */
static struct mon_eval_row *drift_metric(struct mon_eval_rows *out, enum mon_eval_scope scope,
					 const char *feature, const char *seg, const char *val,
					 const char *metric, const char *method, const cJSON *tst,
					 const char *value_key, int p, int insufficient, int64_t n,
					 int64_t n_ref)
{
	struct mon_eval_row *r = add_row(out, scope, feature, seg, val, metric, method);

	r->n = n;
	r->n_reference = n_ref;
	r->insufficient = insufficient;
	if (!insufficient) {
		r->value = jnum(tst, value_key);
		if (p)
			r->p_value = jnum(tst, "p_value");
	}
	return r;
}

/* Parameters shared by a feature's rows: why a value is missing. */
static cJSON *drift_params(int insufficient, const char *why, size_t min_n)
{
	cJSON *p = cJSON_CreateObject();

	if (insufficient) {
		char buf[96];

		snprintf(buf, sizeof(buf),
			 "fewer than %zu non-missing values in window or reference", min_n);
		cJSON_AddStringToObject(p, "reason", buf);
	} else if (why) {
		cJSON_AddStringToObject(p, "reason", why);
	}
	return p;
}

/* Rows of one drift report (features, then the score). */
static void drift_rows(const cJSON *rep, size_t nfeat, const char *seg, const char *val,
		       const struct mon_eval_opts *o, struct mon_eval_rows *out)
{
	const cJSON *f;
	size_t j = 0;

	cJSON_ArrayForEach (f, jget(rep, "features")) {
		int is_score = j++ == nfeat;
		enum mon_eval_scope scope = is_score ? MON_EVAL_SCORE : MON_EVAL_FEATURE;
		const char *name = is_score ? NULL : jstr(f, "name");
		double nc = jnum(f, "n_current"), nr = jnum(f, "n_reference");
		int ins = !(nc >= (double)o->min_n && nr >= (double)o->min_n);
		const char *why = jstr(f, "undefined_reason");
		const char *type = jstr(f, "type");
		struct mon_eval_row *r;
		cJSON *p;

		if (type && !strcmp(type, "categorical")) {
			const cJSON *chi = jget(f, "chi_square");
			const cJSON *unseen = jget(f, "unseen_categories");
			int nunseen = cJSON_GetArraySize(unseen), k = 0;
			const cJSON *u;

			r = drift_metric(out, scope, name, seg, val, "chi_square", "pearson", chi,
					 "statistic", 1, ins, count_of(nc), count_of(nr));
			p = drift_params(ins, why, o->min_n);
			if (!ins)
				add_num_or_null(p, "dof", jnum(chi, "dof"));
			cJSON_AddNumberToObject(p, "unseen_categories", nunseen);
			cJSON *names = cJSON_AddArrayToObject(p, "unseen");
			cJSON_ArrayForEach (u, unseen) {
				if (k++ == 20)
					break;
				cJSON_AddItemToArray(names, cJSON_CreateString(u->valuestring));
			}
			set_params(r, p);
			r = drift_metric(out, scope, name, seg, val, "psi", "categories",
					 jget(f, "psi"), "value", 0, ins, count_of(nc),
					 count_of(nr));
			p = drift_params(ins, why, o->min_n);
			cJSON_AddNumberToObject(p, "floor", 1e-4);
			set_params(r, p);
			r = drift_metric(out, scope, name, seg, val, "jensen_shannon", "categories",
					 jget(f, "jensen_shannon"), "value", 0, ins, count_of(nc),
					 count_of(nr));
			set_params(r, drift_params(ins, why, o->min_n));
			continue;
		}
		const cJSON *ks = jget(f, "ks");
		const cJSON *w = jget(f, "wasserstein");

		r = drift_metric(out, scope, name, seg, val, "ks",
				 jstr(ks, "method") ? jstr(ks, "method") : "ks", ks, "statistic", 1,
				 ins, count_of(nc), count_of(nr));
		set_params(r, drift_params(ins, why, o->min_n));
		r = drift_metric(out, scope, name, seg, val, "psi", "reference_deciles",
				 jget(f, "psi"), "value", 0, ins, count_of(nc), count_of(nr));
		p = drift_params(ins, why, o->min_n);
		cJSON_AddNumberToObject(p, "bins", 10);
		cJSON_AddNumberToObject(p, "floor", 1e-4);
		set_params(r, p);
		r = drift_metric(out, scope, name, seg, val, "wasserstein", "w1", w, "value", 0,
				 ins, count_of(nc), count_of(nr));
		p = drift_params(ins, why, o->min_n);
		if (!ins)
			add_num_or_null(p, "normalized", jnum(w, "normalized"));
		set_params(r, p);
		r = drift_metric(out, scope, name, seg, val, "jensen_shannon", "reference_deciles",
				 jget(f, "jensen_shannon"), "value", 0, ins, count_of(nc),
				 count_of(nr));
		set_params(r, drift_params(ins, why, o->min_n));
	}
}

static void mmd_row(const cJSON *m, const struct mon_eval_opts *o, struct mon_eval_rows *out)
{
	double nc = jnum(m, "n_current"), nr = jnum(m, "n_reference");
	int ins = !(nc >= (double)o->min_n && nr >= (double)o->min_n);
	struct mon_eval_row *r = add_row(out, MON_EVAL_MULTIVARIATE, NULL, NULL, NULL, "mmd",
					 "mmd2_rbf_permutation");
	cJSON *p = cJSON_CreateObject();
	static const char *const copy[] = {
		"sigma",    "permutations",           "seed",
		"max_rows", "dropped_reference_rows", "dropped_current_rows"};

	r->n = count_of(nc);
	r->n_reference = count_of(nr);
	r->insufficient = ins;
	if (!ins) {
		r->value = jnum(m, "mmd2");
		r->p_value = jnum(m, "p_value");
	}
	for (size_t i = 0; i < sizeof(copy) / sizeof(copy[0]); i++)
		add_num_or_null(p, copy[i], jnum(m, copy[i]));
	cJSON_AddBoolToObject(p, "subsampled", cJSON_IsTrue(jget(m, "subsampled")));
	cJSON_AddItemToObject(p, "features", cJSON_Duplicate(jget(m, "features"), 1));
	if (ins)
		cJSON_AddStringToObject(p, "reason", "fewer than min_n complete rows");
	else if (jstr(m, "undefined_reason"))
		cJSON_AddStringToObject(p, "reason", jstr(m, "undefined_reason"));
	set_params(r, p);
}

/* Benjamini-Hochberg over the drift tests among rows [first, last) of out. */
static int family_q(struct mon_eval_rows *out, size_t first, size_t last)
{
	size_t m = 0, k = 0;
	double *p;
	int ret = 0;

	for (size_t i = first; i < last; i++)
		m += isfinite(out->v[i].p_value) && !out->v[i].insufficient;
	if (!m)
		return 0;
	p = mon_xmalloc(m * sizeof(double));
	for (size_t i = first; i < last; i++)
		if (isfinite(out->v[i].p_value) && !out->v[i].insufficient)
			p[k++] = out->v[i].p_value;
	ret = stats_bh(p, m, p);
	if (!ret) {
		k = 0;
		for (size_t i = first; i < last; i++) {
			struct mon_eval_row *r = &out->v[i];

			if (isfinite(r->p_value) && !r->insufficient)
				r->q_value = p[k++];
		}
	}
	free(p);
	return ret;
}

/* --- performance and estimate ---------------------------------------------------------- */

static const char *const ci_metrics[] = {"sensitivity", "specificity", "ppv", "npv", "auroc"};
#define NCI (sizeof(ci_metrics) / sizeof(ci_metrics[0]))

/* A metric with an interval ({value, ci_low, ci_high, method} or null) into r. */
static void take_ci(struct mon_eval_row *r, const cJSON *m)
{
	if (!cJSON_IsObject(m))
		return;
	r->value = jnum(m, "value");
	r->ci_low = jnum(m, "ci_low");
	r->ci_high = jnum(m, "ci_high");
}

/* Expected cost per prediction from a confusion object, or NaN. */
static double cost_of(const cJSON *cm, double n, double fn_cost, double fp_cost)
{
	double fn = jnum(cm, "fn"), fp = jnum(cm, "fp");

	if (!cm || !(n > 0) || !isfinite(fn) || !isfinite(fp))
		return NAN;
	return (fn_cost * fn + fp_cost * fp) / n;
}

struct group_ctx {
	enum mon_eval_scope scope;
	const char *status;
	double fn_cost, fp_cost;
	const struct mon_eval_opts *o;
	int no_interval; /* estimate: point values only */
};

static cJSON *perf_params(const cJSON *g, int insufficient, const struct mon_eval_opts *o)
{
	cJSON *p = cJSON_CreateObject();

	add_num_or_null(p, "positives", jnum(g, "positives"));
	add_num_or_null(p, "negatives", jnum(g, "negatives"));
	if (insufficient) {
		char buf[120];

		snprintf(buf, sizeof(buf),
			 "fewer than %zu labelled rows or fewer than %zu of a class", o->min_n,
			 o->min_class);
		cJSON_AddStringToObject(p, "reason", buf);
	}
	return p;
}

/* The performance rows of one group object of mon_perf_report. */
static void perf_group(const struct group_ctx *x, const cJSON *g, const char *seg, const char *val,
		       struct mon_eval_rows *out)
{
	static const char *const plain[] = {"brier", "ece", "prevalence", "calibration_slope",
					    "calibration_intercept"};
	int ins = cJSON_IsTrue(jget(g, "insufficient_data"));
	int64_t n = count_of(jnum(g, "n"));
	struct mon_eval_row *r;

	for (size_t i = 0; i < NCI; i++) {
		const cJSON *m = jget(g, ci_metrics[i]);
		const char *method = jstr(m, "method");

		r = add_row(out, x->scope, NULL, seg, val, ci_metrics[i],
			    method ? method : (i == 4 ? "delong" : "wilson"));
		r->n = n;
		r->status = x->status;
		r->insufficient = ins;
		if (!ins)
			take_ci(r, m);
		set_params(r, perf_params(g, ins, x->o));
	}
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		r = add_row(out, x->scope, NULL, seg, val, plain[i], i < 2 ? plain[i] : "point");
		r->n = n;
		r->status = x->status;
		r->insufficient = ins;
		if (!ins)
			r->value = jnum(g, plain[i]);
		set_params(r, perf_params(g, ins, x->o));
	}
	r = add_row(out, x->scope, NULL, seg, val, "cost", "expected_cost");
	r->n = n;
	r->status = x->status;
	r->insufficient = ins;
	cJSON *p = perf_params(g, ins, x->o);
	cJSON_AddNumberToObject(p, "fn_cost", x->fn_cost);
	cJSON_AddNumberToObject(p, "fp_cost", x->fp_cost);
	if (!ins) {
		const cJSON *cm = jget(g, "confusion");

		r->value = cost_of(cm, jnum(g, "n"), x->fn_cost, x->fp_cost);
		cJSON_AddItemToObject(p, "confusion", cJSON_Duplicate(cm, 1));
	}
	set_params(r, p);
}

/* The estimate rows of one group object of mon_estimate_report (without labels). */
static void estimate_group(const struct group_ctx *x, const cJSON *g, const cJSON *par,
			   const char *seg, const char *val, struct mon_eval_rows *out)
{
	int ins = cJSON_IsTrue(jget(g, "insufficient_data"));
	int64_t n = count_of(jnum(g, "n"));
	struct mon_eval_row *r;
	char buf[80];

	for (size_t i = 0; i < NCI + 2; i++) {
		const char *metric = i < NCI ? ci_metrics[i] : i == NCI ? "prevalence" : "cost";
		cJSON *p = cJSON_CreateObject();

		r = add_row(out, MON_EVAL_ESTIMATE, NULL, seg, val, metric, "cbpe");
		r->n = n;
		r->insufficient = ins;
		if (x->no_interval) {
			cJSON_AddStringToObject(p, "interval",
						"not computed: the window's labels are complete");
		} else {
			add_num_or_null(p, "draws", jnum(par, "draws"));
			add_num_or_null(p, "seed", jnum(par, "seed"));
		}
		if (ins) {
			snprintf(buf, sizeof(buf), "fewer than %zu rows", x->o->min_n);
			cJSON_AddStringToObject(p, "reason", buf);
		} else if (i < NCI) {
			take_ci(r, jget(g, metric));
			if (x->no_interval)
				r->ci_low = r->ci_high = NAN;
		} else if (i == NCI) {
			r->value = jnum(g, "prevalence");
		} else {
			r->value =
				cost_of(jget(g, "confusion"), jnum(g, "n"), x->fn_cost, x->fp_cost);
			cJSON_AddNumberToObject(p, "fn_cost", x->fn_cost);
			cJSON_AddNumberToObject(p, "fp_cost", x->fp_cost);
		}
		set_params(r, p);
	}
}

/* The estimate_error rows of one group object of mon_estimate_report with labels. */
static void error_group(const struct group_ctx *x, const cJSON *g, const char *seg, const char *val,
			struct mon_eval_rows *out)
{
	const cJSON *real = jget(g, "realized"), *err = jget(g, "error");
	double n = jnum(g, "n"), pos = jnum(real, "positives");
	int ins = cJSON_IsTrue(jget(g, "insufficient_data")) || !real ||
		  !(n >= (double)x->o->min_n && pos >= (double)x->o->min_class &&
		    n - pos >= (double)x->o->min_class);
	char buf[120];

	for (size_t i = 0; i < NCI; i++) {
		cJSON *p = cJSON_CreateObject();
		struct mon_eval_row *r;

		r = add_row(out, MON_EVAL_ESTIMATE_ERROR, NULL, seg, val, ci_metrics[i],
			    "cbpe_minus_realized");
		r->n = count_of(n);
		r->status = x->status;
		r->insufficient = ins;
		if (ins) {
			snprintf(buf, sizeof(buf),
				 "fewer than %zu labelled rows or fewer than %zu of a class",
				 x->o->min_n, x->o->min_class);
			cJSON_AddStringToObject(p, "reason", buf);
		} else {
			r->value = jnum(err, ci_metrics[i]);
			add_num_or_null(p, "estimate", jnum(jget(g, ci_metrics[i]), "value"));
			add_num_or_null(p, "realized", jnum(real, ci_metrics[i]));
		}
		set_params(r, p);
	}
}

enum group_kind { G_PERF, G_ESTIMATE, G_ERROR };

static void emit_group(const struct group_ctx *x, enum group_kind kind, const cJSON *g,
		       const cJSON *par, const char *seg, const char *val,
		       struct mon_eval_rows *out)
{
	if (kind == G_PERF)
		perf_group(x, g, seg, val, out);
	else if (kind == G_ESTIMATE)
		estimate_group(x, g, par, seg, val, out);
	else
		error_group(x, g, seg, val, out);
}

/* Rows for the overall object and each group with a (kept) value of a report. */
static void report_rows(const struct group_ctx *x, enum group_kind kind, const cJSON *rep,
			struct mon_eval_rows *out)
{
	const cJSON *par = jget(rep, "parameters"), *g;

	emit_group(x, kind, jget(rep, "overall"), par, NULL, NULL, out);
	cJSON_ArrayForEach (g, jget(rep, "groups")) {
		const char *seg = jstr(g, "attribute"), *val = jstr(g, "value");

		if (seg && val)
			emit_group(x, kind, g, par, seg, val, out);
	}
}

static void perf_opts(const struct col_schema *s, const struct mon_eval_opts *o,
		      struct mon_perf_opts *po)
{
	mon_perf_opts_init(po);
	po->threshold = s->threshold;
	po->min_n = o->min_n;
	po->min_class = o->min_class;
	po->conf = o->conf;
	po->seed = o->seed;
	po->draws = o->cbpe_draws;
}

/* --- the whole window ------------------------------------------------------------------- */

/* The computations of a window are independent tasks, each filling rows of its own: the
 * workers (the caller and threads - 1 more) take them in exec order, costliest first, and
 * their rows are then joined in the tasks' fixed order, so the result does not depend on
 * which thread ran what. */
#define FINAL_DRAWS 20 /* CBPE draws where only the point estimate is kept */

enum task_kind { T_DRIFT_ALL, T_DRIFT_SEG, T_PERF, T_ESTIMATE, T_ERROR };

struct task {
	enum task_kind kind;
	size_t k, i; /* T_DRIFT_SEG: attribute k, its kept value i */
	struct mon_eval_rows rows;
	int ret;
	double t;
};

struct pool {
	const struct mon_eval_input *in;
	const struct mon_eval_opts *o;
	const struct attr *attrs;
	const struct groups *gw, *gr;
	const struct mon_window *lab;
	const struct mon_perf_attr *aw, *al;
	const char *status;
	int all_labeled;
	struct task *tasks;
	size_t *exec;
	size_t ntasks;
	atomic_size_t next;
};

/* CPU seconds of the calling thread. */
static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void run_task(const struct pool *p, struct task *t)
{
	const struct mon_eval_input *in = p->in;
	const struct col_schema *s = in->schema;
	struct group_ctx x = {MON_EVAL_PERFORMANCE, p->status, in->fn_cost, in->fp_cost, p->o, 0};
	struct mon_drift_opts dopts;
	struct mon_perf_opts po;
	cJSON *rep = NULL;
	double t0 = thread_cpu();

	mon_drift_opts_init(&dopts);
	dopts.permutations = p->o->mmd_permutations;
	dopts.seed = p->o->seed;
	dopts.mmd_max_rows = p->o->mmd_max_rows;
	perf_opts(s, p->o, &po);
	switch (t->kind) {
	case T_DRIFT_ALL:
		dopts.mmd = 1;
		t->ret = drift_report(s, in->dicts, in->ref, in->win, &dopts, &rep);
		if (!t->ret) {
			drift_rows(rep, s->nfeat, NULL, NULL, p->o, &t->rows);
			if (s->nnum)
				mmd_row(jget(rep, "mmd"), p->o, &t->rows);
		}
		break;
	case T_DRIFT_SEG: {
		const struct attr *a = &p->attrs[t->k];
		const struct groups *gr = &p->gr[t->k], *gw = &p->gw[t->k];
		uint32_t c = a->kept[t->i];
		struct mon_window *R, *W;

		R = mon_store_window_select(in->ref, gr->rows + gr->start[c], group_size(gr, c));
		W = mon_store_window_select(in->win, gw->rows + gw->start[c], group_size(gw, c));
		t->ret = drift_report(s, in->dicts, R, W, &dopts, &rep);
		if (!t->ret)
			drift_rows(rep, s->nfeat, a->name, col_dict_name(a->dict, c), p->o,
				   &t->rows);
		mon_store_window_free(R);
		mon_store_window_free(W);
		break;
	}
	case T_PERF:
		t->ret = mon_perf_report(p->lab->score, p->lab->label, p->lab->n, p->al, s->nseg,
					 &po, &rep);
		if (!t->ret)
			report_rows(&x, G_PERF, rep, &t->rows);
		break;
	case T_ESTIMATE:
		/* A final window's labels are known: its estimate is kept for the record (and for
		 * the error) without the interval, whose draws would be most of its cost. The
		 * point values do not depend on the draws. */
		if (p->status && !strcmp(p->status, "final")) {
			x.no_interval = 1;
			po.draws = FINAL_DRAWS;
		}
		/* every row labelled: the error's rows are the estimate's, one pass gives both */
		t->ret = mon_estimate_report(in->cal, in->win->score,
					     p->all_labeled ? in->win->label : NULL, in->win->n,
					     p->aw, s->nseg, &po, &rep);
		if (!t->ret)
			report_rows(&x, G_ESTIMATE, rep, &t->rows);
		if (!t->ret && p->all_labeled) {
			x.scope = MON_EVAL_ESTIMATE_ERROR;
			x.no_interval = 0;
			report_rows(&x, G_ERROR, rep, &t->rows);
		}
		break;
	case T_ERROR:
		po.draws = FINAL_DRAWS; /* only the point estimate is used for the error */
		x.scope = MON_EVAL_ESTIMATE_ERROR;
		t->ret = mon_estimate_report(in->cal, p->lab->score, p->lab->label, p->lab->n,
					     p->al, s->nseg, &po, &rep);
		if (!t->ret)
			report_rows(&x, G_ERROR, rep, &t->rows);
		break;
	}
	cJSON_Delete(rep);
	t->t = thread_cpu() - t0;
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	size_t i;

	while ((i = atomic_fetch_add(&p->next, 1)) < p->ntasks)
		run_task(p, &p->tasks[p->exec[i]]);
	return NULL;
}

static struct task *add_task(struct task *tasks, size_t *n, enum task_kind kind, size_t k, size_t i)
{
	struct task *t = &tasks[(*n)++];

	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->k = k;
	t->i = i;
	mon_eval_rows_init(&t->rows);
	return t;
}

/* Move the rows of from to the end of out. */
static void take_rows(struct mon_eval_rows *out, struct mon_eval_rows *from)
{
	if (out->n + from->n > out->cap) {
		out->cap = out->n + from->n + 256;
		out->v = mon_xrealloc(out->v, out->cap * sizeof(*out->v));
	}
	if (from->n)
		memcpy(out->v + out->n, from->v, from->n * sizeof(*from->v));
	out->n += from->n;
	free(from->v);
	memset(from, 0, sizeof(*from));
}

int mon_evaluate(const struct mon_eval_input *in, const struct mon_eval_opts *o,
		 struct mon_eval_rows *out)
{
	const struct col_schema *s = in->schema;
	const struct mon_window *w = in->win;
	size_t nseg = s->nseg, nkept = 0, maxtasks, nthreads = 0;
	struct groups *gw = mon_xcalloc(nseg ? nseg : 1, sizeof(*gw));
	struct groups *gr = mon_xcalloc(nseg ? nseg : 1, sizeof(*gr));
	struct attr *attrs = mon_xcalloc(nseg ? nseg : 1, sizeof(*attrs));
	struct mon_perf_attr *aw = mon_xcalloc(nseg ? nseg : 1, sizeof(*aw));
	struct mon_perf_attr *al = mon_xcalloc(nseg ? nseg : 1, sizeof(*al));
	uint32_t **cw = mon_xcalloc(nseg ? nseg : 1, sizeof(*cw));
	uint32_t **cl = mon_xcalloc(nseg ? nseg : 1, sizeof(*cl));
	pthread_t th[MON_EVAL_MAX_THREADS];
	struct mon_window *lab = NULL;
	struct task *tasks = NULL;
	struct pool p;
	int ret = 0;

	memset(&p, 0, sizeof(p));
	if ((s->nfeat && !w->num) || (in->ref && s->nfeat && !in->ref->num)) {
		ret = -EINVAL;
		goto out;
	}
	for (size_t k = 0; k < nseg; k++) {
		size_t ncodes = col_dict_size(in->dicts->seg[k]);

		group_rows(w->seg[k], w->n, ncodes, &gw[k]);
		if (in->ref)
			group_rows(in->ref->seg[k], in->ref->n, ncodes, &gr[k]);
		attr_init(&attrs[k], s->seg[k], in->dicts->seg[k], &gw[k], o->max_segment_values);
		nkept += attrs[k].nkept;
	}
	volume_rows(in, attrs, gw, nseg, o, out);
	if (w->n == 0)
		goto out;
	coverage_rows(w, attrs, gw, nseg, out);
	missing_rows(in, attrs, gw, gr, nseg, out);

	if (w->labeled)
		lab = mon_store_window_labeled(w);
	for (size_t k = 0; k < nseg; k++) {
		cw[k] = attr_remap(&attrs[k], w->seg[k], w->n);
		aw[k] = (struct mon_perf_attr){s->seg[k], cw[k], in->dicts->seg[k]};
		if (lab) {
			cl[k] = attr_remap(&attrs[k], lab->seg[k], lab->n);
			al[k] = (struct mon_perf_attr){s->seg[k], cl[k], in->dicts->seg[k]};
		}
	}

	/* the tasks in output order; exec lists the costliest first */
	maxtasks = nkept + 4;
	tasks = mon_xcalloc(maxtasks, sizeof(*tasks));
	p.exec = mon_xcalloc(maxtasks, sizeof(size_t));
	if (in->ref) {
		add_task(tasks, &p.ntasks, T_DRIFT_ALL, 0, 0);
		for (size_t k = 0; k < nseg; k++)
			for (size_t i = 0; i < attrs[k].nkept; i++)
				add_task(tasks, &p.ntasks, T_DRIFT_SEG, k, i);
	}
	if (lab)
		add_task(tasks, &p.ntasks, T_PERF, 0, 0);
	if (in->cal) {
		add_task(tasks, &p.ntasks, T_ESTIMATE, 0, 0);
		if (lab && lab->n < w->n)
			add_task(tasks, &p.ntasks, T_ERROR, 0, 0);
	}
	{
		size_t e = 0;
		static const enum task_kind first[] = {T_ESTIMATE, T_DRIFT_ALL, T_PERF, T_ERROR};

		for (size_t f = 0; f < sizeof(first) / sizeof(first[0]); f++)
			for (size_t i = 0; i < p.ntasks; i++)
				if (tasks[i].kind == first[f])
					p.exec[e++] = i;
		for (size_t i = 0; i < p.ntasks; i++)
			if (tasks[i].kind == T_DRIFT_SEG)
				p.exec[e++] = i;
	}
	p.in = in;
	p.o = o;
	p.attrs = attrs;
	p.gw = gw;
	p.gr = gr;
	p.lab = lab;
	p.aw = aw;
	p.al = al;
	p.status = mon_evaluate_status(w->labeled, w->n, in->label_complete);
	p.all_labeled = w->labeled == w->n;
	p.tasks = tasks;
	atomic_init(&p.next, 0);
	for (int i = 1; i < o->threads && i < MON_EVAL_MAX_THREADS && (size_t)i < p.ntasks; i++) {
		if (pthread_create(&th[nthreads], NULL, worker, &p))
			break; /* fewer threads: the work gets done all the same */
		nthreads++;
	}
	worker(&p);
	for (size_t i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);

	for (size_t i = 0; i < p.ntasks; i++) {
		if (tasks[i].ret && !ret)
			ret = tasks[i].ret;
		if (tasks[i].kind == T_DRIFT_ALL || tasks[i].kind == T_DRIFT_SEG)
			out->t_drift += tasks[i].t;
		else if (tasks[i].kind == T_PERF)
			out->t_performance += tasks[i].t;
		else
			out->t_estimate += tasks[i].t;
	}
	if (!ret) {
		size_t first = out->n, last = out->n;

		for (size_t i = 0; i < p.ntasks; i++) {
			take_rows(out, &tasks[i].rows);
			if (tasks[i].kind == T_DRIFT_ALL || tasks[i].kind == T_DRIFT_SEG)
				last = out->n;
		}
		if (in->ref)
			ret = family_q(out, first, last);
	}
out:
	for (size_t i = 0; i < p.ntasks; i++)
		mon_eval_rows_fini(&tasks[i].rows);
	free(tasks);
	free(p.exec);
	for (size_t k = 0; k < nseg; k++) {
		groups_fini(&gw[k]);
		if (in->ref)
			groups_fini(&gr[k]);
		attr_fini(&attrs[k]);
		free(cw[k]);
		free(cl[k]);
	}
	free(gw);
	free(gr);
	free(attrs);
	free(aw);
	free(al);
	free(cw);
	free(cl);
	mon_store_window_free(lab);
	return ret;
}

int mon_evaluate_reference(const struct col_schema *s, const struct mon_window_dicts *d,
			   const struct mon_window *ref, double fn_cost, double fp_cost,
			   const struct mon_eval_opts *o, struct mon_eval_rows *out)
{
	size_t nseg = s->nseg;
	struct mon_window *lab = mon_store_window_labeled(ref);
	struct groups *g = mon_xcalloc(nseg ? nseg : 1, sizeof(*g));
	struct attr *attrs = mon_xcalloc(nseg ? nseg : 1, sizeof(*attrs));
	struct mon_perf_attr *al = mon_xcalloc(nseg ? nseg : 1, sizeof(*al));
	uint32_t **cl = mon_xcalloc(nseg ? nseg : 1, sizeof(*cl));
	struct group_ctx x = {MON_EVAL_PERFORMANCE, NULL, fn_cost, fp_cost, o, 0};
	struct mon_perf_opts po;
	cJSON *rep = NULL;
	int ret = 0;

	for (size_t k = 0; k < nseg; k++) {
		group_rows(lab->seg[k], lab->n, col_dict_size(d->seg[k]), &g[k]);
		attr_init(&attrs[k], s->seg[k], d->seg[k], &g[k], o->max_segment_values);
		cl[k] = attr_remap(&attrs[k], lab->seg[k], lab->n);
		al[k] = (struct mon_perf_attr){s->seg[k], cl[k], d->seg[k]};
	}
	if (lab->n) {
		perf_opts(s, o, &po);
		ret = mon_perf_report(lab->score, lab->label, lab->n, al, nseg, &po, &rep);
		if (!ret)
			report_rows(&x, G_PERF, rep, out);
		cJSON_Delete(rep);
	}
	for (size_t k = 0; k < nseg; k++) {
		groups_fini(&g[k]);
		attr_fini(&attrs[k]);
		free(cl[k]);
	}
	free(g);
	free(attrs);
	free(al);
	free(cl);
	mon_store_window_free(lab);
	return ret;
}
