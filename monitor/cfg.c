/* SPDX-License-Identifier: MIT
 * monitor/cfg.c - the settings table and its four sources: flag, environment, file, default
 *
 * Each setting is one row of opts[] (PGB's CF_ABS table, RD standardConfig): key, environment
 * variable, type, default, bounds, whether SIGHUP may change it, and where it lives in struct
 * mon_cfg. Sources are applied lowest first (default, file, environment, flags) as strings;
 * only the winning string of each key is then parsed and checked, so a message can say
 * where the bad value came from.
 */
#include "config.h"

#include "monitor/cfg.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "config: "
#define LINE_MAX_LEN 4096
#define SRC_LEN 160

enum opt_type { T_STR, T_UINT, T_SIZE, T_LISTEN, T_LEVEL };

#define MON_CF_RELOADABLE 1

struct opt {
	const char *key;
	const char *env;
	enum opt_type type;
	const char *def;
	unsigned long long min, max;
	int flags;
	size_t off;
};

#define KIB 1024ULL
#define MIB (1024ULL * 1024)
#define GIB (1024ULL * 1024 * 1024)
#define OFF(f) offsetof(struct mon_cfg, f)

static const struct opt opts[] = {
	{"listen", "VIGIL_LISTEN", T_LISTEN, "127.0.0.1:8080", 0, 0, 0, OFF(listen)},
	{"database_url", "VIGIL_DATABASE_URL", T_STR, "", 0, 0, 0, OFF(database_url)},
	{"threads", "VIGIL_THREADS", T_UINT, "4", 1, 256, 0, OFF(threads)},
	{"max_connections", "VIGIL_MAX_CONNECTIONS", T_UINT, "512", 1, 65535, 0,
	 OFF(max_connections)},
	{"max_connections_per_ip", "VIGIL_MAX_CONNECTIONS_PER_IP", T_UINT, "128", 0, 65535, 0,
	 OFF(max_connections_per_ip)},
	{"connection_timeout_s", "VIGIL_CONNECTION_TIMEOUT_S", T_UINT, "30", 1, 3600, 0,
	 OFF(connection_timeout_s)},
	{"max_body_bytes", "VIGIL_MAX_BODY_BYTES", T_SIZE, "16MiB", 1, GIB, MON_CF_RELOADABLE,
	 OFF(max_body_bytes)},
	{"max_batch_records", "VIGIL_MAX_BATCH_RECORDS", T_SIZE, "100000", 1, 10000000,
	 MON_CF_RELOADABLE, OFF(max_batch_records)},
	{"max_window_rows", "VIGIL_MAX_WINDOW_ROWS", T_SIZE, "2000000", 1, 100000000,
	 MON_CF_RELOADABLE, OFF(max_window_rows)},
	{"max_json_depth", "VIGIL_MAX_JSON_DEPTH", T_UINT, "32", 1, 1000, MON_CF_RELOADABLE,
	 OFF(max_json_depth)},
	{"db_pool_size", "VIGIL_DB_POOL_SIZE", T_UINT, "16", 1, 1000, 0, OFF(db_pool_size)},
	{"db_acquire_timeout_ms", "VIGIL_DB_ACQUIRE_TIMEOUT_MS", T_UINT, "2000", 0, 60000,
	 MON_CF_RELOADABLE, OFF(db_acquire_timeout_ms)},
	{"db_startup_timeout_s", "VIGIL_DB_STARTUP_TIMEOUT_S", T_UINT, "30", 0, 3600, 0,
	 OFF(db_startup_timeout_s)},
	{"token_cache_ttl_s", "VIGIL_TOKEN_CACHE_TTL_S", T_UINT, "5", 0, 300, MON_CF_RELOADABLE,
	 OFF(token_cache_ttl_s)},
	{"shutdown_timeout_s", "VIGIL_SHUTDOWN_TIMEOUT_S", T_UINT, "30", 0, 3600, MON_CF_RELOADABLE,
	 OFF(shutdown_timeout_s)},
	{"retry_after_s", "VIGIL_RETRY_AFTER_S", T_UINT, "5", 1, 3600, MON_CF_RELOADABLE,
	 OFF(retry_after_s)},
	{"log_level", "VIGIL_LOG_LEVEL", T_LEVEL, "info", 0, 0, MON_CF_RELOADABLE, OFF(log_level)},
	{"notify_resend_s", "VIGIL_NOTIFY_RESEND_S", T_UINT, "60", 1, 3600, MON_CF_RELOADABLE,
	 OFF(notify_resend_s)},
	{"notify_external_url", "VIGIL_NOTIFY_EXTERNAL_URL", T_STR, "", 0, 0, MON_CF_RELOADABLE,
	 OFF(notify_external_url)},
	{"evaluation_interval_s", "VIGIL_EVALUATION_INTERVAL_S", T_UINT, "5", 0, 86400,
	 MON_CF_RELOADABLE, OFF(evaluation_interval_s)},
	{"evaluation_lease_s", "VIGIL_EVALUATION_LEASE_S", T_UINT, "600", 10, 86400,
	 MON_CF_RELOADABLE, OFF(evaluation_lease_s)},
	{"evaluation_backfill_windows", "VIGIL_EVALUATION_BACKFILL_WINDOWS", T_UINT, "1000", 1,
	 100000, MON_CF_RELOADABLE, OFF(evaluation_backfill_windows)},
	{"evaluation_cbpe_draws", "VIGIL_EVALUATION_CBPE_DRAWS", T_UINT, "100", 10, 100000,
	 MON_CF_RELOADABLE, OFF(evaluation_cbpe_draws)},
	{"evaluation_max_segment_values", "VIGIL_EVALUATION_MAX_SEGMENT_VALUES", T_UINT, "64", 1,
	 1000, MON_CF_RELOADABLE, OFF(evaluation_max_segment_values)},
	{"analysis_workers", "VIGIL_ANALYSIS_WORKERS", T_UINT, "4", 1, 256, 0,
	 OFF(analysis_workers)},
	{"analysis_cache_mb", "VIGIL_ANALYSIS_CACHE_MB", T_UINT, "64", 0, 65536, 0,
	 OFF(analysis_cache_mb)},
	{"analysis_cache_entries", "VIGIL_ANALYSIS_CACHE_ENTRIES", T_UINT, "1024", 1, 1000000, 0,
	 OFF(analysis_cache_entries)},
	{"analysis_statement_timeout_s", "VIGIL_ANALYSIS_STATEMENT_TIMEOUT_S", T_UINT, "300", 0,
	 86400, MON_CF_RELOADABLE, OFF(analysis_statement_timeout_s)},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

struct pending {
	char *val[NOPTS];
	char src[NOPTS][SRC_LEN];
	struct mon_receivers receivers; /* receiver.NAME.FIELD keys, from file and flags */
};

#define RECEIVER_PREFIX "receiver."
#define RECEIVER_PREFIX_LEN (sizeof(RECEIVER_PREFIX) - 1)

static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static int find_opt(const char *key, size_t klen)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strlen(opts[i].key) == klen && !strncmp(opts[i].key, key, klen))
			return (int)i;
	return -1;
}

