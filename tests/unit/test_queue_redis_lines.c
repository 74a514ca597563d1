/* Lines, line policies, the pre-queue and the draw of the Redis queue
 * driver (queue.h, "Lines"), through the public queue.h interface against
 * a real redis-server started per test by tests/services.sh, as in
 * test_queue_redis.c (support/redis_server.h). Time is an argument. Two
 * queue objects on one line id, each on its own backend, stand for two
 * boxoffice instances. */
#include "queue/queue.h"
#include "support/draw_order.h"
#include "support/queue_calls.h"
#include "support/redis_server.h"

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 INT64_C(1700000000000)

TestSuite(queue_redis_lines, .init = redis_server_setup,
          .fini = redis_server_teardown);

/* ---- lines ---- */

static struct bo_queue_settings
settings_of(int64_t active_max, int64_t active_ms, int64_t idle_ms) {
  return (struct bo_queue_settings){.active_max = active_max,
                                    .active_ms = active_ms,
                                    .spent_keep_ms = 60000,
                                    .idle_ms = idle_ms};
}

static struct bo_queue_backend *open_backend(void) {
  char error[256] = "";
  struct bo_queue_backend *backend =
      bo_queue_backend_open(redis_server_url(), error, sizeof error);
  cr_assert_not_null(backend, "bo_queue_backend_open: %s", error);
  return backend;
}

static struct bo_queue *open_line(struct bo_queue_backend *backend,
                                  int64_t line_id,
                                  struct bo_queue_settings settings) {
  char error[256] = "";
  struct bo_queue *queue =
      bo_queue_open_line(backend, line_id, &settings, error, sizeof error);
  cr_assert_not_null(queue, "bo_queue_open_line(%lld): %s", (long long)line_id,
                     error);
  cr_assert_str_eq(queue->driver->name, "redis");
  return queue;
}

/* The policy a line opens with, as queue.h says, changed by the caller. */
static struct bo_line_policy policy_of(int64_t active_max) {
  return (struct bo_line_policy){
      .active_max = active_max, .admit_cap = -1, .on_sale_at_ms = 0};
}

/* admit_at(), and the count it gives is never negative. */
static int64_t admit_count(struct bo_queue *queue, int64_t now_ms) {
  int64_t admitted = admit_at(queue, now_ms);
  cr_assert_geq(admitted, 0);
  return admitted;
}

static void assert_state(const struct bo_token_info *info,
                         enum bo_token_state state, int64_t position) {
  cr_assert_eq(info->state, state, "user %lld state %d, not %d",
               (long long)info->user_id, info->state, state);
  cr_assert_eq(info->position, position, "user %lld position %lld, not %lld",
               (long long)info->user_id, (long long)info->position,
               (long long)position);
}

/* Every key in Redis starts with one of the prefixes. */
static void assert_keys_under(redisContext *ctx, const char *a, const char *b) {
  redisReply *reply = direct_reply(ctx, "KEYS *");
  cr_assert_eq(reply->type, REDIS_REPLY_ARRAY);
  for (size_t i = 0; i < reply->elements; i++) {
    const char *key = reply->element[i]->str;
    cr_assert(strncmp(key, a, strlen(a)) == 0 ||
                  strncmp(key, b, strlen(b)) == 0,
              "key %s", key);
  }
  freeReplyObject(reply);
}

/* Two lines on one backend: separate tokens, separate limits, separate
 * keys; closing one leaves the other working. */
Test(queue_redis_lines, two_lines_on_one_backend_are_apart) {
  struct bo_queue_backend *backend = open_backend();
  struct bo_queue *global = open_line(backend, 0, settings_of(1, 60000, 0));
  struct bo_queue *concert = open_line(backend, 7, settings_of(1, 60000, 0));

  /* Each line's one slot goes to its own first user. */
  struct bo_token_info g1 = join_as(global, 1, T0, 1);
  struct bo_token_info c1 = join_as(concert, 1, T0, 1);
  assert_state(&g1, BO_TOKEN_ACTIVE, 0);
  assert_state(&c1, BO_TOKEN_ACTIVE, 0);
  cr_assert(!same_token(&g1.token, &c1.token));
  struct bo_token_info c2 = join_as(concert, 2, T0, 1);
  assert_state(&c2, BO_TOKEN_WAITING, 1);

  /* A token of one line is unknown on the other. */
  cr_assert_eq(status_code(concert, &g1.token, T0), BO_QUEUE_NOT_FOUND);
  cr_assert_eq(status_code(global, &c2.token, T0), BO_QUEUE_NOT_FOUND);
  cr_assert_eq(global->driver->leave(global, &c1.token, T0),
               BO_QUEUE_NOT_FOUND);

  /* A pause on one line stops only that one. */
  struct bo_line_policy paused = policy_of(1);
  paused.paused = true;
  configure(concert, &paused);
  cr_assert_eq(global->driver->leave(global, &g1.token, T0 + 1), BO_QUEUE_OK);
  struct bo_token_info info = join_as(global, 2, T0 + 1, 1);
  assert_state(&info, BO_TOKEN_ACTIVE, 0);
  cr_assert_eq(concert->driver->leave(concert, &c1.token, T0 + 1), BO_QUEUE_OK);
  info = status_of(concert, &c2.token, T0 + 1);
  assert_state(&info, BO_TOKEN_WAITING, 1);

  struct bo_queue_stats gs = stats_of(global), cs = stats_of(concert);
  cr_assert_eq(gs.active, 1);
  cr_assert_eq(gs.waiting, 0);
  cr_assert_eq(cs.active, 0);
  cr_assert_eq(cs.waiting, 1);

  /* Each line's keys under its own hash tag. */
  redisContext *ctx = redis_server_connect();
  assert_keys_under(ctx, "bo:{q}:", "bo:{q7}:");
  cr_assert_eq(direct_int(ctx, "ZCARD bo:{q7}:line"), 1);
  cr_assert_eq(direct_int(ctx, "ZCARD bo:{q}:line"), 0);
  cr_assert_eq(direct_int(ctx, "ZCARD bo:{q}:active"), 1);
  cr_assert_eq(direct_int(ctx, "ZCARD bo:{q7}:active"), 0);
  redisFree(ctx);

  /* Closing one line leaves the other and the backend working. */
  bo_queue_close(concert);
  cr_assert_eq(global->driver->ping(global), BO_QUEUE_OK);
  info = join_as(global, 2, T0 + 2, 0);
  assert_state(&info, BO_TOKEN_ACTIVE, 0);
  bo_queue_close(global);
  bo_queue_backend_close(backend);
}

