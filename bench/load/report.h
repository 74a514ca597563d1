/* The one JSON object a run prints on stdout: the fields every workload
 * has, then the workload's own. */
#ifndef BO_LOAD_REPORT_H
#define BO_LOAD_REPORT_H

#include "histogram.h"
#include "options.h"
#include "stats.h"

#include <jansson.h>
#include <stdbool.h>

/* A new report with workload, seed, connections, threads, requests,
 * seconds, rps, the latency percentiles (*_ms), errors and their parts,
 * status and reconnects. `threads` is the count really used. NULL when
 * memory runs out. */
json_t *bo_load_report_new(const struct bo_load_options *o, unsigned threads,
                           const struct bo_load_stats *s, double seconds);

/* Adds "<prefix>_p50_ms", "_p99_ms", "_max_ms" (and mean, p90, p999). */
void bo_load_report_latency(json_t *report, const char *prefix,
                            const struct bo_hist *h);
void bo_load_report_int(json_t *report, const char *key, int64_t value);
/* `count / seconds`, 0 when seconds is 0, to two decimals. */
void bo_load_report_rate(json_t *report, const char *key, double count,
                         double seconds);
void bo_load_report_real(json_t *report, const char *key, double value);

/* Prints the report on one line of stdout and frees it. */
bool bo_load_report_print(json_t *report);

double bo_load_seconds_between(uint64_t from_ns, uint64_t to_ns);

#endif
