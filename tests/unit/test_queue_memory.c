/* The in-process waiting line (src/queue/memory*.c), driven through the
 * public queue.h interface only. Time is an argument, never slept on: every
 * call names its now_ms. The randomised tests compare every answer with a
 * deliberately naive model (arrays and linear scans) of the same promises. */
#include "queue/queue.h"
#include "support/concurrent_joins.h"
#include "support/queue_calls.h"
#include "support/queue_model.h"
#include "support/stopwatch.h"

#include <criterion/criterion.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct bo_queue *open_queue(int64_t active_max, int64_t active_ms,
                                   int64_t spent_keep_ms, int64_t idle_ms) {
  return open_queue_at("memory", active_max, active_ms, spent_keep_ms, idle_ms);
}

/* ---- opening ---- */

Test(queue_memory, open_names_the_problem) {
  struct bo_queue_settings ok = {
      .active_max = 2, .active_ms = 1000, .spent_keep_ms = 0, .idle_ms = 0};
  char error[256];
  struct bo_queue *queue = bo_queue_open("memory", &ok, error, sizeof error);
  cr_assert_not_null(queue);
  cr_assert_str_eq(queue->driver->name, "memory");
  cr_assert_eq(queue->driver->ping(queue), BO_QUEUE_OK);
  bo_queue_close(queue);

  /* redis:// URLs belong to the Redis driver and its tests. */
  cr_assert_null(
      bo_queue_open("kafka://user:secret@x", &ok, error, sizeof error));
  cr_assert_not_null(strstr(error, "unknown queue driver \"kafka\""), "%s",
                     error);
  cr_assert_null(strstr(error, "secret"), "URL echoed: %s", error);

  struct bo_queue_settings bad = ok;
  bad.active_max = 0;
  cr_assert_null(bo_queue_open("memory", &bad, error, sizeof error));
  cr_assert_not_null(strstr(error, "active_max"), "%s", error);
  bad = ok;
  bad.active_ms = 0;
  cr_assert_null(bo_queue_open("memory", &bad, error, sizeof error));
  cr_assert_not_null(strstr(error, "active_ms"), "%s", error);
  bad = ok;
  bad.spent_keep_ms = -1;
  cr_assert_null(bo_queue_open("memory", &bad, error, sizeof error));
  cr_assert_not_null(strstr(error, "spent_keep_ms"), "%s", error);
  bad = ok;
  bad.idle_ms = -1;
  cr_assert_null(bo_queue_open("memory", &bad, error, sizeof error));
  cr_assert_not_null(strstr(error, "idle_ms"), "%s", error);
  bad.idle_ms = LONG_MS + 1;
  cr_assert_null(bo_queue_open("memory", &bad, error, sizeof error));
  cr_assert_not_null(strstr(error, "idle_ms"), "%s", error);
  bad.idle_ms = LONG_MS;
  queue = bo_queue_open("memory", &bad, error, sizeof error);
  cr_assert_not_null(queue, "%s", error);
  bo_queue_close(queue);

  /* A caller that does not want the reason must not crash us. */
  cr_assert_null(bo_queue_open("nope", &ok, NULL, 0));
  bo_queue_close(NULL);
}

/* ---- joining ---- */

Test(queue_memory, first_joins_active_then_waiting_in_order) {
  struct bo_queue *queue = open_queue(3, 60000, 1000, LONG_MS);
  int64_t now = 1700000000000;
  for (int64_t user = 1; user <= 3; user++) {
    struct bo_token_info info = join_as(queue, user, now, 1);
    assert_active(&info, now + 60000);
  }
  for (int64_t user = 4; user <= 8; user++) {
    struct bo_token_info info = join_as(queue, user, now + user, 1);
    assert_waiting(&info, user - 3);
  }
  struct bo_queue_stats stats = stats_of(queue);
  cr_assert_eq(stats.active, 3);
  cr_assert_eq(stats.waiting, 5);
  cr_assert_eq(stats.admitted_total, 3);
  bo_queue_close(queue);
}

Test(queue_memory, rejoin_returns_the_same_token) {
  struct bo_queue *queue = open_queue(1, 60000, 1000, LONG_MS);
  struct bo_token_info active = join_as(queue, 10, 0, 1);
  struct bo_token_info waiting = join_as(queue, 20, 5, 1);
  cr_assert(!same_token(&active.token, &waiting.token));

  struct bo_token_info again = join_as(queue, 10, 100, 0);
  cr_assert(same_token(&again.token, &active.token));
  assert_active(&again, 60000);
  again = join_as(queue, 20, 200, 0);
  cr_assert(same_token(&again.token, &waiting.token));
  assert_waiting(&again, 1);

  struct bo_queue_stats stats = stats_of(queue);
  cr_assert_eq(stats.active, 1);
  cr_assert_eq(stats.waiting, 1, "a re-join must not take a second place");
  bo_queue_close(queue);
}

