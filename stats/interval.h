/* SPDX-License-Identifier: MIT
 * stats/interval.h - confidence intervals for proportions and their differences
 */
#ifndef STATS_INTERVAL_H
#define STATS_INTERVAL_H
#include "stats/common.h"

/* Two-sided standard normal quantile for a confidence level, e.g. 0.95 -> 1.959964
 * (gsl_cdf_ugaussian_Pinv(0.5 + conf / 2)). A conf outside (0, 1) or NaN gives 0, a
 * degenerate interval; the functions below return -EINVAL for such a conf instead. */
double stats_z_for_conf(double conf);

/* Wilson (1927) score interval for k successes in n trials at level conf (0 < conf < 1).
 * value = k / n; low is exactly 0 when k == 0 and high exactly 1 when k == n.
 * Returns -EDOM when n == 0, -EINVAL when k > n, conf is outside (0, 1) or out is NULL. */
int stats_wilson(size_t k, size_t n, double conf, struct stats_ci *out) STATS_MUSTCHECK;

/* Newcombe (1998, method 10) hybrid score interval for p1 - p2 = k1/n1 - k2/n2 from the
 * two Wilson intervals (l_i, u_i): d -/+ sqrt((p1 - l1)^2 + (u2 - p2)^2) for the low end,
 * sqrt((u1 - p1)^2 + (p2 - l2)^2) for the high end; always inside [-1, 1]. Assumes
 * independent samples. Returns -EDOM when n1 or n2 is 0, -EINVAL as stats_wilson. */
int stats_newcombe_diff(size_t k1, size_t n1, size_t k2, size_t n2, double conf,
			struct stats_ci *out) STATS_MUSTCHECK;

#endif /* STATS_INTERVAL_H */
