/* The memory queue's line policy (queue.h, "Lines"): configure(), pause,
 * active_max changed live, admit_cap, the admit_per_minute bucket, the new
 * stats fields and the ETA before anything is measured. Driven through the
 * public queue.h interface; time is an argument, never slept on. The
 * pre-queue and the draw are in test_queue_memory_draw.c. */
#include "queue/queue.h"
#include "support/queue_calls.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static struct bo_queue *open_queue(int64_t active_max, int64_t active_ms) {
  return open_queue_at("memory", active_max, active_ms, 1000, LONG_MS);
}

/* What opening a line sets. */
static struct bo_line_policy opening_policy(int64_t active_max) {
  return (struct bo_line_policy){.active_max = active_max, .admit_cap = -1};
}

static void assert_counts(struct bo_queue *queue, int64_t active,
                          int64_t waiting) {
  struct bo_queue_stats stats = stats_of(queue);
  cr_assert_eq(stats.active, active, "active %lld != %lld",
               (long long)stats.active, (long long)active);
  cr_assert_eq(stats.waiting, waiting, "waiting %lld != %lld",
               (long long)stats.waiting, (long long)waiting);
}

/* ---- configure ---- */

Test(queue_memory_policy, opening_policy_and_stats_of_a_plain_line) {
  struct bo_queue *queue = open_queue(2, 60000);
  for (int64_t user = 1; user <= 5; user++)
    join_ok(queue, user, 0);
  struct bo_queue_stats stats = stats_of(queue);
  cr_assert_eq(stats.active, 2);
  cr_assert_eq(stats.waiting, 3);
  cr_assert_eq(stats.pre_queue, 0);
  cr_assert_eq(stats.admitted_last_minute, 0, "straight in is not measured");
  cr_assert(!stats.drawn);
  struct bo_draw_result draw = {.drawn = true, .count = 7};
  cr_assert_eq(queue->driver->draw_result(queue, &draw), BO_QUEUE_OK);
  cr_assert(!draw.drawn);
  cr_assert_eq(draw.count, 0);
  cr_assert_null(draw.entry_ids);
  bo_queue_close(queue);
}

Test(queue_memory_policy, configure_rejects_bad_values_and_keeps_the_policy) {
  struct bo_queue *queue = open_queue(2, 60000);
  struct bo_line_policy bad[7];
  for (int i = 0; i < 7; i++)
    bad[i] = opening_policy(5);
  bad[0].active_max = 0;
  bad[1].active_max = (INT64_C(1) << 30) + 1;
  bad[2].admit_per_minute = -1;
  bad[3].admit_per_minute = INT64_C(1000000000) + 1;
  bad[4].admit_cap = -2;
  bad[5].on_sale_at_ms = -1;
  bad[6].paused = true;
  bad[6].active_max = -5;
  for (int i = 0; i < 7; i++)
    cr_assert_eq(queue->driver->configure(queue, &bad[i]), BO_QUEUE_UNAVAILABLE,
                 "bad policy %d accepted", i);
  cr_assert_eq(queue->driver->configure(queue, NULL), BO_QUEUE_UNAVAILABLE);
  /* Still the opening policy: two ACTIVE, not paused. */
  for (int64_t user = 1; user <= 3; user++)
    join_ok(queue, user, 0);
  assert_counts(queue, 2, 1);

  /* The extremes are accepted. */
  struct bo_line_policy edge = opening_policy(INT64_C(1) << 30);
  edge.admit_per_minute = 1000000000;
  edge.admit_cap = -1;
  configure(queue, &edge);
  edge = opening_policy(1);
  edge.admit_cap = 0;
  configure(queue, &edge);
  bo_queue_close(queue);
}

/* ---- pause and active_max ---- */

