/* SPDX-License-Identifier: MIT
 * monitor/common.h - conventions shared by the monitor: must-check, allocation that aborts
 */
#ifndef MONITOR_COMMON_H
#define MONITOR_COMMON_H
#include <stddef.h>

#include "collectors/table.h"

#define MON_MUSTCHECK __attribute__((warn_unused_result))

/* Out of memory is not recoverable in the monitor: these log and abort (see STYLE.md §5). */
#define mon_xmalloc col_xmalloc
#define mon_xcalloc col_xcalloc
#define mon_xrealloc col_xrealloc
#define mon_xstrndup col_xstrndup

#endif /* MONITOR_COMMON_H */
