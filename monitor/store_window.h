/* SPDX-License-Identifier: MIT
 * monitor/store_window.h - a model's stored predictions (or a reference) as column arrays
 *
 * The analysis routes compute on the same arrays `vigil drift` / `vigil perf` build from
 * CSV files: per declared feature a column of doubles (numeric, NaN = missing) or of codes
 * into a string dictionary (categorical, COL_MISSING_CODE = missing), the score, the label
 * (0, 1 or MON_WINDOW_NO_LABEL) and per segment attribute a column of codes. A dictionary
 * belongs to one feature or attribute and is shared by every sample loaded with it (the
 * reference and the window), so their codes compare; codes are dense in first-seen order.
 *
 * Rows come in a fixed order, so a result is reproducible and equals the offline command's
 * on a CSV of the rows in that order: predictions by (ts, client id) and uploaded reference
 * rows by client id, client ids compared bytewise (as COLLATE "C"), whatever order the
 * database returns them in. Each load is one query read in single-row mode with binary
 * results: memory stays near the arrays, never a whole PGresult. A window takes
 * 8 + 1 + 8 * numeric + 4 * (categorical + segments) bytes a row; while it loads, the sort
 * keys add about 20 bytes plus the client id, and ordering it 28 bytes plus one column.
 *
 * Create a window with mon_store_window_load, mon_store_window_load_reference or
 * mon_store_window_select; destroy with mon_store_window_free. Dictionaries: embedded in
 * struct mon_window_dicts, mon_store_window_dicts_init / _fini.
 *
 * Thread-safe as far as its arguments are not shared (each call uses only its own
 * connection, dictionaries and window). Functions taking a PGconn use it outside any
 * transaction and leave it so. Errors: -EAGAIN when the database is unavailable, -EIO for
 * any other database failure or an unreadable stored value (logged without row data).
 */
#ifndef MONITOR_STORE_WINDOW_H
#define MONITOR_STORE_WINDOW_H
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "collectors/record.h"
#include "monitor/common.h"

#define MON_WINDOW_NO_LABEL 255 /* a prediction whose label has not arrived */

/* What to load besides score and segment codes. MON_WINDOW_NO_LABELS leaves the labels out
 * (every label MON_WINDOW_NO_LABEL, labeled 0): it spares the join with labels, most of
 * PostgreSQL's work for a large window. */
#define MON_WINDOW_FEATURES 1u  /* the feature columns (num and cat) */
#define MON_WINDOW_NO_LABELS 2u /* no labels */

/* One dictionary per categorical feature slot and per segment attribute of a schema. */
struct mon_window_dicts {
	size_t ncat, nseg;
	struct col_dict **cat; /* ncat, indexed by col_feature.slot */
	struct col_dict **seg; /* nseg, in segment order */
};

/* Fresh, empty dictionaries for schema s. Aborts when out of memory. */
void mon_store_window_dicts_init(struct mon_window_dicts *d, const struct col_schema *s);
void mon_store_window_dicts_fini(struct mon_window_dicts *d); /* frees the dictionaries */

struct mon_window {
	size_t n;       /* rows */
	size_t labeled; /* rows whose label is 0 or 1 */
	double *score;  /* n scores in [0, 1] */
	uint8_t *label; /* n labels: 0, 1 or MON_WINDOW_NO_LABEL */
	size_t nnum, ncat, nseg;
	double **num;   /* nnum columns of n (slot order); NULL without MON_WINDOW_FEATURES */
	uint32_t **cat; /* ncat columns of n codes into dicts->cat[slot]; NULL likewise */
	uint32_t **seg; /* nseg columns of n codes into dicts->seg[k] */
};

/* A reference of a model, as model_references holds it. */
struct mon_window_ref {
	int64_t id;
	int range;        /* 1: kind "range" (stored predictions), 0: "upload" (reference_rows) */
	int64_t from, to; /* range only: microseconds since the epoch, from <= ts < to */
	int64_t rows;     /* rows counted when it was created */
	int active;
};

/* Find reference id of model model_id, or with id 0 the model's active one. Returns 0 and
 * fills *out; -ENOENT when there is no such reference (or none is active); -EAGAIN; -EIO. */
int mon_store_window_reference(PGconn *c, int64_t model_id, int64_t id,
			       struct mon_window_ref *out) MON_MUSTCHECK;

/* Load the predictions of model model_id (schema s) with from <= ts < to (microseconds since
 * the epoch), their labels joined by client id. Categorical and segment values are interned
 * into d (which must have been initialised for s). flags: MON_WINDOW_FEATURES,
 * MON_WINDOW_NO_LABELS, both or 0. At most max_rows rows: one more fails with -E2BIG
 * (nothing is kept). Returns 0 and a new window in *out; -E2BIG; -EAGAIN; -ETIMEDOUT (the
 * statement was cancelled: statement_timeout); -EIO. */
int mon_store_window_load(PGconn *c, const struct col_schema *s, int64_t model_id, int64_t from,
			  int64_t to, size_t max_rows, unsigned flags, struct mon_window_dicts *d,
			  struct mon_window **out) MON_MUSTCHECK;

/* The same, the range split into nc equal spans of time loaded at once on the nc
 * connections cs (each in a read-only transaction of its own when idle: their snapshots
 * may differ by the moment between their statements), so that nc PostgreSQL backends
 * serialise the rows; the result is the same as one load's. A connection of cs that is
 * NULL, or a thread that cannot start, leaves its span to cs[0]. */
int mon_store_window_load_parallel(PGconn *const *cs, size_t nc, const struct col_schema *s,
				   int64_t model_id, int64_t from, int64_t to, size_t max_rows,
				   unsigned flags, struct mon_window_dicts *d,
				   struct mon_window **out) MON_MUSTCHECK;

/* Load the rows of reference ref (of model model_id, schema s): an upload's reference_rows
 * (their own labels, missing ones MON_WINDOW_NO_LABEL) or a range's predictions (labels
 * joined as above). Otherwise as mon_store_window_load. */
int mon_store_window_load_reference(PGconn *c, const struct col_schema *s, int64_t model_id,
				    const struct mon_window_ref *ref, size_t max_rows,
				    unsigned flags, struct mon_window_dicts *d,
				    struct mon_window **out) MON_MUSTCHECK;

/* A new window holding rows[0..k) of w (indexes into w, in that order), every column w has.
 * Aborts when out of memory. */
struct mon_window *mon_store_window_select(const struct mon_window *w, const size_t *rows,
					   size_t k);

/* A new window of the rows of w that have a label, in w's order. Aborts when out of memory. */
struct mon_window *mon_store_window_labeled(const struct mon_window *w);

void mon_store_window_free(struct mon_window *w); /* NULL is a no-op */

#endif /* MONITOR_STORE_WINDOW_H */
