/* Calls on a waiting line (queue.h) for the queue driver tests, memory and
 * Redis alike: each makes one driver call, asserts that it answered
 * BO_QUEUE_OK (and what else its comment says) and hands back what the
 * call wrote, so that a test reads as the steps it takes. The assertions
 * on a token's description that both drivers' tests share are here too. */
#ifndef BO_TEST_QUEUE_CALLS_H
#define BO_TEST_QUEUE_CALLS_H

#include "queue/queue.h"

#include <stdint.h>

/* The longest idle_ms bo_queue_open() accepts, and longer than any test's
 * clock runs (the scale tests' run 3.5 days): for lines and tokens that
 * must not time out during a test. */
#define LONG_MS (INT64_C(7) * 24 * 3600 * 1000)

/* bo_queue_open(url) with these settings; the test fails, with the
 * driver's reason, if it does not open. */
struct bo_queue *open_queue_at(const char *url, int64_t active_max,
                               int64_t active_ms, int64_t spent_keep_ms,
                               int64_t idle_ms);

void configure(struct bo_queue *queue, const struct bo_line_policy *policy);

/* join() for user_id at now_ms, three ways strict: join_ok() asserts only
 * the answer; join_created() also that `created` is want_created (1: a new
 * token, 0: the user's token again); join_as() also that the token is
 * user_id's. */
struct bo_token_info join_ok(struct bo_queue *queue, int64_t user_id,
                             int64_t now_ms);
struct bo_token_info join_created(struct bo_queue *queue, int64_t user_id,
                                  int64_t now_ms, int want_created);
struct bo_token_info join_as(struct bo_queue *queue, int64_t user_id,
                             int64_t now_ms, int want_created);

struct bo_token_info status_of(struct bo_queue *queue,
                               const struct bo_token *token, int64_t now_ms);
/* What status() answers, asserting nothing (for NOT_FOUND). */
enum bo_queue_status status_code(struct bo_queue *queue,
                                 const struct bo_token *token, int64_t now_ms);
/* admit() at now_ms; how many it admitted. */
int64_t admit_at(struct bo_queue *queue, int64_t now_ms);
struct bo_queue_stats stats_of(struct bo_queue *queue);
/* The caller frees entry_ids. */
struct bo_draw_result draw_result_of(struct bo_queue *queue);

int same_token(const struct bo_token *a, const struct bo_token *b);

/* WAITING at `position`, with no expiry and a wait of at least 1 s. */
void assert_waiting(const struct bo_token_info *info, int64_t position);
/* ACTIVE until expires_at_ms, with no position and no wait. */
void assert_active(const struct bo_token_info *info, int64_t expires_at_ms);

#endif
