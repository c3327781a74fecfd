/* SPDX-License-Identifier: MIT
 * monitor/server.h - vigil serve: the daemon's shared state, start-up, maintenance, shutdown
 *
 * One struct mon_server lives for the life of the process; every handler reaches it through
 * req->srv. Its fields are set up before the HTTP server starts and never reassigned while
 * it runs, except the configuration, which SIGHUP may replace: read it with
 * mon_server_cfg() each time rather than keeping the pointer across requests (an old one
 * stays valid until exit, so a request that already holds one is safe).
 *
 * Start-up: settings (flag > environment > file > default), database pool, migrations
 * under an advisory lock (waiting up to db_startup_timeout_s for PostgreSQL), HTTP server,
 * maintenance thread. Shutdown on SIGTERM/SIGINT: stop accepting, let in-flight requests
 * finish (up to shutdown_timeout_s), stop, exit 0. SIGHUP reloads the reloadable settings.
 */
#ifndef MONITOR_SERVER_H
#define MONITOR_SERVER_H
#include <libpq-fe.h>
#include <stdatomic.h>

#include "monitor/auth.h"
#include "monitor/cfg.h"
#include "monitor/common.h"
#include "monitor/db.h"
#include "monitor/http.h"
#include "monitor/metrics.h"

struct mon_server {
	_Atomic(struct mon_cfg *) cfg; /* use mon_server_cfg() */
	struct mon_db *db;             /* the connection pool (thread-safe) */
	struct mon_metrics *metrics;   /* counters for /metrics (thread-safe) */
	struct mon_auth *auth;         /* bearer-token cache (thread-safe) */
	const char *sql_dir;           /* where the shipped migrations are */
	char schema_latest[128];       /* the newest shipped migration, for /readyz */
	atomic_int stopping;           /* 1 once SIGTERM/SIGINT arrived */
};

/* The current settings. Borrowed: valid until the process exits. */
const struct mon_cfg *mon_server_cfg(const struct mon_server *srv);

/* vigil serve [--listen HOST:PORT] [--database URL] [--config FILE] [--set KEY=VALUE]...
 * [--check-config]. Returns the exit status: 0 after a clean shutdown, 1 when start-up
 * failed, 2 for bad usage or settings. */
int mon_serve_main(int argc, char **argv);

/* --- helpers for handlers that use the database ----------------------------------------
 *
 *	PGconn *c;
 *	PGresult *r;
 *	int failed = 0;
 *
 *	if (mon_server_db_get(req, resp, &c))
 *		return;                       // resp is already 503 + Retry-After
 *	r = PQexecParams(c, "...", ...);
 *	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
 *		failed = mon_server_db_fail(req, resp, c, r, "could not list models");
 *		goto out;
 *	}
 *	...
 * out:
 *	PQclear(r);
 *	mon_server_db_put(req, c, failed);
 */

/* Borrow a connection, waiting up to db_acquire_timeout_ms. Returns 0; on failure fills
 * resp with a 503 problem (Retry-After: retry_after_s) and returns -EAGAIN/-ETIMEDOUT. */
int mon_server_db_get(struct mon_http_req *req, struct mon_http_resp *resp,
		      PGconn **c) MON_MUSTCHECK;
/* Give it back (failed as for mon_db_release). */
void mon_server_db_put(struct mon_http_req *req, PGconn *c, int failed);
/* A statement failed: answer 503 + Retry-After when the database is unavailable, else
 * log what (with PostgreSQL's message; never with request data) and answer 500. Returns
 * the failed flag to pass to mon_server_db_put. */
int mon_server_db_fail(struct mon_http_req *req, struct mon_http_resp *resp, PGconn *c,
		       const PGresult *res, const char *what);

/* --- periodic maintenance ---------------------------------------------------------------
 *
 * Each task runs on a thread of its own, first right after the migrations and then
 * interval_s after its previous run ended; a task that fails (returns < 0) is retried after
 * min(interval_s, 10 s). A task borrows its own connection (mon_db_acquire) and must give it
 * back, so the tasks running at once hold that many of the pool's db_pool_size connections.
 * Add one line per task to mon_server_tasks[] in monitor/tasks.c (e.g. creating next
 * month's predictions partition, retention). Tasks run while requests and the other tasks
 * do: they must be thread-safe. A run that takes long should check srv->stopping between
 * its units of work: shutdown waits for every task's run in progress to return.
 */
typedef int (*mon_server_task_fn)(struct mon_server *srv);

struct mon_server_task {
	const char *name;
	unsigned interval_s;
	mon_server_task_fn fn;
};

extern const struct mon_server_task mon_server_tasks[];
extern const size_t mon_server_ntasks;

/* --- shared by the database subcommands (vigil migrate, token, audit) ------------------ */

/* Settle the database URL as the server would (database, a --database value, beats
 * VIGIL_DATABASE_URL, which beats database_url in the config file; either may be NULL) and
 * connect once. On success stores a pool of one and its borrowed connection; release both
 * with mon_server_cli_close. Prints its own message on failure and returns nonzero. */
int mon_server_cli_open(const char *database, const char *config, struct mon_db **db,
			PGconn **c) MON_MUSTCHECK;
void mon_server_cli_close(struct mon_db *db, PGconn *c);

#endif /* MONITOR_SERVER_H */
