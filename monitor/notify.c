/* SPDX-License-Identifier: MIT
 * monitor/notify.c - the notifier: outbox fan-out, leased claims, delivery with libcurl
 *
 * Every state the notifier needs is in the database (notification_deliveries, one row per
 * notification and receiver; notification_resends, one per Alertmanager receiver), so any
 * number of vigil serve processes can run it side by side and any of them may die at any
 * moment. A claim is a lease: the claiming UPDATE counts the attempt and pushes
 * next_attempt_at past the request's timeout, in its own short transaction; no transaction
 * stays open while a request is on the wire. The outcome is written only if the lease is
 * still ours (attempts unchanged), so a process that outlived its lease cannot overwrite
 * what another recorded since. A process killed between claim and outcome leaves a lease
 * that runs out: the delivery is sent again (at least once; receivers dedup on
 * Idempotency-Key or Alertmanager's fingerprint).
 *
 * HTTP is libcurl's easy interface, one handle per run (its connection cache reused between
 * deliveries): http and https only, redirects not followed, CURLOPT_TIMEOUT per receiver,
 * and a progress callback that aborts the transfer once SIGTERM arrived so shutdown never
 * waits out a slow receiver. Nothing from a payload or a response body is logged: payloads
 * name models and segments and a receiver may echo anything back.
 */
#include "config.h"

#include "monitor/notify.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "monitor/log.h"
#include "monitor/metrics.h"

#define LOG_PREFIX "notify: "
#define BATCH 16          /* deliveries claimed at once, per receiver */
#define FANOUT_BATCH 1000 /* outbox rows fanned out per statement */
#define RESEND_CHUNK 256  /* alerts per POST when re-sending to Alertmanager */
#define RUN_BUDGET_S 5.0  /* then back to the task loop (shutdown, the next interval) */
#define LEASE_EXTRA_S 5   /* lease = timeout + this */
#define ZERO_TIME "0001-01-01T00:00:00Z"
#define MAX_RL 64
#define XSTR_(x) #x
#define XSTR(x) XSTR_(x)

/* --- pure helpers ------------------------------------------------------------------------ */

double mon_notify_backoff(unsigned attempts, double u, double retry_after)
{
	double top = MON_NOTIFY_BACKOFF_BASE_S, d;

	for (unsigned i = 1; i < attempts && top < MON_NOTIFY_BACKOFF_CAP_S; i++)
		top *= 2;
	if (top > MON_NOTIFY_BACKOFF_CAP_S)
		top = MON_NOTIFY_BACKOFF_CAP_S;
	if (!(u >= 0) || u >= 1)
		u = 0;
	d = u * top;
	if (retry_after > MON_NOTIFY_RETRY_AFTER_MAX_S)
		retry_after = MON_NOTIFY_RETRY_AFTER_MAX_S;
	if (retry_after > d)
		d = retry_after;
	return d;
}

double mon_notify_parse_retry_after(const char *v, time_t now)
{
	char *end;
	time_t t;

	while (*v == ' ' || *v == '\t')
		v++;
	if (*v >= '0' && *v <= '9') {
		double s;

		errno = 0;
		s = strtod(v, &end);
		while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
			end++;
		if (errno || *end || !(s >= 0))
			return -1;
		return floor(s);
	}
	t = curl_getdate(v, NULL);
	if (t == -1)
		return -1;
	return t > now ? (double)(t - now) : 0;
}

enum mon_notify_outcome mon_notify_classify(long status)
{
	if (status >= 200 && status <= 299)
		return MON_NOTIFY_DELIVERED;
	if (status == 0 || status == 408 || status == 429 || (status >= 500 && status <= 599))
		return MON_NOTIFY_RETRY;
	return MON_NOTIFY_FAILED;
}

/* FNV-1a 64, as prometheus/common/model/fnv.go */
#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

static uint64_t fnv_add(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= FNV_PRIME;
	}
	return h;
}

static uint64_t fnv_byte(uint64_t h, unsigned char b)
{
	h ^= b;
	return h * FNV_PRIME;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

uint64_t mon_notify_fingerprint(const cJSON *labels)
{
	const char **names;
	const cJSON *it;
	size_t n = 0;
	uint64_t h = FNV_OFFSET;

	cJSON_ArrayForEach (it, labels)
		if (cJSON_IsString(it) && it->string)
			n++;
	if (!n)
		return h;
	names = mon_xcalloc(n, sizeof(*names));
	n = 0;
	cJSON_ArrayForEach (it, labels)
		if (cJSON_IsString(it) && it->string)
			names[n++] = it->string;
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(labels, names[i]);

		h = fnv_add(h, names[i]);
		h = fnv_byte(h, 0xff);
		h = fnv_add(h, v->valuestring);
		h = fnv_byte(h, 0xff);
	}
	free(names);
	return h;
}

/* A string map from an object: strings kept, numbers and booleans as text, the rest
 * (null, empty, nested) dropped: Alertmanager treats an empty label as an absent one. */
