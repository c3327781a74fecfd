/* SPDX-License-Identifier: MIT
 * tests/check_mmd.c - stats_mmd: golden values, permutation p-values, edge cases
 *
 * MMD^2_u, sigma, features used and row counts are compared with an independent numpy
 * implementation (tests/fixtures/gen_mmd.py, numpy 1.24; mmd_ref.h). The p-values depend on
 * GSL's MT19937, so they are checked by their properties and against a slow direct
 * recomputation here that follows the procedure documented in stats/mmd.h: the same draws
 * (gsl_ran_choose to subsample, gsl_ran_shuffle per permutation) and an O(N^2) kernel sum
 * per permutation, to be compared with the library's quadratic forms.
 */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "stats/mmd.h"
#include "tests/fixtures/mmd_ref.h"

#define REL_TOL 1e-10 /* against numpy */

static void assert_rel(double got, double want, double rel, const char *what, const char *name)
{
	ck_assert_msg(fabs(got - want) <= rel * fabs(want), "%s %s: got %.17g, want %.17g", name,
		      what, got, want);
}

static int same_bits(double a, double b)
{
	uint64_t x, y;

	memcpy(&x, &a, sizeof(x));
	memcpy(&y, &b, sizeof(y));
	return x == y;
}

/* every field equal, the doubles bit for bit */
static void assert_same_result(const struct stats_mmd *a, const struct stats_mmd *b)
{
	ck_assert(same_bits(a->mmd2, b->mmd2));
	ck_assert(same_bits(a->sigma, b->sigma));
	ck_assert(same_bits(a->p_value, b->p_value));
	ck_assert_uint_eq(a->permutations, b->permutations);
	ck_assert_uint_eq(a->n_reference, b->n_reference);
	ck_assert_uint_eq(a->n_current, b->n_current);
	ck_assert_uint_eq(a->dropped_reference, b->dropped_reference);
	ck_assert_uint_eq(a->dropped_current, b->dropped_current);
	ck_assert_int_eq(a->subsampled, b->subsampled);
}

static int run(const struct mmd_ref_case *c, size_t perms, uint64_t seed, int *used,
	       struct stats_mmd *out)
{
	struct stats_mmd_opts o = {perms, seed, 0};

	return stats_mmd(c->x, c->n, c->y, c->m, c->d, &o, used, out);
}

static const struct mmd_ref_case *ref_case(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(mmd_ref_cases) / sizeof(mmd_ref_cases[0]); i++)
		if (!strcmp(mmd_ref_cases[i].name, name))
			return &mmd_ref_cases[i];
	ck_abort_msg("no fixture %s", name);
	return NULL;
}

START_TEST(test_mmd_matches_reference)
{
	const struct mmd_ref_case *c = &mmd_ref_cases[_i];
	int used[MMD_REF_MAX_D];
	struct stats_mmd out;
	size_t j;

	ck_assert_int_eq(run(c, 50, 7, used, &out), 0);
	for (j = 0; j < c->d; j++)
		ck_assert_msg(used[j] == c->used[j], "%s used[%zu]", c->name, j);
	ck_assert_uint_eq(out.n_reference, c->n_reference);
	ck_assert_uint_eq(out.n_current, c->n_current);
	ck_assert_uint_eq(out.dropped_reference, c->dropped_reference);
	ck_assert_uint_eq(out.dropped_current, c->dropped_current);
	ck_assert_int_eq(out.subsampled, 0);
	assert_rel(out.mmd2, c->mmd2, REL_TOL, "mmd2", c->name);
	assert_rel(out.sigma, c->sigma, REL_TOL, "sigma", c->name);
	ck_assert_uint_eq(out.permutations, 50);
}
END_TEST

/* p in {1, ..., P + 1} / (P + 1) */
static void assert_p_valid(const struct stats_mmd *out, size_t perms)
{
	double k = out->p_value * (double)(perms + 1);

	ck_assert_double_ge(out->p_value, 1.0 / (double)(perms + 1));
	ck_assert_double_le(out->p_value, 1.0);
	ck_assert_double_eq_tol(k, round(k), 1e-9);
}

