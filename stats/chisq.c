/* SPDX-License-Identifier: MIT
 * stats/chisq.c - Pearson chi-square test of homogeneity on a 2 x k table
 *
 * With row totals R_r, column totals C_j and N = R_0 + R_1, the expected count of cell
 * (r, j) is E = R_r C_j / N, formed as numpy does (integer product, then one division) and
 * X^2 = sum (O - E)^2 / E over the 2k cells in row-major order, on k - 1 degrees of
 * freedom; the p-value is the upper tail Q(X^2; k - 1) from GSL (gsl_cdf_chisq_Q, i.e. the
 * regularised upper incomplete gamma Q((k-1)/2, X^2/2)). No Yates correction.
 */
#include "stats/chisq.h"

#include <gsl/gsl_cdf.h>
#include <math.h>

/* r c / total, with r c exact in 64 bits when it fits (numpy's int64 product). */
static double expected(uint64_t r, uint64_t c, double total)
{
	if (r != 0 && c > UINT64_MAX / r)
		return (double)r * (double)c / total;
	return (double)(r * c) / total;
}

int stats_chisq_2xk(const size_t *ref, const size_t *cur, size_t k, struct stats_chisq *out)
{
	uint64_t r0 = 0, r1 = 0;
	double total, stat = 0.0, p;

	if (!ref || !cur || !out || k == 0)
		return -EINVAL;
	for (size_t j = 0; j < k; j++) {
		if (ref[j] == 0 && cur[j] == 0) /* E = 0 in that column: undefined */
			return -EINVAL;
		r0 += ref[j];
		r1 += cur[j];
	}
	if (r0 == 0 || r1 == 0)
		return -EINVAL;
	if (k == 1) { /* one category: O == E, as scipy's dof == 0 case */
		out->statistic = 0.0;
		out->p_value = 1.0;
		out->dof = 0;
		return 0;
	}
	total = (double)(r0 + r1);
	for (int row = 0; row < 2; row++) {
		const size_t *o = row ? cur : ref;
		uint64_t rt = row ? r1 : r0;

		for (size_t j = 0; j < k; j++) {
			double e = expected(rt, (uint64_t)ref[j] + cur[j], total);
			double d = (double)o[j] - e;

			stat += d * d / e;
		}
	}
	if (!isfinite(stat))
		return -EDOM;
	p = gsl_cdf_chisq_Q(stat, (double)(k - 1));
	if (!(p >= 0.0 && p <= 1.0))
		return -EDOM;
	out->statistic = stat;
	out->dof = k - 1;
	out->p_value = p;
	return 0;
}
