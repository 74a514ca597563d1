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

/* A token as it travels: the plain 22 characters for the global line (as
 * before lines existed), "<line id>.<22 characters>" for a concert's line,
 * so a request names its line without a lookup. The line id is not a
 * secret: changing it names a line where the random part is unknown. */
#define BO_SCOPED_TOKEN_TEXT_MAX (19 + 1 + BO_TOKEN_TEXT_LEN)

void bo_token_encode_scoped(int64_t line_id, const struct bo_token *token,
                            char out[BO_SCOPED_TOKEN_TEXT_MAX + 1]);
/* False for anything else, including a line id of 0 written out, leading
 * zeros or a sign: one token has one text. */
bool bo_token_decode_scoped(const char *text, int64_t *line_id,
                            struct bo_token *out);

/* Constant time, so a timing probe learns nothing about stored tokens. */
bool bo_token_equal(const struct bo_token *a, const struct bo_token *b);

#endif
