/* The memory queue's pre-queue and draw (queue.h, "Lines"; draw.h). The
 * expected order of a draw is computed from the definition (SHA-256
 * of the token, HMAC-SHA256 keyed by the seed, ascending, ties by id) with
 * libsodium directly, not with bo_draw_sort() (support/draw_order.h).
 * Time is an argument. */
#include "queue/queue.h"
#include "support/draw_order.h"
#include "support/queue_calls.h"
#include "support/stopwatch.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ON_SALE INT64_C(1700000060000)

static struct bo_queue *open_queue(int64_t active_max, int64_t active_ms,
                                   int64_t idle_ms) {
  return open_queue_at("memory", active_max, active_ms, 1000, idle_ms);
}

static struct bo_line_policy
pre_queue_policy(int64_t active_max, int64_t on_sale_at_ms, uint8_t seed_byte) {
  struct bo_line_policy policy = {.active_max = active_max,
                                  .admit_cap = -1,
                                  .on_sale_at_ms = on_sale_at_ms};
  for (int i = 0; i < BO_DRAW_SEED_BYTES; i++)
    policy.seed[i] = (uint8_t)(seed_byte + 31 * i);
  return policy;
}

/* ---- before the on-sale ---- */

Test(queue_memory_draw, joins_before_the_on_sale_wait_in_the_pre_queue) {
  struct bo_queue *queue = open_queue(100, 60000, LONG_MS);
  struct bo_line_policy policy = pre_queue_policy(100, ON_SALE, 1);
  configure(queue, &policy);
  struct bo_token tokens[6];
  const int64_t at[6] = {0,
                         ON_SALE - 60000,
                         ON_SALE - 30500,
                         ON_SALE - 9001,
                         ON_SALE - 999,
                         ON_SALE - 1};
  const int64_t eta[6] = {0, 60, 31, 10, 1, 1};
  for (int user = 1; user <= 5; user++) {
    struct bo_token_info info = join_created(queue, user, at[user], 1);
    tokens[user] = info.token;
    cr_assert_eq(info.state, BO_TOKEN_WAITING, "user %d", user);
    cr_assert(info.pre_queue);
    cr_assert_eq(info.position, user, "position = how many pre-queued");
    cr_assert_eq(info.estimated_wait_seconds, eta[user], "user %d: eta %lld",
                 user, (long long)info.estimated_wait_seconds);
    cr_assert_eq(info.expires_at_ms, 0);
    /* Room for a hundred, yet nobody is admitted before the draw. */
    cr_assert_eq(admit_at(queue, at[user]), 0);
  }
  /* Joining again gives the same token back, still pre-queued. */
  struct bo_token_info again = join_created(queue, 2, ON_SALE - 500, 0);
  cr_assert(same_token(&again.token, &tokens[2]));
  cr_assert(again.pre_queue);
  cr_assert_eq(again.position, 5);
  struct bo_token_info info = status_of(queue, &tokens[1], ON_SALE - 1);
  cr_assert(info.pre_queue);
  cr_assert_eq(info.estimated_wait_seconds, 1);

  struct bo_queue_stats stats = stats_of(queue);
  cr_assert_eq(stats.waiting, 5);
  cr_assert_eq(stats.pre_queue, 5);
  cr_assert_eq(stats.active, 0);
  cr_assert(!stats.drawn);
  struct bo_draw_result draw = draw_result_of(queue);
  cr_assert(!draw.drawn);
  cr_assert_null(draw.entry_ids);

  /* Leaving works from the pre-queue too. */
  cr_assert_eq(queue->driver->leave(queue, &tokens[3], ON_SALE - 1),
               BO_QUEUE_OK);
  cr_assert_eq(status_of(queue, &tokens[3], ON_SALE - 1).state, BO_TOKEN_SPENT);
  cr_assert_eq(queue->driver->leave(queue, &tokens[3], ON_SALE - 1),
               BO_QUEUE_NOT_FOUND);
  info = status_of(queue, &tokens[5], ON_SALE - 1);
  cr_assert_eq(info.position, 4);
  stats = stats_of(queue);
  cr_assert_eq(stats.pre_queue, 4);
  cr_assert_eq(stats.waiting, 4);
  bo_queue_close(queue);
}

/* Pre-queue places do not need keeping alive: nobody here ever asks, and
 * the on-sale is many idle_ms away. Once drawn they are seen at the draw,
 * and from then on idle_ms applies as to anyone in line. */
