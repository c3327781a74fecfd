/* SPDX-License-Identifier: MIT
 * monitor/render.h - readable tables from the report JSON
 *
 * Tables are rendered from the same cJSON object that --format json prints, so the two
 * formats never disagree.
 */
#ifndef MONITOR_RENDER_H
#define MONITOR_RENDER_H
#include <cjson/cJSON.h>
#include <stdio.h>

void mon_render_drift(FILE *f, const cJSON *report);
void mon_render_perf(FILE *f, const cJSON *report); /* perf and estimate reports */

#endif /* MONITOR_RENDER_H */
