/* SPDX-License-Identifier: MIT
 * monitor/audit.h - the append-only, hash-chained audit log
 *
 * Each row of audit_log carries prev_hash (the previous row's hash; 32 zero bytes for the
 * first row) and hash = SHA-256(prev_hash || content), where content is the row's fields
 * as netstrings ("LEN:BYTES,") in this order, after the tag "vigil-audit-v1":
 *   id (decimal), at (UTC, "YYYY-MM-DDTHH:MM:SS.ffffffZ"), actor, action, target, remote,
 *   outcome, detail (PostgreSQL's jsonb text of the detail object).
 * Editing a row breaks its own hash; deleting or reordering rows breaks the next row's
 * prev_hash. Truncating the newest rows leaves a valid shorter chain: anchor the latest
 * hash elsewhere (a report, a ticket) to detect that. Appends are serialised with a
 * transaction-level advisory lock so two writers can never fork the chain.
 *
 * What to record: every admin action and every read of performance data or of the log
 * itself. actor is the token name, remote the client address; never put patient data in
 * target or detail.
 */
#ifndef MONITOR_AUDIT_H
#define MONITOR_AUDIT_H
#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "monitor/common.h"
#include "monitor/http.h"

#define MON_AUDIT_HASH_LEN 32

/* Append one row. detail may be NULL ({}); it is borrowed. If c is inside a transaction
 * (READ COMMITTED, the default), the row commits or rolls back with it and the chain lock is
 * held until then: keep such transactions short. Otherwise the append is a transaction of
 * its own. Returns 0; -EAGAIN when the database is unavailable; -EIO on any other failure
 * (logged). After a failure inside the caller's transaction, that transaction is aborted. */
int mon_audit_append(PGconn *c, const char *actor, const char *action, const char *target,
		     const char *remote, const char *outcome, const cJSON *detail) MON_MUSTCHECK;

/* mon_audit_append with actor and remote taken from the request. */
int mon_audit_request(PGconn *c, const struct mon_http_req *req, const char *action,
		      const char *target, const char *outcome, const cJSON *detail) MON_MUSTCHECK;

struct mon_audit_verdict {
	unsigned long long rows; /* rows checked */
	long long broken_id;     /* first broken row's id, or -1 when intact */
	char reason[160];
};

/* Recompute the whole chain in id order (in batches: memory stays bounded). Returns 0 with
 * the verdict filled whether or not the chain is intact; -EAGAIN / -EIO when it could not
 * be read. */
int mon_audit_verify(PGconn *c, struct mon_audit_verdict *v) MON_MUSTCHECK;

/* vigil audit verify [--database URL] [--config FILE]: exit 0 intact, 1 broken, 2 usage
 * or database trouble. */
int mon_audit_main(int argc, char **argv);

/* GET /v1/audit?limit=N&before=ID (compliance): newest entries first; reading is audited. */
void mon_api_audit_list(struct mon_http_req *req, struct mon_http_resp *resp);

#endif /* MONITOR_AUDIT_H */
