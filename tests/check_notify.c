/* SPDX-License-Identifier: MIT
 * tests/check_notify.c - unit tests for the notifier's pure parts and the receiver settings
 *
 * Back-off, Retry-After, outcome classes, Alertmanager's label fingerprint, the webhook and
 * Alertmanager bodies (monitor/notify.h), and receiver.NAME.* settings through the config
 * loader (monitor/receiver.h, cfg.h). Delivery itself is tested against real receivers in
 * tests/integration/notify.sh.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor/cfg.h"
#include "monitor/notify.h"
#include "monitor/receiver.h"

START_TEST(test_backoff_ceiling_doubles_to_cap)
{
	/* u just under 1: the ceiling itself, 1 s doubling per attempt, capped at 5 min */
	const double want[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300};
	const double u = 1.0 - 1e-12;

	for (unsigned a = 1; a <= sizeof(want) / sizeof(want[0]); a++)
		ck_assert_double_eq_tol(mon_notify_backoff(a, u, 0), want[a - 1], 1e-6);
	ck_assert_double_eq_tol(mon_notify_backoff(1000000, u, 0), 300, 1e-6);
	ck_assert_double_eq_tol(mon_notify_backoff(0, u, 0), 1, 1e-6);
}
END_TEST

START_TEST(test_backoff_full_jitter)
{
	ck_assert_double_eq_tol(mon_notify_backoff(3, 0.5, 0), 2, 1e-12);
	ck_assert_double_eq_tol(mon_notify_backoff(3, 0.0, 0), 0, 1e-12);
	ck_assert_double_eq_tol(mon_notify_backoff(3, 0.25, 0), 1, 1e-12);
	/* out-of-range u is taken as 0, never a longer wait than the ceiling */
	ck_assert_double_eq_tol(mon_notify_backoff(3, 1.5, 0), 0, 1e-12);
}
END_TEST

START_TEST(test_backoff_retry_after_is_a_floor)
{
	ck_assert_double_eq_tol(mon_notify_backoff(1, 0.5, 7), 7, 1e-12);
	ck_assert_double_eq_tol(mon_notify_backoff(10, 0.5, 7), 150, 1e-12);
	ck_assert_double_eq_tol(mon_notify_backoff(1, 0.5, 1e9), MON_NOTIFY_RETRY_AFTER_MAX_S,
				1e-12);
}
END_TEST

