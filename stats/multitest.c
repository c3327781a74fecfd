/* SPDX-License-Identifier: MIT
 * stats/multitest.c - Benjamini-Hochberg q-values
 *
 * Sort the p-values ascending, p_(1) <= ... <= p_(n); the raw adjusted value of rank i is
 * p_(i) n / i, and the q-value is its running minimum taken from the largest p down
 * (step-up), capped at 1, written back to each p-value's original position. Tied p-values
 * get the same q (the minimum covers the tie's highest rank), whatever the tie order.
 */
#include "stats/multitest.h"

#include <math.h>
#include <stdlib.h>

#include "stats/sort.h"

int stats_bh(const double *p, size_t n, double *q)
{
	uint32_t *idx;
	double run = 1.0;
	int ret;

	if (!p || !q)
		return -EINVAL;
	if (n == 0)
		return 0;
	if (n > UINT32_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!(p[i] >= 0.0 && p[i] <= 1.0)) /* NaN or out of range */
			return -EINVAL;
	idx = malloc(n * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	ret = stats_argsort(p, n, idx);
	if (ret) {
		free(idx);
		return ret;
	}
	/* From the top down each p[idx[i]] is read before q[idx[i]] is written, and no
	 * other position is touched, so p and q may alias. */
	for (size_t i = n; i-- > 0;) {
		double adj = p[idx[i]] * (double)n / (double)(i + 1);

		if (adj < run)
			run = adj;
		q[idx[i]] = run;
	}
	free(idx);
	return 0;
}
