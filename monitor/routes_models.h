/* SPDX-License-Identifier: MIT
 * monitor/routes_models.h - HTTP handlers for model registration and lookup
 *
 *   POST /v1/models          (admin)  register {"name", "version", "threshold",
 *                            "positive_label", "negative_label", "features": [{"name",
 *                            "type"}], "segments": [...]}: 201 with the stored model; 200
 *                            with it when the same schema is registered already; 409 when
 *                            the name holds another schema (the problem carries "model",
 *                            the stored one); 422 with a JSON pointer to the bad field
 *                            (e.g. "/features/3/type"); 400 for a body that is not JSON or
 *                            not UTF-8. Audited as "model.register".
 *   GET  /v1/models          (viewer) {"models": [model, ...]} ordered by name
 *   GET  /v1/models/{model}  (viewer) the model, or 404
 * The registration may also carry the evaluation settings "evaluation_period", "lateness",
 * "label_complete", "fn_cost", "fp_cost" (monitor/eval_settings.h; a bad one is a 422 with
 * its pointer). A model is its canonical registration plus "created_at" and those five
 * settings (see monitor/store_models.h).
 */
#ifndef MONITOR_ROUTES_MODELS_H
#define MONITOR_ROUTES_MODELS_H
#include "monitor/http.h"

void mon_api_model_create(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_model_list(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_model_get(struct mon_http_req *req, struct mon_http_resp *resp);

#endif /* MONITOR_ROUTES_MODELS_H */
