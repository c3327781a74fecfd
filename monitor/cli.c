/* SPDX-License-Identifier: MIT
 * monitor/cli.c - the offline subcommands: vigil drift, vigil perf, vigil estimate
 *
 * Reads the CSV files, types the columns (numeric when every non-missing cell of both files
 * parses as a number, otherwise categorical, unless --categorical says so), validates
 * scores and labels, and hands arrays to the report builders the server uses too.
 * Every input error ends here with one message on stderr and exit status 2.
 */
#include "config.h"

#include "monitor/cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/csv.h"
#include "collectors/table.h"
#include "monitor/drift_report.h"
#include "monitor/perf_report.h"
#include "monitor/render.h"
#include "stats/isotonic.h"

#define EXIT_USAGE 2
#define ERRLEN 512

enum fmt { FMT_TABLE, FMT_JSON };

static const char *prog = "vigil";

static void __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int parse_format(const char *s, enum fmt *f)
{
	if (!strcmp(s, "table"))
		*f = FMT_TABLE;
	else if (!strcmp(s, "json"))
		*f = FMT_JSON;
	else {
		fail("--format must be table or json, not \"%s\"", s);
		return -EINVAL;
	}
	return 0;
}

static int parse_num(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
		fail("%s must be a number in [%g, %g], not \"%s\"", opt, lo, hi, s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_count(const char *opt, const char *s, unsigned long long lo, unsigned long long hi,
		       unsigned long long *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < lo || v > hi) {
		fail("%s must be an integer in [%llu, %llu], not \"%s\"", opt, lo, hi, s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* Split a comma-separated list into a NULL-terminated vector of new strings. */
static char **split_list(const char *s, size_t *n)
{
	size_t cap = 1;

	for (const char *p = s; *p; p++)
		cap += *p == ',';
	char **v = mon_xcalloc(cap + 1, sizeof(char *));
	size_t k = 0;
	const char *p = s;
	for (;;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len)
			v[k++] = mon_xstrndup(p, len);
		if (!e)
			break;
		p = e + 1;
	}
	*n = k;
	return v;
}

static void free_list(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static int in_list(char **v, const char *s)
{
	for (; v && *v; v++)
		if (!strcmp(*v, s))
			return 1;
	return 0;
}

static struct col_csv *open_csv(const char *path)
{
	struct col_csv *c = NULL;
	char err[ERRLEN];

	if (col_csv_open(path, &c, err, sizeof(err)) < 0) {
		fail("%s", err);
		return NULL;
	}
	return c;
}

static long need_column(const struct col_csv *c, const char *name)
{
	long j = col_csv_find(c, name);

	if (j < 0)
		fail("%s: no column named \"%s\"", col_csv_path(c), name);
	return j;
}

/* Quote a cell for a message, shortened, with non-printable bytes escaped. */
static const char *show(const char *s, size_t len, char *buf, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < len && k + 5 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '"')
			buf[k++] = (char)ch;
		else
			k += (size_t)snprintf(buf + k, cap - k, "\\x%02x", ch);
		if (i == 40 && len > 44) {
			memcpy(buf + k, "...", 3);
			k += 3;
			break;
		}
	}
	buf[k] = '\0';
	return buf;
}

/* Scores: every cell a number in [0, 1]. */
static int read_scores(const struct col_csv *c, long col, double **out)
{
	size_t n = col_csv_nrows(c), bad;
	double *v;
	char buf[128];

	if (col_table_numeric(c, (size_t)col, &v, &bad) < 0) {
		size_t len;
		const char *s = col_csv_cell(c, bad, (size_t)col, &len);

		fail("%s:%zu: column \"%s\": score \"%s\" is not a number", col_csv_path(c),
		     col_csv_line(c, bad), col_csv_name(c, (size_t)col),
		     show(s, len, buf, sizeof(buf)));
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (isnan(v[i])) {
			fail("%s:%zu: column \"%s\": score is missing", col_csv_path(c),
			     col_csv_line(c, i), col_csv_name(c, (size_t)col));
			free(v);
			return -EINVAL;
		}
		if (v[i] < 0.0 || v[i] > 1.0) {
			fail("%s:%zu: column \"%s\": score %g is outside [0, 1]", col_csv_path(c),
			     col_csv_line(c, i), col_csv_name(c, (size_t)col), v[i]);
			free(v);
			return -EINVAL;
		}
	}
	*out = v;
	return 0;
}

/* How labels are read: without a positive value they must be 0/1; with one, every other
 * non-missing value must be one single negative value. Shared by the files of one run so
 * the reference and current agree on the negative. */
struct label_rule {
	const char *positive; /* NULL: numeric 0/1 */
	char *negative;       /* learnt from the first file */
};

/* Labels: 1, 0, or 255 for missing. */
static int read_labels(const struct col_csv *c, long col, struct label_rule *lr, uint8_t **out,
		       size_t *missing)
{
	size_t n = col_csv_nrows(c);
	uint8_t *y = mon_xmalloc(n ? n : 1);
	char buf[128], buf2[128];

	*missing = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len;
		const char *s = col_csv_cell(c, i, (size_t)col, &len);
		double v;

		if (col_csv_is_missing(s, len)) {
			y[i] = 255;
			(*missing)++;
			continue;
		}
		if (!lr->positive) {
			if (col_csv_parse_double(s, len, &v) < 0 || (v != 0.0 && v != 1.0)) {
				fail("%s:%zu: column \"%s\": label \"%s\" is not 0 or 1 (name the "
				     "positive label with --positive)",
				     col_csv_path(c), col_csv_line(c, i),
				     col_csv_name(c, (size_t)col), show(s, len, buf, sizeof(buf)));
				free(y);
				return -EINVAL;
			}
			y[i] = v == 1.0;
			continue;
		}
		while (len && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (strlen(lr->positive) == len && !memcmp(s, lr->positive, len)) {
			y[i] = 1;
			continue;
		}
		if (!lr->negative)
			lr->negative = mon_xstrndup(s, len);
		if (strlen(lr->negative) == len && !memcmp(s, lr->negative, len)) {
			y[i] = 0;
			continue;
		}
		fail("%s:%zu: column \"%s\": label \"%s\" is neither the positive value \"%s\" nor "
		     "the negative value \"%s\"",
		     col_csv_path(c), col_csv_line(c, i), col_csv_name(c, (size_t)col),
		     show(s, len, buf, sizeof(buf)), lr->positive,
		     show(lr->negative, strlen(lr->negative), buf2, sizeof(buf2)));
		free(y);
		return -EINVAL;
	}
	*out = y;
	return 0;
}

static void print_report(cJSON *r, enum fmt f, void (*render)(FILE *, const cJSON *))
{
	if (f == FMT_JSON) {
		char *s = cJSON_Print(r);

		fputs(s, stdout);
		fputc('\n', stdout);
		cJSON_free(s);
	} else {
		render(stdout, r);
	}
	fflush(stdout);
}

/* ---------------------------------------------------------------- drift */

static const char drift_usage[] =
	"usage: vigil drift --reference REF.csv --current CUR.csv [--columns a,b]\n"
	"                   [--categorical c,d] [--mmd] [--permutations N] [--seed S]\n"
	"                   [--mmd-max-rows N] [--alpha A] [--format table|json]\n";

struct drift_col {
	struct mon_drift_feature f;
	size_t rj, cj; /* column in the reference / current file */
	double *rn, *cn;
	uint32_t *rc, *cc;
	struct col_dict *dict;
};

/* A quick look at the first rows: 0 when a non-missing cell is not a number. */
static int looks_numeric(const struct col_csv *c, size_t col)
{
	size_t n = col_csv_nrows(c);

	for (size_t r = 0; r < n && r < 200; r++) {
		size_t len;
		const char *s = col_csv_cell(c, r, col, &len);
		double v;

		if (!col_csv_is_missing(s, len) && col_csv_parse_double(s, len, &v) < 0)
			return 0;
	}
	return 1;
}

/* Parse every still-numeric feature's column of c (the current file when cur) into
 * cols[].rn or .cn; a column holding a non-number becomes categorical. */
static int parse_numeric(const struct col_csv *c, struct drift_col *cols, size_t nfeat, int cur)
{
	size_t n = col_csv_nrows(c);
	size_t *idx = mon_xmalloc((nfeat ? nfeat : 1) * sizeof(size_t));
	size_t *feat = mon_xmalloc((nfeat ? nfeat : 1) * sizeof(size_t));
	double **out = mon_xmalloc((nfeat ? nfeat : 1) * sizeof(double *));
	int rc;

	for (;;) {
		size_t k = 0, bad_row, bad_col;

		for (size_t j = 0; j < nfeat; j++) {
			if (cols[j].f.categorical)
				continue;
			double **dst = cur ? &cols[j].cn : &cols[j].rn;
			if (!*dst)
				*dst = mon_xmalloc((n ? n : 1) * sizeof(double));
			idx[k] = cur ? cols[j].cj : cols[j].rj;
			feat[k] = j;
			out[k++] = *dst;
		}
		if (k == 0) {
			rc = 0;
			break;
		}
		rc = col_csv_columns_double(c, idx, k, out, &bad_row, &bad_col);
		if (rc != -EINVAL)
			break;
		int changed = 0;
		for (size_t i = 0; i < k; i++) {
			if (idx[i] == bad_col) {
				cols[feat[i]].f.categorical = 1;
				changed = 1;
			}
		}
		if (!changed)
			break;
	}
	if (rc < 0)
		fail("%s: could not read numeric columns: %s", col_csv_path(c), strerror(-rc));
	free(idx);
	free(feat);
	free(out);
	return rc;
}

int mon_cli_drift(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"reference", required_argument, NULL, 'r'},
		{"current", required_argument, NULL, 'c'},
		{"columns", required_argument, NULL, 'C'},
		{"categorical", required_argument, NULL, 'k'},
		{"mmd", no_argument, NULL, 'm'},
		{"permutations", required_argument, NULL, 'P'},
		{"seed", required_argument, NULL, 's'},
		{"mmd-max-rows", required_argument, NULL, 'M'},
		{"alpha", required_argument, NULL, 'a'},
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *ref_path = NULL, *cur_path = NULL;
	char **columns = NULL, **categorical = NULL;
	size_t ncolumns = 0, ncat = 0, nfeat = 0;
	struct mon_drift_opts o;
	struct col_csv *rcsv = NULL, *ccsv = NULL;
	struct drift_col *cols = NULL;
	struct mon_drift_feature *feat = NULL;
	enum fmt fmt = FMT_TABLE;
	cJSON *report = NULL;
	unsigned long long u;
	int ch, status = EXIT_USAGE;

	prog = "vigil drift";
	mon_drift_opts_init(&o);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			ref_path = optarg;
			break;
		case 'c':
			cur_path = optarg;
			break;
		case 'C':
			free_list(columns);
			columns = split_list(optarg, &ncolumns);
			break;
		case 'k':
			free_list(categorical);
			categorical = split_list(optarg, &ncat);
			break;
		case 'm':
			o.mmd = 1;
			break;
		case 'P':
			if (parse_count("--permutations", optarg, 1, 100000, &u) < 0)
				goto out;
			o.permutations = (size_t)u;
			break;
		case 's':
			if (parse_count("--seed", optarg, 0, UINT64_MAX, &u) < 0)
				goto out;
			o.seed = u;
			break;
		case 'M':
			if (parse_count("--mmd-max-rows", optarg, 2, 100000, &u) < 0)
				goto out;
			o.mmd_max_rows = (size_t)u;
			break;
		case 'a':
			if (parse_num("--alpha", optarg, 1e-12, 1, &o.alpha) < 0)
				goto out;
			break;
		case 'f':
			if (parse_format(optarg, &fmt) < 0)
				goto out;
			break;
		case 'h':
			fputs(drift_usage, stdout);
			status = 0;
			goto out;
		default:
			fputs(drift_usage, stderr);
			goto out;
		}
	}
	if (optind < argc) {
		fail("unexpected argument \"%s\"", argv[optind]);
		goto out;
	}
	if (!ref_path || !cur_path) {
		fail("--reference and --current are required");
		fputs(drift_usage, stderr);
		goto out;
	}
	if (!(rcsv = open_csv(ref_path)) || !(ccsv = open_csv(cur_path)))
		goto out;

	/* the features: --columns, or every column of the reference also in the current */
	size_t cap = columns ? ncolumns : col_csv_ncols(rcsv);
	cols = mon_xcalloc(cap ? cap : 1, sizeof(*cols));
	for (size_t j = 0; j < cap; j++) {
		const char *name = columns ? columns[j] : col_csv_name(rcsv, j);
		long rj, cj;

		if (columns) {
			if ((rj = need_column(rcsv, name)) < 0 ||
			    (cj = need_column(ccsv, name)) < 0)
				goto out;
		} else {
			rj = (long)j;
			if ((cj = col_csv_find(ccsv, name)) < 0)
				continue;
		}
		struct drift_col *d = &cols[nfeat++];
		d->f.name = name;
		d->rj = (size_t)rj;
		d->cj = (size_t)cj;
		d->f.categorical = in_list(categorical, name) || !looks_numeric(rcsv, d->rj) ||
				   !looks_numeric(ccsv, d->cj);
	}
	/* numeric columns of both files in one pass each; a column with a non-number further
	 * down turns categorical and the pass is repeated without it */
	if (parse_numeric(rcsv, cols, nfeat, 0) < 0 || parse_numeric(ccsv, cols, nfeat, 1) < 0)
		goto out;
	for (size_t j = 0; j < nfeat; j++) {
		struct drift_col *d = &cols[j];

		if (d->f.categorical) {
			free(d->rn);
			free(d->cn);
			d->rn = d->cn = NULL;
			d->dict = col_dict_new();
			if (col_table_categorical(rcsv, d->rj, d->dict, &d->rc) < 0 ||
			    col_table_categorical(ccsv, d->cj, d->dict, &d->cc) < 0)
				goto out;
		}
		d->f.ref_num = d->rn;
		d->f.cur_num = d->cn;
		d->f.ref_cat = d->rc;
		d->f.cur_cat = d->cc;
		d->f.dict = d->dict;
	}
	for (size_t i = 0; i < ncat; i++) {
		if (col_csv_find(rcsv, categorical[i]) < 0 ||
		    col_csv_find(ccsv, categorical[i]) < 0) {
			fail("--categorical names \"%s\", which is not a column of both files",
			     categorical[i]);
			goto out;
		}
	}
	if (nfeat == 0) {
		fail("%s and %s have no column in common", ref_path, cur_path);
		goto out;
	}
	feat = mon_xcalloc(nfeat, sizeof(*feat));
	for (size_t j = 0; j < nfeat; j++)
		feat[j] = cols[j].f;
	int rc = mon_drift_report(feat, nfeat, col_csv_nrows(rcsv), col_csv_nrows(ccsv), &o,
				  &report);
	if (rc < 0) {
		fail("could not compute the drift report: %s", strerror(-rc));
		status = 1;
		goto out;
	}
	print_report(report, fmt, mon_render_drift);
	status = 0;