/* Line 0 is where the line of before lines existed lives: a line written
 * with today's keys, as a running deployment leaves it, goes on. */
Test(queue_redis_lines, line_zero_keeps_todays_keys) {
  struct bo_queue_backend *backend = open_backend();
  struct bo_queue *line = open_line(backend, 0, settings_of(1, 60000, 0));
  struct bo_token_info one = join_as(line, 1, T0, 1);
  struct bo_token_info two = join_as(line, 2, T0, 1);
  redisContext *ctx = redis_server_connect();
  char one_text[BO_TOKEN_TEXT_LEN + 1], two_text[BO_TOKEN_TEXT_LEN + 1];
  bo_token_encode(&one.token, one_text);
  bo_token_encode(&two.token, two_text);
  redisReply *expires = direct_reply(ctx, "ZSCORE bo:{q}:active %s", one_text);
  cr_assert_str_eq(expires->str, "1700000060000");
  freeReplyObject(expires);
  cr_assert_eq(direct_int(ctx, "ZRANK bo:{q}:line %s", two_text), 0);
  cr_assert_eq(direct_int(ctx, "HLEN bo:{q}:owner"), 2);
  cr_assert_eq(direct_int(ctx, "HLEN bo:{q}:holder"), 2);
  cr_assert_eq(direct_int(ctx, "ZCARD bo:{q}:seen"), 1);
  /* No pre-queue: joins keep their plain sequence numbers. */
  redisReply *score = direct_reply(ctx, "ZSCORE bo:{q}:line %s", two_text);
  cr_assert_str_eq(score->str, "1");
  freeReplyObject(score);

  /* A waiting user as the driver of before lines wrote one (seq 41). */
  const char *old = "AAAAAAAAAAAAAAAAAAAAAA";
  freeReplyObject(direct_reply(ctx, "SET bo:{q}:seq 41"));
  freeReplyObject(direct_reply(ctx, "ZADD bo:{q}:line 41 %s", old));
  freeReplyObject(
      direct_reply(ctx, "ZADD bo:{q}:seen %lld %s", (long long)T0, old));
  freeReplyObject(direct_reply(ctx, "HSET bo:{q}:owner %s 3", old));
  freeReplyObject(direct_reply(ctx, "HSET bo:{q}:holder 3 %s", old));
  struct bo_token old_token;
  cr_assert(bo_token_decode(old, &old_token));
  struct bo_token_info info = status_of(line, &old_token, T0 + 1);
  assert_state(&info, BO_TOKEN_WAITING, 2);
  info = join_as(line, 3, T0 + 1, 0); /* the same place again */
  cr_assert(same_token(&info.token, &old_token));
  info = join_as(line, 4, T0 + 1, 1); /* behind it: seq 42 */
  assert_state(&info, BO_TOKEN_WAITING, 3);
  cr_assert_eq(line->driver->leave(line, &one.token, T0 + 2), BO_QUEUE_OK);
  cr_assert_eq(line->driver->leave(line, &two.token, T0 + 2), BO_QUEUE_OK);
  info = status_of(line, &old_token, T0 + 2);
  assert_state(&info, BO_TOKEN_ACTIVE, 0);
  redisFree(ctx);
  bo_queue_close(line);
  bo_queue_backend_close(backend);
}

/* ---- the policy ---- */

Test(queue_redis_lines, pause_and_resume) {
  struct bo_queue_backend *backend = open_backend();
  struct bo_queue *line = open_line(backend, 3, settings_of(2, 1000, 0));
  struct bo_line_policy policy = policy_of(2);
  policy.paused = true;
  configure(line, &policy);
  /* Joins still queue, even into an empty line with free slots. */
  struct bo_token_info one = join_as(line, 1, T0, 1);
  struct bo_token_info two = join_as(line, 2, T0, 1);
  assert_state(&one, BO_TOKEN_WAITING, 1);
  assert_state(&two, BO_TOKEN_WAITING, 2);
  cr_assert_eq(admit_count(line, T0 + 100), 0);
  struct bo_token_info info = status_of(line, &one.token, T0 + 100);
  assert_state(&info, BO_TOKEN_WAITING, 1);

  policy.paused = false;
  configure(line, &policy);
  cr_assert_eq(admit_count(line, T0 + 200), 2);
  info = status_of(line, &two.token, T0 + 200);
  assert_state(&info, BO_TOKEN_ACTIVE, 0);
  cr_assert_eq(info.expires_at_ms, T0 + 1200);

  /* Paused again: ACTIVE tokens still run out; nobody replaces them. */
  struct bo_token_info three = join_as(line, 3, T0 + 300, 1);
  policy.paused = true;
  configure(line, &policy);
  cr_assert_eq(admit_count(line, T0 + 1200), 0);
  cr_assert_eq(status_code(line, &one.token, T0 + 1200), BO_QUEUE_NOT_FOUND);
  struct bo_queue_stats stats = stats_of(line);
  cr_assert_eq(stats.active, 0);
  cr_assert_eq(stats.waiting, 1);
  policy.paused = false;
  configure(line, &policy);
  info = status_of(line, &three.token, T0 + 1300); /* a status steps too */
  assert_state(&info, BO_TOKEN_ACTIVE, 0);
  bo_queue_close(line);
  bo_queue_backend_close(backend);
}

