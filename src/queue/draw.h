/* The verifiable draw of a pre-queue (docs/draw.md).
 *
 * Before the on-sale the service publishes commitment = SHA-256(seed). At
 * the on-sale every pre-queue entry is named by its entry id, SHA-256 of
 * its token's 16 raw bytes (a name that reveals nothing of the token, and
 * that each holder can compute from their own), and the entries are put in
 * ascending order of HMAC-SHA256(key = seed, message = entry id), ties by
 * entry id. Afterwards the seed is revealed, and anyone holding the list of
 * entry ids recomputes the order (tools/verify-draw). Hashing is
 * libsodium's. */
#ifndef BO_QUEUE_DRAW_H
#define BO_QUEUE_DRAW_H

#include "util/token.h"

#include <stddef.h>
#include <stdint.h>

#define BO_DRAW_SEED_BYTES 32
#define BO_DRAW_ID_BYTES 32
#define BO_DRAW_KEY_BYTES 32

struct bo_draw_entry {
  uint8_t id[BO_DRAW_ID_BYTES];   /* in: the entry id */
  uint8_t key[BO_DRAW_KEY_BYTES]; /* filled by bo_draw_sort() */
  uint64_t ref;                   /* the caller's, carried along */
};

/* Fresh random seed (libsodium randombytes). */
void bo_draw_seed(uint8_t seed[BO_DRAW_SEED_BYTES]);

/* SHA-256(seed): what is published before the draw. */
void bo_draw_commitment(const uint8_t seed[BO_DRAW_SEED_BYTES],
                        uint8_t out[BO_DRAW_KEY_BYTES]);

/* SHA-256 of the token's raw bytes. */
void bo_draw_entry_id(const struct bo_token *token,
                      uint8_t out[BO_DRAW_ID_BYTES]);

/* Fills every key and sorts the entries into the draw's order. */
void bo_draw_sort(const uint8_t seed[BO_DRAW_SEED_BYTES],
                  struct bo_draw_entry *entries, size_t count);

/* Lower-case hex: 2 * len characters and a NUL. */
void bo_draw_hex(const uint8_t *bytes, size_t len, char *out);

#endif
