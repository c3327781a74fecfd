/* SPDX-License-Identifier: MIT
 * monitor/auth.c - API tokens: creation, revocation, and checking bearer tokens with a cache
 *
 * GnuTLS supplies both the random bytes (gnutls_rnd with GNUTLS_RND_KEY: its DRBG seeded
 * from getrandom) and SHA-256: a well-kept library instead of hand-rolled primitives.
 *
 * The cache is direct-mapped by the token hash (CACHE_SLOTS slots): a lookup is a hash,
 * one mutex-protected slot compare, and on a miss one indexed query. Unknown tokens are
 * cached too, so a client retrying a bad token does not reach the database on each try; a
 * client cycling random tokens only ever evicts entries, it cannot grow memory.
 */
#include "config.h"

#include "monitor/auth.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "monitor/audit.h"
#include "monitor/log.h"
#include "monitor/server.h"

#define LOG_PREFIX "auth: "
#define CACHE_SLOTS 1024
#define HASH_LEN 32

struct centry {
	unsigned char hash[HASH_LEN];
	int used;
	int valid; /* 0: unknown or revoked */
	double expires;
	struct mon_principal who;
};

struct mon_auth {
	pthread_mutex_t lock;
	struct centry slots[CACHE_SLOTS];
};

static const char *const role_names[] = {"none",       "ingest", "viewer",
					 "compliance", "oncall", "admin"};

struct mon_auth *mon_auth_new(void)
{
	struct mon_auth *a = mon_xcalloc(1, sizeof(*a));

	pthread_mutex_init(&a->lock, NULL);
	return a;
}

void mon_auth_free(struct mon_auth *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a);
}

const char *mon_auth_role_name(enum mon_role r)
{
	if ((unsigned)r >= sizeof(role_names) / sizeof(role_names[0]))
		return "none";
	return role_names[r];
}

int mon_auth_parse_role(const char *s, enum mon_role *out)
{
	for (int i = MON_ROLE_INGEST; i <= MON_ROLE_ADMIN; i++) {
		if (s && !strcmp(s, role_names[i])) {
			*out = (enum mon_role)i;
			return 0;
		}
	}
	return -EINVAL;
}

int mon_auth_allows(enum mon_role have, enum mon_role need)
{
	if (need == MON_ROLE_NONE || have == MON_ROLE_ADMIN)
		return 1;
	switch (need) {
	case MON_ROLE_INGEST:
		return have == MON_ROLE_INGEST;
	case MON_ROLE_VIEWER:
		return have == MON_ROLE_VIEWER || have == MON_ROLE_COMPLIANCE ||
		       have == MON_ROLE_ONCALL;
	case MON_ROLE_COMPLIANCE:
		return have == MON_ROLE_COMPLIANCE;
	case MON_ROLE_ONCALL:
		return have == MON_ROLE_ONCALL;
	default:
		return 0;
	}
}

int mon_auth_valid_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > MON_TOKEN_NAME_MAX || name[0] == '.' || name[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
			return 0;
	return 1;
}

static void hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int token_hash(const char *token, unsigned char *h)
{
	return gnutls_hash_fast(GNUTLS_DIG_SHA256, token, strlen(token), h) < 0 ? -EIO : 0;
}

int mon_auth_check(struct mon_auth *a, struct mon_db *db, const char *token, unsigned ttl_s,
		   struct mon_principal *who)
{
	unsigned char h[HASH_LEN];
	char hx[2 * HASH_LEN + 1];
	const char *params[1] = {hx};
	struct centry *e;
	PGresult *r = NULL;
	PGconn *c = NULL;
	double now = mon_now();
	int ret, valid = 0;
	struct mon_principal p;

