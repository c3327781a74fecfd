/* SPDX-License-Identifier: MIT
 * stats/calib.c - placeholder until implemented (see stats/calib.h)
 */
#include "stats/calib.h"
int stats_brier(const double *p, const uint8_t *y, size_t n, double *o) { (void)p;(void)y;(void)n;(void)o; return -ENOSYS; }
int stats_ece(const double *p, const uint8_t *y, size_t n, size_t b, double *o) { (void)p;(void)y;(void)n;(void)b;(void)o; return -ENOSYS; }
int stats_logistic_recalibration(const double *p, const uint8_t *y, size_t n, double *a, double *b) { (void)p;(void)y;(void)n;(void)a;(void)b; return -ENOSYS; }
