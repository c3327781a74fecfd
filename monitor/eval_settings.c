/* SPDX-License-Identifier: MIT
 * monitor/eval_settings.c - a model's evaluation settings, as registered
 *
 * The registration parser (col_schema_parse) rejects unknown fields, so the evaluation
 * fields are validated and removed here first, from a copy, and the rest goes on to it.
 * Durations are whole seconds everywhere below; the database keeps them as intervals.
 */
#include "config.h"

#include "monitor/eval_settings.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mon_eval_settings_init(struct mon_eval_settings *e)
{
	e->period_s = MON_EVAL_PERIOD_DEFAULT_S;
	e->lateness_s = MON_EVAL_LATENESS_DEFAULT_S;
	e->label_complete = 0.9;
	e->fn_cost = 1;
	e->fp_cost = 1;
}

/* A whole number of at most 9 digits at *p (advanced past it). -EINVAL when none. */
static int number(const char **p, int64_t *v)
{
	int64_t x = 0;
	int k = 0;

	while (isdigit((unsigned char)**p)) {
		if (++k > 9)
			return -EINVAL;
		x = x * 10 + (**p - '0');
		(*p)++;
	}
	if (!k)
		return -EINVAL;
	*v = x;
	return 0;
}

static int64_t unit_seconds(char u)
{
	switch (u) {
	case 's':
		return 1;
	case 'm':
		return 60;
	case 'h':
		return 3600;
	case 'd':
		return 86400;
	case 'w':
		return 7 * 86400;
	default:
		return 0;
	}
}

/* ISO 8601 "P[nW][nD][T[nH][nM][nS]]": each designator at most once, in that order. */
static int iso_duration(const char *p, int64_t *secs)
{
	static const char date_units[] = "WD", time_units[] = "HMS";
	int64_t total = 0, v;
	const char *order;
	int any = 0, in_time = 0;

	p++; /* 'P' */
	order = date_units;
	while (*p) {
		const char *u;

		if (*p == 'T') {
			if (in_time)
				return -EINVAL;
			in_time = 1;
			order = time_units;
			p++;
			if (!*p)
				return -EINVAL; /* "P1DT" */
			continue;
		}
		if (number(&p, &v))
			return -EINVAL;
		u = *p ? strchr(order, *p) : NULL;
		if (!u)
			return -EINVAL;
		order = u + 1; /* later designators only */
		total += v * unit_seconds((char)(in_time ? tolower((unsigned char)*p)
							 : (*p == 'W' ? 'w' : 'd')));
		any = 1;
		p++;
	}
	if (!any)
		return -EINVAL;
	*secs = total;
	return 0;
}

int mon_eval_parse_duration(const char *s, int64_t *secs)
{
	const char *p = s;
	int64_t v, u;

	if (!s || !*s)
		return -EINVAL;
	if (*s == 'P')
		return iso_duration(s, secs);
	if (number(&p, &v))
		return -EINVAL;
	u = unit_seconds(p[0]);
	if (!u || p[1])
		return -EINVAL;
	*secs = v * u;
	return 0;
}

static void diag_set(struct col_diag *d, const char *key, const char *msg)
{
	snprintf(d->pointer, sizeof(d->pointer), "/%s", key);
	snprintf(d->msg, sizeof(d->msg), "%s", msg);
}

/* A duration field: a whole number of seconds or a duration string, within [lo, hi]. */
static int duration_field(const cJSON *v, const char *key, int64_t lo, int64_t hi, int64_t *out,
			  struct col_diag *d)
{
	char msg[200];
	int64_t s;

	if (cJSON_IsNumber(v)) {
		double x = v->valuedouble;

		if (!isfinite(x) || x != floor(x) || x < (double)lo || x > (double)hi)
			goto range;
		*out = (int64_t)x;
		return 0;
	}
	if (!cJSON_IsString(v)) {
		diag_set(d, key,
			 "must be a number of seconds or a duration such as \"1d\" or "
			 "\"6h\"");
		return -EINVAL;
	}
	if (mon_eval_parse_duration(v->valuestring, &s)) {
		diag_set(d, key,
			 "is not a duration: use seconds, \"90s\", \"30m\", \"6h\", "
			 "\"1d\", \"2w\" or ISO 8601 such as \"PT6H\"");
		return -EINVAL;
	}
	if (s < lo || s > hi)
		goto range;
	*out = s;
	return 0;
range:
	snprintf(msg, sizeof(msg), "must be a whole number of seconds from %lld to %lld",
		 (long long)lo, (long long)hi);
	diag_set(d, key, msg);
	return -EINVAL;
}

