/* SPDX-License-Identifier: MIT
 * stats/multitest.c - placeholder until implemented (see stats/multitest.h)
 */
#include "stats/multitest.h"
int stats_bh(const double *p, size_t n, double *q) { (void)p;(void)n;(void)q; return -ENOSYS; }
