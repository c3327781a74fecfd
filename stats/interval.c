/* SPDX-License-Identifier: MIT
 * stats/interval.c - score intervals for a proportion and for a difference of two
 *
 * The Wilson (1927) score interval inverts the score test of H0: p = p0 and, unlike the
 * Wald interval p -/+ z sqrt(p(1-p)/n), stays inside [0, 1] and keeps its coverage near the
 * nominal level for small n and for p near 0 or 1 (Brown, Cai & DasGupta 2001). Newcombe's
 * hybrid score interval (Newcombe 1998, method 10) combines two Wilson intervals into one
 * for p1 - p2; it is what the clinical literature reports for differences in sensitivity
 * between subgroups.
 */
#include "stats/interval.h"

#include <gsl/gsl_cdf.h>
#include <math.h>

/* z = Phi^-1(1 - (1 - conf) / 2). A conf outside (0, 1) (or NaN) gives 0, a degenerate
 * interval: the interval functions reject such a conf with -EINVAL before they get here. */
double stats_z_for_conf(double conf)
{
	if (!(conf > 0.0 && conf < 1.0))
		return 0.0;
	return gsl_cdf_ugaussian_Pinv(0.5 + 0.5 * conf);
}

/* The closed form of the Wilson interval,
 *	(2k + z^2 -/+ z sqrt(z^2 + 4k(n-k)/n)) / (2(n + z^2)),
 * is algebraically the usual (p + z^2/2n -/+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)
 * but needs no p(1-p) and so loses nothing to cancellation at k = 0 or k = n; the ends are
 * still pinned to exactly 0 and 1 there, where the formula is 0 and 1 in exact arithmetic. */
static void wilson(size_t k, size_t n, double z, struct stats_ci *out)
{
	double dk = (double)k, dn = (double)n, z2 = z * z;
	double root = z * sqrt(z2 + 4.0 * dk * (dn - dk) / dn);
	double den = 2.0 * (dn + z2);

	out->value = dk / dn;
	out->low = k == 0 ? 0.0 : (2.0 * dk + z2 - root) / den;
	out->high = k == n ? 1.0 : (2.0 * dk + z2 + root) / den;
	if (out->low < 0.0)
		out->low = 0.0;
	if (out->high > 1.0)
		out->high = 1.0;
}

int stats_wilson(size_t k, size_t n, double conf, struct stats_ci *out)
{
	if (!out || !(conf > 0.0 && conf < 1.0) || k > n)
		return -EINVAL;
	if (n == 0)
		return -EDOM;
	wilson(k, n, stats_z_for_conf(conf), out);
	return 0;
}

/* Newcombe (1998) method 10: with (l_i, u_i) the Wilson interval of p_i,
 *	low  = (p1 - p2) - sqrt((p1 - l1)^2 + (u2 - p2)^2)
 *	high = (p1 - p2) + sqrt((u1 - p1)^2 + (p2 - l2)^2).
 * Published check (Newcombe 1998, Table II, example (a)): 56/70 - 48/80 = 0.2000 with
 * interval 0.0524 to 0.3339. The ends always lie in [-1, 1]. */
int stats_newcombe_diff(size_t k1, size_t n1, size_t k2, size_t n2, double conf,
			struct stats_ci *out)
{
	struct stats_ci a, b;
	double z, d;

	if (!out || !(conf > 0.0 && conf < 1.0) || k1 > n1 || k2 > n2)
		return -EINVAL;
	if (n1 == 0 || n2 == 0)
		return -EDOM;
	z = stats_z_for_conf(conf);
	wilson(k1, n1, z, &a);
	wilson(k2, n2, z, &b);
	d = a.value - b.value;
	out->value = d;
	out->low = d - hypot(a.value - a.low, b.high - b.value);
	out->high = d + hypot(a.high - a.value, b.value - b.low);
	return 0;
}