START_TEST(test_parse_retry_after_forms)
{
	/* Wed, 21 Oct 2015 07:28:00 GMT = 1445412480 */
	const time_t when = 1445412480;

	ck_assert_double_eq_tol(mon_notify_parse_retry_after("5", when), 5, 1e-12);
	ck_assert_double_eq_tol(mon_notify_parse_retry_after(" 120 ", when), 120, 1e-12);
	ck_assert_double_eq_tol(mon_notify_parse_retry_after("0", when), 0, 1e-12);
	ck_assert_double_eq_tol(mon_notify_parse_retry_after("abc", when), -1, 1e-12);
	ck_assert_double_eq_tol(mon_notify_parse_retry_after("5x", when), -1, 1e-12);
	ck_assert_double_eq_tol(
		mon_notify_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", when - 30), 30,
		1e-12);
	ck_assert_double_eq_tol(
		mon_notify_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", when + 30), 0, 1e-12);
}
END_TEST

START_TEST(test_classify_statuses)
{
	const long delivered[] = {200, 201, 202, 204, 299};
	const long retry[] = {0, 408, 429, 500, 502, 503, 504, 599};
	const long failed[] = {100, 301, 302, 307, 400, 401, 403, 404, 409, 410, 413, 422, 600};

	for (size_t i = 0; i < sizeof(delivered) / sizeof(delivered[0]); i++)
		ck_assert_int_eq(mon_notify_classify(delivered[i]), MON_NOTIFY_DELIVERED);
	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
		ck_assert_int_eq(mon_notify_classify(retry[i]), MON_NOTIFY_RETRY);
	for (size_t i = 0; i < sizeof(failed) / sizeof(failed[0]); i++)
		ck_assert_int_eq(mon_notify_classify(failed[i]), MON_NOTIFY_FAILED);
}
END_TEST

/* Golden values: what Alertmanager 0.25.0 (Debian prometheus-alertmanager 0.25.0-1+b4)
 * reported as "fingerprint" from GET /api/v2/alerts after these label sets were posted. */
START_TEST(test_fingerprint_matches_alertmanager)
{
	cJSON *l = cJSON_Parse("{\"alertname\":\"VigilTest\",\"model\":\"sepsis\","
			       "\"severity\":\"page\"}");
	cJSON *order = cJSON_Parse("{\"severity\":\"page\",\"model\":\"sepsis\","
				   "\"alertname\":\"VigilTest\"}");
	cJSON *empty = cJSON_CreateObject();

	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(mon_notify_fingerprint(l), 0xc89feb46c574bdedULL);
	ck_assert_uint_eq(mon_notify_fingerprint(order), 0xc89feb46c574bdedULL);
	ck_assert_uint_eq(mon_notify_fingerprint(empty), 14695981039346656037ULL);
	cJSON_Delete(l);
	cJSON_Delete(order);
	cJSON_Delete(empty);
}
END_TEST

static const char payload_json[] =
	"{\"labels\":{\"alertname\":\"sensitivity-drop\",\"model\":\"sepsis\",\"rule\":\"r1\","
	"\"scope\":\"performance\",\"feature\":null,\"segment\":\"sex\",\"segment_value\":\"F\","
	"\"severity\":\"page\",\"empty\":\"\",\"n\":3},"
	"\"annotations\":{\"summary\":\"sensitivity dropped\",\"description\":\"d\"},"
	"\"startsAt\":\"2025-01-02T03:04:05Z\",\"endsAt\":null,"
	"\"generatorURL\":\"http://vigil/alerts/1\"}";

START_TEST(test_labels_strings_only)
{
	cJSON *p = cJSON_Parse(payload_json);
	cJSON *l = mon_notify_labels(p);

	ck_assert_ptr_null(cJSON_GetObjectItem(l, "feature"));
	ck_assert_ptr_null(cJSON_GetObjectItem(l, "empty"));
	ck_assert_str_eq(cJSON_GetObjectItem(l, "n")->valuestring, "3");
	ck_assert_str_eq(cJSON_GetObjectItem(l, "segment_value")->valuestring, "F");
	ck_assert_int_eq(cJSON_GetArraySize(l), 8);
	cJSON_Delete(l);
	cJSON_Delete(p);
}
END_TEST

START_TEST(test_webhook_body_firing)
{
	cJSON *p = cJSON_Parse(payload_json);
	char *s = mon_notify_webhook_body("firing", p, "hook", "https://vigil.example");
	cJSON *b = cJSON_Parse(s), *a, *l;
	char fp[17];

	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(cJSON_GetObjectItem(b, "version")->valuestring, "4");
	ck_assert_str_eq(cJSON_GetObjectItem(b, "status")->valuestring, "firing");
	ck_assert_str_eq(cJSON_GetObjectItem(b, "receiver")->valuestring, "hook");
	ck_assert_str_eq(cJSON_GetObjectItem(b, "externalURL")->valuestring,
			 "https://vigil.example");
	ck_assert_str_eq(cJSON_GetObjectItem(b, "groupKey")->valuestring,
			 "{}:{alertname=\"sensitivity-drop\", model=\"sepsis\"}");
	ck_assert_int_eq(cJSON_GetObjectItem(b, "truncatedAlerts")->valueint, 0);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(b, "groupLabels")), 2);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "commonAnnotations"), "summary")
				 ->valuestring,
			 "sensitivity dropped");
	a = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "alerts"), 0);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(b, "alerts")), 1);
	ck_assert_str_eq(cJSON_GetObjectItem(a, "status")->valuestring, "firing");
	ck_assert_str_eq(cJSON_GetObjectItem(a, "startsAt")->valuestring, "2025-01-02T03:04:05Z");
	ck_assert_str_eq(cJSON_GetObjectItem(a, "endsAt")->valuestring, "0001-01-01T00:00:00Z");
	ck_assert_str_eq(cJSON_GetObjectItem(a, "generatorURL")->valuestring,
			 "http://vigil/alerts/1");
	l = mon_notify_labels(p);
	snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)mon_notify_fingerprint(l));
	ck_assert_str_eq(cJSON_GetObjectItem(a, "fingerprint")->valuestring, fp);
	ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "labels"), "feature"));
	cJSON_Delete(l);
	cJSON_Delete(b);
	cJSON_free(s);
	cJSON_Delete(p);
}
END_TEST

