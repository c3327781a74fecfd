/* SPDX-License-Identifier: MIT
 * tests/check_evaluate.c - one window's evaluation (monitor/evaluate.c) and the
 * registration's evaluation settings (monitor/eval_settings.c), without a database
 *
 * Windows are built by hand from a fixed pseudo-random stream: a numeric feature x, a
 * categorical k, the score and a label, segment attribute g with values a, b, c.
 */
#include "config.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/drift_report.h"
#include "monitor/eval_settings.h"
#include "monitor/evaluate.h"
#include "stats/isotonic.h"
#include "stats/multitest.h"

/* --- fixtures -------------------------------------------------------------------------- */

static uint64_t rng_state;

static double uniform(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

static struct col_schema *schema;
static struct mon_window_dicts dicts;

static void setup(void)
{
	cJSON *spec = cJSON_Parse("{\"name\": \"m\", \"threshold\": 0.5, \"features\": ["
				  "{\"name\": \"x\", \"type\": \"numeric\"},"
				  "{\"name\": \"k\", \"type\": \"categorical\"}],"
				  "\"segments\": [\"g\"]}");
	struct col_diag d = {"", ""};

	ck_assert_int_eq(col_schema_parse(spec, &schema, &d), 0);
	cJSON_Delete(spec);
	mon_store_window_dicts_init(&dicts, schema);
}

static void teardown(void)
{
	mon_store_window_dicts_fini(&dicts);
	col_schema_free(schema);
}

/* n rows: x ~ U(shift, shift + 1), k in k0..k2, g a (60 %), b (30 %), c (10 %), score
 * uniform, label drawn from the score when labelled (the first labeled rows). */
static struct mon_window *make(size_t n, double shift, size_t labeled, uint64_t seed)
{
	struct mon_window *w = calloc(1, sizeof(*w));
	static const char *const cats[] = {"k0", "k1", "k2"}, *const segs[] = {"a", "b", "c"};

	rng_state = seed;
	w->n = n;
	w->nnum = w->ncat = w->nseg = 1;
	w->score = malloc((n + 1) * sizeof(double));
	w->label = malloc(n + 1);
	w->num = calloc(1, sizeof(double *));
	w->cat = calloc(1, sizeof(uint32_t *));
	w->seg = calloc(1, sizeof(uint32_t *));
	w->num[0] = malloc((n + 1) * sizeof(double));
	w->cat[0] = malloc((n + 1) * sizeof(uint32_t));
	w->seg[0] = malloc((n + 1) * sizeof(uint32_t));
	for (size_t i = 0; i < n; i++) {
		double u = uniform(), v = uniform();
		const char *c = cats[(size_t)(uniform() * 3)];
		const char *s = segs[v < 0.6 ? 0 : v < 0.9 ? 1 : 2];

		w->num[0][i] = shift + u;
		w->cat[0][i] = col_dict_intern(dicts.cat[0], c, strlen(c));
		w->seg[0][i] = col_dict_intern(dicts.seg[0], s, 1);
		w->score[i] = uniform();
		if (i < labeled) {
			w->label[i] = uniform() < w->score[i];
			w->labeled++;
		} else {
			w->label[i] = MON_WINDOW_NO_LABEL;
		}
	}
	return w;
}

static struct stats_isotonic *calibrate(const struct mon_window *ref)
{
	double *y = malloc(ref->n * sizeof(double));
	struct stats_isotonic *cal = NULL;

	for (size_t i = 0; i < ref->n; i++)
		y[i] = ref->label[i];
	ck_assert_int_eq(stats_isotonic_fit(ref->score, y, ref->n, &cal), 0);
	free(y);
	return cal;
}

static void input(struct mon_eval_input *in, const struct mon_window *w,
		  const struct mon_window *ref, const struct stats_isotonic *cal)
{
	memset(in, 0, sizeof(*in));
	in->schema = schema;
	in->dicts = &dicts;
	in->win = w;
	in->ref = ref;
	in->cal = cal;
	in->label_complete = 0.9;
	in->fn_cost = 5;
	in->fp_cost = 1;
	in->expected_rows = NAN;
}

static const struct mon_eval_row *find(const struct mon_eval_rows *r, const char *scope,
				       const char *feature, const char *seg, const char *val,
				       const char *metric)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct mon_eval_row *x = &r->v[i];

		if (strcmp(mon_eval_scope_name(x->scope), scope) || strcmp(x->metric, metric))
			continue;
		if ((feature == NULL) != (x->feature == NULL) ||
		    (feature && strcmp(feature, x->feature)))
			continue;
		if ((seg == NULL) != (x->segment == NULL) || (seg && strcmp(seg, x->segment)))
			continue;
		if ((val == NULL) != (x->segment_value == NULL) ||
		    (val && strcmp(val, x->segment_value)))
			continue;
		return x;
	}
	return NULL;
}

