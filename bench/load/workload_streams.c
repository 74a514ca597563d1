/* Streams: many open event streams (GET /api/v1/queue/stream), one per
 * token of the tokens file, held for --duration seconds after a ramp of
 * --ramp-seconds, as a waiting room full of browser tabs with EventSource.
 *
 * Connection i streams token i (so every stream is a token of its own, as
 * each tab is a user of its own; the file must hold at least
 * --connections tokens). The driver parses the event-stream lines and
 * counts state events, heartbeat comments, admissions (the first ACTIVE
 * state of a stream that began WAITING) and end events by reason; and
 * events that came less than TOO_FAST_MS after the stream's previous one
 * (the server promises at most one a second; a little less than that
 * apart can be delivery jitter, much less is a broken promise).
 *
 * A stream that ends with an end event is over (its token is spent or
 * ran out); one that drops without it, or a refusal, is an error: the
 * stream is opened again after a second, at most three times. A 429 (the
 * poll limit: opening a stream counts as a poll) is waited out. */
#include "report.h"
#include "run.h"
#include "run_workload.h"
#include "tokens_file.h"
#include "workloads.h"

#include <stdio.h>
#include <string.h>

#define ATTEMPTS 3
#define LINE_MAX 512
#define TOO_FAST_MS 800

enum reason {
  END_SPENT,
  END_EXPIRED,
  END_UNKNOWN,
  END_SHUTDOWN,
  END_OTHER,
  END_REASONS
};
static const char *const reason_names[END_REASONS] = {
    "spent", "expired", "unknown", "shutdown", "other"};

struct plan {
  const struct bo_load_token_list *tokens;
};

struct vu {
  uint64_t last_event_ns;
  uint16_t line_len;
  uint8_t failures;
  bool opened; /* has had a 200 */
  bool was_waiting;
  bool admitted;
  bool in_end;      /* the event being read is named "end" */
  bool data_active; /* its data says "status":"ACTIVE" */
  /* Of the event being read: -2 before its first data line, -1 after it
   * (not an end event), else the end event's enum reason. */
  int8_t reason;
  bool ended; /* an end event came */
  char line[LINE_MAX];
};

struct thread_ctx {
  const struct plan *plan;
  struct vu *vus;
  uint64_t opened, events, heartbeats, admitted, too_fast, dropped, refused;
  uint64_t ends[END_REASONS];
};

static void open_stream(struct bo_load_conn *c) {
  const struct thread_ctx *ctx = bo_load_conn_context(c);
  const struct bo_load_token *token =
      &ctx->plan->tokens->items[bo_load_conn_id(c)];
  struct bo_load_request req = {.method = "GET",
                                .path = "/api/v1/queue/stream",
                                .bearer = token->text,
                                .stream = true};
  bo_load_conn_send(c, &req);
}

static enum reason reason_in(const char *data) {
  const char *at = strstr(data, "\"reason\":\"");
  if (at == NULL)
    return END_OTHER;
  at += 10;
  for (int r = 0; r < END_OTHER; r++) {
    size_t n = strlen(reason_names[r]);
    if (strncmp(at, reason_names[r], n) == 0 && at[n] == '"')
      return (enum reason)r;
  }
  return END_OTHER;
}

/* The blank line: the event is complete. */
static void dispatch(struct thread_ctx *ctx, struct vu *vu) {
  if (vu->in_end) {
    ctx->ends[vu->reason >= 0 ? vu->reason : END_OTHER]++;
    vu->ended = true;
  } else if (vu->reason != -2) { /* -2: the block had no data line */
    uint64_t now = bo_load_now_ns();
    if (vu->last_event_ns &&
        now - vu->last_event_ns < (uint64_t)TOO_FAST_MS * 1000000u)
      ctx->too_fast++;
    vu->last_event_ns = now;
    ctx->events++;
    if (!vu->data_active) {
      vu->was_waiting = true;
    } else if (vu->was_waiting && !vu->admitted) {
      vu->admitted = true;
      ctx->admitted++;
    }
  }
  vu->in_end = false;
  vu->data_active = false;
  vu->reason = -2;
}

static void take_line(struct thread_ctx *ctx, struct vu *vu) {
  const char *line = vu->line;
  if (vu->line_len == 0) {
    dispatch(ctx, vu);
  } else if (line[0] == ':') {
    ctx->heartbeats++;
  } else if (strncmp(line, "event: end", 10) == 0) {
    vu->in_end = true;
  } else if (strncmp(line, "data:", 5) == 0) {
    vu->data_active = vu->data_active || strstr(line, "\"status\":\"ACTIVE\"");
    vu->reason = vu->in_end ? (int8_t)reason_in(line) : -1;
  }
}

static void stream_data(struct bo_load_conn *c, const char *data, size_t n) {
  struct thread_ctx *ctx = bo_load_conn_context(c);
  struct vu *vu = &ctx->vus[bo_load_conn_slot(c)];
  if (!vu->opened) {
    vu->opened = true;
    vu->reason = -2;
    ctx->opened++;
  }
  for (size_t i = 0; i < n; i++) {
    if (data[i] == '\n') {
      vu->line[vu->line_len] = '\0';
      take_line(ctx, vu);
      vu->line_len = 0;
    } else if (vu->line_len < LINE_MAX - 1) {
      vu->line[vu->line_len++] = data[i];
    }
  }
}

