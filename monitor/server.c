/* SPDX-License-Identifier: MIT
 * monitor/server.c - vigil serve: start-up, the signal loop, maintenance, clean shutdown
 *
 * Threads: libmicrohttpd's pool (requests), one thread per maintenance task
 * (mon_server_tasks[]: the evaluation scheduler, the notifier, ...), and the main thread,
 * which does nothing but wait for signals. Signals are blocked in every
 * thread before any is created and taken synchronously with sigtimedwait in the main one,
 * so no handler runs in async-signal context and no other thread is ever interrupted.
 *
 * Shutdown (SIGTERM, SIGINT): mark stopping (responses then carry Connection: close), close
 * the listening socket (MHD_quiesce_daemon), wait for in-flight requests up to
 * shutdown_timeout_s, stop MHD, stop maintenance (each task finishes the unit of work in
 * progress: the window being evaluated, the request being sent is aborted), close the pool,
 * exit 0.
 * A second SIGTERM/SIGINT during the wait gives up waiting.
 *
 * Reload (SIGHUP): rebuild the configuration from the same flags, environment and file;
 * reloadable keys take effect, others keep their running value (logged). The replaced
 * configuration is kept until exit because requests may still be reading it.
 */
#include "config.h"

#include "monitor/server.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "monitor/log.h"
#include "monitor/migrate.h"

#define LOG_PREFIX "server: "
#define MAX_SETS 64
#define TASK_RETRY_S 10
#define STARTUP_RETRY_US 500000

const struct mon_cfg *mon_server_cfg(const struct mon_server *srv)
{
	return atomic_load(&((struct mon_server *)srv)->cfg);
}

/* --- handler helpers -------------------------------------------------------------------- */

int mon_server_db_get(struct mon_http_req *req, struct mon_http_resp *resp, PGconn **c)
{
	const struct mon_cfg *cfg = mon_server_cfg(req->srv);
	int ret = mon_db_acquire(req->srv->db, (int)cfg->db_acquire_timeout_ms, c);

	if (ret) {
		mon_http_problem(resp, 503, "unavailable", NULL,
				 ret == -ETIMEDOUT
					 ? "every database connection is busy; retry later"
					 : "the database is unavailable; retry later");
		resp->retry_after = (int)cfg->retry_after_s;
	}
	return ret;
}

void mon_server_db_put(struct mon_http_req *req, PGconn *c, int failed)
{
	mon_db_release(req->srv->db, c, failed);
}

int mon_server_db_fail(struct mon_http_req *req, struct mon_http_resp *resp, PGconn *c,
		       const PGresult *res, const char *what)
{
	char msg[512];
	char *nl;

	if (mon_db_unavailable(c, res)) {
		mon_http_problem(resp, 503, "unavailable", NULL,
				 "the database is unavailable; retry later");
		resp->retry_after = (int)mon_server_cfg(req->srv)->retry_after_s;
		return 1;
	}
	snprintf(msg, sizeof(msg), "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(c));
	while ((nl = strchr(msg, '\n')) != NULL)
		*nl = ' ';
	log_err(LOG_PREFIX "%s (%s %s): %s", what, req->method, req->path, msg);
	mon_http_problem(resp, 500, NULL, NULL, "%s", what);
	return 0;
}

/* --- database subcommands --------------------------------------------------------------- */

int mon_server_cli_open(const char *database, const char *config, struct mon_db **db, PGconn **c)
{
	char set[4096], err[512];
	const char *sets[1] = {set};
	struct mon_cfg *cfg = NULL;
	int ret;

	*db = NULL;
	*c = NULL;
	if (database)
		snprintf(set, sizeof(set), "database_url=%s", database);
	ret = mon_cfg_load(config, sets, database ? 1 : 0, &cfg, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "vigil: %s\n", err);
		return ret;
	}
	mon_log_set_level(cfg->log_level);
	ret = mon_db_open(cfg->database_url, 1, db);
	mon_cfg_free(cfg);
	if (ret) {
		fprintf(stderr, "vigil: invalid database URL\n");
		return ret;
	}
	ret = mon_db_acquire(*db, 0, c);
	if (ret) {
		fprintf(stderr, "vigil: could not connect to the database\n");
		mon_db_close(*db);
		*db = NULL;
	}
	return ret;
}

