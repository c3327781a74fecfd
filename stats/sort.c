/* SPDX-License-Identifier: MIT
 * stats/sort.c - LSD radix sort of doubles on their IEEE-754 bit patterns
 *
 * A double maps to an unsigned 64-bit key whose unsigned order is the numeric order: flip
 * the sign bit of a non-negative number, invert every bit of a negative one (so -0.0 comes
 * just before +0.0, and -inf/+inf land at the ends). The keys are then sorted by six
 * passes of 11-bit digits (the last one 9 bits), least significant first, each a stable
 * counting scatter between the array and one scratch buffer. All six histograms are
 * counted in a single read pass, and a pass whose digit is the same for every key (common:
 * the exponent bits of data on one scale, the low mantissa bits of rounded data) is
 * skipped. Small inputs go through an insertion sort instead.
 */
#include "stats/sort.h"

#include <stdlib.h>
#include <string.h>

#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)
#define RADIX_MASK (RADIX_SIZE - 1)
#define RADIX_PASSES 6 /* ceil(64 / 11) */
#define SMALL_N 48     /* insertion sort below this */

/* Order-preserving map double -> uint64 and back. */
static inline uint64_t key_of(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u ^ ((uint64_t)-(int64_t)(u >> 63) | UINT64_C(0x8000000000000000));
}

static inline double double_of(uint64_t k)
{
	uint64_t u = k ^ (((k >> 63) - 1) | UINT64_C(0x8000000000000000));
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

/* Like key_of, but -0.0 gets the key of +0.0 so that the two compare equal (argsort is
 * stable with respect to numeric equality). */
static inline uint64_t key_of_canon(double d)
{
	return key_of(d == 0.0 ? 0.0 : d);
}

static inline unsigned digit(uint64_t k, unsigned pass)
{
	return (unsigned)(k >> (pass * RADIX_BITS)) & RADIX_MASK;
}

/* Doubles in place, compared through their keys (so -0.0 < +0.0 as in the radix path). */
static void insertion_sort(double *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		double x = v[i];
		uint64_t kx = key_of(x);
		size_t j = i;

		while (j > 0 && key_of(v[j - 1]) > kx) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

/* Turn the counts of one digit into starting offsets. Returns 0 when every key has the
 * same digit (the pass can be skipped). */
static int offsets_from_counts(size_t *cnt, size_t n)
{
	size_t sum = 0;

	for (unsigned b = 0; b < RADIX_SIZE; b++) {
		size_t c = cnt[b];

		if (c == n)
			return 0;
		cnt[b] = sum;
		sum += c;
	}
	return 1;
}

int stats_sort(double *v, size_t n)
{
	unsigned char *vb = (unsigned char *)v; /* v's storage, holding keys between passes */
	uint64_t *b;
	size_t *hist;
	int in_b = 1; /* where the keys currently are: b, or v's storage */

	if (n < 2)
		return 0;
	if (!v)
		return -EINVAL;
	if (n < SMALL_N) {
		insertion_sort(v, n);
		return 0;
	}

	hist = calloc(RADIX_PASSES * RADIX_SIZE, sizeof(*hist));
	b = malloc(n * sizeof(*b));
	if (!hist || !b) {
		free(hist);
		free(b);
		return -ENOMEM;
	}

	for (size_t i = 0; i < n; i++) {
		uint64_t k = key_of(v[i]);

		b[i] = k;
		for (unsigned p = 0; p < RADIX_PASSES; p++)
			hist[p * RADIX_SIZE + digit(k, p)]++;
	}

	/* Keys ping-pong between b and v's bytes; memcpy keeps the type punning legal. */
	for (unsigned p = 0; p < RADIX_PASSES; p++) {
		size_t *off = hist + p * RADIX_SIZE;
		unsigned shift = p * RADIX_BITS;

		if (!offsets_from_counts(off, n))
			continue;
		if (in_b) {
			for (size_t i = 0; i < n; i++) {
				uint64_t k = b[i];

				memcpy(vb + 8 * off[(k >> shift) & RADIX_MASK]++, &k, 8);
			}
		} else {
			for (size_t i = 0; i < n; i++) {
				uint64_t k;

				memcpy(&k, vb + 8 * i, 8);
				b[off[(k >> shift) & RADIX_MASK]++] = k;
			}
		}
		in_b = !in_b;
	}

	for (size_t i = 0; i < n; i++) {
		uint64_t k;

		if (in_b)
			k = b[i];
		else
			memcpy(&k, vb + 8 * i, 8);
		v[i] = double_of(k);
	}
	free(b);
	free(hist);
	return 0;
}

/* Stable insertion argsort on canonical keys. */
static void insertion_argsort(const double *keys, size_t n, uint32_t *idx)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t k = key_of_canon(keys[i]);
		size_t j = i;

		while (j > 0 && key_of_canon(keys[idx[j - 1]]) > k) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = (uint32_t)i;
	}
}

int stats_argsort(const double *keys, size_t n, uint32_t *idx)
{
	uint64_t *ka, *kb;
	uint32_t *ia, *ib;
	size_t *hist;
	int ret = 0;

	if (n == 0)
		return 0;
	if (!keys || !idx || n > UINT32_MAX)
		return -EINVAL;
	if (n < SMALL_N) {
		insertion_argsort(keys, n, idx);
		return 0;
	}

	hist = calloc(RADIX_PASSES * RADIX_SIZE, sizeof(*hist));
	ka = malloc(n * sizeof(*ka));
	kb = malloc(n * sizeof(*kb));
	ib = malloc(n * sizeof(*ib));
	if (!hist || !ka || !kb || !ib) {
		ret = -ENOMEM;
		goto out;
	}

	for (size_t i = 0; i < n; i++) {
		uint64_t k = key_of_canon(keys[i]);

		ka[i] = k;
		idx[i] = (uint32_t)i;
		for (unsigned p = 0; p < RADIX_PASSES; p++)
			hist[p * RADIX_SIZE + digit(k, p)]++;
	}

	/* (ka, ia) is the current order; the result must end in idx. */
	ia = idx;
	for (unsigned p = 0; p < RADIX_PASSES; p++) {
		size_t *off = hist + p * RADIX_SIZE;
		unsigned shift = p * RADIX_BITS;
		uint64_t *kt;
		uint32_t *it;

		if (!offsets_from_counts(off, n))
			continue;
		for (size_t i = 0; i < n; i++) {
			uint64_t k = ka[i];
			size_t o = off[(k >> shift) & RADIX_MASK]++;

			kb[o] = k;
			ib[o] = ia[i];
		}
		kt = ka, ka = kb, kb = kt;
		it = ia, ia = ib, ib = it;
	}
	if (ia != idx) {
		memcpy(idx, ia, n * sizeof(*idx));
		ib = ia; /* the malloc'ed buffer, freed below */
	}
out:
	free(ib);
	free(kb);
	free(ka);
	free(hist);
	return ret;
}
