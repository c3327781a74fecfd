/* SPDX-License-Identifier: MIT
 * monitor/alert_rule.h - alert rules as data: their JSON form, validation, storage, and
 * the decision one condition takes on one result
 *
 * A rule belongs to one model and reads that model's results of one scope (sql/0004):
 *
 *   {"name": "sensitivity-drop", "scope": "performance", "metric": "sensitivity",
 *    "condition": "ci_below", "baseline": "reference", "offset": -0.05,
 *    "and": [],  "feature": null, "segment": "*", "segment_value": null, "status": null,
 *    "severity_follows": "fn_cost", "for": 1, "clear": 2, "min_n": 30,
 *    "enabled": true, "description": "..."}
 *
 * - metric: a name or a list of names (any of them: ["ks", "chi_square"] covers numeric
 *   and categorical features).
 * - condition: above, below (the value past x), ci_above, ci_below (the whole interval past
 *   x), q_below (the BH q-value under x); x is "threshold", or the condition may carry it
 *   ("above 0.2"); or, with "baseline": "reference", x is the active reference's own value
 *   of the metric plus "offset", resolved at each evaluation.
 * - and: up to MON_ALERT_CLAUSES_MAX - 1 more {metric, condition, threshold | baseline,
 *   offset} that must hold too (feature drift: PSI above 0.2 and q below 0.05).
 * - feature: null (every feature, each its own alert) or one name; segment: null (the whole
 *   population), "*" (the whole population and every segment value) or an attribute (every
 *   value of it, or only segment_value); status: null, "provisional" or "final".
 * - severity ("page", "ticket", "info"), or severity_follows ("fn_cost": page when a missed
 *   case costs at least as much as a false alarm, else ticket; "fp_cost": page when a false
 *   alarm costs more); for / clear: fire after that many consecutive breaching windows,
 *   resolve after that many clean ones (1..100); min_n: a result with fewer rows decides
 *   nothing.
 * - due_after: seconds (0..366 days; default 0). When set, evaluating a window decides
 *   instead on the newest window that ended at least that long before it: for what is
 *   only meaningful once it is due (label coverage: a window whose labels stopped coming
 *   is never re-evaluated, so it must be looked back at).
 *
 * struct mon_alert_rule owns its strings: fill it with mon_alert_rule_parse (which
 * initialises it, also on failure) and release it with mon_alert_rule_fini.
 */
#ifndef MONITOR_ALERT_RULE_H
#define MONITOR_ALERT_RULE_H
#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "collectors/record.h"
#include "monitor/common.h"

#define MON_ALERT_NAME_MAX 64   /* rule names: [A-Za-z0-9][A-Za-z0-9._-]{0,63} */
#define MON_ALERT_METRIC_MAX 64 /* a metric name's length */
#define MON_ALERT_METRICS_MAX 8 /* metric names in one condition */
#define MON_ALERT_CLAUSES_MAX 4 /* the condition and up to 3 "and" clauses */
#define MON_ALERT_TEXT_MAX 256  /* feature, segment and segment value */
#define MON_ALERT_DESC_MAX 500

enum mon_alert_op {
	MON_ALERT_ABOVE = 0,
	MON_ALERT_BELOW,
	MON_ALERT_CI_ABOVE,
	MON_ALERT_CI_BELOW,
	MON_ALERT_Q_BELOW,
};

/* One condition: any of the metrics, compared with x. */
struct mon_alert_clause {
	char metric[MON_ALERT_METRICS_MAX][MON_ALERT_METRIC_MAX + 1];
	size_t nmetric;
	enum mon_alert_op op;
	int relative; /* 1: x = the reference's value + offset; 0: x = threshold */
	double x;     /* the threshold, or the offset when relative */
};