START_TEST(test_webhook_body_resolved_and_ack)
{
	cJSON *p = cJSON_Parse(payload_json);
	cJSON *b, *a;
	char *s;

	cJSON_ReplaceItemInObject(p, "endsAt", cJSON_CreateString("2025-01-02T05:00:00Z"));
	s = mon_notify_webhook_body("resolved", p, "hook", "");
	b = cJSON_Parse(s);
	a = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "alerts"), 0);
	ck_assert_str_eq(cJSON_GetObjectItem(b, "status")->valuestring, "resolved");
	ck_assert_str_eq(cJSON_GetObjectItem(a, "status")->valuestring, "resolved");
	ck_assert_str_eq(cJSON_GetObjectItem(a, "endsAt")->valuestring, "2025-01-02T05:00:00Z");
	cJSON_Delete(b);
	cJSON_free(s);
	/* Alertmanager's format knows firing and resolved only: an acknowledgement is firing */
	s = mon_notify_webhook_body("acknowledged", p, "hook", "");
	b = cJSON_Parse(s);
	ck_assert_str_eq(cJSON_GetObjectItem(b, "status")->valuestring, "firing");
	cJSON_Delete(b);
	cJSON_free(s);
	ck_assert_ptr_null(
		mon_notify_webhook_body("firing", cJSON_GetObjectItem(p, "startsAt"), "hook", ""));
	cJSON_Delete(p);
}
END_TEST

START_TEST(test_am_alert_ends_at)
{
	cJSON *p = cJSON_Parse(payload_json);
	cJSON *arr = cJSON_CreateArray(), *a;
	const time_t now = 1735787045; /* 2025-01-02T03:04:05Z */

	ck_assert_int_eq(mon_notify_am_alert(arr, "firing", p, "", now, 240), 0);
	a = cJSON_GetArrayItem(arr, 0);
	ck_assert_str_eq(cJSON_GetObjectItem(a, "startsAt")->valuestring, "2025-01-02T03:04:05Z");
	ck_assert_str_eq(cJSON_GetObjectItem(a, "endsAt")->valuestring, "2025-01-02T03:08:05Z");
	ck_assert_ptr_null(cJSON_GetObjectItem(a, "status"));
	ck_assert_ptr_null(cJSON_GetObjectItem(a, "fingerprint"));
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "labels"), "alertname"));
	ck_assert_int_eq(mon_notify_am_alert(arr, "resolved", p, "", now, 240), 0);
	a = cJSON_GetArrayItem(arr, 1);
	ck_assert_str_eq(cJSON_GetObjectItem(a, "endsAt")->valuestring, "2025-01-02T03:04:05Z");
	ck_assert_int_eq(mon_notify_am_alert(arr, "firing", NULL, "", now, 240), -EINVAL);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 2);
	/* the alert engine writes generatorURL relative to vigil: made absolute when it can */
	cJSON_ReplaceItemInObject(p, "generatorURL", cJSON_CreateString("/v1/alerts/7"));
	ck_assert_int_eq(mon_notify_am_alert(arr, "firing", p, "https://vigil.example/", now, 1),
			 0);
	ck_assert_str_eq(
		cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 2), "generatorURL")->valuestring,
		"https://vigil.example/v1/alerts/7");
	ck_assert_int_eq(mon_notify_am_alert(arr, "firing", p, "", now, 1), 0);
	ck_assert_str_eq(
		cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 3), "generatorURL")->valuestring,
		"/v1/alerts/7");
	cJSON_Delete(arr);
	cJSON_Delete(p);
}
END_TEST

/* --- receivers ------------------------------------------------------------------------------ */

static char cfg_path[4096];

