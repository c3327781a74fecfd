/* SPDX-License-Identifier: MIT
 * monitor/cli.h - the offline subcommands: vigil drift, vigil perf, vigil estimate
 *
 * Each takes the arguments after its name (argv[0] is the subcommand), reads CSV files,
 * prints a table or JSON on stdout and returns the process exit status: 0, or 2 for bad
 * usage or bad input after one message on stderr naming the file, line and column.
 */
#ifndef MONITOR_CLI_H
#define MONITOR_CLI_H

int mon_cli_drift(int argc, char **argv);
int mon_cli_perf(int argc, char **argv);
int mon_cli_estimate(int argc, char **argv);

#endif /* MONITOR_CLI_H */