/* A number field in [lo, hi] (lo excluded when open_lo). */
static int number_field(const cJSON *v, const char *key, double lo, int open_lo, double hi,
			double *out, struct col_diag *d)
{
	double x;

	if (!cJSON_IsNumber(v)) {
		diag_set(d, key, "must be a number");
		return -EINVAL;
	}
	x = v->valuedouble;
	if (!isfinite(x) || x < lo || (open_lo && x == lo) || x > hi) {
		char msg[200];

		if (isinf(hi))
			snprintf(msg, sizeof(msg), "must be a finite number >= %g", lo);
		else
			snprintf(msg, sizeof(msg), "must be a number in %s%g, %g]",
				 open_lo ? "(" : "[", lo, hi);
		diag_set(d, key, msg);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

int mon_eval_settings_parse(const cJSON *spec, struct mon_eval_settings *out, cJSON **rest,
			    struct col_diag *diag)
{
	static const char *const keys[] = {"evaluation_period", "lateness", "label_complete",
					   "fn_cost", "fp_cost"};
	struct mon_eval_settings e;
	cJSON *copy;
	int ret = 0;

	*rest = NULL;
	mon_eval_settings_init(&e);
	copy = cJSON_Duplicate(spec, 1);
	if (!copy)
		abort();
	if (!cJSON_IsObject(copy))
		goto out;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && !ret; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(copy, keys[i]);
		int seen = 0;

		if (!v)
			continue;
		for (const cJSON *k = copy->child; k; k = k->next)
			seen += k->string && !strcmp(k->string, keys[i]);
		if (seen > 1) {
			diag_set(diag, keys[i], "duplicate field");
			ret = -EINVAL;
			break;
		}
		switch (i) {
		case 0:
			ret = duration_field(v, keys[i], MON_EVAL_PERIOD_MIN_S,
					     MON_EVAL_PERIOD_MAX_S, &e.period_s, diag);
			break;
		case 1:
			ret = duration_field(v, keys[i], 0, MON_EVAL_PERIOD_MAX_S, &e.lateness_s,
					     diag);
			break;
		case 2:
			ret = number_field(v, keys[i], 0, 1, 1, &e.label_complete, diag);
			break;
		case 3:
			ret = number_field(v, keys[i], 0, 0, INFINITY, &e.fn_cost, diag);
			break;
		default:
			ret = number_field(v, keys[i], 0, 0, INFINITY, &e.fp_cost, diag);
			break;
		}
		if (!ret)
			cJSON_DeleteItemFromObjectCaseSensitive(copy, keys[i]);
	}
out:
	if (ret) {
		cJSON_Delete(copy);
		return ret;
	}
	*out = e;
	*rest = copy;
	return 0;
}

void mon_eval_settings_to_json(const struct mon_eval_settings *e, cJSON *obj)
{
	cJSON_AddNumberToObject(obj, "evaluation_period", (double)e->period_s);
	cJSON_AddNumberToObject(obj, "lateness", (double)e->lateness_s);
	cJSON_AddNumberToObject(obj, "label_complete", e->label_complete);
	cJSON_AddNumberToObject(obj, "fn_cost", e->fn_cost);
	cJSON_AddNumberToObject(obj, "fp_cost", e->fp_cost);
}

void mon_eval_settings_from_row(const PGresult *r, int row, int col, struct mon_eval_settings *e)
{
	e->period_s = strtoll(PQgetvalue(r, row, col), NULL, 10);
	e->lateness_s = strtoll(PQgetvalue(r, row, col + 1), NULL, 10);
	e->label_complete = strtod(PQgetvalue(r, row, col + 2), NULL);
	e->fn_cost = strtod(PQgetvalue(r, row, col + 3), NULL);
	e->fp_cost = strtod(PQgetvalue(r, row, col + 4), NULL);
}

int mon_eval_settings_equal(const struct mon_eval_settings *a, const struct mon_eval_settings *b)
{
	return a->period_s == b->period_s && a->lateness_s == b->lateness_s &&
	       a->label_complete == b->label_complete && a->fn_cost == b->fn_cost &&
	       a->fp_cost == b->fp_cost;
}
