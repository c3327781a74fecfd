/* SPDX-License-Identifier: MIT
 * stats/multitest.h - false discovery rate control across a family of tests
 *
 * Benjamini & Hochberg (1995) step-up q-values, as
 * statsmodels.stats.multitest.multipletests(method='fdr_bh')[1] and
 * scipy.stats.false_discovery_control(method='bh').
 */
#ifndef STATS_MULTITEST_H
#define STATS_MULTITEST_H
#include "stats/common.h"

/* q[i] = min_{j: p_(j) >= p_i} min(1, p_(j) * n / rank(j)), with p_(j) * n / rank(j)
 * evaluated in that order (statsmodels divides by rank/n and scipy 1.11 multiplies by
 * n/rank: the three agree to an ulp). Tied p-values get equal q-values. p and q may
 * alias. NaN p-values are not allowed (leave untested features out of the family).
 * Allocates n indices of scratch (plus stats_argsort's). n == 0 is a no-op.
 * Returns 0, -EINVAL (NULL, a p outside [0, 1] or NaN, n > UINT32_MAX), or -ENOMEM. */
int stats_bh(const double *p, size_t n, double *q) STATS_MUSTCHECK;

#endif /* STATS_MULTITEST_H */
