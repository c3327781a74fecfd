/* SPDX-License-Identifier: MIT
 * stats/isotonic.h - isotonic (monotone non-decreasing) regression by pool-adjacent-violators
 *
 * Fits y on x by least squares under monotonicity (Ayer et al. 1955; Barlow et al. 1972),
 * as sklearn.isotonic.IsotonicRegression(increasing=True, out_of_bounds='clip'): tied x
 * values are pooled first (mean y, weight = count), prediction interpolates linearly between
 * the fitted points and clips outside [min x, max x].
 *
 * Create with stats_isotonic_fit, destroy with stats_isotonic_free.
 */
#ifndef STATS_ISOTONIC_H
#define STATS_ISOTONIC_H
#include "stats/common.h"

struct stats_isotonic; /* opaque */

/* Fit on x[0..n) (no NaN) and y[0..n) in [0, 1]. n >= 1. Stores a new model in *out.
 * Returns 0, -EINVAL or -ENOMEM. */
int stats_isotonic_fit(const double *x, const double *y, size_t n,
		       struct stats_isotonic **out) STATS_MUSTCHECK;

/* The fitted value at x. */
double stats_isotonic_predict(const struct stats_isotonic *m, double x);

void stats_isotonic_free(struct stats_isotonic *m); /* NULL is a no-op */

#endif /* STATS_ISOTONIC_H */
