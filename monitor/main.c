/* SPDX-License-Identifier: MIT
 * monitor/main.c - the vigil command: one binary, one subcommand per job
 */
#include "config.h"

#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <string.h>

#include "monitor/alert.h"
#include "monitor/api_platform.h"
#include "monitor/audit.h"
#include "monitor/auth.h"
#include "monitor/cli.h"
#include "monitor/migrate.h"
#include "monitor/server.h"

static const char usage[] =
	"usage: vigil COMMAND [options]\n"
	"\n"
	"offline analysis of CSV files:\n"
	"  drift     distribution shift of every feature between a reference and a current file\n"
	"  perf      performance with confidence intervals, overall and per subgroup\n"
	"  estimate  label-free performance estimate (CBPE) of an unlabelled file\n"
	"\n"
	"the service (each takes --database URL, or VIGIL_DATABASE_URL):\n"
	"  serve     run the monitoring daemon (HTTP API, /metrics, /readyz)\n"
	"  migrate   apply the database schema migrations\n"
	"  token     create, revoke or list API tokens\n"
	"  audit     verify the audit log's hash chain (audit verify)\n"
	"  alerts    evaluate alert rules on a stored window (alerts evaluate), refresh silences\n"
	"  routes    list the HTTP routes the daemon serves\n"
	"\n"
	"vigil COMMAND --help shows a command's options; vigil --version the version.\n";

#ifdef HAVE_OPENBLAS
void openblas_set_num_threads(int n); /* <openblas/cblas.h> would clash with gsl_cblas.h */
#endif

/* The daemon runs its own threads (HTTP workers, evaluation workers), each of which may
 * call BLAS (MMD's kernel matrices) at the same moment: OpenBLAS's own thread pool on top
 * of them oversubscribes the cores, and its idle threads spin in sched_yield, taking the
 * CPU the workers need. One BLAS thread per caller; the offline commands keep OpenBLAS's
 * default. */
static int serve_main(int argc, char **argv)
{
#ifdef HAVE_OPENBLAS
	openblas_set_num_threads(1);
#endif
	return mon_serve_main(argc, argv);
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
} commands[] = {
	{"drift", mon_cli_drift},  {"perf", mon_cli_perf},        {"estimate", mon_cli_estimate},
	{"serve", serve_main},     {"migrate", mon_migrate_main}, {"token", mon_token_main},
	{"audit", mon_audit_main}, {"alerts", mon_alerts_main},   {"routes", mon_api_routes_main},
};

int main(int argc, char **argv)
{
	/* GSL aborts on domain errors by default; stats/ checks its own results */
	gsl_set_error_handler_off();
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("vigil %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "vigil: unknown command \"%s\" (vigil --help lists the commands)\n",
		argv[1]);
	return 2;
}
