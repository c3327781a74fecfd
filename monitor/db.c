/* SPDX-License-Identifier: MIT
 * monitor/db.c - a pool of PostgreSQL connections that survives the server restarting
 *
 * size slots, each empty, idle or lent out. mon_db_acquire prefers an idle connection, opens
 * a new one lazily in an empty slot, and waits (condition variable) when all are lent.
 * Connecting and PQreset happen outside the pool lock, so one slow connect never stalls the
 * threads that find an idle connection.
 *
 * While PostgreSQL is away the pool must not make every request wait for a connect timeout:
 * after a failed attempt the pool is "down", and until the next attempt is due (500 ms
 * later) or while one attempt is already under way, acquire fails at once with -EAGAIN.
 * connect_timeout defaults to 2 s (a conninfo that sets it wins). An idle connection whose
 * socket turned readable was closed by the server (restart, admin command): it is checked
 * with PQconsumeInput before being lent, and reset when broken. A connection that failed
 * under a request is given back with failed = 1 and reset the next time it is needed.
 */
#include "config.h"

#include "monitor/db.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "monitor/log.h"

#define LOG_PREFIX "db: "
#define RETRY_INTERVAL 0.5

enum slot_state { SLOT_EMPTY, SLOT_IDLE, SLOT_BUSY, SLOT_CONNECTING };

struct slot {
	PGconn *c;
	enum slot_state state;
	int broken; /* reset before the next use */
};

struct mon_db {
	char *conninfo;
	size_t size;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct slot *slots;
	int down;            /* the last connection attempt failed */
	double next_attempt; /* while down: no new attempt before this (monotonic) */
	int attempting;      /* connection attempts under way */
	atomic_ulong errors;
	atomic_int up;
	struct mon_ratelimit rl;
};

int mon_db_open(const char *conninfo, size_t size, struct mon_db **out)
{
	struct mon_db *db;
	pthread_condattr_t ca;
	char *err = NULL;

	*out = NULL;
	if (!conninfo || size == 0)
		return -EINVAL;
	if (*conninfo) {
		PQconninfoOption *o = PQconninfoParse(conninfo, &err);

		if (!o) {
			log_err(LOG_PREFIX "invalid database URL: %s", err ? err : "out of memory");
			PQfreemem(err);
			return -EINVAL;
		}
		PQconninfoFree(o);
	}
	db = mon_xcalloc(1, sizeof(*db));
	db->conninfo = mon_xstrndup(conninfo, strlen(conninfo));
	db->size = size;
	db->slots = mon_xcalloc(size, sizeof(*db->slots));
	pthread_mutex_init(&db->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&db->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&db->rl.lock, NULL);
	*out = db;
	return 0;
}

void mon_db_close(struct mon_db *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->size; i++)
		if (db->slots[i].c)
			PQfinish(db->slots[i].c);
	pthread_cond_destroy(&db->cond);
	pthread_mutex_destroy(&db->lock);
	pthread_mutex_destroy(&db->rl.lock);
	free(db->slots);
	free(db->conninfo);
	free(db);
}

/* Server notices (e.g. "relation already exists, skipping") go to the debug log, not to
 * stderr as libpq would print them. */
static void on_notice(void *arg, const char *msg)
{
	(void)arg;
	log_debug(LOG_PREFIX "server notice: %.*s", (int)strcspn(msg, "\n"), msg);
}

/* Our defaults come first so that the caller's conninfo, expanded from dbname, wins. */
static PGconn *connect_new(const struct mon_db *db)
{
	const char *keys[] = {"connect_timeout",  "keepalives",
			      "keepalives_idle",  "keepalives_interval",
			      "keepalives_count", "fallback_application_name",
			      "dbname",           NULL};
	const char *vals[] = {"2", "1", "10", "5", "3", "vigil", db->conninfo, NULL};

	PGconn *c;

	if (!*db->conninfo)
		keys[6] = vals[6] = NULL;
	c = PQconnectdbParams(keys, vals, 1);
	if (c)
		PQsetNoticeProcessor(c, on_notice, NULL);
	return c;
}

/* An idle connection may have been closed by the server since it was given back: a closed
 * socket reads as readable. Returns 1 when c looks usable. */
static int idle_healthy(PGconn *c)
{
	struct pollfd p;

	if (PQstatus(c) != CONNECTION_OK)
		return 0;
	p.fd = PQsocket(c);
	p.events = POLLIN;
	p.revents = 0;
	if (p.fd < 0)
		return 0;
	if (poll(&p, 1, 0) > 0) {
		if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK)
			return 0;
		/* a NOTICE or NOTIFY: harmless, the connection is fine */
	}
	return 1;
}

static void note_failure(struct mon_db *db, PGconn *c)
{
	unsigned long skipped = 0;
	char msg[512];
	char *nl;

	atomic_fetch_add(&db->errors, 1);
	atomic_store(&db->up, 0);
	snprintf(msg, sizeof(msg), "%s", c ? PQerrorMessage(c) : "out of memory");
	while ((nl = strpbrk(msg, "\n\t")) != NULL)
		*nl = ' ';
	for (nl = msg + strlen(msg); nl > msg && nl[-1] == ' ';)
		*--nl = '\0';
	if (!mon_ratelimit_fail(&db->rl, &skipped))
		return;
	if (skipped)
		log_err(LOG_PREFIX "could not connect to database: %s (%lu similar messages "
				   "suppressed)",
			msg, skipped);
	else
		log_err(LOG_PREFIX "could not connect to database: %s", msg);
}

