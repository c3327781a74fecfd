/* SPDX-License-Identifier: MIT
 * monitor/evaluate.h - every test and metric of one evaluation window, as result rows
 *
 * The scheduler (monitor/scheduler.c) loads a window's predictions and the model's active
 * reference as column arrays (monitor/store_window.h) and hands them here; what comes back
 * is the list of rows it stores in the results table (sql/0003_evaluation.sql). Nothing
 * here touches the database. The numbers come from the same report builders as
 * `vigil drift`, `vigil perf` and `vigil estimate` (monitor/drift_report.h, perf_report.h),
 * so a window's all-data drift equals `vigil drift` on the same rows bit for bit.
 *
 * Rows produced (scope / metric; "per segment value" means for every value of every
 * segment attribute seen in the window, at most max_segment_values per attribute, the
 * most frequent first; rows without a value count in the all-data rows only):
 *   volume          count (all data and per segment value); volume_ratio (all data):
 *                   count / expected_rows, insufficient when there is no expectation
 *   label_coverage  coverage = labelled / rows (all data and per segment value)
 *   missing         missing_rate per feature (all data), reference_missing_rate in the
 *                   parameters
 *   feature, score  drift against the reference, all data and per segment value: numeric
 *                   ks (statistic, p), psi, wasserstein, jensen_shannon; categorical
 *                   chi_square (statistic, p), psi, jensen_shannon. Insufficient when the
 *                   window or the reference has fewer than min_n non-missing values.
 *   multivariate    mmd (MMD^2 and its permutation p) over the numeric features, all data
 *   performance     sensitivity, specificity, ppv, npv (Wilson), auroc (DeLong), brier,
 *                   ece, prevalence, calibration_slope, calibration_intercept, cost
 *                   ((fn_cost FN + fp_cost FP) / n), over the labelled rows, all data and
 *                   per segment value; insufficient below min_n rows or min_class of
 *                   either class; status provisional or final
 *   estimate        CBPE sensitivity, specificity, ppv, npv, auroc (with intervals),
 *                   prevalence and cost over all the window's rows, calibrated on the
 *                   reference's labelled rows; insufficient below min_n rows. Once the
 *                   window is final the interval is left out (its draws would be most of
 *                   the cost, and the labels are known): the point values stay.
 *   estimate_error  once there are labels: CBPE estimate minus realised value of
 *                   sensitivity, specificity, ppv, npv, auroc over the labelled rows (both
 *                   in the parameters); status as performance
 * Benjamini-Hochberg q-values are computed across the window's whole family of drift tests:
 * every ks and chi_square row (all features and the score, all data and every segment
 * value) and the mmd row that is defined and not insufficient.
 *
 * Create rows with mon_evaluate or mon_evaluate_reference into a struct mon_eval_rows set
 * up with mon_eval_rows_init; release with mon_eval_rows_fini. Thread-safe as far as the
 * arguments are not shared (they are only read). The work is split into tasks (the
 * estimate, its error, performance, all-data drift, each segment value's drift) run by
 * opts.threads workers, the caller's thread one of them; the rows come out in the same
 * order whatever thread ran which task.
 */
#ifndef MONITOR_EVALUATE_H
#define MONITOR_EVALUATE_H
#include <stddef.h>
#include <stdint.h>

#include "collectors/record.h"
#include "monitor/common.h"
#include "monitor/store_window.h"
#include "stats/isotonic.h"

enum mon_eval_scope {
	MON_EVAL_FEATURE,
	MON_EVAL_SCORE,
	MON_EVAL_MULTIVARIATE,
	MON_EVAL_PERFORMANCE,
	MON_EVAL_ESTIMATE,
	MON_EVAL_ESTIMATE_ERROR,
	MON_EVAL_VOLUME,
	MON_EVAL_MISSING,
	MON_EVAL_LABEL_COVERAGE,
};

/* The scope's name as the results table spells it ("feature", ...). */
const char *mon_eval_scope_name(enum mon_eval_scope s);

/* One result. Every string is owned by the row (NULL where the column is NULL); doubles
 * are NaN and counts -1 for NULL. */
struct mon_eval_row {
	enum mon_eval_scope scope;
	char *feature;
	char *segment; /* attribute name; NULL: all data */
	char *segment_value;
	char *metric;
	double value, ci_low, ci_high, p_value, q_value;
	int64_t n, n_reference;
	char *method;
	const char *status; /* "provisional", "final" or NULL (static) */
	int insufficient;
	char *parameters; /* a JSON object's text, never NULL */
};

struct mon_eval_rows {
	size_t n, cap;
	struct mon_eval_row *v;
	/* CPU seconds of each part (summed over the workers), for the log and the benchmark */
	double t_drift, t_performance, t_estimate;
};

void mon_eval_rows_init(struct mon_eval_rows *r);
void mon_eval_rows_fini(struct mon_eval_rows *r); /* frees every row; r may be reused */

#define MON_EVAL_MAX_THREADS 8

struct mon_eval_opts {
	size_t min_n;              /* drift and performance groups below are insufficient (30) */
	size_t min_class;          /* ... as are performance groups with fewer of a class (5) */
	size_t max_segment_values; /* per attribute (64) */
	double conf;               /* interval level (0.95) */
	size_t mmd_permutations;   /* (100) */
	size_t mmd_max_rows;       /* per sample; 0: the stats default (2000) */
	size_t cbpe_draws;         /* for the estimate's intervals; 0: the stats default */
	uint64_t seed;             /* MMD and CBPE draws (1) */
	int threads;               /* workers, the caller's thread included (2); at most
				    * MON_EVAL_MAX_THREADS */
};

void mon_eval_opts_init(struct mon_eval_opts *o);

struct mon_eval_input {
	const struct col_schema *schema;
	const struct mon_window_dicts *dicts; /* shared by win and ref */
	const struct mon_window *win;         /* loaded with MON_WINDOW_FEATURES */
	const struct mon_window *ref;         /* idem; NULL: no active reference */
	const struct stats_isotonic *cal;     /* fitted on ref's labelled rows; NULL: none */
	double label_complete, fn_cost, fp_cost;
	double expected_rows;     /* the reference's rate per window; NaN: unknown */
	const char *volume_basis; /* how expected_rows was found, for parameters */
};

/* The status of a window with labeled of n rows labelled: "final" when labeled / n >=
 * label_complete, else "provisional"; NULL when nothing is labelled. */
const char *mon_evaluate_status(size_t labeled, size_t n, double label_complete);

/* Evaluate one window (see above) and append its rows to out. Returns 0; -ENOMEM; -EINVAL
 * for inconsistent input (a window without feature columns); a statistics failure other
 * than undefined data is returned as it came (rows appended so far stay in out). */
int mon_evaluate(const struct mon_eval_input *in, const struct mon_eval_opts *o,
		 struct mon_eval_rows *out) MON_MUSTCHECK;

/* The baseline of a reference: scope performance rows (status NULL) over the labelled rows
 * of ref, all data and per segment value (the reference's most frequent ones), with the
 * model's threshold and costs. Returns 0 or a negative errno. */
int mon_evaluate_reference(const struct col_schema *s, const struct mon_window_dicts *d,
			   const struct mon_window *ref, double fn_cost, double fp_cost,
			   const struct mon_eval_opts *o, struct mon_eval_rows *out) MON_MUSTCHECK;

#endif /* MONITOR_EVALUATE_H */
