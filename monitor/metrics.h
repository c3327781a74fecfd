/* SPDX-License-Identifier: MIT
 * monitor/metrics.h - the daemon's Prometheus metrics: counters, histograms, text exposition
 *
 * One struct mon_metrics per server (srv->metrics). Updates are lock-free atomics on the
 * request path; rendering walks them without stopping writers, so a scrape sees each value
 * at some instant during the scrape (as with any Prometheus client library).
 *
 * Series (text exposition format 0.0.4):
 *   vigil_http_requests_total{route,method,status}      counter
 *   vigil_http_request_duration_seconds{route}          histogram
 *   vigil_http_requests_in_flight                       gauge
 *   vigil_ingested_records_total{model,kind}            counter
 *   vigil_rejected_records_total{model,kind}            counter
 *   vigil_notifications_total{receiver,outcome}         counter (monitor/notify.c)
 *   vigil_analysis_cache_{hits,misses,shared}_total      counter (monitor/routes_analysis.c)
 *   vigil_analysis_abandoned_total                       counter (monitor/http.c)
 *   vigil_analysis_cache_entries, _bytes                 gauge
 *   vigil_db_errors_total, vigil_db_up                   counter, gauge (set at render)
 *   vigil_build_info{version}, process_*                 gauge
 * Labels are bounded: route is the route *pattern* (or "unmatched"), never the raw path;
 * method is one of a fixed set; models beyond MON_METRICS_MAX_MODELS share "other".
 *
 * Create with mon_metrics_new, destroy with mon_metrics_free. Everything else is thread-safe.
 */
#ifndef MONITOR_METRICS_H
#define MONITOR_METRICS_H
#include <stddef.h>

#include "monitor/common.h"

#define MON_METRICS_MAX_MODELS 1024

struct mon_metrics; /* opaque */

/* nroutes is the length of the route table; route indexes are 0..nroutes-1, and
 * MON_METRICS_UNMATCHED stands for a path that matched no route. Aborts when out of memory. */
struct mon_metrics *mon_metrics_new(size_t nroutes);
void mon_metrics_free(struct mon_metrics *m); /* NULL is a no-op */

#define MON_METRICS_UNMATCHED ((size_t)-1)

/* Count one finished HTTP request: route index (or MON_METRICS_UNMATCHED), the request's
 * method (unknown methods count as "other"), the status sent and its duration. */
void mon_metrics_observe_request(struct mon_metrics *m, size_t route, const char *method,
				 int status, double seconds);
/* Requests being processed now: +1 when one starts, -1 when it completes. */
void mon_metrics_in_flight(struct mon_metrics *m, int delta);

/* For the ingest handlers: count records of kind ("prediction", "label", "reference", ...)
 * for model: accepted ones into vigil_ingested_records_total, rejected ones into
 * vigil_rejected_records_total. model and kind are copied. */
void mon_metrics_add_ingested(struct mon_metrics *m, const char *model, const char *kind,
			      unsigned long accepted, unsigned long rejected);

/* For the notifier: count one outcome ("delivered", "retry", "failed", "resent",
 * "resend_error") of a delivery to receiver in vigil_notifications_total. Receivers come
 * from the config file, so series are few; past MON_METRICS_MAX_MODELS they share "other".
 * receiver and outcome are copied. */
void mon_metrics_add_notification(struct mon_metrics *m, const char *receiver, const char *outcome);

/* The analysis routes: one request answered from the cache (HIT), one computation (MISS),
 * one request answered by an identical one's computation (SHARED), one queued request
 * skipped because its client had gone (ABANDONED). */
enum mon_metrics_analysis {
	MON_METRICS_ANALYSIS_HIT = 0,
	MON_METRICS_ANALYSIS_MISS,
	MON_METRICS_ANALYSIS_SHARED,
	MON_METRICS_ANALYSIS_ABANDONED,
	MON_METRICS_ANALYSIS_N,
};
void mon_metrics_analysis(struct mon_metrics *m, enum mon_metrics_analysis what);
/* What the analysis cache keeps now. */
void mon_metrics_set_analysis_cache(struct mon_metrics *m, size_t entries, size_t bytes);

/* Values owned by other modules, sampled when rendering. */
void mon_metrics_set_db(struct mon_metrics *m, unsigned long errors, int up);

/* Render every series in the Prometheus text format into a new NUL-terminated buffer
 * (*out, free() it; *len its length without the NUL). route_patterns[i] names route i (the
 * pattern, e.g. "/v1/models/{model}/drift"). Returns 0. */
int mon_metrics_render(struct mon_metrics *m, const char *const *route_patterns, char **out,
		       size_t *len) MON_MUSTCHECK;

#endif /* MONITOR_METRICS_H */
