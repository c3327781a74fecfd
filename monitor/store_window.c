/* SPDX-License-Identifier: MIT
 * monitor/store_window.c - a model's stored predictions (or a reference) as column arrays
 *
 * One statement per load, sent with PQsendQueryParams and read with PQsetSingleRowMode in
 * binary format: a double arrives as its 8 IEEE bytes and an array as a header plus
 * length-prefixed elements, so nothing is parsed from text and libpq holds one row at a
 * time. The row cap is the statement's LIMIT (max_rows + 1), so a too-large window costs
 * at most max_rows rows of work before it is refused.
 *
 * The statement has no ORDER BY: sorting 10^6 rows of arrays in PostgreSQL (spilling to
 * disk at the default work_mem) cost more than reading them. Rows are kept in arrival
 * order with their sort key (ts, client id), categorical values interned into dictionaries
 * of the load's own; then a sort of the keys alone (skipped when the rows came in order)
 * gives the permutation, each column is gathered in that order, and the codes are
 * translated to the caller's shared dictionaries in sorted first-seen order, exactly as if
 * the rows had arrived sorted.
 *
 * The binary array format (PostgreSQL's array_send): int32 ndim, int32 has-nulls flag,
 * uint32 element type OID, then ndim pairs (int32 length, int32 lower bound), then each
 * element as int32 byte length (-1 for NULL) and the bytes; all integers big-endian.
 * Stored arrays are one-dimensional and hold exactly the schema's count of values; a
 * shorter one (never written by vigil) reads as missing values, a malformed one is -EIO.
 * A timestamptz is an int64 of microseconds since 2000-01-01 (integer datetimes, the only
 * kind since PostgreSQL 10): compared as it is, never converted.
 */
#include "config.h"

#include "monitor/store_window.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/db.h"
#include "monitor/log.h"
#include "stats/sort.h"

#define LOG_PREFIX "window: "
#define OID_FLOAT8 701u
#define OID_TEXT 25u
#define INITIAL_ROWS 4096
/* work_mem of a window load (SET LOCAL): the join's hash of the model's labels then fits
 * in memory up to about 2 x 10^6 labels (hash_mem_multiplier 2: 128 MB; 10^6 labels take
 * 65 MB), where the default 4 MB split it into batches spilled to disk (10^6 rows: 2.5 ->
 * 1.5 s in PostgreSQL) and scrambled the row order, which the client then had to sort. */
#define WINDOW_WORK_MEM "64MB"

/* The columns every load selects, in this order: ts timestamptz (the sort key; NULL sorts
 * by client id alone), client_id text, score float8, label int2 (NULL: none yet), num
 * float8[], cat text[] (both NULL unless the features are asked for), seg text[]. Without
 * labels the join is left out: it is most of PostgreSQL's work for a large window. */
#define NCOLS 7
#define WINDOW_COLS(label)                                                                         \
	"SELECT p.ts, p.client_id, p.score, " label ", CASE WHEN $4::bool THEN p.num END, "        \
	"CASE WHEN $4::bool THEN p.cat END, p.seg "
#define WINDOW_WHERE                                                                               \
	"WHERE p.model_id = $1::int8 AND p.ts >= $2::timestamptz AND p.ts < $3::timestamptz "      \
	"LIMIT $5::int8"
#define WINDOW_SQL                                                                                 \
	WINDOW_COLS("l.label")                                                                     \
	"FROM predictions p LEFT JOIN labels l "                                                   \
	"ON l.model_id = p.model_id AND l.prediction_id = p.client_id " WINDOW_WHERE
#define WINDOW_NOLABEL_SQL WINDOW_COLS("NULL::int2") "FROM predictions p " WINDOW_WHERE

#define UPLOAD_SQL                                                                                 \
	"SELECT NULL::timestamptz, client_id, score, CASE WHEN $4::bool THEN label END, "          \
	"CASE WHEN $2::bool THEN num END, "                                                        \
	"CASE WHEN $2::bool THEN cat END, seg FROM reference_rows "                                \
	"WHERE reference_id = $1::int8 LIMIT $3::int8"

/* --- dictionaries ------------------------------------------------------------------------- */

