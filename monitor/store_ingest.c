/* SPDX-License-Identifier: MIT
 * monitor/store_ingest.c - writing predictions, labels and references, one transaction a batch
 *
 * A batch costs a constant number of round trips whatever its size:
 *   BEGIN
 *   SELECT set_config(...) FROM models WHERE id = $1 FOR KEY SHARE     (see begin_model)
 *   COPY prediction_ids FROM STDIN (FORMAT binary)
 *          (optimistically; after a unique violation again, as an INSERT skipping stored
 *          ids with one index probe each and RETURNING the new ones: see pred_ids_new_sql)
 *   [only when some id was stored already: one SELECT naming those whose digest differs]
 *   COPY predictions FROM STDIN (FORMAT binary)  (only the records not stored before)
 *   COMMIT
 * The registry insert comes first because a partitioned table cannot hold a unique key
 * without its partition key, and because it settles concurrent senders of the same id: the
 * primary key lets only one of them in, and the other runs its batch again with ON
 * CONFLICT DO NOTHING, which waits for the first and then skips (see pred_ids_fast_sql).
 * Ids go in sorted (bytewise, the registry key's order: sql/0007_ingest_speed.sql), so
 * that every transaction takes its index locks in the same order and two overlapping
 * batches cannot deadlock (a deadlock or serialization failure is still retried). Rows and
 * array parameters travel in PostgreSQL's binary forms: the server parses no text. Each
 * record's canonical text (store_ingest.h) is built once, for its digest only.
 *
 * Bulk writes leave the planner's statistics behind: mon_store_analyze_stale, run by a
 * maintenance task every few seconds, analyses the tables that changed a lot.
 *
 * Partition DDL is the one place where SQL text is composed: the partition's name and
 * bounds are printed from a year and month computed here (never from request text), then
 * checked against ^predictions_y[0-9]{4}m[0-9]{2}$ before use.
 */
#include "config.h"

#include "monitor/store_ingest.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/db.h"
#include "monitor/log.h"
#include "monitor/migrate.h"
#include "monitor/pgtext.h"

#define LOG_PREFIX "store: "
#define COPY_CHUNK (1 << 20) /* bytes handed to PQputCopyData at once */
#define ATTEMPTS 4           /* per batch: new ids, probed ids, ON CONFLICT, one retry */
#define EPOCH_YEAR 1970
#define LAST_YEAR 2199 /* the partition cache covers 1970-01 .. 2199-12 */
#define MONTHS ((LAST_YEAR - EPOCH_YEAR + 1) * 12)
#define RETRY_TX (-EDEADLK)    /* deadlock or serialization failure: run the batch again */
#define NO_PARTITION (-ERANGE) /* a row found no partition: re-create, run again */
#define UNIQUE_RACE (-EBUSY)   /* another transaction stored one of our ids: run again, safely */

enum { ST_NEW = 0, ST_DUP, ST_CONFLICT };

static const char pred_tag[] = "vigil-prediction-v1\n";
static const char label_tag[] = "vigil-label-v1\n";

/* --- database helpers ---------------------------------------------------------------------- */

/* A failed statement: -EAGAIN (database away), RETRY_TX, NO_PARTITION, UNIQUE_RACE, or
 * else as mon_db_error (-ETIMEDOUT, or -EIO after logging it). */
static int db_error(PGconn *c, const PGresult *r, const char *what)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (mon_db_unavailable(c, r))
		return -EAGAIN;
	if (state && (!strcmp(state, "40001") || !strcmp(state, "40P01")))
		return RETRY_TX;
	if (state && !strcmp(state, "23514") && msg && !strncmp(msg, "no partition", 12))
		return NO_PARTITION;
	if (state && !strcmp(state, "23505"))
		return UNIQUE_RACE;
	return mon_db_error(c, r, LOG_PREFIX, what);
}

static int command(PGconn *c, const char *sql, int n, const char *const *params, const char *what)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	int ret = 0;

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		ret = db_error(c, r, what);
	PQclear(r);
	return ret;
}

static int begin(PGconn *c)
{
	int ret = command(c, "BEGIN", 0, NULL, "could not begin a transaction");

	if (!ret)
		ret = command(c, "SET LOCAL synchronous_commit TO on", 0, NULL,
			      "could not set synchronous_commit");
	return ret;
}

/* BEGIN, then in one statement: synchronous_commit on; the plan shape every lookup of
 * stored ids needs (index probes: with statistics taken while a model was small, the
 * planner would otherwise scan or hash the whole table once per batch, or once per row);
 * a key-share lock on the model's row, what a foreign key to models takes for every
 * inserted row (sql/0002_ingest.sql), taken once for the batch; and a mark that moves the
 * model's data version (sql/0006_data_version.sql: an append, so concurrent batches do not
 * wait for each other), which commits or rolls back with the batch. The settings end with
 * the transaction. -ENOENT when the model is gone. */
static int begin_model(PGconn *c, const char *model)
{
	const char *params[1] = {model};
	PGresult *r;
	int ret = command(c, "BEGIN", 0, NULL, "could not begin a transaction");

	if (ret)
		return ret;
	r = PQexecParams(c,
			 "WITH mark AS (INSERT INTO model_data_marks (model_id) "
			 "VALUES ($1::int8)) "
			 "SELECT set_config('synchronous_commit', 'on', true), "
			 "set_config('enable_seqscan', 'off', true), "
			 "set_config('enable_hashjoin', 'off', true), "
			 "set_config('enable_mergejoin', 'off', true) "
			 "FROM models WHERE id = $1::int8 FOR KEY SHARE",
			 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		ret = db_error(c, r, "could not lock the model");
	else if (PQntuples(r) == 0)
		ret = -ENOENT;
	PQclear(r);
	return ret;
}

static void rollback(PGconn *c)
{
	if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
		(void)command(c, "ROLLBACK", 0, NULL, "could not roll back");
}

/* Run one COPY ... FROM STDIN with the rows in data. */
static int copy_in(PGconn *c, const char *sql, const struct mon_buf *data, const char *what)
{
	PGresult *r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);
	int ret = 0;

	if (PQresultStatus(r) != PGRES_COPY_IN) {
		ret = db_error(c, r, what);
		PQclear(r);
		return ret;
	}
	PQclear(r);
	for (size_t off = 0; off < data->len;) {
		size_t n = data->len - off < COPY_CHUNK ? data->len - off : COPY_CHUNK;

		if (PQputCopyData(c, data->p + off, (int)n) != 1) {
			ret = -EIO;
			break;
		}
		off += n;
	}
	if (PQputCopyEnd(c, ret ? "vigil: could not send the rows" : NULL) != 1 && !ret)
		ret = -EIO;
	while ((r = PQgetResult(c))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			int e = db_error(c, r, what);

			if (!ret || ret == -EIO)
				ret = e;
		}
		PQclear(r);
	}
	if (ret == -EIO && PQstatus(c) != CONNECTION_OK)
		ret = -EAGAIN;
	return ret;
}

