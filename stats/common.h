/* SPDX-License-Identifier: MIT
 * stats/common.h - shared conventions of the statistics core
 *
 * Every stats_ function returns 0 on success or a negative errno: -EINVAL for a bad
 * argument (NULL, size 0 where one is needed), -EDOM when the statistic is undefined for
 * the data (a single class, zero variance, ...), -ENOMEM when a documented allocation fails.
 * stats/ never prints, exits, or hands back a NaN silently.
 */
#ifndef STATS_COMMON_H
#define STATS_COMMON_H
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define STATS_MUSTCHECK __attribute__((warn_unused_result))

/* A point estimate with a two-sided interval. */
struct stats_ci {
	double value;
	double low;
	double high;
};

#endif /* STATS_COMMON_H */