Test(queue_memory, unknown_or_forged_token_is_not_found) {
  struct bo_queue *queue = open_queue(1, 60000, 1000, LONG_MS);
  struct bo_token_info mine = join_as(queue, 1, 0, 1);
  struct bo_token never_issued;
  memset(never_issued.bytes, 0, sizeof never_issued.bytes);
  cr_assert_eq(status_code(queue, &never_issued, 1), BO_QUEUE_NOT_FOUND);
  for (int bit = 0; bit < BO_TOKEN_BYTES * 8; bit += 7) {
    struct bo_token forged = mine.token;
    forged.bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    cr_assert_eq(status_code(queue, &forged, 1), BO_QUEUE_NOT_FOUND, "bit %d",
                 bit);
    cr_assert_eq(queue->driver->leave(queue, &forged, 1), BO_QUEUE_NOT_FOUND);
  }
  struct bo_token_info info = status_of(queue, &mine.token, 1);
  assert_active(&info, 60000);
  bo_queue_close(queue);
}

/* ---- time running out ---- */

Test(queue_memory, active_expires_at_read_time_without_admit) {
  struct bo_queue *queue = open_queue(1, 1000, 5000, LONG_MS);
  struct bo_token_info first = join_as(queue, 1, 0, 1);
  struct bo_token_info second = join_as(queue, 2, 0, 1);
  assert_active(&first, 1000);
  assert_waiting(&second, 1);

  struct bo_token_info info = status_of(queue, &first.token, 999);
  assert_active(&info, 1000);
  /* No admit() call anywhere in this test. */
  cr_assert_eq(status_code(queue, &first.token, 1000), BO_QUEUE_NOT_FOUND);
  cr_assert_eq(queue->driver->leave(queue, &first.token, 1000),
               BO_QUEUE_NOT_FOUND);
  info = status_of(queue, &second.token, 1000);
  assert_active(&info, 2000);

  /* The expired user is gone entirely and starts over at the back. */
  struct bo_token_info back = join_as(queue, 1, 1000, 1);
  cr_assert(!same_token(&back.token, &first.token));
  assert_waiting(&back, 1);
  struct bo_queue_stats stats = stats_of(queue);
  cr_assert_eq(stats.active, 1);
  cr_assert_eq(stats.waiting, 1);
  cr_assert_eq(stats.admitted_total, 2);
  bo_queue_close(queue);
}

/* Users 1..10 join; 5 and 7 leave the line; 1 pays early; the rest run out
 * of time. The set ever admitted must always be a prefix of the join order
 * without the leavers, and at most 2 may be ACTIVE at any moment. */
Test(queue_memory, admission_is_fifo_after_leaves_and_expiries) {
  enum { USERS = 10, MAX = 2 };
  struct bo_queue *queue = open_queue(MAX, 1000, 100000, LONG_MS);
  struct bo_token tokens[USERS + 1];
  for (int user = 1; user <= USERS; user++)
    tokens[user] = join_as(queue, user, 0, 1).token;
  cr_assert_eq(queue->driver->leave(queue, &tokens[5], 10), BO_QUEUE_OK);
  cr_assert_eq(queue->driver->leave(queue, &tokens[7], 10), BO_QUEUE_OK);
  cr_assert_eq(queue->driver->leave(queue, &tokens[1], 100), BO_QUEUE_OK);
  struct bo_token_info info = status_of(queue, &tokens[3], 100);
  assert_active(&info, 1100); /* the freed slot was filled by the leave */

  const int expected[] = {1, 2, 3, 4, 6, 8, 9, 10};
  const int n_expected = (int)(sizeof expected / sizeof expected[0]);
  int ever_active[USERS + 1] = {0};
  ever_active[1] = 1;
  int64_t admitted_by_calls = 0;
  for (int64_t now = 100; now <= 6000; now += 50) {
    int64_t admitted = -1;
    cr_assert_eq(queue->driver->admit(queue, now, &admitted), BO_QUEUE_OK);
    cr_assert_geq(admitted, 0);
    admitted_by_calls += admitted;
    int active_now = 0;
    for (int user = 2; user <= USERS; user++) {
      struct bo_token_info cur;
      if (queue->driver->status(queue, &tokens[user], now, &cur) != BO_QUEUE_OK)
        continue;
      if (cur.state == BO_TOKEN_ACTIVE) {
        active_now++;
        ever_active[user] = 1;
      }
      if (user == 5 || user == 7)
        cr_assert_eq(cur.state, BO_TOKEN_SPENT, "user %d", user);
    }
    cr_assert_leq(active_now, MAX, "at %lld ms", (long long)now);
    cr_assert_leq(stats_of(queue).active, MAX);
    int prefix = 0;
    while (prefix < n_expected && ever_active[expected[prefix]])
      prefix++;
    int total = 0;
    for (int user = 1; user <= USERS; user++)
      total += ever_active[user];
    cr_assert_eq(total, prefix, "admitted out of order at %lld ms",
                 (long long)now);
  }
  for (int i = 0; i < n_expected; i++)
    cr_assert(ever_active[expected[i]], "user %d never admitted", expected[i]);
  cr_assert(!ever_active[5] && !ever_active[7]);
  struct bo_queue_stats stats = stats_of(queue);
  cr_assert_eq(stats.admitted_total, n_expected);
  cr_assert_eq(stats.waiting, 0);
  cr_assert_eq(stats.active, 0);
  /* Admissions inside leave/status count too, so admit() saw at most the
   * rest. */
  cr_assert_leq(admitted_by_calls, n_expected - MAX);
  bo_queue_close(queue);
}

