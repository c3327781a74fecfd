/* SPDX-License-Identifier: MIT
 * collectors/csv.h - read a CSV file with a header into memory, column by column
 *
 * RFC 4180: comma separated, optional double quotes ("" escapes a quote, quoted cells may
 * hold commas and newlines), LF or CRLF line ends, an optional UTF-8 BOM, an optional final
 * newline. The first record names the columns. Every record must have as many cells as the
 * header. The file is memory-mapped and indexed once; cells are read on demand.
 *
 * Beyond RFC 4180:
 * - Blank lines (empty, or a lone CR) at the end of the file are ignored, however many.
 *   A blank line before the last record is an error ("expected N cells, found an empty
 *   line"), even for a one-column file: write "" or NA for a missing value there, as
 *   pandas and Python's csv module do.
 * - A '"' inside an unquoted cell is an ordinary byte (5'11" stays as is). After a closing
 *   quote only a comma or the line end may follow.
 * - Bytes are bytes: no encoding is checked, a NUL byte is allowed in data cells (it makes
 *   a cell non-numeric) but not in a column name.
 * - A header holding a CR that is not followed by LF (classic Mac line ends) is rejected.
 * Line numbers count LF bytes, header = line 1; a quoted cell spanning lines advances them.
 *
 * Create with col_csv_open, destroy with col_csv_close. A handle is read-only after open:
 * several threads may read it at once, except col_csv_cell (see there).
 */
#ifndef COLLECTORS_CSV_H
#define COLLECTORS_CSV_H
#include <stddef.h>

#define COL_MUSTCHECK __attribute__((warn_unused_result))

struct col_csv; /* opaque */

/* Open and index path. On success stores a new handle in *out and returns 0. On failure
 * returns -ENOENT/-EACCES/-EIO (unreadable: -ENOENT also for ENOTDIR, -EACCES also for
 * EPERM, -EIO for anything else such as a directory), -EINVAL (empty file, no header,
 * ragged row, an unterminated quote, a duplicate column name), -ENOMEM or -EFBIG, and writes
 * one message to err[0..errlen) naming the file, line and column, e.g. "data.csv:12:
 * expected 14 cells, found 13". err may be NULL when errlen is 0; the message is truncated
 * to fit and always NUL-terminated. The path is copied. Regular files are mmap()ed (do not
 * truncate one while it is open: reading a page past the new end raises SIGBUS); pipes and
 * other files are read() into memory. Message formats (path as given):
 *   "x.csv: could not open: <strerror>"     "x.csv: could not read: <strerror>"
 *   "x.csv: file is empty"                   "x.csv: out of memory"
 *   "x.csv:1: header line is empty"          "x.csv:1: duplicate column name \"age\""
 *   "x.csv:1: column 3 name contains a NUL byte"
 *   "x.csv:1: carriage return without line feed in the header"
 *   "x.csv:12: expected 14 cells, found 13"  "x.csv:12: expected 14 cells, found an empty line"
 *   "x.csv:7: unterminated quoted cell in column \"age\""    (line where the quote opens)
 *   "x.csv:7: unexpected text after closing quote in column \"age\""
 * (header lines say "column 3", 1-based, instead of a name). A name inside a message has
 * control bytes shown as \xNN, '"' and '\\' escaped, and is cut after 60 bytes with "...". */
int col_csv_open(const char *path, struct col_csv **out, char *err, size_t errlen) COL_MUSTCHECK;
void col_csv_close(struct col_csv *c); /* NULL is a no-op */

const char *col_csv_path(const struct col_csv *c);
size_t col_csv_ncols(const struct col_csv *c);
size_t col_csv_nrows(const struct col_csv *c); /* data records, header excluded */
/* Unquoted, NUL-terminated; borrowed until col_csv_close. NULL when col >= ncols. */
const char *col_csv_name(const struct col_csv *c, size_t col);
/* Index of the column named name (exact bytes, first match), or -1. */
long col_csv_find(const struct col_csv *c, const char *name);
/* Line number (1-based, header is line 1) where data record row starts; 0 when
 * row >= nrows. */
size_t col_csv_line(const struct col_csv *c, size_t row);

