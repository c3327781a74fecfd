/* SPDX-License-Identifier: MIT
 * stats/cbpe.h - confidence-based performance estimation (label-free)
 *
 * With calibrated probabilities c_i = iso(score_i) (an isotonic map fitted on a labelled
 * reference), the expected confusion matrix of an unlabelled window is
 * E[TP] = sum_{s_i >= t} c_i, E[FP] = sum_{s_i >= t} (1 - c_i), E[FN] = sum_{s_i < t} c_i,
 * E[TN] = sum_{s_i < t} (1 - c_i); sensitivity = E[TP] / (E[TP] + E[FN]) and so on; the
 * expected AUROC is sum_{i,j} c_i (1 - c_j) [s_i > s_j] (+1/2 on ties) over
 * sum_{i != j} c_i (1 - c_j). The interval is the sampling interval of the realised metric
 * under the calibrated model: percentiles of the metric over B parametric draws
 * y_i ~ Bernoulli(c_i) (seeded, reproducible). Assumes calibration transfers to the window
 * (covariate shift, no concept shift).
 */
#ifndef STATS_CBPE_H
#define STATS_CBPE_H
#include "stats/common.h"
#include "stats/isotonic.h"

#define STATS_CBPE_DEFAULT_DRAWS 400

struct stats_cbpe {
	size_t n;
	double tp, fp, tn, fn; /* expected counts */
	double prevalence;     /* expected */
	int has_sens, has_spec, has_ppv, has_npv, has_auroc;
	struct stats_ci sens, spec, ppv, npv, auroc;
};

/* score[0..n) in [0, 1]; cal fitted by stats_isotonic_fit on the reference's scores and
 * labels. draws 0 means STATS_CBPE_DEFAULT_DRAWS. Returns 0, -EINVAL or -ENOMEM. */
int stats_cbpe_estimate(const struct stats_isotonic *cal, const double *score, size_t n,
			double threshold, double conf, size_t draws, uint64_t seed,
			struct stats_cbpe *out) STATS_MUSTCHECK;

#endif /* STATS_CBPE_H */
