/* SPDX-License-Identifier: MIT
 * tests/check_batch.c - unit tests of collectors/record and collectors/batch
 *
 * Timestamps: expected values come from GNU coreutils 9.1 `TZ=UTC date -d "<text>" +%s.%N`
 * (run 2025-11, recorded below as integers). Doubles: the canonical text must read back
 * to the same double through strtod, checked on fixed cases and on 100000 pseudo-random
 * doubles. Batches: one test per rejection reason and per format, each naming the JSON
 * pointer and the message the client sees.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/batch.h"
#include "collectors/record.h"

#define NOW INT64_C(1793707200000000) /* 2026-11-03T12:00:00Z */
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char heart_spec[] = "{\"name\": \"heart\", \"version\": \"1\", \"threshold\": 0.5,"
				 " \"features\": [{\"name\": \"age\", \"type\": \"numeric\"},"
				 "  {\"name\": \"cp\", \"type\": \"categorical\"},"
				 "  {\"name\": \"chol\", \"type\": \"numeric\"},"
				 "  {\"name\": \"thal\", \"type\": \"categorical\"}],"
				 " \"segments\": [\"sex\", \"site\"]}";

static struct col_schema *schema_of(const char *json)
{
	cJSON *j = cJSON_Parse(json);
	struct col_schema *s = NULL;
	struct col_diag d;

	ck_assert_ptr_nonnull(j);
	ck_assert_msg(col_schema_parse(j, &s, &d) == 0, "schema: %s: %s", d.pointer, d.msg);
	cJSON_Delete(j);
	return s;
}

static struct col_schema *heart;

static void setup(void)
{
	heart = schema_of(heart_spec);
}

static void teardown(void)
{
	col_schema_free(heart);
	heart = NULL;
}

static int parse_lim(enum col_batch_kind kind, enum col_format fmt, const char *body, size_t len,
		     struct col_batch_limits *lim, struct col_batch **b, struct col_diag *d)
{
	struct col_batch_limits l;

	if (!lim) {
		col_batch_limits_default(&l);
		l.now = NOW;
		lim = &l;
	}
	*b = NULL;
	return col_batch_parse(heart, kind, fmt, body, len, lim, b, d);
}

/* Parse a batch that must be readable as a whole. */
static struct col_batch *parse_ok(enum col_batch_kind kind, enum col_format fmt, const char *body)
{
	struct col_batch *b;
	struct col_diag d;
	int rc = parse_lim(kind, fmt, body, strlen(body), NULL, &b, &d);

	ck_assert_msg(rc == 0, "parse failed (%d): %s: %s", rc, d.pointer, d.msg);
	return b;
}

/* Parse a batch that must fail as a whole with rc; returns the diagnosis. */
static struct col_diag parse_fail(enum col_batch_kind kind, enum col_format fmt, const char *body,
				  size_t len, int rc)
{
	struct col_batch *b;
	struct col_diag d;
	int got = parse_lim(kind, fmt, body, len, NULL, &b, &d);

	ck_assert_msg(got == rc, "expected %d, got %d (%s)", rc, got, got ? d.msg : "ok");
	ck_assert_ptr_null(b);
	return d;
}

/* One prediction record in JSON: the predictions format with fields spliced in. */
static struct col_batch *one_pred(const char *record)
{
	char buf[8192];

	snprintf(buf, sizeof(buf), "[%s]", record);
	return parse_ok(COL_BATCH_PREDICTIONS, COL_FMT_JSON, buf);
}

/* Assert that the single record of b was rejected at field with a message holding msg. */
static void assert_rejected(struct col_batch *b, size_t index, const char *field, const char *msg)
{
	size_t i;

	for (i = 0; i < b->nerr; i++)
		if (b->err[i].index == index)
			break;
	ck_assert_msg(i < b->nerr, "record %zu was not rejected", index);
	ck_assert_str_eq(b->err[i].field, field);
	ck_assert_msg(strstr(b->err[i].msg, msg), "message \"%s\" lacks \"%s\"", b->err[i].msg,
		      msg);
}

#define GOOD "\"id\": \"a1\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.25"

/* --- col_ts_parse / col_ts_format ----------------------------------------------------------- */

START_TEST(test_ts_parse_matches_date)
{
	static const struct {
		const char *text;
		int64_t us;
	} cases[] = {
		{"2026-11-03T12:00:00Z", INT64_C(1793707200000000)},
		{"1970-01-01T00:00:00Z", 0},
		{"2024-02-29T23:59:59.999999Z", INT64_C(1709251199999999)},
		{"2026-01-15T08:30:00+05:30", INT64_C(1768446000000000)},
		{"2026-01-15T08:30:00-08:00", INT64_C(1768494600000000)},
		{"2000-03-01t00:00:00z", INT64_C(951868800000000)},
		{"1999-12-31 23:59:59.5Z", INT64_C(946684799500000)},
		{"2100-02-28T00:00:00Z", INT64_C(4107456000000000)},
		{"9999-12-31T23:59:59Z", INT64_C(253402300799000000)},
		{"1969-12-31T23:59:59.5Z", INT64_C(-500000)},
		/* date says .123456789; digits past the microsecond are truncated */
		{"2026-06-30T23:59:59.123456789+14:00", INT64_C(1782813599123456)},
		{"0001-01-01T00:00:00Z", INT64_C(-62135596800000000)},
		{"2038-01-19T03:14:08Z", INT64_C(2147483648000000)},
		{"2026-03-29T01:30:00+01:00", INT64_C(1774744200000000)},
		{"2026-11-03T12:00:00-00:00", INT64_C(1793707200000000)},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		int64_t us = 0;

		ck_assert_msg(col_ts_parse(cases[i].text, strlen(cases[i].text), &us) == 0, "%s",
			      cases[i].text);
		ck_assert_msg(us == cases[i].us, "%s: %lld", cases[i].text, (long long)us);
	}
}
END_TEST

START_TEST(test_ts_parse_rejects_invalid)
{
	static const char *const bad[] = {
		"2026-02-30T00:00:00Z",
		"2023-02-29T00:00:00Z",
		"2100-02-29T00:00:00Z",
		"2026-04-31T00:00:00Z",
		"2026-13-01T00:00:00Z",
		"2026-00-01T00:00:00Z",
		"2026-01-00T00:00:00Z",
		"2026-01-01T24:00:00Z",
		"2026-01-01T00:60:00Z",
		"2026-01-01T00:00:60Z",
		"2026-01-01T00:00:00",
		"2026-01-01",
		"2026-01-01T00:00Z",
		"2026-01-01T00:00:00.Z",
		"2026-01-01T00:00:00+05:60",
		"2026-01-01T00:00:00+24:00",
		"2026-01-01T00:00:00+0530",
		"2026-01-01T00:00:00Zx",
		"0000-01-01T00:00:00Z",
		"2026/01/01T00:00:00Z",
		"2026-01-01X00:00:00Z",
		"2026-1-01T00:00:00Z",
		" 2026-01-01T00:00:00Z",
		"2026-01-01T00:00:00+05",
		"",
		"1793707200",
	};

	for (size_t i = 0; i < NELEM(bad); i++) {
		int64_t us;

		ck_assert_msg(col_ts_parse(bad[i], strlen(bad[i]), &us) == -EINVAL, "%s accepted",
			      bad[i]);
	}
}
END_TEST