START_TEST(test_mmd_pvalue_in_range)
{
	const struct mmd_ref_case *c = &mmd_ref_cases[_i];
	int used[MMD_REF_MAX_D];
	struct stats_mmd out;

	ck_assert_int_eq(run(c, 99, 3, used, &out), 0);
	assert_p_valid(&out, 99);
}
END_TEST

START_TEST(test_mmd_pvalue_reproducible)
{
	const struct mmd_ref_case *c = ref_case("same");
	struct stats_mmd a, b, other;
	int used[MMD_REF_MAX_D];

	ck_assert_int_eq(run(c, 200, 12345, used, &a), 0);
	ck_assert_int_eq(run(c, 200, 12345, used, &b), 0);
	assert_same_result(&a, &b);
	/* another seed: the same statistic, other permutations */
	ck_assert_int_eq(run(c, 200, 54321, used, &other), 0);
	ck_assert(same_bits(a.mmd2, other.mmd2));
	ck_assert(same_bits(a.sigma, other.sigma));
}
END_TEST

START_TEST(test_mmd_shift_pvalue_minimal)
{
	int used[MMD_REF_MAX_D];
	struct stats_mmd out;

	ck_assert_int_eq(run(ref_case("shift"), 200, 1, used, &out), 0);
	ck_assert_double_eq(out.p_value, 1.0 / 201.0);
}
END_TEST

START_TEST(test_mmd_heart_sites_differ)
{
	int used[MMD_REF_MAX_D];
	struct stats_mmd out;

	ck_assert_int_eq(run(ref_case("heart_hungarian"), 100, 1, used, &out), 0);
	ck_assert_double_eq(out.p_value, 1.0 / 101.0);
	ck_assert_int_eq(run(ref_case("heart_va"), 100, 1, used, &out), 0);
	ck_assert_double_eq(out.p_value, 1.0 / 101.0);
}
END_TEST

START_TEST(test_mmd_same_distribution_pvalue_not_small)
{
	int used[MMD_REF_MAX_D];
	struct stats_mmd out;
	uint64_t seed;

	/* two halves of one random sample: the statistic is below the permutation median */
	for (seed = 1; seed <= 3; seed++) {
		ck_assert_int_eq(run(ref_case("same"), 200, seed, used, &out), 0);
		ck_assert_double_gt(out.p_value, 0.05);
	}
}
END_TEST

/* --- direct recomputation of the documented procedure --- */

struct bf {
	double *z; /* N x du, pooled standardised rows */
	size_t N, n, du;
	double ngamma, sigma, mmd2, tol;
};

static double bf_sqdist(const struct bf *b, size_t i, size_t j)
{
	double s = 0.0;
	size_t k;

	for (k = 0; k < b->du; k++) {
		double t = b->z[i * b->du + k] - b->z[j * b->du + k];

		s += t * t;
	}
	return s;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* MMD^2_u of the split ref[i] = 1 (n rows) / 0, summed pair by pair with libm's exp */
static double bf_mmd2(const struct bf *b, const unsigned char *ref)
{
	double sxx = 0.0, syy = 0.0, sxy = 0.0, n = (double)b->n, m = (double)(b->N - b->n);
	size_t i, j;

	for (i = 0; i < b->N; i++)
		for (j = i + 1; j < b->N; j++) {
			double k = exp(b->ngamma * bf_sqdist(b, i, j));

			if (ref[i] && ref[j])
				sxx += k;
			else if (!ref[i] && !ref[j])
				syy += k;
			else
				sxy += k;
		}
	return 2.0 * sxx / (n * (n - 1.0)) + 2.0 * syy / (m * (m - 1.0)) - 2.0 * sxy / (n * m);
}

static void *xmalloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);

	ck_assert_ptr_nonnull(p);
	return p;
}

