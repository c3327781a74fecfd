/* SPDX-License-Identifier: MIT
 * collectors/batch.c - JSON, NDJSON and CSV batches into validated records
 *
 * The JSON reader is written for this job rather than taken from cJSON: a batch of 10^4
 * records with 20 values each would cost cJSON some 300 000 small allocations and a tree
 * we throw away, and cJSON can neither report which record's field was wrong, nor keep
 * going after a bad record, nor tell "\u0000" from the end of a string. Here one pass
 * walks each record object and writes values straight into the batch's pools: numbers
 * through col_csv_parse_double (correctly rounded), strings that need no unescaping
 * without a copy until they are kept, kept strings into an arena that never moves. Nesting
 * is counted as it is entered, so recursion never goes deeper than max_depth, and a body
 * is checked for valid UTF-8 once before any of it is read.
 *
 * Records are built in "slot" nrec of the pools (num, cat, seg: one row of each per
 * accepted record); a rejected record's slot is simply reused, and the records' pointers
 * into the pools are set once at the end, after the last reallocation.
 */
#include "config.h"

#include "collectors/batch.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collectors/table.h" /* col_x*alloc */

#define ARENA_BLOCK 65536
#define PTR_MAX 160 /* bytes of a field pointer we report (longer keys are cut) */
#define MSG_MAX 200

struct block {
	struct block *next;
	size_t used, cap;
	char data[];
};

struct col_batch_priv {
	struct block *blocks;
	double *num; /* pools: slot i holds accepted record i's values */
	const char **cat;
	const char **seg;
	size_t slots; /* capacity of the pools, in records */
	size_t reccap, errcap;
};

enum {
	HAVE_ID = 1,
	HAVE_TS = 2,
	HAVE_SCORE = 4,
	HAVE_LABEL = 8,
	HAVE_FEATURES = 16,
	HAVE_SEGMENTS = 32,
};

/* One parse: the batch being filled and the record being built. */
struct bp {
	struct col_batch *b;
	const struct col_schema *s;
	struct col_batch_limits lim;
	struct col_diag *diag;
	struct col_record cur; /* the record in slot b->nrec */
	unsigned have;         /* HAVE_* bits of cur */
	int bad;               /* cur already has its (first) problem */
	char field[PTR_MAX + 16];
	char msg[MSG_MAX];
	uint32_t gen;   /* stamp of cur, for seen[] */
	uint32_t *seen; /* per feature then segment: gen of the record that set it */
	char *scratch;  /* unescaped strings and CSV cells */
	size_t scap;
};

/* --- memory ------------------------------------------------------------------------ */

static char *arena_alloc(struct col_batch_priv *pv, size_t n)
{
	struct block *b = pv->blocks;
	char *p;

	if (!b || b->cap - b->used < n) {
		size_t cap = n > ARENA_BLOCK / 4 ? n : ARENA_BLOCK;

		b = col_xmalloc(sizeof(*b) + cap);
		b->cap = cap;
		b->used = 0;
		if (cap == n && pv->blocks) {
			/* a big string gets a block of its own behind the current one */
			b->next = pv->blocks->next;
			pv->blocks->next = b;
		} else {
			b->next = pv->blocks;
			pv->blocks = b;
		}
	}
	p = b->data + b->used;
	b->used += n;
	return p;
}