START_TEST(test_ts_format_round_trips)
{
	static const int64_t us[] = {0,
				     1,
				     999999,
				     INT64_C(1793707200000000),
				     INT64_C(1709251199999999),
				     INT64_C(-500000),
				     INT64_C(253402300799000000)};
	char buf[COL_TS_BUF];

	col_ts_format(INT64_C(1793707200000000), 0, buf);
	ck_assert_str_eq(buf, "2026-11-03T12:00:00Z");
	col_ts_format(INT64_C(1793707200000001), 0, buf);
	ck_assert_str_eq(buf, "2026-11-03T12:00:00.000001Z");
	col_ts_format(INT64_C(1793707200000000), 1, buf);
	ck_assert_str_eq(buf, "2026-11-03 12:00:00.000000+00");
	col_ts_format(INT64_C(-500000), 0, buf);
	ck_assert_str_eq(buf, "1969-12-31T23:59:59.500000Z");
	for (size_t i = 0; i < NELEM(us); i++) {
		int64_t back;

		for (int sql = 0; sql < 2; sql++) {
			col_ts_format(us[i], sql, buf);
			ck_assert_int_eq(col_ts_parse(buf, strlen(buf), &back), sql ? -EINVAL : 0);
		}
		col_ts_format(us[i], 0, buf);
		ck_assert_int_eq(col_ts_parse(buf, strlen(buf), &back), 0);
		ck_assert(back == us[i]);
	}
}
END_TEST

START_TEST(test_civil_days_round_trip)
{
	for (int64_t z = -800000; z < 3000000; z += 37) {
		int64_t y;
		unsigned m, d;

		col_civil_from_days(z, &y, &m, &d);
		ck_assert(col_days_from_civil(y, m, d) == z);
	}
}
END_TEST

/* --- col_format_double ------------------------------------------------------------------------ */

START_TEST(test_format_double_cases)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{63.0, "63"},
		{-2.0, "-2"},
		{0.0, "0"},
		{-0.0, "-0"},
		{2.3, "2.3"},
		{0.390848, "0.390848"},
		{0.1 + 0.2, "0.30000000000000004"},
		{5e-5, "0.00005"},
		{123456.789, "123456.789"},
		{1e300, "1.0000000000000001e+300"},
		{1e-7, "9.9999999999999995e-08"},
		{9007199254740992.0, "9007199254740992"},
		{NAN, "NaN"},
		{INFINITY, "Infinity"},
		{-INFINITY, "-Infinity"},
	};
	char buf[COL_DOUBLE_BUF];

	for (size_t i = 0; i < NELEM(cases); i++) {
		size_t n = col_format_double(cases[i].v, buf);

		ck_assert_str_eq(buf, cases[i].text);
		ck_assert_uint_eq(n, strlen(cases[i].text));
	}
}
END_TEST

START_TEST(test_format_double_reads_back)
{
	uint64_t x = 88172645463325252ULL;
	char buf[COL_DOUBLE_BUF];

	for (int i = 0; i < 100000; i++) {
		double v;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		switch (i % 4) {
		case 0: /* any bit pattern */
			memcpy(&v, &x, sizeof(v));
			break;
		case 1: /* short decimals, as data has */
			v = (double)(x % 1000000) / 1000.0;
			break;
		case 2:
			v = (double)(x % 100000) * 1e-4;
			break;
		default:
			v = ldexp((double)(x >> 11), -(int)(x % 70));
		}
		if (!isfinite(v))
			continue;
		ck_assert_uint_lt(col_format_double(v, buf), COL_DOUBLE_BUF);
		ck_assert_msg(strtod(buf, NULL) == v, "%.17g printed as %s", v, buf);
	}
}
END_TEST

/* --- col_schema_parse ------------------------------------------------------------------------- */

START_TEST(test_schema_parse_valid)
{
	int seg = -1;
	cJSON *j;
	struct col_schema *back;
	char *txt;

	ck_assert_str_eq(heart->name, "heart");
	ck_assert_uint_eq(heart->nfeat, 4);
	ck_assert_uint_eq(heart->nnum, 2);
	ck_assert_uint_eq(heart->ncat, 2);
	ck_assert_uint_eq(heart->nseg, 2);
	ck_assert_uint_eq(heart->feat[2].slot, 1); /* chol is the second numeric */
	ck_assert_uint_eq(heart->feat[3].slot, 1); /* thal the second categorical */
	ck_assert_str_eq(heart->positive_label, "1");
	ck_assert_str_eq(heart->negative_label, "0");
	ck_assert_int_eq(col_schema_find(heart, "chol", 4, &seg), 2);
	ck_assert_int_eq(seg, 0);
	ck_assert_int_eq(col_schema_find(heart, "site", 4, &seg), 1);
	ck_assert_int_eq(seg, 1);
	ck_assert_int_eq(col_schema_find(heart, "sitex", 5, &seg), -1);
	ck_assert_int_eq(col_schema_find(heart, "sit", 3, &seg), -1);
	j = col_schema_to_json(heart);
	txt = cJSON_PrintUnformatted(j);
	ck_assert_str_eq(txt,
			 "{\"name\":\"heart\",\"version\":\"1\",\"threshold\":0.5,"
			 "\"positive_label\":\"1\",\"negative_label\":\"0\",\"features\":"
			 "[{\"name\":\"age\",\"type\":\"numeric\"},{\"name\":\"cp\",\"type\":"
			 "\"categorical\"},{\"name\":\"chol\",\"type\":\"numeric\"},{\"name\":"
			 "\"thal\",\"type\":\"categorical\"}],\"segments\":[\"sex\",\"site\"]}");
	back = schema_of(txt);
	ck_assert(col_schema_equal(heart, back));
	col_schema_free(back);
	cJSON_free(txt);
	cJSON_Delete(j);
	back = schema_of("{\"name\": \"m\", \"features\": [], \"positive_label\": 2,"
			 " \"negative_label\": \"no\"}");
	ck_assert_str_eq(back->positive_label, "2");
	ck_assert_str_eq(back->version, "");
	ck_assert_double_eq(back->threshold, 0.5);
	ck_assert(!col_schema_equal(heart, back));
	col_schema_free(back);
}
END_TEST

START_TEST(test_schema_parse_rejects)
{
	static const struct {
		const char *json, *pointer, *msg;
	} cases[] = {
		{"[]", "", "must be a JSON object"},
		{"{\"features\": []}", "/name", "required field missing"},
		{"{\"name\": \"-x\", \"features\": []}", "/name", "must match"},
		{"{\"name\": \"a b\", \"features\": []}", "/name", "must match"},
		{"{\"name\": 3, \"features\": []}", "/name", "expected a string"},
		{"{\"name\": \"m\"}", "/features", "required field missing"},
		{"{\"name\": \"m\", \"features\": {}}", "/features", "expected an array"},
		{"{\"name\": \"m\", \"features\": [], \"colour\": 1}", "/colour", "unknown field"},
		{"{\"name\": \"m\", \"name\": \"n\", \"features\": []}", "/name",
		 "duplicate field"},
		{"{\"name\": \"m\", \"features\": [], \"threshold\": 1.5}", "/threshold",
		 "between 0 and 1"},
		{"{\"name\": \"m\", \"features\": [], \"threshold\": -0.1}", "/threshold",
		 "between 0 and 1"},
		{"{\"name\": \"m\", \"features\": [], \"threshold\": \"0.5\"}", "/threshold",
		 "between"},
		{"{\"name\": \"m\", \"features\": [], \"version\": 2}", "/version",
		 "expected a string"},
		{"{\"name\": \"m\", \"features\": [], \"positive_label\": \"0\"}",
		 "/positive_label", "must differ"},
		{"{\"name\": \"m\", \"features\": [], \"negative_label\": \"\"}", "/negative_label",
		 "1 to 256 bytes"},
		{"{\"name\": \"m\", \"features\": [], \"positive_label\": true}", "/positive_label",
		 "expected a string"},
		{"{\"name\": \"m\", \"features\": [3]}", "/features/0", "expected an object"},
		{"{\"name\": \"m\", \"features\": [{\"type\": \"numeric\"}]}", "/features/0/name",
		 "required field missing"},
		{"{\"name\": \"m\", \"features\": [{\"name\": \"a\", \"type\": \"numeric\"},"
		 " {\"name\": \"\", \"type\": \"numeric\"}]}",
		 "/features/1/name", "name is empty"},
		{"{\"name\": \"m\", \"features\": [{\"name\": \"a\\tb\", \"type\": \"numeric\"}]}",
		 "/features/0/name", "control character"},
		{"{\"name\": \"m\", \"features\": [{\"name\": \"a\"}]}", "/features/0/type",
		 "required field missing"},
		{"{\"name\": \"m\", \"features\": [{\"name\": \"a\", \"type\": \"numeric\"},"
		 " {\"name\": \"b\", \"type\": \"numeric\"}, {\"name\": \"c\", \"type\": "
		 "\"numeric\"},"
		 " {\"name\": \"d\", \"type\": \"text\"}]}",
		 "/features/3/type", "expected \"numeric\" or \"categorical\""},
		{"{\"name\": \"m\", \"features\": [{\"name\": \"a\", \"type\": \"numeric\","
		 " \"unit\": \"kg\"}]}",
		 "/features/0/unit", "unknown field"},
		{"{\"name\": \"m\", \"features\": [{\"name\": \"a\", \"type\": \"numeric\"},"
		 " {\"name\": \"a\", \"type\": \"categorical\"}]}",
		 "/features/1/name", "duplicate feature name"},
		{"{\"name\": \"m\", \"features\": [{\"name\": \"sex\", \"type\": \"numeric\"}],"
		 " \"segments\": [\"site\", \"sex\"]}",
		 "/segments/1", "already a feature"},
		{"{\"name\": \"m\", \"features\": [], \"segments\": [\"a\", \"a\"]}", "/segments/1",
		 "duplicate segment name"},
		{"{\"name\": \"m\", \"features\": [], \"segments\": [1]}", "/segments/0",
		 "expected a string"},
		{"{\"name\": \"m\", \"features\": [], \"segments\": \"sex\"}", "/segments",
		 "expected an array"},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		cJSON *j = cJSON_Parse(cases[i].json);
		struct col_schema *s = NULL;
		struct col_diag d;

		ck_assert_msg(j != NULL, "case %zu does not parse", i);
		ck_assert_msg(col_schema_parse(j, &s, &d) == -EINVAL, "case %zu accepted", i);
		ck_assert_ptr_null(s);
		ck_assert_msg(!strcmp(d.pointer, cases[i].pointer), "case %zu: pointer %s", i,
			      d.pointer);
		ck_assert_msg(strstr(d.msg, cases[i].msg), "case %zu: %s", i, d.msg);
		cJSON_Delete(j);
	}
}
END_TEST

