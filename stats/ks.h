/* SPDX-License-Identifier: MIT
 * stats/ks.h - two-sample Kolmogorov-Smirnov test
 *
 * D = sup_x |F_n(x) - G_m(x)|. p-value as scipy.stats.ks_2samp(method='auto',
 * alternative='two-sided'): exact when max(n, m) <= 10000, otherwise the asymptotic
 * Kolmogorov distribution with en = n*m/(n+m) (Hodges 1958; Smirnov 1939).
 */
#ifndef STATS_KS_H
#define STATS_KS_H
#include "stats/common.h"

struct stats_ks {
	double statistic;
	double p_value;
	int exact; /* 1 when the p-value is exact */
};

/* x[0..n) and y[0..m) sorted ascending, no NaN, n >= 1 and m >= 1.
 * Returns 0, or -EINVAL for an empty sample. */
int stats_ks_2samp_sorted(const double *x, size_t n, const double *y, size_t m,
			  struct stats_ks *out) STATS_MUSTCHECK;

/* Same on unsorted data (copies and sorts; -ENOMEM possible). */
int stats_ks_2samp(const double *x, size_t n, const double *y, size_t m,
		   struct stats_ks *out) STATS_MUSTCHECK;

#endif /* STATS_KS_H */
