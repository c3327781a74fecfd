/* SPDX-License-Identifier: MIT
 * stats/mmd.c - MMD^2_u between two multivariate samples, with a permutation p-value
 *
 * The kept rows are pooled (reference first, N = n + m) and standardised by the reference.
 * Three BLAS calls (two dsyrk, one dgemm) write the Gram entry a.b of every pair of pooled
 * rows once, into the strict upper triangle of the kernel matrix K, stored in ~N^2/2
 * doubles (struct kmat). The squared distances ||a||^2 + ||b||^2 - 2 a.b between reference
 * rows give the bandwidth (their lower median, found through a histogram); then the
 * Gaussian kernel overwrites the Gram entries in place, and the observed statistic is
 * summed in double on the way. A permutation only changes which pooled rows count as
 * "reference": with the 0/1 assignment vector a (n ones), U the strict upper triangle of K,
 * c = K 1 and S = 1^T K 1 (K has a unit diagonal),
 *
 *	a^T K a = 2 a^T (U + I) a - n,	Sum_XY = c^T a - a^T K a,
 *	Sum_YY = S - a^T K a - 2 Sum_XY,
 *
 * so a batch of assignments, one per column of B, costs B := (U + I) B (two dtrmm and a
 * dgemm, N^2 multiply-adds per column, K read once per batch) and a dot product per column,
 * instead of a kernel evaluation per pair and permutation. The observed assignment is the
 * first column, so it is compared with the permuted ones on the same footing.
 */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <gsl/gsl_cblas.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "stats/mmd.h"

/* A squared distance below this fraction of ||a||^2 + ||b||^2 has lost most of its bits to
 * cancellation in the Gram formula; it is recomputed as sum (a_k - b_k)^2, which also makes
 * the distance between duplicate rows exactly 0 (so a median of 0 is seen as such). */
#define DIST_RECHECK 0x1p-10
/* Assignment columns per dtrmm: bounds B at N * BATCH doubles; P = 100 is one batch. */
#define BATCH 128
/* Permuted statistics this close below the observed one (relative to the mean kernel value,
 * the scale of every term) count as ties, i.e. as >= it: the quadratic forms and the direct
 * sums round differently, and exact ties (n = m swaps X and Y; duplicate rows) are common
 * in small or discrete samples. The rounding error is ~N * 1e-16 of that scale. */
#define TIE_REL 1e-9
/* Histogram of the top 16 bits of a non-negative double: sign (0), exponent, 4 mantissa bits. */
#define HIST_SHIFT 48
#define HIST_BINS ((size_t)1 << 15)

typedef double v4d __attribute__((vector_size(4 * sizeof(double))));
typedef int64_t v4i __attribute__((vector_size(4 * sizeof(int64_t))));

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* dst[0..4) = exp(ngamma * src[0..4)) for ngamma * src <= 0 (dst may be src), to ~1 ulp (max
 * relative error 4.3e-16 against glibc over [-60, 0]). Written with vector types because
 * GCC vectorises neither a call to exp() without -ffast-math (which would also break NaN
 * tests) nor the clamp's select without -fno-trapping-math. x = k ln2 + r, |r| <= ln2/2
 * (Cody-Waite split of ln2), exp(r) by its degree-13 Taylor polynomial in Estrin form
 * (truncation 4e-18), 2^k built in the exponent bits. Arguments below -708 are clamped
 * there: exp(-708) = 3.3e-308 stands for anything smaller, an absolute error no kernel sum
 * can see. */