void mon_store_window_dicts_init(struct mon_window_dicts *d, const struct col_schema *s)
{
	d->ncat = s->ncat;
	d->nseg = s->nseg;
	d->cat = mon_xcalloc(s->ncat ? s->ncat : 1, sizeof(*d->cat));
	d->seg = mon_xcalloc(s->nseg ? s->nseg : 1, sizeof(*d->seg));
	for (size_t i = 0; i < s->ncat; i++)
		d->cat[i] = col_dict_new();
	for (size_t i = 0; i < s->nseg; i++)
		d->seg[i] = col_dict_new();
}

void mon_store_window_dicts_fini(struct mon_window_dicts *d)
{
	for (size_t i = 0; d->cat && i < d->ncat; i++)
		col_dict_free(d->cat[i]);
	for (size_t i = 0; d->seg && i < d->nseg; i++)
		col_dict_free(d->seg[i]);
	free(d->cat);
	free(d->seg);
	d->cat = d->seg = NULL;
	d->ncat = d->nseg = 0;
}

/* --- windows -------------------------------------------------------------------------------- */

struct mon_window *mon_store_window_labeled(const struct mon_window *w)
{
	size_t *rows = mon_xmalloc((w->n ? w->n : 1) * sizeof(size_t));
	size_t k = 0;
	struct mon_window *l;

	for (size_t i = 0; i < w->n; i++)
		if (w->label[i] != MON_WINDOW_NO_LABEL)
			rows[k++] = i;
	l = mon_store_window_select(w, rows, k);
	free(rows);
	return l;
}

void mon_store_window_free(struct mon_window *w)
{
	if (!w)
		return;
	free(w->score);
	free(w->label);
	for (size_t k = 0; w->num && k < w->nnum; k++)
		free(w->num[k]);
	for (size_t k = 0; w->cat && k < w->ncat; k++)
		free(w->cat[k]);
	for (size_t k = 0; w->seg && k < w->nseg; k++)
		free(w->seg[k]);
	free(w->num);
	free(w->cat);
	free(w->seg);
	free(w);
}

/* An empty window with the columns that flags ask for, room for cap rows. */
static struct mon_window *window_new(const struct col_schema *s, unsigned flags, size_t cap)
{
	struct mon_window *w = mon_xcalloc(1, sizeof(*w));

	if (cap == 0)
		cap = 1;
	w->nnum = s->nnum;
	w->ncat = s->ncat;
	w->nseg = s->nseg;
	w->score = mon_xmalloc(cap * sizeof(double));
	w->label = mon_xmalloc(cap);
	if (flags & MON_WINDOW_FEATURES) {
		w->num = mon_xcalloc(s->nnum ? s->nnum : 1, sizeof(double *));
		w->cat = mon_xcalloc(s->ncat ? s->ncat : 1, sizeof(uint32_t *));
		for (size_t k = 0; k < s->nnum; k++)
			w->num[k] = mon_xmalloc(cap * sizeof(double));
		for (size_t k = 0; k < s->ncat; k++)
			w->cat[k] = mon_xmalloc(cap * sizeof(uint32_t));
	}
	w->seg = mon_xcalloc(s->nseg ? s->nseg : 1, sizeof(uint32_t *));
	for (size_t k = 0; k < s->nseg; k++)
		w->seg[k] = mon_xmalloc(cap * sizeof(uint32_t));
	return w;
}

static void window_grow(struct mon_window *w, size_t cap)
{
	w->score = mon_xrealloc(w->score, cap * sizeof(double));
	w->label = mon_xrealloc(w->label, cap);
	for (size_t k = 0; w->num && k < w->nnum; k++)
		w->num[k] = mon_xrealloc(w->num[k], cap * sizeof(double));
	for (size_t k = 0; w->cat && k < w->ncat; k++)
		w->cat[k] = mon_xrealloc(w->cat[k], cap * sizeof(uint32_t));
	for (size_t k = 0; k < w->nseg; k++)
		w->seg[k] = mon_xrealloc(w->seg[k], cap * sizeof(uint32_t));
}

struct mon_window *mon_store_window_select(const struct mon_window *w, const size_t *rows, size_t k)
{
	struct mon_window *o = mon_xcalloc(1, sizeof(*o));
	size_t cap = k ? k : 1;