/* ---- leaving ---- */

Test(queue_memory, leave_reads_spent_then_is_forgotten) {
  struct bo_queue *queue = open_queue(1, 60000, 500, LONG_MS);
  struct bo_token_info first = join_as(queue, 1, 0, 1);
  struct bo_token_info second = join_as(queue, 2, 0, 1);
  cr_assert_eq(queue->driver->leave(queue, &first.token, 100), BO_QUEUE_OK);

  struct bo_token_info info = status_of(queue, &first.token, 100);
  cr_assert_eq(info.state, BO_TOKEN_SPENT);
  cr_assert_eq(info.user_id, 1);
  cr_assert(same_token(&info.token, &first.token));
  cr_assert_eq(info.position, 0);
  cr_assert_eq(info.expires_at_ms, 0);
  /* Spent is not live: no second leave, and the slot went to user 2. */
  cr_assert_eq(queue->driver->leave(queue, &first.token, 100),
               BO_QUEUE_NOT_FOUND);
  info = status_of(queue, &second.token, 100);
  assert_active(&info, 60100);

  /* The user may come back, with a new token, behind whoever waits. */
  struct bo_token_info back = join_as(queue, 1, 200, 1);
  cr_assert(!same_token(&back.token, &first.token));
  assert_waiting(&back, 1);

  info = status_of(queue, &first.token, 599);
  cr_assert_eq(info.state, BO_TOKEN_SPENT);
  int64_t admitted = -1;
  cr_assert_eq(queue->driver->admit(queue, 600, &admitted), BO_QUEUE_OK);
  cr_assert_eq(admitted, 0);
  cr_assert_eq(status_code(queue, &first.token, 600), BO_QUEUE_NOT_FOUND);
  struct bo_queue_stats stats = stats_of(queue);
  cr_assert_eq(stats.active, 1);
  cr_assert_eq(stats.waiting, 1);
  cr_assert_eq(stats.admitted_total, 2);
  bo_queue_close(queue);
}

/* A SPENT deadline can come before the ACTIVE one it replaces; the token
 * must still be forgotten on time, not when the next ACTIVE one expires. */
Test(queue_memory, spent_keep_shorter_than_active_time) {
  struct bo_queue *queue = open_queue(3, 10000, 100, LONG_MS);
  struct bo_token tokens[4];
  for (int user = 1; user <= 3; user++)
    tokens[user] = join_as(queue, user, user, 1).token;
  cr_assert_eq(queue->driver->leave(queue, &tokens[3], 10), BO_QUEUE_OK);
  cr_assert_eq(queue->driver->leave(queue, &tokens[2], 20), BO_QUEUE_OK);
  struct bo_token_info info = status_of(queue, &tokens[3], 109);
  cr_assert_eq(info.state, BO_TOKEN_SPENT);
  cr_assert_eq(status_code(queue, &tokens[3], 110), BO_QUEUE_NOT_FOUND);
  info = status_of(queue, &tokens[2], 119);
  cr_assert_eq(info.state, BO_TOKEN_SPENT);
  cr_assert_eq(status_code(queue, &tokens[2], 120), BO_QUEUE_NOT_FOUND);
  info = status_of(queue, &tokens[1], 120);
  assert_active(&info, 10001);
  bo_queue_close(queue);
}

