/* SPDX-License-Identifier: MIT
 * stats/psi.c - placeholder until implemented (see stats/psi.h)
 */
#include "stats/psi.h"
int stats_quantile_sorted(const double *s, size_t n, double q, double *o) { (void)s;(void)n;(void)q;(void)o; return -ENOSYS; }
int stats_decile_edges(const double *x, size_t n, double e[STATS_PSI_BINS - 1]) { (void)x;(void)n;(void)e; return -ENOSYS; }
int stats_decile_edges_sorted(const double *x, size_t n, double e[STATS_PSI_BINS - 1]) { (void)x;(void)n;(void)e; return -ENOSYS; }
int stats_bin_counts(const double *x, size_t n, const double *e, size_t ne, size_t *c) { (void)x;(void)n;(void)e;(void)ne;(void)c; return -ENOSYS; }
int stats_psi_counts(const size_t *r, const size_t *c, size_t k, double f, double *p) { (void)r;(void)c;(void)k;(void)f;(void)p; return -ENOSYS; }
int stats_js_counts(const size_t *r, const size_t *c, size_t k, double *p) { (void)r;(void)c;(void)k;(void)p; return -ENOSYS; }
