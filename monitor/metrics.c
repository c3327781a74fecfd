/* SPDX-License-Identifier: MIT
 * monitor/metrics.c - Prometheus counters and histograms updated with atomics
 *
 * Request counters live in a fixed open-addressing table keyed by (route, method, status):
 * a slot is claimed with one compare-and-swap and then only incremented, so the request path
 * never takes a lock. The key space is bounded (routes x 9 methods x statuses we send), and
 * the table is sized well above it; should it ever fill, requests still count in the
 * histogram and in vigil_http_requests_dropped_series_total.
 *
 * Ingest counters are keyed by model name, which clients choose; they sit behind a mutex
 * (one update per batch, not per record) and are capped at MON_METRICS_MAX_MODELS.
 */
#include "config.h"

#include "monitor/metrics.h"

#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define NSLOTS 4096
#define MAX_PROBE 64

static const double bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
				0.25,  0.5,    1,     2.5,  5,     10};
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))

static const char *const methods[] = {"GET",     "HEAD",  "POST",  "PUT",  "DELETE",
				      "OPTIONS", "PATCH", "TRACE", "other"};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

struct hist {
	atomic_ulong bucket[NBOUNDS + 1]; /* not cumulative; the last is +Inf */
	atomic_ullong sum_ns;
	atomic_ulong count;
};

struct slot {
	atomic_uint key; /* 0 = free; else (route + 1) << 14 | method << 10 | status */
	atomic_ulong count;
};

struct model_ctr {
	char *model;
	char *kind;
	unsigned long accepted, rejected;
};

struct mon_metrics {
	size_t nroutes;
	struct slot slots[NSLOTS];
	struct hist *hists; /* nroutes + 1: the last is "unmatched" */
	atomic_ulong dropped;
	atomic_long in_flight;
	atomic_ulong db_errors;
	atomic_int db_up;
	atomic_ulong analysis[MON_METRICS_ANALYSIS_N]; /* hits, misses, shared, abandoned */
	atomic_ulong analysis_entries, analysis_bytes;
	pthread_mutex_t lock; /* models */
	struct model_ctr *models;
	size_t nmodels, capmodels;
	struct model_ctr *notes; /* notifier: model = receiver, kind = outcome, accepted */
	size_t nnotes, capnotes;
	double start_time;
};

struct mon_metrics *mon_metrics_new(size_t nroutes)
{
	struct mon_metrics *m = mon_xcalloc(1, sizeof(*m));
	struct timespec ts;

	m->nroutes = nroutes;
	m->hists = mon_xcalloc(nroutes + 1, sizeof(*m->hists));
	pthread_mutex_init(&m->lock, NULL);
	clock_gettime(CLOCK_REALTIME, &ts);
	m->start_time = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
	return m;
}

void mon_metrics_free(struct mon_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nmodels; i++) {
		free(m->models[i].model);
		free(m->models[i].kind);
	}
	free(m->models);
	for (size_t i = 0; i < m->nnotes; i++) {
		free(m->notes[i].model);
		free(m->notes[i].kind);
	}
	free(m->notes);
	pthread_mutex_destroy(&m->lock);
	free(m->hists);
	free(m);
}

static unsigned method_index(const char *method)
{
	for (unsigned i = 0; i + 1 < NMETHODS; i++)
		if (method && !strcmp(method, methods[i]))
			return i;
	return NMETHODS - 1;
}

void mon_metrics_observe_request(struct mon_metrics *m, size_t route, const char *method,
				 int status, double seconds)
{
	size_t r = route == MON_METRICS_UNMATCHED || route >= m->nroutes ? m->nroutes : route;
	unsigned st = status >= 100 && status <= 999 ? (unsigned)status : 999;
	unsigned key = (unsigned)(r + 1) << 14 | method_index(method) << 10 | st;
	unsigned h = key * 2654435761u;
	struct hist *hi = &m->hists[r];
	size_t b;

	for (unsigned i = 0; i < MAX_PROBE; i++) {
		struct slot *s = &m->slots[(h + i) % NSLOTS];
		unsigned cur = atomic_load_explicit(&s->key, memory_order_acquire);

		if (cur == 0) {
			unsigned zero = 0;

			if (atomic_compare_exchange_strong(&s->key, &zero, key))
				cur = key;
			else
				cur = zero;
		}
		if (cur == key) {
			atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
			goto hist;
		}
	}
	atomic_fetch_add_explicit(&m->dropped, 1, memory_order_relaxed);
hist:
	if (!(seconds >= 0))
		seconds = 0;
	for (b = 0; b < NBOUNDS && seconds > bounds[b]; b++)
		;
	atomic_fetch_add_explicit(&hi->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&hi->sum_ns, (unsigned long long)(seconds * 1e9),
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&hi->count, 1, memory_order_relaxed);
}

