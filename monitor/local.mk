# monitor/local.mk - the vigil binary: CLI subcommands and (later) the daemon
noinst_LIBRARIES += %D%/libmonitor.a
%C%_libmonitor_a_SOURCES = \
	%D%/common.h \
	%D%/cli.c %D%/cli.h \
	%D%/drift_report.c %D%/drift_report.h \
	%D%/perf_report.c %D%/perf_report.h \
	%D%/render.c %D%/render.h
%C%_libmonitor_a_CPPFLAGS = $(AM_CPPFLAGS) $(GSL_CFLAGS) $(CJSON_CFLAGS)
%C%_libmonitor_a_CFLAGS = $(AM_CFLAGS) -O2
MONITOR_LIBS = monitor/libmonitor.a

bin_PROGRAMS += vigil
vigil_SOURCES = %D%/main.c
vigil_CPPFLAGS = $(AM_CPPFLAGS) $(GSL_CFLAGS) $(CJSON_CFLAGS)
vigil_CFLAGS = $(AM_CFLAGS) -O2 -pthread
vigil_LDADD = $(MONITOR_LIBS) $(COLLECTORS_LIBS) $(STATS_LIBS) $(CJSON_LIBS)