ALWAYS_INLINE void exp_neg4(double *dst, const double *src, double ngamma)
{
	const v4d lim = {-708.0, -708.0, -708.0, -708.0};
	v4d x, t, k, r, r2, r4, q0, q1, q2, q3;
	v4i lo;

	memcpy(&x, src, sizeof(x));
	x = x * ngamma;
	lo = x < lim;
	x = (v4d)((lo & (v4i)lim) | (~lo & (v4i)x));
	t = x * 0x1.71547652b82fep0 + 0x1.8p52; /* k = round(x / ln2) in the low mantissa bits */
	k = t - 0x1.8p52;
	r = (x - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
	r2 = r * r;
	r4 = r2 * r2;
	q0 = (1.0 + r) + r2 * (1.0 / 2 + r * (1.0 / 6));
	q1 = (1.0 / 24 + r * (1.0 / 120)) + r2 * (1.0 / 720 + r * (1.0 / 5040));
	q2 = (1.0 / 40320 + r * (1.0 / 362880)) + r2 * (1.0 / 3628800 + r * (1.0 / 39916800));
	q3 = 1.0 / 479001600 + r * (1.0 / 6227020800.0);
	q0 = (q0 + r4 * q1) + (r4 * r4) * (q2 + r4 * q3);
	q0 = q0 * (v4d)(((v4i)t + 1023) << 52); /* k >= -1021: a normal 2^k */
	memcpy(dst, &q0, sizeof(q0));
}

/* dst[0..len) = exp(ngamma * src[0..len)), src holding squared distances (dst may be src).
 * Each value is also added to cs[0..len) (column sums), and their sum is returned, summed in
 * a fixed order (two 4-lane accumulators, then the tail) whatever the instruction set. */
ALWAYS_INLINE double kernel_seg_body(double *dst, const double *src, double *restrict cs,
				     size_t len, double ngamma)
{
	v4d acc0 = {0, 0, 0, 0}, acc1 = {0, 0, 0, 0}, e, c;
	double tmp[8], s;
	size_t j;

	for (j = 0; j + 8 <= len; j += 8) {
		exp_neg4(dst + j, src + j, ngamma);
		exp_neg4(dst + j + 4, src + j + 4, ngamma);
		memcpy(&e, dst + j, sizeof(e));
		memcpy(&c, cs + j, sizeof(c));
		acc0 += e;
		c += e;
		memcpy(cs + j, &c, sizeof(c));
		memcpy(&e, dst + j + 4, sizeof(e));
		memcpy(&c, cs + j + 4, sizeof(c));
		acc1 += e;
		c += e;
		memcpy(cs + j + 4, &c, sizeof(c));
	}
	acc0 += acc1;
	s = (acc0[0] + acc0[1]) + (acc0[2] + acc0[3]);
	if (j < len) {
		/* the last 1..7 values, zero-padded */
		memset(tmp, 0, sizeof(tmp));
		memcpy(tmp, src + j, (len - j) * sizeof(double));
		exp_neg4(tmp, tmp, ngamma);
		exp_neg4(tmp + 4, tmp + 4, ngamma);
		for (size_t l = 0; j + l < len; l++) {
			dst[j + l] = tmp[l];
			cs[j + l] += tmp[l];
			s += tmp[l];
		}
	}
	return s;
}

/* v[0..len): Gram entries a.b in, ri + r[j] - 2 v[j] out. Returns how many came out below
 * DIST_RECHECK of ri + r[j] (negative ones included), for the caller to recompute. */
ALWAYS_INLINE size_t dist_seg_body(double *restrict v, const double *restrict r, double ri,
				   size_t len)
{
	size_t j, bad = 0;

	for (j = 0; j < len; j++) {
		double s = ri + r[j];
		double dd = s - 2.0 * v[j];

		bad += dd <= s * DIST_RECHECK;
		v[j] = dd;
	}
	return bad;
}

/* The same loops built twice: for the baseline x86-64 (SSE2) and, chosen at run time, for
 * AVX2 + FMA, where the exp polynomial runs about twice as fast. Results differ in the last
 * bits between the two (FMA contraction), so they are reproducible per machine. */
#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_AVX2_CLONE 1
__attribute__((target("avx2,fma"))) static double
kernel_seg_avx2(double *dst, const double *src, double *restrict cs, size_t len, double ngamma)
{
	return kernel_seg_body(dst, src, cs, len, ngamma);
}

__attribute__((target("avx2,fma"))) static size_t
dist_seg_avx2(double *restrict v, const double *restrict r, double ri, size_t len)
{
	return dist_seg_body(v, r, ri, len);
}
#endif

static double kernel_seg_base(double *dst, const double *src, double *restrict cs, size_t len,
			      double ngamma)
{
	return kernel_seg_body(dst, src, cs, len, ngamma);
}

static size_t dist_seg_base(double *restrict v, const double *restrict r, double ri, size_t len)
{
	return dist_seg_body(v, r, ri, len);
}

/* Pooled, standardised rows and what the kernel passes need about them. */
struct pool {
	const double *z; /* N x du, row-major */
	const double *r; /* ||z_i||^2 */
	size_t N, n, du;
	int avx2;
};

static double sqdist(const double *a, const double *b, size_t d)
{
	double s = 0.0;
	size_t k;

	for (k = 0; k < d; k++)
		s += (a[k] - b[k]) * (a[k] - b[k]);
	return s;
}

/* Turn the Gram entries in row i, columns [j0, j0 + len), into squared distances. */
static void row_dists(const struct pool *pl, double *seg, size_t i, size_t j0, size_t len)
{
	const double *r = pl->r;
	size_t bad, t;

#ifdef HAVE_AVX2_CLONE
	if (pl->avx2)
		bad = dist_seg_avx2(seg, r + j0, r[i], len);
	else
#endif
		bad = dist_seg_base(seg, r + j0, r[i], len);
	if (!bad)
		return;
	for (t = 0; t < len; t++)
		if (seg[t] <= (r[i] + r[j0 + t]) * DIST_RECHECK)
			seg[t] = sqdist(pl->z + i * pl->du, pl->z + (j0 + t) * pl->du, pl->du);
}

/* Kernel sums of the observed split, over pairs i < j; Sum_{i != j} counts each twice. */
struct ksums {
	double xx, xy, yy;
};

/* Kernel values of row i, columns [j0, j0 + len), from the squared distances in src to dst;
 * adds them to the column sums c[j0..) and to c[i], and to the observed split's sums. */
static void row_kernel(const struct pool *pl, double *dst, const double *src, size_t i, size_t j0,
		       size_t len, double ngamma, double *c, struct ksums *ks)
{
	size_t nx = j0 < pl->n ? pl->n - j0 : 0, part;
	double sx = 0.0, sy = 0.0;

	/* columns below n are reference rows, the rest current */
	nx = nx < len ? nx : len;
	for (part = 0; part < 2; part++) {
		size_t off = part ? nx : 0, w = part ? len - nx : nx;
		double s;

		if (!w)
			continue;
#ifdef HAVE_AVX2_CLONE
		if (pl->avx2)
			s = kernel_seg_avx2(dst + off, src + off, c + j0 + off, w, ngamma);
		else
#endif
			s = kernel_seg_base(dst + off, src + off, c + j0 + off, w, ngamma);
		if (part)
			sy += s;
		else
			sx += s;
	}
	c[i] += sx + sy;
	if (i < pl->n) {
		ks->xx += sx;
		ks->xy += sy;
	} else {
		ks->xy += sx;
		ks->yy += sy;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The k-th smallest (0-based) of v[0..len), reordering v: Wirth's FIND (Hoare partitions
 * around a middle pivot, which also copes with runs of equal values). A partition budget of
 * ~2 log2(len) rounds keeps the worst case at O(len log len) by sorting what is left. */
static double select_kth(double *v, size_t len, size_t k)
{
	size_t lo = 0, hi = len - 1, budget = 8;

	for (size_t s = len; s > 1; s >>= 1)
		budget += 2;
	while (lo < hi) {
		double x = v[lo + (hi - lo) / 2];
		size_t i = lo, j = hi;

		if (budget-- == 0) {
			qsort(v + lo, hi - lo + 1, sizeof(*v), cmp_double);
			break;
		}
		for (;;) {
			while (v[i] < x)
				i++;
			while (x < v[j])
				j--;
			if (i <= j) {
				double t = v[i];

				v[i] = v[j];
				v[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
			if (i > j)
				break;
		}
		/* now v[lo..j] <= x <= v[i..hi] and everything in between equals x */
		if (j < k)
			lo = i;
		if (k < i)
			hi = j;
		if (j < k && k < i)
			break;
	}
	return v[k];
}

/* The strict upper triangle of K (each unordered pair once) in two BLAS-ready pieces that
 * fill ~N^2/2 doubles, instead of the upper half of an N x N array, whose pages would all
 * be touched and zeroed anyway. With h1 = N/2, h2 = N - h1 and blocks 1 = [0, h1),
 * 2 = [h1, N) of the pooled rows:
 *	k12: K[i][h1 + j] at k12[i * h2 + j], an h1 x h2 row-major matrix;
 *	t:   (h2 + 1) x h2 row-major: K[h1 + i][h1 + j] for i < j at t[i * h2 + j] (strict upper)
 *	     and K[i][j] for j < i < h1 at t[(i + 1) * h2 + j], one row down (strict lower,
 *	     which then never meets the strict upper part).
 * The layout is LAPACK's rectangular full packed format, split differently. */
struct kmat {
	double *t, *k12;
	size_t h1, h2;
};

/* Where row i's values for columns [j0, j0 + len) are; see row_segs for which exist. */
static double *kmat_at(const struct kmat *km, size_t i, size_t j0)
{
	if (i < km->h1)
		return j0 < km->h1 ? km->t + (i + 1) * km->h2 + j0
				   : km->k12 + i * km->h2 + (j0 - km->h1);
	return km->t + (i - km->h1) * km->h2 + (j0 - km->h1);
}

/* The stored segments of row i with columns below lim, as [j0[s], j0[s] + len[s]): for
 * i < h1, [0, i) and [h1, N); for i >= h1, (i, N). Over i < lim they hold every pair of
 * distinct rows below lim once. Returns how many (0 to 2). */
static size_t row_segs(const struct kmat *km, size_t i, size_t lim, size_t *j0, size_t *len)
{
	size_t h1 = km->h1, ns = 0;

	if (i >= h1) {
		j0[0] = i + 1;
		len[0] = lim > i + 1 ? lim - i - 1 : 0;
		return len[0] ? 1 : 0;
	}
	if (i) {
		j0[ns] = 0;
		len[ns++] = i < lim ? i : lim;
	}
	if (lim > h1) {
		j0[ns] = h1;
		len[ns++] = lim - h1;
	}
	return ns;
}

/* The Gram entries z_i . z_j of every stored pair, in three large BLAS calls (two dsyrk for
 * the triangles, a dgemm for K12): large calls keep OpenBLAS's threads busy, where small
 * per-block calls spend their time waking them. */
static void kmat_gram(const struct kmat *km, const double *z, size_t du)
{
	int h1 = (int)km->h1, h2 = (int)km->h2, d = (int)du;
	const double *z2 = z + km->h1 * du;

	/* t + h2 lower, its diagonal included, is t's subdiagonal and below: clear of t's upper */
	cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, h1, d, 1.0, z, d, 0.0, km->t + km->h2,
		    h2);
	cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, h2, d, 1.0, z2, d, 0.0, km->t, h2);
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, h1, h2, d, 1.0, z, d, z2, d, 0.0,
		    km->k12, h2);
}

/* B := (U + I) B for the N x w column-major assignment matrix B, U any strict half of K:
 * block 1 by its triangle in t, plus K12 times the still unchanged block 2, then block 2. */
static void kmat_apply(const struct kmat *km, double *B, size_t N, size_t w)
{
	int h1 = (int)km->h1, h2 = (int)km->h2, ld = (int)N;

	/* t + h2 as a column-major h2-stride matrix: its upper triangle is K[r][c], r < c < h1 */
	cblas_dtrmm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasUnit, h1, (int)w, 1.0,
		    km->t + km->h2, h2, B, ld);
	/* k12 column-major is K12^T (h2 x h1) */
	cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, h1, (int)w, h2, 1.0, km->k12, h2,
		    B + h1, ld, 1.0, B, ld);
	/* t column-major: its lower triangle is K[h1 + c][h1 + r], r > c */
	cblas_dtrmm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasUnit, h2, (int)w, 1.0,
		    km->t, h2, B + h1, ld);
}

