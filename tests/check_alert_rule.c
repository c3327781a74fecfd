/* SPDX-License-Identifier: MIT
 * tests/check_alert_rule.c - unit tests for monitor/alert_rule (suite "mon_alert_rule")
 *
 * The rule validator (pointers of every refusal, the "above 0.2" shorthand, relative
 * baselines, "and" clauses, defaults, the stored form's read-only keys) and the decision of
 * one clause on one result at its edges: equal to the threshold, a missing interval,
 * min_n, insufficient results, a missing reference value.
 */
#include "config.h"

#include "monitor/alert_rule.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Parse text as a request (stored = 0); returns the parser's status, diag in *d. */
static int parse(const char *text, struct mon_alert_rule *r, struct col_diag *d)
{
	cJSON *j = cJSON_Parse(text);
	int ret;

	ck_assert_ptr_nonnull(j);
	ret = mon_alert_rule_parse(j, 0, r, d);
	cJSON_Delete(j);
	return ret;
}

static void refused(const char *text, const char *pointer)
{
	struct mon_alert_rule r;
	struct col_diag d;

	ck_assert_int_eq(parse(text, &r, &d), -EINVAL);
	ck_assert_str_eq(d.pointer, pointer);
	ck_assert(d.msg[0] != '\0');
}

START_TEST(test_mon_alert_rule_parse_minimal_defaults)
{
	struct mon_alert_rule r;
	struct col_diag d;

	ck_assert_int_eq(parse("{\"name\": \"v\", \"scope\": \"volume\", \"metric\": "
			       "\"volume_ratio\", \"condition\": \"below 0.5\", \"severity\": "
			       "\"page\"}",
			       &r, &d),
			 0);
	ck_assert_str_eq(r.name, "v");
	ck_assert_str_eq(r.scope, "volume");
	ck_assert_uint_eq(r.nclause, 1);
	ck_assert_uint_eq(r.clause[0].nmetric, 1);
	ck_assert_str_eq(r.clause[0].metric[0], "volume_ratio");
	ck_assert_int_eq(r.clause[0].op, MON_ALERT_BELOW);
	ck_assert_int_eq(r.clause[0].relative, 0);
	ck_assert_double_eq(r.clause[0].x, 0.5);
	ck_assert_int_eq(r.for_windows, 1);
	ck_assert_int_eq(r.clear_windows, 1);
	ck_assert_int_eq(r.min_n, 0);
	ck_assert_int_eq(r.due_after_s, 0);
	ck_assert_int_eq(r.enabled, 1);
	ck_assert_ptr_null(r.feature);
	ck_assert_ptr_null(r.segment);
	ck_assert_str_eq(r.description, "");
	ck_assert_str_eq(r.status, "");
	ck_assert_str_eq(r.severity, "page");
	ck_assert_str_eq(r.severity_follows, "");
	mon_alert_rule_fini(&r);
}
END_TEST

START_TEST(test_mon_alert_rule_parse_full)
{
	struct mon_alert_rule r;
	struct col_diag d;
	cJSON *j;
	char *s;

	ck_assert_int_eq(
		parse("{\"name\": \"sens\", \"scope\": \"performance\", \"metric\": "
		      "[\"sensitivity\"], \"condition\": \"ci_below\", \"baseline\": "
		      "\"reference\", \"offset\": -0.05, \"and\": [{\"metric\": [\"ks\", "
		      "\"chi_square\"], \"condition\": \"q_below\", \"threshold\": 0.05}], "
		      "\"segment\": \"sex\", \"segment_value\": \"F\", \"status\": "
		      "\"final\", \"severity_follows\": \"fn_cost\", \"for\": 3, \"clear\": "
		      "4, \"min_n\": 30, \"enabled\": false, \"description\": \"d\", "
		      "\"due_after\": 86400}",
		      &r, &d),
		0);
	ck_assert_int_eq(r.clause[0].relative, 1);
	ck_assert_double_eq(r.clause[0].x, -0.05);
	ck_assert_uint_eq(r.nclause, 2);
	ck_assert_uint_eq(r.clause[1].nmetric, 2);
	ck_assert_str_eq(r.clause[1].metric[1], "chi_square");
	ck_assert_int_eq(r.clause[1].op, MON_ALERT_Q_BELOW);
	ck_assert_str_eq(r.segment, "sex");
	ck_assert_str_eq(r.segment_value, "F");
	ck_assert_str_eq(r.status, "final");
	ck_assert_str_eq(r.severity_follows, "fn_cost");
	ck_assert_str_eq(r.severity, "");
	ck_assert_int_eq(r.for_windows, 3);
	ck_assert_int_eq(r.clear_windows, 4);
	ck_assert_int_eq(r.min_n, 30);
	ck_assert_int_eq(r.due_after_s, 86400);
	ck_assert_int_eq(r.enabled, 0);
	/* the canonical clause form, as stored in and_conditions */
	j = mon_alert_clause_json(&r.clause[1]);
	s = cJSON_PrintUnformatted(j);
	ck_assert_str_eq(s, "{\"metric\":[\"ks\",\"chi_square\"],\"condition\":\"q_below\","
			    "\"threshold\":0.05}");
	cJSON_free(s);
	cJSON_Delete(j);
	j = mon_alert_clause_json(&r.clause[0]);
	s = cJSON_PrintUnformatted(j);
	ck_assert_str_eq(s, "{\"metric\":\"sensitivity\",\"condition\":\"ci_below\","
			    "\"baseline\":\"reference\",\"offset\":-0.05}");
	cJSON_free(s);
	cJSON_Delete(j);
	mon_alert_rule_fini(&r);
}
END_TEST

