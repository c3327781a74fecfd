/* SPDX-License-Identifier: MIT
 * collectors/record.c - model schemas, record equality, RFC 3339 times, canonical doubles
 *
 * A schema is parsed once from its registration document (cJSON) and then only read: the
 * batch parsers look every feature and segment key up in a small open-addressing table
 * (FNV-1a over the name's bytes), so a record with 20 features costs 20 probes, not a
 * scan. Times are plain integer arithmetic on the proleptic Gregorian calendar
 * (days_from_civil), never the C library's time zone machinery: parsing has to be
 * thread-safe, exact to the microsecond and independent of TZ. The canonical double text
 * is what the store hashes and what categorical values given as JSON numbers become, so
 * it must be a pure function of the double: the shortest of at most 15 significant digits
 * found by Clinger's exact fast path, with "%.17g" as the always-correct fallback.
 */
#include "config.h"

#include "collectors/record.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/table.h" /* col_x*alloc */

#define SEG_BIT 0x80000000u

static void diag_set(struct col_diag *d, const char *pointer, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void diag_set(struct col_diag *d, const char *pointer, const char *fmt, ...)
{
	va_list ap;

	if (!d)
		return;
	snprintf(d->pointer, sizeof(d->pointer), "%s", pointer);
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
}

/* --- times ------------------------------------------------------------------------- */

int64_t col_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void col_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned char dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/* n digits at s as a number, or -1 when one is not a digit. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int col_ts_parse(const char *s, size_t len, int64_t *us)
{
	const char *p, *end;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t frac = 0, t;

	/* YYYY-MM-DDTHH:MM:SS is 19 bytes, and at least 'Z' follows */
	if (!s || len < 20)
		return -EINVAL;
	end = s + len;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    sec < 0 || sec > 59 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':')
		return -EINVAL;
	if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
		return -EINVAL;
	if ((unsigned)d > days_in_month(y, (unsigned)mo))
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		const char *f = ++p;

		/* digits past the sixth only say where inside the microsecond: truncated */
		for (; p < end && *p >= '0' && *p <= '9'; p++)
			if (p - f < 6)
				frac = frac * 10 + (*p - '0');
		if (p == f)
			return -EINVAL;
		for (ptrdiff_t n = p - f; n < 6; n++)
			frac *= 10;
	}
	if (p >= end)
		return -EINVAL;
	if ((*p == 'Z' || *p == 'z') && p + 1 == end) {
		sign = 0;
	} else if ((*p == '+' || *p == '-') && end - p == 6 && p[3] == ':') {
		sign = *p == '+' ? 1 : -1;
		oh = digits(p + 1, 2);
		om = digits(p + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	t = col_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec;
	t -= sign * (oh * 3600 + om * 60);
	*us = t * 1000000 + frac;
	return 0;
}

static char *put2(char *o, unsigned v)
{
	o[0] = (char)('0' + v / 10);
	o[1] = (char)('0' + v % 10);
	return o + 2;
}

size_t col_ts_format(int64_t us, int sql, char *buf)
{
	int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
	int64_t frac = us - secs * 1000000;
	int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	int64_t sod = secs - days * 86400, y;
	unsigned m, d;
	char *o = buf;

	col_civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		y = y < 0 ? 0 : 9999; /* out of the documented range: clamp, never overflow buf */
	o = put2(o, (unsigned)(y / 100));
	o = put2(o, (unsigned)(y % 100));
	*o++ = '-';
	o = put2(o, m);
	*o++ = '-';
	o = put2(o, d);
	*o++ = sql ? ' ' : 'T';
	o = put2(o, (unsigned)(sod / 3600));
	*o++ = ':';
	o = put2(o, (unsigned)(sod / 60 % 60));
	*o++ = ':';
	o = put2(o, (unsigned)(sod % 60));
	if (sql || frac) {
		*o++ = '.';
		for (int64_t div = 100000; div; div /= 10)
			*o++ = (char)('0' + frac / div % 10);
	}
	if (sql) {
		memcpy(o, "+00", 3);
		o += 3;
	} else {
		*o++ = 'Z';
	}
	*o = '\0';
	return (size_t)(o - buf);
}

/* --- canonical doubles -------------------------------------------------------------- */

static const double pow10_tab[23] = {
	1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* Write the decimal digits of v (v < 10^20) ending at end; returns the first digit. */
static char *utoa_rev(uint64_t v, char *end)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

size_t col_format_double(double v, char *buf)
{
	double a = fabs(v);
	char tmp[24], *o = buf, *q;
	size_t n;

	if (isnan(v))
		return (size_t)sprintf(buf, "NaN");
	if (isinf(v))
		return (size_t)sprintf(buf, v < 0 ? "-Infinity" : "Infinity");
	if (signbit(v))
		*o++ = '-';
	if (a < 9007199254740992.0 && a == floor(a)) {
		q = utoa_rev((uint64_t)a, tmp + sizeof(tmp));
		n = (size_t)(tmp + sizeof(tmp) - q);
		memcpy(o, q, n);
		o[n] = '\0';
		return (size_t)(o - buf) + n;
	}
	if (a >= 1e-5 && a < 1e15) {
		/* the fewest fraction digits p whose rounding r / 10^p reads back as a: with
		 * r < 2^53 and 10^p exact, that one division is exactly what strtod computes.
		 * When it does, a * 10^p lies within r * 2^-52 of r, so a product further than
		 * r * 2^-50 from its rounding cannot qualify and skips the division. */
		for (int p = 1; p <= 22; p++) {
			double m = a * pow10_tab[p], r;

			if (m >= 1e15)
				break;
			r = (double)(int64_t)(m + 0.5);
			if (fabs(m - r) > r * 0x1p-50 || r / pow10_tab[p] != a)
				continue;
			q = utoa_rev((uint64_t)r, tmp + sizeof(tmp));
			n = (size_t)(tmp + sizeof(tmp) - q);
			if (n > (size_t)p) {
				memcpy(o, q, n - (size_t)p);
				o += n - (size_t)p;
				*o++ = '.';
				memcpy(o, q + n - (size_t)p, (size_t)p);
				o += p;
			} else {
				*o++ = '0';
				*o++ = '.';
				for (size_t z = n; z < (size_t)p; z++)
					*o++ = '0';
				memcpy(o, q, n);
				o += n;
			}
			*o = '\0';
			return (size_t)(o - buf);
		}
	}
	return (size_t)(o - buf) + (size_t)snprintf(o, COL_DOUBLE_BUF - 1, "%.17g", a);
}

/* --- schema ------------------------------------------------------------------------- */

static uint32_t fnv1a(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static const char *slot_name(const struct col_schema *s, uint32_t v)
{
	return v & SEG_BIT ? s->seg[(v & ~SEG_BIT) - 1] : s->feat[v - 1].name;
}

/* The hash table holds two words a slot: the entry (feature i + 1, or SEG_BIT | segment
 * i + 1; 0 when free) and its name's length, compared before the bytes. */
long col_schema_find(const struct col_schema *s, const char *name, size_t len, int *is_segment)
{
	size_t i = fnv1a(name, len) & s->hmask;
	uint32_t v;

	while ((v = s->hash[2 * i])) {
		if (s->hash[2 * i + 1] == len && !memcmp(slot_name(s, v), name, len)) {
			*is_segment = !!(v & SEG_BIT);
			return (long)((v & ~SEG_BIT) - 1);
		}
		i = (i + 1) & s->hmask;
	}
	return -1;
}

void col_schema_free(struct col_schema *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nfeat; i++)
		free(s->feat[i].name);
	for (size_t i = 0; i < s->nseg; i++)
		free(s->seg[i]);
	free(s->feat);
	free(s->seg);
	free(s->hash);
	free(s->name);
	free(s->version);
	free(s->positive_label);
	free(s->negative_label);
	free(s);
}

int col_model_name_ok(const char *n)
{
	size_t len = n ? strlen(n) : 0;

	if (!len || len > COL_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = n[i];
		int alnum =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return 0;
	}
	return 1;
}

/* NULL when n may name a feature or segment, else why not. */
static const char *field_name_problem(const char *n)
{
	size_t len = strlen(n);

	if (!len)
		return "name is empty";
	if (len > COL_NAME_MAX)
		return "name is longer than 128 bytes";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)n[i] < 0x20 || n[i] == 0x7f)
			return "name contains a control character";
	return NULL;
}

