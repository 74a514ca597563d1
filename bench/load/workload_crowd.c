/* The crowd: many mostly idle keep-alive connections, each polling its
 * queue status once per --interval-ms, as a waiting room full of open
 * browser tabs does.
 *
 * Connection i opens at i/N of the ramp (the listen backlog sees a steady
 * stream, not a flood), polls at once, then at a random phase within the
 * interval, then once per interval. A poll that comes back late does not
 * make up for the slots it missed: the rate stays what a tab would send.
 * Only requests sent after the ramp count in the statistics; the run
 * lasts the ramp plus --duration. Connection i polls with token i mod
 * count, then i + connections, ... (see poll_status).
 *
 * With --schedules A:B the connections ask for seat maps instead
 * (connection i: schedule A + i mod the count; the tokens must be ACTIVE):
 * at a fixed rate below saturation, an open-loop load, so the latency is
 * what a buyer meets rather than the queueing of a closed loop that keeps
 * every connection busy (bench/run.sh's `seatmap_rate`). */
#include "queue_calls.h"
#include "report.h"
#include "run.h"
#include "run_workload.h"
#include "tokens_file.h"
#include "workloads.h"

#include <stdio.h>

struct plan {
  const struct bo_load_token_list *tokens;
  uint64_t interval_ns;
  int64_t schedule_first, schedule_count; /* count 0: poll the queue */
  uint64_t connections;
};

struct vu {
  uint64_t next_poll_ns; /* 0 before the first poll */
  uint64_t polls;        /* sent so far: the k-th uses the k-th token of its
                          * own stride through the file */
};

struct thread_ctx {
  const struct plan *plan;
  struct vu *vus;
};

static void poll_status(struct bo_load_conn *c) {
  const struct thread_ctx *ctx = bo_load_conn_context(c);
  const struct bo_load_token_list *tokens = ctx->plan->tokens;
  struct vu *vu = &ctx->vus[bo_load_conn_slot(c)];
  if (vu->next_poll_ns == 0)
    vu->next_poll_ns = bo_load_now_ns() + bo_rng_below(bo_load_conn_rng(c),
                                                       ctx->plan->interval_ns);
  size_t id = bo_load_conn_id(c);
  /* Connection i's k-th poll: token i + k * connections, so that a few
   * connections polling fast spread over the whole file (each token then
   * polls at most the rate a buyer would) and 10,000 connections each
   * keep one token of their own. */
  size_t which =
      (id + (size_t)(vu->polls++ * ctx->plan->connections)) % tokens->count;
  const char *token = tokens->items[which].text;
  if (ctx->plan->schedule_count == 0) {
    bo_load_queue_poll(c, token, false);
    return;
  }
  char path[64];
  snprintf(path, sizeof path, "/api/v1/schedules/%lld/seats",
           (long long)(ctx->plan->schedule_first +
                       (int64_t)(id % (size_t)ctx->plan->schedule_count)));
  struct bo_load_request req = {.method = "GET", .path = path, .bearer = token};
  bo_load_conn_send(c, &req);
}

static void respond(struct bo_load_conn *c, const struct bo_load_response *r) {
  const struct thread_ctx *ctx = bo_load_conn_context(c);
  struct vu *vu = &ctx->vus[bo_load_conn_slot(c)];
  if (r->status != 0 && r->status < 500 && r->status != 200 && r->status != 429)
    bo_load_conn_unexpected(c); /* 401: the token expired or left */
  uint64_t earliest = r->done_ns;
  if (r->status == 429 && r->retry_after > 0)
    earliest += (uint64_t)r->retry_after * 1000000000u;
  while (vu->next_poll_ns <= earliest)
    vu->next_poll_ns += ctx->plan->interval_ns;
  bo_load_conn_sleep_until(c, vu->next_poll_ns);
}

static const struct bo_load_vu_ops ops = {.wake = poll_status,
                                          .respond = respond};

static bool thread_setup(void *context,
                         const struct bo_load_thread_share *share) {
  struct thread_ctx *ctx = context;
  ctx->plan = share->plan;
  ctx->vus = share->vus;
  return true;
}

static int report(const struct bo_load_run_outcome *run) {
  const struct bo_load_options *o = run->options;
  const struct bo_load_run_result *result = run->result;
  const struct plan *plan = run->plan;
  double seconds =
      bo_load_seconds_between(result->measure_from_ns, result->end_ns);
  fprintf(stderr,
          "bo_load crowd: %zu of %lld connections open at the end, %llu "
          "failed to connect\n",
          result->connections_open, (long long)o->connections,
          (unsigned long long)result->stats.connect_failures);
  json_t *r = bo_load_report_new(o, run->threads, &result->stats, seconds);
  if (!r)
    return 1;
  bo_load_report_int(r, "connections_open", (int64_t)result->connections_open);
  bo_load_report_int(r, "connections_failed",
                     (int64_t)result->stats.connect_failures);
  bo_load_report_rate(r, "polls_per_s", (double)result->stats.requests,
                      seconds);
  bo_load_report_rate(r, "target_polls_per_s", (double)o->connections * 1000.0,
                      (double)o->interval_ms);
  bo_load_report_int(r, "tokens", (int64_t)plan->tokens->count);
  bo_load_report_real(r, "ramp_seconds", o->ramp_seconds);
  bo_load_report_int(r, "interval_ms", o->interval_ms);
  json_object_set_new(r, "asks_for",
                      json_string(plan->schedule_count ? "seats" : "status"));
  return bo_load_report_print(r) ? 0 : 1;
}

int bo_load_crowd(const struct bo_load_options *o,
                  const struct bo_load_target *target) {
  struct bo_load_token_list tokens;
  bool maps = o->schedules_first > 0 && o->schedules_last >= o->schedules_first;
  if (!bo_load_token_list_read(o->tokens_path, maps, &tokens, NULL))
    return 2;
  if (tokens.count == 0) {
    fprintf(stderr, "bo_load crowd: no token in %s\n", o->tokens_path);
    bo_load_token_list_free(&tokens);
    return 2;
  }
  struct plan plan = {.tokens = &tokens,
                      .interval_ns = (uint64_t)o->interval_ms * 1000000u,
                      .connections = (uint64_t)o->connections};
  if (maps) {
    plan.schedule_first = o->schedules_first;
    plan.schedule_count = o->schedules_last - o->schedules_first + 1;
  }
  struct bo_load_workload_parts crowd = {
      .ops = &ops,
      .plan = &plan,
      .context_size = sizeof(struct thread_ctx),
      .vu_size = sizeof(struct vu),
      .setup = thread_setup,
      .finish = report,
      .ramp_seconds = o->ramp_seconds,
      .measure_after_seconds = o->ramp_seconds,
      .run_seconds = o->ramp_seconds + o->duration_seconds,
  };
  int status = bo_load_run_workload(&crowd, o, target);
  bo_load_token_list_free(&tokens);
  return status;
}