	memset(&p, 0, sizeof(p));
	if (!token || strncmp(token, "vgl_", 4) || strlen(token) != MON_TOKEN_LEN)
		return -EPERM; /* not one of ours: no need to ask anybody */
	if (token_hash(token, h))
		return -EIO;
	e = &a->slots[(h[0] | (unsigned)h[1] << 8) % CACHE_SLOTS];
	pthread_mutex_lock(&a->lock);
	if (e->used && now < e->expires && !memcmp(e->hash, h, HASH_LEN)) {
		valid = e->valid;
		p = e->who;
		pthread_mutex_unlock(&a->lock);
		if (!valid)
			return -EPERM;
		*who = p;
		return 0;
	}
	pthread_mutex_unlock(&a->lock);

	ret = mon_db_acquire(db, 1000, &c);
	if (ret)
		return -EAGAIN;
	hex(h, HASH_LEN, hx);
	r = PQexecParams(c,
			 "SELECT name, role FROM api_tokens "
			 "WHERE sha256 = decode($1, 'hex') AND revoked_at IS NULL",
			 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		int unavailable = mon_db_unavailable(c, r);

		if (!unavailable)
			log_err(LOG_PREFIX "could not look up a token: %s",
				PQresultErrorMessage(r));
		PQclear(r);
		mon_db_release(db, c, unavailable);
		return unavailable ? -EAGAIN : -EIO;
	}
	if (PQntuples(r) == 1 && !mon_auth_parse_role(PQgetvalue(r, 0, 1), &p.role)) {
		snprintf(p.name, sizeof(p.name), "%s", PQgetvalue(r, 0, 0));
		valid = 1;
	}
	PQclear(r);
	mon_db_release(db, c, 0);
	if (ttl_s > 0) {
		pthread_mutex_lock(&a->lock);
		memcpy(e->hash, h, HASH_LEN);
		e->used = 1;
		e->valid = valid;
		e->who = p;
		e->expires = now + ttl_s;
		pthread_mutex_unlock(&a->lock);
	}
	if (!valid)
		return -EPERM;
	*who = p;
	return 0;
}

/* base64url without padding: 32 bytes -> 43 characters */
static void b64url(const unsigned char *in, size_t n, char *out)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned v = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		v = (v << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = al[(v >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = al[(v << (6 - bits)) & 63];
	out[o] = '\0';
}

static int fail_stmt(PGconn *c, PGresult *r, const char *what)
{
	if (mon_db_unavailable(c, r))
		return -EAGAIN;
	log_err(LOG_PREFIX "%s: %s", what, PQresultErrorMessage(r));
	return -EIO;
}

int mon_auth_token_create(PGconn *c, const char *name, enum mon_role role, const char *actor,
			  const char *remote, char *token, char *name_out)
{
	unsigned char rnd[32], h[HASH_LEN];
	char hx[2 * HASH_LEN + 1], gen[32];
	const char *params[3];
	cJSON *detail = NULL;
	PGresult *r = NULL;
	int ret = 0;

	if (role < MON_ROLE_INGEST || role > MON_ROLE_ADMIN)
		return -EINVAL;
	if (gnutls_rnd(GNUTLS_RND_KEY, rnd, sizeof(rnd)) < 0) {
		log_err(LOG_PREFIX "could not generate a token: no random bytes");
		return -EIO;
	}
	if (!name) {
		unsigned char b[4];

		if (gnutls_rnd(GNUTLS_RND_NONCE, b, sizeof(b)) < 0)
			return -EIO;
		memcpy(gen, "token-", 6);
		hex(b, sizeof(b), gen + 6);
		name = gen;
	}
	if (!mon_auth_valid_name(name))
		return -EINVAL;
	memcpy(token, "vgl_", 4);
	b64url(rnd, sizeof(rnd), token + 4);
	if (token_hash(token, h))
		return -EIO;
	hex(h, HASH_LEN, hx);
	params[0] = name;
	params[1] = mon_auth_role_name(role);
	params[2] = hx;
	r = PQexec(c, "BEGIN");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		ret = fail_stmt(c, r, "could not begin transaction");
		goto out;
	}
	PQclear(r);
	r = PQexecParams(c,
			 "INSERT INTO api_tokens (name, role, sha256) "
			 "VALUES ($1, $2, decode($3, 'hex'))",
			 3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);

		ret = state && !strcmp(state, "23505") ? -EEXIST
						       : fail_stmt(c, r, "could not store a token");
		goto out;
	}
	detail = cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "role", mon_auth_role_name(role));
	ret = mon_audit_append(c, actor, "token.create", name, remote, "ok", detail);
	if (ret)
		goto out;
	PQclear(r);
	r = PQexec(c, "COMMIT");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		ret = fail_stmt(c, r, "could not commit a token");
