/* SPDX-License-Identifier: MIT
 * monitor/render.c - readable tables from the report JSON
 */
#include "config.h"

#include "monitor/render.h"

#include <math.h>
#include <string.h>

static const cJSON *get(const cJSON *o, const char *path)
{
	char key[64];

	while (o && *path) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);

		if (len >= sizeof(key))
			return NULL;
		memcpy(key, path, len);
		key[len] = '\0';
		o = cJSON_GetObjectItemCaseSensitive(o, key);
		path += len + (dot != NULL);
	}
	return o;
}

/* A number with dec decimals (%g when dec < 0) formatted into buf, or "-" when absent or null. */
static const char *num(const cJSON *o, const char *path, int dec, char *buf, size_t cap)
{
	const cJSON *v = get(o, path);

	if (!cJSON_IsNumber(v)) {
		snprintf(buf, cap, "-");
		return buf;
	}
	if (dec < 0)
		snprintf(buf, cap, "%g", v->valuedouble);
	else
		snprintf(buf, cap, "%.*f", dec, v->valuedouble);
	return buf;
}

static const char *pval(const cJSON *o, const char *path, char *buf, size_t cap)
{
	const cJSON *v = get(o, path);

	if (!cJSON_IsNumber(v))
		snprintf(buf, cap, "-");
	else if (v->valuedouble != 0 && v->valuedouble < 1e-4)
		snprintf(buf, cap, "%.2e", v->valuedouble);
	else
		snprintf(buf, cap, "%.4f", v->valuedouble);
	return buf;
}

void mon_render_drift(FILE *f, const cJSON *r)
{
	const cJSON *feat;
	char b[8][32];

	fprintf(f, "reference %s rows, current %s rows; drift when the BH q-value < %s\n",
		num(r, "reference_rows", 0, b[0], 32), num(r, "current_rows", 0, b[1], 32),
		num(r, "alpha", -1, b[2], 32));
	fprintf(f, "%-18s %-5s %8s %8s %7s %7s %-5s %9s %9s %9s %7s %7s %6s  %s\n", "feature",
		"type", "n_ref", "n_cur", "miss_r", "miss_c", "test", "statistic", "p", "q", "psi",
		"w1/sd", "js", "drift");
	cJSON_ArrayForEach (feat, get(r, "features")) {
		int cat = !strcmp(cJSON_GetStringValue(get(feat, "type")) ?: "", "categorical");
		const char *t = cat ? "chi_square" : "ks";
		char stat[40], p[40];

		snprintf(stat, sizeof(stat), "%s", "");
		num(feat, cat ? "chi_square.statistic" : "ks.statistic", cat ? 3 : 4, stat,
		    sizeof(stat));
		pval(feat, cat ? "chi_square.p_value" : "ks.p_value", p, sizeof(p));
		const cJSON *unseen = get(feat, "unseen_categories");
		fprintf(f, "%-18.18s %-5s %8s %8s %7s %7s %-5s %9s %9s %9s %7s %7s %6s  %s%s%s\n",
			cJSON_GetStringValue(get(feat, "name")), cat ? "cat" : "num",
			num(feat, "n_reference", 0, b[0], 32), num(feat, "n_current", 0, b[1], 32),
			num(feat, "missing_reference", 0, b[2], 32),
			num(feat, "missing_current", 0, b[3], 32), cat ? "chi2" : "ks", stat, p,
			pval(feat, "q_value", b[4], 32), num(feat, "psi.value", 3, b[5], 32),
			cat ? "" : num(feat, "wasserstein.normalized", 3, b[6], 32),
			num(feat, "jensen_shannon.value", 3, b[7], 32),
			cJSON_IsTrue(get(feat, "drift")) ? "DRIFT" : "no",
			cJSON_IsTrue(get(feat, "psi_exceeded")) ? " psi>0.2" : "",
			cJSON_GetArraySize(unseen) > 0 ? " unseen:" : "");
		(void)t;
		if (cJSON_GetArraySize(unseen) > 0) {
			const cJSON *u;
			cJSON_ArrayForEach (u, unseen) {
				fprintf(f, "%20s unseen category \"%s\"\n", "",
					cJSON_GetStringValue(u));
			}
		}
	}
	const cJSON *m = get(r, "mmd");
	if (m) {
		char feats[512] = "";
		const cJSON *u;
		size_t k = 0;

		cJSON_ArrayForEach (u, get(m, "features")) {
			k += (size_t)snprintf(feats + k, k < sizeof(feats) ? sizeof(feats) - k : 0,
					      "%s%s", k ? "," : "", cJSON_GetStringValue(u));
			if (k >= sizeof(feats))
				break;
		}
		fprintf(f,
			"mmd: mmd2 %s, sigma %s, p %s (%s permutations), n_ref %s, n_cur %s%s\n"
			"     features: %s\n",
			num(m, "mmd2", 6, b[0], 32), num(m, "sigma", 4, b[1], 32),
			pval(m, "p_value", b[2], 32), num(m, "permutations", 0, b[3], 32),
			num(m, "n_reference", 0, b[4], 32), num(m, "n_current", 0, b[5], 32),
			cJSON_IsTrue(get(m, "subsampled")) ? ", subsampled" : "", feats);
		if (cJSON_GetStringValue(get(m, "undefined_reason")))
			fprintf(f, "     undefined: %s\n",
				cJSON_GetStringValue(get(m, "undefined_reason")));
	}
}