out:
	cJSON_Delete(report);
	for (size_t j = 0; cols && j < nfeat; j++) {
		free(cols[j].rn);
		free(cols[j].cn);
		free(cols[j].rc);
		free(cols[j].cc);
		col_dict_free(cols[j].dict);
	}
	free(cols);
	free(feat);
	col_csv_close(rcsv);
	col_csv_close(ccsv);
	free_list(columns);
	free_list(categorical);
	return status;
}

/* ------------------------------------------------------- perf, estimate */

/* Options shared by perf and estimate. */
struct perf_args {
	const char *input, *reference, *current;
	const char *score, *label, *positive;
	char **by;
	size_t nby;
	struct mon_perf_opts o;
	enum fmt fmt;
};

/* A scored (optionally labelled) file with its segment attributes, rows with a missing
 * label dropped when labels are required. */
struct scored {
	struct col_csv *csv;
	size_t n;
	double *score;
	uint8_t *label; /* NULL when unlabelled */
	size_t unlabeled;
	uint32_t **codes; /* nby */
	struct mon_perf_attr *attrs;
};

static void scored_free(struct scored *s, size_t nby)
{
	free(s->score);
	free(s->label);
	for (size_t i = 0; s->codes && i < nby; i++)
		free(s->codes[i]);
	free(s->codes);
	free(s->attrs);
	col_csv_close(s->csv);
}

