/* SPDX-License-Identifier: MIT
 * stats/wasserstein.h - Wasserstein-1 (earth mover's) distance between two samples
 *
 * W1 = integral |F_n(x) - G_m(x)| dx over the pooled support, as
 * scipy.stats.wasserstein_distance with unit weights.
 */
#ifndef STATS_WASSERSTEIN_H
#define STATS_WASSERSTEIN_H
#include "stats/common.h"

/* x[0..n), y[0..m) sorted ascending, no NaN, n, m >= 1. Linear time, no allocation;
 * ties need no special handling. Returns 0, -EINVAL (NULL or an empty sample), or -EDOM
 * when an infinite value makes the distance infinite or undefined. */
int stats_wasserstein_sorted(const double *x, size_t n, const double *y, size_t m,
			     double *out) STATS_MUSTCHECK;

/* Sample mean and standard deviation (n - 1 denominator, as numpy.std(ddof=1); sd = 0
 * when n == 1). n >= 1. Compensated sums and the corrected two-pass formula, so a large
 * common offset costs no accuracy. Returns 0, -EINVAL, or -EDOM for non-finite results
 * (infinite values, overflow). */
int stats_mean_sd(const double *x, size_t n, double *mean, double *sd) STATS_MUSTCHECK;

#endif /* STATS_WASSERSTEIN_H */
