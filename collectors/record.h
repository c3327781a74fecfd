/* SPDX-License-Identifier: MIT
 * collectors/record.h - a model's schema as collectors see it, and the validated record
 *
 * A struct col_schema is a model registration checked once: its features in declaration
 * order, each numeric (a slot in a record's num[]) or categorical (a slot in cat[]), its
 * segment attributes (slots in seg[]), the decision threshold and the two label spellings.
 * A struct col_record is one prediction, label or reference row after validation against a
 * schema: every value has its final type, every string is NUL-terminated UTF-8 without NUL
 * bytes, and a missing value is NaN (num[]) or NULL (cat[], seg[]).
 *
 * Also here, because every format needs them: RFC 3339 timestamps to and from microseconds
 * since the Unix epoch (UTC), and the canonical text of a double (the shortest decimal up
 * to 15 significant digits that reads back to the same double, else 17 digits).
 *
 * Create a schema with col_schema_parse (from a registration document) and destroy it with
 * col_schema_free. Records live inside a struct col_batch (collectors/batch.h).
 */
#ifndef COLLECTORS_RECORD_H
#define COLLECTORS_RECORD_H
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "collectors/csv.h" /* COL_MUSTCHECK */

#define COL_NAME_MAX 128      /* bytes of a model, feature or segment name */
#define COL_VALUE_MAX 256     /* default cap on bytes of an id, a category or a label text */
#define COL_FEATURES_MAX 1024 /* features per model */
#define COL_SEGMENTS_MAX 64   /* segment attributes per model */
#define COL_TS_NONE INT64_MIN /* a record without a timestamp (reference rows may omit it) */
#define COL_DOUBLE_BUF 32     /* room for col_format_double's text and its NUL */
#define COL_TS_BUF 40         /* room for col_ts_format's text and its NUL */

enum col_ftype {
	COL_NUMERIC = 0,
	COL_CATEGORICAL = 1,
};

struct col_feature {
	char *name; /* NUL-terminated, 1..COL_NAME_MAX bytes */
	enum col_ftype type;
	size_t slot; /* index into a record's num[] (numeric) or cat[] (categorical) */
};

/* Immutable after col_schema_parse: several threads may read one schema at once. */
struct col_schema {
	char *name;           /* ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ */
	char *version;        /* free text, may be "" */
	double threshold;     /* [0, 1] */
	char *positive_label; /* a label with this text means 1 */
	char *negative_label; /* ... and this one 0; never equal to positive_label */
	size_t nfeat, nnum, ncat, nseg;
	struct col_feature *feat; /* nfeat, declaration order */
	char **seg;               /* nseg segment names, declaration order */
	uint32_t *hash;           /* private: name lookup (col_schema_find), 2 words a slot */
	size_t hmask;
};

/* Where a document is wrong: a JSON pointer (RFC 6901) to the offending value ("" for the
 * whole document) and a lower-case sentence. Both always NUL-terminated, truncated to fit. */
struct col_diag {
	char pointer[192];
	char msg[256];
};

/* Validate a model registration and build its schema:
 *   {"name": "sepsis", "version": "3.1", "threshold": 0.4, "positive_label": "1",
 *    "negative_label": "0", "features": [{"name": "age", "type": "numeric"}, ...],
 *    "segments": ["sex", "site"]}
 * name and features are required (features may be []); version defaults to "", threshold
 * to 0.5, positive_label to "1", negative_label to "0", segments to []. A label given as a
 * JSON number is taken as its canonical text (col_format_double). Rejected, with diag
 * naming the field: a non-object, an unknown key, a wrong type, a bad model name, an empty
 * or over-long (COL_NAME_MAX) or control-character feature/segment name, a type other than
 * "numeric"/"categorical", a name used twice (features and segments share one namespace),
 * a threshold outside [0, 1], equal or empty labels, more than COL_FEATURES_MAX features or
 * COL_SEGMENTS_MAX segments. Pointers look like "/features/3/type", "/segments/1".
 * Returns 0 and stores a new schema in *out (free with col_schema_free), or -EINVAL.
 * spec is borrowed; nothing of it is kept. */
int col_schema_parse(const cJSON *spec, struct col_schema **out,
		     struct col_diag *diag) COL_MUSTCHECK;
void col_schema_free(struct col_schema *s); /* NULL is a no-op */

/* The canonical registration document of s: every key present, in the order shown above.
 * Returns a new cJSON object (cJSON_Delete it); aborts when out of memory. */
