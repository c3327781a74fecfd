/* SPDX-License-Identifier: MIT
 * monitor/receiver.h - notification receivers named in the config file
 *
 * A receiver is where the notifier (monitor/notify.h) delivers alert notifications: a
 * generic webhook (Alertmanager's webhook payload, version "4") or a Prometheus
 * Alertmanager (its POST /api/v2/alerts API). Receivers come only from the operator's
 * settings: "receiver.NAME.FIELD = value" lines in the config file or --set, never from API
 * input. Fields:
 *
 *   receiver.NAME.type          webhook | alertmanager                    (required)
 *   receiver.NAME.url           http(s) URL; for alertmanager the base,   (required)
 *                               e.g. http://127.0.0.1:9093 (the notifier adds /api/v2/alerts)
 *   receiver.NAME.timeout_s     whole request, 1..300, default 10
 *   receiver.NAME.max_attempts  attempts before a delivery fails for good, 1..100000,
 *                               default 100
 *
 * NAME is 1..64 of [A-Za-z0-9_-]. A struct mon_receivers is a value: fill it with
 * mon_receivers_set (zeroed first), check it with mon_receivers_check, copy it with
 * mon_receivers_copy and release it with mon_receivers_fini. Not thread-safe while being
 * filled; read-only (and so shareable) afterwards.
 */
#ifndef MONITOR_RECEIVER_H
#define MONITOR_RECEIVER_H
#include <stddef.h>
#include <stdio.h>

#include "monitor/common.h"

#define MON_RECEIVER_NAME_MAX 64
#define MON_RECEIVER_URL_MAX 2048

enum mon_receiver_type {
	MON_RECEIVER_UNSET = 0,
	MON_RECEIVER_WEBHOOK,
	MON_RECEIVER_ALERTMANAGER,
};

struct mon_receiver {
	char *name;
	enum mon_receiver_type type;
	char *url; /* NULL until set */
	unsigned timeout_s;
	unsigned max_attempts;
};

struct mon_receivers {
	struct mon_receiver *v; /* in the order first named */
	size_t n;
};

/* Apply one setting: key is the part after "receiver." ("NAME.FIELD"), val its value, src
 * where it came from (for messages). A later value for the same field wins. Returns 0, or
 * -EINVAL with a message naming the key and src in err. */
int mon_receivers_set(struct mon_receivers *rs, const char *key, const char *val, const char *src,
		      char *err, size_t errlen) MON_MUSTCHECK;

/* Every receiver has a type and a url. Returns 0, or -EINVAL with a message in err. */
int mon_receivers_check(const struct mon_receivers *rs, char *err, size_t errlen) MON_MUSTCHECK;

/* Deep copy src into dst (dst's old contents are not freed). Aborts when out of memory. */
void mon_receivers_copy(struct mon_receivers *dst, const struct mon_receivers *src);
/* 1 when both list the same receivers with the same fields, in the same order. */
int mon_receivers_equal(const struct mon_receivers *a, const struct mon_receivers *b);
/* Free the contents and zero rs. */
void mon_receivers_fini(struct mon_receivers *rs);

/* The receiver called name, or NULL. Borrowed from rs. */
const struct mon_receiver *mon_receivers_find(const struct mon_receivers *rs, const char *name);

/* Print as config lines; a password in a URL (user:secret@) is masked. */
void mon_receivers_print(const struct mon_receivers *rs, FILE *f);

const char *mon_receiver_type_name(enum mon_receiver_type t);

#endif /* MONITOR_RECEIVER_H */
