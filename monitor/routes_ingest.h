/* SPDX-License-Identifier: MIT
 * monitor/routes_ingest.h - HTTP handlers that take in predictions, labels and references
 *
 *   POST /v1/models/{model}/predictions  (ingest)  a batch of predictions
 *   POST /v1/models/{model}/labels       (ingest)  a batch of labels
 *   POST /v1/models/{model}/references   (admin)   a labelled upload, or {"from", "to"}
 *   GET  /v1/models/{model}/references   (viewer)  {"references": [...]}, oldest first
 *
 * Bodies: application/json (an array of records), application/x-ndjson (one record a
 * line) or text/csv (a header line, then one record a line); see collectors/batch.h for the
 * records and what is rejected. Any other media type is 415; a body that cannot be read as
 * a whole (invalid UTF-8, JSON nested deeper than max_json_depth, a JSON syntax error in an
 * array, a bad CSV header) is 400 with a problem; more than max_batch_records records 413.
 *
 * Predictions and labels answer 200 only after COMMIT:
 *   {"accepted": N, "duplicates": D, "conflicts": [{"index": i, "id": "..."}],
 *    "rejected": [{"index": i, "field": "/features/age", "error": "..."}]}
 * and labels add "unmatched": U (accepted labels whose prediction has not arrived). index
 * is the record's position in the body (NDJSON and CSV: counting non-blank lines, header
 * excluded); field is a JSON pointer inside the record. A record whose id is stored (or
 * sent earlier in the batch) with the same content is a duplicate, stored once; with other
 * content it is a conflict and is not stored. With ?atomic=true, any rejected record or
 * conflict answers 422 (application/problem+json with the same members plus "pointer"
 * "/<index><field>" of the first rejected record) and nothing is stored. An empty batch
 * answers 200 with zeros. 503 with Retry-After when the database is unavailable; nothing
 * of the batch is stored then.
 *
 * References: {"from": RFC 3339, "to": RFC 3339} (application/json) names the stored
 * predictions with from <= ts < to; anything else is an upload of labelled records in the
 * predictions format plus "label" ("ts" optional). Uploads are atomic unless
 * ?atomic=false. The new reference becomes the active one: 201 with
 *   {"reference": {"id", "kind", "from", "to", "rows", "active", "created_by",
 *    "created_at"}, "accepted", "duplicates", "conflicts", "rejected"}
 * 422 when the range holds no prediction or the upload no row. Audited as
 * "reference.create".
 */
#ifndef MONITOR_ROUTES_INGEST_H
#define MONITOR_ROUTES_INGEST_H
#include "monitor/http.h"

struct mon_server;

void mon_api_predictions_post(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_labels_post(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_references_post(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_references_list(struct mon_http_req *req, struct mon_http_resp *resp);

/* Maintenance task (monitor/tasks.c): make sure the predictions partitions of the current
 * UTC month and the next two exist (checked in the database every run). Returns 0, or a
 * negative errno when the database could not be reached or the DDL failed (logged). */
int mon_ingest_partitions_task(struct mon_server *srv);

/* Maintenance task (monitor/tasks.c): after bulk writes, give the planner fresh statistics
 * before autovacuum would (mon_store_analyze_stale: tables where at least 10^4 rows and
 * 10% of the rows changed since their last ANALYZE). Returns 0 or a negative errno. */
int mon_ingest_analyze_task(struct mon_server *srv);

#endif /* MONITOR_ROUTES_INGEST_H */