Test(queue_redis_lines, active_max_changed_live) {
  struct bo_queue_backend *backend = open_backend();
  struct bo_queue *line =
      open_line(backend, 4, settings_of(1, 1000000, LONG_MS));
  struct bo_token tokens[7];
  for (int user = 1; user <= 6; user++)
    tokens[user] = join_as(line, user, T0, 1).token;
  cr_assert_eq(stats_of(line).active, 1);

  configure(line, &(struct bo_line_policy){.active_max = 4, .admit_cap = -1});
  cr_assert_eq(admit_count(line, T0 + 1), 3);
  struct bo_token_info info = status_of(line, &tokens[4], T0 + 1);
  assert_state(&info, BO_TOKEN_ACTIVE, 0);
  info = status_of(line, &tokens[5], T0 + 1);
  assert_state(&info, BO_TOKEN_WAITING, 1);

  /* Lowered: nobody is evicted, nobody admitted until fewer than 2. */
  configure(line, &(struct bo_line_policy){.active_max = 2, .admit_cap = -1});
  cr_assert_eq(admit_count(line, T0 + 2), 0);
  cr_assert_eq(stats_of(line).active, 4);
  for (int user = 1; user <= 2; user++)
    cr_assert_eq(line->driver->leave(line, &tokens[user], T0 + 3), BO_QUEUE_OK);
  cr_assert_eq(stats_of(line).active, 2);
  cr_assert_eq(line->driver->leave(line, &tokens[3], T0 + 4), BO_QUEUE_OK);
  info = status_of(line, &tokens[5], T0 + 4);
  assert_state(&info, BO_TOKEN_ACTIVE, 0);
  cr_assert_eq(stats_of(line).active, 2);

  /* A policy out of range is refused and the line keeps its own. */
  cr_assert_eq(
      line->driver->configure(line, &(struct bo_line_policy){.active_max = 0}),
      BO_QUEUE_UNAVAILABLE);
  cr_assert_eq(line->driver->leave(line, &tokens[4], T0 + 5), BO_QUEUE_OK);
  info = status_of(line, &tokens[6], T0 + 5);
  assert_state(&info, BO_TOKEN_ACTIVE, 0);
  bo_queue_close(line);
  bo_queue_backend_close(backend);
}

/* admit_cap binds the step and the join that would go straight in. */
Test(queue_redis_lines, admit_cap_including_the_join_fast_path) {
  struct bo_queue_backend *backend = open_backend();
  struct bo_queue *line =
      open_line(backend, 5, settings_of(10, 1000000, LONG_MS));
  struct bo_line_policy policy = policy_of(10);
  policy.admit_cap = 2;
  configure(line, &policy);
  struct bo_token tokens[6];
  for (int user = 1; user <= 2; user++) {
    struct bo_token_info info = join_as(line, user, T0, 1);
    assert_state(&info, BO_TOKEN_ACTIVE, 0);
    tokens[user] = info.token;
  }
  /* Nobody waits and active_max has room, but the cap is reached. */
  struct bo_token_info three = join_as(line, 3, T0, 1);
  assert_state(&three, BO_TOKEN_WAITING, 1);
  cr_assert_eq(admit_count(line, T0 + 1), 0);

  policy.admit_cap = 3;
  configure(line, &policy);
  cr_assert_eq(admit_count(line, T0 + 2), 1);
  struct bo_token_info info = status_of(line, &three.token, T0 + 2);
  assert_state(&info, BO_TOKEN_ACTIVE, 0);

  /* Cap 0 (sold out): even an empty line admits nobody. */
  policy.admit_cap = 0;
  configure(line, &policy);
  cr_assert_eq(line->driver->leave(line, &tokens[1], T0 + 3), BO_QUEUE_OK);
  cr_assert_eq(line->driver->leave(line, &tokens[2], T0 + 3), BO_QUEUE_OK);
  cr_assert_eq(line->driver->leave(line, &three.token, T0 + 3), BO_QUEUE_OK);
  cr_assert_eq(stats_of(line).active, 0);
  struct bo_token_info four = join_as(line, 4, T0 + 4, 1);
  assert_state(&four, BO_TOKEN_WAITING, 1);
  struct bo_token_info five = join_as(line, 5, T0 + 4, 1);

  /* No cap: active_max alone. */
  policy.admit_cap = -1;
  configure(line, &policy);
  cr_assert_eq(admit_count(line, T0 + 5), 2);
  info = join_as(line, 6, T0 + 5, 1);
  assert_state(&info, BO_TOKEN_ACTIVE, 0);
  info = status_of(line, &five.token, T0 + 5);
  assert_state(&info, BO_TOKEN_ACTIVE, 0);
  bo_queue_close(line);
  bo_queue_backend_close(backend);
}

/* 600 a minute is one per 100 ms; the bucket holds a second's worth (10)
 * and starts full. With a clock moved by hand in steps of 100 ms, exactly
 * 10 + k have been admitted after k steps, never more. */