START_TEST(test_model_name_ok)
{
	char longest[130];

	memset(longest, 'a', 128);
	longest[128] = '\0';
	ck_assert(col_model_name_ok("heart"));
	ck_assert(col_model_name_ok("Heart-2.1_x"));
	ck_assert(col_model_name_ok("9"));
	ck_assert(col_model_name_ok(longest));
	longest[128] = 'a';
	longest[129] = '\0';
	ck_assert(!col_model_name_ok(longest));
	ck_assert(!col_model_name_ok(""));
	ck_assert(!col_model_name_ok(NULL));
	ck_assert(!col_model_name_ok("-x"));
	ck_assert(!col_model_name_ok(".x"));
	ck_assert(!col_model_name_ok("a b"));
	ck_assert(!col_model_name_ok("a/b"));
	ck_assert(!col_model_name_ok("caf\xc3\xa9"));
	ck_assert(!col_model_name_ok("\xff"));
}
END_TEST

START_TEST(test_schema_parse_limits)
{
	cJSON *j = cJSON_CreateObject(), *fs = cJSON_AddArrayToObject(j, "features");
	struct col_schema *s = NULL;
	struct col_diag d;
	char name[16];

	cJSON_AddStringToObject(j, "name", "big");
	for (int i = 0; i <= COL_FEATURES_MAX; i++) {
		cJSON *f = cJSON_CreateObject();

		snprintf(name, sizeof(name), "f%d", i);
		cJSON_AddStringToObject(f, "name", name);
		cJSON_AddStringToObject(f, "type", "numeric");
		cJSON_AddItemToArray(fs, f);
	}
	ck_assert_int_eq(col_schema_parse(j, &s, &d), -EINVAL);
	ck_assert_str_eq(d.pointer, "/features");
	cJSON_DeleteItemFromArray(fs, 0);
	ck_assert_int_eq(col_schema_parse(j, &s, &d), 0);
	ck_assert_uint_eq(s->nfeat, COL_FEATURES_MAX);
	ck_assert_int_eq(col_schema_find(s, "f1000", 5, &(int){0}), 999);
	col_schema_free(s);
	cJSON_Delete(j);
}
END_TEST

/* --- JSON batches -------------------------------------------------------------------------------
 */

START_TEST(test_json_valid_records)
{
	struct col_batch *b = parse_ok(
		COL_BATCH_PREDICTIONS, COL_FMT_JSON,
		"[{\"id\": \"p1\", \"ts\": \"2026-11-01T10:00:00.5+01:00\", \"score\": 0.75,"
		"  \"features\": {\"age\": 63, \"cp\": \"typical\", \"chol\": 233.5, \"thal\": 6},"
		"  \"segments\": {\"sex\": \"male\", \"site\": \"cleveland\"}},"
		" {\"segments\": {\"site\": null}, \"features\": {\"age\": null, \"cp\": 3.0,"
		"  \"thal\": true}, \"score\": 1, \"ts\": \"2026-11-02T00:00:00Z\", \"id\": 42},"
		" {\"id\": \"p3\", \"ts\": \"2026-11-02T00:00:00Z\", \"score\": 0, \"features\": "
		"null,"
		"  \"segments\": {\"sex\": \"\"}}]");
	const struct col_record *r = b->rec;

	ck_assert_uint_eq(b->nseen, 3);
	ck_assert_uint_eq(b->nrec, 3);
	ck_assert_uint_eq(b->nerr, 0);
	ck_assert_str_eq(r[0].id, "p1");
	ck_assert(r[0].ts == INT64_C(1793523600500000));
	ck_assert_double_eq(r[0].score, 0.75);
	ck_assert_double_eq(r[0].num[0], 63);
	ck_assert_double_eq(r[0].num[1], 233.5);
	ck_assert_str_eq(r[0].cat[0], "typical");
	ck_assert_str_eq(r[0].cat[1], "6");
	ck_assert_str_eq(r[0].seg[0], "male");
	ck_assert_str_eq(r[0].seg[1], "cleveland");
	ck_assert_int_eq(r[0].label, -1);
	ck_assert_int_eq(r[0].state, COL_REC_NEW);
	ck_assert_str_eq(r[1].id, "42");
	ck_assert(isnan(r[1].num[0]) && isnan(r[1].num[1]));
	ck_assert_str_eq(r[1].cat[0], "3");
	ck_assert_str_eq(r[1].cat[1], "true");
	ck_assert_ptr_null(r[1].seg[0]);
	ck_assert_ptr_null(r[1].seg[1]);
	ck_assert_uint_eq(r[1].index, 1);
	ck_assert_ptr_null(r[2].seg[0]); /* "" is missing */
	ck_assert_ptr_null(r[2].cat[0]);
	col_batch_free(b);
}
END_TEST

START_TEST(test_json_escapes)
{
	struct col_batch *b = one_pred(
		"{\"id\": \"a\\\"b\\\\c\\/d\\n\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5,"
		" \"features\": {\"cp\": \"\\u00e9\\ud83d\\ude00\\t\"},"
		" \"segments\": {\"s\\u0069te\": \"caf\xc3\xa9\"}}");

	ck_assert_uint_eq(b->nrec, 1);
	ck_assert_str_eq(b->rec[0].id, "a\"b\\c/d\n");
	ck_assert_str_eq(b->rec[0].cat[0], "\xc3\xa9\xf0\x9f\x98\x80\t");
	ck_assert_str_eq(b->rec[0].seg[1], "caf\xc3\xa9");
	col_batch_free(b);
}
END_TEST

