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
 * After an ascending sort, observations with equal scores form tie blocks. For a positive
 * in a block, V10 = (negatives strictly below + negatives in the block / 2) / n; for a
 * negative, V01 = (positives strictly above + positives in the block / 2) / m. One sweep
 * over the sorted order with running per-group counts gives every placement value, for all
 * groups at once. In units of 1/2n (1/2m) the placement values are integers a_i, so the
 * sweep keeps exact integer sums S1 = sum a_i and S2 = sum a_i^2 (128 bits), and the sum
 * of squared deviations S2 - S1^2 / m is formed exactly at the end: no cancellation, no
 * second pass, and the AUROC is an exact integer ratio.
 *
 * The sort: each observation becomes one 64-bit word, its order-preserving key above
 * its tag (group << 1 | label). One most-significant-digit pass scatters the words into
 * 2^top buckets by the `top` highest bits in which the keys differ (top grows with n:
 * buckets of some 512 words if the keys spread evenly over the digit, some 8192 for
 * uniform scores in [0, 1], half of which share the top exponent); the word keeps the key
 * bits below the digit. Each bucket is then sorted on its own and swept at once, while it is
 * still in cache: by an LSD radix sort over just the bits in which its keys differ, or,
 * if it holds more than CACHE_N words (scores crowded on a narrow range, heavy ties),
 * first split again by another MSD pass. Equal keys share a bucket, so no tie block spans
 * two. This is the layout of stats/sort.c, but carrying label and group inside the word
 * makes every pass sequential and 8 bytes wide, where stats_argsort would leave a
 * permutation to gather three arrays through. The tag takes 1 + log2(ngroups) bits, at
 * most 16: beyond 2^15 groups they are taken in batches of 2^15, one pass over the data
 * each.
 */
#include "stats/auroc.h"
#include "stats/interval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOP_BITS_MIN 4
#define TOP_BITS_MAX 16
#define BATCH_GROUPS (1u << 15)    /* group << 1 | label fits in 16 bits */
#define SMALL_N 48                 /* insertion sort below this bucket size */
#define WIDE_N 2048                /* 11-bit LSD digits from this bucket size, 8-bit below */
#define CACHE_N 65536              /* a larger bucket takes another MSD pass first */
#define MSD_MAX_BITS 11            /* digit width of those passes */
#define MSD_LEVELS 6               /* of MSD passes below the top level */
#define CNT_SIZE ((size_t)6 << 11) /* 11-bit digits over <= 60 bits; 8-bit: 8 x 256 */
#define MAX_N (UINT32_C(1) << 31)  /* a_i <= 2n must square within 64 bits */

/* 128-bit unsigned arithmetic in portable C, for the exact sums of squares. */
struct u128 {
	uint64_t hi, lo;
};

static void add128(struct u128 *x, uint64_t v)
{
	x->lo += v;
	x->hi += x->lo < v;
}

static void sub128(struct u128 *x, struct u128 y)
{
	x->hi -= y.hi + (x->lo < y.lo);
	x->lo -= y.lo;
}

static struct u128 mul64(uint64_t a, uint64_t b)
{
	uint64_t al = a & 0xffffffffu, ah = a >> 32, bl = b & 0xffffffffu, bh = b >> 32;
	uint64_t ll = al * bl, lh = al * bh, hl = ah * bl;
	uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
	struct u128 r;

	r.lo = (mid << 32) | (ll & 0xffffffffu);
	r.hi = ah * bh + (lh >> 32) + (hl >> 32) + (mid >> 32);
	return r;
}

/* sum (a_i - S1/c)^2 for c values with exact sums s1, s2. With s1 = q c + r (0 <= r < c),
 * s1^2 / c = q (q c) + 2 q r + r^2 / c, where q c <= s1 and q r < s1 fit in 64 bits; the
 * integer part of s2 - s1^2 / c is exact, only the last step rounds. */
static double sq_dev(uint64_t c, uint64_t s1, struct u128 s2)
{
	uint64_t q = s1 / c, r = s1 % c;

	sub128(&s2, mul64(q, q * c));
	sub128(&s2, mul64(q, r));
	sub128(&s2, mul64(q, r));
	return ((double)s2.hi * 0x1p64 + (double)s2.lo) - (double)(r * r) / (double)c;
}

struct group_acc {
	size_t n[2];       /* class sizes: [0] negatives, [1] positives */
	size_t below[2];   /* members of each class with a score below the current tie block */
	size_t blk[2];     /* members of each class in the current tie block */
	uint64_t s1[2];    /* sums of the placement numerators: [1] of 2n V10 over positives,
			    * [0] of 2m V01 over negatives */
	struct u128 s2[2]; /* sums of their squares */
};

