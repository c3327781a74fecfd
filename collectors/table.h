/* SPDX-License-Identifier: MIT
 * collectors/table.h - typed feature columns read from CSV files: numeric or categorical
 *
 * A categorical column is a vector of codes into a string dictionary that can be shared by
 * several columns (the reference's and the current window's values of one feature must use
 * one dictionary so their codes compare). Numeric columns are doubles with NaN for missing.
 *
 * Create: col_dict_new, col_table_numeric, col_table_categorical.
 * Destroy: col_dict_free, free() for arrays handed out.
 */
#ifndef COLLECTORS_TABLE_H
#define COLLECTORS_TABLE_H
#include <stddef.h>
#include <stdint.h>

#include "collectors/csv.h"

#define COL_MISSING_CODE UINT32_MAX

struct col_dict; /* opaque string -> code map */

struct col_dict *col_dict_new(void);    /* aborts when out of memory */
void col_dict_free(struct col_dict *d); /* NULL is a no-op */
/* The code of s[0..len), adding it when new. Codes are dense, in first-seen order. */
uint32_t col_dict_intern(struct col_dict *d, const char *s, size_t len);
/* The code of s[0..len), or COL_MISSING_CODE when absent. */
uint32_t col_dict_lookup(const struct col_dict *d, const char *s, size_t len);
size_t col_dict_size(const struct col_dict *d);
const char *col_dict_name(const struct col_dict *d, uint32_t code); /* borrowed, NUL-terminated */

/* Read column col of c as numbers into a new array of nrows doubles (*out, free() it);
 * missing cells become NaN. Returns 0, or -EINVAL when a non-missing cell is not a number
 * (*bad_row receives its row). */
int col_table_numeric(const struct col_csv *c, size_t col, double **out,
		      size_t *bad_row) COL_MUSTCHECK;

/* Read column col of c as categories interned into d: a new array of nrows codes (*out,
 * free() it), COL_MISSING_CODE for a missing cell (col_csv_is_missing). Returns 0. */
int col_table_categorical(const struct col_csv *c, size_t col, struct col_dict *d,
			  uint32_t **out) COL_MUSTCHECK;

/* Allocation helpers for collectors/: abort with a message when out of memory. */
void *col_xmalloc(size_t n);
void *col_xcalloc(size_t n, size_t size);
void *col_xrealloc(void *p, size_t n);
char *col_xstrndup(const char *s, size_t n);

#endif /* COLLECTORS_TABLE_H */
