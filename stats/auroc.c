/* SPDX-License-Identifier: MIT
 * stats/auroc.c - placeholder until implemented (see stats/auroc.h)
 */
#include "stats/auroc.h"
int stats_auroc_delong(const double *s, const uint8_t *l, size_t n, double c, struct stats_auroc *o) { (void)s;(void)l;(void)n;(void)c;(void)o; return -ENOSYS; }
int stats_auroc_delong_groups(const double *s, const uint8_t *l, const uint32_t *g, size_t n, size_t ng, double c, struct stats_auroc *o, int *st) { (void)s;(void)l;(void)g;(void)n;(void)ng;(void)c;(void)o;(void)st; return -ENOSYS; }
void stats_auroc_diff(const struct stats_auroc *a, const struct stats_auroc *b, double c, struct stats_ci *o) { (void)a;(void)b;(void)c;(void)o; }
