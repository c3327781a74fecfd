/* SPDX-License-Identifier: MIT
 * monitor/http.c - the HTTP server: libmicrohttpd, routing, limits, auth, problem+json
 *
 * libmicrohttpd runs its own threads: a pool of cfg->threads, each polling its connections
 * with epoll (poll where epoll is missing). MHD calls on_request several times per request:
 *
 *   first call      headers are in. Route, check the bearer token and role, and check
 *                   Content-Length against max_body_bytes. Any failure is answered right
 *                   away (MHD then discards the body and closes the connection), so an
 *                   unauthenticated or oversized upload is never buffered.
 *   upload calls    append the body, up to the limit. Past it (a chunked body, which
 *                   announces no length) the buffer is freed and the rest dropped; 413
 *                   goes out when the body ends (MHD cannot answer mid-upload), or the
 *                   connection is closed once another max_body_bytes were dropped.
 *   last call       run the handler and queue its response.
 *
 * Per-request state lives in a struct request from the first call to the
 * MHD_OPTION_NOTIFY_COMPLETED callback, which records the metrics and frees it. Slow or
 * stalled clients are closed by MHD after connection_timeout_s; limits on total and
 * per-address connections are MHD's too.
 *
 * Analysis routes (seconds of work each) never run on MHD's threads, where one of them
 * would stall every other connection that thread polls: the last call suspends the
 * connection and queues the request for a pool of analysis_workers threads; the worker
 * fills st->resp and resumes the connection, and MHD's next call sends it. While it is
 * suspended MHD neither times a connection out nor notices that its client left, so a
 * worker peeks at the socket before starting a queued request and skips it when the peer
 * has closed. A handler may park its request (mon_http_defer): the request then holds no
 * worker until mon_http_continue queues it again. Every request handed to the pool is
 * counted in outstanding until it is resumed; the pool stops once it is zero.
 */
#include "config.h"

#include "monitor/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "monitor/audit.h"
#include "monitor/auth.h"
#include "monitor/log.h"
#include "monitor/metrics.h"
#include "monitor/routes_analysis.h"
#include "monitor/server.h"

#define LOG_PREFIX "http: "
#define PROBLEM_BASE "https://vigil.invalid/problems/"
#define MAX_TOKEN_TEXT 256
#define DRAIN_POLL_US 20000

struct request;

/* The analysis workers and their queue (see the top of the file). */
struct pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct request *head, *tail; /* queued */
	unsigned outstanding;        /* handed to the pool and not resumed yet */
	int stop;                    /* mon_http_stop: answer queued first calls 503, then exit */
	pthread_t *threads;
	unsigned nthreads;
};

struct mon_http {
	struct MHD_Daemon *d;
	struct mon_server *srv;
	atomic_long active; /* requests between their first call and completion */
	unsigned port;
	int quiesced;
	struct pool pool;
};

struct request {
	struct mon_http *h;
	double start;
	size_t route; /* index into mon_http_routes, or MON_METRICS_UNMATCHED */
	int status;   /* what was sent, for the metrics */
	int answered; /* a response is queued */
	int too_large;
	size_t limit;
	size_t dropped; /* body bytes thrown away after too_large */
	char *body;
	size_t len, cap;
	char *params; /* NUL-separated copies of the path parameters */
	char remote[INET6_ADDRSTRLEN];
	char ctype[128];
	struct mon_http_req req;
	/* the worker pool's (under pool.lock where both sides touch them) */
	struct MHD_Connection *conn;
	struct request *qnext;
	mon_http_handler_fn next; /* continuation; NULL: the route's handler */
	void (*state_free)(void *);
	struct mon_http_resp resp; /* the worker's answer */
	int ready;                 /* resp is final: send it on the next call */
	int running, parked, wake;
	int abandoned; /* skipped: the client had gone */
};

/* --- responses ------------------------------------------------------------------------- */

void mon_http_json(struct mon_http_resp *resp, int status, cJSON *j)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;

	cJSON_Delete(j);
	free(resp->body);
	resp->status = status;
	resp->content_type = "application/json";
	resp->body = s;
	resp->body_len = s ? strlen(s) : 0;
	if (!s && j)
		resp->status = 500;
}

