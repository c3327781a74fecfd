/* SPDX-License-Identifier: MIT
 * stats/mmd.h - multivariate drift: maximum mean discrepancy with a permutation test
 *
 * MMD^2_u (Gretton et al. 2012, JMLR 13, eq. 3), Gaussian kernel
 * k(x, y) = exp(-||x - y||^2 / (2 sigma^2)) on features standardised by the reference's
 * mean and sample standard deviation. sigma = sqrt(m / 2), m the lower median of the
 * squared distances between distinct pairs of reference rows. p = (1 + #{perm >= obs}) /
 * (1 + P) over P random permutations of the pooled rows (seeded, reproducible).
 */
#ifndef STATS_MMD_H
#define STATS_MMD_H
#include "stats/common.h"

#define STATS_MMD_DEFAULT_PERMUTATIONS 100
#define STATS_MMD_DEFAULT_MAX_ROWS 2000 /* per sample; larger samples are subsampled */

struct stats_mmd_opts {
	size_t permutations; /* 0 means no test: p_value is NaN-free 1.0 and permutations 0 */
	uint64_t seed;
	size_t max_rows; /* per sample; 0 means STATS_MMD_DEFAULT_MAX_ROWS */
};

struct stats_mmd {
	double mmd2;
	double sigma;
	double p_value;
	size_t permutations;
	size_t n_reference; /* rows used, after dropping missing and subsampling */
	size_t n_current;
	size_t dropped_reference; /* rows left out for a missing value */
	size_t dropped_current;
	int subsampled; /* 1 when either sample was subsampled to max_rows */
};

/* x: n rows, y: m rows, both row-major with d columns; NaN marks a missing value.
 * used[0..d) is set to 1 for each feature used and 0 for one left out because its
 * reference standard deviation is 0 (or undefined). Rows with any NaN in a used feature
 * are dropped. Allocates the kernel matrix (its strict upper triangle, about (n'+m')^2 / 2
 * doubles; see Memory below) and frees it.
 * Returns 0; -EDOM when fewer than 2 rows remain in a sample or no feature is usable;
 * -EINVAL; -ENOMEM.
 *
 * The steps, in order (n', m' are the rows used):
 *  1. Features: j is used when the reference has at least 2 non-missing values in column j
 *     and they are not all equal (zero variance is tested as equality, not as a computed
 *     variance of 0). No used feature: -EDOM.
 *  2. Rows: a row of x or y with a NaN in a used feature is dropped and counted in
 *     dropped_reference / dropped_current (NaN in an unused feature drops nothing).
 *     Fewer than 2 rows left in either sample: -EDOM.
 *  3. Standardisation: mean and standard deviation (divisor n - 1) of each used feature over
 *     the kept reference rows, all of them (before subsampling). A used feature that is
 *     constant on the kept rows (its variation was only in dropped rows) is left out too,
 *     used[j] = 0, and the rows dropped for it stay dropped.
 *  4. Random numbers: one gsl_rng_mt19937, gsl_rng_set(r, seed ^ (seed >> 32)) (MT19937
 *     takes 32 bits; GSL maps seed 0 to 4357). All draws below come from it, in this order.
 *  5. Subsampling: kept rows of x (then of y) numbering more than max_rows are reduced to
 *     max_rows by gsl_ran_choose(r, dst, max_rows, kept_indices, count, sizeof(size_t)),
 *     which keeps their order; subsampled = 1.
 *  6. Pooled rows: the used reference rows, then the used current rows, in input order
 *     (N = n' + m'), standardised as in 3. sigma = sqrt(med / 2), med element
 *     (n'(n'-1)/2 - 1) / 2 (0-based, integer division) of the ascending squared distances
 *     between distinct pooled rows i < j < n', i.e. on the standardised reference rows
 *     after subsampling. med == 0 (most reference rows coincide): -EDOM.
 *  7. mmd2 = Sum_{i!=j<n'} k / (n'(n'-1)) + Sum_{i!=j>=n'} k / (m'(m'-1))
 *            - 2 Sum_{i<n'<=j} k / (n'm'), computed in double (may be slightly negative).
 *  8. Permutations p = 1..P: an index array idx[t] = t (t < N) is reset, then
 *     gsl_ran_shuffle(r, idx, N, sizeof(size_t)); pooled rows idx[0..n') play the
 *     reference, the rest the current sample. Statistic 7 for each; a permuted value
 *     counts as >= the observed one when it is >= observed - 1e-9 * S / N^2 (S the sum of
 *     all N^2 kernel values, so S / N^2 is the mean kernel value), which makes exact ties
 *     (n' = m' swaps, duplicate rows) count despite rounding. p_value =
 *     (1 + count) / (1 + P); the permuted and the observed values compared there come out
 *     of the same computation.
 * Identical inputs and opts give bit-identical results on one machine (the exp kernel and
 * BLAS may round differently on another CPU).
 *
 * Memory: about (n'+m')^2 / 2 doubles for the kernel matrix (the strict upper triangle;
 * 64 MB at n' = m' = 2000) plus (n'+m') * min(P + 1, 128) doubles and bytes for the
 * permutation batch, freed before return. Infinite values anywhere in x or y: -EINVAL.
 * Values so large that squared norms overflow: -EDOM. opts NULL means the defaults
 * (STATS_MMD_DEFAULT_PERMUTATIONS, seed 0, STATS_MMD_DEFAULT_MAX_ROWS); max_rows 1 and
 * n, m or d of 0 are -EINVAL. out is zeroed first, and on an error holds only the counts
 * established before it. Thread-safe (no shared state; BLAS may use its own threads). */
int stats_mmd(const double *x, size_t n, const double *y, size_t m, size_t d,
	      const struct stats_mmd_opts *opts, int *used, struct stats_mmd *out) STATS_MUSTCHECK;

#endif /* STATS_MMD_H */
