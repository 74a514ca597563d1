#include "stats.h"

#include <string.h>

void bo_load_stats_init(struct bo_load_stats *s) {
  memset(s, 0, sizeof *s);
  bo_hist_init(&s->latency);
}

static uint64_t earliest_set(uint64_t a, uint64_t b) {
  if (a == 0)
    return b;
  if (b == 0)
    return a;
  return a < b ? a : b;
}

void bo_load_stats_merge(struct bo_load_stats *into,
                         const struct bo_load_stats *from) {
  bo_hist_merge(&into->latency, &from->latency);
  into->requests += from->requests;
  for (int code = 0; code < BO_STATS_STATUS_MAX; code++)
    into->status[code] += from->status[code];
  into->server_errors += from->server_errors;
  into->transport_errors += from->transport_errors;
  into->unexpected += from->unexpected;
  into->reconnects += from->reconnects;
  into->connect_failures += from->connect_failures;
  into->first_send_ns = earliest_set(into->first_send_ns, from->first_send_ns);
  if (from->last_response_ns > into->last_response_ns)
    into->last_response_ns = from->last_response_ns;
}

uint64_t bo_load_stats_errors(const struct bo_load_stats *s) {
  return s->server_errors + s->transport_errors + s->unexpected;
}