/* --- partitions ---------------------------------------------------------------------------- */

static struct {
	pthread_mutex_t lock;
	uint64_t known[(MONTHS + 63) / 64];
} parts = {PTHREAD_MUTEX_INITIALIZER, {0}};

static int month_known(long m)
{
	int k;

	pthread_mutex_lock(&parts.lock);
	k = !!(parts.known[m / 64] & (UINT64_C(1) << (m % 64)));
	pthread_mutex_unlock(&parts.lock);
	return k;
}

static void month_set_known(long m)
{
	pthread_mutex_lock(&parts.lock);
	parts.known[m / 64] |= UINT64_C(1) << (m % 64);
	pthread_mutex_unlock(&parts.lock);
}

void mon_store_partitions_forget(void)
{
	pthread_mutex_lock(&parts.lock);
	memset(parts.known, 0, sizeof(parts.known));
	pthread_mutex_unlock(&parts.lock);
}

/* The month index (months since 1970-01) of us, or -1 outside the cached years. */
static long month_of(int64_t us)
{
	int64_t days = us >= 0 ? us / 86400000000 : -((-us + 86399999999) / 86400000000), y;
	unsigned m, d;

	col_civil_from_days(days, &y, &m, &d);
	if (y < EPOCH_YEAR || y > LAST_YEAR)
		return -1;
	return (long)((y - EPOCH_YEAR) * 12 + (m - 1));
}

size_t mon_store_partition_name(int year, unsigned month, char *buf, size_t len)
{
	int n = snprintf(buf, len, "predictions_y%04dm%02u", year, month);

	return n < 0 ? 0 : (size_t)n;
}

/* 1 when name is exactly predictions_y<4 digits>m<2 digits>. */
static int partition_name_ok(const char *name)
{
	static const char prefix[] = "predictions_y";
	size_t p = sizeof(prefix) - 1;

	if (strlen(name) != p + 7 || memcmp(name, prefix, p) || name[p + 4] != 'm')
		return 0;
	for (size_t i = 0; i < 7; i++)
		if (i != 4 && (name[p + i] < '0' || name[p + i] > '9'))
			return 0;
	return 1;
}

static const char partition_lock_sql[] =
	"SELECT pg_advisory_xact_lock(" MON_LOCK_CLASS_SQL ", " MON_LOCK_PARTITION_SQL ")";

/* Create the partition of month m (index since 1970-01) unless it exists. */
static int ensure_month(PGconn *c, long m)
{
	int year = EPOCH_YEAR + (int)(m / 12), nyear = year + (m % 12 == 11);
	unsigned month = (unsigned)(m % 12) + 1, nmonth = month % 12 + 1;
	char name[32], sql[256], stats_sql[256];
	const char *params[1] = {name};
	PGresult *r = NULL;
	int ret;

	mon_store_partition_name(year, month, name, sizeof(name));
	if (!partition_name_ok(name)) {
		log_err(LOG_PREFIX "bad partition name \"%s\" for month %ld", name, m);
		abort(); /* an invariant: the name comes from integers */
	}
	/* name and bounds come from integers only: the one place SQL text is composed (with the
	 * statement below) */
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE %s PARTITION OF predictions FOR VALUES FROM "
		 "('%04d-%02u-01 00:00:00+00') TO ('%04d-%02u-01 00:00:00+00')",
		 name, year, month, nyear, nmonth);
	/* as on predictions and the partitions made before (sql/0007_ingest_speed.sql): a new
	 * partition does not take a column's statistics target from its parent */
	snprintf(stats_sql, sizeof(stats_sql),
		 "ALTER TABLE %s ALTER COLUMN num SET STATISTICS 0, "
		 "ALTER COLUMN cat SET STATISTICS 0, ALTER COLUMN seg SET STATISTICS 0",
		 name);
	ret = command(c, "BEGIN", 0, NULL, "could not begin a transaction");
	if (ret)
		return ret;
	ret = command(c, partition_lock_sql, 0, NULL, "could not lock partitions");
	if (ret)
		goto out;
	r = PQexecParams(c, "SELECT to_regclass($1) IS NOT NULL", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = db_error(c, r, "could not look up a partition");
		goto out;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "t")) {
		PQclear(r);
		r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);

			/* 42P17: another partition (made by hand) covers the month already */
			if (state && !strcmp(state, "42P17")) {
				log_warn(LOG_PREFIX
					 "partition %s overlaps an existing one; using that",
					 name);
			} else {
				ret = db_error(c, r, "could not create a predictions partition");
				goto out;
			}
		} else {
			log_info(LOG_PREFIX "created partition %s", name);
			ret = command(c, stats_sql, 0, NULL,
				      "could not set a partition's statistics targets");
			if (ret)
				goto out;
		}
	}
	ret = command(c, "COMMIT", 0, NULL, "could not commit a partition");
	if (!ret)
		month_set_known(m);
out:
	PQclear(r);
	rollback(c);
	return ret;
}

int mon_store_partitions_ensure(PGconn *c, int64_t from_us, int64_t to_us, int recheck)
{
	long a = month_of(from_us), z = month_of(to_us);
	int ret = 0;

	if (a < 0 || z < a || z - a > 1200)
		return -EINVAL;
	for (long m = a; m <= z && !ret; m++)
		if (recheck || !month_known(m))
			ret = ensure_month(c, m);
	return ret;
}

