/* SPDX-License-Identifier: MIT
 * monitor/routes_evaluation.h - the scheduler's windows and their stored results over HTTP
 *
 *   GET /v1/models/{model}/windows   (viewer)
 *       [?from=&to=][&state=open|due|done][&limit=N]
 *     {"model", "evaluation_period", "lateness", "label_complete" (the model's settings),
 *      "windows": [{"id", "start", "end", "state", "evaluations", "evaluated_at",
 *                   "rows", "labeled", "label_coverage", "status", "reference_id",
 *                   "duration_ms", "needs_reeval", "claimed", "failures", "last_error"}],
 *      "truncated"}
 *     Windows whose start lies in [from, to) (RFC 3339; either may be left out), oldest
 *     first, at most limit (default 1000, at most 10000; "truncated" says whether more
 *     matched). rows, labeled, reference_id and duration_ms describe the last evaluation
 *     (null before the first); status is "final" when labeled / rows reaches the model's
 *     label_complete, "provisional" below it, null without labels; claimed is true while a
 *     server is evaluating it.
 *
 *   GET /v1/models/{model}/results   (viewer)
 *       [?from=&to=][&metric=M[,M...]][&segment=ATTR][&segment_value=V][&scope=S]
 *       [&feature=F][&window=ID][&status=provisional|final][&limit=N]
 *     {"model", "from", "to" (as given, or null), "results": [{"window_id",
 *      "window_start", "window_end", "scope", "feature", "segment", "segment_value",
 *      "metric", "value", "ci_low", "ci_high", "p_value", "q_value", "n", "n_reference",
 *      "method", "status", "insufficient", "parameters", "computed_at"}], "truncated"}
 *     The stored results of the windows whose start lies in [from, to), in window order and
 *     then in the order the evaluation wrote them. segment=ATTR keeps the rows of that
 *     attribute (every value, or segment_value's); an empty segment= keeps the rows over all
 *     of a window's data. limit: default 10000, at most 100000. Reads are audited as
 *     "results.read" (a read that cannot be recorded is not answered: 503 or 500).
 *
 * Errors (application/problem+json): 400 with the pointer "/query/<name>" for a bad
 * parameter; 404 for an unknown model; 503 with Retry-After while the database is away.
 */
#ifndef MONITOR_ROUTES_EVALUATION_H
#define MONITOR_ROUTES_EVALUATION_H
#include "monitor/http.h"

void mon_api_windows_get(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_results_get(struct mon_http_req *req, struct mon_http_resp *resp);

#endif /* MONITOR_ROUTES_EVALUATION_H */