START_TEST(test_json_rejects_each_reason)
{
	static const struct {
		const char *record, *field, *msg;
	} cases[] = {
		{"{\"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5}", "/id",
		 "required field missing"},
		{"{\"id\": \"a\", \"score\": 0.5}", "/ts", "required field missing"},
		{"{\"id\": \"a\", \"ts\": \"2026-11-01T10:00:00Z\"}", "/score",
		 "required field missing"},
		{"{\"id\": \"\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5}", "/id",
		 "empty"},
		{"{\"id\": 1.5, \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5}", "/id",
		 "expected a string"},
		{"{\"id\": null, \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5}", "/id",
		 "expected a string"},
		{"{\"id\": \"a\", \"ts\": \"2026-02-30T10:00:00Z\", \"score\": 0.5}", "/ts",
		 "RFC 3339"},
		{"{\"id\": \"a\", \"ts\": 1793707200, \"score\": 0.5}", "/ts", "RFC 3339"},
		{"{\"id\": \"a\", \"ts\": \"1969-12-31T23:59:59Z\", \"score\": 0.5}", "/ts",
		 "before 1970"},
		{"{\"id\": \"a\", \"ts\": \"2027-11-05T12:00:00Z\", \"score\": 0.5}", "/ts",
		 "in the future"},
		{"{" GOOD ", \"score\": 0.5}", "/score", "duplicate field"},
		{"{\"id\": \"a\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 1.5}", "/score",
		 "between 0 and 1"},
		{"{\"id\": \"a\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": -0.01}", "/score",
		 "between 0 and 1"},
		{"{\"id\": \"a\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": \"0.5\"}", "/score",
		 "expected a number"},
		{"{\"id\": \"a\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": NaN}", "/score",
		 "not a finite number"},
		{"{\"id\": \"a\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 1e999}", "/score",
		 "out of range"},
		{"{" GOOD ", \"features\": {\"age\": NaN}}", "/features/age",
		 "not a finite number"},
		{"{" GOOD ", \"features\": {\"age\": Infinity}}", "/features/age",
		 "not a finite number"},
		{"{" GOOD ", \"features\": {\"age\": -Infinity}}", "/features/age",
		 "not a finite number"},
		{"{" GOOD ", \"features\": {\"age\": 1e999}}", "/features/age", "out of range"},
		{"{" GOOD ", \"features\": {\"age\": -1e999}}", "/features/age", "out of range"},
		{"{" GOOD ", \"features\": {\"age\": \"63\"}}", "/features/age",
		 "expected a number or null"},
		{"{" GOOD ", \"features\": {\"age\": true}}", "/features/age",
		 "expected a number or null"},
		{"{" GOOD ", \"features\": {\"age\": [63]}}", "/features/age",
		 "expected a number or null"},
		{"{" GOOD ", \"features\": {\"cp\": {\"a\": 1}}}", "/features/cp",
		 "expected a string, number or null"},
		{"{" GOOD ", \"features\": {\"cp\": 1e999}}", "/features/cp", "out of range"},
		{"{" GOOD ", \"features\": {\"weight\": 80}}", "/features/weight",
		 "unknown feature"},
		{"{" GOOD ", \"features\": {\"sex\": \"male\"}}", "/features/sex", "is a segment"},
		{"{" GOOD ", \"segments\": {\"age\": 3}}", "/segments/age", "is a feature"},
		{"{" GOOD ", \"segments\": {\"race\": \"x\"}}", "/segments/race",
		 "unknown segment"},
		{"{" GOOD ", \"features\": {\"a/b~c\": 1}}", "/features/a~1b~0c",
		 "unknown feature"},
		{"{" GOOD ", \"features\": {\"age\": 1, \"age\": 2}}", "/features/age",
		 "duplicate field"},
		{"{" GOOD ", \"features\": [1, 2]}", "/features", "expected an object"},
		{"{" GOOD ", \"segments\": \"male\"}", "/segments", "expected an object"},
		{"{" GOOD ", \"label\": 1}", "/label", "unknown field"},
		{"{" GOOD ", \"weight\": 1}", "/weight", "unknown field"},
		{"{" GOOD ", \"segments\": {\"sex\": \"a\\u0000b\"}}", "/segments/sex", "\\u0000"},
		{"{" GOOD ", \"segments\": {\"sex\": \"\\ud800\"}}", "/segments/sex",
		 "lone surrogate"},
		{"[1, 2]", "", "not a JSON object"},
		{"\"p1\"", "", "not a JSON object"},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct col_batch *b = one_pred(cases[i].record);

		ck_assert_msg(b->nrec == 0 && b->nerr == 1, "case %zu: %zu accepted, %zu rejected",
			      i, b->nrec, b->nerr);
		ck_assert_uint_eq(b->nseen, 1);
		ck_assert_msg(!strcmp(b->err[0].field, cases[i].field), "case %zu: field %s", i,
			      b->err[0].field);
		ck_assert_msg(strstr(b->err[0].msg, cases[i].msg), "case %zu: %s", i,
			      b->err[0].msg);
		col_batch_free(b);
	}
}
END_TEST

START_TEST(test_json_string_limits)
{
	char rec[1024], id[300];
	struct col_batch *b;

	memset(id, 'x', 256);
	id[256] = '\0';
	snprintf(rec, sizeof(rec),
		 "{\"id\": \"%s\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5}", id);
	b = one_pred(rec);
	ck_assert_uint_eq(b->nrec, 1);
	col_batch_free(b);
	memset(id, 'x', 257);
	id[257] = '\0';
	snprintf(rec, sizeof(rec),
		 "{\"id\": \"%s\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5}", id);
	b = one_pred(rec);
	assert_rejected(b, 0, "/id", "longer than 256 bytes");
	col_batch_free(b);
	snprintf(rec, sizeof(rec), "{" GOOD ", \"features\": {\"cp\": \"%s\"}}", id);
	b = one_pred(rec);
	assert_rejected(b, 0, "/features/cp", "longer than 256 bytes");
	col_batch_free(b);
}
END_TEST

START_TEST(test_json_good_and_bad_mixed)
{
	struct col_batch *b =
		parse_ok(COL_BATCH_PREDICTIONS, COL_FMT_JSON,
			 "[{\"id\": \"a\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5},"
			 " {\"id\": \"b\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 2,"
			 "  \"features\": {\"nope\": 1}},"
			 " {\"id\": \"c\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5,"
			 "  \"features\": {\"age\": 50}}]");

	ck_assert_uint_eq(b->nseen, 3);
	ck_assert_uint_eq(b->nrec, 2);
	ck_assert_uint_eq(b->nerr, 1);
	/* the first problem in the record wins */
	assert_rejected(b, 1, "/score", "between 0 and 1");
	ck_assert_str_eq(b->rec[1].id, "c");
	ck_assert_uint_eq(b->rec[1].index, 2);
	ck_assert_double_eq(b->rec[1].num[0], 50);
	col_batch_free(b);
}
END_TEST

START_TEST(test_json_empty_batch)
{
	struct col_batch *b = parse_ok(COL_BATCH_PREDICTIONS, COL_FMT_JSON, " [ ] ");

	ck_assert_uint_eq(b->nseen + b->nrec + b->nerr, 0);
	col_batch_free(b);
	b = parse_ok(COL_BATCH_PREDICTIONS, COL_FMT_JSON, "");
	ck_assert_uint_eq(b->nseen, 0);
	col_batch_free(b);
	b = parse_ok(COL_BATCH_PREDICTIONS, COL_FMT_NDJSON, "\n\r\n  \n");
	ck_assert_uint_eq(b->nseen, 0);
	col_batch_free(b);
	b = parse_ok(COL_BATCH_PREDICTIONS, COL_FMT_CSV, "id,ts,score\r\n");
	ck_assert_uint_eq(b->nseen, 0);
	col_batch_free(b);
}
END_TEST

