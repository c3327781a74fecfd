/* SPDX-License-Identifier: MIT
 * monitor/routes.c - the route table: every (method, path pattern) the server answers
 *
 * One line per route: method, pattern ({name} matches one path segment and reaches the
 * handler as req->params[i], in order), the least role allowed (admin may do everything;
 * compliance may do what viewer may; MON_ROLE_NONE is public), the handler and a summary
 * for /openapi.json, which is generated from this table. The server routes to the first
 * line whose pattern and method match; a path that matches only with other methods gets
 * 405 with Allow, one that matches nothing 404. The /metrics route label is the pattern.
 *
 * To add a route: include your handler's header below and add one line in the block
 * marked for handlers. Keep lines ordered by path. tests/integration/platform.sh checks
 * that every line is dispatched and described in /openapi.json.
 */
#include "config.h"

#include "monitor/api_platform.h"
#include "monitor/audit.h"
#include "monitor/auth.h"
#include "monitor/http.h"
/* handlers' headers: add yours here */
#include "monitor/routes_alerts.h"
#include "monitor/routes_analysis.h"
#include "monitor/routes_evaluation.h"
#include "monitor/routes_ingest.h"
#include "monitor/routes_models.h"

const struct mon_http_route mon_http_routes[] = {
	/* platform (monitor/api_platform.c, audit.c, auth.c) */
	{"GET", "/healthz", MON_ROLE_NONE, mon_api_healthz, "Liveness: the process answers"},
	{"GET", "/readyz", MON_ROLE_NONE, mon_api_readyz,
	 "Readiness: the database answers and its schema is current"},
	{"GET", "/metrics", MON_ROLE_NONE, mon_api_metrics,
	 "Prometheus metrics (text format 0.0.4)"},
	{"GET", "/openapi.json", MON_ROLE_NONE, mon_api_openapi,
	 "This API description (OpenAPI 3), generated from the route table"},
	{"GET", "/v1/audit", MON_ROLE_COMPLIANCE, mon_api_audit_list,
	 "Audit log entries, newest first (limit, before); the read is itself audited"},
	{"GET", "/v1/tokens", MON_ROLE_ADMIN, mon_api_token_list,
	 "API tokens: names, roles, creation and revocation times (never secrets)"},
	{"POST", "/v1/tokens", MON_ROLE_ADMIN, mon_api_token_create,
	 "Create an API token {name, role}; the token is returned once"},
	{"DELETE", "/v1/tokens/{name}", MON_ROLE_ADMIN, mon_api_token_revoke,
	 "Revoke an API token (effective within token_cache_ttl_s)"},

	/* ---- handlers: one line each (models, predictions, labels, references, drift,
	 * performance, ...), ordered by path ---- */

	{"GET", "/v1/alerts", MON_ROLE_VIEWER, mon_api_alerts_list,
	 "Alerts, newest change first: ?state=firing|acknowledged|resolved, model, "
	 "severity=page|ticket|info, limit (100); each with its breaching values and intervals"},
	{"GET", "/v1/alerts/{id}", MON_ROLE_VIEWER, mon_api_alert_get,
	 "One alert with its history of state changes"},
	{"POST", "/v1/alerts/{id}/ack", MON_ROLE_ONCALL, mon_api_alert_ack,
	 "Acknowledge a firing alert {note}: 400 without a note, 409 when not firing"},
	{"POST", "/v1/alerts/{id}/resolve", MON_ROLE_ONCALL, mon_api_alert_resolve,
	 "Resolve an alert by hand {note}: 400 without a note, 409 when resolved already"},
	{"GET", "/v1/models", MON_ROLE_VIEWER, mon_api_model_list,
	 "Registered models with their schemas"},
	{"POST", "/v1/models", MON_ROLE_ADMIN, mon_api_model_create,
	 "Register a model {name, version, threshold, positive_label, negative_label, features, "
	 "segments, evaluation_period, lateness, label_complete, fn_cost, fp_cost}: 201, 200 "
	 "when identical, 409 when the name has another schema or settings"},
	{"GET", "/v1/models/{model}", MON_ROLE_VIEWER, mon_api_model_get,
	 "One model and its schema"},
	{"GET", "/v1/models/{model}/drift", MON_ROLE_VIEWER, mon_api_drift_get,
	 "Drift of stored predictions vs a reference (`vigil drift` JSON): ?from&to (RFC 3339), "
	 "reference=ID (default: active), segment=ATTR (per value), mmd, permutations, seed, "
	 "alpha, mmd_max_rows; audited"},
	{"GET", "/v1/models/{model}/estimate", MON_ROLE_VIEWER, mon_api_estimate_get,
	 "Label-free CBPE estimate (`vigil estimate` JSON) calibrated on the reference: "
	 "?from&to, by=a,b, intersections, min_n, draws, seed, reference=ID; audited"},
	{"POST", "/v1/models/{model}/labels", MON_ROLE_INGEST, mon_api_labels_post,
	 "Ingest labels [{prediction_id, label, ts}] (JSON, NDJSON or CSV); 200 after commit"},
	{"GET", "/v1/models/{model}/performance", MON_ROLE_VIEWER, mon_api_performance_get,
	 "Realised performance per segment (`vigil perf` JSON) of labelled predictions: "
	 "?from&to, by=a,b, intersections, min_n; unlabeled_rows, label_coverage; audited"},
	{"POST", "/v1/models/{model}/predictions", MON_ROLE_INGEST, mon_api_predictions_post,
	 "Ingest predictions (JSON array, NDJSON or CSV; ?atomic=true); 200 after commit"},
	{"GET", "/v1/models/{model}/references", MON_ROLE_VIEWER, mon_api_references_list,
	 "The model's references; exactly one is active"},
	{"POST", "/v1/models/{model}/references", MON_ROLE_ADMIN, mon_api_references_post,
	 "Upload a labelled reference, or name a range {from, to}; it becomes the active one"},
	{"GET", "/v1/models/{model}/results", MON_ROLE_VIEWER, mon_api_results_get,
	 "Stored evaluation results of the model's windows: ?from&to (window start), "
	 "metric=a,b, segment=ATTR (empty: all data), segment_value, scope, feature, window, "
	 "status, limit; audited"},
	{"GET", "/v1/models/{model}/rules", MON_ROLE_VIEWER, mon_api_alert_rules_list,
	 "The model's alert rules (defaults included), severities resolved from its costs"},
	{"POST", "/v1/models/{model}/rules", MON_ROLE_ADMIN, mon_api_alert_rules_post,
	 "Create or replace (by name) an alert rule {name, scope, metric, condition, threshold "
	 "| baseline+offset, and, feature, segment, severity | severity_follows, for, clear, "
	 "min_n, status, enabled}: 201 new, 200 replaced"},
	{"GET", "/v1/models/{model}/windows", MON_ROLE_VIEWER, mon_api_windows_get,
	 "The model's evaluation windows and their state: ?from&to, state=open|due|done, limit"},
	{"GET", "/v1/silences", MON_ROLE_VIEWER, mon_api_silences_list,
	 "Silences, newest first: ?state=pending|active|expired"},
	{"POST", "/v1/silences", MON_ROLE_ONCALL, mon_api_silence_create,
	 "Silence notifications {matchers, starts_at, ends_at, author, comment}: 201"},
	{"DELETE", "/v1/silences/{id}", MON_ROLE_ONCALL, mon_api_silence_delete,
	 "Delete (expire) a silence: 204"},

	/* ---- end of handlers ---- */
};

const size_t mon_http_nroutes = sizeof(mon_http_routes) / sizeof(mon_http_routes[0]);
