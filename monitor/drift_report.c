/* SPDX-License-Identifier: MIT
 * monitor/drift_report.c - drift of every feature between a reference and a current sample
 *
 * Numeric features: the missing values are counted and dropped, both samples sorted once,
 * and KS, Wasserstein-1 and the decile-binned PSI / Jensen-Shannon all read the sorted
 * arrays. Categorical features: counts over the union of categories seen in either sample.
 * The family for Benjamini-Hochberg is every feature whose test is defined in this run.
 */
#include "config.h"

#include "monitor/drift_report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats/chisq.h"
#include "stats/ks.h"
#include "stats/mmd.h"
#include "stats/multitest.h"
#include "stats/psi.h"
#include "stats/sort.h"
#include "stats/wasserstein.h"

void mon_drift_opts_init(struct mon_drift_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->alpha = 0.05;
	o->permutations = STATS_MMD_DEFAULT_PERMUTATIONS;
	o->seed = 1;
}

/* Per-feature working state kept until the q-values are known. */
struct feat_state {
	cJSON *obj;
	double p; /* NaN when the feature's test is undefined */
	double psi;
};

static size_t compact(const double *v, size_t n, double *dst)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i]))
			dst[k++] = v[i];
	return k;
}

static void add_number_or_null(cJSON *o, const char *key, int ok, double v)
{
	if (ok && isfinite(v))
		cJSON_AddNumberToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

static int numeric_feature(const struct mon_drift_feature *f, size_t n_ref, size_t n_cur,
			   struct feat_state *st)
{
	double *r = mon_xmalloc((n_ref ? n_ref : 1) * sizeof(double));
	double *c = mon_xmalloc((n_cur ? n_cur : 1) * sizeof(double));
	size_t nr = compact(f->ref_num, n_ref, r);
	size_t nc = compact(f->cur_num, n_cur, c);
	cJSON *o = st->obj;
	int rc = 0;

	cJSON_AddStringToObject(o, "type", "numeric");
	cJSON_AddArrayToObject(o, "unseen_categories"); /* always empty: keeps one shape */
	cJSON_AddNumberToObject(o, "n_reference", (double)nr);
	cJSON_AddNumberToObject(o, "n_current", (double)nc);
	cJSON_AddNumberToObject(o, "missing_reference", (double)(n_ref - nr));
	cJSON_AddNumberToObject(o, "missing_current", (double)(n_cur - nc));
	st->p = NAN;
	st->psi = NAN;

	cJSON *ks = cJSON_AddObjectToObject(o, "ks");
	cJSON *psi = cJSON_AddObjectToObject(o, "psi");
	cJSON *w = cJSON_AddObjectToObject(o, "wasserstein");
	cJSON *js = cJSON_AddObjectToObject(o, "jensen_shannon");
	if (nr == 0 || nc == 0) {
		const char *why = nr == 0 ? "no non-missing reference values"
					  : "no non-missing current values";
		cJSON_AddNullToObject(ks, "statistic");
		cJSON_AddNullToObject(ks, "p_value");
		cJSON_AddNullToObject(psi, "value");
		cJSON_AddNullToObject(w, "value");
		cJSON_AddNullToObject(w, "normalized");
		cJSON_AddNullToObject(js, "value");
		cJSON_AddStringToObject(o, "undefined_reason", why);
		goto out;
	}
	if ((rc = stats_sort2(r, nr, c, nc)) < 0)
		goto out;

	struct stats_ks k;
	if ((rc = stats_ks_2samp_sorted(r, nr, c, nc, &k)) < 0)
		goto out;
	cJSON_AddNumberToObject(ks, "statistic", k.statistic);
	cJSON_AddNumberToObject(ks, "p_value", k.p_value);
	cJSON_AddStringToObject(ks, "method", k.exact ? "exact" : "asymptotic");
	st->p = k.p_value;

	double edges[STATS_PSI_BINS - 1];
	size_t rcnt[STATS_PSI_BINS], ccnt[STATS_PSI_BINS];
	double psiv, jsv;
	if ((rc = stats_decile_edges_sorted(r, nr, edges)) < 0 ||
	    (rc = stats_bin_counts(r, nr, edges, STATS_PSI_BINS - 1, rcnt)) < 0 ||
	    (rc = stats_bin_counts(c, nc, edges, STATS_PSI_BINS - 1, ccnt)) < 0 ||
	    (rc = stats_psi_counts(rcnt, ccnt, STATS_PSI_BINS, STATS_PSI_FLOOR, &psiv)) < 0 ||
	    (rc = stats_js_counts(rcnt, ccnt, STATS_PSI_BINS, &jsv)) < 0)
		goto out;
	cJSON_AddNumberToObject(psi, "value", psiv);
	cJSON_AddNumberToObject(psi, "bins", STATS_PSI_BINS);
	cJSON_AddNumberToObject(js, "value", jsv);
	st->psi = psiv;

	double wv, mean, sd;
	if ((rc = stats_wasserstein_sorted(r, nr, c, nc, &wv)) < 0 ||
	    (rc = stats_mean_sd(r, nr, &mean, &sd)) < 0)
		goto out;
	cJSON_AddNumberToObject(w, "value", wv);
	add_number_or_null(w, "normalized", sd > 0, wv / sd);
out:
	free(r);
	free(c);
	return rc;
}

static int categorical_feature(const struct mon_drift_feature *f, size_t n_ref, size_t n_cur,
			       struct feat_state *st)
{
	size_t k = col_dict_size(f->dict);
	size_t *rc_all = mon_xcalloc(k + 1, sizeof(size_t));
	size_t *cc_all = mon_xcalloc(k + 1, sizeof(size_t));
	size_t *rcnt = mon_xcalloc(k + 1, sizeof(size_t));
	size_t *ccnt = mon_xcalloc(k + 1, sizeof(size_t));
	size_t miss_r = 0, miss_c = 0, u = 0;
	cJSON *o = st->obj;
	int rc = 0;

	for (size_t i = 0; i < n_ref; i++) {
		if (f->ref_cat[i] == COL_MISSING_CODE)
			miss_r++;
		else
			rc_all[f->ref_cat[i]]++;
	}
	for (size_t i = 0; i < n_cur; i++) {
		if (f->cur_cat[i] == COL_MISSING_CODE)
			miss_c++;
		else
			cc_all[f->cur_cat[i]]++;
	}
	cJSON_AddStringToObject(o, "type", "categorical");
	cJSON_AddNumberToObject(o, "n_reference", (double)(n_ref - miss_r));
	cJSON_AddNumberToObject(o, "n_current", (double)(n_cur - miss_c));
	cJSON_AddNumberToObject(o, "missing_reference", (double)miss_r);
	cJSON_AddNumberToObject(o, "missing_current", (double)miss_c);
	st->p = NAN;
	st->psi = NAN;

	cJSON *unseen = cJSON_CreateArray();
	cJSON *cats = cJSON_CreateArray();
	for (size_t j = 0; j < k; j++) {
		if (rc_all[j] + cc_all[j] == 0)
			continue;
		rcnt[u] = rc_all[j];
		ccnt[u] = cc_all[j];
		u++;
		cJSON *cat = cJSON_CreateObject();
		cJSON_AddStringToObject(cat, "value", col_dict_name(f->dict, (uint32_t)j));
		cJSON_AddNumberToObject(cat, "reference", (double)rc_all[j]);
		cJSON_AddNumberToObject(cat, "current", (double)cc_all[j]);
		cJSON_AddItemToArray(cats, cat);
		if (rc_all[j] == 0)
			cJSON_AddItemToArray(
				unseen, cJSON_CreateString(col_dict_name(f->dict, (uint32_t)j)));
	}

	cJSON *chi = cJSON_AddObjectToObject(o, "chi_square");
	cJSON *psi = cJSON_AddObjectToObject(o, "psi");
	cJSON *js = cJSON_AddObjectToObject(o, "jensen_shannon");
	if (n_ref == miss_r || n_cur == miss_c) {
		cJSON_AddNullToObject(chi, "statistic");
		cJSON_AddNullToObject(chi, "dof");
		cJSON_AddNullToObject(chi, "p_value");
		cJSON_AddNullToObject(psi, "value");
		cJSON_AddNullToObject(js, "value");
		cJSON_AddStringToObject(o, "undefined_reason",
					n_ref == miss_r ? "no non-missing reference values"
							: "no non-missing current values");
	} else {
		struct stats_chisq x;
		double psiv, jsv;

		if ((rc = stats_chisq_2xk(rcnt, ccnt, u, &x)) < 0 ||
		    (rc = stats_psi_counts(rcnt, ccnt, u, STATS_PSI_FLOOR, &psiv)) < 0 ||
		    (rc = stats_js_counts(rcnt, ccnt, u, &jsv)) < 0) {
			cJSON_Delete(unseen);
			cJSON_Delete(cats);
			goto out;
		}
		cJSON_AddNumberToObject(chi, "statistic", x.statistic);
		cJSON_AddNumberToObject(chi, "dof", (double)x.dof);
		cJSON_AddNumberToObject(chi, "p_value", x.p_value);
		cJSON_AddNumberToObject(psi, "value", psiv);
		cJSON_AddNumberToObject(js, "value", jsv);
		st->p = x.p_value;
		st->psi = psiv;
	}
	cJSON_AddItemToObject(o, "unseen_categories", unseen);
	cJSON_AddItemToObject(o, "categories", cats);
out:
	free(rc_all);
	free(cc_all);
	free(rcnt);
	free(ccnt);
	return rc;
}

static cJSON *mmd_report(const struct mon_drift_feature *feat, size_t nfeat, size_t n_ref,
			 size_t n_cur, const struct mon_drift_opts *opts)
{
	size_t d = 0;
	cJSON *o = cJSON_CreateObject();

	for (size_t j = 0; j < nfeat; j++)
		d += !feat[j].categorical;
	size_t *idx = mon_xcalloc(d ? d : 1, sizeof(size_t));
	for (size_t j = 0, k = 0; j < nfeat; j++)
		if (!feat[j].categorical)
			idx[k++] = j;
	double *x = mon_xmalloc((n_ref * d + 1) * sizeof(double));
	double *y = mon_xmalloc((n_cur * d + 1) * sizeof(double));
	int *used = mon_xcalloc(d ? d : 1, sizeof(int));
	for (size_t i = 0; i < n_ref; i++)
		for (size_t k = 0; k < d; k++)
			x[i * d + k] = feat[idx[k]].ref_num[i];
	for (size_t i = 0; i < n_cur; i++)
		for (size_t k = 0; k < d; k++)
			y[i * d + k] = feat[idx[k]].cur_num[i];

	struct stats_mmd_opts mo = {
		.permutations = opts->permutations,
		.seed = opts->seed,
		.max_rows = opts->mmd_max_rows,
	};
	struct stats_mmd r;
	memset(&r, 0, sizeof(r));
	int rc = d ? stats_mmd(x, n_ref, y, n_cur, d, &mo, used, &r) : -EDOM;

	if (rc == 0) {
		cJSON_AddNumberToObject(o, "mmd2", r.mmd2);
		cJSON_AddNumberToObject(o, "sigma", r.sigma);
		cJSON_AddNumberToObject(o, "p_value", r.p_value);
	} else {
		cJSON_AddNullToObject(o, "mmd2");
		cJSON_AddNullToObject(o, "sigma");
		cJSON_AddNullToObject(o, "p_value");
		cJSON_AddStringToObject(
			o, "undefined_reason",
			d == 0        ? "no numeric features"
			: rc == -EDOM ? "fewer than 2 complete rows or no feature with variance"
				      : "computation failed");
	}
	cJSON_AddNumberToObject(o, "permutations", (double)(rc == 0 ? r.permutations : 0));
	cJSON_AddNumberToObject(o, "seed", (double)opts->seed);
	cJSON_AddNumberToObject(o, "n_reference", (double)r.n_reference);
	cJSON_AddNumberToObject(o, "n_current", (double)r.n_current);
	cJSON_AddNumberToObject(o, "dropped_reference_rows", (double)r.dropped_reference);
	cJSON_AddNumberToObject(o, "dropped_current_rows", (double)r.dropped_current);
	cJSON_AddBoolToObject(o, "subsampled", r.subsampled);
	cJSON_AddNumberToObject(
		o, "max_rows",
		(double)(opts->mmd_max_rows ? opts->mmd_max_rows : STATS_MMD_DEFAULT_MAX_ROWS));
	cJSON *fu = cJSON_AddArrayToObject(o, "features");
	cJSON *fx = cJSON_AddArrayToObject(o, "excluded_features");
	for (size_t k = 0; k < d; k++)
		cJSON_AddItemToArray(used[k] && rc == 0 ? fu : fx,
				     cJSON_CreateString(feat[idx[k]].name));
	cJSON_AddStringToObject(o, "kernel", "gaussian");
	cJSON_AddStringToObject(o, "bandwidth", "median heuristic on standardised reference");
	free(idx);
	free(x);
	free(y);
	free(used);
	return o;
}

int mon_drift_report(const struct mon_drift_feature *feat, size_t nfeat, size_t n_ref, size_t n_cur,
		     const struct mon_drift_opts *opts, cJSON **out)
{
	struct feat_state *st = mon_xcalloc(nfeat ? nfeat : 1, sizeof(*st));
	double *p = mon_xmalloc((nfeat ? nfeat : 1) * sizeof(double));
	double *q = mon_xmalloc((nfeat ? nfeat : 1) * sizeof(double));
	cJSON *root = cJSON_CreateObject();
	cJSON *arr;
	size_t nt = 0;
	int rc = 0;

	cJSON_AddNumberToObject(root, "reference_rows", (double)n_ref);
	cJSON_AddNumberToObject(root, "current_rows", (double)n_cur);
	cJSON_AddNumberToObject(root, "alpha", opts->alpha);
	arr = cJSON_AddArrayToObject(root, "features");
	for (size_t j = 0; j < nfeat; j++) {
		st[j].obj = cJSON_CreateObject();
		cJSON_AddStringToObject(st[j].obj, "name", feat[j].name);
		rc = feat[j].categorical ? categorical_feature(&feat[j], n_ref, n_cur, &st[j])
					 : numeric_feature(&feat[j], n_ref, n_cur, &st[j]);
		cJSON_AddItemToArray(arr, st[j].obj);
		if (rc < 0)
			goto out;
		if (!isnan(st[j].p))
			p[nt++] = st[j].p;
	}
	if (nt && (rc = stats_bh(p, nt, q)) < 0)
		goto out;
	for (size_t j = 0, t = 0; j < nfeat; j++) {
		int tested = !isnan(st[j].p);
		double qv = tested ? q[t++] : NAN;

		add_number_or_null(st[j].obj, "q_value", tested, qv);
		cJSON_AddBoolToObject(st[j].obj, "drift", tested && qv < opts->alpha);
		cJSON_AddBoolToObject(st[j].obj, "psi_exceeded",
				      !isnan(st[j].psi) && st[j].psi > MON_DRIFT_PSI_SIGNAL);
	}
	cJSON_AddNumberToObject(root, "tests", (double)nt);
	cJSON_AddStringToObject(root, "multiple_testing", "benjamini-hochberg");
	if (opts->mmd)
		cJSON_AddItemToObject(root, "mmd", mmd_report(feat, nfeat, n_ref, n_cur, opts));
out:
	free(st);
	free(p);
	free(q);
	if (rc < 0) {
		cJSON_Delete(root);
		return rc;
	}
	*out = root;
	return 0;
}