/* Create what the months of the batch's new records need. */
static int ensure_batch_months(PGconn *c, const struct col_batch *b)
{
	uint64_t need[(MONTHS + 63) / 64] = {0};
	long last = -1;
	int ret = 0;

	for (size_t i = 0; i < b->nrec; i++) {
		long m;

		if (b->rec[i].state != COL_REC_NEW)
			continue;
		m = month_of(b->rec[i].ts);
		if (m == last || m < 0) /* consecutive records mostly share a month */
			continue;
		need[m / 64] |= UINT64_C(1) << (m % 64);
		last = m;
	}
	for (long m = 0; m < MONTHS && !ret; m++)
		if ((need[m / 64] >> (m % 64)) & 1 && !month_known(m))
			ret = ensure_month(c, m);
	return ret;
}

/* --- canonical rows and digests -------------------------------------------------------------- */

/* The records of a batch being stored: the COL_REC_NEW ones, their COPY text (everything
 * after the id), digests, and an index from id to position. */
struct prep {
	size_t n;
	size_t *idx; /* position in b->rec */
	size_t *off; /* n + 1 offsets into text */
	struct mon_buf text;
	unsigned char (*dig)[32];
	unsigned char *st; /* ST_* per record, for the current attempt */
	size_t *order;     /* positions sorted by id (bytewise): the order sent */
	size_t *tab;       /* open addressing over ids: position + 1 */
	size_t mask;
};

static uint64_t hash_id(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* The position of the record with id s[0..len), or -1. */
static long prep_find(const struct prep *p, const struct col_batch *b, const char *s, size_t len)
{
	for (size_t h = (size_t)hash_id(s, len) & p->mask; p->tab[h]; h = (h + 1) & p->mask) {
		const char *id = b->rec[p->idx[p->tab[h] - 1]].id;

		if (!strncmp(id, s, len) && id[len] == '\0')
			return (long)(p->tab[h] - 1);
	}
	return -1;
}

static void prep_fini(struct prep *p)
{
	free(p->idx);
	free(p->off);
	free(p->dig);
	free(p->st);
	free(p->order);
	free(p->tab);
	mon_buf_fini(&p->text);
}

/* Append the content text of r (kind of b) to t: see the digests in store_ingest.h. */
static void content_text(struct mon_buf *t, const struct col_batch *b, const struct col_record *r)
{
	const struct col_schema *s = b->schema;
	char *o;

	if (b->kind == COL_BATCH_LABELS) {
		o = mon_buf_room(t, COL_TS_BUF + 4);
		*o++ = r->label ? '1' : '0';
		*o++ = '\t';
		t->len = (size_t)(o - t->p) + col_ts_format(r->ts, 1, o);
		return;
	}
	if (b->kind == COL_BATCH_REFERENCE) {
		if (r->ts == COL_TS_NONE) {
			mon_buf_put(t, "\\N", 2);
		} else {
			o = mon_buf_room(t, COL_TS_BUF);
			t->len += col_ts_format(r->ts, 1, o);
		}
		o = mon_buf_room(t, COL_DOUBLE_BUF + 4);
		*o++ = '\t';
		o += col_format_double(r->score, o);
		*o++ = '\t';
		*o++ = r->label ? '1' : '0';
		*o++ = '\t';
		t->len = (size_t)(o - t->p);
	} else {
		o = mon_buf_room(t, COL_TS_BUF + COL_DOUBLE_BUF + 2);
		o += col_ts_format(r->ts, 1, o);
		*o++ = '\t';
		o += col_format_double(r->score, o);
		*o++ = '\t';
		t->len = (size_t)(o - t->p);
	}
	mon_pgtext_copy_num_array(t, r->num, s->nnum);
	mon_buf_putc(t, '\t');
	mon_pgtext_copy_text_array(t, r->cat, s->ncat);
	mon_buf_putc(t, '\t');
	mon_pgtext_copy_text_array(t, r->seg, s->nseg);
}

struct idpos {
	const char *id;
	size_t k;
};

static int idpos_cmp(const void *a, const void *b)
{
	return strcmp(((const struct idpos *)a)->id, ((const struct idpos *)b)->id);
}

/* Fill p->order: every transaction sends ids in the same (byte) order, so two batches
 * that share ids take their row locks in the same order and cannot deadlock. */
static void sort_ids(struct prep *p, const struct col_batch *b)
{
	struct idpos *v = mon_xmalloc((p->n + 1) * sizeof(*v));

	for (size_t k = 0; k < p->n; k++) {
		v[k].id = b->rec[p->idx[k]].id;
		v[k].k = k;
	}
	qsort(v, p->n, sizeof(*v), idpos_cmp);
	p->order = mon_xmalloc((p->n + 1) * sizeof(*p->order));
	for (size_t k = 0; k < p->n; k++)
		p->order[k] = v[k].k;
	free(v);
}

static int prep_init(struct prep *p, const struct col_batch *b)
{
	const char *tag = b->kind == COL_BATCH_LABELS ? label_tag : pred_tag;
	size_t taglen = strlen(tag), cap = 16;
	gnutls_hash_hd_t h;

	memset(p, 0, sizeof(*p));
	p->idx = mon_xmalloc((b->nrec + 1) * sizeof(*p->idx));
	p->off = mon_xmalloc((b->nrec + 1) * sizeof(*p->off));
	p->dig = mon_xmalloc((b->nrec + 1) * sizeof(*p->dig));
	p->st = mon_xcalloc(b->nrec + 1, 1);
	while (cap < 2 * b->nrec)
		cap *= 2;
	p->tab = mon_xcalloc(cap, sizeof(*p->tab));
	p->mask = cap - 1;
	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0) {
		log_err(LOG_PREFIX "could not start SHA-256");
		return -EIO;
	}
	for (size_t i = 0; i < b->nrec; i++) {
		const struct col_record *r = &b->rec[i];
		size_t k = p->n, start = p->text.len;
		size_t hh;

		if (r->state != COL_REC_NEW)
			continue;
		p->idx[k] = i;
		p->off[k] = start;
		content_text(&p->text, b, r);
		if (k == 0) /* records are alike: size the buffer once from the first */
			mon_buf_room(&p->text, (p->text.len + 16) * (b->nrec + 1) * 5 / 4);
		gnutls_hash(h, tag, taglen);
		gnutls_hash(h, p->text.p + start, p->text.len - start);
		gnutls_hash_output(h, p->dig[k]);
		for (hh = (size_t)hash_id(r->id, strlen(r->id)) & p->mask; p->tab[hh];
		     hh = (hh + 1) & p->mask)
			;
		p->tab[hh] = k + 1;
		p->n++;
	}
	p->off[p->n] = p->text.len;
	gnutls_hash_deinit(h, NULL);
	sort_ids(p, b);
	return 0;
}