START_TEST(test_json_syntax_fails_batch)
{
	static const char *const bad[] = {
		"{\"id\": \"a\"}",
		"[{\"id\": \"a\"}",
		"[{\"id\": \"a\"},]",
		"[{\"id\": \"a\"}] x",
		"[{\"id\" \"a\"}]",
		"[{\"id\": 'a'}]",
		"[{\"id\": \"a}]",
		"[{\"id\": \"a\tb\"}]",
		"[{\"id\": \"\\x\"}]",
		"[{\"id\": \"\\u12\"}]",
		"[{\"score\": 01}]",
		"[{\"score\": .5}]",
		"[{\"score\": 1.}]",
		"[{\"score\": 1e}]",
		"[{\"score\": +1}]",
		"[{\"score\": nan}]",
		"[{\"score\": Inf}]",
		"[{\"score\": tru}]",
		"[{\"features\": {\"age\": 1,}}]",
		"[{,}]",
	};

	for (size_t i = 0; i < NELEM(bad); i++) {
		struct col_diag d = parse_fail(COL_BATCH_PREDICTIONS, COL_FMT_JSON, bad[i],
					       strlen(bad[i]), -EINVAL);

		ck_assert_msg(d.msg[0], "case %zu: no message", i);
	}
}
END_TEST

/* A record whose "features" value nests n - (outer levels) arrays deep. */
static char *nested(int total_depth, int ndjson)
{
	size_t cap = 4096;
	char *s = malloc(cap);
	int outer = ndjson ? 2 : 3; /* [ { "features": { */
	size_t o = 0;

	o += (size_t)sprintf(s + o, "%s{" GOOD ", \"features\": {\"cp\": ", ndjson ? "" : "[");
	for (int i = outer; i < total_depth; i++)
		s[o++] = '[';
	for (int i = outer; i < total_depth; i++)
		s[o++] = ']';
	o += (size_t)sprintf(s + o, "}}%s", ndjson ? "\n" : "]");
	s[o] = '\0';
	return s;
}

START_TEST(test_json_depth_limit)
{
	for (int ndjson = 0; ndjson < 2; ndjson++) {
		enum col_format fmt = ndjson ? COL_FMT_NDJSON : COL_FMT_JSON;
		char *ok = nested(32, ndjson), *deep = nested(33, ndjson);
		struct col_batch *b = parse_ok(COL_BATCH_PREDICTIONS, fmt, ok);
		struct col_diag d;

		/* 32 levels are read (and the array value is rejected as a category) */
		assert_rejected(b, 0, "/features/cp", "expected a string, number or null");
		col_batch_free(b);
		d = parse_fail(COL_BATCH_PREDICTIONS, fmt, deep, strlen(deep), -EINVAL);
		ck_assert_msg(strstr(d.msg, "nested deeper than 32"), "%s", d.msg);
		free(ok);
		free(deep);
	}
	{
		struct col_diag d;
		char *deep = nested(33, 0), *ok = nested(32, 0);

		ck_assert_int_eq(col_json_precheck(ok, strlen(ok), 32, &d), 0);
		ck_assert_int_eq(col_json_precheck(deep, strlen(deep), 32, &d), -EINVAL);
		ck_assert_int_eq(col_json_precheck("[\"[[[[\"]", 8, 2, &d), 0);
		free(deep);
		free(ok);
	}
}
END_TEST

START_TEST(test_json_deep_nesting_no_crash)
{
	size_t n = 200000;
	char *s = malloc(2 * n + 1);

	memset(s, '[', n);
	memset(s + n, ']', n);
	s[2 * n] = '\0';
	parse_fail(COL_BATCH_PREDICTIONS, COL_FMT_JSON, s, 2 * n, -EINVAL);
	parse_fail(COL_BATCH_PREDICTIONS, COL_FMT_NDJSON, s, 2 * n, -EINVAL);
	free(s);
}
END_TEST

START_TEST(test_invalid_utf8_fails_batch)
{
	static const char *const bad[] = {
		"\xc0\x80",         /* overlong NUL */
		"\xe0\x80\xaf",     /* overlong '/' */
		"\xed\xa0\x80",     /* a surrogate */
		"\xf4\x90\x80\x80", /* above U+10FFFF */
		"\xf5\x80\x80\x80", "\xff", "\x80", "\xc3", "\xe2\x82",
	};
	char body[256];

	for (size_t i = 0; i < NELEM(bad); i++) {
		for (int f = 0; f < 3; f++) {
			struct col_diag d;

			if (f == 2)
				snprintf(body, sizeof(body),
					 "id,ts,score\nx%s,2026-11-01T10:00:00Z,0.5\n", bad[i]);
			else
				snprintf(body, sizeof(body),
					 "%s{" GOOD ", \"segments\": {\"sex\": \"%s\"}}%s",
					 f ? "" : "[", bad[i], f ? "\n" : "]");
			d = parse_fail(COL_BATCH_PREDICTIONS, (enum col_format)f, body,
				       strlen(body), -EINVAL);
			ck_assert_msg(strstr(d.msg, "invalid UTF-8 at byte"), "%s", d.msg);
		}
	}
}
END_TEST

START_TEST(test_utf8_check)
{
	static const char good[] = "ascii \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf"
				   "\xf4\x8f\xbf\xbf";
	size_t bad = 0;

	ck_assert_int_eq(col_utf8_check(good, sizeof(good) - 1, &bad), 0);
	ck_assert_int_eq(col_utf8_check("abcdefghij\xff", 11, &bad), -EINVAL);
	ck_assert_uint_eq(bad, 10);
	ck_assert_int_eq(col_utf8_check("a\0b", 3, &bad), 0); /* NUL is valid UTF-8 */
}
END_TEST

START_TEST(test_json_nul_byte_in_body)
{
	static const char body[] = "[{\"id\": \"a\0b\", \"ts\": \"2026-11-01T10:00:00Z\"}]";

	parse_fail(COL_BATCH_PREDICTIONS, COL_FMT_JSON, body, sizeof(body) - 1, -EINVAL);
}
END_TEST

START_TEST(test_max_records)
{
	struct col_batch_limits l;
	struct col_batch *b;
	struct col_diag d;
	const char *two = "[{" GOOD "}, {" GOOD "}]";
	const char *two_nd = "{" GOOD "}\n{" GOOD "}\n";
	const char *two_csv =
		"id,ts,score\na,2026-11-01T10:00:00Z,0.5\nb,2026-11-01T10:00:00Z,0.5\n";

	col_batch_limits_default(&l);
	l.now = NOW;
	l.max_records = 2;
	ck_assert_int_eq(
		parse_lim(COL_BATCH_PREDICTIONS, COL_FMT_JSON, two, strlen(two), &l, &b, &d), 0);
	col_batch_free(b);
	l.max_records = 1;
	ck_assert_int_eq(
		parse_lim(COL_BATCH_PREDICTIONS, COL_FMT_JSON, two, strlen(two), &l, &b, &d),
		-E2BIG);
	ck_assert_ptr_null(b);
	ck_assert(strstr(d.msg, "more than 1 records"));
	ck_assert_int_eq(parse_lim(COL_BATCH_PREDICTIONS, COL_FMT_NDJSON, two_nd, strlen(two_nd),
				   &l, &b, &d),
			 -E2BIG);
	ck_assert_int_eq(
		parse_lim(COL_BATCH_PREDICTIONS, COL_FMT_CSV, two_csv, strlen(two_csv), &l, &b, &d),
		-E2BIG);
}
END_TEST

