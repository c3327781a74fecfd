# sql/local.mk - the schema migrations, installed to $(pkgdatadir)/sql and applied in name
# order by `vigil migrate` and at `vigil serve` start (see monitor/migrate.h)
sqldir = $(pkgdatadir)/sql
dist_sql_DATA = \
	%D%/0001_init.sql \
	%D%/0002_ingest.sql
