/* boxoffice: reads the settings, opens the store and the queue, builds the
 * one struct bo_app, and serves until SIGTERM or SIGINT. */
#include "api/api.h"
#include "app.h"
#include "booking/demo.h"
#include "booking/housekeeping.h"
#include "booking/lines.h"
#include "booking/seat_snapshots.h"
#include "http/server.h"
#include "util/log.h"

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

/* A payment retried with its idempotency key after it spent its token is
 * still answered for this long. */
#define SPENT_TOKEN_KEEP_MS (3600 * 1000LL)
/* How long in-flight requests get to finish after SIGTERM. */
#define SHUTDOWN_GRACE_MS 10000
/* Keys each rate limit remembers at most (72 bytes each, reserved at start
 * and touched only as keys arrive): far more than the tokens polled or
 * addresses seen within one burst window, so the cap only matters under a
 * flood of distinct keys. */
#define RATELIMIT_KEYS (128u * 1024u)

/* A limiter per the settings, or NULL when its rate is 0 (off). False
 * only when memory ran out. */
static bool open_limit(int64_t rate, int64_t burst, struct bo_ratelimit **out) {
  *out = NULL;
  if (rate == 0)
    return true;
  *out = bo_ratelimit_create(rate, burst, RATELIMIT_KEYS);
  return *out != NULL;
}

static int serve(struct bo_app *app, const sigset_t *stop_signals) {
  int rc = EXIT_FAILURE;
  struct bo_housekeeping *housekeeping = NULL;
  struct bo_http_server *server = NULL;

  if (app->settings.demo) {
    bool loaded = false;
    enum bo_error err = bo_demo_load(app, &loaded);
    if (err) {
      bo_log_error("msg=\"demo data not loaded\" code=%s",
                   bo_error_info(err)->code);
      goto done;
    }
    bo_log_info("msg=\"%s\"", loaded ? "demo data loaded"
                                     : "database not empty: demo data skipped");
  }
  housekeeping = bo_housekeeping_start(app);
  if (!housekeeping) {
    bo_log_error("msg=\"housekeeping thread not started\"");
    goto done;
  }
  server = bo_http_start(app, bo_api_routes, bo_api_route_count);
  if (!server)
    goto done;
  bo_log_info("msg=\"serving\" listen=%s:%u db=%s queue=%s",
              app->settings.listen_host, (unsigned)bo_http_port(server),
              app->store->driver->name, app->queue->driver->name);

  int sig = 0;
  sigwait(stop_signals, &sig);
  bo_log_info("msg=\"stopping\" signal=%d", sig);
  rc = EXIT_SUCCESS;
done:
  bo_http_stop(server, SHUTDOWN_GRACE_MS);
  bo_housekeeping_stop(housekeeping);
  return rc;
}

int main(int argc, char **argv) {
  int rc = EXIT_FAILURE;
  struct bo_app app = {.clock = bo_clock_system()};
  char error[512] = "";
  const char **route_names = NULL; /* labels the metrics borrow */

  switch (bo_config_load(argc, argv, NULL, &app.settings, stdout, stderr)) {
  case BO_CONFIG_RUN:
    break;
  case BO_CONFIG_EXIT_OK:
    return EXIT_SUCCESS;
  case BO_CONFIG_EXIT_ERROR:
    return 2;
  }
  if (sodium_init() < 0) {
    bo_log_error("msg=\"libsodium failed to initialise\"");
    return EXIT_FAILURE;
  }
  /* Block the stop signals before any thread starts, so every thread
   * inherits the mask and only sigwait() in serve() receives them. */
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

  app.store = bo_store_open(app.settings.db_url, error, sizeof error);
  if (!app.store) {
    bo_log_error("msg=\"database not opened\" reason=\"%s\"", error);
    goto done;
  }
  if (app.store->driver->migrate(app.store) != BO_STORE_OK) {
    bo_log_error("msg=\"migrations failed\"");
    goto done;
  }
  if (app.settings.command == BO_COMMAND_MIGRATE) {
    bo_log_info("msg=\"migrations applied\"");
    rc = EXIT_SUCCESS;
    goto done;
  }

  struct bo_queue_settings queue_settings = {
      .active_max = app.settings.active_max,
      .active_ms = app.settings.active_seconds * 1000,
      .idle_ms = app.settings.idle_seconds * 1000,
      .spent_keep_ms = SPENT_TOKEN_KEEP_MS,
  };
  app.lines = bo_lines_open(&app, &queue_settings, error, sizeof error);
  if (!app.lines) {
    bo_log_error("msg=\"queue not opened\" reason=\"%s\"", error);
    goto done;
  }
  app.queue = bo_lines_global(app.lines);
  route_names = calloc(bo_api_route_count, sizeof *route_names);
  if (!route_names)
    goto done;
  for (size_t i = 0; i < bo_api_route_count; i++)
    route_names[i] = bo_api_routes[i].pattern;
  app.metrics = bo_metrics_create(route_names, bo_api_route_count);
  if (!app.metrics)
    goto done;
  if (!open_limit(app.settings.poll_rate, app.settings.poll_burst,
                  &app.poll_limit) ||
      !open_limit(app.settings.issue_rate, app.settings.issue_burst,
                  &app.issue_limit)) {
    bo_log_error("msg=\"rate limits not created: out of memory\"");
    goto done;
  }
  if (app.settings.seatmap_max_age_ms > 0) {
    app.seat_snapshots = bo_seat_snapshots_new(app.settings.seatmap_max_age_ms);
    if (!app.seat_snapshots)
      goto done;
  }

  rc = serve(&app, &stop_signals);
done:
  bo_seat_snapshots_free(app.seat_snapshots);
  bo_ratelimit_destroy(app.issue_limit);
  bo_ratelimit_destroy(app.poll_limit);
  bo_metrics_destroy(app.metrics);
  free(route_names);
  bo_lines_close(app.lines);
  bo_store_close(app.store);
  return rc;
}
