/* SPDX-License-Identifier: MIT
 * collectors/csv.c - placeholder until implemented (see collectors/csv.h)
 */
#include "collectors/csv.h"
#include <errno.h>
int col_csv_open(const char *p, struct col_csv **o, char *e, size_t el) { (void)p;(void)o;(void)e;(void)el; return -ENOSYS; }
void col_csv_close(struct col_csv *c) { (void)c; }
const char *col_csv_path(const struct col_csv *c) { (void)c; return ""; }
size_t col_csv_ncols(const struct col_csv *c) { (void)c; return 0; }
size_t col_csv_nrows(const struct col_csv *c) { (void)c; return 0; }
const char *col_csv_name(const struct col_csv *c, size_t i) { (void)c;(void)i; return ""; }
long col_csv_find(const struct col_csv *c, const char *n) { (void)c;(void)n; return -1; }
size_t col_csv_line(const struct col_csv *c, size_t r) { (void)c; return r + 2; }
const char *col_csv_cell(const struct col_csv *c, size_t r, size_t i, size_t *l) { (void)c;(void)r;(void)i; *l = 0; return ""; }
int col_csv_is_missing(const char *s, size_t l) { (void)s; return l == 0; }
int col_csv_parse_double(const char *s, size_t l, double *o) { (void)s;(void)l;(void)o; return -EINVAL; }
int col_csv_column_double(const struct col_csv *c, size_t i, double *o, size_t *b) { (void)c;(void)i;(void)o;(void)b; return -ENOSYS; }
