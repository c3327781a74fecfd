/* SPDX-License-Identifier: MIT
 * stats/psi.h - binned drift measures: quantile edges, PSI, Jensen-Shannon distance
 *
 * Numeric PSI uses STATS_PSI_BINS bins whose STATS_PSI_BINS-1 inner edges are the
 * reference's quantiles k/10 (linear interpolation, numpy.quantile's default), with open
 * outer bins. A value v falls in bin b = #{edges e : e <= v} (numpy.histogram's [a, b)
 * convention with -inf and +inf outer edges). Proportions of 0 are replaced by
 * STATS_PSI_FLOOR before PSI = sum (c - r) * ln(c / r) (Yurdakul 2018).
 */
#ifndef STATS_PSI_H
#define STATS_PSI_H
#include "stats/common.h"

#define STATS_PSI_BINS 10
#define STATS_PSI_FLOOR 1e-4

/* The q-quantile (0 <= q <= 1) of sorted[0..n), numpy 'linear' method. n >= 1. */
int stats_quantile_sorted(const double *sorted, size_t n, double q, double *out) STATS_MUSTCHECK;

/* The STATS_PSI_BINS-1 decile edges of x[0..n) (unsorted, no NaN, n >= 1), computed by
 * selection without a full sort. x is not modified (a copy is made: -ENOMEM possible). */
int stats_decile_edges(const double *x, size_t n, double edges[STATS_PSI_BINS - 1]) STATS_MUSTCHECK;

/* Same from an already sorted sample (no allocation). */
int stats_decile_edges_sorted(const double *sorted, size_t n,
			      double edges[STATS_PSI_BINS - 1]) STATS_MUSTCHECK;

/* counts[0..nedges] = histogram of x[0..n) on the open-ended bins defined by the
 * ascending edges[0..nedges). counts is overwritten. */
int stats_bin_counts(const double *x, size_t n, const double *edges, size_t nedges,
		     size_t *counts) STATS_MUSTCHECK;

/* PSI between two histograms of k bins (reference first). Proportions are count/total;
 * an empty bin's proportion is replaced by floor. Returns -EINVAL when a total is 0. */
int stats_psi_counts(const size_t *ref, const size_t *cur, size_t k, double floor,
		     double *psi) STATS_MUSTCHECK;

/* Jensen-Shannon distance, base 2 (sqrt of the divergence; in [0, 1]), between the
 * proportions of two histograms of k bins; no floor is applied (0 * log 0 = 0), as
 * scipy.spatial.distance.jensenshannon(p, q, base=2). -EINVAL when a total is 0. */
int stats_js_counts(const size_t *ref, const size_t *cur, size_t k, double *js) STATS_MUSTCHECK;

#endif /* STATS_PSI_H */
