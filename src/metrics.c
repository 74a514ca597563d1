/* Metrics are plain counters updated with relaxed atomics: each counter is
 * independent, and a scrape that sees one request in the status counts a
 * moment before it shows in the histogram is harmless. The histogram keeps
 * per-bucket (not cumulative) counts so that an observation is a single
 * increment; rendering sums them, and derives _count from the same sums so
 * that _count always equals the +Inf bucket within one scrape.
 *
 * Statuses are a fixed list (what the API answers) plus "other", so the
 * memory is known at start-up and no label set can grow without bound. */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static const int statuses[] = {200, 201, 400, 401, 403, 404, 405, 409,
                               413, 414, 415, 429, 431, 500, 503};
#define STATUS_COUNT (sizeof statuses / sizeof statuses[0])
#define STATUS_OTHER STATUS_COUNT

/* Upper bounds in nanoseconds, and the same written as Prometheus wants
 * them (text, so no float formatting can turn 0.001 into 0.0010000001). */
static const int64_t bucket_ns[] = {
    500000,   1000000,   2500000,   5000000,   10000000,   25000000,
    50000000, 100000000, 250000000, 500000000, 1000000000, 2500000000};
static const char *const bucket_le[] = {
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
    "0.1",    "0.25",  "0.5",    "1",     "2.5",  "+Inf"};
#define BUCKET_COUNT (sizeof bucket_ns / sizeof bucket_ns[0] + 1)

struct route_stats {
  atomic_uint_fast64_t by_status[STATUS_COUNT + 1];
  atomic_uint_fast64_t buckets[BUCKET_COUNT];
  atomic_uint_fast64_t sum_ns;
};

struct bo_metrics {
  const char *const *route_names;
  size_t route_count;
  atomic_uint_fast64_t holds;
  atomic_uint_fast64_t sales;
  atomic_uint_fast64_t holds_expired;
  struct route_stats routes[]; /* route_count + 1: the last is "unmatched" */
};

struct bo_metrics *bo_metrics_create(const char *const *route_names,
                                     size_t route_count) {
  struct bo_metrics *m =
      malloc(sizeof *m + (route_count + 1) * sizeof m->routes[0]);
  if (m == NULL)
    return NULL;
  m->route_names = route_names;
  m->route_count = route_count;
  atomic_init(&m->holds, 0);
  atomic_init(&m->sales, 0);
  atomic_init(&m->holds_expired, 0);
  for (size_t r = 0; r <= route_count; r++) {
    struct route_stats *rs = &m->routes[r];
    for (size_t s = 0; s <= STATUS_COUNT; s++)
      atomic_init(&rs->by_status[s], 0);
    for (size_t b = 0; b < BUCKET_COUNT; b++)
      atomic_init(&rs->buckets[b], 0);
    atomic_init(&rs->sum_ns, 0);
  }
  return m;
}

void bo_metrics_destroy(struct bo_metrics *metrics) {
  free(metrics);
}

static size_t status_slot(int status) {
  for (size_t s = 0; s < STATUS_COUNT; s++)
    if (statuses[s] == status)
      return s;
  return STATUS_OTHER;
}

static size_t bucket_slot(int64_t ns) {
  size_t b = 0;
  while (b < BUCKET_COUNT - 1 && ns > bucket_ns[b])
    b++;
  return b;
}

void bo_metrics_observe_request(struct bo_metrics *metrics, size_t route_index,
                                int http_status, int64_t duration_ns) {
  if (metrics == NULL)
    return;
  if (route_index > metrics->route_count)
    route_index = metrics->route_count;
  if (duration_ns < 0)
    duration_ns = 0;
  struct route_stats *rs = &metrics->routes[route_index];
  atomic_fetch_add_explicit(&rs->by_status[status_slot(http_status)], 1,
                            memory_order_relaxed);
  atomic_fetch_add_explicit(&rs->buckets[bucket_slot(duration_ns)], 1,
                            memory_order_relaxed);
  atomic_fetch_add_explicit(&rs->sum_ns, (uint_fast64_t)duration_ns,
                            memory_order_relaxed);
}

void bo_metrics_count_hold(struct bo_metrics *metrics) {
  if (metrics)
    atomic_fetch_add_explicit(&metrics->holds, 1, memory_order_relaxed);
}

void bo_metrics_count_sale(struct bo_metrics *metrics) {
  if (metrics)
    atomic_fetch_add_explicit(&metrics->sales, 1, memory_order_relaxed);
}

void bo_metrics_count_hold_expired(struct bo_metrics *metrics, int64_t n) {
  if (metrics && n > 0)
    atomic_fetch_add_explicit(&metrics->holds_expired, (uint_fast64_t)n,
                              memory_order_relaxed);
}