static const char *arena_str(struct col_batch_priv *pv, const char *s, size_t len)
{
	char *p = arena_alloc(pv, len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static void scratch_need(struct bp *bp, size_t n)
{
	if (n <= bp->scap)
		return;
	bp->scap = n < 256 ? 256 : n * 2;
	bp->scratch = col_xrealloc(bp->scratch, bp->scap);
}

void col_batch_free(struct col_batch *b)
{
	struct block *k, *next;

	if (!b)
		return;
	if (b->priv) {
		for (k = b->priv->blocks; k; k = next) {
			next = k->next;
			free(k);
		}
		free(b->priv->num);
		free(b->priv->cat);
		free(b->priv->seg);
		free(b->priv);
	}
	free(b->rec);
	free(b->err);
	free(b);
}

void col_batch_limits_default(struct col_batch_limits *l)
{
	l->max_records = 100000;
	l->max_depth = 32;
	l->max_string = COL_VALUE_MAX;
	l->now = 0;
	l->max_future = (int64_t)366 * 86400 * 1000000;
}

/* --- records ----------------------------------------------------------------------- */

/* A field of a record, named lazily: the JSON pointer prefix + "/" + key is only built
 * when the field is rejected. A NULL field means the record as a whole (""). */
struct fld {
	const char *prefix; /* "", "/features" or "/segments" */
	const char *key;    /* not NUL-terminated, unless len is NUL_TERMINATED */
	size_t len;
};

#define NUL_TERMINATED SIZE_MAX

#define TOP(k) (&(const struct fld){"", k, sizeof(k) - 1})

/* Write the JSON pointer of f to buf (cap > PTR_MAX + 8): the key escaped as RFC 6901
 * says (~ is ~0, / is ~1), cut after PTR_MAX bytes but never inside a UTF-8 sequence. */
static const char *ptr_build(char *buf, size_t cap, const struct fld *f)
{
	size_t o, base, i, len = f ? f->len : 0;

	if (!f) {
		buf[0] = '\0';
		return buf;
	}
	base = o = (size_t)snprintf(buf, cap, "%s/", f->prefix);
	if (f->len == NUL_TERMINATED)
		len = strlen(f->key);
	for (i = 0; i < len && o < PTR_MAX && f->key[i] != '\0'; i++) {
		if (f->key[i] == '~' || f->key[i] == '/') {
			buf[o++] = '~';
			buf[o++] = f->key[i] == '~' ? '0' : '1';
		} else {
			buf[o++] = f->key[i];
		}
	}
	if (i < len && ((unsigned char)f->key[i] & 0xC0) == 0x80) {
		while (o > base && ((unsigned char)buf[o - 1] & 0xC0) == 0x80)
			o--;
		if (o > base)
			o--; /* the lead byte of the cut character */
	}
	buf[o] = '\0';
	return buf;
}

static void reject(struct bp *bp, const struct fld *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record the current record's problem, unless it already has one. */
static void reject(struct bp *bp, const struct fld *f, const char *fmt, ...)
{
	va_list ap;

	if (bp->bad)
		return;
	bp->bad = 1;
	ptr_build(bp->field, sizeof(bp->field), f);
	va_start(ap, fmt);
	vsnprintf(bp->msg, sizeof(bp->msg), fmt, ap);
	va_end(ap);
}

static void grow_pools(struct bp *bp)
{
	struct col_batch_priv *pv = bp->b->priv;
	const struct col_schema *s = bp->s;
	size_t n = pv->slots ? pv->slots * 2 : 64;

	if (bp->b->kind != COL_BATCH_LABELS) {
		pv->num = col_xrealloc(pv->num, n * (s->nnum ? s->nnum : 1) * sizeof(double));
		pv->cat = col_xrealloc(pv->cat, n * (s->ncat ? s->ncat : 1) * sizeof(char *));
		pv->seg = col_xrealloc(pv->seg, n * (s->nseg ? s->nseg : 1) * sizeof(char *));
	}
	pv->slots = n;
}

/* Start record index; -E2BIG past the limit. */
static int rec_begin(struct bp *bp, size_t index)
{
	struct col_batch *b = bp->b;
	struct col_batch_priv *pv = b->priv;
	const struct col_schema *s = bp->s;
	struct col_record *r = &bp->cur;

	if (++b->nseen > bp->lim.max_records)
		return -E2BIG;
	if (b->nrec >= pv->slots)
		grow_pools(bp);
	memset(r, 0, sizeof(*r));
	r->index = index;
	r->ts = COL_TS_NONE;
	r->score = NAN;
	r->label = -1;
	if (b->kind != COL_BATCH_LABELS) {
		r->num = pv->num + b->nrec * s->nnum;
		r->cat = pv->cat + b->nrec * s->ncat;
		r->seg = pv->seg + b->nrec * s->nseg;
		for (size_t i = 0; i < s->nnum; i++)
			r->num[i] = NAN;
		for (size_t i = 0; i < s->ncat; i++)
			r->cat[i] = NULL;
		for (size_t i = 0; i < s->nseg; i++)
			r->seg[i] = NULL;
	}
	bp->have = 0;
	bp->bad = 0;
	bp->gen++;
	return 0;
}

/* Finish the current record: keep it, or record why not. */
static void rec_end(struct bp *bp)
{
	struct col_batch *b = bp->b;
	struct col_batch_priv *pv = b->priv;
	enum col_batch_kind k = b->kind;

	if (!(bp->have & HAVE_ID))
		reject(bp, k == COL_BATCH_LABELS ? TOP("prediction_id") : TOP("id"),
		       "required field missing");
	if (!(bp->have & HAVE_TS) && k != COL_BATCH_REFERENCE)
		reject(bp, TOP("ts"), "required field missing");
	if (!(bp->have & HAVE_SCORE) && k != COL_BATCH_LABELS)
		reject(bp, TOP("score"), "required field missing");
	if (!(bp->have & HAVE_LABEL) && k != COL_BATCH_PREDICTIONS)
		reject(bp, TOP("label"), "required field missing");
	if (bp->bad) {
		struct col_batch_error *e;

		if (b->nerr == pv->errcap) {
			pv->errcap = pv->errcap ? pv->errcap * 2 : 16;
			b->err = col_xrealloc(b->err, pv->errcap * sizeof(*b->err));
		}
		e = &b->err[b->nerr++];
		e->index = bp->cur.index;
		e->field = arena_str(pv, bp->field, strlen(bp->field));
		e->msg = arena_str(pv, bp->msg, strlen(bp->msg));
		return;
	}
	if (b->nrec == pv->reccap) {
		pv->reccap = pv->reccap ? pv->reccap * 2 : 64;
		b->rec = col_xrealloc(b->rec, pv->reccap * sizeof(*b->rec));
	}
	b->rec[b->nrec++] = bp->cur;
}

/* --- value checks shared by JSON and CSV --------------------------------------------- */

static void set_ts(struct bp *bp, const struct fld *field, const char *s, size_t len)
{
	int64_t us;

	if (col_ts_parse(s, len, &us)) {
		reject(bp, field, "expected an RFC 3339 date-time such as 2026-11-03T12:00:00Z");
		return;
	}
	if (us < 0) {
		reject(bp, field, "before 1970-01-01T00:00:00Z");
		return;
	}
	if (us > bp->lim.now + bp->lim.max_future) {
		reject(bp, field, "more than %lld days in the future",
		       (long long)(bp->lim.max_future / 86400000000));
		return;
	}
	bp->cur.ts = us;
}

static void set_score(struct bp *bp, double v)
{
	if (!(v >= 0 && v <= 1)) {
		reject(bp, TOP("score"), "score must be between 0 and 1");
		return;
	}
	bp->cur.score = v;
}

/* Keep a string value (id, category, segment) if it fits; NULL when rejected. */
static const char *keep_str(struct bp *bp, const struct fld *field, const char *s, size_t len)
{
	if (len > bp->lim.max_string) {
		reject(bp, field, "longer than %zu bytes", bp->lim.max_string);
		return NULL;
	}
	if (memchr(s, '\0', len)) {
		reject(bp, field, "contains a NUL character");
		return NULL;
	}
	return arena_str(bp->b->priv, s, len);
}

static void set_id(struct bp *bp, const struct fld *field, const char *s, size_t len)
{
	if (!len) {
		reject(bp, field, "id is empty");
		return;
	}
	bp->cur.id = keep_str(bp, field, s, len);
}

/* The label of text s[0..len): 1, 0, or -1 when it is neither label. Text equal to the
 * positive or negative label wins; then (csv) true/false and numbers equal to 0 or 1. */
static int label_of_text(const struct bp *bp, const char *s, size_t len, int csv)
{
	const struct col_schema *sc = bp->s;
	double v;

	if (strlen(sc->positive_label) == len && !memcmp(sc->positive_label, s, len))
		return 1;
	if (strlen(sc->negative_label) == len && !memcmp(sc->negative_label, s, len))
		return 0;
	if (!csv)
		return -1;
	if (len == 4 && !memcmp(s, "true", 4))
		return 1;
	if (len == 5 && !memcmp(s, "false", 5))
		return 0;
	if (!col_csv_parse_double(s, len, &v) && (v == 0 || v == 1))
		return (int)v;
	return -1;
}

static int label_of_number(const struct bp *bp, double v)
{
	char buf[COL_DOUBLE_BUF];
	size_t n = col_format_double(v, buf);
	int l = label_of_text(bp, buf, n, 0);

	if (l >= 0)
		return l;
	return v == 0 ? 0 : v == 1 ? 1 : -1;
}

static void bad_label(struct bp *bp, const struct fld *field)
{
	reject(bp, field, "label must be 0, 1, true, false, \"%.64s\" or \"%.64s\"",
	       bp->s->positive_label, bp->s->negative_label);
}

static void set_label(struct bp *bp, const struct fld *field, int l)
{
	if (l < 0)
		bad_label(bp, field);
	else
		bp->cur.label = l;
}

/* --- JSON ------------------------------------------------------------------------------ */

struct jp {
	const char *p, *end;
	const char *start; /* for byte offsets and columns in messages */
	unsigned depth, max;
	int toodeep;
	const char *err; /* the syntax error, or NULL */
};

enum vk {
	VK_STR,
	VK_NUM,
	VK_TRUE,
	VK_FALSE,
	VK_NULL,
	VK_NONFINITE, /* NaN, Infinity, -Infinity */
	VK_HUGE,      /* a number beyond the double range */
	VK_OBJ,       /* '{' not yet consumed */
	VK_ARR,       /* '[' not yet consumed */
};

struct jval {
	enum vk k;
	const char *s; /* VK_STR: bytes, not NUL-terminated (may point into bp->scratch) */
	size_t len;
	int sbad; /* VK_STR: holds \u0000 or a lone surrogate */
	double d; /* VK_NUM */
};

static int jerr(struct jp *j, const char *what)
{
	if (!j->err)
		j->err = what;
	return -1;
}

static inline void jws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int jenter(struct jp *j)
{
	if (++j->depth > j->max) {
		j->toodeep = 1;
		return jerr(j, "nesting too deep");
	}
	j->p++;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static long hex4(const char *p, const char *end)
{
	long v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);

		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

static size_t put_utf8(char *o, unsigned long cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Unescape the string whose body starts at st (after the quote) into bp->scratch; j->p is
 * at the first backslash. */
static int jstring_slow(struct jp *j, struct bp *bp, const char *st, struct jval *v)
{
	const char *p = j->p, *q = p;
	size_t o = (size_t)(p - st);

	/* find the closing quote first: the unescaped text is never longer than the raw */
	while (q < j->end && *q != '"')
		q += *q == '\\' ? 2 : 1;
	scratch_need(bp, (size_t)(q - st) + 4);
	memcpy(bp->scratch, st, o);
	while (p < j->end) {
		unsigned char c = (unsigned char)*p;

		if (c == '"') {
			v->s = bp->scratch;
			v->len = o;
			j->p = p + 1;
			return 0;
		}
		if (c < 0x20)
			return jerr(j, "control character in string");
		if (c != '\\') {
			bp->scratch[o++] = (char)c;
			p++;
			continue;
		}
		if (p + 1 >= j->end)
			break;
		switch (p[1]) {
		case '"':
		case '\\':
		case '/':
			bp->scratch[o++] = p[1];
			break;
		case 'b':
			bp->scratch[o++] = '\b';
			break;
		case 'f':
			bp->scratch[o++] = '\f';
			break;
		case 'n':
			bp->scratch[o++] = '\n';
			break;
		case 'r':
			bp->scratch[o++] = '\r';
			break;
		case 't':
			bp->scratch[o++] = '\t';
			break;
		case 'u': {
			long cp = hex4(p + 2, j->end), lo;

			if (cp < 0)
				return jerr(j, "invalid \\u escape");
			p += 6;
			if (cp >= 0xD800 && cp <= 0xDBFF && j->end - p >= 6 && p[0] == '\\' &&
			    p[1] == 'u' && (lo = hex4(p + 2, j->end)) >= 0xDC00 && lo <= 0xDFFF) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				p += 6;
			} else if (cp >= 0xD800 && cp <= 0xDFFF) {
				v->sbad = 1; /* a lone surrogate is no character */
				continue;
			}
			if (cp == 0)
				v->sbad = 1;
			/* 6 escaped bytes never unescape to more than 4 */
			o += put_utf8(bp->scratch + o, (unsigned long)cp);
			continue;
		}
		default:
			return jerr(j, "invalid escape in string");
		}
		p += 2;
	}
	return jerr(j, "unterminated string");
}

/* At '"': read a string into v (no copy unless it holds escapes). */
static int jstring(struct jp *j, struct bp *bp, struct jval *v)
{
	const char *st = j->p + 1, *p = st;

	v->k = VK_STR;
	v->sbad = 0;
	for (; p < j->end; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"') {
			v->s = st;
			v->len = (size_t)(p - st);
			j->p = p + 1;
			return 0;
		}
		if (c == '\\') {
			j->p = p;
			return jstring_slow(j, bp, st, v);
		}
		if (c < 0x20)
			return jerr(j, "control character in string");
	}
	return jerr(j, "unterminated string");
}

static int jword(struct jp *j, const char *w, size_t n)
{
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n))
		return jerr(j, "invalid literal");
	j->p += n;
	return 0;
}

static inline int isdig(char c)
{
	return c >= '0' && c <= '9';
}

static const double pow10_exact[23] = {
	1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* A number in JSON's grammar, or NaN / Infinity / -Infinity. The grammar check gathers
 * up to 19 significant digits; when they and the decimal exponent fit Clinger's fast
 * path (w <= 2^53, |q| <= 22: one correctly rounded IEEE operation on exact operands),
 * that is the value; anything else goes to col_csv_parse_double. */
static int jnumber(struct jp *j, struct jval *v)
{
	const char *b = j->p, *p = b, *e = j->end;
	uint64_t w = 0;
	int nd = 0, q = 0, slow = 0, neg = 0;

	if (p < e && *p == '-') {
		neg = 1;
		p++;
	}
	if (p < e && *p == 'I') {
		j->p = p;
		v->k = VK_NONFINITE;
		return jword(j, "Infinity", 8);
	}
	if (p < e && *p == '0') {
		p++;
	} else if (p < e && *p >= '1' && *p <= '9') {
		for (; p < e && isdig(*p); p++) {
			if (nd < 19) {
				w = w * 10 + (uint64_t)(*p - '0');
				nd++;
			} else {
				slow = 1;
			}
		}
	} else {
		return jerr(j, "invalid number");
	}
	if (p < e && *p == '.') {
		if (++p >= e || !isdig(*p))
			return jerr(j, "invalid number");
		for (; p < e && isdig(*p); p++) {
			if (!w && *p == '0') {
				q--; /* a leading zero of the fraction: no significant digit */
			} else if (nd < 19) {
				w = w * 10 + (uint64_t)(*p - '0');
				nd++;
				q--;
			} else {
				slow = 1;
			}
		}
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		int eneg = 0, x = 0;

		p++;
		if (p < e && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		if (p >= e || !isdig(*p))
			return jerr(j, "invalid number");
		for (; p < e && isdig(*p); p++)
			if (x < 10000)
				x = x * 10 + (*p - '0');
		q += eneg ? -x : x;
	}
	j->p = p;
	if (!slow && w <= (UINT64_C(1) << 53) && q >= -22 && q <= 22) {
		double d = (double)w;

		d = q < 0 ? d / pow10_exact[-q] : d * pow10_exact[q];
		v->d = neg ? -d : d;
		v->k = VK_NUM;
		return 0;
	}
	/* the grammar is checked, so the only failure left is overflow */
	v->k = col_csv_parse_double(b, (size_t)(p - b), &v->d) ? VK_HUGE : VK_NUM;
	return 0;
}

/* Read a value's head: scalars are consumed, '{' and '[' are not. */
static int jvalue(struct jp *j, struct bp *bp, struct jval *v)
{
	if (j->p >= j->end)
		return jerr(j, "unexpected end of input");
	switch (*j->p) {
	case '"':
		return jstring(j, bp, v);
	case '{':
		v->k = VK_OBJ;
		return 0;
	case '[':
		v->k = VK_ARR;
		return 0;
	case 't':
		v->k = VK_TRUE;
		return jword(j, "true", 4);
	case 'f':
		v->k = VK_FALSE;
		return jword(j, "false", 5);
	case 'n':
		v->k = VK_NULL;
		return jword(j, "null", 4);
	case 'N':
		v->k = VK_NONFINITE;
		return jword(j, "NaN", 3);
	default:
		return jnumber(j, v);
	}
}

static int jskip_rest(struct jp *j, struct bp *bp, const struct jval *v);

/* Skip a whole value. */
static int jskip(struct jp *j, struct bp *bp)
{
	struct jval v;

	if (jvalue(j, bp, &v))
		return -1;
	return jskip_rest(j, bp, &v);
}

/* Skip what is left of a value whose head is v. */
static int jskip_rest(struct jp *j, struct bp *bp, const struct jval *v)
{
	char close;
	int obj;

	if (v->k != VK_OBJ && v->k != VK_ARR)
		return 0;
	obj = v->k == VK_OBJ;
	close = obj ? '}' : ']';
	if (jenter(j))
		return -1;
	jws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return 0;
	}
	for (;;) {
		if (obj) {
			struct jval k;

			if (j->p >= j->end || *j->p != '"')
				return jerr(j, "expected a string key");
			if (jstring(j, bp, &k))
				return -1;
			jws(j);
			if (j->p >= j->end || *j->p != ':')
				return jerr(j, "expected ':'");
			j->p++;
			jws(j);
		}
		if (jskip(j, bp))
			return -1;
		jws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			jws(j);
			continue;
		}
		if (j->p < j->end && *j->p == close)
			break;
		return jerr(j, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
	j->p++;
	j->depth--;
	return 0;
}

/* Reject the record for a value of the wrong kind and skip the rest of it. */
static int jwrong(struct jp *j, struct bp *bp, const struct jval *v, const struct fld *field,
		  const char *expected)
{
	if (v->k == VK_NONFINITE)
		reject(bp, field, "not a finite number");
	else if (v->k == VK_HUGE)
		reject(bp, field, "number out of range");
	else if (v->k == VK_STR && v->sbad)
		reject(bp, field, "string holds \\u0000 or a lone surrogate");
	else
		reject(bp, field, "expected %s", expected);
	return jskip_rest(j, bp, v);
}

/* A feature's or segment's value; fi indexes s->feat (or s->seg when seg). */
static int jfield_value(struct jp *j, struct bp *bp, long fi, int seg)
{
	const struct col_schema *s = bp->s;
	const char *name = seg ? s->seg[fi] : s->feat[fi].name;
	const struct fld f = {seg ? "/segments" : "/features", name, NUL_TERMINATED}, *field = &f;
	int numeric = !seg && s->feat[fi].type == COL_NUMERIC;
	const char **slot = seg       ? &bp->cur.seg[fi]
			    : numeric ? NULL
				      : &bp->cur.cat[s->feat[fi].slot];
	char buf[COL_DOUBLE_BUF];
	struct jval v;

	if (jvalue(j, bp, &v))
		return -1;
	if (numeric) {
		if (v.k == VK_NUM)
			bp->cur.num[s->feat[fi].slot] = v.d;
		else if (v.k != VK_NULL)
			return jwrong(j, bp, &v, field, "a number or null");
		return 0;
	}
	switch (v.k) {
	case VK_STR:
		if (v.sbad)
			return jwrong(j, bp, &v, field, "");
		if (v.len)
			*slot = keep_str(bp, field, v.s, v.len);
		return 0;
	case VK_NUM:
		*slot = arena_str(bp->b->priv, buf, col_format_double(v.d, buf));
		return 0;
	case VK_TRUE:
		*slot = "true";
		return 0;
	case VK_FALSE:
		*slot = "false";
		return 0;
	case VK_NULL:
		return 0;
	default:
		return jwrong(j, bp, &v, field, "a string, number or null");
	}
}

/* The "features" or "segments" object of a record. */
static int jfields(struct jp *j, struct bp *bp, int seg)
{
	const struct col_schema *s = bp->s;
	const char *prefix = seg ? "/segments" : "/features";
	struct jval v;

	if (jvalue(j, bp, &v))
		return -1;
	if (v.k == VK_NULL)
		return 0;
	if (v.k != VK_OBJ)
		return jwrong(j, bp, &v, &(const struct fld){"", prefix + 1, strlen(prefix + 1)},
			      "an object");
	if (jenter(j))
		return -1;
	jws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		j->depth--;
		return 0;
	}
	for (;;) {
		struct jval k;
		int is_seg = 0;
		long fi;

		if (j->p >= j->end || *j->p != '"')
			return jerr(j, "expected a string key");
		if (jstring(j, bp, &k))
			return -1;
		jws(j);
		if (j->p >= j->end || *j->p != ':')
			return jerr(j, "expected ':'");
		j->p++;
		jws(j);
		fi = k.sbad ? -1 : col_schema_find(s, k.s, k.len, &is_seg);
		if (fi < 0 || is_seg != seg) {
			const struct fld f0 = {prefix, k.s, k.len}, *f = &f0;

			if (fi >= 0)
				reject(bp, f, "\"%.64s\" is a %s, not a %s",
				       is_seg ? s->seg[fi] : s->feat[fi].name,
				       is_seg ? "segment" : "feature", seg ? "segment" : "feature");
			else
				reject(bp, f, "unknown %s", seg ? "segment" : "feature");
			if (jskip(j, bp))
				return -1;
		} else {
			uint32_t *seen = &bp->seen[seg ? s->nfeat + (size_t)fi : (size_t)fi];

			if (*seen == bp->gen)
				reject(bp, &(const struct fld){prefix, k.s, k.len},
				       "duplicate field");
			*seen = bp->gen;
			if (jfield_value(j, bp, fi, seg))
				return -1;
		}
		jws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			jws(j);
			continue;
		}
		if (j->p < j->end && *j->p == '}')
			break;
		return jerr(j, "expected ',' or '}'");
	}
	j->p++;
	j->depth--;
	return 0;
}

enum key {
	K_UNKNOWN,
	K_ID,
	K_TS,
	K_SCORE,
	K_LABEL,
	K_FEATURES,
	K_SEGMENTS,
};

/* The record key k[0..n) for a batch of kind: its enum, HAVE_ bit and canonical name. */
static enum key top_key(enum col_batch_kind kind, const char *k, size_t n, unsigned *bit,
			const char **name)
{
	static const struct {
		const char *name;
		enum key key;
		unsigned bit;
		unsigned kinds; /* 1 << enum col_batch_kind */
	} keys[] = {
		{"id", K_ID, HAVE_ID, 1 << COL_BATCH_PREDICTIONS | 1 << COL_BATCH_REFERENCE},
		{"prediction_id", K_ID, HAVE_ID, 1 << COL_BATCH_LABELS},
		{"ts", K_TS, HAVE_TS, 7},
		{"observed_at", K_TS, HAVE_TS, 1 << COL_BATCH_LABELS},
		{"score", K_SCORE, HAVE_SCORE,
		 1 << COL_BATCH_PREDICTIONS | 1 << COL_BATCH_REFERENCE},
		{"features", K_FEATURES, HAVE_FEATURES,
		 1 << COL_BATCH_PREDICTIONS | 1 << COL_BATCH_REFERENCE},
		{"segments", K_SEGMENTS, HAVE_SEGMENTS,
		 1 << COL_BATCH_PREDICTIONS | 1 << COL_BATCH_REFERENCE},
		{"label", K_LABEL, HAVE_LABEL, 1 << COL_BATCH_LABELS | 1 << COL_BATCH_REFERENCE},
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!(keys[i].kinds & 1u << kind) || strlen(keys[i].name) != n ||
		    memcmp(keys[i].name, k, n))
			continue;
		*bit = keys[i].bit;
		*name = keys[i].name;
		return keys[i].key;
	}
	return K_UNKNOWN;
}

