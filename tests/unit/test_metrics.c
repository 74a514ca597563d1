/* Metrics: the Prometheus text after some observations. */
#include "metrics.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {"/api/v1/users",
                                    "/api/v1/users/{id}/points", "/metrics"};
#define NAME_COUNT 3

#define MS(x) ((int64_t)(x)*1000000)

static void assert_has(const char *text, const char *line) {
  cr_assert_not_null(strstr(text, line), "missing '%s' in:\n%s", line, text);
}

static void assert_lacks(const char *text, const char *part) {
  cr_assert_null(strstr(text, part), "unexpected '%s' in:\n%s", part, text);
}

Test(metrics, empty_render_has_help_and_type) {
  struct bo_metrics *m = bo_metrics_create(names, NAME_COUNT);
  cr_assert_not_null(m);
  char *text = bo_metrics_render(m, NULL);
  cr_assert_not_null(text);
  assert_has(text, "# TYPE boxoffice_http_requests_total counter\n");
  assert_has(text,
             "# TYPE boxoffice_http_request_duration_seconds histogram\n");
  assert_has(text, "# HELP boxoffice_holds_total ");
  assert_has(text,
             "# TYPE boxoffice_holds_total counter\nboxoffice_holds_total 0\n");
  assert_has(text, "boxoffice_sales_total 0\n");
  assert_has(text, "boxoffice_holds_expired_total 0\n");
  assert_lacks(text, "boxoffice_queue_waiting");
  assert_lacks(text, "boxoffice_http_requests_total{");
  free(text);
  bo_metrics_destroy(m);
}

Test(metrics, requests_by_route_and_status) {
  struct bo_metrics *m = bo_metrics_create(names, NAME_COUNT);
  bo_metrics_observe_request(m, 0, 201, MS(2));
  bo_metrics_observe_request(m, 0, 201, MS(3));
  bo_metrics_observe_request(m, 1, 200, MS(1));
  bo_metrics_observe_request(m, 1, 409, MS(1));
  bo_metrics_observe_request(m, 1, 418, MS(1));
  bo_metrics_observe_request(m, NAME_COUNT, 404, MS(1));
  bo_metrics_observe_request(m, 77, 405, MS(1)); /* out of range: unmatched */
  char *text = bo_metrics_render(m, NULL);
  assert_has(text, "boxoffice_http_requests_total{route=\"/api/v1/users\","
                   "status=\"201\"} 2\n");
  assert_has(text, "boxoffice_http_requests_total{route=\"/api/v1/users/{id}/"
                   "points\",status=\"200\"} 1\n");
  assert_has(text, "boxoffice_http_requests_total{route=\"/api/v1/users/{id}/"
                   "points\",status=\"409\"} 1\n");
  assert_has(text, "boxoffice_http_requests_total{route=\"/api/v1/users/{id}/"
                   "points\",status=\"other\"} 1\n");
  assert_has(text, "boxoffice_http_requests_total{route=\"unmatched\","
                   "status=\"404\"} 1\n");
  assert_has(text, "boxoffice_http_requests_total{route=\"unmatched\","
                   "status=\"405\"} 1\n");
  assert_lacks(text, "route=\"/metrics\"");
  free(text);
  bo_metrics_destroy(m);
}

Test(metrics, latency_histogram_is_cumulative) {
  struct bo_metrics *m = bo_metrics_create(names, NAME_COUNT);
  bo_metrics_observe_request(m, 2, 200, 400000);   /* 0.4 ms */
  bo_metrics_observe_request(m, 2, 200, 500000);   /* exactly 0.5 ms */
  bo_metrics_observe_request(m, 2, 200, MS(7));    /* 7 ms */
  bo_metrics_observe_request(m, 2, 200, MS(3000)); /* 3 s: only +Inf */
  bo_metrics_observe_request(m, 2, 200, -5);       /* clock oddity: 0 */
  char *text = bo_metrics_render(m, NULL);
#define BUCKET(le, n)                                                          \
  "boxoffice_http_request_duration_seconds_bucket{route=\"/metrics\",le=\"" le \
  "\"} " #n "\n"
  assert_has(text, BUCKET("0.0005", 3));
  assert_has(text, BUCKET("0.001", 3));
  assert_has(text, BUCKET("0.005", 3));
  assert_has(text, BUCKET("0.01", 4));
  assert_has(text, BUCKET("2.5", 4));
  assert_has(text, BUCKET("+Inf", 5));
  assert_has(text, "boxoffice_http_request_duration_seconds_count{route=\""
                   "/metrics\"} 5\n");
  assert_has(text, "boxoffice_http_request_duration_seconds_sum{route=\""
                   "/metrics\"} 3.007900000\n");
  /* Unused routes add no series. */
  assert_lacks(text, "_bucket{route=\"/api/v1/users\"");
  free(text);
  bo_metrics_destroy(m);
}

