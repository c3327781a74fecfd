/* SPDX-License-Identifier: MIT
 * monitor/db.h - a pool of PostgreSQL connections that survives the server restarting
 *
 * The HTTP worker threads and the scheduler borrow connections from one pool. A borrowed
 * connection found broken is reset (PQreset) on its way back; while PostgreSQL is away,
 * mon_db_acquire fails fast with -EAGAIN so handlers answer 503 with Retry-After, and the
 * pool reconnects by itself when the server is back. Thread-safe.
 *
 * Create with mon_db_open, destroy with mon_db_close.
 */
#ifndef MONITOR_DB_H
#define MONITOR_DB_H
#include <libpq-fe.h>
#include <stddef.h>

#include "monitor/common.h"

struct mon_db; /* opaque */

/* Open a pool of up to size connections to conninfo (a URL or key=value string; "" uses
 * libpq's environment). Connects lazily: succeeds even while the database is down.
 * Returns 0 and stores a new pool in *out, or -EINVAL for an unparsable conninfo. */
int mon_db_open(const char *conninfo, size_t size, struct mon_db **out) MON_MUSTCHECK;
void mon_db_close(struct mon_db *db); /* NULL is a no-op; all connections must be back */

/* Borrow a healthy connection, waiting up to timeout_ms for a free one.
 * Returns 0 and stores it in *out; -EAGAIN when the database cannot be reached (the reason
 * is logged, rate-limited); -ETIMEDOUT when every connection stays busy. */
int mon_db_acquire(struct mon_db *db, int timeout_ms, PGconn **out) MON_MUSTCHECK;

/* Give a connection back. Pass failed = 1 when a statement on it failed for a reason
 * other than the data (PQstatus bad, connection lost): the pool checks and resets it.
 * A connection must be given back outside any transaction. */
void mon_db_release(struct mon_db *db, PGconn *c, int failed);

/* 1 when err (a failed PGresult's SQLSTATE, or the connection state) means the database is
 * unavailable rather than the request being wrong: class 08 (connection), 57P01..57P03
 * (shutdown, cannot connect now), 53 (insufficient resources), or a bad connection. */
int mon_db_unavailable(PGconn *c, const PGresult *res);

/* A failed statement (res, or NULL for a failure to send) as a negative errno: -EAGAIN when
 * the database is unavailable (as above; the caller gives the connection back failed),
 * -ETIMEDOUT when the statement was cancelled (SQLSTATE 57014: statement_timeout, or
 * pg_cancel_backend), else -EIO after logging "<prefix><what>: <message> (SQLSTATE s)".
 * Only PostgreSQL's primary message is logged: its DETAIL may quote row values. */
int mon_db_error(PGconn *c, const PGresult *res, const char *prefix, const char *what);

/* Counters for /metrics: failed connection attempts plus connections given back failed. */
unsigned long mon_db_errors(const struct mon_db *db);
/* 1 when the last connection attempt succeeded, 0 after a failure or before the first. */
int mon_db_up(const struct mon_db *db);

#endif /* MONITOR_DB_H */
