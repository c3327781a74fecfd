/* SPDX-License-Identifier: MIT
 * monitor/auth.h - API tokens: creation, revocation, and checking bearer tokens with a cache
 *
 * A token is "vgl_" followed by 43 base64url characters: 32 bytes from GnuTLS's key-grade
 * random generator. Only its SHA-256 is stored (api_tokens.sha256), so a database dump does
 * not hand out credentials; the token itself is shown once, when created.
 *
 * Checking a token hashes it and looks the hash up in a small cache (positive and negative
 * answers), asking PostgreSQL on a miss or after token_cache_ttl_s seconds: a revoked token
 * stops working within that time (5 s by default; 0 asks the database every time).
 *
 * Roles: admin may do everything; compliance may do what viewer may; oncall may do what
 * viewer may and use oncall routes (acknowledge and resolve alerts, silences); ingest may
 * only use ingest routes; a public route (MON_ROLE_NONE) needs no token.
 *
 * Create the cache with mon_auth_new, destroy it with mon_auth_free. Thread-safe.
 */
#ifndef MONITOR_AUTH_H
#define MONITOR_AUTH_H
#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "monitor/common.h"
#include "monitor/db.h"
#include "monitor/http.h"

#define MON_TOKEN_LEN 47 /* "vgl_" + 43 */
#define MON_TOKEN_NAME_MAX 64

struct mon_auth; /* opaque */

struct mon_auth *mon_auth_new(void);    /* aborts when out of memory */
void mon_auth_free(struct mon_auth *a); /* NULL is a no-op */

/* Check token (the text after "Bearer "). ttl_s is the cache lifetime. Returns 0 and fills
 * *who; -EPERM for an unknown or revoked token; -EAGAIN when the database cannot be
 * asked. */
int mon_auth_check(struct mon_auth *a, struct mon_db *db, const char *token, unsigned ttl_s,
		   struct mon_principal *who) MON_MUSTCHECK;

/* 1 when a caller with role have may use a route that needs role need. */
int mon_auth_allows(enum mon_role have, enum mon_role need);
/* "ingest", "viewer", "compliance", "oncall", "admin" ("none" for MON_ROLE_NONE). */
const char *mon_auth_role_name(enum mon_role r);
/* Parse one of the five role names; returns 0 or -EINVAL. */
int mon_auth_parse_role(const char *s, enum mon_role *out) MON_MUSTCHECK;
/* 1 when name is a valid token name: 1..64 of [A-Za-z0-9._-], not starting with . or -. */
int mon_auth_valid_name(const char *name);

/* Create a token named name (NULL: "token-" + 8 random hex digits) with role, audited as
 * actor from remote, in one transaction. Writes the token text (MON_TOKEN_LEN + 1 bytes)
 * into token and the name used into name_out (MON_TOKEN_NAME_MAX + 1 bytes). Returns 0;
 * -EINVAL for a bad name; -EEXIST when the name is taken; -EAGAIN when the database is
 * unavailable; -EIO otherwise. */
int mon_auth_token_create(PGconn *c, const char *name, enum mon_role role, const char *actor,
			  const char *remote, char *token, char *name_out) MON_MUSTCHECK;
/* Revoke the active token named name, audited. Returns 0; -ENOENT when there is none;
 * -EAGAIN / -EIO as above. */
int mon_auth_token_revoke(PGconn *c, const char *name, const char *actor,
			  const char *remote) MON_MUSTCHECK;
/* Every token (name, role, created_at, revoked_at; never the hash) as a new JSON array in
 * *out (cJSON_Delete it). Returns 0, -EAGAIN or -EIO. */
int mon_auth_token_list(PGconn *c, cJSON **out) MON_MUSTCHECK;

/* vigil token create --role ROLE [--name NAME] | revoke NAME | list, each with
 * [--database URL] [--config FILE]. Returns the exit status. */
int mon_token_main(int argc, char **argv);

/* The same over HTTP (admin): POST /v1/tokens {"name", "role"} -> 201 {"name", "role",
 * "token"}; GET /v1/tokens; DELETE /v1/tokens/{name} -> 204. */
void mon_api_token_create(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_token_list(struct mon_http_req *req, struct mon_http_resp *resp);
void mon_api_token_revoke(struct mon_http_req *req, struct mon_http_resp *resp);

#endif /* MONITOR_AUTH_H */
