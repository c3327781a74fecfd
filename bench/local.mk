# bench/local.mk - benchmarks beside their reference implementations: `make bench`
EXTRA_PROGRAMS += %D%/bench_stats
%C%_bench_stats_SOURCES = %D%/bench_stats.c
%C%_bench_stats_CFLAGS = $(AM_CFLAGS) -O3
%C%_bench_stats_LDADD = $(STATS_LIBS)
CLEANFILES += $(EXTRA_PROGRAMS)
EXTRA_DIST += %D%/run.sh %D%/ref_stats.py %D%/gen_data.py

bench: vigil %D%/bench_stats$(EXEEXT)
	VIGIL=$(abs_top_builddir)/vigil BENCH_STATS=$(abs_top_builddir)/bench/bench_stats \
		$(SHELL) $(top_srcdir)/bench/run.sh

# the service (bench/service.sh): ingest beside psql COPY, GET performance under wrk, peak
# memory. `make bench` runs it before the cases above (it needs PostgreSQL and wrk:
# scripts/deps.sh --bench); `make bench-service` runs it alone.
bench: bench-service
bench-service: vigil %D%/bench_stats$(EXEEXT)
	VIGIL=$(abs_top_builddir)/vigil $(SHELL) $(top_srcdir)/bench/service.sh
EXTRA_DIST += %D%/service.sh %D%/ingest.sh %D%/gen_service.pl %D%/wrk_auth.lua
.PHONY: bench-service

# the scheduler's evaluation of one window at 10^4, 10^5 and 10^6 predictions
# (bench/eval.sh; needs PostgreSQL). `make bench` runs it too; `make bench-eval` alone.
bench: bench-eval
bench-eval: vigil
	VIGIL=$(abs_top_builddir)/vigil $(SHELL) $(top_srcdir)/bench/eval.sh
EXTRA_DIST += %D%/eval.sh
.PHONY: bench-eval