out:
	PQclear(r);
	if (ret && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
	cJSON_Delete(detail);
	if (!ret)
		snprintf(name_out, MON_TOKEN_NAME_MAX + 1, "%s", name);
	else
		memset(token, 0, MON_TOKEN_LEN + 1);
	memset(rnd, 0, sizeof(rnd));
	return ret;
}

int mon_auth_token_revoke(PGconn *c, const char *name, const char *actor, const char *remote)
{
	const char *params[1] = {name};
	PGresult *r = NULL;
	int ret = 0;

	r = PQexec(c, "BEGIN");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		ret = fail_stmt(c, r, "could not begin transaction");
		goto out;
	}
	PQclear(r);
	r = PQexecParams(c,
			 "UPDATE api_tokens SET revoked_at = now() "
			 "WHERE name = $1 AND revoked_at IS NULL",
			 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		ret = fail_stmt(c, r, "could not revoke a token");
		goto out;
	}
	if (strcmp(PQcmdTuples(r), "1")) {
		ret = -ENOENT;
		goto out;
	}
	ret = mon_audit_append(c, actor, "token.revoke", name, remote, "ok", NULL);
	if (ret)
		goto out;
	PQclear(r);
	r = PQexec(c, "COMMIT");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		ret = fail_stmt(c, r, "could not commit a revocation");
out:
	PQclear(r);
	if (ret && PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
	return ret;
}

int mon_auth_token_list(PGconn *c, cJSON **out)
{
	PGresult *r;
	cJSON *a;

	*out = NULL;
	r = PQexec(c, "SELECT name, role, "
		      "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
		      "to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
		      "FROM api_tokens ORDER BY name");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		int ret = fail_stmt(c, r, "could not list tokens");

		PQclear(r);
		return ret;
	}
	a = cJSON_CreateArray();
	for (int i = 0; i < PQntuples(r); i++) {
		cJSON *t = cJSON_CreateObject();

		cJSON_AddStringToObject(t, "name", PQgetvalue(r, i, 0));
		cJSON_AddStringToObject(t, "role", PQgetvalue(r, i, 1));
		cJSON_AddStringToObject(t, "created_at", PQgetvalue(r, i, 2));
		if (PQgetisnull(r, i, 3))
			cJSON_AddNullToObject(t, "revoked_at");
		else
			cJSON_AddStringToObject(t, "revoked_at", PQgetvalue(r, i, 3));
		cJSON_AddItemToArray(a, t);
	}
	PQclear(r);
	*out = a;
	return 0;
}

/* "cli:" and the Unix user running the command, for the audit log. */
static void cli_actor(char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (!getpwuid_r(geteuid(), &pw, tmp, sizeof(tmp), &res) && res)
		snprintf(buf, len, "cli:%s", pw.pw_name);
	else
		snprintf(buf, len, "cli:uid%u", (unsigned)geteuid());
}

static const char token_usage[] =
	"usage: vigil token create --role ROLE [--name NAME] [--database URL] [--config FILE]\n"
	"       vigil token revoke NAME [--database URL] [--config FILE]\n"
	"       vigil token list [--database URL] [--config FILE]\n"
	"\n"
	"ROLE is ingest, viewer, compliance, oncall or admin. create prints the new token on\n"
	"stdout; it is shown only this once (only its SHA-256 is stored). A revoked token stops\n"
	"working within token_cache_ttl_s seconds (default 5).\n";

