#include "support/queue_calls.h"

#include <criterion/criterion.h>
#include <string.h>

struct bo_queue *open_queue_at(const char *url, int64_t active_max,
                               int64_t active_ms, int64_t spent_keep_ms,
                               int64_t idle_ms) {
  struct bo_queue_settings settings = {.active_max = active_max,
                                       .active_ms = active_ms,
                                       .spent_keep_ms = spent_keep_ms,
                                       .idle_ms = idle_ms};
  char error[256] = "";
  struct bo_queue *queue = bo_queue_open(url, &settings, error, sizeof error);
  cr_assert_not_null(queue, "bo_queue_open: %s", error);
  return queue;
}

void configure(struct bo_queue *queue, const struct bo_line_policy *policy) {
  cr_assert_eq(queue->driver->configure(queue, policy), BO_QUEUE_OK);
}

static struct bo_token_info join_answering_ok(struct bo_queue *queue,
                                              int64_t user_id, int64_t now_ms,
                                              int *created) {
  struct bo_token_info info;
  *created = -1;
  cr_assert_eq(queue->driver->join(queue, user_id, now_ms, &info, created),
               BO_QUEUE_OK, "join user %lld", (long long)user_id);
  return info;
}

struct bo_token_info join_ok(struct bo_queue *queue, int64_t user_id,
                             int64_t now_ms) {
  int created;
  return join_answering_ok(queue, user_id, now_ms, &created);
}

struct bo_token_info join_created(struct bo_queue *queue, int64_t user_id,
                                  int64_t now_ms, int want_created) {
  int created;
  struct bo_token_info info =
      join_answering_ok(queue, user_id, now_ms, &created);
  cr_assert_eq(created, want_created, "user %lld created=%d",
               (long long)user_id, created);
  return info;
}

struct bo_token_info join_as(struct bo_queue *queue, int64_t user_id,
                             int64_t now_ms, int want_created) {
  struct bo_token_info info =
      join_created(queue, user_id, now_ms, want_created);
  cr_assert_eq(info.user_id, user_id);
  return info;
}

struct bo_token_info status_of(struct bo_queue *queue,
                               const struct bo_token *token, int64_t now_ms) {
  struct bo_token_info info;
  cr_assert_eq(queue->driver->status(queue, token, now_ms, &info), BO_QUEUE_OK);
  return info;
}

enum bo_queue_status status_code(struct bo_queue *queue,
                                 const struct bo_token *token, int64_t now_ms) {
  struct bo_token_info info;
  return queue->driver->status(queue, token, now_ms, &info);
}

int64_t admit_at(struct bo_queue *queue, int64_t now_ms) {
  int64_t admitted = -1;
  cr_assert_eq(queue->driver->admit(queue, now_ms, &admitted), BO_QUEUE_OK);
  return admitted;
}

struct bo_queue_stats stats_of(struct bo_queue *queue) {
  struct bo_queue_stats stats;
  cr_assert_eq(queue->driver->stats(queue, &stats), BO_QUEUE_OK);
  return stats;
}

struct bo_draw_result draw_result_of(struct bo_queue *queue) {
  struct bo_draw_result draw;
  cr_assert_eq(queue->driver->draw_result(queue, &draw), BO_QUEUE_OK);
  return draw;
}

int same_token(const struct bo_token *a, const struct bo_token *b) {
  return memcmp(a->bytes, b->bytes, BO_TOKEN_BYTES) == 0;
}

void assert_waiting(const struct bo_token_info *info, int64_t position) {
  cr_assert_eq(info->state, BO_TOKEN_WAITING, "user %lld state %d",
               (long long)info->user_id, info->state);
  cr_assert_eq(info->position, position, "user %lld position %lld != %lld",
               (long long)info->user_id, (long long)info->position,
               (long long)position);
  cr_assert_eq(info->expires_at_ms, 0);
  cr_assert_geq(info->estimated_wait_seconds, 1);
}

void assert_active(const struct bo_token_info *info, int64_t expires_at_ms) {
  cr_assert_eq(info->state, BO_TOKEN_ACTIVE, "user %lld state %d",
               (long long)info->user_id, info->state);
  cr_assert_eq(info->position, 0);
  cr_assert_eq(info->estimated_wait_seconds, 0);
  cr_assert_eq(info->expires_at_ms, expires_at_ms, "expires %lld != %lld",
               (long long)info->expires_at_ms, (long long)expires_at_ms);
}
