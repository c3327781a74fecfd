/* SPDX-License-Identifier: MIT
 * monitor/store_models.h - registered models in PostgreSQL, and a cache of their schemas
 *
 * A model is registered once per name (POST /v1/models). Its canonical registration
 * (col_schema_to_json) is kept in models.spec, which is authoritative: model_features and
 * model_segments are filled from it for SQL readers. The evaluation settings
 * (monitor/eval_settings.h: evaluation_period, lateness, label_complete, fn_cost, fp_cost)
 * are taken out of the registration before the schema is parsed and kept in models'
 * columns. Registering the same schema and settings again is a no-op; another schema or
 * other settings under a taken name is a conflict. Nothing here changes a model after it
 * is registered.
 *
 * The ingest path needs a model's schema on every request, so schemas are cached per name
 * (up to MON_MODEL_CACHE entries, each re-read after MON_MODEL_CACHE_TTL_S seconds so that
 * a model deleted or re-created behind the server's back is noticed). The cache is
 * process-wide and thread-safe; a struct mon_model is reference-counted and immutable, so
 * a request keeps using the one it acquired even if the cache drops it meanwhile.
 *
 * Functions taking a PGconn use it outside any transaction and leave it so.
 * Errors: -EAGAIN when the database is unavailable (mon_db_unavailable), -EIO for any other
 * database failure (logged without request data).
 */
#ifndef MONITOR_STORE_MODELS_H
#define MONITOR_STORE_MODELS_H
#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "collectors/record.h"
#include "monitor/common.h"

#define MON_MODEL_CACHE 64
#define MON_MODEL_CACHE_TTL_S 60

struct mon_model {
	int64_t id;                /* models.id */
	struct col_schema *schema; /* owned by the model; never changes */
	int refs;                  /* private: use mon_store_model_acquire / _release */
	double loaded;             /* private: mon_now() when read from the database */
};

/* Register the model described by spec (the request's JSON, borrowed). Validates it with
 * col_schema_parse first. On success returns 0, stores in *out the stored model as JSON
 * (see mon_store_model_json; cJSON_Delete it) and in *created 1 when it was registered
 * now, 0 when the same schema already was (idempotent). Returns -EINVAL when spec is
 * invalid (diag names the field); -EEXIST when the name is registered with another schema
 * (*out then holds the stored model, for the answer); -EAGAIN; -EIO. */
int mon_store_model_create(PGconn *c, const cJSON *spec, cJSON **out, int *created,
			   struct col_diag *diag) MON_MUSTCHECK;

/* The model named name as JSON into *out: the canonical registration plus "created_at"
 * (RFC 3339, UTC):
 *   {"name", "version", "threshold", "positive_label", "negative_label",
 *    "features": [{"name", "type"}], "segments": [...], "created_at",
 *    "evaluation_period", "lateness" (seconds), "label_complete", "fn_cost", "fp_cost"}
 * Returns 0, -ENOENT (no such model, or a name no model can have), -EAGAIN or -EIO. */
int mon_store_model_get(PGconn *c, const char *name, cJSON **out) MON_MUSTCHECK;

/* Every model, ordered by name, as a JSON array of the objects above. Returns 0, -EAGAIN
 * or -EIO. */
int mon_store_model_list(PGconn *c, cJSON **out) MON_MUSTCHECK;

/* The model named name, from the cache or else read through c (which may be NULL: then a
 * cache miss returns -EAGAIN). Returns 0 and a reference in *out (give it back with
 * mon_store_model_release); -ENOENT (no such model, or a name no model can have); -EAGAIN;
 * -EIO. Thread-safe. */
int mon_store_model_acquire(PGconn *c, const char *name, struct mon_model **out) MON_MUSTCHECK;
void mon_store_model_release(struct mon_model *m); /* NULL is a no-op; thread-safe */

/* Drop name (or, with NULL, every model) from the cache. Thread-safe. */
void mon_store_model_forget(const char *name);

#endif /* MONITOR_STORE_MODELS_H */
