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
 * total (-EINVAL otherwise), and both row totals must be > 0. k == 1 gives statistic 0,
 * dof 0 and p 1. */
int stats_chisq_2xk(const size_t *ref, const size_t *cur, size_t k,
		    struct stats_chisq *out) STATS_MUSTCHECK;

#endif /* STATS_CHISQ_H */
