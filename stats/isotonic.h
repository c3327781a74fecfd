/* SPDX-License-Identifier: MIT
 * stats/isotonic.h - isotonic (monotone non-decreasing) regression by pool-adjacent-violators
 *
 * Fits y on x by least squares under monotonicity (Ayer et al. 1955; Barlow et al. 1972),
 * as sklearn.isotonic.IsotonicRegression(increasing=True, out_of_bounds='clip'): tied x
 * values are pooled first (mean y, weight = count), prediction interpolates linearly between
 * the fitted points and clips outside [min x, max x]. Used on a model's scores and the
 * observed 0/1 outcomes it is a probability calibration map (Zadrozny & Elkan 2002).
 *
 * Like scikit-learn 1.2, x values closer than 1e-15 (absolute) to the smallest value of
 * their tie group count as tied, and only the knots the interpolation needs are kept (the
 * first and last x of each pooled block); predictions are the same either way.
 *
 * Create with stats_isotonic_fit, destroy with stats_isotonic_free. A fitted model is
 * immutable: reading it from several threads at once is safe.
 */
#ifndef STATS_ISOTONIC_H
#define STATS_ISOTONIC_H
#include "stats/common.h"

struct stats_isotonic; /* opaque */

/* Fit on x[0..n) (finite) and y[0..n) in [0, 1]. 1 <= n <= UINT32_MAX. Stores a new model
 * in *out (free with stats_isotonic_free); *out is NULL on failure. Allocates O(n) scratch.
 * Returns 0, -EINVAL (NULL pointer, n out of range, x not finite, y outside [0, 1] or NaN)
 * or -ENOMEM. A single distinct x gives a constant model. */
int stats_isotonic_fit(const double *x, const double *y, size_t n,
		       struct stats_isotonic **out) STATS_MUSTCHECK;

/* The fitted value at x: linear interpolation between the knots, the first/last fitted
 * value outside [min x, max x] (clip). Non-decreasing in x and within [0, 1]. m must be a
 * fitted model; x must not be NaN (NaN in gives NaN out). O(log knots). */
double stats_isotonic_predict(const struct stats_isotonic *m, double x);

/* The interpolation knots: stores borrowed pointers (valid until stats_isotonic_free) to the
 * knot abscissae (strictly increasing) in *x and the fitted values (non-decreasing) in *y,
 * and returns their number (>= 1). These are sklearn's X_thresholds_ and y_thresholds_. */
size_t stats_isotonic_knots(const struct stats_isotonic *m, const double **x, const double **y);

void stats_isotonic_free(struct stats_isotonic *m); /* NULL is a no-op */

#endif /* STATS_ISOTONIC_H */