/* Load path: scores, labels (need_label: 1 required, 0 optional, -1 ignored) and the --by
 * attributes coded with dicts[i]. */
static int load_scored(const char *path, const struct perf_args *a, struct label_rule *lr,
		       int need_label, struct col_dict **dicts, struct scored *s)
{
	long sc, lc = -1;

	memset(s, 0, sizeof(*s));
	if (!(s->csv = open_csv(path)))
		return -EINVAL;
	if ((sc = need_column(s->csv, a->score)) < 0)
		return -EINVAL;
	if (need_label > 0 && (lc = need_column(s->csv, a->label)) < 0)
		return -EINVAL;
	if (need_label == 0)
		lc = col_csv_find(s->csv, a->label);
	if (read_scores(s->csv, sc, &s->score) < 0)
		return -EINVAL;
	if (lc >= 0 && read_labels(s->csv, lc, lr, &s->label, &s->unlabeled) < 0)
		return -EINVAL;
	s->codes = mon_xcalloc(a->nby ? a->nby : 1, sizeof(uint32_t *));
	s->attrs = mon_xcalloc(a->nby ? a->nby : 1, sizeof(struct mon_perf_attr));
	for (size_t i = 0; i < a->nby; i++) {
		long bc = need_column(s->csv, a->by[i]);

		if (bc < 0 || col_table_categorical(s->csv, (size_t)bc, dicts[i], &s->codes[i]) < 0)
			return -EINVAL;
	}
	size_t n = col_csv_nrows(s->csv), k = 0;
	if (need_label <= 0 && s->label && s->unlabeled) {
		/* an optional label column that is not complete: estimate without it */
		free(s->label);
		s->label = NULL;
	}
	/* drop rows without a label, keeping the arrays aligned */
	for (size_t r = 0; r < n; r++) {
		if (s->label && s->label[r] == 255)
			continue;
		s->score[k] = s->score[r];
		if (s->label)
			s->label[k] = s->label[r];
		for (size_t i = 0; i < a->nby; i++)
			s->codes[i][k] = s->codes[i][r];
		k++;
	}
	s->n = k;
	for (size_t i = 0; i < a->nby; i++) {
		s->attrs[i].name = a->by[i];
		s->attrs[i].codes = s->codes[i];
		s->attrs[i].dict = dicts[i];
	}
	return 0;
}