Test(metrics, business_counters_and_queue) {
  struct bo_metrics *m = bo_metrics_create(names, NAME_COUNT);
  bo_metrics_count_hold(m);
  bo_metrics_count_hold(m);
  bo_metrics_count_sale(m);
  bo_metrics_count_hold_expired(m, 3);
  bo_metrics_count_hold_expired(m, 0);
  bo_metrics_count_hold_expired(m, -2);
  struct bo_queue_stats q = {.waiting = 17, .active = 4, .admitted_total = 90};
  char *text = bo_metrics_render(m, &q);
  assert_has(text, "\nboxoffice_holds_total 2\n");
  assert_has(text, "\nboxoffice_sales_total 1\n");
  assert_has(text, "\nboxoffice_holds_expired_total 3\n");
  assert_has(text, "# TYPE boxoffice_queue_waiting gauge\n"
                   "boxoffice_queue_waiting 17\n");
  assert_has(text, "# TYPE boxoffice_queue_active gauge\n"
                   "boxoffice_queue_active 4\n");
  assert_has(text, "# TYPE boxoffice_queue_admitted_total counter\n"
                   "boxoffice_queue_admitted_total 90\n");
  free(text);
  bo_metrics_destroy(m);
}

Test(metrics, label_values_are_escaped) {
  static const char *const odd[] = {"/a\"b\\c\nd"};
  struct bo_metrics *m = bo_metrics_create(odd, 1);
  bo_metrics_observe_request(m, 0, 200, 1);
  char *text = bo_metrics_render(m, NULL);
  assert_has(text, "route=\"/a\\\"b\\\\c\\nd\",status=\"200\"} 1\n");
  free(text);
  bo_metrics_destroy(m);
}

Test(metrics, every_line_is_well_formed) {
  struct bo_metrics *m = bo_metrics_create(names, NAME_COUNT);
  bo_metrics_observe_request(m, 1, 200, MS(1));
  struct bo_queue_stats q = {0};
  char *text = bo_metrics_render(m, &q);
  cr_assert_eq(text[strlen(text) - 1], '\n');
  /* Every sample line is "name{labels} value" or "name value". */
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    if (line[0] == '#')
      continue;
    cr_assert_eq(strncmp(line, "boxoffice_", 10), 0, "%s", line);
    char *space = strrchr(line, ' ');
    cr_assert_not_null(space, "%s", line);
    char *end;
    strtod(space + 1, &end);
    cr_assert_eq(*end, '\0', "value of %s", line);
  }
  free(text);
  bo_metrics_destroy(m);
}

static void *hammer(void *arg) {
  struct bo_metrics *m = arg;
  for (int i = 0; i < 10000; i++) {
    bo_metrics_observe_request(m, 1, 200, MS(1));
    bo_metrics_count_hold(m);
  }
  return NULL;
}

Test(metrics, concurrent_updates_all_count) {
  struct bo_metrics *m = bo_metrics_create(names, NAME_COUNT);
  pthread_t t[4];
  for (int i = 0; i < 4; i++)
    pthread_create(&t[i], NULL, hammer, m);
  for (int i = 0; i < 4; i++)
    pthread_join(t[i], NULL);
  char *text = bo_metrics_render(m, NULL);
  assert_has(text, "status=\"200\"} 40000\n");
  assert_has(text, "\nboxoffice_holds_total 40000\n");
  assert_has(text, "_count{route=\"/api/v1/users/{id}/points\"} 40000\n");
  free(text);
  bo_metrics_destroy(m);
}