cJSON *col_schema_to_json(const struct col_schema *s);

/* 1 when a and b register the same model: every field equal (name, version, threshold,
 * labels, features with their types in order, segments in order); 0 otherwise. */
int col_schema_equal(const struct col_schema *a, const struct col_schema *b);

/* 1 when name may name a model: ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ (the models table's
 * CHECK constraint), else 0. NULL gives 0. */
int col_model_name_ok(const char *name);

/* Look up a feature or segment by name s[0..len) (exact bytes). Returns the index into
 * s->feat (feature, *is_segment = 0) or s->seg (segment, *is_segment = 1), or -1. */
long col_schema_find(const struct col_schema *s, const char *name, size_t len, int *is_segment);

/* One validated record. What each kind of batch fills:
 *   predictions: id, ts, score, num, cat, seg (label = -1)
 *   labels:      id (the prediction's id), ts (when observed), label; score NaN, no arrays
 *   references:  id, ts (COL_TS_NONE when absent), score, label, num, cat, seg */
enum col_rec_state {
	COL_REC_NEW = 0,   /* to be stored */
	COL_REC_DUPLICATE, /* the id was seen before with the same content: skipped */
	COL_REC_CONFLICT,  /* the id was seen before with other content: not stored */
};

struct col_record {
	size_t index;     /* position in the batch as sent, 0-based (see batch.h) */
	const char *id;   /* NUL-terminated, 1..max_string bytes */
	int64_t ts;       /* microseconds since 1970-01-01T00:00:00Z, or COL_TS_NONE */
	double score;     /* [0, 1]; NaN in label records */
	double *num;      /* schema->nnum values, NaN = missing */
	const char **cat; /* schema->ncat values, NULL = missing */
	const char **seg; /* schema->nseg values, NULL = missing */
	int label;        /* 0 or 1, -1 when absent */
	enum col_rec_state state;
};

/* 1 when a and b carry the same content (everything but index, id and state): equal ts,
 * label, score and num[] (NaN equals NaN), equal strings (NULL equals only NULL). */
int col_record_equal(const struct col_schema *s, const struct col_record *a,
		     const struct col_record *b);

/* Parse an RFC 3339 date-time, s[0..len): YYYY-MM-DD, 'T' (or 't' or one space),
 * hh:mm:ss, an optional fraction of any length (digits after the sixth are truncated,
 * toward the past), then 'Z' (or 'z') or an offset +hh:mm / -hh:mm (hh <= 23, mm <= 59).
 * Dates must exist in the proleptic Gregorian calendar (no Feb 30; Feb 29 only in leap
 * years); years 0001-9999. A leap second (ss = 60) is rejected. Stores microseconds since
 * 1970-01-01T00:00:00Z (negative before) in *us and returns 0, or returns -EINVAL.
 * Thread-safe. */
int col_ts_parse(const char *s, size_t len, int64_t *us) COL_MUSTCHECK;

/* Write us (microseconds since the epoch, years 0001-9999) to buf, NUL-terminated, and
 * return the text's length. sql = 0: RFC 3339 "2026-11-03T12:00:00Z", with ".ffffff"
 * when the fraction is not zero; sql = 1: PostgreSQL's input form for timestamptz,
 * "2026-11-03 12:00:00.000000+00" (always 6 fraction digits). buf holds COL_TS_BUF. */
size_t col_ts_format(int64_t us, int sql, char *buf);

/* Days since 1970-01-01 of the civil date y-m-d (proleptic Gregorian, m 1..12), and back
 * (H. Hinnant's days_from_civil / civil_from_days). No range checks. */
int64_t col_days_from_civil(int64_t y, unsigned m, unsigned d);
void col_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* The canonical text of the double v in buf (holds COL_DOUBLE_BUF), NUL-terminated;
 * returns its length. Integers of magnitude below 2^53 print as integers ("63", "-2",
 * and -0.0 as "-0"); other values print the shortest decimal of at most 15 significant
 * digits that reads back (correctly rounded) to exactly v, in plain notation, when
 * 1e-5 <= |v| < 1e15; everything else prints as "%.17g" (which always reads back).
 * Deterministic: equal doubles give equal text, so the text can be hashed. Non-finite v
 * prints "NaN", "Infinity" or "-Infinity". Thread-safe. */
size_t col_format_double(double v, char *buf);

#endif /* COLLECTORS_RECORD_H */
