/* SPDX-License-Identifier: MIT
 * tests/check_analysis_cache.c - unit tests for monitor/analysis_cache (suite "mon_acache")
 *
 * Hits after a kept 200, single flight (one leader, waiters woken once with the leader's
 * answer, or NULL), least-recently-used eviction by entries and by bytes, oversized
 * answers shared but not kept, and a cache of 0 bytes that keeps nothing yet still shares.
 */
#include "config.h"

#include "monitor/analysis_cache.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct mon_acache_val *val(const char *body)
{
	char *b = strdup(body);

	ck_assert_ptr_nonnull(b);
	return mon_acache_val_new(200, 0, b, strlen(b), "ok", NULL);
}

struct woken {
	int calls;
	struct mon_acache_val *v;
};

static void wake(void *arg, struct mon_acache_val *v)
{
	struct woken *w = arg;

	w->calls++;
	mon_acache_val_unref(w->v);
	w->v = v;
}

/* Compute key as a leader and keep body. */
static void fill(struct mon_acache *c, const char *key, const char *body)
{
	struct mon_acache_val *hit, *v;
	struct mon_acache_flight *f;

	ck_assert_int_eq(mon_acache_begin(c, key, wake, NULL, &hit, &f), MON_ACACHE_LEAD);
	v = val(body);
	mon_acache_end(c, f, v, 1);
	mon_acache_val_unref(v);
}

static int kept(struct mon_acache *c, const char *key)
{
	struct mon_acache_val *hit;
	struct mon_acache_flight *f;
	enum mon_acache_result r = mon_acache_begin(c, key, wake, NULL, &hit, &f);

	if (r == MON_ACACHE_LEAD)
		mon_acache_end(c, f, NULL, 0);
	mon_acache_val_unref(hit);
	return r == MON_ACACHE_HIT;
}

START_TEST(test_mon_acache_begin_hit_after_keep)
{
	struct mon_acache *c = mon_acache_new(1 << 20, 16);
	struct mon_acache_val *hit;
	struct mon_acache_flight *f;

	fill(c, "k1", "{\"a\":1}");
	ck_assert_int_eq(mon_acache_begin(c, "k1", wake, NULL, &hit, &f), MON_ACACHE_HIT);
	ck_assert_ptr_null(f);
	ck_assert_int_eq(hit->status, 200);
	ck_assert_uint_eq(hit->len, 7);
	ck_assert_int_eq(memcmp(hit->body, "{\"a\":1}", 7), 0);
	mon_acache_val_unref(hit);
	ck_assert(!kept(c, "k2"));
	mon_acache_free(c);
}
END_TEST

START_TEST(test_mon_acache_begin_single_flight)
{
	struct mon_acache *c = mon_acache_new(1 << 20, 16);
	struct woken w1 = {0, NULL}, w2 = {0, NULL};
	struct mon_acache_val *hit, *v;
	struct mon_acache_flight *f, *f2;

	ck_assert_int_eq(mon_acache_begin(c, "k", wake, NULL, &hit, &f), MON_ACACHE_LEAD);
	ck_assert_int_eq(mon_acache_begin(c, "k", wake, &w1, &hit, &f2), MON_ACACHE_WAIT);
	ck_assert_int_eq(mon_acache_begin(c, "k", wake, &w2, &hit, &f2), MON_ACACHE_WAIT);
	ck_assert_int_eq(w1.calls + w2.calls, 0);
	v = val("answer");
	mon_acache_end(c, f, v, 1);
	ck_assert_int_eq(w1.calls, 1);
	ck_assert_int_eq(w2.calls, 1);
	ck_assert_ptr_eq(w1.v, v);
	ck_assert_ptr_eq(w2.v, v);
	ck_assert_int_eq(atomic_load(&v->refs), 4); /* ours, the entry's, two waiters' */
	mon_acache_val_unref(w1.v);
	mon_acache_val_unref(w2.v);
	mon_acache_val_unref(v);
	ck_assert(kept(c, "k"));
	mon_acache_free(c);
}
END_TEST