/* Map a double to a uint64_t whose unsigned order is the numeric order: flip all bits of
 * a negative number, only the sign bit of a positive one. -0.0 becomes +0.0 first so that
 * the two zeros tie, as they compare equal. */
static uint64_t order_key(double x)
{
	uint64_t u;

	memcpy(&u, &x, sizeof(u));
	if (u == UINT64_C(1) << 63) /* -0.0 */
		u = 0;
	return (u >> 63) ? ~u : u | (UINT64_C(1) << 63);
}

static void insertion_sort(uint64_t *w, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		uint64_t v = w[i];

		for (j = i; j > 0 && w[j - 1] > v; j--)
			w[j] = w[j - 1];
		w[j] = v;
	}
}

static unsigned top_bit(uint64_t v)
{
	unsigned b = 0;

	while (v >>= 1)
		b++;
	return b;
}

/* Sort the n words *wp by their key bits (bit lo and up; below lo is the tag) whose
 * differing bits are diff (the OR of all w[i] ^ w[0], shifted right by lo, non-zero): LSD
 * with digits of at most 8 or (for large n) 11 bits over just that range of bits,
 * ping-ponging with the scratch ws; a pass in which every word has the same digit is
 * skipped. *wp ends up at the sorted copy. cnt is CNT_SIZE counters of scratch. */
