/* SPDX-License-Identifier: MIT
 * stats/perf.c - one call for everything a model report shows about a binary classifier
 *
 * The confusion matrix at a threshold (score >= threshold is a predicted positive) with
 * Wilson intervals for sensitivity tp/(tp+fn), specificity tn/(tn+fp), PPV tp/(tp+fp) and
 * NPV tn/(tn+fn); the threshold-free AUROC with its DeLong interval; Brier, ECE on 10 bins
 * and the logistic recalibration intercept and slope. A metric whose denominator is 0, an
 * AUROC with a class of fewer than two members, and a recalibration without an MLE
 * (single class, separation) are flagged has_x = 0 and left 0, never NaN.
 */
#include "stats/perf.h"
#include "stats/calib.h"
#include "stats/interval.h"

#include <math.h>
#include <string.h>

#define PERF_ECE_BINS 10

/* has = 1 and the Wilson interval of k/n, or has = 0 and zeros when n == 0. */
static int rate(size_t k, size_t n, double conf, int *has, struct stats_ci *ci)
{
	int ret = stats_wilson(k, n, conf, ci);

	*has = ret == 0;
	if (ret == -EDOM) {
		memset(ci, 0, sizeof(*ci));
		ret = 0;
	}
	return ret;
}

static int perf_eval(const double *score, const uint8_t *label, size_t n, double threshold,
		     double conf, int rates_only, struct stats_perf *out)
{
	size_t i;
	int ret;

	if (!score || !label || !out || n == 0 || isnan(threshold) || !(conf > 0.0 && conf < 1.0))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		int pred;

		if (!(score[i] >= 0.0 && score[i] <= 1.0) || label[i] > 1) {
			ret = -EINVAL;
			goto out;
		}
		pred = score[i] >= threshold;
		if (label[i]) {
			out->tp += pred;
			out->fn += !pred;
		} else {
			out->fp += pred;
			out->tn += !pred;
		}
	}
	out->n = n;
	out->positives = out->tp + out->fn;
	out->negatives = out->tn + out->fp;
	out->prevalence = (double)out->positives / (double)n;
	ret = rate(out->tp, out->positives, conf, &out->has_sens, &out->sens);
	if (!ret)
		ret = rate(out->tn, out->negatives, conf, &out->has_spec, &out->spec);
	if (!ret)
		ret = rate(out->tp, out->tp + out->fp, conf, &out->has_ppv, &out->ppv);
	if (!ret)
		ret = rate(out->tn, out->tn + out->fn, conf, &out->has_npv, &out->npv);
	if (ret)
		goto out;

	ret = stats_auroc_delong(score, label, n, conf, &out->auroc);
	out->has_auroc = ret == 0;
	if (ret && ret != -EDOM)
		goto out;
	ret = 0;
	if (rates_only)
		goto out;

	ret = stats_brier(score, label, n, &out->brier);
	if (!ret)
		ret = stats_ece(score, label, n, PERF_ECE_BINS, &out->ece);
	if (ret)
		goto out;
	ret = stats_logistic_recalibration(score, label, n, &out->cal_intercept, &out->cal_slope);
	out->has_calibration = ret == 0;
	if (ret == -EDOM) {
		out->cal_intercept = 0.0;
		out->cal_slope = 0.0;
		ret = 0;
	}
out:
	if (ret)
		memset(out, 0, sizeof(*out));
	return ret;
}

int stats_perf_eval(const double *score, const uint8_t *label, size_t n, double threshold,
		    double conf, struct stats_perf *out)
{
	return perf_eval(score, label, n, threshold, conf, 0, out);
}

int stats_perf_eval_rates(const double *score, const uint8_t *label, size_t n, double threshold,
			  double conf, struct stats_perf *out)
{
	return perf_eval(score, label, n, threshold, conf, 1, out);
}
