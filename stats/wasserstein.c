/* SPDX-License-Identifier: MIT
 * stats/wasserstein.c - placeholder until implemented (see stats/wasserstein.h)
 */
#include "stats/wasserstein.h"
int stats_wasserstein_sorted(const double *x, size_t n, const double *y, size_t m, double *o) { (void)x;(void)n;(void)y;(void)m;(void)o; return -ENOSYS; }
int stats_mean_sd(const double *x, size_t n, double *m, double *s) { (void)x;(void)n;(void)m;(void)s; return -ENOSYS; }
