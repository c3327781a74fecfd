/* SPDX-License-Identifier: MIT
 * stats/psi.c - decile edges by radix selection, histograms, PSI and Jensen-Shannon
 *
 * Quantiles follow numpy.quantile(method='linear') exactly: the virtual index is
 * h = (n - 1) q in double, the neighbours are the order statistics floor(h) and
 * floor(h) + 1 (both n - 1 once h >= n - 1), and the value is numpy's two-sided lerp
 * a + (b - a) g, or b - (b - a)(1 - g) when g >= 0.5, for g = h - floor(h).
 *
 * Unsorted decile edges need at most 18 order statistics. They are found by a radix
 * selection on the order-preserving integer keys of the doubles (see stats/sort.c): one
 * pass counts the top 16 bits, a second gathers only the keys of the (at most 18) buckets
 * holding a wanted rank, and each gathered bucket is narrowed by 8-bit digits until the
 * ranks are isolated. That reads the input twice and touches a few percent of it after,
 * where a full sort would make six passes, and unlike quickselect it cannot go quadratic
 * on adversarial or heavily tied data (a constant column is one bucket at every level).
 */
#include "stats/psi.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NEDGES (STATS_PSI_BINS - 1)
#define MAX_RANKS (2 * NEDGES)
#define TOP_BITS 16
#define TOP_SIZE (1u << TOP_BITS)
#define LOW_BITS (64 - TOP_BITS)
#define SMALL_SEL 32

static inline uint64_t key_of(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	/* negative (sign bit set): invert all bits; otherwise set the sign bit */
	return u ^ ((0 - (u >> 63)) | UINT64_C(0x8000000000000000));
}