Test(queue_redis_lines, rate_with_a_fake_clock) {
  enum { USERS = 200, STEPS = 100 };
  struct bo_queue_backend *backend = open_backend();
  struct bo_queue *line =
      open_line(backend, 6, settings_of(1000, 1000000, LONG_MS));
  struct bo_line_policy policy = policy_of(1000);
  policy.admit_per_minute = 600;
  configure(line, &policy);
  int64_t admitted = 0;
  for (int user = 1; user <= USERS; user++) {
    struct bo_token_info info = join_as(line, user, T0, 1);
    admitted += info.state == BO_TOKEN_ACTIVE;
    if (user == 11) {
      /* Nothing measured yet: the ETA comes from the rate, 10 a second. */
      assert_state(&info, BO_TOKEN_WAITING, 1);
      cr_assert_eq(info.estimated_wait_seconds, 1);
    }
    if (user == 35) {
      assert_state(&info, BO_TOKEN_WAITING, 25);
      cr_assert_eq(info.estimated_wait_seconds, 3); /* ceil(25 * 60 / 600) */
    }
  }
  cr_assert_eq(admitted, 10, "a full bucket lets 10 in at once");
  /* Half-steps admit nobody: 50 ms is half a credit. */
  cr_assert_eq(admit_count(line, T0 + 50), 0);
  for (int k = 1; k <= STEPS; k++) {
    admitted += admit_count(line, T0 + 100 * k);
    cr_assert_eq(admitted, 10 + k, "after %d steps", k);
    cr_assert_eq(admit_count(line, T0 + 100 * k), 0, "twice at one time");
  }
  struct bo_queue_stats stats = stats_of(line);
  cr_assert_eq(stats.active, 10 + STEPS);
  /* admitted out of the line in the last 60 s: all but the 10 at once */
  cr_assert_eq(stats.admitted_last_minute, STEPS);

  /* A quiet spell refills only up to the cap: ten, not a hundred. */
  cr_assert_eq(admit_count(line, T0 + 100 * STEPS + 10000), 10);
  /* The rate lifted: every waiting user at once, up to active_max. */
  policy.admit_per_minute = 0;
  configure(line, &policy);
  cr_assert_eq(admit_count(line, T0 + 100 * STEPS + 10001),
               USERS - 10 - STEPS - 10);
  bo_queue_close(line);
  bo_queue_backend_close(backend);
}

/* Two instances (two backends, one line id each) admitting alternately
 * every 50 ms share one bucket: one admission per 100 ms between them,
 * not one each. */
Test(queue_redis_lines, two_instances_share_the_rate_bucket) {
  enum { USERS = 150, STEPS = 100 };
  struct bo_queue_backend *backends[2] = {open_backend(), open_backend()};
  struct bo_queue *lines[2];
  struct bo_line_policy policy = policy_of(1000);
  policy.admit_per_minute = 600;
  for (int i = 0; i < 2; i++) {
    lines[i] = open_line(backends[i], 9, settings_of(1000, 1000000, 0));
    configure(lines[i], &policy);
  }
  int64_t admitted = 0;
  for (int user = 1; user <= USERS; user++)
    admitted += join_as(lines[user % 2], user, T0, 1).state == BO_TOKEN_ACTIVE;
  cr_assert_eq(admitted, 10);
  for (int k = 1; k <= STEPS; k++) {
    admitted += admit_count(lines[k % 2], T0 + 50 * k);
    cr_assert_leq(admitted, 10 + k / 2, "after %d half-steps", k);
  }
  cr_assert_eq(admitted, 10 + STEPS / 2);
  int64_t total =
      stats_of(lines[0]).admitted_total + stats_of(lines[1]).admitted_total;
  cr_assert_eq(total, admitted);
  cr_assert_eq(stats_of(lines[0]).active, admitted);
  for (int i = 0; i < 2; i++) {
    bo_queue_close(lines[i]);
    bo_queue_backend_close(backends[i]);
  }
}

/* ---- the pre-queue and the draw ---- */

static const uint8_t test_seed[BO_DRAW_SEED_BYTES] = {
    7, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3,
    2, 3, 8, 4, 6, 2, 6, 4, 3, 3, 8, 3, 2, 7, 9, 5};

static struct bo_line_policy pre_queue_policy(int64_t active_max,
                                              int64_t on_sale_at_ms) {
  struct bo_line_policy policy = policy_of(active_max);
  policy.on_sale_at_ms = on_sale_at_ms;
  memcpy(policy.seed, test_seed, sizeof policy.seed);
  return policy;
}

/* Finds the ACTIVE tokens of users 1..count, appends them (in user order)
 * to `order`, then makes them leave, which admits the next. Returns how
 * many there were. */
static int drain_active(struct bo_queue *line, const struct bo_token *tokens,
                        int count, int64_t now, int *order, int *n_order) {
  int first = *n_order;
  for (int user = 1; user <= count; user++) {
    struct bo_token_info info;
    if (line->driver->status(line, &tokens[user], now, &info) == BO_QUEUE_OK &&
        info.state == BO_TOKEN_ACTIVE)
      order[(*n_order)++] = user;
  }
  for (int i = first; i < *n_order; i++)
    cr_assert_eq(line->driver->leave(line, &tokens[order[i]], now),
                 BO_QUEUE_OK);
  return *n_order - first;
}

/* Joins before the on-sale wait in the pre-queue; at the on-sale the draw
 * puts them at the front in the order of their entry ids' HMAC; joins
 * after the on-sale come behind them, in arrival order, even those made
 * before admit() drew. */