/* Histogram (hist != NULL: first pass, which also turns the Gram entries into squared
 * distances in place) or collect into cand those in bin `bin` (second pass): the squared
 * distances between distinct reference rows. Returns the number collected. */
static size_t ref_dist_pass(const struct pool *pl, const struct kmat *km, size_t *hist, size_t bin,
			    double *cand)
{
	size_t n = pl->n, i, s, j, nc = 0, j0[2], len[2];
	uint64_t key;

	for (i = 0; i < n; i++) {
		size_t ns = row_segs(km, i, n, j0, len);

		for (s = 0; s < ns; s++) {
			double *seg = kmat_at(km, i, j0[s]);

			if (hist)
				row_dists(pl, seg, i, j0[s], len[s]);
			for (j = 0; j < len[s]; j++) {
				memcpy(&key, seg + j, sizeof(key));
				if (hist)
					hist[key >> HIST_SHIFT]++;
				else if ((key >> HIST_SHIFT) == bin)
					cand[nc++] = seg[j];
			}
		}
	}
	return nc;
}

/* Lower median, element (P - 1) / 2 of the ascending P = n(n-1)/2 squared distances between
 * distinct reference rows. Two passes instead of a copy of all P values and a selection over
 * them: a histogram on the top bits (order-preserving for non-negative doubles) finds the
 * bin holding the wanted rank, then only that bin is copied out and searched.
 * Returns 0 or -ENOMEM. */