/* step 5 on the row indices keep[0..*count) */
static void bf_choose(gsl_rng *r, size_t *keep, size_t *count, size_t max_rows)
{
	size_t *sel;

	if (*count <= max_rows)
		return;
	sel = xmalloc(max_rows * sizeof(*sel));
	gsl_ran_choose(r, sel, max_rows, keep, *count, sizeof(*keep));
	memcpy(keep, sel, max_rows * sizeof(*sel));
	free(sel);
	*count = max_rows;
}

/* Steps 3-8 of stats/mmd.h for inputs without NaN or constant columns. Returns p. */
static double bf_run(const double *x, size_t n, const double *y, size_t m, size_t d,
		     const struct stats_mmd_opts *o, struct bf *b)
{
	size_t *kx = xmalloc(n * sizeof(*kx)), *ky = xmalloc(m * sizeof(*ky)), *idx;
	size_t nx = n, ny = m, i, j, k, p, np, ge = 0;
	double *mean = xmalloc(d * sizeof(double)), *sd = xmalloc(d * sizeof(double)), *pairs, S;
	unsigned char *ref;
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);

	ck_assert_ptr_nonnull(r);
	for (i = 0; i < n; i++)
		kx[i] = i;
	for (i = 0; i < m; i++)
		ky[i] = i;
	/* 3: moments over all reference rows, before subsampling */
	for (j = 0; j < d; j++) {
		for (i = 0; i < n; i++)
			mean[j] += x[i * d + j];
		mean[j] /= (double)n;
		for (i = 0; i < n; i++)
			sd[j] += (x[i * d + j] - mean[j]) * (x[i * d + j] - mean[j]);
		sd[j] = sqrt(sd[j] / (double)(n - 1));
	}
	/* 4, 5 */
	gsl_rng_set(r, (unsigned long)(o->seed ^ (o->seed >> 32)));
	bf_choose(r, kx, &nx, o->max_rows);
	bf_choose(r, ky, &ny, o->max_rows);
	/* 6 */
	b->N = nx + ny;
	b->n = nx;
	b->du = d;
	b->z = xmalloc(b->N * d * sizeof(double));
	for (i = 0; i < b->N; i++)
		for (j = 0; j < d; j++) {
			double v = i < nx ? x[kx[i] * d + j] : y[ky[i - nx] * d + j];

			b->z[i * d + j] = (v - mean[j]) / sd[j];
		}
	np = nx * (nx - 1) / 2;
	pairs = xmalloc(np * sizeof(double));
	for (i = 0, k = 0; i < nx; i++)
		for (j = i + 1; j < nx; j++)
			pairs[k++] = bf_sqdist(b, i, j);
	qsort(pairs, np, sizeof(double), cmp_double);
	b->sigma = sqrt(pairs[(np - 1) / 2] / 2.0);
	b->ngamma = -1.0 / pairs[(np - 1) / 2];
	free(pairs);
	/* 7 */
	ref = xmalloc(b->N);
	idx = xmalloc(b->N * sizeof(*idx));
	memset(ref, 1, nx);
	b->mmd2 = bf_mmd2(b, ref);
	S = (double)b->N;
	for (i = 0; i < b->N; i++)
		for (j = i + 1; j < b->N; j++)
			S += 2.0 * exp(b->ngamma * bf_sqdist(b, i, j));
	b->tol = 1e-9 * S / ((double)b->N * (double)b->N);
	/* 8 */
	for (p = 0; p < o->permutations; p++) {
		for (i = 0; i < b->N; i++)
			idx[i] = i;
		gsl_ran_shuffle(r, idx, b->N, sizeof(*idx));
		memset(ref, 0, b->N);
		for (i = 0; i < nx; i++)
			ref[idx[i]] = 1;
		ge += bf_mmd2(b, ref) >= b->mmd2 - b->tol;
	}
	free(idx);
	free(ref);
	gsl_rng_free(r);
	free(sd);
	free(mean);
	free(ky);
	free(kx);
	return (1.0 + (double)ge) / (1.0 + (double)o->permutations);
}

/* Pseudo-random rows; with levels > 0, values from {0, ..., levels - 1} (duplicate rows,
 * hence exactly tied permutation statistics). */
