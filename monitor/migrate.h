/* SPDX-License-Identifier: MIT
 * monitor/migrate.h - applying sql/NNNN_name.sql migrations in order, each once
 *
 * Migrations are files named NNNN_name.sql (four digits, then [A-Za-z0-9_]), applied in name
 * order. Each runs in its own transaction together with its row in schema_migrations
 * (version = the name without ".sql", applied_at, sha256 of the file), so a migration is
 * either wholly applied and recorded or not at all. The whole run holds a session-level
 * advisory lock: several servers starting at once apply each migration exactly once.
 * Migrations are forward-only and must not contain BEGIN/COMMIT themselves.
 *
 * Where the files are: $VIGIL_SQLDIR if set; else, for an installed vigil (the binary sits
 * in $(bindir)), $(pkgdatadir)/sql; else, for a binary run from its build tree, the source
 * tree's sql/ (VIGIL_SRCDIR); else $(pkgdatadir)/sql.
 */
#ifndef MONITOR_MIGRATE_H
#define MONITOR_MIGRATE_H
#include <libpq-fe.h>
#include <stddef.h>

#include "monitor/common.h"

/* Advisory lock keys (pg_advisory_lock(int4, int4)) shared by all of vigil. */
#define MON_LOCK_CLASS_SQL "1447447552" /* 0x56474c00, "VGL" */
#define MON_LOCK_MIGRATE_SQL "1"
#define MON_LOCK_AUDIT_SQL "2"

#define MON_MIGRATION_NAME_MAX 128

/* The migrations directory (see above). Borrowed, static. */
const char *mon_migrate_dir(void);

/* The newest migration shipped in dir (its version, e.g. "0001_init") into out. Returns 0;
 * -ENOENT when dir holds none or cannot be read. */
int mon_migrate_latest_shipped(const char *dir, char *out, size_t len) MON_MUSTCHECK;

/* Apply every migration in dir not yet recorded. *applied (may be NULL) receives how many
 * were applied now; each is logged. Returns 0; -ENOENT when dir has no migrations;
 * -EAGAIN when the database is unavailable; -EIO when a migration failed (its error and
 * file are logged; the ones before it stay applied). */
int mon_migrate_run(PGconn *c, const char *dir, int *applied) MON_MUSTCHECK;

/* The newest applied version into out ("" when none, or no schema_migrations table).
 * Returns 0, -EAGAIN or -EIO. */
int mon_migrate_current(PGconn *c, char *out, size_t len) MON_MUSTCHECK;

/* vigil migrate [--database URL] [--config FILE]. Returns the exit status. */
int mon_migrate_main(int argc, char **argv);

#endif /* MONITOR_MIGRATE_H */
