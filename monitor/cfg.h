/* SPDX-License-Identifier: MIT
 * monitor/cfg.h - the daemon's settings: one table, four sources, one immutable struct
 *
 * Every setting has a key (for the file and --set), an environment variable, a type, a
 * default, bounds and a reload flag, in one table in cfg.c. A value is taken from, in
 * order of precedence: a command-line flag, the environment, the config file, the default.
 *
 * The config file (--config FILE or VIGIL_CONFIG) holds one "key = value" per line; blank
 * lines and lines starting with # are ignored, as is a # after whitespace; values may be
 * wrapped in double quotes (needed for a value holding " #"). Unknown keys are errors.
 *
 * Sizes accept a suffix: k/K/KiB (1024), M/MiB, G/GiB, e.g. "16MiB".
 *
 * Create with mon_cfg_load; destroy with mon_cfg_free. A struct mon_cfg never changes after
 * it is built: on SIGHUP the server builds a new one (mon_cfg_merge_reload) and swaps it in.
 */
#ifndef MONITOR_CFG_H
#define MONITOR_CFG_H
#include <stdio.h>

#include "monitor/common.h"
#include "monitor/log.h"
#include "monitor/receiver.h"

struct mon_cfg {
	char *listen;             /* "host:port" as given; host may be [v6] */
	char *database_url;       /* libpq URL or conninfo; "" uses libpq's PG* variables */
	unsigned threads;         /* HTTP worker threads */
	unsigned max_connections; /* total open connections */
	unsigned max_connections_per_ip;
	unsigned connection_timeout_s; /* idle or stalled connection is closed after this */
	size_t max_body_bytes;         /* request bodies beyond this are answered 413 */
	size_t max_batch_records;      /* records in one ingest batch */
	size_t max_window_rows;        /* rows an analysis request may load (window or reference) */
	unsigned max_json_depth;       /* nesting depth accepted in request JSON */
	unsigned db_pool_size;         /* PostgreSQL connections */
	unsigned db_acquire_timeout_ms; /* how long a request waits for a free connection */
	unsigned db_startup_timeout_s;  /* how long serve waits for the database at start */
	unsigned token_cache_ttl_s;     /* a revoked token stops working within this time */
	unsigned shutdown_timeout_s;    /* how long SIGTERM waits for in-flight requests */
	unsigned retry_after_s;         /* Retry-After sent with 503 */
	enum mon_log_level log_level;
	/* notifications (monitor/notify.h); receivers from receiver.NAME.* keys (receiver.h) */
	unsigned notify_resend_s;  /* re-send firing alerts to Alertmanager receivers this often */
	char *notify_external_url; /* externalURL in webhook payloads (vigil's public URL) */
	struct mon_receivers receivers;
	/* evaluation (monitor/scheduler.h) */
	unsigned evaluation_interval_s; /* materialise windows this often; 0: never evaluate */
	unsigned evaluation_lease_s;    /* a claimed window is another's to take after this */
	unsigned evaluation_backfill_windows;   /* windows created back from now, at most */
	unsigned evaluation_cbpe_draws;         /* draws for the CBPE estimate's intervals */
	unsigned evaluation_max_segment_values; /* evaluated values per segment attribute */
	/* analysis routes (monitor/routes_analysis.h, analysis_cache.h) */
	unsigned analysis_workers;             /* threads computing analysis answers */
	unsigned analysis_cache_mb;            /* answers kept, MiB; 0: none kept */
	unsigned analysis_cache_entries;       /* answers kept, at most */
	unsigned analysis_statement_timeout_s; /* per analysis query; 0: no limit */
};

/* Build the configuration. file may be NULL (then VIGIL_CONFIG, if set, names it); sets[]
 * holds nsets "key=value" strings from the command line, which win over everything.
 * On success stores a new struct in *out and returns 0. On a bad value returns -EINVAL and
 * writes a message naming the key and where the value came from into err; -ENOENT when the
 * file cannot be read. */
int mon_cfg_load(const char *file, const char *const *sets, size_t nsets, struct mon_cfg **out,
		 char *err, size_t errlen) MON_MUSTCHECK;
void mon_cfg_free(struct mon_cfg *cfg); /* NULL is a no-op */

/* For a reload: return a new struct with next's reloadable values and old's others, logging
 * each non-reloadable key that changed (its old value stays). Does not consume either. */
struct mon_cfg *mon_cfg_merge_reload(const struct mon_cfg *old, const struct mon_cfg *next);

/* Print the effective settings as a config file would hold them, the password in
 * database_url masked. */
void mon_cfg_print(const struct mon_cfg *cfg, FILE *f);

/* Split cfg->listen-like text into host (without brackets) and port. Returns 0 or -EINVAL. */
int mon_cfg_split_listen(const char *listen, char *host, size_t hostlen,
			 unsigned *port) MON_MUSTCHECK;

#endif /* MONITOR_CFG_H */