/* Array parameters (binary, ids in p->order) over the prepared records whose state is
 * want, or all of them when want < 0: ids, timestamps (unless ts is NULL), digests, and
 * labels (labels only, unless NULL). */
struct arrays {
	struct mon_buf ids, ts, digs, labels;
};

static void arrays_fini(struct arrays *a)
{
	mon_buf_fini(&a->ids);
	mon_buf_fini(&a->ts);
	mon_buf_fini(&a->digs);
	mon_buf_fini(&a->labels);
}

static void prep_arrays(const struct prep *p, const struct col_batch *b, int want, int with_ts,
			int with_labels, struct arrays *a)
{
	size_t n = 0;

	memset(a, 0, sizeof(*a));
	for (size_t k = 0; k < p->n; k++)
		n += want < 0 || p->st[k] == want;
	mon_pgbin_array(&a->ids, MON_PG_TEXT_OID, n);
	mon_pgbin_array(&a->digs, MON_PG_BYTEA_OID, n);
	if (with_ts)
		mon_pgbin_array(&a->ts, MON_PG_TIMESTAMPTZ_OID, n);
	if (with_labels)
		mon_pgbin_array(&a->labels, MON_PG_INT2_OID, n);
	for (size_t j = 0; j < p->n; j++) {
		size_t k = p->order[j];
		const struct col_record *r = &b->rec[p->idx[k]];

		if (want >= 0 && p->st[k] != want)
			continue;
		mon_pgbin_elem(&a->ids, r->id, strlen(r->id));
		mon_pgbin_elem(&a->digs, p->dig[k], sizeof(p->dig[k]));
		if (with_ts)
			mon_pgbin_timestamptz(&a->ts, r->ts);
		if (with_labels)
			mon_pgbin_int2(&a->labels, r->label);
	}
}

/* Run sql with $1 the model id (text) and the given binary array parameters. */
static PGresult *exec_arrays(PGconn *c, const char *sql, const char *model,
			     const struct mon_buf *const *arr, const unsigned *oids, int narr)
{
	const char *values[6];
	int lengths[6] = {0}, formats[6] = {0};
	Oid types[6] = {20}; /* int8 */

	values[0] = model;
	for (int i = 0; i < narr; i++) {
		values[i + 1] = arr[i]->p;
		lengths[i + 1] = (int)arr[i]->len;
		formats[i + 1] = 1;
		types[i + 1] = oids[i];
	}
	return PQexecParams(c, sql, narr + 1, types, values, lengths, formats, 0);
}

/* Mark the records (state ST_NEW now) that a RETURNING result did not name as stored
 * before: their id column is col. Returns how many were not named. */
static size_t mark_returned(struct prep *p, const struct col_batch *b, const PGresult *r, int col)
{
	unsigned char *seen = mon_xcalloc(p->n + 1, 1);
	size_t old = 0;

	for (int i = 0; i < PQntuples(r); i++) {
		long k = prep_find(p, b, PQgetvalue(r, i, col), (size_t)PQgetlength(r, i, col));

		if (k >= 0)
			seen[k] = 1;
	}
	for (size_t k = 0; k < p->n; k++) {
		if (!seen[k]) {
			p->st[k] = ST_DUP;
			old++;
		}
	}
	free(seen);
	return old;
}

/* Of the records marked ST_DUP, mark those whose stored digest differs ST_CONFLICT. sql
 * takes $1 model id, $2 ids, $3 hex digests, and returns the differing ids. */
static int classify_old(PGconn *c, struct prep *p, const struct col_batch *b, const char *model,
			const char *sql, size_t *nconflict)
{
	static const unsigned oids[2] = {MON_PG_TEXT_ARRAY_OID, MON_PG_BYTEA_ARRAY_OID};
	struct arrays a;
	PGresult *r;
	int ret = 0;

	prep_arrays(p, b, ST_DUP, 0, 0, &a);
	r = exec_arrays(c, sql, model, (const struct mon_buf *const[]){&a.ids, &a.digs}, oids, 2);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = db_error(c, r, "could not compare stored records");
		goto out;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		long k = prep_find(p, b, PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0));

		if (k >= 0 && p->st[k] == ST_DUP) {
			p->st[k] = ST_CONFLICT;
			(*nconflict)++;
		}
	}
out:
	PQclear(r);
	arrays_fini(&a);
	return ret;
}

/* Write the batch's outcome: marks in b, counts in res. */
static void finish(const struct prep *p, struct col_batch *b, struct mon_ingest_result *res)
{
	for (size_t k = 0; k < p->n; k++) {
		if (p->st[k] == ST_DUP)
			col_batch_mark(b, p->idx[k], COL_REC_DUPLICATE);
		else if (p->st[k] == ST_CONFLICT)
			col_batch_mark(b, p->idx[k], COL_REC_CONFLICT);
	}
	res->duplicates = b->ndup;
	res->conflicts = b->nconflict;
}

/* --- binary COPY rows ---------------------------------------------------------------------------
 *
 * COPY ... (FORMAT binary): a 19-byte header, then per row a big-endian int16 column count
 * and per column an int32 length (-1: NULL) and the value in its binary send form; an
 * int16 -1 ends the data. Binary spares the server parsing numbers, arrays and timestamps
 * (strtod and array_in were the largest part of the predictions COPY). The values are the
 * same ones the text form carries: col_format_double's text reads back to exactly the
 * double sent here, and NaN elements are NULL in both. */

/* signature, flags 0, no header extension; sent without the literal's final NUL */
static const char copy_bin_header[] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";

static char *be32(char *o, uint32_t v)
{
	o[0] = (char)(v >> 24);
	o[1] = (char)(v >> 16);
	o[2] = (char)(v >> 8);
	o[3] = (char)v;
	return o + 4;
}

static char *be64(char *o, uint64_t v)
{
	return be32(be32(o, (uint32_t)(v >> 32)), (uint32_t)v);
}

