/* SPDX-License-Identifier: MIT
 * monitor/log.c - leveled logging to stderr and a rate limiter for recurring failures
 *
 * Lines go to stderr, where journald or the test harness picks them up. A line is formatted
 * into a stack buffer first and written with a single write(2): stdio locking would do, but
 * one write also keeps lines whole when several processes share the file.
 */
#include "config.h"

#include "monitor/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN 2048
#define RL_FIRST 1.0
#define RL_MAX 300.0

static atomic_int cur_level = MON_LOG_INFO;

static const char *const names[] = {"error", "warning", "info", "debug"};
static const char *const tags[] = {"ERROR", "WARNING", "LOG", "DEBUG"};

void mon_log_set_level(enum mon_log_level level)
{
	atomic_store(&cur_level, (int)level);
}

int mon_log_enabled(enum mon_log_level level)
{
	return (int)level <= atomic_load(&cur_level);
}

int mon_log_parse_level(const char *s, enum mon_log_level *out)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum mon_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *mon_log_level_name(enum mon_log_level level)
{
	if ((unsigned)level >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[level];
}

void mon_log(enum mon_log_level level, const char *fmt, ...)
{
	char line[LINE_MAX_LEN];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t n;
	int k;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
	k = snprintf(line + n, sizeof(line) - n, ".%03ld UTC %s:  ", ts.tv_nsec / 1000000L,
		     tags[(unsigned)level < 4 ? level : MON_LOG_ERR]);
	if (k > 0)
		n += (size_t)k;
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (k > 0)
		n += (size_t)k;
	if (n > sizeof(line) - 2) {
		/* truncated: mark it and keep the newline */
		n = sizeof(line) - 2;
		memcpy(line + n - 3, "...", 3);
	}
	line[n++] = '\n';
	/* nothing sensible to do when stderr is gone */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

double mon_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int mon_ratelimit_fail(struct mon_ratelimit *rl, unsigned long *suppressed)
{
	double now = mon_now();
	int log = 0;

	pthread_mutex_lock(&rl->lock);
	if (!rl->failing || now >= rl->next) {
		log = 1;
		*suppressed = rl->suppressed;
		rl->suppressed = 0;
		rl->interval = rl->failing ? rl->interval * 2 : RL_FIRST;
		if (rl->interval > RL_MAX)
			rl->interval = RL_MAX;
		rl->next = now + rl->interval;
		rl->failing = 1;
	} else {
		rl->suppressed++;
	}
	pthread_mutex_unlock(&rl->lock);
	return log;
}

int mon_ratelimit_ok(struct mon_ratelimit *rl)
{
	int was;

	pthread_mutex_lock(&rl->lock);
	was = rl->failing;
	rl->failing = 0;
	rl->suppressed = 0;
	rl->interval = 0.0;
	pthread_mutex_unlock(&rl->lock);
	return was;
}