static const char perf_usage[] =
	"usage: vigil perf --input FILE.csv --score COL --label COL [--positive VALUE]\n"
	"                  [--threshold T] [--by a,b] [--intersections] [--min-n N]\n"
	"                  [--format table|json]\n";
static const char estimate_usage[] =
	"usage: vigil estimate --reference REF.csv --current CUR.csv --score COL --label COL\n"
	"                      [--positive VALUE] [--threshold T] [--by a,b] [--intersections]\n"
	"                      [--min-n N] [--draws B] [--seed S] [--format table|json]\n";

/* Parse perf/estimate options. Returns 0, 1 after --help, or -EINVAL. */
static int parse_perf_args(int argc, char **argv, int estimate, struct perf_args *a)
{
	static const struct option lopts[] = {
		{"input", required_argument, NULL, 'i'},
		{"reference", required_argument, NULL, 'r'},
		{"current", required_argument, NULL, 'c'},
		{"score", required_argument, NULL, 's'},
		{"label", required_argument, NULL, 'l'},
		{"positive", required_argument, NULL, 'p'},
		{"threshold", required_argument, NULL, 't'},
		{"by", required_argument, NULL, 'b'},
		{"intersections", no_argument, NULL, 'x'},
		{"min-n", required_argument, NULL, 'n'},
		{"draws", required_argument, NULL, 'D'},
		{"seed", required_argument, NULL, 'S'},
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *usage = estimate ? estimate_usage : perf_usage;
	unsigned long long u;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			a->input = optarg;
			break;
		case 'r':
			a->reference = optarg;
			break;
		case 'c':
			a->current = optarg;
			break;
		case 's':
			a->score = optarg;
			break;
		case 'l':
			a->label = optarg;
			break;
		case 'p':
			a->positive = optarg;
			break;
		case 't':
			if (parse_num("--threshold", optarg, 0, 1, &a->o.threshold) < 0)
				return -EINVAL;
			break;
		case 'b':
			free_list(a->by);
			a->by = split_list(optarg, &a->nby);
			break;
		case 'x':
			a->o.intersections = 1;
			break;
		case 'n':
			if (parse_count("--min-n", optarg, 1, 1000000000, &u) < 0)
				return -EINVAL;
			a->o.min_n = (size_t)u;
			break;
		case 'D':
			if (parse_count("--draws", optarg, 10, 100000, &u) < 0)
				return -EINVAL;
			a->o.draws = (size_t)u;
			break;
		case 'S':
			if (parse_count("--seed", optarg, 0, UINT64_MAX, &u) < 0)
				return -EINVAL;
			a->o.seed = u;
			break;
		case 'f':
			if (parse_format(optarg, &a->fmt) < 0)
				return -EINVAL;
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			fputs(usage, stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fail("unexpected argument \"%s\"", argv[optind]);
		return -EINVAL;
	}
	if (estimate ? (!a->reference || !a->current) : !a->input) {
		fail(estimate ? "--reference and --current are required" : "--input is required");
		fputs(usage, stderr);
		return -EINVAL;
	}
	if (!a->score || !a->label) {
		fail("--score and --label are required");
		fputs(usage, stderr);
		return -EINVAL;
	}
	for (size_t i = 0; i < a->nby; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(a->by[i], a->by[j])) {
				fail("--by names \"%s\" twice", a->by[i]);
				return -EINVAL;
			}
	return 0;
}

static struct col_dict **new_dicts(size_t n)
{
	struct col_dict **d = mon_xcalloc(n ? n : 1, sizeof(*d));

	for (size_t i = 0; i < n; i++)
		d[i] = col_dict_new();
	return d;
}

static void free_dicts(struct col_dict **d, size_t n)
{
	for (size_t i = 0; d && i < n; i++)
		col_dict_free(d[i]);
	free(d);
}

int mon_cli_perf(int argc, char **argv)
{
	struct perf_args a;
	struct label_rule lr = {NULL, NULL};
	struct scored s;
	struct col_dict **dicts = NULL;
	cJSON *report = NULL;
	int rc, status = EXIT_USAGE;

	prog = "vigil perf";
	memset(&a, 0, sizeof(a));
	memset(&s, 0, sizeof(s));
	mon_perf_opts_init(&a.o);
	if ((rc = parse_perf_args(argc, argv, 0, &a)) != 0) {
		status = rc > 0 ? 0 : EXIT_USAGE;
		goto out;
	}
	lr.positive = a.positive;
	dicts = new_dicts(a.nby);
	if (load_scored(a.input, &a, &lr, 1, dicts, &s) < 0)
		goto out;
	if (s.n == 0) {
		fail("%s: no row has a label", a.input);
		goto out;
	}
	if ((rc = mon_perf_report(s.score, s.label, s.n, s.attrs, a.nby, &a.o, &report)) < 0) {
		fail("could not compute the performance report: %s", strerror(-rc));
		status = 1;
		goto out;
	}
	cJSON_AddNumberToObject(report, "rows", (double)col_csv_nrows(s.csv));
	cJSON_AddNumberToObject(report, "unlabeled_rows", (double)s.unlabeled);
	print_report(report, a.fmt, mon_render_perf);
	status = 0;
out:
	cJSON_Delete(report);
	scored_free(&s, a.nby);
	free_dicts(dicts, a.nby);
	free_list(a.by);
	free(lr.negative);
	return status;
}

int mon_cli_estimate(int argc, char **argv)
{
	struct perf_args a;
	struct label_rule lr = {NULL, NULL};
	struct scored ref, cur;
	struct col_dict **dicts = NULL;
	struct stats_isotonic *cal = NULL;
	double *y = NULL;
	cJSON *report = NULL;
	int rc, status = EXIT_USAGE;

	prog = "vigil estimate";
	memset(&a, 0, sizeof(a));
	memset(&ref, 0, sizeof(ref));
	memset(&cur, 0, sizeof(cur));
	mon_perf_opts_init(&a.o);
	if ((rc = parse_perf_args(argc, argv, 1, &a)) != 0) {
		status = rc > 0 ? 0 : EXIT_USAGE;
		goto out;
	}
	lr.positive = a.positive;
	dicts = new_dicts(a.nby);
	/* the reference needs no --by attributes: calibration is fitted on all of it */
	struct perf_args ra = a;
	ra.nby = 0;
	if (load_scored(a.reference, &ra, &lr, 1, dicts, &ref) < 0 ||
	    load_scored(a.current, &a, &lr, 0, dicts, &cur) < 0)
		goto out;
	if (ref.n == 0) {
		fail("%s: no row has a label", a.reference);
		goto out;
	}
	if (cur.n == 0) {
		fail("%s: no rows", a.current);
		goto out;
	}
	y = mon_xmalloc(ref.n * sizeof(double));
	for (size_t i = 0; i < ref.n; i++)
		y[i] = ref.label[i];
	if ((rc = stats_isotonic_fit(ref.score, y, ref.n, &cal)) < 0) {
		fail("%s: could not fit the calibration: %s", a.reference, strerror(-rc));
		status = 1;
		goto out;
	}
	rc = mon_estimate_report(cal, cur.score, cur.label, cur.n, cur.attrs, a.nby, &a.o, &report);
	if (rc < 0) {
		fail("could not compute the estimate: %s", strerror(-rc));
		status = 1;
		goto out;
	}
	cJSON_AddNumberToObject(report, "reference_rows", (double)ref.n);
	cJSON_AddNumberToObject(report, "current_rows", (double)cur.n);
	print_report(report, a.fmt, mon_render_perf);
	status = 0;
out:
	cJSON_Delete(report);
	stats_isotonic_free(cal);
	free(y);
	scored_free(&ref, 0);
	scored_free(&cur, a.nby);
	free_dicts(dicts, a.nby);
	free_list(a.by);
	free(lr.negative);
	return status;
}