/* One top-level field of a record whose key is k; v is its value's head. */
static int jtop(struct jp *j, struct bp *bp, enum key key, const struct fld *field, struct jval *v)
{
	char buf[COL_DOUBLE_BUF];

	switch (key) {
	case K_ID:
		if (v->k == VK_STR && !v->sbad) {
			set_id(bp, field, v->s, v->len);
			return 0;
		}
		if (v->k == VK_NUM && v->d == floor(v->d) && fabs(v->d) < 9007199254740992.0) {
			set_id(bp, field, buf, col_format_double(v->d, buf));
			return 0;
		}
		return jwrong(j, bp, v, field, "a string");
	case K_TS:
		if (v->k == VK_STR && !v->sbad) {
			set_ts(bp, field, v->s, v->len);
			return 0;
		}
		if (v->k == VK_NULL && bp->b->kind == COL_BATCH_REFERENCE)
			return 0;
		return jwrong(j, bp, v, field, "an RFC 3339 date-time string");
	case K_SCORE:
		if (v->k == VK_NUM) {
			set_score(bp, v->d);
			return 0;
		}
		return jwrong(j, bp, v, field, "a number");
	case K_LABEL:
		if (v->k == VK_TRUE || v->k == VK_FALSE)
			set_label(bp, field, v->k == VK_TRUE);
		else if (v->k == VK_NUM)
			set_label(bp, field, label_of_number(bp, v->d));
		else if (v->k == VK_STR && !v->sbad)
			set_label(bp, field, label_of_text(bp, v->s, v->len, 0));
		else if (v->k == VK_OBJ || v->k == VK_ARR || v->k == VK_NULL)
			return jwrong(j, bp, v, field, "a label");
		else
			bad_label(bp, field);
		return 0;
	default:
		return jskip_rest(j, bp, v);
	}
}

