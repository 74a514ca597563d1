/* What one event-loop thread counted; merged into one at the end.
 *
 * Only the thread that owns a struct writes to it, so there are no locks or
 * atomics on the request path. */
#ifndef BO_LOAD_STATS_H
#define BO_LOAD_STATS_H

#include "histogram.h"

#include <stdint.h>

#define BO_STATS_STATUS_MAX 600 /* status codes 100..599 */

struct bo_load_stats {
  struct bo_hist latency; /* write of a request to its full response */
  uint64_t requests;      /* responses received, whatever their status */
  uint64_t status[BO_STATS_STATUS_MAX];
  uint64_t server_errors;    /* status >= 500 */
  uint64_t transport_errors; /* no response even after the one retry */
  uint64_t unexpected;       /* statuses the workload did not expect */
  uint64_t reconnects;       /* connected again after the server closed */
  uint64_t connect_failures; /* a new connection unusable (refused, reset) */
  uint64_t first_send_ns;    /* CLOCK_MONOTONIC; 0 before any request */
  uint64_t last_response_ns;
};

void bo_load_stats_init(struct bo_load_stats *s);
void bo_load_stats_merge(struct bo_load_stats *into,
                         const struct bo_load_stats *from);
/* The "errors" of the report: >= 500, transport errors, unexpected. */
uint64_t bo_load_stats_errors(const struct bo_load_stats *s);

#endif
