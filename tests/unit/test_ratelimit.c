/* The token buckets of src/util/ratelimit.c, with time moved by hand: the
 * burst, the refill, the wait it reports, keys kept apart, a clock that
 * steps back, bounded memory, and many threads on one key. */
#include "util/ratelimit.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define T0 1000000 /* any start time: the limiter only looks at differences */

static struct bo_ratelimit *limit;

static void finish(void) {
  bo_ratelimit_destroy(limit);
  limit = NULL;
}

TestSuite(ratelimit, .fini = finish);

static bool take(const char *key, int64_t now_ms, int64_t *retry_ms) {
  return bo_ratelimit_take(limit, key, strlen(key), now_ms, retry_ms);
}

/* How many of `n` requests at one instant get through. */
static int allowed_of(const char *key, int n, int64_t now_ms) {
  int ok = 0;
  for (int i = 0; i < n; i++)
    ok += take(key, now_ms, NULL);
  return ok;
}

Test(ratelimit, refuses_bad_settings) {
  cr_assert_null(bo_ratelimit_create(0, 10, 100));
  cr_assert_null(bo_ratelimit_create(5, 0, 100));
  cr_assert_null(bo_ratelimit_create(5, 10, 0));
  cr_assert_null(bo_ratelimit_create(1000001, 10, 100));
  limit = bo_ratelimit_create(1000000, 1000000, 1);
  cr_assert_not_null(limit);
}

Test(ratelimit, a_burst_then_a_refusal_with_the_wait) {
  limit = bo_ratelimit_create(2, 3, 1000);
  cr_assert_not_null(limit);
  cr_assert_eq(allowed_of("kim", 3, T0), 3, "the burst is 3");
  int64_t retry = -1;
  cr_assert_not(take("kim", T0, &retry));
  /* One request's worth at 2 a second: 500 ms. */
  cr_assert_eq(retry, 500, "retry after %lld ms", (long long)retry);
}

Test(ratelimit, refills_at_the_rate_and_lets_in_when_it_said) {
  limit = bo_ratelimit_create(2, 3, 1000);
  cr_assert_eq(allowed_of("kim", 3, T0), 3);
  int64_t retry = 0;
  cr_assert_not(take("kim", T0 + 499, &retry));
  cr_assert_eq(retry, 1);
  cr_assert(take("kim", T0 + 500, NULL), "one request back after 500 ms");
  cr_assert_not(take("kim", T0 + 500, NULL));
  /* Steady state: one every 500 ms, never more. */
  int ok = 0;
  for (int64_t t = T0 + 510; t <= T0 + 10500; t += 10)
    ok += take("kim", t, NULL);
  cr_assert_eq(ok, 20, "%d allowed in 10 s at 2/s", ok);
}

Test(ratelimit, a_long_quiet_spell_gives_one_burst_not_more) {
  limit = bo_ratelimit_create(5, 10, 1000);
  cr_assert_eq(allowed_of("kim", 10, T0), 10);
  cr_assert_eq(allowed_of("kim", 50, T0 + 3600 * 1000), 10);
}

Test(ratelimit, refused_requests_cost_nothing) {
  limit = bo_ratelimit_create(1, 1, 1000);
  cr_assert(take("kim", T0, NULL));
  /* Hammering while refused does not push the wait out. */
  for (int64_t t = T0; t < T0 + 1000; t += 7)
    cr_assert_not(take("kim", t, NULL));
  cr_assert(take("kim", T0 + 1000, NULL));
}

Test(ratelimit, waits_are_rounded_up) {
  limit = bo_ratelimit_create(3, 1, 1000);
  cr_assert(take("kim", T0, NULL));
  int64_t retry = 0;
  cr_assert_not(take("kim", T0, &retry));
  cr_assert_eq(retry, 334, "1000/3 ms rounded up, got %lld", (long long)retry);
  cr_assert_not(take("kim", T0 + 333, NULL));
  cr_assert(take("kim", T0 + 334, NULL));
}

Test(ratelimit, keys_are_counted_apart) {
  limit = bo_ratelimit_create(1, 2, 1000);
  cr_assert_eq(allowed_of("kim", 5, T0), 2);
  cr_assert_eq(allowed_of("lee", 5, T0), 2, "lee has a bucket of his own");
  /* Keys are bytes, not strings: a prefix is another key. */
  cr_assert_eq(allowed_of("ki", 5, T0), 2);
  cr_assert_eq(bo_ratelimit_keys(limit), 3);
}