Test(queue_memory_draw, pre_queue_tokens_are_not_dropped_as_idle) {
  enum { IDLE = 1000, USERS = 20 };
  struct bo_queue *queue = open_queue(1, LONG_MS, IDLE);
  struct bo_line_policy policy = pre_queue_policy(1, ON_SALE, 2);
  configure(queue, &policy);
  struct bo_token tokens[USERS];
  for (int i = 0; i < USERS; i++)
    tokens[i] = join_created(queue, i + 1, ON_SALE - 60000, 1).token;
  for (int64_t now = ON_SALE - 60000; now < ON_SALE; now += 700)
    cr_assert_eq(admit_at(queue, now), 0);
  cr_assert_eq(stats_of(queue).pre_queue, USERS);

  cr_assert_eq(admit_at(queue, ON_SALE), 1);
  struct bo_queue_stats stats = stats_of(queue);
  cr_assert_eq(stats.waiting, USERS - 1);
  cr_assert_eq(stats.pre_queue, 0);
  cr_assert(stats.drawn);
  cr_assert_eq(admit_at(queue, ON_SALE + IDLE - 1), 0);
  cr_assert_eq(stats_of(queue).waiting, USERS - 1);
  /* Seen at the draw, never since: gone one idle_ms after it. */
  cr_assert_eq(admit_at(queue, ON_SALE + IDLE), 0);
  cr_assert_eq(stats_of(queue).waiting, 0);
  int gone = 0;
  for (int i = 0; i < USERS; i++)
    gone +=
        status_code(queue, &tokens[i], ON_SALE + IDLE) == BO_QUEUE_NOT_FOUND;
  cr_assert_eq(gone, USERS - 1);
  bo_queue_close(queue);
}

/* ---- the draw ---- */

Test(queue_memory_draw, admission_follows_the_draw_order) {
  enum { USERS = 60, MAX = 1 };
  struct bo_queue *queue = open_queue(MAX, LONG_MS, LONG_MS);
  struct bo_line_policy policy = pre_queue_policy(MAX, ON_SALE, 3);
  configure(queue, &policy);
  struct bo_token tokens[USERS];
  for (int i = 0; i < USERS; i++)
    tokens[i] =
        join_created(queue, 100 + i, ON_SALE - 60000 + i * 100, 1).token;
  struct expected_entry order[USERS];
  expected_draw_order(policy.seed, tokens, NULL, USERS, order);

  /* The first call at the on-sale is a join: it steps first, the draw
   * runs, and the newcomer lands behind every drawn entry. */
  struct bo_token_info late = join_created(queue, 999, ON_SALE, 1);
  cr_assert(!late.pre_queue);
  cr_assert_eq(late.state, BO_TOKEN_WAITING);
  cr_assert_eq(late.position, USERS - MAX + 1);
  struct bo_draw_result draw = draw_result_of(queue);
  cr_assert(draw.drawn);
  cr_assert_eq(draw.drawn_at_ms, ON_SALE);
  cr_assert_eq(draw.count, USERS);
  for (int i = 0; i < USERS; i++)
    cr_assert_eq(memcmp(draw.entry_ids[i], order[i].id, 32), 0,
                 "entry %d out of order", i);
  free(draw.entry_ids);

  /* Positions follow the order, and so do admissions, one at a time. */
  for (int i = 0; i < USERS; i++) {
    struct bo_token_info info =
        status_of(queue, &tokens[order[i].user], ON_SALE);
    cr_assert(!info.pre_queue);
    if (i < MAX)
      cr_assert_eq(info.state, BO_TOKEN_ACTIVE, "drawn %d", i);
    else
      cr_assert_eq(info.position, i - MAX + 1, "drawn %d at %lld", i,
                   (long long)info.position);
  }
  for (int i = 0; i < USERS; i++) {
    const struct bo_token *next = &tokens[order[i].user];
    cr_assert_eq(status_of(queue, next, ON_SALE + i).state, BO_TOKEN_ACTIVE,
                 "drawn %d not admitted in turn", i);
    cr_assert_eq(queue->driver->leave(queue, next, ON_SALE + i), BO_QUEUE_OK);
  }
  cr_assert_eq(status_of(queue, &late.token, ON_SALE + USERS).state,
               BO_TOKEN_ACTIVE);
  bo_queue_close(queue);
}

/* A join after the on-sale but before any step (no housekeeping tick in
 * between) still lands behind the pre-queue; so do later joins, in
 * arrival order. */