static cJSON *string_map(const cJSON *obj)
{
	cJSON *out = cJSON_CreateObject();
	const cJSON *it;

	if (!out)
		abort();
	cJSON_ArrayForEach (it, obj) {
		char num[64];
		const char *v = NULL;

		if (!it->string || !*it->string)
			continue;
		if (cJSON_IsString(it))
			v = it->valuestring;
		else if (cJSON_IsBool(it))
			v = cJSON_IsTrue(it) ? "true" : "false";
		else if (cJSON_IsNumber(it)) {
			snprintf(num, sizeof(num), "%.17g", it->valuedouble);
			v = num;
		}
		if (v && *v && !cJSON_GetObjectItemCaseSensitive(out, it->string) &&
		    !cJSON_AddStringToObject(out, it->string, v))
			abort();
	}
	return out;
}

cJSON *mon_notify_labels(const cJSON *payload)
{
	return string_map(cJSON_GetObjectItemCaseSensitive(payload, "labels"));
}

static const char *str_member(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(v) && *v->valuestring ? v->valuestring : NULL;
}

static void fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Add a string member; cJSON only fails for lack of memory, which the monitor does not
 * survive (STYLE.md §5). */
static void add_str(cJSON *obj, const char *name, const char *v)
{
	if (!cJSON_AddStringToObject(obj, name, v ? v : ""))
		abort();
}

static void add_item(cJSON *obj, const char *name, cJSON *item)
{
	if (!item || !cJSON_AddItemToObject(obj, name, item)) {
		cJSON_Delete(item);
		abort();
	}
}

/* groupKey as Alertmanager writes it: the route's key, ':', the group labels' set. */
static char *group_key(const cJSON *group)
{
	size_t cap = 64, len;
	char *s = mon_xmalloc(cap);
	const cJSON *it;
	int first = 1;

	len = (size_t)snprintf(s, cap, "{}:{");
	cJSON_ArrayForEach (it, group) {
		size_t need = 2 * strlen(it->string) + 2 * strlen(it->valuestring) + 8;

		if (len + need >= cap) {
			cap = 2 * (len + need);
			s = mon_xrealloc(s, cap);
		}
		len += (size_t)snprintf(s + len, cap - len, "%s%s=\"", first ? "" : ", ",
					it->string);
		for (const char *p = it->valuestring; *p; p++) {
			if (*p == '"' || *p == '\\')
				s[len++] = '\\';
			s[len++] = *p;
		}
		s[len++] = '"';
		s[len] = '\0';
		first = 0;
	}
	if (len + 2 >= cap)
		s = mon_xrealloc(s, len + 2);
	s[len++] = '}';
	s[len] = '\0';
	return s;
}

/* The payload's generatorURL; one relative to vigil ("/v1/alerts/7", as the alert engine
 * writes it) is made absolute with external_url when that is set. Returns a new string. */
static char *generator_url(const cJSON *payload, const char *external_url)
{
	const char *g = str_member(payload, "generatorURL");
	size_t elen = external_url ? strlen(external_url) : 0;
	size_t len;
	char *s;

	if (!g)
		g = "";
	if (*g != '/' || !elen)
		return mon_xstrndup(g, strlen(g));
	while (elen && external_url[elen - 1] == '/')
		elen--;
	len = elen + strlen(g) + 1;
	s = mon_xmalloc(len);
	snprintf(s, len, "%.*s%s", (int)elen, external_url, g);
	return s;
}

char *mon_notify_webhook_body(const char *event, const cJSON *payload, const char *receiver,
			      const char *external_url)
{
	static const char *const grouping[] = {"alertname", "model"};
	const char *status = strcmp(event, "resolved") ? "firing" : "resolved";
	cJSON *labels, *annotations, *group, *root, *alerts, *a;
	const char *starts, *ends;
	char fp[17], now[32], *key, *out, *gen;

	if (!cJSON_IsObject(payload))
		return NULL;
	labels = mon_notify_labels(payload);
	annotations = string_map(cJSON_GetObjectItemCaseSensitive(payload, "annotations"));
	group = cJSON_CreateObject();
	if (!group)
		abort();
	for (size_t i = 0; i < sizeof(grouping) / sizeof(grouping[0]); i++) {
		const char *v = str_member(labels, grouping[i]);

		if (v)
			add_str(group, grouping[i], v);
	}
	snprintf(fp, sizeof(fp), "%016" PRIx64, mon_notify_fingerprint(labels));
	fmt_time(time(NULL), now, sizeof(now));
	starts = str_member(payload, "startsAt");
	ends = str_member(payload, "endsAt");
	if (!strcmp(status, "firing"))
		ends = ZERO_TIME;
	else if (!ends)
		ends = now;

	root = cJSON_CreateObject();
	if (!root)
		abort();
	key = group_key(group);
	add_str(root, "version", "4");
	add_str(root, "groupKey", key);
	free(key);
	if (!cJSON_AddNumberToObject(root, "truncatedAlerts", 0))
		abort();
	add_str(root, "status", status);
	add_str(root, "receiver", receiver);
	add_item(root, "groupLabels", group);
	add_item(root, "commonLabels", cJSON_Duplicate(labels, 1));
	add_item(root, "commonAnnotations", cJSON_Duplicate(annotations, 1));
	add_str(root, "externalURL", external_url);
	alerts = cJSON_AddArrayToObject(root, "alerts");
	a = cJSON_CreateObject();
	if (!alerts || !a || !cJSON_AddItemToArray(alerts, a))
		abort();
	add_str(a, "status", status);
	add_item(a, "labels", labels);
	add_item(a, "annotations", annotations);
	add_str(a, "startsAt", starts ? starts : now);
	add_str(a, "endsAt", ends);
	gen = generator_url(payload, external_url);
	add_str(a, "generatorURL", gen);
	free(gen);
	add_str(a, "fingerprint", fp);
	out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!out)
		abort();
	return out;
}