static void bin_start(struct mon_buf *b)
{
	mon_buf_put(b, copy_bin_header, sizeof(copy_bin_header) - 1);
}

static void bin_row(struct mon_buf *b, unsigned ncol)
{
	char *o = mon_buf_room(b, 2);

	o[0] = (char)(ncol >> 8);
	o[1] = (char)ncol;
	b->len += 2;
}

static void bin_end(struct mon_buf *b)
{
	mon_buf_put(b, "\377\377", 2);
}

static void bin_bytes(struct mon_buf *b, const void *p, size_t len)
{
	char *o = be32(mon_buf_room(b, 4 + len), (uint32_t)len);

	memcpy(o, p, len);
	b->len += 4 + len;
}

static void bin_int8(struct mon_buf *b, int64_t v)
{
	char *o = be32(mon_buf_room(b, 12), 8);

	be64(o, (uint64_t)v);
	b->len += 12;
}

static void bin_float8(struct mon_buf *b, double v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	bin_int8(b, (int64_t)u);
}

/* A timestamptz from microseconds since 1970 (PostgreSQL counts from 2000). */
static void bin_ts(struct mon_buf *b, int64_t unix_us)
{
	bin_int8(b, unix_us - INT64_C(946684800000000));
}

/* A one-dimensional float8[] of n values, NaN as NULL (n = 0: an empty array). */
static void bin_num_array(struct mon_buf *b, const double *v, size_t n)
{
	size_t len = 12 + (n ? 8 : 0), nnull = 0;
	char *o;

	for (size_t i = 0; i < n; i++)
		nnull += isnan(v[i]) != 0;
	len += 4 * n + 8 * (n - nnull);
	o = be32(mon_buf_room(b, 4 + len), (uint32_t)len);
	o = be32(o, n ? 1 : 0);
	o = be32(o, nnull ? 1 : 0);
	o = be32(o, 701); /* float8 */
	if (n) {
		o = be32(o, (uint32_t)n);
		o = be32(o, 1);
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t u;

		if (isnan(v[i])) {
			o = be32(o, UINT32_MAX);
			continue;
		}
		memcpy(&u, &v[i], sizeof(u));
		o = be64(be32(o, 8), u);
	}
	b->len += 4 + len;
}

/* A one-dimensional text[] of n strings, NULL elements allowed. */
static void bin_text_array(struct mon_buf *b, const char *const *s, size_t n)
{
	size_t len = 12 + (n ? 8 : 0), nnull = 0;
	char *o;

	for (size_t i = 0; i < n; i++) {
		len += 4 + (s[i] ? strlen(s[i]) : 0);
		nnull += !s[i];
	}
	o = be32(mon_buf_room(b, 4 + len), (uint32_t)len);
	o = be32(o, n ? 1 : 0);
	o = be32(o, nnull ? 1 : 0);
	o = be32(o, MON_PG_TEXT_OID);
	if (n) {
		o = be32(o, (uint32_t)n);
		o = be32(o, 1);
	}
	for (size_t i = 0; i < n; i++) {
		size_t l;

		if (!s[i]) {
			o = be32(o, UINT32_MAX);
			continue;
		}
		l = strlen(s[i]);
		o = be32(o, (uint32_t)l);
		memcpy(o, s[i], l);
		o += l;
	}
	b->len += 4 + len;
}

/* --- predictions ------------------------------------------------------------------------------ */

/* Registering ids: the fast form skips stored ids with one primary-key probe each and
 * inserts plainly; an id stored concurrently by another transaction then fails the whole
 * statement (23505, UNIQUE_RACE) and the batch runs again with the safe form, whose
 * ON CONFLICT waits for the other transaction and skips. The safe form's speculative
 * insertion costs about twice as much per row, so it is kept for that rare case.
 *
 * Every lookup of stored ids is written as a correlated scalar subquery, "(SELECT ... WHERE
 * p.client_id = u.c) IS NULL", never as NOT EXISTS or a join: the planner may turn those
 * into a hash join that reads every id of the model, and with statistics taken while the
 * model was small (every model starts small) it does, making each batch cost as much as
 * all the ids stored before it. A scalar subquery is always one index probe per row. */
static const char pred_ids_fast_sql[] =
	"INSERT INTO prediction_ids (model_id, client_id, ts, digest) "
	"SELECT $1, u.c, u.t, u.d FROM unnest($2::text[], $3::timestamptz[], $4::bytea[]) "
	"AS u(c, t, d) WHERE (SELECT true FROM prediction_ids p "
	"WHERE p.model_id = $1 AND p.client_id = u.c) IS NULL RETURNING client_id";

/* The optimistic form: no probe at all, for the common batch of ids never seen (a client
 * sending new predictions): a binary COPY of the ids, sorted, into the registry (COPY fires
 * the statement trigger with its transition table as INSERT does, and inserts rows in
 * groups). One stored id fails it (23505) and the batch runs again with the fast form; a
 * re-sent batch fails at its first row, so that costs little. */
static const char pred_ids_new_sql[] =
	"COPY prediction_ids (model_id, client_id, ts, digest) FROM STDIN (FORMAT binary)";

static const char pred_ids_safe_sql[] =
	"INSERT INTO prediction_ids (model_id, client_id, ts, digest) "
	"SELECT $1, u.c, u.t, u.d FROM unnest($2::text[], $3::timestamptz[], $4::bytea[]) "
	"AS u(c, t, d) ON CONFLICT DO NOTHING RETURNING client_id";

static const char pred_differ_sql[] =
	"SELECT u.c FROM unnest($2::text[], $3::bytea[]) AS u(c, d) WHERE (SELECT p.digest "
	"FROM prediction_ids p WHERE p.model_id = $1 AND p.client_id = u.c) <> u.d";

/* How try_predictions registers ids: */
enum { IDS_NEW, IDS_FAST, IDS_SAFE };

/* The registry rows of every prepared record, in id order, as binary COPY data. */
static void pred_ids_rows(const struct prep *p, const struct col_batch *b, int64_t model_id,
			  struct mon_buf *out)
{
	mon_buf_room(out, 32 + p->n * 96);
	bin_start(out);
	for (size_t j = 0; j < p->n; j++) {
		size_t k = p->order[j];
		const struct col_record *r = &b->rec[p->idx[k]];

		bin_row(out, 4);
		bin_int8(out, model_id);
		bin_bytes(out, r->id, strlen(r->id));
		bin_ts(out, r->ts);
		bin_bytes(out, p->dig[k], sizeof(p->dig[k]));
	}
	bin_end(out);
}