START_TEST(test_mon_alert_rule_parse_refusals)
{
	refused("[]", "");
	refused("{\"scope\": \"volume\"}", "/name");
	refused("{\"name\": \"-x\", \"scope\": \"volume\"}", "/name");
	refused("{\"name\": \"x\", \"scope\": \"weather\"}", "/scope");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"\"}", "/metric");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": []}", "/metric");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"over 1\", \"severity\": \"page\"}",
		"/condition");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"above 1x\", \"severity\": \"page\"}",
		"/condition");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"above 1\", \"threshold\": 2, \"severity\": \"page\"}",
		"/condition");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"above\", \"severity\": \"page\"}",
		"/threshold");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"ks\", \"condition\": "
		"\"q_below 1.5\", \"severity\": \"page\"}",
		"/threshold");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"ks\", \"condition\": "
		"\"q_below\", \"baseline\": \"reference\", \"severity\": \"page\"}",
		"/baseline");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"above 1\", \"baseline\": \"reference\", \"severity\": \"page\"}",
		"/baseline");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"above 1\", \"offset\": 1, \"severity\": \"page\"}",
		"/offset");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"above 1\"}",
		"/severity");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"above 1\", \"severity\": \"loud\"}",
		"/severity");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"above 1\", \"severity\": \"page\", \"severity_follows\": \"fn_cost\"}",
		"/severity");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"above 1\", \"severity_follows\": \"tp_cost\"}",
		"/severity_follows");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"above 1\", \"severity\": \"page\", \"for\": 101}",
		"/for");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"above 1\", \"severity\": \"page\", \"clear\": 1.5}",
		"/clear");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"above 1\", \"severity\": \"page\", \"min_n\": -1}",
		"/min_n");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"above 1\", \"severity\": \"page\", \"due_after\": 1.5}",
		"/due_after");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"above 1\", \"severity\": \"page\", \"segment_value\": \"F\"}",
		"/segment_value");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"above 1\", \"severity\": \"page\", \"segment\": \"*\", \"segment_value\": "
		"\"F\"}",
		"/segment_value");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"above 1\", \"severity\": \"page\", \"status\": \"late\"}",
		"/status");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"above 1\", \"severity\": \"page\", \"and\": [1]}",
		"/and/0");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"above 1\", \"severity\": \"page\", \"and\": [{\"metric\": \"ks\", "
		"\"condition\": \"q_below 0.05\", \"extra\": 1}]}",
		"/and/0/extra");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"above 1\", \"severity\": \"page\", \"and\": [{}, {}, {}, {}]}",
		"/and");
	refused("{\"name\": \"x\", \"scope\": \"score\", \"metric\": \"psi\", \"condition\": "
		"\"above 1\", \"severity\": \"page\", \"id\": 3}",
		"/id");
}
END_TEST

START_TEST(test_mon_alert_rule_parse_stored)
{
	const char *text = "{\"id\": 7, \"name\": \"x\", \"scope\": \"estimate\", \"metric\": "
			   "\"ppv\", \"condition\": \"ci_below\", \"baseline\": \"reference\", "
			   "\"offset\": -0.05, \"severity\": \"ticket\", \"severity_follows\": "
			   "\"fp_cost\", \"is_default\": true, \"created_at\": \"x\", "
			   "\"updated_at\": \"y\", \"created_by\": \"vigil\", \"and\": [], "
			   "\"feature\": null, \"segment\": \"*\", \"segment_value\": null, "
			   "\"status\": null}";
	cJSON *j = cJSON_Parse(text);
	struct mon_alert_rule r;
	struct col_diag d;

	ck_assert_int_eq(mon_alert_rule_parse(j, 0, &r, &d), -EINVAL);
	ck_assert_int_eq(mon_alert_rule_parse(j, 1, &r, &d), 0);
	ck_assert_int_eq(r.id, 7);
	ck_assert_str_eq(r.severity, "ticket");
	ck_assert_str_eq(r.severity_follows, "fp_cost");
	ck_assert_str_eq(r.segment, "*");
	mon_alert_rule_fini(&r);
	cJSON_Delete(j);
}
END_TEST

