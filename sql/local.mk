# sql/local.mk - the schema migrations, installed to $(pkgdatadir)/sql and applied in name
# order by `vigil migrate` and at `vigil serve` start (see monitor/migrate.h)
sqldir = $(pkgdatadir)/sql
dist_sql_DATA = \
	%D%/0001_init.sql \
	%D%/0002_ingest.sql
# evaluation windows and results (monitor/scheduler.c)
dist_sql_DATA += %D%/0003_evaluation.sql
# the notifier's delivery state (monitor/notify.c)
dist_sql_DATA += %D%/0005_notify.sql
# alert rules, alerts, silences and the notification outbox (monitor/alert.c)
dist_sql_DATA += %D%/0004_alerts.sql
# the per-model data version the analysis cache keys on (monitor/analysis_cache.h)
dist_sql_DATA += %D%/0006_data_version.sql
# cheaper registry key and window_events triggers for bulk ingest (monitor/store_ingest.c)
dist_sql_DATA += %D%/0007_ingest_speed.sql
