/* SPDX-License-Identifier: MIT
 * stats/chisq.c - placeholder until implemented (see stats/chisq.h)
 */
#include "stats/chisq.h"
int stats_chisq_2xk(const size_t *r, const size_t *c, size_t k, struct stats_chisq *o) { (void)r;(void)c;(void)k;(void)o; return -ENOSYS; }