Test(queue_memory, leaving_the_middle_shifts_those_behind) {
  struct bo_queue *queue = open_queue(1, 60000, 60000, LONG_MS);
  struct bo_token tokens[8];
  for (int user = 1; user <= 7; user++)
    tokens[user] = join_as(queue, user, 0, 1).token;
  /* 1 ACTIVE; 2..7 at positions 1..6. */
  cr_assert_eq(queue->driver->leave(queue, &tokens[4], 10), BO_QUEUE_OK);
  const int64_t after_one[8] = {0, 0, 1, 2, -1, 3, 4, 5};
  for (int user = 2; user <= 7; user++) {
    struct bo_token_info info = status_of(queue, &tokens[user], 10);
    if (user == 4)
      cr_assert_eq(info.state, BO_TOKEN_SPENT);
    else
      assert_waiting(&info, after_one[user]);
  }
  /* The head itself, then the tail. */
  cr_assert_eq(queue->driver->leave(queue, &tokens[2], 20), BO_QUEUE_OK);
  cr_assert_eq(queue->driver->leave(queue, &tokens[7], 20), BO_QUEUE_OK);
  struct bo_token_info info = status_of(queue, &tokens[3], 20);
  assert_waiting(&info, 1);
  info = status_of(queue, &tokens[5], 20);
  assert_waiting(&info, 2);
  info = status_of(queue, &tokens[6], 20);
  assert_waiting(&info, 3);
  cr_assert_eq(stats_of(queue).waiting, 3);
  /* A newcomer goes behind the survivors, not into a hole. */
  info = join_as(queue, 8, 30, 1);
  assert_waiting(&info, 4);
  /* The next admission is the new head, user 3. */
  cr_assert_eq(queue->driver->leave(queue, &tokens[1], 40), BO_QUEUE_OK);
  info = status_of(queue, &tokens[3], 40);
  assert_active(&info, 60040);
  info = status_of(queue, &tokens[5], 40);
  assert_waiting(&info, 1);
  bo_queue_close(queue);
}

/* ---- idle timeouts ----
 * Only status() and join() count as being seen; admit() and stats() look
 * without touching, so they are how these tests observe a token without
 * keeping it alive. */

Test(queue_memory, idle_waiting_token_leaves_and_those_behind_move_up) {
  enum { IDLE = 1000 };
  struct bo_queue *queue = open_queue(1, 1000000, 1000, IDLE);
  struct bo_token tokens[6];
  for (int user = 1; user <= 5; user++)
    tokens[user] = join_as(queue, user, 0, 1).token;
  /* 1 ACTIVE; 2..5 at positions 1..4, all seen at 0. Users 3 and 5 ask
   * every IDLE - 1 ms; 2 and 4 walked away. */
  struct bo_token_info info = status_of(queue, &tokens[3], IDLE - 1);
  assert_waiting(&info, 2);
  info = status_of(queue, &tokens[5], IDLE - 1);
  assert_waiting(&info, 4);
  cr_assert_eq(stats_of(queue).waiting, 4);

  /* Exactly IDLE after they were last seen, and no admit() call: 2 and 4
   * are gone at read time, and the two behind them moved up. */
  cr_assert_eq(status_code(queue, &tokens[2], IDLE), BO_QUEUE_NOT_FOUND);
  cr_assert_eq(status_code(queue, &tokens[4], IDLE), BO_QUEUE_NOT_FOUND);
  cr_assert_eq(queue->driver->leave(queue, &tokens[2], IDLE),
               BO_QUEUE_NOT_FOUND);
  info = status_of(queue, &tokens[3], IDLE);
  assert_waiting(&info, 1);
  info = status_of(queue, &tokens[5], IDLE);
  assert_waiting(&info, 2);
  cr_assert_eq(stats_of(queue).waiting, 2);

  /* Asking every IDLE - 1 ms keeps a place for as long as it takes. */
  int64_t now = IDLE;
  for (int round = 0; round < 20; round++) {
    now += IDLE - 1;
    info = status_of(queue, &tokens[3], now);
    assert_waiting(&info, 1);
    info = status_of(queue, &tokens[5], now);
    assert_waiting(&info, 2);
  }
  /* Now 5 stops asking: still there one ms before its time, gone at it. */
  int64_t five_seen = now;
  now += IDLE - 1;
  info = status_of(queue, &tokens[3], now);
  assert_waiting(&info, 1);
  cr_assert_eq(admit_at(queue, five_seen + IDLE - 1), 0);
  cr_assert_eq(stats_of(queue).waiting, 2);
  cr_assert_eq(admit_at(queue, five_seen + IDLE), 0);
  cr_assert_eq(stats_of(queue).waiting, 1);
  cr_assert_eq(status_code(queue, &tokens[5], five_seen + IDLE),
               BO_QUEUE_NOT_FOUND);
  info = status_of(queue, &tokens[3], five_seen + IDLE);
  assert_waiting(&info, 1);

  /* User 1 never asked about the ACTIVE token: idle_ms does not apply. */
  info = status_of(queue, &tokens[1], five_seen + IDLE);
  assert_active(&info, 1000000);
  struct bo_queue_stats stats = stats_of(queue);
  cr_assert_eq(stats.active, 1);
  cr_assert_eq(stats.admitted_total, 1);
  bo_queue_close(queue);
}

