/* SPDX-License-Identifier: MIT
 * collectors/csv.c - memory-mapped CSV reader: one index pass at open, cells parsed on demand
 *
 * col_csv_open maps the file (or reads it, for pipes), checks the header and every record's
 * cell count in one pass, and keeps only where each record starts (8 bytes a row) plus, once
 * a quoted cell spans lines, each record's line number. While no '"' has been seen the pass
 * takes 64 bytes a step, turning newline, comma and quote positions into bit masks (SSE2,
 * or a portable loop) and counting commas between newlines with popcount; at the first
 * record holding a quote it switches to a byte-wise quote-aware scan for the rest of the
 * file. Reading a cell re-scans its record, so the column parsers walk each row once and
 * parse the wanted cells in place (no copy, no NUL), split by rows over a few threads.
 * Numbers: Clinger's fast path, then a 128-bit power-of-five product (the idea of Lemire's
 * "Number parsing at a gigabyte per second", with our own error bound that falls back
 * instead of guessing), then strtod on a NUL-terminated copy; all three round identically.
 *
 * Nothing here is global or mutable after open, so readers on different threads need no
 * locks; the one exception is the unescaping buffer behind col_csv_cell.
 */
#include "config.h"

#include "collectors/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define NONE SIZE_MAX
/* eight digits at a time need the first byte in the low bits of a uint64_t */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR_DIGITS 1
#else
#define SWAR_DIGITS 0
#endif
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define MAX_THREADS 8
#define PAR_MIN_ROWS 20000
#define PAR_MIN_CELLS 200000
#define LOCAL_NUM 128 /* numbers up to this long are copied to the stack for strtod */

struct col_csv {
	char *path;
	const char *data; /* the file after any BOM, size bytes, not NUL-terminated */
	size_t size;
	void *map; /* mmap()ed file, or NULL */
	size_t maplen;
	char *heap; /* read() copy of the file, or NULL */
	size_t ncols;
	size_t nrows;
	size_t *rec;   /* rec[r]: offset of data record r; rec[nrows]: end of the last one */
	size_t *lines; /* line of each record, or NULL when it is first_line + r */
	size_t first_line;
	char **names;
	char *namebuf;
	size_t *hash; /* open addressing over names: column + 1, 0 = empty */
	size_t hmask;
	char *unq; /* unescaping buffer for col_csv_cell, unqcap bytes */
	size_t unqcap;
};

static void msg(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Format one error message into err[0..errlen), if there is room for one. */
static void msg(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Copy s[0..len) into buf for a message: control bytes and '"' and '\\' escaped, at most max
 * source bytes then "...". buf must hold 4 * max + 4 bytes. */
static const char *show(const char *s, size_t len, size_t max, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	char *o = buf;
	size_t i;

	for (i = 0; i < len && i < max; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f) {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[ch >> 4];
			*o++ = hex[ch & 15];
		} else {
			if (ch == '"' || ch == '\\')
				*o++ = '\\';
			*o++ = (char)ch;
		}
	}
	if (i < len)
		for (int k = 0; k < 3; k++)
			*o++ = '.';
	*o = '\0';
	return buf;
}

#define SHOW_MAX 60
#define SHOW_BUF (4 * SHOW_MAX + 4)

/* "column \"age\"" for data records, "column 3" for the header or a cell past the last. */
static const char *colname(const struct col_csv *c, size_t j, char *buf, size_t cap)
{
	if (c->names && j < c->ncols) {
		char tmp[SHOW_BUF];

		snprintf(buf, cap, "column \"%s\"",
			 show(c->names[j], strlen(c->names[j]), SHOW_MAX, tmp));
	} else {
		snprintf(buf, cap, "column %zu", j + 1);
	}
	return buf;
}

static inline int is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r';
}

static inline int is_digit(char ch)
{
	return (unsigned char)(ch - '0') < 10;
}

/* ---- numbers ---------------------------------------------------------------------------- */

/* A decimal read from text: w * 10^q, exact unless trunc (more than 19 significant digits
 * and a dropped one is not zero). */
struct dec {
	uint64_t w;
	int64_t q;
	int neg;
	int trunc;
};

#if SWAR_DIGITS
/* How many of the eight bytes in x (loaded little-endian: the first byte is the lowest) are
 * ASCII digits before the first non-digit. Bytes below the first non-digit neither carry nor
 * borrow, so that byte is the lowest one flagged (fast_float's digit test, made positional). */
static inline unsigned digit_run(uint64_t x)
{
	uint64_t m =
		((x + 0x4646464646464646ULL) | (x - 0x3030303030303030ULL)) & 0x8080808080808080ULL;

	return m ? (unsigned)__builtin_ctzll(m) >> 3 : 8;
}

/* The value of eight digit values (0..9, most significant in the lowest byte): fast_float's
 * SWAR reduction, pairs then quads then halves. */