static const char *reason(int status)
{
	const char *r = MHD_get_reason_phrase_for((unsigned)status);

	return r && *r && strcmp(r, "Unknown") ? r : "Error";
}

void mon_http_problem(struct mon_http_resp *resp, int status, const char *type, const char *pointer,
		      const char *fmt, ...)
{
	char detail[512], typebuf[256];
	cJSON *j = cJSON_CreateObject();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (type)
		snprintf(typebuf, sizeof(typebuf), PROBLEM_BASE "%s", type);
	cJSON_AddStringToObject(j, "type", type ? typebuf : "about:blank");
	cJSON_AddStringToObject(j, "title", reason(status));
	cJSON_AddNumberToObject(j, "status", status);
	cJSON_AddStringToObject(j, "detail", detail);
	if (pointer)
		cJSON_AddStringToObject(j, "pointer", pointer);
	mon_http_json(resp, status, j);
	resp->content_type = "application/problem+json";
}

int mon_http_status_for(int err)
{
	switch (err) {
	case -EINVAL:
		return 400;
	case -ENOENT:
		return 404;
	case -EEXIST:
		return 409;
	case -E2BIG:
		return 413;
	case -EAGAIN:
	case -ETIMEDOUT:
		return 503;
	case -EACCES:
		return 403;
	case -EPERM:
		return 401;
	default:
		return 500;
	}
}

const char *mon_http_query(const struct mon_http_req *r, const char *key)
{
	return MHD_lookup_connection_value((struct MHD_Connection *)r->conn, MHD_GET_ARGUMENT_KIND,
					   key);
}

/* --- JSON bodies ------------------------------------------------------------------------- */

/* The deepest nesting of arrays and objects in s, stopping early past limit. */
static unsigned json_depth(const char *s, size_t n, unsigned limit)
{
	unsigned depth = 0, max = 0;
	int in_str = 0;

	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = 0;
		} else if (ch == '"') {
			in_str = 1;
		} else if (ch == '[' || ch == '{') {
			if (++depth > max && (max = depth) > limit)
				return max;
		} else if ((ch == ']' || ch == '}') && depth) {
			depth--;
		}
	}
	return max;
}

int mon_http_body_json(struct mon_http_req *req, struct mon_http_resp *resp, cJSON **out)
{
	const struct mon_cfg *cfg = mon_server_cfg(req->srv);
	const char *ct = req->content_type;
	const char *end = NULL;
	size_t ctlen = strlen(ct);
	cJSON *j;

	*out = NULL;
	if (strcmp(ct, "application/json") && !(ctlen > 5 && !strcmp(ct + ctlen - 5, "+json"))) {
		mon_http_problem(resp, 415, "unsupported-media-type", NULL,
				 "the body must be application/json, not \"%s\"", ct);
		return -EINVAL;
	}
	if (json_depth(req->body, req->body_len, cfg->max_json_depth) > cfg->max_json_depth) {
		mon_http_problem(resp, 400, "json-too-deep", "",
				 "the JSON nests deeper than %u levels", cfg->max_json_depth);
		return -EINVAL;
	}
	j = cJSON_ParseWithLengthOpts(req->body, req->body_len, &end, 0);
	if (!j) {
		size_t off = end && end >= req->body ? (size_t)(end - req->body) : 0;

		mon_http_problem(resp, 400, "invalid-json", "",
				 "the body is not valid JSON (near byte %zu)", off);
		return -EINVAL;
	}
	*out = j;
	return 0;
}

/* --- routing ----------------------------------------------------------------------------- */

/* 1 when path matches pattern; then the {param} values are copied NUL-separated into buf
 * (at least strlen(path) + 1 bytes) and pointed to by params. */
static int match(const char *pattern, const char *path, char *buf, const char **params, size_t *np)
{
	const char *p = pattern, *q = path;
	size_t n = 0;

	while (*p && *q) {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			const char *seg = strchrnul(q, '/');
			size_t len = (size_t)(seg - q);

			if (!close || len == 0 || n >= 4)
				return 0;
			if (buf) {
				memcpy(buf, q, len);
				buf[len] = '\0';
				params[n] = buf;
				buf += len + 1;
			}
			n++;
			p = close + 1;
			q = seg;
			continue;
		}
		if (*p != *q)
			return 0;
		p++;
		q++;
	}
	if (*p || *q)
		return 0;
	if (np)
		*np = n;
	return 1;
}