static int ref_lower_median(const struct pool *pl, const struct kmat *km, double *med)
{
	size_t n = pl->n, P = n * (n - 1) / 2, want = (P - 1) / 2;
	size_t *hist = NULL, below = 0, bin, nc;
	double *cand = NULL;
	int ret = -ENOMEM;

	hist = calloc(HIST_BINS, sizeof(*hist));
	if (!hist)
		goto out;
	ref_dist_pass(pl, km, hist, 0, NULL);
	for (bin = 0; below + hist[bin] <= want; bin++)
		below += hist[bin];
	cand = malloc(hist[bin] * sizeof(*cand));
	if (!cand)
		goto out;
	nc = ref_dist_pass(pl, km, NULL, bin, cand);
	*med = select_kth(cand, nc, want - below);
	ret = 0;
out:
	free(cand);
	free(hist);
	return ret;
}

/* Unbiased MMD^2 of one assignment from q = a^T (U + I) a and ca = c^T a (see the top). */
static double perm_mmd2(double q, double ca, double S, double n, double m)
{
	double fxx = 2.0 * q - n, sxy = ca - fxx, fyy = S - fxx - 2.0 * sxy;

	return (fxx - n) / (n * (n - 1.0)) + (fyy - m) / (m * (m - 1.0)) - 2.0 * sxy / (n * m);
}