static size_t count_scope(const struct mon_eval_rows *r, const char *scope)
{
	size_t k = 0;

	for (size_t i = 0; i < r->n; i++)
		k += !strcmp(mon_eval_scope_name(r->v[i].scope), scope);
	return k;
}

/* --- mon_evaluate ----------------------------------------------------------------------- */

START_TEST(test_mon_evaluate_all_data_drift_equals_drift_report)
{
	struct mon_window *ref = make(500, 0, 500, 1), *w = make(400, 0.2, 0, 2);
	struct mon_eval_input in;
	struct mon_eval_opts o;
	struct mon_eval_rows rows;
	struct mon_drift_feature f[3];
	struct mon_drift_opts dopts;
	cJSON *rep = NULL;

	input(&in, w, ref, NULL);
	mon_eval_opts_init(&o);
	mon_eval_rows_init(&rows);
	ck_assert_int_eq(mon_evaluate(&in, &o, &rows), 0);

	/* the same samples through the report builder directly; the categorical codes of
	 * this fixture already are in first-seen order over the reference, then the window */
	memset(f, 0, sizeof(f));
	f[0] = (struct mon_drift_feature){"x", 0, ref->num[0], w->num[0], NULL, NULL, NULL};
	f[1] = (struct mon_drift_feature){"k", 1, NULL, NULL, ref->cat[0], w->cat[0], dicts.cat[0]};
	f[2] = (struct mon_drift_feature){"score", 0, ref->score, w->score, NULL, NULL, NULL};
	mon_drift_opts_init(&dopts);
	dopts.mmd = 1;
	ck_assert_int_eq(mon_drift_report(f, 3, ref->n, w->n, &dopts, &rep), 0);
	const cJSON *fx = cJSON_GetArrayItem(cJSON_GetObjectItem(rep, "features"), 0);
	const cJSON *fk = cJSON_GetArrayItem(cJSON_GetObjectItem(rep, "features"), 1);
	const cJSON *ks = cJSON_GetObjectItem(fx, "ks");
	const struct mon_eval_row *r = find(&rows, "feature", "x", NULL, NULL, "ks");

	ck_assert_ptr_nonnull(r);
	ck_assert(r->value == cJSON_GetObjectItem(ks, "statistic")->valuedouble);
	ck_assert(r->p_value == cJSON_GetObjectItem(ks, "p_value")->valuedouble);
	ck_assert_int_eq(r->n, 400);
	ck_assert_int_eq(r->n_reference, 500);
	r = find(&rows, "feature", "x", NULL, NULL, "psi");
	ck_assert(r->value ==
		  cJSON_GetObjectItem(cJSON_GetObjectItem(fx, "psi"), "value")->valuedouble);
	r = find(&rows, "feature", "k", NULL, NULL, "chi_square");
	ck_assert(r->value ==
		  cJSON_GetObjectItem(cJSON_GetObjectItem(fk, "chi_square"), "statistic")
			  ->valuedouble);
	r = find(&rows, "multivariate", NULL, NULL, NULL, "mmd");
	ck_assert(r->value ==
		  cJSON_GetObjectItem(cJSON_GetObjectItem(rep, "mmd"), "mmd2")->valuedouble);
	ck_assert_ptr_nonnull(find(&rows, "score", NULL, NULL, NULL, "wasserstein"));
	/* x moved by 0.2: detected */
	ck_assert(find(&rows, "feature", "x", NULL, NULL, "ks")->q_value < 1e-6);
	cJSON_Delete(rep);
	mon_eval_rows_fini(&rows);
	mon_store_window_free(ref);
	mon_store_window_free(w);
}
END_TEST

