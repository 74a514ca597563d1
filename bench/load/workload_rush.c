/* The rush: every user with an ACTIVE token races for the seats of
 * schedules A..B at once.
 *
 * Users are dealt to connections like cards (user u to connection
 * u mod N); a connection asks for its users in turn, one request in
 * flight, so a user never has two. A user tries a random seat that its
 * thread does not know to be taken; a 409 crosses that seat out for every
 * user of the thread, as a seat map would. A 201 is a win and the user is
 * done. A connection stops when its users are all done (won, or gave up
 * after three failures in a row or a refused token) or its thread knows
 * every seat is taken.
 *
 * Each thread counts wins per seat; merged, a seat won twice according to
 * the responses is a duplicate win, which must never happen. */
#include "body.h"
#include "report.h"
#include "run.h"
#include "run_workload.h"
#include "seat_set.h"
#include "tokens_file.h"
#include "workloads.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATTEMPTS 3
#define PAUSE_AFTER_FAILURE_MS 100

struct plan {
  const struct bo_load_token_list *tokens;
  int64_t schedule_first;
  uint32_t seats_per_schedule;
  uint32_t seats; /* in all */
  size_t connections;
  size_t tokens_skipped; /* not ACTIVE */
};

struct win {
  int64_t reservation_id;
  int64_t user_id;
  int64_t schedule_id;
  int64_t seat_number;
};

/* One connection: its users, and what its request in flight is about. */
struct vu {
  uint32_t *users; /* token indexes; users[0 .. live-1] still race */
  uint32_t live;
  uint32_t turn;
  uint32_t seat; /* of the request in flight */
};

struct thread_ctx {
  const struct plan *plan;
  struct vu *vus;
  size_t vu_count;
  uint8_t *failures; /* per token index, of this thread's users only */
  struct bo_seat_set seats;
  uint32_t *wins_per_seat;
  struct win *wins;
  size_t win_count, win_cap;
  uint64_t gave_up;
  uint64_t last_win_ns;
  bool out_of_memory;
};

static void seat_ids(const struct plan *p, uint32_t seat, int64_t *schedule,
                     int64_t *number) {
  *schedule = p->schedule_first + seat / p->seats_per_schedule;
  *number = seat % p->seats_per_schedule + 1;
}

static void try_next(struct bo_load_conn *c) {
  struct thread_ctx *ctx = bo_load_conn_context(c);
  struct vu *vu = &ctx->vus[bo_load_conn_slot(c)];
  uint32_t seat = bo_seat_set_pick(&ctx->seats, bo_load_conn_rng(c));
  if (vu->live == 0 || seat == BO_SEAT_NONE) {
    bo_load_conn_stop(c);
    return;
  }
  vu->turn = (vu->turn + 1) % vu->live;
  vu->seat = seat;
  int64_t schedule, number;
  seat_ids(ctx->plan, seat, &schedule, &number);
  char body[96];
  snprintf(body, sizeof body,
           "{\"scheduleId\":%" PRId64 ",\"seatNumber\":%" PRId64 "}", schedule,
           number);
  struct bo_load_request req = {
      .method = "POST",
      .path = "/api/v1/reservations",
      .bearer = ctx->plan->tokens->items[vu->users[vu->turn]].text,
      .body = body,
      .keep_body = true,
  };
  bo_load_conn_send(c, &req);
}

/* The last user takes the place of the one in flight; the turn steps
 * back so that the next turn is that user's. */
static void drop_user(struct vu *vu) {
  vu->users[vu->turn] = vu->users[--vu->live];
  vu->turn = vu->turn ? vu->turn - 1 : (vu->live ? vu->live - 1 : 0);
}

/* The seat the response names, or the one asked for. */
static uint32_t won_seat(const struct plan *p, const struct win *w,
                         uint32_t asked) {
  int64_t offset = w->schedule_id - p->schedule_first;
  if (offset < 0 || w->seat_number < 1 ||
      w->seat_number > p->seats_per_schedule ||
      offset >= p->seats / p->seats_per_schedule)
    return asked;
  return (uint32_t)offset * p->seats_per_schedule +
         (uint32_t)(w->seat_number - 1);
}

