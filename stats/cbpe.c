/* SPDX-License-Identifier: MIT
 * stats/cbpe.c - placeholder until implemented (see stats/cbpe.h)
 */
#include "stats/cbpe.h"
int stats_cbpe_estimate(const struct stats_isotonic *cal, const double *s, size_t n, double t, double c, size_t d, uint64_t seed, struct stats_cbpe *o) { (void)cal;(void)s;(void)n;(void)t;(void)c;(void)d;(void)seed;(void)o; return -ENOSYS; }