Test(queue_memory_policy, pause_admits_nobody_and_resume_admits) {
  struct bo_queue *queue = open_queue(2, 60000);
  struct bo_token tokens[6];
  for (int user = 1; user <= 5; user++)
    tokens[user] = join_ok(queue, user, 0).token;
  assert_counts(queue, 2, 3);

  struct bo_line_policy policy = opening_policy(2);
  policy.paused = true;
  configure(queue, &policy);
  /* A slot frees (payment), and time runs out for the other: nobody in. */
  cr_assert_eq(queue->driver->leave(queue, &tokens[1], 100), BO_QUEUE_OK);
  cr_assert_eq(admit_at(queue, 60000), 0);
  assert_counts(queue, 0, 3);
  /* Joins still queue, even with room and nobody waiting ahead. */
  struct bo_queue *empty = open_queue(2, 60000);
  configure(empty, &policy);
  struct bo_token_info info = join_ok(empty, 1, 0);
  cr_assert_eq(info.state, BO_TOKEN_WAITING);
  cr_assert_eq(info.position, 1);
  cr_assert_eq(admit_at(empty, 1000), 0);
  bo_queue_close(empty);
  info = join_ok(queue, 6, 60000);
  cr_assert_eq(info.state, BO_TOKEN_WAITING);
  cr_assert_eq(info.position, 4);

  policy.paused = false;
  configure(queue, &policy);
  assert_counts(queue, 0, 4); /* effective at the next step */
  cr_assert_eq(admit_at(queue, 60001), 2);
  assert_counts(queue, 2, 2);
  info = status_of(queue, &tokens[3], 60001);
  cr_assert_eq(info.state, BO_TOKEN_ACTIVE);
  info = status_of(queue, &tokens[5], 60001);
  cr_assert_eq(info.position, 1);
  bo_queue_close(queue);
}

Test(queue_memory_policy, active_max_raised_admits_more_lowered_evicts_nobody) {
  struct bo_queue *queue = open_queue(2, 10000);
  struct bo_token tokens[9];
  for (int user = 1; user <= 8; user++)
    tokens[user] = join_ok(queue, user, 0).token;
  assert_counts(queue, 2, 6);

  struct bo_line_policy policy = opening_policy(5);
  configure(queue, &policy);
  cr_assert_eq(admit_at(queue, 10), 3);
  assert_counts(queue, 5, 3);

  policy.active_max = 1;
  configure(queue, &policy);
  cr_assert_eq(admit_at(queue, 20), 0);
  assert_counts(queue, 5, 3);
  for (int user = 1; user <= 5; user++)
    cr_assert_eq(status_of(queue, &tokens[user], 20).state, BO_TOKEN_ACTIVE,
                 "user %d was evicted", user);
  /* Slots that free do not refill until fewer than one is ACTIVE. */
  cr_assert_eq(queue->driver->leave(queue, &tokens[4], 30), BO_QUEUE_OK);
  cr_assert_eq(queue->driver->leave(queue, &tokens[5], 30), BO_QUEUE_OK);
  assert_counts(queue, 3, 3);
  /* 1 and 2 run out at 10000: still one ACTIVE (3), nobody in. */
  cr_assert_eq(admit_at(queue, 10000), 0);
  assert_counts(queue, 1, 3);
  /* 3 (admitted at 10) runs out at 10010: one slot, one admitted. */
  cr_assert_eq(admit_at(queue, 10010), 1);
  assert_counts(queue, 1, 2);
  cr_assert_eq(status_of(queue, &tokens[6], 10010).state, BO_TOKEN_ACTIVE);
  bo_queue_close(queue);
}

/* ---- admit_cap ---- */

Test(queue_memory_policy, admit_cap_bounds_active_including_straight_in) {
  struct bo_queue *queue = open_queue(10, 1000);
  struct bo_line_policy policy = opening_policy(10);
  policy.admit_cap = 3;
  configure(queue, &policy);
  for (int user = 1; user <= 8; user++) {
    struct bo_token_info info = join_ok(queue, user, 0);
    /* The first three go straight in; then nobody, though 10 would fit. */
    cr_assert_eq(info.state, user <= 3 ? BO_TOKEN_ACTIVE : BO_TOKEN_WAITING,
                 "user %d", user);
    cr_assert_leq(stats_of(queue).active, 3);
  }
  for (int64_t now = 0; now <= 2500; now += 100) {
    admit_at(queue, now);
    cr_assert_leq(stats_of(queue).active, 3, "at %lld", (long long)now);
  }
  /* Every active time is 1000 ms: 3, then 3, then the last 2. */
  assert_counts(queue, 2, 0);

  /* Straight in up to the cap; a cap lowered below active evicts nobody. */
  for (int user = 11; user <= 13; user++)
    join_ok(queue, user, 2500);
  assert_counts(queue, 3, 2);
  policy.admit_cap = 1;
  configure(queue, &policy);
  cr_assert_eq(admit_at(queue, 2501), 0);
  assert_counts(queue, 3, 2);
  bo_queue_close(queue);

  /* Cap 0: nobody at all. */
  queue = open_queue(10, 1000);
  policy.admit_cap = 0;
  configure(queue, &policy);
  struct bo_token_info info = join_ok(queue, 1, 0);
  cr_assert_eq(info.state, BO_TOKEN_WAITING);
  cr_assert_eq(admit_at(queue, 60000), 0);
  assert_counts(queue, 0, 1);
  bo_queue_close(queue);
}