int mon_notify_am_alert(cJSON *arr, const char *event, const cJSON *payload,
			const char *external_url, time_t now, unsigned ends_in_s)
{
	const char *starts, *ends;
	char *gen;
	char endbuf[32], nowbuf[32];
	cJSON *a;

	if (!cJSON_IsObject(payload))
		return -EINVAL;
	a = cJSON_CreateObject();
	if (!a || !cJSON_AddItemToArray(arr, a))
		abort();
	add_item(a, "labels", mon_notify_labels(payload));
	add_item(a, "annotations",
		 string_map(cJSON_GetObjectItemCaseSensitive(payload, "annotations")));
	fmt_time(now, nowbuf, sizeof(nowbuf));
	starts = str_member(payload, "startsAt");
	add_str(a, "startsAt", starts ? starts : nowbuf);
	ends = str_member(payload, "endsAt");
	if (strcmp(event, "resolved")) {
		fmt_time(now + (time_t)ends_in_s, endbuf, sizeof(endbuf));
		ends = endbuf;
	} else if (!ends) {
		ends = nowbuf;
	}
	add_str(a, "endsAt", ends);
	gen = generator_url(payload, external_url);
	if (*gen)
		add_str(a, "generatorURL", gen);
	free(gen);
	return 0;
}

/* --- per-receiver failure logging ------------------------------------------------------ */

/* One rate limiter per receiver name, so a receiver that is down logs its first failure,
 * then rarely, then its recovery once; receivers may come and go with SIGHUP. */
static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char name[MON_RECEIVER_NAME_MAX + 1];
	struct mon_ratelimit rl;
} rls[MAX_RL];
static size_t nrl;

static struct mon_ratelimit *receiver_rl(const char *name)
{
	struct mon_ratelimit *rl = NULL;

	pthread_mutex_lock(&rl_lock);
	for (size_t i = 0; i < nrl; i++)
		if (!strcmp(rls[i].name, name))
			rl = &rls[i].rl;
	if (!rl && nrl < MAX_RL) {
		snprintf(rls[nrl].name, sizeof(rls[nrl].name), "%s", name);
		memset(&rls[nrl].rl, 0, sizeof(rls[nrl].rl));
		pthread_mutex_init(&rls[nrl].rl.lock, NULL);
		rl = &rls[nrl++].rl;
	}
	pthread_mutex_unlock(&rl_lock);
	return rl;
}

/* --- HTTP ---------------------------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_status = CURLE_FAILED_INIT;

static void curl_init(void)
{
	curl_init_status = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct http_result {
	long status;        /* 0: no HTTP answer */
	double retry_after; /* -1: none */
	int aborted;        /* stopped by SIGTERM */
	char err[CURL_ERROR_SIZE + 32];
};

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct http_result *res = arg;
	size_t len = size * n;
	static const char name[] = "retry-after:";

	if (len > sizeof(name) - 1 && len < 256 && !strncasecmp(p, name, sizeof(name) - 1)) {
		char v[256];

		memcpy(v, p + sizeof(name) - 1, len - (sizeof(name) - 1));
		v[len - (sizeof(name) - 1)] = '\0';
		v[strcspn(v, "\r\n")] = '\0';
		res->retry_after = mon_notify_parse_retry_after(v, time(NULL));
	}
	return len;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct mon_server *srv = arg;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return atomic_load(&srv->stopping) ? 1 : 0;
}

/* Append one header line; on failure the list is freed and *l set to NULL. */
static int append(struct curl_slist **l, const char *line)
{
	struct curl_slist *t = curl_slist_append(*l, line);

	if (!t) {
		curl_slist_free_all(*l);
		*l = NULL;
		return -ENOMEM;
	}
	*l = t;
	return 0;
}

