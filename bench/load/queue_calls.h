/* The waiting-line calls that several workloads make: issuing a queue
 * token and polling its status, and reading either answer. */
#ifndef BO_LOAD_QUEUE_CALLS_H
#define BO_LOAD_QUEUE_CALLS_H

#include "loop.h"
#include "tokens_file.h"

#include <stdbool.h>
#include <stdint.h>

/* POST /api/v1/queue/tokens {"userId": user_id}. With `forwarded_for`
 * the request names 10.a.b.c (the user id's low 24 bits) as its client,
 * so that the server's per-address issue limit sees one address per user
 * when it trusts this host as a proxy. */
void bo_load_queue_issue(struct bo_load_conn *c, int64_t user_id,
                         bool forwarded_for);

/* GET /api/v1/queue/status; with `keep_body` the answer can be read. */
void bo_load_queue_poll(struct bo_load_conn *c, const char *token,
                        bool keep_body);

/* token and status out of the body of either call's 200/201; false when
 * the body is not such an answer. */
bool bo_load_queue_read(const struct bo_load_response *r,
                        char token[BO_LOAD_TOKEN_MAX], bool *active);

/* When to ask again after a 429: Retry-After, at least `floor_ms`. */
uint64_t bo_load_retry_after_ms(const struct bo_load_response *r,
                                uint64_t floor_ms);

#endif