	o->n = k;
	o->nnum = w->nnum;
	o->ncat = w->ncat;
	o->nseg = w->nseg;
	o->score = mon_xmalloc(cap * sizeof(double));
	o->label = mon_xmalloc(cap);
	for (size_t i = 0; i < k; i++) {
		o->score[i] = w->score[rows[i]];
		o->label[i] = w->label[rows[i]];
		o->labeled += o->label[i] != MON_WINDOW_NO_LABEL;
	}
	if (w->num) {
		o->num = mon_xcalloc(w->nnum ? w->nnum : 1, sizeof(double *));
		for (size_t j = 0; j < w->nnum; j++) {
			o->num[j] = mon_xmalloc(cap * sizeof(double));
			for (size_t i = 0; i < k; i++)
				o->num[j][i] = w->num[j][rows[i]];
		}
	}
	if (w->cat) {
		o->cat = mon_xcalloc(w->ncat ? w->ncat : 1, sizeof(uint32_t *));
		for (size_t j = 0; j < w->ncat; j++) {
			o->cat[j] = mon_xmalloc(cap * sizeof(uint32_t));
			for (size_t i = 0; i < k; i++)
				o->cat[j][i] = w->cat[j][rows[i]];
		}
	}
	o->seg = mon_xcalloc(w->nseg ? w->nseg : 1, sizeof(uint32_t *));
	for (size_t j = 0; j < w->nseg; j++) {
		o->seg[j] = mon_xmalloc(cap * sizeof(uint32_t));
		for (size_t i = 0; i < k; i++)
			o->seg[j][i] = w->seg[j][rows[i]];
	}
	return o;
}

/* --- binary values ---------------------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static double be_double(const unsigned char *p)
{
	uint64_t u = (uint64_t)be32(p) << 32 | be32(p + 4);
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

/* A cursor over the elements of a binary one-dimensional array. */
struct arr {
	const unsigned char *p, *end;
	uint32_t left; /* elements not yet read */
};

/* Open the array value v[0..len) whose elements must have type oid. Returns 0 or -EIO. */
static int arr_open(const char *v, int len, uint32_t oid, struct arr *a)
{
	const unsigned char *p = (const unsigned char *)v;
	uint32_t ndim;

	if (len < 12)
		return -EIO;
	a->end = p + len;
	ndim = be32(p);
	if (be32(p + 8) != oid)
		return -EIO;
	if (ndim == 0) {
		a->p = p + 12;
		a->left = 0;
		return 0;
	}
	if (ndim != 1 || len < 20)
		return -EIO;
	a->left = be32(p + 12);
	a->p = p + 20;
	/* each element takes at least its 4-byte length */
	if (a->left > (uint32_t)((len - 20) / 4))
		return -EIO;
	return 0;
}

/* The next element: 0 with *data and *elen (-1 for NULL), 1 when none is left, -EIO when
 * the bytes are malformed. */
static int arr_next(struct arr *a, const unsigned char **data, int32_t *elen)
{
	uint32_t l;

	if (a->left == 0)
		return 1;
	if (a->end - a->p < 4)
		return -EIO;
	l = be32(a->p);
	a->p += 4;
	a->left--;
	if (l == UINT32_MAX) {
		*elen = -1;
		*data = NULL;
		return 0;
	}
	if (l > (uint32_t)(a->end - a->p))
		return -EIO;
	*data = a->p;
	*elen = (int32_t)l;
	a->p += l;
	return 0;
}

/* Read a float8[] value into dst[k][row] for k < n (NaN for NULL or absent elements). */
static int read_num(const PGresult *r, int col, double **dst, size_t n, size_t row)
{
	struct arr a;
	size_t k = 0;

	if (PQgetisnull(r, 0, col)) {
		for (; k < n; k++)
			dst[k][row] = NAN;
		return 0;
	}
	if (arr_open(PQgetvalue(r, 0, col), PQgetlength(r, 0, col), OID_FLOAT8, &a))
		return -EIO;
	for (; k < n; k++) {
		const unsigned char *data;
		int32_t len;
		int ret;

		ret = arr_next(&a, &data, &len);
		if (ret < 0)
			return ret;
		if (ret > 0)
			break;
		if (len == -1)
			dst[k][row] = NAN;
		else if (len == 8)
			dst[k][row] = be_double(data);
		else
			return -EIO;
	}
	for (; k < n; k++)
		dst[k][row] = NAN;
	return 0;
}

