/* SPDX-License-Identifier: MIT
 * monitor/api_platform.c - the platform routes: health, readiness, metrics, API description
 *
 * /readyz is what a load balancer or orchestrator polls: it borrows a connection (failing
 * fast while PostgreSQL is away, see db.c) and compares the newest applied migration with
 * the newest shipped one. /openapi.json is built from the route table on each request, so
 * a route added to routes.c is described without anyone remembering to.
 */
#include "config.h"

#include "monitor/api_platform.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/auth.h"
#include "monitor/eval_metrics.h"
#include "monitor/log.h"
#include "monitor/metrics.h"
#include "monitor/migrate.h"
#include "monitor/server.h"

#define LOG_PREFIX "api: "
#define READY_TIMEOUT_MS 1000

void mon_api_healthz(struct mon_http_req *req, struct mon_http_resp *resp)
{
	cJSON *j = cJSON_CreateObject();

	(void)req;
	cJSON_AddStringToObject(j, "status", "ok");
	mon_http_json(resp, 200, j);
}

void mon_api_readyz(struct mon_http_req *req, struct mon_http_resp *resp)
{
	struct mon_server *srv = req->srv;
	char current[MON_MIGRATION_NAME_MAX + 1];
	PGconn *c = NULL;
	cJSON *j;
	int ret;

	ret = mon_db_acquire(srv->db, READY_TIMEOUT_MS, &c);
	if (ret) {
		mon_http_problem(resp, 503, "not-ready", NULL,
				 ret == -ETIMEDOUT ? "every database connection is busy"
						   : "the database is unreachable");
		return;
	}
	ret = mon_migrate_current(c, current, sizeof(current));
	mon_db_release(srv->db, c, ret == -EAGAIN);
	if (ret) {
		mon_http_problem(resp, 503, "not-ready", NULL,
				 ret == -EAGAIN ? "the database is unreachable"
						: "the schema version cannot be read");
		return;
	}
	if (strcmp(current, srv->schema_latest) < 0) {
		mon_http_problem(
			resp, 503, "not-ready", NULL,
			"the schema is at \"%s\"; this vigil needs \"%s\" (run vigil migrate)",
			current, srv->schema_latest);
		return;
	}
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "status", "ready");
	cJSON_AddStringToObject(j, "database", "up");
	cJSON_AddStringToObject(j, "schema", current);
	mon_http_json(resp, 200, j);
}

void mon_api_metrics(struct mon_http_req *req, struct mon_http_resp *resp)
{
	struct mon_server *srv = req->srv;
	const char **pat = mon_xcalloc(mon_http_nroutes + 1, sizeof(*pat));
	char *text = NULL;
	size_t len = 0;

	for (size_t i = 0; i < mon_http_nroutes; i++)
		pat[i] = mon_http_routes[i].pattern;
	mon_metrics_set_db(srv->metrics, mon_db_errors(srv->db), mon_db_up(srv->db));
	if (mon_metrics_render(srv->metrics, pat, &text, &len)) {
		mon_http_problem(resp, 500, NULL, NULL, "could not render the metrics");
	} else {
		/* the latest evaluation results per model (monitor/eval_metrics.h) */
		mon_eval_metrics_append(srv, &text, &len);
		resp->status = 200;
		resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
		resp->body = text;
		resp->body_len = len;
	}
	free(pat);
}

/* --- OpenAPI ----------------------------------------------------------------------------- */

static cJSON *problem_response(const char *description)
{
	cJSON *r = cJSON_CreateObject();
	cJSON *content = cJSON_AddObjectToObject(r, "content");
	cJSON *media = cJSON_AddObjectToObject(content, "application/problem+json");
	cJSON *schema = cJSON_AddObjectToObject(media, "schema");

	cJSON_AddStringToObject(r, "description", description);
	cJSON_AddStringToObject(schema, "$ref", "#/components/schemas/Problem");
	return r;
}

