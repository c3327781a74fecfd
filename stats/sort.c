/* SPDX-License-Identifier: MIT
 * stats/sort.c - placeholder until implemented (see stats/sort.h)
 */
#include "stats/sort.h"
int stats_sort(double *v, size_t n) { (void)v; (void)n; return -ENOSYS; }
int stats_argsort(const double *k, size_t n, uint32_t *i) { (void)k; (void)n; (void)i; return -ENOSYS; }