/* POST body to url. Fills res; returns 0, or -EIO when the handle could not be set up. */
static int http_post(struct mon_server *srv, CURL *h, const char *url, unsigned timeout_s,
		     const char *body, const char *idem, const char *event, struct http_result *res)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	char hidem[128], hevent[64];
	struct curl_slist *hdrs = NULL;
	CURLcode rc;
	int ret = 0;

	memset(res, 0, sizeof(*res));
	res->retry_after = -1;
	curl_easy_reset(h);
	snprintf(hidem, sizeof(hidem), "Idempotency-Key: %s", idem ? idem : "");
	snprintf(hevent, sizeof(hevent), "X-Vigil-Event: %s", event ? event : "");
	/* "Expect:" drops curl's 100-continue round trip */
	if (append(&hdrs, "Content-Type: application/json") || (idem && append(&hdrs, hidem)) ||
	    (event && append(&hdrs, hevent)) || append(&hdrs, "Expect:") ||
	    curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)timeout_s) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)timeout_s) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body)) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "vigil/" PACKAGE_VERSION) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERDATA, res) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_XFERINFODATA, srv) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK) {
		snprintf(res->err, sizeof(res->err), "could not set up the request");
		ret = -EIO;
		goto out;
	}
	rc = curl_easy_perform(h);
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		res->aborted = 1;
		snprintf(res->err, sizeof(res->err), "interrupted by shutdown");
	} else if (rc != CURLE_OK) {
		snprintf(res->err, sizeof(res->err), "network: %s",
			 *errbuf ? errbuf : curl_easy_strerror(rc));
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
		if (res->status >= 300 && res->status <= 399)
			snprintf(res->err, sizeof(res->err),
				 "HTTP %ld (redirects are not followed)", res->status);
		else
			snprintf(res->err, sizeof(res->err), "HTTP %ld", res->status);
	}
out:
	/* the handle keeps pointers to these until the next reset */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	return ret;
}

/* --- database ---------------------------------------------------------------------------- */

struct run {
	struct mon_server *srv;
	const struct mon_cfg *cfg;
	PGconn *c;
	CURL *h;
	double deadline;
	char me[128]; /* host:pid, for claimed_by */
};

/* A failed statement: -EAGAIN when the database is away (the caller resets the
 * connection), else as mon_db_error (only PostgreSQL's primary message is logged). */
static int db_fail(struct run *run, const PGresult *r, const char *what)
{
	return mon_db_error(run->c, r, LOG_PREFIX, what);
}

/* Run a command that returns no rows (or whose rows are ignored). */
static int exec(struct run *run, const char *sql, int n, const char *const *v, const char *what)
{
	PGresult *r = PQexecParams(run->c, sql, n, NULL, v, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	int ret = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		ret = db_fail(run, r, what);
	PQclear(r);
	return ret;
}

/* The configured receivers' names as a PostgreSQL text[] literal parameter. Receiver names
 * are [A-Za-z0-9_-], so they need no quoting inside the braces. */
static char *receiver_array(const struct mon_receivers *rs)
{
	size_t len = 3;
	char *s, *p;

	for (size_t i = 0; i < rs->n; i++)
		len += strlen(rs->v[i].name) + 1;
	s = mon_xmalloc(len);
	p = s;
	*p++ = '{';
	for (size_t i = 0; i < rs->n; i++)
		p += sprintf(p, "%s%s", i ? "," : "", rs->v[i].name);
	*p++ = '}';
	*p = '\0';
	return s;
}

/* New outbox rows get one delivery per receiver; a row naming a receiver this server does
 * not know fails for good (every replica is expected to share the receivers). */
static int fan_out(struct run *run)
{
	static const char sql[] =
		"WITH n AS ("
		" SELECT id, receiver FROM notifications o"
		" WHERE state = 'pending' AND NOT EXISTS"
		"  (SELECT 1 FROM notification_deliveries d WHERE d.notification_id = o.id)"
		" ORDER BY id LIMIT " XSTR(
			FANOUT_BATCH) " FOR UPDATE SKIP LOCKED),"
				      " ins AS ("
				      " INSERT INTO notification_deliveries (notification_id, "
				      "receiver)"
				      " SELECT n.id, r.name FROM n JOIN unnest($1::text[]) AS "
				      "r(name)"
				      "  ON n.receiver IS NULL OR n.receiver = r.name"
				      " ON CONFLICT DO NOTHING RETURNING notification_id),"
				      " unknown AS ("
				      " UPDATE notifications SET state = 'failed',"
				      "  last_error = 'receiver ' || receiver || ' is not "
				      "configured'"
				      " WHERE id IN (SELECT id FROM n WHERE receiver IS NOT NULL"
				      "  AND receiver <> ALL ($1::text[]))"
				      " RETURNING id)"
				      " SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM "
				      "unknown)";
	char *names = receiver_array(&run->cfg->receivers);
	const char *v[1] = {names};
	PGresult *r = PQexecParams(run->c, sql, 1, NULL, v, NULL, NULL, 0);
	int ret = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = db_fail(run, r, "could not fan out new notifications");
		goto out;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "0"))
		log_debug(LOG_PREFIX "queued %s deliveries", PQgetvalue(r, 0, 0));
	if (strcmp(PQgetvalue(r, 0, 1), "0"))
		log_warn(LOG_PREFIX "%s notifications name a receiver that is not configured; "
				    "marked failed",
			 PQgetvalue(r, 0, 1));
	ret = atoi(PQgetvalue(r, 0, 0));
out:
	PQclear(r);
	free(names);
	return ret;
}

/* --- delivery ---------------------------------------------------------------------------- */

struct claim {
	char id[24];
	char attempts[16];
	char event[16];
	char *payload;
};

static void count(struct run *run, const char *receiver, const char *outcome)
{
	mon_metrics_add_notification(run->srv->metrics, receiver, outcome);
}

/* Claim up to BATCH due deliveries for receiver r. Oldest first; one waits while an older
 * delivery for the same alert and receiver is pending. */
