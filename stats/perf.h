/* SPDX-License-Identifier: MIT
 * stats/perf.h - the performance of a binary classifier at a threshold, with intervals
 *
 * A score >= threshold is a predicted positive. Sensitivity, specificity, PPV and NPV
 * carry Wilson intervals; AUROC a DeLong interval; Brier, ECE (10 bins) and the logistic
 * recalibration intercept and slope are point values.
 */
#ifndef STATS_PERF_H
#define STATS_PERF_H
#include "stats/auroc.h"
#include "stats/common.h"

struct stats_perf {
	size_t n, positives, negatives;
	size_t tp, fp, tn, fn;
	double prevalence;
	/* has_x is 0 when x is undefined (empty denominator, single class, no fit) */
	int has_sens, has_spec, has_ppv, has_npv, has_auroc, has_calibration;
	struct stats_ci sens, spec, ppv, npv;
	struct stats_auroc auroc;
	double brier, ece, cal_intercept, cal_slope;
};

/* Evaluate n scores (each in [0, 1]) against labels in {0, 1}. conf is the interval level
 * (0.95). Returns 0, -EINVAL (n == 0) or -ENOMEM. Undefined metrics are flagged, never NaN. */
int stats_perf_eval(const double *score, const uint8_t *label, size_t n, double threshold,
		    double conf, struct stats_perf *out) STATS_MUSTCHECK;

#endif /* STATS_PERF_H */
