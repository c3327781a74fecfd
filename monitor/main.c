/* SPDX-License-Identifier: MIT
 * monitor/main.c - the vigil command: dispatch to subcommands
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help")) {
		printf("usage: vigil drift|perf|estimate [options]\n");
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("vigil %s\n", PACKAGE_VERSION);
		return 0;
	}
	fprintf(stderr, "vigil: unknown command '%s'\n", argv[1]);
	return 2;
}
