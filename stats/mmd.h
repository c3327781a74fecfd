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
 * are dropped. Allocates the kernel matrix ((n'+m')^2 doubles) and frees it.
 * Returns 0; -EDOM when fewer than 2 rows remain in a sample or no feature is usable;
 * -EINVAL; -ENOMEM. */
int stats_mmd(const double *x, size_t n, const double *y, size_t m, size_t d,
	      const struct stats_mmd_opts *opts, int *used, struct stats_mmd *out) STATS_MUSTCHECK;

#endif /* STATS_MMD_H */
