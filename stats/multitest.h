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

/* q[i] = min_{j: p_(j) >= p_i} min(1, p_(j) * n / rank(j)). p and q may alias.
 * NaN p-values are not allowed (leave untested features out of the family).
 * Allocates n indices of scratch. Returns 0, -EINVAL, or -ENOMEM. */
int stats_bh(const double *p, size_t n, double *q) STATS_MUSTCHECK;

#endif /* STATS_MULTITEST_H */
