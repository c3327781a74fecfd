/* SPDX-License-Identifier: MIT
 * bench/bench_stats.c - time the stats/ functions on bench/gen_data.py's files
 *
 * usage: bench_stats DATADIR CASE [REPS]        CASE: ks | psi | mmd | auroc
 *        bench_stats exec REPS OUTFILE CMD [ARG...]
 *
 * A case loads its inputs (outside the timed region), runs the computation REPS times
 * (default 5) and prints "key value" lines: "seconds" is the best (min) wall time, read
 * with clock_gettime(CLOCK_MONOTONIC), followed by the results that bench/run.sh compares
 * with the reference implementation's. "exec" runs a whole command REPS times with its
 * standard output in OUTFILE (standard error in OUTFILE.err) and prints the best wall time,
 * the largest peak RSS (wait4's ru_maxrss, KiB) and the exit status. Errors go to stderr and
 * the exit status is 1.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stats/auroc.h"
#include "stats/ks.h"
#include "stats/mmd.h"
#include "stats/psi.h"

#define MMD_D 16
#define MMD_PERMUTATIONS 100
#define MMD_SEED 20240611
#define AUROC_GROUPS 8
#define AUROC_CONF 0.95

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Read DIR/NAME whole; *count = size / elem, which must divide the size exactly. */
static void *load(const char *dir, const char *name, size_t elem, size_t *count)
{
	char path[4096];
	struct stat st;
	void *buf;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f || fstat(fileno(f), &st) || st.st_size <= 0 || (size_t)st.st_size % elem) {
		fprintf(stderr, "bench_stats: %s: %s\n", path,
			f ? "empty, unreadable or of a wrong size" : strerror(errno));
		if (f)
			fclose(f);
		return NULL;
	}
	buf = malloc((size_t)st.st_size);
	if (!buf || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		fprintf(stderr, "bench_stats: %s: read failed\n", path);
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*count = (size_t)st.st_size / elem;
	return buf;
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "bench_stats: %s: %s\n", what, strerror(-rc));
	return 1;
}

static void put_time(double best, int reps)
{
	printf("seconds %.6f\nreps %d\n", best, reps);
}

static int case_ks(const char *dir, int reps)
{
	size_t n, m;
	double *x = load(dir, "uni_x.f64", sizeof(double), &n);
	double *y = load(dir, "uni_y.f64", sizeof(double), &m);
	struct stats_ks r = {0};
	double best = 1e300;
	int rc = 0;

	if (!x || !y) {
		rc = 1;
		goto out;
	}
	for (int i = 0; i < reps; i++) {
		double t = now();
		int e = stats_ks_2samp(x, n, y, m, &r);

		t = now() - t;
		if (e) {
			rc = fail("stats_ks_2samp", e);
			goto out;
		}
		if (t < best)
			best = t;
	}
	put_time(best, reps);
	printf("n %zu\nm %zu\nks_statistic %.17g\nks_pvalue %.17g\nks_exact %d\n", n, m,
	       r.statistic, r.p_value, r.exact);
out:
	free(x);
	free(y);
	return rc;
}

static int case_psi(const char *dir, int reps)
{
	size_t n, m, cr[STATS_PSI_BINS], cc[STATS_PSI_BINS];
	double *x = load(dir, "psi_ref.f64", sizeof(double), &n);
	double *y = load(dir, "psi_cur.f64", sizeof(double), &m);
	double edges[STATS_PSI_BINS - 1], psi = 0, best = 1e300;
	int rc = 0;

	if (!x || !y) {
		rc = 1;
		goto out;
	}
	for (int i = 0; i < reps; i++) {
		double t = now();
		int e;

		e = stats_decile_edges(x, n, edges);
		if (e) {
			rc = fail("stats_decile_edges", e);
			goto out;
		}
		e = stats_bin_counts(x, n, edges, STATS_PSI_BINS - 1, cr);
		if (!e)
			e = stats_bin_counts(y, m, edges, STATS_PSI_BINS - 1, cc);
		if (e) {
			rc = fail("stats_bin_counts", e);
			goto out;
		}
		e = stats_psi_counts(cr, cc, STATS_PSI_BINS, STATS_PSI_FLOOR, &psi);
		if (e) {
			rc = fail("stats_psi_counts", e);
			goto out;
		}
		t = now() - t;
		if (t < best)
			best = t;
	}
	put_time(best, reps);
	printf("psi %.17g\n", psi);
	for (int k = 0; k < STATS_PSI_BINS - 1; k++)
		printf("edge_%d %.17g\n", k, edges[k]);
	for (int k = 0; k < STATS_PSI_BINS; k++)
		printf("count_ref_%d %zu\ncount_cur_%d %zu\n", k, cr[k], k, cc[k]);
out:
	free(x);
	free(y);
	return rc;
}

