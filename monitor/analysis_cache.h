/* SPDX-License-Identifier: MIT
 * monitor/analysis_cache.h - answers of the analysis routes, kept and shared (single flight)
 *
 * A drift, performance or estimate answer depends only on the route, the model, the
 * normalised query parameters and the model's stored data, whose version the database
 * gives (sql/0006_data_version.sql). The caller builds one key from all four, so an entry
 * can never be stale: new data means a new version, a new key, and the old entries age out
 * of the LRU list unused.
 *
 * Single flight: the first request for a key that is neither kept nor being computed
 * becomes its leader (MON_ACACHE_LEAD) and must end the flight with mon_acache_end. Every
 * request for the same key meanwhile is a waiter (MON_ACACHE_WAIT): it is called back once,
 * when the flight ends, with the leader's answer (or NULL when the leader had nothing to
 * share, e.g. the database was unavailable). Waiters do not block: the callback is theirs
 * to resume themselves with (monitor/http.h: mon_http_continue).
 *
 * Bounded by bytes and by entries, least recently used first out. An answer larger than
 * an eighth of the byte bound is shared with its waiters but not kept. With max_bytes 0
 * nothing is kept; concurrent identical requests still share one computation.
 *
 * Values: struct mon_acache_val, immutable once made, reference-counted; create with
 * mon_acache_val_new, take with mon_acache_val_ref, give back with mon_acache_val_unref.
 * Cache: mon_acache_new / mon_acache_free. Everything is thread-safe.
 */
#ifndef MONITOR_ANALYSIS_CACHE_H
#define MONITOR_ANALYSIS_CACHE_H
#include <stdatomic.h>
#include <stddef.h>

#include "monitor/common.h"

/* One answer: the HTTP status and body, and what the audit log records for it. */
struct mon_acache_val {
	int status;
	int problem;     /* 1: the body is application/problem+json */
	int retry_after; /* seconds, for Retry-After; 0: none */
	char *body;      /* len bytes */
	size_t len;
	char *outcome;   /* audit outcome ("ok", "too_large", ...); NULL: not audited */
	char *detail;    /* audit detail as JSON text; NULL: {} */
	atomic_int refs; /* private */
};

/* A new value with one reference. Takes ownership of body (malloc'd, len bytes) and detail
 * (malloc'd, may be NULL); outcome is copied (may be NULL). Aborts when out of memory. */
struct mon_acache_val *mon_acache_val_new(int status, int problem, char *body, size_t len,
					  const char *outcome, char *detail);
struct mon_acache_val *mon_acache_val_ref(struct mon_acache_val *v); /* returns v */
void mon_acache_val_unref(struct mon_acache_val *v);                 /* NULL is a no-op */

struct mon_acache;        /* opaque */
struct mon_acache_flight; /* opaque: one computation in progress */

/* Called once per waiter when its flight ends: v is a new reference to the leader's
 * answer (unref it), or NULL when the leader had nothing to share. Runs on the leader's
 * thread with no lock held; it must not block. */
typedef void (*mon_acache_wake_fn)(void *arg, struct mon_acache_val *v);

/* A cache keeping up to max_bytes (0: nothing kept) in up to max_entries entries (at least
 * 1). Aborts when out of memory. */
struct mon_acache *mon_acache_new(size_t max_bytes, size_t max_entries);
/* Frees the kept values. No flight may be in progress. NULL is a no-op. */
void mon_acache_free(struct mon_acache *c);

enum mon_acache_result {
	MON_ACACHE_HIT = 0, /* *hit holds a new reference to the kept answer */
	MON_ACACHE_LEAD,    /* compute it, then mon_acache_end(c, *lead, ...) */
	MON_ACACHE_WAIT,    /* wake(arg, ...) will be called when the flight ends */
};

/* Look key up (a NUL-terminated string, copied). See enum mon_acache_result; wake and arg
 * are used only for MON_ACACHE_WAIT, and the call may come before this function returns
 * to its caller's caller, on another thread. */
enum mon_acache_result mon_acache_begin(struct mon_acache *c, const char *key,
					mon_acache_wake_fn wake, void *arg,
					struct mon_acache_val **hit,
					struct mon_acache_flight **lead);

/* End flight f (from mon_acache_begin's MON_ACACHE_LEAD): wake its waiters with v (may be
 * NULL; borrowed: each waiter gets its own reference) and, with keep set and v not NULL,
 * keep v under the flight's key. Frees f. */
void mon_acache_end(struct mon_acache *c, struct mon_acache_flight *f, struct mon_acache_val *v,
		    int keep);

/* What is kept now: entries and bytes. */
void mon_acache_usage(struct mon_acache *c, size_t *entries, size_t *bytes);

#endif /* MONITOR_ANALYSIS_CACHE_H */
