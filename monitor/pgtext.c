/* SPDX-License-Identifier: MIT
 * monitor/pgtext.c - PostgreSQL's text forms: array literals and COPY rows, in a growing buffer
 *
 * The escaping rules are PostgreSQL's (array_in's quoting, COPY's text format), applied
 * byte by byte: both leave UTF-8 alone, so only the ASCII bytes '"', '\', tab, newline and
 * carriage return need attention. Array elements are always quoted, which sidesteps
 * array_in's special cases (NULL, blanks, braces, commas) in unquoted elements.
 */
#include "config.h"

#include "monitor/pgtext.h"

#include <math.h>
#include <stdlib.h>

#include "collectors/record.h"

void mon_buf_init(struct mon_buf *b)
{
	b->p = NULL;
	b->len = b->cap = 0;
}

void mon_buf_fini(struct mon_buf *b)
{
	free(b->p);
	mon_buf_init(b);
}

char *mon_buf_room(struct mon_buf *b, size_t n)
{
	if (b->cap - b->len < n + 1) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap - b->len < n + 1)
			cap *= 2;
		b->p = mon_xrealloc(b->p, cap);
		b->cap = cap;
	}
	return b->p + b->len;
}

const char *mon_buf_str(struct mon_buf *b)
{
	mon_buf_room(b, 0);
	b->p[b->len] = '\0';
	return b->p;
}

void mon_pgtext_array_elem(struct mon_buf *b, const char *s)
{
	char *o;

	if (!s) {
		mon_buf_put(b, "NULL", 4);
		return;
	}
	o = mon_buf_room(b, 2 * strlen(s) + 2);
	*o++ = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			*o++ = '\\';
		*o++ = *s;
	}
	*o++ = '"';
	b->len = (size_t)(o - b->p);
}

void mon_pgtext_array(struct mon_buf *b, const char *const *s, size_t n)
{
	mon_buf_putc(b, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			mon_buf_putc(b, ',');
		mon_pgtext_array_elem(b, s[i]);
	}
	mon_buf_putc(b, '}');
}

void mon_pgtext_copy_text(struct mon_buf *b, const char *s)
{
	char *o;

	if (!s) {
		mon_buf_put(b, "\\N", 2);
		return;
	}
	o = mon_buf_room(b, 2 * strlen(s));
	for (; *s; s++) {
		switch (*s) {
		case '\\':
			*o++ = '\\';
			*o++ = '\\';
			break;
		case '\t':
			*o++ = '\\';
			*o++ = 't';
			break;
		case '\n':
			*o++ = '\\';
			*o++ = 'n';
			break;
		case '\r':
			*o++ = '\\';
			*o++ = 'r';
			break;
		default:
			*o++ = *s;
		}
	}
	b->len = (size_t)(o - b->p);
}

void mon_pgtext_copy_text_array(struct mon_buf *b, const char *const *s, size_t n)
{
	mon_buf_putc(b, '{');
	for (size_t i = 0; i < n; i++) {
		const char *e = s[i];
		char *o;

		if (i)
			mon_buf_putc(b, ',');
		if (!e) {
			mon_buf_put(b, "NULL", 4);
			continue;
		}
		/* worst case: each byte becomes \\\\ (array then COPY escaping) */
		o = mon_buf_room(b, 4 * strlen(e) + 2);
		*o++ = '"';
		for (; *e; e++) {
			switch (*e) {
			case '"': /* array: \"  then COPY: \\" */
				*o++ = '\\';
				*o++ = '\\';
				*o++ = '"';
				break;
			case '\\': /* array: \\  then COPY: \\\\ */
				*o++ = '\\';
				*o++ = '\\';
				*o++ = '\\';
				*o++ = '\\';
				break;
			case '\t':
				*o++ = '\\';
				*o++ = 't';
				break;
			case '\n':
				*o++ = '\\';
				*o++ = 'n';
				break;
			case '\r':
				*o++ = '\\';
				*o++ = 'r';
				break;
			default:
				*o++ = *e;
			}
		}
		*o++ = '"';
		b->len = (size_t)(o - b->p);
	}
	mon_buf_putc(b, '}');
}

void mon_pgtext_copy_num_array(struct mon_buf *b, const double *v, size_t n)
{
	char *o = mon_buf_room(b, n * (COL_DOUBLE_BUF + 1) + 2);

	*o++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i)
			*o++ = ',';
		if (isnan(v[i])) {
			memcpy(o, "NULL", 4);
			o += 4;
		} else {
			o += col_format_double(v[i], o);
		}
	}
	*o++ = '}';
	b->len = (size_t)(o - b->p);
}

/* --- binary arrays -------------------------------------------------------------------------- */

static char *put_be32(char *o, uint32_t v)
{
	o[0] = (char)(v >> 24);
	o[1] = (char)(v >> 16);
	o[2] = (char)(v >> 8);
	o[3] = (char)v;
	return o + 4;
}

void mon_pgbin_array(struct mon_buf *b, unsigned elem_oid, size_t n)
{
	char *o = mon_buf_room(b, 20);

	o = put_be32(o, n ? 1 : 0);
	o = put_be32(o, 0);
	o = put_be32(o, elem_oid);
	if (n) {
		o = put_be32(o, (uint32_t)n);
		o = put_be32(o, 1);
	}
	b->len = (size_t)(o - b->p);
}

void mon_pgbin_elem(struct mon_buf *b, const void *p, size_t len)
{
	char *o = put_be32(mon_buf_room(b, 4 + len), (uint32_t)len);

	memcpy(o, p, len);
	b->len += 4 + len;
}

void mon_pgbin_timestamptz(struct mon_buf *b, int64_t unix_us)
{
	uint64_t v = (uint64_t)(unix_us - INT64_C(946684800000000));
	char *o = put_be32(mon_buf_room(b, 12), 8);

	o = put_be32(o, (uint32_t)(v >> 32));
	put_be32(o, (uint32_t)v);
	b->len += 12;
}

void mon_pgbin_int2(struct mon_buf *b, int v)
{
	char *o = put_be32(mon_buf_room(b, 6), 2);

	o[0] = (char)((unsigned)v >> 8);
	o[1] = (char)v;
	b->len += 6;
}