Test(queue_redis_lines, pre_queue_then_the_draw) {
  enum { EARLY = 40, LATE = 5, USERS = EARLY + LATE, MAX = 1 };
  const int64_t on_sale = T0 + 60000;
  struct bo_queue_backend *backend = open_backend();
  struct bo_queue *line =
      open_line(backend, 11, settings_of(MAX, 1000000, LONG_MS));
  struct bo_line_policy policy = pre_queue_policy(MAX, on_sale);
  configure(line, &policy);
  struct bo_token tokens[USERS + 1];
  for (int user = 1; user <= EARLY; user++) {
    struct bo_token_info info = join_as(line, user, T0 + user, 1);
    assert_state(&info, BO_TOKEN_WAITING, user); /* the pre-queue's size */
    cr_assert(info.pre_queue);
    cr_assert_eq(info.estimated_wait_seconds, 60); /* ceil(59.999 s) */
    tokens[user] = info.token;
  }
  /* Joining again: the same token; status and leave work on it. */
  struct bo_token_info info = join_as(line, 5, T0 + 1000, 0);
  cr_assert(same_token(&info.token, &tokens[5]));
  cr_assert(info.pre_queue);
  assert_state(&info, BO_TOKEN_WAITING, EARLY);
  info = status_of(line, &tokens[6], on_sale - 1500);
  cr_assert(info.pre_queue);
  cr_assert_eq(info.estimated_wait_seconds, 2);
  /* With a rate, the middle of the pre-queue's places at that rate comes
   * on top: the 20th of 40 at 60 a minute, 20 s. */
  struct bo_line_policy rated = policy;
  rated.admit_per_minute = 60;
  configure(line, &rated);
  info = status_of(line, &tokens[6], on_sale - 1500);
  cr_assert_eq(info.estimated_wait_seconds, 2 + 20);
  configure(line, &policy);
  cr_assert_eq(line->driver->leave(line, &tokens[7], T0 + 2000), BO_QUEUE_OK);
  info = status_of(line, &tokens[7], T0 + 2000);
  cr_assert_eq(info.state, BO_TOKEN_SPENT);

  struct bo_queue_stats stats = stats_of(line);
  cr_assert_eq(stats.pre_queue, EARLY - 1);
  cr_assert_eq(stats.waiting, EARLY - 1);
  cr_assert_eq(stats.active, 0);
  cr_assert(!stats.drawn);
  cr_assert_eq(admit_count(line, on_sale - 1), 0);
  struct bo_draw_result result;
  cr_assert_eq(line->driver->draw_result(line, &result), BO_QUEUE_OK);
  cr_assert(!result.drawn);
  cr_assert_null(result.entry_ids);

  /* The on-sale came; admit() has not run yet. Joins go to the line, not
   * the pre-queue, behind every pre-queue entry. */
  for (int user = EARLY + 1; user <= USERS; user++) {
    info = join_as(line, user, on_sale + user, 1);
    cr_assert(!info.pre_queue);
    assert_state(&info, BO_TOKEN_WAITING, EARLY - 1 + (user - EARLY));
    tokens[user] = info.token;
  }
  info = status_of(line, &tokens[1], on_sale + 50);
  cr_assert(info.pre_queue);
  cr_assert_eq(info.estimated_wait_seconds, 1);

  /* The draw, then one admitted at a time: the drawn order, then the
   * late joins in arrival order. */
  const int64_t drawn_at = on_sale + 100;
  admit_count(line, drawn_at);
  stats = stats_of(line);
  cr_assert(stats.drawn);
  cr_assert_eq(stats.pre_queue, 0);
  cr_assert_eq(stats.active, MAX);
  cr_assert_eq(stats.waiting, USERS - 1 - MAX);
  int users[EARLY - 1], n_users = 0;
  for (int user = 1; user <= EARLY; user++)
    if (user != 7)
      users[n_users++] = user;
  struct expected_entry expected[EARLY - 1];
  expected_draw_order(test_seed, tokens, users, n_users, expected);
  /* Positions say it before anyone is admitted further. */
  for (int i = MAX; i < n_users; i++) {
    info = status_of(line, &tokens[expected[i].user], drawn_at);
    cr_assert(!info.pre_queue);
    assert_state(&info, BO_TOKEN_WAITING, i - MAX + 1);
  }
  int order[USERS], n_order = 0;
  for (int64_t now = drawn_at; n_order < USERS - 1; now += 10)
    cr_assert_eq(drain_active(line, tokens, USERS, now, order, &n_order), MAX,
                 "at %lld", (long long)now);
  for (int i = 0; i < n_users; i++)
    cr_assert_eq(order[i], expected[i].user, "place %d: user %d, not %d", i,
                 order[i], expected[i].user);
  for (int i = n_users; i < n_order; i++)
    cr_assert_eq(order[i], EARLY + 1 + (i - n_users));

  /* The same order with bo_draw_sort, and in draw_result(). */
  struct bo_draw_entry sorted[EARLY - 1];
  for (int i = 0; i < n_users; i++) {
    bo_draw_entry_id(&tokens[users[i]], sorted[i].id);
    sorted[i].ref = (uint64_t)users[i];
  }
  bo_draw_sort(test_seed, sorted, (size_t)n_users);
  cr_assert_eq(line->driver->draw_result(line, &result), BO_QUEUE_OK);
  cr_assert(result.drawn);
  cr_assert_eq(result.drawn_at_ms, drawn_at);
  cr_assert_eq(result.count, (size_t)n_users);
  for (int i = 0; i < n_users; i++) {
    cr_assert_eq((int)sorted[i].ref, expected[i].user);
    cr_assert_eq(memcmp(result.entry_ids[i], expected[i].id, BO_DRAW_ID_BYTES),
                 0, "entry %d", i);
  }
  free(result.entry_ids);

  /* A line draws once: a join by a clock still before the on-sale goes
   * to the line now. */
  info = join_as(line, 99, on_sale - 5000, 1);
  cr_assert(!info.pre_queue);
  cr_assert_eq(stats_of(line).pre_queue, 0);
  bo_queue_close(line);
  bo_queue_backend_close(backend);
}

/* A pre-queue place is never dropped for want of asking; once drawn it is
 * seen at the draw, and idle_ms counts from there. */
Test(queue_redis_lines, pre_queue_token_survives_idle_ms) {
  enum { IDLE = 1000 };
  const int64_t on_sale = T0 + 10 * IDLE;
  struct bo_queue_backend *backend = open_backend();
  struct bo_queue *line = open_line(backend, 12, settings_of(1, 1000000, IDLE));
  struct bo_line_policy policy = pre_queue_policy(1, on_sale);
  configure(line, &policy);
  struct bo_token_info one = join_as(line, 1, T0, 1);
  struct bo_token_info two = join_as(line, 2, T0, 1);
  struct bo_token_info three = join_as(line, 3, T0, 1);
  for (int64_t now = T0 + IDLE; now < on_sale; now += IDLE)
    cr_assert_eq(admit_count(line, now), 0);
  cr_assert_eq(stats_of(line).pre_queue, 3);
  struct bo_token_info info = status_of(line, &two.token, on_sale - 1);
  cr_assert(info.pre_queue);
  cr_assert_eq(admit_count(line, on_sale), 1);
  cr_assert_eq(stats_of(line).waiting, 2);
  /* Seen at the draw: still there just before idle_ms, gone at it (the
   * one that is ACTIVE is not concerned). */
  cr_assert_eq(admit_count(line, on_sale + IDLE - 1), 0);
  cr_assert_eq(stats_of(line).waiting, 2);
  cr_assert_eq(admit_count(line, on_sale + IDLE), 0);
  cr_assert_eq(stats_of(line).waiting, 0);
  int live = 0;
  const struct bo_token *all[] = {&one.token, &two.token, &three.token};
  for (int i = 0; i < 3; i++)
    live += status_code(line, all[i], on_sale + IDLE) == BO_QUEUE_OK;
  cr_assert_eq(live, 1);
  bo_queue_close(line);
  bo_queue_backend_close(backend);
}

