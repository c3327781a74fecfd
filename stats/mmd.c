/* SPDX-License-Identifier: MIT
 * stats/mmd.c - placeholder until implemented (see stats/mmd.h)
 */
#include "stats/mmd.h"
int stats_mmd(const double *x, size_t n, const double *y, size_t m, size_t d, const struct stats_mmd_opts *o, int *u, struct stats_mmd *out) { (void)x;(void)n;(void)y;(void)m;(void)d;(void)o;(void)u;(void)out; return -ENOSYS; }