static int method_matches(const char *route, const char *method)
{
	return !strcmp(route, method) || (!strcmp(method, "HEAD") && !strcmp(route, "GET"));
}

/* Route st's request. Returns 0, or 404 / 405 with allow filled for 405. */
static int route(struct request *st, const char *method, const char *path, char *allow,
		 size_t allowlen)
{
	size_t any = MON_METRICS_UNMATCHED;

	allow[0] = '\0';
	for (size_t i = 0; i < mon_http_nroutes; i++) {
		const struct mon_http_route *r = &mon_http_routes[i];

		if (!match(r->pattern, path, NULL, NULL, NULL))
			continue;
		if (any == MON_METRICS_UNMATCHED)
			any = i;
		if (method_matches(r->method, method)) {
			st->params = mon_xmalloc(strlen(path) + 1);
			match(r->pattern, path, st->params, st->req.params, &st->req.nparams);
			st->route = i;
			return 0;
		}
		if (!strstr(allow, r->method)) {
			size_t len = strlen(allow);

			snprintf(allow + len, allowlen - len, "%s%s%s", len ? ", " : "", r->method,
				 !strcmp(r->method, "GET") ? ", HEAD" : "");
		}
	}
	st->route = any;
	return any == MON_METRICS_UNMATCHED ? 404 : 405;
}

/* --- sending ----------------------------------------------------------------------------- */

struct extra_header {
	const char *name;
	const char *value;
};

static enum MHD_Result send_resp(struct request *st, struct MHD_Connection *conn,
				 struct mon_http_resp *resp, const struct extra_header *extra,
				 size_t nextra)
{
	const struct mon_cfg *cfg = mon_server_cfg(st->h->srv);
	struct MHD_Response *r;
	enum MHD_Result ok;
	int status = resp->status ? resp->status : 500;

	if (status == 500 && !resp->body)
		mon_http_problem(resp, 500, NULL, NULL, "the request could not be completed");
	r = MHD_create_response_from_buffer_with_free_callback(resp->body_len, resp->body, free);
	if (!r) {
		free(resp->body);
		resp->body = NULL;
		return MHD_NO;
	}
	resp->body = NULL; /* owned by the response now */
	if (resp->body_len || resp->content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					resp->content_type ? resp->content_type
							   : "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (status == 503 || resp->retry_after > 0) {
		char retry[32];

		snprintf(retry, sizeof(retry), "%d",
			 resp->retry_after > 0 ? resp->retry_after : (int)cfg->retry_after_s);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry);
	}
	for (size_t i = 0; i < nextra; i++)
		MHD_add_response_header(r, extra[i].name, extra[i].value);
	if (atomic_load(&st->h->srv->stopping))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ok = MHD_queue_response(conn, (unsigned)status, r);
	MHD_destroy_response(r);
	if (ok == MHD_YES) {
		st->status = status;
		st->answered = 1;
	}
	return ok;
}

static enum MHD_Result __attribute__((format(printf, 6, 7)))
send_problem(struct request *st, struct MHD_Connection *conn, int status, const char *type,
	     const struct extra_header *extra, const char *fmt, ...)
{
	struct mon_http_resp resp = {0};
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	mon_http_problem(&resp, status, type, NULL, "%s", detail);
	return send_resp(st, conn, &resp, extra, extra ? 1 : 0);
}

/* --- the request life cycle ------------------------------------------------------------- */

static void client_address(struct MHD_Connection *conn, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(buf, len, "unknown");
	if (!sa)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
			  (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  buf, (socklen_t)len);
}

static void media_type(const char *h, char *out, size_t len)
{
	size_t n = 0;

	if (!h)
		h = "";
	while (*h == ' ' || *h == '\t')
		h++;
	for (; *h && *h != ';' && *h != ' ' && n + 1 < len; h++)
		out[n++] = (char)tolower((unsigned char)*h);
	out[n] = '\0';
}

/* Record a refused attempt on an admin or compliance route in the audit log. Best effort:
 * the refusal stands whether or not the record could be written. */