void mon_metrics_in_flight(struct mon_metrics *m, int delta)
{
	atomic_fetch_add_explicit(&m->in_flight, delta, memory_order_relaxed);
}

void mon_metrics_add_ingested(struct mon_metrics *m, const char *model, const char *kind,
			      unsigned long accepted, unsigned long rejected)
{
	struct model_ctr *c = NULL;

	pthread_mutex_lock(&m->lock);
	if (m->nmodels >= MON_METRICS_MAX_MODELS)
		model = "other";
	for (size_t i = 0; i < m->nmodels; i++) {
		if (!strcmp(m->models[i].model, model) && !strcmp(m->models[i].kind, kind)) {
			c = &m->models[i];
			break;
		}
	}
	if (!c) {
		if (m->nmodels == m->capmodels) {
			m->capmodels = m->capmodels ? 2 * m->capmodels : 16;
			m->models = mon_xrealloc(m->models, m->capmodels * sizeof(*m->models));
		}
		c = &m->models[m->nmodels++];
		c->model = mon_xstrndup(model, strlen(model));
		c->kind = mon_xstrndup(kind, strlen(kind));
		c->accepted = c->rejected = 0;
	}
	c->accepted += accepted;
	c->rejected += rejected;
	pthread_mutex_unlock(&m->lock);
}

void mon_metrics_add_notification(struct mon_metrics *m, const char *receiver, const char *outcome)
{
	struct model_ctr *c = NULL;

	pthread_mutex_lock(&m->lock);
	if (m->nnotes >= MON_METRICS_MAX_MODELS)
		receiver = "other";
	for (size_t i = 0; i < m->nnotes; i++) {
		if (!strcmp(m->notes[i].model, receiver) && !strcmp(m->notes[i].kind, outcome)) {
			c = &m->notes[i];
			break;
		}
	}
	if (!c) {
		if (m->nnotes == m->capnotes) {
			m->capnotes = m->capnotes ? 2 * m->capnotes : 16;
			m->notes = mon_xrealloc(m->notes, m->capnotes * sizeof(*m->notes));
		}
		c = &m->notes[m->nnotes++];
		c->model = mon_xstrndup(receiver, strlen(receiver));
		c->kind = mon_xstrndup(outcome, strlen(outcome));
		c->accepted = c->rejected = 0;
	}
	c->accepted++;
	pthread_mutex_unlock(&m->lock);
}

void mon_metrics_set_db(struct mon_metrics *m, unsigned long errors, int up)
{
	atomic_store(&m->db_errors, errors);
	atomic_store(&m->db_up, up ? 1 : 0);
}

/* A growing text buffer; aborts when out of memory like every monitor allocation. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3))) sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;

	for (;;) {
		int n;

		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = 2 * b->cap + (size_t)n + 1;
		b->p = mon_xrealloc(b->p, b->cap);
	}
}

/* Append s as a label value: backslash, double quote and newline escaped. */
static void sb_label(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			sb_printf(b, "\\\\");
		else if (*s == '"')
			sb_printf(b, "\\\"");
		else if (*s == '\n')
			sb_printf(b, "\\n");
		else
			sb_printf(b, "%c", *s);
	}
}

static void family(struct sbuf *b, const char *name, const char *type, const char *help)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *route_name(const struct mon_metrics *m, const char *const *pat, size_t r)
{
	return r < m->nroutes ? pat[r] : "unmatched";
}

