/* SPDX-License-Identifier: MIT
 * monitor/silence.h - silences: time-boxed, commented mutes of alert notifications
 *
 * A silence is Alertmanager's: matchers over an alert's labels (alertname, model, rule,
 * scope, feature, segment, segment_value, severity), all of which must hold,
 *   [{"name": "model", "value": "sepsis", "isRegex": false, "isEqual": true}, ...]
 * (a regex is anchored: it must match the whole value; a missing label is ""), a start
 * (default now) and an end, an author (default the caller's token name) and a comment,
 * which is mandatory. It mutes from starts_at until ends_at, or until it is deleted, with no
 * job to expire it: sql/0004's alert_silences_for compares with the clock. A muted alert
 * still changes state; only its notifications are held back (monitor/alert.h).
 *
 * Creating and deleting are audited in the same transaction. Errors: -EINVAL (diag names
 * the field), -ENOENT, -EAGAIN when the database is unavailable, -EIO otherwise (logged).
 */
#ifndef MONITOR_SILENCE_H
#define MONITOR_SILENCE_H
#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "collectors/record.h"
#include "monitor/common.h"

#define MON_SILENCE_MATCHERS_MAX 16
#define MON_SILENCE_COMMENT_MAX 2000

/* Validate body ({"matchers", "starts_at", "ends_at", "author", "comment"}; times in
 * RFC 3339; ends_at after starts_at and in the future) and store it as created by actor
 * from remote. Stores the new silence's JSON (as in mon_silence_list) in *out. Returns 0,
 * -EINVAL (diag filled; also for a regex PostgreSQL refuses), -EAGAIN, -EIO. */
int mon_silence_create(PGconn *c, const cJSON *body, const char *actor, const char *remote,
		       cJSON **out, struct col_diag *diag) MON_MUSTCHECK;

/* Silences, newest first (at most 500), as a JSON array of {"id", "matchers", "starts_at",
 * "ends_at", "author", "comment", "created_by", "created_at", "deleted_at", "deleted_by",
 * "state"}, state being "pending", "active" or "expired" (ended or deleted); state (NULL
 * for any) filters on it. Returns 0, -EAGAIN, -EIO. */
int mon_silence_list(PGconn *c, const char *state, cJSON **out) MON_MUSTCHECK;

/* Delete (expire now) silence id, audited. Returns 0; -ENOENT when there is no such
 * silence or it was deleted already; -EAGAIN; -EIO. */
int mon_silence_delete(PGconn *c, int64_t id, const char *actor, const char *remote) MON_MUSTCHECK;

#endif /* MONITOR_SILENCE_H */