static double *make_rows(gsl_rng *r, size_t rows, size_t d, double shift, unsigned levels)
{
	double *v = xmalloc(rows * d * sizeof(*v));
	size_t i;

	for (i = 0; i < rows * d; i++)
		v[i] = levels ? (double)gsl_rng_uniform_int(r, levels) + shift
			      : gsl_ran_gaussian(r, 1.0) + shift;
	return v;
}

struct bf_shape {
	size_t n, m, d, perms, max_rows;
	double shift;
	unsigned levels;
};

/* Balanced and unbalanced (the reference inside or beyond the first half of the pooled
 * rows), odd N, ties, more than one permutation batch (P > 127), subsampling. */
static const struct bf_shape bf_shapes[] = {
	{2, 2, 2, 60, 2000, 0.0, 0},    /* 6 distinct splits, X/Y swaps tie */
	{13, 12, 3, 150, 2000, 0.3, 0}, /* odd N, two batches */
	{5, 20, 2, 100, 2000, 0.5, 0},  /* reference inside the first half */
	{20, 5, 4, 100, 2000, 0.5, 0},  /* reference beyond the first half */
	{10, 10, 2, 300, 2000, 0.0, 3}, /* duplicate rows, three batches */
	{9, 8, 1, 200, 2000, 0.0, 4},   /* one feature, duplicates */
	{30, 25, 3, 60, 12, 0.4, 0},    /* both samples subsampled */
	{11, 40, 2, 60, 16, 0.2, 0},    /* only the current sample subsampled */
};

START_TEST(test_mmd_pvalue_matches_brute_force)
{
	const struct bf_shape *s = &bf_shapes[_i];
	struct stats_mmd_opts o = {s->perms, 1000 + (uint64_t)_i, s->max_rows};
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	struct stats_mmd out;
	struct bf b;
	double *x, *y, p;
	int used[8];

	gsl_rng_set(r, 77 + (unsigned long)_i);
	x = make_rows(r, s->n, s->d, 0.0, s->levels);
	y = make_rows(r, s->m, s->d, s->shift, s->levels);
	ck_assert_int_eq(stats_mmd(x, s->n, y, s->m, s->d, &o, used, &out), 0);
	p = bf_run(x, s->n, y, s->m, s->d, &o, &b);
	ck_assert_uint_eq(out.n_reference, b.n);
	ck_assert_uint_eq(out.n_current, b.N - b.n);
	ck_assert_int_eq(out.subsampled, s->n > s->max_rows || s->m > s->max_rows);
	assert_rel(out.sigma, b.sigma, 1e-12, "sigma", "brute force");
	ck_assert_double_eq_tol(out.mmd2, b.mmd2, 1e-12);
	ck_assert_msg(out.p_value == p, "shape %d: p %.17g, direct %.17g", _i, out.p_value, p);
	assert_p_valid(&out, s->perms);
	free(b.z);
	free(y);
	free(x);
	gsl_rng_free(r);
}
END_TEST

START_TEST(test_mmd_subsampling_caps_rows)
{
	const struct mmd_ref_case *c = ref_case("heart_hungarian");
	struct stats_mmd_opts o = {20, 5, 100};
	struct stats_mmd out;
	int used[MMD_REF_MAX_D];

	ck_assert_int_eq(stats_mmd(c->x, c->n, c->y, c->m, c->d, &o, used, &out), 0);
	ck_assert_int_eq(out.subsampled, 1);
	ck_assert_uint_eq(out.n_reference, 100);
	ck_assert_uint_eq(out.n_current, 100);
	ck_assert_uint_eq(out.dropped_current, c->dropped_current);
	/* a limit above both samples changes nothing */
	o.max_rows = 1000;
	ck_assert_int_eq(stats_mmd(c->x, c->n, c->y, c->m, c->d, &o, used, &out), 0);
	ck_assert_int_eq(out.subsampled, 0);
	ck_assert_uint_eq(out.n_reference, c->n_reference);
}
END_TEST