/* The predictions rows of the records still ST_NEW, in batch order, as binary COPY data.
 * Returns how many. */
static size_t pred_rows(const struct prep *p, const struct col_batch *b, int64_t model_id,
			struct mon_buf *out)
{
	const struct col_schema *s = b->schema;
	size_t n = 0;

	mon_buf_room(out, 32 + p->n * (64 + 12 * s->nnum + 16 * (s->ncat + s->nseg)));
	bin_start(out);
	for (size_t k = 0; k < p->n; k++) {
		const struct col_record *r = &b->rec[p->idx[k]];

		if (p->st[k] != ST_NEW)
			continue;
		bin_row(out, 7);
		bin_int8(out, model_id);
		bin_bytes(out, r->id, strlen(r->id));
		bin_ts(out, r->ts);
		bin_float8(out, r->score);
		bin_num_array(out, r->num, s->nnum);
		bin_text_array(out, r->cat, s->ncat);
		bin_text_array(out, r->seg, s->nseg);
		n++;
	}
	bin_end(out);
	return n;
}

/* One attempt at the predictions transaction. */
static int try_predictions(PGconn *c, int64_t model_id, const char *model, struct prep *p,
			   const struct col_batch *b, int atomic, int mode, size_t *accepted)
{
	static const unsigned oids[3] = {MON_PG_TEXT_ARRAY_OID, MON_PG_TIMESTAMPTZ_ARRAY_OID,
					 MON_PG_BYTEA_ARRAY_OID};
	struct mon_buf rows = MON_BUF_INIT;
	size_t old = 0, nconflict = 0;
	struct arrays a;
	PGresult *r = NULL;
	int ret;

	memset(p->st, ST_NEW, p->n);
	memset(&a, 0, sizeof(a));
	*accepted = 0;
	if (mode == IDS_NEW)
		pred_ids_rows(p, b, model_id, &rows);
	else
		prep_arrays(p, b, -1, 1, 0, &a);
	ret = begin_model(c, model);
	if (ret)
		goto out;
	if (mode == IDS_NEW) {
		ret = copy_in(c, pred_ids_new_sql, &rows, "could not register prediction ids");
		if (ret)
			goto out;
	} else {
		r = exec_arrays(c, mode == IDS_FAST ? pred_ids_fast_sql : pred_ids_safe_sql, model,
				(const struct mon_buf *const[]){&a.ids, &a.ts, &a.digs}, oids, 3);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			ret = db_error(c, r, "could not register prediction ids");
			goto out;
		}
		old = mark_returned(p, b, r, 0);
	}
	if (old) {
		ret = classify_old(c, p, b, model, pred_differ_sql, &nconflict);
		if (ret)
			goto out;
	}
	if (atomic && nconflict) {
		ret = -EEXIST;
		goto out;
	}
	rows.len = 0;
	*accepted = pred_rows(p, b, model_id, &rows);
	if (*accepted) {
		ret = copy_in(c,
			      "COPY predictions (model_id, client_id, ts, score, num, cat, seg) "
			      "FROM STDIN (FORMAT binary)",
			      &rows, "could not copy predictions");
		if (ret)
			goto out;
	}
	ret = command(c, "COMMIT", 0, NULL, "could not commit predictions");
out:
	PQclear(r);
	rollback(c);
	arrays_fini(&a);
	mon_buf_fini(&rows);
	return ret;
}

int mon_store_insert_predictions(PGconn *c, int64_t model_id, struct col_batch *b, int atomic,
				 struct mon_ingest_result *res)
{
	struct prep p;
	char model[24];
	int ret = 0, mode = IDS_NEW;

	memset(res, 0, sizeof(*res));
	snprintf(model, sizeof(model), "%" PRId64, model_id);
	if (atomic && b->nconflict) {
		res->duplicates = b->ndup;
		res->conflicts = b->nconflict;
		return -EEXIST;
	}
	ret = prep_init(&p, b);
	if (ret || !p.n)
		goto out;
	ret = ensure_batch_months(c, b);
	for (int attempt = 0; !ret && attempt < ATTEMPTS; attempt++) {
		ret = try_predictions(c, model_id, model, &p, b, atomic, mode, &res->accepted);
		if (ret == UNIQUE_RACE && mode != IDS_SAFE) {
			/* NEW met a stored id: probe; FAST met a concurrent one: ON CONFLICT */
			mode++;
			ret = RETRY_TX;
		}
		if (ret == NO_PARTITION) {
			/* dropped behind our back (retention, by hand): make them again */
			mon_store_partitions_forget();
			ret = ensure_batch_months(c, b);
			if (!ret)
				ret = NO_PARTITION;
		}
		if (ret != RETRY_TX && ret != NO_PARTITION)
			break;
		ret = 0;
		if (attempt == ATTEMPTS - 1)
			ret = -EIO;
	}
out:
	if (!ret || ret == -EEXIST)
		finish(&p, b, res);
	else
		res->accepted = 0;
	if (ret == -EEXIST)
		res->accepted = 0;
	prep_fini(&p);
	return ret;
}

/* --- statistics after bulk writes ------------------------------------------------------------- */

int mon_store_analyze_stale(PGconn *c, long long min_rows, double frac, size_t *n)
{
	char rows[24], share[40];
	const char *params[2] = {rows, share};
	PGresult *r = NULL;
	int ret;

	if (n)
		*n = 0;
	snprintf(rows, sizeof(rows), "%lld", min_rows);
	snprintf(share, sizeof(share), "%.17g", frac);
	ret = command(c, "BEGIN", 0, NULL, "could not begin a transaction");
	if (ret)
		return ret;
	r = PQexecParams(c,
			 "SELECT pg_try_advisory_xact_lock(" MON_LOCK_CLASS_SQL
			 ", " MON_LOCK_ANALYZE_SQL ")",
			 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = db_error(c, r, "could not take the analyze lock");
		goto out;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "t")) /* another process is at it */
		goto commit;
	PQclear(r);
	r = PQexecParams(c, "SELECT analyze_stale_tables($1::int8, $2::float8)", 2, NULL, params,
			 NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = db_error(c, r, "could not analyze tables");
		goto out;
	}
	for (int i = 0; i < PQntuples(r); i++)
		log_info(LOG_PREFIX "analyzed %s: its rows changed a lot since its last ANALYZE",
			 PQgetvalue(r, i, 0));
	if (n)
		*n = (size_t)PQntuples(r);