/* Count the permuted statistics >= the observed one (less TIE_REL of the mean kernel value).
 * Column 0 of the first batch is the observed assignment (pooled rows 0..n); column p >= 1
 * is permutation p: pooled indices 0..N-1 shuffled by gsl_ran_shuffle, the first n of them
 * are "reference". Returns 0 or -ENOMEM. */
static int count_perms(const struct kmat *km, const double *c, double S, size_t N, size_t n,
		       size_t perms, gsl_rng *rng, size_t *count)
{
	size_t cols = perms + 1, p0, nb, col, t, i, ge = 0;
	double *B = NULL, obs = 0.0, tol = TIE_REL * S / ((double)N * (double)N);
	unsigned char *mask = NULL;
	size_t *idx = NULL;
	int ret = -ENOMEM;

	nb = cols < BATCH ? cols : BATCH;
	B = malloc(N * nb * sizeof(*B));
	mask = malloc(N * nb);
	idx = malloc(N * sizeof(*idx));
	if (!B || !mask || !idx)
		goto out;
	for (p0 = 0; p0 < cols; p0 += nb) {
		size_t w = cols - p0 < nb ? cols - p0 : nb;

		memset(mask, 0, N * w);
		for (col = 0; col < w; col++) {
			unsigned char *a = mask + col * N;

			if (p0 + col == 0) {
				memset(a, 1, n);
				continue;
			}
			for (t = 0; t < N; t++)
				idx[t] = t;
			gsl_ran_shuffle(rng, idx, N, sizeof(*idx));
			for (t = 0; t < n; t++)
				a[idx[t]] = 1;
		}
		for (t = 0; t < N * w; t++)
			B[t] = mask[t];
		kmat_apply(km, B, N, w);
		for (col = 0; col < w; col++) {
			const unsigned char *a = mask + col * N;
			const double *b = B + col * N;
			double q = 0.0, ca = 0.0, stat;

			for (i = 0; i < N; i++)
				if (a[i]) {
					q += b[i];
					ca += c[i];
				}
			stat = perm_mmd2(q, ca, S, (double)n, (double)(N - n));
			if (p0 + col == 0)
				obs = stat;
			else
				ge += stat >= obs - tol;
		}
	}
	*count = ge;
	ret = 0;
out:
	free(idx);
	free(mask);
	free(B);
	return ret;
}

