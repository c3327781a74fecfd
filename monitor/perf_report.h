/* SPDX-License-Identifier: MIT
 * monitor/perf_report.h - performance per subgroup, realised (labels) or estimated (CBPE)
 *
 * The one place that turns scores, labels and segment attributes into the JSON that
 * `vigil perf` / `vigil estimate` print and the server serves: overall metrics, then every
 * value of each attribute (and, when asked, each pair of attributes), with the gap of each
 * group to the overall population.
 */
#ifndef MONITOR_PERF_REPORT_H
#define MONITOR_PERF_REPORT_H
#include <cjson/cJSON.h>
#include <stdint.h>

#include "monitor/common.h"
#include "stats/isotonic.h"

/* A segment attribute: one code per row into dict (COL_MISSING_CODE = missing). Borrowed. */
struct mon_perf_attr {
	const char *name;
	const uint32_t *codes;
	const struct col_dict *dict;
};

struct mon_perf_opts {
	double threshold;  /* score >= threshold is a predicted positive; default 0.5 */
	size_t min_n;      /* groups below are insufficient_data; default 30 */
	size_t min_class;  /* ... as are groups with fewer positives or negatives; default 5 */
	int intersections; /* also every pair of attributes */
	double conf;       /* interval level, default 0.95 */
	uint64_t seed;     /* CBPE draws */
	size_t draws;      /* CBPE draws, 0 = stats default */
};

void mon_perf_opts_init(struct mon_perf_opts *o);

/* Realised performance of n scored, labelled rows. Stores a new object in *out. */
int mon_perf_report(const double *score, const uint8_t *label, size_t n,
		    const struct mon_perf_attr *by, size_t nby, const struct mon_perf_opts *o,
		    cJSON **out) MON_MUSTCHECK;

/* Label-free estimate for n scored rows with the calibration cal (fitted on the labelled
 * reference). When label is not NULL the realised metrics and the estimate's error are
 * added beside each estimate. Stores a new object in *out. */
int mon_estimate_report(const struct stats_isotonic *cal, const double *score, const uint8_t *label,
			size_t n, const struct mon_perf_attr *by, size_t nby,
			const struct mon_perf_opts *o, cJSON **out) MON_MUSTCHECK;

#endif /* MONITOR_PERF_REPORT_H */
