/* SPDX-License-Identifier: MIT
 * stats/wasserstein.h - Wasserstein-1 (earth mover's) distance between two samples
 *
 * W1 = integral |F_n(x) - G_m(x)| dx over the pooled support, as
 * scipy.stats.wasserstein_distance with unit weights.
 */
#ifndef STATS_WASSERSTEIN_H
#define STATS_WASSERSTEIN_H
#include "stats/common.h"

/* x[0..n), y[0..m) sorted ascending, no NaN, n, m >= 1. Linear time. */
int stats_wasserstein_sorted(const double *x, size_t n, const double *y, size_t m,
			     double *out) STATS_MUSTCHECK;

/* Sample mean and standard deviation (n - 1 denominator; sd = 0 when n == 1). n >= 1. */
int stats_mean_sd(const double *x, size_t n, double *mean, double *sd) STATS_MUSTCHECK;

#endif /* STATS_WASSERSTEIN_H */
