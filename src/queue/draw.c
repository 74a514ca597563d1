#include "queue/draw.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void bo_draw_seed(uint8_t seed[BO_DRAW_SEED_BYTES]) {
  randombytes_buf(seed, BO_DRAW_SEED_BYTES);
}

void bo_draw_commitment(const uint8_t seed[BO_DRAW_SEED_BYTES],
                        uint8_t out[BO_DRAW_KEY_BYTES]) {
  crypto_hash_sha256(out, seed, BO_DRAW_SEED_BYTES);
}

void bo_draw_entry_id(const struct bo_token *token,
                      uint8_t out[BO_DRAW_ID_BYTES]) {
  crypto_hash_sha256(out, token->bytes, sizeof token->bytes);
}

static int bo_draw_compare(const void *a, const void *b) {
  const struct bo_draw_entry *x = a, *y = b;
  int by_key = memcmp(x->key, y->key, sizeof x->key);
  return by_key != 0 ? by_key : memcmp(x->id, y->id, sizeof x->id);
}

void bo_draw_sort(const uint8_t seed[BO_DRAW_SEED_BYTES],
                  struct bo_draw_entry *entries, size_t count) {
  _Static_assert(BO_DRAW_SEED_BYTES == crypto_auth_hmacsha256_KEYBYTES,
                 "the seed is the HMAC key as it is");
  _Static_assert(BO_DRAW_KEY_BYTES == crypto_auth_hmacsha256_BYTES,
                 "a key is one HMAC-SHA256");
  for (size_t i = 0; i < count; i++)
    crypto_auth_hmacsha256(entries[i].key, entries[i].id, sizeof entries[i].id,
                           seed);
  if (count > 1)
    qsort(entries, count, sizeof *entries, bo_draw_compare);
}

void bo_draw_hex(const uint8_t *bytes, size_t len, char *out) {
  sodium_bin2hex(out, 2 * len + 1, bytes, len);
}