static int case_mmd(const char *dir, int reps)
{
	size_t nx, ny;
	double *x = load(dir, "mmd_x.f64", sizeof(double) * MMD_D, &nx);
	double *y = load(dir, "mmd_y.f64", sizeof(double) * MMD_D, &ny);
	struct stats_mmd_opts opts = {
		.permutations = MMD_PERMUTATIONS,
		.seed = MMD_SEED,
		.max_rows = STATS_MMD_DEFAULT_MAX_ROWS,
	};
	struct stats_mmd r = {0};
	int used[MMD_D];
	double best = 1e300;
	int rc = 0;

	if (!x || !y) {
		rc = 1;
		goto out;
	}
	if (opts.max_rows < nx || opts.max_rows < ny)
		opts.max_rows = nx > ny ? nx : ny; /* never subsample here */
	for (int i = 0; i < reps; i++) {
		double t = now();
		int e = stats_mmd(x, nx, y, ny, MMD_D, &opts, used, &r);

		t = now() - t;
		if (e) {
			rc = fail("stats_mmd", e);
			goto out;
		}
		if (t < best)
			best = t;
	}
	put_time(best, reps);
	printf("n %zu\nm %zu\nd %d\nmmd2 %.17g\nsigma %.17g\np_value %.17g\npermutations %zu\n"
	       "subsampled %d\n",
	       r.n_reference, r.n_current, MMD_D, r.mmd2, r.sigma, r.p_value, r.permutations,
	       r.subsampled);
out:
	free(x);
	free(y);
	return rc;
}

static int case_auroc(const char *dir, int reps)
{
	size_t n, nl, ng;
	double *score = load(dir, "auc_score.f64", sizeof(double), &n);
	uint8_t *label = load(dir, "auc_label.u8", 1, &nl);
	uint32_t *group = load(dir, "auc_group.u32", sizeof(uint32_t), &ng);
	struct stats_auroc r[AUROC_GROUPS];
	int status[AUROC_GROUPS];
	double best = 1e300;
	int rc = 0;

	if (!score || !label || !group || nl != n || ng != n) {
		if (score && label && group)
			fprintf(stderr, "bench_stats: auc_* files differ in length\n");
		rc = 1;
		goto out;
	}
	for (int i = 0; i < reps; i++) {
		double t = now();
		int e = stats_auroc_delong_groups(score, label, group, n, AUROC_GROUPS, AUROC_CONF,
						  r, status);

		t = now() - t;
		if (e) {
			rc = fail("stats_auroc_delong_groups", e);
			goto out;
		}
		if (t < best)
			best = t;
	}
	put_time(best, reps);
	printf("n %zu\ngroups %d\n", n, AUROC_GROUPS);
	for (int g = 0; g < AUROC_GROUPS; g++) {
		if (status[g]) {
			fprintf(stderr, "bench_stats: group %d: %s\n", g, strerror(-status[g]));
			rc = 1;
		}
		printf("auc_%d %.17g\nlow_%d %.17g\nhigh_%d %.17g\nn_pos_%d %zu\n", g, r[g].auc, g,
		       r[g].low, g, r[g].high, g, r[g].n_pos);
	}
out:
	free(score);
	free(label);
	free(group);
	return rc;
}

/* Run argv REPS times; stdout to out, stderr to out.err. */
static int case_exec(int reps, const char *out, char **argv)
{
	char errpath[4096];
	double best = 1e300;
	long maxrss = 0;
	int code = 0;

	snprintf(errpath, sizeof(errpath), "%s.err", out);
	for (int i = 0; i < reps && !code; i++) {
		struct rusage ru;
		double t = now();
		int st;
		pid_t pid = fork();

		if (pid < 0)
			return fail("fork", -errno);
		if (pid == 0) {
			int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			int fe = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);

			if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
				_exit(126);
			execvp(argv[0], argv);
			dprintf(2, "bench_stats: %s: %s\n", argv[0], strerror(errno));
			_exit(127);
		}
		if (wait4(pid, &st, 0, &ru) < 0)
			return fail("wait4", -errno);
		t = now() - t;
		if (t < best)
			best = t;
		if (ru.ru_maxrss > maxrss)
			maxrss = ru.ru_maxrss;
		code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	put_time(best, reps);
	printf("maxrss_kb %ld\nstatus %d\n", maxrss, code);
	return code ? 1 : 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_stats DATADIR ks|psi|mmd|auroc [REPS]\n"
			"       bench_stats exec REPS OUTFILE CMD [ARG...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	int reps = 5;

	if (argc >= 5 && !strcmp(argv[1], "exec")) {
		reps = atoi(argv[2]);
		return reps < 1 ? usage() : case_exec(reps, argv[3], argv + 4);
	}
	if (argc < 3 || argc > 4)
		return usage();
	if (argc == 4 && (reps = atoi(argv[3])) < 1)
		return usage();
	if (!strcmp(argv[2], "ks"))
		return case_ks(argv[1], reps);
	if (!strcmp(argv[2], "psi"))
		return case_psi(argv[1], reps);
	if (!strcmp(argv[2], "mmd"))
		return case_mmd(argv[1], reps);
	if (!strcmp(argv[2], "auroc"))
		return case_auroc(argv[1], reps);
	return usage();
}