static cJSON *components(void)
{
	static const struct {
		const char *name, *desc;
	} resps[] = {
		{"BadRequest", "The request is malformed; pointer names the bad field."},
		{"Unauthorized", "No bearer token, or an unknown or revoked one."},
		{"Forbidden", "The token's role may not use this route."},
		{"NotFound", "No such route or resource."},
		{"MethodNotAllowed", "The route exists but not with this method (see Allow)."},
		{"Conflict", "The resource exists with other content."},
		{"PayloadTooLarge",
		 "The body exceeds max_body_bytes, or a batch max_batch_records."},
		{"UnsupportedMediaType", "The body's Content-Type is not accepted."},
		{"InternalError", "The server failed; details are in its log."},
		{"Unavailable", "The database is unavailable; retry after Retry-After seconds."},
	};
	cJSON *c = cJSON_CreateObject();
	cJSON *sec = cJSON_AddObjectToObject(c, "securitySchemes");
	cJSON *bearer = cJSON_AddObjectToObject(sec, "bearer");
	cJSON *schemas = cJSON_AddObjectToObject(c, "schemas");
	cJSON *problem = cJSON_AddObjectToObject(schemas, "Problem");
	cJSON *props, *p, *req, *responses;

	cJSON_AddStringToObject(bearer, "type", "http");
	cJSON_AddStringToObject(bearer, "scheme", "bearer");
	cJSON_AddStringToObject(bearer, "description",
				"A token from `vigil token create`; roles ingest, viewer, "
				"compliance, admin.");
	cJSON_AddStringToObject(problem, "type", "object");
	cJSON_AddStringToObject(problem, "description", "RFC 9457 problem details");
	req = cJSON_AddArrayToObject(problem, "required");
	cJSON_AddItemToArray(req, cJSON_CreateString("type"));
	cJSON_AddItemToArray(req, cJSON_CreateString("title"));
	cJSON_AddItemToArray(req, cJSON_CreateString("status"));
	props = cJSON_AddObjectToObject(problem, "properties");
	p = cJSON_AddObjectToObject(props, "type");
	cJSON_AddStringToObject(p, "type", "string");
	cJSON_AddStringToObject(p, "format", "uri-reference");
	p = cJSON_AddObjectToObject(props, "title");
	cJSON_AddStringToObject(p, "type", "string");
	p = cJSON_AddObjectToObject(props, "status");
	cJSON_AddStringToObject(p, "type", "integer");
	p = cJSON_AddObjectToObject(props, "detail");
	cJSON_AddStringToObject(p, "type", "string");
	p = cJSON_AddObjectToObject(props, "pointer");
	cJSON_AddStringToObject(p, "type", "string");
	cJSON_AddStringToObject(p, "description", "RFC 6901 JSON pointer to the bad field");
	responses = cJSON_AddObjectToObject(c, "responses");
	for (size_t i = 0; i < sizeof(resps) / sizeof(resps[0]); i++)
		cJSON_AddItemToObject(responses, resps[i].name, problem_response(resps[i].desc));
	return c;
}

static void add_ref(cJSON *responses, const char *code, const char *name)
{
	char ref[128];
	cJSON *r = cJSON_AddObjectToObject(responses, code);

	snprintf(ref, sizeof(ref), "#/components/responses/%s", name);
	cJSON_AddStringToObject(r, "$ref", ref);
}

static int has_body(const char *method)
{
	return !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH");
}

