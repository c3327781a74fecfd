/* SPDX-License-Identifier: MIT
 * stats/auroc.h - area under the ROC curve with DeLong's variance
 *
 * AUROC = P(score_pos > score_neg) + 1/2 P(tie) (Mann-Whitney). Variance by DeLong,
 * DeLong & Clarke-Pearson (1988) with the placement values of Sun & Xu (2014); interval
 * auc -/+ z sqrt(var), clipped to [0, 1], as pROC's ci.auc(method = "delong").
 */
#ifndef STATS_AUROC_H
#define STATS_AUROC_H
#include "stats/common.h"

struct stats_auroc {
	double auc;
	double var; /* DeLong variance */
	double low, high;
	size_t n_pos, n_neg;
};

/* score[0..n), label[i] in {0, 1} (1 = positive); scores may be any non-NaN doubles,
 * -0.0 ties with +0.0. -EDOM when either class has fewer than two members: DeLong's
 * sample variances divide by m - 1 and n - 1 (pROC returns NA there); out is then zeroed
 * with n_pos and n_neg set. -EINVAL for a NULL pointer, a NaN score, a label > 1, conf
 * outside (0, 1) or n >= 2^31. Allocates about 8n bytes of scratch (-ENOMEM). */
int stats_auroc_delong(const double *score, const uint8_t *label, size_t n, double conf,
		       struct stats_auroc *out) STATS_MUSTCHECK;

/* The same for ngroups groups at once: group[i] in [0, ngroups) names the group of
 * observation i; out[g] is the result for group g, from its members only. One sort serves
 * all groups (up to 2^15 of them; more take one extra pass over the data per 2^15).
 * status[g] is 0 or -EDOM (a class has fewer than two members in that group; out[g] is
 * then zeroed with its counts set). Returns 0, -EINVAL (as above, or a group[i] >=
 * ngroups, ngroups == 0) or -ENOMEM; status is only written on 0. */
int stats_auroc_delong_groups(const double *score, const uint8_t *label, const uint32_t *group,
			      size_t n, size_t ngroups, double conf, struct stats_auroc *out,
			      int *status) STATS_MUSTCHECK;

/* Interval of auc1 - auc2 for two independent AUROCs: diff -/+ z sqrt(var1 + var2),
 * clipped to [-1, 1]. Does nothing if a pointer is NULL; conf as stats_z_for_conf. */
void stats_auroc_diff(const struct stats_auroc *a, const struct stats_auroc *b, double conf,
		      struct stats_ci *out);

#endif /* STATS_AUROC_H */