START_TEST(test_mmd_no_permutations_gives_p_one)
{
	int used[MMD_REF_MAX_D];
	struct stats_mmd out;

	ck_assert_int_eq(run(ref_case("shift"), 0, 1, used, &out), 0);
	ck_assert_double_eq(out.p_value, 1.0);
	ck_assert_uint_eq(out.permutations, 0);
	assert_rel(out.mmd2, ref_case("shift")->mmd2, REL_TOL, "mmd2", "shift");
}
END_TEST

START_TEST(test_mmd_null_opts_uses_defaults)
{
	const struct mmd_ref_case *c = ref_case("same");
	struct stats_mmd_opts o = {STATS_MMD_DEFAULT_PERMUTATIONS, 0, 0};
	struct stats_mmd a, b;
	int used[MMD_REF_MAX_D];

	ck_assert_int_eq(stats_mmd(c->x, c->n, c->y, c->m, c->d, NULL, used, &a), 0);
	ck_assert_int_eq(stats_mmd(c->x, c->n, c->y, c->m, c->d, &o, used, &b), 0);
	ck_assert_uint_eq(a.permutations, STATS_MMD_DEFAULT_PERMUTATIONS);
	assert_same_result(&a, &b);
}
END_TEST

START_TEST(test_mmd_one_row_is_edom)
{
	const double x[] = {1, 2}, y[] = {1, 2, 3, 4, 5, 6};
	const double xn[] = {1, 2, NAN, 3, 4, 5}; /* 3 rows, 2 of them with a NaN */
	const double xn2[] = {1, 2, NAN, 3, 4, NAN};
	int used[2];
	struct stats_mmd out;

	ck_assert_int_eq(stats_mmd(x, 1, y, 3, 2, NULL, used, &out), -EDOM);
	ck_assert_int_eq(stats_mmd(y, 3, x, 1, 2, NULL, used, &out), -EDOM);
	ck_assert_int_eq(stats_mmd(xn2, 3, y, 3, 2, NULL, used, &out), -EDOM);
	ck_assert_uint_eq(out.dropped_reference, 2);
	/* with 2 rows left it works */
	ck_assert_int_eq(stats_mmd(xn, 3, y, 3, 2, NULL, used, &out), 0);
	ck_assert_uint_eq(out.dropped_reference, 1);
	ck_assert_uint_eq(out.n_reference, 2);
}
END_TEST

START_TEST(test_mmd_no_usable_feature_is_edom)
{
	const double x[] = {1, 5, 1, 5, 1, 5}, y[] = {1, 2, 3, 4, 5, 6};
	const double xnan[] = {NAN, 5, 1, NAN, NAN, NAN};
	int used[2] = {7, 7};
	struct stats_mmd out;

	ck_assert_int_eq(stats_mmd(x, 3, y, 3, 2, NULL, used, &out), -EDOM);
	ck_assert_int_eq(used[0], 0);
	ck_assert_int_eq(used[1], 0);
	/* one value per column: the standard deviation is undefined */
	ck_assert_int_eq(stats_mmd(xnan, 3, y, 3, 2, NULL, used, &out), -EDOM);
	ck_assert_int_eq(used[0] + used[1], 0);
}
END_TEST

START_TEST(test_mmd_coinciding_reference_is_edom)
{
	/* 6 of the 10 reference pairs coincide: the lower median distance is 0 */
	const double x[] = {0, 0, 0, 0, 1}, y[] = {0, 1, 2};
	int used[1];
	struct stats_mmd out;

	ck_assert_int_eq(stats_mmd(x, 5, y, 3, 1, NULL, used, &out), -EDOM);
	ck_assert_int_eq(used[0], 1);
}
END_TEST

START_TEST(test_mmd_feature_constant_after_dropping)
{
	/* column 1 varies only in reference row 0, which column 0's NaN drops */
	const double x[] = {NAN, 9, 1, 2, 2, 2, 3, 2, 4, 2}, y[] = {1, 7, 2, 8, 5, 9};
	int used[2];
	struct stats_mmd out;

	ck_assert_int_eq(stats_mmd(x, 5, y, 3, 2, NULL, used, &out), 0);
	ck_assert_int_eq(used[0], 1);
	ck_assert_int_eq(used[1], 0);
	ck_assert_uint_eq(out.dropped_reference, 1);
	ck_assert_uint_eq(out.n_reference, 4);
}
END_TEST

