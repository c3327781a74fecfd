/* SPDX-License-Identifier: MIT
 * monitor/pgtext.h - PostgreSQL's text forms: array literals and COPY rows, in a growing buffer
 *
 * Values never become SQL text: they travel as parameters ($1 ...) or as COPY data, and
 * both have a text syntax of their own. An array parameter is an array literal
 * ({"a","b\"c",NULL}: every string element quoted, '"' and '\' backslash-escaped). A COPY
 * row (text format) is tab-separated columns ending in a newline, where a backslash, tab,
 * newline or carriage return inside a value is written \\, \t, \n, \r, and \N is NULL; an
 * array column is an array literal escaped once more for COPY.
 *
 * struct mon_buf is a byte buffer that grows by doubling (aborting when out of memory).
 * Initialise with MON_BUF_INIT or mon_buf_init, release with mon_buf_fini.
 */
#ifndef MONITOR_PGTEXT_H
#define MONITOR_PGTEXT_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "monitor/common.h"

struct mon_buf {
	char *p;
	size_t len, cap;
};

#define MON_BUF_INIT                                                                               \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

void mon_buf_init(struct mon_buf *b);
void mon_buf_fini(struct mon_buf *b); /* frees the bytes; b may be reused after init */

/* Make room for n more bytes; returns where they go (b->p + b->len). */
char *mon_buf_room(struct mon_buf *b, size_t n);

static inline void mon_buf_put(struct mon_buf *b, const char *s, size_t n)
{
	memcpy(mon_buf_room(b, n), s, n);
	b->len += n;
}

static inline void mon_buf_putc(struct mon_buf *b, char c)
{
	*mon_buf_room(b, 1) = c;
	b->len++;
}

static inline void mon_buf_puts(struct mon_buf *b, const char *s)
{
	mon_buf_put(b, s, strlen(s));
}

/* The buffer's text, NUL-terminated (the NUL is not counted in len). */
const char *mon_buf_str(struct mon_buf *b);

/* --- array literals for parameters ---------------------------------------------------- */

/* Append s as one quoted array element ("..." with '"' and '\' escaped); NULL as NULL.
 * The caller writes the braces and commas. */
void mon_pgtext_array_elem(struct mon_buf *b, const char *s);

/* A whole text[] literal of n strings (NULL elements allowed). */
void mon_pgtext_array(struct mon_buf *b, const char *const *s, size_t n);

/* --- COPY text format -------------------------------------------------------------------- */

/* Append s escaped as one COPY text column (NULL is \N). */
void mon_pgtext_copy_text(struct mon_buf *b, const char *s);

/* Append a text[] column: {"a",NULL} with both array and COPY escaping. */
void mon_pgtext_copy_text_array(struct mon_buf *b, const char *const *s, size_t n);

/* Append a double precision[] column: canonical numbers (col_format_double), NaN as
 * NULL. */
void mon_pgtext_copy_num_array(struct mon_buf *b, const double *v, size_t n);

/* --- binary array parameters ------------------------------------------------------------
 *
 * PostgreSQL's binary array format (array_send): big-endian int32 ndim (1, or 0 for an
 * empty array), int32 flags (0: no NULL elements), the element type's OID, then per
 * dimension int32 length and int32 lower bound (1), then per element an int32 length
 * and its bytes. Sent with paramFormats 1, this spares the server parsing text arrays,
 * timestamps and hex. Element type OIDs are PostgreSQL's fixed built-in ones. */
#define MON_PG_INT2_OID 21u
#define MON_PG_TEXT_OID 25u
#define MON_PG_BYTEA_OID 17u
#define MON_PG_TIMESTAMPTZ_OID 1184u
#define MON_PG_INT2_ARRAY_OID 1005u
#define MON_PG_TEXT_ARRAY_OID 1009u
#define MON_PG_BYTEA_ARRAY_OID 1001u
#define MON_PG_TIMESTAMPTZ_ARRAY_OID 1185u

/* Start a one-dimensional array of n elements of type elem_oid. */
void mon_pgbin_array(struct mon_buf *b, unsigned elem_oid, size_t n);
/* One element: len bytes at p (text without its NUL, bytea as is). */
void mon_pgbin_elem(struct mon_buf *b, const void *p, size_t len);
/* A timestamptz element from microseconds since 1970 (PostgreSQL counts from 2000). */
void mon_pgbin_timestamptz(struct mon_buf *b, int64_t unix_us);
void mon_pgbin_int2(struct mon_buf *b, int v);

#endif /* MONITOR_PGTEXT_H */
