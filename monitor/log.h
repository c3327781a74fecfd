/* SPDX-License-Identifier: MIT
 * monitor/log.h - leveled logging to stderr and a rate limiter for recurring failures
 *
 * Every line is "TIMESTAMP LEVEL: prefix: message", written with one write(2) so lines from
 * concurrent threads never interleave. Each .c file defines LOG_PREFIX ("db: ") and writes
 * PostgreSQL-style messages: lower case, no trailing period, what failed and then why.
 * Never log request bodies, record contents or anything else that may carry patient data.
 *
 * The level is process-wide and may change at any time (SIGHUP); mon_log is thread-safe.
 */
#ifndef MONITOR_LOG_H
#define MONITOR_LOG_H
#include <pthread.h>

#include "monitor/common.h"

enum mon_log_level {
	MON_LOG_ERR = 0,
	MON_LOG_WARN,
	MON_LOG_INFO,
	MON_LOG_DEBUG,
};

/* Set the most verbose level that is written (default MON_LOG_INFO). */
void mon_log_set_level(enum mon_log_level level);
/* 1 when a message at level would be written. */
int mon_log_enabled(enum mon_log_level level);
/* Parse "error", "warning", "info" or "debug"; returns 0, or -EINVAL. */
int mon_log_parse_level(const char *s, enum mon_log_level *out) MON_MUSTCHECK;
const char *mon_log_level_name(enum mon_log_level level);

/* Write one line at level (a newline is added). Prefer the macros, which skip formatting
 * when the level is disabled. */
void mon_log(enum mon_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define mon_log_at(level, ...)                                                                     \
	do {                                                                                       \
		if (mon_log_enabled(level))                                                        \
			mon_log(level, __VA_ARGS__);                                               \
	} while (0)
#define log_err(...) mon_log_at(MON_LOG_ERR, __VA_ARGS__)
#define log_warn(...) mon_log_at(MON_LOG_WARN, __VA_ARGS__)
#define log_info(...) mon_log_at(MON_LOG_INFO, __VA_ARGS__)
#define log_debug(...) mon_log_at(MON_LOG_DEBUG, __VA_ARGS__)

/* A rate limiter for one recurring failure (CD c_complain): the first failure is logged, a
 * repeat only after an interval that doubles from 1 s up to 5 min, and the recovery once.
 * Embed one per failure site, initialised with MON_RATELIMIT_INIT. Thread-safe.
 *
 *	if (mon_ratelimit_fail(&rl, &skipped))
 *		log_err(LOG_PREFIX "could not connect: %s (%lu similar suppressed)", why, skipped);
 *	...
 *	if (mon_ratelimit_ok(&rl))
 *		log_info(LOG_PREFIX "connection restored");
 */
struct mon_ratelimit {
	pthread_mutex_t lock;
	int failing;
	double next;     /* monotonic seconds before which repeats are suppressed */
	double interval; /* current back-off */
	unsigned long suppressed;
};
#define MON_RATELIMIT_INIT                                                                         \
	{                                                                                          \
		PTHREAD_MUTEX_INITIALIZER, 0, 0.0, 0.0, 0                                          \
	}

/* Record a failure. Returns 1 when it should be logged now and stores in *suppressed how
 * many were swallowed since the last one logged; 0 when it should be kept quiet. */
int mon_ratelimit_fail(struct mon_ratelimit *rl, unsigned long *suppressed);
/* Record a success. Returns 1 exactly once after a run of failures (log the recovery). */
int mon_ratelimit_ok(struct mon_ratelimit *rl);

/* Monotonic clock in seconds, for timeouts and durations. */
double mon_now(void);

#endif /* MONITOR_LOG_H */
