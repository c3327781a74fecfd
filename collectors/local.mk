# collectors/local.mk - outside formats into vigil records (CSV, JSON, FHIR)
noinst_LIBRARIES += %D%/libcollectors.a
%C%_libcollectors_a_SOURCES = \
	%D%/csv.c %D%/csv.h \
	%D%/table.c %D%/table.h \
	%D%/record.c %D%/record.h \
	%D%/batch.c %D%/batch.h
%C%_libcollectors_a_CFLAGS = $(AM_CFLAGS) -pthread
%C%_libcollectors_a_CPPFLAGS = $(AM_CPPFLAGS) $(CJSON_CFLAGS)
COLLECTORS_LIBS = collectors/libcollectors.a -lpthread
