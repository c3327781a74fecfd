/* SPDX-License-Identifier: MIT
 * monitor/store_ingest.h - writing predictions, labels and references, one transaction a batch
 *
 * Each call stores the COL_REC_NEW records of a parsed batch (collectors/batch.h) in one
 * transaction and returns only after COMMIT (synchronous_commit on for it), so whatever
 * it reports as accepted is durable; on any failure the transaction is rolled back and
 * nothing of the batch remains. Idempotency: prediction_ids (model, client id) and labels
 * (model, prediction id) hold a SHA-256 digest of each record's content, so a record whose
 * id is stored already is a duplicate when the digests match and a conflict otherwise;
 * records are marked accordingly in the batch (col_batch_mark), which the caller turns
 * into its answer.
 *
 * Digests: SHA-256 over a tag and the record's content in canonical text,
 *   "vigil-prediction-v1\n" ts "\t" score "\t" num "\t" cat "\t" seg
 *   "vigil-label-v1\n" label "\t" ts
 * where ts is col_ts_format(..., 1), numbers col_format_double (NaN as NULL) and the arrays
 * are their COPY text forms (monitor/pgtext.h). The same text is what COPY sends.
 *
 * Predictions go to a monthly partition of predictions (predictions_yYYYYmMM, UTC months);
 * a batch that needs a month without one creates it first, in a short transaction of its
 * own, serialised by an advisory lock (class MON_LOCK_CLASS_SQL, key MON_LOCK_PARTITION_SQL).
 * The months known to exist are cached process-wide.
 *
 * Thread-safe (each call uses only its own connection; the partition cache is locked).
 * Every function uses c outside a transaction and leaves it so. Errors: -EAGAIN when the
 * database is unavailable, -EIO for any other database failure (logged: SQLSTATE and
 * PostgreSQL's primary message, never record contents).
 */
#ifndef MONITOR_STORE_INGEST_H
#define MONITOR_STORE_INGEST_H
#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "collectors/batch.h"
#include "monitor/common.h"

#define MON_LOCK_PARTITION_SQL "3" /* with MON_LOCK_CLASS_SQL (monitor/migrate.h) */
#define MON_LOCK_ANALYZE_SQL "7"   /* likewise: one mon_store_analyze_stale at a time */

struct mon_ingest_result {
	size_t accepted;   /* records stored by this call */
	size_t duplicates; /* already stored, or repeated in the batch, with the same content */
	size_t conflicts;  /* already stored, or repeated in the batch, with other content */
	size_t unmatched;  /* labels only: accepted labels whose prediction is not stored yet */
};

/* Store the predictions of b (kind COL_BATCH_PREDICTIONS) for model model_id. Records
 * whose id is already stored are marked COL_REC_DUPLICATE or COL_REC_CONFLICT in b. With
 * atomic set, any conflict (in the batch or with stored data) stores nothing and returns
 * -EEXIST, the conflicting records marked. Fills *res. Returns 0, -EEXIST, -ENOENT (the
 * model was deleted meanwhile), -EAGAIN, -EIO. The transaction holds a key-share lock on
 * the model's row, so the model cannot be deleted under it (sql/0002_ingest.sql). */
int mon_store_insert_predictions(PGconn *c, int64_t model_id, struct col_batch *b, int atomic,
				 struct mon_ingest_result *res) MON_MUSTCHECK;

/* Store the labels of b (kind COL_BATCH_LABELS), as mon_store_insert_predictions does.
 * A label may arrive before its prediction: it is stored all the same and counted in
 * res->unmatched; it joins its prediction by id when that arrives. */
int mon_store_insert_labels(PGconn *c, int64_t model_id, struct col_batch *b, int atomic,
			    struct mon_ingest_result *res) MON_MUSTCHECK;

/* Store the rows of b (kind COL_BATCH_REFERENCE) as a new uploaded reference of model
 * model_id and make it the active one (the previous active reference is kept, inactive).
 * Duplicated ids in b are stored once; with conflicts in b and atomic set, nothing is
 * stored (-EEXIST), else conflicting rows are left out. created_by is the actor (copied).
 * Returns 0 with the new reference as JSON in *out (see mon_store_references_list);
 * -ENODATA when no row would be stored; -EEXIST; -EAGAIN; -EIO. */
int mon_store_reference_upload(PGconn *c, int64_t model_id, struct col_batch *b, int atomic,
			       const char *created_by, cJSON **out) MON_MUSTCHECK;

/* Create a reference naming the stored predictions of model_id with from <= ts < to
 * (microseconds since the epoch) and make it the active one. Returns 0 with the new
 * reference as JSON in *out; -ENODATA when no prediction lies in the range; -EAGAIN; -EIO. */
int mon_store_reference_range(PGconn *c, int64_t model_id, int64_t from, int64_t to,
			      const char *created_by, cJSON **out) MON_MUSTCHECK;

/* The references of model_id, oldest first, as a JSON array of
 *   {"id", "kind": "upload"|"range", "from", "to" (RFC 3339 or null), "rows", "active",
 *    "created_by", "created_at"}
 * Returns 0, -EAGAIN or -EIO. */
int mon_store_references_list(PGconn *c, int64_t model_id, cJSON **out) MON_MUSTCHECK;

/* Make sure a predictions partition exists for every UTC month from the one holding
 * from_us to the one holding to_us (both microseconds since the epoch, from_us <= to_us,
 * at most 1200 months apart). Months already known to exist are skipped unless recheck is
 * set. Returns 0, -EINVAL (range), -EAGAIN or -EIO. */
int mon_store_partitions_ensure(PGconn *c, int64_t from_us, int64_t to_us,
				int recheck) MON_MUSTCHECK;

/* Forget which partitions exist (after one was dropped, and in tests). Thread-safe. */
void mon_store_partitions_forget(void);

/* The name of the partition holding UTC month (year, month 1..12), written to buf (at
 * least 24 bytes): "predictions_y2026m11". Returns the length. */
size_t mon_store_partition_name(int year, unsigned month, char *buf, size_t len);

/* ANALYZE the tables whose rows changed a lot since their last ANALYZE: predictions (as a
 * whole, or the partitions), prediction_ids, labels, reference_rows; see
 * analyze_stale_tables in sql/0007_ingest_speed.sql. A table is stale when at least
 * min_rows and at least frac of its rows changed. Runs under a transaction-level advisory
 * lock (MON_LOCK_CLASS_SQL, MON_LOCK_ANALYZE_SQL) and returns at once when another process
 * holds it. Logs what it analysed; *n (may be NULL) gets the count. Returns 0, -EAGAIN or
 * -EIO. */
int mon_store_analyze_stale(PGconn *c, long long min_rows, double frac, size_t *n) MON_MUSTCHECK;

#endif /* MONITOR_STORE_INGEST_H */
