/* SPDX-License-Identifier: MIT
 * monitor/routes_alerts.h - HTTP handlers for alert rules, alerts and silences
 *
 *   GET  /v1/models/{model}/rules      (viewer)  {"model", "rules": [...]}
 *   POST /v1/models/{model}/rules      (admin)   one rule (monitor/alert_rule.h): 201 new,
 *                                                200 replaced (by name); 422 names the field
 *   GET  /v1/alerts                    (viewer)  ?state=firing|acknowledged|resolved
 *                                                &model=NAME&severity=page|ticket|info
 *                                                &limit=1..1000 (100): {"alerts": [...]}
 *   GET  /v1/alerts/{id}               (viewer)  one alert with its events
 *   POST /v1/alerts/{id}/ack           (oncall)  {"note"}: firing -> acknowledged
 *   POST /v1/alerts/{id}/resolve       (oncall)  {"note"}: firing/acknowledged -> resolved
 *                                                400 without a note; 409 in another state
 *   GET  /v1/silences                  (viewer)  ?state=pending|active|expired
 *   POST /v1/silences                  (oncall)  monitor/silence.h: 201; 422 names the field
 *   DELETE /v1/silences/{id}           (oncall)  204; 404 when gone already
 *
 * Every change is audited by the store functions, with the token's name as actor.
 */
#ifndef MONITOR_ROUTES_ALERTS_H
#define MONITOR_ROUTES_ALERTS_H
#include "monitor/http.h"

void mon_api_alert_rules_list(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_alert_rules_post(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_alerts_list(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_alert_get(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_alert_ack(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_alert_resolve(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_silences_list(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_silence_create(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_silence_delete(struct mon_http_req *req, struct mon_http_resp *resp);

#endif /* MONITOR_ROUTES_ALERTS_H */