Test(queue_memory_draw, joins_after_the_on_sale_land_behind_the_drawn) {
  enum { USERS = 30, MAX = 5 };
  struct bo_queue *queue = open_queue(MAX, LONG_MS, LONG_MS);
  struct bo_line_policy policy = pre_queue_policy(MAX, ON_SALE, 4);
  configure(queue, &policy);
  struct bo_token tokens[USERS];
  for (int i = 0; i < USERS; i++)
    tokens[i] = join_created(queue, 100 + i, ON_SALE - 1000, 1).token;
  struct bo_token_info first = join_created(queue, 1, ON_SALE + 2500, 1);
  struct bo_token_info second = join_created(queue, 2, ON_SALE + 2600, 1);
  cr_assert_eq(first.position, USERS - MAX + 1);
  cr_assert_eq(second.position, USERS - MAX + 2);
  struct bo_draw_result draw = draw_result_of(queue);
  cr_assert_eq(draw.drawn_at_ms, ON_SALE + 2500, "drawn by the join's step");
  free(draw.entry_ids);
  /* Every drawn entry is admitted before either newcomer: free one slot
   * at a time (a drawn ACTIVE user pays) until all 30 have had theirs. */
  int64_t now = ON_SALE + 3000;
  for (int round = 0; round < USERS - MAX; round++, now++) {
    struct bo_token_info info = status_of(queue, &first.token, now);
    cr_assert_eq(info.state, BO_TOKEN_WAITING, "round %d", round);
    int paid = 0;
    for (int k = 0; k < USERS && !paid; k++)
      if (queue->driver->status(queue, &tokens[k], now, &info) == BO_QUEUE_OK &&
          info.state == BO_TOKEN_ACTIVE) {
        cr_assert_eq(queue->driver->leave(queue, &tokens[k], now), BO_QUEUE_OK);
        paid = 1;
      }
    cr_assert(paid);
  }
  struct bo_token_info info = status_of(queue, &first.token, now);
  cr_assert_eq(info.state, BO_TOKEN_WAITING);
  cr_assert_eq(info.position, 1);
  int active_drawn = 0;
  for (int k = 0; k < USERS; k++)
    active_drawn += status_of(queue, &tokens[k], now).state == BO_TOKEN_ACTIVE;
  cr_assert_eq(active_drawn, MAX);
  /* Two more slots: the newcomers, in arrival order. */
  for (int k = 0, paid = 0; k < USERS && paid < 2; k++)
    if (status_of(queue, &tokens[k], now).state == BO_TOKEN_ACTIVE) {
      cr_assert_eq(queue->driver->leave(queue, &tokens[k], now), BO_QUEUE_OK);
      paid++;
      cr_assert_eq(status_of(queue, &first.token, now).state, BO_TOKEN_ACTIVE);
      cr_assert_eq(status_of(queue, &second.token, now).state,
                   paid == 2 ? BO_TOKEN_ACTIVE : BO_TOKEN_WAITING);
    }
  cr_assert_eq(stats_of(queue).waiting, 0);
  bo_queue_close(queue);
}

/* draw_result() is what the public verification serves: every entry
 * drawn, even the ones that left or went idle since; not the ones that
 * left the pre-queue before it. */