static inline uint32_t eight_value(uint64_t x)
{
	x = x * 10 + (x >> 8);
	x = (((x & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
	     (((x >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >>
	    32;
	return (uint32_t)x;
}

static const uint64_t pow10_u64[9] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
};
#endif

/* Read a run of digits into d: 19 significant digits at most; a digit after the '.' (frac)
 * lowers the exponent when kept, a digit before it raises the exponent when dropped. */
static ALWAYS_INLINE const char *digits(const char *p, const char *end, int frac, struct dec *d,
					int *nd)
{
	if (*nd == 0) {
		while (p < end && *p == '0') {
			p++;
			d->q -= frac;
		}
	}
#if SWAR_DIGITS
	/* up to eight digits a step while they surely fit; after the leading zeros every digit
	 * is significant, so nd stays exact */
	while (*nd <= 11 && end - p >= 8) {
		uint64_t x;
		unsigned k;

		memcpy(&x, p, 8);
		k = digit_run(x);
		if (!k)
			return p;
		x -= 0x3030303030303030ULL;
		if (k < 8)
			x <<= 8 * (8 - k); /* drop the bytes after the run; zeros lead */
		d->w = d->w * pow10_u64[k] + eight_value(x);
		*nd += (int)k;
		d->q -= (int64_t)k * frac;
		p += k;
		if (k < 8)
			return p;
	}
#endif
	for (; p < end && is_digit(*p); p++) {
		unsigned dig = (unsigned)(*p - '0');

		if (*nd < 19) {
			d->w = d->w * 10 + dig;
			(*nd)++;
			d->q -= frac;
		} else {
			d->q += !frac;
			d->trunc |= dig != 0;
		}
	}
	return p;
}

/* Read the longest prefix of [p, end) that the grammar accepts (sign, digits, '.', exponent;
 * no blanks). Returns the end of that prefix, or NULL when it holds no digit. An 'e' not
 * followed by digits is left unread, as strtod leaves it. */
static ALWAYS_INLINE const char *decode(const char *p, const char *end, struct dec *d)
{
	const char *s;
	int nd = 0, any;

	d->w = 0;
	d->q = 0;
	d->neg = 0;
	d->trunc = 0;
	if (p < end) { /* branch-free: signs are unpredictable in real data */
		d->neg = *p == '-';
		p += *p == '-' || *p == '+';
	}
	s = p;
	p = digits(p, end, 0, d, &nd);
	any = p != s;
	if (p < end && *p == '.') {
		s = ++p;
		p = digits(p, end, 1, d, &nd);
		any |= p != s;
	}
	if (!any)
		return NULL;
	if (p < end && (*p == 'e' || *p == 'E')) {
		const char *e = p + 1;
		int64_t ev = 0;
		int eneg = 0;

		if (e < end && (*e == '+' || *e == '-')) {
			eneg = *e == '-';
			e++;
		}
		if (e < end && is_digit(*e)) {
			for (; e < end && is_digit(*e); e++)
				if (ev < 100000000) /* saturate: far beyond any double */
					ev = ev * 10 + (*e - '0');
			d->q += eneg ? -ev : ev;
			p = e;
		}
	}
	return p;
}

#if FLT_EVAL_METHOD == 0
/* Exact powers of ten for Clinger's fast path: all are exactly representable. */
static const double pow10_exact[23] = {
	1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};
#endif

#define P5_QMIN (-128)
#define P5_QMAX 127

/* pow5_128[q - P5_QMIN] = floor(5^q * 2^(127 - floor(log2(5^q)))), the 128 most significant
 * bits of 5^q rounded down (high word first), for q in [P5_QMIN, P5_QMAX]. Generated with
 * Python's exact fractions: t = floor(Fraction(5)**q * 2**(127 - e2)). */
static const uint64_t pow5_128[P5_QMAX - P5_QMIN + 1][2] = {
	{0xddd0467c64bce4a0, 0xac7cb3f6d05ddbde}, {0x8aa22c0dbef60ee4, 0x6bcdf07a423aa96b},
	{0xad4ab7112eb3929d, 0x86c16c98d2c953c6}, {0xd89d64d57a607744, 0xe871c7bf077ba8b7},
	{0x87625f056c7c4a8b, 0x11471cd764ad4972}, {0xa93af6c6c79b5d2d, 0xd598e40d3dd89bcf},
	{0xd389b47879823479, 0x4aff1d108d4ec2c3}, {0x843610cb4bf160cb, 0xcedf722a585139ba},
	{0xa54394fe1eedb8fe, 0xc2974eb4ee658828}, {0xce947a3da6a9273e, 0x733d226229feea32},
	{0x811ccc668829b887, 0x0806357d5a3f525f}, {0xa163ff802a3426a8, 0xca07c2dcb0cf26f7},
	{0xc9bcff6034c13052, 0xfc89b393dd02f0b5}, {0xfc2c3f3841f17c67, 0xbbac2078d443ace2},
	{0x9d9ba7832936edc0, 0xd54b944b84aa4c0d}, {0xc5029163f384a931, 0x0a9e795e65d4df11},
	{0xf64335bcf065d37d, 0x4d4617b5ff4a16d5}, {0x99ea0196163fa42e, 0x504bced1bf8e4e45},
	{0xc06481fb9bcf8d39, 0xe45ec2862f71e1d6}, {0xf07da27a82c37088, 0x5d767327bb4e5a4c},
	{0x964e858c91ba2655, 0x3a6a07f8d510f86f}, {0xbbe226efb628afea, 0x890489f70a55368b},
	{0xeadab0aba3b2dbe5, 0x2b45ac74ccea842e}, {0x92c8ae6b464fc96f, 0x3b0b8bc90012929d},
	{0xb77ada0617e3bbcb, 0x09ce6ebb40173744}, {0xe55990879ddcaabd, 0xcc420a6a101d0515},
	{0x8f57fa54c2a9eab6, 0x9fa946824a12232d}, {0xb32df8e9f3546564, 0x47939822dc96abf9},
	{0xdff9772470297ebd, 0x59787e2b93bc56f7}, {0x8bfbea76c619ef36, 0x57eb4edb3c55b65a},
	{0xaefae51477a06b03, 0xede622920b6b23f1}, {0xdab99e59958885c4, 0xe95fab368e45eced},
	{0x88b402f7fd75539b, 0x11dbcb0218ebb414}, {0xaae103b5fcd2a881, 0xd652bdc29f26a119},
	{0xd59944a37c0752a2, 0x4be76d3346f0495f}, {0x857fcae62d8493a5, 0x6f70a4400c562ddb},
	{0xa6dfbd9fb8e5b88e, 0xcb4ccd500f6bb952}, {0xd097ad07a71f26b2, 0x7e2000a41346a7a7},
	{0x825ecc24c873782f, 0x8ed400668c0c28c8}, {0xa2f67f2dfa90563b, 0x728900802f0f32fa},
	{0xcbb41ef979346bca, 0x4f2b40a03ad2ffb9}, {0xfea126b7d78186bc, 0xe2f610c84987bfa8},
	{0x9f24b832e6b0f436, 0x0dd9ca7d2df4d7c9}, {0xc6ede63fa05d3143, 0x91503d1c79720dbb},
	{0xf8a95fcf88747d94, 0x75a44c6397ce912a}, {0x9b69dbe1b548ce7c, 0xc986afbe3ee11aba},
	{0xc24452da229b021b, 0xfbe85badce996168}, {0xf2d56790ab41c2a2, 0xfae27299423fb9c3},
	{0x97c560ba6b0919a5, 0xdccd879fc967d41a}, {0xbdb6b8e905cb600f, 0x5400e987bbc1c920},
	{0xed246723473e3813, 0x290123e9aab23b68}, {0x9436c0760c86e30b, 0xf9a0b6720aaf6521},
	{0xb94470938fa89bce, 0xf808e40e8d5b3e69}, {0xe7958cb87392c2c2, 0xb60b1d1230b20e04},
	{0x90bd77f3483bb9b9, 0xb1c6f22b5e6f48c2}, {0xb4ecd5f01a4aa828, 0x1e38aeb6360b1af3},
	{0xe2280b6c20dd5232, 0x25c6da63c38de1b0}, {0x8d590723948a535f, 0x579c487e5a38ad0e},
	{0xb0af48ec79ace837, 0x2d835a9df0c6d851}, {0xdcdb1b2798182244, 0xf8e431456cf88e65},
	{0x8a08f0f8bf0f156b, 0x1b8e9ecb641b58ff}, {0xac8b2d36eed2dac5, 0xe272467e3d222f3f},
	{0xd7adf884aa879177, 0x5b0ed81dcc6abb0f}, {0x86ccbb52ea94baea, 0x98e947129fc2b4e9},
	{0xa87fea27a539e9a5, 0x3f2398d747b36224}, {0xd29fe4b18e88640e, 0x8eec7f0d19a03aad},
	{0x83a3eeeef9153e89, 0x1953cf68300424ac}, {0xa48ceaaab75a8e2b, 0x5fa8c3423c052dd7},
	{0xcdb02555653131b6, 0x3792f412cb06794d}, {0x808e17555f3ebf11, 0xe2bbd88bbee40bd0},
	{0xa0b19d2ab70e6ed6, 0x5b6aceaeae9d0ec4}, {0xc8de047564d20a8b, 0xf245825a5a445275},
	{0xfb158592be068d2e, 0xeed6e2f0f0d56712}, {0x9ced737bb6c4183d, 0x55464dd69685606b},
	{0xc428d05aa4751e4c, 0xaa97e14c3c26b886}, {0xf53304714d9265df, 0xd53dd99f4b3066a8},
	{0x993fe2c6d07b7fab, 0xe546a8038efe4029}, {0xbf8fdb78849a5f96, 0xde98520472bdd033},
	{0xef73d256a5c0f77c, 0x963e66858f6d4440}, {0x95a8637627989aad, 0xdde7001379a44aa8},
	{0xbb127c53b17ec159, 0x5560c018580d5d52}, {0xe9d71b689dde71af, 0xaab8f01e6e10b4a6},
	{0x9226712162ab070d, 0xcab3961304ca70e8}, {0xb6b00d69bb55c8d1, 0x3d607b97c5fd0d22},
	{0xe45c10c42a2b3b05, 0x8cb89a7db77c506a}, {0x8eb98a7a9a5b04e3, 0x77f3608e92adb242},
	{0xb267ed1940f1c61c, 0x55f038b237591ed3}, {0xdf01e85f912e37a3, 0x6b6c46dec52f6688},
	{0x8b61313bbabce2c6, 0x2323ac4b3b3da015}, {0xae397d8aa96c1b77, 0xabec975e0a0d081a},
	{0xd9c7dced53c72255, 0x96e7bd358c904a21}, {0x881cea14545c7575, 0x7e50d64177da2e54},
	{0xaa242499697392d2, 0xdde50bd1d5d0b9e9}, {0xd4ad2dbfc3d07787, 0x955e4ec64b44e864},
	{0x84ec3c97da624ab4, 0xbd5af13bef0b113e}, {0xa6274bbdd0fadd61, 0xecb1ad8aeacdd58e},
	{0xcfb11ead453994ba, 0x67de18eda5814af2}, {0x81ceb32c4b43fcf4, 0x80eacf948770ced7},
	{0xa2425ff75e14fc31, 0xa1258379a94d028d}, {0xcad2f7f5359a3b3e, 0x096ee45813a04330},
	{0xfd87b5f28300ca0d, 0x8bca9d6e188853fc}, {0x9e74d1b791e07e48, 0x775ea264cf55347d},
	{0xc612062576589dda, 0x95364afe032a819d}, {0xf79687aed3eec551, 0x3a83ddbd83f52204},
	{0x9abe14cd44753b52, 0xc4926a9672793542}, {0xc16d9a0095928a27, 0x75b7053c0f178293},
	{0xf1c90080baf72cb1, 0x5324c68b12dd6338}, {0x971da05074da7bee, 0xd3f6fc16ebca5e03},
	{0xbce5086492111aea, 0x88f4bb1ca6bcf584}, {0xec1e4a7db69561a5, 0x2b31e9e3d06c32e5},
	{0x9392ee8e921d5d07, 0x3aff322e62439fcf}, {0xb877aa3236a4b449, 0x09befeb9fad487c2},
	{0xe69594bec44de15b, 0x4c2ebe687989a9b3}, {0x901d7cf73ab0acd9, 0x0f9d37014bf60a10},
	{0xb424dc35095cd80f, 0x538484c19ef38c94}, {0xe12e13424bb40e13, 0x2865a5f206b06fb9},
	{0x8cbccc096f5088cb, 0xf93f87b7442e45d3}, {0xafebff0bcb24aafe, 0xf78f69a51539d748},
	{0xdbe6fecebdedd5be, 0xb573440e5a884d1b}, {0x89705f4136b4a597, 0x31680a88f8953030},
	{0xabcc77118461cefc, 0xfdc20d2b36ba7c3d}, {0xd6bf94d5e57a42bc, 0x3d32907604691b4c},
	{0x8637bd05af6c69b5, 0xa63f9a49c2c1b10f}, {0xa7c5ac471b478423, 0x0fcf80dc33721d53},
	{0xd1b71758e219652b, 0xd3c36113404ea4a8}, {0x83126e978d4fdf3b, 0x645a1cac083126e9},
	{0xa3d70a3d70a3d70a, 0x3d70a3d70a3d70a3}, {0xcccccccccccccccc, 0xcccccccccccccccc},
	{0x8000000000000000, 0x0000000000000000}, {0xa000000000000000, 0x0000000000000000},
	{0xc800000000000000, 0x0000000000000000}, {0xfa00000000000000, 0x0000000000000000},
	{0x9c40000000000000, 0x0000000000000000}, {0xc350000000000000, 0x0000000000000000},
	{0xf424000000000000, 0x0000000000000000}, {0x9896800000000000, 0x0000000000000000},
	{0xbebc200000000000, 0x0000000000000000}, {0xee6b280000000000, 0x0000000000000000},
	{0x9502f90000000000, 0x0000000000000000}, {0xba43b74000000000, 0x0000000000000000},
	{0xe8d4a51000000000, 0x0000000000000000}, {0x9184e72a00000000, 0x0000000000000000},
	{0xb5e620f480000000, 0x0000000000000000}, {0xe35fa931a0000000, 0x0000000000000000},
	{0x8e1bc9bf04000000, 0x0000000000000000}, {0xb1a2bc2ec5000000, 0x0000000000000000},
	{0xde0b6b3a76400000, 0x0000000000000000}, {0x8ac7230489e80000, 0x0000000000000000},
	{0xad78ebc5ac620000, 0x0000000000000000}, {0xd8d726b7177a8000, 0x0000000000000000},
	{0x878678326eac9000, 0x0000000000000000}, {0xa968163f0a57b400, 0x0000000000000000},
	{0xd3c21bcecceda100, 0x0000000000000000}, {0x84595161401484a0, 0x0000000000000000},
	{0xa56fa5b99019a5c8, 0x0000000000000000}, {0xcecb8f27f4200f3a, 0x0000000000000000},
	{0x813f3978f8940984, 0x4000000000000000}, {0xa18f07d736b90be5, 0x5000000000000000},
	{0xc9f2c9cd04674ede, 0xa400000000000000}, {0xfc6f7c4045812296, 0x4d00000000000000},
	{0x9dc5ada82b70b59d, 0xf020000000000000}, {0xc5371912364ce305, 0x6c28000000000000},
	{0xf684df56c3e01bc6, 0xc732000000000000}, {0x9a130b963a6c115c, 0x3c7f400000000000},
	{0xc097ce7bc90715b3, 0x4b9f100000000000}, {0xf0bdc21abb48db20, 0x1e86d40000000000},
	{0x96769950b50d88f4, 0x1314448000000000}, {0xbc143fa4e250eb31, 0x17d955a000000000},
	{0xeb194f8e1ae525fd, 0x5dcfab0800000000}, {0x92efd1b8d0cf37be, 0x5aa1cae500000000},
	{0xb7abc627050305ad, 0xf14a3d9e40000000}, {0xe596b7b0c643c719, 0x6d9ccd05d0000000},
	{0x8f7e32ce7bea5c6f, 0xe4820023a2000000}, {0xb35dbf821ae4f38b, 0xdda2802c8a800000},
	{0xe0352f62a19e306e, 0xd50b2037ad200000}, {0x8c213d9da502de45, 0x4526f422cc340000},
	{0xaf298d050e4395d6, 0x9670b12b7f410000}, {0xdaf3f04651d47b4c, 0x3c0cdd765f114000},
	{0x88d8762bf324cd0f, 0xa5880a69fb6ac800}, {0xab0e93b6efee0053, 0x8eea0d047a457a00},
	{0xd5d238a4abe98068, 0x72a4904598d6d880}, {0x85a36366eb71f041, 0x47a6da2b7f864750},
	{0xa70c3c40a64e6c51, 0x999090b65f67d924}, {0xd0cf4b50cfe20765, 0xfff4b4e3f741cf6d},
	{0x82818f1281ed449f, 0xbff8f10e7a8921a4}, {0xa321f2d7226895c7, 0xaff72d52192b6a0d},
	{0xcbea6f8ceb02bb39, 0x9bf4f8a69f764490}, {0xfee50b7025c36a08, 0x02f236d04753d5b4},
	{0x9f4f2726179a2245, 0x01d762422c946590}, {0xc722f0ef9d80aad6, 0x424d3ad2b7b97ef5},
	{0xf8ebad2b84e0d58b, 0xd2e0898765a7deb2}, {0x9b934c3b330c8577, 0x63cc55f49f88eb2f},
	{0xc2781f49ffcfa6d5, 0x3cbf6b71c76b25fb}, {0xf316271c7fc3908a, 0x8bef464e3945ef7a},
	{0x97edd871cfda3a56, 0x97758bf0e3cbb5ac}, {0xbde94e8e43d0c8ec, 0x3d52eeed1cbea317},
	{0xed63a231d4c4fb27, 0x4ca7aaa863ee4bdd}, {0x945e455f24fb1cf8, 0x8fe8caa93e74ef6a},
	{0xb975d6b6ee39e436, 0xb3e2fd538e122b44}, {0xe7d34c64a9c85d44, 0x60dbbca87196b616},
	{0x90e40fbeea1d3a4a, 0xbc8955e946fe31cd}, {0xb51d13aea4a488dd, 0x6babab6398bdbe41},
	{0xe264589a4dcdab14, 0xc696963c7eed2dd1}, {0x8d7eb76070a08aec, 0xfc1e1de5cf543ca2},
	{0xb0de65388cc8ada8, 0x3b25a55f43294bcb}, {0xdd15fe86affad912, 0x49ef0eb713f39ebe},
	{0x8a2dbf142dfcc7ab, 0x6e3569326c784337}, {0xacb92ed9397bf996, 0x49c2c37f07965404},
	{0xd7e77a8f87daf7fb, 0xdc33745ec97be906}, {0x86f0ac99b4e8dafd, 0x69a028bb3ded71a3},
	{0xa8acd7c0222311bc, 0xc40832ea0d68ce0c}, {0xd2d80db02aabd62b, 0xf50a3fa490c30190},
	{0x83c7088e1aab65db, 0x792667c6da79e0fa}, {0xa4b8cab1a1563f52, 0x577001b891185938},
	{0xcde6fd5e09abcf26, 0xed4c0226b55e6f86}, {0x80b05e5ac60b6178, 0x544f8158315b05b4},
	{0xa0dc75f1778e39d6, 0x696361ae3db1c721}, {0xc913936dd571c84c, 0x03bc3a19cd1e38e9},
	{0xfb5878494ace3a5f, 0x04ab48a04065c723}, {0x9d174b2dcec0e47b, 0x62eb0d64283f9c76},
	{0xc45d1df942711d9a, 0x3ba5d0bd324f8394}, {0xf5746577930d6500, 0xca8f44ec7ee36479},
	{0x9968bf6abbe85f20, 0x7e998b13cf4e1ecb}, {0xbfc2ef456ae276e8, 0x9e3fedd8c321a67e},
	{0xefb3ab16c59b14a2, 0xc5cfe94ef3ea101e}, {0x95d04aee3b80ece5, 0xbba1f1d158724a12},
	{0xbb445da9ca61281f, 0x2a8a6e45ae8edc97}, {0xea1575143cf97226, 0xf52d09d71a3293bd},
	{0x924d692ca61be758, 0x593c2626705f9c56}, {0xb6e0c377cfa2e12e, 0x6f8b2fb00c77836c},
	{0xe498f455c38b997a, 0x0b6dfb9c0f956447}, {0x8edf98b59a373fec, 0x4724bd4189bd5eac},
	{0xb2977ee300c50fe7, 0x58edec91ec2cb657}, {0xdf3d5e9bc0f653e1, 0x2f2967b66737e3ed},
	{0x8b865b215899f46c, 0xbd79e0d20082ee74}, {0xae67f1e9aec07187, 0xecd8590680a3aa11},
	{0xda01ee641a708de9, 0xe80e6f4820cc9495}, {0x884134fe908658b2, 0x3109058d147fdcdd},
	{0xaa51823e34a7eede, 0xbd4b46f0599fd415}, {0xd4e5e2cdc1d1ea96, 0x6c9e18ac7007c91a},
	{0x850fadc09923329e, 0x03e2cf6bc604ddb0}, {0xa6539930bf6bff45, 0x84db8346b786151c},
	{0xcfe87f7cef46ff16, 0xe612641865679a63}, {0x81f14fae158c5f6e, 0x4fcb7e8f3f60c07e},
	{0xa26da3999aef7749, 0xe3be5e330f38f09d}, {0xcb090c8001ab551c, 0x5cadf5bfd3072cc5},
	{0xfdcb4fa002162a63, 0x73d9732fc7c8f7f6}, {0x9e9f11c4014dda7e, 0x2867e7fddcdd9afa},
	{0xc646d63501a1511d, 0xb281e1fd541501b8}, {0xf7d88bc24209a565, 0x1f225a7ca91a4226},
	{0x9ae757596946075f, 0x3375788de9b06958}, {0xc1a12d2fc3978937, 0x0052d6b1641c83ae},
	{0xf209787bb47d6b84, 0xc0678c5dbd23a49a}, {0x9745eb4d50ce6332, 0xf840b7ba963646e0},
	{0xbd176620a501fbff, 0xb650e5a93bc3d898}, {0xec5d3fa8ce427aff, 0xa3e51f138ab4cebe},
};

/* 64 x 64 -> 128-bit product: returns the high word, stores the low one. */
static inline uint64_t mul64(uint64_t a, uint64_t b, uint64_t *lo)
{
#ifdef __SIZEOF_INT128__
	unsigned __int128 r = (unsigned __int128)a * b;

	*lo = (uint64_t)r;
	return (uint64_t)(r >> 64);
#else
	uint64_t al = a & 0xFFFFFFFF, ah = a >> 32, bl = b & 0xFFFFFFFF, bh = b >> 32;
	uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
	uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFF) + (hl & 0xFFFFFFFF);

	*lo = (mid << 32) | (ll & 0xFFFFFFFF);
	return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
#endif
}

/* w * 10^q (w != 0, q in the table) correctly rounded into *out, or -1 when the 128-bit
 * product cannot decide the rounding or the result is subnormal or infinite.
 *
 * With wn = w << lz (top bit set) and T = floor(X), X = 5^q * 2^s in [2^127, 2^128), the
 * value is wn * X * 2^(q - s - lz), and wn * X lies in [P, P + 2^64) where P = wn * T (192
 * bits): T is at most one unit low and wn < 2^64. With only the high product A = wn * T_hi
 * (128 bits) it lies in [A * 2^64, (A + 2^64) * 2^64). The 54 leading bits (53 + the rounding
 * bit) and whether anything below them is non-zero are then known unless the bits below are
 * within that error of all zeros or all ones; only then is the next product needed, and if
 * that still cannot decide (exact ties, values within 2^-70 of one) we give up. */
static inline int lemire(uint64_t w, int64_t q, int neg, double *out)
{
	const uint64_t *t = pow5_128[q - P5_QMIN];
	int lz = __builtin_clzll(w);
	uint64_t wn = w << lz, a0, a1, mask, frac, m54, mant, bits;
	int64_t e2, be;
	int k;

	a1 = mul64(wn, t[0], &a0);
	k = 9 + (int)(a1 >> 63);
	mask = (1ULL << k) - 1;
	frac = a1 & mask;
	if (frac == 0 || frac == mask) {
		uint64_t b0, b1 = mul64(wn, t[1], &b0), p1 = a0 + b1;

		a1 += p1 < a0;
		k = 9 + (int)(a1 >> 63);
		mask = (1ULL << k) - 1;
		frac = a1 & mask;
		if ((frac == 0 && p1 == 0) || (frac == mask && p1 >= UINT64_MAX - 1))
			return -1;
	}
	m54 = a1 >> k;
	mant = (m54 + (m54 & 1)) >> 1; /* never a tie here: the rest is known to be non-zero */
	/* e2 = floor(log2(5^q)) = floor(q * 152170 / 65536) for |q| <= 342; floor division
	 * written out because >> of a negative number is implementation-defined */
	e2 = q * 152170;
	e2 = e2 >= 0 ? e2 / 65536 : -((-e2 + 65535) / 65536);
	/* value = mant * 2^(k + 129 + q - s - lz) with s = 127 - e2 */
	be = k + 2 + q + e2 - lz + 52 + 1023;
	if (mant == 1ULL << 53) {
		mant >>= 1;
		be++;
	}
	if (be < 1 || be > 2046)
		return -1;
	bits = ((uint64_t)be << 52) | (mant & ((1ULL << 52) - 1)) | ((uint64_t) !!neg << 63);
	memcpy(out, &bits, sizeof(*out));
	return 0;
}

/* The value of decoded text [s, e) when the fast paths cannot give it: strtod on a
 * NUL-terminated copy. */
static int convert_slow(const char *s, const char *e, double *out)
{
	char local[LOCAL_NUM], *buf = local, *stop;
	size_t len = (size_t)(e - s);
	double v;
	int ret = 0;

	if (len >= sizeof(local)) {
		buf = malloc(len + 1);
		if (!buf)
			return -ENOMEM;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	v = strtod(buf, &stop);
	/* XXX: strtod reads LC_NUMERIC; under a locale with a decimal comma it stops early and
	 * we reject the number rather than misread it. */
	if (stop != buf + len || v > DBL_MAX || v < -DBL_MAX)
		ret = -EINVAL;
	else
		*out = v;
	if (buf != local)
		free(buf);
	return ret;
}

/* The value of decoded text [s, e). */
static ALWAYS_INLINE int convert(const struct dec *d, const char *s, const char *e, double *out)
{
	if (d->w == 0) {
		*out = d->neg ? -0.0 : 0.0;
		return 0;
	}
#if FLT_EVAL_METHOD == 0
	/* Clinger: w and 10^|q| are exact doubles, so one IEEE operation rounds once. */
	if (!d->trunc && d->w <= 1ULL << 53 && d->q >= -22 && d->q <= 22) {
		double v = (double)d->w;

		v = d->q < 0 ? v / pow10_exact[-d->q] : v * pow10_exact[d->q];
		*out = d->neg ? -v : v;
		return 0;
	}
#endif
	if (!d->trunc && d->q >= P5_QMIN && d->q <= P5_QMAX && !lemire(d->w, d->q, d->neg, out))
		return 0;
	return convert_slow(s, e, out);
}

/* Parse a whole cell [p, end): blanks, a number, blanks. */
static int parse_number(const char *p, const char *end, double *out)
{
	struct dec d;
	const char *e;

	while (p < end && is_blank(*p))
		p++;
	while (end > p && is_blank(end[-1]))
		end--;
	e = decode(p, end, &d);
	if (!e || e != end)
		return -EINVAL;
	return convert(&d, p, e, out);
}

int col_csv_parse_double(const char *s, size_t len, double *out)
{
	if (!s)
		return -EINVAL;
	return parse_number(s, s + len, out);
}

int col_csv_is_missing(const char *s, size_t len)
{
	static const char *const tokens[] = {
		"NA",   "NaN",      "nan",     "N/A",     "null",     "?",
		"#N/A", "#N/A N/A", "#NA",     "-1.#IND", "-1.#QNAN", "-NaN",
		"-nan", "1.#IND",   "1.#QNAN", "<NA>",    "NULL",     "n/a",
	};
	size_t i;

	while (len && is_blank(*s)) {
		s++;
		len--;
	}
	while (len && is_blank(s[len - 1]))
		len--;
	if (!len)
		return 1;
	if (len > 8)
		return 0;
	for (i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
		if (strlen(tokens[i]) == len && !memcmp(tokens[i], s, len))
			return 1;
	return 0;
}

/* ---- loading ---------------------------------------------------------------------------- */

/* Read a whole non-regular file (pipe, FIFO, /proc file) into a malloc()ed buffer. */
static int slurp(int fd, char **out, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap), *nb;
	ssize_t r;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			if (cap > SIZE_MAX / 2) {
				ret = -EFBIG;
				goto out;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				ret = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
out:
	if (ret) {
		free(buf);
		return ret;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int errno_ret(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return -ENOENT;
	case EACCES:
	case EPERM:
		return -EACCES;
	case ENOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* Map or read c->path into c->data/c->size, skipping a UTF-8 BOM. */
static int load(struct col_csv *c, char *err, size_t errlen)
{
	struct stat st;
	const char *what = "could not read";
	int fd, ret = 0, e = 0;

	fd = open(c->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		what = "could not open";
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		goto out;
	}
	if (S_ISREG(st.st_mode) && st.st_size > 0) {
		if ((uintmax_t)st.st_size > SIZE_MAX) {
			e = EFBIG;
			goto out;
		}
		c->maplen = (size_t)st.st_size;
		c->map = mmap(NULL, c->maplen, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
		if (c->map == MAP_FAILED) {
			c->map = NULL;
			c->maplen = 0;
		} else {
			c->data = c->map;
			c->size = c->maplen;
		}
	}
	if (!c->map) {
		/* pipes, directories (read fails with EISDIR), size-0 /proc files, mmap failure */
		ret = slurp(fd, &c->heap, &c->size);
		if (ret) {
			e = -ret;
			goto out;
		}
		c->data = c->heap;
	}
	if (c->size >= 3 && !memcmp(c->data, "\xEF\xBB\xBF", 3)) {
		c->data += 3;
		c->size -= 3;
	}
out:
	if (fd >= 0)
		close(fd);
	if (e) {
		if (e == ENOMEM)
			msg(err, errlen, "%s: out of memory", c->path);
		else
			msg(err, errlen, "%s: %s: %s", c->path, what, strerror(e));
		return e == EFBIG ? -EFBIG : errno_ret(e);
	}
	return 0;
}

/* ---- records ---------------------------------------------------------------------------- */

/* End of a quoted cell's content: p is just past the opening quote. Returns the closing quote,
 * or NULL. *esc is set when a "" escape occurs. */
static const char *close_quote(const char *p, const char *end, int *esc)
{
	for (;;) {
		const char *q = memchr(p, '"', (size_t)(end - p));

		if (!q)
			return NULL;
		if (q + 1 < end && q[1] == '"') {
			*esc = 1;
			p = q + 2;
			continue;
		}
		return q;
	}
}

/* Newlines in [p, end): quoted cells are short, so a plain loop beats memchr calls. */
static size_t count_nl(const char *p, const char *end)
{
	size_t n = 0;

	for (; p < end; p++)
		n += *p == '\n';
	return n;
}

/* What scan_record learns about one record. */
struct recinfo {
	size_t next; /* offset of the next record (past the line end) */
	size_t ncells;
	size_t nl;      /* newlines inside quoted cells */
	size_t esc_max; /* longest quoted cell holding a "" escape, quotes included */
	int lone_cr;    /* an unquoted cell holds a CR */
};

/* Scan the record at offset pos (line) with quotes honoured. c->ncols and c->names may still
 * be unset (header). */
static int scan_record(const struct col_csv *c, size_t pos, size_t line, struct recinfo *ri,
		       char *err, size_t errlen)
{
	const char *p = c->data + pos, *end = c->data + c->size;
	char cn[SHOW_BUF + 16];

	memset(ri, 0, sizeof(*ri));
	ri->ncells = 1;
	for (;;) {
		if (p < end && *p == '"') {
			const char *q;
			int esc = 0;

			q = close_quote(p + 1, end, &esc);
			if (!q) {
				msg(err, errlen, "%s:%zu: unterminated quoted cell in %s", c->path,
				    line + ri->nl, colname(c, ri->ncells - 1, cn, sizeof(cn)));
				return -EINVAL;
			}
			ri->nl += count_nl(p + 1, q);
			if (esc && (size_t)(q + 1 - p) > ri->esc_max)
				ri->esc_max = (size_t)(q + 1 - p);
			p = q + 1;
			if (p == end || *p == '\n')
				break;
			if (*p == '\r' && (p + 1 == end || p[1] == '\n')) {
				p++;
				break;
			}
			if (*p != ',') {
				msg(err, errlen,
				    "%s:%zu: unexpected text after closing quote in %s", c->path,
				    line + ri->nl, colname(c, ri->ncells - 1, cn, sizeof(cn)));
				return -EINVAL;
			}
		} else {
			const char *s = p;

			while (p < end && *p != ',' && *p != '\n')
				p++;
			/* a CR right before the LF ends the line; any other is data, and a
			 * sign of CR line ends when in the header (ncols still 0) */
			for (; !c->ncols && s < p && !ri->lone_cr; s++)
				ri->lone_cr = *s == '\r' && s + 1 < end && s[1] != '\n';
			if (p == end || *p == '\n')
				break;
		}
		p++; /* the comma */
		ri->ncells++;
	}
	ri->next = (size_t)(p - c->data) + (p < end);
	return 0;
}

/* End of record r's content: before its LF or CRLF. */
static inline const char *rec_end(const struct col_csv *c, size_t r)
{
	const char *s = c->data + c->rec[r], *e = c->data + c->rec[r + 1];

	if (e > s && e[-1] == '\n')
		e--;
	if (e > s && e[-1] == '\r')
		e--;
	return e;
}

/* The cell at *pp in a record ending at end: its content in [*cs, *ce), *esc when it holds a
 * "" escape. Moves *pp past the cell and its comma. Records were validated at open. */
static inline void next_cell(const char **pp, const char *end, const char **cs, const char **ce,
			     int *esc)
{
	const char *p = *pp;

	*esc = 0;
	if (p < end && *p == '"') {
		const char *q = close_quote(p + 1, end, esc);

		if (!q) /* cannot happen after open; be safe */
			q = end;
		*cs = p + 1;
		*ce = q;
		p = q < end ? q + 1 : end;
	} else {
		const char *q = memchr(p, ',', (size_t)(end - p));

		*cs = p;
		*ce = q ? q : end;
		p = *ce;
	}
	*pp = p < end ? p + 1 : end;
}

/* Unescape the quoted-cell content [s, e) ("" -> ") into dst; returns the length. */
static size_t unescape(const char *s, const char *e, char *dst)
{
	size_t n = 0;

	while (s < e) {
		dst[n++] = *s;
		s += (*s == '"' && s + 1 < e && s[1] == '"') ? 2 : 1;
	}
	return n;
}

static uint64_t hash_name(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* Read the header at offset 0 into names and the hash table; *next gets the first data
 * record's offset and *line its line. */
static int read_header(struct col_csv *c, size_t *next, size_t *line, char *err, size_t errlen)
{
	const char *p, *end, *cs, *ce;
	struct recinfo ri;
	size_t j, total, hcap, off = 0;
	char show_buf[SHOW_BUF];
	int ret, esc;

	ret = scan_record(c, 0, 1, &ri, err, errlen);
	if (ret)
		return ret;
	if (ri.lone_cr) {
		msg(err, errlen, "%s:1: carriage return without line feed in the header", c->path);
		return -EINVAL;
	}
	p = c->data;
	end = c->data + ri.next;
	if (end > p && end[-1] == '\n')
		end--;
	if (end > p && end[-1] == '\r')
		end--;
	if (end == p) {
		msg(err, errlen, "%s:1: header line is empty", c->path);
		return -EINVAL;
	}
	c->ncols = ri.ncells;
	/* names are never longer than the header itself; one NUL each */
	total = (size_t)(end - p) + c->ncols;
	for (hcap = 16; hcap < 2 * c->ncols; hcap *= 2)
		;
	c->names = calloc(c->ncols, sizeof(*c->names));
	c->namebuf = malloc(total);
	c->hash = calloc(hcap, sizeof(*c->hash));
	if (!c->names || !c->namebuf || !c->hash) {
		msg(err, errlen, "%s: out of memory", c->path);
		return -ENOMEM;
	}
	c->hmask = hcap - 1;
	for (j = 0; j < c->ncols; j++) {
		char *name = c->namebuf + off;
		size_t len, h;

		next_cell(&p, end, &cs, &ce, &esc);
		len = esc ? unescape(cs, ce, name) : (size_t)(ce - cs);
		if (!esc)
			memcpy(name, cs, len);
		name[len] = '\0';
		off += len + 1;
		c->names[j] = name;
		if (memchr(name, '\0', len)) {
			msg(err, errlen, "%s:1: column %zu name contains a NUL byte", c->path,
			    j + 1);
			return -EINVAL;
		}
		for (h = hash_name(name) & c->hmask; c->hash[h]; h = (h + 1) & c->hmask) {
			if (!strcmp(c->names[c->hash[h] - 1], name)) {
				msg(err, errlen, "%s:1: duplicate column name \"%s\"", c->path,
				    show(name, len, SHOW_MAX, show_buf));
				return -EINVAL;
			}
		}
		c->hash[h] = j + 1;
	}
	if (ri.esc_max > c->unqcap)
		c->unqcap = ri.esc_max;
	*next = ri.next;
	*line = 1 + ri.nl + 1;
	return 0;
}

/* Growing record index during open. */
struct ix {
	size_t cap;
	size_t line; /* line of the next record */
};

/* Double the index arrays. */
static int grow(struct col_csv *c, struct ix *ix)
{
	size_t ncap = ix->cap * 2, *nr;

	if (ncap > SIZE_MAX / sizeof(size_t))
		return -ENOMEM;
	nr = realloc(c->rec, ncap * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	c->rec = nr;
	if (c->lines) {
		nr = realloc(c->lines, ncap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		c->lines = nr;
	}
	ix->cap = ncap;
	return 0;
}

/* Append the record at off whose successor starts at next. */
static ALWAYS_INLINE int push_rec(struct col_csv *c, struct ix *ix, size_t off, size_t next)
{
	size_t n = c->nrows, *rec;

	if (n + 2 > ix->cap && grow(c, ix))
		return -ENOMEM;
	rec = c->rec;
	if (c->lines)
		c->lines[n] = ix->line;
	rec[n] = off;
	rec[n + 1] = next;
	c->nrows = n + 1;
	return 0;
}

/* 1 when [p, end) holds nothing but line ends. */
static int only_blank_lines(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != '\n' && *p != '\r')
			return 0;
	return 1;
}

static void ragged(const struct col_csv *c, size_t line, size_t found, char *err, size_t errlen)
{
	msg(err, errlen, "%s:%zu: expected %zu cell%s, found %zu", c->path, line, c->ncols,
	    c->ncols == 1 ? "" : "s", found);
}

/* A blank line at pos: 1 when only blank lines follow (the data ends), else an error. */
static int blank_line(const struct col_csv *c, size_t pos, size_t line, char *err, size_t errlen)
{
	if (only_blank_lines(c->data + pos, c->data + c->size))
		return 1;
	msg(err, errlen, "%s:%zu: expected %zu cell%s, found an empty line", c->path, line,
	    c->ncols, c->ncols == 1 ? "" : "s");
	return -EINVAL;
}

static inline unsigned popcount64(uint64_t x)
{
#ifdef __POPCNT__
	return (unsigned)__builtin_popcountll(x);
#else
	/* without -mpopcnt the builtin is a libgcc call */
	x -= (x >> 1) & 0x5555555555555555ULL;
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
	return (unsigned)((x * 0x0101010101010101ULL) >> 56);
#endif
}

/* Bit i of *nl, *cm and *qt is set when p[i] is '\n', ',' or '"' (p holds 64 bytes). */
static inline void block_masks(const char *p, uint64_t *nl, uint64_t *cm, uint64_t *qt)
{
#ifdef __SSE2__
	const __m128i n = _mm_set1_epi8('\n'), k = _mm_set1_epi8(','), q = _mm_set1_epi8('"');
	uint64_t a = 0, b = 0, c = 0;

	for (int i = 0; i < 4; i++) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));

		a |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, n)) << (16 * i);
		b |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, k)) << (16 * i);
		c |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, q)) << (16 * i);
	}
	*nl = a;
	*cm = b;
	*qt = c;
#else
	uint64_t a = 0, b = 0, c = 0;

	for (int i = 0; i < 64; i++) {
		a |= (uint64_t)(p[i] == '\n') << i;
		b |= (uint64_t)(p[i] == ',') << i;
		c |= (uint64_t)(p[i] == '"') << i;
	}
	*nl = a;
	*cm = b;
	*qt = c;
#endif
}

/* Check and add the quote-free record [start, lend) of cells cells, followed by the
 * next record at next. Returns 0, 1 when it is blank and only blank lines follow, or a
 * negative errno. */
static ALWAYS_INLINE int plain_record(struct col_csv *c, struct ix *ix, size_t start, size_t lend,
				      size_t next, size_t cells, char *err, size_t errlen)
{
	size_t cend = lend;
	int r;

	if (cend > start && c->data[cend - 1] == '\r')
		cend--;
	if (cend == start)
		return blank_line(c, start, ix->line, err, errlen);
	if (cells != c->ncols) {
		ragged(c, ix->line, cells, err, errlen);
		return -EINVAL;
	}
	r = push_rec(c, ix, start, next);
	ix->line++;
	return r;
}

/* Index the data records from offset *pos while no quote shows up: 64 bytes a step, newline,
 * comma and quote positions as bit masks. Leaves *pos at the record where quote-aware
 * scanning must take over, or at c->size when done. */
static int index_plain(struct col_csv *c, struct ix *ix, size_t *pos, char *err, size_t errlen)
{
	size_t size = c->size, start = *pos, b = *pos, commas = 0;
	char tail[64];
	int r;

	while (b < size) {
		const char *blk = c->data + b;
		uint64_t nl, cm, qt;

		if (size - b < 64) {
			memset(tail, 0, sizeof(tail)); /* NUL matches none of the three */
			memcpy(tail, blk, size - b);
			blk = tail;
		}
		block_masks(blk, &nl, &cm, &qt);
		if (qt)
			nl &= (qt & -qt) - 1; /* only the lines that end before the first quote */
		while (nl) {
			unsigned i = (unsigned)__builtin_ctzll(nl);
			uint64_t upto = i == 63 ? ~0ULL : (2ULL << i) - 1;
			size_t cells = commas + popcount64(cm & upto) + 1;

			cm &= ~upto;
			nl &= nl - 1;
			commas = 0;
			r = plain_record(c, ix, start, b + i, b + i + 1, cells, err, errlen);
			if (r) {
				*pos = size;
				return r < 0 ? r : 0;
			}
			start = b + i + 1;
		}
		if (qt) {
			*pos = start;
			return 0;
		}
		commas += popcount64(cm);
		b += 64;
	}
	if (start < size) { /* a last record without a final newline */
		r = plain_record(c, ix, start, size, size, commas + 1, err, errlen);
		if (r < 0)
			return r;
	}
	*pos = size;
	return 0;
}

/* Index the data records from offset pos to the end with quotes honoured. */
static int index_quoted(struct col_csv *c, struct ix *ix, size_t pos, char *err, size_t errlen)
{
	const char *d = c->data;
	struct recinfo ri;
	int r;

	while (pos < c->size) {
		if (d[pos] == '\n' ||
		    (d[pos] == '\r' && (pos + 1 == c->size || d[pos + 1] == '\n'))) {
			r = blank_line(c, pos, ix->line, err, errlen);
			return r < 0 ? r : 0;
		}
		r = scan_record(c, pos, ix->line, &ri, err, errlen);
		if (r)
			return r;
		if (ri.ncells != c->ncols) {
			ragged(c, ix->line, ri.ncells, err, errlen);
			return -EINVAL;
		}
		if (ri.nl && !c->lines) {
			/* the first record spanning lines: from now on keep every record's line */
			c->lines = malloc(ix->cap * sizeof(*c->lines));
			if (!c->lines)
				return -ENOMEM;
			for (size_t i = 0; i < c->nrows; i++)
				c->lines[i] = c->first_line + i;
		}
		r = push_rec(c, ix, pos, ri.next);
		if (r)
			return r;
		if (ri.esc_max > c->unqcap)
			c->unqcap = ri.esc_max;
		ix->line += 1 + ri.nl;
		pos = ri.next;
	}
	return 0;
}

/* Build the record index of the data records that start at offset pos. */
static int index_records(struct col_csv *c, size_t pos, char *err, size_t errlen)
{
	struct ix ix = {.cap = 1024, .line = c->first_line};
	int r;

	/* guess the row count from the first record's length to avoid most reallocs */
	if (pos < c->size) {
		const char *nl = memchr(c->data + pos, '\n', c->size - pos);
		size_t first = nl ? (size_t)(nl - c->data) - pos + 1 : c->size - pos;
		size_t guess = (c->size - pos) / first;

		if (guess + guess / 8 + 16 > ix.cap)
			ix.cap = guess + guess / 8 + 16;
	}
	c->rec = malloc(ix.cap * sizeof(*c->rec));
	if (!c->rec)
		return -ENOMEM;
	c->rec[0] = pos;
	r = index_plain(c, &ix, &pos, err, errlen);
	if (!r && pos < c->size)
		r = index_quoted(c, &ix, pos, err, errlen);
	if (!r && ix.cap > c->nrows + 1 + (c->nrows + 1) / 4) {
		/* the guess was high (a short first record): give the rest back */
		size_t *nr = realloc(c->rec, (c->nrows + 1) * sizeof(*nr));

		if (nr)
			c->rec = nr;
	}
	if (r == -ENOMEM)
		msg(err, errlen, "%s: out of memory", c->path);
	return r;
}

/* ---- the handle ------------------------------------------------------------------------- */

void col_csv_close(struct col_csv *c)
{
	if (!c)
		return;
	if (c->map)
		munmap(c->map, c->maplen);
	free(c->heap);
	free(c->rec);
	free(c->lines);
	free(c->names);
	free(c->namebuf);
	free(c->hash);
	free(c->unq);
	free(c->path);
	free(c);
}

int col_csv_open(const char *path, struct col_csv **out, char *err, size_t errlen)
{
	struct col_csv *c;
	size_t pos = 0;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(path))) {
		msg(err, errlen, "%s: out of memory", path);
		ret = -ENOMEM;
		goto out;
	}
	ret = load(c, err, errlen);
	if (ret)
		goto out;
	if (only_blank_lines(c->data, c->data + c->size)) {
		msg(err, errlen, "%s: file is empty", c->path);
		ret = -EINVAL;
		goto out;
	}
	ret = read_header(c, &pos, &c->first_line, err, errlen);
	if (ret)
		goto out;
	ret = index_records(c, pos, err, errlen);
	if (ret)
		goto out;
	if (c->unqcap) {
		c->unq = malloc(c->unqcap);
		if (!c->unq) {
			msg(err, errlen, "%s: out of memory", c->path);
			ret = -ENOMEM;
			goto out;
		}
	}
	*out = c;
	c = NULL;
out:
	col_csv_close(c);
	return ret;
}

const char *col_csv_path(const struct col_csv *c)
{
	return c->path;
}

size_t col_csv_ncols(const struct col_csv *c)
{
	return c->ncols;
}

size_t col_csv_nrows(const struct col_csv *c)
{
	return c->nrows;
}

const char *col_csv_name(const struct col_csv *c, size_t col)
{
	return col < c->ncols ? c->names[col] : NULL;
}

long col_csv_find(const struct col_csv *c, const char *name)
{
	size_t h;

	if (!name)
		return -1;
	for (h = hash_name(name) & c->hmask; c->hash[h]; h = (h + 1) & c->hmask)
		if (!strcmp(c->names[c->hash[h] - 1], name))
			return (long)(c->hash[h] - 1);
	return -1;
}

size_t col_csv_line(const struct col_csv *c, size_t row)
{
	if (row >= c->nrows)
		return 0;
	return c->lines ? c->lines[row] : c->first_line + row;
}

/* Content of cell (row, col) in [*cs, *ce), *esc when it must be unescaped. */
static void locate(const struct col_csv *c, size_t row, size_t col, const char **cs,
		   const char **ce, int *esc)
{
	const char *p = c->data + c->rec[row], *end = rec_end(c, row);
	size_t j;

	for (j = 0; j <= col; j++)
		next_cell(&p, end, cs, ce, esc);
}

const char *col_csv_cell(const struct col_csv *c, size_t row, size_t col, size_t *len)
{
	const char *cs, *ce;
	int esc;

	*len = 0;
	if (row >= c->nrows || col >= c->ncols)
		return NULL;
	locate(c, row, col, &cs, &ce, &esc);
	if (!esc) {
		*len = (size_t)(ce - cs);
		return cs;
	}
	/* c->unq holds the longest escaped quoted cell seen at open */
	*len = unescape(cs, ce, c->unq);
	return c->unq;
}

/* ---- column parsing --------------------------------------------------------------------- */

struct job {
	const struct col_csv *c;
	const size_t *slot; /* slot[j]: which out[] column j goes to, or NONE */
	size_t walk;        /* cells to walk in each row: the last wanted column + 1 */
	double *const *out;
	size_t row0, row1;
	size_t bad_row, bad_col; /* first bad cell, bad_row == NONE when none */
};

/* Parse the cell at *pp (a record ending at end) into *v; move *pp past the cell and its
 * comma. Returns 0, or -1 when the cell is neither a number nor missing. */
static ALWAYS_INLINE int parse_cell(const char **pp, const char *end, double *v)
{
	const char *p = *pp, *e, *cs, *ce;
	struct dec d;
	int esc;

	if (p < end && *p != '"') {
		/* usual case: parse straight from the record; the number must end the cell */
		const char *t;

		while (p < end && is_blank(*p))
			p++;
		e = decode(p, end, &d);
		for (t = e; t && t < end && is_blank(*t); t++)
			;
		if (t && (t == end || *t == ',') && !convert(&d, p, e, v)) {
			*pp = t < end ? t + 1 : end;
			return 0;
		}
	} else if (p < end) {
		/* a quoted number with nothing else inside: "1.5", */
		e = decode(p + 1, end, &d);
		if (e && e < end && *e == '"' && (e + 1 == end || e[1] == ',') &&
		    !convert(&d, p + 1, e, v)) {
			*pp = e + 1 < end ? e + 2 : end;
			return 0;
		}
	}
	/* XXX: a number over LOCAL_NUM bytes whose strtod copy cannot be allocated (-ENOMEM)
	 * is reported as a bad cell here. */
	p = *pp;
	next_cell(&p, end, &cs, &ce, &esc);
	*pp = p;
	if (esc) /* a "" escape: neither a number nor a missing-value token */
		return -1;
	if (col_csv_is_missing(cs, (size_t)(ce - cs))) {
		*v = NAN;
		return 0;
	}
	return parse_number(cs, ce, v) ? -1 : 0;
}

static inline const char *skip_cell(const char *p, const char *end)
{
	if (p < end && *p == '"') {
		const char *cs, *ce;
		int esc;

		next_cell(&p, end, &cs, &ce, &esc);
		return p;
	}
	while (p < end && *p != ',')
		p++;
	return p < end ? p + 1 : end;
}

static void *run_job(void *arg)
{
	struct job *jb = arg;
	const struct col_csv *c = jb->c;
	size_t r, j;

	jb->bad_row = NONE;
	if (jb->walk == 1) { /* one column, the first: the common single-feature case */
		double *o = jb->out[jb->slot[0]];

		for (r = jb->row0; r < jb->row1; r++) {
			const char *p = c->data + c->rec[r];

			if (parse_cell(&p, rec_end(c, r), &o[r])) {
				jb->bad_row = r;
				jb->bad_col = 0;
				return NULL;
			}
		}
		return NULL;
	}
	for (r = jb->row0; r < jb->row1; r++) {
		const char *p = c->data + c->rec[r], *end = rec_end(c, r);

		for (j = 0; j < jb->walk; j++) {
			size_t k = jb->slot[j];
			double v;

			if (k == NONE) {
				p = skip_cell(p, end);
				continue;
			}
			if (parse_cell(&p, end, &v)) {
				jb->bad_row = r;
				jb->bad_col = j;
				return NULL;
			}
			jb->out[k][r] = v;
		}
	}
	return NULL;
}

static size_t nthreads(size_t nrows, size_t walk)
{
	long n;

	if (nrows < PAR_MIN_ROWS || nrows * walk < PAR_MIN_CELLS)
		return 1;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > MAX_THREADS ? MAX_THREADS : (size_t)n;
}

int col_csv_columns_double(const struct col_csv *c, const size_t *cols, size_t ncols, double **out,
			   size_t *bad_row, size_t *bad_col)
{
	struct job jobs[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	int started[MAX_THREADS] = {0};
	size_t *slot = NULL, walk = 0, k, t, nt;
	int ret = 0;

	if (bad_row)
		*bad_row = NONE;
	if (bad_col)
		*bad_col = NONE;
	for (k = 0; k < ncols; k++) {
		if (cols[k] >= c->ncols)
			return -ERANGE;
		if (cols[k] + 1 > walk)
			walk = cols[k] + 1;
	}
	if (!ncols || !c->nrows)
		return 0;
	slot = malloc(walk * sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	for (k = 0; k < walk; k++)
		slot[k] = NONE;
	for (k = 0; k < ncols; k++)
		if (slot[cols[k]] == NONE)
			slot[cols[k]] = k;
	nt = nthreads(c->nrows, walk);
	for (t = 0; t < nt; t++) {
		jobs[t] = (struct job){.c = c, .slot = slot, .walk = walk, .out = out};
		jobs[t].row0 = c->nrows / nt * t;
		jobs[t].row1 = t + 1 == nt ? c->nrows : c->nrows / nt * (t + 1);
	}
	for (t = 1; t < nt; t++)
		started[t] = !pthread_create(&tid[t], NULL, run_job, &jobs[t]);
	run_job(&jobs[0]);
	for (t = 1; t < nt; t++) {
		if (started[t])
			pthread_join(tid[t], NULL);
		else
			run_job(&jobs[t]); /* could not start a thread: do its share here */
	}
	/* jobs are in row order: the first one that failed holds the first bad cell */
	for (t = 0; t < nt; t++) {
		if (jobs[t].bad_row != NONE) {
			if (bad_row)
				*bad_row = jobs[t].bad_row;
			if (bad_col)
				*bad_col = jobs[t].bad_col;
			ret = -EINVAL;
			goto out;
		}
	}
	/* a column asked for twice was parsed once */
	for (k = 0; k < ncols; k++)
		if (slot[cols[k]] != k)
			memcpy(out[k], out[slot[cols[k]]], c->nrows * sizeof(double));
out:
	free(slot);
	return ret;
}

int col_csv_column_double(const struct col_csv *c, size_t col, double *out, size_t *bad_row)
{
	return col_csv_columns_double(c, &col, 1, &out, bad_row, NULL);
}

void col_csv_cell_error(const struct col_csv *c, size_t row, size_t col, char *err, size_t errlen)
{
	char cn[SHOW_BUF + 16], text[4 * 40 + 4];
	const char *s;
	struct dec d;
	size_t len;
	const char *t, *e;

	s = col_csv_cell(c, row, col, &len);
	if (!s) {
		msg(err, errlen, "%s: no cell at row %zu, column %zu", c->path, row, col + 1);
		return;
	}
	/* a cell the grammar accepts can only have been rejected for overflowing */
	t = s;
	e = s + len;
	while (t < e && is_blank(*t))
		t++;
	while (e > t && is_blank(e[-1]))
		e--;
	msg(err, errlen, "%s:%zu: %s: %s: \"%s\"", c->path, col_csv_line(c, row),
	    colname(c, col, cn, sizeof(cn)),
	    t < e && decode(t, e, &d) == e ? "number out of range" : "not a number",
	    show(s, len, 40, text));
}