commit:
	ret = command(c, "COMMIT", 0, NULL, "could not commit the analyze");
out:
	PQclear(r);
	rollback(c);
	return ret;
}

/* --- labels -------------------------------------------------------------------------------- */

/* As for prediction ids: a fast form, and a safe one after a unique violation. */
#define LABEL_SQL(skip)                                                                            \
	"WITH ins AS (INSERT INTO labels (model_id, prediction_id, label, ts, digest) "            \
	"SELECT $1, u.c, u.l, u.t, u.d "                                                           \
	"FROM unnest($2::text[], $3::int2[], $4::timestamptz[], $5::bytea[]) "                     \
	"AS u(c, l, t, d) " skip " RETURNING prediction_id) "                                      \
	"SELECT ins.prediction_id, (SELECT true FROM prediction_ids p "                            \
	"WHERE p.model_id = $1 AND p.client_id = ins.prediction_id) IS NOT NULL FROM ins"

static const char label_fast_sql[] = LABEL_SQL("WHERE (SELECT true FROM labels l WHERE l.model_id "
					       "= $1 AND l.prediction_id = u.c) IS NULL");
static const char label_safe_sql[] = LABEL_SQL("ON CONFLICT DO NOTHING");

static const char label_differ_sql[] =
	"SELECT u.c FROM unnest($2::text[], $3::bytea[]) AS u(c, d) WHERE (SELECT l.digest "
	"FROM labels l WHERE l.model_id = $1 AND l.prediction_id = u.c) <> u.d";

static int try_labels(PGconn *c, const char *model, struct prep *p, const struct col_batch *b,
		      int atomic, int safe, struct mon_ingest_result *res)
{
	static const unsigned oids[4] = {MON_PG_TEXT_ARRAY_OID, MON_PG_INT2_ARRAY_OID,
					 MON_PG_TIMESTAMPTZ_ARRAY_OID, MON_PG_BYTEA_ARRAY_OID};
	size_t nconflict = 0;
	struct arrays a;
	PGresult *r = NULL;
	int ret;

	memset(p->st, ST_NEW, p->n);
	res->accepted = res->unmatched = 0;
	prep_arrays(p, b, -1, 1, 1, &a);
	ret = begin_model(c, model);
	if (ret)
		goto out;
	r = exec_arrays(c, safe ? label_safe_sql : label_fast_sql, model,
			(const struct mon_buf *const[]){&a.ids, &a.labels, &a.ts, &a.digs}, oids,
			4);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = db_error(c, r, "could not store labels");
		goto out;
	}
	res->accepted = (size_t)PQntuples(r);
	for (int i = 0; i < PQntuples(r); i++)
		res->unmatched += strcmp(PQgetvalue(r, i, 1), "t") != 0;
	if (mark_returned(p, b, r, 0)) {
		ret = classify_old(c, p, b, model, label_differ_sql, &nconflict);
		if (ret)
			goto out;
	}
	if (atomic && nconflict) {
		ret = -EEXIST;
		goto out;
	}
	ret = command(c, "COMMIT", 0, NULL, "could not commit labels");
out:
	PQclear(r);
	rollback(c);
	arrays_fini(&a);
	return ret;
}

int mon_store_insert_labels(PGconn *c, int64_t model_id, struct col_batch *b, int atomic,
			    struct mon_ingest_result *res)
{
	struct prep p;
	char model[24];
	int ret;

	memset(res, 0, sizeof(*res));
	snprintf(model, sizeof(model), "%" PRId64, model_id);
	if (atomic && b->nconflict) {
		res->duplicates = b->ndup;
		res->conflicts = b->nconflict;
		return -EEXIST;
	}
	ret = prep_init(&p, b);
	if (ret || !p.n)
		goto out;
	for (int attempt = 0, safe = 0; attempt < ATTEMPTS; attempt++) {
		ret = try_labels(c, model, &p, b, atomic, safe, res);
		if (ret == UNIQUE_RACE) {
			safe = 1;
			ret = RETRY_TX;
		}
		if (ret != RETRY_TX)
			break;
		if (attempt == ATTEMPTS - 1)
			ret = -EIO;
	}
out:
	if (!ret || ret == -EEXIST)
		finish(&p, b, res);
	if (ret) {
		res->accepted = 0;
		res->unmatched = 0;
	}
	prep_fini(&p);
	return ret;
}

/* --- references ------------------------------------------------------------------------------ */

#define SELECT_REFERENCE                                                                           \
	"SELECT id, kind, (extract(epoch FROM range_from) * 1000000)::int8, "                      \
	"(extract(epoch FROM range_to) * 1000000)::int8, rows, active, "                           \
	"coalesce(created_by, ''), (extract(epoch FROM created_at) * 1000000)::int8 "              \
	"FROM model_references "

static void add_ts(cJSON *o, const char *key, const PGresult *r, int row, int col)
{
	char ts[COL_TS_BUF];

	if (PQgetisnull(r, row, col)) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	col_ts_format(strtoll(PQgetvalue(r, row, col), NULL, 10), 0, ts);
	cJSON_AddStringToObject(o, key, ts);
}

static cJSON *reference_json(const PGresult *r, int i)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "id", (double)strtoll(PQgetvalue(r, i, 0), NULL, 10));
	cJSON_AddStringToObject(o, "kind", PQgetvalue(r, i, 1));
	add_ts(o, "from", r, i, 2);
	add_ts(o, "to", r, i, 3);
	cJSON_AddNumberToObject(o, "rows", (double)strtoll(PQgetvalue(r, i, 4), NULL, 10));
	cJSON_AddBoolToObject(o, "active", !strcmp(PQgetvalue(r, i, 5), "t"));
	cJSON_AddStringToObject(o, "created_by", PQgetvalue(r, i, 6));
	add_ts(o, "created_at", r, i, 7);
	return o;
}

