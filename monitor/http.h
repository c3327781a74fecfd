/* SPDX-License-Identifier: MIT
 * monitor/http.h - the HTTP server: libmicrohttpd, routing, limits, problem+json
 *
 * One static route table maps (method, path pattern) to a handler and the role it needs.
 * The server buffers each request body up to the configured limit (413 beyond), checks the
 * bearer token (401 / 403), calls the handler on a pool thread (or, for the analysis
 * routes, on a worker thread: see below), and records the request in the metrics.
 * Handlers fill a struct mon_http_resp and return; they never touch MHD.
 */
#ifndef MONITOR_HTTP_H
#define MONITOR_HTTP_H
#include <cjson/cJSON.h>
#include <stddef.h>

#include "monitor/common.h"

struct mon_server; /* the running daemon's shared state: config, db pool, metrics */

enum mon_role {
	MON_ROLE_NONE = 0, /* a public route: no token needed */
	MON_ROLE_INGEST,
	MON_ROLE_VIEWER,
	MON_ROLE_COMPLIANCE,
	MON_ROLE_ONCALL, /* what viewer may, plus acknowledging/resolving alerts and silences */
	MON_ROLE_ADMIN,
};

/* An authenticated caller. */
struct mon_principal {
	char name[128]; /* token name, "anonymous" on public routes */
	enum mon_role role;
};

/* One request as handlers see it. All pointers are borrowed for the handler's duration. */
struct mon_http_req {
	const char *method;
	const char *path;      /* without the query string */
	const char *params[4]; /* path parameters captured by {name} in the pattern */
	size_t nparams;
	const char *content_type; /* media type only, lower case, "" when absent */
	const char *body;         /* NUL-terminated copy of the body (may contain NULs) */
	size_t body_len;
	const char *remote; /* client address, for the audit log */
	struct mon_principal who;
	void *conn; /* the MHD connection, for mon_http_query */
	struct mon_server *srv;
	void *state; /* the handler's, across mon_http_defer (freed by the server) */
};

/* The value of query parameter key, or NULL. Borrowed. */
const char *mon_http_query(const struct mon_http_req *r, const char *key);

struct mon_http_resp {
	int status;
	const char *content_type; /* static string; default application/json */
	char *body;               /* malloc'd; freed by the server */
	size_t body_len;
	int retry_after; /* seconds; sent as Retry-After when > 0 */
};

/* Set resp to status with the JSON document j (consumed: deleted here). */
void mon_http_json(struct mon_http_resp *resp, int status, cJSON *j);

/* Set resp to an RFC 9457 application/problem+json error: type is a short slug appended
 * to "https://vigil.invalid/problems/" (or NULL for about:blank), title derived from the
 * status, detail a sentence, pointer a JSON pointer to the offending field (or NULL). */
void mon_http_problem(struct mon_http_resp *resp, int status, const char *type, const char *pointer,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Map a negative errno to a status, in exactly one place: EINVAL 400, ENOENT 404,
 * EEXIST 409, E2BIG 413, EAGAIN and ETIMEDOUT 503, EACCES 403, EPERM 401, anything else
 * 500. */
int mon_http_status_for(int err);

typedef void (*mon_http_handler_fn)(struct mon_http_req *req, struct mon_http_resp *resp);

struct mon_http_route {
	const char *method;
	const char *pattern; /* "/v1/models/{name}/predictions": {x} matches one segment */
	enum mon_role role;  /* the least role allowed; admin may do everything */
	mon_http_handler_fn fn;
	const char *summary; /* for /openapi.json */
};

/* The route table (routes.c) and its length; /openapi.json is generated from it. */
extern const struct mon_http_route mon_http_routes[];
extern const size_t mon_http_nroutes;

/* Parse the request body as JSON for a handler: checks the media type (application/json,
 * or any +json type; else 415), the nesting depth (max_json_depth) and the syntax. Returns 0
 * and a new document in *out (cJSON_Delete it); otherwise fills resp with a problem (400
 * with the byte offset of a syntax error, 413, 415) and returns -EINVAL. */
int mon_http_body_json(struct mon_http_req *req, struct mon_http_resp *resp,
		       cJSON **out) MON_MUSTCHECK;

/* --- long computations off the HTTP threads -----------------------------------------------
 *
 * The analysis routes (mon_api_analysis_route in monitor/routes_analysis.h) can take
 * seconds. Their handlers do not run on libmicrohttpd's threads: the connection is
 * suspended (MHD_suspend_connection) and the handler runs on one of analysis_workers
 * worker threads, which resumes the connection with the answer. Before a queued request
 * starts, its socket is checked: when the client has closed it, the request is skipped
 * (counted in vigil_analysis_abandoned_total) and nothing is computed for it.
 *
 * A worker-side handler may also park its request instead of answering: the request stays
 * suspended, holding no thread, until someone calls mon_http_continue. */

/* In a handler running on a worker: do not answer now. next(req, resp) runs on a worker
 * once mon_http_continue(req) is called (which may already happen before this handler
 * returns, from another thread). state becomes req->state (an earlier, different state is
 * freed first); the server frees it with free_state (may be NULL) when the request ends,
 * whether next ran or not (the client went away, or the server shut down). */
void mon_http_defer(struct mon_http_req *req, mon_http_handler_fn next, void *state,
		    void (*free_state)(void *));
/* Run the continuation of a request parked by mon_http_defer. Thread-safe; call exactly
 * once per mon_http_defer. */
void mon_http_continue(struct mon_http_req *req);

/* --- the server itself (monitor/server.c drives these) ---------------------------------
 *
 * Create with mon_http_start; shut down with mon_http_quiesce (stop accepting), then
 * mon_http_drain (wait for in-flight requests), then mon_http_stop (closes the rest and
 * frees). */
struct mon_http; /* opaque */

/* Start listening on the configured address with the configured limits. Returns 0 and the
 * server in *out; -EADDRINUSE, -EINVAL (bad listen address) or -EIO (logged). */
int mon_http_start(struct mon_server *srv, struct mon_http **out) MON_MUSTCHECK;
/* The bound port (useful with listen port 0). */
unsigned mon_http_port(const struct mon_http *h);
/* Stop accepting new connections; requests already received go on. */
void mon_http_quiesce(struct mon_http *h);
/* Wait until no request is in progress, up to timeout_s. Returns 0, or -ETIMEDOUT. */
int mon_http_drain(struct mon_http *h, unsigned timeout_s) MON_MUSTCHECK;
/* Stop: requests still queued for a worker are answered 503, computations already running
 * are waited for (their queries are bounded by analysis_statement_timeout_s), then the
 * daemon stops and h is freed. NULL is a no-op. */
void mon_http_stop(struct mon_http *h);

#endif /* MONITOR_HTTP_H */
