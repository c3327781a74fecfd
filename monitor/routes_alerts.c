/* SPDX-License-Identifier: MIT
 * monitor/routes_alerts.c - HTTP handlers for alert rules, alerts and silences
 *
 * Thin: validation lives with the data (monitor/alert_rule.c, silence.c), state changes
 * in the engine (monitor/alert.c); here query parameters are checked, errors become
 * statuses, and the caller's token name becomes the actor.
 */
#include "config.h"

#include "monitor/routes_alerts.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/batch.h"
#include "monitor/alert.h"
#include "monitor/alert_rule.h"
#include "monitor/log.h"
#include "monitor/server.h"
#include "monitor/silence.h"

#define LOG_PREFIX "alerts: "
#define NOTE_MAX 2000

/* A store function failed with ret (after the connection was given back). */
static void failed(struct mon_http_req *req, struct mon_http_resp *resp, int ret, const char *what)
{
	if (ret == -EAGAIN || ret == -ETIMEDOUT) {
		mon_http_problem(resp, 503, "unavailable", NULL,
				 "the database is unavailable; retry later");
		resp->retry_after = (int)mon_server_cfg(req->srv)->retry_after_s;
		return;
	}
	mon_http_problem(resp, mon_http_status_for(ret), NULL, NULL, "%s", what);
}

/* A path id: 1..18 digits. Returns it, or 0 when s is not one. */
static int64_t path_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
		return 0;
	return strtoll(s, NULL, 10);
}

/* 1 when s is NULL or one of the NULL-terminated list. */
static int one_of(const char *s, const char *const *list)
{
	if (!s)
		return 1;
	for (; *list; list++)
		if (!strcmp(s, *list))
			return 1;
	return 0;
}

/* Parse the body as JSON after checking its UTF-8; fills resp on failure. */
static int body(struct mon_http_req *req, struct mon_http_resp *resp, cJSON **out)
{
	size_t bad;

	*out = NULL;
	if (col_utf8_check(req->body, req->body_len, &bad)) {
		mon_http_problem(resp, 400, "invalid-utf8", "", "invalid UTF-8 at byte %zu", bad);
		return -EINVAL;
	}
	return mon_http_body_json(req, resp, out);
}

void mon_api_alert_rules_list(struct mon_http_req *req, struct mon_http_resp *resp)
{
	cJSON *rules = NULL, *doc;
	PGconn *c;
	int ret;

	if (mon_server_db_get(req, resp, &c))
		return;
	ret = mon_alert_rules_json(c, req->params[0], &rules);
	mon_server_db_put(req, c, ret == -EAGAIN || ret == -EIO);
	if (ret == -ENOENT) {
		mon_http_problem(resp, 404, "not-found", NULL, "no such model");
		return;
	}
	if (ret) {
		failed(req, resp, ret, "could not list the alert rules");
		return;
	}
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "model", req->params[0]);
	cJSON_AddItemToObject(doc, "rules", rules);
	mon_http_json(resp, 200, doc);
}

void mon_api_alert_rules_post(struct mon_http_req *req, struct mon_http_resp *resp)
{
	struct mon_alert_rule rule;
	struct col_diag diag;
	cJSON *j = NULL, *out = NULL;
	PGconn *c;
	int ret, created = 0;

	if (body(req, resp, &j))
		return;
	if (mon_alert_rule_parse(j, 0, &rule, &diag)) {
		mon_http_problem(resp, 422, "invalid-field", diag.pointer, "%s", diag.msg);
		goto out;
	}
	if (mon_server_db_get(req, resp, &c))
		goto fini;
	ret = mon_alert_rule_put(c, req->params[0], &rule, req->who.name, req->remote, &out,
				 &created);
	mon_server_db_put(req, c, ret == -EAGAIN || ret == -EIO);
	if (ret == -ENOENT)
		mon_http_problem(resp, 404, "not-found", NULL, "no such model");
	else if (ret)
		failed(req, resp, ret, "could not store the alert rule");
	else
		mon_http_json(resp, created ? 201 : 200, out);
fini:
	mon_alert_rule_fini(&rule);
out:
	cJSON_Delete(j);
}

