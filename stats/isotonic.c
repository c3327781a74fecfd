/* SPDX-License-Identifier: MIT
 * stats/isotonic.c - placeholder until implemented (see stats/isotonic.h)
 */
#include "stats/isotonic.h"
int stats_isotonic_fit(const double *x, const double *y, size_t n, struct stats_isotonic **o) { (void)x;(void)y;(void)n;(void)o; return -ENOSYS; }
double stats_isotonic_predict(const struct stats_isotonic *m, double x) { (void)m; return x; }
void stats_isotonic_free(struct stats_isotonic *m) { (void)m; }