static void respond(struct bo_load_conn *c, const struct bo_load_response *r) {
  struct thread_ctx *ctx = bo_load_conn_context(c);
  struct vu *vu = &ctx->vus[bo_load_conn_slot(c)];
  if (r->status == 200 && vu->ended) {
    bo_load_conn_stop(c); /* over: the token is spent or ran out */
    return;
  }
  if (r->status == 429) {
    uint64_t ms = r->retry_after > 0 ? (uint64_t)r->retry_after * 1000u : 1000;
    bo_load_conn_sleep_ms(c, ms);
    return;
  }
  if (r->status == 200 || r->status == 0) {
    ctx->dropped++; /* ended without an end event, or never answered */
    if (r->status == 200)
      bo_load_conn_unexpected(c);
  } else {
    ctx->refused++; /* 401: the token is not live; >= 500 */
    if (r->status < 500)
      bo_load_conn_unexpected(c);
  }
  vu->line_len = 0;
  vu->in_end = vu->data_active = false;
  vu->reason = -2;
  if (++vu->failures < ATTEMPTS)
    bo_load_conn_sleep_ms(c, 1000);
  else
    bo_load_conn_stop(c);
}

static const struct bo_load_vu_ops ops = {
    .wake = open_stream, .respond = respond, .stream = stream_data};

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
  const struct thread_ctx *ctxs = run->contexts;
  struct thread_ctx sum = {0};
  for (unsigned t = 0; t < run->threads; t++) {
    const struct thread_ctx *x = &ctxs[t];
    sum.opened += x->opened;
    sum.events += x->events;
    sum.heartbeats += x->heartbeats;
    sum.admitted += x->admitted;
    sum.too_fast += x->too_fast;
    sum.dropped += x->dropped;
    sum.refused += x->refused;
    for (int r = 0; r < END_REASONS; r++)
      sum.ends[r] += x->ends[r];
  }
  double seconds = bo_load_seconds_between(result->start_ns, result->end_ns);
  double held = o->duration_seconds > 0 ? o->duration_seconds : 1;
  fprintf(stderr,
          "bo_load streams: %zu of %lld streams open at the end, %llu "
          "opened, %llu events, %llu heartbeats\n",
          result->connections_open, (long long)o->connections,
          (unsigned long long)sum.opened, (unsigned long long)sum.events,
          (unsigned long long)sum.heartbeats);
  json_t *r = bo_load_report_new(o, run->threads, &result->stats, seconds);
  if (!r)
    return 1;
  bo_load_report_int(r, "connections_open", (int64_t)result->connections_open);
  bo_load_report_int(r, "connections_failed",
                     (int64_t)result->stats.connect_failures);
  bo_load_report_int(r, "streams_opened", (int64_t)sum.opened);
  bo_load_report_int(r, "events", (int64_t)sum.events);
  bo_load_report_int(r, "heartbeats", (int64_t)sum.heartbeats);
  bo_load_report_int(r, "admitted", (int64_t)sum.admitted);
  bo_load_report_int(r, "too_fast", (int64_t)sum.too_fast);
  bo_load_report_int(r, "dropped", (int64_t)sum.dropped);
  bo_load_report_int(r, "refused", (int64_t)sum.refused);
  json_t *ends = json_object();
  for (int e = 0; e < END_REASONS; e++)
    json_object_set_new(ends, reason_names[e],
                        json_integer((json_int_t)sum.ends[e]));
  json_object_set_new(r, "ended", ends);
  /* Over the whole run: the ramp's first events included. */
  bo_load_report_rate(r, "events_per_s", (double)sum.events, seconds);
  bo_load_report_real(r, "ramp_seconds", o->ramp_seconds);
  bo_load_report_real(r, "held_seconds", held);
  return bo_load_report_print(r) ? 0 : 1;
}

int bo_load_streams(const struct bo_load_options *o,
                    const struct bo_load_target *target) {
  struct bo_load_token_list tokens;
  if (!bo_load_token_list_read(o->tokens_path, false, &tokens, NULL))
    return 2;
  if (tokens.count < (size_t)o->connections) {
    fprintf(stderr,
            "bo_load streams: %zu tokens in %s for %lld streams: each "
            "stream needs a token of its own\n",
            tokens.count, o->tokens_path, (long long)o->connections);
    bo_load_token_list_free(&tokens);
    return 2;
  }
  struct plan plan = {.tokens = &tokens};
  struct bo_load_workload_parts streams = {
      .ops = &ops,
      .plan = &plan,
      .context_size = sizeof(struct thread_ctx),
      .vu_size = sizeof(struct vu),
      .setup = thread_setup,
      .finish = report,
      .ramp_seconds = o->ramp_seconds,
      .measure_after_seconds = 0,
      .run_seconds = o->ramp_seconds + o->duration_seconds,
  };
  int status = bo_load_run_workload(&streams, o, target);
  bo_load_token_list_free(&tokens);
  return status;
}