START_TEST(test_mon_evaluate_bh_across_the_whole_family)
{
	struct mon_window *ref = make(600, 0, 600, 3), *w = make(600, 0.05, 0, 4);
	struct mon_eval_input in;
	struct mon_eval_opts o;
	struct mon_eval_rows rows;
	double p[64], q[64];
	size_t m = 0, segs = 0;

	input(&in, w, ref, NULL);
	mon_eval_opts_init(&o);
	mon_eval_rows_init(&rows);
	ck_assert_int_eq(mon_evaluate(&in, &o, &rows), 0);
	for (size_t i = 0; i < rows.n; i++) {
		if (isfinite(rows.v[i].p_value) && !rows.v[i].insufficient) {
			ck_assert_uint_lt(m, 64);
			p[m++] = rows.v[i].p_value;
			segs += rows.v[i].segment != NULL;
		}
	}
	/* x, k, score over all data and per a, b, c (each >= 30 rows), plus MMD */
	ck_assert_uint_eq(m, 13);
	ck_assert_uint_eq(segs, 9);
	ck_assert_int_eq(stats_bh(p, m, q), 0);
	for (size_t i = 0, k = 0; i < rows.n; i++)
		if (isfinite(rows.v[i].p_value) && !rows.v[i].insufficient)
			ck_assert(rows.v[i].q_value == q[k++]);
	mon_eval_rows_fini(&rows);
	mon_store_window_free(ref);
	mon_store_window_free(w);
}
END_TEST

START_TEST(test_mon_evaluate_small_groups_are_insufficient)
{
	struct mon_window *ref = make(400, 0, 400, 5), *w = make(100, 0, 100, 6);
	struct mon_eval_input in;
	struct mon_eval_opts o;
	struct mon_eval_rows rows;
	const struct mon_eval_row *r;

	input(&in, w, ref, NULL);
	mon_eval_opts_init(&o);
	mon_eval_rows_init(&rows);
	ck_assert_int_eq(mon_evaluate(&in, &o, &rows), 0);
	/* about 10 rows have g = c: drift and performance insufficient, with n, no value */
	r = find(&rows, "feature", "x", "g", "c", "ks");
	ck_assert_ptr_nonnull(r);
	ck_assert(r->insufficient && isnan(r->value) && isnan(r->p_value) && isnan(r->q_value));
	ck_assert_int_lt(r->n, 30);
	r = find(&rows, "performance", NULL, "g", "c", "sensitivity");
	ck_assert_ptr_nonnull(r);
	ck_assert(r->insufficient && isnan(r->value));
	r = find(&rows, "performance", NULL, NULL, NULL, "sensitivity");
	ck_assert(!r->insufficient && r->ci_low <= r->value && r->value <= r->ci_high);
	ck_assert_str_eq(r->status, "final");
	mon_eval_rows_fini(&rows);
	mon_store_window_free(ref);
	mon_store_window_free(w);
}
END_TEST

START_TEST(test_mon_evaluate_status_follows_coverage)
{
	ck_assert_ptr_null(mon_evaluate_status(0, 100, 0.9));
	ck_assert_ptr_null(mon_evaluate_status(0, 0, 0.9));
	ck_assert_str_eq(mon_evaluate_status(89, 100, 0.9), "provisional");
	ck_assert_str_eq(mon_evaluate_status(90, 100, 0.9), "final");
	ck_assert_str_eq(mon_evaluate_status(1, 100, 0.01), "final");
}
END_TEST

START_TEST(test_mon_evaluate_estimate_then_error)
{
	struct mon_window *ref = make(800, 0, 800, 7), *w = make(300, 0, 0, 8);
	struct stats_isotonic *cal = calibrate(ref);
	struct mon_eval_input in;
	struct mon_eval_opts o;
	struct mon_eval_rows rows;
	const struct mon_eval_row *r;

	input(&in, w, ref, cal);
	mon_eval_opts_init(&o);
	o.cbpe_draws = 50;
	mon_eval_rows_init(&rows);
	ck_assert_int_eq(mon_evaluate(&in, &o, &rows), 0);
	r = find(&rows, "estimate", NULL, NULL, NULL, "sensitivity");
	ck_assert_ptr_nonnull(r);
	ck_assert(!r->insufficient && r->value > 0 && r->value < 1);
	ck_assert_ptr_nonnull(find(&rows, "estimate", NULL, "g", "a", "auroc"));
	ck_assert_uint_eq(count_scope(&rows, "estimate_error"), 0);
	ck_assert_uint_eq(count_scope(&rows, "performance"), 0);
	mon_eval_rows_fini(&rows);
	mon_store_window_free(w);

	/* the same window, 80 % labelled: provisional performance and the estimate's error */
	w = make(300, 0, 240, 8);
	input(&in, w, ref, cal);
	mon_eval_rows_init(&rows);
	ck_assert_int_eq(mon_evaluate(&in, &o, &rows), 0);
	r = find(&rows, "estimate_error", NULL, NULL, NULL, "auroc");
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->status, "provisional");
	ck_assert_int_eq(r->n, 240);
	ck_assert(fabs(r->value) < 0.2);
	ck_assert_str_eq(find(&rows, "performance", NULL, NULL, NULL, "ppv")->status,
			 "provisional");
	r = find(&rows, "label_coverage", NULL, NULL, NULL, "coverage");
	ck_assert(r->value == 0.8);
	mon_eval_rows_fini(&rows);
	stats_isotonic_free(cal);
	mon_store_window_free(ref);
	mon_store_window_free(w);
}
END_TEST