Test(queue_memory_draw, draw_result_keeps_everyone_drawn) {
  enum { USERS = 12, IDLE = 5000 };
  struct bo_queue *queue = open_queue(2, LONG_MS, IDLE);
  struct bo_line_policy policy = pre_queue_policy(2, ON_SALE, 5);
  configure(queue, &policy);
  struct bo_token tokens[USERS];
  for (int i = 0; i < USERS; i++)
    tokens[i] = join_created(queue, 100 + i, ON_SALE - 5000, 1).token;
  /* User 0 leaves before the draw and comes back: a new token, still
   * before the on-sale, so pre-queued again. */
  cr_assert_eq(queue->driver->leave(queue, &tokens[0], ON_SALE - 10),
               BO_QUEUE_OK);
  struct bo_token_info back = join_created(queue, 100, ON_SALE - 5, 1);
  cr_assert(back.pre_queue);
  cr_assert(!same_token(&back.token, &tokens[0]));
  tokens[0] = back.token;

  cr_assert_eq(admit_at(queue, ON_SALE), 2);
  struct expected_entry order[USERS];
  expected_draw_order(policy.seed, tokens, NULL, USERS, order);
  /* Some pay, some leave the line, the rest walk away (idle). */
  cr_assert_eq(queue->driver->leave(queue, &tokens[order[0].user], ON_SALE + 1),
               BO_QUEUE_OK);
  cr_assert_eq(queue->driver->leave(queue, &tokens[order[7].user], ON_SALE + 1),
               BO_QUEUE_OK);
  cr_assert_eq(admit_at(queue, ON_SALE + IDLE), 0);
  cr_assert_eq(stats_of(queue).waiting, 0);
  cr_assert_eq(status_code(queue, &tokens[order[9].user], ON_SALE + IDLE),
               BO_QUEUE_NOT_FOUND);

  struct bo_draw_result draw = draw_result_of(queue);
  cr_assert(draw.drawn);
  cr_assert_eq(draw.drawn_at_ms, ON_SALE);
  cr_assert_eq(draw.count, USERS);
  for (int i = 0; i < USERS; i++)
    cr_assert_eq(memcmp(draw.entry_ids[i], order[i].id, 32), 0, "entry %d", i);
  free(draw.entry_ids);
  bo_queue_close(queue);
}

Test(queue_memory_draw, a_line_draws_once) {
  struct bo_queue *queue = open_queue(1, LONG_MS, LONG_MS);
  struct bo_line_policy policy = pre_queue_policy(1, ON_SALE, 6);
  configure(queue, &policy);
  for (int user = 1; user <= 4; user++)
    join_created(queue, user, ON_SALE - 100, 1);
  admit_at(queue, ON_SALE);
  struct bo_draw_result first = draw_result_of(queue);
  cr_assert_eq(first.count, 4);

  /* Another on-sale time and another seed: no new pre-queue, no redraw. */
  struct bo_line_policy later = pre_queue_policy(1, ON_SALE + 60000, 7);
  configure(queue, &later);
  struct bo_token_info info = join_created(queue, 5, ON_SALE + 1000, 1);
  cr_assert(!info.pre_queue);
  cr_assert_eq(info.position, 4);
  cr_assert_eq(stats_of(queue).pre_queue, 0);
  admit_at(queue, ON_SALE + 60000);
  admit_at(queue, ON_SALE + 70000);
  struct bo_draw_result second = draw_result_of(queue);
  cr_assert(second.drawn);
  cr_assert_eq(second.drawn_at_ms, ON_SALE);
  cr_assert_eq(second.count, 4);
  cr_assert_eq(memcmp(second.entry_ids, first.entry_ids, 4 * 32), 0);
  cr_assert(stats_of(queue).drawn);
  free(first.entry_ids);
  free(second.entry_ids);
  bo_queue_close(queue);
}

Test(queue_memory_draw, nobody_pre_queued_still_draws_and_no_on_sale_never) {
  struct bo_queue *queue = open_queue(1, LONG_MS, LONG_MS);
  struct bo_line_policy policy = pre_queue_policy(1, ON_SALE, 8);
  configure(queue, &policy);
  admit_at(queue, ON_SALE - 1);
  cr_assert(!stats_of(queue).drawn);
  admit_at(queue, ON_SALE);
  struct bo_draw_result draw = draw_result_of(queue);
  cr_assert(draw.drawn);
  cr_assert_eq(draw.count, 0);
  cr_assert_null(draw.entry_ids);
  cr_assert_eq(join_created(queue, 1, ON_SALE + 1, 1).state, BO_TOKEN_ACTIVE);
  bo_queue_close(queue);

  /* on_sale_at_ms 0: no pre-queue, no draw, ever. */
  queue = open_queue(1, LONG_MS, LONG_MS);
  struct bo_line_policy none = pre_queue_policy(1, 0, 9);
  configure(queue, &none);
  for (int user = 1; user <= 3; user++)
    cr_assert(!join_created(queue, user, user, 1).pre_queue);
  admit_at(queue, ON_SALE);
  cr_assert(!stats_of(queue).drawn);
  cr_assert(!draw_result_of(queue).drawn);
  bo_queue_close(queue);
}

/* An on-sale time called off (0) while people wait in the pre-queue: they
 * are drawn at the next step rather than stranded. */