/* One record object at j->p. Semantic problems reject the record and parsing goes on;
 * -1 means a syntax error (j->err) or nesting too deep (j->toodeep). */
static int jrecord(struct jp *j, struct bp *bp)
{
	struct jval v;

	jws(j);
	if (j->p >= j->end)
		return jerr(j, "unexpected end of input");
	if (*j->p != '{') {
		reject(bp, NULL, "record is not a JSON object");
		return jskip(j, bp);
	}
	if (jenter(j))
		return -1;
	jws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		j->depth--;
		return 0;
	}
	for (;;) {
		struct jval k;
		unsigned bit = 0;
		enum key key;
		const char *name = NULL;

		if (j->p >= j->end || *j->p != '"')
			return jerr(j, "expected a string key");
		if (jstring(j, bp, &k))
			return -1;
		jws(j);
		if (j->p >= j->end || *j->p != ':')
			return jerr(j, "expected ':'");
		j->p++;
		jws(j);
		key = k.sbad ? K_UNKNOWN : top_key(bp->b->kind, k.s, k.len, &bit, &name);
		if (key == K_UNKNOWN || (bp->have & bit)) {
			reject(bp, &(const struct fld){"", k.s, k.len},
			       key == K_UNKNOWN ? "unknown field" : "duplicate field");
			if (jskip(j, bp))
				return -1;
		} else if (key == K_FEATURES || key == K_SEGMENTS) {
			bp->have |= bit;
			if (jfields(j, bp, key == K_SEGMENTS))
				return -1;
		} else {
			/* the key's text may sit in the scratch buffer the value reuses */
			const struct fld f = {"", name, NUL_TERMINATED};

			/* a rejected value leaves the field unset, but it is not "missing" */
			bp->have |= bit;
			if (jvalue(j, bp, &v) || jtop(j, bp, key, &f, &v))
				return -1;
		}
		jws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			jws(j);
			continue;
		}
		if (j->p < j->end && *j->p == '}')
			break;
		return jerr(j, "expected ',' or '}'");
	}
	j->p++;
	j->depth--;
	return 0;
}

