/* SPDX-License-Identifier: MIT
 * stats/ks.c - placeholder until implemented (see stats/ks.h)
 */
#include "stats/ks.h"
int stats_ks_2samp_sorted(const double *x, size_t n, const double *y, size_t m, struct stats_ks *o) { (void)x;(void)n;(void)y;(void)m;(void)o; return -ENOSYS; }
int stats_ks_2samp(const double *x, size_t n, const double *y, size_t m, struct stats_ks *o) { (void)x;(void)n;(void)y;(void)m;(void)o; return -ENOSYS; }