static int claim(struct run *run, const struct mon_receiver *r, struct claim *out, int *n)
{
	static const char sql[] =
		"WITH due AS ("
		" SELECT d.notification_id, d.receiver FROM notification_deliveries d"
		" JOIN notifications n ON n.id = d.notification_id"
		" WHERE d.receiver = $1 AND d.state = 'pending' AND d.next_attempt_at <= now()"
		" AND NOT EXISTS (SELECT 1 FROM notification_deliveries e"
		"  JOIN notifications m ON m.id = e.notification_id"
		"  WHERE e.receiver = d.receiver AND e.state = 'pending'"
		"  AND e.notification_id < d.notification_id AND m.alert_id = n.alert_id)"
		" ORDER BY d.notification_id LIMIT " XSTR(
			BATCH) " FOR UPDATE OF d SKIP LOCKED)"
			       " UPDATE notification_deliveries d SET attempts = d.attempts + 1,"
			       "  next_attempt_at = now() + $2::int * interval '1 second',"
			       "  last_attempt_at = now(), claimed_by = $3"
			       " FROM due, notifications n"
			       " WHERE d.notification_id = due.notification_id AND d.receiver = "
			       "due.receiver"
			       "  AND n.id = d.notification_id"
			       " RETURNING d.notification_id, d.attempts, n.event, n.payload::text";
	char lease[16];
	const char *v[3] = {r->name, lease, run->me};
	PGresult *res;
	int ret = 0;

	*n = 0;
	snprintf(lease, sizeof(lease), "%u", r->timeout_s + LEASE_EXTRA_S);
	res = PQexecParams(run->c, sql, 3, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		ret = db_fail(run, res, "could not claim due deliveries");
		goto out;
	}
	for (int i = 0; i < PQntuples(res) && i < BATCH; i++) {
		snprintf(out[i].id, sizeof(out[i].id), "%s", PQgetvalue(res, i, 0));
		snprintf(out[i].attempts, sizeof(out[i].attempts), "%s", PQgetvalue(res, i, 1));
		snprintf(out[i].event, sizeof(out[i].event), "%s", PQgetvalue(res, i, 2));
		out[i].payload =
			mon_xstrndup(PQgetvalue(res, i, 3), (size_t)PQgetlength(res, i, 3));
		(*n)++;
	}
out:
	PQclear(res);
	return ret;
}

/* Give a claimed delivery back without counting the attempt: due after delay_s. */
static int release(struct run *run, const struct mon_receiver *r, const struct claim *cl,
		   double delay_s)
{
	static const char sql[] = "UPDATE notification_deliveries SET attempts = attempts - 1,"
				  " next_attempt_at = now() + $4::float8 * interval '1 second'"
				  " WHERE notification_id = $1 AND receiver = $2 AND attempts = $3"
				  " AND state = 'pending'";
	char delay[32];
	const char *v[4] = {cl->id, r->name, cl->attempts, delay};

	snprintf(delay, sizeof(delay), "%.3f", delay_s);
	return exec(run, sql, 4, v, "could not release a delivery");
}

/* Record an attempt's outcome (state pending = retry after delay_s) if the lease is still
 * ours, and mirror the notification's overall state into the outbox row: delivered once
 * every receiver has it, failed once one failed for good, else pending. */
static int record(struct run *run, const struct mon_receiver *r, const struct claim *cl,
		  const char *state, double delay_s, long status, const char *error)
{
	static const char upd[] =
		"UPDATE notification_deliveries SET state = $4,"
		" next_attempt_at = now() + $5::float8 * interval '1 second',"
		" last_status = NULLIF($6::int, 0), last_error = NULLIF($7, ''),"
		" delivered_at = CASE WHEN $4 = 'delivered' THEN now() END, claimed_by = NULL"
		" WHERE notification_id = $1 AND receiver = $2 AND attempts = $3"
		" AND state = 'pending'";
	static const char lock[] = "SELECT 1 FROM notifications WHERE id = $1 FOR UPDATE";
	static const char mirror[] =
		"UPDATE notifications o SET"
		" state = CASE WHEN a.pending > 0 THEN 'pending'"
		"  WHEN a.failed > 0 THEN 'failed' ELSE 'delivered' END,"
		" attempts = a.attempts, last_error = a.last_error,"
		" delivered_at = CASE WHEN a.pending = 0 AND a.failed = 0 THEN a.delivered_at END,"
		" next_attempt_at = COALESCE(a.next_at, o.next_attempt_at)"
		" FROM (SELECT count(*) FILTER (WHERE state = 'pending') AS pending,"
		"  count(*) FILTER (WHERE state = 'failed') AS failed,"
		"  COALESCE(sum(attempts), 0)::int AS attempts,"
		"  max(delivered_at) AS delivered_at,"
		"  min(next_attempt_at) FILTER (WHERE state = 'pending') AS next_at,"
		"  string_agg(receiver || ': ' || last_error, '; ' ORDER BY receiver)"
		"   FILTER (WHERE state <> 'delivered' AND last_error IS NOT NULL) AS last_error"
		"  FROM notification_deliveries WHERE notification_id = $1) a"
		" WHERE o.id = $1";
	char delay[32], st[16];
	const char *v[7] = {cl->id, r->name, cl->attempts, state, delay, st, error ? error : ""};
	PGresult *res;
	int ret;

	snprintf(delay, sizeof(delay), "%.3f", delay_s);
	snprintf(st, sizeof(st), "%ld", status);
	ret = exec(run, "BEGIN", 0, NULL, "could not begin");
	if (ret)
		return ret;
	ret = exec(run, lock, 1, v, "could not lock a notification");
	if (ret)
		goto out;
	res = PQexecParams(run->c, upd, 7, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		ret = db_fail(run, res, "could not record a delivery");
		PQclear(res);
		goto out;
	}
	if (!strcmp(PQcmdTuples(res), "0"))
		log_info(LOG_PREFIX "notification %s to %s: lease lost before the outcome was "
				    "recorded (another server sent it again)",
			 cl->id, r->name);
	PQclear(res);
	ret = exec(run, mirror, 1, v, "could not update a notification's state");
out:
	if (ret) {
		PGresult *rb = PQexec(run->c, "ROLLBACK");

		PQclear(rb);
		return ret;
	}
	return exec(run, "COMMIT", 0, NULL, "could not commit a delivery");
}