static const char *ci(const cJSON *o, const char *key, char *buf, size_t cap)
{
	const cJSON *m = get(o, key);

	if (!cJSON_IsObject(m) || !cJSON_IsNumber(get(m, "value"))) {
		snprintf(buf, cap, "-");
		return buf;
	}
	snprintf(buf, cap, "%.3f [%.3f,%.3f]", get(m, "value")->valuedouble,
		 get(m, "ci_low")->valuedouble, get(m, "ci_high")->valuedouble);
	return buf;
}

static void group_name(const cJSON *g, char *buf, size_t cap)
{
	const cJSON *attr = get(g, "attribute"), *val = get(g, "value");

	if (cJSON_IsString(attr)) {
		snprintf(buf, cap, "%s=%s", attr->valuestring,
			 cJSON_IsString(val) ? val->valuestring : "(missing)");
		return;
	}
	const cJSON *attrs = get(g, "attributes");
	const cJSON *a0 = cJSON_GetArrayItem(attrs, 0), *a1 = cJSON_GetArrayItem(attrs, 1);
	const cJSON *v0 = cJSON_GetArrayItem(val, 0), *v1 = cJSON_GetArrayItem(val, 1);
	snprintf(buf, cap, "%s=%s & %s=%s", cJSON_GetStringValue(a0) ?: "?",
		 cJSON_IsString(v0) ? v0->valuestring : "(missing)",
		 cJSON_GetStringValue(a1) ?: "?",
		 cJSON_IsString(v1) ? v1->valuestring : "(missing)");
}

static void perf_row(FILE *f, const char *name, const cJSON *g, int est)
{
	char b[9][48];

	if (cJSON_IsTrue(get(g, "insufficient_data"))) {
		fprintf(f, "%-28.28s %7s %7s  insufficient data\n", name, num(g, "n", 0, b[0], 48),
			num(g, est ? "expected_positives" : "positives", 0, b[1], 48));
		return;
	}
	fprintf(f, "%-28.28s %7s %7s %-21s %-21s %-21s %-21s %-21s %6s %6s %s\n", name,
		num(g, "n", 0, b[0], 48),
		num(g, est ? "expected_positives" : "positives", est ? 1 : 0, b[1], 48),
		ci(g, "sensitivity", b[2], 48), ci(g, "specificity", b[3], 48),
		ci(g, "ppv", b[4], 48), ci(g, "npv", b[5], 48), ci(g, "auroc", b[6], 48),
		est ? "" : num(g, "brier", 3, b[7], 48), est ? "" : num(g, "ece", 3, b[8], 48),
		est ? "" : "");
	const cJSON *gaps = get(g, "gaps");
	if (gaps) {
		fprintf(f, "%-28s %15s gap vs overall: sens %s  spec %s  ppv %s  auroc %s\n", "",
			"", ci(gaps, "sensitivity", b[0], 48), ci(gaps, "specificity", b[1], 48),
			ci(gaps, "ppv", b[2], 48), ci(gaps, "auroc", b[3], 48));
	}
	const cJSON *real = get(g, "realized");
	if (real) {
		fprintf(f, "%-28s %15s realised: sens %s  spec %s  ppv %s  auroc %s\n", "", "",
			num(real, "sensitivity", 3, b[0], 48),
			num(real, "specificity", 3, b[1], 48), num(real, "ppv", 3, b[2], 48),
			num(real, "auroc", 3, b[3], 48));
	}
}

static const char *conf_pct(const cJSON *r, char *buf, size_t cap)
{
	const cJSON *v = get(r, "parameters.confidence");

	snprintf(buf, cap, "%g", cJSON_IsNumber(v) ? 100 * v->valuedouble : 95.0);
	return buf;
}

void mon_render_perf(FILE *f, const cJSON *r)
{
	int est = cJSON_IsString(get(r, "method"));
	const cJSON *g;
	char name[160], b[4][32];

	if (est)
		fprintf(f,
			"label-free estimate (CBPE, isotonic calibration on %s reference rows), "
			"threshold %s, %s%% intervals\n",
			num(r, "reference_rows", 0, b[0], 32),
			num(r, "parameters.threshold", -1, b[1], 32), conf_pct(r, b[2], 32));
	else
		fprintf(f,
			"performance at threshold %s, 95%% intervals (Wilson; DeLong for AUROC)\n",
			num(r, "parameters.threshold", -1, b[1], 32));
	fprintf(f, "%-28s %7s %7s %-21s %-21s %-21s %-21s %-21s %6s %6s\n", "group", "n",
		est ? "exp_pos" : "pos", "sensitivity", "specificity", "ppv", "npv", "auroc",
		est ? "" : "brier", est ? "" : "ece");
	perf_row(f, "overall", get(r, "overall"), est);
	cJSON_ArrayForEach (g, get(r, "groups")) {
		group_name(g, name, sizeof(name));
		perf_row(f, name, g, est);
	}
}