/* Read a text[] value as codes into dst[k][row], interning into dict[k]. */
static int read_codes(const PGresult *r, int col, uint32_t **dst, struct col_dict **dict, size_t n,
		      size_t row)
{
	struct arr a;
	size_t k = 0;

	if (PQgetisnull(r, 0, col)) {
		for (; k < n; k++)
			dst[k][row] = COL_MISSING_CODE;
		return 0;
	}
	if (arr_open(PQgetvalue(r, 0, col), PQgetlength(r, 0, col), OID_TEXT, &a))
		return -EIO;
	for (; k < n; k++) {
		const unsigned char *data;
		int32_t len;
		int ret;

		ret = arr_next(&a, &data, &len);
		if (ret < 0)
			return ret;
		if (ret > 0)
			break;
		dst[k][row] = len < 0 ? COL_MISSING_CODE
				      : col_dict_intern(dict[k], (const char *)data, (size_t)len);
	}
	for (; k < n; k++)
		dst[k][row] = COL_MISSING_CODE;
	return 0;
}

/* A load in progress: the window in arrival order, each row's sort key, and the load's
 * own dictionaries (codes in arrival order). */
struct loading {
	struct mon_window *w;
	size_t cap;
	int64_t *ts;      /* cap */
	size_t *id_off;   /* cap: offset of the row's client id in ids */
	uint32_t *id_len; /* cap */
	char *ids;        /* every client id, back to back */
	size_t ids_len, ids_cap;
	struct mon_window_dicts tmp;
};

static void loading_fini(struct loading *l)
{
	mon_store_window_free(l->w);
	free(l->ts);
	free(l->id_off);
	free(l->id_len);
	free(l->ids);
	mon_store_window_dicts_fini(&l->tmp);
}