int mon_token_main(int argc, char **argv)
{
	static const struct option lopts[] = {{"database", required_argument, NULL, 'd'},
					      {"config", required_argument, NULL, 'c'},
					      {"role", required_argument, NULL, 'r'},
					      {"name", required_argument, NULL, 'n'},
					      {"help", no_argument, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	const char *database = NULL, *config = NULL, *role_s = NULL, *name = NULL, *cmd;
	char actor[160];
	enum mon_role role = MON_ROLE_NONE;
	struct mon_db *db = NULL;
	PGconn *c = NULL;
	cJSON *list = NULL;
	int opt, ret, status = 0;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(token_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	if (strcmp(cmd, "create") && strcmp(cmd, "revoke") && strcmp(cmd, "list")) {
		fprintf(stderr, "vigil token: unknown command \"%s\"\n%s", cmd, token_usage);
		return 2;
	}
	argc--;
	argv++;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			database = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'r':
			role_s = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'h':
			fputs(token_usage, stdout);
			return 0;
		default:
			fputs(token_usage, stderr);
			return 2;
		}
	}
	if (!strcmp(cmd, "create")) {
		if (!role_s || mon_auth_parse_role(role_s, &role)) {
			fprintf(stderr, "vigil token create: --role must be ingest, viewer, "
					"compliance, oncall or admin\n");
			return 2;
		}
		if (name && !mon_auth_valid_name(name)) {
			fprintf(stderr,
				"vigil token create: --name must be 1 to 64 letters, digits, "
				"'.', '_' or '-'\n");
			return 2;
		}
		if (optind != argc) {
			fprintf(stderr, "vigil token create: unexpected argument \"%s\"\n",
				argv[optind]);
			return 2;
		}
	} else if (!strcmp(cmd, "revoke")) {
		if (optind + 1 != argc) {
			fprintf(stderr, "vigil token revoke: expected one token NAME\n");
			return 2;
		}
		name = argv[optind];
	} else if (optind != argc) {
		fprintf(stderr, "vigil token list: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (mon_server_cli_open(database, config, &db, &c))
		return 1;
	cli_actor(actor, sizeof(actor));
	if (!strcmp(cmd, "create")) {
		char token[MON_TOKEN_LEN + 1], used[MON_TOKEN_NAME_MAX + 1];

		ret = mon_auth_token_create(c, name, role, actor, "local", token, used);
		if (!ret) {
			printf("%s\n", token);
			fprintf(stderr,
				"vigil token: created token \"%s\" with role %s; it is "
				"shown only once\n",
				used, mon_auth_role_name(role));
		} else if (ret == -EEXIST) {
			fprintf(stderr, "vigil token create: a token named \"%s\" already exists\n",
				name);
		}
		memset(token, 0, sizeof(token));
	} else if (!strcmp(cmd, "revoke")) {
		ret = mon_auth_token_revoke(c, name, actor, "local");
		if (!ret)
			fprintf(stderr, "vigil token: revoked token \"%s\"\n", name);
		else if (ret == -ENOENT)
			fprintf(stderr, "vigil token revoke: no active token named \"%s\"\n", name);
	} else {
		ret = mon_auth_token_list(c, &list);
		if (!ret) {
			printf("%-32s %-10s %-20s %s\n", "NAME", "ROLE", "CREATED", "REVOKED");
			for (cJSON *t = list->child; t; t = t->next) {
				cJSON *rv = cJSON_GetObjectItem(t, "revoked_at");

				printf("%-32s %-10s %-20s %s\n",
				       cJSON_GetStringValue(cJSON_GetObjectItem(t, "name")),
				       cJSON_GetStringValue(cJSON_GetObjectItem(t, "role")),
				       cJSON_GetStringValue(cJSON_GetObjectItem(t, "created_at")),
				       cJSON_IsString(rv) ? rv->valuestring : "-");
			}
			cJSON_Delete(list);
		}
	}
	if (ret && ret != -EEXIST && ret != -ENOENT)
		fprintf(stderr, "vigil token %s: failed: %s\n", cmd,
			ret == -EAGAIN ? "database unavailable" : "database error (see above)");
	if (ret)
		status = 1;
	mon_server_cli_close(db, c);
	return status;
}

/* --- HTTP -------------------------------------------------------------------------------- */

void mon_api_token_create(struct mon_http_req *req, struct mon_http_resp *resp)
{
	char token[MON_TOKEN_LEN + 1], used[MON_TOKEN_NAME_MAX + 1];
	const cJSON *jname, *jrole;
	enum mon_role role;
	cJSON *body = NULL, *doc;
	PGconn *c = NULL;
	int ret;

	if (mon_http_body_json(req, resp, &body))
		return;
	if (!cJSON_IsObject(body)) {
		mon_http_problem(resp, 400, "invalid-json", "", "the body must be a JSON object");
		goto out;
	}
	jname = cJSON_GetObjectItemCaseSensitive(body, "name");
	jrole = cJSON_GetObjectItemCaseSensitive(body, "role");
	if (jname && !cJSON_IsNull(jname) &&
	    (!cJSON_IsString(jname) || !mon_auth_valid_name(jname->valuestring))) {
		mon_http_problem(resp, 400, "invalid-field", "/name",
				 "name must be 1 to 64 letters, digits, '.', '_' or '-'");
		goto out;
	}
	if (!cJSON_IsString(jrole) || mon_auth_parse_role(jrole->valuestring, &role)) {
		mon_http_problem(resp, 400, "invalid-field", "/role",
				 "role must be ingest, viewer, compliance, oncall or admin");
		goto out;
	}
	if (mon_server_db_get(req, resp, &c))
		goto out;
	ret = mon_auth_token_create(c, cJSON_IsString(jname) ? jname->valuestring : NULL, role,
				    req->who.name, req->remote, token, used);
	mon_server_db_put(req, c, ret == -EAGAIN);
	if (ret == -EEXIST) {
		mon_http_problem(resp, 409, "conflict", "/name", "a token with this name exists");
		goto out;
	}
	if (ret) {
		mon_http_problem(resp, mon_http_status_for(ret), NULL, NULL,
				 "could not create the token");
		goto out;
	}
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "name", used);
	cJSON_AddStringToObject(doc, "role", mon_auth_role_name(role));
	cJSON_AddStringToObject(doc, "token", token);
	memset(token, 0, sizeof(token));
	mon_http_json(resp, 201, doc);
out:
	cJSON_Delete(body);
}

void mon_api_token_list(struct mon_http_req *req, struct mon_http_resp *resp)
{
	PGconn *c = NULL;
	cJSON *list = NULL, *doc;
	int ret;

	if (mon_server_db_get(req, resp, &c))
		return;
	ret = mon_auth_token_list(c, &list);
	mon_server_db_put(req, c, ret == -EAGAIN);
	if (ret) {
		mon_http_problem(resp, mon_http_status_for(ret), NULL, NULL,
				 "could not list tokens");
		return;
	}
	doc = cJSON_CreateObject();
	cJSON_AddItemToObject(doc, "tokens", list);
	mon_http_json(resp, 200, doc);
}

void mon_api_token_revoke(struct mon_http_req *req, struct mon_http_resp *resp)
{
	PGconn *c = NULL;
	int ret;

	if (!mon_auth_valid_name(req->params[0])) {
		mon_http_problem(resp, 404, "not-found", NULL, "no such token");
		return;
	}
	if (mon_server_db_get(req, resp, &c))
		return;
	ret = mon_auth_token_revoke(c, req->params[0], req->who.name, req->remote);
	mon_server_db_put(req, c, ret == -EAGAIN);
	if (ret == -ENOENT) {
		mon_http_problem(resp, 404, "not-found", NULL, "no active token with this name");
		return;
	}
	if (ret) {
		mon_http_problem(resp, mon_http_status_for(ret), NULL, NULL,
				 "could not revoke the token");
		return;
	}
	resp->status = 204;
}