START_TEST(test_mmd_bad_arguments_are_einval)
{
	const double x[] = {1, 2, 3, 4}, y[] = {1, 2, 3, 5};
	const double xinf[] = {1, 2, INFINITY, 4};
	struct stats_mmd_opts o = {10, 1, 1};
	int used[1];
	struct stats_mmd out;

	ck_assert_int_eq(stats_mmd(NULL, 4, y, 4, 1, NULL, used, &out), -EINVAL);
	ck_assert_int_eq(stats_mmd(x, 4, NULL, 4, 1, NULL, used, &out), -EINVAL);
	ck_assert_int_eq(stats_mmd(x, 4, y, 4, 1, NULL, NULL, &out), -EINVAL);
	ck_assert_int_eq(stats_mmd(x, 4, y, 4, 1, NULL, used, NULL), -EINVAL);
	ck_assert_int_eq(stats_mmd(x, 0, y, 4, 1, NULL, used, &out), -EINVAL);
	ck_assert_int_eq(stats_mmd(x, 4, y, 0, 1, NULL, used, &out), -EINVAL);
	ck_assert_int_eq(stats_mmd(x, 4, y, 4, 0, NULL, used, &out), -EINVAL);
	ck_assert_int_eq(stats_mmd(x, 4, y, 4, 1, &o, used, &out), -EINVAL); /* max_rows 1 */
	ck_assert_int_eq(stats_mmd(xinf, 4, y, 4, 1, NULL, used, &out), -EINVAL);
	ck_assert_int_eq(stats_mmd(y, 4, xinf, 4, 1, NULL, used, &out), -EINVAL);
}
END_TEST

START_TEST(test_mmd_huge_values_are_edom)
{
	const double x[] = {1, 2, 3, 4}, y[] = {1, 2, 3, 1e300};
	int used[1];
	struct stats_mmd out;

	ck_assert_int_eq(stats_mmd(x, 4, y, 4, 1, NULL, used, &out), -EDOM);
}
END_TEST

static Suite *mmd_suite(void)
{
	Suite *s = suite_create("stats_mmd");
	TCase *tc = tcase_create("mmd");
	int ncases = (int)(sizeof(mmd_ref_cases) / sizeof(mmd_ref_cases[0]));
	int nshapes = (int)(sizeof(bf_shapes) / sizeof(bf_shapes[0]));

	tcase_set_timeout(tc, 120); /* valgrind */
	tcase_add_loop_test(tc, test_mmd_matches_reference, 0, ncases);
	tcase_add_loop_test(tc, test_mmd_pvalue_in_range, 0, ncases);
	tcase_add_test(tc, test_mmd_pvalue_reproducible);
	tcase_add_test(tc, test_mmd_shift_pvalue_minimal);
	tcase_add_test(tc, test_mmd_heart_sites_differ);
	tcase_add_test(tc, test_mmd_same_distribution_pvalue_not_small);
	tcase_add_loop_test(tc, test_mmd_pvalue_matches_brute_force, 0, nshapes);
	tcase_add_test(tc, test_mmd_subsampling_caps_rows);
	tcase_add_test(tc, test_mmd_no_permutations_gives_p_one);
	tcase_add_test(tc, test_mmd_null_opts_uses_defaults);
	tcase_add_test(tc, test_mmd_one_row_is_edom);
	tcase_add_test(tc, test_mmd_no_usable_feature_is_edom);
	tcase_add_test(tc, test_mmd_coinciding_reference_is_edom);
	tcase_add_test(tc, test_mmd_feature_constant_after_dropping);
	tcase_add_test(tc, test_mmd_bad_arguments_are_einval);
	tcase_add_test(tc, test_mmd_huge_values_are_edom);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mmd_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