/* The kernel matrix buffer; from 2 MiB up aligned to 2 MiB and offered to transparent huge
 * pages: on 4 KiB pages its first-touch faults cost more than all the permutations
 * (n = m = 2000). */
static double *alloc_kernel(size_t count)
{
	size_t bytes = count * sizeof(double), huge = (size_t)1 << 21;
	void *p = NULL;

	if (bytes < huge)
		return malloc(bytes);
	if (posix_memalign(&p, huge, bytes))
		return NULL;
#ifdef MADV_HUGEPAGE
	(void)madvise(p, bytes, MADV_HUGEPAGE); /* advice only: failure changes nothing */
#endif
	return p;
}

/* Kernel matrix, column sums, observed statistic and p-value from the pooled rows.
 * Returns 0, -EDOM (median distance 0) or -ENOMEM. */
static int mmd_pool(const struct pool *pl, size_t perms, gsl_rng *rng, struct stats_mmd *out)
{
	size_t N = pl->N, n = pl->n, m = N - n, i, s, ns, ge = 0, j0[2], len[2];
	double *c = NULL, med, ngamma, S = 0.0;
	struct ksums ks = {0.0, 0.0, 0.0};
	struct kmat km;
	int ret = -ENOMEM;

	km.h1 = N / 2;
	km.h2 = N - km.h1;
	km.t = alloc_kernel(km.h2 * (N + 1));
	c = calloc(N, sizeof(*c));
	if (!km.t || !c)
		goto out;
	km.k12 = km.t + (km.h2 + 1) * km.h2;
	kmat_gram(&km, pl->z, pl->du);

	ret = ref_lower_median(pl, &km, &med);
	if (ret)
		goto out;
	if (!(med > 0.0)) {
		ret = -EDOM; /* most reference pairs coincide: no bandwidth */
		goto out;
	}
	out->sigma = sqrt(med / 2.0);
	ngamma = -1.0 / med; /* -1 / (2 sigma^2) */

	for (i = 0; i < N; i++) {
		ns = row_segs(&km, i, N, j0, len);
		for (s = 0; s < ns; s++) {
			double *seg = kmat_at(&km, i, j0[s]);
			size_t done = 0;

			/* reference pairs hold distances already (median pass) */
			if (i < n && j0[s] < n)
				done = n - j0[s] < len[s] ? n - j0[s] : len[s];
			row_dists(pl, seg + done, i, j0[s] + done, len[s] - done);
			row_kernel(pl, seg, seg, i, j0[s], len[s], ngamma, c, &ks);
		}
		c[i] += 1.0;
	}
	for (i = 0; i < N; i++)
		S += c[i];
	/* the sums are over i < j: each off-diagonal pair counts twice in Sum_{i != j} */
	out->mmd2 = 2.0 * ks.xx / ((double)n * (double)(n - 1)) +
		    2.0 * ks.yy / ((double)m * (double)(m - 1)) -
		    2.0 * ks.xy / ((double)n * (double)m);

	out->permutations = perms;
	out->p_value = 1.0;
	if (perms) {
		ret = count_perms(&km, c, S, N, n, perms, rng, &ge);
		if (ret)
			goto out;
		out->p_value = (1.0 + (double)ge) / (1.0 + (double)perms);
	}
	ret = 0;
out:
	free(c);
	free(km.t);
	return ret;
}