START_TEST(test_duplicates_within_batch)
{
	struct col_batch *b = parse_ok(
		COL_BATCH_PREDICTIONS, COL_FMT_JSON,
		"[{\"id\": \"a\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5,"
		"  \"features\": {\"age\": 50, \"cp\": \"x\"}},"
		" {\"id\": \"b\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5},"
		" {\"score\": 0.5, \"features\": {\"cp\": \"x\", \"age\": 50.0}, \"id\": \"a\","
		"  \"ts\": \"2026-11-01T11:00:00+01:00\"},"
		" {\"id\": \"a\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5,"
		"  \"features\": {\"age\": 51, \"cp\": \"x\"}},"
		" {\"id\": \"b\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5,"
		"  \"segments\": {\"sex\": \"f\"}}]");

	ck_assert_uint_eq(b->nrec, 5);
	ck_assert_uint_eq(b->ndup, 1);
	ck_assert_uint_eq(b->nconflict, 2);
	ck_assert_int_eq(b->rec[0].state, COL_REC_NEW);
	ck_assert_int_eq(b->rec[1].state, COL_REC_NEW);
	ck_assert_int_eq(b->rec[2].state, COL_REC_DUPLICATE);
	ck_assert_int_eq(b->rec[3].state, COL_REC_CONFLICT);
	ck_assert_int_eq(b->rec[4].state, COL_REC_CONFLICT);
	col_batch_mark(b, 1, COL_REC_DUPLICATE);
	ck_assert_uint_eq(b->ndup, 2);
	col_batch_free(b);
}
END_TEST

/* --- NDJSON --------------------------------------------------------------------------------- */

START_TEST(test_ndjson_lines)
{
	struct col_batch *b =
		parse_ok(COL_BATCH_PREDICTIONS, COL_FMT_NDJSON,
			 "{\"id\": \"a\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5}\r\n"
			 "\n"
			 "   \n"
			 "{\"id\": \"b\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5\n"
			 "{\"id\": \"c\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5} {}\n"
			 "[]\n"
			 "{\"id\": \"d\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": NaN}\n"
			 "{\"id\": \"e\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.25,"
			 " \"features\": {\"age\": 1e-3}}");

	ck_assert_uint_eq(b->nseen, 6);
	ck_assert_uint_eq(b->nrec, 2);
	ck_assert_str_eq(b->rec[0].id, "a");
	ck_assert_str_eq(b->rec[1].id, "e");
	ck_assert_uint_eq(b->rec[1].index, 5);
	ck_assert_double_eq(b->rec[1].num[0], 1e-3);
	assert_rejected(b, 1, "", "invalid JSON at column 55: expected ',' or '}'");
	assert_rejected(b, 2, "", "data after the record");
	assert_rejected(b, 3, "", "not a JSON object");
	assert_rejected(b, 4, "/score", "not a finite number");
	col_batch_free(b);
}
END_TEST

/* --- CSV ------------------------------------------------------------------------------------- */

START_TEST(test_csv_valid)
{
	struct col_batch *b =
		parse_ok(COL_BATCH_PREDICTIONS, COL_FMT_CSV,
			 "\xEF\xBB\xBFid,ts,score,age,features.cp,segments.sex,site,chol\r\n"
			 "a,2026-11-01T10:00:00Z,0.5,63,typical,male,\"cleve, land\",NA\r\n"
			 "\r\n"
			 "\"b\"\"q\",2026-11-01T10:00:00Z, 0.25 ,,\"multi\nline\",,NA,233\n"
			 "c,2026-11-01T10:00:00Z,1,1e2,3.0,female,x,-1.5");

	ck_assert_uint_eq(b->nerr, 0);
	ck_assert_uint_eq(b->nrec, 3);
	ck_assert_str_eq(b->rec[0].id, "a");
	ck_assert_double_eq(b->rec[0].num[0], 63);
	ck_assert(isnan(b->rec[0].num[1]));
	ck_assert_str_eq(b->rec[0].cat[0], "typical");
	ck_assert_ptr_null(b->rec[0].cat[1]);
	ck_assert_str_eq(b->rec[0].seg[0], "male");
	ck_assert_str_eq(b->rec[0].seg[1], "cleve, land");
	ck_assert_str_eq(b->rec[1].id, "b\"q");
	ck_assert_double_eq(b->rec[1].score, 0.25);
	ck_assert(isnan(b->rec[1].num[0]));
	ck_assert_str_eq(b->rec[1].cat[0], "multi\nline");
	ck_assert_ptr_null(b->rec[1].seg[0]);
	ck_assert_ptr_null(b->rec[1].seg[1]);
	ck_assert_double_eq(b->rec[1].num[1], 233);
	ck_assert_uint_eq(b->rec[2].index, 2);
	ck_assert_str_eq(b->rec[2].cat[0], "3.0"); /* CSV text stays as written */
	ck_assert_double_eq(b->rec[2].num[0], 100);
	col_batch_free(b);
}
END_TEST

START_TEST(test_csv_rejects_each_reason)
{
	struct col_batch *b = parse_ok(COL_BATCH_PREDICTIONS, COL_FMT_CSV,
				       "id,ts,score,age,cp,sex\n"
				       ",2026-11-01T10:00:00Z,0.5,1,x,m\n"
				       "a,,0.5,1,x,m\n"
				       "a,2026-11-01T10:00:00Z,,1,x,m\n"
				       "a,2026-11-31T10:00:00Z,0.5,1,x,m\n"
				       "a,2026-11-01T10:00:00Z,1.01,1,x,m\n"
				       "a,2026-11-01T10:00:00Z,abc,1,x,m\n"
				       "a,2026-11-01T10:00:00Z,0.5,12a,x,m\n"
				       "a,2026-11-01T10:00:00Z,0.5,1e999,x,m\n"
				       "a,2026-11-01T10:00:00Z,0.5,inf,x,m\n"
				       "a,2026-11-01T10:00:00Z,0.5,1,x\n"
				       "a,2026-11-01T10:00:00Z,0.5,1,x,m,extra\n"
				       "a,2026-11-01T10:00:00Z,nan,1,x,m\n"
				       "a,1969-01-01T00:00:00Z,0.5,1,x,m\n"
				       "ok,2026-11-01T10:00:00Z,0.5,1,x,m\n");

	ck_assert_uint_eq(b->nseen, 14);
	ck_assert_uint_eq(b->nrec, 1);
	ck_assert_str_eq(b->rec[0].id, "ok");
	assert_rejected(b, 0, "/id", "required field missing");
	assert_rejected(b, 1, "/ts", "required field missing");
	assert_rejected(b, 2, "/score", "required field missing");
	assert_rejected(b, 3, "/ts", "RFC 3339");
	assert_rejected(b, 4, "/score", "between 0 and 1");
	assert_rejected(b, 5, "/score", "expected a finite number");
	assert_rejected(b, 6, "/features/age", "expected a finite number");
	assert_rejected(b, 7, "/features/age", "expected a finite number");
	assert_rejected(b, 8, "/features/age", "expected a finite number");
	assert_rejected(b, 9, "", "expected 6 cells, found 5");
	assert_rejected(b, 10, "", "expected 6 cells, found 7");
	assert_rejected(b, 11, "/score", "expected a finite number");
	assert_rejected(b, 12, "/ts", "before 1970");
	col_batch_free(b);
}
END_TEST

START_TEST(test_csv_header_fails_batch)
{
	static const struct {
		const char *body, *pointer, *msg;
	} cases[] = {
		{"id,ts,score,weight\n", "/weight", "unknown column \"weight\""},
		{"id,ts,score,features.sex\n", "/features.sex", "unknown column"},
		{"id,ts,score,segments.age\n", "/segments.age", "unknown column"},
		{"id,ts,score,age,features.age\n", "/features.age", "given twice"},
		{"id,ts,score,id\n", "/id", "given twice"},
		{"id,ts,age\n", "/score", "missing column \"score\""},
		{"ts,score\n", "/id", "missing column \"id\""},
		{"id,score\n", "/ts", "missing column \"ts\""},
		{"id,ts,score,label\n", "/label", "unknown column"},
		{"id,ts,score,a/b\n", "/a~1b", "unknown column"},
		{"id,ts,score\n\"a,2026-11-01T10:00:00Z,0.5\n", "", "unterminated quoted cell"},
		{"id,ts,score\n\"a\"x,2026-11-01T10:00:00Z,0.5\n", "",
		 "text after a closing quote"},
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct col_diag d = parse_fail(COL_BATCH_PREDICTIONS, COL_FMT_CSV, cases[i].body,
					       strlen(cases[i].body), -EINVAL);

		ck_assert_msg(!strcmp(d.pointer, cases[i].pointer), "case %zu: pointer %s", i,
			      d.pointer);
		ck_assert_msg(strstr(d.msg, cases[i].msg), "case %zu: %s", i, d.msg);
	}
}
END_TEST

