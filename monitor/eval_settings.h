/* SPDX-License-Identifier: MIT
 * monitor/eval_settings.h - a model's evaluation settings, as registered
 *
 * Five optional fields of a model registration (POST /v1/models) say how the scheduler
 * evaluates it, and are answered with the model:
 *   "evaluation_period"  window length: seconds (a whole number) or a duration string;
 *                        1 hour to 30 days; default 86400 (1 day)
 *   "lateness"           how long after a window ends it is still left open for late
 *                        predictions: seconds or a duration; 0 to 30 days; default 3600
 *   "label_complete"     the share of a window's predictions that must have a label before
 *                        its performance is "final" rather than "provisional"; (0, 1];
 *                        default 0.9
 *   "fn_cost", "fp_cost" the cost of a false negative and of a false positive (expected
 *                        cost per prediction, alert severity); finite, >= 0; default 1
 * A duration string is a whole number and a unit, "90s", "30m", "6h", "1d", "2w", or an
 * ISO 8601 duration without years or months, "PT6H", "P1D", "P1DT12H", "P2W". Answers
 * give both durations as whole seconds. The fields are stored in models' columns, not in
 * the schema (collectors/record.h knows nothing of them).
 *
 * Thread-safe: no state.
 */
#ifndef MONITOR_EVAL_SETTINGS_H
#define MONITOR_EVAL_SETTINGS_H
#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "collectors/record.h"
#include "monitor/common.h"

#define MON_EVAL_PERIOD_MIN_S 3600
#define MON_EVAL_PERIOD_MAX_S (30 * 86400)
#define MON_EVAL_PERIOD_DEFAULT_S 86400
#define MON_EVAL_LATENESS_DEFAULT_S 3600

struct mon_eval_settings {
	int64_t period_s;      /* [MON_EVAL_PERIOD_MIN_S, MON_EVAL_PERIOD_MAX_S] */
	int64_t lateness_s;    /* [0, MON_EVAL_PERIOD_MAX_S] */
	double label_complete; /* (0, 1] */
	double fn_cost;        /* finite, >= 0 */
	double fp_cost;
};

/* The defaults. */
void mon_eval_settings_init(struct mon_eval_settings *e);

/* Parse a duration: "90s", "30m", "6h", "1d", "2w" or ISO 8601 "P[nW][nD][T[nH][nM][nS]]"
 * (whole numbers). Returns 0 with seconds in *secs, or -EINVAL. */
int mon_eval_parse_duration(const char *s, int64_t *secs) MON_MUSTCHECK;

/* Take the evaluation fields out of a registration document spec (borrowed): on success
 * stores the settings (defaults for absent fields) in *out and in *rest a new copy of spec
 * without them (cJSON_Delete it), to hand to col_schema_parse, and returns 0. A spec that
 * is not an object is copied as it is (col_schema_parse rejects it). Returns -EINVAL with
 * diag naming the bad field ("/evaluation_period") and nothing in *rest. */
int mon_eval_settings_parse(const cJSON *spec, struct mon_eval_settings *out, cJSON **rest,
			    struct col_diag *diag) MON_MUSTCHECK;

/* Add the five fields to obj (durations as whole seconds). */
void mon_eval_settings_to_json(const struct mon_eval_settings *e, cJSON *obj);

/* The columns SQL selects a model's settings with, in this order (text results). */
#define MON_EVAL_SETTINGS_COLUMNS                                                                  \
	"extract(epoch FROM evaluation_period)::int8, extract(epoch FROM lateness)::int8, "        \
	"label_complete, fn_cost, fp_cost"

/* Read the five MON_EVAL_SETTINGS_COLUMNS of row row of r, starting at column col. */
void mon_eval_settings_from_row(const PGresult *r, int row, int col, struct mon_eval_settings *e);

/* 1 when a and b are equal in every field. */
int mon_eval_settings_equal(const struct mon_eval_settings *a, const struct mon_eval_settings *b);

#endif /* MONITOR_EVAL_SETTINGS_H */