static uint64_t load(atomic_uint_fast64_t *counter) {
  return (uint64_t)atomic_load_explicit(counter, memory_order_relaxed);
}

/* A label value with '\\', '"' and newlines escaped, as the format asks. */
static void put_label(FILE *out, const char *value) {
  for (const char *p = value; *p; p++) {
    if (*p == '\\' || *p == '"')
      fputc('\\', out);
    if (*p == '\n')
      fputs("\\n", out);
    else
      fputc(*p, out);
  }
}

static const char *route_label(const struct bo_metrics *m, size_t r) {
  if (r == m->route_count || m->route_names == NULL ||
      m->route_names[r] == NULL)
    return "unmatched";
  return m->route_names[r];
}

static void render_requests(FILE *out, struct bo_metrics *m) {
  fputs("# HELP boxoffice_http_requests_total HTTP requests answered, by "
        "route pattern and status.\n"
        "# TYPE boxoffice_http_requests_total counter\n",
        out);
  for (size_t r = 0; r <= m->route_count; r++) {
    for (size_t s = 0; s <= STATUS_COUNT; s++) {
      uint64_t n = load(&m->routes[r].by_status[s]);
      if (n == 0)
        continue;
      fputs("boxoffice_http_requests_total{route=\"", out);
      put_label(out, route_label(m, r));
      if (s == STATUS_OTHER)
        fprintf(out, "\",status=\"other\"} %llu\n", (unsigned long long)n);
      else
        fprintf(out, "\",status=\"%d\"} %llu\n", statuses[s],
                (unsigned long long)n);
    }
  }
}

static void render_latency(FILE *out, struct bo_metrics *m) {
  fputs("# HELP boxoffice_http_request_duration_seconds Time from the "
        "request's headers to the end of its response.\n"
        "# TYPE boxoffice_http_request_duration_seconds histogram\n",
        out);
  for (size_t r = 0; r <= m->route_count; r++) {
    struct route_stats *rs = &m->routes[r];
    uint64_t counts[BUCKET_COUNT];
    uint64_t total = 0;
    for (size_t b = 0; b < BUCKET_COUNT; b++)
      total += counts[b] = load(&rs->buckets[b]);
    if (total == 0)
      continue; /* series appear once a route has been used */
    uint64_t cumulative = 0;
    for (size_t b = 0; b < BUCKET_COUNT; b++) {
      cumulative += counts[b];
      fputs("boxoffice_http_request_duration_seconds_bucket{route=\"", out);
      put_label(out, route_label(m, r));
      fprintf(out, "\",le=\"%s\"} %llu\n", bucket_le[b],
              (unsigned long long)cumulative);
    }
    fputs("boxoffice_http_request_duration_seconds_sum{route=\"", out);
    put_label(out, route_label(m, r));
    fprintf(out, "\"} %.9f\n", (double)load(&rs->sum_ns) / 1e9);
    fputs("boxoffice_http_request_duration_seconds_count{route=\"", out);
    put_label(out, route_label(m, r));
    fprintf(out, "\"} %llu\n", (unsigned long long)total);
  }
}

static void render_one(FILE *out, const char *name, const char *type,
                       const char *help, long long value) {
  fprintf(out, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", name, help, name, type,
          name, value);
}

char *bo_metrics_render(struct bo_metrics *metrics,
                        const struct bo_queue_stats *queue) {
  char *text = NULL;
  size_t len = 0;
  if (metrics == NULL)
    return NULL;
  FILE *out = open_memstream(&text, &len);
  if (out == NULL)
    return NULL;
  render_requests(out, metrics);
  render_latency(out, metrics);
  /* Without queue stats (the queue store is down) the gauges are left out
   * rather than reported as zero, which would read as "nobody waiting". */
  if (queue) {
    render_one(out, "boxoffice_queue_waiting", "gauge",
               "Tokens waiting in line.", (long long)queue->waiting);
    render_one(out, "boxoffice_queue_active", "gauge",
               "Tokens active (allowed to book) now.",
               (long long)queue->active);
    render_one(out, "boxoffice_queue_admitted_total", "counter",
               "Tokens admitted from the line since start.",
               (long long)queue->admitted_total);
  }
  render_one(out, "boxoffice_holds_total", "counter", "Seat holds taken.",
             (long long)load(&metrics->holds));
  render_one(out, "boxoffice_sales_total", "counter",
             "Seats sold (payments completed).",
             (long long)load(&metrics->sales));
  render_one(out, "boxoffice_holds_expired_total", "counter",
             "Seat holds released because their time ran out.",
             (long long)load(&metrics->holds_expired));
  if (ferror(out)) {
    fclose(out);
    free(text);
    return NULL;
  }
  if (fclose(out) != 0) {
    free(text);
    return NULL;
  }
  return text;
}