START_TEST(test_csv_core_names_win)
{
	struct col_schema *s = schema_of("{\"name\": \"m\", \"features\": [{\"name\": \"score\","
					 " \"type\": \"numeric\"}, {\"name\": \"features.x\","
					 " \"type\": \"numeric\"}]}");
	const char *body = "id,ts,score,features.score,features.x\n"
			   "a,2026-11-01T10:00:00Z,0.5,7,8\n";
	struct col_batch_limits l;
	struct col_batch *b = NULL;
	struct col_diag d;

	col_batch_limits_default(&l);
	l.now = NOW;
	ck_assert_int_eq(col_batch_parse(s, COL_BATCH_PREDICTIONS, COL_FMT_CSV, body, strlen(body),
					 &l, &b, &d),
			 0);
	ck_assert_uint_eq(b->nrec, 1);
	ck_assert_double_eq(b->rec[0].score, 0.5);
	ck_assert_double_eq(b->rec[0].num[0], 7);
	ck_assert_double_eq(b->rec[0].num[1], 8);
	col_batch_free(b);
	col_schema_free(s);
}
END_TEST

/* --- labels and references ---------------------------------------------------------------------
 */

START_TEST(test_labels_values)
{
	struct col_schema *s = schema_of("{\"name\": \"m\", \"features\": [],"
					 " \"positive_label\": \"yes\", \"negative_label\": 2}");
	const char *body =
		"[{\"prediction_id\": \"a\", \"label\": 1, \"ts\": \"2026-11-01T10:00:00Z\"},"
		" {\"prediction_id\": \"b\", \"label\": false, \"observed_at\": "
		"\"2026-11-01T10:00:00Z\"},"
		" {\"prediction_id\": \"c\", \"label\": \"yes\", \"ts\": \"2026-11-01T10:00:00Z\"},"
		" {\"prediction_id\": \"d\", \"label\": 2.0, \"ts\": \"2026-11-01T10:00:00Z\"},"
		" {\"prediction_id\": \"e\", \"label\": \"1\", \"ts\": \"2026-11-01T10:00:00Z\"},"
		" {\"prediction_id\": \"f\", \"label\": 0.5, \"ts\": \"2026-11-01T10:00:00Z\"},"
		" {\"prediction_id\": \"g\", \"label\": null, \"ts\": \"2026-11-01T10:00:00Z\"},"
		" {\"prediction_id\": \"h\", \"ts\": \"2026-11-01T10:00:00Z\"},"
		" {\"label\": 1, \"ts\": \"2026-11-01T10:00:00Z\"},"
		" {\"prediction_id\": \"j\", \"label\": 1},"
		" {\"prediction_id\": \"k\", \"label\": 1, \"ts\": \"2026-11-01T10:00:00Z\","
		"  \"observed_at\": \"2026-11-01T10:00:00Z\"},"
		" {\"prediction_id\": \"l\", \"label\": 1, \"ts\": \"2026-11-01T10:00:00Z\","
		"  \"score\": 0.5},"
		" {\"prediction_id\": \"a\", \"label\": true, \"ts\": \"2026-11-01T10:00:00Z\"},"
		" {\"prediction_id\": \"b\", \"label\": 1, \"ts\": \"2026-11-01T10:00:00Z\"}]";
	struct col_batch_limits l;
	struct col_batch *b = NULL;
	struct col_diag d;

	col_batch_limits_default(&l);
	l.now = NOW;
	ck_assert_int_eq(
		col_batch_parse(s, COL_BATCH_LABELS, COL_FMT_JSON, body, strlen(body), &l, &b, &d),
		0);
	ck_assert_uint_eq(b->nseen, 14);
	ck_assert_uint_eq(b->nrec, 6);
	ck_assert_int_eq(b->rec[0].label, 1);
	ck_assert_int_eq(b->rec[1].label, 0);
	ck_assert_int_eq(b->rec[2].label, 1);
	ck_assert_int_eq(b->rec[3].label, 0);
	ck_assert_ptr_null(b->rec[0].num);
	ck_assert(isnan(b->rec[0].score));
	ck_assert_int_eq(b->rec[4].state, COL_REC_DUPLICATE);
	ck_assert_int_eq(b->rec[5].state, COL_REC_CONFLICT);
	assert_rejected(b, 4, "/label", "label must be 0, 1, true, false, \"yes\" or \"2\"");
	assert_rejected(b, 5, "/label", "label must be");
	assert_rejected(b, 6, "/label", "expected a label");
	assert_rejected(b, 7, "/label", "required field missing");
	assert_rejected(b, 8, "/prediction_id", "required field missing");
	assert_rejected(b, 9, "/ts", "required field missing");
	assert_rejected(b, 10, "/observed_at", "duplicate field");
	assert_rejected(b, 11, "/score", "unknown field");
	col_batch_free(b);
	col_schema_free(s);
}
END_TEST

START_TEST(test_labels_csv)
{
	struct col_batch *b = parse_ok(COL_BATCH_LABELS, COL_FMT_CSV,
				       "prediction_id,label,ts\n"
				       "a,1,2026-11-01T10:00:00Z\n"
				       "b,0.0,2026-11-01T10:00:00Z\n"
				       "c,true,2026-11-01T10:00:00Z\n"
				       "d,yes,2026-11-01T10:00:00Z\n");

	ck_assert_uint_eq(b->nrec, 3);
	ck_assert_int_eq(b->rec[0].label, 1);
	ck_assert_int_eq(b->rec[1].label, 0);
	ck_assert_int_eq(b->rec[2].label, 1);
	assert_rejected(b, 3, "/label", "label must be");
	col_batch_free(b);
	parse_fail(COL_BATCH_LABELS, COL_FMT_CSV, "id,label,ts\n", 12, -EINVAL);
}
END_TEST

START_TEST(test_reference_records)
{
	struct col_batch *b = parse_ok(
		COL_BATCH_REFERENCE, COL_FMT_NDJSON,
		"{\"id\": \"r1\", \"score\": 0.5, \"label\": 1, \"features\": {\"age\": 40}}\n"
		"{\"id\": \"r2\", \"score\": 0.5, \"label\": \"0\", \"ts\": "
		"\"2020-01-01T00:00:00Z\"}\n"
		"{\"id\": \"r3\", \"score\": 0.5, \"ts\": null, \"label\": 0}\n"
		"{\"id\": \"r4\", \"score\": 0.5}\n");

	ck_assert_uint_eq(b->nrec, 3);
	ck_assert(b->rec[0].ts == COL_TS_NONE);
	ck_assert_int_eq(b->rec[0].label, 1);
	ck_assert(b->rec[1].ts == INT64_C(1577836800000000));
	ck_assert_int_eq(b->rec[1].label, 0);
	ck_assert(b->rec[2].ts == COL_TS_NONE);
	assert_rejected(b, 3, "/label", "required field missing");
	col_batch_free(b);
	b = parse_ok(COL_BATCH_REFERENCE, COL_FMT_CSV, "id,score,label,age\nr1,0.5,1,40\n");
	ck_assert_uint_eq(b->nrec, 1);
	ck_assert(b->rec[0].ts == COL_TS_NONE);
	col_batch_free(b);
}
END_TEST

START_TEST(test_batch_format)
{
	enum col_format f;

	ck_assert_int_eq(col_batch_format("application/json", &f), 0);
	ck_assert_int_eq(f, COL_FMT_JSON);
	ck_assert_int_eq(col_batch_format("application/x-ndjson", &f), 0);
	ck_assert_int_eq(f, COL_FMT_NDJSON);
	ck_assert_int_eq(col_batch_format("application/jsonl", &f), 0);
	ck_assert_int_eq(f, COL_FMT_NDJSON);
	ck_assert_int_eq(col_batch_format("text/csv", &f), 0);
	ck_assert_int_eq(f, COL_FMT_CSV);
	ck_assert_int_eq(col_batch_format("application/x-www-form-urlencoded", &f), -ENOTSUP);
	ck_assert_int_eq(col_batch_format("", &f), -ENOTSUP);
	ck_assert_int_eq(col_batch_format(NULL, &f), -ENOTSUP);
}
END_TEST

