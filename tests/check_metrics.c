/* SPDX-License-Identifier: MIT
 * tests/check_metrics.c - unit tests for monitor/metrics (suite "mon_metrics")
 *
 * The text exposition: request counters keyed by route pattern, method and status,
 * cumulative histogram buckets, label escaping, the model cap, and counts from several
 * threads at once adding up exactly.
 */
#include "config.h"

#include "monitor/metrics.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const pats[] = {"/healthz", "/v1/models/{model}/drift"};

static char *render(struct mon_metrics *m)
{
	char *text = NULL;
	size_t len = 0;

	ck_assert_int_eq(mon_metrics_render(m, pats, &text, &len), 0);
	ck_assert_uint_eq(strlen(text), len);
	return text;
}

START_TEST(test_mon_metrics_render_requests)
{
	struct mon_metrics *m = mon_metrics_new(2);
	char *t;

	mon_metrics_observe_request(m, 0, "GET", 200, 0.003);
	mon_metrics_observe_request(m, 0, "GET", 200, 0.2);
	mon_metrics_observe_request(m, 1, "GET", 503, 20.0);
	mon_metrics_observe_request(m, MON_METRICS_UNMATCHED, "BREW", 404, 0.0);
	t = render(m);
	ck_assert_ptr_nonnull(strstr(
		t,
		"vigil_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(t,
				     "vigil_http_requests_total{route=\"/v1/models/{model}/drift\","
				     "method=\"GET\",status=\"503\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "vigil_http_requests_total{route=\"unmatched\",method="
					"\"other\",status=\"404\"} 1\n"));
	/* cumulative buckets: 0.003 <= 0.005, 0.2 <= 0.25 */
	ck_assert_ptr_nonnull(strstr(t, "vigil_http_request_duration_seconds_bucket{route=\"/"
					"healthz\",le=\"0.0025\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(
		t,
		"vigil_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.005\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(
		t,
		"vigil_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.25\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "vigil_http_request_duration_seconds_bucket{route=\"/v1/"
					"models/{model}/drift\",le=\"10\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(t, "vigil_http_request_duration_seconds_bucket{route=\"/v1/"
					"models/{model}/drift\",le=\"+Inf\"} 1\n"));
	ck_assert_ptr_nonnull(
		strstr(t, "vigil_http_request_duration_seconds_count{route=\"/healthz\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "# TYPE vigil_http_request_duration_seconds histogram\n"));
	free(t);
	mon_metrics_free(m);
}
END_TEST

START_TEST(test_mon_metrics_add_ingested_escapes_labels)
{
	struct mon_metrics *m = mon_metrics_new(2);
	char *t;

	mon_metrics_add_ingested(m, "sepsis \"v2\"\\x", "prediction", 10, 2);
	mon_metrics_add_ingested(m, "sepsis \"v2\"\\x", "prediction", 5, 0);
	mon_metrics_add_ingested(m, "sepsis \"v2\"\\x", "label", 1, 1);
	mon_metrics_set_db(m, 7, 0);
	t = render(m);
	ck_assert_ptr_nonnull(
		strstr(t, "vigil_ingested_records_total{model=\"sepsis \\\"v2\\\"\\\\x\","
			  "kind=\"prediction\"} 15\n"));
	ck_assert_ptr_nonnull(
		strstr(t, "vigil_rejected_records_total{model=\"sepsis \\\"v2\\\"\\\\x\","
			  "kind=\"prediction\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "vigil_db_errors_total 7\n"));
	ck_assert_ptr_nonnull(strstr(t, "vigil_db_up 0\n"));
	free(t);
	mon_metrics_free(m);
}
END_TEST

START_TEST(test_mon_metrics_add_ingested_caps_models)
{
	struct mon_metrics *m = mon_metrics_new(1);
	char name[32], *t;

	for (int i = 0; i < MON_METRICS_MAX_MODELS + 10; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		mon_metrics_add_ingested(m, name, "prediction", 1, 0);
	}
	t = render(m);
	ck_assert_ptr_nonnull(strstr(
		t, "vigil_ingested_records_total{model=\"other\",kind=\"prediction\"} 10\n"));
	free(t);
	mon_metrics_free(m);
}
END_TEST

#define NTHREADS 4
#define PER_THREAD 20000

static void *hammer(void *arg)
{
	struct mon_metrics *m = arg;

	for (int i = 0; i < PER_THREAD; i++)
		mon_metrics_observe_request(m, (size_t)(i & 1), i % 3 ? "GET" : "POST",
					    200 + (i % 5), 0.001);
	return NULL;
}

START_TEST(test_mon_metrics_observe_request_threads)
{
	struct mon_metrics *m = mon_metrics_new(2);
	pthread_t th[NTHREADS];
	unsigned long total = 0;
	char *t, *p;

	for (int i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, m), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	t = render(m);
	for (p = strstr(t, "\nvigil_http_requests_total{"); p;
	     p = strstr(p + 1, "\nvigil_http_requests_total{"))
		total += strtoul(strstr(p, "} ") + 2, NULL, 10); /* "{model}" has a brace too */
	ck_assert_uint_eq(total, (unsigned long)NTHREADS * PER_THREAD);
	free(t);
	mon_metrics_free(m);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("mon_metrics");
	TCase *tc;

	tc = tcase_create("render");
	tcase_add_test(tc, test_mon_metrics_render_requests);
	suite_add_tcase(s, tc);
	tc = tcase_create("add_ingested");
	tcase_add_test(tc, test_mon_metrics_add_ingested_escapes_labels);
	tcase_add_test(tc, test_mon_metrics_add_ingested_caps_models);
	suite_add_tcase(s, tc);
	tc = tcase_create("observe_request");
	tcase_add_test(tc, test_mon_metrics_observe_request_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