Test(queue_memory_draw, on_sale_called_off_draws_who_waits) {
  struct bo_queue *queue = open_queue(1, LONG_MS, LONG_MS);
  struct bo_line_policy policy = pre_queue_policy(1, ON_SALE, 10);
  configure(queue, &policy);
  struct bo_token tokens[3];
  for (int i = 0; i < 3; i++)
    tokens[i] = join_created(queue, i + 1, ON_SALE - 5000, 1).token;
  policy.on_sale_at_ms = 0;
  configure(queue, &policy);
  cr_assert_eq(admit_at(queue, ON_SALE - 4000), 1);
  struct bo_draw_result draw = draw_result_of(queue);
  cr_assert(draw.drawn);
  cr_assert_eq(draw.drawn_at_ms, ON_SALE - 4000);
  cr_assert_eq(draw.count, 3);
  struct expected_entry order[3];
  expected_draw_order(policy.seed, tokens, NULL, 3, order);
  cr_assert_eq(status_of(queue, &tokens[order[0].user], ON_SALE - 4000).state,
               BO_TOKEN_ACTIVE);
  free(draw.entry_ids);
  bo_queue_close(queue);
}

/* An on-sale set on a line where people already wait: until the draw
 * nobody is admitted, not even the ones in line (slots that free stay
 * free), new joins go to the pre-queue, and at the draw the pre-queue
 * goes behind those already in line, who joined before any of it. */
Test(queue_memory_draw, a_pending_draw_holds_the_whole_line) {
  struct bo_queue *queue = open_queue(1, LONG_MS, LONG_MS);
  struct bo_token_info one = join_created(queue, 1, ON_SALE - 9000, 1);
  struct bo_token_info two = join_created(queue, 2, ON_SALE - 9000, 1);
  struct bo_token_info three = join_created(queue, 3, ON_SALE - 9000, 1);
  cr_assert_eq(one.state, BO_TOKEN_ACTIVE);
  struct bo_line_policy policy = pre_queue_policy(1, ON_SALE, 12);
  configure(queue, &policy);
  struct bo_token_info four = join_created(queue, 4, ON_SALE - 8000, 1);
  cr_assert(four.pre_queue);
  cr_assert_eq(queue->driver->leave(queue, &one.token, ON_SALE - 7000),
               BO_QUEUE_OK);
  cr_assert_eq(admit_at(queue, ON_SALE - 1), 0);
  struct bo_queue_stats stats = stats_of(queue);
  cr_assert_eq(stats.active, 0);
  cr_assert_eq(stats.waiting, 3);
  cr_assert_eq(stats.pre_queue, 1);
  cr_assert_eq(status_of(queue, &two.token, ON_SALE - 1).position, 1);

  cr_assert_eq(admit_at(queue, ON_SALE), 1);
  cr_assert_eq(status_of(queue, &two.token, ON_SALE).state, BO_TOKEN_ACTIVE);
  cr_assert_eq(status_of(queue, &three.token, ON_SALE).position, 1);
  struct bo_token_info info = status_of(queue, &four.token, ON_SALE);
  cr_assert(!info.pre_queue);
  cr_assert_eq(info.position, 2);
  bo_queue_close(queue);
}

/* ---- scale ---- */

/* The draw runs under the lock, inside one step: how long that step is
 * for a large pre-queue (printed; not a timed assertion). */
Test(queue_memory_draw, a_large_draw, .timeout = 120) {
  enum { N = 1000000 };
  struct bo_queue *queue = open_queue(100, LONG_MS, LONG_MS);
  struct bo_line_policy policy = pre_queue_policy(100, ON_SALE, 11);
  configure(queue, &policy);
  for (int i = 0; i < N; i++) {
    struct bo_token_info info;
    int created = 0;
    cr_assert_eq(
        queue->driver->join(queue, 1000000 + i, ON_SALE - 1, &info, &created),
        BO_QUEUE_OK);
  }
  cr_assert_eq(stats_of(queue).pre_queue, N);
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  cr_assert_eq(admit_at(queue, ON_SALE), 100);
  double draw_s = seconds_since(&start);
  struct bo_queue_stats stats = stats_of(queue);
  cr_assert_eq(stats.waiting, N - 100);
  cr_assert(stats.drawn);
  fprintf(stderr,
          "[queue_memory_draw] draw of %d pre-queued entries: one step of "
          "%.3f s under the lock (%.2f us per entry)\n",
          N, draw_s, draw_s * 1e6 / N);
  struct bo_draw_result draw = draw_result_of(queue);
  cr_assert_eq(draw.count, N);
  free(draw.entry_ids);
  bo_queue_close(queue);
}
