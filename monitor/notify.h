/* SPDX-License-Identifier: MIT
 * monitor/notify.h - the notifier: delivering the alert outbox to webhooks and Alertmanager
 *
 * The alert engine writes one row into the notifications outbox (sql/0004_alerts.sql) in the
 * same transaction as each alert state change. The notifier, a maintenance task that runs
 * every second in every vigil serve sharing the database, then:
 *
 * 1. fans out: each new notification gets one row in notification_deliveries
 *    (sql/0005_notify.sql) per configured receiver, or only for the receiver it names;
 * 2. claims due deliveries with FOR UPDATE SKIP LOCKED and leases them (attempts + 1,
 *    next_attempt_at = now + lease), so replicas never send the same one at once and a
 *    process killed mid-send leaves a lease that simply runs out: the delivery is sent again
 *    (at least once). A delivery waits while an older one for the same alert and receiver is
 *    pending, so a receiver never sees "resolved" before its "firing";
 * 3. sends each with libcurl and records the outcome: 2xx delivered; a network error, 5xx,
 *    408 or 429 is retried after an exponential back-off with full jitter (mon_notify_backoff)
 *    but not before Retry-After, until the receiver's max_attempts; any other status
 *    (other 4xx, an unfollowed redirect) fails the delivery for good, logged, with the
 *    status in last_error;
 * 4. every notify_resend_s, re-sends every alert still firing to each Alertmanager receiver
 *    (as Prometheus does), so Alertmanager keeps it active; once per period across replicas.
 *
 * Webhook receivers get Alertmanager's webhook payload (version "4"), one alert per POST,
 * with the headers Idempotency-Key (stable per notification: the receiver's dedup key) and
 * X-Vigil-Event (firing, resolved or acknowledged). Alertmanager receivers get
 * POST {url}/api/v2/alerts with [{labels, annotations, startsAt, endsAt, generatorURL}].
 * Outcomes are counted in vigil_notifications_total{receiver,outcome}.
 *
 * The pure helpers below are exposed for the unit tests (tests/check_notify.c).
 */
#ifndef MONITOR_NOTIFY_H
#define MONITOR_NOTIFY_H
#include <cjson/cJSON.h>
#include <stdint.h>
#include <time.h>

#include "monitor/common.h"
#include "monitor/server.h"

#define MON_NOTIFY_BACKOFF_BASE_S 1.0
#define MON_NOTIFY_BACKOFF_CAP_S 300.0
#define MON_NOTIFY_RETRY_AFTER_MAX_S 3600.0

/* The maintenance task (mon_server_tasks[], every second). Does at most a few seconds of
 * work per call and returns early once srv->stopping is set (an HTTP request in progress is
 * aborted; its delivery stays due). Thread-safe; takes its own database connection.
 * Returns 0, or -EAGAIN when the database is unavailable. */
int mon_notify_task(struct mon_server *srv) MON_MUSTCHECK;

/* Seconds to wait before the next attempt after attempts failed ones (>= 1): full jitter,
 * u * min(cap, base * 2^(attempts-1)) for u uniform in [0, 1), but never less than
 * retry_after (a receiver's Retry-After, 0 when absent; capped at
 * MON_NOTIFY_RETRY_AFTER_MAX_S). */
double mon_notify_backoff(unsigned attempts, double u, double retry_after);

/* Retry-After's value (delay-seconds or an HTTP-date) as seconds from now; -1 when it is
 * neither. A date in the past gives 0. */
double mon_notify_parse_retry_after(const char *v, time_t now);

enum mon_notify_outcome {
	MON_NOTIFY_DELIVERED,
	MON_NOTIFY_RETRY,  /* network error, 5xx, 408, 429 */
	MON_NOTIFY_FAILED, /* any other status: never retried */
};
/* Classify an HTTP status (0 for a network error). */
enum mon_notify_outcome mon_notify_classify(long status);

/* Alertmanager's fingerprint of a label set (prometheus/common model.LabelSet.Fingerprint:
 * FNV-1a 64 over the names in byte order, each name and value followed by 0xff), of the
 * string-valued members of labels. */
uint64_t mon_notify_fingerprint(const cJSON *labels);

/* Build the label set that is sent from an outbox payload's "labels": string members kept,
 * numbers and booleans as text, null and empty values dropped. Returns a new object. */
cJSON *mon_notify_labels(const cJSON *payload);

/* The webhook body (Alertmanager webhook format version "4") for one outbox notification:
 * event is "firing", "resolved" or "acknowledged" (status "firing"); payload the outbox's
 * payload; receiver the receiver's name; external_url notify_external_url (externalURL, and
 * the base of a relative generatorURL). Returns a new string (free with cJSON_free), or
 * NULL when payload is not an object. */
char *mon_notify_webhook_body(const char *event, const cJSON *payload, const char *receiver,
			      const char *external_url);

/* One alert as Alertmanager's POST /api/v2/alerts takes it, added to the array arr. A
 * firing (or acknowledged) alert gets endsAt = now + ends_in_s so that Alertmanager resolves
 * it if vigil stops re-sending; a resolved one its payload's endsAt (now when missing).
 * A relative generatorURL is made absolute with external_url (when not ""). Returns 0, or
 * -EINVAL when payload is not an object. */
int mon_notify_am_alert(cJSON *arr, const char *event, const cJSON *payload,
			const char *external_url, time_t now, unsigned ends_in_s) MON_MUSTCHECK;

#endif /* MONITOR_NOTIFY_H */
