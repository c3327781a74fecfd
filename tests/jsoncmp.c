/* SPDX-License-Identifier: MIT
 * tests/jsoncmp.c - check that a JSON document contains an expected one, within tolerances
 *
 *   jsoncmp [--rtol R] [--atol A] EXPECTED.json ACTUAL.json
 *
 * Every member of EXPECTED must be present in ACTUAL with an equal value; numbers match when
 * |a - e| <= atol + rtol * |e|; arrays must have the same length and match element-wise;
 * extra members in ACTUAL are allowed (the CLI may add fields); members of EXPECTED whose
 * name starts with '_' are the fixture's metadata and are skipped. Prints each mismatch with
 * its JSON pointer and exits 1 if any; 2 on usage or parse errors.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double rel_tol = 1e-9, abs_tol = 1e-12;
static int mismatches;

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

static void compare(const cJSON *e, const cJSON *a, const char *ptr)
{
	char sub[1024];

	if (!a) {
		printf("%s: missing (expected %s)\n", ptr, cJSON_PrintUnformatted(e));
		mismatches++;
		return;
	}
	if (cJSON_IsNumber(e)) {
		double ev = e->valuedouble, av = a->valuedouble;

		if (!cJSON_IsNumber(a) || fabs(av - ev) > abs_tol + rel_tol * fabs(ev)) {
			printf("%s: expected %.17g, got %s\n", ptr, ev, cJSON_PrintUnformatted(a));
			mismatches++;
		}
		return;
	}
	if (cJSON_IsObject(e)) {
		const cJSON *c;

		if (!cJSON_IsObject(a)) {
			printf("%s: expected an object\n", ptr);
			mismatches++;
			return;
		}
		cJSON_ArrayForEach (c, e) {
			if (c->string[0] == '_')
				continue; /* metadata of the fixture, e.g. _versions */
			snprintf(sub, sizeof(sub), "%s/%s", ptr, c->string);
			compare(c, cJSON_GetObjectItemCaseSensitive(a, c->string), sub);
		}
		return;
	}
	if (cJSON_IsArray(e)) {
		int n = cJSON_GetArraySize(e);

		if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n) {
			printf("%s: expected an array of %d\n", ptr, n);
			mismatches++;
			return;
		}
		for (int i = 0; i < n; i++) {
			snprintf(sub, sizeof(sub), "%s/%d", ptr, i);
			compare(cJSON_GetArrayItem(e, i), cJSON_GetArrayItem(a, i), sub);
		}
		return;
	}
	if (!cJSON_Compare(e, a, 1)) {
		printf("%s: expected %s, got %s\n", ptr, cJSON_PrintUnformatted(e),
		       cJSON_PrintUnformatted(a));
		mismatches++;
	}
}

int main(int argc, char **argv)
{
	int i = 1;

	for (; i + 1 < argc && argv[i][0] == '-' && argv[i][1] == '-'; i += 2) {
		if (!strcmp(argv[i], "--rtol"))
			rel_tol = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--atol"))
			abs_tol = atof(argv[i + 1]);
		else
			break;
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: jsoncmp [--rtol R] [--atol A] EXPECTED ACTUAL\n");
		return 2;
	}
	char *es = slurp(argv[i]), *as = slurp(argv[i + 1]);
	cJSON *e = es ? cJSON_Parse(es) : NULL, *a = as ? cJSON_Parse(as) : NULL;
	if (!e || !a) {
		fprintf(stderr, "jsoncmp: cannot read or parse %s\n", !e ? argv[i] : argv[i + 1]);
		return 2;
	}
	compare(e, a, "");
	cJSON_Delete(e);
	cJSON_Delete(a);
	free(es);
	free(as);
	return mismatches ? 1 : 0;
}
