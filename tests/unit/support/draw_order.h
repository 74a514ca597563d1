/* What a draw must give, worked out for the queue driver tests from the
 * published rule (draw.h, docs/draw.md) with libsodium itself rather than
 * with bo_draw_sort(): an entry's id is the SHA-256 of its token's bytes,
 * and the entries go in the order of HMAC-SHA256(seed, id), ties by id. */
#ifndef BO_TEST_DRAW_ORDER_H
#define BO_TEST_DRAW_ORDER_H

#include "queue/queue.h"

#include <stdint.h>

struct expected_entry {
  uint8_t id[BO_DRAW_ID_BYTES];
  uint8_t key[BO_DRAW_ID_BYTES]; /* HMAC-SHA256(seed, id) */
  int user;                      /* the caller's index of the entry's token */
};

/* out[i] = the i-th entry in drawn order. The entries are tokens[users[0]]
 * .. tokens[users[count - 1]], each with .user = users[k]; or, with users
 * NULL, tokens[0..count) with .user = k. */
void expected_draw_order(const uint8_t seed[BO_DRAW_SEED_BYTES],
                         const struct bo_token *tokens, const int *users,
                         int count, struct expected_entry *out);

#endif