START_TEST(test_mon_evaluate_final_window_estimate_has_no_interval)
{
	struct mon_window *ref = make(800, 0, 800, 15), *w = make(300, 0, 300, 16);
	struct stats_isotonic *cal = calibrate(ref);
	struct mon_eval_input in;
	struct mon_eval_opts o;
	struct mon_eval_rows rows;
	const struct mon_eval_row *e, *err;

	input(&in, w, ref, cal);
	mon_eval_opts_init(&o);
	mon_eval_rows_init(&rows);
	ck_assert_int_eq(mon_evaluate(&in, &o, &rows), 0);
	/* every row labelled: the estimate's point value, no interval, and its error from
	 * the same pass (estimate - realised over the same rows) */
	e = find(&rows, "estimate", NULL, NULL, NULL, "sensitivity");
	ck_assert(isfinite(e->value) && isnan(e->ci_low) && isnan(e->ci_high));
	ck_assert_ptr_nonnull(strstr(e->parameters, "labels are complete"));
	err = find(&rows, "estimate_error", NULL, NULL, NULL, "sensitivity");
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(err->status, "final");
	ck_assert_int_eq(err->n, 300);
	ck_assert_ptr_nonnull(find(&rows, "estimate_error", NULL, "g", "a", "auroc"));
	mon_eval_rows_fini(&rows);
	stats_isotonic_free(cal);
	mon_store_window_free(ref);
	mon_store_window_free(w);
}
END_TEST

START_TEST(test_mon_evaluate_empty_window_and_volume)
{
	struct mon_window *ref = make(100, 0, 100, 9), *w = make(0, 0, 0, 10);
	struct mon_eval_input in;
	struct mon_eval_opts o;
	struct mon_eval_rows rows;

	input(&in, w, ref, NULL);
	mon_eval_opts_init(&o);
	mon_eval_rows_init(&rows);
	ck_assert_int_eq(mon_evaluate(&in, &o, &rows), 0);
	ck_assert_uint_eq(rows.n, 2);
	ck_assert(find(&rows, "volume", NULL, NULL, NULL, "count")->value == 0);
	ck_assert(find(&rows, "volume", NULL, NULL, NULL, "volume_ratio")->insufficient);
	mon_eval_rows_fini(&rows);
	mon_store_window_free(w);

	w = make(50, 0, 0, 11);
	input(&in, w, ref, NULL);
	in.expected_rows = 200;
	in.volume_basis = "test";
	mon_eval_rows_init(&rows);
	ck_assert_int_eq(mon_evaluate(&in, &o, &rows), 0);
	ck_assert(find(&rows, "volume", NULL, NULL, NULL, "volume_ratio")->value == 0.25);
	ck_assert_ptr_nonnull(
		strstr(find(&rows, "volume", NULL, NULL, NULL, "volume_ratio")->parameters,
		       "\"expected\":200"));
	ck_assert_ptr_nonnull(find(&rows, "volume", NULL, "g", "a", "count"));
	mon_eval_rows_fini(&rows);
	mon_store_window_free(ref);
	mon_store_window_free(w);
}
END_TEST

/* Missing values counted overall and per segment value, beside the reference's rate of the
 * same rows: x goes missing in every other row of segment b, k in every row of c. */