/* The text of a label value: a string (1..COL_VALUE_MAX bytes) or a number. */
static int label_text(const cJSON *it, const char *ptr, char **out, struct col_diag *diag)
{
	char buf[COL_DOUBLE_BUF];

	if (cJSON_IsNumber(it)) {
		if (!isfinite(it->valuedouble)) {
			diag_set(diag, ptr, "label is not a finite number");
			return -EINVAL;
		}
		col_format_double(it->valuedouble, buf);
		*out = col_xstrndup(buf, strlen(buf));
		return 0;
	}
	if (!cJSON_IsString(it)) {
		diag_set(diag, ptr, "expected a string");
		return -EINVAL;
	}
	if (!it->valuestring[0] || strlen(it->valuestring) > COL_VALUE_MAX) {
		diag_set(diag, ptr, "label must be 1 to %d bytes", COL_VALUE_MAX);
		return -EINVAL;
	}
	*out = col_xstrndup(it->valuestring, strlen(it->valuestring));
	return 0;
}

/* Enter name (feature i+1 or segment SEG_BIT|i+1) into the lookup table; -EEXIST when
 * the name is taken. */
static int hash_add(struct col_schema *s, const char *name, uint32_t v)
{
	size_t len = strlen(name);
	size_t i = fnv1a(name, len) & s->hmask;

	while (s->hash[2 * i]) {
		if (!strcmp(slot_name(s, s->hash[2 * i]), name))
			return -EEXIST;
		i = (i + 1) & s->hmask;
	}
	s->hash[2 * i] = v;
	s->hash[2 * i + 1] = (uint32_t)len;
	return 0;
}