Test(queue_memory, rejoin_counts_as_seen_and_after_idle_goes_to_the_back) {
  enum { IDLE = 1000 };
  struct bo_queue *queue = open_queue(1, 1000000, 1000, IDLE);
  struct bo_token_info first = join_as(queue, 1, 0, 1);
  struct bo_token_info two = join_as(queue, 2, 0, 1);
  struct bo_token_info three = join_as(queue, 3, 0, 1);
  assert_waiting(&three, 2);

  /* Coming back to the join page at 500 keeps user 2's place. */
  struct bo_token_info again = join_as(queue, 2, 500, 0);
  cr_assert(same_token(&again.token, &two.token));
  assert_waiting(&again, 1);

  /* At IDLE only user 3 (seen at 0) is dropped. */
  cr_assert_eq(admit_at(queue, IDLE), 0);
  cr_assert_eq(stats_of(queue).waiting, 1);
  cr_assert_eq(status_code(queue, &three.token, IDLE), BO_QUEUE_NOT_FOUND);

  /* User 4 joins; then user 3 comes back: a new token, behind user 4. */
  struct bo_token_info four = join_as(queue, 4, 1200, 1);
  assert_waiting(&four, 2);
  struct bo_token_info back = join_as(queue, 3, 1300, 1);
  cr_assert(!same_token(&back.token, &three.token));
  assert_waiting(&back, 3);
  cr_assert_eq(status_code(queue, &three.token, 1300), BO_QUEUE_NOT_FOUND);

  /* User 2 was last seen at 500; the ones behind move up. */
  cr_assert_eq(admit_at(queue, 500 + IDLE), 0);
  cr_assert_eq(status_code(queue, &two.token, 500 + IDLE), BO_QUEUE_NOT_FOUND);
  struct bo_token_info info = status_of(queue, &four.token, 500 + IDLE);
  assert_waiting(&info, 1);
  info = status_of(queue, &back.token, 500 + IDLE);
  assert_waiting(&info, 2);

  /* The ACTIVE user joining again is unaffected by all this. */
  again = join_as(queue, 1, 500 + IDLE, 0);
  cr_assert(same_token(&again.token, &first.token));
  assert_active(&again, 1000000);
  cr_assert_eq(stats_of(queue).waiting, 2);
  bo_queue_close(queue);
}

Test(queue_memory, idle_never_touches_active_or_spent_tokens) {
  enum { IDLE = 1000 };
  struct bo_queue *queue = open_queue(2, 10000, 5000, IDLE);
  struct bo_token_info one = join_as(queue, 1, 0, 1);
  struct bo_token_info two = join_as(queue, 2, 0, 1);
  struct bo_token_info three = join_as(queue, 3, 0, 1);
  assert_active(&one, 10000);
  assert_active(&two, 10000);
  /* 3 keeps asking; 1 and 2 never do, for ten times idle_ms. */
  for (int64_t now = IDLE - 1; now < 10000; now += IDLE - 1) {
    struct bo_token_info info = status_of(queue, &three.token, now);
    assert_waiting(&info, 1);
  }
  cr_assert_eq(admit_at(queue, 9999), 0);
  struct bo_queue_stats stats = stats_of(queue);
  cr_assert_eq(stats.active, 2);
  cr_assert_eq(stats.waiting, 1);

  /* 2 pays: SPENT, and its slot goes to 3. */
  cr_assert_eq(queue->driver->leave(queue, &two.token, 9999), BO_QUEUE_OK);
  cr_assert_eq(admit_at(queue, 10000), 0); /* 1 expires; nobody waits */
  cr_assert_eq(status_code(queue, &one.token, 10000), BO_QUEUE_NOT_FOUND);
  /* Neither the SPENT nor the new ACTIVE token is asked about again until
   * long after idle_ms; both last their own times. */
  struct bo_token_info info = status_of(queue, &two.token, 9999 + 5000 - 1);
  cr_assert_eq(info.state, BO_TOKEN_SPENT);
  cr_assert_eq(status_code(queue, &two.token, 9999 + 5000), BO_QUEUE_NOT_FOUND);
  info = status_of(queue, &three.token, 9999 + 10000 - 1);
  assert_active(&info, 9999 + 10000);
  cr_assert_eq(status_code(queue, &three.token, 9999 + 10000),
               BO_QUEUE_NOT_FOUND);
  stats = stats_of(queue);
  cr_assert_eq(stats.active, 0);
  cr_assert_eq(stats.admitted_total, 3);
  bo_queue_close(queue);
}

/* A slot frees at the moment the head of the line runs out of idle time:
 * the abandoned place is dropped, and the slot goes to the one behind. */
