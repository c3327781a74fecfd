# monitor/local.mk - the vigil binary: CLI subcommands and (later) the daemon
bin_PROGRAMS += vigil
vigil_SOURCES = \
	%D%/main.c
vigil_CPPFLAGS = $(AM_CPPFLAGS) $(GSL_CFLAGS) $(CJSON_CFLAGS)
vigil_CFLAGS = $(AM_CFLAGS) -O2 -pthread
vigil_LDADD = $(COLLECTORS_LIBS) $(STATS_LIBS) $(CJSON_LIBS)