static void sort_low(uint64_t **wp, uint64_t *ws, size_t n, unsigned lo, uint64_t diff, size_t *cnt)
{
	unsigned dmax = n >= WIDE_N ? 11 : 8, first, bits, npass, dbits, p;
	uint64_t *w = *wp, *wt;
	size_t dsize, dmask, i;

	first = top_bit(diff & -diff);
	bits = top_bit(diff) + 1 - first;
	npass = (bits + dmax - 1) / dmax;
	dbits = (bits + npass - 1) / npass; /* balanced: 44 bits are 4 x 11, 45 are 5 x 9 */
	dsize = (size_t)1 << dbits;
	dmask = dsize - 1;
	lo += first;
	memset(cnt, 0, npass * dsize * sizeof(*cnt));
	for (i = 0; i < n; i++)
		for (p = 0; p < npass; p++)
			cnt[p * dsize + ((w[i] >> (lo + p * dbits)) & dmask)]++;
	for (p = 0; p < npass; p++) {
		size_t *off = cnt + p * dsize, sum = 0, d;
		unsigned shift = lo + p * dbits;

		if (off[(w[0] >> shift) & dmask] == n)
			continue;
		for (d = 0; d < dsize; d++) {
			size_t c = off[d];

			off[d] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			ws[off[(w[i] >> shift) & dmask]++] = w[i];
		wt = w, w = ws, ws = wt;
	}
	*wp = w;
}

/* Add one placement numerator of class `pos` to a. For a positive it is
 * 2 (negatives below) + (negatives tied), for a negative 2 (positives above) + (positives
 * tied) = 2 (m - positives below) - (positives tied). Selecting rather than branching
 * on the label keeps the sweep free of mispredictions on shuffled labels. */
static void place(struct group_acc *a, unsigned pos)
{
	uint64_t vp = 2 * (uint64_t)a->below[0] + a->blk[0];
	uint64_t vn = 2 * (uint64_t)(a->n[1] - a->below[1]) - a->blk[1];
	uint64_t v = pos ? vp : vn;

	a->s1[pos] += v;
	add128(&a->s2[pos], v * v);
}

/* Sweep n sorted words (key bits above bit tb, tag = group << 1 | label below),
 * continuing the running counts in acc. Singleton tie blocks, the common case for
 * continuous scores, take the short path. */
static void sweep(const uint64_t *w, size_t n, unsigned tb, struct group_acc *acc)
{
	uint64_t tmask = ((uint64_t)1 << tb) - 1;
	size_t i = 0, j, t;

	while (i < n) {
		for (j = i + 1; j < n && (w[j] >> tb) == (w[i] >> tb); j++)
			;
		if (j == i + 1) {
			struct group_acc *a = &acc[(w[i] & tmask) >> 1];
			unsigned pos = w[i] & 1;

			place(a, pos);
			a->below[pos]++;
			i = j;
			continue;
		}
		for (t = i; t < j; t++)
			acc[(w[t] & tmask) >> 1].blk[w[t] & 1]++;
		for (t = i; t < j; t++)
			place(&acc[(w[t] & tmask) >> 1], w[t] & 1);
		for (t = i; t < j; t++) {
			struct group_acc *a = &acc[(w[t] & tmask) >> 1];

			a->below[0] += a->blk[0];
			a->below[1] += a->blk[1];
			a->blk[0] = 0;
			a->blk[1] = 0;
		}
		i = j;
	}
}

/* Sort the bucket w[0..n) and sweep it, in order; ws is n words of scratch. A bucket of
 * at most CACHE_N words (or with a single key) is sorted by sort_low at once; a larger
 * one is split again by its own highest differing bits into sub-buckets of some 4096
 * words, which recurse with the roles of w and ws swapped. For uniform scores a direct
 * LSD sort is cheaper than one more level; for crowded or heavily tied keys the split
 * isolates the tie blocks and leaves little to sort. A level takes 5 to MSD_MAX_BITS bits
 * off the range; past MSD_LEVELS levels (contrived data) sort_low takes over whatever the
 * size. pool holds the levels' counters, 2^MSD_MAX_BITS + 1 each; cnt is sort_low's. */
static void sort_bucket(uint64_t *w, uint64_t *ws, size_t n, unsigned tb, struct group_acc *acc,
			size_t *pool, unsigned level, size_t *cnt)
{
	uint64_t diff = 0, *sorted = w;
	size_t i, b, nb, start, *off;
	unsigned width, dbits, shift;

	if (n < SMALL_N) {
		insertion_sort(w, n);
		sweep(w, n, tb, acc);
		return;
	}
	for (i = 1; i < n; i++)
		diff |= w[i] ^ w[0];
	diff >>= tb;
	if (!diff || n <= CACHE_N || level >= MSD_LEVELS) {
		if (diff)
			sort_low(&sorted, ws, n, tb, diff, cnt);
		sweep(sorted, n, tb, acc);
		return;
	}
	width = top_bit(diff) + 1; /* of the range of differing key bits */
	dbits = 1 + top_bit(n / 4096);
	if (dbits > MSD_MAX_BITS)
		dbits = MSD_MAX_BITS;
	shift = tb + (width > dbits ? width - dbits : 0);
	nb = (size_t)1 << dbits;
	off = pool + level * (((size_t)1 << MSD_MAX_BITS) + 1);
	memset(off, 0, (nb + 1) * sizeof(*off));
	for (i = 0; i < n; i++)
		off[((w[i] >> shift) & (nb - 1)) + 1]++;
	for (b = 0; b < nb; b++)
		off[b + 1] += off[b];
	for (i = 0; i < n; i++)
		ws[off[(w[i] >> shift) & (nb - 1)]++] = w[i];
	/* off[b] is now the end of sub-bucket b */
	for (b = 0, start = 0; b < nb; b++) {
		if (off[b] > start)
			sort_bucket(ws + start, w + start, off[b] - start, tb, acc, pool, level + 1,
				    cnt);
		start = off[b];
	}
}

/* Finish group a; -EDOM when a class has fewer than two members (DeLong's sample
 * variances divide by m - 1 and n - 1; pROC returns NA there). */
static int finish(const struct group_acc *a, double z, struct stats_auroc *out)
{
	double m = (double)a->n[1], n = (double)a->n[0], sx, sy, se;

	memset(out, 0, sizeof(*out));
	out->n_pos = a->n[1];
	out->n_neg = a->n[0];
	if (a->n[1] < 2 || a->n[0] < 2)
		return -EDOM;
	out->auc = (double)a->s1[1] / (2.0 * m * n);
	/* back from units of 1/2n and 1/2m */
	sx = sq_dev(a->n[1], a->s1[1], a->s2[1]) / (4.0 * n * n);
	sy = sq_dev(a->n[0], a->s1[0], a->s2[0]) / (4.0 * m * m);
	out->var = sx / (m - 1.0) / m + sy / (n - 1.0) / n;
	se = sqrt(out->var);
	out->low = out->auc - z * se;
	out->high = out->auc + z * se;
	if (out->low < 0.0)
		out->low = 0.0;
	if (out->high > 1.0)
		out->high = 1.0;
	return 0;
}

/* Sort and sweep the observations of groups [g0, g0 + gcount), gcount <= BATCH_GROUPS,
 * whose keys differ at most in bits [0, hb] (hb < 0: all keys equal). Each becomes one
 * 64-bit word: the key bits below the bucket digit, then tb tag bits. The digit width
 * `top` is about log2(n) - 9 (see the file comment; tuned with cachegrind on 10^6 uniform,
 * rounded, tied and log-scale scores) and at least tb, so that the word holds the
 * remaining key bits (hb + 1 - top <= 64 - tb). words, off (2^TOP_BITS_MAX + 1), pool
 * and cnt are scratch. */
static int sort_sweep(const double *score, const uint8_t *label, const uint32_t *group, size_t n,
		      uint32_t g0, uint32_t gcount, int hb, struct group_acc *acc, uint64_t *words,
		      size_t *off, size_t *pool, size_t *cnt)
{
	unsigned tb = 1 + top_bit(2 * (uint64_t)gcount - 1), top = TOP_BITS_MIN, shift = 0;
	uint64_t lowmask, *scratch = NULL;
	size_t nsel = 0, nb, i, b, start, maxb = 0;
	uint32_t g;

	for (g = 0; g < gcount; g++)
		nsel += acc[g].n[0] + acc[g].n[1];
	while (top < TOP_BITS_MAX && ((size_t)1 << (top + 9)) < nsel)
		top++;
	if (top < tb)
		top = tb;
	if (hb >= 0 && (unsigned)hb + 1 > top)
		shift = (unsigned)hb + 1 - top;
	lowmask = ((uint64_t)1 << shift) - 1;
	nb = (size_t)1 << top;
	memset(off, 0, (nb + 1) * sizeof(*off));
	for (i = 0; i < n; i++) {
		if (group && group[i] - g0 >= gcount)
			continue;
		off[((order_key(score[i]) >> shift) & (nb - 1)) + 1]++;
	}
	for (b = 0; b < nb; b++) {
		maxb = off[b + 1] > maxb ? off[b + 1] : maxb;
		off[b + 1] += off[b];
	}
	for (i = 0; i < n; i++) {
		uint64_t k, tag;

		if (group && group[i] - g0 >= gcount)
			continue;
		k = order_key(score[i]);
		tag = (uint64_t)(group ? group[i] - g0 : 0) << 1 | label[i];
		words[off[(k >> shift) & (nb - 1)]++] = (k & lowmask) << tb | tag;
	}
	/* off[b] is now the end of bucket b */
	if (shift > 0) {
		scratch = malloc((maxb ? maxb : 1) * sizeof(*scratch));
		if (!scratch)
			return -ENOMEM;
	}
	for (b = 0, start = 0; b < nb; b++) {
		size_t len = off[b] - start;

		if (len > 0 && shift > 0)
			sort_bucket(words + start, scratch, len, tb, acc, pool, 0, cnt);
		else if (len > 0)
			sweep(words + start, len, tb, acc); /* one key */
		start = off[b];
	}
	free(scratch);
	return 0;
}

/* The common body: group == NULL puts everyone in group 0 (ngroups must then be 1).
 * Groups are taken BATCH_GROUPS at a time, each batch a pass over the data. */
static int auroc_groups(const double *score, const uint8_t *label, const uint32_t *group, size_t n,
			size_t ngroups, double conf, struct stats_auroc *out, int *status)
{
	uint64_t *words = NULL, kmin = UINT64_MAX, kmax = 0;
	size_t *off = NULL, *pool = NULL, *cnt = NULL, i, g;
	struct group_acc *acc = NULL;
	int ret = 0, hb = -1;
	double z;

	if (!score || !label || !out || !status || ngroups == 0 || ngroups >= MAX_N || n >= MAX_N ||
	    !(conf > 0.0 && conf < 1.0))
		return -EINVAL;
	acc = calloc(ngroups, sizeof(*acc));
	off = malloc(((size_t)1 << TOP_BITS_MAX) * sizeof(*off) + sizeof(*off));
	pool = malloc(MSD_LEVELS * (((size_t)1 << MSD_MAX_BITS) + 1) * sizeof(*pool));
	cnt = malloc(CNT_SIZE * sizeof(*cnt));
	words = malloc((n ? n : 1) * sizeof(*words));
	if (!acc || !off || !pool || !cnt || !words) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		uint32_t gi = group ? group[i] : 0;
		uint64_t k;

		if (isnan(score[i]) || label[i] > 1 || gi >= ngroups) {
			ret = -EINVAL;
			goto out;
		}
		k = order_key(score[i]);
		kmin = k < kmin ? k : kmin;
		kmax = k > kmax ? k : kmax;
		acc[gi].n[label[i]]++;
	}
	if (n > 0 && kmin != kmax)
		hb = (int)top_bit(kmin ^ kmax);
	for (g = 0; g < ngroups; g += BATCH_GROUPS) {
		size_t gcount = ngroups - g < BATCH_GROUPS ? ngroups - g : BATCH_GROUPS;

		ret = sort_sweep(score, label, group, n, (uint32_t)g, (uint32_t)gcount, hb, acc + g,
				 words, off, pool, cnt);
		if (ret)
			goto out;
	}
	z = stats_z_for_conf(conf);
	for (g = 0; g < ngroups; g++)
		status[g] = finish(&acc[g], z, &out[g]);
out:
	free(words);
	free(cnt);
	free(pool);
	free(off);
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