START_TEST(test_record_equal)
{
	struct col_batch *b =
		parse_ok(COL_BATCH_PREDICTIONS, COL_FMT_NDJSON,
			 "{\"id\": \"a\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5}\n"
			 "{\"id\": \"b\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5,"
			 " \"features\": {\"age\": null, \"cp\": null}}\n"
			 "{\"id\": \"c\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5,"
			 " \"features\": {\"cp\": \"\"}}\n"
			 "{\"id\": \"d\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5,"
			 " \"features\": {\"age\": -0.0}}\n"
			 "{\"id\": \"e\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5,"
			 " \"features\": {\"age\": 0}}\n");

	ck_assert_uint_eq(b->nrec, 5);
	ck_assert(col_record_equal(heart, &b->rec[0], &b->rec[1]));
	ck_assert(col_record_equal(heart, &b->rec[0], &b->rec[2]));
	ck_assert(!col_record_equal(heart, &b->rec[0], &b->rec[3]));
	ck_assert(!col_record_equal(heart, &b->rec[3], &b->rec[4]));
	col_batch_free(b);
}
END_TEST

/* JSON numbers read exactly as strtod reads them, across the fast path and the slow one. */
START_TEST(test_json_numbers_match_strtod)
{
	static const char *const fixed[] = {
		"0",
		"-0",
		"1",
		"-1",
		"0.5",
		"125.396",
		"0.000123",
		"-0.000000000000000000000001",
		"9007199254740993",
		"9007199254740992",
		"1234567890123456789",
		"12345678901234567890123",
		"0.1e1",
		"1E-22",
		"1e22",
		"1e23",
		"4.9e-324",
		"2e-324",
		"1.7976931348623157e308",
		"123456789012345678901234567890e-20",
		"0.30000000000000004",
		"100000000000000000000000000000000000000000000000000000000000000000000000001",
	};
	char *body = malloc(1 << 20), (*num)[64] = malloc((NELEM(fixed) + 2000) * sizeof(*num));
	uint64_t x = 0x9E3779B97F4A7C15ULL;
	size_t o = 0, n = 0;
	struct col_batch *b;

	for (size_t i = 0; i < NELEM(fixed); i++)
		snprintf(num[n++], 64, "%s", fixed[i]);
	for (int i = 0; i < 2000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		switch (i % 5) {
		case 0:
			snprintf(num[n++], 64, "%llu", (unsigned long long)(x >> (x % 64)));
			break;
		case 1:
			snprintf(num[n++], 64, "%s%llu.%0*llu", x & 1 ? "-" : "",
				 (unsigned long long)(x % 100000), (int)(x % 9) + 1,
				 (unsigned long long)((x >> 20) % 1000000000));
			break;
		case 2:
			snprintf(num[n++], 64, "%llue%d", (unsigned long long)(x % 10000000),
				 (int)(x % 60) - 30);
			break;
		case 3:
			snprintf(num[n++], 64, "0.%019llu",
				 (unsigned long long)(x % 10000000000000000000ULL));
			break;
		default:
			snprintf(num[n++], 64, "%.17g",
				 (double)(x >> 11) / (double)((x & 0xffff) + 1));
		}
	}
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(
			body + o, (1 << 20) - o,
			"{\"id\": \"n%zu\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5,"
			" \"features\": {\"age\": %s}}\n",
			i, num[i]);
	b = parse_ok(COL_BATCH_PREDICTIONS, COL_FMT_NDJSON, body);
	ck_assert_uint_eq(b->nrec, n);
	for (size_t i = 0; i < n; i++) {
		double want = strtod(num[i], NULL), got = b->rec[i].num[0];

		ck_assert_msg(!memcmp(&want, &got, sizeof(want)),
			      "%s read as %.17g, strtod says %.17g", num[i], got, want);
	}
	col_batch_free(b);
	free(num);
	free(body);
}
END_TEST

/* A larger batch: every record lands in its slot after the pools grew several times. */
START_TEST(test_many_records)
{
	size_t n = 5000, o = 0, cap = n * 200;
	char *body = malloc(cap);
	struct col_batch *b;

	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(
			body + o, cap - o,
			"{\"id\": \"r%zu\", \"ts\": \"2026-11-01T10:00:00Z\", \"score\": 0.5,"
			" \"features\": {\"age\": %zu, \"cp\": \"c%zu\"}}\n",
			i, i, i % 7);
	b = parse_ok(COL_BATCH_PREDICTIONS, COL_FMT_NDJSON, body);
	ck_assert_uint_eq(b->nrec, n);
	for (size_t i = 0; i < n; i++) {
		char id[32], c[8];

		snprintf(id, sizeof(id), "r%zu", i);
		snprintf(c, sizeof(c), "c%zu", i % 7);
		ck_assert_str_eq(b->rec[i].id, id);
		ck_assert_double_eq(b->rec[i].num[0], (double)i);
		ck_assert_str_eq(b->rec[i].cat[0], c);
	}
	col_batch_free(b);
	free(body);
}
END_TEST

static Suite *batch_suite(void)
{
	Suite *s = suite_create("col_batch");
	TCase *tc;

	tc = tcase_create("ts");
	tcase_add_test(tc, test_ts_parse_matches_date);
	tcase_add_test(tc, test_ts_parse_rejects_invalid);
	tcase_add_test(tc, test_ts_format_round_trips);
	tcase_add_test(tc, test_civil_days_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("format_double");
	tcase_set_timeout(tc, 120); /* sanitizers and valgrind are slow with strtod */
	tcase_add_test(tc, test_format_double_cases);
	tcase_add_test(tc, test_format_double_reads_back);
	suite_add_tcase(s, tc);

	tc = tcase_create("schema");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_schema_parse_valid);
	tcase_add_test(tc, test_schema_parse_rejects);
	tcase_add_test(tc, test_schema_parse_limits);
	tcase_add_test(tc, test_model_name_ok);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_json_valid_records);
	tcase_add_test(tc, test_json_escapes);
	tcase_add_test(tc, test_json_rejects_each_reason);
	tcase_add_test(tc, test_json_string_limits);
	tcase_add_test(tc, test_json_good_and_bad_mixed);
	tcase_add_test(tc, test_json_empty_batch);
	tcase_add_test(tc, test_json_syntax_fails_batch);
	tcase_add_test(tc, test_json_depth_limit);
	tcase_add_test(tc, test_json_deep_nesting_no_crash);
	tcase_add_test(tc, test_invalid_utf8_fails_batch);
	tcase_add_test(tc, test_utf8_check);
	tcase_add_test(tc, test_json_nul_byte_in_body);
	tcase_add_test(tc, test_max_records);
	tcase_add_test(tc, test_duplicates_within_batch);
	tcase_add_test(tc, test_record_equal);
	tcase_add_test(tc, test_json_numbers_match_strtod);
	tcase_add_test(tc, test_many_records);
	suite_add_tcase(s, tc);

	tc = tcase_create("ndjson");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ndjson_lines);
	suite_add_tcase(s, tc);

	tc = tcase_create("csv");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_csv_valid);
	tcase_add_test(tc, test_csv_rejects_each_reason);
	tcase_add_test(tc, test_csv_header_fails_batch);
	tcase_add_test(tc, test_csv_core_names_win);
	suite_add_tcase(s, tc);

	tc = tcase_create("labels");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_labels_values);
	tcase_add_test(tc, test_labels_csv);
	tcase_add_test(tc, test_reference_records);
	tcase_add_test(tc, test_batch_format);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(batch_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