/* Append the one row of r. */
static int take_row(const PGresult *r, struct loading *l)
{
	struct mon_window *w = l->w;
	size_t i = w->n;
	int ret, idlen;

	if (PQnfields(r) != NCOLS || PQgetisnull(r, 0, 1) || PQgetisnull(r, 0, 2) ||
	    PQgetlength(r, 0, 2) != 8)
		return -EIO;
	if (i == l->cap) {
		l->cap *= 2;
		window_grow(w, l->cap);
		l->ts = mon_xrealloc(l->ts, l->cap * sizeof(*l->ts));
		l->id_off = mon_xrealloc(l->id_off, l->cap * sizeof(*l->id_off));
		l->id_len = mon_xrealloc(l->id_len, l->cap * sizeof(*l->id_len));
	}
	if (PQgetisnull(r, 0, 0)) {
		l->ts[i] = INT64_MIN;
	} else {
		const unsigned char *p = (const unsigned char *)PQgetvalue(r, 0, 0);

		if (PQgetlength(r, 0, 0) != 8)
			return -EIO;
		l->ts[i] = (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
	}
	idlen = PQgetlength(r, 0, 1);
	if (l->ids_len + (size_t)idlen > l->ids_cap) {
		while (l->ids_len + (size_t)idlen > l->ids_cap)
			l->ids_cap *= 2;
		l->ids = mon_xrealloc(l->ids, l->ids_cap);
	}
	memcpy(l->ids + l->ids_len, PQgetvalue(r, 0, 1), (size_t)idlen);
	l->id_off[i] = l->ids_len;
	l->id_len[i] = (uint32_t)idlen;
	l->ids_len += (size_t)idlen;

	w->score[i] = be_double((const unsigned char *)PQgetvalue(r, 0, 2));
	if (PQgetisnull(r, 0, 3)) {
		w->label[i] = MON_WINDOW_NO_LABEL;
	} else {
		const unsigned char *p = (const unsigned char *)PQgetvalue(r, 0, 3);

		if (PQgetlength(r, 0, 3) != 2 || p[0] != 0 || p[1] > 1)
			return -EIO;
		w->label[i] = p[1];
		w->labeled++;
	}
	if (w->num && (ret = read_num(r, 4, w->num, w->nnum, i)) < 0)
		return ret;
	if (w->cat && (ret = read_codes(r, 5, w->cat, l->tmp.cat, w->ncat, i)) < 0)
		return ret;
	if ((ret = read_codes(r, 6, w->seg, l->tmp.seg, w->nseg, i)) < 0)
		return ret;
	w->n++;
	return 0;
}

/* A row's sort key. */
struct key {
	int64_t ts;
	const char *id;
	uint32_t len;
	uint32_t row;
};

static int cmp_key(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	c = memcmp(x->id, y->id, x->len < y->len ? x->len : y->len);
	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* Sort keys[0..k) by (ts, client id) and write their rows to perm. */
static void sort_keys(struct key *keys, size_t k, uint32_t *perm)
{
	qsort(keys, k, sizeof(*keys), cmp_key);
	for (size_t i = 0; i < k; i++)
		perm[i] = keys[i].row;
}

static void set_key(struct key *k, const struct loading *l, uint32_t row)
{
	k->ts = l->ts[row];
	k->id = l->ids + l->id_off[row];
	k->len = l->id_len[row];
	k->row = row;
}

/* The permutation that orders the n loaded rows by (ts, client id). Rows arrive out of
 * order when concurrent ingest interleaved them on disk: qsort of 10^6 (ts, id) keys took
 * 0.33 s, the radix argsort 0.08 s, so the timestamps are radix-sorted first (as
 * doubles: exact below 2^53 microseconds, year 2285; a NULL ts is INT64_MIN, a power of
 * two) and only runs of equal keys are sorted by the full key, which also corrects any
 * timestamps a double could not tell apart. */
static uint32_t *sort_rows(const struct loading *l, size_t n)
{
	uint32_t *perm = mon_xmalloc((n ? n : 1) * sizeof(*perm));
	double *kd = mon_xmalloc((n ? n : 1) * sizeof(*kd));
	struct key *keys;

	for (size_t i = 0; i < n; i++)
		kd[i] = (double)l->ts[i];
	if (stats_argsort(kd, n, perm) != 0) {
		keys = mon_xmalloc((n ? n : 1) * sizeof(*keys));
		for (size_t i = 0; i < n; i++)
			set_key(&keys[i], l, (uint32_t)i);
		sort_keys(keys, n, perm);
		free(keys);
		free(kd);
		return perm;
	}
	keys = NULL;
	for (size_t a = 0, b, cap = 0; a < n; a = b) {
		for (b = a + 1; b < n && kd[perm[b]] == kd[perm[a]]; b++)
			;
		if (b - a < 2)
			continue;
		if (b - a > cap) {
			cap = b - a;
			keys = mon_xrealloc(keys, cap * sizeof(*keys));
		}
		for (size_t i = a; i < b; i++)
			set_key(&keys[i - a], l, perm[i]);
		sort_keys(keys, b - a, perm + a);
	}
	free(keys);
	free(kd);
	return perm;
}

static void gather_double(double **col, const uint32_t *perm, size_t n)
{
	double *o = mon_xmalloc((n ? n : 1) * sizeof(double));

	for (size_t i = 0; i < n; i++)
		o[i] = (*col)[perm[i]];
	free(*col);
	*col = o;
}

/* Gather a code column in perm order, translating codes of tmp into d (interned in the
 * order they are first met). */
static void gather_codes(uint32_t **col, const uint32_t *perm, size_t n, const struct col_dict *tmp,
			 struct col_dict *d)
{
	size_t k = col_dict_size(tmp);
	uint32_t *map = mon_xmalloc((k ? k : 1) * sizeof(uint32_t));
	uint32_t *o = mon_xmalloc((n ? n : 1) * sizeof(uint32_t));

	for (size_t j = 0; j < k; j++)
		map[j] = COL_MISSING_CODE;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = (*col)[perm ? perm[i] : i];

		if (c != COL_MISSING_CODE) {
			if (map[c] == COL_MISSING_CODE) {
				const char *name = col_dict_name(tmp, c);

				map[c] = col_dict_intern(d, name, strlen(name));
			}
			c = map[c];
		}
		o[i] = c;
	}
	free(map);
	free(*col);
	*col = o;
}

/* Put the rows of l in key order and their codes into d. */
static void finish_load(struct loading *l, struct mon_window_dicts *d)
{
	struct mon_window *w = l->w;
	size_t n = w->n;
	uint32_t *perm = NULL;
	int sorted = 1;

	for (size_t i = 1; i < n && sorted; i++) {
		struct key a = {l->ts[i - 1], l->ids + l->id_off[i - 1], l->id_len[i - 1], 0};
		struct key b = {l->ts[i], l->ids + l->id_off[i], l->id_len[i], 0};

		sorted = cmp_key(&a, &b) <= 0;
	}
	if (!sorted) {
		perm = sort_rows(l, n);
		gather_double(&w->score, perm, n);
		uint8_t *lab = mon_xmalloc(n);
		for (size_t i = 0; i < n; i++)
			lab[i] = w->label[perm[i]];
		free(w->label);
		w->label = lab;
		for (size_t k = 0; w->num && k < w->nnum; k++)
			gather_double(&w->num[k], perm, n);
	}
	for (size_t k = 0; w->cat && k < w->ncat; k++)
		gather_codes(&w->cat[k], perm, n, l->tmp.cat[k], d->cat[k]);
	for (size_t k = 0; k < w->nseg; k++)
		gather_codes(&w->seg[k], perm, n, l->tmp.seg[k], d->seg[k]);
	free(perm);
}

/* A failed statement: -EAGAIN, -ETIMEDOUT (cancelled: statement_timeout) or -EIO (see
 * mon_db_error). */
static int db_error(PGconn *c, const PGresult *r, const char *what)
{
	return mon_db_error(c, r, LOG_PREFIX, what);
}

/* Run sql with params (text) in single-row binary mode into l, rows in arrival order (the
 * caller finishes or drops l; it is initialised even on failure). max_rows + 1 must be the
 * statement's LIMIT; hint is the expected number of rows. */
static int load_rows(PGconn *c, const char *sql, int nparams, const char *const *params,
		     const struct col_schema *s, size_t max_rows, size_t hint, unsigned flags,
		     const char *what, struct loading *l)
{
	PGresult *r;
	int ret = 0, done = 0;

	memset(l, 0, sizeof(*l));
	l->cap = hint > INITIAL_ROWS ? hint : INITIAL_ROWS;
	if (l->cap > max_rows + 1)
		l->cap = max_rows + 1;
	l->w = window_new(s, flags, l->cap);
	l->ts = mon_xmalloc(l->cap * sizeof(*l->ts));
	l->id_off = mon_xmalloc(l->cap * sizeof(*l->id_off));
	l->id_len = mon_xmalloc(l->cap * sizeof(*l->id_len));
	l->ids_cap = 1 << 16;
	l->ids = mon_xmalloc(l->ids_cap);
	mon_store_window_dicts_init(&l->tmp, s);
	if (!PQsendQueryParams(c, sql, nparams, NULL, params, NULL, NULL, 1))
		return db_error(c, NULL, what);
	if (!PQsetSingleRowMode(c)) {
		/* cannot happen right after a send; read and drop the results all the same */
		log_err(LOG_PREFIX "%s: single-row mode refused", what);
		ret = -EIO;
	}
	/* every result is read, even after a failure, so the connection is idle again */
	while ((r = PQgetResult(c)) != NULL) {
		ExecStatusType st = PQresultStatus(r);

		if (ret) {
			/* only draining */
		} else if (st == PGRES_SINGLE_TUPLE) {
			if (l->w->n == max_rows)
				ret = -E2BIG;
			else if ((ret = take_row(r, l)) == -EIO)
				log_err(LOG_PREFIX "%s: a stored row is malformed", what);
		} else if (st == PGRES_TUPLES_OK) {
			done = 1; /* the end of the rows */
		} else {
			ret = db_error(c, r, what);
		}
		PQclear(r);
	}
	if (!ret && !done)
		ret = db_error(c, NULL, what);
	return ret;
}

/* load_rows, then the rows in key order with their codes in d, as a new window in *out. */
static int load(PGconn *c, const char *sql, int nparams, const char *const *params,
		const struct col_schema *s, size_t max_rows, size_t hint, unsigned flags,
		struct mon_window_dicts *d, const char *what, struct mon_window **out)
{
	struct loading l;
	int ret;

	*out = NULL;
	if (d->ncat != s->ncat || d->nseg != s->nseg)
		return -EINVAL;
	ret = load_rows(c, sql, nparams, params, s, max_rows, hint, flags, what, &l);
	if (!ret) {
		finish_load(&l, d);
		*out = l.w;
		l.w = NULL;
	}
	loading_fini(&l);
	return ret;
}

/* A simple statement on c; 0, -EAGAIN or -EIO. */
static int simple(PGconn *c, const char *sql, int nparams, const char *const *params,
		  ExecStatusType want, const char *what)
{
	PGresult *r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	int ret = PQresultStatus(r) == want ? 0 : db_error(c, r, what);

	PQclear(r);
	return ret;
}

/* One time range of a window load, on its own connection. */
struct part {
	PGconn *c;
	const struct col_schema *s;
	int64_t model_id, from, to;
	size_t max_rows;
	unsigned flags;
	struct loading l;
	int ret;
};

/* The predictions of p's range into p->l, in a read-only transaction of its own when the
 * connection is not in one, with WINDOW_WORK_MEM (SET LOCAL lasts until the end of the
 * transaction). */
static void part_load(struct part *p)
{
	char id[24], f[COL_TS_BUF], t[COL_TS_BUF], limit[24];
	const char *params[5] = {id, f, t, p->flags & MON_WINDOW_FEATURES ? "t" : "f", limit};
	const char *wm[1] = {WINDOW_WORK_MEM};
	int own = PQtransactionStatus(p->c) == PQTRANS_IDLE, ret;

	memset(&p->l, 0, sizeof(p->l));
	snprintf(id, sizeof(id), "%" PRId64, p->model_id);
	col_ts_format(p->from, 1, f);
	col_ts_format(p->to, 1, t);
	snprintf(limit, sizeof(limit), "%zu", p->max_rows + 1);
	if (own && (ret = simple(p->c, "BEGIN READ ONLY", 0, NULL, PGRES_COMMAND_OK,
				 "could not begin reading the window"))) {
		p->ret = ret;
		return;
	}
	ret = simple(p->c, "SELECT set_config('work_mem', $1, true)", 1, wm, PGRES_TUPLES_OK,
		     "could not set work_mem");
	if (!ret)
		ret = load_rows(p->c,
				p->flags & MON_WINDOW_NO_LABELS ? WINDOW_NOLABEL_SQL : WINDOW_SQL,
				5, params, p->s, p->max_rows, 0, p->flags,
				"could not read the predictions", &p->l);
	if (own) {
		int r2 = simple(p->c, ret ? "ROLLBACK" : "COMMIT", 0, NULL, PGRES_COMMAND_OK,
				"could not end reading the window");

		if (!ret)
			ret = r2;
	}
	p->ret = ret;
}

static void *part_main(void *arg)
{
	part_load(arg);
	return NULL;
}

/* Append the finished rows of b to a (same columns). */
static void window_append(struct mon_window *a, const struct mon_window *b)
{
	size_t n = a->n + b->n;

	window_grow(a, n ? n : 1);
	memcpy(a->score + a->n, b->score, b->n * sizeof(double));
	memcpy(a->label + a->n, b->label, b->n);
	for (size_t k = 0; a->num && k < a->nnum; k++)
		memcpy(a->num[k] + a->n, b->num[k], b->n * sizeof(double));
	for (size_t k = 0; a->cat && k < a->ncat; k++)
		memcpy(a->cat[k] + a->n, b->cat[k], b->n * sizeof(uint32_t));
	for (size_t k = 0; k < a->nseg; k++)
		memcpy(a->seg[k] + a->n, b->seg[k], b->n * sizeof(uint32_t));
	a->n = n;
	a->labeled += b->labeled;
}

/* span * k / nc without overflow (span >= 0, k <= nc) */
static int64_t split(int64_t span, size_t k, size_t nc)
{
	int64_t q = span / (int64_t)nc, r = span % (int64_t)nc;

	return q * (int64_t)k + r * (int64_t)k / (int64_t)nc;
}

int mon_store_window_load_parallel(PGconn *const *cs, size_t nc, const struct col_schema *s,
				   int64_t model_id, int64_t from, int64_t to, size_t max_rows,
				   unsigned flags, struct mon_window_dicts *d,
				   struct mon_window **out)
{
	struct part *parts;
	pthread_t *th;
	size_t started = 0, total = 0;
	int ret = 0;

	*out = NULL;
	if (d->ncat != s->ncat || d->nseg != s->nseg || nc == 0 || !cs[0])
		return -EINVAL;
	if (to - from < (int64_t)nc)
		nc = 1;
	parts = mon_xcalloc(nc, sizeof(*parts));
	th = mon_xcalloc(nc, sizeof(*th));
	for (size_t k = 0; k < nc; k++) {
		parts[k] = (struct part){cs[k], s, model_id, 0, 0, max_rows, flags, {0}, 0};
		/* equal spans of time; the last one ends at to exactly */
		parts[k].from = k == 0 ? from : parts[k - 1].to;
		parts[k].to = k + 1 == nc ? to : from + split(to - from, k + 1, nc);
	}
	/* parts 1.. on threads of their own (a part whose thread cannot start runs here
	 * afterwards), part 0 on this one */
	for (size_t k = 1; k < nc; k++) {
		if (!cs[k] || pthread_create(&th[k], NULL, part_main, &parts[k]) != 0)
			break;
		started = k;
	}
	part_load(&parts[0]);
	for (size_t k = 1; k <= started; k++)
		pthread_join(th[k], NULL);
	for (size_t k = started + 1; k < nc; k++) {
		if (!cs[k])
			parts[k].c = cs[0];
		part_load(&parts[k]);
	}
	for (size_t k = 0; k < nc; k++) {
		if (parts[k].ret && (!ret || ret == -E2BIG))
			ret = parts[k].ret;
		if (parts[k].l.w)
			total += parts[k].l.w->n;
	}
	if (!ret && total > max_rows)
		ret = -E2BIG;
	/* the parts in time order, each in key order: the whole window in key order, and the
	 * codes interned in d in the order a single load would have interned them */
	for (size_t k = 0; !ret && k < nc; k++) {
		finish_load(&parts[k].l, d);
		if (k == 0) {
			*out = parts[0].l.w;
			parts[0].l.w = NULL;
		} else {
			window_append(*out, parts[k].l.w);
		}
	}
	for (size_t k = 0; k < nc; k++)
		loading_fini(&parts[k].l);
	free(parts);
	free(th);
	return ret;
}

int mon_store_window_load(PGconn *c, const struct col_schema *s, int64_t model_id, int64_t from,
			  int64_t to, size_t max_rows, unsigned flags, struct mon_window_dicts *d,
			  struct mon_window **out)
{
	return mon_store_window_load_parallel(&c, 1, s, model_id, from, to, max_rows, flags, d,
					      out);
}

int mon_store_window_load_reference(PGconn *c, const struct col_schema *s, int64_t model_id,
				    const struct mon_window_ref *ref, size_t max_rows,
				    unsigned flags, struct mon_window_dicts *d,
				    struct mon_window **out)
{
	char id[24], limit[24];
	const char *params[4] = {id, flags & MON_WINDOW_FEATURES ? "t" : "f", limit,
				 flags & MON_WINDOW_NO_LABELS ? "f" : "t"};
	size_t hint = ref->rows > 0 ? (size_t)ref->rows : 0;

	if (ref->range)
		return mon_store_window_load(c, s, model_id, ref->from, ref->to, max_rows, flags, d,
					     out);
	snprintf(id, sizeof(id), "%" PRId64, ref->id);
	snprintf(limit, sizeof(limit), "%zu", max_rows + 1);
	return load(c, UPLOAD_SQL, 4, params, s, max_rows, hint, flags, d,
		    "could not read the reference rows", out);
}

/* --- references ---------------------------------------------------------------------------- */

int mon_store_window_reference(PGconn *c, int64_t model_id, int64_t id, struct mon_window_ref *out)
{
	char mid[24], rid[24];
	const char *params[2] = {mid, rid};
	PGresult *r;
	int ret = 0;

	snprintf(mid, sizeof(mid), "%" PRId64, model_id);
	snprintf(rid, sizeof(rid), "%" PRId64, id);
	r = PQexecParams(
		c,
		"SELECT id, kind = 'range', "
		"coalesce((extract(epoch FROM range_from) * 1000000)::int8, 0), "
		"coalesce((extract(epoch FROM range_to) * 1000000)::int8, 0), rows, active "
		"FROM model_references WHERE model_id = $1::int8 AND "
		"CASE WHEN $2::int8 = 0 THEN active ELSE id = $2::int8 END",
		2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = db_error(c, r, "could not read the reference");
		goto out;
	}
	if (PQntuples(r) != 1) {
		ret = -ENOENT;
		goto out;
	}
	memset(out, 0, sizeof(*out));
	out->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	out->range = !strcmp(PQgetvalue(r, 0, 1), "t");
	out->from = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	out->to = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
	out->rows = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
	out->active = !strcmp(PQgetvalue(r, 0, 5), "t");
out:
	PQclear(r);
	return ret;
}