void mon_server_cli_close(struct mon_db *db, PGconn *c)
{
	if (c)
		mon_db_release(db, c, 0);
	mon_db_close(db);
}

/* --- maintenance ------------------------------------------------------------------------ */

/* Every task of mon_server_tasks[] runs on a thread of its own, so that one task's long run
 * (an evaluation of a large window, a receiver that times out) never delays another's (a
 * page waiting behind an evaluation). The threads share one lock and condition, used only
 * to sleep until a task is due and to be woken for shutdown; a task runs without it. */
struct maint;

struct maint_lane {
	struct maint *m;
	const struct mon_server_task *task;
	pthread_t thread;
	int started;
};

struct maint {
	struct mon_server *srv;
	struct maint_lane *lanes;
	size_t nlanes;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
};

/* Sleep on m->cond until mon_now() reaches due or stop is set; m->lock held. */
static void maint_sleep(struct maint *m, double due)
{
	struct timespec ts;
	double wait = due - mon_now();

	if (wait < 0.05)
		wait = 0.05;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)wait;
	ts.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&m->cond, &m->lock, &ts);
}

static void *maint_main(void *arg)
{
	struct maint_lane *l = arg;
	struct maint *m = l->m;
	const struct mon_server_task *t = l->task;
	double due = 0;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		int ret;

		if (mon_now() < due) {
			maint_sleep(m, due);
			continue;
		}
		pthread_mutex_unlock(&m->lock);
		log_debug(LOG_PREFIX "running maintenance task %s", t->name);
		ret = t->fn(m->srv);
		if (ret < 0) {
			log_warn(LOG_PREFIX "maintenance task %s failed: %s", t->name,
				 strerror(-ret));
			due = mon_now() +
			      (t->interval_s < TASK_RETRY_S ? t->interval_s : TASK_RETRY_S);
		} else {
			due = mon_now() + t->interval_s;
		}
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

static void maint_stop(struct maint *m);

static int maint_start(struct maint *m, struct mon_server *srv)
{
	pthread_condattr_t ca;

	memset(m, 0, sizeof(*m));
	m->srv = srv;
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &ca);
	pthread_condattr_destroy(&ca);
	m->lanes = mon_xcalloc(mon_server_ntasks ? mon_server_ntasks : 1, sizeof(*m->lanes));
	for (size_t i = 0; i < mon_server_ntasks; i++) {
		struct maint_lane *l = &m->lanes[m->nlanes];

		if (!mon_server_tasks[i].fn)
			continue;
		l->m = m;
		l->task = &mon_server_tasks[i];
		if (pthread_create(&l->thread, NULL, maint_main, l)) {
			log_err(LOG_PREFIX "could not start the thread of maintenance task %s",
				l->task->name);
			maint_stop(m);
			return -EAGAIN;
		}
		l->started = 1;
		m->nlanes++;
	}
	return 0;
}

/* Wake every task thread and wait for it: a task in the middle of a run finishes it first
 * (each checks srv->stopping between its units of work; see monitor/tasks.c). */
static void maint_stop(struct maint *m)
{
	pthread_mutex_lock(&m->lock);
	m->stop = 1;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	for (size_t i = 0; i < m->nlanes; i++)
		if (m->lanes[i].started)
			pthread_join(m->lanes[i].thread, NULL);
	free(m->lanes);
	m->lanes = NULL;
	m->nlanes = 0;
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
}

/* --- start-up ------------------------------------------------------------------------------ */