struct mon_alert_rule {
	int64_t id; /* 0 until stored */
	char name[MON_ALERT_NAME_MAX + 1];
	char scope[24];
	char *feature, *segment, *segment_value; /* NULL as described above */
	char *description;                       /* never NULL after a successful parse */
	struct mon_alert_clause clause[MON_ALERT_CLAUSES_MAX];
	size_t nclause;           /* >= 1: clause[0] is the rule's own condition */
	char severity[8];         /* the severity now (resolved from costs when it follows) */
	char severity_follows[8]; /* "fn_cost", "fp_cost" or "" */
	char status[12];          /* "", "provisional" or "final" */
	int for_windows, clear_windows;
	long long min_n;
	long long due_after_s;
	int enabled;
};

/* Validate the JSON form of a rule into *out. stored = 0 for a request: unknown keys are
 * refused and exactly one of severity and severity_follows must be given. stored = 1 for
 * what mon_alert_rules_load reads back: the read-only keys (id, is_default, created_by,
 * created_at, updated_at) are accepted and severity holds the resolved one. Returns 0, or
 * -EINVAL with diag naming the field (out then needs no fini, but fini is harmless). */
int mon_alert_rule_parse(const cJSON *j, int stored, struct mon_alert_rule *out,
			 struct col_diag *diag) MON_MUSTCHECK;
void mon_alert_rule_fini(struct mon_alert_rule *r); /* NULL is a no-op */

/* "above", "below", "ci_above", "ci_below", "q_below". */
const char *mon_alert_op_name(enum mon_alert_op op);

/* A clause in its canonical JSON form, as stored in alert_rules.and_conditions:
 * {"metric": "psi" | [...], "condition", "threshold"} or {..., "baseline": "reference",
 * "offset"}. Aborts when out of memory. */
cJSON *mon_alert_clause_json(const struct mon_alert_clause *cl);

/* --- deciding ------------------------------------------------------------------------- */

/* One result row as a condition sees it. NaN stands for SQL NULL, n < 0 for unknown. */
struct mon_alert_obs {
	double value, ci_low, ci_high, q_value;
	long long n;
	int insufficient;
};

enum mon_alert_decision {
	MON_ALERT_UNDECIDED = -1, /* not enough data, or a needed field is missing */
	MON_ALERT_CLEAN = 0,
	MON_ALERT_BREACH = 1,
};

/* Decide one clause on one result against the resolved threshold x (NaN: no reference
 * value, so undecided). Undecided when o->insufficient, when min_n > 0 and n is unknown or
 * below min_n, or when the field the condition reads is NaN. Otherwise: above value > x;
 * below value < x; ci_above ci_low > x; ci_below ci_high < x; q_below q_value < x; else
 * clean. Pure. */
enum mon_alert_decision mon_alert_clause_decide(const struct mon_alert_clause *cl,
						const struct mon_alert_obs *o, double x,
						long long min_n);

/* --- storage (the connection must be outside a transaction unless said otherwise) ---- */

/* Every rule of model model_id (with enabled_only, the enabled ones), volume rules first,
 * then by id, into a new array *out of *n rules (free with mon_alert_rules_free). Works
 * inside the caller's transaction. Returns 0, -EAGAIN, or -EIO (also for a stored rule
 * that does not validate; logged). */
int mon_alert_rules_load(PGconn *c, int64_t model_id, int enabled_only, struct mon_alert_rule **out,
			 size_t *n) MON_MUSTCHECK;
void mon_alert_rules_free(struct mon_alert_rule *r, size_t n);

/* The rules of the model named model as a JSON array (the form above plus id, severity
 * resolved, is_default, created_by, created_at, updated_at) into *out. Returns 0, -ENOENT
 * (no such model), -EAGAIN or -EIO. */
int mon_alert_rules_json(PGconn *c, const char *model, cJSON **out) MON_MUSTCHECK;

/* Create or replace (by name) the rule r of the model named model, audited as actor from
 * remote in the same transaction; a replaced default rule becomes the model's own
 * (is_default false). Stores the stored rule's JSON in *out and 1 in *created when it is
 * new. Returns 0, -ENOENT (no such model), -EAGAIN or -EIO. */
int mon_alert_rule_put(PGconn *c, const char *model, const struct mon_alert_rule *r,
		       const char *actor, const char *remote, cJSON **out,
		       int *created) MON_MUSTCHECK;

#endif /* MONITOR_ALERT_RULE_H */
