/* SPDX-License-Identifier: MIT
 * tests/check_csv.c - unit tests for collectors/csv (suite "col_csv")
 *
 * Each test runs in a fresh temporary directory (mkdtemp) and writes its CSV files there
 * under short relative names, so error messages can be compared exactly ("x.csv:3: ...").
 * The real fixture tests/fixtures/heart.csv (920 rows, 16 columns, empty cells = missing)
 * is found through $VIGIL_FIXTURES (set by make check), else ../tests/fixtures relative to
 * the build directory. Golden values for it come from pandas 1.5.3 read_csv (Debian).
 * Number parsing is checked bit for bit against glibc strtod.
 */
#include "config.h"

#include "collectors/csv.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BOM "\xEF\xBB\xBF"

static char tmpdir[PATH_MAX];
static char fixtures[PATH_MAX];
static int oldcwd = -1;

static void setup(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/check_csv.XXXXXX", base && *base ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	oldcwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(oldcwd, 0);
	ck_assert_int_eq(chdir(tmpdir), 0);
}

static void teardown(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char p[PATH_MAX + 256];

	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
		chmod(p, 0700);
		if (unlink(p) < 0)
			rmdir(p);
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
	if (oldcwd >= 0) {
		if (fchdir(oldcwd) < 0)
			perror("fchdir");
		close(oldcwd);
		oldcwd = -1;
	}
}

