/* SPDX-License-Identifier: MIT
 * monitor/routes_analysis.h - drift, performance and estimates computed from stored data
 *
 *   GET /v1/models/{model}/drift        (viewer)
 *       ?from=&to=[&reference=ID][&segment=ATTR][&mmd=true][&permutations=N][&seed=S]
 *       [&alpha=A][&mmd_max_rows=N]
 *   GET /v1/models/{model}/performance  (viewer)
 *       ?from=&to=[&by=A,B][&intersections=true][&min_n=N]
 *   GET /v1/models/{model}/estimate     (viewer)
 *       ?from=&to=[&by=A,B][&intersections=true][&min_n=N][&draws=B][&seed=S]
 *       [&reference=ID]
 *
 * The window is the model's stored predictions with from <= ts < to (RFC 3339; from < to),
 * read with mon_store_window_load; the reference is the model's active one unless
 * ?reference=ID names another of its references. Each answer is the JSON the offline
 * command prints for the same rows (`vigil drift`, `vigil perf`, `vigil estimate`), built by
 * the same code (monitor/drift_report.c, perf_report.c), with these members added in front:
 * "model", "from", "to" (canonical RFC 3339, UTC) and, for drift and estimate,
 * "reference_id".
 *
 * drift: the features in declaration order, then the model's output as one more numeric
 * feature, named in "output_feature": "score", or, when the model declares a feature or
 * segment named "score", "_score" (underscores are added until the name is free). Options
 * as `vigil drift`: mmd (default false), permutations (100), seed (1), alpha (0.05),
 * mmd_max_rows. With ?segment=ATTR the answer is instead
 *   {"model", "from", "to", "reference_id", "output_feature", "segment": ATTR,
 *    "overall": <drift report>,
 *    "segments": [{"value": "female", "report": <drift report of the reference rows with
 *                  that value vs the window rows with that value>}, ...]}
 * one entry per value seen in the reference or the window, ordered by value, rows with
 * no value last ("value": null); the reports' current_rows (and reference_rows) add up to
 * the overall ones. Each report is what `vigil drift` prints for that value's rows alone
 * (categories listed in their order of first appearance among those rows);
 * Benjamini-Hochberg runs within each report.
 *
 * performance: realised metrics (mon_perf_report) at the model's threshold over the window
 * rows that have a label; by names segment attributes; min_n (30) and intersections
 * (false) as `vigil perf`. Added: "rows" (the window's predictions), "labeled_rows",
 * "unlabeled_rows" (left out, as `vigil perf` leaves out rows without a label) and
 * "label_coverage" (labeled / rows; null for an empty window).
 *
 * estimate: CBPE (mon_estimate_report) with an isotonic calibration fitted on the
 * reference's labelled rows; the window's labels are used for "realized" and "error" only
 * when every window row has one (as `vigil estimate` does with an incomplete label column).
 * Added: "reference_rows" (labelled reference rows), "current_rows", "labeled_rows".
 *
 * Errors (application/problem+json; a query parameter at fault is named by the pointer
 * "/query/<name>", e.g. "/query/from"): 400 for a missing or malformed parameter, from >=
 * to, or a segment / by name that is not a segment attribute of the model; 404 for an
 * unknown model or reference; 409 when the model has no active reference (drift,
 * estimate) or the reference has no labelled row (estimate); 413 when the window or the
 * reference holds more than max_window_rows rows (the problem carries "limit"); 503 with
 * Retry-After when the database is unavailable, or (type ".../analysis-timeout") when a
 * query ran past analysis_statement_timeout_s.
 *
 * Answers are cached and shared between identical concurrent requests
 * (monitor/analysis_cache.h), keyed by the model's data version read in the same snapshot
 * as the rows (sql/0006_data_version.sql), so a cached answer is never stale. The handlers
 * run on the analysis workers (monitor/http.h), never on libmicrohttpd's threads.
 *
 * Every request is recorded in the audit log as "drift.read", "performance.read" or
 * "estimate.read" with the model as target and its outcome ("ok", "invalid", "not_found",
 * "no_reference", "too_large", "timeout", "error"); a successful read is recorded before it
 * is answered, and a read that cannot be recorded is not answered (503 or 500). A cached or
 * shared answer is recorded too, with the computing request's detail and "cache": "hit" or
 * "shared".
 */
#ifndef MONITOR_ROUTES_ANALYSIS_H
#define MONITOR_ROUTES_ANALYSIS_H
#include "monitor/http.h"

void mon_api_drift_get(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_performance_get(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_estimate_get(struct mon_http_req *req, struct mon_http_resp *resp);

/* 1 when fn is one of the handlers above: monitor/http.c runs those on its analysis
 * workers, off libmicrohttpd's threads. XXX: a flags column in the route table
 * (monitor/routes.c) would say this more directly. */
int mon_api_analysis_route(mon_http_handler_fn fn);

struct mon_server;
/* Maintenance task (monitor/tasks.c): fold each model's data marks into one row
 * (sql/0006_data_version.sql: model_data_marks_fold), so reading a version stays an index
 * lookup of a few rows. Returns 0, -EAGAIN or -EIO. */
int mon_api_analysis_marks_task(struct mon_server *srv);

#endif /* MONITOR_ROUTES_ANALYSIS_H */