/* Reject keys of object o other than the NULL-terminated list allowed, and duplicates. */
static int check_keys(const cJSON *o, const char *const *allowed, const char *prefix,
		      struct col_diag *diag)
{
	char ptr[sizeof(diag->pointer)];

	for (const cJSON *k = o->child; k; k = k->next) {
		int known = 0;

		for (size_t i = 0; allowed[i]; i++)
			known |= !strcmp(k->string, allowed[i]);
		snprintf(ptr, sizeof(ptr), "%s/%s", prefix, k->string);
		if (!known) {
			diag_set(diag, ptr, "unknown field");
			return -EINVAL;
		}
		for (const cJSON *j = o->child; j != k; j = j->next) {
			if (!strcmp(j->string, k->string)) {
				diag_set(diag, ptr, "duplicate field");
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int parse_features(struct col_schema *s, const cJSON *fs, struct col_diag *diag)
{
	static const char *const keys[] = {"name", "type", NULL};
	char ptr[sizeof(diag->pointer)];
	size_t i = 0;
	int rc;

	for (const cJSON *f = fs->child; f; f = f->next, i++) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(f, "name");
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(f, "type");
		struct col_feature *ft = &s->feat[i];
		const char *why;

		snprintf(ptr, sizeof(ptr), "/features/%zu", i);
		if (!cJSON_IsObject(f)) {
			diag_set(diag, ptr, "expected an object with name and type");
			return -EINVAL;
		}
		rc = check_keys(f, keys, ptr, diag);
		if (rc)
			return rc;
		snprintf(ptr, sizeof(ptr), "/features/%zu/name", i);
		if (!cJSON_IsString(n)) {
			diag_set(diag, ptr, n ? "expected a string" : "required field missing");
			return -EINVAL;
		}
		why = field_name_problem(n->valuestring);
		if (why) {
			diag_set(diag, ptr, "%s", why);
			return -EINVAL;
		}
		snprintf(ptr, sizeof(ptr), "/features/%zu/type", i);
		if (!cJSON_IsString(t)) {
			diag_set(diag, ptr,
				 t ? "expected \"numeric\" or \"categorical\""
				   : "required field missing");
			return -EINVAL;
		}
		if (!strcmp(t->valuestring, "numeric")) {
			ft->type = COL_NUMERIC;
			ft->slot = s->nnum++;
		} else if (!strcmp(t->valuestring, "categorical")) {
			ft->type = COL_CATEGORICAL;
			ft->slot = s->ncat++;
		} else {
			diag_set(diag, ptr, "expected \"numeric\" or \"categorical\"");
			return -EINVAL;
		}
		ft->name = col_xstrndup(n->valuestring, strlen(n->valuestring));
		s->nfeat = i + 1;
		if (hash_add(s, ft->name, (uint32_t)(i + 1))) {
			snprintf(ptr, sizeof(ptr), "/features/%zu/name", i);
			diag_set(diag, ptr, "duplicate feature name \"%.128s\"", ft->name);
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_segments(struct col_schema *s, const cJSON *ss, struct col_diag *diag)
{
	char ptr[sizeof(diag->pointer)];
	size_t i = 0;

	for (const cJSON *g = ss->child; g; g = g->next, i++) {
		const char *why;

		snprintf(ptr, sizeof(ptr), "/segments/%zu", i);
		if (!cJSON_IsString(g)) {
			diag_set(diag, ptr, "expected a string");
			return -EINVAL;
		}
		why = field_name_problem(g->valuestring);
		if (why) {
			diag_set(diag, ptr, "%s", why);
			return -EINVAL;
		}
		s->seg[i] = col_xstrndup(g->valuestring, strlen(g->valuestring));
		s->nseg = i + 1;
		if (hash_add(s, s->seg[i], SEG_BIT | (uint32_t)(i + 1))) {
			int is_seg = 0;
			long f = col_schema_find(s, s->seg[i], strlen(s->seg[i]), &is_seg);

			if (f >= 0 && !is_seg)
				diag_set(diag, ptr,
					 "\"%.128s\" is already a feature (/features/%ld)",
					 s->seg[i], f);
			else
				diag_set(diag, ptr, "duplicate segment name \"%.128s\"", s->seg[i]);
			return -EINVAL;
		}
	}
	return 0;
}

int col_schema_parse(const cJSON *spec, struct col_schema **out, struct col_diag *diag)
{
	static const char *const keys[] = {
		"name",           "version",  "threshold", "positive_label",
		"negative_label", "features", "segments",  NULL};
	const cJSON *name, *ver, *thr, *pos, *neg, *fs, *ss;
	struct col_schema *s = NULL;
	size_t nf, ns, cap;
	int rc = -EINVAL;

	if (!cJSON_IsObject(spec)) {
		diag_set(diag, "", "model registration must be a JSON object");
		goto out;
	}
	rc = check_keys(spec, keys, "", diag);
	if (rc)
		goto out;
	rc = -EINVAL;
	name = cJSON_GetObjectItemCaseSensitive(spec, "name");
	ver = cJSON_GetObjectItemCaseSensitive(spec, "version");
	thr = cJSON_GetObjectItemCaseSensitive(spec, "threshold");
	pos = cJSON_GetObjectItemCaseSensitive(spec, "positive_label");
	neg = cJSON_GetObjectItemCaseSensitive(spec, "negative_label");
	fs = cJSON_GetObjectItemCaseSensitive(spec, "features");
	ss = cJSON_GetObjectItemCaseSensitive(spec, "segments");
	if (!cJSON_IsString(name)) {
		diag_set(diag, "/name", name ? "expected a string" : "required field missing");
		goto out;
	}
	if (!col_model_name_ok(name->valuestring)) {
		diag_set(diag, "/name", "model name must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$");
		goto out;
	}
	if (ver && (!cJSON_IsString(ver) || strlen(ver->valuestring) > COL_NAME_MAX)) {
		diag_set(diag, "/version", "expected a string of at most 128 bytes");
		goto out;
	}
	if (thr && (!cJSON_IsNumber(thr) || !(thr->valuedouble >= 0 && thr->valuedouble <= 1))) {
		diag_set(diag, "/threshold", "threshold must be a number between 0 and 1");
		goto out;
	}
	if (!cJSON_IsArray(fs)) {
		diag_set(diag, "/features", fs ? "expected an array" : "required field missing");
		goto out;
	}
	if (ss && !cJSON_IsArray(ss)) {
		diag_set(diag, "/segments", "expected an array");
		goto out;
	}
	nf = (size_t)cJSON_GetArraySize(fs);
	ns = ss ? (size_t)cJSON_GetArraySize(ss) : 0;
	if (nf > COL_FEATURES_MAX) {
		diag_set(diag, "/features", "more than %d features", COL_FEATURES_MAX);
		goto out;
	}
	if (ns > COL_SEGMENTS_MAX) {
		diag_set(diag, "/segments", "more than %d segments", COL_SEGMENTS_MAX);
		goto out;
	}
	s = col_xcalloc(1, sizeof(*s));
	s->name = col_xstrndup(name->valuestring, strlen(name->valuestring));
	s->version = col_xstrndup(ver ? ver->valuestring : "", ver ? strlen(ver->valuestring) : 0);
	s->threshold = thr ? thr->valuedouble : 0.5;
	s->feat = col_xcalloc(nf ? nf : 1, sizeof(*s->feat));
	s->seg = col_xcalloc(ns ? ns : 1, sizeof(*s->seg));
	for (cap = 8; cap < 2 * (nf + ns); cap *= 2)
		;
	s->hash = col_xcalloc(2 * cap, sizeof(*s->hash));
	s->hmask = cap - 1;
	if (pos && label_text(pos, "/positive_label", &s->positive_label, diag))
		goto out;
	if (neg && label_text(neg, "/negative_label", &s->negative_label, diag))
		goto out;
	if (!pos)
		s->positive_label = col_xstrndup("1", 1);
	if (!neg)
		s->negative_label = col_xstrndup("0", 1);
	if (!strcmp(s->positive_label, s->negative_label)) {
		diag_set(diag, neg ? "/negative_label" : "/positive_label",
			 "positive_label and negative_label must differ");
		goto out;
	}
	rc = parse_features(s, fs, diag);
	if (rc)
		goto out;
	if (ss)
		rc = parse_segments(s, ss, diag);
	if (rc)
		goto out;
	*out = s;
	s = NULL;
out:
	col_schema_free(s);
	return rc;
}

cJSON *col_schema_to_json(const struct col_schema *s)
{
	cJSON *o = cJSON_CreateObject(), *fs, *ss;

	if (!o)
		abort();
	if (!cJSON_AddStringToObject(o, "name", s->name) ||
	    !cJSON_AddStringToObject(o, "version", s->version) ||
	    !cJSON_AddNumberToObject(o, "threshold", s->threshold) ||
	    !cJSON_AddStringToObject(o, "positive_label", s->positive_label) ||
	    !cJSON_AddStringToObject(o, "negative_label", s->negative_label) ||
	    !(fs = cJSON_AddArrayToObject(o, "features")) ||
	    !(ss = cJSON_AddArrayToObject(o, "segments")))
		abort();
	for (size_t i = 0; i < s->nfeat; i++) {
		cJSON *f = cJSON_CreateObject();

		if (!f || !cJSON_AddItemToArray(fs, f) ||
		    !cJSON_AddStringToObject(f, "name", s->feat[i].name) ||
		    !cJSON_AddStringToObject(
			    f, "type", s->feat[i].type == COL_NUMERIC ? "numeric" : "categorical"))
			abort();
	}
	for (size_t i = 0; i < s->nseg; i++) {
		cJSON *g = cJSON_CreateString(s->seg[i]);

		if (!g || !cJSON_AddItemToArray(ss, g))
			abort();
	}
	return o;
}

int col_schema_equal(const struct col_schema *a, const struct col_schema *b)
{
	if (strcmp(a->name, b->name) || strcmp(a->version, b->version) ||
	    a->threshold != b->threshold || strcmp(a->positive_label, b->positive_label) ||
	    strcmp(a->negative_label, b->negative_label) || a->nfeat != b->nfeat ||
	    a->nseg != b->nseg)
		return 0;
	for (size_t i = 0; i < a->nfeat; i++)
		if (a->feat[i].type != b->feat[i].type || strcmp(a->feat[i].name, b->feat[i].name))
			return 0;
	for (size_t i = 0; i < a->nseg; i++)
		if (strcmp(a->seg[i], b->seg[i]))
			return 0;
	return 1;
}

/* --- records ------------------------------------------------------------------------ */

static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static int same_num(double a, double b)
{
	return (isnan(a) && isnan(b)) || (a == b && signbit(a) == signbit(b));
}

int col_record_equal(const struct col_schema *s, const struct col_record *a,
		     const struct col_record *b)
{
	if (a->ts != b->ts || a->label != b->label || !same_num(a->score, b->score))
		return 0;
	if (a->num && b->num)
		for (size_t i = 0; i < s->nnum; i++)
			if (!same_num(a->num[i], b->num[i]))
				return 0;
	if (a->cat && b->cat)
		for (size_t i = 0; i < s->ncat; i++)
			if (!same_str(a->cat[i], b->cat[i]))
				return 0;
	if (a->seg && b->seg)
		for (size_t i = 0; i < s->nseg; i++)
			if (!same_str(a->seg[i], b->seg[i]))
				return 0;
	return 1;
}