static double uniform01(void)
{
	static _Thread_local unsigned short xs[3];
	static _Thread_local int seeded;

	if (!seeded) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		xs[0] = (unsigned short)ts.tv_nsec;
		xs[1] = (unsigned short)(ts.tv_nsec >> 16 ^ getpid());
		xs[2] = (unsigned short)ts.tv_sec;
		seeded = 1;
	}
	return erand48(xs);
}

/* Build what r gets for one notification: the request body and URL. */
static int build(struct run *run, const struct mon_receiver *r, const struct claim *cl, char **body,
		 char **url)
{
	cJSON *payload = cJSON_Parse(cl->payload);
	size_t ulen = strlen(r->url);
	int ret = 0;

	*body = NULL;
	*url = NULL;
	if (!cJSON_IsObject(payload)) {
		ret = -EINVAL;
		goto out;
	}
	if (r->type == MON_RECEIVER_WEBHOOK) {
		*body = mon_notify_webhook_body(cl->event, payload, r->name,
						run->cfg->notify_external_url);
		*url = mon_xstrndup(r->url, ulen);
	} else {
		cJSON *arr = cJSON_CreateArray();
		char *s;

		if (!arr)
			abort();
		if (mon_notify_am_alert(arr, cl->event, payload, run->cfg->notify_external_url,
					time(NULL), 4 * run->cfg->notify_resend_s)) {
			cJSON_Delete(arr);
			ret = -EINVAL;
			goto out;
		}
		s = cJSON_PrintUnformatted(arr);
		cJSON_Delete(arr);
		if (!s)
			abort();
		*body = s;
		while (ulen && r->url[ulen - 1] == '/')
			ulen--;
		*url = mon_xmalloc(ulen + sizeof("/api/v2/alerts"));
		snprintf(*url, ulen + sizeof("/api/v2/alerts"), "%.*s/api/v2/alerts", (int)ulen,
			 r->url);
	}
	if (!*body)
		ret = -EINVAL;
out:
	cJSON_Delete(payload);
	return ret;
}

/* Deliver one claimed notification. *retry_delay is set (>= 0) when the receiver failed in
 * a way worth retrying: the caller then defers the rest of its batch by as long. */
static int deliver(struct run *run, const struct mon_receiver *r, const struct claim *cl,
		   double *retry_delay)
{
	struct mon_ratelimit *rl = receiver_rl(r->name);
	struct http_result res;
	char idem[48], *body = NULL, *url = NULL;
	unsigned attempts = (unsigned)strtoul(cl->attempts, NULL, 10);
	unsigned long skipped = 0;
	double delay;
	int ret;

	*retry_delay = -1;
	if (build(run, r, cl, &body, &url)) {
		log_warn(LOG_PREFIX "notification %s has no valid payload; not delivered to %s",
			 cl->id, r->name);
		count(run, r->name, "failed");
		ret = record(run, r, cl, "failed", 0, 0, "payload is not a JSON object");
		goto out;
	}
	snprintf(idem, sizeof(idem), "vigil-%s", cl->id);
	ret = http_post(run->srv, run->h, url, r->timeout_s, body,
			r->type == MON_RECEIVER_WEBHOOK ? idem : NULL, cl->event, &res);
	if (ret) {
		log_err(LOG_PREFIX "could not send notification %s to %s: %s", cl->id, r->name,
			res.err);
		ret = release(run, r, cl, 1.0);
		goto out;
	}
	if (res.aborted) {
		ret = release(run, r, cl, 0);
		goto out;
	}
	switch (mon_notify_classify(res.status)) {
	case MON_NOTIFY_DELIVERED:
		if (rl && mon_ratelimit_ok(rl))
			log_info(LOG_PREFIX "receiver %s accepts notifications again", r->name);
		log_debug(LOG_PREFIX "notification %s delivered to %s (attempt %u)", cl->id,
			  r->name, attempts);
		count(run, r->name, "delivered");
		ret = record(run, r, cl, "delivered", 0, res.status, NULL);
		break;
	case MON_NOTIFY_RETRY:
		delay = mon_notify_backoff(attempts, uniform01(),
					   res.retry_after > 0 ? res.retry_after : 0);
		if (attempts >= r->max_attempts) {
			log_warn(LOG_PREFIX "notification %s to %s failed for good after %u "
					    "attempts: %s",
				 cl->id, r->name, attempts, res.err);
			count(run, r->name, "failed");
			ret = record(run, r, cl, "failed", 0, res.status, res.err);
			break;
		}
		if (rl && mon_ratelimit_fail(rl, &skipped))
			log_warn(LOG_PREFIX "could not deliver to %s: %s; retrying with back-off "
					    "(%lu similar suppressed)",
				 r->name, res.err, skipped);
		log_debug(LOG_PREFIX "notification %s to %s: attempt %u: %s; next in %.1f s",
			  cl->id, r->name, attempts, res.err, delay);
		count(run, r->name, "retry");
		*retry_delay = delay;
		ret = record(run, r, cl, "pending", delay, res.status, res.err);
		break;
	case MON_NOTIFY_FAILED:
		log_warn(LOG_PREFIX "notification %s rejected by %s: %s; not retried", cl->id,
			 r->name, res.err);
		count(run, r->name, "failed");
		ret = record(run, r, cl, "failed", 0, res.status, res.err);
		break;
	}
out:
	cJSON_free(body);
	free(url);
	return ret;
}