static void write_cfg(const char *text)
{
	int fd;
	FILE *f;

	snprintf(cfg_path, sizeof(cfg_path), "%s/check_notify.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(cfg_path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static int load(const char *text, const char *const *sets, size_t nsets, struct mon_cfg **cfg,
		char *err, size_t errlen)
{
	int ret;

	write_cfg(text);
	ret = mon_cfg_load(cfg_path, sets, nsets, cfg, err, errlen);
	unlink(cfg_path);
	return ret;
}

START_TEST(test_receivers_from_file_and_flags)
{
	const char *sets[] = {"receiver.am.timeout_s=3"};
	struct mon_cfg *cfg = NULL;
	const struct mon_receiver *r;
	char err[512] = "";

	ck_assert_int_eq(load("receiver.hook.type = webhook\n"
			      "receiver.hook.url = \"http://u:secret@127.0.0.1:9/hook\"\n"
			      "receiver.am.url = http://127.0.0.1:9093 # comment\n"
			      "receiver.am.type = alertmanager\n"
			      "receiver.am.max_attempts = 7\n"
			      "notify_resend_s = 5\n",
			      sets, 1, &cfg, err, sizeof(err)),
			 0);
	ck_assert_int_eq(cfg->receivers.n, 2);
	ck_assert_uint_eq(cfg->notify_resend_s, 5);
	r = mon_receivers_find(&cfg->receivers, "hook");
	ck_assert_int_eq(r->type, MON_RECEIVER_WEBHOOK);
	ck_assert_uint_eq(r->timeout_s, 10);
	ck_assert_uint_eq(r->max_attempts, 100);
	r = mon_receivers_find(&cfg->receivers, "am");
	ck_assert_int_eq(r->type, MON_RECEIVER_ALERTMANAGER);
	ck_assert_str_eq(r->url, "http://127.0.0.1:9093");
	ck_assert_uint_eq(r->timeout_s, 3);
	ck_assert_uint_eq(r->max_attempts, 7);
	ck_assert_ptr_null(mon_receivers_find(&cfg->receivers, "nope"));
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		mon_cfg_print(cfg, f);
		fclose(f);
		ck_assert_ptr_null(strstr(buf, "secret"));
		ck_assert_ptr_nonnull(
			strstr(buf, "receiver.hook.url = \"http://u:***@127.0.0.1:9/hook\""));
		ck_assert_ptr_nonnull(strstr(buf, "receiver.am.type = alertmanager"));
		free(buf);
	}
	{
		struct mon_cfg *again = mon_cfg_merge_reload(cfg, cfg);

		ck_assert(mon_receivers_equal(&again->receivers, &cfg->receivers));
		mon_cfg_free(again);
	}
	mon_cfg_free(cfg);
}
END_TEST

START_TEST(test_receivers_rejected)
{
	static const char *const bad[] = {
		"receiver.hook.type = webhook\n",                               /* no url */
		"receiver.hook.url = http://127.0.0.1:9\n",                     /* no type */
		"receiver.hook.type = slack\n",                                 /* unknown type */
		"receiver.hook.type = webhook\nreceiver.hook.url = ftp://h/\n", /* scheme */
		"receiver.hook.type = webhook\nreceiver.hook.url = http://\n",  /* no host */
		"receiver.bad name.type = webhook\n",
		"receiver..type = webhook\n",
		"receiver.hook = webhook\n",
		"receiver.hook.colour = blue\n",
		"receiver.hook.timeout_s = 0\n",
		"receiver.hook.timeout_s = 301\n",
		"receiver.hook.max_attempts = x\n",
	};
	struct mon_cfg *cfg = NULL;
	char err[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(load(bad[i], NULL, 0, &cfg, err, sizeof(err)) == -EINVAL,
			      "accepted: %s", bad[i]);
		ck_assert_ptr_null(cfg);
		ck_assert_msg(strstr(err, "receiver") != NULL, "message without the key: %s", err);
	}
}
END_TEST

START_TEST(test_receivers_none_by_default)
{
	struct mon_cfg *cfg = NULL;
	char err[256];

	ck_assert_int_eq(load("threads = 2\n", NULL, 0, &cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg->receivers.n, 0);
	ck_assert_uint_eq(cfg->notify_resend_s, 60);
	mon_cfg_free(cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("notify");
	TCase *tc;
	SRunner *sr;
	int failed;

	tc = tcase_create("backoff");
	tcase_add_test(tc, test_backoff_ceiling_doubles_to_cap);
	tcase_add_test(tc, test_backoff_full_jitter);
	tcase_add_test(tc, test_backoff_retry_after_is_a_floor);
	suite_add_tcase(s, tc);
	tc = tcase_create("parse_retry_after");
	tcase_add_test(tc, test_parse_retry_after_forms);
	suite_add_tcase(s, tc);
	tc = tcase_create("classify");
	tcase_add_test(tc, test_classify_statuses);
	suite_add_tcase(s, tc);
	tc = tcase_create("fingerprint");
	tcase_add_test(tc, test_fingerprint_matches_alertmanager);
	suite_add_tcase(s, tc);
	tc = tcase_create("bodies");
	tcase_add_test(tc, test_labels_strings_only);
	tcase_add_test(tc, test_webhook_body_firing);
	tcase_add_test(tc, test_webhook_body_resolved_and_ack);
	tcase_add_test(tc, test_am_alert_ends_at);
	suite_add_tcase(s, tc);
	tc = tcase_create("receivers");
	tcase_add_test(tc, test_receivers_from_file_and_flags);
	tcase_add_test(tc, test_receivers_rejected);
	tcase_add_test(tc, test_receivers_none_by_default);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
