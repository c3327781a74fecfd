/* SPDX-License-Identifier: MIT
 * tests/check_cfg.c - unit tests for monitor/cfg (suite "mon_cfg")
 *
 * Precedence (flag > environment > file > default), validation messages that name the key
 * and the source, the file syntax, listen-address splitting and reload merging. Every
 * VIGIL_* variable is cleared before each test so the caller's environment cannot leak in.
 */
#include "config.h"

#include "monitor/cfg.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static char path[256];

static void setup(void)
{
	int fd;

	for (;;) {
		char **e;
		int found = 0;

		for (e = environ; *e; e++) {
			if (!strncmp(*e, "VIGIL_", 6)) {
				char name[128];

				snprintf(name, sizeof(name), "%.*s", (int)strcspn(*e, "="), *e);
				unsetenv(name);
				found = 1;
				break;
			}
		}
		if (!found)
			break;
	}
	snprintf(path, sizeof(path), "%s/check_cfg.XXXXXX",
		 getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

static void teardown(void)
{
	unlink(path);
}

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_mon_cfg_load_defaults)
{
	struct mon_cfg *cfg = NULL;
	char err[256] = "";

	ck_assert_int_eq(mon_cfg_load(NULL, NULL, 0, &cfg, err, sizeof(err)), 0);
	ck_assert_str_eq(cfg->listen, "127.0.0.1:8080");
	ck_assert_str_eq(cfg->database_url, "");
	ck_assert_uint_eq(cfg->max_body_bytes, 16u * 1024 * 1024);
	ck_assert_uint_eq(cfg->max_batch_records, 100000);
	ck_assert_uint_eq(cfg->max_json_depth, 32);
	ck_assert_int_eq(cfg->log_level, MON_LOG_INFO);
	mon_cfg_free(cfg);
}
END_TEST

START_TEST(test_mon_cfg_load_precedence)
{
	const char *sets[] = {"threads=7"};
	struct mon_cfg *cfg = NULL;
	char err[256] = "";

	write_file("# comment\n\nthreads = 3   # trailing\nmax_json_depth=9\n"
		   "database_url = \"postgresql://u@h/db # not a comment\"\n");
	ck_assert_int_eq(mon_cfg_load(path, NULL, 0, &cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg->threads, 3);
	ck_assert_uint_eq(cfg->max_json_depth, 9);
	ck_assert_str_eq(cfg->database_url, "postgresql://u@h/db # not a comment");
	mon_cfg_free(cfg);

	setenv("VIGIL_THREADS", "5", 1);
	ck_assert_int_eq(mon_cfg_load(path, NULL, 0, &cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg->threads, 5);
	mon_cfg_free(cfg);

	ck_assert_int_eq(mon_cfg_load(path, sets, 1, &cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg->threads, 7);
	ck_assert_uint_eq(cfg->max_json_depth, 9);
	mon_cfg_free(cfg);

	setenv("VIGIL_CONFIG", path, 1);
	unsetenv("VIGIL_THREADS");
	ck_assert_int_eq(mon_cfg_load(NULL, NULL, 0, &cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg->threads, 3);
	mon_cfg_free(cfg);
}
END_TEST

START_TEST(test_mon_cfg_load_sizes)
{
	const char *sets[] = {"max_body_bytes=4KiB", "max_batch_records=2M"};
	struct mon_cfg *cfg = NULL;
	char err[256] = "";

	ck_assert_int_eq(mon_cfg_load(NULL, sets, 2, &cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg->max_body_bytes, 4096);
	ck_assert_uint_eq(cfg->max_batch_records, 2u * 1024 * 1024);
	mon_cfg_free(cfg);
}
END_TEST

START_TEST(test_mon_cfg_load_errors_name_key_and_source)
{
	const char *zero[] = {"threads=0"};
	const char *unknown[] = {"colour=blue"};
	const char *noeq[] = {"threads"};
	struct mon_cfg *cfg = NULL;
	char err[256] = "";

	setenv("VIGIL_MAX_BODY_BYTES", "lots", 1);
	ck_assert_int_eq(mon_cfg_load(NULL, NULL, 0, &cfg, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(cfg);
	ck_assert_ptr_nonnull(strstr(err, "max_body_bytes"));
	ck_assert_ptr_nonnull(strstr(err, "VIGIL_MAX_BODY_BYTES"));
	unsetenv("VIGIL_MAX_BODY_BYTES");

	ck_assert_int_eq(mon_cfg_load(NULL, zero, 1, &cfg, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "threads"));
	ck_assert_ptr_nonnull(strstr(err, "command line"));
	ck_assert_int_eq(mon_cfg_load(NULL, unknown, 1, &cfg, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "colour"));
	ck_assert_int_eq(mon_cfg_load(NULL, noeq, 1, &cfg, err, sizeof(err)), -EINVAL);

	write_file("threads = 2\nlog_level = loud\n");
	ck_assert_int_eq(mon_cfg_load(path, NULL, 0, &cfg, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "log_level"));
	ck_assert_ptr_nonnull(strstr(err, "line 2"));
	write_file("just words\n");
	ck_assert_int_eq(mon_cfg_load(path, NULL, 0, &cfg, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, ":1:"));
	ck_assert_int_eq(mon_cfg_load("/nonexistent/vigil.conf", NULL, 0, &cfg, err, sizeof(err)),
			 -ENOENT);
}
END_TEST

START_TEST(test_mon_cfg_split_listen)
{
	char host[64];
	unsigned port = 0;

	ck_assert_int_eq(mon_cfg_split_listen("127.0.0.1:8080", host, sizeof(host), &port), 0);
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_uint_eq(port, 8080);
	ck_assert_int_eq(mon_cfg_split_listen("[::1]:0", host, sizeof(host), &port), 0);
	ck_assert_str_eq(host, "::1");
	ck_assert_uint_eq(port, 0);
	ck_assert_int_eq(mon_cfg_split_listen("::1:80", host, sizeof(host), &port), -EINVAL);
	ck_assert_int_eq(mon_cfg_split_listen("host", host, sizeof(host), &port), -EINVAL);
	ck_assert_int_eq(mon_cfg_split_listen(":80", host, sizeof(host), &port), -EINVAL);
	ck_assert_int_eq(mon_cfg_split_listen("h:65536", host, sizeof(host), &port), -EINVAL);
	ck_assert_int_eq(mon_cfg_split_listen("h:8x", host, sizeof(host), &port), -EINVAL);
}
END_TEST

START_TEST(test_mon_cfg_merge_reload_keeps_fixed_keys)
{
	const char *a[] = {"threads=2", "max_body_bytes=1000", "log_level=warning"};
	const char *b[] = {"threads=9", "max_body_bytes=2000", "log_level=debug"};
	struct mon_cfg *old = NULL, *next = NULL, *m;
	char err[256];

	ck_assert_int_eq(mon_cfg_load(NULL, a, 3, &old, err, sizeof(err)), 0);
	ck_assert_int_eq(mon_cfg_load(NULL, b, 3, &next, err, sizeof(err)), 0);
	m = mon_cfg_merge_reload(old, next);
	ck_assert_uint_eq(m->threads, 2);           /* not reloadable */
	ck_assert_uint_eq(m->max_body_bytes, 2000); /* reloadable */
	ck_assert_int_eq(m->log_level, MON_LOG_DEBUG);
	ck_assert_str_eq(m->listen, old->listen);
	mon_cfg_free(m);
	mon_cfg_free(old);
	mon_cfg_free(next);
}
END_TEST

static Suite *cfg_suite(void)
{
	Suite *s = suite_create("mon_cfg");
	TCase *tc;

	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_mon_cfg_load_defaults);
	tcase_add_test(tc, test_mon_cfg_load_precedence);
	tcase_add_test(tc, test_mon_cfg_load_sizes);
	tcase_add_test(tc, test_mon_cfg_load_errors_name_key_and_source);
	suite_add_tcase(s, tc);
	tc = tcase_create("split_listen");
	tcase_add_test(tc, test_mon_cfg_split_listen);
	suite_add_tcase(s, tc);
	tc = tcase_create("merge_reload");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_mon_cfg_merge_reload_keeps_fixed_keys);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cfg_suite());
	int failed;

	mon_log_set_level(MON_LOG_ERR); /* reload notes are expected */
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