static inline double double_of(uint64_t k)
{
	uint64_t u = k ^ (((k >> 63) - 1) | UINT64_C(0x8000000000000000));
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

/* numpy's _lerp. Equal neighbours return their value (numpy would give NaN for two equal
 * infinities). */
static double lerp_np(double a, double b, double g)
{
	double diff = b - a;

	if (a == b)
		return a;
	if (g >= 0.5)
		return b - diff * (1.0 - g);
	return a + diff * g;
}

/* The order statistics a quantile needs: *lo = floor((n-1) q), *hi = *lo + 1, both n - 1
 * at the top; *g the interpolation weight. */
static void quantile_ranks(size_t n, double q, size_t *lo, size_t *hi, double *g)
{
	double h = (double)(n - 1) * q, f = floor(h);

	*g = h - f;
	if (h >= (double)(n - 1)) {
		*lo = *hi = n - 1;
	} else {
		*lo = (size_t)f;
		*hi = *lo + 1;
	}
}

int stats_quantile_sorted(const double *sorted, size_t n, double q, double *out)
{
	size_t lo, hi;
	double g;

	if (!sorted || !out || n == 0 || !(q >= 0.0 && q <= 1.0))
		return -EINVAL;
	quantile_ranks(n, q, &lo, &hi, &g);
	*out = lerp_np(sorted[lo], sorted[hi], g);
	return 0;
}

/* The deciles are q = k/10 as the double nearest k/10 (numpy: np.arange(1, 10) / 10). */
static double decile(int k)
{
	return (double)k / 10.0;
}

int stats_decile_edges_sorted(const double *sorted, size_t n, double edges[STATS_PSI_BINS - 1])
{
	if (!sorted || !edges || n == 0)
		return -EINVAL;
	for (int k = 1; k <= NEDGES; k++) {
		int ret = stats_quantile_sorted(sorted, n, decile(k), &edges[k - 1]);

		if (ret)
			return ret;
	}
	return 0;
}

/* Keys of ranks r[0..nr) (ascending, distinct, < len) of a[0..len), whose bits above
 * shift + 8 are all equal, into out[0..nr). t is len keys of scratch; a is reordered. */
static void msd_select(uint64_t *a, uint64_t *t, size_t len, int shift, const size_t *r, size_t nr,
		       uint64_t *out)
{
	size_t cnt[257], rr[MAX_RANKS];

	for (;;) {
		unsigned d0;

		if (shift < 0) { /* every bit examined: all keys are equal */
			for (size_t i = 0; i < nr; i++)
				out[i] = a[0];
			return;
		}
		if (len <= SMALL_SEL) {
			for (size_t i = 1; i < len; i++) {
				uint64_t k = a[i];
				size_t j = i;

				for (; j > 0 && a[j - 1] > k; j--)
					a[j] = a[j - 1];
				a[j] = k;
			}
			for (size_t i = 0; i < nr; i++)
				out[i] = a[r[i]];
			return;
		}
		memset(cnt, 0, sizeof(cnt));
		for (size_t i = 0; i < len; i++)
			cnt[((a[i] >> shift) & 255) + 1]++;
		d0 = (unsigned)(a[0] >> shift) & 255;
		if (cnt[d0 + 1] != len)
			break;
		shift -= 8; /* one digit for all: nothing to split on here */
	}
	for (unsigned d = 0; d < 256; d++)
		cnt[d + 1] += cnt[d];
	{
		size_t off[256];

		memcpy(off, cnt, sizeof(off));
		for (size_t i = 0; i < len; i++)
			t[off[(a[i] >> shift) & 255]++] = a[i];
	}
	/* recurse into each digit bucket holding wanted ranks (ranks are ascending) */
	for (size_t i = 0; i < nr;) {
		size_t j = i, d = 0, start, end;

		while (cnt[d + 1] <= r[i])
			d++;
		start = cnt[d];
		end = cnt[d + 1];
		for (; j < nr && r[j] < end; j++)
			rr[j - i] = r[j] - start;
		msd_select(t + start, a + start, end - start, shift - 8, rr, j - i, out + i);
		i = j;
	}
}

/* Order statistics r[0..nr) (ascending, distinct, < n) of x[0..n) into vals. */
static int select_ranks(const double *x, size_t n, const size_t *r, size_t nr, double *vals)
{
	size_t *cnt, bstart[MAX_RANKS], bsize[MAX_RANKS], pos[MAX_RANKS + 1], nb = 0, total = 0;
	size_t rr[MAX_RANKS];
	unsigned bucket[MAX_RANKS];
	unsigned char *tag;
	uint64_t *g = NULL, keys[MAX_RANKS];
	int ret = 0;

	cnt = calloc(TOP_SIZE + 1, sizeof(*cnt));
	tag = calloc(TOP_SIZE, 1);
	if (!cnt || !tag) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		cnt[(key_of(x[i]) >> LOW_BITS) + 1]++;
	for (size_t d = 0; d < TOP_SIZE; d++)
		cnt[d + 1] += cnt[d];

	/* the top-digit buckets that hold wanted ranks */
	for (size_t i = 0, d = 0; i < nr; i++) {
		while (cnt[d + 1] <= r[i])
			d++;
		if (nb == 0 || bucket[nb - 1] != d) {
			bucket[nb] = (unsigned)d;
			bstart[nb] = cnt[d];
			bsize[nb] = cnt[d + 1] - cnt[d];
			tag[d] = (unsigned char)(nb + 1);
			total += bsize[nb];
			nb++;
		}
	}

	/* gather their keys: g = [trash][bucket 0][bucket 1]...; scratch after it */
	g = malloc((2 * total + 1) * sizeof(*g));
	if (!g) {
		ret = -ENOMEM;
		goto out;
	}
	pos[0] = 0; /* untagged keys all land on g[0] */
	for (size_t b = 0, p = 1; b < nb; b++) {
		pos[b + 1] = p;
		p += bsize[b];
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t k = key_of(x[i]);
		unsigned s = tag[k >> LOW_BITS];

		g[pos[s]] = k;
		pos[s] += s != 0;
	}

	for (size_t i = 0, b = 0, p = 1; b < nb; b++) {
		size_t j = i;

		for (; j < nr && r[j] < bstart[b] + bsize[b]; j++)
			rr[j - i] = r[j] - bstart[b];
		msd_select(g + p, g + 1 + total + (p - 1), bsize[b], LOW_BITS - 8, rr, j - i,
			   keys + i);
		p += bsize[b];
		i = j;
	}
	for (size_t i = 0; i < nr; i++)
		vals[i] = double_of(keys[i]);
out:
	free(g);
	free(tag);
	free(cnt);
	return ret;
}

int stats_decile_edges(const double *x, size_t n, double edges[STATS_PSI_BINS - 1])
{
	size_t lo[NEDGES], hi[NEDGES], r[MAX_RANKS], nr = 0;
	double g[NEDGES], v[MAX_RANKS];
	int ret;

	if (!x || !edges || n == 0)
		return -EINVAL;
	/* wanted ranks, ascending and distinct (the deciles' ranks are non-decreasing) */
	for (int k = 0; k < NEDGES; k++) {
		quantile_ranks(n, decile(k + 1), &lo[k], &hi[k], &g[k]);
		if (nr == 0 || r[nr - 1] < lo[k])
			r[nr++] = lo[k];
		if (r[nr - 1] < hi[k])
			r[nr++] = hi[k];
	}
	ret = select_ranks(x, n, r, nr, v);
	if (ret)
		return ret;
	for (int k = 0, i = 0; k < NEDGES; k++) {
		double a, b;

		while (r[i] < lo[k])
			i++;
		a = v[i];
		b = (hi[k] == lo[k]) ? a : v[i + 1];
		edges[k] = lerp_np(a, b, g[k]);
	}
	return 0;
}

int stats_bin_counts(const double *x, size_t n, const double *edges, size_t nedges, size_t *counts)
{
	if (!counts || (n && !x) || (nedges && !edges))
		return -EINVAL;
	for (size_t i = 1; i < nedges; i++)
		if (!(edges[i - 1] <= edges[i])) /* also rejects NaN edges */
			return -EINVAL;
	memset(counts, 0, (nedges + 1) * sizeof(*counts));
	if (nedges == NEDGES) {
		/* the PSI case: a branchless count of the edges <= v, four histograms
		 * interleaved so that repeated bins do not serialise on one counter */
		size_t c[4][NEDGES + 1], i = 0;

		memset(c, 0, sizeof(c));
		for (; i + 4 <= n; i += 4)
			for (int u = 0; u < 4; u++) {
				double v = x[i + u];
				unsigned b = 0;

				for (int e = 0; e < NEDGES; e++)
					b += v >= edges[e];
				c[u][b]++;
			}
		for (; i < n; i++) {
			unsigned b = 0;

			for (int e = 0; e < NEDGES; e++)
				b += x[i] >= edges[e];
			c[0][b]++;
		}
		for (int b = 0; b <= NEDGES; b++)
			counts[b] = c[0][b] + c[1][b] + c[2][b] + c[3][b];
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		/* upper bound: the number of edges <= v */
		size_t lo = 0, hi = nedges;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (edges[mid] <= x[i])
				lo = mid + 1;
			else
				hi = mid;
		}
		counts[lo]++;
	}
	return 0;
}

