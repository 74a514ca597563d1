/* The issue workload: one queue token for every user of --users, over all
 * connections at once, each connection taking the next user id from a
 * counter shared by the threads. A 429 (the per-address issue limit) is
 * waited out and asked again, so that every user ends with a token; a
 * user whose request fails three times is given up and reported. */
#include "queue_calls.h"
#include "report.h"
#include "run.h"
#include "run_workload.h"
#include "tokens_file.h"
#include "user_ids.h"
#include "workloads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATTEMPTS 3

struct shared {
  struct bo_load_user_ids users;
  bool forwarded_for;
};

struct vu {
  int64_t user; /* 0 before the first */
  int failures;
};

struct thread_ctx {
  struct shared *shared;
  struct vu *vus;
  struct bo_load_lines lines;
  uint64_t issued, active, waiting, given_up;
  bool out_of_memory;
};

static void next_user(struct bo_load_conn *c, struct vu *vu) {
  struct thread_ctx *ctx = bo_load_conn_context(c);
  int64_t user;
  if (!bo_load_user_ids_take(&ctx->shared->users, &user)) {
    bo_load_conn_stop(c);
    return;
  }
  vu->user = user;
  vu->failures = 0;
  bo_load_queue_issue(c, user, ctx->shared->forwarded_for);
}

static void wake(struct bo_load_conn *c) {
  struct thread_ctx *ctx = bo_load_conn_context(c);
  struct vu *vu = &ctx->vus[bo_load_conn_slot(c)];
  if (vu->user == 0)
    next_user(c, vu);
  else
    bo_load_queue_issue(c, vu->user, ctx->shared->forwarded_for);
}

static void issued(struct bo_load_conn *c, struct thread_ctx *ctx,
                   const struct vu *vu, const struct bo_load_response *r) {
  char token[BO_LOAD_TOKEN_MAX];
  bool active = false;
  if (!bo_load_queue_read(r, token, &active)) {
    bo_load_conn_unexpected(c);
    ctx->given_up++;
    return;
  }
  if (!bo_load_lines_add(&ctx->lines, token, vu->user,
                         active ? "ACTIVE" : "WAITING"))
    ctx->out_of_memory = true;
  ctx->issued++;
  if (active)
    ctx->active++;
  else
    ctx->waiting++;
}

static void respond(struct bo_load_conn *c, const struct bo_load_response *r) {
  struct thread_ctx *ctx = bo_load_conn_context(c);
  struct vu *vu = &ctx->vus[bo_load_conn_slot(c)];
  if (r->status == 200 || r->status == 201) {
    issued(c, ctx, vu, r);
  } else if (r->status == 429) {
    bo_load_conn_sleep_ms(c, bo_load_retry_after_ms(r, 100));
    return;
  } else if (r->status == 0 || r->status >= 500) {
    if (++vu->failures < ATTEMPTS) {
      bo_load_conn_sleep_ms(c, 100u * (uint64_t)vu->failures);
      return;
    }
    ctx->given_up++;
  } else {
    bo_load_conn_unexpected(c); /* 404: no such user, ... */
    ctx->given_up++;
  }
  next_user(c, vu);
}

static const struct bo_load_vu_ops ops = {.wake = wake, .respond = respond};

static bool thread_setup(void *context,
                         const struct bo_load_thread_share *share) {
  struct thread_ctx *ctx = context;
  ctx->shared = share->plan;
  ctx->vus = share->vus;
  return true;
}

static void thread_teardown(void *context) {
  struct thread_ctx *ctx = context;
  bo_load_lines_free(&ctx->lines);
}

static int report(const struct bo_load_options *o, unsigned threads,
                  const struct bo_load_run_result *result,
                  const struct thread_ctx *ctxs) {
  uint64_t issued = 0, active = 0, waiting = 0, given_up = 0;
  for (unsigned t = 0; t < threads; t++) {
    issued += ctxs[t].issued;
    active += ctxs[t].active;
    waiting += ctxs[t].waiting;
    given_up += ctxs[t].given_up;
  }
  double seconds = bo_load_run_busy_seconds(result);
  fprintf(stderr, "bo_load tokens: %llu of %lld users issued in %.2f s\n",
          (unsigned long long)issued, (long long)o->users_count, seconds);
  json_t *r = bo_load_report_new(o, threads, &result->stats, seconds);
  if (!r)
    return 1;
  bo_load_report_int(r, "users", o->users_count);
  bo_load_report_int(r, "issued", (int64_t)issued);
  bo_load_report_int(r, "active", (int64_t)active);
  bo_load_report_int(r, "waiting", (int64_t)waiting);
  bo_load_report_int(r, "given_up", (int64_t)given_up);
  bo_load_report_rate(r, "issued_per_s", (double)issued, seconds);
  json_object_set_new(r, "out", json_string(o->out_path));
  return bo_load_report_print(r) ? 0 : 1;
}

/* The tokens file first: a run whose tokens are lost reports nothing. */
static int finish(const struct bo_load_run_outcome *run) {
  const struct thread_ctx *ctxs = run->contexts;
  unsigned threads = run->threads;
  struct bo_load_lines *parts = calloc(threads, sizeof *parts);
  bool written = parts != NULL;
  for (unsigned t = 0; written && t < threads; t++) {
    parts[t] = ctxs[t].lines;
    written = !ctxs[t].out_of_memory;
  }
  written =
      written && bo_load_lines_write(run->options->out_path, parts, threads);
  free(parts);
  if (!written) {
    fprintf(stderr, "bo_load tokens: the tokens could not be saved\n");
    return 1;
  }
  return report(run->options, threads, run->result, ctxs);
}

int bo_load_tokens(const struct bo_load_options *o,
                   const struct bo_load_target *target) {
  struct shared shared = {.forwarded_for = o->forwarded_for};
  bo_load_user_ids_init(&shared.users, o->users_first, o->users_count);
  struct bo_load_workload_parts tokens = {
      .ops = &ops,
      .plan = &shared,
      .context_size = sizeof(struct thread_ctx),
      .vu_size = sizeof(struct vu),
      .setup = thread_setup,
      .teardown = thread_teardown,
      .finish = finish,
  };
  return bo_load_run_workload(&tokens, o, target);
}
