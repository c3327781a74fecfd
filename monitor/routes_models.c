/* SPDX-License-Identifier: MIT
 * monitor/routes_models.c - HTTP handlers for model registration and lookup
 *
 * Thin: the body is checked (UTF-8, depth, syntax) by mon_http_body_json after our own
 * UTF-8 check, the schema rules live in collectors/record.c (col_schema_parse) and the
 * storage in monitor/store_models.c; here errors become statuses and the admin action
 * lands in the audit log.
 */
#include "config.h"

#include "monitor/routes_models.h"

#include <errno.h>
#include <string.h>

#include "collectors/batch.h"
#include "monitor/audit.h"
#include "monitor/log.h"
#include "monitor/server.h"
#include "monitor/store_models.h"

#define LOG_PREFIX "models: "

/* A store function failed with ret (after the connection was given back). */
static void store_failed(struct mon_http_req *req, struct mon_http_resp *resp, int ret,
			 const char *what)
{
	if (ret == -EAGAIN || ret == -ETIMEDOUT) {
		mon_http_problem(resp, 503, "unavailable", NULL,
				 "the database is unavailable; retry later");
		resp->retry_after = (int)mon_server_cfg(req->srv)->retry_after_s;
		return;
	}
	mon_http_problem(resp, mon_http_status_for(ret), NULL, NULL, "%s", what);
}

/* Record the registration attempt; a failure to audit is logged, not answered: the
 * model is committed by now. */
static void audit(PGconn *c, struct mon_http_req *req, const char *name, const char *outcome)
{
	if (mon_audit_request(c, req, "model.register", name, outcome, NULL))
		log_warn(LOG_PREFIX "could not audit the registration of \"%.128s\"", name);
}

void mon_api_model_create(struct mon_http_req *req, struct mon_http_resp *resp)
{
	const cJSON *jn;
	cJSON *spec = NULL, *model = NULL, *doc;
	struct col_diag diag;
	char name[COL_NAME_MAX + 1] = "";
	PGconn *c = NULL;
	size_t bad;
	int created = 0, ret;

	if (col_utf8_check(req->body, req->body_len, &bad)) {
		mon_http_problem(resp, 400, "invalid-utf8", "", "invalid UTF-8 at byte %zu", bad);
		return;
	}
	if (mon_http_body_json(req, resp, &spec))
		return;
	jn = cJSON_GetObjectItemCaseSensitive(spec, "name");
	if (cJSON_IsString(jn))
		snprintf(name, sizeof(name), "%s", jn->valuestring);
	if (mon_server_db_get(req, resp, &c))
		goto out;
	ret = mon_store_model_create(c, spec, &model, &created, &diag);
	switch (ret) {
	case 0:
		audit(c, req, name, created ? "created" : "unchanged");
		break;
	case -EEXIST:
		audit(c, req, name, "conflict");
		break;
	case -EINVAL:
		audit(c, req, name, "invalid");
		break;
	default:
		break;
	}
	mon_server_db_put(req, c, ret == -EAGAIN || ret == -EIO);
	if (ret == -EINVAL) {
		mon_http_problem(resp, 422, "invalid-field", diag.pointer, "%s", diag.msg);
	} else if (ret == -EEXIST) {
		doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "type", "https://vigil.invalid/problems/conflict");
		cJSON_AddStringToObject(doc, "title", "Conflict");
		cJSON_AddNumberToObject(doc, "status", 409);
		cJSON_AddStringToObject(
			doc, "detail",
			"a model with this name is registered with a different schema");
		cJSON_AddStringToObject(doc, "pointer", "/name");
		cJSON_AddItemToObject(doc, "model", model);
		model = NULL;
		mon_http_json(resp, 409, doc);
		resp->content_type = "application/problem+json";
	} else if (ret) {
		store_failed(req, resp, ret, "could not register the model");
	} else {
		mon_http_json(resp, created ? 201 : 200, model);
		model = NULL;
	}
out:
	cJSON_Delete(model);
	cJSON_Delete(spec);
}

void mon_api_model_list(struct mon_http_req *req, struct mon_http_resp *resp)
{
	cJSON *list = NULL, *doc;
	PGconn *c;
	int ret;

	if (mon_server_db_get(req, resp, &c))
		return;
	ret = mon_store_model_list(c, &list);
	mon_server_db_put(req, c, ret == -EAGAIN || ret == -EIO);
	if (ret) {
		store_failed(req, resp, ret, "could not list models");
		return;
	}
	doc = cJSON_CreateObject();
	cJSON_AddItemToObject(doc, "models", list);
	mon_http_json(resp, 200, doc);
}

void mon_api_model_get(struct mon_http_req *req, struct mon_http_resp *resp)
{
	cJSON *model = NULL;
	PGconn *c;
	int ret;

	if (mon_server_db_get(req, resp, &c))
		return;
	ret = mon_store_model_get(c, req->params[0], &model);
	mon_server_db_put(req, c, ret == -EAGAIN || ret == -EIO);
	if (ret == -ENOENT)
		mon_http_problem(resp, 404, "not-found", NULL, "no such model");
	else if (ret)
		store_failed(req, resp, ret, "could not read the model");
	else
		mon_http_json(resp, 200, model);
}