/* used[j] = 1 when reference column j has two or more non-missing values that are not all
 * equal. Equality rather than a computed variance of 0: the mean of a constant column need
 * not round back to the constant. Returns the number of used features. */
static size_t pick_features(const double *x, size_t n, size_t d, int *used)
{
	size_t i, j, nu = 0;

	for (j = 0; j < d; j++) {
		double lo = INFINITY, hi = -INFINITY;
		size_t cnt = 0;

		for (i = 0; i < n; i++) {
			double v = x[i * d + j];

			if (isnan(v))
				continue;
			cnt++;
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
		used[j] = cnt >= 2 && lo < hi;
		nu += (size_t)used[j];
	}
	return nu;
}

/* Indices of the rows with no NaN in a used feature, in order; returns their number. */
static size_t keep_rows(const double *x, size_t n, size_t d, const int *used, size_t *keep)
{
	size_t i, j, nk = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < d; j++)
			if (used[j] && isnan(x[i * d + j]))
				break;
		if (j == d)
			keep[nk++] = i;
	}
	return nk;
}

/* Mean and sample standard deviation (n - 1, two-pass) of each used feature over the kept
 * reference rows. A feature whose variation was all in dropped rows is left out too.
 * Returns the number of used features, or 0 with -EDOM in *err for a standard deviation
 * that overflows. */
static size_t ref_moments(const double *x, size_t d, const size_t *keep, size_t nk, int *used,
			  double *mean, double *sd, int *err)
{
	size_t i, j, nu = 0;

	for (j = 0; j < d; j++) {
		double s = 0.0, ss = 0.0, first;
		int varies = 0;

		if (!used[j])
			continue;
		first = x[keep[0] * d + j];
		for (i = 0; i < nk; i++) {
			s += x[keep[i] * d + j];
			varies |= x[keep[i] * d + j] != first;
		}
		mean[j] = s / (double)nk;
		for (i = 0; i < nk; i++) {
			double dev = x[keep[i] * d + j] - mean[j];

			ss += dev * dev;
		}
		sd[j] = sqrt(ss / (double)(nk - 1));
		if (!varies) {
			used[j] = 0; /* XXX: rows dropped for a NaN here stay dropped */
			continue;
		}
		if (!isfinite(sd[j]) || !(sd[j] > 0.0)) {
			*err = -EDOM;
			return 0;
		}
		nu++;
	}
	return nu;
}

/* Reduce keep[0..*nk) to max_rows entries chosen by gsl_ran_choose (order kept). */
static int subsample(gsl_rng *rng, size_t *keep, size_t *nk, size_t max_rows)
{
	size_t *sel;

	if (*nk <= max_rows)
		return 0;
	sel = malloc(max_rows * sizeof(*sel));
	if (!sel)
		return -ENOMEM;
	gsl_ran_choose(rng, sel, max_rows, keep, *nk, sizeof(*keep));
	memcpy(keep, sel, max_rows * sizeof(*sel));
	free(sel);
	*nk = max_rows;
	return 1;
}

/* Standardised rows of x listed in keep, used features only, appended to z; their squared
 * norms to r. -EDOM when a norm is too large for the Gram formula to stay finite. */
static int standardise(const double *x, size_t d, const size_t *keep, size_t nk, const int *used,
		       const double *mean, const double *sd, double *z, double *r)
{
	size_t i, j;

	for (i = 0; i < nk; i++) {
		const double *row = x + keep[i] * d;
		double s = 0.0;

		for (j = 0; j < d; j++) {
			if (!used[j])
				continue;
			*z = (row[j] - mean[j]) / sd[j];
			s += *z * *z;
			z++;
		}
		if (!(s < 0x1p1000))
			return -EDOM;
		r[i] = s;
	}
	return 0;
}