static struct mon_alert_clause clause(enum mon_alert_op op)
{
	struct mon_alert_clause c;

	memset(&c, 0, sizeof(c));
	c.op = op;
	c.nmetric = 1;
	strcpy(c.metric[0], "m");
	return c;
}

START_TEST(test_mon_alert_clause_decide_ops)
{
	struct mon_alert_obs o = {0.5, 0.4, 0.6, 0.01, 100, 0};
	struct mon_alert_clause c;

	c = clause(MON_ALERT_ABOVE);
	ck_assert_int_eq(mon_alert_clause_decide(&c, &o, 0.4, 0), MON_ALERT_BREACH);
	ck_assert_int_eq(mon_alert_clause_decide(&c, &o, 0.5, 0), MON_ALERT_CLEAN); /* equal */
	c = clause(MON_ALERT_BELOW);
	ck_assert_int_eq(mon_alert_clause_decide(&c, &o, 0.6, 0), MON_ALERT_BREACH);
	ck_assert_int_eq(mon_alert_clause_decide(&c, &o, 0.5, 0), MON_ALERT_CLEAN);
	/* interval conditions: the whole interval must lie past x */
	c = clause(MON_ALERT_CI_ABOVE);
	ck_assert_int_eq(mon_alert_clause_decide(&c, &o, 0.35, 0), MON_ALERT_BREACH);
	ck_assert_int_eq(mon_alert_clause_decide(&c, &o, 0.45, 0), MON_ALERT_CLEAN);
	c = clause(MON_ALERT_CI_BELOW);
	ck_assert_int_eq(mon_alert_clause_decide(&c, &o, 0.65, 0), MON_ALERT_BREACH);
	ck_assert_int_eq(mon_alert_clause_decide(&c, &o, 0.55, 0), MON_ALERT_CLEAN);
	c = clause(MON_ALERT_Q_BELOW);
	ck_assert_int_eq(mon_alert_clause_decide(&c, &o, 0.05, 0), MON_ALERT_BREACH);
	ck_assert_int_eq(mon_alert_clause_decide(&c, &o, 0.01, 0), MON_ALERT_CLEAN);
}
END_TEST

START_TEST(test_mon_alert_clause_decide_undecided)
{
	struct mon_alert_obs o = {0.5, NAN, NAN, NAN, 20, 0};
	struct mon_alert_clause c = clause(MON_ALERT_CI_BELOW);

	/* no interval, no q-value: an interval or q condition cannot decide */
	ck_assert_int_eq(mon_alert_clause_decide(&c, &o, 0.9, 0), MON_ALERT_UNDECIDED);
	c = clause(MON_ALERT_Q_BELOW);
	ck_assert_int_eq(mon_alert_clause_decide(&c, &o, 0.05, 0), MON_ALERT_UNDECIDED);
	c = clause(MON_ALERT_ABOVE);
	ck_assert_int_eq(mon_alert_clause_decide(&c, &o, 0.1, 0), MON_ALERT_BREACH);
	/* min_n: 20 rows of 30 needed; n unknown */
	ck_assert_int_eq(mon_alert_clause_decide(&c, &o, 0.1, 30), MON_ALERT_UNDECIDED);
	ck_assert_int_eq(mon_alert_clause_decide(&c, &o, 0.1, 20), MON_ALERT_BREACH);
	o.n = -1;
	ck_assert_int_eq(mon_alert_clause_decide(&c, &o, 0.1, 1), MON_ALERT_UNDECIDED);
	ck_assert_int_eq(mon_alert_clause_decide(&c, &o, 0.1, 0), MON_ALERT_BREACH);
	/* insufficient, a missing value, no reference value */
	o.insufficient = 1;
	ck_assert_int_eq(mon_alert_clause_decide(&c, &o, 0.1, 0), MON_ALERT_UNDECIDED);
	o.insufficient = 0;
	o.value = NAN;
	ck_assert_int_eq(mon_alert_clause_decide(&c, &o, 0.1, 0), MON_ALERT_UNDECIDED);
	o.value = 0.5;
	ck_assert_int_eq(mon_alert_clause_decide(&c, &o, NAN, 0), MON_ALERT_UNDECIDED);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mon_alert_rule");
	TCase *tp = tcase_create("parse"), *td = tcase_create("decide");
	SRunner *sr;
	int failed;

	tcase_add_test(tp, test_mon_alert_rule_parse_minimal_defaults);
	tcase_add_test(tp, test_mon_alert_rule_parse_full);
	tcase_add_test(tp, test_mon_alert_rule_parse_refusals);
	tcase_add_test(tp, test_mon_alert_rule_parse_stored);
	tcase_add_test(td, test_mon_alert_clause_decide_ops);
	tcase_add_test(td, test_mon_alert_clause_decide_undecided);
	suite_add_tcase(s, tp);
	suite_add_tcase(s, td);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