static void note_success(struct mon_db *db)
{
	atomic_store(&db->up, 1);
	if (mon_ratelimit_ok(&db->rl))
		log_info(LOG_PREFIX "connection to database restored");
}

static void deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int mon_db_acquire(struct mon_db *db, int timeout_ms, PGconn **out)
{
	struct timespec deadline;
	struct slot *s = NULL;
	int ret = 0;

	*out = NULL;
	deadline_after(&deadline, timeout_ms > 0 ? timeout_ms : 0);
	pthread_mutex_lock(&db->lock);
	for (;;) {
		struct slot *empty = NULL, *broken = NULL;

		for (size_t i = 0; i < db->size; i++) {
			struct slot *t = &db->slots[i];

			if (t->state == SLOT_IDLE && !t->broken) {
				s = t;
				break;
			}
			if (t->state == SLOT_IDLE && !broken)
				broken = t;
			if (t->state == SLOT_EMPTY && !empty)
				empty = t;
		}
		if (s) {
			s->state = SLOT_BUSY;
			pthread_mutex_unlock(&db->lock);
			if (idle_healthy(s->c)) {
				*out = s->c;
				return 0;
			}
			pthread_mutex_lock(&db->lock);
			s->broken = 1;
			s->state = SLOT_IDLE;
			s = NULL;
			continue;
		}
		if (empty || broken) {
			if (db->down && (db->attempting || mon_now() < db->next_attempt)) {
				ret = -EAGAIN;
				goto out_locked;
			}
			s = empty ? empty : broken;
			s->state = SLOT_CONNECTING;
			db->attempting++;
			break;
		}
		if (timeout_ms <= 0 ||
		    pthread_cond_timedwait(&db->cond, &db->lock, &deadline) == ETIMEDOUT) {
			ret = -ETIMEDOUT;
			goto out_locked;
		}
	}
	pthread_mutex_unlock(&db->lock);

	/* connect or reset outside the lock: this may take up to connect_timeout */
	if (s->c) {
		PQreset(s->c);
	} else {
		s->c = connect_new(db);
	}
	if (s->c && PQstatus(s->c) == CONNECTION_OK) {
		note_success(db);
		pthread_mutex_lock(&db->lock);
		db->attempting--;
		db->down = 0;
		s->broken = 0;
		s->state = SLOT_BUSY;
		*out = s->c;
		goto out_locked;
	}
	note_failure(db, s->c);
	pthread_mutex_lock(&db->lock);
	db->attempting--;
	db->down = 1;
	db->next_attempt = mon_now() + RETRY_INTERVAL;
	if (s->c) {
		PQfinish(s->c);
		s->c = NULL;
	}
	s->broken = 0;
	s->state = SLOT_EMPTY;
	pthread_cond_signal(&db->cond);
	ret = -EAGAIN;
out_locked:
	pthread_mutex_unlock(&db->lock);
	return ret;
}

void mon_db_release(struct mon_db *db, PGconn *c, int failed)
{
	struct slot *s = NULL;
	int broken = 0;

	if (!c)
		return;
	if (PQstatus(c) != CONNECTION_OK) {
		broken = 1;
	} else {
		switch (PQtransactionStatus(c)) {
		case PQTRANS_IDLE:
			break;
		case PQTRANS_INTRANS:
		case PQTRANS_INERROR: {
			/* a caller bailed out mid-transaction: never lend it out like that */
			PGresult *r = PQexec(c, "ROLLBACK");

			if (PQresultStatus(r) != PGRES_COMMAND_OK)
				broken = 1;
			PQclear(r);
			break;
		}
		default: /* a command still active, or unknown: only a reset cleans that up */
			broken = 1;
			break;
		}
	}
	if (failed || broken) {
		atomic_fetch_add(&db->errors, 1);
		broken = 1;
	}
	pthread_mutex_lock(&db->lock);
	for (size_t i = 0; i < db->size; i++) {
		if (db->slots[i].c == c) {
			s = &db->slots[i];
			break;
		}
	}
	if (s) {
		s->broken = broken;
		s->state = SLOT_IDLE;
		pthread_cond_signal(&db->cond);
	}
	pthread_mutex_unlock(&db->lock);
	if (!s) {
		log_err(LOG_PREFIX "connection given back that the pool did not lend");
		PQfinish(c);
	}
}

int mon_db_unavailable(PGconn *c, const PGresult *res)
{
	const char *state;

	if (!c || PQstatus(c) != CONNECTION_OK)
		return 1;
	if (!res)
		return 1;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (!state) /* a client-side failure: the connection, not the statement */
		return PQresultStatus(res) == PGRES_FATAL_ERROR;
	return !strncmp(state, "08", 2) || !strcmp(state, "57P01") || !strcmp(state, "57P02") ||
	       !strcmp(state, "57P03") || !strncmp(state, "53", 2);
}

int mon_db_error(PGconn *c, const PGresult *res, const char *prefix, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (mon_db_unavailable(c, res))
		return -EAGAIN;
	if (state && !strcmp(state, "57014")) {
		log_warn("%s%s: the statement was cancelled (statement_timeout, or by an "
			 "administrator)",
			 prefix, what);
		return -ETIMEDOUT;
	}
	log_err("%s%s: %s (SQLSTATE %s)", prefix, what, msg ? msg : PQerrorMessage(c),
		state ? state : "none");
	return -EIO;
}

unsigned long mon_db_errors(const struct mon_db *db)
{
	return atomic_load(&((struct mon_db *)db)->errors);
}

int mon_db_up(const struct mon_db *db)
{
	return atomic_load(&((struct mon_db *)db)->up);
}