static cJSON *operation(const struct mon_http_route *r)
{
	cJSON *op = cJSON_CreateObject();
	cJSON *params = NULL, *responses, *ok;
	char opid[256], lower[16];
	size_t n = 0;

	for (n = 0; r->method[n] && n + 1 < sizeof(lower); n++)
		lower[n] = (char)(r->method[n] | 0x20);
	lower[n] = '\0';
	n = (size_t)snprintf(opid, sizeof(opid), "%s", lower);
	for (const char *p = r->pattern; *p && n + 1 < sizeof(opid); p++) {
		if (*p == '/' || *p == '.' || *p == '-')
			opid[n++] = '_';
		else if (*p != '{' && *p != '}')
			opid[n++] = *p;
	}
	opid[n] = '\0';
	cJSON_AddStringToObject(op, "operationId", opid);
	cJSON_AddStringToObject(op, "summary", r->summary ? r->summary : "");
	cJSON_AddStringToObject(op, "x-vigil-role", mon_auth_role_name(r->role));
	for (const char *p = strchr(r->pattern, '{'); p; p = strchr(p + 1, '{')) {
		const char *close = strchr(p, '}');
		cJSON *prm, *schema;
		char name[64];

		if (!close)
			break;
		if (!params)
			params = cJSON_AddArrayToObject(op, "parameters");
		snprintf(name, sizeof(name), "%.*s", (int)(close - p - 1), p + 1);
		prm = cJSON_CreateObject();
		cJSON_AddStringToObject(prm, "name", name);
		cJSON_AddStringToObject(prm, "in", "path");
		cJSON_AddTrueToObject(prm, "required");
		schema = cJSON_AddObjectToObject(prm, "schema");
		cJSON_AddStringToObject(schema, "type", "string");
		cJSON_AddItemToArray(params, prm);
	}
	if (r->role != MON_ROLE_NONE) {
		cJSON *sec = cJSON_AddArrayToObject(op, "security");
		cJSON *req = cJSON_CreateObject();

		cJSON_AddArrayToObject(req, "bearer");
		cJSON_AddItemToArray(sec, req);
	} else {
		cJSON_AddArrayToObject(op, "security"); /* public: overrides nothing, says so */
	}
	if (has_body(r->method)) {
		cJSON *rb = cJSON_AddObjectToObject(op, "requestBody");
		cJSON *content = cJSON_AddObjectToObject(rb, "content");
		cJSON *media = cJSON_AddObjectToObject(content, "application/json");
		cJSON *schema = cJSON_AddObjectToObject(media, "schema");

		cJSON_AddTrueToObject(rb, "required");
		cJSON_AddStringToObject(schema, "type", "object");
	}
	responses = cJSON_AddObjectToObject(op, "responses");
	ok = cJSON_AddObjectToObject(responses, "2XX");
	cJSON_AddStringToObject(ok, "description", "Success");
	if (has_body(r->method) || strchr(r->pattern, '{'))
		add_ref(responses, "400", "BadRequest");
	if (r->role != MON_ROLE_NONE) {
		add_ref(responses, "401", "Unauthorized");
		add_ref(responses, "403", "Forbidden");
	}
	add_ref(responses, "404", "NotFound");
	add_ref(responses, "405", "MethodNotAllowed");
	if (has_body(r->method)) {
		add_ref(responses, "409", "Conflict");
		add_ref(responses, "413", "PayloadTooLarge");
		add_ref(responses, "415", "UnsupportedMediaType");
	}
	add_ref(responses, "500", "InternalError");
	add_ref(responses, "503", "Unavailable");
	return op;
}

cJSON *mon_api_openapi_doc(void)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *info = cJSON_AddObjectToObject(doc, "info");
	cJSON *paths;

	cJSON_AddStringToObject(doc, "openapi", "3.0.3");
	cJSON_AddStringToObject(info, "title", "vigil");
	cJSON_AddStringToObject(info, "version", PACKAGE_VERSION);
	cJSON_AddStringToObject(
		info, "description",
		"Drift, silent-failure and subgroup performance monitoring for "
		"clinical ML models. Errors are RFC 9457 application/problem+json.");
	paths = cJSON_AddObjectToObject(doc, "paths");
	for (size_t i = 0; i < mon_http_nroutes; i++) {
		const struct mon_http_route *r = &mon_http_routes[i];
		cJSON *item = cJSON_GetObjectItemCaseSensitive(paths, r->pattern);
		char lower[16];
		size_t k;

		if (!item)
			item = cJSON_AddObjectToObject(paths, r->pattern);
		for (k = 0; r->method[k] && k + 1 < sizeof(lower); k++)
			lower[k] = (char)(r->method[k] | 0x20);
		lower[k] = '\0';
		if (!cJSON_GetObjectItemCaseSensitive(item, lower))
			cJSON_AddItemToObject(item, lower, operation(r));
	}
	cJSON_AddItemToObject(doc, "components", components());
	return doc;
}

void mon_api_openapi(struct mon_http_req *req, struct mon_http_resp *resp)
{
	(void)req;
	mon_http_json(resp, 200, mon_api_openapi_doc());
}

int mon_api_routes_main(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: vigil routes\n");
		return 2;
	}
	for (size_t i = 0; i < mon_http_nroutes; i++)
		printf("%s %s %s\n", mon_http_routes[i].method, mon_http_routes[i].pattern,
		       mon_auth_role_name(mon_http_routes[i].role));
	return 0;
}
