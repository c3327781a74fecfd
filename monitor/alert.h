/* SPDX-License-Identifier: MIT
 * monitor/alert.h - the alert engine: results to decisions, decisions to alert states,
 * state changes to the audit log and the notification outbox
 *
 * For each enabled rule of a model (monitor/alert_rule.h), a window's results are grouped
 * by (feature, segment, segment value); a group whose every condition could be decided
 * (enough rows, not insufficient, the fields present, a reference value when relative) is
 * a breach when all hold and clean otherwise, and becomes one row of alert_decisions for
 * its fingerprint (model, rule, scope, feature, segment, segment value) and window. The
 * decisions, newest window first, give the streaks that drive each fingerprint's alert:
 *
 *   (none) or resolved --[`for` consecutive breaching windows]--> firing
 *   firing --[a person acknowledges, with a note]--> acknowledged
 *   firing, acknowledged --[`clear` consecutive clean windows]--> resolved (by "vigil")
 *   firing, acknowledged --[a person resolves, with a note]--> resolved
 *
 * One alert row per fingerprint: a resolved alert that breaches again is reopened, and
 * after a hand resolution only windows after it count toward reopening. Windows without
 * a decision neither extend nor break a streak. Evaluating a window again replaces its
 * decisions, so re-running a window (late labels, a retry) never counts it twice, and
 * windows evaluated out of order are counted in window order.
 *
 * Muting: an alert matched by an active silence, or a feature/multivariate drift alert of
 * a model whose volume alert is active (inhibition), changes state like any other but
 * puts nothing in the outbox. A firing alert that was muted when it fired is announced
 * when it no longer is (next evaluation, or mon_alert_refresh); "resolved" and
 * "acknowledged" are announced only for an alert whose firing was, and only when unmuted.
 *
 * Every state change writes alert_events and the audit log (actor "vigil" for the engine,
 * the token name for a person) and, unless muted, a notifications row, in the transaction
 * of the change. Evaluations and hand actions on one model are serialised by a
 * transaction-level advisory lock (MON_LOCK_ALERT_CLASS_SQL, model id).
 *
 * Errors: -ENOENT (no such model, window or alert), -EEXIST (the alert's state does not
 * allow the action), -EAGAIN when the database is unavailable, -EIO otherwise (logged).
 * Functions are thread-safe; each uses the connection it is given.
 */
#ifndef MONITOR_ALERT_H
#define MONITOR_ALERT_H
#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "monitor/common.h"

struct mon_server;

/* pg_advisory_xact_lock(int4, int4) class for the per-model alert lock (0x56474c41, "VGLA") */
#define MON_LOCK_ALERT_CLASS_SQL "1447447617"

struct mon_alert_eval_stats {
	unsigned rules;         /* enabled rules evaluated */
	unsigned decisions;     /* (fingerprint, window) decisions written */
	unsigned fired;         /* alerts that started (or restarted) firing */
	unsigned resolved;      /* alerts resolved by clean windows */
	unsigned notifications; /* outbox rows written */
};

/* Evaluate every enabled rule of model_id on window window_id (whose results are
 * committed), as described above. Run it after each window's results commit, and again
 * whenever that window's results are replaced. If c is idle, the work is one transaction
 * of its own; if c is inside a transaction, it joins it (the caller commits; after a
 * failure the caller's transaction is aborted). Returns 0; -ENOENT when the window is not
 * the model's; -EAGAIN; -EIO. */
int mon_alert_evaluate_window(PGconn *c, int64_t model_id, int64_t window_id) MON_MUSTCHECK;

/* The same, filling *st (may be NULL) with what happened. */
int mon_alert_evaluate_window_stats(PGconn *c, int64_t model_id, int64_t window_id,
				    struct mon_alert_eval_stats *st) MON_MUSTCHECK;

/* Recompute the silenced and inhibited flags of every active alert (silences start and
 * expire with the clock, volume alerts come and go) and queue the firing notification of
 * each firing alert that is no longer muted and was never announced. One transaction per
 * model. *notified (may be NULL) receives how many were queued. Returns 0, -EAGAIN, -EIO. */
int mon_alert_refresh(PGconn *c, unsigned *notified) MON_MUSTCHECK;

/* The maintenance task running mon_alert_refresh (monitor/tasks.c). */
int mon_alert_refresh_task(struct mon_server *srv);

/* Acknowledge (firing -> acknowledged) or resolve (firing or acknowledged -> resolved)
 * alert id by hand: actor (a token name) from remote, with note (non-empty; the caller
 * checks). On success stores the alert's JSON (as mon_alert_get) in *out. Returns 0,
 * -ENOENT, -EEXIST (wrong state; *out then holds the alert), -EAGAIN, -EIO. */
int mon_alert_ack(PGconn *c, int64_t id, const char *actor, const char *remote, const char *note,
		  cJSON **out) MON_MUSTCHECK;
int mon_alert_resolve(PGconn *c, int64_t id, const char *actor, const char *remote,
		      const char *note, cJSON **out) MON_MUSTCHECK;

/* One alert as JSON with its events:
 *   {"id", "fingerprint", "model", "rule", "rule_id", "scope", "feature", "segment",
 *    "segment_value", "severity", "state", "first_breach", "last_breach",
 *    "consecutive_breaches", "consecutive_clean", "last_window_id", "last_window_end",
 *    "breached": {"window_id", "window_end", "values": [{"metric", "value", "ci_low",
 *    "ci_high", "p_value", "q_value", "n", "n_reference", "status", "method", "condition",
 *    "threshold", "reference", "offset", "breach"}]}, "silenced", "inhibited", "fired_at",
 *    "acknowledged": null | {"by", "at", "note"}, "resolved": null | {"by", "at", "note"},
 *    "labels": {...}, "updated_at", "events": [{"at", "from", "to", "actor", "note",
 *    "window_id"}]}
 * (events only from mon_alert_get). Returns 0, -ENOENT, -EAGAIN, -EIO. */
int mon_alert_get(PGconn *c, int64_t id, cJSON **out) MON_MUSTCHECK;

/* Alerts (newest change first, at most limit) filtered by state, model name and severity
 * (each NULL for any) as a JSON array. Returns 0, -EAGAIN, -EIO. */
int mon_alert_list(PGconn *c, const char *state, const char *model, const char *severity,
		   long limit, cJSON **out) MON_MUSTCHECK;

/* vigil alerts evaluate --model NAME (--window ID | --all) | refresh, with [--database URL]
 * [--config FILE]. Returns the exit status: 0, 1 when the work failed, 2 for bad usage. */
int mon_alerts_main(int argc, char **argv);

#endif /* MONITOR_ALERT_H */
