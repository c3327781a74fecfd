/* SPDX-License-Identifier: MIT
 * monitor/migrate.c - applying sql/NNNN_name.sql migrations in order, each once
 *
 * The files are trusted (they ship with vigil); they are still read with a size cap and
 * run with PQexec only because a migration is a script of several statements. Nothing here
 * builds SQL from anything else: versions and hashes go through PQexecParams.
 */
#include "config.h"

#include "monitor/migrate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monitor/log.h"
#include "monitor/server.h"

#define LOG_PREFIX "migrate: "
#define MAX_FILE (16 * 1024 * 1024)
#define MAX_MIGRATIONS 4096

#ifndef VIGIL_PKGDATADIR
#define VIGIL_PKGDATADIR "/usr/local/share/vigil"
#endif

static int is_dir(const char *p)
{
	struct stat st;

	return !stat(p, &st) && S_ISDIR(st.st_mode);
}

const char *mon_migrate_dir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("VIGIL_SQLDIR");

	if (env && *env)
		return env;
#if defined(VIGIL_SRCDIR) && defined(VIGIL_BINDIR)
	{
		char exe[PATH_MAX], bindir[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		int installed = 0;

		if (n > 0) {
			char *slash;

			exe[n] = '\0';
			slash = strrchr(exe, '/');
			if (slash)
				*slash = '\0';
			installed = realpath(VIGIL_BINDIR, bindir) && !strcmp(exe, bindir);
		}
		if (!installed && is_dir(VIGIL_SRCDIR "/sql"))
			return VIGIL_SRCDIR "/sql";
	}
#endif
	snprintf(dir, sizeof(dir), "%s/sql", VIGIL_PKGDATADIR);
	return dir;
}

static int valid_name(const char *n)
{
	size_t len = strlen(n);

	if (len < 10 || len - 4 > MON_MIGRATION_NAME_MAX || strcmp(n + len - 4, ".sql"))
		return 0;
	for (int i = 0; i < 4; i++)
		if (!isdigit((unsigned char)n[i]))
			return 0;
	if (n[4] != '_')
		return 0;
	for (size_t i = 5; i < len - 4; i++)
		if (!isalnum((unsigned char)n[i]) && n[i] != '_')
			return 0;
	return 1;
}

static int filter(const struct dirent *d)
{
	return valid_name(d->d_name);
}

/* The migration file names in dir, sorted. Returns the count (>= 0) or -ENOENT. */
static int list_files(const char *dir, struct dirent ***out)
{
	int n = scandir(dir, out, filter, alphasort);

	if (n < 0) {
		log_err(LOG_PREFIX "could not read migrations directory \"%s\": %s", dir,
			strerror(errno));
		return -ENOENT;
	}
	return n;
}

static void free_list(struct dirent **l, int n)
{
	for (int i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

int mon_migrate_latest_shipped(const char *dir, char *out, size_t len)
{
	struct dirent **l = NULL;
	int n = list_files(dir, &l);

	if (n <= 0) {
		if (n == 0)
			free(l);
		return -ENOENT;
	}
	snprintf(out, len, "%.*s", (int)(strlen(l[n - 1]->d_name) - 4), l[n - 1]->d_name);
	free_list(l, n);
	return 0;
}

static int read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long sz;
	int ret = 0;

	*out = NULL;
	if (!f) {
		log_err(LOG_PREFIX "could not open \"%s\": %s", path, strerror(errno));
		return -EIO;
	}
	if (fseek(f, 0, SEEK_END) || (sz = ftell(f)) < 0 || sz > MAX_FILE ||
	    fseek(f, 0, SEEK_SET)) {
		log_err(LOG_PREFIX "could not read \"%s\": unreadable or larger than 16 MiB", path);
		ret = -EIO;
		goto out;
	}
	buf = mon_xmalloc((size_t)sz + 1);
	if (fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
		log_err(LOG_PREFIX "could not read \"%s\": %s", path, strerror(errno));
		ret = -EIO;
		goto out;
	}
	buf[sz] = '\0';
	if (strlen(buf) != (size_t)sz) {
		log_err(LOG_PREFIX "could not use \"%s\": it contains a NUL byte", path);
		ret = -EIO;
		goto out;
	}
	*out = buf;
	*len = (size_t)sz;
	buf = NULL;
out:
	free(buf);
	fclose(f);
	return ret;
}

static int stmt_error(PGconn *c, PGresult *r, const char *what, const char *file)
{
	if (mon_db_unavailable(c, r)) {
		log_err(LOG_PREFIX "%s%s%s: database unavailable: %s", what, file ? " " : "",
			file ? file : "", PQerrorMessage(c));
		return -EAGAIN;
	}
	log_err(LOG_PREFIX "%s%s%s: %s", what, file ? " " : "", file ? file : "",
		PQresultErrorMessage(r));
	return -EIO;
}

static int exec_ok(PGconn *c, const char *sql, const char *what)
{
	PGresult *r = PQexec(c, sql);
	int ret = 0;

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		ret = stmt_error(c, r, what, NULL);
	PQclear(r);
	return ret;
}

static void sha256_hex(const char *data, size_t len, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char d[32];

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, d) < 0)
		memset(d, 0, sizeof(d));
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[64] = '\0';
}

