#include "util/token.h"

#include <sodium.h>
#include <stdio.h>
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

void bo_token_encode_scoped(int64_t line_id, const struct bo_token *token,
                            char out[BO_SCOPED_TOKEN_TEXT_MAX + 1]) {
  int prefix = 0;
  if (line_id > 0)
    prefix = snprintf(out, BO_SCOPED_TOKEN_TEXT_MAX + 1, "%lld.",
                      (long long)line_id);
  bo_token_encode(token, out + prefix);
}

bool bo_token_decode_scoped(const char *text, int64_t *line_id,
                            struct bo_token *out) {
  if (text == NULL)
    return false;
  const char *dot = strchr(text, '.');
  if (dot == NULL) {
    *line_id = 0;
    return bo_token_decode(text, out);
  }
  size_t digits = (size_t)(dot - text);
  if (digits == 0 || digits > 19 || text[0] == '0')
    return false;
  int64_t line = 0;
  for (size_t i = 0; i < digits; i++) {
    if (text[i] < '0' || text[i] > '9')
      return false;
    int digit = text[i] - '0';
    if (line > (INT64_MAX - digit) / 10)
      return false;
    line = line * 10 + digit;
  }
  *line_id = line;
  return bo_token_decode(dot + 1, out);
}