/* Two instances' housekeeping threads call admit() at the same moments:
 * the pre-queue is drawn once, every entry exactly once, in the order of
 * the rule. More entries than one draw script takes (1000), so the draw
 * goes in chunks. */
enum { RACE_ENTRIES = 2500, RACE_THREADS = 4, RACE_ROUNDS = 5 };

struct draw_racer {
  struct bo_queue *line;
  pthread_barrier_t *go;
  int64_t now;
  int failures;
};

static void *draw_racer_run(void *arg) {
  struct draw_racer *r = arg;
  for (int round = 0; round < RACE_ROUNDS; round++) {
    pthread_barrier_wait(r->go);
    int64_t admitted = 0;
    if (r->line->driver->admit(r->line, r->now + round, &admitted) !=
        BO_QUEUE_OK)
      r->failures++;
  }
  return NULL;
}

Test(queue_redis_lines, two_instances_draw_once, .timeout = 120) {
  const int64_t on_sale = T0 + 1000;
  struct bo_queue_backend *backends[2] = {open_backend(), open_backend()};
  struct bo_queue *lines[2];
  for (int i = 0; i < 2; i++) {
    lines[i] = open_line(backends[i], 13, settings_of(3, 1000000, 0));
    struct bo_line_policy policy = pre_queue_policy(3, on_sale);
    configure(lines[i], &policy);
  }
  static struct bo_token tokens[RACE_ENTRIES + 1];
  static int users[RACE_ENTRIES];
  for (int user = 1; user <= RACE_ENTRIES; user++) {
    tokens[user] = join_as(lines[user % 2], user, T0, 1).token;
    users[user - 1] = user;
  }
  pthread_barrier_t go;
  pthread_barrier_init(&go, NULL, RACE_THREADS);
  struct draw_racer racers[RACE_THREADS];
  pthread_t threads[RACE_THREADS];
  for (int t = 0; t < RACE_THREADS; t++) {
    racers[t] = (struct draw_racer){
        .line = lines[t % 2], .go = &go, .now = on_sale + t};
    cr_assert_eq(pthread_create(&threads[t], NULL, draw_racer_run, &racers[t]),
                 0);
  }
  for (int t = 0; t < RACE_THREADS; t++) {
    pthread_join(threads[t], NULL);
    cr_assert_eq(racers[t].failures, 0);
  }
  pthread_barrier_destroy(&go);

  static struct expected_entry expected[RACE_ENTRIES];
  expected_draw_order(test_seed, tokens, users, RACE_ENTRIES, expected);
  struct bo_draw_result result;
  cr_assert_eq(lines[1]->driver->draw_result(lines[1], &result), BO_QUEUE_OK);
  cr_assert(result.drawn);
  cr_assert_eq(result.count, (size_t)RACE_ENTRIES);
  for (int i = 0; i < RACE_ENTRIES; i++)
    cr_assert_eq(memcmp(result.entry_ids[i], expected[i].id, BO_DRAW_ID_BYTES),
                 0, "entry %d", i);
  free(result.entry_ids);
  struct bo_queue_stats stats = stats_of(lines[0]);
  cr_assert_eq(stats.active, 3);
  cr_assert_eq(stats.waiting, RACE_ENTRIES - 3);
  cr_assert_eq(stats.pre_queue, 0);
  /* The first three in drawn order are ACTIVE, the next are 1, 2, ... */
  for (int i = 0; i < 50; i++) {
    struct bo_token_info info =
        status_of(lines[i % 2], &tokens[expected[i].user], on_sale + 10);
    if (i < 3)
      assert_state(&info, BO_TOKEN_ACTIVE, 0);
    else
      assert_state(&info, BO_TOKEN_WAITING, i - 2);
  }
  redisContext *ctx = redis_server_connect();
  cr_assert_eq(direct_int(ctx, "LLEN bo:{q13}:ids"), RACE_ENTRIES);
  cr_assert_eq(direct_int(ctx, "EXISTS bo:{q13}:drawing"), 0);
  cr_assert_eq(direct_int(ctx, "EXISTS bo:{q13}:draw_lock"), 0);
  redisFree(ctx);
  for (int i = 0; i < 2; i++) {
    bo_queue_close(lines[i]);
    bo_queue_backend_close(backends[i]);
  }
}

/* An instance whose clock stays before the on-sale joins users as fast as
 * it can while another draws. The draw is not starved (once it has begun,
 * such joins go to the line, behind the drawn), and it holds exactly those
 * that were told they are in the pre-queue. */
struct late_joiner {
  struct bo_queue *line;
  int64_t on_sale;
  atomic_int stop;
  int joined;
  struct bo_token tokens[20000];
  bool pre_queue[20000];
  int failures;
};

static void *late_joiner_run(void *arg) {
  struct late_joiner *j = arg;
  while (!atomic_load(&j->stop) && j->joined < 20000) {
    struct bo_token_info info;
    int created = 0;
    if (j->line->driver->join(j->line, 100000 + j->joined, j->on_sale - 1,
                              &info, &created) != BO_QUEUE_OK ||
        !created) {
      j->failures++;
      continue;
    }
    j->tokens[j->joined] = info.token;
    j->pre_queue[j->joined] = info.pre_queue;
    j->joined++;
  }
  return NULL;
}

