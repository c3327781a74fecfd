/* SPDX-License-Identifier: MIT
 * monitor/receiver.c - parsing and checking the receiver.NAME.FIELD settings
 *
 * Receivers are the one part of the settings whose keys are not fixed, so they live beside
 * cfg.c's table rather than in it: cfg.c hands every "receiver." key here and keeps the
 * result in struct mon_cfg. Values are checked as they arrive (type, bounds, URL shape);
 * that each receiver is complete is checked once all sources are read.
 */
#include "config.h"

#include "monitor/receiver.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define TIMEOUT_DEFAULT 10
#define TIMEOUT_MAX 300
#define ATTEMPTS_DEFAULT 100
#define ATTEMPTS_MAX 100000

static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

const char *mon_receiver_type_name(enum mon_receiver_type t)
{
	switch (t) {
	case MON_RECEIVER_WEBHOOK:
		return "webhook";
	case MON_RECEIVER_ALERTMANAGER:
		return "alertmanager";
	case MON_RECEIVER_UNSET:
		break;
	}
	return "unset";
}

static int valid_name(const char *s, size_t len)
{
	if (len == 0 || len > MON_RECEIVER_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

/* http:// or https://, a host, no spaces or control characters. */
static int valid_url(const char *u)
{
	const char *host;
	size_t len = strlen(u);

	if (len > MON_RECEIVER_URL_MAX)
		return 0;
	if (!strncmp(u, "http://", 7))
		host = u + 7;
	else if (!strncmp(u, "https://", 8))
		host = u + 8;
	else
		return 0;
	if (!*host || *host == '/')
		return 0;
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return 0;
	return 1;
}

static int parse_bounded(const char *v, unsigned min, unsigned max, unsigned *out)
{
	unsigned long n;
	char *end;

	if (!isdigit((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n < min || n > max)
		return -EINVAL;
	*out = (unsigned)n;
	return 0;
}

static struct mon_receiver *get(struct mon_receivers *rs, const char *name, size_t len)
{
	struct mon_receiver *r;

	for (size_t i = 0; i < rs->n; i++)
		if (strlen(rs->v[i].name) == len && !strncmp(rs->v[i].name, name, len))
			return &rs->v[i];
	rs->v = mon_xrealloc(rs->v, (rs->n + 1) * sizeof(*rs->v));
	r = &rs->v[rs->n++];
	memset(r, 0, sizeof(*r));
	r->name = mon_xstrndup(name, len);
	r->timeout_s = TIMEOUT_DEFAULT;
	r->max_attempts = ATTEMPTS_DEFAULT;
	return r;
}

int mon_receivers_set(struct mon_receivers *rs, const char *key, const char *val, const char *src,
		      char *err, size_t errlen)
{
	const char *dot = strrchr(key, '.');
	const char *field;
	struct mon_receiver *r;

	if (!dot || !valid_name(key, (size_t)(dot - key))) {
		seterr(err, errlen,
		       "invalid setting \"receiver.%s\": expected receiver.NAME.FIELD with NAME "
		       "of 1..%d letters, digits, _ or - (from %s)",
		       key, MON_RECEIVER_NAME_MAX, src);
		return -EINVAL;
	}
	field = dot + 1;
	if (strcmp(field, "type") && strcmp(field, "url") && strcmp(field, "timeout_s") &&
	    strcmp(field, "max_attempts")) {
		seterr(err, errlen,
		       "unknown setting \"receiver.%s\": a receiver has type, url, timeout_s and "
		       "max_attempts (from %s)",
		       key, src);
		return -EINVAL;
	}
	r = get(rs, key, (size_t)(dot - key));
	if (!strcmp(field, "type")) {
		if (!strcmp(val, "webhook")) {
			r->type = MON_RECEIVER_WEBHOOK;
		} else if (!strcmp(val, "alertmanager")) {
			r->type = MON_RECEIVER_ALERTMANAGER;
		} else {
			seterr(err, errlen,
			       "invalid value for receiver.%s: \"%s\" is not webhook or "
			       "alertmanager (from %s)",
			       key, val, src);
			return -EINVAL;
		}
	} else if (!strcmp(field, "url")) {
		if (!valid_url(val)) {
			seterr(err, errlen,
			       "invalid value for receiver.%s: not an http:// or https:// URL "
			       "(from %s)",
			       key, src);
			return -EINVAL;
		}
		free(r->url);
		r->url = mon_xstrndup(val, strlen(val));
	} else if (!strcmp(field, "timeout_s")) {
		if (parse_bounded(val, 1, TIMEOUT_MAX, &r->timeout_s)) {
			seterr(err, errlen,
			       "invalid value for receiver.%s: \"%s\" is not a whole number in "
			       "[1, %d] (from %s)",
			       key, val, TIMEOUT_MAX, src);
			return -EINVAL;
		}
	} else if (parse_bounded(val, 1, ATTEMPTS_MAX, &r->max_attempts)) {
		seterr(err, errlen,
		       "invalid value for receiver.%s: \"%s\" is not a whole number in [1, %d] "
		       "(from %s)",
		       key, val, ATTEMPTS_MAX, src);
		return -EINVAL;
	}
	return 0;
}

int mon_receivers_check(const struct mon_receivers *rs, char *err, size_t errlen)
{
	for (size_t i = 0; i < rs->n; i++) {
		if (rs->v[i].type == MON_RECEIVER_UNSET) {
			seterr(err, errlen, "receiver %s has no type (receiver.%s.type)",
			       rs->v[i].name, rs->v[i].name);
			return -EINVAL;
		}
		if (!rs->v[i].url) {
			seterr(err, errlen, "receiver %s has no url (receiver.%s.url)",
			       rs->v[i].name, rs->v[i].name);
			return -EINVAL;
		}
	}
	return 0;
}

void mon_receivers_copy(struct mon_receivers *dst, const struct mon_receivers *src)
{
	dst->n = src->n;
	dst->v = src->n ? mon_xcalloc(src->n, sizeof(*dst->v)) : NULL;
	for (size_t i = 0; i < src->n; i++) {
		dst->v[i] = src->v[i];
		dst->v[i].name = mon_xstrndup(src->v[i].name, strlen(src->v[i].name));
		dst->v[i].url =
			src->v[i].url ? mon_xstrndup(src->v[i].url, strlen(src->v[i].url)) : NULL;
	}
}

static int streq_null(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

int mon_receivers_equal(const struct mon_receivers *a, const struct mon_receivers *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct mon_receiver *x = &a->v[i], *y = &b->v[i];

		if (strcmp(x->name, y->name) || x->type != y->type || !streq_null(x->url, y->url) ||
		    x->timeout_s != y->timeout_s || x->max_attempts != y->max_attempts)
			return 0;
	}
	return 1;
}

void mon_receivers_fini(struct mon_receivers *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->v[i].name);
		free(rs->v[i].url);
	}
	free(rs->v);
	rs->v = NULL;
	rs->n = 0;
}

const struct mon_receiver *mon_receivers_find(const struct mon_receivers *rs, const char *name)
{
	for (size_t i = 0; i < rs->n; i++)
		if (!strcmp(rs->v[i].name, name))
			return &rs->v[i];
	return NULL;
}

void mon_receivers_print(const struct mon_receivers *rs, FILE *f)
{
	for (size_t i = 0; i < rs->n; i++) {
		const struct mon_receiver *r = &rs->v[i];
		const char *u = r->url ? r->url : "";
		const char *host = strstr(u, "://");
		const char *at = host ? strchr(host + 3, '@') : NULL;
		const char *colon = host ? strchr(host + 3, ':') : NULL;
		const char *slash = host ? strchr(host + 3, '/') : NULL;

		fprintf(f, "receiver.%s.type = %s\n", r->name, mon_receiver_type_name(r->type));
		if (at && (!slash || at < slash) && colon && colon < at)
			fprintf(f, "receiver.%s.url = \"%.*s***%s\"\n", r->name,
				(int)(colon + 1 - u), u, at);
		else
			fprintf(f, "receiver.%s.url = \"%s\"\n", r->name, u);
		fprintf(f, "receiver.%s.timeout_s = %u\n", r->name, r->timeout_s);
		fprintf(f, "receiver.%s.max_attempts = %u\n", r->name, r->max_attempts);
	}
}
