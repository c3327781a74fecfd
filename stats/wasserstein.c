/* SPDX-License-Identifier: MIT
 * stats/wasserstein.c - Wasserstein-1 distance between two samples, mean and SD
 *
 * On the pooled sorted sample a_0 <= ... <= a_{N-1} (N = n + m) the two ECDFs are step
 * functions, so W1 = sum_k |F_n(a_k) - G_m(a_k)| (a_{k+1} - a_k), one linear merge of the
 * sorted inputs (scipy.stats._cdf_distance with p = 1). Between tied values the width
 * a_{k+1} - a_k is 0, so ties need no special care. The terms are added with Neumaier's
 * compensated summation, which is at least as accurate as numpy's pairwise sum.
 */
#include "stats/wasserstein.h"

#include <math.h>

/* Neumaier (improved Kahan-Babuska) summation. */
struct ksum {
	double s;
	double c;
};

static void ksum_add(struct ksum *k, double v)
{
	double t = k->s + v;

	if (fabs(k->s) >= fabs(v))
		k->c += (k->s - t) + v;
	else
		k->c += (v - t) + k->s;
	k->s = t;
}

static double ksum_value(const struct ksum *k)
{
	return k->s + k->c;
}

int stats_wasserstein_sorted(const double *x, size_t n, const double *y, size_t m, double *out)
{
	struct ksum w = {0.0, 0.0};
	double dn = (double)n, dm = (double)m, v, next, res;
	size_t i = 0, j = 0;

	if (!x || !y || !out || n == 0 || m == 0)
		return -EINVAL;
	/* take the smallest value; x first on ties (the order among ties does not matter) */
	v = x[0] <= y[0] ? x[i++] : y[j++];
	while (i < n || j < m) {
		if (j == m || (i < n && x[i] <= y[j]))
			next = x[i];
		else
			next = y[j];
		/* i/n and j/m are the ECDFs on [v, next) */
		ksum_add(&w, fabs((double)i / dn - (double)j / dm) * (next - v));
		if (j == m || (i < n && x[i] <= y[j]))
			i++;
		else
			j++;
		v = next;
	}
	res = ksum_value(&w);
	if (!isfinite(res)) /* an infinite value in the data */
		return -EDOM;
	*out = res;
	return 0;
}

int stats_mean_sd(const double *x, size_t n, double *mean, double *sd)
{
	struct ksum s = {0.0, 0.0}, d = {0.0, 0.0}, ss = {0.0, 0.0};
	double mu, dev, var;

	if (!x || !mean || !sd || n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		ksum_add(&s, x[i]);
	mu = ksum_value(&s) / (double)n;
	if (!isfinite(mu))
		return -EDOM;
	if (n == 1) {
		*mean = mu;
		*sd = 0.0;
		return 0;
	}
	/* corrected two-pass: sum (x - mu)^2 - (sum (x - mu))^2 / n, where the second term
	 * removes the rounding error left in mu (Chan, Golub & LeVeque 1983) */
	for (size_t i = 0; i < n; i++) {
		double e = x[i] - mu;

		ksum_add(&d, e);
		ksum_add(&ss, e * e);
	}
	dev = ksum_value(&d);
	var = (ksum_value(&ss) - dev * dev / (double)n) / (double)(n - 1);
	if (!isfinite(var))
		return -EDOM;
	*mean = mu;
	*sd = var > 0.0 ? sqrt(var) : 0.0;
	return 0;
}