static void set_pending(struct pending *p, size_t i, const char *v, size_t vlen, const char *src)
{
	free(p->val[i]);
	p->val[i] = mon_xstrndup(v, vlen);
	snprintf(p->src[i], SRC_LEN, "%s", src);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int read_file(const char *path, struct pending *p, char *err, size_t errlen)
{
	char line[LINE_MAX_LEN + 2];
	char src[SRC_LEN];
	unsigned lineno = 0;
	FILE *f;
	int ret = 0;

	f = fopen(path, "r");
	if (!f) {
		seterr(err, errlen, "could not open config file \"%s\": %s", path, strerror(errno));
		return -ENOENT;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s, *eq, *key, *val, *hash;
		size_t len = strlen(line);
		int i;

		lineno++;
		if (len > LINE_MAX_LEN) {
			seterr(err, errlen, "%s:%u: line too long", path, lineno);
			ret = -EINVAL;
			goto out;
		}
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			seterr(err, errlen, "%s:%u: expected \"key = value\"", path, lineno);
			ret = -EINVAL;
			goto out;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		if (*val == '"') {
			char *q = strchr(val + 1, '"');
			const char *rest = q ? trim(q + 1) : "";

			if (!q || (*rest && *rest != '#')) {
				seterr(err, errlen, "%s:%u: unterminated quoted value for %s", path,
				       lineno, key);
				ret = -EINVAL;
				goto out;
			}
			*q = '\0';
			val++;
		} else {
			for (hash = val; (hash = strchr(hash, '#')) != NULL; hash++) {
				if (hash > val && isspace((unsigned char)hash[-1])) {
					*hash = '\0';
					val = trim(val);
					break;
				}
			}
		}
		snprintf(src, sizeof(src), "config file %s line %u", path, lineno);
		if (!strncmp(key, RECEIVER_PREFIX, RECEIVER_PREFIX_LEN)) {
			ret = mon_receivers_set(&p->receivers, key + RECEIVER_PREFIX_LEN, val, src,
						err, errlen);
			if (ret)
				goto out;
			continue;
		}
		i = find_opt(key, strlen(key));
		if (i < 0) {
			seterr(err, errlen, "%s:%u: unknown setting \"%s\"", path, lineno, key);
			ret = -EINVAL;
			goto out;
		}
		set_pending(p, (size_t)i, val, strlen(val), src);
	}
	if (ferror(f)) {
		seterr(err, errlen, "could not read config file \"%s\": %s", path, strerror(errno));
		ret = -EIO;
	}
out:
	fclose(f);
	return ret;
}

static int parse_uint(const char *s, unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_size(const char *s, unsigned long long *out)
{
	static const struct {
		const char *sfx;
		unsigned long long mul;
	} sfx[] = {{"", 1},      {"k", KIB}, {"K", KIB},   {"KiB", KIB}, {"M", MIB},
		   {"MiB", MIB}, {"G", GIB}, {"GiB", GIB}, {"B", 1}};
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	while (*end == ' ')
		end++;
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if (!strcmp(end, sfx[i].sfx)) {
			if (v > UINT64_MAX / sfx[i].mul)
				return -EINVAL;
			*out = v * sfx[i].mul;
			return 0;
		}
	}
	return -EINVAL;
}

int mon_cfg_split_listen(const char *listen, char *host, size_t hostlen, unsigned *port)
{
	const char *colon, *h = listen;
	size_t hlen;
	unsigned long long p;

	if (*listen == '[') {
		const char *rb = strchr(listen, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		h = listen + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - listen);
		if (memchr(listen, ':', hlen))
			return -EINVAL; /* a bare IPv6 address needs brackets */
	}
	if (hlen == 0 || hlen >= hostlen)
		return -EINVAL;
	if (parse_uint(colon + 1, &p) || p > 65535)
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (unsigned)p;
	return 0;
}

static int convert(const struct opt *o, const char *v, const char *src, struct mon_cfg *cfg,
		   char *err, size_t errlen)
{
	char *field = (char *)cfg + o->off;
	unsigned long long n;
	enum mon_log_level lvl;
	char host[256];
	unsigned port;

	switch (o->type) {
	case T_STR:
		*(char **)field = mon_xstrndup(v, strlen(v));
		return 0;
	case T_LISTEN:
		if (mon_cfg_split_listen(v, host, sizeof(host), &port)) {
			seterr(err, errlen,
			       "invalid value for %s: \"%s\" is not host:port (from %s)", o->key, v,
			       src);
			return -EINVAL;
		}
		*(char **)field = mon_xstrndup(v, strlen(v));
		return 0;
	case T_LEVEL:
		if (mon_log_parse_level(v, &lvl)) {
			seterr(err, errlen,
			       "invalid value for %s: \"%s\" is not one of error, warning, info, "
			       "debug (from %s)",
			       o->key, v, src);
			return -EINVAL;
		}
		*(enum mon_log_level *)field = lvl;
		return 0;
	case T_UINT:
	case T_SIZE:
		if ((o->type == T_UINT ? parse_uint(v, &n) : parse_size(v, &n))) {
			seterr(err, errlen, "invalid value for %s: \"%s\" is not %s (from %s)",
			       o->key, v, o->type == T_UINT ? "a whole number" : "a size", src);
			return -EINVAL;
		}
		if (n < o->min || n > o->max) {
			seterr(err, errlen,
			       "invalid value for %s: %llu is outside [%llu, %llu] (from %s)",
			       o->key, n, o->min, o->max, src);
			return -EINVAL;
		}
		if (o->type == T_UINT)
			*(unsigned *)field = (unsigned)n;
		else
			*(size_t *)field = (size_t)n;
		return 0;
	}
	return -EINVAL;
}

int mon_cfg_load(const char *file, const char *const *sets, size_t nsets, struct mon_cfg **out,
		 char *err, size_t errlen)
{
	struct pending *p = mon_xcalloc(1, sizeof(*p));
	struct mon_cfg *cfg = mon_xcalloc(1, sizeof(*cfg));
	char src[SRC_LEN];
	int ret = 0;

	*out = NULL;
	for (size_t i = 0; i < NOPTS; i++)
		set_pending(p, i, opts[i].def, strlen(opts[i].def), "the default");
	if (!file || !*file)
		file = getenv("VIGIL_CONFIG");
	if (file && *file) {
		ret = read_file(file, p, err, errlen);
		if (ret)
			goto out;
	}
	for (size_t i = 0; i < NOPTS; i++) {
		const char *v = getenv(opts[i].env);

		if (v) {
			snprintf(src, sizeof(src), "environment variable %s", opts[i].env);
			set_pending(p, i, v, strlen(v), src);
		}
	}
	for (size_t k = 0; k < nsets; k++) {
		const char *eq = strchr(sets[k], '=');
		int i = eq ? find_opt(sets[k], (size_t)(eq - sets[k])) : -1;

		if (!eq) {
			seterr(err, errlen, "invalid setting \"%s\": expected key=value", sets[k]);
			ret = -EINVAL;
			goto out;
		}
		if (!strncmp(sets[k], RECEIVER_PREFIX, RECEIVER_PREFIX_LEN)) {
			char *key = mon_xstrndup(sets[k], (size_t)(eq - sets[k]));

			ret = mon_receivers_set(&p->receivers, key + RECEIVER_PREFIX_LEN, eq + 1,
						"the command line", err, errlen);
			free(key);
			if (ret)
				goto out;
			continue;
		}
		if (i < 0) {
			seterr(err, errlen, "unknown setting \"%.*s\"", (int)(eq - sets[k]),
			       sets[k]);
			ret = -EINVAL;
			goto out;
		}
		set_pending(p, (size_t)i, eq + 1, strlen(eq + 1), "the command line");
	}
	for (size_t i = 0; i < NOPTS; i++) {
		ret = convert(&opts[i], p->val[i], p->src[i], cfg, err, errlen);
		if (ret)
			goto out;
	}
	ret = mon_receivers_check(&p->receivers, err, errlen);
	if (ret)
		goto out;
	cfg->receivers = p->receivers;
	memset(&p->receivers, 0, sizeof(p->receivers));
	*out = cfg;
	cfg = NULL;
out:
	for (size_t i = 0; i < NOPTS; i++)
		free(p->val[i]);
	mon_receivers_fini(&p->receivers);
	free(p);
	mon_cfg_free(cfg);
	return ret;
}

void mon_cfg_free(struct mon_cfg *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < NOPTS; i++)
		if (opts[i].type == T_STR || opts[i].type == T_LISTEN)
			free(*(char **)((char *)cfg + opts[i].off));
	mon_receivers_fini(&cfg->receivers);
	free(cfg);
}