static void audit_denied(struct request *st, const struct mon_http_route *r)
{
	PGconn *c = NULL;
	cJSON *d;

	if (r->role != MON_ROLE_ADMIN && r->role != MON_ROLE_COMPLIANCE)
		return;
	if (mon_db_acquire(st->h->srv->db, 1000, &c))
		return;
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "method", st->req.method);
	cJSON_AddStringToObject(d, "route", r->pattern);
	cJSON_AddStringToObject(d, "role", mon_auth_role_name(st->req.who.role));
	if (mon_audit_request(c, &st->req, "http.denied", st->req.path, "denied", d))
		log_warn(LOG_PREFIX "could not record a refused request in the audit log");
	mon_db_release(st->h->srv->db, c, PQstatus(c) != CONNECTION_OK);
	cJSON_Delete(d);
}

/* Check the bearer token against the route's role. Returns 0 when the request may go on;
 * otherwise the response is queued and the MHD result is stored in *res. */
static int authorize(struct request *st, struct MHD_Connection *conn, enum MHD_Result *res)
{
	const struct mon_http_route *r = &mon_http_routes[st->route];
	const struct mon_cfg *cfg = mon_server_cfg(st->h->srv);
	const char *auth, *tok;
	static const struct extra_header challenge = {MHD_HTTP_HEADER_WWW_AUTHENTICATE,
						      "Bearer realm=\"vigil\""};
	static const struct extra_header invalid = {
		MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		"Bearer realm=\"vigil\", error=\"invalid_token\""};
	int ret;

	snprintf(st->req.who.name, sizeof(st->req.who.name), "anonymous");
	st->req.who.role = MON_ROLE_NONE;
	if (r->role == MON_ROLE_NONE)
		return 0;
	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!auth || strncasecmp(auth, "Bearer ", 7)) {
		*res = send_problem(st, conn, 401, "unauthorized", &challenge,
				    "this route needs an Authorization: Bearer token");
		return -EPERM;
	}
	for (tok = auth + 7; *tok == ' '; tok++)
		;
	if (strlen(tok) > MAX_TOKEN_TEXT) {
		*res = send_problem(st, conn, 401, "unauthorized", &invalid,
				    "the bearer token is not valid");
		return -EPERM;
	}
	ret = mon_auth_check(st->h->srv->auth, st->h->srv->db, tok, cfg->token_cache_ttl_s,
			     &st->req.who);
	if (ret == -EAGAIN || ret == -EIO) {
		*res = send_problem(st, conn, 503, "unavailable", NULL,
				    "the token cannot be checked now: the database is unavailable");
		return ret;
	}
	if (ret) {
		*res = send_problem(st, conn, 401, "unauthorized", &invalid,
				    "the bearer token is unknown or revoked");
		return ret;
	}
	if (!mon_auth_allows(st->req.who.role, r->role)) {
		audit_denied(st, r);
		*res = send_problem(st, conn, 403, "forbidden", NULL,
				    "role %s may not use this route (needs %s)",
				    mon_auth_role_name(st->req.who.role),
				    mon_auth_role_name(r->role));
		return -EACCES;
	}
	return 0;
}

static enum MHD_Result first_call(struct request *st, struct MHD_Connection *conn, const char *url,
				  const char *method)
{
	char allow[256];
	const char *cl;
	enum MHD_Result res = MHD_YES;
	int status;

	st->req.method = method;
	st->req.path = url;
	st->req.conn = conn;
	st->req.srv = st->h->srv;
	st->req.remote = st->remote;
	st->req.content_type = st->ctype;
	st->req.body = "";
	client_address(conn, st->remote, sizeof(st->remote));
	media_type(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
		   st->ctype, sizeof(st->ctype));
	status = route(st, method, url, allow, sizeof(allow));
	if (status == 404)
		return send_problem(st, conn, 404, "not-found", NULL, "no such route");
	if (status == 405) {
		struct extra_header h = {MHD_HTTP_HEADER_ALLOW, allow};

		return send_problem(st, conn, 405, "method-not-allowed", &h,
				    "this route does not take %s; allowed: %s", method, allow);
	}
	if (authorize(st, conn, &res))
		return res;
	st->limit = mon_server_cfg(st->h->srv)->max_body_bytes;
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl) {
		char *end;
		unsigned long long n;

		errno = 0;
		n = strtoull(cl, &end, 10);
		if (!errno && end != cl && !*end && n > st->limit)
			return send_problem(st, conn, 413, "body-too-large", NULL,
					    "the body is %llu bytes; the limit is %zu", n,
					    st->limit);
		if (!errno && end != cl && !*end && n > 0) {
			st->cap = (size_t)n + 1;
			st->body = mon_xmalloc(st->cap);
		}
	}
	return MHD_YES;
}