/* ---- admit_per_minute ---- */

/* 600 per minute: 10 per second, a one-second burst of 10. The line is
 * long and slots plenty, so only the bucket limits. */
Test(queue_memory_policy, rate_admits_at_the_bucket_pace) {
  enum { RATE = 600, BURST = 10, TICK = 100, TICKS = 100, USERS = 400 };
  struct bo_queue *queue = open_queue(100000, LONG_MS);
  struct bo_line_policy policy = opening_policy(100000);
  policy.admit_per_minute = RATE;
  configure(queue, &policy);
  int straight_in = 0;
  for (int user = 1; user <= USERS; user++)
    straight_in += join_ok(queue, user, 0).state == BO_TOKEN_ACTIVE;
  /* The bucket starts full: one second's worth goes straight in. */
  cr_assert_eq(straight_in, BURST);

  int64_t admitted_at[TICKS + 1];
  admitted_at[0] = stats_of(queue).admitted_total;
  for (int i = 1; i <= TICKS; i++) {
    admit_at(queue, (int64_t)i * TICK);
    admitted_at[i] = stats_of(queue).admitted_total;
  }
  int64_t total = admitted_at[TICKS];
  fprintf(stderr,
          "[queue_memory_policy] rate %d/min: %lld admitted in 10 s of 100 "
          "ms steps (%d of them the opening burst)\n",
          RATE, (long long)total, BURST);
  cr_assert(total >= 100 - BURST && total <= 100 + BURST, "%lld admitted",
            (long long)total);
  /* Over every stretch of steps, never more than the burst plus what the
   * bucket earned meanwhile. */
  for (int i = 0; i <= TICKS; i++)
    for (int j = i + 1; j <= TICKS; j++) {
      int64_t earned = (int64_t)(j - i) * TICK * RATE / 60000;
      cr_assert_leq(admitted_at[j] - admitted_at[i], BURST + earned,
                    "%lld admitted between %d and %d ms",
                    (long long)(admitted_at[j] - admitted_at[i]), i * TICK,
                    j * TICK);
    }
  bo_queue_close(queue);
}

/* Straight in spends credit too, and the bucket holds at most one
 * admission at 60 per minute. */
Test(queue_memory_policy, rate_binds_the_join_fast_path) {
  struct bo_queue *queue = open_queue(100, LONG_MS);
  struct bo_line_policy policy = opening_policy(100);
  policy.admit_per_minute = 60;
  configure(queue, &policy);
  cr_assert_eq(join_ok(queue, 1, 0).state, BO_TOKEN_ACTIVE);
  struct bo_token_info two = join_ok(queue, 2, 500);
  cr_assert_eq(two.state, BO_TOKEN_WAITING, "in before the bucket refilled");
  /* Nothing measured yet: ETA from the rate, ceil(1 * 60 / 60). */
  cr_assert_eq(two.estimated_wait_seconds, 1);
  cr_assert_eq(admit_at(queue, 999), 0);
  cr_assert_eq(admit_at(queue, 1000), 1);
  /* A quiet 10 s earns one credit, not ten. */
  cr_assert_eq(join_ok(queue, 3, 11000).state, BO_TOKEN_ACTIVE);
  cr_assert_eq(join_ok(queue, 4, 11000).state, BO_TOKEN_WAITING);
  cr_assert_eq(join_ok(queue, 5, 11000).state, BO_TOKEN_WAITING);
  cr_assert_eq(admit_at(queue, 11999), 0);
  cr_assert_eq(admit_at(queue, 12000), 1);
  cr_assert_eq(admit_at(queue, 13000), 1);
  assert_counts(queue, 5, 0);
  bo_queue_close(queue);
}

/* A rate switched on later starts with a full bucket; switched off, the
 * line admits as fast as slots free. */
Test(queue_memory_policy, rate_switched_on_and_off_live) {
  struct bo_queue *queue = open_queue(1000, LONG_MS);
  struct bo_line_policy policy = opening_policy(2);
  configure(queue, &policy);
  for (int user = 1; user <= 40; user++)
    join_ok(queue, user, 0);
  assert_counts(queue, 2, 38);
  policy.active_max = 1000;
  policy.admit_per_minute = 300; /* 5 per second, burst 5 */
  configure(queue, &policy);
  cr_assert_eq(admit_at(queue, 100), 5);
  cr_assert_eq(admit_at(queue, 200), 0);
  cr_assert_eq(admit_at(queue, 300), 1);
  policy.admit_per_minute = 0;
  configure(queue, &policy);
  cr_assert_eq(admit_at(queue, 301), 40 - 2 - 6);
  bo_queue_close(queue);
}

