/* SPDX-License-Identifier: MIT
 * stats/calib.h - probabilistic accuracy and calibration of scores
 */
#ifndef STATS_CALIB_H
#define STATS_CALIB_H
#include "stats/common.h"

/* Brier (1950) score: mean (p - y)^2. n >= 1.
 * All three functions take p[i] in [0, 1] and y[i] in {0, 1} and return -EINVAL for
 * anything else (NaN included), for n == 0 or a NULL pointer. */
int stats_brier(const double *p, const uint8_t *y, size_t n, double *out) STATS_MUSTCHECK;

/* Expected calibration error on `bins` equal-width bins of [0, 1] (the last bin is
 * closed): sum over non-empty bins of (n_b / n) |mean(y) - mean(p)| (Naeini et al. 2015).
 * Bin index min(floor(p * bins), bins - 1). -EINVAL for bins == 0; allocates 3 bins
 * doubles (-ENOMEM). */
int stats_ece(const double *p, const uint8_t *y, size_t n, size_t bins,
	      double *out) STATS_MUSTCHECK;

/* Logistic recalibration (Cox 1958): maximum likelihood fit of
 * logit P(y = 1) = intercept + slope * logit(p), scores clipped to [1e-12, 1 - 1e-12].
 * Newton-Raphson / IRLS with step halving, to a relative step of 1e-10. Returns -EDOM for
 * a single class, (quasi-)completely separated data (max logit(p) of one class <= min of
 * the other, which includes all scores equal) or no convergence; *intercept and *slope
 * are only written on success. Allocates n doubles (-ENOMEM). */
int stats_logistic_recalibration(const double *p, const uint8_t *y, size_t n, double *intercept,
				 double *slope) STATS_MUSTCHECK;

#endif /* STATS_CALIB_H */