static enum MHD_Result upload(struct request *st, struct MHD_Connection *conn, const char *data,
			      size_t *size)
{
	size_t n = *size;

	*size = 0;
	if (st->answered)
		return MHD_YES;
	if (st->too_large) {
		st->dropped += n;
		if (st->dropped > st->limit) {
			st->status = 413; /* for the metrics: the client gets a closed connection */
			return MHD_NO;
		}
		return MHD_YES;
	}
	if (n > st->limit - st->len) {
		free(st->body);
		st->body = NULL;
		st->len = st->cap = 0;
		st->too_large = 1;
		/* MHD 0.9.75 refuses a response in the middle of an upload (tried): the rest
		 * is read and dropped, and 413 goes out when the body ends */
		return MHD_YES;
	}
	if (st->len + n + 1 > st->cap) {
		size_t cap = st->cap ? st->cap : 4096;

		while (cap < st->len + n + 1)
			cap *= 2;
		if (cap > st->limit + 1)
			cap = st->limit + 1;
		st->body = mon_xrealloc(st->body, cap);
		st->cap = cap;
	}
	memcpy(st->body + st->len, data, n);
	st->len += n;
	(void)conn;
	return MHD_YES;
}

/* Send a handler's answer: a 401 gets its challenge; a missing status is a bug (500). */
static enum MHD_Result answer(struct request *st, struct MHD_Connection *conn,
			      struct mon_http_resp *resp)
{
	const struct mon_http_route *r = &mon_http_routes[st->route];
	struct extra_header extra[1];
	size_t nextra = 0;

	if (resp->status == 401) {
		extra[0].name = MHD_HTTP_HEADER_WWW_AUTHENTICATE;
		extra[0].value = "Bearer realm=\"vigil\"";
		nextra = 1;
	}
	if (!resp->status) {
		log_err(LOG_PREFIX "handler for %s %s set no status", r->method, r->pattern);
		free(resp->body);
		resp->body = NULL;
		resp->body_len = 0;
		resp->status = 500;
	}
	return send_resp(st, conn, resp, extra, nextra);
}

/* --- the analysis workers ------------------------------------------------------------------ */

static struct request *request_of(struct mon_http_req *req)
{
	return (struct request *)(void *)((char *)req - offsetof(struct request, req));
}

/* Under the pool lock. */
static void pool_push(struct pool *p, struct request *st)
{
	st->qnext = NULL;
	if (p->tail)
		p->tail->qnext = st;
	else
		p->head = st;
	p->tail = st;
	pthread_cond_signal(&p->cond);
}

/* 1 when the client has closed its end of the connection (or it broke). A client that sent
 * another request already (pipelining) has data waiting, not an end of file. */