START_TEST(test_mon_evaluate_missing_rates_per_segment)
{
	struct mon_window *ref = make(600, 0, 600, 21), *w = make(1000, 0, 1000, 22);
	uint32_t b = col_dict_intern(dicts.seg[0], "b", 1),
		 c = col_dict_intern(dicts.seg[0], "c", 1);
	size_t nb = 0, nc = 0, mb = 0, na = 0;
	struct mon_eval_input in;
	struct mon_eval_opts o;
	struct mon_eval_rows rows;
	const struct mon_eval_row *r;

	for (size_t i = 0; i < ref->n; i++) /* the reference misses x in 3 rows of b */
		if (ref->seg[0][i] == b && na++ < 3)
			ref->num[0][i] = NAN;
	for (size_t i = 0; i < w->n; i++) {
		if (w->seg[0][i] == b && nb++ % 2 == 0) {
			w->num[0][i] = NAN;
			mb++;
		}
		if (w->seg[0][i] == c) {
			w->cat[0][i] = COL_MISSING_CODE;
			nc++;
		}
	}
	input(&in, w, ref, calibrate(ref));
	mon_eval_opts_init(&o);
	mon_eval_rows_init(&rows);
	ck_assert_int_eq(mon_evaluate(&in, &o, &rows), 0);
	r = find(&rows, "missing", "x", NULL, NULL, "missing_rate");
	ck_assert_ptr_nonnull(r);
	ck_assert_double_eq_tol(r->value, (double)mb / 1000.0, 1e-15);
	r = find(&rows, "missing", "x", "g", "b", "missing_rate");
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->n, (int64_t)nb);
	ck_assert_double_eq_tol(r->value, (double)mb / (double)nb, 1e-15);
	ck_assert_ptr_nonnull(strstr(r->parameters, "\"reference_missing_rate\":"));
	ck_assert(r->n_reference > 0);
	{
		cJSON *p = cJSON_Parse(r->parameters);

		ck_assert_double_eq_tol(
			cJSON_GetObjectItem(p, "reference_missing_rate")->valuedouble,
			3.0 / (double)r->n_reference, 1e-15);
		cJSON_Delete(p);
	}
	r = find(&rows, "missing", "x", "g", "a", "missing_rate");
	ck_assert_ptr_nonnull(r);
	ck_assert_double_eq(r->value, 0.0);
	r = find(&rows, "missing", "k", "g", "c", "missing_rate");
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->n, (int64_t)nc);
	ck_assert_double_eq(r->value, 1.0);
	ck_assert_double_eq(find(&rows, "missing", "k", "g", "b", "missing_rate")->value, 0.0);
	/* overall + 3 segment values, for each of the 2 features */
	ck_assert_uint_eq(count_scope(&rows, "missing"), 2 * (1 + 3));
	mon_eval_rows_fini(&rows);
	stats_isotonic_free((struct stats_isotonic *)in.cal);
	mon_store_window_free(ref);
	mon_store_window_free(w);
}
END_TEST

START_TEST(test_mon_evaluate_segment_values_are_capped)
{
	struct mon_window *ref = make(300, 0, 300, 12), *w = make(300, 0, 0, 13);
	struct mon_eval_input in;
	struct mon_eval_opts o;
	struct mon_eval_rows rows;

	input(&in, w, ref, NULL);
	mon_eval_opts_init(&o);
	o.max_segment_values = 1;
	mon_eval_rows_init(&rows);
	ck_assert_int_eq(mon_evaluate(&in, &o, &rows), 0);
	/* only a, the most frequent value, is evaluated on its own */
	ck_assert_ptr_nonnull(find(&rows, "feature", "x", "g", "a", "ks"));
	ck_assert_ptr_null(find(&rows, "feature", "x", "g", "b", "ks"));
	ck_assert_ptr_null(find(&rows, "volume", NULL, "g", "c", "count"));
	mon_eval_rows_fini(&rows);
	mon_store_window_free(ref);
	mon_store_window_free(w);
}
END_TEST

START_TEST(test_mon_evaluate_reference_baseline)
{
	struct mon_window *ref = make(400, 0, 400, 14);
	struct mon_eval_opts o;
	struct mon_eval_rows rows;
	const struct mon_eval_row *r;

	mon_eval_opts_init(&o);
	mon_eval_rows_init(&rows);
	ck_assert_int_eq(mon_evaluate_reference(schema, &dicts, ref, 1, 1, &o, &rows), 0);
	r = find(&rows, "performance", NULL, NULL, NULL, "auroc");
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->n, 400);
	ck_assert_ptr_null(r->status);
	ck_assert_ptr_nonnull(find(&rows, "performance", NULL, "g", "b", "sensitivity"));
	mon_eval_rows_fini(&rows);
	mon_store_window_free(ref);
}
END_TEST

/* --- mon_eval_parse_duration / mon_eval_settings_parse ---------------------------------- */