/* Apply one file unless recorded. *done = 1 when it was applied now. */
static int apply_one(PGconn *c, const char *dir, const char *file, int *done)
{
	char path[PATH_MAX], version[MON_MIGRATION_NAME_MAX + 1], hex[65];
	const char *params[2] = {version, hex};
	char *sql = NULL;
	size_t len = 0;
	PGresult *r = NULL;
	int ret;

	*done = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	snprintf(version, sizeof(version), "%.*s", (int)(strlen(file) - 4), file);
	ret = read_file(path, &sql, &len);
	if (ret)
		return ret;
	sha256_hex(sql, len, hex);
	ret = exec_ok(c, "BEGIN", "could not begin transaction");
	if (ret)
		goto out;
	r = PQexecParams(c,
			 "SELECT encode(sha256, 'hex') FROM schema_migrations WHERE version = $1",
			 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = stmt_error(c, r, "could not read schema_migrations", NULL);
		goto out;
	}
	if (PQntuples(r) == 1) {
		if (strcmp(PQgetvalue(r, 0, 0), hex))
			log_warn(LOG_PREFIX "migration %s was changed after it was applied; the "
					    "applied version stays",
				 version);
		ret = exec_ok(c, "COMMIT", "could not end transaction");
		goto out;
	}
	PQclear(r);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = stmt_error(c, r, "could not apply migration", path);
		goto out;
	}
	if (PQtransactionStatus(c) != PQTRANS_INTRANS) {
		log_err(LOG_PREFIX "could not apply migration %s: it must not end the transaction "
				   "itself (no BEGIN/COMMIT in migrations)",
			path);
		ret = -EIO;
		goto out;
	}
	PQclear(r);
	r = PQexecParams(c,
			 "INSERT INTO schema_migrations (version, sha256) "
			 "VALUES ($1, decode($2, 'hex'))",
			 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		ret = stmt_error(c, r, "could not record migration", version);
		goto out;
	}
	ret = exec_ok(c, "COMMIT", "could not commit migration");
	if (!ret) {
		*done = 1;
		log_info(LOG_PREFIX "applied %s", version);
	}
out:
	PQclear(r);
	if (ret && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
	free(sql);
	return ret;
}

int mon_migrate_run(PGconn *c, const char *dir, int *applied)
{
	struct dirent **l = NULL;
	int n, ret, count = 0;

	if (applied)
		*applied = 0;
	n = list_files(dir, &l);
	if (n <= 0) {
		if (n == 0) {
			free(l);
			log_err(LOG_PREFIX "no migrations found in \"%s\"", dir);
		}
		return -ENOENT;
	}
	ret = exec_ok(c,
		      "SELECT pg_advisory_lock(" MON_LOCK_CLASS_SQL ", " MON_LOCK_MIGRATE_SQL ")",
		      "could not take the migration lock");
	if (ret)
		goto out;
	ret = exec_ok(c,
		      "CREATE TABLE IF NOT EXISTS schema_migrations ("
		      "version text PRIMARY KEY, "
		      "applied_at timestamptz NOT NULL DEFAULT now(), "
		      "sha256 bytea NOT NULL)",
		      "could not create schema_migrations");
	for (int i = 0; !ret && i < n; i++) {
		int done;

		ret = apply_one(c, dir, l[i]->d_name, &done);
		count += done;
	}
	if (PQstatus(c) == CONNECTION_OK)
		PQclear(PQexec(c, "SELECT pg_advisory_unlock(" MON_LOCK_CLASS_SQL
				  ", " MON_LOCK_MIGRATE_SQL ")"));
out:
	free_list(l, n);
	if (applied)
		*applied = count;
	return ret;
}

int mon_migrate_current(PGconn *c, char *out, size_t len)
{
	PGresult *r;
	int ret = 0;

	out[0] = '\0';
	r = PQexec(c, "SELECT version FROM schema_migrations ORDER BY version DESC LIMIT 1");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);

		if (state && !strcmp(state, "42P01")) /* undefined_table: nothing applied yet */
			ret = 0;
		else
			ret = mon_db_unavailable(c, r) ? -EAGAIN : -EIO;
	} else if (PQntuples(r) == 1) {
		snprintf(out, len, "%s", PQgetvalue(r, 0, 0));
	}
	PQclear(r);
	return ret;
}

static const char migrate_usage[] =
	"usage: vigil migrate [--database URL] [--config FILE]\n"
	"\n"
	"Apply the schema migrations not yet applied, in order, each in one transaction, under\n"
	"an advisory lock. The database URL may also come from VIGIL_DATABASE_URL or the config\n"
	"file. Migrations are read from $VIGIL_SQLDIR, or the installed sql/ directory.\n";

int mon_migrate_main(int argc, char **argv)
{
	static const struct option lopts[] = {{"database", required_argument, NULL, 'd'},
					      {"config", required_argument, NULL, 'c'},
					      {"help", no_argument, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	const char *database = NULL, *config = NULL, *dir = mon_migrate_dir();
	char current[MON_MIGRATION_NAME_MAX + 1];
	struct mon_db *db = NULL;
	PGconn *c = NULL;
	int opt, ret, applied = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			database = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'h':
			fputs(migrate_usage, stdout);
			return 0;
		default:
			fputs(migrate_usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vigil migrate: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (mon_server_cli_open(database, config, &db, &c))
		return 1;
	ret = mon_migrate_run(c, dir, &applied);
	if (!ret)
		ret = mon_migrate_current(c, current, sizeof(current));
	mon_server_cli_close(db, c);
	if (ret) {
		fprintf(stderr, "vigil migrate: migrations from \"%s\" failed (see above)\n", dir);
		return 1;
	}
	if (applied)
		printf("applied %d migration%s; schema at %s\n", applied, applied == 1 ? "" : "s",
		       current);
	else
		printf("schema up to date at %s\n", current);
	return 0;
}
