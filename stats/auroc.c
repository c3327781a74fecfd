/* SPDX-License-Identifier: MIT
 * stats/auroc.c - AUROC with DeLong's variance, for one sample or many groups in one sort
 *
 * With m positives X_i and n negatives Y_j, psi(x, y) = 1 if x > y, 1/2 if x == y, 0
 * otherwise, the placement values (DeLong et al. 1988; Sun & Xu 2014) are
 *	V10(X_i) = 1/n sum_j psi(X_i, Y_j)	(the share of negatives below positive i)
 *	V01(Y_j) = 1/m sum_i psi(X_i, Y_j)	(the share of positives above negative j)
 * and AUROC = mean V10 = mean V01 (Mann-Whitney U / mn). DeLong's variance, written as in
 * pROC 1.18 (var.roc / ci.auc with method = "delong"), uses the sample variances:
 *	S10 = sum_i (V10_i - auc)^2 / (m - 1),  S01 = sum_j (V01_j - auc)^2 / (n - 1),
 *	var = S10 / m + S01 / n,  interval = auc -/+ z sqrt(var) clipped to [0, 1].
 *
 * After one ascending sort, the observations with equal scores form tie blocks. For a
 * positive in a block, V10 = (negatives strictly below + negatives in the block / 2) / n;
 * for a negative, V01 = (positives strictly above + positives in the block / 2) / m. One
 * sweep over the sorted order with running per-group counts gives every placement value
 * in O(N) for all groups at once. The values are kept in units of 1/2n (1/2m), where they
 * are integers, so the AUROC itself is an exact integer ratio; the variance is summed in a
 * second, sequential pass around that exact mean (no sum-of-squares cancellation).
 *
 * The sort is a local LSD radix sort of (order-preserving key, group << 1 | label) pairs
 * rather than stats_argsort: it carries label and group along with the key, so the sweep
 * reads memory sequentially instead of gathering three arrays through a permutation.
 */
#include "stats/auroc.h"
#include "stats/interval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)
#define RADIX_PASSES 6 /* ceil(64 / 11) */

struct group_acc {
	size_t npos, nneg;	/* class sizes */
	size_t below_pos;	/* positives with a score below the current tie block */
	size_t below_neg;	/* negatives with a score below the current tie block */
	size_t blk_pos, blk_neg; /* positives, negatives in the current tie block */
	uint64_t s1;		/* sum over positives of 2n V10 (an integer) */
	double sx, sy;		/* sums of squared deviations of V10, V01 from the auc */
};

/* Map a double to a uint64_t whose unsigned order is the numeric order: flip all bits of
 * a negative number, only the sign bit of a positive one. -0.0 becomes +0.0 first so that
 * the two zeros tie, as they compare equal. */
static uint64_t order_key(double x)
{
	uint64_t u;

	if (x == 0.0)
		x = 0.0;
	memcpy(&u, &x, sizeof(u));
	return (u >> 63) ? ~u : u | (UINT64_C(1) << 63);
}

/* LSD radix sort of key[0..n) ascending, moving tag[] along; tmpk/tmpt are scratch of the
 * same sizes. hist is RADIX_PASSES * RADIX_SIZE zeroed counters. A pass whose digit is the
 * same for every key is skipped (e.g. the sign and high exponent bits of scores in
 * [0, 1]). On return *keyp and *tagp point at whichever buffer holds the sorted data. */