static void record_win(struct bo_load_conn *c, struct thread_ctx *ctx,
                       struct vu *vu, const struct bo_load_response *r) {
  const struct plan *p = ctx->plan;
  struct win w = {.user_id = p->tokens->items[vu->users[vu->turn]].user_id};
  seat_ids(p, vu->seat, &w.schedule_id, &w.seat_number);
  json_t *root = bo_load_body_json(r);
  if (!root || !bo_load_json_int(root, "reservationId", &w.reservation_id))
    bo_load_conn_unexpected(c); /* a 201 without its reservation */
  if (root) {
    bo_load_json_int(root, "scheduleId", &w.schedule_id);
    bo_load_json_int(root, "seatNumber", &w.seat_number);
  }
  json_decref(root);
  uint32_t seat = won_seat(p, &w, vu->seat);
  ctx->wins_per_seat[seat]++;
  bo_seat_set_take(&ctx->seats, seat);
  bo_seat_set_take(&ctx->seats, vu->seat);
  ctx->last_win_ns = r->done_ns;
  if (ctx->win_count == ctx->win_cap) {
    size_t cap = ctx->win_cap ? ctx->win_cap * 2 : 256;
    struct win *grown = realloc(ctx->wins, cap * sizeof *grown);
    if (!grown) {
      ctx->out_of_memory = true;
      return;
    }
    ctx->wins = grown;
    ctx->win_cap = cap;
  }
  ctx->wins[ctx->win_count++] = w;
}

static void respond(struct bo_load_conn *c, const struct bo_load_response *r) {
  struct thread_ctx *ctx = bo_load_conn_context(c);
  struct vu *vu = &ctx->vus[bo_load_conn_slot(c)];
  uint8_t *failures = &ctx->failures[vu->users[vu->turn]];
  switch (r->status) {
  case 201:
    record_win(c, ctx, vu, r);
    drop_user(vu);
    break;
  case 409: /* SEAT_UNAVAILABLE (or SCHEDULE_CLOSED): not for anyone here */
    *failures = 0;
    bo_seat_set_take(&ctx->seats, vu->seat);
    break;
  case 404: /* no such seat: nobody will get it */
    bo_load_conn_unexpected(c);
    bo_seat_set_take(&ctx->seats, vu->seat);
    break;
  default:
    if (r->status == 0 || r->status >= 500) {
      if (++*failures < ATTEMPTS) {
        bo_load_conn_sleep_ms(c, PAUSE_AFTER_FAILURE_MS);
        return;
      }
    } else {
      bo_load_conn_unexpected(c); /* 401, 403: this token will not do */
    }
    ctx->gave_up++;
    drop_user(vu);
    break;
  }
  try_next(c);
}

static const struct bo_load_vu_ops ops = {.wake = try_next, .respond = respond};

/* --- before and after the run --------------------------------------------- */

static bool deal_users(struct thread_ctx *ctx, size_t first) {
  const struct plan *p = ctx->plan;
  for (size_t i = 0; i < ctx->vu_count; i++) {
    size_t id = first + i;
    struct vu *vu = &ctx->vus[i];
    size_t mine = id < p->tokens->count
                      ? (p->tokens->count - id - 1) / p->connections + 1
                      : 0;
    vu->users = calloc(mine ? mine : 1, sizeof *vu->users);
    if (!vu->users)
      return false;
    for (size_t u = id; u < p->tokens->count; u += p->connections)
      vu->users[vu->live++] = (uint32_t)u;
    vu->turn = vu->live ? vu->live - 1 : 0; /* the first turn is users[0] */
  }
  return true;
}

static bool thread_setup(void *context,
                         const struct bo_load_thread_share *share) {
  struct thread_ctx *ctx = context;
  const struct plan *p = share->plan;
  ctx->plan = p;
  ctx->vus = share->vus;
  ctx->vu_count = share->count;
  ctx->failures = calloc(p->tokens->count ? p->tokens->count : 1, 1);
  ctx->wins_per_seat = calloc(p->seats, sizeof *ctx->wins_per_seat);
  return ctx->failures && ctx->wins_per_seat &&
         bo_seat_set_init(&ctx->seats, p->seats) &&
         deal_users(ctx, share->first);
}

static void thread_teardown(void *context) {
  struct thread_ctx *ctx = context;
  for (size_t i = 0; i < ctx->vu_count; i++)
    free(ctx->vus[i].users);
  free(ctx->failures);
  free(ctx->wins_per_seat);
  free(ctx->wins);
  bo_seat_set_free(&ctx->seats);
}