static void write_file(const char *name, const void *data, size_t len)
{
	FILE *f = fopen(name, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* Write s (a C string) to name and open it; returns open's result, message in err. */
static int open_text(const char *name, const char *s, struct col_csv **c, char *err, size_t errlen)
{
	write_file(name, s, strlen(s));
	return col_csv_open(name, c, err, errlen);
}

/* Open s that must be valid. */
static struct col_csv *open_ok(const char *s)
{
	struct col_csv *c = NULL;
	char err[256] = "";
	int r = open_text("ok.csv", s, &c, err, sizeof(err));

	ck_assert_msg(r == 0, "open failed: %d %s", r, err);
	return c;
}

/* Open s that must fail with ret and the exact message want. */
static void open_fails(const char *name, const char *s, size_t len, int ret, const char *want)
{
	struct col_csv *c = (struct col_csv *)1;
	char err[256] = "unset";

	write_file(name, s, len);
	ck_assert_int_eq(col_csv_open(name, &c, err, sizeof(err)), ret);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(err, want);
}

#define OPEN_FAILS(name, lit, ret, want) open_fails(name, lit, sizeof(lit) - 1, ret, want)

/* The cell as a NUL-terminated string in a static buffer (cells in tests hold no NUL). */
static const char *cell(const struct col_csv *c, size_t row, size_t col)
{
	static char buf[4096];
	size_t len;
	const char *s = col_csv_cell(c, row, col, &len);

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_lt(len, sizeof(buf));
	memcpy(buf, s, len);
	buf[len] = '\0';
	return buf;
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int same_bits(double a, double b)
{
	return !memcmp(&a, &b, sizeof(a));
}

/* ---- col_csv_open ----------------------------------------------------------------------- */

START_TEST(test_open_missing_file_is_enoent)
{
	struct col_csv *c = (struct col_csv *)1;
	char err[256];

	ck_assert_int_eq(col_csv_open("nope.csv", &c, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(err, "nope.csv: could not open: No such file or directory");
}
END_TEST

START_TEST(test_open_directory_is_eio)
{
	struct col_csv *c = (struct col_csv *)1;
	char err[256];

	ck_assert_int_eq(mkdir("sub", 0700), 0);
	ck_assert_int_eq(col_csv_open("sub", &c, err, sizeof(err)), -EIO);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(err, "sub: could not read: Is a directory");
}
END_TEST

START_TEST(test_open_unreadable_is_eacces)
{
	struct col_csv *c = NULL;
	char err[256];

	write_file("locked.csv", "a\n1\n", 4);
	ck_assert_int_eq(chmod("locked.csv", 0), 0);
	if (geteuid() == 0) /* root reads it anyway */
		return;
	ck_assert_int_eq(col_csv_open("locked.csv", &c, err, sizeof(err)), -EACCES);
	ck_assert_str_eq(err, "locked.csv: could not open: Permission denied");
}
END_TEST

START_TEST(test_open_empty_file_fails)
{
	OPEN_FAILS("x.csv", "", -EINVAL, "x.csv: file is empty");
	OPEN_FAILS("x.csv", BOM, -EINVAL, "x.csv: file is empty");
	OPEN_FAILS("x.csv", "\n\r\n\n", -EINVAL, "x.csv: file is empty");
}
END_TEST

START_TEST(test_open_empty_header_line_fails)
{
	OPEN_FAILS("x.csv", "\na,b\n1,2\n", -EINVAL, "x.csv:1: header line is empty");
	OPEN_FAILS("x.csv", "\r\na\n", -EINVAL, "x.csv:1: header line is empty");
}
END_TEST

START_TEST(test_open_header_only_has_no_rows)
{
	const char *forms[] = {"a,b\n", "a,b", "a,b\r\n", "a,b\n\n\n", BOM "a,b"};

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct col_csv *c = open_ok(forms[i]);

		ck_assert_uint_eq(col_csv_ncols(c), 2);
		ck_assert_uint_eq(col_csv_nrows(c), 0);
		ck_assert_str_eq(col_csv_name(c, 0), "a");
		ck_assert_str_eq(col_csv_name(c, 1), "b");
		col_csv_close(c);
	}
}
END_TEST

START_TEST(test_open_bom_is_skipped)
{
	struct col_csv *c = open_ok(BOM "age,sex\n63,1\n");

	ck_assert_str_eq(col_csv_name(c, 0), "age");
	ck_assert_int_eq(col_csv_find(c, "age"), 0);
	ck_assert_uint_eq(col_csv_nrows(c), 1);
	col_csv_close(c);
}
END_TEST

START_TEST(test_open_crlf_line_ends)
{
	struct col_csv *c = open_ok("a,b\r\n1,2\r\n3,\r\n");

	ck_assert_str_eq(col_csv_name(c, 1), "b");
	ck_assert_uint_eq(col_csv_nrows(c), 2);
	ck_assert_str_eq(cell(c, 0, 1), "2");
	ck_assert_str_eq(cell(c, 1, 1), "");
	col_csv_close(c);
}
END_TEST

START_TEST(test_open_last_line_without_newline)
{
	struct col_csv *c = open_ok("a,b\n1,2\n3,4");

	ck_assert_uint_eq(col_csv_nrows(c), 2);
	ck_assert_str_eq(cell(c, 1, 1), "4");
	col_csv_close(c);
	c = open_ok("a,b\n1,2\n3,4\r");
	ck_assert_str_eq(cell(c, 1, 1), "4");
	col_csv_close(c);
	c = open_ok("a,b\n1,2\n3,\"4\"");
	ck_assert_str_eq(cell(c, 1, 1), "4");
	col_csv_close(c);
}
END_TEST

START_TEST(test_open_trailing_blank_lines_are_ignored)
{
	struct col_csv *c = open_ok("a,b\n1,2\n\n");

	ck_assert_uint_eq(col_csv_nrows(c), 1);
	col_csv_close(c);
	c = open_ok("a,b\n1,2\n\n\r\n\n");
	ck_assert_uint_eq(col_csv_nrows(c), 1);
	col_csv_close(c);
	c = open_ok("a\n1\n\n"); /* one column: the blank line is not a missing value */
	ck_assert_uint_eq(col_csv_nrows(c), 1);
	col_csv_close(c);
	c = open_ok("a,b\n\"1\",2\n\n"); /* quote-aware path */
	ck_assert_uint_eq(col_csv_nrows(c), 1);
	col_csv_close(c);
}
END_TEST

START_TEST(test_open_blank_line_in_the_middle_fails)
{
	OPEN_FAILS("x.csv", "a,b\n1,2\n\n3,4\n", -EINVAL,
		   "x.csv:3: expected 2 cells, found an empty line");
	OPEN_FAILS("x.csv", "a\n1\n\r\n2\n", -EINVAL,
		   "x.csv:3: expected 1 cell, found an empty line");
	OPEN_FAILS("x.csv", "a,b\n\"1\",2\n\n3,4\n", -EINVAL,
		   "x.csv:3: expected 2 cells, found an empty line");
}
END_TEST

START_TEST(test_open_ragged_rows_fail)
{
	OPEN_FAILS("cur.csv", "a,b,c\n1,2,3\n4,5\n", -EINVAL,
		   "cur.csv:3: expected 3 cells, found 2");
	OPEN_FAILS("cur.csv", "a,b,c\n1,2,3,\n", -EINVAL, "cur.csv:2: expected 3 cells, found 4");
	OPEN_FAILS("cur.csv", "a,b,c\n1,2,3\n4,5", -EINVAL, "cur.csv:3: expected 3 cells, found 2");
	OPEN_FAILS("cur.csv", "a,b\n\"1,2\"\n", -EINVAL, "cur.csv:2: expected 2 cells, found 1");
	OPEN_FAILS("cur.csv", "a,b\n1,2\n3\n", -EINVAL, "cur.csv:3: expected 2 cells, found 1");
}
END_TEST

START_TEST(test_open_ragged_row_after_multiline_cell_names_its_line)
{
	OPEN_FAILS("x.csv", "a,b\n\"one\ntwo\nthree\",2\n4,5,6\n", -EINVAL,
		   "x.csv:5: expected 2 cells, found 3");
}
END_TEST

START_TEST(test_open_ragged_row_far_into_the_file)
{
	char *s = malloc(200000 * 8 + 64), want[128];
	size_t n = 0;

	ck_assert_ptr_nonnull(s);
	n += (size_t)sprintf(s + n, "x,y\n");
	for (int i = 0; i < 200000; i++)
		n += (size_t)sprintf(s + n, i == 123456 ? "%d\n" : "%d,1\n", i % 1000);
	write_file("big.csv", s, n);
	free(s);
	snprintf(want, sizeof(want), "big.csv:%d: expected 2 cells, found 1", 123456 + 2);
	{
		struct col_csv *c = (struct col_csv *)1;
		char err[256];

		ck_assert_int_eq(col_csv_open("big.csv", &c, err, sizeof(err)), -EINVAL);
		ck_assert_str_eq(err, want);
	}
}
END_TEST

START_TEST(test_open_duplicate_column_fails)
{
	OPEN_FAILS("x.csv", "id,age,sex,age\n", -EINVAL, "x.csv:1: duplicate column name \"age\"");
	OPEN_FAILS("x.csv", "\"a\"\"b\",\"a\"\"b\"\n", -EINVAL,
		   "x.csv:1: duplicate column name \"a\\\"b\"");
	OPEN_FAILS("x.csv", ",x,\n", -EINVAL, "x.csv:1: duplicate column name \"\"");
}
END_TEST

START_TEST(test_open_unterminated_quote_fails)
{
	OPEN_FAILS("x.csv", "a,b\n1,2\n3,4\n5,6\n6,7\n8,9\n\"10,11\n12,13\n", -EINVAL,
		   "x.csv:7: unterminated quoted cell in column \"a\"");
	OPEN_FAILS("x.csv", "a,\"b\n1,2\n", -EINVAL,
		   "x.csv:1: unterminated quoted cell in column 2");
	OPEN_FAILS("x.csv", "a,b\n1,\"\"\"", -EINVAL,
		   "x.csv:2: unterminated quoted cell in column \"b\"");
}
END_TEST

START_TEST(test_open_text_after_closing_quote_fails)
{
	OPEN_FAILS("x.csv", "a,b\n1,\"2\"x\n", -EINVAL,
		   "x.csv:2: unexpected text after closing quote in column \"b\"");
	OPEN_FAILS("x.csv", "a,b\n\"multi\nline\" ,2\n", -EINVAL,
		   "x.csv:3: unexpected text after closing quote in column \"a\"");
	OPEN_FAILS("x.csv", "\"a\"b,c\n", -EINVAL,
		   "x.csv:1: unexpected text after closing quote in column 1");
}
END_TEST

START_TEST(test_open_quote_inside_unquoted_cell_is_data)
{
	struct col_csv *c = open_ok("h,w\n5'11\",70\nx\"y\"\",1\n");

	ck_assert_uint_eq(col_csv_nrows(c), 2);
	ck_assert_str_eq(cell(c, 0, 0), "5'11\"");
	ck_assert_str_eq(cell(c, 1, 0), "x\"y\"\"");
	col_csv_close(c);
}
END_TEST

START_TEST(test_open_quoted_cells_with_commas_newlines_and_escapes)
{
	struct col_csv *c = open_ok("id,note\n1,\"a,b\"\n2,\"line1\nline2\"\n3,\"say \"\"hi\"\"\"\n"
				    "4,\"\"\n\"5\",\"\r\n\"\r\n");

	ck_assert_uint_eq(col_csv_nrows(c), 5);
	ck_assert_str_eq(cell(c, 0, 1), "a,b");
	ck_assert_str_eq(cell(c, 1, 1), "line1\nline2");
	ck_assert_str_eq(cell(c, 2, 1), "say \"hi\"");
	ck_assert_str_eq(cell(c, 3, 1), "");
	ck_assert_str_eq(cell(c, 4, 0), "5");
	ck_assert_str_eq(cell(c, 4, 1), "\r\n");
	ck_assert_uint_eq(col_csv_line(c, 2), 5);
	ck_assert_uint_eq(col_csv_line(c, 4), 7);
	col_csv_close(c);
}
END_TEST

START_TEST(test_open_nul_byte_in_header_fails)
{
	OPEN_FAILS("x.csv", "a,b\0c\n1,2\n", -EINVAL, "x.csv:1: column 2 name contains a NUL byte");
}
END_TEST

START_TEST(test_open_nul_byte_in_data_is_a_byte)
{
	struct col_csv *c = NULL;
	char err[256];
	const char *s;
	size_t len, bad = 0;
	double v[2];

	write_file("n.csv", "a,b\n1\0002,3\n4,5\n", 14);
	ck_assert_int_eq(col_csv_open("n.csv", &c, err, sizeof(err)), 0);
	s = col_csv_cell(c, 0, 0, &len);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(s, "1\0002", 3), 0);
	ck_assert_int_eq(col_csv_column_double(c, 0, v, &bad), -EINVAL);
	ck_assert_uint_eq(bad, 0);
	ck_assert_int_eq(col_csv_column_double(c, 1, v, &bad), 0);
	ck_assert_double_eq(v[1], 5.0);
	col_csv_close(c);
}
END_TEST

START_TEST(test_open_cr_only_line_ends_fail)
{
	OPEN_FAILS("mac.csv", "a,b\r1,2\r3,4\r", -EINVAL,
		   "mac.csv:1: carriage return without line feed in the header");
}
END_TEST

START_TEST(test_open_non_utf8_bytes_are_bytes)
{
	struct col_csv *c = open_ok("\xff\xfe,caf\xe9\n\x80,\"\xc3\x28\"\n");

	ck_assert_str_eq(col_csv_name(c, 0), "\xff\xfe");
	ck_assert_int_eq(col_csv_find(c, "caf\xe9"), 1);
	ck_assert_str_eq(cell(c, 0, 0), "\x80");
	ck_assert_str_eq(cell(c, 0, 1), "\xc3\x28");
	col_csv_close(c);
}
END_TEST

START_TEST(test_open_very_long_lines)
{
	size_t ncols = 50000, cap = ncols * 24 + (8u << 20) + 64, n = 0, len;
	char *s = malloc(cap), name[32];
	struct col_csv *c;
	const char *p;

	ck_assert_ptr_nonnull(s);
	for (size_t j = 0; j < ncols; j++)
		n += (size_t)sprintf(s + n, "%scol%zu", j ? "," : "", j);
	s[n++] = '\n';
	for (size_t j = 0; j < ncols; j++)
		n += (size_t)sprintf(s + n, "%s%zu", j ? "," : "", j * 7);
	s[n++] = '\n';
	/* one 8 MB cell, quoted, then the rest of the row */
	s[n++] = '"';
	memset(s + n, 'z', 8u << 20);
	n += 8u << 20;
	s[n++] = '"';
	for (size_t j = 1; j < ncols; j++)
		n += (size_t)sprintf(s + n, ",");
	s[n++] = '\n';
	write_file("wide.csv", s, n);
	free(s);
	{
		char err[256];

		ck_assert_int_eq(col_csv_open("wide.csv", &c, err, sizeof(err)), 0);
	}
	ck_assert_uint_eq(col_csv_ncols(c), ncols);
	ck_assert_uint_eq(col_csv_nrows(c), 2);
	snprintf(name, sizeof(name), "col%zu", ncols - 1);
	ck_assert_int_eq(col_csv_find(c, name), (long)(ncols - 1));
	ck_assert_str_eq(cell(c, 0, ncols - 1), "349993");
	p = col_csv_cell(c, 1, 0, &len);
	ck_assert_uint_eq(len, 8u << 20);
	ck_assert_int_eq(p[0], 'z');
	ck_assert_int_eq(p[len - 1], 'z');
	col_csv_close(c);
}
END_TEST

START_TEST(test_open_reads_a_pipe)
{
	const char text[] = "a,b\n1,2\n3,\"4\"\n";
	struct col_csv *c = NULL;
	char path[64], err[256];
	int fd[2];

	ck_assert_int_eq(pipe(fd), 0);
	ck_assert_int_eq(write(fd[1], text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd[1]);
	snprintf(path, sizeof(path), "/dev/fd/%d", fd[0]);
	ck_assert_int_eq(col_csv_open(path, &c, err, sizeof(err)), 0);
	close(fd[0]);
	ck_assert_uint_eq(col_csv_nrows(c), 2);
	ck_assert_str_eq(cell(c, 1, 1), "4");
	col_csv_close(c);
}
END_TEST

START_TEST(test_open_message_is_truncated_to_errlen)
{
	struct col_csv *c = NULL;
	char err[8];

	memset(err, 'x', sizeof(err));
	ck_assert_int_eq(col_csv_open("does-not-exist.csv", &c, err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "does-no");
	ck_assert_int_eq(col_csv_open("does-not-exist.csv", &c, NULL, 0), -ENOENT);
}
END_TEST

START_TEST(test_open_quote_late_in_a_large_file)
{
	/* 100000 plain rows, then quoted ones: the index switches to the quote-aware scan */
	size_t n = 0, rows = 100000;
	char *s = malloc(rows * 16 + 256);
	struct col_csv *c;

	ck_assert_ptr_nonnull(s);
	n += (size_t)sprintf(s + n, "k,v\n");
	for (size_t i = 0; i < rows; i++)
		n += (size_t)sprintf(s + n, "%zu,%zu\n", i, i * 2);
	n += (size_t)sprintf(s + n, "\"x\ny\",1\n\"a\"\"b\",2\nlast,3");
	write_file("late.csv", s, n);
	free(s);
	{
		char err[256];

		ck_assert_int_eq(col_csv_open("late.csv", &c, err, sizeof(err)), 0);
	}
	ck_assert_uint_eq(col_csv_nrows(c), rows + 3);
	ck_assert_str_eq(cell(c, rows - 1, 1), "199998");
	ck_assert_str_eq(cell(c, rows, 0), "x\ny");
	ck_assert_str_eq(cell(c, rows + 1, 0), "a\"b");
	ck_assert_str_eq(cell(c, rows + 2, 0), "last");
	ck_assert_uint_eq(col_csv_line(c, 0), 2);
	ck_assert_uint_eq(col_csv_line(c, rows - 1), rows + 1);
	ck_assert_uint_eq(col_csv_line(c, rows), rows + 2);
	ck_assert_uint_eq(col_csv_line(c, rows + 1), rows + 4);
	ck_assert_uint_eq(col_csv_line(c, rows + 2), rows + 5);
	col_csv_close(c);
}
END_TEST

/* A straightforward reference reader with the documented rules: 0 and the cells, or -1. */
struct ref {
	size_t ncols, nrows;
	char cells[64][64][64];
	size_t lens[64][64];
};

static int ref_parse(const char *s, size_t n, struct ref *rf)
{
	size_t i = 0, rec = 0;

	memset(rf, 0, sizeof(*rf));
	if (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
		i = 3;
	{
		size_t k = i;

		while (k < n && (s[k] == '\n' || s[k] == '\r'))
			k++;
		if (k == n)
			return -1;
	}
	while (i < n) {
		size_t ncell = 0;
		int blank = s[i] == '\n' || (s[i] == '\r' && (i + 1 == n || s[i + 1] == '\n'));

		if (blank) {
			size_t k = i;

			if (rec == 0)
				return -1;
			while (k < n && (s[k] == '\n' || s[k] == '\r'))
				k++;
			return k == n ? 0 : -1;
		}
		for (;;) {
			char *out;
			size_t len = 0;

			if (ncell >= 64 || rec >= 64)
				return -2;
			out = rf->cells[rec][ncell];
			if (i < n && s[i] == '"') {
				for (i++;; i++) {
					if (i == n)
						return -1;
					if (s[i] == '"') {
						if (i + 1 < n && s[i + 1] == '"') {
							out[len++] = '"';
							i++;
							continue;
						}
						break;
					}
					out[len++] = s[i];
				}
				i++;
				if (i < n && s[i] == '\r' && (i + 1 == n || s[i + 1] == '\n'))
					i++;
				if (i < n && s[i] != ',' && s[i] != '\n')
					return -1;
			} else {
				for (; i < n && s[i] != ',' && s[i] != '\n'; i++) {
					if (rec == 0 && s[i] == '\r' && i + 1 < n &&
					    s[i + 1] != '\n')
						return -1; /* lone CR in the header */
					out[len++] = s[i];
				}
				if (len && out[len - 1] == '\r' && (i == n || s[i] == '\n'))
					len--;
			}
			if (len >= 64)
				return -2;
			rf->lens[rec][ncell++] = len;
			if (i == n || s[i] == '\n')
				break;
			i++; /* comma */
		}
		if (i < n)
			i++; /* newline */
		if (rec == 0) {
			rf->ncols = ncell;
			for (size_t a = 0; a < ncell; a++) {
				if (memchr(rf->cells[0][a], '\0', rf->lens[0][a]))
					return -1;
				for (size_t b = 0; b < a; b++)
					if (rf->lens[0][a] == rf->lens[0][b] &&
					    !memcmp(rf->cells[0][a], rf->cells[0][b],
						    rf->lens[0][a]))
						return -1;
			}
		} else if (ncell != rf->ncols) {
			return -1;
		} else {
			rf->nrows++;
		}
		rec++;
	}
	return 0;
}

/* Random input: half pure byte soup, half a CSV built from tricky cells, then mutated. */
static size_t random_csv(char *s, size_t cap)
{
	static const char alpha[] = "a,\"\n\r1,,,aa\n";
	static const char *const cells[] = {"",         "1",     "a",    "\"x,y\"", "\"q\"\"\"",
					    "\"l\nm\"", " ",     "\"\"", "b\"c",    "\"\r\n\"",
					    "2.5",      "\"3\"", BOM};
	size_t n = 0;

	if (rnd() % 2) {
		size_t len = rnd() % (rnd() % 3 ? 60 : 300);
		int quotes = rnd() % 4 != 0;

		for (; n < len && n < cap; n++) {
			s[n] = alpha[rnd() % (sizeof(alpha) - 1)];
			if (s[n] == '"' && !quotes) /* some inputs without quotes: fast path */
				s[n] = 'q';
		}
		return n;
	}
	{
		size_t ncols = rnd() % 4 + 1, nrows = rnd() % 8;
		const char *eol = rnd() % 3 ? "\n" : "\r\n";

		for (size_t r = 0; r <= nrows; r++) {
			for (size_t j = 0; j < ncols; j++) {
				const char *cl = r == 0 ? "" : cells[rnd() % 13];
				char name[8];

				if (r == 0) {
					snprintf(name, sizeof(name), "%s%zu", j % 2 ? "\"h" : "h",
						 j);
					cl = name;
					if (j % 2)
						strcat(name, "\"");
				}
				if (n + strlen(cl) + 4 >= cap)
					return n;
				n += (size_t)sprintf(s + n, "%s%s", j ? "," : "", cl);
			}
			if (r < nrows || rnd() % 2)
				n += (size_t)sprintf(s + n, "%s", eol);
		}
		if (rnd() % 4 == 0)
			n += (size_t)sprintf(s + n, "%s", rnd() % 2 ? "\n\n" : "\r\n\n");
		for (int m = (int)(rnd() % 3) - 1; m > 0 && n; m--) /* mutate a byte */
			s[rnd() % n] = alpha[rnd() % (sizeof(alpha) - 1)];
	}
	return n;
}

START_TEST(test_open_agrees_with_a_reference_reader_on_random_input)
{
	static struct ref rf;
	char s[600], err[256];
	int agree = 0;

	rng_state = 0x9E3779B97F4A7C15ULL;
	for (int it = 0; it < 6000; it++) {
		size_t n = random_csv(s, 500);
		struct col_csv *c = NULL;
		int want, got;

		want = ref_parse(s, n, &rf);
		if (want == -2)
			continue;
		write_file("fz.csv", s, n);
		got = col_csv_open("fz.csv", &c, err, sizeof(err));
		ck_assert_msg((want == 0) == (got == 0), "input %d: reference %d, col_csv %d (%s)",
			      it, want, got, got ? err : "");
		if (got) {
			ck_assert_int_eq(got, -EINVAL);
			ck_assert_ptr_null(c);
			ck_assert(strncmp(err, "fz.csv", 6) == 0);
			continue;
		}
		agree++;
		ck_assert_uint_eq(col_csv_ncols(c), rf.ncols);
		ck_assert_uint_eq(col_csv_nrows(c), rf.nrows);
		for (size_t j = 0; j < rf.ncols; j++) {
			ck_assert_uint_eq(strlen(col_csv_name(c, j)), rf.lens[0][j]);
			ck_assert_int_eq(memcmp(col_csv_name(c, j), rf.cells[0][j], rf.lens[0][j]),
					 0);
		}
		for (size_t r = 0; r < rf.nrows; r++) {
			for (size_t j = 0; j < rf.ncols; j++) {
				size_t len;
				const char *p = col_csv_cell(c, r, j, &len);

				ck_assert_uint_eq(len, rf.lens[r + 1][j]);
				ck_assert_int_eq(memcmp(p, rf.cells[r + 1][j], len), 0);
			}
		}
		col_csv_close(c);
	}
	ck_assert_int_gt(agree, 1500);
}
END_TEST

START_TEST(test_open_heart_fixture)
{
	char path[PATH_MAX + 16], err[256];
	struct col_csv *c = NULL;

	snprintf(path, sizeof(path), "%s/heart.csv", fixtures);
	ck_assert_msg(col_csv_open(path, &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(col_csv_ncols(c), 16);
	ck_assert_uint_eq(col_csv_nrows(c), 920);
	ck_assert_str_eq(col_csv_name(c, 0), "site");
	ck_assert_str_eq(col_csv_name(c, 15), "target");
	ck_assert_str_eq(cell(c, 0, 0), "cleveland");
	ck_assert_str_eq(cell(c, 919, 0), "va");
	ck_assert_str_eq(cell(c, 919, 12), "");
	ck_assert_uint_eq(col_csv_line(c, 919), 921);
	col_csv_close(c);
}
END_TEST

/* ---- col_csv_close, _path, _ncols, _nrows, _name, _find, _line ------------------------- */

START_TEST(test_close_null_is_a_noop)
{
	col_csv_close(NULL);
}
END_TEST

START_TEST(test_path_is_as_given)
{
	struct col_csv *c = NULL;
	char err[256];

	write_file("p.csv", "a\n", 2);
	ck_assert_int_eq(col_csv_open("./p.csv", &c, err, sizeof(err)), 0);
	ck_assert_str_eq(col_csv_path(c), "./p.csv");
	col_csv_close(c);
}
END_TEST

START_TEST(test_ncols_counts_header_cells)
{
	struct col_csv *c = open_ok("a,,\"c,d\"\n1,2,3\n");

	ck_assert_uint_eq(col_csv_ncols(c), 3);
	col_csv_close(c);
	c = open_ok("only\n");
	ck_assert_uint_eq(col_csv_ncols(c), 1);
	col_csv_close(c);
}
END_TEST

START_TEST(test_nrows_excludes_header_and_blank_tail)
{
	struct col_csv *c = open_ok("a\n1\n2\n3\n\n");

	ck_assert_uint_eq(col_csv_nrows(c), 3);
	col_csv_close(c);
}
END_TEST

START_TEST(test_name_is_unquoted_and_bounded)
{
	struct col_csv *c = open_ok("\"a,b\",\"say \"\"x\"\"\",plain\n");

	ck_assert_str_eq(col_csv_name(c, 0), "a,b");
	ck_assert_str_eq(col_csv_name(c, 1), "say \"x\"");
	ck_assert_str_eq(col_csv_name(c, 2), "plain");
	ck_assert_ptr_null(col_csv_name(c, 3));
	col_csv_close(c);
}
END_TEST

START_TEST(test_find_exact_names)
{
	struct col_csv *c = open_ok("age,Age,,\" age\"\n");

	ck_assert_int_eq(col_csv_find(c, "age"), 0);
	ck_assert_int_eq(col_csv_find(c, "Age"), 1);
	ck_assert_int_eq(col_csv_find(c, ""), 2);
	ck_assert_int_eq(col_csv_find(c, " age"), 3);
	ck_assert_int_eq(col_csv_find(c, "AGE"), -1);
	ck_assert_int_eq(col_csv_find(c, "ag"), -1);
	ck_assert_int_eq(col_csv_find(c, NULL), -1);
	col_csv_close(c);
}
END_TEST

START_TEST(test_find_among_many_columns)
{
	char *s = malloc(3000 * 12), name[32];
	size_t n = 0;
	struct col_csv *c;

	ck_assert_ptr_nonnull(s);
	for (int j = 0; j < 3000; j++)
		n += (size_t)sprintf(s + n, "%sc%d", j ? "," : "", j);
	s[n] = '\0';
	c = open_ok(s);
	free(s);
	for (int j = 0; j < 3000; j += 7) {
		snprintf(name, sizeof(name), "c%d", j);
		ck_assert_int_eq(col_csv_find(c, name), j);
	}
	ck_assert_int_eq(col_csv_find(c, "c3000"), -1);
	col_csv_close(c);
}
END_TEST

START_TEST(test_line_follows_multiline_cells)
{
	struct col_csv *c = open_ok("\"h\n1\",h2\n1,2\n\"a\nb\nc\",3\n4,5\n");

	ck_assert_uint_eq(col_csv_line(c, 0), 3);
	ck_assert_uint_eq(col_csv_line(c, 1), 4);
	ck_assert_uint_eq(col_csv_line(c, 2), 7);
	ck_assert_uint_eq(col_csv_line(c, 3), 0);
	col_csv_close(c);
	c = open_ok("a\n1\n2\n");
	ck_assert_uint_eq(col_csv_line(c, 0), 2);
	ck_assert_uint_eq(col_csv_line(c, 1), 3);
	col_csv_close(c);
}
END_TEST

/* ---- col_csv_cell ------------------------------------------------------------------------ */

START_TEST(test_cell_plain_and_empty_cells)
{
	struct col_csv *c = open_ok("a,b,c\n1,,3\n,,\n x , y ,\n");

	ck_assert_str_eq(cell(c, 0, 0), "1");
	ck_assert_str_eq(cell(c, 0, 1), "");
	ck_assert_str_eq(cell(c, 0, 2), "3");
	ck_assert_str_eq(cell(c, 1, 2), "");
	ck_assert_str_eq(cell(c, 2, 0), " x ");
	ck_assert_str_eq(cell(c, 2, 2), "");
	col_csv_close(c);
}
END_TEST

START_TEST(test_cell_out_of_range_is_null)
{
	struct col_csv *c = open_ok("a,b\n1,2\n");
	size_t len = 99;

	ck_assert_ptr_null(col_csv_cell(c, 1, 0, &len));
	ck_assert_uint_eq(len, 0);
	ck_assert_ptr_null(col_csv_cell(c, 0, 2, &len));
	col_csv_close(c);
}
END_TEST

START_TEST(test_cell_unescapes_into_a_borrowed_buffer)
{
	struct col_csv *c = open_ok("a,b\n\"x\"\"1\",\"longer \"\"cell\"\" here\"\n");
	const char *p, *q;
	size_t lp, lq;

	p = col_csv_cell(c, 0, 0, &lp);
	ck_assert_uint_eq(lp, 3);
	ck_assert_int_eq(memcmp(p, "x\"1", 3), 0);
	q = col_csv_cell(c, 0, 1, &lq);
	ck_assert_uint_eq(lq, 18);
	ck_assert_int_eq(memcmp(q, "longer \"cell\" here", 18), 0);
	ck_assert_ptr_eq(p, q); /* the same handle buffer: p was only valid until this call */
	col_csv_close(c);
}
END_TEST

START_TEST(test_cell_strips_crlf_but_keeps_inner_cr)
{
	struct col_csv *c = open_ok("a,b\r\n1\r2,\"3\r\"\r\nx,y\r");

	ck_assert_str_eq(cell(c, 0, 0), "1\r2");
	ck_assert_str_eq(cell(c, 0, 1), "3\r");
	ck_assert_str_eq(cell(c, 1, 1), "y");
	col_csv_close(c);
}
END_TEST

/* ---- col_csv_is_missing ----------------------------------------------------------------- */

START_TEST(test_is_missing_tokens)
{
	const char *yes[] = {"",     "NA",   "NaN",   "nan",    "N/A",      "null",    "?",
			     "  ",   " NA ", "\tnan", "NULL",   "n/a",      "#N/A",    "<NA>",
			     "-nan", "-NaN", "#NA",   "1.#IND", "-1.#QNAN", "#N/A N/A"};
	const char *no[] = {"0", "na",  "NAN", "Nan", "none", "None", "-",
			    ".", "NA1", "??",  "nul", "N A",  "inf"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(col_csv_is_missing(yes[i], strlen(yes[i])) == 1, "%s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(col_csv_is_missing(no[i], strlen(no[i])) == 0, "%s", no[i]);
	ck_assert_int_eq(col_csv_is_missing("NAx", 2), 1); /* length, not NUL, ends the text */
}
END_TEST

/* ---- col_csv_parse_double ----------------------------------------------------------------- */

static void parse_is(const char *s, double want)
{
	double v = -12345.0;

	ck_assert_msg(col_csv_parse_double(s, strlen(s), &v) == 0, "rejected \"%s\"", s);
	ck_assert_msg(same_bits(v, want), "\"%s\": got %.17g, want %.17g", s, v, want);
}

static void parse_rejects(const char *s)
{
	double v = 42.0;

	ck_assert_msg(col_csv_parse_double(s, strlen(s), &v) == -EINVAL, "accepted \"%s\"", s);
	ck_assert_double_eq(v, 42.0);
}

START_TEST(test_parse_double_accepts_decimal_forms)
{
	parse_is("0", 0.0);
	parse_is("-0", -0.0);
	parse_is("+0.0e10", 0.0);
	parse_is("1", 1.0);
	parse_is("-2.5", -2.5);
	parse_is("+2.5", 2.5);
	parse_is(".5", 0.5);
	parse_is("5.", 5.0);
	parse_is("1e3", 1000.0);
	parse_is("1E-3", 0.001);
	parse_is("1e+3", 1000.0);
	parse_is("00012.50", 12.5);
	parse_is("0.000001", 1e-6);
	parse_is("  7.25 ", 7.25);
	parse_is("\t\r\n 3\n", 3.0);
	parse_is("63.0", 63.0);
	parse_is("2.3", 2.3);
	parse_is("0.1", 0.1);
	parse_is("123456789012345678901234567890", 123456789012345678901234567890.0);
	parse_is("1.00000000000000000000000000", 1.0);
	parse_is("1e-400", 0.0);
	parse_is("-1e-400", -0.0);
	parse_is("4.9406564584124654e-324", 4.9406564584124654e-324);
	parse_is("2.2250738585072011e-308", 2.2250738585072011e-308);
	parse_is("1.7976931348623157e308", 1.7976931348623157e308);
	parse_is("9007199254740993", 9007199254740992.0); /* a tie: to even */
	parse_is("9007199254740995", 9007199254740996.0);
	parse_is("1e23", 1e23);
	parse_is("8.98846567431158e307", 8.98846567431158e307);
	parse_is("0.1e-99999999999999999999", 0.0);
}
END_TEST

START_TEST(test_parse_double_rejects_non_numbers)
{
	const char *bad[] = {"",      " ",     "+",   "-",     ".",      "e5",      "1e",   "1e+",
			     "1e-",   "1.2.3", "1,5", "0x1p3", "0x10",   "inf",     "-inf", "nan",
			     "NaN",   "1 2",   "--1", "+-1",   "1f",     "1d",      "12a",  "a12",
			     "1_000", "1e5.0", "١",   "1e999", "-1e400", "1.8e308", "NA"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_rejects(bad[i]);
	{
		double v;

		ck_assert_int_eq(col_csv_parse_double("1\0"
						      "2",
						      3, &v),
				 -EINVAL);
		ck_assert_int_eq(col_csv_parse_double("12", 1, &v), 0); /* len bounds the text */
		ck_assert_double_eq(v, 1.0);
	}
}
END_TEST

START_TEST(test_parse_double_long_numbers)
{
	char s[1200];
	double v, want;

	memset(s, '1', 1000);
	s[1000] = '\0';
	want = strtod(s, NULL);
	ck_assert_int_eq(col_csv_parse_double(s, 1000, &v), -EINVAL); /* overflows */
	s[0] = '0';
	s[1] = '.';
	want = strtod(s, NULL);
	ck_assert_int_eq(col_csv_parse_double(s, 1000, &v), 0);
	ck_assert(same_bits(v, want));
	memcpy(s + 1000, "e-50", 5);
	want = strtod(s, NULL);
	ck_assert_int_eq(col_csv_parse_double(s, strlen(s), &v), 0);
	ck_assert(same_bits(v, want));
}
END_TEST

/* A random decimal string in one of several shapes. */
static size_t random_decimal(char *b)
{
	size_t n = 0;
	int shape = (int)(rnd() % 8);
	double x;
	uint64_t u;

	if (rnd() % 8 == 0)
		b[n++] = ' ';
	if (rnd() % 3 == 0)
		b[n++] = rnd() % 4 ? '-' : '+';
	switch (shape) {
	case 0: /* any finite double, shortest-ish and full precision */
	case 1:
		do {
			u = rnd();
			memcpy(&x, &u, sizeof(x));
		} while (!isfinite(x));
		n += (size_t)sprintf(b + n, "%.*g", shape ? 17 : (int)(rnd() % 17) + 1, fabs(x));
		break;
	case 2: /* fixed point like "%.6f" */
		n += (size_t)sprintf(b + n, "%.*f", (int)(rnd() % 9),
				     (double)(rnd() % 100000000) / 997.0);
		break;
	case 3: { /* near a tie between two doubles */
		long double m;

		u = (rnd() & 0x800FFFFFFFFFFFFFULL) | ((uint64_t)(1023 - 300 + rnd() % 600) << 52);
		memcpy(&x, &u, sizeof(x));
		m = ((long double)fabs(x) + (long double)nextafter(fabs(x), INFINITY)) / 2;
		n += (size_t)sprintf(b + n, "%.*Le", (int)(rnd() % 6) + 14, m);
		break;
	}
	default: { /* digit soup: leading zeros, a dot anywhere, long mantissas, wide exponents */
		int nd = (int)(rnd() % 28) + 1, dot = (int)(rnd() % (unsigned)(nd + 2));

		for (int i = (int)(rnd() % 3); i > 0; i--)
			b[n++] = '0';
		for (int i = 0; i < nd; i++) {
			if (i == dot)
				b[n++] = '.';
			b[n++] = (char)('0' + rnd() % 10);
		}
		if (rnd() % 2)
			n += (size_t)sprintf(b + n, "%c%d", rnd() % 2 ? 'e' : 'E',
					     (int)(rnd() % 700) - 350);
		break;
	}
	}
	if (rnd() % 8 == 0)
		b[n++] = '\t';
	b[n] = '\0';
	return n;
}

START_TEST(test_parse_double_matches_strtod_bit_for_bit)
{
	char b[128];
	long checked = 0;

	rng_state = 0x2545F4914F6CDD1DULL;
	for (int i = 0; i < 200000; i++) {
		size_t n = random_decimal(b);
		char *end;
		double want = strtod(b, &end), v = 0;
		int r = col_csv_parse_double(b, n, &v);

		while (*end == ' ' || *end == '\t')
			end++;
		if (*end || !isfinite(want)) {
			ck_assert_msg(r == -EINVAL, "\"%s\": accepted, strtod stops or overflows",
				      b);
			continue;
		}
		ck_assert_msg(r == 0, "\"%s\": rejected", b);
		ck_assert_msg(same_bits(v, want), "\"%s\": %.17g, strtod %.17g", b, v, want);
		checked++;
	}
	ck_assert_int_gt(checked, 190000);
}
END_TEST

/* ---- col_csv_column_double / col_csv_columns_double --------------------------------------- */

START_TEST(test_column_double_values_and_missing)
{
	struct col_csv *c = open_ok("x,y,z\n1.5,a,\"2\"\n,b, NA \n-3e2,c,?\n");
	double v[3];
	size_t bad = 7;

	ck_assert_int_eq(col_csv_column_double(c, 0, v, &bad), 0);
	ck_assert_double_eq(v[0], 1.5);
	ck_assert(isnan(v[1]));
	ck_assert_double_eq(v[2], -300.0);
	ck_assert_int_eq(col_csv_column_double(c, 2, v, &bad), 0);
	ck_assert_double_eq(v[0], 2.0);
	ck_assert(isnan(v[1]) && isnan(v[2]));
	ck_assert_int_eq(col_csv_column_double(c, 1, v, &bad), -EINVAL);
	ck_assert_uint_eq(bad, 0);
	ck_assert_int_eq(col_csv_column_double(c, 3, v, &bad), -ERANGE);
	col_csv_close(c);
}
END_TEST

START_TEST(test_column_double_blanks_and_crlf)
{
	struct col_csv *c = open_ok("a,b\r\n 1 ,\t2\r\n\" 3\",4 \r\n");
	double v[2];
	size_t bad;

	ck_assert_int_eq(col_csv_column_double(c, 0, v, &bad), 0);
	ck_assert_double_eq(v[0], 1.0);
	ck_assert_double_eq(v[1], 3.0);
	ck_assert_int_eq(col_csv_column_double(c, 1, v, &bad), 0);
	ck_assert_double_eq(v[0], 2.0);
	ck_assert_double_eq(v[1], 4.0);
	col_csv_close(c);
}
END_TEST

START_TEST(test_column_double_rejects_escaped_and_garbage_cells)
{
	const char *cells[] = {"\"1\"\"\"", "1 2", "0x10", "inf", "1e999", "\"\"\"\"", "- 1"};

	for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
		char s[64];
		struct col_csv *c;
		double v[2];
		size_t bad = 99;

		snprintf(s, sizeof(s), "a\n1\n%s\n", cells[i]);
		c = open_ok(s);
		ck_assert_msg(col_csv_column_double(c, 0, v, &bad) == -EINVAL, "%s", cells[i]);
		ck_assert_uint_eq(bad, 1);
		col_csv_close(c);
	}
}
END_TEST

/* rows x 3 file: a = i, b = i / 8 with some missing, c = "%.17g" of a random double. */
static void write_big(const char *name, size_t rows, size_t bad1, size_t bad2)
{
	char *s = malloc(rows * 48 + 64);
	size_t n = 0;

	ck_assert_ptr_nonnull(s);
	n += (size_t)sprintf(s + n, "a,b,c\n");
	rng_state = 77;
	for (size_t i = 0; i < rows; i++) {
		double x = (double)(rnd() >> 11) / 9007199254740992.0 * 200.0 - 100.0;

		if (i % 97 == 5)
			n += (size_t)sprintf(s + n, "%zu,,%.17g\n", i, x);
		else if (i == bad1 || i == bad2)
			n += (size_t)sprintf(s + n, "%zu,%zu.%zu,oops\n", i, i / 8, i % 8);
		else
			n += (size_t)sprintf(s + n, "%zu,%.3f,%.17g\n", i, (double)i / 8, x);
	}
	write_file(name, s, n);
	free(s);
}

START_TEST(test_column_double_large_file_uses_threads_and_finds_first_bad_row)
{
	size_t rows = 150000, bad = 0;
	double *v = malloc(rows * sizeof(*v));
	struct col_csv *c = NULL;
	char err[256];

	ck_assert_ptr_nonnull(v);
	write_big("big.csv", rows, rows - 1, 30000);
	ck_assert_int_eq(col_csv_open("big.csv", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(col_csv_column_double(c, 0, v, &bad), 0);
	for (size_t i = 0; i < rows; i++)
		ck_assert_double_eq(v[i], (double)i);
	ck_assert_int_eq(col_csv_column_double(c, 1, v, &bad), 0);
	ck_assert(isnan(v[5]));
	ck_assert_double_eq(v[rows - 2], (double)(rows - 2) / 8);
	ck_assert_int_eq(col_csv_column_double(c, 2, v, &bad), -EINVAL);
	ck_assert_uint_eq(bad, 30000); /* the first of two bad rows, in different halves */
	col_csv_close(c);
	free(v);
}
END_TEST

START_TEST(test_column_double_one_column_file_threaded)
{
	size_t rows = 250000, n = 0, bad = 0, at = 0;
	char *s = malloc(rows * 12 + 16);
	double *v = malloc(rows * sizeof(*v));
	struct col_csv *c = NULL;
	char err[256];

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(v);
	n += (size_t)sprintf(s + n, "score\n");
	for (size_t i = 0; i < rows; i++) {
		if (i == 200001)
			at = n;
		n += (size_t)sprintf(s + n, i % 1000 == 7 ? "NA\n" : "0.%06zu\n", i);
	}
	write_file("one.csv", s, n);
	ck_assert_int_eq(col_csv_open("one.csv", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(col_csv_column_double(c, 0, v, &bad), 0);
	for (size_t i = 0; i < rows; i++) {
		if (i % 1000 == 7)
			ck_assert(isnan(v[i]));
		else
			ck_assert_double_eq(v[i], (double)i / 1e6);
	}
	col_csv_close(c);
	memcpy(s + at, "0.00x", 5);
	write_file("one.csv", s, n);
	ck_assert_int_eq(col_csv_open("one.csv", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(col_csv_column_double(c, 0, v, &bad), -EINVAL);
	ck_assert_uint_eq(bad, 200001);
	col_csv_close(c);
	free(s);
	free(v);
}
END_TEST

START_TEST(test_column_double_heart_fixture)
{
	char path[PATH_MAX + 16], err[256];
	struct col_csv *c = NULL;
	double v[920], sum = 0;
	size_t bad = 0, nmiss = 0;
	long col;

	snprintf(path, sizeof(path), "%s/heart.csv", fixtures);
	ck_assert_msg(col_csv_open(path, &c, err, sizeof(err)) == 0, "%s", err);
	col = col_csv_find(c, "age");
	ck_assert_int_eq(col, 1);
	ck_assert_int_eq(col_csv_column_double(c, (size_t)col, v, &bad), 0);
	for (int i = 0; i < 920; i++)
		sum += v[i];
	ck_assert_double_eq(sum, 49230.0); /* pandas: d.age.sum() */
	ck_assert_double_eq(v[0], 63.0);
	col = col_csv_find(c, "ca");
	ck_assert_int_eq(col_csv_column_double(c, (size_t)col, v, &bad), 0);
	for (int i = 0; i < 920; i++)
		nmiss += isnan(v[i]) != 0;
	ck_assert_uint_eq(nmiss, 611); /* pandas: d.ca.isna().sum() */
	ck_assert_int_eq(col_csv_column_double(c, 0, v, &bad), -EINVAL); /* site */
	ck_assert_uint_eq(bad, 0);
	col_csv_close(c);
}
END_TEST

START_TEST(test_columns_double_several_in_any_order)
{
	struct col_csv *c = open_ok("a,b,c,d\n1,2,3,4\n5,,7,8\n");
	size_t cols[] = {3, 0, 3, 1};
	double o0[2], o1[2], o2[2], o3[2], *out[] = {o0, o1, o2, o3};
	size_t br = 9, bc = 9;

	ck_assert_int_eq(col_csv_columns_double(c, cols, 4, out, &br, &bc), 0);
	ck_assert_double_eq(o0[0], 4.0);
	ck_assert_double_eq(o0[1], 8.0);
	ck_assert_double_eq(o1[1], 5.0);
	ck_assert_double_eq(o2[0], 4.0);
	ck_assert_double_eq(o2[1], 8.0);
	ck_assert_double_eq(o3[0], 2.0);
	ck_assert(isnan(o3[1]));
	ck_assert_int_eq(col_csv_columns_double(c, cols, 0, out, &br, &bc), 0);
	col_csv_close(c);
}
END_TEST

START_TEST(test_columns_double_reports_first_bad_cell_in_file_order)
{
	struct col_csv *c = open_ok("a,b,c\n1,2,3\n4,x,y\nz,5,6\n");
	size_t cols[] = {2, 1, 0};
	double o0[3], o1[3], o2[3], *out[] = {o0, o1, o2};
	size_t br = 9, bc = 9;

	ck_assert_int_eq(col_csv_columns_double(c, cols, 3, out, &br, &bc), -EINVAL);
	ck_assert_uint_eq(br, 1);
	ck_assert_uint_eq(bc, 1);
	ck_assert_int_eq(col_csv_columns_double(c, cols, 3, out, NULL, NULL), -EINVAL);
	col_csv_close(c);
}
END_TEST

START_TEST(test_columns_double_rejects_bad_column_index)
{
	struct col_csv *c = open_ok("a,b\n1,2\n");
	size_t cols[] = {0, 2};
	double o0[1], o1[1], *out[] = {o0, o1};
	size_t br, bc;

	ck_assert_int_eq(col_csv_columns_double(c, cols, 2, out, &br, &bc), -ERANGE);
	col_csv_close(c);
}
END_TEST

START_TEST(test_columns_double_zero_rows)
{
	struct col_csv *c = open_ok("a,b\n");
	size_t cols[] = {0, 1};
	double *out[] = {NULL, NULL};
	size_t br, bc;

	ck_assert_int_eq(col_csv_columns_double(c, cols, 2, out, &br, &bc), 0);
	col_csv_close(c);
}
END_TEST

START_TEST(test_columns_double_matches_column_double_on_a_large_file)
{
	size_t rows = 120000, cols[] = {2, 0, 1}, br = 0, bc = 0;
	double *o[3], *single = malloc(rows * sizeof(double));
	struct col_csv *c = NULL;
	char err[256];

	write_big("big.csv", rows, SIZE_MAX, SIZE_MAX);
	ck_assert_int_eq(col_csv_open("big.csv", &c, err, sizeof(err)), 0);
	for (int k = 0; k < 3; k++) {
		o[k] = malloc(rows * sizeof(double));
		ck_assert_ptr_nonnull(o[k]);
	}
	ck_assert_int_eq(col_csv_columns_double(c, cols, 3, o, &br, &bc), 0);
	for (int k = 0; k < 3; k++) {
		ck_assert_int_eq(col_csv_column_double(c, cols[k], single, &br), 0);
		ck_assert_int_eq(memcmp(single, o[k], rows * sizeof(double)), 0);
		free(o[k]);
	}
	/* every value as strtod reads the cell */
	ck_assert_int_eq(col_csv_column_double(c, 2, single, &br), 0);
	for (size_t i = 0; i < rows; i += 1001) {
		char buf[64];
		size_t len;
		const char *p = col_csv_cell(c, i, 2, &len);

		memcpy(buf, p, len);
		buf[len] = '\0';
		ck_assert(same_bits(single[i], strtod(buf, NULL)));
	}
	free(single);
	col_csv_close(c);
}
END_TEST

START_TEST(test_columns_double_heart_fixture)
{
	char path[PATH_MAX + 16], err[256];
	struct col_csv *c = NULL;
	static const size_t want_missing[16] = {0,  0,  0,  0,   59,  30,  90, 2,
						55, 55, 62, 309, 611, 486, 0,  0};
	double *out[15], sum_chol = 0, sum_oldpeak = 0;
	size_t cols[15], br = 0, bc = 0;

	snprintf(path, sizeof(path), "%s/heart.csv", fixtures);
	ck_assert_msg(col_csv_open(path, &c, err, sizeof(err)) == 0, "%s", err);
	for (size_t k = 0; k < 15; k++) {
		cols[k] = k + 1;
		out[k] = malloc(920 * sizeof(double));
		ck_assert_ptr_nonnull(out[k]);
	}
	ck_assert_int_eq(col_csv_columns_double(c, cols, 15, out, &br, &bc), 0);
	for (size_t k = 0; k < 15; k++) {
		size_t miss = 0;

		for (size_t i = 0; i < 920; i++)
			miss += isnan(out[k][i]) != 0;
		ck_assert_msg(miss == want_missing[k + 1], "%s: %zu missing",
			      col_csv_name(c, k + 1), miss);
	}
	for (size_t i = 0; i < 920; i++) {
		sum_chol += out[4][i] == out[4][i] ? out[4][i] : 0;
		sum_oldpeak += out[9][i] == out[9][i] ? out[9][i] : 0;
	}
	ck_assert_double_eq(sum_chol, 177226.0);
	ck_assert_double_eq_tol(sum_oldpeak, 754.0, 1e-9);
	ck_assert_double_eq(out[9][0], 2.3);
	/* the site column is text: first bad cell is row 0, column 0 */
	cols[0] = 0;
	ck_assert_int_eq(col_csv_columns_double(c, cols, 15, out, &br, &bc), -EINVAL);
	ck_assert_uint_eq(br, 0);
	ck_assert_uint_eq(bc, 0);
	for (size_t k = 0; k < 15; k++)
		free(out[k]);
	col_csv_close(c);
}
END_TEST

/* ---- col_csv_cell_error ----------------------------------------------------------------- */

START_TEST(test_cell_error_messages)
{
	struct col_csv *c = open_ok("id,age\n1,12a\n2,1e999\n\"x\ny\",\"a\"\"\x01\"\n");
	char err[256];

	col_csv_cell_error(c, 0, 1, err, sizeof(err));
	ck_assert_str_eq(err, "ok.csv:2: column \"age\": not a number: \"12a\"");
	col_csv_cell_error(c, 1, 1, err, sizeof(err));
	ck_assert_str_eq(err, "ok.csv:3: column \"age\": number out of range: \"1e999\"");
	col_csv_cell_error(c, 2, 1, err, sizeof(err));
	ck_assert_str_eq(err, "ok.csv:4: column \"age\": not a number: \"a\\\"\\x01\"");
	col_csv_cell_error(c, 2, 0, err, sizeof(err));
	ck_assert_str_eq(err, "ok.csv:4: column \"id\": not a number: \"x\\x0ay\"");
	col_csv_close(c);
}
END_TEST

static Suite *csv_suite(void)
{
	Suite *s = suite_create("col_csv");
	TCase *tc;

#define TC(name)                                                                                   \
	do {                                                                                       \
		tc = tcase_create(name);                                                           \
		tcase_add_checked_fixture(tc, setup, teardown);                                    \
		tcase_set_timeout(tc, 120);                                                        \
		suite_add_tcase(s, tc);                                                            \
	} while (0)

	TC("open");
	tcase_add_test(tc, test_open_missing_file_is_enoent);
	tcase_add_test(tc, test_open_directory_is_eio);
	tcase_add_test(tc, test_open_unreadable_is_eacces);
	tcase_add_test(tc, test_open_empty_file_fails);
	tcase_add_test(tc, test_open_empty_header_line_fails);
	tcase_add_test(tc, test_open_header_only_has_no_rows);
	tcase_add_test(tc, test_open_bom_is_skipped);
	tcase_add_test(tc, test_open_crlf_line_ends);
	tcase_add_test(tc, test_open_last_line_without_newline);
	tcase_add_test(tc, test_open_trailing_blank_lines_are_ignored);
	tcase_add_test(tc, test_open_blank_line_in_the_middle_fails);
	tcase_add_test(tc, test_open_ragged_rows_fail);
	tcase_add_test(tc, test_open_ragged_row_after_multiline_cell_names_its_line);
	tcase_add_test(tc, test_open_ragged_row_far_into_the_file);
	tcase_add_test(tc, test_open_duplicate_column_fails);
	tcase_add_test(tc, test_open_unterminated_quote_fails);
	tcase_add_test(tc, test_open_text_after_closing_quote_fails);
	tcase_add_test(tc, test_open_quote_inside_unquoted_cell_is_data);
	tcase_add_test(tc, test_open_quoted_cells_with_commas_newlines_and_escapes);
	tcase_add_test(tc, test_open_nul_byte_in_header_fails);
	tcase_add_test(tc, test_open_nul_byte_in_data_is_a_byte);
	tcase_add_test(tc, test_open_cr_only_line_ends_fail);
	tcase_add_test(tc, test_open_non_utf8_bytes_are_bytes);
	tcase_add_test(tc, test_open_very_long_lines);
	tcase_add_test(tc, test_open_reads_a_pipe);
	tcase_add_test(tc, test_open_message_is_truncated_to_errlen);
	tcase_add_test(tc, test_open_quote_late_in_a_large_file);
	tcase_add_test(tc, test_open_agrees_with_a_reference_reader_on_random_input);
	tcase_add_test(tc, test_open_heart_fixture);

	TC("close");
	tcase_add_test(tc, test_close_null_is_a_noop);
	TC("path");
	tcase_add_test(tc, test_path_is_as_given);
	TC("ncols");
	tcase_add_test(tc, test_ncols_counts_header_cells);
	TC("nrows");
	tcase_add_test(tc, test_nrows_excludes_header_and_blank_tail);
	TC("name");
	tcase_add_test(tc, test_name_is_unquoted_and_bounded);
	TC("find");
	tcase_add_test(tc, test_find_exact_names);
	tcase_add_test(tc, test_find_among_many_columns);
	TC("line");
	tcase_add_test(tc, test_line_follows_multiline_cells);

	TC("cell");
	tcase_add_test(tc, test_cell_plain_and_empty_cells);
	tcase_add_test(tc, test_cell_out_of_range_is_null);
	tcase_add_test(tc, test_cell_unescapes_into_a_borrowed_buffer);
	tcase_add_test(tc, test_cell_strips_crlf_but_keeps_inner_cr);

	TC("is_missing");
	tcase_add_test(tc, test_is_missing_tokens);

	TC("parse_double");
	tcase_add_test(tc, test_parse_double_accepts_decimal_forms);
	tcase_add_test(tc, test_parse_double_rejects_non_numbers);
	tcase_add_test(tc, test_parse_double_long_numbers);
	tcase_add_test(tc, test_parse_double_matches_strtod_bit_for_bit);

	TC("column_double");
	tcase_add_test(tc, test_column_double_values_and_missing);
	tcase_add_test(tc, test_column_double_blanks_and_crlf);
	tcase_add_test(tc, test_column_double_rejects_escaped_and_garbage_cells);
	tcase_add_test(tc, test_column_double_large_file_uses_threads_and_finds_first_bad_row);
	tcase_add_test(tc, test_column_double_one_column_file_threaded);
	tcase_add_test(tc, test_column_double_heart_fixture);

	TC("columns_double");
	tcase_add_test(tc, test_columns_double_several_in_any_order);
	tcase_add_test(tc, test_columns_double_reports_first_bad_cell_in_file_order);
	tcase_add_test(tc, test_columns_double_rejects_bad_column_index);
	tcase_add_test(tc, test_columns_double_zero_rows);
	tcase_add_test(tc, test_columns_double_matches_column_double_on_a_large_file);
	tcase_add_test(tc, test_columns_double_heart_fixture);

	TC("cell_error");
	tcase_add_test(tc, test_cell_error_messages);
#undef TC
	return s;
}

int main(void)
{
	const char *fx = getenv("VIGIL_FIXTURES");
	SRunner *sr;
	int failed;

	/* resolve now: every test runs inside its own temporary directory */
	if (!realpath(fx && *fx ? fx : "../tests/fixtures", fixtures)) {
		fprintf(stderr, "check_csv: fixtures not found (%s): set VIGIL_FIXTURES\n",
			fx && *fx ? fx : "../tests/fixtures");
		return EXIT_FAILURE;
	}
	sr = srunner_create(csv_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
