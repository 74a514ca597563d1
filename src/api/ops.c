/* GET /healthz, GET /metrics */
#include "api/api.h"
#include "api/common.h"

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

void bo_api_ops_metrics(struct bo_app *app, const struct bo_request *req,
                        struct bo_reply *reply) {
  (void)req;
  struct bo_queue_stats stats = {0};
  /* A queue that cannot be read still leaves the request metrics worth
   * scraping; its gauges then read 0. */
  app->queue->driver->stats(app->queue, &stats);
  char *text = bo_metrics_render(app->metrics, &stats);
  if (!text) {
    bo_api_fail(reply, BO_ERR_INTERNAL);
    return;
  }
  bo_reply_text(reply, 200, "text/plain; version=0.0.4; charset=utf-8", text,
                strlen(text));
}
