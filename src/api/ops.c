/* GET /healthz, GET /metrics */
#include "api/api.h"
#include "api/common.h"
#include "booking/lines.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bo_api_ops_health(struct bo_app *app, const struct bo_request *req,
                       struct bo_reply *reply) {
  (void)req;
  bool db = app->store->driver->ping(app->store) == BO_STORE_OK;
  bool queue = app->queue->driver->ping(app->queue) == BO_QUEUE_OK;
  if (db && queue) {
    bo_reply_json(reply, 200, json_pack("{s:s}", "status", "ok"));
    return;
  }
  bo_reply_error(reply, BO_ERR_UNAVAILABLE, "%s%s%s cannot be reached",
                 db ? "" : "the database", !db && !queue ? " and " : "",
                 queue ? "" : "the queue store");
}

/* One gauge family over the concert lines: HELP, TYPE, one sample each. */
#define LINE_GAUGES(X)                                                         \
  X("waiting", "users waiting in a concert's own line, pre-queue included",    \
    stats.waiting)                                                             \
  X("pre_queue", "users in a concert line's pre-queue, not drawn yet",         \
    stats.pre_queue)                                                           \
  X("active", "users admitted to book in a concert's own line", stats.active)  \
  X("admitted_last_minute",                                                    \
    "admissions out of a concert line in the last minute",                     \
    stats.admitted_last_minute)                                                \
  X("seats_left", "seats of a concert neither sold nor held, last counted",    \
    view->seats_left)                                                          \
  X("sold_out", "1 when a concert's line is closed: every seat sold",          \
    (int64_t)view->sold_out)                                                   \
  X("paused", "1 when an operator paused a concert's line",                    \
    (int64_t)view->row.paused)

/* The concert lines' gauges, appended to `out`. The global line's are
 * bo_metrics_render()'s (boxoffice_queue_*). A line whose queue cannot be
 * read is left out rather than shown as empty. */
static void render_lines(struct bo_app *app, FILE *out) {
  struct bo_line_view *views = NULL;
  size_t count = 0;
  if (bo_lines_list(app, &views, &count) != BO_OK)
    return;
  struct bo_queue_stats *all = calloc(count, sizeof *all);
  bool *readable = calloc(count, sizeof *readable);
  for (size_t i = 0; all && readable && i < count; i++)
    readable[i] =
        views[i].line_id != 0 &&
        views[i].queue->driver->stats(views[i].queue, &all[i]) == BO_QUEUE_OK;
#define LINE_GAUGE(name, help, value)                                          \
  fprintf(out,                                                                 \
          "# HELP boxoffice_line_%s %s\n# TYPE boxoffice_line_%s gauge\n",     \
          name, help, name);                                                   \
  for (size_t i = 0; all && readable && i < count; i++) {                      \
    if (!readable[i])                                                          \
      continue;                                                                \
    const struct bo_line_view *view = &views[i];                               \
    struct bo_queue_stats stats = all[i];                                      \
    (void)view, (void)stats; /* each gauge reads one of them */                \
    fprintf(out, "boxoffice_line_%s{concert=\"%lld\"} %lld\n", name,           \
            (long long)view->line_id, (long long)(value));                     \
  }
  LINE_GAUGES(LINE_GAUGE)
#undef LINE_GAUGE
  free(readable);
  free(all);
  free(views);
}

void bo_api_ops_metrics(struct bo_app *app, const struct bo_request *req,
                        struct bo_reply *reply) {
  (void)req;
  struct bo_queue_stats stats = {0};
  /* A queue that cannot be read still leaves the request metrics worth
   * scraping; its gauges then read 0. */
  app->queue->driver->stats(app->queue, &stats);
  char *text = bo_metrics_render(app->metrics, &stats);
  char *all = NULL;
  size_t len = 0;
  FILE *out = text ? open_memstream(&all, &len) : NULL;
  if (out != NULL) {
    fputs(text, out);
    render_lines(app, out);
    if (fclose(out) != 0) {
      free(all);
      all = NULL;
    }
  }
  free(text);
  if (!all) {
    bo_api_fail(reply, BO_ERR_INTERNAL);
    return;
  }
  bo_reply_text(reply, 200, "text/plain; version=0.0.4; charset=utf-8", all,
                len);
}
