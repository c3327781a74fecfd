/* SPDX-License-Identifier: MIT
 * stats/calib.h - probabilistic accuracy and calibration of scores
 */
#ifndef STATS_CALIB_H
#define STATS_CALIB_H
#include "stats/common.h"

/* Brier (1950) score: mean (p - y)^2. n >= 1. */
int stats_brier(const double *p, const uint8_t *y, size_t n, double *out) STATS_MUSTCHECK;

/* Expected calibration error on `bins` equal-width bins of [0, 1] (the last bin is
 * closed): sum over non-empty bins of (n_b / n) |mean(y) - mean(p)| (Naeini et al. 2015). */
int stats_ece(const double *p, const uint8_t *y, size_t n, size_t bins, double *out) STATS_MUSTCHECK;

/* Logistic recalibration (Cox 1958): maximum likelihood fit of
 * logit P(y = 1) = intercept + slope * logit(p), scores clipped to [1e-12, 1 - 1e-12].
 * Newton-Raphson / IRLS. Returns -EDOM for a single class, perfectly separated data or no
 * convergence. */
int stats_logistic_recalibration(const double *p, const uint8_t *y, size_t n, double *intercept,
				 double *slope) STATS_MUSTCHECK;

#endif /* STATS_CALIB_H */