/* The text of one cell, unquoted, not NUL-terminated; *len receives its length.
 * NULL (and *len = 0) when row or col is out of range.
 * Borrowed: valid until the next call on c that unquotes a cell, or col_csv_close.
 * Only a quoted cell holding a "" escape is unquoted into a buffer owned by c; every
 * other cell points into the mapped file. Because of that buffer, col_csv_cell is not
 * thread-safe: call it from one thread at a time per handle. Cost: O(col) per call. */
const char *col_csv_cell(const struct col_csv *c, size_t row, size_t col, size_t *len);

/* 1 when the cell text is missing: empty, NA, NaN, nan, N/A, null or ? (surrounding
 * blanks ignored), and also the other pandas 1.5 defaults: #N/A, #N/A N/A, #NA, -1.#IND,
 * -1.#QNAN, -NaN, -nan, 1.#IND, 1.#QNAN, <NA>, NULL, n/a. Case-sensitive. 0 otherwise. */
int col_csv_is_missing(const char *s, size_t len);

/* Parse a decimal number (the strtod grammar without hex, inf or nan; surrounding blanks
 * allowed) exactly as strtod would round it. Returns 0 and stores *out, or -EINVAL.
 * Blanks are space, \t, \n, \v, \f and \r. Accepted: an optional + or -, digits with at
 * most one '.', at least one digit, an optional exponent e/E[+-]digits. Rejected: empty,
 * hex, inf, nan, trailing garbage, and a value that overflows to infinity (underflow to a
 * subnormal or zero is accepted, as strtod rounds it). Exact and fast for up to 19
 * significant digits and decimal exponents within about 10^±128 (Clinger's fast path,
 * then a 128-bit power-of-five product with an exactness check); otherwise it calls strtod,
 * which reads the C locale's '.' only if LC_NUMERIC is "C" (vigil never calls setlocale;
 * under another locale those rare inputs are rejected, never misread). Returns -ENOMEM
 * when a number longer than 127 bytes needs a copy and malloc fails. Thread-safe. */
int col_csv_parse_double(const char *s, size_t len, double *out) COL_MUSTCHECK;

/* Parse a whole column: out[0..nrows) receives each value, NaN for a missing cell.
 * Returns 0, or -EINVAL when a non-missing cell is not a number; then *bad_row holds the
 * first such row. Multi-threaded across rows for large files. Same as
 * col_csv_columns_double with one column (see there for -ERANGE, -ENOMEM, threads). */
int col_csv_column_double(const struct col_csv *c, size_t col, double *out,
			  size_t *bad_row) COL_MUSTCHECK;

/* Parse several columns in one pass over each row, much faster than one
 * col_csv_column_double call per column: out[k][0..nrows) receives column cols[k], NaN for
 * a missing cell (col_csv_is_missing). cols may be in any order and may repeat a column;
 * each out[k] must hold nrows doubles and not overlap another. Returns 0; -EINVAL when a
 * non-missing cell is not a number (or overflows), then *bad_row and *bad_col (a column
 * index of the file, one of cols[]) name the first such cell in file order: lowest row,
 * then leftmost column; -ERANGE when some cols[k] >= ncols (nothing written); -ENOMEM.
 * bad_row and bad_col may be NULL. On error out[] may be partly written.
 * Runs on up to min(online CPUs, 8) threads (pthreads, split by rows) when the file has
 * at least 20000 rows and the job is large enough; otherwise in the calling thread.
 * Thread-safe: it never writes to c. */
int col_csv_columns_double(const struct col_csv *c, const size_t *cols, size_t ncols, double **out,
			   size_t *bad_row, size_t *bad_col) COL_MUSTCHECK;

/* Write the message for a cell that col_csv_column(s)_double rejected to err[0..errlen)
 * (truncated to fit, NUL-terminated), in the style of col_csv_open:
 *   "x.csv:12: column \"age\": not a number: \"12a\""
 *   "x.csv:12: column \"age\": number out of range: \"1e999\""
 * The cell text is quoted with control bytes shown as \xNN and cut after 40 bytes.
 * It reads the cell with col_csv_cell, so the same one-thread-at-a-time rule applies. */
void col_csv_cell_error(const struct col_csv *c, size_t row, size_t col, char *err, size_t errlen);

#endif /* COLLECTORS_CSV_H */