Test(queue_memory, abandoned_head_is_not_admitted) {
  enum { IDLE = 1000 };
  struct bo_queue *queue = open_queue(1, 1000, 1000, IDLE);
  struct bo_token_info one = join_as(queue, 1, 0, 1);
  struct bo_token_info two = join_as(queue, 2, 0, 1);
  struct bo_token_info three = join_as(queue, 3, 500, 1);
  assert_active(&one, 1000);
  assert_waiting(&two, 1);
  assert_waiting(&three, 2);
  cr_assert_eq(admit_at(queue, 1000), 1);
  cr_assert_eq(status_code(queue, &two.token, 1000), BO_QUEUE_NOT_FOUND);
  struct bo_token_info info = status_of(queue, &three.token, 1000);
  assert_active(&info, 2000);
  struct bo_queue_stats stats = stats_of(queue);
  cr_assert_eq(stats.waiting, 0);
  cr_assert_eq(stats.admitted_total, 2);
  bo_queue_close(queue);
}

/* The caller's clock is the wall clock and may step back. A place may then
 * be kept longer than idle_ms, but never dropped sooner. */
Test(queue_memory, clock_stepping_back_never_drops_early) {
  enum { IDLE = 1000 };
  struct bo_queue *queue = open_queue(1, 1000000, 1000, IDLE);
  join_as(queue, 1, 10000, 1);
  struct bo_token_info two = join_as(queue, 2, 10000, 1);
  struct bo_token_info three = join_as(queue, 3, 5000, 1); /* stepped back */
  assert_waiting(&three, 2);
  cr_assert_eq(admit_at(queue, 5000 + IDLE), 0);
  cr_assert_eq(stats_of(queue).waiting, 2);
  cr_assert_eq(admit_at(queue, 10000 + IDLE - 1), 0);
  cr_assert_eq(stats_of(queue).waiting, 2);
  cr_assert_eq(admit_at(queue, 10000 + IDLE), 0);
  cr_assert_eq(stats_of(queue).waiting, 0);
  cr_assert_eq(status_code(queue, &two.token, 10000 + IDLE),
               BO_QUEUE_NOT_FOUND);
  cr_assert_eq(status_code(queue, &three.token, 10000 + IDLE),
               BO_QUEUE_NOT_FOUND);
  bo_queue_close(queue);
}

Test(queue_memory, idle_ms_zero_never_drops) {
  struct bo_queue *queue = open_queue(1, 1000, 1000, 0);
  join_as(queue, 1, 0, 1);
  struct bo_token_info two = join_as(queue, 2, 0, 1);
  struct bo_token_info three = join_as(queue, 3, 0, 1);
  cr_assert_eq(admit_at(queue, 999), 0);
  cr_assert_eq(stats_of(queue).waiting, 2);
  /* 1 expires at 1000: 2 is admitted, however long ago it was seen. */
  struct bo_token_info info = status_of(queue, &two.token, 1000);
  assert_active(&info, 2000);
  info = status_of(queue, &three.token, LONG_MS);
  assert_active(&info, LONG_MS + 1000);
  bo_queue_close(queue);
}

/* ---- estimated wait ---- */

Test(queue_memory, eta_worst_case_before_any_measurement) {
  /* Nobody has come out of the line yet (the first three went straight
   * in), so ETA = ceil(position * active_ms / 1000 / active_max). */
  struct bo_queue *queue = open_queue(3, 10000, 1000, LONG_MS);
  for (int64_t user = 1; user <= 3; user++)
    join_as(queue, user, 0, 1);
  const int64_t want[] = {4, 7, 10, 14}; /* ceil(10/3), ceil(20/3), ... */
  for (int64_t i = 0; i < 4; i++) {
    struct bo_token_info info = join_as(queue, 4 + i, 0, 1);
    assert_waiting(&info, i + 1);
    cr_assert_eq(info.estimated_wait_seconds, want[i], "position %lld: %lld",
                 (long long)(i + 1), (long long)info.estimated_wait_seconds);
  }
  bo_queue_close(queue);

  /* Short active time: the rounding must not reach 0. */
  queue = open_queue(10, 100, 1000, LONG_MS);
  for (int64_t user = 1; user <= 10; user++)
    join_as(queue, user, 0, 1);
  struct bo_token_info info = join_as(queue, 11, 0, 1);
  assert_waiting(&info, 1);
  cr_assert_eq(info.estimated_wait_seconds, 1);
  bo_queue_close(queue);
}

