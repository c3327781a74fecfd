/* SPDX-License-Identifier: MIT
 * stats/chisq.h - chi-square test of homogeneity on a 2 x k table
 *
 * Rows are reference and current counts over the union of categories. Statistic
 * sum (O - E)^2 / E with E from the margins, dof = k - 1, no continuity correction, as
 * scipy.stats.chi2_contingency(correction=False) on a 2 x k table (Pearson 1900).
 */
#ifndef STATS_CHISQ_H
#define STATS_CHISQ_H
#include "stats/common.h"

struct stats_chisq {
	double statistic;
	double p_value;
	size_t dof;
};

/* ref[0..k), cur[0..k): counts per category; every category must have a non-zero column
 * total (-EINVAL otherwise), and both row totals must be > 0 (-EINVAL), as scipy raises
 * for a zero expected frequency. k == 1 gives statistic 0, dof 0 and p 1. The p-value is
 * gsl_cdf_chisq_Q. GSL reports trouble through its global error handler, which aborts by
 * default: with ~10^6 categories and a statistic near the dof its incomplete gamma raises
 * "error in large x asymptotic" (the value returned is still right), so programs must
 * call gsl_set_error_handler_off() first, as STYLE section 4 requires of main().
 * Returns 0, -EINVAL, or -EDOM if the statistic overflows or GSL returns no probability. */
int stats_chisq_2xk(const size_t *ref, const size_t *cur, size_t k,
		    struct stats_chisq *out) STATS_MUSTCHECK;

#endif /* STATS_CHISQ_H */