static void radix_sort(uint64_t **keyp, uint32_t **tagp, uint64_t *tmpk, uint32_t *tmpt,
		       size_t n, size_t *hist)
{
	uint64_t *key = *keyp;
	uint32_t *tag = *tagp;
	size_t i;
	unsigned p;

	for (i = 0; i < n; i++) {
		uint64_t k = key[i];

		for (p = 0; p < RADIX_PASSES; p++)
			hist[p * RADIX_SIZE + ((k >> (p * RADIX_BITS)) & (RADIX_SIZE - 1))]++;
	}
	for (p = 0; p < RADIX_PASSES; p++) {
		size_t *h = hist + p * RADIX_SIZE, sum = 0, c;
		unsigned shift = p * RADIX_BITS, d;
		uint64_t *tk;
		uint32_t *tt;

		if (h[(key[0] >> shift) & (RADIX_SIZE - 1)] == n)
			continue;
		for (d = 0; d < RADIX_SIZE; d++) {
			c = h[d];
			h[d] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++) {
			size_t dst = h[(key[i] >> shift) & (RADIX_SIZE - 1)]++;

			tmpk[dst] = key[i];
			tmpt[dst] = tag[i];
		}
		tk = key;
		key = tmpk;
		tmpk = tk;
		tt = tag;
		tag = tmpt;
		tmpt = tt;
	}
	*keyp = key;
	*tagp = tag;
}

/* The sweep over sorted (key, tag): store in val[i] the placement value of observation i
 * in units of 1/2n (positive) or 1/2m (negative), add up s1, and keep the block counts.
 * Singleton blocks, the common case for continuous scores, take the short path. */
static void placements(const uint64_t *key, const uint32_t *tag, size_t n,
		       struct group_acc *acc, uint64_t *val)
{
	size_t i = 0, j, t;

	while (i < n) {
		for (j = i + 1; j < n && key[j] == key[i]; j++)
			;
		if (j == i + 1) {
			struct group_acc *a = &acc[tag[i] >> 1];

			if (tag[i] & 1) {
				uint64_t v = 2 * (uint64_t)a->below_neg;

				a->s1 += v;
				val[i] = v;
				a->below_pos++;
			} else {
				val[i] = 2 * (uint64_t)(a->npos - a->below_pos);
				a->below_neg++;
			}
			i = j;
			continue;
		}
		for (t = i; t < j; t++) {
			struct group_acc *a = &acc[tag[t] >> 1];

			if (tag[t] & 1)
				a->blk_pos++;
			else
				a->blk_neg++;
		}
		for (t = i; t < j; t++) {
			struct group_acc *a = &acc[tag[t] >> 1];

			if (tag[t] & 1) {
				uint64_t v = 2 * (uint64_t)a->below_neg + a->blk_neg;

				a->s1 += v;
				val[t] = v;
			} else {
				val[t] = 2 * (uint64_t)(a->npos - a->below_pos) - a->blk_pos;
			}
		}
		for (t = i; t < j; t++) {
			struct group_acc *a = &acc[tag[t] >> 1];

			a->below_pos += a->blk_pos;
			a->below_neg += a->blk_neg;
			a->blk_pos = 0;
			a->blk_neg = 0;
		}
		i = j;
	}
}

/* Finish group a: auc from the exact s1, variance from sx, sy; -EDOM when a class has
 * fewer than two members (DeLong's sample variances divide by m - 1 and n - 1; pROC
 * returns NA there). */
static int finish(const struct group_acc *a, double z, struct stats_auroc *out)
{
	double m = (double)a->npos, n = (double)a->nneg, se;

	memset(out, 0, sizeof(*out));
	out->n_pos = a->npos;
	out->n_neg = a->nneg;
	if (a->npos < 2 || a->nneg < 2)
		return -EDOM;
	out->auc = (double)a->s1 / (2.0 * m * n);
	out->var = a->sx / (m - 1.0) / m + a->sy / (n - 1.0) / n;
	se = sqrt(out->var);
	out->low = out->auc - z * se;
	out->high = out->auc + z * se;
	if (out->low < 0.0)
		out->low = 0.0;
	if (out->high > 1.0)
		out->high = 1.0;
	return 0;
}

