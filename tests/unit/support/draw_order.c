#include "support/draw_order.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(BO_DRAW_ID_BYTES == crypto_hash_sha256_BYTES &&
                   BO_DRAW_ID_BYTES == crypto_auth_hmacsha256_BYTES &&
                   BO_DRAW_SEED_BYTES == crypto_auth_hmacsha256_KEYBYTES,
               "the draw's ids, keys and seed are SHA-256 sized");

static int compare_expected(const void *a, const void *b) {
  const struct expected_entry *x = a, *y = b;
  int by_key = memcmp(x->key, y->key, sizeof x->key);
  return by_key != 0 ? by_key : memcmp(x->id, y->id, sizeof x->id);
}

void expected_draw_order(const uint8_t seed[BO_DRAW_SEED_BYTES],
                         const struct bo_token *tokens, const int *users,
                         int count, struct expected_entry *out) {
  cr_assert_geq(sodium_init(), 0);
  for (int i = 0; i < count; i++) {
    out[i].user = users != NULL ? users[i] : i;
    crypto_hash_sha256(out[i].id, tokens[out[i].user].bytes, BO_TOKEN_BYTES);
    crypto_auth_hmacsha256(out[i].key, out[i].id, sizeof out[i].id, seed);
  }
  qsort(out, (size_t)count, sizeof *out, compare_expected);
}