static void format_value(const struct opt *o, const struct mon_cfg *cfg, char *buf, size_t len)
{
	const char *field = (const char *)cfg + o->off;

	switch (o->type) {
	case T_STR:
	case T_LISTEN:
		snprintf(buf, len, "%s", *(char *const *)field);
		break;
	case T_LEVEL:
		snprintf(buf, len, "%s", mon_log_level_name(*(const enum mon_log_level *)field));
		break;
	case T_UINT:
		snprintf(buf, len, "%u", *(const unsigned *)field);
		break;
	case T_SIZE:
		snprintf(buf, len, "%zu", *(const size_t *)field);
		break;
	}
}

struct mon_cfg *mon_cfg_merge_reload(const struct mon_cfg *old, const struct mon_cfg *next)
{
	struct mon_cfg *cfg = mon_xcalloc(1, sizeof(*cfg));
	char a[512], b[512];

	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];
		const struct mon_cfg *from = next;

		format_value(o, old, a, sizeof(a));
		format_value(o, next, b, sizeof(b));
		if (strcmp(a, b) && !(o->flags & MON_CF_RELOADABLE)) {
			log_warn(LOG_PREFIX "%s cannot be changed without a restart; keeping the "
					    "running value",
				 o->key);
			from = old;
		} else if (strcmp(a, b)) {
			log_info(LOG_PREFIX "%s changed", o->key);
		}
		switch (o->type) {
		case T_STR:
		case T_LISTEN: {
			const char *s = *(char *const *)((const char *)from + o->off);

			*(char **)((char *)cfg + o->off) = mon_xstrndup(s, strlen(s));
			break;
		}
		case T_LEVEL:
			*(enum mon_log_level *)((char *)cfg + o->off) =
				*(const enum mon_log_level *)((const char *)from + o->off);
			break;
		case T_UINT:
			*(unsigned *)((char *)cfg + o->off) =
				*(const unsigned *)((const char *)from + o->off);
			break;
		case T_SIZE:
			*(size_t *)((char *)cfg + o->off) =
				*(const size_t *)((const char *)from + o->off);
			break;
		}
	}
	/* receivers are reloadable: the notifier reads them afresh on each run */
	if (!mon_receivers_equal(&old->receivers, &next->receivers))
		log_info(LOG_PREFIX "receivers changed");
	mon_receivers_copy(&cfg->receivers, &next->receivers);
	return cfg;
}

