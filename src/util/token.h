/* Queue tokens: 128 bits from the kernel's random source (libsodium's
 * randombytes), written as 22 characters of unpadded base64url. The raw bytes
 * are what the queue stores; the text is what travels in the header. */
#ifndef BO_UTIL_TOKEN_H
#define BO_UTIL_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#define BO_TOKEN_BYTES 16
#define BO_TOKEN_TEXT_LEN 22 /* without the NUL */

struct bo_token {
  uint8_t bytes[BO_TOKEN_BYTES];
};

void bo_token_generate(struct bo_token *out);

/* Writes BO_TOKEN_TEXT_LEN characters and a NUL. */
void bo_token_encode(const struct bo_token *token,
                     char out[BO_TOKEN_TEXT_LEN + 1]);

/* False for anything that is not exactly a token's text: wrong length or a
 * character outside the base64url alphabet. No lookup happens for those. */
bool bo_token_decode(const char *text, struct bo_token *out);

/* Constant time, so a timing probe learns nothing about stored tokens. */
bool bo_token_equal(const struct bo_token *a, const struct bo_token *b);

#endif