START_TEST(test_mon_eval_parse_duration_forms)
{
	static const struct {
		const char *s;
		int64_t secs;
	} good[] = {{"90s", 90},     {"30m", 1800},     {"6h", 21600},  {"1d", 86400},
		    {"2w", 1209600}, {"PT6H", 21600},   {"P1D", 86400}, {"P1DT12H", 129600},
		    {"PT90M", 5400}, {"P1WT1S", 604801}};
	static const char *const bad[] = {"",     "1",      "h",   "1.5h",       "1x",
					  "1h2",  "P",      "PT",  "P1H",        "PT1D",
					  "P1DT", "PT1S1M", "-1h", "1234567890s"};
	int64_t v;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(mon_eval_parse_duration(good[i].s, &v) == 0, "%s", good[i].s);
		ck_assert_int_eq(v, good[i].secs);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(mon_eval_parse_duration(bad[i], &v) == -EINVAL, "%s", bad[i]);
}
END_TEST

START_TEST(test_mon_eval_settings_parse_strips_and_validates)
{
	cJSON *spec = cJSON_Parse("{\"name\": \"m\", \"evaluation_period\": \"6h\", "
				  "\"lateness\": 0, \"label_complete\": 0.5, \"fn_cost\": 10, "
				  "\"features\": []}");
	struct mon_eval_settings e, def;
	struct col_diag d = {"", ""};
	cJSON *rest = NULL;

	ck_assert_int_eq(mon_eval_settings_parse(spec, &e, &rest, &d), 0);
	ck_assert_int_eq(e.period_s, 21600);
	ck_assert_int_eq(e.lateness_s, 0);
	ck_assert(e.label_complete == 0.5 && e.fn_cost == 10 && e.fp_cost == 1);
	ck_assert_int_eq(cJSON_GetArraySize(rest), 2);               /* name, features */
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(spec, "fn_cost")); /* spec untouched */
	cJSON_Delete(rest);
	cJSON_Delete(spec);

	spec = cJSON_Parse("{\"name\": \"m\"}");
	ck_assert_int_eq(mon_eval_settings_parse(spec, &e, &rest, &d), 0);
	mon_eval_settings_init(&def);
	ck_assert(mon_eval_settings_equal(&e, &def));
	ck_assert_int_eq(e.period_s, 86400);
	cJSON_Delete(rest);
	cJSON_Delete(spec);

	static const struct {
		const char *doc, *pointer;
	} bad[] = {
		{"{\"evaluation_period\": 1800}", "/evaluation_period"},
		{"{\"evaluation_period\": \"31d\"}", "/evaluation_period"},
		{"{\"evaluation_period\": 3600.5}", "/evaluation_period"},
		{"{\"evaluation_period\": true}", "/evaluation_period"},
		{"{\"lateness\": \"later\"}", "/lateness"},
		{"{\"label_complete\": 0}", "/label_complete"},
		{"{\"label_complete\": 1.5}", "/label_complete"},
		{"{\"fn_cost\": -1}", "/fn_cost"},
		{"{\"fp_cost\": \"1\"}", "/fp_cost"},
		{"{\"fp_cost\": 1, \"fp_cost\": 2}", "/fp_cost"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		spec = cJSON_Parse(bad[i].doc);
		ck_assert_ptr_nonnull(spec);
		ck_assert_msg(mon_eval_settings_parse(spec, &e, &rest, &d) == -EINVAL, "%s",
			      bad[i].doc);
		ck_assert_ptr_null(rest);
		ck_assert_str_eq(d.pointer, bad[i].pointer);
		cJSON_Delete(spec);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mon_evaluate");
	TCase *tc = tcase_create("mon_evaluate");
	TCase *ts = tcase_create("mon_eval_settings");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_mon_evaluate_all_data_drift_equals_drift_report);
	tcase_add_test(tc, test_mon_evaluate_missing_rates_per_segment);
	tcase_add_test(tc, test_mon_evaluate_bh_across_the_whole_family);
	tcase_add_test(tc, test_mon_evaluate_small_groups_are_insufficient);
	tcase_add_test(tc, test_mon_evaluate_status_follows_coverage);
	tcase_add_test(tc, test_mon_evaluate_estimate_then_error);
	tcase_add_test(tc, test_mon_evaluate_final_window_estimate_has_no_interval);
	tcase_add_test(tc, test_mon_evaluate_empty_window_and_volume);
	tcase_add_test(tc, test_mon_evaluate_segment_values_are_capped);
	tcase_add_test(tc, test_mon_evaluate_reference_baseline);
	tcase_add_test(ts, test_mon_eval_parse_duration_forms);
	tcase_add_test(ts, test_mon_eval_settings_parse_strips_and_validates);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, ts);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