static int client_gone(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct pollfd pfd;
	char b;

	if (!ci)
		return 0;
	pfd.fd = ci->connect_fd;
	pfd.events = POLLIN | POLLRDHUP;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	if (pfd.revents & (POLLHUP | POLLERR | POLLRDHUP))
		return 1;
	return (pfd.revents & POLLIN) && recv(pfd.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static void *worker_main(void *arg)
{
	struct mon_http *h = arg;
	struct pool *p = &h->pool;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct request *st;
		mon_http_handler_fn fn;
		int stop;

		while (!p->head && !(p->stop && p->outstanding == 0))
			pthread_cond_wait(&p->cond, &p->lock);
		if (!p->head)
			break;
		st = p->head;
		p->head = st->qnext;
		if (!p->head)
			p->tail = NULL;
		st->qnext = NULL;
		st->running = 1;
		fn = st->next;
		st->next = NULL;
		stop = p->stop;
		pthread_mutex_unlock(&p->lock);
		if (!fn && client_gone(st->conn)) {
			/* nobody waits for this answer: do not compute it */
			st->abandoned = 1;
			mon_metrics_analysis(h->srv->metrics, MON_METRICS_ANALYSIS_ABANDONED);
			log_debug(LOG_PREFIX "skipped a queued request from %s: the client left",
				  st->remote);
		} else if (!fn && stop) {
			mon_http_problem(&st->resp, 503, "unavailable", NULL,
					 "the server is shutting down; retry later");
		} else {
			(fn ? fn : mon_http_routes[st->route].fn)(&st->req, &st->resp);
		}
		pthread_mutex_lock(&p->lock);
		st->running = 0;
		if (st->parked) {
			/* mon_http_continue came while it ran: queue the continuation now */
			if (st->wake) {
				st->wake = st->parked = 0;
				pool_push(p, st);
			}
			continue;
		}
		st->ready = 1;
		if (--p->outstanding == 0 && p->stop)
			pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		/* st stays valid: MHD frees it only after the resumed connection completes,
		 * and mon_http_stop joins this thread before it stops MHD */
		MHD_resume_connection(st->conn);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

void mon_http_defer(struct mon_http_req *req, mon_http_handler_fn next, void *state,
		    void (*free_state)(void *))
{
	struct request *st = request_of(req);
	struct pool *p = &st->h->pool;

	pthread_mutex_lock(&p->lock);
	st->next = next;
	st->parked = 1;
	if (req->state && req->state != state && st->state_free)
		st->state_free(req->state);
	req->state = state;
	st->state_free = free_state;
	pthread_mutex_unlock(&p->lock);
}

void mon_http_continue(struct mon_http_req *req)
{
	struct request *st = request_of(req);
	struct pool *p = &st->h->pool;

	pthread_mutex_lock(&p->lock);
	if (st->running) {
		st->wake = 1; /* its worker queues it once the handler has returned */
	} else {
		st->parked = 0;
		pool_push(p, st);
	}
	pthread_mutex_unlock(&p->lock);
}

static int pool_start(struct mon_http *h, unsigned n)
{
	struct pool *p = &h->pool;

	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->threads = mon_xcalloc(n, sizeof(*p->threads));
	for (p->nthreads = 0; p->nthreads < n; p->nthreads++) {
		if (pthread_create(&p->threads[p->nthreads], NULL, worker_main, h)) {
			log_err(LOG_PREFIX "could not start the analysis workers");
			return -EAGAIN;
		}
	}
	return 0;
}

static void pool_stop(struct mon_http *h)
{
	struct pool *p = &h->pool;

	if (!p->threads)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	if (p->outstanding)
		log_info(LOG_PREFIX "finishing %u analysis request%s", p->outstanding,
			 p->outstanding == 1 ? "" : "s");
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	p->threads = NULL;
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
}

/* --- the last call ---------------------------------------------------------------------- */

static enum MHD_Result last_call(struct request *st, struct MHD_Connection *conn)
{
	const struct mon_http_route *r = &mon_http_routes[st->route];
	struct mon_http_resp resp = {0};

	if (st->abandoned)
		return MHD_NO; /* close it: the client is gone */
	if (st->ready)
		return answer(st, conn, &st->resp);
	if (st->too_large)
		return send_problem(st, conn, 413, "body-too-large", NULL,
				    "the body is larger than the limit of %zu bytes", st->limit);
	if (!st->body)
		st->body = mon_xcalloc(1, 1);
	st->body[st->len] = '\0';
	st->req.body = st->body;
	st->req.body_len = st->len;
	if (mon_api_analysis_route(r->fn)) {
		struct pool *p = &st->h->pool;

		st->conn = conn;
		MHD_suspend_connection(conn);
		pthread_mutex_lock(&p->lock);
		p->outstanding++;
		pool_push(p, st);
		pthread_mutex_unlock(&p->lock);
		return MHD_YES;
	}
	r->fn(&st->req, &resp);
	return answer(st, conn, &resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct mon_http *h = cls;
	struct request *st = *con_cls;

	(void)version;
	if (!st) {
		st = mon_xcalloc(1, sizeof(*st));
		st->h = h;
		st->start = mon_now();
		st->route = MON_METRICS_UNMATCHED;
		*con_cls = st;
		atomic_fetch_add(&h->active, 1);
		mon_metrics_in_flight(h->srv->metrics, 1);
		return first_call(st, conn, url, method);
	}
	if (st->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size)
		return upload(st, conn, upload_data, upload_data_size);
	return last_call(st, conn);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct mon_http *h = cls;
	struct request *st = *con_cls;

	(void)conn;
	if (!st)
		return;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK &&
	    toe != MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN)
		log_debug(LOG_PREFIX "request from %s ended early (code %d)", st->remote, (int)toe);
	if (st->status) {
		double secs = mon_now() - st->start;

		mon_metrics_observe_request(h->srv->metrics, st->route, st->req.method, st->status,
					    secs);
		/* the access log names the route pattern, never the raw path or query */
		log_debug(LOG_PREFIX "%s %s %d %.1f ms from %s as %s", st->req.method,
			  st->route < mon_http_nroutes ? mon_http_routes[st->route].pattern
						       : "(unmatched)",
			  st->status, secs * 1e3, st->remote,
			  st->req.who.name[0] ? st->req.who.name : "-");
	}
	mon_metrics_in_flight(h->srv->metrics, -1);
	if (st->req.state && st->state_free)
		st->state_free(st->req.state);
	free(st->resp.body);
	free(st->body);
	free(st->params);
	free(st);
	*con_cls = NULL;
	atomic_fetch_sub(&h->active, 1);
}

/* --- the daemon -------------------------------------------------------------------------- */

static void __attribute__((format(printf, 2, 0))) on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	log_warn(LOG_PREFIX "%s", buf);
}

static void on_panic(void *cls, const char *file, unsigned int line, const char *why)
{
	(void)cls;
	log_err(LOG_PREFIX "libmicrohttpd panic at %s:%u: %s", file ? file : "?", line,
		why ? why : "unknown");
	abort();
}

int mon_http_start(struct mon_server *srv, struct mon_http **out)
{
	const struct mon_cfg *cfg = mon_server_cfg(srv);
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	struct mon_http *h;
	char host[256], port[16];
	unsigned portn;
	unsigned int flags;
	int ret = 0, gai;

	*out = NULL;
	MHD_set_panic_func(on_panic, NULL);
	if (mon_cfg_split_listen(cfg->listen, host, sizeof(host), &portn))
		return -EINVAL;
	snprintf(port, sizeof(port), "%u", portn);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	gai = getaddrinfo(host, port, &hints, &ai);
	if (gai || !ai) {
		log_err(LOG_PREFIX "could not resolve listen address \"%s\": %s", cfg->listen,
			gai_strerror(gai));
		if (ai)
			freeaddrinfo(ai);
		return -EINVAL;
	}
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);

	h = mon_xcalloc(1, sizeof(*h));
	h->srv = srv;
	if (pool_start(h, cfg->analysis_workers)) {
		ret = -EAGAIN;
		goto out;
	}
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
		MHD_ALLOW_SUSPEND_RESUME;
	if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
		flags |= MHD_USE_EPOLL;
	else
		flags |= MHD_USE_POLL;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->d = MHD_start_daemon(
		flags, (uint16_t)portn, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER,
		on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->threads,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)cfg->max_connections_per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->connection_timeout_s,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
	if (!h->d) {
		log_err(LOG_PREFIX "could not listen on %s (address in use, or not permitted)",
			cfg->listen);
		ret = -EADDRINUSE;
		goto out;
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : portn;
	*out = h;
	h = NULL;
out:
	if (h)
		pool_stop(h);
	free(h);
	return ret;
}

unsigned mon_http_port(const struct mon_http *h)
{
	return h->port;
}

void mon_http_quiesce(struct mon_http *h)
{
	MHD_socket fd;

	if (!h || h->quiesced)
		return;
	fd = MHD_quiesce_daemon(h->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	h->quiesced = 1;
}

int mon_http_drain(struct mon_http *h, unsigned timeout_s)
{
	double deadline = mon_now() + timeout_s;

	while (atomic_load(&h->active) > 0) {
		if (mon_now() >= deadline)
			return -ETIMEDOUT;
		usleep(DRAIN_POLL_US);
	}
	return 0;
}

void mon_http_stop(struct mon_http *h)
{
	if (!h)
		return;
	/* no connection may stay suspended when MHD stops: finish the pool first */
	pool_stop(h);
	MHD_stop_daemon(h->d);
	free(h);
}
