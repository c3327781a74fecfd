/* SPDX-License-Identifier: MIT
 * stats/interval.c - placeholder until implemented (see stats/interval.h)
 */
#include "stats/interval.h"
double stats_z_for_conf(double c) { (void)c; return 0; }
int stats_wilson(size_t k, size_t n, double c, struct stats_ci *o) { (void)k;(void)n;(void)c;(void)o; return -ENOSYS; }
int stats_newcombe_diff(size_t k1, size_t n1, size_t k2, size_t n2, double c, struct stats_ci *o) { (void)k1;(void)n1;(void)k2;(void)n2;(void)c;(void)o; return -ENOSYS; }