Test(ratelimit, a_clock_stepping_back_hands_out_nothing) {
  limit = bo_ratelimit_create(1, 2, 1000);
  cr_assert_eq(allowed_of("kim", 2, T0), 2);
  /* NTP steps the wall clock back a minute: no new burst... */
  cr_assert_not(take("kim", T0 - 60000, NULL));
  cr_assert_not(take("kim", T0 + 999, NULL));
  /* ...and the wait is still measured from the latest time seen. */
  cr_assert(take("kim", T0 + 1000, NULL));
}

Test(ratelimit, memory_is_capped_under_a_flood_of_keys) {
  /* 64 shards of 4 buckets. */
  limit = bo_ratelimit_create(1, 5, 256);
  char key[32];
  for (int i = 0; i < 20000; i++) {
    snprintf(key, sizeof key, "bot-%d", i);
    take(key, T0, NULL);
    cr_assert_leq(bo_ratelimit_keys(limit), 256);
  }
}

Test(ratelimit, past_the_cap_the_oldest_key_starts_over) {
  /* The documented leniency: one bucket per shard, so any other key in
   * kim's shard pushes kim out, and kim gets a fresh burst. */
  limit = bo_ratelimit_create(1, 2, 64);
  cr_assert_eq(allowed_of("kim", 2, T0), 2);
  cr_assert_not(take("kim", T0, NULL));
  char key[32];
  for (int i = 0; i < 5000; i++) {
    snprintf(key, sizeof key, "bot-%d", i);
    take(key, T0, NULL);
  }
  cr_assert_eq(allowed_of("kim", 5, T0), 2);
}

Test(ratelimit, quiet_keys_are_forgotten) {
  /* Rate 10, burst 10: an emptied bucket is brim-full again 1 s later,
   * and then indistinguishable from no bucket at all. */
  limit = bo_ratelimit_create(10, 10, 100000);
  char key[32];
  for (int i = 0; i < 200; i++) {
    snprintf(key, sizeof key, "old-%d", i);
    cr_assert_eq(allowed_of(key, 10, T0), 10);
  }
  cr_assert_eq(bo_ratelimit_keys(limit), 200);
  /* Still refilling: nothing may be dropped yet. */
  for (int i = 0; i < 200; i++) {
    snprintf(key, sizeof key, "mid-%d", i);
    cr_assert_eq(allowed_of(key, 10, T0 + 500), 10);
  }
  cr_assert_eq(bo_ratelimit_keys(limit), 400);
  /* Each call drops up to two brim-full buckets of its shard: 400 calls
   * over 64 shards clear nearly every old and mid one. */
  for (int i = 0; i < 400; i++) {
    snprintf(key, sizeof key, "new-%d", i);
    take(key, T0 + 2000, NULL);
  }
  size_t left = bo_ratelimit_keys(limit);
  cr_assert_leq(left, 400 + 60, "%zu keys kept, of 800 seen", left);
}

/* ---- Threads ------------------------------------------------------------ */

enum { THREADS = 8, TRIES_EACH = 2000, BURST = 300 };

struct worker {
  pthread_barrier_t *start;
  const char *key;
  int allowed;
};

static void *hammer(void *arg) {
  struct worker *w = arg;
  pthread_barrier_wait(w->start);
  for (int i = 0; i < TRIES_EACH; i++)
    w->allowed += bo_ratelimit_take(limit, w->key, strlen(w->key), T0, NULL);
  return NULL;
}

static int run_workers(const char *const keys[THREADS]) {
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, THREADS);
  struct worker workers[THREADS];
  pthread_t threads[THREADS];
  for (int i = 0; i < THREADS; i++) {
    workers[i] = (struct worker){.start = &start, .key = keys[i]};
    cr_assert_eq(pthread_create(&threads[i], NULL, hammer, &workers[i]), 0);
  }
  int total = 0;
  for (int i = 0; i < THREADS; i++) {
    pthread_join(threads[i], NULL);
    total += workers[i].allowed;
  }
  pthread_barrier_destroy(&start);
  return total;
}

Test(ratelimit, threads_on_one_key_get_exactly_the_burst) {
  limit = bo_ratelimit_create(1, BURST, 1000);
  const char *const keys[THREADS] = {"kim", "kim", "kim", "kim",
                                     "kim", "kim", "kim", "kim"};
  int total = run_workers(keys);
  cr_assert_eq(total, BURST, "%d let through, burst %d", total, BURST);
}

Test(ratelimit, threads_on_their_own_keys_do_not_share) {
  limit = bo_ratelimit_create(1, BURST, 1000);
  const char *const keys[THREADS] = {"a", "b", "c", "d", "e", "f", "g", "h"};
  int total = run_workers(keys);
  cr_assert_eq(total, THREADS * BURST);
}