int mon_store_references_list(PGconn *c, int64_t model_id, cJSON **out)
{
	char model[24];
	const char *params[1] = {model};
	PGresult *r;
	cJSON *arr;
	int ret = 0;

	snprintf(model, sizeof(model), "%" PRId64, model_id);
	r = PQexecParams(c, SELECT_REFERENCE "WHERE model_id = $1::int8 ORDER BY id", 1, NULL,
			 params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = db_error(c, r, "could not list references");
		goto out;
	}
	arr = cJSON_CreateArray();
	for (int i = 0; i < PQntuples(r); i++)
		cJSON_AddItemToArray(arr, reference_json(r, i));
	*out = arr;
out:
	PQclear(r);
	return ret;
}

/* In an open transaction: lock the model (so references of one model are made one at a
 * time), deactivate its active reference and insert a new active one. The new row's id is
 * written to id (24 bytes). */
static int new_reference(PGconn *c, const char *model, const char *kind, const char *from,
			 const char *to, const char *rows, const char *created_by, char *id)
{
	const char *params[6] = {model, kind, from, to, rows, created_by};
	PGresult *r;
	int ret;

	ret = command(c, "SELECT 1 FROM models WHERE id = $1::int8 FOR UPDATE", 1, params,
		      "could not lock a model");
	if (!ret)
		ret = command(c,
			      "UPDATE model_references SET active = false "
			      "WHERE model_id = $1::int8 AND active",
			      1, params, "could not deactivate a reference");
	if (ret)
		return ret;
	r = PQexecParams(
		c,
		"INSERT INTO model_references "
		"(model_id, kind, range_from, range_to, rows, active, created_by) "
		"VALUES ($1::int8, $2, $3::timestamptz, $4::timestamptz, $5::int8, true, $6) "
		"RETURNING id",
		6, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		ret = db_error(c, r, "could not create a reference");
	else
		snprintf(id, 24, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return ret;
}

/* The reference id (committed) as JSON. */
static int reference_get(PGconn *c, const char *id, cJSON **out)
{
	const char *params[1] = {id};
	PGresult *r = PQexecParams(c, SELECT_REFERENCE "WHERE id = $1::int8", 1, NULL, params, NULL,
				   NULL, 0);
	int ret = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		ret = db_error(c, r, "could not read a reference");
	else
		*out = reference_json(r, 0);
	PQclear(r);
	return ret;
}

static int try_upload(PGconn *c, const char *model, const struct prep *p, const struct col_batch *b,
		      const char *created_by, char *id)
{
	struct mon_buf rows = MON_BUF_INIT;
	char nrows[24];
	size_t n = 0;
	int ret;

	for (size_t k = 0; k < p->n; k++)
		n += p->st[k] == ST_NEW;
	snprintf(nrows, sizeof(nrows), "%zu", n);
	ret = begin(c);
	if (!ret)
		ret = new_reference(c, model, "upload", NULL, NULL, nrows, created_by, id);
	if (ret)
		goto out;
	for (size_t k = 0; k < p->n; k++) {
		if (p->st[k] != ST_NEW)
			continue;
		mon_buf_puts(&rows, id);
		mon_buf_putc(&rows, '\t');
		mon_pgtext_copy_text(&rows, b->rec[p->idx[k]].id);
		mon_buf_putc(&rows, '\t');
		mon_buf_put(&rows, p->text.p + p->off[k], p->off[k + 1] - p->off[k]);
		mon_buf_putc(&rows, '\n');
	}
	ret = copy_in(
		c,
		"COPY reference_rows (reference_id, client_id, ts, score, label, num, cat, seg) "
		"FROM STDIN",
		&rows, "could not copy reference rows");
	if (!ret)
		ret = command(c, "COMMIT", 0, NULL, "could not commit a reference");
out:
	rollback(c);
	mon_buf_fini(&rows);
	return ret;
}

int mon_store_reference_upload(PGconn *c, int64_t model_id, struct col_batch *b, int atomic,
			       const char *created_by, cJSON **out)
{
	struct prep p;
	char model[24], id[24];
	int ret;

	if (atomic && b->nconflict)
		return -EEXIST;
	snprintf(model, sizeof(model), "%" PRId64, model_id);
	ret = prep_init(&p, b);
	if (!ret && !p.n)
		ret = -ENODATA;
	for (int attempt = 0; !ret && attempt < ATTEMPTS; attempt++) {
		ret = try_upload(c, model, &p, b, created_by, id);
		if (ret != RETRY_TX)
			break;
		ret = attempt == ATTEMPTS - 1 ? -EIO : 0;
	}
	if (!ret)
		ret = reference_get(c, id, out);
	prep_fini(&p);
	return ret;
}

int mon_store_reference_range(PGconn *c, int64_t model_id, int64_t from, int64_t to,
			      const char *created_by, cJSON **out)
{
	char model[24], f[COL_TS_BUF], t[COL_TS_BUF], id[24] = "", nrows[24];
	const char *params[3] = {model, f, t};
	PGresult *r = NULL;
	int ret;

	snprintf(model, sizeof(model), "%" PRId64, model_id);
	col_ts_format(from, 1, f);
	col_ts_format(to, 1, t);
	for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
		ret = begin(c);
		if (ret)
			break;
		r = PQexecParams(c,
				 "SELECT count(*) FROM predictions WHERE model_id = $1::int8 "
				 "AND ts >= $2::timestamptz AND ts < $3::timestamptz",
				 3, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			ret = db_error(c, r, "could not count predictions");
		} else if (!strcmp(PQgetvalue(r, 0, 0), "0")) {
			ret = -ENODATA;
		} else {
			snprintf(nrows, sizeof(nrows), "%s", PQgetvalue(r, 0, 0));
			ret = new_reference(c, model, "range", f, t, nrows, created_by, id);
			if (!ret)
				ret = command(c, "COMMIT", 0, NULL, "could not commit a reference");
		}
		PQclear(r);
		r = NULL;
		rollback(c);
		if (ret != RETRY_TX)
			break;
		if (attempt == ATTEMPTS - 1)
			ret = -EIO;
	}
	if (!ret)
		ret = reference_get(c, id, out);
	return ret;
}