static void fatal(struct bp *bp, const char *pointer_, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fatal(struct bp *bp, const char *pointer_, const char *fmt, ...)
{
	va_list ap;

	if (!bp->diag)
		return;
	snprintf(bp->diag->pointer, sizeof(bp->diag->pointer), "%s", pointer_);
	va_start(ap, fmt);
	vsnprintf(bp->diag->msg, sizeof(bp->diag->msg), fmt, ap);
	va_end(ap);
}

static int parse_json(struct bp *bp, const char *body, size_t len)
{
	struct jp j = {body, body + len, body, 0, bp->lim.max_depth, 0, NULL};
	size_t index = 0;
	char ptr[32];
	int rc;

	jws(&j);
	if (j.p == j.end)
		return 0;
	if (*j.p != '[') {
		fatal(bp, "", "expected a JSON array of records");
		return -EINVAL;
	}
	if (jenter(&j)) {
		fatal(bp, "", "JSON nested deeper than %u levels", j.max);
		return -EINVAL;
	}
	jws(&j);
	if (j.p < j.end && *j.p == ']') {
		j.p++;
	} else {
		for (;;) {
			rc = rec_begin(bp, index);
			if (rc) {
				fatal(bp, "", "more than %zu records in one batch",
				      bp->lim.max_records);
				return rc;
			}
			snprintf(ptr, sizeof(ptr), "/%zu", index);
			if (jrecord(&j, bp)) {
				if (j.toodeep)
					fatal(bp, ptr, "JSON nested deeper than %u levels", j.max);
				else
					fatal(bp, ptr, "invalid JSON at byte %zu: %s",
					      (size_t)(j.p - j.start), j.err);
				return -EINVAL;
			}
			rec_end(bp);
			index++;
			jws(&j);
			if (j.p < j.end && *j.p == ',') {
				j.p++;
				continue;
			}
			if (j.p < j.end && *j.p == ']') {
				j.p++;
				break;
			}
			fatal(bp, "", "invalid JSON at byte %zu: expected ',' or ']'",
			      (size_t)(j.p - j.start));
			return -EINVAL;
		}
	}
	jws(&j);
	if (j.p != j.end) {
		fatal(bp, "", "invalid JSON at byte %zu: data after the array",
		      (size_t)(j.p - j.start));
		return -EINVAL;
	}
	return 0;
}

static int parse_ndjson(struct bp *bp, const char *body, size_t len)
{
	const char *p = body, *end = body + len;
	size_t index = 0, lineno = 0;
	int rc;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		struct jp j = {p, le, p, 0, bp->lim.max_depth, 0, NULL};

		lineno++;
		jws(&j);
		if (j.p == le) {
			p = nl ? nl + 1 : end;
			continue;
		}
		rc = rec_begin(bp, index);
		if (rc) {
			fatal(bp, "", "more than %zu records in one batch", bp->lim.max_records);
			return rc;
		}
		rc = jrecord(&j, bp);
		if (!rc) {
			jws(&j);
			if (j.p != le)
				rc = jerr(&j, "data after the record");
		}
		if (rc && j.toodeep) {
			fatal(bp, "", "line %zu: JSON nested deeper than %u levels", lineno, j.max);
			return -EINVAL;
		}
		if (rc) {
			bp->bad = 0; /* a syntax error is the record's real problem */
			reject(bp, NULL, "invalid JSON at column %zu: %s", (size_t)(j.p - p) + 1,
			       j.err);
		}
		rec_end(bp);
		index++;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

/* --- CSV ----------------------------------------------------------------------------- */

enum ccol_kind {
	C_ID,
	C_TS,
	C_SCORE,
	C_LABEL,
	C_FEAT,
	C_SEG,
};

struct ccol {
	enum ccol_kind kind;
	long idx; /* feature or segment index */
};

struct cp {
	const char *p, *end;
	size_t line; /* 1-based line of c->p */
};

/* Read one cell at c->p into *s, *len (unquoted; an escaped one into bp->scratch); *eol
 * is set when the row ends after it. -1 (with the message in diag) when the body cannot
 * be read further: an unterminated quote or text after a closing quote. */
static int csv_cell(struct bp *bp, struct cp *c, const char **s, size_t *len, int *eol)
{
	const char *p = c->p, *end = c->end;

	if (p < end && *p == '"') {
		const char *st = p + 1, *q = st;
		size_t line = c->line;
		int esc = 0;

		for (;;) {
			q = memchr(q, '"', (size_t)(end - q));
			if (!q) {
				fatal(bp, "", "line %zu: unterminated quoted cell", line);
				return -1;
			}
			if (q + 1 < end && q[1] == '"') {
				esc = 1;
				q += 2;
				continue;
			}
			break;
		}
		for (const char *x = st; (x = memchr(x, '\n', (size_t)(q - x))); x++)
			c->line++;
		if (esc) {
			size_t o = 0;

			scratch_need(bp, (size_t)(q - st) + 1);
			for (const char *x = st; x < q; x++) {
				bp->scratch[o++] = *x;
				if (*x == '"')
					x++;
			}
			*s = bp->scratch;
			*len = o;
		} else {
			*s = st;
			*len = (size_t)(q - st);
		}
		p = q + 1;
		if (p >= end || (*p == '\r' && p + 1 == end)) {
			c->p = end;
			*eol = 1;
		} else if (*p == ',') {
			c->p = p + 1;
			*eol = 0;
		} else if (*p == '\n' || (*p == '\r' && p[1] == '\n')) {
			c->p = p + (*p == '\r' ? 2 : 1);
			c->line++;
			*eol = 1;
		} else {
			fatal(bp, "", "line %zu: text after a closing quote", c->line);
			return -1;
		}
		return 0;
	}
	{
		const char *q = p;

		while (q < end && *q != ',' && *q != '\n')
			q++;
		*s = p;
		if (q < end && *q == ',') {
			*len = (size_t)(q - p);
			c->p = q + 1;
			*eol = 0;
			return 0;
		}
		*len = (size_t)(q - p);
		if (*len && p[*len - 1] == '\r')
			(*len)--;
		if (q < end) {
			c->line++;
			q++;
		}
		c->p = q;
		*eol = 1;
	}
	return 0;
}

static int csv_header(struct bp *bp, struct cp *c, struct ccol **cols, size_t *ncols)
{
	const struct col_schema *s = bp->s;
	enum col_batch_kind kind = bp->b->kind;
	size_t n = 0, cap = 16;
	struct ccol *cc = col_xmalloc(cap * sizeof(*cc));
	unsigned have = 0;
	int eol = 0, rc = -EINVAL;
	char name[COL_NAME_MAX + 16], ptr[PTR_MAX + 16];

	memset(bp->seen, 0, (s->nfeat + s->nseg + 1) * sizeof(*bp->seen));
	while (!eol) {
		const char *t;
		size_t len;
		struct ccol k = {C_ID, -1};
		unsigned bit = 0;
		int is_seg = 0;

		if (csv_cell(bp, c, &t, &len, &eol))
			goto out;
		snprintf(name, sizeof(name), "%.*s", (int)(len > COL_NAME_MAX ? COL_NAME_MAX : len),
			 t);
		ptr_build(ptr, sizeof(ptr), &(const struct fld){"", name, strlen(name)});
#define IS(w) (len == sizeof(w) - 1 && !memcmp(t, w, len))
		if (kind == COL_BATCH_LABELS ? IS("prediction_id") : IS("id")) {
			bit = HAVE_ID;
		} else if (IS("ts") || IS("observed_at")) {
			k.kind = C_TS;
			bit = HAVE_TS;
		} else if (IS("score") && kind != COL_BATCH_LABELS) {
			k.kind = C_SCORE;
			bit = HAVE_SCORE;
		} else if (IS("label") && kind != COL_BATCH_PREDICTIONS) {
			k.kind = C_LABEL;
			bit = HAVE_LABEL;
		} else if (kind != COL_BATCH_LABELS) {
			const char *nm = t;
			size_t nl = len;
			int want = -1; /* -1 either, 0 feature, 1 segment */

			/* "features.x" names feature x, unless a feature is called that */
			if (len > 9 && (!memcmp(t, "features.", 9) || !memcmp(t, "segments.", 9)) &&
			    col_schema_find(s, t, len, &is_seg) < 0) {
				want = t[0] == 's';
				nm = t + 9;
				nl = len - 9;
			}
			k.idx = col_schema_find(s, nm, nl, &is_seg);
			if (k.idx < 0 || (want >= 0 && want != is_seg)) {
				fatal(bp, ptr, "unknown column \"%s\"", name);
				goto out;
			}
			k.kind = is_seg ? C_SEG : C_FEAT;
		} else {
			fatal(bp, ptr, "unknown column \"%s\"", name);
			goto out;
		}
#undef IS
		if (bit & have) {
			fatal(bp, ptr, "column \"%s\" given twice", name);
			goto out;
		}
		have |= bit;
		if (k.kind == C_FEAT || k.kind == C_SEG) {
			uint32_t *seen = &bp->seen[k.kind == C_SEG ? s->nfeat + (size_t)k.idx
								   : (size_t)k.idx];

			if (*seen) {
				fatal(bp, ptr, "column \"%s\" given twice", name);
				goto out;
			}
			*seen = 1;
		}
		if (n == cap)
			cc = col_xrealloc(cc, (cap *= 2) * sizeof(*cc));
		cc[n++] = k;
	}
	if (!(have & HAVE_ID)) {
		const char *idname = kind == COL_BATCH_LABELS ? "prediction_id" : "id";

		fatal(bp, kind == COL_BATCH_LABELS ? "/prediction_id" : "/id",
		      "missing column \"%s\"", idname);
		goto out;
	}
	if (!(have & HAVE_TS) && kind != COL_BATCH_REFERENCE) {
		fatal(bp, "/ts", "missing column \"ts\"");
		goto out;
	}
	if (!(have & HAVE_SCORE) && kind != COL_BATCH_LABELS) {
		fatal(bp, "/score", "missing column \"score\"");
		goto out;
	}
	if (!(have & HAVE_LABEL) && kind != COL_BATCH_PREDICTIONS) {
		fatal(bp, "/label", "missing column \"label\"");
		goto out;
	}
	*cols = cc;
	*ncols = n;
	cc = NULL;
	rc = 0;
out:
	free(cc);
	memset(bp->seen, 0, (s->nfeat + s->nseg + 1) * sizeof(*bp->seen));
	return rc;
}

static void csv_value(struct bp *bp, const struct ccol *k, const char *t, size_t len)
{
	const struct col_schema *s = bp->s;
	const char *name;
	struct fld field;
	double v;

	switch (k->kind) {
	case C_ID:
		if (len) {
			bp->have |= HAVE_ID;
			set_id(bp,
			       bp->b->kind == COL_BATCH_LABELS ? TOP("prediction_id") : TOP("id"),
			       t, len);
		}
		return;
	case C_TS:
		if (len) {
			bp->have |= HAVE_TS;
			set_ts(bp, TOP("ts"), t, len);
		}
		return;
	case C_SCORE:
		if (!len)
			return;
		bp->have |= HAVE_SCORE;
		if (col_csv_parse_double(t, len, &v))
			reject(bp, TOP("score"), "expected a finite number");
		else
			set_score(bp, v);
		return;
	case C_LABEL:
		if (!len)
			return;
		bp->have |= HAVE_LABEL;
		set_label(bp, TOP("label"), label_of_text(bp, t, len, 1));
		return;
	case C_FEAT:
	case C_SEG:
		break;
	}
	if (col_csv_is_missing(t, len))
		return;
	name = k->kind == C_SEG ? s->seg[k->idx] : s->feat[k->idx].name;
	field = (struct fld){k->kind == C_SEG ? "/segments" : "/features", name, NUL_TERMINATED};
	if (k->kind == C_FEAT && s->feat[k->idx].type == COL_NUMERIC) {
		if (col_csv_parse_double(t, len, &v))
			reject(bp, &field, "expected a finite number");
		else
			bp->cur.num[s->feat[k->idx].slot] = v;
		return;
	}
	if (k->kind == C_SEG)
		bp->cur.seg[k->idx] = keep_str(bp, &field, t, len);
	else
		bp->cur.cat[s->feat[k->idx].slot] = keep_str(bp, &field, t, len);
}

static int parse_csv(struct bp *bp, const char *body, size_t len)
{
	struct cp c = {body, body + len, 1};
	struct ccol *cols = NULL;
	size_t ncols = 0, index = 0;
	int rc;

	if (len >= 3 && !memcmp(body, "\xEF\xBB\xBF", 3))
		c.p += 3;
	rc = csv_header(bp, &c, &cols, &ncols);
	if (rc)
		goto out;
	while (c.p < c.end) {
		size_t col = 0;
		int eol = 0;

		if (*c.p == '\n' || (*c.p == '\r' && (c.p + 1 == c.end || c.p[1] == '\n'))) {
			c.p += *c.p == '\r' && c.p + 1 < c.end ? 2 : 1;
			c.line++;
			continue;
		}
		rc = rec_begin(bp, index);
		if (rc) {
			fatal(bp, "", "more than %zu records in one batch", bp->lim.max_records);
			goto out;
		}
		while (!eol) {
			const char *t;
			size_t tl;

			if (csv_cell(bp, &c, &t, &tl, &eol)) {
				rc = -EINVAL;
				goto out;
			}
			if (col < ncols)
				csv_value(bp, &cols[col], t, tl);
			col++;
		}
		if (col != ncols) {
			bp->bad = 0; /* a ragged row's cells went to the wrong columns */
			reject(bp, NULL, "expected %zu cells, found %zu", ncols, col);
		}
		rec_end(bp);
		index++;
	}
out:
	free(cols);
	return rc;
}

/* --- checks on the whole body ----------------------------------------------------------- */

int col_utf8_check(const char *s, size_t len, size_t *bad)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		unsigned c;
		uint32_t cp;
		size_t n;

		while (end - p >= 8) {
			uint64_t w;

			memcpy(&w, p, 8);
			if (w & 0x8080808080808080ULL)
				break;
			p += 8;
		}
		if (p >= end)
			break;
		c = *p;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			n = 2;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			n = 3;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 4;
			cp = c & 0x07;
		} else {
			goto bad;
		}
		if ((size_t)(end - p) < n)
			goto bad;
		for (size_t k = 1; k < n; k++) {
			if ((p[k] & 0xC0) != 0x80)
				goto bad;
			cp = cp << 6 | (p[k] & 0x3F);
		}
		if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
			goto bad;
		p += n;
	}
	return 0;