static int totals(const size_t *ref, const size_t *cur, size_t k, double *tr, double *tc)
{
	size_t sr = 0, sc = 0;

	if (!ref || !cur || k == 0)
		return -EINVAL;
	for (size_t i = 0; i < k; i++) {
		sr += ref[i];
		sc += cur[i];
	}
	if (sr == 0 || sc == 0)
		return -EINVAL;
	*tr = (double)sr;
	*tc = (double)sc;
	return 0;
}

int stats_psi_counts(const size_t *ref, const size_t *cur, size_t k, double floor, double *psi)
{
	double tr, tc, s = 0.0;
	int ret;

	if (!psi || !(floor > 0.0 && floor < 1.0))
		return -EINVAL;
	ret = totals(ref, cur, k, &tr, &tc);
	if (ret)
		return ret;
	for (size_t i = 0; i < k; i++) {
		double r = ref[i] ? (double)ref[i] / tr : floor;
		double c = cur[i] ? (double)cur[i] / tc : floor;

		s += (c - r) * log(c / r);
	}
	*psi = s;
	return 0;
}

int stats_js_counts(const size_t *ref, const size_t *cur, size_t k, double *js)
{
	double tr, tc, left = 0.0, right = 0.0, d;
	int ret;

	if (!js)
		return -EINVAL;
	ret = totals(ref, cur, k, &tr, &tc);
	if (ret)
		return ret;
	/* rel_entr(p, m) = p log(p/m), 0 for p == 0; m = (p + q)/2 > 0 wherever p > 0 */
	for (size_t i = 0; i < k; i++) {
		double p = (double)ref[i] / tr, q = (double)cur[i] / tc, m = (p + q) / 2.0;

		if (p > 0)
			left += p * log(p / m);
		if (q > 0)
			right += q * log(q / m);
	}
	d = (left + right) / log(2.0) / 2.0;
	/* XXX: rounding can leave a divergence of -1e-17 for near-identical histograms,
	 * where scipy returns NaN; it is 0 here. */
	*js = d > 0.0 ? sqrt(d) : 0.0;
	return 0;
}
