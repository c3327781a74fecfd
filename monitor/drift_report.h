/* SPDX-License-Identifier: MIT
 * monitor/drift_report.h - drift of every feature between a reference and a current sample
 *
 * The one place that turns feature data into the drift JSON that `vigil drift` prints and
 * the server serves: per feature KS, PSI, Wasserstein and Jensen-Shannon (numeric) or
 * chi-square, PSI and Jensen-Shannon (categorical); Benjamini-Hochberg q-values across the
 * features of the run; optionally MMD over the numeric features.
 */
#ifndef MONITOR_DRIFT_REPORT_H
#define MONITOR_DRIFT_REPORT_H
#include <cjson/cJSON.h>
#include <stdint.h>

#include "monitor/common.h"

#define MON_DRIFT_PSI_SIGNAL 0.2

/* One feature. Numeric: ref/cur hold every row (NaN = missing). Categorical: codes into
 * dict, COL_MISSING_CODE = missing; the dictionary is shared by both samples. Borrowed. */
struct mon_drift_feature {
	const char *name;
	int categorical;
	const double *ref_num, *cur_num;
	const uint32_t *ref_cat, *cur_cat;
	const struct col_dict *dict;
};

struct mon_drift_opts {
	double alpha;        /* BH level, default 0.05 */
	int mmd;             /* compute MMD over the numeric features */
	size_t permutations; /* MMD permutations, default 100 */
	uint64_t seed;
	size_t mmd_max_rows; /* 0 = the stats default */
};

void mon_drift_opts_init(struct mon_drift_opts *o);

/* Compute the drift report of nfeat features over n_ref reference and n_cur current rows.
 * On success stores a new cJSON object in *out (cJSON_Delete it) and returns 0. Returns
 * -ENOMEM; statistics that are undefined for the data appear as JSON null with a reason. */
int mon_drift_report(const struct mon_drift_feature *feat, size_t nfeat, size_t n_ref, size_t n_cur,
		     const struct mon_drift_opts *opts, cJSON **out) MON_MUSTCHECK;

#endif /* MONITOR_DRIFT_REPORT_H */
