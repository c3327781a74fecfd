/* SPDX-License-Identifier: MIT
 * collectors/batch.h - parse a batch of predictions, labels or reference rows
 *
 * One call turns a request body (a JSON array, NDJSON or CSV with a header) into validated
 * records (collectors/record.h) and per-record rejections. Problems that make the whole
 * body unreadable fail the call (invalid UTF-8, nesting deeper than max_depth, a JSON
 * array that is not well-formed, a bad CSV header, more records than max_records); a
 * record that is merely wrong is rejected on its own, with its index, a JSON pointer to
 * the field and a reason, and the others are kept. Ids repeated inside the batch are
 * marked: a later copy with the same content is a duplicate, with other content a
 * conflict; only the first copy is COL_REC_NEW.
 *
 * Formats, record by record (pointers name the same fields in every format):
 *   predictions  {"id", "ts", "score", "features": {...}, "segments": {...}}
 *   labels       {"prediction_id", "label", "ts"} ("observed_at" is accepted for "ts")
 *   references   the predictions format plus "label"; "ts" may be absent
 * - JSON: one array of record objects; any syntax error fails the whole batch.
 * - NDJSON: one record object per line (LF or CRLF); blank lines are skipped and do not
 *   count as records; a line that is not valid JSON rejects that record only.
 * - CSV (RFC 4180, optional BOM, header required): columns id (labels: prediction_id),
 *   ts (or observed_at), score, label, and each feature or segment by its plain name or
 *   as "features.<name>" / "segments.<name>"; the core names win, so a feature named
 *   "score" must be written "features.score". An unknown, repeated or (for id, score and
 *   label) missing column fails the batch. Blank lines are skipped. A row with the wrong
 *   number of cells is rejected. Cells: features and segments use col_csv_is_missing
 *   (empty, NA, null, ...) for missing; numbers read with col_csv_parse_double.
 *
 * Values (JSON):
 * - id: a string of 1..max_string bytes, or an integer below 2^53 (taken as its decimal
 *   text: 42 and "42" are the same id).
 * - ts: an RFC 3339 string (col_ts_parse), not before 1970-01-01T00:00:00Z and not more
 *   than max_future after now.
 * - score: a finite number in [0, 1].
 * - numeric feature: a finite number, or null (missing). Strings and booleans are
 *   rejected; NaN, Infinity and -Infinity (which Python writes) are read, then rejected
 *   as not finite; a number that overflows a double (1e999) is rejected as out of range.
 * - categorical feature and segment: a string of at most max_string bytes; a number is
 *   taken as its canonical text (col_format_double: 3.0 is "3"), true/false as "true" /
 *   "false"; null and "" are missing.
 * - features or segments not named in the request are missing; a name the schema does
 *   not know rejects the record ("/features/foo": unknown feature). A segment given under
 *   "features" or a feature under "segments" is unknown there.
 * - label: 0, 1, true, false, or a string equal to the schema's positive_label (1) or
 *   negative_label (0); a number whose canonical text equals one of them counts too.
 * - any other key rejects the record ("/foo": unknown field), and so does a key given
 *   twice ("duplicate field"). Strings holding \u0000 or a lone surrogate are rejected.
 * The first problem of a record is the one reported.
 *
 * Create with col_batch_parse, destroy with col_batch_free. A batch is not thread-safe;
 * its records' strings live until col_batch_free.
 */
#ifndef COLLECTORS_BATCH_H
#define COLLECTORS_BATCH_H
#include <stddef.h>
#include <stdint.h>

#include "collectors/record.h"

enum col_batch_kind {
	COL_BATCH_PREDICTIONS = 0,
	COL_BATCH_LABELS,
	COL_BATCH_REFERENCE,
};

enum col_format {
	COL_FMT_JSON = 0, /* application/json */
	COL_FMT_NDJSON,   /* application/x-ndjson */
	COL_FMT_CSV,      /* text/csv */
};

struct col_batch_limits {
	size_t max_records; /* more records fail the batch with -E2BIG */
	unsigned max_depth; /* JSON nesting, counting the outer array (NDJSON: per line) */
	size_t max_string;  /* bytes of an id, a category, a segment value */
	int64_t now;        /* microseconds since the epoch; 0 means the current time */
	int64_t max_future; /* how far past now a ts may lie, in microseconds */
};

/* Defaults: 100000 records, depth 32, strings 256 bytes, now = 0, max_future 366 days. */
void col_batch_limits_default(struct col_batch_limits *l);

struct col_batch_error {
	size_t index;      /* the record's position in the batch */
	const char *field; /* JSON pointer inside the record ("" for the record as a whole) */
	const char *msg;   /* lower case, no final period */
};

struct col_batch_priv; /* private: arena, pools */

struct col_batch {
	const struct col_schema *schema; /* borrowed from col_batch_parse's caller */
	enum col_batch_kind kind;
	size_t nseen; /* records in the body, good or bad */
	size_t nrec;  /* records that passed validation, in input order */
	struct col_record *rec;
	size_t nerr; /* rejected records, in input order */
	struct col_batch_error *err;
	size_t ndup;      /* rec[] marked COL_REC_DUPLICATE inside this batch */
	size_t nconflict; /* rec[] marked COL_REC_CONFLICT inside this batch */
	struct col_batch_priv *priv;
};

/* Parse body[0..len) in format fmt against schema s. An empty body (or only blanks) is
 * an empty batch in every format. Returns 0 and stores a new batch in *out (free with
 * col_batch_free); the batch holds the accepted records and the rejections. Fails with
 * -EINVAL when the body as a whole is unreadable, or -E2BIG when it holds more than
 * lim->max_records records; then diag says why (pointer "" or, for a CSV column,
 * "/<column name>") and *out is untouched. s and body are borrowed: the batch keeps s
 * but copies what it needs of body. lim may be NULL for the defaults. */
int col_batch_parse(const struct col_schema *s, enum col_batch_kind kind, enum col_format fmt,
		    const char *body, size_t len, const struct col_batch_limits *lim,
		    struct col_batch **out, struct col_diag *diag) COL_MUSTCHECK;
void col_batch_free(struct col_batch *b); /* NULL is a no-op */

/* Mark rec[i] as a duplicate or conflict found later (by the store) and keep the counts
 * right; rec[i] must be COL_REC_NEW. */
void col_batch_mark(struct col_batch *b, size_t i, enum col_rec_state state);

/* The format for a media type (lower case, no parameters): application/json; NDJSON as
 * application/x-ndjson, application/ndjson, application/jsonl or application/x-jsonlines;
 * text/csv. Returns 0, or -ENOTSUP for anything else. */
int col_batch_format(const char *media_type, enum col_format *out) COL_MUSTCHECK;

/* 0 when s[0..len) is well-formed UTF-8 (no overlong forms, surrogates or code points
 * above U+10FFFF); otherwise -EINVAL and *bad receives the offset of the first bad byte. */
int col_utf8_check(const char *s, size_t len, size_t *bad) COL_MUSTCHECK;

/* Check a JSON document before handing it to cJSON: valid UTF-8, and no '[' / '{'
 * (outside strings) nested deeper than max_depth. Returns 0, or -EINVAL with diag set.
 * It does not check the syntax otherwise. */
int col_json_precheck(const char *s, size_t len, unsigned max_depth,
		      struct col_diag *diag) COL_MUSTCHECK;

#endif /* COLLECTORS_BATCH_H */