/* The common body: group == NULL puts everyone in group 0 (ngroups must then be 1). */
static int auroc_groups(const double *score, const uint8_t *label, const uint32_t *group,
			size_t n, size_t ngroups, double conf, struct stats_auroc *out,
			int *status)
{
	struct group_acc *acc = NULL;
	uint64_t *key = NULL, *tmpk = NULL, *sk, *val;
	uint32_t *tag = NULL, *tmpt = NULL, *st;
	size_t *hist = NULL, i, g;
	double z, *theta2 = NULL;
	int ret = 0;

	if (!score || !label || !out || !status || ngroups == 0 || ngroups > (UINT32_MAX >> 1) ||
	    !(conf > 0.0 && conf < 1.0))
		return -EINVAL;
	acc = calloc(ngroups, sizeof(*acc));
	theta2 = malloc(ngroups * sizeof(*theta2));
	key = malloc((n ? n : 1) * sizeof(*key));
	tmpk = malloc((n ? n : 1) * sizeof(*tmpk));
	tag = malloc((n ? n : 1) * sizeof(*tag));
	tmpt = malloc((n ? n : 1) * sizeof(*tmpt));
	hist = calloc((size_t)RADIX_PASSES * RADIX_SIZE, sizeof(*hist));
	if (!acc || !theta2 || !key || !tmpk || !tag || !tmpt || !hist) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		uint32_t gi = group ? group[i] : 0;

		if (isnan(score[i]) || label[i] > 1 || gi >= ngroups) {
			ret = -EINVAL;
			goto out;
		}
		key[i] = order_key(score[i]);
		tag[i] = gi << 1 | label[i];
		if (label[i])
			acc[gi].npos++;
		else
			acc[gi].nneg++;
	}
	sk = key;
	st = tag;
	if (n > 1)
		radix_sort(&sk, &st, tmpk, tmpt, n, hist);
	/* the scratch key buffer is free again: it holds the placement values */
	val = sk == key ? tmpk : key;
	placements(sk, st, n, acc, val);
	/* theta2[g] = 2 auc; V10 - auc = (v / n - theta2) / 2, V01 - auc = (v / m - theta2) / 2 */
	for (g = 0; g < ngroups; g++) {
		struct group_acc *a = &acc[g];

		theta2[g] = a->npos && a->nneg ? (double)a->s1 / ((double)a->npos * a->nneg) : 0.0;
	}
	for (i = 0; i < n; i++) {
		struct group_acc *a = &acc[st[i] >> 1];
		double d;

		if (st[i] & 1) {
			d = (double)val[i] / (double)a->nneg - theta2[st[i] >> 1];
			a->sx += d * d;
		} else {
			d = (double)val[i] / (double)a->npos - theta2[st[i] >> 1];
			a->sy += d * d;
		}
	}
	z = stats_z_for_conf(conf);
	for (g = 0; g < ngroups; g++) {
		acc[g].sx *= 0.25;
		acc[g].sy *= 0.25;
		status[g] = finish(&acc[g], z, &out[g]);
	}
out:
	free(hist);
	free(tmpt);
	free(tag);
	free(tmpk);
	free(key);
	free(theta2);
	free(acc);
	return ret;
}

int stats_auroc_delong(const double *score, const uint8_t *label, size_t n, double conf,
		       struct stats_auroc *out)
{
	int status = 0, ret;

	ret = auroc_groups(score, label, NULL, n, 1, conf, out, &status);
	return ret ? ret : status;
}

int stats_auroc_delong_groups(const double *score, const uint8_t *label, const uint32_t *group,
			      size_t n, size_t ngroups, double conf, struct stats_auroc *out,
			      int *status)
{
	if (!group)
		return -EINVAL;
	return auroc_groups(score, label, group, n, ngroups, conf, out, status);
}

/* Independent samples: the covariance term of DeLong's paired test is 0. The ends are
 * clipped to [-1, 1], the range of a difference of two AUROCs. */
void stats_auroc_diff(const struct stats_auroc *a, const struct stats_auroc *b, double conf,
		      struct stats_ci *out)
{
	double z, se;

	if (!a || !b || !out)
		return;
	z = stats_z_for_conf(conf);
	se = sqrt(a->var + b->var);
	out->value = a->auc - b->auc;
	out->low = out->value - z * se;
	out->high = out->value + z * se;
	if (out->low < -1.0)
		out->low = -1.0;
	if (out->high > 1.0)
		out->high = 1.0;
}
