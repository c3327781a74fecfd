# stats/local.mk - the statistics core: pure computation, libc + GSL (+ CBLAS) only
noinst_LIBRARIES += %D%/libstats.a
%C%_libstats_a_SOURCES = \
	%D%/common.h \
	%D%/sort.c %D%/sort.h \
	%D%/ks.c %D%/ks.h \
	%D%/psi.c %D%/psi.h \
	%D%/wasserstein.c %D%/wasserstein.h \
	%D%/chisq.c %D%/chisq.h \
	%D%/multitest.c %D%/multitest.h \
	%D%/mmd.c %D%/mmd.h \
	%D%/interval.c %D%/interval.h \
	%D%/auroc.c %D%/auroc.h \
	%D%/calib.c %D%/calib.h \
	%D%/perf.c %D%/perf.h \
	%D%/isotonic.c %D%/isotonic.h \
	%D%/cbpe.c %D%/cbpe.h
%C%_libstats_a_CPPFLAGS = $(AM_CPPFLAGS) $(GSL_CFLAGS)
%C%_libstats_a_CFLAGS = $(AM_CFLAGS) -pthread
STATS_LIBS = stats/libstats.a $(GSL_LIBS) -lm -lpthread
