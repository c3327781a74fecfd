# tests/local.mk - unit tests (Check) and command-line/integration tests
LOG_COMPILER = env VALGRIND="$(VALGRIND)" $(SHELL) $(top_srcdir)/build-aux/test-wrapper.sh
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = env VIGIL="$(abs_top_builddir)/vigil" JSONCMP="$(abs_top_builddir)/tests/jsoncmp" top_srcdir="$(abs_top_srcdir)" VALGRIND="$(VALGRIND)" $(SHELL)
AM_TESTS_ENVIRONMENT = top_srcdir='$(abs_top_srcdir)'; export top_srcdir; \
	VIGIL_FIXTURES='$(abs_top_srcdir)/tests/fixtures'; export VIGIL_FIXTURES;

if HAVE_CHECK
check_PROGRAMS += %D%/check_batch
%C%_check_batch_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(CJSON_CFLAGS)
%C%_check_batch_LDADD = $(COLLECTORS_LIBS) $(CJSON_LIBS) $(CHECK_LIBS)
TESTS += %D%/check_batch
check_PROGRAMS += %D%/check_drift %D%/check_mmd %D%/check_perf %D%/check_cbpe %D%/check_csv
%C%_check_drift_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
%C%_check_drift_LDADD = $(STATS_LIBS) $(CHECK_LIBS)
%C%_check_mmd_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
%C%_check_mmd_LDADD = $(STATS_LIBS) $(CHECK_LIBS)
%C%_check_perf_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
%C%_check_perf_LDADD = $(STATS_LIBS) $(CHECK_LIBS)
%C%_check_cbpe_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
%C%_check_cbpe_LDADD = $(STATS_LIBS) $(CHECK_LIBS)
%C%_check_csv_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
%C%_check_csv_LDADD = $(COLLECTORS_LIBS) $(CHECK_LIBS)
TESTS += %D%/check_drift %D%/check_mmd %D%/check_perf %D%/check_cbpe %D%/check_csv
endif

# command-line tests: run the real vigil binary on fixtures and compare its JSON with values
# from scipy / scikit-learn (tests/fixtures/gen_cli.py) through jsoncmp
check_PROGRAMS += %D%/jsoncmp
%C%_jsoncmp_CPPFLAGS = $(AM_CPPFLAGS) $(CJSON_CFLAGS)
%C%_jsoncmp_LDADD = $(CJSON_LIBS) -lm
TESTS += %D%/cli_drift.sh %D%/cli_perf.sh %D%/cli_errors.sh
EXTRA_DIST += %D%/fixtures %D%/cli_drift.sh %D%/cli_perf.sh %D%/cli_errors.sh %D%/lib.sh

# integration tests: a throwaway PostgreSQL cluster (scripts/pg.sh) and the real vigil serve
# on a loopback port, driven over HTTP with curl
TESTS += %D%/integration/platform.sh
EXTRA_DIST += %D%/integration/lib.sh %D%/integration/platform.sh
# models, predictions, labels and references (monitor/routes_ingest.c, routes_models.c)
TESTS += %D%/integration/ingest.sh
EXTRA_DIST += %D%/integration/ingest.sh
# drift, performance and estimates from stored data vs the offline commands
# (monitor/routes_analysis.c, store_window.c)
TESTS += %D%/integration/analysis.sh
EXTRA_DIST += %D%/integration/analysis.sh
# the analysis cache, single flight, analysis workers, statement timeout
# (monitor/analysis_cache.c, routes_analysis.c, http.c, sql/0006_data_version.sql)
TESTS += %D%/integration/cache.sh
EXTRA_DIST += %D%/integration/cache.sh

# the service platform's unit tests
if HAVE_CHECK
check_PROGRAMS += %D%/check_cfg %D%/check_metrics %D%/check_analysis_cache
%C%_check_cfg_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
%C%_check_cfg_LDADD = $(MONITOR_LIBS) $(COLLECTORS_LIBS) $(CHECK_LIBS)
%C%_check_metrics_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -pthread
%C%_check_metrics_LDADD = $(MONITOR_LIBS) $(COLLECTORS_LIBS) $(CHECK_LIBS)
%C%_check_analysis_cache_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -pthread
%C%_check_analysis_cache_LDADD = $(MONITOR_LIBS) $(COLLECTORS_LIBS) $(CHECK_LIBS)
TESTS += %D%/check_cfg %D%/check_metrics %D%/check_analysis_cache
endif

