/* Counters and histograms for /metrics, in Prometheus text format. All
 * updates are lock-free atomics so the request path never waits on them. */
#ifndef BO_METRICS_H
#define BO_METRICS_H

#include "queue/queue.h"

#include <stddef.h>
#include <stdint.h>

struct bo_metrics;

/* route_names[i] labels route i; index route_count counts requests that
 * matched no route. The names are borrowed and must outlive the metrics. */
struct bo_metrics *bo_metrics_create(const char *const *route_names,
                                     size_t route_count);
void bo_metrics_destroy(struct bo_metrics *metrics);

void bo_metrics_observe_request(struct bo_metrics *metrics, size_t route_index,
                                int http_status, int64_t duration_ns);
void bo_metrics_count_hold(struct bo_metrics *metrics);
void bo_metrics_count_sale(struct bo_metrics *metrics);
void bo_metrics_count_hold_expired(struct bo_metrics *metrics, int64_t n);

/* Returns a malloc'd text the caller frees. */
char *bo_metrics_render(struct bo_metrics *metrics,
                        const struct bo_queue_stats *queue);

#endif