START_TEST(test_mon_acache_end_nothing_to_share)
{
	struct mon_acache *c = mon_acache_new(1 << 20, 16);
	struct woken w = {0, NULL};
	struct mon_acache_val *hit;
	struct mon_acache_flight *f, *f2;

	ck_assert_int_eq(mon_acache_begin(c, "k", wake, NULL, &hit, &f), MON_ACACHE_LEAD);
	ck_assert_int_eq(mon_acache_begin(c, "k", wake, &w, &hit, &f2), MON_ACACHE_WAIT);
	mon_acache_end(c, f, NULL, 1);
	ck_assert_int_eq(w.calls, 1);
	ck_assert_ptr_null(w.v);
	/* the flight is over: the next request leads again */
	ck_assert_int_eq(mon_acache_begin(c, "k", wake, NULL, &hit, &f), MON_ACACHE_LEAD);
	mon_acache_end(c, f, NULL, 0);
	mon_acache_free(c);
}
END_TEST

START_TEST(test_mon_acache_end_lru_entries)
{
	struct mon_acache *c = mon_acache_new(1 << 20, 3);
	size_t n, bytes;

	fill(c, "a", "1");
	fill(c, "b", "2");
	fill(c, "c", "3");
	ck_assert(kept(c, "a")); /* a is now the most recent: b goes first */
	fill(c, "d", "4");
	ck_assert(!kept(c, "b"));
	ck_assert(kept(c, "a"));
	ck_assert(kept(c, "c"));
	ck_assert(kept(c, "d"));
	mon_acache_usage(c, &n, &bytes);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_gt(bytes, 0);
	mon_acache_free(c);
}
END_TEST

START_TEST(test_mon_acache_end_lru_bytes)
{
	char big[2001];
	struct mon_acache *c = mon_acache_new(64 * 1024, 1000);
	size_t n, bytes;
	char key[16];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		fill(c, key, big);
	}
	mon_acache_usage(c, &n, &bytes);
	ck_assert_uint_le(bytes, 64 * 1024);
	ck_assert_uint_lt(n, 100);
	ck_assert(kept(c, "k99"));
	ck_assert(!kept(c, "k0"));
	mon_acache_free(c);
}
END_TEST

START_TEST(test_mon_acache_end_oversized_not_kept)
{
	struct mon_acache *c = mon_acache_new(8 * 1024, 16);
	char *big = malloc(4000);
	struct mon_acache_val *hit, *v;
	struct mon_acache_flight *f;

	ck_assert_ptr_nonnull(big);
	memset(big, 'y', 4000);
	ck_assert_int_eq(mon_acache_begin(c, "k", wake, NULL, &hit, &f), MON_ACACHE_LEAD);
	v = mon_acache_val_new(200, 0, big, 4000, "ok", NULL);
	mon_acache_end(c, f, v, 1);
	mon_acache_val_unref(v);
	ck_assert(!kept(c, "k"));
	mon_acache_free(c);
}
END_TEST

START_TEST(test_mon_acache_new_zero_bytes_still_shares)
{
	struct mon_acache *c = mon_acache_new(0, 16);
	struct woken w = {0, NULL};
	struct mon_acache_val *hit, *v;
	struct mon_acache_flight *f, *f2;

	ck_assert_int_eq(mon_acache_begin(c, "k", wake, NULL, &hit, &f), MON_ACACHE_LEAD);
	ck_assert_int_eq(mon_acache_begin(c, "k", wake, &w, &hit, &f2), MON_ACACHE_WAIT);
	v = val("shared");
	mon_acache_end(c, f, v, 1);
	ck_assert_ptr_eq(w.v, v);
	mon_acache_val_unref(w.v);
	mon_acache_val_unref(v);
	ck_assert(!kept(c, "k"));
	mon_acache_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mon_acache");
	TCase *tb = tcase_create("begin"), *te = tcase_create("end"), *tn = tcase_create("new");
	SRunner *sr;
	int failed;

	tcase_add_test(tb, test_mon_acache_begin_hit_after_keep);
	tcase_add_test(tb, test_mon_acache_begin_single_flight);
	tcase_add_test(te, test_mon_acache_end_nothing_to_share);
	tcase_add_test(te, test_mon_acache_end_lru_entries);
	tcase_add_test(te, test_mon_acache_end_lru_bytes);
	tcase_add_test(te, test_mon_acache_end_oversized_not_kept);
	tcase_add_test(tn, test_mon_acache_new_zero_bytes_still_shares);
	suite_add_tcase(s, tb);
	suite_add_tcase(s, te);
	suite_add_tcase(s, tn);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
