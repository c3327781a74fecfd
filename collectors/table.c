/* SPDX-License-Identifier: MIT
 * collectors/table.c - typed feature columns read from CSV files
 *
 * The dictionary is an open-addressing hash table (linear probing, FNV-1a, load <= 1/2)
 * over interned copies of the strings; codes index a dense array of names.
 */
#include "config.h"

#include "collectors/table.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct col_dict {
	char **names;    /* code -> name */
	size_t n, cap;   /* names used / allocated */
	uint32_t *slots; /* hash slot -> code + 1 (0 = empty) */
	size_t nslots;   /* a power of two */
};

void *col_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "vigil: out of memory allocating %zu bytes\n", n);
		abort();
	}
	return p;
}

void *col_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p) {
		fprintf(stderr, "vigil: out of memory allocating %zu x %zu bytes\n", n, size);
		abort();
	}
	return p;
}

void *col_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q) {
		fprintf(stderr, "vigil: out of memory allocating %zu bytes\n", n);
		abort();
	}
	return q;
}

char *col_xstrndup(const char *s, size_t n)
{
	char *p = col_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static uint64_t hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

struct col_dict *col_dict_new(void)
{
	struct col_dict *d = col_xcalloc(1, sizeof(*d));

	d->nslots = 64;
	d->slots = col_xcalloc(d->nslots, sizeof(*d->slots));
	return d;
}

void col_dict_free(struct col_dict *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->names[i]);
	free(d->names);
	free(d->slots);
	free(d);
}

static size_t find_slot(const struct col_dict *d, const char *s, size_t len)
{
	size_t mask = d->nslots - 1;
	size_t i = hash(s, len) & mask;

	for (;;) {
		uint32_t c = d->slots[i];

		if (c == 0)
			return i;
		const char *name = d->names[c - 1];
		if (strlen(name) == len && memcmp(name, s, len) == 0)
			return i;
		i = (i + 1) & mask;
	}
}

static void grow(struct col_dict *d)
{
	size_t nslots = d->nslots * 2;
	uint32_t *slots = col_xcalloc(nslots, sizeof(*slots));

	free(d->slots);
	d->slots = slots;
	d->nslots = nslots;
	for (size_t c = 0; c < d->n; c++) {
		size_t i = find_slot(d, d->names[c], strlen(d->names[c]));
		d->slots[i] = (uint32_t)(c + 1);
	}
}

uint32_t col_dict_lookup(const struct col_dict *d, const char *s, size_t len)
{
	uint32_t c = d->slots[find_slot(d, s, len)];

	return c ? c - 1 : COL_MISSING_CODE;
}

uint32_t col_dict_intern(struct col_dict *d, const char *s, size_t len)
{
	size_t i = find_slot(d, s, len);

	if (d->slots[i])
		return d->slots[i] - 1;
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->names = col_xrealloc(d->names, d->cap * sizeof(*d->names));
	}
	d->names[d->n] = col_xstrndup(s, len);
	d->slots[i] = (uint32_t)(++d->n);
	if (d->n * 2 > d->nslots)
		grow(d);
	return (uint32_t)(d->n - 1);
}

size_t col_dict_size(const struct col_dict *d)
{
	return d->n;
}

const char *col_dict_name(const struct col_dict *d, uint32_t code)
{
	return code < d->n ? d->names[code] : NULL;
}

int col_table_numeric(const struct col_csv *c, size_t col, double **out, size_t *bad_row)
{
	size_t n = col_csv_nrows(c);
	double *v = col_xmalloc(n * sizeof(*v));
	int rc = col_csv_column_double(c, col, v, bad_row);

	if (rc < 0) {
		free(v);
		return rc;
	}
	*out = v;
	return 0;
}

/* Trim surrounding blanks so " male" and "male" are one category. */
static const char *trim(const char *s, size_t *len)
{
	size_t n = *len;

	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	*len = n;
	return s;
}

int col_table_categorical(const struct col_csv *c, size_t col, struct col_dict *d, uint32_t **out)
{
	size_t n = col_csv_nrows(c);
	uint32_t *v = col_xmalloc(n * sizeof(*v));

	for (size_t r = 0; r < n; r++) {
		size_t len;
		const char *s = col_csv_cell(c, r, col, &len);

		if (col_csv_is_missing(s, len)) {
			v[r] = COL_MISSING_CODE;
			continue;
		}
		s = trim(s, &len);
		v[r] = col_dict_intern(d, s, len);
	}
	*out = v;
	return 0;
}
