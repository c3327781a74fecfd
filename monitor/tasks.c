/* SPDX-License-Identifier: MIT
 * monitor/tasks.c - the periodic maintenance tasks vigil serve runs
 *
 * One line per task: a name for the log, the interval in seconds and the function (see
 * struct mon_server_task in server.h). Each runs on a thread of its own (monitor/server.c)
 * right after the start-up migrations and then every interval; a failing task (< 0) is
 * retried after at most 10 s. Own threads: an evaluation of a large window (seconds) never
 * holds up the notifier's deliveries (pages), and a receiver that times out never holds up
 * the evaluations. Typical tasks: create the next months' predictions partitions ahead of
 * time, drop partitions past retention, claim due evaluations.
 */
#include "config.h"

#include "monitor/server.h"
/* tasks' headers: add yours here */
#include "monitor/alert.h"
#include "monitor/notify.h"
#include "monitor/routes_analysis.h"
#include "monitor/routes_ingest.h"
#include "monitor/scheduler.h"

const struct mon_server_task mon_server_tasks[] = {
	{"partitions", 86400, mon_ingest_partitions_task},
	/* fresh planner statistics after bulk writes (sql/0007_ingest_speed.sql) */
	{"analyze", 10, mon_ingest_analyze_task},
	/* keep the analysis cache's data version cheap to read (sql/0006_data_version.sql) */
	{"data-marks", 60, mon_api_analysis_marks_task},
	{"notify", 1, mon_notify_task}, /* deliver the alert outbox (monitor/notify.h) */
	/* silences and inhibition follow the clock: announce alerts no longer muted */
	{"alerts", 60, mon_alert_refresh_task},
	/* evaluate closed windows (monitor/scheduler.h; its own evaluation_interval_s) */
	{"evaluation", 1, mon_scheduler_task},
	{NULL, 0, NULL}, /* a row without fn is skipped; it keeps the array non-empty */
};

const size_t mon_server_ntasks = sizeof(mon_server_tasks) / sizeof(mon_server_tasks[0]);
