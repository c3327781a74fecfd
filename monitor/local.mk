# monitor/local.mk - the vigil binary: CLI subcommands and the daemon
noinst_LIBRARIES += %D%/libmonitor.a
%C%_libmonitor_a_SOURCES = \
	%D%/common.h \
	%D%/cli.c %D%/cli.h \
	%D%/drift_report.c %D%/drift_report.h \
	%D%/perf_report.c %D%/perf_report.h \
	%D%/render.c %D%/render.h \
	%D%/log.c %D%/log.h \
	%D%/cfg.c %D%/cfg.h \
	%D%/metrics.c %D%/metrics.h \
	%D%/db.c %D%/db.h \
	%D%/audit.c %D%/audit.h \
	%D%/auth.c %D%/auth.h \
	%D%/migrate.c %D%/migrate.h \
	%D%/http.c %D%/http.h \
	%D%/api_platform.c %D%/api_platform.h \
	%D%/pgtext.c %D%/pgtext.h \
	%D%/store_models.c %D%/store_models.h \
	%D%/store_ingest.c %D%/store_ingest.h \
	%D%/routes_models.c %D%/routes_models.h \
	%D%/routes_ingest.c %D%/routes_ingest.h \
	%D%/store_window.c %D%/store_window.h \
	%D%/analysis_cache.c %D%/analysis_cache.h \
	%D%/routes_analysis.c %D%/routes_analysis.h \
	%D%/routes.c \
	%D%/tasks.c \
	%D%/alert_rule.c %D%/alert_rule.h \
	%D%/alert.c %D%/alert.h \
	%D%/silence.c %D%/silence.h \
	%D%/routes_alerts.c %D%/routes_alerts.h \
	%D%/eval_settings.c %D%/eval_settings.h \
	%D%/evaluate.c %D%/evaluate.h \
	%D%/scheduler.c %D%/scheduler.h \
	%D%/routes_evaluation.c %D%/routes_evaluation.h \
	%D%/eval_metrics.c %D%/eval_metrics.h \
	%D%/receiver.c %D%/receiver.h \
	%D%/notify.c %D%/notify.h \
	%D%/server.c %D%/server.h
# VIGIL_SRCDIR/VIGIL_BINDIR: an uninstalled vigil finds its migrations in the source tree
%C%_libmonitor_a_CPPFLAGS = $(AM_CPPFLAGS) $(GSL_CFLAGS) $(CJSON_CFLAGS) $(MHD_CFLAGS) \
	$(PQ_CFLAGS) $(GNUTLS_CFLAGS) $(CURL_CFLAGS) \
	-DVIGIL_SRCDIR='"$(abs_top_srcdir)"' -DVIGIL_BINDIR='"$(bindir)"'
%C%_libmonitor_a_CFLAGS = $(AM_CFLAGS) -O2 -pthread
MONITOR_LIBS = monitor/libmonitor.a $(MHD_LIBS) $(PQ_LIBS) $(GNUTLS_LIBS) $(CURL_LIBS)

bin_PROGRAMS += vigil
vigil_SOURCES = %D%/main.c
vigil_CPPFLAGS = $(AM_CPPFLAGS) $(GSL_CFLAGS) $(CJSON_CFLAGS) $(MHD_CFLAGS) $(PQ_CFLAGS)
vigil_CFLAGS = $(AM_CFLAGS) -O2 -pthread
vigil_LDADD = $(MONITOR_LIBS) $(COLLECTORS_LIBS) $(STATS_LIBS) $(CJSON_LIBS)
