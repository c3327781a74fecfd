/* SPDX-License-Identifier: MIT
 * monitor/eval_metrics.h - the latest evaluation results as Prometheus gauges on /metrics
 *
 * Series, per model (label model), from its latest evaluated window ("latest") and, for
 * performance, its latest evaluated window that had labels:
 *   vigil_drift_psi{model,feature,segment,segment_value}            PSI of a feature
 *   vigil_drift_q_value{model,feature,segment,segment_value,test}   BH q-value (ks,
 *                                                                   chi_square, mmd)
 *   vigil_drift_mmd2{model}                                         MMD^2, numeric features
 *   vigil_performance{model,metric,segment,segment_value,status}    realised performance
 *   vigil_performance_estimate{model,metric,segment,segment_value}  CBPE estimate
 *   vigil_performance_estimate_error{model,metric,segment,segment_value,status}
 *   vigil_label_coverage{model,segment,segment_value}
 *   vigil_missing_rate{model,feature}
 *   vigil_window_predictions{model}, vigil_volume_ratio{model}
 *   vigil_evaluation_window_end_timestamp_seconds{model,kind}      kind: latest, performance
 *   vigil_evaluation_windows{model,state}                          windows per state
 * The score's drift has feature="score" (the model's output); segment and segment_value are
 * "" for the whole window. Performance metrics: sensitivity, specificity, ppv, npv, auroc,
 * brier, ece, cost. Insufficient or undefined values are left out.
 *
 * Cardinality is bounded: features are the declared ones, segment values those the
 * scheduler evaluated (at most evaluation_max_segment_values per attribute) in one window,
 * at most MON_METRICS_MAX_MODELS models, and at most MON_EVAL_METRICS_MAX_SERIES series in
 * all (vigil_evaluation_series_truncated is 1 when some were left out).
 *
 * The text is read with one statement and kept for MON_EVAL_METRICS_TTL_S seconds, so
 * frequent scrapes (the route is public) cost the database little. Thread-safe.
 */
#ifndef MONITOR_EVAL_METRICS_H
#define MONITOR_EVAL_METRICS_H
#include <stddef.h>

#include "monitor/server.h"

#define MON_EVAL_METRICS_MAX_SERIES 20000
#define MON_EVAL_METRICS_TTL_S 10.0

/* Append the series above to the exposition text *text (malloc'd, *len bytes without its
 * NUL; both updated). When the database cannot be reached quickly nothing is appended
 * (vigil_db_up says why). */
void mon_eval_metrics_append(struct mon_server *srv, char **text, size_t *len);

#endif /* MONITOR_EVAL_METRICS_H */