Test(queue_redis_lines, late_joins_never_starve_the_draw, .timeout = 120) {
  enum { EARLY = 3000 };
  const int64_t on_sale = T0 + 1000;
  struct bo_queue_backend *backends[2] = {open_backend(), open_backend()};
  struct bo_queue *drawer =
      open_line(backends[0], 15, settings_of(2, 1000000, 0));
  struct bo_queue *skewed =
      open_line(backends[1], 15, settings_of(2, 1000000, 0));
  struct bo_line_policy policy = pre_queue_policy(2, on_sale);
  configure(drawer, &policy);
  configure(skewed, &policy);
  static struct late_joiner joiner;
  joiner.line = skewed;
  joiner.on_sale = on_sale;
  for (int user = 1; user <= EARLY; user++)
    join_as(drawer, user, T0, 1);
  pthread_t thread;
  cr_assert_eq(pthread_create(&thread, NULL, late_joiner_run, &joiner), 0);
  while (joiner.joined < 50)
    usleep(1000);
  for (int tick = 0; !stats_of(drawer).drawn; tick++) {
    cr_assert_lt(tick, 2, "not drawn by the first admit()");
    admit_count(drawer, on_sale + tick);
  }
  usleep(20 * 1000); /* some joins after the draw too */
  atomic_store(&joiner.stop, 1);
  pthread_join(thread, NULL);
  cr_assert_eq(joiner.failures, 0);

  int in_pre = 0, after = 0;
  for (int i = 0; i < joiner.joined; i++) {
    in_pre += joiner.pre_queue[i];
    after += !joiner.pre_queue[i];
  }
  fprintf(stderr,
          "[queue_redis_lines] %d late joins: %d into the pre-queue, %d into "
          "the drawn line\n",
          joiner.joined, in_pre, after);
  cr_assert_gt(in_pre, 0);
  struct bo_draw_result result;
  cr_assert_eq(drawer->driver->draw_result(drawer, &result), BO_QUEUE_OK);
  cr_assert_eq(result.count, (size_t)(EARLY + in_pre));
  struct bo_queue_stats stats = stats_of(drawer);
  cr_assert_eq(stats.pre_queue, 0);
  cr_assert_eq(stats.waiting + stats.active, EARLY + joiner.joined);
  /* Every late join that went to the pre-queue is in the draw; no other,
   * and those that did not wait behind every drawn entry. */
  for (int i = 0; i < joiner.joined; i++) {
    uint8_t id[BO_DRAW_ID_BYTES];
    bo_draw_entry_id(&joiner.tokens[i], id);
    int found = 0;
    for (size_t k = 0; k < result.count && !found; k++)
      found = memcmp(result.entry_ids[k], id, sizeof id) == 0;
    cr_assert_eq(found, joiner.pre_queue[i], "late join %d", i);
    if (!joiner.pre_queue[i] && i % 50 == 0) {
      struct bo_token_info info =
          status_of(drawer, &joiner.tokens[i], on_sale + 10);
      cr_assert_gt(info.position, (int64_t)result.count - 2);
    }
  }
  /* And the draw's order is the rule's. */
  for (size_t k = 1; k < result.count; k++) {
    uint8_t a[crypto_auth_hmacsha256_BYTES], b[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256(a, result.entry_ids[k - 1], BO_DRAW_ID_BYTES,
                           test_seed);
    crypto_auth_hmacsha256(b, result.entry_ids[k], BO_DRAW_ID_BYTES, test_seed);
    cr_assert_lt(memcmp(a, b, sizeof a), 0, "entries %zu, %zu", k - 1, k);
  }
  free(result.entry_ids);
  bo_queue_close(drawer);
  bo_queue_close(skewed);
  bo_queue_backend_close(backends[0]);
  bo_queue_backend_close(backends[1]);
}

/* An instance that died half-way through a draw (a chunk done, not the
 * last; its lock lapsed): the next attempt undoes its moves and draws
 * everyone in order. The dead instance is played by running draw.lua
 * directly, with a list that also names a token not in the pre-queue,
 * which draw.lua answers "changed" after moving the ones before it. */
static char *read_draw_script(void) {
  char path[1100];
  snprintf(path, sizeof path, "%s/src/queue/draw.lua",
           redis_server_source_dir());
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "%s", path);
  static char text[16384];
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  return text;
}

static long long run_draw_chunk(redisContext *ctx, const char *const *pairs,
                                int n_pairs, const char *total,
                                const char *last) {
  const char *argv[64] = {"EVAL",
                          read_draw_script(),
                          "8",
                          "bo:{q14}:pre",
                          "bo:{q14}:line",
                          "bo:{q14}:seen",
                          "bo:{q14}:drawn",
                          "bo:{q14}:ids",
                          "bo:{q14}:started",
                          "bo:{q14}:drawing",
                          "bo:{q14}:draw_lock",
                          "1700000001000",
                          "dead-instance",
                          "0",
                          total,
                          last};
  int argc = 16;
  for (int i = 0; i < 2 * n_pairs; i++)
    argv[argc++] = pairs[i];
  redisReply *reply = redisCommandArgv(ctx, argc, argv, NULL);
  cr_assert(reply != NULL && reply->type == REDIS_REPLY_ARRAY &&
                reply->elements == 1,
            "draw.lua: %s", reply && reply->str ? reply->str : "?");
  long long code = reply->element[0]->integer;
  freeReplyObject(reply);
  return code;
}

