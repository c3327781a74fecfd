/* SPDX-License-Identifier: MIT
 * monitor/scheduler.h - evaluating every model's windows, shared by any number of servers
 *
 * A maintenance task (monitor/tasks.c) that every `vigil serve` runs once a second, on a
 * thread of its own (so an evaluation never holds up the notifier). Each run borrows one
 * connection and:
 *
 * 1. every evaluation_interval_s (0: this process never evaluates), in one statement each:
 *    materialises the windows of every model that has predictions, tumbling by event time
 *    and aligned to the epoch, from the window of its earliest prediction (at most
 *    evaluation_backfill_windows back) to the window holding now; marks the windows whose
 *    end + lateness has passed due; and drains window_events (appended by triggers on
 *    labels and predictions, sql/0003_evaluation.sql) into needs_reeval for windows that
 *    are done or being evaluated;
 * 2. for up to MON_SCHEDULER_BUDGET_S seconds: claims the oldest claimable window (due,
 *    needing a re-evaluation, or holding a claim that ran out) with SELECT ... FOR UPDATE
 *    SKIP LOCKED in a short transaction that sets claimed_by (this process and a claim
 *    number) and claimed_until = now + evaluation_lease_s and clears needs_reeval; loads
 *    the window and the model's active reference outside any transaction
 *    (monitor/store_window.h); computes (monitor/evaluate.h); then in one transaction checks
 *    that the claim is still its own, replaces the window's results and marks it done; and
 *    finally runs the alert rules on it (mon_alert_evaluate_window, its own transaction).
 *
 * Guarantees: a window's results are always one evaluation's complete set (replaced in one
 * transaction); two processes never both commit an evaluation of the same claim (the
 * commit checks claimed_by under the row lock), so with evaluations shorter than the lease
 * each due window is evaluated exactly once; a process that dies mid-evaluation leaves a
 * claim that runs out, and the window is evaluated again; labels or predictions that land
 * in a window after (or while) it is evaluated flag it for re-evaluation, never lost
 * (their trigger commits with them, and the claim clears the flag before loading). A
 * failed evaluation is retried after a back-off (10 s doubling, at most 1 h), with the
 * reason in windows.last_error.
 *
 * The reference is the model's active one at evaluation time; its rows, dictionaries and
 * calibration are kept for the rest of the run (a backlog of one model's windows loads it
 * once), and its own performance (reference_metrics) is written the first time it is used
 * and whenever its count of labelled rows has changed.
 *
 * For tests, the environment variable VIGIL_TEST_NOW (RFC 3339) replaces now when windows
 * are materialised and marked due (leases still use the database's clock).
 */
#ifndef MONITOR_SCHEDULER_H
#define MONITOR_SCHEDULER_H
#include "monitor/server.h"

#define MON_SCHEDULER_BUDGET_S 2.0 /* a run stops claiming windows after this */

/* The maintenance task. Returns 0 (also when the database is away: it tries again next
 * second) or a negative errno after a failure it could not handle. From its task's thread
 * only (the run state is not shared); it stops claiming windows once srv->stopping is set. */
int mon_scheduler_task(struct mon_server *srv);

#endif /* MONITOR_SCHEDULER_H */
