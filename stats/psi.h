/* SPDX-License-Identifier: MIT
 * stats/psi.h - binned drift measures: quantile edges, PSI, Jensen-Shannon distance
 *
 * Numeric PSI uses STATS_PSI_BINS bins whose STATS_PSI_BINS-1 inner edges are the
 * reference's quantiles k/10 (linear interpolation, numpy.quantile's default), with open
 * outer bins. A value v falls in bin b = #{edges e : e <= v} (numpy.histogram's [a, b)
 * convention with -inf and +inf outer edges). Proportions of 0 are replaced by
 * STATS_PSI_FLOOR before PSI = sum (c - r) * ln(c / r) (Yurdakul 2018).
 *
 * The deciles are q = k/10 as doubles (numpy: np.arange(1, 10) / 10, not np.linspace,
 * whose 0.3 and 0.7 differ in the last bit). Quantiles reproduce numpy 'linear'
 * operation for operation: h = (n - 1) q, g = h - floor(h), neighbours a = x_(floor h),
 * b = x_(floor h + 1) (both x_(n-1) when h >= n - 1), value a + (b - a) g, or
 * b - (b - a)(1 - g) when g >= 0.5. Equal neighbours give their value (numpy would give
 * NaN for two equal infinities). Tied data can make edges equal: the bins between equal
 * edges are then empty and a value equal to them goes to the highest such bin.
 */
#ifndef STATS_PSI_H
#define STATS_PSI_H
#include "stats/common.h"

#define STATS_PSI_BINS 10
#define STATS_PSI_FLOOR 1e-4

/* The q-quantile (0 <= q <= 1) of sorted[0..n), numpy 'linear' method. n >= 1.
 * Returns 0, or -EINVAL (NULL, n == 0, q outside [0, 1] or NaN). */
int stats_quantile_sorted(const double *sorted, size_t n, double q, double *out) STATS_MUSTCHECK;

/* The STATS_PSI_BINS-1 decile edges of x[0..n) (unsorted, no NaN, n >= 1), computed by
 * selection without a full sort (radix select on the bit patterns: two reads of x, then
 * work on the few percent of values near the deciles). x is not modified; allocates a
 * 576 KiB table plus two copies of the values in the deciles' top-level buckets (up to
 * 2n doubles for data in a very narrow range). Returns 0, -EINVAL or -ENOMEM. */
int stats_decile_edges(const double *x, size_t n, double edges[STATS_PSI_BINS - 1]) STATS_MUSTCHECK;

/* Same from an already sorted sample (no allocation). Returns 0 or -EINVAL. */
int stats_decile_edges_sorted(const double *sorted, size_t n,
			      double edges[STATS_PSI_BINS - 1]) STATS_MUSTCHECK;

/* counts[0..nedges] = histogram of x[0..n) on the open-ended bins defined by the
 * ascending edges[0..nedges): counts[b] = #{v : exactly b edges are <= v}. counts is
 * overwritten (all zero for n == 0). Returns 0, or -EINVAL for NULL pointers or edges
 * that are not non-decreasing (or are NaN). */
int stats_bin_counts(const double *x, size_t n, const double *edges, size_t nedges,
		     size_t *counts) STATS_MUSTCHECK;

/* PSI between two histograms of k bins (reference first). Proportions are count/total;
 * an empty bin's proportion is replaced by floor (0 < floor < 1, else -EINVAL; the
 * proportions are not renormalised afterwards). Returns -EINVAL when a total is 0 or
 * k == 0. */
int stats_psi_counts(const size_t *ref, const size_t *cur, size_t k, double floor,
		     double *psi) STATS_MUSTCHECK;

/* Jensen-Shannon distance, base 2 (sqrt of the divergence; in [0, 1]), between the
 * proportions of two histograms of k bins; no floor is applied (0 * log 0 = 0), as
 * scipy.spatial.distance.jensenshannon(p, q, base=2). A divergence that rounds below 0
 * (near-identical histograms) gives 0 where scipy gives NaN. -EINVAL when a total is 0
 * or k == 0. */
int stats_js_counts(const size_t *ref, const size_t *cur, size_t k, double *js) STATS_MUSTCHECK;

#endif /* STATS_PSI_H */
