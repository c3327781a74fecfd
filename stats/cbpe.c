/* SPDX-License-Identifier: MIT
 * stats/cbpe.c - confidence-based performance estimation from calibrated probabilities
 *
 * Confidence-based performance estimation (CBPE, as introduced by NannyML) treats the
 * calibrated probability c_i of each unlabelled observation as the chance that its label is
 * positive. Expected confusion counts, and from them the expected metrics, follow by
 * summation; the expected AUROC is the expected Mann-Whitney numerator over its expected
 * denominator. The window is sorted once by score: the threshold then splits it into a
 * prefix (predicted negative) and a suffix (predicted positive), tied scores form runs, and
 * both the expected AUROC and each parametric draw's realised AUROC are single passes over
 * that order. The uncertainty is the spread of the realised metrics when labels are drawn
 * from the calibrated probabilities, as in a parametric bootstrap.
 */
#include "config.h"

#include "stats/cbpe.h"

#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats/sort.h"

enum { M_SENS, M_SPEC, M_PPV, M_NPV, M_AUROC, M_COUNT };

/* The window in ascending score order. */
struct window {
	size_t n;
	size_t kt;           /* first position with score >= threshold (n if none) */
	const double *c;     /* calibrated probabilities */
	const uint64_t *lim; /* ceil(c 2^32): draw k is positive iff gsl_rng_get < lim[k] */
	const uint8_t *last; /* 1 at the last position of each run of tied scores */
};

/* Realised labels of one draw, summarised. */
struct draw {
	uint64_t pos_lo, neg_lo; /* below the threshold: FN, TN */
	uint64_t pos, neg;       /* all */
	uint64_t u2;             /* twice the Mann-Whitney U of positives over negatives */
};

/*
 * Expected confusion counts and metrics. The AUROC numerator sums, over runs g of tied
 * scores in ascending order, P_g Q_<g + (P_g Q_g - S_g) / 2 with P = sum c, Q = sum (1 - c),
 * S = sum c (1 - c): the S_g term removes the pairs of an observation with itself from the
 * half-weighted ties. The denominator is P Q - S. Neither subtraction cancels badly: for
 * every pair, c_i (1 - c_j) + c_j (1 - c_i) >= c_i (1 - c_i) + c_j (1 - c_j).
 */
static void expectation(const struct window *w, struct stats_cbpe *out, int *has)
{
	double tp = 0, fp = 0, tn = 0, fn = 0;
	double p = 0, q = 0, s = 0, gp = 0, gq = 0, gs = 0, num = 0;
	int any_pos = 0, any_neg = 0;

	for (size_t k = 0; k < w->n; k++) {
		double c = w->c[k];

		if (k < w->kt) {
			fn += c;
			tn += 1.0 - c;
		} else {
			tp += c;
			fp += 1.0 - c;
		}
		any_pos |= c > 0.0;
		any_neg |= c < 1.0;
		gp += c;
		gq += 1.0 - c;
		gs += c * (1.0 - c);
		if (w->last[k]) {
			num += gp * q + 0.5 * (gp * gq - gs);
			p += gp;
			q += gq;
			s += gs;
			gp = gq = gs = 0;
		}
	}
	out->tp = tp;
	out->fp = fp;
	out->tn = tn;
	out->fn = fn;
	out->prevalence = (tp + fn) / (double)w->n;

	has[M_SENS] = tp + fn > 0.0;
	has[M_SPEC] = tn + fp > 0.0;
	has[M_PPV] = w->kt < w->n;
	has[M_NPV] = w->kt > 0;
	/* some c_i (1 - c_j), i != j, is > 0 iff n >= 2 and the c are not all 0 nor all 1 */
	has[M_AUROC] = w->n >= 2 && any_pos && any_neg;
	if (has[M_SENS])
		out->sens.value = tp / (tp + fn);
	if (has[M_SPEC])
		out->spec.value = tn / (tn + fp);
	if (has[M_PPV])
		out->ppv.value = tp / (tp + fp);
	if (has[M_NPV])
		out->npv.value = tn / (tn + fn);
	if (has[M_AUROC])
		out->auroc.value = fmin(fmax(num / (p * q - s), 0.0), 1.0);
}

/*
 * One parametric draw: y_k = [u < c_k] in score order. With u = gsl_rng_uniform = g / 2^32
 * for the generator's 32-bit output g, u < c_k is g < ceil(c_k 2^32) = lim[k] exactly, which
 * spares a conversion and a division per observation. Within a run of tied scores a
 * positive beats the negatives of earlier runs and half-beats the run's own negatives, so
 * 2U = sum over runs of pos_g (2 neg_<g + neg_g), exact in integers. The threshold lies
 * between runs, so the counts below it are read at a run's end.
 */
static void draw_once(const struct window *w, gsl_rng *r, struct draw *d)
{
	uint64_t pos = 0, neg = 0, gpos = 0, gn = 0, u2 = 0;

	d->pos_lo = d->neg_lo = 0;
	for (size_t k = 0; k < w->n; k++) {
		gpos += gsl_rng_get(r) < w->lim[k];
		gn++;
		if (w->last[k]) {
			u2 += gpos * (2 * neg + gn - gpos);
			pos += gpos;
			neg += gn - gpos;
			gpos = gn = 0;
			if (k + 1 == w->kt) {
				d->pos_lo = pos;
				d->neg_lo = neg;
			}
		}
	}
	d->pos = pos;
	d->neg = neg;
	d->u2 = u2;
}

