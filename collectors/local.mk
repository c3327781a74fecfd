# collectors/local.mk - outside formats into vigil records (CSV, JSON, FHIR)
noinst_LIBRARIES += %D%/libcollectors.a
%C%_libcollectors_a_SOURCES = \
	%D%/csv.c %D%/csv.h \
	%D%/table.c %D%/table.h
%C%_libcollectors_a_CFLAGS = $(AM_CFLAGS) -O3 -pthread
COLLECTORS_LIBS = collectors/libcollectors.a -lpthread