void mon_api_alerts_list(struct mon_http_req *req, struct mon_http_resp *resp)
{
	static const char *const states[] = {"firing", "acknowledged", "resolved", NULL};
	static const char *const severities[] = {"page", "ticket", "info", NULL};
	const char *state = mon_http_query(req, "state"), *model = mon_http_query(req, "model");
	const char *severity = mon_http_query(req, "severity"), *lim = mon_http_query(req, "limit");
	cJSON *list = NULL, *doc;
	long limit = 100;
	PGconn *c;
	int ret;

	if (!one_of(state, states)) {
		mon_http_problem(resp, 400, "invalid-parameter", NULL,
				 "state must be firing, acknowledged or resolved");
		return;
	}
	if (!one_of(severity, severities)) {
		mon_http_problem(resp, 400, "invalid-parameter", NULL,
				 "severity must be page, ticket or info");
		return;
	}
	if (lim) {
		char *end;

		limit = strtol(lim, &end, 10);
		if (end == lim || *end || limit < 1 || limit > 1000) {
			mon_http_problem(resp, 400, "invalid-parameter", NULL,
					 "limit must be an integer from 1 to 1000");
			return;
		}
	}
	if (mon_server_db_get(req, resp, &c))
		return;
	ret = mon_alert_list(c, state, model, severity, limit, &list);
	mon_server_db_put(req, c, ret == -EAGAIN || ret == -EIO);
	if (ret) {
		failed(req, resp, ret, "could not list alerts");
		return;
	}
	doc = cJSON_CreateObject();
	cJSON_AddItemToObject(doc, "alerts", list);
	mon_http_json(resp, 200, doc);
}

void mon_api_alert_get(struct mon_http_req *req, struct mon_http_resp *resp)
{
	int64_t id = path_id(req->params[0]);
	cJSON *a = NULL;
	PGconn *c;
	int ret;

	if (!id) {
		mon_http_problem(resp, 404, "not-found", NULL, "no such alert");
		return;
	}
	if (mon_server_db_get(req, resp, &c))
		return;
	ret = mon_alert_get(c, id, &a);
	mon_server_db_put(req, c, ret == -EAGAIN || ret == -EIO);
	if (ret == -ENOENT)
		mon_http_problem(resp, 404, "not-found", NULL, "no such alert");
	else if (ret)
		failed(req, resp, ret, "could not read the alert");
	else
		mon_http_json(resp, 200, a);
}

/* POST /v1/alerts/{id}/ack and /resolve. */
static void hand(struct mon_http_req *req, struct mon_http_resp *resp, int resolve)
{
	int64_t id = path_id(req->params[0]);
	const cJSON *note;
	cJSON *j = NULL, *a = NULL, *doc;
	PGconn *c;
	int ret;

	if (!id) {
		mon_http_problem(resp, 404, "not-found", NULL, "no such alert");
		return;
	}
	if (req->body_len == 0) {
		mon_http_problem(resp, 400, "note-required", "/note",
				 "%s needs a JSON body {\"note\": \"why\"}",
				 resolve ? "resolving" : "acknowledging");
		return;
	}
	if (body(req, resp, &j))
		return;
	note = cJSON_GetObjectItemCaseSensitive(j, "note");
	if (!cJSON_IsString(note) || !note->valuestring[strspn(note->valuestring, " \t\r\n")] ||
	    strlen(note->valuestring) > NOTE_MAX) {
		mon_http_problem(resp, 400, "note-required", "/note",
				 "a note saying why (1 to 2000 bytes) is required");
		goto out;
	}
	if (mon_server_db_get(req, resp, &c))
		goto out;
	ret = resolve ? mon_alert_resolve(c, id, req->who.name, req->remote, note->valuestring, &a)
		      : mon_alert_ack(c, id, req->who.name, req->remote, note->valuestring, &a);
	mon_server_db_put(req, c, ret == -EAGAIN || ret == -EIO);
	if (ret == -ENOENT) {
		mon_http_problem(resp, 404, "not-found", NULL, "no such alert");
	} else if (ret == -EEXIST) {
		const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(a, "state"));

		doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "type", "https://vigil.invalid/problems/conflict");
		cJSON_AddStringToObject(doc, "title", "Conflict");
		cJSON_AddNumberToObject(doc, "status", 409);
		cJSON_AddStringToObject(doc, "detail",
					resolve ? "the alert is resolved already"
					: !state || strcmp(state, "acknowledged")
						? "only a firing alert can be acknowledged"
						: "the alert is acknowledged already");
		cJSON_AddItemToObject(doc, "alert", a);
		a = NULL;
		mon_http_json(resp, 409, doc);
		resp->content_type = "application/problem+json";
	} else if (ret) {
		failed(req, resp, ret, "could not change the alert");
	} else {
		mon_http_json(resp, 200, a);
		a = NULL;
	}