static int has_inf(const double *x, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (isinf(x[i]))
			return 1;
	return 0;
}

int stats_mmd(const double *x, size_t n, const double *y, size_t m, size_t d,
	      const struct stats_mmd_opts *opts, int *used, struct stats_mmd *out)
{
	struct stats_mmd_opts o = {STATS_MMD_DEFAULT_PERMUTATIONS, 0, STATS_MMD_DEFAULT_MAX_ROWS};
	size_t *kx = NULL, *ky = NULL, nx, ny, nu, N;
	double *mean = NULL, *sd = NULL, *z = NULL, *r = NULL;
	gsl_rng *rng = NULL;
	struct pool pl;
	int ret, sub;

	if (!x || !y || !used || !out || !n || !m || !d)
		return -EINVAL;
	if (opts)
		o = *opts;
	if (!o.max_rows)
		o.max_rows = STATS_MMD_DEFAULT_MAX_ROWS;
	if (o.max_rows < 2 || o.permutations == SIZE_MAX || n > SIZE_MAX / d || m > SIZE_MAX / d)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (has_inf(x, n * d) || has_inf(y, m * d))
		return -EINVAL;

	ret = -ENOMEM;
	kx = malloc(n * sizeof(*kx));
	ky = malloc(m * sizeof(*ky));
	mean = calloc(d, sizeof(*mean));
	sd = calloc(d, sizeof(*sd));
	if (!kx || !ky || !mean || !sd)
		goto out;
	ret = -EDOM;
	if (!pick_features(x, n, d, used))
		goto out;
	nx = keep_rows(x, n, d, used, kx);
	ny = keep_rows(y, m, d, used, ky);
	out->dropped_reference = n - nx;
	out->dropped_current = m - ny;
	if (nx < 2 || ny < 2)
		goto out;
	nu = ref_moments(x, d, kx, nx, used, mean, sd, &ret);
	if (!nu)
		goto out;

	rng = gsl_rng_alloc(gsl_rng_mt19937);
	if (!rng) {
		ret = -ENOMEM;
		goto out;
	}
	gsl_rng_set(rng, (unsigned long)(o.seed ^ (o.seed >> 32)));
	sub = subsample(rng, kx, &nx, o.max_rows);
	if (sub >= 0)
		sub |= subsample(rng, ky, &ny, o.max_rows);
	if (sub < 0) {
		ret = sub;
		goto out;
	}
	out->subsampled = sub;
	out->n_reference = nx;
	out->n_current = ny;

	N = nx + ny;
	if (N > INT_MAX || N + 1 > SIZE_MAX / sizeof(double) / N) {
		ret = -ENOMEM;
		goto out;
	}
	z = malloc(N * nu * sizeof(*z));
	r = malloc(N * sizeof(*r));
	if (!z || !r) {
		ret = -ENOMEM;
		goto out;
	}
	ret = standardise(x, d, kx, nx, used, mean, sd, z, r);
	if (!ret)
		ret = standardise(y, d, ky, ny, used, mean, sd, z + nx * nu, r + nx);
	if (ret)
		goto out;

	pl.z = z;
	pl.r = r;
	pl.N = N;
	pl.n = nx;
	pl.du = nu;
#ifdef HAVE_AVX2_CLONE
	pl.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
	pl.avx2 = 0;
#endif
	ret = mmd_pool(&pl, o.permutations, rng, out);
out:
	if (ret) {
		/* no partial statistic: only the counts established so far stay */
		out->mmd2 = 0.0;
		out->sigma = 0.0;
		out->p_value = 0.0;
		out->permutations = 0;
	}
	if (rng)
		gsl_rng_free(rng);
	free(r);
	free(z);
	free(sd);
	free(mean);
	free(ky);
	free(kx);
	return ret;
}
