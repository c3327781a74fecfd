/* SPDX-License-Identifier: MIT
 * stats/perf.c - placeholder until implemented (see stats/perf.h)
 */
#include "stats/perf.h"
int stats_perf_eval(const double *s, const uint8_t *l, size_t n, double t, double c, struct stats_perf *o) { (void)s;(void)l;(void)n;(void)t;(void)c;(void)o; return -ENOSYS; }