bad:
	if (bad)
		*bad = (size_t)(p - (const unsigned char *)s);
	return -EINVAL;
}

int col_json_precheck(const char *s, size_t len, unsigned max_depth, struct col_diag *diag)
{
	unsigned depth = 0;
	int in_str = 0;
	size_t bad;

	if (col_utf8_check(s, len, &bad)) {
		if (diag) {
			diag->pointer[0] = '\0';
			snprintf(diag->msg, sizeof(diag->msg), "invalid UTF-8 at byte %zu", bad);
		}
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > max_depth) {
				if (diag) {
					diag->pointer[0] = '\0';
					snprintf(diag->msg, sizeof(diag->msg),
						 "JSON nested deeper than %u levels", max_depth);
				}
				return -EINVAL;
			}
		} else if ((c == ']' || c == '}') && depth) {
			depth--;
		}
	}
	return 0;
}

int col_batch_format(const char *media_type, enum col_format *out)
{
	static const struct {
		const char *type;
		enum col_format fmt;
	} map[] = {
		{"application/json", COL_FMT_JSON},
		{"application/x-ndjson", COL_FMT_NDJSON},
		{"application/ndjson", COL_FMT_NDJSON},
		{"application/jsonl", COL_FMT_NDJSON},
		{"application/x-jsonlines", COL_FMT_NDJSON},
		{"text/csv", COL_FMT_CSV},
	};

	for (size_t i = 0; media_type && i < sizeof(map) / sizeof(map[0]); i++) {
		if (!strcmp(media_type, map[i].type)) {
			*out = map[i].fmt;
			return 0;
		}
	}
	return -ENOTSUP;
}