out:
	cJSON_Delete(a);
	cJSON_Delete(j);
}

void mon_api_alert_ack(struct mon_http_req *req, struct mon_http_resp *resp)
{
	hand(req, resp, 0);
}

void mon_api_alert_resolve(struct mon_http_req *req, struct mon_http_resp *resp)
{
	hand(req, resp, 1);
}

void mon_api_silences_list(struct mon_http_req *req, struct mon_http_resp *resp)
{
	static const char *const states[] = {"pending", "active", "expired", NULL};
	const char *state = mon_http_query(req, "state");
	cJSON *list = NULL, *doc;
	PGconn *c;
	int ret;

	if (!one_of(state, states)) {
		mon_http_problem(resp, 400, "invalid-parameter", NULL,
				 "state must be pending, active or expired");
		return;
	}
	if (mon_server_db_get(req, resp, &c))
		return;
	ret = mon_silence_list(c, state, &list);
	mon_server_db_put(req, c, ret == -EAGAIN || ret == -EIO);
	if (ret) {
		failed(req, resp, ret, "could not list silences");
		return;
	}
	doc = cJSON_CreateObject();
	cJSON_AddItemToObject(doc, "silences", list);
	mon_http_json(resp, 200, doc);
}

void mon_api_silence_create(struct mon_http_req *req, struct mon_http_resp *resp)
{
	struct col_diag diag;
	cJSON *j = NULL, *s = NULL;
	PGconn *c;
	int ret;

	if (body(req, resp, &j))
		return;
	if (mon_server_db_get(req, resp, &c))
		goto out;
	ret = mon_silence_create(c, j, req->who.name, req->remote, &s, &diag);
	mon_server_db_put(req, c, ret == -EAGAIN || ret == -EIO);
	if (ret == -EINVAL)
		mon_http_problem(resp, 422, "invalid-field", diag.pointer, "%s", diag.msg);
	else if (ret)
		failed(req, resp, ret, "could not create the silence");
	else
		mon_http_json(resp, 201, s);
out:
	cJSON_Delete(j);
}

void mon_api_silence_delete(struct mon_http_req *req, struct mon_http_resp *resp)
{
	int64_t id = path_id(req->params[0]);
	PGconn *c;
	int ret;

	if (!id) {
		mon_http_problem(resp, 404, "not-found", NULL, "no such silence");
		return;
	}
	if (mon_server_db_get(req, resp, &c))
		return;
	ret = mon_silence_delete(c, id, req->who.name, req->remote);
	mon_server_db_put(req, c, ret == -EAGAIN || ret == -EIO);
	if (ret == -ENOENT)
		mon_http_problem(resp, 404, "not-found", NULL,
				 "no such silence, or deleted already");
	else if (ret)
		failed(req, resp, ret, "could not delete the silence");
	else
		resp->status = 204;
}