static bool write_wins(const char *path, const struct thread_ctx *ctxs,
                       unsigned threads) {
  FILE *f = fopen(path, "w");
  if (!f) {
    perror(path);
    return false;
  }
  for (unsigned t = 0; t < threads; t++)
    for (size_t i = 0; i < ctxs[t].win_count; i++) {
      const struct win *w = &ctxs[t].wins[i];
      fprintf(f, "%" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n",
              w->reservation_id, w->user_id, w->schedule_id, w->seat_number);
    }
  return fclose(f) == 0;
}

static int report(const struct bo_load_options *o, unsigned threads,
                  const struct plan *p, const struct bo_load_run_result *result,
                  const struct thread_ctx *ctxs) {
  uint64_t holds = 0, gave_up = 0, duplicates = 0, last_win = 0;
  uint32_t seats_won = 0;
  for (unsigned t = 0; t < threads; t++) {
    holds += ctxs[t].win_count;
    gave_up += ctxs[t].gave_up;
    if (ctxs[t].last_win_ns > last_win)
      last_win = ctxs[t].last_win_ns;
  }
  for (uint32_t seat = 0; seat < p->seats; seat++) {
    uint64_t wins = 0;
    for (unsigned t = 0; t < threads; t++)
      wins += ctxs[t].wins_per_seat[seat];
    seats_won += wins > 0;
    duplicates += wins > 1 ? wins - 1 : 0;
  }
  double seconds = bo_load_run_busy_seconds(result);
  double hold_seconds =
      bo_load_seconds_between(result->stats.first_send_ns, last_win);
  fprintf(stderr,
          "bo_load rush: %llu holds of %u seats by %zu users in %.2f s, "
          "%llu duplicate wins\n",
          (unsigned long long)holds, p->seats, p->tokens->count, seconds,
          (unsigned long long)duplicates);
  json_t *r = bo_load_report_new(o, threads, &result->stats, seconds);
  if (!r)
    return 1;
  bo_load_report_int(r, "users", (int64_t)p->tokens->count);
  bo_load_report_int(r, "tokens_skipped", (int64_t)p->tokens_skipped);
  bo_load_report_int(r, "seats", p->seats);
  bo_load_report_int(r, "holds", (int64_t)holds);
  bo_load_report_int(r, "seats_won", seats_won);
  bo_load_report_real(r, "hold_seconds", hold_seconds);
  bo_load_report_rate(r, "holds_per_s", (double)holds, hold_seconds);
  bo_load_report_int(r, "duplicate_wins", (int64_t)duplicates);
  bo_load_report_int(r, "gave_up", (int64_t)gave_up);
  bo_load_report_int(r, "conflicts", (int64_t)result->stats.status[409]);
  return bo_load_report_print(r) ? 0 : 1;
}

/* The wins file first: a run whose wins are lost reports nothing. */
static int finish(const struct bo_load_run_outcome *run) {
  const struct bo_load_options *o = run->options;
  const struct thread_ctx *ctxs = run->contexts;
  for (unsigned t = 0; t < run->threads; t++)
    if (ctxs[t].out_of_memory)
      return 1;
  if (o->out_path && !write_wins(o->out_path, ctxs, run->threads))
    return 1;
  return report(o, run->threads, run->plan, run->result, ctxs);
}

int bo_load_rush(const struct bo_load_options *o,
                 const struct bo_load_target *target) {
  struct bo_load_token_list tokens;
  size_t skipped = 0;
  if (!bo_load_token_list_read(o->tokens_path, true, &tokens, &skipped))
    return 2;
  if (tokens.count == 0) {
    fprintf(stderr, "bo_load rush: no ACTIVE token in %s\n", o->tokens_path);
    bo_load_token_list_free(&tokens);
    return 2;
  }
  int64_t schedules = o->schedules_last - o->schedules_first + 1;
  struct plan plan = {
      .tokens = &tokens,
      .schedule_first = o->schedules_first,
      .seats_per_schedule = (uint32_t)o->seats,
      .seats = (uint32_t)(schedules * o->seats),
      .connections = (size_t)o->connections,
      .tokens_skipped = skipped,
  };
  struct bo_load_workload_parts rush = {
      .ops = &ops,
      .plan = &plan,
      .context_size = sizeof(struct thread_ctx),
      .vu_size = sizeof(struct vu),
      .setup = thread_setup,
      .teardown = thread_teardown,
      .finish = finish,
      .cannot_run = "bo_load rush: cannot set up the run",
  };
  int status = bo_load_run_workload(&rush, o, target);
  bo_load_token_list_free(&tokens);
  return status;
}