Test(queue_redis_lines, a_draw_left_half_done_is_undone) {
  enum { N = 30, MAX = 3 };
  const int64_t on_sale = T0 + 1000;
  struct bo_queue_backend *backend = open_backend();
  struct bo_queue *line = open_line(backend, 14, settings_of(MAX, 1000000, 0));
  struct bo_line_policy policy = pre_queue_policy(MAX, on_sale);
  configure(line, &policy);
  struct bo_token tokens[N + 1];
  char texts[N + 1][BO_TOKEN_TEXT_LEN + 1];
  int users[N];
  for (int user = 1; user <= N; user++) {
    tokens[user] = join_as(line, user, T0, 1).token;
    bo_token_encode(&tokens[user], texts[user]);
    users[user - 1] = user;
  }
  redisContext *ctx = redis_server_connect();
  const char *id = "00";
  /* A list as long as the pre-queue, but stale: its third entry left. */
  const char *stale[] = {texts[5], id, texts[9], id, "AAAAAAAAAAAAAAAAAAAAAA",
                         id};
  cr_assert_eq(run_draw_chunk(ctx, stale, 3, "30", "0"), 2, "changed");
  cr_assert_eq(direct_int(ctx, "ZCARD bo:{q14}:line"), 2);
  cr_assert_eq(direct_int(ctx, "ZCARD bo:{q14}:pre"), N - 2);
  /* A list shorter than the pre-queue: changed, before moving anything. */
  cr_assert_eq(run_draw_chunk(ctx, stale, 2, "2", "1"), 2, "changed");
  cr_assert_eq(direct_int(ctx, "ZCARD bo:{q14}:pre"), N);
  /* Half done again (a good chunk, then the instance dies). */
  const char *half[] = {texts[5], id, texts[9], id};
  cr_assert_eq(run_draw_chunk(ctx, half, 2, "30", "0"), 0);
  cr_assert_eq(direct_int(ctx, "ZCARD bo:{q14}:line"), 2);
  /* Meanwhile the line admits nobody, and stats say it is not drawn. */
  cr_assert_eq(admit_count(line, on_sale - 1), 0);
  cr_assert(!stats_of(line).drawn);

  /* Another instance holds the draw's lock: this one does not draw, and
   * the pre-queue takes no one more (a clock behind joins the line). */
  freeReplyObject(
      direct_reply(ctx, "SET bo:{q14}:draw_lock other-instance PX 60000"));
  cr_assert_eq(admit_count(line, on_sale), 0);
  cr_assert(!stats_of(line).drawn);
  struct bo_token_info late = join_as(line, N + 1, on_sale - 10, 1);
  cr_assert(!late.pre_queue);
  assert_state(&late, BO_TOKEN_WAITING, N + 1);
  freeReplyObject(direct_reply(ctx, "DEL bo:{q14}:draw_lock"));

  cr_assert_eq(admit_count(line, on_sale + 1), MAX);
  struct expected_entry expected[N];
  expected_draw_order(test_seed, tokens, users, N, expected);
  struct bo_draw_result result;
  cr_assert_eq(line->driver->draw_result(line, &result), BO_QUEUE_OK);
  cr_assert_eq(result.count, (size_t)N);
  for (int i = 0; i < N; i++) {
    cr_assert_eq(memcmp(result.entry_ids[i], expected[i].id, BO_DRAW_ID_BYTES),
                 0, "entry %d", i);
    struct bo_token_info info =
        status_of(line, &tokens[expected[i].user], on_sale + 1);
    if (i < MAX)
      assert_state(&info, BO_TOKEN_ACTIVE, 0);
    else
      assert_state(&info, BO_TOKEN_WAITING, i - MAX + 1);
  }
  free(result.entry_ids);
  late = status_of(line, &late.token, on_sale + 1);
  assert_state(&late, BO_TOKEN_WAITING, N - MAX + 1);
  /* The dead instance's chunk cannot land on a drawn line. */
  cr_assert_eq(run_draw_chunk(ctx, half, 2, "30", "0"), 1, "already drawn");
  redisFree(ctx);
  bo_queue_close(line);
  bo_queue_backend_close(backend);
}

/* The on-sale called off (0) with people in the pre-queue: the next
 * admit() sees them and the one after draws them, rather than leaving
 * them stranded; joins meanwhile go behind them. */
Test(queue_redis_lines, called_off_on_sale_draws_the_pre_queue) {
  enum { N = 5, MAX = 2 };
  struct bo_queue_backend *backend = open_backend();
  struct bo_queue *line = open_line(backend, 16, settings_of(MAX, 1000000, 0));
  struct bo_line_policy policy = pre_queue_policy(MAX, T0 + 3600000);
  configure(line, &policy);
  struct bo_token tokens[N + 2];
  int users[N];
  for (int user = 1; user <= N; user++) {
    tokens[user] = join_as(line, user, T0, 1).token;
    users[user - 1] = user;
  }
  policy.on_sale_at_ms = 0;
  configure(line, &policy);
  struct bo_token_info late = join_as(line, N + 1, T0 + 1, 1);
  assert_state(&late, BO_TOKEN_WAITING, N + 1);
  cr_assert(!late.pre_queue);
  tokens[N + 1] = late.token;
  int64_t admitted = admit_count(line, T0 + 2) + admit_count(line, T0 + 3);
  cr_assert_eq(admitted, MAX);
  struct bo_queue_stats stats = stats_of(line);
  cr_assert(stats.drawn);
  cr_assert_eq(stats.pre_queue, 0);
  struct expected_entry expected[N];
  expected_draw_order(test_seed, tokens, users, N, expected);
  for (int i = 0; i < N; i++) {
    struct bo_token_info info =
        status_of(line, &tokens[expected[i].user], T0 + 4);
    assert_state(&info, i < MAX ? BO_TOKEN_ACTIVE : BO_TOKEN_WAITING,
                 i < MAX ? 0 : i - MAX + 1);
  }
  struct bo_token_info info = status_of(line, &late.token, T0 + 4);
  assert_state(&info, BO_TOKEN_WAITING, N - MAX + 1);
  bo_queue_close(line);
  bo_queue_backend_close(backend);
}