/* Replace a password in a URL (user:secret@) or a conninfo (password=secret) by "***". */
static void mask_password(const char *in, char *out, size_t len)
{
	const char *scheme = strstr(in, "://");
	const char *pw;

	snprintf(out, len, "%s", in);
	if (scheme) {
		const char *at = strchr(scheme + 3, '@');
		const char *colon = strchr(scheme + 3, ':');

		if (at && colon && colon < at)
			snprintf(out, len, "%.*s***%s", (int)(colon + 1 - in), in, at);
		return;
	}
	pw = strstr(in, "password=");
	if (pw) {
		const char *end = pw + 9;

		while (*end && !isspace((unsigned char)*end))
			end++;
		snprintf(out, len, "%.*s***%s", (int)(pw + 9 - in), in, end);
	}
}

void mon_cfg_print(const struct mon_cfg *cfg, FILE *f)
{
	char buf[1024], masked[1024];

	for (size_t i = 0; i < NOPTS; i++) {
		format_value(&opts[i], cfg, buf, sizeof(buf));
		if (!strcmp(opts[i].key, "database_url")) {
			mask_password(buf, masked, sizeof(masked));
			fprintf(f, "%s = \"%s\"\n", opts[i].key, masked);
		} else {
			fprintf(f, "%s = %s\n", opts[i].key, buf);
		}
	}
	mon_receivers_print(&cfg->receivers, f);
}
