/* SPDX-License-Identifier: MIT
 * stats/interval.h - confidence intervals for proportions and their differences
 */
#ifndef STATS_INTERVAL_H
#define STATS_INTERVAL_H
#include "stats/common.h"

/* Two-sided standard normal quantile for a confidence level, e.g. 0.95 -> 1.959964. */
double stats_z_for_conf(double conf);

/* Wilson (1927) score interval for k successes in n trials at level conf (0 < conf < 1).
 * value = k / n. Returns -EDOM when n == 0, -EINVAL when k > n. */
int stats_wilson(size_t k, size_t n, double conf, struct stats_ci *out) STATS_MUSTCHECK;

/* Newcombe (1998, method 10) hybrid score interval for p1 - p2 = k1/n1 - k2/n2 from the
 * two Wilson intervals. Assumes independent samples. Returns -EDOM when n1 or n2 is 0. */
int stats_newcombe_diff(size_t k1, size_t n1, size_t k2, size_t n2, double conf,
			struct stats_ci *out) STATS_MUSTCHECK;

#endif /* STATS_INTERVAL_H */