static int stopping(const struct run *run)
{
	return atomic_load(&run->srv->stopping) || mon_now() >= run->deadline;
}

/* Deliver what is due for r, batch by batch, until none is left or the run's time is up. */
static int deliver_receiver(struct run *run, const struct mon_receiver *r)
{
	/* a request may start only while a whole timeout (and a margin to record the outcome)
	 * still fits in the lease; later ones in the batch are given back and claimed anew */
	const double fits = LEASE_EXTRA_S - 1;
	struct claim cl[BATCH];
	int n = 0, ret = 0;

	while (!stopping(run)) {
		double defer = -1, claimed;
		int i;

		ret = claim(run, r, cl, &n);
		if (ret || !n)
			break;
		claimed = mon_now();
		for (i = 0; i < n && !ret; i++) {
			if (defer >= 0 || stopping(run) || mon_now() - claimed > fits) {
				/* the receiver is failing, we must stop, or the lease is running
				 * out: give it back without counting an attempt */
				ret = release(run, r, &cl[i], defer >= 0 ? defer : 0);
				continue;
			}
			ret = deliver(run, r, &cl[i], &defer);
		}
		for (i = 0; i < n; i++)
			free(cl[i].payload);
		if (ret || defer >= 0 || n < BATCH)
			break;
	}
	return ret;
}

/* --- re-sending firing alerts to Alertmanager ----------------------------------------- */

/* Take this period's re-send for r: 1 when it is ours, 0 when not yet due or another
 * server has it. */