/* --- the batch ------------------------------------------------------------------------- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Mark later copies of an id as duplicates or conflicts of its first copy. */
static void dedupe(struct col_batch *b)
{
	size_t cap = 16, mask;
	size_t *tab;

	while (cap < 2 * b->nrec)
		cap *= 2;
	mask = cap - 1;
	tab = col_xcalloc(cap, sizeof(*tab));
	for (size_t i = 0; i < b->nrec; i++) {
		size_t h = (size_t)hash_str(b->rec[i].id) & mask;

		for (;; h = (h + 1) & mask) {
			const struct col_record *first;

			if (!tab[h]) {
				tab[h] = i + 1;
				break;
			}
			first = &b->rec[tab[h] - 1];
			if (strcmp(first->id, b->rec[i].id))
				continue;
			col_batch_mark(b, i,
				       col_record_equal(b->schema, first, &b->rec[i])
					       ? COL_REC_DUPLICATE
					       : COL_REC_CONFLICT);
			break;
		}
	}
	free(tab);
}

void col_batch_mark(struct col_batch *b, size_t i, enum col_rec_state state)
{
	if (b->rec[i].state == state)
		return;
	b->rec[i].state = state;
	if (state == COL_REC_DUPLICATE)
		b->ndup++;
	else if (state == COL_REC_CONFLICT)
		b->nconflict++;
}