# notifications (monitor/notify.c, receiver.c): a webhook sink (tests/webhook_sink.c) and a
# real Alertmanager (Debian's prometheus-alertmanager) on loopback as vigil's receivers
check_PROGRAMS += %D%/webhook_sink
%C%_webhook_sink_CPPFLAGS = $(AM_CPPFLAGS) $(MHD_CFLAGS)
%C%_webhook_sink_CFLAGS = $(AM_CFLAGS) -pthread
%C%_webhook_sink_LDADD = $(MHD_LIBS)
TESTS += %D%/integration/notify.sh
EXTRA_DIST += %D%/integration/notify.sh
if HAVE_CHECK
check_PROGRAMS += %D%/check_notify
%C%_check_notify_CPPFLAGS = $(AM_CPPFLAGS) $(GSL_CFLAGS) $(CJSON_CFLAGS) $(MHD_CFLAGS) \
	$(PQ_CFLAGS) $(CURL_CFLAGS)
%C%_check_notify_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -pthread
%C%_check_notify_LDADD = $(MONITOR_LIBS) $(COLLECTORS_LIBS) $(STATS_LIBS) $(CJSON_LIBS) \
	$(CHECK_LIBS)
TESTS += %D%/check_notify
endif

# alerts (monitor/alert.c, alert_rule.c, silence.c, routes_alerts.c): rules, the engine's
# state machine, acknowledgement, silences and inhibition against a real PostgreSQL
TESTS += %D%/integration/alerts.sh
EXTRA_DIST += %D%/integration/alerts.sh
if HAVE_CHECK
check_PROGRAMS += %D%/check_alert_rule
%C%_check_alert_rule_CPPFLAGS = $(AM_CPPFLAGS) $(CJSON_CFLAGS) $(PQ_CFLAGS)
%C%_check_alert_rule_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -pthread
%C%_check_alert_rule_LDADD = $(MONITOR_LIBS) $(COLLECTORS_LIBS) $(STATS_LIBS) $(CJSON_LIBS) \
	$(CHECK_LIBS)
TESTS += %D%/check_alert_rule
endif

# evaluation (monitor/scheduler.c, evaluate.c, routes_evaluation.c, eval_metrics.c): windows,
# results and /metrics with two servers on one database; the computation and the
# registration's settings on their own
TESTS += %D%/integration/evaluation.sh
EXTRA_DIST += %D%/integration/evaluation.sh
if HAVE_CHECK
check_PROGRAMS += %D%/check_evaluate
%C%_check_evaluate_CPPFLAGS = $(AM_CPPFLAGS) $(CJSON_CFLAGS) $(PQ_CFLAGS)
%C%_check_evaluate_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -pthread
%C%_check_evaluate_LDADD = $(MONITOR_LIBS) $(COLLECTORS_LIBS) $(STATS_LIBS) $(CJSON_LIBS) \
	$(CHECK_LIBS)
TESTS += %D%/check_evaluate
endif
# robustness: kill -9 and PostgreSQL restarts under load lose nothing acknowledged and leave
# no partial batch; bad input never crashes or hangs the server; scripts/demo.sh end to end
TESTS += %D%/integration/durability.sh %D%/integration/badinput.sh %D%/integration/demo.sh
EXTRA_DIST += %D%/integration/durability.sh %D%/integration/badinput.sh \
	%D%/integration/httpfuzz.pl %D%/integration/demo.sh

# end to end on real data: the heart-disease sites through the scheduler and the default
# rules (drift alerts, no page on 50 windows resampled from the reference, inhibition, CBPE)
TESTS += %D%/integration/realdata.sh
EXTRA_DIST += %D%/integration/realdata.sh