/* ---- what stats and the ETA say ---- */

Test(queue_memory_policy, stats_count_the_last_minute_as_of_the_latest_step) {
  struct bo_queue *queue = open_queue(1, 1000);
  for (int user = 1; user <= 4; user++)
    join_ok(queue, user, 0);
  cr_assert_eq(admit_at(queue, 1000), 1);
  cr_assert_eq(admit_at(queue, 2000), 1);
  cr_assert_eq(admit_at(queue, 3000), 1);
  cr_assert_eq(stats_of(queue).admitted_last_minute, 3);
  cr_assert_eq(stats_of(queue).admitted_total, 4);
  /* At 61999 the window is seconds 2..61: the ones at 2000 and 3000. */
  admit_at(queue, 61999);
  cr_assert_eq(stats_of(queue).admitted_last_minute, 2);
  admit_at(queue, 64000);
  cr_assert_eq(stats_of(queue).admitted_last_minute, 0);
  bo_queue_close(queue);
}

Test(queue_memory_policy, eta_from_the_rate_until_something_is_measured) {
  struct bo_queue *queue = open_queue(1, LONG_MS);
  struct bo_line_policy policy = opening_policy(1);
  policy.admit_per_minute = 600;
  configure(queue, &policy);
  struct bo_token tokens[32];
  for (int user = 1; user <= 31; user++)
    tokens[user] = join_ok(queue, user, 0).token;
  /* Slots, not the rate, hold this line up; but nothing measured yet. */
  const int64_t want[][2] = {{1, 1}, {10, 1}, {11, 2}, {25, 3}, {30, 3}};
  for (int i = 0; i < 5; i++) {
    int64_t position = want[i][0];
    struct bo_token_info info = status_of(queue, &tokens[position + 1], 5000);
    cr_assert_eq(info.position, position);
    cr_assert_eq(info.estimated_wait_seconds, want[i][1], "position %lld: %lld",
                 (long long)position, (long long)info.estimated_wait_seconds);
  }
  /* One admission out of the line (at 6000, where the measuring span
   * starts) is too thin to trust (queue.h: under 20 admissions and under
   * 5 s), so the policy's 10 a second still sets the estimate... */
  cr_assert_eq(queue->driver->leave(queue, &tokens[1], 6000), BO_QUEUE_OK);
  struct bo_token_info info = status_of(queue, &tokens[3], 6000);
  cr_assert_eq(info.position, 1);
  cr_assert_eq(info.estimated_wait_seconds, 1);
  info = status_of(queue, &tokens[12], 9000); /* 1 in 3 s: still thin */
  cr_assert_eq(info.position, 10);
  cr_assert_eq(info.estimated_wait_seconds, 1);
  /* ...until the span reaches 5 s: 1 in 5 s, under the policy's rate, so
   * the measurement stands. */
  info = status_of(queue, &tokens[12], 11000);
  cr_assert_eq(info.position, 10);
  cr_assert_eq(info.estimated_wait_seconds, 50);
  bo_queue_close(queue);
}

/* The bucket's burst is not a rate: a line resumed with a full bucket
 * lets 10 in at once and 9 more in the next 0.9 s, 19 in the 1 s floor,
 * but it cannot keep more than 10 a second; the estimate says so. */
Test(queue_memory_policy, eta_never_assumes_more_than_the_rate) {
  struct bo_queue *queue = open_queue(1000, LONG_MS);
  struct bo_line_policy policy = opening_policy(1000);
  policy.admit_per_minute = 600;
  policy.paused = true;
  configure(queue, &policy);
  struct bo_token tokens[80];
  for (int user = 0; user < 80; user++)
    tokens[user] = join_ok(queue, user + 1, 0).token;
  policy.paused = false;
  configure(queue, &policy);
  cr_assert_eq(admit_at(queue, 1000), 10);
  cr_assert_eq(admit_at(queue, 1900), 9);
  cr_assert_eq(stats_of(queue).admitted_last_minute, 19);
  struct bo_token_info info = status_of(queue, &tokens[79], 1900);
  cr_assert_eq(info.position, 61);
  /* ceil(61 / 10), not ceil(61 / 19) = 4. */
  cr_assert_eq(info.estimated_wait_seconds, 7, "eta %lld",
               (long long)info.estimated_wait_seconds);
  bo_queue_close(queue);
}
