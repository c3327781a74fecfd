/* SPDX-License-Identifier: MIT
 * stats/isotonic.c - isotonic regression by pool-adjacent-violators, with clipped interpolation
 *
 * The fit follows scikit-learn 1.2 (IsotonicRegression(increasing=True,
 * out_of_bounds='clip'), BSD licence) step by step so that the two agree to rounding: sort by
 * x, pool tied x into one point (weighted mean of y, weight = count), run
 * pool-adjacent-violators on the pooled points, then keep only the knots the piecewise-linear
 * interpolant needs. Pool-adjacent-violators (Ayer et al. 1955; Barlow et al. 1972; the
 * single-pass variant of Best & Chakravarti 1990, section 3) merges each run of violators into
 * one block whose value is the weighted mean of the run, and steps back one block after every
 * merge, so the whole fit is O(n) after the O(n log n) sort. Used on scores and 0/1 outcomes
 * the fitted map is a calibration map (Zadrozny & Elkan 2002).
 */
#include "config.h"

#include "stats/isotonic.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats/sort.h"

/* scikit-learn pools x values closer than np.finfo(float64).resolution (1e-15, absolute) to
 * the first x of their tie group; done the same way so the knots match. */
#define TIE_EPS 1e-15

struct stats_isotonic {
	size_t m;   /* number of knots, >= 1 */
	double *x;  /* knot abscissae, strictly increasing: v[0..m) */
	double *y;  /* fitted values, non-decreasing: v[m..2m) */
	double v[]; /* storage for x and y */
};

/*
 * Pool-adjacent-violators in place on y[0..n) with weights w[0..n). Blocks are runs [i..j]
 * with end[i] = j and end[j] = i; y[i] and w[i] of a block's first index hold its mean and
 * total weight. A block is merged with the whole decreasing (non-increasing) run that follows
 * it, then the scan steps back one block because the merged mean may now violate the order
 * with its left neighbour. Finally each block's mean is copied over its members.
 */
static void pava(double *y, double *w, size_t *end, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++)
		end[i] = i;
	i = 0;
	while (i < n) {
		double sum_wy, sum_w;

		k = end[i] + 1;
		if (k == n)
			break;
		if (y[i] < y[k]) {
			i = k;
			continue;
		}
		sum_wy = w[i] * y[i];
		sum_w = w[i];
		for (;;) {
			double prev = y[k];

			sum_wy += w[k] * y[k];
			sum_w += w[k];
			k = end[k] + 1;
			if (k == n || prev < y[k])
				break;
		}
		y[i] = sum_wy / sum_w;
		w[i] = sum_w;
		end[i] = k - 1;
		end[k - 1] = i;
		if (i > 0)
			i = end[i - 1];
	}
	for (i = 0; i < n; i = k) {
		k = end[i] + 1;
		for (size_t j = i + 1; j < k; j++)
			y[j] = y[i];
	}
}

int stats_isotonic_fit(const double *x, const double *y, size_t n, struct stats_isotonic **out)
{
	uint32_t *idx = NULL;
	double *ux = NULL, *uy = NULL, *uw = NULL;
	size_t *end = NULL;
	struct stats_isotonic *m;
	size_t nu, nk, i;
	int rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!x || !y || n == 0 || n > UINT32_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!isfinite(x[i]) || !(y[i] >= 0.0 && y[i] <= 1.0))
			return -EINVAL;
	}

	idx = malloc(n * sizeof(*idx));
	ux = malloc(n * sizeof(*ux));
	uy = malloc(n * sizeof(*uy));
	uw = malloc(n * sizeof(*uw));
	end = malloc(n * sizeof(*end));
	if (!idx || !ux || !uy || !uw || !end) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = stats_argsort(x, n, idx)) < 0)
		goto out;

	/* pool tied x: one point per tie group, weight = count, y = mean */
	nu = 0;
	ux[0] = x[idx[0]];
	uy[0] = 0.0;
	uw[0] = 0.0;
	for (i = 0; i < n; i++) {
		double xi = x[idx[i]];

		if (xi - ux[nu] >= TIE_EPS) {
			uy[nu] /= uw[nu];
			nu++;
			ux[nu] = xi;
			uy[nu] = 0.0;
			uw[nu] = 0.0;
		}
		uy[nu] += y[idx[i]];
		uw[nu] += 1.0;
	}
	uy[nu] /= uw[nu];
	nu++;

	pava(uy, uw, end, nu);

	/* keep the ends and every point whose value differs from a neighbour's: interior points
	 * of a flat stretch add nothing to the interpolant. Compacting in place is safe: slot
	 * i - 1 is written before step i only by the copy of itself, and slot i + 1 not at all. */
	nk = 0;
	for (i = 0; i < nu; i++) {
		if (i == 0 || i + 1 == nu || uy[i] != uy[i - 1] || uy[i] != uy[i + 1]) {
			ux[nk] = ux[i];
			uy[nk] = uy[i];
			nk++;
		}
	}

	m = malloc(sizeof(*m) + 2 * nk * sizeof(double));
	if (!m) {
		rc = -ENOMEM;
		goto out;
	}
	m->m = nk;
	m->x = m->v;
	m->y = m->v + nk;
	memcpy(m->x, ux, nk * sizeof(double));
	memcpy(m->y, uy, nk * sizeof(double));
	*out = m;
	rc = 0;
out:
	free(end);
	free(uw);
	free(uy);
	free(ux);
	free(idx);
	return rc;
}

double stats_isotonic_predict(const struct stats_isotonic *m, double x)
{
	size_t lo, hi;
	double v;

	if (isnan(x))
		return x;
	if (x <= m->x[0])
		return m->y[0];
	if (x >= m->x[m->m - 1])
		return m->y[m->m - 1];
	/* here m >= 2 and x[0] < x < x[m - 1]: find the first knot >= x, as interp1d does */
	lo = 0;
	hi = m->m - 1;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->x[mid] < x)
			lo = mid;
		else
			hi = mid;
	}
	/* scipy's interp1d formula, so results agree to the last bit in most cases; clamping to
	 * the segment's values keeps the map monotone despite rounding */
	v = (m->y[hi] - m->y[lo]) / (m->x[hi] - m->x[lo]) * (x - m->x[lo]) + m->y[lo];
	if (v < m->y[lo])
		v = m->y[lo];
	if (v > m->y[hi])
		v = m->y[hi];
	return v;
}

size_t stats_isotonic_knots(const struct stats_isotonic *m, const double **x, const double **y)
{
	*x = m->x;
	*y = m->y;
	return m->m;
}

void stats_isotonic_free(struct stats_isotonic *m)
{
	free(m);
}
