/* SPDX-License-Identifier: MIT
 * stats/sort.h - fast ascending sorts of doubles (LSD radix on the IEEE-754 bit pattern)
 *
 * The samples in vigil are large (10^6 and more) and every distribution test starts by
 * sorting; a radix sort is several times faster than qsort here.
 */
#ifndef STATS_SORT_H
#define STATS_SORT_H
#include "stats/common.h"

/* Sort v[0..n) ascending in place. NaN must not be present (callers drop missing values
 * first); -0.0 sorts before +0.0, infinities at the ends. Allocates n doubles of scratch
 * and a 512 KiB bucket table (freed before return; nothing for n < 40).
 * Returns 0, -EINVAL (v NULL with n > 0), or -ENOMEM. */
int stats_sort(double *v, size_t n) STATS_MUSTCHECK;

/* Sort a[0..n) and b[0..m) as stats_sort does, the two at once on two threads when both are
 * large (the two samples of a two-sample test); sequentially otherwise or when a thread
 * cannot be started. Returns 0, or -ENOMEM. */
int stats_sort2(double *a, size_t n, double *b, size_t m) STATS_MUSTCHECK;

/* Sort keys ascending and return in idx[0..n) the permutation (idx[i] is the original
 * position of the i-th smallest key); the sort is stable, with -0.0 and +0.0 equal keys
 * (as numpy.argsort(kind='stable')), so equal values keep their input order. keys is not
 * modified; no NaN. Allocates 20 n bytes of scratch plus a 512 KiB bucket table.
 * Returns 0, -EINVAL (NULL, or n > UINT32_MAX), or -ENOMEM. */
int stats_argsort(const double *keys, size_t n, uint32_t *idx) STATS_MUSTCHECK;

#endif /* STATS_SORT_H */