Test(queue_memory, eta_from_admissions_in_the_last_minute) {
  /* Long active time, so slots free only when we say (leave). The first
   * admission out of the line (at 1000) starts the measuring span. */
  struct bo_queue *queue = open_queue(2, 1000000, 1000000, LONG_MS);
  struct bo_token tokens[16];
  for (int user = 1; user <= 15; user++)
    tokens[user] = join_as(queue, user, 0, 1).token;
  struct bo_token_info info = status_of(queue, &tokens[3], 0);
  cr_assert_eq(info.estimated_wait_seconds, 500); /* worst: 1 * 1000 s / 2 */

  /* Seven admissions out of the line during second 1: users 3..9. */
  for (int k = 0; k < 7; k++)
    cr_assert_eq(queue->driver->leave(queue, &tokens[k + 1], 1000 + k * 100),
                 BO_QUEUE_OK);
  info = status_of(queue, &tokens[9], 1700);
  assert_active(&info, 1001600);
  /* 7 in the 0.7 s since the first: under the 1 s floor, so
   * ceil(position * 1 / 7). */
  for (int i = 0; i < 3; i++) {
    info = status_of(queue, &tokens[10 + i], 1700);
    assert_waiting(&info, i + 1);
    cr_assert_eq(info.estimated_wait_seconds, 1, "position %d: %lld", i + 1,
                 (long long)info.estimated_wait_seconds);
  }
  /* 7 in 4 s: ceil(position * 4 / 7). */
  const int64_t want5[] = {1, 2, 2}; /* 0.57, 1.14, 1.71 */
  for (int i = 0; i < 3; i++) {
    info = status_of(queue, &tokens[10 + i], 5000);
    cr_assert_eq(info.estimated_wait_seconds, want5[i], "position %d: %lld",
                 i + 1, (long long)info.estimated_wait_seconds);
  }
  /* At 60999 the window is seconds 1..60, from 1000 ms: 7 in 59.999 s. */
  const int64_t want60[] = {9, 18, 26}; /* 8.57, 17.14, 25.71 */
  for (int i = 0; i < 3; i++) {
    info = status_of(queue, &tokens[10 + i], 60999);
    cr_assert_eq(info.estimated_wait_seconds, want60[i], "position %d: %lld",
                 i + 1, (long long)info.estimated_wait_seconds);
  }

  /* An eighth, at 30 s: user 10 is admitted. 8 in 29 s. */
  cr_assert_eq(queue->driver->leave(queue, &tokens[8], 30000), BO_QUEUE_OK);
  info = status_of(queue, &tokens[11], 30000);
  assert_waiting(&info, 1);
  cr_assert_eq(info.estimated_wait_seconds, 4); /* ceil(29 / 8) = ceil 3.6 */

  /* Second 61: second 1 slid out, only the one from second 30 is left,
   * over the window from 2000 ms: 1 in 59 s. */
  info = status_of(queue, &tokens[11], 61000);
  cr_assert_eq(info.estimated_wait_seconds, 59);
  info = status_of(queue, &tokens[12], 61000);
  cr_assert_eq(info.estimated_wait_seconds, 118);
  /* Second 90: nothing measured in the window, back to the worst case. */
  info = status_of(queue, &tokens[12], 90000);
  assert_waiting(&info, 2);
  cr_assert_eq(info.estimated_wait_seconds, 1000);
  cr_assert_eq(stats_of(queue).admitted_total, 2 + 8);
  bo_queue_close(queue);
}

/* ---- against a model ---- */

Test(queue_memory, matches_model_short_line) {
  run_against_model("memory", "queue_memory", model_short_line);
}

/* The line grows into the hundreds, so the ring grows, is compacted
 * around holes and shrinks again. */
Test(queue_memory, matches_model_long_line) {
  run_against_model("memory", "queue_memory", model_long_line);
}

Test(queue_memory, matches_model_without_idle_timeouts) {
  run_against_model("memory", "queue_memory", model_without_idle_timeouts);
}

/* ---- threads ---- */

Test(queue_memory, concurrent_joins_keep_one_line) {
  concurrent_joins_keep_one_line("memory", 1);
}

/* ---- scale ---- */

static size_t heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd; /* small blocks + mmapped big ones */
}

