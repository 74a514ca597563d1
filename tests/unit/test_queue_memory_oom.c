/* The memory queue's draw when memory runs out (memory_draw.c): the line
 * stays undrawn and admits nobody, a join that would overtake the
 * pre-queue is refused, and the next step tries again; never a half draw.
 *
 * Memory is made to run out by interposing malloc in this executable only
 * (a file of its own for that reason): it fails allocations of exactly one
 * chosen size, the size of one of the draw's arrays, while a counter says
 * so. Sanitizer builds replace malloc themselves, so there the tests skip. */
#include "queue/queue.h"
#include "support/queue_calls.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Test-only switch: allocations of fail_size bytes fail while fail_count
 * > 0. Each test runs in its own process (Criterion forks), so the switch
 * is not shared between tests. */
static size_t fail_size;
static int fail_count;

/* gcc says __SANITIZE_*__; clang answers __has_feature. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define OOM_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||     \
    __has_feature(memory_sanitizer)
#define OOM_SANITIZED 1
#endif
#endif

#ifdef OOM_SANITIZED
#define OOM_CAN_INJECT 0
#else
#define OOM_CAN_INJECT 1
extern void *__libc_malloc(size_t size);

void *malloc(size_t size);
void *malloc(size_t size) {
  if (fail_count > 0 && size == fail_size) {
    fail_count--;
    return NULL;
  }
  return __libc_malloc(size);
}
#endif

#define ON_SALE INT64_C(1700000060000)
#define USERS 1000
#define ENTRY_BYTES 72 /* sizeof(struct bo_draw_entry) */
#define ID_BYTES 32

static struct bo_queue *pre_queued_line(struct bo_token *tokens) {
  struct bo_queue *queue = open_queue_at("memory", 10, LONG_MS, 1000, LONG_MS);
  struct bo_line_policy policy = {
      .active_max = 10, .admit_cap = -1, .on_sale_at_ms = ON_SALE};
  memset(policy.seed, 7, sizeof policy.seed);
  configure(queue, &policy);
  for (int i = 0; i < USERS; i++)
    tokens[i] = join_ok(queue, 100 + i, ON_SALE - 1000).token;
  return queue;
}

static void assert_undrawn_after_failure(struct bo_queue *queue,
                                         const struct bo_token *tokens) {
  cr_assert_eq(admit_at(queue, ON_SALE), 0);
  struct bo_queue_stats stats = stats_of(queue);
  cr_assert(!stats.drawn);
  cr_assert_eq(stats.pre_queue, USERS, "a half draw: %lld left",
               (long long)stats.pre_queue);
  cr_assert_eq(stats.waiting, USERS);
  cr_assert_eq(stats.active, 0);
  cr_assert(!draw_result_of(queue).drawn);
  /* Still pre-queued, and told so. */
  struct bo_token_info info = status_of(queue, &tokens[0], ON_SALE + 10);
  cr_assert(info.pre_queue);
  cr_assert_eq(info.position, USERS);
  cr_assert_eq(info.estimated_wait_seconds, 1);
}

static void assert_drawn_at_last(struct bo_queue *queue, int64_t now) {
  cr_assert_eq(admit_at(queue, now), 10);
  struct bo_queue_stats stats = stats_of(queue);
  cr_assert(stats.drawn);
  cr_assert_eq(stats.pre_queue, 0);
  cr_assert_eq(stats.waiting, USERS - 10);
  struct bo_draw_result draw = draw_result_of(queue);
  cr_assert_eq(draw.drawn_at_ms, now);
  cr_assert_eq(draw.count, USERS);
  free(draw.entry_ids);
}

Test(queue_memory_oom, draw_without_memory_for_the_sort_waits_whole) {
  if (!OOM_CAN_INJECT) {
    cr_skip_test("malloc cannot be interposed under a sanitizer");
    return;
  }
  struct bo_token tokens[USERS];
  struct bo_queue *queue = pre_queued_line(tokens);
  fail_size = (size_t)USERS * ENTRY_BYTES;
  fail_count = 3; /* the admit, the status and the join below */
  assert_undrawn_after_failure(queue, tokens);
  /* A join now would land ahead of the pre-queue: refused. */
  struct bo_token_info info;
  int created = -1;
  cr_assert_eq(queue->driver->join(queue, 1, ON_SALE + 20, &info, &created),
               BO_QUEUE_UNAVAILABLE);
  cr_assert_eq(fail_count, 0, "the draw was not retried at every step");
  assert_drawn_at_last(queue, ON_SALE + 30);
  /* The refused user joins now, behind everyone drawn. */
  cr_assert_eq(queue->driver->join(queue, 1, ON_SALE + 40, &info, &created),
               BO_QUEUE_OK);
  cr_assert(created);
  cr_assert_eq(info.position, USERS - 10 + 1);
  bo_queue_close(queue);
}

Test(queue_memory_oom, draw_without_memory_for_the_ids_waits_whole) {
  if (!OOM_CAN_INJECT) {
    cr_skip_test("malloc cannot be interposed under a sanitizer");
    return;
  }
  struct bo_token tokens[USERS];
  struct bo_queue *queue = pre_queued_line(tokens);
  fail_size = (size_t)USERS * ID_BYTES;
  fail_count = 2; /* the admit and the status */
  assert_undrawn_after_failure(queue, tokens);
  assert_drawn_at_last(queue, ON_SALE + 30);
  bo_queue_close(queue);
}
