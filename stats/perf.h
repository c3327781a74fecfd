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
 * (0.95). Returns 0, -EINVAL (n == 0, a NULL pointer, a score outside [0, 1] or NaN, a
 * label > 1, a NaN threshold, conf outside (0, 1)) or -ENOMEM; out is zeroed on failure.
 * Undefined metrics are flagged, never NaN, and left 0: has_sens/spec/ppv/npv when the
 * denominator is 0, has_auroc when a class has fewer than two members (auroc.n_pos and
 * n_neg are still set), has_calibration when the recalibration has no MLE. Brier and ECE
 * are always defined. */
int stats_perf_eval(const double *score, const uint8_t *label, size_t n, double threshold,
		    double conf, struct stats_perf *out) STATS_MUSTCHECK;

/* The same with only the confusion-matrix rates and the AUROC: brier, ece and the
 * recalibration are left 0 and has_calibration 0. For callers that compare those metrics
 * alone (the error of an estimate): the recalibration's Newton iterations are most of the
 * cost of stats_perf_eval. */
int stats_perf_eval_rates(const double *score, const uint8_t *label, size_t n, double threshold,
			  double conf, struct stats_perf *out) STATS_MUSTCHECK;

#endif /* STATS_PERF_H */