/* Apply migrations, waiting for the database up to db_startup_timeout_s. */
static int migrate_at_start(struct mon_server *srv, const sigset_t *sigs)
{
	const struct mon_cfg *cfg = mon_server_cfg(srv);
	double deadline = mon_now() + cfg->db_startup_timeout_s;
	struct timespec zero = {0, 0};
	int applied = 0, ret;

	for (;;) {
		PGconn *c = NULL;

		ret = mon_db_acquire(srv->db, 0, &c);
		if (!ret) {
			ret = mon_migrate_run(c, srv->sql_dir, &applied);
			mon_db_release(srv->db, c, ret == -EAGAIN);
			if (ret != -EAGAIN)
				break;
		}
		if (mon_now() >= deadline) {
			log_err(LOG_PREFIX "could not reach the database within %u s",
				cfg->db_startup_timeout_s);
			return -EAGAIN;
		}
		if (sigtimedwait(sigs, NULL, &zero) > 0) /* SIGTERM while waiting */
			return -EINTR;
		usleep(STARTUP_RETRY_US);
	}
	if (ret) {
		log_err(LOG_PREFIX "could not apply the schema migrations from \"%s\"",
			srv->sql_dir);
		return ret;
	}
	log_info(LOG_PREFIX "schema at %s (%d migration%s applied now)", srv->schema_latest,
		 applied, applied == 1 ? "" : "s");
	return 0;
}

static const char serve_usage[] =
	"usage: vigil serve [--listen HOST:PORT] [--database URL] [--config FILE]\n"
	"                   [--set KEY=VALUE]... [--check-config]\n"
	"\n"
	"Run the monitoring daemon. Each setting comes from a flag, else the environment\n"
	"(VIGIL_LISTEN, VIGIL_DATABASE_URL, VIGIL_<KEY>), else the config file (--config or\n"
	"VIGIL_CONFIG: \"key = value\" lines, # comments), else its default. --check-config\n"
	"validates the settings, prints them and exits. SIGTERM/SIGINT finish in-flight\n"
	"requests and exit 0; SIGHUP reloads the reloadable settings.\n";

struct serve_args {
	const char *config;
	const char *sets[MAX_SETS];
	char *owned[MAX_SETS];
	size_t nsets;
	int check;
};

static void args_free(struct serve_args *a)
{
	for (size_t i = 0; i < a->nsets; i++)
		free(a->owned[i]);
}

static int add_set(struct serve_args *a, const char *key, const char *val)
{
	size_t n;

	if (a->nsets >= MAX_SETS) {
		fprintf(stderr, "vigil serve: too many settings on the command line\n");
		return -E2BIG;
	}
	if (!key) {
		a->owned[a->nsets] = NULL;
		a->sets[a->nsets++] = val;
		return 0;
	}
	n = strlen(key) + strlen(val) + 2;
	a->owned[a->nsets] = mon_xmalloc(n);
	snprintf(a->owned[a->nsets], n, "%s=%s", key, val);
	a->sets[a->nsets] = a->owned[a->nsets];
	a->nsets++;
	return 0;
}