Test(queue_memory, a_million_joins, .timeout = 120) {
  enum { N = 1000000, MAX = 100 };
  struct bo_token *tokens = malloc((size_t)N * sizeof *tokens);
  cr_assert_not_null(tokens);
  size_t before = heap_in_use();
  struct bo_queue *queue = open_queue(MAX, 60000, 1000, LONG_MS);
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (int i = 0; i < N; i++) {
    struct bo_token_info info;
    int created = 0;
    cr_assert_eq(queue->driver->join(queue, 1000000 + i, 0, &info, &created),
                 BO_QUEUE_OK);
    tokens[i] = info.token;
  }
  double join_s = seconds_since(&start);
  size_t after = heap_in_use();
  struct bo_queue_stats stats = stats_of(queue);
  cr_assert_eq(stats.active, MAX);
  cr_assert_eq(stats.waiting, N - MAX);
  double per_entry = (double)(after - before) / (double)stats.waiting;
  fprintf(stderr,
          "[queue_memory] %d joins in %.3f s (%.0f/s); %zu bytes for %lld "
          "waiting = %.1f bytes per waiting entry\n",
          N, join_s, N / join_s, after - before, (long long)stats.waiting,
          per_entry);
  /* The later target; sanitizer builds do not use glibc malloc and
   * measure 0 here. */
  cr_assert_leq(per_entry, 128.0);

  struct bo_token_info info = status_of(queue, &tokens[N - 1], 0);
  assert_waiting(&info, N - MAX);
  info = status_of(queue, &tokens[N / 2], 0);
  assert_waiting(&info, N / 2 - MAX + 1);

  /* Every other waiting user leaves from the middle of the line. */
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (int i = MAX; i < N; i += 2)
    cr_assert_eq(queue->driver->leave(queue, &tokens[i], 1), BO_QUEUE_OK);
  double leave_s = seconds_since(&start);
  info = status_of(queue, &tokens[N - 1], 1);
  assert_waiting(&info, (N - MAX) / 2);
  info = status_of(queue, &tokens[MAX + 1], 1);
  assert_waiting(&info, 1);

  /* Drain: every active time runs out in turn; the last to join is the
   * last admitted. */
  clock_gettime(CLOCK_MONOTONIC, &start);
  int64_t now = 1, rounds = 0, total = 0;
  while (stats_of(queue).waiting > 0) {
    now += 60000;
    int64_t admitted = 0;
    cr_assert_eq(queue->driver->admit(queue, now, &admitted), BO_QUEUE_OK);
    /* Full rounds while people wait; the last one takes who is left. */
    if (stats_of(queue).waiting > 0)
      cr_assert_eq(admitted, MAX);
    cr_assert(admitted >= 1 && admitted <= MAX);
    total += admitted;
    rounds++;
    if (stats_of(queue).waiting > 0)
      cr_assert_eq(status_code(queue, &tokens[N - 1], now), BO_QUEUE_OK);
  }
  info = status_of(queue, &tokens[N - 1], now);
  assert_active(&info, now + 60000);
  cr_assert_eq(total, (N - MAX) / 2);
  cr_assert_eq(rounds, ((N - MAX) / 2 + MAX - 1) / MAX);
  fprintf(stderr,
          "[queue_memory] %d leaves from the middle in %.3f s; drained in "
          "%lld admit() calls in %.3f s\n",
          (N - MAX) / 2, leave_s, (long long)rounds, seconds_since(&start));
  bo_queue_close(queue);
  free(tokens);
}

/* Half of a long line walks away at once: the step that finds them costs
 * one look per dropped token, and the half that kept asking keeps its
 * order with the holes closed. */
Test(queue_memory, many_idle_at_once, .timeout = 120) {
  enum { N = 400000, MAX = 100, IDLE = 60000 };
  struct bo_token *tokens = malloc((size_t)N * sizeof *tokens);
  cr_assert_not_null(tokens);
  struct bo_queue *queue = open_queue(MAX, 100000000, 1000, IDLE);
  for (int i = 0; i < N; i++)
    tokens[i] = join_as(queue, 1000000 + i, 0, 1).token;
  /* Waiting users MAX, MAX + 2, ... ask halfway through; the rest do not. */
  for (int i = MAX; i < N; i += 2)
    cr_assert_eq(status_code(queue, &tokens[i], IDLE / 2), BO_QUEUE_OK);
  cr_assert_eq(stats_of(queue).waiting, N - MAX);

  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  cr_assert_eq(admit_at(queue, IDLE), 0);
  double drop_s = seconds_since(&start);
  cr_assert_eq(stats_of(queue).waiting, (N - MAX) / 2);
  struct bo_token_info info = status_of(queue, &tokens[MAX], IDLE);
  assert_waiting(&info, 1);
  info = status_of(queue, &tokens[N - 2], IDLE);
  assert_waiting(&info, (N - MAX) / 2);
  cr_assert_eq(status_code(queue, &tokens[MAX + 1], IDLE), BO_QUEUE_NOT_FOUND);
  cr_assert_eq(status_code(queue, &tokens[N - 1], IDLE), BO_QUEUE_NOT_FOUND);

  /* The rest, apart from the two just asked about, at IDLE / 2 + IDLE. */
  clock_gettime(CLOCK_MONOTONIC, &start);
  cr_assert_eq(admit_at(queue, IDLE / 2 + IDLE), 0);
  double drop2_s = seconds_since(&start);
  cr_assert_eq(stats_of(queue).waiting, 2);
  info = status_of(queue, &tokens[N - 2], IDLE / 2 + IDLE);
  assert_waiting(&info, 2);
  struct bo_queue_stats stats = stats_of(queue);
  cr_assert_eq(stats.active, MAX);
  cr_assert_eq(stats.admitted_total, MAX);
  fprintf(stderr,
          "[queue_memory] %d idle waiting tokens dropped in one step in %.3f "
          "s, then %d in %.3f s\n",
          (N - MAX) / 2, drop_s, (N - MAX) / 2 - 2, drop2_s);
  bo_queue_close(queue);
  free(tokens);
}
