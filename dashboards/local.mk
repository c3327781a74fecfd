# dashboards/local.mk - filled in by the monitor service