int col_batch_parse(const struct col_schema *s, enum col_batch_kind kind, enum col_format fmt,
		    const char *body, size_t len, const struct col_batch_limits *lim,
		    struct col_batch **out, struct col_diag *diag)
{
	struct bp bp = {0};
	struct col_batch *b = col_xcalloc(1, sizeof(*b));
	size_t bad;
	int rc;

	b->schema = s;
	b->kind = kind;
	b->priv = col_xcalloc(1, sizeof(*b->priv));
	bp.b = b;
	bp.s = s;
	bp.diag = diag;
	if (lim)
		bp.lim = *lim;
	else
		col_batch_limits_default(&bp.lim);
	if (!bp.lim.now) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		bp.lim.now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	}
	bp.seen = col_xcalloc(s->nfeat + s->nseg + 1, sizeof(*bp.seen));
	if (diag)
		diag->pointer[0] = diag->msg[0] = '\0';
	if (col_utf8_check(body, len, &bad)) {
		fatal(&bp, "", "invalid UTF-8 at byte %zu", bad);
		rc = -EINVAL;
		goto out;
	}
	{
		const char *p = body, *e = body + len;

		while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
			p++;
		if (p == e) {
			rc = 0;
			goto done;
		}
	}
	switch (fmt) {
	case COL_FMT_JSON:
		rc = parse_json(&bp, body, len);
		break;
	case COL_FMT_NDJSON:
		rc = parse_ndjson(&bp, body, len);
		break;
	case COL_FMT_CSV:
		rc = parse_csv(&bp, body, len);
		break;
	default:
		rc = -EINVAL;
		fatal(&bp, "", "unknown format");
	}
	if (rc)
		goto out;
done:
	for (size_t i = 0; i < b->nrec && kind != COL_BATCH_LABELS; i++) {
		b->rec[i].num = b->priv->num + i * s->nnum;
		b->rec[i].cat = b->priv->cat + i * s->ncat;
		b->rec[i].seg = b->priv->seg + i * s->nseg;
	}
	dedupe(b);
	*out = b;
	b = NULL;
out:
	free(bp.seen);
	free(bp.scratch);
	col_batch_free(b);
	return rc;
}
