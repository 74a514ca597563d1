#include "util/token.h"

#include <sodium.h>
#include <string.h>

void bo_token_generate(struct bo_token *out) {
  randombytes_buf(out->bytes, sizeof out->bytes);
}

void bo_token_encode(const struct bo_token *token,
                     char out[BO_TOKEN_TEXT_LEN + 1]) {
  sodium_bin2base64(out, BO_TOKEN_TEXT_LEN + 1, token->bytes,
                    sizeof token->bytes,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

bool bo_token_decode(const char *text, struct bo_token *out) {
  if (text == NULL || strlen(text) != BO_TOKEN_TEXT_LEN)
    return false;
  size_t len = 0;
  const char *end = NULL;
  if (sodium_base642bin(out->bytes, sizeof out->bytes, text, BO_TOKEN_TEXT_LEN,
                        NULL, &len, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
    return false;
  /* 22 characters carry 132 bits; the last 4 must be zero, or two texts
   * would name one token. */
  char again[BO_TOKEN_TEXT_LEN + 1];
  bo_token_encode(out, again);
  return len == BO_TOKEN_BYTES && *end == '\0' &&
         memcmp(again, text, BO_TOKEN_TEXT_LEN) == 0;
}

bool bo_token_equal(const struct bo_token *a, const struct bo_token *b) {
  return sodium_memcmp(a->bytes, b->bytes, BO_TOKEN_BYTES) == 0;
}
