/* SPDX-License-Identifier: MIT
 * tests/webhook_sink.c - a webhook receiver for the notifier's integration test
 *
 * Listens on 127.0.0.1 (libmicrohttpd, a thread per connection), answers POSTs by a script
 * and writes one line per request to a log, so the test can check what vigil sent, when,
 * and how often:
 *
 *   TIME STATUS IDEMPOTENCY-KEY EVENT BODY
 *
 * TIME is Unix seconds with milliseconds, "-" stands for a missing header, BODY is the body
 * as received (the notifier sends it on one line). The answer to a request is, first match:
 *   400 when the body contains the --reject text;
 *   503 after --hang-s seconds, on the first request of each Idempotency-Key whose body
 *       contains the --hang text (logged with status "hang" when it arrives, before the
 *       wait: the test kills vigil meanwhile);
 *   the next entry of --plan (comma-separated STATUS or STATUS/RETRY-AFTER, used up one per
 *       request), e.g. --plan 503,503,429/3;
 *   200.
 * The chosen port goes to --port-file once listening (--port 0, the default, picks one).
 * SIGTERM or SIGINT stops it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_BODY (1 << 20)
#define MAX_PLAN 64
#define MAX_HUNG 64

struct plan_step {
	unsigned status;
	int retry_after; /* -1: none */
};

static struct {
	const char *reject, *hang;
	unsigned hang_s;
	char hung[MAX_HUNG][64]; /* keys already held once */
	size_t nhung;
	struct plan_step plan[MAX_PLAN];
	size_t nplan, next;
	FILE *log;
	pthread_mutex_t lock;
} sink = {.hang_s = 8, .lock = PTHREAD_MUTEX_INITIALIZER};

struct req {
	char *body;
	size_t len;
	int too_big;
};

static void log_line(const char *status, const char *key, const char *event, const char *body,
		     size_t len)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&sink.lock);
	fprintf(sink.log, "%lld.%03ld %s %s %s ", (long long)ts.tv_sec, ts.tv_nsec / 1000000,
		status, key ? key : "-", event ? event : "-");
	for (size_t i = 0; i < len; i++)
		fputc(body[i] == '\n' ? ' ' : body[i], sink.log);
	fputc('\n', sink.log);
	fflush(sink.log);
	pthread_mutex_unlock(&sink.lock);
}

static int contains(const struct req *r, const char *needle)
{
	size_t n = needle ? strlen(needle) : 0;

	if (!n || r->len < n)
		return 0;
	for (size_t i = 0; i + n <= r->len; i++)
		if (!memcmp(r->body + i, needle, n))
			return 1;
	return 0;
}

/* 1 the first time key (NULL: any) is seen here; the caller holds the lock */
static int first_hang(const char *key)
{
	if (!key)
		key = "";
	for (size_t i = 0; i < sink.nhung; i++)
		if (!strcmp(sink.hung[i], key))
			return 0;
	if (sink.nhung < MAX_HUNG)
		snprintf(sink.hung[sink.nhung++], sizeof(sink.hung[0]), "%s", key);
	return 1;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, int retry_after)
{
	static const char ok[] = "{}";
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(sizeof(ok) - 1, (void *)ok, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;
	char ra[16];

	if (!resp)
		return MHD_NO;
	if (retry_after >= 0) {
		snprintf(ra, sizeof(ra), "%d", retry_after);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *size, void **ctx)
{
	struct req *r = *ctx;
	const char *key, *event;
	struct plan_step step = {200, -1};
	char st[16];
	int hang = 0;

	(void)cls;
	(void)url;
	(void)version;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		*ctx = r;
		return MHD_YES;
	}
	if (*size) {
		if (r->len + *size > MAX_BODY) {
			r->too_big = 1;
		} else {
			char *p = realloc(r->body, r->len + *size + 1);

			if (!p)
				return MHD_NO;
			r->body = p;
			memcpy(r->body + r->len, data, *size);
			r->len += *size;
			r->body[r->len] = '\0';
		}
		*size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "POST") || r->too_big)
		return reply(conn, r->too_big ? 413 : 405, -1);
	key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Idempotency-Key");
	event = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Vigil-Event");
	pthread_mutex_lock(&sink.lock);
	if (contains(r, sink.reject)) {
		step.status = 400;
	} else if (contains(r, sink.hang) && first_hang(key)) {
		hang = 1;
		step.status = 503;
	} else if (sink.next < sink.nplan) {
		step = sink.plan[sink.next++];
	}
	pthread_mutex_unlock(&sink.lock);
	if (hang) {
		log_line("hang", key, event, r->body, r->len);
		sleep(sink.hang_s);
	}
	snprintf(st, sizeof(st), "%u", step.status);
	if (!hang)
		log_line(st, key, event, r->body, r->len);
	return reply(conn, step.status, step.retry_after);
}

static void completed(void *cls, struct MHD_Connection *conn, void **ctx,
		      enum MHD_RequestTerminationCode toe)
{
	struct req *r = *ctx;

	(void)cls;
	(void)conn;
	(void)toe;
	if (r) {
		free(r->body);
		free(r);
		*ctx = NULL;
	}
}

static int parse_plan(const char *s)
{
	while (*s) {
		char *end;
		unsigned long st = strtoul(s, &end, 10);

		if (end == s || st < 100 || st > 599 || sink.nplan == MAX_PLAN)
			return -1;
		sink.plan[sink.nplan].status = (unsigned)st;
		sink.plan[sink.nplan].retry_after = -1;
		if (*end == '/') {
			s = end + 1;
			sink.plan[sink.nplan].retry_after = (int)strtol(s, &end, 10);
			if (end == s)
				return -1;
		}
		sink.nplan++;
		if (*end == ',')
			end++;
		else if (*end)
			return -1;
		s = end;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: webhook_sink --log FILE [--port-file FILE] [--port N] "
			"[--plan S[/RA],...] [--reject TEXT] [--hang TEXT] [--hang-s N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *log_path = NULL, *port_file = NULL;
	unsigned port = 0;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	sigset_t sigs;
	int sig;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		if (!strcmp(a, "--log"))
			log_path = v;
		else if (!strcmp(a, "--port-file"))
			port_file = v;
		else if (!strcmp(a, "--port"))
			port = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--plan")) {
			if (parse_plan(v))
				usage();
		} else if (!strcmp(a, "--reject"))
			sink.reject = v;
		else if (!strcmp(a, "--hang"))
			sink.hang = v;
		else if (!strcmp(a, "--hang-s"))
			sink.hang_s = (unsigned)strtoul(v, NULL, 10);
		else
			usage();
		i++;
	}
	if (!log_path)
		usage();
	sink.log = fopen(log_path, "a");
	if (!sink.log) {
		perror(log_path);
		return 1;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	{
		struct sockaddr_in sa;

		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)port);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
					     MHD_USE_INTERNAL_POLLING_THREAD,
				     (uint16_t)port, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR,
				     &sa, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
				     MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	}
	if (!d) {
		fprintf(stderr, "webhook_sink: could not listen on 127.0.0.1:%u\n", port);
		fclose(sink.log);
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (port_file) {
		char tmp[4096];
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
		f = fopen(tmp, "w");
		if (!f || fprintf(f, "%u\n", info ? info->port : port) < 0 || fclose(f) ||
		    rename(tmp, port_file)) {
			perror(port_file);
			MHD_stop_daemon(d);
			fclose(sink.log);
			return 1;
		}
	}
	do
		sig = sigwaitinfo(&sigs, NULL);
	while (sig < 0);
	MHD_stop_daemon(d);
	fclose(sink.log);
	return 0;
}
