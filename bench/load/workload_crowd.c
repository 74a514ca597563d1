/* The crowd: many mostly idle keep-alive connections, each polling its
 * queue status once per --interval-ms, as a waiting room full of open
 * browser tabs does.
 *
 * Connection i opens at i/N of the ramp (the listen backlog sees a steady
 * stream, not a flood), polls at once, then at a random phase within the
 * interval, then once per interval. A poll that comes back late does not
 * make up for the slots it missed: the rate stays what a tab would send.
 * Only requests sent after the ramp count in the statistics; the run
 * lasts the ramp plus --duration. Connection i uses token i mod count. */
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
};

struct vu {
  uint64_t next_poll_ns; /* 0 before the first poll */
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
  size_t which = bo_load_conn_id(c) % tokens->count;
  bo_load_queue_poll(c, tokens->items[which].text, false);
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
  return bo_load_report_print(r) ? 0 : 1;
}

int bo_load_crowd(const struct bo_load_options *o,
                  const struct bo_load_target *target) {
  struct bo_load_token_list tokens;
  if (!bo_load_token_list_read(o->tokens_path, false, &tokens, NULL))
    return 2;
  if (tokens.count == 0) {
    fprintf(stderr, "bo_load crowd: no token in %s\n", o->tokens_path);
    bo_load_token_list_free(&tokens);
    return 2;
  }
  struct plan plan = {.tokens = &tokens,
                      .interval_ns = (uint64_t)o->interval_ms * 1000000u};
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