static int parse_args(int argc, char **argv, struct serve_args *a)
{
	static const struct option lopts[] = {{"listen", required_argument, NULL, 'l'},
					      {"database", required_argument, NULL, 'd'},
					      {"config", required_argument, NULL, 'c'},
					      {"set", required_argument, NULL, 's'},
					      {"check-config", no_argument, NULL, 'C'},
					      {"help", no_argument, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	int opt;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (add_set(a, "listen", optarg))
				return 2;
			break;
		case 'd':
			if (add_set(a, "database_url", optarg))
				return 2;
			break;
		case 'c':
			a->config = optarg;
			break;
		case 's':
			if (add_set(a, NULL, optarg))
				return 2;
			break;
		case 'C':
			a->check = 1;
			break;
		case 'h':
			fputs(serve_usage, stdout);
			return 1;
		default:
			fputs(serve_usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vigil serve: unexpected argument \"%s\"\n%s", argv[optind],
			serve_usage);
		return 2;
	}
	return 0;
}

/* Keep replaced configurations alive: a request may still hold one. */
struct retired {
	struct mon_cfg **v;
	size_t n;
};

static void reload(struct mon_server *srv, const struct serve_args *a, struct retired *old)
{
	struct mon_cfg *next = NULL, *merged;
	struct mon_cfg *cur = atomic_load(&srv->cfg);
	char err[512];

	if (mon_cfg_load(a->config, a->sets, a->nsets, &next, err, sizeof(err))) {
		log_err(LOG_PREFIX "could not reload the configuration: %s; keeping the running "
				   "one",
			err);
		return;
	}
	merged = mon_cfg_merge_reload(cur, next);
	mon_cfg_free(next);
	old->v = mon_xrealloc(old->v, (old->n + 1) * sizeof(*old->v));
	old->v[old->n++] = cur;
	atomic_store(&srv->cfg, merged);
	mon_log_set_level(merged->log_level);
	log_info(LOG_PREFIX "configuration reloaded");
}

int mon_serve_main(int argc, char **argv)
{
	struct mon_server srv;
	struct serve_args args;
	struct retired old = {NULL, 0};
	struct mon_http *http = NULL;
	struct mon_cfg *cfg = NULL;
	struct maint maint;
	int maint_running = 0, status = 1, ret;
	sigset_t sigs;
	char err[512];

	memset(&srv, 0, sizeof(srv));
	ret = parse_args(argc, argv, &args);
	if (ret) {
		args_free(&args);
		return ret == 1 ? 0 : ret;
	}
	if (mon_cfg_load(args.config, args.sets, args.nsets, &cfg, err, sizeof(err))) {
		fprintf(stderr, "vigil serve: %s\n", err);
		args_free(&args);
		return 2;
	}
	if (args.check) {
		mon_cfg_print(cfg, stdout);
		printf("# configuration ok\n");
		mon_cfg_free(cfg);
		args_free(&args);
		return 0;
	}
	mon_log_set_level(cfg->log_level);
	atomic_store(&srv.cfg, cfg);

	/* block before any thread exists: every thread inherits the mask */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	srv.sql_dir = mon_migrate_dir();
	if (mon_migrate_latest_shipped(srv.sql_dir, srv.schema_latest, sizeof(srv.schema_latest))) {
		log_err(LOG_PREFIX "no migrations found in \"%s\" (set VIGIL_SQLDIR)", srv.sql_dir);
		goto out;
	}
	if (mon_db_open(cfg->database_url, cfg->db_pool_size, &srv.db))
		goto out;
	srv.metrics = mon_metrics_new(mon_http_nroutes);
	srv.auth = mon_auth_new();
	ret = migrate_at_start(&srv, &sigs);
	if (ret == -EINTR) {
		status = 0;
		goto out;
	}
	if (ret)
		goto out;
	if (mon_http_start(&srv, &http))
		goto out;
	{
		char host[256];
		unsigned port;

		if (!mon_cfg_split_listen(cfg->listen, host, sizeof(host), &port))
			log_info(LOG_PREFIX "listening on http://%s%s%s:%u/ (vigil %s, %u threads)",
				 strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
				 mon_http_port(http), PACKAGE_VERSION, cfg->threads);
	}
	if (maint_start(&maint, &srv)) {
		log_err(LOG_PREFIX "could not start the maintenance threads");
		goto out;
	}
	maint_running = 1;

	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&sigs, &si);

		if (sig < 0)
			continue; /* EINTR from a stopped debugger */
		if (sig == SIGHUP) {
			reload(&srv, &args, &old);
			continue;
		}
		log_info(LOG_PREFIX "received %s; finishing in-flight requests",
			 sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	}
	atomic_store(&srv.stopping, 1);
	mon_http_quiesce(http);
	{
		unsigned limit = mon_server_cfg(&srv)->shutdown_timeout_s;
		struct timespec zero = {0, 0};
		unsigned waited = 0;

		/* in one-second steps, so that a second signal can cut the wait short */
		while (mon_http_drain(http, limit - waited < 1 ? limit - waited : 1)) {
			if (++waited >= limit) {
				log_warn(LOG_PREFIX "requests still running after %u s; stopping "
						    "anyway",
					 limit);
				break;
			}
			int again = sigtimedwait(&sigs, NULL, &zero);

			if (again == SIGTERM || again == SIGINT) {
				log_warn(LOG_PREFIX "second signal; stopping without waiting");
				break;
			}
		}
	}
	status = 0;
out:
	mon_http_stop(http);
	if (maint_running)
		maint_stop(&maint);
	mon_auth_free(srv.auth);
	mon_metrics_free(srv.metrics);
	mon_db_close(srv.db);
	for (size_t i = 0; i < old.n; i++)
		mon_cfg_free(old.v[i]);
	free(old.v);
	mon_cfg_free(atomic_load(&srv.cfg));
	args_free(&args);
	if (status == 0)
		log_info(LOG_PREFIX "stopped");
	return status;
}