/* numpy.quantile(v, p) with the default method='linear' on sorted v[0..m), m >= 1,
 * including numpy's two-sided interpolation (exact when neighbours are equal). */
static double quantile_sorted(const double *v, size_t m, double p)
{
	double h = (double)(m - 1) * p, fl = floor(h), g, d;
	size_t lo = (size_t)fl;

	if (lo + 1 >= m)
		return v[m - 1];
	g = h - fl;
	d = v[lo + 1] - v[lo];
	return g < 0.5 ? v[lo] + d * g : v[lo + 1] - d * (1.0 - g);
}

/* Fill ci->low/high from vals[0..m) (sorted here) when enough draws were defined; else
 * clear the metric. */
static void interval(double *vals, size_t m, size_t draws, double conf, int *has,
		     struct stats_ci *ci)
{
	double tail = (1.0 - conf) / 2.0;

	if (!*has || 2 * m < draws) {
		*has = 0;
		memset(ci, 0, sizeof(*ci));
		return;
	}
	gsl_sort(vals, 1, m);
	ci->low = quantile_sorted(vals, m, tail);
	ci->high = quantile_sorted(vals, m, 1.0 - tail);
}

int stats_cbpe_estimate(const struct stats_isotonic *cal, const double *score, size_t n,
			double threshold, double conf, size_t draws, uint64_t seed,
			struct stats_cbpe *out)
{
	uint32_t *idx = NULL;
	double *c = NULL, *vals = NULL;
	uint64_t *lim = NULL;
	uint8_t *last = NULL;
	gsl_rng *r = NULL;
	struct window w;
	size_t nv[M_COUNT] = {0};
	int has[M_COUNT];
	struct stats_ci *ci[M_COUNT];
	size_t k, b;
	int rc;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!cal || !score || n == 0 || n > UINT32_MAX || isnan(threshold) ||
	    !(conf > 0.0 && conf < 1.0))
		return -EINVAL;
	for (k = 0; k < n; k++) {
		if (!(score[k] >= 0.0 && score[k] <= 1.0))
			return -EINVAL;
	}
	if (draws == 0)
		draws = STATS_CBPE_DEFAULT_DRAWS;

	idx = malloc(n * sizeof(*idx));
	c = malloc(n * sizeof(*c));
	lim = malloc(n * sizeof(*lim));
	last = malloc(n);
	vals = calloc(draws, M_COUNT * sizeof(*vals));
	if (!idx || !c || !lim || !last || !vals) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = stats_argsort(score, n, idx)) < 0)
		goto out;

	w.n = n;
	w.kt = n;
	for (k = 0; k < n; k++) {
		double s = score[idx[k]];

		c[k] = fmin(fmax(stats_isotonic_predict(cal, s), 0.0), 1.0);
		lim[k] = (uint64_t)ceil(c[k] * 4294967296.0); /* exact: a power-of-2 scale */
		last[k] = k + 1 == n || score[idx[k + 1]] != s;
		if (w.kt == n && s >= threshold)
			w.kt = k;
	}
	w.c = c;
	w.lim = lim;
	w.last = last;

	out->n = n;
	expectation(&w, out, has);

	r = gsl_rng_alloc(gsl_rng_mt19937);
	if (!r) {
		rc = -ENOMEM;
		goto out;
	}
	gsl_rng_set(r, (unsigned long)((seed ^ (seed >> 32)) & 0xffffffffu));

	/* vals holds M_COUNT columns of draws values; nv[j] counts the defined ones */
	for (b = 0; b < draws; b++) {
		struct draw d;
		uint64_t tp, fp;

		draw_once(&w, r, &d);
		tp = d.pos - d.pos_lo;
		fp = d.neg - d.neg_lo;
		if (d.pos > 0)
			vals[M_SENS * draws + nv[M_SENS]++] = (double)tp / (double)d.pos;
		if (d.neg > 0)
			vals[M_SPEC * draws + nv[M_SPEC]++] = (double)d.neg_lo / (double)d.neg;
		if (tp + fp > 0)
			vals[M_PPV * draws + nv[M_PPV]++] = (double)tp / (double)(tp + fp);
		if (d.pos_lo + d.neg_lo > 0)
			vals[M_NPV * draws + nv[M_NPV]++] =
				(double)d.neg_lo / (double)(d.pos_lo + d.neg_lo);
		if (d.pos > 0 && d.neg > 0)
			vals[M_AUROC * draws + nv[M_AUROC]++] =
				(double)d.u2 / (2.0 * (double)d.pos * (double)d.neg);
	}

	ci[M_SENS] = &out->sens;
	ci[M_SPEC] = &out->spec;
	ci[M_PPV] = &out->ppv;
	ci[M_NPV] = &out->npv;
	ci[M_AUROC] = &out->auroc;
	for (int j = 0; j < M_COUNT; j++)
		interval(vals + (size_t)j * draws, nv[j], draws, conf, &has[j], ci[j]);
	out->has_sens = has[M_SENS];
	out->has_spec = has[M_SPEC];
	out->has_ppv = has[M_PPV];
	out->has_npv = has[M_NPV];
	out->has_auroc = has[M_AUROC];
	rc = 0;
out:
	gsl_rng_free(r);
	free(vals);
	free(last);
	free(lim);
	free(c);
	free(idx);
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	return rc;
}
