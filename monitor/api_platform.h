/* SPDX-License-Identifier: MIT
 * monitor/api_platform.h - the platform routes: health, readiness, metrics, API description
 *
 *   GET /healthz       200 while the process answers (no database contact)
 *   GET /readyz        200 when the database answers and its schema is the newest shipped;
 *                      503 + Retry-After otherwise
 *   GET /metrics       Prometheus text format 0.0.4
 *   GET /openapi.json  OpenAPI 3.0 generated from mon_http_routes[]: every route, with its
 *                      method, summary, path parameters, bearer security and role, and the
 *                      problem+json error responses
 */
#ifndef MONITOR_API_PLATFORM_H
#define MONITOR_API_PLATFORM_H
#include <cjson/cJSON.h>

#include "monitor/http.h"

void mon_api_healthz(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_readyz(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_metrics(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_openapi(struct mon_http_req *req, struct mon_http_resp *resp);

/* The OpenAPI document for the route table, new (cJSON_Delete it). */
cJSON *mon_api_openapi_doc(void);

/* vigil routes: print "METHOD PATTERN ROLE" for every route the server dispatches. */
int mon_api_routes_main(int argc, char **argv);

#endif /* MONITOR_API_PLATFORM_H */