static void render_process(struct sbuf *b)
{
	struct rusage ru;
	struct rlimit rl;
	long pages = 0, rss = 0;
	FILE *f;
	DIR *d;

	if (!getrusage(RUSAGE_SELF, &ru)) {
		double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
			     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;

		family(b, "process_cpu_seconds_total", "counter",
		       "Total user and system CPU time spent in seconds.");
		sb_printf(b, "process_cpu_seconds_total %.6f\n", cpu);
	}
	f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) == 2) {
			family(b, "process_resident_memory_bytes", "gauge",
			       "Resident memory size in bytes.");
			sb_printf(b, "process_resident_memory_bytes %ld\n",
				  rss * sysconf(_SC_PAGESIZE));
		}
		fclose(f);
	}
	d = opendir("/proc/self/fd");
	if (d) {
		unsigned long fds = 0;

		while (readdir(d))
			fds++;
		closedir(d);
		family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
		sb_printf(b, "process_open_fds %lu\n", fds > 3 ? fds - 3 : 0); /* ., .., dirfd */
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY) {
		family(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
		sb_printf(b, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
	}
}

static int cmp_ctr(const void *a, const void *b)
{
	const struct model_ctr *x = a, *y = b;
	int c = strcmp(x->model, y->model);

	return c ? c : strcmp(x->kind, y->kind);
}

void mon_metrics_analysis(struct mon_metrics *m, enum mon_metrics_analysis what)
{
	if ((unsigned)what < MON_METRICS_ANALYSIS_N)
		atomic_fetch_add(&m->analysis[what], 1);
}

void mon_metrics_set_analysis_cache(struct mon_metrics *m, size_t entries, size_t bytes)
{
	atomic_store(&m->analysis_entries, (unsigned long)entries);
	atomic_store(&m->analysis_bytes, (unsigned long)bytes);
}

int mon_metrics_render(struct mon_metrics *m, const char *const *pat, char **out, size_t *len)
{
	struct sbuf b = {mon_xmalloc(16384), 0, 16384};
	struct model_ctr *snap;
	size_t nsnap;

	b.p[0] = '\0';
	family(&b, "vigil_build_info", "gauge", "The running vigil version.");
	sb_printf(&b, "vigil_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	family(&b, "vigil_http_requests_total", "counter",
	       "HTTP requests answered, by route pattern, method and status.");
	for (size_t i = 0; i < NSLOTS; i++) {
		unsigned key = atomic_load(&m->slots[i].key);
		size_t r;

		if (!key)
			continue;
		r = (key >> 14) - 1;
		sb_printf(&b, "vigil_http_requests_total{route=\"");
		sb_label(&b, route_name(m, pat, r));
		sb_printf(&b, "\",method=\"%s\",status=\"%u\"} %lu\n", methods[(key >> 10) & 15u],
			  key & 1023u, atomic_load(&m->slots[i].count));
	}
	family(&b, "vigil_http_requests_dropped_series_total", "counter",
	       "Requests not counted by route because the series table was full.");
	sb_printf(&b, "vigil_http_requests_dropped_series_total %lu\n", atomic_load(&m->dropped));

	family(&b, "vigil_http_request_duration_seconds", "histogram",
	       "Time from a request's headers to its response, by route pattern.");
	for (size_t r = 0; r <= m->nroutes; r++) {
		struct hist *h = &m->hists[r];
		unsigned long cum = 0, count = atomic_load(&h->count);

		if (!count)
			continue;
		for (size_t k = 0; k <= NBOUNDS; k++) {
			cum += atomic_load(&h->bucket[k]);
			sb_printf(&b, "vigil_http_request_duration_seconds_bucket{route=\"");
			sb_label(&b, route_name(m, pat, r));
			if (k < NBOUNDS)
				sb_printf(&b, "\",le=\"%g\"} %lu\n", bounds[k], cum);
			else
				sb_printf(&b, "\",le=\"+Inf\"} %lu\n", cum);
		}
		sb_printf(&b, "vigil_http_request_duration_seconds_sum{route=\"");
		sb_label(&b, route_name(m, pat, r));
		sb_printf(&b, "\"} %.9f\n", (double)atomic_load(&h->sum_ns) * 1e-9);
		sb_printf(&b, "vigil_http_request_duration_seconds_count{route=\"");
		sb_label(&b, route_name(m, pat, r));
		/* buckets and count are read at slightly different instants: keep them coherent */
		sb_printf(&b, "\"} %lu\n", cum);
	}
	family(&b, "vigil_http_requests_in_flight", "gauge", "HTTP requests being processed.");
	sb_printf(&b, "vigil_http_requests_in_flight %ld\n", atomic_load(&m->in_flight));

	pthread_mutex_lock(&m->lock);
	nsnap = m->nmodels;
	snap = mon_xcalloc(nsnap ? nsnap : 1, sizeof(*snap));
	for (size_t i = 0; i < nsnap; i++) {
		snap[i] = m->models[i];
		snap[i].model = mon_xstrndup(m->models[i].model, strlen(m->models[i].model));
		snap[i].kind = mon_xstrndup(m->models[i].kind, strlen(m->models[i].kind));
	}
	pthread_mutex_unlock(&m->lock);
	qsort(snap, nsnap, sizeof(*snap), cmp_ctr);
	for (int pass = 0; pass < 2; pass++) {
		const char *name =
			pass ? "vigil_rejected_records_total" : "vigil_ingested_records_total";

		family(&b, name, "counter",
		       pass ? "Records rejected at ingest, by model and kind."
			    : "Records accepted and stored, by model and kind.");
		for (size_t i = 0; i < nsnap; i++) {
			sb_printf(&b, "%s{model=\"", name);
			sb_label(&b, snap[i].model);
			sb_printf(&b, "\",kind=\"");
			sb_label(&b, snap[i].kind);
			sb_printf(&b, "\"} %lu\n", pass ? snap[i].rejected : snap[i].accepted);
		}
	}
	for (size_t i = 0; i < nsnap; i++) {
		free(snap[i].model);
		free(snap[i].kind);
	}
	free(snap);

	pthread_mutex_lock(&m->lock);
	nsnap = m->nnotes;
	snap = mon_xcalloc(nsnap ? nsnap : 1, sizeof(*snap));
	for (size_t i = 0; i < nsnap; i++) {
		snap[i] = m->notes[i];
		snap[i].model = mon_xstrndup(m->notes[i].model, strlen(m->notes[i].model));
		snap[i].kind = mon_xstrndup(m->notes[i].kind, strlen(m->notes[i].kind));
	}
	pthread_mutex_unlock(&m->lock);
	qsort(snap, nsnap, sizeof(*snap), cmp_ctr);
	family(&b, "vigil_notifications_total", "counter",
	       "Notification deliveries by receiver and outcome (delivered, retry, failed, "
	       "resent, resend_error).");
	for (size_t i = 0; i < nsnap; i++) {
		sb_printf(&b, "vigil_notifications_total{receiver=\"");
		sb_label(&b, snap[i].model);
		sb_printf(&b, "\",outcome=\"");
		sb_label(&b, snap[i].kind);
		sb_printf(&b, "\"} %lu\n", snap[i].accepted);
		free(snap[i].model);
		free(snap[i].kind);
	}
	free(snap);

	family(&b, "vigil_analysis_cache_hits_total", "counter",
	       "Analysis requests answered from the cache.");
	sb_printf(&b, "vigil_analysis_cache_hits_total %lu\n",
		  atomic_load(&m->analysis[MON_METRICS_ANALYSIS_HIT]));
	family(&b, "vigil_analysis_cache_misses_total", "counter",
	       "Analysis answers computed (requests that led a computation).");
	sb_printf(&b, "vigil_analysis_cache_misses_total %lu\n",
		  atomic_load(&m->analysis[MON_METRICS_ANALYSIS_MISS]));
	family(&b, "vigil_analysis_cache_shared_total", "counter",
	       "Analysis requests answered by waiting for an identical one's computation.");
	sb_printf(&b, "vigil_analysis_cache_shared_total %lu\n",
		  atomic_load(&m->analysis[MON_METRICS_ANALYSIS_SHARED]));
	family(&b, "vigil_analysis_abandoned_total", "counter",
	       "Queued analysis requests skipped because the client had gone.");
	sb_printf(&b, "vigil_analysis_abandoned_total %lu\n",
		  atomic_load(&m->analysis[MON_METRICS_ANALYSIS_ABANDONED]));
	family(&b, "vigil_analysis_cache_entries", "gauge", "Analysis answers kept in the cache.");
	sb_printf(&b, "vigil_analysis_cache_entries %lu\n", atomic_load(&m->analysis_entries));
	family(&b, "vigil_analysis_cache_bytes", "gauge", "Bytes the kept analysis answers take.");
	sb_printf(&b, "vigil_analysis_cache_bytes %lu\n", atomic_load(&m->analysis_bytes));
	family(&b, "vigil_db_errors_total", "counter",
	       "Failed database connection attempts and statements that lost their connection.");
	sb_printf(&b, "vigil_db_errors_total %lu\n", atomic_load(&m->db_errors));
	family(&b, "vigil_db_up", "gauge", "1 when the last database contact succeeded.");
	sb_printf(&b, "vigil_db_up %d\n", atomic_load(&m->db_up));
	family(&b, "process_start_time_seconds", "gauge",
	       "Start time of the process since unix epoch in seconds.");
	sb_printf(&b, "process_start_time_seconds %.3f\n", m->start_time);
	render_process(&b);
	*out = b.p;
	*len = b.len;
	return 0;
}
