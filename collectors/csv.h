/* SPDX-License-Identifier: MIT
 * collectors/csv.h - read a CSV file with a header into memory, column by column
 *
 * RFC 4180: comma separated, optional double quotes ("" escapes a quote, quoted cells may
 * hold commas and newlines), LF or CRLF line ends, an optional UTF-8 BOM, an optional final
 * newline. The first record names the columns. Every record must have as many cells as the
 * header. The file is memory-mapped and indexed once; cells are read on demand.
 *
 * Create with col_csv_open, destroy with col_csv_close.
 */
#ifndef COLLECTORS_CSV_H
#define COLLECTORS_CSV_H
#include <stddef.h>

#define COL_MUSTCHECK __attribute__((warn_unused_result))

struct col_csv; /* opaque */

/* Open and index path. On success stores a new handle in *out and returns 0. On failure
 * returns -ENOENT/-EACCES/-EIO (unreadable), -EINVAL (empty file, no header, ragged row,
 * an unterminated quote, a duplicate column name) and writes one message to err[0..errlen)
 * naming the file, line and column, e.g. "data.csv:12: expected 14 cells, found 13". */
int col_csv_open(const char *path, struct col_csv **out, char *err, size_t errlen) COL_MUSTCHECK;
void col_csv_close(struct col_csv *c); /* NULL is a no-op */

const char *col_csv_path(const struct col_csv *c);
size_t col_csv_ncols(const struct col_csv *c);
size_t col_csv_nrows(const struct col_csv *c); /* data records, header excluded */
const char *col_csv_name(const struct col_csv *c, size_t col); /* borrowed */
/* Index of the column named name, or -1. */
long col_csv_find(const struct col_csv *c, const char *name);
/* Line number (1-based, header is line 1) where data record row starts. */
size_t col_csv_line(const struct col_csv *c, size_t row);

/* The text of one cell, unquoted, not NUL-terminated; *len receives its length.
 * Borrowed: valid until the next call on c that unquotes a cell, or col_csv_close. */
const char *col_csv_cell(const struct col_csv *c, size_t row, size_t col, size_t *len);

/* 1 when the cell text is missing: empty, NA, NaN, nan, N/A, null or ? (surrounding
 * blanks ignored). */
int col_csv_is_missing(const char *s, size_t len);

/* Parse a decimal number (the strtod grammar without hex, inf or nan; surrounding blanks
 * allowed) exactly as strtod would round it. Returns 0 and stores *out, or -EINVAL. */
int col_csv_parse_double(const char *s, size_t len, double *out) COL_MUSTCHECK;

/* Parse a whole column: out[0..nrows) receives each value, NaN for a missing cell.
 * Returns 0, or -EINVAL when a non-missing cell is not a number; then *bad_row holds the
 * first such row. Multi-threaded across rows for large files. */
int col_csv_column_double(const struct col_csv *c, size_t col, double *out,
			  size_t *bad_row) COL_MUSTCHECK;

#endif /* COLLECTORS_CSV_H */