static int resend_due(struct run *run, const struct mon_receiver *r)
{
	static const char ins[] =
		"INSERT INTO notification_resends (receiver) VALUES ($1) ON CONFLICT DO NOTHING";
	static const char take[] =
		"UPDATE notification_resends SET last_at = now()"
		" WHERE receiver = $1 AND last_at <= now() - $2::int * interval '1 second'"
		" RETURNING 1";
	char every[16];
	const char *v[2] = {r->name, every};
	PGresult *res;
	int ret;

	snprintf(every, sizeof(every), "%u", run->cfg->notify_resend_s);
	ret = exec(run, ins, 1, v, "could not register a re-send");
	if (ret)
		return ret;
	res = PQexecParams(run->c, take, 2, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		ret = db_fail(run, res, "could not claim a re-send");
	else
		ret = PQntuples(res) > 0;
	PQclear(res);
	return ret;
}

static int post_alerts(struct run *run, const struct mon_receiver *r, cJSON *arr, int nalerts)
{
	struct mon_ratelimit *rl = receiver_rl(r->name);
	struct http_result res;
	size_t ulen = strlen(r->url);
	char *body = cJSON_PrintUnformatted(arr), *url;
	unsigned long skipped = 0;
	int ret;

	if (!body)
		abort();
	while (ulen && r->url[ulen - 1] == '/')
		ulen--;
	url = mon_xmalloc(ulen + sizeof("/api/v2/alerts"));
	snprintf(url, ulen + sizeof("/api/v2/alerts"), "%.*s/api/v2/alerts", (int)ulen, r->url);
	ret = http_post(run->srv, run->h, url, r->timeout_s, body, NULL, "firing", &res);
	if (!ret && !res.aborted) {
		if (mon_notify_classify(res.status) == MON_NOTIFY_DELIVERED) {
			log_debug(LOG_PREFIX "re-sent %d firing alerts to %s", nalerts, r->name);
			count(run, r->name, "resent");
			if (rl && mon_ratelimit_ok(rl))
				log_info(LOG_PREFIX "receiver %s accepts notifications again",
					 r->name);
		} else {
			count(run, r->name, "resend_error");
			if (rl && mon_ratelimit_fail(rl, &skipped))
				log_warn(LOG_PREFIX "could not re-send firing alerts to %s: %s; "
						    "next period retries (%lu similar suppressed)",
					 r->name, res.err, skipped);
		}
	}
	cJSON_free(body);
	free(url);
	return ret;
}

/* Every alert whose newest notification for r is not "resolved", and whose delivery to r
 * did not fail for good, goes to r again with a fresh endsAt. A failure waits for the next
 * period (the outbox deliveries keep their own retries). */
static int resend(struct run *run, const struct mon_receiver *r)
{
	/* XXX: reads each alert's newest outbox row (index notifications_alert_id); fine for
	 * thousands of alerts, a table of active alerts would scale further. */
	static const char sql[] =
		"SELECT l.event, l.payload::text FROM ("
		" SELECT DISTINCT ON (alert_id) id, alert_id, event, payload FROM notifications"
		" WHERE alert_id IS NOT NULL AND (receiver IS NULL OR receiver = $1)"
		" ORDER BY alert_id, id DESC) l"
		" WHERE l.event <> 'resolved' AND NOT EXISTS (SELECT 1 FROM "
		"notification_deliveries d"
		"  WHERE d.notification_id = l.id AND d.receiver = $1 AND d.state = 'failed')"
		" ORDER BY l.alert_id";
	const char *v[1] = {r->name};
	cJSON *arr = NULL;
	PGresult *res;
	int ret, n = 0;
	time_t now = time(NULL);

	ret = resend_due(run, r);
	if (ret <= 0)
		return ret;
	res = PQexecParams(run->c, sql, 1, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		ret = db_fail(run, res, "could not list firing alerts");
		goto out;
	}
	ret = 0;
	for (int i = 0; i < PQntuples(res) && !ret && !atomic_load(&run->srv->stopping); i++) {
		cJSON *payload = cJSON_Parse(PQgetvalue(res, i, 1));

		if (!arr) {
			arr = cJSON_CreateArray();
			if (!arr)
				abort();
		}
		if (!mon_notify_am_alert(arr, PQgetvalue(res, i, 0), payload,
					 run->cfg->notify_external_url, now,
					 4 * run->cfg->notify_resend_s))
			n++;
		cJSON_Delete(payload);
		if (n == RESEND_CHUNK || (i + 1 == PQntuples(res) && n)) {
			ret = post_alerts(run, r, arr, n);
			cJSON_Delete(arr);
			arr = NULL;
			n = 0;
		}
	}
out:
	cJSON_Delete(arr);
	PQclear(res);
	return ret;
}

/* --- the task ------------------------------------------------------------------------------ */

static atomic_int announced; /* 1 once the receivers (or their absence) were logged */
static atomic_uint rotate;   /* which receiver goes first in a run */

int mon_notify_task(struct mon_server *srv)
{
	const struct mon_cfg *cfg = mon_server_cfg(srv);
	const struct mon_receivers *rs = &cfg->receivers;
	struct run run;
	unsigned first;
	int ret = 0, failed = 0;

	if (!atomic_exchange(&announced, 1)) {
		if (!rs->n)
			log_info(LOG_PREFIX "no receivers configured; notifications stay in the "
					    "outbox");
		for (size_t i = 0; i < rs->n; i++)
			log_info(LOG_PREFIX "receiver %s (%s)", rs->v[i].name,
				 mon_receiver_type_name(rs->v[i].type));
	}
	if (!rs->n || atomic_load(&srv->stopping))
		return 0;
	pthread_once(&curl_once, curl_init);
	if (curl_init_status != CURLE_OK) {
		log_err(LOG_PREFIX "could not initialise libcurl: %s",
			curl_easy_strerror(curl_init_status));
		return -EIO;
	}
	memset(&run, 0, sizeof(run));
	run.srv = srv;
	run.cfg = cfg;
	run.deadline = mon_now() + RUN_BUDGET_S;
	{
		char host[64] = "";

		gethostname(host, sizeof(host) - 1);
		snprintf(run.me, sizeof(run.me), "%s:%ld", host, (long)getpid());
	}
	run.h = curl_easy_init();
	if (!run.h) {
		log_err(LOG_PREFIX "could not create a libcurl handle");
		return -EIO;
	}
	ret = mon_db_acquire(srv->db, 5000, &run.c);
	if (ret)
		goto out;
	ret = fan_out(&run);
	if (ret > 0)
		ret = 0;
	first = atomic_fetch_add(&rotate, 1);
	for (size_t k = 0; k < rs->n && !ret; k++) {
		const struct mon_receiver *r = &rs->v[(first + k) % rs->n];

		ret = deliver_receiver(&run, r);
	}
	for (size_t k = 0; k < rs->n && !ret && !atomic_load(&srv->stopping); k++)
		if (rs->v[k].type == MON_RECEIVER_ALERTMANAGER)
			ret = resend(&run, &rs->v[k]);
	failed = ret == -EAGAIN || ret == -EIO;
	mon_db_release(srv->db, run.c, failed);
out:
	curl_easy_cleanup(run.h);
	return ret < 0 ? ret : 0;
}
